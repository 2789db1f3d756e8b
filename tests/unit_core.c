/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit test of the core-file target (inspector/target_core.c).
 *
 *   unit_core                                 synthetic cores only
 *   unit_core CORE [EXE|- [ADDR [THREADS]]] [--other EXE2]
 *                                             also a real core: threads
 *                                             (THREADS of them, if given),
 *                                             runtime.buildVersion at ADDR
 *                                             (hex, from nm EXE), refusals of
 *                                             damaged copies and of EXE2
 *                                             (--addr, --threads: the same)
 *   unit_core --write-seeds DIR               synthetic fuzz seeds
 *   unit_core --shrink CORE OUT               CORE without memory contents:
 *                                             headers and notes only (a seed)
 *
 * The synthetic cores are built byte by byte here, so every check of the
 * parser (registers in DWARF order, reads straddling segments, the file
 * fallback, build ID matching, truncation) runs without a kernel or GDB.
 * The fuzz target includes this file for the same builders. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "target.h"


/* ------------------------------------------------------------- builders */

struct buf {
	unsigned char *p;
	size_t len, cap;
};

static void buf_put(struct buf *b, const void *data, size_t len)
{
	if (b->len + len > b->cap) {
		size_t cap = b->cap ? b->cap : 256;

		while (cap < b->len + len)
			cap *= 2;
		b->p = realloc(b->p, cap);
		if (!b->p)
			abort();
		b->cap = cap;
	}
	if (data)
		memcpy(b->p + b->len, data, len);
	else
		memset(b->p + b->len, 0, len);
	b->len += len;
}

static void buf_u32(struct buf *b, uint32_t v) { buf_put(b, &v, 4); }
static void buf_u64(struct buf *b, uint64_t v) { buf_put(b, &v, 8); }

static void buf_note(struct buf *b, const char *name, uint32_t type, const void *desc, size_t len)
{
	size_t nlen = strlen(name) + 1;

	buf_u32(b, (uint32_t)nlen);
	buf_u32(b, (uint32_t)len);
	buf_u32(b, type);
	buf_put(b, name, nlen);
	buf_put(b, NULL, ((nlen + 3) & ~3u) - nlen);
	buf_put(b, desc, len);
	buf_put(b, NULL, ((len + 3) & ~3u) - len);
}

#define EXE_VADDR 0x400000ull
#define EXE_SIZE 0x2000u
#define EXE_NOTE_OFF 0x200u

static unsigned char exe_pattern(size_t i) { return (unsigned char)(i * 7 + 3); }

/* A small static "executable": one PT_LOAD of two pages at 0x400000, a GNU
 * build ID note in the first page (all bytes id_byte), a pattern in the
 * second. */
static void build_exe_for(struct buf *b, unsigned char id_byte, uint16_t machine)
{
	Elf64_Ehdr eh = { 0 };
	Elf64_Phdr ph[2] = { { 0 } };
	unsigned char id[20];

	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = ET_EXEC;
	eh.e_machine = machine;
	eh.e_version = EV_CURRENT;
	eh.e_entry = EXE_VADDR + 0x1000;
	eh.e_phoff = sizeof(eh);
	eh.e_ehsize = sizeof(eh);
	eh.e_phentsize = sizeof(Elf64_Phdr);
	eh.e_phnum = 2;
	ph[0] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_flags = PF_R | PF_X, .p_offset = 0, .p_vaddr = EXE_VADDR,
			      .p_paddr = EXE_VADDR, .p_filesz = EXE_SIZE, .p_memsz = EXE_SIZE, .p_align = 0x1000 };
	ph[1] = (Elf64_Phdr){ .p_type = PT_NOTE, .p_flags = PF_R, .p_offset = EXE_NOTE_OFF,
			      .p_vaddr = EXE_VADDR + EXE_NOTE_OFF, .p_filesz = 36, .p_memsz = 36, .p_align = 4 };
	b->len = 0;
	buf_put(b, &eh, sizeof(eh));
	buf_put(b, ph, sizeof(ph));
	buf_put(b, NULL, EXE_NOTE_OFF - b->len);
	memset(id, id_byte, sizeof(id));
	buf_note(b, "GNU", NT_GNU_BUILD_ID, id, sizeof(id));
	buf_put(b, NULL, 0x1000 - b->len);
	for (size_t i = 0x1000; i < EXE_SIZE; i++) {
		unsigned char c = exe_pattern(i);

		buf_put(b, &c, 1);
	}
}

struct synth {
	const char *exe_path;     /* NT_FILE's name for the executable */
	const struct buf *exe;    /* its bytes, for the dumped first page */
	bool dump_exe_page;       /* kernel style: first page of the exe dumped */
	bool no_file_note, no_auxv;
	uint64_t file_count;      /* 0: right count; else claimed count */
	uint32_t prstatus_size;   /* 0: 336 */
	int16_t signal;           /* the first thread's pr_cursig */
	bool arm64;               /* EM_AARCH64: user_pt_regs, 34 words */
	bool siginfo;             /* an NT_SIGINFO for it, si_addr 0xdead0 */
};

#define SEG_A 0x10000ull
#define SEG_B 0x11000ull
#define SEG_ANON 0x20000ull
#define EXECFN_ADDR (SEG_A + 0x800)
#define GOSTR_ADDR (SEG_A + 0xe00)
#define GOSTR_DATA (SEG_A + 0xf00)
#define GOSTR "go1.synthetic"

static unsigned char seg_a_byte(size_t i) { return (unsigned char)i; }
static unsigned char seg_b_byte(size_t i) { return (unsigned char)(0xb0 ^ i); }

