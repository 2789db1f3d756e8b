/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libfpinspect: the public API. An inspection session over a live process
 * (ptrace), a core file, or a target whose memory and threads come from the
 * caller (a host debugger: the GDB plugin). On a session: the commands of
 * the CLI (text or JSON), or the data they show: threads, Ms, goroutines,
 * the frames of one stack, the findings of check.
 *
 * Errors. A function that can fail takes a last argument
 * struct fpi_error **err. On failure it returns a nonzero value (an int
 * returns 2, "could not inspect"; a pointer returns NULL) and, if err is
 * not NULL, stores an error there that the caller owns and releases with
 * fpi_error_free. On success *err is left alone. An error has a kind (what
 * a program can branch on) and a message a user can act on (what the CLI
 * prints after "fpinspect: ").
 *
 * Lifetimes. A session owns everything it hands out as const: strings and
 * the arrays of fpi_session_thread and friends stay valid until
 * fpi_session_destroy. What is returned through a **ret of a type with a
 * _free function (stacks, findings) is the caller's, independent of the
 * session's lifetime except where a member says otherwise.
 *
 * n/a. Layouts come from the program's DWARF: a field the program's Go
 * version lacks is not 0 but n/a: FPI_NA in tri-state fields (int8_t: 1
 * true, 0 false, FPI_NA), and a clear bit in the structure's "has" mask
 * for numbers. "None" (no M, no goroutine) is FPI_NONE in id fields.
 *
 * Threads. A session is not thread-safe: one thread at a time per session.
 * The library installs no signal handlers; fpi_session_detach_async is for
 * the caller's. */
#ifndef FPINSPECT_H
#define FPINSPECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FPI_PUBLIC __attribute__((visibility("default")))

struct fpi_session;

/* ---------------------------------------------------------------- errors */

/* Stable values: bindings (ctypes) use the numbers. */
enum fpi_error_kind {
	FPI_ERROR_OTHER = 1,
	FPI_ERROR_NOMEM = 2,
	FPI_ERROR_USAGE = 3,          /* a bad argument or command line */
	FPI_ERROR_NO_PROCESS = 4,     /* no such process */
	FPI_ERROR_PERMISSION = 5,     /* not allowed to trace it */
	FPI_ERROR_NOT_GO = 6,         /* not a Go program */
	FPI_ERROR_NO_DWARF = 7,       /* a Go program without DWARF: no layouts */
	FPI_ERROR_CORRUPT_FILE = 8,   /* a malformed core or ELF file */
	FPI_ERROR_TARGET_MEMORY = 9,  /* target memory unreadable or corrupt where the
					 runtime's state must be (allgs, allm) */
	FPI_ERROR_TARGET_GONE = 10,   /* the process exited */
	FPI_ERROR_NOT_FOUND = 11,     /* no such thread or goroutine */
};

struct fpi_error; /* opaque */

FPI_PUBLIC enum fpi_error_kind fpi_error_kind(const struct fpi_error *err);
/* Owned by err. */
FPI_PUBLIC const char *fpi_error_message(const struct fpi_error *err);
/* NULL-safe. */
FPI_PUBLIC void fpi_error_free(struct fpi_error *err);

/* ---------------------------------------------------------------- sessions */

/* Attach to a live process: every thread is stopped until
 * fpi_session_release or fpi_session_destroy. */
FPI_PUBLIC int fpi_session_attach(int pid, struct fpi_session **ret, struct fpi_error **err);
/* The same in two steps, told the command that will run (argv as for
 * fpi_session_run; argc 0: none known). fpi_session_open_live loads what
 * needs no stop (DWARF, modules; for bt and check the copy of the stacks is
 * planned from a look at the running process, which shortens the stop);
 * nothing is stopped yet, and the session may be handed to a signal
 * handler (fpi_session_detach_async) before fpi_session_stop stops every
 * thread and reads the runtime's state. On an error from stop the process
 * runs again; the session is still to be destroyed. */
