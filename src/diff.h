/*
 * diff: what changed between two releases: the tree diff of two manifests, and the line
 * diff of two blobs, as data the renderer turns into HTML.
 *
 * The tree diff walks both sorted manifests: a path in only one is added or deleted, in
 * both with another blob id or mode is modified, and (when asked) deleted and added paths
 * are paired as renames the way `git diff -M` pairs them: exact renames first (the same
 * blob id; among several, a source not used yet and with the same basename), then, when
 * a reader of the files' bytes is given, renames by similar content: git's similarity
 * (each file cut into chunks ending at a newline or after 64 bytes, a CR before LF dropped
 * in text; the bytes of the new file's chunks found in the old one, over the larger
 * size), first between the one deleted and the one added file of a basename that is
 * unique on both sides (at least halfway between the minimum score and 100 %), then the
 * best of up to 4 candidates per added file, pairs taken by descending score (the same
 * basename first among equal scores), each file once. No inexact pairing is tried when
 * added x deleted files pass DIFF_RENAME_LIMIT squared (git's diff.renameLimit).
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
	unsigned score;                  /* renames: similarity in percent (100: the same
					  * blob), as git's R<score>; else 0 */
};

/*
 * How to pair renames. min_score is the least similarity in percent (1..100; 100: exact
 * renames only, like `git diff -M100%`; DIFF_RENAME_SCORE is git's -M default). read
 * (NULL: exact renames only) gives the bytes of an entry of the old (side 0) or the new
 * (side 1) manifest, valid until its next call; an error it returns ends diff_trees.
 */
#define DIFF_RENAME_SCORE 50
#define DIFF_RENAME_LIMIT 1000
struct diff_renames {
	unsigned min_score;
	int (*read)(void *ctx, int side, const struct manifest_entry *e, const unsigned char **p, size_t *len);
	void *ctx;
};

/*
 * The changes from a to b (both sorted; borrowed: the changes point into them), in path
 * order (the new path for renames), with renames paired as rn says (NULL: none). *out is
 * malloc'd (free() it), NULL when *n is 0. Errors: those of rn->read.
 */
int diff_trees(const struct manifest *a, const struct manifest *b, const struct diff_renames *rn,
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
