/* Unwinding on owned stacks. The frame-pointer walker and the CFI stepper
 * know stacks; this file knows Go's scheduler: where a goroutine's walk
 * starts, where a thread's walk leaves the system stack for its goroutine
 * (systemstack, mcall, morestack, asmcgocall, as the runtime's own unwinder
 * does), where a goroutine's walk leaves for C (cgocallback), and which
 * frames are the top of a stack (goexit, mstart, rt0_go). */
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "jsonw.h"
#include "stacks.h"


enum rt_fn {
	RT_GOEXIT, RT_MSTART, RT_RT0_GO, RT_SYSTEMSTACK, RT_MCALL, RT_MORESTACK, RT_ASMCGOCALL,
	RT_CGOCALLBACK, RT_SIGTRAMP, RT_CROSSCALL2, RT_SIGPANIC, RT_ASYNCPREEMPT, RT_CGOSIGTRAMP, RT_SIGRETURN,
	RT_NFUNCS
};

static const char *const rt_names[RT_NFUNCS] = {
	"runtime.goexit", "runtime.mstart", "runtime.rt0_go", "runtime.systemstack", "runtime.mcall",
	"runtime.morestack", "runtime.asmcgocall", "runtime.cgocallback", "runtime.sigtramp", "crosscall2",
	"runtime.sigpanic", "runtime.asyncPreempt", "runtime.cgoSigtramp", "runtime.sigreturn__sigaction",
};
/* Older names: Go 1.19's restorer is runtime.sigreturn */
static const char *const rt_old_names[RT_NFUNCS] = { [RT_SIGRETURN] = "runtime.sigreturn" };

/* Calls the signal handler injects (Go's traceback: injectedCall): the pc
 * above is where the signal came, not a return address, and the function
 * there may have no frame record yet (a prologue, a frameless leaf). */
static bool injected(int fn)
{
	return fn == RT_SIGPANIC || fn == RT_ASYNCPREEMPT;
}

/* The top of a stack: the runtime's unwinder stops there. */
static bool top_frame(int fn)
{
	return fn == RT_GOEXIT || fn == RT_MSTART || fn == RT_RT0_GO;
}

/* Where a walk on a system stack goes on with the goroutine it runs for
 * (traceback.go's unwinder: systemstack, mcall, morestack, asmcgocall). */
static bool switch_frame(int fn)
{
	return fn == RT_SYSTEMSTACK || fn == RT_MCALL || fn == RT_MORESTACK || fn == RT_ASMCGOCALL;
}

struct rt_ranges {
	uint64_t start[RT_NFUNCS], end[RT_NFUNCS];
};

static struct rt_ranges *rt_ranges(struct fpi_session *s)
{
	struct fpi_modules *mods;
	struct fpi_error *err;

	if (s->rt)
		return s->rt;
	s->rt = calloc(1, sizeof(*s->rt));
	if (!s->rt)
		return NULL;
	err = session_modules(s, &mods);
	if (err) {
		fpi_error_destroy(err);
		return s->rt;
	}
	for (int i = 0; i < RT_NFUNCS; i++) {
		char abi0[64];
		uint64_t size = 0, a;

		/* assembly functions are ABI0; from Go 1.21 or so their ELF symbol
		 * carries the suffix, and the plain name may be an ABIInternal
		 * wrapper that is a different function */
		snprintf(abi0, sizeof(abi0), "%s.abi0", rt_names[i]);
		a = fpi_modules_lookup(mods, abi0, &size);
		if (!a)
			a = fpi_modules_lookup(mods, rt_names[i], &size);
		if (!a && rt_old_names[i]) {
			snprintf(abi0, sizeof(abi0), "%s.abi0", rt_old_names[i]);
			a = fpi_modules_lookup(mods, abi0, &size);
			if (!a)
				a = fpi_modules_lookup(mods, rt_old_names[i], &size);
		}

		s->rt->start[i] = a;
		s->rt->end[i] = a + (size ? size : 1);
	}
	return s->rt;
}

/* Which runtime function pc is in (a return address: pc-1 is the call). */
static int rt_fn_of(struct fpi_session *s, uint64_t pc, bool retaddr)
{
	struct rt_ranges *r = rt_ranges(s);
	uint64_t p = retaddr && pc ? pc - 1 : pc;

	if (!r)
		return -1;
	for (int i = 0; i < RT_NFUNCS; i++)
		if (r->start[i] && p >= r->start[i] && p < r->end[i])
			return i;
	return -1;
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

bool goroutine_not_owned(struct fpi_session *s, const struct go_g *g, const char **why)
{
	if ((*why = go_g_garbage(s->layout, g)))
		return true;
	if (s->layout->gscan && (g->status & s->layout->gscan)) {
		*why = "the _Gscan bit is held: the GC (or a stack scan) owns this stack right now";
		return true;
	}
	if (go_g_status_is(s->layout, g, "copystack")) {
		*why = "_Gcopystack: the stack is being moved";
		return true;
	}
	return false;
}

/* The thread that runs g on its own stack right now, if any. */
static const struct go_thread *running_thread(struct fpi_session *s, const struct go_g *g)
{
	const struct go_m *m = g->m ? go_find_m_addr(s->snap, g->m) : NULL;

	if (!m || m->thread < 0 || m->curg != g->addr)
		return NULL;
	return &s->snap->threads[m->thread];
}

/* Before Go 1.23 entersyscall saved no BP (save() set only pc and sp), so a
 * goroutine in a syscall has no recorded frame pointer. Every Go frame keeps
 * its caller's BP at CFA-16 once its prologue ran, so CFI gives it back. */
static uint64_t derive_bp(struct fpi_session *s, uint64_t pc, uint64_t sp)
{
	struct fpi_modules *mods;
	struct fpi_regs r, next;
	struct fpi_error *err = session_modules(s, &mods);
	char why[160];

	if (err) {
		fpi_error_destroy(err);
		return 0;
	}
	memset(&r, 0, sizeof(r));
	r.r[FPI_REG_RIP] = pc;
	r.r[FPI_REG_RSP] = sp;
	if (fpi_cfi_step(mods, &s->mem, &r, false, &next, why, sizeof(why)) != 0 ||
	    next.r[FPI_REG_RSP] < sp + 16)
		return 0;
	return next.r[FPI_REG_RSP] - 16;
}

static void syscall_start(struct fpi_session *s, const struct go_g *g, uint64_t *pc, uint64_t *sp, uint64_t *bp)
{
	*pc = g->syscallpc;
	*sp = g->syscallsp;
	*bp = go_has(s->layout->g_syscallbp) ? g->syscallbp : derive_bp(s, g->syscallpc, g->syscallsp);
}

/* Where a goroutine that is not running on its own stack resumes: the
 * syscall registers in a syscall or cgo call, g.sched otherwise. */
static void saved_start(struct fpi_session *s, const struct go_g *g, uint64_t *pc, uint64_t *sp, uint64_t *bp)
{
	const struct go_m *m = g->m ? go_find_m_addr(s->snap, g->m) : NULL;

	if (m && m->curg == g->addr && m->vdsosp >= g->stack_lo && m->vdsosp < g->stack_hi) {
		/* in a vDSO call (nanotime1, walltime, time.now moved to g0
		 * without saving g.sched): the call's caller, as the runtime's
		 * SIGPROF traceback starts from m.vdsoPC/vdsoSP */
		*pc = m->vdsopc;
		*sp = m->vdsosp;
		*bp = derive_bp(s, m->vdsopc, m->vdsosp);
	} else if (go_g_status_is(s->layout, g, "syscall") && g->syscallsp) {
		syscall_start(s, g, pc, sp, bp);
	} else {
		*pc = g->sched_pc;
		*sp = g->sched_sp;
		*bp = g->sched_bp;
	}
}

static bool interrupted_regs(struct fpi_session *s, const struct go_thread *th, struct fpi_regs *out);

/* The registers of g when it runs now: its thread's when on g's stack, or,
 * when the thread is in a signal handler (a crash core), those the signal
 * interrupted when they were on g's stack. */
static bool goroutine_regs(struct fpi_session *s, const struct go_g *g, struct fpi_regs *out)
{
	const struct go_thread *th = go_g_status_is(s->layout, g, "running") ? running_thread(s, g) : NULL;

	if (th && th->stack == GO_STACK_CURG) {
		*out = th->regs;
		return true;
	}
	return th && th->stack == GO_STACK_GSIGNAL && interrupted_regs(s, th, out) &&
	       out->r[FPI_REG_RSP] >= g->stack_lo && out->r[FPI_REG_RSP] < g->stack_hi;
}

/* The bounds of one of m's stacks. */
static bool m_stack_bounds(struct fpi_session *s, const struct go_m *m, enum go_stack_kind which, uint64_t *lo,
			   uint64_t *hi, enum fr_stack *kind)
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
		cg = m->curg ? go_find_g_addr(s->snap, m->curg) : NULL;
		if (!cg)
			return false;
		*lo = cg->stack_lo, *hi = cg->stack_hi, *kind = FR_GOROUTINE;
		return true;
	default:
		return false;
	}
}

