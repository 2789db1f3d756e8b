/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Modules, symbols and CFI steps:
 * - against a Go binary with DWARF (argv[1], built by the harness with
 *   `go build`): lookups, symbolization with inlined frames, CFI steps on a
 *   fake stack checked against readelf's reading of .debug_frame;
 * - against this process: its PLT (CFA expressions) and a real signal
 *   frame (__restore_rt), unwound from inside the handler back to _start;
 * - where ptrace is allowed, a live /bin/sleep unwound through libc.
 * This program must keep its symbol table (not stripped). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <link.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "../unwind/modules_internal.h"
#include "../unwind/unwind.h"
#include "unit.h"

/* ---------------- fake memory: one buffer at a fake address ---------------- */

struct fake_mem {
	uint64_t base;
	unsigned char *buf;
	size_t len;
};

static bool fake_read(void *arg, uint64_t addr, void *buf, size_t len)
{
	struct fake_mem *fm = arg;

	if (addr < fm->base || addr - fm->base > fm->len || len > fm->len - (addr - fm->base))
		return false;
	memcpy(buf, fm->buf + (addr - fm->base), len);
	return true;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = s ? strlen(s) : 0, k = strlen(suffix);

	return s && n >= k && strcmp(s + n - k, suffix) == 0;
}

static bool str_eq(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

static void print_symbol(const char *what, uint64_t pc, const struct fpi_symbol *s)
{
	printf("  %s 0x%" PRIx64 ": %s %s:%d [%s] start 0x%" PRIx64 "\n", what, pc,
	       s->function ? s->function : "?", s->file ? s->file : "?", s->line,
	       s->module ? s->module : "?", s->func_start);
	for (size_t i = 0; i < s->ninlined; i++)
		printf("    #%zu %s %s:%d\n", i, s->inlined[i].function ? s->inlined[i].function : "?",
		       s->inlined[i].file ? s->inlined[i].file : "?", s->inlined[i].line);
}

/* The CFA offset (rsp+N) readelf gives for pc in the FDE starting at
 * func; -1 when readelf is missing or says something else. An independent
 * reading of the same .debug_frame. */
static long readelf_cfa_offset(const char *exe, uint64_t func, uint64_t pc)
{
	char cmd[4096], line[512], fde[64];
	long off = -1;
	bool in_fde = false;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "readelf --debug-dump=frames-interp '%s' 2>/dev/null", exe);
	snprintf(fde, sizeof(fde), "pc=%016" PRIx64 "..", func);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long loc;
		long n;

		if (strstr(line, " FDE ")) {
			if (in_fde)
				break;
			in_fde = strstr(line, fde) != NULL;
			continue;
		}
		if (!in_fde)
			continue;
		if (sscanf(line, "%llx rsp+%ld", &loc, &n) == 2 && loc <= pc)
			off = n;
	}
	pclose(f);
	return off;
}

/* ---------------- the Go binary ---------------- */

static void check_lookups(struct fpi_modules *mods, uint64_t *main_main, uint64_t *main_size)
{
	static const char *const names[] = {
		"runtime.goexit", "runtime.systemstack_switch", "runtime.mstart",
		"runtime.asmcgocall", "runtime.morestack",
		"runtime.mcall", "main.main",
	};
	uint64_t size;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		uint64_t a = fpi_modules_lookup(mods, names[i], &size);

		CHECK(a != 0, "lookup %s", names[i]);
		CHECK(size != 0, "size of %s", names[i]);
	}
	/* The raw ELF name of an ABI0 function finds the same. */
	CHECK_EQ(fpi_modules_lookup(mods, "runtime.goexit.abi0", NULL),
		 fpi_modules_lookup(mods, "runtime.goexit", NULL), "runtime.goexit.abi0");
	CHECK_EQ(fpi_modules_lookup(mods, "no.such.function", &size), 0, "absent name");
	CHECK_EQ(size, 0, "absent name's size");
	*main_main = fpi_modules_lookup(mods, "main.main", main_size);
}

