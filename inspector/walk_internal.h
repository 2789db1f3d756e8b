/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Internal to the walkers (walk.c, walk_fp.c, walk_cfi.c, gofuncs.c): the
 * iterator's state, the Go stack switch it found, and the step strategies. */
#ifndef FPI_WALK_INTERNAL_H
#define FPI_WALK_INTERNAL_H

#include "stacks.h"

/* A bound against garbage that keeps sending a walk from stack to stack
 * (each switch is a signal frame, a vDSO call, a cgo callback or a
 * systemstack/mcall/morestack/asmcgocall; real walks have a handful). */
#define WALK_MAX_SWITCHES 16

/* Calls the signal handler injects (Go's traceback: injectedCall): the pc
 * above is where the signal came, not a return address, and the function
 * there may have no frame record yet (a prologue, a frameless leaf). */
static inline bool injected(int fn)
{
	return fn == RT_SIGPANIC || fn == RT_ASYNCPREEMPT;
}

/* The top of a stack: the runtime's unwinder stops there. */
static inline bool top_frame(int fn)
{
	return fn == RT_GOEXIT || fn == RT_MSTART || fn == RT_RT0_GO;
}

/* Where a walk on a system stack goes on with the goroutine it runs for
 * (traceback.go's unwinder: systemstack, mcall, morestack, asmcgocall). */
static inline bool switch_frame(int fn)
{
	return fn == RT_SYSTEMSTACK || fn == RT_MCALL || fn == RT_MORESTACK || fn == RT_ASMCGOCALL;
}

/* Where the runtime went at the current frame, as go_switch (walk.c)
 * finds it. Both kinds of step follow it, each with what it walks by:
 * registers (regs, for CFA steps) or frame records (chain_fp). */
enum go_switch_kind {
	SW_NONE,         /* same stack: the step finds the caller */
	SW_END,          /* the stack's top, or no way on (walk.end says why) */
	SW_VDSO,         /* the vDSO's caller moved SP to g0 and kept its frame record where vdsoSP is:
			    regs: the caller at m.vdsoPC/vdsoSP; chain_fp: the current frame's record there */
	SW_SIGNAL,       /* below a signal frame: regs are the interrupted ones, exact */
	SW_GOROUTINE,    /* from a system stack to the goroutine it runs for: regs where it resumes */
	SW_CONT,         /* the C part of a callback ends at the asmcgocall of the goroutine's earlier cgo
			    call: regs below cgocallback, chain_fp the asmcgocall frame's link */
	SW_CGOCALLBACK,  /* from a goroutine to the C frames its callback came from, on g0: the current
			    frame unwinds there (regs.rsp = m.g0.sched.sp; chain_fp its record's link) */
};

struct go_switch {
	enum go_switch_kind kind;
	struct fpi_regs regs;
	bool exact;
	enum fr_stack st;
	uint64_t lo, hi;
	uint64_t chain_fp;
};

struct walker;

/* A step strategy. Both return 0 when it->regs/exact now describe the
 * next frame, 1 when the walk ends (walk.end says why, "" at a natural
 * end); resume returns 2 when the current frame is to be stepped from now
 * (on the stack the switch put it on). */
struct walk_step {
	int (*step)(struct walker *it);
	int (*resume)(struct walker *it, const struct go_switch *sw);
};

extern const struct walk_step walk_step_fp, walk_step_cfa, walk_step_go;

