/* Unit tests: policy (may_read rules and refusals, dual control races, revoke in flight). */
#include <pthread.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth.h"
#include "db.h"
#include "decision.h"
#include "ingest.h"
#include "policy.h"
#include "release.h"
#include "test.h"

static char root[] = "/tmp/sealroom-policy-XXXXXX";
static char dir[300];
static struct facility *fac;
static struct note_signer *vkey, *okey;
static const char *pw = "a good long password";
/* 2030-01-07 is a Monday; 10:00 UTC */
static const int64_t MON10 = 1894010400;

static void seal(const char *version)
{
	char src[400], file[450];
	struct seal_opts o = {0};
	struct release_info info;
	FILE *fp;
	snprintf(src, sizeof(src), "%s/src", root);
	mkdir(src, 0700);
	snprintf(file, sizeof(file), "%s/a.c", src);
	fp = fopen(file, "w");
	fputs("int x;\n", fp);
	fclose(fp);
	o.product = "fw";
	o.version = version;
	o.vendor = vkey;
	{
		static struct buf wpk;
		static int made;
		if (!made) {
			struct buf wsk;
			buf_init(&wsk, 4096);
			buf_init(&wpk, 4096);
			if (note_wrap_generate("acme", &wsk, &wpk))
				abort();
			buf_release(&wsk);
			made = 1;
		}
		o.wrap_pkey = wpk.p;
	}
	ingest_opts_default(&o.ingest);
	if (release_seal(fac, src, &o, &info)) {
		fprintf(stderr, "seal: %s\n", err_msg());
		exit(1);
	}
	release_info_release(&info);
}

static struct policy_actor as(const char *login, const struct note_signer *k, int64_t now)
{
	struct policy_actor a = {login, k, now, NULL};
	return a;
}

static struct session_info who_of(const char *login)
{
	struct session_info w;
	struct person_info p;
	memset(&w, 0, sizeof(w));
	if (policy_person_get(fac, login, &p) == 0) {
		w.person_id = p.id;
		snprintf(w.login, sizeof(w.login), "%s", p.login);
		snprintf(w.role, sizeof(w.role), "%s", p.role);
		w.org_id = p.org_id;
	}
	return w;
}

static struct grant_terms terms(void)
{
	struct grant_terms t = {0};
	t.valid_from = MON10 - 86400;
	t.valid_until = MON10 + 7 * 86400;
	t.days = 0x1f; /* mon-fri */
	t.hour_from = 8;
	t.hour_until = 18;
	t.lines_per_day = 1000;
	t.lines_total = POLICY_UNLIMITED;
	t.prints = 5;
	t.quotas = "{\"searches_per_hour\":100}";
	return t;
}

/* Nominate and vendor-approve reviewer for fw@version at now. */
static int approved(const char *version, const char *reviewer, int64_t now)
{
	struct policy_actor lead = as("lena", NULL, now), v = as("vera", vkey, now);
	struct policy_outcome o;
	return policy_nominate(fac, &lead, "fw", version, reviewer, "cv") ||
	       policy_approve(fac, &v, "fw", version, reviewer, &o);
}

TEST(parsing)
{
	unsigned d;
	int a, b;
	int64_t t;
	char s[32];
	CHECK(policy_parse_days("mon-fri", &d) == 0 && d == 0x1f);
	CHECK(policy_parse_days("sat,sun", &d) == 0 && d == 0x60);
	CHECK(policy_parse_days("fri-mon", &d) == 0 && d == 0x71);
	CHECK(policy_parse_days("all", &d) == 0 && d == 0x7f);
	CHECK(policy_parse_days("xyz", &d) == ERR_USAGE);
	policy_format_days(0x1f, s, sizeof(s));
	CHECK_EQ_STR(s, "mon-fri");
	policy_format_days(0x15, s, sizeof(s));
	CHECK_EQ_STR(s, "mon,wed,fri");
	CHECK(policy_parse_hours("08-18", &a, &b) == 0 && a == 8 && b == 18);
	CHECK(policy_parse_hours("00-24", &a, &b) == 0);
	CHECK(policy_parse_hours("00-25", &a, &b) == ERR_USAGE);
	CHECK(policy_parse_hours("10-10", &a, &b) == ERR_USAGE);
	CHECK(policy_parse_date("2030-01-07", 0, &t) == 0 && t == MON10 - 36000);
	CHECK(policy_parse_date("2030-01-07", 1, &t) == 0 && t == MON10 - 36000 + 86400);
	CHECK(policy_parse_date("2030-01-07T10:00Z", 1, &t) == 0 && t == MON10);
	CHECK(policy_parse_date("2030-01-07T10:00:00Z", 0, &t) == 0 && t == MON10);
	CHECK(policy_parse_date("@123", 0, &t) == 0 && t == 123);
	CHECK(policy_parse_date("2030-02-30", 0, &t) == ERR_USAGE);
	CHECK(policy_parse_date("2030-01-07T10:00", 0, &t) == ERR_USAGE);
	CHECK(policy_parse_duration("8h", &t) == 0 && t == 28800);
	CHECK(policy_parse_duration("30m", &t) == 0 && t == 1800);
	CHECK(policy_parse_duration("0h", &t) == ERR_USAGE);
	CHECK(policy_parse_duration("5y", &t) == ERR_USAGE);
	CHECK(policy_parse_duration("400d", &t) == ERR_USAGE);
}

