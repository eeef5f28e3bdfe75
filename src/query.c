/* query: parsing, planning, verification and ranking of searches (see query.h). */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "query.h"

#define SET_MAX 16   /* strings in an exact set */
#define LIT_MAX 64   /* bytes of one exact string */
#define PLAN_MAX 4096 /* trigram leaves in a plan */
#define REQ_MAX 8    /* required strings kept for the prefilter */
#define MATCH_LIMIT 5000000
#define DEPTH_LIMIT 5000
#define HEAP_LIMIT_KB 20480
#define JIT_STACK_MAX (1 << 20)
#define LINE_RANGES_MAX 1001 /* match ranges kept on one line */
#define RE_OPTS (PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF | PCRE2_MULTILINE)

/* ---- trigram plans ---- */

enum plan_op { PLAN_ALL, PLAN_TRI, PLAN_AND, PLAN_OR };

struct plan {
	enum plan_op op;
	uint32_t tri;
	struct plan **kids;
	size_t n;
};

static void plan_free(struct plan *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++)
		plan_free(p->kids[i]);
	free(p->kids);
	free(p);
}

static struct plan *plan_new(enum plan_op op)
{
	struct plan *p = xcalloc(1, sizeof(*p));
	p->op = op;
	return p;
}

static void plan_push(struct plan *p, struct plan *k)
{
	p->kids = xrealloc(p->kids, (p->n + 1) * sizeof(*p->kids));
	p->kids[p->n++] = k;
}

/* AND of two plans (NULL = all files); takes both. */
static struct plan *plan_and(struct plan *a, struct plan *b)
{
	struct plan *p;
	if (!a)
		return b;
	if (!b)
		return a;
	if (a->op == PLAN_AND) {
		p = a;
	} else {
		p = plan_new(PLAN_AND);
		plan_push(p, a);
	}
	if (b->op == PLAN_AND) {
		for (size_t i = 0; i < b->n; i++)
			plan_push(p, b->kids[i]);
		b->n = 0;
		plan_free(b);
	} else {
		plan_push(p, b);
	}
	return p;
}

/* OR of two plans; NULL (all) absorbs. Takes both. */
static struct plan *plan_or(struct plan *a, struct plan *b)
{
	struct plan *p;
	if (!a || !b) {
		plan_free(a);
		plan_free(b);
		return NULL;
	}
	if (a->op == PLAN_OR) {
		p = a;
	} else {
		p = plan_new(PLAN_OR);
		plan_push(p, a);
	}
	plan_push(p, b);
	return p;
}

static size_t plan_leaves(const struct plan *p)
{
	size_t n = 0;
	if (!p)
		return 0;
	if (p->op == PLAN_TRI)
		return 1;
	for (size_t i = 0; i < p->n; i++)
		n += plan_leaves(p->kids[i]);
	return n;
}

/* ---- what every match holds: literal extraction from the regex ---- */

/*
 * The planner reads the pattern as PCRE2 does and derives, for each node, facts that hold
 * for every string the node matches (its match): an exact set (the match is one of these
 * strings), required strings (the match contains each), and a plan (a file holding the
 * match passes it). Facts only weaken on the way up: a node the parser does not model
 * exactly gives no fact (unknown), and a construct outside the modelled subset gives up
 * on the whole pattern (scan every file). So if the pattern matches a line of a file, the
 * plan accepts the file and the line holds every required string: soundness follows from
 * each rule below being sound alone. tests/unit/test_query.c states the case for each.
 *
 * Bit i of ci[k] marks byte i of string k as an ASCII letter matched in either case.
 */
struct strset {
	int n; /* -1: unknown */
	unsigned char len[SET_MAX];
	unsigned char s[SET_MAX][LIT_MAX];
	uint64_t ci[SET_MAX];
};

struct lit {
	unsigned char len;
	unsigned char s[LIT_MAX];
	uint64_t ci;
};

struct info {
	struct strset ex;
	struct plan *match; /* must hold as well; NULL = no constraint */
	struct lit req[REQ_MAX];
	int n_req;
};

static void info_unknown(struct info *i)
{
	i->ex.n = -1;
	i->match = NULL;
	i->n_req = 0;
}

static void info_empty(struct info *i)
{
	i->ex.n = 1;
	i->ex.len[0] = 0;
	i->ex.ci[0] = 0;
	i->match = NULL;
	i->n_req = 0;
}

/*
 * The plan for bytes s[0..3) of a string whose caseless letters are the low bits of ci:
 * one trigram, or the OR of its case variants (at most 8).
 */
static struct plan *tri_plan(const unsigned char *s, uint64_t ci)
{
	struct plan *or = NULL;
	unsigned m = (unsigned)(ci & 7);
	for (unsigned v = 0; v < 8; v++) {
		unsigned char b[3];
		if (v & ~m)
			continue;
		for (int i = 0; i < 3; i++)
			b[i] = (v >> i & 1) ? (unsigned char)(s[i] ^ 0x20) : s[i];
		struct plan *t = plan_new(PLAN_TRI);
		t->tri = index_trigram(b[0], b[1], b[2]);
		or = or ? plan_or(or, t) : t;
	}
	return or;
}

/* The trigrams of one string, ANDed (NULL when shorter than 3 bytes). */
static struct plan *lit_plan(const unsigned char *s, size_t len, uint64_t ci)
{
	struct plan *and = NULL;
	for (size_t j = 0; j + 2 < len; j++)
		and = plan_and(and, tri_plan(&s[j], ci >> j));
	return and;
}

/* The OR over an exact set; NULL (all files) when unknown or one string is too short. */
static struct plan *set_plan(const struct strset *s)
{
	struct plan *or = NULL;
	if (s->n < 0)
		return NULL;
	for (int k = 0; k < s->n; k++) {
		if (s->len[k] < 3) {
			plan_free(or);
			return NULL;
		}
		struct plan *and = lit_plan(s->s[k], s->len[k], s->ci[k]);
		or = or ? plan_or(or, and) : and;
	}
	return or;
}

/* Add a required string; when full, the shortest one gives way. */
static void req_add(struct info *i, const unsigned char *s, size_t len, uint64_t ci)
{
	int at = i->n_req;
	if (!len || len > LIT_MAX)
		return;
	for (int k = 0; k < i->n_req; k++)
		if (i->req[k].len == len && !memcmp(i->req[k].s, s, len) && i->req[k].ci == ci)
			return;
	if (at == REQ_MAX) {
		at = 0;
		for (int k = 1; k < REQ_MAX; k++)
			if (i->req[k].len < i->req[at].len)
				at = k;
		if (i->req[at].len >= len)
			return;
	} else {
		i->n_req++;
	}
	i->req[at].len = (unsigned char)len;
	memcpy(i->req[at].s, s, len);
	i->req[at].ci = ci;
}

/* Bit j of ci (0 past 64 bytes). */
static int ci_bit(uint64_t ci, size_t j)
{
	return j < 64 && (ci >> j & 1);
}

/*
 * A one-string exact set is also a required string; so are the longest prefix and the
 * longest suffix all strings of a larger set share ("register_netdev(" of
 * "(un)?register_netdev\(").
 */
static void info_note_single(struct info *i)
{
	const struct strset *e = &i->ex;
	size_t pre, suf;
	if (e->n == 1)
		req_add(i, e->s[0], e->len[0], e->ci[0]);
	if (e->n < 2)
		return;
	pre = suf = e->len[0];
	for (int k = 1; k < e->n; k++) {
		size_t p = 0, q = 0, l = e->len[k];
		while (p < pre && p < l && e->s[k][p] == e->s[0][p] &&
		       ci_bit(e->ci[k], p) == ci_bit(e->ci[0], p))
			p++;
		while (q < suf && q < l && e->s[k][l - 1 - q] == e->s[0][e->len[0] - 1 - q] &&
		       ci_bit(e->ci[k], l - 1 - q) == ci_bit(e->ci[0], e->len[0] - 1 - q))
			q++;
		pre = p;
		suf = q;
	}
	if (pre >= 2)
		req_add(i, e->s[0], pre, e->ci[0] & (pre < 64 ? ((uint64_t)1 << pre) - 1 : ~(uint64_t)0));
	if (suf >= 2) {
		size_t at = e->len[0] - suf;
		req_add(i, e->s[0] + at, suf, at < 64 ? e->ci[0] >> at : 0);
	}
}

/* The whole constraint of a node as one plan (the exact set is dropped into it). */
static struct plan *info_plan(struct info *i)
{
	struct plan *p;
	info_note_single(i);
	p = plan_and(i->match, set_plan(&i->ex));
	i->match = NULL;
	i->ex.n = -1;
	return p;
}

static void req_merge(struct info *a, const struct info *b)
{
	for (int k = 0; k < b->n_req; k++)
		req_add(a, b->req[k].s, b->req[k].len, b->req[k].ci);
}

/*
 * a := a then b. The match of a concatenation is a match of a followed by one of b: the
 * exact set is the product when it stays small, and both sides' plans and required
 * strings hold. Past the product's limits, the exact sets become plans (weaker, still true).
 */
static void info_concat(struct info *a, struct info *b)
{
	if (a->ex.n >= 0 && b->ex.n >= 0 && a->ex.n * b->ex.n <= SET_MAX) {
		struct strset r = {0};
		int ok = 1;
		for (int x = 0; x < a->ex.n && ok; x++)
			for (int y = 0; y < b->ex.n && ok; y++) {
				size_t l = (size_t)a->ex.len[x] + b->ex.len[y];
				if (l > LIT_MAX) {
					ok = 0;
					break;
				}
				memcpy(r.s[r.n], a->ex.s[x], a->ex.len[x]);
				memcpy(r.s[r.n] + a->ex.len[x], b->ex.s[y], b->ex.len[y]);
				r.ci[r.n] = a->ex.ci[x] |
					    (a->ex.len[x] < 64 ? b->ex.ci[y] << a->ex.len[x] : 0);
				r.len[r.n++] = (unsigned char)l;
			}
		if (ok) {
			req_merge(a, b);
			a->ex = r;
			a->match = plan_and(a->match, b->match);
			b->match = NULL;
			return;
		}
	}
	{
		struct plan *pa = info_plan(a), *pb = info_plan(b);
		req_merge(a, b);
		a->ex.n = -1;
		a->match = plan_and(pa, pb);
	}
}

/*
 * a := a or b. The match is one of either: the exact sets unite, the plans OR (no
 * constraint when either side has none), and no string is required.
 */
static void info_alt(struct info *a, struct info *b)
{
	a->n_req = 0;
	if (a->ex.n >= 0 && b->ex.n >= 0 && a->ex.n + b->ex.n <= SET_MAX) {
		for (int y = 0; y < b->ex.n; y++) {
			memcpy(a->ex.s[a->ex.n], b->ex.s[y], b->ex.len[y]);
			a->ex.ci[a->ex.n] = b->ex.ci[y];
			a->ex.len[a->ex.n++] = b->ex.len[y];
		}
		if (!a->match || !b->match) {
			plan_free(a->match);
			plan_free(b->match);
			a->match = NULL;
		} else {
			a->match = plan_or(a->match, b->match);
		}
		b->match = NULL;
		return;
	}
	{
		struct plan *pa = info_plan(a), *pb = info_plan(b);
		a->n_req = 0;
		a->ex.n = -1;
		a->match = plan_or(pa, pb);
	}
}

/* The parser's state. */
struct rx {
	const unsigned char *p, *end;
	int caseless;
	int giveup; /* a construct outside the modelled subset: no plan at all */
	int impure; /* anything but literal characters */
	int unsafe; /* lookarounds, \A, \z, \Z, \G, \K, atomic and possessive items: each line
		       must be matched alone */
	int inq;    /* inside \Q...\E */
	int depth;
};

static void parse_alt(struct rx *x, struct info *out);

/*
 * A literal character (its UTF-8 bytes) as an exact set. Caseless: an ASCII letter is
 * either case, and k and s also KELVIN SIGN and LONG S (PCRE2's Unicode caseless sets;
 * no other ASCII character has a non-ASCII case partner, as test_query checks over every
 * code point); any other character with caseless matching is unknown.
 */
