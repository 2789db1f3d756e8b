/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Temporary: globals from .symtab only (the machine-code search is coming). */
#include <fcntl.h>
#include <gelf.h>
#include <string.h>
#include <unistd.h>

#include "goglobals.h"

struct fpi_error *go_globals_find(struct go_layout *l, const char *exe, struct fpi_target *t, const char **how)
{
	int fd = open(exe, O_RDONLY | O_CLOEXEC);
	Elf *elf;
	Elf_Scn *scn = NULL;

	(void)t;
	if (fd < 0)
		return fpi_error_create(FPI_ERR_NOTGO, "cannot open executable %s: %m", exe);
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	while (elf && (scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB || !(d = elf_getdata(scn, NULL)))
			continue;
		for (size_t i = 0; i < sh.sh_size / (sh.sh_entsize ? sh.sh_entsize : 24); i++) {
			GElf_Sym sym;
			const char *n;

			if (!gelf_getsym(d, i, &sym) || !(n = elf_strptr(elf, sh.sh_link, sym.st_name)))
				continue;
			if (!strcmp(n, "runtime.allgs")) l->allgs = sym.st_value;
			else if (!strcmp(n, "runtime.allglen")) l->allglen = sym.st_value;
			else if (!strcmp(n, "runtime.allm")) l->allm = sym.st_value;
			else if (!strcmp(n, "runtime.sched")) l->sched = sym.st_value;
			else if (!strcmp(n, "runtime.maxstacksize")) l->maxstacksize_addr = sym.st_value;
		}
	}
	elf_end(elf);
	close(fd);
	if (!l->allgs || !l->allm)
		return fpi_error_create(FPI_ERR_NODWARF, "%s: runtime.%s not found (no symbol table)", exe,
					!l->allgs ? "allgs" : "allm");
	*how = "symbol table";
	l->have_globals = true;
	return NULL;
}