TEST(window_days_hours_and_expiry)
{
	struct policy_actor op = as("otto", NULL, MON10), v = as("vera", vkey, MON10);
	struct policy_outcome o;
	struct grant_terms t = terms();
	struct session_info w = who_of("rita");
	struct grant_info g;
	CHECK(approved("1", "rita", MON10) == 0);
	CHECK(policy_may_read(fac, &w, "fw", "1", MON10, &g) == ERR_DENIED);
	CHECK_EQ_STR(err_msg(), "no grant for 'fw@1'");
	CHECK(policy_grant(fac, &op, "fw", "1", "rita", &t, &o) == 0 && !strcmp(o.what, "grant proposed"));
	CHECK_EQ_STR(o.waiting_for, "vendor");
	CHECK(policy_may_read(fac, &w, "fw", "1", MON10, &g) == ERR_DENIED);
	CHECK_EQ_STR(err_msg(), "your grant for 'fw@1' is not approved yet: it waits for the vendor");
	CHECK(policy_grant(fac, &v, "fw", "1", "rita", &t, &o) == 0 && !strcmp(o.what, "grant active"));
	CHECK(policy_may_read(fac, &w, "fw", "1", MON10, &g) == 0);
	CHECK(g.lines_per_day == 1000 && g.prints == 5 && g.lines_total == POLICY_UNLIMITED);
	CHECK_EQ_STR(g.vendor_by, "vera");
	CHECK_EQ_STR(g.operator_by, "otto");
	CHECK(strstr(g.quotas, "searches_per_hour") != NULL);
	/* hours: 08-18 */
	CHECK(policy_may_read(fac, &w, "fw", "1", MON10 - 2 * 3600 - 1, &g) == ERR_DENIED);
	CHECK_EQ_STR(err_msg(), "your grant for 'fw@1' covers 08:00-18:00 UTC only");
	CHECK(policy_may_read(fac, &w, "fw", "1", MON10 - 2 * 3600, &g) == 0);
	CHECK(policy_may_read(fac, &w, "fw", "1", MON10 + 8 * 3600 - 1, &g) == 0);
	CHECK(policy_may_read(fac, &w, "fw", "1", MON10 + 8 * 3600, &g) == ERR_DENIED);
	/* days: Saturday refused */
	CHECK(policy_may_read(fac, &w, "fw", "1", MON10 + 5 * 86400, &g) == ERR_DENIED);
	CHECK_EQ_STR(err_msg(), "your grant for 'fw@1' does not cover Saturdays (UTC)");
	/* the window: it starts yesterday and expires mid-session a week later */
	CHECK(policy_may_read(fac, &w, "fw", "1", MON10 - 86400 - 1, &g) == ERR_DENIED);
	CHECK(strstr(err_msg(), "starts at 2030-01-06T10:00:00Z") != NULL);
	CHECK(policy_may_read(fac, &w, "fw", "1", MON10 + 7 * 86400 - 1, &g) == 0);
	CHECK(policy_may_read(fac, &w, "fw", "1", MON10 + 7 * 86400, &g) == ERR_DENIED);
	CHECK_EQ_STR(err_msg(), "your grant for 'fw@1' expired at 2030-01-14T10:00:00Z");
	/* others never learn whether a release exists */
	{
		struct session_info rob = who_of("rob"), op2 = who_of("otto");
		CHECK(policy_may_read(fac, &rob, "fw", "1", MON10, &g) == ERR_DENIED);
		CHECK_EQ_STR(err_msg(), "no grant for 'fw@1'");
		CHECK(policy_may_read(fac, &rob, "fw", "nope", MON10, &g) == ERR_DENIED);
		CHECK_EQ_STR(err_msg(), "no grant for 'fw@nope'");
		CHECK(policy_may_read(fac, &op2, "fw", "1", MON10, &g) == ERR_DENIED);
		CHECK_EQ_STR(err_msg(), "no grant for 'fw@1'");
	}
}

