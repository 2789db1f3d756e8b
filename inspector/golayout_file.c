/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Layout files: the types and constants of one Go release (GOARCH,
 * GOEXPERIMENT), written by `fpinspect layout --from BINARY` from that
 * binary's DWARF, so that binaries built with -ldflags="-s -w" by the same
 * toolchain can be read. The runtime's structs change between minor
 * releases and sometimes in a patch release, so the name carries the whole
 * version and another patch's file serves only once the process validates
 * against it (go_snapshot_validate).
 *
 * The format is text, a line per fact, so that a file can be read and
 * diffed; the reader trusts nothing in it (every number is bounded). */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "golayout.h"

#define LAYOUT_MAGIC "fpinspect-layout 1"

static int mkdir_p(const char *dir);

/* schedt, labelmap, hmap: their sizes are not kept; a field within 1 MiB */
static uint32_t type_size(const struct go_layout *l, const char *type)
{
	return !strcmp(type, "g") ? l->g_size : !strcmp(type, "m") ? l->m_size : 1u << 20;
}

/* The globals a cache entry keeps: they are this build's only. */
#define G(name, member) { name, offsetof(struct go_layout, member) }
static const struct { const char *name; size_t off; } globals[] = {
	G("allgs", allgs), G("allglen", allglen), G("allm", allm), G("sched", sched),
	G("maxstacksize", maxstacksize_addr), G("buildVersion", buildversion), G("waitReasonStrings", waitreasons),
};
#undef G

static uint64_t *global_at(struct go_layout *l, size_t i)
{
	return (uint64_t *)((char *)l + globals[i].off);
}

static struct fpi_error *write_layout(const struct go_layout *l, FILE *f, const char *build_id)
{
	fprintf(f, "%s\n", LAYOUT_MAGIC);
	fprintf(f, "# The Go runtime's types and constants for one Go release, made by\n"
		   "# `fpinspect layout --from BINARY` from that binary's DWARF.\n");
	fprintf(f, "go %s\n", l->go_version ? l->go_version : "unknown");
	fprintf(f, "goarch %s\n", l->goarch);
	fprintf(f, "goexperiment %s\n", l->goexperiment ? l->goexperiment : "-");
	fprintf(f, "size g %u\nsize m %u\n", l->g_size, l->m_size);
	for (size_t i = 0; i < go_layout_nfields; i++) {
		const struct go_field_desc *d = &go_layout_fields[i];
		const struct go_field *fl = (const struct go_field *)((const char *)l + d->off);

		if (go_has(*fl))
			fprintf(f, "field %s %s %u %u\n", d->type, d->path, fl->off, fl->size);
	}
	if (l->labels_kind == GO_LABELS_UNREAD)
		fprintf(f, "labels unread\n");
	fprintf(f, "gscan %u\n", l->gscan);
	for (int i = 0; i < GO_MAX_STATUS; i++)
		if (l->status_names[i])
			fprintf(f, "status %d %s\n", i, l->status_names[i]);
	fprintf(f, "waitreasons %u\n", l->nwaitreason_strs);
	for (uint32_t i = 0; i < l->nwaitreason_strs; i++)
		fprintf(f, "waitreason %u %s\n", i, l->waitreason_strs[i] ? l->waitreason_strs[i] : "");
	if (build_id) {
		fprintf(f, "buildid %s\nmadeby fpinspect %s\n", build_id, PACKAGE_VERSION);
		for (size_t i = 0; i < sizeof(globals) / sizeof(globals[0]); i++)
			fprintf(f, "global %s 0x%" PRIx64 "\n", globals[i].name, *global_at((struct go_layout *)l, i));
	}
	return ferror(f) ? fpi_error_create(FPI_ERR_OTHER, "writing the layout: %m") : NULL;
}

struct fpi_error *go_layout_write(const struct go_layout *l, FILE *f)
{
	return write_layout(l, f, NULL);
}

static bool printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return false;
	return true;
}

/* The version without its experiments ("go1.26.8-X:foo", or " X:foo"). */
static size_t version_len(const char *v)
{
	return strcspn(v, " -");
}

