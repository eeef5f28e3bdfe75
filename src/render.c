/* render: the one renderer; see render.h for the order of its steps. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include <pthread.h>

#include "diff.h"
#include "highlight.h"
#include "highlightd.h"
#include "imaged.h"
#include "image.h"
#include "xref.h"
#include "render.h"


/*
 * A page's layout: which bytes of the page go into which highlight class and which are
 * links to a definition. Offsets, classes and opaque symbol numbers only, never code: the
 * bytes are read from the release and transformed for the session on every request.
 */
struct seg {
	uint32_t off, len;  /* from the page's first byte */
	int32_t sym;        /* symbol number of a definition link, SEG_NAME, or SEG_TEXT */
	uint8_t cls;        /* short class (short_class), 0 for none */
};

/* a segment's sym when it is not a definition link: text, or a name with no definition
 * (its references are asked by its place: render_name_at) */
#define SEG_TEXT (-1)
#define SEG_NAME (-2)

struct layout {
	unsigned char id[32];
	char release[2 * RELEASE_NAME_MAX + 2];
	uint64_t from;
	size_t span;           /* the page's bytes: a window of another size is another page */
	int linked;            /* made with the release's symbols */
	size_t n_lines;
	uint32_t *line_off;    /* n_lines + 1 offsets from the page's first byte */
	uint32_t *line_seg;    /* n_lines + 1: each line's first segment */
	struct seg *segs;
	size_t n_segs, cap_segs;
	size_t bytes;
	uint64_t used;
	int refs;              /* the cache's and each renderer's */
};

struct render_cache {
	pthread_mutex_t lock;
	struct layout *pages[RENDER_CACHE_FILES];
	size_t n;
	size_t bytes;
	uint64_t clock;
};

static void layout_free(struct layout *l)
{
	if (!l)
		return;
	free(l->line_off);
	free(l->line_seg);
	free(l->segs);
	free(l);
}

struct render_cache *render_cache_new(void)
{
	struct render_cache *c = xcalloc(1, sizeof(*c));
	pthread_mutex_init(&c->lock, NULL);
	return c;
}

void render_cache_free(struct render_cache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		layout_free(c->pages[i]);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static void layout_put(struct render_cache *c, struct layout *l)
{
	int last;
	if (!l)
		return;
	if (!c) {
		layout_free(l);
		return;
	}
	pthread_mutex_lock(&c->lock);
	last = --l->refs == 0;
	pthread_mutex_unlock(&c->lock);
	if (last)
		layout_free(l);
}

/* The cached layout of a page (a reference: layout_put it), or NULL. */
static struct layout *layout_find(struct render_cache *c, const unsigned char id[32], const char *release,
				  uint64_t from, size_t span, int linked)
{
	struct layout *l = NULL;
	if (!c)
		return NULL;
	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < c->n; i++) {
		struct layout *x = c->pages[i];
		if (x->from == from && x->span == span && x->linked == linked && !memcmp(x->id, id, 32) &&
		    !strcmp(x->release, release)) {
			x->used = ++c->clock;
			x->refs++;
			l = x;
			break;
		}
	}
	pthread_mutex_unlock(&c->lock);
	return l;
}

/* Keep l in the cache (which takes a reference), dropping the least recently used pages
 * past RENDER_CACHE_FILES or RENDER_CACHE_BYTES. A page already there is kept instead. */
static void layout_keep(struct render_cache *c, struct layout *l)
{
	struct layout *drop[RENDER_CACHE_FILES];
	size_t n_drop = 0;
	if (!c || l->bytes > RENDER_CACHE_BYTES)
		return;
	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < c->n; i++)
		if (c->pages[i]->from == l->from && c->pages[i]->span == l->span && c->pages[i]->linked == l->linked &&
		    !memcmp(c->pages[i]->id, l->id, 32) && !strcmp(c->pages[i]->release, l->release))
			goto out;
	while (c->n && (c->n == RENDER_CACHE_FILES || c->bytes + l->bytes > RENDER_CACHE_BYTES)) {
		size_t old = 0;
		for (size_t i = 1; i < c->n; i++)
			if (c->pages[i]->used < c->pages[old]->used)
				old = i;
		c->bytes -= c->pages[old]->bytes;
		if (--c->pages[old]->refs == 0)
			drop[n_drop++] = c->pages[old];
		c->pages[old] = c->pages[--c->n];
	}
	l->refs++;
	l->used = ++c->clock;
	c->pages[c->n++] = l;
	c->bytes += l->bytes;
out:
	pthread_mutex_unlock(&c->lock);
	for (size_t i = 0; i < n_drop; i++)
		layout_free(drop[i]);
}

/*
 * The short CSS class of a highlight class (app.css: .hk keywords, .hs strings, ...), or 0
 * for a class the stylesheet does not colour, which then needs no element at all.
 */
#define N_SHORT 11
#define SHORT_KEYWORD 1
#define SHORT_STRING 2
#define SHORT_COMMENT 3
static const char *const short_names[N_SHORT] = {"", "hk", "hs", "hc", "hn", "hf", "ht", "hp", "hm", "he", "hv"};

static uint8_t short_class(uint16_t cls)
{
	static const struct {
		const char *name;
		uint8_t k;
	} groups[] = {
		{"keyword", 1},  {"conditional", 1}, {"repeat", 1},    {"include", 1},     {"storageclass", 1},
		{"string", 2},   {"character", 2},   {"comment", 3},   {"number", 4},      {"constant", 4},
		{"boolean", 4},  {"float", 4},	     {"function", 5},  {"method", 5},      {"constructor", 5},
		{"type", 6},     {"tag", 6},	     {"property", 7},  {"field", 7},       {"attribute", 7},
		{"label", 7},    {"preproc", 8},     {"define", 8},    {"macro", 8},       {"escape", 9},
		{"punctuation", 9}, {"operator", 10}, {"module", 10},  {"namespace", 10},  {"variable", 10},
		{"parameter", 10},
	};
	const char *name = hl_class_name(cls);
	size_t l = strcspn(name, ".");
	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
		if (strlen(groups[i].name) == l && !memcmp(groups[i].name, name, l))
			return groups[i].k;
	return 0;
}

/* Wipe and release a scratch buffer that held code. */
static void wipe(struct buf *b)
{
	if (b->p && b->cap)
		sodium_memzero(b->p, b->cap);
	buf_release(b);
}

int render_escape(struct buf *out, const char *s, size_t len)
{
	size_t i = 0, run = 0;
	if (buf_grow(out, len + len / 8 + 16))
		return ERR_TOOBIG;
	for (; i < len; i++) {
		const char *rep;
		switch (s[i]) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		case 0: rep = "\xef\xbf\xbd"; break;
		default: continue;
		}
		if (buf_add(out, s + run, i - run) || buf_addstr(out, rep))
			return ERR_TOOBIG;
		run = i + 1;
	}
	return buf_add(out, s + run, len - run);
}

uint64_t render_count_lines(const unsigned char *p, size_t len)
{
	uint64_t n = 0;
	const unsigned char *q = p, *end = p + len;
	if (!len)
		return 0;
	while ((q = memchr(q, '\n', (size_t)(end - q)))) {
		n++;
		q++;
	}
	return n + (p[len - 1] != '\n');
}

/* A URL path segment run: keep unreserved bytes and '/', %-encode the rest. */
static int add_url_path(struct buf *out, const char *s, size_t len)
{
	static const char hexd[] = "0123456789ABCDEF";
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		int keep = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			   (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_' || ch == '~' ||
			   ch == '/' || ch == '@';
		if (keep ? buf_addch(out, (char)ch)
			 : (buf_addch(out, '%') || buf_addch(out, hexd[ch >> 4]) || buf_addch(out, hexd[ch & 15])))
			return ERR_TOOBIG;
	}
	return 0;
}

/* "/r/<P@V>/<what>/<path>", %-encoded (so also HTML-safe). */
static int add_href(struct buf *out, const char *product, const char *version, const char *what,
		    const char *path, size_t path_len)
{
	if (buf_addstr(out, "/r/") || add_url_path(out, product, strlen(product)) || buf_addch(out, '@') ||
	    add_url_path(out, version, strlen(version)) || buf_addf(out, path ? "/%s/" : "/%s", what))
		return ERR_TOOBIG;
	return path ? add_url_path(out, path, path_len) : 0;
}

/* Code bytes as shown: through the transform hook when there is one, then escaped. */
static int add_code(const struct render_ctx *c, const struct render_view *v, struct buf *tmp,
		    const char *p, size_t len, int json, struct buf *out)
{
	const char *s = p;
	size_t n = len;
	if (!len)
		return 0;
	if (c->hooks && c->hooks->transform) {
		int r;
		buf_reset(tmp);
		if ((r = c->hooks->transform(c->hooks->ctx, v, p, len, tmp)))
			return r;
		s = tmp->p;
		n = tmp->len;
	}
	return json ? buf_addjson(out, s, n) : render_escape(out, s, n);
}

int render_prose(const struct render_ctx *c, const char *s, size_t len, struct buf *out)
{
	struct render_view v = {0};
	struct buf tmp;
	int r;
	v.kind = "prose";
	v.who = c->who;
	v.product = c->product;
	v.version = c->version;
	v.now = c->now ? c->now : (int64_t)time(NULL);
	buf_init(&tmp, 8 * len + 64);
	if (!(r = buf_addstr(out, "<div class=\"code prose\"><span class=\"c\">")) &&
	    !(r = add_code(c, &v, &tmp, s, len, 0, out)))
		r = buf_addstr(out, "</span></div>");
	buf_release(&tmp);
	return r;
}

/* The lines a render shows, for the quota hook (render_view.shown). */
struct shown {
	struct quota_line *v;
	size_t n, cap;
	char (*blobs)[65]; /* the hex blob ids the lines point to */
	size_t n_blobs;
};

static void shown_add(struct shown *s, const struct grant_info *g, const char *blob, const char *path,
		      uint64_t line, size_t bytes)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 256;
		s->v = xrealloc(s->v, s->cap * sizeof(*s->v));
	}
	s->v[s->n].g = g;
	s->v[s->n].blob = blob;
	s->v[s->n].path = path;
	s->v[s->n].line = line;
	s->v[s->n].bytes = bytes > RENDER_LINE_MAX ? RENDER_LINE_MAX : bytes;
	s->n++;
}

static void shown_release(struct shown *s)
{
	free(s->v);
	free(s->blobs);
	memset(s, 0, sizeof(*s));
}

