/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Layouts from DWARF through libdw. Go emits one or more compile units named
 * "runtime" (code, variables, constants, and the runtime's types); only those
 * are walked, and only their top-level entries. */
#include <ctype.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "golayout.h"

uint64_t go_get(const void *buf, struct go_field f)
{
	const unsigned char *p = (const unsigned char *)buf + f.off;

	switch (f.size) {
	case 1: return p[0];
	case 2: { uint16_t v; memcpy(&v, p, 2); return v; }
	case 4: { uint32_t v; memcpy(&v, p, 4); return v; }
	case 8: { uint64_t v; memcpy(&v, p, 8); return v; }
	default: return 0;
	}
}

const char *go_status_name(const struct go_layout *l, uint32_t status)
{
	if (status < GO_MAX_STATUS && l->status_names[status])
		return l->status_names[status];
	return "unknown";
}

bool go_status_known(const struct go_layout *l, uint32_t status)
{
	uint32_t base = status & ~l->gscan;

	return base < GO_MAX_STATUS && l->status_names[base];
}

const char *go_waitreason(const struct go_layout *l, uint32_t reason)
{
	if (reason < l->nwaitreason_strs && l->waitreason_strs[reason])
		return l->waitreason_strs[reason];
	return NULL;
}

/* ---- .go.buildinfo: present even without DWARF or symbols ---- */

static Elf_Scn *find_section(Elf *elf, const char *want)
{
	size_t shstrndx;
	Elf_Scn *scn = NULL;

	if (elf_getshdrstrndx(elf, &shstrndx) != 0)
		return NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		const char *name;

		if (!gelf_getshdr(scn, &sh))
			continue;
		name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (name && strcmp(name, want) == 0)
			return scn;
	}
	return NULL;
}

static char *buildinfo_version(Elf *elf)
{
	static const char magic[] = "\xff Go buildinf:";
	Elf_Scn *scn = find_section(elf, ".go.buildinfo");
	Elf_Data *d;
	const unsigned char *p;
	uint64_t len = 0;
	size_t i = 32;
	int shift = 0;

	if (!scn || !(d = elf_getdata(scn, NULL)) || d->d_size < 33 || !d->d_buf)
		return NULL;
	p = d->d_buf;
	if (memcmp(p, magic, 14) != 0 || !(p[15] & 2))
		return NULL; /* pre-1.18 pointer format: use runtime.buildVersion instead */
	while (i < d->d_size && shift < 35) {
		len |= (uint64_t)(p[i] & 0x7f) << shift;
		shift += 7;
		if (!(p[i++] & 0x80))
			break;
	}
	if (len == 0 || len > 64 || i + len > d->d_size)
		return NULL;
	return strndup((const char *)p + i, len);
}

char *go_buildinfo_version(const char *exe)
{
	int fd = open(exe, O_RDONLY | O_CLOEXEC);
	Elf *elf;
	char *v = NULL;

	if (fd < 0)
		return NULL;
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (elf)
		v = buildinfo_version(elf);
	elf_end(elf);
	close(fd);
	return v;
}

/* ---- DWARF ---- */

static bool peel_type(Dwarf_Die *die, Dwarf_Die *ret)
{
	Dwarf_Attribute attr;
	Dwarf_Die cur = *die;

	if (!dwarf_attr_integrate(&cur, DW_AT_type, &attr) || !dwarf_formref_die(&attr, ret))
		return false;
	for (int i = 0; i < 8 && dwarf_tag(ret) == DW_TAG_typedef; i++) {
		cur = *ret;
		if (!dwarf_attr_integrate(&cur, DW_AT_type, &attr) || !dwarf_formref_die(&attr, ret))
			return false;
	}
	return true;
}

