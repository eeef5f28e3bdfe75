/*
 * render: THE one renderer. Every piece of sealed code the room shows (a file view, search
 * results in HTML or JSON, a diff) is produced here and nowhere else, in this order:
 *
 *   1. grant check   policy_may_read on the current state (never cached)
 *   2. quota         render_hooks.quota checks and charges the lines about to be shown
 *   3. log           one entry (view / search / diff), durable (logdb_append) before
 *                    anything is rendered or sent
 *   4. render        code text through render_hooks.transform (the per-session cipher
 *                    font), HTML- or JSON-escaped, with render_hooks.overlay (watermark)
 *                    and render_hooks.mark (forensic mark) inside the code container
 *
 * A failure at 1-3 renders nothing and returns the error (ERR_DENIED with the reason for
 * a grant or quota refusal). The hooks are how issue 7's modules plug in (cipherfont,
 * mark, quota): each is optional; without them code is shown as escaped text, no quota
 * beyond the grant is charged and no overlay is drawn.
 *
 * Files are shown in windows of at most RENDER_PAGE_LINES lines and RENDER_PAGE_BYTES
 * bytes (further windows are asked for as the reader scrolls, each charged when first
 * shown); a line longer than RENDER_LINE_MAX bytes is cut, with a link to its rest (shown
 * a part at a time, each charged: render_ctx.part). Identifiers that the release
 * defines (its tree-sitter tags, xref.h, else the index's symbols) become links to their
 * definitions by an opaque number (never the name, which is code), in code only: not in
 * comments and strings, and not in prose (a file of no language the room parses).
 */
#ifndef SEALROOM_RENDER_H
#define SEALROOM_RENDER_H

#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "buf.h"
#include "err.h"
#include "facility.h"
#include "index.h"
#include "logdb.h"
#include "manifest.h"
#include "policy.h"
#include "print.h"
#include "query.h"
#include "quota.h"

#define RENDER_PAGE_LINES 200
#define RENDER_PAGE_BYTES ((size_t)2 << 20)
#define RENDER_LINE_MAX 16384
/* A line cut at RENDER_LINE_MAX links its rest: part k (k >= 1) is its bytes
 * [k, k + 1) x RENDER_LINE_MAX, shown alone (render_ctx.part) and charged as a line of its
 * own, whose key in the quota ledger is line + k x RENDER_PART_KEY. */
#define RENDER_PART_KEY ((uint64_t)1 << 40)
/* Images (PNG, JPEG, GIF, WebP: image.h) are shown as a JPEG of at most RENDER_IMAGE_SIDE pixels a side (scaled
 * down by a whole factor), the session's marks drawn into it (render_hooks.image), and
 * charged as RENDER_IMAGE_LINE_PX pixel rows a line (a line of code on the screen is about
 * that tall), the JPEG's bytes spread over those lines against the byte budget. */
#define RENDER_IMAGE_SIDE 1280
#define RENDER_IMAGE_LINE_PX 16
#define RENDER_IMAGE_QUALITY 80

/* What is about to be shown, for the hooks and the log entry. */
struct render_view {
	const char *kind;                /* "view", "search", "diff" */
	const struct session_info *who;
	const struct grant_info *grant;  /* filled by the grant check */
	const char *product, *version;
	const char *path;                /* file shown, or NULL for a search */
	const char *base_version;        /* the older release of a diff, or NULL */
	uint64_t line_from, line_to;     /* 1-based, inclusive; 0, 0 when nothing */
	uint64_t lines;                  /* lines of code shown */
	const struct quota_line *shown;  /* each line shown, for the quota hook (which charges
					  * distinct lines: quota.h) */
	size_t n_shown;
	const struct grant_info *base_grant; /* the older release's grant, for a diff */
	int64_t now;
};

/*
 * The plug-in points of issue 7. ctx is passed back to each. Every function returns 0 or
 * a negative enum err (with err_set) and must be safe to call from many threads.
 */