static void check_symbolize(struct fpi_modules *mods, const char *exe, uint64_t main_main)
{
	const struct fpi_symbol *s = fpi_symbolize(mods, main_main + 1);
	const char *base = strrchr(exe, '/') ? strrchr(exe, '/') + 1 : exe;

	print_symbol("main.main+1", main_main + 1, s);
	CHECK(str_eq(s->function, "main.main"), "function %s", s->function ? s->function : "NULL");
	CHECK(ends_with(s->file, ".go"), "file %s", s->file ? s->file : "NULL");
	CHECK(s->line > 0, "line %d", s->line);
	CHECK_EQ(s->func_start, main_main, "func_start");
	CHECK(str_eq(s->module, base), "module %s", s->module ? s->module : "NULL");
	CHECK(s->ninlined >= 1 && str_eq(s->inlined[s->ninlined - 1].function, "main.main"),
	      "physical function last in inlined[]");
	CHECK(fpi_symbolize(mods, main_main + 1) == s, "second call served from the cache");

	/* An ABI0 assembly function: DWARF's name, without ".abi0". */
	{
		uint64_t goexit = fpi_modules_lookup(mods, "runtime.goexit", NULL);
		const struct fpi_symbol *g = fpi_symbolize(mods, goexit + 1);

		print_symbol("runtime.goexit+1", goexit + 1, g);
		CHECK(str_eq(g->function, "runtime.goexit"), "goexit: %s", g->function ? g->function : "NULL");
		CHECK(ends_with(g->file, ".s"), "goexit file %s", g->file ? g->file : "NULL");
	}

	s = fpi_symbolize(mods, 0x10);
	CHECK(s && !s->function && !s->file && s->ninlined == 0, "pc outside every module");
}

/* Runtime functions with inlined calls in every Go from 1.19 to 1.26: scan
 * their pcs for inlined frames. */
/* The first pc of one of funcs whose symbol has at least depth frames
 * (inlined ones included); its symbol and which function in *fi. */
static const struct fpi_symbol *find_inlined(struct fpi_modules *mods, const char *const *funcs, size_t nfuncs,
					     size_t depth, uint64_t *pc_ret, size_t *fi)
{
	for (size_t i = 0; i < nfuncs; i++) {
		uint64_t size, a = fpi_modules_lookup(mods, funcs[i], &size);

		for (uint64_t pc = a; a && pc < a + size; pc++) {
			const struct fpi_symbol *s = fpi_symbolize(mods, pc);

			if (s->ninlined >= depth) {
				*pc_ret = pc;
				*fi = i;
				return s;
			}
		}
	}
	return NULL;
}