bool thread_stack_bounds(struct fpi_session *s, const struct go_thread *th, uint64_t *lo, uint64_t *hi,
			 enum fr_stack *kind)
{
	const struct go_m *m = th->m >= 0 ? &s->snap->ms[th->m] : NULL;

	*kind = FR_OTHER;
	return m && m_stack_bounds(s, m, th->stack, lo, hi, kind);
}

/* The vDSO is entered from Go (nanotime1, walltime, time.now) on the g0
 * stack with m.vdsoSP set: no M field counts it, and it is not C in the cgo
 * sense (it never calls back, and the runtime's own profiler walks from
 * vdsoPC/vdsoSP around it). */
static bool in_vdso(struct fpi_session *s, uint64_t pc)
{
	const struct fpi_target *t = s->target;

	return t->vdso_image && pc >= t->vdso && pc - t->vdso < t->vdso_len;
}

/* m.vdsoPC/vdsoSP describe the innermost vDSO call only: a signal that
 * came during one may make its own (sigprof calls nanotime), which saves
 * and restores them on its stack. So they serve the first vDSO call a walk
 * meets, and a call below a later one ends it. This counts the vDSO calls
 * among frames [0, n). */
static int vdso_calls_before(struct fpi_session *s, const struct walk *w, size_t n)
{
	int k = 0;

	for (size_t i = 0; i < n && i < w->n; i++)
		k += in_vdso(s, w->frames[i].pc) && (i == 0 || !in_vdso(s, w->frames[i - 1].pc));
	return k;
}

static const char vdso_nested[] = "below a signal that came during a vDSO call: m.vdsoPC/vdsoSP are the handler's "
				  "own call's, the interrupted call's caller is not recorded";

static bool func_entry(struct fpi_session *s, uint64_t pc)
{
	struct fpi_modules *mods;
	const struct fpi_symbol *sym;
	struct fpi_error *err = session_modules(s, &mods);

	if (err) {
		fpi_error_destroy(err);
		return false;
	}
	sym = fpi_symbolize(mods, pc);
	return sym && sym->function && sym->func_start == pc;
}

static bool is_c_frame(struct fpi_session *s, uint64_t pc, bool retaddr)
{
	struct fpi_modules *mods;
	const struct fpi_symbol *sym;
	struct fpi_error *err;

	if (in_vdso(s, pc))
		return false;
	err = session_modules(s, &mods);
	if (err) {
		fpi_error_destroy(err);
		return false;
	}
	sym = fpi_symbolize(mods, retaddr ? pc - 1 : pc);
	/* Go code is in a Go compile unit, assembly too (indexbytebody and
	 * memeqbody are file-local symbols without a package); without DWARF,
	 * Go functions are the package-qualified ones (pkg.Func) */
	return !sym || !sym->function || (!sym->go && !strchr(sym->function, '.'));
}

/* Linux amd64 signal delivery: the kernel enters the handler (Go's
 * runtime.sigtramp, also through cgoSigtramp's jump) with RSP at
 * rt_sigframe.pretcode, so the handler's CFA is the ucontext that follows.
 * Its uc_mcontext starts 40 bytes in (after uc_flags, uc_link, uc_stack),
 * the general registers in sigcontext order. */
static bool signal_context(struct fpi_session *s, uint64_t cfa, struct fpi_regs *out)
{
	static const int order[] = { FPI_REG_R8, FPI_REG_R9, FPI_REG_R10, FPI_REG_R11, FPI_REG_R12, FPI_REG_R13,
				     FPI_REG_R14, FPI_REG_R15, FPI_REG_RDI, FPI_REG_RSI, FPI_REG_RBP, FPI_REG_RBX,
				     FPI_REG_RDX, FPI_REG_RAX, FPI_REG_RCX, FPI_REG_RSP, FPI_REG_RIP };
	uint64_t g[17];

	if (!cfa || !s->mem.read(s->mem.arg, cfa + 40, g, sizeof(g)))
		return false;
	memset(out, 0, sizeof(*out));
	for (size_t k = 0; k < 17; k++)
		out->r[order[k]] = g[k];
	return out->r[FPI_REG_RIP] && out->r[FPI_REG_RSP] && !(out->r[FPI_REG_RSP] & 7);
}

