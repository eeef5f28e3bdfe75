/* cipherfont: per-session private-use substitution and the font that draws it. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cipherfont.h"

/* The private code points, as one range of indices: BMP PUA, then planes 15 and 16. */
#define PUA_BMP_FIRST 0xE000u
#define PUA_BMP_N 6400u
#define PUA_P15_FIRST 0xF0000u
#define PUA_PLANE_N 65534u
#define PUA_P16_FIRST 0x100000u
#define PUA_N (PUA_BMP_N + 2 * PUA_PLANE_N)
#define TABLES_MAX 64

struct pair {
	uint32_t from, to;
};

struct cipher {
	struct pair *fwd; /* original -> private, by original */
	struct pair *inv; /* private -> original, by private */
	size_t n;
};

int cipher_is_pua(uint32_t cp)
{
	return (cp >= PUA_BMP_FIRST && cp < PUA_BMP_FIRST + PUA_BMP_N) ||
	       (cp >= PUA_P15_FIRST && cp < PUA_P15_FIRST + PUA_PLANE_N) ||
	       (cp >= PUA_P16_FIRST && cp < PUA_P16_FIRST + PUA_PLANE_N);
}

static uint32_t pua_at(uint32_t i)
{
	if (i < PUA_BMP_N)
		return PUA_BMP_FIRST + i;
	i -= PUA_BMP_N;
	if (i < PUA_PLANE_N)
		return PUA_P15_FIRST + i;
	return PUA_P16_FIRST + (i - PUA_PLANE_N);
}

void cipher_seed(const unsigned char key[CIPHER_KEY_LEN], const char *session_id,
		 unsigned char seed[CIPHER_SEED_LEN])
{
	static const char domain[] = "sealroom/cipher/v1\n";
	crypto_generichash_state st;
	crypto_generichash_init(&st, key, CIPHER_KEY_LEN, CIPHER_SEED_LEN);
	crypto_generichash_update(&st, (const unsigned char *)domain, sizeof(domain) - 1);
	crypto_generichash_update(&st, (const unsigned char *)session_id, strlen(session_id));
	crypto_generichash_final(&st, seed, CIPHER_SEED_LEN);
}

static int by_from(const void *a, const void *b)
{
	uint32_t x = ((const struct pair *)a)->from, y = ((const struct pair *)b)->from;
	return x < y ? -1 : x > y;
}

int cipher_new(const unsigned char seed[CIPHER_SEED_LEN], const uint32_t *cps, size_t n,
	       struct cipher **out)
{
	struct cipher *c;
	unsigned char *used;
	uint32_t *rnd;
	size_t k = 0, n_rnd;

	*out = NULL;
	if (n > CIPHER_CHARS_MAX)
		return err_set(ERR_TOOBIG, "cipher: %zu characters is too many (limit %d)", n,
			       CIPHER_CHARS_MAX);
	c = xcalloc(1, sizeof(*c));
	c->fwd = xcalloc(n ? n : 1, sizeof(struct pair));
	c->inv = xcalloc(n ? n : 1, sizeof(struct pair));
	used = xcalloc(PUA_N / 8 + 1, 1);
	/* enough draws for rejections: the pool is seven times CIPHER_CHARS_MAX */
	n_rnd = 2 * n + 64;
	rnd = xmalloc(n_rnd * sizeof(uint32_t));
	randombytes_buf_deterministic(rnd, n_rnd * sizeof(uint32_t), seed);
	for (size_t i = 0, r = 0; i < n; i++) {
		uint32_t idx;
		do {
			if (r == n_rnd) { /* astronomically unlikely: draw more from the seed's hash */
				unsigned char s2[CIPHER_SEED_LEN];
				crypto_generichash(s2, sizeof(s2), (const unsigned char *)rnd,
						   n_rnd * sizeof(uint32_t), seed, CIPHER_SEED_LEN);
				randombytes_buf_deterministic(rnd, n_rnd * sizeof(uint32_t), s2);
				r = 0;
			}
			idx = rnd[r++] % PUA_N;
		} while (used[idx / 8] & (1u << (idx % 8)));
		used[idx / 8] |= (unsigned char)(1u << (idx % 8));
		c->fwd[k].from = cps[i];
		c->fwd[k].to = pua_at(idx);
		c->inv[k].from = c->fwd[k].to;
		c->inv[k].to = cps[i];
		k++;
	}
	c->n = k;
	qsort(c->fwd, k, sizeof(struct pair), by_from);
	qsort(c->inv, k, sizeof(struct pair), by_from);
	free(used);
	sodium_memzero(rnd, n_rnd * sizeof(uint32_t));
	free(rnd);
	*out = c;
	return 0;
}

