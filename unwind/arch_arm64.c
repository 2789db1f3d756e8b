/* SPDX-License-Identifier: GPL-3.0-or-later */
/* arm64 (AArch64): AAPCS64 and its DWARF numbering, Linux's core notes and
 * signal frames (arch/arm64/include/uapi/asm/{ptrace,sigcontext}.h,
 * arch/arm64/kernel/signal.c), and Go's arm64 frame layout
 * (cmd/internal/obj/arm64/obj7.go: LR stored at the new SP, the caller's
 * FP just below it, R29 = SP - 8). */
#include <elf.h>
#include <string.h>

#include "arch.h"

#define X(n) (FPI_REG_A64_X0 + (n))

/* DWARF for AArch64: 0-30 x0-x30, 31 sp */
static const signed char arm64_dwarf_slot[32] = {
	X(0), X(1), X(2), X(3), X(4), X(5), X(6), X(7), X(8), X(9), X(10), X(11), X(12), X(13), X(14), X(15),
	X(16), X(17), X(18), X(19), X(20), X(21), X(22), X(23), X(24), X(25), X(26), X(27), X(28),
	FPI_REG_FP, FPI_REG_A64_LR, FPI_REG_SP,
};

static const char *const arm64_slot_name[FPI_NREGS] = {
	[FPI_REG_FP] = "x29", [FPI_REG_SP] = "sp", [FPI_REG_PC] = "pc", [FPI_REG_A64_LR] = "x30",
	[X(0)] = "x0", [X(1)] = "x1", [X(2)] = "x2", [X(3)] = "x3", [X(4)] = "x4", [X(5)] = "x5",
	[X(6)] = "x6", [X(7)] = "x7", [X(8)] = "x8", [X(9)] = "x9", [X(10)] = "x10", [X(11)] = "x11",
	[X(12)] = "x12", [X(13)] = "x13", [X(14)] = "x14", [X(15)] = "x15", [X(16)] = "x16",
	[X(17)] = "x17", [X(18)] = "x18", [X(19)] = "x19", [X(20)] = "x20", [X(21)] = "x21",
	[X(22)] = "x22", [X(23)] = "x23", [X(24)] = "x24", [X(25)] = "x25", [X(26)] = "x26",
	[X(27)] = "x27", [X(28)] = "x28",
};

/* AAPCS64: x19-x29 and sp are preserved across calls */
static bool arm64_callee_saved(int regno)
{
	return (regno >= 19 && regno <= 29) || regno == 31;
}

/* struct user_pt_regs: regs[31], sp, pc, pstate */
static const signed char arm64_user_regs_slot[34] = {
	X(0), X(1), X(2), X(3), X(4), X(5), X(6), X(7), X(8), X(9), X(10), X(11), X(12), X(13), X(14), X(15),
	X(16), X(17), X(18), X(19), X(20), X(21), X(22), X(23), X(24), X(25), X(26), X(27), X(28),
	FPI_REG_FP, FPI_REG_A64_LR, FPI_REG_SP, FPI_REG_PC, -1,
};

static uint64_t arm64_record_at(uint64_t sp, uint64_t cfa)
{
	/* SP == CFA: no frame allocated, so no record of its own */
	return sp < cfa && sp >= 8 ? sp - 8 : 0;
}

static uint64_t arm64_sp_of_record(uint64_t fp, uint64_t callee_fp)
{
	(void)callee_fp;
	return fp ? fp + 8 : 0;
}

static uint64_t arm64_cfa_of_record(uint64_t fp)
{
	(void)fp;
	return 0;
}

/* crosscall2 (runtime/cgo/asm_arm64.s, the same in Go 1.19 to 1.27) is
 * NOFRAME and opens 8*24 bytes by hand: R19-R28 at SP+32, then R29 and
 * R30 at SP+176, a C-style frame record at CFA-16. Go's CFI for it has
 * the return address where a Go prologue would have put LR ([SP]), which
 * crosscall2 never writes: the caller's pc, FP and callee-saved registers
 * come from what it saved. */
static void arm64_crosscall2_regs(const struct fpi_mem *mem, uint64_t cfa, struct fpi_regs *regs)
{
	uint64_t save[10], rec[2];

	if (cfa < 192 || !mem->read(mem->arg, cfa - 16, rec, sizeof(rec)))
		return;
	regs->r[FPI_REG_FP] = rec[0];
	regs->r[FPI_REG_A64_LR] = rec[1];
	regs->r[FPI_REG_PC] = rec[1];
	if (mem->read(mem->arg, cfa - 192 + 32, save, sizeof(save)))
		for (int k = 0; k < 10; k++)
			regs->r[X(19 + k)] = save[k];
}

/* The kernel (and qemu-user, which builds the same frame) enters the
 * handler with SP at struct rt_sigframe { siginfo (128 bytes); ucontext },
 * and Go's sigtramp's CFA is that SP. ucontext: uc_flags, uc_link,
 * uc_stack (24), uc_sigmask (8), 120 bytes reserved for a larger sigset,
 * then uc_mcontext aligned to 16, at 176: struct sigcontext {
 * fault_address, regs[31], sp, pc, pstate }. */
#define SIGFRAME_UC 128
#define UC_MCONTEXT 176
static bool arm64_signal_regs(const struct fpi_mem *mem, uint64_t cfa, struct fpi_regs *ret)
{
	uint64_t sc[35];

	if (!cfa || !mem->read(mem->arg, cfa + SIGFRAME_UC + UC_MCONTEXT, sc, sizeof(sc)))
		return false;
	memset(ret, 0, sizeof(*ret));
	for (int k = 0; k < 31; k++)
		ret->r[arm64_dwarf_slot[k]] = sc[1 + k];
	ret->r[FPI_REG_SP] = sc[32];
	ret->r[FPI_REG_PC] = sc[33];
	return ret->r[FPI_REG_PC] && ret->r[FPI_REG_SP] && !(ret->r[FPI_REG_SP] & 7);
}

const struct fpi_arch_info fpi_arch_arm64 = {
	.name = "arm64",
	.e_machine = EM_AARCH64,
	.ptr_size = 8,
	.fp_name = "FP (x29)",
	.lr = FPI_REG_A64_LR,
	.g_reg = X(28),
	.dwarf_slot = arm64_dwarf_slot,
	.ndwarf = 32,
	.slot_name = arm64_slot_name,
	.callee_saved = arm64_callee_saved,
	.user_regs_words = 34,
	.user_regs_slot = arm64_user_regs_slot,
	.user_regs_fs_base = -1,
	.record_at = arm64_record_at,
	.sp_of_record = arm64_sp_of_record,
	.cfa_of_record = arm64_cfa_of_record,
	.injected_pad = 16,
	.duff_records = false,
	.crosscall2_regs = arm64_crosscall2_regs,
	.signal_regs = arm64_signal_regs,
};
