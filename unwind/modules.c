/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The target's ELF files as one Dwfl, each at its load bias; symbol tables
 * and CU indexes built lazily on top of it. */
#include <dwarf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "modules_internal.h"
#include "pclntab.h"

static char *debuginfo_path;

static const Dwfl_Callbacks fpi_dwfl_callbacks = {
	/* Files are reported with an fd, so find_elf is only a fallback. */
	.find_elf = dwfl_build_id_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.section_address = dwfl_offline_section_address,
	.debuginfo_path = &debuginfo_path,
};

struct elf_file_info {
	GElf_Half type;
	bool have_bias;
	uint64_t bias;
};

/* Inspect path: is it an ELF file, of which type, and at which bias does a
 * mapping of file offset `offset` at `start` put it. Returns false (quietly)
 * for anything that is not a loadable ELF file. */
static bool elf_file_info(const char *path, uint64_t start, uint64_t offset,
			  struct elf_file_info *ret)
{
	GElf_Ehdr ehdr;
	size_t phnum;
	bool ok = false;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	Elf *elf;

	if (fd < 0)
		return false;
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &ehdr) ||
	    (ehdr.e_type != ET_EXEC && ehdr.e_type != ET_DYN) ||
	    elf_getphdrnum(elf, &phnum) != 0)
		goto out;
	ret->type = ehdr.e_type;
	ret->have_bias = false;
	ret->bias = 0;
	if (ehdr.e_type == ET_EXEC) {
		ret->have_bias = true;
		ok = true;
		goto out;
	}
	/* The mapping of `offset` comes from the PT_LOAD holding that file
	 * offset; its vaddr there, against start, is the bias. This is
	 * start - offset for an ordinary PIE or library (first PT_LOAD at
	 * vaddr 0), but not for Go's -buildmode=pie, linked at 0x400000. */
	for (size_t i = 0; i < phnum; i++) {
		GElf_Phdr ph;
		uint64_t align, off0;

		if (!gelf_getphdr(elf, i, &ph) || ph.p_type != PT_LOAD)
			continue;
		align = ph.p_align > 1 ? ph.p_align : 1;
		off0 = ph.p_offset & ~(align - 1);
		if (offset < off0 || offset >= ph.p_offset + (ph.p_filesz ? ph.p_filesz : 1))
			continue;
		ret->bias = start - (ph.p_vaddr - ph.p_offset + offset);
		ret->have_bias = true;
		break;
	}
	ok = ret->have_bias;
out:
	elf_end(elf);
	close(fd);
	return ok;
}

static bool same_file(const char *a, const struct stat *sb)
{
	struct stat sa;

	return stat(a, &sa) == 0 && sa.st_dev == sb->st_dev && sa.st_ino == sb->st_ino;
}

static struct fpi_error *add_module(struct fpi_modules *mods, Dwfl_Module *dm, bool is_exe)
{
	struct fpi_module *m, **v;
	Dwarf_Addr low, high;
	const char *name;
	void **userdata;

	v = realloc(mods->mods, (mods->nmods + 1) * sizeof(*v));
	if (!v)
		return &fpi_enomem;
	mods->mods = v;
	m = calloc(1, sizeof(*m));
	if (!m)
		return &fpi_enomem;
	name = dwfl_module_info(dm, &userdata, &low, &high, NULL, NULL, NULL, NULL);
	m->dwfl_mod = dm;
	m->path = name;
	m->basename = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
	m->low = low;
	m->high = high;
	m->is_exe = is_exe;
	*userdata = m;
	/* Keep the executable first: name lookups prefer it. */
	if (is_exe) {
		memmove(mods->mods + 1, mods->mods, mods->nmods * sizeof(*v));
		mods->mods[0] = m;
	} else {
		mods->mods[mods->nmods] = m;
	}
	mods->nmods++;
	for (size_t i = 0; i < mods->nmods; i++)
		mods->mods[i]->index = i;
	return NULL;
}

/* Report file at info's bias, named name (the path the target knows it
 * by, which fpi_symbol.module shows: not "exe" for /proc/PID/exe). */
