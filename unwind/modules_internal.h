/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Private to modules.c, cfi.c and symbolize.c: the state behind
 * struct fpi_modules. Everything here lives until fpi_modules_destroy. */
#ifndef FPI_MODULES_INTERNAL_H
#define FPI_MODULES_INTERNAL_H

#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>

#include "arch.h"
#include "error.h"

/* An ELF symbol. raw points into the Dwfl's string tables, name too or into
 * fpi_module.owned_names. */
struct fpi_sym {
	const char *name;  /* as shown: "@VERSION" and ".abi0" cut off */
	const char *raw;   /* as in the symbol table */
	uint64_t addr;  /* biased: a target address */
	uint64_t size;
	struct fpi_module *mod;
	int rank;       /* lower wins among equal names/addresses */
	bool func;      /* STT_FUNC, or STT_NOTYPE in code (not STT_OBJECT) */
};

/* A function's address range inside a CU. */
struct fpi_func_range {
	uint64_t lo, hi;  /* unbiased (DWARF) addresses */
	Dwarf_Die die;    /* DW_TAG_subprogram */
};

struct fpi_cu {
	Dwarf_Die die;
	/* Its subprograms sorted by address, loaded on first use:
	 * dwarf_getscopes walks every top-level DIE of the CU (Go puts a
	 * whole package in one, the runtime's has thousands). */
	bool funcs_loaded;
	struct fpi_func_range *funcs;
	size_t nfuncs;
};

/* A range of addresses covered by one CU. */
struct fpi_cu_range {
	uint64_t lo, hi;  /* unbiased (DWARF) addresses */
	size_t cu;        /* index into fpi_module.cus */
};

struct fpi_module {
	Dwfl_Module *dwfl_mod;
	const char *path;      /* as reported */
	const char *basename;  /* points into path */
	uint64_t low, high;    /* target addresses */
	bool is_exe;
	size_t index;          /* report order: the executable is 0 */

	/* Function, object and code NOTYPE symbols sorted by address,
	 * loaded on first use. */
	bool syms_loaded;
	struct fpi_sym *syms;
	size_t nsyms;
	char **owned_names;    /* names with @VERSION or .abi0 cut off */
	size_t nowned_names;

	/* CFI, looked up on first use (a NULL result too: libdwfl would
	 * search again on every call). */
	bool eh_cfi_loaded, debug_cfi_loaded;
	Dwarf_CFI *eh_cfi, *debug_cfi;
	Dwarf_Addr eh_cfi_bias, debug_cfi_bias;
	/* Where debug_cfi comes from when not from libdwfl (cfi_frame.c). */
	struct fpi_cfi_frame *frame_cfi;

	/* DWARF, loaded on first use. libdwfl finds a CU through
	 * .debug_aranges, which Go does not emit, so CUs are indexed here from
	 * their DW_AT_ranges. */
	bool dwarf_loaded;
	Dwarf *dwarf;          /* NULL: no DWARF */
	Dwarf_Addr dwarf_bias;
	struct fpi_cu *cus;
	size_t ncus;
	struct fpi_cu_range *cu_ranges;
	size_t ncu_ranges;
};

struct fpi_symcache_slot {
	uint64_t pc;
	struct fpi_symbol *sym;  /* NULL: empty slot */
};

struct fpi_modules {
	Dwfl *dwfl;
	const struct fpi_arch_info *arch;  /* the executable's machine */
	struct fpi_module **mods;  /* report order, exe first */
	size_t nmods;
	int *image_fds;            /* memfds holding fpi_mem_images, open while mods lives */
	size_t nimage_fds;

	/* Name lookups (fpi_modules_lookup): every function and object
	 * symbol of every module under its name and, if different, its raw
	 * name; open addressing keyed by name, one entry per key (the one a
	 * lookup returns), built on first use. A hash, not a sorted array:
	 * the walkers look up a few dozen names, and sorting a big Go
	 * binary's 10^5 symbols by name was a third of a check's time. */
	bool names_loaded;
	struct fpi_name {
		const char *key;  /* NULL: empty slot */
		const struct fpi_sym *sym;
		size_t hash;      /* of key: probing compares it, not the
				   * strings, which are scattered in memory */
	} *by_name;
	size_t by_name_cap;  /* a power of two, or 0 */

	/* fpi_symbolize's cache: open addressing keyed by pc. */
	struct fpi_symcache_slot *cache;
	size_t cache_cap, cache_count;

	/* The executable's Go function table, on first use (a NULL result
	 * too), read from the Elf libdwfl keeps open for the module: it
	 * borrows that Elf's data, so it goes before dwfl_end. */
	bool pcln_loaded;
	struct fpi_pclntab *pcln;
	uint64_t pcln_bias;
	char pcln_err[200];
};

/* The module containing a target address, or NULL. */
struct fpi_module *fpi_module_at(struct fpi_modules *mods, uint64_t addr);
/* The function symbol containing addr in m, or NULL. */
const struct fpi_sym *fpi_module_sym_at(struct fpi_module *m, uint64_t addr);
/* m's DWARF (NULL if none); loads it and the CU index on first use. */
Dwarf *fpi_module_dwarf(struct fpi_module *m, Dwarf_Addr *bias);
/* The CU covering unbiased DWARF address addr, or NULL. */
struct fpi_cu *fpi_module_cu_at(struct fpi_module *m, uint64_t addr);
/* The DW_TAG_subprogram covering unbiased addr in cu, or NULL. */
Dwarf_Die *fpi_cu_func_at(struct fpi_cu *cu, uint64_t addr);

/* cfi_frame.c: the .debug_frame CFI of the ELF file elf alone, in
 * unbiased addresses of elf, without opening (and decompressing) the rest
 * of its DWARF. FPI_ERR_NOTFOUND: elf has no .debug_frame. */
struct fpi_cfi_frame;
struct fpi_error *fpi_cfi_frame_open(Elf *elf, struct fpi_cfi_frame **ret);
Dwarf_CFI *fpi_cfi_frame_cfi(const struct fpi_cfi_frame *f);
void fpi_cfi_frame_destroy(struct fpi_cfi_frame *f);

/* symbolize.c: free the pc cache. */
void fpi_symcache_destroy(struct fpi_modules *mods);

#endif
