/* render: the one renderer; see render.h for the order of its steps. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include <pthread.h>

#include "highlight.h"
#include "render.h"

#define DIFF_CELLS_MAX ((uint64_t)4 << 20)
#define DIFF_CONTEXT 3

struct cached {
	unsigned char id[32];
	struct hl_span *spans;
	size_t n;
	uint64_t used;
};

struct render_cache {
	pthread_mutex_t lock;
	struct cached files[RENDER_CACHE_FILES];
	size_t n;
	uint64_t clock;
};

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
		free(c->files[i].spans);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/*
 * The spans of a file (a copy the caller frees), from the cache or by highlighting it.
 * Parsing runs outside the lock; two requests for the same new file may both parse it.
 */
static void spans_for(struct render_cache *c, const struct manifest_entry *e, const unsigned char *text,
		      size_t len, struct hl_span **out, size_t *n)
{
	struct hl_span *sp = NULL;
	size_t ns = 0, slot;
	enum hl_lang lang;
	*out = NULL;
	*n = 0;
	if (!c || !text || !len)
		return;
	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < c->n; i++)
		if (!memcmp(c->files[i].id, e->sha256, 32)) {
			c->files[i].used = ++c->clock;
			if (c->files[i].n) {
				*out = xmalloc(c->files[i].n * sizeof(**out));
				memcpy(*out, c->files[i].spans, c->files[i].n * sizeof(**out));
			}
			*n = c->files[i].n;
			pthread_mutex_unlock(&c->lock);
			return;
		}
	pthread_mutex_unlock(&c->lock);
	lang = hl_lang_detect(e->path, e->path_len, (const char *)text, len);
	if (lang == HL_NONE || highlight(lang, (const char *)text, len, &sp, &ns, RENDER_HIGHLIGHT_BUDGET_US)) {
		sp = NULL;
		ns = 0;
	}
	pthread_mutex_lock(&c->lock);
	if (c->n < RENDER_CACHE_FILES) {
		slot = c->n++;
	} else {
		slot = 0;
		for (size_t i = 1; i < c->n; i++)
			if (c->files[i].used < c->files[slot].used)
				slot = i;
		free(c->files[slot].spans);
	}
	memcpy(c->files[slot].id, e->sha256, 32);
	c->files[slot].spans = ns ? xmalloc(ns * sizeof(*sp)) : NULL;
	if (ns)
		memcpy(c->files[slot].spans, sp, ns * sizeof(*sp));
	c->files[slot].n = ns;
	c->files[slot].used = ++c->clock;
	pthread_mutex_unlock(&c->lock);
	*out = sp;
	*n = ns;
}

/* "h-<first part of the capture name>", for CSS. */
static int add_class(struct buf *out, uint16_t cls)
{
	const char *name = hl_class_name(cls);
	size_t l = strcspn(name, ".");
	if (buf_addstr(out, "<span class=\"h-"))
		return ERR_TOOBIG;
	for (size_t i = 0; i < l; i++) {
		char ch = name[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-'))
			ch = '_';
		if (buf_addch(out, ch))
			return ERR_TOOBIG;
	}
	return buf_addstr(out, "\">");
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

/* Steps 1 to 3: grant, quota, durable log entry (fields of extra are added to it). */
static int admit(const struct render_ctx *c, struct render_view *v, struct grant_info *g,
		 json_t *extra)
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
	if (c->hooks && c->hooks->quota && (r = c->hooks->quota(c->hooks->ctx, c->f, v)))
		goto out;
	snprintf(ref, sizeof(ref), "%s@%s", c->product, c->version);
	e = json_pack("{s:s, s:s, s:s, s:s}", "type", v->kind, "actor", c->who->login, "session",
		      c->who->session_id, "release", ref);
	if (!e) {
		r = err_set(ERR_USAGE, "render: cannot build the log entry");
		goto out;
	}
	if (extra && json_object_update(e, extra)) {
		json_decref(e);
		r = err_set(ERR_USAGE, "render: cannot build the log entry");
		goto out;
	}
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
	uint32_t *slots; /* symbol number + 1, 0 for empty */
	size_t mask;
};

static uint64_t name_hash(const char *p, size_t len)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
	return h;
}

