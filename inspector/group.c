/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Which goroutines a dump shows (--filter REGEX: a function in the stack
 * matches; --status S: the status or wait reason), and goroutines folded
 * by identical stacks (--group), largest first, with their goids as ranges
 * and the spread of their wait times, as panicparse's buckets read a
 * 50,000-goroutine dump in a screen. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "group.h"

/* OPT VALUE or OPT=VALUE at argv[*i]; *i moves past the value */
static const char *opt_value(struct fpi_cmd_ctx *c, const char *opt, int *i)
{
	size_t n = strlen(opt);

	if (!strcmp(c->argv[*i], opt) && *i + 1 < c->argc)
		return c->argv[++*i];
	if (!strncmp(c->argv[*i], opt, n) && c->argv[*i][n] == '=')
		return c->argv[*i] + n + 1;
	return NULL;
}

struct fpi_error *tb_select_parse(struct fpi_cmd_ctx *c, struct tb_select *sel)
{
	memset(sel, 0, sizeof(*sel));
	for (int i = 1; i < c->argc; i++) {
		const char *v;

		if (!strcmp(c->argv[i], "--group")) {
			sel->group = true;
		} else if ((v = opt_value(c, "--status", &i))) {
			sel->status = v;
		} else if ((v = opt_value(c, "--filter", &i))) {
			int r;

			if (sel->has_re)
				regfree(&sel->re);
			r = regcomp(&sel->re, v, REG_EXTENDED | REG_NOSUB);
			if (r) {
				char msg[128];

				regerror(r, &sel->re, msg, sizeof(msg));
				return fpi_error_create(FPI_ERR_USAGE, "%s: --filter '%s': %s", c->argv[0], v, msg);
			}
			sel->has_re = true;
		}
	}
	return NULL;
}

void tb_select_deinit(struct tb_select *sel)
{
	if (sel->has_re)
		regfree(&sel->re);
	sel->has_re = false;
}

bool tb_selected(struct fpi_session *s, const struct tb_select *sel, const struct go_g *g, const struct tb_stack *st)
{
	if (sel->status) {
		char buf[96];

		tb_status(s, g, buf, sizeof(buf));
		if (strcmp(buf, sel->status) &&
		    strcmp(go_status_name(s->layout, g->status & ~s->layout->gscan), sel->status))
			return false;
	}
	if (sel->has_re) {
		for (size_t k = 0; k < st->n; k++)
			if (st->frames[k].function && !regexec(&sel->re, st->frames[k].function, 0, NULL, 0))
				return true;
		return false;
	}
	return true;
}

/* ---- groups ---- */

#define GROUP_BUCKETS 65536

struct group {
	uint64_t hash;
	size_t npc;
	uint64_t *pcs;
	char status[96];
	uint64_t gopc;
	const struct go_g *rep;  /* the lowest goid: its stack and creation are shown */
	uint64_t *goids;
	size_t ngoids, cap;
	int64_t min_ns, max_ns;  /* -1: not known */
	size_t next;             /* chain in the bucket, 0: end (index + 1) */
};

struct tb_groups {
	struct group *v;
	size_t n, cap;
	size_t *bucket;          /* index + 1 of a chain's first group, 0: empty */
};

struct fpi_error *tb_groups_create(struct tb_groups **ret)
{
	struct tb_groups *gs = calloc(1, sizeof(*gs));

	if (!gs || !(gs->bucket = calloc(GROUP_BUCKETS, sizeof(*gs->bucket)))) {
		free(gs);
		return &fpi_enomem;
	}
	*ret = gs;
	return NULL;
}

void tb_groups_destroy(struct tb_groups *gs)
{
	if (!gs)
		return;
	for (size_t i = 0; i < gs->n; i++) {
		free(gs->v[i].pcs);
		free(gs->v[i].goids);
	}
	free(gs->v);
	free(gs->bucket);
	free(gs);
}

static uint64_t mix(uint64_t h, uint64_t v)
{
	return (h ^ v) * 0x100000001b3ull;
}

/* The key: what the dump would print for the goroutine (its frames' pcs,
 * the header's status, where it was created). */
