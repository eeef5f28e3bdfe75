/* quota: one budget of distinct lines shown per grant, checked and recorded atomically, and
 * the scraping watch per reviewer and grant. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "db.h"
#include "hash.h"
#include "logdb.h"
#include "quota.h"

#define TOTAL (-1) /* the period of a running total */
#define GRANTS_MAX 4 /* grants one charge may name (a diff names two) */

static const struct limit_def {
	const char *name;
	size_t off;
	int64_t dflt;
} defs[] = {
	{"lines_per_day", offsetof(struct quota_limits, lines_per_day), QUOTA_DEFAULT_LINES_PER_DAY},
	{"lines_total", offsetof(struct quota_limits, lines_total), QUOTA_DEFAULT_LINES_TOTAL},
	{"prints", offsetof(struct quota_limits, pages_total), QUOTA_DEFAULT_PRINTS},
	{"bytes_per_day", offsetof(struct quota_limits, bytes_per_day), QUOTA_DEFAULT_BYTES_PER_DAY},
	{"bytes_total", offsetof(struct quota_limits, bytes_total), QUOTA_DEFAULT_BYTES_TOTAL},
	{"max_view_lines", offsetof(struct quota_limits, max_view_lines), QUOTA_DEFAULT_MAX_VIEW_LINES},
	{"search_lines_per_day", offsetof(struct quota_limits, search_lines_per_day),
	 QUOTA_DEFAULT_SEARCH_LINES_PER_DAY},
	{"searches_per_day", offsetof(struct quota_limits, searches_per_day), QUOTA_DEFAULT_SEARCHES_PER_DAY},
	{"query_min_lines", offsetof(struct quota_limits, query_min_lines), QUOTA_DEFAULT_QUERY_MIN_LINES},
	{"requests_per_minute", offsetof(struct quota_limits, requests_per_minute),
	 QUOTA_DEFAULT_REQUESTS_PER_MINUTE},
	{"pages_per_print", offsetof(struct quota_limits, pages_per_print), QUOTA_DEFAULT_PAGES_PER_PRINT},
	{"print_text", offsetof(struct quota_limits, print_text), QUOTA_DEFAULT_PRINT_TEXT},
	{"walk_alert", offsetof(struct quota_limits, walk_alert), QUOTA_WALK_ALERT},
	{"walk_suspend", offsetof(struct quota_limits, walk_suspend), QUOTA_WALK_SUSPEND},
	{"walk_window", offsetof(struct quota_limits, walk_window), QUOTA_WALK_WINDOW},
};
#define N_DEFS (sizeof(defs) / sizeof(defs[0]))
#define N_COLUMNS 3 /* the first defs are the grant's columns */

const char *const quota_names[N_DEFS + 1] = {
	"lines_per_day", "lines_total", "prints", "bytes_per_day", "bytes_total", "max_view_lines",
	"search_lines_per_day", "searches_per_day", "query_min_lines", "requests_per_minute",
	"pages_per_print", "print_text", "walk_alert", "walk_suspend", "walk_window", NULL,
};

static int64_t *field(struct quota_limits *l, size_t i)
{
	return (int64_t *)((char *)l + defs[i].off);
}

void quota_defaults(struct quota_limits *l)
{
	for (size_t i = 0; i < N_DEFS; i++)
		*field(l, i) = defs[i].dflt;
}

int quota_set(struct quota_limits *l, const char *name, int64_t value)
{
	for (size_t i = 0; i < N_DEFS; i++)
		if (!strcmp(defs[i].name, name)) {
			*field(l, i) = value;
			return 0;
		}
	return err_set(ERR_USAGE, "quota: '%s' is not a quota", name);
}

int quota_parse_setting(const char *s, const char **name, int64_t *value)
{
	const char *eq = strchr(s, '=');
	size_t nl = eq ? (size_t)(eq - s) : 0;
	char *end;
	unsigned long long v;
	*name = NULL;
	if (!eq)
		return err_set(ERR_USAGE, "'%.64s' is not NAME=VALUE", s);
	for (size_t i = 0; i < N_DEFS; i++)
		if (strlen(defs[i].name) == nl && !memcmp(defs[i].name, s, nl))
			*name = defs[i].name;
	if (!*name)
		return err_set(ERR_USAGE, "'%.*s' is not a quota (see sealroom grant --help)", (int)(nl > 64 ? 64 : nl), s);
	if (!strcmp(eq + 1, "unlimited")) {
		*value = QUOTA_UNLIMITED;
		return 0;
	}
	errno = 0;
	if (eq[1] < '0' || eq[1] > '9' || (v = strtoull(eq + 1, &end, 10), errno) || *end || v > INT64_MAX)
		return err_set(ERR_USAGE, "quota '%s': '%.64s' is not a count or 'unlimited'", *name, eq + 1);
	if (!strcmp(*name, "print_text") && v > 1)
		return err_set(ERR_USAGE, "quota 'print_text' is 0 or 1");
	*value = (int64_t)v;
	return 0;
}

char *quota_json(const struct quota_limits *l)
{
	json_t *o = json_object();
	char *s;
	for (size_t i = N_COLUMNS; i < N_DEFS; i++)
		json_object_set_new(o, defs[i].name, json_integer(*field((struct quota_limits *)l, i)));
	s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	if (!s)
		BUG("json_dumps");
	return s;
}

int quota_describe(const struct quota_limits *l, char *out, size_t cap)
{
	size_t n = 0;
	for (size_t i = 0; i < N_DEFS; i++) {
		int64_t v = *field((struct quota_limits *)l, i);
		int k = v < 0 ? snprintf(out + n, cap - n, "%s%s unlimited", i ? ", " : "", defs[i].name)
			      : snprintf(out + n, cap - n, "%s%s %lld", i ? ", " : "", defs[i].name, (long long)v);
		if (k < 0 || (size_t)k >= cap - n)
			return err_set(ERR_TOOBIG, "quota: the description does not fit");
		n += (size_t)k;
	}
	return 0;
}

