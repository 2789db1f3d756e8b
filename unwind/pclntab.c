/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The Go function table, read as the runtime reads it. Format facts from
 * Go's runtime/symtab.go, internal/abi/symtab.go and
 * cmd/link/internal/ld/pcln.go of each release; see pclntab.h. */
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pclntab.h"

#define MAGIC_GO118 0xfffffff0u /* 1.18, 1.19: _func without startLine */
#define MAGIC_GO120 0xfffffff1u /* 1.20+: _func.startLine, 16-byte inlinedCall */

/* internal/abi: the same indexes in every version read here */
#define PCDATA_INLTREEINDEX 2
#define FUNCDATA_INLTREE 3

/* sizes of runtime._func without its trailing arrays, and of one
 * runtime.inlinedCall */
#define FUNC_SIZE_GO118 40
#define FUNC_SIZE_GO120 44
#define INLCALL_SIZE_GO118 20 /* parent int16, funcID, _, file, line, func_, parentPc */
#define INLCALL_SIZE_GO120 16 /* funcID, _[3], nameOff, parentPc, startLine */

/* the runtime indexes inline trees as (*[1 << 20]inlinedCall) */
#define MAX_INLTREE_INDEX (1 << 20)

struct region {
	size_t off, end; /* [off, end) of the pclntab buffer */
	bool nul_ended;  /* its last byte is NUL: every string in it ends inside */
};

struct fpi_pclntab {
	const uint8_t *p;
	size_t len;
	uint64_t addr;
	uint32_t magic;
	uint8_t quantum, ptrsize;
	uint64_t nfunc, nfiles;
	uint64_t text;
	struct region funcname, cutab, filetab, pctab, functab;
	size_t func_size, inlcall_size;
	const uint8_t *gofunc_data;
	size_t gofunc_len;
	uint64_t gofunc_addr, gofunc;

	uint8_t wrapper_funcid; /* abi.FuncIDWrapper in this binary; 0 unknown */

	/* fpi_pclntab_open_file's: released by destroy */
	Elf *own_elf;
	int own_fd;
};

static inline uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static inline uint64_t get_word(const uint8_t *p, unsigned int size)
{
	uint64_t lo = get_u32(p);

	return size == 8 ? lo | (uint64_t)get_u32(p + 4) << 32 : lo;
}

/* A NUL-terminated string at off inside r, or NULL. */
static const char *region_str(const struct fpi_pclntab *t, const struct region *r,
			      uint64_t off)
{
	const uint8_t *s;

	if (off >= r->end - r->off)
		return NULL;
	s = t->p + r->off + off;
	/* the linker ends both string tables with a NUL: then no search */
	if (r->nul_ended || memchr(s, 0, r->end - r->off - off))
		return (const char *)s;
	return NULL;
}

/* abi.FuncIDWrapper marks what the compiler generates (method wrappers,
 * go-statement wrappers such as main.main.gowrap1, eq and hash functions),
 * which tracebacks hide. Its number moves as releases add funcIDs before
 * it (21 in 1.19 and 1.21, 22 in 1.23, 23 in 1.26 and 1.27), so it is taken
 * from the binary: the most frequent funcID but normal's, every other one
 * marking one runtime function (and its ABI wrapper) each. */
static uint8_t find_wrapper_funcid(const struct fpi_pclntab *t)
{
	const uint8_t *ft = t->p + t->functab.off;
	size_t room = t->functab.end - t->functab.off, at = t->magic == MAGIC_GO118 ? 36 : 40;
	uint32_t count[256] = { 0 }, best = 1;

	for (uint64_t i = 0; i < t->nfunc; i++) {
		uint32_t foff = get_u32(ft + 8 * i + 4);

		if (foff < room && room - foff >= t->func_size)
			count[ft[foff + at]]++;
	}
	for (int id = 2; id < 256; id++)
		if (count[id] > count[best])
			best = id;
	/* a handful is the special functions' */
	return count[best] >= 8 ? (uint8_t)best : 0;
}

struct fpi_error *fpi_pclntab_open(const struct fpi_pclntab_source *src,
				   struct fpi_pclntab **ret)
{
	const uint8_t *p = src->data;
	size_t len = src->len;
	uint64_t offs[5], text;
	struct region *regs[5];
	struct fpi_pclntab tab = { .own_fd = -1 }, *t = &tab;
	unsigned int ps;
	uint32_t magic;