/* An amd64 ET_CORE header with phnum program headers right after it. */
static void build_exe(struct buf *b, unsigned char id_byte)
{
	build_exe_for(b, id_byte, EM_X86_64);
}

static void core_ehdr(Elf64_Ehdr *eh, uint16_t phnum)
{
	memset(eh, 0, sizeof(*eh));
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_CORE;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_phoff = sizeof(*eh);
	eh->e_ehsize = sizeof(*eh);
	eh->e_phentsize = sizeof(Elf64_Phdr);
	eh->e_phnum = phnum;
}

/* pr_reg word k holds 0x1000 + k; amd64's is 336 bytes (27 words),
 * arm64's 392 (34 words and pr_fpvalid). */
static void prstatus(struct buf *b, int tid, uint32_t size, int16_t cursig, bool arm64)
{
	unsigned char d[392] = { 0 };
	int words = arm64 ? 34 : 27;

	memcpy(d + 12, &cursig, 2);
	memcpy(d + 32, &tid, 4);
	for (int k = 0; k < words; k++) {
		uint64_t v = 0x1000 + k;

		memcpy(d + 112 + 8 * k, &v, 8);
	}
	buf_note(b, "CORE", NT_PRSTATUS, d, size ? size : arm64 ? 392 : 336);
}

/* An ET_CORE with one PT_NOTE (two threads, prpsinfo, auxv, NT_FILE) and
 * four PT_LOADs: two adjacent dumped pages, an anonymous range that was not
 * dumped, and the executable's mapping with its first page dumped or not. */
static void build_core(struct buf *b, const struct synth *o)
{
	struct buf notes = { 0 };
	Elf64_Ehdr eh = { 0 };
	Elf64_Phdr ph[5];
	unsigned char psinfo[136] = { 0 };
	int pid = 100;
	size_t data_off;

	prstatus(&notes, 101, o->prstatus_size, o->signal, o->arm64);
	if (o->siginfo) {
		unsigned char si[128] = { 0 };
		int signo = o->signal;
		uint64_t addr = 0xdead0;

		memcpy(si, &signo, 4);
		memcpy(si + 16, &addr, 8);
		buf_note(&notes, "CORE", NT_SIGINFO, si, sizeof(si));
	}
	memcpy(psinfo + 24, &pid, 4);
	memcpy(psinfo + 40, "synth", 5);
	buf_note(&notes, "CORE", NT_PRPSINFO, psinfo, sizeof(psinfo));
	prstatus(&notes, 102, o->prstatus_size, 0, o->arm64);
	if (!o->no_auxv) {
		uint64_t auxv[] = { AT_PHDR, EXE_VADDR + 64, AT_ENTRY, EXE_VADDR + 0x1000, AT_EXECFN, EXECFN_ADDR,
				    AT_NULL, 0 };

		buf_note(&notes, "CORE", NT_AUXV, auxv, sizeof(auxv));
	}
	if (!o->no_file_note) {
		struct buf f = { 0 };

		buf_u64(&f, o->file_count ? o->file_count : 1);
		buf_u64(&f, 4096);
		buf_u64(&f, EXE_VADDR);
		buf_u64(&f, EXE_VADDR + EXE_SIZE);
		buf_u64(&f, 0);
		buf_put(&f, o->exe_path, strlen(o->exe_path) + 1);
		buf_note(&notes, "CORE", NT_FILE, f.p, f.len);
		free(f.p);
	}

	core_ehdr(&eh, 5);
	if (o->arm64)
		eh.e_machine = EM_AARCH64;

	size_t note_off = sizeof(eh) + sizeof(ph);
	data_off = (note_off + notes.len + 0xfff) & ~(size_t)0xfff;
	ph[0] = (Elf64_Phdr){ .p_type = PT_NOTE, .p_offset = note_off, .p_filesz = notes.len, .p_align = 4 };
	ph[1] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_flags = PF_R | PF_W, .p_offset = data_off, .p_vaddr = SEG_A,
			      .p_filesz = 0x1000, .p_memsz = 0x1000, .p_align = 0x1000 };
	ph[2] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_flags = PF_R | PF_W, .p_offset = data_off + 0x1000,
			      .p_vaddr = SEG_B, .p_filesz = 0x1000, .p_memsz = 0x1000, .p_align = 0x1000 };
	ph[3] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_flags = PF_R | PF_W, .p_offset = data_off + 0x2000,
			      .p_vaddr = SEG_ANON, .p_filesz = 0, .p_memsz = 0x2000, .p_align = 0x1000 };
	ph[4] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_flags = PF_R | PF_X, .p_offset = data_off + 0x2000,
			      .p_vaddr = EXE_VADDR, .p_filesz = o->dump_exe_page ? 0x1000 : 0,
			      .p_memsz = EXE_SIZE, .p_align = 0x1000 };
	b->len = 0;
	buf_put(b, &eh, sizeof(eh));
	buf_put(b, ph, sizeof(ph));
	buf_put(b, notes.p, notes.len);
	buf_put(b, NULL, data_off - b->len);
	for (size_t i = 0; i < 0x1000; i++) {
		unsigned char c = seg_a_byte(i);

		if (i >= EXECFN_ADDR - SEG_A && i < EXECFN_ADDR - SEG_A + 32)
			c = 0;
		buf_put(b, &c, 1);
	}
	memcpy(b->p + data_off + (EXECFN_ADDR - SEG_A), "/synthetic/execfn", 18);
	uint64_t gostr[2] = { GOSTR_DATA, strlen(GOSTR) };
	memcpy(b->p + data_off + (GOSTR_ADDR - SEG_A), gostr, sizeof(gostr));
	memcpy(b->p + data_off + (GOSTR_DATA - SEG_A), GOSTR, strlen(GOSTR));
	for (size_t i = 0; i < 0x1000; i++) {
		unsigned char c = seg_b_byte(i);

		buf_put(b, &c, 1);
	}
	if (o->dump_exe_page)
		buf_put(b, o->exe->p, 0x1000);
	free(notes.p);
}

