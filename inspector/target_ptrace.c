/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A live process through ptrace. Attach stops every thread with PTRACE_SEIZE
 * + PTRACE_INTERRUPT (no SIGSTOP is sent, so nothing is injected), re-reading
 * /proc/PID/task until no new thread shows up. Memory comes through
 * process_vm_readv in batches, /proc/PID/mem as the fallback. Release detaches
 * every thread, handing back any signal that arrived while it was stopped. */
#include <elf.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "target.h"

struct ptrace_thread {
	int tid;
	int pending_sig;   /* signal-delivery-stop seen: hand it back on detach */
	bool stopped;      /* we saw its stop */
	bool gone;         /* exited while we attached */
};

struct ptrace_priv {
	int pid;
	int memfd;
	struct ptrace_thread *th;
	size_t nth, cap;
	struct timespec t_first_stop;
};

static double elapsed(const struct timespec *a, const struct timespec *b)
{
	return (b->tv_sec - a->tv_sec) + (b->tv_nsec - a->tv_nsec) / 1e9;
}

static bool have_tid(struct ptrace_priv *p, int tid)
{
	for (size_t i = 0; i < p->nth; i++)
		if (p->th[i].tid == tid)
			return true;
	return false;
}

/* Detach is async-signal-safe (plain syscalls only): fpi_target_detach_async
 * calls it from the CLI's signal handlers. */
static void ptrace_release(struct fpi_target *t)
{
	struct ptrace_priv *p = t->priv;
	struct timespec now;

	if (!p)
		return;
	for (size_t i = 0; i < p->nth; i++) {
		if (p->th[i].gone)
			continue;
		ptrace(PTRACE_DETACH, p->th[i].tid, NULL, (void *)(long)p->th[i].pending_sig);
		p->th[i].gone = true;
	}
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (p->t_first_stop.tv_sec)
		t->pause_seconds = elapsed(&p->t_first_stop, &now);
}

static struct fpi_error *ptrace_readv(struct fpi_target *t, struct fpi_read *reads, size_t n)
{
	struct ptrace_priv *p = t->priv;
	struct iovec local[1024], remote[1024];
	size_t i = 0;

	while (i < n) {
		size_t k = 0;
		ssize_t got;

		/* one bad iovec fails the whole call (EINVAL): none goes in */
		if (!fpi_range_ok(reads[i].addr, reads[i].len)) {
			reads[i++].ok = false;
			continue;
		}
		while (i + k < n && k < 1024 && fpi_range_ok(reads[i + k].addr, reads[i + k].len)) {
			local[k].iov_base = reads[i + k].buf;
			local[k].iov_len = reads[i + k].len;
			remote[k].iov_base = (void *)(uintptr_t)reads[i + k].addr;
			remote[k].iov_len = reads[i + k].len;
			k++;
		}
		got = process_vm_readv(p->pid, local, k, remote, k, 0);
		if (got < 0)
			got = 0;
		/* Ranges wholly inside what was read are done; the first short
		 * one is retried through /proc/PID/mem, then we go on after it. */
		while (k > 0 && (size_t)got >= reads[i].len) {
			reads[i].ok = true;
			got -= reads[i].len;
			i++;
			k--;
		}
		if (k > 0) {
			reads[i].ok = p->memfd >= 0 &&
				pread(p->memfd, reads[i].buf, reads[i].len, (off_t)reads[i].addr) == (ssize_t)reads[i].len;
			i++;
		}
	}
	return NULL;
}

static void ptrace_destroy(struct fpi_target *t)
{
	struct ptrace_priv *p = t->priv;

	if (!p)
		return;
	if (p->memfd >= 0)
		close(p->memfd);
	free(p->th);
	free(p);
	t->priv = NULL;
}

static const struct fpi_target_ops ptrace_ops = {
	.kind = "live",
	.stops = true,
	.parallel_reads = true,
	.readv = ptrace_readv,
	.release = ptrace_release,
	.destroy = ptrace_destroy,
};

/* A thread the kernel refuses to trace because it is exiting (its
 * exit_state set: a zombie or dead, then gone from /proc). */