int quota_limits_of(const struct grant_info *g, struct quota_limits *l)
{
	json_error_t e;
	json_t *o;
	quota_defaults(l);
	l->lines_per_day = g->lines_per_day;
	l->lines_total = g->lines_total;
	l->pages_total = g->prints;
	if (!g->quotas[0])
		return 0;
	if (!(o = json_loads(g->quotas, 0, &e)) || !json_is_object(o)) {
		json_decref(o);
		return err_set(ERR_PARSE, "quota: the grant's quotas are not a JSON object");
	}
	for (size_t i = N_COLUMNS; i < N_DEFS; i++) {
		json_t *v = json_object_get(o, defs[i].name);
		if (!v)
			continue;
		if (!json_is_integer(v) || json_integer_value(v) < -1) {
			json_decref(o);
			return err_set(ERR_PARSE, "quota: '%s' is not a count", defs[i].name);
		}
		*field(l, i) = json_integer_value(v);
	}
	json_decref(o);
	return 0;
}

static int usage_get(sqlite3 *db, int64_t grant, const char *kind, int64_t period, int64_t *v)
{
	sqlite3_stmt *st;
	int r;
	*v = 0;
	if ((r = db_prepare(db, "SELECT amount FROM quota_usage WHERE grant_id = ? AND kind = ? "
				"AND period = ?", &st)))
		return r;
	sqlite3_bind_int64(st, 1, grant);
	sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, period);
	r = sqlite3_step(st);
	if (r == SQLITE_ROW)
		*v = sqlite3_column_int64(st, 0);
	r = r == SQLITE_ROW || r == SQLITE_DONE ? 0 : db_fail(db, "quota usage");
	sqlite3_finalize(st);
	return r;
}

static int usage_add(sqlite3 *db, int64_t grant, const char *kind, int64_t period, int64_t n)
{
	sqlite3_stmt *st;
	int r;
	if ((r = db_prepare(db, "INSERT INTO quota_usage (grant_id, kind, period, amount) "
				"VALUES (?, ?, ?, ?) ON CONFLICT (grant_id, kind, period) "
				"DO UPDATE SET amount = amount + excluded.amount", &st)))
		return r;
	sqlite3_bind_int64(st, 1, grant);
	sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, period);
	sqlite3_bind_int64(st, 4, n);
	r = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(db, "quota usage");
	sqlite3_finalize(st);
	return r;
}


/*
 * Fill why and set the message: "quota 'q' reached: U of L unit used; resets at T". The
 * message never says how much was asked: the lines, bytes or pages of a refused search,
 * view or print are counted from code that is not shown, so a count in the refusal would
 * be an oracle for it, and a refusal is not charged.
 */
static int refuse(struct quota_refusal *why, const char *quota, int64_t limit, int64_t used,
		  const char *unit, int64_t resets_at)
{
	char when[40];
	snprintf(why->quota, sizeof(why->quota), "%s", quota);
	why->limit = limit;
	why->used = used;
	why->resets_at = resets_at;
	if (resets_at) {
		policy_format_time(resets_at, when, sizeof(when));
		snprintf(why->message, sizeof(why->message), "quota '%s' reached: %lld of %lld %s used; resets at %s",
			 quota, (long long)used, (long long)limit, unit, when);
	} else if (used < 0) {
		snprintf(why->message, sizeof(why->message), "quota '%s': at most %lld %s at once; ask for less", quota,
			 (long long)limit, unit);
	} else {
		snprintf(why->message, sizeof(why->message),
			 "quota '%s' reached: %lld of %lld %s used; it does not reset (the vendor and the "
			 "operator may grant more)",
			 quota, (long long)used, (long long)limit, unit);
	}
	return err_set(ERR_DENIED, "%s", why->message);
}

/* Check one limit: used + n <= limit (limit < 0: none). */
static int within(struct quota_refusal *why, const char *quota, int64_t limit, int64_t used,
		  int64_t n, const char *unit, int64_t resets_at)
{
	if (limit < 0 || (n <= limit && used <= limit - n))
		return 0;
	return refuse(why, quota, limit, used, unit, resets_at);
}


/* Is the reviewer held under the grant, and alerted already? reason (256 bytes) why. */
static int held_row(sqlite3 *db, const char *login, int64_t grant, int *held, int *alerted, char *reason)
{
	sqlite3_stmt *st;
	int r;
	*held = *alerted = 0;
	if ((r = db_prepare(db, "SELECT held_at IS NOT NULL AND resumed_at IS NULL, "
				"alerted_at IS NOT NULL AND resumed_at IS NULL, reason FROM session_holds "
				"WHERE login = ? AND grant_id = ? ORDER BY held_at IS NULL, held_at DESC",
			    &st)))
		return r;
	sqlite3_bind_text(st, 1, login, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, grant);
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		if (sqlite3_column_int(st, 0) && !*held) {
			*held = 1;
			if (reason)
				snprintf(reason, 256, "%s", (const char *)sqlite3_column_text(st, 2));
		}
		*alerted |= sqlite3_column_int(st, 1);
	}
	r = r == SQLITE_DONE ? 0 : db_fail(db, "session holds");
	sqlite3_finalize(st);
	return r;
}

static int exec_bound(sqlite3 *db, const char *sql, const char *login, int64_t grant, int64_t x)
{
	sqlite3_stmt *st;
	int r;
	if ((r = db_prepare(db, sql, &st)))
		return r;
	sqlite3_bind_text(st, 1, login, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, grant);
	sqlite3_bind_int64(st, 3, x);
	r = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(db, "quota watch");
	sqlite3_finalize(st);
	return r;
}

/*
 * Record the files of this charge in the reviewer's walk under the grant (every session
 * alike) and count distinct files within the window, and how many steps went forward.
 */