FPI_PUBLIC int fpi_session_open_live(int pid, int argc, char **argv, struct fpi_session **ret,
				     struct fpi_error **err);
FPI_PUBLIC int fpi_session_stop(struct fpi_session *s, struct fpi_error **err);
/* A core file; exe may be NULL (taken from the core). */
FPI_PUBLIC int fpi_session_open_core(const char *core, const char *exe, struct fpi_session **ret,
				     struct fpi_error **err);

/* Where the Go runtime's layout comes from when the executable has no DWARF
 * (-ldflags="-s -w", stripped). By default: a separate debug file (the
 * build-ID path under /usr/lib/debug/.build-id/, .gnu_debuglink), else a
 * layout file for the executable's Go version, GOARCH and GOEXPERIMENT
 * ($XDG_CACHE_HOME/fpinspect/, the installed layouts), made by
 * fpi_layout_make. Set `size` to sizeof(struct fpi_layout_options); NULL
 * members keep the defaults. */
struct fpi_layout_options {
	size_t size;
	const char *debug_file;   /* DWARF of this build kept apart (objcopy --only-keep-debug) */
	const char *layout_file;  /* a layout file to use instead of searching */
};
FPI_PUBLIC int fpi_session_open_live_opts(int pid, int argc, char **argv, const struct fpi_layout_options *o,
					  struct fpi_session **ret, struct fpi_error **err);
FPI_PUBLIC int fpi_session_open_core_opts(const char *core, const char *exe, const struct fpi_layout_options *o,
					  struct fpi_session **ret, struct fpi_error **err);
/* The layout of binary's DWARF (a binary the same toolchain built without
 * -ldflags=-w/-s) written to out, or, out NULL, to
 * $XDG_CACHE_HOME/fpinspect/goVERSION-GOARCH.layout; *path (fpi_free) says
 * where. */
FPI_PUBLIC int fpi_layout_make(const char *binary, const char *out, char **path, struct fpi_error **err);

/* Sessions over fpinspect's own targets (live, core) never query debuginfod:
 * they unset DEBUGINFOD_URLS in the calling process, since libdw would fetch
 * over the network on first use of a module, perhaps with the process
 * stopped. Sessions over a caller's target leave the caller's policy. */

/* ------------------------------------------------ a caller-provided target */

/* Memory reads of a caller's target: fill buf with the len bytes at addr
 * of the target's address space; return 1 when all were read, 0 otherwise
 * (nothing partial). Called only from within the library's functions on the
 * session, on the caller's thread; arg is fpi_session_create_custom's. */
typedef int (*fpi_read_cb)(void *arg, uint64_t addr, void *buf, size_t len);

/* Many reads at once, optional beside fpi_read_cb: the library's bulk
 * reads (the gs of the snapshot, the stacks check and bt all walk) hand
 * over a batch of ranges, sorted by address, disjoint, each the len bytes
 * at addr into buf. The callback sets ok to 1 for each range it read
 * whole (0 otherwise: nothing partial). A host debugger that pays more
 * per request than per byte (LLDB's gdb-remote link to lldb-server) can
 * then merge neighbours into one request, which a callback seeing one
 * range at a time cannot. Return 0, or nonzero when the target itself
 * failed (every range then counts as unread). Same calling rules as
 * fpi_read_cb; single reads still come through fpi_read_cb. */
struct fpi_read_range {
	uint64_t addr;
	void *buf;
	size_t len;
	int ok;
};
typedef int (*fpi_readv_cb)(void *arg, struct fpi_read_range *ranges, size_t n);

/* Architectures of register sets: members of the union, its size
 * unchanged. All threads of a session are of one architecture. */
enum fpi_arch {
	FPI_ARCH_X86_64 = 1,
	FPI_ARCH_ARM64 = 2,
};

