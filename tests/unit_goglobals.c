/* SPDX-License-Identifier: GPL-3.0-or-later */
/* inspector/goglobals.c: the runtime's globals without DWARF, on a live
 * process (run-goglobals.sh gives it one).
 *
 *   unit_goglobals [OPTIONS] PID DWARF_EXE RUN_EXE
 *
 * DWARF_EXE is the build with DWARF: its layout (field offsets, statuses)
 * and the reference addresses. RUN_EXE is the file PID runs (the same build
 * stripped, or built with -w): the globals are looked for in it. Prints
 *   dwarf NAME ADDR                 the reference
 *   found NAME ADDR ANCHOR NCAND NVALID [WHY]
 *   how HOW, bias BIAS, nwaitreasons N
 * or "error: MESSAGE" and exits 2 when go_globals_find fails.
 *
 * Options:
 *   --core CORE           read CORE (of RUN_EXE) instead of the process PID
 *                         (PID is then ignored)
 *   --no-symtab           the machine-code path even if RUN_EXE has .symtab
 *   --fallback-anchors    each global from its second anchor on, where it
 *                         has one (the first anchor passed over)
 *   --no-nwaitreasons     forget the layout's length of waitReasonStrings
 *                         (a layout without it: the code's bounds check)
 *   --garbage ADDR:LEN    reads of [ADDR, ADDR+LEN) return pseudorandom bytes
 *   --garbage-all         every read does
 *   --copy DST:SRC:LEN    reads of [DST, DST+LEN) return the bytes at SRC
 *                         (a second candidate that looks valid)
 *   --allm-cycle          m0's alllink reads as allm's head: the Ms' chain
 *                         is a cycle
 *   --allglen-short       allglen reads one less than len(allgs) (a thread
 *                         stopped inside allgadd)
 *   --m-unborn            the newest M's g0 reads nil (a thread stopped in
 *                         allocm after mcommoninit)
 *   --expect-equal        check that every global found equals DWARF's (plus
 *                         the load bias of a PIE) and the three required
 *                         ones are found (exit 1 if not)
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "goglobals.h"
#include "golayout.h"
#include "target.h"
#include "unit.h"

#define MAX_EDITS 8

struct edit {
	uint64_t dst, src, len;
	bool garbage;
	bool value;         /* the 8 bytes of src itself */
};

struct wrap {
	struct fpi_target *real;
	struct edit edits[MAX_EDITS];
	size_t nedits;
	bool garbage_all;
};

/* The same pseudorandom byte for an address every time it is read. */
static unsigned char junk(uint64_t addr)
{
	uint64_t x = addr * 0x9e3779b97f4a7c15ull;

	x ^= x >> 29;
	x *= 0xbf58476d1ce4e5b9ull;
	return (unsigned char)(x >> 32);
}

static bool wrap_read(void *arg, uint64_t addr, void *buf, size_t len)
{
	struct wrap *w = arg;
	unsigned char *b = buf;
	struct fpi_error *err;

	if (w->garbage_all) {
		for (size_t i = 0; i < len; i++)
			b[i] = junk(addr + i);
		return true;
	}
	err = fpi_target_read(w->real, addr, buf, len);
	if (err) {
		fpi_error_destroy(err);
		return false;
	}
	for (size_t e = 0; e < w->nedits; e++) {
		const struct edit *ed = &w->edits[e];

		for (size_t i = 0; i < len; i++) {
			uint64_t a = addr + i;

			if (a < ed->dst || a - ed->dst >= ed->len)
				continue;
			if (ed->garbage) {
				b[i] = junk(a);
			} else if (ed->value) {
				b[i] = (unsigned char)(ed->src >> (8 * (a - ed->dst)));
			} else {
				struct fpi_error *e2 = fpi_target_read(w->real, ed->src + (a - ed->dst), &b[i], 1);

				if (e2) {
					fpi_error_destroy(e2);
					return false;
				}
			}
		}
	}
	return true;
}

static void show(const char *what, const char *name, uint64_t addr)
{
	printf("%s %s 0x%" PRIx64 "\n", what, name, addr);
}

