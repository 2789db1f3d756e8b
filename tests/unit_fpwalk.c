/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit test of the validated frame-pointer walker (unwind/fpwalk.c) on
 * memory images laid out here: healthy chains, every way a chain breaks,
 * and random garbage, which the walker must survive with consistent
 * findings. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unwind.h"
#include "unit.h"

/* Goroutine stacks live in the heap arena; 8 KiB is a grown stack. */
#define STACK_BASE 0xc000100000ull
#define STACK_SIZE 0x2000ull
#define STACK_LO STACK_BASE
#define STACK_HI (STACK_BASE + STACK_SIZE)

/* Return PCs: frame k's pc is PC(k). */
#define PC(k) ((uint64_t)0x401000 + 0x10 * (uint64_t)(k))

/* A byte buffer at a target address. The walker is told the stack is
 * [lo, hi); the image may hold more (neighbouring stacks) so that a walker
 * that strays is caught by the read counters, not by a failed read. */
struct image {
	uint64_t base;
	size_t size;
	uint8_t *buf;
	uint64_t lo, hi;
	uint64_t hole_lo, hole_hi;  /* unreadable, inside [lo, hi) */
	unsigned int reads;         /* reads by the walker */
	unsigned int reads_16;      /* ... of 16 bytes */
	unsigned int stray_reads;   /* ... touching anything outside [lo, hi) */
};

static bool image_read(void *arg, uint64_t addr, void *buf, size_t len)
{
	struct image *img = arg;

	img->reads++;
	if (len == 16)
		img->reads_16++;
	if (addr < img->lo || addr > img->hi || img->hi - addr < len)
		img->stray_reads++;
	if (addr < img->base || addr - img->base > img->size || img->size - (addr - img->base) < len)
		return false;
	if (addr < img->hole_hi && addr + len > img->hole_lo)
		return false;
	memcpy(buf, img->buf + (addr - img->base), len);
	return true;
}

static void image_init(struct image *img, uint64_t base, size_t size, uint64_t lo, uint64_t hi)
{
	memset(img, 0, sizeof(*img));
	img->base = base;
	img->size = size;
	img->buf = calloc(1, size);
	if (!img->buf) {
		perror("calloc");
		exit(1);
	}
	img->lo = lo;
	img->hi = hi;
}

static void image_fini(struct image *img)
{
	free(img->buf);
	img->buf = NULL;
}

static void put(struct image *img, uint64_t addr, uint64_t v)
{
	memcpy(img->buf + (addr - img->base), &v, sizeof(v));
}

static uint64_t get(const struct image *img, uint64_t addr)
{
	uint64_t v;

	memcpy(&v, img->buf + (addr - img->base), sizeof(v));
	return v;
}

/* Lay out frames 0..n-1 at fp[0..n-1]: frame k's slot holds frame k+1's fp
 * and PC(k+1); the last slot holds end_bp and PC(n). */
static void chain(struct image *img, const uint64_t *fp, size_t n, uint64_t end_bp)
{
	for (size_t k = 0; k < n; k++) {
		put(img, fp[k], k + 1 < n ? fp[k + 1] : end_bp);
		put(img, fp[k] + 8, PC(k + 1));
	}
}

static void walk(struct image *img, uint64_t pc, uint64_t bp, size_t max_frames,
		 struct fpi_fp_frame *frames, struct fpi_fp_result *ret)
{
	struct fpi_mem mem = { .read = image_read, .arg = img };

	img->reads = img->reads_16 = img->stray_reads = 0;
	memset(ret, 0xa5, sizeof(*ret));  /* the walker must fill every field */
	fpi_fp_walk(&mem, pc, bp, img->lo, img->hi, max_frames, frames, ret);
}

static bool same_result(const struct fpi_fp_result *a, const struct fpi_fp_result *b)
{
	return a->nframes == b->nframes && a->stop == b->stop && a->bad_frame == b->bad_frame &&
	       a->bad_addr == b->bad_addr && a->bad_value == b->bad_value &&
	       strcmp(a->why, b->why) == 0;
}

/*
 * Walk with a frames array and without (cycle detection then re-walks
 * memory instead of searching the array): both must give the same result.
 * The walk with frames must read only inside [lo, hi) and exactly once per
 * frame, 16 bytes at a time.
 */