/* The registers of frame 0 of a thread, as the kernel or a debugger has
 * them. fs_base: the TLS base (Go keeps g at fs_base - 8); 0 when
 * unknown: threads are then matched to Ms by their procid. */
struct fpi_regs_x86_64 {
	uint64_t rax, rdx, rcx, rbx, rsi, rdi, rbp, rsp;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rip;
	uint64_t fs_base;
};

/* arm64: x0-x30 (x29 the frame pointer, x30 the link register), sp, pc.
 * Go keeps g in x28. */
struct fpi_regs_arm64 {
	uint64_t x[31];
	uint64_t sp, pc;
};

struct fpi_registers {
	enum fpi_arch arch;
	union {
		struct fpi_regs_x86_64 x86_64;
		struct fpi_regs_arm64 arm64;
		uint64_t reserved[64]; /* room for other architectures */
	} u;
};

/* A session over a caller's target: exe is the executable to load DWARF
 * from, pid is shown (0: unknown). Add threads (in the order they are to be
 * listed) and mappings, optionally the vDSO, then fpi_session_load takes
 * the snapshot. The caller makes a new session whenever the process may
 * have changed: nothing is read again. */
FPI_PUBLIC int fpi_session_create_custom(const char *exe, int pid, fpi_read_cb read, void *arg,
					 struct fpi_session **ret, struct fpi_error **err);
/* FPI_ERROR_USAGE for an architecture the library does not know. */
FPI_PUBLIC int fpi_session_add_thread(struct fpi_session *s, int tid, const struct fpi_registers *regs,
				      struct fpi_error **err);
/* A file mapped at [start, end) from offset of path: the modules (the
 * executable, libc, ld.so) are built from these. */
FPI_PUBLIC int fpi_session_add_mapping(struct fpi_session *s, uint64_t start, uint64_t end,
				       uint64_t offset, const char *path, struct fpi_error **err);
/* Where the vDSO's ELF image is in the target (AT_SYSINFO_EHDR of its
 * auxiliary vector): read through the callback, it becomes a module, so
 * threads inside it (time.Now) unwind and are not taken for C. */
FPI_PUBLIC void fpi_session_set_vdso(struct fpi_session *s, uint64_t addr);
/* Give a session over a caller's target the batch reader (called with
 * fpi_session_create_custom's arg); NULL goes back to one range at a
 * time. Ignored for other sessions. */
FPI_PUBLIC void fpi_session_set_readv(struct fpi_session *s, fpi_readv_cb readv);
FPI_PUBLIC int fpi_session_load(struct fpi_session *s, struct fpi_error **err);

/* ---------------------------------------------------------------- commands */

/* Run one command ("summary", "threads", "goroutines", "bt g42", "check",
 * "help") given as argv, writing text (or one JSON document) to out.
 * Returns 0 ok, 1 a check found problems, 2 an error. Every command takes
 * --help (its usage and help, 0); unknown options are errors. s may be
 * NULL for help. */
FPI_PUBLIC int fpi_session_run(struct fpi_session *s, int argc, char **argv, int json, FILE *out,
			       struct fpi_error **err);
/* The same, output returned as a malloc'ed string (release with fpi_free;
 * NULL on error). */
FPI_PUBLIC int fpi_session_run_str(struct fpi_session *s, int argc, char **argv, int json, char **out,
				   struct fpi_error **err);
/* Before any session: 0 when argv is a command that can run with options
 * it knows, 1 when it asks for help ("help", "COMMAND --help"), which
 * fpi_session_run prints with s NULL, 2 an error naming the unknown
 * command or option (FPI_ERROR_USAGE). */
FPI_PUBLIC int fpi_command_check(int argc, char **argv, struct fpi_error **err);
/* NULL-terminated list of command names (for completion); a command's
 * usage line and help (NULL: no such command). Static strings. */
