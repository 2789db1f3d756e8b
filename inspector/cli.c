/* SPDX-License-Identifier: GPL-3.0-or-later */
/* fpinspect: the command line and the readline prompt, a thin user of
 * libfpinspect. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <readline/history.h>
#include <readline/readline.h>

#include "fpinspect.h"

#ifndef FPI_DATADIR
#define FPI_DATADIR "/usr/local/share/fpinspect"
#endif
#ifndef FPI_SRCDIR
#define FPI_SRCDIR "."
#endif

static const char usage_text[] =
	"usage: fpinspect attach PID [OPTIONS] [COMMAND [ARG...]]\n"
	"       fpinspect core CORE [EXE] [OPTIONS] [COMMAND [ARG...]]\n"
	"       fpinspect layout --from BINARY [-o FILE]\n"
	"       fpinspect demo\n"
	"       fpinspect help | --help | --version\n"
	"\n"
	"Inspect a running (attach) or crashed (core) Go program from the outside: threads with their\n"
	"M and cgo state, goroutines with status and wait reason, backtraces by frame pointers and by\n"
	"DWARF CFI, and checks of the frame-pointer invariants the Go runtime's tracer relies on.\n"
	"Without COMMAND an interactive prompt opens (the process stays stopped until you quit).\n"
	"\n"
	"commands:\n"
	"  summary                               executable, Go version, threads, Ms, goroutines by status, pause\n"
	"  threads                               every OS thread: M, stack, curg, cgo state\n"
	"  goroutines [--group] [--filter REGEX] [--status S]\n"
	"                                        every goroutine that is not dead: wait, locked, parent,\n"
	"                                        user location, labels; --group: identical stacks folded\n"
	"  bt TARGET [--unwinder fp|dwarf|go|both|all]\n"
	"                                        backtrace: TARGET is a TID, gGOID (g42) or all\n"
	"  check [--stacks]                      every check; exit status 1 on an error finding; --stacks: then\n"
	"                                        both walks of every thread/goroutine with an error or warning\n"
	"  dump [--system] [--group] [--filter REGEX] [--status S]\n"
	"                                        every goroutine in the Go runtime's traceback format;\n"
	"                                        --group: identical stacks folded, largest first\n"
	"  profile -o FILE                       goroutine profile: FILE.pb.gz (pprof), .folded, .svg (flame graph)\n"
	"  help [COMMAND]\n"
	"\n"
	"options:\n"
	"  --json    one JSON document instead of text (documented in the README)\n"
	"  --stats   print to stderr how long the target was stopped, load time and peak memory\n"
	"  --debug-file FILE\n"
	"            the DWARF of a binary built without it, kept apart (objcopy --only-keep-debug)\n"
	"  --layout FILE\n"
	"            the runtime's layout for a binary without DWARF (made by fpinspect layout)\n"
	"\n"
	"Binaries built with -ldflags=\"-s -w\" (no DWARF, no symbol table) are read from their pclntab and\n"
	"a layout of their Go release: a debug file (--debug-file, /usr/lib/debug/.build-id/, .gnu_debuglink),\n"
	"else a layout file from $XDG_CACHE_HOME/fpinspect/ or the installed ones. fpinspect layout --from\n"
	"BINARY makes one from any binary that toolchain built with DWARF (-o FILE: there, not in the cache).\n"
	"\n"
	"exit status: 0 ok; 1 a check found problems; 2 could not inspect or bad usage\n";

/* The session being inspected, for the signal handlers: set before its
 * threads are stopped, cleared before it is destroyed. */
static struct fpi_session *volatile live;

/* SIGINT, SIGTERM, SIGHUP (and SIGPIPE, silently) end fpinspect with exit
 * status 2, never by the signal, letting a stopped process go first: a
 * process left stopped under ptrace by a killed fpinspect would be a far
 * worse outcome than a lost inspection. Async-signal-safe throughout. */
static void on_signal(int sig)
{
	static const char msg[] = "fpinspect: interrupted: detached from the target, which goes on running\n";
	static const char msg_none[] = "fpinspect: interrupted\n";
	int detached = fpi_session_detach_async(live);

	if (sig != SIGPIPE &&
	    (detached ? write(2, msg, sizeof(msg) - 1) : write(2, msg_none, sizeof(msg_none) - 1)) < 0) {
		/* nothing to do */
	}
	_exit(2);
}