/* Cores that are big where a parser could go quadratic: nph PT_NOTE
 * headers all naming the same notes (nthreads NT_PRSTATUS each), and an
 * NT_FILE of nfiles mappings. */
static void build_stress_core(struct buf *b, size_t nph, size_t nthreads, size_t nfiles)
{
	struct buf notes = { 0 };
	Elf64_Ehdr eh = { 0 };

	for (size_t i = 0; i < nthreads; i++)
		prstatus(&notes, (int)i + 1, 0, 0, false);
	if (nfiles) {
		struct buf f = { 0 };
		char name[32];

		buf_u64(&f, nfiles);
		buf_u64(&f, 4096);
		for (size_t i = 0; i < nfiles; i++) {
			buf_u64(&f, 0x10000000 + i * 0x2000);
			buf_u64(&f, 0x10000000 + i * 0x2000 + 0x1000);
			buf_u64(&f, i);
		}
		for (size_t i = 0; i < nfiles; i++) {
			snprintf(name, sizeof(name), "/lib/file%zu", i % 5000);
			buf_put(&f, name, strlen(name) + 1);
		}
		buf_note(&notes, "CORE", NT_FILE, f.p, f.len);
		free(f.p);
	}
	core_ehdr(&eh, (uint16_t)nph);
	b->len = 0;
	buf_put(b, &eh, sizeof(eh));
	for (size_t i = 0; i < nph; i++) {
		Elf64_Phdr ph = { .p_type = PT_NOTE, .p_offset = sizeof(eh) + nph * sizeof(ph),
				  .p_filesz = notes.len, .p_align = 4 };

		buf_put(b, &ph, sizeof(ph));
	}
	buf_put(b, notes.p, notes.len);
	free(notes.p);
}

static bool write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	bool ok = fd >= 0 && write(fd, data, len) == (ssize_t)len;

	if (fd >= 0)
		close(fd);
	return ok;
}

#ifndef UNIT_CORE_NO_MAIN

/* --------------------------------------------------------------- checks */

static int nchecks, nfailed;

#define CHECK(cond, ...)                                                       \
	do {                                                                   \
		nchecks++;                                                     \
		if (!(cond)) {                                                 \
			nfailed++;                                             \
			printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
			printf(__VA_ARGS__);                                   \
			printf("\n");                                          \
		}                                                              \
	} while (0)

static char tmpdir[] = "/tmp/unit_core.XXXXXX";

static char *tmp_path(const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", tmpdir, name) < 0)
		abort();
	return p;
}

static void remove_tmpdir(void)
{
	const char *names[] = { "exe", "exe2", "core", "bad", "trunc", "exe64", "core64", "exe86", NULL };

	for (int i = 0; names[i]; i++) {
		char *p = tmp_path(names[i]);

		unlink(p);
		free(p);
	}
	rmdir(tmpdir);
}

/* Open that must fail with code (0: any code) and, if want is not NULL, a
 * message containing want. */
static void expect_refusal(const char *what, const char *core, const char *exe, int code, const char *want)
{
	struct fpi_target *t = NULL;
	struct fpi_error *err = fpi_target_open_core(core, exe, &t);

	CHECK(err != NULL, "%s: accepted", what);
	if (!err) {
		fpi_target_destroy(t);
		return;
	}
	printf("  refused %-28s %s\n", what, err->message);
	CHECK(t == NULL, "%s: target set on error", what);
	CHECK(!code || (int)err->code == code, "%s: code %d, want %d", what, err->code, code);
	CHECK(!want || strstr(err->message, want), "%s: message lacks \"%s\"", what, want);
	fpi_error_destroy(err);
}

static bool read_ok(struct fpi_target *t, uint64_t addr, void *buf, size_t len)
{
	struct fpi_error *err = fpi_target_read(t, addr, buf, len);

	if (!err)
		return true;
	CHECK(err->code == FPI_ERR_FAULT, "read error code %d", err->code);
	fpi_error_destroy(err);
	return false;
}

/* Reads a Go string header {ptr, len} at addr. */
static bool read_go_string(struct fpi_target *t, uint64_t addr, char *out, size_t cap)
{
	uint64_t hdr[2];

	if (!read_ok(t, addr, hdr, sizeof(hdr)) || hdr[1] == 0 || hdr[1] >= cap)
		return false;
	if (!read_ok(t, hdr[0], out, hdr[1]))
		return false;
	out[hdr[1]] = '\0';
	return true;
}

/* An aarch64 core as qemu-user writes them: NT_PRSTATUS with user_pt_regs,
 * NT_AUXV, no NT_FILE, the executable's text not dumped: the text comes
 * from EXE, placed by AT_ENTRY. */
