/* Unit tests: quota (each limit at the limit and one past it, resets, the scraping watch). */
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include <jansson.h>

#include "logdb.h"
#include "quota.h"
#include "test.h"

static char root[] = "/tmp/sealroom-quota-XXXXXX";
static struct facility *fac;
/* 2030-01-07 10:00 UTC */
static const int64_t T0 = 1894010400;

static struct grant_info grant(int64_t id, const char *quotas)
{
	struct grant_info g;
	memset(&g, 0, sizeof(g));
	g.id = id;
	g.lines_per_day = g.lines_total = g.prints = POLICY_UNLIMITED;
	snprintf(g.quotas, sizeof(g.quotas), "%s", quotas);
	return g;
}

static struct session_info who(const char *sid)
{
	struct session_info w;
	memset(&w, 0, sizeof(w));
	snprintf(w.login, sizeof(w.login), "rita");
	snprintf(w.session_id, sizeof(w.session_id), "%s", sid);
	return w;
}

/* How many log entries of type are there? */
static int log_count(const char *type)
{
	struct logdb *l;
	uint64_t n = 0;
	int c = 0;
	char pat[64];
	struct buf b;
	snprintf(pat, sizeof(pat), "\"type\":\"%s\"", type);
	buf_init(&b, 1 << 20);
	if (logdb_open(fac, &l) || logdb_size(l, &n))
		return -1;
	for (uint64_t i = 0; i < n; i++) {
		buf_reset(&b);
		if (logdb_entry(l, i, &b) == 0 && strstr(b.p, pat))
			c++;
	}
	logdb_free(l);
	buf_release(&b);
	return c;
}

/* Show lines from..from+n-1 of file blob (path) under g: each line 10 bytes. */
static int show(struct session_info *w, const struct grant_info *g, enum quota_kind kind, const char *path,
		uint64_t from, uint64_t n, int64_t now, struct quota_refusal *why)
{
	struct quota_line *l = calloc(n ? n : 1, sizeof(*l));
	struct quota_ask a = {kind, l, (size_t)n, 0};
	int r;
	for (uint64_t i = 0; i < n; i++)
		l[i] = (struct quota_line){NULL, path, path, from + i, 10};
	r = quota_charge(fac, w, g, &a, now, why);
	free(l);
	return r;
}

static int view(struct session_info *w, const struct grant_info *g, uint64_t n, const char *path, int64_t now,
		struct quota_refusal *why)
{
	static uint64_t next = 1; /* fresh lines each time, so that each is charged */
	next += n;
	return show(w, g, QUOTA_VIEW, path, next - n, n, now, why);
}

static int request(struct session_info *w, const struct grant_info *g, int64_t now, struct quota_refusal *why)
{
	struct quota_ask a = {QUOTA_REQUEST, NULL, 0, 0};
	return quota_charge(fac, w, g, &a, now, why);
}

static int used(const struct grant_info *g, int64_t now, int64_t *today, int64_t *total)
{
	struct quota_status s;
	int r = quota_status_of(fac, g, now, &s);
	*today = s.lines_today;
	*total = s.lines_total;
	return r;
}

TEST(lines_per_day)
{
	struct grant_info g = grant(1, "{}");
	struct session_info w = who("00000000000000d1");
	struct quota_refusal why;
	g.lines_per_day = 100;
	CHECK(view(&w, &g, 60, "a.c", T0, &why) == 0);
	CHECK(view(&w, &g, 40, "a.c", T0, &why) == 0); /* at the limit */
	CHECK(view(&w, &g, 1, "a.c", T0, &why) == ERR_DENIED); /* one past */
	CHECK_EQ_STR(why.quota, "lines_per_day");
	CHECK(why.limit == 100 && why.used == 100 && why.resets_at == T0 - 36000 + 86400);
	CHECK(strstr(err_msg(), "quota 'lines_per_day' reached: 100 of 100 lines used") != NULL);
	CHECK(strstr(err_msg(), "resets at 2030-01-08T00:00:00Z") != NULL);
	/* the next day it starts again */
	CHECK(view(&w, &g, 100, "a.c", T0 + 86400, &why) == 0);
}

TEST(distinct_lines)
{
	struct grant_info g = grant(11, "{}");
	struct session_info w = who("00000000000000e1");
	struct quota_refusal why;
	int64_t today, total;
	g.lines_per_day = 100;
	/* the same 100 lines again and again: a reload costs nothing */
	for (int i = 0; i < 5; i++)
		CHECK(show(&w, &g, QUOTA_VIEW, "b.c", 1, 100, T0 + i, &why) == 0);
	CHECK(used(&g, T0, &today, &total) == 0 && today == 100 && total == 100);
	/* search lines and diffs draw from the same pool: lines 1-100 again are free, 101 not */
	CHECK(show(&w, &g, QUOTA_SEARCH, "b.c", 50, 10, T0 + 9, &why) == ERR_DENIED); /* the minimum charge */
	CHECK_EQ_STR(why.quota, "lines_per_day");
	CHECK(show(&w, &g, QUOTA_DIFF, "b.c", 1, 100, T0 + 10, &why) == 0);
	CHECK(show(&w, &g, QUOTA_DIFF, "b.c", 2, 100, T0 + 11, &why) == ERR_DENIED);
	CHECK(show(&w, &g, QUOTA_VIEW, "c.c", 1, 1, T0 + 12, &why) == ERR_DENIED);
	/* the same lines of another file are other lines */
	CHECK(used(&g, T0, &today, &total) == 0 && today == 100);
	/* the next day every line is new again */
	CHECK(show(&w, &g, QUOTA_VIEW, "b.c", 1, 100, T0 + 86400, &why) == 0);
	CHECK(used(&g, T0 + 86400, &today, &total) == 0 && today == 100 && total == 200);
}

