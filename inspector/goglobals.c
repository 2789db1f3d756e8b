/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The runtime's globals without DWARF: see goglobals.h. Facts about which
 * function touches which global come from src/runtime/proc.go, stack.go
 * and runtime2.go of Go 1.19, 1.21, 1.23, 1.26 and 1.27, and from their
 * compiled code (go tool objdump of the same functions). */
#include <capstone/capstone.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "goglobals.h"
#include "pclntab.h"

/* Bounds for untrusted memory. The runtime's own limits are lower: maxmcount
 * defaults to 10000 (debug.SetMaxThreads raises it, but a process with a
 * hundred thousand threads is not one to expect); a function of the runtime
 * is a few KiB. */
#define MAX_MS 100000
#define MAX_GS (1ull << 28)
#define SAMPLE_GS 4096
#define MAX_FUNC_BYTES (256 * 1024)
#define MAX_REFS 4096
#define MAX_WAITREASONS 1024
#define MAX_WAITREASON_LEN 256
#define MAX_CANDS 8
/* Ms on allm whose allocm has not set g0 yet: one per thread making an M
 * right now */
#define MAX_MS_UNBORN 16

/* runtime.main: maxstacksize = 1000000000 on 64-bit (250000000 on 32-bit) */
#define MAIN_MAXSTACKSIZE 1000000000

/* One RIP-relative memory operand of an instruction. */
struct ref {
	uint64_t addr;  /* link-time */
	uint8_t size;   /* access width in bytes; 0 for LEA (address taken) */
	bool read, write;
	bool imm_store; /* MOV [rip+x], imm */
	int64_t imm;
};

struct code {
	const char *anchor;
	struct ref *refs;
	size_t n;
	/* the function's first instruction is CMP reg, imm */
	bool first_cmp;
	uint64_t first_cmp_imm;
};

struct seg {
	uint64_t vaddr, memsz, offset, filesz;
	uint32_t flags;
};

struct ctx {
	struct go_layout *l;
	struct fpi_target *t;
	const char *exe;
	Elf *elf;
	const unsigned char *raw;
	size_t rawlen;
	uint64_t bias;
	struct seg segs[16];
	size_t nsegs;
	struct fpi_pclntab *pcln;
	csh cs;
	bool cs_open;
	bool arm64; /* the machine code is arm64's, else amd64's */
	unsigned flags;
	/* a failure of the target itself (not an unreadable address) */
	struct fpi_error *fatal;
	struct go_globals_report *rep;
	uint64_t nallm;
};

/* ---- reading the target: unreadable memory invalidates a candidate, a
 * dead target ends everything ---- */

static bool rd(struct ctx *c, uint64_t addr, void *buf, size_t len)
{
	struct fpi_error *err;

	if (c->fatal || !fpi_range_ok(addr, len))
		return false;
	err = fpi_target_read(c->t, addr, buf, len);
	if (!err)
		return true;
	if (err->code != FPI_ERR_FAULT)
		c->fatal = err;
	else
		fpi_error_destroy(err);
	return false;
}

/* The batch was read (each range's ok still to be looked at). */
static bool readv_ok(struct ctx *c, struct fpi_read *reads, size_t n)
{
	struct fpi_error *err;

	if (c->fatal)
		return false;
	err = fpi_target_readv(c->t, reads, n);
	if (err)
		c->fatal = err;
	return !err;
}

static bool rd_u64(struct ctx *c, uint64_t addr, uint64_t *v)
{
	return rd(c, addr, v, sizeof(*v));
}

