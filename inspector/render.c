/* SPDX-License-Identifier: GPL-3.0-or-later */
/* summary, threads, goroutines, check: text tables and JSON documents, from
 * the rows and findings the data API hands out (views.c, checks.c). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jsonw.h"
#include "session.h"
#include "checks.h"
#include "stacks.h"
#include "views.h"
#include "group.h"
#include "traceback.h"

static const char *tri(int v)
{
	return v < 0 ? "n/a" : v ? "1" : "0";
}

static char *display_exe(struct fpi_session *s)
{
	char buf[4096];
	ssize_t n;

	if (strncmp(s->target->exe_path, "/proc/", 6) == 0 &&
	    (n = readlink(s->target->exe_path, buf, sizeof(buf) - 1)) > 0) {
		buf[n] = '\0';
		return strdup(buf);
	}
	return strdup(s->target->exe_path);
}

/* "SIGSEGV", or "signal 42" where the C library cannot name it. */
static void signal_name(int sig, char *buf, size_t len)
{
#ifdef HAVE_SIGABBREV_NP
	const char *a = sigabbrev_np(sig);

	if (a) {
		snprintf(buf, len, "SIG%s", a);
		return;
	}
#endif
	snprintf(buf, len, "signal %d", sig);
}

static const char *signal_descr(int sig)
{
#ifdef HAVE_SIGDESCR_NP
	const char *d = sigdescr_np(sig);

	if (d)
		return d;
#endif
	return NULL;
}

static const char *layout_source_name(const struct go_layout *l)
{
	switch (l->source) {
	case GO_LAYOUT_DEBUG_FILE: return "DWARF of the debug file";
	case GO_LAYOUT_FILE: return "layout file";
	default: return "DWARF of the executable";
	}
}

struct fpi_error *cmd_summary(struct fpi_cmd_ctx *c, int *status)
{
	struct fpi_session *s = c->s;
	const struct go_layout *l = s->layout;
	const struct go_snapshot *sn = s->snap;
	size_t counts[GO_MAX_STATUS] = { 0 }, nscan = 0, nlive = 0, ms_nothread = 0, nunknown = 0;
	char *exe = display_exe(s);

	for (size_t i = 0; i < sn->ngs; i++) {
		uint32_t st = sn->gs[i].status & ~l->gscan;

		if (go_g_is_dead(l, &sn->gs[i]))
			continue;
		nlive++;
		if (!go_status_known(l, sn->gs[i].status)) {
			nunknown++;
			continue;
		}
		counts[st]++;
		if (l->gscan && (sn->gs[i].status & l->gscan))
			nscan++;
	}
	for (size_t i = 0; i < sn->nms; i++)
		ms_nothread += sn->ms[i].thread < 0;
	if (c->json) {
		struct jw w;

		jw_init(&w, c->out);
		jw_obj(&w);
		jw_key(&w, "executable"); jw_str(&w, exe);
		jw_key(&w, "go_version"); jw_str(&w, l->go_version);
		jw_key(&w, "arch"); jw_str(&w, s->target->arch->name);
		jw_key(&w, "layout");
		jw_obj(&w);
		jw_key(&w, "source"); jw_str(&w, layout_source_name(l));
		jw_key(&w, "path"); jw_str(&w, l->source_path);
		jw_key(&w, "made_for"); jw_str(&w, l->source == GO_LAYOUT_FILE ? l->layout_version : l->go_version);
		jw_key(&w, "validated"); jw_bool(&w, l->needs_validation);
		jw_key(&w, "globals"); jw_str(&w, l->globals_source ? l->globals_source : "DWARF");
		jw_end_obj(&w);
		jw_key(&w, "target"); jw_str(&w, s->target->ops->kind);
		jw_key(&w, "pid"); jw_tri_int(&w, s->target->pid, s->target->pid <= 0);
		jw_key(&w, "threads"); jw_uint(&w, sn->nthreads);
		jw_key(&w, "ms"); jw_uint(&w, sn->nms);
		jw_key(&w, "ms_without_thread"); jw_uint(&w, ms_nothread);
		jw_key(&w, "goroutines"); jw_uint(&w, nlive);
		jw_key(&w, "dead_goroutines"); jw_uint(&w, sn->ndead);
		jw_key(&w, "by_status");
		jw_obj(&w);
		for (int i = 0; i < GO_MAX_STATUS; i++)
			if (counts[i]) {
				jw_key(&w, go_status_name(l, i));
				jw_uint(&w, counts[i]);
			}
		if (nunknown) {
			jw_key(&w, "unknown");
			jw_uint(&w, nunknown);
		}
		jw_end_obj(&w);
		jw_key(&w, "scan_bit_held"); jw_uint(&w, nscan);
		jw_key(&w, "allgs_skipped"); jw_uint(&w, sn->nbad);
		if (s->target->ops->post_mortem) {
			const struct fpi_target *t = s->target;
			char name[32];

			jw_key(&w, "executable_check"); jw_str(&w, t->exe_check);
			jw_key(&w, "signal");
			if (t->signal > 0) {
				signal_name(t->signal, name, sizeof(name));
				jw_obj(&w);
				jw_key(&w, "number"); jw_int(&w, t->signal);
				jw_key(&w, "name"); jw_str(&w, name);
				jw_key(&w, "tid"); jw_int(&w, t->signal_tid);
				jw_key(&w, "addr"); if (t->signal_has_addr) jw_hex(&w, t->signal_addr); else jw_null(&w);
				jw_end_obj(&w);
			} else {
				jw_null(&w);
			}
		}
		jw_key(&w, "pause_seconds");
		if (s->target->ops->stops)
			jw_double(&w, s->target->pause_seconds);
		else
			jw_null(&w);
		jw_end_obj(&w);
	} else {
		fprintf(c->out, "executable:  %s\n", exe);
		if (s->target->exe_check)
			fprintf(c->out, "             (%s)\n", s->target->exe_check);
		fprintf(c->out, "go version:  %s\n", l->go_version ? l->go_version : "unknown");
		fprintf(c->out, "arch:        %s\n", s->target->arch->name);
		fprintf(c->out, "layout:      %s", layout_source_name(l));
		if (l->source_path)
			fprintf(c->out, " %s", l->source_path);
		if (l->needs_validation)
			fprintf(c->out, " (made for %s: validated against this process)", l->layout_version);
		if (l->globals_source)
			fprintf(c->out, "; runtime globals from the %s", l->globals_source);
		fputc('\n', c->out);
		fprintf(c->out, "target:      %s", s->target->ops->kind);
		if (s->target->pid > 0)
			fprintf(c->out, " (pid %d)", s->target->pid);
		fprintf(c->out, "\nthreads:     %zu\n", sn->nthreads);
		fprintf(c->out, "Ms:          %zu (%zu without a thread)\n", sn->nms, ms_nothread);
		fprintf(c->out, "goroutines:  %zu (plus %zu dead)\n", nlive, sn->ndead);
		for (int i = 0; i < GO_MAX_STATUS; i++)
			if (counts[i])
				fprintf(c->out, "  %-12s %zu\n", go_status_name(l, i), counts[i]);
		if (nunknown)
			fprintf(c->out, "  %-12s %zu (statuses the runtime has no constant for: garbage?)\n", "unknown",
				nunknown);
		if (nscan)
			fprintf(c->out, "  (scan bit held by %zu)\n", nscan);
		if (sn->nbad)
			fprintf(c->out, "  (%zu entries of allgs skipped: no readable g there)\n", sn->nbad);
		if (s->target->ops->post_mortem && s->target->signal > 0) {
			const struct fpi_target *t = s->target;
			const char *d = signal_descr(t->signal);
			char name[32];

			signal_name(t->signal, name, sizeof(name));
			fprintf(c->out, "signal:      %s%s%s%s, taken by thread %d", name, d ? " (" : "", d ? d : "",
				d ? ")" : "", t->signal_tid);
			if (t->signal_has_addr)
				fprintf(c->out, ", fault address 0x%" PRIx64, t->signal_addr);
			fputc('\n', c->out);
		}
		if (s->target->ops->stops) {
			if (s->target->released)
				fprintf(c->out, "stopped for: %.3f ms\n", s->target->pause_seconds * 1e3);
			else
				fprintf(c->out, "stopped for: (still stopped)\n");
		}
	}
	free(exe);
	*status = 0;
	return NULL;
}