static void walk_both(const char *name, struct image *img, uint64_t pc, uint64_t bp,
		      size_t max_frames, struct fpi_fp_frame *frames, struct fpi_fp_result *ret)
{
	struct fpi_fp_result nul;

	walk(img, pc, bp, max_frames, NULL, &nul);
	CHECK_EQ(img->stray_reads, 0, "%s (frames NULL): reads outside [lo, hi)", name);
	walk(img, pc, bp, max_frames, frames, ret);
	CHECK_EQ(img->stray_reads, 0, "%s: reads outside [lo, hi)", name);
	CHECK(img->reads == img->reads_16, "%s: %u reads, only %u of 16 bytes", name, img->reads,
	      img->reads_16);
	CHECK(same_result(ret, &nul), "%s: frames NULL gives %s nframes %zu (%s), frames gives %s nframes %zu (%s)",
	      name, fpi_fp_stop_name(nul.stop), nul.nframes, nul.why, fpi_fp_stop_name(ret->stop),
	      ret->nframes, ret->why);
}

static void expect(const char *name, const struct fpi_fp_result *r, enum fpi_fp_stop stop,
		   size_t nframes, size_t bad_frame, uint64_t bad_addr, uint64_t bad_value)
{
	CHECK(r->stop == stop, "%s: stop %s, expected %s (%s)", name, fpi_fp_stop_name(r->stop),
	      fpi_fp_stop_name(stop), r->why);
	CHECK_EQ(r->nframes, nframes, "%s: nframes", name);
	CHECK_EQ(r->bad_frame, bad_frame, "%s: bad_frame", name);
	CHECK_EQ(r->bad_addr, bad_addr, "%s: bad_addr", name);
	CHECK_EQ(r->bad_value, bad_value, "%s: bad_value", name);
	if (stop == FPI_FP_END)
		CHECK(r->why[0] == '\0', "%s: why \"%s\" at a natural end", name, r->why);
	else
		CHECK(memchr(r->why, '\0', sizeof(r->why)) && strlen(r->why) > 20,
		      "%s: why \"%s\" too short", name, r->why);
}

static void expect_why(const char *name, const struct fpi_fp_result *r, const char *needle)
{
	CHECK(strstr(r->why, needle), "%s: why \"%s\" lacks \"%s\"", name, r->why, needle);
}

/* frames[0..n-1] are (PC(k), fp[k]). */
static void expect_frames(const char *name, const struct fpi_fp_frame *frames, const uint64_t *fp,
			  size_t n)
{
	size_t bad = 0, first = 0;

	for (size_t k = 0; k < n; k++) {
		if (frames[k].pc != PC(k) || frames[k].fp != fp[k]) {
			if (!bad++)
				first = k;
		}
	}
	CHECK(bad == 0, "%s: %zu frames wrong, first frame %zu = (0x%" PRIx64 ", 0x%" PRIx64
	      "), expected (0x%" PRIx64 ", 0x%" PRIx64 ")", name, bad, first, frames[first].pc,
	      frames[first].fp, PC(first), fp[first]);
}

static void expect_frame(const char *name, const struct fpi_fp_frame *f, size_t k, uint64_t pc,
			 uint64_t fp)
{
	CHECK(f[k].pc == pc && f[k].fp == fp, "%s: frame %zu = (0x%" PRIx64 ", 0x%" PRIx64
	      "), expected (0x%" PRIx64 ", 0x%" PRIx64 ")", name, k, f[k].pc, f[k].fp, pc, fp);
}