static uint64_t le_get(const unsigned char *p, uint32_t size)
{
	uint64_t v = 0;

	for (uint32_t i = 0; i < size && i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* [addr, addr + len) (run-time) lies in one writable PT_LOAD of the
 * executable: every global looked for is a variable of the runtime, in
 * .data, .noptrdata, .bss or .noptrbss. */
static bool in_data(const struct ctx *c, uint64_t addr, uint64_t len)
{
	for (size_t i = 0; i < c->nsegs; i++) {
		const struct seg *s = &c->segs[i];
		uint64_t lo = s->vaddr + c->bias;

		if ((s->flags & PF_W) && addr >= lo && len <= s->memsz && addr - lo <= s->memsz - len)
			return true;
	}
	return false;
}

/* Read the variable candidate [a, a + len): it must be one of the
 * executable's and readable. */
static bool read_var(struct ctx *c, uint64_t a, void *buf, size_t len, char *why, size_t whylen)
{
	if (!in_data(c, a, len)) {
		snprintf(why, whylen, "%#" PRIx64 ": outside the executable's writable segments", a);
		return false;
	}
	if (!rd(c, a, buf, len)) {
		snprintf(why, whylen, "%#" PRIx64 ": not readable", a);
		return false;
	}
	return true;
}

/* ---- the executable ---- */

static struct fpi_error *read_segments(struct ctx *c)
{
	size_t phnum;

	if (elf_getphdrnum(c->elf, &phnum) != 0)
		return fpi_error_create(FPI_ERR_FORMAT, "%s: no program headers: %s", c->exe, elf_errmsg(-1));
	for (size_t i = 0; i < phnum && c->nsegs < sizeof(c->segs) / sizeof(c->segs[0]); i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(c->elf, i, &ph) || ph.p_type != PT_LOAD)
			continue;
		c->segs[c->nsegs++] = (struct seg){ ph.p_vaddr, ph.p_memsz, ph.p_offset, ph.p_filesz, ph.p_flags };
	}
	if (!c->nsegs)
		return fpi_error_create(FPI_ERR_FORMAT, "%s: no PT_LOAD segment", c->exe);
	return NULL;
}

static bool same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	if (!a || !b)
		return false;
	if (strcmp(a, b) == 0)
		return true;
	return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* Go links at a fixed address by default (ET_EXEC): the addresses in the
 * file are the process's. A PIE (-buildmode=pie) is wherever the kernel put
 * it: the bias comes from the target's lowest mapping of the file, whose
 * offset a PT_LOAD of the file covers. */
static struct fpi_error *load_bias(struct ctx *c)
{
	GElf_Ehdr eh;

	if (!gelf_getehdr(c->elf, &eh))
		return fpi_error_create(FPI_ERR_FORMAT, "%s: no ELF header: %s", c->exe, elf_errmsg(-1));
	c->bias = 0;
	if (eh.e_type == ET_EXEC)
		return NULL;
	if (eh.e_type != ET_DYN)
		return fpi_error_create(FPI_ERR_FORMAT, "%s: neither an executable nor a PIE (ELF type %u)", c->exe, eh.e_type);
	for (size_t i = 0; i < c->t->nmaps; i++) {
		const struct fpi_mapping *m = &c->t->maps[i];

		if (!same_file(m->path, c->exe) && !(c->t->exe_path && same_file(m->path, c->t->exe_path)))
			continue;
		for (size_t j = 0; j < c->nsegs; j++) {
			const struct seg *s = &c->segs[j];
			uint64_t page_off = s->offset & ~0xfffull;

			if (page_off == m->offset) {
				c->bias = m->start - (s->vaddr & ~0xfffull);
				return NULL;
			}
		}
	}
	return fpi_error_create(FPI_ERR_FORMAT,
		"%s is a PIE and the target has no mapping of it to take its load bias from: cannot place its globals", c->exe);
}

/* The bytes of [vaddr, vaddr + len) from the file, NULL when no PT_LOAD
 * holds them all in the file. */
static const unsigned char *file_bytes(const struct ctx *c, uint64_t vaddr, uint64_t len)
{
	for (size_t i = 0; i < c->nsegs; i++) {
		const struct seg *s = &c->segs[i];

		if (vaddr >= s->vaddr && len <= s->filesz && vaddr - s->vaddr <= s->filesz - len &&
		    s->offset <= c->rawlen && s->filesz <= c->rawlen - s->offset)
			return c->raw + s->offset + (vaddr - s->vaddr);
	}
	return NULL;
}

/* ---- machine code ---- */

/* The [entry, end) of each named function: one pass over the function
 * table (it has no index by name). */
static void find_funcs(struct ctx *c, const char *const *names, size_t n, uint64_t *entry, uint64_t *end)
{
	struct fpi_pclntab_info info;
	size_t left = n;

	memset(entry, 0, n * sizeof(*entry));
	memset(end, 0, n * sizeof(*end));
	fpi_pclntab_get_info(c->pcln, &info);
	for (uint64_t i = 0; i < info.nfunc && left; i++) {
		struct fpi_pclntab_func f;

		if (!fpi_pclntab_func_at(c->pcln, i, &f))
			continue;
		for (size_t k = 0; k < n; k++) {
			if (!entry[k] && strcmp(f.name, names[k]) == 0) {
				entry[k] = f.entry;
				end[k] = f.end;
				left--;
			}
		}
	}
}

static void code_free(struct code *cd)
{
	free(cd->refs);
	cd->refs = NULL;
	cd->n = 0;
}

/* amd64: every RIP-relative operand is a ref; LEA takes the address. */
static void refs_x86(struct code *cd, const cs_insn *insn, bool first)
{
	const cs_x86 *x = &insn->detail->x86;

	if (first && insn->id == X86_INS_CMP && x->op_count == 2 && x->operands[0].type == X86_OP_REG &&
	    x->operands[1].type == X86_OP_IMM) {
		cd->first_cmp = true;
		/* the immediate is sign-extended from the register's width */
		cd->first_cmp_imm = x->operands[0].size < 8
			? (uint64_t)x->operands[1].imm & ((1ull << (8 * x->operands[0].size)) - 1)
			: (uint64_t)x->operands[1].imm;
	}
	for (uint8_t i = 0; i < x->op_count && cd->n < MAX_REFS; i++) {
		const cs_x86_op *op = &x->operands[i];
		struct ref *r;

		if (op->type != X86_OP_MEM || op->mem.base != X86_REG_RIP || op->mem.index != X86_REG_INVALID)
			continue;
		r = &cd->refs[cd->n++];
		r->addr = insn->address + insn->size + (uint64_t)op->mem.disp;
		if (insn->id == X86_INS_LEA) {
			r->size = 0;
			continue;
		}
		r->size = op->size;
		r->read = op->access & CS_AC_READ;
		r->write = op->access & CS_AC_WRITE;
		/* capstone 4 leaves access unset for some instructions: a
		 * MOV's first operand is its destination */
		if (!op->access && insn->id == X86_INS_MOV) {
			r->write = i == 0;
			r->read = i != 0;
		}
		if (insn->id == X86_INS_MOV && i == 0 && x->op_count == 2 && x->operands[1].type == X86_OP_IMM) {
			r->imm_store = true;
			r->imm = x->operands[1].imm;
			r->write = true;
		}
	}
}

/* arm64 has no pc-relative loads of data: Go's linker writes ADRP (the
 * page) then ADD (the address: amd64's LEA) or a load or store at the low
 * 12 bits, through any register (R27, REGTMP, most often), and builds a
 * constant to store with MOVZ/MOVK first. So the registers' values are
 * followed from ADRP and MOV immediates through ADD to the access. */
struct a64_regs {
	uint64_t v[31];
	uint32_t known; /* bit n: v[n] is known */
};

static int a64_regno(arm64_reg r)
{
	if (r >= ARM64_REG_X0 && r <= ARM64_REG_X28)
		return r - ARM64_REG_X0;
	if (r >= ARM64_REG_W0 && r <= ARM64_REG_W30)
		return r - ARM64_REG_W0;
	if (r == ARM64_REG_X29)
		return 29;
	if (r == ARM64_REG_X30)
		return 30;
	return -1; /* SP, the zero registers */
}

static bool a64_get(const struct a64_regs *st, arm64_reg r, uint64_t *v)
{
	int n = a64_regno(r);

	if (r == ARM64_REG_XZR || r == ARM64_REG_WZR) {
		*v = 0;
		return true;
	}
	if (n < 0 || !(st->known & (1u << n)))
		return false;
	*v = st->v[n];
	return true;
}

static void a64_set(struct a64_regs *st, arm64_reg r, bool known, uint64_t v)
{
	int n = a64_regno(r);

	if (n < 0)
		return;
	if (r >= ARM64_REG_W0 && r <= ARM64_REG_W30)
		v &= 0xffffffffu; /* a W write zeroes the upper half */
	st->v[n] = v;
	st->known = known ? st->known | (1u << n) : st->known & ~(1u << n);
}

/* the bytes a load or store moves: from its mnemonic, else its register */
static uint8_t a64_width(unsigned id, arm64_reg r)
{
	switch (id) {
	case ARM64_INS_LDRB: case ARM64_INS_STRB: case ARM64_INS_LDRSB: case ARM64_INS_LDARB: case ARM64_INS_STLRB:
	case ARM64_INS_LDURB: case ARM64_INS_STURB: case ARM64_INS_LDURSB:
		return 1;
	case ARM64_INS_LDRH: case ARM64_INS_STRH: case ARM64_INS_LDRSH: case ARM64_INS_LDARH: case ARM64_INS_STLRH:
	case ARM64_INS_LDURH: case ARM64_INS_STURH: case ARM64_INS_LDURSH:
		return 2;
	case ARM64_INS_LDRSW: case ARM64_INS_LDURSW:
		return 4;
	}
	return (r >= ARM64_REG_W0 && r <= ARM64_REG_W30) || r == ARM64_REG_WZR ? 4 : 8;
}

static bool a64_is_store(unsigned id)
{
	switch (id) {
	case ARM64_INS_STR: case ARM64_INS_STRB: case ARM64_INS_STRH: case ARM64_INS_STUR: case ARM64_INS_STURB:
	case ARM64_INS_STURH: case ARM64_INS_STLR: case ARM64_INS_STLRB: case ARM64_INS_STLRH: case ARM64_INS_STP:
	case ARM64_INS_STXR: case ARM64_INS_STLXR:
		return true;
	}
	return false;
}

static void a64_ref(struct code *cd, uint64_t addr, uint8_t size, bool write, bool imm_known, uint64_t imm)
{
	struct ref *r;

	if (cd->n >= MAX_REFS)
		return;
	r = &cd->refs[cd->n++];
	*r = (struct ref){ .addr = addr, .size = size, .read = !write && size, .write = write };
	if (write && imm_known) {
		r->imm_store = true;
		r->imm = (int64_t)imm;
	}
}

static void refs_arm64(struct code *cd, const cs_insn *insn, int index, struct a64_regs *st)
{
	const cs_arm64 *a = &insn->detail->arm64;
	const cs_arm64_op *op = a->operands;
	uint64_t v, w = 0;

	/* a leaf's bounds check comes after the argument's zero extension
	 * (waitReason.String: UBFX then CMP) */
	if (index < 2 && !cd->first_cmp && insn->id == ARM64_INS_CMP && a->op_count == 2 &&
	    op[0].type == ARM64_OP_REG && op[1].type == ARM64_OP_IMM) {
		cd->first_cmp = true;
		cd->first_cmp_imm = (uint64_t)op[1].imm << (op[1].shift.type == ARM64_SFT_LSL ? op[1].shift.value : 0);
	}
	switch (insn->id) {
	case ARM64_INS_ADRP:
		if (a->op_count == 2 && op[0].type == ARM64_OP_REG && op[1].type == ARM64_OP_IMM)
			a64_set(st, op[0].reg, true, (uint64_t)op[1].imm);
		return;
	case ARM64_INS_ADD:
		if (a->op_count == 3 && op[0].type == ARM64_OP_REG && op[1].type == ARM64_OP_REG &&
		    op[2].type == ARM64_OP_IMM && a64_get(st, op[1].reg, &v)) {
			uint64_t imm = (uint64_t)op[2].imm << (op[2].shift.type == ARM64_SFT_LSL ? op[2].shift.value : 0);

			a64_set(st, op[0].reg, true, v + imm);
			a64_ref(cd, v + imm, 0, false, false, 0);
			return;
		}
		break;
	case ARM64_INS_MOV:
	case ARM64_INS_MOVZ:
		if (a->op_count == 2 && op[0].type == ARM64_OP_REG && op[1].type == ARM64_OP_IMM) {
			a64_set(st, op[0].reg, true,
				(uint64_t)op[1].imm << (op[1].shift.type == ARM64_SFT_LSL ? op[1].shift.value : 0));
			return;
		}
		if (a->op_count == 2 && op[0].type == ARM64_OP_REG && op[1].type == ARM64_OP_REG) {
			bool k = a64_get(st, op[1].reg, &v);

			a64_set(st, op[0].reg, k, k ? v : 0);
			return;
		}
		break;
	case ARM64_INS_MOVK:
		if (a->op_count == 2 && op[0].type == ARM64_OP_REG && op[1].type == ARM64_OP_IMM) {
			unsigned sh = op[1].shift.type == ARM64_SFT_LSL ? op[1].shift.value : 0;

			if (sh < 64 && a64_get(st, op[0].reg, &v))
				a64_set(st, op[0].reg, true, (v & ~(0xffffull << sh)) | (((uint64_t)op[1].imm & 0xffff) << sh));
			else
				a64_set(st, op[0].reg, false, 0);
			return;
		}
		break;
	case ARM64_INS_BL:
	case ARM64_INS_BLR:
		/* Go's ABI keeps no general register across a call */
		st->known = 0;
		return;
	}
	/* a load or store through a register whose value is known */
	for (uint8_t i = 1; i < a->op_count; i++) {
		bool store = a64_is_store(insn->id), pair = insn->id == ARM64_INS_LDP || insn->id == ARM64_INS_STP;
		/* a store-exclusive's first register is its status, the value second */
		int t = insn->id == ARM64_INS_STXR || insn->id == ARM64_INS_STLXR ? 1 : 0;
		uint8_t size;
		bool known;

		if (op[i].type != ARM64_OP_MEM || op[i].mem.index != ARM64_REG_INVALID || i <= t ||
		    op[t].type != ARM64_OP_REG || !a64_get(st, op[i].mem.base, &v))
			continue;
		size = a64_width(insn->id, op[t].reg);
		v += (uint64_t)(int64_t)op[i].mem.disp;
		known = store && a64_get(st, op[t].reg, &w);
		a64_ref(cd, v, size, store, known, w);
		/* a pair moves two: a slice header's pointer and length */
		if (pair && i == 2 && op[1].type == ARM64_OP_REG) {
			known = store && a64_get(st, op[1].reg, &w);
			a64_ref(cd, v + size, size, store, known, w);
		}
		if (a->writeback)
			a64_set(st, op[i].mem.base, false, 0);
		if (!store || t)
			a64_set(st, op[0].reg, false, 0);
		if (!store && pair && op[1].type == ARM64_OP_REG)
			a64_set(st, op[1].reg, false, 0);
		return;
	}
	/* anything else that writes its first operand: unknown after it */
	if (a->op_count > 0 && op[0].type == ARM64_OP_REG && !a64_is_store(insn->id) && insn->id != ARM64_INS_CMP &&
	    insn->id != ARM64_INS_CMN && insn->id != ARM64_INS_TST && insn->id != ARM64_INS_CBZ &&
	    insn->id != ARM64_INS_CBNZ && insn->id != ARM64_INS_TBZ && insn->id != ARM64_INS_TBNZ)
		a64_set(st, op[0].reg, false, 0);
}

/* Every data address the function [entry, end) uses, with its width and
 * direction. Undecodable bytes are skipped (amd64: one at a time, as Go
 * pads between functions with INT3, which decodes; arm64: an instruction's
 * 4): garbage in a damaged file must not stop the walk, and the walk is
 * bounded by the function. */
static struct fpi_error *decode(struct ctx *c, const char *anchor, uint64_t entry, uint64_t end, struct code *cd)
{
	const unsigned char *bytes, *p;
	size_t left;
	uint64_t pc;
	cs_insn *insn;
	struct a64_regs st = { { 0 }, 0 };
	int index = 0;

	memset(cd, 0, sizeof(*cd));
	cd->anchor = anchor;
	if (end <= entry || end - entry > MAX_FUNC_BYTES)
		return fpi_error_create(FPI_ERR_FORMAT, "%s: %s has an implausible size (%#" PRIx64 "-%#" PRIx64 ")",
					c->exe, anchor, entry, end);
	bytes = file_bytes(c, entry, end - entry);
	if (!bytes)
		return fpi_error_create(FPI_ERR_FORMAT, "%s: the code of %s (%#" PRIx64 ") is not in the file",
					c->exe, anchor, entry);
	cd->refs = calloc(MAX_REFS, sizeof(*cd->refs));
	insn = cs_malloc(c->cs);
	if (!cd->refs || !insn) {
		free(cd->refs);
		cd->refs = NULL;
		if (insn)
			cs_free(insn, 1);
		return &fpi_enomem;
	}
	p = bytes;
	left = end - entry;
	pc = entry;
	while (left > 0 && cd->n < MAX_REFS) {
		if (!cs_disasm_iter(c->cs, &p, &left, &pc, insn)) {
			/* what capstone 4 does not know (arm64's LSE atomics)
			 * or garbage: one instruction's width on */
			size_t skip = c->arm64 ? 4 : 1;

			if (left < skip)
				break;
			p += skip;
			left -= skip;
			pc += skip;
			if (c->arm64)
				st.known = 0;
			index++;
			continue;
		}
		if (c->arm64)
			refs_arm64(cd, insn, index, &st);
		else
			refs_x86(cd, insn, index == 0);
		index++;
	}
	cs_free(insn, 1);
	return NULL;
}

static bool has_ref(const struct code *cd, uint64_t addr, bool need8)
{
	for (size_t i = 0; i < cd->n; i++)
		if (cd->refs[i].addr == addr && (!need8 || cd->refs[i].size == 8))
			return true;
	return false;
}

/* The distinct addresses of cd's refs that pass keep, in run-time terms. */
static size_t distinct_addrs(const struct ctx *c, const struct code *cd, bool (*keep)(const struct ref *),
			     uint64_t *out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < cd->n; i++) {
		uint64_t a = cd->refs[i].addr + c->bias;
		bool seen = false;

		if (!keep(&cd->refs[i]))
			continue;
		for (size_t k = 0; k < n && !seen; k++)
			seen = out[k] == a;
		if (!seen && n < max)
			out[n++] = a;
	}
	return n;
}

