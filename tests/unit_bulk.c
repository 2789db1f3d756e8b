/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit test of bulk reads (inspector/target.c): planning, merging, the
 * background reader and the caller sharing the runs, a run that cannot be
 * read, stopping a reader that is still going. The target is a memory image
 * of this test's, with parallel reads so that the reader thread is used. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "target.h"
#include "unit.h"

#define BASE 0x10000000ull
#define SIZE (8ull << 20)
#define HOLE_LO (BASE + (4ull << 20))
#define HOLE_HI (HOLE_LO + 0x10000)

static pthread_t main_thread;
static atomic_uint readv_calls, readv_calls_other_thread;

static uint8_t pattern(uint64_t addr)
{
	return (uint8_t)((addr * 2654435761u) >> 13);
}

/* A read is whole or nothing, like process_vm_readv's remote ranges. */
static struct fpi_error *image_readv(struct fpi_target *t, struct fpi_read *reads, size_t n)
{
	(void)t;
	atomic_fetch_add(&readv_calls, 1);
	if (!pthread_equal(pthread_self(), main_thread))
		atomic_fetch_add(&readv_calls_other_thread, 1);
	for (size_t i = 0; i < n; i++) {
		uint64_t a = reads[i].addr, e = a + reads[i].len;

		reads[i].ok = a >= BASE && e <= BASE + SIZE && (e <= HOLE_LO || a >= HOLE_HI);
		if (reads[i].ok)
			for (uint64_t x = a; x < e; x++)
				((uint8_t *)reads[i].buf)[x - a] = pattern(x);
	}
	return NULL;
}

static const struct fpi_target_ops live_ops = { .kind = "live", .parallel_reads = true, .readv = image_readv };

static bool intact(const unsigned char *p, uint64_t addr, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != pattern(addr + i))
			return false;
	return true;
}

static bool in_hole(uint64_t addr, size_t len)
{
	return addr < HOLE_HI && addr + len > HOLE_LO;
}

/* n ranges spread over the image, shuffled: 1 KiB apart (so that neighbours
 * closer than max_gap merge), 100-900 bytes long, some overlapping. */
static struct fpi_bulk *ranges(size_t n)
{
	struct fpi_bulk *v = calloc(n, sizeof(*v));

	for (size_t i = 0; i < n; i++) {
		uint64_t slot = (i * 7919) % n;

		v[i] = (struct fpi_bulk){ BASE + slot * ((SIZE - 4096) / n), 100 + (i * 37) % 800, NULL };
	}
	return v;
}