/* Steps 1 to 3: grant, quota, durable log entry (fields of extra are added to it). */
static int admit(const struct render_ctx *c, struct render_view *v, struct grant_info *g,
		 struct grant_info *base, json_t *extra)
{
	char ref[2 * RELEASE_NAME_MAX + 2];
	json_t *e;
	int r;
	v->now = c->now ? c->now : (int64_t)time(NULL);
	v->who = c->who;
	v->product = c->product;
	v->version = c->version;
	if ((r = policy_may_read(c->f, c->who, c->product, c->version, v->now, g)))
		goto out;
	v->grant = g;
	/* a diff shows the older release too: its grant is checked as well, and charged */
	if (v->base_version) {
		if ((r = policy_may_read(c->f, c->who, c->product, v->base_version, v->now, base)))
			goto out;
		v->base_grant = base;
	}
	if (c->hooks && c->hooks->quota && (r = c->hooks->quota(c->hooks->ctx, c->f, v)))
		goto out;
	snprintf(ref, sizeof(ref), "%s@%s", c->product, c->version);
	/* logdb.h's builder: a field that is not UTF-8 is kept in base64, a field that could
	 * not be built refuses the entry, and then nothing is shown */
	e = logdb_entry_new(v->kind, c->who->login);
	logdb_entry_str(e, "session", c->who->session_id);
	logdb_entry_str(e, "release", ref);
	if (!extra || json_object_update(e, extra))
		logdb_entry_set(e, "fields", NULL);
	r = logdb_append(c->log, e, NULL);
	json_decref(e);
out:
	json_decref(extra);
	return r;
}

static int is_ident_start(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_';
}

static int is_ident(unsigned char ch)
{
	return is_ident_start(ch) || (ch >= '0' && ch <= '9');
}

struct render_symtab {
	const struct index *ix;
	const struct xref *xr; /* names from its tags when it has them, else from ix's symbols */
	uint32_t *slots;       /* symbol number + 1, 0 for empty */
	size_t mask;
};

static uint64_t name_hash(const char *p, size_t len)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
	return h;
}

/* Symbol i of the table's source in name order: its name, or NULL. */
static const char *symtab_name(const struct render_symtab *t, size_t i, size_t *len)
{
	if (t->xr) {
		struct xref_loc l;
		const char *name;
		return xref_definition(t->xr, i, &l, &name, len) ? NULL : name;
	} else {
		const struct index_symbol *s = index_symbol_by_name(t->ix, i);
		*len = s->len;
		return index_symbol_name(t->ix, s);
	}
}

struct render_symtab *render_symtab_new(const struct index *ix, const struct xref *xr)
{
	struct render_symtab *t = xcalloc(1, sizeof(*t));
	size_t n, cap = 16;
	t->ix = ix;
	t->xr = xref_has_tags(xr) ? xr : NULL;
	n = t->xr ? xref_n_definitions(xr) : index_n_symbols(ix);
	while (cap < 2 * n + 16)
		cap <<= 1;
	t->mask = cap - 1;
	t->slots = xcalloc(cap, sizeof(uint32_t));
	for (size_t i = 0; i < n && i < UINT32_MAX - 1; i++) {
		size_t len, ol;
		const char *name = symtab_name(t, i, &len);
		size_t h;
		if (!name)
			continue;
		for (h = name_hash(name, len) & t->mask; t->slots[h]; h = (h + 1) & t->mask) {
			const char *o = symtab_name(t, t->slots[h] - 1, &ol);
			if (o && ol == len && !memcmp(o, name, len))
				break;
		}
		if (!t->slots[h])
			t->slots[h] = (uint32_t)i + 1;
	}
	return t;
}

void render_symtab_free(struct render_symtab *t)
{
	if (!t)
		return;
	free(t->slots);
	free(t);
}

static int64_t symtab_find(const struct render_symtab *t, const char *p, size_t len)
{
	for (size_t h = name_hash(p, len) & t->mask; t->slots[h]; h = (h + 1) & t->mask) {
		size_t ol;
		const char *o = symtab_name(t, t->slots[h] - 1, &ol);
		if (o && ol == len && !memcmp(o, p, len))
			return (int64_t)t->slots[h] - 1;
	}
	return -1;
}

/* The name-order number of a definition of exactly (p, len), or -1. */
static int64_t symbol_number(const struct render_symtab *syms, const struct index *ix, const char *p,
			     size_t len)
{
	size_t lo, hi;
	if (!ix || len < 2 || len > 255)
		return -1;
	if (syms && syms->ix == ix)
		return symtab_find(syms, p, len);
	index_symbol_find(ix, p, len, &lo, &hi);
	for (size_t i = lo; i < hi; i++) {
		const struct index_symbol *s = index_symbol_by_name(ix, i);
		const char *name = index_symbol_name(ix, s);
		if (name && s->len == len && !memcmp(name, p, len))
			return (int64_t)i;
	}
	return -1;
}

static int add_decorations(const struct render_ctx *c, const struct render_view *v, struct buf *out)
{
	int r = 0;
	if (c->hooks && c->hooks->overlay && (r = c->hooks->overlay(c->hooks->ctx, v, out)))
		return r;
	if (c->hooks && c->hooks->mark && (r = c->hooks->mark(c->hooks->ctx, v, out)))
		return r;
	return 0;
}

/* Find the page [from, to] of a text: at most `lines` lines and RENDER_PAGE_BYTES. */
static void page_of(const unsigned char *p, size_t len, uint64_t from, uint64_t lines, size_t *off, size_t *end,
		    uint64_t *to)
{
	const unsigned char *q = p, *e = p + len, *nl;
	uint64_t line = 1;
	while (line < from && q < e && (nl = memchr(q, '\n', (size_t)(e - q)))) {
		q = nl + 1;
		line++;
	}
	*off = (size_t)(q - p);
	*to = line - 1;
	while (q < e && *to - from + 1 < lines && (size_t)(q - p) - *off < RENDER_PAGE_BYTES) {
		nl = memchr(q, '\n', (size_t)(e - q));
		q = nl ? nl + 1 : e;
		(*to)++;
	}
	*end = (size_t)(q - p);
}

static void seg_add(struct layout *l, size_t off, size_t len, int64_t sym, uint8_t cls)
{
	struct seg *s;
	if (!len)
		return;
	if (l->n_segs && sym == SEG_TEXT && l->segs[l->n_segs - 1].sym == SEG_TEXT && l->segs[l->n_segs - 1].cls == cls &&
	    l->segs[l->n_segs - 1].off + l->segs[l->n_segs - 1].len == off) {
		l->segs[l->n_segs - 1].len += (uint32_t)len;
		return;
	}
	if (l->n_segs == l->cap_segs) {
		l->cap_segs = l->cap_segs ? 2 * l->cap_segs : 1024;
		l->segs = xrealloc(l->segs, l->cap_segs * sizeof(*l->segs));
	}
	s = &l->segs[l->n_segs++];
	s->off = (uint32_t)off;
	s->len = (uint32_t)len;
	s->sym = (int32_t)sym;
	s->cls = cls;
}

/*
 * Segments of (p + a, b - a) of the page p in class cls: when ix is not NULL, identifiers
 * defined in ix linked to their definitions and the others (keywords aside) marked as
 * names (SEG_NAME), whose references are asked by their place.
 */
static void seg_idents(const struct render_ctx *c, const struct index *ix, struct layout *l, const char *p,
		       size_t a, size_t b, uint8_t cls)
{
	size_t i = a, run = a;
	while (ix && i < b) {
		size_t s;
		int64_t sym;
		if (!is_ident_start((unsigned char)p[i]) || (i > a && is_ident((unsigned char)p[i - 1]))) {
			i++;
			continue;
		}
		s = i;
		while (i < b && is_ident((unsigned char)p[i]))
			i++;
		if ((sym = symbol_number(c->syms, ix, p + s, i - s)) < 0 || sym > INT32_MAX) {
			if (cls == SHORT_KEYWORD)
				continue;
			sym = SEG_NAME;
		}
		seg_add(l, run, s - run, SEG_TEXT, cls);
		seg_add(l, s, i - s, sym, cls);
		run = i;
	}
	seg_add(l, run, b - run, SEG_TEXT, cls);
}

/*
 * The layout of the page [off, end) of text (lines from `from`) with the file's highlight
 * spans sp (sorted, not overlapping) and, when ix is not NULL, its definition links.
 */
static struct layout *layout_build(const struct render_ctx *c, const struct index *ix, const unsigned char *text,
				   size_t off, size_t end, const struct hl_span *sp, size_t n)
{
	struct layout *l = xcalloc(1, sizeof(*l));
	const char *p = (const char *)text + off;
	size_t cap = 256, k = 0, q = 0, len = end - off;
	l->line_off = xmalloc(cap * sizeof(uint32_t));
	l->line_seg = xmalloc(cap * sizeof(uint32_t));
	while (q < len) {
		const char *nl = memchr(p + q, '\n', len - q);
		size_t ll = nl ? (size_t)(nl - (p + q)) : len - q, cut = ll > RENDER_LINE_MAX ? RENDER_LINE_MAX : ll;
		size_t pos = q, stop = q + cut;
		if (l->n_lines + 2 > cap) {
			cap *= 2;
			l->line_off = xrealloc(l->line_off, cap * sizeof(uint32_t));
			l->line_seg = xrealloc(l->line_seg, cap * sizeof(uint32_t));
		}
		l->line_off[l->n_lines] = (uint32_t)q;
		l->line_seg[l->n_lines++] = (uint32_t)l->n_segs;
		/* spans are offsets of the whole file: off + pos is where this line stands */
		while (k < n && sp[k].end <= off + pos)
			k++;
		while (pos < stop) {
			size_t j = k, a, b;
			uint8_t cls;
			while (j < n && sp[j].end <= off + pos)
				j++;
			if (j >= n || sp[j].start >= off + stop) {
				seg_idents(c, ix, l, p, pos, stop, 0);
				break;
			}
			a = sp[j].start > off + pos ? sp[j].start - off : pos;
			b = sp[j].end - off < stop ? sp[j].end - off : stop;
			if (a > pos)
				seg_idents(c, ix, l, p, pos, a, 0);
			cls = short_class(sp[j].cls);
			/* words of comments and strings are prose, not references to definitions */
			seg_idents(c, cls == SHORT_STRING || cls == SHORT_COMMENT ? NULL : ix, l, p, a, b, cls);
			pos = b;
		}
		q += ll + (nl != NULL);
	}
	l->line_off[l->n_lines] = (uint32_t)len;
	l->line_seg[l->n_lines] = (uint32_t)l->n_segs;
	l->bytes = sizeof(*l) + l->cap_segs * sizeof(*l->segs) + 2 * cap * sizeof(uint32_t);
	return l;
}