static void check_inlined(struct fpi_modules *mods)
{
	static const char *const funcs[] = {
		"runtime.mallocgc", "runtime.schedule", "runtime.newproc1", "runtime.main",
		"runtime.gopark", "runtime.chansend", "runtime.findRunnable", "runtime.findrunnable",
	};
	const size_t nfuncs = sizeof(funcs) / sizeof(funcs[0]);
	const struct fpi_symbol *s;
	uint64_t pc;
	size_t fi;

	s = find_inlined(mods, funcs, nfuncs, 2, &pc, &fi);
	CHECK(s != NULL, "a pc with inlined frames in the runtime");
	if (s) {
		print_symbol("inlined", pc, s);
		CHECK(str_eq(s->inlined[s->ninlined - 1].function, funcs[fi]), "outermost is %s", funcs[fi]);
		CHECK(str_eq(s->inlined[0].function, s->function), "innermost is the function");
		CHECK(!str_eq(s->inlined[0].function, funcs[fi]), "innermost is not %s", funcs[fi]);
		for (size_t k = 0; k < s->ninlined; k++) {
			CHECK(s->inlined[k].function && s->inlined[k].line > 0, "inlined[%zu] named with a line", k);
			CHECK(ends_with(s->inlined[k].file, ".go"), "inlined[%zu] file", k);
		}
	}

	/* Nested inlining: Go's ranges of an inlined subroutine leave out the
	 * calls inlined into it, so the chain must come from the DIE nesting. */
	s = find_inlined(mods, funcs, nfuncs, 3, &pc, &fi);
	if (s) {
		print_symbol("nested", pc, s);
		CHECK(str_eq(s->inlined[s->ninlined - 1].function, funcs[fi]), "outermost is %s", funcs[fi]);
		for (size_t k = 0; k + 1 < s->ninlined; k++)
			CHECK(!str_eq(s->inlined[k].function, s->inlined[k + 1].function),
			      "inlined[%zu] differs from its caller", k);
	}
	CHECK(s != NULL, "a pc with two levels of inlining in the runtime");

	/* When argv[1] is this program, the exact chain:
	 *	func add(a, b int) int { return a*3 + b }
	 *	func twice(x int) int { return add(x, x) + 1 }
	 *	//go:noinline
	 *	func worker(n int, ch chan int) { ... s += twice(i) ... }
	 * (the harness's targets have no main.add: skipped). */
	{
		uint64_t size, w = fpi_modules_lookup(mods, "main.worker", &size);

		for (uint64_t wpc = w; w && wpc < w + size; wpc++) {
			const struct fpi_symbol *ws = fpi_symbolize(mods, wpc);

			if (!str_eq(ws->function, "main.add"))
				continue;
			print_symbol("worker", wpc, ws);
			CHECK(ws->ninlined == 3, "add, twice, worker: %zu", ws->ninlined);
			if (ws->ninlined == 3) {
				CHECK(str_eq(ws->inlined[1].function, "main.twice"), "twice calls add");
				CHECK(str_eq(ws->inlined[2].function, "main.worker"), "worker calls twice");
				CHECK(ws->inlined[1].line != ws->inlined[0].line, "call line of add in twice");
			}
			break;
		}
	}
}

static void check_cfi(struct fpi_modules *mods, const char *exe, uint64_t main_main, uint64_t main_size)
{
	static uint64_t stack[512];
	struct fake_mem fm = { 0xc000100000ull, (unsigned char *)stack, sizeof(stack) };
	struct fpi_mem mem = { fake_read, &fm };
	struct fpi_regs regs, out = { .fs_base = 0 };  /* printed even when a step fails */
	char why[256];
	uint64_t rsp = fm.base + 64 * 8;
	int r;

	/* Every slot holds a value naming its own address. */
	for (size_t i = 0; i < 512; i++)
		stack[i] = 0x1000000 + fm.base + i * 8;

	/* At the entry: CFA = rsp + 8, return address at [rsp]. */
	memset(&regs, 0, sizeof(regs));
	regs.r[FPI_REG_RIP] = main_main;
	regs.r[FPI_REG_RSP] = rsp;
	regs.r[FPI_REG_RBP] = 0xbbbb;
	regs.r[FPI_REG_RBX] = 0x3333;
	stack[64] = 0x401234;
	r = fpi_cfi_step(mods, &mem, &regs, true, &out, why, sizeof(why));
	CHECK(r == 0, "step at main.main entry: %d %s", r, why);
	CHECK_EQ(out.r[FPI_REG_RIP], 0x401234, "return address from [rsp]");
	CHECK_EQ(out.r[FPI_REG_RSP], rsp + 8, "caller's rsp = CFA = rsp + 8");
	/* Go's .debug_frame has no rbp rule: carried over (same value). */
	CHECK_EQ(out.r[FPI_REG_RBP], 0xbbbb, "rbp same value");
	CHECK_EQ(out.r[FPI_REG_RBX], 0x3333, "rbx same value");
	CHECK_EQ(out.r[FPI_REG_RAX], 0, "rax undefined");

	/* Past the prologue: CFA = rsp + framesize + 8. */
	{
		uint64_t pc = main_main + main_size / 2;
		long want = readelf_cfa_offset(exe, main_main, pc);
		uint64_t d;

		regs.r[FPI_REG_RIP] = pc;
		r = fpi_cfi_step(mods, &mem, &regs, false, &out, why, sizeof(why));
		CHECK(r == 0, "step in main.main's body: %d %s", r, why);
		d = out.r[FPI_REG_RSP] - rsp;
		printf("  main.main+0x%" PRIx64 ": CFA = rsp+%" PRIu64 " (readelf: %ld)\n",
		       main_size / 2, d, want);
		CHECK(d > 8 && d < 64 * 1024 && d % 8 == 0, "CFA beyond the return address: rsp+%" PRIu64, d);
		CHECK_EQ(out.r[FPI_REG_RIP], 0x1000000 + out.r[FPI_REG_RSP] - 8, "rip read from [CFA-8]");
		if (want > 0)
			CHECK_EQ(d, want, "CFA offset as readelf reads .debug_frame");
	}

	/* Unreadable memory: the return address slot is outside the buffer. */
	regs.r[FPI_REG_RIP] = main_main;
	regs.r[FPI_REG_RSP] = fm.base - 4096;
	r = fpi_cfi_step(mods, &mem, &regs, true, &out, why, sizeof(why));
	CHECK(r == -1 && why[0], "unreadable stack: %d \"%s\"", r, why);

	/* No module. */
	regs.r[FPI_REG_RIP] = 0x10;
	regs.r[FPI_REG_RSP] = rsp;
	r = fpi_cfi_step(mods, &mem, &regs, true, &out, why, sizeof(why));
	CHECK(r == -1 && why[0], "no module: %d \"%s\"", r, why);
	regs.r[FPI_REG_RIP] = 0;
	r = fpi_cfi_step(mods, &mem, &regs, true, &out, why, sizeof(why));
	CHECK(r == -1 && why[0], "pc 0: %d \"%s\"", r, why);
}