static void test_arm64(void)
{
	struct buf exe = { 0 }, core = { 0 };
	char *exe_path = tmp_path("exe64"), *core_path = tmp_path("core64"), *x86_path = tmp_path("exe86");
	struct synth o = { .exe_path = exe_path, .no_file_note = true, .arm64 = true };
	struct fpi_target *t = NULL;
	struct fpi_error *err;
	unsigned char got[64], want[64];

	printf("synthetic arm64 core\n");
	build_exe_for(&exe, 0x33, EM_AARCH64);
	write_file(exe_path, exe.p, exe.len);
	build_core(&core, &o);
	write_file(core_path, core.p, core.len);
	err = fpi_target_open_core(core_path, exe_path, &t);
	CHECK(!err, "arm64 open: %s", err ? err->message : "");
	if (!err) {
		const struct fpi_regs *r = &t->threads[0].regs;

		CHECK(!strcmp(t->arch->name, "arm64"), "arch %s", t->arch->name);
		CHECK(t->nthreads == 2 && t->threads[0].tid == 101, "arm64 threads");
		/* user_pt_regs: x0-x30, sp, pc, pstate; word k = 0x1000 + k */
		for (int n = 0; n < 29; n++)
			CHECK(r->r[FPI_REG_A64_X0 + n] == 0x1000u + n, "x%d = 0x%" PRIx64, n, r->r[FPI_REG_A64_X0 + n]);
		CHECK(r->r[FPI_REG_FP] == 0x1000 + 29, "x29 (FP) = 0x%" PRIx64, r->r[FPI_REG_FP]);
		CHECK(r->r[FPI_REG_A64_LR] == 0x1000 + 30, "x30 (LR) = 0x%" PRIx64, r->r[FPI_REG_A64_LR]);
		CHECK(r->r[FPI_REG_SP] == 0x1000 + 31, "sp = 0x%" PRIx64, r->r[FPI_REG_SP]);
		CHECK(r->r[FPI_REG_PC] == 0x1000 + 32, "pc = 0x%" PRIx64, r->r[FPI_REG_PC]);
		CHECK(r->fs_base == 0, "no fs_base on arm64");
		CHECK(t->arch->g_reg >= 0 && r->r[t->arch->g_reg] == 0x1000 + 28, "g in x28");
		/* no NT_FILE: the executable's PT_LOAD placed by AT_ENTRY */
		CHECK(t->nmaps == 1 && t->maps[0].start == EXE_VADDR && t->maps[0].end == EXE_VADDR + EXE_SIZE &&
		      !strcmp(t->maps[0].path, exe_path), "arm64 maps from the auxv (%zu)", t->nmaps);
		for (size_t i = 0; i < sizeof(want); i++)
			want[i] = exe_pattern(0x1800 + i);
		CHECK(fpi_target_read(t, EXE_VADDR + 0x1800, got, sizeof(got)) == NULL && !memcmp(got, want, sizeof(got)),
		      "the text the dump left out comes from EXE");
		printf("  exe check: %s\n", t->exe_check ? t->exe_check : "(null)");
		fpi_target_destroy(t);
	}
	/* an amd64 executable is not the executable of an arm64 core */
	build_exe_for(&exe, 0x33, EM_X86_64);
	write_file(x86_path, exe.p, exe.len);
	expect_refusal("amd64 exe for an arm64 core", core_path, x86_path, FPI_ERR_FORMAT, "not an arm64 executable");
	free(exe.p);
	free(core.p);
	free(exe_path);
	free(core_path);
	free(x86_path);
}

