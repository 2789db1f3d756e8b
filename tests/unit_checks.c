/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The checks on states a live program does not reliably reach (isExtraInC
 * left set: only runtimes with golang/go#72870): a real snapshot of the cgo
 * test program (attached, copied, released), then M and g fields changed in
 * the snapshot to what the Go runtime's bugs left behind:
 *   - isExtraInC set on an extra M whose goroutine has Go frames (Go 1.21 to
 *     1.24 after nested callbacks, golang/go#72870);
 *   - an M that claims no C (ncgo 0, isextra 0) with C frames on its
 *     goroutine's stack (golang/go#59830);
 *   - a goroutine whose scan bit is held, one in _Gcopystack.
 * usage: unit_checks PID CALLBACK_GOID NESTED_GOID OTHER_GOID [BUG72870]
 * BUG72870 1: the program's runtime has golang/go#72870, so the real state
 * already has the first one (Go 1.21.13 here). */
#include <stdlib.h>
#include <string.h>

#include "session.h"
#include "unit.h"

/* A command's JSON output as a malloc'ed string; *errmsg on exit status 2. */
static int run_str(struct fpi_session *s, int argc, char **argv, char **out, char **errmsg)
{
	size_t len;
	FILE *f = open_memstream(out, &len);
	struct fpi_error *err;
	int st;

	if (!f)
		return 2;
	err = session_run(s, argc, argv, true, f, &st);
	fclose(f);
	if (err) {
		*errmsg = strdup(err->message);
		fpi_error_destroy(err);
		return 2;
	}
	return st;
}

static char *check(struct fpi_session *s)
{
	char *argv[] = { "check" }, *out = NULL, *err = NULL;
	int st = run_str(s, 1, argv, &out, &err);

	CHECK(st == 0 || st == 1, "check failed: %s", err ? err : "?");
	free(err);
	return out ? out : strdup("");
}

/* Does the JSON name a finding of kind for goid with severity? */
static int has(const char *json, const char *kind, uint64_t goid, const char *sev)
{
	char want[160];

	snprintf(want, sizeof(want), "{\"kind\":\"%s\",\"severity\":\"%s\",\"goid\":%llu,", kind, sev,
		 (unsigned long long)goid);
	return strstr(json, want) != NULL;
}

static uint64_t rnd_state = 0x9E3779B97F4A7C15ull;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

/* Rounds of garbage over everything the walks read once the process is let
 * go: every copied stack and register set refilled with words that look
 * like what walks follow (addresses in the same stack, pcs in the
 * runtime's switch, signal and top functions) and random ones. bt all and
 * check must answer every time: no crash, no hang, bounded work. */
static void garbage_rounds(struct fpi_session *s, int rounds)
{
	static const char *const fns[] = { "runtime.sigpanic", "runtime.sigtramp", "runtime.cgocallback",
					   "runtime.systemstack", "runtime.mcall", "runtime.morestack",
					   "runtime.asmcgocall", "runtime.goexit", "runtime.gopark", "crosscall2",
					   "runtime.mstart", "runtime.rt0_go",
					   /* and ordinary frames, as many again */
					   "runtime.chanrecv", "runtime.selectgo", "runtime.semacquire1", "runtime.main",
					   "runtime.schedule", "runtime.park_m", "runtime.findRunnable", "main.main",
					   "runtime.notesleep", "runtime.stopm", "runtime.mPark", "runtime.futexsleep" };
	uint64_t pcs[sizeof(fns) / sizeof(fns[0])], size, frames = 0;
	struct fpi_modules *mods = NULL;
	char *bt[] = { "bt", "all", "--unwinder", "both" };
	uint64_t *start = calloc(s->ncopy + 1, sizeof(*start)); /* where a range's chain begins, 0: none */
	int answered = 0;

	fpi_error_destroy(session_modules(s, &mods));
	for (size_t k = 0; k < sizeof(fns) / sizeof(fns[0]); k++)
		pcs[k] = mods ? fpi_modules_lookup(mods, fns[k], &size) : 0;
	for (int r = 0; r < rounds; r++) {
		for (size_t i = 0; i < s->ncopy; i++) {
			const struct fpi_bulk *c = &s->copy[i];
			unsigned char *d = (unsigned char *)c->data;

			if (rnd() % 8 && c->len >= 64) {
				/* a chain of frame records up the range, random strides,
				 * return addresses into those functions, now and then
				 * a bad link */
				uint64_t off = (rnd() % 64) * 8 % (c->len / 2) & ~15ull;

				memset(d, 0, c->len);
				if (start)
					start[i] = c->addr + off;
				while (off + 16 <= c->len) {
					uint64_t next = off + 16 + (rnd() % 16) * 16, link = c->addr + next,
						 pc = pcs[rnd() % (sizeof(pcs) / sizeof(pcs[0]))] + rnd() % 64;

					if (rnd() % 32 == 0)
						link = rnd() % 4 ? c->addr + off : rnd(); /* a cycle, or anything */
					memcpy(d + off, &link, 8);
					memcpy(d + off + 8, &pc, 8);
					off = next;
				}
				continue;
			}
			if (start)
				start[i] = 0;
			for (uint64_t off = 0; off + 8 <= c->len; off += 8) {
				uint64_t v, x = rnd();

				switch (x % 8) {
				case 0: case 1: case 2: /* a link in the same stack, a little up or down */
					v = (c->addr + off + (int64_t)((x >> 8) % 512) - 128) & ~7ull;
					break;
				case 3: case 4:
					v = pcs[(x >> 8) % (sizeof(pcs) / sizeof(pcs[0]))] + ((x >> 20) % 64);
					break;
				case 5:
					v = 0;
					break;
				default:
					v = rnd();
				}
				memcpy(d + off, &v, 8);
			}
		}
		/* start walks on the chains: goroutines' saved BP, threads' RBP */
		for (size_t i = 0; start && i < s->snap->ngs; i++) {
			struct go_g *g = &s->snap->gs[i];

			for (size_t k = 0; k < s->ncopy; k++)
				if (start[k] && g->sched_sp >= s->copy[k].addr && g->sched_sp < s->copy[k].addr + s->copy[k].len) {
					g->sched_bp = start[k];
					g->sched_sp = start[k] - 8 * (rnd() % 4);
					if (g->sched_sp < s->copy[k].addr)
						g->sched_sp = start[k];
				}
		}
		for (size_t i = 0; i < s->snap->nthreads; i++) {
			struct fpi_regs *rg = &s->snap->threads[i].regs;
			size_t k = s->ncopy ? rnd() % s->ncopy : 0;
			const struct fpi_bulk *c;

			/* mostly on the thread's own stack (the range its SP is in) */
			for (size_t j = 0; rnd() % 8 && j < s->ncopy; j++)
				if (rg->r[FPI_REG_RSP] >= s->copy[j].addr && rg->r[FPI_REG_RSP] < s->copy[j].addr + s->copy[j].len)
					k = j;
			c = s->ncopy ? &s->copy[k] : NULL;

			if (c && start && start[k]) {
				rg->r[FPI_REG_RBP] = start[k];
				rg->r[FPI_REG_RSP] = start[k] >= c->addr + 32 ? start[k] - 8 * (rnd() % 4) : start[k];
			} else if (c && c->len >= 64) {
				rg->r[FPI_REG_RSP] = (c->addr + rnd() % (c->len - 32)) & ~7ull;
				rg->r[FPI_REG_RBP] = (c->addr + rnd() % (c->len - 32)) & ~7ull;
			}
			rg->r[FPI_REG_RIP] = pcs[rnd() % (sizeof(pcs) / sizeof(pcs[0]))] + rnd() % 64;
		}
		{
			char *out = NULL, *err = NULL;
			int st = run_str(s, 4, bt, &out, &err);

			answered += st == 0 && out && out[0] == '{';
			for (const char *q = out; q && (q = strstr(q, "\"index\":")); q++)
				frames++;
			free(out);
			free(err);
			out = check(s);
			free(out);
		}
	}
	free(start);
	CHECK_EQ(answered, rounds, "bt all answered every round of garbage");
	printf("garbage: %d rounds over %zu copied ranges and %zu threads' registers, %llu frames walked\n",
	       rounds, s->ncopy, s->snap->nthreads, (unsigned long long)frames);
}

static struct go_m *m_of(struct fpi_session *s, const struct go_g *g)
{
	uint64_t a = g->lockedm ? g->lockedm : g->m;

	for (size_t i = 0; i < s->snap->nms; i++)
		if (s->snap->ms[i].addr == a)
			return &s->snap->ms[i];
	return NULL;
}

int main(int argc, char **argv)
{
	struct fpi_session *s;
	struct fpi_error *aerr;
	char *out;
	uint64_t cb, nested, other;
	struct go_g *g;
	struct go_m *m;
	int bug;

	if (argc != 5 && argc != 6) {
		fprintf(stderr, "usage: unit_checks PID CALLBACK_GOID NESTED_GOID OTHER_GOID [BUG72870]\n");
		return 2;
	}
	cb = strtoull(argv[2], NULL, 10);
	nested = strtoull(argv[3], NULL, 10);
	other = strtoull(argv[4], NULL, 10);
	bug = argc == 6 && atoi(argv[5]) == 1;
	aerr = session_open_live(atoi(argv[1]), 0, NULL, NULL, &s);
	if (!aerr && (aerr = session_stop(s)))
		session_destroy(s);
	if (aerr) {
		printf("attach: %s\n", aerr->message);
		return 1;
	}
	session_release(s);

	out = check(s);
	if (bug)
		CHECK(strstr(out, "\"errors\":1,") && has(out, "extra-in-c-with-go-frames", nested, "error"),
		      "golang/go#72870 live: one error, for the nested goroutine: %s", out);
	else
		CHECK(strstr(out, "\"errors\":0,") != NULL, "the real program has no errors: %s", out);
	free(out);

	/* golang/go#72870: isExtraInC left set while Go frames are live */
	g = (struct go_g *)go_find_g(s->snap, nested);
	m = g ? m_of(s, g) : NULL;
	CHECK(g && m, "nested goroutine %llu and its M", (unsigned long long)nested);
	if (m && m->isextrainc != GO_NA) {
		m->isextrainc = 1;
		out = check(s);
		CHECK(has(out, "extra-in-c-with-go-frames", nested, "error"), "isExtraInC with Go frames: %s", out);
		free(out);
		m->isextrainc = 0;
		out = check(s);
		CHECK(strstr(out, "extra-in-c-with-go-frames") == NULL, "isExtraInC clear: no finding: %s", out);
		free(out);
	} else {
		printf("isExtraInC: n/a in this Go version, its check not applicable\n");
	}

	/* golang/go#59830: C frames on a stack whose M claims none */
	g = (struct go_g *)go_find_g(s->snap, cb);
	m = g ? m_of(s, g) : NULL;
	CHECK(g && m, "callback goroutine %llu and its M", (unsigned long long)cb);
	if (m && m->isextra != GO_NA) {
		int isextra = m->isextra;

		m->isextra = 0;
		m->ncgo = 0;
		out = check(s);
		CHECK(has(out, "cgo-fp-unsafe", cb, "error"), "C frames under an M claiming none: %s", out);
		free(out);
		m->isextra = isextra;
	} else {
		printf("isextra: n/a in this Go version, cgo-fp-unsafe cannot be judged (and is not reported)\n");
		out = check(s);
		CHECK(strstr(out, "cgo-fp-unsafe") == NULL, "no cgo-fp-unsafe without isextra: %s", out);
		free(out);
	}

	/* ownership: the scan bit held, a stack being copied */
	g = (struct go_g *)go_find_g(s->snap, other);
	CHECK(g != NULL, "goroutine %llu", (unsigned long long)other);
	if (g) {
		uint32_t st = g->status;

		g->status |= s->layout->gscan;
		out = check(s);
		CHECK(has(out, "stack-not-owned", other, "info") && strstr(out, "_Gscan"), "scan bit: %s", out);
		free(out);
		for (uint32_t v = 0; v < GO_MAX_STATUS; v++)
			if (s->layout->status_names[v] && !strcmp(s->layout->status_names[v], "copystack"))
				g->status = v;
		out = check(s);
		CHECK(has(out, "stack-not-owned", other, "info") && strstr(out, "_Gcopystack"), "copystack: %s", out);
		free(out);
		g->status = st;
	}

	/* garbage: a parked goroutine's stack replaced by 64 KiB (placed above
	 * everything copied) holding a chain of 4,095 frame records that all
	 * return into runtime.sigpanic, each a fault to go through as from
	 * registers: the walk must stay bounded (no C stack overflow), end, and
	 * say what it saw */
	g = (struct go_g *)go_find_g(s->snap, other);
	if (g) {
		struct fpi_modules *mods = NULL;
		struct fpi_error *e = session_modules(s, &mods);
		uint64_t size = 0, sigpanic = mods ? fpi_modules_lookup(mods, "runtime.sigpanic", &size) : 0;
		const size_t len = 64 << 10;
		unsigned char *fake = calloc(1, len);
		struct fpi_bulk *copy = realloc(s->copy, (s->ncopy + 1) * sizeof(*copy));
		uint64_t lo = 0;
		char gid[32], *bt[] = { "bt", gid, "--unwinder", "both" }, *btout = NULL, *bterr = NULL;
		int st;

		fpi_error_destroy(e);
		CHECK(sigpanic != 0 && fake && copy, "runtime.sigpanic found, memory");
		if (copy)
			s->copy = copy;
		for (size_t i = 0; copy && i < s->ncopy; i++)
			if (copy[i].addr + copy[i].len > lo)
				lo = copy[i].addr + copy[i].len;
		lo = (lo + (1u << 20)) & ~(uint64_t)0xfffff;
		for (uint64_t off = 0; fake && sigpanic && off + 16 <= len; off += 16) {
			uint64_t next = off + 32 <= len ? lo + off + 16 : 0, ret = sigpanic + 8;

			memcpy(fake + off, &next, 8);
			memcpy(fake + off + 8, &ret, 8);
		}
		if (fake && copy && sigpanic) {
			s->copy[s->ncopy++] = (struct fpi_bulk){ lo, len, fake };
			g->stack_lo = lo;
			g->stack_hi = lo + len;
			g->sched_sp = lo;
			g->sched_bp = lo;
			for (uint32_t v = 0; v < GO_MAX_STATUS; v++)
				if (s->layout->status_names[v] && !strcmp(s->layout->status_names[v], "waiting"))
					g->status = v;
			g->syscallsp = 0;
			snprintf(gid, sizeof(gid), "g%llu", (unsigned long long)other);
			st = run_str(s, 4, bt, &btout, &bterr);
			CHECK(st == 0 && btout && strstr(btout, "runtime.sigpanic"), "bt through 4,095 sigpanic frames: %d %s",
			      st, bterr ? bterr : "");
			CHECK(btout && strstr(btout, "depth cap"), "the walk stops at its depth cap: %.300s", btout ? btout : "");
			free(btout);
			free(bterr);
			out = check(s);
			CHECK(strstr(out, "\"goroutines\":") != NULL, "check over the sigpanic chain: %.300s", out);
			free(out);
			s->ncopy--; /* the fake region is ours, not the session's */
		}
		free(fake);
	}
	garbage_rounds(s, getenv("FPI_GARBAGE_ROUNDS") ? atoi(getenv("FPI_GARBAGE_ROUNDS")) : 200);
	session_destroy(s);
	return unit_done("unit_checks");
}