static void literal_atom(struct rx *x, const unsigned char *b, size_t n, struct info *out)
{
	info_empty(out);
	if (n == 1 && b[0] == '\n') { /* no line holds one: no fact (trigrams never do) */
		info_unknown(out);
		return;
	}
	if (x->caseless) {
		unsigned char c = index_fold(b[0]);
		if (n != 1 || c >= 0x80) {
			info_unknown(out);
			return;
		}
		out->ex.s[0][0] = c;
		out->ex.len[0] = 1;
		out->ex.ci[0] = (c >= 'a' && c <= 'z');
		if (c == 'k' || c == 's') {
			const char *u = c == 'k' ? "\xe2\x84\xaa" : "\xc5\xbf";
			out->ex.n = 2;
			out->ex.len[1] = (unsigned char)strlen(u);
			memcpy(out->ex.s[1], u, out->ex.len[1]);
			out->ex.ci[1] = 0;
		}
	} else {
		memcpy(out->ex.s[0], b, n);
		out->ex.len[0] = (unsigned char)n;
	}
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* After \x: \xhh (0 to 2 digits) or \x{h...}; the code point, or -1 to give up. */
static long hex_escape(struct rx *x)
{
	long v = 0;
	int n = 0;
	if (x->p < x->end && *x->p == '{') {
		x->p++;
		while (x->p < x->end && hexval(*x->p) >= 0 && n < 8) {
			v = v * 16 + hexval(*x->p++);
			n++;
		}
		if (x->p >= x->end || *x->p != '}' || !n)
			return -1;
		x->p++;
		return v;
	}
	while (x->p < x->end && n < 2 && hexval(*x->p) >= 0) {
		v = v * 16 + hexval(*x->p++);
		n++;
	}
	return v;
}

static size_t utf8_encode(long cp, unsigned char *o)
{
	if (cp < 0x80) {
		o[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (unsigned char)(0xc0 | cp >> 6);
		o[1] = (unsigned char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (unsigned char)(0xe0 | cp >> 12);
		o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (unsigned char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (unsigned char)(0xf0 | cp >> 18);
	o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (unsigned char)(0x80 | (cp & 0x3f));
	return 4;
}

/* The bytes of the UTF-8 character at p (1 for a stray byte). */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
	size_t n = 1;
	if (*p >= 0xc0)
		while (p + n < end && (p[n] & 0xc0) == 0x80 && n < 4)
			n++;
	return n;
}

/*
 * At x->p, a token that is no item at all: \E outside \Q, an empty \Q\E, a (?#...)
 * comment. PCRE2 skips them, so a quantifier after one applies to the item before.
 * Returns 1 when one was skipped.
 */
static int skip_nothing(struct rx *x)
{
	const unsigned char *p = x->p;
	if (x->inq) {
		if (p + 1 < x->end && p[0] == '\\' && p[1] == 'E') {
			x->p += 2;
			x->inq = 0;
			return 1;
		}
		return 0;
	}
	if (p + 1 < x->end && p[0] == '\\' && (p[1] == 'E' || p[1] == 'Q')) {
		x->p += 2;
		x->impure = 1;
		if (p[1] == 'Q')
			x->inq = 1;
		return 1;
	}
	if (p + 2 < x->end && p[0] == '(' && p[1] == '?' && p[2] == '#') {
		const unsigned char *e = memchr(p, ')', (size_t)(x->end - p));
		if (!e) {
			x->giveup = 1;
			x->p = x->end;
		} else {
			x->p = e + 1;
		}
		return 1;
	}
	return 0;
}

/*
 * At x->p, a quantifier: *, +, ?, {n}, {n,}, {n,m} (any number of digits), each maybe
 * followed by ? (lazy) or + (possessive). Sets *min (0 or 1: "at least once") and *max1
 * (at most once) and returns 1; 0 when there is none. A brace PCRE2 might read either way
 * ({,n}, spaces inside) gives up.
 */
static int quantifier(struct rx *x, int *min, int *max1)
{
	const unsigned char *p = x->p, *q;
	if (x->inq || p >= x->end)
		return 0;
	if (*p == '*' || *p == '+' || *p == '?') {
		*min = *p != '*' && *p != '?';
		*max1 = *p == '?';
		q = p + 1;
	} else if (*p == '{') {
		const unsigned char *d = p + 1;
		unsigned long lo = 0, hi = 0;
		int n_lo = 0, n_hi = 0, comma = 0;
		for (; d < x->end && *d >= '0' && *d <= '9'; d++, n_lo++)
			lo = lo > 1000000 ? lo : lo * 10 + (unsigned long)(*d - '0');
		if (d < x->end && *d == ',') {
			comma = 1;
			for (d++; d < x->end && *d >= '0' && *d <= '9'; d++, n_hi++)
				hi = hi > 1000000 ? hi : hi * 10 + (unsigned long)(*d - '0');
		}
		if (n_lo && d < x->end && *d == '}') {
			*min = lo > 0;
			*max1 = comma ? n_hi && hi <= 1 : lo <= 1;
			q = d + 1;
		} else {
			/* not {n}, {n,}, {n,m}: a literal '{' unless it looks like a quantifier */
			const unsigned char *e = p + 1;
			int digits = 0;
			while (e < x->end && (*e == ' ' || *e == ',' || (*e >= '0' && *e <= '9'))) {
				digits |= *e >= '0' && *e <= '9';
				e++;
			}
			if (digits && e < x->end && *e == '}')
				x->giveup = 1;
			return 0;
		}
	} else {
		return 0;
	}
	if (q < x->end && *q == '+')
		x->unsafe = 1; /* possessive: in the whole text it may eat the newline */
	if (q < x->end && (*q == '?' || *q == '+'))
		q++;
	x->p = q;
	x->impure = 1;
	return 1;
}

/* x{min,...}: the item's facts under a quantifier. */
static void quantify(struct info *a, int min, int max1)
{
	if (!min) {
		/* the item may be absent: its facts are gone, but x? keeps its strings and "" */
		plan_free(a->match);
		a->match = NULL;
		a->n_req = 0;
		if (max1 && a->ex.n >= 0 && a->ex.n < SET_MAX) {
			a->ex.len[a->ex.n] = 0;
			a->ex.ci[a->ex.n++] = 0;
		} else {
			a->ex.n = -1;
		}
		return;
	}
	if (!max1) {
		/* at least once: every fact of one repetition holds; the exact set does not */
		struct plan *p = info_plan(a);
		a->match = p;
	}
}

/* A character class [...]: its extent (it is unknown). Gives up on what it cannot read. */
static void parse_class(struct rx *x)
{
	const unsigned char *q = x->p + 1;
	if (q < x->end && *q == '^')
		q++;
	if (q < x->end && *q == ']')
		q++;
	while (q < x->end && *q != ']') {
		if (*q == '\\') {
			if (q + 1 >= x->end || q[1] == 'Q' || q[1] == 'E') {
				x->giveup = 1;
				return;
			}
			q += 2;
		} else if (*q == '[' && q + 1 < x->end && (q[1] == ':' || q[1] == '.' || q[1] == '=')) {
			/* a POSIX class [:name:] or [:^name:]; anything else of this shape: give up */
			const unsigned char *e = q + 2;
			if (q[1] != ':') {
				x->giveup = 1;
				return;
			}
			if (e < x->end && *e == '^')
				e++;
			while (e < x->end && *e >= 'a' && *e <= 'z')
				e++;
			if (e + 1 >= x->end || e[0] != ':' || e[1] != ']') {
				x->giveup = 1;
				return;
			}
			q = e + 2;
		} else {
			q++;
		}
	}
	if (q >= x->end) {
		x->giveup = 1;
		return;
	}
	x->p = q + 1;
}

/* A group after its '(' : (...), (?:...), (?|...), (?>...), named, lookarounds, flags. */
static void parse_group(struct rx *x, struct info *out)
{
	int saved = x->caseless, look = 0;
	const unsigned char *q = x->p;
	if (q < x->end && *q == '*') {
		x->giveup = 1; /* (*VERB) and (*alpha_assertion:...) */
		return;
	}
	if (q < x->end && *q == '?') {
		q++;
		if (q >= x->end) {
			x->giveup = 1;
			return;
		}
		if (*q == ':' || *q == '|' || *q == '>') {
			if (*q == '>')
				x->unsafe = 1; /* atomic: like a possessive quantifier */
			q++;
		} else if (*q == '=' || *q == '!') {
			q++;
			look = 1;
		} else if (*q == '<' && q + 1 < x->end && (q[1] == '=' || q[1] == '!')) {
			q += 2;
			look = 1;
		} else if (*q == '<' || *q == '\'' || (*q == 'P' && q + 1 < x->end && q[1] == '<')) {
			unsigned char close = *q == '\'' ? '\'' : '>';
			q += *q == 'P' ? 2 : 1;
			while (q < x->end && (*q == '_' || (*q >= '0' && *q <= '9') ||
					      ((*q | 0x20) >= 'a' && (*q | 0x20) <= 'z')))
				q++;
			if (q >= x->end || *q != close) {
				x->giveup = 1;
				return;
			}
			q++;
		} else {
			/* option letters: (?i) (?-i) (?^) (?i:...); x, digits, R, C, ( ... give up */
			int on = 1, ci = x->caseless;
			while (q < x->end && *q != ')' && *q != ':') {
				if (*q == '-' && on && q + 1 < x->end && !(q[1] >= '0' && q[1] <= '9'))
					on = 0;
				else if (*q == '^' && on && q == x->p + 1)
					ci = 0;
				else if (*q == 'i')
					ci = on;
				else if (!strchr("msnJU", *q)) {
					x->giveup = 1;
					return;
				}
				q++;
			}
			if (q >= x->end) {
				x->giveup = 1;
				return;
			}
			x->impure = 1;
			x->p = q + 1;
			x->caseless = ci;
			if (*q == ')') { /* to the end of the enclosing group */
				info_empty(out);
				return;
			}
			goto body;
		}
		x->p = q;
	}
body:
	x->impure = 1;
	x->depth++;
	parse_alt(x, out);
	x->depth--;
	x->caseless = saved;
	if (x->p < x->end && *x->p == ')')
		x->p++;
	else
		x->giveup = 1;
	if (look) {
		/* an assertion consumes nothing; its own facts may be about other text */
		plan_free(out->match);
		info_empty(out);
		x->unsafe = 1;
	}
}

/* One item at x->p (not a quantifier, not a skipped token). */
static void parse_atom(struct rx *x, struct info *out)
{
	unsigned char c = *x->p, lit[8];
	info_unknown(out);
	if (x->inq)
		goto literal;
	if (c == '(') {
		x->p++;
		parse_group(x, out);
		return;
	}
	if (c == '[') {
		x->impure = 1;
		parse_class(x);
		return;
	}
	if (c == '.') {
		x->p++;
		x->impure = 1;
		return;
	}
	if (c == '^' || c == '$') {
		x->p++;
		x->impure = 1;
		info_empty(out);
		return;
	}
	if (c == '*' || c == '+' || c == '?' || c == ')' || c == '|') {
		x->giveup = 1; /* PCRE2 rejects a quantifier with nothing before it */
		return;
	}
	if (c == '\\') {
		unsigned char e;
		if (x->p + 1 >= x->end) {
			x->giveup = 1;
			return;
		}
		e = x->p[1];
		x->p += 2;
		switch (e) {
		case 'n': lit[0] = '\n'; break;
		case 't': lit[0] = '\t'; break;
		case 'r': lit[0] = '\r'; break;
		case 'f': lit[0] = '\f'; break;
		case 'e': lit[0] = 0x1b; break;
		case 'a': lit[0] = 0x07; break;
		case 'x': {
			long cp = hex_escape(x);
			if (cp < 0 || cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000)) {
				x->giveup = 1;
				return;
			}
			x->impure = 1;
			literal_atom(x, lit, utf8_encode(cp, lit), out);
			return;
		}
		case 'b': case 'B':
			x->impure = 1;
			info_empty(out);
			return;
		case 'A': case 'z': case 'Z': case 'G': case 'K':
			x->impure = 1;
			x->unsafe = 1;
			info_empty(out);
			return;
		case 'p': case 'P':
			x->impure = 1;
			if (x->p < x->end && *x->p == '{') {
				const unsigned char *b = memchr(x->p, '}', (size_t)(x->end - x->p));
				if (!b) {
					x->giveup = 1;
					return;
				}
				x->p = b + 1;
			} else if (x->p < x->end) {
				x->p++;
			}
			return;
		case 'N':
			if (x->p < x->end && *x->p == '{') {
				x->giveup = 1; /* \N{U+hh} is a character, \N{...} else */
				return;
			}
			/* fall through */
		case 'd': case 'D': case 'w': case 'W': case 's': case 'S': case 'h': case 'H':
		case 'v': case 'V': case 'R': case 'X': case 'C':
			x->impure = 1;
			return;
		default:
			if (e < 0x80 && ((e >= '0' && e <= '9') || ((e | 0x20) >= 'a' && (e | 0x20) <= 'z'))) {
				x->giveup = 1; /* backreferences, octal, \c, \g, \k, \o, unknown */
				return;
			}
			if (e >= 0x80) { /* an escaped non-ASCII character is itself */
				size_t n = utf8_len(x->p - 1, x->end);
				memcpy(lit, x->p - 1, n);
				x->p += n - 1;
				literal_atom(x, lit, n, out);
				return;
			}
			lit[0] = e;
		}
		literal_atom(x, lit, 1, out);
		return;
	}
literal: {
	size_t n = utf8_len(x->p, x->end);
	memcpy(lit, x->p, n);
	x->p += n;
	literal_atom(x, lit, n, out);
}
}

/*
 * Append item a to a sequence: runs of items with exact sets are joined in cur first, so
 * that "_ops" in "\w+_ops" gives its trigrams whole after an unknown item.
 */
static void push(struct info *out, struct info *cur, struct info *a)
{
	if (a->ex.n >= 0) {
		info_concat(cur, a);
		if (cur->ex.n >= 0)
			return;
	}
	info_concat(out, cur);
	info_empty(cur);
	if (a->ex.n < 0)
		info_concat(out, a);
}

/* A sequence of items, each with its quantifiers. */
static void parse_concat(struct rx *x, struct info *out)
{
	struct info prev, cur;
	int have = 0;
	info_empty(out);
	info_empty(&cur);
	while (x->p < x->end && !x->giveup) {
		int min, max1;
		if (!x->inq && (*x->p == '|' || *x->p == ')'))
			break;
		if (skip_nothing(x))
			continue;
		if (quantifier(x, &min, &max1)) {
			if (!have) {
				x->giveup = 1;
				break;
			}
			quantify(&prev, min, max1);
			continue;
		}
		if (x->giveup)
			break;
		if (have)
			push(out, &cur, &prev);
		parse_atom(x, &prev);
		have = 1;
	}
	if (have)
		push(out, &cur, &prev);
	info_concat(out, &cur);
}

static void parse_alt(struct rx *x, struct info *out)
{
	int ci0 = x->caseless;
	parse_concat(x, out);
	while (!x->giveup && x->p < x->end && *x->p == '|') {
		struct info b;
		x->p++;
		x->impure = 1;
		/* PCRE2 carries an option set in one branch into the next; caseless either way */
		x->caseless |= ci0;
		parse_concat(x, &b);
		info_alt(out, &b);
	}
}

/* ---- the query ---- */

struct lang {
	const char *name;
	const char *exts; /* space-separated suffixes; a leading '=' is a whole file name */
};

static const struct lang langs[] = {
	{"c", ".c .h"},
	{"cpp", ".cc .cpp .cxx .c++ .hh .hpp .hxx .h .inl"},
	{"c++", ".cc .cpp .cxx .c++ .hh .hpp .hxx .h .inl"},
	{"go", ".go"},
	{"rust", ".rs"},
	{"python", ".py .pyi"},
	{"py", ".py .pyi"},
	{"javascript", ".js .mjs .cjs .jsx"},
	{"js", ".js .mjs .cjs .jsx"},
	{"typescript", ".ts .tsx"},
	{"ts", ".ts .tsx"},
	{"java", ".java"},
	{"shell", ".sh .bash =configure"},
	{"sh", ".sh .bash"},
	{"asm", ".s .S .asm"},
	{"assembly", ".s .S .asm"},
	{"make", "=Makefile =makefile =GNUmakefile .mk .mak =Kbuild"},
	{"kconfig", "=Kconfig"},
	{"perl", ".pl .pm"},
	{"ruby", ".rb"},
	{"markdown", ".md .markdown"},
	{"md", ".md .markdown"},
	{"rst", ".rst"},
	{"json", ".json"},
	{"yaml", ".yml .yaml"},
	{"dts", ".dts .dtsi"},
	{"text", ".txt"},
	{"html", ".html .htm"},
	{"css", ".css"},
	{"sql", ".sql"},
	{"awk", ".awk"},
	{NULL, NULL},
};

/* A string every match contains: found by the prefilter, then its line is matched. */
struct qreq {
	unsigned char s[LIT_MAX];
	size_t len;
	int caseless;      /* some letters in either case: found ASCII-caselessly */
	struct plan *plan; /* its trigrams, to tell at search time how rare it is */
};

struct query {
	int caseless, word, literal;
	pcre2_code *re;  /* the pattern as searched (word-wrapped); NULL when empty */
	/* the same pattern without Unicode (no UTF, no UCP), for ASCII-only files when the
	 * pattern is ASCII-only: on such a text both find the same lines (\d, \w, \s, \b,
	 * POSIX classes and case folding differ only past 0x7f), and \d, \w or a caseless
	 * match run many times faster. NULL when the pattern is not ASCII or needs UTF (a code
	 * point past 0xff). */
	pcre2_code *re_ascii;
	struct qreq req[REQ_MAX];
	size_t n_req;
	struct qreq alt[SET_MAX]; /* the pattern's exact set, when it has one: a match is one */
	size_t n_alt;
	int plain;       /* the pattern is exactly req[0] (literal characters only) */
	int pure;        /* plain, case-sensitive, not whole-word: memmem decides */
	int unsafe;      /* each line is matched alone (see struct rx) */
	struct plan *plan;
	int scan;        /* no usable trigram: every file is a candidate */
	pcre2_code **files;
	size_t n_files;
	pcre2_code **nofiles;
	size_t n_nofiles;
	const struct lang **langs;
	size_t n_langs;
	pcre2_code *sym;
	char *sym_lit;   /* sym: pattern when it is a plain name */
	size_t sym_lit_len;
};

void query_free(struct query *q)
{
	if (!q)
		return;
	pcre2_code_free(q->re);
	pcre2_code_free(q->re_ascii);
	for (size_t i = 0; i < q->n_req; i++) {
		plan_free(q->req[i].plan);
	}
	plan_free(q->plan);
	for (size_t i = 0; i < q->n_files; i++)
		pcre2_code_free(q->files[i]);
	for (size_t i = 0; i < q->n_nofiles; i++)
		pcre2_code_free(q->nofiles[i]);
	free(q->files);
	free(q->nofiles);
	free(q->langs);
	pcre2_code_free(q->sym);
	free(q->sym_lit);
	free(q);
}

const char *query_plan_kind(const struct query *q)
{
	if (q->sym)
		return "symbols";
	return q->scan ? "scan" : "trigrams";
}

/* Compile (p, len) with opts; ERR_PARSE naming what and where. JIT when available. */
static int compile(const char *what, const char *p, size_t len, uint32_t opts, pcre2_code **out)
{
	int code;
	PCRE2_SIZE at;
	pcre2_compile_context *cc = pcre2_compile_context_create(NULL);
	pcre2_set_parens_nest_limit(cc, 250);
	pcre2_set_max_pattern_length(cc, QUERY_MAX * 4 + 64);
	*out = pcre2_compile((PCRE2_SPTR)p, len, opts, &code, &at, cc);
	pcre2_compile_context_free(cc);
	if (!*out) {
		PCRE2_UCHAR msg[256];
		pcre2_get_error_message(code, msg, sizeof(msg));
		return err_set(ERR_PARSE, "query: bad %s at offset %zu: %s", what, (size_t)at, (char *)msg);
	}
	(void)pcre2_jit_compile(*out, PCRE2_JIT_COMPLETE);
	return 0;
}

int query_compile_error_known(const char *msg)
{
	PCRE2_UCHAR m[256];
	/* compile errors are PCRE2's positive codes from 100 (COMPILE_ERROR_BASE) on, and its
	 * negative UTF-8 ones (a pattern that is not UTF-8); the other negative ones are a
	 * match's, which a compile does not give but which are PCRE2's words all the same */
	for (int c = -100; c < 400; c++)
		if ((c < 0 || c >= 100) && pcre2_get_error_message(c, m, sizeof(m)) > 0 && !strcmp((const char *)m, msg))
			return 1;
	return 0;
}

/* Escape a fixed string for PCRE2 (every non-alphanumeric ASCII byte gets a backslash). */
static int escape(struct buf *b, const char *s, size_t n)
{
	int r = 0;
	for (size_t i = 0; i < n && !r; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x80 && !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) {
			if (c == '\n')
				r = buf_addstr(b, "\\n");
			else if (c < 0x20 || c == 0x7f)
				r = buf_addf(b, "\\x%02x", c);
			else
				r = buf_addch(b, '\\') ?: buf_addch(b, (char)c);
		} else {
			r = buf_addch(b, (char)c);
		}
	}
	return r;
}

static int add_re(pcre2_code ***v, size_t *n, const char *p, size_t len, int caseless)
{
	pcre2_code *c;
	int r = compile("file: regex", p, len, RE_OPTS | (caseless ? PCRE2_CASELESS : 0), &c);
	if (r)
		return r;
	*v = xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[(*n)++] = c;
	return 0;
}

/*
 * Split the query into filters and the pattern: the rest, its spacing kept, leading and
 * trailing spaces included. A filter takes one space next to it with it (the one that
 * separates it from the pattern): "lang:c  foo" searches " foo", "foo lang:c" "foo".
 */
static int split(struct query *q, const char *s, struct buf *pat, struct buf *sym)
{
	const char *p = s;
	int r = 0, drop_space = 0;
	while (*p && !r) {
		const char *t, *e;
		if (*p == ' ' || *p == '\t') {
			if (!drop_space)
				r = buf_addch(pat, *p);
			drop_space = 0;
			p++;
			continue;
		}
		t = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
		e = p;
		drop_space = 1;
		if (!strncmp(t, "file:", 5) || !strncmp(t, "f:", 2)) {
			const char *v = t + (t[1] == ':' ? 2 : 5);
			if (v == e)
				return err_set(ERR_PARSE, "query: 'file:' needs a path regex");
			r = add_re(&q->files, &q->n_files, v, (size_t)(e - v), q->caseless);
		} else if (!strncmp(t, "-file:", 6) || !strncmp(t, "-f:", 3)) {
			const char *v = t + (t[2] == ':' ? 3 : 6);
			if (v == e)
				return err_set(ERR_PARSE, "query: '-file:' needs a path regex");
			r = add_re(&q->nofiles, &q->n_nofiles, v, (size_t)(e - v), q->caseless);
		} else if (!strncmp(t, "lang:", 5)) {
			const char *v = t + 5;
			const struct lang *l = NULL;
			for (int i = 0; langs[i].name; i++)
				if (strlen(langs[i].name) == (size_t)(e - v) && !strncasecmp(langs[i].name, v, (size_t)(e - v)))
					l = &langs[i];
			if (!l)
				return err_set(ERR_PARSE, "query: unknown language '%.*s'", (int)(e - v), v);
			q->langs = xrealloc(q->langs, (q->n_langs + 1) * sizeof(*q->langs));
			q->langs[q->n_langs++] = l;
		} else if (!strncmp(t, "sym:", 4)) {
			if (sym->len)
				return err_set(ERR_PARSE, "query: only one 'sym:' is allowed");
			if (e == t + 4)
				return err_set(ERR_PARSE, "query: 'sym:' needs a name or regex");
			r = buf_add(sym, t + 4, (size_t)(e - t - 4));
		} else {
			r = buf_add(pat, t, (size_t)(e - t));
			drop_space = 0;
			continue;
		}
		/* a filter at the end takes the space before it */
		if (!*e && pat->len && (pat->p[pat->len - 1] == ' ' || pat->p[pat->len - 1] == '\t'))
			pat->p[--pat->len] = 0;
	}
	return r;
}

/*
 * Plan the pattern (p, len) of q: the trigram plan, the required strings for the
 * prefilter, and whether lines must be matched alone. A pattern outside the modelled
 * subset is scanned: every file a candidate, every line matched.
 */
static int plan_pattern(struct query *q, struct rx *x, const char *p, size_t len)
{
	struct info top;
	int r = 0;
	x->p = (const unsigned char *)p;
	x->end = x->p + len;
	x->caseless = q->caseless;
	parse_alt(x, &top);
	if (x->p != x->end)
		x->giveup = 1;
	if (x->giveup) {
		plan_free(top.match);
		q->unsafe = 1;
		q->scan = 1;
		return 0;
	}
	q->unsafe = x->unsafe;
	q->plain = !x->impure && top.ex.n == 1 && top.ex.len[0] > 0;
	for (int k = 0; top.ex.n > 1 && k < top.ex.n; k++) {
		struct qreq *e = &q->alt[k];
		if (top.ex.len[k] < 3) { /* one string too short: no set prefilter */
			q->n_alt = 0;
			break;
		}
		memcpy(e->s, top.ex.s[k], top.ex.len[k]);
		e->len = top.ex.len[k];
		e->caseless = top.ex.ci[k] != 0;
		q->n_alt++;
	}
	info_note_single(&top);
	q->plan = info_plan(&top);
	if (!q->plan || plan_leaves(q->plan) > PLAN_MAX) {
		plan_free(q->plan);
		q->plan = NULL;
		q->scan = 1;
	}
	if (q->plain) { /* the one string first */
		for (int k = 1; k < top.n_req; k++)
			if (top.req[k].len > top.req[0].len) {
				struct lit t = top.req[0];
				top.req[0] = top.req[k];
				top.req[k] = t;
			}
	}
	for (int k = 0; k < top.n_req && !r; k++) {
		struct qreq *e = &q->req[q->n_req];
		if (top.req[k].len < 2 && !(q->plain && k == 0))
			continue;
		memcpy(e->s, top.req[k].s, top.req[k].len);
		e->len = top.req[k].len;
		e->caseless = top.req[k].ci != 0;
		e->plan = lit_plan(e->s, e->len, top.req[k].ci);
		q->n_req++;
	}
	q->pure = q->plain && !q->word && q->n_req && !q->req[0].caseless;
	return r;
}

int query_parse(const char *s, const struct query_opts *o, struct query **out)
{
	static const struct query_opts none = {0};
	struct query *q;
	struct buf pat, sym, re;
	struct rx *x = NULL;
	int r;

	*out = NULL;
	if (!o)
		o = &none;
	if (strlen(s) > QUERY_MAX)
		return err_set(ERR_TOOBIG, "query: longer than %d bytes", QUERY_MAX);
	q = xcalloc(1, sizeof(*q));
	q->caseless = o->caseless;
	q->word = o->word;
	q->literal = o->literal;
	buf_init(&pat, QUERY_MAX + 1);
	buf_init(&sym, QUERY_MAX + 1);
	buf_init(&re, QUERY_MAX * 8 + 64);
	if ((r = split(q, s, &pat, &sym)))
		goto out;
	if (!pat.len && !sym.len) {
		r = err_set(ERR_PARSE, "query: nothing to search for (empty pattern)");
		goto out;
	}
	if (sym.len) {
		struct rx sx = {0};
		if ((r = buf_addstr(&re, "^(?:")) ||
		    (r = (q->literal ? escape(&re, sym.p, sym.len) : buf_add(&re, sym.p, sym.len))) ||
		    (r = buf_addstr(&re, ")$")) ||
		    (r = compile("sym: regex", re.p, re.len, RE_OPTS | (q->caseless ? PCRE2_CASELESS : 0), &q->sym)))
			goto out;
		buf_reset(&re);
		if (q->literal) {
			sx.impure = 0;
		} else {
			struct info si;
			sx.p = (const unsigned char *)sym.p;
			sx.end = sx.p + sym.len;
			sx.caseless = q->caseless;
			parse_alt(&sx, &si);
			plan_free(si.match);
		}
		if (!sx.impure && !sx.giveup && !q->caseless) {
			q->sym_lit = xstrndup(sym.p, sym.len);
			q->sym_lit_len = sym.len;
		}
	}
	if (pat.len) {
		x = xcalloc(1, sizeof(*x));
		if (q->word)
			r = buf_addstr(&re, "(?<!\\w)(?:");
		r = r ?: (q->literal ? escape(&re, pat.p, pat.len) : buf_add(&re, pat.p, pat.len));
		if (q->word)
			r = r ?: buf_addstr(&re, ")(?!\\w)");
		if (r || (r = compile("regex", re.p, re.len, RE_OPTS | (q->caseless ? PCRE2_CASELESS : 0), &q->re)))
			goto out;
		if (ascii_only((const unsigned char *)re.p, re.len) &&
		    compile("regex", re.p, re.len, PCRE2_MULTILINE | (q->caseless ? PCRE2_CASELESS : 0), &q->re_ascii))
			q->re_ascii = NULL; /* it needs UTF (a code point past 0xff): the Unicode one alone */
		/* plan from the user's pattern: the word wrapper adds no literal */
		buf_reset(&re);
		if ((r = q->literal ? escape(&re, pat.p, pat.len) : buf_add(&re, pat.p, pat.len)))
			goto out;
		if ((r = plan_pattern(q, x, re.p, re.len)))
			goto out;
	}
out:
	free(x);
	buf_release(&pat);
	buf_release(&sym);
	buf_release(&re);
	if (r)
		query_free(q);
	else
		*out = q;
	return r;
}

/* ---- searching ---- */

void search_opts_default(struct search_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->limit = 50;
	o->budget_ms = 1000;
	o->count_all = 1;
}

struct hit {
	uint32_t file;
	uint32_t ctx_def; /* bit 0: context, bit 1: definition */
	uint64_t line;
	size_t ls, le;     /* offsets in the file */
	size_t r0, nr;     /* ranges */
};

struct rfile {
	uint32_t id;
	size_t first, n;
};

struct search_result {
	const struct index *ix;
	uint64_t total, total_files;
	int partial;
	const char *reason;
	struct hit *hits;
	size_t n_hits, cap_hits;
	struct search_range *ranges;
	size_t n_ranges, cap_ranges;
	struct rfile *files;
	size_t n_files;
	struct search_line *lines; /* views built at the end, parallel to hits */
	size_t shown;
	double ms;
};

/* The state of one search. */
struct searcher {
	const struct index *ix;
	const struct query *q;
	const struct search_opts *o;
	struct search_result *res;
	pcre2_match_data *md;
	pcre2_match_context *mc;
	pcre2_jit_stack *js;
	struct timespec t0;
	uint64_t deadline_ns;
	unsigned tick;
	unsigned n_rmatch; /* pcre2_match calls, for the clock (rmatch) */
	int stop; /* 1: page full and counting not wanted; 2: out of time */
	/* the current file */
	uint32_t file;
	const unsigned char *d;
	size_t n;
	size_t cur_pos;
	uint64_t cur_line;
	int file_counted;
	int file_def;
	size_t base;    /* the first line's start: past a UTF-8 BOM */
	int count_only; /* past the page: count matching lines, keep nothing */
	const struct qreq *req; /* the prefilter's string (the rarest), or NULL */
	int use_alt;            /* no req: the prefilter is the exact set (q->alt) */
	size_t alt_next[SET_MAX]; /* where each string of the set is next (SIZE_MAX: unknown) */
	const int *abort; /* another counting thread ran out of time */
	const pcre2_code *re; /* the current file's matcher: q->re, or q->re_ascii (file_re) */
};

static uint64_t elapsed_ns(const struct searcher *s)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)(t.tv_sec - s->t0.tv_sec) * 1000000000u + (uint64_t)t.tv_nsec -
	       (uint64_t)s->t0.tv_nsec;
}