/* go1.26.8 -> minor 26, patch 8 (go1.26 / go1.26rc1: patch 0) */
static bool parse_version(const char *v, int *minor, int *patch)
{
	char *end;
	long m, p = 0;

	if (strncmp(v, "go1.", 4) != 0)
		return false;
	m = strtol(v + 4, &end, 10);
	if (end == v + 4 || m <= 0 || m > 1000)
		return false;
	if (*end == '.')
		p = strtol(end + 1, &end, 10);
	*minor = m;
	*patch = p < 0 || p > 100000 ? 0 : p;
	return true;
}

static struct fpi_error *bad(const char *path, unsigned line, const char *what)
{
	return fpi_error_create(FPI_ERR_FORMAT, "layout file %s, line %u: %s", path, line, what);
}

/* What a file says of itself, besides the layout. */
struct file_meta {
	char *ver, *arch, *exp, *build_id, *madeby;
	bool globals;
};

static void meta_free(struct file_meta *m)
{
	free(m->ver);
	free(m->arch);
	free(m->exp);
	free(m->build_id);
	free(m->madeby);
}

static struct fpi_error *parse(struct go_layout *l, const char *path, struct file_meta *meta)
{
	FILE *f = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	unsigned lineno = 0;
	struct fpi_error *err = NULL;
	uint32_t nwr = 0;

	memset(meta, 0, sizeof(*meta));
	if (!f)
		return fpi_error_create(FPI_ERR_USAGE, "cannot open layout file %s: %m", path);
	while (!err && (n = getline(&line, &cap, f)) >= 0) {
		char a[64], b[64];
		unsigned u, v;
		uint64_t addr;
		int k;

		lineno++;
		if (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		if (lineno == 1) {
			if (strcmp(line, LAYOUT_MAGIC) != 0)
				err = bad(path, lineno, "not a layout file of this fpinspect (\"" LAYOUT_MAGIC "\" expected)");
			continue;
		}
		if (n > 4096 || !printable(line)) {
			err = bad(path, lineno, "not text");
		} else if (line[0] == '#' || line[0] == '\0') {
			continue;
		} else if (!strncmp(line, "go ", 3)) {
			free(meta->ver);
			meta->ver = strdup(line + 3);
		} else if (!strncmp(line, "goarch ", 7)) {
			free(meta->arch);
			meta->arch = strdup(line + 7);
		} else if (!strncmp(line, "goexperiment ", 13)) {
			free(meta->exp);
			meta->exp = strcmp(line + 13, "-") ? strdup(line + 13) : NULL;
		} else if (!strncmp(line, "buildid ", 8)) {
			free(meta->build_id);
			meta->build_id = strdup(line + 8);
		} else if (!strncmp(line, "madeby ", 7)) {
			free(meta->madeby);
			meta->madeby = strdup(line + 7);
		} else if (sscanf(line, "global %63s 0x%" SCNx64 "%n", a, &addr, &k) == 2 && !line[k]) {
			for (size_t i = 0; i < sizeof(globals) / sizeof(globals[0]); i++)
				if (!strcmp(globals[i].name, a))
					*global_at(l, i) = addr;
			meta->globals = true;
		} else if (sscanf(line, "size %63s %u%n", a, &u, &k) == 2 && !line[k]) {
			if (u == 0 || u > 65536)
				err = bad(path, lineno, "size out of range");
			else if (!strcmp(a, "g"))
				l->g_size = u;
			else if (!strcmp(a, "m"))
				l->m_size = u;
		} else if (sscanf(line, "field %63s %63s %u %u%n", a, b, &u, &v, &k) == 4 && !line[k]) {
			uint32_t tsize = type_size(l, a);

			if ((v != 1 && v != 2 && v != 4 && v != 8) || u > tsize || v > tsize - u) {
				err = bad(path, lineno, "field outside its struct (sizes come first)");
				break;
			}
			/* a field this fpinspect does not know: a newer one wrote the file */
			for (size_t i = 0; i < go_layout_nfields; i++)
				if (!strcmp(go_layout_fields[i].type, a) && !strcmp(go_layout_fields[i].path, b))
					*go_layout_field(l, &go_layout_fields[i]) = (struct go_field){ u, v };
		} else if (!strcmp(line, "labels unread")) {
			l->labels_kind = GO_LABELS_UNREAD;
		} else if (sscanf(line, "gscan %u%n", &u, &k) == 1 && !line[k]) {
			l->gscan = u;
		} else if (sscanf(line, "status %u %63s%n", &u, a, &k) == 2 && !line[k]) {
			if (u >= GO_MAX_STATUS) {
				err = bad(path, lineno, "status out of range");
				break;
			}
			free(l->status_names[u]);
			l->status_names[u] = strdup(a);
			if (!strcmp(a, "dead"))
				l->gdead = u;
			else if (!strcmp(a, "deadextra"))
				l->gdeadextra = u;
		} else if (sscanf(line, "waitreasons %u%n", &u, &k) == 1 && !line[k]) {
			if (u > 1024 || l->waitreason_strs) {
				err = bad(path, lineno, "wait reasons out of range, or twice");
				break;
			}
			nwr = u;
			l->waitreason_strs = calloc(u ? u : 1, sizeof(char *));
			l->nwaitreason_strs = l->nwaitreasons = u;
			if (!l->waitreason_strs)
				err = &fpi_enomem;
		} else if (sscanf(line, "waitreason %u%n", &u, &k) == 1 && (line[k] == ' ' || !line[k])) {
			if (u >= nwr) {
				err = bad(path, lineno, "wait reason beyond \"waitreasons N\"");
				break;
			}
			free(l->waitreason_strs[u]);
			l->waitreason_strs[u] = strdup(line[k] ? line + k + 1 : "");
		} else {
			err = bad(path, lineno, "not understood");
		}
	}
	free(line);
	fclose(f);
	go_layout_labels_kind(l);
	if (!err && (!meta->ver || !meta->arch || !l->g_size || !l->m_size))
		err = bad(path, lineno, "incomplete: go, goarch and the sizes of g and m are required");
	return err;
}

/* Read into l: l's version, GOARCH and GOEXPERIMENT (the binary's) must
 * match the file's, up to the patch release (then needs_validation). */
struct fpi_error *go_layout_read_file(struct go_layout *l, const char *path)
{
	struct file_meta meta;
	struct fpi_error *err = parse(l, path, &meta);
	char *ver = meta.ver, *arch = meta.arch, *exp = meta.exp;