struct render_hooks {
	void *ctx;
	/* Check and charge v->shown against the reviewer's quotas, atomically (the old side of
	 * a diff to v->base_grant). ERR_DENIED "quota '<name>' reached: resets at ..." refuses
	 * the view before it is logged. */
	int (*quota)(void *ctx, struct facility *f, const struct render_view *v);
	/* Append (p, len), a run of code bytes, as the text to show (e.g. Private Use Area
	 * code points of the session's substitution). The result is escaped after. */
	int (*transform)(void *ctx, const struct render_view *v, const char *p, size_t len,
			 struct buf *out);
	/* Non-zero when transform maps each code point on its own (the cipher font does):
	 * the renderer then transforms ASCII through a table made once per view. */
	int per_char;
	/* Append HTML for <head> (e.g. the session's font stylesheet link). */
	int (*head)(void *ctx, const struct render_view *v, struct buf *out);
	/* Append HTML drawn over the code container (the visible watermark). */
	int (*overlay)(void *ctx, const struct render_view *v, struct buf *out);
	/* Append HTML carrying the session's invisible forensic mark. */
	int (*mark)(void *ctx, const struct render_view *v, struct buf *out);
	/* Draw the session's marks (visible watermark, forensic mark) into the w x h RGB
	 * pixels (3 bytes each) of an image about to be shown, in place. */
	int (*image)(void *ctx, const struct render_view *v, unsigned char *rgb, int w, int h);
	/* Serve a per-session asset below /s/ (font, watermark image) for who; 0 with
	 * *status, *ctype and out filled, ERR_NOTFOUND when the name is not the hook's. */
	int (*asset)(void *ctx, const struct session_info *who, const char *name, int *status,
		     const char **ctype, struct buf *out);
};

/*
 * Layouts of file pages, kept between requests so that a file is parsed and its
 * identifiers looked up once: for each page (blob id, release, first line, with or without
 * definition links), the highlight class and definition link of each run of bytes, as
 * offsets, short class numbers and opaque symbol numbers; never code, and nothing of a
 * session (the per-session transform runs on every request). Thread-safe; at most
 * RENDER_CACHE_FILES pages and RENDER_CACHE_BYTES bytes, the least recently used dropped
 * first.
 */
#define RENDER_CACHE_FILES 512
#define RENDER_CACHE_BYTES ((size_t)256 << 20)
/* Parse and query time allowed per file; past it the file is shown plain. */
#define RENDER_HIGHLIGHT_BUDGET_US 2000000
struct render_cache;
struct highlightd;
struct imaged;
struct printd;
struct render_cache *render_cache_new(void);
void render_cache_free(struct render_cache *c);

/*
 * The defined symbol names of a release in a hash table (name -> the first definition of
 * that exact name in name order), so that linking each identifier of a page costs one
 * hash probe: the definitions of xr's tree-sitter tags when it has them (xref.h), else the
 * symbols of the index's heuristic. The numbers are those definition links carry.
 */
struct xref;
struct render_symtab;
struct render_symtab *render_symtab_new(const struct index *ix, const struct xref *xr);
void render_symtab_free(struct render_symtab *t);

/* Everything a render needs; the caller fills it per request. */
struct render_ctx {
	struct facility *f;
	struct logdb *log;
	const struct render_hooks *hooks;  /* may be NULL */
	const struct session_info *who;
	const char *product, *version;
	const struct index *ix;            /* the release's loaded index (text and symbols), or
					    * NULL while it loads: render_file_text only, no links */
	struct render_cache *cache;        /* highlighting spans, or NULL: none */
	struct highlightd *hl;             /* the release's highlight worker (highlightd.h), or
					    * NULL: pages plain; the room never parses code itself */
	struct highlightd *hl_base;        /* a diff's older release's, or NULL: plain */
	struct imaged *im;                 /* the release's image worker (imaged.h), or NULL:
					    * images are named, not shown */
	struct printd *pd;                 /* the release's print worker (printd.h), or NULL:
					    * prints fail */
	const struct render_symtab *syms;  /* the release's definitions, or NULL: look them up in
					    * ix's symbols */
	const struct xref *xr;             /* the release's tags (outline), or NULL */
	/* find in file (file views): matches of (find, find_len) marked in the page, literal,
	 * ASCII case folded with find_caseless; NULL: none */
	const char *find;
	size_t find_len;
	int find_caseless;
	int64_t now;                       /* 0: the clock */
	uint64_t window;                   /* lines of a file's window, 0: RENDER_PAGE_LINES
					    * (fewer when less is left of the reader's budget) */
	uint64_t part;                     /* file views: 0, or the part (>= 1) of line `from`
					    * past its cut to show alone (render_file_text) */
	const int64_t *lines_left;         /* what is left of the reader's budget of lines, NULL:
					    * not known; the outline's names beyond the window are
					    * asked only as far as it goes (the view is not refused
					    * for the outline) */
};

