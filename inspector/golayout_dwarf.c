/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Layouts from DWARF through libdw, and where a separate debug file for a
 * stripped executable is. Go emits one or more compile units named
 * "runtime" (code, variables, constants, and the runtime's types); only
 * those are walked, and only their top-level entries. */
#include <ctype.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "golayout.h"

#define NT_GO_BUILDID 4

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
	Dwarf_Die g, m, schedt, waitreasons, labelmap, hmap;
	bool have_g, have_m, have_schedt, have_waitreasons;
	bool have_labelmap_struct, have_labelmap_map, have_hmap;
	uint64_t waitreasons_addr;
};

static void scan_die(struct go_layout *l, struct layout_scan *s, Dwarf_Die *die, bool globals)
{
	const char *name = dwarf_diename(die);
	int tag = dwarf_tag(die);

	/* every type is in the runtime's unit, runtime/pprof's too */
	if (name && strcmp(name, "runtime/pprof.labelMap") == 0) {
		if (tag == DW_TAG_structure_type)
			s->labelmap = *die, s->have_labelmap_struct = true;
		else if (tag == DW_TAG_typedef)
			s->have_labelmap_map = true;
		return;
	}
	if (!name || strncmp(name, "runtime.", 8) != 0)
		return;
	if (tag == DW_TAG_structure_type && dwarf_hasattr(die, DW_AT_byte_size)) {
		if (!s->have_hmap && strcmp(name, "runtime.hmap") == 0)
			s->hmap = *die, s->have_hmap = true;
		else if (!s->have_g && strcmp(name, "runtime.g") == 0)
			s->g = *die, s->have_g = true;
		else if (!s->have_m && strcmp(name, "runtime.m") == 0)
			s->m = *die, s->have_m = true;
		else if (!s->have_schedt && strcmp(name, "runtime.schedt") == 0)
			s->schedt = *die, s->have_schedt = true;
	} else if (tag == DW_TAG_variable) {
		/* the array's length is the layout's (a type); its address
		 * is this build's */
		if (strcmp(name, "runtime.waitReasonStrings") == 0) {
			s->waitreasons = *die;
			s->have_waitreasons = true;
			s->waitreasons_addr = var_addr(die);
		}
		if (!globals)
			return;
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
		else if (strcmp(name, "runtime.waitReasonStrings") == 0)
			l->waitreasons = s->waitreasons_addr;
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

/* Bytes at a link-time address from the file's PT_LOAD contents (a
 * separate debug file has none: its data sections are NOBITS). */
static bool file_read(Elf *elf, uint64_t addr, void *buf, size_t len)
{
	size_t nph;
	char *raw;
	size_t rawlen;

	if (elf_getphdrnum(elf, &nph) != 0 || !(raw = elf_rawfile(elf, &rawlen)))
		return false;
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(elf, i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (addr >= ph.p_vaddr && addr - ph.p_vaddr < ph.p_filesz && len <= ph.p_filesz - (addr - ph.p_vaddr)) {
			uint64_t off = ph.p_offset + (addr - ph.p_vaddr);

			if (off > rawlen || len > rawlen - off)
				return false;
			memcpy(buf, raw + off, len);
			return true;
		}
	}
	return false;
}

/* The wait-reason strings are constant data of the build: a layout file
 * carries them, so a stripped binary needs no waitReasonStrings address. */
static void waitreasons_from_file(struct go_layout *l, Elf *elf, uint64_t addr)
{
	uint64_t *hdr;
	char **strs;

	if (!addr || !l->nwaitreasons || !(hdr = calloc(l->nwaitreasons, 16)))
		return;
	if (!file_read(elf, addr, hdr, l->nwaitreasons * 16) || !(strs = calloc(l->nwaitreasons, sizeof(char *)))) {
		free(hdr);
		return;
	}
	for (uint32_t i = 0; i < l->nwaitreasons; i++) {
		uint64_t len = hdr[2 * i + 1];

		if (len < 4096 && (strs[i] = calloc(1, len + 1)) && len && !file_read(elf, hdr[2 * i], strs[i], len)) {
			free(strs[i]);
			strs[i] = NULL;
		}
	}
	free(hdr);
	l->waitreason_strs = strs;
	l->nwaitreason_strs = l->nwaitreasons;
}

/* The DWARF of the runtime's types, read from the sections they are in.
 * libdw inflates every compressed debug section as it opens them (Caddy:
 * 45 MB, 200 ms), but types and variables are in .debug_info with what it
 * refers to; line tables, location lists, ranges and CFI are the
 * unwinder's (read by libdwfl on its own). dwarf_begin_elf takes a section
 * group to read alone: one made in memory (never written), on a handle of
 * its own of the same file, so the caller's Elf sees no extra section.
 * Without one (no such section, or libelf refuses): every section. */
struct types_dwarf {
	Dwarf *dw;
	Elf *own;
	int fd;
	Elf32_Word *group;
};

static void types_dwarf_open(Elf *elf, const char *path, struct types_dwarf *t)
{
	static const char *const want[] = {
		".debug_info", ".debug_abbrev", ".debug_str", ".debug_str_offsets", ".debug_line_str",
		".debug_addr", ".zdebug_info", ".zdebug_abbrev", ".zdebug_str",
	};
	size_t shstrndx, nscn = 0, n = 1;
	Elf_Scn *scn = NULL, *grp;
	Elf_Data *d;
	GElf_Shdr sh;

	memset(t, 0, sizeof(*t));
	t->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (t->fd >= 0 && (t->own = elf_begin(t->fd, ELF_C_READ_MMAP, NULL)) && elf_kind(t->own) == ELF_K_ELF &&
	    elf_getshdrnum(t->own, &nscn) == 0 && nscn < 65536 && (t->group = calloc(nscn + 1, sizeof(Elf32_Word))) &&
	    elf_getshdrstrndx(t->own, &shstrndx) == 0) {
		while ((scn = elf_nextscn(t->own, scn)) && n <= nscn) {
			const char *name = gelf_getshdr(scn, &sh) ? elf_strptr(t->own, shstrndx, sh.sh_name) : NULL;

			for (size_t k = 0; name && k < sizeof(want) / sizeof(want[0]); k++)
				if (!strcmp(name, want[k]))
					t->group[n++] = (Elf32_Word)elf_ndxscn(scn);
		}
		if (n > 1 && (grp = elf_newscn(t->own)) && (d = elf_newdata(grp)) && gelf_getshdr(grp, &sh)) {
			d->d_buf = t->group;
			d->d_size = n * sizeof(Elf32_Word);
			d->d_type = ELF_T_WORD;
			d->d_version = EV_CURRENT;
			sh.sh_type = SHT_GROUP;
			if (gelf_update_shdr(grp, &sh))
				t->dw = dwarf_begin_elf(t->own, DWARF_C_READ, grp);
		}
	}
	if (!t->dw) {
		if (t->own)
			elf_end(t->own);
		if (t->fd >= 0)
			close(t->fd);
		free(t->group);
		memset(t, 0, sizeof(*t));
		t->fd = -1;
		t->dw = dwarf_begin_elf(elf, DWARF_C_READ, NULL);
	}
}

static void types_dwarf_close(struct types_dwarf *t)
{
	dwarf_end(t->dw);
	if (t->own)
		elf_end(t->own);
	if (t->fd >= 0)
		close(t->fd);
	free(t->group);
}

struct fpi_error *go_layout_from_dwarf(struct go_layout *l, Elf *elf, const char *path, bool globals)
{
	struct layout_scan s = { 0 };
	Dwarf_Off off = 0, next;
	size_t hsize;
	struct types_dwarf td;
	Dwarf *dw;
	bool any_runtime = false;

	types_dwarf_open(elf, path, &td);
	dw = td.dw;
	if (!dw)
		return fpi_error_create(FPI_ERR_NODWARF, "%s has no DWARF", path);
	while (dwarf_nextcu(dw, off, &next, &hsize, NULL, NULL, NULL) == 0) {
		Dwarf_Die cu, child;
		const char *name;

		if (dwarf_offdie(dw, off + hsize, &cu) && (name = dwarf_diename(&cu)) && strcmp(name, "runtime") == 0) {
			any_runtime = true;
			if (dwarf_child(&cu, &child) == 0) {
				do
					scan_die(l, &s, &child, globals);
				while (dwarf_siblingof(&child, &child) == 0);
			}
		}
		off = next;
	}
	if (!any_runtime) {
		types_dwarf_close(&td);
		return fpi_error_create(FPI_ERR_NODWARF,
					"%s has DWARF but no Go runtime compile unit: not a Go program fpinspect understands",
					path);
	}
	if (!s.have_g || !s.have_m || (globals && (!l->allgs || !l->allm))) {
		types_dwarf_close(&td);
		return fpi_error_create(FPI_ERR_NODWARF, "%s: the Go runtime's DWARF lacks %s: cannot read goroutines",
					path, !s.have_g ? "type runtime.g" : !s.have_m ? "type runtime.m" :
					!l->allgs ? "variable runtime.allgs" : "variable runtime.allm");
	}
	{
		Dwarf_Word sz;

		dwarf_aggregate_size(&s.g, &sz);
		l->g_size = sz;
		dwarf_aggregate_size(&s.m, &sz);
		l->m_size = sz;
	}
	for (size_t i = 0; i < go_layout_nfields; i++) {
		const struct go_field_desc *d = &go_layout_fields[i];
		Dwarf_Die *type = !strcmp(d->type, "g") ? &s.g : !strcmp(d->type, "m") ? &s.m :
				  !strcmp(d->type, "schedt") ? (s.have_schedt ? &s.schedt : NULL) :
				  !strcmp(d->type, "labelmap") ? (s.have_labelmap_struct ? &s.labelmap : NULL) :
				  s.have_hmap && s.have_labelmap_map ? &s.hmap : NULL;

		if (!type)
			continue;
		struct_field(type, d->path, go_layout_field(l, d));
		if (!go_has(*go_layout_field(l, d)) && d->alt)
			struct_field(type, d->alt, go_layout_field(l, d));
	}
	/* a labelMap that is a map[string]string but no hmap: a swiss map
	 * (1.24, 1.25), not read */
	if (s.have_labelmap_map && !s.have_hmap)
		l->labels_kind = GO_LABELS_UNREAD;
	go_layout_labels_kind(l);
	if (s.have_waitreasons) {
		Dwarf_Die t;
		Dwarf_Word sz;

		if (peel_type(&s.waitreasons, &t) && dwarf_aggregate_size(&t, &sz) == 0)
			l->nwaitreasons = sz / 16;
		if (l->nwaitreasons > 1024)
			l->nwaitreasons = 0;
		waitreasons_from_file(l, elf, s.waitreasons_addr);
	}
	l->have_globals = globals;
	l->globals_linktime = globals;
	types_dwarf_close(&td);
	return NULL;
}

/* ---- separate debug files ---- */

/* The descriptor of the note (type, owner) in any SHT_NOTE section. */
bool go_elf_note(Elf *elf, uint32_t type, const char *owner, const void **desc, size_t *len)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;
		size_t off = 0, name_off, desc_off;
		GElf_Nhdr nh;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE || !(d = elf_getdata(scn, NULL)))
			continue;
		while ((off = gelf_getnote(d, off, &nh, &name_off, &desc_off)) > 0) {
			if (nh.n_type == type && nh.n_namesz == strlen(owner) + 1 &&
			    memcmp((char *)d->d_buf + name_off, owner, nh.n_namesz) == 0) {
				*desc = (char *)d->d_buf + desc_off;
				*len = nh.n_descsz;
				return true;
			}
		}
	}
	return false;
}


