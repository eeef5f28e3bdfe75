/* xref: definitions from tags.scm at seal time (see xref.h). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "hl_query.h"
#include "le.h"
#include "xref.h"

#define MAGIC "SRXREF1"
#define HEAD_LEN 32
#define DEF_REC 20
#define MODE_TAGS 0
#define MODE_INDEX 1
#define XREF_FLAG_BODY 1

static const char *const kind_names[XREF_NKINDS] = {
	[0] = "other", [XREF_FUNCTION] = "function", [XREF_METHOD] = "method",
	[XREF_CLASS] = "class", [XREF_TYPE] = "type", [XREF_INTERFACE] = "interface",
	[XREF_MODULE] = "module", [XREF_MACRO] = "macro", [XREF_CONSTANT] = "constant",
	[XREF_OTHER] = "other",
};

const char *xref_kind_name(unsigned kind)
{
	return kind < XREF_NKINDS ? kind_names[kind] : "other";
}

static unsigned kind_for(const char *s, size_t n)
{
	for (unsigned k = 1; k < XREF_OTHER; k++)
		if (strlen(kind_names[k]) == n && !memcmp(kind_names[k], s, n))
			return k;
	return XREF_OTHER;
}

static int ident_start(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$';
}

static int ident_char(unsigned char c)
{
	return ident_start(c) || (c >= '0' && c <= '9');
}

/* ---- building ---- */

struct bdef {
	char *name;
	uint16_t name_len, kind;
	uint32_t line, col;
	int body;
};

struct brec {
	unsigned char id[32];
	struct bdef *defs;
	size_t n_defs;
};

struct xref_builder {
	pthread_mutex_t lock;
	struct brec *recs;
	size_t n_recs, cap_recs;
	uint64_t parsed; /* bytes of parseable files handed over */
	int over;        /* parsed passed XREF_PARSE_MAX: definitions come from the index */
};

int xref_builder_new(struct xref_builder **out)
{
	struct xref_builder *b = xcalloc(1, sizeof(*b));
	pthread_mutex_init(&b->lock, NULL);
	*out = b;
	return 0;
}

static void rec_release(struct brec *r)
{
	for (size_t i = 0; i < r->n_defs; i++)
		free(r->defs[i].name);
	free(r->defs);
}

void xref_builder_free(struct xref_builder *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->n_recs; i++)
		rec_release(&b->recs[i]);
	free(b->recs);
	pthread_mutex_destroy(&b->lock);
	free(b);
}

/*
 * Does the definition node n carry a body (a function's block, a struct's fields), or is
 * it a declaration only (a prototype, a forward declaration)? The body is a "body" field of
 * n or of the first ancestor that is no declarator (C's function_declarator sits inside
 * the function_definition that holds the body, a prototype's inside a declaration).
 */
static int has_body(TSNode n)
{
	for (int depth = 0; depth < 8 && !ts_node_is_null(n); depth++) {
		if (!ts_node_is_null(ts_node_child_by_field_name(n, "body", 4)))
			return 1;
		if (!strstr(ts_node_type(n), "declarator"))
			return 0;
		n = ts_node_parent(n);
	}
	return 0;
}