static void check_go(const char *exe)
{
	struct fpi_modules *mods;
	struct fpi_error *err = fpi_modules_create(NULL, 0, exe, NULL, 0, &mods);
	uint64_t main_main = 0, main_size = 0;

	CHECK(!err, "fpi_modules_create %s: %s", exe, err ? err->message : "");
	if (err) {
		fpi_error_destroy(err);
		return;
	}
	check_lookups(mods, &main_main, &main_size);
	if (main_main) {
		check_symbolize(mods, exe, main_main);
		check_inlined(mods);
		check_cfi(mods, exe, main_main, main_size);
	}
	fpi_modules_destroy(mods);
}

/* The same executable at a load bias, through a mapping: a PIE goes where
 * the mapping says; an ET_EXEC stays at its link address. */
static void check_mapped(const char *exe)
{
	struct fpi_modules *mods0, *mods;
	struct fpi_mapping map = { 0x555555400000ull, 0x555555500000ull, 0, (char *)exe };
	struct fpi_error *err;
	uint64_t link, mapped, bias;
	unsigned char ident[EI_NIDENT + 2];
	uint16_t type = 0;
	FILE *f = fopen(exe, "rb");

	if (f) {
		if (fread(ident, 1, sizeof(ident), f) == sizeof(ident))
			memcpy(&type, ident + EI_NIDENT, 2);
		fclose(f);
	}
	err = fpi_modules_create(NULL, 0, exe, NULL, 0, &mods0);
	CHECK(!err, "fpi_modules_create: %s", err ? err->message : "");
	if (err)
		return;
	link = fpi_modules_lookup(mods0, "main.main", NULL);
	fpi_modules_destroy(mods0);
	err = fpi_modules_create(&map, 1, exe, NULL, 0, &mods);
	CHECK(!err, "fpi_modules_create with a mapping: %s", err ? err->message : "");
	if (err)
		return;
	mapped = fpi_modules_lookup(mods, "main.main", NULL);
	/* Go's PIE is linked at 0x400000: the bias is not map.start. */
	bias = type == ET_DYN ? map.start - 0x400000 : 0;
	printf("  %s: e_type %u, main.main 0x%" PRIx64 " -> 0x%" PRIx64 "\n", exe, type, link, mapped);
	if (type == ET_DYN) {
		CHECK(mapped != link, "PIE relocated");
		/* The first PT_LOAD is at 0x400000 in Go's PIEs, 0 in C's. */
		CHECK(mapped == link + bias || mapped == link + map.start, "PIE at its bias");
	} else {
		CHECK_EQ(mapped, link, "ET_EXEC stays put");
	}
	{
		const struct fpi_symbol *s = fpi_symbolize(mods, mapped + 1);

		CHECK(str_eq(s->function, "main.main") && s->line > 0, "symbolize at the bias: %s:%d",
		      s->function ? s->function : "NULL", s->line);
	}
	fpi_modules_destroy(mods);
}

