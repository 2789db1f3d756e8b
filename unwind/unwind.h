/* SPDX-License-Identifier: GPL-3.0-or-later */
/* unwind/: knows stacks, not Go's scheduler. Frame-pointer walker with
 * validation, DWARF CFI stepping through libdw, symbolization. */
#ifndef FPI_UNWIND_H
#define FPI_UNWIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* What the unwinders need from a target, and nothing else: registers,
 * the files it maps, and a read (struct fpi_mem). Targets fill these;
 * the unwinder never sees a target. */

/* Registers live in slots. The pc, sp and frame-pointer slots are the same
 * on every architecture (FPI_REG_PC, _SP, _FP), so code above the
 * architecture tables (arch.h) reads them without asking which machine it
 * is. On amd64 every slot is its register's DWARF number (0 rax, 1 rdx,
 * 2 rcx, 3 rbx, 4 rsi, 5 rdi, 6 rbp, 7 rsp, 8..15 r8..r15, 16 rip); arm64
 * keeps x29 (FP), sp and pc in those three, x0-x28 and x30 (LR) in slots
 * of their own. fs_base: amd64's TLS base, for Go's TLS g. */
enum {
	FPI_REG_RAX = 0, FPI_REG_RDX, FPI_REG_RCX, FPI_REG_RBX, FPI_REG_RSI,
	FPI_REG_RDI, FPI_REG_RBP, FPI_REG_RSP, FPI_REG_R8, FPI_REG_R9,
	FPI_REG_R10, FPI_REG_R11, FPI_REG_R12, FPI_REG_R13, FPI_REG_R14,
	FPI_REG_R15, FPI_REG_RIP,
	FPI_REG_A64_X0,                          /* xN at FPI_REG_A64_X0 + N, N < 29 */
	FPI_REG_A64_LR = FPI_REG_A64_X0 + 29,    /* x30 */
	FPI_NREGS
};
#define FPI_REG_PC FPI_REG_RIP
#define FPI_REG_SP FPI_REG_RSP
#define FPI_REG_FP FPI_REG_RBP

struct fpi_regs {
	uint64_t r[FPI_NREGS];
	uint64_t fs_base;
};

/* A file mapped into the target's address space (for modules: the
 * executable, libc, ld.so). */
struct fpi_mapping {
	uint64_t start, end, offset;
	char *path;
};


/* Memory as the unwinders see it. */
typedef bool (*fpi_mem_read_fn)(void *arg, uint64_t addr, void *buf, size_t len);
struct fpi_mem {
	fpi_mem_read_fn read;
	void *arg;
};

/* ---------------- frame-pointer walker (fpwalk.c) ---------------- */

enum fpi_fp_stop {
	FPI_FP_END = 0,         /* natural end: saved BP 0 (or return PC 0) */
	FPI_FP_CYCLE,           /* a saved BP revisits a frame already walked */
	FPI_FP_OUT_OF_BOUNDS,   /* a saved BP leaves [lo, hi) */
	FPI_FP_NOT_INCREASING,  /* a saved BP goes down (without revisiting) */
	FPI_FP_MISALIGNED,      /* a saved BP not 8-byte aligned */
	FPI_FP_UNREADABLE,      /* [bp] or [bp+8] could not be read */
	FPI_FP_DEPTH,           /* depth cap reached */
};

struct fpi_fp_frame {
	uint64_t pc;  /* frame 0: the start pc; frame i>0: [fp(i-1)+8] */
	uint64_t fp;  /* the frame pointer value of this frame (0 at the end) */
};

struct fpi_fp_result {
	size_t nframes;        /* frames filled in */
	enum fpi_fp_stop stop;
	/* When stop != END: the link that broke. */
	size_t bad_frame;      /* index of the frame whose saved BP is bad */
	uint64_t bad_addr;     /* address the bad value was read from (its fp) */
	uint64_t bad_value;    /* the value read there */
	char why[160];         /* human explanation */
};

/* Walk pc = [bp+8]; bp = [bp] starting at (pc, bp), validating every link
 * against the owning stack [lo, hi): inside, aligned, strictly increasing,
 * acyclic (constant memory), at most max_frames frames. Always terminates.
 * frames may be NULL (count only). */
void fpi_fp_walk(const struct fpi_mem *mem, uint64_t pc, uint64_t bp,
		 uint64_t lo, uint64_t hi, size_t max_frames,
		 struct fpi_fp_frame *frames, struct fpi_fp_result *ret);
const char *fpi_fp_stop_name(enum fpi_fp_stop stop);