static void install_signal_handlers(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGPIPE, &sa, NULL);
}

/* An error from the library: its message, released. Exit status 2. */
static int report(struct fpi_error *err, const char *what)
{
	fprintf(stderr, "fpinspect: %s\n", err ? fpi_error_message(err) : what);
	fpi_error_free(err);
	return 2;
}

/* Attach in the library's two steps, the handlers told the session before
 * anything is stopped. */
static int attach(int pid, int argc, char **argv, const struct fpi_layout_options *lo, struct fpi_session **ret)
{
	struct fpi_session *s;
	struct fpi_error *err = NULL;

	if (fpi_session_open_live_opts(pid, argc, argv, lo, &s, &err) != 0)
		return report(err, "cannot attach");
	live = s;
	if (fpi_session_stop(s, &err) != 0) {
		live = NULL;
		fpi_session_destroy(s);
		return report(err, "cannot attach");
	}
	*ret = s;
	return 0;
}

static void destroy(struct fpi_session *s)
{
	live = NULL;
	fpi_session_destroy(s);
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "fpinspect: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nrun 'fpinspect --help' for usage\n");
	return 2;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct opts {
	int json, stats;
	struct fpi_layout_options layout;
	int argc;      /* positional arguments after the subcommand */
	char **argv;
};

/* "--name V" or "--name=V" at argv[*i]: the value, *i moved past it */
static const char *value_opt(int argc, char **argv, int *i, const char *name, int *bad)
{
	size_t n = strlen(name);

	if (strncmp(argv[*i], name, n) != 0)
		return NULL;
	if (argv[*i][n] == '=')
		return argv[*i] + n + 1;
	if (argv[*i][n] != '\0')
		return NULL;
	if (*i + 1 >= argc) {
		*bad = 1;
		return NULL;
	}
	return argv[++*i];
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	int bad = 0;

	memset(o, 0, sizeof(*o));
	o->layout.size = sizeof(o->layout);
	/* the positional arguments, compacted in place: nothing to free */
	o->argv = argv;
	for (int i = 0; i < argc; i++) {
		const char *v;

		if (!strcmp(argv[i], "--json"))
			o->json = 1;
		else if (!strcmp(argv[i], "--stats"))
			o->stats = 1;
		else if ((v = value_opt(argc, argv, &i, "--debug-file", &bad)))
			o->layout.debug_file = v;
		else if ((v = value_opt(argc, argv, &i, "--layout", &bad)))
			o->layout.layout_file = v;
		else if (bad)
			return usage_error("%s needs a FILE", argv[i]);
		else
			o->argv[o->argc++] = argv[i];
	}
	o->argv[o->argc] = NULL;
	return 0;
}

/* The command after the target, looked at before attaching: help needs
 * no process stopped, and a bad option is better refused before it is.
 * -1: go on; otherwise the exit status. */
static int command_first(int argc, char **argv, int json)
{
	struct fpi_error *err = NULL;
	int st;

	if (argc < 1)
		return -1;
	st = fpi_command_check(argc, argv, &err);
	if (st == 2) {
		usage_error("%s", fpi_error_message(err));
		fpi_error_free(err);
		return 2;
	}
	if (st == 1)
		return fpi_session_run(NULL, argc, argv, json, stdout, NULL) == 0 ? 0 : 2;
	return -1;
}

static int is_command(const char *s)
{
	for (const char *const *n = fpi_command_names(); *n; n++)
		if (!strcmp(*n, s))
			return 1;
	return 0;
}

/* ---- the prompt ---- */

static char *complete_word(const char *text, int state)
{
	static const char *const extra[] = { "all", "--unwinder", "fp", "dwarf", "go", "both", "--json", NULL };
	static int i, phase;
	const char *const *names = fpi_command_names();
	size_t len = strlen(text);

	if (!state)
		i = 0, phase = 0;
	for (;;) {
		const char *const *list = phase == 0 ? names : extra;
		const char *w = list[i];

		if (!w) {
			if (phase == 1)
				return NULL;
			phase = 1;
			i = 0;
			continue;
		}
		i++;
		if (!strncmp(w, text, len))
			return strdup(w);
	}
}