/* ---------------- a live C process ---------------- */

struct live_mem {
	pid_t pid;
};

static bool live_read(void *arg, uint64_t addr, void *buf, size_t len)
{
	struct live_mem *lm = arg;
	struct iovec local = { buf, len }, remote = { (void *)(uintptr_t)addr, len };

	return process_vm_readv(lm->pid, &local, 1, &remote, 1, 0) == (ssize_t)len;
}

static size_t read_maps(pid_t pid, struct fpi_mapping *maps, size_t max)
{
	char path[64], line[4096];
	size_t n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (n < max && fgets(line, sizeof(line), f)) {
		unsigned long long start, end, off;
		int pos = 0;

		if (sscanf(line, "%llx-%llx %*s %llx %*s %*s %n", &start, &end, &off, &pos) < 3 || !pos)
			continue;
		line[strcspn(line, "\n")] = '\0';
		if (line[pos] != '/')
			continue;
		maps[n] = (struct fpi_mapping){ start, end, off, strdup(line + pos) };
		n++;
	}
	fclose(f);
	return n;
}

static bool is_sleeping(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' && p[2] == 'S';
}

static void check_live_c(void)
{
	struct fpi_mapping maps[256];
	struct user_regs_struct ur;
	struct fpi_modules *mods = NULL;
	struct fpi_error *err;
	struct fpi_regs regs;
	struct live_mem lm;
	struct fpi_mem mem = { live_read, &lm };
	size_t nmaps = 0;
	bool in_libc = false, outermost = false;
	const char *last_libc = NULL;
	int status;
	pid_t pid;

	if (access("/bin/sleep", X_OK) != 0) {
		printf("  live C process: skipped (no /bin/sleep)\n");
		return;
	}
	pid = fork();
	if (pid == 0) {
		execl("/bin/sleep", "sleep", "100", (char *)NULL);
		_exit(127);
	}
	if (pid < 0)
		return;
	/* Let it reach its nanosleep. */
	for (int i = 0; i < 100 && !is_sleeping(pid); i++)
		nanosleep(&(struct timespec){ 0, 20 * 1000 * 1000 }, NULL);
	if (ptrace(PTRACE_ATTACH, pid, NULL, NULL) != 0 || waitpid(pid, &status, 0) != pid ||
	    ptrace(PTRACE_GETREGS, pid, NULL, &ur) != 0) {
		printf("  live C process: skipped (ptrace: %s)\n", strerror(errno));
		goto out;
	}
	lm.pid = pid;
	nmaps = read_maps(pid, maps, 256);
	err = fpi_modules_create(maps, nmaps, "/bin/sleep", NULL, 0, &mods);
	CHECK(!err, "fpi_modules_create for sleep: %s", err ? err->message : "");
	if (err) {
		fpi_error_destroy(err);
		goto out;
	}
	CHECK(fpi_modules_lookup(mods, "clock_nanosleep", NULL) != 0, "clock_nanosleep in libc");
	memset(&regs, 0, sizeof(regs));
	regs.r[FPI_REG_RIP] = ur.rip;
	regs.r[FPI_REG_RSP] = ur.rsp;
	regs.r[FPI_REG_RBP] = ur.rbp;
	regs.r[FPI_REG_RBX] = ur.rbx;
	regs.r[FPI_REG_R12] = ur.r12;
	regs.r[FPI_REG_R13] = ur.r13;
	regs.r[FPI_REG_R14] = ur.r14;
	regs.r[FPI_REG_R15] = ur.r15;
	regs.fs_base = ur.fs_base;
	for (int depth = 0; depth < 32; depth++) {
		uint64_t pc = regs.r[FPI_REG_RIP];
		const struct fpi_symbol *s = fpi_symbolize(mods, depth ? pc - 1 : pc);
		struct fpi_regs next;
		char why[256];
		int r;

		printf("  #%d 0x%" PRIx64 " %s %s:%d [%s]\n", depth, pc, s->function ? s->function : "?",
		       s->file ? s->file : "?", s->line, s->module ? s->module : "?");
		if (str_eq(s->module, "libc.so.6")) {
			in_libc = true;
			last_libc = s->function;
		}
		r = fpi_cfi_step(mods, &mem, &regs, depth == 0, &next, why, sizeof(why));
		if (r == 1) {
			outermost = true;
			break;
		}
		if (r < 0) {
			printf("  step: %s\n", why);
			break;
		}
		regs = next;
	}
	CHECK(in_libc, "a frame in libc.so.6");
	CHECK(outermost, "unwound to the outermost frame");
	/* sleep is stripped: its _start has no name; the frame above it is
	 * libc's. */
	CHECK(last_libc && strstr(last_libc, "__libc_start_main"), "__libc_start_main called _start: %s",
	      last_libc ? last_libc : "NULL");
out:
	fpi_modules_destroy(mods);
	for (size_t i = 0; i < nmaps; i++)
		free(maps[i].path);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
}