FPI_PUBLIC const char *const *fpi_command_names(void);
FPI_PUBLIC const char *fpi_command_usage(const char *name);
FPI_PUBLIC const char *fpi_command_help(const char *name);
/* The options a command takes besides --help (for completion),
 * NULL-terminated; one ending in '=' takes a value ("--unwinder=":
 * --unwinder VALUE or --unwinder=VALUE). NULL: no such command. Static. */
FPI_PUBLIC const char *const *fpi_command_options(const char *name);
FPI_PUBLIC void fpi_free(void *p);

/* ---------------------------------------------------------------- data */

/* "None" in id fields (no M, no goroutine, no thread, no frame). */
#define FPI_NONE (-1)
/* "n/a" in tri-state fields: the program's Go version lacks the field. */
#define FPI_NA (-1)

/* Which stack: a goroutine's own, an M's system stacks, C (frames of
 * non-Go code; in frames only), or none of them. */
enum fpi_stack {
	FPI_STACK_GOROUTINE = 0, /* for a thread: its M's curg's stack */
	FPI_STACK_G0 = 1,
	FPI_STACK_GSIGNAL = 2,
	FPI_STACK_C = 3,
	FPI_STACK_OTHER = 4,
};

/* One OS thread of the target, in the target's order (/proc/PID/task,
 * the core's notes, the caller's fpi_session_add_thread order). */
struct fpi_thread {
	int tid;
	int64_t m;             /* the M's id; FPI_NONE: no M claims it (not a Go
				  thread, or not yet started) */
	size_t m_index;        /* its M for fpi_session_m, when m is not FPI_NONE */
	enum fpi_stack stack;  /* the stack its SP is on (G0, GSIGNAL,
				  GOROUTINE, OTHER); OTHER also without M */
	uint64_t tls_g;        /* the g in its TLS (fs_base - 8); 0 unreadable */
	struct fpi_registers regs; /* frame 0's, as the target gave them */
};

/* One M of the runtime's allm list. */
struct fpi_m {
	int64_t id;
	uint64_t addr;
	int tid;               /* its thread; FPI_NONE: none (an extra M waiting
				  on the list) */
	uint64_t procid;
	int64_t curg, lockedg; /* goids; FPI_NONE */
	int8_t isextra, is_extra_in_c, incgo; /* 1, 0, FPI_NA */
	int8_t has_cgo_on_stack; /* the runtime's hasCgoOnStack (ncgo > 0 ||
				    isextra): FPI_NA when it cannot say (Go 1.19) */
	int64_t ncgo;
	uint64_t g0_lo, g0_hi, gsignal_lo, gsignal_hi; /* 0, 0: none */
};

/* Bits of fpi_goroutine.has: fields the program's Go version has. */
#define FPI_G_HAS_WAIT_REASON 0x1u
#define FPI_G_HAS_PARENT_GOID 0x2u
#define FPI_G_HAS_WAIT_TIME 0x4u   /* the runtime recorded when it began to wait (live targets) */
#define FPI_G_HAS_USER 0x8u        /* a frame outside the runtime was found */
#define FPI_G_HAS_LABELS 0x10u     /* its pprof labels could be read (none is 0 labels) */
#define FPI_G_USER_UNKNOWN 0x20u   /* no user frame known: the walk ended before one (a
				      copy of only the stack's top, a broken chain, a
				      stack nobody owns now), not "only runtime frames" */

/* One pprof label (pprof.Do, SetGoroutineLabels). */
struct fpi_label {
	const char *key, *value;
};

