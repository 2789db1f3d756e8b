/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The Go runtime's layout: offsets of the g, m, gobuf and stack fields,
 * status names and wait-reason strings, and the roots (allgs, allm). Read
 * from DWARF: the executable's, a separate debug file's, or, for a binary
 * built without it (-ldflags=-s -w), a layout file that fpinspect made from
 * the DWARF of another binary of the same Go version (golayout_file.c).
 * Never from a table written by hand. */
#ifndef FPI_GOLAYOUT_H
#define FPI_GOLAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "error.h"
#include "target.h"

/* A field: offset within its struct and size in bytes; size 0 when this Go
 * version's runtime has no such field (shown as n/a, never as 0/false). */
struct go_field {
	uint32_t off;
	uint32_t size;
};

#define GO_MAX_STATUS 64

/* Where the types and constants came from. */
enum go_layout_source {
	GO_LAYOUT_DWARF,        /* the executable's own DWARF */
	GO_LAYOUT_DEBUG_FILE,   /* a separate debug file's (source_path) */
	GO_LAYOUT_FILE,         /* a layout file (source_path) */
};

struct go_layout {
	char *exe_path;
	char *go_version;       /* from .go.buildinfo ("go1.26.8"), NULL if absent */
	int version_minor;      /* 26 for go1.26.x; 0 unknown */
	const char *goarch;     /* from e_machine: "amd64", "arm64" */
	char *goexperiment;     /* GOEXPERIMENT as .go.buildinfo records it; NULL: none */

	enum go_layout_source source;
	char *source_path;      /* the debug file or layout file; NULL for the exe's DWARF */
	char *layout_version;   /* the Go version the layout file was made for */
	/* A layout of another patch release of the same minor version: used
	 * only once the process's structures validate against it. */
	bool needs_validation;
	/* allgs, allm, ... are this very build's (its DWARF, or a debug file
	 * of the same build): else they are looked for (goglobals.h) */
	bool have_globals;
	const char *globals_source; /* static: "DWARF", "symbol table", "machine code" */
	bool globals_linktime;      /* DWARF's or the cache's: a PIE's need the load bias */

	uint32_t g_size, m_size;
	struct go_field g_stack_lo, g_stack_hi, g_m, g_sched_sp, g_sched_pc, g_sched_bp, g_sched_lr,
		g_syscallsp, g_syscallpc, g_syscallbp, g_atomicstatus, g_goid,
		g_waitreason, g_lockedm, g_gopc, g_startpc, g_parentgoid, g_waitsince;
	struct go_field m_g0, m_procid, m_gsignal, m_curg, m_id, m_incgo, m_isextra,
		m_isextraInC, m_ncgo, m_alllink, m_lockedg, m_p, m_vdsosp, m_vdsopc;

	/* pprof labels: g.labels points at a runtime/pprof.labelMap, a
	 * struct holding a slice of {key, value string} (Go 1.26 and later:
	 * label.Set), or a map[string]string, read in the classic hmap
	 * (runtime.hmap; swiss maps, Go 1.24 and later, are not read) */
	struct go_field g_labels;
	enum { GO_LABELS_NONE, GO_LABELS_SLICE, GO_LABELS_HMAP, GO_LABELS_UNREAD } labels_kind;
	struct go_field labels_array, labels_len;
	struct go_field hmap_count, hmap_b, hmap_buckets, hmap_oldbuckets;

	uint64_t allgs, allglen, allm, buildversion;   /* variable addresses */
	uint64_t maxstacksize_addr;
	/* runtime.sched and its mnext: how many Ms the runtime ever made (ids
	 * are taken from it before an M goes on allm): allm is never longer */
	uint64_t sched;
	struct go_field sched_mnext;
	/* runtime.maxstacksize as the target has it (newstack throws rather
	 * than grow a stack past it): a larger stack is garbage */
	uint64_t maxstacksize;
	uint64_t waitreasons;      /* runtime.waitReasonStrings */
	uint32_t nwaitreasons;     /* its array length */

	/* runtime._Gxxx constants: names by value, "idle", "waiting", ... */
	char *status_names[GO_MAX_STATUS];
	uint32_t gscan;            /* runtime._Gscan, 0 if absent */
	int gdead, gdeadextra;     /* -1 if absent */

	/* wait reason strings, read from the target */
	char **waitreason_strs;
	uint32_t nwaitreason_strs;
};

/* Choices the user makes; all may be NULL. */
struct go_layout_options {
	const char *debug_file;   /* --debug-file: DWARF of this build, kept apart */
	const char *layout_file;  /* --layout: a layout file to use */
	bool dwarf_only;          /* fpinspect layout --from: the exe's DWARF or nothing */
};