	if (!p || len < 8)
		return fpi_error_create(FPI_ERR_FORMAT, "pclntab: %zu bytes: too short for a header",
					len);
	magic = get_u32(p);
	if (magic != MAGIC_GO118 && magic != MAGIC_GO120) {
		if (magic == 0xfffffffa || magic == 0xfffffffb)
			return fpi_error_create(FPI_ERR_FORMAT,
						"pclntab: magic %#x is Go 1.2-1.17's: not supported (Go 1.18 or later)",
						magic);
		return fpi_error_create(FPI_ERR_FORMAT,
					"pclntab: bad magic %#x (want 0xfffffff0 for Go 1.18-1.19 or 0xfffffff1 for Go 1.20+; a big-endian table is not supported)",
					magic);
	}
	/* pad1, pad2 are 0; minLC and ptrSize are the only facts of the
	 * architecture the format holds. */
	ps = p[7];
	if (p[4] || p[5] || (p[6] != 1 && p[6] != 2 && p[6] != 4) || (ps != 4 && ps != 8))
		return fpi_error_create(FPI_ERR_FORMAT,
					"pclntab: bad header (pad %u %u, pc quantum %u, pointer size %u)",
					p[4], p[5], p[6], ps);
	if (len < 8 + 8 * (size_t)ps)
		return fpi_error_create(FPI_ERR_FORMAT, "pclntab: %zu bytes: too short for a header",
					len);

	t->p = p;
	t->len = len;
	t->addr = src->addr;
	t->magic = magic;
	t->quantum = p[6];
	t->ptrsize = ps;
	t->nfunc = get_word(p + 8, ps);
	t->nfiles = get_word(p + 8 + ps, ps);
	text = get_word(p + 8 + 2 * ps, ps);
	t->text = src->text ? src->text : text;
	for (int i = 0; i < 5; i++)
		offs[i] = get_word(p + 8 + (3 + i) * ps, ps);
	/* The linker lays the tables out in this order after the header
	 * (pcln.go: generatePCHeader's writeSymOffset), each up to the next;
	 * the functab runs to the end (since 1.26 go:func.* follows it in the
	 * same section, inside this region: harmless). */
	regs[0] = &t->funcname;
	regs[1] = &t->cutab;
	regs[2] = &t->filetab;
	regs[3] = &t->pctab;
	regs[4] = &t->functab;
	for (int i = 0; i < 5; i++) {
		uint64_t end = i < 4 ? offs[i + 1] : len;

		if (offs[i] < 8 + 8 * (uint64_t)ps || offs[i] > end || end > len) {
			return fpi_error_create(FPI_ERR_FORMAT,
						"pclntab: table offsets out of order or past the end (%zu bytes): %#" PRIx64 " %#" PRIx64 " %#" PRIx64 " %#" PRIx64 " %#" PRIx64,
						len, offs[0], offs[1], offs[2], offs[3], offs[4]);
		}
		regs[i]->off = offs[i];
		regs[i]->end = end;
		regs[i]->nul_ended = end > offs[i] && p[end - 1] == 0;
	}
	if (magic == MAGIC_GO118) {
		t->func_size = FUNC_SIZE_GO118;
		t->inlcall_size = INLCALL_SIZE_GO118;
	} else {
		t->func_size = FUNC_SIZE_GO120;
		t->inlcall_size = INLCALL_SIZE_GO120;
	}
	/* functab: nfunc (entryoff, funcoff) pairs and the end pc offset */
	if (t->nfunc == 0 || t->functab.end - t->functab.off < 4 ||
	    t->nfunc > (t->functab.end - t->functab.off - 4) / 8) {
		return fpi_error_create(FPI_ERR_FORMAT,
					"pclntab: %" PRIu64 " functions do not fit in a %zu-byte function table",
					t->nfunc, t->functab.end - t->functab.off);
	}
	/* Sorted entries are what the binary search needs; the runtime
	 * checks the same (moduledataverify1). One pass, 0.1 ms for 100k. */
	{
		const uint8_t *ft = p + t->functab.off;
		uint32_t prev = 0;

		for (uint64_t i = 0; i <= t->nfunc; i++) {
			uint32_t e = get_u32(ft + 8 * i);

			if (e < prev) {
				return fpi_error_create(FPI_ERR_FORMAT,
							"pclntab: function table not sorted at entry %" PRIu64 " of %" PRIu64,
							i, t->nfunc);
			}
			prev = e;
		}
	}
	t->wrapper_funcid = find_wrapper_funcid(t);
	if (src->gofunc && src->gofunc_data && src->gofunc >= src->gofunc_addr &&
	    src->gofunc - src->gofunc_addr <= src->gofunc_len) {
		t->gofunc_data = src->gofunc_data;
		t->gofunc_len = src->gofunc_len;
		t->gofunc_addr = src->gofunc_addr;
		t->gofunc = src->gofunc;
	}
	t = malloc(sizeof(*t));
	if (!t)
		return &fpi_enomem;
	*t = tab;
	*ret = t;
	return NULL;
}

