/* libfpinspect: the public API. An inspection session over a live process
 * (ptrace), a core file, or a target whose memory and threads come from the
 * caller (the GDB plugin). Commands produce the same text or JSON on all.
 *
 * Functions returning int return an exit status: 0 ok, 1 a check found
 * problems, 2 could not inspect (then *errmsg, if errmsg is not NULL, holds a
 * malloc'ed message to release with fpi_free). */
#ifndef FPINSPECT_H
#define FPINSPECT_H

#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FPI_PUBLIC __attribute__((visibility("default")))

struct fpi_session;

/* Attach to a live process: every thread is stopped until
 * fpi_session_release or fpi_session_destroy. */
FPI_PUBLIC int fpi_session_attach(int pid, struct fpi_session **ret, char **errmsg);
/* The same, told the command that will run (argv as for fpi_session_run):
 * for bt and check the copy of the stacks is planned from a look at the
 * running process and read while the snapshot is taken, which shortens
 * the stop. */
FPI_PUBLIC int fpi_session_attach_for(int pid, int argc, char **argv, struct fpi_session **ret,
				      char **errmsg);
/* A core file; exe may be NULL (taken from the core). */
FPI_PUBLIC int fpi_session_open_core(const char *core, const char *exe, struct fpi_session **ret,
				     char **errmsg);

/* A caller-provided target (the GDB plugin): memory reads go through read
 * (returns 1 when all len bytes were read, 0 otherwise). Add threads and
 * mappings, then call fpi_session_load. regs: 18 values, rax rdx rcx rbx
 * rsi rdi rbp rsp r8..r15 rip (DWARF order), then fs_base. */
typedef int (*fpi_read_cb)(void *arg, uint64_t addr, void *buf, size_t len);
FPI_PUBLIC int fpi_session_create_custom(const char *exe, int pid, fpi_read_cb read, void *arg,
					 struct fpi_session **ret, char **errmsg);
FPI_PUBLIC int fpi_session_add_thread(struct fpi_session *s, int tid, const uint64_t *regs);
FPI_PUBLIC int fpi_session_add_mapping(struct fpi_session *s, uint64_t start, uint64_t end,
				       uint64_t offset, const char *path);
/* Where the vDSO's ELF image is in the target (AT_SYSINFO_EHDR of its
 * auxiliary vector): read through the callback, it becomes a module, so
 * threads inside it (time.Now) unwind and are not taken for C. */
FPI_PUBLIC void fpi_session_set_vdso(struct fpi_session *s, uint64_t addr);
FPI_PUBLIC int fpi_session_load(struct fpi_session *s, char **errmsg);

/* Run one command ("summary", "threads", "goroutines", "bt g42", "check",
 * "help") given as argv, writing text (or one JSON document) to out. */
FPI_PUBLIC int fpi_session_run(struct fpi_session *s, int argc, char **argv, int json, FILE *out,
			       char **errmsg);
/* The same, output returned as a malloc'ed string (for ctypes callers). */
FPI_PUBLIC int fpi_session_run_str(struct fpi_session *s, int argc, char **argv, int json, char **out,
				   char **errmsg);
/* Copy what later commands need, then let a live target go on. Commands
 * still work afterwards on the copy. */
FPI_PUBLIC void fpi_session_release(struct fpi_session *s);
/* The same when only the command argv will run afterwards: stacks are
 * copied only for the commands that walk them (bt, check). */
FPI_PUBLIC void fpi_session_release_for(struct fpi_session *s, int argc, char **argv);
/* Seconds the target was stopped (live), 0 otherwise. */
FPI_PUBLIC double fpi_session_pause_seconds(const struct fpi_session *s);
FPI_PUBLIC void fpi_session_destroy(struct fpi_session *s);

/* NULL-terminated list of command names (for completion) and their help. */
FPI_PUBLIC const char *const *fpi_command_names(void);
FPI_PUBLIC const char *fpi_command_help(const char *name);
FPI_PUBLIC void fpi_free(void *p);
/* Detach the live target on SIGINT, SIGTERM, SIGHUP. */
FPI_PUBLIC void fpi_install_signal_handlers(void);

#ifdef __cplusplus
}
#endif
#endif
