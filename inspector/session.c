/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The session core: sessions over the three kinds of target, the memory
 * the unwinders read (the stack copy first), release, and the command table
 * every front door (CLI, prompt, GDB plugin) dispatches through. The public
 * API (api.c) is a thin layer over it. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fpinspect.h"
#include "goglobals.h"
#include "session.h"
#include "stacks.h"

/* Options each command accepts besides --help ("=" at the end: it takes a
 * value, as "--opt V" or "--opt=V"): anything else that starts with '-' is
 * refused before the command runs, naming the option. */
static const char *const no_options[] = { NULL };
static const char *const bt_options[] = { "--unwinder=", NULL };
static const char *const check_options[] = { "--stacks", NULL };
static const char *const dump_options[] = { "--system", "--group", "--filter=", "--status=", NULL };
static const char *const goroutines_options[] = { "--group", "--filter=", "--status=", NULL };
static const char *const profile_options[] = { "-o=", NULL };

static const struct fpi_command commands[] = {
	{ "summary", "summary",
	  "executable, Go version, threads, Ms, goroutines by status, pause",
	  "Executable, Go version, architecture, threads, Ms, goroutines by status, and how long the process was stopped.",
	  cmd_summary, no_options },
	{ "threads", "threads",
	  "every OS thread: M, stack, curg, cgo state",
	  "One row per OS thread: TID, M id, the stack its SP is on (g0, gsignal, curg, other), curg and lockedg goids,\n"
	  "isextra, isExtraInC, ncgo, incgo, hasCgoOnStack (ncgo > 0 || isextra). Ms without a thread follow.\n"
	  "Fields the program's Go version lacks show as n/a.",
	  cmd_threads, no_options },
	{ "goroutines", "goroutines [--group] [--filter REGEX] [--status S]",
	  "every goroutine that is not dead",
	  "One row per goroutine that is not dead: goid, status (+scan when the scan bit is held), wait reason,\n"
	  "how long it has waited (g.waitsince, as the runtime's traceback counts minutes; n/a when not recorded),\n"
	  "M id, locked to its thread (g.lockedm), parent goid (Go 1.21+, else n/a), sched pc/sp/bp, stack bounds,\n"
	  "the user location (the first frame outside the runtime, inlined frames counted: the first frame dump\n"
	  "shows), the function at sched.pc, the creation site and the pprof labels. --group: goroutines with\n"
	  "the same stack (as dump shows it), status and creation folded into one row, largest first: count,\n"
	  "status, spread of waits, user location, goids as ranges. --filter REGEX: only goroutines with a\n"
	  "function matching REGEX (POSIX extended) in that stack. --status S: only those whose status or wait\n"
	  "reason is S (e.g. waiting, runnable, \"chan receive\").",
	  cmd_goroutines, goroutines_options },
	{ "bt", "bt TARGET [--unwinder fp|dwarf|go|both|all]",
	  "backtrace: TARGET is a TID, gGOID (g42) or all",
	  "Backtrace of TARGET: a thread id, gGOID (g42), or all. Default unwinder fp (frame pointers);\n"
	  "dwarf uses DWARF CFI; go the Go runtime's own method (pclntab's SP deltas, CFI for C frames);\n"
	  "both shows fp and dwarf side by side and marks the first frame where they part; all: fp, dwarf\n"
	  "and go.",
	  cmd_bt, bt_options },
	{ "check", "check [--stacks]",
	  "every check; exit status 1 on an error finding",
	  "Every check over every thread and goroutine: frame-pointer chains (fp-cycle, fp-out-of-bounds,\n"
	  "fp-not-increasing, fp-misaligned), cgo state (cgo-fp-unsafe, extra-in-c-with-go-frames),\n"
	  "fp-dwarf-mismatch, stack-not-owned. Exit status 1 when an error is found. --stacks: then the\n"
	  "stacks (bt --unwinder both) of every thread and goroutine with an error or warning, from the same stop.",
	  cmd_check, check_options },
	{ "dump", "dump [--system] [--group] [--filter REGEX] [--status S]",
	  "every goroutine in the Go runtime's traceback format (SIGQUIT, GOTRACEBACK=all)",
	  "Every goroutine as the Go runtime prints it on SIGQUIT with GOTRACEBACK=all: the header\n"
	  "goroutine N [status, N minutes, locked to thread]:, then per frame function(...) and\n"
	  "\tfile:line +0xoff, runtime frames and system goroutines hidden, inlined frames, created by.\n"
	  "Argument words are not known from outside: they print as (...). Goroutines running now show\n"
	  "their stack (the runtime says \"stack unavailable\"). --system: as GOTRACEBACK=system, with\n"
	  "runtime frames and goroutines and fp= sp= pc= after each frame. --group: goroutines with the same\n"
	  "stack, status and creation folded into one entry, largest first: \"N goroutines [status, A-B minutes]:\n"
	  "goids\", then the stack of the lowest goid. --filter REGEX: only goroutines with a function matching\n"
	  "REGEX (POSIX extended) in their stack. --status S: only those whose status or wait reason is S\n"
	  "(e.g. waiting, runnable, \"chan receive\").",
	  cmd_dump, dump_options },
	{ "profile", "profile -o FILE",
	  "goroutine profile: FILE.pb.gz (pprof), FILE.folded, FILE.svg (flame graph)",
	  "The goroutines counted per distinct stack (every frame, runtime ones too; system goroutines left\n"
	  "out, as runtime/pprof's goroutine profile counts), written to FILE in the format its name says:\n"
	  ".pb.gz a pprof goroutine profile (go tool pprof FILE), .folded one line per stack, root first,\n"
	  "frames joined by ';', then the count (flamegraph.pl, speedscope), .svg a self-contained flame graph\n"
	  "(hover: the frame and its goroutines; click: zoom).",
	  cmd_profile, profile_options },
	{ "help", "help [COMMAND]", "list the commands, or explain one", "List the commands, or explain one.", NULL,
	  no_options },
	{ "quit", "quit", "leave the prompt and let the process go on", "Leave the prompt and let the process go on.",
	  NULL, no_options },
};

