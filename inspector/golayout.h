/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The Go runtime's layout, read from the executable's DWARF: offsets of the
 * g, m, gobuf and stack fields, the roots (allgs, allm), status names and
 * wait-reason strings. Never from a table keyed by Go version. */
#ifndef FPI_GOLAYOUT_H
#define FPI_GOLAYOUT_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "target.h"

/* A field: offset within its struct and size in bytes; size 0 when this Go
 * version's runtime has no such field (shown as n/a, never as 0/false). */
struct go_field {
	uint32_t off;
	uint32_t size;
};

#define GO_MAX_STATUS 64

struct go_layout {
	char *exe_path;
	char *go_version;       /* from .go.buildinfo ("go1.26.8"), NULL if absent */
	int version_minor;      /* 26 for go1.26.x; 0 unknown */

	uint32_t g_size, m_size;
	struct go_field g_stack_lo, g_stack_hi, g_m, g_sched_sp, g_sched_pc, g_sched_bp, g_sched_lr,
		g_syscallsp, g_syscallpc, g_syscallbp, g_atomicstatus, g_goid,
		g_waitreason, g_lockedm, g_gopc, g_startpc, g_parentgoid, g_waitsince;
	struct go_field m_g0, m_procid, m_gsignal, m_curg, m_id, m_incgo, m_isextra,
		m_isextraInC, m_ncgo, m_alllink, m_lockedg, m_p, m_vdsosp, m_vdsopc;

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

/* Load the layout from exe's DWARF (only the runtime compile units are
 * walked). Distinguishes "not a Go program" and "Go without DWARF". */
struct fpi_error *go_layout_load(const char *exe, struct go_layout **ret);
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

#endif
