/* Target-independent parts: batching, bookkeeping of threads and mappings. */
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <sys/mman.h>
#include <stdlib.h>
#include <string.h>

#include "target.h"

/* process_vm_readv takes at most IOV_MAX (1024) iovecs a call; keep every
 * backend's batches that size. */
#define FPI_READ_BATCH 1024

struct fpi_target *fpi_target_alloc(const struct fpi_target_ops *ops)
{
	struct fpi_target *t = calloc(1, sizeof(*t));

	if (t)
		t->ops = ops;
	return t;
}

struct fpi_error *fpi_target_readv(struct fpi_target *t, struct fpi_read *reads, size_t n)
{
	for (size_t i = 0; i < n; i += FPI_READ_BATCH) {
		size_t k = n - i < FPI_READ_BATCH ? n - i : FPI_READ_BATCH;
		struct fpi_error *err = t->ops->readv(t, reads + i, k);

		if (err)
			return err;
	}
	return NULL;
}

struct fpi_error *fpi_target_read(struct fpi_target *t, uint64_t addr, void *buf, size_t len)
{
	struct fpi_read r = { .addr = addr, .buf = buf, .len = len };
	struct fpi_error *err;

	if (len == 0)
		return NULL;
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
	if (t->ops->readv(t, &r, 1) || !r.ok) {
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
	free(t->threads);
	free(t->exe_path);
	free(t);
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

struct fpi_error *fpi_target_add_thread(struct fpi_target *t, int tid, const struct fpi_regs *regs)
{
	struct fpi_thread *th;

	if (!grow((void **)&t->threads, t->nthreads, sizeof(*th)))
		return &fpi_enomem;
	th = t->threads;
	th[t->nthreads].tid = tid;
	th[t->nthreads].regs = *regs;
	t->nthreads++;
	return NULL;
}

struct bulk_run {
	uint64_t addr;
	size_t len;
	unsigned char *data;
};

struct bulk_arena {
	size_t nruns;
	struct bulk_run *runs;
	unsigned char *mem;
	size_t mem_len;
};

static int bulk_addr_cmp(const void *a, const void *b)
{
	const struct fpi_bulk *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

void fpi_bulk_free(void *arena)
{
	struct bulk_arena *a = arena;

	if (!a)
		return;
	if (a->mem)
		munmap(a->mem, a->mem_len);
	free(a->runs);
	free(a);
}

/* Runs are capped so one unreadable page costs a retry of a bounded range. */
#define BULK_MAX_RUN (1u << 20)

struct readv_job {
	struct fpi_target *t;
	struct fpi_read *reads;
	size_t n;
	struct fpi_error *err;
};

static void *readv_job_run(void *arg)
{
	struct readv_job *j = arg;

	j->err = fpi_target_readv(j->t, j->reads, j->n);
	return NULL;
}

/* The pause of a live target is set by the number of distinct reads, each
 * a page walk in the kernel: with many of them, two threads halve it (the
 * machines this runs on have two cores or more). */
#define PARALLEL_MIN_READS 4096

static struct fpi_error *readv_parallel(struct fpi_target *t, struct fpi_read *reads, size_t n)
{
	struct readv_job j = { t, reads + n / 2, n - n / 2, NULL };
	struct fpi_error *err;
	pthread_t th;

	if (n < PARALLEL_MIN_READS || strcmp(t->ops->kind, "live") != 0 ||
	    pthread_create(&th, NULL, readv_job_run, &j) != 0)
		return fpi_target_readv(t, reads, n);
	err = fpi_target_readv(t, reads, n / 2);
	pthread_join(th, NULL);
	if (err) {
		fpi_error_destroy(j.err);
		return err;
	}
	return j.err;
}

struct fpi_error *fpi_bulk_read(struct fpi_target *t, struct fpi_bulk *reqs, size_t n,
				size_t max_gap, void **arena_ret)
{
	struct bulk_arena *a = calloc(1, sizeof(*a));
	struct fpi_read *rd = NULL;
	size_t total = 0, off;
	struct fpi_error *err = NULL;

	*arena_ret = NULL;
	if (!a)
		goto nomem;
	for (size_t i = 0; i < n; i++)
		reqs[i].data = NULL;
	qsort(reqs, n, sizeof(*reqs), bulk_addr_cmp);
	a->runs = malloc((n ? n : 1) * sizeof(*a->runs));
	if (!a->runs)
		goto nomem;
	/* Merge into runs. */
	for (size_t k = 0; k < n; k++) {
		const struct fpi_bulk *r = &reqs[k];
		uint64_t end = r->addr + r->len;

		if (r->len == 0 || end < r->addr)
			continue;
		if (a->nruns) {
			struct bulk_run *last = &a->runs[a->nruns - 1];
			uint64_t last_end = last->addr + last->len;

			if (r->addr <= last_end + max_gap && end - last->addr <= BULK_MAX_RUN) {
				if (end > last_end)
					last->len = end - last->addr;
				continue;
			}
		}
		a->runs[a->nruns++] = (struct bulk_run){ r->addr, r->len, NULL };
	}
	for (size_t i = 0; i < a->nruns; i++)
		total += a->runs[i].len;
	/* Not pre-faulted (MAP_POPULATE would do it on one core): the two
	 * reader threads fault their own halves in while copying. Measured at
	 * 100k goroutines, 2 x 10-12 alternating runs: median pause 117-131 ms
	 * this way, 121-141 ms pre-faulted. */
	a->mem_len = total ? total : 1;
	a->mem = mmap(NULL, a->mem_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (a->mem == MAP_FAILED)
		a->mem = NULL;
	rd = malloc((a->nruns ? a->nruns : 1) * sizeof(*rd));
	if (!a->mem || !rd)
		goto nomem;
	off = 0;
	for (size_t i = 0; i < a->nruns; i++) {
		a->runs[i].data = a->mem + off;
		rd[i] = (struct fpi_read){ a->runs[i].addr, a->runs[i].data, a->runs[i].len, false };
		off += a->runs[i].len;
	}
	{
		struct timespec t0, t1;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		err = readv_parallel(t, rd, a->nruns);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (getenv("FPI_TIMING"))
			fprintf(stderr, "timing:   readv %zu runs, %zu bytes: %.1f ms\n", a->nruns, total,
				(t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6);
	}
	if (err)
		goto fail;

	/* Hand out pointers; a request in a failed run is retried alone. */
	{
		size_t run = 0;

		for (size_t k = 0; k < n; k++) {
			struct fpi_bulk *r = &reqs[k];

			if (r->len == 0)
				continue;
			while (run < a->nruns && a->runs[run].addr + a->runs[run].len < r->addr + r->len)
				run++;
			if (run == a->nruns || r->addr < a->runs[run].addr)
				continue;
			if (rd[run].ok) {
				r->data = a->runs[run].data + (r->addr - a->runs[run].addr);
			} else {
				struct fpi_read one = { r->addr, a->runs[run].data + (r->addr - a->runs[run].addr), r->len, false };

				err = t->ops->readv(t, &one, 1);
				if (err)
					goto fail;
				if (one.ok)
					r->data = one.buf;
			}
		}
	}
	free(rd);
	*arena_ret = a;
	return NULL;
nomem:
	err = &fpi_enomem;
fail:
	free(rd);
	fpi_bulk_free(a);
	return err;
}
