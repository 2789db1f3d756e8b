/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The layout's accessors, and the order its sources are tried in (the
 * readers: golayout_dwarf.c, golayout_file.c). */
#include <fcntl.h>
#include <inttypes.h>
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

Elf_Scn *go_elf_section(Elf *elf, const char *want)
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
	Elf_Scn *scn = go_elf_section(elf, ".go.buildinfo");
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

/* GOEXPERIMENT as the build settings in .go.buildinfo record it (the
 * modinfo string after the version, 1.18+): NULL when none was set. */
static char *buildinfo_experiment(Elf *elf)
{
	static const char key[] = "\nbuild\tGOEXPERIMENT=";
	Elf_Scn *scn = go_elf_section(elf, ".go.buildinfo");
	Elf_Data *d;
	const char *p, *end, *hit, *nl;

	if (!scn || !(d = elf_getdata(scn, NULL)) || !d->d_buf || d->d_size < 33)
		return NULL;
	p = (const char *)d->d_buf + 32;
	end = (const char *)d->d_buf + d->d_size;
	hit = memmem(p, end - p, key, sizeof(key) - 1);
	if (!hit)
		return NULL;
	hit += sizeof(key) - 1;
	nl = memchr(hit, '\n', end - hit);
	if (!nl || nl == hit || nl - hit > 200)
		return NULL;
	return strndup(hit, nl - hit);
}

/* ---- the fields, for every source ---- */

#define F(t, p, member) { t, p, offsetof(struct go_layout, member), NULL }
const struct go_field_desc go_layout_fields[] = {
	F("g", "stack.lo", g_stack_lo), F("g", "stack.hi", g_stack_hi), F("g", "m", g_m),
	F("g", "sched.sp", g_sched_sp), F("g", "sched.pc", g_sched_pc), F("g", "sched.bp", g_sched_bp),
	/* LR machines: where a goroutine that has not run yet returns to
	 * (gostartcall puts goexit there) */
	F("g", "sched.lr", g_sched_lr),
	F("g", "syscallsp", g_syscallsp), F("g", "syscallpc", g_syscallpc), F("g", "syscallbp", g_syscallbp),
	F("g", "atomicstatus", g_atomicstatus), F("g", "goid", g_goid), F("g", "waitreason", g_waitreason),
	F("g", "lockedm", g_lockedm), F("g", "gopc", g_gopc), F("g", "startpc", g_startpc),
	F("g", "parentGoid", g_parentgoid), F("g", "waitsince", g_waitsince),
	F("m", "g0", m_g0), F("m", "procid", m_procid), F("m", "gsignal", m_gsignal), F("m", "curg", m_curg),
	F("m", "id", m_id), F("m", "incgo", m_incgo), F("m", "isextra", m_isextra),
	F("m", "isExtraInC", m_isextraInC), F("m", "ncgo", m_ncgo), F("m", "alllink", m_alllink),
	F("m", "lockedg", m_lockedg), F("m", "p", m_p), F("m", "vdsoSP", m_vdsosp), F("m", "vdsoPC", m_vdsopc),
	F("schedt", "mnext", sched_mnext),
	F("g", "labels", g_labels),
	/* label.Set{List} (1.26); LabelSet{list} before */
	{ "labelmap", "Set.List.array", offsetof(struct go_layout, labels_array), "LabelSet.list.array" },
	{ "labelmap", "Set.List.len", offsetof(struct go_layout, labels_len), "LabelSet.list.len" },
	F("hmap", "count", hmap_count), F("hmap", "B", hmap_b), F("hmap", "buckets", hmap_buckets),
	F("hmap", "oldbuckets", hmap_oldbuckets),
};
#undef F
const size_t go_layout_nfields = sizeof(go_layout_fields) / sizeof(go_layout_fields[0]);

void go_layout_labels_kind(struct go_layout *l)
{
	if (go_has(l->labels_array) && go_has(l->labels_len))
		l->labels_kind = GO_LABELS_SLICE;
	else if (go_has(l->hmap_count) && go_has(l->hmap_b) && go_has(l->hmap_buckets))
		l->labels_kind = GO_LABELS_HMAP;
}

