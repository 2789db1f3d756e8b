/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A target whose memory comes through a callback: the GDB plugin's, whose
 * reads go into GDB (live process, core, gdbserver alike). Threads and
 * mappings are added by the caller. */
#include <stdlib.h>
#include <string.h>

#include "target.h"

struct image {
	fpi_image_read_fn fn;
	void *arg;
};

static struct fpi_error *image_readv(struct fpi_target *t, struct fpi_read *reads, size_t n)
{
	struct image *im = t->priv;

	/* GDB would be asked for garbage too; each question costs a trip
	 * through Python */
	for (size_t i = 0; i < n; i++)
		reads[i].ok = fpi_range_ok(reads[i].addr, reads[i].len) &&
			      im->fn(im->arg, reads[i].addr, reads[i].buf, reads[i].len);
	return NULL;
}

static void image_destroy(struct fpi_target *t)
{
	free(t->priv);
}

static const struct fpi_target_ops custom_ops = {
	.kind = "custom",
	.host_reads = true,
	.readv = image_readv,
	.destroy = image_destroy,
};

struct fpi_target *fpi_target_image_create(const char *exe_path, fpi_image_read_fn fn, void *arg)
{
	struct fpi_target *t = fpi_target_alloc(&custom_ops);
	struct image *im = calloc(1, sizeof(*im));

	if (!t || !im || !exe_path || !(t->exe_path = strdup(exe_path))) {
		free(im);
		if (t)
			fpi_target_destroy(t);
		return NULL;
	}
	im->fn = fn;
	im->arg = arg;
	t->priv = im;
	return t;
}
