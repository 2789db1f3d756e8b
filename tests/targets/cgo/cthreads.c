/* SPDX-License-Identifier: GPL-3.0-or-later */
/* C half of the cgo test target. See cthreads.h and main.go. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "_cgo_export.h"
#include "cthreads.h"

long c_gettid(void)
{
	return (long)syscall(SYS_gettid);
}

void c_block_in_read(int fd)
{
	char c;

	for (;;) {
		ssize_t r = read(fd, &c, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			pause(); /* writer gone or error: stay in C anyway */
	}
}

/* Two fake frame records that point at each other, with return addresses
 * inside this file's text: an in-range, aligned, readable frame-pointer
 * chain that loops (and goes downwards at the back edge). Filled in by
 * init_fake_frames. */
static uintptr_t c_fake_frames[4] __attribute__((aligned(16)));

static void init_fake_frames(void)
{
	c_fake_frames[0] = (uintptr_t)&c_fake_frames[2];
	c_fake_frames[1] = (uintptr_t)&c_gettid + 1;
	c_fake_frames[2] = (uintptr_t)&c_fake_frames[0];
	c_fake_frames[3] = (uintptr_t)&c_block_in_read + 1;
}

uintptr_t c_fake_frames_addr(void)
{
	return (uintptr_t)c_fake_frames;
}

/* void c_call_with_rbp(void (*fn)(long), long arg, uintptr_t rbp)
 *
 * Calls fn(arg) with RBP = rbp, restoring RBP afterwards. C cannot set
 * RBP by itself, so this one function is assembly; its CFI records where
 * the caller's RBP is saved, so debuggers and CFI unwinders can still
 * unwind through it. The stack is 16-byte aligned at the call. */
void c_call_with_rbp(void (*fn)(long), long arg, uintptr_t rbp);
#if defined(__aarch64__)
/* arm64: the frame pointer is x29; the frame record {x29, x30} is pushed
 * as the AAPCS64 prologue does */
__asm__(
	".text\n"
	".p2align 4\n"
	".type c_call_with_rbp, %function\n"
	"c_call_with_rbp:\n"
	".cfi_startproc\n"
	"	stp x29, x30, [sp, #-16]!\n"
	".cfi_def_cfa_offset 16\n"
	".cfi_offset x29, -16\n"
	".cfi_offset x30, -8\n"
	"	mov x29, x2\n"
	"	mov x3, x0\n"
	"	mov x0, x1\n"
	"	blr x3\n"
	"	ldp x29, x30, [sp], #16\n"
	".cfi_def_cfa_offset 0\n"
	".cfi_restore x29\n"
	".cfi_restore x30\n"
	"	ret\n"
	".cfi_endproc\n"
	".size c_call_with_rbp, .-c_call_with_rbp\n");
#else
__asm__(
	".text\n"
	".p2align 4\n"
	".type c_call_with_rbp, @function\n"
	"c_call_with_rbp:\n"
	".cfi_startproc\n"
	"	pushq %rbp\n"
	".cfi_adjust_cfa_offset 8\n"
	".cfi_rel_offset %rbp, 0\n"
	"	movq %rdx, %rbp\n"
	"	movq %rdi, %rax\n"
	"	movq %rsi, %rdi\n"
	"	call *%rax\n"
	"	popq %rbp\n"
	".cfi_adjust_cfa_offset -8\n"
	".cfi_restore %rbp\n"
	"	ret\n"
	".cfi_endproc\n"
	".size c_call_with_rbp, .-c_call_with_rbp\n");
#endif

static void *callback_thread(void *arg)
{
	int mode = (int)(intptr_t)arg;
	long tid = c_gettid();

	switch (mode) {
	case 1:
		c_call_with_rbp(goCallback1, tid, BADFP_RBP);
		break;
	case 2:
		c_call_with_rbp(goCallback1, tid, c_fake_frames_addr());
		break;
	default:
		goCallback1(tid);
		break;
	}
	return NULL; /* not reached: goCallback1 never returns */
}

static void *nested_thread(void *arg)
{
	(void)arg;
	goNested1(c_gettid());
	return NULL; /* not reached */
}

static int start_detached(void *(*fn)(void *), void *arg)
{
	pthread_t t;
	pthread_attr_t attr;
	int err;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	err = pthread_create(&t, &attr, fn, arg);
	pthread_attr_destroy(&attr);
	return err;
}

int c_start_callback_thread(int rbp_mode)
{
	init_fake_frames();
	return start_detached(callback_thread, (void *)(intptr_t)rbp_mode);
}

int c_start_nested_thread(void)
{
	return start_detached(nested_thread, NULL);
}

void c_call_nested2(long tid)
{
	goNested2(tid);
}
