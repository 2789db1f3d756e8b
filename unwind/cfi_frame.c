/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A module's .debug_frame CFI without the module's DWARF.
 *
 * dwfl_module_dwarf_cfi goes through dwfl_module_getdwarf, and libdw's
 * dwarf_begin_elf decompresses every compressed .debug_* section when it
 * opens a file. Go compresses them all, so on a large Go binary (Caddy:
 * 82 MB) that is most of the time of a check, while the CFI walker needs
 * only .debug_frame. So .debug_frame is copied, compressed as it is, into a
 * small ELF image in memory that has nothing else (ELF header, .shstrtab,
 * the section), and libdw opens that: only .debug_frame gets decompressed.
 * The caller falls back to dwfl_module_dwarf_cfi when this fails. */
#include <endian.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>

#include "modules_internal.h"

/* .debug_frame is a few percent of a binary's size; this bounds what a
 * hostile section header can make us copy (libelf has already checked that
 * the section lies inside the file). */
#define FRAME_MAX ((size_t)1 << 30)

struct fpi_cfi_frame {
	char *image;   /* the in-memory ELF file, owned */
	Elf *elf;      /* over image */
	Dwarf *dwarf;  /* over elf: .debug_frame only */
	Dwarf_CFI *cfi;  /* owned by dwarf */
};

/* Either name: Go's linker compressed GNU style (".zdebug_frame") at
 * first and uses SHF_COMPRESSED now; dwarf_begin_elf decompresses both,
 * and a plain .debug_frame (C, or Go with -ldflags=-compressdwarf=false)
 * it takes as it is. */
static Elf_Scn *find_frame_scn(Elf *elf, size_t shstrndx, const char **name, GElf_Shdr *shdr)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(elf, scn))) {
		const char *n;

		if (!gelf_getshdr(scn, shdr) || shdr->sh_type != SHT_PROGBITS)
			continue;
		n = elf_strptr(elf, shstrndx, shdr->sh_name);
		if (n && (strcmp(n, ".debug_frame") == 0 || strcmp(n, ".zdebug_frame") == 0)) {
			*name = n;
			return scn;
		}
	}
	return NULL;
}

void fpi_cfi_frame_destroy(struct fpi_cfi_frame *f)
{
	if (!f)
		return;
	if (f->dwarf)
		dwarf_end(f->dwarf);
	if (f->elf)
		elf_end(f->elf);
	free(f->image);
	free(f);
}

static size_t align8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

struct fpi_error *fpi_cfi_frame_open(Elf *elf, struct fpi_cfi_frame **ret)
{
	static const char shstrtab_head[] = "\0.shstrtab";  /* name offset 1 */
	struct fpi_cfi_frame *f;
	const unsigned char *ident;
	const char *name;
	Elf64_Ehdr *eh;
	Elf64_Shdr *sh;
	GElf_Ehdr ehdr;
	GElf_Shdr shdr;
	Elf_Data *raw;
	Elf_Scn *scn;
	size_t shstrndx, names_size, names_off, data_off, shdr_off, size;

	*ret = NULL;
	/* The image is written as native Elf64 structures; other files keep
	 * the slow path (Go's 64-bit targets are all little-endian, as the
	 * hosts fpinspect runs on). */
	ident = (const unsigned char *)elf_getident(elf, NULL);
	if (!ident || !gelf_getehdr(elf, &ehdr))
		return fpi_error_create(FPI_ERR_FORMAT, "cfi_frame: no ELF header: %s", elf_errmsg(-1));
	if (ident[EI_CLASS] != ELFCLASS64 ||
	    ident[EI_DATA] != (__BYTE_ORDER == __LITTLE_ENDIAN ? ELFDATA2LSB : ELFDATA2MSB))
		return fpi_error_create(FPI_ERR_FORMAT, "cfi_frame: not a native-order 64-bit ELF file");
	/* An ET_REL file's .debug_frame needs relocating, which libdwfl does
	 * and this does not. */
	if (ehdr.e_type != ET_EXEC && ehdr.e_type != ET_DYN)
		return fpi_error_create(FPI_ERR_FORMAT, "cfi_frame: ELF type %u", ehdr.e_type);
	if (elf_getshdrstrndx(elf, &shstrndx) != 0)
		return fpi_error_create(FPI_ERR_FORMAT, "cfi_frame: elf_getshdrstrndx: %s", elf_errmsg(-1));
	scn = find_frame_scn(elf, shstrndx, &name, &shdr);
	if (!scn)
		return fpi_error_create(FPI_ERR_NOTFOUND, "cfi_frame: no .debug_frame");
	/* The bytes as in the file: still compressed, unless libdw has
	 * decompressed them in this Elf already, and then the section header
	 * read just now says so too. */
	raw = elf_rawdata(scn, NULL);
	if (!raw || !raw->d_buf || raw->d_size == 0)
		return fpi_error_create(FPI_ERR_FORMAT, "cfi_frame: %s: elf_rawdata: %s", name, elf_errmsg(-1));
	if (raw->d_size > FRAME_MAX)
		return fpi_error_create(FPI_ERR_FORMAT, "cfi_frame: %s: %zu bytes", name, raw->d_size);