void cipher_free(struct cipher *c)
{
	if (!c)
		return;
	free(c->fwd);
	free(c->inv);
	free(c);
}

static uint32_t lookup(const struct pair *p, size_t n, uint32_t key)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (p[mid].from == key)
			return p[mid].to;
		if (p[mid].from < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

uint32_t cipher_map(const struct cipher *c, uint32_t cp)
{
	return lookup(c->fwd, c->n, cp);
}

uint32_t cipher_unmap(const struct cipher *c, uint32_t pua)
{
	return lookup(c->inv, c->n, pua);
}

/* Decode one UTF-8 sequence at p (len > 0); returns its length, or 0 when invalid. */
static size_t utf8_next(const unsigned char *p, size_t len, uint32_t *cp)
{
	size_t n;
	uint32_t v, min;
	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if ((p[0] & 0xe0) == 0xc0)
		n = 2, v = p[0] & 0x1f, min = 0x80;
	else if ((p[0] & 0xf0) == 0xe0)
		n = 3, v = p[0] & 0x0f, min = 0x800;
	else if ((p[0] & 0xf8) == 0xf0)
		n = 4, v = p[0] & 0x07, min = 0x10000;
	else
		return 0;
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (p[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return n;
}

static int add_utf8(struct buf *out, uint32_t cp)
{
	char s[4];
	size_t n;
	if (cp < 0x80)
		s[0] = (char)cp, n = 1;
	else if (cp < 0x800)
		s[0] = (char)(0xc0 | cp >> 6), s[1] = (char)(0x80 | (cp & 0x3f)), n = 2;
	else if (cp < 0x10000)
		s[0] = (char)(0xe0 | cp >> 12), s[1] = (char)(0x80 | ((cp >> 6) & 0x3f)),
		s[2] = (char)(0x80 | (cp & 0x3f)), n = 3;
	else
		s[0] = (char)(0xf0 | cp >> 18), s[1] = (char)(0x80 | ((cp >> 12) & 0x3f)),
		s[2] = (char)(0x80 | ((cp >> 6) & 0x3f)), s[3] = (char)(0x80 | (cp & 0x3f)), n = 4;
	return buf_add(out, s, n);
}

int cipher_encode(const struct cipher *c, const char *utf8, size_t len, struct buf *out)
{
	const unsigned char *p = (const unsigned char *)utf8;
	size_t i = 0;
	int r = 0;
	while (i < len && !r) {
		uint32_t cp = 0, m;
		size_t n = utf8_next(p + i, len - i, &cp);
		if (!n) {
			r = add_utf8(out, 0xfffd);
			i++;
			continue;
		}
		m = cipher_map(c, cp);
		r = add_utf8(out, m ? m : cp);
		i += n;
	}
	return r;
}

int cipher_decode(const struct cipher *c, const char *utf8, size_t len, struct buf *out,
		  size_t *n_pua, size_t *n_known)
{
	const unsigned char *p = (const unsigned char *)utf8;
	size_t i = 0, seen = 0, known = 0;
	int r = 0;
	while (i < len && !r) {
		uint32_t cp = 0, m = 0;
		size_t n = utf8_next(p + i, len - i, &cp);
		if (!n) {
			r = add_utf8(out, 0xfffd);
			i++;
			continue;
		}
		if (cipher_is_pua(cp)) {
			seen++;
			if ((m = cipher_unmap(c, cp)))
				known++;
		}
		r = add_utf8(out, m ? m : cp);
		i += n;
	}
	if (n_pua)
		*n_pua = seen;
	if (n_known)
		*n_known = known;
	return r;
}

/* ---- the sfnt container ---- */

struct table {
	uint32_t tag, off, len;
};

struct sfnt {
	const unsigned char *p;
	size_t len;
	uint32_t version;
	struct table t[TABLES_MAX];
	int n;
};

static uint16_t be16(const unsigned char *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

#define TAG(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))

static int damaged(const char *what)
{
	return err_set(ERR_PARSE, "font: damaged %s", what);
}

static int sfnt_parse(const void *ttf, size_t len, struct sfnt *s)
{
	const unsigned char *p = ttf;
	unsigned n;
	memset(s, 0, sizeof(*s));
	if (len > CIPHER_FONT_MAX)
		return err_set(ERR_TOOBIG, "font: %zu bytes is too large (limit %d)", len, CIPHER_FONT_MAX);
	if (len < 12)
		return damaged("header");
	s->p = p;
	s->len = len;
	s->version = be32(p);
	if (s->version != 0x00010000 && s->version != TAG('t', 'r', 'u', 'e') &&
	    s->version != TAG('O', 'T', 'T', 'O'))
		return err_set(ERR_PARSE, "font: not a TrueType or OpenType font");
	n = be16(p + 4);
	if (n == 0 || n > TABLES_MAX)
		return damaged("table count");
	if (12 + (size_t)n * 16 > len)
		return damaged("table directory");
	for (unsigned i = 0; i < n; i++) {
		const unsigned char *r = p + 12 + i * 16;
		struct table *t = &s->t[i];
		t->tag = be32(r);
		t->off = be32(r + 8);
		t->len = be32(r + 12);
		if ((size_t)t->off > len || (size_t)t->len > len - t->off)
			return damaged("table offset");
		for (unsigned j = 0; j < i; j++)
			if (s->t[j].tag == t->tag)
				return damaged("table directory (a table twice)");
	}
	s->n = (int)n;
	return 0;
}

static const struct table *sfnt_find(const struct sfnt *s, uint32_t tag)
{
	for (int i = 0; i < s->n; i++)
		if (s->t[i].tag == tag)
			return &s->t[i];
	return NULL;
}

/* (code point, glyph) pairs read from a cmap subtable */
struct cmap_pairs {
	struct pair *p;
	size_t n, cap;
	size_t visited; /* code points looked at: hostile segments may overlap or be huge */
	uint32_t n_glyphs;
};

static int cmap_add(struct cmap_pairs *m, uint32_t cp, uint32_t glyph)
{
	if (++m->visited > 0x110000)
		return damaged("cmap (more entries than Unicode has code points)");
	if (!glyph || glyph >= m->n_glyphs || cp > 0x10ffff)
		return 0;
	if (m->n == m->cap) {
		if (m->cap >= 4 * CIPHER_CHARS_MAX)
			return err_set(ERR_TOOBIG, "font: cmap maps too many characters (limit %d)",
				       CIPHER_CHARS_MAX);
		m->cap = m->cap ? 2 * m->cap : 1024;
		m->p = xrealloc(m->p, m->cap * sizeof(struct pair));
	}
	m->p[m->n].from = cp;
	m->p[m->n].to = glyph;
	m->n++;
	return 0;
}

static int cmap_format4(const unsigned char *p, size_t len, struct cmap_pairs *m)
{
	size_t sub_len, segs;
	int r = 0;
	if (len < 14)
		return damaged("cmap format 4");
	sub_len = be16(p + 2);
	if (sub_len > len || sub_len < 14)
		return damaged("cmap format 4 length");
	segs = be16(p + 6) / 2;
	if (!segs || 16 + segs * 8 > sub_len)
		return damaged("cmap format 4 segments");
	for (size_t i = 0; i < segs && !r; i++) {
		size_t end_o = 14 + 2 * i, start_o = 16 + 2 * segs + 2 * i;
		size_t delta_o = 16 + 4 * segs + 2 * i, range_o = 16 + 6 * segs + 2 * i;
		uint32_t end = be16(p + end_o), start = be16(p + start_o);
		uint16_t delta = be16(p + delta_o), range = be16(p + range_o);
		if (start > end)
			continue;
		for (uint32_t c = start; c <= end && c != 0xffff && !r; c++) {
			uint32_t g;
			if (!range) {
				g = (c + delta) & 0xffff;
			} else {
				size_t at = range_o + range + 2 * (size_t)(c - start);
				if (at + 2 > sub_len)
					return damaged("cmap format 4 glyph index");
				g = be16(p + at);
				if (g)
					g = (g + delta) & 0xffff;
			}
			r = cmap_add(m, c, g);
		}
	}
	return r;
}

static int cmap_format12(const unsigned char *p, size_t len, struct cmap_pairs *m)
{
	uint32_t sub_len, groups;
	int r = 0;
	if (len < 16)
		return damaged("cmap format 12");
	sub_len = be32(p + 4);
	groups = be32(p + 12);
	if (sub_len > len || sub_len < 16 || groups > (sub_len - 16) / 12)
		return damaged("cmap format 12 groups");
	for (uint32_t i = 0; i < groups && !r; i++) {
		const unsigned char *g = p + 16 + (size_t)i * 12;
		uint32_t start = be32(g), end = be32(g + 4), glyph = be32(g + 8);
		if (start > end || end > 0x10ffff)
			return damaged("cmap format 12 group");
		if (end - start > 4 * CIPHER_CHARS_MAX)
			return err_set(ERR_TOOBIG, "font: cmap maps too many characters (limit %d)",
				       CIPHER_CHARS_MAX);
		for (uint32_t c = start; c <= end && !r; c++)
			r = cmap_add(m, c, glyph + (c - start));
	}
	return r;
}

/* Read the font's Unicode cmap (format 12 preferred, else format 4) into m, sorted. */
static int read_cmap(const struct sfnt *s, struct cmap_pairs *m)
{
	const struct table *cmap = sfnt_find(s, TAG('c', 'm', 'a', 'p'));
	const struct table *maxp = sfnt_find(s, TAG('m', 'a', 'x', 'p'));
	const unsigned char *p;
	size_t best_off = 0;
	int best = 0, r;
	unsigned n;
	memset(m, 0, sizeof(*m));
	if (!cmap || !maxp || maxp->len < 6)
		return err_set(ERR_PARSE, "font: no cmap or maxp table");
	m->n_glyphs = be16(s->p + maxp->off + 4);
	p = s->p + cmap->off;
	if (cmap->len < 4)
		return damaged("cmap");
	n = be16(p + 2);
	if (4 + (size_t)n * 8 > cmap->len)
		return damaged("cmap encoding records");
	for (unsigned i = 0; i < n; i++) {
		unsigned plat = be16(p + 4 + i * 8), enc = be16(p + 6 + i * 8);
		uint32_t off = be32(p + 8 + i * 8);
		unsigned fmt;
		int rank;
		if (off > cmap->len - 2)
			return damaged("cmap subtable offset");
		fmt = be16(p + off);
		if (fmt == 12 && ((plat == 3 && enc == 10) || (plat == 0 && (enc == 4 || enc == 6))))
			rank = 3;
		else if (fmt == 4 && ((plat == 3 && enc == 1) || plat == 0))
			rank = 2;
		else
			continue;
		if (rank > best)
			best = rank, best_off = off;
	}
	if (!best)
		return err_set(ERR_PARSE, "font: no Unicode cmap");
	if (best == 3)
		r = cmap_format12(p + best_off, cmap->len - best_off, m);
	else
		r = cmap_format4(p + best_off, cmap->len - best_off, m);
	if (r) {
		free(m->p);
		m->p = NULL;
		return r;
	}
	qsort(m->p, m->n, sizeof(struct pair), by_from);
	return 0;
}

/* Characters worth mapping: not controls, not already private. */
static int mappable(uint32_t cp)
{
	return cp >= 0x20 && !(cp >= 0x7f && cp < 0xa0) && !cipher_is_pua(cp);
}

int cipher_font_charset(const void *ttf, size_t len, uint32_t **cps, size_t *n)
{
	struct sfnt s;
	struct cmap_pairs m;
	size_t k = 0;
	int r;
	*cps = NULL;
	*n = 0;
	if ((r = sfnt_parse(ttf, len, &s)) || (r = read_cmap(&s, &m)))
		return r;
	*cps = xmalloc((m.n ? m.n : 1) * sizeof(uint32_t));
	for (size_t i = 0; i < m.n; i++)
		if (mappable(m.p[i].from) && (!k || (*cps)[k - 1] != m.p[i].from))
			(*cps)[k++] = m.p[i].from;
	free(m.p);
	if (k > CIPHER_CHARS_MAX) {
		free(*cps);
		*cps = NULL;
		return err_set(ERR_TOOBIG, "font: maps %zu characters (limit %d)", k, CIPHER_CHARS_MAX);
	}
	*n = k;
	return 0;
}

static int put16(struct buf *b, uint32_t v)
{
	unsigned char x[2] = {(unsigned char)(v >> 8), (unsigned char)v};
	return buf_add(b, x, 2);
}

static int put32(struct buf *b, uint32_t v)
{
	unsigned char x[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16), (unsigned char)(v >> 8),
			      (unsigned char)v};
	return buf_add(b, x, 4);
}

/* The new cmap: (3,1) format 4 with the BMP private code points, (3,10) format 12 with all. */
static int build_cmap(const struct pair *map, size_t n, struct buf *out)
{
	size_t bmp = 0, f4_len, f12_len;
	unsigned segs, sr = 1, es = 0;
	int r = 0;
	for (size_t i = 0; i < n; i++)
		bmp += map[i].from < 0x10000;
	segs = (unsigned)bmp + 1;
	while (sr * 2 <= segs)
		sr *= 2, es++;
	f4_len = 16 + (size_t)segs * 8;
	f12_len = 16 + n * 12;
	if (f4_len > 0xffff)
		return err_set(ERR_TOOBIG, "font: too many characters for a format 4 cmap");
	if ((r = put16(out, 0)) || (r = put16(out, 2)) ||
	    (r = put16(out, 3)) || (r = put16(out, 1)) || (r = put32(out, 4 + 16)) ||
	    (r = put16(out, 3)) || (r = put16(out, 10)) || (r = put32(out, (uint32_t)(4 + 16 + f4_len))))
		return r;
	/* format 4: one segment per code point, glyph = code + delta */
	if ((r = put16(out, 4)) || (r = put16(out, (uint32_t)f4_len)) || (r = put16(out, 0)) ||
	    (r = put16(out, segs * 2)) || (r = put16(out, sr * 2)) || (r = put16(out, es)) ||
	    (r = put16(out, segs * 2 - sr * 2)))
		return r;
	for (size_t i = 0; i < n && !r; i++)
		if (map[i].from < 0x10000)
			r = put16(out, map[i].from);
	if (r || (r = put16(out, 0xffff)) || (r = put16(out, 0)))
		return r;
	for (size_t i = 0; i < n && !r; i++)
		if (map[i].from < 0x10000)
			r = put16(out, map[i].from);
	if (r || (r = put16(out, 0xffff)))
		return r;
	for (size_t i = 0; i < n && !r; i++)
		if (map[i].from < 0x10000)
			r = put16(out, (map[i].to - map[i].from) & 0xffff);
	if (r || (r = put16(out, 1)))
		return r;
	for (unsigned i = 0; i < segs && !r; i++)
		r = put16(out, 0);
	if (r)
		return r;
	/* format 12 */
	if ((r = put16(out, 12)) || (r = put16(out, 0)) || (r = put32(out, (uint32_t)f12_len)) ||
	    (r = put32(out, 0)) || (r = put32(out, (uint32_t)n)))
		return r;
	for (size_t i = 0; i < n && !r; i++)
		if (!(r = put32(out, map[i].from)) && !(r = put32(out, map[i].from)))
			r = put32(out, map[i].to);
	return r;
}

static uint32_t checksum(const unsigned char *p, size_t len)
{
	uint32_t sum = 0;
	size_t i;
	for (i = 0; i + 4 <= len; i += 4)
		sum += be32(p + i);
	if (i < len) {
		unsigned char last[4] = {0};
		memcpy(last, p + i, len - i);
		sum += be32(last);
	}
	return sum;
}

/* Tables dropped from the session's font: signatures, and names of glyphs by Unicode. */
static int dropped(uint32_t tag)
{
	return tag == TAG('D', 'S', 'I', 'G') || tag == TAG('Z', 'a', 'p', 'f') ||
	       tag == TAG('F', 'F', 'T', 'M') || tag == TAG('P', 'f', 'E', 'd');
}

static int by_tag(const void *a, const void *b)
{
	uint32_t x = ((const struct table *)a)->tag, y = ((const struct table *)b)->tag;
	return x < y ? -1 : x > y;
}

int cipher_font(const struct cipher *c, const void *ttf, size_t len, struct buf *out)
{
	struct sfnt s;
	struct cmap_pairs m = {0};
	struct pair *map = NULL;
	struct buf cmap, post;
	struct table keep[TABLES_MAX];
	size_t n_map = 0, start = out->len, dir, head_at = 0;
	int n_keep = 0, r;
	unsigned sr = 1, es = 0;

	buf_init(&cmap, 1 << 20);
	buf_init(&post, 64);
	if ((r = sfnt_parse(ttf, len, &s)) || (r = read_cmap(&s, &m)))
		goto out;
	{
		const struct table *head = sfnt_find(&s, TAG('h', 'e', 'a', 'd'));
		if (!head || head->len < 54) {
			r = err_set(ERR_PARSE, "font: no head table");
			goto out;
		}
	}
	/* private code point -> the original character's glyph */
	map = xmalloc((m.n ? m.n : 1) * sizeof(struct pair));
	for (size_t i = 0; i < m.n; i++) {
		uint32_t pua;
		if (i && m.p[i].from == m.p[i - 1].from)
			continue;
		if ((pua = cipher_map(c, m.p[i].from))) {
			map[n_map].from = pua;
			map[n_map].to = m.p[i].to;
			n_map++;
		}
	}
	qsort(map, n_map, sizeof(struct pair), by_from);
	if ((r = build_cmap(map, n_map, &cmap)))
		goto out;
	/* post format 3: the metrics of the original, no glyph names */
	{
		const struct table *pt = sfnt_find(&s, TAG('p', 'o', 's', 't'));
		unsigned char hdr[32] = {0};
		if (pt && pt->len >= 32)
			memcpy(hdr, s.p + pt->off, 32);
		hdr[0] = 0, hdr[1] = 3, hdr[2] = 0, hdr[3] = 0;
		if ((r = buf_add(&post, hdr, sizeof(hdr))))
			goto out;
	}
	for (int i = 0; i < s.n; i++)
		if (!dropped(s.t[i].tag))
			keep[n_keep++] = s.t[i];
	if (!sfnt_find(&s, TAG('p', 'o', 's', 't'))) {
		keep[n_keep].tag = TAG('p', 'o', 's', 't');
		keep[n_keep].off = keep[n_keep].len = 0;
		n_keep++;
	}
	qsort(keep, (size_t)n_keep, sizeof(struct table), by_tag);
	while (sr * 2 <= (unsigned)n_keep)
		sr *= 2, es++;
	if ((r = put32(out, s.version)) || (r = put16(out, (uint32_t)n_keep)) ||
	    (r = put16(out, sr * 16)) || (r = put16(out, es)) ||
	    (r = put16(out, (uint32_t)n_keep * 16 - sr * 16)))
		goto out;
	dir = out->len;
	if ((r = buf_grow(out, (size_t)n_keep * 16)))
		goto out;
	memset(out->p + dir, 0, (size_t)n_keep * 16);
	out->len += (size_t)n_keep * 16;
	for (int i = 0; i < n_keep; i++) {
		const unsigned char *p = s.p + keep[i].off;
		size_t tl = keep[i].len, at = out->len - start;
		unsigned char *rec;
		static const unsigned char pad[3] = {0};
		if (keep[i].tag == TAG('c', 'm', 'a', 'p'))
			p = (const unsigned char *)cmap.p, tl = cmap.len;
		else if (keep[i].tag == TAG('p', 'o', 's', 't'))
			p = (const unsigned char *)post.p, tl = post.len;
		if (keep[i].tag == TAG('h', 'e', 'a', 'd'))
			head_at = out->len;
		if ((r = buf_add(out, p, tl)) || (r = buf_add(out, pad, (4 - tl % 4) % 4)))
			goto out;
		if (keep[i].tag == TAG('h', 'e', 'a', 'd'))
			memset(out->p + head_at + 8, 0, 4); /* checkSumAdjustment, set below */
		rec = (unsigned char *)out->p + dir + (size_t)i * 16;
		{
			uint32_t v[4] = {keep[i].tag, checksum((unsigned char *)out->p + start + at, tl),
					 (uint32_t)at, (uint32_t)tl};
			for (int k = 0; k < 4; k++)
				rec[4 * k] = (unsigned char)(v[k] >> 24), rec[4 * k + 1] = (unsigned char)(v[k] >> 16),
				rec[4 * k + 2] = (unsigned char)(v[k] >> 8), rec[4 * k + 3] = (unsigned char)v[k];
		}
	}
	{
		uint32_t adj = 0xB1B0AFBAu - checksum((unsigned char *)out->p + start, out->len - start);
		unsigned char *h = (unsigned char *)out->p + head_at + 8;
		h[0] = (unsigned char)(adj >> 24), h[1] = (unsigned char)(adj >> 16);
		h[2] = (unsigned char)(adj >> 8), h[3] = (unsigned char)adj;
	}
out:
	if (r) {
		out->len = start;
		out->p[start] = 0;
	}
	free(m.p);
	free(map);
	buf_release(&cmap);
	buf_release(&post);
	return r;
}