struct go_layout *go_layout_new(const char *exe)
{
	struct go_layout *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->gdead = l->gdeadextra = -1;
	l->maxstacksize = 1000000000;
	l->goarch = "amd64";
	if (exe && !(l->exe_path = strdup(exe))) {
		free(l);
		return NULL;
	}
	return l;
}

static bool go_layout_complete_quiet(const struct go_layout *l)
{
	return !go_has(l->g_stack_lo) || !go_has(l->g_sched_pc) || !go_has(l->g_atomicstatus) ||
	       !go_has(l->g_goid) || !go_has(l->m_alllink) || !go_has(l->m_procid) || !go_has(l->m_g0);
}

struct fpi_error *go_layout_complete(const struct go_layout *l)
{
	if (go_layout_complete_quiet(l))
		return fpi_error_create(FPI_ERR_NODWARF,
			"%s: runtime.g/runtime.m lack fields fpinspect needs (stack, sched, atomicstatus, goid, procid): "
			"unsupported Go version %s", l->source_path ? l->source_path : l->exe_path,
			l->go_version ? l->go_version : "(unknown)");
	return NULL;
}

static void set_version(struct go_layout *l)
{
	if (l->go_version && strncmp(l->go_version, "go1.", 4) == 0)
		l->version_minor = atoi(l->go_version + 4);
}

/* One attempt at a source: a fresh layout with the exe's identity. */
static struct go_layout *attempt(Elf *elf, const char *exe)
{
	struct go_layout *l = go_layout_new(exe);
	GElf_Ehdr eh;

	if (!l)
		return NULL;
	l->go_version = buildinfo_version(elf);
	l->goexperiment = buildinfo_experiment(elf);
	if (gelf_getehdr(elf, &eh) && eh.e_machine == EM_AARCH64)
		l->goarch = "arm64";
	set_version(l);
	return l;
}

static struct fpi_error *from_debug_file(struct go_layout *l, Elf *exe_elf, const char *path, bool explicit_choice,
					 bool same_build)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	Elf *dbg;
	struct fpi_error *err;

	if (fd < 0)
		return fpi_error_create(FPI_ERR_USAGE, "cannot open debug file %s: %m", path);
	dbg = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!dbg || elf_kind(dbg) != ELF_K_ELF) {
		elf_end(dbg);
		close(fd);
		return fpi_error_create(FPI_ERR_FORMAT, "debug file %s is not an ELF file", path);
	}
	if (explicit_choice)
		same_build = go_layout_same_build(exe_elf, dbg);
	/* the types are the Go release's; the variables' addresses only this
	 * build's: from another build they are looked for like a stripped
	 * binary's */
	err = go_layout_from_dwarf(l, dbg, path, same_build);
	elf_end(dbg);
	close(fd);
	if (!err) {
		l->source = GO_LAYOUT_DEBUG_FILE;
		l->source_path = strdup(path);
	}
	return err;
}

struct fpi_error *go_layout_load(const char *exe, const struct go_layout_options *o, struct go_layout **ret)
{
	static const struct go_layout_options none = { 0 };
	struct go_layout *l = NULL;
	struct fpi_error *err = NULL;
	Elf *elf = NULL;
	char *build_id = NULL;
	int fd;
	bool go;

	if (!o)
		o = &none;
	fd = open(exe, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fpi_error_create(FPI_ERR_NOTGO, "cannot open executable %s: %m", exe);
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF) {
		err = fpi_error_create(FPI_ERR_NOTGO, "%s is not an ELF executable", exe);
		goto out;
	}
	/* a copy cut short: what it maps lies past its end, and without its
	 * .gopclntab it would pass for "not Go" */
	{
		size_t size = 0, nph = 0;
		uint64_t want = 0;

		elf_rawfile(elf, &size);
		if (elf_getphdrnum(elf, &nph) == 0)
			for (size_t k = 0; k < nph; k++) {
				GElf_Phdr ph;

				if (gelf_getphdr(elf, k, &ph) && ph.p_type == PT_LOAD && ph.p_offset + ph.p_filesz > want)
					want = ph.p_offset + ph.p_filesz;
			}
		if (want > size) {
			err = fpi_error_create(FPI_ERR_FORMAT,
				"%s is truncated (%zu bytes; its segments end at %" PRIu64 "): give fpinspect the whole "
				"executable", exe, size, want);
			goto out;
		}
	}
	go = go_elf_section(elf, ".gopclntab") || go_elf_section(elf, ".data.rel.ro.gopclntab") ||
	     go_elf_section(elf, ".go.buildinfo");