void fpi_pclntab_destroy(struct fpi_pclntab *t)
{
	if (!t)
		return;
	if (t->own_elf)
		elf_end(t->own_elf);
	if (t->own_fd >= 0)
		close(t->own_fd);
	free(t);
}

void fpi_pclntab_get_info(const struct fpi_pclntab *t, struct fpi_pclntab_info *ret)
{
	const uint8_t *ft = t->p + t->functab.off;

	ret->magic = t->magic;
	ret->versions = t->magic == MAGIC_GO118 ? "go1.18-1.19" : "go1.20+";
	ret->pc_quantum = t->quantum;
	ret->ptr_size = t->ptrsize;
	ret->nfunc = t->nfunc;
	ret->nfiles = t->nfiles;
	ret->text = t->text + get_u32(ft);
	ret->etext = t->text + get_u32(ft + 8 * t->nfunc);
	ret->has_inline = t->gofunc != 0;
	ret->has_start_line = t->magic != MAGIC_GO118;
	ret->wrapper_funcid = t->wrapper_funcid;
}

bool fpi_pclntab_func_at(const struct fpi_pclntab *t, uint64_t i, struct fpi_pclntab_func *ret)
{
	const uint8_t *ft = t->p + t->functab.off, *fp;
	size_t fsize = t->func_size, room;
	uint32_t foff, nameoff;
	const char *name;

	if (i >= t->nfunc)
		return false;
	foff = get_u32(ft + 8 * i + 4);
	room = t->functab.end - t->functab.off;
	if (foff > room || room - foff < fsize)
		return false;
	fp = ft + foff;
	ret->index = i;
	ret->foff = foff;
	ret->entry = t->text + get_u32(ft + 8 * i);
	ret->end = t->text + get_u32(ft + 8 * (i + 1));
	/* The _func repeats the entry: a mismatch means the record is not
	 * this function's. */
	if (get_u32(fp) != get_u32(ft + 8 * i))
		return false;
	nameoff = get_u32(fp + 4);
	name = region_str(t, &t->funcname, nameoff);
	ret->name = name ? name : "?";
	ret->args = (int32_t)get_u32(fp + 8);
	ret->deferreturn = get_u32(fp + 12);
	ret->pcsp = get_u32(fp + 16);
	ret->pcfile = get_u32(fp + 20);
	ret->pcln = get_u32(fp + 24);
	ret->npcdata = get_u32(fp + 28);
	ret->cu_offset = get_u32(fp + 32);
	if (t->magic == MAGIC_GO118) {
		ret->start_line = 0;
		ret->funcid = fp[36];
		ret->flag = fp[37];
		ret->nfuncdata = fp[39];
	} else {
		ret->start_line = (int32_t)get_u32(fp + 36);
		ret->funcid = fp[40];
		ret->flag = fp[41];
		ret->nfuncdata = fp[43];
	}
	/* the pcdata and funcdata arrays follow: all or nothing */
	if ((uint64_t)ret->npcdata + ret->nfuncdata > (room - foff - fsize) / 4)
		return false;
	return true;
}

