/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Target-independent parts: batching, bookkeeping of threads and mappings. */
#include <elf.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>
#include <sys/mman.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "target.h"

/* process_vm_readv takes at most IOV_MAX (1024) iovecs a call; keep every
 * backend's batches that size. */
#define FPI_READ_BATCH 1024

size_t fpi_count_le(const void *base, size_t n, size_t size, size_t off, uint64_t key)
{
	const unsigned char *p = base;
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint64_t v;

		memcpy(&v, p + mid * size + off, sizeof(v));
		if (v <= key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct fpi_target *fpi_target_alloc(const struct fpi_target_ops *ops)
{
	struct fpi_target *t = calloc(1, sizeof(*t));

	if (t) {
		t->ops = ops;
		t->arch = &fpi_arch_amd64;
	}
	return t;
}

struct fpi_error *fpi_target_readv(struct fpi_target *t, struct fpi_read *reads, size_t n)
{
	size_t i = 0;

	/* ranges that cannot be user memory never reach a backend: runs of
	 * sane ones go in batches */
	while (i < n) {
		size_t k = 0;
		struct fpi_error *err;

		while (i < n && !fpi_range_ok(reads[i].addr, reads[i].len))
			reads[i++].ok = false;
		while (i + k < n && k < FPI_READ_BATCH && fpi_range_ok(reads[i + k].addr, reads[i + k].len))
			k++;
		if (k == 0)
			break;
		err = t->ops->readv(t, reads + i, k);
		if (err)
			return err;
		i += k;
	}
	return NULL;
}

struct fpi_error *fpi_target_read(struct fpi_target *t, uint64_t addr, void *buf, size_t len)
{
	struct fpi_read r = { .addr = addr, .buf = buf, .len = len };
	struct fpi_error *err;

	if (len == 0)
		return NULL;
	if (!fpi_range_ok(addr, len))
		return fpi_error_create(FPI_ERR_FAULT, "0x%llx (%zu bytes) is not an address of user memory",
					(unsigned long long)addr, len);
	err = t->ops->readv(t, &r, 1);
	if (err)
		return err;
	if (!r.ok)
		return fpi_error_create(FPI_ERR_FAULT, "cannot read %zu bytes of target memory at 0x%llx",
					len, (unsigned long long)addr);
	return NULL;
}

bool fpi_target_read_u64(struct fpi_target *t, uint64_t addr, uint64_t *ret)
{
	struct fpi_read r = { .addr = addr, .buf = ret, .len = 8 };

	*ret = 0;
	if (!fpi_range_ok(addr, 8) || t->ops->readv(t, &r, 1) || !r.ok) {
		*ret = 0;
		return false;
	}
	return true;
}

void fpi_target_release(struct fpi_target *t)
{
	if (t && !t->released) {
		if (t->ops->release)
			t->ops->release(t);
		t->released = true;
	}
}

bool fpi_target_detach_async(struct fpi_target *t)
{
	if (!t || t->released || !t->stopping || !t->ops->release)
		return false;
	t->ops->release(t);
	t->released = true;
	return true;
}

/* The region holding addr, or NULL. */
static const struct fpi_region *region_of(const struct fpi_target *t, uint64_t addr)
{
	size_t k = fpi_count_le(t->regions, t->nregions, sizeof(*t->regions), offsetof(struct fpi_region, start), addr);

	return k && addr < t->regions[k - 1].end ? &t->regions[k - 1] : NULL;
}

bool fpi_target_readable(const struct fpi_target *t, uint64_t addr, size_t len)
{
	const struct fpi_region *r;

	if (!fpi_range_ok(addr, len))
		return false;
	if (!t->regions_known)
		return true;
	r = region_of(t, addr);
	return r && len <= r->end - addr;
}

uint64_t fpi_target_readable_end(const struct fpi_target *t, uint64_t addr)
{
	const struct fpi_region *r;

	if (!fpi_range_ok(addr, 1))
		return 0;
	if (!t->regions_known)
		return FPI_USER_TOP;
	r = region_of(t, addr);
	return r ? r->end : 0;
}

uint64_t fpi_target_readable_bytes(const struct fpi_target *t)
{
	uint64_t total = 0;

	for (size_t i = 0; t->regions_known && i < t->nregions; i++)
		total += t->regions[i].end - t->regions[i].start;
	return total;
}

void fpi_target_destroy(struct fpi_target *t)
{
	if (!t)
		return;
	fpi_target_release(t);
	if (t->ops->destroy)
		t->ops->destroy(t);
	for (size_t i = 0; i < t->nmaps; i++)
		free(t->maps[i].path);
	free(t->maps);
	free(t->regions);
	free(t->threads);
	free(t->exe_path);
	free(t->vdso_image);
	free(t->exe_check);
	free(t);
}

static bool read_quiet(struct fpi_target *t, uint64_t addr, void *buf, size_t len)
{
	struct fpi_error *err = fpi_target_read(t, addr, buf, len);

	fpi_error_destroy(err);
	return err == NULL;
}

void fpi_target_load_vdso(struct fpi_target *t)
{
	Elf64_Ehdr eh;
	uint64_t len;
	unsigned char *img;

	if (!t->vdso || t->vdso_image || !read_quiet(t, t->vdso, &eh, sizeof(eh)))
		return;
	/* the image is what its section headers (at its end) still cover;
	 * Linux's vDSO is two to four pages */
	len = eh.e_shoff + (uint64_t)eh.e_shnum * eh.e_shentsize;
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_shentsize != sizeof(Elf64_Shdr) || eh.e_shoff < sizeof(eh) || len > (1u << 20))
		return;
	img = malloc(len);
	if (!img)
		return;
	if (!read_quiet(t, t->vdso, img, len)) {
		free(img);
		return;
	}
	t->vdso_image = img;
	t->vdso_len = len;
}

/* Capacities double (counts may come from untrusted input: no quadratic
 * growth); mappings stay sorted by start, inserted in place. */
static bool grow(void **v, size_t n, size_t elem)
{
	void *p;

	/* capacity: 16, then powers of two; full when n is 0 or one of them */
	if (n != 0 && (n < 16 || (n & (n - 1)) != 0))
		return true;
	p = realloc(*v, (n ? 2 * n : 16) * elem);
	if (!p)
		return false;
	*v = p;
	return true;
}

struct fpi_error *fpi_target_add_mapping(struct fpi_target *t, uint64_t start, uint64_t end,
					 uint64_t offset, const char *path)
{
	struct fpi_mapping *m;
	size_t pos;

	if (!grow((void **)&t->maps, t->nmaps, sizeof(*m)))
		return &fpi_enomem;
	m = t->maps;
	pos = t->nmaps;
	if (pos > 0 && m[pos - 1].start > start) {
		/* out of order (rare: /proc and NT_FILE list by address) */
		pos = 0;
		while (pos < t->nmaps && m[pos].start <= start)
			pos++;
		memmove(&m[pos + 1], &m[pos], (t->nmaps - pos) * sizeof(*m));
	}
	m[pos] = (struct fpi_mapping){ start, end, offset, strdup(path) };
	t->nmaps++;
	if (!m[pos].path)
		return &fpi_enomem;
	return NULL;
}

void fpi_target_clear_regions(struct fpi_target *t)
{
	free(t->regions);
	t->regions = NULL;
	t->nregions = 0;
	t->regions_known = true;
}

struct fpi_error *fpi_target_add_region(struct fpi_target *t, uint64_t start, uint64_t end)
{
	struct fpi_region *last = t->nregions ? &t->regions[t->nregions - 1] : NULL;

	t->regions_known = true;
	if (start >= end)
		return NULL;
	if (last && start <= last->end && start >= last->start) {
		if (end > last->end)
			last->end = end;
		return NULL;
	}
	if (last && start < last->start)
		return NULL; /* out of order: callers add by address; a hint may miss one */
	if (!grow((void **)&t->regions, t->nregions, sizeof(*t->regions)))
		return &fpi_enomem;
	t->regions[t->nregions++] = (struct fpi_region){ start, end };
	return NULL;
}

struct fpi_error *fpi_target_add_thread(struct fpi_target *t, int tid, const struct fpi_regs *regs)
{
	struct fpi_target_thread *th;

	if (!grow((void **)&t->threads, t->nthreads, sizeof(*th)))
		return &fpi_enomem;
	th = t->threads;
	th[t->nthreads].tid = tid;
	th[t->nthreads].regs = *regs;
	t->nthreads++;
	return NULL;
}

/* ---- bulk reads ----
 *
 * A bulk set is a list of ranges sorted and merged into runs, with one
 * arena holding a copy of every run. Planning (sorting, merging, mapping
 * the arena, faulting it in) needs no stopped process; reading does. The
 * reading is shared out in chunks of runs between a background reader and
 * the caller, so that a set planned before a live process stops can be read
 * while the caller takes the snapshot. */

struct bulk_run {
	uint64_t addr;
	size_t len;
	unsigned char *data;
};

struct fpi_bulk_set {
	struct fpi_target *t;
	struct bulk_run *runs;
	struct fpi_read *rd;      /* one per run */
	size_t nruns;
	unsigned char *mem;
	size_t mem_len;
	atomic_size_t next;       /* first run nobody has taken yet */
	pthread_mutex_t lock;
	struct fpi_error *err;    /* the first failure of the target itself */
	pthread_t reader;
	bool reading;             /* the background reader runs */
	bool done;                /* every run was read (or the read failed) */
};

/* Runs are capped so one unreadable page costs a retry of a bounded range. */
#define BULK_MAX_RUN (1u << 20)
/* Runs a reader takes at a time: one process_vm_readv call's worth. */
#define BULK_CHUNK 256
/* Below this many runs a second reader costs more than it saves. */
#define BULK_PARALLEL_MIN 4096

static int bulk_addr_cmp(const void *a, const void *b)
{
	const struct fpi_bulk *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* LSD radix sort by address, 11 bits a pass, passes whose digit is the
 * same for all skipped (addresses share their high bits): stacks are not
 * in g order, and qsort's element copies of 100k ranges cost more than
 * the reading of the goroutines command's stack tops. False: no memory. */
#define RADIX_BITS 11
#define RADIX_PASSES ((64 + RADIX_BITS - 1) / RADIX_BITS)

static bool bulk_radix_sort(struct fpi_bulk *reqs, size_t n)
{
	static const size_t nb = (size_t)1 << RADIX_BITS;
	size_t (*count)[1 << RADIX_BITS] = calloc(RADIX_PASSES, sizeof(*count));
	struct fpi_bulk *tmp = malloc(n * sizeof(*tmp)), *a = reqs, *b = tmp;

	if (!count || !tmp) {
		free(count);
		free(tmp);
		return false;
	}
	for (size_t i = 0; i < n; i++)
		for (int p = 0; p < RADIX_PASSES; p++)
			count[p][(reqs[i].addr >> (p * RADIX_BITS)) & (nb - 1)]++;
	for (int p = 0; p < RADIX_PASSES; p++) {
		size_t sum = 0, *c = count[p];
		bool one = false;

		for (size_t d = 0; d < nb && !one; d++)
			one = c[d] == n;
		if (one)
			continue;
		for (size_t d = 0; d < nb; d++) {
			size_t k = c[d];

			c[d] = sum;
			sum += k;
		}
		for (size_t i = 0; i < n; i++)
			b[c[(a[i].addr >> (p * RADIX_BITS)) & (nb - 1)]++] = a[i];
		{
			struct fpi_bulk *t = a;

			a = b, b = t;
		}
	}
	if (a != reqs)
		memcpy(reqs, a, n * sizeof(*reqs));
	free(count);
	free(tmp);
	return true;
}

/* Sort by address: stacks and gs come mostly in address order already, so
 * a pass that finds them sorted saves the sort. */
void fpi_bulk_sort(struct fpi_bulk *reqs, size_t n)
{
	for (size_t i = 1; i < n; i++)
		if (reqs[i].addr < reqs[i - 1].addr) {
			if (n < 256 || !bulk_radix_sort(reqs, n))
				qsort(reqs, n, sizeof(*reqs), bulk_addr_cmp);
			return;
		}
}

void fpi_bulk_free(void *arena)
{
	struct fpi_bulk_set *b = arena;

	if (!b)
		return;
	if (b->reading) {
		atomic_store(&b->next, b->nruns); /* stop after the current chunk */
		pthread_join(b->reader, NULL);
	}
	if (b->mem)
		munmap(b->mem, b->mem_len);
	fpi_error_destroy(b->err);
	pthread_mutex_destroy(&b->lock);
	free(b->runs);
	free(b->rd);
	free(b);
}

struct fpi_error *fpi_bulk_plan(struct fpi_bulk *reqs, size_t n, size_t max_gap, bool prefault,
				struct fpi_bulk_set **ret)
{
	struct fpi_bulk_set *b = calloc(1, sizeof(*b));
	size_t total = 0, off = 0;

	*ret = NULL;
	if (!b)
		return &fpi_enomem;
	pthread_mutex_init(&b->lock, NULL);
	atomic_init(&b->next, 0);
	for (size_t i = 0; i < n; i++)
		reqs[i].data = NULL;
	fpi_bulk_sort(reqs, n);
	b->runs = malloc((n ? n : 1) * sizeof(*b->runs));
	if (!b->runs)
		goto nomem;
	for (size_t k = 0; k < n; k++) {
		const struct fpi_bulk *r = &reqs[k];
		uint64_t end = r->addr + r->len;

		if (!fpi_range_ok(r->addr, r->len))
			continue;
		if (b->nruns) {
			struct bulk_run *last = &b->runs[b->nruns - 1];
			uint64_t last_end = last->addr + last->len;

			/* Overlapping ranges always share a run: the arena then
			 * holds each byte once, however many ranges (garbage
			 * stack bounds, say) claim it, and every range lies in
			 * one run. */
			if (r->addr < last_end || (r->addr <= last_end + max_gap && end - last->addr <= BULK_MAX_RUN)) {
				if (end > last_end)
					last->len = end - last->addr;
				continue;
			}
		}
		b->runs[b->nruns++] = (struct bulk_run){ r->addr, r->len, NULL };
	}
	for (size_t i = 0; i < b->nruns; i++)
		total += b->runs[i].len;
	/* Faulting the arena in costs about as much as reading into it: a set
	 * planned before the stop has it done then (prefault); otherwise the
	 * readers fault in what they write, on both cores. */
	b->mem_len = total ? total : 1;
	b->mem = mmap(NULL, b->mem_len, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | (prefault ? MAP_POPULATE : 0), -1, 0);
	if (b->mem == MAP_FAILED)
		b->mem = NULL;
	b->rd = malloc((b->nruns ? b->nruns : 1) * sizeof(*b->rd));
	if (!b->mem || !b->rd)
		goto nomem;
	for (size_t i = 0; i < b->nruns; i++) {
		b->runs[i].data = b->mem + off;
		b->rd[i] = (struct fpi_read){ b->runs[i].addr, b->runs[i].data, b->runs[i].len, false };
		off += b->runs[i].len;
	}
	*ret = b;
	return NULL;
nomem:
	fpi_bulk_free(b);
	return &fpi_enomem;
}

static void bulk_work(struct fpi_bulk_set *b)
{
	for (;;) {
		size_t i = atomic_fetch_add(&b->next, BULK_CHUNK), k;
		struct fpi_error *err;

		if (i >= b->nruns)
			return;
		k = b->nruns - i < BULK_CHUNK ? b->nruns - i : BULK_CHUNK;
		err = fpi_target_readv(b->t, b->rd + i, k);
		if (err) {
			pthread_mutex_lock(&b->lock);
			if (!b->err)
				b->err = err;
			else
				fpi_error_destroy(err);
			pthread_mutex_unlock(&b->lock);
			atomic_store(&b->next, b->nruns);
			return;
		}
	}
}

static void *bulk_reader(void *arg)
{
	bulk_work(arg);
	return NULL;
}

void fpi_bulk_start(struct fpi_bulk_set *b, struct fpi_target *t)
{
	b->t = t;
	if (b->reading || b->done)
		return;
	/* A thread would only read a core's mmap'ed file twice as slowly. */
	if (b->nruns < BULK_PARALLEL_MIN || !t->ops->parallel_reads)
		return;
	b->reading = pthread_create(&b->reader, NULL, bulk_reader, b) == 0;
}

struct fpi_error *fpi_bulk_finish(struct fpi_bulk_set *b, struct fpi_target *t)
{
	struct fpi_error *err;

	if (!b->done) {
		b->t = t;
		bulk_work(b);
		if (b->reading)
			pthread_join(b->reader, NULL);
		b->reading = false;
		b->done = true;
	}
	err = b->err;
	b->err = NULL;
	return err;
}

const unsigned char *fpi_bulk_find(const struct fpi_bulk_set *b, uint64_t addr, size_t len)
{
	size_t lo;

	if (!b || !b->done)
		return NULL;
	lo = fpi_count_le(b->runs, b->nruns, sizeof(*b->runs), offsetof(struct bulk_run, addr), addr);
	if (lo == 0 || !b->rd[lo - 1].ok)
		return NULL;
	{
		const struct bulk_run *r = &b->runs[lo - 1];

		if (addr - r->addr <= r->len && len <= r->len - (addr - r->addr))
			return r->data + (addr - r->addr);
	}
	return NULL;
}

size_t fpi_bulk_runs(const struct fpi_bulk_set *b, struct fpi_bulk *out)
{
	size_t k = 0;

	for (size_t i = 0; b && b->done && i < b->nruns; i++)
		if (b->rd[i].ok) {
			if (out)
				out[k] = (struct fpi_bulk){ b->runs[i].addr, b->runs[i].len, b->runs[i].data };
			k++;
		}
	return k;
}

bool fpi_bulk_all_read(const struct fpi_bulk_set *b)
{
	if (!b || !b->done)
		return false;
	for (size_t i = 0; i < b->nruns; i++)
		if (!b->rd[i].ok)
			return false;
	return true;
}

struct fpi_error *fpi_bulk_read(struct fpi_target *t, struct fpi_bulk *reqs, size_t n,
				size_t max_gap, void **arena_ret)
{
	struct fpi_bulk_set *b;
	struct fpi_error *err;
	struct timespec t0, t1;
	size_t run = 0;

	*arena_ret = NULL;
	err = fpi_bulk_plan(reqs, n, max_gap, false, &b);
	if (err)
		return err;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	fpi_bulk_start(b, t);
	err = fpi_bulk_finish(b, t);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (getenv("FPI_TIMING") && b->nruns >= BULK_PARALLEL_MIN)
		fprintf(stderr, "timing:   readv %zu runs, %zu bytes: %.1f ms\n", b->nruns, b->mem_len,
			(t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6);
	if (err) {
		fpi_bulk_free(b);
		return err;
	}
	/* Hand out pointers; a request in a failed run is retried alone. */
	for (size_t k = 0; k < n; k++) {
		struct fpi_bulk *r = &reqs[k];

		if (!fpi_range_ok(r->addr, r->len))
			continue;
		while (run < b->nruns && b->runs[run].addr + b->runs[run].len < r->addr + r->len)
			run++;
		if (run == b->nruns || r->addr < b->runs[run].addr)
			continue;
		if (b->rd[run].ok) {
			r->data = b->runs[run].data + (r->addr - b->runs[run].addr);
		} else {
			struct fpi_read one = { r->addr, b->runs[run].data + (r->addr - b->runs[run].addr), r->len, false };

			err = t->ops->readv(t, &one, 1);
			if (err) {
				fpi_bulk_free(b);
				return err;
			}
			if (one.ok)
				r->data = one.buf;
		}
	}
	*arena_ret = b;
	return NULL;
}
