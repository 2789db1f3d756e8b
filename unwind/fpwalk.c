/* Validated frame-pointer walk over one stack.
 *
 * The runtime's fpTracebackPCs follows pc = [fp+8]; fp = [fp] without a
 * single check: it only runs on a stack it owns, at points where the chain
 * is sound. We look at stacks from outside, at any instruction, in programs
 * that may have crashed or be running cgo, so every link is checked against
 * what a sound amd64 chain must satisfy before it is followed.
 *
 * Frame i is (pc, fp); the link from frame i to frame i+1 is the 16 bytes at
 * fp(i): [fp(i)] is the caller's saved BP, [fp(i)+8] its return address.
 * A frame is recorded as soon as it is reached, then its fp is validated
 * before anything is read through it. So a bad saved BP found in frame k's
 * slot still leaves frame k+1 in the array, with the return PC (read from
 * the sound frame k) and the bad fp: the caller is known, only its frame
 * pointer is not. The only exception is frame 0, whose fp comes from the
 * registers or g.sched: there bad_frame is 0 and bad_addr 0.
 *
 * Hot path: one 16-byte read and a handful of compares per frame, nothing
 * formatted, nothing allocated. Text is produced only when the walk fails.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "unwind.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* [fp] and [fp+8] must both lie inside the stack. */
#define FP_LINK_SIZE 16

static const char *const stop_names[] = {
	[FPI_FP_END] = "end",
	[FPI_FP_CYCLE] = "fp-cycle",
	[FPI_FP_OUT_OF_BOUNDS] = "fp-out-of-bounds",
	[FPI_FP_NOT_INCREASING] = "fp-not-increasing",
	[FPI_FP_MISALIGNED] = "fp-misaligned",
	[FPI_FP_UNREADABLE] = "fp-unreadable",
	[FPI_FP_DEPTH] = "depth-cap",
};

const char *fpi_fp_stop_name(enum fpi_fp_stop stop)
{
	if ((unsigned int)stop >= ARRAY_SIZE(stop_names) || !stop_names[stop])
		return "unknown";
	return stop_names[stop];
}

#define NOT_VISITED SIZE_MAX

/*
 * Which of frames 0..n-1 has fp v, if any. Their fps passed validation, so
 * they are strictly increasing: a binary search when we kept them, else a
 * re-walk from the start that stops as soon as it passes v. Constant memory
 * either way, and at most n reads.
 */
static size_t find_visited(const struct fpi_mem *mem, const struct fpi_fp_frame *frames,
			   size_t n, uint64_t bp, uint64_t v)
{
	if (frames) {
		size_t a = 0, b = n;

		while (a < b) {
			size_t m = a + (b - a) / 2;

			if (frames[m].fp == v)
				return m;
			if (frames[m].fp < v)
				a = m + 1;
			else
				b = m;
		}
		return NOT_VISITED;
	}

	for (size_t k = 0; k < n; k++) {
		uint64_t next;

		if (bp == v)
			return k;
		if (bp > v || k + 1 == n)
			break;
		/* bp is a validated frame of this walk: the read stays in [lo, hi). */
		if (!mem->read(mem->arg, bp, &next, sizeof(next)) || next <= bp)
			break;  /* memory changed under us: no revisit proven */
		bp = next;
	}
	return NOT_VISITED;
}

/*
 * Record a bad link: frame i's fp was read from the previous frame's
 * saved-BP slot at prev, or from registers / g.sched when i == 0.
 */
