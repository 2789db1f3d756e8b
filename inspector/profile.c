/* SPDX-License-Identifier: GPL-3.0-or-later */
/* profile: the goroutine stacks of one stop, counted per distinct stack, as
 * the tools of the Go ecosystem read them: a pprof goroutine profile
 * (profile.proto, encoded by protobuf-c, gzipped by zlib), Brendan Gregg's
 * folded stacks, or a flame graph drawn here as one self-contained SVG.
 * The stacks are the dump's (render_dump.c: logical frames, inlined ones
 * expanded) as runtime/pprof's goroutine profile has them: the runtime's
 * frames kept, wrappers and runtime.goexit left out (TB_PROFILE), and the
 * goroutines it counts (system goroutines left out). */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "profile.h"
#include "profile.pb-c.h"
#include "render_dump.h"

static uint64_t hash_bytes(uint64_t h, const void *p, size_t n)
{
	const unsigned char *c = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ c[i]) * 0x100000001b3ULL;
	return h;
}

#define HASH_SEED 0xcbf29ce484222325ULL

static struct fpi_error *stacks_grow(struct prof_stacks *ps)
{
	size_t cap = ps->cap ? ps->cap * 2 : 1024;
	struct prof_stack **slots = calloc(cap, sizeof(*slots));

	if (!slots)
		return &fpi_enomem;
	for (size_t i = 0; i < ps->n; i++) {
		struct prof_stack *st = ps->list[i];
		size_t j = st->hash & (cap - 1);

		while (slots[j])
			j = (j + 1) & (cap - 1);
		slots[j] = st;
	}
	free(ps->slots);
	ps->slots = slots;
	ps->cap = cap;
	return NULL;
}

/* Stacks are the same when their physical pcs are: the symbolizer makes
 * the same logical frames of them. */
static bool same_stack(const struct prof_stack *a, const struct tb_stack *b)
{
	if (a->nframes != b->n)
		return false;
	for (size_t i = 0; i < b->n; i++)
		if (a->frames[i].pc != b->frames[i].pc || a->frames[i].phys != b->frames[i].phys)
			return false;
	return true;
}

static struct fpi_error *stacks_add(struct prof_stacks *ps, const struct tb_stack *st, const struct go_g *g,
				    int64_t wait_ns)
{
	uint64_t h = HASH_SEED;
	struct prof_stack *e;
	size_t j;

	/* a word at a time: byte-wise FNV over 1.2 million pcs (100k
	 * goroutines x 10 frames, plus inlined ones) was 6% of a profile */
	for (size_t i = 0; i < st->n; i++)
		h = (h ^ st->frames[i].pc) * 0x100000001b3ULL;
	h ^= h >> 29;
	if ((ps->n + 1) * 2 > ps->cap) {
		struct fpi_error *err = stacks_grow(ps);

		if (err)
			return err;
	}
	for (j = h & (ps->cap - 1); ps->slots[j]; j = (j + 1) & (ps->cap - 1)) {
		e = ps->slots[j];
		if (e->hash == h && same_stack(e, st)) {
			e->count++;
			if (g->goid < e->min_goid)
				e->min_goid = g->goid;
			if (wait_ns > e->max_wait_ns)
				e->max_wait_ns = wait_ns;
			return NULL;
		}
	}
	if (ps->n == ps->list_cap) {
		size_t cap = ps->list_cap ? ps->list_cap * 2 : 256;
		struct prof_stack **l = realloc(ps->list, cap * sizeof(*l));

		if (!l)
			return &fpi_enomem;
		ps->list = l;
		ps->list_cap = cap;
	}
	e = malloc(sizeof(*e) + st->n * sizeof(e->frames[0]));
	if (!e)
		return &fpi_enomem;
	e->hash = h;
	e->count = 1;
	e->min_goid = g->goid;
	e->max_wait_ns = wait_ns;
	e->nframes = st->n;
	memcpy(e->frames, st->frames, st->n * sizeof(e->frames[0]));
	ps->slots[j] = e;
	ps->list[ps->n++] = e;
	return NULL;
}

void prof_stacks_deinit(struct prof_stacks *ps)
{
	for (size_t i = 0; i < ps->n; i++)
		free(ps->list[i]);
	free(ps->list);
	free(ps->slots);
	memset(ps, 0, sizeof(*ps));
}

struct prof_collect {
	struct fpi_session *s;
	struct prof_stacks *ps;
};