	/* a cache entry's globals are its build's: never another's */
	if (!err && meta.globals) {
		l->allgs = l->allglen = l->allm = l->sched = l->maxstacksize_addr = l->buildversion = 0;
		l->waitreasons = 0;
	}
	if (!err) {
		int bmin, bpat, fmin, fpat;

		if (strcmp(arch, l->goarch) != 0)
			err = fpi_error_create(FPI_ERR_USAGE, "layout file %s is for GOARCH=%s, %s is %s", path, arch,
					       l->exe_path, l->goarch);
		else if ((exp != NULL) != (l->goexperiment != NULL) || (exp && strcmp(exp, l->goexperiment)))
			err = fpi_error_create(FPI_ERR_USAGE, "layout file %s is for GOEXPERIMENT=%s, %s has %s", path,
					       exp ? exp : "(none)", l->exe_path, l->goexperiment ? l->goexperiment : "none");
		else if (!parse_version(ver, &fmin, &fpat) || !parse_version(l->go_version, &bmin, &bpat) ||
			 fmin != bmin)
			err = fpi_error_create(FPI_ERR_USAGE,
					       "layout file %s is for %s, %s is %s: the runtime's structures differ "
					       "between minor releases; make a layout with fpinspect layout --from BINARY",
					       path, ver, l->exe_path, l->go_version);
		else {
			l->needs_validation = version_len(ver) != version_len(l->go_version) ||
					      strncmp(ver, l->go_version, version_len(ver)) != 0;
			l->source = GO_LAYOUT_FILE;
			l->source_path = strdup(path);
			l->layout_version = ver;
			ver = NULL;
			l->have_globals = false;
		}
	}
	meta.ver = ver;
	meta_free(&meta);
	return err;
}

/* ---- the cache of exact layouts, by build ID ---- */

static char *cache_path(const char *build_id)
{
	char *dir = go_layout_cache_dir(), *p = NULL;

	if (dir && asprintf(&p, "%s/build-id/%s.layout", dir, build_id) < 0)
		p = NULL;
	free(dir);
	return p;
}

bool go_layout_cache_read(struct go_layout *l, const char *build_id)
{
	char *path = cache_path(build_id);
	struct file_meta meta;
	struct fpi_error *err;
	char madeby[64];
	bool ok;

	if (!path || access(path, R_OK) != 0) {
		free(path);
		return false;
	}
	err = parse(l, path, &meta);
	snprintf(madeby, sizeof(madeby), "fpinspect %s", PACKAGE_VERSION);
	/* what this fpinspect wrote for exactly this build: anything else is
	 * not used (and is written anew) */
	ok = !err && meta.globals && meta.build_id && !strcmp(meta.build_id, build_id) && meta.madeby &&
	     !strcmp(meta.madeby, madeby) && !strcmp(meta.arch, l->goarch) && l->go_version &&
	     !strcmp(meta.ver, l->go_version) && l->allgs && l->allm;
	fpi_error_destroy(err);
	meta_free(&meta);
	free(path);
	if (ok) {
		l->source = GO_LAYOUT_DWARF;
		l->have_globals = true;
		l->globals_linktime = true;
	}
	return ok;
}

void go_layout_cache_write(const struct go_layout *l, const char *build_id)
{
	char *path = cache_path(build_id), *tmp = NULL, *dir;
	FILE *f;

	if (!path || asprintf(&tmp, "%s.tmp%d", path, (int)getpid()) < 0) {
		free(path);
		return;
	}
	dir = strdup(path);
	if (dir && strrchr(dir, '/'))
		*strrchr(dir, '/') = '\0';
	/* best effort: a cache that cannot be written costs the next run time only */
	if (dir && mkdir_p(dir) == 0 && (f = fopen(tmp, "we"))) {
		struct fpi_error *err = write_layout(l, f, build_id);

		if (fclose(f) != 0 || err || rename(tmp, path) != 0)
			unlink(tmp);
		fpi_error_destroy(err);
	}
	free(dir);
	free(tmp);
	free(path);
}

char *go_layout_file_name(const char *version, const char *goarch, const char *goexperiment)
{
	char *name = NULL;

	if (asprintf(&name, "%.*s-%s%s%s.layout", (int)version_len(version), version, goarch,
		     goexperiment ? "+" : "", goexperiment ? goexperiment : "") < 0)
		return NULL;
	for (char *c = name; *c; c++)
		if (*c == '/')
			*c = '_';
	return name;
}

char *go_layout_cache_dir(void)
{
	const char *x = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	char *d = NULL;

	if (x && x[0] == '/')
		return asprintf(&d, "%s/fpinspect", x) < 0 ? NULL : d;
	if (home && home[0] == '/')
		return asprintf(&d, "%s/.cache/fpinspect", home) < 0 ? NULL : d;
	return NULL;
}

#ifndef FPI_DATADIR
#define FPI_DATADIR "/usr/local/share/fpinspect"
#endif

/* The directories in the order they are searched: what the user made
 * comes before what was installed, and the source tree (./fpinspect run
 * where it was built) last. */
static size_t search_dirs(char **dirs)
{
	size_t n = 0;

	if ((dirs[n] = go_layout_cache_dir()))
		n++;
	if ((dirs[n] = strdup(FPI_DATADIR "/layouts")))
		n++;
#ifdef FPI_SRCDIR
	if ((dirs[n] = strdup(FPI_SRCDIR "/layouts")))
		n++;
#endif
	return n;
}

static bool exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

struct fpi_error *go_layout_find_file(struct go_layout *l, bool *found)
{
	char *dirs[3], *name, *best = NULL, *path = NULL;
	size_t nd = search_dirs(dirs);
	int minor, patch, best_dist = 1 << 30;
	struct fpi_error *err = NULL;

