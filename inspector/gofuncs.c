/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The runtime's functions the walkers must know by pc: where its own
 * unwinder switches stacks (systemstack, mcall, morestack, asmcgocall,
 * cgocallback), where a stack ends (goexit, mstart, rt0_go), where a
 * signal frame or an injected call sits (sigtramp, cgoSigtramp, the
 * restorer, sigpanic, asyncPreempt), and crosscall2, whose CFI does not
 * say where it keeps the C caller's registers. */
#include <stdio.h>

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

void gofuncs_find(struct walk_ctx *cx)
{
	for (int i = 0; cx->mods && i < RT_NFUNCS; i++) {
		uint64_t size = 0, a = lookup(cx->mods, rt_names[i], &size);

		if (!a && rt_old_names[i])
			a = lookup(cx->mods, rt_old_names[i], &size);
		cx->rt_start[i] = a;
		cx->rt_end[i] = a + (size ? size : 1);
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