static struct fpi_error *collect_one(void *arg, const struct go_g *g, const struct tb_stack *st)
{
	struct prof_collect *pc = arg;
	struct fpi_error *err;

	/* a stack nobody owns now counts, with no frames (tb_goroutine_stack
	 * leaves it empty): the total stays the number of goroutines */
	err = stacks_add(pc->ps, st, g, tb_wait_ns(pc->s, g));
	pc->ps->goroutines++;
	return err;
}

struct fpi_error *prof_stacks_collect(struct fpi_session *s, struct prof_stacks *ret)
{
	struct prof_collect pc = { s, ret };
	struct fpi_error *err;

	memset(ret, 0, sizeof(*ret));
	/* runtime.GoroutineProfile counts what GOTRACEBACK=all shows, with
	 * the runtime's frames kept, as runtime/pprof does */
	err = tb_each_goroutine(s, false, TB_PROFILE, collect_one, &pc);
	if (err)
		prof_stacks_deinit(ret);
	return err;
}

static const char *frame_name(const struct tb_frame *f, char *buf, size_t len)
{
	if (f->function)
		return f->function;
	snprintf(buf, len, "0x%" PRIx64, f->pc);
	return buf;
}

/* ---- folded ---- */

struct folded_line {
	char *text;
	int64_t count;
};

static int folded_cmp(const void *a, const void *b)
{
	return strcmp(((const struct folded_line *)a)->text, ((const struct folded_line *)b)->text);
}

/* Root first, ';' between frames (a ';' in a name would split it: ':'
 * instead); a stack of no frames is "[unwalked]". */
static char *folded_text(const struct prof_stack *st)
{
	size_t len = 0, cap = 256;
	char *buf = malloc(cap), nb[32];

	if (!buf)
		return NULL;
	if (!st->nframes) {
		free(buf);
		return strdup("[stack unavailable]");
	}
	for (size_t i = st->nframes; i-- > 0;) {
		const char *fn = frame_name(&st->frames[i], nb, sizeof(nb));
		size_t fl = strlen(fn);

		if (len + fl + 2 > cap) {
			char *b;

			cap = (len + fl + 2) * 2;
			b = realloc(buf, cap);
			if (!b) {
				free(buf);
				return NULL;
			}
			buf = b;
		}
		if (len)
			buf[len++] = ';';
		for (size_t k = 0; k < fl; k++)
			buf[len++] = fn[k] == ';' ? ':' : fn[k];
	}
	buf[len] = '\0';
	return buf;
}

/* Distinct stacks of pcs can be the same stack of functions (other lines):
 * folded counts per stack of functions, sorted as stackcollapse sorts. */
static struct fpi_error *folded_lines(const struct prof_stacks *ps, struct folded_line **ret, size_t *nret)
{
	struct folded_line *l = calloc(ps->n ? ps->n : 1, sizeof(*l));
	size_t n = 0;

	if (!l)
		return &fpi_enomem;
	for (size_t i = 0; i < ps->n; i++) {
		l[i].text = folded_text(ps->list[i]);
		l[i].count = ps->list[i]->count;
		if (!l[i].text) {
			for (size_t k = 0; k < i; k++)
				free(l[k].text);
			free(l);
			return &fpi_enomem;
		}
	}
	qsort(l, ps->n, sizeof(*l), folded_cmp);
	for (size_t i = 0; i < ps->n; i++) {
		if (n && !strcmp(l[n - 1].text, l[i].text)) {
			l[n - 1].count += l[i].count;
			free(l[i].text);
		} else {
			l[n++] = l[i];
		}
	}
	*ret = l;
	*nret = n;
	return NULL;
}

static void folded_free(struct folded_line *l, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(l[i].text);
	free(l);
}

static struct fpi_error *write_folded(const struct prof_stacks *ps, FILE *f)
{
	struct folded_line *l;
	size_t n;
	struct fpi_error *err = folded_lines(ps, &l, &n);

	if (err)
		return err;
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s %" PRId64 "\n", l[i].text, l[i].count);
	folded_free(l, n);
	return NULL;
}

/* ---- pprof ---- */

/* The string table: index 0 is "", others by content. */
struct strtab {
	char **strs;
	size_t n, cap;
	size_t *slots;          /* index + 1; 0 empty */
	size_t nslots;
};

static uint64_t hash_str(const char *s)
{
	return hash_bytes(HASH_SEED, s, strlen(s));
}

