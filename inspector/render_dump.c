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

void tb_goroutine_stack(struct fpi_session *s, struct walk_ctx *cx, const struct go_g *g, bool system,
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
	if (!system) {
		/* in place: a kept frame never moves past one not yet judged */
		for (size_t i = 0; i < n; i++) {
			const char *fn = all[i].function;

			if (tb_show_frame(fn, all[i].file, k == 0, callee))
				all[k++] = all[i];
			callee = fn;
		}
		/* "By default, omits runtime frames. If that means we print
		 * nothing at all, repeat forcing all frames printed." */
		if (k == 0)
			k = logical_frames(cx, g, w, all, WALK_MAX_FRAMES * 2);
		n = k;
	}
	ret->n = ret->total = n;
}

static void print_frames(struct fpi_session *s, FILE *out, const struct tb_stack *st, size_t from, size_t to,
			 bool system)
{
	char nb[512];

	for (size_t i = from; i < to; i++) {
		const struct tb_frame *f = &st->frames[i];

		fprintf(out, "%s(...)\n\t%s:%d", tb_func_name(f->function, nb, sizeof(nb)), f->file ? f->file : "?",
			f->line);
		if (!f->inlined) {
			if (f->entry && f->pc > f->entry)
				fprintf(out, " +0x%" PRIx64, f->pc - f->entry);
			if (system)
				fprintf(out, " fp=0x%" PRIx64 " sp=0x%" PRIx64 " pc=0x%" PRIx64, f->fp, f->sp, f->pc);
		}
		fputc('\n', out);
	}
	(void)s;
}

/* traceback1's limits: Go 1.21 and later print the innermost 50 and the
 * outermost 50 logical frames around "...N frames elided..."; before, the
 * first 100 and "...additional frames elided...". */
static void print_stack(struct fpi_session *s, FILE *out, const struct tb_stack *st, bool system)
{
	int minor = s->layout->version_minor;

	if (minor && minor < 21) {
		/* gentraceback: the logical frames of the first 100 physical
		 * ones, and the line when exactly 100 were printed */
		size_t k = 0;

		while (k < st->n && st->frames[k].phys < 100)
			k++;
		print_frames(s, out, st, 0, k, system);
		if (k == 100)
			fputs("...additional frames elided...\n", out);
	} else if (st->n > 100) {
		print_frames(s, out, st, 0, 50, system);
		fprintf(out, "...%zu frames elided...\n", st->n - 100);
		print_frames(s, out, st, st->n - 50, st->n, system);
	} else {
		print_frames(s, out, st, 0, st->n, system);
	}
}

static void print_created_by(struct fpi_session *s, FILE *out, const struct go_g *g, bool system)
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
	if (!sym || !sym->function || (!system && !tb_show_frame(sym->function, sym->file, false, NULL)))
		return;
	/* the function, not the inlined one at the go statement: funcname(f) */
	fprintf(out, "created by %s", tb_func_name(sym->ninlined > 1 ? sym->inlined[sym->ninlined - 1].function
								      : sym->function, nb, sizeof(nb)));
	if (g->parentgoid > 0)
		fprintf(out, " in goroutine %" PRId64, g->parentgoid);
	fprintf(out, "\n\t%s:%d", sym->file ? sym->file : "?", sym->line);
	if (sym->func_start && g->gopc > sym->func_start)
		fprintf(out, " +0x%" PRIx64, g->gopc - sym->func_start);
	fputc('\n', out);
}

void tb_print_header(struct fpi_session *s, FILE *out, const struct go_g *g, bool system)
{
	char st[160];
	int64_t min = tb_wait_minutes(s, g);

	tb_status(s, g, st, sizeof(st));
	fprintf(out, "goroutine %" PRIu64, g->goid);
	/* Go 1.23 and later name the g and its M at GOTRACEBACK=system */
	if (system && s->layout->version_minor >= 23) {
		fprintf(out, " gp=0x%" PRIx64, g->addr);
		if (g->m)
			fprintf(out, " m=%" PRId64 " mp=0x%" PRIx64, g->mid, g->m);
		else
			fputs(" m=nil", out);
	}
	fprintf(out, " [%s", st);
	if (min >= 1)
		fprintf(out, ", %" PRId64 " minutes", min);
	if (g->lockedm)
		fputs(", locked to thread", out);
	fputs("]:\n", out);
}

struct fpi_error *tb_each_goroutine(struct fpi_session *s, bool all, bool runtime_frames, tb_visit_fn fn,
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
		tb_goroutine_stack(s, cx, g, runtime_frames, w, st);
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
};

static struct fpi_error *dump_one(void *arg, const struct go_g *g, const struct tb_stack *st)
{
	struct dump_state *d = arg;
	struct fpi_session *s = d->c->s;
	FILE *out = d->c->out;

	if (!tb_selected(s, &d->sel, g, st))
		return NULL;
	if (d->groups)
		return tb_groups_add(d->groups, s, g, st);
	if (d->shown++)
		fputc('\n', out);
	tb_print_header(s, out, g, d->system);
	if (st->unwalked)
		fputs("\tgoroutine running on other thread; stack unavailable\n", out);
	else
		print_stack(s, out, st, d->system);
	print_created_by(s, out, g, d->system);
	return NULL;
}

/* Each group once: its header, then the stack and creation of the
 * goroutine that stands for it. */
static struct fpi_error *print_groups(struct dump_state *d)
{
	struct fpi_session *s = d->c->s;
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
			fputc('\n', d->c->out);
		g = tb_group_print_header(d->groups, i, d->c->out);
		tb_goroutine_stack(s, cx, g, d->system, w, st);
		if (st->unwalked)
			fputs("\tgoroutine running on other thread; stack unavailable\n", d->c->out);
		else
			print_stack(s, d->c->out, st, d->system);
		print_created_by(s, d->c->out, g, d->system);
	}
	free(w);
	free(st);
	return err;
}

struct fpi_error *cmd_dump(struct fpi_cmd_ctx *c, int *status)
{
	struct dump_state d = { c, false, 0, { 0 }, NULL };
	struct fpi_error *err;

	for (int i = 1; i < c->argc; i++)
		if (!strcmp(c->argv[i], "--system"))
			d.system = true;
	err = tb_select_parse(c, &d.sel);
	if (!err && d.sel.group)
		err = tb_groups_create(&d.groups);
	if (!err)
		err = tb_each_goroutine(c->s, d.system, d.system, dump_one, &d);
	if (!err && d.groups)
		err = print_groups(&d);
	tb_groups_destroy(d.groups);
	tb_select_deinit(&d.sel);
	if (!err)
		*status = 0;
	return err;
}