/* Append s (len bytes) HTML-escaped (&, <, >, ", '). */
int render_escape(struct buf *out, const char *s, size_t len) WUR;

/*
 * The page of the file e whose bytes are (text, len) (handed over by room.h, which owns the
 * release's text) from line `from` (1-based; a page of lines from there). Steps 1-4; the
 * HTML (a <div class="code"> of lines with ids L<n>) is appended to out. *shown_to gets the
 * last line shown, *n_lines the file's line count. Lines are <div class=l id="L<n>"> with
 * the number in <a class=n data-n=<n>>, the code in <span class=c>, one <span class=h?> per
 * highlight run (app.css) and definition links <a class=d> (only with ctx->ix: NULL while
 * the release's index loads). With ctx->xr, the file's outline follows the code: a
 * <div class="code outline" id="outline"> of its definitions in order (at most
 * RENDER_OUTLINE_MAX), each kind and name linked to its line; each name shown is charged as
 * its line (once: a line of the window is not asked twice), so that the window and the
 * outline together stay under the default largest view (QUOTA_DEFAULT_MAX_VIEW_LINES).
 * ERR_DENIED from the grant or quota, log errors as logdb_append returns them.
 */
#define RENDER_OUTLINE_MAX 150
/* Find in file: with ctx->find, its matches in the window are <mark class=f>, and a
 * <div class="findbar"> before the code counts them (up to RENDER_FIND_MAX) and links the
 * windows just before and after (with the find). Nothing beyond the window is searched: a
 * count or a line number past the lines shown would say what unshown (uncharged) lines
 * hold. The view's log entry names the find and its count. */
#define RENDER_FIND_MAX 100000
#define RENDER_FIND_LEN 256
/* What a file view was besides lines, for the page's meta line (kind may be NULL): a
 * binary file (*n_lines is 0), shown as an image or named with its size and kind. */
struct render_kind {
	int binary;
	const char *image;  /* image_kind_name of an image shown as one, else NULL */
	int width, height;  /* the image's pixels, before it was scaled down */
	uint64_t lines;     /* the lines the image is charged as */
	const char *lang;   /* a text file's language as highlighting and lang: name it ("c"), "" for none */
};
int render_file_text(const struct render_ctx *c, const struct manifest_entry *e,
		     const unsigned char *text, size_t len, uint64_t from, struct buf *out,
		     uint64_t *shown_to, uint64_t *n_lines, struct render_kind *kind) WUR;

/* "/r/<P@V>/blob/<path>?at=<line>#L<line>": a link to line `line` (0: none) of a file that
 * opens the window of lines around it. */
int render_blob_href(struct buf *out, const char *product, const char *version, const char *path,
		     size_t path_len, uint64_t line) WUR;

/* A definition to list: the file (its entry and text), the line, what it is. */
struct render_place {
	const struct manifest_entry *e;
	const unsigned char *text;
	size_t len;
	uint32_t line;
	const char *kind;   /* "function", "type", ... (xref_kind_name) */
	int body;           /* 0: a declaration only (a prototype) */
};
/*
 * The k-th name (0-based) of line `line` of e's text (len bytes) as the file view shows
 * its names (c->ix set: definition links and names with no definition, keywords, strings
 * and comments aside): *off and *name_len locate it in text. ERR_NOTFOUND when there is
 * none (prose files have none).
 */