/* Run lang's tags query over (src, len), appending definitions to r. */
static int tag_file(enum hl_lang lang, const char *src, size_t len, struct brec *r)
{
	const struct hl_query *q;
	TSTree *tree;
	TSQueryCursor *qc;
	TSQueryMatch m;
	size_t cap = 0;
	int e = hl_query_get(lang, 1, &q);
	if (e)
		return e;
	{
		TSParser *p = hl_ts_parser(lang);
		ts_parser_set_timeout_micros(p, XREF_PARSE_US);
		tree = ts_parser_parse_string(p, NULL, src, (uint32_t)len);
	}
	if (!tree)
		return 0; /* pathological input: no definitions rather than a stalled seal */
	qc = hl_ts_cursor();
	ts_query_cursor_exec(qc, hl_query_ts(q), ts_tree_root_node(tree));
	while (ts_query_cursor_next_match(qc, &m)) {
		const TSQueryCapture *name = NULL, *def = NULL;
		unsigned kind = 0;
		for (uint16_t i = 0; i < m.capture_count; i++) {
			uint32_t l;
			const char *cn = ts_query_capture_name_for_id(hl_query_ts(q), m.captures[i].index, &l);
			if (l == 4 && !memcmp(cn, "name", 4))
				name = &m.captures[i];
			else if (l > 11 && !memcmp(cn, "definition.", 11)) {
				kind = kind_for(cn + 11, l - 11);
				def = &m.captures[i];
			}
		}
		if (!name || !kind || !hl_query_accepts(q, &m, src, len, hl_match_data()))
			continue;
		{
			uint32_t s = ts_node_start_byte(name->node), en = ts_node_end_byte(name->node);
			TSPoint pt = ts_node_start_point(name->node);
			if (en <= s || en > len || en - s > XREF_NAME_MAX)
				continue;
			if (r->n_defs == cap) {
				cap = cap ? cap * 2 : 16;
				r->defs = xrealloc(r->defs, cap * sizeof(*r->defs));
			}
			r->defs[r->n_defs++] = (struct bdef){xstrndup(src + s, en - s), (uint16_t)(en - s),
							     (uint16_t)kind, pt.row + 1, pt.column + 1,
							     def && has_body(def->node)};
		}
	}
	ts_tree_delete(tree);
	return 0;
}

int xref_builder_add(struct xref_builder *b, const struct manifest_entry *e, const void *data,
		     size_t len)
{
	enum hl_lang lang;
	struct brec r = {0};
	int over, err;
	if (e->mode == 0120000 || len == 0 || len > HL_MAX_BYTES)
		return 0;
	lang = hl_lang_detect(e->path, e->path_len, data, len);
	if (lang == HL_NONE || lang == HL_BASH)
		return 0;
	pthread_mutex_lock(&b->lock);
	b->parsed += len;
	if (b->parsed > XREF_PARSE_MAX)
		b->over = 1;
	over = b->over;
	pthread_mutex_unlock(&b->lock);
	if (over)
		return 0;
	memcpy(r.id, e->sha256, 32);
	if ((err = tag_file(lang, data, len, &r))) {
		rec_release(&r);
		return err;
	}
	if (!r.n_defs)
		return 0;
	pthread_mutex_lock(&b->lock);
	if (b->n_recs == b->cap_recs) {
		b->cap_recs = b->cap_recs ? b->cap_recs * 2 : 256;
		b->recs = xrealloc(b->recs, b->cap_recs * sizeof(*b->recs));
	}
	b->recs[b->n_recs++] = r;
	pthread_mutex_unlock(&b->lock);
	return 0;
}

static int cmp_rec(const void *a, const void *b)
{
	return memcmp(((const struct brec *)a)->id, ((const struct brec *)b)->id, 32);
}

struct fdef {
	const struct bdef *d;
	uint32_t file;
};

static int cmp_name(const char *a, size_t al, const char *b, size_t bl)
{
	int c = memcmp(a, b, al < bl ? al : bl);
	return c ? c : (al > bl) - (al < bl);
}

static int cmp_fdef(const void *a, const void *b)
{
	const struct fdef *x = a, *y = b;
	int c = cmp_name(x->d->name, x->d->name_len, y->d->name, y->d->name_len);
	if (c)
		return c;
	if (x->file != y->file)
		return x->file < y->file ? -1 : 1;
	if (x->d->line != y->d->line)
		return x->d->line < y->d->line ? -1 : 1;
	return (x->d->col > y->d->col) - (x->d->col < y->d->col);
}