static bool word_or_lea(const struct ref *r) { return r->size == 8 || r->size == 0; }
static bool lea_only(const struct ref *r) { return r->size == 0; }
static bool word(const struct ref *r) { return r->size == 8; }

/* Addresses both loaded and stored as words by the function (by one
 * instruction or by two: mReserveID's sched.mnext++ is a MOV each way). */
static size_t loaded_and_stored(const struct ctx *c, const struct code *cd, uint64_t *out, size_t max)
{
	uint64_t all[256];
	size_t n = distinct_addrs(c, cd, word, all, 256), k = 0;

	for (size_t i = 0; i < n && k < max; i++) {
		bool r = false, w = false;

		for (size_t j = 0; j < cd->n; j++) {
			if (cd->refs[j].addr + c->bias != all[i] || cd->refs[j].size != 8)
				continue;
			r |= cd->refs[j].read;
			w |= cd->refs[j].write;
		}
		if (r && w)
			out[k++] = all[i];
	}
	return k;
}

/* ---- validation, one global at a time ---- */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Sorts v; a value v holds twice (goids, M ids: each the runtime's own
 * once), or false when all differ. */
static bool twice(uint64_t *v, size_t n, uint64_t *dup)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	for (size_t i = 1; i < n; i++)
		if (v[i] == v[i - 1]) {
			*dup = v[i];
			return true;
		}
	return false;
}