static void test_healthy(void)
{
	const uint64_t fp[] = { STACK_LO + 0x100, STACK_LO + 0x180, STACK_LO + 0x200, STACK_LO + 0x400 };
	struct fpi_fp_frame frames[16];
	struct fpi_fp_result r;
	struct image img;

	image_init(&img, STACK_BASE, STACK_SIZE, STACK_LO, STACK_HI);
	chain(&img, fp, 4, 0);

	walk_both("healthy", &img, PC(0), fp[0], 16, frames, &r);
	expect("healthy", &r, FPI_FP_END, 5, 0, 0, 0);
	expect_frames("healthy", frames, fp, 4);
	expect_frame("healthy", frames, 4, PC(4), 0);
	CHECK_EQ(img.reads, 4, "healthy: one read per link");

	/* Exactly as many frames as the chain has is not a truncation. */
	walk_both("healthy max 5", &img, PC(0), fp[0], 5, frames, &r);
	expect("healthy max 5", &r, FPI_FP_END, 5, 0, 0, 0);
	walk_both("healthy max 4", &img, PC(0), fp[0], 4, frames, &r);
	expect("healthy max 4", &r, FPI_FP_DEPTH, 4, 0, 0, 0);
	expect_frames("healthy max 4", frames, fp, 4);
	expect_why("healthy max 4", &r, "depth cap of 4");
	walk_both("healthy max 1", &img, PC(0), fp[0], 1, frames, &r);
	expect("healthy max 1", &r, FPI_FP_DEPTH, 1, 0, 0, 0);
	walk_both("healthy max 0", &img, PC(0), fp[0], 0, frames, &r);
	expect("healthy max 0", &r, FPI_FP_DEPTH, 0, 0, 0, 0);

	/* A zero return PC ends the walk even when the saved BP is garbage;
	 * that frame is not a frame and is not recorded. */
	put(&img, fp[3], 0xdeadbeef);
	put(&img, fp[3] + 8, 0);
	walk_both("return pc 0", &img, PC(0), fp[0], 16, frames, &r);
	expect("return pc 0", &r, FPI_FP_END, 4, 0, 0, 0);
	expect_frames("return pc 0", frames, fp, 4);

	/* A zero start BP: a single frame, nothing read. */
	walk_both("start bp 0", &img, PC(0), 0, 16, frames, &r);
	expect("start bp 0", &r, FPI_FP_END, 1, 0, 0, 0);
	expect_frame("start bp 0", frames, 0, PC(0), 0);
	CHECK_EQ(img.reads, 0, "start bp 0: reads");
	image_fini(&img);
}

/* The last 16 bytes of the stack hold a valid link; 8 bytes do not. */
static void test_top_of_stack(void)
{
	const uint64_t fp[] = { STACK_LO + 0x100, STACK_HI - 16 };
	struct fpi_fp_frame frames[8];
	struct fpi_fp_result r;
	struct image img;

	image_init(&img, STACK_BASE, STACK_SIZE, STACK_LO, STACK_HI);
	chain(&img, fp, 2, 0);
	walk_both("top of stack", &img, PC(0), fp[0], 8, frames, &r);
	expect("top of stack", &r, FPI_FP_END, 3, 0, 0, 0);
	expect_frames("top of stack", frames, fp, 2);

	put(&img, fp[0], STACK_HI - 8);
	walk_both("hi - 8", &img, PC(0), fp[0], 8, frames, &r);
	expect("hi - 8", &r, FPI_FP_OUT_OF_BOUNDS, 2, 0, fp[0], STACK_HI - 8);
	expect_frame("hi - 8", frames, 1, PC(1), STACK_HI - 8);
	expect_why("hi - 8", &r, "less than 16 bytes below the top");
	image_fini(&img);
}

static void test_cycles(void)
{
	uint64_t fp[64];
	struct fpi_fp_frame frames[128];
	struct fpi_fp_result r;
	struct image img;

	image_init(&img, STACK_BASE, STACK_SIZE, STACK_LO, STACK_HI);

	/* The 1.21 mcall bug: a pushed BP that points to itself. */
	fp[0] = STACK_LO + 0x100;
	fp[1] = STACK_LO + 0x200;
	fp[2] = STACK_LO + 0x300;
	fp[3] = STACK_LO + 0x340;
	chain(&img, fp, 4, fp[3]);
	walk_both("self loop", &img, PC(0), fp[0], 128, frames, &r);
	expect("self loop", &r, FPI_FP_CYCLE, 5, 3, fp[3], fp[3]);
	expect_frames("self loop", frames, fp, 4);
	expect_frame("self loop", frames, 4, PC(4), fp[3]);
	expect_why("self loop", &r, "own frame");
	expect_why("self loop", &r, "saved BP at 0xc000100340 is 0xc000100340");
	CHECK_EQ(img.reads, 4, "self loop: reads");

	/* ... in the very first frame: still a link read from memory. */
	memset(img.buf, 0, img.size);
	chain(&img, fp, 1, fp[0]);
	walk_both("self loop frame 0", &img, PC(0), fp[0], 128, frames, &r);
	expect("self loop frame 0", &r, FPI_FP_CYCLE, 2, 0, fp[0], fp[0]);
	expect_why("self loop frame 0", &r, "own frame");

	/* Frame 2 back to frame 1. */
	memset(img.buf, 0, img.size);
	chain(&img, fp, 3, fp[1]);
	walk_both("two-frame cycle", &img, PC(0), fp[0], 128, frames, &r);
	expect("two-frame cycle", &r, FPI_FP_CYCLE, 4, 2, fp[2], fp[1]);
	expect_frames("two-frame cycle", frames, fp, 3);
	expect_frame("two-frame cycle", frames, 3, PC(3), fp[1]);
	expect_why("two-frame cycle", &r, "back to frame 1");

	/* Back to frame 0, the one whose fp came from registers. */
	memset(img.buf, 0, img.size);
	chain(&img, fp, 3, fp[0]);
	walk_both("cycle to frame 0", &img, PC(0), fp[0], 128, frames, &r);
	expect("cycle to frame 0", &r, FPI_FP_CYCLE, 4, 2, fp[2], fp[0]);
	expect_why("cycle to frame 0", &r, "back to frame 0");

	/* 50 frames, the last back to frame 10. */
	memset(img.buf, 0, img.size);
	for (size_t k = 0; k < 50; k++)
		fp[k] = STACK_LO + 0x100 + 0x40 * k;
	chain(&img, fp, 50, fp[10]);
	walk_both("long cycle", &img, PC(0), fp[0], 128, frames, &r);
	expect("long cycle", &r, FPI_FP_CYCLE, 51, 49, fp[49], fp[10]);
	expect_frames("long cycle", frames, fp, 50);
	expect_frame("long cycle", frames, 50, PC(50), fp[10]);
	expect_why("long cycle", &r, "back to frame 10 ");
	CHECK_EQ(img.reads, 50, "long cycle: reads");

	/* With the cap exactly at the revisiting frame, the cycle is still
	 * seen: the link is checked before the cap. */
	walk_both("long cycle max 51", &img, PC(0), fp[0], 51, frames, &r);
	expect("long cycle max 51", &r, FPI_FP_CYCLE, 51, 49, fp[49], fp[10]);
	image_fini(&img);
}

