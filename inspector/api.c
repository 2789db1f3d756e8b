/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The public API (fpinspect.h): a thin layer over the session core. It
 * converts to and from the public types and decides nothing. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checks.h"
#include "fpinspect.h"
#include "session.h"
#include "stacks.h"
#include "views.h"

/* ---- errors: the internal error is the public opaque one; only its kind
 * is translated, so that internal codes may change */

enum fpi_error_kind fpi_error_kind(const struct fpi_error *err)
{
	switch (err->code) {
	case FPI_ERR_NOMEM: return FPI_ERROR_NOMEM;
	case FPI_ERR_USAGE: return FPI_ERROR_USAGE;
	case FPI_ERR_NOPROC: return FPI_ERROR_NO_PROCESS;
	case FPI_ERR_PERM: return FPI_ERROR_PERMISSION;
	case FPI_ERR_NOTGO: return FPI_ERROR_NOT_GO;
	case FPI_ERR_NODWARF: return FPI_ERROR_NO_DWARF;
	case FPI_ERR_FORMAT: return FPI_ERROR_CORRUPT_FILE;
	case FPI_ERR_FAULT: return FPI_ERROR_TARGET_MEMORY;
	case FPI_ERR_EXITED: return FPI_ERROR_TARGET_GONE;
	case FPI_ERR_NOTFOUND: return FPI_ERROR_NOT_FOUND;
	case FPI_ERR_OTHER: break;
	}
	return FPI_ERROR_OTHER;
}

const char *fpi_error_message(const struct fpi_error *err)
{
	return err->message ? err->message : "unknown error";
}

void fpi_error_free(struct fpi_error *err)
{
	fpi_error_destroy(err);
}

/* Hand err to the caller (or drop it): the int functions' failure. */
static int fail(struct fpi_error *err, struct fpi_error **ret)
{
	if (ret)
		*ret = err;
	else
		fpi_error_destroy(err);
	return 2;
}

static int status_of(struct fpi_error *err, struct fpi_error **ret)
{
	return err ? fail(err, ret) : 0;
}

/* ---- sessions */

int fpi_session_attach(int pid, struct fpi_session **ret, struct fpi_error **err)
{
	struct fpi_session *s;

	if (fpi_session_open_live(pid, 0, NULL, &s, err))
		return 2;
	if (fpi_session_stop(s, err)) {
		session_destroy(s);
		return 2;
	}
	*ret = s;
	return 0;
}

/* the public options, whatever size the caller's header gave them */
static struct go_layout_options layout_options(const struct fpi_layout_options *o)
{
	struct go_layout_options lo = { 0 };

	if (o && o->size >= offsetof(struct fpi_layout_options, debug_file) + sizeof(o->debug_file))
		lo.debug_file = o->debug_file;
	if (o && o->size >= offsetof(struct fpi_layout_options, layout_file) + sizeof(o->layout_file))
		lo.layout_file = o->layout_file;
	return lo;
}

int fpi_session_open_live(int pid, int argc, char **argv, struct fpi_session **ret, struct fpi_error **err)
{
	return status_of(session_open_live(pid, argc, argv, NULL, ret), err);
}

int fpi_session_open_live_opts(int pid, int argc, char **argv, const struct fpi_layout_options *o,
			       struct fpi_session **ret, struct fpi_error **err)
{
	struct go_layout_options lo = layout_options(o);

	return status_of(session_open_live(pid, argc, argv, &lo, ret), err);
}

int fpi_layout_make(const char *binary, const char *out, char **path, struct fpi_error **err)
{
	if (!binary || !path)
		return fail(fpi_error_create(FPI_ERR_USAGE, "a binary and a result pointer are required"), err);
	return status_of(go_layout_make(binary, out, path), err);
}

int fpi_session_stop(struct fpi_session *s, struct fpi_error **err)
{
	return status_of(session_stop(s), err);
}

int fpi_session_open_core(const char *core, const char *exe, struct fpi_session **ret, struct fpi_error **err)
{
	return status_of(session_open_core(core, exe, NULL, ret), err);
}

int fpi_session_open_core_opts(const char *core, const char *exe, const struct fpi_layout_options *o,
			       struct fpi_session **ret, struct fpi_error **err)
{
	struct go_layout_options lo = layout_options(o);