/* ---------------- this process: a PLT stub and a signal frame ---------------- */

static bool self_read(void *arg, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = { buf, len }, remote = { (void *)(uintptr_t)addr, len };

	(void)arg;
	return process_vm_readv(getpid(), &local, 1, &remote, 1, 0) == (ssize_t)len;
}

static int first_phdr(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	*(uint64_t *)arg = info->dlpi_addr;
	return 1;
}

/* The .plt of this executable (target address), 0 if none. */
static uint64_t self_plt(void)
{
	uint64_t bias = 0, plt = 0;
	size_t shstrndx;
	Elf_Scn *scn = NULL;
	int fd = open("/proc/self/exe", O_RDONLY);
	Elf *elf;

	if (fd < 0)
		return 0;
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (elf && elf_getshdrstrndx(elf, &shstrndx) == 0) {
		while ((scn = elf_nextscn(elf, scn))) {
			GElf_Shdr sh;
			const char *name;

			if (gelf_getshdr(scn, &sh) && (name = elf_strptr(elf, shstrndx, sh.sh_name)) &&
			    strcmp(name, ".plt") == 0 && sh.sh_size >= 32)
				plt = sh.sh_addr;
		}
	}
	elf_end(elf);
	close(fd);
	dl_iterate_phdr(first_phdr, &bias);
	return plt ? plt + bias : 0;
}

static struct fpi_modules *self_modules(struct fpi_mapping *maps, size_t *nmaps)
{
	struct fpi_modules *mods = NULL;
	struct fpi_error *err;

	*nmaps = read_maps(getpid(), maps, 256);
	err = fpi_modules_create(maps, *nmaps, "/proc/self/exe", NULL, 0, &mods);
	CHECK(!err, "fpi_modules_create for this process: %s", err ? err->message : "");
	fpi_error_destroy(err);
	return mods;
}

/* A lazy-binding PLT entry's CFA is an expression on rip: rsp+8 before its
 * push, rsp+16 after. */
