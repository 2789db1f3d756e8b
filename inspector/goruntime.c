/* The snapshot: allgs read as one pointer array and the g structs in merged
 * runs; allm followed link by link (a handful of Ms); each thread mapped to
 * its M by m.procid, and to the stack its SP is on. */
#include <stdlib.h>
#include <string.h>

#include "goruntime.h"

/* Sanity caps on counts read from target memory (untrusted). */
#define MAX_GS (64u << 20)
#define MAX_MS 100000

const char *go_stack_kind_name(enum go_stack_kind k)
{
	switch (k) {
	case GO_STACK_G0: return "g0";
	case GO_STACK_GSIGNAL: return "gsignal";
	case GO_STACK_CURG: return "curg";
	default: return "other";
	}
}

bool go_g_is_dead(const struct go_layout *l, const struct go_g *g)
{
	uint32_t st = g->status & ~l->gscan;

	return (l->gdead >= 0 && st == (uint32_t)l->gdead) ||
	       (l->gdeadextra >= 0 && st == (uint32_t)l->gdeadextra);
}

const struct go_g *go_find_g_addr(const struct go_snapshot *s, uint64_t addr)
{
	size_t lo = 0, hi = s->ngs;

	/* gs are kept sorted by address (see go_snapshot_read) */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->gs[mid].addr == addr)
			return &s->gs[mid];
		if (s->gs[mid].addr < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const struct go_m *go_find_m_addr(const struct go_snapshot *s, uint64_t addr)
{
	for (size_t i = 0; addr && i < s->nms; i++)
		if (s->ms[i].addr == addr)
			return &s->ms[i];
	return NULL;
}

bool go_g_status_is(const struct go_layout *l, const struct go_g *g, const char *name)
{
	return strcmp(go_status_name(l, g->status & ~l->gscan), name) == 0;
}

int go_m_claims_c(const struct go_m *m)
{
	if (!m)
		return 0;
	if (m->ncgo > 0 || m->isextra == 1)
		return 1;
	return m->isextra < 0 ? GO_NA : 0;
}

const struct go_g *go_find_g(const struct go_snapshot *s, uint64_t goid)
{
	for (size_t i = 0; i < s->ngs; i++)
		if (s->gs[i].goid == goid)
			return &s->gs[i];
	return NULL;
}

/* After fpi_bulk_read sorted them: the data read at addr (small n only). */
static const unsigned char *bulk_find(const struct fpi_bulk *reqs, size_t n, uint64_t addr)
{
	for (size_t i = 0; addr && i < n; i++)
		if (reqs[i].addr == addr && reqs[i].len)
			return reqs[i].data;
	return NULL;
}

static void decode_g(const struct go_layout *l, const unsigned char *b, uint64_t addr, struct go_g *g)
{
	g->addr = addr;
	g->goid = go_get(b, l->g_goid);
	g->status = go_get(b, l->g_atomicstatus);
	g->waitreason = go_has(l->g_waitreason) ? (int)go_get(b, l->g_waitreason) : GO_NA;
	g->m = go_get(b, l->g_m);
	g->mid = -1;
	g->sched_sp = go_get(b, l->g_sched_sp);
	g->sched_pc = go_get(b, l->g_sched_pc);
	g->sched_bp = go_get(b, l->g_sched_bp);
	g->syscallsp = go_get(b, l->g_syscallsp);
	g->syscallpc = go_get(b, l->g_syscallpc);
	g->syscallbp = go_get(b, l->g_syscallbp);
	g->stack_lo = go_get(b, l->g_stack_lo);
	g->stack_hi = go_get(b, l->g_stack_hi);
	g->gopc = go_get(b, l->g_gopc);
	g->startpc = go_get(b, l->g_startpc);
	g->lockedm = go_get(b, l->g_lockedm);
	g->parentgoid = go_has(l->g_parentgoid) ? (int64_t)go_get(b, l->g_parentgoid) : GO_NA;
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* g structs sit together in heap spans. Read them in address order, runs of
 * neighbours at a time, through one reused buffer, decoding as we go: no
 * copy of the whole heap's gs is ever held (or faulted in) at once. */
#define G_BATCH_BYTES (4u << 20)
#define G_BATCH_RUNS 1024
#define G_MERGE_GAP 1024

static struct fpi_error *read_gs(const struct go_layout *l, struct fpi_target *t, struct go_snapshot *s)
{
	uint64_t slice[3], glen, n, *ptrs;
	struct fpi_read *rd = NULL;
	unsigned char *buf = NULL;
	struct fpi_error *err;
	size_t i = 0, m = 0;

	err = fpi_target_read(t, l->allgs, slice, sizeof(slice));
	if (err)
		return fpi_error_wrap(err, "reading runtime.allgs");
	n = slice[1];
	if (l->allglen && fpi_target_read_u64(t, l->allglen, &glen) && glen < n)
		n = glen;
	if (n == 0)
		return NULL;
	if (n > MAX_GS || slice[1] > slice[2])
		return fpi_error_create(FPI_ERR_FAULT,
			"runtime.allgs looks corrupt (len %llu, cap %llu): not a sane Go heap",
			(unsigned long long)slice[1], (unsigned long long)slice[2]);
	ptrs = malloc(n * 8);
	s->gs = calloc(n, sizeof(*s->gs));
	buf = malloc(G_BATCH_BYTES);
	rd = malloc(G_BATCH_RUNS * sizeof(*rd));
	if (!ptrs || !s->gs || !buf || !rd) {
		err = &fpi_enomem;
		goto out;
	}
	err = fpi_target_read(t, slice[0], ptrs, n * 8);
	if (err) {
		err = fpi_error_wrap(err, "reading the allgs array");
		goto out;
	}
	qsort(ptrs, n, 8, u64_cmp);
	for (size_t k = 0; k < n; k++)
		if (ptrs[k] && (m == 0 || ptrs[k] != ptrs[m - 1]))
			ptrs[m++] = ptrs[k];
	while (i < m) {
		size_t nr = 0, used = 0, first = i;

		/* one batch: up to G_BATCH_RUNS runs filling up to the buffer */
		while (i < m && nr < G_BATCH_RUNS) {
			uint64_t start = ptrs[i], end = start + l->g_size;
			size_t j = i + 1;

			if (used + l->g_size > G_BATCH_BYTES)
				break;
			while (j < m && ptrs[j] <= end + G_MERGE_GAP && ptrs[j] + l->g_size - start <= G_BATCH_BYTES - used)
				end = ptrs[j++] + l->g_size;
			rd[nr++] = (struct fpi_read){ start, buf + used, end - start, false };
			used += end - start;
			i = j;
		}
		err = fpi_target_readv(t, rd, nr);
		if (err)
			goto out;
		for (size_t r = 0, k = first; r < nr; r++) {
			for (; k < i && ptrs[k] + l->g_size <= rd[r].addr + rd[r].len; k++) {
				unsigned char *g = (unsigned char *)rd[r].buf + (ptrs[k] - rd[r].addr);
				struct fpi_read one = { ptrs[k], g, l->g_size, true };

				/* a run that failed as a whole: its gs one by one */
				if (!rd[r].ok && (t->ops->readv(t, &one, 1) || !one.ok))
					continue;
				decode_g(l, g, ptrs[k], &s->gs[s->ngs++]);
			}
		}
	}
	for (size_t k = 0; k < s->ngs; k++)
		s->ndead += go_g_is_dead(l, &s->gs[k]);
out:
	free(ptrs);
	free(buf);
	free(rd);
	return err;
}

static int64_t goid_of(const struct go_snapshot *s, uint64_t gaddr)
{
	const struct go_g *g = gaddr ? go_find_g_addr(s, gaddr) : NULL;

	return g ? (int64_t)g->goid : -1;
}

static struct fpi_error *read_ms(const struct go_layout *l, struct fpi_target *t, struct go_snapshot *s)
{
	unsigned char *buf = malloc(l->m_size);
	uint64_t maddr;
	size_t cap = 0;
	struct fpi_bulk *reqs;
	void *arena;
	struct fpi_error *err;

	if (!buf)
		return &fpi_enomem;
	if (!fpi_target_read_u64(t, l->allm, &maddr)) {
		free(buf);
		return fpi_error_create(FPI_ERR_FAULT, "cannot read runtime.allm at 0x%llx", (unsigned long long)l->allm);
	}
	while (maddr && s->nms < MAX_MS) {
		struct go_m *m;

		err = fpi_target_read(t, maddr, buf, l->m_size);
		if (err) {
			free(buf);
			return fpi_error_wrap(err, "reading M %zu of allm", s->nms);
		}
		if (s->nms == cap) {
			size_t nc = cap ? 2 * cap : 16;
			struct go_m *ms = realloc(s->ms, nc * sizeof(*ms));

			if (!ms) {
				free(buf);
				return &fpi_enomem;
			}
			s->ms = ms;
			cap = nc;
		}
		m = &s->ms[s->nms++];
		memset(m, 0, sizeof(*m));
		m->addr = maddr;
		m->id = (int64_t)go_get(buf, l->m_id);
		m->procid = go_get(buf, l->m_procid);
		m->g0 = go_get(buf, l->m_g0);
		m->gsignal = go_get(buf, l->m_gsignal);
		m->curg = go_get(buf, l->m_curg);
		m->lockedg = go_get(buf, l->m_lockedg);
		m->incgo = go_has(l->m_incgo) ? (int)go_get(buf, l->m_incgo) : GO_NA;
		m->isextra = go_has(l->m_isextra) ? (int)go_get(buf, l->m_isextra) : GO_NA;
		m->isextrainc = go_has(l->m_isextraInC) ? (int)go_get(buf, l->m_isextraInC) : GO_NA;
		m->ncgo = (int32_t)go_get(buf, l->m_ncgo);
		m->vdsosp = go_has(l->m_vdsosp) ? go_get(buf, l->m_vdsosp) : 0;
		m->vdsopc = go_has(l->m_vdsopc) ? go_get(buf, l->m_vdsopc) : 0;
		m->thread = -1;
		maddr = go_get(buf, l->m_alllink);
		/* a cycle in alllink would otherwise run to MAX_MS */
		for (size_t i = 0; i + 1 < s->nms; i++)
			if (s->ms[i].addr == maddr)
				maddr = 0;
	}
	free(buf);
	if (s->nms == 0)
		return NULL;
	/* g0 and gsignal are not in allgs: read their stack bounds in one go */
	reqs = calloc(2 * s->nms, sizeof(*reqs));
	if (!reqs)
		return &fpi_enomem;
	for (size_t i = 0; i < s->nms; i++) {
		reqs[2 * i] = (struct fpi_bulk){ s->ms[i].g0 + l->g_stack_lo.off, 16, NULL };
		reqs[2 * i + 1] = (struct fpi_bulk){ s->ms[i].gsignal + l->g_stack_lo.off, 16, NULL };
		if (!s->ms[i].g0)
			reqs[2 * i].len = 0;
		if (!s->ms[i].gsignal)
			reqs[2 * i + 1].len = 0;
	}
	err = fpi_bulk_read(t, reqs, 2 * s->nms, 0, &arena);
	if (err) {
		free(reqs);
		return err;
	}
	for (size_t i = 0; i < s->nms; i++) {
		struct go_m *m = &s->ms[i];
		const unsigned char *d;

		if (m->g0 && (d = bulk_find(reqs, 2 * s->nms, m->g0 + l->g_stack_lo.off))) {
			memcpy(&m->g0_lo, d, 8);
			memcpy(&m->g0_hi, d + 8, 8);
		}
		if (m->gsignal && (d = bulk_find(reqs, 2 * s->nms, m->gsignal + l->g_stack_lo.off))) {
			memcpy(&m->gsignal_lo, d, 8);
			memcpy(&m->gsignal_hi, d + 8, 8);
		}
		m->curg_goid = goid_of(s, m->curg);
		m->lockedg_goid = goid_of(s, m->lockedg);
	}
	fpi_bulk_free(arena);
	free(reqs);
	return NULL;
}

static void map_threads(const struct go_layout *l, struct fpi_target *t, struct go_snapshot *s)
{
	struct fpi_bulk *reqs = calloc(t->nthreads ? t->nthreads : 1, sizeof(*reqs));
	void *arena = NULL;
	struct fpi_error *err;

	s->threads = calloc(t->nthreads ? t->nthreads : 1, sizeof(*s->threads));
	if (!s->threads) {
		free(reqs);
		return;
	}
	s->nthreads = t->nthreads;
	for (size_t i = 0; i < t->nthreads; i++) {
		struct go_thread *th = &s->threads[i];

		th->tid = t->threads[i].tid;
		th->regs = t->threads[i].regs;
		th->m = -1;
		if (reqs && th->regs.fs_base >= 8)
			reqs[i] = (struct fpi_bulk){ th->regs.fs_base - 8, 8, NULL };
	}
	if (reqs) {
		err = fpi_bulk_read(t, reqs, t->nthreads, 0, &arena);
		if (err)
			fpi_error_destroy(err);
		else
			for (size_t i = 0; i < t->nthreads; i++) {
				const unsigned char *d = s->threads[i].regs.fs_base >= 8 ?
					bulk_find(reqs, t->nthreads, s->threads[i].regs.fs_base - 8) : NULL;

				if (d)
					memcpy(&s->threads[i].tls_g, d, 8);
			}
	}
	fpi_bulk_free(arena);
	free(reqs);
	for (size_t i = 0; i < s->nthreads; i++) {
		struct go_thread *th = &s->threads[i];
		uint64_t sp = th->regs.r[FPI_REG_RSP];

		for (size_t j = 0; j < s->nms; j++) {
			struct go_m *m = &s->ms[j];

			if (m->procid != (uint64_t)th->tid || m->thread >= 0)
				continue;
			th->m = j;
			m->thread = i;
			break;
		}
		th->stack = GO_STACK_OTHER;
		if (th->m >= 0) {
			struct go_m *m = &s->ms[th->m];
			const struct go_g *cg = m->curg ? go_find_g_addr(s, m->curg) : NULL;

			if (sp >= m->g0_lo && sp < m->g0_hi)
				th->stack = GO_STACK_G0;
			else if (sp >= m->gsignal_lo && sp < m->gsignal_hi)
				th->stack = GO_STACK_GSIGNAL;
			else if (cg && sp >= cg->stack_lo && sp < cg->stack_hi)
				th->stack = GO_STACK_CURG;
		}
	}
	(void)l;
}

struct fpi_error *go_snapshot_read_gs(const struct go_layout *l, struct fpi_target *t, struct go_snapshot **ret)
{
	struct go_snapshot *s = calloc(1, sizeof(*s));
	struct fpi_error *err;

	*ret = NULL;
	if (!s)
		return &fpi_enomem;
	err = read_gs(l, t, s);
	if (err) {
		go_snapshot_destroy(s);
		return err;
	}
	*ret = s;
	return NULL;
}

struct fpi_error *go_snapshot_read(const struct go_layout *l, struct fpi_target *t, struct go_snapshot **ret)
{
	struct go_snapshot *s;
	struct fpi_error *err = go_snapshot_read_gs(l, t, &s);

	if (err)
		return err;
	err = read_ms(l, t, s);
	if (err) {
		go_snapshot_destroy(s);
		return err;
	}
	for (size_t i = 0; i < s->ngs; i++) {
		const struct go_m *m = go_find_m_addr(s, s->gs[i].m);

		if (m)
			s->gs[i].mid = m->id;
	}
	map_threads(l, t, s);
	*ret = s;
	return NULL;
}

bool go_g_stack_used(const struct go_layout *l, const struct go_g *g, uint64_t *lo, uint64_t *hi)
{
	uint64_t sp = g->sched_sp;

	if (go_g_is_dead(l, g))
		return false;
	if (g->syscallsp && g->syscallsp < sp)
		sp = g->syscallsp;
	/* a running goroutine's g.sched is stale: its frames may be anywhere
	 * (a thread in the vDSO or a signal handler has SP elsewhere) */
	if (go_g_status_is(l, g, "running") || sp < g->stack_lo || sp > g->stack_hi)
		sp = g->stack_lo;
	/* more than 64 MiB in use: garbage or a runaway recursion, not copied */
	if (g->stack_hi <= sp || g->stack_hi - sp > (64u << 20))
		return false;
	*lo = sp;
	*hi = g->stack_hi;
	return true;
}

void go_snapshot_destroy(struct go_snapshot *s)
{
	if (!s)
		return;
	free(s->gs);
	free(s->ms);
	free(s->threads);
	free(s);
}
