/* diff: tree diff of manifests, Myers line diff of blobs (see diff.h). */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"

#define COST_DEFAULT ((uint64_t)1 << 28)

/* ---- tree diff ---- */

static void push(struct diff_change **v, size_t *n, size_t *cap, struct diff_change c)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		*v = xrealloc(*v, *cap * sizeof(**v));
	}
	(*v)[(*n)++] = c;
}

static int cmp_path(const struct manifest_entry *x, const struct manifest_entry *y)
{
	size_t n = x->path_len < y->path_len ? x->path_len : y->path_len;
	int c = memcmp(x->path, y->path, n);
	return c ? c : (x->path_len > y->path_len) - (x->path_len < y->path_len);
}

static int cmp_change_path(const void *a, const void *b)
{
	const struct diff_change *x = a, *y = b;
	return cmp_path(x->new ? x->new : x->old, y->new ? y->new : y->old);
}

/* ---- renames, as git's diffcore-rename pairs them ---- */

#define MAX_SCORE 60000     /* git's fixed point for 100 % */
#define CANDIDATES 4        /* best sources kept per added file */
#define SPAN_HASHBASE 107927u
#define EXACT_TRIES 100     /* sources of one blob id looked at, at most */

struct span {
	uint32_t h, n; /* a chunk's hash, the bytes of the chunks with that hash */
};

/* A deleted (source) or added (destination) file. */
struct rfile {
	const struct manifest_entry *e;
	struct span *sp;
	size_t n_sp;
	int hashed, paired;
	size_t with;    /* destinations: the source paired with */
	unsigned score; /* destinations: in MAX_SCORE units */
};

static int is_regular(unsigned mode)
{
	return mode == 0100644 || mode == 0100755;
}

static const char *base_name(const struct manifest_entry *e, size_t *len)
{
	const char *b = e->path + e->path_len;
	while (b > e->path && b[-1] != '/')
		b--;
	*len = (size_t)(e->path + e->path_len - b);
	return b;
}

static int same_base(const struct manifest_entry *x, const struct manifest_entry *y)
{
	size_t lx, ly;
	const char *bx = base_name(x, &lx), *by = base_name(y, &ly);
	return lx == ly && !memcmp(bx, by, lx);
}

static int cmp_span(const void *a, const void *b)
{
	const struct span *x = a, *y = b;
	return (x->h > y->h) - (x->h < y->h);
}

static void span_add(struct rfile *f, size_t *cap, uint32_t h, uint32_t n)
{
	if (f->n_sp == *cap) {
		*cap = *cap ? 2 * *cap : 64;
		f->sp = xrealloc(f->sp, *cap * sizeof(*f->sp));
	}
	f->sp[f->n_sp++] = (struct span){h, n};
}

/*
 * f's chunks: cut after each LF or 64 bytes, whichever comes first (a CR before an LF
 * skipped in text), each hashed as git's diffcore-delta does; equal hashes summed, sorted.
 */
static int hash_file(const struct diff_renames *rn, int side, struct rfile *f)
{
	const unsigned char *p = NULL;
	size_t len = 0, cap = 0, k = 0;
	uint32_t a1 = 0, a2 = 0, n = 0;
	int r, text;
	if (f->hashed)
		return 0;
	if ((r = rn->read(rn->ctx, side, f->e, &p, &len)))
		return r;
	text = !diff_is_binary(p, len);
	for (size_t i = 0; i < len; i++) {
		uint32_t c = p[i], old1 = a1;
		if (text && c == '\r' && i + 1 < len && p[i + 1] == '\n')
			continue;
		a1 = (a1 << 7) ^ (a2 >> 25);
		a2 = (a2 << 7) ^ (old1 >> 25);
		a1 += c;
		if (++n < 64 && c != '\n')
			continue;
		span_add(f, &cap, (a1 + a2 * 0x61) % SPAN_HASHBASE, n);
		n = a1 = a2 = 0;
	}
	if (n)
		span_add(f, &cap, (a1 + a2 * 0x61) % SPAN_HASHBASE, n);
	if (f->n_sp)
		qsort(f->sp, f->n_sp, sizeof(*f->sp), cmp_span);
	for (size_t i = 0; i < f->n_sp; i++) {
		if (k && f->sp[k - 1].h == f->sp[i].h)
			f->sp[k - 1].n += f->sp[i].n;
		else
			f->sp[k++] = f->sp[i];
	}
	f->n_sp = k;
	f->hashed = 1;
	return 0;
}

