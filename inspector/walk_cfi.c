/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The DWARF CFI step: the caller's registers from the frame's CFA rule
 * (libdw: .debug_frame for Go code, .eh_frame for C), with what Go's CFI
 * does not say (crosscall2's saved registers) and the checks a walk from
 * outside needs (SP goes up; on a goroutine's stack it stays inside). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "walk_internal.h"

/* Go frames unwind by one rule per pc: CFA = RSP + k, the return address at
 * CFA-8, nothing else restored (Go's .debug_frame has no register rules).
 * Walking 100k goroutines meets a few thousand distinct pcs, so the rule is
 * cached per pc; anything else (C, signal frames, register rules) takes the
 * full libdw step every time. */
struct cfi_cache_entry {
	uint64_t key;   /* pc << 1 | is_first_frame; 0: empty */
	int64_t delta;  /* CFA - RSP */
};

#define CFI_CACHE_SIZE 65536

struct cfi_cache {
	struct cfi_cache_entry e[CFI_CACHE_SIZE];
};

int walk_cfi_step(struct walk_ctx *cx, const struct fpi_regs *regs, bool first, struct fpi_regs *next,
		  bool *signal, char *why, size_t whylen)
{
	uint64_t key = regs->r[FPI_REG_PC] << 1 | first, h = (key * 0x9E3779B97F4A7C15ull) >> 48;
	struct fpi_cfi_info info;
	int r;

	if (signal)
		*signal = false;
	if (!cx->mods) {
		snprintf(why, whylen, "%s", cx->mods_err);
		return -1;
	}
	/* the cached rule reads the return address at CFA-8: only where
	 * CALL pushes it (on LR machines it may still be in LR) */
	if (!cx->cfi && cx->arch->lr < 0)
		cx->cfi = calloc(1, sizeof(struct cfi_cache));
	if (cx->cfi) {
		for (uint64_t i = h, n = 0; n < 8; i = (i + 1) % CFI_CACHE_SIZE, n++) {
			const struct cfi_cache_entry *e = &cx->cfi->e[i];

			if (e->key == 0)
				break;
			if (e->key != key)
				continue;
			*next = *regs;
			next->r[FPI_REG_SP] = regs->r[FPI_REG_SP] + e->delta;
			if (!cx->mem->read(cx->mem->arg, next->r[FPI_REG_SP] - 8, &next->r[FPI_REG_PC], 8)) {
				snprintf(why, whylen, "cannot read the return address at 0x%" PRIx64,
					 next->r[FPI_REG_SP] - 8);
				return -1;
			}
			return next->r[FPI_REG_PC] ? 0 : 1;
		}
	}
	r = fpi_cfi_step_info(cx->mods, cx->mem, regs, first, next, &info, why, whylen);
	if (signal)
		*signal = r == 0 && info.signal_frame;
	if (r == 0 && cx->cfi && info.debug_frame && !info.signal_frame && !info.rbp_from_rule &&
	    next->r[FPI_REG_SP] > regs->r[FPI_REG_SP] && next->r[FPI_REG_SP] - regs->r[FPI_REG_SP] < (1u << 30) &&
	    next->r[FPI_REG_RBX] == regs->r[FPI_REG_RBX] && next->r[FPI_REG_FP] == regs->r[FPI_REG_FP] &&
	    next->r[FPI_REG_R12] == regs->r[FPI_REG_R12] && next->r[FPI_REG_R13] == regs->r[FPI_REG_R13] &&
	    next->r[FPI_REG_R14] == regs->r[FPI_REG_R14] && next->r[FPI_REG_R15] == regs->r[FPI_REG_R15]) {
		uint64_t ra;

		if (cx->mem->read(cx->mem->arg, next->r[FPI_REG_SP] - 8, &ra, 8) && ra == next->r[FPI_REG_PC]) {
			for (uint64_t i = h, n = 0; n < 8; i = (i + 1) % CFI_CACHE_SIZE, n++) {
				struct cfi_cache_entry *e = &cx->cfi->e[i];

				if (e->key == 0) {
					e->key = key;
					e->delta = next->r[FPI_REG_SP] - regs->r[FPI_REG_SP];
					break;
				}
			}
		}
	}
	return r;
}


void injected_below(const struct walk_ctx *cx, uint64_t cfa, struct fpi_regs *regs)
{
	unsigned pad = cx->arch->injected_pad;
	uint64_t lr;

	regs->r[FPI_REG_SP] = cfa + pad;
	/* preparePanic saved the faulting function's LR at the SP it made,
	 * sigpanic's CFA: a frameless leaf returns through it */
	if (pad && cx->arch->lr >= 0 && cx->mem->read(cx->mem->arg, cfa, &lr, sizeof(lr)))
		regs->r[cx->arch->lr] = lr;
}

void walk_cfi_cache_free(struct cfi_cache *c)
{
	free(c);
}

int walk_cfa(struct walk_ctx *cx, enum cfa_source src, const struct fpi_regs *regs, bool first,
	     struct fpi_regs *next, bool *signal, char *why, size_t whylen)
{
	int r;

	if (src == CFA_PCLN_FIRST) {
		if (signal)
			*signal = false;
		if ((r = walk_pcln_step(cx, regs, first, next, why, whylen)) >= 0 || r == -2)
			return r < 0 ? -1 : r;
	}
	r = walk_cfi_step(cx, regs, first, next, signal, why, whylen);
	if (r < 0 && src == CFA_CFI_FIRST) {
		char why2[160];
		int r2 = walk_pcln_step(cx, regs, first, next, why2, sizeof(why2));

		if (r2 >= 0)
			return r2;
	}
	return r;
}

int walk_regs_step(struct walker *it, enum cfa_source src)
{
	struct walk *w = it->w;
	const struct frame *f = &w->frames[w->n - 1];
	struct fpi_regs next;
	bool signal = false;
	char why[160] = "";
	int r = walk_cfa(it->cx, src, &it->regs, it->exact, &next, &signal, why, sizeof(why));

	if (r == 1)
		return 1;
	if (r < 0) {
		struct fpi_regs pn;
		char why2[160];

		snprintf(w->end, sizeof(w->end), "%s", why[0] ? why : "no CFI for this pc");
		/* a Go frame the binary has no CFI for (built without DWARF, or
		 * .debug_frame dropped): check judges the FP walk against the go
		 * walk instead */
		w->no_cfi = src == CFA_CFI && walk_pcln_step(it->cx, &it->regs, it->exact, &pn, why2, sizeof(why2)) != -1;
		return 1;
	}
	if (next.r[FPI_REG_PC] == 0)
		return 1;
	/* crosscall2 keeps the C caller's callee-saved registers where its
	 * .debug_frame does not say */
	if (f->rt == RT_CROSSCALL2 && it->cx->arch->crosscall2_regs)
		it->cx->arch->crosscall2_regs(it->cx->mem, next.r[FPI_REG_SP], &next);
	/* on LR machines a frameless leaf has its caller's SP: the innermost
	 * frame (exact) may keep SP, no other */
	if ((next.r[FPI_REG_SP] < it->regs.r[FPI_REG_SP] ||
	     (next.r[FPI_REG_SP] == it->regs.r[FPI_REG_SP] && !(it->cx->arch->lr >= 0 && it->exact))) &&
	    it->st != FR_C && !signal) {
		snprintf(w->end, sizeof(w->end), "%s gave a caller SP 0x%" PRIx64 " not above 0x%" PRIx64,
			 src == CFA_PCLN_FIRST ? "the SP delta" : "CFI", next.r[FPI_REG_SP], it->regs.r[FPI_REG_SP]);
		return 1;
	}
	if (it->hi > it->lo && (next.r[FPI_REG_SP] < it->lo || next.r[FPI_REG_SP] > it->hi) &&
	    it->st == FR_GOROUTINE && !signal) {
		snprintf(w->end, sizeof(w->end), "%s gave a caller SP 0x%" PRIx64 " outside the stack",
			 src == CFA_PCLN_FIRST ? "the SP delta" : "CFI", next.r[FPI_REG_SP]);
		return 1;
	}
	it->regs = next;
	if (signal && ++it->switches <= WALK_MAX_SWITCHES) {
		/* a CFI signal frame (the kernel's restorer, __restore_rt):
		 * the interrupted code, at its exact pc, on its own stack */
		stack_of_sp(it->cx, it->m, it->regs.r[FPI_REG_SP], &it->lo, &it->hi, &it->st);
		it->exact = true;
		return 0;
	}
	/* below sigpanic: the faulting pc, not a return address (a few
	 * times a walk: garbage can repeat sigpanic's pc) */
	it->exact = injected(f->rt) && it->nsigpanic++ < 4;
	if (it->exact)
		injected_below(it->cx, it->regs.r[FPI_REG_SP], &it->regs);
	return 0;
}

static int cfa_step(struct walker *it)
{
	return walk_regs_step(it, CFA_CFI);
}

int walk_regs_resume(struct walker *it, const struct go_switch *sw)
{
	switch (sw->kind) {
	case SW_CGOCALLBACK:
		/* the C frames' SP, kept in m.g0.sched.sp */
		if (!sw->regs.r[FPI_REG_SP]) {
			snprintf(it->w->end, sizeof(it->w->end), "cgocallback: no saved C stack pointer (m.g0.sched.sp)");
			return 1;
		}
		it->regs.r[FPI_REG_SP] = sw->regs.r[FPI_REG_SP];
		it->st = sw->st, it->lo = sw->lo, it->hi = sw->hi;
		return 2;
	case SW_VDSO:
	case SW_SIGNAL:
	case SW_GOROUTINE:
	case SW_CONT:
		it->regs = sw->regs;
		it->exact = sw->exact;
		it->st = sw->st, it->lo = sw->lo, it->hi = sw->hi;
		return 0;
	default:
		return 2;
	}
}

const struct walk_step walk_step_cfa = { cfa_step, walk_regs_resume };