static int count_cb(void *ctx, const struct grant_info *g)
{
	(*(int *)ctx)++;
	return 0;
}

TEST(counter_proposal_and_list)
{
	struct policy_actor op = as("otto", NULL, MON10), v = as("vera", vkey, MON10);
	struct policy_outcome o;
	struct grant_terms t = terms(), t2 = terms();
	struct session_info w = who_of("rita");
	int n = 0;
	CHECK(approved("2", "rita", MON10) == 0);
	CHECK(policy_grant(fac, &op, "fw", "2", "rita", &t, &o) == 0);
	t2.prints = 0;
	CHECK(policy_grant(fac, &v, "fw", "2", "rita", &t2, &o) == 0);
	CHECK_EQ_STR(o.what, "grant terms changed");
	CHECK_EQ_STR(o.waiting_for, "operator");
	CHECK(policy_approve(fac, &v, "fw", "2", "rita", &o) == ERR_EXISTS);
	CHECK(policy_approve(fac, &op, "fw", "2", "rita", &o) == 0 && !strcmp(o.what, "grant active"));
	CHECK(policy_releases_for(fac, &w, MON10, count_cb, &n) == 0 && n == 2);
	n = 0;
	CHECK(policy_releases_for(fac, &w, MON10 + 5 * 86400, count_cb, &n) == 0 && n == 0);
	CHECK(policy_grant(fac, &op, "fw", "2", "rita", &t, &o) == ERR_EXISTS);
}

TEST(objection_window)
{
	struct policy_actor lead = as("lena", NULL, MON10);
	struct policy_actor op_early = as("otto", NULL, MON10 + 14 * 86400 - 1);
	struct policy_actor op_late = as("otto", NULL, MON10 + 14 * 86400);
	struct policy_actor v_late = as("vera", vkey, MON10 + 14 * 86400);
	struct policy_actor v_wrong = as("vera", okey, MON10);
	struct policy_actor v_none = as("vera", NULL, MON10);
	struct policy_outcome o;
	CHECK(policy_nominate(fac, &lead, "fw", "3", "rob", NULL) == 0);
	CHECK(policy_object(fac, &v_wrong, "fw", "3", "rob", "x") == ERR_AUTH);
	CHECK(policy_object(fac, &v_none, "fw", "3", "rob", "x") == ERR_DENIED);
	CHECK(policy_object(fac, &v_late, "fw", "3", "rob", "x") == ERR_DENIED);
	CHECK(strstr(err_msg(), "closed at") != NULL);
	CHECK(policy_approve(fac, &op_early, "fw", "3", "rob", &o) == ERR_DENIED);
	CHECK(strstr(err_msg(), "runs until 2030-01-21T10:00:00Z") != NULL);
	CHECK(policy_approve(fac, &op_late, "fw", "3", "rob", &o) == 0);
	CHECK_EQ_STR(o.what, "nomination approved");
	/* a per-release window */
	{
		struct policy_actor v = as("vera", vkey, MON10);
		CHECK(policy_set_objection_days(fac, &v, "fw", "4", 2) == 0);
		CHECK(policy_set_objection_days(fac, &v, "fw", "4", 0) == ERR_USAGE);
		CHECK(policy_nominate(fac, &lead, "fw", "4", "rob", NULL) == 0);
		op_late.now = MON10 + 2 * 86400;
		CHECK(policy_approve(fac, &op_late, "fw", "4", "rob", &o) == 0);
	}
}

struct race {
	struct policy_actor a;
	const char *version;
	int grant; /* 1: policy_grant, 0: policy_approve */
	int rc;
	char what[64];
};