static bool is_dead(const struct go_layout *l, uint32_t status)
{
	uint32_t base = status & ~l->gscan;

	return (l->gdead >= 0 && base == (uint32_t)l->gdead) ||
	       (l->gdeadextra >= 0 && base == (uint32_t)l->gdeadextra);
}

/* allgs at a: {array, len, cap} of a []*g. allgadd appends every g the
 * runtime ever makes (g's are never freed, only reused), so len >= 1 once
 * the main goroutine exists, and every element is a g: its status one of
 * the runtime's, its goid unique. A g just made by newproc1 is in allgs as
 * _Gdead before it gets its goid: goid 0 is allowed for dead g's only.
 * Sampled evenly when there are many: a million reads is no check. */
static bool valid_allgs(struct ctx *c, uint64_t a, uint64_t *len_ret, char *why, size_t whylen)
{
	const struct go_layout *l = c->l;
	uint64_t hdr[3], n, lo, hi, dup;
	uint64_t *ptrs = NULL, *goids = NULL;
	struct fpi_read *reads = NULL;
	unsigned char *gbuf = NULL;
	size_t span, ngoids = 0;
	bool ok = false;

	if (!read_var(c, a, hdr, sizeof(hdr), why, whylen))
		return false;
	if (hdr[1] == 0 || hdr[1] > hdr[2] || hdr[2] > MAX_GS || !fpi_range_ok(hdr[0], hdr[1] * 8)) {
		snprintf(why, whylen, "%#" PRIx64 ": {%#" PRIx64 ", %" PRIu64 ", %" PRIu64 "} is no slice of g's",
			 a, hdr[0], hdr[1], hdr[2]);
		return false;
	}
	n = hdr[1] < SAMPLE_GS ? hdr[1] : SAMPLE_GS;
	lo = l->g_goid.off < l->g_atomicstatus.off ? l->g_goid.off : l->g_atomicstatus.off;
	hi = l->g_goid.off + l->g_goid.size;
	if (l->g_atomicstatus.off + l->g_atomicstatus.size > hi)
		hi = l->g_atomicstatus.off + l->g_atomicstatus.size;
	span = hi - lo;
	ptrs = calloc(n, sizeof(*ptrs));
	goids = calloc(n, sizeof(*goids));
	reads = calloc(n, sizeof(*reads));
	gbuf = calloc(n, span);
	if (!ptrs || !goids || !reads || !gbuf) {
		snprintf(why, whylen, "out of memory");
		goto out;
	}
	for (uint64_t i = 0; i < n; i++)
		reads[i] = (struct fpi_read){ hdr[0] + 8 * (i * hdr[1] / n), &ptrs[i], 8, false };
	if (!readv_ok(c, reads, n))
		goto unreadable;
	for (uint64_t i = 0; i < n; i++) {
		if (!reads[i].ok)
			goto unreadable;
		if (!ptrs[i] || !fpi_range_ok(ptrs[i] + lo, span)) {
			snprintf(why, whylen, "%#" PRIx64 ": element %" PRIu64 " is %#" PRIx64 ", no g", a,
				 i * hdr[1] / n, ptrs[i]);
			goto out;
		}
		reads[i] = (struct fpi_read){ ptrs[i] + lo, gbuf + i * span, span, false };
	}
	if (!readv_ok(c, reads, n))
		goto unreadable;
	for (uint64_t i = 0; i < n; i++) {
		const unsigned char *g = gbuf + i * span;
		uint32_t status;
		uint64_t goid;

		if (!reads[i].ok)
			goto unreadable;
		status = le_get(g + (l->g_atomicstatus.off - lo), l->g_atomicstatus.size);
		goid = le_get(g + (l->g_goid.off - lo), l->g_goid.size);
		if (!go_status_known(l, status) || (goid == 0 && !is_dead(l, status))) {
			snprintf(why, whylen, "%#" PRIx64 ": the g at %#" PRIx64 " has status %#x, goid %" PRIu64,
				 a, ptrs[i], status, goid);
			goto out;
		}
		if (goid)
			goids[ngoids++] = goid;
	}
	if (twice(goids, ngoids, &dup)) {
		snprintf(why, whylen, "%#" PRIx64 ": goid %" PRIu64 " twice", a, dup);
		goto out;
	}
	*len_ret = hdr[1];
	ok = true;
	goto out;
unreadable:
	snprintf(why, whylen, "%#" PRIx64 ": its g's are not readable", a);
out:
	free(ptrs);
	free(goids);
	free(reads);
	free(gbuf);
	return ok;
}

/* allm at a: the head of the list of every M, linked by m.alllink.
 * mcommoninit prepends, and m0 is the first M schedinit gives it: the chain
 * ends at m0, a static variable of the runtime, with id 0 (the first id
 * mReserveID hands out). allocm and rt0_go set g0.m to the M itself, but
 * allocm does so only after mcommoninit put the M on allm (1.19-1.27), and
 * threads may be in allocm at once: a few Ms may have no g0 yet, or a g0
 * whose m is still nil. Never m0, whose g0 is static. */