/* One goroutine that is not dead. Strings are the session's. */
struct fpi_goroutine {
	uint64_t goid;
	uint64_t addr;              /* of its g */
	const char *status;         /* "running", "waiting", ... without the scan
				       bit; NULL: a value the runtime has no
				       constant for (garbage) */
	uint32_t status_value;      /* atomicstatus as read, scan bit included */
	bool scan;                  /* the scan bit is held */
	const char *wait_reason;    /* waiting only; NULL: none given (or n/a) */
	int64_t m;                  /* its M's id; FPI_NONE */
	uint64_t pc, sp, bp;        /* g.sched */
	uint64_t syscall_pc, syscall_sp, syscall_bp;
	uint64_t stack_lo, stack_hi;
	const char *function;       /* at sched.pc; NULL unknown */
	uint64_t created_pc;        /* gopc; 0: a cgo callback's goroutine */
	const char *created_by;     /* the function at created_pc; NULL unknown */
	uint64_t start_pc;
	int64_t parent_goid;        /* valid with FPI_G_HAS_PARENT_GOID (Go 1.21+) */
	uint32_t has;               /* FPI_G_HAS_* */
	/* Added after 0.1: new members go at the end. */
	int64_t wait_ns;            /* with FPI_G_HAS_WAIT_TIME: how long it has
				       waited (g.waitsince to the stop), as the
				       runtime's traceback counts its minutes */
	bool locked;                /* locked to its thread (g.lockedm set:
				       runtime.LockOSThread, cgo callbacks) */
	/* With FPI_G_HAS_USER: the first frame outside the runtime, as the
	 * runtime's traceback shows it first (inlined frames count). */
	const char *user_function, *user_file;
	int user_line;
	uint64_t user_pc;           /* of its physical frame */
	/* With FPI_G_HAS_LABELS: its pprof labels, by key (g.labels). */
	size_t nlabels;
	const struct fpi_label *labels;
};

/* The threads in the target's order, the Ms in allm's, the goroutines by
 * goid (as the goroutines command lists them). Out of range:
 * FPI_ERROR_NOT_FOUND. */
FPI_PUBLIC size_t fpi_session_thread_count(const struct fpi_session *s);
FPI_PUBLIC int fpi_session_thread(struct fpi_session *s, size_t i, struct fpi_thread *ret, struct fpi_error **err);
FPI_PUBLIC size_t fpi_session_m_count(const struct fpi_session *s);
FPI_PUBLIC int fpi_session_m(struct fpi_session *s, size_t i, struct fpi_m *ret, struct fpi_error **err);
FPI_PUBLIC size_t fpi_session_goroutine_count(const struct fpi_session *s);
FPI_PUBLIC int fpi_session_goroutine(struct fpi_session *s, size_t i, struct fpi_goroutine *ret,
				     struct fpi_error **err);
FPI_PUBLIC int fpi_session_find_goroutine(struct fpi_session *s, uint64_t goid, struct fpi_goroutine *ret,
					  struct fpi_error **err);

/* ---------------------------------------------------------------- stacks */

/* How to step from a frame to its caller. Stable values. */
enum fpi_unwinder {
	FPI_UNWIND_FP = 0,     /* frame pointers */
	FPI_UNWIND_DWARF = 1,  /* DWARF CFI (.debug_frame, .eh_frame) */
	FPI_UNWIND_GO = 2,     /* the Go runtime's own: pclntab's SP deltas (.eh_frame for C frames) */
};

/* Whose stack: a thread's (by TID: from its registers, on the stack they
 * are on, across Go's stack switches) or a goroutine's (by goid: from
 * where the runtime's own unwinder would start). */
enum fpi_stack_owner {
	FPI_OWNER_THREAD = 0,
	FPI_OWNER_GOROUTINE = 1,
};

struct fpi_inline_frame {
	const char *function, *file; /* NULL unknown */
	int line;
};

/* One physical frame, innermost first. */
struct fpi_frame {
	uint64_t pc;
	uint64_t sp;            /* 0: unknown (frame-pointer walks know only fp) */
	uint64_t fp;            /* its frame pointer (0 at the end of a chain) */
	enum fpi_stack stack;
	bool exact;             /* pc is where the code is (registers, a signal
				   frame), not a return address: symbolized as is,
				   a return address as pc - 1 */
	const char *function, *file; /* NULL unknown; the session's */
	int line;
	const char *module;     /* basename of its ELF; NULL unknown */
	/* The frames inlined at pc, innermost first, the last the physical
	 * function; 0 when nothing is inlined there. Owned by the trace. */
	size_t ninlined;
	const struct fpi_inline_frame *inlined;
};

