/*
 * query_oracle.h: the planner's property, for test_query and fuzz_plan. The oracle matches
 * each line of a text alone with PCRE2 (as rg does: after a UTF-8 BOM, no line past a final
 * newline), independently of query.c; query_check then demands that index_search over the
 * text (an index of its own, text_index.h) counts the oracle's lines with every prefilter:
 * the plan may not reject a text with a matching line, nor a prefilter skip one.
 */
#ifndef SEALROOM_QUERY_ORACLE_H
#define SEALROOM_QUERY_ORACLE_H
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "query.h"
#include "text_index.h"

/* Matching lines of (t, n) for pattern p as the query language means it; -1: no regex. */
static int64_t oracle_lines(const char *p, const struct query_opts *o, const unsigned char *t,
			    size_t n)
{
	char re[QUERY_MAX * 8 + 64];
	size_t k = 0, plen = strlen(p), pos;
	int code;
	PCRE2_SIZE at;
	int64_t lines = 0;
	pcre2_code *c;
	pcre2_match_data *md;
	pcre2_match_context *mc;
	if (o->word)
		k += (size_t)snprintf(re + k, sizeof(re) - k, "(?<!\\w)(?:");
	for (size_t i = 0; i < plen; i++) {
		unsigned char ch = (unsigned char)p[i];
		if (o->literal && ch < 0x80 && !((ch | 0x20) >= 'a' && (ch | 0x20) <= 'z') && !(ch >= '0' && ch <= '9'))
			k += (size_t)snprintf(re + k, sizeof(re) - k, "\\x{%x}", ch);
		else
			re[k++] = (char)ch;
	}
	if (o->word)
		k += (size_t)snprintf(re + k, sizeof(re) - k, ")(?!\\w)");
	c = pcre2_compile((PCRE2_SPTR)re, k, PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF |
			  (o->caseless ? PCRE2_CASELESS : 0), &code, &at, NULL);
	if (!c)
		return -1;
	(void)pcre2_jit_compile(c, PCRE2_JIT_COMPLETE); /* the engine the search runs */
	md = pcre2_match_data_create(1, NULL);
	mc = pcre2_match_context_create(NULL);
	pcre2_set_match_limit(mc, 5000000);
	pos = n >= 3 && !memcmp(t, "\xef\xbb\xbf", 3) ? 3 : 0;
	while (pos < n) {
		const unsigned char *e = memchr(t + pos, '\n', n - pos);
		size_t le = e ? (size_t)(e - t) : n;
		int rc = pcre2_match(c, t + pos, le - pos, 0, 0, md, mc);
		if (rc >= 0)
			lines++;
		else if (rc != PCRE2_ERROR_NOMATCH)
			lines = INT64_MIN / 2; /* a match limit: no verdict */
		pos = le + 1;
	}
	pcre2_match_context_free(mc);
	pcre2_match_data_free(md);
	pcre2_code_free(c);
	return lines;
}

/*
 * The matching lines index_search counts over ix with prefilter k (search_opts.prefilter),
 * or -1 when it gives no verdict (out of time).
 */
static int64_t search_lines(const struct index *ix, const struct query *q, int k)
{
	struct search_opts so;
	struct search_result *r;
	int64_t n;
	search_opts_default(&so);
	so.limit = 1;
	so.budget_ms = 60000;
	so.prefilter = k;
	if (index_search(ix, q, &so, &r))
		return -1;
	n = search_result_partial(r) && !strcmp(search_result_partial_reason(r), "time budget")
		    ? -1 : (int64_t)search_result_total(r);
	search_result_free(r);
	return n;
}

/* Does p hold a word that query_parse takes for a filter (docs/search.md)? */
static int has_filter_word(const char *p)
{
	static const char *const f[] = {"file:", "f:", "-file:", "-f:", "lang:", "sym:"};
	for (const char *w = p; *w; w++) {
		if (w != p && w[-1] != ' ' && w[-1] != '\t')
			continue;
		for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
			if (!strncmp(w, f[i], strlen(f[i])))
				return 1;
	}
	return 0;
}

/*
 * Check the property for one pattern and text: 0 when it holds (or the pattern is not a
 * query), else 1 with a line on stderr naming the pattern. The text is searched as a file
 * of an index of its own (text_index.h) with every prefilter, each search counting the
 * lines of what it reads (the searchable part; a UTF-16 text's transcoding) as the oracle
 * does.
 */
static int query_check(const char *p, const struct query_opts *o, const unsigned char *t, size_t n)
{
	struct text_index ti;
	struct query *q;
	const unsigned char *rt;
	size_t rl;
	int64_t want;
	int bad = 0;
	if (has_filter_word(p) || query_parse(p, o, &q)) /* a filter: not this property's concern */
		return 0;
	text_index_one(&ti, t, n);
	rt = index_read_text(ti.ix, 0, &rl);
	if ((want = oracle_lines(p, o, rt, index_search_len(ti.ix, 0))) < 0) {
		text_index_free(&ti);
		query_free(q);
		return 0;
	}
	for (int k = -1; k <= (int)query_n_required(q) && !bad; k++) {
		int64_t got = search_lines(ti.ix, q, k);
		if (got >= 0 && got != want) {
			fprintf(stderr, "/%s/ (ci %d, F %d, w %d, prefilter %d): %lld lines, oracle %lld%s\n", p,
				o->caseless, o->literal, o->word, k, (long long)got, (long long)want,
				want && !got && k == 0 ? " (does the plan reject the text?)" : "");
			bad = 1;
		}
	}
	if (bad) {
		fprintf(stderr, "  text:");
		for (size_t i = 0; i < n; i++)
			fprintf(stderr, t[i] > 0x20 && t[i] < 0x7f ? "%c" : "\\x%02x", t[i]);
		fprintf(stderr, "\n");
	}
	text_index_free(&ti);
	query_free(q);
	return bad;
}

#endif