static void check_plt(struct fpi_modules *mods)
{
	static uint64_t stack[64];
	struct fake_mem fm = { 0xc000200000ull, (unsigned char *)stack, sizeof(stack) };
	struct fpi_mem mem = { fake_read, &fm };
	uint64_t plt = self_plt(), rsp = fm.base + 16 * 8;
	struct fpi_regs regs, out = { .fs_base = 0 };  /* printed even when a step fails */
	char why[256];
	int r;

	if (!plt) {
		printf("  PLT: skipped (no .plt)\n");
		return;
	}
	for (size_t i = 0; i < 64; i++)
		stack[i] = 0x1000000 + fm.base + i * 8;
	memset(&regs, 0, sizeof(regs));
	regs.r[FPI_REG_RSP] = rsp;
	regs.r[FPI_REG_RIP] = plt + 16;  /* the first entry after PLT0 */
	r = fpi_cfi_step(mods, &mem, &regs, true, &out, why, sizeof(why));
	CHECK(r == 0, "step at a PLT entry: %d %s", r, why);
	CHECK_EQ(out.r[FPI_REG_RSP], rsp + 8, "PLT entry before its push: CFA = rsp+8");
	CHECK_EQ(out.r[FPI_REG_RIP], stack[16], "PLT: return address at [rsp]");
	regs.r[FPI_REG_RIP] = plt + 16 + 15;
	r = fpi_cfi_step(mods, &mem, &regs, true, &out, why, sizeof(why));
	CHECK(r == 0, "step at a PLT entry's jmp: %d %s", r, why);
	CHECK_EQ(out.r[FPI_REG_RSP], rsp + 16, "PLT entry after its push: CFA = rsp+16");
	CHECK_EQ(out.r[FPI_REG_RIP], stack[17], "PLT: return address at [rsp+8]");
}

static void regs_from_context(const ucontext_t *uc, struct fpi_regs *regs)
{
	static const int map[FPI_REG_RIP + 1] = {
		[FPI_REG_RAX] = REG_RAX, [FPI_REG_RDX] = REG_RDX, [FPI_REG_RCX] = REG_RCX,
		[FPI_REG_RBX] = REG_RBX, [FPI_REG_RSI] = REG_RSI, [FPI_REG_RDI] = REG_RDI,
		[FPI_REG_RBP] = REG_RBP, [FPI_REG_RSP] = REG_RSP, [FPI_REG_R8] = REG_R8,
		[FPI_REG_R9] = REG_R9, [FPI_REG_R10] = REG_R10, [FPI_REG_R11] = REG_R11,
		[FPI_REG_R12] = REG_R12, [FPI_REG_R13] = REG_R13, [FPI_REG_R14] = REG_R14,
		[FPI_REG_R15] = REG_R15, [FPI_REG_RIP] = REG_RIP,
	};

	memset(regs, 0, sizeof(*regs));
	for (int i = 0; i <= FPI_REG_RIP; i++)
		regs->r[i] = uc->uc_mcontext.gregs[map[i]];
}

/* What the walk inside the handler saw; checked outside it. */
static struct {
	struct fpi_modules *mods;
	bool ran, saw_signal, after_ok, saw_self, outermost;
} sigwalk;

/* Runs inside the handler: the signal frame only exists until it returns.
 * (Not async-signal-safe, but the signal is raise()d by the same code.) */
