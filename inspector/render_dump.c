/* SPDX-License-Identifier: GPL-3.0-or-later */
/* dump: every goroutine in the Go runtime's traceback format, by the rules
 * of runtime/traceback.go (goroutineheader, traceback1/traceback2,
 * showfuncinfo, printcreatedby, isSystemGoroutine), so that what reads a
 * SIGQUIT dump (people, panicparse) reads this one. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "group.h"
#include "render_dump.h"
#include "views.h"

const char *tb_func_name(const char *fn, char *buf, size_t len)
{
	const char *lb, *rb;

	if (!fn)
		return "?";
	if (!strcmp(fn, "runtime.gopanic"))
		return "panic";
	/* funcNamePiecesForPrint: the type arguments of a generic function
	 * (the symbol has go.shape.* there) print as "[...]" */
	lb = strchr(fn, '[');
	rb = strrchr(fn, ']');
	if (!lb || !rb || rb < lb)
		return fn;
	snprintf(buf, len, "%.*s[...]%s", (int)(lb - fn), fn, rb + 1);
	return buf;
}

static bool on_stack(const struct go_g *g, uint64_t sp)
{
	return sp >= g->stack_lo && sp < g->stack_hi;
}

/* The CFA of a frame whose caller is on another stack: above its frame
 * record where the machine fixes that, else by its SP delta. */
static uint64_t frame_cfa(struct walk_ctx *cx, const struct frame *f, uint64_t sp)
{
	uint64_t cfa = f->fp ? cx->arch->cfa_of_record(f->fp) : 0;

	return cfa || !sp ? cfa : walk_frame_cfa(cx, f->pc, sp, f->exact);
}

/* Every logical frame of the walk, innermost first, as the runtime's
 * unwinder sees them: C frames (the runtime shows them only through a cgo
 * symbolizer) left out. */
