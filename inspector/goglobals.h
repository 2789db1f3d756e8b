/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The addresses of the Go runtime's globals (allgs, allglen, allm, sched,
 * maxstacksize, waitReasonStrings) for executables without DWARF: from the
 * ELF symbol table when there is one (-ldflags=-w), else from the machine
 * code of the runtime functions that use them (-ldflags="-s -w", strip),
 * which .gopclntab names even then.
 *
 * Machine code only proposes: every address it yields is a candidate, and a
 * candidate is taken only when the target's memory, read with the layout's
 * field offsets, looks like that global (allgs a slice of distinct g's with
 * known statuses, allm a chain of Ms ending at m0, ...) and no other
 * candidate does. Two valid candidates or none is an error naming the
 * global, never a guess. Addresses from the symbol table are checked the
 * same way: a symbol table of another build than the process runs is an
 * error too. A symbol table that lacks allgs, allglen or allm is passed
 * over for the machine code.
 *
 * amd64 and arm64, with capstone: on amd64 the RIP-relative operands, on
 * arm64 the ADRP + ADD/load/store pairs the linker writes. Executables linked at
 * a fixed address (Go's default, ET_EXEC) are read as they are; a PIE
 * (ET_DYN) is shifted by its load bias, taken from the target's mapping of
 * the file; without one it is refused. */
#ifndef FPI_GOGLOBALS_H
#define FPI_GOGLOBALS_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "golayout.h"
#include "target.h"

/* Fill l->allgs, allglen, allm and, where found, sched, maxstacksize_addr,
 * waitreasons: from exe's .symtab, else from the machine code of runtime
 * functions pclntab locates, each candidate validated against t's memory
 * with l's field offsets. `how` gets a short static description of where
 * they came from ("symbol table", "machine code") for the output.
 *
 * exe is the file the process runs (its code is what pclntab describes).
 * l needs the offsets g.goid, g.atomicstatus, g.m, m.alllink, m.g0, m.id
 * and its status names; sched is looked for only when l has sched.mnext.
 * When l has no waitReasonStrings length (nwaitreasons 0) the one the
 * runtime's own bounds check uses is filled in.
 *
 * Call it with t stopped (a live process after fpi_target_ptrace_stop) or
 * a core: a running process changes allgs and allm under the reads (the
 * windows a stopped thread can leave, inside allgadd or allocm, are
 * allowed for). Call it before go_layout_read_target, which reads the
 * wait-reason strings at l->waitreasons.
 *
 * allgs, allglen and allm are required: not found or ambiguous is an
 * FPI_ERR_NODWARF error naming the global and why its candidates failed
 * (unreadable memory included); an exe that cannot be read is
 * FPI_ERR_NOTGO or FPI_ERR_FORMAT, a target that fails (exited) its own
 * error. On any error l is left as it was. The optional ones are left 0 when not found or not unique; their
 * fields are written only when all three required ones are found. how may
 * be NULL. */
struct fpi_error *go_globals_find(struct go_layout *l, const char *exe, struct fpi_target *t, const char **how);

/* What was found for each global and why not, for tests and diagnostics. */
enum go_global_id {
	GO_GLOBAL_ALLGS,
	GO_GLOBAL_ALLGLEN,
	GO_GLOBAL_ALLM,
	GO_GLOBAL_SCHED,
	GO_GLOBAL_MAXSTACKSIZE,
	GO_GLOBAL_WAITREASONS,
	GO_GLOBAL_COUNT
};

struct go_global_result {
	const char *name;       /* "runtime.allgs" */
	uint64_t addr;          /* run-time address; 0 not found */
	const char *anchor;     /* the function whose code gave it, NULL for .symtab */
	unsigned ncand, nvalid; /* candidates proposed, candidates that passed */
	char why[400];          /* why it was not found ("" when found) */
};

struct go_globals_report {
	const char *how;
	uint64_t bias;                      /* load bias applied (0 for ET_EXEC) */
	uint32_t nwaitreasons;              /* the length used for waitReasonStrings */
	struct go_global_result g[GO_GLOBAL_COUNT];
};

/* Skip .symtab even when there is one: the machine-code path on a binary
 * that has both, to compare the two. */
#define GO_GLOBALS_NO_SYMTAB 1u
/* Pass over each global's first anchor where it has another: the fallback
 * anchors, which no release tested needs, tried on their own. */
#define GO_GLOBALS_FALLBACK_ANCHORS 2u

/* go_globals_find with flags and the per-global report (ret may be NULL). */
struct fpi_error *go_globals_find_ex(struct go_layout *l, const char *exe, struct fpi_target *t,
				     unsigned flags, struct go_globals_report *ret);

/* Where the kernel put exe in t: 0 for a fixed-address executable (Go's
 * default), the bias of a PIE's lowest mapping otherwise. The addresses
 * DWARF and .symtab give are link-time ones. */
struct fpi_error *go_exe_load_bias(const char *exe, struct fpi_target *t, uint64_t *ret);

#endif