/*
 * What each ASCII byte becomes on the page: transformed for the session when the transform
 * hook maps code points one by one (render_hooks.per_char), then escaped. n[b] is 0 when
 * a byte has no entry, and such bytes go through add_code.
 */
#define ASCII_VARIANTS 4 /* as many as the cipher font has homophones (cipherfont.h) */
struct ascii_map {
	char s[128][ASCII_VARIANTS][8]; /* a transform may write a byte several ways (homophones) */
	uint8_t n[128][ASCII_VARIANTS];
	uint64_t x;                     /* which way, for each occurrence */
};

static int ascii_map_make(const struct render_ctx *c, const struct render_view *v, struct buf *tmp,
			  struct ascii_map *m)
{
	struct buf one;
	int r = 0;
	memset(m, 0, sizeof(*m));
	randombytes_buf(&m->x, sizeof(m->x));
	m->x |= 1;
	if (c->hooks && c->hooks->transform && !c->hooks->per_char)
		return 0;
	buf_init(&one, 64);
	for (int b = 0; b < 128 && !r; b++)
		for (int k = 0; k < ASCII_VARIANTS && !r; k++) {
			char ch = (char)b;
			buf_reset(&one);
			if (!(r = add_code(c, v, tmp, &ch, 1, 0, &one)) && one.len <= sizeof(m->s[b][k])) {
				memcpy(m->s[b][k], one.p, one.len);
				m->n[b][k] = (uint8_t)one.len;
			} else {
				m->n[b][0] = 0; /* one way missing: the byte goes through add_code */
				break;
			}
		}
	if (one.p)
		sodium_memzero(one.p, one.cap);
	buf_release(&one);
	return r;
}

/* Append the code bytes (p, len) as shown: ASCII through the map, the rest through add_code. */
static int emit_code(const struct render_ctx *c, const struct render_view *v, struct buf *tmp,
		     struct ascii_map *m, const char *p, size_t len, struct buf *out)
{
	size_t i = 0;
	int r;
	while (i < len) {
		size_t run = i;
		char *d;
		if (buf_grow(out, 8 * (len - i) + 8))
			return ERR_TOOBIG;
		d = out->p + out->len;
		while (i < len && (unsigned char)p[i] < 0x80 && m->n[(unsigned char)p[i]][0]) {
			unsigned k;
			m->x ^= m->x << 13, m->x ^= m->x >> 7, m->x ^= m->x << 17;
			k = (unsigned)(m->x >> 40) % ASCII_VARIANTS;
			memcpy(d, m->s[(unsigned char)p[i]][k], 8);
			d += m->n[(unsigned char)p[i]][k];
			i++;
		}
		out->len = (size_t)(d - out->p);
		out->p[out->len] = 0;
		for (run = i; i < len && ((unsigned char)p[i] >= 0x80 || !m->n[(unsigned char)p[i]][0]); i++)
			;
		if (i > run && (r = add_code(c, v, tmp, p + run, i - run, 0, out)))
			return r;
	}
	return 0;
}

/* Append the decimal digits of x. */
static int add_u64(struct buf *out, uint64_t x)
{
	char d[24];
	size_t n = sizeof(d);
	do
		d[--n] = (char)('0' + x % 10);
	while ((x /= 10));
	return buf_add(out, d + n, sizeof(d) - n);
}

/* The code of line i of the layout (p: the layout's first byte; def: the href prefix of
 * definition links): one element per highlight run, a link per definition. */
/* Matches of find in file: sorted, not overlapping [a, b) offsets from the page's first
 * byte, and a cursor that only moves forward as the page is emitted. */
struct marks {
	uint32_t (*r)[2];
	size_t n, cap, at;
};

/* Append the code (p + a, b - a) with the matches of mk inside <mark class=f>. */
static int emit_marked(const struct render_ctx *c, const struct render_view *v, struct buf *tmp,
		       struct ascii_map *m, const char *p, size_t a, size_t b, struct marks *mk, struct buf *out)
{
	int r;
	while (mk && a < b) {
		size_t s, e;
		while (mk->at < mk->n && mk->r[mk->at][1] <= a)
			mk->at++;
		if (mk->at == mk->n || mk->r[mk->at][0] >= b)
			break;
		s = mk->r[mk->at][0] > a ? mk->r[mk->at][0] : a;
		e = mk->r[mk->at][1] < b ? mk->r[mk->at][1] : b;
		if ((s > a && (r = emit_code(c, v, tmp, m, p + a, s - a, out))) || (r = buf_addstr(out, "<mark class=f>")) ||
		    (r = emit_code(c, v, tmp, m, p + s, e - s, out)) || (r = buf_addstr(out, "</mark>")))
			return r;
		a = e;
	}
	return a < b ? emit_code(c, v, tmp, m, p + a, b - a, out) : 0;
}

/* The code of line i of the layout (p: the layout's first byte; def: the href prefix of
 * definition links; mk: matches of find in file, or NULL): one element per highlight run,
 * a link per definition. */
static int emit_line(const struct render_ctx *c, const struct render_view *v, struct buf *tmp,
		     struct ascii_map *m, const struct layout *l, const struct buf *def, size_t i,
		     const char *p, struct marks *mk, struct buf *out)
{
	uint8_t cls = 0;
	int r;
	for (size_t k = l->line_seg[i]; k < l->line_seg[i + 1]; k++) {
		const struct seg *s = &l->segs[k];
		if (s->cls != cls) {
			if ((cls && (r = buf_addstr(out, "</span>"))) ||
			    (s->cls && ((r = buf_addstr(out, "<span class=")) || (r = buf_addstr(out, short_names[s->cls])) ||
					(r = buf_addch(out, '>')))))
				return r;
			cls = s->cls;
		}
		if (s->sym >= 0 && ((r = buf_addstr(out, "<a class=d href=\"")) || (r = buf_add(out, def->p, def->len)) ||
				    (r = add_u64(out, (uint64_t)s->sym)) || (r = buf_addstr(out, "\">"))))
			return r;
		if (s->sym == SEG_NAME && (r = buf_addstr(out, "<a class=u>")))
			return r;
		if ((r = emit_marked(c, v, tmp, m, p, s->off, (size_t)s->off + s->len, mk, out)) ||
		    (s->sym != SEG_TEXT && (r = buf_addstr(out, "</a>"))))
			return r;
	}
	if (cls && (r = buf_addstr(out, "</span>")))
		return r;
	return 0;
}

/* The byte length of line i of the layout, without its newline. */
static size_t layout_line_len(const struct layout *l, size_t i, const char *p)
{
	size_t ll = l->line_off[i + 1] - l->line_off[i];
	if (ll && p[l->line_off[i + 1] - 1] == '\n')
		ll--;
	return ll;
}

/* The href prefix of definition links: "/r/<P@V>/def?n=". */
static int def_prefix(const struct render_ctx *c, struct buf *def)
{
	return add_href(def, c->product, c->version, "def", NULL, 0) || buf_addstr(def, "?n=") ? ERR_TOOBIG : 0;
}

/* The page's lines from the layout: one element per line, one per highlight run. */
static int emit_page(const struct render_ctx *c, const struct render_view *v, struct buf *tmp,
		     struct ascii_map *m, const struct layout *l, const char *p, uint64_t from,
		     struct marks *mk, struct buf *out)
{
	struct buf def;
	int r = 0;
	buf_init(&def, 4096);
	if ((r = def_prefix(c, &def)))
		goto out;
	for (size_t i = 0; i < l->n_lines; i++) {
		uint64_t line = from + i;
		if ((r = buf_addstr(out, "<div class=l id=\"L")) || (r = add_u64(out, line)) ||
		    (r = buf_addstr(out, "\"><a class=n data-n=")) || (r = add_u64(out, line)) ||
		    (r = buf_addstr(out, "></a><span class=c>")) || (r = emit_line(c, v, tmp, m, l, &def, i, p, mk, out)) ||
		    (r = buf_addstr(out, "</span>")))
			goto out;
		/* a line cut at RENDER_LINE_MAX: the rest is a request away (charged as it is shown) */
		if (layout_line_len(l, i, p) > RENDER_LINE_MAX &&
		    ((r = buf_addstr(out, "<a class=cut href=\"?from=")) || (r = add_u64(out, line)) ||
		     (r = buf_addf(out, "&amp;part=1\">%zu more bytes</a>", layout_line_len(l, i, p) - RENDER_LINE_MAX))))
			goto out;
		if ((r = buf_addstr(out, "</div>\n")))
			goto out;
	}
out:
	buf_release(&def);
	return r;
}

/*
 * The spans of (src, len) as lang from the worker hd (none: plain, 0); ERR_IO or ERR_BUSY
 * when it failed (the page is plain: *n is 0). The one way a page gets its colours: the
 * room does not parse code itself.
 */
static int highlight_via(struct highlightd *hd, enum hl_lang lang, const char *src, size_t len, uint64_t budget_us,
			 struct hl_span **spans, size_t *n)
{
	int r;
	*spans = NULL;
	*n = 0;
	if (!hd)
		return 0;
	if ((r = highlightd_spans(hd, lang, src, len, budget_us, spans, n))) {
		free(*spans);
		*spans = NULL;
		*n = 0;
	}
	return r;
}

/*
 * The layout of the page [off, end) of file e (its text, len; lines from `from`) of the
 * release ref, from the cache or made and kept there; identifiers linked to ix's
 * definitions when ix is not NULL. A reference: layout_put it. from 0 is the whole file
 * (diffs).
 */
static struct layout *layout_get(const struct render_ctx *c, struct highlightd *hd, const struct index *ix,
				 const char *ref, const struct manifest_entry *e, const unsigned char *text, size_t len,
				 uint64_t from, size_t off, size_t end)
{
	enum hl_lang lang = hl_lang_detect(e->path, e->path_len, (const char *)text, len);
	struct layout *l;
	struct hl_span *spans = NULL;
	size_t n_spans = 0;
	int plain = 0;
	/* prose (Markdown, text: no language the room parses) makes no links: its words are
	 * not references */
	if (lang == HL_NONE)
		ix = NULL;
	if ((l = layout_find(c->cache, e->sha256, ref, from, end - off, ix != NULL)))
		return l;
	/* the spans come from the release's highlight worker; when it fails the page is plain,
	 * and not kept, so that the next view has its colours again */
	if (len && lang != HL_NONE && highlight_via(hd, lang, (const char *)text, len, RENDER_HIGHLIGHT_BUDGET_US, &spans, &n_spans))
		plain = 1;
	l = layout_build(c, ix, text ? text : (const unsigned char *)"", off, end, spans, n_spans);
	free(spans);
	memcpy(l->id, e->sha256, 32);
	snprintf(l->release, sizeof(l->release), "%s", ref);
	l->from = from;
	l->span = end - off;
	l->linked = ix != NULL;
	l->refs = 1;
	if (!plain)
		layout_keep(c->cache, l);
	return l;
}