static int walk(sqlite3 *db, const struct session_info *who, int64_t grant, const struct quota_ask *a,
		int64_t now, int64_t window, int64_t *files, int64_t *forward)
{
	sqlite3_stmt *st = NULL;
	char prev[1024] = "";
	const char *last = NULL;
	int r, first = 1;
	*files = *forward = 0;
	if ((r = exec_bound(db, "DELETE FROM quota_walk WHERE login = ? AND grant_id = ? AND at < ?", who->login,
			    grant, now - window)))
		return r;
	if ((r = db_prepare(db, "INSERT INTO quota_walk (session_id, path, at, login, grant_id) "
				"VALUES (?, ?, ?, ?, ?)", &st)))
		return r;
	for (size_t i = 0; i < a->n_lines && !r; i++) {
		const char *p = a->lines[i].path;
		if (!p || (last && !strcmp(p, last)))
			continue;
		last = p;
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, who->session_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, p, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, now);
		sqlite3_bind_text(st, 4, who->login, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 5, grant);
		r = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(db, "quota walk");
	}
	sqlite3_finalize(st);
	if (r || (r = db_prepare(db, "SELECT path FROM quota_walk WHERE login = ? AND grant_id = ? "
				     "GROUP BY path ORDER BY min(rowid)", &st)))
		return r;
	sqlite3_bind_text(st, 1, who->login, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, grant);
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		const char *p = (const char *)sqlite3_column_text(st, 0);
		(*files)++;
		if (!first && strcmp(p, prev) > 0)
			(*forward)++;
		snprintf(prev, sizeof(prev), "%s", p);
		first = 0;
	}
	r = r == SQLITE_DONE ? 0 : db_fail(db, "quota walk");
	sqlite3_finalize(st);
	return r;
}

static int set_hold(sqlite3 *db, const struct session_info *who, int64_t grant, int hold, int64_t now,
		    const char *reason)
{
	sqlite3_stmt *st;
	int r;
	if ((r = db_prepare(db, hold ? "INSERT INTO session_holds (session_id, login, grant_id, held_at, reason) "
				       "VALUES (?, ?, ?, ?, ?) ON CONFLICT (session_id) DO UPDATE SET "
				       "held_at = excluded.held_at, reason = excluded.reason, "
				       "grant_id = excluded.grant_id, resumed_at = NULL"
				     : "INSERT INTO session_holds (session_id, login, grant_id, alerted_at, reason) "
				       "VALUES (?, ?, ?, ?, ?) ON CONFLICT (session_id) DO UPDATE SET "
				       "alerted_at = excluded.alerted_at, reason = excluded.reason, "
				       "grant_id = excluded.grant_id",
			    &st)))
		return r;
	sqlite3_bind_text(st, 1, who->session_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, who->login, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, grant);
	sqlite3_bind_int64(st, 4, now);
	sqlite3_bind_text(st, 5, reason, -1, SQLITE_STATIC);
	r = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(db, "session holds");
	sqlite3_finalize(st);
	return r;
}

struct hold_act {
	sqlite3 *db;
	const struct session_info *who;
	int64_t grant;
	int hold;
	int64_t now;
	const char *reason;
};

/* The act of a hold or alert, once its entry is durable. */
static int hold_set(void *ctx)
{
	struct hold_act *h = ctx;
	return set_hold(h->db, h->who, h->grant, h->hold, h->now, h->reason);
}


/* Forget the lines shown under grant before day. */
static int forget_before(sqlite3 *db, int64_t grant, int64_t day)
{
	sqlite3_stmt *st;
	int r;
	if ((r = db_prepare(db, "DELETE FROM quota_shown WHERE grant_id = ? AND day < ?", &st)))
		return r;
	sqlite3_bind_int64(st, 1, grant);
	sqlite3_bind_int64(st, 2, day);
	r = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(db, "quota ledger");
	sqlite3_finalize(st);
	return r;
}

int quota_line_shown(struct facility *f, const struct grant_info *g, const char *blob, uint64_t line, int64_t now)
{
	sqlite3 *db = facility_db(f);
	sqlite3_stmt *st;
	int r;
	if (line > INT64_MAX)
		return err_set(ERR_DENIED, "line %llu was not shown today", (unsigned long long)line);
	if ((r = db_prepare(db, "SELECT 1 FROM quota_shown WHERE grant_id = ? AND day = ? AND blob = ? AND line = ?",
			    &st)))
		return r;
	sqlite3_bind_int64(st, 1, g->id);
	sqlite3_bind_int64(st, 2, now / 86400);
	sqlite3_bind_text(st, 3, blob, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, (int64_t)line);
	r = sqlite3_step(st);
	r = r == SQLITE_ROW    ? 0
	    : r == SQLITE_DONE ? err_set(ERR_DENIED, "line %llu was not shown today: open it first",
					 (unsigned long long)line)
			       : db_fail(db, "quota ledger");
	sqlite3_finalize(st);
	return r;
}

/* What one charge asks of one grant. */
struct per_grant {
	const struct grant_info *g;
	struct quota_limits l;
	int64_t asked, lines, bytes; /* lines in the ask, new lines, their bytes */
};

/* Mark the ask's lines shown (today, per grant) and count the new ones per grant. */
static int ledger(sqlite3 *db, const struct quota_ask *a, struct per_grant *pg, size_t n_pg,
		  const struct grant_info *g0, int64_t day)
{
	sqlite3_stmt *st;
	int r;
	if ((r = db_prepare(db, "INSERT OR IGNORE INTO quota_shown (grant_id, day, blob, line) VALUES (?, ?, ?, ?)",
			    &st)))
		return r;
	for (size_t i = 0; i < a->n_lines && !r; i++) {
		const struct quota_line *q = &a->lines[i];
		const struct grant_info *g = q->g ? q->g : g0;
		struct per_grant *p = NULL;
		for (size_t k = 0; k < n_pg; k++)
			if (pg[k].g->id == g->id)
				p = &pg[k];
		if (!p || !q->blob || q->line > INT64_MAX)
			BUG("quota: a line without its grant or file");
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, g->id);
		sqlite3_bind_int64(st, 2, day);
		sqlite3_bind_text(st, 3, q->blob, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, (int64_t)q->line);
		if (sqlite3_step(st) != SQLITE_DONE) {
			r = db_fail(db, "quota ledger");
			break;
		}
		p->asked++;
		if (sqlite3_changes(db) == 1 || a->kind == QUOTA_PRINT) {
			p->lines++;
			p->bytes += q->bytes > INT32_MAX ? INT32_MAX : (int64_t)q->bytes;
		}
	}
	sqlite3_finalize(st);
	return r;
}