static size_t logical_frames(struct walk_ctx *cx, const struct go_g *g, const struct walk *w, struct tb_frame *out,
			     size_t max)
{
	struct fpi_modules *mods = cx->mods;
	size_t n = 0;
	uint32_t phys = 0;
	uint64_t callee_cfa = 0;

	for (size_t i = 0; i < w->n && n < max; i++) {
		const struct frame *f = &w->frames[i];
		const struct fpi_symbol *sym;
		uint64_t sp, fp, next_sp;
		bool next_other;

		if (f->stack == FR_C)
			continue;
		sym = mods ? fpi_symbolize(mods, f->exact ? f->pc : f->pc - 1) : NULL;
		if (sym && !sym->go)
			continue;
		/* a frame found by its caller's frame record: its sp is where
		 * the machine keeps records (amd64: just above the callee's,
		 * arm64: just above its own) */
		sp = f->sp ? f->sp : cx->arch->sp_of_record(f->fp, i > 0 ? w->frames[i - 1].fp : 0);
		/* the chain's last frame (fp 0), or one whose record holds
		 * another stack's FP (cgocallback's before Go 1.21 on arm64):
		 * its callee's CFA is its SP */
		if (i > 0 && callee_cfa && (!sp || (!on_stack(g, sp) && on_stack(g, callee_cfa))))
			sp = callee_cfa;
		fp = 0;
		next_sp = i + 1 >= w->n ? 0 : w->frames[i + 1].sp ? w->frames[i + 1].sp :
			  cx->arch->sp_of_record(w->frames[i + 1].fp, f->fp);
		if (f->rt != RT_CGOCALLBACK && on_stack(g, sp) && next_sp && !on_stack(g, next_sp)) {
			uint64_t c = walk_frame_cfa(cx, f->pc, sp, f->exact);

			if (c && on_stack(g, c))
				next_sp = c;
		}
		next_other = i + 1 < w->n && !(next_sp >= g->stack_lo && next_sp < g->stack_hi) &&
			     sp >= g->stack_lo && sp < g->stack_hi;
		if (i + 1 < w->n && !next_other)
			/* an injected call's CFA is below its caller's SP by what
			 * the signal handler moved SP (LR machines, arch.h) */
			fp = next_sp - (f->rt == RT_SIGPANIC || f->rt == RT_ASYNCPREEMPT ? cx->arch->injected_pad : 0);
		else if (f->rt == RT_CGOCALLBACK && next_other)
			/* its frame on the goroutine's stack is the size of its
			 * g0 frame ($24, asm_amd64.s and asm_arm64.s): its SP
			 * delta says; its FP is the C caller's, so not that */
			fp = walk_frame_cfa(cx, f->pc, sp, f->exact);
		else if (i + 1 < w->n)
			fp = frame_cfa(cx, f, sp); /* the caller on another stack */
		else if (sp)
			/* goexit: no frame of its own, only the return address
			 * (where CALL pushes one) */
			fp = sp + (cx->arch->lr < 0 ? cx->arch->ptr_size : 0);
		callee_cfa = fp;
		if (sym && sym->ninlined > 1) {
			for (size_t k = 0; k < sym->ninlined && n < max; k++) {
				struct tb_frame *t = &out[n++];

				t->function = sym->inlined[k].function;
				t->file = sym->inlined[k].file;
				t->line = sym->inlined[k].line;
				t->wrapper = sym->inlined[k].wrapper;
				t->inlined = k + 1 < sym->ninlined;
				t->pc = f->pc, t->entry = sym->func_start, t->sp = sp, t->fp = fp;
				t->phys = phys;
			}
			phys++;
			continue;
		}
		out[n].function = sym ? sym->function : NULL;
		out[n].file = sym ? sym->file : NULL;
		out[n].line = sym ? sym->line : 0;
		out[n].wrapper = sym && sym->wrapper;
		out[n].inlined = false;
		out[n].pc = f->pc, out[n].entry = sym ? sym->func_start : 0, out[n].sp = sp, out[n].fp = fp;
		out[n].phys = phys++;
		n++;
		/* cgocallback left the return pc of the goroutine's sched on the
		 * goroutine stack where its frame's return address goes (amd64:
		 * under its CFA; arm64: at its SP, LR's slot): on an extra M that
		 * is goexit (needm set sched.pc so), and the runtime's unwinder
		 * ends there rather than go on into the C caller */
		if (f->rt == RT_CGOCALLBACK && fp && next_other && n < max) {
			uint64_t ret = 0, ra_at = cx->arch->lr >= 0 ? sp : fp - cx->arch->ptr_size;

			if (cx->mem->read(cx->mem->arg, ra_at, &ret, 8) && rt_fn_of(cx, ret, true) == RT_GOEXIT) {
				sym = mods ? fpi_symbolize(mods, ret - 1) : NULL;
				out[n].function = sym ? sym->function : "runtime.goexit";
				out[n].file = sym ? sym->file : NULL;
				out[n].line = sym ? sym->line : 0;
				out[n].wrapper = false;
				out[n].inlined = false;
				out[n].pc = ret, out[n].entry = sym ? sym->func_start : 0, out[n].sp = fp;
				out[n].fp = fp + (cx->arch->lr < 0 ? cx->arch->ptr_size : 0);
				out[n].phys = phys++;
				n++;
				break;
			}
		}
	}
	return n;
}

void tb_goroutine_stack(struct fpi_session *s, struct walk_ctx *cx, const struct go_g *g, enum tb_frames which,
			struct walk *w, struct tb_stack *ret)
{
	const char *why;
	struct tb_frame *all = ret->frames;
	size_t n, k = 0;
	const char *callee = NULL;

