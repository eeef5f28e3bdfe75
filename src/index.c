/* index: build, encode, decode and load the search index (see index.h). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
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
	size_t n = index_searchable_len(data, len), k = 0, g = 0;
	unsigned char *bm, *w;
	uint32_t *set, *tmp;
	struct blob_rec *rec;
	struct symvec sv = {0};

	if (e->mode == 0120000)
		return 0;
	rec = xcalloc(1, sizeof(*rec));
	memcpy(rec->id, e->sha256, 32);
	rec->search_len = n;
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
	scan_symbols(p, n, &sv);
	rec->syms = sv.v;
	rec->n_syms = sv.n;

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
	uint32_t n_tri;
	uint32_t *tri, *tri_n;
	uint64_t *tri_off;
	unsigned char *post;
	size_t post_len;
	struct index_symbol *syms;
	size_t n_syms;
	uint32_t *by_name; /* symbol indexes sorted by folded name */
	unsigned char *ascii; /* per file: 0 not known yet, 1 ASCII only, 2 not (index_ascii) */
};

static void arena_free(unsigned char *p, size_t n);

void index_free(struct index *ix)
{
	if (!ix)
		return;
	if (ix->arena)
		arena_free(ix->arena, ix->arena_len + 1);
	free(ix->search_len);
	free(ix->text_off);
	free(ix->tri);
	free(ix->tri_n);
	free(ix->tri_off);
	free(ix->post);
	free(ix->syms);
	free(ix->by_name);
	free(ix->ascii);
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
	uint32_t id = UINT32_MAX, gap;
	for (uint32_t j = 0; j < ix->tri_n[k]; j++) {
		if (varint_get(&q, e, &gap) || !gap || gap > ix->n_files ||
		    (uint32_t)(id + gap) >= ix->n_files || link[(uint32_t)(id + gap)])
			return 1;
		id += gap;
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

/*
 * Check that each posting list decodes to exactly its count of ascending file ids that
 * are regular files, on every CPU. ERR_CORRUPT naming a malformed list.
 */
static int check_postings(const struct index *ix, const struct manifest *m)
{
	struct check_ctx c = {0};
	pthread_t th[BUILD_THREADS_MAX];
	int n_th = n_cpus();
	unsigned char *link = xcalloc(ix->n_files ? ix->n_files : 1, 1);
	for (uint32_t i = 0; i < ix->n_files; i++)
		link[i] = manifest_get(m, i)->mode == 0120000;
	c.ix = ix;
	c.link = link;
	if ((size_t)ix->n_tri < (size_t)CHECK_CHUNK * 2)
		n_th = 1;
	for (int i = 1; i < n_th; i++)
		if (pthread_create(&th[i], NULL, check_worker, &c))
			BUG("pthread_create");
	check_worker(&c);
	for (int i = 1; i < n_th; i++)
		pthread_join(th[i], NULL);
	if (c.bad) {
		int trailing = check_list(ix, link, c.bad - 1) == 2;
		free(link);
		return err_set(ERR_CORRUPT, trailing ? "index: posting list %u has trailing bytes"
						     : "index: posting list %u is malformed",
			       c.bad - 1);
	}
	free(link);
	return 0;
}

/*
 * Decode and check every structure: header counts against the bytes present, per-file
 * lengths against the manifest, the trigram table strictly ascending with in-range
 * offsets, each posting list decoding to exactly its count of ascending file ids that are
 * regular files, and symbols inside their file's searchable part, in (file, line) order.
 */
int index_decode(const void *data, size_t len, const struct manifest *m, struct index **out)
{
	const unsigned char *p = data;
	struct index *ix;
	uint64_t n_syms, post_len, need, table_at, post_at, sym_at;
	int r = 0;

	*out = NULL;
	if (len < HDR_LEN || memcmp(p, MAGIC, 8))
		return err_set(ERR_CORRUPT, "index: not a search index (bad magic or too short)");
	if (len > INDEX_MAX)
		return err_set(ERR_CORRUPT, "index: %zu bytes is past the limit", len);
	ix = xcalloc(1, sizeof(*ix));
	ix->m = m;
	ix->n_files = get32(p + 8);
	ix->n_tri = get32(p + 12);
	n_syms = get64(p + 16);
	post_len = get64(p + 24);
	if (ix->n_files != manifest_count(m)) {
		r = err_set(ERR_CORRUPT, "index: it lists %u files, the manifest %zu", ix->n_files,
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
		ix->search_len[i] = get64(p + HDR_LEN + 8 * (uint64_t)i);
		if (ix->search_len[i] > e->size || (e->mode == 0120000 && ix->search_len[i])) {
			r = err_set(ERR_CORRUPT, "index: bad searchable length for '%s'", e->path);
			goto out;
		}
	}
	ix->tri = xmalloc((ix->n_tri ? ix->n_tri : 1) * sizeof(uint32_t));
	ix->tri_n = xmalloc((ix->n_tri ? ix->n_tri : 1) * sizeof(uint32_t));
	ix->tri_off = xmalloc(((size_t)ix->n_tri + 1) * sizeof(uint64_t));
	ix->post_len = (size_t)post_len;
	ix->post = xmalloc(ix->post_len + 1);
	memcpy(ix->post, p + post_at, ix->post_len);
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
	if ((r = check_postings(ix, m)))
		goto out;
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
		    (uint64_t)s->off + s->len > ix->search_len[s->file] ||
		    (k && (s->file < s[-1].file || (s->file == s[-1].file && s->line < s[-1].line)))) {
			r = err_set(ERR_CORRUPT, "index: symbol %zu is malformed", k);
			goto out;
		}
	}
out:
	if (r)
		index_free(ix);
	else
		*out = ix;
	return r;
}

/* ---- loading file contents ---- */

struct load_ctx {
	struct index *ix;
	struct vault *v;
	pthread_mutex_t lock;
	size_t next;
	int r;
	char msg[512];
};

static void *load_worker(void *arg)
{
	struct load_ctx *c = arg;
	struct buf b;
	buf_init(&b, VAULT_OBJECT_MAX);
	for (;;) {
		size_t i;
		int r;
		i = __atomic_fetch_add(&c->next, 1, __ATOMIC_RELAXED);
		if (i >= c->ix->n_files || __atomic_load_n(&c->r, __ATOMIC_RELAXED))
			break;
		if (c->ix->text_off[i] == UINT64_MAX)
			continue;
		const struct manifest_entry *e = manifest_get(c->ix->m, i);
		buf_reset(&b);
		r = vault_get(c->v, e->sha256, &b);
		if (!r && b.len != e->size)
			r = err_set(ERR_CORRUPT, "index: '%s' holds %zu bytes, the manifest says %llu",
				    e->path, b.len, (unsigned long long)e->size);
		if (r) {
			pthread_mutex_lock(&c->lock);
			if (!c->r) {
				snprintf(c->msg, sizeof(c->msg), "%s", err_msg());
				__atomic_store_n(&c->r, r, __ATOMIC_RELAXED);
			}
			pthread_mutex_unlock(&c->lock);
			break;
		}
		memcpy(c->ix->arena + c->ix->text_off[i], b.p, b.len);
	}
	if (b.p && b.cap) /* the last file's text: only the arena keeps it */
		sodium_memzero(b.p, b.cap);
	buf_release(&b);
	return NULL;
}

static int cmp_by_name(const void *a, const void *b, void *arg)
{
	const struct index *ix = arg;
	const struct index_symbol *x = &ix->syms[*(const uint32_t *)a],
				  *y = &ix->syms[*(const uint32_t *)b];
	const unsigned char *xp = ix->arena + ix->text_off[x->file] + x->off,
			    *yp = ix->arena + ix->text_off[y->file] + y->off;
	size_t n = x->len < y->len ? x->len : y->len;
	for (size_t i = 0; i < n; i++) {
		int c = index_fold(xp[i]) - index_fold(yp[i]);
		if (c)
			return c;
	}
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return *(const uint32_t *)a < *(const uint32_t *)b ? -1 : 1;
}

/* A symbol's sort key: its first 16 name bytes, folded, big-endian, zero-padded. */
struct name_key {
	uint64_t key[2];
	uint32_t idx;
	uint16_t len;
};

static int cmp_by_key_name(const void *a, const void *b, void *arg)
{
	return cmp_by_name(&((const struct name_key *)a)->idx, &((const struct name_key *)b)->idx, arg);
}

/* The keys of k[0..n) from name bytes [from, from + 16), folded, big-endian, zero-padded. */
static void name_keys(const struct index *ix, struct name_key *k, size_t n, size_t from)
{
	for (size_t i = 0; i < n; i++) {
		const struct index_symbol *y = &ix->syms[k[i].idx];
		const unsigned char *nm = ix->arena + ix->text_off[y->file] + y->off;
		struct name_key *e = &k[i];
		e->key[0] = e->key[1] = 0;
		for (size_t j = from; j < from + 16; j++)
			e->key[(j - from) / 8] = e->key[(j - from) / 8] << 8 | (j < y->len ? index_fold(nm[j]) : 0);
	}
}

/*
 * Sort k[0..n), whose names agree on their first `from` bytes, by folded name and then by
 * index: a stable least-significant-digit radix sort on the next 16 bytes (a pass is
 * skipped where every key has the same byte), then each run that ties on them and holds a
 * longer name the same way on the 16 after. Fewer than 64 names, or names past 256 bytes,
 * are compared whole. Names hold no NUL, so a zero byte of padding orders a shorter name first,
 * as a comparison does; names that tie on every byte are one name, left in index order.
 */
static void sort_names(const struct index *ix, struct name_key *k, struct name_key *tmp, size_t n, size_t from)
{
	struct name_key *src = k, *dst = tmp, *t;
	if (n < 2)
		return;
	if (from >= 256 || n < 64) { /* a few names, or past any symbol's length: compared whole */
		qsort_r(k, n, sizeof(*k), cmp_by_key_name, (void *)ix);
		return;
	}
	name_keys(ix, k, n, from);
	for (int pass = 0; pass < 16; pass++) {
		int w = pass < 8 ? 1 : 0, shift = 8 * (pass % 8);
		size_t count[256] = {0}, at = 0;
		for (size_t i = 0; i < n; i++)
			count[src[i].key[w] >> shift & 0xff]++;
		if (count[src[0].key[w] >> shift & 0xff] == n)
			continue;
		for (int b = 0; b < 256; b++) {
			size_t c = count[b];
			count[b] = at;
			at += c;
		}
		for (size_t i = 0; i < n; i++)
			dst[count[src[i].key[w] >> shift & 0xff]++] = src[i];
		t = src, src = dst, dst = t;
	}
	if (src != k)
		memcpy(k, src, n * sizeof(*k));
	for (size_t i = 0, j; i < n; i = j) {
		int longer = k[i].len > from + 16;
		for (j = i + 1; j < n && k[j].key[0] == k[i].key[0] && k[j].key[1] == k[i].key[1]; j++)
			longer |= k[j].len > from + 16;
		if (j - i > 1 && longer)
			sort_names(ix, k + i, tmp, j - i, from + 16);
	}
}

/* Order the symbols by folded name (by_name), in time linear in their names' bytes. */
static void sort_by_name(struct index *ix)
{
	size_t n = ix->n_syms;
	struct name_key *k = xmalloc((n ? n : 1) * sizeof(*k)), *tmp = xmalloc((n ? n : 1) * sizeof(*k));
	for (size_t i = 0; i < n; i++) {
		k[i].idx = (uint32_t)i;
		k[i].len = ix->syms[i].len;
	}
	sort_names(ix, k, tmp, n, 0);
	ix->by_name = xmalloc((n ? n : 1) * sizeof(uint32_t));
	for (size_t i = 0; i < n; i++)
		ix->by_name[i] = k[i].idx;
	free(k);
	free(tmp);
}

/*
 * The arena for the release's plaintext: anonymous pages (huge where the kernel allows)
 * that are never dumped and are locked as they are first touched, so that filling it in
 * parallel also faults it in parallel; wiped before they are unmapped. NULL when the
 * mapping fails.
 */
static unsigned char *arena_alloc(size_t n)
{
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	(void)madvise(p, n, MADV_DONTDUMP);
	(void)madvise(p, n, MADV_HUGEPAGE); /* far fewer page faults while it fills */
	(void)mlock2(p, n, MLOCK_ONFAULT); /* best effort, as sodium_malloc's mlock */
	return p;
}

static void arena_free(unsigned char *p, size_t n)
{
	sodium_memzero(p, n);
	(void)munlock(p, n);
	munmap(p, n);
}

int index_load(const void *p, size_t len, struct vault *v, const struct manifest *m, int threads,
	       struct index **out)
{
	struct index *ix = NULL;
	struct load_ctx c = {0};
	pthread_t th[16];
	uint64_t total = 0;
	int r, n_th;

	*out = NULL;
	if ((r = index_decode(p, len, m, &ix)))
		return r;
	ix->text_off = xmalloc((ix->n_files ? ix->n_files : 1) * sizeof(uint64_t));
	ix->ascii = xcalloc(ix->n_files ? ix->n_files : 1, 1);
	for (uint32_t i = 0; i < ix->n_files; i++) {
		const struct manifest_entry *e = manifest_get(m, i);
		if (e->mode == 0120000) {
			ix->text_off[i] = UINT64_MAX;
			continue;
		}
		ix->text_off[i] = total;
		if (__builtin_add_overflow(total, e->size, &total) || total > INDEX_ARENA_MAX) {
			r = err_set(ERR_TOOBIG, "index: the release's files are past %llu bytes in memory",
				    (unsigned long long)INDEX_ARENA_MAX);
			goto out;
		}
	}
	ix->arena_len = (size_t)total;
	if (!(ix->arena = arena_alloc(ix->arena_len + 1))) {
		r = err_set(ERR_TOOBIG, "index: cannot hold %zu bytes of file contents", ix->arena_len);
		goto out;
	}
	ix->arena[ix->arena_len] = 0;
	c.ix = ix;
	c.v = v;
	pthread_mutex_init(&c.lock, NULL);
	if (threads <= 0) {
		long np = sysconf(_SC_NPROCESSORS_ONLN);
		threads = np > 0 ? (int)np : 1;
	}
	n_th = threads > 16 ? 16 : threads;
	for (int i = 0; i < n_th; i++)
		if (pthread_create(&th[i], NULL, load_worker, &c))
			BUG("pthread_create");
	for (int i = 0; i < n_th; i++)
		pthread_join(th[i], NULL);
	pthread_mutex_destroy(&c.lock);
	if (c.r) {
		r = err_set(c.r, "%s", c.msg);
		goto out;
	}
	sort_by_name(ix);
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

int index_ascii(const struct index *ix, size_t i)
{
	unsigned char known;
	const unsigned char *p;
	size_t n, k = 0;
	uint64_t any = 0;
	if (i >= ix->n_files || !ix->arena || !ix->ascii || ix->text_off[i] == UINT64_MAX)
		return 0;
	if ((known = __atomic_load_n(&ix->ascii[i], __ATOMIC_RELAXED)))
		return known == 1;
	p = ix->arena + ix->text_off[i];
	n = (size_t)ix->search_len[i];
	for (; k + 8 <= n; k += 8) {
		uint64_t w;
		memcpy(&w, p + k, 8);
		any |= w;
	}
	for (; k < n; k++)
		any |= p[k];
	known = any & 0x8080808080808080ull ? 2 : 1;
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