static void test_not_increasing(void)
{
	const uint64_t fp[] = { STACK_LO + 0x400, STACK_LO + 0x500, STACK_LO + 0x600 };
	const uint64_t below[] = {
		STACK_LO + 0x200,  /* under every frame */
		STACK_LO + 0x480,  /* between frames 0 and 1, never visited */
		STACK_LO + 0x580,  /* between frames 1 and 2 */
	};
	struct fpi_fp_frame frames[16];
	struct fpi_fp_result r;
	struct image img;

	image_init(&img, STACK_BASE, STACK_SIZE, STACK_LO, STACK_HI);
	for (size_t j = 0; j < sizeof(below) / sizeof(below[0]); j++) {
		chain(&img, fp, 3, below[j]);
		/* A plausible chain where the bad link points: must not matter. */
		put(&img, below[j], fp[1]);
		put(&img, below[j] + 8, PC(99));
		walk_both("not increasing", &img, PC(0), fp[0], 16, frames, &r);
		expect("not increasing", &r, FPI_FP_NOT_INCREASING, 4, 2, fp[2], below[j]);
		expect_frames("not increasing", frames, fp, 3);
		expect_frame("not increasing", frames, 3, PC(3), below[j]);
		expect_why("not increasing", &r, "not above its own frame");
		CHECK_EQ(img.reads, 3, "not increasing: reads");
	}
	image_fini(&img);
}

/* Three 8 KiB stacks side by side, the walker owning the middle one; the
 * neighbours hold healthy chains a walker that strays would happily follow. */