int xref_builder_finish(struct xref_builder *b, const struct manifest *m, struct buf *out)
{
	size_t n_files = manifest_count(m), n = 0, cap = 0;
	struct fdef *v = NULL;
	uint64_t names_len = 0, total;
	unsigned char *o;
	int r = 0;

	if (n_files > UINT32_MAX)
		return err_set(ERR_TOOBIG, "xref: too many files");
	if (!b->over) {
		if (b->n_recs)
			qsort(b->recs, b->n_recs, sizeof(*b->recs), cmp_rec);
		for (size_t i = 0; i < n_files; i++) {
			const struct manifest_entry *e = manifest_get(m, i);
			struct brec key, *rec;
			memcpy(key.id, e->sha256, 32);
			rec = b->n_recs ? bsearch(&key, b->recs, b->n_recs, sizeof(*b->recs), cmp_rec)
					: NULL;
			if (!rec || e->mode == 0120000)
				continue;
			for (size_t j = 0; j < rec->n_defs; j++) {
				if (n == cap) {
					cap = cap ? cap * 2 : 1024;
					v = xrealloc(v, cap * sizeof(*v));
				}
				v[n++] = (struct fdef){&rec->defs[j], (uint32_t)i};
				names_len += rec->defs[j].name_len;
			}
		}
		if (n)
			qsort(v, n, sizeof(*v), cmp_fdef);
	}
	total = HEAD_LEN + (uint64_t)n * DEF_REC + names_len;
	if (total > XREF_MAX || names_len > UINT32_MAX) {
		r = err_set(ERR_TOOBIG, "xref: %zu definitions are more than the limit", n);
		goto out;
	}
	if ((r = buf_grow(out, (size_t)total)))
		goto out;
	o = (unsigned char *)out->p + out->len;
	memset(o, 0, HEAD_LEN);
	memcpy(o, MAGIC, 8);
	put32(o + 8, b->over ? MODE_INDEX : MODE_TAGS);
	put32(o + 12, (uint32_t)n_files);
	put64(o + 16, n);
	put64(o + 24, names_len);
	{
		uint64_t noff = 0;
		unsigned char *names = o + HEAD_LEN + (uint64_t)n * DEF_REC;
		for (size_t k = 0; k < n; k++) {
			unsigned char *rec = o + HEAD_LEN + (uint64_t)k * DEF_REC;
			put32(rec, v[k].file);
			put32(rec + 4, v[k].d->line);
			put32(rec + 8, v[k].d->col);
			put32(rec + 12, (uint32_t)noff);
			rec[16] = (unsigned char)v[k].d->name_len;
			rec[17] = (unsigned char)(v[k].d->name_len >> 8);
			rec[18] = (unsigned char)v[k].d->kind;
			rec[19] = v[k].d->body ? XREF_FLAG_BODY : 0;
			memcpy(names + noff, v[k].d->name, v[k].d->name_len);
			noff += v[k].d->name_len;
		}
	}
	out->len += (size_t)total;
	out->p[out->len] = 0;
out:
	free(v);
	return r;
}

/* ---- loading ---- */

struct xdef {
	uint32_t file, line, col, name_off;
	uint16_t name_len, kind;
	int body;
};

struct xref {
	const struct manifest *m;
	int mode;
	struct xdef *defs;
	size_t n_defs;
	uint32_t *by_file;   /* definition numbers in (file, line, col) order */
	char *names;
	size_t names_len;
};

static int cmp_by_file(const void *a, const void *b, void *ctx)
{
	const struct xref *x = ctx;
	const struct xdef *p = &x->defs[*(const uint32_t *)a], *q = &x->defs[*(const uint32_t *)b];
	if (p->file != q->file)
		return p->file < q->file ? -1 : 1;
	if (p->line != q->line)
		return p->line < q->line ? -1 : 1;
	if (p->col != q->col)
		return p->col < q->col ? -1 : 1;
	return (*(const uint32_t *)a > *(const uint32_t *)b) - (*(const uint32_t *)a < *(const uint32_t *)b);
}