static void fmt_goid(char *buf, size_t len, int64_t goid)
{
	if (goid < 0)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%" PRId64, goid);
}

/* A thread's stack as threads shows it: the goroutine's is its M's curg. */
static const char *thread_stack_name(enum fpi_stack k)
{
	switch (k) {
	case FPI_STACK_G0: return "g0";
	case FPI_STACK_GSIGNAL: return "gsignal";
	case FPI_STACK_GOROUTINE: return "curg";
	default: return "other";
	}
}

static void json_tri(struct jw *w, int8_t v)
{
	jw_tri_bool(w, v == FPI_NA ? GO_NA : v);
}

/* One row: a thread (th, its M or NULL) or an M without a thread (th NULL). */
static void thread_row(struct fpi_cmd_ctx *c, struct jw *w, const struct fpi_thread *th, const struct fpi_m *m)
{
	int tid = th ? th->tid : -1;
	const char *stack = th ? thread_stack_name(th->stack) : "-";
	char curg[24], lockedg[24];

	if (c->json) {
		jw_obj(w);
		jw_key(w, "tid"); jw_tri_int(w, tid, tid < 0);
		jw_key(w, "m"); jw_tri_int(w, m ? m->id : 0, !m);
		jw_key(w, "stack"); jw_str(w, th ? stack : NULL);
		jw_key(w, "curg"); jw_tri_int(w, m ? m->curg : 0, !m || m->curg == FPI_NONE);
		jw_key(w, "lockedg"); jw_tri_int(w, m ? m->lockedg : 0, !m || m->lockedg == FPI_NONE);
		jw_key(w, "isextra"); json_tri(w, m ? m->isextra : FPI_NA);
		jw_key(w, "is_extra_in_c"); json_tri(w, m ? m->is_extra_in_c : FPI_NA);
		jw_key(w, "ncgo"); jw_tri_int(w, m ? m->ncgo : 0, !m);
		jw_key(w, "incgo"); json_tri(w, m ? m->incgo : FPI_NA);
		jw_key(w, "has_cgo_on_stack"); json_tri(w, m ? m->has_cgo_on_stack : FPI_NA);
		if (!th) {
			jw_key(w, "no_thread"); jw_bool(w, true);
		}
		jw_end_obj(w);
		return;
	}
	if (!m) {
		fprintf(c->out, "%-8d %-5s %-8s (no M: not a Go thread, or not yet started)\n", tid, "-", stack);
		return;
	}
	fmt_goid(curg, sizeof(curg), m->curg);
	fmt_goid(lockedg, sizeof(lockedg), m->lockedg);
	if (th)
		fprintf(c->out, "%-8d ", tid);
	else
		fprintf(c->out, "%-8s ", "-");
	fprintf(c->out, "%-5" PRId64 " %-8s %-6s %-7s %-7s %-10s %-5" PRId64 " %-5s %s%s\n",
		m->id, stack, curg, lockedg, tri(m->isextra), tri(m->is_extra_in_c), m->ncgo,
		tri(m->incgo), tri(m->has_cgo_on_stack),
		th ? "" : "   (M without a thread: an extra M waiting on the list)");
}

