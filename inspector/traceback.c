/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The runtime's traceback rules (traceback.go, traceback1, showfuncinfo,
 * isSystemGoroutine, goroutineheader), shared by goroutines and dump. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "traceback.h"

/* isExportedRuntime */
static bool exported_runtime(const char *name)
{
	const char *dot, *rcvr;
	size_t rlen;

	if (strncmp(name, "runtime.", 8))
		return false;
	name += 8;
	dot = strrchr(name, '.');
	if (!dot)
		return name[0] >= 'A' && name[0] <= 'Z';
	rcvr = name;
	rlen = dot - name;
	if (rlen >= 3 && rcvr[0] == '(' && rcvr[1] == '*' && rcvr[rlen - 1] == ')')
		rcvr += 2, rlen -= 3;
	return dot[1] >= 'A' && dot[1] <= 'Z' && rlen > 0 && rcvr[0] >= 'A' && rcvr[0] <= 'Z';
}


/* showfuncinfo at GOTRACEBACK=all (level 1). wrapper: the frame's funcID
 * is abi.FuncIDWrapper (the symbolizer says), which the runtime hides
 * whatever the name, unless it calls gopanic, sigpanic or panicwrap
 * (elideWrapperCalling). Asked of every frame of every goroutine (1.2
 * million at 100k x depth 10), so the common answers come first: a name
 * outside the runtime that is no wrapper needs one test, a runtime name is
 * matched on its first letter before any strcmp. */
bool tb_wrapper_elided(const char *callee)
{
	return !(callee && (!strcmp(callee, "runtime.gopanic") || !strcmp(callee, "runtime.sigpanic") ||
			    !strcmp(callee, "runtime.panicwrap")));
}

bool tb_show_frame(const char *name, bool wrapper, bool first, const char *callee)
{
	bool runtime;
	const char *r;

	if (!name)
		return false;
	runtime = name[0] == 'r' && !strncmp(name, "runtime.", 8);
	if (!runtime && !wrapper)
		return strchr(name, '.') != NULL;
	if (wrapper && tb_wrapper_elided(callee))
		return false;
	if (!runtime)
		return strchr(name, '.') != NULL;
	r = name + 8;
	if (r[0] == 'r' && (!strcmp(r, "runfinq") || !strcmp(r, "runFinalizers") || !strcmp(r, "runCleanups")))
		return true;
	if (r[0] == 'g' && !strcmp(r, "gopanic") && !first)
		return true;
	return exported_runtime(name);
}


bool tb_is_system_goroutine(struct fpi_session *s, const struct go_g *g)
{
	const char *fn = session_symbol(s, g->startpc, false);

	if (!fn)
		return false;
	/* runtime.main, and the finalizer and cleanup goroutines while they
	 * run user code (fpinspect cannot tell: while parked they are system) */
	if (!strcmp(fn, "runtime.main") || !strcmp(fn, "runtime.corostart") || !strcmp(fn, "runtime.handleAsyncEvent"))
		return false;
	return !strncmp(fn, "runtime.", 8);
}


static bool status_is(struct fpi_session *s, const struct go_g *g, const char *name)
{
	return go_g_status_is(s->layout, g, name);
}


/* strlcat: buf holds a string of fewer than len bytes */
static void append(char *buf, size_t len, const char *s)
{
	size_t have = strlen(buf), n = strlen(s);

	if (n > len - 1 - have)
		n = len - 1 - have;
	memcpy(buf + have, s, n);
	buf[have + n] = '\0';
}

void tb_status(struct fpi_session *s, const struct go_g *g, char *buf, size_t len)
{
	const struct go_layout *l = s->layout;
	const char *st = go_status_known(l, g->status) ? go_status_name(l, g->status & ~l->gscan) : "???";
	bool scan = l->gscan && (g->status & l->gscan);

	if ((status_is(s, g, "waiting") || status_is(s, g, "leaked")) && g->waitreason > 0) {
		const char *wr = go_waitreason(l, g->waitreason);

		if (wr && *wr)
			st = wr;
	}
	/* once per goroutine in dump and goroutines: pieces copied as
	 * snprintf would, truncated to len, without its format parsing */
	if (!len)
		return;
	buf[0] = '\0';
	append(buf, len, st);
	if (status_is(s, g, "leaked"))
		append(buf, len, " (leaked)");
	if (scan)
		append(buf, len, " (scan)");
}


int64_t tb_wait_ns(struct fpi_session *s, const struct go_g *g)
{
	if (!s->stop_ns || g->waitsince <= 0 || !(status_is(s, g, "waiting") || status_is(s, g, "syscall")))
		return -1;
	return s->stop_ns > g->waitsince ? s->stop_ns - g->waitsince : 0;
}


int64_t tb_wait_minutes(struct fpi_session *s, const struct go_g *g)
{
	int64_t ns = tb_wait_ns(s, g);

	return ns < 0 ? -1 : ns / 60000000000LL;
}


void tb_wait_text(int64_t ns, char *buf, size_t len)
{
	/* goroutineheader: whole minutes, always "minutes" */
	snprintf(buf, len, "%" PRId64 " minutes", (int64_t)(ns / 60000000000LL));
}

struct user_scan {
	struct fpi_modules *mods;
	const char *callee;           /* the logical frame below, for wrappers */
	struct tb_user_frame *ret;
	bool found;
};

/* Per physical frame as the walk pushes it: its logical frames as dump's
 * logical_frames makes them (C frames left out), innermost first. */
static bool user_stop(void *arg, const struct walk *w)
{
	struct user_scan *u = arg;
	const struct frame *f = &w->frames[w->n - 1];
	const struct fpi_symbol *sym;
	size_t n;

	if (f->stack == FR_C || !u->mods)
		return false;
	sym = fpi_symbolize(u->mods, f->exact ? f->pc : f->pc - 1);
	if (!sym || !sym->go) {
		u->callee = sym ? sym->function : NULL;
		return false;
	}
	n = sym->ninlined > 1 ? sym->ninlined : 1;
	for (size_t k = 0; k < n; k++) {
		const char *fn = n > 1 ? sym->inlined[k].function : sym->function;
		const char *file = n > 1 ? sym->inlined[k].file : sym->file;

		/* before the first shown frame "first" holds throughout */
		if (tb_show_frame(fn, n > 1 ? sym->inlined[k].wrapper : sym->wrapper, true, u->callee)) {
			u->ret->function = fn;
			u->ret->file = file;
			u->ret->line = n > 1 ? sym->inlined[k].line : sym->line;
			u->ret->pc = f->pc;
			u->found = true;
			return true;
		}
		u->callee = fn;
	}
	return false;
}

bool tb_user_frame(struct fpi_session *s, struct walk_ctx *cx, const struct go_g *g, struct walk *w,
		   struct tb_user_frame *ret)
{
	struct user_scan u = { cx->mods, NULL, ret, false };
	const char *why;

	(void)s;
	memset(ret, 0, sizeof(*ret));
	if (goroutine_not_owned(cx->layout, g, &why)) {
		ret->unknown = true;
		return false;
	}
	walk_goroutine_until(cx, g, UNWIND_FP, user_stop, &u, w);
	/* a walk that reached the top frame has no end to tell */
	ret->unknown = !u.found && w->end[0];
	return u.found;
}