/*
 * Find in file: the matches of (q, n) in the window [off, end) of t, literal (ASCII case
 * folded when caseless), never across a line, not overlapping, at most RENDER_FIND_MAX,
 * into mk as offsets from off. Nothing outside the lines shown is looked at: not the lines
 * beyond the window, nor a long line's bytes past RENDER_LINE_MAX (the page cuts the line
 * there); a count or a place beyond what is shown (and charged) would tell what it holds.
 */
static void find_in_window(const unsigned char *t, const char *q, size_t n, int caseless, size_t off, size_t end,
			   struct marks *mk)
{
	if (!t || !n)
		return;
	for (size_t ls = off; ls < end && mk->n < RENDER_FIND_MAX;) {
		const unsigned char *nl = memchr(t + ls, '\n', end - ls);
		size_t le = nl ? (size_t)(nl - t) : end, stop = le - ls > RENDER_LINE_MAX ? ls + RENDER_LINE_MAX : le;
		for (size_t i = ls; i + n <= stop && mk->n < RENDER_FIND_MAX;) {
			size_t k = 0;
			while (k < n && (caseless ? index_fold(t[i + k]) == index_fold((unsigned char)q[k])
						  : t[i + k] == (unsigned char)q[k]))
				k++;
			if (k < n) {
				i++;
				continue;
			}
			if (mk->n == mk->cap) {
				mk->cap = mk->cap ? 2 * mk->cap : 64;
				mk->r = xrealloc(mk->r, mk->cap * sizeof(*mk->r));
			}
			mk->r[mk->n][0] = (uint32_t)(i - off);
			mk->r[mk->n][1] = (uint32_t)(i - off + n);
			mk->n++;
			i += n;
		}
		ls = le + 1;
	}
}

/* A link to the window from line `from` with the find in file kept, and `hash` ("#find-first"
 * or "#find-last": where the steps start). */
static int find_href(struct buf *out, const struct render_ctx *c, const struct manifest_entry *e, uint64_t from,
		     const char *hash)
{
	int r;
	if ((r = add_href(out, c->product, c->version, "blob", e->path, e->path_len)) ||
	    (r = buf_addf(out, "?from=%" PRIu64 "&amp;find=", from)) || (r = add_url_path(out, c->find, c->find_len)) ||
	    (c->find_caseless && (r = buf_addstr(out, "&amp;fi=1"))))
		return r;
	return buf_addstr(out, hash);
}

/*
 * A binary file (a NUL byte where git looks for one, or an image that does not decode):
 * named as such with its size and kind, and why an image was not shown (`why`, an
 * image.h message, or NULL), no line shown or charged; the view is logged all the same.
 */
static int render_binary(const struct render_ctx *c, const struct manifest_entry *e, const unsigned char *text,
			 size_t len, const char *why, struct buf *out)
{
	struct render_view v = {0};
	struct grant_info g;
	char blob[65];
	const char *k = image_kind_name(image_sniff(text, len));
	json_t *x;
	int r;
	v.kind = "view";
	v.path = e->path;
	hex_encode(blob, e->sha256, 32);
	x = json_object();
	logdb_entry_strn(x, "path", e->path, e->path_len);
	logdb_entry_str(x, "blob", blob);
	logdb_entry_set(x, "lines", json_pack("[I,I]", (json_int_t)0, (json_int_t)0));
	logdb_entry_set(x, "binary", json_true());
	if ((r = admit(c, &v, &g, NULL, x)))
		return r;
	if ((r = buf_addstr(out, "<div class=\"code\" id=\"code\">")) || (r = add_decorations(c, &v, out)))
		return r;
	if ((r = buf_addstr(out, "<p class=\"note binary\" id=\"binary\">binary")))
		return r;
	if (k && ((r = buf_addf(out, " (a %s image", k)) ||
		  (why && ((r = buf_addstr(out, ": ")) || (r = render_escape(out, why, strlen(why))))) ||
		  (r = buf_addch(out, ')'))))
		return r;
	return buf_addf(out, ", %zu bytes</p></div>", len);
}

/*
 * An image (one that image.h decodes): scaled to RENDER_IMAGE_SIDE, marked by the image
 * hook, encoded as JPEG, charged (a line per RENDER_IMAGE_LINE_PX rows shown, the JPEG's
 * bytes spread over them), logged, then shown inline; *kind says what it was. ERR_PARSE or
 * ERR_TOOBIG when it does not decode (the caller names it as binary); ERR_DENIED from the
 * grant or quota.
 */
static int render_image(const struct render_ctx *c, const struct manifest_entry *e, const unsigned char *text,
			size_t len, struct buf *out, struct render_kind *kind)
{
	struct render_view v = {0};
	struct grant_info g;
	struct shown sh = {0};
	unsigned char *rgb = NULL;
	struct buf jpg;
	char blob[65];
	uint64_t rows;
	int w, h, w0, h0, r;
	json_t *x;
	buf_init(&jpg, (size_t)RENDER_IMAGE_SIDE * RENDER_IMAGE_SIDE * 3 + 4096);
	/* decoded and scaled by the release's image worker: the room runs no image decoder */
	if (!c->im)
		return err_set(ERR_PARSE, "image: not decoded (no image worker)");
	if ((r = imaged_decode(c->im, text, len, RENDER_IMAGE_SIDE, &rgb, &w0, &h0, &w, &h))) {
		if (r == ERR_IO)
			r = err_set(ERR_PARSE, "image: not decoded (the image worker failed)");
		return r;
	}
	v.kind = "view";
	v.path = e->path;
	rows = ((uint64_t)h + RENDER_IMAGE_LINE_PX - 1) / RENDER_IMAGE_LINE_PX;
	v.line_from = 1;
	v.line_to = rows;
	v.lines = rows;
	v.now = c->now ? c->now : (int64_t)time(NULL);
	v.who = c->who;
	v.product = c->product;
	v.version = c->version;
	/* the marks name the session: drawn before encoding, so that no unmarked copy is made */
	if (c->hooks && c->hooks->image && (r = c->hooks->image(c->hooks->ctx, &v, rgb, w, h)))
		goto out;
	if ((r = image_encode_jpeg(rgb, w, h, RENDER_IMAGE_QUALITY, &jpg)))
		goto out;
	hex_encode(blob, e->sha256, 32);
	for (uint64_t i = 0; i < rows; i++)
		shown_add(&sh, NULL, blob, e->path, i + 1, jpg.len / rows + (i < jpg.len % rows));
	v.shown = sh.v;
	v.n_shown = sh.n;
	x = json_object();
	logdb_entry_strn(x, "path", e->path, e->path_len);
	logdb_entry_str(x, "blob", blob);
	logdb_entry_set(x, "lines", json_pack("[I,I]", (json_int_t)1, (json_int_t)rows));
	logdb_entry_set(x, "image", json_pack("{s:I,s:I,s:I}", "width", (json_int_t)w, "height", (json_int_t)h,
					      "bytes", (json_int_t)jpg.len));
	r = admit(c, &v, &g, NULL, x);
	shown_release(&sh);
	if (r)
		goto out;
	if ((r = buf_addstr(out, "<div class=\"code image\" id=\"code\">")) || (r = add_decorations(c, &v, out)) ||
	    (r = buf_addf(out, "<img id=\"image\" alt=\"\" width=\"%d\" height=\"%d\" src=\"data:image/jpeg;base64,", w, h)) ||
	    (r = buf_addb64(out, jpg.p, jpg.len)) ||
	    (r = buf_addf(out, "\"><p class=\"note\" id=\"image-size\">%s image, %d×%d pixels%s, %zu bytes</p></div>",
			  image_kind_name(image_sniff(text, len)), w0, h0, w != w0 ? " (shown smaller)" : "", len)))
		goto out;
	kind->image = image_kind_name(image_sniff(text, len));
	kind->width = w0;
	kind->height = h0;
	kind->lines = rows;
out:
	if (rgb)
		sodium_memzero(rgb, (size_t)w * h * 3);
	free(rgb);
	sodium_memzero(jpg.p, jpg.len);
	buf_release(&jpg);
	return r;
}

/* A file's outline: its definitions (xref.h) in order, at most RENDER_OUTLINE_MAX. */
struct outline {
	struct {
		uint32_t line;
		unsigned kind;
		const char *name;
		size_t len;
	} *v;
	size_t n, cap;
};

static int outline_add(void *ctx, const struct xref_loc *l, const char *name, size_t len)
{
	struct outline *o = ctx;
	if (o->n == RENDER_OUTLINE_MAX)
		return 1;
	if (o->n == o->cap) {
		o->cap = o->cap ? 2 * o->cap : 64;
		o->v = xrealloc(o->v, o->cap * sizeof(*o->v));
	}
	o->v[o->n].line = l->line;
	o->v[o->n].kind = l->kind;
	o->v[o->n].name = name;
	o->v[o->n].len = len;
	o->n++;
	return 0;
}

/* The outline beside the code: each definition's kind and name (code, through the
 * session's transform), linked to its line. */
static int emit_outline(const struct render_ctx *c, const struct render_view *v, struct buf *tmp,
			struct ascii_map *m, const struct manifest_entry *e, const struct outline *o,
			struct buf *out)
{
	int r;
	if (!o->n)
		return 0;
	if ((r = buf_addstr(out, "<div class=\"code outline\" id=\"outline\"><div class=oh>outline</div>")))
		return r;
	for (size_t i = 0; i < o->n; i++)
		if ((r = buf_addstr(out, "<a class=o href=\"")) ||
		    (r = render_blob_href(out, c->product, c->version, e->path, e->path_len, o->v[i].line)) ||
		    (r = buf_addf(out, "\" data-line=%u><span class=k>%s</span><span class=c>", o->v[i].line,
				  xref_kind_name(o->v[i].kind))) ||
		    (r = emit_code(c, v, tmp, m, o->v[i].name, o->v[i].len, out)) || (r = buf_addstr(out, "</span></a>")))
			return r;
	return buf_addstr(out, "</div>");
}