	/* 1. the executable's own DWARF, or what it said last time */
	if (!(l = attempt(elf, exe))) {
		err = &fpi_enomem;
		goto out;
	}
	build_id = o->dwarf_only ? NULL : go_layout_build_id(elf);
	if (build_id && go_layout_cache_read(l, build_id))
		goto done;
	if (build_id) {
		go_layout_destroy(l);
		if (!(l = attempt(elf, exe))) {
			err = &fpi_enomem;
			goto out;
		}
	}
	err = go_layout_from_dwarf(l, elf, exe, true);
	if (!err) {
		if (build_id && !go_layout_complete_quiet(l))
			go_layout_cache_write(l, build_id);
		goto done;
	}
	if (!go) {
		fpi_error_destroy(err);
		err = fpi_error_create(FPI_ERR_NOTGO,
			"%s is not a Go program (no .gopclntab, no .go.buildinfo, no Go runtime in its DWARF)", exe);
		goto fail;
	}
	if (o->dwarf_only)
		goto fail;
	fpi_error_destroy(err);
	err = NULL;

	/* 2. a separate debug file */
	{
		bool same = false;
		char *path = o->debug_file ? strdup(o->debug_file) : go_layout_find_debug_file(elf, exe, &same);

		if (path) {
			go_layout_destroy(l);
			if (!(l = attempt(elf, exe))) {
				free(path);
				err = &fpi_enomem;
				goto out;
			}
			err = from_debug_file(l, elf, path, o->debug_file != NULL, same);
			free(path);
			if (!err)
				goto done;
			if (o->debug_file)
				goto fail;
			fpi_error_destroy(err);
			err = NULL;
		}
	}

	/* 3. a layout file for its Go release */
	go_layout_destroy(l);
	if (!(l = attempt(elf, exe))) {
		err = &fpi_enomem;
		goto out;
	}
	if (!l->go_version) {
		err = fpi_error_create(FPI_ERR_NODWARF,
			"%s is a Go program built without DWARF debug information, and its Go version is not in "
			".go.buildinfo: no layout can be chosen for it; rebuild it without -ldflags=-w/-s", exe);
		goto fail;
	}
	if (o->layout_file) {
		err = go_layout_read_file(l, o->layout_file);
		if (err)
			goto fail;
	} else {
		bool found = false;

		err = go_layout_find_file(l, &found);
		if (err)
			goto fail;
		if (!found) {
			char *name = go_layout_file_name(l->go_version, l->goarch, l->goexperiment);

			err = fpi_error_create(FPI_ERR_NODWARF,
				"%s is a Go program (%s, %s%s%s) built without DWARF debug information (-ldflags=-w or -s, "
				"or stripped), and there is no layout for %s: make one from any binary that toolchain "
				"built with DWARF (go build without -ldflags=-w/-s): fpinspect layout --from BINARY "
				"(writes %s); or give the DWARF with --debug-file FILE",
				exe, l->go_version, l->goarch, l->goexperiment ? ", GOEXPERIMENT=" : "",
				l->goexperiment ? l->goexperiment : "", l->go_version, name ? name : "the layout file");
			free(name);
			goto fail;
		}
	}
done:
	err = go_layout_complete(l);
	if (err)
		goto fail;
	*ret = l;
	goto out;
fail:
	go_layout_destroy(l);
out:
	free(build_id);
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
	free(l->goexperiment);
	free(l->source_path);
	free(l->layout_version);
	free(l->exe_path);
	free(l);
}