bool fpi_pclntab_find(const struct fpi_pclntab *t, uint64_t pc, struct fpi_pclntab_func *ret)
{
	const uint8_t *ft = t->p + t->functab.off;
	uint64_t off, lo = 0, hi = t->nfunc;

	if (pc < t->text || pc - t->text >= UINT32_MAX)
		return false;
	off = pc - t->text;
	if (off < get_u32(ft) || off >= get_u32(ft + 8 * t->nfunc))
		return false;
	/* the last i with entry(i) <= off, keeping entry(lo) <= off <
	 * entry(lo + n): without a branch on the data (random pcs mispredict
	 * every step otherwise) */
	for (uint64_t n = hi - lo; n > 1;) {
		uint64_t half = n / 2;

		lo = get_u32(ft + 8 * (lo + half)) <= off ? lo + half : lo;
		n -= half;
	}
	return fpi_pclntab_func_at(t, lo, ret);
}

/* A uvarint of at most 5 bytes (the values are uint32) at *pp inside
 * [*pp, end). */
static inline bool read_uvarint(const uint8_t **pp, const uint8_t *end, uint32_t *ret)
{
	const uint8_t *p = *pp;
	uint32_t v = 0;

	/* most deltas are one byte (the runtime's step has the same shortcut) */
	if (p < end && !(*p & 0x80)) {
		*ret = *p;
		*pp = p + 1;
		return true;
	}
	for (unsigned int shift = 0; shift < 35; shift += 7) {
		if (p >= end)
			return false;
		v |= (uint32_t)(*p & 0x7f) << shift;
		if (!(*p++ & 0x80)) {
			*pp = p;
			*ret = v;
			return true;
		}
	}
	return false;
}

/* runtime.pcvalue: the value of the pc-value table at pctab offset off
 * for target. False when the table is absent (off 0), garbled, or does
 * not cover target. Each step moves the pc forward (the linker writes a
 * positive delta after the first), so at most one step per pc quantum of
 * the function and one more: a table of zero deltas ends there. */
static bool pcvalue(const struct fpi_pclntab *t, const struct fpi_pclntab_func *f,
		    uint32_t off, uint64_t target, int32_t *ret)
{
	const uint8_t *p, *end = t->p + t->pctab.end;
	uint64_t pc = f->entry, steps;
	int32_t val = -1;

	if (off == 0 || off >= t->pctab.end - t->pctab.off || target < f->entry ||
	    target >= f->end)
		return false;
	p = t->p + t->pctab.off + off;
	steps = (f->end - f->entry) / t->quantum + 2;
	for (uint64_t i = 0; i < steps; i++) {
		uint32_t uvdelta, pcdelta;

		if (!read_uvarint(&p, end, &uvdelta))
			return false;
		if (uvdelta == 0 && i > 0)
			return false; /* end of table before target */
		/* zig-zag: -(v & 1) ^ (v >> 1) */
		val += (int32_t)(-(uvdelta & 1) ^ (uvdelta >> 1));
		if (!read_uvarint(&p, end, &pcdelta))
			return false;
		pc += (uint64_t)pcdelta * t->quantum;
		if (target < pc) {
			*ret = val;
			return true;
		}
	}
	return false;
}

void fpi_pclntab_fileline(const struct fpi_pclntab *t, const struct fpi_pclntab_func *f,
			  uint64_t pc, const char **file, int32_t *line)
{
	int32_t fileno, ln;
	uint64_t ci;
	uint32_t fileoff;
	const char *s;

	*file = "?";
	*line = 0;
	if (!pcvalue(t, f, f->pcfile, pc, &fileno) || !pcvalue(t, f, f->pcln, pc, &ln) ||
	    fileno == -1 || ln == -1)
		return;
	/* Past here the runtime keeps the line and says "?" for a file that
	 * cutab does not name (funcfile: "pcln section is corrupt"). */
	*line = ln;
	if (fileno < 0)
		return;
	/* cutab[cuOffset + fileno]: a file's offset in filetab, ^0 none */
	ci = (uint64_t)f->cu_offset + (uint32_t)fileno;
	if (ci >= (t->cutab.end - t->cutab.off) / 4)
		return;
	fileoff = get_u32(t->p + t->cutab.off + 4 * ci);
	if (fileoff == UINT32_MAX || !(s = region_str(t, &t->filetab, fileoff)))
		return;
	*file = s;
}

bool fpi_pclntab_spdelta(const struct fpi_pclntab *t, const struct fpi_pclntab_func *f,
			 uint64_t pc, int32_t *ret)
{
	return pcvalue(t, f, f->pcsp, pc, ret);
}

