/* SPDX-License-Identifier: GPL-3.0-or-later */
/* C half of busycgo: calls back into Go from Go threads (Go -> C -> Go -> C)
 * and from threads C made (extra Ms), all the time. */
#include <pthread.h>
#include <stdint.h>

#include "_cgo_export.h"
#include "work.h"

long c_leaf(long n)
{
	volatile long x = n;

	for (int i = 0; i < 200; i++)
		x = x * 31 + i;
	return x - x + n + 1;
}

/* Go -> C -> Go (-> C in goInner) */
long c_work(long n)
{
	return goInner(n) + 1;
}

static void *thread_main(void *arg)
{
	long i = (long)(intptr_t)arg;

	for (;;)
		goFromCThread(i++); /* an extra M each time it enters Go */
	return NULL;
}

int c_start_threads(int n)
{
	for (int i = 0; i < n; i++) {
		pthread_t t;
		pthread_attr_t attr;
		int err;

		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		err = pthread_create(&t, &attr, thread_main, (void *)(intptr_t)(i * 1000000));
		pthread_attr_destroy(&attr);
		if (err)
			return err;
	}
	return 0;
}

/* runtime.SetCgoTraceback's traceback function: the runtime calls it (on
 * the signal stack, through asmcgocall) when SIGPROF finds a thread in C.
 * Struct layout from runtime.SetCgoTraceback's documentation. */
struct cgo_traceback_arg {
	uintptr_t context, sig_context, *buf, max;
};

void c_traceback(void *arg)
{
	struct cgo_traceback_arg *a = arg;

	if (a->max > 0)
		a->buf[0] = 0;
}
