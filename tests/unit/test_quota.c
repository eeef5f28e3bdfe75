/* Unit tests: quota (each limit at the limit and one past it, resets, the scraping watch). */
#include <unistd.h>

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

TEST(lines_per_day)
{
	struct grant_info g = grant(1, "{}");
	struct session_info w = who("00000000000000d1");
	struct quota_refusal why;
	g.lines_per_day = 100;
	CHECK(quota_charge(fac, &w, &g, QUOTA_VIEW, 60, "a.c", T0, &why) == 0);
	CHECK(quota_charge(fac, &w, &g, QUOTA_VIEW, 40, "a.c", T0, &why) == 0); /* at the limit */
	CHECK(quota_charge(fac, &w, &g, QUOTA_VIEW, 1, "a.c", T0, &why) == ERR_DENIED); /* one past */
	CHECK_EQ_STR(why.quota, "lines_per_day");
	CHECK(why.limit == 100 && why.used == 100 && why.resets_at == T0 - 36000 + 86400);
	CHECK(strstr(err_msg(), "quota 'lines_per_day' reached: 100 of 100 lines used") != NULL);
	CHECK(strstr(err_msg(), "resets at 2030-01-08T00:00:00Z") != NULL);
	/* the next day it starts again */
	CHECK(quota_charge(fac, &w, &g, QUOTA_VIEW, 100, "a.c", T0 + 86400, &why) == 0);
}

TEST(lines_total)
{
	struct grant_info g = grant(2, "{}");
	struct session_info w = who("00000000000000d2");
	struct quota_refusal why;
	g.lines_total = 150;
	CHECK(quota_charge(fac, &w, &g, QUOTA_VIEW, 100, "a.c", T0, &why) == 0);
	CHECK(quota_charge(fac, &w, &g, QUOTA_VIEW, 51, "a.c", T0 + 86400, &why) == ERR_DENIED);
	CHECK_EQ_STR(why.quota, "lines_total");
	CHECK(why.resets_at == 0 && strstr(err_msg(), "does not reset") != NULL);
	CHECK(quota_charge(fac, &w, &g, QUOTA_VIEW, 50, "a.c", T0 + 86400, &why) == 0);
	CHECK(quota_charge(fac, &w, &g, QUOTA_VIEW, 1, "a.c", T0 + 2 * 86400, &why) == ERR_DENIED);
}

TEST(max_view_lines)
{
	struct grant_info g = grant(3, "{\"max_view_lines\":500}");
	struct session_info w = who("00000000000000d3");
	struct quota_refusal why;
	CHECK(quota_charge(fac, &w, &g, QUOTA_VIEW, 500, "a.c", T0, &why) == 0);
	CHECK(quota_charge(fac, &w, &g, QUOTA_VIEW, 501, "a.c", T0, &why) == ERR_DENIED);
	CHECK_EQ_STR(why.quota, "max_view_lines");
	CHECK(strstr(err_msg(), "at most 500 lines at once") != NULL);
}

TEST(search_lines_per_day)
{
	struct grant_info g = grant(4, "{\"search_lines_per_day\":200}");
	struct session_info w = who("00000000000000d4");
	struct quota_refusal why;
	CHECK(quota_charge(fac, &w, &g, QUOTA_SEARCH, 200, NULL, T0, &why) == 0);
	CHECK(quota_charge(fac, &w, &g, QUOTA_SEARCH, 1, NULL, T0, &why) == ERR_DENIED);
	CHECK_EQ_STR(why.quota, "search_lines_per_day");
	CHECK(quota_charge(fac, &w, &g, QUOTA_SEARCH, 1, NULL, T0 + 86400, &why) == 0);
}

TEST(requests_per_minute)
{
	struct grant_info g = grant(5, "{\"requests_per_minute\":3}");
	struct session_info w = who("00000000000000d5");
	struct quota_refusal why;
	int64_t m = T0 + 5; /* inside the minute starting at T0 */
	for (int i = 0; i < 3; i++)
		CHECK(quota_charge(fac, &w, &g, QUOTA_REQUEST, 1, NULL, m, &why) == 0);
	CHECK(quota_charge(fac, &w, &g, QUOTA_REQUEST, 1, NULL, m, &why) == ERR_DENIED);
	CHECK_EQ_STR(why.quota, "requests_per_minute");
	CHECK(why.resets_at == T0 + 60);
	CHECK(quota_charge(fac, &w, &g, QUOTA_REQUEST, 1, NULL, T0 + 60, &why) == 0);
}