static int out_of_time(struct searcher *s)
{
	if (s->stop == 2)
		return 1;
	if (elapsed_ns(s) > s->deadline_ns ||
	    (s->abort && __atomic_load_n(s->abort, __ATOMIC_RELAXED))) {
		s->stop = 2;
		s->res->partial = 1;
		s->res->reason = "time budget";
		return 1;
	}
	return 0;
}

/* A pcre2_match over d[0..len) from start: 1 match (*ms, *me), 0 none, -1 limit hit. */
static int rmatch(struct searcher *s, const pcre2_code *re, const unsigned char *d, size_t len,
		  size_t start, size_t *ms, size_t *me)
{
	int rc = pcre2_match(re, d, len, start, 0, s->md, s->mc);
	/* one call may take up to MATCH_LIMIT steps (tens of ms): the clock is read after every
	 * 16th, and after each that hit the limit, so that a pattern that is slow on every
	 * line, path or name overruns its budget by a few such calls, not by the hundreds
	 * between the loops' own looks at it (a search worker past its budget and
	 * SEARCHD_GRACE_MS is killed) */
	if (!s->stop && ((++s->n_rmatch & 15) == 0 || (rc < 0 && rc != PCRE2_ERROR_NOMATCH)))
		out_of_time(s);
	if (rc >= 0) {
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(s->md);
		*ms = ov[0];
		*me = ov[1] < ov[0] ? ov[0] : ov[1];
		return 1;
	}
	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	s->res->partial = 1;
	if (!s->res->reason)
		s->res->reason = "match limit";
	return -1;
}