int xref_load(const void *p, size_t len, const struct manifest *m, struct xref **out)
{
	const unsigned char *b = p;
	uint64_t n, names_len, need;
	uint32_t mode, n_files;
	struct xref *x = NULL;
	int r = 0;

	if (len < HEAD_LEN || memcmp(b, MAGIC, 8))
		return err_set(ERR_CORRUPT, "xref: not a cross-reference table");
	if (len > XREF_MAX)
		return err_set(ERR_CORRUPT, "xref: %zu bytes is more than the limit", len);
	mode = get32(b + 8);
	n_files = get32(b + 12);
	n = get64(b + 16);
	names_len = get64(b + 24);
	if (mode != MODE_TAGS && mode != MODE_INDEX)
		return err_set(ERR_CORRUPT, "xref: unknown mode %u", mode);
	if (n_files != manifest_count(m))
		return err_set(ERR_CORRUPT, "xref: made for %u files, the manifest has %zu", n_files,
			       manifest_count(m));
	if (n > len / DEF_REC || names_len > len)
		return err_set(ERR_CORRUPT, "xref: counts do not fit in %zu bytes", len);
	need = HEAD_LEN + n * DEF_REC + names_len;
	if (need != len)
		return err_set(ERR_CORRUPT, "xref: %zu bytes, the header says %llu", len,
			       (unsigned long long)need);
	if (mode == MODE_INDEX && n)
		return err_set(ERR_CORRUPT, "xref: an index-mode table holds definitions");
	x = xcalloc(1, sizeof(*x));
	x->m = m;
	x->mode = (int)mode;
	x->n_defs = (size_t)n;
	x->names_len = (size_t)names_len;
	x->defs = xmalloc((x->n_defs ? x->n_defs : 1) * sizeof(*x->defs));
	x->names = xmalloc(x->names_len ? x->names_len : 1);
	memcpy(x->names, b + HEAD_LEN + n * DEF_REC, x->names_len);
	for (size_t k = 0; k < x->n_defs; k++) {
		const unsigned char *rec = b + HEAD_LEN + (uint64_t)k * DEF_REC;
		struct xdef *d = &x->defs[k];
		d->file = get32(rec);
		d->line = get32(rec + 4);
		d->col = get32(rec + 8);
		d->name_off = get32(rec + 12);
		d->name_len = (uint16_t)(rec[16] | rec[17] << 8);
		d->kind = rec[18];
		d->body = rec[19] & XREF_FLAG_BODY;
		if (d->file >= n_files || !d->line || !d->name_len || d->name_len > XREF_NAME_MAX ||
		    (uint64_t)d->name_off + d->name_len > names_len || !d->kind ||
		    d->kind >= XREF_NKINDS || (rec[19] & ~XREF_FLAG_BODY)) {
			r = err_set(ERR_CORRUPT, "xref: definition %zu is malformed", k);
			goto out;
		}
		if (k) {
			const struct xdef *pd = &x->defs[k - 1];
			int c = cmp_name(x->names + pd->name_off, pd->name_len, x->names + d->name_off,
					 d->name_len);
			if (c > 0 || (c == 0 && (pd->file > d->file ||
						 (pd->file == d->file && pd->line > d->line)))) {
				r = err_set(ERR_CORRUPT, "xref: definition %zu is out of order", k);
				goto out;
			}
		}
	}
	if (x->n_defs > UINT32_MAX) {
		r = err_set(ERR_CORRUPT, "xref: %zu definitions are too many", x->n_defs);
		goto out;
	}
	x->by_file = xmalloc((x->n_defs ? x->n_defs : 1) * sizeof(*x->by_file));
	for (size_t k = 0; k < x->n_defs; k++)
		x->by_file[k] = (uint32_t)k;
	if (x->n_defs)
		qsort_r(x->by_file, x->n_defs, sizeof(*x->by_file), cmp_by_file, x);
out:
	if (r) {
		xref_free(x);
		return r;
	}
	*out = x;
	return 0;
}

void xref_free(struct xref *x)
{
	if (!x)
		return;
	free(x->by_file);
	free(x->defs);
	free(x->names);
	free(x);
}

int xref_has_tags(const struct xref *x)
{
	return x && x->mode == MODE_TAGS;
}

size_t xref_n_definitions(const struct xref *x)
{
	return x ? x->n_defs : 0;
}

static int valid_name(const char *name, size_t len)
{
	if (!len || len > XREF_NAME_MAX || !ident_start((unsigned char)name[0]))
		return 0;
	for (size_t i = 1; i < len; i++)
		if (!ident_char((unsigned char)name[i]))
			return 0;
	return 1;
}