static const uint8_t *func_arrays(const struct fpi_pclntab *t, const struct fpi_pclntab_func *f)
{
	return t->p + t->functab.off + f->foff + t->func_size;
}

int32_t fpi_pclntab_pcdata(const struct fpi_pclntab *t, const struct fpi_pclntab_func *f,
			   uint32_t table, uint64_t pc)
{
	int32_t v;

	/* fpi_pclntab_func_at checked that the arrays are inside */
	if (table >= f->npcdata ||
	    !pcvalue(t, f, get_u32(func_arrays(t, f) + 4 * table), pc, &v))
		return -1;
	return v;
}

/* The inline tree of f in go:func.*, and how many entries fit. */
static const uint8_t *inline_tree(const struct fpi_pclntab *t, const struct fpi_pclntab_func *f,
				  uint64_t *nentries)
{
	uint64_t base;
	uint32_t off;

	if (!t->gofunc || f->nfuncdata <= FUNCDATA_INLTREE)
		return NULL;
	off = get_u32(func_arrays(t, f) + 4 * ((uint64_t)f->npcdata + FUNCDATA_INLTREE));
	if (off == UINT32_MAX)
		return NULL;
	base = t->gofunc - t->gofunc_addr + off;
	if (base >= t->gofunc_len)
		return NULL;
	*nentries = (t->gofunc_len - base) / t->inlcall_size;
	return t->gofunc_data + base;
}

size_t fpi_pclntab_frames(const struct fpi_pclntab *t, const struct fpi_pclntab_func *f,
			  uint64_t pc, struct fpi_pclntab_frame *out, size_t max)
{
	uint64_t nentries = 0;
	const uint8_t *tree = inline_tree(t, f, &nentries);
	size_t n = 0;

	while (tree && n < FPI_PCLNTAB_MAX_INLINE) {
		int32_t ix = fpi_pclntab_pcdata(t, f, PCDATA_INLTREEINDEX, pc);
		const uint8_t *e;
		int32_t nameoff, parentpc;
		uint8_t funcid;
		const char *name;

		if (ix < 0 || ix >= MAX_INLTREE_INDEX || (uint64_t)ix >= nentries)
			break;
		e = tree + (size_t)ix * t->inlcall_size;
		if (t->magic == MAGIC_GO118) {
			funcid = e[2];
			nameoff = (int32_t)get_u32(e + 12);
			parentpc = (int32_t)get_u32(e + 16);
		} else {
			funcid = e[0];
			nameoff = (int32_t)get_u32(e + 4);
			parentpc = (int32_t)get_u32(e + 8);
		}
		if (n < max) {
			struct fpi_pclntab_frame *fr = &out[n];

			name = nameoff >= 0 ? region_str(t, &t->funcname, (uint32_t)nameoff) : NULL;
			fr->name = name ? name : "?";
			fr->funcid = funcid;
			fr->start_line = t->magic == MAGIC_GO118 ? 0 : (int32_t)get_u32(e + 12);
			fr->inlined = true;
			/* the runtime takes file:line from the physical
			 * function's tables at the inner pc: they hold the
			 * inlined body's positions */
			fpi_pclntab_fileline(t, f, pc, &fr->file, &fr->line);
		}
		n++;
		/* the call site in the caller, which may itself be inlined */
		if (parentpc < 0)
			break;
		pc = f->entry + (uint32_t)parentpc;
	}
	if (n < max) {
		struct fpi_pclntab_frame *fr = &out[n];

		fr->name = f->name;
		fr->funcid = f->funcid;
		fr->start_line = f->start_line;
		fr->inlined = false;
		fpi_pclntab_fileline(t, f, pc, &fr->file, &fr->line);
	}
	return n + 1;
}

const char *fpi_pclntab_print_name(const char *name, char *buf, size_t len)
{
	const char *open = strchr(name, '['), *close;
	size_t a, c;

	if (!open)
		return name;
	close = strrchr(name, ']');
	if (!close || close <= open)
		return name;
	a = open - name;
	c = strlen(close + 1);
	if (a + 5 + c + 1 > len)
		return name;
	memcpy(buf, name, a);
	memcpy(buf + a, "[...]", 5);
	memcpy(buf + a + 5, close + 1, c + 1);
	return buf;
}

