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

struct fpi_error *cmd_goroutines(struct fpi_cmd_ctx *c, int *status)
{
	struct fpi_session *s = c->s;
	const struct go_g *const *order;
	size_t n;
	struct jw w;
	struct fpi_error *err = view_goroutine_order(s, &order, &n);

	if (err)
		return err;
	if (c->json) {
		jw_init(&w, c->out);
		jw_obj(&w);
		jw_key(&w, "goroutines");
		jw_arr(&w);
	} else {
		fprintf(c->out, "%-7s %-14s %-22s %-4s %-18s %-18s %-18s %-29s %s\n", "GOID", "STATUS", "WAIT REASON", "M",
			"PC", "SP", "BP", "STACK", "FUNCTION / CREATED BY");
	}
	for (size_t i = 0; i < n; i++) {
		struct fpi_goroutine g;
		char st[48];

		view_goroutine(s, order[i], &g);
		/* garbage shows as what it is, the scan bit not split off */
		if (!g.status)
			snprintf(st, sizeof(st), "status 0x%" PRIx32, g.status_value);
		else
			snprintf(st, sizeof(st), "%s%s", g.status, g.scan ? "+scan" : "");
		if (c->json) {
			jw_obj(&w);
			jw_key(&w, "goid"); jw_uint(&w, g.goid);
			jw_key(&w, "status"); jw_str(&w, g.status ? g.status : "unknown");
			jw_key(&w, "status_value"); jw_uint(&w, g.status_value);
			jw_key(&w, "scan"); jw_bool(&w, g.scan);
			jw_key(&w, "wait_reason"); jw_str(&w, g.wait_reason);
			jw_key(&w, "m"); jw_tri_int(&w, g.m, g.m == FPI_NONE);
			jw_key(&w, "pc"); jw_hex(&w, g.pc);
			jw_key(&w, "sp"); jw_hex(&w, g.sp);
			jw_key(&w, "bp"); jw_hex(&w, g.bp);
			jw_key(&w, "stack_lo"); jw_hex(&w, g.stack_lo);
			jw_key(&w, "stack_hi"); jw_hex(&w, g.stack_hi);
			jw_key(&w, "function"); jw_str(&w, g.function);
			jw_key(&w, "created_by"); jw_str(&w, g.created_by);
			jw_end_obj(&w);
			continue;
		}
		{
			char mid[24], stk[40];

			fmt_goid(mid, sizeof(mid), g.m);
			snprintf(stk, sizeof(stk), "%" PRIx64 "-%" PRIx64, g.stack_lo, g.stack_hi);
			fprintf(c->out, "%-7" PRIu64 " %-14s %-22s %-4s 0x%-16" PRIx64 " 0x%-16" PRIx64 " 0x%-16" PRIx64
				" %-29s %s  [created by %s]\n",
				g.goid, st, g.wait_reason ? g.wait_reason : "-", mid, g.pc, g.sp, g.bp, stk,
				g.function ? g.function : "?",
				g.created_by ? g.created_by : g.created_pc ? "?" : "- (a cgo callback's goroutine)");
		}
	}
	if (c->json) {
		jw_end_arr(&w);
		jw_end_obj(&w);
	} else {
		fprintf(c->out, "%zu goroutines\n", n);
	}
	*status = 0;
	return NULL;
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

/* bt all prints a million lines for 100k goroutines: compose each line by
 * hand (printf's format parsing dominated the profile). */
static char *put_str(char *p, char *end, const char *str)
{
	while (*str && p < end)
		*p++ = *str++;
	return p;
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
	if (nw >= 2)
		mm = first_mismatch(w[0], w[1]);
	if (nw == 3)
		gomm = first_mismatch(w[2], w[1]);
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
			for (size_t k = 0; k < nw; k++) {
				fprintf(c->out, "  %s:\n", walk_unwinder_names[wu[k]]);
				print_walk_text(s, c->out, w[k], k == 0 ? mm : k == 1 ? (mm >= 0 ? mm : gomm) : gomm);
			}
			if (mm < 0)
				fprintf(c->out, "  fp and dwarf agree (%zu frames)\n", w[0]->n);
			else
				fprintf(c->out, "  fp and dwarf part at frame %ld\n", mm);
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
