/*
 * quota: a grant's quotas, enforced on the server like a protective order's limits, and the
 * scraping watch.
 *
 * Quotas of a grant (policy.h stores them; POLICY_UNLIMITED or absent means no limit):
 *   lines_per_day, lines_total      code lines shown in views (grant columns)
 *   prints                          printed pages in total (grant column)
 *   and in the grant's quotas JSON object:
 *   "max_view_lines"                the largest range one view may show
 *   "search_lines_per_day"          result lines of searches per UTC day
 *   "requests_per_minute"           requests of any kind
 *   "pages_per_print"               pages of one print
 *   "walk_alert", "walk_suspend"    distinct files viewed by one session within
 *   "walk_window"                   seconds (defaults QUOTA_WALK_*): at walk_alert an alert
 *                                   entry goes to the log, at walk_suspend the session is held
 *
 * Invariants: a charge is all or nothing, checked and recorded in one SQLite transaction
 * (BEGIN IMMEDIATE on a connection of its own), so concurrent requests of one grant can
 * never together pass a limit. A refusal names the quota, its limit, what is used and when
 * it resets. A held session is refused everything until an operator or the vendor resumes
 * it (quota_resume); alerts, holds and resumptions are log entries.
 */
#ifndef SEALROOM_QUOTA_H
#define SEALROOM_QUOTA_H

#include <stdint.h>

#include "auth.h"
#include "err.h"
#include "facility.h"
#include "policy.h"

#define QUOTA_WALK_ALERT 30
#define QUOTA_WALK_SUSPEND 60
#define QUOTA_WALK_WINDOW 600

enum quota_kind {
	QUOTA_REQUEST, /* one request (n is ignored) */
	QUOTA_VIEW,    /* n lines of code shown in one view of path */
	QUOTA_SEARCH,  /* n result lines of one search */
	QUOTA_PRINT,   /* n pages of one print */
};

struct quota_refusal {
	char quota[32];     /* "lines_per_day", ..., or "session_held" */
	int64_t limit, used; /* used before this charge */
	int64_t resets_at;  /* unix seconds, 0 when it never resets */
	char message[256];  /* for people: which quota, and when it resets */
};

/* The limits of a grant, -1 for none. */
struct quota_limits {
	int64_t lines_per_day, lines_total, max_view_lines, search_lines_per_day;
	int64_t requests_per_minute, pages_per_print, pages_total;
	int64_t walk_alert, walk_suspend, walk_window;
};

/* Read g's limits (its columns and its quotas JSON); ERR_PARSE for a malformed object. */
int quota_limits_of(const struct grant_info *g, struct quota_limits *l) WUR;

/*
 * Charge n of kind to who's grant g at now (path: the file viewed, for QUOTA_VIEW; may be
 * NULL otherwise); every charge also counts as one request (requests_per_minute). 0 when
 * within every quota (and recorded); ERR_DENIED with why filled
 * and err_msg() = why->message when a quota would be passed or the session is held, and
 * then nothing is recorded. Views also feed the scraping watch, which may log an alert or
 * hold the session (this view is then refused).
 */
int quota_charge(struct facility *f, const struct session_info *who, const struct grant_info *g,
		 enum quota_kind kind, int64_t n, const char *path, int64_t now,
		 struct quota_refusal *why) WUR;

/* Is session_id held? *held gets 1 or 0; reason (may be NULL, 256 bytes) why. */
int quota_held(struct facility *f, const char *session_id, int *held, char *reason) WUR;

/*
 * Resume a held session: actor must be an operator or a vendor (ERR_DENIED otherwise),
 * ERR_NOTFOUND when the session is not held. Logged as session_resume.
 */
int quota_resume(struct facility *f, const char *session_id, const char *actor, int64_t now) WUR;

/* How much of kind's quotas g has used at now: per day (or minute) and in total. */
int quota_used(struct facility *f, const struct grant_info *g, enum quota_kind kind, int64_t now,
	       int64_t *period, int64_t *total) WUR;

#endif