static bool thread_exiting(pid_t pid, int tid)
{
	char path[64], buf[512], *st;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, tid);
	f = fopen(path, "r");
	if (!f)
		return true;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	st = strrchr(buf, ')');
	return !st || (st[1] == ' ' && (st[2] == 'Z' || st[2] == 'X'));
}

static struct fpi_error *seize_new_threads(struct ptrace_priv *p, size_t *nnew)
{
	char path[64];
	struct dirent *de;
	DIR *d;

	*nnew = 0;
	snprintf(path, sizeof(path), "/proc/%d/task", p->pid);
	d = opendir(path);
	if (!d)
		return fpi_error_create(FPI_ERR_EXITED, "process %d went away while attaching", p->pid);
	while ((de = readdir(d))) {
		int tid = atoi(de->d_name);

		if (tid <= 0 || have_tid(p, tid))
			continue;
		if (ptrace(PTRACE_SEIZE, tid, NULL, NULL) != 0) {
			int e = errno;

			/* exited between readdir and seize, or exiting: the
			 * kernel refuses a task with its exit state set */
			if (e == ESRCH || (e == EPERM && thread_exiting(p->pid, tid)))
				continue;
			closedir(d);
			if (e == EPERM)
				return fpi_error_create(FPI_ERR_PERM,
					"cannot trace process %d (thread %d): operation not permitted: another tracer "
					"(gdb, strace, a debugger) may be attached (see TracerPid in /proc/%d/status), "
					"or ptrace is restricted (kernel.yama.ptrace_scope, a container without "
					"CAP_SYS_PTRACE, or a process of another user): run as root or detach the other tracer",
					p->pid, tid, p->pid);
			return fpi_error_create(FPI_ERR_PERM, "ptrace(PTRACE_SEIZE) thread %d of process %d: %s",
						tid, p->pid, strerror(e));
		}
		if (p->nth == p->cap) {
			size_t cap = p->cap ? 2 * p->cap : 64;
			struct ptrace_thread *th = realloc(p->th, cap * sizeof(*th));

			if (!th) {
				ptrace(PTRACE_DETACH, tid, NULL, NULL);
				closedir(d);
				return &fpi_enomem;
			}
			p->th = th;
			p->cap = cap;
		}
		p->th[p->nth++] = (struct ptrace_thread){ .tid = tid };
		if (!p->t_first_stop.tv_sec)
			clock_gettime(CLOCK_MONOTONIC, &p->t_first_stop);
		ptrace(PTRACE_INTERRUPT, tid, NULL, NULL);
		(*nnew)++;
	}
	closedir(d);
	return NULL;
}

/* Wait for the stop of every thread seized so far. The first stop we see is
 * either our interrupt (PTRACE_EVENT_STOP), a group-stop (a process that was
 * stopped before: it stays stopped after detach), or a signal-delivery-stop,
 * whose signal we keep to hand back on detach so no signal is lost.
 * All threads are polled: a blocking wait for one could deadlock. When the
 * process exits meanwhile, its leader is not reported until every other
 * thread is gone, and a traced thread stays a zombie until its tracer (us)
 * reaps it. */
static void wait_stops(struct ptrace_priv *p)
{
	size_t left;

	do {
		bool progress = false;

		left = 0;
		for (size_t i = 0; i < p->nth; i++) {
			struct ptrace_thread *th = &p->th[i];
			int status;
			pid_t r;

			if (th->stopped || th->gone)
				continue;
			r = waitpid(th->tid, &status, __WALL | WNOHANG);
			if (r == 0 || (r < 0 && errno == EINTR) || (r > 0 && !WIFSTOPPED(status) &&
								      !WIFEXITED(status) && !WIFSIGNALED(status))) {
				left++;
				continue;
			}
			progress = true;
			if (r < 0 || WIFEXITED(status) || WIFSIGNALED(status)) {
				th->gone = true;
				continue;
			}
			th->stopped = true;
			if ((status >> 16) == 0)
				th->pending_sig = WSTOPSIG(status); /* not our interrupt, not a group-stop */
		}
		if (left && !progress)
			nanosleep(&(struct timespec){ 0, 20000 }, NULL);
	} while (left);
}