	return status_of(session_open_core(core, exe, &lo, ret), err);
}

/* ---- a caller's target */

struct custom_reader {
	fpi_read_cb read;
	fpi_readv_cb readv;
	void *arg;
};

static bool custom_read(void *arg, uint64_t addr, void *buf, size_t len)
{
	struct custom_reader *c = arg;

	return c->read(c->arg, addr, buf, len) == 1;
}

/* The public range has an int where the internal one has a bool: batches
 * are converted through a window on the stack. */
#define CUSTOM_READV_WINDOW 256

static bool custom_readv(void *arg, struct fpi_read *reads, size_t n)
{
	struct custom_reader *c = arg;
	struct fpi_read_range v[CUSTOM_READV_WINDOW];

	for (size_t i = 0; i < n; i += CUSTOM_READV_WINDOW) {
		size_t k = n - i < CUSTOM_READV_WINDOW ? n - i : CUSTOM_READV_WINDOW;

		for (size_t j = 0; j < k; j++)
			v[j] = (struct fpi_read_range){ reads[i + j].addr, reads[i + j].buf, reads[i + j].len, 0 };
		if (c->readv(c->arg, v, k))
			return false;
		for (size_t j = 0; j < k; j++)
			reads[i + j].ok = v[j].ok == 1;
	}
	return true;
}

void fpi_session_set_readv(struct fpi_session *s, fpi_readv_cb readv)
{
	/* only sessions made by fpi_session_create_custom have a reader */
	struct custom_reader *c = s ? s->custom : NULL;

	if (!c)
		return;
	c->readv = readv;
	fpi_target_image_set_readv(s->target, readv ? custom_readv : NULL);
}

int fpi_session_create_custom(const char *exe, int pid, fpi_read_cb read, void *arg, struct fpi_session **ret,
			      struct fpi_error **err)
{
	struct custom_reader *c = malloc(sizeof(*c));

	if (!c)
		return fail(&fpi_enomem, err);
	c->read = read;
	c->readv = NULL;
	c->arg = arg;
	return status_of(session_create_custom(exe, pid, read ? custom_read : NULL, c, true, ret), err);
}

int fpi_session_add_thread(struct fpi_session *s, int tid, const struct fpi_registers *regs, struct fpi_error **err)
{
	const struct fpi_regs_x86_64 *x = &regs->u.x86_64;
	const struct fpi_arch_info *a = regs->arch == FPI_ARCH_X86_64 ? &fpi_arch_amd64 :
					regs->arch == FPI_ARCH_ARM64 ? &fpi_arch_arm64 : NULL;
	struct fpi_regs r;

	if (!a)
		return fail(fpi_error_create(FPI_ERR_USAGE, "thread %d: registers of architecture %d: only x86_64 (%d) "
					     "and arm64 (%d) are known", tid, (int)regs->arch, (int)FPI_ARCH_X86_64,
					     (int)FPI_ARCH_ARM64), err);
	if (s->target->nthreads && s->target->arch != a)
		return fail(fpi_error_create(FPI_ERR_USAGE, "thread %d: %s registers in a session of %s threads", tid,
					     a->name, s->target->arch->name), err);
	s->target->arch = a;
	memset(&r, 0, sizeof(r));
	if (a == &fpi_arch_arm64) {
		/* DWARF numbers x0-x30 as 0-30: the table places them */
		for (int n = 0; n < 31; n++)
			r.r[a->dwarf_slot[n]] = regs->u.arm64.x[n];
		r.r[FPI_REG_SP] = regs->u.arm64.sp;
		r.r[FPI_REG_PC] = regs->u.arm64.pc;
		return status_of(session_add_thread(s, tid, &r), err);
	}
	/* the public order is by name; the unwinders' is DWARF's */
	r.r[FPI_REG_RAX] = x->rax;
	r.r[FPI_REG_RDX] = x->rdx;
	r.r[FPI_REG_RCX] = x->rcx;
	r.r[FPI_REG_RBX] = x->rbx;
	r.r[FPI_REG_RSI] = x->rsi;
	r.r[FPI_REG_RDI] = x->rdi;
	r.r[FPI_REG_RBP] = x->rbp;
	r.r[FPI_REG_RSP] = x->rsp;
	r.r[FPI_REG_R8] = x->r8;
	r.r[FPI_REG_R9] = x->r9;
	r.r[FPI_REG_R10] = x->r10;
	r.r[FPI_REG_R11] = x->r11;
	r.r[FPI_REG_R12] = x->r12;
	r.r[FPI_REG_R13] = x->r13;
	r.r[FPI_REG_R14] = x->r14;
	r.r[FPI_REG_R15] = x->r15;
	r.r[FPI_REG_RIP] = x->rip;
	r.fs_base = x->fs_base;
	return status_of(session_add_thread(s, tid, &r), err);
}