struct fpi_error *cmd_threads(struct fpi_cmd_ctx *c, int *status)
{
	const struct go_snapshot *sn = c->s->snap;
	struct jw w;

	if (c->json) {
		jw_init(&w, c->out);
		jw_obj(&w);
		jw_key(&w, "threads");
		jw_arr(&w);
	} else {
		fprintf(c->out, "%-8s %-5s %-8s %-6s %-7s %-7s %-10s %-5s %-5s %s\n",
			"TID", "M", "STACK", "CURG", "LOCKEDG", "ISEXTRA", "ISEXTRAINC", "NCGO", "INCGO", "HASCGOONSTACK");
	}
	/* threads in the target's order, then Ms without a thread */
	for (size_t i = 0; i < sn->nthreads; i++) {
		struct fpi_thread th;
		struct fpi_m m;

		view_thread(c->s, i, &th);
		if (th.m != FPI_NONE)
			view_m(c->s, th.m_index, &m);
		thread_row(c, &w, &th, th.m != FPI_NONE ? &m : NULL);
	}
	for (size_t i = 0; i < sn->nms; i++) {
		struct fpi_m m;

		view_m(c->s, i, &m);
		if (m.tid == FPI_NONE)
			thread_row(c, &w, NULL, &m);
	}
	if (c->json) {
		jw_end_arr(&w);
		jw_end_obj(&w);
	}
	*status = 0;
	return NULL;
}

/* bt all prints a million lines for 100k goroutines, goroutines 100k rows:
 * compose each line by hand (printf's format parsing dominated the profile). */
static char *put_str(char *p, char *end, const char *str)
{
	size_t n = strlen(str);

	if (n > (size_t)(end - p))
		n = end - p;
	memcpy(p, str, n);
	return p + n;
}

static char *put_pad(char *p, char *end, const char *str, size_t width)
{
	char *start = p;

	p = put_str(p, end, str);
	while ((size_t)(p - start) < width && p < end)
		*p++ = ' ';
	return p;
}

static char *put_dec(char *p, char *end, uint64_t v)
{
	char tmp[24];
	int n = 0;

	do
		tmp[n++] = '0' + v % 10;
	while ((v /= 10) && n < 24);
	while (n && p < end)
		*p++ = tmp[--n];
	return p;
}

static char *put_hex(char *p, char *end, uint64_t v)
{
	static const char hex[] = "0123456789abcdef";
	int n = v ? (64 - __builtin_clzll(v) + 3) / 4 : 1;

	if (end - p < n + 2)
		return p;
	*p++ = '0', *p++ = 'x';
	for (int k = n - 1; k >= 0; k--, v >>= 4)
		p[k] = hex[v & 15];
	return p + n;
}

/* pad to column width counted from start */
static char *put_col(char *p, char *end, char *start, size_t width)
{
	size_t n = (size_t)(p - start) < width ? width - (p - start) : 0;

	if (n + 1 > (size_t)(end - p))
		n = end - p > 0 ? end - p - 1 : 0;
	memset(p, ' ', n + 1);
	return p + n + 1;
}

static void json_user(struct jw *w, const struct fpi_goroutine *g)
{
	jw_key(w, "user_unknown"); jw_bool(w, (g->has & FPI_G_USER_UNKNOWN) != 0);
	jw_key(w, "user");
	if (!(g->has & FPI_G_HAS_USER)) {
		jw_null(w);
		return;
	}
	jw_obj(w);
	jw_key(w, "function"); jw_str(w, g->user_function);
	jw_key(w, "file"); jw_str(w, g->user_file);
	jw_key(w, "line"); jw_int(w, g->user_line);
	jw_key(w, "pc"); jw_hex(w, g->user_pc);
	jw_end_obj(w);
}

static void json_labels(struct jw *w, const struct fpi_goroutine *g)
{
	jw_key(w, "labels");
	if (!(g->has & FPI_G_HAS_LABELS)) {
		jw_null(w);
		return;
	}
	jw_obj(w);
	for (size_t k = 0; k < g->nlabels; k++) {
		jw_key(w, g->labels[k].key);
		jw_str(w, g->labels[k].value);
	}
	jw_end_obj(w);
}

static void goroutine_json(struct jw *w, const struct fpi_goroutine *g)
{
	jw_obj(w);
	jw_key(w, "goid"); jw_uint(w, g->goid);
	jw_key(w, "status"); jw_str(w, g->status ? g->status : "unknown");
	jw_key(w, "status_value"); jw_uint(w, g->status_value);
	jw_key(w, "scan"); jw_bool(w, g->scan);
	jw_key(w, "wait_reason"); jw_str(w, g->wait_reason);
	jw_key(w, "m"); jw_tri_int(w, g->m, g->m == FPI_NONE);
	jw_key(w, "pc"); jw_hex(w, g->pc);
	jw_key(w, "sp"); jw_hex(w, g->sp);
	jw_key(w, "bp"); jw_hex(w, g->bp);
	jw_key(w, "stack_lo"); jw_hex(w, g->stack_lo);
	jw_key(w, "stack_hi"); jw_hex(w, g->stack_hi);
	jw_key(w, "function"); jw_str(w, g->function);
	jw_key(w, "created_by"); jw_str(w, g->created_by);
	jw_key(w, "wait_ns"); jw_tri_int(w, g->wait_ns, !(g->has & FPI_G_HAS_WAIT_TIME));
	jw_key(w, "wait_minutes");
	jw_tri_int(w, g->wait_ns / 60000000000LL, !(g->has & FPI_G_HAS_WAIT_TIME));
	jw_key(w, "locked"); jw_bool(w, g->locked);
	jw_key(w, "parent_goid"); jw_tri_int(w, g->parent_goid, !(g->has & FPI_G_HAS_PARENT_GOID));
	json_user(w, g);
	json_labels(w, g);
	jw_end_obj(w);
}