/*
 * How much of dst comes from src, in MAX_SCORE units of the larger size (git's
 * estimate_similarity): 0 for anything but two regular files, or sizes too far apart
 * for min to be reached.
 */
static int similarity(const struct diff_renames *rn, struct rfile *src, struct rfile *dst, unsigned min,
		      unsigned *score)
{
	uint64_t a = src->e->size, b = dst->e->size, max = a > b ? a : b, delta = a > b ? a - b : b - a, copied = 0;
	size_t i = 0, j = 0;
	int r;
	*score = 0;
	if (!is_regular(src->e->mode) || !is_regular(dst->e->mode) ||
	    max * (uint64_t)(MAX_SCORE - min) < delta * MAX_SCORE)
		return 0;
	if ((r = hash_file(rn, 0, src)) || (r = hash_file(rn, 1, dst)))
		return r;
	while (i < src->n_sp && j < dst->n_sp) {
		if (src->sp[i].h < dst->sp[j].h) {
			i++;
		} else if (src->sp[i].h > dst->sp[j].h) {
			j++;
		} else {
			copied += src->sp[i].n < dst->sp[j].n ? src->sp[i].n : dst->sp[j].n;
			i++;
			j++;
		}
	}
	if (b)
		*score = (unsigned)(copied * MAX_SCORE / max);
	return 0;
}

static void pair(struct rfile *src, size_t si, struct rfile *dst, unsigned score)
{
	src->paired = 1;
	dst->paired = 1;
	dst->with = si;
	dst->score = score;
}

/* A source by blob id, then by path (its index). */
struct by_id {
	const unsigned char *id;
	size_t i;
};

static int cmp_by_id(const void *a, const void *b)
{
	const struct by_id *x = a, *y = b;
	int c = memcmp(x->id, y->id, 32);
	return c ? c : (x->i > y->i) - (x->i < y->i);
}

/* Each destination (in path order) takes the best source of its blob id not used yet:
 * one with the same basename first, else the first by path; modes must match unless both
 * are regular files. */