TEST(bytes)
{
	struct grant_info g = grant(12, "{\"bytes_per_day\":1000}");
	struct session_info w = who("00000000000000e2");
	struct quota_refusal why;
	CHECK(show(&w, &g, QUOTA_VIEW, "a.c", 1, 100, T0, &why) == 0); /* 1000 bytes: at the limit */
	CHECK(show(&w, &g, QUOTA_VIEW, "a.c", 101, 1, T0, &why) == ERR_DENIED);
	CHECK_EQ_STR(why.quota, "bytes_per_day");
	CHECK(show(&w, &g, QUOTA_VIEW, "a.c", 1, 100, T0, &why) == 0); /* shown already */
}

TEST(diff_charges_both_grants)
{
	struct grant_info g_new = grant(13, "{}"), g_old = grant(14, "{}");
	struct session_info w = who("00000000000000e3");
	struct quota_refusal why;
	struct quota_line l[30];
	struct quota_ask a = {QUOTA_DIFF, l, 30, 0};
	int64_t today, total;
	g_old.lines_total = 20;
	for (int i = 0; i < 30; i++) /* 10 old lines, 20 new */
		l[i] = (struct quota_line){i < 10 ? &g_old : NULL, i < 10 ? "old" : "new", "a.c", (uint64_t)i + 1, 5};
	CHECK(quota_charge(fac, &w, &g_new, &a, T0, &why) == 0);
	CHECK(used(&g_old, T0, &today, &total) == 0 && total == 10);
	CHECK(used(&g_new, T0, &today, &total) == 0 && total == 20);
	/* the old side past its grant: the whole diff is refused, the new side not charged */
	for (int i = 0; i < 11; i++)
		l[i] = (struct quota_line){&g_old, "old", "a.c", (uint64_t)i + 100, 5};
	a.n_lines = 21;
	CHECK(quota_charge(fac, &w, &g_new, &a, T0, &why) == ERR_DENIED);
	CHECK_EQ_STR(why.quota, "lines_total");
	CHECK(used(&g_old, T0, &today, &total) == 0 && total == 10);
	CHECK(used(&g_new, T0, &today, &total) == 0 && total == 20);
}

TEST(lines_total)
{
	struct grant_info g = grant(2, "{}");
	struct session_info w = who("00000000000000d2");
	struct quota_refusal why;
	g.lines_total = 150;
	CHECK(view(&w, &g, 100, "a.c", T0, &why) == 0);
	CHECK(view(&w, &g, 51, "a.c", T0 + 86400, &why) == ERR_DENIED);
	CHECK_EQ_STR(why.quota, "lines_total");
	CHECK(why.resets_at == 0 && strstr(err_msg(), "does not reset") != NULL);
	CHECK(view(&w, &g, 50, "a.c", T0 + 86400, &why) == 0);
	CHECK(view(&w, &g, 1, "a.c", T0 + 2 * 86400, &why) == ERR_DENIED);
}

TEST(max_view_lines)
{
	struct grant_info g = grant(3, "{\"max_view_lines\":500}");
	struct session_info w = who("00000000000000d3");
	struct quota_refusal why;
	CHECK(view(&w, &g, 500, "a.c", T0, &why) == 0);
	CHECK(view(&w, &g, 501, "a.c", T0, &why) == ERR_DENIED);
	CHECK_EQ_STR(why.quota, "max_view_lines");
	CHECK(strstr(err_msg(), "at most 500 lines at once") != NULL);
}

TEST(search_lines_per_day)
{
	struct grant_info g = grant(4, "{\"search_lines_per_day\":200,\"query_min_lines\":0}");
	struct session_info w = who("00000000000000d4");
	struct quota_refusal why;
	int64_t today, total;
	CHECK(show(&w, &g, QUOTA_SEARCH, "s.c", 1, 200, T0, &why) == 0);
	CHECK(show(&w, &g, QUOTA_SEARCH, "s.c", 201, 1, T0, &why) == ERR_DENIED);
	CHECK_EQ_STR(why.quota, "search_lines_per_day");
	CHECK(show(&w, &g, QUOTA_SEARCH, "s.c", 201, 1, T0 + 86400, &why) == 0);
	/* the same pool as views */
	CHECK(used(&g, T0, &today, &total) == 0 && today == 200 && total == 201);
}