	ret->n = ret->total = 0;
	ret->unwalked = false;
	if (goroutine_not_owned(s->layout, g, &why)) {
		ret->unwalked = true;
		return;
	}
	walk_goroutine(cx, g, UNWIND_FP, w);
	/* the runtime's own traceback goes by pclntab, not by frame
	 * pointers: where the chain is broken (Go before 1.21 on arm64 left
	 * saved FPs pointing into the old stack after copying a stack) it
	 * still prints the whole stack, and so does dump */
	if (w->fp_broken && cx->pcln)
		walk_goroutine(cx, g, UNWIND_GO, w);
	n = logical_frames(cx, g, w, all, WALK_MAX_FRAMES * 2);
	if (which == TB_TRACEBACK) {
		/* in place: a kept frame never moves past one not yet judged */
		for (size_t i = 0; i < n; i++) {
			const char *fn = all[i].function;

			if (tb_show_frame(fn, all[i].wrapper, k == 0, callee))
				all[k++] = all[i];
			callee = fn;
		}
		/* "By default, omits runtime frames. If that means we print
		 * nothing at all, repeat forcing all frames printed." */
		if (k == 0)
			k = logical_frames(cx, g, w, all, WALK_MAX_FRAMES * 2);
		n = k;
	} else if (which == TB_PROFILE) {
		for (size_t i = 0; i < n; i++) {
			const char *fn = all[i].function;

			if (!(all[i].wrapper && tb_wrapper_elided(callee)) && !(fn && !strcmp(fn, "runtime.goexit")))
				all[k++] = all[i];
			callee = fn;
		}
		n = k;
	}
	ret->n = ret->total = n;
}

/* ---- output ----
 * A dump of 100k goroutines is about 1.2 million frame lines (130 MB) made
 * of a few dozen distinct ones: formatting each with stdio's printf was
 * most of the time of the whole dump. The text goes through a buffer that
 * is handed to stdio in large pieces (still streamed: it never holds more
 * than one goroutine past DUMP_FLUSH), and a frame's line, which depends
 * only on its function, file:line and offset, is formatted once. */

#define DUMP_FLUSH (64 * 1024)

struct frame_text {
	const char *function, *file;  /* the symbolizer's: stable for the session */
	int line;
	uint64_t off;                 /* pc - entry where printed, else 0 */
	char *text;                   /* "f(...)\n\tfile:line +0xoff", no newline */
	size_t len;
};

struct dump_out {
	FILE *out;
	char *buf;
	size_t len, cap;
	struct frame_text *cache;
	size_t cache_cap, cache_count;
	bool enomem;                  /* a write was lost: reported at the end */
};

static void out_flush(struct dump_out *o)
{
	if (o->len)
		fwrite(o->buf, 1, o->len, o->out);
	o->len = 0;
}

static bool out_reserve(struct dump_out *o, size_t n)
{
	char *b;
	size_t cap;

	if (o->len + n <= o->cap)
		return true;
	out_flush(o);
	if (n <= o->cap)
		return true;
	/* one piece larger than the buffer (a very long name) */
	cap = n > DUMP_FLUSH * 2 ? n : DUMP_FLUSH * 2;
	b = realloc(o->buf, cap);
	if (!b) {
		o->enomem = true;
		return false;
	}
	o->buf = b, o->cap = cap;
	return true;
}

static inline void out_put(struct dump_out *o, const char *s, size_t n)
{
	if (o->len + n <= o->cap || out_reserve(o, n)) {
		memcpy(o->buf + o->len, s, n);
		o->len += n;
	}
}

static void out_str(struct dump_out *o, const char *s)
{
	out_put(o, s, strlen(s));
}

static void out_char(struct dump_out *o, char c)
{
	out_put(o, &c, 1);
}

static void out_udec(struct dump_out *o, uint64_t v)
{
	char t[24];
	size_t i = sizeof(t);

	do
		t[--i] = '0' + v % 10;
	while (v /= 10);
	out_put(o, t + i, sizeof(t) - i);
}

static void out_dec(struct dump_out *o, int64_t v)
{
	if (v < 0) {
		out_char(o, '-');
		out_udec(o, -(uint64_t)v);
	} else {
		out_udec(o, v);
	}
}

/* "0x" and lowercase hex digits, as PRIx64 */
static void out_hex(struct dump_out *o, uint64_t v)
{
	char t[18];
	size_t i = sizeof(t);

	do
		t[--i] = "0123456789abcdef"[v & 15];
	while (v >>= 4);
	t[--i] = 'x';
	t[--i] = '0';
	out_put(o, t + i, sizeof(t) - i);
}