static void exact_renames(struct rfile *src, size_t ns, struct rfile *dst, size_t nd)
{
	struct by_id *ix = xmalloc(ns * sizeof(*ix));
	for (size_t i = 0; i < ns; i++)
		ix[i] = (struct by_id){src[i].e->sha256, i};
	qsort(ix, ns, sizeof(*ix), cmp_by_id);
	for (size_t d = 0; d < nd; d++) {
		size_t lo = 0, hi = ns, best = SIZE_MAX;
		int best_score = -1, tries = EXACT_TRIES;
		while (lo < hi) { /* the first source with this id */
			size_t mid = lo + (hi - lo) / 2;
			if (memcmp(ix[mid].id, dst[d].e->sha256, 32) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (size_t k = lo; k < ns && !memcmp(ix[k].id, dst[d].e->sha256, 32); k++) {
			struct rfile *s = &src[ix[k].i];
			int sc;
			if ((!is_regular(s->e->mode) || !is_regular(dst[d].e->mode)) && s->e->mode != dst[d].e->mode)
				continue;
			if (s->paired)
				continue;
			sc = 1 + same_base(s->e, dst[d].e);
			if (sc > best_score) {
				best = ix[k].i;
				best_score = sc;
				if (sc == 2)
					break;
			}
			if (!--tries)
				break;
		}
		if (best != SIZE_MAX)
			pair(&src[best], best, &dst[d], MAX_SCORE);
	}
	free(ix);
}

/* Files not paired yet, by basename; unique ones are the only one of their basename. */
struct named {
	const char *b;
	size_t len, i;
	int unique;
};

static int cmp_named(const void *a, const void *b)
{
	const struct named *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->b, y->b, n);
	return c ? c : (x->len > y->len) - (x->len < y->len);
}

static struct named *by_base(const struct rfile *f, size_t n, size_t *out_n)
{
	struct named *v = xmalloc((n ? n : 1) * sizeof(*v));
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (!f[i].paired) {
			v[k].b = base_name(f[i].e, &v[k].len);
			v[k].i = i;
			k++;
		}
	if (k)
		qsort(v, k, sizeof(*v), cmp_named);
	for (size_t i = 0; i < k; i++)
		v[i].unique = (!i || cmp_named(&v[i - 1], &v[i])) && (i + 1 == k || cmp_named(&v[i], &v[i + 1]));
	*out_n = k;
	return v;
}

/* The deleted and the added file of a basename unique on both sides, paired when at
 * least min similar. */
static int basename_renames(const struct diff_renames *rn, struct rfile *src, size_t ns, struct rfile *dst,
			    size_t nd, unsigned min)
{
	size_t n_s, n_d, i = 0, j = 0;
	struct named *vs = by_base(src, ns, &n_s), *vd = by_base(dst, nd, &n_d);
	int r = 0;
	while (!r && i < n_s && j < n_d) {
		int c = cmp_named(&vs[i], &vd[j]);
		unsigned sc;
		if (c < 0) {
			i++;
		} else if (c > 0) {
			j++;
		} else {
			if (vs[i].unique && vd[j].unique && !(r = similarity(rn, &src[vs[i].i], &dst[vd[j].i], min, &sc)) &&
			    sc >= min)
				pair(&src[vs[i].i], vs[i].i, &dst[vd[j].i], sc);
			i++;
			j++;
		}
	}
	free(vs);
	free(vd);
	return r;
}

struct cand {
	long src, dst; /* dst < 0: an empty slot */
	unsigned score;
	int name;      /* the same basename */
	size_t at;     /* the place in the matrix, for a stable order */
};

/* git's score_compare: empty slots last, then by score, then the same basename first. */
static int cand_cmp(const struct cand *a, const struct cand *b)
{
	if (a->dst < 0)
		return 0 <= b->dst;
	if (b->dst < 0)
		return -1;
	if (a->score == b->score)
		return b->name - a->name;
	return a->score < b->score ? 1 : -1;
}

static int cand_sort(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;
	int c = cand_cmp(x, y);
	return c ? c : (x->at > y->at) - (x->at < y->at);
}

/* Every added file against every deleted one left, the best CANDIDATES kept per added
 * file; then pairs by descending score, each file once. */
static int matrix_renames(const struct diff_renames *rn, struct rfile *src, size_t ns, struct rfile *dst,
			  size_t nd, unsigned min)
{
	size_t n_s = 0, n_d = 0, k = 0;
	struct cand *mx;
	int r = 0;
	for (size_t i = 0; i < ns; i++)
		n_s += !src[i].paired;
	for (size_t i = 0; i < nd; i++)
		n_d += !dst[i].paired;
	if (!n_s || !n_d || (uint64_t)n_s * n_d > (uint64_t)DIFF_RENAME_LIMIT * DIFF_RENAME_LIMIT)
		return 0;
	mx = xcalloc(n_d * CANDIDATES, sizeof(*mx));
	for (size_t d = 0; d < nd && !r; d++) {
		struct cand *m;
		if (dst[d].paired)
			continue;
		m = &mx[k * CANDIDATES];
		for (int c = 0; c < CANDIDATES; c++)
			m[c].dst = -1;
		for (size_t s = 0; s < ns && !r; s++) {
			struct cand o = {(long)s, (long)d, 0, 0, 0};
			int worst = 0;
			if (src[s].paired)
				continue;
			if ((r = similarity(rn, &src[s], &dst[d], min, &o.score)))
				break;
			o.name = same_base(src[s].e, dst[d].e);
			for (int c = 1; c < CANDIDATES; c++)
				if (cand_cmp(&m[c], &m[worst]) > 0)
					worst = c;
			if (cand_cmp(&m[worst], &o) > 0)
				m[worst] = o;
		}
		k++;
	}
	for (size_t i = 0; i < k * CANDIDATES; i++)
		mx[i].at = i;
	if (!r)
		qsort(mx, k * CANDIDATES, sizeof(*mx), cand_sort);
	for (size_t i = 0; !r && i < k * CANDIDATES; i++) {
		if (mx[i].dst < 0 || mx[i].score < min)
			break;
		if (dst[mx[i].dst].paired || src[mx[i].src].paired)
			continue;
		pair(&src[mx[i].src], (size_t)mx[i].src, &dst[mx[i].dst], mx[i].score);
	}
	free(mx);
	return r;
}

/* Pair the deleted and added files of v as rn says; v is in path order. */
static int find_renames(struct diff_change *v, size_t *n, const struct diff_renames *rn)
{
	size_t ns = 0, nd = 0, k = 0;
	struct rfile *src, *dst;
	int r = 0;
	for (size_t i = 0; i < *n; i++)
		ns += v[i].status == DIFF_DELETED, nd += v[i].status == DIFF_ADDED;
	if (!ns || !nd)
		return 0;
	src = xcalloc(ns, sizeof(*src));
	dst = xcalloc(nd, sizeof(*dst));
	ns = nd = 0;
	for (size_t i = 0; i < *n; i++) {
		if (v[i].status == DIFF_DELETED)
			src[ns++].e = v[i].old;
		else if (v[i].status == DIFF_ADDED)
			dst[nd++].e = v[i].new;
	}
	exact_renames(src, ns, dst, nd);
	if (rn->read && rn->min_score < 100) {
		unsigned min = (rn->min_score ? rn->min_score : DIFF_RENAME_SCORE) * MAX_SCORE / 100;
		if (!(r = basename_renames(rn, src, ns, dst, nd, min + (MAX_SCORE - min) / 2)))
			r = matrix_renames(rn, src, ns, dst, nd, min);
	}
	if (!r) {
		/* the pairs replace their deletion and addition */
		size_t si = 0, di = 0;
		for (size_t i = 0; i < *n; i++) {
			if (v[i].status == DIFF_DELETED) {
				if (!src[si++].paired)
					v[k++] = v[i];
			} else if (v[i].status == DIFF_ADDED) {
				struct rfile *d = &dst[di++];
				if (d->paired)
					v[k++] = (struct diff_change){DIFF_RENAMED, src[d->with].e, d->e,
								       d->score * 100 / MAX_SCORE};
				else
					v[k++] = v[i];
			} else {
				v[k++] = v[i];
			}
		}
		*n = k;
		qsort(v, *n, sizeof(*v), cmp_change_path);
	}
	for (size_t i = 0; i < ns; i++)
		free(src[i].sp);
	for (size_t i = 0; i < nd; i++)
		free(dst[i].sp);
	free(src);
	free(dst);
	return r;
}

int diff_trees(const struct manifest *a, const struct manifest *b, const struct diff_renames *rn,
	       struct diff_change **out, size_t *n)
{
	size_t na = manifest_count(a), nb = manifest_count(b), i = 0, j = 0, cap = 0;
	struct diff_change *v = NULL;
	int r;
	*n = 0;
	while (i < na || j < nb) {
		const struct manifest_entry *x = i < na ? manifest_get(a, i) : NULL,
					    *y = j < nb ? manifest_get(b, j) : NULL;
		int c = !x ? 1 : !y ? -1 : cmp_path(x, y);
		if (c < 0) {
			push(&v, n, &cap, (struct diff_change){DIFF_DELETED, x, NULL, 0});
			i++;
		} else if (c > 0) {
			push(&v, n, &cap, (struct diff_change){DIFF_ADDED, NULL, y, 0});
			j++;
		} else {
			if (memcmp(x->sha256, y->sha256, 32) || x->mode != y->mode)
				push(&v, n, &cap, (struct diff_change){DIFF_MODIFIED, x, y, 0});
			i++;
			j++;
		}
	}
	if (rn && *n && (r = find_renames(v, n, rn))) {
		free(v);
		*out = NULL;
		*n = 0;
		return r;
	}
	*out = v;
	if (!*n) {
		free(v);
		*out = NULL;
	}
	return 0;
}

/* ---- line diff ---- */

struct diff {
	struct diff_hunk *hunks;
	size_t n_hunks;
	struct diff_line *lines;
	size_t n_lines;
	int old_no_eol, new_no_eol;
};

struct side {
	const char *p;
	size_t len;
	uint32_t *off, *llen; /* per line, without '\n' */
	uint32_t *id;         /* equal lines have equal ids */
	unsigned char *chg;   /* 1: only on this side */
	unsigned char *chg_mem;
	size_t n;
	int no_eol;
};

static int split_lines(const char *p, size_t len, struct side *s)
{
	size_t n = 0, cap = 0, i = 0;
	if (len > UINT32_MAX)
		return err_set(ERR_TOOBIG, "diff: a file of %zu bytes is too large to compare", len);
	while (i < len) {
		const char *nl = memchr(p + i, '\n', len - i);
		size_t e = nl ? (size_t)(nl - p) : len;
		if (n == DIFF_MAX_LINES)
			return err_set(ERR_TOOBIG, "diff: more than %zu lines to compare", DIFF_MAX_LINES);
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			s->off = xrealloc(s->off, cap * sizeof(*s->off));
			s->llen = xrealloc(s->llen, cap * sizeof(*s->llen));
		}
		s->off[n] = (uint32_t)i;
		s->llen[n] = (uint32_t)(e - i);
		n++;
		s->no_eol = !nl;
		i = nl ? e + 1 : len;
	}
	s->p = p;
	s->len = len;
	s->n = n;
	s->chg_mem = xcalloc(n + 2, 1);
	s->chg = s->chg_mem + 1; /* chg[-1] and chg[n] are 0 */
	s->id = xmalloc((n + 1) * sizeof(*s->id));
	return 0;
}

