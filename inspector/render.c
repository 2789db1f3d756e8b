/* summary, threads, goroutines: text tables and JSON documents. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jsonw.h"
#include "session.h"

static const char *tri(int v)
{
	return v < 0 ? "n/a" : v ? "1" : "0";
}

static void status_string(const struct go_layout *l, uint32_t status, char *buf, size_t len)
{
	uint32_t base = status & ~l->gscan;

	/* garbage shows as what it is, the scan bit not split off */
	if (!go_status_known(l, status))
		snprintf(buf, len, "status 0x%" PRIx32, status);
	else
		snprintf(buf, len, "%s%s", go_status_name(l, base), l->gscan && (status & l->gscan) ? "+scan" : "");
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
		jw_key(&w, "arch"); jw_str(&w, "amd64");
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
		fprintf(c->out, "arch:        amd64\n");
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
	for (size_t pass = 0; pass < 2; pass++) {
		size_t n = pass == 0 ? sn->nthreads : sn->nms;

		for (size_t i = 0; i < n; i++) {
			const struct go_m *m;
			int tid = -1;
			const char *stack = "-";
			char curg[24], lockedg[24];

			if (pass == 0) {
				tid = sn->threads[i].tid;
				m = sn->threads[i].m >= 0 ? &sn->ms[sn->threads[i].m] : NULL;
				stack = go_stack_kind_name(sn->threads[i].stack);
			} else {
				m = &sn->ms[i];
				if (m->thread >= 0)
					continue;
			}
			if (c->json) {
				jw_obj(&w);
				jw_key(&w, "tid"); jw_tri_int(&w, tid, tid < 0);
				jw_key(&w, "m"); jw_tri_int(&w, m ? m->id : 0, !m);
				jw_key(&w, "stack"); jw_str(&w, pass == 0 ? stack : NULL);
				jw_key(&w, "curg"); jw_tri_int(&w, m ? m->curg_goid : 0, !m || m->curg_goid < 0);
				jw_key(&w, "lockedg"); jw_tri_int(&w, m ? m->lockedg_goid : 0, !m || m->lockedg_goid < 0);
				jw_key(&w, "isextra"); jw_tri_bool(&w, m ? m->isextra : GO_NA);
				jw_key(&w, "is_extra_in_c"); jw_tri_bool(&w, m ? m->isextrainc : GO_NA);
				jw_key(&w, "ncgo"); jw_tri_int(&w, m ? m->ncgo : 0, !m);
				jw_key(&w, "incgo"); jw_tri_bool(&w, m ? m->incgo : GO_NA);
				jw_key(&w, "has_cgo_on_stack"); jw_tri_bool(&w, m ? go_m_claims_c(m) : GO_NA);
				if (pass == 1) {
					jw_key(&w, "no_thread"); jw_bool(&w, true);
				}
				jw_end_obj(&w);
				continue;
			}
			if (!m) {
				fprintf(c->out, "%-8d %-5s %-8s (no M: not a Go thread, or not yet started)\n", tid, "-", stack);
				continue;
			}
			fmt_goid(curg, sizeof(curg), m->curg_goid);
			fmt_goid(lockedg, sizeof(lockedg), m->lockedg_goid);
			if (pass == 0)
				fprintf(c->out, "%-8d ", tid);
			else
				fprintf(c->out, "%-8s ", "-");
			fprintf(c->out, "%-5" PRId64 " %-8s %-6s %-7s %-7s %-10s %-5" PRId64 " %-5s %s%s\n",
				m->id, stack, curg, lockedg, tri(m->isextra), tri(m->isextrainc), m->ncgo,
				tri(m->incgo), tri(go_m_claims_c(m)),
				pass == 1 ? "   (M without a thread: an extra M waiting on the list)" : "");
		}
	}
	if (c->json) {
		jw_end_arr(&w);
		jw_end_obj(&w);
	}
	*status = 0;
	return NULL;
}

static int goid_cmp(const void *a, const void *b)
{
	const struct go_g *x = *(struct go_g *const *)a, *y = *(struct go_g *const *)b;

	return x->goid < y->goid ? -1 : x->goid > y->goid;
}

struct fpi_error *cmd_goroutines(struct fpi_cmd_ctx *c, int *status)
{
	struct fpi_session *s = c->s;
	const struct go_layout *l = s->layout;
	const struct go_snapshot *sn = s->snap;
	struct go_g **order;
	size_t n = 0;
	struct jw w;

	order = malloc((sn->ngs ? sn->ngs : 1) * sizeof(*order));
	if (!order)
		return &fpi_enomem;
	for (size_t i = 0; i < sn->ngs; i++)
		if (!go_g_is_dead(l, &sn->gs[i]))
			order[n++] = &sn->gs[i];
	/* by goid, as users and the runtime's tracebacks list them */
	qsort(order, n, sizeof(*order), goid_cmp);
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
		const struct go_g *g = order[i];
		char st[48];
		const char *wr = NULL, *fn, *cb;
		uint32_t base = g->status & ~l->gscan;

		status_string(l, g->status, st, sizeof(st));
		if (g->waitreason > 0 && go_status_known(l, g->status) && strcmp(go_status_name(l, base), "waiting") == 0)
			wr = go_waitreason(l, g->waitreason);
		fn = session_symbol(s, g->sched_pc, false);
		cb = session_symbol(s, g->gopc, true);
		if (c->json) {
			jw_obj(&w);
			jw_key(&w, "goid"); jw_uint(&w, g->goid);
			jw_key(&w, "status"); jw_str(&w, go_status_name(l, base));
			jw_key(&w, "status_value"); jw_uint(&w, g->status);
			jw_key(&w, "scan"); jw_bool(&w, l->gscan && (g->status & l->gscan));
			jw_key(&w, "wait_reason"); jw_str(&w, wr && *wr ? wr : NULL);
			jw_key(&w, "m"); jw_tri_int(&w, g->mid, g->mid < 0);
			jw_key(&w, "pc"); jw_hex(&w, g->sched_pc);
			jw_key(&w, "sp"); jw_hex(&w, g->sched_sp);
			jw_key(&w, "bp"); jw_hex(&w, g->sched_bp);
			jw_key(&w, "stack_lo"); jw_hex(&w, g->stack_lo);
			jw_key(&w, "stack_hi"); jw_hex(&w, g->stack_hi);
			jw_key(&w, "function"); jw_str(&w, fn);
			jw_key(&w, "created_by"); jw_str(&w, cb);
			jw_end_obj(&w);
			continue;
		}
		{
			char mid[24], stk[40];

			fmt_goid(mid, sizeof(mid), g->mid);
			snprintf(stk, sizeof(stk), "%" PRIx64 "-%" PRIx64, g->stack_lo, g->stack_hi);
			fprintf(c->out, "%-7" PRIu64 " %-14s %-22s %-4s 0x%-16" PRIx64 " 0x%-16" PRIx64 " 0x%-16" PRIx64
				" %-29s %s  [created by %s]\n",
				g->goid, st, wr && *wr ? wr : "-", mid, g->sched_pc, g->sched_sp, g->sched_bp, stk,
				fn ? fn : "?", cb ? cb : g->gopc ? "?" : "- (a cgo callback's goroutine)");
		}
	}
	if (c->json) {
		jw_end_arr(&w);
		jw_end_obj(&w);
	} else {
		fprintf(c->out, "%zu goroutines\n", n);
	}
	free(order);
	*status = 0;
	return NULL;
}