TEST(pages)
{
	struct grant_info g = grant(6, "{\"pages_per_print\":10}");
	struct session_info w = who("00000000000000d6");
	struct quota_refusal why;
	int64_t p, t;
	g.prints = 15;
	CHECK(quota_charge(fac, &w, &g, QUOTA_PRINT, 11, NULL, T0, &why) == ERR_DENIED);
	CHECK_EQ_STR(why.quota, "pages_per_print");
	CHECK(quota_charge(fac, &w, &g, QUOTA_PRINT, 10, NULL, T0, &why) == 0);
	CHECK(quota_charge(fac, &w, &g, QUOTA_PRINT, 6, NULL, T0, &why) == ERR_DENIED);
	CHECK_EQ_STR(why.quota, "prints");
	CHECK(quota_charge(fac, &w, &g, QUOTA_PRINT, 5, NULL, T0, &why) == 0);
	CHECK(quota_used(fac, &g, QUOTA_PRINT, T0, &p, &t) == 0 && t == 15);
}

TEST(refusal_records_nothing)
{
	struct grant_info g = grant(7, "{}");
	struct session_info w = who("00000000000000d7");
	struct quota_refusal why;
	int64_t p, t;
	g.lines_per_day = 10;
	CHECK(quota_charge(fac, &w, &g, QUOTA_VIEW, 11, "a.c", T0, &why) == ERR_DENIED);
	CHECK(quota_used(fac, &g, QUOTA_VIEW, T0, &p, &t) == 0 && p == 0 && t == 0);
	snprintf(g.quotas, sizeof(g.quotas), "{\"max_view_lines\":\"many\"}");
	CHECK(quota_charge(fac, &w, &g, QUOTA_VIEW, 1, "a.c", T0, &why) == ERR_PARSE);
}

TEST(scraping_alert_then_hold_then_resume)
{
	struct grant_info g = grant(8, "{\"walk_alert\":5,\"walk_suspend\":8,\"walk_window\":300}");
	struct session_info w = who("00000000000000d8");
	struct quota_refusal why;
	unsigned char totp[AUTH_TOTP_SECRET_LEN];
	char path[32];
	int held = 0, alerts0 = log_count("alert");
	/* the same file again and again is reading, not walking */
	for (int i = 0; i < 20; i++)
		CHECK(quota_charge(fac, &w, &g, QUOTA_VIEW, 10, "src/a.c", T0 + i, &why) == 0);
	CHECK(log_count("alert") == alerts0);
	for (int i = 0; i < 6; i++) {
		snprintf(path, sizeof(path), "src/f%02d.c", i);
		CHECK(quota_charge(fac, &w, &g, QUOTA_VIEW, 10, path, T0 + 30 + i, &why) == 0);
	}
	CHECK(log_count("alert") == alerts0 + 1); /* once, at 5 distinct files (a.c and 4) */
	/* 7 distinct files so far: the 8th is one past walk_suspend - 1 */
	CHECK(quota_charge(fac, &w, &g, QUOTA_VIEW, 10, "src/f07.c", T0 + 41, &why) == ERR_DENIED);
	CHECK_EQ_STR(why.quota, "session_held");
	CHECK(strstr(err_msg(), "is held for review: 8 distinct files") != NULL);
	CHECK(log_count("session_hold") == 1);
	CHECK(quota_held(fac, w.session_id, &held, NULL) == 0 && held == 1);
	/* everything is refused while held, even a request */
	CHECK(quota_charge(fac, &w, &g, QUOTA_REQUEST, 1, NULL, T0 + 42, &why) == ERR_DENIED);
	/* a reviewer may not resume; an operator may */
	CHECK(policy_org_add(fac, "ops", "operator", "test") == 0);
	CHECK(policy_org_add(fac, "lab", "lab", "test") == 0);
	CHECK(policy_person_add(fac, "otto", "ops", "operator", "Otto", "a good long password", "test", totp) == 0);
	CHECK(policy_person_add(fac, "rita", "lab", "reviewer", "Rita", "a good long password", "test", totp) == 0);
	CHECK(quota_resume(fac, w.session_id, "rita", T0 + 50) == ERR_DENIED);
	CHECK(quota_resume(fac, w.session_id, "otto", T0 + 50) == 0);
	CHECK(quota_resume(fac, w.session_id, "otto", T0 + 51) == ERR_NOTFOUND);
	CHECK(log_count("session_resume") == 1);
	CHECK(quota_charge(fac, &w, &g, QUOTA_VIEW, 10, "src/f07.c", T0 + 60, &why) == 0);
	/* files outside the window are forgotten */
	for (int i = 0; i < 7; i++) {
		snprintf(path, sizeof(path), "src/g%02d.c", i);
		CHECK(quota_charge(fac, &w, &g, QUOTA_VIEW, 1, path, T0 + 1000 + i * 400, &why) == 0);
	}
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
	RUN(lines_total);
	RUN(max_view_lines);
	RUN(search_lines_per_day);
	RUN(requests_per_minute);
	RUN(pages);
	RUN(refusal_records_nothing);
	RUN(scraping_alert_then_hold_then_resume);
	facility_free(fac);
	{
		char cmd[400];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
		if (system(cmd) != 0)
			return 1;
	}
	return test_done();
}
