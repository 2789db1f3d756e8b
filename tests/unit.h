/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Minimal unit-test support: count checks and failures, print one line per
 * failure, and let main return unit_done()'s exit status (0 pass, 1 fail). */
#ifndef FPI_TESTS_UNIT_H
#define FPI_TESTS_UNIT_H

#include <inttypes.h>
#include <stdio.h>

static unsigned int unit_checks, unit_failed;

/* CHECK(cond, fmt, ...): on failure print file:line, the condition and the
 * printf-style message. The message is required and may take arguments. */
#define CHECK(cond, ...)							\
	do {									\
		unit_checks++;							\
		if (!(cond)) {							\
			unit_failed++;						\
			printf("%s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, #cond); \
			printf(__VA_ARGS__);					\
			putchar('\n');						\
		}								\
	} while (0)

/* Unsigned integers compared as uint64_t, both values printed in hex. */
#define CHECK_EQ(a, b, ...)							\
	do {									\
		uint64_t unit_a_ = (uint64_t)(a), unit_b_ = (uint64_t)(b);	\
		unit_checks++;							\
		if (unit_a_ != unit_b_) {					\
			unit_failed++;						\
			printf("%s:%d: %s == %s failed: 0x%" PRIx64 " != 0x%" PRIx64 ": ", \
			       __FILE__, __LINE__, #a, #b, unit_a_, unit_b_);	\
			printf(__VA_ARGS__);					\
			putchar('\n');						\
		}								\
	} while (0)

/* Print the summary line; return main's exit status. */
static inline int unit_done(const char *name)
{
	printf("%s: %u checks, %u failed\n", name, unit_checks, unit_failed);
	return unit_failed ? 1 : 0;
}

#endif