static uint64_t line_hash(const char *p, size_t n, int no_eol)
{
	uint64_t h = 1469598103934665603ull ^ (uint64_t)no_eol;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
	return h;
}

/* Give every distinct line (its bytes, and whether it is a last line without '\n') an id. */
static void intern(struct side *a, struct side *b)
{
	size_t total = a->n + b->n, cap = 16;
	struct slot {
		uint64_t h;
		const struct side *s;
		uint32_t line, id;
	} *t;
	uint32_t next = 1;
	while (cap < total * 2)
		cap *= 2;
	t = xcalloc(cap, sizeof(*t));
	for (int side = 0; side < 2; side++) {
		struct side *s = side ? b : a;
		for (size_t i = 0; i < s->n; i++) {
			int ne = s->no_eol && i == s->n - 1;
			uint64_t h = line_hash(s->p + s->off[i], s->llen[i], ne);
			size_t k = (size_t)h & (cap - 1);
			for (;; k = (k + 1) & (cap - 1)) {
				struct slot *e = &t[k];
				if (!e->id) {
					*e = (struct slot){h, s, (uint32_t)i, next++};
					s->id[i] = e->id;
					break;
				}
				if (e->h == h) {
					int ene = e->s->no_eol && e->line == e->s->n - 1;
					if (ene == ne && e->s->llen[e->line] == s->llen[i] &&
					    !memcmp(e->s->p + e->s->off[e->line], s->p + s->off[i], s->llen[i])) {
						s->id[i] = e->id;
						break;
					}
				}
			}
		}
	}
	free(t);
}

