/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <stdlib.h>
#include <string.h>

#include "stacks.h"
#include "traceback.h"
#include "views.h"

enum fpi_stack view_thread_stack(enum go_stack_kind k)
{
	switch (k) {
	case GO_STACK_G0: return FPI_STACK_G0;
	case GO_STACK_GSIGNAL: return FPI_STACK_GSIGNAL;
	case GO_STACK_CURG: return FPI_STACK_GOROUTINE;
	default: return FPI_STACK_OTHER;
	}
}

void view_thread(struct fpi_session *s, size_t i, struct fpi_thread *ret)
{
	const struct go_thread *th = &s->snap->threads[i];
	const struct fpi_regs *r = &th->regs;
	struct fpi_regs_x86_64 *x = &ret->regs.u.x86_64;

	memset(ret, 0, sizeof(*ret));
	ret->tid = th->tid;
	ret->m = th->m >= 0 ? s->snap->ms[th->m].id : FPI_NONE;
	ret->m_index = th->m >= 0 ? (size_t)th->m : 0;
	ret->stack = view_thread_stack(th->stack);
	ret->tls_g = th->tls_g;
	if (s->target->arch == &fpi_arch_arm64) {
		ret->regs.arch = FPI_ARCH_ARM64;
		for (int n = 0; n < 31; n++)
			ret->regs.u.arm64.x[n] = r->r[fpi_arch_arm64.dwarf_slot[n]];
		ret->regs.u.arm64.sp = r->r[FPI_REG_SP];
		ret->regs.u.arm64.pc = r->r[FPI_REG_PC];
		return;
	}
	ret->regs.arch = FPI_ARCH_X86_64;
	x->rax = r->r[FPI_REG_RAX], x->rdx = r->r[FPI_REG_RDX], x->rcx = r->r[FPI_REG_RCX];
	x->rbx = r->r[FPI_REG_RBX], x->rsi = r->r[FPI_REG_RSI], x->rdi = r->r[FPI_REG_RDI];
	x->rbp = r->r[FPI_REG_RBP], x->rsp = r->r[FPI_REG_RSP];
	x->r8 = r->r[FPI_REG_R8], x->r9 = r->r[FPI_REG_R9], x->r10 = r->r[FPI_REG_R10];
	x->r11 = r->r[FPI_REG_R11], x->r12 = r->r[FPI_REG_R12], x->r13 = r->r[FPI_REG_R13];
	x->r14 = r->r[FPI_REG_R14], x->r15 = r->r[FPI_REG_R15];
	x->rip = r->r[FPI_REG_RIP];
	x->fs_base = r->fs_base;
}

void view_m(struct fpi_session *s, size_t i, struct fpi_m *ret)
{
	const struct go_m *m = &s->snap->ms[i];

	memset(ret, 0, sizeof(*ret));
	ret->id = m->id;
	ret->addr = m->addr;
	ret->tid = m->thread >= 0 ? s->snap->threads[m->thread].tid : FPI_NONE;
	ret->procid = m->procid;
	/* the model's -1 and GO_NA are the public FPI_NONE and FPI_NA */
	ret->curg = m->curg_goid < 0 ? FPI_NONE : m->curg_goid;
	ret->lockedg = m->lockedg_goid < 0 ? FPI_NONE : m->lockedg_goid;
	ret->isextra = m->isextra < 0 ? FPI_NA : m->isextra != 0;
	ret->is_extra_in_c = m->isextrainc < 0 ? FPI_NA : m->isextrainc != 0;
	ret->incgo = m->incgo < 0 ? FPI_NA : m->incgo != 0;
	ret->has_cgo_on_stack = go_m_claims_c(m) < 0 ? FPI_NA : go_m_claims_c(m);
	ret->ncgo = m->ncgo;
	ret->g0_lo = m->g0_lo, ret->g0_hi = m->g0_hi;
	ret->gsignal_lo = m->gsignal_lo, ret->gsignal_hi = m->gsignal_hi;
}

static int goid_cmp(const void *a, const void *b)
{
	const struct go_g *x = *(const struct go_g *const *)a, *y = *(const struct go_g *const *)b;

	return x->goid < y->goid ? -1 : x->goid > y->goid;
}

/* Insertion sort that gives up after moving more than a few elements
 * per element on average: true when order is sorted. */
static bool nearly_sorted_by_goid(const struct go_g **order, size_t n)
{
	size_t moves = 0;

	for (size_t i = 1; i < n; i++) {
		const struct go_g *x = order[i];
		size_t j = i;

		while (j > 0 && order[j - 1]->goid > x->goid && moves <= 4 * n) {
			order[j] = order[j - 1];
			j--;
			moves++;
		}
		order[j] = x;
		if (moves > 4 * n)
			return false;
	}
	return true;
}

struct fpi_error *view_goroutine_order(struct fpi_session *s, const struct go_g *const **ret, size_t *n)
{
	const struct go_snapshot *sn = s->snap;

	if (!s->order) {
		const struct go_g **order = malloc((sn->ngs ? sn->ngs : 1) * sizeof(*order));
		size_t k = 0;

		if (!order)
			return &fpi_enomem;
		for (size_t i = 0; i < sn->ngs; i++)
			if (!go_g_is_dead(s->layout, &sn->gs[i]))
				order[k++] = &sn->gs[i];
		/* by goid, as users and the runtime's tracebacks list them;
		 * allgs holds them nearly so (goids come in batches per P):
		 * insertion sort where little is out of place, else qsort */
		if (!nearly_sorted_by_goid(order, k))
			qsort(order, k, sizeof(*order), goid_cmp);
		s->order = order;
		s->norder = k;
	}
	*ret = s->order;
	*n = s->norder;
	return NULL;
}