/* Which stack of m the interrupted SP is on: its g0's, its signal stack
 * (a signal that arrived while the handler of another ran), its curg's, or
 * one we know nothing of (8 MiB allowed upwards). */
static void stack_of_sp(struct fpi_session *s, const struct go_m *m, uint64_t sp, uint64_t *lo, uint64_t *hi,
			enum fr_stack *kind)
{
	static const enum go_stack_kind order[] = { GO_STACK_G0, GO_STACK_GSIGNAL, GO_STACK_CURG };

	for (size_t k = 0; m && k < sizeof(order) / sizeof(order[0]); k++)
		if (m_stack_bounds(s, m, order[k], lo, hi, kind) && sp >= *lo && sp < *hi)
			return;
	*lo = sp, *hi = sp + (8u << 20), *kind = FR_OTHER;
}

/* The stack a frame is shown on: C code on a system stack is "C". */
static enum fr_stack frame_stack(struct fpi_session *s, enum fr_stack st, uint64_t pc, bool retaddr)
{
	return st != FR_GOROUTINE && is_c_frame(s, pc, retaddr) ? FR_C : st;
}

static void push(struct walk *w, uint64_t pc, uint64_t sp, uint64_t fp, enum fr_stack st, bool exact)
{
	if (w->n < WALK_MAX_FRAMES)
		w->frames[w->n++] = (struct frame){ pc, sp, fp, st, exact };
}

static int fp_from_registers(struct fpi_session *s, struct walk *w, const struct fpi_regs *regs, bool exact,
			     uint64_t lo, uint64_t hi, enum fr_stack st);
static int cfi_step_cached(struct fpi_session *s, struct fpi_modules *mods, const struct fpi_regs *regs,
			   bool first, struct fpi_regs *next, bool *signal, char *why, size_t whylen);

/* The stack that holds sp among m's (g0, gsignal, curg); false: none. */
static bool m_stack_holding(struct fpi_session *s, const struct go_m *m, uint64_t sp, uint64_t *lo, uint64_t *hi,
			    enum fr_stack *kind)
{
	static const enum go_stack_kind order[] = { GO_STACK_CURG, GO_STACK_G0, GO_STACK_GSIGNAL };

	for (size_t k = 0; m && k < sizeof(order) / sizeof(order[0]); k++)
		if (m_stack_bounds(s, m, order[k], lo, hi, kind) && sp >= *lo && sp < *hi)
			return true;
	return false;
}

/* Frame-pointer segment on one stack. Stops early (without a finding) at a
 * frame where the runtime's unwinder would switch stacks or stop. Returns the
 * index of the switch frame's function (RT_*) or -1. */
static int fp_segment(struct fpi_session *s, struct walk *w, uint64_t pc, uint64_t sp, uint64_t bp,
		      uint64_t lo, uint64_t hi, enum fr_stack st, bool first_is_regs)
{
	struct fpi_fp_frame fr[WALK_MAX_FRAMES];
	struct fpi_fp_result res;
	size_t base = w->n, room = WALK_MAX_FRAMES - w->n;

	if (room == 0)
		return -1;
	fpi_fp_walk(&s->mem, pc, bp, lo, hi, room, fr, &res);
	for (size_t i = 0; i < res.nframes; i++) {
		int fn = rt_fn_of(s, fr[i].pc, i > 0 || !first_is_regs);

		push(w, fr[i].pc, i == 0 ? sp : 0, fr[i].fp,
		     frame_stack(s, st, fr[i].pc, i > 0 || !first_is_regs),
		     i == 0 && first_is_regs);
		if (fn == RT_CGOCALLBACK)
			w->saw_cgocallback = true;
		if (top_frame(fn))
			return fn;
		if (w->m && w->m->vdsosp && st != FR_GOROUTINE && w->n >= 2 && in_vdso(s, w->frames[w->n - 2].pc) &&
		    !in_vdso(s, fr[i].pc) && i + 1 == res.nframes && res.stop == FPI_FP_OUT_OF_BOUNDS &&
		    res.bad_value == fr[i].fp) {
			/* The vDSO's caller (nanotime1, walltime, time.now) moved SP
			 * to g0 but kept its frame record on the stack it came
			 * from, the one vdsoSP is on: the chain goes on there. */
			uint64_t vlo, vhi;
			enum fr_stack vk;

			if (vdso_calls_before(s, w, w->n - 1) > 1) {
				snprintf(w->end, sizeof(w->end), "%s", vdso_nested);
				return -1;
			}
			if (m_stack_holding(s, w->m, w->m->vdsosp, &vlo, &vhi, &vk) && fr[i].fp >= vlo && fr[i].fp < vhi) {
				w->n--;
				return fp_segment(s, w, fr[i].pc, 0, fr[i].fp, vlo, vhi, vk, false);
			}
		}
		if (injected(fn) && i + 1 < res.nframes && w->nsigpanic++ < 4) {
			/* A fault made the signal handler push the faulting pc and
			 * make the goroutine call sigpanic: the pc above is where the
			 * fault was, not a return address, and the faulting function
			 * may not have its frame record yet (a leaf, a prologue).
			 * Go on as from registers: SP is sigpanic's CFA. */
			struct fpi_regs r;

			memset(&r, 0, sizeof(r));
			r.r[FPI_REG_RIP] = fr[i + 1].pc;
			r.r[FPI_REG_RSP] = fr[i].fp + 16;
			r.r[FPI_REG_RBP] = fr[i + 1].fp;
			return fp_from_registers(s, w, &r, true, lo, hi, st);
		}
		if (fn == RT_SIGTRAMP) {
			/* the signal stack's top: below is the kernel's signal frame
			 * (sigtramp's frame record is 16 below its CFA), then the
			 * interrupted code, on another stack: the caller goes on */
			w->sig_ok = signal_context(s, fr[i].fp + 16, &w->sig_regs);
			if (!w->sig_ok)
				snprintf(w->end, sizeof(w->end), "sigtramp: cannot read the signal frame at 0x%" PRIx64,
					 fr[i].fp + 16);
			return fn;
		}
		if (st != FR_GOROUTINE &&
		    switch_frame(fn))
			return fn;
		if (st == FR_GOROUTINE && fn == RT_CGOCALLBACK) {
			/* Below cgocallback come the frames the callback came from, on
			 * the M's system stack: crosscall2, then C, whose RBP may hold
			 * anything. cgocallback's saved BP leads there: follow it as a
			 * stack switch, and judge what comes after on that stack. */
			const struct go_m *m = w->m;
			struct fpi_modules *mods;
			struct fpi_error *merr = session_modules(s, &mods);
			struct fpi_regs at, cont;

			w->saw_cgocallback = true;
			/* cgocallback's SP is the CFA of the frame above it */
			memset(&at, 0, sizeof(at));
			at.r[FPI_REG_RIP] = fr[i].pc;
			at.r[FPI_REG_RSP] = i > 0 ? fr[i - 1].fp + 16 : sp;
			w->cont_ok = !merr && at.r[FPI_REG_RSP] &&
				     cfi_step_cached(s, mods, &at, false, &cont, NULL, w->end, sizeof(w->end)) == 0 &&
				     cont.r[FPI_REG_RIP] && cont.r[FPI_REG_RSP] > at.r[FPI_REG_RSP] &&
				     cont.r[FPI_REG_RSP] < hi;
			w->end[0] = '\0';
			fpi_error_destroy(merr);
			if (w->cont_ok)
				w->cont = cont;
			/* cgocallback has no frame record of its own: the link into it,
			 * from the frame above, already holds the system stack's BP */
			if (m && res.stop == FPI_FP_OUT_OF_BOUNDS && res.bad_frame + 1 == i && i + 1 == res.nframes &&
			    res.bad_value >= m->g0_lo && res.bad_value < m->g0_hi + G0_HI_SLACK && m->g0_lo < m->g0_hi) {
				int r;

				w->n--;
				r = fp_segment(s, w, fr[i].pc, 0, res.bad_value, m->g0_lo, m->g0_hi + G0_HI_SLACK,
					       FR_G0, false);
				if (base + i < w->n)
					w->frames[base + i].stack = FR_GOROUTINE;
				if (r == RT_ASMCGOCALL && w->cont_ok && w->n > 0) {
					/* nested cgo: the C part came from an earlier cgocall
					 * of this goroutine, whose frame record the asmcgocall
					 * frame's link points at */
					struct fpi_regs c = w->cont;

					w->cont_ok = false;
					c.r[FPI_REG_RBP] = w->frames[w->n - 1].fp;
					return fp_from_registers(s, w, &c, func_entry(s, c.r[FPI_REG_RIP]), lo, hi, FR_GOROUTINE);
				}
				return r;
			}
			if (res.stop != FPI_FP_END && res.bad_frame + 1 >= i) {
				w->fp_broken = true;
				w->fp_bad = res;
				w->fp_bad_base = base;
				w->seg_lo = lo, w->seg_hi = hi, w->seg_stack = st;
				snprintf(w->end, sizeof(w->end), "%s", res.why);
			}
			return fn;
		}
	}
	if (res.stop != FPI_FP_END && !w->fp_broken) {
		w->fp_broken = true;
		w->fp_bad = res;
		w->fp_bad_base = base;
		w->seg_lo = lo, w->seg_hi = hi, w->seg_stack = st;
		snprintf(w->end, sizeof(w->end), "%s", res.why);
	}
	return -1;
}

