/* SPDX-License-Identifier: GPL-3.0-or-later */
/* check: the invariants whose breakage crashed the Go runtime's frame-pointer
 * unwinding or gave wrong stacks (see ../shared/go-runtime.md and the seed
 * changes). Each finding names the thread or goroutine, the frame, what broke
 * and why it matters. Kinds are stable names; tests and users match on them. */
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "checks.h"
#include "stacks.h"

/* The findings are the public API's (struct fpi_findings): rendering them,
 * as text or JSON, is render.c's. */
#define SEV_ERROR FPI_SEVERITY_ERROR
#define SEV_WARNING FPI_SEVERITY_WARNING
#define SEV_INFO FPI_SEVERITY_INFO

struct findings {
	struct fpi_findings *f;
	size_t cap;
};

static void add(struct findings *f, enum fpi_severity sev, const char *kind, int64_t goid, int tid, long frame,
		const char *fmt, ...) __attribute__((format(printf, 7, 8)));

static void add(struct findings *f, enum fpi_severity sev, const char *kind, int64_t goid, int tid, long frame,
		const char *fmt, ...)
{
	struct fpi_findings *r = f->f;
	va_list ap;
	char *msg = NULL;

	if (r->n == f->cap) {
		size_t cap = f->cap ? 2 * f->cap : 64;
		struct fpi_finding *v = realloc(r->v, cap * sizeof(*v));

		if (!v)
			return;
		r->v = v;
		f->cap = cap;
	}
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	/* the model's -1 for none is the public FPI_NONE */
	r->v[r->n++] = (struct fpi_finding){ sev, kind, goid < 0 ? FPI_NONE : goid, tid < 0 ? FPI_NONE : tid,
					     frame < 0 ? FPI_NONE : frame, msg };
	if (sev == SEV_ERROR)
		r->errors++;
	else if (sev == SEV_WARNING)
		r->warnings++;
	else
		r->infos++;
}

static const char *fp_kind(enum fpi_fp_stop stop)
{
	switch (stop) {
	case FPI_FP_CYCLE: return "fp-cycle";
	case FPI_FP_NOT_INCREASING: return "fp-not-increasing";
	case FPI_FP_MISALIGNED: return "fp-misaligned";
	default: return "fp-out-of-bounds";
	}
}

/* Report a broken FP chain of one walk. */
static void judge_fp(struct fpi_session *s, struct findings *f, const struct walk *w, const struct go_m *m,
		     int64_t goid, int tid)
{
	const struct fpi_fp_result *r = &w->fp_bad;
	long frame = (long)(w->fp_bad_base + r->bad_frame);
	int claims = go_m_claims_c(m);
	bool c_known = claims == 1 || w->saw_cgocallback;
	const char *kind = fp_kind(r->stop);
	enum fpi_severity sev;
	const char *why;

	if (r->stop == FPI_FP_DEPTH)
		return;
	if (r->stop == FPI_FP_CYCLE) {
		sev = SEV_ERROR;
		why = "a frame-pointer walk would loop (the runtime's fpTracebackPCs has no cycle check; the mcall bug "
		      "behind CL 476235 produced exactly this)";
	} else if (goid < 0 && w->seg_stack != FR_GOROUTINE) {
		/* traceStack (trace*.go) walks frame pointers from the calling
		 * goroutine's own frame or from curg.sched.bp, and the
		 * profilers' FP unwinding (1.23+) likewise: never a system stack */
		sev = SEV_INFO;
		why = "a system stack (g0, gsignal, C): the runtime's frame-pointer unwinders never walk it (the "
		      "tracer's traceStack starts from a goroutine's own frame or g.sched.bp)";
	} else if (c_known) {
		sev = SEV_INFO;
		why = claims == 1 ? "C frames are on this stack by the M's own account (ncgo > 0 or isextra): the runtime "
				    "uses its regular unwinder here, not frame pointers"
				  : "the chain runs into the C frames below cgocallback, where RBP may hold anything";
	} else {
		sev = SEV_ERROR;
		why = claims < 0 ? "the runtime would follow this chain (Go version without isextra: C on the stack cannot be ruled out)"
				 : "the runtime would follow this chain: its M has no C frames by its own account "
				   "(ncgo == 0, isextra == 0), so the tracer walks frame pointers here (golang/go#59830)";
	}
	add(f, sev, kind, goid, tid, frame, "%s stack: %s; %s", fr_stack_name(w->seg_stack),
	    r->why, why);
}