static void test_synthetic(void)
{
	struct buf exe = { 0 }, exe2 = { 0 }, core = { 0 };
	char *exe_path = tmp_path("exe"), *exe2_path = tmp_path("exe2"), *core_path = tmp_path("core");
	char *bad_path = tmp_path("bad");
	struct synth o = { .exe_path = exe_path, .exe = &exe, .dump_exe_page = true };
	struct fpi_target *t = NULL;
	struct fpi_error *err;
	unsigned char got[64], want[64];

	printf("synthetic cores in %s\n", tmpdir);
	build_exe(&exe, 0x11);
	build_exe(&exe2, 0x22);
	write_file(exe_path, exe.p, exe.len);
	write_file(exe2_path, exe2.p, exe2.len);
	build_core(&core, &o);
	write_file(core_path, core.p, core.len);

	/* The executable from the core; everything the notes say. */
	err = fpi_target_open_core(core_path, NULL, &t);
	CHECK(!err, "open: %s", err ? err->message : "");
	if (!err) {
		const char *check = t->exe_check;

		CHECK(!strcmp(t->ops->kind, "core"), "kind %s", t->ops->kind);
		CHECK(t->exe_path && !strcmp(t->exe_path, exe_path), "exe_path %s", t->exe_path);
		CHECK(t->pid == 100, "pid %d", t->pid);
		CHECK(t->nthreads == 2, "nthreads %zu", t->nthreads);
		CHECK(t->nthreads >= 1 && t->threads[0].tid == 101, "first thread %d", t->threads[0].tid);
		CHECK(t->nthreads == 2 && t->threads[1].tid == 102, "second thread");
		/* user_regs_struct word k holds 0x1000 + k. */
		/* amd64's slots are its DWARF numbers, rax to rip */
		static const int word[FPI_REG_RIP + 1] = { 10, 12, 11, 5, 13, 14, 4, 19, 9, 8, 7, 6, 3, 2, 1, 0, 16 };
		for (int r = 0; r <= FPI_REG_RIP && t->nthreads; r++)
			CHECK(t->threads[0].regs.r[r] == 0x1000u + word[r], "DWARF reg %d = 0x%" PRIx64, r,
			      t->threads[0].regs.r[r]);
		CHECK(t->nthreads && t->threads[0].regs.fs_base == 0x1000 + 21, "fs_base");
		CHECK(t->nmaps == 1 && t->maps[0].start == EXE_VADDR && t->maps[0].end == EXE_VADDR + EXE_SIZE &&
		      !strcmp(t->maps[0].path, exe_path), "maps");
		CHECK(check && strstr(check, "GNU build ID 1111") && strstr(check, "matches"), "exe check: %s",
		      check ? check : "(null)");
		printf("  exe check: %s\n", check ? check : "(null)");
		CHECK(t->signal == 0 && !t->signal_has_addr, "no signal recorded: %d", t->signal);

		/* Within a segment, across two adjacent ones, and out of the
		 * dumped page into the file. */
		CHECK(read_ok(t, SEG_A + 16, got, 16) && got[0] == seg_a_byte(16) && got[15] == seg_a_byte(31),
		      "read in segment");
		for (int i = 0; i < 16; i++)
			want[i] = i < 8 ? seg_a_byte(0xff8 + i) : seg_b_byte(i - 8);
		CHECK(read_ok(t, SEG_B - 8, got, 16) && !memcmp(got, want, 16), "read straddling two segments");
		memcpy(want, exe.p + 0xff8, 8);
		for (int i = 8; i < 16; i++)
			want[i] = exe_pattern(0x1000 + i - 8);
		CHECK(read_ok(t, EXE_VADDR + 0xff8, got, 16) && !memcmp(got, want, 16),
		      "read straddling the dumped page and the file");
		CHECK(read_ok(t, EXE_VADDR + 0x1800, got, 8) && got[0] == exe_pattern(0x1800), "read from the file");
		CHECK(read_ok(t, EXE_VADDR, got, 4) && !memcmp(got, ELFMAG, 4), "ELF header from the dump");
		CHECK(!read_ok(t, SEG_ANON + 8, got, 8), "undumped anonymous memory reads as zero");
		CHECK(!read_ok(t, 0x30000, got, 8), "unmapped address readable");
		CHECK(!read_ok(t, EXE_VADDR + EXE_SIZE - 8, got, 16), "read past the end of the mapping");
		CHECK(!read_ok(t, UINT64_MAX - 7, got, 16), "read wrapping around");
		CHECK(!read_ok(t, SEG_B + 0xff8, got, 16), "read off the end of a segment");
		char s[64];
		CHECK(read_go_string(t, GOSTR_ADDR, s, sizeof(s)) && !strcmp(s, GOSTR), "Go string");

		/* Batched reads set ok one by one. */
		uint64_t v[3];
		struct fpi_read rs[3] = { { SEG_A, &v[0], 8, false }, { 0x30000, &v[1], 8, true },
					  { EXE_VADDR + 0x1000, &v[2], 8, false } };
		err = fpi_target_readv(t, rs, 3);
		CHECK(!err && rs[0].ok && !rs[1].ok && rs[2].ok, "readv oks");
		fpi_error_destroy(err);
		fpi_target_destroy(t);
	}
	fpi_error_destroy(err);

	/* The executable given, matching, and a stranger. */
	err = fpi_target_open_core(core_path, exe_path, &t);
	CHECK(!err, "open with exe: %s", err ? err->message : "");
	fpi_error_destroy(err);
	fpi_target_destroy(err ? NULL : t);
	expect_refusal("another executable", core_path, exe2_path, FPI_ERR_USAGE, "does not belong to");
	expect_refusal("core as its own exe", core_path, core_path, FPI_ERR_FORMAT, "not an amd64 executable");
	expect_refusal("missing exe", core_path, "/nonexistent/exe", 0, "/nonexistent/exe");

	/* The executable rebuilt under the core's feet: discovery notices. */
	write_file(exe_path, exe2.p, exe2.len);
	expect_refusal("exe rebuilt since", core_path, NULL, FPI_ERR_USAGE, "has changed since the core");
	write_file(exe_path, exe.p, exe.len);

	/* A core without the first page: nothing to compare; accepted, and
	 * says so, reading the exe from the file given. */
	o.dump_exe_page = false;
	build_core(&core, &o);
	write_file(core_path, core.p, core.len);
	err = fpi_target_open_core(core_path, exe2_path, &t);
	CHECK(!err, "open undumped with exe2: %s", err ? err->message : "");
	if (!err) {
		const char *check = t->exe_check;

		CHECK(check && strstr(check, "not checked"), "check says %s", check ? check : "(null)");
		CHECK(t->nmaps == 1 && !strcmp(t->maps[0].path, exe2_path), "maps name the given exe");
		CHECK(read_ok(t, EXE_VADDR, got, 4) && !memcmp(got, ELFMAG, 4), "exe header from the file");
		fpi_target_destroy(t);
	}
	fpi_error_destroy(err);

	/* The executable gone. */
	o.exe_path = "/nonexistent/synthetic-exe";
	build_core(&core, &o);
	write_file(core_path, core.p, core.len);
	expect_refusal("exe gone", core_path, NULL, FPI_ERR_USAGE, "no longer exists");
	o.no_auxv = true;
	build_core(&core, &o);
	write_file(core_path, core.p, core.len);
	expect_refusal("exe not named", core_path, NULL, FPI_ERR_USAGE, "does not say where its executable");
	o.no_auxv = false;
	o.exe_path = exe_path;

	/* Damaged notes. */
	o.file_count = 1u << 30;
	build_core(&core, &o);
	write_file(bad_path, core.p, core.len);
	expect_refusal("NT_FILE count too big", bad_path, NULL, FPI_ERR_FORMAT, "NT_FILE");
	o.file_count = 2;
	build_core(&core, &o);
	write_file(bad_path, core.p, core.len);
	expect_refusal("NT_FILE names missing", bad_path, NULL, FPI_ERR_FORMAT, "NT_FILE");
	o.file_count = 0;
	o.prstatus_size = 100;
	build_core(&core, &o);
	write_file(bad_path, core.p, core.len);
	expect_refusal("short NT_PRSTATUS", bad_path, NULL, FPI_ERR_FORMAT, "NT_PRSTATUS");
	o.prstatus_size = 0;

	/* Every prefix of a good core is refused, cleanly. */
	o.dump_exe_page = true;
	build_core(&core, &o);
	int accepted = 0, wrong_code = 0, total = 0;
	for (size_t len = 0; len < core.len; len += len < 4096 ? 7 : 509) {
		write_file(bad_path, core.p, len);
		err = fpi_target_open_core(bad_path, NULL, &t);
		total++;
		if (!err) {
			accepted++;
			fpi_target_destroy(t);
		} else if (err->code != FPI_ERR_FORMAT) {
			wrong_code++;
			printf("  prefix %zu: %s\n", len, err->message);
		}
		fpi_error_destroy(err);
	}
	CHECK(accepted == 0 && wrong_code == 0, "%d of %d prefixes accepted, %d with another code", accepted,
	      total, wrong_code);
	printf("  %d truncated prefixes refused\n", total);

	/* Amplification: 60,000 headers naming the same megabyte of notes
	 * (before the cap on note bytes this ran for half an hour), and
	 * 100,000 file mappings (a sort per mapping would be quadratic). */
	struct buf big = { 0 };
	build_stress_core(&big, 60000, 3000, 0);
	write_file(bad_path, big.p, big.len);
	expect_refusal("60000 note segments", bad_path, NULL, FPI_ERR_FORMAT, "MiB of notes");
	build_stress_core(&big, 1, 1, 100000);
	write_file(bad_path, big.p, big.len);
	err = fpi_target_open_core(bad_path, exe_path, &t);
	CHECK(!err && t->nmaps == 100000, "100000 mappings: %s", err ? err->message : "");
	if (!err) {
		CHECK(t->maps[99999].start == 0x10000000 + 99999ull * 0x2000 &&
		      !strcmp(t->maps[99999].path, "/lib/file4999"), "last mapping");
		CHECK(!read_ok(t, 0x10000000, got, 8), "read from a missing mapped file");
		fpi_target_destroy(t);
	}
	fpi_error_destroy(err);
	free(big.p);

	/* Not cores at all. */
	write_file(bad_path, "", 0);
	expect_refusal("empty file", bad_path, NULL, FPI_ERR_FORMAT, "empty");
	write_file(bad_path, "hello, world\n", 13);
	expect_refusal("text file", bad_path, NULL, FPI_ERR_FORMAT, "not an ELF file");
	expect_refusal("an executable", exe_path, NULL, FPI_ERR_FORMAT, "not a core");
	expect_refusal("a directory", tmpdir, NULL, FPI_ERR_FORMAT, "not a regular file");
	expect_refusal("no such file", "/nonexistent/core", NULL, 0, "/nonexistent/core");
	memcpy(got, core.p, 64);
	core.p[EI_CLASS] = ELFCLASS32;
	write_file(bad_path, core.p, core.len);
	expect_refusal("32-bit", bad_path, NULL, FPI_ERR_FORMAT, "32-bit");
	memcpy(core.p, got, 64);
	((Elf64_Ehdr *)core.p)->e_machine = EM_PPC64;
	write_file(bad_path, core.p, core.len);
	expect_refusal("ppc64 core", bad_path, NULL, FPI_ERR_FORMAT, "another machine");
	/* an amd64 core relabelled arm64: its NT_PRSTATUS is too short for
	 * arm64's user_regs (34 words, not 27) */
	((Elf64_Ehdr *)core.p)->e_machine = EM_AARCH64;
	write_file(bad_path, core.p, core.len);
	expect_refusal("amd64 notes in an arm64 core", bad_path, NULL, FPI_ERR_FORMAT, "want at least 384 for arm64");
	memcpy(core.p, got, 64);

	/* The signal the core was written for: the first thread's pr_cursig,
	 * NT_SIGINFO's address for a fault, none for other signals. */
	{
		static const struct { int16_t sig; bool siginfo, has_addr; } cases[] = {
			{ SIGSEGV, true, true }, { SIGBUS, true, true }, { SIGABRT, true, false },
			{ SIGSEGV, false, false }, { -1, false, false },
		};

		for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
			struct synth so = o;

			so.signal = cases[k].sig;
			so.siginfo = cases[k].siginfo;
			free(core.p);
			core = (struct buf){ 0 };
			build_core(&core, &so);
			write_file(bad_path, core.p, core.len);
			err = fpi_target_open_core(bad_path, NULL, &t);
			CHECK(!err, "open with signal %d: %s", cases[k].sig, err ? err->message : "");
			if (err) {
				fpi_error_destroy(err);
				continue;
			}
			CHECK(t->signal == (cases[k].sig > 0 ? cases[k].sig : 0) && t->signal_tid == 101,
			      "signal %d: got %d in %d", cases[k].sig, t->signal, t->signal_tid);
			CHECK(t->signal_has_addr == cases[k].has_addr && (!t->signal_has_addr || t->signal_addr == 0xdead0),
			      "signal %d: address %d 0x%" PRIx64, cases[k].sig, t->signal_has_addr, t->signal_addr);
			fpi_target_destroy(t);
		}
	}

	free(exe.p);
	free(exe2.p);
	free(core.p);
	free(exe_path);
	free(exe2_path);
	free(core_path);
	free(bad_path);
}