TEST(query_min_lines_and_searches_per_day)
{
	struct grant_info g = grant(15, "{\"searches_per_day\":5,\"query_min_lines\":3}");
	struct session_info w = who("00000000000000e4");
	struct quota_refusal why;
	int64_t today, total;
	/* a query that shows nothing still costs 3 lines */
	for (int i = 0; i < 5; i++)
		CHECK(show(&w, &g, QUOTA_SEARCH, "s.c", 1, 0, T0, &why) == 0);
	CHECK(used(&g, T0, &today, &total) == 0 && today == 15);
	CHECK(show(&w, &g, QUOTA_SEARCH, "s.c", 1, 0, T0, &why) == ERR_DENIED);
	CHECK_EQ_STR(why.quota, "searches_per_day");
	g = grant(16, "{\"query_min_lines\":3}");
	g.lines_total = 10;
	CHECK(show(&w, &g, QUOTA_SEARCH, "s.c", 1, 0, T0, &why) == 0);
	CHECK(show(&w, &g, QUOTA_SEARCH, "s.c", 1, 0, T0, &why) == 0);
	CHECK(show(&w, &g, QUOTA_SEARCH, "s.c", 1, 0, T0, &why) == 0);
	CHECK(show(&w, &g, QUOTA_SEARCH, "s.c", 1, 0, T0, &why) == ERR_DENIED); /* 9 + 3 > 10 */
	CHECK_EQ_STR(why.quota, "lines_total");
}

TEST(requests_per_minute)
{
	struct grant_info g = grant(5, "{\"requests_per_minute\":3}");
	struct session_info w = who("00000000000000d5");
	struct quota_refusal why;
	int64_t m = T0 + 5; /* inside the minute starting at T0 */
	for (int i = 0; i < 3; i++)
		CHECK(request(&w, &g, m, &why) == 0);
	CHECK(request(&w, &g, m, &why) == ERR_DENIED);
	CHECK_EQ_STR(why.quota, "requests_per_minute");
	CHECK(why.resets_at == T0 + 60);
	CHECK(request(&w, &g, T0 + 60, &why) == 0);
}

TEST(defaults_are_finite)
{
	struct grant_info g = grant(17, "{}");
	struct quota_limits l;
	int64_t *v = &l.lines_per_day;
	CHECK(quota_limits_of(&g, &l) == 0);
	CHECK(l.requests_per_minute == QUOTA_DEFAULT_REQUESTS_PER_MINUTE && l.max_view_lines == QUOTA_DEFAULT_MAX_VIEW_LINES);
	CHECK(l.search_lines_per_day == QUOTA_DEFAULT_SEARCH_LINES_PER_DAY && l.pages_per_print == QUOTA_DEFAULT_PAGES_PER_PRINT);
	quota_defaults(&l);
	for (size_t i = 0; i < sizeof(l) / sizeof(int64_t); i++)
		CHECK(v[i] >= 0);
	/* "unlimited" is written out */
	snprintf(g.quotas, sizeof(g.quotas), "{\"requests_per_minute\":-1}");
	CHECK(quota_limits_of(&g, &l) == 0 && l.requests_per_minute == QUOTA_UNLIMITED);
}

TEST(settings)
{
	const char *name;
	int64_t v;
	struct quota_limits l;
	char *j, d[1024];
	CHECK(quota_parse_setting("lines_per_day=100", &name, &v) == 0 && !strcmp(name, "lines_per_day") && v == 100);
	CHECK(quota_parse_setting("searches_per_day=unlimited", &name, &v) == 0 && v == QUOTA_UNLIMITED);
	CHECK(quota_parse_setting("print_text=1", &name, &v) == 0 && v == 1);
	CHECK(quota_parse_setting("print_text=2", &name, &v) == ERR_USAGE);
	CHECK(quota_parse_setting("lines_per_day", &name, &v) == ERR_USAGE);
	CHECK(strstr(err_msg(), "is not NAME=VALUE") != NULL);
	CHECK(quota_parse_setting("lines=5", &name, &v) == ERR_USAGE);
	CHECK(strstr(err_msg(), "'lines' is not a quota") != NULL);
	CHECK(quota_parse_setting("lines_total=-1", &name, &v) == ERR_USAGE);
	CHECK(quota_parse_setting("lines_total=", &name, &v) == ERR_USAGE);
	CHECK(quota_parse_setting("lines_total=99999999999999999999", &name, &v) == ERR_USAGE);
	CHECK(quota_parse_setting("lines_total=9223372036854775807", &name, &v) == 0 && v == INT64_MAX);
	quota_defaults(&l);
	CHECK(quota_set(&l, "walk_alert", 7) == 0 && l.walk_alert == 7);
	CHECK(quota_set(&l, "nope", 7) == ERR_USAGE);
	j = quota_json(&l);
	CHECK(strstr(j, "\"walk_alert\":7") != NULL && strstr(j, "\"lines_per_day") == NULL);
	CHECK(strstr(j, "\"bytes_per_day\":500000,") != NULL);
	free(j);
	l.lines_total = QUOTA_UNLIMITED;
	CHECK(quota_describe(&l, d, sizeof(d)) == 0 && strstr(d, "lines_total unlimited") != NULL);
	CHECK(quota_describe(&l, d, 40) == ERR_TOOBIG);
}