static void dump_out_init(struct dump_out *o, FILE *out)
{
	memset(o, 0, sizeof(*o));
	o->out = out;
	o->buf = malloc(DUMP_FLUSH * 2);
	o->cap = o->buf ? DUMP_FLUSH * 2 : 0;
	o->enomem = !o->buf;
}

/* Flushes; false when some text was lost for want of memory. */
static bool dump_out_deinit(struct dump_out *o)
{
	out_flush(o);
	for (size_t i = 0; i < o->cache_cap; i++)
		free(o->cache[i].text);
	free(o->cache);
	free(o->buf);
	return !o->enomem;
}

static size_t frame_text_slot(const struct frame_text *k, size_t cap)
{
	uint64_t h = (uintptr_t)k->function * 0x9e3779b97f4a7c15ULL;

	h ^= (uintptr_t)k->file + 0x632be59bd9b4e019ULL + (h << 6) + (h >> 2);
	h ^= (uint64_t)(uint32_t)k->line * 0xff51afd7ed558ccdULL;
	h ^= k->off * 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 29;
	return h & (cap - 1);
}

static bool frame_text_same(const struct frame_text *a, const struct frame_text *b)
{
	return a->function == b->function && a->file == b->file && a->line == b->line && a->off == b->off;
}

static bool frame_text_grow(struct dump_out *o)
{
	size_t cap = o->cache_cap ? o->cache_cap * 2 : 256;
	struct frame_text *v = calloc(cap, sizeof(*v));

	if (!v)
		return false;
	for (size_t i = 0; i < o->cache_cap; i++) {
		size_t j;

		if (!o->cache[i].text)
			continue;
		for (j = frame_text_slot(&o->cache[i], cap); v[j].text; j = (j + 1) & (cap - 1))
			;
		v[j] = o->cache[i];
	}
	free(o->cache);
	o->cache = v;
	o->cache_cap = cap;
	return true;
}

static void format_frame_text(const struct frame_text *k, char *buf, size_t len, int *ret)
{
	char nb[512];

	if (k->off)
		*ret = snprintf(buf, len, "%s(...)\n\t%s:%d +0x%" PRIx64, tb_func_name(k->function, nb, sizeof(nb)),
				k->file ? k->file : "?", k->line, k->off);
	else
		*ret = snprintf(buf, len, "%s(...)\n\t%s:%d", tb_func_name(k->function, nb, sizeof(nb)),
				k->file ? k->file : "?", k->line);
}

/* A frame's line without its newline: from the cache, else formatted (and
 * kept when there is memory for it). */
static void out_frame_text(struct dump_out *o, const struct frame_text *k)
{
	char small[256], *text;
	int n;
	size_t i = 0;

	if (o->cache_cap) {
		for (i = frame_text_slot(k, o->cache_cap); o->cache[i].text; i = (i + 1) & (o->cache_cap - 1))
			if (frame_text_same(&o->cache[i], k)) {
				out_put(o, o->cache[i].text, o->cache[i].len);
				return;
			}
	}
	format_frame_text(k, small, sizeof(small), &n);
	if (n < 0)
		return;
	text = malloc((size_t)n + 1);
	if (!text) {
		o->enomem = true;
		return;
	}
	if ((size_t)n < sizeof(small))
		memcpy(text, small, (size_t)n + 1);
	else
		format_frame_text(k, text, (size_t)n + 1, &n);
	out_put(o, text, (size_t)n);
	if ((o->cache_count + 1) * 2 > o->cache_cap) {
		if (!frame_text_grow(o)) {
			free(text);  /* printed; only not kept */
			return;
		}
		for (i = frame_text_slot(k, o->cache_cap); o->cache[i].text; i = (i + 1) & (o->cache_cap - 1))
			;
	}
	o->cache[i] = *k;
	o->cache[i].text = text;
	o->cache[i].len = (size_t)n;
	o->cache_count++;
}

