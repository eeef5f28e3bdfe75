/* cipherfont: per-session private-use substitution and the font that draws it. */
#include <stddef.h>
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
	struct pair *fwd;   /* original -> its first private code point, by original */
	uint32_t *alt;      /* the CIPHER_HOMOPHONES private code points of fwd[i] at i * K */
	struct pair *inv;   /* private -> original, by private: n * K of them */
	size_t n;
	unsigned char font_key[32]; /* the glyph order and outline changes of the session's font */
};

#define K CIPHER_HOMOPHONES

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
	static const unsigned char font_domain[] = "sealroom/cipher/font/v1";
	struct cipher *c;
	unsigned char *used;
	uint32_t *rnd;
	struct pair *order;
	size_t k = 0, n_rnd;

	*out = NULL;
	if (n > CIPHER_CHARS_MAX)
		return err_set(ERR_TOOBIG, "cipher: %zu characters is too many (limit %d)", n,
			       CIPHER_CHARS_MAX);
	c = xcalloc(1, sizeof(*c));
	c->fwd = xcalloc(n ? n : 1, sizeof(struct pair));
	c->alt = xcalloc(n ? n * K : 1, sizeof(uint32_t));
	c->inv = xcalloc(n ? n * K : 1, sizeof(struct pair));
	order = xcalloc(n ? n : 1, sizeof(struct pair));
	used = xcalloc(PUA_N / 8 + 1, 1);
	/* enough draws for rejections: the pool is almost twice K * CIPHER_CHARS_MAX */
	n_rnd = 4 * n * K + 64;
	rnd = xmalloc(n_rnd * sizeof(uint32_t));
	randombytes_buf_deterministic(rnd, n_rnd * sizeof(uint32_t), seed);
	for (size_t i = 0, r = 0; i < n * K; i++) {
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
		c->alt[i] = pua_at(idx);
		c->inv[k].from = c->alt[i];
		c->inv[k].to = cps[i / K];
		k++;
	}
	/* fwd sorted by original, alt kept in the same order */
	for (size_t i = 0; i < n; i++)
		order[i] = (struct pair){cps[i], (uint32_t)i};
	qsort(order, n, sizeof(struct pair), by_from);
	{
		uint32_t *alt = xcalloc(n ? n * K : 1, sizeof(uint32_t));
		for (size_t i = 0; i < n; i++) {
			memcpy(alt + i * K, c->alt + (size_t)order[i].to * K, K * sizeof(uint32_t));
			c->fwd[i].from = order[i].from;
			c->fwd[i].to = (uint32_t)i;
		}
		free(c->alt);
		c->alt = alt;
	}
	c->n = n;
	qsort(c->inv, k, sizeof(struct pair), by_from);
	crypto_generichash(c->font_key, sizeof(c->font_key), font_domain, sizeof(font_domain) - 1, seed,
			   CIPHER_SEED_LEN);
	free(used);
	free(order);
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
	free(c->alt);
	free(c->inv);
	sodium_memzero(c->font_key, sizeof(c->font_key));
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

