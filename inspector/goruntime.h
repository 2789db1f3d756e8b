/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A snapshot of the Go scheduler's state: every g in allgs, every m on allm,
 * and which M each OS thread is. Read in bulk while the target is stopped. */
#ifndef FPI_GORUNTIME_H
#define FPI_GORUNTIME_H

#include "golayout.h"
#include "target.h"

/* Tri-state for fields a Go version may lack: -1 means n/a. */
#define GO_NA (-1)

struct go_g {
	uint64_t addr;
	uint64_t goid;
	uint32_t status;        /* with the scan bit */
	int waitreason;         /* GO_NA when the field is absent */
	uint64_t m;             /* address of its M, 0 if none */
	int64_t mid;            /* that M's id, -1 if none */
	uint64_t sched_sp, sched_pc, sched_bp, sched_lr;
	uint64_t syscallsp, syscallpc, syscallbp;
	uint64_t stack_lo, stack_hi;
	uint64_t gopc, startpc, lockedm;
	int64_t parentgoid;     /* GO_NA when absent (before 1.21) */
	int64_t waitsince;      /* nanotime() when it blocked (set by the GC's
				   stack scan, so possibly late); 0: not recorded */
	uint64_t labels;        /* its pprof labels (runtime/pprof.labelMap), 0 none */
};

/* One pprof label; strings malloc'ed */
struct go_label {
	char *key, *value;
};

enum go_stack_kind { GO_STACK_G0, GO_STACK_GSIGNAL, GO_STACK_CURG, GO_STACK_OTHER };

struct go_m {
	uint64_t addr;
	int64_t id;
	uint64_t procid;
	uint64_t g0, gsignal, curg, lockedg;
	uint64_t g0_lo, g0_hi, gsignal_lo, gsignal_hi;
	int64_t curg_goid, lockedg_goid;   /* -1 none */
	int incgo, isextra, isextrainc;     /* GO_NA when absent */
	int64_t ncgo;
	uint64_t vdsosp, vdsopc;             /* in a vDSO call now: its caller (0 otherwise or absent) */
	int thread;                         /* index into snapshot threads, -1: no thread */
};

struct go_thread {
	int tid;
	struct fpi_regs regs;
	int m;                  /* index into ms, -1 if no M claims it */
	enum go_stack_kind stack;
	uint64_t tls_g;         /* the g in TLS (fs_base-8), 0 if unreadable */
};

/* On OS-allocated system stacks (cgo, the main thread) the runtime sets
 * g0.stack.hi inside mstart0's own frame: the frame records of mstart0 and
 * mstart lie just above it. Allowed above g0.stack.hi. */
#define G0_HI_SLACK 4096

struct go_m_key {
	uint64_t key;
	size_t i;               /* into ms */
};

struct go_snapshot {
	struct go_g *gs;        /* all gs from allgs, dead ones included */
	size_t ngs;
	struct go_m *ms;
	size_t nms;
	struct go_thread *threads;
	size_t nthreads;
	size_t ndead;
	size_t nbad;            /* allgs entries that were no readable g: skipped */
	struct go_m_key *ms_by_addr; /* ms by address */
};

struct fpi_error *go_snapshot_read(const struct go_layout *l, struct fpi_target *t, struct go_snapshot **ret);
/* Only the gs, from a process that may be running (a preview: racy, each g
 * possibly torn; for planning what to copy once the process is stopped). */
struct fpi_error *go_snapshot_read_gs(const struct go_layout *l, struct fpi_target *t, struct go_snapshot **ret);
void go_snapshot_destroy(struct go_snapshot *s);
/* A layout of another patch release (needs_validation) fits the process:
 * goids distinct, statuses and wait reasons the runtime's, parked stacks
 * inside their bounds, threads that are Ms. The error names what failed. */
struct fpi_error *go_snapshot_validate(const struct go_layout *l, const struct go_snapshot *s);
/* The part of g's stack a walk reads, [*lo, hi): from its saved SP (or
 * syscall SP) up. False for dead gs and nonsense ranges. */
bool go_g_stack_used(const struct go_layout *l, const struct go_g *g, uint64_t *lo, uint64_t *hi);

bool go_g_is_dead(const struct go_layout *l, const struct go_g *g);
/* The pprof labels at labels (g.labels), sorted by key: *n of them in
 * *ret (go_labels_free). An error when they cannot be read: the layout does
 * not say how (swiss maps), or memory unreadable or implausible. */
struct fpi_error *go_labels_read(const struct go_layout *l, const struct fpi_mem *mem, uint64_t labels,
				 struct go_label **ret, size_t *n);
void go_labels_free(struct go_label *v, size_t n);
/* Why g cannot be one the runtime has (a status it has no constant for,
 * stack bounds stackalloc never hands out), or NULL. Such a g's stack is
 * neither copied nor walked. */
const char *go_g_garbage(const struct go_layout *l, const struct go_g *g);
const struct go_g *go_find_g(const struct go_snapshot *s, uint64_t goid);
const struct go_g *go_find_g_addr(const struct go_snapshot *s, uint64_t addr);
const struct go_m *go_find_m_addr(const struct go_snapshot *s, uint64_t addr);
bool go_g_status_is(const struct go_layout *l, const struct go_g *g, const char *name); /* scan bit ignored */
/* hasCgoOnStack as the runtime computes it (ncgo > 0 || isextra): 1 or 0, or
 * GO_NA when the M cannot say (Go 1.19 has no isextra and ncgo is 0). A NULL
 * M has no C. */
int go_m_claims_c(const struct go_m *m);
const char *go_stack_kind_name(enum go_stack_kind k);

#endif
