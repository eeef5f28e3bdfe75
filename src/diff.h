/*
 * diff: what changed between two releases: the tree diff of two manifests, and the line
 * diff of two blobs, as data the renderer turns into HTML.
 *
 * The tree diff walks both sorted manifests: a path in only one is added or deleted, in
 * both with another blob id or mode is modified, and (when asked) a deleted and an added
 * path with the same blob id are paired as an exact rename, as git does.
 *
 * The line diff is Myers' O(ND) algorithm in linear space (the middle snake), after the
 * common head and tail are cut off; each run of changes is then slid down as far as equal
 * lines allow, like git without its indent heuristic, so the hunks hold the same lines as
 * `git diff --no-index --no-indent-heuristic`. Its work is capped: files of more than
 * DIFF_MAX_LINES lines, or pairs whose comparison passes the cost cap, give ERR_TOOBIG, and
 * the renderer shows "too large to compare" instead. Each hunk names the enclosing
 * function as git's default funcname does (the header line "@@ -a,b +c,d @@ int f(void)").
 * A struct diff is immutable once made;
 * it points into neither input (lines are given as offsets into the old or new text).
 */
#ifndef SEALROOM_DIFF_H
#define SEALROOM_DIFF_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "manifest.h"

/* ---- tree diff ---- */

enum diff_status {
	DIFF_ADDED = 'A',
	DIFF_DELETED = 'D',
	DIFF_MODIFIED = 'M', /* content or mode */
	DIFF_RENAMED = 'R',  /* same blob id, another path (only with renames) */
};

struct diff_change {
	int status;                      /* enum diff_status */
	const struct manifest_entry *old; /* NULL when added */
	const struct manifest_entry *new; /* NULL when deleted */
};

/*
 * The changes from a to b (both sorted; borrowed: the changes point into them), in path
 * order (the new path for renames). *out is malloc'd (free() it), NULL when *n is 0.
 */
int diff_trees(const struct manifest *a, const struct manifest *b, int renames,
	       struct diff_change **out, size_t *n) WUR;

/* ---- line diff ---- */

#define DIFF_MAX_LINES ((size_t)1 << 20)
#define DIFF_CONTEXT_DEFAULT 3

struct diff_line {
	char kind;          /* ' ' context, '-' old only, '+' new only */
	uint32_t old_no;    /* 1-based line in the old text (0 for '+') */
	uint32_t new_no;    /* 1-based line in the new text (0 for '-') */
	uint32_t off, len;  /* the line's bytes without its '\n', in old (' ', '-') or new ('+') */
};

struct diff_hunk {
	uint32_t old_start, old_count; /* as in "@@ -old_start,old_count +new_start,new_count @@" */
	uint32_t new_start, new_count;
	size_t first, n_lines;         /* its lines: diff_line(d, first .. first + n_lines - 1) */
	/* The line git names after the header (its default funcname): the last line of old
	 * before the hunk that starts with an ASCII letter, '_' or '$', cut to DIFF_FUNC_MAX
	 * bytes and stripped of trailing white space. func_line is 1-based, 0 for none; the
	 * bytes are (func_off, func_len) of old. */
	uint32_t func_line, func_off, func_len;
};
#define DIFF_FUNC_MAX 80

struct diff;

/*
 * Compare old (a, alen) with new (b, blen) line by line, with context lines of context
 * around each change (hunks closer than 2*context merge, as in git). ERR_TOOBIG past
 * DIFF_MAX_LINES lines on either side or past the cost cap (max_cost edit-graph steps; 0:
 * the default, about a second of work).
 */
int diff_lines(const char *a, size_t alen, const char *b, size_t blen, unsigned context,
	       uint64_t max_cost, struct diff **out) WUR;
void diff_free(struct diff *d);
size_t diff_n_hunks(const struct diff *d);
const struct diff_hunk *diff_hunk(const struct diff *d, size_t i);
/* Line i of the hunks, in order; NULL past the last. */
const struct diff_line *diff_line(const struct diff *d, size_t i);
/* Did old / new end without a newline? (git's "\ No newline at end of file") */
/* Is (p, len) binary as git decides it: a NUL byte in its first DIFF_BINARY_SNIFF bytes? */
#define DIFF_BINARY_SNIFF 8000
int diff_is_binary(const void *p, size_t len);
int diff_old_no_eol(const struct diff *d);
int diff_new_no_eol(const struct diff *d);

#endif