static void test_out_of_bounds(void)
{
	const uint64_t fp[] = { STACK_LO + 0x100, STACK_LO + 0x200 };
	const uint64_t above[] = { STACK_HI + 0x100, STACK_HI + 0x200 };
	const uint64_t under[] = { STACK_LO - STACK_SIZE + 0x100, STACK_LO - STACK_SIZE + 0x200 };
	struct fpi_fp_frame frames[16];
	struct fpi_fp_result r;
	struct image img;

	image_init(&img, STACK_LO - STACK_SIZE, 3 * STACK_SIZE, STACK_LO, STACK_HI);
	chain(&img, above, 2, 0);
	chain(&img, under, 2, 0);

	chain(&img, fp, 2, above[0]);
	walk_both("into the stack above", &img, PC(0), fp[0], 16, frames, &r);
	expect("into the stack above", &r, FPI_FP_OUT_OF_BOUNDS, 3, 1, fp[1], above[0]);
	expect_frames("into the stack above", frames, fp, 2);
	expect_frame("into the stack above", frames, 2, PC(2), above[0]);
	expect_why("into the stack above", &r, "outside the owning stack [0xc000100000, 0xc000102000)");
	CHECK_EQ(img.reads, 2, "into the stack above: reads");

	/* Exactly hi: the first byte of the neighbour. */
	chain(&img, fp, 2, STACK_HI);
	walk_both("at hi", &img, PC(0), fp[0], 16, frames, &r);
	expect("at hi", &r, FPI_FP_OUT_OF_BOUNDS, 3, 1, fp[1], STACK_HI);

	/* Below lo: smaller, so also "not increasing"; bounds win. */
	chain(&img, fp, 2, under[0]);
	walk_both("into the stack below", &img, PC(0), fp[0], 16, frames, &r);
	expect("into the stack below", &r, FPI_FP_OUT_OF_BOUNDS, 3, 1, fp[1], under[0]);

	/* Start BP in a neighbour: bad_addr 0 says it came from registers. */
	walk_both("start bp above", &img, PC(0), above[0], 16, frames, &r);
	expect("start bp above", &r, FPI_FP_OUT_OF_BOUNDS, 1, 0, 0, above[0]);
	expect_frame("start bp above", frames, 0, PC(0), above[0]);
	expect_why("start bp above", &r, "start BP");
	CHECK_EQ(img.reads, 0, "start bp above: reads");

	/* Bounds that hold no 16-byte link at all. */
	img.hi = img.lo + 8;
	walk_both("empty bounds", &img, PC(0), img.lo, 16, frames, &r);
	expect("empty bounds", &r, FPI_FP_OUT_OF_BOUNDS, 1, 0, 0, img.lo);
	img.hi = img.lo - 0x1000;
	walk_both("inverted bounds", &img, PC(0), img.lo, 16, frames, &r);
	expect("inverted bounds", &r, FPI_FP_OUT_OF_BOUNDS, 1, 0, 0, img.lo);
	image_fini(&img);
}

static void test_misaligned(void)
{
	const uint64_t fp[] = { STACK_LO + 0x100, STACK_LO + 0x200 };
	struct fpi_fp_frame frames[16];
	struct fpi_fp_result r;
	struct image img;

	image_init(&img, STACK_BASE, STACK_SIZE, STACK_LO, STACK_HI);
	chain(&img, fp, 2, STACK_LO + 0x244);
	walk_both("misaligned", &img, PC(0), fp[0], 16, frames, &r);
	expect("misaligned", &r, FPI_FP_MISALIGNED, 3, 1, fp[1], STACK_LO + 0x244);
	expect_frame("misaligned", frames, 2, PC(2), STACK_LO + 0x244);
	expect_why("misaligned", &r, "not 8-byte aligned");

	/* Misaligned and going down: misaligned is the sharper finding. */
	chain(&img, fp, 2, STACK_LO + 0x104);
	walk_both("misaligned down", &img, PC(0), fp[0], 16, frames, &r);
	expect("misaligned down", &r, FPI_FP_MISALIGNED, 3, 1, fp[1], STACK_LO + 0x104);

	walk_both("misaligned start", &img, PC(0), STACK_LO + 0x104, 16, frames, &r);
	expect("misaligned start", &r, FPI_FP_MISALIGNED, 1, 0, 0, STACK_LO + 0x104);
	image_fini(&img);
}

static void test_unreadable(void)
{
	const uint64_t fp[] = { STACK_LO + 0x100, STACK_LO + 0x200, STACK_LO + 0x300, STACK_LO + 0x400 };
	struct fpi_fp_frame frames[16];
	struct fpi_fp_result r;
	struct image img;

	image_init(&img, STACK_BASE, STACK_SIZE, STACK_LO, STACK_HI);
	chain(&img, fp, 4, 0);

	img.hole_lo = fp[2];
	img.hole_hi = fp[2] + 16;
	walk_both("unreadable", &img, PC(0), fp[0], 16, frames, &r);
	expect("unreadable", &r, FPI_FP_UNREADABLE, 3, 1, fp[1], fp[2]);
	expect_frames("unreadable", frames, fp, 3);
	expect_why("unreadable", &r, "cannot be read");

	/* Only the return PC half: still one read, still unreadable. */
	img.hole_lo = fp[2] + 8;
	walk_both("unreadable pc", &img, PC(0), fp[0], 16, frames, &r);
	expect("unreadable pc", &r, FPI_FP_UNREADABLE, 3, 1, fp[1], fp[2]);

	img.hole_lo = fp[0];
	img.hole_hi = fp[0] + 8;
	walk_both("unreadable start", &img, PC(0), fp[0], 16, frames, &r);
	expect("unreadable start", &r, FPI_FP_UNREADABLE, 1, 0, 0, fp[0]);
	image_fini(&img);
}