/* The checks and records of one grant's part of the charge. */
static int charge_grant(sqlite3 *db, const struct quota_ask *a, struct per_grant *p, int primary,
			int64_t now, struct quota_refusal *why)
{
	const struct quota_limits *l = &p->l;
	int64_t day = now / 86400, next_day = (day + 1) * 86400, used, total, lines = p->lines;
	int r;
	if (a->kind == QUOTA_VIEW && l->max_view_lines >= 0 && p->asked > l->max_view_lines)
		return refuse(why, "max_view_lines", l->max_view_lines, -1, "lines", 0);
	if (a->kind == QUOTA_SEARCH && primary) {
		/* no query is free: it costs at least query_min_lines, shown or not */
		if (l->query_min_lines > lines)
			lines = l->query_min_lines;
		if ((r = usage_get(db, p->g->id, "searches", day, &used)) ||
		    (r = within(why, "searches_per_day", l->searches_per_day, used, 1, "searches", next_day)) ||
		    (r = usage_add(db, p->g->id, "searches", day, 1)) ||
		    (r = usage_get(db, p->g->id, "search", day, &used)) ||
		    (r = within(why, "search_lines_per_day", l->search_lines_per_day, used, lines, "lines", next_day)) ||
		    (r = usage_add(db, p->g->id, "search", day, lines)))
			return r;
	}
	if (a->kind == QUOTA_PRINT && primary) {
		if (l->pages_per_print >= 0 && a->pages > l->pages_per_print)
			return refuse(why, "pages_per_print", l->pages_per_print, -1, "pages", 0);
		if ((r = usage_get(db, p->g->id, "print", TOTAL, &total)) ||
		    (r = within(why, "prints", l->pages_total, total, a->pages, "pages", 0)) ||
		    (r = usage_add(db, p->g->id, "print", TOTAL, a->pages)))
			return r;
	}
	if (!lines && !p->bytes)
		return 0;
	if ((r = usage_get(db, p->g->id, "lines", day, &used)) || (r = usage_get(db, p->g->id, "lines", TOTAL, &total)) ||
	    (r = within(why, "lines_per_day", l->lines_per_day, used, lines, "lines", next_day)) ||
	    (r = within(why, "lines_total", l->lines_total, total, lines, "lines", 0)) ||
	    (r = usage_get(db, p->g->id, "bytes", day, &used)) || (r = usage_get(db, p->g->id, "bytes", TOTAL, &total)) ||
	    (r = within(why, "bytes_per_day", l->bytes_per_day, used, p->bytes, "bytes", next_day)) ||
	    (r = within(why, "bytes_total", l->bytes_total, total, p->bytes, "bytes", 0)))
		return r;
	if ((r = usage_add(db, p->g->id, "lines", day, lines)) || (r = usage_add(db, p->g->id, "lines", TOTAL, lines)) ||
	    (r = usage_add(db, p->g->id, "bytes", day, p->bytes)) || (r = usage_add(db, p->g->id, "bytes", TOTAL, p->bytes)))
		return r;
	return 0;
}

/*
 * A query refused by the budget still costs what any query costs: its request, and
 * query_min_lines of the budget and one search when they fit (else the request alone). A
 * free refusal would answer, as often as asked, whether the query has more matches than
 * what is left. Best effort: the refusal stands whatever this records.
 */
static void query_refused(sqlite3 *db, const struct quota_ask *a, const struct per_grant *p0,
			  const struct grant_info *g, int64_t now)
{
	struct per_grant p = *p0;
	struct quota_refusal why;
	for (int with_min = 1; with_min >= 0; with_min--) {
		p.asked = p.lines = p.bytes = 0;
		if (db_begin(db))
			return;
		if (!usage_add(db, g->id, "request", now / 60, 1) &&
		    (!with_min || !charge_grant(db, a, &p, 1, now, &why)) && !db_commit(db))
			return;
		db_rollback(db);
	}
}

static int held_refusal(struct quota_refusal *why, const char *login, const char *reason)
{
	snprintf(why->quota, sizeof(why->quota), "held");
	snprintf(why->message, sizeof(why->message),
		 "'%.32s' is held for review under this grant (%.100s); an operator or the vendor must "
		 "resume it",
		 login, reason);
	return err_set(ERR_DENIED, "%s", why->message);
}

static const char *col(sqlite3_stmt *st, int i)
{
	const char *s = (const char *)sqlite3_column_text(st, i);
	return s ? s : "";
}

/* ---- refusals in the log: one entry per session, grant, quota and minute, and the rest counted ---- */

/* A pending row of quota_refusals. */
struct refusal_row {
	char session[AUTH_SESSION_ID_HEX + 1], login[AUTH_LOGIN_MAX + 1], quota[32];
	int64_t grant, minute, limit, used, n, logged;
};

static void row_bind_key(sqlite3_stmt *st, int at, const struct refusal_row *w)
{
	sqlite3_bind_text(st, at, w->session, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, at + 1, w->grant);
	sqlite3_bind_text(st, at + 2, w->quota, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, at + 3, w->minute);
}

/*
 * Log the refusals of w not logged yet as one `quota_refusals` entry: claim them first
 * (logged = n, only if no one else did), then log; a failed entry gives them back for the
 * next flush. 0 also when another process claimed them.
 */
