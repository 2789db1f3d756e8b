/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <inttypes.h>

#include "jsonw.h"

void jw_init(struct jw *w, FILE *f)
{
	w->f = f;
	w->depth = 0;
	w->need_comma[0] = false;
	w->after_key = false;
}

static void jw_sep(struct jw *w)
{
	if (w->after_key) {
		w->after_key = false;
		return;
	}
	if (w->need_comma[w->depth])
		fputc(',', w->f);
	w->need_comma[w->depth] = true;
}

static void jw_open(struct jw *w, char c)
{
	jw_sep(w);
	fputc(c, w->f);
	if (w->depth < 63)
		w->depth++;
	w->need_comma[w->depth] = false;
}

static void jw_close(struct jw *w, char c)
{
	if (w->depth > 0)
		w->depth--;
	fputc(c, w->f);
	if (w->depth == 0)
		fputc('\n', w->f);
}

void jw_obj(struct jw *w) { jw_open(w, '{'); }
void jw_end_obj(struct jw *w) { jw_close(w, '}'); }
void jw_arr(struct jw *w) { jw_open(w, '['); }
void jw_end_arr(struct jw *w) { jw_close(w, ']'); }

static void jw_raw_str(struct jw *w, const char *s)
{
	fputc('"', w->f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(w->f, "\\%c", *p);
		else if (*p < 0x20)
			fprintf(w->f, "\\u%04x", *p);
		else
			fputc(*p, w->f);
	}
	fputc('"', w->f);
}

void jw_key(struct jw *w, const char *k)
{
	jw_sep(w);
	jw_raw_str(w, k);
	fputc(':', w->f);
	w->after_key = true;
}

void jw_str(struct jw *w, const char *s)
{
	jw_sep(w);
	if (s)
		jw_raw_str(w, s);
	else
		fputs("null", w->f);
}

void jw_int(struct jw *w, int64_t v) { jw_sep(w); fprintf(w->f, "%" PRId64, v); }
void jw_uint(struct jw *w, uint64_t v) { jw_sep(w); fprintf(w->f, "%" PRIu64, v); }
void jw_hex(struct jw *w, uint64_t v) { jw_sep(w); fprintf(w->f, "\"0x%" PRIx64 "\"", v); }
void jw_bool(struct jw *w, bool v) { jw_sep(w); fputs(v ? "true" : "false", w->f); }
void jw_null(struct jw *w) { jw_sep(w); fputs("null", w->f); }
void jw_double(struct jw *w, double v) { jw_sep(w); fprintf(w->f, "%.6f", v); }

void jw_tri_bool(struct jw *w, int v)
{
	if (v < 0)
		jw_null(w);
	else
		jw_bool(w, v != 0);
}

void jw_tri_int(struct jw *w, int64_t v, bool na)
{
	if (na)
		jw_null(w);
	else
		jw_int(w, v);
}
