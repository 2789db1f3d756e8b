/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The target interface: threads, registers, memory. Every front door (ptrace,
 * core file, GDB, a test's memory image) fills the same table; everything
 * above it is oblivious to which one it talks to. */
#ifndef FPI_TARGET_H
#define FPI_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "arch.h"     /* registers and mappings are the unwinder's types */

struct fpi_target_thread {
	int tid;
	struct fpi_regs regs;
};

/* One range to read. The target sets ok when all len bytes were read. */
struct fpi_read {
	uint64_t addr;
	void *buf;
	size_t len;
	bool ok;
};

/* Memory the target can be read at, as far as its mappings say: readable
 * mappings, adjacent ones merged. A hint for refusing garbage addresses
 * without a system call each; the backend's read has the last word. */
struct fpi_region {
	uint64_t start, end;
};

/* No user-space address lies above this on amd64 (5-level paging). */
#define FPI_USER_TOP (1ull << 56)

/* A range that can be an address range of user memory at all: not empty,
 * not wrapping past 2^64, below FPI_USER_TOP. Target memory is untrusted:
 * every address and length computed from it is checked before use. */
static inline bool fpi_range_ok(uint64_t addr, size_t len)
{
	return len > 0 && addr < FPI_USER_TOP && len <= FPI_USER_TOP - addr;
}

struct fpi_target;

struct fpi_target_ops {
	const char *kind; /* "live", "core", "custom": a name to show, never to branch on */
	/* What the target is, as capabilities: */
	bool stops;          /* a live process, stopped until released: nothing is read
				after that, so what later commands walk is copied first,
				and the stop is a pause worth reporting */
	bool parallel_reads; /* a second reader thread speeds bulk reads up */
	bool host_reads;     /* each read crosses into a host debugger (the GDB plugin):
				what bt all and check walk is copied in one bulk read first */
	bool post_mortem;    /* a core: it records the signal it was written for, and
				how its executable was matched (exe_check) */
	/* Read many ranges. A range that cannot be read gets ok = false; an
	 * error return is for failures of the target itself. Required. */
	struct fpi_error *(*readv)(struct fpi_target *t, struct fpi_read *reads, size_t n);
	/* Let the process go on (live targets). NULL: nothing to do. For
	 * targets that stop, async-signal-safe (fpi_target_detach_async). */
	void (*release)(struct fpi_target *t);
	/* Free the private part. NULL-safe on t->priv. */
	void (*destroy)(struct fpi_target *t);
};

struct fpi_target {
	const struct fpi_target_ops *ops;
	void *priv;
	char *exe_path;            /* the executable to load DWARF from */
	const struct fpi_arch_info *arch; /* the machine its registers are of (amd64 unless the target says) */
	int pid;                   /* 0 when unknown */
	struct fpi_target_thread *threads;
	size_t nthreads;
	struct fpi_mapping *maps;  /* file-backed mappings, sorted by start */
	size_t nmaps;
	/* readable memory, sorted, disjoint; known false (GDB's targets):
	 * every range that passes fpi_range_ok may be readable */
	struct fpi_region *regions;
	size_t nregions;
	bool regions_known;
	double pause_seconds;      /* live: first thread stopped to last released */
	/* cores: the signal the core was written for, from the first
	 * NT_PRSTATUS (the thread that took it: signal_tid) and NT_SIGINFO (the
	 * faulting address of SIGSEGV, SIGBUS, SIGILL, SIGFPE); 0 when the core
	 * records none, and for other targets */
	int signal, signal_tid;
	uint64_t signal_addr;
	bool signal_has_addr;
	bool released;
	/* a stopping target has begun to stop threads (set before the first
	 * is stopped): from then on there is something to detach */
	volatile bool stopping;
	char *exe_check;           /* post mortem: how the executable was matched to the core */
	/* The vDSO: AT_SYSINFO_EHDR (0: unknown) and its ELF image, read from
	 * the target's memory by fpi_target_load_vdso (it has no file) */
	uint64_t vdso;
	unsigned char *vdso_image;
	size_t vdso_len;
};

/* Read exactly len bytes at addr, or fail with FPI_ERR_FAULT naming addr. */
struct fpi_error *fpi_target_read(struct fpi_target *t, uint64_t addr, void *buf, size_t len);
/* Read many ranges, batched; sets each ok. */
struct fpi_error *fpi_target_readv(struct fpi_target *t, struct fpi_read *reads, size_t n);
/* Convenience: read a uint64 (0 and false when unreadable). */
bool fpi_target_read_u64(struct fpi_target *t, uint64_t addr, uint64_t *ret);
void fpi_target_release(struct fpi_target *t);
/* Let a stopped process go from a signal handler: async-signal-safe, no
 * copy, no reading afterwards. True when it had threads stopped (or being
 * stopped) and let them go; false when there was nothing to let go. */
bool fpi_target_detach_async(struct fpi_target *t);
/* Copy the vDSO's ELF image from the target's memory (t->vdso set): it
 * never changes, so a live process need not be stopped for it. Bad images
 * (garbage at the address) are no error: the vDSO is then not a module. */
void fpi_target_load_vdso(struct fpi_target *t);
/* [addr, addr + len) passes fpi_range_ok and lies in one readable region
 * (when the regions are known). */
bool fpi_target_readable(const struct fpi_target *t, uint64_t addr, size_t len);
/* The end of the readable region holding addr: 0 when addr is not
 * readable, FPI_USER_TOP when the regions are unknown. */
uint64_t fpi_target_readable_end(const struct fpi_target *t, uint64_t addr);
/* Bytes of readable memory in all (0 when unknown). */
uint64_t fpi_target_readable_bytes(const struct fpi_target *t);
void fpi_target_destroy(struct fpi_target *t);

/* In an array of n elements of size bytes sorted by the uint64_t at offset
 * off of each: how many have it <= key (so element [result - 1] is the last
 * one starting at or below key). */
size_t fpi_count_le(const void *base, size_t n, size_t size, size_t off, uint64_t key);

/* Common helpers for target implementations. */
struct fpi_target *fpi_target_alloc(const struct fpi_target_ops *ops);
struct fpi_error *fpi_target_add_mapping(struct fpi_target *t, uint64_t start, uint64_t end,
					 uint64_t offset, const char *path);
struct fpi_error *fpi_target_add_thread(struct fpi_target *t, int tid, const struct fpi_regs *regs);
/* Regions are added in address order (merged with the last when adjacent
 * or overlapping); clear drops them all and marks them known. */
void fpi_target_clear_regions(struct fpi_target *t);
struct fpi_error *fpi_target_add_region(struct fpi_target *t, uint64_t start, uint64_t end);

/* Live process through ptrace (target_ptrace.c), in two steps: open
 * (executable, mappings; nothing stopped yet), so that ELF and DWARF can be
 * loaded before the process pays for it; then stop every thread and read
 * registers. */
struct fpi_error *fpi_target_ptrace_open(pid_t pid, struct fpi_target **ret);
struct fpi_error *fpi_target_ptrace_stop(struct fpi_target *t);

/* Core file (target_core.c). exe may be NULL: taken from the core. */
struct fpi_error *fpi_target_open_core(const char *core, const char *exe, struct fpi_target **ret);

/* A target whose memory comes through a callback (target_image.c): the GDB
 * plugin's; threads and mappings are added by the caller. */
typedef bool (*fpi_image_read_fn)(void *arg, uint64_t addr, void *buf, size_t len);
struct fpi_target *fpi_target_image_create(const char *exe_path, fpi_image_read_fn fn, void *arg);
/* Batches of more than one range go to fn (NULL: one range at a time
 * through the read callback); only ranges that pass fpi_range_ok reach it.
 * True when the target answered (each ok set), false when it failed. */
typedef bool (*fpi_image_readv_fn)(void *arg, struct fpi_read *reads, size_t n);
void fpi_target_image_set_readv(struct fpi_target *t, fpi_image_readv_fn fn);


/* Bulk reads: many ranges, sorted and merged into runs (ranges closer than
 * max_gap are read as one), each run read once. The call sorts reqs by
 * address in place; then every request's data points into an arena (NULL
 * when unreadable). Few large
 * reads instead of many small ones: the pause is set by the number of
 * distinct reads, not by bytes. */
struct fpi_bulk {
	uint64_t addr;
	size_t len;
	const unsigned char *data;
};
void fpi_bulk_free(void *arena);
struct fpi_error *fpi_bulk_read(struct fpi_target *t, struct fpi_bulk *reqs, size_t n,
				size_t max_gap, void **arena_ret);
/* Sort ranges by address (what fpi_bulk_read does first). */
void fpi_bulk_sort(struct fpi_bulk *reqs, size_t n);

/* The same in steps, for a read planned before a live process stops and
 * done while it is stopped, beside other work:
 *   plan    sorts and merges reqs, maps the arena (faulted in when
 *           prefault: that costs as much as the reading, so it is done
 *           before the stop); reads nothing;
 *   start   lets a background thread read (live targets, many runs);
 *   finish  reads what is left on the calling thread, waits for the other;
 *   find    the copy of [addr, addr + len) if one run that was read holds it;
 *   runs    the runs that were read, as fpi_bulk (out may be NULL: count);
 *   all_read  finished, and every run was read whole.
 * The set is freed with fpi_bulk_free (which stops a reader still going). */
struct fpi_bulk_set;
struct fpi_error *fpi_bulk_plan(struct fpi_bulk *reqs, size_t n, size_t max_gap, bool prefault,
				struct fpi_bulk_set **ret);
void fpi_bulk_start(struct fpi_bulk_set *b, struct fpi_target *t);
struct fpi_error *fpi_bulk_finish(struct fpi_bulk_set *b, struct fpi_target *t);
const unsigned char *fpi_bulk_find(const struct fpi_bulk_set *b, uint64_t addr, size_t len);
size_t fpi_bulk_runs(const struct fpi_bulk_set *b, struct fpi_bulk *out);
bool fpi_bulk_all_read(const struct fpi_bulk_set *b);
#endif