struct fpi_stack_trace {
	size_t nframes;
	const struct fpi_frame *frames;
	/* Why the walk ended: NULL when it reached a top frame (goexit,
	 * mstart, a thread's start), otherwise what stopped it (a broken
	 * link, the depth cap, "not walked: ..." for a stack nobody owns
	 * consistently now). */
	const char *end;
	/* Frame-pointer walks: the first frame whose saved BP broke the chain
	 * (FPI_NONE: none), and how. */
	long fp_bad_frame;
	const char *fp_bad_why;
};

FPI_PUBLIC int fpi_session_stack(struct fpi_session *s, enum fpi_stack_owner owner, uint64_t id,
				 enum fpi_unwinder unwinder, struct fpi_stack_trace **ret, struct fpi_error **err);
/* NULL-safe. */
FPI_PUBLIC void fpi_stack_trace_free(struct fpi_stack_trace *t);

/* ---------------------------------------------------------------- check */

enum fpi_severity {
	FPI_SEVERITY_ERROR = 0,   /* an invariant the runtime relies on is broken */
	FPI_SEVERITY_WARNING = 1,
	FPI_SEVERITY_INFO = 2,    /* expected, explained */
};

struct fpi_finding {
	enum fpi_severity severity;
	const char *kind;   /* stable name: fp-cycle, fp-out-of-bounds, fp-not-increasing,
			       fp-misaligned, cgo-fp-unsafe, extra-in-c-with-go-frames,
			       fp-dwarf-mismatch, stack-not-owned; static */
	int64_t goid;       /* the goroutine's; FPI_NONE: a thread's finding */
	int tid;            /* the thread's; FPI_NONE */
	long frame;         /* index in that stack's walk; FPI_NONE */
	char *message;      /* what broke and why it matters; owned by the set */
};

/* The findings of one check, with what it looked at. Owned by the caller,
 * independent of the session. */
struct fpi_findings {
	size_t n;
	struct fpi_finding *v;
	size_t threads, goroutines, frames; /* walked */
	size_t errors, warnings, infos;
};

/* Every check over every thread and goroutine (the check command's
 * findings). flags: 0 (reserved). Returns 0 without error findings, 1
 * with, 2 on an error. */
FPI_PUBLIC int fpi_session_check(struct fpi_session *s, unsigned flags, struct fpi_findings **ret,
				 struct fpi_error **err);
/* NULL-safe. */
FPI_PUBLIC void fpi_findings_free(struct fpi_findings *f);

/* ---------------------------------------------------------------- letting go */

/* Copy what later calls need (the stacks), then let a live target go on.
 * Everything still works afterwards, on the copy. */
FPI_PUBLIC void fpi_session_release(struct fpi_session *s);
/* The same when only the command argv will run afterwards: stacks are
 * copied only for the commands that walk them (bt, check). */
FPI_PUBLIC void fpi_session_release_for(struct fpi_session *s, int argc, char **argv);
/* For a signal handler: let a live process go at once, copying nothing
 * (async-signal-safe; nothing may be read from the session afterwards but
 * it may be destroyed). Returns 1 when threads were stopped (or being
 * stopped) and are let go, 0 when there was nothing to let go. NULL-safe. */
FPI_PUBLIC int fpi_session_detach_async(struct fpi_session *s);
/* Seconds the target was stopped (live), 0 otherwise. */
FPI_PUBLIC double fpi_session_pause_seconds(const struct fpi_session *s);
/* NULL-safe; lets a live target go. */
FPI_PUBLIC void fpi_session_destroy(struct fpi_session *s);

#ifdef __cplusplus
}
#endif
#endif
