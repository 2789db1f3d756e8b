/* Unwinding threads and goroutines on the stacks they own, across Go's stack
 * switches, by frame pointers or by DWARF CFI. */
#ifndef FPI_STACKS_H
#define FPI_STACKS_H

#include "session.h"

enum fr_stack { FR_GOROUTINE, FR_G0, FR_GSIGNAL, FR_C, FR_OTHER };

struct frame {
	uint64_t pc, sp, fp;
	enum fr_stack stack;
	bool exact; /* pc from registers (a thread's, a signal frame's), not a return address */
};

#define WALK_MAX_FRAMES 1024

struct walk {
	size_t n;
	bool dwarf;
	/* frame-pointer walks: the first segment that broke before its natural end */
	bool fp_broken;
	struct fpi_fp_result fp_bad;
	size_t fp_bad_base;            /* index in frames of that segment's frame 0 */
	uint64_t seg_lo, seg_hi;       /* its bounds */
	enum fr_stack seg_stack;
	/* what the walk saw */
	bool saw_c;                    /* C frames (not Go code) */
	bool saw_cgocallback;          /* a runtime.cgocallback frame */
	const struct go_m *m;          /* the M whose system stack C frames are on */
	/* FP walks: the registers a signal interrupted, read from the signal
	 * frame below runtime.sigtramp (sig_ok), for the caller to go on with */
	bool sig_ok;
	struct fpi_regs sig_regs;
	/* Below runtime.cgocallback on a goroutine's stack: where the
	 * goroutine was before it called C (cgocallback pushed the old
	 * g.sched.pc there and made a frame like its g0 one): the walk goes on
	 * from it once the C part reaches the asmcgocall that called that C */
	bool cont_ok;
	struct fpi_regs cont;
	int nsigpanic;                 /* sigpanic frames gone through (garbage can repeat them) */
	int nframeless;                /* first frames taken by CFI as without a frame record */
	char end[200];                 /* why the walk stopped, "" when it reached a top frame */
	struct frame frames[WALK_MAX_FRAMES]; /* last: resets clear only what precedes it */
};

/* g's stack from where the runtime's own unwinder would start: its
 * registers when it runs now (its thread's, or those a signal interrupted),
 * syscallpc/sp/bp in a syscall or cgo call, g.sched otherwise. */
struct fpi_error *walk_goroutine(struct fpi_session *s, const struct go_g *g, bool dwarf, struct walk *w);
struct fpi_error *walk_thread(struct fpi_session *s, const struct go_thread *th, bool dwarf, struct walk *w);
/* Stack bounds of a thread's current stack; false when unknown. */
bool thread_stack_bounds(struct fpi_session *s, const struct go_thread *th, uint64_t *lo, uint64_t *hi,
			 enum fr_stack *kind);
const char *fr_stack_name(enum fr_stack k);
/* True for goroutines whose stack nobody can walk consistently now. */
bool goroutine_not_owned(struct fpi_session *s, const struct go_g *g, const char **why);

#endif