static int render_line_part(const struct render_ctx *c, const struct manifest_entry *e, const unsigned char *text,
			    size_t len, uint64_t line, struct buf *out, uint64_t *shown_to, uint64_t *n_lines);

int render_file_text(const struct render_ctx *c, const struct manifest_entry *e, const unsigned char *text,
		     size_t len, uint64_t from, struct buf *out, uint64_t *shown_to, uint64_t *n_lines,
		     struct render_kind *kind)
{
	struct render_kind kn = {0};
	struct outline ol = {0};
	struct marks mk = {0};
	struct render_view v = {0};
	struct grant_info g;
	struct shown sh = {0};
	struct buf tmp;
	struct ascii_map *m = NULL;
	struct layout *l = NULL;
	size_t off, end;
	uint64_t to;
	char blob[65], ref[2 * RELEASE_NAME_MAX + 2];
	int r, linked = c->ix != NULL;
	json_t *x;

	if (!text)
		len = 0;
	if (!from)
		from = 1;
	if (!kind)
		kind = &kn;
	memset(kind, 0, sizeof(*kind));
	/* an image is shown as one (marked, charged), whether or not it has a NUL byte where
	 * git looks for one; an image that does not decode is named as binary with why, or
	 * read as text when it has none (a text file that begins as an image would) */
	if (image_sniff(text, len) != IMAGE_NONE) {
		char why[256];
		*shown_to = *n_lines = 0;
		r = render_image(c, e, text, len, out, kind);
		if (r != ERR_PARSE && r != ERR_TOOBIG) {
			kind->binary = 1;
			return r;
		}
		snprintf(why, sizeof(why), "%s", err_msg());
		if (diff_is_binary(text, len)) {
			kind->binary = 1;
			return render_binary(c, e, text, len, why + (strncmp(why, "image: ", 7) ? 0 : 7), out);
		}
	}
	if (c->part && !diff_is_binary(text, len))
		return render_line_part(c, e, text, len, from, out, shown_to, n_lines);
	if (diff_is_binary(text, len)) {
		*shown_to = *n_lines = 0;
		kind->binary = 1;
		return render_binary(c, e, text, len, NULL, out);
	}
	*n_lines = render_count_lines(text, len);
	kind->lang = hl_lang_name(hl_lang_detect(e->path, e->path_len, (const char *)text, len));
	if (from > *n_lines && *n_lines)
		from = *n_lines;
	page_of(text ? text : (const unsigned char *)"", len, from,
		c->window && c->window < RENDER_PAGE_LINES ? c->window : RENDER_PAGE_LINES, &off, &end, &to);
	*shown_to = to;
	v.kind = "view";
	v.path = e->path;
	v.line_from = to >= from ? from : 0;
	v.line_to = to >= from ? to : 0;
	v.lines = to >= from ? to - from + 1 : 0;
	hex_encode(blob, e->sha256, 32);
	for (size_t q = off, line = from; q < end; line++) {
		const unsigned char *nl = memchr(text + q, '\n', end - q);
		size_t ll = nl ? (size_t)(nl - (text + q)) : end - q;
		shown_add(&sh, NULL, blob, e->path, line, ll);
		q += ll + (nl != NULL);
	}
	if (c->find && c->find_len)
		find_in_window(text, c->find, c->find_len, c->find_caseless, off, end, &mk);
	/* the outline shows each definition's name: a part of its line, charged as that line */
	if (c->xr && xref_file_definitions(c->xr, e, outline_add, &ol) < 0)
		ol.n = 0;
	{
		/* the names beyond the window, as far as what is left of the budget goes (a name
		 * outside it is left out of the outline, not asked) */
		uint64_t room = UINT64_MAX;
		size_t k = 0;
		if (c->lines_left && *c->lines_left >= 0)
			room = (uint64_t)*c->lines_left > v.lines ? (uint64_t)*c->lines_left - v.lines : 0;
		for (size_t i = 0; i < ol.n; i++) {
			if (ol.v[i].line < v.line_from || ol.v[i].line > v.line_to) {
				if (!room)
					continue;
				room--;
				shown_add(&sh, NULL, blob, e->path, ol.v[i].line, ol.v[i].len);
			}
			ol.v[k++] = ol.v[i];
		}
		ol.n = k;
	}
	v.shown = sh.v;
	v.n_shown = sh.n;
	x = json_object();
	logdb_entry_strn(x, "path", e->path, e->path_len);
	logdb_entry_str(x, "blob", blob);
	logdb_entry_set(x, "lines", json_pack("[I,I]", (json_int_t)v.line_from, (json_int_t)v.line_to));
	if (ol.n) {
		/* the lines whose definition names the outline shows */
		json_t *a = json_array();
		for (size_t i = 0; i < ol.n && a; i++)
			if (json_array_append_new(a, json_integer(ol.v[i].line)))
				json_decref(a), a = NULL;
		logdb_entry_set(x, "outline", a);
	}
	if (c->find && c->find_len) {
		logdb_entry_strn(x, "find", c->find, c->find_len);
		logdb_entry_int(x, "found", (int64_t)mk.n);
	}
	r = admit(c, &v, &g, NULL, x);
	shown_release(&sh);
	if (r) {
		free(ol.v);
		free(mk.r);
		return r;
	}
	buf_init(&tmp, RENDER_LINE_MAX * 8 + 64);
	snprintf(ref, sizeof(ref), "%s@%s", c->product, c->version);
	l = layout_get(c, c->hl, linked ? c->ix : NULL, ref, e, text, len, from, off, end);
	m = sodium_malloc(sizeof(*m));
	if (!m)
		BUG("sodium_malloc");
	if ((r = ascii_map_make(c, &v, &tmp, m)))
		goto out;
	/* one allocation for the page: the ciphered text is about 4 bytes a byte */
	if ((r = buf_grow(out, 4 * (end - off) + 64 * l->n_lines + 48 * l->n_segs + 4096)))
		goto out;
	if (c->find && c->find_len) {
		/* the matches of find in file in this window, and the windows before and after */
		uint64_t w = c->window && c->window < RENDER_PAGE_LINES ? c->window : RENDER_PAGE_LINES;
		if ((r = buf_addf(out, "<div class=\"findbar\" id=\"findbar\"><span id=\"find-count\">%s%zu match%s in lines %"
				       PRIu64 "-%" PRIu64 "</span>",
				  mk.n == RENDER_FIND_MAX ? "at least " : "", mk.n, mk.n == 1 ? "" : "es", v.line_from, v.line_to)) ||
		    (from > 1 && ((r = buf_addstr(out, " <a id=\"find-prev\" href=\"")) ||
				  (r = find_href(out, c, e, from > w ? from - w : 1, "#find-last")) ||
				  (r = buf_addstr(out, "\">previous window</a>")))) ||
		    (to < *n_lines && ((r = buf_addstr(out, " <a id=\"find-next\" href=\"")) ||
				       (r = find_href(out, c, e, to + 1, "#find-first")) ||
				       (r = buf_addstr(out, "\">next window</a>")))) ||
		    (r = buf_addstr(out, " <span class=note>n / N: next / previous (past the window: the next window, charged as any)</span></div>")))
			goto out;
	}
	if ((r = buf_addstr(out, "<div class=\"code\" id=\"code\">")) || (r = add_decorations(c, &v, out)) ||
	    (r = emit_page(c, &v, &tmp, m, l, (const char *)text + off, from, c->find ? &mk : NULL, out)) ||
	    (r = buf_addstr(out, "</div>")))
		goto out;
	r = emit_outline(c, &v, &tmp, m, e, &ol, out);
out:
	if (m)
		sodium_free(m);
	free(ol.v);
	free(mk.r);
	layout_put(c->cache, l);
	wipe(&tmp);
	return r;
}

int render_blob_href(struct buf *out, const char *product, const char *version, const char *path, size_t path_len,
		     uint64_t line)
{
	int r;
	/* ?at=N: the room's window around line N (web.c) */
	if ((r = add_href(out, product, version, "blob", path, path_len)))
		return r;
	return line ? buf_addf(out, "?at=%" PRIu64 "#L%" PRIu64, line, line) : 0;
}

/* The bytes of line `line` (1-based) of (p, len): *off and the length, or 0 past the end. */
static size_t line_at(const unsigned char *p, size_t len, uint64_t line, size_t *off)
{
	const unsigned char *q = p, *e = p + len, *nl;
	*off = 0;
	if (!p || !line)
		return 0;
	for (uint64_t i = 1; i < line; i++) {
		if (!(nl = memchr(q, '\n', (size_t)(e - q))))
			return 0;
		q = nl + 1;
	}
	if (q >= e)
		return 0;
	*off = (size_t)(q - p);
	nl = memchr(q, '\n', (size_t)(e - q));
	return (size_t)((nl ? nl : e) - q);
}

/*
 * The k-th name (0-based: definition links and names alike, in the order the file view
 * shows them) of line `line` of e's text: its offset and length in text. The names are
 * the file view's own (the same layout), so a place the view shows is the place asked.
 */
int render_name_at(const struct render_ctx *c, const struct manifest_entry *e, const unsigned char *text,
		   size_t len, uint64_t line, uint64_t k, size_t *off, size_t *name_len)
{
	char ref[2 * RELEASE_NAME_MAX + 2];
	size_t lo, ll = line_at(text, len, line, &lo);
	struct layout *l;
	int r = ERR_NOTFOUND;
	if (!c->ix || !ll)
		return err_set(ERR_NOTFOUND, "references: no name there");
	snprintf(ref, sizeof(ref), "%s@%s", c->product, c->version);
	l = layout_get(c, c->hl, c->ix, ref, e, text, len, line, lo, lo + ll);
	for (size_t i = l->line_seg[0]; l->n_lines && i < l->line_seg[1]; i++)
		if (l->segs[i].sym != SEG_TEXT && !k--) {
			*off = lo + l->segs[i].off;
			*name_len = l->segs[i].len;
			r = 0;
			break;
		}
	layout_put(c->cache, l);
	return r ? err_set(ERR_NOTFOUND, "references: no name there") : 0;
}

/*
 * Part c->part (>= 1) of line `line`: its bytes [part, part + 1) x RENDER_LINE_MAX, the rest
 * of a line the file view cut, as a view of its own: charged as a line whose ledger key is
 * line + part x RENDER_PART_KEY (so that each part costs once a day, as a line does) and
 * logged as a view with "part". ERR_NOTFOUND past the file's lines, and past the line's end
 * only once the part was admitted and charged (a free answer would tell lengths of lines
 * not shown).
 */