static bool find_member(Dwarf_Die *type, const char *name, Dwarf_Die *ret)
{
	if (dwarf_child(type, ret) != 0)
		return false;
	do {
		const char *n;

		if (dwarf_tag(ret) == DW_TAG_member && (n = dwarf_diename(ret)) && strcmp(n, name) == 0)
			return true;
	} while (dwarf_siblingof(ret, ret) == 0);
	return false;
}

/* Resolve "sched.bp" inside a struct type. Atomic wrappers (atomic.Uint32
 * from Go 1.20 on, a struct holding "value") resolve to their value. */
static void struct_field(Dwarf_Die *type, const char *path, struct go_field *ret)
{
	Dwarf_Die cur = *type, mem, mtype;
	char buf[128], *save = NULL, *comp;
	uint64_t off = 0;

	*ret = (struct go_field){ 0, 0 };
	snprintf(buf, sizeof(buf), "%s", path);
	for (comp = strtok_r(buf, ".", &save); comp; comp = strtok_r(NULL, ".", &save)) {
		Dwarf_Attribute attr;
		Dwarf_Word w;

		if (!find_member(&cur, comp, &mem))
			return;
		if (!dwarf_attr(&mem, DW_AT_data_member_location, &attr) || dwarf_formudata(&attr, &w) != 0)
			return;
		off += w;
		if (!peel_type(&mem, &mtype))
			return;
		cur = mtype;
	}
	if (dwarf_tag(&cur) == DW_TAG_structure_type && find_member(&cur, "value", &mem)) {
		Dwarf_Attribute attr;
		Dwarf_Word w;

		if (dwarf_attr(&mem, DW_AT_data_member_location, &attr) && dwarf_formudata(&attr, &w) == 0 &&
		    peel_type(&mem, &mtype)) {
			off += w;
			cur = mtype;
		}
	}
	{
		Dwarf_Word size;

		if (dwarf_aggregate_size(&cur, &size) != 0 || size == 0 || size > 8)
			return;
		ret->off = off;
		ret->size = size;
	}
}

/* Go writes global locations as DW_FORM_block1 holding DW_OP_addr, which
 * dwarf_getlocation refuses in DWARF 4 units: decode the block directly. */
static uint64_t var_addr(Dwarf_Die *die)
{
	Dwarf_Attribute attr;
	Dwarf_Block block;
	Dwarf_Op *ops;
	size_t nops;
	uint64_t addr;

	if (!dwarf_attr(die, DW_AT_location, &attr))
		return 0;
	if (dwarf_getlocation(&attr, &ops, &nops) == 0)
		return nops == 1 && ops[0].atom == DW_OP_addr ? ops[0].number : 0;
	if (dwarf_formblock(&attr, &block) != 0 || block.length != 9 || block.data[0] != DW_OP_addr)
		return 0;
	memcpy(&addr, block.data + 1, 8);
	return addr;
}

struct layout_scan {
	Dwarf_Die g, m;
	bool have_g, have_m, have_schedt;
	Dwarf_Die schedt;
	Dwarf_Die waitreasons;
	bool have_waitreasons;
};

