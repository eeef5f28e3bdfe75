/*
 * hl_query: highlight's compiled queries, shared with xref (not for other modules).
 *
 * A struct hl_query is a tree-sitter query with its text predicates (#match?, #eq?,
 * #any-of? and their negations) compiled; it is built once per language and kind on first
 * use and then shared read-only by every thread. Directives (#set!, #strip!, ...) are
 * ignored. The cursor and match data are the calling thread's own.
 */
#ifndef SEALROOM_HL_QUERY_H
#define SEALROOM_HL_QUERY_H

#include <stdint.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <tree_sitter/api.h>

#include "highlight.h"

struct hl_query;

/* The highlights (tags = 0) or tags (tags = 1) query of lang; ERR_NOTFOUND when the
 * grammar has none, ERR_CORRUPT when it does not compile. */
int hl_query_get(enum hl_lang lang, int tags, const struct hl_query **out) WUR;
const TSQuery *hl_query_ts(const struct hl_query *q);
/* Does match m over (src, len) pass its pattern's predicates? */
int hl_query_accepts(const struct hl_query *q, const TSQueryMatch *m, const char *src, size_t len,
		     pcre2_match_data *md);
/* The calling thread's query cursor and PCRE2 match data. */
TSQueryCursor *hl_ts_cursor(void);
pcre2_match_data *hl_match_data(void);
/* A monotonic clock in microseconds. */
uint64_t hl_now_us(void);

#endif