static void print_frames(struct dump_out *o, const struct tb_stack *st, size_t from, size_t to, bool system)
{
	for (size_t i = from; i < to; i++) {
		const struct tb_frame *f = &st->frames[i];
		struct frame_text k = { f->function, f->file, f->line, 0, NULL, 0 };

		if (!f->inlined && f->entry && f->pc > f->entry)
			k.off = f->pc - f->entry;
		out_frame_text(o, &k);
		if (!f->inlined && system) {
			out_str(o, " fp=");
			out_hex(o, f->fp);
			out_str(o, " sp=");
			out_hex(o, f->sp);
			out_str(o, " pc=");
			out_hex(o, f->pc);
		}
		out_char(o, '\n');
	}
}

/* traceback1's limits: Go 1.21 and later print the innermost 50 and the
 * outermost 50 logical frames around "...N frames elided..."; before, the
 * first 100 and "...additional frames elided...". */
static void print_stack(struct fpi_session *s, struct dump_out *o, const struct tb_stack *st, bool system)
{
	int minor = s->layout->version_minor;

	if (minor && minor < 21) {
		/* gentraceback: the logical frames of the first 100 physical
		 * ones, and the line when exactly 100 were printed */
		size_t k = 0;

		while (k < st->n && st->frames[k].phys < 100)
			k++;
		print_frames(o, st, 0, k, system);
		if (k == 100)
			out_str(o, "...additional frames elided...\n");
	} else if (st->n > 100) {
		print_frames(o, st, 0, 50, system);
		out_str(o, "...");
		out_udec(o, st->n - 100);
		out_str(o, " frames elided...\n");
		print_frames(o, st, st->n - 50, st->n, system);
	} else {
		print_frames(o, st, 0, st->n, system);
	}
}

static void print_created_by(struct fpi_session *s, struct dump_out *o, const struct go_g *g, bool system)
{
	struct fpi_modules *mods;
	const struct fpi_symbol *sym;
	struct fpi_error *err;
	char nb[512];

	if (!g->gopc || g->goid == 1)
		return;
	err = session_modules(s, &mods);
	if (err) {
		fpi_error_destroy(err);
		return;
	}
	sym = fpi_symbolize(mods, g->gopc - 1);
	if (!sym || !sym->function || (!system && !tb_show_frame(sym->function, sym->wrapper, false, NULL)))
		return;
	/* the function, not the inlined one at the go statement: funcname(f) */
	out_str(o, "created by ");
	out_str(o, tb_func_name(sym->ninlined > 1 ? sym->inlined[sym->ninlined - 1].function : sym->function, nb,
				sizeof(nb)));
	if (g->parentgoid > 0) {
		out_str(o, " in goroutine ");
		out_dec(o, g->parentgoid);
	}
	out_str(o, "\n\t");
	out_str(o, sym->file ? sym->file : "?");
	out_char(o, ':');
	out_dec(o, sym->line);
	if (sym->func_start && g->gopc > sym->func_start) {
		out_str(o, " +");
		out_hex(o, g->gopc - sym->func_start);
	}
	out_char(o, '\n');
}

static void print_header(struct fpi_session *s, struct dump_out *o, const struct go_g *g, bool system)
{
	char st[160];
	int64_t min = tb_wait_minutes(s, g);

	tb_status(s, g, st, sizeof(st));
	out_str(o, "goroutine ");
	out_udec(o, g->goid);
	/* Go 1.23 and later name the g and its M at GOTRACEBACK=system */
	if (system && s->layout->version_minor >= 23) {
		out_str(o, " gp=");
		out_hex(o, g->addr);
		if (g->m) {
			out_str(o, " m=");
			out_dec(o, g->mid);
			out_str(o, " mp=");
			out_hex(o, g->m);
		} else {
			out_str(o, " m=nil");
		}
	}
	out_str(o, " [");
	out_str(o, st);
	if (min >= 1) {
		out_str(o, ", ");
		out_dec(o, min);
		out_str(o, " minutes");
	}
	if (g->lockedm)
		out_str(o, ", locked to thread");
	out_str(o, "]:\n");
}

