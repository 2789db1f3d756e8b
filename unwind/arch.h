/* SPDX-License-Identifier: GPL-3.0-or-later */
/* What differs between the machines fpinspect reads, as one const table per
 * architecture (arch_amd64.c, arch_arm64.c): register slots and names, the
 * DWARF register numbers, where the kernel's core notes and signal frames
 * keep the registers, and where a Go frame keeps its frame record. Code
 * above asks the table; no file tests which machine it is. */
#ifndef FPI_ARCH_H
#define FPI_ARCH_H

#include "unwind.h"

struct fpi_arch_info {
	const char *name;          /* as Go spells it (GOARCH): "amd64", "arm64" */
	unsigned e_machine;        /* EM_X86_64, EM_AARCH64 */
	unsigned ptr_size;
	/* the frame-pointer register as findings name it: "BP", "FP (x29)" */
	const char *fp_name;
	/* The call's return address is in a register (arm64's LR: this is
	 * its slot), not pushed on the stack (-1). Go's traceback.go calls
	 * this usesLR: the CFA is the SP at entry, not SP + 8. */
	int lr;
	/* The register Go keeps the current g in everywhere (arm64 R28), or
	 * -1: g is in TLS at fs_base - 8 (amd64; R14 only in ABIInternal). */
	int g_reg;
	/* DWARF register number -> slot (-1: not tracked), ndwarf numbers */
	const signed char *dwarf_slot;
	int ndwarf;
	/* slot -> name (NULL: the slot is not used here), for messages */
	const char *const *slot_name;
	/* the psABI's callee-saved registers, by DWARF number: what a CFI
	 * rule that does not mention them leaves unchanged */
	bool (*callee_saved)(int dwarf_regno);
	/* NT_PRSTATUS pr_reg (struct user_regs_struct): its length in words,
	 * the slot of each word (-1: none), the TLS base's word (-1: none) */
	int user_regs_words;
	const signed char *user_regs_slot;
	int user_regs_fs_base;
	/* Where a function keeps its frame record ({caller's FP, return
	 * address}) given its SP and CFA once its prologue ran; 0 when it
	 * has none there (a frameless leaf, before the prologue). amd64:
	 * CFA-16 (pushed right below the return address); arm64: SP-8 (Go's
	 * arm64 prologue stores FP just below the new SP and LR at SP). */
	uint64_t (*record_at)(uint64_t sp, uint64_t cfa);
	/* The SP of a frame reached through a frame record, from its own
	 * record (fp) and its callee's (callee_fp): amd64 callee_fp + 16 (the
	 * callee's CFA), arm64 fp + 8 (LR's slot is at SP). 0: unknown. */
	uint64_t (*sp_of_record)(uint64_t fp, uint64_t callee_fp);
	/* The CFA of a function from its frame record, where that is fixed
	 * (amd64: fp + 16); 0 where it takes the frame's size (arm64). */
	uint64_t (*cfa_of_record)(uint64_t fp);
	/* Below an injected call (sigpanic, asyncPreempt): on LR machines the
	 * signal handler stored LR at SP - this and moved SP down by it before
	 * faking the call (preparePanic, sys.StackAlign); 0: it pushed the pc
	 * as a return address instead (amd64). */
	unsigned injected_pad;
	/* Go's duffzero/duffcopy calls build the callee a frame record just
	 * below SP (amd64 only; arm64's are frameless leaves). */
	bool duff_records;
	/* crosscall2 saves the C caller's callee-saved registers (arm64: its
	 * return address too) where its CFI does not say: restore them into
	 * regs from its CFA; NULL: not known for this machine. */
	void (*crosscall2_regs)(const struct fpi_mem *mem, uint64_t cfa, struct fpi_regs *regs);
	/* The registers a signal interrupted, from the rt_sigframe at the
	 * handler's CFA (sigtramp's; the kernel put SP there at delivery). */
	bool (*signal_regs)(const struct fpi_mem *mem, uint64_t cfa, struct fpi_regs *ret);
};

extern const struct fpi_arch_info fpi_arch_amd64, fpi_arch_arm64;

/* The table for an ELF e_machine; NULL for a machine not known. */
const struct fpi_arch_info *fpi_arch_of_machine(unsigned e_machine);

/* The executable's machine (amd64 when it says none we know). */
const struct fpi_arch_info *fpi_modules_arch(const struct fpi_modules *mods);

/* The slot of DWARF register regno; -1 when not tracked. */
static inline int fpi_arch_slot(const struct fpi_arch_info *a, uint64_t regno)
{
	return regno < (uint64_t)a->ndwarf ? a->dwarf_slot[regno] : -1;
}

#endif