/* The first frame of a walk (a thread's registers, a goroutine's g.sched
 * or syscall registers) may be in a function that has no frame record at
 * this pc: a frameless leaf (runtime.futex, the vDSO), a prologue (a
 * goroutine preempted at its morestack call, a fresh goroutine at its
 * entry), an epilogue. RBP then still points at the caller's record, and a
 * plain FP walk would skip the caller. Every frame record on amd64 sits at
 * CFA-16, so CFI says which case this is: RBP == CFA-16 or not. The
 * runtime never meets this (it walks from its own frame, or from a
 * synchronous safe point), so it is no finding. The entry of the signal
 * handler (runtime.sigtramp before its prologue) and a CFI signal frame
 * (the kernel's restorer, __restore_rt) hand over the interrupted
 * registers, as a sigtramp frame record does. */
static int fp_from_registers(struct fpi_session *s, struct walk *w, const struct fpi_regs *regs, bool exact,
			     uint64_t lo, uint64_t hi, enum fr_stack st)
{
	struct fpi_modules *mods;
	struct fpi_regs next;
	struct fpi_error *err = session_modules(s, &mods);
	uint64_t pc = regs->r[FPI_REG_RIP], sp = regs->r[FPI_REG_RSP], bp = regs->r[FPI_REG_RBP], cfa;
	char why[160];
	bool signal = false;
	int fn = rt_fn_of(s, pc, !exact);
	uint64_t vlo, vhi;
	enum fr_stack vk;

	/* In the vDSO's caller on g0 (stopped there, before or after the call,
	 * or just above a frameless vDSO function): vdsoSP is set only then,
	 * and SP was moved without CFI knowing; its frame record is on the
	 * stack it came from */
	if (!err && w->m && w->m->vdsosp && st == FR_G0 && !in_vdso(s, pc) &&
	    (exact || (w->n > 0 && in_vdso(s, w->frames[w->n - 1].pc)))) {
		bool below = w->n > 0 && in_vdso(s, w->frames[w->n - 1].pc);

		if (vdso_calls_before(s, w, w->n) > (below ? 1 : 0)) {
			push(w, pc, sp, bp, st, exact);
			snprintf(w->end, sizeof(w->end), "%s", vdso_nested);
			return -1;
		}
		if (m_stack_holding(s, w->m, w->m->vdsosp, &vlo, &vhi, &vk) && bp >= vlo && bp < vhi)
			return fp_segment(s, w, pc, sp, bp, vlo, vhi, vk, true);
	}
	/* the switch functions' CFI holds only before they switch: on the
	 * goroutine's stack, not on the system stack they switched to */
	if (err || top_frame(fn) || (st != FR_GOROUTINE && switch_frame(fn)) ||
	    cfi_step_cached(s, mods, regs, exact, &next, &signal, why, sizeof(why)) != 0) {
		fpi_error_destroy(err);
		return fp_segment(s, w, pc, sp, bp, lo, hi, st, exact);
	}
	cfa = next.r[FPI_REG_RSP];
	if (fn == RT_SIGRETURN && exact) {
		/* in Go's restorer (sigtramp has returned, rt_sigreturn not yet
		 * made): SP is at the ucontext */
		push(w, pc, sp, bp, st, exact);
		w->sig_ok = signal_context(s, sp, &w->sig_regs);
		if (!w->sig_ok)
			snprintf(w->end, sizeof(w->end), "signal frame: cannot read the interrupted registers at 0x%" PRIx64,
				 sp);
		return RT_SIGTRAMP;
	}
	if (signal || ((fn == RT_SIGTRAMP || fn == RT_CGOSIGTRAMP) && bp != cfa - 16)) {
		push(w, pc, sp, bp, frame_stack(s, st, pc, !exact), exact);
		w->sig_ok = signal ? next.r[FPI_REG_RIP] && next.r[FPI_REG_RSP] : signal_context(s, cfa, &w->sig_regs);
		if (signal)
			w->sig_regs = next;
		if (!w->sig_ok)
			snprintf(w->end, sizeof(w->end), "signal frame: cannot read the interrupted registers at 0x%" PRIx64,
				 cfa);
		return RT_SIGTRAMP;
	}
	if (bp && bp == sp - 16 && cfa - 16 > sp) {
		/* Go's duffzero/duffcopy call sequence builds the callee a frame
		 * record just below SP (MOVQ BP, -16(SP); LEAQ -16(SP), BP) and
		 * restores BP after the call: stopped between, RBP is that
		 * record, whose return slot is not written yet. The function's
		 * own record, at CFA-16, is the chain. */
		return fp_segment(s, w, pc, sp, cfa - 16, lo, hi, st, exact);
	}
	if (bp != cfa - 16 && next.r[FPI_REG_RIP] && cfa > sp) {
		push(w, pc, sp, bp, frame_stack(s, st, pc, !exact), exact);
		if (injected(fn) && w->nsigpanic++ < 4) {
			/* at the entry of an injected call: its caller was
			 * interrupted anywhere, as if from registers */
			next.r[FPI_REG_RBP] = bp;
			return fp_from_registers(s, w, &next, true, lo, hi, st);
		}
		if (w->nframeless++ < 4) {
			/* the caller may be in its prologue too (a call to
			 * morestack or asmcgocall made before its BP push) */
			next.r[FPI_REG_RBP] = bp;
			return fp_from_registers(s, w, &next, false, lo, hi, st);
		}
		return fp_segment(s, w, next.r[FPI_REG_RIP], cfa, bp, lo, hi, st, false);
	}
	return fp_segment(s, w, pc, sp, bp, lo, hi, st, exact);
}

