/*
 * quota: one budget of sealed code shown per reviewer and grant, enforced on the server
 * like a protective order's limits, and the scraping watch.
 *
 * The unit is the distinct line shown: every line of code a route is about to show (a
 * file view's window, each search result and context line, each diff line, each printed
 * row) is a struct quota_line naming its grant, its file (git blob id) and its number. A
 * line already shown under that grant the same UTC day costs nothing again (reload, Back,
 * a jump within the file); a new one costs one line and its bytes against the grant's
 * lines_per_day, lines_total, bytes_per_day and bytes_total. Printed rows are charged
 * whether or not they were shown (a print is a copy that leaves the room). Sub-limits are
 * stricter, never a pool of their own: search lines count against search_lines_per_day
 * and the lines budget alike.
 *
 * Limits of a grant (policy.h stores them; the columns lines_per_day, lines_total and
 * prints, the rest in its quotas JSON object; QUOTA_UNLIMITED, -1, means none, and only
 * an explicit -1 does: a limit that is absent takes its finite default, QUOTA_DEFAULT_*):
 *   lines_per_day, lines_total     distinct lines shown, every route
 *   bytes_per_day, bytes_total     the bytes of those lines
 *   max_view_lines                 the largest window one view may show
 *   search_lines_per_day           the part of lines_per_day searches may use
 *   searches_per_day               queries (search, references, API)
 *   query_min_lines                what a query costs at least, whether it shows lines or
 *                                  not (counted as lines, so no query is free)
 *   requests_per_minute            requests of any kind (notes too)
 *   pages_per_print, prints        printed pages in one print, in total
 *   print_text                     1: prints may carry a text layer (default 0)
 *   walk_alert, walk_suspend       distinct files shown to one reviewer under one grant,
 *   walk_window                    across all their sessions, within walk_window seconds:
 *                                  at walk_alert an alert goes to the log, at walk_suspend
 *                                  the reviewer is held
 *
 * Invariants: a charge is all or nothing, checked and recorded in one SQLite transaction
 * (BEGIN IMMEDIATE on a connection of its own), for every grant it names (a diff charges
 * the old release's grant and the new one's together), so concurrent requests can never
 * together pass a limit. A refusal names the quota, its limit, what is used and when it
 * resets. A held reviewer is refused everything under that grant, in every session, until
 * an operator or the vendor resumes the hold (quota_resume); alerts, holds and
 * resumptions are log entries.
 */
#ifndef SEALROOM_QUOTA_H
#define SEALROOM_QUOTA_H

#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "err.h"
#include "facility.h"
#include "policy.h"

#define QUOTA_UNLIMITED (-1)

/* Defaults, from protective-order practice (a working day of reading, a bounded review). */
#define QUOTA_DEFAULT_LINES_PER_DAY 5000
#define QUOTA_DEFAULT_LINES_TOTAL 50000
#define QUOTA_DEFAULT_BYTES_PER_DAY 500000
#define QUOTA_DEFAULT_BYTES_TOTAL 5000000
#define QUOTA_DEFAULT_MAX_VIEW_LINES 400
#define QUOTA_DEFAULT_SEARCH_LINES_PER_DAY 2000
#define QUOTA_DEFAULT_SEARCHES_PER_DAY 500
#define QUOTA_DEFAULT_QUERY_MIN_LINES 2
#define QUOTA_DEFAULT_REQUESTS_PER_MINUTE 240
#define QUOTA_DEFAULT_PAGES_PER_PRINT 50
#define QUOTA_DEFAULT_PRINTS 500
#define QUOTA_DEFAULT_PRINT_TEXT 0
#define QUOTA_WALK_ALERT 30
#define QUOTA_WALK_SUSPEND 60
#define QUOTA_WALK_WINDOW 600
/* Narrowing queries (each a small edit of one before it: a changed class, anchor or
 * character) in one run within QUOTA_WALK_WINDOW that raise an alert */
#define QUOTA_NARROW_ALERT 20