static size_t add_range(struct search_result *r, size_t a, size_t b)
{
	if (r->n_ranges == r->cap_ranges) {
		r->cap_ranges = r->cap_ranges ? 2 * r->cap_ranges : 64;
		r->ranges = xrealloc(r->ranges, r->cap_ranges * sizeof(*r->ranges));
	}
	r->ranges[r->n_ranges++] = (struct search_range){(uint32_t)a, (uint32_t)b};
	return r->n_ranges - 1;
}

static struct hit *add_hit(struct search_result *r)
{
	if (r->n_hits == r->cap_hits) {
		r->cap_hits = r->cap_hits ? 2 * r->cap_hits : 64;
		r->hits = xrealloc(r->hits, r->cap_hits * sizeof(*r->hits));
	}
	memset(&r->hits[r->n_hits], 0, sizeof(r->hits[0]));
	return &r->hits[r->n_hits++];
}

static uint64_t count_nl(const unsigned char *p, size_t n)
{
	uint64_t c = 0;
	for (size_t i = 0; i < n; i++)
		c += p[i] == '\n';
	return c;
}

/* How common a byte is in source code: lower is rarer (unlisted bytes are rarest). */
static int byte_rank(unsigned char c)
{
	static const char common[] = " e\tt_rinsaocldu\nfp();m,*h=>gb-x/0ESTRIAN1.kvDCL\"O2PwMy";
	const char *p = c ? strchr(common, c) : NULL;
	return p ? (int)(sizeof(common) - (size_t)(p - common)) : 0;
}

static unsigned char lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c | 0x20) : c;
}

/* Does h[0..m) equal s[0..m), with ASCII letters in either case when ci? */
static int eq_at(const unsigned char *h, const unsigned char *s, size_t m, int ci)
{
	if (!ci)
		return !memcmp(h, s, m);
	for (size_t j = 0; j < m; j++)
		if (lower(h[j]) != lower(s[j]))
			return 0;
	return 1;
}

/* The needle's two rarest bytes (positions a != b; m >= 2). */
static void rarest(const unsigned char *s, size_t m, int ci, size_t *pa, size_t *pb)
{
	size_t a = 0, b = 1;
	for (size_t j = 1; j < m; j++) {
		int r = byte_rank(ci ? lower(s[j]) : s[j]);
		if (r < byte_rank(ci ? lower(s[a]) : s[a])) {
			b = a;
			a = j;
		} else if (j != a && (b == a || r < byte_rank(ci ? lower(s[b]) : s[b]))) {
			b = j;
		}
	}
	if (a == b)
		b = a ? 0 : 1;
	*pa = a;
	*pb = b;
}

/* The other case of an ASCII letter (c itself for anything else). */
static unsigned char other_case(unsigned char c)
{
	return ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') ? (unsigned char)(c ^ 0x20) : c;
}

#if defined(__x86_64__)
/* The AVX2 loop of find_str: 32 positions at once; returns where it stopped in *at. */
__attribute__((target("avx2"))) static const unsigned char *
find_avx2(const unsigned char *h, size_t n, const unsigned char *s, size_t m, int ci, size_t a,
	  size_t b, size_t *at)
{
	size_t i = 0;
	const __m256i ca = _mm256_set1_epi8((char)s[a]), cb = _mm256_set1_epi8((char)s[b]);
	const __m256i oa = _mm256_set1_epi8((char)(ci ? other_case(s[a]) : s[a]));
	const __m256i ob = _mm256_set1_epi8((char)(ci ? other_case(s[b]) : s[b]));
	for (; i + m + 31 <= n; i += 32) {
		__m256i x = _mm256_loadu_si256((const __m256i *)(h + i + a));
		__m256i y = _mm256_loadu_si256((const __m256i *)(h + i + b));
		__m256i mx = _mm256_or_si256(_mm256_cmpeq_epi8(x, ca), _mm256_cmpeq_epi8(x, oa));
		__m256i my = _mm256_or_si256(_mm256_cmpeq_epi8(y, cb), _mm256_cmpeq_epi8(y, ob));
		unsigned bits = (unsigned)_mm256_movemask_epi8(_mm256_and_si256(mx, my));
		while (bits) {
			unsigned k = (unsigned)__builtin_ctz(bits);
			if (eq_at(h + i + k, s, m, ci))
				return h + i + k;
			bits &= bits - 1;
		}
	}
	*at = i;
	return NULL;
}
#endif

