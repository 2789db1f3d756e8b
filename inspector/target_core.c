/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The core-file target: amd64 and arm64 Linux cores written by the kernel,
 * by GDB's gcore, or by qemu-user for its guest. Threads and registers come from the NT_PRSTATUS notes, memory from
 * the PT_LOAD segments, and what the dump left out (read-only file mappings:
 * the executable's text and rodata, libc) from the files NT_FILE names, or,
 * in cores without NT_FILE (qemu's), from the executable placed where the
 * auxiliary vector says it was loaded.
 *
 * The core is untrusted input. Every count, offset and size in it is checked
 * against the file before use, nothing is allocated in proportion to a count
 * the file merely claims, and a damaged header or note gives a clean
 * FPI_ERR_FORMAT naming the file and what is wrong. The core is never read
 * whole: libelf maps it (ELF_C_READ_MMAP), and so do we, for reads. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <stdio.h>
#include <stddef.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "target.h"

/* Not yet in target.h: how the executable was matched to the core, for
 * the CLI to show ("Go build ID ... matches", "not checked: ..."). NULL
 * for targets that are not cores. */

/* struct elf_prstatus and struct elf_prpsinfo as the kernel writes them
 * (include/linux/elfcore.h), spelled out so that the layout is the core's
 * rather than the host's <sys/procfs.h>. Up to pr_reg they are the same on
 * every 64-bit Linux; pr_reg is the architecture's user_regs_struct
 * (arch.h's user_regs_*). */
#define PRSTATUS_CURSIG 12
#define PRSTATUS_PID 32
#define SIGINFO_ADDR 16
#define SIGINFO_MIN 24
#define PRSTATUS_REG 112
#define PRPSINFO_PID 24
#define PRPSINFO_FNAME 40
#define PRPSINFO_MIN (PRPSINFO_FNAME + 16)

/* Go's linker puts its build ID in a note named "Go" of this type. */
#define NT_GO_BUILD_ID 4

/* Notes are metadata: even 10,000 threads with their FP and XSAVE state
 * come to about 40 MiB. More is damage, not a process; the bound is on the
 * sum over note segments, since many headers may name the same bytes. */
#define MAX_NOTES (128u << 20)
/* procfs and sysfs magic numbers (linux/magic.h). */
#define PROC_SUPER_MAGIC 0x9fa0
#define SYSFS_MAGIC 0x62656572
/* Longest path we take from the core's memory (AT_EXECFN). */
#define MAX_PATH_READ 4096
/* Files NT_FILE names are opened lazily; keep no more than this open. */
#define MAX_OPEN_FILES 32

struct core_segment {
	uint64_t vaddr, memsz, filesz, offset;
};

enum file_state {
	FILE_UNTRIED,  /* not opened yet */
	FILE_OPEN,     /* fd valid, checked */
	FILE_CLOSED,   /* checked before, closed to bound open fds: reopen */
	FILE_UNUSABLE, /* missing, deleted, not regular, or not the mapped file */
};

/* A file named in NT_FILE, from which the parts of its mappings the dump
 * left out are read. */
struct core_file {
	char *path;      /* as the core names it */
	char *open_path; /* what we open: the user's EXE for the executable */
	int fd;
	uint64_t size;
	enum file_state state;
};

/* One NT_FILE entry, sorted by start. */
struct core_filemap {
	uint64_t start, end, offset;
	size_t file;
};

struct core {
	int fd;
	const unsigned char *image; /* the core mmapped; NULL: pread */
	uint64_t size;
	struct core_segment *segs;  /* PT_LOAD, sorted by vaddr, disjoint */
	size_t nsegs;
	struct core_filemap *fmaps;
	size_t nfmaps;
	struct core_file *files;
	size_t nfiles;
	size_t nopen;
	uint64_t page_size;         /* 4096, or NT_FILE's if bigger */
	size_t exe_file;            /* index into files, or SIZE_MAX */
};

/* What the notes hold; pointers into libelf's data, valid until elf_end. */
struct core_notes {
	const struct fpi_arch_info *arch;
	const unsigned char **prstatus; /* each NT_PRSTATUS's desc, in order */
	size_t nprstatus, prstatus_cap;
	const unsigned char *auxv, *file, *siginfo;
	size_t auxv_len, file_len;
	bool have_psinfo;
	int psinfo_pid;
	char fname[17];
	uint64_t at_entry, at_phdr, at_execfn, at_sysinfo_ehdr;
};

static uint64_t le64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static struct fpi_error *format_error(const char *core, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static struct fpi_error *format_error(const char *core, const char *fmt, ...)
{
	struct fpi_error *err;
	char *msg;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0) {
		va_end(ap);
		return &fpi_enomem;
	}
	va_end(ap);
	err = fpi_error_create(FPI_ERR_FORMAT, "%s: %s", core, msg);
	free(msg);
	return err;
}

/* ---------------------------------------------------------------- memory */

/* The segment holding addr, or NULL; *next is where the next segment above
 * addr starts (UINT64_MAX: none). */
static const struct core_segment *find_segment(const struct core *c, uint64_t addr, uint64_t *next)
{
	size_t lo = fpi_count_le(c->segs, c->nsegs, sizeof(*c->segs), offsetof(struct core_segment, vaddr), addr);

	*next = lo < c->nsegs ? c->segs[lo].vaddr : UINT64_MAX;
	if (lo == 0)
		return NULL;
	const struct core_segment *s = &c->segs[lo - 1];
	return addr - s->vaddr < s->memsz ? s : NULL;
}

static const struct core_filemap *find_filemap(const struct core *c, uint64_t addr)
{
	size_t lo = fpi_count_le(c->fmaps, c->nfmaps, sizeof(*c->fmaps), offsetof(struct core_filemap, start), addr);

	if (lo == 0)
		return NULL;
	const struct core_filemap *m = &c->fmaps[lo - 1];
	return addr < m->end ? m : NULL;
}

static bool pread_full(int fd, void *buf, size_t len, uint64_t off, size_t *got)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done, (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return false;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	*got = done;
	return true;
}

/* Bytes of the core file itself; the range was checked at open. */
static bool core_copy(const struct core *c, uint64_t off, void *buf, size_t len)
{
	size_t got;

	if (c->image) {
		memcpy(buf, c->image + off, len);
		return true;
	}
	return pread_full(c->fd, buf, len, off, &got) && got == len;
}

static enum file_state open_file(struct core *c, size_t i);

/* Read up to len bytes at addr from the file mapped there: how the dump's
 * omissions (file pages it did not write) come back. Returns how many bytes
 * were read, 0 when none can be. */
static size_t file_read(struct core *c, uint64_t addr, unsigned char *buf, size_t len)
{
	const struct core_filemap *m = find_filemap(c, addr);
	struct core_file *f;
	uint64_t off, avail, page_end;
	size_t got = 0;

	if (!m)
		return 0;
	if (len > m->end - addr)
		len = m->end - addr;
	f = &c->files[m->file];
	if (f->state != FILE_OPEN && open_file(c, m->file) != FILE_OPEN)
		return 0;
	if (__builtin_add_overflow(m->offset, addr - m->start, &off))
		return 0;
	avail = off < f->size ? f->size - off : 0;
	if (avail && !pread_full(f->fd, buf, len < avail ? len : avail, off, &got))
		return 0;
	if (got == len)
		return len;
	/* Past the end of the file, the rest of its last page reads as zero;
	 * beyond that page a real process would take SIGBUS. */
	page_end = (f->size + c->page_size - 1) & ~(c->page_size - 1);
	if (off + got < f->size || off > page_end || len > page_end - off)
		return 0;
	memset(buf + got, 0, len - got);
	return len;
}

/* Read len bytes at addr. dumped_only: from the core's own bytes only, never
 * from a mapped file (for comparing the two). */
static bool core_read(struct core *c, uint64_t addr, void *buf, size_t len, bool dumped_only)
{
	unsigned char *p = buf;

	if (len && addr + (len - 1) < addr)
		return false;
	while (len) {
		uint64_t next;
		const struct core_segment *s = find_segment(c, addr, &next);
		size_t n;

		if (s && addr - s->vaddr < s->filesz) {
			uint64_t in = addr - s->vaddr;

			n = s->filesz - in < len ? s->filesz - in : len;
			if (!core_copy(c, s->offset + in, p, n))
				return false;
		} else {
			/* Not dumped: a file mapping the dump left out (the
			 * kernel writes p_filesz 0 for them, gcore omits them),
			 * or memory that is gone (anonymous memory the
			 * coredump_filter excluded, PROT_NONE reservations):
			 * unreadable, not zero. */
			uint64_t end = s ? s->vaddr + s->memsz : next;

			if (dumped_only)
				return false;
			n = end - addr < len ? end - addr : len;
			n = file_read(c, addr, p, n);
			if (!n)
				return false;
		}
		addr += n;
		p += n;
		len -= n;
	}
	return true;
}

static struct fpi_error *core_readv(struct fpi_target *t, struct fpi_read *reads, size_t n)
{
	for (size_t i = 0; i < n; i++)
		reads[i].ok = core_read(t->priv, reads[i].addr, reads[i].buf, reads[i].len, false);
	return NULL;
}

static void close_file(struct core *c, struct core_file *f)
{
	if (f->fd >= 0) {
		close(f->fd);
		f->fd = -1;
		c->nopen--;
	}
}

static void core_destroy(struct fpi_target *t)
{
	struct core *c = t->priv;

	if (!c)
		return;
	for (size_t i = 0; i < c->nfiles; i++) {
		close_file(c, &c->files[i]);
		if (c->files[i].open_path != c->files[i].path)
			free(c->files[i].open_path);
		free(c->files[i].path);
	}
	free(c->files);
	free(c->fmaps);
	free(c->segs);
	if (c->image)
		munmap((void *)c->image, c->size);
	if (c->fd >= 0)
		close(c->fd);
	free(c);
}

static const struct fpi_target_ops core_ops = {
	.kind = "core",
	.post_mortem = true,
	.readv = core_readv,
	.destroy = core_destroy,
};


/* ------------------------------------------------------------- build IDs */

enum id_verdict { ID_UNKNOWN, ID_MATCH, ID_DIFFER };

struct id_result {
	enum id_verdict verdict;
	char *core_id, *file_id; /* for messages; "none" or an ID */
	const char *kind;        /* "GNU build ID", "Go build ID", "ELF header" */
};

static char *format_id(uint32_t type, const unsigned char *desc, size_t len)
{
	char *s = malloc(len * 2 + 1);

	if (!s)
		return NULL;
	/* Go's build ID is text ("actionID/contentID"); GNU's is bytes. */
	if (type == NT_GO_BUILD_ID) {
		size_t k = 0;

		for (size_t i = 0; i < len && desc[i]; i++)
			s[k++] = desc[i] >= 0x20 && desc[i] < 0x7f ? (char)desc[i] : '?';
		s[k] = '\0';
		return s;
	}
	for (size_t i = 0; i < len; i++)
		sprintf(s + 2 * i, "%02x", desc[i]);
	s[2 * len] = '\0';
	return s;
}

static void id_result_set(struct id_result *r, enum id_verdict v, const char *kind,
			  char *core_id, char *file_id)
{
	/* A difference outranks a match: one differing ID means another file.
	 * Between matches, name the GNU one: shorter, and what debuginfod and
	 * eu-unstrip show. */
	bool gnu_over_go = r->verdict == ID_MATCH && v == ID_MATCH && !strcmp(r->kind, "Go build ID") &&
			   !strcmp(kind, "GNU build ID");

	if (r->verdict == ID_DIFFER || (r->verdict == ID_MATCH && v != ID_DIFFER && !gnu_over_go) ||
	    v == ID_UNKNOWN) {
		free(core_id);
		free(file_id);
		return;
	}
	free(r->core_id);
	free(r->file_id);
	r->verdict = v;
	r->kind = kind;
	r->core_id = core_id;
	r->file_id = file_id;
}

/* The load bias of file i: where its offset-0 page sits in the core's
 * address space minus where the file's headers say it goes. */
static bool file_bias(const struct core *c, size_t i, Elf *elf, uint64_t *bias, uint64_t *start)
{
	size_t phnum;
	const struct core_filemap *m = NULL;

	for (size_t k = 0; k < c->nfmaps; k++)
		if (c->fmaps[k].file == i && c->fmaps[k].offset == 0) {
			m = &c->fmaps[k];
			break;
		}
	if (!m || elf_getphdrnum(elf, &phnum) != 0)
		return false;
	for (size_t k = 0; k < phnum; k++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(elf, (int)k, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (ph.p_offset < c->page_size) {
			*bias = m->start - (ph.p_vaddr & ~(c->page_size - 1));
			*start = m->start;
			return true;
		}
	}
	return false;
}

/* A GNU build ID note, or Go's (named "Go\0\0": Go pads the name). */
static bool is_build_id(const GElf_Nhdr *nh, const char *name)
{
	if (nh->n_type == NT_GNU_BUILD_ID)
		return nh->n_namesz == 4 && !memcmp(name, "GNU", 4);
	if (nh->n_type == NT_GO_BUILD_ID)
		return (nh->n_namesz == 3 || nh->n_namesz == 4) && !memcmp(name, "Go", 3) &&
		       (nh->n_namesz == 3 || name[3] == '\0');
	return false;
}

/* For messages only: the build ID of this type the core holds in the first
 * page of the mapping at start, wherever it is there ("none" without). */
static char *core_build_id(struct core *c, uint64_t start, uint32_t type)
{
	unsigned char page[4096];
	size_t n = sizeof(page);

	while (n >= 64 && !core_read(c, start, page, n, true))
		n /= 2;
	for (size_t off = 0; n >= 64 && off + 16 <= n; off += 4) {
		GElf_Nhdr nh = { le32(page + off), le32(page + off + 4), le32(page + off + 8) };
		size_t desc = off + 12 + ((nh.n_namesz + 3) & ~3u);

		if (nh.n_type == type && nh.n_namesz <= 4 && nh.n_descsz && nh.n_descsz <= 256 &&
		    nh.n_descsz <= n && desc <= n - nh.n_descsz && is_build_id(&nh, (const char *)page + off + 12))
			return format_id(type, page + desc, nh.n_descsz);
	}
	return strdup("none");
}

/* Compare one note of the file (at vaddr, as laid out in its data) with the
 * bytes the core holds at the same place. */
static void check_note(struct core *c, uint64_t start, uint64_t bias, uint64_t vaddr, const GElf_Nhdr *nh,
		       const char *name, const unsigned char *desc, struct id_result *r)
{
	const char *kind = nh->n_type == NT_GO_BUILD_ID ? "Go build ID" : "GNU build ID";
	unsigned char hdr[12], buf[1024];
	size_t name_pad = (nh->n_namesz + 3) & ~3u;

	if (nh->n_descsz > sizeof(buf) || nh->n_namesz > sizeof(buf) ||
	    !core_read(c, vaddr + bias, hdr, sizeof(hdr), true))
		return; /* not dumped: nothing to compare */
	/* The page is there but the note is not: another file's layout. */
	if (le32(hdr) != nh->n_namesz || le32(hdr + 4) != nh->n_descsz || le32(hdr + 8) != nh->n_type) {
		id_result_set(r, ID_DIFFER, kind, core_build_id(c, start, nh->n_type),
			      format_id(nh->n_type, desc, nh->n_descsz));
		return;
	}
	if (!core_read(c, vaddr + bias + 12, buf, nh->n_namesz, true))
		return;
	if (memcmp(buf, name, nh->n_namesz) != 0) {
		id_result_set(r, ID_DIFFER, kind, core_build_id(c, start, nh->n_type),
			      format_id(nh->n_type, desc, nh->n_descsz));
		return;
	}
	if (!core_read(c, vaddr + bias + 12 + name_pad, buf, nh->n_descsz, true))
		return;
	id_result_set(r, memcmp(buf, desc, nh->n_descsz) ? ID_DIFFER : ID_MATCH, kind,
		      format_id(nh->n_type, buf, nh->n_descsz), format_id(nh->n_type, desc, nh->n_descsz));
}

static void check_notes_in(struct core *c, uint64_t start, uint64_t bias, Elf_Data *data, uint64_t vaddr,
			   struct id_result *r)
{
	size_t off = 0, next, name_off, desc_off;
	GElf_Nhdr nh;

	while (off < data->d_size && (next = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0) {
		const char *name = (const char *)data->d_buf + name_off;
		const unsigned char *desc = (const unsigned char *)data->d_buf + desc_off;

		if (is_build_id(&nh, name)) {
			check_note(c, start, bias, vaddr + off, &nh, name, desc, r);
		}
		off = next;
	}
}

/* Does the ELF file elf (fd) hold what the core had mapped from file i?
 * Compares the build IDs (GNU and Go) the file has with the bytes at the
 * same addresses in the core, as far as the core dumped them: the kernel
 * dumps the first page of every ELF mapping, which for Go binaries holds
 * both notes; gcore dumps the whole text. Without any build ID, compares
 * that first page. */
static void check_file(struct core *c, size_t i, Elf *elf, int fd, struct id_result *r)
{
	uint64_t bias, start;
	Elf_Scn *scn = NULL;
	bool sections = false;

	memset(r, 0, sizeof(*r));
	if (!file_bias(c, i, elf, &bias, &start))
		return;
	/* Go puts .note.gnu.build-id outside its PT_NOTE segment: look at
	 * sections first, and at PT_NOTE only for section-less files. */
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *data;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE || !(sh.sh_flags & SHF_ALLOC))
			continue;
		sections = true;
		data = elf_getdata(scn, NULL);
		if (data && data->d_buf)
			check_notes_in(c, start, bias, data, sh.sh_addr, r);
	}
	if (!sections) {
		size_t phnum;

		if (elf_getphdrnum(elf, &phnum) == 0) {
			for (size_t k = 0; k < phnum; k++) {
				GElf_Phdr ph;
				Elf_Data *data;

				if (!gelf_getphdr(elf, (int)k, &ph) || ph.p_type != PT_NOTE ||
				    ph.p_filesz > MAX_NOTES)
					continue;
				data = elf_getdata_rawchunk(elf, (int64_t)ph.p_offset, ph.p_filesz,
							    ph.p_align == 8 ? ELF_T_NHDR8 : ELF_T_NHDR);
				if (data && data->d_buf)
					check_notes_in(c, start, bias, data, ph.p_vaddr, r);
			}
		}
	}
	if (r->verdict != ID_UNKNOWN)
		return;
	/* No build ID to compare: the ELF header and program headers. */
	unsigned char core_page[4096], file_page[4096];
	size_t got, n = sizeof(core_page);

	if (!core_read(c, start, core_page, 64, true) || !pread_full(fd, file_page, n, 0, &got) || got < 64)
		return;
	while (n > got || !core_read(c, start, core_page, n, true))
		n /= 2;
	r->kind = "ELF header";
	r->verdict = memcmp(core_page, file_page, n) ? ID_DIFFER : ID_MATCH;
	r->core_id = strdup(r->verdict == ID_MATCH ? "same" : "different");
	r->file_id = strdup("");
}

static void id_result_free(struct id_result *r)
{
	free(r->core_id);
	free(r->file_id);
}

/* /proc and /sys files pass for regular ones; none is a mapped program
 * (and /proc/kcore or /proc/self/mem must not stand in for one). */
static bool pseudo_file(int fd)
{
	struct statfs sf;

	return fstatfs(fd, &sf) != 0 || sf.f_type == PROC_SUPER_MAGIC || sf.f_type == SYSFS_MAGIC;
}

/* Open file i of NT_FILE for reading what the dump left out, checking once
 * that it is still the file the process had mapped. A core names any path
 * it likes: only regular files are opened, and without blocking. */
static enum file_state open_file(struct core *c, size_t i)
{
	struct core_file *f = &c->files[i];
	struct stat st;
	int fd;

	if (f->state == FILE_UNUSABLE || f->state == FILE_OPEN)
		return f->state;
	if (c->nopen >= MAX_OPEN_FILES)
		for (size_t k = 0; k < c->nfiles; k++)
			if (c->files[k].state == FILE_OPEN) {
				close_file(c, &c->files[k]);
				c->files[k].state = FILE_CLOSED;
			}
	fd = open(f->open_path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || pseudo_file(fd)) {
		if (fd >= 0)
			close(fd);
		f->state = FILE_UNUSABLE;
		return f->state;
	}
	if (f->state == FILE_UNTRIED) {
		Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
		struct id_result r;

		if (elf && elf_kind(elf) == ELF_K_ELF) {
			check_file(c, i, elf, fd, &r);
			id_result_free(&r);
			if (r.verdict == ID_DIFFER) {
				elf_end(elf);
				close(fd);
				f->state = FILE_UNUSABLE;
				return f->state;
			}
		}
		elf_end(elf);
	}
	f->fd = fd;
	f->size = (uint64_t)st.st_size;
	f->state = FILE_OPEN;
	c->nopen++;
	return f->state;
}

/* ----------------------------------------------------------------- notes */

static struct fpi_error *note_prstatus(struct core_notes *notes, const char *core, const unsigned char *desc,
				       size_t len)
{
	size_t min = PRSTATUS_REG + 8 * (size_t)notes->arch->user_regs_words;

	if (len < min)
		return format_error(core, "damaged NT_PRSTATUS note: %zu bytes, want at least %zu for %s", len,
				    min, notes->arch->name);
	if (notes->nprstatus == notes->prstatus_cap) {
		size_t cap = notes->prstatus_cap ? 2 * notes->prstatus_cap : 64;
		const unsigned char **p = realloc(notes->prstatus, cap * sizeof(*p));

		if (!p)
			return &fpi_enomem;
		notes->prstatus = p;
		notes->prstatus_cap = cap;
	}
	notes->prstatus[notes->nprstatus++] = desc;
	return NULL;
}

/* One thread per NT_PRSTATUS, in the core's order: the kernel writes the
 * thread that took the signal first. Filled in one go rather than through
 * fpi_target_add_thread, which grows by one and so is quadratic where
 * realloc cannot extend in place (ASan, fragmented heaps), in a count the
 * core controls. */
static struct fpi_error *make_threads(struct fpi_target *t, const struct core_notes *notes)
{
	t->threads = calloc(notes->nprstatus, sizeof(*t->threads));
	if (!t->threads)
		return &fpi_enomem;
	for (size_t i = 0; i < notes->nprstatus; i++) {
		const unsigned char *ur = notes->prstatus[i] + PRSTATUS_REG;
		struct fpi_target_thread *th = &t->threads[i];

		const struct fpi_arch_info *a = notes->arch;

		th->tid = (int)le32(notes->prstatus[i] + PRSTATUS_PID);
		for (int w = 0; w < a->user_regs_words; w++)
			if (a->user_regs_slot[w] >= 0)
				th->regs.r[a->user_regs_slot[w]] = le64(ur + 8 * w);
		if (a->user_regs_fs_base >= 0)
			th->regs.fs_base = le64(ur + 8 * a->user_regs_fs_base);
	}
	t->nthreads = notes->nprstatus;
	if (notes->nprstatus) {
		const unsigned char *p = notes->prstatus[0] + PRSTATUS_CURSIG;

		t->signal = (int16_t)(p[0] | p[1] << 8);
		t->signal_tid = t->threads[0].tid;
	}
	if (t->signal > 0 && notes->siginfo && (int)le32(notes->siginfo) == t->signal &&
	    (t->signal == SIGSEGV || t->signal == SIGBUS || t->signal == SIGILL || t->signal == SIGFPE)) {
		t->signal_addr = le64(notes->siginfo + SIGINFO_ADDR);
		t->signal_has_addr = true;
	}
	if (t->signal < 0)
		t->signal = 0;
	return NULL;
}

static struct fpi_error *parse_note_segment(const char *core, Elf *elf, size_t idx,
					    const GElf_Phdr *ph, struct core_notes *notes)
{
	Elf_Data *data = elf_getdata_rawchunk(elf, (int64_t)ph->p_offset, ph->p_filesz,
					      ph->p_align == 8 ? ELF_T_NHDR8 : ELF_T_NHDR);
	size_t off = 0, next, name_off, desc_off;
	GElf_Nhdr nh;

	if (!data)
		return format_error(core, "cannot read note segment %zu: %s", idx, elf_errmsg(-1));
	while (off < data->d_size) {
		const unsigned char *desc;
		struct fpi_error *err;

		/* Tolerate padding after the last note, not a damaged note. */
		if (data->d_size - off < sizeof(Elf64_Nhdr))
			break;
		next = gelf_getnote(data, off, &nh, &name_off, &desc_off);
		if (next == 0)
			return format_error(core, "damaged note at offset %zu of note segment %zu", off, idx);
		off = next;
		if (nh.n_namesz != 5 || memcmp((const char *)data->d_buf + name_off, "CORE", 5) != 0)
			continue;
		desc = (const unsigned char *)data->d_buf + desc_off;
		switch (nh.n_type) {
		case NT_PRSTATUS:
			err = note_prstatus(notes, core, desc, nh.n_descsz);
			if (err)
				return err;
			break;
		case NT_PRPSINFO:
			if (!notes->have_psinfo && nh.n_descsz >= PRPSINFO_MIN) {
				notes->have_psinfo = true;
				notes->psinfo_pid = (int)le32(desc + PRPSINFO_PID);
				memcpy(notes->fname, desc + PRPSINFO_FNAME, 16);
				notes->fname[16] = '\0';
			}
			break;
		case NT_SIGINFO:
			if (!notes->siginfo && nh.n_descsz >= SIGINFO_MIN)
				notes->siginfo = desc;
			break;
		case NT_AUXV:
			if (!notes->auxv) {
				notes->auxv = desc;
				notes->auxv_len = nh.n_descsz;
			}
			break;
		case NT_FILE:
			if (!notes->file) {
				notes->file = desc;
				notes->file_len = nh.n_descsz;
			}
			break;
		}
	}
	return NULL;
}

static void parse_auxv(struct core_notes *notes)
{
	for (size_t off = 0; off + 16 <= notes->auxv_len; off += 16) {
		uint64_t type = le64(notes->auxv + off), val = le64(notes->auxv + off + 8);

		if (type == AT_NULL)
			break;
		if (type == AT_ENTRY)
			notes->at_entry = val;
		else if (type == AT_PHDR)
			notes->at_phdr = val;
		else if (type == AT_EXECFN)
			notes->at_execfn = val;
		else if (type == AT_SYSINFO_EHDR)
			notes->at_sysinfo_ehdr = val;
	}
}

struct name_ref {
	const char *name;
	size_t entry;
};

static int name_ref_cmp(const void *a, const void *b)
{
	const struct name_ref *x = a, *y = b;
	int d = strcmp(x->name, y->name);

	return d ? d : (x->entry > y->entry) - (x->entry < y->entry);
}

static int filemap_cmp(const void *a, const void *b)
{
	const struct core_filemap *x = a, *y = b;

	return (x->start > y->start) - (x->start < y->start);
}

/* NT_FILE: count, page size, count (start, end, page offset) triples, then
 * count NUL-terminated names. The mappings become both t->maps and the
 * table the memory reads fall back on. */
static struct fpi_error *parse_nt_file(struct fpi_target *t, struct core *c, const char *core,
				       const struct core_notes *notes)
{
	const unsigned char *p = notes->file;
	size_t len = notes->file_len, count, names_off;
	uint64_t unit;
	struct name_ref *refs = NULL;
	const char *s, *end;
	struct fpi_error *err = NULL;

	if (len < 16)
		return format_error(core, "damaged NT_FILE note: %zu bytes", len);
	count = le64(p) > (len - 16) / 24 ? SIZE_MAX : (size_t)le64(p);
	/* The unit of the offsets: the kernel's page size, or 1 from gcore. */
	unit = le64(p + 8);
	if (count == SIZE_MAX)
		return format_error(core, "damaged NT_FILE note: %llu mappings do not fit in %zu bytes",
				    (unsigned long long)le64(p), len);
	if (unit == 0 || unit > (1u << 30) || (unit & (unit - 1)))
		return format_error(core, "damaged NT_FILE note: page size %llu", (unsigned long long)unit);
	if (unit >= 4096)
		c->page_size = unit;
	if (count == 0)
		return NULL;
	/* count is bounded by the note's size from here on. */
	c->fmaps = calloc(count, sizeof(*c->fmaps));
	refs = calloc(count, sizeof(*refs));
	if (!c->fmaps || !refs) {
		free(refs);
		return &fpi_enomem;
	}
	names_off = 16 + count * 24;
	s = (const char *)p + names_off;
	end = (const char *)p + len;
	for (size_t k = 0; k < count; k++) {
		const unsigned char *e = p + 16 + 24 * k;
		struct core_filemap *m = &c->fmaps[k];
		const char *nul = memchr(s, '\0', (size_t)(end - s));

		if (!nul) {
			err = format_error(core, "damaged NT_FILE note: %zu mappings but only %zu names",
					   count, k);
			goto out;
		}
		m->start = le64(e);
		m->end = le64(e + 8);
		if (m->start >= m->end || __builtin_mul_overflow(le64(e + 16), unit, &m->offset)) {
			err = format_error(core, "damaged NT_FILE note: mapping %zu [0x%llx, 0x%llx) offset %llu pages",
					   k, (unsigned long long)m->start, (unsigned long long)m->end,
					   (unsigned long long)le64(e + 16));
			goto out;
		}
		m->file = k;
		refs[k] = (struct name_ref){ s, k };
		s = nul + 1;
	}
	/* One core_file per distinct name: sort the names, not compare all
	 * pairs (cores of big processes name tens of thousands of mappings). */
	qsort(refs, count, sizeof(*refs), name_ref_cmp);
	c->files = calloc(count, sizeof(*c->files));
	if (!c->files) {
		err = &fpi_enomem;
		goto out;
	}
	for (size_t k = 0; k < count; k++) {
		if (k == 0 || strcmp(refs[k].name, refs[k - 1].name) != 0) {
			struct core_file *f = &c->files[c->nfiles++];

			f->fd = -1;
			f->path = strdup(refs[k].name);
			if (!f->path) {
				err = &fpi_enomem;
				goto out;
			}
			f->open_path = f->path;
			/* The kernel marks unlinked files; the name may now be
			 * another file's. */
			size_t n = strlen(f->path);
			if (n >= 10 && !strcmp(f->path + n - 10, " (deleted)"))
				f->state = FILE_UNUSABLE;
		}
		c->fmaps[refs[k].entry].file = c->nfiles - 1;
	}
	qsort(c->fmaps, count, sizeof(*c->fmaps), filemap_cmp);
	for (size_t k = 1; k < count; k++)
		if (c->fmaps[k].start < c->fmaps[k - 1].end) {
			err = format_error(core, "damaged NT_FILE note: mappings at 0x%llx and 0x%llx overlap",
					   (unsigned long long)c->fmaps[k - 1].start,
					   (unsigned long long)c->fmaps[k].start);
			goto out;
		}
	c->nfmaps = count;
	/* Filled in one go: fpi_target_add_mapping sorts on every call, which
	 * is quadratic in a count the core controls. Same invariant: sorted
	 * by start, each path owned. */
	t->maps = calloc(count, sizeof(*t->maps));
	if (!t->maps) {
		err = &fpi_enomem;
		goto out;
	}
	for (size_t k = 0; k < count; k++) {
		const struct core_filemap *m = &c->fmaps[k];

		t->maps[k] = (struct fpi_mapping){ m->start, m->end, m->offset, strdup(c->files[m->file].path) };
		if (!t->maps[k].path) {
			err = &fpi_enomem;
			goto out;
		}
		t->nmaps++;
	}
out:
	free(refs);
	return err;
}

/* ------------------------------------------------------------ executable */

/* The file the core says the executable was: NT_FILE's mapping holding
 * AT_ENTRY (or AT_PHDR). SIZE_MAX when it does not say. */
static size_t exe_file_index(const struct core *c, const struct core_notes *notes)
{
	const uint64_t addrs[2] = { notes->at_entry, notes->at_phdr };

	for (int k = 0; k < 2; k++) {
		const struct core_filemap *m = addrs[k] ? find_filemap(c, addrs[k]) : NULL;

		if (m)
			return m->file;
	}
	return SIZE_MAX;
}

/* AT_EXECFN: the path execve was given, on the process's stack. */
static char *read_execfn(struct core *c, uint64_t addr)
{
	char buf[MAX_PATH_READ];

	if (!addr)
		return NULL;
	for (size_t i = 0; i < sizeof(buf); i++) {
		if (!core_read(c, addr + i, &buf[i], 1, true))
			return NULL;
		if (!buf[i])
			return i ? strdup(buf) : NULL;
	}
	return NULL;
}

static bool is_regular_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* A core without NT_FILE (qemu-user writes none) still has the auxiliary
 * vector: AT_ENTRY (or AT_PHDR) says where the executable was loaded, so
 * its PT_LOAD segments give the file mappings the dump left out (qemu
 * writes no bytes for read-only file pages: the text). The executable
 * becomes the one file of the core. */
static struct fpi_error *exe_maps_from_auxv(struct fpi_target *t, struct core *c, Elf *elf, const GElf_Ehdr *eh,
					    const char *path, const struct core_notes *notes)
{
	uint64_t bias = 0, pg = c->page_size - 1;
	size_t phnum, n = 0;
	bool have_bias = false;

	if (elf_getphdrnum(elf, &phnum) != 0 || phnum == 0 || phnum > 1024)
		return NULL;
	for (size_t k = 0; k < phnum && !have_bias; k++) {
		GElf_Phdr ph;

		if (gelf_getphdr(elf, (int)k, &ph) && ph.p_type == PT_PHDR && notes->at_phdr) {
			bias = notes->at_phdr - ph.p_vaddr;
			have_bias = true;
		}
	}
	if (!have_bias && notes->at_entry)
		bias = notes->at_entry - eh->e_entry;
	if (eh->e_type == ET_EXEC && bias != 0)
		return fpi_error_create(FPI_ERR_USAGE, "%s: the core's auxiliary vector puts the executable's entry at "
					"0x%llx, %s says 0x%llx: not the executable of this core", path,
					(unsigned long long)(eh->e_entry + bias), path, (unsigned long long)eh->e_entry);
	c->fmaps = calloc(phnum, sizeof(*c->fmaps));
	t->maps = calloc(phnum, sizeof(*t->maps));
	c->files = calloc(1, sizeof(*c->files));
	if (!c->fmaps || !t->maps || !c->files)
		return &fpi_enomem;
	c->files[0] = (struct core_file){ .path = strdup(path), .fd = -1 };
	if (!c->files[0].path)
		return &fpi_enomem;
	c->files[0].open_path = c->files[0].path;
	c->nfiles = 1;
	for (size_t k = 0; k < phnum; k++) {
		GElf_Phdr ph;
		uint64_t start, end;

		if (!gelf_getphdr(elf, (int)k, &ph) || ph.p_type != PT_LOAD || !ph.p_filesz)
			continue;
		if (__builtin_add_overflow(ph.p_vaddr, bias, &start) ||
		    __builtin_add_overflow(start, ph.p_filesz, &end) || end + pg < end)
			continue;
		start &= ~pg;
		end = (end + pg) & ~pg;
		/* segments of one file are sorted and disjoint (the ELF spec);
		 * a file that says otherwise gives no mapping there */
		if ((n && start < c->fmaps[n - 1].end) || (ph.p_offset & pg) != (ph.p_vaddr & pg))
			continue;
		c->fmaps[n] = (struct core_filemap){ start, end, ph.p_offset & ~pg, 0 };
		t->maps[n] = (struct fpi_mapping){ start, end, ph.p_offset & ~pg, strdup(path) };
		if (!t->maps[n].path)
			return &fpi_enomem;
		n++;
		t->nmaps = n;
	}
	c->nfmaps = n;
	c->exe_file = n ? 0 : SIZE_MAX;
	return NULL;
}

/* Decide which executable goes with the core and whether it is the one the
 * process ran; sets t->exe_path and t->exe_check. */
static struct fpi_error *find_exe(struct fpi_target *t, struct core *c, const char *core, const char *exe,
				  struct core_notes *notes)
{
	const char *path = exe;
	struct id_result r = { 0 };
	struct fpi_error *err = NULL;
	Elf *elf = NULL;
	int fd = -1;

	c->exe_file = exe_file_index(c, notes);
	if (!exe) {
		char *execfn = NULL;
		const char *said = NULL;

		if (c->exe_file != SIZE_MAX) {
			said = c->files[c->exe_file].path;
		} else {
			execfn = read_execfn(c, notes->at_execfn);
			said = execfn;
		}
		if (!said) {
			err = fpi_error_create(FPI_ERR_USAGE,
					       "%s: the core does not say where its executable is%s%s%s: "
					       "pass the executable: fpinspect core CORE EXE",
					       core, notes->fname[0] ? " (the process was called \"" : "",
					       notes->fname, notes->fname[0] ? "\")" : "");
		} else if (said[0] != '/') {
			err = fpi_error_create(FPI_ERR_USAGE,
					       "%s: the executable was started as %s, relative to a directory the core does not name: "
					       "pass the executable: fpinspect core CORE EXE", core, said);
		} else if ((c->exe_file != SIZE_MAX && c->files[c->exe_file].state == FILE_UNUSABLE) ||
			   !is_regular_file(said)) {
			err = fpi_error_create(FPI_ERR_USAGE,
					       "%s: the executable %s no longer exists: pass the executable: "
					       "fpinspect core CORE EXE", core, said);
		} else {
			t->exe_path = strdup(said);
			if (!t->exe_path)
				err = &fpi_enomem;
		}
		free(execfn);
		if (err)
			return err;
		path = t->exe_path;
	} else {
		t->exe_path = strdup(exe);
		if (!t->exe_path)
			return &fpi_enomem;
	}

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return fpi_error_create(errno == ENOENT ? FPI_ERR_USAGE : FPI_ERR_OTHER, "cannot open %s: %s",
					path, strerror(errno));
	elf = pseudo_file(fd) ? NULL : elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF) {
		err = fpi_error_create(FPI_ERR_FORMAT, "%s: not an ELF file, so not the executable of %s",
				       path, core);
		goto out;
	}
	{
		GElf_Ehdr eh;

		if (!gelf_getehdr(elf, &eh) || (eh.e_type != ET_EXEC && eh.e_type != ET_DYN) ||
		    eh.e_machine != t->arch->e_machine) {
			err = fpi_error_create(FPI_ERR_FORMAT, "%s: not an %s executable, so not the executable of %s",
					       path, t->arch->name, core);
			goto out;
		}
		if (c->exe_file == SIZE_MAX && c->nfmaps == 0 && (notes->at_entry || notes->at_phdr)) {
			err = exe_maps_from_auxv(t, c, elf, &eh, path, notes);
			if (err)
				goto out;
		}
	}
	if (c->exe_file == SIZE_MAX) {
		if (asprintf(&t->exe_check, "not checked: the core does not say where the executable was mapped") < 0)
			t->exe_check = NULL;
		goto out;
	}
	check_file(c, c->exe_file, elf, fd, &r);
	if (r.verdict == ID_DIFFER) {
		char *detail;

		if (!strcmp(r.kind, "ELF header")) {
			detail = strdup("no build ID in the file, and its ELF headers differ from the core's");
		} else if (asprintf(&detail, "%s %s in the core, %s in the file", r.kind,
				    r.core_id ? r.core_id : "?", r.file_id ? r.file_id : "?") < 0) {
			detail = NULL;
		}
		if (!detail)
			err = &fpi_enomem;
		else if (exe)
			err = fpi_error_create(FPI_ERR_USAGE, "%s does not belong to %s (%s)", exe, core, detail);
		else
			err = fpi_error_create(FPI_ERR_USAGE,
					       "%s: %s has changed since the core was written (%s): "
					       "pass the executable: fpinspect core CORE EXE", core, path, detail);
		free(detail);
		goto out;
	}
	if (r.verdict == ID_MATCH && !strcmp(r.kind, "ELF header")) {
		if (asprintf(&t->exe_check, "ELF headers match (no build ID in the file)") < 0)
			t->exe_check = NULL;
	} else if (r.verdict == ID_MATCH) {
		if (asprintf(&t->exe_check, "%s %s matches", r.kind, r.file_id) < 0)
			t->exe_check = NULL;
	} else if (asprintf(&t->exe_check, "not checked: the core holds no build ID for the executable") < 0) {
		t->exe_check = NULL;
	}
	/* The executable's pages come from the file the user named, which we
	 * just checked; the maps say so too. */
	struct core_file *f = &c->files[c->exe_file];
	if (strcmp(f->open_path, path) != 0) {
		char *p = strdup(path);

		if (!p) {
			err = &fpi_enomem;
			goto out;
		}
		if (f->open_path != f->path)
			free(f->open_path);
		f->open_path = p;
		for (size_t k = 0; k < t->nmaps; k++) {
			if (c->fmaps[k].file != c->exe_file)
				continue;
			char *q = strdup(path);
			if (!q) {
				err = &fpi_enomem;
				goto out;
			}
			free(t->maps[k].path);
			t->maps[k].path = q;
		}
	}
	{
		struct stat st;

		if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
			f->fd = fd;
			f->size = (uint64_t)st.st_size;
			f->state = FILE_OPEN;
			c->nopen++;
			fd = -1;
		}
	}
out:
	id_result_free(&r);
	elf_end(elf);
	if (fd >= 0)
		close(fd);
	return err;
}

