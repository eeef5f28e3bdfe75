/*
 * query: parse a search query, plan it over the trigram index, verify candidates with
 * PCRE2 (JIT), rank and page the results. docs/search.md is the user's reference.
 *
 * A query is a regular expression in PCRE2 syntax (or a literal string with
 * query_opts.literal), optionally with filters separated by spaces:
 *   file:REGEX   only paths matching REGEX (every file: must match)
 *   -file:REGEX  no path matching REGEX
 *   lang:NAME    only files of a language, by extension (c, go, python, ...)
 *   sym:REGEX    only lines defining a symbol whose whole name matches REGEX
 * The rest, with its inner spacing kept, is the pattern. Matching follows `rg -uu`: line by
 * line (a match never spans a newline), Unicode (PCRE2_UTF|PCRE2_UCP, invalid UTF-8 in
 * files tolerated), ^ and $ at line ends, caseless with query_opts.caseless or (?i), whole
 * words with query_opts.word (as rg -w).
 *
 * Threads: a parsed struct query and a loaded struct index are immutable; index_search may
 * run from many threads at once on the same ones. Each search has a time budget (partial
 * results past it) and PCRE2 match limits, so no pattern runs or allocates without bound.
 * Results are ordered: files with a definition of the searched name first, then files whose
 * path matches the pattern, then the rest; by path within each rank.
 */
#ifndef SEALROOM_QUERY_H
#define SEALROOM_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "index.h"

#define QUERY_MAX 4096         /* bytes of a query */
#define SEARCH_LIMIT_MAX 10000 /* match lines in one page */
#define SEARCH_CONTEXT_MAX 50  /* context lines around a match */

struct query_opts {
	int caseless; /* like rg -i */
	int literal;  /* the pattern is a fixed string (rg -F) */
	int word;     /* whole words only (rg -w) */
};

struct query;

/*
 * Parse q (NUL-terminated) into a new query. ERR_PARSE with a one-line message naming the
 * problem ("query: bad regex at offset 3: missing closing parenthesis", "query: unknown
 * language 'cobol'"), ERR_TOOBIG past QUERY_MAX.
 */
int query_parse(const char *q, const struct query_opts *o, struct query **out) WUR;
void query_free(struct query *q);
/* Is msg PCRE2's own message for one of its compile errors (the end of query_parse's
 * "query: bad ... at offset N: ..." refusals)? For the room, which checks a search
 * worker's refusal without compiling anything. */
int query_compile_error_known(const char *msg);
/* A short description of the plan for people: "trigrams", "scan", "symbols". */
const char *query_plan_kind(const struct query *q);

/*
 * The number of prefilters a search may choose from (search_opts.prefilter): the required
 * strings (each occurs in every match), then the pattern's exact set when it has one (one
 * of them is every match).
 */
size_t query_n_required(const struct query *q);

struct search_opts {
	size_t limit;       /* match lines in the page (default 50, at most SEARCH_LIMIT_MAX) */
	size_t offset;      /* match lines skipped before the page */
	unsigned context;   /* lines of context around each match (at most SEARCH_CONTEXT_MAX) */
	unsigned budget_ms; /* time budget (default 1000); past it the result is partial */
	int count_all;      /* 1 (default): count every match for an exact total; 0: stop once
			       the page is full (the total is then a lower bound) */
	int prefilter;      /* 0 (default): the required string in the fewest files, as every
			       search of the room; k in 1..query_n_required: the k-th; -1: none.
			       Each finds the same lines, which the planner's tests check; a
			       search worker takes no other than 0 (searchd.h) */
};

void search_opts_default(struct search_opts *o);

struct search_range {
	uint32_t start, end; /* bytes of the line's text */
};

struct search_line {
	uint64_t line;       /* 1-based */
	const char *text;    /* the line without its newline; points into the index */
	size_t len;
	const struct search_range *ranges;
	size_t n_ranges;
	int context;         /* 1 for a context line, 0 for a match */
	int definition;      /* 1 when the line defines a symbol the query matched */
};