static int refusal_log(struct facility *f, sqlite3 *db, const struct refusal_row *w, int64_t now)
{
	sqlite3_stmt *st;
	json_t *x;
	int r, claimed;
	if ((r = db_prepare(db, "UPDATE quota_refusals SET logged = n WHERE session_id = ? AND grant_id = ? AND "
				"quota = ? AND minute = ? AND logged = ? AND n = ?", &st)))
		return r;
	row_bind_key(st, 1, w);
	sqlite3_bind_int64(st, 5, w->logged);
	sqlite3_bind_int64(st, 6, w->n);
	r = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(db, "quota refusals");
	claimed = !r && sqlite3_changes(db) == 1;
	sqlite3_finalize(st);
	if (r || !claimed)
		return r;
	x = json_object();
	logdb_entry_str(x, "session", w->session);
	logdb_entry_int(x, "grant", w->grant);
	logdb_entry_str(x, "quota", w->quota);
	logdb_entry_int(x, "limit", w->limit);
	logdb_entry_int(x, "used", w->used);
	logdb_entry_int(x, "count", w->n - w->logged);
	logdb_entry_int(x, "minute", w->minute * 60);
	logdb_entry_int(x, "time", now);
	if ((r = auth_log(f, "quota_refusals", w->login, x))) {
		int keep = r;
		if (!db_prepare(db, "UPDATE quota_refusals SET logged = logged - ? WHERE session_id = ? AND "
				    "grant_id = ? AND quota = ? AND minute = ?", &st)) {
			sqlite3_bind_int64(st, 1, w->n - w->logged);
			row_bind_key(st, 2, w);
			(void)sqlite3_step(st);
			sqlite3_finalize(st);
		}
		r = err_set(keep, "%s", err_msg());
	}
	return r;
}

/*
 * Count one refusal of who under why->grant; the first of its session, grant, quota and
 * minute is logged at once, the rest by quota_flush_refusals. Best effort: the refusal
 * stands, logged or not, and err_msg() is the refusal's message again on return.
 */
static void refusal_note(struct facility *f, sqlite3 *db, const struct session_info *who,
			 const struct quota_refusal *why, int64_t now)
{
	struct refusal_row w;
	sqlite3_stmt *st;
	memset(&w, 0, sizeof(w));
	snprintf(w.session, sizeof(w.session), "%s", who->session_id);
	snprintf(w.login, sizeof(w.login), "%s", who->login);
	snprintf(w.quota, sizeof(w.quota), "%s", why->quota);
	w.grant = why->grant;
	w.minute = now / 60;
	w.limit = why->limit;
	w.used = why->used;
	if (db_prepare(db, "INSERT INTO quota_refusals (session_id, grant_id, quota, minute, login, lim, used, n) "
			   "VALUES (?, ?, ?, ?, ?, ?, ?, 1) ON CONFLICT (session_id, grant_id, quota, minute) "
			   "DO UPDATE SET n = n + 1, lim = excluded.lim, used = excluded.used RETURNING n, logged",
			   &st))
		goto out;
	row_bind_key(st, 1, &w);
	sqlite3_bind_text(st, 5, w.login, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, w.limit);
	sqlite3_bind_int64(st, 7, w.used);
	if (sqlite3_step(st) == SQLITE_ROW) {
		w.n = sqlite3_column_int64(st, 0);
		w.logged = sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	if (w.n == 1 && !w.logged)
		(void)refusal_log(f, db, &w, now);
out:
	err_set(ERR_DENIED, "%s", why->message);
}

int quota_flush_refusals(struct facility *f, int64_t before, int64_t now)
{
	struct refusal_row *v = NULL;
	size_t n = 0, cap = 0;
	sqlite3 *db;
	sqlite3_stmt *st;
	int r, rc;
	if ((r = facility_counters_db(f, &db)) ||
	    (r = db_prepare(db, "SELECT session_id, login, grant_id, quota, minute, lim, used, n, logged "
				"FROM quota_refusals WHERE n > logged AND minute < ? ORDER BY minute, rowid LIMIT ?",
			    &st)))
		return r;
	sqlite3_bind_int64(st, 1, before);
	sqlite3_bind_int64(st, 2, QUOTA_FLUSH_MAX);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct refusal_row *w;
		if (n == cap)
			v = xrealloc(v, (cap = cap ? 2 * cap : 16) * sizeof(*v));
		w = &v[n++];
		snprintf(w->session, sizeof(w->session), "%s", col(st, 0));
		snprintf(w->login, sizeof(w->login), "%s", col(st, 1));
		w->grant = sqlite3_column_int64(st, 2);
		snprintf(w->quota, sizeof(w->quota), "%s", col(st, 3));
		w->minute = sqlite3_column_int64(st, 4);
		w->limit = sqlite3_column_int64(st, 5);
		w->used = sqlite3_column_int64(st, 6);
		w->n = sqlite3_column_int64(st, 7);
		w->logged = sqlite3_column_int64(st, 8);
	}
	r = rc == SQLITE_DONE ? 0 : db_fail(db, "quota refusals");
	sqlite3_finalize(st);
	for (size_t i = 0; i < n && !r; i++)
		r = refusal_log(f, db, &v[i], now);
	free(v);
	/* what is logged of minutes that are over is kept no longer */
	if (!r && !(r = db_prepare(db, "DELETE FROM quota_refusals WHERE n = logged AND minute < ?", &st))) {
		sqlite3_bind_int64(st, 1, before < now / 60 ? before : now / 60);
		r = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(db, "quota refusals");
		sqlite3_finalize(st);
	}
	return r;
}

