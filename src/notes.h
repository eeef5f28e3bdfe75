/*
 * notes: reviewers' notes, kept in the facility's database, private to the reviewer's
 * organisation, and never a way to carry code out.
 *
 * A note that holds a run of NOTES_RUN or more consecutive tokens of the release's code is
 * refused with an explanation. Code and notes are cut into tokens the same way
 * (identifiers, numbers, runs of punctuation; white space separates and is dropped);
 * NOTES_RUN - 1 tokens of code are allowed (a name, a short expression). Two ways check
 * a note, with the same answer:
 *
 * - shingles: every run of NOTES_RUN tokens of the release (a shingle) is kept as a 64-bit
 *   keyed hash in a struct shingles, built in memory on the first note (the server feeds
 *   it each file's text) and never written anywhere; a note is checked shingle by shingle.
 *   16 bytes per token of the release at most (a table at most half full), so the server
 *   builds it only for releases of up to NOTES_SHINGLES_TEXT_MAX bytes of text, and it
 *   refuses more than NOTES_SHINGLES_MAX shingles.
 * - the search index (notes_match_index), for releases of any size: the files that may hold
 *   one of the note's runs are found through the trigrams inside its tokens, and only those
 *   are cut into tokens and compared with the note, at most scan_max bytes of them per note
 *   (past that the note is refused, never let through unchecked). Memory: the note's size.
 *
 * Notes are stored as text in table notes (db.c step 4) and each one added is a log entry
 * (its id, release, place and length, never its text).
 */
#ifndef SEALROOM_NOTES_H
#define SEALROOM_NOTES_H

#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "buf.h"
#include "err.h"
#include "facility.h"

#define NOTES_RUN 12
#define NOTES_TEXT_MAX 65536
#define NOTES_SHINGLES_MAX ((size_t)1 << 26)
/* Releases with more text than this are checked through their index, not shingles. */
#define NOTES_SHINGLES_TEXT_MAX ((size_t)256 << 20)
/* Bytes of code notes_match_index reads for one note, at most (the server's budget). */
#define NOTES_SCAN_MAX ((size_t)4 << 30)

struct index;
struct shingles;

int shingles_new(struct shingles **out) WUR;
void shingles_free(struct shingles *s);
/* Add every run of NOTES_RUN tokens of (code, len). ERR_TOOBIG past NOTES_SHINGLES_MAX. */
int shingles_add(struct shingles *s, const char *code, size_t len) WUR;

/* Where a note repeats code: the bytes [from, to) of the note cover the run. */
struct notes_match {
	size_t from, to;
	size_t tokens; /* how many consecutive tokens of code, at least NOTES_RUN */
};

/* Does (text, len) hold NOTES_RUN consecutive tokens of code? 1 with *m filled, else 0. */
int shingles_match(const struct shingles *s, const char *text, size_t len, struct notes_match *m);

/*
 * Does (text, len) hold NOTES_RUN consecutive tokens of the text of ix's files? 1 with *m
 * filled (as shingles_match would fill it), else 0. ERR_TOOBIG "note refused: checking it
 * ... would read N MiB of files (limit M MiB) ..." when the files that may hold one of its
 * runs have more than scan_max bytes. ix must be loaded with its contents.
 */
int notes_match_index(const struct index *ix, const char *text, size_t len, size_t scan_max,
		      struct notes_match *m) WUR;

/*
 * The note's text as it is checked (notes_add): UTF-8 in Unicode NFKC (compatibility forms
 * such as fullwidth, mathematical, circled and superscript letters and digits, ligatures and
 * roman numerals become the characters they stand for; decomposed accents are composed), with
 * the default-ignorable code points (U+200B, U+FEFF, soft hyphen, variation selectors, tags,
 * ...) and every format character (category Cf: bidirectional marks, invisible operators,
 * U+180E, ...) removed, and every space, line and paragraph separator (Zs, Zl, Zp) made a
 * space. The tables are utf8proc's. Letters outside ASCII are kept as they are and, as in the
 * code, are part of words. (text, len) must be valid UTF-8; out gets the result; ERR_PARSE
 * when utf8proc refuses it.
 */
int notes_normalise(const char *text, size_t len, struct buf *out) WUR;

/* What notes_add checks a note against: the shingles sh when set, else the index ix. */
struct notes_code {
	const struct shingles *sh;
	const struct index *ix;
	size_t scan_max; /* for ix */
};

/* Cut (p, len) into tokens: fn gets each token's bytes [from, to). */
void notes_tokens(const char *p, size_t len, void (*fn)(void *ctx, size_t from, size_t to),
		  void *ctx);

/*
 * Check text (len bytes) that who wants to keep on product@version (what: "note",
 * "finding", ...) against code: 0 when it holds no run of NOTES_RUN tokens of it; else
 * logs "<what>_refused" (release, reason, tokens; never the text) and returns ERR_DENIED
 * "<what> refused: it repeats the sealed code ..." (neither where nor how much), logged as
 * <what>_refused with the session and a keyed hash of the text. The text is normalised
 * (notes_normalise) before it is compared.
 * ERR_TOOBIG when the index path's budget runs out.
 */
int notes_check(struct facility *f, const struct notes_code *code, const struct session_info *who,
		const char *what, const char *product, const char *version, const char *text,
		size_t len, int64_t now) WUR;

/* One stored note. */
struct note_info {
	int64_t id;
	char author[AUTH_LOGIN_MAX + 1];
	const char *product, *version, *path; /* borrowed for the callback's duration */
	int64_t line;
	const char *text;
	int64_t created_at;
};

/*
 * Keep who's note on product@version (path and line may be "" and 0) at now. The text is
 * normalised (notes_normalise) before it is checked. ERR_DENIED "note refused: it repeats
 * the sealed code ..." (saying neither where nor how much, which would be an oracle) when
 * code holds such a run: nothing is stored, and the refusal is logged with the session and
 * a keyed hash of the text; ERR_TOOBIG past NOTES_TEXT_MAX, or when the
 * index path's budget runs out; ERR_USAGE for an empty note. code NULL checks nothing
 * (for tests). *id (may be NULL) gets the note's number. The "note" log entry (release,
 * path, line, bytes, session: never the text) is durable before the note is stored
 * (auth_log_then); a refusal is logged as "note_refused".
 */
int notes_add(struct facility *f, const struct notes_code *code, const struct session_info *who,
	      const char *product, const char *version, const char *path, int64_t line,
	      const char *text, int64_t now, int64_t *id) WUR;

/*
 * Seal at rest every note kept before notes were sealed (a facility from an earlier
 * version): in one transaction, *sealed of them. The room does it as it starts.
 */
int notes_seal_at_rest(struct facility *f, size_t *sealed) WUR;
/* Call fn for each note of who's organisation on product@version, oldest first: each text
 * opened from its sealed value (ERR_CORRUPT naming the note when it does not open: altered,
 * or moved to another row), borrowed and wiped after fn. */
int notes_each(struct facility *f, const struct session_info *who, const char *product,
	       const char *version, int (*fn)(void *ctx, const struct note_info *n), void *ctx) WUR;

#endif