static int64_t strtab_index(struct strtab *t, const char *s)
{
	size_t j;

	if (!s || !*s)
		return 0;
	if ((t->n + 1) * 2 > t->nslots) {
		size_t ns = t->nslots ? t->nslots * 2 : 1024;
		size_t *slots = calloc(ns, sizeof(*slots));

		if (!slots)
			return -1;
		for (size_t i = 1; i < t->n; i++) {
			for (j = hash_str(t->strs[i]) & (ns - 1); slots[j]; j = (j + 1) & (ns - 1))
				;
			slots[j] = i + 1;
		}
		free(t->slots);
		t->slots = slots;
		t->nslots = ns;
	}
	for (j = hash_str(s) & (t->nslots - 1); t->slots[j]; j = (j + 1) & (t->nslots - 1))
		if (!strcmp(t->strs[t->slots[j] - 1], s))
			return (int64_t)t->slots[j] - 1;
	if (t->n == t->cap) {
		size_t cap = t->cap * 2;
		char **strs = realloc(t->strs, cap * sizeof(*strs));

		if (!strs)
			return -1;
		t->strs = strs;
		t->cap = cap;
	}
	/* the symbolizer owns the names for the session's life */
	t->strs[t->n] = (char *)s;
	t->slots[j] = t->n + 1;
	return (int64_t)t->n++;
}

/* Keyed tables of the profile's functions (name, file) and locations (pc). */
struct idmap {
	uint64_t *keys;         /* 0: empty */
	uint64_t *vals;
	size_t cap, n;
};

static uint64_t *idmap_slot(struct idmap *m, uint64_t key, bool *found)
{
	size_t j;

	if ((m->n + 1) * 2 > m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 1024;
		uint64_t *keys = calloc(cap, sizeof(*keys)), *vals = calloc(cap, sizeof(*vals));

		if (!keys || !vals) {
			free(keys);
			free(vals);
			return NULL;
		}
		for (size_t i = 0; i < m->cap; i++) {
			if (!m->keys[i])
				continue;
			for (j = (m->keys[i] * 0x9e3779b97f4a7c15ULL >> 20) & (cap - 1); keys[j]; j = (j + 1) & (cap - 1))
				;
			keys[j] = m->keys[i];
			vals[j] = m->vals[i];
		}
		free(m->keys);
		free(m->vals);
		m->keys = keys;
		m->vals = vals;
		m->cap = cap;
	}
	for (j = (key * 0x9e3779b97f4a7c15ULL >> 20) & (m->cap - 1); m->keys[j]; j = (j + 1) & (m->cap - 1))
		if (m->keys[j] == key) {
			*found = true;
			return &m->vals[j];
		}
	*found = false;
	m->keys[j] = key;
	m->n++;
	return &m->vals[j];
}

static void idmap_deinit(struct idmap *m)
{
	free(m->keys);
	free(m->vals);
}

typedef Perftools__Profiles__Profile Profile;
typedef Perftools__Profiles__Sample Sample;
typedef Perftools__Profiles__Location Location;
typedef Perftools__Profiles__Line Line;
typedef Perftools__Profiles__Function Function;
typedef Perftools__Profiles__ValueType ValueType;
typedef Perftools__Profiles__Mapping Mapping;

struct pb {
	struct strtab strs;
	struct idmap fn_ids, loc_ids;
	Function **fns;
	size_t nfns, fns_cap;
	Location **locs;
	size_t nlocs, locs_cap;
};

static bool grow(void **p, size_t *cap, size_t n, size_t size)
{
	void *q;

	if (n < *cap)
		return true;
	q = realloc(*p, (*cap ? *cap * 2 : 256) * size);
	if (!q)
		return false;
	*p = q;
	*cap = *cap ? *cap * 2 : 256;
	return true;
}

static uint64_t pb_function(struct pb *pb, const struct tb_frame *f)
{
	char nb[32];
	int64_t name = strtab_index(&pb->strs, frame_name(f, nb, sizeof(nb)));
	int64_t file = strtab_index(&pb->strs, f->file);
	uint64_t *id;
	bool found;
	Function *fn;

	if (name < 0 || file < 0)
		return 0;
	id = idmap_slot(&pb->fn_ids, (uint64_t)name << 32 | (uint64_t)file, &found);
	if (!id)
		return 0;
	if (found)
		return *id;
	if (!grow((void **)&pb->fns, &pb->fns_cap, pb->nfns, sizeof(*pb->fns)) || !(fn = malloc(sizeof(*fn))))
		return 0;
	perftools__profiles__function__init(fn);
	fn->id = pb->nfns + 1;
	fn->name = fn->system_name = name;
	fn->filename = file;
	pb->fns[pb->nfns++] = fn;
	return *id = fn->id;
}