static struct fpi_error *report(struct fpi_modules *mods, const char *name, const char *file,
				const struct elf_file_info *info, bool is_exe)
{
	static const char deleted[] = " (deleted)";
	size_t n = strlen(name), k = sizeof(deleted) - 1;
	char *clean = NULL;
	Dwfl_Module *dm;

	if (n > k && strcmp(name + n - k, deleted) == 0 && (clean = strndup(name, n - k)))
		name = clean;
	dm = dwfl_report_elf(mods->dwfl, name, file, -1, info->bias, true);
	free(clean);
	if (!dm)
		return fpi_error_create(FPI_ERR_FORMAT, "dwfl_report_elf %s: %s", file, dwfl_errmsg(-1));
	return add_module(mods, dm, is_exe);
}

/* libdwfl reads modules from files: an image from the target's memory is
 * given one, a memfd (closed with mods). A bad image is skipped. */
static void report_image(struct fpi_modules *mods, const struct fpi_mem_image *im)
{
	struct elf_file_info info;
	char path[64];
	int *v, fd = memfd_create(im->name, MFD_CLOEXEC);
	struct fpi_error *err;

	if (fd < 0)
		return;
	v = realloc(mods->image_fds, (mods->nimage_fds + 1) * sizeof(*v));
	if (!v || write(fd, im->data, im->len) != (ssize_t)im->len) {
		if (v)
			mods->image_fds = v;
		close(fd);
		return;
	}
	mods->image_fds = v;
	v[mods->nimage_fds++] = fd;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (!elf_file_info(path, im->addr, 0, &info))
		return;
	err = report(mods, im->name, path, &info, false);
	fpi_error_destroy(err);
}