/* cgo-fp-unsafe: C frames really on a stack whose M claims none. */
static void judge_cgo(struct fpi_session *s, struct findings *f, const struct walk *dw, const struct go_m *m,
		      int64_t goid, int tid)
{
	if (!m || !(dw->saw_c || dw->saw_cgocallback) || go_m_claims_c(m) != 0)
		return;
	for (size_t i = 0; i < dw->n; i++) {
		if (dw->frames[i].stack != FR_C && !(dw->saw_cgocallback && i + 1 == dw->n))
			continue;
		add(f, SEV_ERROR, "cgo-fp-unsafe", goid, tid, (long)i,
		    "C frames are on this stack (frame %zu) but M%" PRId64 " claims none (ncgo == 0, isextra == 0): the "
		    "execution tracer would walk frame pointers through C code, whose RBP may hold garbage (golang/go#59830)",
		    i, m->id);
		return;
	}
}

/* The reference the FP walk is judged against: the DWARF walk, or, where
 * the binary has no CFI for a Go frame, the go walk (the runtime's own
 * method, pclntab's SP deltas: it needs no DWARF). Same kind of finding;
 * the message names the reference. */
static void judge_mismatch(struct findings *f, const struct walk *fp, const struct walk *dw, int64_t goid, int tid,
			   struct fpi_session *s)
{
	bool go = dw->unwinder == UNWIND_GO;
	const char *ref = go ? "the pclntab unwinder" : "DWARF CFI", *says = go ? "go" : "dwarf";

	size_t nfp = fp->n, ndw = 0;

	/* compare where both unwinders are meant to agree: Go frames before the
	 * FP chain's first bad link, on the stacks the FP walk visited */
	if (fp->fp_broken)
		nfp = fp->fp_bad_base + fp->fp_bad.bad_frame + 1;
	if (nfp > fp->n)
		nfp = fp->n;
	while (ndw < dw->n && dw->frames[ndw].stack != FR_C)
		ndw++;
	for (size_t i = 0; i < nfp && i < ndw; i++) {
		if (fp->frames[i].pc == dw->frames[i].pc)
			continue;
		{
			const char *a = session_symbol(s, fp->frames[i].pc, !fp->frames[i].exact);
			const char *b = session_symbol(s, dw->frames[i].pc, !dw->frames[i].exact);

			add(f, SEV_WARNING, "fp-dwarf-mismatch", goid, tid, (long)i,
			    "frame pointers and %s part at frame %zu: fp says 0x%" PRIx64 " (%s), %s says 0x%" PRIx64
			    " (%s)", ref, i, fp->frames[i].pc, a ? a : "?", says, dw->frames[i].pc, b ? b : "?");
		}
		return;
	}
	/* a natural FP end earlier than DWARF's on the same Go stack */
	if (!fp->fp_broken && !fp->end[0] && nfp < ndw && nfp > 0 &&
	    dw->frames[nfp].stack == fp->frames[nfp - 1].stack) {
		const char *b = session_symbol(s, dw->frames[nfp].pc, !dw->frames[nfp].exact);

		add(f, SEV_WARNING, "fp-dwarf-mismatch", goid, tid, (long)nfp,
		    "the frame-pointer chain ends after %zu frames but %s goes on to 0x%" PRIx64 " (%s)", nfp, ref,
		    dw->frames[nfp].pc, b ? b : "?");
	}
}

/* What Go frames an extra M's goroutine has on its own stack: 2 live ones
 * (a callback's: cgocallbackg1 or anything not in the runtime), 1 only the
 * runtime's own callback entry or exit (cgocallback, cgocallbackg and what
 * they call before and after the callback runs), 0 none but the goexit
 * placeholder (a C thread between callbacks: the extra M's goroutine sits
 * in _Gsyscall with only that frame). */
static int extra_go_frames(struct fpi_session *s, const struct walk *w)
{
	int level = 0;

	for (size_t i = 0; i < w->n; i++) {
		const char *fn = w->frames[i].stack == FR_GOROUTINE ?
				 session_symbol(s, w->frames[i].pc, !w->frames[i].exact) : NULL;

		if (!fn || !strcmp(fn, "runtime.goexit"))
			continue;
		/* the runtime's own packages (inlined atomics and the like
		 * show under their own names) */
		if (!strcmp(fn, "runtime.cgocallbackg1") ||
		    (strncmp(fn, "runtime.", 8) && strncmp(fn, "runtime/", 8) && strncmp(fn, "internal/", 9)))
			return 2;
		level = 1;
	}
	return level;
}

/* The FP walk of a thread (th) or goroutine (g) and the walk it is judged
 * against: DWARF CFI, or, where a Go frame has no CFI (a binary without
 * DWARF), the pclntab unwinder, as the runtime itself unwinds there. */
static struct walk *walk_judged(struct walk_ctx *cx, const struct go_thread *th, const struct go_g *g,
				struct walk *fp, struct walk *dw, struct walk *gw)
{
	enum walk_unwinder uw[3] = { UNWIND_FP, UNWIND_DWARF, UNWIND_GO };
	struct walk *w[3] = { fp, dw, gw };

	for (int k = 0; k < 3; k++) {
		if (k == 2 && !dw->no_cfi)
			return dw;
		if (th)
			walk_thread(cx, th, uw[k], w[k]);
		else
			walk_goroutine(cx, g, uw[k], w[k]);
	}
	return gw;
}

