/* The public API (fpinspect.h): a thin layer over the session core. It
 * converts to and from the public types and decides nothing. */
#include <stdlib.h>
#include <string.h>

#include "fpinspect.h"
#include "session.h"

/* ---- errors: the internal error is the public opaque one; only its kind
 * is translated, so that internal codes may change */

enum fpi_error_kind fpi_error_kind(const struct fpi_error *err)
{
	switch (err->code) {
	case FPI_ERR_NOMEM: return FPI_ERROR_NOMEM;
	case FPI_ERR_USAGE: return FPI_ERROR_USAGE;
	case FPI_ERR_NOPROC: return FPI_ERROR_NO_PROCESS;
	case FPI_ERR_PERM: return FPI_ERROR_PERMISSION;
	case FPI_ERR_NOTGO: return FPI_ERROR_NOT_GO;
	case FPI_ERR_NODWARF: return FPI_ERROR_NO_DWARF;
	case FPI_ERR_FORMAT: return FPI_ERROR_CORRUPT_FILE;
	case FPI_ERR_FAULT: return FPI_ERROR_TARGET_MEMORY;
	case FPI_ERR_EXITED: return FPI_ERROR_TARGET_GONE;
	case FPI_ERR_NOTFOUND: return FPI_ERROR_NOT_FOUND;
	case FPI_ERR_OTHER: break;
	}
	return FPI_ERROR_OTHER;
}

const char *fpi_error_message(const struct fpi_error *err)
{
	return err->message ? err->message : "unknown error";
}

void fpi_error_free(struct fpi_error *err)
{
	fpi_error_destroy(err);
}

/* Hand err to the caller (or drop it): the int functions' failure. */
static int fail(struct fpi_error *err, struct fpi_error **ret)
{
	if (ret)
		*ret = err;
	else
		fpi_error_destroy(err);
	return 2;
}

static int status_of(struct fpi_error *err, struct fpi_error **ret)
{
	return err ? fail(err, ret) : 0;
}

/* ---- sessions */

int fpi_session_attach(int pid, struct fpi_session **ret, struct fpi_error **err)
{
	struct fpi_session *s;

	if (fpi_session_open_live(pid, 0, NULL, &s, err))
		return 2;
	if (fpi_session_stop(s, err)) {
		session_destroy(s);
		return 2;
	}
	*ret = s;
	return 0;
}

int fpi_session_open_live(int pid, int argc, char **argv, struct fpi_session **ret, struct fpi_error **err)
{
	return status_of(session_open_live(pid, argc, argv, ret), err);
}

int fpi_session_stop(struct fpi_session *s, struct fpi_error **err)
{
	return status_of(session_stop(s), err);
}

int fpi_session_open_core(const char *core, const char *exe, struct fpi_session **ret, struct fpi_error **err)
{
	return status_of(session_open_core(core, exe, ret), err);
}

/* ---- a caller's target */

struct custom_reader {
	fpi_read_cb read;
	void *arg;
};

static bool custom_read(void *arg, uint64_t addr, void *buf, size_t len)
{
	struct custom_reader *c = arg;

	return c->read(c->arg, addr, buf, len) == 1;
}

int fpi_session_create_custom(const char *exe, int pid, fpi_read_cb read, void *arg, struct fpi_session **ret,
			      struct fpi_error **err)
{
	struct custom_reader *c = malloc(sizeof(*c));

	if (!c)
		return fail(&fpi_enomem, err);
	c->read = read;
	c->arg = arg;
	return status_of(session_create_custom(exe, pid, read ? custom_read : NULL, c, true, ret), err);
}

int fpi_session_add_thread(struct fpi_session *s, int tid, const struct fpi_registers *regs, struct fpi_error **err)
{
	const struct fpi_regs_x86_64 *x = &regs->u.x86_64;
	struct fpi_regs r;

	if (regs->arch != FPI_ARCH_X86_64)
		return fail(fpi_error_create(FPI_ERR_USAGE, "thread %d: registers of architecture %d: only x86_64 (%d) is known",
					     tid, (int)regs->arch, (int)FPI_ARCH_X86_64), err);
	/* the public order is by name; the unwinders' is DWARF's */
	r.r[FPI_REG_RAX] = x->rax;
	r.r[FPI_REG_RDX] = x->rdx;
	r.r[FPI_REG_RCX] = x->rcx;
	r.r[FPI_REG_RBX] = x->rbx;
	r.r[FPI_REG_RSI] = x->rsi;
	r.r[FPI_REG_RDI] = x->rdi;
	r.r[FPI_REG_RBP] = x->rbp;
	r.r[FPI_REG_RSP] = x->rsp;
	r.r[FPI_REG_R8] = x->r8;
	r.r[FPI_REG_R9] = x->r9;
	r.r[FPI_REG_R10] = x->r10;
	r.r[FPI_REG_R11] = x->r11;
	r.r[FPI_REG_R12] = x->r12;
	r.r[FPI_REG_R13] = x->r13;
	r.r[FPI_REG_R14] = x->r14;
	r.r[FPI_REG_R15] = x->r15;
	r.r[FPI_REG_RIP] = x->rip;
	r.fs_base = x->fs_base;
	return status_of(session_add_thread(s, tid, &r), err);
}

int fpi_session_add_mapping(struct fpi_session *s, uint64_t start, uint64_t end, uint64_t offset, const char *path,
			    struct fpi_error **err)
{
	return status_of(session_add_mapping(s, start, end, offset, path), err);
}

void fpi_session_set_vdso(struct fpi_session *s, uint64_t addr)
{
	session_set_vdso(s, addr);
}

int fpi_session_load(struct fpi_session *s, struct fpi_error **err)
{
	return status_of(session_load(s), err);
}

/* ---- commands */

int fpi_session_run(struct fpi_session *s, int argc, char **argv, int json, FILE *out, struct fpi_error **err)
{
	int status;
	struct fpi_error *e = session_run(s, argc, argv, json != 0, out, &status);

	return e ? fail(e, err) : status;
}

int fpi_session_run_str(struct fpi_session *s, int argc, char **argv, int json, char **out, struct fpi_error **err)
{
	size_t len;
	FILE *f = open_memstream(out, &len);
	int status;

	if (!f)
		return fail(&fpi_enomem, err);
	status = fpi_session_run(s, argc, argv, json, f, err);
	fclose(f);
	if (status == 2) {
		free(*out);
		*out = NULL;
	}
	return status;
}

int fpi_command_check(int argc, char **argv, struct fpi_error **err)
{
	bool help;
	struct fpi_error *e = session_command_check(argc, argv, &help);

	return e ? fail(e, err) : help;
}

const char *const *fpi_command_names(void)
{
	return session_command_names();
}

const char *fpi_command_usage(const char *name)
{
	return session_command_usage(name);
}

const char *fpi_command_help(const char *name)
{
	return session_command_help(name);
}

void fpi_free(void *p)
{
	free(p);
}

/* ---- letting go */

void fpi_session_release(struct fpi_session *s)
{
	session_release(s);
}

void fpi_session_release_for(struct fpi_session *s, int argc, char **argv)
{
	session_release_for(s, argc, argv);
}

int fpi_session_detach_async(struct fpi_session *s)
{
	return session_detach_async(s);
}

double fpi_session_pause_seconds(const struct fpi_session *s)
{
	return session_pause_seconds(s);
}

void fpi_session_destroy(struct fpi_session *s)
{
	session_destroy(s);
}