/* Load the layout for exe, in this order: its DWARF; a separate debug file
 * (o->debug_file, the build-ID path under /usr/lib/debug/.build-id/,
 * .gnu_debuglink); a layout file for its Go version, GOARCH and
 * GOEXPERIMENT (o->layout_file, $XDG_CACHE_HOME/fpinspect/, the installed
 * and the source tree's layouts/), another patch release's only with
 * needs_validation set. Distinguishes "not a Go program" and "Go without a
 * layout", whose message names the command that makes one. */
struct fpi_error *go_layout_load(const char *exe, const struct go_layout_options *o, struct go_layout **ret);
/* Read what lives in target memory (wait-reason strings). */
struct fpi_error *go_layout_read_target(struct go_layout *l, struct fpi_target *t);
void go_layout_destroy(struct go_layout *l);

/* Field access on a buffer holding a struct; 0 when the field is absent. */
uint64_t go_get(const void *buf, struct go_field f);
static inline bool go_has(struct go_field f) { return f.size != 0; }

/* The name of a status without the scan bit; "unknown" for a value the
 * runtime has no _G constant for (garbage, or a newer runtime). */
const char *go_status_name(const struct go_layout *l, uint32_t status);
/* status (scan bit allowed) is one of the runtime's. */
bool go_status_known(const struct go_layout *l, uint32_t status);
const char *go_waitreason(const struct go_layout *l, uint32_t reason);

/* Read the Go version string from .go.buildinfo of an ELF file (NULL if none). */
char *go_buildinfo_version(const char *exe);

/* The fields of g, m and schedt by name ("g", "sched.sp"), for the DWARF
 * reader and the layout files alike: one list, so a field added to struct
 * go_layout is read and written everywhere once it is added here. */
struct go_field_desc {
	const char *type;       /* "g", "m", "schedt", "labelmap", "hmap" */
	const char *path;       /* the field in Go's source, dotted */
	size_t off;             /* offsetof(struct go_layout, ...) */
	const char *alt;        /* DWARF: where an older release had it, or NULL */
};
extern const struct go_field_desc go_layout_fields[];
extern const size_t go_layout_nfields;
static inline struct go_field *go_layout_field(struct go_layout *l, const struct go_field_desc *d)
{
	return (struct go_field *)((char *)l + d->off);
}

/* How pprof labels are read, from the fields there are (NONE: the program
 * has no runtime/pprof; UNREAD, set by the reader: a swiss map). */
void go_layout_labels_kind(struct go_layout *l);
/* golayout.c: the checks every layout passes, whatever its source */
struct fpi_error *go_layout_complete(const struct go_layout *l);
struct go_layout *go_layout_new(const char *exe);

/* golayout_dwarf.c: types, constants and (globals: the variables' addresses)
 * from a DWARF file; wait-reason strings from its data. NULL: done; an
 * error says what is missing. */
typedef struct Elf Elf;
struct fpi_error *go_layout_from_dwarf(struct go_layout *l, Elf *elf, const char *path, bool globals);
/* A separate debug file for exe: the build-ID path, then .gnu_debuglink.
 * NULL: none (not an error). *same_build: its build ID is exe's. */
char *go_layout_find_debug_file(Elf *exe, const char *exe_path, bool *same_build);
bool go_layout_same_build(Elf *a, Elf *b);
bool go_elf_note(Elf *elf, uint32_t type, const char *owner, const void **desc, size_t *len);
typedef struct Elf_Scn Elf_Scn;
Elf_Scn *go_elf_section(Elf *elf, const char *name);
/* The build's identity for the cache: the GNU build ID in hex, else Go's
 * ("go-" and its build ID); NULL without either. */
char *go_layout_build_id(Elf *elf);
/* An exact layout with its globals, kept by build ID under
 * go_layout_cache_dir()/build-id/ after a DWARF load: the DWARF of a large
 * binary costs most of a second to read, the entry a millisecond. Read
 * only when this fpinspect wrote it for this build ID. */
bool go_layout_cache_read(struct go_layout *l, const char *build_id);
void go_layout_cache_write(const struct go_layout *l, const char *build_id);

/* golayout_file.c: layout files. The name is go_layout_file_name's. */
struct fpi_error *go_layout_write(const struct go_layout *l, FILE *f);
struct fpi_error *go_layout_read_file(struct go_layout *l, const char *path);
/* "go1.26.8-amd64.layout" (GOEXPERIMENT: "go1.26.8-amd64+exp1,exp2.layout") */
char *go_layout_file_name(const char *version, const char *goarch, const char *goexperiment);
/* Find and read the layout file for l's version: *found false and NULL when
 * there is none (the caller's message names the command that makes one). */
struct fpi_error *go_layout_find_file(struct go_layout *l, bool *found);
/* fpinspect layout --from BINARY [-o OUT]: the layout of BINARY's DWARF
 * written to OUT, or under go_layout_cache_dir by its name; *ret the path. */
struct fpi_error *go_layout_make(const char *binary, const char *out, char **ret);
/* $XDG_CACHE_HOME/fpinspect (or ~/.cache/fpinspect) */
char *go_layout_cache_dir(void);

#endif
