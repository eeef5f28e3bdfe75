/*
 * print: a line range printed to PDF the way courts allow it.
 *
 * Each page carries the release, path and lines, the reviewer's watermark (name, lab,
 * session, time, print number) across it, and a Bates number in its footer: PREFIX-NNNNNN
 * where PREFIX is the product's name in capitals and the numbers continue across every
 * print of the release (table prints, db.c step 4). The pages are drawn by the release's
 * print worker (printd.h: print_draw runs there, never in the room), the text with
 * cairo_show_text in DejaVu Sans Mono; the PDF has a searchable text layer only where the grant allows it
 * (quota print_text), otherwise each glyph is an outline (cairo_text_path) and the PDF
 * holds no text to copy.
 *
 * Order, as for every showing of code: the printed lines are charged to the grant's budget
 * of lines and bytes and the pages to its page quotas (quota.h: lines_per_day,
 * lines_total, pages_per_print, prints), in one transaction, the print is recorded (Bates numbers allocated in the
 * same transaction), the log entry is made durable, and only then is the PDF handed over.
 * The PDF lives in the caller's buffer only (server memory, sent once); it is never
 * written to disk. The log and the prints table keep its SHA-256, so a printed page shown
 * later can be matched to its print; the vendor may mark a print disputed.
 */
#ifndef SEALROOM_PRINT_H
#define SEALROOM_PRINT_H

#include <stdint.h>

#include "auth.h"
#include "buf.h"
#include "err.h"
#include "facility.h"
#include "note.h"
#include "policy.h"

#define PRINT_LINES_PER_PAGE 64
#define PRINT_COLUMNS 96
#define PRINT_LINES_MAX 20000
#define PRINT_PDF_MAX (64 << 20)

#define PRINT_FONT_SANS "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
#define PRINT_FONT_MONO "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"

struct printd;

struct print_request {
	const char *product, *version, *path;
	int64_t line_from;        /* the first line's number (1-based) */
	const char *blob;         /* the file's git blob id (hex), for the budget of lines */
	const char *text;         /* the lines to print, plaintext, from the renderer */
	size_t len;
	int text_layer;           /* 1: the PDF carries a searchable text layer (the grant's
				   * print_text); 0: the glyphs are drawn as outlines only */
	const char *reviewer;     /* the name on the watermark (full name or login) */
	const char *lab;
	struct printd *pd;        /* the release's print worker (printd.h), which draws it */
};

/* One printed row: a source line or a continuation of a long one. */
struct print_sheet_row {
	int64_t line; /* 0 for a continuation */
	char *text;   /* valid UTF-8, no control byte, tabs expanded, at most PRINT_COLUMNS characters */
};

/* What a print's pages show: everything print_draw needs, and no more. */
struct print_sheet {
	const char *product, *version, *name; /* name: the file's, as printed */
	const char *reviewer, *lab, *session; /* the watermark's */
	const char *prefix;                   /* the Bates numbers' */
	int text_layer;
	int64_t pages, first, now;            /* pages of PRINT_LINES_PER_PAGE rows, the first Bates number */
	const struct print_sheet_row *rows;
	size_t n_rows;
};

/*
 * The print worker's side: load the two fonts from their files (before its sandbox; once),
 * then draw a sheet's pages as a PDF appended to pdf (cairo, the fonts embedded as
 * subsets; glyph outlines only without text_layer).
 */
int print_fonts_load(void) WUR;
int print_draw(const struct print_sheet *s, struct buf *pdf) WUR;

struct print_info {
	int64_t id;
	int64_t line_from, line_to;
	int64_t pages;
	int64_t bates_first, bates_last;
	char bates_prefix[32];
	char sha256[65];
};

/*
 * Print req for who under grant g at now: the PDF is appended to pdf, info filled. ERR_DENIED
 * from the page quotas (nothing printed, nothing counted), ERR_TOOBIG past PRINT_LINES_MAX
 * lines, ERR_USAGE for an empty range.
 */
int print_pdf(struct facility *f, const struct session_info *who, const struct grant_info *g,
	      const struct print_request *req, int64_t now, struct buf *pdf,
	      struct print_info *info) WUR;

/* The Bates label of number n: "FW-000042" into out (at least 48 bytes). */
void print_bates_label(const char *prefix, int64_t n, char *out, size_t cap);

/*
 * The vendor marks print id disputed, by a decision file applied by the operator
 * (policy_apply, a->decision: "dispute") or an in-process vendor (a->vendor_key): the
 * vendor's authority over the print's release (policy_vendor_authority). ERR_NOTFOUND for
 * no such print, ERR_EXISTS when it is already disputed. Logged as print_dispute (with
 * the decision note when there is one).
 */
int print_dispute(struct facility *f, int64_t id, const struct policy_actor *a, const char *reason,
		  int64_t now) WUR;

/* A recorded print, for listings. */
struct print_row {
	int64_t id;
	char login[AUTH_LOGIN_MAX + 1];
	char session_id[AUTH_SESSION_ID_HEX + 1];
	const char *product, *version, *path, *sha256, *dispute_reason;
	int64_t line_from, line_to, pages, bates_first, bates_last, created_at, disputed_at;
};

/* Call fn for every print of product@version, in order. */
int print_each(struct facility *f, const char *product, const char *version,
	       int (*fn)(void *ctx, const struct print_row *p), void *ctx) WUR;

#endif