static int render_line_part(const struct render_ctx *c, const struct manifest_entry *e, const unsigned char *text,
			    size_t len, uint64_t line, struct buf *out, uint64_t *shown_to, uint64_t *n_lines)
{
	struct render_view v = {0};
	struct grant_info g;
	struct shown sh = {0};
	struct buf tmp;
	char blob[65];
	size_t off, ll, a, b;
	uint64_t part = c->part;
	int r, exists;
	json_t *x;
	*n_lines = render_count_lines(text, len);
	*shown_to = 0;
	if (!line || line > *n_lines || part >= RENDER_PART_KEY) /* the file's lines are on its page */
		return err_set(ERR_NOTFOUND, "line %" PRIu64 " has no part %" PRIu64, line, part);
	ll = line_at(text, len, line, &off);
	/* whether the part exists tells the line's length: it is answered only once admitted
	 * and charged, as the part itself would be */
	exists = part <= ll / RENDER_LINE_MAX && (uint64_t)part * RENDER_LINE_MAX < ll;
	a = exists ? (size_t)part * RENDER_LINE_MAX : 0;
	b = !exists ? 0 : ll - a > RENDER_LINE_MAX ? a + RENDER_LINE_MAX : ll;
	*shown_to = line;
	v.kind = "view";
	v.path = e->path;
	v.line_from = v.line_to = line;
	v.lines = 1;
	hex_encode(blob, e->sha256, 32);
	shown_add(&sh, NULL, blob, e->path, line + part * RENDER_PART_KEY, b - a);
	v.shown = sh.v;
	v.n_shown = sh.n;
	x = json_object();
	logdb_entry_strn(x, "path", e->path, e->path_len);
	logdb_entry_str(x, "blob", blob);
	logdb_entry_set(x, "lines", json_pack("[I,I]", (json_int_t)line, (json_int_t)line));
	logdb_entry_int(x, "part", (int64_t)part);
	logdb_entry_set(x, "bytes", json_pack("[I,I]", (json_int_t)a, (json_int_t)b));
	r = admit(c, &v, &g, NULL, x);
	shown_release(&sh);
	if (r)
		return r;
	if (!exists)
		return err_set(ERR_NOTFOUND, "line %" PRIu64 " has no part %" PRIu64, line, part);
	buf_init(&tmp, RENDER_LINE_MAX * 8 + 64);
	if ((r = buf_addf(out, "<div class=\"findbar\" id=\"partbar\">line %" PRIu64 ", bytes %zu-%zu of %zu "
			       "<a id=\"part-back\" href=\"?at=%" PRIu64 "#L%" PRIu64 "\">back to the file</a>",
			  line, a + 1, b, ll, line, line)) ||
	    (part > 1 && (r = buf_addf(out, " <a id=\"part-prev\" href=\"?from=%" PRIu64 "&amp;part=%" PRIu64
					    "\">previous part</a>", line, part - 1))) ||
	    (r = buf_addstr(out, "</div><div class=\"code wrap\" id=\"code\">")) || (r = add_decorations(c, &v, out)) ||
	    (r = buf_addstr(out, "<div class=l id=\"L")) || (r = add_u64(out, line)) ||
	    (r = buf_addstr(out, "\"><a class=n data-n=")) || (r = add_u64(out, line)) ||
	    (r = buf_addstr(out, "></a><span class=c>")) ||
	    (r = add_code(c, &v, &tmp, (const char *)text + off + a, b - a, 0, out)) || (r = buf_addstr(out, "</span>")) ||
	    (b < ll && (r = buf_addf(out, "<a class=cut id=\"part-next\" href=\"?from=%" PRIu64 "&amp;part=%" PRIu64
					  "\">%zu more bytes</a>", line, part + 1, ll - b))) ||
	    (r = buf_addstr(out, "</div></div>")))
		goto out;
out:
	wipe(&tmp);
	return r;
}

int render_definitions_html(const struct render_ctx *c, const char *name, size_t name_len,
			    const struct render_place *pl, size_t n, struct buf *out)
{
	struct render_view v = {0};
	struct grant_info g;
	struct shown sh = {0};
	struct buf tmp;
	char (*blobs)[65] = xcalloc(n ? n : 1, sizeof(*blobs));
	json_t *x;
	int r;
	for (size_t i = 0; i < n; i++) {
		size_t off;
		hex_encode(blobs[i], pl[i].e->sha256, 32);
		shown_add(&sh, NULL, blobs[i], pl[i].e->path, pl[i].line, line_at(pl[i].text, pl[i].len, pl[i].line, &off));
	}
	v.kind = "definitions";
	v.lines = n;
	v.shown = sh.v;
	v.n_shown = sh.n;
	x = json_object();
	logdb_entry_int(x, "results", (int64_t)n);
	logdb_entry_int(x, "lines", (int64_t)n);
	{
		/* each line previewed: its blob and line number */
		json_t *a = json_array();
		for (size_t i = 0; i < n && a; i++)
			if (json_array_append_new(a, json_pack("[s,I]", blobs[i], (json_int_t)pl[i].line)))
				json_decref(a), a = NULL;
		logdb_entry_set(x, "places", a);
	}
	r = admit(c, &v, &g, NULL, x);
	shown_release(&sh);
	if (r)
		goto out0;
	buf_init(&tmp, RENDER_LINE_MAX * 8 + 64);
	if ((r = buf_addstr(out, "<div class=\"code defs\" id=\"code\">")) || (r = add_decorations(c, &v, out)) ||
	    (r = buf_addf(out, "<div class=dh>%zu definition%s of <span class=c id=\"defname\">", n, n == 1 ? "" : "s")) ||
	    (r = add_code(c, &v, &tmp, name, name_len, 0, out)) || (r = buf_addstr(out, "</span></div>\n")))
		goto out;
	for (size_t i = 0; i < n; i++) {
		size_t off, ll = line_at(pl[i].text, pl[i].len, pl[i].line, &off);
		if ((r = buf_addstr(out, "<div class=\"l d\"><a class=p href=\"")) ||
		    (r = render_blob_href(out, c->product, c->version, pl[i].e->path, pl[i].e->path_len, pl[i].line)) ||
		    (r = buf_addstr(out, "\">")) || (r = render_escape(out, pl[i].e->path, pl[i].e->path_len)) ||
		    (r = buf_addf(out, ":%u</a><span class=k>%s%s</span><span class=c>", pl[i].line, pl[i].kind,
				  pl[i].body ? "" : " (declaration)")) ||
		    (r = add_code(c, &v, &tmp, (const char *)pl[i].text + off, ll > RENDER_LINE_MAX ? RENDER_LINE_MAX : ll, 0,
				  out)) ||
		    (r = buf_addstr(out, "</span></div>\n")))
			goto out;
	}
	r = buf_addstr(out, "</div>");
out:
	wipe(&tmp);
out0:
	free(blobs);
	return r;
}

/*
 * Append a line's text with its match ranges in <mark> and its highlight runs in <span
 * class=..> (sp, n_sp: spans over the line, offsets from base; NULL: plain).
 */
static int add_marked(const struct render_ctx *c, const struct render_view *v, struct buf *tmp,
		      const struct search_line *l, const struct hl_span *sp, size_t n_sp, size_t base, struct buf *out)
{
	size_t pos = 0, len = l->len > RENDER_LINE_MAX ? RENDER_LINE_MAX : l->len, si = 0, k = 0;
	int r;
	while (pos < len) {
		size_t next = len;
		int in_span, in_mark;
		uint8_t cls = 0;
		while (si < n_sp && sp[si].end <= base + pos)
			si++;
		in_span = si < n_sp && sp[si].start <= base + pos;
		if (in_span) {
			cls = short_class(sp[si].cls);
			next = sp[si].end - base < next ? sp[si].end - base : next;
		} else if (si < n_sp && sp[si].start - base < next) {
			next = sp[si].start - base;
		}
		while (k < l->n_ranges && (l->ranges[k].end <= pos || l->ranges[k].end < l->ranges[k].start ||
					   l->ranges[k].end > len))
			k++;
		in_mark = k < l->n_ranges && l->ranges[k].start <= pos;
		if (in_mark)
			next = l->ranges[k].end < next ? l->ranges[k].end : next;
		else if (k < l->n_ranges && l->ranges[k].start < next)
			next = l->ranges[k].start;
		if ((in_mark && (r = buf_addstr(out, "<mark>"))) ||
		    (cls && ((r = buf_addstr(out, "<span class=")) || (r = buf_addstr(out, short_names[cls])) ||
			     (r = buf_addch(out, '>')))) ||
		    (r = add_code(c, v, tmp, l->text + pos, next - pos, 0, out)) || (cls && (r = buf_addstr(out, "</span>"))) ||
		    (in_mark && (r = buf_addstr(out, "</mark>"))))
			return r;
		pos = next;
	}
	return 0;
}

/* CLOCK_MONOTONIC in microseconds. */
static uint64_t mono_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000u + (uint64_t)t.tv_nsec / 1000u;
}

/*
 * Highlight the lines of result file i (each cut at RENDER_LINE_MAX) as one text, one line
 * after the other, in the file's language: *sp (free() it) holds spans over that text and
 * off[j] where line j starts in it. Lines apart in the file are parsed as neighbours, which
 * is close enough for a result's colours (a comment's middle line may show as code).
 *
 * *until is when the page's highlighting ends (CLOCK_MONOTONIC, us): a page has up to 50
 * result files, each a request to the worker that may wait for a channel and for the answer
 * (RENDER_HIGHLIGHT_BUDGET_US / 20 and the worker's grace, each), so that a worker that
 * answers slowly, or channels kept busy by other pages, would add up to minutes, past the
 * front's answer timeout (the room is then restarted). Past *until the rest are plain, and
 * once the worker failed or was busy *until is 0: the rest are plain too.
 */
static void search_spans(const struct render_ctx *c, const struct search_result *res, size_t i, struct hl_span **sp,
			 size_t *n_sp, size_t **off, uint64_t *until)
{
	size_t pl, nl = search_result_n_lines(res, i), total = 0;
	const char *path = search_result_path(res, i, &pl);
	enum hl_lang lang = hl_lang_for_path(path, pl);
	struct buf t;
	*sp = NULL;
	*n_sp = 0;
	uint64_t now = mono_us(), budget = RENDER_HIGHLIGHT_BUDGET_US / 20;
	*off = xcalloc(nl ? nl : 1, sizeof(**off));
	if (lang == HL_NONE || !c->hl || now >= *until)
		return;
	if (*until - now < budget)
		budget = *until - now;
	for (size_t j = 0; j < nl; j++) {
		const struct search_line *l = search_result_line(res, i, j);
		total += (l->len > RENDER_LINE_MAX ? RENDER_LINE_MAX : l->len) + 1;
	}
	buf_init(&t, total + 16);
	/* one allocation, wiped: a buffer that grew would leave the lines in the blocks it left */
	if (!buf_grow(&t, total))
		for (size_t j = 0; j < nl; j++) {
			const struct search_line *l = search_result_line(res, i, j);
			(*off)[j] = t.len;
			if (buf_add(&t, l->text, l->len > RENDER_LINE_MAX ? RENDER_LINE_MAX : l->len) || buf_addch(&t, '\n'))
				break;
		}
	if (highlight_via(c->hl, lang, t.p, t.len, budget, sp, n_sp))
		*until = 0;
	wipe(&t);
}