struct render_symtab *render_symtab_new(const struct index *ix)
{
	struct render_symtab *t = xcalloc(1, sizeof(*t));
	size_t n = index_n_symbols(ix), cap = 16;
	while (cap < 2 * n + 16)
		cap <<= 1;
	t->ix = ix;
	t->mask = cap - 1;
	t->slots = xcalloc(cap, sizeof(uint32_t));
	for (size_t i = 0; i < n && i < UINT32_MAX - 1; i++) {
		const struct index_symbol *s = index_symbol_by_name(ix, i);
		const char *name = index_symbol_name(ix, s);
		size_t h;
		if (!name)
			continue;
		for (h = name_hash(name, s->len) & t->mask; t->slots[h]; h = (h + 1) & t->mask) {
			const struct index_symbol *o = index_symbol_by_name(ix, t->slots[h] - 1);
			if (o->len == s->len && !memcmp(index_symbol_name(ix, o), name, s->len))
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
		const struct index_symbol *o = index_symbol_by_name(t->ix, t->slots[h] - 1);
		if (o->len == len && !memcmp(index_symbol_name(t->ix, o), p, len))
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

/* One line of code: identifiers that are definitions become links. */
static int add_line_code(const struct render_ctx *c, const struct index *ix, const struct render_view *v,
			 struct buf *tmp,
			 const char *p, size_t len, struct buf *out)
{
	size_t i = 0, run = 0;
	int r;
	if (len > RENDER_LINE_MAX)
		len = RENDER_LINE_MAX;
	while (i < len) {
		size_t s;
		int64_t sym;
		if (!is_ident_start((unsigned char)p[i]) || (i && is_ident((unsigned char)p[i - 1]))) {
			i++;
			continue;
		}
		s = i;
		while (i < len && is_ident((unsigned char)p[i]))
			i++;
		sym = symbol_number(c->syms, ix, p + s, i - s);
		if (sym < 0)
			continue;
		if ((r = add_code(c, v, tmp, p + run, s - run, 0, out)) || (r = buf_addstr(out, "<a class=\"d\" href=\"")) ||
		    (r = add_href(out, c->product, c->version, "def", NULL, 0)) ||
		    (r = buf_addf(out, "?n=%" PRId64 "\">", sym)) ||
		    (r = add_code(c, v, tmp, p + s, i - s, 0, out)) || (r = buf_addstr(out, "</a>")))
			return r;
		run = i;
	}
	return add_code(c, v, tmp, p + run, len - run, 0, out);
}

/*
 * A line at byte offset off of its file with the file's spans: segments inside a span are
 * wrapped in its class; *k is the span cursor, advanced past spans that end before the line.
 */
static int add_line_spans(const struct render_ctx *c, const struct render_view *v, struct buf *tmp,
			  const char *p, size_t off, size_t len, const struct hl_span *sp, size_t n, size_t *k,
			  struct buf *out)
{
	size_t pos = 0, cut = len > RENDER_LINE_MAX ? RENDER_LINE_MAX : len;
	int r;
	while (*k < n && sp[*k].end <= off)
		(*k)++;
	while (pos < cut) {
		size_t j = *k, a, b;
		while (j < n && sp[j].end <= off + pos)
			j++;
		if (j >= n || sp[j].start >= off + cut) {
			return add_line_code(c, c->ix, v, tmp, p + pos, cut - pos, out);
		}
		a = sp[j].start > off + pos ? sp[j].start - off : pos;
		b = sp[j].end - off < cut ? sp[j].end - off : cut;
		if (a > pos && (r = add_line_code(c, c->ix, v, tmp, p + pos, a - pos, out)))
			return r;
		if ((r = add_class(out, sp[j].cls)) || (r = add_line_code(c, c->ix, v, tmp, p + a, b - a, out)) ||
		    (r = buf_addstr(out, "</span>")))
			return r;
		pos = b;
	}
	return 0;
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

/* Find the page [from, to] of a text: at most RENDER_PAGE_LINES and RENDER_PAGE_BYTES. */
static void page_of(const unsigned char *p, size_t len, uint64_t from, size_t *off, size_t *end,
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
	while (q < e && *to - from + 1 < RENDER_PAGE_LINES && (size_t)(q - p) - *off < RENDER_PAGE_BYTES) {
		nl = memchr(q, '\n', (size_t)(e - q));
		q = nl ? nl + 1 : e;
		(*to)++;
	}
	*end = (size_t)(q - p);
}

int render_file(const struct render_ctx *c, size_t file, uint64_t from, struct buf *out,
		uint64_t *shown_to, uint64_t *n_lines)
{
	const struct manifest_entry *e = manifest_get(index_manifest(c->ix), file);
	struct render_view v = {0};
	struct grant_info g;
	struct buf tmp;
	const unsigned char *text;
	size_t len = 0, off, end;
	uint64_t to, line;
	struct hl_span *spans = NULL;
	size_t n_spans = 0, k = 0;
	char blob[65];
	int r;

	if (!from)
		from = 1;
	text = index_text(c->ix, file, &len);
	if (!text)
		len = 0;
	*n_lines = render_count_lines(text, len);
	if (from > *n_lines && *n_lines)
		from = *n_lines;
	page_of(text ? text : (const unsigned char *)"", len, from, &off, &end, &to);
	*shown_to = to;
	v.kind = "view";
	v.path = e->path;
	v.line_from = to >= from ? from : 0;
	v.line_to = to >= from ? to : 0;
	v.lines = to >= from ? to - from + 1 : 0;
	hex_encode(blob, e->sha256, 32);
	if ((r = admit(c, &v, &g, json_pack("{s:s, s:s, s:[I,I]}", "path", e->path, "blob", blob, "lines",
					    (json_int_t)v.line_from, (json_int_t)v.line_to))))
		return r;
	buf_init(&tmp, RENDER_LINE_MAX * 8 + 64);
	spans_for(c->cache, e, text, len, &spans, &n_spans);
	if ((r = buf_addstr(out, "<div class=\"code\" id=\"code\">")) || (r = add_decorations(c, &v, out)))
		goto out;
	line = from;
	for (size_t q = off; q < end; line++) {
		const unsigned char *nl = memchr(text + q, '\n', end - q);
		size_t ll = nl ? (size_t)(nl - (text + q)) : end - q;
		if ((r = buf_addf(out, "<div class=\"l\" id=\"L%" PRIu64 "\"><a class=\"n\" href=\"#L%" PRIu64
				  "\" data-n=\"%" PRIu64 "\"></a><span class=\"c\">", line, line, line)) ||
		    (r = (n_spans ? add_line_spans(c, &v, &tmp, (const char *)text + q, q, ll, spans, n_spans, &k, out)
				  : add_line_code(c, c->ix, &v, &tmp, (const char *)text + q, ll, out))) ||
		    (r = buf_addstr(out, ll > RENDER_LINE_MAX ? "<span class=\"cut\"></span></span></div>\n"
							       : "</span></div>\n")))
			goto out;
		q += ll + (nl != NULL);
	}
	r = buf_addstr(out, "</div>");
out:
	free(spans);
	wipe(&tmp);
	return r;
}

/* Append a line's text with its match ranges in <mark>. */
static int add_marked(const struct render_ctx *c, const struct render_view *v, struct buf *tmp,
		      const struct search_line *l, struct buf *out)
{
	size_t pos = 0, len = l->len > RENDER_LINE_MAX ? RENDER_LINE_MAX : l->len;
	int r;
	for (size_t k = 0; k < l->n_ranges; k++) {
		size_t s = l->ranges[k].start, e = l->ranges[k].end;
		if (s < pos || e < s || e > len)
			continue;
		if ((r = add_code(c, v, tmp, l->text + pos, s - pos, 0, out)) || (r = buf_addstr(out, "<mark>")) ||
		    (r = add_code(c, v, tmp, l->text + s, e - s, 0, out)) || (r = buf_addstr(out, "</mark>")))
			return r;
		pos = e;
	}
	return add_code(c, v, tmp, l->text + pos, len - pos, 0, out);
}

static json_t *search_extra(const char *query, const struct search_result *res)
{
	return json_pack("{s:s, s:I, s:I}", "query", query, "results", (json_int_t)search_result_total(res),
			 "lines", (json_int_t)search_result_lines_shown(res));
}

int render_search_html(const struct render_ctx *c, const char *query, const struct search_result *res,
		       struct buf *out)
{
	struct render_view v = {0};
	struct grant_info g;
	struct buf tmp;
	int r;
	v.kind = "search";
	v.lines = search_result_lines_shown(res);
	if ((r = admit(c, &v, &g, search_extra(query, res))))
		return r;
	buf_init(&tmp, RENDER_LINE_MAX * 8 + 64);
	if ((r = buf_addstr(out, "<div class=\"code results\" id=\"code\">")) || (r = add_decorations(c, &v, out)))
		goto out;
	for (size_t i = 0; i < search_result_n_files(res); i++) {
		size_t pl;
		const char *path = search_result_path(res, i, &pl);
		if ((r = buf_addstr(out, "<div class=\"sf\"><a class=\"sp\" href=\"")) ||
		    (r = add_href(out, c->product, c->version, "blob", path, pl)) || (r = buf_addstr(out, "\">")) ||
		    (r = render_escape(out, path, pl)) || (r = buf_addstr(out, "</a>\n")))
			goto out;
		for (size_t j = 0; j < search_result_n_lines(res, i); j++) {
			const struct search_line *l = search_result_line(res, i, j);
			if ((r = buf_addf(out, "<div class=\"l%s\"><a class=\"n\" href=\"", l->context ? " ctx" : "")) ||
			    (r = add_href(out, c->product, c->version, "blob", path, pl)) ||
			    (r = buf_addf(out, "#L%" PRIu64 "\" data-n=\"%" PRIu64 "\"></a><span class=\"c\">", l->line,
					  l->line)) ||
			    (r = add_marked(c, &v, &tmp, l, out)) || (r = buf_addstr(out, "</span></div>\n")))
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
		       struct buf *out)
{
	struct render_view v = {0};
	struct grant_info g;
	struct buf tmp;
	int r;
	v.kind = "search";
	v.lines = search_result_lines_shown(res);
	if ((r = admit(c, &v, &g, search_extra(query, res))))
		return r;
	buf_init(&tmp, RENDER_LINE_MAX * 8 + 64);
	if ((r = buf_addf(out, "{\"total\":%" PRIu64 ",\"total_files\":%" PRIu64 ",\"files\":[",
			  search_result_total(res), search_result_total_files(res))))
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
			    (r = add_code(c, &v, &tmp, l->text, len, 1, out)) || (r = buf_addstr(out, ",\"ranges\":[")))
				goto out;
			if (!len && (r = buf_addstr(out, "\"\"")))
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

/* Lines of a text as (offset, length) pairs. */
struct lines {
	size_t n;
	size_t *off, *len;
	uint64_t *hash;
};

static void lines_split(const unsigned char *p, size_t len, struct lines *L)
{
	size_t cap = 0, q = 0;
	memset(L, 0, sizeof(*L));
	while (q < len) {
		const unsigned char *nl = memchr(p + q, '\n', len - q);
		size_t ll = nl ? (size_t)(nl - (p + q)) : len - q;
		uint64_t h = 1469598103934665603ull;
		if (L->n == cap) {
			cap = cap ? cap * 2 : 256;
			L->off = xrealloc(L->off, cap * sizeof(size_t));
			L->len = xrealloc(L->len, cap * sizeof(size_t));
			L->hash = xrealloc(L->hash, cap * sizeof(uint64_t));
		}
		for (size_t i = 0; i < ll; i++)
			h = (h ^ p[q + i]) * 1099511628211ull;
		L->off[L->n] = q;
		L->len[L->n] = ll;
		L->hash[L->n] = h;
		L->n++;
		q += ll + (nl != NULL);
	}
}

static void lines_free(struct lines *L)
{
	free(L->off);
	free(L->len);
	free(L->hash);
}

static int same_line(const unsigned char *a, const struct lines *A, size_t i, const unsigned char *b,
		     const struct lines *B, size_t j)
{
	return A->hash[i] == B->hash[j] && A->len[i] == B->len[j] &&
	       !memcmp(a + A->off[i], b + B->off[j], A->len[i]);
}

/* Edit script ops: '=' both, '-' old only, '+' new only; each with its old and new line. */
struct op {
	char kind;
	size_t a, b;
};

/*
 * The longest common subsequence of the lines between the common head and tail; when the
 * middle is too large for the table, it is shown as removed then added.
 */
static size_t diff_ops(const unsigned char *a, const struct lines *A, const unsigned char *b,
		       const struct lines *B, struct op **ops_out)
{
	size_t head = 0, tail = 0, n, m, k = 0;
	struct op *ops = xmalloc((A->n + B->n + 1) * sizeof(*ops));
	while (head < A->n && head < B->n && same_line(a, A, head, b, B, head))
		head++;
	while (tail < A->n - head && tail < B->n - head &&
	       same_line(a, A, A->n - 1 - tail, b, B, B->n - 1 - tail))
		tail++;
	n = A->n - head - tail;
	m = B->n - head - tail;
	for (size_t i = 0; i < head; i++)
		ops[k++] = (struct op){'=', i, i};
	if ((uint64_t)(n + 1) * (m + 1) <= DIFF_CELLS_MAX && n && m) {
		uint32_t *t = xcalloc((n + 1) * (m + 1), sizeof(uint32_t));
#define T(i, j) t[(size_t)(i) * (m + 1) + (j)]
		for (size_t i = n; i-- > 0;)
			for (size_t j = m; j-- > 0;)
				T(i, j) = same_line(a, A, head + i, b, B, head + j)
						  ? T(i + 1, j + 1) + 1
						  : (T(i + 1, j) > T(i, j + 1) ? T(i + 1, j) : T(i, j + 1));
		for (size_t i = 0, j = 0; i < n || j < m;) {
			if (i < n && j < m && same_line(a, A, head + i, b, B, head + j)) {
				ops[k++] = (struct op){'=', head + i++, head + j++};
			} else if (j < m && (i == n || T(i, j + 1) >= T(i + 1, j))) {
				ops[k++] = (struct op){'+', head + i, head + j++};
			} else {
				ops[k++] = (struct op){'-', head + i++, head + j};
			}
		}
#undef T
		free(t);
	} else {
		for (size_t i = 0; i < n; i++)
			ops[k++] = (struct op){'-', head + i, head};
		for (size_t j = 0; j < m; j++)
			ops[k++] = (struct op){'+', head + n, head + j};
	}
	for (size_t i = 0; i < tail; i++)
		ops[k++] = (struct op){'=', A->n - tail + i, B->n - tail + i};
	*ops_out = ops;
	return k;
}

int render_diff(const struct render_ctx *c, const char *base_version, const struct manifest_entry *old_e,
		const unsigned char *old_p, size_t old_len, const struct manifest_entry *new_e,
		const unsigned char *new_p, size_t new_len, struct buf *out)
{
	struct render_view v = {0};
	struct grant_info g;
	struct lines A, B;
	struct op *ops = NULL;
	size_t n_ops, shown = 0;
	char *keep;
	struct buf tmp;
	char ob[65] = "", nb[65] = "";
	const char *path = new_e ? new_e->path : old_e ? old_e->path : "";
	json_t *extra;
	int r;

	if (!old_p)
		old_len = 0;
	if (!new_p)
		new_len = 0;
	lines_split(old_p, old_len, &A);
	lines_split(new_p, new_len, &B);
	n_ops = diff_ops(old_p, &A, new_p, &B, &ops);
	/* which ops are shown: changes and DIFF_CONTEXT lines around them */
	keep = xcalloc(n_ops + 1, 1);
	for (size_t i = 0; i < n_ops; i++) {
		if (ops[i].kind == '=')
			continue;
		for (size_t j = i >= DIFF_CONTEXT ? i - DIFF_CONTEXT : 0; j <= i + DIFF_CONTEXT && j < n_ops; j++)
			keep[j] = 1;
	}
	for (size_t i = 0; i < n_ops; i++)
		shown += keep[i];
	if (old_e)
		hex_encode(ob, old_e->sha256, 32);
	if (new_e)
		hex_encode(nb, new_e->sha256, 32);
	v.kind = "diff";
	v.path = path;
	v.base_version = base_version;
	v.lines = shown;
	extra = json_pack("{s:s, s:s, s:s, s:s, s:I}", "path", path, "base", base_version, "blob", nb,
			  "base_blob", ob, "lines_shown", (json_int_t)shown);
	buf_init(&tmp, RENDER_LINE_MAX * 8 + 64);
	if ((r = admit(c, &v, &g, extra)))
		goto out;
	if ((r = buf_addstr(out, "<div class=\"code diff\" id=\"code\">")) || (r = add_decorations(c, &v, out)))
		goto out;
	if (!shown && (r = buf_addstr(out, "<p class=\"note\">no changes in this file</p>")))
		goto out;
	for (size_t i = 0; i < n_ops; i++) {
		const struct op *o = &ops[i];
		const unsigned char *src = o->kind == '-' ? old_p : new_p;
		size_t off = o->kind == '-' ? A.off[o->a] : B.off[o->b];
		size_t ll = o->kind == '-' ? A.len[o->a] : B.len[o->b];
		if (!keep[i]) {
			if (i && keep[i - 1] && (r = buf_addstr(out, "<div class=\"gap\"></div>\n")))
				goto out;
			continue;
		}
		if ((r = buf_addf(out, "<div class=\"l %s\"><span class=\"n\" data-n=\"",
				  o->kind == '=' ? "u" : o->kind == '-' ? "r" : "a")) ||
		    (o->kind != '+' && (r = buf_addf(out, "%zu", o->a + 1))) ||
		    (r = buf_addstr(out, "\"></span><span class=\"n\" data-n=\"")) ||
		    (o->kind != '-' && (r = buf_addf(out, "%zu", o->b + 1))) ||
		    (r = buf_addstr(out, "\"></span><span class=\"c\">")))
			goto out;
		if ((r = add_line_code(c, o->kind == '-' ? NULL : c->ix, &v, &tmp, (const char *)src + off, ll, out)) ||
		    (r = buf_addstr(out, "</span></div>\n")))
			goto out;
	}
	r = buf_addstr(out, "</div>");
out:
	wipe(&tmp);
	free(keep);
	free(ops);
	lines_free(&A);
	lines_free(&B);
	return r;
}