/*
 * memmem for the verifier's hot loop, with ASCII letters in either case when ci (a
 * caseless prefilter): test 32 (AVX2) or 16 (SSE2, part of every x86-64) positions at once
 * for the needle's two rarest bytes, in both cases when ci, and compare the needle only
 * where both are in place. glibc's memmem is several times slower for the short needles
 * of code search.
 */
static const unsigned char *find_str(const unsigned char *h, size_t n, const unsigned char *s,
				     size_t m, int ci)
{
	size_t i = 0;
	if (!m)
		return h;
	if (!ci && m == 1)
		return memchr(h, s[0], n);
#if defined(__SSE2__)
	if (m >= 2 && n >= m + 15) {
		size_t a, b;
		rarest(s, m, ci, &a, &b);
#if defined(__x86_64__)
		if (n >= m + 31 && __builtin_cpu_supports("avx2")) {
			const unsigned char *f = find_avx2(h, n, s, m, ci, a, b, &i);
			if (f)
				return f;
		}
#endif
		const __m128i ca = _mm_set1_epi8((char)s[a]), cb = _mm_set1_epi8((char)s[b]);
		const __m128i oa = _mm_set1_epi8((char)(ci ? other_case(s[a]) : s[a]));
		const __m128i ob = _mm_set1_epi8((char)(ci ? other_case(s[b]) : s[b]));
		for (; i + m + 15 <= n; i += 16) {
			__m128i x = _mm_loadu_si128((const __m128i *)(h + i + a));
			__m128i y = _mm_loadu_si128((const __m128i *)(h + i + b));
			__m128i mx = _mm_or_si128(_mm_cmpeq_epi8(x, ca), _mm_cmpeq_epi8(x, oa));
			__m128i my = _mm_or_si128(_mm_cmpeq_epi8(y, cb), _mm_cmpeq_epi8(y, ob));
			unsigned bits = (unsigned)_mm_movemask_epi8(_mm_and_si128(mx, my));
			while (bits) {
				unsigned k = (unsigned)__builtin_ctz(bits);
				if (eq_at(h + i + k, s, m, ci))
					return h + i + k;
				bits &= bits - 1;
			}
		}
	}
#endif
	for (; i + m <= n; i++)
		if (eq_at(h + i, s, m, ci))
			return h + i;
	return NULL;
}

/* Line number of the line starting at ls (>= the cursor). */
static uint64_t line_of(struct searcher *s, size_t ls)
{
	s->cur_line += count_nl(s->d + s->cur_pos, ls - s->cur_pos);
	s->cur_pos = ls;
	return s->cur_line;
}

/* Record the ranges of every match within line [ls, le) (matched alone, as rg does). */
static void line_ranges(struct searcher *s, size_t ls, size_t le, struct hit *h)
{
	const struct query *q = s->q;
	const unsigned char *l = s->d + ls;
	size_t n = le - ls, pos = 0, ms, me;
	h->r0 = s->res->n_ranges;
	if (q->pure) {
		const unsigned char *f;
		while (pos < n && (f = find_str(l + pos, n - pos, q->req[0].s, q->req[0].len, 0))) {
			size_t a = (size_t)(f - l);
			add_range(s->res, a, a + q->req[0].len);
			pos = a + q->req[0].len;
		}
	} else {
		while (pos <= n && rmatch(s, s->re ? s->re : q->re, l, n, pos, &ms, &me) == 1) {
			if (me > ms)
				add_range(s->res, ms, me);
			if (me > pos)
				pos = me;
			else {
				pos = me + 1;
				while (pos < n && (l[pos] & 0xc0) == 0x80)
					pos++;
			}
			if (s->res->n_ranges - h->r0 >= LINE_RANGES_MAX)
				break;
		}
	}
	h->nr = s->res->n_ranges - h->r0;
}

/* Is line `line` of the current file a definition of a symbol overlapping a range? */
static int is_definition(const struct searcher *s, const struct hit *h)
{
	const struct index *ix = s->ix;
	size_t lo = 0, hi = index_n_symbols(ix);
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct index_symbol *y = index_symbol(ix, mid);
		if (y->file < h->file || (y->file == h->file && y->line < h->line))
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < index_n_symbols(ix); lo++) {
		const struct index_symbol *y = index_symbol(ix, lo);
		if (y->file != h->file || y->line != h->line)
			break;
		for (size_t k = 0; k < h->nr; k++) {
			const struct search_range *g = &s->res->ranges[h->r0 + k];
			size_t a = y->off - h->ls, b = a + y->len;
			if (y->off >= h->ls && g->start < b && g->end > a)
				return 1;
		}
	}
	return 0;
}

/* A matching line [ls, le) of the current file: count it, keep it when in the page. */
static void on_line(struct searcher *s, size_t ls, size_t le)
{
	struct search_result *r = s->res;
	uint64_t k = r->total++;
	if (!s->file_counted) {
		s->file_counted = 1;
		r->total_files++;
	}
	if (s->count_only)
		return;
	if (k >= s->o->offset && k < s->o->offset + s->o->limit) {
		struct hit *h = add_hit(r);
		h->file = s->file;
		h->ls = ls;
		h->le = le;
		h->line = line_of(s, ls);
		line_ranges(s, ls, le, h);
		if (is_definition(s, h))
			h->ctx_def |= 2;
	}
	if (!s->o->count_all && r->total >= s->o->offset + s->o->limit) {
		s->stop = 1;
		r->reason = "page full";
	}
}

/* The start of the line holding byte at, not before floor (a line start). */
static size_t line_start(const unsigned char *d, size_t floor, size_t at)
{
	const unsigned char *p = at > floor ? memrchr(d + floor, '\n', at - floor) : NULL;
	return p ? (size_t)(p - d) + 1 : floor;
}

static size_t line_end(const unsigned char *d, size_t n, size_t at)
{
	const unsigned char *p = memchr(d + at, '\n', n - at);
	return p ? (size_t)(p - d) : n;
}

/* Where the first line of a text starts: after a UTF-8 BOM, which rg does not search. */
static size_t text_base(const unsigned char *d, size_t n)
{
	return n >= 3 && d[0] == 0xef && d[1] == 0xbb && d[2] == 0xbf ? 3 : 0;
}

/* Choose the current file's matcher: the one without Unicode for an ASCII-only text. */
static void file_re(struct searcher *s)
{
	const struct query *q = s->q;
	int ascii = q->re_ascii && (s->ix ? index_ascii(s->ix, s->file) : ascii_only(s->d, s->n));
	s->re = ascii ? q->re_ascii : q->re;
}

/* Does line [ls, le) match, seen alone as rg sees it? 1 yes, 0 no, -1 limit hit. */
static int line_matches(struct searcher *s, size_t ls, size_t le)
{
	size_t ms, me;
	return rmatch(s, s->re ? s->re : s->q->re, s->d + ls, le - ls, 0, &ms, &me);
}

/*
 * The first place at or after pos where a string of the pattern's exact set starts (n for
 * none). Each string's next place is kept until the scan passes it.
 */
static size_t alt_find(struct searcher *s, size_t pos)
{
	const struct query *q = s->q;
	size_t at = s->n;
	for (size_t k = 0; k < q->n_alt; k++) {
		const struct qreq *e = &q->alt[k];
		if (s->alt_next[k] == SIZE_MAX || s->alt_next[k] < pos) {
			const unsigned char *f = find_str(s->d + pos, s->n - pos, e->s, e->len, e->caseless);
			s->alt_next[k] = f ? (size_t)(f - s->d) : s->n;
		}
		if (s->alt_next[k] < at)
			at = s->alt_next[k];
	}
	return at;
}

/*
 * Find the matching lines of the current file, each line matched alone (so anchors and
 * lookarounds see one line, and nothing follows a final newline). With a prefilter string,
 * only lines holding it are matched (memmem alone decides a pure literal); likewise with the
 * pattern's exact set (a match is one of its strings) when no required string will do. Without one, a
 * pattern free of lookarounds and \A, \z, \Z, \G runs over the whole text: wherever a
 * line has a match, the search from the line's start finds one starting in that line (the
 * same path matches: ^, $ and \b see a newline as they see a line's ends; no atomic or
 * possessive item can eat the newline and refuse to give it back), so no matching line is
 * passed over; the line where a match starts is then matched alone. Other patterns are
 * matched on every line.
 */
static void scan_file(struct searcher *s)
{
	const struct query *q = s->q;
	const struct qreq *rq = s->req;
	const unsigned char *d = s->d;
	size_t n = s->n, pos, ms, me;
	int per_line = 0;

	s->base = pos = text_base(d, n);
	file_re(s);
	for (size_t k = 0; k < q->n_alt; k++)
		s->alt_next[k] = SIZE_MAX;
	s->cur_pos = pos;
	s->cur_line = 1;
	s->file_counted = 0;
	while (pos < n && !s->stop) {
		size_t ls, le;
		int m;
		if ((++s->tick & 255) == 0 && out_of_time(s))
			return;
		if (rq || s->use_alt) {
			size_t at;
			if (rq) {
				const unsigned char *f = find_str(d + pos, n - pos, rq->s, rq->len, rq->caseless);
				if (!f)
					return;
				at = (size_t)(f - d);
			} else if ((at = alt_find(s, pos)) >= n) {
				return;
			}
			ls = line_start(d, pos, at);
			le = line_end(d, n, at);
			if (q->pure || line_matches(s, ls, le) == 1)
				on_line(s, ls, le);
			pos = le + 1;
			continue;
		}
		if (q->unsafe || per_line) {
			le = line_end(d, n, pos);
			if (line_matches(s, pos, le) == 1)
				on_line(s, pos, le);
			pos = le + 1;
			continue;
		}
		/* the subject starts at the first line, so that ^ matches there */
		m = rmatch(s, s->re, d + s->base, n - s->base, pos - s->base, &ms, &me);
		ms += s->base;
		me += s->base;
		if (m == 0)
			return;
		if (m < 0) { /* the limit over the whole text: go on line by line */
			per_line = 1;
			continue;
		}
		if (ms >= n && n && d[n - 1] == '\n')
			return; /* past the final newline: no line there */
		ls = line_start(d, pos, ms);
		le = line_end(d, n, ms);
		if (line_matches(s, ls, le) == 1)
			on_line(s, ls, le);
		pos = le + 1;
	}
}

size_t query_n_required(const struct query *q)
{
	return q->n_req + (q->n_alt ? 1 : 0);
}

/* ---- candidates ---- */

struct idset {
	int all;
	uint32_t *v;
	size_t n;
};

static void intersect(struct idset *a, const struct idset *b)
{
	size_t i = 0, j = 0, k = 0;
	if (b->all)
		return;
	if (a->all) {
		a->all = 0;
		a->v = xmalloc((b->n ? b->n : 1) * sizeof(uint32_t));
		if (b->n)
			memcpy(a->v, b->v, b->n * sizeof(uint32_t));
		a->n = b->n;
		return;
	}
	while (i < a->n && j < b->n) {
		if (a->v[i] < b->v[j])
			i++;
		else if (a->v[i] > b->v[j])
			j++;
		else {
			a->v[k++] = a->v[i];
			i++;
			j++;
		}
	}
	a->n = k;
}

static void unite(struct idset *a, struct idset *b)
{
	uint32_t *v;
	size_t i = 0, j = 0, k = 0;
	if (a->all || b->all) {
		free(a->v);
		a->v = NULL;
		a->n = 0;
		a->all = 1;
		return;
	}
	v = xmalloc((a->n + b->n + 1) * sizeof(uint32_t));
	while (i < a->n || j < b->n) {
		if (j >= b->n || (i < a->n && a->v[i] < b->v[j]))
			v[k++] = a->v[i++];
		else if (i >= a->n || b->v[j] < a->v[i])
			v[k++] = b->v[j++];
		else {
			v[k++] = a->v[i++];
			j++;
		}
	}
	free(a->v);
	a->v = v;
	a->n = k;
}