struct search_result;

/*
 * Run q over ix. The result borrows ix (line texts point into it): free it first. ERR_USAGE
 * for bad options (a limit, context or prefilter out of range). Running out of time or hitting a match limit is not an error: the
 * result is then partial (search_result_partial) with what was found.
 */
int index_search(const struct index *ix, const struct query *q, const struct search_opts *o,
		 struct search_result **out) WUR;
void search_result_free(struct search_result *r);

/* Matching lines in all files (exact unless partial or count_all was 0). */
uint64_t search_result_total(const struct search_result *r);
/* Files with at least one match (same caveats). */
uint64_t search_result_total_files(const struct search_result *r);
int search_result_partial(const struct search_result *r);
/* Why the result is partial ("time budget", "match limit", "page full"), or "". */
const char *search_result_partial_reason(const struct search_result *r);
/* Lines in the page, matches and context: what a reader is shown (for quotas). */
size_t search_result_lines_shown(const struct search_result *r);
/* Milliseconds the search took. */
double search_result_ms(const struct search_result *r);
/* Say it took ms instead: the room's own clock over a search worker's word (searchd.h). */
void search_result_set_ms(struct search_result *r, double ms);

/* The page, grouped by file in rank order. */
size_t search_result_n_files(const struct search_result *r);
const char *search_result_path(const struct search_result *r, size_t i, size_t *len);
/* The manifest index of the page's file i. */
size_t search_result_file(const struct search_result *r, size_t i);
size_t search_result_n_lines(const struct search_result *r, size_t i);
const struct search_line *search_result_line(const struct search_result *r, size_t i, size_t j);

/*
 * Append the page as JSON: {"total":N,"files":[{"path":..,"matches":[{"line":n,"text":..,
 * "ranges":[[s,e]]}]}],"partial":false}; context lines carry "context":true, definitions
 * "definition":true. Invalid UTF-8 is escaped so the output is always valid JSON.
 */
int search_result_json(const struct search_result *r, struct buf *out) WUR;

/*
 * The result r as a search worker sends it (docs/formats.md "Search results between the
 * worker and the room"): totals, partial flag and reason, the page's files and lines as
 * numbers (file number, line number, byte offsets of the line in the file's read text,
 * context/definition flags, match ranges), never a byte of text. Appended to out;
 * ERR_TOOBIG past out's limit.
 */
int search_result_encode(const struct search_result *r, struct buf *out) WUR;
/*
 * Rebuild a result over ix from (p, len), a worker's search_result_encode output, checking
 * every number against ix, since the worker is not trusted: ERR_PARSE naming what is wrong
 * ("search result: ...") for a file number past the index, listed twice, or without text
 * to search; a line whose bytes are not one line of the file's read text (index_read_text,
 * up to index_search_len; the first line after a UTF-8 BOM, none after the final newline);
 * a line number that is not that line's; lines of a file not strictly ascending; files in
 * more ascending runs of file numbers than the three ranks make; a file without a matching
 * line; a range outside its line or with start > end, or on a context line; a definition
 * where ix has no symbol on the line under a range; flags, partial flag, time or reason
 * not known; counts past the limits (SEARCH_LIMIT_MAX matching lines, 2 *
 * SEARCH_CONTEXT_MAX + 1 lines for each, a bounded number of ranges on a line) or past the
 * bytes there are; totals smaller than the page; trailing bytes. Nothing is allocated
 * before the counts are checked against the message's length, and each file's text is
 * read once, up to its last line listed. The result's line texts point into ix: free it
 * first. What stays the worker's word: which lines match the query, the totals above the
 * page, the order within a rank (the checks keep a lying worker from the room's memory and
 * from text that is not one line of the release, not from a wrong answer).
 */
int search_result_decode(const struct index *ix, const void *p, size_t len, struct search_result **out) WUR;

#endif
