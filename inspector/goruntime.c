/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The snapshot: allgs read as one pointer array and the g structs in merged
 * runs; allm followed link by link (a handful of Ms); each thread mapped to
 * its M by m.procid, and to the stack its SP is on. */
#include <inttypes.h>
#include <stddef.h>
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

const char *go_g_garbage(const struct go_layout *l, const struct go_g *g)
{
	uint64_t size = g->stack_hi - g->stack_lo;

	if (!go_status_known(l, g->status))
		return "unknown status: no _G constant of the runtime has this value (garbage in g.atomicstatus?)";
	if (go_g_is_dead(l, g))
		return NULL;
	/* stackalloc throws on any size but a power of two; newstack throws
	 * rather than grow past runtime.maxstacksize */
	if (g->stack_lo >= g->stack_hi || (size & (size - 1)) || size > l->maxstacksize ||
	    !fpi_range_ok(g->stack_lo, size))
		return "stack bounds no runtime hands out (the size is not a power of two, or larger than "
		       "runtime.maxstacksize): garbage in g.stack";
	return NULL;
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
	size_t lo = 0, hi = s->ms_by_addr ? s->nms : 0;

	/* called for every g: garbage can make allm long */
	while (addr && lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct go_m *m = &s->ms[s->ms_by_addr[mid].i];

		if (m->addr == addr)
			return m;
		if (m->addr < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

bool go_g_status_is(const struct go_layout *l, const struct go_g *g, const char *name)
{
	const char *n = go_status_name(l, g->status & ~l->gscan);

	/* asked several times per goroutine per row: most answers are no at
	 * the first letter */
	return n[0] == name[0] && strcmp(n, name) == 0;
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

/* After fpi_bulk_read sorted them: the data read at addr. */
static const unsigned char *bulk_find(const struct fpi_bulk *reqs, size_t n, uint64_t addr)
{
	size_t k = fpi_count_le(reqs, n, sizeof(*reqs), offsetof(struct fpi_bulk, addr), addr);

	/* equal addresses sit together, the one asked for among them */
	for (; addr && k > 0 && reqs[k - 1].addr == addr; k--)
		if (reqs[k - 1].len && reqs[k - 1].data)
			return reqs[k - 1].data;
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
	g->sched_lr = go_has(l->g_sched_lr) ? go_get(b, l->g_sched_lr) : 0;
	g->syscallsp = go_get(b, l->g_syscallsp);
	g->syscallpc = go_get(b, l->g_syscallpc);
	g->syscallbp = go_get(b, l->g_syscallbp);
	g->stack_lo = go_get(b, l->g_stack_lo);
	g->stack_hi = go_get(b, l->g_stack_hi);
	g->gopc = go_get(b, l->g_gopc);
	g->startpc = go_get(b, l->g_startpc);
	g->lockedm = go_get(b, l->g_lockedm);
	g->parentgoid = go_has(l->g_parentgoid) ? (int64_t)go_get(b, l->g_parentgoid) : GO_NA;
	g->waitsince = (int64_t)go_get(b, l->g_waitsince);
	g->labels = go_get(b, l->g_labels);
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

/* Garbage in allgs (a wild array pointer, a wild length) must cost about
 * what a healthy program of its size costs, not one failing read per word:
 * pointers that cannot be a g's are dropped before any read, and the walk
 * stops as soon as most of what it saw was not a g. */
#define GS_BAD_MIN 64

static bool mostly_bad(size_t bad, size_t good)
{
	return bad > GS_BAD_MIN && bad > good;
}

static struct fpi_error *read_gs(const struct go_layout *l, struct fpi_target *t, struct go_snapshot *s)
{
	uint64_t slice[3], glen, n, *ptrs, readable = fpi_target_readable_bytes(t);
	struct fpi_read *rd = NULL;
	unsigned char *buf = NULL;
	struct fpi_error *err;
	/* bad: what is not a g (skipped: not read at all, or unreadable) */
	size_t i = 0, m = 0, bad = 0, good = 0, skipped = 0;

	err = fpi_target_read(t, l->allgs, slice, sizeof(slice));
	if (err)
		return fpi_error_wrap(err, "reading runtime.allgs");
	n = slice[1];
	if (l->allglen && fpi_target_read_u64(t, l->allglen, &glen) && glen < n)
		n = glen;
	if (n == 0)
		return NULL;
	/* every g takes at least its own size of the heap: more than the
	 * target's memory holds is a length read from garbage */
	if (n > MAX_GS || slice[1] > slice[2] || (readable && n > readable / l->g_size) ||
	    !fpi_target_readable(t, slice[0], n * 8))
		return fpi_error_create(FPI_ERR_FAULT,
			"runtime.allgs looks corrupt (array 0x%llx, len %llu, cap %llu): not a sane Go heap",
			(unsigned long long)slice[0], (unsigned long long)slice[1], (unsigned long long)slice[2]);
	ptrs = malloc(n * 8);
	buf = malloc(G_BATCH_BYTES);
	rd = malloc(G_BATCH_RUNS * sizeof(*rd));
	if (!ptrs || !buf || !rd) {
		err = &fpi_enomem;
		goto out;
	}
	err = fpi_target_read(t, slice[0], ptrs, n * 8);
	if (err) {
		err = fpi_error_wrap(err, "reading the allgs array");
		goto out;
	}
	/* g structs are heap objects: 8-aligned, wholly in readable memory */
	for (size_t k = 0; k < n; k++) {
		if (!ptrs[k])
			continue;
		if ((ptrs[k] & 7) || !fpi_target_readable(t, ptrs[k], l->g_size))
			bad++, skipped++;
		else
			ptrs[m++] = ptrs[k];
	}
	if (mostly_bad(bad, m)) {
		err = fpi_error_create(FPI_ERR_FAULT,
			"runtime.allgs looks corrupt: %zu of its %llu entries are not addresses of readable memory",
			bad, (unsigned long long)n);
		goto out;
	}
	qsort(ptrs, m, 8, u64_cmp);
	n = m;
	m = 0;
	for (size_t k = 0; k < n; k++)
		if (m == 0 || ptrs[k] != ptrs[m - 1])
			ptrs[m++] = ptrs[k];
	s->gs = calloc(m ? m : 1, sizeof(*s->gs));
	if (!s->gs) {
		err = &fpi_enomem;
		goto out;
	}
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
				struct go_g *gg;

				/* a run that failed as a whole: its gs one by one */
				if (!rd[r].ok && (fpi_target_readv(t, &one, 1) || !one.ok)) {
					bad++, skipped++;
					continue;
				}
				gg = &s->gs[s->ngs++];
				decode_g(l, g, ptrs[k], gg);
				if (go_status_known(l, gg->status))
					good++;
				else
					bad++;
			}
		}
		if (mostly_bad(bad, good)) {
			err = fpi_error_create(FPI_ERR_FAULT,
				"runtime.allgs looks corrupt: of the first %zu gs it points to, %zu are unreadable or "
				"hold no status the runtime has",
				good + bad, bad);
			goto out;
		}
	}
	for (size_t k = 0; k < s->ngs; k++)
		s->ndead += go_g_is_dead(l, &s->gs[k]);
out:
	s->nbad = skipped;
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

/* Addresses seen on allm, for its cycle check: open addressing, kept at
 * most half full, so following a chain of n Ms costs O(n), not O(n^2). */
struct addr_set {
	uint64_t *v;
	size_t cap, n;
};

static size_t addr_hash(uint64_t a, size_t cap)
{
	return (size_t)((a >> 3) * 0x9e3779b97f4a7c15ull >> 17) & (cap - 1);
}

/* Add a (non-zero); false when it was there already. */
static bool addr_set_add(struct addr_set *h, uint64_t a, bool *nomem)
{
	size_t i;

	if (2 * (h->n + 1) > h->cap) {
		size_t nc = h->cap ? 2 * h->cap : 64;
		uint64_t *nv = calloc(nc, sizeof(*nv));

		if (!nv) {
			*nomem = true;
			return false;
		}
		for (size_t k = 0; k < h->cap; k++)
			if (h->v[k]) {
				for (i = addr_hash(h->v[k], nc); nv[i]; i = (i + 1) & (nc - 1))
					;
				nv[i] = h->v[k];
			}
		free(h->v);
		h->v = nv;
		h->cap = nc;
	}
	for (i = addr_hash(a, h->cap); h->v[i]; i = (i + 1) & (h->cap - 1))
		if (h->v[i] == a)
			return false;
	h->v[i] = a;
	h->n++;
	return true;
}

static int m_key_cmp(const void *a, const void *b)
{
	const struct go_m_key *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

/* ms by a key (address, procid), ties in allm order. */
static struct go_m_key *ms_keyed(const struct go_snapshot *s, bool by_procid)
{
	struct go_m_key *v = malloc((s->nms ? s->nms : 1) * sizeof(*v));

	if (!v)
		return NULL;
	for (size_t i = 0; i < s->nms; i++)
		v[i] = (struct go_m_key){ by_procid ? s->ms[i].procid : s->ms[i].addr, i };
	qsort(v, s->nms, sizeof(*v), m_key_cmp);
	return v;
}

/* A g struct (g0, gsignal) whose first len bytes can be read. */
static bool g_readable(const struct go_layout *l, struct fpi_target *t, uint64_t g, size_t len)
{
	return g && !(g & 7) && fpi_target_readable(t, g, len);
}

/* The stack bounds of m's g0 or gsignal g, from the bulk read: false when
 * g is not m's (allocm sets g0.m, mpreinit gsignal.m, before either is
 * used; 0 while an M is being made), and then no bounds. */
static bool m_own_g(const struct go_layout *l, const struct fpi_bulk *reqs, size_t nreq, const struct go_m *m,
		    uint64_t g, uint64_t *lo, uint64_t *hi)
{
	const unsigned char *d = g ? bulk_find(reqs, nreq, g) : NULL;
	uint64_t gm;

	*lo = *hi = 0;
	if (!g)
		return true;
	if (!d)
		return false;
	gm = go_get(d, l->g_m);
	if (gm && gm != m->addr)
		return false;
	memcpy(lo, d + l->g_stack_lo.off, 8);
	memcpy(hi, d + l->g_stack_lo.off + 8, 8);
	return true;
}

static struct fpi_error *read_ms(const struct go_layout *l, struct fpi_target *t, struct go_snapshot *s)
{
	unsigned char *buf = malloc(l->m_size);
	struct addr_set seen = { 0 };
	bool nomem = false;
	uint64_t maddr;
	size_t cap = 0, nreq = 0, head, nbad = 0, max_ms = MAX_MS;
	unsigned char mnext_buf[8];
	int64_t mnext;
	struct fpi_bulk *reqs;
	void *arena;
	struct fpi_error *err = NULL;

	if (!buf)
		return &fpi_enomem;
	if (!fpi_target_read_u64(t, l->allm, &maddr)) {
		free(buf);
		return fpi_error_create(FPI_ERR_FAULT, "cannot read runtime.allm at 0x%llx", (unsigned long long)l->allm);
	}
	if (l->sched && go_has(l->sched_mnext) && l->sched_mnext.size <= sizeof(mnext_buf) &&
	    fpi_target_read(t, l->sched + l->sched_mnext.off, mnext_buf, l->sched_mnext.size) == NULL) {
		mnext = (int64_t)go_get(mnext_buf, (struct go_field){ 0, l->sched_mnext.size });
		if (mnext > 0 && mnext < MAX_MS)
			max_ms = (size_t)mnext;
	}
	/* a cycle in alllink ends the list where it closes */
	while (maddr && s->nms <= max_ms && addr_set_add(&seen, maddr, &nomem)) {
		struct go_m *m;

		/* each M on allm has its own id below sched.mnext: a longer
		 * allm is garbage, found after mnext + 1 reads */
		if (s->nms == max_ms) {
			err = fpi_error_create(FPI_ERR_FAULT,
				"runtime.allm looks corrupt: longer than the %zu Ms %s", max_ms,
				max_ms < MAX_MS ? "the runtime ever made (runtime.sched.mnext)" : "fpinspect takes");
			goto out;
		}

		if ((maddr & 7) || !fpi_target_readable(t, maddr, l->m_size)) {
			err = fpi_error_create(FPI_ERR_FAULT,
				"runtime.allm looks corrupt: M %zu of allm is at 0x%llx, not an address of readable memory",
				s->nms, (unsigned long long)maddr);
			goto out;
		}
		err = fpi_target_read(t, maddr, buf, l->m_size);
		if (err) {
			err = fpi_error_wrap(err, "reading M %zu of allm", s->nms);
			goto out;
		}
		if (s->nms == cap) {
			size_t nc = cap ? 2 * cap : 16;
			struct go_m *ms = realloc(s->ms, nc * sizeof(*ms));

			if (!ms) {
				err = &fpi_enomem;
				goto out;
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
	}
	if (nomem) {
		err = &fpi_enomem;
		goto out;
	}
	if (s->nms == 0)
		goto out;
	s->ms_by_addr = ms_keyed(s, false);
	if (!s->ms_by_addr) {
		err = &fpi_enomem;
		goto out;
	}
	/* g0 and gsignal are not in allgs: read their stack bounds and their
	 * m in one go (those that can be g structs at all) */
	head = l->g_stack_lo.off + 16 > l->g_m.off + 8 ? l->g_stack_lo.off + 16 : l->g_m.off + 8;
	reqs = calloc(2 * s->nms, sizeof(*reqs));
	if (!reqs) {
		err = &fpi_enomem;
		goto out;
	}
	for (size_t i = 0; i < s->nms; i++) {
		if (g_readable(l, t, s->ms[i].g0, head))
			reqs[nreq++] = (struct fpi_bulk){ s->ms[i].g0, head, NULL };
		if (g_readable(l, t, s->ms[i].gsignal, head))
			reqs[nreq++] = (struct fpi_bulk){ s->ms[i].gsignal, head, NULL };
	}
	err = fpi_bulk_read(t, reqs, nreq, 0, &arena);
	if (err) {
		free(reqs);
		goto out;
	}
	for (size_t i = 0; i < s->nms; i++) {
		struct go_m *m = &s->ms[i];
		bool bad = false;

		bad |= !m_own_g(l, reqs, nreq, m, m->g0, &m->g0_lo, &m->g0_hi);
		bad |= !m_own_g(l, reqs, nreq, m, m->gsignal, &m->gsignal_lo, &m->gsignal_hi);
		nbad += bad;
		/* bounds nobody can walk in: none (a walk checks lo < hi) */
		if (!fpi_range_ok(m->g0_lo, m->g0_hi - m->g0_lo + G0_HI_SLACK) || m->g0_lo >= m->g0_hi)
			m->g0_lo = m->g0_hi = 0;
		if (!fpi_range_ok(m->gsignal_lo, m->gsignal_hi - m->gsignal_lo) || m->gsignal_lo >= m->gsignal_hi)
			m->gsignal_lo = m->gsignal_hi = 0;
		m->curg_goid = goid_of(s, m->curg);
		m->lockedg_goid = goid_of(s, m->lockedg);
	}
	fpi_bulk_free(arena);
	free(reqs);
	/* one M with garbage in it loses its g0 or gsignal stack; an allm of
	 * mostly such Ms is not the runtime's */
	if (nbad > 2 && 2 * nbad > s->nms)
		err = fpi_error_create(FPI_ERR_FAULT,
			"runtime.allm looks corrupt: %zu of its %zu Ms have a g0 or gsignal that is not theirs "
			"(allocm and mpreinit set g.m to the M)",
			nbad, s->nms);
out:
	free(seen.v);
	free(buf);
	return err;
}

static void map_threads(const struct go_layout *l, struct fpi_target *t, struct go_snapshot *s)
{
	struct go_m_key *by_procid;
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
		/* arm64 keeps g in R28 in Go code, signal handlers too */
		if (t->arch->g_reg >= 0)
			th->tls_g = th->regs.r[t->arch->g_reg];
		else if (reqs && th->regs.fs_base >= 8)
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
	by_procid = ms_keyed(s, true);
	for (size_t i = 0; i < s->nthreads; i++) {
		struct go_thread *th = &s->threads[i];
		uint64_t sp = th->regs.r[FPI_REG_SP];
		size_t k = by_procid ? fpi_count_le(by_procid, s->nms, sizeof(*by_procid),
						    offsetof(struct go_m_key, key), (uint64_t)th->tid - 1) : s->nms;

		/* the first M (in allm order) that claims this thread */
		for (; k < s->nms && by_procid[k].key == (uint64_t)th->tid; k++) {
			struct go_m *m = &s->ms[by_procid[k].i];

			if (m->thread >= 0)
				continue;
			th->m = by_procid[k].i;
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
	free(by_procid);
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

	if (go_g_is_dead(l, g) || go_g_garbage(l, g))
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
	free(s->ms_by_addr);
	free(s->threads);
	free(s);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* What a process read with a layout of another patch release must show
 * for the layout to be trusted: a wrong offset turns goids, statuses and
 * stack bounds into noise, and noise fails these long before it passes. */
static const char *validate(const struct go_layout *l, const struct go_snapshot *s)
{
	uint64_t *ids;
	size_t n = 0, nthread_m = 0;
	bool dup = false;

	if (s->ngs == 0 || s->nms == 0)
		return "no goroutine or no M could be read from allgs and allm";
	if (s->nbad * 10 > s->ngs)
		return "allgs entries that are no readable g";
	if (!(ids = malloc(s->ngs * sizeof(*ids))))
		return "out of memory";
	for (size_t i = 0; i < s->ngs; i++) {
		const struct go_g *g = &s->gs[i];
		const char *why = go_g_garbage(l, g);

		if (why) {
			free(ids);
			return why;
		}
		if (go_g_is_dead(l, g))
			continue;
		if (go_g_status_is(l, g, "waiting") && g->waitreason != GO_NA &&
		    (uint32_t)g->waitreason >= l->nwaitreason_strs) {
			free(ids);
			return "a wait reason beyond the runtime's table";
		}
		if (go_g_status_is(l, g, "waiting") && (g->sched_sp < g->stack_lo || g->sched_sp > g->stack_hi)) {
			free(ids);
			return "a parked goroutine's saved SP outside its stack";
		}
		ids[n++] = g->goid;
	}
	qsort(ids, n, sizeof(*ids), cmp_u64);
	for (size_t i = 1; i < n; i++)
		dup |= ids[i] == ids[i - 1];
	free(ids);
	if (dup)
		return "two goroutines with the same goid";
	if (n == 0)
		return "no goroutine that is not dead";
	for (size_t i = 0; i < s->nthreads; i++)
		nthread_m += s->threads[i].m >= 0;
	if (s->nthreads && !nthread_m)
		return "no thread is any M's (m.procid)";
	return NULL;
}

struct fpi_error *go_snapshot_validate(const struct go_layout *l, const struct go_snapshot *s)
{
	const char *why = validate(l, s);

	if (!why)
		return NULL;
	return fpi_error_create(FPI_ERR_NODWARF,
		"the layout %s (made for %s) does not fit this %s process: %s; make the layout for %s from a binary "
		"of that release with DWARF: fpinspect layout --from BINARY",
		l->source_path ? l->source_path : "(file)", l->layout_version ? l->layout_version : "another release",
		l->go_version ? l->go_version : "", why, l->go_version ? l->go_version : "its Go version");
}

/* ---- pprof labels ---- */

#define LABELS_MAX 4096            /* more is not a label set someone made */
#define LABEL_STR_MAX 65536

static bool read_gostring(const struct fpi_mem *mem, uint64_t at, char **ret)
{
	uint64_t hdr[2];
	char *v;

	if (!mem->read(mem->arg, at, hdr, sizeof(hdr)) || hdr[1] > LABEL_STR_MAX || (hdr[1] && !hdr[0]))
		return false;
	v = malloc(hdr[1] + 1);
	if (!v)
		return false;
	if (hdr[1] && !mem->read(mem->arg, hdr[0], v, hdr[1])) {
		free(v);
		return false;
	}
	v[hdr[1]] = '\0';
	*ret = v;
	return true;
}

/* a {key, value string} pair at at (a slice element, or a map bucket's
 * key and elem slots) */
static bool read_label(const struct fpi_mem *mem, uint64_t key, uint64_t value, struct go_label *ret)
{
	ret->key = ret->value = NULL;
	if (read_gostring(mem, key, &ret->key) && read_gostring(mem, value, &ret->value))
		return true;
	free(ret->key);
	ret->key = NULL;
	return false;
}

static int label_cmp(const void *a, const void *b)
{
	return strcmp(((const struct go_label *)a)->key, ((const struct go_label *)b)->key);
}

void go_labels_free(struct go_label *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		free(v[i].key);
		free(v[i].value);
	}
	free(v);
}

/* map[string]string in the classic hmap (Go up to 1.23): 2^B buckets of
 * 8 slots, tophash[8] then 8 keys, 8 elems (strings, 16 bytes each) and
 * the overflow pointer; a slot is in use when its tophash is above
 * evacuatedEmpty (4). A map still growing (oldbuckets set) is not read:
 * a label map is written once, while it is made. */
#define HMAP_SLOTS 8
#define HMAP_BUCKET (8 + HMAP_SLOTS * 16 * 2 + 8)

static struct fpi_error *hmap_labels(const struct go_layout *l, const struct fpi_mem *mem, uint64_t m,
				     struct go_label *v, size_t *n, size_t max)
{
	unsigned char h[64];
	uint64_t nb;

	if (!mem->read(mem->arg, m, h, sizeof(h)))
		return fpi_error_create(FPI_ERR_FAULT, "labels: cannot read the map at 0x%" PRIx64, m);
	if (go_get(h, l->hmap_oldbuckets))
		return fpi_error_create(FPI_ERR_FAULT, "labels: the map at 0x%" PRIx64 " is growing", m);
	if (go_get(h, l->hmap_b) > 10)
		return fpi_error_create(FPI_ERR_FAULT, "labels: implausible map at 0x%" PRIx64, m);
	nb = 1ull << go_get(h, l->hmap_b);
	for (uint64_t i = 0; i < nb; i++) {
		uint64_t b = go_get(h, l->hmap_buckets) + i * HMAP_BUCKET;

		for (int chain = 0; b && chain < 64; chain++) {
			unsigned char bk[HMAP_BUCKET];

			if (!mem->read(mem->arg, b, bk, sizeof(bk)))
				return fpi_error_create(FPI_ERR_FAULT, "labels: cannot read a map bucket at 0x%" PRIx64, b);
			for (int k = 0; k < HMAP_SLOTS; k++) {
				if (bk[k] <= 4)
					continue;
				if (*n == max || !read_label(mem, b + 8 + 16 * k, b + 8 + 16 * (HMAP_SLOTS + k), &v[*n]))
					return fpi_error_create(FPI_ERR_FAULT, "labels: bad entry in the map at 0x%" PRIx64, m);
				++*n;
			}
			memcpy(&b, bk + HMAP_BUCKET - 8, 8);
		}
	}
	return NULL;
}

struct fpi_error *go_labels_read(const struct go_layout *l, const struct fpi_mem *mem, uint64_t labels,
				 struct go_label **ret, size_t *n)
{
	struct go_label *v = NULL;
	struct fpi_error *err = NULL;
	size_t k = 0, max;
	unsigned char h[64];

	*ret = NULL, *n = 0;
	if (!labels)
		return NULL;
	if (l->labels_kind != GO_LABELS_SLICE && l->labels_kind != GO_LABELS_HMAP)
		return fpi_error_create(FPI_ERR_OTHER, "labels: this Go version's label map (%s) is not read",
					l->labels_kind == GO_LABELS_UNREAD ? "a swiss map" : "unknown");
	if (!mem->read(mem->arg, labels, h, sizeof(h)))
		return fpi_error_create(FPI_ERR_FAULT, "labels: cannot read 0x%" PRIx64, labels);
	if (l->labels_kind == GO_LABELS_SLICE) {
		uint64_t arr = go_get(h, l->labels_array);

		max = go_get(h, l->labels_len);
		if (max > LABELS_MAX || (max && !arr))
			return fpi_error_create(FPI_ERR_FAULT, "labels: implausible label set at 0x%" PRIx64, labels);
		if (max && !(v = calloc(max, sizeof(*v))))
			return &fpi_enomem;
		for (; k < max; k++)
			if (!read_label(mem, arr + 32 * k, arr + 32 * k + 16, &v[k])) {
				err = fpi_error_create(FPI_ERR_FAULT, "labels: cannot read label %zu at 0x%" PRIx64, k, arr);
				break;
			}
	} else {
		/* g.labels is a *labelMap: the map variable, holding the *hmap */
		uint64_t m;

		memcpy(&m, h, 8);
		if (!m)
			return NULL;
		if (!(v = calloc(LABELS_MAX, sizeof(*v))))
			return &fpi_enomem;
		err = hmap_labels(l, mem, m, v, &k, LABELS_MAX);
	}
	if (err) {
		go_labels_free(v, k);
		return err;
	}
	if (k)
		qsort(v, k, sizeof(*v), label_cmp);
	*ret = v, *n = k;
	return NULL;
}