/* Files a plan may select at most: a list's length, a sum for OR, a minimum for AND. */
static size_t plan_count(const struct index *ix, const struct plan *p)
{
	size_t n = 0;
	if (!p)
		return SIZE_MAX;
	if (p->op == PLAN_TRI)
		return index_postings_count(ix, p->tri);
	if (p->op == PLAN_AND) {
		n = SIZE_MAX;
		for (size_t i = 0; i < p->n; i++) {
			size_t k = plan_count(ix, p->kids[i]);
			n = k < n ? k : n;
		}
		return n;
	}
	for (size_t i = 0; i < p->n; i++) {
		size_t k = plan_count(ix, p->kids[i]);
		n = k > SIZE_MAX - n ? SIZE_MAX : n + k;
	}
	return n;
}

struct kid {
	size_t count;
	struct plan *p;
};

static int cmp_kid(const void *a, const void *b)
{
	size_t x = ((const struct kid *)a)->count, y = ((const struct kid *)b)->count;
	return x < y ? -1 : x > y;
}

/*
 * Evaluate a plan into a set of file ids (a superset of the files that can match). AND
 * intersects the rarest lists first and stops once the next list is so much longer than
 * the candidates that verifying them costs less than decoding it. The plan is not changed:
 * a query is shared by concurrent searches.
 */
static void eval(const struct index *ix, const struct plan *p, struct idset *out)
{
	memset(out, 0, sizeof(*out));
	if (!p) {
		out->all = 1;
		return;
	}
	if (p->op == PLAN_TRI) {
		index_postings(ix, p->tri, &out->v, &out->n);
		return;
	}
	if (p->op == PLAN_AND) {
		struct kid *k = xmalloc((p->n ? p->n : 1) * sizeof(*k));
		for (size_t i = 0; i < p->n; i++)
			k[i] = (struct kid){plan_count(ix, p->kids[i]), p->kids[i]};
		qsort(k, p->n, sizeof(*k), cmp_kid);
		out->all = 1;
		for (size_t i = 0; i < p->n; i++) {
			struct idset one;
			if (!out->all && (out->n == 0 || k[i].count / 64 > out->n + 16))
				break;
			eval(ix, k[i].p, &one);
			intersect(out, &one);
			free(one.v);
		}
		free(k);
		return;
	}
	for (size_t i = 0; i < p->n; i++) {
		struct idset k;
		eval(ix, p->kids[i], &k);
		unite(out, &k);
		free(k.v);
		if (out->all)
			return;
	}
}