static bool valid_allm(struct ctx *c, uint64_t a, uint64_t *count_ret, char *why, size_t whylen)
{
	const struct go_layout *l = c->l;
	uint64_t mp, last = 0, lastid = 1, mark = 0, power = 1, dup;
	unsigned unborn = 0;
	bool last_unborn = false;
	uint64_t *ids = NULL;
	size_t n = 0, cap = 0;
	uint32_t span = 0;
	unsigned char *mbuf = NULL;
	bool ok = false;
	const struct go_field *fs[] = { &l->m_alllink, &l->m_g0, &l->m_id };

	for (size_t i = 0; i < 3; i++)
		if (fs[i]->off + fs[i]->size > span)
			span = fs[i]->off + fs[i]->size;
	if (!read_var(c, a, &mp, sizeof(mp), why, whylen))
		return false;
	if (!mp) {
		snprintf(why, whylen, "%#" PRIx64 ": holds nil (allm has m0 once the runtime runs)", a);
		return false;
	}
	mbuf = malloc(span);
	if (!mbuf) {
		snprintf(why, whylen, "out of memory");
		return false;
	}
	while (mp) {
		uint64_t g0, gm, id;

		/* Brent: a cycle is seen within twice its length, not at MAX_MS */
		if (mp == mark) {
			snprintf(why, whylen, "%#" PRIx64 ": the Ms' alllink chain has a cycle", a);
			goto out;
		}
		if (n == power) {
			mark = mp;
			power *= 2;
		}
		if (n >= MAX_MS) {
			snprintf(why, whylen, "%#" PRIx64 ": more than %d Ms linked", a, MAX_MS);
			goto out;
		}
		if (!rd(c, mp, mbuf, span)) {
			snprintf(why, whylen, "%#" PRIx64 ": M %zu at %#" PRIx64 " not readable", a, n, mp);
			goto out;
		}
		g0 = le_get(mbuf + l->m_g0.off, l->m_g0.size);
		id = le_get(mbuf + l->m_id.off, l->m_id.size);
		gm = 0;
		if (g0 && !rd_u64(c, g0 + l->g_m.off, &gm)) {
			snprintf(why, whylen, "%#" PRIx64 ": M %zu at %#" PRIx64 " has g0 %#" PRIx64 " not readable",
				 a, n, mp, g0);
			goto out;
		}
		last_unborn = !g0 || !gm;
		if (last_unborn && ++unborn > MAX_MS_UNBORN) {
			snprintf(why, whylen, "%#" PRIx64 ": more than %d Ms without a g0", a, MAX_MS_UNBORN);
			goto out;
		}
		if (gm && gm != mp) {
			snprintf(why, whylen, "%#" PRIx64 ": M %zu at %#" PRIx64 " has g0 %#" PRIx64 " not pointing back to it",
				 a, n, mp, g0);
			goto out;
		}
		if (n == cap) {
			size_t ncap = cap ? 2 * cap : 64;
			uint64_t *nids = realloc(ids, ncap * sizeof(*ids));

			if (!nids) {
				snprintf(why, whylen, "out of memory");
				goto out;
			}
			ids = nids;
			cap = ncap;
		}
		ids[n++] = id;
		last = mp;
		lastid = id;
		mp = le_get(mbuf + l->m_alllink.off, l->m_alllink.size);
	}
	if (!in_data(c, last, span) || lastid != 0 || last_unborn) {
		snprintf(why, whylen, "%#" PRIx64 ": the last M (%#" PRIx64 ", id %" PRIu64 ") is not m0", a, last, lastid);
		goto out;
	}
	if (twice(ids, n, &dup)) {
		snprintf(why, whylen, "%#" PRIx64 ": M id %" PRIu64 " twice", a, dup);
		goto out;
	}
	*count_ret = n;
	ok = true;
out:
	free(ids);
	free(mbuf);
	return ok;
}

/* allglen: allgadd stores len(allgs) there after every append; a thread
 * stopped between the append and the store leaves it one short (off: the
 * difference, 0 or 1). */
static bool valid_allglen(struct ctx *c, uint64_t a, uint64_t len, uint64_t off, char *why, size_t whylen)
{
	uint64_t v;

	if (!read_var(c, a, &v, sizeof(v), why, whylen))
		return false;
	if (v + off != len) {
		snprintf(why, whylen, "%#" PRIx64 ": holds %" PRIu64 ", not len(allgs) %" PRIu64 "%s", a, v, len,
			 off ? " - 1" : "");
		return false;
	}
	return true;
}

/* sched.mnext at a: how many Ms were ever made; every M on allm took its
 * id from it, so it is at least as long as allm. */
static bool valid_mnext(struct ctx *c, uint64_t a, char *why, size_t whylen)
{
	uint64_t v;

	/* all of sched up to mnext is the runtime's variable */
	if (a < c->l->sched_mnext.off || !in_data(c, a - c->l->sched_mnext.off, c->l->sched_mnext.off + 8)) {
		snprintf(why, whylen, "%#" PRIx64 ": sched would be outside the executable's writable segments", a);
		return false;
	}
	if (!read_var(c, a, &v, sizeof(v), why, whylen))
		return false;
	if (v < c->nallm || v > (1ull << 31)) {
		snprintf(why, whylen, "%#" PRIx64 ": holds %" PRIu64 ", allm has %" PRIu64 " Ms", a, v, c->nallm);
		return false;
	}
	return true;
}

static bool valid_maxstacksize(struct ctx *c, uint64_t a, char *why, size_t whylen)
{
	uint64_t v;

	/* debug.SetMaxStack may have changed it from runtime.main's value,
	 * but a stack limit below a page or beyond the address space is none */
	if (!read_var(c, a, &v, sizeof(v), why, whylen))
		return false;
	if (v < 4096 || v >= FPI_USER_TOP) {
		snprintf(why, whylen, "%#" PRIx64 ": holds %" PRIu64 ", no stack limit", a, v);
		return false;
	}
	return true;
}

/* waitReasonStrings at a: [n]string, [0] waitReasonZero "", every other
 * entry a short printable English phrase ("chan receive"). */
static bool valid_waitreasons(struct ctx *c, uint64_t a, uint32_t n, char *why, size_t whylen)
{
	uint64_t *hdr;
	char *s = NULL;
	bool ok = false;

	if (n < 2 || n > MAX_WAITREASONS || !in_data(c, a, (uint64_t)n * 16)) {
		snprintf(why, whylen, "%#" PRIx64 ": no static [%u]string", a, n);
		return false;
	}
	hdr = calloc(n, 16);
	s = malloc(MAX_WAITREASON_LEN);
	if (!hdr || !s) {
		snprintf(why, whylen, "out of memory");
		goto out;
	}
	if (!rd(c, a, hdr, (size_t)n * 16)) {
		snprintf(why, whylen, "%#" PRIx64 ": not readable", a);
		goto out;
	}
	if (hdr[1] != 0) {
		snprintf(why, whylen, "%#" PRIx64 ": [0] is not \"\"", a);
		goto out;
	}
	for (uint32_t i = 1; i < n; i++) {
		uint64_t p = hdr[2 * i], len = hdr[2 * i + 1];

		if (len == 0 || len >= MAX_WAITREASON_LEN || !rd(c, p, s, len)) {
			snprintf(why, whylen, "%#" PRIx64 ": [%u] is no readable short string", a, i);
			goto out;
		}
		for (uint64_t k = 0; k < len; k++) {
			if (s[k] < 0x20 || s[k] > 0x7e) {
				snprintf(why, whylen, "%#" PRIx64 ": [%u] is not printable", a, i);
				goto out;
			}
		}
	}
	ok = true;
out:
	free(hdr);
	free(s);
	return ok;
}

/* ---- one global: candidates in, one address or a reason out ---- */

struct pick {
	uint64_t valid[MAX_CANDS];
	unsigned nvalid, ncand;
	char why[280];   /* the failing candidates' reasons, "; "-separated */
};

static void pick_add(struct pick *p, uint64_t a, bool ok, const char *why)
{
	p->ncand++;
	if (ok) {
		if (p->nvalid < MAX_CANDS)
			p->valid[p->nvalid] = a;
		p->nvalid++;
	} else {
		size_t len = strlen(p->why);

		if (len + 3 < sizeof(p->why))
			snprintf(p->why + len, sizeof(p->why) - len, "%s%s", len ? "; " : "", why);
	}
}

/* The result for global id from p: exactly one valid candidate. anchor
 * NULL: p's one candidate is the symbol table's. */