/* What a thread in a signal handler was doing when the signal came: the
 * registers in the signal frame below runtime.sigtramp, found by walking
 * the signal stack's frame pointers (Go code all the way); a second signal
 * that came while the first's handler ran is looked through. */
static bool interrupted_regs(struct fpi_session *s, const struct go_thread *th, struct fpi_regs *out)
{
	const struct go_m *m = th->m >= 0 ? &s->snap->ms[th->m] : NULL;
	struct walk *w = malloc(sizeof(*w));
	struct fpi_regs regs = th->regs;
	bool ok = false;

	for (int k = 0; w && m && m->gsignal_lo < m->gsignal_hi && k < 2; k++) {
		memset(w, 0, offsetof(struct walk, frames));
		w->m = m;
		if (fp_from_registers(s, w, &regs, true, m->gsignal_lo, m->gsignal_hi, FR_GSIGNAL) != RT_SIGTRAMP ||
		    !w->sig_ok)
			break;
		regs = w->sig_regs;
		if (regs.r[FPI_REG_RSP] < m->gsignal_lo || regs.r[FPI_REG_RSP] >= m->gsignal_hi) {
			*out = regs;
			ok = true;
			break;
		}
	}
	free(w);
	return ok;
}

/* The goroutine to switch to from a thread's system stack; NULL when there
 * is none, or when its stack is not walkable now (newstack copying it, the
 * GC holding its scan bit: its gobuf and frames may be half moved), which
 * w->end then says. */
static const struct go_g *switch_target(struct fpi_session *s, struct walk *w, const struct go_m *m)
{
	const struct go_g *g = m && m->curg ? go_find_g_addr(s->snap, m->curg) : NULL;
	const char *why;

	if (g && goroutine_not_owned(s, g, &why)) {
		snprintf(w->end, sizeof(w->end), "goroutine %" PRIu64 " not walked: %s", g->goid, why);
		return NULL;
	}
	if (g && go_g_is_dead(s->layout, g)) {
		/* goexit0 on g0 with m.curg not yet dropped: the stack is
		 * being given back, and nobody copies a dead goroutine's */
		snprintf(w->end, sizeof(w->end), "goroutine %" PRIu64 " is dead (goexit0): not walked", g->goid);
		return NULL;
	}
	return g;
}

/* ---- DWARF ---- */

static uint64_t g0_sched_sp(struct fpi_session *s, const struct go_m *m)
{
	uint64_t v = 0;

	if (m && m->g0 && !s->mem.read(s->mem.arg, m->g0 + s->layout->g_sched_sp.off, &v, 8))
		v = 0;
	return v;
}

/* Go frames unwind by one rule per pc: CFA = RSP + k, the return address at
 * CFA-8, nothing else restored (Go's .debug_frame has no register rules).
 * Walking 100k goroutines meets a few thousand distinct pcs, so the rule is
 * cached per pc; anything else (C, signal frames, register rules) takes the
 * full libdw step every time. */
struct cfi_cache_entry {
	uint64_t key;   /* pc << 1 | is_first_frame; 0: empty */
	int64_t delta;  /* CFA - RSP */
};

#define CFI_CACHE_SIZE 65536

struct cfi_cache {
	struct cfi_cache_entry e[CFI_CACHE_SIZE];
};

static int cfi_step_cached(struct fpi_session *s, struct fpi_modules *mods, const struct fpi_regs *regs,
			   bool first, struct fpi_regs *next, bool *signal, char *why, size_t whylen)
{
	uint64_t key = regs->r[FPI_REG_RIP] << 1 | first, h = (key * 0x9E3779B97F4A7C15ull) >> 48;
	struct fpi_cfi_info info;
	int r;

	if (signal)
		*signal = false;
	if (!s->cfi_cache)
		s->cfi_cache = calloc(1, sizeof(struct cfi_cache));
	if (s->cfi_cache) {
		for (uint64_t i = h, n = 0; n < 8; i = (i + 1) % CFI_CACHE_SIZE, n++) {
			const struct cfi_cache_entry *e = &s->cfi_cache->e[i];

			if (e->key == 0)
				break;
			if (e->key != key)
				continue;
			*next = *regs;
			next->r[FPI_REG_RSP] = regs->r[FPI_REG_RSP] + e->delta;
			if (!s->mem.read(s->mem.arg, next->r[FPI_REG_RSP] - 8, &next->r[FPI_REG_RIP], 8)) {
				snprintf(why, whylen, "cannot read the return address at 0x%" PRIx64,
					 next->r[FPI_REG_RSP] - 8);
				return -1;
			}
			return next->r[FPI_REG_RIP] ? 0 : 1;
		}
	}
	r = fpi_cfi_step_info(mods, &s->mem, regs, first, next, &info, why, whylen);
	if (signal)
		*signal = r == 0 && info.signal_frame;
	if (r == 0 && s->cfi_cache && info.debug_frame && !info.signal_frame && !info.rbp_from_rule &&
	    next->r[FPI_REG_RSP] > regs->r[FPI_REG_RSP] && next->r[FPI_REG_RSP] - regs->r[FPI_REG_RSP] < (1u << 30) &&
	    next->r[FPI_REG_RBX] == regs->r[FPI_REG_RBX] && next->r[FPI_REG_RBP] == regs->r[FPI_REG_RBP] &&
	    next->r[FPI_REG_R12] == regs->r[FPI_REG_R12] && next->r[FPI_REG_R13] == regs->r[FPI_REG_R13] &&
	    next->r[FPI_REG_R14] == regs->r[FPI_REG_R14] && next->r[FPI_REG_R15] == regs->r[FPI_REG_R15]) {
		uint64_t ra;

		if (s->mem.read(s->mem.arg, next->r[FPI_REG_RSP] - 8, &ra, 8) && ra == next->r[FPI_REG_RIP]) {
			for (uint64_t i = h, n = 0; n < 8; i = (i + 1) % CFI_CACHE_SIZE, n++) {
				struct cfi_cache_entry *e = &s->cfi_cache->e[i];

				if (e->key == 0) {
					e->key = key;
					e->delta = next->r[FPI_REG_RSP] - regs->r[FPI_REG_RSP];
					break;
				}
			}
		}
	}
	return r;
}