struct myers {
	const uint32_t *a, *b;
	unsigned char *ca, *cb;
	long *kvdf, *kvdb;
	uint64_t cost, max_cost;
};

/* The middle snake of a[off1, lim1) x b[off2, lim2) (Myers 1986, 4b; xdiff's xdl_split). */
static int split(struct myers *m, long off1, long lim1, long off2, long lim2, long *mx, long *my)
{
	long dmin = off1 - lim2, dmax = lim1 - off2, fmid = off1 - off2, bmid = lim1 - lim2;
	long odd = (fmid - bmid) & 1, fmin = fmid, fmax = fmid, bmin = bmid, bmax = bmid;
	long *kvdf = m->kvdf, *kvdb = m->kvdb;
	kvdf[fmid] = off1;
	kvdb[bmid] = lim1;
	for (;;) {
		long d, i1, i2;
		if (fmin > dmin)
			kvdf[--fmin - 1] = -1;
		else
			++fmin;
		if (fmax < dmax)
			kvdf[++fmax + 1] = -1;
		else
			--fmax;
		for (d = fmax; d >= fmin; d -= 2) {
			i1 = kvdf[d - 1] >= kvdf[d + 1] ? kvdf[d - 1] + 1 : kvdf[d + 1];
			i2 = i1 - d;
			for (; i1 < lim1 && i2 < lim2 && m->a[i1] == m->b[i2]; i1++, i2++)
				m->cost++;
			kvdf[d] = i1;
			if (odd && bmin <= d && d <= bmax && kvdb[d] <= i1) {
				*mx = i1;
				*my = i2;
				return 0;
			}
		}
		if (bmin > dmin)
			kvdb[--bmin - 1] = LONG_MAX;
		else
			++bmin;
		if (bmax < dmax)
			kvdb[++bmax + 1] = LONG_MAX;
		else
			--bmax;
		for (d = bmax; d >= bmin; d -= 2) {
			i1 = kvdb[d - 1] < kvdb[d + 1] ? kvdb[d - 1] : kvdb[d + 1] - 1;
			i2 = i1 - d;
			for (; i1 > off1 && i2 > off2 && m->a[i1 - 1] == m->b[i2 - 1]; i1--, i2--)
				m->cost++;
			kvdb[d] = i1;
			if (!odd && fmin <= d && d <= fmax && i1 <= kvdf[d]) {
				*mx = i1;
				*my = i2;
				return 0;
			}
		}
		m->cost += (uint64_t)(fmax - fmin + bmax - bmin + 2);
		if (m->cost > m->max_cost)
			return err_set(ERR_TOOBIG, "diff: too many changes to compare");
	}
}