/* ------------------------------------------------------------ real core */

static bool copy_prefix(const char *from, const char *to, off_t len)
{
	int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	char buf[1 << 16];
	bool ok = in >= 0 && out >= 0;

	while (ok && len > 0) {
		ssize_t n = read(in, buf, len < (off_t)sizeof(buf) ? (size_t)len : sizeof(buf));

		ok = n > 0 && write(out, buf, (size_t)n) == n;
		len -= n;
	}
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	return ok;
}

static void test_real(const char *core, const char *exe, uint64_t addr, long want_threads, const char *other)
{
	struct fpi_target *t = NULL;
	struct fpi_error *err;
	char *trunc = tmp_path("trunc");
	struct stat st;

	printf("core %s\n", core);
	err = fpi_target_open_core(core, exe, &t);
	CHECK(!err, "open %s: %s", core, err ? err->message : "");
	if (err) {
		fpi_error_destroy(err);
		free(trunc);
		return;
	}
	printf("  pid %d, exe %s (%s), %zu threads, %zu file mappings\n", t->pid, t->exe_path,
	       t->exe_check, t->nthreads, t->nmaps);
	for (size_t i = 0; i < t->nthreads; i++) {
		const struct fpi_regs *r = &t->threads[i].regs;

		printf("  thread %-7d rip 0x%-12" PRIx64 " rsp 0x%-14" PRIx64 " fs_base 0x%" PRIx64 "\n",
		       t->threads[i].tid, r->r[FPI_REG_RIP], r->r[FPI_REG_RSP], r->fs_base);
	}
	CHECK(t->nthreads > 0, "no threads");
	CHECK(want_threads < 0 || t->nthreads == (size_t)want_threads, "%zu threads, want %ld", t->nthreads,
	      want_threads);
	if (addr && exe) {
		/* nm gives link-time addresses: a PIE's move with its mapping. */
		int fd = open(exe, O_RDONLY);
		Elf64_Ehdr eh;

		if (fd >= 0 && pread(fd, &eh, sizeof(eh), 0) == sizeof(eh) && eh.e_type == ET_DYN)
			for (size_t i = 0; i < t->nmaps; i++)
				if (t->maps[i].offset == 0 && !strcmp(t->maps[i].path, t->exe_path)) {
					addr += t->maps[i].start;
					break;
				}
		if (fd >= 0)
			close(fd);
	}
	if (addr) {
		char s[256];
		bool ok = read_go_string(t, addr, s, sizeof(s));

		printf("  runtime.buildVersion = %s\n", ok ? s : "(unreadable)");
		CHECK(ok && !strncmp(s, "go1.", 4), "runtime.buildVersion \"%s\"", ok ? s : "");
	}
	/* Every thread's stack top is readable (stacks are always dumped). */
	for (size_t i = 0; i < t->nthreads; i++) {
		uint64_t v;

		CHECK(fpi_target_read_u64(t, t->threads[i].regs.r[FPI_REG_RSP], &v), "thread %d: [rsp]",
		      t->threads[i].tid);
	}
	/* Each file's offset-0 mapping starts with its ELF header, and reads
	 * straddling adjacent mappings equal the two halves. */
	for (size_t i = 0; i < t->nmaps; i++) {
		const struct fpi_mapping *m = &t->maps[i];
		unsigned char a[32], b[32];

		if (m->offset == 0 && !strcmp(m->path, t->exe_path))
			CHECK(read_ok(t, m->start, a, 4) && !memcmp(a, ELFMAG, 4), "ELF header of %s", m->path);
		if (i + 1 < t->nmaps && m->end == t->maps[i + 1].start && read_ok(t, m->end - 16, a, 16) &&
		    read_ok(t, m->end, a + 16, 16))
			CHECK(read_ok(t, m->end - 16, b, 32) && !memcmp(a, b, 32), "read across 0x%" PRIx64, m->end);
	}
	fpi_target_destroy(t);

	/* The executable found from the core alone. */
	err = fpi_target_open_core(core, NULL, &t);
	if (err) {
		printf("  without EXE: %s\n", err->message);
		CHECK(err->code == FPI_ERR_USAGE, "without EXE: code %d", err->code);
		fpi_error_destroy(err);
	} else {
		char *a = realpath(t->exe_path, NULL), *b = exe ? realpath(exe, NULL) : NULL;

		printf("  without EXE: found %s (%s)\n", t->exe_path, t->exe_check);
		CHECK(!exe || (a && b && !strcmp(a, b)), "found %s, given %s", t->exe_path, exe);
		free(a);
		free(b);
		fpi_target_destroy(t);
	}

	/* Damaged copies. */
	CHECK(stat(core, &st) == 0, "stat");
	copy_prefix(core, trunc, 4096);
	expect_refusal("first 4096 bytes", trunc, exe, FPI_ERR_FORMAT, "truncated");
	copy_prefix(core, trunc, st.st_size / 2);
	expect_refusal("first half", trunc, exe, FPI_ERR_FORMAT, "truncated");
	/* Cut one byte off the segment that ends last (gcore puts section
	 * headers after it, which a core does not need). */
	off_t seg_end = 0;
	int fd = open(core, O_RDONLY);
	Elf64_Ehdr eh;
	if (fd >= 0 && pread(fd, &eh, sizeof(eh), 0) == sizeof(eh)) {
		for (int i = 0; i < eh.e_phnum; i++) {
			Elf64_Phdr ph;

			if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + i * sizeof(ph))) == sizeof(ph) &&
			    ph.p_filesz && (off_t)(ph.p_offset + ph.p_filesz) > seg_end)
				seg_end = (off_t)(ph.p_offset + ph.p_filesz);
		}
	}
	if (fd >= 0)
		close(fd);
	copy_prefix(core, trunc, seg_end - 1);
	expect_refusal("last segment short a byte", trunc, exe, FPI_ERR_FORMAT, "truncated");
	copy_prefix(core, trunc, 0);
	expect_refusal("empty", trunc, exe, FPI_ERR_FORMAT, NULL);
	copy_prefix("/dev/urandom", trunc, 65536);
	expect_refusal("random bytes", trunc, exe, FPI_ERR_FORMAT, "not an ELF");
	if (exe)
		expect_refusal("the executable as core", exe, NULL, FPI_ERR_FORMAT, "not a core");
	if (other)
		expect_refusal("another executable", core, other, FPI_ERR_USAGE, "does not belong");
	unlink(trunc);
	free(trunc);
}