static const char *const command_names[] = { "summary", "threads", "goroutines", "bt", "check", "dump", "profile", "help", "quit", NULL };

const char *const *session_command_names(void)
{
	return command_names;
}

static const struct fpi_command *find_command(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

const char *session_command_usage(const char *name)
{
	const struct fpi_command *c = find_command(name);

	return c ? c->usage : NULL;
}

const char *session_command_help(const char *name)
{
	const struct fpi_command *c = find_command(name);

	return c ? c->help : NULL;
}

const char *const *session_command_options(const char *name)
{
	const struct fpi_command *c = find_command(name);

	return c ? c->options : NULL;
}

/* The copy index is sorted and disjoint (copy_stacks clips overlaps), so a
 * read is one binary search, and a read that straddles two pieces (a frame
 * record across a run boundary) continues in the next one. */
static bool copy_read(struct fpi_session *s, uint64_t addr, void *buf, size_t len)
{
	const struct fpi_bulk *last = s->copy_last < s->ncopy ? &s->copy[s->copy_last] : NULL;
	size_t i;
	unsigned char *out = buf;

	/* a walk reads one stack, piece after piece: most reads are in the
	 * piece of the one before */
	if (last && addr - last->addr < last->len && len <= last->len - (addr - last->addr)) {
		const unsigned char *p = last->data + (addr - last->addr);

		/* a word or a frame record, millions of times in a dump of
		 * 100k goroutines: copies of a known size, not memcpy calls */
		if (len == 8)
			memcpy(buf, p, 8);
		else if (len == 16)
			memcpy(buf, p, 16);
		else
			memcpy(buf, p, len);
		return true;
	}
	i = fpi_count_le(s->copy, s->ncopy, sizeof(*s->copy), offsetof(struct fpi_bulk, addr), addr);
	if (i > 0)
		s->copy_last = i - 1;

	while (len) {
		const struct fpi_bulk *c = i > 0 ? &s->copy[i - 1] : NULL;
		size_t k;

		if (!c || addr - c->addr >= c->len)
			return false;
		k = c->len - (addr - c->addr);
		if (k > len)
			k = len;
		memcpy(out, c->data + (addr - c->addr), k);
		out += k, addr += k, len -= k;
		i++;
	}
	return true;
}

static bool mem_read(void *arg, uint64_t addr, void *buf, size_t len)
{
	struct fpi_session *s = arg;
	struct fpi_read r = { addr, buf, len, false };

	if (s->copy && copy_read(s, addr, buf, len))
		return true;
	if (s->target->released && s->target->ops->stops)
		return false;
	if (s->target->ops->readv(s->target, &r, 1))
		return false;
	return r.ok;
}

static struct fpi_session *session_new(void)
{
	struct fpi_session *s = calloc(1, sizeof(*s));

	if (s) {
		s->mem.read = mem_read;
		s->mem.arg = s;
	}
	return s;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A layout without this build's globals (a layout file, another build's
 * debug file) gets them from the binary and the target's memory, once. */
static struct fpi_error *layout_globals(struct fpi_session *s)
{
	struct go_layout *l = s->layout;
	struct fpi_error *err;

	if (l->have_globals && l->globals_linktime) {
		/* DWARF's (or the cache's) addresses: a PIE's are biased */
		uint64_t bias = 0, *g[] = { &l->allgs, &l->allglen, &l->allm, &l->sched, &l->maxstacksize_addr,
					   &l->buildversion, &l->waitreasons };

		err = go_exe_load_bias(s->target->exe_path, s->target, &bias);
		if (err)
			return err;
		for (size_t i = 0; i < sizeof(g) / sizeof(g[0]); i++)
			if (*g[i])
				*g[i] += bias;
		l->globals_linktime = false;
	}
	if (l->have_globals)
		return NULL;
	err = go_globals_find(l, s->target->exe_path, s->target, &l->globals_source);
	if (!err)
		l->have_globals = true;
	/* the globals are validated with the layout's offsets: with another
	 * release's layout, that is the likelier culprit */
	else if (l->needs_validation)
		err = fpi_error_wrap(err, "the layout %s (made for %s) does not fit this %s process, or", l->source_path,
				     l->layout_version, l->go_version);
	return err;
}

/* Everything after the target is open: wait reasons, the snapshot; a
 * layout of another patch release must fit what was read with it. */
static struct fpi_error *session_finish(struct fpi_session *s)
{
	double t0 = now();
	struct fpi_error *err = layout_globals(s);

	if (!err)
		err = go_layout_read_target(s->layout, s->target);
	if (err)
		return err;
	err = go_snapshot_read(s->layout, s->target, &s->snap);
	if (!err && s->layout->needs_validation)
		err = go_snapshot_validate(s->layout, s->snap);
	if (getenv("FPI_TIMING"))
		fprintf(stderr, "timing: snapshot %.1f ms\n", (now() - t0) * 1e3);
	return err;
}

/* goroutines folds or filters by whole stacks with --group and --filter */
static bool goroutines_walks_all(int argc, char **argv)
{
	for (int i = 1; argc >= 1 && !strcmp(argv[0], "goroutines") && i < argc; i++)
		if (!strcmp(argv[i], "--group") || !strncmp(argv[i], "--filter", 8))
			return true;
	return false;
}

bool session_needs_stacks(int argc, char **argv)
{
	return argc >= 1 && (!strcmp(argv[0], "bt") || !strcmp(argv[0], "check") || !strcmp(argv[0], "dump") ||
				!strcmp(argv[0], "profile") || goroutines_walks_all(argc, argv));
}

/* goroutines' user location is the first frame outside the runtime: a few
 * frame records above the saved BP (from gopark's to the user frame's
 * callee's: 0xb0-0x140 bytes for chanrecv, selectgo, semacquire,
 * time.Sleep), so it reads only that much of each stack: one small range
 * per goroutine instead of its whole used stack (no prefetch plan, a
 * fraction of the copy). A walk that needs more ends there. */
#define STACK_TOP_WINDOW 384

static bool needs_stack_tops(int argc, char **argv)
{
	return argc >= 1 && !strcmp(argv[0], "goroutines") && !goroutines_walks_all(argc, argv);
}

/* What of a goroutine's stack the command reads: its used stack, or with
 * top_window only that much from its saved BP up (a frame-pointer walk
 * reads frame records only). The prefetch plans from the preview's gs and
 * the stop reads from the snapshot's with this one rule, so a parked
 * goroutine's range is the same in both. */
static bool g_copy_range(const struct go_layout *l, const struct go_g *g, uint64_t top_window, uint64_t *lo,
			 uint64_t *hi)
{
	uint64_t bp;

	if (!go_g_stack_used(l, g, lo, hi))
		return false;
	if (!top_window || go_g_status_is(l, g, "running"))
		return true;
	bp = go_g_status_is(l, g, "syscall") && g->syscallsp ? g->syscallbp : g->sched_bp;
	if (bp > *lo && bp < *hi)
		*lo = bp;
	if (*hi - *lo > top_window)
		*hi = *lo + top_window;
	return true;
}

/* A range to copy, cut to the mapping it starts in: a stack is one piece
 * of one mapping, and bounds running past it (garbage) must not make the
 * copy larger than the memory there is. */
static void want(const struct fpi_target *t, struct fpi_bulk *v, size_t *n, uint64_t lo, uint64_t hi)
{
	uint64_t end = fpi_target_readable_end(t, lo);

	if (hi > end)
		hi = end;
	if (hi > lo && hi - lo <= (64u << 20))
		v[(*n)++] = (struct fpi_bulk){ lo, hi - lo, NULL };
}

/* Before the stop: the gs as the running process has them now, and the
 * copy of their stacks planned from that: sorted, merged, the arena faulted
 * in. Parked goroutines (nearly all of them) keep their stacks; what moved
 * by the stop is read again by copy_stacks. No plan is no error. */
static void plan_prefetch(struct fpi_session *s)
{
	struct go_snapshot *pre = NULL;
	struct fpi_bulk *v = NULL;
	size_t n = 0;
	double t0 = now();
	struct fpi_error *err = layout_globals(s);

	if (!err)
		err = go_layout_read_target(s->layout, s->target);
	/* without the layout's limits the preview is not worth planning from */
	if (err) {
		fpi_error_destroy(err);
		return;
	}
	/* a preview that cannot be read is no plan; the stop reads again and says why */
	if ((err = go_snapshot_read_gs(s->layout, s->target, &pre)) == NULL && (v = calloc(pre->ngs + 1, sizeof(*v)))) {
		for (size_t i = 0; i < pre->ngs; i++) {
			uint64_t lo, hi;

			if (g_copy_range(s->layout, &pre->gs[i], s->top_window, &lo, &hi))
				want(s->target, v, &n, lo, hi);
		}
		fpi_error_destroy(fpi_bulk_plan(v, n, 512, true, &s->prefetch));
	}
	fpi_error_destroy(err);
	if (getenv("FPI_TIMING")) {
		size_t bytes = 0;

		for (size_t i = 0; i < n; i++)
			bytes += v[i].len;
		fprintf(stderr, "timing: prefetch plan %.1f ms (%zu ranges, %zu bytes)\n", (now() - t0) * 1e3, n, bytes);
	}
	free(v);
	if (s->prefetch)
		s->preview = pre;
	else
		go_snapshot_destroy(pre);
}

/* Did the prefetch copy [lo, hi) of the g at gaddr? Both snapshots list
 * their gs in address order: *pos walks the preview along. */
static bool prefetched(const struct fpi_session *s, size_t *pos, uint64_t gaddr, uint64_t lo, uint64_t hi)
{
	const struct go_snapshot *pre = s->preview;
	uint64_t plo, phi;

	while (*pos < pre->ngs && pre->gs[*pos].addr < gaddr)
		++*pos;
	return *pos < pre->ngs && pre->gs[*pos].addr == gaddr &&
	       g_copy_range(s->layout, &pre->gs[*pos], s->top_window, &plo, &phi) && plo <= lo && hi <= phi;
}

/* libdw fetches debuginfo over the network on first use of a module when
 * DEBUGINFOD_URLS is set: perhaps while the target is stopped, and for a
 * core perhaps for minutes. The sessions over fpinspect's own targets read
 * what is on this machine. (A host debugger's target keeps the host's
 * policy: GDB has its own debuginfod settings.) */
static void no_debuginfod(void)
{
	unsetenv("DEBUGINFOD_URLS");
}

struct fpi_error *session_open_live(int pid, int argc, char **argv, const struct go_layout_options *lo,
				    struct fpi_session **ret)
{
	struct fpi_session *s = session_new();
	struct fpi_error *err;
	double t0 = now();

	if (!s)
		return &fpi_enomem;
	no_debuginfod();
	/* Everything that does not need the process stopped comes first: the
	 * runtime's layouts from DWARF, the modules for unwinding and symbols. */
	err = fpi_target_ptrace_open(pid, &s->target);
	if (!err) {
		err = go_layout_load(s->target->exe_path, lo, &s->layout);
		if (err && (err->code == FPI_ERR_NOTGO || err->code == FPI_ERR_NODWARF))
			err = fpi_error_wrap(err, "process %d", pid);
	}
	if (!err) {
		struct fpi_modules *mods;

		err = session_modules(s, &mods);
	}
	if (err) {
		session_destroy(s);
		return err;
	}
	s->load_seconds = now() - t0;
	s->top_window = needs_stack_tops(argc, argv) ? STACK_TOP_WINDOW : 0;
	if (s->top_window || session_needs_stacks(argc, argv))
		plan_prefetch(s);
	*ret = s;
	return NULL;
}

struct fpi_error *session_stop(struct fpi_session *s)
{
	double t0 = now();
	struct fpi_error *err = fpi_target_ptrace_stop(s->target);
	struct timespec ts;

	/* Go's nanotime on Linux is CLOCK_MONOTONIC: the clock g.waitsince is on */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	s->stop_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;

	if (getenv("FPI_TIMING"))
		fprintf(stderr, "timing: load %.1f ms, stop %.1f ms\n", s->load_seconds * 1e3, (now() - t0) * 1e3);
	if (!err && s->prefetch)
		fpi_bulk_start(s->prefetch, s->target);
	if (!err)
		err = session_finish(s);
	return err;
}

struct fpi_error *session_open_core(const char *core, const char *exe, const struct go_layout_options *lo,
				    struct fpi_session **ret)
{
	struct fpi_session *s = session_new();
	struct fpi_error *err;

	if (!s)
		return &fpi_enomem;
	no_debuginfod();
	err = fpi_target_open_core(core, exe, &s->target);
	if (!err)
		err = go_layout_load(s->target->exe_path, lo, &s->layout);
	if (!err)
		err = session_finish(s);
	if (err) {
		session_destroy(s);
		return err;
	}
	*ret = s;
	return NULL;
}

struct fpi_error *session_create_custom(const char *exe, int pid, fpi_image_read_fn read, void *arg, bool own_arg,
					struct fpi_session **ret)
{
	struct fpi_session *s;
	struct fpi_error *err;

	if (!exe || !read) {
		if (own_arg)
			free(arg);
		return fpi_error_create(FPI_ERR_USAGE, "an executable and a read callback are required");
	}
	s = session_new();
	if (!s) {
		if (own_arg)
			free(arg);
		return &fpi_enomem;
	}
	if (own_arg)
		s->custom = arg;
	err = go_layout_load(exe, NULL, &s->layout);
	if (err) {
		session_destroy(s);
		return err;
	}
	s->target = fpi_target_image_create(exe, read, arg);
	if (!s->target) {
		session_destroy(s);
		return &fpi_enomem;
	}
	s->target->pid = pid;
	*ret = s;
	return NULL;
}

struct fpi_error *session_add_thread(struct fpi_session *s, int tid, const struct fpi_regs *regs)
{
	return fpi_target_add_thread(s->target, tid, regs);
}

struct fpi_error *session_add_mapping(struct fpi_session *s, uint64_t start, uint64_t end, uint64_t offset,
				      const char *path)
{
	return fpi_target_add_mapping(s->target, start, end, offset, path);
}

void session_set_vdso(struct fpi_session *s, uint64_t addr)
{
	s->target->vdso = addr;
	fpi_target_load_vdso(s->target);
}

struct fpi_error *session_load(struct fpi_session *s)
{
	return session_finish(s);
}

struct fpi_error *session_modules(struct fpi_session *s, struct fpi_modules **ret)
{
	if (!s->mods) {
		struct fpi_mem_image vdso = { "[vdso]", s->target->vdso, s->target->vdso_image,
					      s->target->vdso_len };
		struct fpi_error *err = fpi_modules_create(s->target->maps, s->target->nmaps,
							   s->target->exe_path, &vdso,
							   s->target->vdso_image ? 1 : 0, &s->mods);
		if (err)
			return err;
	}
	*ret = s->mods;
	return NULL;
}

struct fpi_error *session_walk_ctx(struct fpi_session *s, struct walk_ctx **ret)
{
	if (!s->walk) {
		struct fpi_modules *mods = NULL;
		struct fpi_error *merr = session_modules(s, &mods), *err;
		bool vdso = s->target->vdso_image != NULL;

		err = walk_ctx_create(s->target->arch, s->layout, s->snap, &s->mem, merr ? NULL : mods, merr ? merr->message : NULL,
				      vdso ? s->target->vdso : 0, vdso ? s->target->vdso_len : 0, &s->walk);
		fpi_error_destroy(merr);
		if (err)
			return err;
	}
	s->walk->snap = s->snap;
	*ret = s->walk;
	return NULL;
}

const char *session_symbol(struct fpi_session *s, uint64_t pc, bool is_return_address)
{
	struct fpi_modules *mods;
	const struct fpi_symbol *sym;
	struct fpi_error *err;

	if (!pc)
		return NULL;
	err = session_modules(s, &mods);
	if (err) {
		fpi_error_destroy(err);
		return NULL;
	}
	sym = fpi_symbolize(mods, is_return_address ? pc - 1 : pc);
	return sym ? sym->function : NULL;
}

/* ---- pprof labels ---- */

struct label_set {
	uint64_t ptr;              /* 0: empty slot */
	bool ok;
	size_t n;
	struct go_label *v;
	struct fpi_label *pub;
};

struct label_cache {
	struct label_set *v;
	size_t cap, count;         /* cap a power of two */
};

static void label_cache_destroy(struct label_cache *c)
{
	for (size_t i = 0; c && i < c->cap; i++) {
		go_labels_free(c->v[i].v, c->v[i].n);
		free(c->v[i].pub);
	}
	if (c)
		free(c->v);
	free(c);
}

static struct label_set *label_slot(struct label_cache *c, uint64_t ptr)
{
	size_t i = (ptr >> 4) * 0x9e3779b97f4a7c15ull >> 40 & (c->cap - 1);

	while (c->v[i].ptr && c->v[i].ptr != ptr)
		i = (i + 1) & (c->cap - 1);
	return &c->v[i];
}

static bool label_cache_grow(struct label_cache *c)
{
	struct label_cache n = { calloc(c->cap ? 2 * c->cap : 64, sizeof(struct label_set)), c->cap ? 2 * c->cap : 64,
				 c->count };

	if (!n.v)
		return false;
	for (size_t i = 0; i < c->cap; i++)
		if (c->v[i].ptr)
			*label_slot(&n, c->v[i].ptr) = c->v[i];
	free(c->v);
	*c = n;
	return true;
}

bool session_labels(struct fpi_session *s, uint64_t labels, const struct fpi_label **ret, size_t *n)
{
	struct label_set *e;
	struct fpi_error *err;

	*ret = NULL, *n = 0;
	if (!labels)
		return true;
	if (!s->labels && !(s->labels = calloc(1, sizeof(*s->labels))))
		return false;
	if ((s->labels->count + 1) * 2 > s->labels->cap && !label_cache_grow(s->labels))
		return false;
	e = label_slot(s->labels, labels);
	if (!e->ptr) {
		e->ptr = labels;
		s->labels->count++;
		/* a released live target reads nothing: what was not read then is not known */
		if (s->target->released && s->target->ops->stops) {
			e->ok = false;
			return false;
		}
		err = go_labels_read(s->layout, &s->mem, labels, &e->v, &e->n);
		e->ok = !err;
		fpi_error_destroy(err);
		if (e->ok && e->n && !(e->pub = calloc(e->n, sizeof(*e->pub))))
			e->ok = false;
		for (size_t k = 0; e->ok && k < e->n; k++)
			e->pub[k] = (struct fpi_label){ e->v[k].key, e->v[k].value };
	}
	*ret = e->pub, *n = e->n;
	return e->ok;
}

static void read_all_labels(struct fpi_session *s)
{
	const struct fpi_label *v;
	size_t n;

	for (size_t i = 0; s->snap && i < s->snap->ngs; i++)
		if (s->snap->gs[i].labels && !go_g_is_dead(s->layout, &s->snap->gs[i]))
			session_labels(s, s->snap->gs[i].labels, &v, &n);
}

static void print_help(FILE *out, const char *name)
{
	const struct fpi_command *c = name ? find_command(name) : NULL;

	if (c) {
		fprintf(out, "usage: %s\n%s\n", c->usage, c->help);
		return;
	}
	fprintf(out, "commands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-38s %s\n", commands[i].usage, commands[i].summary);
	fprintf(out, "help COMMAND or COMMAND --help explains one. Output is JSON with --json.\n");
}

/* Is arg one of c's options? *takes_value: the next argument is its value. */
static bool known_option(const struct fpi_command *c, const char *arg, bool *takes_value)
{
	*takes_value = false;
	for (const char *const *o = c->options; *o; o++) {
		size_t n = strlen(*o);

		if ((*o)[n - 1] != '=') {
			if (!strcmp(arg, *o))
				return true;
		} else if (!strncmp(arg, *o, n)) {
			return true;
		} else if (!strncmp(arg, *o, n - 1) && arg[n - 1] == '\0') {
			*takes_value = true;
			return true;
		}
	}
	return false;
}

struct fpi_error *session_command_check(int argc, char **argv, bool *help)
{
	const struct fpi_command *c;

	*help = false;
	if (argc < 1)
		return fpi_error_create(FPI_ERR_USAGE, "no command given (try help)");
	c = find_command(argv[0]);
	if (!c)
		return fpi_error_create(FPI_ERR_USAGE, "unknown command '%s' (commands: summary threads goroutines bt check dump profile help)",
					argv[0]);
	if (!strcmp(c->name, "help")) {
		if (argc > 1 && strcmp(argv[1], "--help") && !find_command(argv[1]))
			return fpi_error_create(FPI_ERR_USAGE, "no command '%s'", argv[1]);
		*help = true;
		return NULL;
	}
	for (int i = 1; i < argc; i++) {
		bool value;

		if (!strcmp(argv[i], "--help")) {
			*help = true;
			return NULL;
		}
		if (argv[i][0] != '-' || !argv[i][1])
			continue;
		if (!known_option(c, argv[i], &value))
			return fpi_error_create(FPI_ERR_USAGE, "%s: unknown option '%s' (usage: %s)", c->name, argv[i],
						c->usage);
		i += value;
	}
	return NULL;
}

static struct fpi_error *copy_stacks(struct fpi_session *s, uint64_t top_window);

/* check and bt all walk every stack; goroutines the top of each */
static bool walks_all(int argc, char **argv)
{
	if (!strcmp(argv[0], "check") || !strcmp(argv[0], "dump") || !strcmp(argv[0], "profile") ||
	    !strcmp(argv[0], "goroutines"))
		return true;
	for (int i = 1; !strcmp(argv[0], "bt") && i < argc; i++)
		if (!strcmp(argv[i], "all"))
			return true;
	return false;
}

void session_prepare_walks(struct fpi_session *s)
{
	/* A caller's target (GDB's, each read a trip through Python): every
	 * stack in one bulk read first, not frame by frame. The caller makes a
	 * new session whenever the process may have changed. */
	if (!s->copy && s->snap && s->target->ops->host_reads)
		fpi_error_destroy(copy_stacks(s, 0)); /* without it, reads go to the target */
}

struct fpi_error *session_run(struct fpi_session *s, int argc, char **argv, bool json, FILE *out, int *status)
{
	const struct fpi_command *c;
	struct fpi_cmd_ctx ctx = { s, out, json, argc, argv };
	struct fpi_error *err;
	bool help;

	*status = 0;
	err = session_command_check(argc, argv, &help);
	if (err)
		return err;
	c = find_command(argv[0]);
	if (help) {
		/* "help --help" is help's own */
		print_help(out, strcmp(c->name, "help") || (argc > 1 && !strcmp(argv[1], "--help")) ? c->name :
				argc > 1 ? argv[1] : NULL);
		fflush(out);
		return NULL;
	}
	if (!s)
		return fpi_error_create(FPI_ERR_USAGE, "%s: no session (only help needs none)", c->name);
	if (!c->fn)
		return NULL;
	if (walks_all(argc, argv))
		session_prepare_walks(s);
	err = c->fn(&ctx, status);
	if (err)
		return err;
	fflush(out);
	return NULL;
}

/* What to copy of the stack a thread is on: all of it from SP up, since a
 * running goroutine may use a megabyte or more (a deep recursion); 256 KiB
 * of a stack whose bounds are unknown (C, a thread not yet set up). */
static void thread_copy_range(struct fpi_session *s, const struct go_thread *th, uint64_t *sp, uint64_t *top)
{
	uint64_t lo, hi;
	enum fr_stack kind;

	*sp = th->regs.r[FPI_REG_SP] & ~(uint64_t)4095;
	*top = *sp + (256u << 10);
	/* a system stack's bounds are a guess on C-made threads (the runtime
	 * sets an extra M's g0 bounds around the callback's SP): C frames may
	 * lie above them, so at least the 256 KiB */
	if (thread_stack_bounds(s->snap, th, &lo, &hi, &kind) && *sp + 4096 > lo && *sp < hi && (kind != FR_G0 || hi > *top))
		*top = hi - *sp > (64u << 20) ? *sp + (64u << 20) : hi;
	if (*top < *sp)
		*top = *sp;
}

/* What commands read after release: every goroutine's used stack (from its
 * SP up; a few KiB each, sitting together in stack spans), every thread's
 * stack from its SP up, and each M's g0 struct (cgocallback's saved C SP).
 * With a prefetch, what it holds is not read again. top_window: of a
 * goroutine that is not running only that many bytes from its SP. */
static struct fpi_error *copy_stacks(struct fpi_session *s, uint64_t top_window)
{
	const struct go_snapshot *sn = s->snap;
	size_t cap = sn->ngs + 4 * sn->nthreads + sn->nms + 1, n = 0, k = 0, npre;
	struct fpi_bulk *v, *pre, *all;
	struct fpi_error *err = NULL;
	bool all_read;

	for (size_t i = 0; i < sn->nthreads; i++) {
		uint64_t sp, top;

		thread_copy_range(s, &sn->threads[i], &sp, &top);
		cap += (top - sp) / 4096 + 1 + 3; /* its pieces, a callback's g0 window, a signal's two */
	}
	v = calloc(cap, sizeof(*v));

	if (!v)
		return &fpi_enomem;
	if (s->prefetch)
		err = fpi_bulk_finish(s->prefetch, s->target);
	if (err) {
		/* the target itself failed: the plain read below says how */
		fpi_error_destroy(err);
		fpi_bulk_free(s->prefetch);
		s->prefetch = NULL;
		go_snapshot_destroy(s->preview);
		s->preview = NULL;
	}
	/* every run of the prefetch read: what it planned is there (the
	 * common case, one pass); else ask it range by range */
	all_read = fpi_bulk_all_read(s->prefetch);
	for (size_t i = 0, pos = 0; i < sn->ngs; i++) {
		const struct go_g *g = &sn->gs[i];
		uint64_t lo, hi;

		/* a running goroutine's SP is its thread's: that range comes below */
		if (!g_copy_range(s->layout, g, top_window, &lo, &hi))
			continue;
		if (all_read ? prefetched(s, &pos, g->addr, lo, hi) : fpi_bulk_find(s->prefetch, lo, hi - lo) != NULL)
			continue;
		want(s->target, v, &n, lo, hi);
	}
	for (size_t i = 0; i < sn->nthreads; i++) {
		const struct go_thread *th = &sn->threads[i];
		uint64_t sp, top;

		thread_copy_range(s, th, &sp, &top);
		/* 4 KiB pieces so that one unmapped page loses only itself */
		for (uint64_t p = sp; p < top; p += 4096)
			want(s->target, v, &n, p, p + 4096 < top ? p + 4096 : top);
		/* on its goroutine with C below (a callback, a cgo call made
		 * from one): the C frames are on the M's g0 stack, whose
		 * bounds on a C-made thread are only a window around the
		 * callback's SP, with the thread's own frames above it */
		if (th->stack == GO_STACK_CURG && th->m >= 0) {
			const struct go_m *m = &sn->ms[th->m];

			/* (want cuts it to the mapping it starts in) */
			if ((m->ncgo > 0 || m->isextra == 1) && m->g0_lo < m->g0_hi && m->g0_hi - m->g0_lo <= (1u << 20))
				want(s->target, v, &n, m->g0_lo, m->g0_hi + (64u << 10));
		}
		/* in a signal handler: the interrupted code is on the M's g0
		 * stack (its top 256 KiB) or on its goroutine's */
		if (th->stack == GO_STACK_GSIGNAL && th->m >= 0) {
			const struct go_m *m = &sn->ms[th->m];
			const struct go_g *cg = go_find_g_addr(sn, m->curg);

			if (m->g0_lo < m->g0_hi)
				want(s->target, v, &n, m->g0_hi - m->g0_lo > (256u << 10) ? m->g0_hi - (256u << 10) : m->g0_lo,
				     m->g0_hi + G0_HI_SLACK);
			if (cg)
				want(s->target, v, &n, cg->stack_lo, cg->stack_hi);
		}
	}
	for (size_t i = 0; i < sn->nms; i++)
		if (sn->ms[i].g0)
			want(s->target, v, &n, sn->ms[i].g0, sn->ms[i].g0 + s->layout->g_size);
	err = fpi_bulk_read(s->target, v, n, 512, &s->copy_arena);
	if (err) {
		free(v);
		return err;
	}
	/* the copy index: what was read now (sorted by address by the bulk
	 * read) merged with the prefetch's runs (sorted too) */
	for (size_t i = 0; i < n; i++)
		if (v[i].data)
			v[k++] = v[i];
	npre = fpi_bulk_runs(s->prefetch, NULL);
	pre = malloc((npre + 1) * sizeof(*pre));
	all = malloc((k + npre + 1) * sizeof(*all));
	if (!pre || !all) {
		free(v);
		free(pre);
		free(all);
		return &fpi_enomem;
	}
	fpi_bulk_runs(s->prefetch, pre);
	for (size_t a = 0, b = 0, o = 0; a < k || b < npre;)
		all[o++] = b == npre || (a < k && v[a].addr <= pre[b].addr) ? v[a++] : pre[b++];
	free(v);
	free(pre);
	/* Both copies were taken in this stop, so where they overlap (a
	 * running goroutine's stack is also its thread's) either will do:
	 * clip each piece to what the ones before it do not cover. */
	if (getenv("FPI_TIMING"))
		fprintf(stderr, "timing:   copy: %zu runs prefetched, %zu ranges read now\n", npre, k);
	k += npre;
	npre = 0;
	for (size_t i = 0; i < k; i++) {
		struct fpi_bulk c = all[i];

		if (npre) {
			uint64_t end = all[npre - 1].addr + all[npre - 1].len;

			if (c.addr + c.len <= end)
				continue;
			if (c.addr < end) {
				c.data += end - c.addr;
				c.len -= end - c.addr;
				c.addr = end;
			}
		}
		all[npre++] = c;
	}
	s->copy = all;
	s->ncopy = npre;
	return NULL;
}

/* copy: the stacks are read after the release; top_window: only their tops */
static void release(struct fpi_session *s, bool copy, uint64_t top_window)
{
	if (!s || !s->target || s->target->released)
		return;
	if (copy && s->target->ops->stops && s->snap && !s->copy) {
		double t0 = now();
		struct fpi_error *err = copy_stacks(s, top_window);

		if (getenv("FPI_TIMING"))
			fprintf(stderr, "timing: copy %.1f ms (%zu ranges)\n", (now() - t0) * 1e3, s->ncopy);

		fpi_error_destroy(err); /* without the copy, bt/check say what they cannot read */
	}
	/* label sets are on the heap, not in the copy */
	if (copy && s->target->ops->stops)
		read_all_labels(s);
	/* no reading once the process goes on */
	if (s->prefetch && !s->copy) {
		fpi_bulk_free(s->prefetch);
		s->prefetch = NULL;
		go_snapshot_destroy(s->preview);
		s->preview = NULL;
	}
	fpi_target_release(s->target);
}

void session_release(struct fpi_session *s)
{
	release(s, true, 0);
}

void session_release_for(struct fpi_session *s, int argc, char **argv)
{
	bool tops = needs_stack_tops(argc, argv);

	release(s, argc < 1 || tops || session_needs_stacks(argc, argv), tops ? STACK_TOP_WINDOW : 0);
}

double session_pause_seconds(const struct fpi_session *s)
{
	return s && s->target ? s->target->pause_seconds : 0;
}

bool session_detach_async(struct fpi_session *s)
{
	return s && fpi_target_detach_async(s->target);
}

void session_destroy(struct fpi_session *s)
{
	if (!s)
		return;
	fpi_bulk_free(s->prefetch); /* its reader stops before the process is let go */
	s->prefetch = NULL;
	go_snapshot_destroy(s->preview);
	fpi_target_destroy(s->target);
	go_snapshot_destroy(s->snap);
	go_layout_destroy(s->layout);
	fpi_modules_destroy(s->mods);
	free(s->custom);
	walk_ctx_destroy(s->walk);
	free(s->copy);
	free(s->order);
	free(s->view_walk);
	free(s->user);
	label_cache_destroy(s->labels);
	fpi_bulk_free(s->copy_arena);
	free(s);
}
