/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

struct fpi_error fpi_enomem = { FPI_ERR_NOMEM, "out of memory" };

struct fpi_error *fpi_error_create(enum fpi_error_code code, const char *fmt, ...)
{
	struct fpi_error *err = malloc(sizeof(*err));
	va_list ap;

	if (!err)
		return &fpi_enomem;
	err->code = code;
	va_start(ap, fmt);
	if (vasprintf(&err->message, fmt, ap) < 0)
		err->message = NULL;
	va_end(ap);
	if (!err->message) {
		free(err);
		return &fpi_enomem;
	}
	return err;
}

struct fpi_error *fpi_error_wrap(struct fpi_error *err, const char *fmt, ...)
{
	char *prefix, *msg;
	va_list ap;

	if (!err || err == &fpi_enomem)
		return err;
	va_start(ap, fmt);
	if (vasprintf(&prefix, fmt, ap) < 0) {
		va_end(ap);
		return err;
	}
	va_end(ap);
	if (asprintf(&msg, "%s: %s", prefix, err->message) >= 0) {
		free(err->message);
		err->message = msg;
	}
	free(prefix);
	return err;
}

void fpi_error_destroy(struct fpi_error *err)
{
	if (!err || err == &fpi_enomem)
		return;
	free(err->message);
	free(err);
}