/* A deep but valid chain: the cap stops it, and frames are exact up to it. */
static void test_depth(void)
{
	enum { N = 10000 };
	static uint64_t fp[N];
	static struct fpi_fp_frame frames[N + 1];
	struct fpi_fp_result r;
	struct image img;
	size_t size = 0x100 + 16 * N + 0x100;

	image_init(&img, STACK_BASE, size, STACK_BASE, STACK_BASE + size);
	for (size_t k = 0; k < N; k++)
		fp[k] = STACK_BASE + 0x100 + 16 * k;
	chain(&img, fp, N, 0);

	walk_both("depth 100", &img, PC(0), fp[0], 100, frames, &r);
	expect("depth 100", &r, FPI_FP_DEPTH, 100, 0, 0, 0);
	expect_frames("depth 100", frames, fp, 100);
	CHECK_EQ(img.reads, 100, "depth 100: reads");
	expect_why("depth 100", &r, "depth cap of 100 frames");

	walk_both("depth 10000", &img, PC(0), fp[0], N, frames, &r);
	expect("depth 10000", &r, FPI_FP_DEPTH, N, 0, 0, 0);
	walk_both("depth 10001", &img, PC(0), fp[0], N + 1, frames, &r);
	expect("depth 10001", &r, FPI_FP_END, N + 1, 0, 0, 0);
	expect_frames("depth 10001", frames, fp, N);
	expect_frame("depth 10001", frames, N, PC(N), 0);

	/* A cycle from the very end to the very start of a deep chain: the
	 * re-walk without frames is bounded by the depth. */
	put(&img, fp[N - 1], fp[0]);
	walk_both("deep cycle", &img, PC(0), fp[0], N + 1, frames, &r);
	expect("deep cycle", &r, FPI_FP_CYCLE, N + 1, N - 1, fp[N - 1], fp[0]);
	image_fini(&img);
}

static void test_garbage_start(void)
{
	struct fpi_fp_frame frames[4];
	struct fpi_fp_result r;
	struct image img;

	image_init(&img, STACK_BASE, STACK_SIZE, STACK_LO, STACK_HI);
	/* Out of bounds and misaligned: out of bounds is reported. */
	walk_both("0xdeadbeef", &img, PC(0), 0xdeadbeef, 4, frames, &r);
	expect("0xdeadbeef", &r, FPI_FP_OUT_OF_BOUNDS, 1, 0, 0, 0xdeadbeef);
	expect_frame("0xdeadbeef", frames, 0, PC(0), 0xdeadbeef);
	expect_why("0xdeadbeef", &r, "start BP (from registers or g.sched) is 0xdeadbeef");
	CHECK_EQ(img.reads, 0, "0xdeadbeef: reads");

	walk_both("~0", &img, PC(0), ~0ull, 4, frames, &r);
	expect("~0", &r, FPI_FP_OUT_OF_BOUNDS, 1, 0, 0, ~0ull);
	image_fini(&img);
}

static void test_stop_names(void)
{
	static const char *const want[] = {
		"end", "fp-cycle", "fp-out-of-bounds", "fp-not-increasing",
		"fp-misaligned", "fp-unreadable", "depth-cap",
	};
	const enum fpi_fp_stop stops[] = {
		FPI_FP_END, FPI_FP_CYCLE, FPI_FP_OUT_OF_BOUNDS, FPI_FP_NOT_INCREASING,
		FPI_FP_MISALIGNED, FPI_FP_UNREADABLE, FPI_FP_DEPTH,
	};

	for (size_t k = 0; k < sizeof(stops) / sizeof(stops[0]); k++)
		CHECK(strcmp(fpi_fp_stop_name(stops[k]), want[k]) == 0, "stop %zu named \"%s\", expected \"%s\"",
		      k, fpi_fp_stop_name(stops[k]), want[k]);
	CHECK(strcmp(fpi_fp_stop_name((enum fpi_fp_stop)99), "unknown") == 0, "stop 99 named \"%s\"",
	      fpi_fp_stop_name((enum fpi_fp_stop)99));
}

