/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A goroutine's stack as the Go runtime's own traceback shows it: logical
 * frames (inlined ones expanded), runtime frames hidden or not by the
 * rules of GOTRACEBACK=all or system, and the header and "created by" of
 * traceback.go. The dump, the groups and the profiles read these. */
#ifndef FPI_RENDER_DUMP_H
#define FPI_RENDER_DUMP_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "session.h"
#include "stacks.h"
#include "traceback.h"

struct tb_frame {
	const char *function;    /* as the symbolizer names it; NULL unknown */
	const char *file;
	int line;
	bool inlined;            /* a logical frame inlined into the next one */
	bool wrapper;            /* compiler-generated (funcID wrapper) */
	uint64_t pc;             /* of the physical frame: a return address, or exact */
	uint64_t entry;          /* its function's entry, 0 unknown */
	uint64_t sp, fp;         /* Go's: fp is the caller's sp; 0 unknown */
	uint32_t phys;           /* index of its physical frame */
};

struct tb_stack {
	size_t n;                /* frames shown, innermost first */
	size_t total;            /* before elision, as the runtime counts */
	bool unwalked;           /* not walked: nobody owns the stack now */
	struct tb_frame frames[WALK_MAX_FRAMES * 2];
};

/* Which of a goroutine's logical frames the runtime itself would give. */
enum tb_frames {
	TB_TRACEBACK, /* GOTRACEBACK=all's text: showfuncinfo hides the runtime's and wrappers */
	TB_SYSTEM,    /* GOTRACEBACK=system's: every frame */
	TB_PROFILE,   /* a goroutine profile's: tracebackPCs elides wrappers, runtime/pprof's
			 builder drops runtime.goexit; the runtime's other frames stay */
};

/* The frames of g as `which` says. Uses the walk w (scratch). */
void tb_goroutine_stack(struct fpi_session *s, struct walk_ctx *cx, const struct go_g *g, enum tb_frames which,
			struct walk *w, struct tb_stack *ret);
/* Every goroutine that is not dead, by goid, with its stack as
 * tb_goroutine_stack gives it, to fn; system goroutines only when all.
 * Stops at fn's first error. */
typedef struct fpi_error *(*tb_visit_fn)(void *arg, const struct go_g *g, const struct tb_stack *st);
struct fpi_error *tb_each_goroutine(struct fpi_session *s, bool all, enum tb_frames which, tb_visit_fn fn,
				    void *arg);
/* The function name as printFuncName prints it (generic type arguments
 * as [...], runtime.gopanic as panic) into buf. */
const char *tb_func_name(const char *fn, char *buf, size_t len);

#endif
