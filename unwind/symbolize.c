/* pc -> function, file:line and inlined frames, cached per pc. A run sees
 * every frame of every goroutine (100k+) but only a few thousand distinct
 * pcs, so the cache is what makes it fast; the cold path need only be
 * reasonable. */
#include <dwarf.h>
#include <stdlib.h>
#include <string.h>

#include "modules_internal.h"

/* Inlining deeper than this is cut at the inner end. */
#define MAX_INLINE 64

static const char *die_name(Dwarf_Die *die)
{
	Dwarf_Attribute attr;

	/* Inlined instances name their function through
	 * DW_AT_abstract_origin; integrate follows it. */
	return dwarf_formstring(dwarf_attr_integrate(die, DW_AT_name, &attr));
}

/* The DW_AT_call_file / DW_AT_call_line of an inlined instance: where its
 * caller called it. */
static void call_site(Dwarf_Die *die, const char **file, int *line)
{
	Dwarf_Attribute attr;
	Dwarf_Word idx, ln;
	Dwarf_Files *files;
	Dwarf_Die cu;
	size_t nfiles;

	*file = NULL;
	*line = 0;
	if (dwarf_formudata(dwarf_attr(die, DW_AT_call_line, &attr), &ln) == 0)
		*line = (int)ln;
	if (dwarf_formudata(dwarf_attr(die, DW_AT_call_file, &attr), &idx) == 0 &&
	    dwarf_diecu(die, &cu, NULL, NULL) &&
	    dwarf_getsrcfiles(&cu, &files, &nfiles) == 0 && idx < nfiles)
		*file = dwarf_filesrc(files, idx, NULL, NULL);
}

struct inline_search {
	uint64_t addr;
	Dwarf_Die path[MAX_INLINE];  /* inlined_subroutines, outermost first */
	Dwarf_Die best[MAX_INLINE];
	size_t nbest;
};

/* Depth-first over the lexical blocks and inlined subroutines below die,
 * keeping the deepest chain of inlined subroutines whose innermost contains
 * addr. The chain is read off the DIE nesting, not off the ranges: Go's
 * ranges of an inlined subroutine leave out the code of the calls inlined
 * into it, so an outer one need not contain addr (and dwarf_getscopes, which
 * follows ranges and stops at the first inlined scope, misses them). */
static void find_inlined(struct inline_search *s, Dwarf_Die *die, size_t depth)
{
	Dwarf_Die child;

	if (depth == MAX_INLINE || dwarf_child(die, &child) != 0)
		return;
	do {
		int tag = dwarf_tag(&child);

		if (tag == DW_TAG_lexical_block) {
			find_inlined(s, &child, depth);
		} else if (tag == DW_TAG_inlined_subroutine) {
			s->path[depth] = child;
			if (depth + 1 > s->nbest && dwarf_haspc(&child, s->addr) == 1) {
				memcpy(s->best, s->path, (depth + 1) * sizeof(*s->path));
				s->nbest = depth + 1;
			}
			find_inlined(s, &child, depth + 1);
		}
	} while (dwarf_siblingof(&child, &child) == 0);
}

/* Functions at addr (unbiased) in the subprogram func, innermost first, the
 * physical function last. Returns the count. */
static size_t function_chain(Dwarf_Die *func, uint64_t addr, Dwarf_Die *out)
{
	struct inline_search s = { .addr = addr };

	find_inlined(&s, func, 0);
	for (size_t i = 0; i < s.nbest; i++)
		out[i] = s.best[s.nbest - 1 - i];
	out[s.nbest] = *func;
	return s.nbest + 1;
}

static struct fpi_symbol *symbolize(struct fpi_modules *mods, uint64_t pc)
{
	Dwarf_Die chain[MAX_INLINE + 1], *func = NULL;
	struct fpi_symbol *sym;
	struct fpi_module *m = fpi_module_at(mods, pc);
	const struct fpi_sym *esym = NULL;
	const char *phys_name = NULL;
	struct fpi_cu *cu = NULL;
	Dwarf_Addr bias = 0;
	size_t nchain = 0;
	bool go = false;