/* "function file:line", "-" when no frame is outside the runtime, "?"
 * when the walk ended before it knew */
static char *put_user(char *p, char *end, const struct fpi_goroutine *g)
{
	if (!(g->has & FPI_G_HAS_USER))
		return put_str(p, end, g->has & FPI_G_USER_UNKNOWN ? "?" : "-");
	p = put_str(p, end, g->user_function ? g->user_function : "?");
	p = put_str(p, end, " ");
	p = put_str(p, end, g->user_file ? g->user_file : "?");
	p = put_str(p, end, ":");
	return put_dec(p, end, g->user_line > 0 ? (uint64_t)g->user_line : 0);
}

static char *put_labels(char *p, char *end, const struct fpi_goroutine *g)
{
	if (!(g->has & FPI_G_HAS_LABELS) || !g->nlabels)
		return p;
	p = put_str(p, end, "  labels{");
	for (size_t k = 0; k < g->nlabels; k++) {
		p = put_str(p, end, k ? ", " : "");
		p = put_str(p, end, g->labels[k].key);
		p = put_str(p, end, "=");
		p = put_str(p, end, g->labels[k].value);
	}
	return put_str(p, end, "}");
}

static void goroutine_row(FILE *out, const struct fpi_goroutine *g)
{
	char buf[4096], *p = buf, *end = buf + sizeof(buf) - 1, *col;
	char tmp[48];

	col = p, p = put_dec(p, end, g->goid), p = put_col(p, end, col, 7);
	col = p;
	/* garbage shows as what it is, the scan bit not split off */
	if (!g->status) {
		p = put_str(p, end, "status ");
		p = put_hex(p, end, g->status_value);
	} else {
		p = put_str(p, end, g->status);
		p = put_str(p, end, g->scan ? "+scan" : "");
	}
	p = put_col(p, end, col, 14);
	col = p, p = put_str(p, end, g->wait_reason ? g->wait_reason : "-"), p = put_col(p, end, col, 22);
	col = p;
	if (g->has & FPI_G_HAS_WAIT_TIME) {
		tb_wait_text(g->wait_ns, tmp, sizeof(tmp));
		p = put_str(p, end, tmp);
	} else {
		p = put_str(p, end, "n/a");
	}
	p = put_col(p, end, col, 11);
	col = p;
	if (g->m == FPI_NONE)
		p = put_str(p, end, "-");
	else
		p = put_dec(p, end, (uint64_t)g->m);
	p = put_col(p, end, col, 4);
	col = p, p = put_str(p, end, g->locked ? "1" : "0"), p = put_col(p, end, col, 6);
	col = p;
	if (g->has & FPI_G_HAS_PARENT_GOID)
		p = put_dec(p, end, (uint64_t)g->parent_goid);
	else
		p = put_str(p, end, "n/a");
	p = put_col(p, end, col, 7);
	col = p, p = put_hex(p, end, g->pc), p = put_col(p, end, col, 18);
	col = p, p = put_hex(p, end, g->sp), p = put_col(p, end, col, 18);
	col = p, p = put_hex(p, end, g->bp), p = put_col(p, end, col, 18);
	col = p;
	p = put_hex(p, end, g->stack_lo) + 0;
	p = put_str(p, end, "-");
	p = put_hex(p, end, g->stack_hi);
	p = put_col(p, end, col, 29);
	p = put_user(p, end, g);
	p = put_str(p, end, "  ");
	p = put_str(p, end, g->function ? g->function : "?");
	p = put_str(p, end, "  [created by ");
	p = put_str(p, end, g->created_by ? g->created_by : g->created_pc ? "?" : "- (a cgo callback's goroutine)");
	p = put_str(p, end, "]");
	p = put_labels(p, end, g);
	*p++ = '\n';
	fwrite_unlocked(buf, 1, p - buf, out);
}

static const char goroutines_head[] =
	"GOID    STATUS         WAIT REASON            WAIT        M    LOCKED PARENT  PC                 "
	"SP                 BP                 STACK                         USER  FUNCTION  [CREATED BY]\n";

struct goroutines_state {
	struct fpi_cmd_ctx *c;
	struct tb_select sel;
	struct tb_groups *groups;
	struct jw w;
	size_t shown;
};

static void goroutine_out(struct goroutines_state *d, const struct go_g *gg)
{
	struct fpi_goroutine g;

	view_goroutine(d->c->s, gg, &g);
	if (d->c->json)
		goroutine_json(&d->w, &g);
	else
		goroutine_row(d->c->out, &g);
	d->shown++;
}

static struct fpi_error *goroutines_one(void *arg, const struct go_g *g, const struct tb_stack *st)
{
	struct goroutines_state *d = arg;

	if (!tb_selected(d->c->s, &d->sel, g, st))
		return NULL;
	if (d->groups)
		return tb_groups_add(d->groups, d->c->s, g, st);
	goroutine_out(d, g);
	return NULL;
}

/* A group: its size, status, spread of waits and goids, and where its
 * stand-in (the lowest goid) is: the same stack, so the same user frame. */