/* ---------------- random images ---------------- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* xorshift64*: reproducible from the seed printed on failure. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static uint64_t rnd_below(uint64_t n)
{
	return rnd() % n;
}

/* A word a stack might hold, biased to make walks long and links varied. */
static uint64_t random_word(uint64_t addr)
{
	uint64_t p = rnd_below(100);

	if (p < 40)  /* a frame pointer anywhere in the stack */
		return STACK_LO + 8 * rnd_below(STACK_SIZE / 8);
	if (p < 60)  /* a plausible caller just above */
		return addr + 16 + 8 * rnd_below(32);
	if (p < 70)
		return 0;
	if (p < 75)  /* a self loop */
		return addr;
	if (p < 85)  /* a neighbouring stack */
		return rnd_below(2) ? STACK_HI + 8 * rnd_below(STACK_SIZE / 8) :
				      STACK_LO - STACK_SIZE + 8 * rnd_below(STACK_SIZE / 8);
	if (p < 90)  /* misaligned inside */
		return STACK_LO + rnd_below(STACK_SIZE);
	return rnd();
}

static bool link_ok(const struct image *img, uint64_t fp)
{
	return fp >= img->lo && fp <= img->hi - 16 && !(fp & 7);
}

static bool in_hole(const struct image *img, uint64_t fp)
{
	return fp < img->hole_hi && fp + 16 > img->hole_lo;
}

static bool visited(const struct fpi_fp_frame *frames, size_t n, uint64_t v)
{
	for (size_t k = 0; k < n; k++)
		if (frames[k].fp == v)
			return true;
	return false;
}

/* Check everything the walker promises about one result; return a
 * description of the first broken promise, or NULL. */
static const char *random_verdict(const struct image *img, uint64_t pc, uint64_t bp, size_t max,
				  const struct fpi_fp_frame *f, const struct fpi_fp_result *r,
				  const struct fpi_fp_result *nul)
{
	size_t n = r->nframes;

	if (!same_result(r, nul))
		return "frames NULL gives a different result";
	if (img->stray_reads)
		return "read outside [lo, hi)";
	if (n > max)
		return "more frames than max_frames";
	if (max == 0)
		return r->stop == FPI_FP_DEPTH && n == 0 ? NULL : "max_frames 0 not a depth stop";
	if (n == 0)
		return "no frame 0";
	if ((unsigned int)r->stop > FPI_FP_DEPTH)
		return "stop out of range";
	if (f[0].pc != pc || f[0].fp != bp)
		return "frame 0 is not (pc, bp)";
	for (size_t k = 1; k < n; k++) {
		uint64_t at = f[k - 1].fp;

		if (!link_ok(img, at) || in_hole(img, at))
			return "followed a link that is not valid";
		if (k >= 2 && at <= f[k - 2].fp)
			return "followed a link that is not increasing";
		if (f[k].fp != get(img, at) || f[k].pc != get(img, at + 8))
			return "frame is not what memory holds";
		if (f[k].pc == 0)
			return "recorded a frame with return pc 0";
	}

	switch (r->stop) {
	case FPI_FP_END:
		if (r->bad_frame || r->bad_addr || r->bad_value || r->why[0])
			return "bad link reported at a natural end";
		if (f[n - 1].fp == 0)
			return NULL;
		if (!link_ok(img, f[n - 1].fp) || get(img, f[n - 1].fp + 8) != 0)
			return "natural end with neither BP 0 nor return pc 0";
		return NULL;
	case FPI_FP_DEPTH:
		if (n != max || r->bad_frame || r->bad_addr || r->bad_value)
			return "depth stop before the cap or with a bad link";
		if (!link_ok(img, f[n - 1].fp) || get(img, f[n - 1].fp + 8) == 0)
			return "depth stop without a caller left";
		return NULL;
	default:
		break;
	}

	/* A bad link: its value is frame n-1's fp, read from frame n-2's slot
	 * or, for frame 0, taken from the registers. */
	if (!r->why[0])
		return "bad link without a why";
	if (r->bad_value != f[n - 1].fp)
		return "bad_value is not the last frame's fp";
	if (r->bad_addr == 0) {
		if (n != 1 || r->bad_frame != 0 || r->bad_value != bp)
			return "bad start BP not reported as frame 0 from registers";
	} else {
		if (n < 2 || r->bad_frame != n - 2 || r->bad_addr != f[n - 2].fp)
			return "bad_frame/bad_addr do not name the slot the value came from";
		if (get(img, r->bad_addr) != r->bad_value)
			return "bad_value is not at bad_addr";
	}
	switch (r->stop) {
	case FPI_FP_OUT_OF_BOUNDS:
		return r->bad_value < img->lo || r->bad_value > img->hi - 16 ? NULL : "in-bounds value called out of bounds";
	case FPI_FP_MISALIGNED:
		return r->bad_value >= img->lo && r->bad_value <= img->hi - 16 && (r->bad_value & 7) ?
		       NULL : "misaligned verdict wrong";
	case FPI_FP_CYCLE:
		return n >= 2 && link_ok(img, r->bad_value) && visited(f, n - 1, r->bad_value) ? NULL :
		       "cycle to a frame not visited";
	case FPI_FP_NOT_INCREASING:
		return n >= 2 && link_ok(img, r->bad_value) && r->bad_value <= f[n - 2].fp &&
		       !visited(f, n - 1, r->bad_value) ? NULL : "not-increasing verdict wrong";
	case FPI_FP_UNREADABLE:
		return link_ok(img, r->bad_value) && in_hole(img, r->bad_value) &&
		       (n < 2 || r->bad_value > f[n - 2].fp) ? NULL : "unreadable verdict wrong";
	default:
		return "unexpected stop";
	}
}

