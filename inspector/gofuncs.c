/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The runtime's functions the walkers must know by pc: where its own
 * unwinder switches stacks (systemstack, mcall, morestack, asmcgocall,
 * cgocallback), where a stack ends (goexit, mstart, rt0_go), where a
 * signal frame or an injected call sits (sigtramp, cgoSigtramp, the
 * restorer, sigpanic, asyncPreempt), and crosscall2, whose CFI does not
 * say where it keeps the C caller's registers. */
#include <stdio.h>
#include <string.h>

#include "pclntab.h"

#include "walk_internal.h"

static const char *const rt_names[RT_NFUNCS] = {
	"runtime.goexit", "runtime.mstart", "runtime.rt0_go", "runtime.systemstack", "runtime.mcall",
	"runtime.morestack", "runtime.asmcgocall", "runtime.cgocallback", "runtime.sigtramp", "crosscall2",
	"runtime.sigpanic", "runtime.asyncPreempt", "runtime.cgoSigtramp", "runtime.sigreturn__sigaction",
};
/* Older names: Go 1.19's restorer is runtime.sigreturn */
static const char *const rt_old_names[RT_NFUNCS] = { [RT_SIGRETURN] = "runtime.sigreturn" };

static uint64_t lookup(struct fpi_modules *mods, const char *name, uint64_t *size)
{
	char abi0[64];
	uint64_t a;

	/* assembly functions are ABI0; from Go 1.21 or so their ELF symbol
	 * carries the suffix, and the plain name may be an ABIInternal
	 * wrapper that is a different function */
	snprintf(abi0, sizeof(abi0), "%s.abi0", name);
	a = fpi_modules_lookup(mods, abi0, size);
	return a ? a : fpi_modules_lookup(mods, name, size);
}

#define FUNCFLAG_ASM 4

/* pclntab, the runtime's own table, is in every Go binary, stripped or
 * not, and names every function: one pass over it. It comes before
 * .symtab, whose names (89k in Caddy) would all be hashed for these
 * fourteen. An assembly function's ABIInternal wrapper has the same name
 * there; the assembly one (FuncFlag ASM) is the one that switches. */
static bool from_pclntab(struct walk_ctx *cx, uint64_t *start, uint64_t *end)
{
	struct fpi_pclntab_info info;
	uint64_t bias;
	const struct fpi_pclntab *t = fpi_modules_pclntab(cx->mods, &bias, NULL);
	int have[RT_NFUNCS] = { 0 };

	if (!t)
		return false;
	fpi_pclntab_get_info(t, &info);
	for (uint64_t k = 0; k < info.nfunc; k++) {
		struct fpi_pclntab_func f;

		if (!fpi_pclntab_func_at(t, k, &f) || (strncmp(f.name, "runtime.", 8) && strcmp(f.name, "crosscall2")))
			continue;
		for (int i = 0; i < RT_NFUNCS; i++) {
			/* the current name before the old one, assembly before its wrapper */
			int rank = (!strcmp(f.name, rt_names[i]) ? 4 : rt_old_names[i] && !strcmp(f.name, rt_old_names[i]) ? 2 : 0);

			if (!rank)
				continue;
			rank += (f.flag & FUNCFLAG_ASM) ? 1 : 0;
			if (rank <= have[i])
				continue;
			start[i] = f.entry + bias;
			end[i] = f.end + bias;
			have[i] = rank;
		}
	}
	/* runtime.goexit is in every Go binary: without it the table is not one */
	return start[RT_GOEXIT] != 0;
}

/* Without a readable pclntab: the symbol table */
static void from_symtab(struct walk_ctx *cx, uint64_t *start, uint64_t *end)
{
	for (int i = 0; i < RT_NFUNCS; i++) {
		uint64_t size = 0, a = lookup(cx->mods, rt_names[i], &size);

		if (!a && rt_old_names[i])
			a = lookup(cx->mods, rt_old_names[i], &size);
		start[i] = a;
		end[i] = a + (size ? size : 1);
	}
}

void gofuncs_find(struct walk_ctx *cx)
{
	uint64_t start[RT_NFUNCS] = { 0 }, end[RT_NFUNCS] = { 0 };

	if (cx->mods && !from_pclntab(cx, start, end)) {
		memset(start, 0, sizeof(start));
		from_symtab(cx, start, end);
	}
	for (int i = 0; i < RT_NFUNCS; i++) {
		uint64_t a = start[i];

		cx->rt_start[i] = a;
		cx->rt_end[i] = a ? end[i] : 0;
		if (a && (!cx->rt_lo || a < cx->rt_lo))
			cx->rt_lo = a;
		if (a && cx->rt_end[i] > cx->rt_hi)
			cx->rt_hi = cx->rt_end[i];
	}
}

int rt_fn_of(const struct walk_ctx *cx, uint64_t pc, bool retaddr)
{
	uint64_t p = retaddr && pc ? pc - 1 : pc;

	if (p < cx->rt_lo || p >= cx->rt_hi)
		return -1;
	for (int i = 0; i < RT_NFUNCS; i++)
		if (cx->rt_start[i] && p >= cx->rt_start[i] && p < cx->rt_end[i])
			return i;
	return -1;
}