static void dwarf_walk(struct fpi_session *s, struct walk *w, struct fpi_regs regs, bool first_is_regs,
		       enum fr_stack st, uint64_t lo, uint64_t hi, const struct go_m *m)
{
	struct fpi_modules *mods;
	struct fpi_error *err = session_modules(s, &mods);
	bool first = first_is_regs, signal = false;
	int switches = 0;

	if (err) {
		snprintf(w->end, sizeof(w->end), "%s", err->message);
		fpi_error_destroy(err);
		return;
	}
	while (w->n < WALK_MAX_FRAMES) {
		uint64_t pc = regs.r[FPI_REG_RIP], sp = regs.r[FPI_REG_RSP];
		int fn = rt_fn_of(s, pc, !first);
		enum fr_stack fst = frame_stack(s, st, pc, !first);
		struct fpi_regs next;
		char why[160] = "";
		int r;

		if (fst == FR_C)
			w->saw_c = true;
		push(w, pc, sp, regs.r[FPI_REG_RBP], fst, first);
		if (top_frame(fn))
			return;
		if (m && m->vdsosp && !in_vdso(s, pc) && switches < 4 &&
		    ((st != FR_GOROUTINE && w->n >= 2 && in_vdso(s, w->frames[w->n - 2].pc)) || (first && st == FR_G0))) {
			/* the vDSO's caller moved SP to g0 (its CFI no longer holds):
			 * its caller is at vdsoPC/vdsoSP, where the runtime's own
			 * SIGPROF traceback starts */
			uint64_t vlo, vhi;
			bool below = w->n >= 2 && in_vdso(s, w->frames[w->n - 2].pc);

			if (vdso_calls_before(s, w, w->n - 1) > (below ? 1 : 0)) {
				snprintf(w->end, sizeof(w->end), "%s", vdso_nested);
				return;
			}
			if (m_stack_holding(s, m, m->vdsosp, &vlo, &vhi, &st)) {
				regs.r[FPI_REG_RIP] = m->vdsopc;
				regs.r[FPI_REG_RSP] = m->vdsosp;
				lo = vlo, hi = vhi;
				first = false;
				switches++;
				continue;
			}
		}
		if (fn == RT_SIGTRAMP || fn == RT_CGOSIGTRAMP || (fn == RT_SIGRETURN && first)) {
			/* on into the code the signal interrupted: its registers are
			 * in the signal frame at sigtramp's CFA (at SP in the
			 * restorer, once sigtramp returned) */
			struct fpi_regs ctx;

			r = fn == RT_SIGRETURN ? 0 : cfi_step_cached(s, mods, &regs, first, &next, NULL, why, sizeof(why));
			if (fn == RT_SIGRETURN)
				next.r[FPI_REG_RSP] = sp;
			if (r != 0 || switches >= 4 || !signal_context(s, next.r[FPI_REG_RSP], &ctx)) {
				snprintf(w->end, sizeof(w->end), "sigtramp: cannot read the signal frame%s%s",
					 why[0] ? ": " : "", why);
				return;
			}
			regs = ctx;
			stack_of_sp(s, m, regs.r[FPI_REG_RSP], &lo, &hi, &st);
			first = true;
			switches++;
			continue;
		}
		if (st != FR_GOROUTINE && switches < 4 && switch_frame(fn)) {
			const struct go_g *g = switch_target(s, w, m);
			uint64_t bp;

			if (!g)
				return; /* an idle M: the system stack is all there is */
			if (fn == RT_ASMCGOCALL && w->cont_ok) {
				/* the C part of a callback ends at the asmcgocall of the
				 * goroutine's earlier cgocall: on from below cgocallback */
				regs = w->cont;
				w->cont_ok = false;
				st = FR_GOROUTINE;
				lo = g->stack_lo, hi = g->stack_hi;
				first = func_entry(s, regs.r[FPI_REG_RIP]);
				switches++;
				continue;
			}
			saved_start(s, g, &regs.r[FPI_REG_RIP], &regs.r[FPI_REG_RSP], &bp);
			regs.r[FPI_REG_RBP] = bp;
			st = FR_GOROUTINE;
			lo = g->stack_lo, hi = g->stack_hi;
			first = func_entry(s, regs.r[FPI_REG_RIP]);
			switches++;
			continue;
		}
		if (st == FR_GOROUTINE && fn == RT_CGOCALLBACK) {
			/* Go on into the C frames the callback came from: cgocallback
			 * left the system stack's SP in m.g0.sched.sp. */
			uint64_t csp = g0_sched_sp(s, m);
			struct fpi_regs cont;

			w->saw_cgocallback = true;
			w->cont_ok = cfi_step_cached(s, mods, &regs, first, &cont, NULL, why, sizeof(why)) == 0 &&
				     cont.r[FPI_REG_RIP] && cont.r[FPI_REG_RSP] > regs.r[FPI_REG_RSP] && cont.r[FPI_REG_RSP] < hi;
			if (w->cont_ok)
				w->cont = cont;
			if (!csp || switches >= 4) {
				snprintf(w->end, sizeof(w->end), "cgocallback: no saved C stack pointer (m.g0.sched.sp)");
				return;
			}
			regs.r[FPI_REG_RSP] = csp;
			st = FR_G0;
			lo = m->g0_lo, hi = m->g0_hi;
			switches++;
			if (lo >= hi || csp < lo || csp >= hi)
				lo = csp, hi = csp + (8u << 20);
		}
		r = cfi_step_cached(s, mods, &regs, first, &next, &signal, why, sizeof(why));
		if (r == 1)
			return;
		if (r < 0) {
			snprintf(w->end, sizeof(w->end), "%s", why[0] ? why : "no CFI for this pc");
			return;
		}
		if (next.r[FPI_REG_RIP] == 0)
			return;
		if (fn == RT_CROSSCALL2) {
			/* crosscall2 (runtime/cgo, PUSH_REGS_HOST_TO_ABI0 on SysV) keeps
			 * the C caller's callee-saved registers below its CFA, BP in a
			 * frame record at CFA-16; its .debug_frame does not say so. */
			static const int regs_at[] = { FPI_REG_RBX, FPI_REG_R12, FPI_REG_R13, FPI_REG_R14,
						       FPI_REG_R15, FPI_REG_RBP };
			uint64_t save[6], cfa = next.r[FPI_REG_RSP];

			if (s->mem.read(s->mem.arg, cfa - 8 - sizeof(save), save, sizeof(save)))
				for (int k = 0; k < 6; k++)
					next.r[regs_at[k]] = save[k];
		}
		if (next.r[FPI_REG_RSP] <= regs.r[FPI_REG_RSP] && st != FR_C && !signal) {
			snprintf(w->end, sizeof(w->end), "CFI gave a caller SP 0x%" PRIx64 " not above 0x%" PRIx64,
				 next.r[FPI_REG_RSP], regs.r[FPI_REG_RSP]);
			return;
		}
		if (hi > lo && (next.r[FPI_REG_RSP] < lo || next.r[FPI_REG_RSP] > hi) && st == FR_GOROUTINE && !signal) {
			snprintf(w->end, sizeof(w->end), "CFI gave a caller SP 0x%" PRIx64 " outside the stack", next.r[FPI_REG_RSP]);
			return;
		}
		regs = next;
		if (signal && switches < 4) {
			/* a CFI signal frame (the kernel's restorer, __restore_rt):
			 * the interrupted code, at its exact pc, on its own stack */
			stack_of_sp(s, m, regs.r[FPI_REG_RSP], &lo, &hi, &st);
			first = true;
			switches++;
			continue;
		}
		/* below sigpanic: the faulting pc, not a return address (a few
		 * times a walk: garbage can repeat sigpanic's pc) */
		first = injected(fn) && w->nsigpanic++ < 4;
	}
	snprintf(w->end, sizeof(w->end), "depth cap %d reached", WALK_MAX_FRAMES);
}

