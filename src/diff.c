/* diff: tree diff of manifests, Myers line diff of blobs (see diff.h). */
#include <limits.h>
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

static int cmp_change_id(const void *a, const void *b)
{
	const struct diff_change *x = a, *y = b;
	const struct manifest_entry *ex = x->old ? x->old : x->new, *ey = y->old ? y->old : y->new;
	int c = memcmp(ex->sha256, ey->sha256, 32);
	return c ? c : cmp_path(ex, ey);
}

static int cmp_change_path(const void *a, const void *b)
{
	const struct diff_change *x = a, *y = b;
	return cmp_path(x->new ? x->new : x->old, y->new ? y->new : y->old);
}

/* Pair deleted and added paths with the same blob id, first by id then by path order. */
static void find_renames(struct diff_change *v, size_t *n)
{
	size_t n_del = 0, n_add = 0, k = 0;
	struct diff_change *del, *add;
	for (size_t i = 0; i < *n; i++)
		n_del += v[i].status == DIFF_DELETED, n_add += v[i].status == DIFF_ADDED;
	if (!n_del || !n_add)
		return;
	del = xmalloc(n_del * sizeof(*del));
	add = xmalloc(n_add * sizeof(*add));
	n_del = n_add = 0;
	for (size_t i = 0; i < *n; i++) {
		if (v[i].status == DIFF_DELETED)
			del[n_del++] = v[i];
		else if (v[i].status == DIFF_ADDED)
			add[n_add++] = v[i];
		else
			v[k++] = v[i];
	}
	qsort(del, n_del, sizeof(*del), cmp_change_id);
	qsort(add, n_add, sizeof(*add), cmp_change_id);
	for (size_t i = 0, j = 0; i < n_del || j < n_add;) {
		int c = i == n_del ? 1 : j == n_add ? -1 : memcmp(del[i].old->sha256, add[j].new->sha256, 32);
		if (c < 0)
			v[k++] = del[i++];
		else if (c > 0)
			v[k++] = add[j++];
		else
			v[k++] = (struct diff_change){DIFF_RENAMED, del[i++].old, add[j++].new};
	}
	*n = k;
	qsort(v, *n, sizeof(*v), cmp_change_path);
	free(del);
	free(add);
}

int diff_trees(const struct manifest *a, const struct manifest *b, int renames,
	       struct diff_change **out, size_t *n)
{
	size_t na = manifest_count(a), nb = manifest_count(b), i = 0, j = 0, cap = 0;
	struct diff_change *v = NULL;
	*n = 0;
	while (i < na || j < nb) {
		const struct manifest_entry *x = i < na ? manifest_get(a, i) : NULL,
					    *y = j < nb ? manifest_get(b, j) : NULL;
		int c = !x ? 1 : !y ? -1 : cmp_path(x, y);
		if (c < 0) {
			push(&v, n, &cap, (struct diff_change){DIFF_DELETED, x, NULL});
			i++;
		} else if (c > 0) {
			push(&v, n, &cap, (struct diff_change){DIFF_ADDED, NULL, y});
			j++;
		} else {
			if (memcmp(x->sha256, y->sha256, 32) || x->mode != y->mode)
				push(&v, n, &cap, (struct diff_change){DIFF_MODIFIED, x, y});
			i++;
			j++;
		}
	}
	if (renames && *n)
		find_renames(v, n);
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