/* The quota_refusals entries of quota q under grant_id: how many, and the sum of their counts; *last
 * (may be NULL, 512 bytes) the last one. */
static int refusals(int64_t grant_id, const char *q, int64_t *sum, char *last)
{
	struct logdb *l;
	uint64_t n = 0;
	int c = 0;
	struct buf b;
	*sum = 0;
	buf_init(&b, 1 << 20);
	if (logdb_open(fac, &l) || logdb_size(l, &n))
		return -1;
	for (uint64_t i = 0; i < n; i++) {
		json_t *e;
		buf_reset(&b);
		if (logdb_entry(l, i, &b) || !strstr(b.p, "\"type\":\"quota_refusals\""))
			continue;
		e = json_loads(b.p, 0, NULL);
		if (e && !strcmp(json_string_value(json_object_get(e, "quota")), q) &&
		    json_integer_value(json_object_get(e, "grant")) == grant_id) {
			c++;
			*sum += json_integer_value(json_object_get(e, "count"));
			if (last)
				snprintf(last, 512, "%s", b.p);
		}
		json_decref(e);
	}
	logdb_free(l);
	buf_release(&b);
	return c;
}

TEST(offsets)
{
	struct grant_info g = grant(18, "{}");
	struct session_info w = who("00000000000000e9");
	int64_t sum;
	CHECK(quota_offset_check(fac, &w, &g, "q1", 2, 0, T0) == 0); /* the first page is always there */
	CHECK(quota_offset_check(fac, &w, &g, "q1", 2, 1, T0) == ERR_DENIED);
	CHECK(strstr(err_msg(), "offset 1 skips past the results shown (at most 0)") != NULL);
	CHECK(quota_offset_reached(fac, &g, "q1", 2, 50, T0) == 0);
	CHECK(quota_offset_check(fac, &w, &g, "q1", 2, 50, T0) == 0); /* at the limit */
	CHECK(quota_offset_check(fac, &w, &g, "q1", 2, 51, T0) == ERR_DENIED); /* one past */
	CHECK(quota_offset_reached(fac, &g, "q1", 2, 10, T0) == 0); /* never goes back */
	CHECK(quota_offset_check(fac, &w, &g, "q1", 2, 50, T0) == 0);
	/* another query, another grant, another day: nothing shown yet */
	CHECK(quota_offset_check(fac, &w, &g, "q2", 2, 1, T0) == ERR_DENIED);
	CHECK(quota_offset_check(fac, &w, &g, "q1", 2, 1, T0 + 86400) == ERR_DENIED);
	g.id = 19;
	CHECK(quota_offset_check(fac, &w, &g, "q1", 2, 1, T0) == ERR_DENIED);
	CHECK(strstr(err_msg(), "skips past the results shown") != NULL);
	/* each refusal is a logged event, as the budget's are */
	CHECK(quota_flush_refusals(fac, INT64_MAX, T0 + 86400) == 0);
	CHECK(refusals(18, "offset", &sum, NULL) == 3 && sum == 4);
	CHECK(refusals(19, "offset", &sum, NULL) == 1 && sum == 1);
}

TEST(narrowing_queries)
{
	struct grant_info g = grant(20, "{}");
	struct session_info w = who("00000000000000e5");
	int alerted = 0, alerts0 = log_count("alert"), n = 0;
	char q[64];
	/* a bisection of character classes after the same stem, as a count oracle runs it */
	for (int i = 0; i < QUOTA_NARROW_ALERT; i++) {
		snprintf(q, sizeof(q), "001:int v_[a-%c]", 'b' + i % 20);
		CHECK(quota_query_watch(fac, &w, &g, q, T0 + i, &alerted) == 0);
		n += alerted;
	}
	CHECK(n == 0 && log_count("alert") == alerts0); /* one short of the alert */
	CHECK(quota_query_watch(fac, &w, &g, "001:int v_[a-z]", T0 + 30, &alerted) == 0 && alerted == 1);
	CHECK(log_count("alert") == alerts0 + 1);
	CHECK(quota_query_watch(fac, &w, &g, "001:int v_[a-y]", T0 + 31, &alerted) == 0 && alerted == 0); /* once */
	/* unrelated queries, or the same query again, are reading */
	g.id = 21;
	for (int i = 0; i < 2 * QUOTA_NARROW_ALERT; i++) {
		CHECK(quota_query_watch(fac, &w, &g, i % 2 ? "000:parse_header" : "000:quota_charge", T0 + i, &alerted) == 0);
		CHECK(quota_query_watch(fac, &w, &g, "000:quota_charge", T0 + i, &alerted) == 0 && !alerted);
	}
	CHECK(log_count("alert") == alerts0 + 1);
	/* the class in the middle of the pattern, anchors changing, and two bisections run in
	 * turns: the runs are found, and the alert is raised once */
	g.id = 22;
	n = 0;
	for (int i = 0; i <= 2 * QUOTA_NARROW_ALERT; i++) {
		static const char *const anchor[] = {"^", "", "\\b", "(?m)^"};
		snprintf(q, sizeof(q), "001:%s[a-%c]tatic int", anchor[i % 4], 'b' + i % 20);
		CHECK(quota_query_watch(fac, &w, &g, q, T0 + 2 * i, &alerted) == 0);
		n += alerted;
		snprintf(q, sizeof(q), "001:struct sk_buff \\*[a-%c]", 'b' + i % 20);
		CHECK(quota_query_watch(fac, &w, &g, q, T0 + 2 * i + 1, &alerted) == 0);
		n += alerted;
	}
	CHECK(n == 1 && log_count("alert") == alerts0 + 2);
	/* a reviewer's ordinary searches: different names, each far from the others */
	g.id = 23;
	{
		static const char *const reading[] = {"000:tcp_v4_rcv", "000:sk_buff", "000:EXPORT_SYMBOL\\(",
						      "000:spin_lock_irqsave", "000:kmalloc\\(", "000:struct net_device"};
		for (int i = 0; i < 4 * QUOTA_NARROW_ALERT; i++) {
			CHECK(quota_query_watch(fac, &w, &g, reading[i % 6], T0 + i, &alerted) == 0);
			CHECK(!alerted);
		}
	}
	CHECK(log_count("alert") == alerts0 + 2);
}