static void goroutines_groups(struct goroutines_state *d)
{
	FILE *out = d->c->out;

	tb_groups_sort(d->groups);
	if (!d->c->json)
		fprintf(out, "%-6s %-22s %-13s %s\n", "COUNT", "STATUS", "WAIT", "USER  [CREATED BY]  GOIDS");
	for (size_t i = 0; i < tb_groups_count(d->groups); i++) {
		struct tb_group_info gi;
		struct fpi_goroutine g;
		char wait[64], *p, *end;
		char line[2048];

		tb_group_info(d->groups, i, &gi);
		view_goroutine(d->c->s, gi.rep, &g);
		if (d->c->json) {
			jw_obj(&d->w);
			jw_key(&d->w, "count"); jw_uint(&d->w, gi.count);
			jw_key(&d->w, "status"); jw_str(&d->w, gi.status);
			jw_key(&d->w, "wait_minutes_min"); jw_tri_int(&d->w, gi.min_ns / 60000000000LL, gi.min_ns < 0);
			jw_key(&d->w, "wait_minutes_max"); jw_tri_int(&d->w, gi.max_ns / 60000000000LL, gi.max_ns < 0);
			json_user(&d->w, &g);
			jw_key(&d->w, "created_by"); jw_str(&d->w, g.created_by);
			jw_key(&d->w, "goids");
			jw_arr(&d->w);
			for (size_t k = 0; k < gi.count; k++)
				jw_uint(&d->w, gi.goids[k]);
			jw_end_arr(&d->w);
			jw_end_obj(&d->w);
			continue;
		}
		if (gi.min_ns < 0)
			snprintf(wait, sizeof(wait), "n/a");
		else if (gi.min_ns / 60000000000LL == gi.max_ns / 60000000000LL)
			tb_wait_text(gi.min_ns, wait, sizeof(wait));
		else
			snprintf(wait, sizeof(wait), "%" PRId64 "-%" PRId64 " minutes", (int64_t)(gi.min_ns / 60000000000LL),
				 (int64_t)(gi.max_ns / 60000000000LL));
		p = line, end = line + sizeof(line) - 1;
		p = put_user(p, end, &g);
		*p = '\0';
		fprintf(out, "%-6zu %-22s %-13s %s  [created by %s]  ", gi.count, gi.status, wait, line,
			g.created_by ? g.created_by : g.created_pc ? "?" : "-");
		tb_group_print_goids(d->groups, i, out);
		fputc('\n', out);
	}
}

struct fpi_error *cmd_goroutines(struct fpi_cmd_ctx *c, int *status)
{
	struct fpi_session *s = c->s;
	struct goroutines_state d;
	struct fpi_error *err;

	memset(&d, 0, sizeof(d));
	d.c = c;
	err = tb_select_parse(c, &d.sel);
	if (!err && d.sel.group)
		err = tb_groups_create(&d.groups);
	if (err)
		goto out;
	if (c->json) {
		jw_init(&d.w, c->out);
		jw_obj(&d.w);
		jw_key(&d.w, d.groups ? "groups" : "goroutines");
		jw_arr(&d.w);
	} else if (!d.groups) {
		fputs(goroutines_head, c->out);
	}
	if (d.groups || d.sel.has_re) {
		/* by the stack dump shows: runtime frames hidden */
		err = tb_each_goroutine(s, true, TB_TRACEBACK, goroutines_one, &d);
	} else {
		const struct go_g *const *order;
		size_t n;

		err = view_goroutine_order(s, &order, &n);
		if (!err && !d.sel.status)
			view_prepare_goroutines(s);
		for (size_t i = 0; !err && i < n; i++)
			if (tb_selected(s, &d.sel, order[i], NULL))
				goroutine_out(&d, order[i]);
	}
	if (!err && d.groups)
		goroutines_groups(&d);
	if (err)
		goto out;
	if (c->json) {
		jw_end_arr(&d.w);
		jw_end_obj(&d.w);
	} else if (!d.groups) {
		fprintf(c->out, "%zu goroutines\n", d.shown);
	}
	*status = 0;
out:
	tb_groups_destroy(d.groups);
	tb_select_deinit(&d.sel);
	return err;
}

static const char *const sev_names[] = { "error", "warning", "info" };

static void render_findings_json(FILE *out, const struct fpi_findings *f)
{
	struct jw w;

	jw_init(&w, out);
	jw_obj(&w);
	jw_key(&w, "findings");
	jw_arr(&w);
	for (size_t i = 0; i < f->n; i++) {
		const struct fpi_finding *x = &f->v[i];

		jw_obj(&w);
		jw_key(&w, "kind"); jw_str(&w, x->kind);
		jw_key(&w, "severity"); jw_str(&w, sev_names[x->severity]);
		jw_key(&w, "goid"); jw_tri_int(&w, x->goid, x->goid == FPI_NONE);
		jw_key(&w, "tid"); jw_tri_int(&w, x->tid, x->tid == FPI_NONE);
		jw_key(&w, "frame"); jw_tri_int(&w, x->frame, x->frame == FPI_NONE);
		jw_key(&w, "message"); jw_str(&w, x->message);
		jw_end_obj(&w);
	}
	jw_end_arr(&w);
	jw_key(&w, "threads"); jw_uint(&w, f->threads);
	jw_key(&w, "goroutines"); jw_uint(&w, f->goroutines);
	jw_key(&w, "frames"); jw_uint(&w, f->frames);
	jw_key(&w, "errors"); jw_uint(&w, f->errors);
	jw_key(&w, "warnings"); jw_uint(&w, f->warnings);
	jw_key(&w, "info"); jw_uint(&w, f->infos);
	jw_end_obj(&w);
}

/* --stacks: both walks of every thread and goroutine with an error or
 * warning, as bt --unwinder both shows them, from the same stop */
static void render_finding_stacks(struct fpi_cmd_ctx *c, const struct fpi_findings *f)
{
	for (size_t i = 0; i < f->n; i++) {
		char target[32], *argv[] = { "bt", target, "--unwinder", "both" };
		struct fpi_cmd_ctx bc = { c->s, c->out, false, 4, argv };
		int st;

		if (f->v[i].severity == FPI_SEVERITY_INFO)
			continue;
		if (f->v[i].goid != FPI_NONE)
			snprintf(target, sizeof(target), "g%" PRId64, f->v[i].goid);
		else
			snprintf(target, sizeof(target), "%d", f->v[i].tid);
		fprintf(c->out, "\n--- stacks of %s (%s) ---\n", target, f->v[i].kind);
		fpi_error_destroy(cmd_bt(&bc, &st));
	}
}

