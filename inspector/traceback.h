/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The Go runtime's own rules for what a traceback says of a goroutine
 * (runtime/traceback.go): which frames it shows (showfuncinfo), which
 * goroutines it counts as the system's (isSystemGoroutine), the status in
 * its header and how long the goroutine has waited. Below the views and the
 * dump: goroutines' user location and dump's frames follow the same rules,
 * so the first frame dump shows is the goroutine's user location. */
#ifndef FPI_TRACEBACK_H
#define FPI_TRACEBACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "session.h"
#include "stacks.h"

/* showfuncinfo at GOTRACEBACK=all: name (and file, for wrappers) is a
 * frame the runtime prints; first: no frame printed before it; callee: the
 * logical frame below it (a wrapper shows above a panic). */
bool tb_show_frame(const char *name, bool wrapper, bool first, const char *callee);
/* elideWrapperCalling: a wrapper frame is left out unless it calls
 * gopanic, sigpanic or panicwrap (callee: the frame below, NULL none) */
bool tb_wrapper_elided(const char *callee);
/* A system goroutine (isSystemGoroutine): GOTRACEBACK=all hides it. */
bool tb_is_system_goroutine(struct fpi_session *s, const struct go_g *g);
/* The status in the header's brackets: the wait reason of a waiting
 * goroutine, else the status name, then " (scan)". */
void tb_status(struct fpi_session *s, const struct go_g *g, char *buf, size_t len);
/* Nanoseconds waited (g.waitsince against the stop), -1 when not known:
 * not live, not recorded, not waiting. */
int64_t tb_wait_ns(struct fpi_session *s, const struct go_g *g);
/* The minutes the runtime would print, -1 not known. */
int64_t tb_wait_minutes(struct fpi_session *s, const struct go_g *g);
/* A wait as goroutineheader prints it: whole minutes, "12 minutes" (also
 * "1 minutes" and, where the header prints none, "0 minutes"). */
void tb_wait_text(int64_t ns, char *buf, size_t len);

/* The first logical frame of g's stack (inlined frames count) that the
 * runtime's traceback shows: where the goroutine's own code is, as
 * Delve's "User" column. The walk (frame pointers, w as scratch) stops
 * there. False: none (only runtime frames, or the stack is not walked). */
struct tb_user_frame {
	const char *function, *file;  /* the symbolizer's */
	int line;
	uint64_t pc;                  /* of its physical frame */
	bool unknown;                 /* none found because the walk ended early
					 (memory not read, a broken chain) or
					 was not made (nobody owns the stack) */
};
bool tb_user_frame(struct fpi_session *s, struct walk_ctx *cx, const struct go_g *g, struct walk *w,
		   struct tb_user_frame *ret);

#endif
