/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A user of libfpinspect that knows only the installed header and
 * pkg-config libfpinspect: attach, let the process go on, then list
 * threads, Ms (thread, isextra, isExtraInC, ncgo), goroutines, each
 * goroutine's frames (frame pointers) and the findings of check, one
 * tab-separated line each, for run-api.sh to compare with the CLI's JSON. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include <fpinspect.h>

static int die(struct fpi_error *err)
{
	fprintf(stderr, "example_api: %s (kind %d)\n", fpi_error_message(err), (int)fpi_error_kind(err));
	fpi_error_free(err);
	return 2;
}

static const char *na(int8_t v)
{
	return v == FPI_NA ? "n/a" : v ? "1" : "0";
}

int main(int argc, char **argv)
{
	struct fpi_session *s;
	struct fpi_error *err = NULL;
	struct fpi_findings *f;
	int st;

	if (argc != 2) {
		fprintf(stderr, "usage: example_api PID\n");
		return 2;
	}
	if (fpi_session_attach(atoi(argv[1]), &s, &err))
		return die(err);
	/* copy what the walks need and let the process go on first */
	fpi_session_release(s);
	for (size_t i = 0; i < fpi_session_thread_count(s); i++) {
		struct fpi_thread t;

		if (fpi_session_thread(s, i, &t, &err))
			return die(err);
		printf("thread\t%d\t%" PRId64 "\t%d\t0x%" PRIx64 "\n", t.tid, t.m, (int)t.stack,
		       t.regs.u.x86_64.rsp);
	}
	for (size_t i = 0; i < fpi_session_m_count(s); i++) {
		struct fpi_m m;

		if (fpi_session_m(s, i, &m, &err))
			return die(err);
		printf("m\t%" PRId64 "\t%d\t%s\t%s\t%" PRId64 "\n", m.id, m.tid, na(m.isextra),
		       na(m.is_extra_in_c), m.ncgo);
	}
	for (size_t i = 0; i < fpi_session_goroutine_count(s); i++) {
		struct fpi_goroutine g;
		struct fpi_stack_trace *t;

		if (fpi_session_goroutine(s, i, &g, &err))
			return die(err);
		printf("goroutine\t%" PRIu64 "\t%s\t%s\t%s\n", g.goid, g.status ? g.status : "unknown",
		       g.wait_reason ? g.wait_reason : "-", g.function ? g.function : "?");
		if (fpi_session_stack(s, FPI_OWNER_GOROUTINE, g.goid, FPI_UNWIND_FP, &t, &err))
			return die(err);
		for (size_t k = 0; k < t->nframes; k++)
			printf("frame\t%" PRIu64 "\t%zu\t0x%" PRIx64 "\t%s\n", g.goid, k, t->frames[k].pc,
			       t->frames[k].function ? t->frames[k].function : "?");
		printf("end\t%" PRIu64 "\t%s\n", g.goid, t->end ? t->end : "-");
		fpi_stack_trace_free(t);
	}
	st = fpi_session_check(s, 0, &f, &err);
	if (st == 2)
		return die(err);
	for (size_t i = 0; i < f->n; i++)
		printf("finding\t%s\t%d\t%" PRId64 "\t%d\n", f->v[i].kind, (int)f->v[i].severity, f->v[i].goid, f->v[i].tid);
	printf("check %zu errors %zu warnings %zu info\n", f->errors, f->warnings, f->infos);
	fpi_findings_free(f);
	fpi_session_destroy(s);
	return st;
}