enum quota_kind {
	QUOTA_REQUEST, /* one request, nothing shown */
	QUOTA_VIEW,    /* a window of a file */
	QUOTA_SEARCH,  /* the result and context lines of one query */
	QUOTA_DIFF,    /* the lines of a diff, old side and new side */
	QUOTA_PRINT,   /* the rows and pages of one print */
};

/* One line about to be shown. */
struct quota_line {
	const struct grant_info *g; /* the grant it is charged to; NULL: the charge's grant */
	const char *blob;           /* the file's git blob id (hex): the ledger's key */
	const char *path;           /* the file's path, for the scraping watch */
	uint64_t line;              /* 1-based */
	uint64_t bytes;             /* its bytes */
};

struct quota_ask {
	enum quota_kind kind;
	const struct quota_line *lines;
	size_t n_lines;
	int64_t pages;              /* QUOTA_PRINT */
};

struct quota_refusal {
	char quota[32];     /* "lines_per_day", ..., or "held" */
	int64_t grant;      /* the grant whose quota refused (a diff charges two) */
	int64_t limit, used; /* used before this charge */
	int64_t resets_at;  /* unix seconds, 0 when it never resets */
	char message[256];  /* for people: which quota, and when it resets */
};

/* The limits of a grant, QUOTA_UNLIMITED for none. */
struct quota_limits {
	int64_t lines_per_day, lines_total, bytes_per_day, bytes_total, max_view_lines;
	int64_t search_lines_per_day, searches_per_day, query_min_lines, requests_per_minute;
	int64_t pages_per_print, pages_total, print_text;
	int64_t walk_alert, walk_suspend, walk_window;
};

/* Read g's limits (its columns and its quotas JSON); ERR_PARSE for a malformed object. */
int quota_limits_of(const struct grant_info *g, struct quota_limits *l) WUR;

/*
 * The names of the limits a grant may set (grant --quota NAME=VALUE), NULL-terminated, in
 * the order they are shown. The first three are the grant's columns.
 */
extern const char *const quota_names[];

/*
 * Parse "NAME=VALUE" (VALUE a count or "unlimited") into *name (one of quota_names) and
 * *value; ERR_USAGE with a message naming what is wrong.
 */
int quota_parse_setting(const char *s, const char **name, int64_t *value) WUR;

/*
 * Every further limit of l (all but the three columns) as a canonical JSON object (keys
 * sorted, no spaces) into out (malloc'd, the caller frees): what a grant stores and both
 * sides countersign.
 */
char *quota_json(const struct quota_limits *l);

/* The limits filled with their defaults. */
void quota_defaults(struct quota_limits *l);

/* Set the limit called name (one of quota_names) in l. ERR_USAGE for another name. */
int quota_set(struct quota_limits *l, const char *name, int64_t value) WUR;

/* Append "lines_per_day 5000, lines_total 50000, ..." (every limit, "unlimited" written). */
int quota_describe(const struct quota_limits *l, char *out, size_t cap) WUR;

/*
 * Charge what a is about to show to who under grant g at now; every charge is also one
 * request (requests_per_minute). 0 when within every quota (and recorded); ERR_DENIED
 * with why filled and err_msg() = why->message when a quota would be passed or the
 * reviewer is held, and then nothing is recorded. Lines feed the scraping watch (distinct
 * files), which may log an alert or hold the reviewer (this charge is then refused).
 */
int quota_charge(struct facility *f, const struct session_info *who, const struct grant_info *g,
		 const struct quota_ask *a, int64_t now, struct quota_refusal *why) WUR;

/*
 * Every refusal of quota_charge (a quota passed, or the reviewer held) is a log event:
 * refusals are counted per session, grant, quota and UTC minute; the first of each is
 * logged at once and the rest by quota_flush_refusals, so a flood of refusals writes at
 * most two entries per session, grant, quota and minute (requests_per_minute refuses
 * everything past it). The entry, `quota_refusals` by the reviewer, names the session,
 * the grant, the quota, its limit, the use at the last refusal, the count and the minute;
 * never code. A refusal that cannot be logged is still a refusal.
 *
 * quota_flush_refusals logs the refusals counted and not yet logged of every minute before
 * `before` (a minute's number: unix seconds / 60; INT64_MAX for all) and forgets what is
 * logged of minutes over. The serve loop's timer calls it with the current minute, the
 * report commands with INT64_MAX.
 */