/* ---------------------------------------------------------- fuzz seeds */

static int write_seeds(const char *dir)
{
	struct buf exe = { 0 }, core = { 0 };
	struct synth o = { .exe_path = "/tmp/fpinspect-fuzz-exe", .exe = &exe, .dump_exe_page = true };
	char *p;
	int rc = 0;

	build_exe(&exe, 0x11);
	build_core(&core, &o);
	if (asprintf(&p, "%s/synthetic-kernel", dir) < 0 || !write_file(p, core.p, core.len))
		rc = 1;
	free(p);
	o.dump_exe_page = false;
	o.no_auxv = true;
	build_core(&core, &o);
	if (asprintf(&p, "%s/synthetic-noauxv", dir) < 0 || !write_file(p, core.p, core.len))
		rc = 1;
	free(p);
	free(exe.p);
	free(core.p);
	return rc;
}

/* CORE without its memory: the ELF header, program headers and notes, each
 * PT_LOAD kept with p_filesz 0 (as the kernel writes undumped mappings). */
static int shrink(const char *from, const char *to)
{
	int fd = open(from, O_RDONLY);
	Elf64_Ehdr eh;
	Elf64_Phdr *ph;
	struct buf out = { 0 };

	if (fd < 0 || pread(fd, &eh, sizeof(eh), 0) != sizeof(eh) || eh.e_phnum == 0 || eh.e_phnum > 4096)
		return 1;
	ph = calloc(eh.e_phnum, sizeof(*ph));
	if (pread(fd, ph, eh.e_phnum * sizeof(*ph), (off_t)eh.e_phoff) != (ssize_t)(eh.e_phnum * sizeof(*ph)))
		return 1;
	eh.e_phoff = sizeof(eh);
	eh.e_shoff = 0;
	eh.e_shnum = 0;
	eh.e_shstrndx = 0;
	size_t off = sizeof(eh) + eh.e_phnum * sizeof(*ph);
	buf_put(&out, NULL, off);
	for (int i = 0; i < eh.e_phnum; i++) {
		if (ph[i].p_type == PT_NOTE && ph[i].p_filesz < (1u << 20)) {
			buf_put(&out, NULL, ph[i].p_filesz);
			if (pread(fd, out.p + off, ph[i].p_filesz, (off_t)ph[i].p_offset) != (ssize_t)ph[i].p_filesz)
				return 1;
			ph[i].p_offset = off;
			off += ph[i].p_filesz;
		} else if (ph[i].p_type == PT_LOAD) {
			ph[i].p_offset = 0;
			ph[i].p_filesz = 0;
		}
	}
	memcpy(out.p, &eh, sizeof(eh));
	memcpy(out.p + sizeof(eh), ph, eh.e_phnum * sizeof(*ph));
	close(fd);
	free(ph);
	printf("%s: %zu bytes\n", to, out.len);
	return write_file(to, out.p, out.len) ? 0 : 1;
}