/* The same build: the GNU build IDs agree, or (Go writes none unless
 * -ldflags=-B is given) Go's own build IDs do. */
char *go_layout_build_id(Elf *elf)
{
	const void *d;
	size_t len;
	char *id;

	if (go_elf_note(elf, NT_GNU_BUILD_ID, "GNU", &d, &len) && len >= 8 && len <= 64 && (id = malloc(2 * len + 1))) {
		for (size_t i = 0; i < len; i++)
			sprintf(id + 2 * i, "%02x", ((const unsigned char *)d)[i]);
		return id;
	}
	/* actionID/contentID: a hash of the build's inputs and of its output */
	if (go_elf_note(elf, NT_GO_BUILDID, "Go", &d, &len) && len >= 16 && len <= 256 && (id = malloc(len + 4))) {
		memcpy(id, "go-", 3);
		for (size_t i = 0; i < len; i++) {
			char c = ((const char *)d)[i];

			id[3 + i] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
				    c == '-' || c == '_' ? c : '_';
		}
		id[3 + len] = '\0';
		return id;
	}
	return NULL;
}

bool go_layout_same_build(Elf *a, Elf *b)
{
	static const struct { uint32_t type; const char *owner; } ids[] = {
		{ NT_GNU_BUILD_ID, "GNU" }, { NT_GO_BUILDID, "Go" },
	};

	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		const void *da, *db;
		size_t la, lb;

		if (go_elf_note(a, ids[i].type, ids[i].owner, &da, &la) && go_elf_note(b, ids[i].type, ids[i].owner, &db, &lb))
			return la == lb && la > 0 && memcmp(da, db, la) == 0;
	}
	return false;
}