#define QUOTA_FLUSH_MAX 10000 /* rows one flush logs at most; the rest wait for the next */
int quota_flush_refusals(struct facility *f, int64_t before, int64_t now) WUR;

/*
 * Resume a hold by the id of the session that raised it: actor must be an operator or a
 * vendor (ERR_DENIED otherwise), ERR_NOTFOUND when it is not held. Logged as
 * session_resume; every session of that reviewer under that grant may read again.
 */
int quota_resume(struct facility *f, const char *session_id, const char *actor, int64_t now) WUR;
/* A held session, as the operator's page and `session holds` list it. Strings are
 * borrowed for the callback's duration; product and version are "" for a hold whose grant
 * is gone. */
struct quota_hold {
	const char *session_id, *login, *reason, *product, *version;
	int64_t grant_id, held_at;
};
/* Call fn for every session held now (not resumed), oldest hold first. */
int quota_holds_each(struct facility *f, int (*fn)(void *ctx, const struct quota_hold *h), void *ctx) WUR;

/*
 * 0 when line `line` of the file with git blob id blob (hex) was shown under g today (the
 * ledger of distinct lines), ERR_DENIED otherwise: what is asked by a place in a line (the
 * references of the name there) is answered only for a line its reader has seen.
 */
int quota_line_shown(struct facility *f, const struct grant_info *g, const char *blob, uint64_t line,
		     int64_t now) WUR;

/*
 * Offsets of a query's results: a query (key: its text and options, any bytes) may ask for
 * results from offset only as far as the results it was shown reach, so that an offset is
 * no count oracle. quota_offset_check: 0, or ERR_DENIED "offset N skips past the results
 * shown" when offset is further than what g was shown of key today (a refusal logged like
 * the budget's, quota "offset": limit the furthest result shown, used the offset asked, who
 * its session). quota_offset_reached
 * records that results up to upto were shown.
 */
int quota_offset_check(struct facility *f, const struct session_info *who, const struct grant_info *g,
		       const char *key, size_t key_len, uint64_t offset, int64_t now) WUR;
int quota_offset_reached(struct facility *f, const struct grant_info *g, const char *key, size_t key_len,
			 uint64_t upto, int64_t now) WUR;

/*
 * The watch on narrowing queries: record who's query under g at now. A query that is a small
 * edit of one of the QUOTA_NARROW_RECENT queries before it (not the same, at least 3 bytes,
 * at most QUOTA_NARROW_EDITS bytes inserted, deleted or changed anywhere: a changed class or
 * anchor, a character added) is a step of the longest run among them; a run of
 * QUOTA_NARROW_ALERT steps within the walk window makes an `alert` log entry (reason
 * "narrowing"), once (not again while one of the recent queries carries such a run).
 * *alerted (may be NULL) gets 1 when this query raised it. Queries of more than
 * QUOTA_QUERY_MAX bytes are compared by their first QUOTA_QUERY_MAX.
 */
#define QUOTA_NARROW_EDITS 4
#define QUOTA_NARROW_RECENT 8
#define QUOTA_QUERY_MAX 1024
int quota_query_watch(struct facility *f, const struct session_info *who, const struct grant_info *g,
		      const char *query, int64_t now, int *alerted) WUR;

/* What g has used and what is left, at now (left is -1 for an unlimited quota). */
struct quota_status {
	int64_t lines_today, lines_total, bytes_today, bytes_total;
	int64_t search_lines_today, searches_today, pages_total;
	int64_t lines_left, bytes_left, search_lines_left, searches_left, pages_left;
};
int quota_status_of(struct facility *f, const struct grant_info *g, int64_t now,
		    struct quota_status *s) WUR;

#endif