struct fpi_error *fpi_modules_create(const struct fpi_mapping *maps, size_t nmaps,
				     const char *exe_path, const struct fpi_mem_image *images,
				     size_t nimages, struct fpi_modules **ret)
{
	struct fpi_modules *mods;
	struct fpi_error *err = NULL;
	struct stat exe_st;
	bool have_exe_st = false, exe_reported = false;
	char exe_link[4096] = "";
	bool *done = NULL;
	int exe_errno = 0;

	*ret = NULL;
	elf_version(EV_CURRENT);
	mods = calloc(1, sizeof(*mods));
	if (!mods)
		return &fpi_enomem;
	/* the debug-file directory the layout's search used too
	 * (golayout_dwarf.c): CFI and C symbols from the same files */
	if (!debuginfo_path && getenv("FPINSPECT_DEBUG_FILE_DIRECTORY") && *getenv("FPINSPECT_DEBUG_FILE_DIRECTORY") &&
	    asprintf(&debuginfo_path, ":.debug:%s", getenv("FPINSPECT_DEBUG_FILE_DIRECTORY")) < 0)
		debuginfo_path = NULL;
	mods->dwfl = dwfl_begin(&fpi_dwfl_callbacks);
	if (!mods->dwfl) {
		free(mods);
		return fpi_error_create(FPI_ERR_OTHER, "dwfl_begin: %s", dwfl_errmsg(-1));
	}
	dwfl_report_begin(mods->dwfl);
	if (exe_path) {
		ssize_t n;

		if (stat(exe_path, &exe_st) == 0)
			have_exe_st = true;
		else
			exe_errno = errno;
		/* /proc/PID/exe of a replaced binary points at "PATH (deleted)",
		 * as does that binary's line in /proc/PID/maps. */
		n = readlink(exe_path, exe_link, sizeof(exe_link) - 1);
		exe_link[n > 0 ? n : 0] = '\0';
	}

	done = calloc(nmaps ? nmaps : 1, sizeof(*done));
	if (!done) {
		err = &fpi_enomem;
		goto out;
	}
	for (size_t i = 0; i < nmaps; i++) {
		const struct fpi_mapping *lowest = &maps[i];
		struct elf_file_info info;
		const char *file;
		bool is_exe;

		if (done[i] || !maps[i].path)
			continue;
		/* Each file once, from its lowest-offset mapping. */
		for (size_t j = i; j < nmaps; j++) {
			if (done[j] || !maps[j].path || strcmp(maps[j].path, maps[i].path) != 0)
				continue;
			done[j] = true;
			if (maps[j].offset < lowest->offset)
				lowest = &maps[j];
		}
		is_exe = !exe_reported && exe_path &&
			 ((have_exe_st && same_file(lowest->path, &exe_st)) ||
			  strcmp(lowest->path, exe_path) == 0 || strcmp(lowest->path, exe_link) == 0);
		/* The exe is read through exe_path, which may outlive its name. */
		file = is_exe ? exe_path : lowest->path;
		/* [vdso], [heap], other "(deleted)" files, files gone, data
		 * files: not modules. */
		if ((!is_exe && file[0] != '/') ||
		    !elf_file_info(file, lowest->start, lowest->offset, &info))
			continue;
		err = report(mods, lowest->path, file, &info, is_exe);
		if (err && !is_exe) {
			/* A library we cannot place (say, an ELF file the
			 * program mmaps as data, overlapping a real module)
			 * must not cost us the whole process. */
			fpi_error_destroy(err);
			err = NULL;
			continue;
		}
		if (err)
			goto out;
		exe_reported |= is_exe;
	}
	if (!exe_reported && exe_path) {
		/* No mappings (a test image, a core without file notes), or the
		 * exe not among them: its link-time addresses. */
		struct elf_file_info info;

		if (!have_exe_st) {
			err = fpi_error_create(FPI_ERR_OTHER, "%s: %s", exe_path, strerror(exe_errno));
			goto out;
		}
		if (!elf_file_info(exe_path, 0, 0, &info)) {
			err = fpi_error_create(FPI_ERR_FORMAT, "%s: not an ELF executable", exe_path);
			goto out;
		}
		info.bias = 0;
		err = report(mods, exe_link[0] == '/' ? exe_link : exe_path, exe_path, &info, true);
		if (err)
			goto out;
	}
	for (size_t i = 0; i < nimages; i++)
		report_image(mods, &images[i]);
	if (dwfl_report_end(mods->dwfl, NULL, NULL) != 0) {
		err = fpi_error_create(FPI_ERR_OTHER, "dwfl_report_end: %s", dwfl_errmsg(-1));
		goto out;
	}
	/* the machine is the executable's: its CFI's register numbers and
	 * how a frame's caller is found */
	mods->arch = &fpi_arch_amd64;
	if (mods->nmods && mods->mods[0]->is_exe) {
		Dwarf_Addr b;
		Elf *elf = dwfl_module_getelf(mods->mods[0]->dwfl_mod, &b);
		GElf_Ehdr eh;
		const struct fpi_arch_info *a;

		if (elf && gelf_getehdr(elf, &eh) && (a = fpi_arch_of_machine(eh.e_machine)))
			mods->arch = a;
	}
out:
	free(done);
	if (err) {
		fpi_modules_destroy(mods);
		return err;
	}
	*ret = mods;
	return NULL;
}

const struct fpi_arch_info *fpi_modules_arch(const struct fpi_modules *mods)
{
	return mods->arch;
}

const struct fpi_pclntab *fpi_modules_pclntab(struct fpi_modules *mods, uint64_t *bias, const char **why)
{
	if (!mods->pcln_loaded) {
		struct fpi_module *exe = mods->nmods && mods->mods[0]->is_exe ? mods->mods[0] : NULL;
		Dwarf_Addr b = 0;
		Elf *elf = exe ? dwfl_module_getelf(exe->dwfl_mod, &b) : NULL;
		struct fpi_error *err;

		mods->pcln_loaded = true;
		if (!elf) {
			snprintf(mods->pcln_err, sizeof(mods->pcln_err), "no executable module: no Go function table");
		} else if ((err = fpi_pclntab_open_elf(elf, &mods->pcln))) {
			snprintf(mods->pcln_err, sizeof(mods->pcln_err), "%s: %s", exe->path, err->message);
			fpi_error_destroy(err);
			mods->pcln = NULL;
		}
		mods->pcln_bias = b;
	}
	*bias = mods->pcln_bias;
	if (why)
		*why = mods->pcln_err;
	return mods->pcln;
}

