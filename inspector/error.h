/* SPDX-License-Identifier: GPL-3.0-or-later */
/* One error type through the library: a message a user can act on.
 * Functions that can fail return struct fpi_error *, NULL on success. */
#ifndef FPI_ERROR_H
#define FPI_ERROR_H

#include <stdarg.h>

enum fpi_error_code {
	FPI_ERR_OTHER = 1,
	FPI_ERR_NOMEM,
	FPI_ERR_USAGE,     /* bad command line / bad argument */
	FPI_ERR_NOPROC,    /* no such process */
	FPI_ERR_PERM,      /* cannot trace */
	FPI_ERR_NOTGO,     /* not a Go program */
	FPI_ERR_NODWARF,   /* Go program without DWARF */
	FPI_ERR_FORMAT,    /* malformed file (core, ELF) */
	FPI_ERR_FAULT,     /* target memory not readable */
	FPI_ERR_EXITED,    /* target went away */
	FPI_ERR_NOTFOUND,  /* no such goroutine/thread */
};

struct fpi_error {
	enum fpi_error_code code;
	char *message;
};

/* Static singleton for out-of-memory: never freed. */
extern struct fpi_error fpi_enomem;

struct fpi_error *fpi_error_create(enum fpi_error_code code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Prefix an existing error's message ("context: message"); returns err. */
struct fpi_error *fpi_error_wrap(struct fpi_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void fpi_error_destroy(struct fpi_error *err);

#endif