static bool pick_result(struct ctx *c, enum go_global_id id, const char *anchor, const struct pick *p)
{
	struct go_global_result *r = &c->rep->g[id];

	r->anchor = anchor;
	r->ncand = p->ncand;
	r->nvalid = p->nvalid;
	r->addr = 0;
	if (p->nvalid == 1) {
		r->addr = p->valid[0];
		r->why[0] = '\0';
		return true;
	}
	if (!anchor)
		snprintf(r->why, sizeof(r->why), "the symbol table's address is not valid (%s)", p->why);
	else if (p->nvalid > 1)
		snprintf(r->why, sizeof(r->why), "ambiguous: %u of the %u addresses %s uses are valid (%#" PRIx64 " and %#" PRIx64 ")",
			 p->nvalid, p->ncand, anchor, p->valid[0], p->valid[1]);
	else if (!p->ncand && p->why[0])
		snprintf(r->why, sizeof(r->why), "%s", p->why);
	else if (!p->ncand)
		snprintf(r->why, sizeof(r->why), "%s uses no address it could be", anchor);
	else
		snprintf(r->why, sizeof(r->why), "none of the %u addresses %s uses is valid (%s)", p->ncand, anchor, p->why);
	return false;
}

static void no_anchor(struct ctx *c, enum go_global_id id, const char *const *names, size_t n)
{
	struct go_global_result *r = &c->rep->g[id];
	size_t len = 0;

	len = snprintf(r->why, sizeof(r->why), "none of the functions that use it is in .gopclntab (");
	for (size_t i = 0; i < n && len < sizeof(r->why); i++)
		len += snprintf(r->why + len, sizeof(r->why) - len, "%s%s", i ? ", " : "", names[i]);
	if (len < sizeof(r->why))
		snprintf(r->why + len, sizeof(r->why) - len, ")");
	r->addr = 0;
}

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* allgadd (every version 1.19-1.27, too big to inline: lock, append,
 * atomics) reads and writes allgs' three words and stores allglen. Its
 * callers are listed should a toolchain inline it; then forEachG (range
 * allgs) and forEachGRace (allglen, allgptr), which use them themselves. */
static const char *const allgs_anchors[] = { "runtime.allgadd", "runtime.newproc1", "runtime.oneNewExtraM",
					     "runtime.forEachG" };
static const char *const allglen_anchors[] = { "runtime.allgadd", "runtime.newproc1", "runtime.oneNewExtraM",
					       "runtime.forEachGRace" };
/* mcommoninit: mp.alllink = allm; atomicstorep(&allm, mp) (all versions);
 * allocm is its caller; mexit and schedtrace walk allm themselves. */
static const char *const allm_anchors[] = { "runtime.mcommoninit", "runtime.allocm", "runtime.mexit",
					    "runtime.schedtrace" };
/* mReserveID: id := sched.mnext; sched.mnext++ (1.16+), a read-modify-write
 * of the one word; inlined, it lands in mcommoninit. */
static const char *const mnext_anchors[] = { "runtime.mReserveID", "runtime.mcommoninit" };
/* runtime.main: maxstacksize = 1000000000, a store of that immediate (all
 * versions); newstack compares against it. */
static const char *const maxstack_anchors[] = { "runtime.main" };
/* waitReason.String: if w >= len(waitReasonStrings) {...}; return
 * waitReasonStrings[w]: the bounds check is its first instruction, so it
 * also gives the length. goroutineheader inlines it (its bound is not at a
 * fixed place there: the length must then come from the layout). */
static const char *const waitreason_anchors[] = { "runtime.waitReason.String", "runtime.goroutineheader" };

/* Tries one anchor's code: adds its candidates to p. */
typedef void (*try_fn)(struct ctx *c, const struct code *cd, struct pick *p, void *arg);

/* The anchors in order: the first whose code yields a valid candidate
 * decides (one: found; more: ambiguous, and no later anchor is asked).
 * When none does, the first anchor present gives the reason. */
static struct fpi_error *search(struct ctx *c, enum go_global_id id, const char *const *names, size_t n,
				try_fn fn, void *arg)
{
	uint64_t entry[8], end[8];
	struct pick first = { 0 };
	const char *first_anchor = NULL;
	char derr[160] = "";

	if (n > 8)
		n = 8;
	find_funcs(c, names, n, entry, end);
	for (size_t i = (c->flags & GO_GLOBALS_FALLBACK_ANCHORS) && n > 1 ? 1 : 0; i < n; i++) {
		struct code cd;
		struct pick p = { 0 };
		struct fpi_error *err;

		if (!entry[i])
			continue;
		err = decode(c, names[i], entry[i], end[i], &cd);
		if (err == &fpi_enomem)
			return err;
		if (err) {
			/* a damaged function is one anchor less, not the end */
			if (!derr[0])
				snprintf(derr, sizeof(derr), "%s", err->message);
			fpi_error_destroy(err);
			continue;
		}
		fn(c, &cd, &p, arg);
		code_free(&cd);
		if (c->fatal)
			return NULL;
		if (p.nvalid) {
			pick_result(c, id, names[i], &p);
			return NULL;
		}
		if (!first_anchor) {
			first = p;
			first_anchor = names[i];
		}
	}
	if (first_anchor)
		pick_result(c, id, first_anchor, &first);
	else if (derr[0])
		snprintf(c->rep->g[id].why, sizeof(c->rep->g[id].why), "%s", derr);
	else
		no_anchor(c, id, names, n);
	return NULL;
}

static void try_allm(struct ctx *c, const struct code *cd, struct pick *p, void *arg)
{
	uint64_t cands[256];
	size_t n = distinct_addrs(c, cd, word_or_lea, cands, NELEM(cands));

	for (size_t i = 0; i < n && !c->fatal; i++) {
		char why[160];
		uint64_t count = 0;
		bool ok = valid_allm(c, cands[i], &count, why, sizeof(why));

		pick_add(p, cands[i], ok, why);
		if (ok)
			c->nallm = count;
	}
}

/* allgs; its length, read there, goes to *arg for allglen's check */
static void try_allgs(struct ctx *c, const struct code *cd, struct pick *p, void *arg)
{
	uint64_t *len_ret = arg, cands[256], len = 0;
	size_t n = distinct_addrs(c, cd, word_or_lea, cands, NELEM(cands));

	/* append(allgs, gp) and range allgs read len through its own
	 * address: a slice header is a word with the next one used as a word
	 * too */
	for (size_t i = 0; i < n && !c->fatal; i++) {
		char why[160];
		uint64_t l = 0;
		bool ok;

		if (!has_ref(cd, cands[i] - c->bias + 8, true))
			continue;
		ok = valid_allgs(c, cands[i], &l, why, sizeof(why));
		pick_add(p, cands[i], ok, why);
		if (ok)
			len = l;
	}
	if (p->nvalid == 1)
		*len_ret = len;
}

struct allglen_arg {
	uint64_t allgs, len;
};

/* allglen: the word equal to len(allgs) first; one short only when no word
 * is equal (a thread stopped inside allgadd) */
static void try_allglen(struct ctx *c, const struct code *cd, struct pick *p, void *arg)
{
	const struct allglen_arg *a = arg;
	uint64_t cands[256];
	size_t n = distinct_addrs(c, cd, word_or_lea, cands, NELEM(cands));
	struct pick p0 = { 0 };

	for (uint64_t off = 0; off <= 1 && !p->nvalid; off++) {
		memset(p, 0, sizeof(*p));
		for (size_t i = 0; i < n && !c->fatal; i++) {
			char why[160];

			/* allgs' own len word holds the same value */
			if (cands[i] >= a->allgs && cands[i] < a->allgs + 24)
				continue;
			pick_add(p, cands[i], valid_allglen(c, cands[i], a->len, off, why, sizeof(why)), why);
		}
		if (off == 0)
			p0 = *p;
	}
	if (!p->nvalid)
		*p = p0;
}