static void *race_fn(void *p)
{
	struct race *r = p;
	struct facility *f;
	struct policy_outcome o = {0};
	struct grant_terms t = terms();
	r->rc = facility_open(dir, &f);
	if (!r->rc)
		r->rc = r->grant ? policy_grant(f, &r->a, "fw", r->version, "rita", &t, &o)
				 : policy_approve(f, &r->a, "fw", r->version, "rita", &o);
	snprintf(r->what, sizeof(r->what), "%s", o.what);
	facility_free(f);
	return NULL;
}

static int64_t active_grants(const char *version)
{
	struct grant_info g;
	struct session_info w = who_of("rita");
	return policy_may_read(fac, &w, "fw", version, MON10, &g) == 0;
}

/* Two approvals at once by the two sides, each with its own connection: one proposes,
 * the other completes; and two countersignatures at once: exactly one completes. */
TEST(dual_control_races)
{
	pthread_t th[2];
	struct race r[2];
	struct policy_actor op = as("otto", NULL, MON10);
	struct policy_outcome o;
	struct grant_terms t = terms();
	CHECK(approved("5", "rita", MON10) == 0);
	memset(r, 0, sizeof(r));
	r[0].a = as("otto", NULL, MON10);
	r[1].a = as("vera", vkey, MON10);
	for (int i = 0; i < 2; i++) {
		r[i].version = "5";
		r[i].grant = 1;
		pthread_create(&th[i], NULL, race_fn, &r[i]);
	}
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	CHECK(r[0].rc == 0 && r[1].rc == 0);
	CHECK((!strcmp(r[0].what, "grant active")) + (!strcmp(r[1].what, "grant active")) == 1);
	CHECK(active_grants("5") == 1);

	/* operator proposed; two vendor countersignatures race */
	CHECK(approved("6", "rita", MON10) == 0);
	CHECK(policy_grant(fac, &op, "fw", "6", "rita", &t, &o) == 0);
	memset(r, 0, sizeof(r));
	for (int i = 0; i < 2; i++) {
		r[i].a = as(i ? "vera" : "vic", vkey, MON10);
		r[i].version = "6";
		pthread_create(&th[i], NULL, race_fn, &r[i]);
	}
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	CHECK((r[0].rc == 0) + (r[1].rc == 0) == 1);
	CHECK(r[0].rc == ERR_EXISTS || r[1].rc == ERR_EXISTS);
	CHECK(active_grants("6") == 1);
}

struct reader {
	struct session_info who;
	volatile int *revoked;
	int read_after_revoke;
	int reads;
};

static void *reader_fn(void *p)
{
	struct reader *rd = p;
	struct facility *f;
	struct grant_info g;
	if (facility_open(dir, &f))
		return NULL;
	for (int i = 0; i < 2000; i++) {
		int done = *rd->revoked;
		int rc = policy_may_read(f, &rd->who, "fw", "7", MON10, &g);
		if (rc == 0) {
			rd->reads++;
			if (done)
				rd->read_after_revoke++;
		} else if (done) {
			break;
		}
	}
	facility_free(f);
	return NULL;
}

/* A revoke while requests are in flight: after it returns, no request is allowed, and the
 * reviewer's sessions are gone. */
