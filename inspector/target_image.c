/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A target whose memory comes through a callback: the GDB plugin's, whose
 * reads go into GDB (live process, core, gdbserver alike). Threads and
 * mappings are added by the caller. */
#include <stdlib.h>
#include <string.h>

#include "target.h"

struct image {
	fpi_image_read_fn fn;
	fpi_image_readv_fn readv;
	void *arg;
};

static struct fpi_error *image_readv(struct fpi_target *t, struct fpi_read *reads, size_t n)
{
	struct image *im = t->priv;
	size_t i = 0;

	if (n > 1 && im->readv) {
		/* runs of sane ranges in one call each: the host sees the
		 * batch whole and can merge neighbours */
		while (i < n) {
			size_t k = 0;

			while (i < n && !fpi_range_ok(reads[i].addr, reads[i].len))
				reads[i++].ok = false;
			while (i + k < n && fpi_range_ok(reads[i + k].addr, reads[i + k].len))
				k++;
			if (k && !im->readv(im->arg, reads + i, k))
				for (size_t j = i; j < i + k; j++)
					reads[j].ok = false;
			i += k;
		}
		return NULL;
	}
	/* GDB would be asked for garbage too; each question costs a trip
	 * through Python */
	for (; i < n; i++)
		reads[i].ok = fpi_range_ok(reads[i].addr, reads[i].len) &&
			      im->fn(im->arg, reads[i].addr, reads[i].buf, reads[i].len);
	return NULL;
}

void fpi_target_image_set_readv(struct fpi_target *t, fpi_image_readv_fn fn)
{
	struct image *im = t->priv;

	im->readv = fn;
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
