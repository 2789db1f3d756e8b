/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A small streaming JSON writer: commas and nesting handled, strings escaped. */
#ifndef FPI_JSONW_H
#define FPI_JSONW_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct jw {
	FILE *f;
	int depth;
	bool need_comma[64];
	bool after_key;
};

void jw_init(struct jw *w, FILE *f);
void jw_obj(struct jw *w);
void jw_end_obj(struct jw *w);
void jw_arr(struct jw *w);
void jw_end_arr(struct jw *w);
void jw_key(struct jw *w, const char *k);
void jw_str(struct jw *w, const char *s);   /* NULL writes null */
void jw_int(struct jw *w, int64_t v);
void jw_uint(struct jw *w, uint64_t v);
void jw_hex(struct jw *w, uint64_t v);       /* "0x..." string: addresses exceed JSON's exact integers */
void jw_bool(struct jw *w, bool v);
void jw_null(struct jw *w);
void jw_double(struct jw *w, double v);
/* tri-state: GO_NA (-1) writes null */
void jw_tri_bool(struct jw *w, int v);
void jw_tri_int(struct jw *w, int64_t v, bool na);

#endif
