/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The goroutine stacks of one stop counted per distinct stack (profile.c):
 * what `profile` writes (pprof, folded, the flame graph of flamegraph.c). */
#ifndef FPI_PROFILE_H
#define FPI_PROFILE_H

#include <stdio.h>

#include "render_dump.h"
#include "session.h"

struct prof_stack {
	uint64_t hash;
	int64_t count;
	uint64_t min_goid;
	int64_t max_wait_ns;     /* -1: none known */
	size_t nframes;          /* innermost first */
	struct tb_frame frames[];
};

struct prof_stacks {
	struct prof_stack **list; /* in the order first seen (by goid) */
	size_t n, list_cap;
	struct prof_stack **slots;
	size_t cap;
	size_t goroutines;
};

/* Every goroutine runtime.GoroutineProfile would count, all its frames. */
struct fpi_error *prof_stacks_collect(struct fpi_session *s, struct prof_stacks *ret);
void prof_stacks_deinit(struct prof_stacks *ps);
/* flamegraph.c */
struct fpi_error *prof_write_svg(const struct prof_stacks *ps, FILE *f);

#endif