static void render_findings_text(FILE *out, const struct fpi_findings *f)
{
	for (size_t i = 0; i < f->n; i++) {
		const struct fpi_finding *x = &f->v[i];
		char who[64] = "", fr[32] = "";

		if (x->goid != FPI_NONE)
			snprintf(who, sizeof(who), "g%" PRId64, x->goid);
		else
			snprintf(who, sizeof(who), "thread %d", x->tid);
		if (x->frame != FPI_NONE)
			snprintf(fr, sizeof(fr), " frame %ld", x->frame);
		fprintf(out, "%-7s %-26s %s%s: %s\n", sev_names[x->severity], x->kind, who, fr,
			x->message ? x->message : "");
	}
	fprintf(out, "check: %zu threads, %zu goroutines, %zu frames walked: %zu errors, %zu warnings, %zu info\n",
		f->threads, f->goroutines, f->frames, f->errors, f->warnings, f->infos);
}

struct fpi_error *cmd_check(struct fpi_cmd_ctx *c, int *status)
{
	struct fpi_findings *f;
	struct fpi_error *err;
	bool stacks = false;

	for (int i = 1; i < c->argc; i++) {
		if (strcmp(c->argv[i], "--stacks") != 0)
			return fpi_error_create(FPI_ERR_USAGE, "check: unexpected argument '%s' (check [--stacks])",
						c->argv[i]);
		stacks = true;
	}
	err = check_run(c->s, &f);
	if (err)
		return err;
	if (c->json) {
		render_findings_json(c->out, f);
	} else {
		render_findings_text(c->out, f);
		if (stacks)
			render_finding_stacks(c, f);
	}
	*status = f->errors ? 1 : 0;
	check_findings_free(f);
	return NULL;
}
/* ---- bt: the walks' frames, symbolized ---- */

/* both: fp and dwarf side by side (the pair check compares); all: fp,
 * dwarf and go, from the same stop */
enum bt_unwinder { UW_FP, UW_DWARF, UW_BOTH, UW_GO, UW_ALL };
static const char *const bt_unwinder_names[] = { "fp", "dwarf", "both", "go", "all" };

static bool bt_unwinder_of(const char *name, enum bt_unwinder *ret)
{
	for (size_t i = 0; i < sizeof(bt_unwinder_names) / sizeof(*bt_unwinder_names); i++)
		if (!strcmp(name, bt_unwinder_names[i])) {
			*ret = (enum bt_unwinder)i;
			return true;
		}
	return false;
}

static void emit_frame(FILE *out, size_t idx, enum fr_stack st, uint64_t pc, const char *fn, bool inlined,
		       const char *file, int line, const char *module, const char *mark)
{
	static const char hex[] = "0123456789abcdef";
	char buf[1024], *p = buf, *end = buf + sizeof(buf) - 1, *num;

	*p++ = '#';
	num = p;
	p = put_dec(p, end, idx);
	while (p - num < 3)
		*p++ = ' ';
	*p++ = ' ';
	p = put_pad(p, end, fr_stack_name(st), 9);
	p = put_str(p, end, " 0x");
	for (int k = 15; k >= 0; k--)
		*p++ = hex[(pc >> (4 * k)) & 15];
	*p++ = ' ';
	p = put_str(p, end, fn ? fn : "?");
	if (inlined)
		p = put_str(p, end, " (inlined)");
	if (file) {
		p = put_str(p, end, " ");
		p = put_str(p, end, file);
		p = put_str(p, end, ":");
		p = put_dec(p, end, line > 0 ? (uint64_t)line : 0);
	} else if (module) {
		p = put_str(p, end, " (");
		p = put_str(p, end, module);
		p = put_str(p, end, ")");
	}
	p = put_str(p, end, mark);
	*p++ = '\n';
	fwrite_unlocked(buf, 1, p - buf, out);
}

static void print_frame_text(struct fpi_session *s, FILE *out, size_t idx, const struct frame *f, bool retaddr,
			     const char *mark)
{
	struct fpi_modules *mods;
	const struct fpi_symbol *sym = NULL;
	struct fpi_error *err = session_modules(s, &mods);

	if (!err)
		sym = fpi_symbolize(mods, retaddr ? f->pc - 1 : f->pc);
	fpi_error_destroy(err);
	if (sym && sym->ninlined > 1) {
		for (size_t k = 0; k < sym->ninlined; k++)
			emit_frame(out, idx, f->stack, f->pc, sym->inlined[k].function, k + 1 < sym->ninlined,
				   sym->inlined[k].file ? sym->inlined[k].file : "?", sym->inlined[k].line, NULL, mark);
		return;
	}
	emit_frame(out, idx, f->stack, f->pc, sym ? sym->function : NULL, false, sym ? sym->file : NULL,
		   sym ? sym->line : 0, sym ? sym->module : NULL, mark);
}

static void json_frames(struct fpi_session *s, struct jw *w, const struct walk *wk)
{
	struct fpi_modules *mods = NULL;
	struct fpi_error *err = session_modules(s, &mods);

	fpi_error_destroy(err);
	jw_arr(w);
	for (size_t i = 0; i < wk->n; i++) {
		const struct frame *f = &wk->frames[i];
		bool ret = !f->exact;
		const struct fpi_symbol *sym = mods ? fpi_symbolize(mods, ret ? f->pc - 1 : f->pc) : NULL;
		size_t ninl = sym && sym->ninlined > 1 ? sym->ninlined : 1;

		for (size_t k = 0; k < ninl; k++) {
			bool inl = ninl > 1 && k + 1 < ninl;
			const char *fn = ninl > 1 ? sym->inlined[k].function : sym ? sym->function : NULL;
			const char *file = ninl > 1 ? sym->inlined[k].file : sym ? sym->file : NULL;
			int line = ninl > 1 ? sym->inlined[k].line : sym ? sym->line : 0;

			jw_obj(w);
			jw_key(w, "index"); jw_uint(w, i);
			jw_key(w, "pc"); jw_hex(w, f->pc);
			jw_key(w, "sp"); if (f->sp) jw_hex(w, f->sp); else jw_null(w);
			jw_key(w, "fp"); jw_hex(w, f->fp);
			jw_key(w, "function"); jw_str(w, fn);
			jw_key(w, "file"); jw_str(w, file);
			jw_key(w, "line"); if (file) jw_int(w, line); else jw_null(w);
			jw_key(w, "inlined"); jw_bool(w, inl);
			jw_key(w, "stack"); jw_str(w, fr_stack_name(f->stack));
			jw_end_obj(w);
		}
	}
	jw_end_arr(w);
}