static char **complete(const char *text, int start, int end)
{
	rl_attempted_completion_over = 1;
	return rl_completion_matches(text, complete_word);
}

static int split(char *line, char **argv, int max)
{
	int n = 0;

	for (char *save = NULL, *tok = strtok_r(line, " \t", &save); tok && n < max; tok = strtok_r(NULL, " \t", &save))
		argv[n++] = tok;
	return n;
}

static int run_one(struct fpi_session *s, int argc, char **argv, int json)
{
	struct fpi_error *err = NULL;
	int st = fpi_session_run(s, argc, argv, json, stdout, &err);

	return st == 2 ? report(err, "failed") : st;
}

static int prompt(struct fpi_session *s, const char *what)
{
	char histfile[4096] = "";
	const char *home = getenv("HOME");
	int last = 0;

	if (home)
		snprintf(histfile, sizeof(histfile), "%s/.fpinspect_history", home);
	rl_readline_name = "fpinspect";
	/* our SIGINT/SIGTERM/SIGHUP handlers detach the target; readline must
	 * not take them over */
	rl_catch_signals = 0;
	rl_attempted_completion_function = complete;
	using_history();
	if (*histfile)
		read_history(histfile);
	printf("%s. Type help for the commands, quit to leave%s.\n", what,
	       fpi_session_pause_seconds(s) == 0 && strstr(what, "process") ? " (the process goes on then)" : "");
	for (;;) {
		char *line = readline("(fpinspect) ");
		char *argv[32], *copy;
		int argc, json = 0, n = 0;

		if (!line) {
			putchar('\n');
			break;
		}
		if (*line)
			add_history(line);
		copy = strdup(line);
		argc = split(copy, argv, 32);
		for (int i = 0; i < argc; i++) {
			if (!strcmp(argv[i], "--json"))
				json = 1;
			else
				argv[n++] = argv[i];
		}
		argc = n;
		if (argc == 0) {
			free(copy);
			free(line);
			continue;
		}
		if (!strcmp(argv[0], "quit") || !strcmp(argv[0], "exit") || !strcmp(argv[0], "q")) {
			free(copy);
			free(line);
			break;
		}
		last = run_one(s, argc, argv, json);
		free(copy);
		free(line);
	}
	if (*histfile)
		write_history(histfile);
	return last == 1 ? 1 : 0;
}

static void print_stats(struct fpi_session *s, double t0)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	fprintf(stderr, "stats: pause %.3f ms, total %.3f ms, peak RSS %.1f MB\n",
		fpi_session_pause_seconds(s) * 1e3, (now() - t0) * 1e3, ru.ru_maxrss / 1024.0);
}

static int inspect(struct fpi_session *s, struct opts *o, int first_cmd, const char *what, double t0)
{
	int st;

	if (first_cmd >= o->argc) {
		char *quit[] = { "quit" };

		st = prompt(s, what);
		/* nothing runs after quit: let go without copying anything */
		fpi_session_release_for(s, 1, quit);
	} else {
		/* copy what the command needs, let the process go, then compute */
		fpi_session_release_for(s, o->argc - first_cmd, o->argv + first_cmd);
		st = run_one(s, o->argc - first_cmd, o->argv + first_cmd, o->json);
	}
	if (o->stats)
		print_stats(s, t0);
	destroy(s);
	return st;
}

static int cmd_attach(int argc, char **argv)
{
	struct opts o;
	struct fpi_session *s;
	char *end, what[128];
	double t0 = now();
	long pid;
	int st;

	if (parse_opts(argc, argv, &o))
		return 2;
	if (o.argc < 1)
		return usage_error("attach: missing PID (%s)", "fpinspect attach PID [COMMAND]");
	errno = 0;
	pid = strtol(o.argv[0], &end, 10);
	if (errno || *end || pid <= 0 || pid > 0x7fffffff)
		return usage_error("attach: '%s' is not a process id", o.argv[0]);
	if (o.argc > 1 && !is_command(o.argv[1]))
		return usage_error("unknown command '%s' (commands: summary threads goroutines bt check dump profile help)", o.argv[1]);
	if ((st = command_first(o.argc - 1, o.argv + 1, o.json)) >= 0)
		return st;
	if (attach((int)pid, o.argc - 1, o.argv + 1, &o.layout, &s) != 0)
		return 2;
	snprintf(what, sizeof(what), "Attached to process %ld; it stays stopped while this prompt is open", pid);
	return inspect(s, &o, 1, what, t0);
}