void fpi_modules_destroy(struct fpi_modules *mods)
{
	if (!mods)
		return;
	fpi_symcache_destroy(mods);
	fpi_pclntab_destroy(mods->pcln);
	for (size_t i = 0; i < mods->nmods; i++) {
		free(mods->mods[i]->syms);
		for (size_t j = 0; j < mods->mods[i]->nowned_names; j++)
			free(mods->mods[i]->owned_names[j]);
		free(mods->mods[i]->owned_names);
		for (size_t j = 0; j < mods->mods[i]->ncus; j++)
			free(mods->mods[i]->cus[j].funcs);
		free(mods->mods[i]->cus);
		free(mods->mods[i]->cu_ranges);
		fpi_cfi_frame_destroy(mods->mods[i]->frame_cfi);
		free(mods->mods[i]);
	}
	free(mods->mods);
	free(mods->by_name);
	if (mods->dwfl)
		dwfl_end(mods->dwfl);
	for (size_t i = 0; i < mods->nimage_fds; i++)
		close(mods->image_fds[i]);
	free(mods->image_fds);
	free(mods);
}

struct fpi_module *fpi_module_at(struct fpi_modules *mods, uint64_t addr)
{
	Dwfl_Module *dm = dwfl_addrmodule(mods->dwfl, addr);
	void **userdata;

	if (!dm)
		return NULL;
	dwfl_module_info(dm, &userdata, NULL, NULL, NULL, NULL, NULL, NULL);
	return *userdata;
}

/* ---------------- symbol tables ---------------- */

static const char abi0[] = ".abi0";

static bool is_abi0(const char *name)
{
	size_t n = strlen(name), k = sizeof(abi0) - 1;

	return n > k && strcmp(name + n - k, abi0) == 0;
}

/* Lower wins, among aliases at an address and among equal names. */
static int sym_rank(const GElf_Sym *s, const char *name)
{
	int bind = GELF_ST_BIND(s->st_info), type = GELF_ST_TYPE(s->st_info);
	const char *at = strchr(name, '@');
	int r = bind == STB_GLOBAL ? 0 : bind == STB_WEAK ? 1 : 2;

	/* An old version (name@V) after the default one (name@@V). */
	r = r * 2 + (at && at[1] != '@');
	/* runtime.goexit1 (the function) before runtime.goexit1.abi0 (its
	 * ABI0 wrapper), both named runtime.goexit1 here. */
	r = r * 2 + is_abi0(name);
	return r * 3 + (type == STT_FUNC ? 0 : type == STT_NOTYPE ? 1 : 2);
}

static bool in_code(Elf *elf, GElf_Word shndx)
{
	GElf_Shdr sh;
	Elf_Scn *scn = elf ? elf_getscn(elf, shndx) : NULL;

	return scn && gelf_getshdr(scn, &sh) && (sh.sh_flags & SHF_EXECINSTR);
}

/* Names as looked up and shown:
 * - glibc's full symbol table names versioned symbols name@VERSION or
 *   name@@VERSION: name.
 * - Since Go 1.17 (register ABI) assembly functions (runtime.goexit, mstart,
 *   morestack, systemstack_switch, ...) and ABI0 wrappers carry an ".abi0"
 *   suffix in the ELF symbol table, not in DWARF nor in Go's tracebacks:
 *   without it. */
static const char *clean_name(struct fpi_module *m, const char *name, size_t *cap)
{
	const char *at = strchr(name, '@');
	size_t len;
	char *copy;

	if (at && at != name)
		len = at - name;
	else if (is_abi0(name))
		len = strlen(name) - (sizeof(abi0) - 1);
	else
		return name;
	if (m->nowned_names == *cap) {
		char **v = realloc(m->owned_names, (*cap ? *cap * 2 : 64) * sizeof(*v));

		if (!v)
			return name;
		m->owned_names = v;
		*cap = *cap ? *cap * 2 : 64;
	}
	copy = strndup(name, len);
	if (!copy)
		return name;
	m->owned_names[m->nowned_names++] = copy;
	return copy;
}