int fpi_session_add_mapping(struct fpi_session *s, uint64_t start, uint64_t end, uint64_t offset, const char *path,
			    struct fpi_error **err)
{
	return status_of(session_add_mapping(s, start, end, offset, path), err);
}

void fpi_session_set_vdso(struct fpi_session *s, uint64_t addr)
{
	session_set_vdso(s, addr);
}

int fpi_session_load(struct fpi_session *s, struct fpi_error **err)
{
	return status_of(session_load(s), err);
}

/* ---- commands */

int fpi_session_run(struct fpi_session *s, int argc, char **argv, int json, FILE *out, struct fpi_error **err)
{
	int status;
	struct fpi_error *e = session_run(s, argc, argv, json != 0, out, &status);

	return e ? fail(e, err) : status;
}

int fpi_session_run_str(struct fpi_session *s, int argc, char **argv, int json, char **out, struct fpi_error **err)
{
	size_t len;
	FILE *f = open_memstream(out, &len);
	int status;

	if (!f)
		return fail(&fpi_enomem, err);
	status = fpi_session_run(s, argc, argv, json, f, err);
	fclose(f);
	if (status == 2) {
		free(*out);
		*out = NULL;
	}
	return status;
}

int fpi_command_check(int argc, char **argv, struct fpi_error **err)
{
	bool help;
	struct fpi_error *e = session_command_check(argc, argv, &help);

	return e ? fail(e, err) : help;
}

const char *const *fpi_command_names(void)
{
	return session_command_names();
}

const char *fpi_command_usage(const char *name)
{
	return session_command_usage(name);
}

const char *fpi_command_help(const char *name)
{
	return session_command_help(name);
}

const char *const *fpi_command_options(const char *name)
{
	return session_command_options(name);
}

void fpi_free(void *p)
{
	free(p);
}

/* ---- letting go */

void fpi_session_release(struct fpi_session *s)
{
	session_release(s);
}

void fpi_session_release_for(struct fpi_session *s, int argc, char **argv)
{
	session_release_for(s, argc, argv);
}

int fpi_session_detach_async(struct fpi_session *s)
{
	return session_detach_async(s);
}

double fpi_session_pause_seconds(const struct fpi_session *s)
{
	return session_pause_seconds(s);
}

void fpi_session_destroy(struct fpi_session *s)
{
	session_destroy(s);
}

/* ---- data: the rows of views.c, as the commands show them */

static int out_of_range(const char *what, size_t i, size_t n, struct fpi_error **err)
{
	return fail(fpi_error_create(FPI_ERR_NOTFOUND, "no %s %zu (there are %zu)", what, i, n), err);
}

size_t fpi_session_thread_count(const struct fpi_session *s)
{
	return s->snap->nthreads;
}

int fpi_session_thread(struct fpi_session *s, size_t i, struct fpi_thread *ret, struct fpi_error **err)
{
	if (i >= s->snap->nthreads)
		return out_of_range("thread", i, s->snap->nthreads, err);
	view_thread(s, i, ret);
	return 0;
}

size_t fpi_session_m_count(const struct fpi_session *s)
{
	return s->snap->nms;
}

int fpi_session_m(struct fpi_session *s, size_t i, struct fpi_m *ret, struct fpi_error **err)
{
	if (i >= s->snap->nms)
		return out_of_range("M", i, s->snap->nms, err);
	view_m(s, i, ret);
	return 0;
}

size_t fpi_session_goroutine_count(const struct fpi_session *s)
{
	return view_goroutine_count(s);
}