/* First index where the two walks name different pcs, or -1. */
static long first_mismatch(const struct walk *a, const struct walk *b)
{
	size_t n = a->n < b->n ? a->n : b->n;

	for (size_t i = 0; i < n; i++)
		if (a->frames[i].pc != b->frames[i].pc)
			return i;
	if (a->n != b->n)
		return n;
	return -1;
}

struct bt_item {
	bool is_thread;
	const struct go_thread *th;
	const struct go_g *g;
};

/* Text output: a line before a frame whose pc is not a return address
 * (below a signal frame, or the faulting pc below sigpanic), as GDB marks
 * "<signal handler called>". */
static void print_break(FILE *out, const struct walk *w, size_t i)
{
	int fn;

	if (i == 0 || !w->frames[i].exact)
		return;
	fn = w->frames[i - 1].rt;
	if (fn == RT_SIGTRAMP || fn == RT_CGOSIGTRAMP || fn == RT_SIGRETURN)
		fputs("     <signal handler called: the code the signal interrupted>\n", out);
	else if (fn == RT_SIGPANIC)
		fputs("     <fault: the faulting instruction>\n", out);
	else if (fn == RT_ASYNCPREEMPT)
		fputs("     <preempted: the interrupted instruction>\n", out);
}

/* The walks a bt makes of each stack, in the order shown. */
static size_t bt_walks(enum bt_unwinder uw, enum walk_unwinder out[3])
{
	switch (uw) {
	case UW_DWARF: out[0] = UNWIND_DWARF; return 1;
	case UW_GO: out[0] = UNWIND_GO; return 1;
	case UW_BOTH: out[0] = UNWIND_FP, out[1] = UNWIND_DWARF; return 2;
	case UW_ALL: out[0] = UNWIND_FP, out[1] = UNWIND_DWARF, out[2] = UNWIND_GO; return 3;
	default: out[0] = UNWIND_FP; return 1;
	}
}

static const char *const walk_unwinder_names[] = { "fp", "dwarf", "go" };

static void print_walk_text(struct fpi_session *s, FILE *out, const struct walk *w, long mm)
{
	for (size_t i = 0; i < w->n; i++) {
		print_break(out, w, i);
		print_frame_text(s, out, i, &w->frames[i], !w->frames[i].exact, (long)i == mm ? "   <- mismatch" : "");
	}
	if (w->end[0])
		fprintf(out, "     (%s)\n", w->end);
}

static struct fpi_error *bt_one(struct fpi_cmd_ctx *c, struct jw *jw, const struct bt_item *it, enum bt_unwinder uw)
{
	struct fpi_session *s = c->s;
	struct walk *w[3] = { NULL, NULL, NULL };
	enum walk_unwinder wu[3];
	const char *why = NULL;
	size_t nw = bt_walks(uw, wu);
	/* the pairs compared: fp against dwarf (both, all), go against dwarf (all) */
	long mm = -1, gomm = -1;
	struct walk_ctx *cx;
	struct fpi_error *err = session_walk_ctx(s, &cx);

	if (err)
		return err;