static void bad_link(struct fpi_fp_result *ret, enum fpi_fp_stop stop, size_t i,
		     uint64_t prev, uint64_t fp, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

static void bad_link(struct fpi_fp_result *ret, enum fpi_fp_stop stop, size_t i,
		     uint64_t prev, uint64_t fp, const char *fmt, ...)
{
	size_t size = sizeof(ret->why);
	va_list ap;
	int len;

	ret->stop = stop;
	ret->bad_frame = i ? i - 1 : 0;
	ret->bad_addr = i ? prev : 0;
	ret->bad_value = fp;

	if (i)
		/* the caller names the frame: it knows where this walk started */
		len = snprintf(ret->why, size, "saved BP at 0x%" PRIx64 " is 0x%" PRIx64 ": ", prev, fp);
	else
		len = snprintf(ret->why, size,
			       "start BP (from registers or g.sched) is 0x%" PRIx64 ": ", fp);
	if (len < 0 || (size_t)len >= size)
		return;
	va_start(ap, fmt);
	vsnprintf(ret->why + len, size - (size_t)len, fmt, ap);
	va_end(ap);
}

int fpi_fp_link(const struct fpi_mem *mem, const struct fpi_fp_frame *frames, uint64_t fp, size_t i, uint64_t prev,
		uint64_t bp0, uint64_t lo, uint64_t hi, uint64_t link[2], struct fpi_fp_result *ret)
{
	/* A goroutine's outermost frame was entered with BP 0 (gogo from a
	 * fresh g.sched), so 0 is the one legitimate way out. */
	if (fp == 0)
		return 1;

	/*
	 * Out of bounds first: a value outside the owning stack is plainly
	 * not a frame pointer of it, whatever else is wrong with it (the
	 * 0xdeadbeef of a C frame is misaligned too). Never follow it:
	 * above hi usually lies another goroutine's stack, whose frames
	 * look perfectly healthy.
	 */
	if (fp < lo || fp > hi || hi - fp < FP_LINK_SIZE) {
		if (fp >= lo && fp < hi)
			bad_link(ret, FPI_FP_OUT_OF_BOUNDS, i, prev, fp,
				 "less than 16 bytes below the top of the owning stack [0x%" PRIx64 ", 0x%" PRIx64 ")",
				 lo, hi);
		else
			bad_link(ret, FPI_FP_OUT_OF_BOUNDS, i, prev, fp,
				 "outside the owning stack [0x%" PRIx64 ", 0x%" PRIx64 ")", lo, hi);
		return -1;
	}

	/* Every frame pointer is the address of a pushed RBP, and Go keeps
	 * SP 8-byte aligned at every push. */
	if (fp & 7) {
		bad_link(ret, FPI_FP_MISALIGNED, i, prev, fp, "not 8-byte aligned");
		return -1;
	}

	/*
	 * The stack grows down, so every caller's frame is above its
	 * callee's. A value that is not is either a revisit (a cycle, which
	 * the runtime's own walker would loop on forever: the 1.21 mcall
	 * g.sched.bp bug produced exactly a BP that points to itself) or
	 * a stale pointer into a dead frame below.
	 */
	if (i > 0 && fp <= prev) {
		size_t k = find_visited(mem, frames, i, bp0, fp);

		if (k == i - 1)
			bad_link(ret, FPI_FP_CYCLE, i, prev, fp,
				 "it points to its own frame (frame-pointer cycle, the mcall bug behind CL 476235)");
		else if (k != NOT_VISITED)
			bad_link(ret, FPI_FP_CYCLE, i, prev, fp,
				 "it points back to frame %zu (frame-pointer cycle)", k);
		else
			bad_link(ret, FPI_FP_NOT_INCREASING, i, prev, fp,
				 "not above its own frame, though callers' frames sit at higher addresses");
		return -1;
	}

	/* One read per frame: saved BP and return PC together. */
	if (!mem->read(mem->arg, fp, link, 2 * sizeof(uint64_t))) {
		bad_link(ret, FPI_FP_UNREADABLE, i, prev, fp,
			 "[0x%" PRIx64 ", 0x%" PRIx64 ") cannot be read", fp, fp + FP_LINK_SIZE);
		return -1;
	}

	/* A zero return address: the outermost frame of a thread's stack,
	 * called from nowhere. */
	return link[1] == 0;
}

void fpi_fp_walk(const struct fpi_mem *mem, uint64_t pc, uint64_t bp,
		 uint64_t lo, uint64_t hi, size_t max_frames,
		 struct fpi_fp_frame *frames, struct fpi_fp_result *ret)
{
	uint64_t fp = bp, prev = 0;
	size_t i = 0;

	ret->nframes = 0;
	ret->stop = FPI_FP_END;
	ret->bad_frame = 0;
	ret->bad_addr = 0;
	ret->bad_value = 0;
	ret->why[0] = '\0';

	if (max_frames == 0) {
		ret->stop = FPI_FP_DEPTH;
		snprintf(ret->why, sizeof(ret->why), "depth cap of 0 frames: nothing walked");
		return;
	}

	for (;;) {
		uint64_t link[2];

		if (frames) {
			frames[i].pc = pc;
			frames[i].fp = fp;
		}
		ret->nframes = i + 1;
		if (fpi_fp_link(mem, frames, fp, i, prev, bp, lo, hi, link, ret) != 0)
			return;

		/* Checked only now so that DEPTH means a caller really exists. */
		if (i + 1 >= max_frames) {
			ret->stop = FPI_FP_DEPTH;
			snprintf(ret->why, sizeof(ret->why),
				 "depth cap of %zu frames reached: frame %zu (fp 0x%" PRIx64 ") has a caller at pc 0x%" PRIx64 " not walked",
				 max_frames, i, fp, link[1]);
			return;
		}

		prev = fp;
		fp = link[0];
		pc = link[1];
		i++;
	}
}
