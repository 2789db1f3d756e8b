/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Selecting and folding goroutines for dump and goroutines (group.c). */
#ifndef FPI_GROUP_H
#define FPI_GROUP_H

#include <regex.h>
#include <stdbool.h>
#include <stdio.h>

#include "render_dump.h"

struct tb_select {
	bool group;              /* --group */
	const char *status;      /* --status S: the header's status or wait reason, or the status name */
	bool has_re;             /* --filter REGEX: a function of the stack matches */
	regex_t re;
};

struct fpi_error *tb_select_parse(struct fpi_cmd_ctx *c, struct tb_select *sel);
void tb_select_deinit(struct tb_select *sel);
bool tb_selected(struct fpi_session *s, const struct tb_select *sel, const struct go_g *g, const struct tb_stack *st);

struct tb_groups;
struct fpi_error *tb_groups_create(struct tb_groups **ret);
void tb_groups_destroy(struct tb_groups *gs);
struct fpi_error *tb_groups_add(struct tb_groups *gs, struct fpi_session *s, const struct go_g *g,
				const struct tb_stack *st);
/* Largest first, then by lowest goid. */
void tb_groups_sort(struct tb_groups *gs);
size_t tb_groups_count(const struct tb_groups *gs);
/* "N goroutines [status, A-B minutes]: goids"; returns the goroutine
 * whose stack and creation stand for the group (the lowest goid). */
const struct go_g *tb_group_print_header(struct tb_groups *gs, size_t i, FILE *out);
/* Group i as data: goids sorted, owned by gs; waits -1 when not known. */
struct tb_group_info {
	size_t count;
	const char *status;
	int64_t min_ns, max_ns;
	const struct go_g *rep;
	const uint64_t *goids;
};
void tb_group_info(struct tb_groups *gs, size_t i, struct tb_group_info *ret);
/* Its goids as ranges: 6-9, 12, 40-41 */
void tb_group_print_goids(struct tb_groups *gs, size_t i, FILE *out);

#endif