/* The index of cp in fwd, or -1. */
static ptrdiff_t fwd_index(const struct cipher *c, uint32_t cp)
{
	size_t lo = 0, hi = c->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (c->fwd[mid].from == cp)
			return (ptrdiff_t)mid;
		if (c->fwd[mid].from < cp)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

uint32_t cipher_map_nth(const struct cipher *c, uint32_t cp, unsigned k)
{
	ptrdiff_t i = fwd_index(c, cp);
	return i < 0 ? 0 : c->alt[(size_t)i * K + k % K];
}

uint32_t cipher_unmap(const struct cipher *c, uint32_t pua)
{
	return lookup(c->inv, c->n * K, pua);
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
	static __thread uint64_t x; /* which of a character's code points: afresh for each occurrence */
	int r = 0;
	if (!x) {
		randombytes_buf(&x, sizeof(x));
		x |= 1;
	}
	while (i < len && !r) {
		uint32_t cp = 0, m;
		size_t n = utf8_next(p + i, len - i, &cp);
		if (!n) {
			r = add_utf8(out, 0xfffd);
			i++;
			continue;
		}
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		m = cipher_map_nth(c, cp, (unsigned)(x >> 32));
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

static int16_t s16(const unsigned char *p)
{
	return (int16_t)be16(p);
}

/* A keyed stream for the session's font: the glyph order and the changes to outlines. */
struct rng {
	uint64_t x;
};

static void rng_init(struct rng *g, const unsigned char key[32], uint32_t what)
{
	unsigned char h[8];
	crypto_generichash(h, sizeof(h), (const unsigned char *)&what, sizeof(what), key, 32);
	memcpy(&g->x, h, sizeof(g->x));
	g->x |= 1;
}

static uint32_t rng_next(struct rng *g)
{
	g->x ^= g->x << 13, g->x ^= g->x >> 7, g->x ^= g->x << 17;
	return (uint32_t)(g->x >> 32);
}

/* The glyphs of the source font: loca offsets into glyf, and the horizontal metrics. */
struct glyphs {
	const unsigned char *glyf;
	size_t glyf_len;
	uint32_t *off; /* n + 1 */
	const unsigned char *hmtx;
	unsigned n, n_hm;
};

static int glyphs_read(const struct sfnt *s, struct glyphs *gs)
{
	const struct table *head = sfnt_find(s, TAG('h', 'e', 'a', 'd')), *maxp = sfnt_find(s, TAG('m', 'a', 'x', 'p'));
	const struct table *loca = sfnt_find(s, TAG('l', 'o', 'c', 'a')), *glyf = sfnt_find(s, TAG('g', 'l', 'y', 'f'));
	const struct table *hhea = sfnt_find(s, TAG('h', 'h', 'e', 'a')), *hmtx = sfnt_find(s, TAG('h', 'm', 't', 'x'));
	int longf;
	memset(gs, 0, sizeof(*gs));
	if (!head || head->len < 54 || !maxp || maxp->len < 32 || !loca || !glyf || !hhea || hhea->len < 36 || !hmtx)
		return err_set(ERR_PARSE, "font: not a TrueType font with glyf outlines");
	gs->n = be16(s->p + maxp->off + 4);
	gs->n_hm = be16(s->p + hhea->off + 34);
	longf = s16(s->p + head->off + 50);
	if (!gs->n || !gs->n_hm || gs->n_hm > gs->n || (size_t)hmtx->len < 4 * (size_t)gs->n_hm + 2 * (size_t)(gs->n - gs->n_hm))
		return damaged("hmtx");
	if ((longf != 0 && longf != 1) || loca->len < (size_t)(gs->n + 1) * (longf ? 4 : 2))
		return damaged("loca");
	gs->glyf = s->p + glyf->off;
	gs->glyf_len = glyf->len;
	gs->hmtx = s->p + hmtx->off;
	gs->off = xmalloc(((size_t)gs->n + 1) * sizeof(uint32_t));
	for (unsigned i = 0; i <= gs->n; i++) {
		const unsigned char *q = s->p + loca->off;
		gs->off[i] = longf ? be32(q + 4 * i) : 2u * be16(q + 2 * i);
		if (gs->off[i] > gs->glyf_len || (i && gs->off[i] < gs->off[i - 1])) {
			free(gs->off);
			gs->off = NULL;
			return damaged("loca offsets");
		}
	}
	return 0;
}

static unsigned advance_of(const struct glyphs *gs, unsigned g)
{
	return be16(gs->hmtx + 4 * (g < gs->n_hm ? g : gs->n_hm - 1));
}

static int lsb_of(const struct glyphs *gs, unsigned g)
{
	return g < gs->n_hm ? s16(gs->hmtx + 4 * g + 2) : s16(gs->hmtx + 4 * gs->n_hm + 2 * (g - gs->n_hm));
}

#define POINTS_MAX 0x4000

struct pt {
	int32_t x, y;
	int on;
};

/*
 * A simple glyph (p, len) with nc contours, changed: every point moved by up to
 * CIPHER_PERTURB units, a point added in the middle of about half the segments between two
 * on-curve points (a straight line) or two off-curve points (whose implied on-curve point
 * it makes explicit), so that the count of points changes and the drawing does not; no
 * instructions. Appended to out; *points gets its point count, *xmin its left side.
 */
static int glyph_points(const unsigned char *p, size_t len, unsigned nc, struct rng *g, struct pt *in,
			struct pt *np, uint16_t *ends, uint16_t *nends, unsigned char *flags, struct buf *out,
			unsigned *points, int *xmin);

static int glyph_simple(const unsigned char *p, size_t len, unsigned nc, struct rng *g, struct buf *out,
			unsigned *points, int *xmin)
{
	struct scratch {
		struct pt in[POINTS_MAX], np[2 * POINTS_MAX];
		uint16_t ends[POINTS_MAX], nends[POINTS_MAX];
		unsigned char flags[POINTS_MAX];
	} *sc;
	int r;
	if (nc > POINTS_MAX || 10 + 2 * (size_t)nc + 2 > len)
		return damaged("glyph contours");
	sc = xmalloc(sizeof(*sc));
	r = glyph_points(p, len, nc, g, sc->in, sc->np, sc->ends, sc->nends, sc->flags, out, points, xmin);
	free(sc);
	return r;
}

static int glyph_points(const unsigned char *p, size_t len, unsigned nc, struct rng *g, struct pt *in,
			struct pt *np, uint16_t *ends, uint16_t *nends, unsigned char *flags, struct buf *out,
			unsigned *points, int *xmin)
{
	size_t at = 10;
	unsigned n_pts, n_new = 0, ilen;
	int32_t x = 0, y = 0, bx0 = INT32_MAX, by0 = INT32_MAX, bx1 = INT32_MIN, by1 = INT32_MIN;
	int r;
	for (unsigned i = 0; i < nc; i++) {
		ends[i] = be16(p + at + 2 * i);
		if (i && ends[i] <= ends[i - 1])
			return damaged("glyph contour ends");
	}
	n_pts = nc ? (unsigned)ends[nc - 1] + 1 : 0;
	if (n_pts > POINTS_MAX)
		return damaged("glyph points");
	at += 2 * (size_t)nc;
	ilen = be16(p + at);
	at += 2 + ilen;
	if (at > len)
		return damaged("glyph instructions");
	for (unsigned i = 0; i < n_pts;) {
		unsigned char f;
		unsigned rep = 0;
		if (at >= len)
			return damaged("glyph flags");
		f = p[at++];
		if (f & 8) {
			if (at >= len)
				return damaged("glyph flags");
			rep = p[at++];
		}
		for (unsigned k = 0; k <= rep && i < n_pts; k++)
			flags[i++] = f;
	}
	for (unsigned i = 0; i < n_pts; i++) {
		unsigned char f = flags[i];
		if (f & 2) {
			if (at >= len)
				return damaged("glyph coordinates");
			x += (f & 16) ? p[at] : -(int32_t)p[at];
			at++;
		} else if (!(f & 16)) {
			if (at + 2 > len)
				return damaged("glyph coordinates");
			x += s16(p + at);
			at += 2;
		}
		in[i].x = x;
		in[i].on = f & 1;
	}
	for (unsigned i = 0; i < n_pts; i++) {
		unsigned char f = flags[i];
		if (f & 4) {
			if (at >= len)
				return damaged("glyph coordinates");
			y += (f & 32) ? p[at] : -(int32_t)p[at];
			at++;
		} else if (!(f & 32)) {
			if (at + 2 > len)
				return damaged("glyph coordinates");
			y += s16(p + at);
			at += 2;
		}
		in[i].y = y;
	}
	/* moved points, and a new point on some straight segments (between two on-curve points) */
	for (unsigned c = 0, first = 0; c < nc; first = (unsigned)ends[c] + 1, c++) {
		for (unsigned i = first; i <= ends[c]; i++) {
			struct pt q = in[i];
			q.x += (int32_t)(rng_next(g) % (2 * CIPHER_PERTURB + 1)) - CIPHER_PERTURB;
			q.y += (int32_t)(rng_next(g) % (2 * CIPHER_PERTURB + 1)) - CIPHER_PERTURB;
			np[n_new++] = q;
			/* a point that changes nothing drawn: the middle of a straight segment (two
			 * on-curve points), or the on-curve point two off-curve points imply */
			if (i < ends[c] && in[i].on == in[i + 1].on && rng_next(g) % 2 == 0) {
				struct pt m = {(in[i].x + in[i + 1].x) / 2, (in[i].y + in[i + 1].y) / 2, 1};
				np[n_new++] = m;
			}
		}
		nends[c] = (uint16_t)(n_new - 1);
		if (n_new > POINTS_MAX)
			return damaged("glyph points");
	}
	for (unsigned i = 0; i < n_new; i++) {
		np[i].x = np[i].x < -32768 ? -32768 : np[i].x > 32767 ? 32767 : np[i].x;
		np[i].y = np[i].y < -32768 ? -32768 : np[i].y > 32767 ? 32767 : np[i].y;
		bx0 = np[i].x < bx0 ? np[i].x : bx0, bx1 = np[i].x > bx1 ? np[i].x : bx1;
		by0 = np[i].y < by0 ? np[i].y : by0, by1 = np[i].y > by1 ? np[i].y : by1;
	}
	if (!n_new)
		bx0 = by0 = bx1 = by1 = 0;
	if ((r = put16(out, nc)) || (r = put16(out, (uint16_t)bx0)) || (r = put16(out, (uint16_t)by0)) ||
	    (r = put16(out, (uint16_t)bx1)) || (r = put16(out, (uint16_t)by1)))
		return r;
	for (unsigned c = 0; c < nc && !r; c++)
		r = put16(out, nends[c]);
	if (r || (r = put16(out, 0)))
		return r;
	for (unsigned i = 0; i < n_new && !r; i++)
		r = buf_addch(out, (char)(np[i].on ? 1 : 0));
	for (unsigned i = 0, prev = 0; i < n_new && !r; prev = (unsigned)i, i++)
		r = put16(out, (uint16_t)(np[i].x - (i ? np[prev].x : 0)));
	for (unsigned i = 0, prev = 0; i < n_new && !r; prev = (unsigned)i, i++)
		r = put16(out, (uint16_t)(np[i].y - (i ? np[prev].y : 0)));
	*points = n_new;
	*xmin = bx0;
	return r;
}

/* A composite glyph with its components renumbered (new_id) and no instructions. */
static int glyph_composite(const unsigned char *p, size_t len, const uint16_t *new_id, unsigned n_glyphs,
			   struct buf *out, int *xmin)
{
	size_t at = 10, start = out->len;
	unsigned flags;
	int r;
	*xmin = s16(p + 2);
	if ((r = buf_add(out, p, 10)))
		return r;
	do {
		size_t arg;
		unsigned gid;
		if (at + 4 > len)
			return damaged("composite glyph");
		flags = be16(p + at);
		gid = be16(p + at + 2);
		if (gid >= n_glyphs)
			return damaged("composite glyph component");
		arg = (flags & 1 ? 4 : 2) + (flags & 8 ? 2 : flags & 0x40 ? 4 : flags & 0x80 ? 8 : 0);
		if (at + 4 + arg > len)
			return damaged("composite glyph");
		if ((r = put16(out, flags & ~0x100u)) || (r = put16(out, new_id[gid])) ||
		    (r = buf_add(out, p + at + 4, arg)))
			return r;
		at += 4 + arg;
		if (out->len - start > 0xfff0)
			return damaged("composite glyph");
	} while (flags & 0x20);
	return 0;
}

/* A 'name' table that names nothing of the font it came from. */
static int build_name(struct buf *out)
{
	static const uint16_t ids[] = {1, 2, 3, 4, 6};
	static const char *const text[] = {"sr", "Regular", "sr", "sr", "sr"};
	size_t n = sizeof(ids) / sizeof(ids[0]), off = 0;
	int r;
	if ((r = put16(out, 0)) || (r = put16(out, (uint32_t)n)) || (r = put16(out, (uint32_t)(6 + 12 * n))))
		return r;
	for (size_t i = 0; i < n && !r; i++) {
		size_t l = 2 * strlen(text[i]);
		if (!(r = put16(out, 3)) && !(r = put16(out, 1)) && !(r = put16(out, 0x409)) && !(r = put16(out, ids[i])) &&
		    !(r = put16(out, (uint32_t)l)))
			r = put16(out, (uint32_t)off);
		off += l;
	}
	for (size_t i = 0; i < n && !r; i++)
		for (const char *q = text[i]; *q && !r; q++)
			r = put16(out, (unsigned char)*q);
	return r;
}

/* An output table: its tag and bytes. */
struct otab {
	uint32_t tag;
	const unsigned char *p;
	size_t len;
};

static int by_otag(const void *a, const void *b)
{
	uint32_t x = ((const struct otab *)a)->tag, y = ((const struct otab *)b)->tag;
	return x < y ? -1 : x > y;
}

/* Write the sfnt of tables t (sorted here) to out, with checksums and head's adjustment. */
static int sfnt_write(uint32_t version, struct otab *t, unsigned n, struct buf *out)
{
	size_t start = out->len, dir, head_at = 0;
	unsigned sr = 1, es = 0;
	int r;
	qsort(t, n, sizeof(*t), by_otag);
	while (sr * 2 <= n)
		sr *= 2, es++;
	if ((r = put32(out, version)) || (r = put16(out, n)) || (r = put16(out, sr * 16)) || (r = put16(out, es)) ||
	    (r = put16(out, n * 16 - sr * 16)))
		return r;
	dir = out->len;
	if ((r = buf_grow(out, (size_t)n * 16)))
		return r;
	memset(out->p + dir, 0, (size_t)n * 16);
	out->len += (size_t)n * 16;
	for (unsigned i = 0; i < n; i++) {
		static const unsigned char pad[3] = {0};
		size_t at = out->len - start;
		unsigned char *rec;
		if (t[i].tag == TAG('h', 'e', 'a', 'd'))
			head_at = out->len;
		if ((r = buf_add(out, t[i].p, t[i].len)) || (r = buf_add(out, pad, (4 - t[i].len % 4) % 4)))
			return r;
		if (t[i].tag == TAG('h', 'e', 'a', 'd'))
			memset(out->p + head_at + 8, 0, 4); /* checkSumAdjustment, set below */
		rec = (unsigned char *)out->p + dir + (size_t)i * 16;
		{
			uint32_t v[4] = {t[i].tag, checksum((unsigned char *)out->p + start + at, t[i].len), (uint32_t)at,
					 (uint32_t)t[i].len};
			for (int k = 0; k < 4; k++)
				rec[4 * k] = (unsigned char)(v[k] >> 24), rec[4 * k + 1] = (unsigned char)(v[k] >> 16),
				rec[4 * k + 2] = (unsigned char)(v[k] >> 8), rec[4 * k + 3] = (unsigned char)v[k];
		}
	}
	if (head_at) {
		uint32_t adj = 0xB1B0AFBAu - checksum((unsigned char *)out->p + start, out->len - start);
		unsigned char *h = (unsigned char *)out->p + head_at + 8;
		h[0] = (unsigned char)(adj >> 24), h[1] = (unsigned char)(adj >> 16);
		h[2] = (unsigned char)(adj >> 8), h[3] = (unsigned char)adj;
	}
	return 0;
}

int cipher_font(const struct cipher *c, const void *ttf, size_t len, struct buf *out)
{
	struct sfnt s;
	struct cmap_pairs m = {0};
	struct glyphs gs = {0};
	struct pair *map = NULL;
	struct buf cmap, post, glyf, loca, hmtx, name, head, hhea, maxp, os2;
	struct otab t[10];
	uint16_t *new_id = NULL, *old_of = NULL;
	size_t n_map = 0, start = out->len;
	unsigned max_points = 0;
	struct rng g;
	int r;

	buf_init(&cmap, 1 << 20);
	buf_init(&post, 64);
	buf_init(&glyf, 4 * (size_t)CIPHER_FONT_MAX);
	buf_init(&loca, 1 << 20);
	buf_init(&hmtx, 1 << 20);
	buf_init(&name, 4096);
	buf_init(&head, 64);
	buf_init(&hhea, 64);
	buf_init(&maxp, 64);
	buf_init(&os2, 4096);
	if ((r = sfnt_parse(ttf, len, &s)) || (r = read_cmap(&s, &m)) || (r = glyphs_read(&s, &gs)))
		goto out;
	/* the session's glyph order: .notdef first, the rest shuffled */
	new_id = xmalloc(gs.n * sizeof(uint16_t));
	old_of = xmalloc(gs.n * sizeof(uint16_t));
	for (unsigned i = 0; i < gs.n; i++)
		old_of[i] = (uint16_t)i;
	rng_init(&g, c->font_key, 0xffffffffu);
	for (unsigned i = gs.n - 1; i > 1; i--) {
		unsigned j = 1 + rng_next(&g) % i;
		uint16_t x = old_of[i];
		old_of[i] = old_of[j], old_of[j] = x;
	}
	for (unsigned i = 0; i < gs.n; i++)
		new_id[old_of[i]] = (uint16_t)i;
	/* glyf, loca (long offsets) and hmtx (a full metric for each glyph) in the new order */
	for (unsigned i = 0; i < gs.n; i++) {
		unsigned old = old_of[i], pts = 0;
		const unsigned char *p = gs.glyf + gs.off[old];
		size_t gl = gs.off[old + 1] - gs.off[old];
		int xmin = lsb_of(&gs, old);
		if ((r = put32(&loca, (uint32_t)glyf.len)))
			goto out;
		if (gl >= 10) {
			int nc = s16(p);
			rng_init(&g, c->font_key, old);
			r = nc >= 0 ? glyph_simple(p, gl, (unsigned)nc, &g, &glyf, &pts, &xmin)
				    : glyph_composite(p, gl, new_id, gs.n, &glyf, &xmin);
			if (r)
				goto out;
			max_points = pts > max_points ? pts : max_points;
			while (glyf.len % 4 && !(r = buf_addch(&glyf, 0)))
				;
		} else if (gl) {
			r = damaged("glyph");
			goto out;
		}
		if (r || (r = put16(&hmtx, advance_of(&gs, old))) || (r = put16(&hmtx, (uint16_t)xmin)))
			goto out;
	}
	if ((r = put32(&loca, (uint32_t)glyf.len)))
		goto out;
	/* every private code point of a character -> its glyph, renumbered */
	map = xmalloc((m.n ? m.n * K : 1) * sizeof(struct pair));
	for (size_t i = 0; i < m.n; i++) {
		if (i && m.p[i].from == m.p[i - 1].from)
			continue;
		for (unsigned k = 0; k < K; k++) {
			uint32_t pua = cipher_map_nth(c, m.p[i].from, k);
			if (!pua)
				break;
			map[n_map].from = pua;
			map[n_map].to = new_id[m.p[i].to];
			n_map++;
		}
	}
	qsort(map, n_map, sizeof(struct pair), by_from);
	if ((r = build_cmap(map, n_map, &cmap)) || (r = build_name(&name)))
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
	/* head: long loca offsets; hhea: a metric for every glyph; maxp: the new point counts */
	{
		const struct table *th = sfnt_find(&s, TAG('h', 'e', 'a', 'd')), *tq = sfnt_find(&s, TAG('h', 'h', 'e', 'a'));
		const struct table *tm = sfnt_find(&s, TAG('m', 'a', 'x', 'p')), *to = sfnt_find(&s, TAG('O', 'S', '/', '2'));
		unsigned mcp;
		if ((r = buf_add(&head, s.p + th->off, 54)) || (r = buf_add(&hhea, s.p + tq->off, 36)) ||
		    (r = buf_add(&maxp, s.p + tm->off, 32)))
			goto out;
		head.p[50] = 0, head.p[51] = 1;
		hhea.p[34] = (char)(gs.n >> 8), hhea.p[35] = (char)gs.n;
		max_points = max_points > be16((unsigned char *)maxp.p + 6) ? max_points : be16((unsigned char *)maxp.p + 6);
		mcp = be16((unsigned char *)maxp.p + 10);
		mcp = mcp + mcp / 2 + 8 > 0xffff ? 0xffff : mcp + mcp / 2 + 8;
		maxp.p[6] = (char)(max_points >> 8), maxp.p[7] = (char)max_points;
		maxp.p[10] = (char)(mcp >> 8), maxp.p[11] = (char)mcp;
		maxp.p[26] = maxp.p[27] = 0; /* maxSizeOfInstructions: there are none */
		if (to && to->len >= 62) {
			if ((r = buf_add(&os2, s.p + to->off, to->len)))
				goto out;
			memcpy(os2.p + 58, "    ", 4); /* achVendID names the font's maker */
		}
	}
	if (glyf.len > 2 * (size_t)CIPHER_FONT_MAX) {
		r = err_set(ERR_TOOBIG, "font: the session's font is too large");
		goto out;
	}
	{
		unsigned n = 0;
		t[n++] = (struct otab){TAG('c', 'm', 'a', 'p'), (unsigned char *)cmap.p, cmap.len};
		t[n++] = (struct otab){TAG('g', 'l', 'y', 'f'), (unsigned char *)glyf.p, glyf.len};
		t[n++] = (struct otab){TAG('h', 'e', 'a', 'd'), (unsigned char *)head.p, head.len};
		t[n++] = (struct otab){TAG('h', 'h', 'e', 'a'), (unsigned char *)hhea.p, hhea.len};
		t[n++] = (struct otab){TAG('h', 'm', 't', 'x'), (unsigned char *)hmtx.p, hmtx.len};
		t[n++] = (struct otab){TAG('l', 'o', 'c', 'a'), (unsigned char *)loca.p, loca.len};
		t[n++] = (struct otab){TAG('m', 'a', 'x', 'p'), (unsigned char *)maxp.p, maxp.len};
		t[n++] = (struct otab){TAG('n', 'a', 'm', 'e'), (unsigned char *)name.p, name.len};
		t[n++] = (struct otab){TAG('p', 'o', 's', 't'), (unsigned char *)post.p, post.len};
		if (os2.len)
			t[n++] = (struct otab){TAG('O', 'S', '/', '2'), (unsigned char *)os2.p, os2.len};
		r = sfnt_write(0x00010000, t, n, out);
	}
out:
	if (r) {
		out->len = start;
		if (out->p)
			out->p[start] = 0;
	}
	free(m.p);
	free(map);
	free(gs.off);
	free(new_id);
	free(old_of);
	buf_release(&cmap);
	buf_release(&post);
	buf_release(&glyf);
	buf_release(&loca);
	buf_release(&hmtx);
	buf_release(&name);
	buf_release(&head);
	buf_release(&hhea);
	buf_release(&maxp);
	buf_release(&os2);
	return r;
}