static void test_set(void)
{
	size_t n = 8000, nruns, nfound = 0, nhole = 0;
	struct fpi_bulk *v = ranges(n), *runs;
	struct fpi_target *t = fpi_target_alloc(&live_ops);
	struct fpi_bulk_set *b;
	struct fpi_error *err;

	err = fpi_bulk_plan(v, n, 512, true, &b);
	CHECK(err == NULL, "plan");
	for (size_t i = 1; i < n; i++)
		CHECK(v[i - 1].addr <= v[i].addr, "plan sorts the requests: %zu", i);
	CHECK(fpi_bulk_find(b, v[0].addr, v[0].len) == NULL, "nothing to find before the reading");
	atomic_store(&readv_calls, 0);
	atomic_store(&readv_calls_other_thread, 0);
	fpi_bulk_start(b, t);
	usleep(50000); /* the caller takes its snapshot meanwhile */
	err = fpi_bulk_finish(b, t);
	CHECK(err == NULL, "finish");
	CHECK(atomic_load(&readv_calls_other_thread) > 0, "the background reader read (%u of %u calls)",
	      atomic_load(&readv_calls_other_thread), atomic_load(&readv_calls));
	CHECK(!fpi_bulk_all_read(b), "the run over the hole failed");
	for (size_t i = 0; i < n; i++) {
		const unsigned char *p = fpi_bulk_find(b, v[i].addr, v[i].len);

		if (in_hole(v[i].addr, v[i].len)) {
			nhole++;
			CHECK(p == NULL, "range %#llx+%zu in the hole found", (unsigned long long)v[i].addr, v[i].len);
		} else if (p) {
			nfound++;
			CHECK(intact(p, v[i].addr, v[i].len), "range %#llx+%zu: bytes", (unsigned long long)v[i].addr,
			      v[i].len);
		}
	}
	CHECK(nhole > 0 && nhole < 200, "some ranges in the hole: %zu", nhole);
	/* readable ranges merged into the failed run are not found (a bulk
	 * read retries them alone): a few, not more */
	CHECK(nfound + nhole <= n && nfound + nhole + 64 >= n, "found %zu, hole %zu of %zu", nfound, nhole, n);
	nruns = fpi_bulk_runs(b, NULL);
	CHECK(nruns > 100 && nruns < n, "runs merged: %zu for %zu ranges", nruns, n);
	runs = calloc(nruns, sizeof(*runs));
	CHECK_EQ(fpi_bulk_runs(b, runs), nruns, "runs listed");
	for (size_t i = 0; i < nruns; i++) {
		CHECK(!in_hole(runs[i].addr, runs[i].len), "a failed run listed");
		CHECK(intact(runs[i].data, runs[i].addr, runs[i].len), "run %zu bytes", i);
		if (i)
			CHECK(runs[i - 1].addr + runs[i - 1].len < runs[i].addr, "runs sorted, apart: %zu", i);
	}
	CHECK(fpi_bulk_find(b, BASE + SIZE - 8, 8) == NULL, "not planned, not found");
	free(runs);
	fpi_bulk_free(b);
	free(v);
	fpi_target_destroy(t);
}

/* fpi_bulk_read: every readable range gets its bytes, failed runs retried
 * range by range. */
static void test_read(void)
{
	size_t n = 8000;
	struct fpi_bulk *v = ranges(n);
	struct fpi_target *t = fpi_target_alloc(&live_ops);
	void *arena;
	struct fpi_error *err = fpi_bulk_read(t, v, n, 512, &arena);

	CHECK(err == NULL, "bulk read");
	for (size_t i = 0; i < n; i++) {
		if (in_hole(v[i].addr, v[i].len))
			CHECK(v[i].data == NULL, "range in the hole has data");
		else
			CHECK(v[i].data && intact(v[i].data, v[i].addr, v[i].len), "range %zu: %#llx+%zu", i,
			      (unsigned long long)v[i].addr, v[i].len);
	}
	fpi_bulk_free(arena);
	free(v);

	/* few ranges: no thread, all on the caller's */
	v = ranges(100);
	atomic_store(&readv_calls_other_thread, 0);
	err = fpi_bulk_read(t, v, 100, 0, &arena);
	CHECK(err == NULL && atomic_load(&readv_calls_other_thread) == 0, "100 ranges read by the caller alone");
	fpi_bulk_free(arena);
	free(v);
	fpi_target_destroy(t);
}

/* A set freed while its reader still goes (the process is let go without
 * the copy): the reader stops, nothing reads afterwards. */
static void test_free_while_reading(void)
{
	size_t n = 200000;
	struct fpi_bulk *v = calloc(n, sizeof(*v));
	struct fpi_target *t = fpi_target_alloc(&live_ops);
	struct fpi_bulk_set *b;
	unsigned int calls;

	for (size_t i = 0; i < n; i++)
		v[i] = (struct fpi_bulk){ BASE + i * 16, 8, NULL };
	CHECK(fpi_bulk_plan(v, n, 0, false, &b) == NULL, "plan");
	atomic_store(&readv_calls, 0);
	fpi_bulk_start(b, t);
	fpi_bulk_free(b);
	calls = atomic_load(&readv_calls);
	usleep(20000);
	CHECK_EQ(atomic_load(&readv_calls), calls, "reads after the set was freed");
	free(v);
	fpi_target_destroy(t);
}

int main(void)
{
	main_thread = pthread_self();
	test_set();
	test_read();
	test_free_while_reading();
	return unit_done("unit_bulk");
}
