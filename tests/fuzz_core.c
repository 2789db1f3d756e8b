/* libFuzzer target for the core-file parser (inspector/target_core.c): the
 * input is a core file. Each input is opened twice, once finding the
 * executable from the core and once with an executable given, and every
 * target that opens is read at the addresses its threads and mappings name.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Iinspector \
 *     -o /tmp/fuzz_core tests/fuzz_core.c inspector/target_core.c \
 *     inspector/target.c inspector/error.c $(pkg-config --cflags --libs libelf)
 *   /tmp/fuzz_core -max_total_time=600 /tmp/corpus tests/fuzz/core
 *
 * make check builds this file as it is with tests/fuzz_replay.c's main()
 * instead of libFuzzer's and replays every seed (tests/run-fuzz-replay.sh).
 *
 * Seeds in tests/fuzz/core: synthetic cores (unit_core --write-seeds) and
 * real cores without their memory (unit_core --shrink). The synthetic seeds
 * name /tmp/fpinspect-fuzz-exe as their executable; it is written here. */
#define UNIT_CORE_NO_MAIN
#include "unit_core.c"

#include <sys/mman.h>

#define FUZZ_EXE "/tmp/fpinspect-fuzz-exe"

static char core_path[64];
static int core_fd = -1;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct buf exe = { 0 };

	(void)argc;
	(void)argv;
	(void)build_core;
	(void)build_stress_core;
	build_exe(&exe, 0x11);
	if (!write_file(FUZZ_EXE, exe.p, exe.len))
		abort();
	free(exe.p);
	core_fd = memfd_create("fuzz-core", MFD_CLOEXEC);
	if (core_fd < 0)
		abort();
	snprintf(core_path, sizeof(core_path), "/proc/self/fd/%d", core_fd);
	return 0;
}

static void read_around(struct fpi_target *t, uint64_t addr)
{
	unsigned char buf[96];
	struct fpi_read rs[4] = {
		{ addr, buf, 8, false },
		{ addr - 8, buf + 8, 16, false },
		{ addr, buf + 24, 64, false },
		{ addr + 4096 - 4, buf + 88, 8, false },
	};
	uint64_t v;

	fpi_error_destroy(fpi_target_readv(t, rs, 4));
	fpi_target_read_u64(t, addr, &v);
}

static void exercise(const char *exe)
{
	struct fpi_target *t = NULL;
	struct fpi_error *err = fpi_target_open_core(core_path, exe, &t);

	if (err) {
		/* Every refusal carries a message. */
		if (!err->message || !err->message[0])
			abort();
		fpi_error_destroy(err);
		return;
	}
	for (size_t i = 0; i < t->nthreads && i < 16; i++) {
		read_around(t, t->threads[i].regs.r[FPI_REG_RSP]);
		read_around(t, t->threads[i].regs.r[FPI_REG_RIP]);
		read_around(t, t->threads[i].regs.fs_base);
	}
	for (size_t i = 0; i < t->nmaps && i < 16; i++) {
		if (!t->maps[i].path || t->maps[i].start >= t->maps[i].end)
			abort();
		read_around(t, t->maps[i].start);
		read_around(t, t->maps[i].end);
	}
	read_around(t, SEG_A);
	read_around(t, SEG_B);
	read_around(t, EXE_VADDR + 0x1000);
	fpi_target_destroy(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (ftruncate(core_fd, 0) != 0 || pwrite(core_fd, data, size, 0) != (ssize_t)size)
		abort();
	exercise(NULL);
	exercise(FUZZ_EXE);
	return 0;
}
