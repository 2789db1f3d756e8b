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
#include <stdlib.h>
#include <string.h>

#include "pclntab.h"
#include "walk_internal.h"


/* The SP delta of a pc that pclntab knows, cached: the goroutines command
 * walks the tops of 100k stacks, nearly all from the same few pcs, and a
 * lookup is a search of the function table and a decoding of its pcsp
 * table. Direct-mapped: a collision only costs the lookup again. */
#define PCLN_CACHE_SIZE 4096

struct pcln_cache {
	struct {
		uint64_t key;    /* look << 1 | 1; 0 empty */
		int32_t delta;
	} e[PCLN_CACHE_SIZE];
};

int walk_pcln_step(struct walk_ctx *cx, const struct fpi_regs *regs, bool first, struct fpi_regs *next,
		   char *why, size_t whylen)
{
	const struct fpi_arch_info *a = cx->arch;
	uint64_t pc = regs->r[FPI_REG_PC], sp = regs->r[FPI_REG_SP], cfa, look, ra_at, key;
	struct fpi_pclntab_func f;
	int32_t delta;
	size_t slot;

	if (!cx->pcln || !pc) {
		snprintf(why, whylen, "%s", cx->pcln ? "pc 0" : cx->pcln_err);
		return -1;
	}
	look = (first ? pc : pc - 1) - cx->pcln_bias;
	key = look << 1 | 1;
	slot = (size_t)((key * 0x9E3779B97F4A7C15ull) >> 52) % PCLN_CACHE_SIZE;
	if (!cx->pcln_cache)
		cx->pcln_cache = calloc(1, sizeof(*cx->pcln_cache));
	if (cx->pcln_cache && cx->pcln_cache->e[slot].key == key) {
		delta = cx->pcln_cache->e[slot].delta;
		goto have_delta;
	}
	/* An exact pc (a thread's, a signal frame's, the faulting one below
	 * sigpanic) is looked up as it is; a return address at pc-1, in the
	 * call: the runtime's symPC does the same, and a call that ends its
	 * function (a call to a function that does not return) leaves the
	 * return address at the next function's entry. */
	if (!fpi_pclntab_find(cx->pcln, look, &f))
		return -1;
	if (!fpi_pclntab_spdelta(cx->pcln, &f, look, &delta) || delta < 0) {
		snprintf(why, whylen, "pclntab: no SP delta for pc 0x%" PRIx64 " in %s", pc, f.name);
		return -2;
	}
	if (cx->pcln_cache) {
		cx->pcln_cache->e[slot].key = key;
		cx->pcln_cache->e[slot].delta = delta;
	}
have_delta:
	/* Go frames restore no register but SP and PC: the caller's FP is in
	 * the frame record, which the frame-pointer step reads; the
	 * registers carry over, as Go's CFI (no register rules) says too */
	*next = *regs;
	if (a->lr < 0) {
		/* the CALL pushed one word, the return address, at CFA-8 */
		cfa = sp + (uint64_t)delta + a->ptr_size;
		ra_at = cfa - a->ptr_size;
	} else {
		/* LR machines (traceback.go, usesLR): the CFA is the SP at
		 * entry; the prologue stored LR at the new SP, and until it
		 * has (delta 0: a frameless leaf, a function's entry) the
		 * innermost frame's return address is still in LR */
		cfa = sp + (uint64_t)delta;
		ra_at = sp;
		if (delta == 0 && first) {
			next->r[FPI_REG_SP] = cfa;
			next->r[FPI_REG_PC] = regs->r[a->lr];
			return next->r[FPI_REG_PC] ? 0 : 1;
		}
	}
	next->r[FPI_REG_SP] = cfa;
	if (!cx->mem->read(cx->mem->arg, ra_at, &next->r[FPI_REG_PC], a->ptr_size)) {
		snprintf(why, whylen, "cannot read the return address at 0x%" PRIx64, ra_at);
		return -2;
	}
	return next->r[FPI_REG_PC] ? 0 : 1;
}

uint64_t walk_frame_cfa(struct walk_ctx *cx, uint64_t pc, uint64_t sp, bool exact)
{
	struct fpi_regs r, next;
	char why[160];

	memset(&r, 0, sizeof(r));
	r.r[FPI_REG_PC] = pc;
	r.r[FPI_REG_SP] = sp;
	return walk_pcln_step(cx, &r, exact, &next, why, sizeof(why)) >= 0 ? next.r[FPI_REG_SP] : 0;
}

static int go_step(struct walker *it)
{
	return walk_regs_step(it, CFA_PCLN_FIRST);
}

/* The switches are followed by registers, as the dwarf step follows them. */
const struct walk_step walk_step_go = { go_step, walk_regs_resume };