struct fpi_error *tb_each_goroutine(struct fpi_session *s, bool all, enum tb_frames which, tb_visit_fn fn,
				    void *arg)
{
	const struct go_g *const *order;
	size_t n;
	struct walk_ctx *cx;
	struct walk *w;
	struct tb_stack *st;
	struct fpi_error *err;

	err = view_goroutine_order(s, &order, &n);
	if (!err)
		err = session_walk_ctx(s, &cx);
	if (err)
		return err;
	w = malloc(sizeof(*w));
	st = malloc(sizeof(*st));
	if (!w || !st)
		err = &fpi_enomem;
	for (size_t i = 0; i < n && !err; i++) {
		const struct go_g *g = order[i];

		if (!all && tb_is_system_goroutine(s, g))
			continue;
		tb_goroutine_stack(s, cx, g, which, w, st);
		err = fn(arg, g, st);
	}
	free(w);
	free(st);
	return err;
}

struct dump_state {
	struct fpi_cmd_ctx *c;
	bool system;
	size_t shown;
	struct tb_select sel;
	struct tb_groups *groups;  /* --group: folded here, printed at the end */
	struct dump_out o;
};

static struct fpi_error *dump_one(void *arg, const struct go_g *g, const struct tb_stack *st)
{
	struct dump_state *d = arg;
	struct fpi_session *s = d->c->s;
	struct dump_out *o = &d->o;

	if (!tb_selected(s, &d->sel, g, st))
		return NULL;
	if (d->groups)
		return tb_groups_add(d->groups, s, g, st);
	if (d->shown++)
		out_char(o, '\n');
	print_header(s, o, g, d->system);
	if (st->unwalked)
		out_str(o, "\tgoroutine running on other thread; stack unavailable\n");
	else
		print_stack(s, o, st, d->system);
	print_created_by(s, o, g, d->system);
	if (o->len >= DUMP_FLUSH)
		out_flush(o);
	return NULL;
}

/* Each group once: its header, then the stack and creation of the
 * goroutine that stands for it. */
static struct fpi_error *print_groups(struct dump_state *d)
{
	struct fpi_session *s = d->c->s;
	struct dump_out *o = &d->o;
	struct walk_ctx *cx;
	struct walk *w = NULL;
	struct tb_stack *st = NULL;
	struct fpi_error *err = session_walk_ctx(s, &cx);

	if (!err && (!(w = malloc(sizeof(*w))) || !(st = malloc(sizeof(*st)))))
		err = &fpi_enomem;
	tb_groups_sort(d->groups);
	for (size_t i = 0; !err && i < tb_groups_count(d->groups); i++) {
		const struct go_g *g;

		if (i)
			out_char(o, '\n');
		/* the group's header goes straight to the stream */
		out_flush(o);
		g = tb_group_print_header(d->groups, i, d->c->out);
		tb_goroutine_stack(s, cx, g, d->system ? TB_SYSTEM : TB_TRACEBACK, w, st);
		if (st->unwalked)
			out_str(o, "\tgoroutine running on other thread; stack unavailable\n");
		else
			print_stack(s, o, st, d->system);
		print_created_by(s, o, g, d->system);
	}
	free(w);
	free(st);
	return err;
}

struct fpi_error *cmd_dump(struct fpi_cmd_ctx *c, int *status)
{
	struct dump_state d = { c, false, 0, { 0 }, NULL, { 0 } };
	struct fpi_error *err;

	dump_out_init(&d.o, c->out);
	for (int i = 1; i < c->argc; i++)
		if (!strcmp(c->argv[i], "--system"))
			d.system = true;
	err = tb_select_parse(c, &d.sel);
	if (!err && d.sel.group)
		err = tb_groups_create(&d.groups);
	if (!err)
		err = tb_each_goroutine(c->s, d.system, d.system ? TB_SYSTEM : TB_TRACEBACK, dump_one, &d);
	if (!err && d.groups)
		err = print_groups(&d);
	if (!dump_out_deinit(&d.o) && !err)
		err = &fpi_enomem;
	tb_groups_destroy(d.groups);
	tb_select_deinit(&d.sel);
	if (!err)
		*status = 0;
	return err;
}