static int cmd_core(int argc, char **argv)
{
	struct opts o;
	struct fpi_session *s;
	struct fpi_error *err = NULL;
	char what[4200];
	const char *exe = NULL;
	int first = 1, st;
	double t0 = now();

	if (parse_opts(argc, argv, &o))
		return 2;
	if (o.argc < 1)
		return usage_error("core: missing CORE (%s)", "fpinspect core CORE [EXE] [COMMAND]");
	if (o.argc > 1 && !is_command(o.argv[1])) {
		exe = o.argv[1];
		first = 2;
	}
	if (o.argc > first && !is_command(o.argv[first]))
		return usage_error("unknown command '%s' (commands: summary threads goroutines bt check dump profile help)", o.argv[first]);
	if ((st = command_first(o.argc - first, o.argv + first, o.json)) >= 0)
		return st;
	if (fpi_session_open_core_opts(o.argv[0], exe, &o.layout, &s, &err) != 0)
		return report(err, "cannot open core");
	snprintf(what, sizeof(what), "Core file %s", o.argv[0]);
	return inspect(s, &o, first, what, t0);
}

/* ---- layout --from BINARY [-o FILE] ---- */

static int cmd_layout(int argc, char **argv)
{
	const char *from = NULL, *out = NULL, *v;
	struct fpi_error *err = NULL;
	char *path = NULL;
	int bad = 0;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf("usage: fpinspect layout --from BINARY [-o FILE]\n\n"
			       "Write the Go runtime's layout (the g, m and schedt fields, statuses, wait reasons) of\n"
			       "BINARY's DWARF to FILE, or to $XDG_CACHE_HOME/fpinspect/goVERSION-GOARCH.layout, where\n"
			       "fpinspect looks for it when a binary of the same Go release has no DWARF\n"
			       "(-ldflags=\"-s -w\"). BINARY: any program that toolchain built without -w/-s.\n");
			return 0;
		}
		if ((v = value_opt(argc, argv, &i, "--from", &bad)))
			from = v;
		else if ((v = value_opt(argc, argv, &i, "-o", &bad)))
			out = v;
		else if (bad)
			return usage_error("layout: %s needs a value", argv[i]);
		else
			return usage_error("layout: unexpected '%s' (fpinspect layout --from BINARY [-o FILE])", argv[i]);
	}
	if (!from)
		return usage_error("layout: missing --from BINARY (%s)", "fpinspect layout --from BINARY [-o FILE]");
	if (fpi_layout_make(from, out, &path, &err) != 0)
		return report(err, "cannot make the layout");
	printf("%s\n", path);
	fpi_free(path);
	return 0;
}

/* ---- demo: build the bundled Go program, run it, inspect it, let it go ---- */

static int find_demo_dir(char *buf, size_t len)
{
	const char *cands[] = { FPI_SRCDIR "/tests/targets/demo", FPI_DATADIR "/demo" };
	struct stat st;

	for (size_t i = 0; i < 2; i++) {
		snprintf(buf, len, "%s/main.go", cands[i]);
		if (stat(buf, &st) == 0) {
			snprintf(buf, len, "%s", cands[i]);
			return 0;
		}
	}
	return -1;
}

static int demo_step(struct fpi_session *s, int argc, char **argv)
{
	printf("\n$ fpinspect attach PID %s%s%s\n", argv[0], argc > 1 ? " " : "", argc > 1 ? argv[1] : "");
	fflush(stdout);
	return run_one(s, argc, argv, 0);
}