/* The edit distance behind the watch, against a plain full-table Levenshtein on random
 * strings (the banded one must agree whenever either is within the bound) */
static size_t levenshtein(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), d[64][64];
	for (size_t i = 0; i <= la; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= la; i++)
		for (size_t j = 1; j <= lb; j++) {
			size_t v = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
			if (d[i - 1][j] + 1 < v)
				v = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			d[i][j] = v;
		}
	return d[la][lb];
}

TEST(narrowing_distance)
{
	struct grant_info g = grant(24, "{}");
	struct session_info w = who("00000000000000e6");
	uint32_t seed = 77;
	int alerted, agree = 1;
	char a[40], b[40];
	for (int t = 0; t < 3000 && agree; t++) {
		size_t la, lb;
		seed = seed * 1103515245u + 12345u;
		la = 3 + (seed >> 16) % 30;
		for (size_t i = 0; i < la; i++) {
			seed = seed * 1103515245u + 12345u;
			a[i] = (char)('a' + (seed >> 16) % 3);
		}
		a[la] = 0;
		memcpy(b, a, la + 1);
		/* a few random edits of a */
		seed = seed * 1103515245u + 12345u;
		for (int e = (int)((seed >> 16) % 7); e > 0; e--) {
			size_t at;
			lb = strlen(b);
			seed = seed * 1103515245u + 12345u;
			at = (seed >> 8) % (lb + 1);
			switch ((seed >> 20) % 3) {
			case 0:
				if (lb < 38) {
					memmove(b + at + 1, b + at, lb - at + 1);
					b[at] = 'c';
				}
				break;
			case 1:
				if (at < lb)
					memmove(b + at, b + at + 1, lb - at);
				break;
			default:
				if (at < lb)
					b[at] = b[at] == 'a' ? 'b' : 'a';
			}
		}
		if (strlen(b) < 3)
			continue;
		/* a fresh grant for each pair: the second query is a step of the first or not */
		g.id = 1000 + t;
		if (quota_query_watch(fac, &w, &g, a, T0, &alerted) != 0)
			agree = 0;
		{
			size_t d = levenshtein(a, b);
			int want = strcmp(a, b) && d <= QUOTA_NARROW_EDITS;
			int64_t run = -1;
			sqlite3_stmt *st;
			if (quota_query_watch(fac, &w, &g, b, T0 + 1, &alerted) != 0 ||
			    sqlite3_prepare_v2(facility_db(fac), "SELECT narrowing FROM quota_queries WHERE grant_id = ? "
						"ORDER BY rowid DESC LIMIT 1", -1, &st, NULL) != SQLITE_OK)
				agree = 0;
			else {
				sqlite3_bind_int64(st, 1, g.id);
				if (sqlite3_step(st) == SQLITE_ROW)
					run = sqlite3_column_int64(st, 0);
				sqlite3_finalize(st);
				if ((run == 1) != want)
					agree = 0;
			}
		}
	}
	CHECK(agree);
}

