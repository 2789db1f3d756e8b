/* Target-independent parts: batching, bookkeeping of threads and mappings. */
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

static int mapping_cmp(const void *a, const void *b)
{
	const struct fpi_mapping *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

struct fpi_error *fpi_target_add_mapping(struct fpi_target *t, uint64_t start, uint64_t end,
					 uint64_t offset, const char *path)
{
	struct fpi_mapping *m = realloc(t->maps, (t->nmaps + 1) * sizeof(*m));

	if (!m)
		return &fpi_enomem;
	t->maps = m;
	m[t->nmaps] = (struct fpi_mapping){ start, end, offset, strdup(path) };
	if (!m[t->nmaps].path)
		return &fpi_enomem;
	t->nmaps++;
	qsort(t->maps, t->nmaps, sizeof(*m), mapping_cmp);
	return NULL;
}

struct fpi_error *fpi_target_add_thread(struct fpi_target *t, int tid, const struct fpi_regs *regs)
{
	struct fpi_thread *th = realloc(t->threads, (t->nthreads + 1) * sizeof(*th));

	if (!th)
		return &fpi_enomem;
	t->threads = th;
	th[t->nthreads].tid = tid;
	th[t->nthreads].regs = *regs;
	t->nthreads++;
	return NULL;
}

const struct fpi_thread *fpi_target_find_thread(const struct fpi_target *t, int tid)
{
	for (size_t i = 0; i < t->nthreads; i++)
		if (t->threads[i].tid == tid)
			return &t->threads[i];
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
};

static const struct fpi_bulk *bulk_sort_base;

static int bulk_idx_cmp(const void *a, const void *b)
{
	const struct fpi_bulk *x = &bulk_sort_base[*(const size_t *)a];
	const struct fpi_bulk *y = &bulk_sort_base[*(const size_t *)b];

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

void fpi_bulk_free(void *arena)
{
	struct bulk_arena *a = arena;

	if (!a)
		return;
	free(a->mem);
	free(a->runs);
	free(a);
}

/* Runs are capped so one unreadable page costs a retry of a bounded range. */
#define BULK_MAX_RUN (1u << 20)

struct fpi_error *fpi_bulk_read(struct fpi_target *t, struct fpi_bulk *reqs, size_t n,
				size_t max_gap, void **arena_ret)
{
	struct bulk_arena *a = calloc(1, sizeof(*a));
	size_t *order = malloc((n ? n : 1) * sizeof(size_t));
	struct fpi_read *rd = NULL;
	size_t total = 0, off;
	struct fpi_error *err = NULL;

	*arena_ret = NULL;
	if (!a || !order)
		goto nomem;
	for (size_t i = 0; i < n; i++) {
		order[i] = i;
		reqs[i].data = NULL;
	}
	bulk_sort_base = reqs;
	qsort(order, n, sizeof(*order), bulk_idx_cmp);
	a->runs = malloc((n ? n : 1) * sizeof(*a->runs));
	if (!a->runs)
		goto nomem;
	/* Merge into runs. */
	for (size_t k = 0; k < n; k++) {
		const struct fpi_bulk *r = &reqs[order[k]];
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
	a->mem = malloc(total ? total : 1);
	rd = malloc((a->nruns ? a->nruns : 1) * sizeof(*rd));
	if (!a->mem || !rd)
		goto nomem;
	off = 0;
	for (size_t i = 0; i < a->nruns; i++) {
		a->runs[i].data = a->mem + off;
		rd[i] = (struct fpi_read){ a->runs[i].addr, a->runs[i].data, a->runs[i].len, false };
		off += a->runs[i].len;
	}
	err = fpi_target_readv(t, rd, a->nruns);
	if (err)
		goto fail;

	/* Hand out pointers; a request in a failed run is retried alone. */
	{
		size_t run = 0;

		for (size_t k = 0; k < n; k++) {
			struct fpi_bulk *r = &reqs[order[k]];

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
	free(order);
	*arena_ret = a;
	return NULL;
nomem:
	err = &fpi_enomem;
fail:
	free(rd);
	free(order);
	fpi_bulk_free(a);
	return err;
}
