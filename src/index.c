/* index: build, encode, decode and load the search index (see index.h). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "index.h"
#include "le.h"
#include "vault.h"

#define MAGIC "SRIX0002"
#define HDR_LEN 32
#define N_TRI ((size_t)1 << 24)
#define BITMAP_BYTES (N_TRI / 8)
#define SYM_NAME_MAX 255
#define SYMS_PER_FILE_MAX 65536
#define SYM_REC 16
#define TRI_REC 16

/* ---- little-endian fields and varints ---- */

static size_t varint_len(uint32_t v)
{
	size_t n = 1;
	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static unsigned char *varint_put(unsigned char *p, uint32_t v)
{
	while (v >= 0x80) {
		*p++ = (unsigned char)(v | 0x80);
		v >>= 7;
	}
	*p++ = (unsigned char)v;
	return p;
}

/* Decode one varint from [*p, end); returns 0 or -1 when truncated or too long. */
static int varint_get(const unsigned char **p, const unsigned char *end, uint32_t *v)
{
	uint32_t x = 0;
	for (int shift = 0; shift <= 28; shift += 7) {
		if (*p >= end)
			return -1;
		unsigned char c = *(*p)++;
		if (shift == 28 && c > 0x0f)
			return -1;
		x |= (uint32_t)(c & 0x7f) << shift;
		if (!(c & 0x80)) {
			*v = x;
			return 0;
		}
	}
	return -1;
}

/* ---- what rg searches ---- */

/*
 * ripgrep 13 reads a file into a 64 KiB line buffer: a first read of 3 bytes (its BOM
 * sniffer), then reads filling the buffer, each fill ending at a read holding a newline;
 * the unfinished last line rolls over to the next fill. When a read holds a NUL, that
 * whole fill is dropped and the search ends, so rg searched exactly the complete lines
 * before the fill. This replays those reads.
 */
size_t index_searchable_len(const void *data, size_t n)
{
	const unsigned char *p = data, *z = memchr(p, 0, n);
	size_t nul, cap = 64 * 1024, base = 0, end = 0;
	int first = 1;
	if (!z)
		return n;
	nul = (size_t)(z - p);
	for (;;) {
		size_t next_base;
		for (;;) {
			size_t want, got, old = end;
			const unsigned char *nl;
			if (first) {
				want = 3;
				first = 0;
			} else {
				if (end - base >= cap)
					cap *= 2;
				want = cap - (end - base);
			}
			got = want < n - end ? want : n - end;
			if (!got)
				return n;
			end += got;
			if (nul >= old && nul < end)
				return base;
			if ((nl = memrchr(p + old, '\n', got))) {
				next_base = (size_t)(nl - p) + 1;
				break;
			}
		}
		base = next_base;
	}
}

/* ---- symbols: a definition heuristic over lines ---- */

static int ident_start(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int ident_char(unsigned char c)
{
	return ident_start(c) || (c >= '0' && c <= '9');
}

struct symvec {
	struct index_symbol *v;
	size_t n, cap;
};

static void sym_push(struct symvec *s, uint32_t line, size_t off, size_t len, int kind)
{
	if (len == 0 || len > SYM_NAME_MAX || off > UINT32_MAX || s->n >= SYMS_PER_FILE_MAX)
		return;
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 16;
		s->v = xrealloc(s->v, s->cap * sizeof(*s->v));
	}
	s->v[s->n++] = (struct index_symbol){0, line, (uint32_t)off, (uint16_t)len, (uint16_t)kind};
}

/* Does line [p, e) start with word w followed by a blank? Returns the end of the blanks. */
static const unsigned char *word_then_blank(const unsigned char *p, const unsigned char *e,
					    const char *w)
{
	size_t n = strlen(w);
	if ((size_t)(e - p) <= n || memcmp(p, w, n) || (p[n] != ' ' && p[n] != '\t'))
		return NULL;
	p += n;
	while (p < e && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

static const unsigned char *ident_end(const unsigned char *p, const unsigned char *e)
{
	if (p >= e || !ident_start(*p))
		return p;
	while (p < e && ident_char(*p))
		p++;
	return p;
}

static int c_keyword(const unsigned char *p, size_t n)
{
	static const char *const kw[] = {"if", "else", "while", "for", "return", "switch", "do",
					  "case", "goto", "sizeof", "typedef", NULL};
	for (int i = 0; kw[i]; i++)
		if (strlen(kw[i]) == n && !memcmp(kw[i], p, n))
			return 1;
	return 0;
}

/* One line: find at most one definition. */
static void scan_line(const unsigned char *base, const unsigned char *ls, const unsigned char *le,
		      uint32_t line, struct symvec *s)
{
	const unsigned char *p = ls, *q, *id;
	static const char *const typewords[] = {"struct", "union", "enum", "class", NULL};
	static const char *const funcwords[] = {"def", "func", "fn", "function", "async def",
						"pub fn", "pub(crate) fn", NULL};
	while (p < le && (*p == ' ' || *p == '\t'))
		p++;
	if (p < le && *p == '#') {
		q = p + 1;
		while (q < le && (*q == ' ' || *q == '\t'))
			q++;
		if ((q = word_then_blank(q, le, "define"))) {
			id = ident_end(q, le);
			sym_push(s, line, (size_t)(q - base), (size_t)(id - q), SYM_MACRO);
		}
		return;
	}
	for (int i = 0; typewords[i]; i++) {
		if ((q = word_then_blank(p, le, typewords[i]))) {
			id = ident_end(q, le);
			if (id > q) {
				const unsigned char *r = id;
				while (r < le && (*r == ' ' || *r == '\t'))
					r++;
				if (r == le || *r == '{' || *r == ':' || *r == '(')
					sym_push(s, line, (size_t)(q - base), (size_t)(id - q), SYM_TYPE);
			}
			return;
		}
	}
	for (int i = 0; funcwords[i]; i++) {
		if ((q = word_then_blank(p, le, funcwords[i]))) {
			if (q < le && *q == '(') { /* Go method receiver */
				while (q < le && *q != ')')
					q++;
				q++;
				while (q < le && (*q == ' ' || *q == '\t'))
					q++;
			}
			id = ident_end(q, le);
			if (id > q)
				sym_push(s, line, (size_t)(q - base), (size_t)(id - q), SYM_FUNCTION);
			return;
		}
	}
	/* C: a line at column 0 naming a function before '(' and not ending in ';' */
	if (p != ls || p >= le || !ident_start(*p))
		return;
	q = memchr(p, '(', (size_t)(le - p));
	if (!q || memchr(p, '=', (size_t)(q - p)) || memchr(p, ';', (size_t)(le - p)))
		return;
	id = ident_end(p, le);
	if (c_keyword(p, (size_t)(id - p)))
		return;
	{
		const unsigned char *r = q;
		while (r > p && (r[-1] == ' ' || r[-1] == '\t'))
			r--;
		id = r;
		while (r > p && ident_char(r[-1]))
			r--;
		if (id > r && ident_start(*r) && !c_keyword(r, (size_t)(id - r)))
			sym_push(s, line, (size_t)(r - base), (size_t)(id - r), SYM_FUNCTION);
	}
}

static void scan_symbols(const unsigned char *p, size_t n, struct symvec *s)
{
	const unsigned char *ls = p, *end = p + n;
	uint32_t line = 1;
	while (ls < end) {
		const unsigned char *le = memchr(ls, '\n', (size_t)(end - ls));
		if (!le)
			le = end;
		scan_line(p, ls, le, line, s);
		if (line == UINT32_MAX)
			break;
		line++;
		ls = le + 1;
	}
}

/* ---- the builder ---- */

/*
 * A file's trigram set is kept as N_SEG segments by the trigram's top bits, each a run of
 * varint deltas from the segment's first trigram, so that the inversion can work on one
 * segment at a time (its counters fit in cache) and on several segments in parallel.
 */
#define SEG_SHIFT 18
#define N_SEG ((size_t)1 << (24 - SEG_SHIFT))
#define SEG_SIZE ((size_t)1 << SEG_SHIFT)
#define BUILD_THREADS_MAX 16

struct blob_rec {
	unsigned char id[32];
	uint64_t search_len;
	unsigned char *fwd; /* the segments' varint deltas, one after another */
	uint32_t seg[N_SEG + 1]; /* segment g is fwd[seg[g], seg[g+1]) */
	struct index_symbol *syms;
	size_t n_syms;
};

struct index_builder {
	pthread_mutex_t lock;
	struct blob_rec **recs;
	size_t n_recs, cap_recs;
	unsigned char **bitmaps; /* free scratch bitmaps, one per concurrent adder */
	size_t n_bitmaps, cap_bitmaps;
	unsigned char **all_bitmaps;
	size_t n_all;
};

int index_builder_new(struct index_builder **out)
{
	struct index_builder *b = xcalloc(1, sizeof(*b));
	pthread_mutex_init(&b->lock, NULL);
	*out = b;
	return 0;
}

static void rec_free(struct blob_rec *r)
{
	free(r->fwd);
	free(r->syms);
	free(r);
}

void index_builder_free(struct index_builder *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->n_recs; i++)
		rec_free(b->recs[i]);
	for (size_t i = 0; i < b->n_all; i++)
		free(b->all_bitmaps[i]);
	free(b->all_bitmaps);
	free(b->bitmaps);
	free(b->recs);
	pthread_mutex_destroy(&b->lock);
	free(b);
}

static unsigned char *bitmap_take(struct index_builder *b)
{
	unsigned char *m;
	pthread_mutex_lock(&b->lock);
	if (b->n_bitmaps) {
		m = b->bitmaps[--b->n_bitmaps];
	} else {
		m = xcalloc(1, BITMAP_BYTES);
		b->all_bitmaps = xrealloc(b->all_bitmaps, (b->n_all + 1) * sizeof(*b->all_bitmaps));
		b->all_bitmaps[b->n_all++] = m;
		b->bitmaps = xrealloc(b->bitmaps, b->n_all * sizeof(*b->bitmaps));
	}
	pthread_mutex_unlock(&b->lock);
	return m;
}

static void bitmap_give(struct index_builder *b, unsigned char *m)
{
	pthread_mutex_lock(&b->lock);
	b->bitmaps[b->n_bitmaps++] = m;
	pthread_mutex_unlock(&b->lock);
}

/* Sort 24-bit keys with two 12-bit counting passes. */
static void radix24(uint32_t *v, uint32_t *tmp, size_t n)
{
	size_t cnt[4096];
	for (int pass = 0; pass < 2; pass++) {
		int sh = pass * 12;
		size_t sum = 0;
		uint32_t *src = pass ? tmp : v, *dst = pass ? v : tmp;
		memset(cnt, 0, sizeof(cnt));
		for (size_t i = 0; i < n; i++)
			cnt[(src[i] >> sh) & 4095]++;
		for (size_t i = 0; i < 4096; i++) {
			size_t c = cnt[i];
			cnt[i] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++)
			dst[cnt[(src[i] >> sh) & 4095]++] = src[i];
	}
}

/* Mark the trigrams of p[0..n) (bytes as they are, none holding a newline) in bm; list new ones. */
static size_t collect(const unsigned char *p, size_t n, unsigned char *bm, uint32_t *set)
{
	size_t k = 0, i = 0;
	while (i + 2 < n) {
		const unsigned char *nl = memchr(p + i, '\n', n - i);
		size_t e = nl ? (size_t)(nl - p) : n; /* the line [i, e) */
		if (e >= i + 3) {
			uint32_t t = (uint32_t)p[i] << 8 | p[i + 1];
			for (size_t j = i + 2; j < e; j++) {
				t = (t << 8 | p[j]) & 0xffffff;
				unsigned char bit = (unsigned char)(1u << (t & 7));
				if (!(bm[t >> 3] & bit)) {
					bm[t >> 3] |= bit;
					set[k++] = t;
				}
			}
		}
		i = e + 1;
	}
	return k;
}

/*
 * Reduce a file to its trigram set (exact bytes, without newlines) and symbols, and keep
 * them. The scratch bitmap marks trigrams seen in this file and is cleared again
 * afterwards; the only lock taken is for the bitmap pool and the list of records.
 */
int index_builder_add(struct index_builder *b, const struct manifest_entry *e, const void *data,
		      size_t len)
{
	const unsigned char *p = data;
	size_t n, k = 0, g = 0;
	unsigned char *bm, *w;
	uint32_t *set, *tmp;
	struct blob_rec *rec;
	struct symvec sv = {0};
	struct buf u16;
	int transcoded = 0;

	if (e->mode == 0120000)
		return 0;
	buf_init(&u16, INDEX_UTF16_MAX / 2 * 3 + 4);
	/* searched as rg reads it: transcoded to UTF-8 (index_read_text); one too large for
	 * that is searched as it is stored (the binary rule then hides it) */
	if (utf16_bom(data, len) && len <= INDEX_UTF16_MAX && buf_add_utf16(&u16, data, len) == 0) {
		p = (const unsigned char *)u16.p;
		len = u16.len;
		transcoded = 1;
	}
	n = index_searchable_len(p, len);
	rec = xcalloc(1, sizeof(*rec));
	memcpy(rec->id, e->sha256, 32);
	rec->search_len = n | (transcoded ? INDEX_LEN_UTF16 : 0);
	set = xmalloc((n > 2 ? n - 2 : 1) * sizeof(uint32_t));
	if (n >= 3) {
		bm = bitmap_take(b);
		k = collect(p, n, bm, set);
		for (size_t i = 0; i < k; i++)
			bm[set[i] >> 3] = 0;
		bitmap_give(b, bm);
	}
	tmp = xmalloc((k ? k : 1) * sizeof(uint32_t));
	radix24(set, tmp, k);
	free(tmp);
	rec->fwd = w = xmalloc(k * 4 + 1);
	{
		uint32_t prev = 0;
		for (size_t i = 0; i < k; i++) {
			size_t sg = set[i] >> SEG_SHIFT;
			while (g <= sg) {
				rec->seg[g] = (uint32_t)(w - rec->fwd);
				prev = (uint32_t)(g++ << SEG_SHIFT);
			}
			w = varint_put(w, set[i] - prev);
			prev = set[i];
		}
	}
	while (g <= N_SEG)
		rec->seg[g++] = (uint32_t)(w - rec->fwd);
	rec->fwd = xrealloc(rec->fwd, (size_t)(w - rec->fwd) + 1);
	free(set);
	/* definitions name bytes of the file as stored, which a transcoding moves: none */
	if (!transcoded)
		scan_symbols(p, n, &sv);
	rec->syms = sv.v;
	rec->n_syms = sv.n;
	if (u16.cap)
		sodium_memzero(u16.p, u16.cap);
	buf_release(&u16);

	pthread_mutex_lock(&b->lock);
	if (b->n_recs == b->cap_recs) {
		b->cap_recs = b->cap_recs ? 2 * b->cap_recs : 1024;
		b->recs = xrealloc(b->recs, b->cap_recs * sizeof(*b->recs));
	}
	b->recs[b->n_recs++] = rec;
	pthread_mutex_unlock(&b->lock);
	return 0;
}

static int cmp_rec(const void *a, const void *b)
{
	return memcmp((*(struct blob_rec *const *)a)->id, (*(struct blob_rec *const *)b)->id, 32);
}

static const struct blob_rec *find_rec(const struct index_builder *b, const unsigned char id[32])
{
	size_t lo = 0, hi = b->n_recs;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(b->recs[mid]->id, id, 32);
		if (!c)
			return b->recs[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Walk segment g of a record's trigram set, calling body for each trigram t. */
#define FOR_SEGMENT(rec, g, t, body)                                                     \
	do {                                                                             \
		const unsigned char *fp_ = (rec)->fwd + (rec)->seg[g],                   \
				    *fe_ = (rec)->fwd + (rec)->seg[(g) + 1];             \
		uint32_t t = (uint32_t)((g) << SEG_SHIFT), d_;                           \
		while (fp_ < fe_ && !varint_get(&fp_, fe_, &d_)) {                       \
			t += d_;                                                         \
			body;                                                            \
		}                                                                        \
	} while (0)

/* A segment's distinct trigrams after the first pass: trigram, file count, list bytes. */
struct seg_tris {
	uint32_t *v; /* 3 words per trigram */
	size_t n;
	uint64_t bytes;
};

struct finish_ctx {
	const struct blob_rec **rec_of;
	size_t n_files;
	struct seg_tris seg[N_SEG];
	size_t seg_k0[N_SEG];    /* the segment's first row in the trigram table */
	uint64_t seg_off[N_SEG]; /* the segment's first byte in the postings */
	unsigned char *table, *post;
	int pass;
	size_t next; /* the next segment to take (atomic) */
};

/* Count, for segment g, each trigram's files and its list's bytes. */
static void finish_count(struct finish_ctx *c, size_t g, uint32_t *last, uint32_t *cnt,
			 uint32_t *size)
{
	struct seg_tris *s = &c->seg[g];
	size_t k = 0;
	memset(last, 0xff, SEG_SIZE * sizeof(uint32_t));
	memset(cnt, 0, SEG_SIZE * sizeof(uint32_t));
	memset(size, 0, SEG_SIZE * sizeof(uint32_t));
	for (size_t i = 0; i < c->n_files; i++) {
		const struct blob_rec *r = c->rec_of[i];
		if (!r)
			continue;
		FOR_SEGMENT(r, g, t, {
			uint32_t l = t & (SEG_SIZE - 1);
			size[l] += (uint32_t)varint_len((uint32_t)i - last[l]);
			cnt[l]++;
			last[l] = (uint32_t)i;
		});
	}
	for (size_t l = 0; l < SEG_SIZE; l++)
		s->n += cnt[l] != 0;
	s->v = xmalloc((s->n ? s->n : 1) * 3 * sizeof(uint32_t));
	for (size_t l = 0; l < SEG_SIZE; l++) {
		if (!cnt[l])
			continue;
		s->v[3 * k] = (uint32_t)((g << SEG_SHIFT) | l);
		s->v[3 * k + 1] = cnt[l];
		s->v[3 * k + 2] = size[l];
		s->bytes += size[l];
		k++;
	}
}

/* Write segment g's table rows and posting lists. */
static void finish_write(struct finish_ctx *c, size_t g, uint32_t *last, uint64_t *cur)
{
	const struct seg_tris *s = &c->seg[g];
	uint64_t off = c->seg_off[g];
	memset(last, 0xff, SEG_SIZE * sizeof(uint32_t));
	for (size_t k = 0; k < s->n; k++) {
		unsigned char *rec = c->table + TRI_REC * (c->seg_k0[g] + k);
		put32(rec, s->v[3 * k]);
		put32(rec + 4, s->v[3 * k + 1]);
		put64(rec + 8, off);
		cur[s->v[3 * k] & (SEG_SIZE - 1)] = off;
		off += s->v[3 * k + 2];
	}
	for (size_t i = 0; i < c->n_files; i++) {
		const struct blob_rec *r = c->rec_of[i];
		if (!r)
			continue;
		FOR_SEGMENT(r, g, t, {
			uint32_t l = t & (SEG_SIZE - 1);
			unsigned char *wp = c->post + cur[l];
			cur[l] += (uint64_t)(varint_put(wp, (uint32_t)i - last[l]) - wp);
			last[l] = (uint32_t)i;
		});
	}
}

static void *finish_worker(void *arg)
{
	struct finish_ctx *c = arg;
	uint32_t *last = xmalloc(SEG_SIZE * sizeof(uint32_t));
	uint32_t *cnt = xmalloc(SEG_SIZE * sizeof(uint32_t));
	uint32_t *size = xmalloc(SEG_SIZE * sizeof(uint32_t));
	uint64_t *cur = xmalloc(SEG_SIZE * sizeof(uint64_t));
	for (;;) {
		size_t g = __atomic_fetch_add(&c->next, 1, __ATOMIC_RELAXED);
		if (g >= N_SEG)
			break;
		if (c->pass == 1)
			finish_count(c, g, last, cnt, size);
		else
			finish_write(c, g, last, cur);
	}
	free(last);
	free(cnt);
	free(size);
	free(cur);
	return NULL;
}

/* Run one pass of the inversion on every CPU (at most BUILD_THREADS_MAX). */
static void finish_pass(struct finish_ctx *c, int pass)
{
	pthread_t th[BUILD_THREADS_MAX];
	long np = sysconf(_SC_NPROCESSORS_ONLN);
	int n_th = np < 1 ? 1 : np > BUILD_THREADS_MAX ? BUILD_THREADS_MAX : (int)np;
	c->pass = pass;
	c->next = 0;
	for (int i = 1; i < n_th; i++)
		if (pthread_create(&th[i], NULL, finish_worker, c))
			BUG("pthread_create");
	finish_worker(c);
	for (int i = 1; i < n_th; i++)
		pthread_join(th[i], NULL);
}

/*
 * Invert the per-file trigram sets into posting lists, segment by segment on every CPU, in
 * two passes over the files in manifest order: the first sizes each list (so the output is
 * allocated once and each segment knows where it writes), the second writes the varint
 * gaps. Layout: header, per-file searchable lengths, trigram table, postings, symbols
 * (docs/formats.md).
 */
int index_builder_finish(struct index_builder *b, const struct manifest *m, struct buf *out)
{
	size_t n_files = manifest_count(m), n_tri = 0, n_syms = 0;
	struct finish_ctx *c = NULL;
	uint64_t post_len = 0, head, table_at, post_at, sym_at, total;
	unsigned char *o;
	int r = 0;

	if (n_files > UINT32_MAX - 1)
		return err_set(ERR_TOOBIG, "index: too many files (%zu)", n_files);
	if (b->n_recs)
		qsort(b->recs, b->n_recs, sizeof(*b->recs), cmp_rec);
	c = xcalloc(1, sizeof(*c));
	c->n_files = n_files;
	c->rec_of = xcalloc(n_files ? n_files : 1, sizeof(*c->rec_of));
	for (size_t i = 0; i < n_files; i++) {
		const struct manifest_entry *e = manifest_get(m, i);
		if (e->mode == 0120000)
			continue;
		if (!(c->rec_of[i] = find_rec(b, e->sha256))) {
			r = err_set(ERR_CORRUPT, "index: '%s' was never added", e->path);
			goto out;
		}
		n_syms += c->rec_of[i]->n_syms;
	}
	finish_pass(c, 1);
	for (size_t g = 0; g < N_SEG; g++) {
		c->seg_k0[g] = n_tri;
		c->seg_off[g] = post_len;
		n_tri += c->seg[g].n;
		post_len += c->seg[g].bytes;
	}
	head = HDR_LEN;
	table_at = head + 8 * (uint64_t)n_files;
	post_at = table_at + TRI_REC * (uint64_t)n_tri;
	sym_at = post_at + post_len;
	total = sym_at + SYM_REC * (uint64_t)n_syms;
	if (total > INDEX_MAX) {
		r = err_set(ERR_TOOBIG, "index: %llu bytes is past the %zu-byte limit",
			    (unsigned long long)total, INDEX_MAX);
		goto out;
	}
	if ((r = buf_grow(out, (size_t)total)))
		goto out;
	o = (unsigned char *)out->p + out->len;
	memset(o, 0, (size_t)(post_at));
	memcpy(o, MAGIC, 8);
	put32(o + 8, (uint32_t)n_files);
	put32(o + 12, (uint32_t)n_tri);
	put64(o + 16, n_syms);
	put64(o + 24, post_len);
	for (size_t i = 0; i < n_files; i++)
		put64(o + head + 8 * i, c->rec_of[i] ? c->rec_of[i]->search_len : 0);
	c->table = o + table_at;
	c->post = o + post_at;
	finish_pass(c, 2);
	{
		size_t k = 0;
		memset(o + sym_at, 0, (size_t)(total - sym_at));
		for (size_t i = 0; i < n_files; i++) {
			if (!c->rec_of[i])
				continue;
			for (size_t j = 0; j < c->rec_of[i]->n_syms; j++) {
				const struct index_symbol *s = &c->rec_of[i]->syms[j];
				unsigned char *rec = o + sym_at + SYM_REC * k++;
				put32(rec, (uint32_t)i);
				put32(rec + 4, s->line);
				put32(rec + 8, s->off);
				rec[12] = (unsigned char)s->len;
				rec[13] = (unsigned char)(s->len >> 8);
				rec[14] = (unsigned char)s->kind;
			}
		}
	}
	out->len += (size_t)total;
	out->p[out->len] = 0;
out:
	if (c) {
		for (size_t g = 0; g < N_SEG; g++)
			free(c->seg[g].v);
		free(c->rec_of);
		free(c);
	}
	return r;
}

/* ---- the loaded index ---- */

struct index {
	const struct manifest *m;
	uint32_t n_files;
	uint64_t *search_len;
	uint64_t *text_off; /* offset of each file in arena; UINT64_MAX for none */
	unsigned char *arena;
	size_t arena_len;
	int arena_fd;   /* the memory file behind arena (index_load), else -1 */
	int arena_ro;   /* arena is another process's text, mapped read-only (index_attach) */
	int post_kept;  /* post points into the caller's image (index_attach with keep) */
	uint32_t n_tri;
	uint32_t *tri, *tri_n;
	uint64_t *tri_off;
	unsigned char *post; /* enc when the index owns its encoding, else its own copy */
	size_t post_len;
	unsigned char *enc; /* the encoded index, then its postings only (index_load); wiped */
	size_t enc_len;
	struct index_symbol *syms;
	size_t n_syms;
	uint32_t *by_name; /* symbol indexes sorted by folded name */
	unsigned char *ascii; /* per file: 0 not known yet, 1 ASCII only, 2 not (index_ascii) */
	unsigned char *utf16; /* per file, when any is: 1 searched as its UTF-8 transcoding */
	struct { unsigned char *p; size_t len, cap; } *u16_text; /* those transcodings (load_utf16) */
};

static void arena_free(unsigned char *p, size_t n);

void index_free(struct index *ix)
{
	if (!ix)
		return;
	if (ix->arena && ix->arena_ro)
		munmap(ix->arena, ix->arena_len + 1);
	else if (ix->arena)
		arena_free(ix->arena, ix->arena_len + 1);
	if (ix->arena_fd >= 0)
		close(ix->arena_fd);
	free(ix->search_len);
	free(ix->text_off);
	free(ix->tri);
	free(ix->tri_n);
	free(ix->tri_off);
	if (ix->enc) {
		sodium_memzero(ix->enc, ix->enc_len);
		free(ix->enc);
	} else if (!ix->post_kept) {
		free(ix->post);
	}
	free(ix->syms);
	free(ix->by_name);
	free(ix->ascii);
	if (ix->u16_text)
		for (uint32_t i = 0; i < ix->n_files; i++)
			if (ix->u16_text[i].p) {
				sodium_memzero(ix->u16_text[i].p, ix->u16_text[i].cap);
				free(ix->u16_text[i].p);
			}
	free(ix->u16_text);
	free(ix->utf16);
	free(ix);
}

/* ---- checking posting lists, on every CPU ---- */

#define CHECK_CHUNK 4096 /* posting lists a worker takes at a time */

struct check_ctx {
	const struct index *ix;
	const unsigned char *link; /* 1 for a symlink's file id */
	uint32_t next;             /* the next chunk's first list (atomic) */
	uint32_t bad;              /* the first malformed list + 1, or 0 (atomic minimum) */
};

/* List k: 0 when well formed, 1 when malformed, 2 when it has trailing bytes. */
static int check_list(const struct index *ix, const unsigned char *link, uint32_t k)
{
	const unsigned char *q = ix->post + ix->tri_off[k], *e = ix->post + ix->tri_off[k + 1];
	uint32_t id = UINT32_MAX, gap, n = ix->n_files;
	for (uint32_t j = 0, cnt = ix->tri_n[k]; j < cnt; j++) {
		if (q < e && *q < 0x80) /* most gaps take one byte */
			gap = *q++;
		else if (varint_get(&q, e, &gap))
			return 1;
		id += gap; /* the first gap wraps from UINT32_MAX to id gap - 1 */
		if (!gap || gap > n || id >= n || link[id])
			return 1;
	}
	return q == e ? 0 : 2;
}

static void *check_worker(void *arg)
{
	struct check_ctx *c = arg;
	const struct index *ix = c->ix;
	for (;;) {
		uint32_t k0 = __atomic_fetch_add(&c->next, CHECK_CHUNK, __ATOMIC_RELAXED);
		if (k0 >= ix->n_tri || __atomic_load_n(&c->bad, __ATOMIC_RELAXED))
			break;
		uint32_t k1 = ix->n_tri - k0 < CHECK_CHUNK ? ix->n_tri : k0 + CHECK_CHUNK;
		for (uint32_t k = k0; k < k1; k++) {
			if (!check_list(ix, c->link, k))
				continue;
			uint32_t want = k + 1, cur = __atomic_load_n(&c->bad, __ATOMIC_RELAXED);
			while ((!cur || want < cur) &&
			       !__atomic_compare_exchange_n(&c->bad, &cur, want, 0, __ATOMIC_RELAXED,
							   __ATOMIC_RELAXED))
				;
			return NULL;
		}
	}
	return NULL;
}

static int n_cpus(void)
{
	long np = sysconf(_SC_NPROCESSORS_ONLN);
	return np < 1 ? 1 : np > BUILD_THREADS_MAX ? BUILD_THREADS_MAX : (int)np;
}

/* The check of posting lists: which file ids are symlinks (no list may name one). */
static void check_init(struct check_ctx *c, const struct index *ix, const struct manifest *m)
{
	unsigned char *link = xcalloc(ix->n_files ? ix->n_files : 1, 1);
	for (uint32_t i = 0; i < ix->n_files; i++)
		link[i] = manifest_get(m, i)->mode == 0120000;
	memset(c, 0, sizeof(*c));
	c->ix = ix;
	c->link = link;
}

/* After every check_worker: ERR_CORRUPT naming the first malformed list, or 0. */
static int check_done(struct check_ctx *c)
{
	int r = 0;
	if (c->bad) {
		int trailing = check_list(c->ix, c->link, c->bad - 1) == 2;
		r = err_set(ERR_CORRUPT, trailing ? "index: posting list %u has trailing bytes"
						  : "index: posting list %u is malformed",
			    c->bad - 1);
	}
	free((void *)c->link);
	c->link = NULL;
	return r;
}

/*
 * Decode and check every structure but the posting lists: header counts against the bytes
 * present, per-file lengths against the manifest, the trigram table strictly ascending
 * with in-range offsets, and symbols inside their file's searchable part, in (file, line)
 * order, into ix (whose m and n_files, the manifest's count, are set; the caller frees
 * it on failure). The postings are copied unless own_post (then ix->post points into data,
 * which the caller hands over to ix).
 */
static int decode_into(struct index *ix, const void *data, size_t len, int own_post)
{
	const unsigned char *p = data;
	const struct manifest *m = ix->m;
	uint64_t n_syms, post_len, need, table_at, post_at, sym_at;
	int r = 0;

	if (len < HDR_LEN || memcmp(p, MAGIC, 8))
		return err_set(ERR_CORRUPT, "index: not a search index (bad magic or too short)");
	if (len > INDEX_MAX)
		return err_set(ERR_CORRUPT, "index: %zu bytes is past the limit", len);
	ix->n_tri = get32(p + 12);
	n_syms = get64(p + 16);
	post_len = get64(p + 24);
	if (get32(p + 8) != manifest_count(m)) {
		r = err_set(ERR_CORRUPT, "index: it lists %u files, the manifest %zu", get32(p + 8),
			    manifest_count(m));
		goto out;
	}
	if (ix->n_tri > N_TRI || n_syms > len / SYM_REC || post_len > len) {
		r = err_set(ERR_CORRUPT, "index: header counts are past its length");
		goto out;
	}
	table_at = HDR_LEN + 8 * (uint64_t)ix->n_files;
	post_at = table_at + TRI_REC * (uint64_t)ix->n_tri;
	sym_at = post_at + post_len;
	need = sym_at + SYM_REC * n_syms;
	if (need != len) {
		r = err_set(ERR_CORRUPT, "index: %zu bytes, its header accounts for %llu", len,
			    (unsigned long long)need);
		goto out;
	}
	ix->search_len = xcalloc(ix->n_files ? ix->n_files : 1, sizeof(uint64_t));
	for (uint32_t i = 0; i < ix->n_files; i++) {
		const struct manifest_entry *e = manifest_get(m, i);
		uint64_t raw = get64(p + HDR_LEN + 8 * (uint64_t)i), sl = raw & ~INDEX_LEN_UTF16;
		int u16 = (raw & INDEX_LEN_UTF16) != 0;
		/* a transcoding writes at most 3 bytes for every 2 read (4 for a trailing odd byte) */
		if (e->mode == 0120000 ? raw != 0
		    : u16  ? e->size < 2 || e->size > INDEX_UTF16_MAX || sl > (e->size - 2) / 2 * 3 + 4
			   : sl > e->size) {
			r = err_set(ERR_CORRUPT, "index: bad searchable length for '%s'", e->path);
			goto out;
		}
		ix->search_len[i] = sl;
		if (u16) {
			if (!ix->utf16)
				ix->utf16 = xcalloc(ix->n_files, 1);
			ix->utf16[i] = 1;
		}
	}
	ix->tri = xmalloc((ix->n_tri ? ix->n_tri : 1) * sizeof(uint32_t));
	ix->tri_n = xmalloc((ix->n_tri ? ix->n_tri : 1) * sizeof(uint32_t));
	ix->tri_off = xmalloc(((size_t)ix->n_tri + 1) * sizeof(uint64_t));
	ix->post_len = (size_t)post_len;
	if (own_post) {
		ix->post = (unsigned char *)p + post_at;
	} else {
		ix->post = xmalloc(ix->post_len + 1);
		memcpy(ix->post, p + post_at, ix->post_len);
	}
	for (uint32_t k = 0; k < ix->n_tri; k++) {
		const unsigned char *rec = p + table_at + TRI_REC * (uint64_t)k;
		ix->tri[k] = get32(rec);
		ix->tri_n[k] = get32(rec + 4);
		ix->tri_off[k] = get64(rec + 8);
		if (ix->tri[k] >= N_TRI || (k && ix->tri[k] <= ix->tri[k - 1]) || !ix->tri_n[k] ||
		    ix->tri_n[k] > ix->n_files || ix->tri_off[k] > post_len ||
		    (k && ix->tri_off[k] < ix->tri_off[k - 1]) || (!k && ix->tri_off[k])) {
			r = err_set(ERR_CORRUPT, "index: trigram table entry %u is malformed", k);
			goto out;
		}
	}
	ix->tri_off[ix->n_tri] = post_len;
	ix->n_syms = (size_t)n_syms;
	ix->syms = xmalloc((ix->n_syms ? ix->n_syms : 1) * sizeof(*ix->syms));
	for (size_t k = 0; k < ix->n_syms; k++) {
		const unsigned char *rec = p + sym_at + SYM_REC * (uint64_t)k;
		struct index_symbol *s = &ix->syms[k];
		s->file = get32(rec);
		s->line = get32(rec + 4);
		s->off = get32(rec + 8);
		s->len = (uint16_t)(rec[12] | rec[13] << 8);
		s->kind = rec[14];
		if (s->file >= ix->n_files || !s->len || s->len > SYM_NAME_MAX || !s->line ||
		    (uint64_t)s->off + s->len > ix->search_len[s->file] || (ix->utf16 && ix->utf16[s->file]) ||
		    (k && (s->file < s[-1].file || (s->file == s[-1].file && s->line < s[-1].line)))) {
			r = err_set(ERR_CORRUPT, "index: symbol %zu is malformed", k);
			goto out;
		}
	}
out:
	return r;
}

/* ---- the name order of symbols ---- */

/*
 * A symbol's sort key: 16 of its name bytes (the first, or the next 16 for names that tie
 * on those), ASCII case folded, big-endian and zero-padded, so that integer comparisons
 * and radix passes order them; len and idx settle the rest.
 */
struct name_key {
	uint64_t hi, lo;
	uint32_t idx;
	uint32_t len;
};

#define NAME_BUCKETS 65536 /* by the first two folded bytes of a name */
#define SORT_SMALL 32      /* runs this short are sorted by comparisons */

static const unsigned char *sym_name_at(const struct index *ix, uint32_t i)
{
	const struct index_symbol *s = &ix->syms[i];
	return ix->arena + ix->text_off[s->file] + s->off;
}

/* Fold eight bytes at once as index_fold does: ASCII A-Z (and nothing else) to a-z. */
static uint64_t fold8(uint64_t x)
{
	uint64_t t = x & 0x7f7f7f7f7f7f7f7fULL;
	uint64_t from_a = t + 0x3f3f3f3f3f3f3f3fULL; /* top bit: t >= 'A' (no carry: t < 0x80) */
	uint64_t past_z = t + 0x2525252525252525ULL; /* top bit: t > 'Z' */
	return x | ((from_a & ~past_z & ~x & 0x8080808080808080ULL) >> 2);
}

/* k's key from name bytes [from, from + 16) of its symbol, folded, zero-padded. */
static void key_of(const struct index *ix, struct name_key *k, size_t from)
{
	const unsigned char *nm = sym_name_at(ix, k->idx) + from;
	size_t n = k->len > from ? k->len - from : 0;
	uint64_t w0, w1;
	if (n > 16)
		n = 16;
	if (nm + 16 <= ix->arena + ix->arena_len) { /* two loads, then the bytes past n cut */
		w0 = get64(nm);
		w1 = get64(nm + 8);
		if (n < 8)
			w0 &= n ? ~0ULL >> (64 - 8 * n) : 0;
		if (n < 16)
			w1 &= n > 8 ? ~0ULL >> (64 - 8 * (n - 8)) : 0;
	} else { /* at the arena's end */
		unsigned char b[16] = {0};
		memcpy(b, nm, n);
		w0 = get64(b);
		w1 = get64(b + 8);
	}
	k->hi = __builtin_bswap64(fold8(w0)); /* the first byte most significant */
	k->lo = __builtin_bswap64(fold8(w1));
}

/*
 * The order of two keys of names that agree before byte `from`: by the keys (bytes [from,
 * from + 16)), then by length when one name ends within them (equal keys then mean equal
 * bytes up to the shorter name's end, and the shorter comes first: a zero of padding
 * orders it so even against a NUL), then by index. Two longer names with equal keys are
 * left in index order here: keys_sort_from sorts them again on their next 16 bytes.
 */
static int key_less(const struct name_key *a, const struct name_key *b, size_t end)
{
	if (a->hi != b->hi)
		return a->hi < b->hi;
	if (a->lo != b->lo)
		return a->lo < b->lo;
	if (a->len != b->len && (a->len <= end || b->len <= end))
		return a->len < b->len;
	return a->idx < b->idx;
}

static void key_swap(struct name_key *a, struct name_key *b)
{
	struct name_key t = *a;
	*a = *b;
	*b = t;
}

static void key_sift(struct name_key *a, size_t i, size_t n, size_t end)
{
	for (size_t c; (c = 2 * i + 1) < n; i = c) {
		if (c + 1 < n && key_less(&a[c], &a[c + 1], end))
			c++;
		if (!key_less(&a[i], &a[c], end))
			return;
		key_swap(&a[i], &a[c]);
	}
}

/*
 * Sort a[0..n) by key_less (end: the byte after the keys): quicksort (Hoare's partition
 * around the median of three), heapsort past the given depth, insertion sort for short
 * runs. No two keys are equal (idx breaks every tie).
 */
static void keys_sort(struct name_key *a, size_t n, int depth, size_t end)
{
	while (n > SORT_SMALL) {
		size_t mid = (n - 1) / 2, i, j;
		struct name_key pivot;
		if (depth-- <= 0) {
			for (size_t k = n / 2; k-- > 0;)
				key_sift(a, k, n, end);
			for (size_t k = n - 1; k > 0; k--) {
				key_swap(&a[0], &a[k]);
				key_sift(a, 0, k, end);
			}
			return;
		}
		if (key_less(&a[mid], &a[0], end))
			key_swap(&a[mid], &a[0]);
		if (key_less(&a[n - 1], &a[mid], end)) {
			key_swap(&a[n - 1], &a[mid]);
			if (key_less(&a[mid], &a[0], end))
				key_swap(&a[mid], &a[0]);
		}
		pivot = a[mid];
		for (i = 0, j = n - 1;; i++, j--) {
			while (key_less(&a[i], &pivot, end))
				i++;
			while (key_less(&pivot, &a[j], end))
				j--;
			if (i >= j)
				break;
			key_swap(&a[i], &a[j]);
		}
		/* [0, j] and [j + 1, n), both non-empty: recurse into the smaller */
		if (j + 1 < n - j - 1) {
			keys_sort(a, j + 1, depth, end);
			a += j + 1;
			n -= j + 1;
		} else {
			keys_sort(a + j + 1, n - j - 1, depth, end);
			n = j + 1;
		}
	}
	for (size_t k = 1; k < n; k++) {
		struct name_key x = a[k];
		size_t m = k;
		for (; m > 0 && key_less(&x, &a[m - 1], end); m--)
			a[m] = a[m - 1];
		a[m] = x;
	}
}

/* Byte b (0-15) of a key, most significant first. */
static unsigned key_byte(const struct name_key *k, int b)
{
	return (unsigned)((b < 8 ? k->hi >> (56 - 8 * b) : k->lo >> (56 - 8 * (b - 8))) & 0xff);
}

/*
 * Sort a[0..n), whose keys agree before byte `byte`, by key_less: by the first byte from
 * there on which they differ, most significant first (a pass scatters through tmp, as long
 * as a), and so on into each run; by keys_sort once a run is short or its keys are equal.
 */
static void keys_radix(struct name_key *a, struct name_key *tmp, size_t n, int byte, size_t end)
{
	size_t count[256], at = 0;
	uint64_t dhi = 0, dlo = 0;
	if (n <= SORT_SMALL)
		goto small;
	for (size_t i = 1; i < n; i++) { /* skip the bytes every key shares */
		dhi |= a[i].hi ^ a[0].hi;
		dlo |= a[i].lo ^ a[0].lo;
	}
	if (dhi)
		byte = byte > __builtin_clzll(dhi) / 8 ? byte : __builtin_clzll(dhi) / 8;
	else if (dlo)
		byte = byte > 8 + __builtin_clzll(dlo) / 8 ? byte : 8 + __builtin_clzll(dlo) / 8;
	else
		goto small; /* all keys equal */
	memset(count, 0, sizeof(count));
	for (size_t i = 0; i < n; i++)
		count[key_byte(&a[i], byte)]++;
	for (int v = 0; v < 256; v++) {
		size_t c = count[v];
		count[v] = at;
		at += c;
	}
	for (size_t i = 0; i < n; i++)
		tmp[count[key_byte(&a[i], byte)]++] = a[i];
	memcpy(a, tmp, n * sizeof(*a));
	for (size_t v = 0, i = 0; v < 256; i = count[v++]) /* count[v]: the end of run v */
		if (count[v] - i > 1)
			keys_radix(a + i, tmp + i, count[v] - i, byte + 1, end);
	return;
small:
	if (n > 1) {
		int depth = 0;
		for (size_t x = n; x > 1; x >>= 1)
			depth += 2;
		keys_sort(a, n, depth, end);
	}
}

/*
 * Sort a[0..n), names that agree before byte `from` and keyed on bytes [from, from + 16)
 * (and, when from is 0, on their first `byte` bytes too), then each run of longer names
 * that tie on those bytes on the next 16, and so on. tmp is scratch as long as a.
 */
static void keys_sort_from(const struct index *ix, struct name_key *a, struct name_key *tmp,
			   size_t n, size_t from, int byte)
{
	size_t end = from + 16;
	keys_radix(a, tmp, n, byte, end);
	for (size_t i = 0, j; i < n; i = j) {
		for (j = i + 1; j < n && a[j].hi == a[i].hi && a[j].lo == a[i].lo; j++)
			;
		while (i < j && a[i].len <= end) /* the shorter names come first and are in place */
			i++;
		if (j - i > 1 && end < SYM_NAME_MAX) {
			for (size_t k = i; k < j; k++) {
				if (k + 8 < j)
					__builtin_prefetch(sym_name_at(ix, a[k + 8].idx) + end);
				key_of(ix, &a[k], end);
			}
			keys_sort_from(ix, a + i, tmp + i, j - i, end, 0);
		}
	}
}

/*
 * The name sort on every CPU: each thread counts a slice of the keys by bucket (their
 * first two folded bytes); the slices are scattered into bucket order, then the threads
 * take buckets, largest first, and sort each (the keys' first array as scratch).
 */
struct sort_ctx {
	struct index *ix;
	int n_th;
	struct name_key *keys, *out;
	uint32_t *count;  /* [thread][bucket]: counts, then each thread's next slot */
	uint32_t *bucket; /* buckets holding two symbols or more, largest first */
	size_t *start;    /* bucket b is out[start[b], start[b + 1]) */
	uint32_t n_bucket, next;
	int phase;
};

struct sort_arg {
	struct sort_ctx *c;
	int t;
};

static int cmp_bucket_size(const void *a, const void *b, void *arg)
{
	const size_t *start = arg;
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	size_t nx = start[x + 1] - start[x], ny = start[y + 1] - start[y];
	return nx != ny ? (nx > ny ? -1 : 1) : (x < y ? -1 : 1);
}

static void *sort_worker(void *arg)
{
	struct sort_arg *sa = arg;
	struct sort_ctx *c = sa->c;
	size_t n = c->ix->n_syms, lo = n * (size_t)sa->t / (size_t)c->n_th,
	       hi = n * (size_t)(sa->t + 1) / (size_t)c->n_th;
	uint32_t *count = c->count + (size_t)sa->t * NAME_BUCKETS;
	if (c->phase == 0) {
		for (size_t i = lo; i < hi; i++)
			count[c->keys[i].hi >> 48]++;
	} else if (c->phase == 1) {
		for (size_t i = lo; i < hi; i++)
			c->out[count[c->keys[i].hi >> 48]++] = c->keys[i];
	} else {
		for (;;) {
			uint32_t k = __atomic_fetch_add(&c->next, 1, __ATOMIC_RELAXED), b;
			if (k >= c->n_bucket)
				break;
			b = c->bucket[k];
			keys_sort_from(c->ix, c->out + c->start[b], c->keys + c->start[b],
				       c->start[b + 1] - c->start[b], 0, 2);
		}
	}
	return NULL;
}

static void sort_phase(struct sort_ctx *c, int phase)
{
	pthread_t th[BUILD_THREADS_MAX];
	struct sort_arg a[BUILD_THREADS_MAX];
	c->phase = phase;
	for (int t = 0; t < c->n_th; t++)
		a[t] = (struct sort_arg){c, t};
	for (int t = 1; t < c->n_th; t++)
		if (pthread_create(&th[t], NULL, sort_worker, &a[t]))
			BUG("pthread_create");
	sort_worker(&a[0]);
	for (int t = 1; t < c->n_th; t++)
		pthread_join(th[t], NULL);
}

/*
 * Order the symbols by folded name, then index (by_name), on n_th threads, from keys (one
 * per symbol, from key_of at byte 0), which it frees.
 */
static void sort_by_name(struct index *ix, struct name_key *keys, int n_th)
{
	struct sort_ctx c = {0};
	size_t n = ix->n_syms, at = 0;
	c.ix = ix;
	c.n_th = n < 65536 ? 1 : n_th;
	c.keys = keys;
	c.out = xmalloc((n ? n : 1) * sizeof(*c.out));
	c.count = xcalloc((size_t)c.n_th * NAME_BUCKETS, sizeof(*c.count));
	c.start = xmalloc((NAME_BUCKETS + 1) * sizeof(*c.start));
	c.bucket = xmalloc(NAME_BUCKETS * sizeof(*c.bucket));
	sort_phase(&c, 0);
	for (size_t b = 0; b < NAME_BUCKETS; b++) {
		c.start[b] = at;
		for (int t = 0; t < c.n_th; t++) {
			uint32_t k = c.count[(size_t)t * NAME_BUCKETS + b];
			c.count[(size_t)t * NAME_BUCKETS + b] = (uint32_t)at;
			at += k;
		}
	}
	c.start[NAME_BUCKETS] = at;
	sort_phase(&c, 1);
	for (uint32_t b = 0; b < NAME_BUCKETS; b++)
		if (c.start[b + 1] - c.start[b] > 1)
			c.bucket[c.n_bucket++] = b;
	qsort_r(c.bucket, c.n_bucket, sizeof(*c.bucket), cmp_bucket_size, c.start);
	sort_phase(&c, 2);
	ix->by_name = xmalloc((n ? n : 1) * sizeof(uint32_t));
	for (size_t i = 0; i < n; i++)
		ix->by_name[i] = c.out[i].idx;
	free(c.out);
	free(c.keys);
	free(c.count);
	free(c.start);
	free(c.bucket);
}

/* ---- loading file contents ---- */

#define LOAD_CHUNK 64 /* files a worker reads at a time, in storage order */

/*
 * While the main thread reads and decodes the encoded index, the workers read the files in
 * the vault's storage order (so that each read of a pack serves many files), chunk by
 * chunk, straight into the arena; once the index is decoded they key the symbols of each
 * chunk they read while its text is in cache, then the symbols of the chunks read before,
 * then check the posting lists.
 */
struct load_ctx {
	struct index *ix;
	struct vault *v;
	const uint32_t *order; /* the regular files, in storage order */
	size_t n_order, n_chunks;
	size_t next, next_key; /* the next chunk to read, and to key (atomic) */
	unsigned char *unkeyed; /* by chunk: read before the index was decoded */
	/* set once the index is decoded (decoded 1), or failed to (decoded -1), under lock: */
	const uint32_t *sym_first; /* file i's symbols are [sym_first[i], sym_first[i + 1]) */
	struct name_key *keys;     /* by symbol */
	struct check_ctx check;
	int decoded;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int r; /* the first failure to read a file, with its message */
	char msg[512];
};

static void load_fail(struct load_ctx *c, int r, const char *path)
{
	pthread_mutex_lock(&c->lock);
	if (!c->r) {
		snprintf(c->msg, sizeof(c->msg), "index: '%s': %s", path, err_msg());
		/* a blob the manifest names and the vault lacks: a damaged release */
		__atomic_store_n(&c->r, r == ERR_NOTFOUND ? ERR_CORRUPT : r, __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&c->lock);
}

static void key_chunk(struct load_ctx *c, size_t k0)
{
	const struct index *ix = c->ix;
	size_t k1 = c->n_order - k0 < LOAD_CHUNK ? c->n_order : k0 + LOAD_CHUNK;
	for (size_t j = k0; j < k1; j++) {
		uint32_t i = c->order[j];
		for (uint32_t k = c->sym_first[i]; k < c->sym_first[i + 1]; k++) {
			if (k + 8 < c->sym_first[i + 1])
				__builtin_prefetch(sym_name_at(ix, k + 8));
			c->keys[k].idx = k;
			c->keys[k].len = ix->syms[k].len;
			key_of(ix, &c->keys[k], 0);
		}
	}
}

static int stopped(struct load_ctx *c)
{
	return __atomic_load_n(&c->r, __ATOMIC_RELAXED) ||
	       __atomic_load_n(&c->decoded, __ATOMIC_ACQUIRE) < 0;
}

static void *load_worker(void *arg)
{
	struct load_ctx *c = arg;
	const struct index *ix = c->ix;
	struct vault_reader *rd = vault_reader_new(c->v);
	struct vault_want w[LOAD_CHUNK];
	for (;;) {
		size_t k0 = __atomic_fetch_add(&c->next, LOAD_CHUNK, __ATOMIC_RELAXED), n, bad;
		int r;
		if (k0 >= c->n_order || stopped(c))
			break;
		n = c->n_order - k0 < LOAD_CHUNK ? c->n_order - k0 : LOAD_CHUNK;
		for (size_t j = 0; j < n; j++) {
			uint32_t i = c->order[k0 + j];
			const struct manifest_entry *e = manifest_get(ix->m, i);
			w[j] = (struct vault_want){e->sha256, ix->arena + ix->text_off[i], (size_t)e->size};
		}
		if ((r = vault_get_many(rd, w, n, &bad))) {
			load_fail(c, r, manifest_get(ix->m, c->order[k0 + bad])->path);
			break;
		}
		/* while the text is in cache: a file all ASCII is so in its searchable part too
		 * (index_ascii works the others out when a search first asks) */
		for (size_t j = 0; j < n; j++)
			if (ascii_only(w[j].dst, w[j].len))
				__atomic_store_n(&ix->ascii[c->order[k0 + j]], 1, __ATOMIC_RELAXED);
		if (__atomic_load_n(&c->decoded, __ATOMIC_ACQUIRE) > 0)
			key_chunk(c, k0);
		else
			c->unkeyed[k0 / LOAD_CHUNK] = 1;
	}
	vault_reader_free(rd);
	pthread_mutex_lock(&c->lock);
	while (!c->decoded)
		pthread_cond_wait(&c->cond, &c->lock);
	pthread_mutex_unlock(&c->lock);
	if (stopped(c))
		return NULL;
	for (;;) {
		size_t k = __atomic_fetch_add(&c->next_key, 1, __ATOMIC_RELAXED);
		if (k >= c->n_chunks)
			break;
		if (c->unkeyed[k])
			key_chunk(c, k * LOAD_CHUNK);
	}
	check_worker(&c->check);
	return NULL;
}

/* The main thread's part: read and decode the index, then tell the workers. */
static int load_decode(struct load_ctx *c)
{
	struct index *ix = c->ix;
	struct buf enc;
	uint32_t *sym_first = NULL;
	int r;
	buf_init(&enc, INDEX_MAX);
	if (!(r = vault_get_meta(c->v, "index", &enc))) {
		ix->enc_len = enc.len;
		ix->enc = (unsigned char *)buf_detach(&enc, NULL);
		r = decode_into(ix, ix->enc, ix->enc_len, 1);
	}
	buf_release(&enc);
	if (!r) {
		/* keep only the postings: the rest is decoded into the tables */
		memmove(ix->enc, ix->post, ix->post_len);
		sodium_memzero(ix->enc + ix->post_len, ix->enc_len - ix->post_len);
		ix->enc = xrealloc(ix->enc, ix->post_len + 1);
		ix->enc_len = ix->post_len + 1;
		ix->post = ix->enc;
		sym_first = xmalloc(((size_t)ix->n_files + 1) * sizeof(*sym_first));
		for (size_t i = 0, k = 0; i <= ix->n_files; i++) {
			while (k < ix->n_syms && ix->syms[k].file < i)
				k++;
			sym_first[i] = (uint32_t)k;
		}
		check_init(&c->check, ix, ix->m);
	}
	pthread_mutex_lock(&c->lock);
	c->sym_first = sym_first;
	c->keys = r ? NULL : xmalloc((ix->n_syms ? ix->n_syms : 1) * sizeof(*c->keys));
	__atomic_store_n(&c->decoded, r ? -1 : 1, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	return r;
}

struct pos_file {
	uint64_t pos;
	uint32_t file;
};

static int cmp_pos(const void *a, const void *b)
{
	const struct pos_file *x = a, *y = b;
	if (x->pos != y->pos)
		return x->pos < y->pos ? -1 : 1;
	return x->file < y->file ? -1 : x->file > y->file;
}

/*
 * The regular files of ix in the order the vault stores their blobs. ERR_CORRUPT naming a
 * file whose blob the vault lacks.
 */
static int storage_order(const struct index *ix, struct vault *v, uint32_t **order, size_t *n)
{
	struct pos_file *pf = xmalloc((ix->n_files ? ix->n_files : 1) * sizeof(*pf));
	size_t k = 0;
	int r = 0;
	for (uint32_t i = 0; i < ix->n_files; i++) {
		const struct manifest_entry *e = manifest_get(ix->m, i);
		if (ix->text_off[i] == UINT64_MAX)
			continue;
		if ((r = vault_blob_pos(v, e->sha256, &pf[k].pos))) {
			r = err_set(ERR_CORRUPT, "index: '%s': %s", e->path, err_msg());
			goto out;
		}
		pf[k++].file = i;
	}
	qsort(pf, k, sizeof(*pf), cmp_pos);
	*order = xmalloc((k ? k : 1) * sizeof(**order));
	for (size_t j = 0; j < k; j++)
		(*order)[j] = pf[j].file;
	*n = k;
out:
	free(pf);
	return r;
}

/*
 * The arena for the release's plaintext: the pages of a memory file (memfd, *fd), so that
 * the release's search worker can map the same text read-only (index_share), never dumped,
 * not inherited by a forked child, and locked as they are first touched, so that filling
 * it in parallel also faults it in parallel; wiped before they are unmapped. Small pages:
 * on the reference machine (a VM whose host takes back freed memory) faulting 1.3 GB in
 * huge pages took 2.3-4.5 s on two threads, in small pages 0.6-1.5 s. NULL when the memory
 * file or its mapping cannot be made.
 */
static unsigned char *arena_alloc(size_t n, int *fd)
{
	void *p;
	*fd = memfd_create("sealroom-text", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (*fd < 0)
		return NULL;
	if (ftruncate(*fd, (off_t)n) < 0 ||
	    (p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0)) == MAP_FAILED) {
		close(*fd);
		*fd = -1;
		return NULL;
	}
	/* its size is fixed: nothing that holds the file can make the room's mapping fault */
	(void)fcntl(*fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
	(void)madvise(p, n, MADV_DONTDUMP);
	(void)madvise(p, n, MADV_DONTFORK);
	(void)mlock2(p, n, MLOCK_ONFAULT); /* best effort, as sodium_malloc's mlock */
	return p;
}

static void arena_free(unsigned char *p, size_t n)
{
	sodium_memzero(p, n);
	(void)munlock(p, n);
	munmap(p, n);
}

/*
 * The UTF-8 transcodings of the files indexed as UTF-16 (their text read into the arena):
 * each must start with a byte order mark and give the searchable length the index holds.
 */
static int load_utf16(struct index *ix)
{
	ix->u16_text = xcalloc(ix->n_files, sizeof(*ix->u16_text));
	for (uint32_t i = 0; i < ix->n_files; i++) {
		const struct manifest_entry *e = manifest_get(ix->m, i);
		const unsigned char *raw = ix->arena + ix->text_off[i];
		struct buf b;
		if (!ix->utf16[i])
			continue;
		buf_init(&b, (size_t)e->size / 2 * 3 + 8);
		if (!utf16_bom(raw, (size_t)e->size) || buf_add_utf16(&b, raw, (size_t)e->size) ||
		    index_searchable_len(b.p, b.len) != ix->search_len[i]) {
			if (b.cap)
				sodium_memzero(b.p, b.cap);
			buf_release(&b);
			return err_set(ERR_CORRUPT, "index: '%s' is indexed as UTF-16 text but its text is not that", e->path);
		}
		ix->u16_text[i].p = (unsigned char *)b.p; /* wiped whole at index_free */
		ix->u16_text[i].len = b.len;
		ix->u16_text[i].cap = b.cap;
	}
	return 0;
}

/* Where each regular file's text starts in the arena (the manifest's order), and the total. */
static int text_offsets(struct index *ix, uint64_t *total)
{
	*total = 0;
	ix->text_off = xmalloc((ix->n_files ? ix->n_files : 1) * sizeof(uint64_t));
	for (uint32_t i = 0; i < ix->n_files; i++) {
		const struct manifest_entry *e = manifest_get(ix->m, i);
		if (e->mode == 0120000) {
			ix->text_off[i] = UINT64_MAX;
			continue;
		}
		ix->text_off[i] = *total;
		if (__builtin_add_overflow(*total, e->size, total) || *total > INDEX_ARENA_MAX)
			return err_set(ERR_TOOBIG, "index: the release's files are past %llu bytes in memory",
				       (unsigned long long)INDEX_ARENA_MAX);
	}
	return 0;
}

int index_load(struct vault *v, const struct manifest *m, int threads, struct index **out)
{
	struct index *ix = xcalloc(1, sizeof(*ix));
	struct load_ctx c = {0};
	pthread_t th[BUILD_THREADS_MAX];
	uint32_t *order = NULL;
	uint64_t total = 0;
	int r, rd, n_th;

	*out = NULL;
	ix->m = m;
	ix->n_files = (uint32_t)manifest_count(m);
	ix->arena_fd = -1;
	ix->ascii = xcalloc(ix->n_files ? ix->n_files : 1, 1);
	if ((r = text_offsets(ix, &total)) || (r = storage_order(ix, v, &order, &c.n_order)))
		goto out;
	ix->arena_len = (size_t)total;
	if (!(ix->arena = arena_alloc(ix->arena_len + 1, &ix->arena_fd))) {
		r = err_set(ERR_TOOBIG, "index: cannot hold %zu bytes of file contents", ix->arena_len);
		goto out;
	}
	ix->arena[ix->arena_len] = 0;
	c.ix = ix;
	c.v = v;
	c.order = order;
	c.n_chunks = (c.n_order + LOAD_CHUNK - 1) / LOAD_CHUNK;
	c.unkeyed = xcalloc(c.n_chunks ? c.n_chunks : 1, 1);
	pthread_mutex_init(&c.lock, NULL);
	pthread_cond_init(&c.cond, NULL);
	if (threads <= 0)
		threads = n_cpus();
	n_th = threads > BUILD_THREADS_MAX ? BUILD_THREADS_MAX : threads;
	for (int i = 0; i < n_th; i++)
		if (pthread_create(&th[i], NULL, load_worker, &c))
			BUG("pthread_create");
	rd = load_decode(&c);
	if (!rd)
		load_worker(&c);
	for (int i = 0; i < n_th; i++)
		pthread_join(th[i], NULL);
	pthread_mutex_destroy(&c.lock);
	pthread_cond_destroy(&c.cond);
	if ((r = rd))
		goto out;
	/* a damaged index is named before the files it would have read */
	if (c.r && c.check.bad == 0)
		check_worker(&c.check);
	if ((r = check_done(&c.check)))
		goto out;
	if (c.r) {
		r = err_set(c.r, "%s", c.msg);
		goto out;
	}
	if (ix->utf16 && (r = load_utf16(ix)))
		goto out;
	sort_by_name(ix, c.keys, n_th);
	c.keys = NULL;
out:
	if (c.check.link)
		free((void *)c.check.link);
	free(c.keys);
	free((void *)c.sym_first);
	free(c.unkeyed);
	free(order);
	if (r)
		index_free(ix);
	else
		*out = ix;
	return r;
}

/* ---- handing a loaded index to another process ---- */

#define SHARE_MAGIC "SRIL0001"
#define SHARE_HDR 16

size_t index_share_len(const struct index *ix)
{
	return SHARE_HDR + HDR_LEN + 8 * (size_t)ix->n_files + TRI_REC * (size_t)ix->n_tri + ix->post_len +
	       SYM_REC * ix->n_syms + ix->n_files + 4 * ix->n_syms;
}

void index_share_write(const struct index *ix, unsigned char *o)
{
	uint64_t table_at = HDR_LEN + 8 * (uint64_t)ix->n_files, post_at = table_at + TRI_REC * (uint64_t)ix->n_tri,
		 sym_at = post_at + ix->post_len, enc_len = sym_at + SYM_REC * (uint64_t)ix->n_syms;
	unsigned char *e;
	memcpy(o, SHARE_MAGIC, 8);
	put64(o + 8, enc_len);
	e = o + SHARE_HDR;
	memset(e, 0, HDR_LEN);
	memcpy(e, MAGIC, 8);
	put32(e + 8, ix->n_files);
	put32(e + 12, ix->n_tri);
	put64(e + 16, ix->n_syms);
	put64(e + 24, ix->post_len);
	for (uint32_t i = 0; i < ix->n_files; i++)
		put64(e + HDR_LEN + 8 * (uint64_t)i, ix->search_len[i] | (ix->utf16 && ix->utf16[i] ? INDEX_LEN_UTF16 : 0));
	for (uint32_t k = 0; k < ix->n_tri; k++) {
		unsigned char *rec = e + table_at + TRI_REC * (uint64_t)k;
		put32(rec, ix->tri[k]);
		put32(rec + 4, ix->tri_n[k]);
		put64(rec + 8, ix->tri_off[k]);
	}
	memcpy(e + post_at, ix->post, ix->post_len);
	for (size_t k = 0; k < ix->n_syms; k++) {
		const struct index_symbol *sy = &ix->syms[k];
		unsigned char *rec = e + sym_at + SYM_REC * (uint64_t)k;
		put32(rec, sy->file);
		put32(rec + 4, sy->line);
		put32(rec + 8, sy->off);
		rec[12] = (unsigned char)sy->len;
		rec[13] = (unsigned char)(sy->len >> 8);
		rec[14] = (unsigned char)sy->kind;
		rec[15] = 0;
	}
	e += enc_len;
	for (uint32_t i = 0; i < ix->n_files; i++)
		e[i] = __atomic_load_n(&ix->ascii[i], __ATOMIC_RELAXED);
	e += ix->n_files;
	for (size_t k = 0; k < ix->n_syms; k++)
		put32(e + 4 * k, ix->by_name[k]);
}

int index_share_text(const struct index *ix, int *text_fd)
{
	char path[64];
	*text_fd = -1;
	if (ix->arena_fd < 0 || ix->arena_ro)
		return err_set(ERR_USAGE, "index: only a loaded index's text can be shared");
	/* a description of the text of its own, opened for reading only: a mapping of it can
	 * never be made writable, nor the file grown or cut */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", ix->arena_fd);
	if ((*text_fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return err_set(ERR_IO, "index: cannot reopen the text read-only: %s", strerror(errno));
	return 0;
}

int index_attach(const void *img, size_t len, const struct manifest *m, int text_fd, int keep, struct index **out)
{
	const unsigned char *p = img;
	struct index *ix = xcalloc(1, sizeof(*ix));
	uint64_t enc_len, total;
	struct stat st;
	void *map;
	int r;
	*out = NULL;
	ix->m = m;
	ix->n_files = (uint32_t)manifest_count(m);
	ix->arena_fd = -1;
	ix->arena_ro = 1;
	if (len < SHARE_HDR || memcmp(p, SHARE_MAGIC, 8) || (enc_len = get64(p + 8)) > len - SHARE_HDR) {
		r = err_set(ERR_CORRUPT, "index: not a shared index (bad magic or length)");
		goto out;
	}
	if (keep) {
		/* the postings are read where they are */
		ix->post_kept = 1;
		if ((r = decode_into(ix, p + SHARE_HDR, (size_t)enc_len, 1)))
			goto out;
	} else {
		ix->enc_len = (size_t)enc_len + 1;
		ix->enc = xmalloc(ix->enc_len);
		memcpy(ix->enc, p + SHARE_HDR, (size_t)enc_len);
		if ((r = decode_into(ix, ix->enc, (size_t)enc_len, 1)))
			goto out;
	}
	if (len - SHARE_HDR - enc_len != ix->n_files + 4 * (uint64_t)ix->n_syms) {
		r = err_set(ERR_CORRUPT, "index: a shared index's tables have the wrong length");
		goto out;
	}
	p += SHARE_HDR + enc_len;
	ix->ascii = xmalloc(ix->n_files ? ix->n_files : 1);
	for (uint32_t i = 0; i < ix->n_files; i++)
		ix->ascii[i] = p[i] <= 2 ? p[i] : 0;
	p += ix->n_files;
	ix->by_name = xmalloc((ix->n_syms ? ix->n_syms : 1) * sizeof(uint32_t));
	for (size_t k = 0; k < ix->n_syms; k++)
		if ((ix->by_name[k] = get32(p + 4 * k)) >= ix->n_syms) {
			r = err_set(ERR_CORRUPT, "index: a shared index's name order is malformed");
			goto out;
		}
	if ((r = text_offsets(ix, &total)))
		goto out;
	if (fstat(text_fd, &st) < 0 || (uint64_t)st.st_size != total + 1) {
		r = err_set(ERR_CORRUPT, "index: the shared text is not the %llu bytes the manifest names",
			    (unsigned long long)total + 1);
		goto out;
	}
	ix->arena_len = (size_t)total;
	if ((map = mmap(NULL, ix->arena_len + 1, PROT_READ, MAP_SHARED, text_fd, 0)) == MAP_FAILED) {
		r = err_set(ERR_IO, "index: cannot map the shared text: %s", strerror(errno));
		goto out;
	}
	ix->arena = map;
	(void)madvise(map, ix->arena_len + 1, MADV_DONTDUMP);
	if (ix->utf16 && (r = load_utf16(ix)))
		goto out;
out:
	if (r)
		index_free(ix);
	else
		*out = ix;
	return r;
}

/* ---- accessors ---- */

size_t index_n_files(const struct index *ix)
{
	return ix->n_files;
}

const struct manifest *index_manifest(const struct index *ix)
{
	return ix->m;
}

const unsigned char *index_text(const struct index *ix, size_t i, size_t *len)
{
	if (i >= ix->n_files || !ix->arena || ix->text_off[i] == UINT64_MAX) {
		*len = 0;
		return NULL;
	}
	*len = (size_t)manifest_get(ix->m, i)->size;
	return ix->arena + ix->text_off[i];
}

const unsigned char *index_read_text(const struct index *ix, size_t i, size_t *len)
{
	if (i < ix->n_files && ix->u16_text && ix->u16_text[i].p) {
		*len = ix->u16_text[i].len;
		return ix->u16_text[i].p;
	}
	return index_text(ix, i, len);
}

int index_ascii(const struct index *ix, size_t i)
{
	unsigned char known;
	const unsigned char *p;
	size_t n;
	if (i >= ix->n_files || !ix->arena || !ix->ascii || ix->text_off[i] == UINT64_MAX)
		return 0;
	if ((known = __atomic_load_n(&ix->ascii[i], __ATOMIC_RELAXED)))
		return known == 1;
	p = index_read_text(ix, i, &n);
	known = ascii_only(p, (size_t)ix->search_len[i]) ? 1 : 2;
	/* many threads may work it out at once: they all find the same */
	__atomic_store_n(&ix->ascii[i], known, __ATOMIC_RELAXED);
	return known == 1;
}

size_t index_search_len(const struct index *ix, size_t i)
{
	return i < ix->n_files && ix->arena ? (size_t)ix->search_len[i] : 0;
}

size_t index_memory(const struct index *ix)
{
	return ix->arena_len + ix->post_len + ix->n_syms * (sizeof(*ix->syms) + 4) +
	       (size_t)ix->n_tri * 16 + (size_t)ix->n_files * 16;
}

static int find_tri(const struct index *ix, uint32_t t, size_t *k)
{
	size_t lo = 0, hi = ix->n_tri;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ix->tri[mid] == t) {
			*k = mid;
			return 1;
		}
		if (ix->tri[mid] < t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

size_t index_postings_count(const struct index *ix, uint32_t t)
{
	size_t k;
	return find_tri(ix, t, &k) ? ix->tri_n[k] : 0;
}

/* Posting lists were checked at decode time, so this walk cannot leave its list. */
void index_postings(const struct index *ix, uint32_t t, uint32_t **ids, size_t *n)
{
	size_t k;
	*ids = NULL;
	*n = 0;
	if (!find_tri(ix, t, &k))
		return;
	const unsigned char *q = ix->post + ix->tri_off[k], *e = ix->post + ix->tri_off[k + 1];
	uint32_t id = UINT32_MAX, gap, *v = xmalloc(ix->tri_n[k] * sizeof(uint32_t));
	for (uint32_t j = 0; j < ix->tri_n[k]; j++) {
		if (varint_get(&q, e, &gap))
			BUG("posting list %zu", k);
		id += gap;
		v[j] = id;
	}
	*ids = v;
	*n = ix->tri_n[k];
}

size_t index_n_symbols(const struct index *ix)
{
	return ix->n_syms;
}

const struct index_symbol *index_symbol(const struct index *ix, size_t i)
{
	return i < ix->n_syms ? &ix->syms[i] : NULL;
}

const struct index_symbol *index_symbol_by_name(const struct index *ix, size_t i)
{
	return i < ix->n_syms && ix->by_name ? &ix->syms[ix->by_name[i]] : NULL;
}

const char *index_symbol_name(const struct index *ix, const struct index_symbol *s)
{
	if (!ix->arena)
		return NULL;
	return (const char *)ix->arena + ix->text_off[s->file] + s->off;
}

static int name_cmp(const struct index *ix, const struct index_symbol *s, const char *name,
		    size_t len)
{
	const unsigned char *a = (const unsigned char *)index_symbol_name(ix, s);
	size_t n = s->len < len ? s->len : len;
	for (size_t i = 0; i < n; i++) {
		int c = index_fold(a[i]) - index_fold((unsigned char)name[i]);
		if (c)
			return c;
	}
	return s->len == len ? 0 : (s->len < len ? -1 : 1);
}

void index_symbol_find(const struct index *ix, const char *name, size_t len, size_t *lo,
		       size_t *hi)
{
	size_t a = 0, b = ix->by_name ? ix->n_syms : 0;
	while (a < b) {
		size_t mid = a + (b - a) / 2;
		if (name_cmp(ix, &ix->syms[ix->by_name[mid]], name, len) < 0)
			a = mid + 1;
		else
			b = mid;
	}
	*lo = a;
	b = ix->by_name ? ix->n_syms : 0;
	while (a < b) {
		size_t mid = a + (b - a) / 2;
		if (name_cmp(ix, &ix->syms[ix->by_name[mid]], name, len) <= 0)
			a = mid + 1;
		else
			b = mid;
	}
	*hi = a;
}