struct fpi_error *walk_goroutine(struct fpi_session *s, const struct go_g *g, bool dwarf, struct walk *w)
{
	struct fpi_regs r;
	/* exact registers when g runs now, else where it resumes */
	bool regs = goroutine_regs(s, g, &r), exact;
	/* the M whose account of C frames the runtime would trust for g */
	const struct go_m *m = go_find_m_addr(s->snap, g->lockedm);

	if (!m)
		m = go_find_m_addr(s->snap, g->m);
	memset(w, 0, offsetof(struct walk, frames));
	w->n = 0;
	w->dwarf = dwarf;
	w->m = m;
	if (!regs) {
		memset(&r, 0, sizeof(r));
		saved_start(s, g, &r.r[FPI_REG_RIP], &r.r[FPI_REG_RSP], &r.r[FPI_REG_RBP]);
	}
	if (!r.r[FPI_REG_RIP] || !r.r[FPI_REG_RSP]) {
		snprintf(w->end, sizeof(w->end), "no place to start: %s is 0", regs ? "the thread's pc or sp" :
			 go_g_status_is(s->layout, g, "syscall") && g->syscallsp ? "syscallpc or syscallsp" :
			 "g.sched.pc or g.sched.sp");
		return NULL;
	}
	/* A saved pc is a return address (looked up at pc-1), except at a
	 * function's entry: a goroutine that has not run yet (g.sched.pc =
	 * its function's entry), Go 1.19's systemstack_switch. Go's unwinder
	 * does the same (symPC: pc-1 only when pc > the function's entry). */
	exact = regs || func_entry(s, r.r[FPI_REG_RIP]);
	if (dwarf)
		dwarf_walk(s, w, r, exact, FR_GOROUTINE, g->stack_lo, g->stack_hi, m);
	else
		fp_from_registers(s, w, &r, exact, g->stack_lo, g->stack_hi, FR_GOROUTINE);
	return NULL;
}

/* A thread's FP walk from registers: on into the interrupted code below a
 * signal frame, and from the system stack to the goroutine it runs for. */
static void fp_thread(struct fpi_session *s, struct walk *w, const struct fpi_regs *regs, uint64_t lo, uint64_t hi,
		      enum fr_stack kind, const struct go_m *m, int nsignals)
{
	int fn = fp_from_registers(s, w, regs, true, lo, hi, kind);

	if (fn == RT_SIGTRAMP && w->sig_ok && nsignals < 2) {
		struct fpi_regs ctx = w->sig_regs;

		w->sig_ok = false;
		stack_of_sp(s, m, ctx.r[FPI_REG_RSP], &lo, &hi, &kind);
		fp_thread(s, w, &ctx, lo, hi, kind, m, nsignals + 1);
		return;
	}
	if (kind != FR_GOROUTINE && switch_frame(fn)) {
		const struct go_g *g = switch_target(s, w, m);
		uint64_t pc, gsp, bp;

		if (g) {
			struct fpi_regs r;

			memset(&r, 0, sizeof(r));
			saved_start(s, g, &pc, &gsp, &bp);
			r.r[FPI_REG_RIP] = pc, r.r[FPI_REG_RSP] = gsp, r.r[FPI_REG_RBP] = bp;
			fp_from_registers(s, w, &r, func_entry(s, pc), g->stack_lo, g->stack_hi, FR_GOROUTINE);
		}
	}
}

struct fpi_error *walk_thread(struct fpi_session *s, const struct go_thread *th, bool dwarf, struct walk *w)
{
	uint64_t lo = 0, hi = 0;
	enum fr_stack kind;
	const struct go_m *m = th->m >= 0 ? &s->snap->ms[th->m] : NULL;
	uint64_t sp = th->regs.r[FPI_REG_RSP];

