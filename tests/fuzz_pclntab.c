/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target for the pclntab reader (unwind/pclntab.c): the input is
 * a 4-byte little-endian offset of go:func.* into the table, then the
 * table (.gopclntab contents) itself, go:func.* inside it as Go 1.26+ lays
 * it out. Every table that opens is asked what a stack walker asks: each
 * function by index, and at pcs around each entry its function, file:line,
 * SP delta and inlined frames.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Iinspector -Iunwind \
 *     -o /tmp/fuzz_pclntab tests/fuzz_pclntab.c unwind/pclntab.c \
 *     inspector/error.c $(pkg-config --cflags --libs libelf)
 *   /tmp/fuzz_pclntab -max_total_time=600 /tmp/corpus tests/fuzz/pclntab
 *
 * Seeds in tests/fuzz/pclntab: unit_pclntab --write-seeds (synthetic tables
 * of both formats, whole and cut inside the function table). Without
 * libFuzzer, tests/fuzz_replay_pclntab (tests/fuzz_replay.c linked with
 * this file) replays them in make check (run-fuzz-replay.sh). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pclntab.h"

#define FUZZ_ADDR 0x500000u
#define FUZZ_TEXT 0x401000u

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

static void ask(const struct fpi_pclntab *t, uint64_t pc)
{
	struct fpi_pclntab_frame fr[8];
	struct fpi_pclntab_func f;
	const char *file;
	int32_t line, sp;
	size_t n;

	if (!fpi_pclntab_find(t, pc, &f))
		return;
	if (pc < f.entry || pc >= f.end || !f.name)
		abort();
	fpi_pclntab_fileline(t, &f, pc, &file, &line);
	if (!file || strlen(file) > (1u << 30))
		abort();
	fpi_pclntab_spdelta(t, &f, pc, &sp);
	fpi_pclntab_pcdata(t, &f, 0, pc);
	n = fpi_pclntab_frames(t, &f, pc, fr, 8);
	if (n == 0 || n > FPI_PCLNTAB_MAX_INLINE + 1)
		abort();
	for (size_t i = 0; i < n && i < 8; i++)
		if (!fr[i].name || !fr[i].file || strlen(fr[i].name) + strlen(fr[i].file) > (1u << 30))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fpi_pclntab_source src = { 0 };
	struct fpi_pclntab_info info;
	struct fpi_pclntab_func f;
	struct fpi_pclntab *t;
	struct fpi_error *err;
	uint32_t gofunc_off;
	uint8_t *copy;

	if (size < 4)
		return 0;
	memcpy(&gofunc_off, data, 4);
	/* a copy of its own size, so that ASan sees every byte past the end */
	copy = malloc(size - 4 ? size - 4 : 1);
	if (!copy)
		return 0;
	memcpy(copy, data + 4, size - 4);
	src.data = copy;
	src.len = size - 4;
	src.addr = FUZZ_ADDR;
	src.text = FUZZ_TEXT;
	src.gofunc_data = copy;
	src.gofunc_len = size - 4;
	src.gofunc_addr = FUZZ_ADDR;
	src.gofunc = FUZZ_ADDR + (uint64_t)gofunc_off;
	err = fpi_pclntab_open(&src, &t);
	if (err) {
		/* every refusal says why */
		if (!err->message || !err->message[0])
			abort();
		fpi_error_destroy(err);
		free(copy);
		return 0;
	}
	fpi_pclntab_get_info(t, &info);
	for (uint64_t i = 0; i < info.nfunc && i < 256; i++) {
		if (!fpi_pclntab_func_at(t, i, &f))
			continue;
		for (uint64_t d = 0; d < 4; d++)
			ask(t, f.entry + d);
		ask(t, f.entry + (f.end - f.entry) / 2);
		ask(t, f.end - 1);
		ask(t, f.end);
	}
	ask(t, info.text - 1);
	ask(t, info.etext);
	fpi_pclntab_destroy(t);
	free(copy);
	return 0;
}