static int compare(struct myers *m, long off1, long lim1, long off2, long lim2)
{
	for (;;) {
		long mx = 0, my = 0;
		int r;
		while (off1 < lim1 && off2 < lim2 && m->a[off1] == m->b[off2])
			off1++, off2++;
		while (off1 < lim1 && off2 < lim2 && m->a[lim1 - 1] == m->b[lim2 - 1])
			lim1--, lim2--;
		if (off1 == lim1) {
			for (long i = off2; i < lim2; i++)
				m->cb[i] = 1;
			return 0;
		}
		if (off2 == lim2) {
			for (long i = off1; i < lim1; i++)
				m->ca[i] = 1;
			return 0;
		}
		if ((r = split(m, off1, lim1, off2, lim2, &mx, &my)) || (r = compare(m, off1, mx, off2, my)))
			return r;
		off1 = mx; /* the second half as a loop: recursion depth stays logarithmic-ish */
		off2 = my;
	}
}

/*
 * Slide runs of changes as git's xdl_change_compact does (without the indent heuristic):
 * each run of changed lines of s is slid up, then down as far as equal lines allow,
 * merging with runs it meets; then back up to line up with a run of changes of the other
 * side o when it passed one. g and go walk the runs of s and o in step (chg has a 0
 * sentinel before line 0 and after the last line).
 */
struct group {
	size_t start, end;
};

static void group_init(const struct side *s, struct group *g)
{
	g->start = g->end = 0;
	while (s->chg[g->end])
		g->end++;
}

static int group_next(const struct side *s, struct group *g)
{
	if (g->end == s->n)
		return -1;
	g->start = g->end + 1;
	for (g->end = g->start; s->chg[g->end]; g->end++)
		;
	return 0;
}

static int group_previous(const struct side *s, struct group *g)
{
	if (g->start == 0)
		return -1;
	g->end = g->start - 1;
	for (g->start = g->end; g->start && s->chg[g->start - 1]; g->start--)
		;
	return 0;
}

static int group_slide_down(struct side *s, struct group *g)
{
	if (g->end < s->n && s->id[g->start] == s->id[g->end]) {
		s->chg[g->start++] = 0;
		s->chg[g->end++] = 1;
		while (s->chg[g->end])
			g->end++;
		return 0;
	}
	return -1;
}

static int group_slide_up(struct side *s, struct group *g)
{
	if (g->start > 0 && s->id[g->start - 1] == s->id[g->end - 1]) {
		s->chg[--g->start] = 1;
		s->chg[--g->end] = 0;
		while (g->start && s->chg[g->start - 1])
			g->start--;
		return 0;
	}
	return -1;
}