	if (m) {
		esym = fpi_module_sym_at(m, pc);
		if (fpi_module_dwarf(m, &bias))
			cu = fpi_module_cu_at(m, pc - bias);
	}
	if (cu) {
		go = dwarf_srclang(&cu->die) == DW_LANG_Go;
		func = fpi_cu_func_at(cu, pc - bias);
		if (func)
			nchain = function_chain(func, pc - bias, chain);
	}
	sym = calloc(1, sizeof(*sym) + (nchain ? nchain : 1) * sizeof(*sym->inlined));
	if (!sym)
		return NULL;
	sym->inlined = (struct fpi_inline *)(sym + 1);
	if (!m)
		return sym;
	sym->module = m->basename;

	if (cu) {
		Dwarf_Line *line = dwarf_getsrc_die(&cu->die, pc - bias);

		if (line) {
			sym->file = dwarf_linesrc(line, NULL, NULL);
			dwarf_lineno(line, &sym->line);
		}
	}

	/* The physical function. Go: its DWARF name, the name Go's own
	 * tracebacks print (no ".abi0"). Otherwise the ELF symbol's: C++
	 * DWARF names are unqualified. */
	if (nchain) {
		Dwarf_Die *phys = &chain[nchain - 1];
		Dwarf_Addr lowpc;

		if (go || !esym)
			phys_name = die_name(phys);
		if (dwarf_entrypc(phys, &lowpc) == 0)
			sym->func_start = lowpc + bias;
	}
	if (!phys_name && esym)
		phys_name = esym->name;
	if (!sym->func_start && esym)
		sym->func_start = esym->addr;

	if (nchain) {
		/* chain[0] is innermost: it runs at the line table's line; each
		 * outer function runs at the call site of the one inside it. */
		const char *file = sym->file;
		int line = sym->line;

		for (size_t i = 0; i < nchain; i++) {
			sym->inlined[i].function = i + 1 == nchain ? phys_name : die_name(&chain[i]);
			sym->inlined[i].file = file;
			sym->inlined[i].line = line;
			call_site(&chain[i], &file, &line);
		}
		sym->ninlined = nchain;
		sym->function = sym->inlined[0].function;
	} else if (phys_name) {
		sym->function = phys_name;
		sym->inlined[0] = (struct fpi_inline){ phys_name, sym->file, sym->line };
		sym->ninlined = 1;
	}
	return sym;
}

static size_t slot_of(uint64_t pc, size_t cap)
{
	/* Fibonacci hashing: pcs share low bits (alignment) and high bits. */
	return (size_t)((pc * 0x9e3779b97f4a7c15ull) >> 32) & (cap - 1);
}

static bool cache_grow(struct fpi_modules *mods)
{
	size_t cap = mods->cache_cap ? mods->cache_cap * 2 : 1024;
	struct fpi_symcache_slot *v = calloc(cap, sizeof(*v));

	if (!v)
		return false;
	for (size_t i = 0; i < mods->cache_cap; i++) {
		struct fpi_symcache_slot *s = &mods->cache[i];
		size_t j;

		if (!s->sym)
			continue;
		for (j = slot_of(s->pc, cap); v[j].sym; j = (j + 1) & (cap - 1))
			;
		v[j] = *s;
	}
	free(mods->cache);
	mods->cache = v;
	mods->cache_cap = cap;
	return true;
}

const struct fpi_symbol *fpi_symbolize(struct fpi_modules *mods, uint64_t pc)
{
	static const struct fpi_symbol unknown;
	struct fpi_symbol *sym;
	size_t i;

	if (!mods)
		return &unknown;
	if (mods->cache_cap) {
		for (i = slot_of(pc, mods->cache_cap); mods->cache[i].sym;
		     i = (i + 1) & (mods->cache_cap - 1))
			if (mods->cache[i].pc == pc)
				return mods->cache[i].sym;
	}
	sym = symbolize(mods, pc);
	if (!sym)
		return &unknown;  /* out of memory: "never fails" */
	if ((mods->cache_count + 1) * 2 > mods->cache_cap && !cache_grow(mods)) {
		/* Cannot cache it; leaking it beats failing. Out of memory
		 * anyway. */
		return sym;
	}
	for (i = slot_of(pc, mods->cache_cap); mods->cache[i].sym; i = (i + 1) & (mods->cache_cap - 1))
		;
	mods->cache[i] = (struct fpi_symcache_slot){ pc, sym };
	mods->cache_count++;
	return sym;
}

void fpi_symcache_destroy(struct fpi_modules *mods)
{
	for (size_t i = 0; i < mods->cache_cap; i++)
		free(mods->cache[i].sym);
	free(mods->cache);
	mods->cache = NULL;
	mods->cache_cap = mods->cache_count = 0;
}