int main(int argc, char **argv)
{
	struct wrap w = { 0 };
	struct go_layout *l = NULL;
	struct fpi_target *t = NULL, *img = NULL;
	struct go_globals_report rep;
	struct fpi_error *err;
	unsigned flags = 0;
	const char *core = NULL;
	/* the reference must be DWARF's, not a layout file's */
	const struct go_layout_options dwarf_only = { .dwarf_only = true };
	bool expect_equal = false, no_nwr = false, allm_cycle = false, allglen_short = false, m_unborn = false;
	uint64_t ref[GO_GLOBAL_COUNT];
	uint32_t ref_nwr;
	int i, pid, rc = 0;

	for (i = 1; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		if (strcmp(argv[i], "--core") == 0 && i + 1 < argc) {
			core = argv[++i];
		} else if (strcmp(argv[i], "--no-symtab") == 0) {
			flags |= GO_GLOBALS_NO_SYMTAB;
		} else if (strcmp(argv[i], "--fallback-anchors") == 0) {
			flags |= GO_GLOBALS_FALLBACK_ANCHORS;
		} else if (strcmp(argv[i], "--no-nwaitreasons") == 0) {
			no_nwr = true;
		} else if (strcmp(argv[i], "--expect-equal") == 0) {
			expect_equal = true;
		} else if (strcmp(argv[i], "--allglen-short") == 0) {
			allglen_short = true;
		} else if (strcmp(argv[i], "--m-unborn") == 0) {
			m_unborn = true;
		} else if (strcmp(argv[i], "--allm-cycle") == 0) {
			allm_cycle = true;
		} else if (strcmp(argv[i], "--garbage-all") == 0) {
			w.garbage_all = true;
		} else if (strcmp(argv[i], "--garbage") == 0 && i + 1 < argc && w.nedits < MAX_EDITS) {
			struct edit *e = &w.edits[w.nedits++];
			char *end;

			e->garbage = true;
			e->dst = strtoull(argv[++i], &end, 0);
			e->len = *end == ':' ? strtoull(end + 1, NULL, 0) : 8;
		} else if (strcmp(argv[i], "--copy") == 0 && i + 1 < argc && w.nedits < MAX_EDITS) {
			struct edit *e = &w.edits[w.nedits++];
			char *end;

			e->dst = strtoull(argv[++i], &end, 0);
			e->src = *end == ':' ? strtoull(end + 1, &end, 0) : 0;
			e->len = *end == ':' ? strtoull(end + 1, NULL, 0) : 8;
		} else {
			fprintf(stderr, "unit_goglobals: unknown option %s\n", argv[i]);
			return 2;
		}
	}
	if (argc - i != 3) {
		fprintf(stderr, "usage: unit_goglobals [OPTIONS] PID DWARF_EXE RUN_EXE\n");
		return 2;
	}
	pid = atoi(argv[i]);

	err = go_layout_load(argv[i + 1], &dwarf_only, &l);
	if (!err && core)
		err = fpi_target_open_core(core, argv[i + 2], &t);
	else if (!err)
		err = fpi_target_ptrace_open(pid, &t);
	if (!err && !core)
		err = fpi_target_ptrace_stop(t);
	if (err) {
		printf("error: setup: %s\n", err->message);
		fpi_error_destroy(err);
		go_layout_destroy(l);
		fpi_target_destroy(t);
		return 2;
	}
	ref[GO_GLOBAL_ALLGS] = l->allgs;
	ref[GO_GLOBAL_ALLGLEN] = l->allglen;
	ref[GO_GLOBAL_ALLM] = l->allm;
	ref[GO_GLOBAL_SCHED] = l->sched;
	ref[GO_GLOBAL_MAXSTACKSIZE] = l->maxstacksize_addr;
	ref[GO_GLOBAL_WAITREASONS] = l->waitreasons;
	ref_nwr = l->nwaitreasons;
	/* what a layout without global addresses has */
	l->allgs = l->allglen = l->allm = l->sched = l->maxstacksize_addr = l->waitreasons = 0;
	if (no_nwr)
		l->nwaitreasons = 0;

	w.real = t;
	if (allglen_short && w.nedits < MAX_EDITS) {
		uint64_t len = 0;

		fpi_target_read_u64(t, ref[GO_GLOBAL_ALLGLEN], &len);
		w.edits[w.nedits++] = (struct edit){ .dst = ref[GO_GLOBAL_ALLGLEN], .src = len - 1, .len = 8, .value = true };
	}
	if (m_unborn && w.nedits < MAX_EDITS) {
		uint64_t head = 0;

		fpi_target_read_u64(t, ref[GO_GLOBAL_ALLM], &head);
		w.edits[w.nedits++] = (struct edit){ .dst = head + l->m_g0.off, .src = 0, .len = 8, .value = true };
	}
	if (allm_cycle && w.nedits < MAX_EDITS) {
		uint64_t head = 0, mp, next;
		struct edit *e = &w.edits[w.nedits++];

		fpi_target_read_u64(t, ref[GO_GLOBAL_ALLM], &head);
		mp = head;
		for (int n = 0; n < 100000 && mp && fpi_target_read_u64(t, mp + l->m_alllink.off, &next) && next; n++)
			mp = next;
		*e = (struct edit){ .dst = mp + l->m_alllink.off, .src = head, .len = 8, .value = true };
	}
	if (w.nedits || w.garbage_all) {
		img = fpi_target_image_create(argv[i + 2], wrap_read, &w);
		if (!img) {
			printf("error: out of memory\n");
			rc = 2;
			goto out;
		}
	}
	err = go_globals_find_ex(l, argv[i + 2], img ? img : t, flags, &rep);
	for (int k = 0; k < GO_GLOBAL_COUNT; k++)
		show("dwarf", rep.g[k].name, ref[k]);
	printf("dwarf nwaitreasons %u\n", ref_nwr);
	for (int k = 0; k < GO_GLOBAL_COUNT; k++) {
		const struct go_global_result *r = &rep.g[k];

		printf("found %s 0x%" PRIx64 " %s %u %u%s%s\n", r->name, r->addr, r->anchor ? r->anchor : "-",
		       r->ncand, r->nvalid, r->why[0] ? " " : "", r->why);
	}
	printf("how %s\nbias %#" PRIx64 "\nnwaitreasons %u\n", rep.how ? rep.how : "-", rep.bias, rep.nwaitreasons);
	if (err) {
		printf("error: %s\n", err->message);
		CHECK(l->allgs == 0 && l->allm == 0, "the layout is left as it was on an error");
		fpi_error_destroy(err);
		rc = 2;
		goto out;
	}
	if (expect_equal) {
		uint64_t b = rep.bias;

		/* DWARF has link-time addresses: a PIE's are shifted */
		CHECK_EQ(l->allgs, ref[GO_GLOBAL_ALLGS] + b, "runtime.allgs");
		CHECK_EQ(l->allglen, ref[GO_GLOBAL_ALLGLEN] + b, "runtime.allglen");
		CHECK_EQ(l->allm, ref[GO_GLOBAL_ALLM] + b, "runtime.allm");
		/* sched's fallback anchor finds nothing in the releases tested */
		if (!(flags & GO_GLOBALS_FALLBACK_ANCHORS) || l->sched)
			CHECK_EQ(l->sched, ref[GO_GLOBAL_SCHED] + b, "runtime.sched");
		CHECK_EQ(l->maxstacksize_addr, ref[GO_GLOBAL_MAXSTACKSIZE] + b, "runtime.maxstacksize");
		CHECK_EQ(l->waitreasons, ref[GO_GLOBAL_WAITREASONS] + b, "runtime.waitReasonStrings");
		CHECK_EQ(l->nwaitreasons, ref_nwr, "len(runtime.waitReasonStrings)");
		rc = unit_done("unit_goglobals");
	}
out:
	fpi_target_destroy(img);
	fpi_target_release(t);
	fpi_target_destroy(t);
	go_layout_destroy(l);
	return rc;
}