/* ---------------- ELF ---------------- */

struct elf_sect {
	GElf_Shdr sh;
	Elf_Data *data;
};

static bool elf_sect_by_name(Elf *elf, const char *name, struct elf_sect *ret)
{
	size_t shstrndx;
	Elf_Scn *scn = NULL;

	if (elf_getshdrstrndx(elf, &shstrndx) != 0)
		return false;
	while ((scn = elf_nextscn(elf, scn))) {
		const char *n;

		if (!gelf_getshdr(scn, &ret->sh))
			continue;
		n = elf_strptr(elf, shstrndx, ret->sh.sh_name);
		if (n && strcmp(n, name) == 0 && ret->sh.sh_type == SHT_PROGBITS) {
			ret->data = elf_getdata(scn, NULL);
			return ret->data && ret->data->d_buf && ret->data->d_size;
		}
	}
	return false;
}

/* The allocated section with file contents holding addr. */
static bool elf_sect_by_addr(Elf *elf, uint64_t addr, struct elf_sect *ret)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, &ret->sh) || !(ret->sh.sh_flags & SHF_ALLOC) ||
		    ret->sh.sh_type == SHT_NOBITS || addr < ret->sh.sh_addr ||
		    addr - ret->sh.sh_addr >= ret->sh.sh_size)
			continue;
		ret->data = elf_getdata(scn, NULL);
		return ret->data && ret->data->d_buf && ret->data->d_size == ret->sh.sh_size;
	}
	return false;
}

/* runtime.text and go:func.* (go.func.* before 1.20) from .symtab. */
static void elf_symbols(Elf *elf, uint64_t *text, uint64_t *gofunc)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB || !sh.sh_entsize ||
		    !(d = elf_getdata(scn, NULL)))
			continue;
		for (size_t i = 0; i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym sym;
			const char *n;

			if (!gelf_getsym(d, i, &sym) || !(n = elf_strptr(elf, sh.sh_link, sym.st_name)))
				continue;
			if (strcmp(n, "runtime.text") == 0)
				*text = sym.st_value;
			else if (strcmp(n, "go:func.*") == 0 || strcmp(n, "go.func.*") == 0)
				*gofunc = sym.st_value;
		}
	}
}

/* runtime.moduledata, as the linker writes it (ld/symtab.go): pcHeader,
 * six slices (funcnametab, cutab, filetab, pctab, pclntable, ftab),
 * findfunctab, minpc, maxpc, then text at word 22 in every version read
 * here. We find firstmoduledata by its pointer to the pclntab and take it
 * only when the slices agree with the pclntab's header. In a PIE the words
 * are dynamic relocations; Go's linker writes their link-time values in
 * place too (run-pclntab.sh reads -buildmode=pie -s -w builds), a linker
 * that leaves them 0 would make this fail.
 *
 * gofunc moves as fields are added before it. Since 1.26 go:func.* is at
 * the end of the pclntab and epclntab follows gofunc: the pair is
 * recognized wherever it is (word 40 in 1.26, 43 in 1.27). Before, it
 * follows rodata: word 38 in 1.18-1.19, 40 in 1.20-1.25 (covctrs and
 * ecovctrs came first), taken when it is not below rodata. */
#define MODULEDATA_SCAN_WORDS 64

static bool moduledata_in(const uint8_t *d, size_t n, const struct fpi_pclntab *t,
			  uint64_t *text, uint64_t *gofunc)
{
	unsigned int ps = t->ptrsize, old_word = t->magic == MAGIC_GO118 ? 38 : 40;
	uint64_t pcend = t->addr + t->len;

	for (size_t off = 0; off + MODULEDATA_SCAN_WORDS * (size_t)ps <= n; off += ps) {
		const uint8_t *m = d + off;

		if (get_word(m, ps) != t->addr ||
		    get_word(m + 1 * ps, ps) != t->addr + t->funcname.off ||
		    get_word(m + 4 * ps, ps) != t->addr + t->cutab.off ||
		    get_word(m + 16 * ps, ps) != t->addr + t->functab.off ||
		    get_word(m + 17 * ps, ps) != t->nfunc + 1)
			continue;
		*text = get_word(m + 22 * ps, ps);
		/* minpc is the first function's entry */
		if (get_word(m + 20 * ps, ps) != *text + get_u32(t->p + t->functab.off))
			continue;
		*gofunc = 0;
		for (unsigned int w = 23; w + 1 < MODULEDATA_SCAN_WORDS; w++) {
			uint64_t v = get_word(m + w * ps, ps);

			if (v >= t->addr && v < pcend && get_word(m + (w + 1) * ps, ps) == pcend) {
				*gofunc = v;
				break;
			}
		}
		if (!*gofunc) {
			uint64_t v = get_word(m + old_word * ps, ps);

			if (v && v >= get_word(m + (old_word - 1) * ps, ps))
				*gofunc = v;
		}
		return true;
	}
	return false;
}