/* Every result and context line of res, charged to the release's grant. */
static void search_shown(const struct render_ctx *c, const struct search_result *res, struct shown *sh)
{
	const struct manifest *m = c->ix ? index_manifest(c->ix) : NULL;
	size_t nf = search_result_n_files(res);
	sh->blobs = xcalloc(nf ? nf : 1, sizeof(*sh->blobs));
	for (size_t i = 0; i < nf && m; i++) {
		size_t pl;
		const char *path = search_result_path(res, i, &pl);
		const struct manifest_entry *e = manifest_get(m, search_result_file(res, i));
		if (!e)
			continue;
		hex_encode(sh->blobs[i], e->sha256, 32);
		for (size_t j = 0; j < search_result_n_lines(res, i); j++) {
			const struct search_line *l = search_result_line(res, i, j);
			shown_add(sh, NULL, sh->blobs[i], e->path, l->line, l->len);
		}
		(void)path;
	}
}

uint64_t render_search_total(const struct search_result *res, uint64_t offset, int *at_least)
{
	uint64_t shown = 0, total = search_result_total(res);
	for (size_t i = 0; i < search_result_n_files(res); i++)
		for (size_t j = 0; j < search_result_n_lines(res, i); j++)
			shown += !search_result_line(res, i, j)->context;
	/* an exact count only as far as it is shown: more would be an oracle for code */
	*at_least = total > offset + shown;
	return *at_least ? offset + shown : total;
}

static json_t *search_extra(const char *query, const struct search_result *res)
{
	json_t *x = json_object();
	logdb_entry_str(x, "query", query);
	logdb_entry_int(x, "results", (int64_t)search_result_total(res));
	logdb_entry_int(x, "lines", (int64_t)search_result_lines_shown(res));
	return x;
}

/* Steps 1-3 of a page of search results, HTML or JSON alike: its lines charged, then logged. */
static int admit_search(const struct render_ctx *c, const char *query, const struct search_result *res,
			struct render_view *v, struct grant_info *g)
{
	struct shown sh = {0};
	int r;
	v->kind = "search";
	v->lines = search_result_lines_shown(res);
	search_shown(c, res, &sh);
	v->shown = sh.v;
	v->n_shown = sh.n;
	r = admit(c, v, g, NULL, search_extra(query, res));
	shown_release(&sh);
	/* the ledger's lines are the admission's: nothing after it points into them */
	v->shown = NULL;
	v->n_shown = 0;
	return r;
}

int render_search_html(const struct render_ctx *c, const char *query, const struct search_result *res,
		       struct buf *out)
{
	struct render_view v = {0};
	struct grant_info g;
	struct buf tmp;
	uint64_t hl_until;
	int r;
	if ((r = admit_search(c, query, res, &v, &g)))
		return r;
	buf_init(&tmp, RENDER_LINE_MAX * 8 + 64);
	/* the colours of all the page's result files within one file's budget */
	hl_until = mono_us() + RENDER_HIGHLIGHT_BUDGET_US;
	if ((r = buf_addstr(out, "<div class=\"code results\" id=\"code\">")) || (r = add_decorations(c, &v, out)))
		goto out;
	for (size_t i = 0; i < search_result_n_files(res); i++) {
		size_t pl;
		const char *path = search_result_path(res, i, &pl);
		size_t n_match = 0;
		for (size_t j = 0; j < search_result_n_lines(res, i); j++)
			n_match += !search_result_line(res, i, j)->context;
		if ((r = buf_addstr(out, "<div class=\"sf\"><a class=\"sp\" href=\"")) ||
		    (r = add_href(out, c->product, c->version, "blob", path, pl)) || (r = buf_addstr(out, "\">")) ||
		    (r = render_escape(out, path, pl)) ||
		    (r = buf_addf(out, "<span class=\"count\">%zu match%s on this page</span></a>\n", n_match, n_match == 1 ? "" : "es")))
			goto out;
		{
			struct hl_span *sp;
			size_t n_sp, *offs;
			search_spans(c, res, i, &sp, &n_sp, &offs, &hl_until);
			for (size_t j = 0; j < search_result_n_lines(res, i) && !r; j++) {
				const struct search_line *l = search_result_line(res, i, j);
				if ((r = buf_addf(out, "<div class=\"l%s\"><a class=\"n\" href=\"", l->context ? " ctx" : "")) ||
				    (r = render_blob_href(out, c->product, c->version, path, pl, l->line)) ||
				    (r = buf_addf(out, "\" data-n=\"%" PRIu64 "\"></a><span class=\"c\">", l->line)) ||
				    (r = add_marked(c, &v, &tmp, l, sp, n_sp, offs[j], out)) || (r = buf_addstr(out, "</span>")))
					break;
				/* a line cut at RENDER_LINE_MAX links its rest */
				if (l->len > RENDER_LINE_MAX &&
				    ((r = buf_addstr(out, "<a class=cut href=\"")) ||
				     (r = add_href(out, c->product, c->version, "blob", path, pl)) ||
				     (r = buf_addf(out, "?from=%" PRIu64 "&amp;part=1\">%zu more bytes</a>", l->line,
						   l->len - RENDER_LINE_MAX))))
					break;
				r = buf_addstr(out, "</div>\n");
			}
			free(sp);
			free(offs);
			if (r)
				goto out;
		}
		if ((r = buf_addstr(out, "</div>\n")))
			goto out;
	}
	r = buf_addstr(out, "</div>");
out:
	wipe(&tmp);
	return r;
}

/* The byte length of (p, len) once transformed (len itself without a transform hook). */
static int shown_len(const struct render_ctx *c, const struct render_view *v, struct buf *tmp,
		     const char *p, size_t len, size_t *n)
{
	int r;
	if (!c->hooks || !c->hooks->transform || !len) {
		*n = len;
		return 0;
	}
	buf_reset(tmp);
	if ((r = c->hooks->transform(c->hooks->ctx, v, p, len, tmp)))
		return r;
	*n = tmp->len;
	return 0;
}

int render_search_json(const struct render_ctx *c, const char *query, const struct search_result *res,
		       uint64_t offset, struct buf *out)
{
	int at_least;
	uint64_t total = render_search_total(res, offset, &at_least);
	struct render_view v = {0};
	struct grant_info g;
	struct buf tmp;
	int r;
	if ((r = admit_search(c, query, res, &v, &g)))
		return r;
	buf_init(&tmp, RENDER_LINE_MAX * 8 + 64);
	if ((r = buf_addf(out, "{\"total\":%" PRIu64 ",\"total_at_least\":%s,\"files\":[", total,
			  at_least ? "true" : "false")))
		goto out;
	for (size_t i = 0; i < search_result_n_files(res); i++) {
		size_t pl;
		const char *path = search_result_path(res, i, &pl);
		if ((r = buf_addstr(out, i ? ",{\"path\":" : "{\"path\":")) || (r = buf_addjson(out, path, pl)) ||
		    (r = buf_addstr(out, ",\"matches\":[")))
			goto out;
		for (size_t j = 0; j < search_result_n_lines(res, i); j++) {
			const struct search_line *l = search_result_line(res, i, j);
			size_t len = l->len > RENDER_LINE_MAX ? RENDER_LINE_MAX : l->len;
			if ((r = buf_addf(out, "%s{\"line\":%" PRIu64 ",\"text\":", j ? "," : "", l->line)) ||
			    (r = (len ? add_code(c, &v, &tmp, l->text, len, 1, out) : buf_addstr(out, "\"\""))) ||
			    (r = buf_addstr(out, ",\"ranges\":[")))
				goto out;
			for (size_t k = 0, n = 0; k < l->n_ranges; k++) {
				size_t s, e;
				if (l->ranges[k].end > len || l->ranges[k].start > l->ranges[k].end)
					continue;
				if ((r = shown_len(c, &v, &tmp, l->text, l->ranges[k].start, &s)) ||
				    (r = shown_len(c, &v, &tmp, l->text, l->ranges[k].end, &e)) ||
				    (r = buf_addf(out, "%s[%zu,%zu]", n++ ? "," : "", s, e)))
					goto out;
			}
			if ((r = buf_addstr(out, "]")) || (l->context && (r = buf_addstr(out, ",\"context\":true"))) ||
			    (l->definition && (r = buf_addstr(out, ",\"definition\":true"))) || (r = buf_addch(out, '}')))
				goto out;
		}
		if ((r = buf_addstr(out, "]}")))
			goto out;
	}
	r = buf_addf(out, "],\"partial\":%s}", search_result_partial(res) ? "true" : "false");
out:
	wipe(&tmp);
	return r;
}

/* "<a class=n data-n=N href=#XN></a>" for one side's line number, or an empty cell. */
static int diff_num(struct buf *out, char side, uint32_t n)
{
	if (!n)
		return buf_addstr(out, "<span class=n></span>");
	return buf_addf(out, "<a class=n data-n=%u href=\"#%c%u\"></a>", n, side, n);
}

/* A link that shows the diff again with more context, closing a gap of hidden lines. */
static int diff_more(struct buf *out, unsigned context, uint64_t hidden, uint64_t need, const char *anchor)
{
	uint64_t ctx = context + need;
	if (!hidden)
		return 0;
	if (ctx > RENDER_DIFF_CONTEXT_MAX)
		ctx = RENDER_DIFF_CONTEXT_MAX;
	return buf_addf(out, "<div class=gap><a class=more href=\"?ctx=%" PRIu64 "#%s\">%" PRIu64
			" unchanged line%s</a></div>\n", ctx, anchor, hidden, hidden == 1 ? "" : "s");
}

static const char no_eol_html[] =
	"<div class=\"l ne\"><span class=n></span><span class=n></span><span class=ne>\\ No newline at end of file</span></div>\n";