static void scan_die(struct go_layout *l, struct layout_scan *s, Dwarf_Die *die)
{
	const char *name = dwarf_diename(die);
	int tag = dwarf_tag(die);

	if (!name || strncmp(name, "runtime.", 8) != 0)
		return;
	if (tag == DW_TAG_structure_type && dwarf_hasattr(die, DW_AT_byte_size)) {
		if (!s->have_g && strcmp(name, "runtime.g") == 0)
			s->g = *die, s->have_g = true;
		else if (!s->have_m && strcmp(name, "runtime.m") == 0)
			s->m = *die, s->have_m = true;
		else if (!s->have_schedt && strcmp(name, "runtime.schedt") == 0)
			s->schedt = *die, s->have_schedt = true;
	} else if (tag == DW_TAG_variable) {
		if (strcmp(name, "runtime.allgs") == 0)
			l->allgs = var_addr(die);
		else if (strcmp(name, "runtime.allglen") == 0)
			l->allglen = var_addr(die);
		else if (strcmp(name, "runtime.allm") == 0)
			l->allm = var_addr(die);
		else if (strcmp(name, "runtime.sched") == 0)
			l->sched = var_addr(die);
		else if (strcmp(name, "runtime.maxstacksize") == 0)
			l->maxstacksize_addr = var_addr(die);
		else if (strcmp(name, "runtime.buildVersion") == 0)
			l->buildversion = var_addr(die);
		else if (strcmp(name, "runtime.waitReasonStrings") == 0) {
			l->waitreasons = var_addr(die);
			s->waitreasons = *die;
			s->have_waitreasons = true;
		}
	} else if (tag == DW_TAG_constant && strncmp(name, "runtime._G", 10) == 0 &&
		   islower((unsigned char)name[10])) {
		/* statuses are _Gidle, _Gwaiting, ...; _GCoff and friends are GC phases */
		Dwarf_Attribute attr;
		Dwarf_Sword v;

		if (!dwarf_attr(die, DW_AT_const_value, &attr) || dwarf_formsdata(&attr, &v) != 0)
			return;
		if (strcmp(name + 10, "scan") == 0) {
			l->gscan = v;
		} else if (v >= 0 && v < GO_MAX_STATUS && !l->status_names[v]) {
			char *n = strdup(name + 10);

			for (char *c = n; c && *c; c++)
				*c = tolower((unsigned char)*c);
			l->status_names[v] = n;
			if (n && strcmp(n, "dead") == 0)
				l->gdead = v;
			else if (n && strcmp(n, "deadextra") == 0)
				l->gdeadextra = v;
		}
	}
}

static struct fpi_error *classify_non_dwarf(Elf *elf, const char *exe)
{
	bool go = find_section(elf, ".gopclntab") || find_section(elf, ".go.buildinfo");
	char *v;

	if (!go)
		return fpi_error_create(FPI_ERR_NOTGO,
			"%s is not a Go program (no .gopclntab, no .go.buildinfo, no Go runtime in its DWARF)", exe);
	v = buildinfo_version(elf);
	{
		struct fpi_error *err = fpi_error_create(FPI_ERR_NODWARF,
			"%s is a Go program (%s) built without DWARF debug information (-ldflags=-w or -s, or stripped): "
			"fpinspect reads the runtime's layouts from DWARF; rebuild without -w/-s and do not strip",
			exe, v ? v : "version unknown");
		free(v);
		return err;
	}
}

struct fpi_error *go_layout_load(const char *exe, struct go_layout **ret)
{
	struct go_layout *l;
	struct layout_scan s = { 0 };
	struct fpi_error *err = NULL;
	Dwarf_Off off = 0, next;
	size_t hsize;
	Dwarf *dw = NULL;
	Elf *elf = NULL;
	int fd;
	bool any_runtime = false;

	fd = open(exe, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fpi_error_create(FPI_ERR_NOTGO, "cannot open executable %s: %m", exe);
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF) {
		err = fpi_error_create(FPI_ERR_NOTGO, "%s is not an ELF executable", exe);
		goto out;
	}
	l = calloc(1, sizeof(*l));
	if (!l) {
		err = &fpi_enomem;
		goto out;
	}
	l->gdead = l->gdeadextra = -1;
	l->maxstacksize = 1000000000;
	l->exe_path = strdup(exe);
	l->go_version = buildinfo_version(elf);