TEST(revoke_in_flight_and_halt)
{
	struct policy_actor op = as("otto", NULL, MON10), v = as("vera", vkey, MON10);
	struct policy_outcome o;
	struct grant_terms t = terms();
	struct buf tok;
	struct session_info who;
	struct grant_info g;
	volatile int revoked = 0;
	struct reader rd;
	pthread_t th;
	char code[9];
	unsigned char sec[AUTH_TOTP_SECRET_LEN];
	int64_t mark7 = -1;
	const char *why = NULL;
	CHECK(policy_person_add(fac, "ray", "lab1", "reviewer", "", pw, "t", sec) == 0);
	CHECK(approved("7", "ray", MON10) == 0);
	CHECK(policy_grant(fac, &op, "fw", "7", "ray", &t, &o) == 0);
	CHECK(policy_grant(fac, &v, "fw", "7", "ray", &t, &o) == 0);
	buf_init(&tok, 128);
	auth_totp_code(sec, sizeof(sec), MON10, 6, code);
	CHECK(auth_login_at(fac, "ray", pw, code, "ip", NULL, MON10, &tok, &who) == 0);
	CHECK(policy_may_read(fac, &who, "fw", "7", MON10, &g) == 0);
	/* a running room's first look sets its mark; nothing is withdrawn yet */
	CHECK(policy_withdrawn(fac, "fw", "7", &mark7, &why) == 0 && why == NULL && mark7 == 0);
	CHECK(policy_withdrawn(fac, "fw", "7", &mark7, &why) == 0 && why == NULL);
	memset(&rd, 0, sizeof(rd));
	rd.who = who;
	rd.revoked = &revoked;
	pthread_create(&th, NULL, reader_fn, &rd);
	usleep(20000);
	CHECK(policy_revoke_reviewer(fac, &v, "fw", "7", "ray", "leak", &o) == 0);
	revoked = 1;
	pthread_join(th, NULL);
	CHECK(rd.read_after_revoke == 0);
	CHECK(policy_may_read(fac, &who, "fw", "7", MON10, &g) == ERR_DENIED);
	CHECK_EQ_STR(err_msg(), "your grant for 'fw@7' was revoked");
	CHECK(auth_session_at(fac, tok.p, "ip", NULL, MON10 + 1, &who) == ERR_AUTH);
	CHECK(policy_revoke_reviewer(fac, &v, "fw", "7", "ray", "again", &o) == ERR_NOTFOUND);
	/* the last active grant revoked since the room looked: it must let go */
	CHECK(policy_withdrawn(fac, "fw", "7", &mark7, &why) == 0 && why && !strcmp(why, "revoked"));
	CHECK(mark7 == 1);
	/* a room that first looks after the revocation (an unlock with no live grant) keeps it */
	mark7 = -1;
	CHECK(policy_withdrawn(fac, "fw", "7", &mark7, &why) == 0 && why == NULL && mark7 == 1);
	CHECK(policy_withdrawn(fac, "fw", "7", &mark7, &why) == 0 && why == NULL);
	/* a release that is not in the catalogue */
	mark7 = -1;
	CHECK(policy_withdrawn(fac, "fw", "none", &mark7, &why) == 0 && why && !strcmp(why, "gone from the catalogue"));
	/* halt: rita's grant on fw@1 stops at once */
	{
		struct session_info w = who_of("rita");
		int64_t mark1 = -1;
		CHECK(policy_may_read(fac, &w, "fw", "1", MON10, &g) == 0);
		CHECK(policy_withdrawn(fac, "fw", "1", &mark1, &why) == 0 && why == NULL);
		CHECK(policy_halt(fac, &op, "fw", "1", &o) == ERR_DENIED);
		CHECK(policy_withdrawn(fac, "fw", "1", &mark1, &why) == 0 && why == NULL);
		CHECK(policy_halt(fac, &v, "fw", "1", &o) == 0);
		CHECK(policy_withdrawn(fac, "fw", "1", &mark1, &why) == 0 && why && !strcmp(why, "halted"));
		mark1 = -1; /* halted is halted, whenever the room looks first */
		CHECK(policy_withdrawn(fac, "fw", "1", &mark1, &why) == 0 && why && !strcmp(why, "halted"));
		CHECK(policy_may_read(fac, &w, "fw", "1", MON10, &g) == ERR_DENIED);
		CHECK_EQ_STR(err_msg(), "release 'fw@1' is halted by the vendor");
		CHECK(policy_approve(fac, &op, "fw", "1", "rita", &o) == ERR_DENIED);
	}
	buf_release(&tok);
}

TEST(shred_certificate)
{
	struct policy_actor v = as("vera", vkey, MON10), op = as("otto", NULL, MON10);
	struct buf cert;
	struct note_verifier *fv = NULL;
	const struct note_signer *fs;
	struct buf vk;
	struct str text;
	struct release_info ri;
	struct session_info w = who_of("rita");
	struct grant_info g;
	buf_init(&cert, 1 << 16);
	buf_init(&vk, 4096);
	int64_t mark = -1;
	const char *why = NULL;
	CHECK(policy_shred(fac, &op, "fw", "2", &cert) == ERR_DENIED);
	CHECK(policy_withdrawn(fac, "fw", "2", &mark, &why) == 0 && why == NULL);
	CHECK(policy_shred(fac, &v, "fw", "2", &cert) == 0);
	CHECK(policy_withdrawn(fac, "fw", "2", &mark, &why) == 0 && why && !strcmp(why, "shredded"));
	CHECK(facility_signer(fac, &fs) == 0 && note_signer_vkey(fs, &vk) == 0);
	CHECK(note_verifier_parse(vk.p, vk.len, &fv) == 0);
	CHECK(note_open(cert.p, cert.len, fv, &text) == 0);
	CHECK(strstr(text.p, "sealroom/destruction/v1\n") == text.p);
	CHECK(strstr(text.p, "\nrelease fw@2\n") != NULL);
	CHECK(release_get(fac, "fw", "2", &ri) == 0 && ri.wrapped_key == NULL && !strcmp(ri.state, "shredded"));
	release_info_release(&ri);
	CHECK(policy_may_read(fac, &w, "fw", "2", MON10, &g) == ERR_DENIED);
	CHECK_EQ_STR(err_msg(), "release 'fw@2' was shredded");
	CHECK(policy_shred(fac, &v, "fw", "2", &cert) == ERR_DENIED);
	note_verifier_free(fv);
	buf_release(&cert);
	buf_release(&vk);
}

