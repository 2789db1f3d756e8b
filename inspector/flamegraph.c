/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The flame graph of `profile -o FILE.svg`: the goroutine stacks merged
 * into a tree (root at the bottom, callees above, siblings by name as
 * flamegraph.pl orders them), each frame a rect as wide as its share of the
 * goroutines, with a <title> the browser shows on hover, and a small inline
 * script that zooms into a clicked frame. One file, nothing fetched: it
 * opens as it is, also where a page may load nothing else. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "profile.h"

#define FG_WIDTH 1200
#define FG_MARGIN 10
#define FG_FRAME_H 16
#define FG_TOP 40               /* title and the reset line */
#define FG_BOTTOM 30            /* the details line */
#define FG_CHAR_W 7.0           /* of 12px monospace, for cutting labels */

struct fg_node {
	const char *name;
	int64_t count;
	struct fg_node *child, *next;
};

struct fg {
	struct fg_node *nodes;  /* pool */
	size_t n, cap;
	int max_depth;
	int64_t total;
};

static struct fg_node *fg_new(struct fg *fg, const char *name)
{
	struct fg_node *n;

	if (fg->n == fg->cap)
		return NULL;
	n = &fg->nodes[fg->n++];
	n->name = name;
	n->count = 0;
	n->child = n->next = NULL;
	return n;
}

/* children kept sorted by name */
static struct fg_node *fg_child(struct fg *fg, struct fg_node *parent, const char *name)
{
	struct fg_node **p = &parent->child, *n;

	for (; *p; p = &(*p)->next) {
		int c = (*p)->name == name ? 0 : strcmp((*p)->name, name);

		if (c == 0)
			return *p;
		if (c > 0)
			break;
	}
	n = fg_new(fg, name);
	if (!n)
		return NULL;
	n->next = *p;
	*p = n;
	return n;
}

static void xml_text(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		default:
			/* XML 1.0 has no other control characters */
			fputc((unsigned char)*s < 0x20 ? '?' : *s, f);
		}
	}
}

/* flamegraph.pl's "hot" palette, from the name: the same function has the
 * same colour in every graph */
static void fg_colour(const char *name, char *buf, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (const char *p = name; *p; p++)
		h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
	snprintf(buf, len, "rgb(%d,%d,%d)", 205 + (int)(h % 51), (int)((h >> 16) % 231), (int)((h >> 32) % 56));
}

static void fg_label(FILE *f, const char *name, double width)
{
	size_t fit = width > 2 * FG_CHAR_W ? (size_t)((width - 6) / FG_CHAR_W) : 0;
	size_t n = strlen(name);

	if (fit < 3)
		return;
	if (n <= fit) {
		xml_text(f, name);
		return;
	}
	{
		char *cut = strndup(name, fit - 2);

		if (cut) {
			xml_text(f, cut);
			fputs("..", f);
		}
		free(cut);
	}
}

static void fg_emit(FILE *f, const struct fg *fg, const struct fg_node *n, int64_t x, int depth, int height)
{
	double plot = FG_WIDTH - 2 * FG_MARGIN;
	double rx = FG_MARGIN + (double)x * plot / (double)fg->total;
	double rw = (double)n->count * plot / (double)fg->total;
	int y = height - FG_BOTTOM - (depth + 1) * FG_FRAME_H;
	char colour[32];

	fg_colour(n->name, colour, sizeof(colour));
	fprintf(f, "<g class=\"f\" data-x=\"%" PRId64 "\" data-w=\"%" PRId64 "\" data-d=\"%d\" data-n=\"", x, n->count,
		depth);
	xml_text(f, n->name);
	fputs("\"><title>", f);
	xml_text(f, n->name);
	fprintf(f, " (%" PRId64 " goroutine%s, %.2f%%)</title>", n->count, n->count == 1 ? "" : "s",
		100.0 * (double)n->count / (double)fg->total);
	fprintf(f, "<rect x=\"%.2f\" y=\"%d\" width=\"%.2f\" height=\"%d\" fill=\"%s\" rx=\"2\"/>", rx, y, rw,
		FG_FRAME_H - 1, depth ? colour : "rgb(200,200,200)");
	fprintf(f, "<text x=\"%.2f\" y=\"%d\">", rx + 3, y + FG_FRAME_H - 4);
	fg_label(f, n->name, rw);
	fputs("</text></g>\n", f);
	for (const struct fg_node *c = n->child; c; c = c->next) {
		fg_emit(f, fg, c, x, depth + 1, height);
		x += c->count;
	}
}

/* Zoom: a clicked frame spans the width, its callees scale with it, its
 * callers stay (full width), everything else hides; the root resets. */