static __attribute__((noinline)) void walk(struct fpi_regs regs, const struct fpi_regs *interrupted)
{
	struct fpi_mem mem = { self_read, NULL };
	bool exact = true;

	sigwalk.ran = true;
	for (int depth = 0; depth < 64; depth++) {
		uint64_t pc = regs.r[FPI_REG_RIP];
		const struct fpi_symbol *s;
		struct fpi_cfi_info info;
		struct fpi_regs next;
		char why[256];
		int r;

		r = fpi_cfi_step_info(sigwalk.mods, &mem, &regs, exact, &next, &info, why, sizeof(why));
		/* A signal trampoline's pc is a return address by position
		 * only: glibc puts a nop before __restore_rt so that pc - 1
		 * finds its FDE, but pc - 1 is outside its symbol. */
		s = fpi_symbolize(sigwalk.mods, exact || info.signal_frame ? pc : pc - 1);
		printf("  #%d 0x%" PRIx64 " sp 0x%" PRIx64 " %s %s:%d [%s]%s\n", depth, pc,
		       regs.r[FPI_REG_RSP], s->function ? s->function : "?", s->file ? s->file : "?",
		       s->line, s->module ? s->module : "?", info.signal_frame ? " (signal frame)" : "");
		sigwalk.saw_self |= str_eq(s->function, "check_signal_frame");
		if (r == 1) {
			sigwalk.outermost = true;
			break;
		}
		if (r < 0) {
			printf("  step: %s\n", why);
			break;
		}
		if (info.signal_frame) {
			sigwalk.saw_signal = true;
			sigwalk.after_ok = next.r[FPI_REG_RIP] == interrupted->r[FPI_REG_RIP] &&
					   next.r[FPI_REG_RSP] == interrupted->r[FPI_REG_RSP] &&
					   next.r[FPI_REG_RBX] == interrupted->r[FPI_REG_RBX] &&
					   next.r[FPI_REG_RAX] == interrupted->r[FPI_REG_RAX] &&
					   next.r[FPI_REG_R12] == interrupted->r[FPI_REG_R12];
		}
		/* Past a signal frame the pc is where the signal struck, not a
		 * return address. */
		exact = info.signal_frame;
		regs = next;
	}
}

static void sig_handler(int sig, siginfo_t *si, void *uc)
{
	struct fpi_regs regs, interrupted;
	ucontext_t here;

	(void)sig;
	(void)si;
	getcontext(&here);
	regs_from_context(&here, &regs);
	regs_from_context(uc, &interrupted);
	printf("  interrupted at 0x%" PRIx64 " sp 0x%" PRIx64 "\n", interrupted.r[FPI_REG_RIP],
	       interrupted.r[FPI_REG_RSP]);
	walk(regs, &interrupted);
}

/* Unwind this process from inside a signal handler, through __restore_rt
 * (CFA and every register by DW_CFA_expression), back to here and on to
 * the outermost frame. */
static __attribute__((noinline)) void check_signal_frame(struct fpi_modules *mods)
{
	struct sigaction sa = { .sa_sigaction = sig_handler, .sa_flags = SA_SIGINFO };

	sigwalk.mods = mods;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	raise(SIGUSR1);
	signal(SIGUSR1, SIG_DFL);
	CHECK(sigwalk.ran, "signal handler ran");
	CHECK(sigwalk.saw_signal, "a signal frame (__restore_rt)");
	CHECK(sigwalk.after_ok, "registers restored from the signal frame are the interrupted ones");
	CHECK(sigwalk.saw_self, "unwound back into check_signal_frame");
	CHECK(sigwalk.outermost, "unwound to the outermost frame");
}

static void check_self(void)
{
	struct fpi_mapping maps[256];
	struct fpi_modules *mods;
	size_t nmaps;

	mods = self_modules(maps, &nmaps);
	if (mods) {
		/* A PIE (or not) placed by its mappings, as this process sees it. */
		CHECK_EQ(fpi_modules_lookup(mods, "check_self", NULL), (uintptr_t)check_self, "bias of this executable");
		CHECK_EQ(fpi_modules_lookup(mods, "getcontext", NULL), (uintptr_t)getcontext, "bias of libc");
		{
			/* Named by its path, not "exe" after /proc/self/exe. */
			char self[4096];
			ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
			const struct fpi_symbol *s = fpi_symbolize(mods, (uintptr_t)check_self);

			self[n > 0 ? n : 0] = '\0';
			CHECK(str_eq(s->module, strrchr(self, '/') ? strrchr(self, '/') + 1 : self),
			      "module %s", s->module ? s->module : "NULL");
			CHECK(str_eq(s->function, "check_self"), "function %s", s->function ? s->function : "NULL");
		}
		check_plt(mods);
		check_signal_frame(mods);
	}
	fpi_modules_destroy(mods);
	for (size_t i = 0; i < nmaps; i++)
		free(maps[i].path);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s GO-BINARY\n", argv[0]);
		return 2;
	}
	check_go(argv[1]);
	check_mapped(argv[1]);
	check_live_c();
	check_self();
	return unit_done("unit_cfi");
}
