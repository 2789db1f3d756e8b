/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The Go function table (.gopclntab) read as the Go runtime reads it
 * (runtime/symtab.go, runtime/traceback.go), for the formats Go 1.18-1.27
 * write: magic 0xfffffff0 (1.18, 1.19) and 0xfffffff1 (1.20 and later).
 *
 * The input is untrusted (target memory or a file): every offset is checked
 * against the buffer it points into, every loop is bounded, nothing is
 * allocated per lookup. Nothing is copied either: the buffers given to
 * fpi_pclntab_open must outlive the table. Lookups do not change the table,
 * so threads may share one.
 *
 * Addresses are whatever address space the caller gives: link-time
 * addresses for a file (fpi_pclntab_open_elf), run-time ones for target
 * memory (add the load bias to text and the buffers' addresses). */
#ifndef FPI_PCLNTAB_H
#define FPI_PCLNTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct fpi_pclntab;

/* What to read. Only data/len/addr are required. */
struct fpi_pclntab_source {
	/* The .gopclntab contents and the address they sit at. */
	const void *data;
	size_t len;
	uint64_t addr;
	/* runtime.text (moduledata.text): the base of the function entry
	 * offsets. 0: the header's textStart, which the linker writes up to
	 * Go 1.25 and leaves 0 since (it needed a relocation). */
	uint64_t text;
	/* go:func.* (moduledata.gofunc), the base of funcdata offsets: the
	 * inline trees live there. A buffer holding it and that buffer's
	 * address: up to Go 1.25 it is in .rodata, since 1.26 at the end of
	 * .gopclntab (then this may be the same buffer as data). gofunc 0:
	 * no inline trees (each pc is one frame, the physical function). */
	const void *gofunc_data;
	size_t gofunc_len;
	uint64_t gofunc_addr;
	uint64_t gofunc;
};

struct fpi_error *fpi_pclntab_open(const struct fpi_pclntab_source *src,
				   struct fpi_pclntab **ret);

/* The table of an ELF file, found by section name (.gopclntab, or
 * .data.rel.ro.gopclntab in a PIE), with runtime.text and go:func.* from
 * .symtab, or, when the symbol table is gone (-ldflags=-s, strip), from
 * runtime.firstmoduledata found in .go.module (1.26+) or .noptrdata by
 * its pointer to the pclntab. Without section headers there is no table (not implemented:
 * finding firstmoduledata from the program headers alone).
 * The Elf must outlive the table (its data is not copied). */
typedef struct Elf Elf;
struct fpi_error *fpi_pclntab_open_elf(Elf *elf, struct fpi_pclntab **ret);
/* The same for a path: the table owns the open file. */
struct fpi_error *fpi_pclntab_open_file(const char *path, struct fpi_pclntab **ret);

void fpi_pclntab_destroy(struct fpi_pclntab *t);

struct fpi_pclntab_info {
	uint32_t magic;        /* 0xfffffff0 or 0xfffffff1 */
	const char *versions;  /* "go1.18-1.19" or "go1.20+" */
	uint8_t pc_quantum;    /* minLC: 1 on amd64, 4 on arm64 */
	uint8_t ptr_size;
	uint64_t nfunc, nfiles;
	uint64_t text, etext;  /* first function's base, last function's end */
	bool has_inline;       /* go:func.* known: inline trees are read */
	bool has_start_line;   /* _func.startLine (1.20+) */
	uint8_t wrapper_funcid; /* abi.FuncIDWrapper as this binary numbers it; 0 unknown */
};
void fpi_pclntab_get_info(const struct fpi_pclntab *t, struct fpi_pclntab_info *ret);

/* One function of the table (a _func). The fields after the first group
 * are the reader's. */
struct fpi_pclntab_func {
	uint64_t entry, end;   /* [entry, end): end is the next entry */
	const char *name;      /* as in the table; "?" when garbled */
	int32_t args;          /* in/out argument size */
	uint32_t deferreturn;  /* offset of the deferreturn call from entry, 0 none */
	int32_t start_line;    /* line of the func keyword; 0 before 1.20 */
	uint8_t funcid;        /* abi.FuncID: numbering differs across versions */
	uint8_t flag;          /* abi.FuncFlag: 1 TOPFRAME, 2 SPWRITE, 4 ASM */

	uint32_t index;        /* in the functab */
	uint32_t foff;         /* of the _func, from the functab's start */
	uint32_t pcsp, pcfile, pcln, npcdata, cu_offset;
	uint8_t nfuncdata;
};

/* The function holding pc (binary search over the functab): false when pc
 * is outside every function or the _func is out of bounds. */
bool fpi_pclntab_find(const struct fpi_pclntab *t, uint64_t pc,
		      struct fpi_pclntab_func *ret);
/* The function at index i of the functab (0 <= i < nfunc). */
bool fpi_pclntab_func_at(const struct fpi_pclntab *t, uint64_t i,
			 struct fpi_pclntab_func *ret);

/* file:line at pc, as runtime.funcline1: "?" and 0 when the tables do not
 * say (the linker's own functions, a garbled table). */
void fpi_pclntab_fileline(const struct fpi_pclntab *t, const struct fpi_pclntab_func *f,
			  uint64_t pc, const char **file, int32_t *line);

/* The SP delta at pc (pcsp, runtime.funcspdelta): the frame's size below
 * the return address at that instruction. As traceback.go: CFA (the caller's
 * SP) = SP + delta + ptr_size on amd64, where the return address is at
 * CFA - ptr_size; on LR machines CFA = SP + delta. False: no table or pc
 * not covered. */
bool fpi_pclntab_spdelta(const struct fpi_pclntab *t, const struct fpi_pclntab_func *f,
			 uint64_t pc, int32_t *ret);

/* The value of PCDATA table `table` at pc; -1 when there is none
 * (runtime.pcdatavalue1, not strict). */
int32_t fpi_pclntab_pcdata(const struct fpi_pclntab *t, const struct fpi_pclntab_func *f,
			   uint32_t table, uint64_t pc);

/* One frame the runtime prints for a pc. */
struct fpi_pclntab_frame {
	const char *name;      /* as in the table: see fpi_pclntab_print_name */
	const char *file;
	int32_t line;
	int32_t start_line;    /* 0 before 1.20 */
	uint8_t funcid;
	bool inlined;          /* false only for the last (physical) frame */
};

/* Inline trees deeper than this are garbage (the compiler's limit is far
 * below). */
#define FPI_PCLNTAB_MAX_INLINE 256

/* The frames at pc, innermost first, the physical function last: the
 * runtime's inline unwinder (1.21+ inlineUnwinder, 1.19 gentraceback):
 * while PCDATA_InlTreeIndex at the pc is >= 0, the inlined call's function
 * (nameOff, funcID) with file:line of f's tables at that pc, then the pc
 * becomes f.entry + parentPc. The pc is the one to look up: a return
 * address minus one for a caller's frame, as the runtime does.
 * Writes at most max frames; returns how many there are (> max: cut). */
size_t fpi_pclntab_frames(const struct fpi_pclntab *t, const struct fpi_pclntab_func *f,
			  uint64_t pc, struct fpi_pclntab_frame *out, size_t max);

/* A name as the runtime prints it (funcNameForPrint, 1.21+): a generic
 * function's type arguments as "[...]". Returns buf, or name itself when
 * it has none. */
const char *fpi_pclntab_print_name(const char *name, char *buf, size_t len);

#endif
