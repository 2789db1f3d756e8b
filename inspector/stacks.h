/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Walking threads and goroutines on the stacks they own, across Go's stack
 * switches: one frame iterator (walk.c) with one Go stack-transition
 * function and pluggable steps, by frame pointers (walk_fp.c) or by DWARF
 * CFI (walk_cfi.c). A walk is data: its frames and why it ended; rendering
 * is render.c's. The walkers see a narrow context, not the session. */
#ifndef FPI_STACKS_H
#define FPI_STACKS_H

#include <stdbool.h>
#include <stdint.h>

#include "golayout.h"
#include "goruntime.h"
#include "arch.h"

enum fr_stack { FR_GOROUTINE, FR_G0, FR_GSIGNAL, FR_C, FR_OTHER };

/* The runtime's functions where its own unwinder switches stacks or stops
 * (gofuncs.c), by pc. */
enum rt_fn {
	RT_GOEXIT, RT_MSTART, RT_RT0_GO, RT_SYSTEMSTACK, RT_MCALL, RT_MORESTACK, RT_ASMCGOCALL,
	RT_CGOCALLBACK, RT_SIGTRAMP, RT_CROSSCALL2, RT_SIGPANIC, RT_ASYNCPREEMPT, RT_CGOSIGTRAMP, RT_SIGRETURN,
	RT_NFUNCS
};

/* How a walk finds each frame's caller: frame pointers, DWARF CFI, or the
 * runtime's own method (the SP delta of pclntab, walk_go.c). */
enum walk_unwinder { UNWIND_FP, UNWIND_DWARF, UNWIND_GO };

struct frame {
	uint64_t pc, sp, fp;     /* sp 0: not known (a frame reached by its frame record) */
	enum fr_stack stack;
	bool exact;              /* pc from registers (a thread's, a signal frame's), not a return address */
	signed char rt;          /* enum rt_fn of the function, -1 for any other */
};

#define WALK_MAX_FRAMES 1024

struct walk {
	size_t n;
	enum walk_unwinder unwinder;
	/* frame-pointer walks: the first segment that broke before its natural end */
	bool fp_broken;
	struct fpi_fp_result fp_bad;
	size_t fp_bad_base;            /* index in frames of that segment's frame 0 */
	uint64_t seg_lo, seg_hi;       /* its bounds */
	enum fr_stack seg_stack;
	/* what the walk saw */
	bool saw_c;                    /* C frames (not Go code) */
	bool saw_cgocallback;          /* a runtime.cgocallback frame */
	bool no_cfi;                   /* dwarf walks: ended at a Go frame (pclntab knows it) without CFI */
	const struct go_m *m;          /* the M whose system stack C frames are on */
	char end[200];                 /* why the walk stopped, "" when it reached a top frame */
	struct frame frames[WALK_MAX_FRAMES]; /* last: resets clear only what precedes it */
};

/* What the walkers read: the runtime model, the target's memory, the
 * modules (CFI, symbols), and the vDSO's place. Created once per snapshot;
 * it caches the runtime functions' ranges and Go frames' CFA rules. */
struct cfi_cache;
struct pcln_cache;
struct walk_ctx {
	const struct fpi_arch_info *arch;   /* the target's machine */
	const struct go_layout *layout;
	const struct go_snapshot *snap;
	const struct fpi_mem *mem;
	struct fpi_modules *mods;      /* NULL: none could be loaded (mods_err says why) */
	char mods_err[200];
	uint64_t vdso, vdso_len;       /* the vDSO's image, when it is a module; 0 0 otherwise */
	uint64_t rt_start[RT_NFUNCS], rt_end[RT_NFUNCS];
	uint64_t rt_lo, rt_hi;         /* their hull: most pcs are outside it */
	struct cfi_cache *cfi;
	/* the executable's Go function table, the modules' (NULL: none,
	 * pcln_err says why); its addresses + pcln_bias are the target's */
	const struct fpi_pclntab *pcln;
	uint64_t pcln_bias;
	char pcln_err[200];
	struct pcln_cache *pcln_cache; /* SP deltas by pc (walk_go.c) */
};

struct fpi_error *walk_ctx_create(const struct fpi_arch_info *arch, const struct go_layout *layout,
				  const struct go_snapshot *snap, const struct fpi_mem *mem, struct fpi_modules *mods,
				  const char *mods_err, uint64_t vdso, uint64_t vdso_len, struct walk_ctx **ret);
void walk_ctx_destroy(struct walk_ctx *cx);

/* g's stack from where the runtime's own unwinder would start: its
 * registers when it runs now (its thread's, or those a signal interrupted),
 * syscallpc/sp/bp in a syscall or cgo call, g.sched otherwise. */
void walk_goroutine(struct walk_ctx *cx, const struct go_g *g, enum walk_unwinder uw, struct walk *w);
/* The same, ended (w->end "") after the first frame for which stop says
 * true, w->frames[w->n - 1]: a walk that wants only the top of a stack
 * reads no more of it. */
typedef bool (*walk_stop_fn)(void *arg, const struct walk *w);
void walk_goroutine_until(struct walk_ctx *cx, const struct go_g *g, enum walk_unwinder uw, walk_stop_fn stop,
			  void *arg, struct walk *w);
void walk_thread(struct walk_ctx *cx, const struct go_thread *th, enum walk_unwinder uw, struct walk *w);
/* Stack bounds of a thread's current stack; false when unknown. */
bool thread_stack_bounds(const struct go_snapshot *snap, const struct go_thread *th, uint64_t *lo, uint64_t *hi,
			 enum fr_stack *kind);
const char *fr_stack_name(enum fr_stack k);
/* True for goroutines whose stack nobody can walk consistently now. */
bool goroutine_not_owned(const struct go_layout *l, const struct go_g *g, const char **why);
/* The CFA of the Go frame at pc with SP sp, by pclntab's SP delta (exact:
 * pc is not a return address); 0 when pclntab does not know pc. */
uint64_t walk_frame_cfa(struct walk_ctx *cx, uint64_t pc, uint64_t sp, bool exact);
/* Which runtime function pc is in (retaddr: pc is a return address, the
 * call is at pc-1); -1 for any other. */
int rt_fn_of(const struct walk_ctx *cx, uint64_t pc, bool retaddr);

#endif
