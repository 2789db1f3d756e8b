/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The session core (session.c, in libfpicore): a session over one target
 * (live, core, or the caller's), its snapshot, the memory the unwinders
 * read, and the command table. The public API (api.c) converts to and from
 * the public types and adds nothing else. */
#ifndef FPI_SESSION_H
#define FPI_SESSION_H

#include <stdbool.h>
#include <stdio.h>

#include "error.h"
#include "golayout.h"
#include "goruntime.h"
#include "target.h"
#include "unwind.h"

struct walk_ctx;
struct walk;
struct label_cache;
struct view_user;

struct fpi_session {
	struct fpi_target *target;
	struct go_layout *layout;
	struct go_snapshot *snap;
	struct fpi_modules *mods;  /* created on first use */
	struct fpi_mem mem;        /* the target's memory as the unwinders see it */
	void *custom;              /* reader of a caller-provided target */
	struct walk_ctx *walk;     /* what the walkers read (stacks.h), on first use */
	/* Copy of the stacks taken before a live target is released: later
	 * reads are served from it. Sorted by address. */
	struct fpi_bulk *copy;
	size_t ncopy;
	size_t copy_last;          /* the piece the last read was in */
	void *copy_arena;
	/* attach_for bt/check: the stack copy planned before the stop, read
	 * from the stop on by a background thread */
	struct fpi_bulk_set *prefetch;
	struct go_snapshot *preview; /* the gs it was planned from */
	uint64_t top_window;	     /* the prefetch's: only stack tops (goroutines) */
	double load_seconds;       /* DWARF load, before stopping anything */
	const struct go_g **order; /* live gs by goid (views.c), on first use */
	size_t norder;
	int64_t stop_ns;           /* CLOCK_MONOTONIC (the target's nanotime) at the stop; 0: not live */
	struct walk *view_walk;    /* views.c's scratch walk, on first use */
	struct view_user *user;    /* views.c: user frames of all gs (by index), when prepared */
	struct label_cache *labels; /* pprof label sets read, by g.labels */
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
	const char *summary;          /* one line, for the list of commands */
	const char *help;
	fpi_cmd_fn fn;
	const char *const *options;   /* what it accepts besides --help */
};

/* A live process in two steps, so that a signal handler can be told the
 * session before anything is stopped: open loads what needs no stop
 * (DWARF, modules; for bt and check, given as argv, the stack copy is
 * planned from a look at the running process); stop stops every thread and
 * takes the snapshot. On an error from stop the process is let go and the
 * session is still the caller's to destroy. */
struct fpi_error *session_open_live(int pid, int argc, char **argv, const struct go_layout_options *lo,
				    struct fpi_session **ret);
struct fpi_error *session_stop(struct fpi_session *s);
struct fpi_error *session_open_core(const char *core, const char *exe, const struct go_layout_options *lo,
				    struct fpi_session **ret);
/* A caller's target: reads through read(arg); own_arg: arg is malloc'ed
 * and freed with the session (also when this fails). Threads and mappings
 * are added, then session_load takes the snapshot. */
struct fpi_error *session_create_custom(const char *exe, int pid, fpi_image_read_fn read, void *arg, bool own_arg,
					struct fpi_session **ret);
struct fpi_error *session_add_thread(struct fpi_session *s, int tid, const struct fpi_regs *regs);
struct fpi_error *session_add_mapping(struct fpi_session *s, uint64_t start, uint64_t end, uint64_t offset,
				      const char *path);
void session_set_vdso(struct fpi_session *s, uint64_t addr);
struct fpi_error *session_load(struct fpi_session *s);
/* Is argv a command that can run, with only options it knows? *help: it
 * asks for help (help, COMMAND --help), which needs no session. */
struct fpi_error *session_command_check(int argc, char **argv, bool *help);
/* Run one command; *status 0 ok, 1 findings. s may be NULL for help. */
struct fpi_error *session_run(struct fpi_session *s, int argc, char **argv, bool json, FILE *out, int *status);
/* Before walking every stack (bt all, check): on a host debugger's target
 * every stack is read in one bulk read first. */
void session_prepare_walks(struct fpi_session *s);
/* bt and check walk stacks: what must be copied before a release. */
bool session_needs_stacks(int argc, char **argv);
void session_release(struct fpi_session *s);
void session_release_for(struct fpi_session *s, int argc, char **argv);
double session_pause_seconds(const struct fpi_session *s);
/* From a signal handler: let the stopped process go (async-signal-safe).
 * True when there was something to let go. */
bool session_detach_async(struct fpi_session *s);
void session_destroy(struct fpi_session *s);
const char *const *session_command_names(void);
const char *session_command_usage(const char *name);
const char *session_command_help(const char *name);
const char *const *session_command_options(const char *name);

struct fpi_error *session_modules(struct fpi_session *s, struct fpi_modules **ret);
/* The pprof labels at g.labels (0: none), read once per label set (a
 * goroutine shares its creator's); false when they cannot be read. A live
 * target's are read before it is released. */
struct fpi_label;
bool session_labels(struct fpi_session *s, uint64_t labels, const struct fpi_label **ret, size_t *n);
/* The walkers' context over this session's snapshot and memory; created
 * on first use (modules that cannot be loaded leave only FP walks). */
struct fpi_error *session_walk_ctx(struct fpi_session *s, struct walk_ctx **ret);
const char *session_symbol(struct fpi_session *s, uint64_t pc, bool is_return_address);

/* render.c */
struct fpi_error *cmd_summary(struct fpi_cmd_ctx *c, int *status);
struct fpi_error *cmd_threads(struct fpi_cmd_ctx *c, int *status);
struct fpi_error *cmd_goroutines(struct fpi_cmd_ctx *c, int *status);
/* stacks.c */
struct fpi_error *cmd_bt(struct fpi_cmd_ctx *c, int *status);
/* render.c (the findings: checks.c) */
struct fpi_error *cmd_check(struct fpi_cmd_ctx *c, int *status);
/* render_dump.c */
struct fpi_error *cmd_dump(struct fpi_cmd_ctx *c, int *status);
/* profile.c */
struct fpi_error *cmd_profile(struct fpi_cmd_ctx *c, int *status);

#endif