/* One link of that walk, for iterators that decide per frame where to go
 * (Go's stack switches): validate fp, frame i of a chain that started at
 * bp0 and whose frame i-1 had fp prev (frames: the chain's frames 0..i-1 if
 * kept, for finding a revisit without reads; NULL re-walks from bp0), against [lo, hi), then read its
 * link ([fp] the caller's BP, [fp+8] the return address). Returns 0 with
 * link filled, 1 at a natural end (fp 0, or a return address 0), -1 when
 * the link is bad (ret's stop, bad_* and why filled; nframes untouched). */
int fpi_fp_link(const struct fpi_mem *mem, const struct fpi_fp_frame *frames, uint64_t fp, size_t i, uint64_t prev,
		uint64_t bp0, uint64_t lo, uint64_t hi, uint64_t link[2], struct fpi_fp_result *ret);

/* ---------------- modules, CFI and symbols (modules.c, cfi.c, symbolize.c) ---------------- */

struct fpi_modules; /* opaque: a Dwfl with every ELF mapped in the target */

/* An ELF image that has no file, only bytes in the target's memory (the
 * vDSO), loaded at addr. */
struct fpi_mem_image {
	const char *name;  /* as shown, e.g. "[vdso]" */
	uint64_t addr;
	const void *data;
	size_t len;
};

/* Build from the target's file mappings (exe, libc, ld.so, ...) and the
 * images given (may be NULL, 0). */
struct fpi_error *fpi_modules_create(const struct fpi_mapping *maps, size_t nmaps,
				     const char *exe_path, const struct fpi_mem_image *images,
				     size_t nimages, struct fpi_modules **ret);
void fpi_modules_destroy(struct fpi_modules *mods);

/* One DWARF CFI step on amd64: given the registers of a frame, compute the
 * caller's registers (rip, rsp, rbp, rbx, r12-r15 as far as rules exist).
 * Go code: .debug_frame; C code: .eh_frame (then .debug_frame).
 * Returns 0 on success, -1 when there is no CFI for regs->r[RIP] or a rule
 * could not be evaluated (why filled), 1 at the outermost frame
 * (return address undefined). */
int fpi_cfi_step(struct fpi_modules *mods, const struct fpi_mem *mem,
		 const struct fpi_regs *regs, bool is_first_frame,
		 struct fpi_regs *ret, char *why, size_t whylen);

/* fpi_cfi_step, telling also where its rules came from. */
struct fpi_cfi_info {
	bool signal_frame;   /* the FDE's CIE has augmentation 'S': the
				caller's pc is exact, do not subtract 1 */
	bool debug_frame;    /* the rules came from .debug_frame (Go code),
				not .eh_frame */
	bool rbp_from_rule;  /* caller's rbp came from an explicit rule; false:
				carried over as "same value" (Go frames) */
};
int fpi_cfi_step_info(struct fpi_modules *mods, const struct fpi_mem *mem,
		      const struct fpi_regs *regs, bool is_first_frame,
		      struct fpi_regs *ret, struct fpi_cfi_info *info,
		      char *why, size_t whylen);


struct fpi_symbol {
	const char *function;  /* NULL if unknown */
	const char *file;      /* NULL if unknown */
	int line;
	uint64_t func_start;
	const char *module;    /* basename of the ELF */
	bool go;               /* in a Go compile unit (Go's assembly too, e.g.
				  indexbytebody, which has no package prefix) */
	bool wrapper;          /* the innermost frame is compiler-generated
				  (funcID wrapper): tracebacks hide it */
	/* Inlined frames at this pc, innermost first; the last entry is the
	 * physical function (same as function/file/line above is the innermost). */
	size_t ninlined;
	struct fpi_inline {
		const char *function;
		const char *file;
		int line;
		bool wrapper;
	} *inlined;
};

/* Symbolize pc (a return address should be passed as pc - 1 by the caller
 * when it is not the innermost frame). Results are cached per pc and owned
 * by mods. Never fails: unknown parts are NULL. */
const struct fpi_symbol *fpi_symbolize(struct fpi_modules *mods, uint64_t pc);
/* The executable's Go function table (pclntab.h), opened once, on first
 * use, at the bias libdwfl loaded the executable at (a PIE): its addresses
 * plus *bias are the target's. NULL when there is none; *why says why. */
struct fpi_pclntab;
const struct fpi_pclntab *fpi_modules_pclntab(struct fpi_modules *mods, uint64_t *bias, const char **why);
/* Is pc Go code? 1: in the executable's Go function table (*entry its
 * function's entry), 0: in the executable but not Go's (C the external
 * linker put there), -1: not in the executable. From pclntab and the ELF
 * symbols only: the walkers ask this of every frame, and DWARF (tens of
 * MB to decompress in a large binary) is for symbols and lines, later. */
int fpi_modules_go_code(struct fpi_modules *mods, uint64_t pc, uint64_t *entry);
/* Address of a function symbol by name (0 if absent). */
uint64_t fpi_modules_lookup(struct fpi_modules *mods, const char *name, uint64_t *size);

#endif