struct fpi_error *tb_groups_add(struct tb_groups *gs, struct fpi_session *s, const struct go_g *g,
				const struct tb_stack *st)
{
	uint64_t h = 0xcbf29ce484222325ull;
	char status[96];
	struct group *gr = NULL;
	int64_t ns = tb_wait_ns(s, g);

	tb_status(s, g, status, sizeof(status));
	for (size_t k = 0; k < st->n; k++)
		h = mix(h, st->frames[k].pc);
	h = mix(mix(h, g->gopc), st->n);
	for (const char *p = status; *p; p++)
		h = mix(h, (unsigned char)*p);
	for (size_t i = gs->bucket[h % GROUP_BUCKETS]; i; i = gs->v[i - 1].next) {
		struct group *c = &gs->v[i - 1];
		size_t k = 0;

		if (c->hash != h || c->npc != st->n || c->gopc != g->gopc || strcmp(c->status, status))
			continue;
		while (k < st->n && c->pcs[k] == st->frames[k].pc)
			k++;
		if (k == st->n) {
			gr = c;
			break;
		}
	}
	if (!gr) {
		if (gs->n == gs->cap) {
			size_t cap = gs->cap ? 2 * gs->cap : 64;
			struct group *v = realloc(gs->v, cap * sizeof(*v));

			if (!v)
				return &fpi_enomem;
			gs->v = v, gs->cap = cap;
		}
		gr = &gs->v[gs->n];
		memset(gr, 0, sizeof(*gr));
		gr->hash = h;
		gr->npc = st->n;
		gr->pcs = malloc((st->n ? st->n : 1) * sizeof(*gr->pcs));
		if (!gr->pcs)
			return &fpi_enomem;
		for (size_t k = 0; k < st->n; k++)
			gr->pcs[k] = st->frames[k].pc;
		snprintf(gr->status, sizeof(gr->status), "%s", status);
		gr->gopc = g->gopc;
		gr->rep = g;
		gr->min_ns = gr->max_ns = ns;
		gr->next = gs->bucket[h % GROUP_BUCKETS];
		gs->bucket[h % GROUP_BUCKETS] = ++gs->n;
	}
	if (gr->ngoids == gr->cap) {
		size_t cap = gr->cap ? 2 * gr->cap : 4;
		uint64_t *v = realloc(gr->goids, cap * sizeof(*v));

		if (!v)
			return &fpi_enomem;
		gr->goids = v, gr->cap = cap;
	}
	gr->goids[gr->ngoids++] = g->goid;
	if (g->goid < gr->rep->goid)
		gr->rep = g;
	if (ns >= 0 && (gr->min_ns < 0 || ns < gr->min_ns))
		gr->min_ns = ns;
	if (ns > gr->max_ns)
		gr->max_ns = ns;
	return NULL;
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int group_cmp(const void *a, const void *b)
{
	const struct group *x = a, *y = b;

	if (x->ngoids != y->ngoids)
		return x->ngoids < y->ngoids ? 1 : -1;
	return x->rep->goid < y->rep->goid ? -1 : x->rep->goid > y->rep->goid;
}

/* goids as ranges: 6-9, 12, 40-41 */
static void print_goids(FILE *out, uint64_t *v, size_t n)
{
	qsort(v, n, sizeof(*v), u64_cmp);
	for (size_t i = 0; i < n;) {
		size_t j = i;

		while (j + 1 < n && v[j + 1] == v[j] + 1)
			j++;
		fprintf(out, "%s%" PRIu64, i ? ", " : "", v[i]);
		if (j > i)
			fprintf(out, "-%" PRIu64, v[j]);
		i = j + 1;
	}
}

size_t tb_groups_count(const struct tb_groups *gs)
{
	return gs->n;
}

void tb_groups_sort(struct tb_groups *gs)
{
	qsort(gs->v, gs->n, sizeof(*gs->v), group_cmp);
}

const struct go_g *tb_group_print_header(struct tb_groups *gs, size_t i, FILE *out)
{
	struct group *gr = &gs->v[i];

	fprintf(out, "%zu goroutine%s [%s", gr->ngoids, gr->ngoids == 1 ? "" : "s", gr->status);
	if (gr->min_ns >= 0) {
		int64_t a = gr->min_ns / 60000000000LL, b = gr->max_ns / 60000000000LL;

		if (a == b)
			fprintf(out, ", %" PRId64 " minutes", a);
		else
			fprintf(out, ", %" PRId64 "-%" PRId64 " minutes", a, b);
	}
	fputs("]: ", out);
	print_goids(out, gr->goids, gr->ngoids);
	fputs("\n", out);
	return gr->rep;
}

void tb_group_info(struct tb_groups *gs, size_t i, struct tb_group_info *ret)
{
	struct group *gr = &gs->v[i];

	qsort(gr->goids, gr->ngoids, sizeof(*gr->goids), u64_cmp);
	ret->count = gr->ngoids;
	ret->status = gr->status;
	ret->min_ns = gr->min_ns, ret->max_ns = gr->max_ns;
	ret->rep = gr->rep;
	ret->goids = gr->goids;
}

void tb_group_print_goids(struct tb_groups *gs, size_t i, FILE *out)
{
	print_goids(out, gs->v[i].goids, gs->v[i].ngoids);
}
