/* SPDX-License-Identifier: GPL-3.0-or-later */
/* One DWARF CFI step with libdw's CFI primitives, registers numbered as the
 * executable's machine numbers them (arch.h); every read of target memory
 * goes through the caller's fpi_mem. */
#include <dwarf.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modules_internal.h"

/* A DWARF expression in CFI is a few ops; the caps only bound hostile
 * input (DW_OP_skip/DW_OP_bra can loop). */
#define EXPR_STACK 64
#define EXPR_MAX_STEPS 1024

static void set_why(char *why, size_t whylen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void set_why(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (!why || !whylen)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

struct expr_ctx {
	const struct fpi_arch_info *arch;
	const struct fpi_regs *regs;  /* the frame being unwound */
	const struct fpi_mem *mem;
	bool have_cfa;
	uint64_t cfa;
	char *why;
	size_t whylen;
};

static bool reg_value(struct expr_ctx *c, uint64_t regno, uint64_t *ret)
{
	int slot = fpi_arch_slot(c->arch, regno);

	if (slot < 0) {
		set_why(c->why, c->whylen, "CFI uses DWARF register %" PRIu64 ", not tracked", regno);
		return false;
	}
	*ret = c->regs->r[slot];
	return true;
}

static bool read_mem(struct expr_ctx *c, uint64_t addr, size_t size, uint64_t *ret)
{
	union { uint8_t u8; uint16_t u16; uint32_t u32; uint64_t u64; } v;

	if (size != 1 && size != 2 && size != 4 && size != 8) {
		set_why(c->why, c->whylen, "DW_OP_deref_size %zu", size);
		return false;
	}
	if (!c->mem->read(c->mem->arg, addr, &v, size)) {
		set_why(c->why, c->whylen, "cannot read %zu bytes at 0x%" PRIx64, size, addr);
		return false;
	}
	*ret = size == 1 ? v.u8 : size == 2 ? v.u16 : size == 4 ? v.u32 : v.u64;
	return true;
}

enum expr_result { EXPR_ADDRESS, EXPR_VALUE };

/* Evaluate ops (as libdw hands them out: a CFA expression, or a register
 * rule, which libdw prefixes with DW_OP_call_frame_cfa and ends with
 * DW_OP_stack_value for val_* rules). */
static bool eval(struct expr_ctx *c, const Dwarf_Op *ops, size_t nops,
		 uint64_t *ret, enum expr_result *kind)
{
	uint64_t st[EXPR_STACK];
	size_t sp = 0, steps = 0;
	uint64_t a, b;

#define NEED(n) do { if (sp < (n)) goto underflow; } while (0)
#define PUSH(v) do { uint64_t v_ = (v); if (sp == EXPR_STACK) goto overflow; st[sp++] = v_; } while (0)

	*kind = EXPR_ADDRESS;
	/* A register rule: the value is in another register. */
	if (nops == 1 && (ops[0].atom == DW_OP_regx ||
			  (ops[0].atom >= DW_OP_reg0 && ops[0].atom <= DW_OP_reg31))) {
		*kind = EXPR_VALUE;
		return reg_value(c, ops[0].atom == DW_OP_regx ? ops[0].number
				 : (uint64_t)(ops[0].atom - DW_OP_reg0), ret);
	}
	for (size_t i = 0; i < nops; i++) {
		const Dwarf_Op *op = &ops[i];
		uint8_t atom = op->atom;

		if (++steps > EXPR_MAX_STEPS) {
			set_why(c->why, c->whylen, "DWARF expression runs over %d steps", EXPR_MAX_STEPS);
			return false;
		}
		if (atom >= DW_OP_lit0 && atom <= DW_OP_lit31) {
			PUSH(atom - DW_OP_lit0);
			continue;
		}
		if (atom >= DW_OP_breg0 && atom <= DW_OP_breg31) {
			if (!reg_value(c, atom - DW_OP_breg0, &a))
				return false;
			PUSH(a + (int64_t)op->number);
			continue;
		}
		switch (atom) {
		case DW_OP_addr:
		case DW_OP_const1u: case DW_OP_const1s:
		case DW_OP_const2u: case DW_OP_const2s:
		case DW_OP_const4u: case DW_OP_const4s:
		case DW_OP_const8u: case DW_OP_const8s:
		case DW_OP_constu: case DW_OP_consts:
			/* libdw has sign-extended the signed forms already. */
			PUSH(op->number);
			break;
		case DW_OP_bregx:
			if (!reg_value(c, op->number, &a))
				return false;
			PUSH(a + (int64_t)op->number2);
			break;
		case DW_OP_call_frame_cfa:
			if (!c->have_cfa) {
				set_why(c->why, c->whylen, "DW_OP_call_frame_cfa in the CFA rule");
				return false;
			}
			PUSH(c->cfa);
			break;
		case DW_OP_dup:
			NEED(1); PUSH(st[sp - 1]);
			break;
		case DW_OP_drop:
			NEED(1); sp--;
			break;
		case DW_OP_over:
			NEED(2); PUSH(st[sp - 2]);
			break;
		case DW_OP_pick:
			NEED(op->number + 1); PUSH(st[sp - 1 - op->number]);
			break;
		case DW_OP_swap:
			NEED(2); a = st[sp - 1]; st[sp - 1] = st[sp - 2]; st[sp - 2] = a;
			break;
		case DW_OP_rot:
			NEED(3); a = st[sp - 1]; st[sp - 1] = st[sp - 2];
			st[sp - 2] = st[sp - 3]; st[sp - 3] = a;
			break;
		case DW_OP_deref:
			NEED(1);
			if (!read_mem(c, st[sp - 1], 8, &st[sp - 1]))
				return false;
			break;
		case DW_OP_deref_size:
			NEED(1);
			if (!read_mem(c, st[sp - 1], op->number, &st[sp - 1]))
				return false;
			break;
		case DW_OP_abs:
			NEED(1);
			if ((int64_t)st[sp - 1] < 0)
				st[sp - 1] = -st[sp - 1];
			break;
		case DW_OP_neg:
			NEED(1); st[sp - 1] = -st[sp - 1];
			break;
		case DW_OP_not:
			NEED(1); st[sp - 1] = ~st[sp - 1];
			break;
		case DW_OP_plus_uconst:
			NEED(1); st[sp - 1] += op->number;
			break;
		case DW_OP_and: case DW_OP_or: case DW_OP_xor:
		case DW_OP_plus: case DW_OP_minus: case DW_OP_mul:
		case DW_OP_div: case DW_OP_mod:
		case DW_OP_shl: case DW_OP_shr: case DW_OP_shra:
		case DW_OP_eq: case DW_OP_ne: case DW_OP_lt:
		case DW_OP_le: case DW_OP_gt: case DW_OP_ge:
			NEED(2);
			b = st[--sp];  /* top */
			a = st[sp - 1];
			switch (atom) {
			case DW_OP_and: a &= b; break;
			case DW_OP_or: a |= b; break;
			case DW_OP_xor: a ^= b; break;
			case DW_OP_plus: a += b; break;
			case DW_OP_minus: a -= b; break;
			case DW_OP_mul: a *= b; break;
			case DW_OP_div:
			case DW_OP_mod:
				if (b == 0 || ((int64_t)b == -1 && (int64_t)a == INT64_MIN)) {
					set_why(c->why, c->whylen, "division by zero in a DWARF expression");
					return false;
				}
				a = atom == DW_OP_div ? (uint64_t)((int64_t)a / (int64_t)b) : a % b;
				break;
			case DW_OP_shl: a = b >= 64 ? 0 : a << b; break;
			case DW_OP_shr: a = b >= 64 ? 0 : a >> b; break;
			case DW_OP_shra:
				a = (uint64_t)((int64_t)a >> (b >= 64 ? 63 : b));
				break;
			case DW_OP_eq: a = a == b; break;
			case DW_OP_ne: a = a != b; break;
			case DW_OP_lt: a = (int64_t)a < (int64_t)b; break;
			case DW_OP_le: a = (int64_t)a <= (int64_t)b; break;
			case DW_OP_gt: a = (int64_t)a > (int64_t)b; break;
			case DW_OP_ge: a = (int64_t)a >= (int64_t)b; break;
			}
			st[sp - 1] = a;
			break;
		case DW_OP_skip:
		case DW_OP_bra: {
			/* Operand: a signed byte count from the end of this op
			 * (1 byte opcode + 2 bytes). */
			uint64_t target;
			size_t j;

			if (atom == DW_OP_bra) {
				NEED(1);
				if (st[--sp] == 0)
					break;
			}
			target = op->offset + 3 + (int16_t)op->number;
			for (j = nops; j > 0 && ops[j - 1].offset != target; j--)
				;
			if (j == 0) {
				if (target > ops[nops - 1].offset) {
					i = nops;  /* past the end: done */
					break;
				}
				set_why(c->why, c->whylen, "DW_OP_skip/bra to a bad offset");
				return false;
			}
			i = j - 2;  /* the loop's i++ lands on j - 1 */
			break;
		}
		case DW_OP_nop:
			break;
		case DW_OP_stack_value:
			if (i + 1 != nops) {
				set_why(c->why, c->whylen, "DW_OP_stack_value before the end");
				return false;
			}
			*kind = EXPR_VALUE;
			break;
		default:
			set_why(c->why, c->whylen, "unsupported DWARF op 0x%x in CFI", atom);
			return false;
		}
	}
	NEED(1);
	*ret = st[sp - 1];
	return true;
underflow:
	set_why(c->why, c->whylen, "DWARF expression stack underflow");
	return false;
overflow:
	set_why(c->why, c->whylen, "DWARF expression stack overflow");
	return false;
#undef NEED
#undef PUSH
}

/* .debug_frame of the module's own file, read alone (cfi_frame.c): what
 * libdwfl would find as well, as it takes a module's DWARF from its main
 * file whenever that has any, and at the main file's bias. Otherwise (no
 * .debug_frame there: a separate debug file, say; or anything failing)
 * libdwfl's way, which opens the whole DWARF. */
static void load_debug_cfi(struct fpi_module *m)
{
	struct fpi_error *err;
	Dwarf_Addr bias;
	Elf *elf = dwfl_module_getelf(m->dwfl_mod, &bias);

	if (elf) {
		err = fpi_cfi_frame_open(elf, &m->frame_cfi);
		if (!err) {
			m->debug_cfi = fpi_cfi_frame_cfi(m->frame_cfi);
			m->debug_cfi_bias = bias;
			return;
		}
		/* not reported: the way below is the one always taken before */
		fpi_error_destroy(err);
	}
	m->debug_cfi = dwfl_module_dwarf_cfi(m->dwfl_mod, &m->debug_cfi_bias);
}

/* The FDE for lookup_pc: .eh_frame first (C code), then .debug_frame (Go
 * has only that, C has it when built with -g). */
static Dwarf_Frame *find_frame(struct fpi_module *m, uint64_t lookup_pc, bool *debug_frame,
			       char *why, size_t whylen)
{
	Dwarf_Frame *frame = NULL;
	Dwarf_Addr bias;
	Dwarf_CFI *cfi;
	char eh_err[96] = "no .eh_frame";

	if (!m->eh_cfi_loaded) {
		m->eh_cfi = dwfl_module_eh_cfi(m->dwfl_mod, &m->eh_cfi_bias);
		m->eh_cfi_loaded = true;
	}
	cfi = m->eh_cfi;
	if (cfi) {
		if (dwarf_cfi_addrframe(cfi, lookup_pc - m->eh_cfi_bias, &frame) == 0) {
			*debug_frame = false;
			return frame;
		}
		snprintf(eh_err, sizeof(eh_err), ".eh_frame: %s", dwarf_errmsg(-1));
	}
	if (!m->debug_cfi_loaded) {
		load_debug_cfi(m);
		m->debug_cfi_loaded = true;
	}
	cfi = m->debug_cfi;
	bias = m->debug_cfi_bias;
	if (cfi) {
		if (dwarf_cfi_addrframe(cfi, lookup_pc - bias, &frame) == 0) {
			*debug_frame = true;
			return frame;
		}
		set_why(why, whylen, "no CFI for pc 0x%" PRIx64 " in %s (%s; .debug_frame: %s)",
			lookup_pc, m->basename, eh_err, dwarf_errmsg(-1));
		return NULL;
	}
	set_why(why, whylen, "no CFI for pc 0x%" PRIx64 " in %s (%s; no .debug_frame)",
		lookup_pc, m->basename, eh_err);
	return NULL;
}

int fpi_cfi_step_info(struct fpi_modules *mods, const struct fpi_mem *mem,
		      const struct fpi_regs *regs, bool is_first_frame,
		      struct fpi_regs *ret, struct fpi_cfi_info *info,
		      char *why, size_t whylen)
{
	const struct fpi_arch_info *arch = fpi_modules_arch(mods);
	struct expr_ctx c = { .arch = arch, .regs = regs, .mem = mem, .why = why, .whylen = whylen };
	struct fpi_cfi_info info_mem;
	struct fpi_regs out;
	struct fpi_module *m;
	Dwarf_Frame *frame;
	Dwarf_Op *ops, ops_mem[3];
	size_t nops;
	enum expr_result kind;
	uint64_t pc = regs->r[FPI_REG_PC], lookup_pc, v;
	int result = -1, ra_regno, ra_slot;

	if (!info)
		info = &info_mem;
	memset(info, 0, sizeof(*info));
	if (why && whylen)
		why[0] = '\0';
	if (pc == 0) {
		set_why(why, whylen, "pc is 0");
		return -1;
	}
	/* A return address is the instruction after the call; the call may be
	 * the last instruction of its function (noreturn calls), so look up
	 * the call itself. */
	lookup_pc = is_first_frame ? pc : pc - 1;
	m = fpi_module_at(mods, lookup_pc);
	if (!m) {
		set_why(why, whylen, "pc 0x%" PRIx64 " is in no known module", pc);
		return -1;
	}
	frame = find_frame(m, lookup_pc, &info->debug_frame, why, whylen);
	if (!frame)
		return -1;
	ra_regno = dwarf_frame_info(frame, NULL, NULL, &info->signal_frame);
	ra_slot = ra_regno < 0 ? -1 : fpi_arch_slot(arch, (uint64_t)ra_regno);
	if (ra_slot < 0) {
		set_why(why, whylen, "pc 0x%" PRIx64 ": return address column %d", pc, ra_regno);
		goto out;
	}

	if (dwarf_frame_cfa(frame, &ops, &nops) != 0) {
		set_why(why, whylen, "dwarf_frame_cfa pc 0x%" PRIx64 ": %s", pc, dwarf_errmsg(-1));
		goto out;
	}
	if (nops == 0) {
		set_why(why, whylen, "pc 0x%" PRIx64 ": CFA undefined", pc);
		goto out;
	}
	if (!eval(&c, ops, nops, &c.cfa, &kind))
		goto out;
	c.have_cfa = true;

	memset(&out, 0, sizeof(out));
	out.fs_base = regs->fs_base;
	out.r[FPI_REG_SP] = c.cfa;
	/* The return address first: when it is undefined this is the
	 * outermost frame, whatever else can or cannot be recovered. */
	for (int k = -1; k < arch->ndwarf; k++) {
		int regno = k < 0 ? ra_regno : k, slot = fpi_arch_slot(arch, (uint64_t)regno);

		if (k == ra_regno || slot < 0)
			continue;
		if (dwarf_frame_register(frame, regno, ops_mem, &ops, &nops) != 0) {
			set_why(why, whylen, "dwarf_frame_register %d pc 0x%" PRIx64 ": %s",
				regno, pc, dwarf_errmsg(-1));
			goto out;
		}
		if (nops == 0) {
			/* ops == NULL: same_value; else undefined or, alike
			 * for libdw, unspecified. */
			if (regno == ra_regno) {
				if (!ops && ra_slot == arch->lr) {
					/* a frameless leaf, or before the
					 * prologue stored LR (Go's arm64 CFI
					 * says so at every such pc): the
					 * return address is still in LR */
					out.r[ra_slot] = regs->r[ra_slot];
					continue;
				}
				if (!ops) {
					set_why(why, whylen, "pc 0x%" PRIx64 ": return address rule is same_value", pc);
					goto out;
				}
				out.r[FPI_REG_PC] = 0;
				*ret = out;
				result = 1;
				goto out;
			}
			/* A callee-saved register no rule mentions is
			 * unchanged (SysV psABI). Not left to libdw's x86_64
			 * defaults: they name DWARF register 0 (rax) where
			 * rbx (3) is meant. This is also all Go's .debug_frame
			 * says about rbp, though Go code does change it: see
			 * fpi_cfi_info.rbp_from_rule. */
			if (slot != FPI_REG_SP && arch->callee_saved(regno))
				out.r[slot] = regs->r[slot];
			continue;
		}
		if (!eval(&c, ops, nops, &v, &kind))
			goto out;
		if (kind == EXPR_ADDRESS) {
			uint64_t addr = v;

			if (!mem->read(mem->arg, addr, &v, 8)) {
				set_why(why, whylen, "cannot read saved register %d at 0x%" PRIx64
					" (pc 0x%" PRIx64 ", CFA 0x%" PRIx64 ")", regno, addr, pc, c.cfa);
				goto out;
			}
		}
		if (slot == FPI_REG_FP)
			info->rbp_from_rule = true;
		out.r[slot] = v;
	}
	/* The return address column (rip on amd64, x30 on arm64) holds the
	 * caller's pc */
	out.r[FPI_REG_PC] = out.r[ra_slot];
	/* A return address of 0 ends the chain as well, as in libdwfl's
	 * unwinder (the slot above a goroutine's runtime.goexit frame is
	 * usually 0). */
	if (out.r[FPI_REG_PC] == 0) {
		*ret = out;
		result = 1;
		goto out;
	}
	if (out.r[FPI_REG_PC] == regs->r[FPI_REG_PC] && out.r[FPI_REG_SP] == regs->r[FPI_REG_SP]) {
		set_why(why, whylen, "pc 0x%" PRIx64 ": no progress (same pc and sp)", pc);
		goto out;
	}
	*ret = out;
	result = 0;
out:
	free(frame);
	return result;
}

int fpi_cfi_step(struct fpi_modules *mods, const struct fpi_mem *mem,
		 const struct fpi_regs *regs, bool is_first_frame,
		 struct fpi_regs *ret, char *why, size_t whylen)
{
	return fpi_cfi_step_info(mods, mem, regs, is_first_frame, ret, NULL, why, whylen);
}
