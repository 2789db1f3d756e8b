/* SPDX-License-Identifier: GPL-3.0-or-later */
/* unwind/pclntab.c: the Go function table reader.
 *
 *   unit_pclntab                      synthetic tables of both formats, byte
 *                                     by byte: lookups, truncations, damage
 *   unit_pclntab --oracle EXE FILE    every function and file:line against
 *                                     debug/gosym (tests/targets/gosym)
 *   unit_pclntab --callers EXE FILE   the frames at every pc the program
 *                                     printed from runtime.CallersFrames
 *                                     (tests/targets/pcln)
 *   unit_pclntab --cfa EXE STRIDE     the SP delta against the DWARF CFA
 *                                     (libdw) every STRIDE bytes
 *   unit_pclntab --bench EXE          ns per lookup
 *   unit_pclntab --write-seeds DIR    the fuzz seeds (tests/fuzz/pclntab)
 *
 * run-pclntab.sh runs the modes that take an EXE on Go programs built by
 * every toolchain, with and without -ldflags=-s -w. */
#include <elfutils/libdw.h>
#include <dwarf.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pclntab.h"
#include "unit.h"

/* ---------------- a synthetic table ---------------- */

struct buf {
	uint8_t *p;
	size_t len, cap;
};

static void put(struct buf *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2 + 64;
		b->p = realloc(b->p, b->cap);
		if (!b->p)
			abort();
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void put_u8(struct buf *b, uint8_t v) { put(b, &v, 1); }
static void put_u32(struct buf *b, uint32_t v) { put(b, &v, 4); }
static void put_u64(struct buf *b, uint64_t v) { put(b, &v, 8); }
static void put_str(struct buf *b, const char *s) { put(b, s, strlen(s) + 1); }
static void set_u32(struct buf *b, size_t off, uint32_t v) { memcpy(b->p + off, &v, 4); }
static void set_u64(struct buf *b, size_t off, uint64_t v) { memcpy(b->p + off, &v, 8); }
static void align(struct buf *b, size_t a)
{
	while (b->len % a)
		put_u8(b, 0);
}

static void put_uvarint(struct buf *b, uint32_t v)
{
	while (v >= 0x80) {
		put_u8(b, (uint8_t)(v | 0x80));
		v >>= 7;
	}
	put_u8(b, (uint8_t)v);
}

/* A pc-value table: values[i] holds for pcs below ends[i] (offsets from
 * the entry, pc quantum 1). Returns its offset in pctab. */
static uint32_t put_pcvalue(struct buf *pctab, const int32_t *values, const uint32_t *ends, int n)
{
	uint32_t off = pctab->len, pc = 0;
	int32_t prev = -1;

	for (int i = 0; i < n; i++) {
		int32_t d = values[i] - prev;

		put_uvarint(pctab, ((uint32_t)d << 1) ^ (uint32_t)(d >> 31));
		put_uvarint(pctab, ends[i] - pc);
		prev = values[i];
		pc = ends[i];
	}
	put_u8(pctab, 0);
	return off;
}

#define TEXT 0x401000u
#define PCLN_ADDR 0x500000u
#define GOFUNC_ADDR 0x480000u

enum { F_A, F_B, F_G, NFUNC };
static const uint32_t fentry[NFUNC + 1] = { 0x0, 0x40, 0x70, 0x80 };
static const char *const fname[NFUNC] = { "main.a", "main.b", "main.g[go.shape.int]" };

/* main.b holds inlined main.inlA (at +0x10..0x20, called at +0x08) and,
 * inside it, main.inlB (at +0x18..0x20, called at +0x12 of inlA's body). */
struct synth {
	struct buf pcln;    /* .gopclntab; with go:func.* at its end when gofunc_inside */
	struct buf rodata;  /* go:func.* otherwise */
	uint64_t gofunc;
	bool gofunc_inside;
};

static void build_synth(struct synth *s, uint32_t magic, bool gofunc_inside)
{
	struct buf *b = &s->pcln, names = { 0 }, cutab = { 0 }, files = { 0 }, pct = { 0 };
	struct buf ftab = { 0 }, inl = { 0 };
	bool go118 = magic == 0xfffffff0;
	uint32_t nameoff[NFUNC], inlname[2], pcsp[NFUNC], pcfile[NFUNC], pcln[NFUNC];
	uint32_t pcinl, inltree_off = 0, funcoff[NFUNC];
	size_t fsize = go118 ? 40 : 44;

	memset(s, 0, sizeof(*s));
	s->gofunc_inside = gofunc_inside;
	for (int i = 0; i < NFUNC; i++) {
		nameoff[i] = names.len;
		put_str(&names, fname[i]);
	}
	inlname[0] = names.len;
	put_str(&names, "main.inlA");
	inlname[1] = names.len;
	put_str(&names, "main.inlB");
	/* one CU of two files, the second named twice over to test offsets */
	put_u32(&cutab, files.len);
	put_str(&files, "/src/a.go");
	put_u32(&cutab, files.len);
	put_str(&files, "/src/b.go");
	put_u32(&cutab, UINT32_MAX); /* a file index the CU has no name for */

	put_u8(&pct, 0); /* offset 0 means "no table" */
	{
		int32_t sv[] = { 0, 0x18, 0 }, fv[] = { 0 }, lv[] = { 10, 11, 12 };
		uint32_t se[] = { 4, 0x3c, 0x40 }, fe[] = { 0x40 }, le[] = { 0x10, 0x20, 0x40 };

		pcsp[F_A] = put_pcvalue(&pct, sv, se, 3);
		pcfile[F_A] = put_pcvalue(&pct, fv, fe, 1);
		pcln[F_A] = put_pcvalue(&pct, lv, le, 3);
	}
	{
		int32_t sv[] = { 0, 8 }, fv[] = { 1, 2 }, lv[] = { 20, 30, 21 }, iv[] = { -1, 0, 1, -1 };
		uint32_t se[] = { 1, 0x30 }, fe[] = { 0x28, 0x30 }, le[] = { 0x10, 0x20, 0x30 };
		uint32_t ie[] = { 0x10, 0x18, 0x20, 0x30 };

		pcsp[F_B] = put_pcvalue(&pct, sv, se, 2);
		pcfile[F_B] = put_pcvalue(&pct, fv, fe, 2);
		pcln[F_B] = put_pcvalue(&pct, lv, le, 3);
		pcinl = put_pcvalue(&pct, iv, ie, 4);
	}
	pcsp[F_G] = pcfile[F_G] = pcln[F_G] = 0; /* the linker's own: no tables */

	/* the inline tree */
	for (int k = 0; k < 2; k++) {
		uint32_t parentpc = k == 0 ? 0x08 : 0x12;

		if (go118) {
			put(&inl, (int16_t[]){ (int16_t)(k - 1) }, 2);
			put_u8(&inl, 0); /* funcID normal */
			put_u8(&inl, 0);
			put_u32(&inl, 0);
			put_u32(&inl, 0);
			put_u32(&inl, inlname[k]);
			put_u32(&inl, parentpc);
		} else {
			put_u8(&inl, k == 1 ? 21 : 0); /* a funcID to be read back */
			put(&inl, "\0\0\0", 3);
			put_u32(&inl, inlname[k]);
			put_u32(&inl, parentpc);
			put_u32(&inl, 100 + k);
		}
	}

	/* functab: (entryoff, funcoff) pairs, the end, then the _funcs */
	for (int i = 0; i < NFUNC; i++) {
		put_u32(&ftab, fentry[i]);
		put_u32(&ftab, 0);
	}
	put_u32(&ftab, fentry[NFUNC]);
	for (int i = 0; i < NFUNC; i++) {
		uint32_t npcdata = i == F_B ? 3 : 0, nfuncdata = i == F_B ? 4 : 0;

		align(&ftab, 8);
		funcoff[i] = ftab.len;
		set_u32(&ftab, 8 * i + 4, funcoff[i]);
		put_u32(&ftab, fentry[i]);
		put_u32(&ftab, nameoff[i]);
		put_u32(&ftab, 16 * i);  /* args */
		put_u32(&ftab, 0);       /* deferreturn */
		put_u32(&ftab, pcsp[i]);
		put_u32(&ftab, pcfile[i]);
		put_u32(&ftab, pcln[i]);
		put_u32(&ftab, npcdata);
		put_u32(&ftab, 0);       /* cuOffset */
		if (!go118)
			put_u32(&ftab, 5 + i); /* startLine */
		put_u8(&ftab, (uint8_t)(i == F_G ? 7 : 0)); /* funcID */
		put_u8(&ftab, (uint8_t)(i == F_A ? 1 : 0)); /* flag */
		put_u8(&ftab, 0);
		put_u8(&ftab, (uint8_t)nfuncdata);
		if (i == F_B) {
			put_u32(&ftab, 0);
			put_u32(&ftab, 0);
			put_u32(&ftab, pcinl);
			put_u32(&ftab, UINT32_MAX);
			put_u32(&ftab, UINT32_MAX);
			put_u32(&ftab, UINT32_MAX);
			put_u32(&ftab, 0); /* set below: the tree's offset from gofunc */
		}
	}
	(void)fsize;

	/* header, then the tables in the linker's order */
	put_u32(b, magic);
	put_u8(b, 0);
	put_u8(b, 0);
	put_u8(b, 1);
	put_u8(b, 8);
	put_u64(b, NFUNC);
	put_u64(b, 2);
	put_u64(b, go118 ? TEXT : 0); /* textStart: 0 since 1.26 */
	for (int i = 0; i < 5; i++)
		put_u64(b, 0);
	set_u64(b, 8 + 3 * 8, b->len);
	put(b, names.p, names.len);
	set_u64(b, 8 + 4 * 8, b->len);
	put(b, cutab.p, cutab.len);
	set_u64(b, 8 + 5 * 8, b->len);
	put(b, files.p, files.len);
	set_u64(b, 8 + 6 * 8, b->len);
	put(b, pct.p, pct.len);
	align(b, 8);
	set_u64(b, 8 + 7 * 8, b->len);
	{
		size_t ftab_at = b->len;
		size_t slot = ftab_at + funcoff[F_B] + fsize + 3 * 4 + 3 * 4;

		put(b, ftab.p, ftab.len);
		if (gofunc_inside) {
			align(b, 8);
			s->gofunc = PCLN_ADDR + b->len;
			put_u64(b, 0xdeadbeef); /* other funcdata first */
			inltree_off = 8;
			put(b, inl.p, inl.len);
		} else {
			s->gofunc = GOFUNC_ADDR + 0x10;
			for (int i = 0; i < 0x10 + 12; i++)
				put_u8(&s->rodata, 0xaa);
			inltree_off = 12;
			put(&s->rodata, inl.p, inl.len);
		}
		set_u32(b, slot, inltree_off);
	}
	free(names.p);
	free(cutab.p);
	free(files.p);
	free(pct.p);
	free(ftab.p);
	free(inl.p);
}

static void synth_source(const struct synth *s, const uint8_t *data, size_t len,
			 struct fpi_pclntab_source *src)
{
	memset(src, 0, sizeof(*src));
	src->data = data;
	src->len = len;
	src->addr = PCLN_ADDR;
	src->text = TEXT;
	src->gofunc = s->gofunc;
	if (s->gofunc_inside) {
		src->gofunc_data = data;
		src->gofunc_len = len;
		src->gofunc_addr = PCLN_ADDR;
	} else {
		src->gofunc_data = s->rodata.p;
		src->gofunc_len = s->rodata.len;
		src->gofunc_addr = GOFUNC_ADDR;
	}
}

/* Everything a walker would ask, at every pc around the text: on a damaged
 * table the answers may be wrong but must stay inside the buffers (ASan,
 * the fuzz target) and the loops must end. Returns a checksum so that the
 * work is not optimized away. */
static uint64_t exercise(const struct fpi_pclntab *t)
{
	struct fpi_pclntab_frame fr[8];
	struct fpi_pclntab_func f;
	struct fpi_pclntab_info info;
	uint64_t sum = 0;

	fpi_pclntab_get_info(t, &info);
	for (uint64_t i = 0; i < info.nfunc && i < 64; i++)
		if (fpi_pclntab_func_at(t, i, &f))
			sum += strlen(f.name) + f.entry;
	for (uint64_t pc = TEXT - 2; pc < TEXT + 0x90; pc++) {
		const char *file;
		int32_t line, sp;
		size_t n;

		if (!fpi_pclntab_find(t, pc, &f))
			continue;
		fpi_pclntab_fileline(t, &f, pc, &file, &line);
		sum += strlen(file) + (uint32_t)line;
		if (fpi_pclntab_spdelta(t, &f, pc, &sp))
			sum += (uint32_t)sp;
		n = fpi_pclntab_frames(t, &f, pc, fr, 8);
		if (n > FPI_PCLNTAB_MAX_INLINE + 1)
			abort();
		for (size_t k = 0; k < n && k < 8; k++)
			sum += strlen(fr[k].name) + strlen(fr[k].file) + (uint32_t)fr[k].line;
	}
	return sum;
}

static void expect_frames(const struct fpi_pclntab *t, uint64_t pc, const char *want)
{
	struct fpi_pclntab_frame fr[8];
	struct fpi_pclntab_func f;
	char got[512] = "";
	size_t n, used = 0;

	if (!fpi_pclntab_find(t, pc, &f)) {
		CHECK(0, "no function at %#" PRIx64, pc);
		return;
	}
	n = fpi_pclntab_frames(t, &f, pc, fr, 8);
	for (size_t k = 0; k < n && k < 8; k++)
		used += snprintf(got + used, sizeof(got) - used, "%s%s %s:%d%s", k ? " <- " : "",
				 fr[k].name, fr[k].file, fr[k].line, fr[k].inlined ? "" : " (physical)");
	CHECK(strcmp(got, want) == 0, "frames at %#" PRIx64 ": got '%s', want '%s'", pc, got, want);
}

static void test_synth(uint32_t magic, bool gofunc_inside)
{
	struct fpi_pclntab_source src;
	struct fpi_pclntab_func f;
	struct fpi_pclntab_info info;
	struct fpi_pclntab *t;
	struct fpi_error *err;
	struct synth s;
	const char *file;
	int32_t line, sp;
	char nb[64];
	unsigned int opened = 0, refused = 0;

	build_synth(&s, magic, gofunc_inside);
	synth_source(&s, s.pcln.p, s.pcln.len, &src);
	err = fpi_pclntab_open(&src, &t);
	CHECK(!err, "open %#x: %s", magic, err ? err->message : "");
	if (err) {
		fpi_error_destroy(err);
		return;
	}
	fpi_pclntab_get_info(t, &info);
	CHECK_EQ(info.magic, magic, "magic");
	CHECK_EQ(info.nfunc, NFUNC, "nfunc");
	CHECK_EQ(info.pc_quantum, 1, "quantum");
	CHECK_EQ(info.ptr_size, 8, "ptrsize");
	CHECK_EQ(info.text, TEXT, "text");
	CHECK_EQ(info.etext, TEXT + 0x80, "etext");
	CHECK(info.has_inline, "inline trees");
	CHECK_EQ(info.has_start_line, magic == 0xfffffff1, "startLine");

	/* lookup: every pc to its function, none outside */
	CHECK(!fpi_pclntab_find(t, TEXT - 1, &f), "below text");
	CHECK(!fpi_pclntab_find(t, TEXT + 0x80, &f), "at etext");
	CHECK(!fpi_pclntab_find(t, 0, &f), "pc 0");
	for (uint32_t off = 0; off < 0x80; off++) {
		int want = off < 0x40 ? F_A : off < 0x70 ? F_B : F_G;

		if (!fpi_pclntab_find(t, TEXT + off, &f)) {
			CHECK(0, "no function at +%#x", off);
			continue;
		}
		CHECK_EQ(f.index, want, "index at +%#x", off);
		CHECK_EQ(f.entry, TEXT + fentry[want], "entry at +%#x", off);
		CHECK_EQ(f.end, TEXT + fentry[want + 1], "end at +%#x", off);
		CHECK(strcmp(f.name, fname[want]) == 0, "name at +%#x: %s", off, f.name);
	}
	fpi_pclntab_find(t, TEXT, &f);
	CHECK_EQ(f.flag, 1, "flag");
	CHECK_EQ(f.args, 0, "args");
	CHECK_EQ(f.start_line, magic == 0xfffffff1 ? 5 : 0, "start line");
	fpi_pclntab_fileline(t, &f, TEXT + 0x0f, &file, &line);
	CHECK(strcmp(file, "/src/a.go") == 0 && line == 10, "a +0x0f: %s:%d", file, line);
	fpi_pclntab_fileline(t, &f, TEXT + 0x10, &file, &line);
	CHECK(strcmp(file, "/src/a.go") == 0 && line == 11, "a +0x10: %s:%d", file, line);
	fpi_pclntab_fileline(t, &f, TEXT + 0x3f, &file, &line);
	CHECK(strcmp(file, "/src/a.go") == 0 && line == 12, "a +0x3f: %s:%d", file, line);
	CHECK(fpi_pclntab_spdelta(t, &f, TEXT + 3, &sp) && sp == 0, "sp a +3: %d", sp);
	CHECK(fpi_pclntab_spdelta(t, &f, TEXT + 4, &sp) && sp == 0x18, "sp a +4: %d", sp);
	CHECK(fpi_pclntab_spdelta(t, &f, TEXT + 0x3c, &sp) && sp == 0, "sp a +0x3c: %d", sp);
	CHECK(fpi_pclntab_pcdata(t, &f, 2, TEXT + 4) == -1, "no pcdata in a");
	expect_frames(t, TEXT + 0x20, "main.a /src/a.go:12 (physical)");

	fpi_pclntab_find(t, TEXT + 0x40, &f);
	CHECK_EQ(f.args, 16, "args b");
	/* file index 2 has no name in the CU: "?" with the line, as funcfile */
	fpi_pclntab_fileline(t, &f, TEXT + 0x40 + 0x28, &file, &line);
	CHECK(strcmp(file, "?") == 0 && line == 21, "b +0x28: %s:%d", file, line);
	expect_frames(t, TEXT + 0x40 + 0x04, "main.b /src/b.go:20 (physical)");
	expect_frames(t, TEXT + 0x40 + 0x14, "main.inlA /src/b.go:30 <- main.b /src/b.go:20 (physical)");
	expect_frames(t, TEXT + 0x40 + 0x1a,
		      "main.inlB /src/b.go:30 <- main.inlA /src/b.go:30 <- main.b /src/b.go:20 (physical)");
	{
		struct fpi_pclntab_frame fr[3];

		CHECK_EQ(fpi_pclntab_frames(t, &f, TEXT + 0x40 + 0x1a, fr, 1), 3, "count when cut");
		fpi_pclntab_frames(t, &f, TEXT + 0x40 + 0x1a, fr, 3);
		CHECK_EQ(fr[0].funcid, magic == 0xfffffff1 ? 21 : 0, "inlined funcID");
		CHECK_EQ(fr[0].start_line, magic == 0xfffffff1 ? 101 : 0, "inlined startLine");
		CHECK(fr[0].inlined && fr[1].inlined && !fr[2].inlined, "inlined flags");
	}

	fpi_pclntab_find(t, TEXT + 0x75, &f);
	CHECK_EQ(f.funcid, 7, "funcid g");
	fpi_pclntab_fileline(t, &f, TEXT + 0x75, &file, &line);
	CHECK(strcmp(file, "?") == 0 && line == 0, "no tables: %s:%d", file, line);
	CHECK(!fpi_pclntab_spdelta(t, &f, TEXT + 0x75, &sp), "no pcsp");
	CHECK(strcmp(fpi_pclntab_print_name(f.name, nb, sizeof(nb)), "main.g[...]") == 0,
	      "print name %s", fpi_pclntab_print_name(f.name, nb, sizeof(nb)));
	CHECK(strcmp(fpi_pclntab_print_name("a.b", nb, sizeof(nb)), "a.b") == 0, "plain name");
	CHECK(strcmp(fpi_pclntab_print_name("a.F[x].m[y]-fm", nb, sizeof(nb)), "a.F[...]-fm") == 0,
	      "name with two brackets: %s", nb);
	exercise(t);
	fpi_pclntab_destroy(t);

	/* every truncation: refused with a message, or a table whose answers
	 * stay in bounds */
	for (size_t len = 0; len <= s.pcln.len; len++) {
		uint8_t *copy = malloc(len ? len : 1);

		memcpy(copy, s.pcln.p, len);
		synth_source(&s, copy, len, &src);
		err = fpi_pclntab_open(&src, &t);
		if (err) {
			CHECK(err->message && err->message[0], "message at %zu", len);
			fpi_error_destroy(err);
			refused++;
		} else {
			exercise(t);
			fpi_pclntab_destroy(t);
			opened++;
		}
		free(copy);
	}
	CHECK(refused > 0 && opened > 0, "truncations: %u refused, %u opened", refused, opened);
	/* every byte damaged, in the table and in the inline tree */
	for (size_t i = 0; i < s.pcln.len + s.rodata.len; i++) {
		struct buf *b = i < s.pcln.len ? &s.pcln : &s.rodata;
		size_t k = i < s.pcln.len ? i : i - s.pcln.len;

		for (int v = 0; v < 3; v++) {
			uint8_t was = b->p[k];

			b->p[k] = v == 0 ? 0xff : v == 1 ? 0x00 : was ^ 0x80;
			synth_source(&s, s.pcln.p, s.pcln.len, &src);
			if (!(err = fpi_pclntab_open(&src, &t))) {
				exercise(t);
				fpi_pclntab_destroy(t);
			}
			fpi_error_destroy(err);
			b->p[k] = was;
		}
	}
	free(s.pcln.p);
	free(s.rodata.p);
}

static void test_refusals(void)
{
	struct fpi_pclntab_source src = { 0 };
	struct fpi_pclntab *t = NULL;
	struct fpi_error *err;
	struct synth s;

	err = fpi_pclntab_open(&src, &t);
	CHECK(err && err->code == FPI_ERR_FORMAT, "no data");
	fpi_error_destroy(err);

	build_synth(&s, 0xfffffff1, true);
	synth_source(&s, s.pcln.p, s.pcln.len, &src);
	set_u32(&s.pcln, 0, 0xfffffffa);
	err = fpi_pclntab_open(&src, &t);
	CHECK(err && strstr(err->message, "1.2-1.17"), "Go 1.16 magic: %s", err ? err->message : "");
	fpi_error_destroy(err);
	set_u32(&s.pcln, 0, 0xfffffff1);
	/* unsorted entries */
	{
		size_t ft = s.pcln.p[8 + 7 * 8] | s.pcln.p[8 + 7 * 8 + 1] << 8;
		uint32_t save;

		memcpy(&save, s.pcln.p + ft + 8, 4);
		set_u32(&s.pcln, ft + 8, 0x7f);
		err = fpi_pclntab_open(&src, &t);
		CHECK(err && strstr(err->message, "not sorted"), "unsorted: %s", err ? err->message : "");
		fpi_error_destroy(err);
		set_u32(&s.pcln, ft + 8, save);
	}
	/* an inline tree whose parent pcs lead back into itself ends at the cap */
	{
		struct fpi_pclntab_frame fr[4];
		struct fpi_pclntab_func f;
		uint8_t *tree;

		err = fpi_pclntab_open(&src, &t);
		CHECK(!err, "open");
		fpi_error_destroy(err);
		tree = s.pcln.p + (s.gofunc - PCLN_ADDR) + 8;
		set_u32(&s.pcln, tree - s.pcln.p + 16 + 8, 0x1a); /* inlB's parentPc: itself */
		if (t && fpi_pclntab_find(t, TEXT + 0x5a, &f))
			CHECK_EQ(fpi_pclntab_frames(t, &f, TEXT + 0x5a, fr, 4), FPI_PCLNTAB_MAX_INLINE + 1,
				 "cycle cut at the cap");
		fpi_pclntab_destroy(t);
	}
	free(s.pcln.p);
	free(s.rodata.p);
}

/* ---------------- the fuzz seeds ---------------- */

static int write_seeds(const char *dir)
{
	static const uint32_t magics[] = { 0xfffffff0, 0xfffffff1 };
	int n = 0;

	for (int m = 0; m < 2; m++) {
		struct synth s;
		char path[512];
		FILE *fp;

		build_synth(&s, magics[m], true);
		/* whole, and cut inside the functab */
		for (int cut = 0; cut < 2; cut++) {
			size_t len = cut ? s.pcln.len - 40 : s.pcln.len;

			/* tests/fuzz_pclntab.c's input: go:func.*'s offset, the table */
			uint32_t gofunc_off = (uint32_t)(s.gofunc - PCLN_ADDR);

			snprintf(path, sizeof(path), "%s/synth-%x%s", dir, magics[m], cut ? "-cut" : "");
			if (!(fp = fopen(path, "wb")) || fwrite(&gofunc_off, 4, 1, fp) != 1 ||
			    fwrite(s.pcln.p, 1, len, fp) != len || fclose(fp)) {
				perror(path);
				return 1;
			}
			n++;
		}
		free(s.pcln.p);
		free(s.rodata.p);
	}
	printf("wrote %d seeds to %s\n", n, dir);
	return 0;
}

/* ---------------- against real programs ---------------- */

static struct fpi_pclntab *open_exe(const char *exe)
{
	struct fpi_pclntab *t;
	struct fpi_error *err = fpi_pclntab_open_file(exe, &t);

	if (err) {
		printf("open %s: %s\n", exe, err->message);
		fpi_error_destroy(err);
		exit(1);
	}
	return t;
}

/* split a line of tab-separated fields in place */
static int fields(char *line, char **f, int max)
{
	int n = 0;

	line[strcspn(line, "\n")] = '\0';
	while (n < max) {
		f[n++] = line;
		line = strchr(line, '\t');
		if (!line)
			break;
		*line++ = '\0';
	}
	return n;
}

static FILE *open_in(const char *path)
{
	FILE *fp = fopen(path, "r");

	if (!fp) {
		perror(path);
		exit(1);
	}
	return fp;
}

/* debug/gosym's functions and file:line (tests/targets/gosym). gosym says
 * "" and -1 where the runtime says "?" and 0 (no table for the pc). */
static int check_oracle(const char *exe, const char *path)
{
	struct fpi_pclntab *t = open_exe(exe);
	struct fpi_pclntab_info info;
	struct fpi_pclntab_func f;
	FILE *fp = open_in(path);
	char *line = NULL, *fl[5];
	size_t cap = 0;
	uint64_t nf = 0, npc = 0, nunknown = 0;

	fpi_pclntab_get_info(t, &info);
	while (getline(&line, &cap, fp) > 0) {
		int n = fields(line, fl, 5);

		if (n == 4 && strcmp(fl[0], "F") == 0) {
			uint64_t entry = strtoull(fl[1], NULL, 16), end = strtoull(fl[2], NULL, 16);
			bool ok = fpi_pclntab_func_at(t, nf, &f);

			CHECK(ok, "function %" PRIu64 " (%s)", nf, fl[3]);
			if (ok) {
				CHECK_EQ(f.entry, entry, "entry of %s", fl[3]);
				CHECK_EQ(f.end, end, "end of %s", fl[3]);
				CHECK(strcmp(f.name, fl[3]) == 0, "name at %#" PRIx64 ": %s, want %s",
				      entry, f.name, fl[3]);
			}
			/* and the lookup finds it from its entry */
			ok = fpi_pclntab_find(t, entry, &f);
			CHECK(ok && f.index == nf, "find %#" PRIx64 " (%s)", entry, fl[3]);
			nf++;
		} else if (n == 4 && strcmp(fl[0], "L") == 0) {
			uint64_t pc = strtoull(fl[1], NULL, 16);
			const char *file, *wfile = fl[2][0] ? fl[2] : "?";
			long wline = strtol(fl[3], NULL, 10);
			int32_t ln;

			if (wline == -1)
				wline = 0;
			if (!fpi_pclntab_find(t, pc, &f)) {
				CHECK(0, "no function at %#" PRIx64, pc);
				continue;
			}
			/* gosym reads a table at offset 0 (the linker's marker
			 * functions: go:textfipsstart); the runtime takes 0 for
			 * "none" */
			if (f.pcfile == 0 || f.pcln == 0) {
				wfile = "?";
				wline = 0;
			}
			fpi_pclntab_fileline(t, &f, pc, &file, &ln);
			CHECK(strcmp(file, wfile) == 0 && ln == wline,
			      "%#" PRIx64 " (%s): %s:%d, want %s:%ld", pc, f.name, file, ln, wfile, wline);
			nunknown += wline == 0;
			npc++;
		}
	}
	CHECK_EQ(nf, info.nfunc, "functions in the oracle");
	printf("oracle %s: %" PRIu64 " functions (%s), %" PRIu64 " pcs file:line (%" PRIu64
	       " with no line), %s\n", exe, nf, info.versions, npc, nunknown,
	       info.has_inline ? "inline trees" : "no inline trees");
	free(line);
	fclose(fp);
	fpi_pclntab_destroy(t);
	return unit_done("unit_pclntab --oracle");
}

/* The program's own stacks (tests/targets/pcln): lines "PC pc\tfunction\t
 * file\tline", one per pc of runtime.Callers, a blank line after each
 * stack. runtime.Callers gives each inlined frame a pc of its own (the
 * call site + 1) and CallersFrames resolves one frame per pc at pc - 1
 * (unless pc is an entry): the innermost frame there. Besides, the frames
 * at a physical frame's pc are those the next pcs give. */
struct cframe {
	uint64_t pc;
	char name[256], file[512];
	int line;
};

/* The funcID a function named name has in this binary (the numbering
 * differs across versions), or -1. */
static int funcid_named(const struct fpi_pclntab *t, const char *name, bool suffix)
{
	struct fpi_pclntab_info info;
	struct fpi_pclntab_func f;
	size_t nl = strlen(name);

	fpi_pclntab_get_info(t, &info);
	for (uint64_t i = 0; i < info.nfunc; i++) {
		size_t l;

		if (!fpi_pclntab_func_at(t, i, &f))
			continue;
		l = strlen(f.name);
		if (suffix ? (l > nl && strcmp(f.name + l - nl, name) == 0 && f.funcid)
			   : strcmp(f.name, name) == 0)
			return f.funcid;
	}
	return -1;
}

static bool find_named(const struct fpi_pclntab *t, const char *name,
		       struct fpi_pclntab_func *ret)
{
	struct fpi_pclntab_info info;

	fpi_pclntab_get_info(t, &info);
	for (uint64_t i = 0; i < info.nfunc; i++)
		if (fpi_pclntab_func_at(t, i, ret) && strcmp(ret->name, name) == 0)
			return true;
	return false;
}

static int check_callers(const char *exe, const char *path)
{
	struct fpi_pclntab *t = open_exe(exe);
	FILE *fp = open_in(path);
	char *line = NULL, *fl[5];
	size_t cap = 0;
	struct cframe st[64];
	int nst = 0;
	uint64_t nstacks = 0, npcs = 0, ninl = 0, nchains = 0, nelided = 0, bias = 0;
	/* runtime.elideWrapperCalling: a wrapper frame is left out of
	 * Callers unless it called a panic function */
	int wrapper = funcid_named(t, "-fm", true);
	int panics[3] = { funcid_named(t, "runtime.gopanic", false),
			  funcid_named(t, "runtime.sigpanic", false),
			  funcid_named(t, "runtime.panicwrap", false) };

	CHECK(wrapper > 0, "the wrapper funcID (of a -fm function)");
	for (;;) {
		ssize_t r = getline(&line, &cap, fp);

		if (r > 0 && strncmp(line, "MAIN ", 5) == 0) {
			uint64_t run = strtoull(line + 5, NULL, 16);
			struct fpi_pclntab_func m;

			/* a PIE runs elsewhere than it is linked */
			if (find_named(t, "main.main", &m))
				bias = run - m.entry;
			continue;
		}
		if (r > 0 && strncmp(line, "PC ", 3) == 0) {
			int n = fields(line + 3, fl, 5);

			if (n == 4 && nst < 64) {
				st[nst].pc = strtoull(fl[0], NULL, 16) - bias;
				snprintf(st[nst].name, sizeof(st[nst].name), "%s", fl[1]);
				snprintf(st[nst].file, sizeof(st[nst].file), "%s", fl[2]);
				st[nst].line = atoi(fl[3]);
				nst++;
			}
			continue;
		}
		if (r > 0 && line[0] != '\n')
			continue;
		/* a stack is complete */
		int callee = 0;

		for (int i = 0; i < nst;) {
			struct fpi_pclntab_frame fr[16];
			struct fpi_pclntab_func f;
			uint64_t pc = st[i].pc;
			char nb[256];
			size_t n;
			int used = 0;

			if (!fpi_pclntab_find(t, pc - 1, &f)) {
				CHECK(0, "no function at %#" PRIx64 " (%s)", pc, st[i].name);
				i++;
				continue;
			}
			if (pc > f.entry)
				pc--;
			n = fpi_pclntab_frames(t, &f, pc, fr, 16);
			for (size_t k = 0; k < n && k < 16 && i + used < nst; k++) {
				const struct cframe *c = &st[i + used];
				const char *name = fpi_pclntab_print_name(fr[k].name, nb, sizeof(nb));
				bool elide = fr[k].funcid == wrapper && callee != panics[0] &&
					     callee != panics[1] && callee != panics[2];

				callee = fr[k].funcid;
				if (elide) {
					nelided++;
					continue;
				}
				CHECK(strcmp(name, c->name) == 0 && strcmp(fr[k].file, c->file) == 0 &&
				      fr[k].line == c->line,
				      "pc %#" PRIx64 " frame %zu: %s %s:%d, want %s %s:%d (pc %#" PRIx64 ")",
				      st[i].pc, k, name, fr[k].file, fr[k].line, c->name, c->file, c->line,
				      c->pc);
				/* an outer inlined frame's own pc is its call site + 1:
				 * the frames from there are the rest of this list */
				if (k > 0) {
					struct fpi_pclntab_frame fk[16];
					struct fpi_pclntab_func g;
					size_t nk = fpi_pclntab_find(t, c->pc - 1, &g) ?
						fpi_pclntab_frames(t, &g, c->pc - 1, fk, 16) : 0;

					CHECK(nk == n - k && g.entry == f.entry,
					      "pc %#" PRIx64 ": %zu frames, want %zu", c->pc, nk, n - k);
					ninl++;
				}
				npcs++;
				used++;
			}
			nchains++;
			i += used ? used : 1;
		}
		nstacks += nst > 0;
		nst = 0;
		if (r <= 0)
			break;
	}
	printf("callers %s: %" PRIu64 " stacks, %" PRIu64 " pcs (%" PRIu64
	       " of inlined callers) in %" PRIu64 " physical frames, %" PRIu64
	       " wrapper frames elided, load bias %#" PRIx64 "\n",
	       exe, nstacks, npcs, ninl, nchains, nelided, bias);
	CHECK(nstacks > 0 && ninl > 0, "stacks with inlined frames compared");
	free(line);
	fclose(fp);
	fpi_pclntab_destroy(t);
	return unit_done("unit_pclntab --callers");
}

/* The CFA DWARF says at pc, as rsp + offset; false when it says otherwise. */
static bool dwarf_cfa(Dwarf_CFI *cfi, uint64_t pc, int64_t *off)
{
	Dwarf_Frame *frame;
	Dwarf_Op *ops;
	size_t nops;
	bool ok = false;

	if (dwarf_cfi_addrframe(cfi, pc, &frame) != 0)
		return false;
	if (dwarf_frame_cfa(frame, &ops, &nops) == 0 && nops == 1) {
		if (ops[0].atom == DW_OP_bregx && ops[0].number == 7) {
			*off = (int64_t)ops[0].number2;
			ok = true;
		} else if (ops[0].atom == DW_OP_breg7) {
			*off = (int64_t)ops[0].number;
			ok = true;
		}
	}
	free(frame);
	return ok;
}

static int check_cfa(const char *exe, unsigned int stride)
{
	struct fpi_pclntab *t = open_exe(exe);
	struct fpi_pclntab_info info;
	struct fpi_pclntab_func f;
	uint64_t npc = 0, nnocfi = 0, nnopcsp = 0, nfunc = 0;
	Dwarf_CFI *cfi;
	Dwarf *dw;
	Elf *elf;
	int fd;

	fd = open(exe, O_RDONLY);
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	dw = elf ? dwarf_begin_elf(elf, DWARF_C_READ, NULL) : NULL;
	cfi = dw ? dwarf_getcfi(dw) : NULL;
	if (!cfi) {
		printf("%s: no DWARF CFI: %s\n", exe, dwarf_errmsg(-1));
		return 1;
	}
	fpi_pclntab_get_info(t, &info);
	for (uint64_t i = 0; i < info.nfunc; i++) {
		bool counted = false;

		if (!fpi_pclntab_func_at(t, i, &f)) {
			CHECK(0, "function %" PRIu64, i);
			continue;
		}
		for (uint64_t pc = f.entry; pc < f.end; pc += stride) {
			int32_t sp;
			int64_t cfa;

			if (!fpi_pclntab_spdelta(t, &f, pc, &sp)) {
				nnopcsp++; /* padding after the code */
				continue;
			}
			if (!dwarf_cfa(cfi, pc, &cfa)) {
				nnocfi++;
				continue;
			}
			CHECK(cfa == (int64_t)sp + info.ptr_size,
			      "%s+%#" PRIx64 ": CFA rsp%+" PRId64 ", pcsp %d", f.name, pc - f.entry, cfa, sp);
			npc++;
			if (!counted)
				nfunc++;
			counted = true;
		}
	}
	printf("cfa %s: %" PRIu64 " pcs in %" PRIu64 " functions hold CFA = SP + pcsp + %u "
	       "(%" PRIu64 " pcs without CFI, %" PRIu64 " without pcsp)\n", exe, npc, nfunc,
	       info.ptr_size, nnocfi, nnopcsp);
	CHECK(npc > 1000, "pcs compared");
	dwarf_end(dw);
	elf_end(elf);
	close(fd);
	fpi_pclntab_destroy(t);
	return unit_done("unit_pclntab --cfa");
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* What a walker does per frame: find, SP delta, frames with file:line. */
static int bench(const char *exe)
{
	struct fpi_pclntab *t = open_exe(exe);
	struct fpi_pclntab_info info;
	struct fpi_pclntab_func f;
	struct fpi_pclntab_frame fr[16];
	uint64_t *pcs, n = 1 << 20, seed = 88172645463325252ull, sum = 0;
	double t0, t1, t2, t3;

	fpi_pclntab_get_info(t, &info);
	pcs = malloc(n * sizeof(*pcs));
	for (uint64_t i = 0; i < n; i++) {
		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		pcs[i] = info.text + seed % (info.etext - info.text);
	}
	t0 = now_ns();
	for (uint64_t i = 0; i < n; i++)
		sum += fpi_pclntab_find(t, pcs[i], &f) ? f.entry : 0;
	t1 = now_ns();
	for (uint64_t i = 0; i < n; i++) {
		int32_t sp;

		if (fpi_pclntab_find(t, pcs[i], &f) && fpi_pclntab_spdelta(t, &f, pcs[i], &sp))
			sum += sp;
	}
	t2 = now_ns();
	for (uint64_t i = 0; i < n; i++) {
		int32_t sp;

		if (fpi_pclntab_find(t, pcs[i], &f)) {
			fpi_pclntab_spdelta(t, &f, pcs[i], &sp);
			sum += fpi_pclntab_frames(t, &f, pcs[i], fr, 16) + fr[0].line;
		}
	}
	t3 = now_ns();
	printf("bench %s: %" PRIu64 " functions, %" PRIu64 " random pcs: find %.0f ns, "
	       "find+spdelta %.0f ns, find+spdelta+frames (file:line) %.0f ns (%" PRIu64 ")\n",
	       exe, info.nfunc, n, (t1 - t0) / n, (t2 - t1) / n, (t3 - t2) / n, sum & 1);
	free(pcs);
	fpi_pclntab_destroy(t);
	return 0;
}

int main(int argc, char **argv)
{
	elf_version(EV_CURRENT);
	if (argc == 4 && strcmp(argv[1], "--oracle") == 0)
		return check_oracle(argv[2], argv[3]);
	if (argc == 4 && strcmp(argv[1], "--callers") == 0)
		return check_callers(argv[2], argv[3]);
	if (argc == 4 && strcmp(argv[1], "--cfa") == 0)
		return check_cfa(argv[2], (unsigned int)atoi(argv[3]) ?: 1);
	if (argc == 3 && strcmp(argv[1], "--bench") == 0)
		return bench(argv[2]);
	if (argc == 3 && strcmp(argv[1], "--write-seeds") == 0)
		return write_seeds(argv[2]);
	if (argc != 1) {
		fprintf(stderr, "usage: unit_pclntab [--oracle EXE FILE | --callers EXE FILE | "
			"--cfa EXE STRIDE | --bench EXE | --write-seeds DIR]\n");
		return 2;
	}
	test_synth(0xfffffff0, false);
	test_synth(0xfffffff0, true);
	test_synth(0xfffffff1, false);
	test_synth(0xfffffff1, true);
	test_refusals();
	return unit_done("unit_pclntab");
}