static void try_sched(struct ctx *c, const struct code *cd, struct pick *p, void *arg)
{
	uint64_t cands[256];
	size_t n = loaded_and_stored(c, cd, cands, NELEM(cands));

	for (size_t i = 0; i < n && !c->fatal; i++) {
		char why[160];

		pick_add(p, cands[i] - c->l->sched_mnext.off, valid_mnext(c, cands[i], why, sizeof(why)), why);
	}
}

static bool imm_store_main(const struct ref *r)
{
	return r->size == 8 && r->imm_store && r->imm == MAIN_MAXSTACKSIZE;
}

static void try_maxstack(struct ctx *c, const struct code *cd, struct pick *p, void *arg)
{
	uint64_t cands[8];
	size_t n = distinct_addrs(c, cd, imm_store_main, cands, NELEM(cands));

	for (size_t i = 0; i < n && !c->fatal; i++) {
		char why[160];

		pick_add(p, cands[i], valid_maxstacksize(c, cands[i], why, sizeof(why)), why);
	}
}

static void try_waitreasons(struct ctx *c, const struct code *cd, struct pick *p, void *arg)
{
	uint32_t *nwr_ret = arg, nwr = c->l->nwaitreasons;
	uint64_t cands[256];
	size_t n;

	if (!nwr && strcmp(cd->anchor, "runtime.waitReason.String") == 0 && cd->first_cmp &&
	    cd->first_cmp_imm <= MAX_WAITREASONS)
		nwr = cd->first_cmp_imm;
	if (!nwr) {
		snprintf(p->why, sizeof(p->why), "its length is neither in the layout nor in %s's bounds check", cd->anchor);
		return;
	}
	/* indexed through a register: only the array's address is taken */
	n = distinct_addrs(c, cd, lea_only, cands, NELEM(cands));
	for (size_t i = 0; i < n && !c->fatal; i++) {
		char why[160];

		pick_add(p, cands[i], valid_waitreasons(c, cands[i], nwr, why, sizeof(why)), why);
	}
	if (p->nvalid)
		*nwr_ret = nwr;
}

static struct fpi_error *find_by_code(struct ctx *c)
{
	struct go_globals_report *rep = c->rep;
	struct allglen_arg al = { 0, 0 };
	uint32_t nwr = 0;
	struct fpi_error *err;

	/* allm first: sched's check needs the number of Ms */
	err = search(c, GO_GLOBAL_ALLM, allm_anchors, NELEM(allm_anchors), try_allm, NULL);
	if (!err && !c->fatal)
		err = search(c, GO_GLOBAL_ALLGS, allgs_anchors, NELEM(allgs_anchors), try_allgs, &al.len);
	if (!err && !c->fatal) {
		al.allgs = rep->g[GO_GLOBAL_ALLGS].addr;
		if (al.allgs)
			err = search(c, GO_GLOBAL_ALLGLEN, allglen_anchors, NELEM(allglen_anchors), try_allglen, &al);
		else
			snprintf(rep->g[GO_GLOBAL_ALLGLEN].why, sizeof(rep->g[0].why), "runtime.allgs not found");
	}
	if (!err && !c->fatal) {
		if (!go_has(c->l->sched_mnext))
			snprintf(rep->g[GO_GLOBAL_SCHED].why, sizeof(rep->g[0].why), "the layout has no sched.mnext offset");
		else if (!rep->g[GO_GLOBAL_ALLM].addr)
			snprintf(rep->g[GO_GLOBAL_SCHED].why, sizeof(rep->g[0].why), "runtime.allm not found");
		else
			err = search(c, GO_GLOBAL_SCHED, mnext_anchors, NELEM(mnext_anchors), try_sched, NULL);
	}
	if (!err && !c->fatal)
		err = search(c, GO_GLOBAL_MAXSTACKSIZE, maxstack_anchors, NELEM(maxstack_anchors), try_maxstack, NULL);
	if (!err && !c->fatal) {
		err = search(c, GO_GLOBAL_WAITREASONS, waitreason_anchors, NELEM(waitreason_anchors),
			     try_waitreasons, &nwr);
		if (rep->g[GO_GLOBAL_WAITREASONS].addr)
			rep->nwaitreasons = nwr;
	}
	return err;
}

/* ---- the symbol table ---- */

static const char *const global_names[GO_GLOBAL_COUNT] = {
	[GO_GLOBAL_ALLGS] = "runtime.allgs",
	[GO_GLOBAL_ALLGLEN] = "runtime.allglen",
	[GO_GLOBAL_ALLM] = "runtime.allm",
	[GO_GLOBAL_SCHED] = "runtime.sched",
	[GO_GLOBAL_MAXSTACKSIZE] = "runtime.maxstacksize",
	[GO_GLOBAL_WAITREASONS] = "runtime.waitReasonStrings",
};

