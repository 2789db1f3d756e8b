/* Replays fuzz inputs without libFuzzer: each FILE is read and handed to
 * LLVMFuzzerTestOneInput of the target linked in with it (tests/fuzz_core.c,
 * compiled as it is for libFuzzer), after LLVMFuzzerInitialize, as libFuzzer
 * runs a corpus. A crash or a sanitizer report is the failure; so
 * tests/run-fuzz-replay.sh runs the seeds of tests/fuzz/core one per process.
 *
 *   fuzz_replay FILE...
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int read_whole(const char *path, uint8_t **ret, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *p = NULL;
	size_t n = 0, cap = 0;

	if (!f)
		return -1;
	for (;;) {
		if (n == cap) {
			uint8_t *q = realloc(p, cap = cap ? 2 * cap : 65536);

			if (!q) {
				free(p);
				fclose(f);
				return -1;
			}
			p = q;
		}
		size_t got = fread(p + n, 1, cap - n, f);

		n += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		free(p);
		fclose(f);
		return -1;
	}
	fclose(f);
	*ret = p;
	*len = n;
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: fuzz_replay FILE...\n");
		return 2;
	}
	LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++) {
		uint8_t *data;
		size_t len;

		if (read_whole(argv[i], &data, &len) != 0) {
			perror(argv[i]);
			return 2;
		}
		LLVMFuzzerTestOneInput(data, len);
		free(data);
		printf("%s: %zu bytes: done\n", argv[i], len);
	}
	return 0;
}