/* The location of physical frame frames[0..n) (its inlined ones first),
 * by pc. */
static uint64_t pb_location(struct pb *pb, const struct tb_frame *frames, size_t n)
{
	uint64_t *id;
	bool found;
	Location *loc;

	id = idmap_slot(&pb->loc_ids, frames[0].pc ? frames[0].pc : 1, &found);
	if (!id)
		return 0;
	if (found)
		return *id;
	if (!grow((void **)&pb->locs, &pb->locs_cap, pb->nlocs, sizeof(*pb->locs)) ||
	    !(loc = malloc(sizeof(*loc) + n * (sizeof(Line *) + sizeof(Line)))))
		return 0;
	perftools__profiles__location__init(loc);
	loc->id = pb->nlocs + 1;
	loc->mapping_id = 1;
	loc->address = frames[0].pc;
	loc->n_line = n;
	loc->line = (Line **)(loc + 1);
	for (size_t k = 0; k < n; k++) {
		Line *ln = (Line *)(loc->line + n) + k;

		perftools__profiles__line__init(ln);
		ln->function_id = pb_function(pb, &frames[k]);
		ln->line = frames[k].line;
		if (!ln->function_id) {
			free(loc);
			return 0;
		}
		loc->line[k] = ln;
	}
	pb->locs[pb->nlocs++] = loc;
	return *id = loc->id;
}

static void pb_deinit(struct pb *pb)
{
	for (size_t i = 0; i < pb->nfns; i++)
		free(pb->fns[i]);
	for (size_t i = 0; i < pb->nlocs; i++)
		free(pb->locs[i]);
	free(pb->fns);
	free(pb->locs);
	free(pb->strs.strs);
	free(pb->strs.slots);
	idmap_deinit(&pb->fn_ids);
	idmap_deinit(&pb->loc_ids);
}

static struct fpi_error *write_pprof(struct fpi_session *s, const struct prof_stacks *ps, const char *path)
{
	struct pb pb = { 0 };
	Profile prof = PERFTOOLS__PROFILES__PROFILE__INIT;
	ValueType st = PERFTOOLS__PROFILES__VALUE_TYPE__INIT, pt = PERFTOOLS__PROFILES__VALUE_TYPE__INIT, *stp = &st;
	Mapping map = PERFTOOLS__PROFILES__MAPPING__INIT, *mapp = &map;
	Sample *samples = calloc(ps->n ? ps->n : 1, sizeof(*samples)), **sp = calloc(ps->n ? ps->n : 1, sizeof(*sp));
	uint64_t *ids = NULL;
	int64_t *values = calloc(ps->n ? ps->n : 1, sizeof(*values));
	size_t nids = 0;
	struct fpi_error *err = NULL;
	uint8_t *buf = NULL;
	size_t len;
	gzFile gz;
	struct timespec now;