static void loc_for(const struct manifest *m, size_t file, struct xref_loc *l)
{
	const struct manifest_entry *e = manifest_get(m, file);
	l->path = e->path;
	l->path_len = e->path_len;
	l->file = file;
}

static void loc_of_def(const struct xref *x, size_t i, struct xref_loc *l)
{
	const struct xdef *d = &x->defs[i];
	loc_for(x->m, d->file, l);
	l->line = d->line;
	l->col = d->col;
	l->kind = d->kind;
	l->body = d->body;
	l->number = i;
}

int xref_definition(const struct xref *x, size_t i, struct xref_loc *l, const char **name, size_t *len)
{
	if (!xref_has_tags(x) || i >= x->n_defs)
		return ERR_NOTFOUND;
	loc_of_def(x, i, l);
	*name = x->names + x->defs[i].name_off;
	*len = x->defs[i].name_len;
	return 0;
}

int xref_file_definitions(const struct xref *x, const struct manifest_entry *e,
			  int (*cb)(void *ctx, const struct xref_loc *l, const char *name, size_t len), void *ctx)
{
	size_t lo = 0, hi, file;
	const struct manifest_entry *f;
	int r;
	if (!xref_has_tags(x) || !manifest_count(x->m) || !(f = manifest_find(x->m, e->path, e->path_len)))
		return 0;
	file = (size_t)(f - manifest_get(x->m, 0));
	hi = x->n_defs;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (x->defs[x->by_file[mid]].file < file)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < x->n_defs && x->defs[x->by_file[lo]].file == file; lo++) {
		const struct xdef *d = &x->defs[x->by_file[lo]];
		struct xref_loc l;
		loc_of_def(x, x->by_file[lo], &l);
		if ((r = cb(ctx, &l, x->names + d->name_off, d->name_len)))
			return r;
	}
	return 0;
}

int xref_definitions(const struct xref *x, const struct index *ix, const char *name, size_t len,
		     int (*cb)(void *ctx, const struct xref_loc *l), void *ctx)
{
	int r;
	if (!valid_name(name, len))
		return 0;
	if (xref_has_tags(x)) {
		size_t lo = 0, hi = x->n_defs;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			const struct xdef *d = &x->defs[mid];
			if (cmp_name(x->names + d->name_off, d->name_len, name, len) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (; lo < x->n_defs; lo++) {
			const struct xdef *d = &x->defs[lo];
			struct xref_loc l;
			if (cmp_name(x->names + d->name_off, d->name_len, name, len))
				break;
			loc_of_def(x, lo, &l);
			if ((r = cb(ctx, &l)))
				return r;
		}
		return 0;
	}
	if (!ix)
		return 0;
	{
		size_t lo, hi;
		index_symbol_find(ix, name, len, &lo, &hi);
		for (size_t i = lo; i < hi; i++) {
			const struct index_symbol *s = index_symbol_by_name(ix, i);
			const char *sn = index_symbol_name(ix, s);
			struct xref_loc l;
			static const unsigned kinds[] = {0, XREF_FUNCTION, XREF_MACRO, XREF_TYPE, XREF_OTHER};
			/* the index folds case; definitions are exact */
			if (!sn || s->len != len || memcmp(sn, name, len) || s->file >= index_n_files(ix))
				continue;
			loc_for(index_manifest(ix), s->file, &l);
			l.line = s->line;
			l.col = 0;
			{
				const unsigned char *t;
				size_t tl, ls = s->off;
				t = index_text(ix, s->file, &tl);
				if (t && s->off <= tl) {
					while (ls && t[ls - 1] != '\n')
						ls--;
					l.col = (uint32_t)(s->off - ls + 1);
				}
			}
			l.kind = s->kind < 5 ? kinds[s->kind] : XREF_OTHER;
			l.body = 0;
			l.number = i;
			if ((r = cb(ctx, &l)))
				return r;
		}
	}
	return 0;
}

