/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The frame iterator. The frame-pointer walker and the CFI stepper know
 * stacks; this file knows Go's scheduler: where a goroutine's walk starts,
 * and, in go_switch, the one place that says where the runtime went at a
 * frame: from a system stack to the goroutine it runs for (systemstack,
 * mcall, morestack, asmcgocall, as the runtime's own unwinder does), from a
 * goroutine to C (cgocallback), into the code a signal interrupted, around
 * a vDSO call, and which frames are the top of a stack (goexit, mstart,
 * rt0_go). The step strategies (walk_fp.c, walk_cfi.c) find callers on one
 * stack and follow the switches each with what it walks by. */
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "walk_internal.h"

struct fpi_error *walk_ctx_create(const struct fpi_arch_info *arch, const struct go_layout *layout,
				  const struct go_snapshot *snap, const struct fpi_mem *mem, struct fpi_modules *mods,
				  const char *mods_err, uint64_t vdso, uint64_t vdso_len, struct walk_ctx **ret)
{
	struct walk_ctx *cx = calloc(1, sizeof(*cx));

	if (!cx)
		return &fpi_enomem;
	cx->arch = arch;
	cx->layout = layout;
	cx->snap = snap;
	cx->mem = mem;
	cx->mods = mods;
	snprintf(cx->mods_err, sizeof(cx->mods_err), "%s", mods_err ? mods_err : "no modules");
	cx->vdso = vdso;
	cx->vdso_len = vdso_len;
	if (mods) {
		const char *why = NULL;

		cx->pcln = fpi_modules_pclntab(mods, &cx->pcln_bias, &why);
		snprintf(cx->pcln_err, sizeof(cx->pcln_err), "%s", why && why[0] ? why : "no Go function table");
	} else {
		snprintf(cx->pcln_err, sizeof(cx->pcln_err), "%s", cx->mods_err);
	}
	gofuncs_find(cx);
	*ret = cx;
	return NULL;
}

void walk_ctx_destroy(struct walk_ctx *cx)
{
	if (cx) {
		walk_cfi_cache_free(cx->cfi);
		free(cx->pcln_cache);
		free(cx);
	}
}

const char *fr_stack_name(enum fr_stack k)
{
	switch (k) {
	case FR_GOROUTINE: return "goroutine";
	case FR_G0: return "g0";
	case FR_GSIGNAL: return "gsignal";
	case FR_C: return "C";
	default: return "other";
	}
}

bool goroutine_not_owned(const struct go_layout *l, const struct go_g *g, const char **why)
{
	if ((*why = go_g_garbage(l, g)))
		return true;
	if (l->gscan && (g->status & l->gscan)) {
		*why = "the _Gscan bit is held: the GC (or a stack scan) owns this stack right now";
		return true;
	}
	if (go_g_status_is(l, g, "copystack")) {
		*why = "_Gcopystack: the stack is being moved";
		return true;
	}
	return false;
}

/* ---- what the runtime model says about stacks ---- */

/* The thread that runs g on its own stack right now, if any. */
static const struct go_thread *running_thread(const struct walk_ctx *cx, const struct go_g *g)
{
	const struct go_m *m = g->m ? go_find_m_addr(cx->snap, g->m) : NULL;

	if (!m || m->thread < 0 || m->curg != g->addr)
		return NULL;
	return &cx->snap->threads[m->thread];
}

/* Before Go 1.23 entersyscall saved no BP (save() set only pc and sp), so a
 * goroutine in a syscall has no recorded frame pointer. Every Go frame keeps
 * its frame record at a fixed place once its prologue ran (amd64: CFA-16,
 * arm64: SP-8), so the CFA gives it back (CFI's, or pclntab's SP delta
 * without DWARF). */
static uint64_t derive_bp(struct walk_ctx *cx, uint64_t pc, uint64_t sp)
{
	struct fpi_regs r, next;
	char why[160];

	memset(&r, 0, sizeof(r));
	r.r[FPI_REG_PC] = pc;
	r.r[FPI_REG_SP] = sp;
	if (walk_cfa(cx, CFA_CFI_FIRST, &r, false, &next, NULL, why, sizeof(why)) != 0)
		return 0;
	return cx->arch->record_at(sp, next.r[FPI_REG_SP]);
}

/* Where a goroutine that is not running on its own stack resumes: the
 * syscall registers in a syscall or cgo call, g.sched otherwise. */
static void saved_start(struct walk_ctx *cx, const struct go_g *g, struct fpi_regs *r)
{
	const struct go_m *m = g->m ? go_find_m_addr(cx->snap, g->m) : NULL;

	memset(r, 0, sizeof(*r));
	if (m && m->curg == g->addr && m->vdsosp >= g->stack_lo && m->vdsosp < g->stack_hi) {
		/* in a vDSO call (nanotime1, walltime, time.now moved to g0
		 * without saving g.sched): the call's caller, as the runtime's
		 * SIGPROF traceback starts from m.vdsoPC/vdsoSP */
		r->r[FPI_REG_PC] = m->vdsopc;
		r->r[FPI_REG_SP] = m->vdsosp;
		r->r[FPI_REG_FP] = derive_bp(cx, m->vdsopc, m->vdsosp);
	} else if (go_g_status_is(cx->layout, g, "syscall") && g->syscallsp) {
		r->r[FPI_REG_PC] = g->syscallpc;
		r->r[FPI_REG_SP] = g->syscallsp;
		r->r[FPI_REG_FP] = go_has(cx->layout->g_syscallbp) ? g->syscallbp :
				    derive_bp(cx, g->syscallpc, g->syscallsp);
	} else {
		r->r[FPI_REG_PC] = g->sched_pc;
		r->r[FPI_REG_SP] = g->sched_sp;
		r->r[FPI_REG_FP] = g->sched_bp;
		/* a goroutine that has not run yet returns to goexit through
		 * LR (gostartcall); 0 for one that parked (its LR is on its
		 * stack) */
		if (cx->arch->lr >= 0)
			r->r[cx->arch->lr] = g->sched_lr;
	}
}

/* The bounds of one of m's stacks. */
static bool m_stack_bounds(const struct go_snapshot *snap, const struct go_m *m, enum go_stack_kind which,
			   uint64_t *lo, uint64_t *hi, enum fr_stack *kind)
{
	const struct go_g *cg;

	switch (which) {
	case GO_STACK_G0:
		/* On OS-allocated system stacks (cgo, the main thread) the runtime
		 * sets g0.stack.hi to an address inside mstart0's own frame, so
		 * mstart0's and mstart's frame records lie just above it. */
		*lo = m->g0_lo, *hi = m->g0_hi + G0_HI_SLACK, *kind = FR_G0;
		return m->g0_lo < m->g0_hi;
	case GO_STACK_GSIGNAL:
		*lo = m->gsignal_lo, *hi = m->gsignal_hi, *kind = FR_GSIGNAL;
		return m->gsignal_lo < m->gsignal_hi;
	case GO_STACK_CURG:
		cg = m->curg ? go_find_g_addr(snap, m->curg) : NULL;
		if (!cg)
			return false;
		*lo = cg->stack_lo, *hi = cg->stack_hi, *kind = FR_GOROUTINE;
		return true;
	default:
		return false;
	}
}

bool thread_stack_bounds(const struct go_snapshot *snap, const struct go_thread *th, uint64_t *lo, uint64_t *hi,
			 enum fr_stack *kind)
{
	const struct go_m *m = th->m >= 0 ? &snap->ms[th->m] : NULL;

	*kind = FR_OTHER;
	return m && m_stack_bounds(snap, m, th->stack, lo, hi, kind);
}

/* The stack that holds sp among m's, in the order given; false: none. */
static bool m_stack_holding(const struct walk_ctx *cx, const struct go_m *m, const enum go_stack_kind order[3],
			    uint64_t sp, uint64_t *lo, uint64_t *hi, enum fr_stack *kind)
{
	for (size_t k = 0; m && k < 3; k++)
		if (m_stack_bounds(cx->snap, m, order[k], lo, hi, kind) && sp >= *lo && sp < *hi)
			return true;
	return false;
}

/* Which stack of m the interrupted SP is on: its g0's, its signal stack
 * (a signal that arrived while the handler of another ran), its curg's, or
 * one we know nothing of (8 MiB allowed upwards). */
void stack_of_sp(const struct walk_ctx *cx, const struct go_m *m, uint64_t sp, uint64_t *lo, uint64_t *hi,
		 enum fr_stack *kind)
{
	static const enum go_stack_kind order[3] = { GO_STACK_G0, GO_STACK_GSIGNAL, GO_STACK_CURG };

	if (!m_stack_holding(cx, m, order, sp, lo, hi, kind))
		*lo = sp, *hi = sp + (8u << 20), *kind = FR_OTHER;
}

/* The vDSO is entered from Go (nanotime1, walltime, time.now) on the g0
 * stack with m.vdsoSP set: no M field counts it, and it is not C in the cgo
 * sense (it never calls back, and the runtime's own profiler walks from
 * vdsoPC/vdsoSP around it). */
static bool in_vdso(const struct walk_ctx *cx, uint64_t pc)
{
	return cx->vdso_len && pc >= cx->vdso && pc - cx->vdso < cx->vdso_len;
}

static bool func_entry(const struct walk_ctx *cx, uint64_t pc)
{
	const struct fpi_symbol *sym;
	uint64_t entry;

	if (!cx->mods)
		return false;
	if (fpi_modules_go_code(cx->mods, pc, &entry) == 1)
		return entry == pc;
	sym = fpi_symbolize(cx->mods, pc);
	return sym && sym->function && sym->func_start == pc;
}

static bool is_c_frame(const struct walk_ctx *cx, uint64_t pc, bool retaddr)
{
	const struct fpi_symbol *sym;
	int go;

	if (in_vdso(cx, pc) || !cx->mods)
		return false;
	/* the executable's pcs, nearly all of them, by pclntab */
	go = fpi_modules_go_code(cx->mods, retaddr ? pc - 1 : pc, NULL);
	if (go >= 0)
		return go == 0;
	sym = fpi_symbolize(cx->mods, retaddr ? pc - 1 : pc);
	/* Go code is in a Go compile unit, assembly too (indexbytebody and
	 * memeqbody are file-local symbols without a package); without DWARF,
	 * Go functions are the package-qualified ones (pkg.Func) */
	return !sym || !sym->function || (!sym->go && !strchr(sym->function, '.'));
}

/* The stack a frame is shown on: C code on a system stack is "C". */
enum fr_stack frame_stack(const struct walk_ctx *cx, enum fr_stack st, uint64_t pc, bool retaddr)
{
	return st != FR_GOROUTINE && is_c_frame(cx, pc, retaddr) ? FR_C : st;
}

/* The registers a signal interrupted, from the signal frame at the
 * handler's CFA (the layout is the kernel's, per machine: arch.h). */
static bool signal_context(const struct walk_ctx *cx, uint64_t cfa, struct fpi_regs *out)
{
	return cx->arch->signal_regs(cx->mem, cfa, out);
}

/* m.vdsoPC/vdsoSP describe the innermost vDSO call only: a signal that
 * came during one may make its own (sigprof calls nanotime), which saves
 * and restores them on its stack. So they serve the first vDSO call a walk
 * meets, and a call below a later one ends it. This counts the vDSO calls
 * among frames [0, n). */
static int vdso_calls_before(const struct walk_ctx *cx, const struct walk *w, size_t n)
{
	int k = 0;

	for (size_t i = 0; i < n && i < w->n; i++)
		k += in_vdso(cx, w->frames[i].pc) && (i == 0 || !in_vdso(cx, w->frames[i - 1].pc));
	return k;
}

/* The goroutine to switch to from a thread's system stack; NULL when there
 * is none, or when its stack is not walkable now (newstack copying it, the
 * GC holding its scan bit: its gobuf and frames may be half moved), which
 * w->end then says. */
static const struct go_g *switch_target(const struct walk_ctx *cx, struct walk *w, const struct go_m *m)
{
	const struct go_g *g = m && m->curg ? go_find_g_addr(cx->snap, m->curg) : NULL;
	const char *why;

	if (g && goroutine_not_owned(cx->layout, g, &why)) {
		snprintf(w->end, sizeof(w->end), "goroutine %" PRIu64 " not walked: %s", g->goid, why);
		return NULL;
	}
	if (g && go_g_is_dead(cx->layout, g)) {
		/* goexit0 on g0 with m.curg not yet dropped: the stack is
		 * being given back, and nobody copies a dead goroutine's */
		snprintf(w->end, sizeof(w->end), "goroutine %" PRIu64 " is dead (goexit0): not walked", g->goid);
		return NULL;
	}
	return g;
}

/* ---- the stack transitions ---- */

static const char vdso_nested[] = "below a signal that came during a vDSO call: m.vdsoPC/vdsoSP are the handler's "
				  "own call's, the interrupted call's caller is not recorded";

/* The SP of frame f (the walk's last): known, or, for a frame reached by
 * its callee's frame record, that record's end (the callee's CFA). */
static uint64_t frame_sp(const struct walker *it)
{
	const struct walk *w = it->w;
	const struct frame *f = &w->frames[w->n - 1];

	return f->sp ? f->sp : it->cx->arch->sp_of_record(f->fp, w->n >= 2 ? w->frames[w->n - 2].fp : 0);
}


/* The interrupted registers below a signal handler's frame: in the
 * ucontext at sigtramp's CFA, or at SP in the restorer (sigtramp has
 * returned, rt_sigreturn not yet made). */
static void signal_switch(struct walker *it, const struct frame *f, bool in_restorer, struct go_switch *sw)
{
	uint64_t at = 0;

	if (in_restorer && it->sp_known) {
		at = it->regs.r[FPI_REG_SP];
	} else if (it->sp_known) {
		struct fpi_regs next;
		char why[160];

		/* sigtramp is a top frame to CFI (its return address is
		 * undefined): its CFA is what counts */
		if (walk_cfa(it->cx, CFA_CFI_FIRST, &it->regs, f->exact, &next, NULL, why, sizeof(why)) >= 0)
			at = next.r[FPI_REG_SP];
	}
	/* from sigtramp's frame record: its CFA where the record says it,
	 * else by its SP delta from the SP the record gives */
	if (!at && f->fp)
		at = it->cx->arch->cfa_of_record(f->fp);
	if (!at && frame_sp(it)) {
		struct fpi_regs r = it->regs, next;
		char why[160];

		r.r[FPI_REG_PC] = f->pc;
		r.r[FPI_REG_SP] = frame_sp(it);
		if (walk_cfa(it->cx, CFA_CFI_FIRST, &r, f->exact, &next, NULL, why, sizeof(why)) >= 0)
			at = next.r[FPI_REG_SP];
	}
	if (!signal_context(it->cx, at, &sw->regs)) {
		snprintf(it->w->end, sizeof(it->w->end),
			 "signal frame: cannot read the interrupted registers at 0x%" PRIx64, at);
		sw->kind = SW_END;
		return;
	}
	sw->kind = SW_SIGNAL;
	sw->exact = true;
	stack_of_sp(it->cx, it->m, sw->regs.r[FPI_REG_SP], &sw->lo, &sw->hi, &sw->st);
	sw->chain_fp = sw->regs.r[FPI_REG_FP];
}

static void goroutine_switch(struct walker *it, const struct frame *f, struct go_switch *sw)
{
	const struct go_g *g;

	if (f->rt == RT_ASMCGOCALL && it->cont_ok) {
		/* nested cgo: the C part came from an earlier cgocall of the
		 * goroutine the walk came from (whatever m.curg says now: it
		 * may show it runnable), whose frame record the asmcgocall
		 * frame's link points at */
		sw->kind = SW_CONT;
		sw->regs = it->cont;
		sw->chain_fp = f->fp;
		sw->lo = it->cont_lo, sw->hi = it->cont_hi;
		it->cont_ok = false;
	} else if ((g = switch_target(it->cx, it->w, it->m))) {
		sw->kind = SW_GOROUTINE;
		saved_start(it->cx, g, &sw->regs);
		sw->chain_fp = sw->regs.r[FPI_REG_FP];
		sw->lo = g->stack_lo, sw->hi = g->stack_hi;
	} else {
		sw->kind = SW_END; /* an idle M: the system stack is all there is */
		return;
	}
	/* a saved pc at a function's entry is exact (see walk_goroutine) */
	sw->exact = func_entry(it->cx, sw->regs.r[FPI_REG_PC]);
	sw->st = FR_GOROUTINE;
}

static uint64_t g0_sched_sp(const struct walk_ctx *cx, const struct go_m *m)
{
	uint64_t v = 0;

	if (m && m->g0 && !cx->mem->read(cx->mem->arg, m->g0 + cx->layout->g_sched_sp.off, &v, 8))
		v = 0;
	return v;
}

/* Below cgocallback come the frames the callback came from, on the M's
 * system stack: crosscall2, then C, whose RBP may hold anything.
 * cgocallback left that stack's SP in m.g0.sched.sp; it has no frame
 * record of its own, so the link into it, from the frame above, already
 * holds the system stack's BP. */
static void cgocallback_switch(struct walker *it, const struct frame *f, struct go_switch *sw)
{
	const struct go_m *m = it->m;
	struct fpi_regs at = it->regs, cont;
	char why[160];

	/* where the goroutine was before it called C, for SW_CONT */
	at.r[FPI_REG_SP] = frame_sp(it);
	it->cont_ok = at.r[FPI_REG_SP] &&
		      walk_cfa(it->cx, CFA_CFI_FIRST, &at, f->exact, &cont, NULL, why, sizeof(why)) == 0 &&
		      cont.r[FPI_REG_PC] && cont.r[FPI_REG_SP] > at.r[FPI_REG_SP] && cont.r[FPI_REG_SP] < it->hi;
	if (it->cont_ok) {
		it->cont = cont;
		it->cont_lo = it->lo, it->cont_hi = it->hi;
	}
	if (!m)
		return;
	sw->kind = SW_CGOCALLBACK;
	sw->regs = at;
	sw->regs.r[FPI_REG_SP] = g0_sched_sp(it->cx, m);
	sw->st = FR_G0;
	sw->lo = m->g0_lo, sw->hi = m->g0_hi + G0_HI_SLACK;
	sw->chain_fp = f->fp;
}

/* The vDSO's caller (nanotime1, walltime, time.now) moved SP to g0 but
 * kept its frame record on the stack it came from, the one vdsoSP is on;
 * its caller is at vdsoPC/vdsoSP, where the runtime's own SIGPROF
 * traceback starts. Seen from above a vDSO frame, or stopped in the
 * caller itself on g0. */
static void vdso_switch(struct walker *it, const struct frame *f, struct go_switch *sw)
{
	static const enum go_stack_kind order[3] = { GO_STACK_CURG, GO_STACK_G0, GO_STACK_GSIGNAL };
	const struct walk *w = it->w;
	const struct go_m *m = it->m;
	bool below = w->n >= 2 && in_vdso(it->cx, w->frames[w->n - 2].pc);

	if (!m || !m->vdsosp || in_vdso(it->cx, f->pc) ||
	    !((it->st != FR_GOROUTINE && below) || (f->exact && it->st == FR_G0)))
		return;
	if (vdso_calls_before(it->cx, w, w->n - 1) > (below ? 1 : 0)) {
		snprintf(it->w->end, sizeof(it->w->end), "%s", vdso_nested);
		sw->kind = SW_END;
		return;
	}
	if (!m_stack_holding(it->cx, m, order, m->vdsosp, &sw->lo, &sw->hi, &sw->st))
		return;
	sw->kind = SW_VDSO;
	sw->regs = it->regs;
	sw->regs.r[FPI_REG_PC] = m->vdsopc;
	sw->regs.r[FPI_REG_SP] = m->vdsosp;
	sw->exact = false;
	sw->chain_fp = f->fp;
}

/* Where the runtime went at the walk's last frame: one switch over the
 * kinds of function, as the runtime's own unwinder has. */
static void go_switch(struct walker *it, struct go_switch *sw)
{
	const struct frame *f = &it->w->frames[it->w->n - 1];

	/* per frame: only the kind; a switch fills the rest */
	sw->kind = SW_NONE;
	switch (f->rt) {
	case RT_GOEXIT:
	case RT_MSTART:
	case RT_RT0_GO:
		sw->kind = SW_END;
		return;
	case RT_SIGTRAMP:
	case RT_CGOSIGTRAMP:
	case RT_SIGRETURN:
		if (f->rt != RT_SIGRETURN || f->exact)
			signal_switch(it, f, f->rt == RT_SIGRETURN, sw);
		break;
	case RT_SYSTEMSTACK:
	case RT_MCALL:
	case RT_MORESTACK:
	case RT_ASMCGOCALL:
		/* their CFI holds only before they switch: on the goroutine's
		 * stack, not on the system stack they switched to */
		if (it->st != FR_GOROUTINE)
			goroutine_switch(it, f, sw);
		break;
	case RT_CGOCALLBACK:
		if (it->st == FR_GOROUTINE)
			cgocallback_switch(it, f, sw);
		break;
	default:
		vdso_switch(it, f, sw);
		break;
	}
	if (sw->kind != SW_NONE && sw->kind != SW_END && ++it->switches > WALK_MAX_SWITCHES) {
		snprintf(it->w->end, sizeof(it->w->end), "more than %d stack switches: not followed further",
			 WALK_MAX_SWITCHES);
		sw->kind = SW_END;
	}
}

/* ---- the iterator ---- */

void walk_new_segment(struct walker *it, size_t at)
{
	it->seg = at;
	it->seg_bp = it->w->frames[at].fp;
}

static void push(struct walker *it)
{
	struct walk *w = it->w;
	uint64_t pc = it->regs.r[FPI_REG_PC];
	int fn = rt_fn_of(it->cx, pc, !it->exact);
	struct frame *f = &w->frames[w->n++];

	*f = (struct frame){ pc, it->sp_known ? it->regs.r[FPI_REG_SP] : 0, it->regs.r[FPI_REG_FP],
			     frame_stack(it->cx, it->st, pc, !it->exact), it->exact, (signed char)fn };
	if (f->stack == FR_C)
		w->saw_c = true;
	if (fn == RT_CGOCALLBACK)
		w->saw_cgocallback = true;
	if (it->seg_next) {
		it->seg_next = false;
		walk_new_segment(it, w->n - 1);
	}
}

static void run(struct walker *it)
{
	struct walk *w = it->w;

	while (w->n < WALK_MAX_FRAMES) {
		struct go_switch sw;
		int r = 2;

		push(it);
		if (it->stop && it->stop(it->stop_arg, w))
			return;
		go_switch(it, &sw);
		if (sw.kind == SW_END)
			return;
		if (sw.kind == SW_SIGNAL && it->want_signal &&
		    (sw.regs.r[FPI_REG_SP] < it->lo || sw.regs.r[FPI_REG_SP] >= it->hi)) {
			it->sig_found = true;
			it->sig_regs = sw.regs;
			return;
		}
		if (sw.kind != SW_NONE)
			r = it->step->resume(it, &sw);
		if (r == 2)
			r = it->step->step(it);
		if (r == 1)
			return;
	}
	snprintf(w->end, sizeof(w->end),
		 "depth cap of %d frames reached: frame %d has a caller at pc 0x%" PRIx64 " not walked",
		 WALK_MAX_FRAMES, WALK_MAX_FRAMES - 1, it->regs.r[FPI_REG_PC]);
}

static void start(struct walker *it, struct walk_ctx *cx, struct walk *w, enum walk_unwinder uw,
		  const struct go_m *m, const struct fpi_regs *regs, bool exact, enum fr_stack st, uint64_t lo,
		  uint64_t hi)
{
	memset(it, 0, sizeof(*it));
	it->cx = cx;
	it->w = w;
	it->step = uw == UNWIND_DWARF ? &walk_step_cfa : uw == UNWIND_GO ? &walk_step_go : &walk_step_fp;
	it->m = m;
	it->regs = *regs;
	it->exact = exact;
	it->sp_known = true;
	it->from_regs = true;
	it->st = st, it->lo = lo, it->hi = hi;
	it->first_cfa_src = CFA_CFI_FIRST;
}

static void walk_init(struct walk *w, enum walk_unwinder uw, const struct go_m *m)
{
	memset(w, 0, offsetof(struct walk, frames));
	w->unwinder = uw;
	w->m = m;
}

/* A DWARF walk needs the modules' CFI, a go walk the Go function table. */
static bool walk_can(const struct walk_ctx *cx, enum walk_unwinder uw, struct walk *w)
{
	if (uw == UNWIND_DWARF && !cx->mods)
		snprintf(w->end, sizeof(w->end), "%s", cx->mods_err);
	else if (uw == UNWIND_GO && !cx->pcln)
		snprintf(w->end, sizeof(w->end), "%s", cx->pcln_err);
	else
		return true;
	return false;
}

/* What a thread in a signal handler was doing when the signal came: the
 * registers in the signal frame below runtime.sigtramp, found by walking
 * the signal stack's frame pointers (Go code all the way); a second signal
 * that came while the first's handler ran is looked through. */
static bool interrupted_regs(struct walk_ctx *cx, const struct go_thread *th, struct fpi_regs *out)
{
	const struct go_m *m = th->m >= 0 ? &cx->snap->ms[th->m] : NULL;
	struct walk *w;
	struct walker it;
	bool ok;

	if (!m || m->gsignal_lo >= m->gsignal_hi || !(w = malloc(sizeof(*w))))
		return false;
	walk_init(w, UNWIND_FP, m);
	start(&it, cx, w, UNWIND_FP, m, &th->regs, true, FR_GSIGNAL, m->gsignal_lo, m->gsignal_hi);
	it.want_signal = true;
	run(&it);
	ok = it.sig_found;
	if (ok)
		*out = it.sig_regs;
	free(w);
	return ok;
}

/* The registers of g when it runs now: its thread's when on g's stack, or,
 * when the thread is in a signal handler (a crash core), those the signal
 * interrupted when they were on g's stack. */
static bool goroutine_regs(struct walk_ctx *cx, const struct go_g *g, struct fpi_regs *out)
{
	const struct go_thread *th = go_g_status_is(cx->layout, g, "running") ? running_thread(cx, g) : NULL;

	if (th && th->stack == GO_STACK_CURG) {
		*out = th->regs;
		return true;
	}
	return th && th->stack == GO_STACK_GSIGNAL && interrupted_regs(cx, th, out) &&
	       out->r[FPI_REG_SP] >= g->stack_lo && out->r[FPI_REG_SP] < g->stack_hi;
}

void walk_goroutine(struct walk_ctx *cx, const struct go_g *g, enum walk_unwinder uw, struct walk *w)
{
	walk_goroutine_until(cx, g, uw, NULL, NULL, w);
}

void walk_goroutine_until(struct walk_ctx *cx, const struct go_g *g, enum walk_unwinder uw, walk_stop_fn stop,
			  void *arg, struct walk *w)
{
	struct fpi_regs r;
	/* exact registers when g runs now, else where it resumes */
	bool regs = goroutine_regs(cx, g, &r), exact;
	/* the M whose account of C frames the runtime would trust for g */
	const struct go_m *m = go_find_m_addr(cx->snap, g->lockedm);
	struct walker it;

	if (!m)
		m = go_find_m_addr(cx->snap, g->m);
	walk_init(w, uw, m);
	if (!walk_can(cx, uw, w))
		return;
	if (!regs)
		saved_start(cx, g, &r);
	if (!r.r[FPI_REG_PC] || !r.r[FPI_REG_SP]) {
		snprintf(w->end, sizeof(w->end), "no place to start: %s is 0", regs ? "the thread's pc or sp" :
			 go_g_status_is(cx->layout, g, "syscall") && g->syscallsp ? "syscallpc or syscallsp" :
			 "g.sched.pc or g.sched.sp");
		return;
	}
	/* A saved pc is a return address (looked up at pc-1), except at a
	 * function's entry: a goroutine that has not run yet (g.sched.pc =
	 * its function's entry), Go 1.19's systemstack_switch. Go's unwinder
	 * does the same (symPC: pc-1 only when pc > the function's entry). */
	exact = regs || func_entry(cx, r.r[FPI_REG_PC]);
	start(&it, cx, w, uw, m, &r, exact, FR_GOROUTINE, g->stack_lo, g->stack_hi);
	it.stop = stop, it.stop_arg = arg;
	if (stop)
		it.first_cfa_src = CFA_PCLN_FIRST;
	run(&it);
}

void walk_thread(struct walk_ctx *cx, const struct go_thread *th, enum walk_unwinder uw, struct walk *w)
{
	uint64_t lo = 0, hi = 0;
	enum fr_stack kind;
	const struct go_m *m = th->m >= 0 ? &cx->snap->ms[th->m] : NULL;
	uint64_t sp = th->regs.r[FPI_REG_SP];
	struct walker it;

	walk_init(w, uw, m);
	if (!walk_can(cx, uw, w))
		return;
	if (!thread_stack_bounds(cx->snap, th, &lo, &hi, &kind)) {
		/* unknown stack (a C thread, or bounds not yet set): allow 8 MiB up */
		lo = sp;
		hi = sp + (8u << 20);
		kind = FR_OTHER;
	}
	start(&it, cx, w, uw, m, &th->regs, true, kind, lo, hi);
	run(&it);
}