	dw = dwarf_begin_elf(elf, DWARF_C_READ, NULL);
	if (!dw) {
		err = classify_non_dwarf(elf, exe);
		go_layout_destroy(l);
		goto out;
	}
	while (dwarf_nextcu(dw, off, &next, &hsize, NULL, NULL, NULL) == 0) {
		Dwarf_Die cu, child;
		const char *name;

		if (dwarf_offdie(dw, off + hsize, &cu) && (name = dwarf_diename(&cu)) &&
		    strcmp(name, "runtime") == 0) {
			any_runtime = true;
			if (dwarf_child(&cu, &child) == 0) {
				do
					scan_die(l, &s, &child);
				while (dwarf_siblingof(&child, &child) == 0);
			}
		}
		off = next;
	}
	if (!any_runtime) {
		err = classify_non_dwarf(elf, exe);
		if (err->code == FPI_ERR_NODWARF) {
			fpi_error_destroy(err);
			err = fpi_error_create(FPI_ERR_NODWARF,
				"%s has DWARF but no Go runtime compile unit: not a Go program fpinspect understands", exe);
		}
		go_layout_destroy(l);
		goto out;
	}
	if (!s.have_g || !s.have_m || !l->allgs || !l->allm) {
		err = fpi_error_create(FPI_ERR_NODWARF,
			"%s: the Go runtime's DWARF lacks %s: cannot read goroutines", exe,
			!s.have_g ? "type runtime.g" : !s.have_m ? "type runtime.m" :
			!l->allgs ? "variable runtime.allgs" : "variable runtime.allm");
		go_layout_destroy(l);
		goto out;
	}
	{
		Dwarf_Word sz;

		dwarf_aggregate_size(&s.g, &sz);
		l->g_size = sz;
		dwarf_aggregate_size(&s.m, &sz);
		l->m_size = sz;
	}
	struct_field(&s.g, "stack.lo", &l->g_stack_lo);
	struct_field(&s.g, "stack.hi", &l->g_stack_hi);
	struct_field(&s.g, "m", &l->g_m);
	struct_field(&s.g, "sched.sp", &l->g_sched_sp);
	struct_field(&s.g, "sched.pc", &l->g_sched_pc);
	struct_field(&s.g, "sched.bp", &l->g_sched_bp);
	/* LR machines: where a goroutine that has not run yet returns to
	 * (gostartcall puts goexit there) */
	struct_field(&s.g, "sched.lr", &l->g_sched_lr);
	struct_field(&s.g, "syscallsp", &l->g_syscallsp);
	struct_field(&s.g, "syscallpc", &l->g_syscallpc);
	struct_field(&s.g, "syscallbp", &l->g_syscallbp);
	struct_field(&s.g, "atomicstatus", &l->g_atomicstatus);
	struct_field(&s.g, "goid", &l->g_goid);
	struct_field(&s.g, "waitreason", &l->g_waitreason);
	struct_field(&s.g, "lockedm", &l->g_lockedm);
	struct_field(&s.g, "gopc", &l->g_gopc);
	struct_field(&s.g, "startpc", &l->g_startpc);
	struct_field(&s.g, "parentGoid", &l->g_parentgoid);
	struct_field(&s.g, "waitsince", &l->g_waitsince);
	struct_field(&s.m, "g0", &l->m_g0);
	struct_field(&s.m, "procid", &l->m_procid);
	struct_field(&s.m, "gsignal", &l->m_gsignal);
	struct_field(&s.m, "curg", &l->m_curg);
	struct_field(&s.m, "id", &l->m_id);
	struct_field(&s.m, "incgo", &l->m_incgo);
	struct_field(&s.m, "isextra", &l->m_isextra);
	struct_field(&s.m, "isExtraInC", &l->m_isextraInC);
	struct_field(&s.m, "ncgo", &l->m_ncgo);
	struct_field(&s.m, "alllink", &l->m_alllink);
	struct_field(&s.m, "lockedg", &l->m_lockedg);
	struct_field(&s.m, "p", &l->m_p);
	struct_field(&s.m, "vdsoSP", &l->m_vdsosp);
	struct_field(&s.m, "vdsoPC", &l->m_vdsopc);
	if (s.have_schedt)
		struct_field(&s.schedt, "mnext", &l->sched_mnext);
	if (!go_has(l->g_stack_lo) || !go_has(l->g_sched_pc) || !go_has(l->g_atomicstatus) ||
	    !go_has(l->g_goid) || !go_has(l->m_alllink) || !go_has(l->m_procid) || !go_has(l->m_g0)) {
		err = fpi_error_create(FPI_ERR_NODWARF,
			"%s: runtime.g/runtime.m in DWARF lack fields fpinspect needs (stack, sched, atomicstatus, goid, procid): "
			"unsupported Go version %s", exe, l->go_version ? l->go_version : "(unknown)");
		go_layout_destroy(l);
		goto out;
	}
	if (s.have_waitreasons) {
		Dwarf_Die t;
		Dwarf_Word sz;

		if (peel_type(&s.waitreasons, &t) && dwarf_aggregate_size(&t, &sz) == 0)
			l->nwaitreasons = sz / 16;
		if (l->nwaitreasons > 1024)
			l->nwaitreasons = 0;
	}
	if (l->go_version && strncmp(l->go_version, "go1.", 4) == 0)
		l->version_minor = atoi(l->go_version + 4);
	*ret = l;
out:
	if (dw)
		dwarf_end(dw);
	elf_end(elf);
	close(fd);
	return err;
}