TEST(pages)
{
	struct grant_info g = grant(6, "{\"pages_per_print\":10}");
	struct session_info w = who("00000000000000d6");
	struct quota_refusal why;
	struct quota_status s;
	struct quota_line l[3];
	struct quota_ask a = {QUOTA_PRINT, l, 3, 11};
	g.prints = 15;
	for (int i = 0; i < 3; i++)
		l[i] = (struct quota_line){NULL, "p.c", "p.c", (uint64_t)i + 1, 4};
	CHECK(quota_charge(fac, &w, &g, &a, T0, &why) == ERR_DENIED);
	CHECK_EQ_STR(why.quota, "pages_per_print");
	a.pages = 10;
	CHECK(quota_charge(fac, &w, &g, &a, T0, &why) == 0);
	a.pages = 6;
	CHECK(quota_charge(fac, &w, &g, &a, T0, &why) == ERR_DENIED);
	CHECK_EQ_STR(why.quota, "prints");
	a.pages = 5;
	CHECK(quota_charge(fac, &w, &g, &a, T0, &why) == 0);
	/* printed lines are charged every time: a print is a copy */
	CHECK(quota_status_of(fac, &g, T0, &s) == 0 && s.pages_total == 15 && s.lines_today == 6 && s.bytes_today == 24);
	a.pages = 0;
	CHECK(quota_charge(fac, &w, &g, &a, T0, &why) == ERR_USAGE);
}

/* A query refused by the budget costs its minimum, as a query shown does: its refusal is no
 * free answer to "more matches than what is left?" */
TEST(refused_query_costs_its_minimum)
{
	struct grant_info g = grant(25, "{}");
	struct session_info w = who("00000000000000e7");
	struct quota_refusal why;
	int64_t p, t;
	g.lines_per_day = 9;
	for (int i = 1; i <= 4; i++) {
		CHECK(show(&w, &g, QUOTA_SEARCH, "q.c", 1, 50, T0 + i, &why) == ERR_DENIED);
		CHECK(used(&g, T0, &p, &t) == 0 && p == 2 * i);
	}
	/* 1 line left: less than the minimum, so every query is refused and nothing is taken */
	CHECK(show(&w, &g, QUOTA_SEARCH, "q.c", 1, 50, T0 + 5, &why) == ERR_DENIED);
	CHECK(show(&w, &g, QUOTA_SEARCH, "q.c", 1, 1, T0 + 6, &why) == ERR_DENIED);
	CHECK(used(&g, T0, &p, &t) == 0 && p == 8);
	/* and the lines refused are not marked shown */
	CHECK(show(&w, &g, QUOTA_VIEW, "q.c", 1, 1, T0 + 7, &why) == 0);
	CHECK(used(&g, T0, &p, &t) == 0 && p == 9);
}

/* A line counts as shown to its grant, that day, once a charge showed it; not a refused one */
TEST(line_shown)
{
	struct grant_info g = grant(26, "{}"), other = grant(27, "{}");
	struct session_info w = who("00000000000000e8");
	struct quota_refusal why;
	g.lines_per_day = 5;
	CHECK(quota_line_shown(fac, &g, "s.c", 2, T0) == ERR_DENIED);
	CHECK(show(&w, &g, QUOTA_VIEW, "s.c", 1, 3, T0, &why) == 0);
	for (uint64_t i = 1; i <= 3; i++)
		CHECK(quota_line_shown(fac, &g, "s.c", i, T0 + 60) == 0);
	CHECK(quota_line_shown(fac, &g, "s.c", 4, T0) == ERR_DENIED && strstr(err_msg(), "not shown today"));
	CHECK(quota_line_shown(fac, &g, "t.c", 2, T0) == ERR_DENIED);
	CHECK(quota_line_shown(fac, &other, "s.c", 2, T0) == ERR_DENIED);
	CHECK(quota_line_shown(fac, &g, "s.c", 2, T0 + 86400) == ERR_DENIED);
	CHECK(quota_line_shown(fac, &g, "s.c", UINT64_MAX, T0) == ERR_DENIED);
	/* refused: not shown */
	CHECK(show(&w, &g, QUOTA_VIEW, "s.c", 10, 9, T0, &why) == ERR_DENIED);
	CHECK(quota_line_shown(fac, &g, "s.c", 10, T0) == ERR_DENIED);
}

TEST(refusal_records_nothing)
{
	struct grant_info g = grant(7, "{}");
	struct session_info w = who("00000000000000d7");
	struct quota_refusal why;
	int64_t p, t;
	g.lines_per_day = 10;
	CHECK(view(&w, &g, 11, "a.c", T0, &why) == ERR_DENIED);
	CHECK(used(&g, T0, &p, &t) == 0 && p == 0 && t == 0);
	/* and the lines refused are not marked shown */
	CHECK(show(&w, &g, QUOTA_VIEW, "z.c", 1, 10, T0, &why) == 0);
	CHECK(show(&w, &g, QUOTA_VIEW, "z.c", 1, 11, T0, &why) == ERR_DENIED);
	CHECK(show(&w, &g, QUOTA_VIEW, "z.c", 1, 10, T0, &why) == 0);
	snprintf(g.quotas, sizeof(g.quotas), "{\"max_view_lines\":\"many\"}");
	CHECK(view(&w, &g, 1, "a.c", T0, &why) == ERR_PARSE);
}

/* Count the holds of rita (quota_holds_each). */
static int count_hold(void *ctx, const struct quota_hold *h)
{
	*(int *)ctx += !strcmp(h->login, "rita");
	return 0;
}