	*found = false;
	name = go_layout_file_name(l->go_version, l->goarch, l->goexperiment);
	if (!name || !parse_version(l->go_version, &minor, &patch)) {
		free(name);
		for (size_t i = 0; i < nd; i++)
			free(dirs[i]);
		return name ? NULL : &fpi_enomem;
	}
	/* this very release first, in every directory */
	for (size_t i = 0; i < nd && !best; i++) {
		if (asprintf(&path, "%s/%s", dirs[i], name) < 0)
			path = NULL;
		else if (exists(path))
			best = path, path = NULL;
		free(path);
		path = NULL;
	}
	/* then the nearest patch release of the same minor, arch, experiments */
	for (size_t i = 0; i < nd && !best; i++) {
		DIR *d = opendir(dirs[i]);
		struct dirent *e;
		const char *suffix = name + version_len(l->go_version);
		char *cand = NULL;

		while (d && (e = readdir(d))) {
			int m, p, dist;
			const char *dash = strchr(e->d_name, '-');

			if (!dash || strcmp(dash, suffix) != 0 || !parse_version(e->d_name, &m, &p) || m != minor)
				continue;
			dist = abs(p - patch) * 2 + (p > patch);
			if (dist < best_dist) {
				free(cand);
				if (asprintf(&cand, "%s/%s", dirs[i], e->d_name) < 0)
					cand = NULL;
				best_dist = dist;
			}
		}
		if (d)
			closedir(d);
		if (cand)
			best = cand;
	}
	if (best) {
		err = go_layout_read_file(l, best);
		*found = err == NULL;
	}
	free(best);
	free(name);
	for (size_t i = 0; i < nd; i++)
		free(dirs[i]);
	return err;
}

static int mkdir_p(const char *dir)
{
	char buf[4096];

	if (snprintf(buf, sizeof(buf), "%s", dir) >= (int)sizeof(buf))
		return -1;
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(buf, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

struct fpi_error *go_layout_make(const char *binary, const char *out, char **ret)
{
	static const struct go_layout_options dwarf_only = { .dwarf_only = true };
	struct go_layout *l;
	struct fpi_error *err = go_layout_load(binary, &dwarf_only, &l);
	char *path = NULL, *tmp = NULL;
	FILE *f;

	if (err) {
		if (err->code == FPI_ERR_NODWARF) {
			struct fpi_error *e = fpi_error_create(FPI_ERR_NODWARF,
				"%s; a layout is made from a binary with DWARF: one the same Go toolchain built without "
				"-ldflags=-w/-s", err->message);

			fpi_error_destroy(err);
			return e;
		}
		return err;
	}
	if (!l->go_version) {
		go_layout_destroy(l);
		return fpi_error_create(FPI_ERR_NOTGO, "%s: no Go version in .go.buildinfo (Go before 1.18?)", binary);
	}
	if (out) {
		path = strdup(out);
	} else {
		char *dir = go_layout_cache_dir(), *name = go_layout_file_name(l->go_version, l->goarch, l->goexperiment);

		if (!dir || !name || mkdir_p(dir) != 0 || asprintf(&path, "%s/%s", dir, name) < 0) {
			err = fpi_error_create(FPI_ERR_OTHER, "cannot make the layout directory %s: %m",
					       dir ? dir : "($XDG_CACHE_HOME and $HOME unset)");
			path = NULL;
		}
		free(dir);
		free(name);
	}
	if (!err && (!path || asprintf(&tmp, "%s.tmp%d", path, (int)getpid()) < 0)) {
		tmp = NULL;
		err = &fpi_enomem;
	}
	if (!err && !(f = fopen(tmp, "we")))
		err = fpi_error_create(FPI_ERR_OTHER, "cannot write %s: %m", tmp);
	else if (!err) {
		err = go_layout_write(l, f);
		if (fclose(f) != 0 && !err)
			err = fpi_error_create(FPI_ERR_OTHER, "writing %s: %m", tmp);
		/* readers never see half a file */
		if (!err && rename(tmp, path) != 0)
			err = fpi_error_create(FPI_ERR_OTHER, "cannot rename %s to %s: %m", tmp, path);
		if (err)
			unlink(tmp);
	}
	free(tmp);
	go_layout_destroy(l);
	if (err) {
		free(path);
		return err;
	}
	*ret = path;
	return NULL;
}