	for (size_t k = 0; k < nw; k++) {
		w[k] = malloc(sizeof(struct walk));
		if (!w[k]) {
			for (size_t j = 0; j < k; j++)
				free(w[j]);
			return &fpi_enomem;
		}
		if (!it->is_thread && goroutine_not_owned(s->layout, it->g, &why)) {
			memset(w[k], 0, offsetof(struct walk, frames));
			w[k]->n = 0;
			snprintf(w[k]->end, sizeof(w[k]->end), "not walked: %s", why);
		} else if (it->is_thread) {
			walk_thread(cx, it->th, wu[k], w[k]);
		} else {
			walk_goroutine(cx, it->g, wu[k], w[k]);
		}
	}
	/* a Go frame without CFI (a binary built without DWARF): the walks are
	 * fp and go, and fp is compared with go, as check does */
	if (nw == 2 && w[1]->no_cfi) {
		wu[1] = UNWIND_GO;
		if (it->is_thread)
			walk_thread(cx, it->th, UNWIND_GO, w[1]);
		else if (!goroutine_not_owned(s->layout, it->g, &why))
			walk_goroutine(cx, it->g, UNWIND_GO, w[1]);
	}
	if (nw == 2)
		mm = first_mismatch(w[0], w[1]);
	if (nw == 3 && w[1]->no_cfi) {
		mm = first_mismatch(w[0], w[2]);
	} else if (nw == 3) {
		mm = first_mismatch(w[0], w[1]);
		gomm = first_mismatch(w[2], w[1]);
	}
	if (c->json) {
		jw_obj(jw);
		if (it->is_thread) {
			jw_key(jw, "tid"); jw_int(jw, it->th->tid);
		} else {
			jw_key(jw, "goid"); jw_uint(jw, it->g->goid);
		}
		for (size_t k = 0; k < nw; k++) {
			char key[32];

			snprintf(key, sizeof(key), "%s_frames", walk_unwinder_names[wu[k]]);
			jw_key(jw, nw == 1 ? "frames" : key);
			json_frames(s, jw, w[k]);
			snprintf(key, sizeof(key), "%s_end", walk_unwinder_names[wu[k]]);
			jw_key(jw, nw == 1 ? "end" : key);
			jw_str(jw, w[k]->end[0] ? w[k]->end : NULL);
		}
		if (nw >= 2) {
			jw_key(jw, "mismatch");
			if (mm >= 0) jw_int(jw, mm); else jw_null(jw);
			jw_key(jw, "reference");
			jw_str(jw, nw == 2 ? walk_unwinder_names[wu[1]] : w[1]->no_cfi ? "go" : "dwarf");
		}
		if (nw == 3) {
			jw_key(jw, "go_mismatch");
			if (gomm >= 0) jw_int(jw, gomm); else jw_null(jw);
		}
		jw_end_obj(jw);
	} else {
		if (it->is_thread)
			fprintf(c->out, "thread %d:\n", it->th->tid);
		else
			fprintf(c->out, "goroutine %" PRIu64 " [%s]:\n", it->g->goid,
				go_status_name(s->layout, it->g->status & ~s->layout->gscan));
		if (nw == 1) {
			print_walk_text(s, c->out, w[0], -1);
		} else {
			const char *ref = nw == 2 ? walk_unwinder_names[wu[1]] : w[1]->no_cfi ? "go" : "dwarf";
			bool go_ref = nw == 3 && w[1]->no_cfi;

			for (size_t k = 0; k < nw; k++) {
				fprintf(c->out, "  %s:\n", walk_unwinder_names[wu[k]]);
				print_walk_text(s, c->out, w[k], k == 0 ? mm : k == 1 ? (go_ref ? -1 : mm >= 0 ? mm : gomm) :
						go_ref ? mm : gomm);
			}
			if (mm < 0)
				fprintf(c->out, "  fp and %s agree (%zu frames)\n", ref, w[0]->n);
			else
				fprintf(c->out, "  fp and %s part at frame %ld\n", ref, mm);
			if (nw == 3 && gomm < 0)
				fprintf(c->out, "  go and dwarf agree (%zu frames)\n", w[2]->n);
			else if (nw == 3)
				fprintf(c->out, "  go and dwarf part at frame %ld\n", gomm);
		}
		fprintf(c->out, "\n");
	}
	for (size_t k = 0; k < nw; k++)
		free(w[k]);
	return NULL;
}

struct fpi_error *cmd_bt(struct fpi_cmd_ctx *c, int *status)
{
	struct fpi_session *s = c->s;
	enum bt_unwinder uw = UW_FP;
	const char *target = NULL;
	struct jw jw;
	struct fpi_error *err = NULL;

	for (int i = 1; i < c->argc; i++) {
		if ((!strcmp(c->argv[i], "--unwinder") && i + 1 < c->argc) || !strncmp(c->argv[i], "--unwinder=", 11)) {
			const char *u = c->argv[i][10] == '=' ? c->argv[i] + 11 : c->argv[++i];

			if (!bt_unwinder_of(u, &uw))
				return fpi_error_create(FPI_ERR_USAGE, "bt: unknown unwinder '%s' (fp, dwarf, go, both or all)", u);
		} else if (!target) {
			target = c->argv[i];
		} else {
			return fpi_error_create(FPI_ERR_USAGE, "bt: unexpected argument '%s'", c->argv[i]);
		}
	}
	if (!target)
		return fpi_error_create(FPI_ERR_USAGE, "usage: bt TARGET [--unwinder fp|dwarf|go|both|all] (TARGET: a TID, gGOID or all)");
	if (c->json) {
		jw_init(&jw, c->out);
		jw_obj(&jw);
		jw_key(&jw, "unwinder"); jw_str(&jw, bt_unwinder_names[uw]);
		jw_key(&jw, "stacks");
		jw_arr(&jw);
	}
	if (!strcmp(target, "all")) {
		for (size_t i = 0; i < s->snap->nthreads && !err; i++) {
			struct bt_item it = { true, &s->snap->threads[i], NULL };

			err = bt_one(c, &jw, &it, uw);
		}
		for (size_t i = 0; i < s->snap->ngs && !err; i++) {
			struct bt_item it = { false, NULL, &s->snap->gs[i] };

			if (go_g_is_dead(s->layout, &s->snap->gs[i]))
				continue;
			err = bt_one(c, &jw, &it, uw);
		}
	} else {
		struct bt_item it = { 0 };
		char *end;

		if (target[0] == 'g') {
			unsigned long long goid = strtoull(target + 1, &end, 10);

			if (!target[1] || *end)
				return fpi_error_create(FPI_ERR_USAGE, "bt: '%s' is not a goroutine (gGOID, e.g. g42)", target);
			it.g = go_find_g(s->snap, goid);
			if (!it.g || go_g_is_dead(s->layout, it.g))
				return fpi_error_create(FPI_ERR_NOTFOUND, "bt: no goroutine %llu (see goroutines)", goid);
		} else {
			long tid = strtol(target, &end, 10);

			if (!target[0] || *end || tid <= 0)
				return fpi_error_create(FPI_ERR_USAGE, "bt: '%s' is not a thread id, gGOID or all", target);
			for (size_t i = 0; i < s->snap->nthreads; i++)
				if (s->snap->threads[i].tid == tid)
					it.th = &s->snap->threads[i];
			if (!it.th)
				return fpi_error_create(FPI_ERR_NOTFOUND, "bt: no thread %ld in this process (see threads)", tid);
			it.is_thread = true;
		}
		err = bt_one(c, &jw, &it, uw);
	}
	if (err)
		return err;
	if (c->json) {
		jw_end_arr(&jw);
		jw_end_obj(&jw);
	}
	*status = 0;
	return NULL;
}