static bool elf_moduledata(Elf *elf, const struct fpi_pclntab *t, uint64_t *text,
			   uint64_t *gofunc)
{
	/* 1.26 moved it to a section of its own */
	static const char *const where[] = { ".go.module", ".noptrdata" };

	for (size_t w = 0; w < sizeof(where) / sizeof(where[0]); w++) {
		struct elf_sect nd;

		if (elf_sect_by_name(elf, where[w], &nd) &&
		    moduledata_in(nd.data->d_buf, nd.data->d_size, t, text, gofunc))
			return true;
	}
	return false;
}

struct fpi_error *fpi_pclntab_open_elf(Elf *elf, struct fpi_pclntab **ret)
{
	struct fpi_pclntab_source src = { 0 };
	struct fpi_pclntab *t;
	struct elf_sect pcln, gf;
	struct fpi_error *err;
	uint64_t text = 0, gofunc = 0;

	if (!elf_sect_by_name(elf, ".gopclntab", &pcln) &&
	    !elf_sect_by_name(elf, ".data.rel.ro.gopclntab", &pcln)) {
		size_t shnum = 0;

		if (elf_getshdrnum(elf, &shnum) == 0 && shnum == 0)
			return fpi_error_create(FPI_ERR_NOTGO,
						"no section headers: cannot find .gopclntab (finding it through runtime.firstmoduledata from the program headers is not implemented)");
		return fpi_error_create(FPI_ERR_NOTGO, "no .gopclntab section: not a Go program");
	}
	src.data = pcln.data->d_buf;
	src.len = pcln.data->d_size;
	src.addr = pcln.sh.sh_addr;
	elf_symbols(elf, &text, &gofunc);
	src.text = text;
	err = fpi_pclntab_open(&src, &t);
	if (err)
		return fpi_error_wrap(err, ".gopclntab");
	if (!text || !gofunc) {
		uint64_t mtext = 0, mgofunc = 0;

		if (elf_moduledata(elf, t, &mtext, &mgofunc)) {
			if (!text)
				text = mtext;
			if (!gofunc)
				gofunc = mgofunc;
		}
		if (!text && !t->text) {
			fpi_pclntab_destroy(t);
			return fpi_error_create(FPI_ERR_FORMAT,
						".gopclntab: the header has no textStart (Go 1.26+) and neither runtime.text (no .symtab) nor runtime.firstmoduledata (in .go.module or .noptrdata) was found");
		}
		if (text)
			t->text = text;
	}
	if (gofunc && elf_sect_by_addr(elf, gofunc, &gf)) {
		t->gofunc_data = gf.data->d_buf;
		t->gofunc_len = gf.data->d_size;
		t->gofunc_addr = gf.sh.sh_addr;
		t->gofunc = gofunc;
	}
	*ret = t;
	return NULL;
}

struct fpi_error *fpi_pclntab_open_file(const char *path, struct fpi_pclntab **ret)
{
	struct fpi_error *err;
	Elf *elf;
	int fd;

	elf_version(EV_CURRENT);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fpi_error_create(FPI_ERR_OTHER, "open %s: %m", path);
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF) {
		err = fpi_error_create(FPI_ERR_FORMAT, "%s: not an ELF file: %s", path,
				       elf_errmsg(-1));
		elf_end(elf);
		close(fd);
		return err;
	}
	err = fpi_pclntab_open_elf(elf, ret);
	if (err) {
		elf_end(elf);
		close(fd);
		return fpi_error_wrap(err, "%s", path);
	}
	(*ret)->own_elf = elf;
	(*ret)->own_fd = fd;
	return NULL;
}