#if defined(__aarch64__)
/* arm64 has no PTRACE_GETREGS: NT_PRSTATUS's regset is user_pt_regs, laid
 * out as a core's pr_reg, so the architecture table places it. Built only
 * where configure's host is aarch64; not tested on this project's machines. */
static struct fpi_error *read_regs(struct fpi_target *t, struct ptrace_priv *p)
{
	const struct fpi_arch_info *a = &fpi_arch_arm64;

	t->arch = a;
	for (size_t i = 0; i < p->nth; i++) {
		uint64_t w[64] = { 0 };
		struct iovec iov = { w, sizeof(w) };
		struct fpi_regs r;
		struct fpi_error *err;

		if (p->th[i].gone)
			continue;
		if (ptrace(PTRACE_GETREGSET, p->th[i].tid, (void *)(uintptr_t)NT_PRSTATUS, &iov) != 0 ||
		    iov.iov_len < 8 * (size_t)a->user_regs_words) {
			p->th[i].gone = true;
			continue;
		}
		memset(&r, 0, sizeof(r));
		for (int k = 0; k < a->user_regs_words; k++)
			if (a->user_regs_slot[k] >= 0)
				r.r[a->user_regs_slot[k]] = w[k];
		err = fpi_target_add_thread(t, p->th[i].tid, &r);
		if (err)
			return err;
	}
	return NULL;
}
#else
static struct fpi_error *read_regs(struct fpi_target *t, struct ptrace_priv *p)
{
	for (size_t i = 0; i < p->nth; i++) {
		struct user_regs_struct u;
		struct fpi_regs r;
		struct fpi_error *err;

		if (p->th[i].gone)
			continue;
		if (ptrace(PTRACE_GETREGS, p->th[i].tid, NULL, &u) != 0) {
			p->th[i].gone = true;
			continue;
		}
		r.r[FPI_REG_RAX] = u.rax; r.r[FPI_REG_RDX] = u.rdx; r.r[FPI_REG_RCX] = u.rcx;
		r.r[FPI_REG_RBX] = u.rbx; r.r[FPI_REG_RSI] = u.rsi; r.r[FPI_REG_RDI] = u.rdi;
		r.r[FPI_REG_RBP] = u.rbp; r.r[FPI_REG_RSP] = u.rsp; r.r[FPI_REG_R8] = u.r8;
		r.r[FPI_REG_R9] = u.r9; r.r[FPI_REG_R10] = u.r10; r.r[FPI_REG_R11] = u.r11;
		r.r[FPI_REG_R12] = u.r12; r.r[FPI_REG_R13] = u.r13; r.r[FPI_REG_R14] = u.r14;
		r.r[FPI_REG_R15] = u.r15; r.r[FPI_REG_RIP] = u.rip;
		r.fs_base = u.fs_base;
		err = fpi_target_add_thread(t, p->th[i].tid, &r);
		if (err)
			return err;
	}
	return NULL;
}
#endif

/* AT_SYSINFO_EHDR from /proc/PID/auxv: where the vDSO's ELF image is. */
static uint64_t read_sysinfo_ehdr(int pid)
{
	uint64_t aux[2], v = 0;
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/auxv", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	while (read(fd, aux, sizeof(aux)) == sizeof(aux) && aux[0] != AT_NULL)
		if (aux[0] == AT_SYSINFO_EHDR)
			v = aux[1];
	close(fd);
	return v;
}

/* The file mappings (files: at open, for the modules) and the readable
 * regions (at open for planning, again once stopped: then they hold still). */