static int path_ok(struct searcher *s, const struct manifest_entry *e)
{
	const struct query *q = s->q;
	size_t a, b;
	for (size_t i = 0; i < q->n_files; i++)
		if (rmatch(s, q->files[i], (const unsigned char *)e->path, e->path_len, 0, &a, &b) != 1)
			return 0;
	for (size_t i = 0; i < q->n_nofiles; i++)
		if (rmatch(s, q->nofiles[i], (const unsigned char *)e->path, e->path_len, 0, &a, &b) == 1)
			return 0;
	if (q->n_langs) {
		const char *base = strrchr(e->path, '/');
		int any = 0;
		base = base ? base + 1 : e->path;
		for (size_t i = 0; i < q->n_langs && !any; i++) {
			const char *x = q->langs[i]->exts;
			while (*x && !any) {
				const char *sp = strchr(x, ' ');
				size_t l = sp ? (size_t)(sp - x) : strlen(x);
				if (*x == '=')
					any = strlen(base) == l - 1 && !memcmp(base, x + 1, l - 1);
				else
					any = e->path_len >= l && !memcmp(e->path + e->path_len - l, x, l);
				x += l + (sp ? 1 : 0);
			}
		}
		if (!any)
			return 0;
	}
	return 1;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Files defining the pure literal pattern, as a sorted id list. */
static void definers(const struct index *ix, const struct query *q, struct idset *out)
{
	size_t lo, hi;
	memset(out, 0, sizeof(*out));
	if (!q->plain || q->word)
		return;
	index_symbol_find(ix, (const char *)q->req[0].s, q->req[0].len, &lo, &hi);
	out->v = xmalloc((hi - lo + 1) * sizeof(uint32_t));
	for (size_t i = lo; i < hi; i++) {
		const struct index_symbol *y = index_symbol_by_name(ix, i);
		if (!q->req[0].caseless && memcmp(index_symbol_name(ix, y), q->req[0].s, q->req[0].len))
			continue;
		out->v[out->n++] = y->file;
	}
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static int has_id(const struct idset *s, uint32_t id)
{
	size_t lo = 0, hi = s->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->v[mid] == id)
			return 1;
		if (s->v[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

/* Files counted in parallel: a shared cursor into the ranked candidates. */
struct count_job {
	struct searcher *main;
	const uint64_t *order;
	size_t n;
	size_t next; /* atomic */
	int abort;   /* atomic: a thread ran out of time */
};

#define COUNT_CHUNK 8
#define COUNT_PARALLEL_MIN 32 /* fewer files left are counted by the caller alone */
#define COUNT_THREADS_MAX 4

/* Count the matches of the job's files in chunks until none is left or time runs out. */
static void count_loop(struct count_job *j, struct searcher *s)
{
	s->count_only = 1;
	s->abort = &j->abort;
	while (!s->stop) {
		size_t k0 = __atomic_fetch_add(&j->next, COUNT_CHUNK, __ATOMIC_RELAXED);
		for (size_t k = k0; k < j->n && k < k0 + COUNT_CHUNK && !s->stop; k++) {
			s->file = (uint32_t)j->order[k];
			s->d = index_read_text(s->ix, s->file, &s->n);
			s->n = index_search_len(s->ix, s->file);
			scan_file(s);
		}
		if (k0 + COUNT_CHUNK >= j->n)
			break;
		out_of_time(s);
	}
	if (s->stop == 2)
		__atomic_store_n(&j->abort, 1, __ATOMIC_RELAXED);
}

static void *count_worker(void *arg)
{
	struct count_job *j = arg;
	struct searcher *m = j->main, s = {0};
	struct search_result r = {0};
	s.ix = m->ix;
	s.q = m->q;
	s.o = m->o;
	s.res = &r;
	s.t0 = m->t0;
	s.deadline_ns = m->deadline_ns;
	s.req = m->req;
	s.use_alt = m->use_alt;
	s.md = pcre2_match_data_create(1, NULL);
	s.mc = pcre2_match_context_create(NULL);
	s.js = pcre2_jit_stack_create(32 * 1024, JIT_STACK_MAX, NULL);
	if (!s.md || !s.mc || !s.js)
		BUG("pcre2 allocation");
	pcre2_set_match_limit(s.mc, MATCH_LIMIT);
	pcre2_set_depth_limit(s.mc, DEPTH_LIMIT);
	pcre2_set_heap_limit(s.mc, HEAP_LIMIT_KB);
	pcre2_jit_stack_assign(s.mc, NULL, s.js);
	count_loop(j, &s);
	pcre2_jit_stack_free(s.js);
	pcre2_match_context_free(s.mc);
	pcre2_match_data_free(s.md);
	{
		struct search_result *o = xmalloc(sizeof(*o));
		*o = r;
		return o;
	}
}

/*
 * The page is full; count the matches of the n files left in order on every CPU (at most
 * COUNT_THREADS_MAX), each thread with its own matcher and counters, then add them up.
 */
static void count_rest(struct searcher *s, const uint64_t *order, size_t n)
{
	struct count_job j = {s, order, n, 0, 0};
	pthread_t th[COUNT_THREADS_MAX];
	long np = sysconf(_SC_NPROCESSORS_ONLN);
	int n_th = np < 1 ? 1 : np > COUNT_THREADS_MAX ? COUNT_THREADS_MAX : (int)np, started = 1;
	for (int i = 1; i < n_th; i++, started++)
		if (pthread_create(&th[i], NULL, count_worker, &j))
			break;
	count_loop(&j, s);
	for (int i = 1; i < started; i++) {
		struct search_result *r;
		pthread_join(th[i], (void **)&r);
		s->res->total += r->total;
		s->res->total_files += r->total_files;
		if (r->partial) {
			s->res->partial = 1;
			if (!s->res->reason)
				s->res->reason = r->reason;
		}
		free(r);
	}
	if (j.abort && !s->res->partial) {
		s->res->partial = 1;
		s->res->reason = "time budget";
	}
}

/*
 * The prefilter's string for a search over ix: the required string in the fewest files
 * (by its trigram lists; strings too short for a trigram count as in every file, the
 * longest of them first); the literal itself for a plain pattern.
 */
static const struct qreq *pick_req(const struct index *ix, const struct query *q)
{
	const struct qreq *best = NULL;
	size_t best_n = 0;
	if (q->plain)
		return q->n_req ? &q->req[0] : NULL;
	for (size_t k = 0; k < q->n_req; k++) {
		const struct qreq *e = &q->req[k];
		size_t c = e->plan ? plan_count(ix, e->plan) : SIZE_MAX;
		if (!best || c < best_n || (c == best_n && e->len > best->len)) {
			best = e;
			best_n = c;
		}
	}
	return best;
}

/*
 * The prefilter search_opts.prefilter names: none (-1), or the k-th of query_n_required
 * (the required strings, then the exact set); a plain pattern's is always its literal,
 * which alone decides its lines.
 */
static void forced_prefilter(struct searcher *s, int k)
{
	const struct query *q = s->q;
	if (q->pure)
		s->req = &q->req[0];
	else if (k > 0 && (size_t)k <= q->n_req)
		s->req = &q->req[k - 1];
	else if (k > 0)
		s->use_alt = 1;
}

/* Content search: plan, filter, rank, then verify in rank order. */
static void search_content(struct searcher *s)
{
	const struct index *ix = s->ix;
	const struct query *q = s->q;
	size_t n_files = index_n_files(ix), n_c = 0;
	struct idset c, defs;
	uint64_t *order;

	if (s->o->prefilter)
		forced_prefilter(s, s->o->prefilter);
	else {
		s->req = pick_req(ix, q);
		if ((!s->req || s->req->len < 3) && q->n_alt) {
			s->req = NULL;
			s->use_alt = 1;
		}
	}
	eval(ix, q->plan, &c);
	definers(ix, q, &defs);
	if (defs.n)
		qsort(defs.v, defs.n, sizeof(uint32_t), cmp_u32);
	order = xmalloc(((c.all ? n_files : c.n) + 1) * sizeof(uint64_t));
	for (size_t k = 0; k < (c.all ? n_files : c.n); k++) {
		uint32_t id = c.all ? (uint32_t)k : c.v[k];
		const struct manifest_entry *e = manifest_get(index_manifest(ix), id);
		uint64_t tier = 2;
		size_t a, b;
		/* before path_ok, whose files that fail it would skip a look at the clock */
		if (s->stop == 2 || ((k & 1023) == 1023 && out_of_time(s)))
			break;
		if (!index_search_len(ix, id) || !path_ok(s, e))
			continue;
		if (has_id(&defs, id))
			tier = 0;
		else if (rmatch(s, q->re, (const unsigned char *)e->path, e->path_len, 0, &a, &b) == 1)
			tier = 1;
		order[n_c++] = tier << 32 | id;
	}
	qsort(order, n_c, sizeof(uint64_t), cmp_u64);
	for (size_t k = 0; k < n_c && !s->stop; k++) {
		s->file = (uint32_t)order[k];
		s->d = index_read_text(ix, s->file, &s->n);
		s->n = index_search_len(ix, s->file);
		scan_file(s);
		if (!s->stop && (k & 15) == 15)
			out_of_time(s);
		if (!s->stop && s->o->count_all && n_c - k > COUNT_PARALLEL_MIN &&
		    s->res->total >= s->o->offset + s->o->limit) {
			count_rest(s, order + k + 1, n_c - k - 1);
			break;
		}
	}
	free(order);
	free(c.v);
	free(defs.v);
}

static int cmp_sym_pos(const void *a, const void *b)
{
	const struct index_symbol *x = *(const struct index_symbol *const *)a,
				  *y = *(const struct index_symbol *const *)b;
	if (x->file != y->file)
		return x->file < y->file ? -1 : 1;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->off < y->off ? -1 : x->off > y->off;
}

/* sym: search: the definition lines of matching symbols, in path order. */
static void search_symbols(struct searcher *s)
{
	const struct index *ix = s->ix;
	const struct query *q = s->q;
	const struct index_symbol **v;
	size_t n = 0, lo = 0, hi = index_n_symbols(ix), ms, me, base;

	if (q->sym_lit)
		index_symbol_find(ix, q->sym_lit, q->sym_lit_len, &lo, &hi);
	v = xmalloc((hi - lo + 1) * sizeof(*v));
	for (size_t i = lo; i < hi; i++) {
		const struct index_symbol *y = index_symbol_by_name(ix, i);
		const char *name;
		if (!y || !(name = index_symbol_name(ix, y)))
			break;
		if (s->stop == 2 || ((i & 4095) == 4095 && out_of_time(s)))
			break;
		if (rmatch(s, q->sym, (const unsigned char *)name, y->len, 0, &ms, &me) != 1)
			continue;
		v[n++] = y;
	}
	qsort(v, n, sizeof(*v), cmp_sym_pos);
	for (size_t i = 0; i < n && !s->stop; i++) {
		const struct index_symbol *y = v[i];
		const struct manifest_entry *e = manifest_get(index_manifest(ix), y->file);
		size_t ls, le;
		if (i && v[i - 1]->file == y->file && v[i - 1]->line == y->line)
			continue;
		if (!path_ok(s, e))
			continue;
		if (s->file != y->file || !s->d) {
			s->file = y->file;
			s->d = index_read_text(ix, y->file, &s->n);
			s->n = index_search_len(ix, y->file);
			s->cur_pos = 0;
			s->cur_line = 1;
			s->file_counted = 0;
			if (q->re)
				file_re(s);
		}
		base = text_base(s->d, s->n);
		ls = line_start(s->d, y->off >= base ? base : 0, y->off);
		le = line_end(s->d, s->n, y->off);
		if (q->re && line_matches(s, ls, le) != 1)
			continue;
		{
			struct search_result *r = s->res;
			uint64_t k = r->total++;
			if (!s->file_counted) {
				s->file_counted = 1;
				r->total_files++;
			}
			if (k >= s->o->offset && k < s->o->offset + s->o->limit) {
				struct hit *h = add_hit(r);
				h->file = y->file;
				h->ls = ls;
				h->le = le;
				h->line = y->line;
				h->ctx_def = 2;
				h->r0 = add_range(r, y->off - ls, y->off - ls + y->len);
				h->nr = 1;
			}
			if (!s->o->count_all && r->total >= s->o->offset + s->o->limit) {
				s->stop = 1;
				r->reason = "page full";
			}
		}
	}
	free(v);
}

static int cmp_hit(const void *a, const void *b)
{
	const struct hit *x = a, *y = b;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return (int)(x->ctx_def & 1) - (int)(y->ctx_def & 1);
}

/* Add context lines around the page's matches and group the hits by file. */
static void finish_page(struct searcher *s)
{
	struct search_result *r = s->res;
	size_t n_match = r->n_hits, i = 0;
	struct hit *out = NULL;
	size_t n_out = 0, cap_out = 0;

	while (i < n_match) {
		size_t j = i, len;
		uint32_t id = r->hits[i].file;
		const unsigned char *d = index_read_text(s->ix, id, &len);
		size_t n = index_search_len(s->ix, id);
		while (j < n_match && r->hits[j].file == id)
			j++;
		r->files = xrealloc(r->files, (r->n_files + 1) * sizeof(*r->files));
		r->files[r->n_files].id = id;
		r->files[r->n_files].first = n_out;
		for (size_t k = i; k < j; k++) {
			struct hit h = r->hits[k];
			size_t ls = h.ls, le = h.le;
			if (n_out + 2 * s->o->context + 1 >= cap_out) {
				cap_out = 2 * cap_out + 2 * s->o->context + 16;
				out = xrealloc(out, cap_out * sizeof(*out));
			}
			out[n_out++] = h;
			for (unsigned c = 1; c <= s->o->context && ls > text_base(d, n); c++) {
				size_t pe = ls - 1, ps = line_start(d, text_base(d, n), pe);
				out[n_out++] = (struct hit){id, 1, h.line - c, ps, pe, 0, 0};
				ls = ps;
			}
			for (unsigned c = 1; c <= s->o->context && le < n; c++) {
				size_t ns = le + 1, ne;
				if (ns >= n)
					break;
				ne = line_end(d, n, ns);
				out[n_out++] = (struct hit){id, 1, h.line + c, ns, ne, 0, 0};
				le = ne;
			}
		}
		{
			struct hit *f = out + r->files[r->n_files].first;
			size_t m = n_out - r->files[r->n_files].first, w = 0;
			qsort(f, m, sizeof(*f), cmp_hit);
			for (size_t k = 0; k < m; k++)
				if (!w || f[w - 1].line != f[k].line)
					f[w++] = f[k];
			n_out = r->files[r->n_files].first + w;
			r->files[r->n_files].n = w;
		}
		r->n_files++;
		i = j;
	}
	free(r->hits);
	r->hits = out;
	r->n_hits = n_out;
	r->shown = n_out;
	r->lines = xcalloc(n_out ? n_out : 1, sizeof(*r->lines));
	for (size_t k = 0; k < n_out; k++) {
		size_t len;
		const unsigned char *d = index_read_text(s->ix, out[k].file, &len);
		struct search_line *l = &r->lines[k];
		l->line = out[k].line;
		l->text = (const char *)d + out[k].ls;
		l->len = out[k].le - out[k].ls;
		l->ranges = out[k].nr ? &r->ranges[out[k].r0] : NULL;
		l->n_ranges = out[k].nr;
		l->context = out[k].ctx_def & 1;
		l->definition = (out[k].ctx_def & 2) != 0;
	}
}

int index_search(const struct index *ix, const struct query *q, const struct search_opts *o,
		 struct search_result **out)
{
	struct searcher s = {0};
	struct search_result *r;
	struct search_opts def;

	*out = NULL;
	if (!o) {
		search_opts_default(&def);
		o = &def;
	}
	if (o->limit > SEARCH_LIMIT_MAX)
		return err_set(ERR_USAGE, "search: limit %zu is past %d", o->limit, SEARCH_LIMIT_MAX);
	if (o->context > SEARCH_CONTEXT_MAX)
		return err_set(ERR_USAGE, "search: context %u is past %d", o->context, SEARCH_CONTEXT_MAX);
	if (o->offset > UINT64_MAX / 2)
		return err_set(ERR_USAGE, "search: offset %zu is too large", o->offset);
	if (o->prefilter < -1 || (o->prefilter > 0 && (size_t)o->prefilter > query_n_required(q)))
		return err_set(ERR_USAGE, "search: prefilter %d is not one of the query's %zu", o->prefilter,
			       query_n_required(q));
	r = xcalloc(1, sizeof(*r));
	r->ix = ix;
	r->reason = NULL;
	s.ix = ix;
	s.q = q;
	s.o = o;
	s.res = r;
	clock_gettime(CLOCK_MONOTONIC, &s.t0);
	s.deadline_ns = (uint64_t)(o->budget_ms ? o->budget_ms : 1000) * 1000000u;
	s.md = pcre2_match_data_create(1, NULL);
	s.mc = pcre2_match_context_create(NULL);
	s.js = pcre2_jit_stack_create(32 * 1024, JIT_STACK_MAX, NULL);
	if (!s.md || !s.mc || !s.js)
		BUG("pcre2 allocation");
	pcre2_set_match_limit(s.mc, MATCH_LIMIT);
	pcre2_set_depth_limit(s.mc, DEPTH_LIMIT);
	pcre2_set_heap_limit(s.mc, HEAP_LIMIT_KB);
	pcre2_jit_stack_assign(s.mc, NULL, s.js);
	if (q->sym)
		search_symbols(&s);
	else
		search_content(&s);
	if (s.stop == 1) {
		r->partial = 0; /* a full page without a count is not a partial result */
	}
	finish_page(&s);
	pcre2_jit_stack_free(s.js);
	pcre2_match_context_free(s.mc);
	pcre2_match_data_free(s.md);
	r->ms = (double)elapsed_ns(&s) / 1e6;
	if (!r->partial && s.stop != 1)
		r->reason = NULL;
	*out = r;
	return 0;
}

void search_result_free(struct search_result *r)
{
	if (!r)
		return;
	free(r->hits);
	free(r->ranges);
	free(r->files);
	free(r->lines);
	free(r);
}

uint64_t search_result_total(const struct search_result *r)
{
	return r->total;
}

uint64_t search_result_total_files(const struct search_result *r)
{
	return r->total_files;
}

int search_result_partial(const struct search_result *r)
{
	return r->partial;
}

const char *search_result_partial_reason(const struct search_result *r)
{
	return r->reason ? r->reason : "";
}

size_t search_result_lines_shown(const struct search_result *r)
{
	return r->shown;
}

double search_result_ms(const struct search_result *r)
{
	return r->ms;
}

void search_result_set_ms(struct search_result *r, double ms)
{
	r->ms = ms;
}

size_t search_result_n_files(const struct search_result *r)
{
	return r->n_files;
}

const char *search_result_path(const struct search_result *r, size_t i, size_t *len)
{
	const struct manifest_entry *e = manifest_get(index_manifest(r->ix), r->files[i].id);
	if (len)
		*len = e->path_len;
	return e->path;
}

size_t search_result_file(const struct search_result *r, size_t i)
{
	return r->files[i].id;
}

size_t search_result_n_lines(const struct search_result *r, size_t i)
{
	return r->files[i].n;
}

const struct search_line *search_result_line(const struct search_result *r, size_t i, size_t j)
{
	return &r->lines[r->files[i].first + j];
}

int search_result_json(const struct search_result *r, struct buf *out)
{
	int e = buf_addf(out, "{\"total\":%llu,\"files\":[", (unsigned long long)r->total);
	for (size_t i = 0; i < r->n_files && !e; i++) {
		size_t pl;
		const char *p = search_result_path(r, i, &pl);
		e = buf_addstr(out, i ? ",{\"path\":" : "{\"path\":") ?: buf_addjson(out, p, pl) ?:
		    buf_addstr(out, ",\"matches\":[");
		for (size_t j = 0; j < r->files[i].n && !e; j++) {
			const struct search_line *l = search_result_line(r, i, j);
			e = buf_addf(out, "%s{\"line\":%llu,\"text\":", j ? "," : "",
				     (unsigned long long)l->line) ?:
			    buf_addjson(out, l->text, l->len) ?: buf_addstr(out, ",\"ranges\":[");
			for (size_t k = 0; k < l->n_ranges && !e; k++)
				e = buf_addf(out, "%s[%u,%u]", k ? "," : "", l->ranges[k].start, l->ranges[k].end);
			e = e ?: buf_addstr(out, "]");
			if (!e && l->context)
				e = buf_addstr(out, ",\"context\":true");
			if (!e && l->definition)
				e = buf_addstr(out, ",\"definition\":true");
			e = e ?: buf_addstr(out, "}");
		}
		e = e ?: buf_addstr(out, "]}");
	}
	e = e ?: buf_addf(out, "],\"total_files\":%llu,\"lines_shown\":%zu,\"partial\":%s}",
			 (unsigned long long)r->total_files, r->shown, r->partial ? "true" : "false");
	return e;
}

/* ---- a result between a search worker and the room (docs/formats.md) ---- */

#define RESULT_MAGIC "SRx1"
#define RESULT_LINES_MAX ((uint64_t)SEARCH_LIMIT_MAX * (2 * SEARCH_CONTEXT_MAX + 1))
#define FILE_REC 8   /* u32 file, u32 n_lines */
#define LINE_REC 27  /* u64 line, u64 start, u64 end, u8 flags, u16 n_ranges */
#define RANGE_REC 8  /* u32 start, u32 end */
#define FLAG_CONTEXT 1
#define FLAG_DEFINITION 2

/* The reasons of a partial result, by their number in the encoding (0: none). */
static const char *const reasons[] = {NULL, "time budget", "match limit", "page full"};
#define N_REASONS (sizeof(reasons) / sizeof(reasons[0]))

static int put_le(struct buf *b, uint64_t v, int bytes)
{
	unsigned char x[8];
	for (int i = 0; i < bytes; i++)
		x[i] = (unsigned char)(v >> (8 * i));
	return buf_add(b, x, (size_t)bytes);
}

int search_result_encode(const struct search_result *r, struct buf *out)
{
	uint64_t ms_bits, n_ranges = 0;
	size_t reason = 0;
	int e;
	if (r->reason) {
		while (++reason < N_REASONS && strcmp(r->reason, reasons[reason]))
			;
		if (reason == N_REASONS)
			BUG("search result: reason '%s'", r->reason);
	}
	for (size_t k = 0; k < r->shown; k++)
		n_ranges += r->lines[k].n_ranges;
	memcpy(&ms_bits, &r->ms, sizeof(ms_bits));
	e = buf_add(out, RESULT_MAGIC, 4) || put_le(out, r->total, 8) || put_le(out, r->total_files, 8) ||
	    put_le(out, ms_bits, 8) || put_le(out, r->partial ? 1 : 0, 1) || put_le(out, reason, 1) ||
	    put_le(out, r->n_files, 4) || put_le(out, r->shown, 4) || put_le(out, n_ranges, 4);
	for (size_t i = 0; i < r->n_files && !e; i++) {
		size_t len;
		const unsigned char *d = index_read_text(r->ix, r->files[i].id, &len);
		e = put_le(out, r->files[i].id, 4) || put_le(out, r->files[i].n, 4);
		for (size_t j = 0; j < r->files[i].n && !e; j++) {
			const struct search_line *l = &r->lines[r->files[i].first + j];
			uint64_t ls = (uint64_t)((const unsigned char *)l->text - d);
			e = put_le(out, l->line, 8) || put_le(out, ls, 8) || put_le(out, ls + l->len, 8) ||
			    put_le(out, (l->context ? FLAG_CONTEXT : 0) | (l->definition ? FLAG_DEFINITION : 0), 1) ||
			    put_le(out, l->n_ranges, 2);
			for (size_t k = 0; k < l->n_ranges && !e; k++)
				e = put_le(out, l->ranges[k].start, 4) || put_le(out, l->ranges[k].end, 4);
		}
	}
	return e ? err_set(ERR_TOOBIG, "search result: past the buffer's limit") : 0;
}

/* A cursor over an encoded result; the caller checked that the counts' bytes are there. */
struct rcur {
	const unsigned char *p, *e;
};

static uint64_t get_le(struct rcur *c, int bytes)
{
	uint64_t v = 0;
	if (c->e - c->p < bytes)
		BUG("search result: read past the checked length");
	for (int i = 0; i < bytes; i++)
		v |= (uint64_t)c->p[i] << (8 * i);
	c->p += bytes;
	return v;
}

/* Does ix hold a symbol on line `line` of file id whose name overlaps one of the ranges? */
static int defines(const struct index *ix, uint64_t id, uint64_t line, uint64_t ls,
		   const struct search_range *g, size_t nr)
{
	size_t lo = 0, hi = index_n_symbols(ix);
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct index_symbol *y = index_symbol(ix, mid);
		if (y->file < id || (y->file == id && y->line < line))
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < index_n_symbols(ix); lo++) {
		const struct index_symbol *y = index_symbol(ix, lo);
		if (y->file != id || y->line != line)
			break;
		for (size_t k = 0; k < nr && y->off >= ls; k++)
			if (g[k].start < y->off - ls + y->len && g[k].end > y->off - ls)
				return 1;
	}
	return 0;
}

/*
 * Check one file's lines as the search numbers them: each [ls, le) one line of the
 * searchable text d[0..n) (its first line after a UTF-8 BOM, none after the final newline),
 * its number the count of newlines before it plus one, counted on from the previous line.
 * Fills r->lines[*k...] and r->ranges[*g...].
 */
static int decode_file(struct search_result *r, struct rcur *c, uint64_t id, uint64_t nl,
		       uint64_t n_ranges, size_t *k, size_t *g, size_t *n_match)
{
	size_t tlen, n = index_search_len(r->ix, id), base, pos, has_match = 0;
	const unsigned char *d = index_read_text(r->ix, id, &tlen);
	uint64_t cur = 1, prev = 0;
	if (!d || !n || n > tlen)
		return err_set(ERR_PARSE, "search result: file %llu has no text to search", (unsigned long long)id);
	base = pos = text_base(d, n);
	for (uint64_t j = 0; j < nl; j++) {
		struct search_line *l = &r->lines[*k];
		uint64_t line = get_le(c, 8), ls = get_le(c, 8), le = get_le(c, 8), nr;
		unsigned flags = (unsigned)get_le(c, 1);
		nr = get_le(c, 2);
		if (flags > (FLAG_CONTEXT | FLAG_DEFINITION) || flags == (FLAG_CONTEXT | FLAG_DEFINITION))
			return err_set(ERR_PARSE, "search result: bad flags %u on line %llu of file %llu", flags,
				       (unsigned long long)line, (unsigned long long)id);
		if (j && line <= prev)
			return err_set(ERR_PARSE, "search result: the lines of file %llu are not ascending",
				       (unsigned long long)id);
		if (ls < base || ls >= n || le < ls || le > n)
			return err_set(ERR_PARSE, "search result: bytes [%llu, %llu) of file %llu are not inside its searchable %zu",
				       (unsigned long long)ls, (unsigned long long)le, (unsigned long long)id, n);
		if (ls < pos)
			return err_set(ERR_PARSE, "search result: line %llu of file %llu starts before the line above it ends",
				       (unsigned long long)line, (unsigned long long)id);
		if ((ls > base && d[ls - 1] != '\n') || memchr(d + ls, '\n', le - ls) || (le < n && d[le] != '\n'))
			return err_set(ERR_PARSE, "search result: bytes [%llu, %llu) of file %llu are not one line",
				       (unsigned long long)ls, (unsigned long long)le, (unsigned long long)id);
		cur += count_nl(d + pos, ls - pos);
		pos = le;
		if (line != cur)
			return err_set(ERR_PARSE, "search result: line %llu of file %llu is line %llu",
				       (unsigned long long)line, (unsigned long long)id, (unsigned long long)cur);
		if (nr > LINE_RANGES_MAX)
			return err_set(ERR_PARSE, "search result: %llu ranges on a line is past %d", (unsigned long long)nr,
				       LINE_RANGES_MAX);
		if (nr > n_ranges - *g)
			return err_set(ERR_PARSE, "search result: the lines hold more ranges than its count, %llu",
				       (unsigned long long)n_ranges);
		if ((flags & FLAG_CONTEXT) && nr)
			return err_set(ERR_PARSE, "search result: context line %llu of file %llu has match ranges",
				       (unsigned long long)line, (unsigned long long)id);
		l->ranges = nr ? &r->ranges[*g] : NULL;
		for (uint64_t q = 0; q < nr; q++) {
			struct search_range *x = &r->ranges[(*g)++];
			x->start = (uint32_t)get_le(c, 4);
			x->end = (uint32_t)get_le(c, 4);
			if (x->start > x->end || x->end > le - ls)
				return err_set(ERR_PARSE, "search result: range [%u, %u) is not inside line %llu of file %llu (%llu bytes)",
					       x->start, x->end, (unsigned long long)line, (unsigned long long)id,
					       (unsigned long long)(le - ls));
		}
		if ((flags & FLAG_DEFINITION) && !defines(r->ix, id, line, ls, l->ranges, (size_t)nr))
			return err_set(ERR_PARSE, "search result: line %llu of file %llu defines no symbol it matches",
				       (unsigned long long)line, (unsigned long long)id);
		l->line = line;
		l->text = (const char *)d + ls;
		l->len = (size_t)(le - ls);
		l->n_ranges = (size_t)nr;
		l->context = flags & FLAG_CONTEXT;
		l->definition = (flags & FLAG_DEFINITION) != 0;
		if (!l->context) {
			has_match = 1;
			(*n_match)++;
		}
		prev = line;
		(*k)++;
	}
	if (!has_match)
		return err_set(ERR_PARSE, "search result: file %llu has no matching line", (unsigned long long)id);
	return 0;
}

int search_result_decode(const struct index *ix, const void *p, size_t len, struct search_result **out)
{
	struct rcur c = {p, (const unsigned char *)p + len};
	struct search_result *r = NULL;
	uint64_t total, total_files, ms_bits, partial, reason, n_files, n_lines, n_ranges, need;
	size_t n_ix = index_n_files(ix), k = 0, g = 0, n_match = 0, left, descents = 0;
	unsigned char *seen = NULL;
	double ms;
	int e = 0;

	*out = NULL;
	if (len < 4 + 8 + 8 + 8 + 1 + 1 + 4 + 4 + 4 || memcmp(p, RESULT_MAGIC, 4))
		return err_set(ERR_PARSE, "search result: not a search result (bad magic or too short)");
	c.p += 4;
	total = get_le(&c, 8);
	total_files = get_le(&c, 8);
	ms_bits = get_le(&c, 8);
	partial = get_le(&c, 1);
	reason = get_le(&c, 1);
	n_files = get_le(&c, 4);
	n_lines = get_le(&c, 4);
	n_ranges = get_le(&c, 4);
	memcpy(&ms, &ms_bits, sizeof(ms));
	if (partial > 1)
		return err_set(ERR_PARSE, "search result: bad partial flag %llu", (unsigned long long)partial);
	if (reason >= N_REASONS)
		return err_set(ERR_PARSE, "search result: unknown partial reason %llu", (unsigned long long)reason);
	if (!isfinite(ms) || ms < 0)
		return err_set(ERR_PARSE, "search result: bad search time");
	if (n_lines > RESULT_LINES_MAX)
		return err_set(ERR_PARSE, "search result: %llu lines is past %llu", (unsigned long long)n_lines,
			       (unsigned long long)RESULT_LINES_MAX);
	if (n_files > n_lines)
		return err_set(ERR_PARSE, "search result: %llu files for %llu lines", (unsigned long long)n_files,
			       (unsigned long long)n_lines);
	if (n_ranges > n_lines * LINE_RANGES_MAX)
		return err_set(ERR_PARSE, "search result: %llu ranges for %llu lines", (unsigned long long)n_ranges,
			       (unsigned long long)n_lines);
	/* every count is bounded above: nothing is allocated for bytes that are not there */
	need = n_files * FILE_REC + n_lines * LINE_REC + n_ranges * RANGE_REC;
	left = (size_t)(c.e - c.p);
	if (need > left)
		return err_set(ERR_PARSE, "search result: cut short (%zu bytes for %llu)", left, (unsigned long long)need);
	if (need < left)
		return err_set(ERR_PARSE, "search result: %llu bytes after the result", (unsigned long long)(left - need));
	r = xcalloc(1, sizeof(*r));
	r->ix = ix;
	r->files = xcalloc(n_files ? n_files : 1, sizeof(*r->files));
	r->lines = xcalloc(n_lines ? n_lines : 1, sizeof(*r->lines));
	r->ranges = xcalloc(n_ranges ? n_ranges : 1, sizeof(*r->ranges));
	seen = xcalloc(n_ix / 8 + 1, 1);
	for (size_t i = 0; i < n_files && !e; i++) {
		uint64_t id = get_le(&c, 4), nl = get_le(&c, 4);
		if (id >= n_ix)
			e = err_set(ERR_PARSE, "search result: file %llu is past the index's %zu files", (unsigned long long)id, n_ix);
		else if (seen[id / 8] & (1u << (id % 8)))
			e = err_set(ERR_PARSE, "search result: file %llu is listed twice", (unsigned long long)id);
		else if (i && id < r->files[i - 1].id && ++descents > 2)
			e = err_set(ERR_PARSE, "search result: the files are not in the order of three ranks");
		else if (!nl)
			e = err_set(ERR_PARSE, "search result: file %llu has no lines", (unsigned long long)id);
		else if (nl > n_lines - k)
			e = err_set(ERR_PARSE, "search result: the files hold more lines than its count, %llu",
				    (unsigned long long)n_lines);
		if (e)
			break;
		seen[id / 8] |= (unsigned char)(1u << (id % 8));
		r->files[i] = (struct rfile){(uint32_t)id, k, (size_t)nl};
		e = decode_file(r, &c, id, nl, n_ranges, &k, &g, &n_match);
		r->n_files = i + 1;
	}
	if (!e && (k != n_lines || g != n_ranges))
		e = err_set(ERR_PARSE, "search result: %zu lines and %zu ranges, its counts say %llu and %llu", k, g,
			    (unsigned long long)n_lines, (unsigned long long)n_ranges);
	if (!e && c.p != c.e)
		BUG("search result: bytes left after the checked length");
	if (!e && (n_match > SEARCH_LIMIT_MAX || n_lines > (uint64_t)n_match * (2 * SEARCH_CONTEXT_MAX + 1)))
		e = err_set(ERR_PARSE, "search result: %llu lines with %zu matching lines", (unsigned long long)n_lines,
			    n_match);
	if (!e && (total < n_match || total_files < n_files))
		e = err_set(ERR_PARSE, "search result: totals of %llu lines in %llu files for %zu in %llu shown",
			    (unsigned long long)total, (unsigned long long)total_files, n_match,
			    (unsigned long long)n_files);
	free(seen);
	if (e) {
		search_result_free(r);
		return e;
	}
	r->total = total;
	r->total_files = total_files;
	r->partial = (int)partial;
	r->reason = reasons[reason];
	r->shown = (size_t)n_lines;
	r->ms = ms;
	*out = r;
	return 0;
}