static int sym_addr_cmp(const void *a, const void *b)
{
	const struct fpi_sym *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	if (x->rank != y->rank)
		return x->rank - y->rank;
	/* Among aliases, the shorter name is usually the public one
	 * (read over __libc_read). */
	return (int)strlen(x->name) - (int)strlen(y->name);
}

static void load_syms(struct fpi_module *m)
{
	int n;
	size_t k = 0, cap = 0;

	m->syms_loaded = true;
	n = dwfl_module_getsymtab(m->dwfl_mod);
	if (n <= 0)
		return;
	m->syms = malloc(n * sizeof(*m->syms));
	if (!m->syms)
		return;
	for (int i = 0; i < n; i++) {
		GElf_Sym s;
		GElf_Addr addr;
		GElf_Word shndx;
		Elf *elf;
		const char *name = dwfl_module_getsym_info(m->dwfl_mod, i, &s, &addr, &shndx, &elf, NULL);
		int type = GELF_ST_TYPE(s.st_info);

		if (!name || !name[0] || shndx == SHN_UNDEF)
			continue;
		/* Assembly without .type (crosscall1 in Go's runtime/cgo
		 * gcc_amd64.S) gives NOTYPE symbols: code if in code. */
		if (type == STT_NOTYPE && !in_code(elf, shndx))
			continue;
		if (type != STT_FUNC && type != STT_OBJECT && type != STT_NOTYPE)
			continue;
		m->syms[k++] = (struct fpi_sym){ clean_name(m, name, &cap), name, addr, s.st_size, m,
						 sym_rank(&s, name), type != STT_OBJECT };
	}
	m->nsyms = k;
	qsort(m->syms, m->nsyms, sizeof(*m->syms), sym_addr_cmp);
}

