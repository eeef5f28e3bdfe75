/*
 * highlightd: the syntax highlighting of an opened release, in a process of its own.
 *
 * Highlighting runs tree-sitter's parsers (C generated from each grammar, and its runtime)
 * and their queries over the vendor's files: a large body of parsing code that the room
 * does not run next to the data keys, the log key and the database. Each opened release has
 * a highlight worker (worker.h), started on its first page, which holds nothing but the file
 * each request hands it: no index, no key, no database, no other release's text. It is
 * sandboxed as every worker is, with the front's own seccomp filter (no executable memory:
 * tree-sitter needs no JIT).
 *
 * The room sends the file's language, its bytes and the time budget; the worker answers with
 * spans only (docs/formats.md "The highlight worker"): byte offsets and a class number each,
 * never text. The room checks every span (inside the file, in order, not overlapping, a
 * class it knows, its ends between characters) before a page uses it, and builds the page from its own bytes: a lying
 * worker can only colour a page wrongly. A worker that crashes, answers what does not decode
 * or check, or does not answer within the budget and HIGHLIGHTD_GRACE_MS more is killed; the
 * page is shown plain and the next page starts a new worker (at most WORKER_RESTARTS a
 * minute).
 */
#ifndef SEALROOM_HIGHLIGHTD_H
#define SEALROOM_HIGHLIGHTD_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "highlight.h"

#define HIGHLIGHTD_ARG "--highlight-worker"
#define HIGHLIGHTD_CHANNELS 4
#define HIGHLIGHTD_GRACE_MS 1000 /* past a page's budget, before its worker counts as hung */
#define HIGHLIGHTD_BUDGET_MAX_US ((uint64_t)10000000)

struct highlightd;

/* A release's highlighting; its worker starts on the first file that needs one. */
struct highlightd *highlightd_new(void);
/*
 * highlight() of (src, len) as lang, in the worker: on success *spans (free() it; NULL when
 * *n is 0) holds *n checked spans. A file of HL_NONE or past HL_MAX_BYTES, or one whose parse
 * took longer than budget_us, comes back plain (0, no span), as from highlight(). ERR_IO when
 * the worker failed (it is killed; the caller shows the file plain), ERR_BUSY when every
 * channel stayed busy for the page's time.
 */
int highlightd_spans(struct highlightd *h, enum hl_lang lang, const char *src, size_t len, uint64_t budget_us,
		     struct hl_span **spans, size_t *n) WUR;
/* Kill the worker and start none again (the release was closed). Idempotent. */
void highlightd_kill(struct highlightd *h);
void highlightd_free(struct highlightd *h);

/*
 * The messages. A request: "SRh1", u8 language, u32 budget in microseconds, u32 length, the
 * bytes. An answer: "SRH1", u32 n, then n spans of u32 start, u32 end, u16 class
 * (little-endian). Decoding checks every field and that nothing is left over (ERR_PARSE for
 * a request, ERR_CORRUPT for an answer); an answer's spans must lie in the file (src,
 * src_len), sorted, not overlapping, not empty, each of a class 1 .. hl_n_classes() - 1,
 * and start and end between characters (never inside a valid UTF-8 sequence: the page
 * would show its halves as U+FFFD).
 */
int highlightd_request_encode(enum hl_lang lang, const char *src, size_t len, uint64_t budget_us,
			      struct buf *out) WUR;
int highlightd_request_decode(const void *msg, size_t len, enum hl_lang *lang, const char **src, size_t *n,
			      uint64_t *budget_us) WUR;
int highlightd_answer_encode(const struct hl_span *spans, size_t n, struct buf *out) WUR;
int highlightd_answer_decode(const void *msg, size_t len, const char *src, size_t src_len, struct hl_span **spans,
			     size_t *n) WUR;

/* The worker's side (from the module's constructor); never returns. */
void highlightd_exec(void) __attribute__((noreturn));

#endif