static bool running_without_registers(struct fpi_session *s, const struct go_g *g)
{
	const struct go_m *m = go_find_m_addr(s->snap, g->m);

	if (!go_g_status_is(s->layout, g, "running"))
		return false;
	return !m || m->thread < 0 || m->curg != g->addr;
}

struct fpi_error *check_run(struct fpi_session *s, struct fpi_findings **ret)
{
	struct findings f = { calloc(1, sizeof(struct fpi_findings)), 0 };
	struct walk *fp = malloc(sizeof(*fp)), *dw = malloc(sizeof(*dw)), *gw = malloc(sizeof(*gw)), *ref;
	size_t ngs = 0, frames = 0;
	struct walk_ctx *cx = NULL;
	struct fpi_error *err = session_walk_ctx(s, &cx);

	if (err || !fp || !dw || !gw || !f.f) {
		free(fp);
		free(dw);
		free(gw);
		free(f.f);
		return err ? err : &fpi_enomem;
	}
	/* threads: their own stacks (g0, gsignal, a running goroutine's) */
	for (size_t i = 0; i < s->snap->nthreads; i++) {
		const struct go_thread *th = &s->snap->threads[i];
		const struct go_m *m = th->m >= 0 ? &s->snap->ms[th->m] : NULL;
		uint64_t lo, hi;
		enum fr_stack kind;

		if (!m)
			continue; /* not a Go thread (yet): nothing the runtime walks */
		if (m->isextrainc == 1) {
			const struct go_g *lg = go_find_g_addr(s->snap, m->lockedg ? m->lockedg : m->curg);
			int level = 0;
			const char *why;

			if (lg && !go_g_is_dead(s->layout, lg) && !goroutine_not_owned(s->layout, lg, &why)) {
				walk_goroutine(cx, lg, UNWIND_DWARF, dw);
				if (dw->no_cfi)
					walk_goroutine(cx, lg, UNWIND_GO, gw);
				level = extra_go_frames(s, dw->no_cfi ? gw : dw);
			}
			if (level == 2)
				add(&f, SEV_ERROR, "extra-in-c-with-go-frames", (int64_t)lg->goid, th->tid, -1,
				    "M%" PRId64 " has isExtraInC set while goroutine %" PRIu64 " has live Go frames on it: "
				    "the runtime believes this extra M is back in C (golang/go#72870, fixed in Go 1.25 and in later 1.23 and 1.24 point releases)",
				    m->id, lg->goid);
			else if (level == 1)
				add(&f, SEV_INFO, "extra-in-c-with-go-frames", (int64_t)lg->goid, th->tid, -1,
				    "M%" PRId64 " has isExtraInC set while goroutine %" PRIu64 " is entering or leaving a cgo "
				    "callback (only cgocallback/cgocallbackg frames): the runtime clears it after exitsyscall "
				    "on entry and sets it before the return to C, an intended window", m->id, lg->goid);
		}
		if (!thread_stack_bounds(s->snap, th, &lo, &hi, &kind))
			continue;
		ref = walk_judged(cx, th, NULL, fp, dw, gw);
		frames += fp->n;
		if (fp->fp_broken && fp->seg_stack != FR_GOROUTINE)
			judge_fp(s, &f, fp, m, -1, th->tid);
		judge_cgo(s, &f, ref, m, -1, th->tid);
		judge_mismatch(&f, fp, ref, -1, th->tid, s);
	}
	/* goroutines: each on its own stack, from where the runtime would start */
	for (size_t i = 0; i < s->snap->ngs; i++) {
		const struct go_g *g = &s->snap->gs[i];
		const char *why;

		if (go_g_is_dead(s->layout, g))
			continue;
		ngs++;
		if (goroutine_not_owned(s->layout, g, &why)) {
			add(&f, SEV_INFO, "stack-not-owned", (int64_t)g->goid, -1, -1, "not walked: %s", why);
			continue;
		}
		if (running_without_registers(s, g)) {
			add(&f, SEV_INFO, "stack-not-owned", (int64_t)g->goid, -1, -1,
			    "not walked: running, but no thread's registers show its M running it");
			continue;
		}
		ref = walk_judged(cx, NULL, g, fp, dw, gw);
		frames += fp->n;
		if (fp->fp_broken)
			judge_fp(s, &f, fp, fp->m, (int64_t)g->goid, -1);
		judge_cgo(s, &f, ref, ref->m, (int64_t)g->goid, -1);
		judge_mismatch(&f, fp, ref, (int64_t)g->goid, -1, s);
	}
	free(fp);
	free(dw);
	free(gw);
	f.f->threads = s->snap->nthreads;
	f.f->goroutines = ngs;
	f.f->frames = frames;
	*ret = f.f;
	return NULL;
}

void check_findings_free(struct fpi_findings *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n; i++)
		free(f->v[i].message);
	free(f->v);
	free(f);
}
