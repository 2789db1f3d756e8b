/* Internal: the session and the command table. */
#ifndef FPI_SESSION_H
#define FPI_SESSION_H

#include <stdbool.h>
#include <stdio.h>

#include "error.h"
#include "golayout.h"
#include "goruntime.h"
#include "target.h"
#include "unwind.h"

struct rt_ranges;
struct cfi_cache;

struct fpi_session {
	struct fpi_target *target;
	struct go_layout *layout;
	struct go_snapshot *snap;
	struct fpi_modules *mods;  /* created on first use */
	struct fpi_mem mem;        /* the target's memory as the unwinders see it */
	void *custom;              /* reader of a caller-provided target */
	struct rt_ranges *rt;      /* pc ranges of the runtime's switch and top functions */
	struct cfi_cache *cfi_cache; /* per-pc CFA rules of Go frames (stacks.c) */
	/* Copy of the stacks taken before a live target is released: later
	 * reads are served from it. Sorted by address. */
	struct fpi_bulk *copy;
	size_t ncopy;
	void *copy_arena;
	/* attach_for bt/check: the stack copy planned before the stop, read
	 * from the stop on by a background thread */
	struct fpi_bulk_set *prefetch;
	struct go_snapshot *preview; /* the gs it was planned from */
	double load_seconds;       /* DWARF load, before stopping anything */
};

struct fpi_cmd_ctx {
	struct fpi_session *s;
	FILE *out;
	bool json;
	int argc;
	char **argv;
};

/* A command returns 0 (ok) or 1 (findings), or an error (exit 2). */
typedef struct fpi_error *(*fpi_cmd_fn)(struct fpi_cmd_ctx *c, int *status);

struct fpi_command {
	const char *name;
	const char *usage;
	const char *help;
	fpi_cmd_fn fn;
};

struct fpi_error *session_modules(struct fpi_session *s, struct fpi_modules **ret);
const char *session_symbol(struct fpi_session *s, uint64_t pc, bool is_return_address);

/* render.c */
struct fpi_error *cmd_summary(struct fpi_cmd_ctx *c, int *status);
struct fpi_error *cmd_threads(struct fpi_cmd_ctx *c, int *status);
struct fpi_error *cmd_goroutines(struct fpi_cmd_ctx *c, int *status);
/* stacks.c */
struct fpi_error *cmd_bt(struct fpi_cmd_ctx *c, int *status);
/* checks.c */
struct fpi_error *cmd_check(struct fpi_cmd_ctx *c, int *status);

#endif