/* ------------------------------------------------------------------ open */

static const char *e_type_name(unsigned type)
{
	switch (type) {
	case ET_NONE: return "ET_NONE";
	case ET_REL: return "ET_REL, an object file";
	case ET_EXEC: return "ET_EXEC, an executable";
	case ET_DYN: return "ET_DYN, a shared object or PIE";
	default: return "unknown";
	}
}

static int segment_cmp(const void *a, const void *b)
{
	const struct core_segment *x = a, *y = b;

	return (x->vaddr > y->vaddr) - (x->vaddr < y->vaddr);
}

/* p_offset/p_filesz of segment i must lie inside the file. */
static struct fpi_error *check_extent(const struct core *c, const char *core, size_t i, const GElf_Phdr *ph)
{
	if (ph->p_filesz && (ph->p_offset > c->size || ph->p_filesz > c->size - ph->p_offset))
		return format_error(core, "truncated core: segment %zu [0x%llx, +0x%llx) lies past end of file "
				    "(size %llu)", i, (unsigned long long)ph->p_offset,
				    (unsigned long long)ph->p_filesz, (unsigned long long)c->size);
	return NULL;
}

static struct fpi_error *core_regions(struct fpi_target *t, const struct core *c);

static struct fpi_error *load_core(struct fpi_target *t, struct core *c, const char *core, const char *exe)
{
	struct core_notes notes = { 0 };
	struct fpi_error *err = NULL;
	struct stat st;
	GElf_Ehdr eh;
	size_t phnum, nloads = 0;
	uint64_t note_bytes = 0;
	Elf *elf = NULL;

