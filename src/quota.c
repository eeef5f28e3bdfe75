/* quota: per-grant limits checked and recorded atomically, and the scraping watch. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "db.h"
#include "quota.h"

#define TOTAL (-1) /* the period of a running total */

int quota_limits_of(const struct grant_info *g, struct quota_limits *l)
{
	static const struct {
		const char *name;
		size_t off;
	} keys[] = {
		{"max_view_lines", offsetof(struct quota_limits, max_view_lines)},
		{"search_lines_per_day", offsetof(struct quota_limits, search_lines_per_day)},
		{"requests_per_minute", offsetof(struct quota_limits, requests_per_minute)},
		{"pages_per_print", offsetof(struct quota_limits, pages_per_print)},
		{"walk_alert", offsetof(struct quota_limits, walk_alert)},
		{"walk_suspend", offsetof(struct quota_limits, walk_suspend)},
		{"walk_window", offsetof(struct quota_limits, walk_window)},
	};
	json_error_t e;
	json_t *o;
	l->lines_per_day = g->lines_per_day;
	l->lines_total = g->lines_total;
	l->pages_total = g->prints;
	l->max_view_lines = l->search_lines_per_day = l->requests_per_minute = -1;
	l->pages_per_print = -1;
	l->walk_alert = QUOTA_WALK_ALERT;
	l->walk_suspend = QUOTA_WALK_SUSPEND;
	l->walk_window = QUOTA_WALK_WINDOW;
	if (!g->quotas[0])
		return 0;
	if (!(o = json_loads(g->quotas, 0, &e)) || !json_is_object(o)) {
		json_decref(o);
		return err_set(ERR_PARSE, "quota: the grant's quotas are not a JSON object");
	}
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		json_t *v = json_object_get(o, keys[i].name);
		if (!v)
			continue;
		if (!json_is_integer(v) || json_integer_value(v) < -1) {
			json_decref(o);
			return err_set(ERR_PARSE, "quota: '%s' is not a count", keys[i].name);
		}
		*(int64_t *)((char *)l + keys[i].off) = json_integer_value(v);
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

static const char *kind_name(enum quota_kind k)
{
	switch (k) {
	case QUOTA_REQUEST: return "request";
	case QUOTA_VIEW: return "view";
	case QUOTA_SEARCH: return "search";
	case QUOTA_PRINT: return "print";
	}
	return "?";
}

/* Fill why and set the message: "quota 'q' reached: U of L unit used; resets at T". */
static int refuse(struct quota_refusal *why, const char *quota, int64_t limit, int64_t used,
		  int64_t n, const char *unit, int64_t resets_at)
{
	char when[40];
	snprintf(why->quota, sizeof(why->quota), "%s", quota);
	why->limit = limit;
	why->used = used;
	why->resets_at = resets_at;
	if (resets_at) {
		policy_format_time(resets_at, when, sizeof(when));
		snprintf(why->message, sizeof(why->message),
			 "quota '%s' reached: %lld of %lld %s used, %lld more asked; resets at %s",
			 quota, (long long)used, (long long)limit, unit, (long long)n, when);
	} else if (used < 0) {
		snprintf(why->message, sizeof(why->message),
			 "quota '%s': at most %lld %s at once, %lld asked; ask for less", quota,
			 (long long)limit, unit, (long long)n);
	} else {
		snprintf(why->message, sizeof(why->message),
			 "quota '%s' reached: %lld of %lld %s used, %lld more asked; it does not "
			 "reset (the vendor and the operator may grant more)",
			 quota, (long long)used, (long long)limit, unit, (long long)n);
	}
	return err_set(ERR_DENIED, "%s", why->message);
}

/* Check one limit: used + n <= limit (limit < 0: none). */
static int within(struct quota_refusal *why, const char *quota, int64_t limit, int64_t used,
		  int64_t n, const char *unit, int64_t resets_at)
{
	if (limit < 0 || (n <= limit && used <= limit - n))
		return 0;
	return refuse(why, quota, limit, used, n, unit, resets_at);
}

static int held_row(sqlite3 *db, const char *sid, int *held, int *alerted, char *reason)
{
	sqlite3_stmt *st;
	int r;
	*held = *alerted = 0;
	if ((r = db_prepare(db, "SELECT held_at IS NOT NULL AND resumed_at IS NULL, "
				"alerted_at IS NOT NULL, reason FROM session_holds WHERE session_id = ?",
			    &st)))
		return r;
	sqlite3_bind_text(st, 1, sid, -1, SQLITE_STATIC);
	r = sqlite3_step(st);
	if (r == SQLITE_ROW) {
		*held = sqlite3_column_int(st, 0);
		*alerted = sqlite3_column_int(st, 1);
		if (reason)
			snprintf(reason, 256, "%s", (const char *)sqlite3_column_text(st, 2));
	}
	r = r == SQLITE_ROW || r == SQLITE_DONE ? 0 : db_fail(db, "session holds");
	sqlite3_finalize(st);
	return r;
}

/* Record the view in the walk and count distinct files, and how many steps went forward. */
static int walk(sqlite3 *db, const char *sid, const char *path, int64_t now, int64_t window,
		int64_t *files, int64_t *forward)
{
	sqlite3_stmt *st = NULL;
	char prev[1024] = "";
	int r, first = 1;
	*files = *forward = 0;
	if ((r = db_prepare(db, "DELETE FROM quota_walk WHERE session_id = ? AND at < ?", &st)))
		return r;
	sqlite3_bind_text(st, 1, sid, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now - window);
	r = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(db, "quota walk");
	sqlite3_finalize(st);
	if (r || (r = db_prepare(db, "INSERT INTO quota_walk (session_id, path, at) VALUES (?, ?, ?)", &st)))
		return r;
	sqlite3_bind_text(st, 1, sid, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, path, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, now);
	r = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(db, "quota walk");
	sqlite3_finalize(st);
	if (r || (r = db_prepare(db, "SELECT path FROM quota_walk WHERE session_id = ? GROUP BY path "
				     "ORDER BY min(rowid)", &st)))
		return r;
	sqlite3_bind_text(st, 1, sid, -1, SQLITE_STATIC);
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

static int set_hold(sqlite3 *db, const char *sid, const char *login, const char *col, int64_t now,
		    const char *reason)
{
	sqlite3_stmt *st;
	char sql[400];
	int r;
	snprintf(sql, sizeof(sql),
		 "INSERT INTO session_holds (session_id, login, %s, reason) VALUES (?, ?, ?, ?) "
		 "ON CONFLICT (session_id) DO UPDATE SET %s = excluded.%s, reason = excluded.reason, "
		 "resumed_at = CASE WHEN '%s' = 'held_at' THEN NULL ELSE resumed_at END",
		 col, col, col, col);
	if ((r = db_prepare(db, sql, &st)))
		return r;
	sqlite3_bind_text(st, 1, sid, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, login, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, now);
	sqlite3_bind_text(st, 4, reason, -1, SQLITE_STATIC);
	r = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(db, "session holds");
	sqlite3_finalize(st);
	return r;
}

/*
 * A connection of the charge's own, so that its transaction is not shared with other
 * threads. synchronous=NORMAL: a power cut may forget the last charges, never the log
 * entries of what was shown (logdb commits those with FULL), from which usage can be
 * recounted.
 */
static int open_db(struct facility *f, sqlite3 **db)
{
	char *path = facility_path(f, "sealroom.db");
	int r = db_open(path, 0, db);
	free(path);
	if (!r && (r = db_exec(*db, "PRAGMA synchronous=NORMAL"))) {
		db_close(*db);
		*db = NULL;
	}
	return r;
}

int quota_charge(struct facility *f, const struct session_info *who, const struct grant_info *g,
		 enum quota_kind kind, int64_t n, const char *path, int64_t now,
		 struct quota_refusal *why)
{
	struct quota_limits l;
	sqlite3 *db = NULL;
	int64_t day = now / 86400, next_day = (day + 1) * 86400, used, total, files = 0, fwd = 0;
	int r, held, alerted, alert = 0, hold = 0;
	char reason[256] = "";

	memset(why, 0, sizeof(*why));
	if (n < 0 || (kind == QUOTA_PRINT && n == 0))
		return err_set(ERR_USAGE, "quota: nothing to charge");
	if ((r = quota_limits_of(g, &l)) || (r = open_db(f, &db)))
		return r;
	if ((r = db_begin(db)))
		goto out;
	if ((r = held_row(db, who->session_id, &held, &alerted, reason)))
		goto fail;
	if (held) {
		snprintf(why->quota, sizeof(why->quota), "session_held");
		snprintf(why->message, sizeof(why->message),
			 "session '%s' is held for review (%.120s); an operator or the vendor must resume it",
			 who->session_id, reason);
		r = err_set(ERR_DENIED, "%s", why->message);
		goto fail;
	}
	/* every charge is also one request */
	if ((r = usage_get(db, g->id, "request", now / 60, &used)) ||
	    (r = within(why, "requests_per_minute", l.requests_per_minute, used, 1, "requests",
			(now / 60 + 1) * 60)) ||
	    (r = usage_add(db, g->id, "request", now / 60, 1)))
		goto fail;
	switch (kind) {
	case QUOTA_REQUEST:
		break;
	case QUOTA_VIEW:
		if (l.max_view_lines >= 0 && n > l.max_view_lines) {
			r = refuse(why, "max_view_lines", l.max_view_lines, -1, n, "lines", 0);
			goto fail;
		}
		if ((r = usage_get(db, g->id, "view", day, &used)) ||
		    (r = usage_get(db, g->id, "view", TOTAL, &total)) ||
		    (r = within(why, "lines_per_day", l.lines_per_day, used, n, "lines", next_day)) ||
		    (r = within(why, "lines_total", l.lines_total, total, n, "lines", 0)))
			goto fail;
		if (path && (r = walk(db, who->session_id, path, now, l.walk_window, &files, &fwd)))
			goto fail;
		if (l.walk_suspend > 0 && files >= l.walk_suspend)
			hold = 1;
		else if (l.walk_alert > 0 && files >= l.walk_alert && !alerted)
			alert = 1;
		if (hold || alert) {
			snprintf(reason, sizeof(reason),
				 "%lld distinct files viewed within %lld seconds, %lld of %lld steps forward",
				 (long long)files, (long long)l.walk_window, (long long)fwd,
				 (long long)(files > 0 ? files - 1 : 0));
			if ((r = set_hold(db, who->session_id, who->login, hold ? "held_at" : "alerted_at",
					  now, reason)))
				goto fail;
		}
		if (!hold && ((r = usage_add(db, g->id, "view", day, n)) ||
			      (r = usage_add(db, g->id, "view", TOTAL, n))))
			goto fail;
		break;
	case QUOTA_SEARCH:
		if ((r = usage_get(db, g->id, "search", day, &used)) ||
		    (r = within(why, "search_lines_per_day", l.search_lines_per_day, used, n, "lines",
				next_day)) ||
		    (r = usage_add(db, g->id, "search", day, n)))
			goto fail;
		break;
	case QUOTA_PRINT:
		if (l.pages_per_print >= 0 && n > l.pages_per_print) {
			r = refuse(why, "pages_per_print", l.pages_per_print, -1, n, "pages", 0);
			goto fail;
		}
		if ((r = usage_get(db, g->id, "print", TOTAL, &total)) ||
		    (r = within(why, "prints", l.pages_total, total, n, "pages", 0)) ||
		    (r = usage_add(db, g->id, "print", TOTAL, n)))
			goto fail;
		break;
	}
	if ((r = db_commit(db)))
		goto fail;
	if (alert || hold) {
		json_t *x = json_pack("{s:s,s:s,s:I,s:I,s:s}", "session", who->session_id, "reason",
				      "scraping", "files", (json_int_t)files, "forward", (json_int_t)fwd,
				      "detail", reason);
		json_object_set_new(x, "time", json_integer(now));
		if ((r = auth_log(f, hold ? "session_hold" : "alert", who->login, x)))
			goto out;
	}
	if (hold) {
		snprintf(why->quota, sizeof(why->quota), "session_held");
		snprintf(why->message, sizeof(why->message),
			 "session '%s' is held for review: %.120s; an operator or the vendor must resume it",
			 who->session_id, reason);
		r = err_set(ERR_DENIED, "%s", why->message);
	}
	goto out;
fail:
	db_rollback(db);
out:
	db_close(db);
	return r;
}

int quota_held(struct facility *f, const char *session_id, int *held, char *reason)
{
	int alerted;
	return held_row(facility_db(f), session_id, held, &alerted, reason);
}

int quota_resume(struct facility *f, const char *session_id, const char *actor, int64_t now)
{
	struct person_info p;
	sqlite3 *db = facility_db(f);
	sqlite3_stmt *st;
	int r, held, alerted;
	json_t *x;
	if ((r = policy_person_get(f, actor, &p)))
		return r;
	if (strcmp(p.role, "operator") && strcmp(p.role, "vendor"))
		return err_set(ERR_DENIED, "'%s' is a %s: only an operator or the vendor may resume a session",
			       actor, p.role);
	if ((r = held_row(db, session_id, &held, &alerted, NULL)))
		return r;
	if (!held)
		return err_set(ERR_NOTFOUND, "session '%s' is not held", session_id);
	x = json_pack("{s:s}", "session", session_id);
	json_object_set_new(x, "time", json_integer(now));
	if ((r = auth_log(f, "session_resume", actor, x)))
		return r;
	if ((r = db_prepare(db, "UPDATE session_holds SET resumed_by = ?, resumed_at = ?, "
				"alerted_at = NULL WHERE session_id = ?", &st)))
		return r;
	sqlite3_bind_text(st, 1, actor, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now);
	sqlite3_bind_text(st, 3, session_id, -1, SQLITE_STATIC);
	r = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(db, "session holds");
	sqlite3_finalize(st);
	if (!r) { /* a fresh start for the walk, or the next view would hold it again */
		if (!(r = db_prepare(db, "DELETE FROM quota_walk WHERE session_id = ?", &st))) {
			sqlite3_bind_text(st, 1, session_id, -1, SQLITE_STATIC);
			r = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(db, "quota walk");
			sqlite3_finalize(st);
		}
	}
	return r;
}

int quota_used(struct facility *f, const struct grant_info *g, enum quota_kind kind, int64_t now,
	       int64_t *period, int64_t *total)
{
	sqlite3 *db = facility_db(f);
	int64_t p = kind == QUOTA_REQUEST ? now / 60 : now / 86400;
	int r;
	if ((r = usage_get(db, g->id, kind_name(kind), p, period)))
		return r;
	return usage_get(db, g->id, kind_name(kind), TOTAL, total);
}