int fpi_session_goroutine(struct fpi_session *s, size_t i, struct fpi_goroutine *ret, struct fpi_error **err)
{
	const struct go_g *const *order;
	size_t n;
	struct fpi_error *e = view_goroutine_order(s, &order, &n);

	if (e)
		return fail(e, err);
	if (i >= n)
		return out_of_range("goroutine", i, n, err);
	view_goroutine(s, order[i], ret);
	return 0;
}

static const struct go_g *live_g(struct fpi_session *s, uint64_t goid)
{
	const struct go_g *g = go_find_g(s->snap, goid);

	return g && !go_g_is_dead(s->layout, g) ? g : NULL;
}

int fpi_session_find_goroutine(struct fpi_session *s, uint64_t goid, struct fpi_goroutine *ret,
			       struct fpi_error **err)
{
	const struct go_g *g = live_g(s, goid);

	if (!g)
		return fail(fpi_error_create(FPI_ERR_NOTFOUND, "no goroutine %llu", (unsigned long long)goid), err);
	view_goroutine(s, g, ret);
	return 0;
}

/* ---- stacks */

/* The one call into the walker: thread th or goroutine g (one of them
 * NULL), by frame pointers or DWARF CFI. A goroutine whose stack nobody
 * owns consistently now is not walked, as bt does. */
static struct fpi_error *walk_stack(struct fpi_session *s, const struct go_thread *th, const struct go_g *g,
				    enum walk_unwinder uw, struct walk *w)
{
	const char *why;
	struct walk_ctx *cx;
	struct fpi_error *err;

	if (g && goroutine_not_owned(s->layout, g, &why)) {
		memset(w, 0, offsetof(struct walk, frames));
		snprintf(w->end, sizeof(w->end), "not walked: %s", why);
		return NULL;
	}
	if ((err = session_walk_ctx(s, &cx)))
		return err;
	if (th)
		walk_thread(cx, th, uw, w);
	else
		walk_goroutine(cx, g, uw, w);
	return NULL;
}

_Static_assert(UNWIND_FP == (int)FPI_UNWIND_FP && UNWIND_DWARF == (int)FPI_UNWIND_DWARF &&
	       UNWIND_GO == (int)FPI_UNWIND_GO, "the walker's unwinders are the public ones");
_Static_assert(FR_GOROUTINE == (int)FPI_STACK_GOROUTINE && FR_G0 == (int)FPI_STACK_G0 &&
	       FR_GSIGNAL == (int)FPI_STACK_GSIGNAL && FR_C == (int)FPI_STACK_C && FR_OTHER == (int)FPI_STACK_OTHER,
	       "the walker's stacks are the public ones");

/* The walk's frames as the public trace: one allocation holds the trace,
 * its frames, their inlined frames and the strings that are the walk's
 * (the symbols' strings are the session's). */
static struct fpi_error *trace_of(struct fpi_session *s, const struct walk *w, struct fpi_stack_trace **ret)
{
	struct fpi_modules *mods = NULL;
	const struct fpi_symbol **syms;
	size_t ninl = 0, size;
	struct fpi_stack_trace *t;
	struct fpi_frame *fr;
	struct fpi_inline_frame *inl;
	char *str;