	c->fd = open(core, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (c->fd < 0)
		return fpi_error_create(errno == ENOENT ? FPI_ERR_USAGE : FPI_ERR_OTHER, "cannot open core %s: %s",
					core, strerror(errno));
	if (fstat(c->fd, &st) != 0)
		return fpi_error_create(FPI_ERR_OTHER, "%s: fstat: %s", core, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return format_error(core, "not a regular file, so not a core");
	if (st.st_size == 0)
		return format_error(core, "empty file, not a core");
	c->size = (uint64_t)st.st_size;
	c->page_size = 4096;
	c->exe_file = SIZE_MAX;
	if (c->size <= SIZE_MAX) {
		void *p = mmap(NULL, (size_t)c->size, PROT_READ, MAP_PRIVATE, c->fd, 0);

		c->image = p == MAP_FAILED ? NULL : p;
	}

	elf_version(EV_CURRENT);
	elf = elf_begin(c->fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF) {
		err = format_error(core, "not an ELF file");
		goto out;
	}
	if (gelf_getclass(elf) != ELFCLASS64) {
		err = format_error(core, "an ELF file but 32-bit; only amd64 and arm64 cores are supported");
		goto out;
	}
	if (!gelf_getehdr(elf, &eh)) {
		err = format_error(core, "damaged ELF header: %s", elf_errmsg(-1));
		goto out;
	}
	if (eh.e_type != ET_CORE) {
		err = format_error(core, "an ELF file but not a core (e_type %u: %s)", eh.e_type,
				   e_type_name(eh.e_type));
		goto out;
	}
	t->arch = fpi_arch_of_machine(eh.e_machine);
	if (!t->arch || eh.e_ident[EI_DATA] != ELFDATA2LSB) {
		err = format_error(core, "a core for another machine (e_machine %u), not amd64 (x86-64) or arm64 (aarch64)",
				   eh.e_machine);
		t->arch = &fpi_arch_amd64;
		goto out;
	}
	notes.arch = t->arch;
	if (elf_getphdrnum(elf, &phnum) != 0) {
		err = format_error(core, "damaged program header count: %s", elf_errmsg(-1));
		goto out;
	}
	if (phnum == 0 || phnum > INT_MAX) {
		err = format_error(core, "a core with %zu program headers", phnum);
		goto out;
	}
	if (eh.e_phoff > c->size || phnum > (c->size - eh.e_phoff) / sizeof(Elf64_Phdr)) {
		err = format_error(core, "truncated core: %zu program headers at offset %llu lie past end of "
				   "file (size %llu)", phnum, (unsigned long long)eh.e_phoff,
				   (unsigned long long)c->size);
		goto out;
	}
	/* phnum is bounded by the file's size from here on. */
	c->segs = calloc(phnum, sizeof(*c->segs));
	if (!c->segs) {
		err = &fpi_enomem;
		goto out;
	}
	for (size_t i = 0; i < phnum; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(elf, (int)i, &ph)) {
			err = format_error(core, "damaged program header %zu: %s", i, elf_errmsg(-1));
			goto out;
		}
		if (ph.p_type != PT_LOAD && ph.p_type != PT_NOTE)
			continue;
		err = check_extent(c, core, i, &ph);
		if (err)
			goto out;
		if (ph.p_type == PT_NOTE) {
			if (ph.p_filesz > MAX_NOTES - note_bytes) {
				err = format_error(core, "note segment %zu: more than %u MiB of notes, too many to be a process's",
						   i, MAX_NOTES >> 20);
				goto out;
			}
			note_bytes += ph.p_filesz;
			if (ph.p_filesz) {
				err = parse_note_segment(core, elf, i, &ph, &notes);
				if (err)
					goto out;
			}
			continue;
		}
		if (ph.p_filesz > ph.p_memsz || ph.p_vaddr + ph.p_memsz < ph.p_vaddr) {
			err = format_error(core, "damaged segment %zu: 0x%llx bytes at 0x%llx, 0x%llx in the file", i,
					   (unsigned long long)ph.p_memsz, (unsigned long long)ph.p_vaddr,
					   (unsigned long long)ph.p_filesz);
			goto out;
		}
		if (ph.p_memsz)
			c->segs[nloads++] = (struct core_segment){ ph.p_vaddr, ph.p_memsz, ph.p_filesz, ph.p_offset };
	}
	c->nsegs = nloads;
	qsort(c->segs, c->nsegs, sizeof(*c->segs), segment_cmp);
	for (size_t i = 1; i < c->nsegs; i++)
		if (c->segs[i].vaddr - c->segs[i - 1].vaddr < c->segs[i - 1].memsz) {
			err = format_error(core, "damaged core: segments at 0x%llx and 0x%llx overlap",
					   (unsigned long long)c->segs[i - 1].vaddr,
					   (unsigned long long)c->segs[i].vaddr);
			goto out;
		}

	if (notes.nprstatus == 0) {
		err = format_error(core, "no NT_PRSTATUS note: the core holds no threads");
		goto out;
	}
	err = make_threads(t, &notes);
	if (err)
		goto out;
	t->pid = notes.have_psinfo && notes.psinfo_pid > 0 ? notes.psinfo_pid : t->threads[0].tid;
	parse_auxv(&notes);
	if (notes.file) {
		err = parse_nt_file(t, c, core, &notes);
		if (err)
			goto out;
	}
	err = find_exe(t, c, core, exe, &notes);
	if (!err)
		err = core_regions(t, c);
	t->vdso = notes.at_sysinfo_ehdr;
	if (!err)
		fpi_target_load_vdso(t);
out:
	free(notes.prstatus);
	elf_end(elf);
	return err;
}

static int region_cmp(const void *a, const void *b)
{
	const struct fpi_region *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* What core_read can serve: the dumped bytes of each segment, and the files
 * NT_FILE names over their whole mappings (the dump may leave those out:
 * gcore writes no segment at all for read-only file mappings). */
static struct fpi_error *core_regions(struct fpi_target *t, const struct core *c)
{
	struct fpi_region *v = malloc((c->nsegs + c->nfmaps + 1) * sizeof(*v));
	struct fpi_error *err = NULL;
	size_t n = 0;

	if (!v)
		return &fpi_enomem;
	for (size_t i = 0; i < c->nsegs; i++)
		if (c->segs[i].filesz)
			v[n++] = (struct fpi_region){ c->segs[i].vaddr, c->segs[i].vaddr + c->segs[i].filesz };
	for (size_t i = 0; i < c->nfmaps; i++)
		v[n++] = (struct fpi_region){ c->fmaps[i].start, c->fmaps[i].end };
	qsort(v, n, sizeof(*v), region_cmp);
	fpi_target_clear_regions(t);
	for (size_t i = 0; i < n && !err; i++)
		err = fpi_target_add_region(t, v[i].start, v[i].end);
	free(v);
	return err;
}

struct fpi_error *fpi_target_open_core(const char *core, const char *exe, struct fpi_target **ret)
{
	struct fpi_target *t = fpi_target_alloc(&core_ops);
	struct core *c;
	struct fpi_error *err;

	*ret = NULL;
	if (!t)
		return &fpi_enomem;
	c = calloc(1, sizeof(*c));
	if (!c) {
		fpi_target_destroy(t);
		return &fpi_enomem;
	}
	c->fd = -1;
	t->priv = c;
	err = load_core(t, c, core, exe);
	if (err) {
		fpi_target_destroy(t);
		return err;
	}
	t->pause_seconds = 0;
	*ret = t;
	return NULL;
}
