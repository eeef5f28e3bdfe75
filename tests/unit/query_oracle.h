/*
 * query_oracle.h: the planner's property, for test_query and fuzz_plan. The oracle matches
 * each line of a text alone with PCRE2 (as rg does: after a UTF-8 BOM, no line past a final
 * newline), independently of query.c; query_check then demands that a text with a matching
 * line passes the query's plan and prefilter (query_accepts), and that the search's own
 * line count equals the oracle's with every prefilter choice.
 */
#ifndef SEALROOM_QUERY_ORACLE_H
#define SEALROOM_QUERY_ORACLE_H
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "query.h"

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
 * Check the property for one pattern and text: 0 when it holds (or the pattern is not a
 * query), else 1 with a line on stderr naming the pattern.
 */
static int query_check(const char *p, const struct query_opts *o, const unsigned char *t, size_t n)
{
	struct query *q;
	int64_t want = oracle_lines(p, o, t, n);
	int bad = 0;
	if (want < 0 || query_parse(p, o, &q))
		return 0;
	if (strcmp(query_pattern(q), p)) { /* a filter-like word: not this property's concern */
		query_free(q);
		return 0;
	}
	if (want > 0 && !query_accepts(q, t, n)) {
		fprintf(stderr, "plan rejects a matching text: /%s/ (ci %d, F %d, w %d)\n", p,
			o->caseless, o->literal, o->word);
		bad = 1;
	}
	for (int k = -1; k < (int)query_n_required(q) && !bad; k++) {
		uint64_t got = query_count_text(q, t, n, k);
		if (got != (uint64_t)want) {
			fprintf(stderr, "/%s/ (ci %d, F %d, w %d, prefilter %d): %llu lines, oracle %lld\n",
				p, o->caseless, o->literal, o->word, k, (unsigned long long)got,
				(long long)want);
			bad = 1;
		}
	}
	if (bad) {
		fprintf(stderr, "  text:");
		for (size_t i = 0; i < n; i++)
			fprintf(stderr, t[i] > 0x20 && t[i] < 0x7f ? "%c" : "\\x%02x", t[i]);
		fprintf(stderr, "\n");
	}
	query_free(q);
	return bad;
}

#endif