int quota_charge(struct facility *f, const struct session_info *who, const struct grant_info *g,
		 const struct quota_ask *a, int64_t now, struct quota_refusal *why)
{
	struct per_grant pg[GRANTS_MAX];
	size_t n_pg = 0;
	sqlite3 *db = NULL;
	int64_t day = now / 86400, used, files = 0, fwd = 0;
	int r, held, alerted, alert = 0, hold = 0, budget = 0;
	char reason[256] = "";

	memset(why, 0, sizeof(*why));
	why->grant = g->id;
	if (a->kind == QUOTA_PRINT && a->pages <= 0)
		return err_set(ERR_USAGE, "quota: nothing to charge");
	/* the grants the ask names, the charge's own first */
	memset(pg, 0, sizeof(pg));
	pg[n_pg++].g = g;
	for (size_t i = 0; i < a->n_lines; i++) {
		const struct grant_info *x = a->lines[i].g ? a->lines[i].g : g;
		size_t k = 0;
		while (k < n_pg && pg[k].g->id != x->id)
			k++;
		if (k == n_pg) {
			if (n_pg == GRANTS_MAX)
				return err_set(ERR_USAGE, "quota: one charge names too many grants");
			pg[n_pg++].g = x;
		}
	}
	for (size_t k = 0; k < n_pg; k++)
		if ((r = quota_limits_of(pg[k].g, &pg[k].l)))
			return r;
	/* the facility's counters connection (facility.h): synchronous=NORMAL, since usage can
	 * be recounted from the log entries of what was shown (logdb commits those with FULL) */
	if ((r = facility_counters_db(f, &db)))
		return r;
	if ((r = db_begin(db)))
		goto out;
	for (size_t k = 0; k < n_pg; k++) {
		if ((r = held_row(db, who->login, pg[k].g->id, &held, k ? &(int){0} : &alerted, reason)))
			goto fail;
		if (held) {
			r = held_refusal(why, who->login, reason);
			why->grant = pg[k].g->id;
			goto fail;
		}
	}
	/* every charge is also one request */
	if ((r = usage_get(db, g->id, "request", now / 60, &used)) ||
	    (r = within(why, "requests_per_minute", pg[0].l.requests_per_minute, used, 1, "requests",
			(now / 60 + 1) * 60)) ||
	    (r = usage_add(db, g->id, "request", now / 60, 1)))
		goto fail;
	if (a->kind != QUOTA_REQUEST) {
		for (size_t k = 0; k < n_pg && !r; k++) /* yesterday's lines are new again */
			r = forget_before(db, pg[k].g->id, day);
		if (r || (r = ledger(db, a, pg, n_pg, g, day)))
			goto fail;
		for (size_t k = 0; k < n_pg; k++)
			if ((r = charge_grant(db, a, &pg[k], k == 0, now, why))) {
				budget = r == ERR_DENIED;
				why->grant = pg[k].g->id;
				goto fail;
			}
	}
	if (a->n_lines) {
		const struct quota_limits *l = &pg[0].l;
		if ((r = walk(db, who, g->id, a, now, l->walk_window, &files, &fwd)))
			goto fail;
		if (l->walk_suspend > 0 && files >= l->walk_suspend)
			hold = 1;
		else if (l->walk_alert > 0 && files >= l->walk_alert && !alerted)
			alert = 1;
		if (hold || alert) {
			snprintf(reason, sizeof(reason),
				 "%lld distinct files shown within %lld seconds, %lld of %lld steps forward",
				 (long long)files, (long long)l->walk_window, (long long)fwd,
				 (long long)(files > 0 ? files - 1 : 0));
			if (hold) { /* nothing of this charge is shown: only the hold is kept, after its entry */
				db_rollback(db);
				if ((r = db_begin(db)))
					goto out;
			}
		}
	}
	if ((r = db_commit(db)))
		goto fail;
	if (alert || hold) {
		/* log, then hold: the hold takes effect once its entry is durable */
		struct hold_act h = {db, who, g->id, hold, now, reason};
		json_t *x = json_object();
		logdb_entry_str(x, "session", who->session_id);
		logdb_entry_str(x, "reason", "scraping");
		logdb_entry_int(x, "files", files);
		logdb_entry_int(x, "forward", fwd);
		logdb_entry_str(x, "detail", reason);
		logdb_entry_int(x, "grant", g->id);
		logdb_entry_int(x, "time", now);
		if ((r = auth_log_then(f, hold ? "session_hold" : "alert", who->login, x, hold_set, &h)))
			goto out;
	}
	if (hold)
		r = held_refusal(why, who->login, reason);
	goto out;
fail:
	db_rollback(db);
	if (budget && a->kind == QUOTA_SEARCH)
		query_refused(db, a, &pg[0], g, now);
	if (r == ERR_DENIED && why->quota[0])
		refusal_note(f, db, who, why, now);
out:
	return r;
}

int quota_resume(struct facility *f, const char *session_id, const char *actor, int64_t now)
{
	struct person_info p;
	sqlite3 *db = facility_db(f);
	sqlite3_stmt *st;
	char login[AUTH_LOGIN_MAX + 1] = "";
	int64_t grant = 0;
	int r, held = 0;
	json_t *x;
	if ((r = policy_person_get(f, actor, &p)))
		return r;
	if (strcmp(p.role, "operator") && strcmp(p.role, "vendor"))
		return err_set(ERR_DENIED, "'%s' is a %s: only an operator or the vendor may resume a session",
			       actor, p.role);
	if ((r = db_prepare(db, "SELECT login, grant_id, held_at IS NOT NULL AND resumed_at IS NULL "
				"FROM session_holds WHERE session_id = ?", &st)))
		return r;
	sqlite3_bind_text(st, 1, session_id, -1, SQLITE_STATIC);
	if ((r = sqlite3_step(st)) == SQLITE_ROW) {
		snprintf(login, sizeof(login), "%s", (const char *)sqlite3_column_text(st, 0));
		grant = sqlite3_column_int64(st, 1);
		held = sqlite3_column_int(st, 2);
	}
	r = r == SQLITE_ROW || r == SQLITE_DONE ? 0 : db_fail(db, "session holds");
	sqlite3_finalize(st);
	if (r)
		return r;
	if (!held)
		return err_set(ERR_NOTFOUND, "session '%s' is not held", session_id);
	x = json_object();
	logdb_entry_str(x, "session", session_id);
	logdb_entry_str(x, "reviewer", login);
	logdb_entry_int(x, "grant", grant);
	logdb_entry_int(x, "time", now);
	if ((r = auth_log(f, "session_resume", actor, x)))
		return r;
	/* every hold of the reviewer under the grant ends, and the walk starts afresh (or the
	 * next view would hold them again) */
	if ((r = db_prepare(db, "UPDATE session_holds SET resumed_by = ?, resumed_at = ?, alerted_at = NULL "
				"WHERE login = ? AND grant_id = ?", &st)))
		return r;
	sqlite3_bind_text(st, 1, actor, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now);
	sqlite3_bind_text(st, 3, login, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, grant);
	r = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(db, "session holds");
	sqlite3_finalize(st);
	if (!r)
		r = exec_bound(db, "DELETE FROM quota_walk WHERE login = ? AND grant_id = ? AND at <= ?", login, grant,
			       INT64_MAX);
	return r;
}