TEST(scraping_alert_then_hold_then_resume)
{
	struct grant_info g = grant(8, "{\"walk_alert\":5,\"walk_suspend\":8,\"walk_window\":300}");
	struct session_info w = who("00000000000000d8"), w2 = who("00000000000000d9");
	struct quota_refusal why;
	unsigned char totp[AUTH_TOTP_SECRET_LEN];
	char path[32];
	int held = 0, alerts0 = log_count("alert");
	/* the same file again and again is reading, not walking */
	for (int i = 0; i < 20; i++)
		CHECK(view(&w, &g, 10, "src/a.c", T0 + i, &why) == 0);
	CHECK(log_count("alert") == alerts0);
	for (int i = 0; i < 6; i++) {
		snprintf(path, sizeof(path), "src/f%02d.c", i);
		/* another session of the same reviewer feeds the same watch */
		CHECK(view(i % 2 ? &w2 : &w, &g, 10, path, T0 + 30 + i, &why) == 0);
	}
	CHECK(log_count("alert") == alerts0 + 1); /* once, at 5 distinct files (a.c and 4) */
	/* 7 distinct files so far: the 8th is one past walk_suspend - 1 */
	CHECK(view(&w, &g, 10, "src/f07.c", T0 + 41, &why) == ERR_DENIED);
	CHECK_EQ_STR(why.quota, "held");
	CHECK(strstr(err_msg(), "is held for review under this grant (8 distinct files") != NULL);
	CHECK(log_count("session_hold") == 1);
	held = 0;
	CHECK(quota_holds_each(fac, count_hold, &held) == 0 && held == 1); /* as the operator's page lists it */
	/* everything is refused while held, even a request, in every session: logging in
	 * again is no way out */
	CHECK(request(&w, &g, T0 + 42, &why) == ERR_DENIED);
	CHECK(request(&w2, &g, T0 + 42, &why) == ERR_DENIED);
	{
		struct session_info w3 = who("00000000000000da");
		CHECK(view(&w3, &g, 1, "src/a.c", T0 + 43, &why) == ERR_DENIED);
		CHECK_EQ_STR(why.quota, "held");
	}
	/* a search feeds the watch too */
	/* a reviewer may not resume; an operator may */
	CHECK(policy_org_add(fac, "ops", "operator", "test") == 0);
	CHECK(policy_org_add(fac, "lab", "lab", "test") == 0);
	CHECK(policy_person_add(fac, "otto", "ops", "operator", "Otto", "a good long password", "test", totp) == 0);
	CHECK(policy_person_add(fac, "rita", "lab", "reviewer", "Rita", "a good long password", "test", totp) == 0);
	CHECK(quota_resume(fac, w.session_id, "rita", T0 + 50) == ERR_DENIED);
	CHECK(quota_resume(fac, w.session_id, "otto", T0 + 50) == 0);
	CHECK(quota_resume(fac, w.session_id, "otto", T0 + 51) == ERR_NOTFOUND);
	CHECK(log_count("session_resume") == 1);
	CHECK(view(&w2, &g, 10, "src/f07.c", T0 + 60, &why) == 0);
	/* files outside the window are forgotten */
	for (int i = 0; i < 7; i++) {
		snprintf(path, sizeof(path), "src/g%02d.c", i);
		CHECK(view(&w, &g, 1, path, T0 + 1000 + i * 400, &why) == 0);
	}
	/* searches feed the watch: one search showing 8 files holds the reviewer */
	{
		struct quota_line l[8];
		struct quota_ask a = {QUOTA_SEARCH, l, 8, 0};
		char paths[8][24];
		for (int i = 0; i < 8; i++) {
			snprintf(paths[i], sizeof(paths[i]), "s/h%d.c", i);
			l[i] = (struct quota_line){NULL, paths[i], paths[i], 1, 3};
		}
		CHECK(quota_charge(fac, &w, &g, &a, T0 + 5000, &why) == ERR_DENIED);
		CHECK_EQ_STR(why.quota, "held");
	}
}