static char *read_gostring(struct fpi_target *t, uint64_t ptr, uint64_t len)
{
	char *s;

	if (len > 4096)
		return NULL;
	s = malloc(len + 1);
	if (!s)
		return NULL;
	if (len) {
		struct fpi_error *err = fpi_target_read(t, ptr, s, len);

		if (err) {
			fpi_error_destroy(err);
			free(s);
			return NULL;
		}
	}
	s[len] = '\0';
	return s;
}

struct fpi_error *go_layout_read_target(struct go_layout *l, struct fpi_target *t)
{
	struct fpi_error *err;
	uint64_t *hdr, v;

	/* what runtime.main sets on 64-bit, when the variable cannot be read
	 * (or holds something no runtime would) */
	l->maxstacksize = 1000000000;
	if (l->maxstacksize_addr && fpi_target_read_u64(t, l->maxstacksize_addr, &v) && v >= 4096 && v < (1ull << 40))
		l->maxstacksize = v;
	if (!l->go_version && l->buildversion) {
		uint64_t sh[2];

		err = fpi_target_read(t, l->buildversion, sh, sizeof(sh));
		if (!err)
			l->go_version = read_gostring(t, sh[0], sh[1]);
		fpi_error_destroy(err);
		if (l->go_version && strncmp(l->go_version, "go1.", 4) == 0)
			l->version_minor = atoi(l->go_version + 4);
	}
	if (!l->waitreasons || !l->nwaitreasons || l->waitreason_strs)
		return NULL;
	hdr = calloc(l->nwaitreasons, 16);
	l->waitreason_strs = calloc(l->nwaitreasons, sizeof(char *));
	if (!hdr || !l->waitreason_strs) {
		free(hdr);
		return &fpi_enomem;
	}
	err = fpi_target_read(t, l->waitreasons, hdr, l->nwaitreasons * 16);
	if (err) {
		free(hdr);
		return fpi_error_wrap(err, "reading runtime.waitReasonStrings");
	}
	l->nwaitreason_strs = l->nwaitreasons;
	for (uint32_t i = 0; i < l->nwaitreasons; i++)
		l->waitreason_strs[i] = read_gostring(t, hdr[2 * i], hdr[2 * i + 1]);
	free(hdr);
	return NULL;
}

void go_layout_destroy(struct go_layout *l)
{
	if (!l)
		return;
	for (int i = 0; i < GO_MAX_STATUS; i++)
		free(l->status_names[i]);
	for (uint32_t i = 0; i < l->nwaitreason_strs; i++)
		free(l->waitreason_strs[i]);
	free(l->waitreason_strs);
	free(l->go_version);
	free(l->exe_path);
	free(l);
}