static struct fpi_error *read_maps(struct fpi_target *t, int pid, bool files)
{
	char path[64], line[4096];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return NULL; /* modules then come from the executable alone */
	fpi_target_clear_regions(t);
	while (fgets(line, sizeof(line), f)) {
		unsigned long long start, end, off;
		char perms[8];
		int pos = 0;

		if (sscanf(line, "%llx-%llx %7s %llx %*s %*s %n", &start, &end, perms, &off, &pos) < 4)
			continue;
		line[strcspn(line, "\n")] = '\0';
		if (!pos || (size_t)pos > strlen(line))
			pos = strlen(line); /* anonymous: no name */
		/* [vvar] and [vsyscall] hold nothing of the program's */
		if (perms[0] == 'r' && strncmp(line + pos, "[vvar", 5) && strncmp(line + pos, "[vsyscall]", 10)) {
			struct fpi_error *err = fpi_target_add_region(t, start, end);

			if (err) {
				fclose(f);
				return err;
			}
		}
		if (!files || line[pos] != '/')
			continue;
		{
			struct fpi_error *err = fpi_target_add_mapping(t, start, end, off, line + pos);

			if (err) {
				fclose(f);
				return err;
			}
		}
	}
	fclose(f);
	return NULL;
}

struct fpi_error *fpi_target_ptrace_open(pid_t pid, struct fpi_target **ret)
{
	struct fpi_target *t;
	struct ptrace_priv *p;
	struct fpi_error *err;
	char path[64], exe[4096];
	ssize_t n;

	if (pid <= 0)
		return fpi_error_create(FPI_ERR_USAGE, "invalid PID %d", (int)pid);
	if (pid == getpid())
		return fpi_error_create(FPI_ERR_USAGE, "fpinspect cannot inspect itself");
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	if (n < 0) {
		if (errno == ENOENT) {
			snprintf(path, sizeof(path), "/proc/%d", pid);
			if (access(path, F_OK) != 0)
				return fpi_error_create(FPI_ERR_NOPROC, "no process with PID %d", (int)pid);
			return fpi_error_create(FPI_ERR_NOPROC, "process %d has no executable (a zombie or a kernel thread)", (int)pid);
		}
		if (errno == EACCES || errno == EPERM)
			return fpi_error_create(FPI_ERR_PERM,
				"cannot read /proc/%d/exe: permission denied (a process of another user? run as its owner or root)",
				(int)pid);
		return fpi_error_create(FPI_ERR_NOPROC, "readlink %s: %m", path);
	}
	exe[n] = '\0';

	t = fpi_target_alloc(&ptrace_ops);
	p = t ? calloc(1, sizeof(*p)) : NULL;
	if (!p) {
		free(t);
		return &fpi_enomem;
	}
	t->priv = p;
	p->memfd = -1;
	p->pid = pid;
	t->pid = pid;
	/* /proc/PID/exe opens the very file the process runs, even when it was
	 * deleted or replaced on disk since: use it when the path is stale. */
	t->exe_path = strdup(access(exe, R_OK) == 0 ? exe : path);
	err = read_maps(t, pid, true);
	if (err)
		goto fail;
	t->vdso = read_sysinfo_ehdr(pid);
	fpi_target_load_vdso(t);
	*ret = t;
	return NULL;
fail:
	fpi_target_destroy(t);
	return err;
}

struct fpi_error *fpi_target_ptrace_stop(struct fpi_target *t)
{
	struct ptrace_priv *p = t->priv;
	struct fpi_error *err;
	char path[64];
	size_t nnew, live = 0;
	pid_t pid = p->pid;

	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	/* from the first seize on, a signal handler may detach */
	t->stopping = true;
	do {
		err = seize_new_threads(p, &nnew);
		if (err)
			goto fail;
		wait_stops(p);
	} while (nnew > 0);
	p->memfd = open(path, O_RDONLY | O_CLOEXEC);
	for (size_t i = 0; i < p->nth; i++)
		live += !p->th[i].gone;
	if (live == 0) {
		err = fpi_error_create(FPI_ERR_EXITED, "process %d exited while fpinspect attached to it", (int)pid);
		goto fail;
	}
	err = read_regs(t, p);
	if (!err)
		err = read_maps(t, pid, false);
	if (err)
		goto fail;
	return NULL;
fail:
	ptrace_release(t);
	t->released = true;
	return err;
}