int quota_holds_each(struct facility *f, int (*fn)(void *ctx, const struct quota_hold *h), void *ctx)
{
	sqlite3 *db = facility_db(f);
	sqlite3_stmt *st;
	int rc = SQLITE_DONE, r;
	if ((r = db_prepare(db, "SELECT h.session_id, h.login, h.reason, r.product, r.version, h.grant_id, h.held_at "
				"FROM session_holds h LEFT JOIN grants g ON g.id = h.grant_id "
				"LEFT JOIN releases r ON r.id = g.release_id "
				"WHERE h.held_at IS NOT NULL AND h.resumed_at IS NULL ORDER BY h.held_at, h.session_id",
			    &st)))
		return r;
	while (!r && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct quota_hold h = {col(st, 0), col(st, 1), col(st, 2), col(st, 3), col(st, 4),
				       sqlite3_column_int64(st, 5), sqlite3_column_int64(st, 6)};
		r = fn(ctx, &h);
	}
	if (!r && rc != SQLITE_DONE)
		r = db_fail(db, "session holds");
	sqlite3_finalize(st);
	return r;
}

static int64_t left_of(int64_t limit_a, int64_t used_a, int64_t limit_b, int64_t used_b)
{
	int64_t a = limit_a < 0 ? -1 : limit_a > used_a ? limit_a - used_a : 0;
	int64_t b = limit_b < 0 ? -1 : limit_b > used_b ? limit_b - used_b : 0;
	if (a < 0)
		return b;
	if (b < 0)
		return a;
	return a < b ? a : b;
}

int quota_status_of(struct facility *f, const struct grant_info *g, int64_t now, struct quota_status *s)
{
	sqlite3 *db = facility_db(f);
	struct quota_limits l;
	int64_t day = now / 86400;
	int r;
	memset(s, 0, sizeof(*s));
	if ((r = quota_limits_of(g, &l)) || (r = usage_get(db, g->id, "lines", day, &s->lines_today)) ||
	    (r = usage_get(db, g->id, "lines", TOTAL, &s->lines_total)) ||
	    (r = usage_get(db, g->id, "bytes", day, &s->bytes_today)) ||
	    (r = usage_get(db, g->id, "bytes", TOTAL, &s->bytes_total)) ||
	    (r = usage_get(db, g->id, "search", day, &s->search_lines_today)) ||
	    (r = usage_get(db, g->id, "searches", day, &s->searches_today)) ||
	    (r = usage_get(db, g->id, "print", TOTAL, &s->pages_total)))
		return r;
	s->lines_left = left_of(l.lines_per_day, s->lines_today, l.lines_total, s->lines_total);
	s->bytes_left = left_of(l.bytes_per_day, s->bytes_today, l.bytes_total, s->bytes_total);
	s->search_lines_left = left_of(l.search_lines_per_day, s->search_lines_today, -1, 0);
	if (s->lines_left >= 0 && (s->search_lines_left < 0 || s->lines_left < s->search_lines_left))
		s->search_lines_left = s->lines_left;
	s->searches_left = left_of(l.searches_per_day, s->searches_today, -1, 0);
	s->pages_left = left_of(l.pages_total, s->pages_total, -1, 0);
	return 0;
}

/* The usage kind of a query's offset: "offset:" and the SHA-256 of its key, in hex. */
static void offset_kind(const char *key, size_t key_len, char out[8 + 2 * SHA256_LEN])
{
	unsigned char h[SHA256_LEN];
	sha256(key, key_len, h);
	memcpy(out, "offset:", 7);
	hex_encode(out + 7, h, SHA256_LEN);
}

int quota_offset_check(struct facility *f, const struct session_info *who, const struct grant_info *g,
		       const char *key, size_t key_len, uint64_t offset, int64_t now)
{
	struct quota_refusal why;
	char kind[8 + 2 * SHA256_LEN];
	int64_t reached;
	sqlite3 *db;
	int r;
	if (!offset)
		return 0;
	offset_kind(key, key_len, kind);
	if ((r = usage_get(facility_db(f), g->id, kind, now / 86400, &reached)))
		return r;
	if (offset <= (uint64_t)reached)
		return 0;
	/* a refusal like the budget's, logged the same way */
	memset(&why, 0, sizeof(why));
	snprintf(why.quota, sizeof(why.quota), "offset");
	why.grant = g->id;
	why.limit = reached;
	why.used = offset > INT64_MAX ? INT64_MAX : (int64_t)offset;
	snprintf(why.message, sizeof(why.message), "offset %llu skips past the results shown (at most %lld): page through them",
		 (unsigned long long)offset, (long long)reached);
	if (!facility_counters_db(f, &db))
		refusal_note(f, db, who, &why, now);
	return err_set(ERR_DENIED, "%s", why.message);
}