	for (size_t i = 0; i < ps->n; i++)
		nids += ps->list[i]->nframes;
	ids = calloc(nids ? nids : 1, sizeof(*ids));
	pb.strs.cap = 256;
	pb.strs.strs = malloc(pb.strs.cap * sizeof(char *));
	if (!samples || !sp || !ids || !values || !pb.strs.strs) {
		err = &fpi_enomem;
		goto out;
	}
	pb.strs.strs[pb.strs.n++] = "";
	/* as runtime/pprof's goroutine profile: one value, goroutine/count */
	st.type = pt.type = strtab_index(&pb.strs, "goroutine");
	st.unit = pt.unit = strtab_index(&pb.strs, "count");
	prof.n_sample_type = 1;
	prof.sample_type = &stp;
	prof.period_type = &pt;
	prof.period = 1;
	clock_gettime(CLOCK_REALTIME, &now);
	prof.time_nanos = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
	/* the frames come symbolized: pprof must not look for symbols */
	map.id = 1;
	map.memory_limit = UINT64_MAX;
	map.filename = strtab_index(&pb.strs, s->target->exe_path);
	map.has_functions = map.has_filenames = map.has_line_numbers = map.has_inline_frames = 1;
	prof.n_mapping = 1;
	prof.mapping = &mapp;
	nids = 0;
	for (size_t i = 0; i < ps->n && !err; i++) {
		const struct prof_stack *e = ps->list[i];
		Sample *smp = &samples[i];

		perftools__profiles__sample__init(smp);
		smp->location_id = &ids[nids];
		for (size_t k = 0; k < e->nframes;) {
			size_t end = k + 1;
			uint64_t id;

			while (end < e->nframes && e->frames[end].phys == e->frames[k].phys)
				end++;
			id = pb_location(&pb, &e->frames[k], end - k);
			if (!id)
				err = &fpi_enomem;
			ids[nids++] = id;
			smp->n_location_id++;
			k = end;
		}
		values[i] = e->count;
		smp->n_value = 1;
		smp->value = &values[i];
		sp[i] = smp;
	}
	if (err)
		goto out;
	prof.n_sample = ps->n;
	prof.sample = sp;
	prof.n_location = pb.nlocs;
	prof.location = pb.locs;
	prof.n_function = pb.nfns;
	prof.function = pb.fns;
	prof.n_string_table = pb.strs.n;
	prof.string_table = pb.strs.strs;
	len = perftools__profiles__profile__get_packed_size(&prof);
	buf = malloc(len ? len : 1);
	if (!buf) {
		err = &fpi_enomem;
		goto out;
	}
	perftools__profiles__profile__pack(&prof, buf);
	gz = gzopen(path, "wb");
	if (!gz) {
		err = fpi_error_create(FPI_ERR_OTHER, "profile: gzopen %s: %s", path, strerror(errno));
		goto out;
	}
	if (len && gzwrite(gz, buf, (unsigned)len) != (int)len) {
		int zerr;

		err = fpi_error_create(FPI_ERR_OTHER, "profile: gzwrite %s: %s", path, gzerror(gz, &zerr));
		gzclose(gz);
		goto out;
	}
	if (gzclose(gz) != Z_OK)
		err = fpi_error_create(FPI_ERR_OTHER, "profile: gzclose %s: %s", path, strerror(errno));
out:
	free(buf);
	free(samples);
	free(sp);
	free(ids);
	free(values);
	pb_deinit(&pb);
	return err;
}

/* ---- command ---- */

enum prof_format { PROF_FOLDED, PROF_PPROF, PROF_SVG };

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && !strcmp(s + n - k, suffix);
}

struct fpi_error *cmd_profile(struct fpi_cmd_ctx *c, int *status)
{
	const char *path = NULL;
	enum prof_format fmt;
	struct prof_stacks ps;
	struct fpi_error *err;
	FILE *f = NULL;

	for (int i = 1; i < c->argc; i++) {
		if (!strcmp(c->argv[i], "-o") && i + 1 < c->argc)
			path = c->argv[++i];
		else if (!strncmp(c->argv[i], "-o=", 3))
			path = c->argv[i] + 3;
		else
			return fpi_error_create(FPI_ERR_USAGE, "profile: unexpected argument '%s' (usage: profile -o FILE)",
						c->argv[i]);
	}
	if (!path || !*path)
		return fpi_error_create(FPI_ERR_USAGE, "profile: no output file (usage: profile -o FILE.pb.gz|.folded|.svg)");
	if (ends_with(path, ".pb.gz"))
		fmt = PROF_PPROF;
	else if (ends_with(path, ".folded"))
		fmt = PROF_FOLDED;
	else if (ends_with(path, ".svg"))
		fmt = PROF_SVG;
	else
		return fpi_error_create(FPI_ERR_USAGE, "profile: %s: the name must end in .pb.gz (pprof), .folded or .svg",
					path);
	err = prof_stacks_collect(c->s, &ps);
	if (err)
		return err;
	if (fmt == PROF_PPROF) {
		err = write_pprof(c->s, &ps, path);
	} else {
		f = fopen(path, "w");
		if (!f)
			err = fpi_error_create(FPI_ERR_OTHER, "profile: fopen %s: %s", path, strerror(errno));
		else if (fmt == PROF_FOLDED)
			err = write_folded(&ps, f);
		else
			err = prof_write_svg(&ps, f);
		if (f && fclose(f) && !err)
			err = fpi_error_create(FPI_ERR_OTHER, "profile: writing %s: %s", path, strerror(errno));
	}
	if (!err)
		fprintf(c->out, "profile: %zu goroutines, %zu distinct stacks written to %s\n", ps.goroutines, ps.n, path);
	prof_stacks_deinit(&ps);
	*status = 0;
	return err;
}
