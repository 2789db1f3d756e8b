/* A memory image laid out by the caller: the unit tests' target (cycles,
 * garbage pointers, states a live program cannot reach) and the base of the
 * GDB plugin's target, whose reads go through a callback into GDB. */
#include <stdlib.h>
#include <string.h>

#include "target.h"

struct image_segment {
	uint64_t addr;
	size_t len;
	unsigned char *data;
};

struct image {
	struct image_segment *segs;
	size_t nsegs;
	fpi_image_read_fn fn;
	void *arg;
};

static bool image_read_one(struct image *im, uint64_t addr, void *buf, size_t len)
{
	for (size_t i = 0; i < im->nsegs; i++) {
		struct image_segment *s = &im->segs[i];

		if (addr >= s->addr && addr - s->addr <= s->len && len <= s->len - (addr - s->addr)) {
			memcpy(buf, s->data + (addr - s->addr), len);
			return true;
		}
	}
	return im->fn ? im->fn(im->arg, addr, buf, len) : false;
}

static struct fpi_error *image_readv(struct fpi_target *t, struct fpi_read *reads, size_t n)
{
	for (size_t i = 0; i < n; i++)
		reads[i].ok = image_read_one(t->priv, reads[i].addr, reads[i].buf, reads[i].len);
	return NULL;
}

static void image_destroy(struct fpi_target *t)
{
	struct image *im = t->priv;

	if (!im)
		return;
	for (size_t i = 0; i < im->nsegs; i++)
		free(im->segs[i].data);
	free(im->segs);
	free(im);
}

static const struct fpi_target_ops image_ops = {
	.kind = "image",
	.readv = image_readv,
	.destroy = image_destroy,
};

/* The same backend, named for what it is when a caller feeds it (the GDB
 * plugin): summary says "custom", not "image". */
static const struct fpi_target_ops custom_ops = {
	.kind = "custom",
	.readv = image_readv,
	.destroy = image_destroy,
};

struct fpi_target *fpi_target_image_create(const char *exe_path)
{
	struct fpi_target *t = fpi_target_alloc(&image_ops);

	if (!t)
		return NULL;
	t->priv = calloc(1, sizeof(struct image));
	t->exe_path = exe_path ? strdup(exe_path) : NULL;
	if (!t->priv || (exe_path && !t->exe_path)) {
		fpi_target_destroy(t);
		return NULL;
	}
	return t;
}

struct fpi_error *fpi_target_image_add(struct fpi_target *t, uint64_t addr, const void *data, size_t len)
{
	struct image *im = t->priv;
	struct image_segment *s = realloc(im->segs, (im->nsegs + 1) * sizeof(*s));

	if (!s)
		return &fpi_enomem;
	im->segs = s;
	s[im->nsegs].addr = addr;
	s[im->nsegs].len = len;
	s[im->nsegs].data = malloc(len ? len : 1);
	if (!s[im->nsegs].data)
		return &fpi_enomem;
	memcpy(s[im->nsegs].data, data, len);
	im->nsegs++;
	return NULL;
}

void fpi_target_image_set_reader(struct fpi_target *t, fpi_image_read_fn fn, void *arg)
{
	struct image *im = t->priv;

	t->ops = &custom_ops;
	im->fn = fn;
	im->arg = arg;
}