TEST(refusals_are_logged_and_bounded)
{
	struct grant_info g = grant(30, "{\"requests_per_minute\":\"unlimited\"}");
	struct session_info w = who("00000000000000f1"), w2 = who("00000000000000f2");
	struct quota_refusal why;
	char last[512];
	int64_t sum, m = T0 / 60;
	g.lines_total = 10;
	snprintf(g.quotas, sizeof(g.quotas), "{\"requests_per_minute\":-1}");
	CHECK(view(&w, &g, 10, "a.c", T0, &why) == 0);
	CHECK(refusals(30, "lines_total", &sum, NULL) == 0);
	/* a flood of 2000 refusals in one minute: one entry at once, the rest counted */
	for (int i = 0; i < 2000; i++)
		CHECK(view(&w, &g, 1, "a.c", T0 + i % 60, &why) == ERR_DENIED);
	CHECK_EQ_STR(why.quota, "lines_total");
	CHECK(strstr(err_msg(), "quota 'lines_total' reached") != NULL); /* the refusal's message stands */
	CHECK(refusals(30, "lines_total", &sum, last) == 1 && sum == 1);
	CHECK(strstr(last, "\"actor\":\"rita\"") && strstr(last, "\"session\":\"00000000000000f1\"") &&
	      strstr(last, "\"grant\":30") && strstr(last, "\"limit\":10") && strstr(last, "\"used\":10") &&
	      strstr(last, "\"count\":1") && !strstr(last, "a.c"));
	/* the minute is not over: nothing more yet; once it is, one entry with the rest */
	CHECK(quota_flush_refusals(fac, m, T0 + 59) == 0);
	CHECK(refusals(30, "lines_total", &sum, NULL) == 1);
	CHECK(quota_flush_refusals(fac, m + 1, T0 + 61) == 0);
	CHECK(refusals(30, "lines_total", &sum, last) == 2 && sum == 2000);
	CHECK(strstr(last, "\"count\":1999") != NULL);
	CHECK(quota_flush_refusals(fac, INT64_MAX, T0 + 62) == 0);
	CHECK(refusals(30, "lines_total", &sum, NULL) == 2);
	/* another session, another minute: their own entries */
	CHECK(view(&w2, &g, 1, "a.c", T0 + 61, &why) == ERR_DENIED);
	CHECK(view(&w, &g, 1, "a.c", T0 + 62, &why) == ERR_DENIED);
	CHECK(view(&w, &g, 1, "a.c", T0 + 63, &why) == ERR_DENIED);
	CHECK(refusals(30, "lines_total", &sum, NULL) == 4 && sum == 2002);
	CHECK(quota_flush_refusals(fac, INT64_MAX, T0 + 64) == 0);
	CHECK(refusals(30, "lines_total", &sum, NULL) == 5 && sum == 2003);
	/* requests_per_minute refuses a flood of requests: bounded the same way */
	g = grant(31, "{\"requests_per_minute\":3}");
	for (int i = 0; i < 500; i++)
		(void)request(&w, &g, T0 + 120 + i % 60, &why);
	CHECK(quota_flush_refusals(fac, INT64_MAX, T0 + 200) == 0);
	CHECK(refusals(31, "requests_per_minute", &sum, NULL) == 2 && sum == 497);
}

/* A refusal whose entry cannot be written (the operator broke the log) is still a
 * refusal, and its count waits for the next flush. */
TEST(refusal_unlogged_is_still_refused)
{
	struct grant_info g = grant(32, "{}");
	struct session_info w = who("00000000000000f3");
	struct quota_refusal why;
	int64_t sum;
	g.lines_total = 5;
	CHECK(sqlite3_exec(facility_db(fac), "CREATE TRIGGER no_log BEFORE INSERT ON log_entries "
					     "BEGIN SELECT RAISE(ABORT, 'no'); END", NULL, NULL, NULL) == SQLITE_OK);
	CHECK(view(&w, &g, 6, "a.c", T0, &why) == ERR_DENIED);
	CHECK_EQ_STR(why.quota, "lines_total");
	CHECK(strstr(err_msg(), "quota 'lines_total' reached") != NULL);
	CHECK(view(&w, &g, 6, "a.c", T0 + 1, &why) == ERR_DENIED);
	CHECK(quota_flush_refusals(fac, INT64_MAX, T0 + 2) != 0); /* the log refuses */
	CHECK(refusals(32, "lines_total", &sum, NULL) == 0);
	CHECK(sqlite3_exec(facility_db(fac), "DROP TRIGGER no_log", NULL, NULL, NULL) == SQLITE_OK);
	CHECK(quota_flush_refusals(fac, INT64_MAX, T0 + 3) == 0);
	CHECK(refusals(32, "lines_total", &sum, NULL) == 1 && sum == 2);
}

int main(void)
{
	char dir[300];
	if (!mkdtemp(root))
		return 1;
	snprintf(dir, sizeof(dir), "%s/f", root);
	if (facility_init(dir, "quota.test") || facility_open(dir, &fac)) {
		fprintf(stderr, "%s\n", err_msg());
		return 1;
	}
	RUN(lines_per_day);
	RUN(distinct_lines);
	RUN(bytes);
	RUN(diff_charges_both_grants);
	RUN(lines_total);
	RUN(max_view_lines);
	RUN(search_lines_per_day);
	RUN(query_min_lines_and_searches_per_day);
	RUN(requests_per_minute);
	RUN(defaults_are_finite);
	RUN(settings);
	RUN(offsets);
	RUN(narrowing_queries);
	RUN(narrowing_distance);
	RUN(pages);
	RUN(refused_query_costs_its_minimum);
	RUN(line_shown);
	RUN(refusal_records_nothing);
	RUN(scraping_alert_then_hold_then_resume);
	RUN(refusals_are_logged_and_bounded);
	RUN(refusal_unlogged_is_still_refused);
	facility_free(fac);
	{
		char cmd[400];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
		if (system(cmd) != 0)
			return 1;
	}
	return test_done();
}