static void test_random(void)
{
	enum { IMAGES = 10000, MAX = 700 };
	static struct fpi_fp_frame frames[MAX];
	struct fpi_fp_result r, nul;
	struct image img;
	unsigned int nbad = 0, stops[FPI_FP_DEPTH + 1] = { 0 };
	const char *first = NULL;
	uint64_t first_seed = 0;

	image_init(&img, STACK_LO - STACK_SIZE, 3 * STACK_SIZE, STACK_LO, STACK_HI);
	for (uint64_t seed = 1; seed <= IMAGES; seed++) {
		struct fpi_mem mem = { .read = image_read, .arg = &img };
		uint64_t pc, bp, p;
		size_t max;
		const char *verdict;

		rng_state = seed * 0x9e3779b97f4a7c15ull;
		for (uint64_t a = img.base; a < img.base + img.size; a += 8)
			put(&img, a, random_word(a));
		img.hole_lo = img.hole_hi = 0;
		if (rnd_below(4) == 0) {
			img.hole_lo = STACK_LO + 8 * rnd_below(STACK_SIZE / 8);
			img.hole_hi = img.hole_lo + 8 + 8 * rnd_below(32);
		}
		p = rnd_below(10);
		bp = p < 7 ? STACK_LO + 8 * rnd_below(STACK_SIZE / 8) :
		     p < 8 ? 0 : p < 9 ? STACK_LO + rnd_below(STACK_SIZE) : rnd();
		pc = rnd() | 1;
		max = rnd_below(8) == 0 ? rnd_below(4) : rnd_below(MAX + 1);

		img.reads = img.stray_reads = 0;
		fpi_fp_walk(&mem, pc, bp, img.lo, img.hi, max, NULL, &nul);
		fpi_fp_walk(&mem, pc, bp, img.lo, img.hi, max, frames, &r);
		if (r.stop <= FPI_FP_DEPTH)
			stops[r.stop]++;
		verdict = random_verdict(&img, pc, bp, max, frames, &r, &nul);
		if (verdict && !nbad++) {
			first = verdict;
			first_seed = seed;
			printf("random seed %" PRIu64 ": %s: stop %s, nframes %zu, bad_frame %zu, bad_addr 0x%"
			       PRIx64 ", bad_value 0x%" PRIx64 ", why \"%s\"\n", seed, verdict,
			       fpi_fp_stop_name(r.stop), r.nframes, r.bad_frame, r.bad_addr, r.bad_value, r.why);
		}
	}
	CHECK(nbad == 0, "%u of %d random images broke a promise, first seed %" PRIu64 ": %s", nbad,
	      IMAGES, first_seed, first ? first : "");
	/* The generator must actually exercise every way out. */
	for (int s = 0; s <= FPI_FP_DEPTH; s++)
		CHECK(stops[s] > 0, "random images never ended in %s", fpi_fp_stop_name((enum fpi_fp_stop)s));
	if (getenv("UNIT_VERBOSE"))
		for (int s = 0; s <= FPI_FP_DEPTH; s++)
			printf("random: %-18s %u\n", fpi_fp_stop_name((enum fpi_fp_stop)s), stops[s]);
	image_fini(&img);
}

int main(void)
{
	test_healthy();
	test_top_of_stack();
	test_cycles();
	test_not_increasing();
	test_out_of_bounds();
	test_misaligned();
	test_unreadable();
	test_depth();
	test_garbage_start();
	test_stop_names();
	test_random();
	return unit_done("unit_fpwalk");
}