int render_name_at(const struct render_ctx *c, const struct manifest_entry *e, const unsigned char *text,
		   size_t len, uint64_t line, uint64_t k, size_t *off, size_t *name_len) WUR;
/*
 * The definitions of one name (name, name_len: code, shown through the transform hook):
 * each place's path and line linked to it, what it is, and a preview of its line, as
 * HTML (<div class="code defs">). Steps 1-4 like a view; each line previewed is charged and
 * the whole is logged as {"type":"definitions","results":N,"lines":N}.
 */
int render_definitions_html(const struct render_ctx *c, const char *name, size_t name_len,
			    const struct render_place *pl, size_t n, struct buf *out) WUR;

/* Search results as HTML (file groups of lines with links into blob views). Logged as
 * {"type":"search","query":..,"results":N,"lines":shown}. */
int render_search_html(const struct render_ctx *c, const char *query,
		       const struct search_result *res, struct buf *out) WUR;
/* The same as docs/search.md's JSON (text through the transform hook), for the results
 * from offset on: "total" is exact only as far as the results reach (offset plus the
 * matches shown); past that it is that many and "total_at_least" is true. */
int render_search_json(const struct render_ctx *c, const char *query,
		       const struct search_result *res, uint64_t offset, struct buf *out) WUR;
/* The total a search may report (see render_search_json); *at_least 1 when there are more. */
uint64_t render_search_total(const struct search_result *res, uint64_t offset, int *at_least);

/*
 * A line diff of a file between two releases (old text, new text; either may be absent
 * for an added or removed file) with context lines around each change (diff.h: git's
 * hunks, removed lines before added ones, each header naming the enclosing function), as
 * HTML: hunk headers <div class="l hh" id="H<n>">, lines <div class="l r" id="O<old>">
 * (removed), "l a" (added) and "l u" (context) with id "L<new>", highlighted as the file
 * view is, new lines with definition links; links to show more context (?ctx=N) across
 * each gap of hidden lines. A binary file (diff_is_binary on either side) is named as
 * such and shows no line; a pair past diff.h's limits says "too large to compare".
 * context is capped at RENDER_DIFF_CONTEXT_MAX. Logged as {"type":"diff",...} naming
 * both blobs. The quota hook gets each line shown: removed lines and the headers' function
 * lines of the older release (charged to its grant), context and added lines of this one.
 */
#define RENDER_DIFF_CONTEXT_MAX 1000000
int render_diff(const struct render_ctx *c, const char *base_version, unsigned context,
		const struct manifest_entry *old_e, const unsigned char *old_p, size_t old_len,
		const struct manifest_entry *new_e, const unsigned char *new_p, size_t new_len,
		struct buf *out) WUR;

/*
 * Lines from..to (1-based, inclusive; to past the end is the last line) of the file e
 * whose text is (text, len), printed to a PDF appended to pdf (print.h): the grant is
 * checked on the current state first, then print_pdf charges, records and logs. ERR_DENIED
 * from the grant or the page quotas, ERR_USAGE "print: the file has no such lines".
 */
int render_print(const struct render_ctx *c, const struct manifest_entry *e, const unsigned char *text,
		 size_t len, uint64_t from, uint64_t to, struct buf *pdf, struct print_info *info) WUR;

/*
 * Text written by people about the code (a finding's title, text, comments), shown back
 * the way code is: through render_hooks.transform (the session's cipher font), HTML-escaped,
 * in a <div class="code prose"><span class="c"> so that the session's font applies. Nothing
 * is charged or logged: such text was checked not to hold code (notes.h) when it was kept.
 */
int render_prose(const struct render_ctx *c, const char *s, size_t len, struct buf *out) WUR;

/* Count lines of (p, len): newlines, plus one for a last line without one. */
uint64_t render_count_lines(const unsigned char *p, size_t len);

#endif