static void compact(struct side *s, struct side *o)
{
	struct group g, go;
	group_init(s, &g);
	group_init(o, &go);
	for (;;) {
		if (g.end != g.start) {
			size_t size, earliest_end, end_matching_other;
			int matched;
			do {
				size = g.end - g.start;
				matched = 0;
				end_matching_other = 0;
				while (!group_slide_up(s, &g))
					if (group_previous(o, &go))
						BUG("diff: runs out of step sliding up");
				earliest_end = g.end;
				if (go.end > go.start)
					matched = 1, end_matching_other = g.end;
				while (!group_slide_down(s, &g)) {
					if (group_next(o, &go))
						BUG("diff: runs out of step sliding down");
					if (go.end > go.start)
						matched = 1, end_matching_other = g.end;
				}
			} while (size != g.end - g.start);
			if (g.end != earliest_end && matched) {
				while (go.end == go.start) {
					if (group_slide_up(s, &g) || group_previous(o, &go))
						BUG("diff: runs out of step lining up");
				}
			}
			(void)end_matching_other;
		}
		if (group_next(s, &g))
			break;
		if (group_next(o, &go))
			BUG("diff: runs out of step");
	}
}

static void add_line(struct diff *d, size_t *cap, struct diff_line l)
{
	if (d->n_lines == *cap) {
		*cap = *cap ? *cap * 2 : 256;
		d->lines = xrealloc(d->lines, *cap * sizeof(*d->lines));
	}
	d->lines[d->n_lines++] = l;
}

/* git's sane_ctype: isalpha is ASCII letters, isspace is " \t\n\r". */
static int func_start(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' || ch == '$';
}

/*
 * The hunk header's function line as git's xdl_emit_diff finds it: from the line before
 * the hunk back to where the previous hunk's search started; when nothing is found there,
 * the previous hunk's line stands (*found carries it from hunk to hunk).
 */