int quota_offset_reached(struct facility *f, const struct grant_info *g, const char *key, size_t key_len,
			 uint64_t upto, int64_t now)
{
	sqlite3 *db = facility_db(f);
	sqlite3_stmt *st;
	char kind[8 + 2 * SHA256_LEN];
	int r;
	offset_kind(key, key_len, kind);
	if ((r = db_prepare(db, "INSERT INTO quota_usage (grant_id, kind, period, amount) VALUES (?, ?, ?, ?) "
				"ON CONFLICT (grant_id, kind, period) DO UPDATE SET amount = max(amount, excluded.amount)",
			    &st)))
		return r;
	sqlite3_bind_int64(st, 1, g->id);
	sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, now / 86400);
	sqlite3_bind_int64(st, 4, upto > INT64_MAX ? INT64_MAX : (int64_t)upto);
	r = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(db, "quota usage");
	sqlite3_finalize(st);
	return r;
}

/*
 * Is b a small edit of a: not the same query, at least 3 bytes each, and at most
 * QUOTA_NARROW_EDITS bytes inserted, deleted or changed anywhere (Levenshtein distance, in
 * a band of the dynamic programme's table)? A changed class, anchor or character, an
 * appended or removed tail: each is a step of a search narrowing in on hidden text.
 */
static int near_query(const char *a, const char *b)
{
	enum { K = QUOTA_NARROW_EDITS, BIG = 0x7fff };
	uint16_t row[2][QUOTA_QUERY_MAX + 2];
	size_t la = strnlen(a, QUOTA_QUERY_MAX), lb = strnlen(b, QUOTA_QUERY_MAX);
	uint16_t *r0 = row[0], *r1 = row[1], *t;
	if (la < 3 || lb < 3 || (la == lb && !memcmp(a, b, la)) || la > lb + K || lb > la + K)
		return 0;
	for (size_t j = 0; j <= lb + 1; j++)
		r0[j] = j <= K ? (uint16_t)j : BIG;
	for (size_t i = 1; i <= la; i++) {
		size_t lo = i > K ? i - K : 0, hi = i + K < lb ? i + K : lb;
		uint16_t best = BIG;
		if (lo > 0)
			r1[lo - 1] = BIG;
		else
			r1[0] = (uint16_t)i;
		for (size_t j = lo > 1 ? lo : 1; j <= hi; j++) {
			uint16_t v = (uint16_t)(r0[j - 1] + (a[i - 1] != b[j - 1]));
			if (r0[j] + 1 < v)
				v = (uint16_t)(r0[j] + 1);
			if (r1[j - 1] + 1 < v)
				v = (uint16_t)(r1[j - 1] + 1);
			r1[j] = v > BIG ? BIG : v;
		}
		for (size_t j = lo; j <= hi; j++)
			if (r1[j] < best)
				best = r1[j];
		if (hi < lb)
			r1[hi + 1] = BIG;
		if (best > K)
			return 0;
		t = r0, r0 = r1, r1 = t;
	}
	return r0[lb] <= K;
}

int quota_query_watch(struct facility *f, const struct session_info *who, const struct grant_info *g,
		      const char *query, int64_t now, int *alerted)
{
	sqlite3 *db = facility_db(f);
	sqlite3_stmt *st;
	struct quota_limits l;
	int64_t run = 0, seen = 0;
	int r;
	if (alerted)
		*alerted = 0;
	if ((r = quota_limits_of(g, &l)))
		return r;
	/* a step from any of the last few queries: two probes run in turns are two runs */
	if ((r = db_prepare(db, "SELECT query, narrowing FROM quota_queries WHERE login = ? AND grant_id = ? "
				"AND at >= ? ORDER BY rowid DESC LIMIT ?", &st)))
		return r;
	sqlite3_bind_text(st, 1, who->login, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, g->id);
	sqlite3_bind_int64(st, 3, now - l.walk_window);
	sqlite3_bind_int(st, 4, QUOTA_NARROW_RECENT);
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		const char *prev = (const char *)sqlite3_column_text(st, 0);
		int64_t k = sqlite3_column_int64(st, 1);
		if (prev && near_query(prev, query) && k + 1 > run)
			run = k + 1; /* the longest run it continues */
		if (k > seen)
			seen = k;
	}
	r = r == SQLITE_ROW || r == SQLITE_DONE ? 0 : db_fail(db, "quota queries");
	sqlite3_finalize(st);
	if (r)
		return r;
	if ((r = exec_bound(db, "DELETE FROM quota_queries WHERE login = ? AND grant_id = ? AND at < ?", who->login,
			    g->id, now - l.walk_window)) ||
	    (r = db_prepare(db, "INSERT INTO quota_queries (login, grant_id, query, narrowing, at) VALUES (?, ?, ?, ?, ?)",
			    &st)))
		return r;
	sqlite3_bind_text(st, 1, who->login, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, g->id);
	sqlite3_bind_text(st, 3, query, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, run);
	sqlite3_bind_int64(st, 5, now);
	r = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(db, "quota queries");
	sqlite3_finalize(st);
	/* once: not again while a recent query already carries a run that alerted */
	if (r || run < QUOTA_NARROW_ALERT || seen >= QUOTA_NARROW_ALERT)
		return r;
	{
		json_t *x = json_object();
		char detail[160];
		snprintf(detail, sizeof(detail), "%lld queries in a row each narrowing the one before",
			 (long long)run);
		logdb_entry_str(x, "session", who->session_id);
		logdb_entry_str(x, "reason", "narrowing");
		logdb_entry_int(x, "queries", run);
		logdb_entry_str(x, "detail", detail);
		logdb_entry_int(x, "grant", g->id);
		logdb_entry_int(x, "time", now);
		if ((r = auth_log(f, "alert", who->login, x)))
			return r;
	}
	if (alerted)
		*alerted = 1;
	return 0;
}