/* Look the globals up in .symtab; false when there is none. */
static bool read_symtab(struct ctx *c, uint64_t *addr, uint64_t *size)
{
	Elf_Scn *scn = NULL;
	bool any = false;

	while ((scn = elf_nextscn(c->elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *data;
		size_t nsym;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB || !sh.sh_entsize)
			continue;
		data = elf_getdata(scn, NULL);
		if (!data)
			continue;
		any = true;
		nsym = data->d_size / sh.sh_entsize;
		for (size_t i = 0; i < nsym; i++) {
			GElf_Sym sym;
			const char *name;

			if (!gelf_getsym(data, i, &sym) || GELF_ST_TYPE(sym.st_info) != STT_OBJECT)
				continue;
			name = elf_strptr(c->elf, sh.sh_link, sym.st_name);
			if (!name || strncmp(name, "runtime.", 8) != 0)
				continue;
			for (int k = 0; k < GO_GLOBAL_COUNT; k++) {
				if (strcmp(name, global_names[k]) == 0) {
					addr[k] = sym.st_value + c->bias;
					size[k] = sym.st_size;
				}
			}
		}
	}
	return any;
}

static void from_symtab(struct ctx *c, const uint64_t *addr, const uint64_t *size)
{
	char why[160];
	uint64_t len = 0;

	for (int k = 0; k < GO_GLOBAL_COUNT; k++) {
		struct pick p = { 0 };
		bool ok = false;

		if (!addr[k]) {
			snprintf(c->rep->g[k].why, sizeof(c->rep->g[k].why), "not in the symbol table");
			continue;
		}
		why[0] = '\0';
		switch (k) {
		case GO_GLOBAL_ALLM:
			ok = valid_allm(c, addr[k], &c->nallm, why, sizeof(why));
			break;
		case GO_GLOBAL_ALLGS:
			ok = valid_allgs(c, addr[k], &len, why, sizeof(why));
			break;
		case GO_GLOBAL_ALLGLEN:
			ok = len && (valid_allglen(c, addr[k], len, 0, why, sizeof(why)) ||
				     valid_allglen(c, addr[k], len, 1, why, sizeof(why)));
			if (!len)
				snprintf(why, sizeof(why), "runtime.allgs not valid");
			break;
		case GO_GLOBAL_SCHED:
			if (!go_has(c->l->sched_mnext)) {
				snprintf(why, sizeof(why), "the layout has no sched.mnext offset");
				break;
			}
			ok = valid_mnext(c, addr[k] + c->l->sched_mnext.off, why, sizeof(why));
			break;
		case GO_GLOBAL_MAXSTACKSIZE:
			ok = valid_maxstacksize(c, addr[k], why, sizeof(why));
			break;
		case GO_GLOBAL_WAITREASONS: {
			uint32_t n = c->l->nwaitreasons;

			if (!n && size[k] % 16 == 0 && size[k] / 16 <= MAX_WAITREASONS)
				n = size[k] / 16;
			ok = valid_waitreasons(c, addr[k], n, why, sizeof(why));
			if (ok)
				c->rep->nwaitreasons = n;
			break;
		}
		}
		pick_add(&p, addr[k], ok, why);
		pick_result(c, k, NULL, &p);
	}
}

/* ---- the entry points ---- */

static struct fpi_error *check_layout(const struct go_layout *l, const char *exe)
{
	const struct { const char *name; struct go_field f; } need[] = {
		{ "g.goid", l->g_goid }, { "g.atomicstatus", l->g_atomicstatus }, { "g.m", l->g_m },
		{ "m.alllink", l->m_alllink }, { "m.g0", l->m_g0 }, { "m.id", l->m_id },
	};

	for (size_t i = 0; i < NELEM(need); i++) {
		if (!go_has(need[i].f) || need[i].f.size > 8 || need[i].f.off > (1u << 16))
			return fpi_error_create(FPI_ERR_NODWARF,
				"%s: the layout has no usable runtime.%s: cannot check runtime globals", exe, need[i].name);
	}
	if (l->g_goid.off > l->g_atomicstatus.off + 256 || l->g_atomicstatus.off > l->g_goid.off + 256)
		return fpi_error_create(FPI_ERR_NODWARF, "%s: the layout's g.goid and g.atomicstatus are implausibly far apart", exe);
	return NULL;
}

struct fpi_error *go_globals_find_ex(struct go_layout *l, const char *exe, struct fpi_target *t,
				     unsigned flags, struct go_globals_report *ret)
{
	struct go_globals_report rep_local;
	struct ctx c = { 0 };
	struct fpi_error *err;
	uint64_t symaddr[GO_GLOBAL_COUNT] = { 0 }, symsize[GO_GLOBAL_COUNT] = { 0 };
	int fd;

	if (!ret)
		ret = &rep_local;
	memset(ret, 0, sizeof(*ret));
	for (int k = 0; k < GO_GLOBAL_COUNT; k++)
		ret->g[k].name = global_names[k];
	err = check_layout(l, exe);
	if (err)
		return err;
	c.l = l;
	c.t = t;
	c.exe = exe;
	c.rep = ret;
	c.flags = flags;
	fd = open(exe, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fpi_error_create(FPI_ERR_NOTGO, "cannot open executable %s: %m", exe);
	elf_version(EV_CURRENT);
	c.elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!c.elf || elf_kind(c.elf) != ELF_K_ELF) {
		err = fpi_error_create(FPI_ERR_NOTGO, "%s is not an ELF executable", exe);
		goto out;
	}
	c.raw = (const unsigned char *)elf_rawfile(c.elf, &c.rawlen);
	if (!c.raw) {
		err = fpi_error_create(FPI_ERR_FORMAT, "%s: cannot map the file: %s", exe, elf_errmsg(-1));
		goto out;
	}
	err = read_segments(&c);
	if (!err) {
		GElf_Ehdr eh;

		if (!gelf_getehdr(c.elf, &eh) || (eh.e_machine != EM_X86_64 && eh.e_machine != EM_AARCH64))
			err = fpi_error_create(FPI_ERR_FORMAT,
				"%s: neither an x86-64 nor an arm64 executable: its runtime globals cannot be found", exe);
		else
			c.arm64 = eh.e_machine == EM_AARCH64;
	}
	if (!err)
		err = load_bias(&c);
	if (err)
		goto out;
	ret->bias = c.bias;

	if (!(flags & GO_GLOBALS_NO_SYMTAB) && read_symtab(&c, symaddr, symsize)) {
		ret->how = "symbol table";
		from_symtab(&c, symaddr, symsize);
	}
	/* A symbol table without the runtime's variables (another linker's,
	 * or symbols renamed) says nothing: the code still does. One whose
	 * address fails is not overruled: the process runs another build. */
	if (!ret->how || (!c.fatal && (!symaddr[GO_GLOBAL_ALLGS] || !symaddr[GO_GLOBAL_ALLGLEN] ||
				       !symaddr[GO_GLOBAL_ALLM]))) {
		for (int k = 0; k < GO_GLOBAL_COUNT; k++)
			ret->g[k] = (struct go_global_result){ .name = global_names[k] };
		ret->nwaitreasons = 0;
		ret->how = "machine code";
		err = fpi_pclntab_open_elf(c.elf, &c.pcln);
		if (err) {
			err = fpi_error_wrap(err, "%s: finding runtime globals without a symbol table", exe);
			goto out;
		}
		if (cs_open(c.arm64 ? CS_ARCH_ARM64 : CS_ARCH_X86, c.arm64 ? CS_MODE_ARM : CS_MODE_64, &c.cs) != CS_ERR_OK) {
			err = fpi_error_create(FPI_ERR_OTHER, "capstone: cannot open an %s disassembler", c.arm64 ? "arm64" : "x86-64");
			goto out;
		}
		c.cs_open = true;
		cs_option(c.cs, CS_OPT_DETAIL, CS_OPT_ON);
		err = find_by_code(&c);
		if (err)
			goto out;
	}
	if (c.fatal) {
		err = fpi_error_wrap(c.fatal, "finding runtime globals");
		c.fatal = NULL;
		goto out;
	}
	for (int k = GO_GLOBAL_ALLGS; k <= GO_GLOBAL_ALLM; k++) {
		if (!ret->g[k].addr) {
			err = fpi_error_create(FPI_ERR_NODWARF, "%s (no DWARF): %s not found from the %s: %s",
					       exe, global_names[k], ret->how, ret->g[k].why);
			goto out;
		}
	}
	l->allgs = ret->g[GO_GLOBAL_ALLGS].addr;
	l->allglen = ret->g[GO_GLOBAL_ALLGLEN].addr;
	l->allm = ret->g[GO_GLOBAL_ALLM].addr;
	l->sched = ret->g[GO_GLOBAL_SCHED].addr;
	l->maxstacksize_addr = ret->g[GO_GLOBAL_MAXSTACKSIZE].addr;
	l->waitreasons = ret->g[GO_GLOBAL_WAITREASONS].addr;
	if (l->waitreasons && !l->nwaitreasons)
		l->nwaitreasons = ret->nwaitreasons;
	l->have_globals = true;
out:
	fpi_error_destroy(c.fatal);
	if (c.cs_open)
		cs_close(&c.cs);
	fpi_pclntab_destroy(c.pcln);
	if (c.elf)
		elf_end(c.elf);
	close(fd);
	return err;
}

struct fpi_error *go_globals_find(struct go_layout *l, const char *exe, struct fpi_target *t, const char **how)
{
	struct go_globals_report rep;
	struct fpi_error *err = go_globals_find_ex(l, exe, t, 0, &rep);

	if (!err && how)
		*how = rep.how;
	return err;
}

struct fpi_error *go_exe_load_bias(const char *exe, struct fpi_target *t, uint64_t *ret)
{
	struct ctx c = { 0 };
	struct fpi_error *err;
	int fd = open(exe, O_RDONLY | O_CLOEXEC);

	*ret = 0;
	if (fd < 0)
		return fpi_error_create(FPI_ERR_NOTGO, "cannot open executable %s: %m", exe);
	c.t = t;
	c.exe = exe;
	c.elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!c.elf || elf_kind(c.elf) != ELF_K_ELF)
		err = fpi_error_create(FPI_ERR_NOTGO, "%s is not an ELF executable", exe);
	else if (!(err = read_segments(&c)))
		err = load_bias(&c);
	if (!err)
		*ret = c.bias;
	elf_end(c.elf);
	close(fd);
	return err;
}