int main(int argc, char **argv)
{
	const char *core = NULL, *exe = NULL, *other = NULL;
	uint64_t addr = 0;
	long want_threads = -1;
	int npos = 0;

	if (argc == 3 && !strcmp(argv[1], "--write-seeds"))
		return write_seeds(argv[2]);
	if (argc == 4 && !strcmp(argv[1], "--shrink"))
		return shrink(argv[2], argv[3]);
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--addr") && i + 1 < argc)
			addr = strtoull(argv[++i], NULL, 16);
		else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
			want_threads = strtol(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--other") && i + 1 < argc)
			other = argv[++i];
		else if (npos == 0 && ++npos)
			core = argv[i];
		else if (npos == 1 && ++npos)
			exe = strcmp(argv[i], "-") ? argv[i] : NULL;
		else if (npos == 2 && ++npos)
			addr = strtoull(argv[i], NULL, 16);
		else if (npos == 3 && ++npos)
			want_threads = strtol(argv[i], NULL, 10);
		else {
			fprintf(stderr, "usage: unit_core [CORE [EXE|- [ADDR [THREADS]]] [--addr HEX] [--threads N] "
					"[--other EXE2]]\n");
			return 2;
		}
	}
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 2;
	}
	test_synthetic();
	test_arm64();
	if (core)
		test_real(core, exe, addr, want_threads, other);
	remove_tmpdir();
	printf("unit_core: %d checks, %d failed\n", nchecks, nfailed);
	return nfailed ? 1 : 0;
}

#endif /* UNIT_CORE_NO_MAIN */
