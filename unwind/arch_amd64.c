/* SPDX-License-Identifier: GPL-3.0-or-later */
/* amd64 (x86-64): the System V psABI, Linux's core notes and signal frames,
 * and Go's amd64 frame layout (return address pushed by CALL, BP pushed
 * right below it). */
#include <elf.h>
#include <string.h>

#include "arch.h"

/* DWARF numbers are the slots (unwind.h) */
static const signed char amd64_dwarf_slot[] = {
	0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
};

static const char *const amd64_slot_name[FPI_NREGS] = {
	"rax", "rdx", "rcx", "rbx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10", "r11", "r12", "r13", "r14",
	"r15", "rip",
};

static bool amd64_callee_saved(int regno)
{
	return regno == FPI_REG_RBX || regno == FPI_REG_RBP || (regno >= FPI_REG_R12 && regno <= FPI_REG_R15);
}

/* struct user_regs_struct (arch/x86/include/asm/user_64.h): r15 r14 r13
 * r12 rbp rbx r11 r10 r9 r8 rax rcx rdx rsi rdi orig_rax rip cs eflags rsp
 * ss fs_base gs_base ds es fs gs */
static const signed char amd64_user_regs_slot[27] = {
	FPI_REG_R15, FPI_REG_R14, FPI_REG_R13, FPI_REG_R12, FPI_REG_RBP, FPI_REG_RBX, FPI_REG_R11, FPI_REG_R10,
	FPI_REG_R9, FPI_REG_R8, FPI_REG_RAX, FPI_REG_RCX, FPI_REG_RDX, FPI_REG_RSI, FPI_REG_RDI, -1,
	FPI_REG_RIP, -1, -1, FPI_REG_RSP, -1, -1, -1, -1, -1, -1, -1,
};

static uint64_t amd64_record_at(uint64_t sp, uint64_t cfa)
{
	(void)sp;
	return cfa >= sp + 16 && sp + 16 > sp ? cfa - 16 : 0;
}

static uint64_t amd64_sp_of_record(uint64_t fp, uint64_t callee_fp)
{
	(void)fp;
	return callee_fp ? callee_fp + 16 : 0;
}

static uint64_t amd64_cfa_of_record(uint64_t fp)
{
	return fp ? fp + 16 : 0;
}

/* crosscall2 (runtime/cgo, PUSH_REGS_HOST_TO_ABI0 on SysV) keeps the C
 * caller's callee-saved registers below its CFA, BP in a frame record at
 * CFA-16; its .debug_frame does not say so. */
static void amd64_crosscall2_regs(const struct fpi_mem *mem, uint64_t cfa, struct fpi_regs *regs)
{
	static const int regs_at[] = { FPI_REG_RBX, FPI_REG_R12, FPI_REG_R13, FPI_REG_R14, FPI_REG_R15, FPI_REG_RBP };
	uint64_t save[6];

	if (cfa > 8 + sizeof(save) && mem->read(mem->arg, cfa - 8 - sizeof(save), save, sizeof(save)))
		for (int k = 0; k < 6; k++)
			regs->r[regs_at[k]] = save[k];
}

/* The kernel enters the handler (Go's runtime.sigtramp, also through
 * cgoSigtramp's jump) with RSP at rt_sigframe.pretcode, so the handler's
 * CFA is the ucontext that follows. Its uc_mcontext starts 40 bytes in
 * (after uc_flags, uc_link, uc_stack), the general registers in
 * sigcontext order. */
static bool amd64_signal_regs(const struct fpi_mem *mem, uint64_t cfa, struct fpi_regs *ret)
{
	static const int order[] = { FPI_REG_R8, FPI_REG_R9, FPI_REG_R10, FPI_REG_R11, FPI_REG_R12, FPI_REG_R13,
				     FPI_REG_R14, FPI_REG_R15, FPI_REG_RDI, FPI_REG_RSI, FPI_REG_RBP, FPI_REG_RBX,
				     FPI_REG_RDX, FPI_REG_RAX, FPI_REG_RCX, FPI_REG_RSP, FPI_REG_RIP };
	uint64_t g[17];

	if (!cfa || !mem->read(mem->arg, cfa + 40, g, sizeof(g)))
		return false;
	memset(ret, 0, sizeof(*ret));
	for (size_t k = 0; k < 17; k++)
		ret->r[order[k]] = g[k];
	return ret->r[FPI_REG_RIP] && ret->r[FPI_REG_RSP] && !(ret->r[FPI_REG_RSP] & 7);
}

const struct fpi_arch_info fpi_arch_amd64 = {
	.name = "amd64",
	.e_machine = EM_X86_64,
	.ptr_size = 8,
	.fp_name = "BP",
	.lr = -1,
	.g_reg = -1,
	.dwarf_slot = amd64_dwarf_slot,
	.ndwarf = (int)sizeof(amd64_dwarf_slot),
	.slot_name = amd64_slot_name,
	.callee_saved = amd64_callee_saved,
	.user_regs_words = 27,
	.user_regs_slot = amd64_user_regs_slot,
	.user_regs_fs_base = 21,
	.record_at = amd64_record_at,
	.sp_of_record = amd64_sp_of_record,
	.cfa_of_record = amd64_cfa_of_record,
	.injected_pad = 0,
	.duff_records = true,
	.crosscall2_regs = amd64_crosscall2_regs,
	.signal_regs = amd64_signal_regs,
};

const struct fpi_arch_info *fpi_arch_of_machine(unsigned e_machine)
{
	if (e_machine == EM_X86_64)
		return &fpi_arch_amd64;
	if (e_machine == EM_AARCH64)
		return &fpi_arch_arm64;
	return NULL;
}
