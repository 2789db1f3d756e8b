/* SPDX-License-Identifier: GPL-3.0-or-later */
/* symdump EXE: for each hex pc on stdin, the frames fpinspect's symbolizer
 * gives it, innermost first: "pc<TAB>function|file|line<TAB>...". The pc is
 * looked up as given (pass a return address minus one). For run-oracle.sh,
 * which holds it against the Go runtime's own pclntab. */
#include <stdio.h>
#include <stdlib.h>

#include "error.h"
#include "unwind.h"

int main(int argc, char **argv)
{
	struct fpi_modules *mods;
	struct fpi_error *err;
	char buf[64];

	if (argc != 2) {
		fprintf(stderr, "usage: symdump EXE < pcs\n");
		return 2;
	}
	err = fpi_modules_create(NULL, 0, argv[1], NULL, 0, &mods);
	if (err) {
		fprintf(stderr, "symdump: %s\n", err->message);
		fpi_error_destroy(err);
		return 2;
	}
	while (fgets(buf, sizeof(buf), stdin)) {
		unsigned long long pc = strtoull(buf, NULL, 16);
		const struct fpi_symbol *s = fpi_symbolize(mods, pc);

		printf("%llx", pc);
		for (size_t i = 0; i < s->ninlined; i++)
			printf("\t%s|%s|%d", s->inlined[i].function ? s->inlined[i].function : "?",
			       s->inlined[i].file ? s->inlined[i].file : "?", s->inlined[i].line);
		printf("\n");
	}
	fpi_modules_destroy(mods);
	return 0;
}