	memset(w, 0, offsetof(struct walk, frames));
	w->n = 0;
	w->dwarf = dwarf;
	w->m = m;
	if (!thread_stack_bounds(s, th, &lo, &hi, &kind)) {
		/* unknown stack (a C thread, or bounds not yet set): allow 8 MiB up */
		lo = sp;
		hi = sp + (8u << 20);
		kind = FR_OTHER;
	}
	if (dwarf) {
		dwarf_walk(s, w, th->regs, true, kind, lo, hi, m);
		return NULL;
	}
	fp_thread(s, w, &th->regs, lo, hi, kind, m, 0);
	return NULL;
}

/* ---- the bt command ---- */

enum unwinder { UW_FP, UW_DWARF, UW_BOTH };

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
static void print_break(struct fpi_session *s, FILE *out, const struct walk *w, size_t i)
{
	int fn;

	if (i == 0 || !w->frames[i].exact)
		return;
	fn = rt_fn_of(s, w->frames[i - 1].pc, !w->frames[i - 1].exact);
	if (fn == RT_SIGTRAMP || fn == RT_CGOSIGTRAMP || fn == RT_SIGRETURN)
		fputs("     <signal handler called: the code the signal interrupted>\n", out);
	else if (fn == RT_SIGPANIC)
		fputs("     <fault: the faulting instruction>\n", out);
	else if (fn == RT_ASYNCPREEMPT)
		fputs("     <preempted: the interrupted instruction>\n", out);
}

static struct fpi_error *bt_one(struct fpi_cmd_ctx *c, struct jw *jw, const struct bt_item *it, enum unwinder uw)
{
	struct fpi_session *s = c->s;
	struct walk *w[2] = { NULL, NULL };
	const char *why = NULL;
	int nw = uw == UW_BOTH ? 2 : 1;

	for (int k = 0; k < nw; k++) {
		bool dwarf = uw == UW_DWARF || k == 1;

		w[k] = malloc(sizeof(struct walk));
		if (!w[k]) {
			free(w[0]);
			return &fpi_enomem;
		}
		if (!it->is_thread && goroutine_not_owned(s, it->g, &why)) {
			memset(w[k], 0, offsetof(struct walk, frames));
			w[k]->n = 0;
			snprintf(w[k]->end, sizeof(w[k]->end), "not walked: %s", why);
		} else if (it->is_thread) {
			walk_thread(s, it->th, dwarf, w[k]);
		} else {
			walk_goroutine(s, it->g, dwarf, w[k]);
		}
	}
	if (c->json) {
		jw_obj(jw);
		if (it->is_thread) {
			jw_key(jw, "tid"); jw_int(jw, it->th->tid);
		} else {
			jw_key(jw, "goid"); jw_uint(jw, it->g->goid);
		}
		for (int k = 0; k < nw; k++) {
			bool dwarf = uw == UW_DWARF || k == 1;

			jw_key(jw, nw == 1 ? "frames" : dwarf ? "dwarf_frames" : "fp_frames");
			json_frames(s, jw, w[k]);
			jw_key(jw, nw == 1 ? "end" : dwarf ? "dwarf_end" : "fp_end");
			jw_str(jw, w[k]->end[0] ? w[k]->end : NULL);
		}
		if (nw == 2) {
			long mm = first_mismatch(w[0], w[1]);

			jw_key(jw, "mismatch");
			if (mm >= 0) jw_int(jw, mm); else jw_null(jw);
		}
		jw_end_obj(jw);
	} else {
		if (it->is_thread)
			fprintf(c->out, "thread %d:\n", it->th->tid);
		else
			fprintf(c->out, "goroutine %" PRIu64 " [%s]:\n", it->g->goid,
				go_status_name(s->layout, it->g->status & ~s->layout->gscan));
		if (nw == 1) {
			for (size_t i = 0; i < w[0]->n; i++) {
				print_break(s, c->out, w[0], i);
				print_frame_text(s, c->out, i, &w[0]->frames[i], !w[0]->frames[i].exact, "");
			}
			if (w[0]->end[0])
				fprintf(c->out, "     (%s)\n", w[0]->end);
		} else {
			long mm = first_mismatch(w[0], w[1]);

			for (int k = 0; k < 2; k++) {
				fprintf(c->out, "  %s:\n", k ? "dwarf" : "fp");
				for (size_t i = 0; i < w[k]->n; i++) {
					print_break(s, c->out, w[k], i);
					print_frame_text(s, c->out, i, &w[k]->frames[i], !w[k]->frames[i].exact,
							 (long)i == mm ? "   <- mismatch" : "");
				}
				if (w[k]->end[0])
					fprintf(c->out, "     (%s)\n", w[k]->end);
			}
			if (mm < 0)
				fprintf(c->out, "  fp and dwarf agree (%zu frames)\n", w[0]->n);
			else
				fprintf(c->out, "  fp and dwarf part at frame %ld\n", mm);
		}
		fprintf(c->out, "\n");
	}
	free(w[0]);
	free(w[1]);
	return NULL;
}

struct fpi_error *cmd_bt(struct fpi_cmd_ctx *c, int *status)
{
	struct fpi_session *s = c->s;
	enum unwinder uw = UW_FP;
	const char *target = NULL;
	struct jw jw;
	struct fpi_error *err = NULL;

	for (int i = 1; i < c->argc; i++) {
		if (!strcmp(c->argv[i], "--unwinder") && i + 1 < c->argc) {
			const char *u = c->argv[++i];

			if (!strcmp(u, "fp"))
				uw = UW_FP;
			else if (!strcmp(u, "dwarf"))
				uw = UW_DWARF;
			else if (!strcmp(u, "both"))
				uw = UW_BOTH;
			else
				return fpi_error_create(FPI_ERR_USAGE, "bt: unknown unwinder '%s' (fp, dwarf or both)", u);
		} else if (!strncmp(c->argv[i], "--unwinder=", 11)) {
			const char *u = c->argv[i] + 11;

			uw = !strcmp(u, "dwarf") ? UW_DWARF : !strcmp(u, "both") ? UW_BOTH : UW_FP;
			if (strcmp(u, "fp") && strcmp(u, "dwarf") && strcmp(u, "both"))
				return fpi_error_create(FPI_ERR_USAGE, "bt: unknown unwinder '%s' (fp, dwarf or both)", u);
		} else if (!target) {
			target = c->argv[i];
		} else {
			return fpi_error_create(FPI_ERR_USAGE, "bt: unexpected argument '%s'", c->argv[i]);
		}
	}
	if (!target)
		return fpi_error_create(FPI_ERR_USAGE, "usage: bt TARGET [--unwinder fp|dwarf|both] (TARGET: a TID, gGOID or all)");
	if (c->json) {
		jw_init(&jw, c->out);
		jw_obj(&jw);
		jw_key(&jw, "unwinder"); jw_str(&jw, uw == UW_FP ? "fp" : uw == UW_DWARF ? "dwarf" : "both");
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