	fpi_error_destroy(session_modules(s, &mods)); /* without modules, frames are unnamed */
	syms = calloc(w->n + 1, sizeof(*syms));
	if (!syms)
		return &fpi_enomem;
	for (size_t i = 0; i < w->n && mods; i++) {
		const struct frame *f = &w->frames[i];

		syms[i] = fpi_symbolize(mods, f->exact ? f->pc : f->pc - 1);
		if (syms[i] && syms[i]->ninlined > 1)
			ninl += syms[i]->ninlined;
	}
	size = sizeof(*t) + w->n * sizeof(*fr) + ninl * sizeof(*inl) + sizeof(w->end) + sizeof(w->fp_bad.why);
	t = calloc(1, size);
	if (!t) {
		free(syms);
		return &fpi_enomem;
	}
	fr = (struct fpi_frame *)(t + 1);
	inl = (struct fpi_inline_frame *)(fr + w->n);
	str = (char *)(inl + ninl);
	for (size_t i = 0; i < w->n; i++) {
		const struct frame *f = &w->frames[i];
		const struct fpi_symbol *sym = syms[i];

		/* the walker's stacks are in the public order */
		fr[i] = (struct fpi_frame){ f->pc, f->sp, f->fp, (enum fpi_stack)f->stack, f->exact,
					    sym ? sym->function : NULL, sym ? sym->file : NULL, sym ? sym->line : 0,
					    sym ? sym->module : NULL, 0, NULL };
		if (sym && sym->ninlined > 1) {
			fr[i].ninlined = sym->ninlined;
			fr[i].inlined = inl;
			for (size_t k = 0; k < sym->ninlined; k++)
				*inl++ = (struct fpi_inline_frame){ sym->inlined[k].function, sym->inlined[k].file,
								    sym->inlined[k].line };
		}
	}
	free(syms);
	t->nframes = w->n;
	t->frames = fr;
	t->fp_bad_frame = FPI_NONE;
	if (w->end[0])
		t->end = strcpy(str, w->end);
	if (w->unwinder == UNWIND_FP && w->fp_broken) {
		t->fp_bad_frame = (long)(w->fp_bad_base + w->fp_bad.bad_frame);
		t->fp_bad_why = strcpy(str + sizeof(w->end), w->fp_bad.why);
	}
	*ret = t;
	return NULL;
}

int fpi_session_stack(struct fpi_session *s, enum fpi_stack_owner owner, uint64_t id, enum fpi_unwinder unwinder,
		      struct fpi_stack_trace **ret, struct fpi_error **err)
{
	const struct go_thread *th = NULL;
	const struct go_g *g = NULL;
	struct walk *w;
	struct fpi_error *e;

	if (unwinder != FPI_UNWIND_FP && unwinder != FPI_UNWIND_DWARF && unwinder != FPI_UNWIND_GO)
		return fail(fpi_error_create(FPI_ERR_USAGE, "unwinder %d: fp (%d), dwarf (%d) or go (%d)",
					     (int)unwinder, (int)FPI_UNWIND_FP, (int)FPI_UNWIND_DWARF,
					     (int)FPI_UNWIND_GO), err);
	if (owner == FPI_OWNER_THREAD) {
		for (size_t i = 0; i < s->snap->nthreads; i++)
			if ((uint64_t)s->snap->threads[i].tid == id)
				th = &s->snap->threads[i];
		if (!th)
			return fail(fpi_error_create(FPI_ERR_NOTFOUND, "no thread %llu in this process",
						     (unsigned long long)id), err);
	} else if (owner == FPI_OWNER_GOROUTINE) {
		g = live_g(s, id);
		if (!g)
			return fail(fpi_error_create(FPI_ERR_NOTFOUND, "no goroutine %llu", (unsigned long long)id), err);
	} else {
		return fail(fpi_error_create(FPI_ERR_USAGE, "stack owner %d: a thread (%d) or a goroutine (%d)",
					     (int)owner, (int)FPI_OWNER_THREAD, (int)FPI_OWNER_GOROUTINE), err);
	}
	w = malloc(sizeof(*w));
	if (!w)
		return fail(&fpi_enomem, err);
	e = walk_stack(s, th, g, unwinder == FPI_UNWIND_DWARF ? UNWIND_DWARF : unwinder == FPI_UNWIND_GO ? UNWIND_GO :
			   UNWIND_FP, w);
	if (!e)
		e = trace_of(s, w, ret);
	free(w);
	return status_of(e, err);
}

void fpi_stack_trace_free(struct fpi_stack_trace *t)
{
	free(t);
}

/* ---- check */

int fpi_session_check(struct fpi_session *s, unsigned flags, struct fpi_findings **ret, struct fpi_error **err)
{
	struct fpi_error *e;

	if (flags)
		return fail(fpi_error_create(FPI_ERR_USAGE, "check: flags 0x%x: none are defined", flags), err);
	session_prepare_walks(s);
	e = check_run(s, ret);
	if (e)
		return fail(e, err);
	return (*ret)->errors ? 1 : 0;
}

void fpi_findings_free(struct fpi_findings *f)
{
	check_findings_free(f);
}