struct walker {
	struct walk_ctx *cx;
	struct walk *w;
	const struct walk_step *step;
	const struct go_m *m;
	/* the next frame to push, then the current one: rip, rsp when
	 * sp_known, rbp (the frame pointer for FP steps) */
	struct fpi_regs regs;
	bool exact;
	bool sp_known;
	/* FP: its place came from registers (a thread's, a signal frame, an
	 * injected call), so whether it has a frame record yet is still to
	 * be asked (walk_fp.c) */
	bool from_regs;
	/* the stack it is on */
	enum fr_stack st;
	uint64_t lo, hi;
	/* FP: the chain segment (one stack's run of frame records) being
	 * followed: its first frame and that frame's fp */
	size_t seg;
	uint64_t seg_bp;
	bool seg_next;          /* the next frame pushed starts a segment */
	int switches, nsigpanic, nframeless;
	/* FP: the SP the last signal frame interrupted (0: none), below
	 * which the signal's frame may have overwritten a frame record */
	uint64_t sig_sp;
	/* Below runtime.cgocallback on a goroutine's stack: where the
	 * goroutine was before it called C (cgocallback pushed the old
	 * g.sched.pc there and made a frame like its g0 one): the walk goes on
	 * from it once the C part reaches the asmcgocall that called that C */
	bool cont_ok;
	struct fpi_regs cont;
	uint64_t cont_lo, cont_hi;  /* that goroutine's stack */
	/* interrupted_regs: stop at the first signal frame whose registers
	 * are off the signal stack */
	bool want_signal, sig_found;
	/* walk_goroutine_until: end after the frame this says is enough */
	walk_stop_fn stop;
	void *stop_arg;
	/* where the first frame's CFA comes from (frame-pointer walks check it
	 * against the frame record): CFI, or, for a walk of a stack's top
	 * only, pclntab first: the same SP deltas for Go code, without loading
	 * (decompressing) the DWARF CFI for a hundred thousand gopark frames */
	int first_cfa_src;
	struct fpi_regs sig_regs;
};

/* walk.c, for the steps */
void walk_new_segment(struct walker *it, size_t at);
enum fr_stack frame_stack(const struct walk_ctx *cx, enum fr_stack st, uint64_t pc, bool retaddr);
void stack_of_sp(const struct walk_ctx *cx, const struct go_m *m, uint64_t sp, uint64_t *lo, uint64_t *hi,
		 enum fr_stack *kind);
/* gofuncs.c */
void gofuncs_find(struct walk_ctx *cx);
/* walk_cfi.c: one CFI step, Go frames' CFA rules cached per pc; signal:
 * the rule was a signal frame's ('S'), the caller's pc is exact */
int walk_cfi_step(struct walk_ctx *cx, const struct fpi_regs *regs, bool first, struct fpi_regs *next,
		  bool *signal, char *why, size_t whylen);
void walk_cfi_cache_free(struct cfi_cache *c);
/* Where a CFA step (walk_cfa) takes a Go frame's rule from. Both kinds of
 * rule say the same of a Go frame (the compiler writes its .debug_frame
 * from the same SP deltas it writes pcsp from); C frames, the vDSO and
 * signal frames have only CFI. */
enum cfa_source {
	CFA_CFI,         /* DWARF CFI only: the dwarf step */
	CFA_CFI_FIRST,   /* CFI, else pclntab (no DWARF): the stack transitions, any step */
	CFA_PCLN_FIRST,  /* pclntab, else CFI (C frames): the go step */
};
/* One CFA step, as walk_cfi_step, with the rule from src. */
int walk_cfa(struct walk_ctx *cx, enum cfa_source src, const struct fpi_regs *regs, bool first,
	     struct fpi_regs *next, bool *signal, char *why, size_t whylen);
/* walk_go.c: one step by pclntab's SP delta; -1 when pclntab does not
 * know the pc (not Go code) */
int walk_pcln_step(struct walk_ctx *cx, const struct fpi_regs *regs, bool first, struct fpi_regs *next,
		   char *why, size_t whylen);
/* walk_cfi.c: the registers of the function an injected call (sigpanic,
 * asyncPreempt) was made to look called from, from that call's CFA */
void injected_below(const struct walk_ctx *cx, uint64_t cfa, struct fpi_regs *regs);
/* walk_cfi.c: a register step with the checks a walk from outside needs,
 * the rule from src; and the resume of register steps */
int walk_regs_step(struct walker *it, enum cfa_source src);
int walk_regs_resume(struct walker *it, const struct go_switch *sw);

#endif