	/* Layout: Ehdr, .shstrtab, the section (8-aligned, for its
	 * Elf64_Chdr), three section headers (null, .shstrtab, the section). */
	names_off = sizeof(Elf64_Ehdr);
	names_size = sizeof(shstrtab_head) + strlen(name) + 1;
	data_off = align8(names_off + names_size);
	shdr_off = align8(data_off + raw->d_size);
	size = shdr_off + 3 * sizeof(Elf64_Shdr);

	f = calloc(1, sizeof(*f));
	if (!f)
		return &fpi_enomem;
	f->image = calloc(1, size);
	if (!f->image) {
		free(f);
		return &fpi_enomem;
	}
	eh = (Elf64_Ehdr *)f->image;
	memcpy(eh->e_ident, ident, EI_NIDENT);
	eh->e_type = ehdr.e_type;
	/* libdw picks its backend (register numbering, the ABI's initial CFI
	 * rules) by e_machine, so it must be the file's. */
	eh->e_machine = ehdr.e_machine;
	eh->e_version = EV_CURRENT;
	eh->e_flags = ehdr.e_flags;
	eh->e_ehsize = sizeof(Elf64_Ehdr);
	eh->e_shoff = shdr_off;
	eh->e_shentsize = sizeof(Elf64_Shdr);
	eh->e_shnum = 3;
	eh->e_shstrndx = 1;

	memcpy(f->image + names_off, shstrtab_head, sizeof(shstrtab_head));
	strcpy(f->image + names_off + sizeof(shstrtab_head), name);
	memcpy(f->image + data_off, raw->d_buf, raw->d_size);

	sh = (Elf64_Shdr *)(f->image + shdr_off);
	sh[1] = (Elf64_Shdr){
		.sh_name = 1, .sh_type = SHT_STRTAB,
		.sh_offset = names_off, .sh_size = names_size, .sh_addralign = 1,
	};
	sh[2] = (Elf64_Shdr){
		.sh_name = sizeof(shstrtab_head), .sh_type = SHT_PROGBITS,
		/* SHF_COMPRESSED tells libdw to decompress it */
		.sh_flags = shdr.sh_flags & SHF_COMPRESSED,
		.sh_offset = data_off, .sh_size = raw->d_size,
		.sh_addralign = shdr.sh_addralign ? shdr.sh_addralign : 1,
	};

	f->elf = elf_memory(f->image, size);
	if (!f->elf) {
		fpi_cfi_frame_destroy(f);
		return fpi_error_create(FPI_ERR_OTHER, "cfi_frame: elf_memory: %s", elf_errmsg(-1));
	}
	f->dwarf = dwarf_begin_elf(f->elf, DWARF_C_READ, NULL);
	if (!f->dwarf) {
		fpi_cfi_frame_destroy(f);
		return fpi_error_create(FPI_ERR_FORMAT, "cfi_frame: dwarf_begin_elf: %s", dwarf_errmsg(-1));
	}
	f->cfi = dwarf_getcfi(f->dwarf);
	if (!f->cfi) {
		fpi_cfi_frame_destroy(f);
		return fpi_error_create(FPI_ERR_FORMAT, "cfi_frame: dwarf_getcfi: %s", dwarf_errmsg(-1));
	}
	*ret = f;
	return NULL;
}

Dwarf_CFI *fpi_cfi_frame_cfi(const struct fpi_cfi_frame *f)
{
	return f->cfi;
}