int render_diff(const struct render_ctx *c, const char *base_version, unsigned context,
		const struct manifest_entry *old_e, const unsigned char *old_p, size_t old_len,
		const struct manifest_entry *new_e, const unsigned char *new_p, size_t new_len, struct buf *out)
{
	struct render_view v = {0};
	struct grant_info g, base;
	struct shown sh = {0};
	struct diff *d = NULL;
	struct layout *lo = NULL, *ln = NULL;
	struct ascii_map *m = NULL;
	struct buf tmp, def;
	char ob[65] = "", nb[65] = "", ref[2 * RELEASE_NAME_MAX + 2], anchor[32];
	const char *path = new_e ? new_e->path : old_e ? old_e->path : "";
	uint64_t n_old, n_new, shown = 0, end_old = 0;
	int binary, r, toobig = 0;
	json_t *extra;

	if (!old_p || !old_e)
		old_len = 0;
	if (!new_p || !new_e)
		new_len = 0;
	if (context > RENDER_DIFF_CONTEXT_MAX)
		context = RENDER_DIFF_CONTEXT_MAX;
	n_old = render_count_lines(old_p, old_len);
	n_new = render_count_lines(new_p, new_len);
	binary = diff_is_binary(old_p, old_len) || diff_is_binary(new_p, new_len);
	if (!binary && (r = diff_lines((const char *)old_p, old_len, (const char *)new_p, new_len, context, 0, &d))) {
		if (r != ERR_TOOBIG)
			return r;
		toobig = 1;
	}
	if (old_e)
		hex_encode(ob, old_e->sha256, 32);
	if (new_e)
		hex_encode(nb, new_e->sha256, 32);
	/* the old side (removed lines, the hunk headers' function lines) is charged to the older
	 * release's grant, the rest (context and added lines) to this one's */
	for (size_t h = 0; d && h < diff_n_hunks(d); h++) {
		const struct diff_hunk *k = diff_hunk(d, h);
		if (k->func_line) {
			shown_add(&sh, &base, ob, old_e->path, k->func_line, k->func_len);
			shown++;
		}
		for (size_t i = k->first; i < k->first + k->n_lines; i++) {
			const struct diff_line *dl = diff_line(d, i);
			if (dl->kind == '-')
				shown_add(&sh, &base, ob, old_e->path, dl->old_no, dl->len);
			else
				shown_add(&sh, NULL, nb, path, dl->new_no, dl->len);
			shown++;
		}
	}
	v.kind = "diff";
	v.path = path;
	v.base_version = base_version;
	v.lines = shown;
	extra = json_object();
	logdb_entry_str(extra, "path", path);
	logdb_entry_str(extra, "base", base_version);
	logdb_entry_str(extra, "blob", nb);
	logdb_entry_str(extra, "base_blob", ob);
	logdb_entry_int(extra, "lines_shown", (int64_t)shown);
	if (binary)
		logdb_entry_set(extra, "binary", json_true());
	buf_init(&tmp, RENDER_LINE_MAX * 8 + 64);
	v.shown = sh.v;
	v.n_shown = sh.n;
	buf_init(&def, 4096);
	if ((r = admit(c, &v, &g, &base, extra)))
		goto out;
	if ((r = buf_addstr(out, "<div class=\"code diff\" id=\"code\">")) || (r = add_decorations(c, &v, out)))
		goto out;
	if (binary) {
		r = buf_addf(out, "<p class=\"note\" id=\"binary\">binary file: %zu bytes before, %zu bytes after</p></div>",
			     old_len, new_len);
		goto out;
	}
	if (toobig) {
		r = buf_addstr(out, "<p class=\"note\" id=\"toobig\">too large to compare</p></div>");
		goto out;
	}
	if (!diff_n_hunks(d)) {
		r = buf_addstr(out, "<p class=\"note\">no changes in this file</p></div>");
		goto out;
	}
	/* whole-file layouts (from 0), cached like pages: old unlinked, new linked to its definitions */
	snprintf(ref, sizeof(ref), "%s@%s", c->product, base_version);
	if (old_e)
		lo = layout_get(c, c->hl_base, NULL, ref, old_e, old_p, old_len, 0, 0, old_len);
	snprintf(ref, sizeof(ref), "%s@%s", c->product, c->version);
	if (new_e)
		ln = layout_get(c, c->hl, c->ix, ref, new_e, new_p, new_len, 0, 0, new_len);
	m = sodium_malloc(sizeof(*m));
	if (!m)
		BUG("sodium_malloc");
	if ((r = ascii_map_make(c, &v, &tmp, m)) || (r = def_prefix(c, &def)))
		goto out;
	for (size_t h = 0; h < diff_n_hunks(d); h++) {
		const struct diff_hunk *k = diff_hunk(d, h);
		uint64_t start = k->old_count ? k->old_start - 1 : k->old_start; /* old lines before the hunk */
		{
			const struct diff_line *f = diff_line(d, k->first);
			snprintf(anchor, sizeof(anchor), "%c%u", f->kind == '-' ? 'O' : 'L', f->kind == '-' ? f->old_no : f->new_no);
		}
		if ((r = diff_more(out, context, start - end_old, h ? (start - end_old + 1) / 2 : start - end_old, anchor)))
			goto out;
		if ((r = buf_addf(out, "<div class=\"l hh\" id=\"H%zu\"><span class=n></span><span class=n></span>"
				       "<span class=hr>@@ -%u,%u +%u,%u @@</span>",
				  h + 1, k->old_start, k->old_count, k->new_start, k->new_count)))
			goto out;
		if (k->func_line && lo && k->func_line <= lo->n_lines) {
			/* the function line, cut as git cuts it: its segments up to func_len bytes */
			if ((r = buf_addstr(out, " <span class=c>")) ||
			    (r = emit_code(c, &v, &tmp, m, (const char *)old_p + k->func_off, k->func_len, out)) ||
			    (r = buf_addstr(out, "</span>")))
				goto out;
		}
		if ((r = buf_addstr(out, "</div>\n")))
			goto out;
		for (size_t i = k->first; i < k->first + k->n_lines; i++) {
			const struct diff_line *dl = diff_line(d, i);
			const struct layout *l = dl->kind == '-' ? lo : ln;
			const unsigned char *src = dl->kind == '-' ? old_p : new_p;
			uint32_t li = dl->kind == '-' ? dl->old_no - 1 : dl->new_no - 1;
			int last;
			if (!l || li >= l->n_lines)
				BUG("render: a diff line outside its file");
			if (dl->kind == '-')
				r = buf_addf(out, "<div class=\"l r\" id=\"O%u\">", dl->old_no);
			else
				r = buf_addf(out, "<div class=\"l %c\" id=\"L%u\">", dl->kind == '+' ? 'a' : 'u', dl->new_no);
			if (r || (r = diff_num(out, 'O', dl->old_no)) || (r = diff_num(out, 'L', dl->new_no)) ||
			    (r = buf_addstr(out, "<span class=c>")) ||
			    (r = emit_line(c, &v, &tmp, m, l, &def, li, (const char *)src, NULL, out)) ||
			    (r = buf_addstr(out, "</span>")))
				goto out;
			/* a line cut at RENDER_LINE_MAX links its rest in its own release's file view */
			if (layout_line_len(l, li, (const char *)src) > RENDER_LINE_MAX && (dl->kind == '-' ? old_e : new_e)) {
				const struct manifest_entry *se = dl->kind == '-' ? old_e : new_e;
				uint32_t no = dl->kind == '-' ? dl->old_no : dl->new_no;
				if ((r = buf_addstr(out, "<a class=cut href=\"")) ||
				    (r = add_href(out, c->product, dl->kind == '-' ? base_version : c->version, "blob", se->path,
						  se->path_len)) ||
				    (r = buf_addf(out, "?from=%u&amp;part=1\">%zu more bytes</a>", no,
						  layout_line_len(l, li, (const char *)src) - RENDER_LINE_MAX)))
					goto out;
			}
			if ((r = buf_addstr(out, "</div>\n")))
				goto out;
			last = dl->kind == '-' ? dl->old_no == n_old && diff_old_no_eol(d)
					       : dl->new_no == n_new && diff_new_no_eol(d);
			if (last && (r = buf_addstr(out, no_eol_html)))
				goto out;
		}
		end_old = k->old_count ? k->old_start - 1 + k->old_count : k->old_start;
	}
	if ((r = diff_more(out, context, n_old - end_old, n_old - end_old, "end")) ||
	    (r = buf_addstr(out, "<span id=\"end\"></span></div>")))
		goto out;
out:
	if (m)
		sodium_free(m);
	layout_put(c->cache, lo);
	layout_put(c->cache, ln);
	diff_free(d);
	buf_release(&def);
	wipe(&tmp);
	shown_release(&sh);
	return r;
}

int render_print(const struct render_ctx *c, const struct manifest_entry *e, const unsigned char *text,
		 size_t len, uint64_t from, uint64_t to, struct buf *pdf, struct print_info *info)
{
	struct grant_info g;
	struct print_request pr;
	struct quota_limits lim;
	char blob[65];
	const unsigned char *p, *q, *end;
	int64_t now = c->now ? c->now : (int64_t)time(NULL);
	uint64_t line = 1;
	int r;
	memset(info, 0, sizeof(*info));
	if (!from || to < from)
		return err_set(ERR_USAGE, "print: give the first and last line, first <= last");
	if ((r = policy_may_read(c->f, c->who, c->product, c->version, now, &g)))
		return r;
	if (!text)
		len = 0;
	p = text, end = text + len;
	while (line < from && p < end) {
		const unsigned char *nl = memchr(p, '\n', (size_t)(end - p));
		p = nl ? nl + 1 : end;
		line++;
	}
	q = p;
	for (uint64_t l = from; l <= to && q < end; l++) {
		const unsigned char *nl = memchr(q, '\n', (size_t)(end - q));
		q = nl ? nl + 1 : end;
	}
	if (q == p)
		return err_set(ERR_USAGE, "print: the file has no such lines");
	memset(&pr, 0, sizeof(pr));
	pr.product = c->product;
	pr.version = c->version;
	pr.path = e->path;
	pr.line_from = (int64_t)from;
	pr.text = (const char *)p;
	pr.len = (size_t)(q - p);
	pr.reviewer = c->who->login;
	pr.lab = c->who->org;
	hex_encode(blob, e->sha256, 32);
	pr.blob = blob;
	/* a text layer only where the grant allows it */
	if ((r = quota_limits_of(&g, &lim)))
		return r;
	pr.text_layer = lim.print_text == 1;
	pr.pd = c->pd;
	return print_pdf(c->f, c->who, &g, &pr, now, pdf, info);
}
