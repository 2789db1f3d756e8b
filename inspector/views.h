/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The rows the commands show and the public API hands out (struct
 * fpi_thread, fpi_m, fpi_goroutine of fpinspect.h), made from the snapshot:
 * one place decides what each field says, n/a included, so the text, the
 * JSON and the data API cannot drift apart. */
#ifndef FPI_VIEWS_H
#define FPI_VIEWS_H

#include "fpinspect.h"
#include "session.h"

void view_thread(struct fpi_session *s, size_t i, struct fpi_thread *ret);
void view_m(struct fpi_session *s, size_t i, struct fpi_m *ret);
/* Goroutines that are not dead, by goid (computed once per session). */
struct fpi_error *view_goroutine_order(struct fpi_session *s, const struct go_g *const **ret, size_t *n);
size_t view_goroutine_count(const struct fpi_session *s);
void view_goroutine(struct fpi_session *s, const struct go_g *g, struct fpi_goroutine *ret);
/* Before view_goroutine of (nearly) every goroutine: their user frames,
 * walked in the order of their stacks' addresses. Optional. */
void view_prepare_goroutines(struct fpi_session *s);
/* The public stack enum of a thread's go_stack_kind, and of a frame's. */
enum fpi_stack view_thread_stack(enum go_stack_kind k);

#endif