static char *existing(const char *path)
{
	return access(path, R_OK) == 0 ? strdup(path) : NULL;
}

/* GDB's debug-file-directory; tests point it elsewhere */
static const char *debug_root(void)
{
	const char *d = getenv("FPINSPECT_DEBUG_FILE_DIRECTORY");

	return d && *d ? d : "/usr/lib/debug";
}

static bool crc_matches(const char *path, uint32_t want)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	unsigned char buf[65536];
	uLong crc = crc32(0, NULL, 0);
	ssize_t n;

	if (fd < 0)
		return false;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		crc = crc32(crc, buf, n);
	close(fd);
	return n == 0 && crc == want;
}

char *go_layout_find_debug_file(Elf *exe, const char *exe_path, bool *same_build)
{
	const void *desc;
	size_t len;
	char path[4096];

	*same_build = false;
	/* /usr/lib/debug/.build-id/ab/cdef....debug, as GDB and eu-* look */
	if (go_elf_note(exe, NT_GNU_BUILD_ID, "GNU", &desc, &len) && len >= 2 && len <= 64) {
		const unsigned char *id = desc;
		int n = snprintf(path, sizeof(path), "%s/.build-id/%02x/", debug_root(), id[0]);

		for (size_t i = 1; i < len && n > 0 && (size_t)n < sizeof(path) - 8; i++)
			n += snprintf(path + n, sizeof(path) - n, "%02x", id[i]);
		if (n > 0 && (size_t)n < sizeof(path) - 8) {
			char *p;

			strcat(path, ".debug");
			if ((p = existing(path))) {
				*same_build = true;
				return p;
			}
		}
	}
	/* .gnu_debuglink: a file name, NUL, padding to 4, the file's CRC32;
	 * next to the exe, in .debug/ there, under the debug root */
	{
		Elf_Scn *scn = go_elf_section(exe, ".gnu_debuglink");
		Elf_Data *d;
		char dir[4096], *slash;
		size_t nlen;
		uint32_t crc;

		if (!scn || !(d = elf_getdata(scn, NULL)) || !d->d_buf)
			return NULL;
		nlen = strnlen(d->d_buf, d->d_size);
		if (nlen == 0 || nlen >= d->d_size || strchr(d->d_buf, '/') || ((nlen + 4) & ~3u) + 4 > d->d_size)
			return NULL;
		memcpy(&crc, (char *)d->d_buf + ((nlen + 4) & ~3u), 4);
		snprintf(dir, sizeof(dir), "%s", exe_path);
		slash = strrchr(dir, '/');
		if (slash)
			*slash = '\0';
		else
			strcpy(dir, ".");
		for (int k = 0; k < 3; k++) {
			char *p;

			snprintf(path, sizeof(path), "%s%s%s/%s", k == 2 ? debug_root() : "", dir,
				 k == 1 ? "/.debug" : "", (char *)d->d_buf);
			if ((p = existing(path))) {
				*same_build = crc_matches(p, crc);
				return p;
			}
		}
	}
	return NULL;
}