static void hunk_func(const struct side *A, size_t start, long *prev, long *found, struct diff_hunk *h)
{
	for (long l = (long)start - 1; l > *prev && l >= 0; l--) {
		if (A->llen[l] && func_start((unsigned char)A->p[A->off[l]])) {
			*found = l;
			break;
		}
	}
	*prev = (long)start - 1;
	h->func_line = h->func_off = h->func_len = 0;
	if (*found >= 0) {
		uint32_t n = A->llen[*found] + (A->off[*found] + A->llen[*found] < A->len); /* with its '\n' */
		const char *p = A->p + A->off[*found];
		if (n > DIFF_FUNC_MAX)
			n = DIFF_FUNC_MAX;
		while (n && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\n' || p[n - 1] == '\r'))
			n--;
		h->func_line = (uint32_t)*found + 1;
		h->func_off = A->off[*found];
		h->func_len = n;
	}
}

/* Walk both sides in step, emitting hunks of changes with context around them. */
static void make_hunks(struct diff *d, const struct side *A, const struct side *B, unsigned ctx)
{
	size_t i = 0, j = 0, cap_l = 0, cap_h = 0;
	long func_prev = -1, func_found = -1;
	while (i < A->n || j < B->n) {
		size_t hi, hj, ei, ej, k;
		struct diff_hunk h;
		/* skip to the next change */
		while (i < A->n && j < B->n && !A->chg[i] && !B->chg[j])
			i++, j++;
		if (!(i < A->n && A->chg[i]) && !(j < B->n && B->chg[j]))
			break;
		k = i < ctx ? i : ctx;
		hi = i - k;
		hj = j - k;
		/* extend over changes and gaps of at most 2*ctx unchanged lines */
		ei = i;
		ej = j;
		for (;;) {
			size_t gap = 0, ti, tj;
			while ((ei < A->n && A->chg[ei]) || (ej < B->n && B->chg[ej])) {
				if (ei < A->n && A->chg[ei])
					ei++;
				else
					ej++;
			}
			ti = ei;
			tj = ej;
			while (ti < A->n && tj < B->n && !A->chg[ti] && !B->chg[tj] && gap <= 2 * (size_t)ctx)
				ti++, tj++, gap++;
			if (gap <= 2 * (size_t)ctx && ((ti < A->n && A->chg[ti]) || (tj < B->n && B->chg[tj]))) {
				ei = ti;
				ej = tj;
				continue;
			}
			break;
		}
		/* trailing context */
		for (k = 0; k < ctx && ei < A->n && ej < B->n; k++)
			ei++, ej++;
		h.first = d->n_lines;
		h.old_start = (uint32_t)hi + 1;
		h.new_start = (uint32_t)hj + 1;
		h.old_count = (uint32_t)(ei - hi);
		h.new_count = (uint32_t)(ej - hj);
		if (!h.old_count)
			h.old_start--;
		if (!h.new_count)
			h.new_start--;
		hunk_func(A, hi, &func_prev, &func_found, &h);
		while (hi < ei || hj < ej) {
			if (hi < ei && A->chg[hi]) {
				add_line(d, &cap_l, (struct diff_line){'-', (uint32_t)hi + 1, 0, A->off[hi], A->llen[hi]});
				hi++;
			} else if (hj < ej && B->chg[hj]) {
				add_line(d, &cap_l, (struct diff_line){'+', 0, (uint32_t)hj + 1, B->off[hj], B->llen[hj]});
				hj++;
			} else {
				add_line(d, &cap_l, (struct diff_line){' ', (uint32_t)hi + 1, (uint32_t)hj + 1,
								       A->off[hi], A->llen[hi]});
				hi++;
				hj++;
			}
		}
		h.n_lines = d->n_lines - h.first;
		if (d->n_hunks == cap_h) {
			cap_h = cap_h ? cap_h * 2 : 16;
			d->hunks = xrealloc(d->hunks, cap_h * sizeof(*d->hunks));
		}
		d->hunks[d->n_hunks++] = h;
		i = ei;
		j = ej;
	}
}

static void side_release(struct side *s)
{
	free(s->off);
	free(s->llen);
	free(s->id);
	free(s->chg_mem);
}

int diff_lines(const char *a, size_t alen, const char *b, size_t blen, unsigned context,
	       uint64_t max_cost, struct diff **out)
{
	struct side A = {0}, B = {0};
	struct myers m = {0};
	long *kvd = NULL;
	struct diff *d = NULL;
	size_t ndiags;
	int r;

	*out = NULL;
	if (context > 1000000)
		return err_set(ERR_USAGE, "diff: %u context lines is too many", context);
	if ((r = split_lines(a, alen, &A)) || (r = split_lines(b, blen, &B)))
		goto out;
	intern(&A, &B);
	ndiags = A.n + B.n + 3;
	kvd = xmalloc(2 * ndiags * sizeof(*kvd));
	m.a = A.id;
	m.b = B.id;
	m.ca = A.chg;
	m.cb = B.chg;
	m.kvdf = kvd + B.n + 1;
	m.kvdb = kvd + ndiags + B.n + 1;
	m.max_cost = max_cost ? max_cost : COST_DEFAULT;
	if ((r = compare(&m, 0, (long)A.n, 0, (long)B.n)))
		goto out;
	compact(&A, &B);
	compact(&B, &A);
	d = xcalloc(1, sizeof(*d));
	d->old_no_eol = A.no_eol;
	d->new_no_eol = B.no_eol;
	make_hunks(d, &A, &B, context);
	*out = d;
out:
	free(kvd);
	side_release(&A);
	side_release(&B);
	return r;
}

void diff_free(struct diff *d)
{
	if (!d)
		return;
	free(d->hunks);
	free(d->lines);
	free(d);
}

size_t diff_n_hunks(const struct diff *d)
{
	return d->n_hunks;
}

const struct diff_hunk *diff_hunk(const struct diff *d, size_t i)
{
	return i < d->n_hunks ? &d->hunks[i] : NULL;
}

const struct diff_line *diff_line(const struct diff *d, size_t i)
{
	return i < d->n_lines ? &d->lines[i] : NULL;
}

int diff_old_no_eol(const struct diff *d)
{
	return d->old_no_eol;
}

int diff_new_no_eol(const struct diff *d)
{
	return d->new_no_eol;
}

int diff_is_binary(const void *p, size_t len)
{
	return p && memchr(p, 0, len < DIFF_BINARY_SNIFF ? len : DIFF_BINARY_SNIFF) != NULL;
}
