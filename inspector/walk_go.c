/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The go step: the caller as the Go runtime's own unwinder finds it
 * (runtime/traceback.go, unwinder.next): the function at pc from pclntab,
 * CFA = SP + funcspdelta(pc) + the return address's word, the return
 * address just below the CFA, the caller's SP the CFA. It needs no DWARF:
 * pclntab is in every Go binary, stripped ones too. Code pclntab does not
 * know (C, libc, the vDSO, the kernel's signal restorer) is stepped by its
 * CFI (.eh_frame), as the dwarf step does; the stack transitions are
 * go_switch's (walk.c), the same for every step. */
#include <inttypes.h>
#include <stdio.h>

#include "pclntab.h"
#include "walk_internal.h"

/* amd64: the CALL pushed one word, the return address, at CFA-8 */
#define PTR_SIZE 8

int walk_pcln_step(struct walk_ctx *cx, const struct fpi_regs *regs, bool first, struct fpi_regs *next,
		   char *why, size_t whylen)
{
	uint64_t pc = regs->r[FPI_REG_RIP], sp = regs->r[FPI_REG_RSP], cfa, look;
	struct fpi_pclntab_func f;
	int32_t delta;

	if (!cx->pcln || !pc) {
		snprintf(why, whylen, "%s", cx->pcln ? "pc 0" : cx->pcln_err);
		return -1;
	}
	/* An exact pc (a thread's, a signal frame's, the faulting one below
	 * sigpanic) is looked up as it is; a return address at pc-1, in the
	 * call: the runtime's symPC does the same, and a call that ends its
	 * function (a call to a function that does not return) leaves the
	 * return address at the next function's entry. */
	look = (first ? pc : pc - 1) - cx->pcln_bias;
	if (!fpi_pclntab_find(cx->pcln, look, &f))
		return -1;
	if (!fpi_pclntab_spdelta(cx->pcln, &f, look, &delta) || delta < 0) {
		snprintf(why, whylen, "pclntab: no SP delta for pc 0x%" PRIx64 " in %s", pc, f.name);
		return -2;
	}
	cfa = sp + (uint64_t)delta + PTR_SIZE;
	/* Go frames restore no register but SP and PC: the caller's BP is in
	 * the frame record at CFA-16, which the frame-pointer step reads; the
	 * registers carry over, as Go's CFI (no register rules) says too */
	*next = *regs;
	next->r[FPI_REG_RSP] = cfa;
	if (!cx->mem->read(cx->mem->arg, cfa - PTR_SIZE, &next->r[FPI_REG_RIP], PTR_SIZE)) {
		snprintf(why, whylen, "cannot read the return address at 0x%" PRIx64, cfa - PTR_SIZE);
		return -2;
	}
	return next->r[FPI_REG_RIP] ? 0 : 1;
}

static int go_step(struct walker *it)
{
	return walk_regs_step(it, CFA_PCLN_FIRST);
}

/* The switches are followed by registers, as the dwarf step follows them. */
const struct walk_step walk_step_go = { go_step, walk_regs_resume };
