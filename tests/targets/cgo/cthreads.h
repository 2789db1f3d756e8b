/* SPDX-License-Identifier: GPL-3.0-or-later */
/* C half of the cgo test target: threads created by C that call into Go,
 * and a C call that never returns. Definitions are in cthreads.c. */
#ifndef CTHREADS_H
#define CTHREADS_H

#include <stdint.h>

/* Values the badfp modes put in RBP before calling Go. */
#define BADFP_RBP ((uintptr_t)0x00000000deadbeefULL)

long c_gettid(void);

/* Blocks forever in read(2) on fd (a pipe nobody writes to). */
void c_block_in_read(int fd);

/* Start a detached pthread that calls goCallback1(its tid) and never
 * returns from it. rbp_mode: 0 = normal call, 1 = RBP holds BADFP_RBP
 * during the call, 2 = RBP points at c_fake_frames (a frame-pointer
 * cycle in .data). Returns 0 or an errno value. */
int c_start_callback_thread(int rbp_mode);

/* Start a detached pthread that calls goNested1(its tid). */
int c_start_nested_thread(void);

/* Called from goNested1: calls goNested2(tid) and returns. */
void c_call_nested2(long tid);

/* Address of the fake frame records used by rbp_mode 2. */
uintptr_t c_fake_frames_addr(void);

#endif