static int cmd_demo(void)
{
	char dir[4096], tmpl[] = "/tmp/fpinspect-demo.XXXXXX", cmd[8400], line[512];
	int to_child[2], from_child[2], status, st = 0;
	struct fpi_session *s;
	pid_t pid;
	FILE *in, *out;
	long worker = -1;

	if (find_demo_dir(dir, sizeof(dir)) != 0) {
		fprintf(stderr, "fpinspect: demo: cannot find the demo program (tests/targets/demo/main.go)\n");
		return 2;
	}
	if (!mkdtemp(tmpl)) {
		perror("fpinspect: demo: mkdtemp");
		return 2;
	}
	printf("Building the demo Go program (%s/main.go)...\n", dir);
	fflush(stdout);
	snprintf(cmd, sizeof(cmd), "cd '%s' && GOFLAGS=-mod=mod go build -o '%s/demo' . 2>&1", dir, tmpl);
	if (system(cmd) != 0) {
		fprintf(stderr, "fpinspect: demo: 'go build' failed: is a Go toolchain in PATH? (./setup.sh installs one)\n");
		return 2;
	}
	if (pipe(to_child) || pipe(from_child)) {
		perror("fpinspect: demo: pipe");
		return 2;
	}
	pid = fork();
	if (pid < 0) {
		perror("fpinspect: demo: fork");
		return 2;
	}
	if (pid == 0) {
		snprintf(cmd, sizeof(cmd), "%s/demo", tmpl);
		dup2(to_child[0], 0);
		dup2(from_child[1], 1);
		close(to_child[1]);
		close(from_child[0]);
		execl(cmd, cmd, (char *)NULL);
		_exit(127);
	}
	close(to_child[0]);
	close(from_child[1]);
	in = fdopen(to_child[1], "w");
	out = fdopen(from_child[0], "r");
	while (fgets(line, sizeof(line), out)) {
		long goid;
		char kind[64];

		if (sscanf(line, "G %ld %63s", &goid, kind) == 2 && worker < 0)
			worker = goid;
		if (!strncmp(line, "READY", 5))
			break;
	}
	printf("Started it as process %d. Attaching (every thread stops), copying what the commands need,\n"
	       "detaching; then the commands below run on the copy while the program goes on.\n", (int)pid);
	fflush(stdout);
	if (attach(pid, 0, NULL, NULL, &s) != 0) {
		st = 2;
	} else {
		char *a1[] = { "summary" }, *a2[] = { "threads" }, *a3[] = { "goroutines" }, *a5[] = { "check" };
		char gbuf[32], *a4[] = { "bt", gbuf };

		snprintf(gbuf, sizeof(gbuf), "g%ld", worker);
		/* copy what the commands need and let the program go first: the
		 * pause is only the reading */
		fpi_session_release(s);
		demo_step(s, 1, a1);
		demo_step(s, 1, a2);
		demo_step(s, 1, a3);
		if (worker > 0)
			demo_step(s, 2, a4);
		demo_step(s, 1, a5);
		destroy(s);
	}
	/* the program goes on: it still answers */
	fprintf(in, "ping\n");
	fflush(in);
	if (fgets(line, sizeof(line), out))
		printf("\nAfter detaching, the demo program still answers: %s", line);
	fclose(in);
	waitpid(pid, &status, 0);
	fclose(out);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpl);
	if (system(cmd) != 0) {
		/* leftover temp dir: harmless */
	}
	return st;
}

int main(int argc, char **argv)
{
	/* first of all: a SIGINT or SIGTERM from now on ends fpinspect with
	 * exit status 2 (detaching whatever it attached by then), never by
	 * the signal, whenever it comes */
	install_signal_handlers();
	if (argc < 2)
		return usage_error("missing command (%s)", "attach, core, layout, demo or help");
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		if (argc > 2 && fpi_command_help(argv[2])) {
			printf("%s\n", fpi_command_help(argv[2]));
			return 0;
		}
		fputs(usage_text, stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("fpinspect " PACKAGE_VERSION "\n");
		return 0;
	}
	if (!strcmp(argv[1], "attach"))
		return cmd_attach(argc - 2, argv + 2);
	if (!strcmp(argv[1], "core"))
		return cmd_core(argc - 2, argv + 2);
	if (!strcmp(argv[1], "demo"))
		return cmd_demo();
	if (!strcmp(argv[1], "layout"))
		return cmd_layout(argc - 2, argv + 2);
	return usage_error("unknown command '%s' (attach, core, layout, demo, help)", argv[1]);
}