const struct fpi_sym *fpi_module_sym_at(struct fpi_module *m, uint64_t addr)
{
	size_t lo = 0, hi, i;

	if (!m->syms_loaded)
		load_syms(m);
	hi = m->nsyms;
	while (lo < hi) {  /* lo: the number of symbols at or below addr */
		size_t mid = lo + (hi - lo) / 2;

		if (m->syms[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* Walk back a few address groups: a nested or sizeless symbol, or a
	 * data object, may sit between addr and its function. */
	i = lo;
	for (int groups = 0; i > 0 && groups < 8; groups++) {
		size_t first = i - 1;

		while (first > 0 && m->syms[first - 1].addr == m->syms[i - 1].addr)
			first--;
		/* Aliases sort best first. */
		for (size_t j = first; j < i; j++) {
			const struct fpi_sym *s = &m->syms[j];

			if (!s->func)
				continue;
			if (addr < s->addr + s->size || (s->size == 0 && groups == 0))
				return s;
		}
		i = first;
	}
	return NULL;
}

/* FNV-1a over the length and the last bytes only: symbol names share
 * long prefixes ("github.com/..."), they differ at the end, and hashing
 * every byte of 10^5 names showed in a check's profile. Equal keys still
 * compare whole (name_slot). */
#define NAME_HASH_TAIL 24

static size_t name_hash(const char *name)
{
	size_t len = strlen(name);
	const unsigned char *p = (const unsigned char *)name + (len > NAME_HASH_TAIL ? len - NAME_HASH_TAIL : 0);
	uint64_t h = (0xcbf29ce484222325ull ^ len) * 0x100000001b3ull;

	for (; *p; p++)
		h = (h ^ *p) * 0x100000001b3ull;
	return (size_t)(h ^ (h >> 29));
}

/* Among symbols of one name the executable's (report order) and then the
 * lower rank wins; on a tie the first added, which is the one the sorted
 * index this replaces returned (glibc's qsort is a stable merge sort). */
static bool name_beats(const struct fpi_sym *x, const struct fpi_sym *y)
{
	if (x->mod->index != y->mod->index)
		return x->mod->index < y->mod->index;
	return x->rank < y->rank;
}

static struct fpi_name *name_slot(struct fpi_modules *mods, const char *key)
{
	size_t hash = name_hash(key), mask = mods->by_name_cap - 1, i = hash & mask;
	struct fpi_name *e;

	/* the table has empty slots (load_names), so this ends */
	for (;; i = (i + 1) & mask) {
		e = &mods->by_name[i];
		if (!e->key) {
			e->hash = hash;  /* for add_name */
			return e;
		}
		if (e->hash == hash && strcmp(e->key, key) == 0)
			return e;
	}
}

static void add_name(struct fpi_modules *mods, const char *key, const struct fpi_sym *sym)
{
	struct fpi_name *slot = name_slot(mods, key);

	if (!slot->key)
		*slot = (struct fpi_name){ key, sym, slot->hash };
	else if (name_beats(sym, slot->sym))
		slot->sym = sym;
}

static void load_names(struct fpi_modules *mods)
{
	size_t n = 0, cap = 16;

	mods->names_loaded = true;
	for (size_t i = 0; i < mods->nmods; i++) {
		if (!mods->mods[i]->syms_loaded)
			load_syms(mods->mods[i]);
		for (size_t j = 0; j < mods->mods[i]->nsyms; j++)
			n += mods->mods[i]->syms[j].raw != mods->mods[i]->syms[j].name ? 2 : 1;
	}
	if (!n)
		return;
	/* at most half full, which bounds the probes and ends them */
	while (cap < 2 * n) {
		if (cap > SIZE_MAX / 4 / sizeof(*mods->by_name))
			return;
		cap *= 2;
	}
	mods->by_name = calloc(cap, sizeof(*mods->by_name));
	if (!mods->by_name)
		return;
	mods->by_name_cap = cap;
	for (size_t i = 0; i < mods->nmods; i++) {
		for (size_t j = 0; j < mods->mods[i]->nsyms; j++) {
			const struct fpi_sym *sym = &mods->mods[i]->syms[j];

			add_name(mods, sym->name, sym);
			if (sym->raw != sym->name)
				add_name(mods, sym->raw, sym);
		}
	}
}

/* By exact name: "runtime.goexit" finds runtime.goexit.abi0 (the
 * assembly function), which "runtime.goexit.abi0" finds too; where both
 * runtime.X and runtime.X.abi0 exist, "runtime.X" is the former. */
static const struct fpi_sym *find_name(struct fpi_modules *mods, const char *name)
{
	if (!mods->by_name_cap)
		return NULL;
	return name_slot(mods, name)->sym;
}

uint64_t fpi_modules_lookup(struct fpi_modules *mods, const char *name, uint64_t *size)
{
	const struct fpi_sym *s;

	if (size)
		*size = 0;
	if (!mods || !name)
		return 0;
	if (!mods->names_loaded)
		load_names(mods);
	s = find_name(mods, name);
	if (!s)
		return 0;
	if (size)
		*size = s->size;
	return s->addr;
}

/* ---------------- DWARF and the CU index ---------------- */

static int range_cmp(const void *a, const void *b)
{
	/* fpi_cu_range and fpi_func_range both start with lo, hi. */
	const uint64_t *x = a, *y = b;

	return x[0] < y[0] ? -1 : x[0] > y[0];
}

static bool grow(void **v, size_t *cap, size_t n, size_t size)
{
	void *p;

	if (n < *cap)
		return true;
	p = realloc(*v, (*cap ? *cap * 2 : 64) * size);
	if (!p)
		return false;
	*v = p;
	*cap = *cap ? *cap * 2 : 64;
	return true;
}

static void load_dwarf(struct fpi_module *m)
{
	Dwarf_Off off = 0, next;
	size_t hsize, cap = 0, rcap = 0;

	m->dwarf_loaded = true;
	m->dwarf = dwfl_module_getdwarf(m->dwfl_mod, &m->dwarf_bias);
	if (!m->dwarf)
		return;
	while (dwarf_nextcu(m->dwarf, off, &next, &hsize, NULL, NULL, NULL) == 0) {
		Dwarf_Addr base, start, end;
		ptrdiff_t r = 0;
		Dwarf_Die cudie;

		if (!dwarf_offdie(m->dwarf, off + hsize, &cudie) ||
		    !grow((void **)&m->cus, &cap, m->ncus, sizeof(*m->cus)))
			goto next;
		m->cus[m->ncus] = (struct fpi_cu){ .die = cudie };
		while ((r = dwarf_ranges(&cudie, r, &base, &start, &end)) > 0) {
			if (start >= end)
				continue;
			if (!grow((void **)&m->cu_ranges, &rcap, m->ncu_ranges, sizeof(*m->cu_ranges)))
				break;
			m->cu_ranges[m->ncu_ranges++] = (struct fpi_cu_range){ start, end, m->ncus };
		}
		m->ncus++;
next:
		off = next;
	}
	qsort(m->cu_ranges, m->ncu_ranges, sizeof(*m->cu_ranges), range_cmp);
}

Dwarf *fpi_module_dwarf(struct fpi_module *m, Dwarf_Addr *bias)
{
	if (!m->dwarf_loaded)
		load_dwarf(m);
	*bias = m->dwarf_bias;
	return m->dwarf;
}

/* Index of the last of n ranges (stride size, sorted by lo) with lo <= addr
 * and addr < hi, or -1. */
static ptrdiff_t range_find(const void *v, size_t n, size_t size, uint64_t addr)
{
	size_t lo = 0, hi = n;
	const uint64_t *r;

	while (lo < hi) {  /* lo: the number of ranges with lo <= addr */
		size_t mid = lo + (hi - lo) / 2;

		r = (const uint64_t *)((const char *)v + mid * size);
		if (r[0] <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return -1;
	r = (const uint64_t *)((const char *)v + (lo - 1) * size);
	return addr < r[1] ? (ptrdiff_t)lo - 1 : -1;
}

struct fpi_cu *fpi_module_cu_at(struct fpi_module *m, uint64_t addr)
{
	ptrdiff_t i;

	if (!m->dwarf_loaded)
		load_dwarf(m);
	i = range_find(m->cu_ranges, m->ncu_ranges, sizeof(*m->cu_ranges), addr);
	return i < 0 ? NULL : &m->cus[m->cu_ranges[i].cu];
}

static void add_funcs(struct fpi_cu *cu, Dwarf_Die *parent, size_t *cap, int depth)
{
	Dwarf_Die die;

	if (dwarf_child(parent, &die) != 0)
		return;
	do {
		Dwarf_Addr base, start, end;
		ptrdiff_t r = 0;

		switch (dwarf_tag(&die)) {
		case DW_TAG_subprogram:
			while ((r = dwarf_ranges(&die, r, &base, &start, &end)) > 0) {
				if (start >= end)
					continue;
				if (!grow((void **)&cu->funcs, cap, cu->nfuncs, sizeof(*cu->funcs)))
					return;
				cu->funcs[cu->nfuncs++] = (struct fpi_func_range){ start, end, die };
			}
			break;
		case DW_TAG_namespace:
		case DW_TAG_module:
		case DW_TAG_class_type:
		case DW_TAG_structure_type:
			/* C++ member functions with code live here. */
			if (depth < 8)
				add_funcs(cu, &die, cap, depth + 1);
			break;
		}
	} while (dwarf_siblingof(&die, &die) == 0);
}

Dwarf_Die *fpi_cu_func_at(struct fpi_cu *cu, uint64_t addr)
{
	ptrdiff_t i;

	if (!cu->funcs_loaded) {
		size_t cap = 0;

		cu->funcs_loaded = true;
		add_funcs(cu, &cu->die, &cap, 0);
		qsort(cu->funcs, cu->nfuncs, sizeof(*cu->funcs), range_cmp);
	}
	i = range_find(cu->funcs, cu->nfuncs, sizeof(*cu->funcs), addr);
	return i < 0 ? NULL : &cu->funcs[i].die;
}