/* A decision of kind for fw@version by key (the vendor's machine), its note into out. */
static int sign_decision(const char *kind, const char *version, const char *seal_of, const char *reviewer,
			 const struct note_signer *key, struct buf *out)
{
	struct decision d;
	struct release_info ri;
	int r;
	memset(&d, 0, sizeof(d));
	snprintf(d.kind, sizeof(d.kind), "%s", kind);
	snprintf(d.product, sizeof(d.product), "fw");
	snprintf(d.version, sizeof(d.version), "%s", version);
	if (release_get(fac, "fw", seal_of, &ri))
		return -1;
	decision_seal_hash(ri.seal_note, d.seal);
	release_info_release(&ri);
	d.time = MON10;
	snprintf(d.reviewer, sizeof(d.reviewer), "%s", reviewer ? reviewer : "");
	d.terms = terms();
	buf_reset(out);
	r = decision_sign(&d, key, out);
	return r;
}

static int64_t log_count(const char *type)
{
	sqlite3_stmt *st;
	char pat[64];
	int64_t n = -1;
	snprintf(pat, sizeof(pat), "%%\"type\":\"%s\"%%", type);
	if (db_prepare(facility_db(fac), "SELECT count(*) FROM log_entries WHERE CAST(data AS TEXT) LIKE ?", &st))
		return -1;
	sqlite3_bind_text(st, 1, pat, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

static int sql(const char *q)
{
	return db_exec(facility_db(fac), q);
}

/*
 * The operator as attacker: decision files forged, altered, replayed, or for another
 * seal are refused; a grant inserted as a row, a quota raised in its row, a statement
 * copied to another release or left without the facility's countersignature: each is
 * refused on the next access with a one-line reason, and logged.
 */
TEST(decisions_and_operator_edits)
{
	struct policy_actor lead = as("lena", NULL, MON10), op = as("otto", NULL, MON10);
	struct policy_outcome o;
	struct session_info w = who_of("rita");
	struct grant_info g;
	struct buf note, bad;
	char q[16384];
	int64_t refused;
	int n = 0, n0 = 0;
	buf_init(&note, 8192);
	buf_init(&bad, 8192);
	CHECK(policy_nominate(fac, &lead, "fw", "8", "rita", "cv") == 0);
	/* forged: another key */
	CHECK(sign_decision("approve", "8", "8", "rita", okey, &bad) == 0);
	CHECK(policy_apply(fac, &op, bad.p, bad.len, &o, NULL) == ERR_AUTH);
	CHECK(strstr(err_msg(), "not signed by the vendor of 'fw@8'") != NULL);
	/* altered: the genuine note, another reviewer in its text */
	CHECK(sign_decision("approve", "8", "8", "rita", vkey, &note) == 0);
	buf_reset(&bad);
	CHECK(buf_add(&bad, note.p, note.len) == 0);
	{
		char *p = strstr(bad.p, "reviewer rita\n");
		CHECK(p != NULL);
		if (p)
			memcpy(p + 9, "rob ", 4), memmove(p + 12, p + 13, strlen(p + 13) + 1), bad.len--;
	}
	CHECK(policy_apply(fac, &op, bad.p, bad.len, &o, NULL) == ERR_AUTH);
	/* for another seal: the hash of fw@9's seal in a decision naming fw@8 */
	CHECK(sign_decision("approve", "8", "9", "rita", vkey, &bad) == 0);
	CHECK(policy_apply(fac, &op, bad.p, bad.len, &o, NULL) == ERR_AUTH);
	CHECK_EQ_STR(err_msg(), "decision: it names another seal of 'fw@8' than the one here");
	/* applied by someone who is not the operator */
	CHECK(policy_apply(fac, &lead, note.p, note.len, &o, NULL) == ERR_DENIED);
	CHECK(policy_may_read(fac, &w, "fw", "8", MON10, &g) == ERR_DENIED);
	/* the genuine one, by the operator: the nomination approved and the grant active */
	CHECK(policy_apply(fac, &op, note.p, note.len, &o, NULL) == 0);
	CHECK_EQ_STR(o.what, "grant active");
	CHECK(policy_may_read(fac, &w, "fw", "8", MON10, &g) == 0);
	CHECK(g.lines_per_day == 1000 && g.prints == 5);
	/* replayed */
	CHECK(policy_apply(fac, &op, note.p, note.len, &o, NULL) == ERR_EXISTS);
	CHECK(strstr(err_msg(), "was applied already") != NULL);
	/* the log entry carries both signatures */
	{
		sqlite3_stmt *st;
		const char *e = NULL;
		CHECK(db_prepare(facility_db(fac), "SELECT CAST(data AS TEXT) FROM log_entries WHERE CAST(data AS TEXT) "
						   "LIKE '%\"type\":\"grant_active\"%' ORDER BY idx DESC LIMIT 1", &st) == 0);
		if (sqlite3_step(st) == SQLITE_ROW)
			e = (const char *)sqlite3_column_text(st, 0);
		CHECK(e && strstr(e, "\xe2\x80\x94 acme ") && strstr(e, "\xe2\x80\x94 room.example "));
		sqlite3_finalize(st);
	}
	/* the raised quota: refused and logged, until the row says what was signed again */
	refused = log_count("grant_refused");
	snprintf(q, sizeof(q), "UPDATE grants SET lines_total = 999999 WHERE id = %lld", (long long)g.id);
	CHECK(sql(q) == 0);
	CHECK(policy_may_read(fac, &w, "fw", "8", MON10, &g) == ERR_DENIED);
	CHECK(strstr(err_msg(), "is refused: its terms differ from the ones the vendor signed") != NULL);
	CHECK(log_count("grant_refused") == refused + 1);
	snprintf(q, sizeof(q), "UPDATE grants SET lines_total = -1 WHERE id = %lld", (long long)g.id);
	CHECK(sql(q) == 0);
	CHECK(policy_may_read(fac, &w, "fw", "8", MON10, &g) == 0);
	/* the inserted grant: rita on fw@9, never nominated, never signed */
	CHECK(policy_releases_for(fac, &w, MON10, count_cb, &n0) == 0);
	CHECK(sql("INSERT INTO grants (release_id, reviewer_id, state, valid_from, valid_until, days, hour_from, "
		  "hour_until, lines_per_day, lines_total, prints, quotas, created_at) SELECT r.id, p.id, 'active', "
		  "0, 4000000000, 127, 0, 24, -1, -1, -1, '{}', 0 FROM releases r, people p WHERE r.version = '9' "
		  "AND p.login = 'rita'") == 0);
	CHECK(policy_may_read(fac, &w, "fw", "9", MON10, &g) == ERR_DENIED);
	CHECK(strstr(err_msg(), "is refused: it carries no statement signed by the vendor") != NULL);
	CHECK(policy_releases_for(fac, &w, MON10, count_cb, &n) == 0);
	CHECK(n == n0 && n0 >= 1); /* not listed */
	/* ... with fw@8's countersigned statement copied into it */
	CHECK(sql("UPDATE grants SET statement = (SELECT statement FROM grants WHERE state = 'active' AND "
		  "release_id = (SELECT id FROM releases WHERE version = '8')), valid_from = " "1893924000"
		  ", valid_until = 1894615200, days = 31, hour_from = 8, hour_until = 18, lines_per_day = 1000, "
		  "prints = 5, quotas = '{\"searches_per_hour\":100}' WHERE release_id = (SELECT id FROM releases "
		  "WHERE version = '9')") == 0);
	CHECK(policy_may_read(fac, &w, "fw", "9", MON10, &g) == ERR_DENIED);
	CHECK(strstr(err_msg(), "its statement approves another release") != NULL);
	/* ... or with the vendor's signed approval alone, not countersigned */
	CHECK(sign_decision("approve", "9", "9", "rita", vkey, &bad) == 0);
	{
		sqlite3_stmt *st;
		CHECK(db_prepare(facility_db(fac), "UPDATE grants SET statement = ? WHERE release_id = (SELECT id FROM "
						   "releases WHERE version = '9')", &st) == 0);
		sqlite3_bind_text(st, 1, bad.p, (int)bad.len, SQLITE_STATIC);
		CHECK(sqlite3_step(st) == SQLITE_DONE);
		sqlite3_finalize(st);
	}
	CHECK(policy_may_read(fac, &w, "fw", "9", MON10, &g) == ERR_DENIED);
	CHECK(strstr(err_msg(), "not countersigned by the facility") != NULL);
	CHECK(log_count("grant_refused") >= refused + 4);
	/* the vendor's revocation, as a file */
	CHECK(sign_decision("revoke", "8", "8", "rita", vkey, &bad) == 0);
	CHECK(policy_apply(fac, &op, bad.p, bad.len, &o, NULL) == 0);
	CHECK(policy_may_read(fac, &w, "fw", "8", MON10, &g) == ERR_DENIED);
	CHECK_EQ_STR(err_msg(), "your grant for 'fw@8' was revoked");
	/* the operator sets the revoked grant back to active as a row: its statement is the
	 * vendor's and the facility's, its terms are the signed ones, but the log says it was
	 * revoked, and the log is what is asked */
	refused = log_count("grant_refused");
	CHECK(sql("UPDATE grants SET state = 'active' WHERE release_id = (SELECT id FROM releases WHERE version = '8') "
		  "AND reviewer_id = (SELECT id FROM people WHERE login = 'rita')") == 0);
	CHECK(policy_may_read(fac, &w, "fw", "8", MON10, &g) == ERR_DENIED);
	CHECK(strstr(err_msg(), "is refused: the log holds no live grant of 'rita' for 'fw@8'") != NULL);
	CHECK(log_count("grant_refused") == refused + 1);
	n = 0;
	CHECK(policy_releases_for(fac, &w, MON10, count_cb, &n) == 0 && n == n0 - 1); /* nor listed */
	buf_release(&note);
	buf_release(&bad);
}

int main(void)
{
	char cmd[400], kp[400];
	unsigned char s[AUTH_TOTP_SECRET_LEN];
	struct buf sk, vk;
	int rc;
	if (!mkdtemp(root))
		return 1;
	snprintf(dir, sizeof(dir), "%s/f", root);
	buf_init(&sk, 4096);
	buf_init(&vk, 4096);
	if (note_key_generate("acme", &sk, &vk) || note_signer_parse(sk.p, sk.len, &vkey))
		return 1;
	buf_reset(&sk);
	buf_reset(&vk);
	if (note_key_generate("other", &sk, &vk) || note_signer_parse(sk.p, sk.len, &okey))
		return 1;
	(void)kp;
	if (facility_init(dir, "room.example") || facility_open(dir, &fac) ||
	    policy_org_add(fac, "acme", "vendor", "t") || policy_org_add(fac, "lab1", "lab", "t") ||
	    policy_org_add(fac, "ops", "operator", "t") ||
	    policy_person_add(fac, "vera", "acme", "vendor", "", pw, "t", s) ||
	    policy_person_add(fac, "vic", "acme", "vendor", "", pw, "t", s) ||
	    policy_person_add(fac, "otto", "ops", "operator", "", pw, "t", s) ||
	    policy_person_add(fac, "lena", "lab1", "auditor", "", pw, "t", s) ||
	    policy_person_add(fac, "rita", "lab1", "reviewer", "", pw, "t", s) ||
	    policy_person_add(fac, "rob", "lab1", "reviewer", "", pw, "t", s)) {
		fprintf(stderr, "setup: %s\n", err_msg());
		return 1;
	}
	for (int i = 1; i <= 9; i++) {
		char v[16];
		snprintf(v, sizeof(v), "%d", i);
		seal(v);
	}
	RUN(parsing);
	RUN(window_days_hours_and_expiry);
	RUN(counter_proposal_and_list);
	RUN(objection_window);
	RUN(dual_control_races);
	RUN(revoke_in_flight_and_halt);
	RUN(shred_certificate);
	RUN(decisions_and_operator_edits);
	facility_free(fac);
	note_signer_free(vkey);
	note_signer_free(okey);
	buf_release(&sk);
	buf_release(&vk);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	rc = system(cmd);
	(void)rc;
	return test_done();
}