size_t view_goroutine_count(const struct fpi_session *s)
{
	size_t n = 0;

	for (size_t i = 0; i < s->snap->ngs; i++)
		n += !go_g_is_dead(s->layout, &s->snap->gs[i]);
	return n;
}

struct view_user {
	struct tb_user_frame f;
	bool found;
};

static void user_unknown(struct fpi_goroutine *ret, const struct tb_user_frame *u)
{
	if (u->unknown)
		ret->has |= FPI_G_USER_UNKNOWN;
}

static bool user_walk(struct fpi_session *s, const struct go_g *g, struct tb_user_frame *u)
{
	struct walk_ctx *cx;
	struct fpi_error *err = session_walk_ctx(s, &cx);

	if (err) {
		fpi_error_destroy(err);
		return false;
	}
	if (!s->view_walk && !(s->view_walk = malloc(sizeof(*s->view_walk))))
		return false;
	return tb_user_frame(s, cx, g, s->view_walk, u);
}

/* The stack tops of 100k goroutines are 38 MB of copy, in address order,
 * and goid order jumps about in it: walked in address order, each walk's
 * reads follow the last one's (caches, TLB, prefetch). */
void view_prepare_goroutines(struct fpi_session *s)
{
	const struct go_snapshot *sn = s->snap;
	struct fpi_bulk *v;
	size_t n = 0;

	if (s->user || !(s->user = calloc(sn->ngs ? sn->ngs : 1, sizeof(*s->user))))
		return;
	if (!(v = malloc((sn->ngs ? sn->ngs : 1) * sizeof(*v)))) {
		free(s->user);
		s->user = NULL;
		return;
	}
	for (size_t i = 0; i < sn->ngs; i++)
		if (!go_g_is_dead(s->layout, &sn->gs[i]))
			v[n++] = (struct fpi_bulk){ sn->gs[i].sched_bp ? sn->gs[i].sched_bp : sn->gs[i].sched_sp, i, NULL };
	fpi_bulk_sort(v, n);
	for (size_t k = 0; k < n; k++) {
		struct view_user *u = &s->user[v[k].len];

		u->found = user_walk(s, &sn->gs[v[k].len], &u->f);
	}
	free(v);
}

/* The walk that finds it reads only the top of the stack: the copy taken
 * for the goroutines command holds no more (session.c). */
static void view_user_frame(struct fpi_session *s, const struct go_g *g, struct fpi_goroutine *ret)
{
	struct tb_user_frame u;

	if (s->user && g >= s->snap->gs && g < s->snap->gs + s->snap->ngs) {
		const struct view_user *c = &s->user[g - s->snap->gs];

		if (!c->found) {
			user_unknown(ret, &c->f);
			return;
		}
		u = c->f;
	} else if (!user_walk(s, g, &u)) {
		user_unknown(ret, &u);
		return;
	}
	ret->has |= FPI_G_HAS_USER;
	ret->user_function = u.function;
	ret->user_file = u.file;
	ret->user_line = u.line;
	ret->user_pc = u.pc;
}

void view_goroutine(struct fpi_session *s, const struct go_g *g, struct fpi_goroutine *ret)
{
	const struct go_layout *l = s->layout;
	uint32_t base = g->status & ~l->gscan;
	bool known = go_status_known(l, g->status);

	memset(ret, 0, sizeof(*ret));
	ret->goid = g->goid;
	ret->addr = g->addr;
	ret->status = known ? go_status_name(l, base) : NULL;
	ret->status_value = g->status;
	ret->scan = l->gscan && (g->status & l->gscan);
	if (g->waitreason != GO_NA)
		ret->has |= FPI_G_HAS_WAIT_REASON;
	/* a reason only while waiting: the field keeps the last one after */
	if (g->waitreason > 0 && known && strcmp(go_status_name(l, base), "waiting") == 0) {
		const char *wr = go_waitreason(l, g->waitreason);

		ret->wait_reason = wr && *wr ? wr : NULL;
	}
	ret->m = g->mid < 0 ? FPI_NONE : g->mid;
	ret->pc = g->sched_pc, ret->sp = g->sched_sp, ret->bp = g->sched_bp;
	ret->syscall_pc = g->syscallpc, ret->syscall_sp = g->syscallsp, ret->syscall_bp = g->syscallbp;
	ret->stack_lo = g->stack_lo, ret->stack_hi = g->stack_hi;
	ret->function = session_symbol(s, g->sched_pc, false);
	ret->created_pc = g->gopc;
	ret->created_by = session_symbol(s, g->gopc, true);
	ret->start_pc = g->startpc;
	if (g->parentgoid != GO_NA) {
		ret->has |= FPI_G_HAS_PARENT_GOID;
		ret->parent_goid = g->parentgoid;
	}
	ret->wait_ns = tb_wait_ns(s, g);
	if (ret->wait_ns >= 0)
		ret->has |= FPI_G_HAS_WAIT_TIME;
	else
		ret->wait_ns = 0;
	ret->locked = g->lockedm != 0;
	view_user_frame(s, g, ret);
	if (session_labels(s, g->labels, &ret->labels, &ret->nlabels))
		ret->has |= FPI_G_HAS_LABELS;
}
