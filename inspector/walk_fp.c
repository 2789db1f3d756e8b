/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The frame-pointer step: pc = [fp+8], fp = [fp], every link validated
 * against the stack it is on (unwind/fpwalk.c's fpi_fp_link), as the Go
 * runtime's tracer and profilers walk (fpTracebackPCs), plus what a walk
 * from outside meets and they never do: a first frame without its frame
 * record yet (a frameless leaf, a prologue, an epilogue), asked of CFI. The
 * frame record's place is the machine's (arch.h): on amd64 at CFA-16, on
 * arm64 at SP-8, the return address in LR until the prologue stores it. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "walk_internal.h"

/* fpwalk.c knows no machine and says "BP": a finding names the machine's
 * register ("saved FP (x29) at ..." on arm64). */
static void name_register(const struct fpi_arch_info *a, char *why, size_t len)
{
	static const char *const prefixes[] = { "saved BP", "start BP" };
	char tmp[sizeof(((struct fpi_fp_result *)0)->why)];

	if (!strcmp(a->fp_name, "BP"))
		return;
	for (size_t k = 0; k < 2; k++)
		if (!strncmp(why, prefixes[k], 8)) {
			snprintf(tmp, sizeof(tmp), "%.5s %s%s", why, a->fp_name, why + 8);
			snprintf(why, len, "%s", tmp);
			return;
		}
}

/* The first broken link of a walk: what check judges (checks.c). */
static void broken(struct walker *it, const struct fpi_fp_result *res)
{
	struct walk *w = it->w;

	if (w->fp_broken)
		return;
	w->fp_broken = true;
	w->fp_bad = *res;
	name_register(it->cx->arch, w->fp_bad.why, sizeof(w->fp_bad.why));
	res = &w->fp_bad;
	w->fp_bad_base = it->seg;
	w->seg_lo = it->lo, w->seg_hi = it->hi, w->seg_stack = it->st;
	snprintf(w->end, sizeof(w->end), "%s", res->why);
}

/* Validate the current frame's fp as frame i of its segment and read its
 * link: 0 with link, 1 at the chain's natural end, -1 broken (recorded). */
static int link_of(struct walker *it, uint64_t fp, size_t i, uint64_t prev, uint64_t link[2])
{
	struct fpi_fp_result res; /* filled by fpi_fp_link only when the link is bad */
	int r;

	r = fpi_fp_link(it->cx->mem, NULL, fp, i, prev, it->seg_bp, it->lo, it->hi, link, &res);
	if (r < 0) {
		res.nframes = i + 1;
		broken(it, &res);
	}
	return r;
}

static int chain_step(struct walker *it)
{
	struct walk *w = it->w;
	const struct frame *f = &w->frames[w->n - 1];
	size_t i = w->n - 1 - it->seg;
	uint64_t link[2];

	if (link_of(it, f->fp, i, i ? w->frames[w->n - 2].fp : 0, link) != 0)
		return 1;
	it->regs.r[FPI_REG_PC] = link[1];
	it->regs.r[FPI_REG_FP] = link[0];
	it->exact = false;
	it->sp_known = false;
	if (injected(f->rt) && it->nsigpanic++ < 4) {
		/* A fault made the signal handler push the faulting pc (or, on
		 * LR machines, put it in LR) and make the goroutine call
		 * sigpanic (or asyncPreempt): the pc above is where the fault
		 * was, not a return address, and the faulting function may not
		 * have its frame record yet (a leaf, a prologue). Go on as from
		 * registers: SP is sigpanic's CFA (plus what the handler moved
		 * SP by on LR machines, where it also saved LR). */
		uint64_t cfa = it->cx->arch->cfa_of_record(f->fp);

		if (!cfa) {
			struct fpi_regs r = it->regs, next;
			char why[160];

			r.r[FPI_REG_PC] = f->pc;
			r.r[FPI_REG_SP] = it->cx->arch->sp_of_record(f->fp, i ? w->frames[w->n - 2].fp : 0);
			if (r.r[FPI_REG_SP] &&
			    walk_cfa(it->cx, CFA_CFI_FIRST, &r, f->exact, &next, NULL, why, sizeof(why)) == 0)
				cfa = next.r[FPI_REG_SP];
		}
		if (!cfa)
			return 0;
		injected_below(it->cx, cfa, &it->regs);
		it->exact = true;
		it->sp_known = true;
		it->from_regs = true;
	}
	return 0;
}

/* The first frame of a walk (a thread's registers, a goroutine's g.sched
 * or syscall registers, a signal frame's) may be in a function that has no
 * frame record at this pc: a frameless leaf (runtime.futex, the vDSO), a
 * prologue (a goroutine preempted at its morestack call, a fresh goroutine
 * at its entry), an epilogue. RBP then still points at the caller's
 * record, and a plain FP walk would skip the caller. Every frame record
 * sits at a fixed place relative to SP and CFA (arch.h's record_at), so CFI
 * says which case this is: FP is that place or not. The runtime never meets this (it walks from its own frame, or from
 * a synchronous safe point), so it is no finding. Returns as a step does,
 * or 2: the frame has its record, follow the chain from it. */
static int from_registers(struct walker *it)
{
	struct walk *w = it->w;
	struct frame *f = &w->frames[w->n - 1];
	uint64_t sp = it->regs.r[FPI_REG_SP], bp = it->regs.r[FPI_REG_FP], cfa, rec;
	struct fpi_regs next;
	bool signal = false;
	char why[160];

	it->from_regs = false;
	walk_new_segment(it, w->n - 1);
	if (!it->cx->mods || top_frame(f->rt) || (it->st != FR_GOROUTINE && switch_frame(f->rt)) ||
	    walk_cfa(it->cx, (enum cfa_source)it->first_cfa_src, &it->regs, f->exact, &next, &signal, why, sizeof(why)) != 0)
		return 2;
	cfa = next.r[FPI_REG_SP];
	rec = it->cx->arch->record_at(sp, cfa);
	if (signal) {
		/* a CFI signal frame (the kernel's restorer, __restore_rt): the
		 * interrupted code, at its exact pc, on its own stack */
		if (!next.r[FPI_REG_PC] || !next.r[FPI_REG_SP] || ++it->switches > WALK_MAX_SWITCHES) {
			snprintf(w->end, sizeof(w->end), "signal frame: cannot read the interrupted registers at 0x%" PRIx64,
				 cfa);
			return 1;
		}
		it->regs = next;
		it->exact = true;
		it->sp_known = true;
		it->from_regs = true;
		it->sig_sp = next.r[FPI_REG_SP];
		stack_of_sp(it->cx, it->m, next.r[FPI_REG_SP], &it->lo, &it->hi, &it->st);
		return 0;
	}
	if (rec && bp == rec && rec < it->sig_sp && next.r[FPI_REG_PC] && cfa > sp) {
		/* The record lies below the SP a signal interrupted (arm64: a
		 * function that called a frameless leaf keeps its caller's FP
		 * at SP-8, which only the leaf's absent frame would cover), so
		 * the signal's own frame went over it: the kernel writes
		 * {x29, x30} right below SP (arch/arm64/kernel/signal.c,
		 * next_frame). That link is lost, not broken: the caller made
		 * a call, so its record is where its SP puts it. */
		it->regs = next;
		it->regs.r[FPI_REG_FP] = it->cx->arch->record_at(cfa, UINT64_MAX);
		it->sp_known = true;
		it->exact = false;
		it->from_regs = true;
		it->sig_sp = 0;
		return 0;
	}
	if (it->cx->arch->duff_records && bp && bp == sp - 16 && cfa - 16 > sp) {
		/* Go's duffzero/duffcopy call sequence builds the callee a frame
		 * record just below SP (MOVQ BP, -16(SP); LEAQ -16(SP), BP) and
		 * restores BP after the call: stopped between, RBP is that
		 * record, whose return slot is not written yet. The function's
		 * own record, at CFA-16, is the chain. */
		f->fp = cfa - 16;
		walk_new_segment(it, w->n - 1);
		return 2;
	}
	/* rec 0: no record fits in this frame (a fresh goroutine at its
	 * entry: CFA = SP + 8, and g.sched.bp is 0 too, which must not pass
	 * for "FP at the record") */
	if ((!rec || bp != rec) && next.r[FPI_REG_PC] && cfa >= sp) {
		it->regs = next;
		it->regs.r[FPI_REG_FP] = bp;
		it->sp_known = true;
		if (injected(f->rt) && it->nsigpanic++ < 4) {
			/* at the entry of an injected call: its caller was
			 * interrupted anywhere, as if from registers */
			injected_below(it->cx, cfa, &it->regs);
			it->exact = true;
			it->from_regs = true;
		} else if (it->nframeless++ < 4) {
			/* the caller may be in its prologue too (a call to
			 * morestack or asmcgocall made before its BP push) */
			it->exact = false;
			it->from_regs = true;
		} else {
			it->exact = false;
			it->seg_next = true;
		}
		return 0;
	}
	return 2;
}

static int fp_step(struct walker *it)
{
	if (it->from_regs) {
		int r = from_registers(it);

		if (r != 2)
			return r;
	}
	return chain_step(it);
}

/* Below cgocallback, when the link into it does not lead to the system
 * stack: the walk ends there, but a broken chain on the goroutine's own
 * stack from here on is what the runtime would follow, so it is judged. */
static void judge_rest(struct walker *it)
{
	struct walk *w = it->w;
	size_t i = w->n - 1 - it->seg;
	uint64_t fp = w->frames[w->n - 1].fp, prev = i ? w->frames[w->n - 2].fp : 0, link[2];

	for (size_t k = w->n; k < WALK_MAX_FRAMES; k++, i++) {
		if (link_of(it, fp, i, prev, link) != 0)
			return;
		prev = fp;
		fp = link[0];
	}
}

static int fp_resume(struct walker *it, const struct go_switch *sw)
{
	struct walk *w = it->w;
	struct frame *f = &w->frames[w->n - 1];

	switch (sw->kind) {
	case SW_VDSO:
		/* the chain goes on where the frame record is */
		if (sw->chain_fp < sw->lo || sw->chain_fp >= sw->hi)
			return 2;
		it->st = sw->st, it->lo = sw->lo, it->hi = sw->hi;
		f->stack = frame_stack(it->cx, sw->st, f->pc, !f->exact);
		it->from_regs = false;
		walk_new_segment(it, w->n - 1);
		return 2;
	case SW_CGOCALLBACK:
		if (!(it->m && it->m->g0_lo < it->m->g0_hi && sw->chain_fp >= sw->lo && sw->chain_fp < sw->hi)) {
			judge_rest(it);
			return 1;
		}
		/* cgocallback's own frame stays the goroutine's */
		it->st = sw->st, it->lo = sw->lo, it->hi = sw->hi;
		it->from_regs = false;
		walk_new_segment(it, w->n - 1);
		return 2;
	case SW_SIGNAL:
	case SW_GOROUTINE:
	case SW_CONT:
		it->regs = sw->regs;
		it->regs.r[FPI_REG_FP] = sw->chain_fp;
		it->sig_sp = sw->kind == SW_SIGNAL ? sw->regs.r[FPI_REG_SP] : 0;
		it->exact = sw->exact;
		it->sp_known = true;
		it->from_regs = true;
		it->st = sw->st, it->lo = sw->lo, it->hi = sw->hi;
		return 0;
	default:
		return 2;
	}
}

const struct walk_step walk_step_fp = { fp_step, fp_resume };