static const char fg_script[] =
	"var W=%d,M=%d,CW=%g;\n"
	"function lab(t,n,w){var k=Math.floor((w-6)/CW);t.textContent=k<3?'':n.length<=k?n:n.substring(0,k-2)+'..';}\n"
	"function num(e,a){return +e.getAttribute(a);}\n"
	"function zoom(z){var x=num(z,'data-x'),w=num(z,'data-w'),d=num(z,'data-d'),P=W-2*M;\n"
	" var gs=document.querySelectorAll('g.f');\n"
	" for(var i=0;i<gs.length;i++){var e=gs[i],ex=num(e,'data-x'),ew=num(e,'data-w'),ed=num(e,'data-d'),nx,nw;\n"
	"  if(ed<d&&ex<=x&&ex+ew>=x+w){nx=0;nw=P;}\n"
	"  else if(ed>=d&&ex>=x&&ex+ew<=x+w){nx=(ex-x)*P/w;nw=ew*P/w;}\n"
	"  else{e.style.display='none';continue;}\n"
	"  e.style.display='';var r=e.querySelector('rect'),t=e.querySelector('text');\n"
	"  r.setAttribute('x',M+nx);r.setAttribute('width',nw);t.setAttribute('x',M+nx+3);lab(t,e.getAttribute('data-n'),nw);}\n"
	"}\n"
	"document.addEventListener('click',function(ev){var g=ev.target.closest?ev.target.closest('g.f'):null;\n"
	" if(g)zoom(g);else if(ev.target.id=='reset')zoom(document.querySelector('g.f'));});\n"
	"document.addEventListener('mouseover',function(ev){var g=ev.target.closest?ev.target.closest('g.f'):null;\n"
	" if(g)document.getElementById('details').textContent=g.querySelector('title').textContent;});\n";

struct fpi_error *prof_write_svg(const struct prof_stacks *ps, FILE *f)
{
	struct fg fg = { 0 };
	struct fg_node *root;
	int height;

	for (size_t i = 0; i < ps->n; i++)
		fg.cap += ps->list[i]->nframes ? ps->list[i]->nframes : 1;
	fg.cap++;
	fg.nodes = malloc(fg.cap * sizeof(*fg.nodes));
	if (!fg.nodes)
		return &fpi_enomem;
	root = fg_new(&fg, "all");
	for (size_t i = 0; i < ps->n; i++) {
		const struct prof_stack *e = ps->list[i];
		struct fg_node *n = root;
		int depth = 0;

		root->count += e->count;
		if (!e->nframes) {
			n = fg_child(&fg, n, "[stack unavailable]");
			n->count += e->count;
			depth = 1;
		}
		for (size_t k = e->nframes; k-- > 0;) {
			const char *fn = e->frames[k].function ? e->frames[k].function : "?";

			n = fg_child(&fg, n, fn);
			n->count += e->count;
			depth++;
		}
		if (depth > fg.max_depth)
			fg.max_depth = depth;
	}
	fg.total = root->count ? root->count : 1;
	height = FG_TOP + (fg.max_depth + 1) * FG_FRAME_H + FG_BOTTOM;
	fprintf(f, "<?xml version=\"1.0\" standalone=\"no\"?>\n"
		   "<svg version=\"1.1\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
		   "xmlns=\"http://www.w3.org/2000/svg\">\n",
		FG_WIDTH, height, FG_WIDTH, height);
	fputs("<style>text{font-family:monospace;font-size:12px;fill:#000}g.f{cursor:pointer}"
	      "g.f:hover rect{stroke:#000;stroke-width:0.5}#title{font-size:17px}#reset{cursor:pointer;fill:#036}</style>\n",
	      f);
	fprintf(f, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#f8f8f0\"/>\n", FG_WIDTH, height);
	fprintf(f, "<text id=\"title\" x=\"%d\" y=\"24\" text-anchor=\"middle\">Goroutines: %" PRId64
		   " (fpinspect)</text>\n",
		FG_WIDTH / 2, root->count);
	fprintf(f, "<text id=\"reset\" x=\"%d\" y=\"24\">Reset zoom</text>\n", FG_MARGIN);
	fprintf(f, "<text id=\"details\" x=\"%d\" y=\"%d\"> </text>\n", FG_MARGIN, height - 10);
	fg_emit(f, &fg, root, 0, 0, height);
	fputs("<script><![CDATA[\n", f);
	fprintf(f, fg_script, FG_WIDTH, FG_MARGIN, FG_CHAR_W);
	fputs("]]></script>\n</svg>\n", f);
	free(fg.nodes);
	return NULL;
}
