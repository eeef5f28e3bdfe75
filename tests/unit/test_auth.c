/* Unit tests: auth (TOTP vectors, base32, otpauth URIs, logins, lockout, sessions). */
#include <stdio.h>
#include <string.h>
#include <pthread.h>
#include <unistd.h>

#include "auth.h"
#include "db.h"
#include "policy.h"
#include "test.h"

static char root[] = "/tmp/sealroom-auth-XXXXXX";
static struct facility *fac;
static unsigned char secret[AUTH_TOTP_SECRET_LEN];
static const char *pw = "correct horse battery";
static const int64_t T0 = 1700000000; /* a Tuesday, 22:13:20 UTC */

/* RFC 6238 appendix B, SHA-1 rows: the seed is the ASCII string "12345678901234567890". */
TEST(totp_rfc6238_vectors)
{
	static const struct {
		int64_t t;
		const char *code;
	} v[] = {{59, "94287082"},         {1111111109, "07081804"}, {1111111111, "14050471"},
		 {1234567890, "89005924"}, {2000000000, "69279037"}, {20000000000LL, "65353130"}};
	const unsigned char *seed = (const unsigned char *)"12345678901234567890";
	char code[9];
	int64_t step;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		auth_totp_code(seed, 20, v[i].t, 8, code);
		CHECK_EQ_STR(code, v[i].code);
		auth_totp_code(seed, 20, v[i].t, 6, code);
		CHECK_EQ_STR(code, v[i].code + 2);
		CHECK(auth_totp_verify(seed, 20, v[i].code + 2, 6, v[i].t, -1, &step) == 0);
		CHECK(step == v[i].t / 30);
		CHECK(auth_totp_verify(seed, 20, v[i].code, 8, v[i].t, -1, &step) == 0);
	}
	/* RFC 4226 appendix D: HOTP counter 0 and 9 */
	CHECK(auth_hotp(seed, 20, 0, 6) == 755224);
	CHECK(auth_hotp(seed, 20, 9, 6) == 520489);
}

TEST(totp_skew_and_replay)
{
	const unsigned char *seed = (const unsigned char *)"12345678901234567890";
	char code[9];
	int64_t step;
	auth_totp_code(seed, 20, 1000 * 30, 6, code);
	CHECK(auth_totp_verify(seed, 20, code, 6, 1000 * 30 + 29, -1, &step) == 0 && step == 1000);
	CHECK(auth_totp_verify(seed, 20, code, 6, 1001 * 30, -1, &step) == 0);   /* one step late */
	CHECK(auth_totp_verify(seed, 20, code, 6, 999 * 30, -1, &step) == 0);    /* one step early */
	CHECK(auth_totp_verify(seed, 20, code, 6, 1002 * 30, -1, &step) == ERR_AUTH); /* two late */
	CHECK(auth_totp_verify(seed, 20, code, 6, 998 * 30, -1, &step) == ERR_AUTH);
	CHECK(auth_totp_verify(seed, 20, code, 6, 1000 * 30, 1000, &step) == ERR_AUTH); /* used */
	CHECK(auth_totp_verify(seed, 20, "12345", 6, 0, -1, &step) == ERR_AUTH);
	CHECK(auth_totp_verify(seed, 20, "12345a", 6, 0, -1, &step) == ERR_AUTH);
	CHECK(auth_totp_verify(seed, 20, "1234567", 6, 0, -1, &step) == ERR_AUTH);
}

TEST(base32_and_uri)
{
	/* RFC 4648 section 10 */
	static const char *in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
	static const char *out[] = {"", "MY", "MZXQ", "MZXW6", "MZXW6YQ", "MZXW6YTB", "MZXW6YTBOI"};
	struct buf b, d;
	for (int i = 0; i < 7; i++) {
		buf_init(&b, 0);
		buf_init(&d, 0);
		CHECK(auth_base32_encode(in[i], strlen(in[i]), &b) == 0);
		CHECK_EQ_STR(b.p ? b.p : "", out[i]);
		CHECK(auth_base32_decode(b.p ? b.p : "", &d) == 0);
		CHECK(d.len == strlen(in[i]) && (!d.len || !memcmp(d.p, in[i], d.len)));
		buf_release(&b);
		buf_release(&d);
	}
	buf_init(&d, 0);
	CHECK(auth_base32_decode("mzxw6===", &d) == 0 && d.len == 3 && !memcmp(d.p, "foo", 3));
	CHECK(auth_base32_decode("MZ1", &d) == ERR_PARSE);
	buf_release(&d);
	buf_init(&b, 0);
	CHECK(auth_otpauth_uri("room.example", "ann", (const unsigned char *)"foobar", 6, &b) == 0);
	CHECK_EQ_STR(b.p, "otpauth://totp/room.example:ann?secret=MZXW6YTBOI&issuer=room.example"
			  "&algorithm=SHA1&digits=6&period=30");
	buf_release(&b);
	buf_init(&b, 0);
	CHECK(auth_otpauth_uri("my room", "a", (const unsigned char *)"f", 1, &b) == 0);
	CHECK(strstr(b.p, "otpauth://totp/my%20room:a?") == b.p);
	buf_release(&b);
}

TEST(passwords)
{
	struct buf b;
	char h[crypto_pwhash_STRBYTES];
	buf_init(&b, 0);
	CHECK(auth_password_generate(&b) == 0 && b.len == 23 && b.p[5] == '-');
	CHECK(auth_password_check(b.p) == 0);
	CHECK(auth_password_check("elevenchars") == ERR_USAGE && strstr(err_msg(), "at least 12"));
	CHECK(auth_password_check("twelve chars") == 0);
	CHECK(auth_password_hash(b.p, h, sizeof(h)) == 0 && !strncmp(h, "$argon2id$", 10));
	CHECK(crypto_pwhash_str_verify(h, b.p, b.len) == 0);
	buf_release(&b);
	{
		char big[AUTH_PASSWORD_MAX + 2];
		memset(big, 'x', sizeof(big) - 1);
		big[AUTH_PASSWORD_MAX + 1] = 0;
		CHECK(auth_password_check(big) == ERR_USAGE);
		big[AUTH_PASSWORD_MAX] = 0;
		CHECK(auth_password_check(big) == 0);
	}
}

TEST(names)
{
	char n[AUTH_LOGIN_MAX + 2];
	CHECK(auth_name_check("login", "ann.b_c-1") == 0);
	CHECK(auth_name_check("login", "") == ERR_USAGE);
	CHECK(auth_name_check("login", "-x") == ERR_USAGE);
	CHECK(auth_name_check("login", "a b") == ERR_USAGE && strstr(err_msg(), "login 'a b'"));
	memset(n, 'a', sizeof(n) - 1);
	n[AUTH_LOGIN_MAX] = 0;
	CHECK(auth_name_check("login", n) == 0);
	n[AUTH_LOGIN_MAX] = 'a';
	n[AUTH_LOGIN_MAX + 1] = 0;
	CHECK(auth_name_check("login", n) == ERR_USAGE);
}

static void code_at(int64_t t, char *out)
{
	auth_totp_code(secret, sizeof(secret), t, 6, out);
}

static int64_t count_log(const char *type)
{
	sqlite3_stmt *st;
	int64_t n = -1;
	char sql[200];
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM log_entries WHERE CAST(data AS TEXT) LIKE '%%\"type\":\"%s\"%%'", type);
	if (db_prepare(facility_db(fac), sql, &st))
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

TEST(login_and_session)
{
	struct buf tok;
	struct session_info who, w2;
	char code[9];
	int64_t before = count_log("login");
	buf_init(&tok, 256);
	code_at(T0, code);
	CHECK(auth_login_at(fac, "ann", pw, code, "10.0.0.1", NULL, T0, &tok, &who) == 0);
	CHECK(tok.len == AUTH_TOKEN_HEX);
	CHECK_EQ_STR(who.login, "ann");
	CHECK_EQ_STR(who.role, "reviewer");
	CHECK_EQ_STR(who.org, "lab1");
	CHECK(strlen(who.session_id) == AUTH_SESSION_ID_HEX);
	CHECK(count_log("login") == before + 1);
	/* the token is stored only as its hash */
	{
		sqlite3_stmt *st;
		CHECK(db_prepare(facility_db(fac), "SELECT count(*) FROM sessions WHERE token_hash = ? OR "
						   "public_id = ?", &st) == 0);
		sqlite3_bind_text(st, 1, tok.p, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, tok.p, -1, SQLITE_STATIC);
		CHECK(sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 0);
		sqlite3_finalize(st);
	}
	CHECK(auth_session_at(fac, tok.p, "10.0.0.1", NULL, T0 + 60, &w2) == 0);
	CHECK_EQ_STR(w2.session_id, who.session_id);
	CHECK(w2.last_seen == T0 + 60);
	/* the same code a second time is a replay */
	CHECK(auth_login_at(fac, "ann", pw, code, "10.0.0.1", NULL, T0 + 1, &tok, &who) == ERR_AUTH);
	CHECK_EQ_STR(err_msg(), "login failed: wrong login, password or code");
	CHECK(auth_logout(fac, tok.p) == 0);
	CHECK(auth_session_at(fac, tok.p, "10.0.0.1", NULL, T0 + 61, &w2) == ERR_AUTH);
	CHECK(strstr(err_msg(), "session ended"));
	CHECK(auth_logout(fac, tok.p) == ERR_AUTH);
	CHECK(auth_session_at(fac, "zz", "10.0.0.1", NULL, T0, &w2) == ERR_AUTH);
	CHECK(count_log("logout") == 1);
	CHECK(auth_unlock(fac, "ann", "test") == 0);
	buf_release(&tok);
}

TEST(refusals_do_not_say_which_factor)
{
	struct buf tok;
	struct session_info who;
	char code[9];
	int64_t t = T0 + 1000;
	buf_init(&tok, 256);
	code_at(t, code);
	CHECK(auth_login_at(fac, "ann", "wrong password!", code, "ip", NULL, t, &tok, &who) == ERR_AUTH);
	CHECK_EQ_STR(err_msg(), "login failed: wrong login, password or code");
	CHECK(auth_unlock(fac, "ann", "test") == 0);
	CHECK(auth_login_at(fac, "ann", pw, "000000", "ip", NULL, t, &tok, &who) == ERR_AUTH);
	CHECK_EQ_STR(err_msg(), "login failed: wrong login, password or code");
	CHECK(auth_login_at(fac, "nobody", pw, code, "ip", NULL, t, &tok, &who) == ERR_AUTH);
	CHECK_EQ_STR(err_msg(), "login failed: wrong login, password or code");
	CHECK(tok.len == 0);
	CHECK(auth_unlock(fac, "ann", "test") == 0);
	buf_release(&tok);
}

/* A login attempt by ann from ip at t: with the right password and code when good. */
static int try_ann(int good, const char *ip, int64_t t)
{
	struct buf tok;
	struct session_info who;
	char code[9];
	int r;
	buf_init(&tok, 256);
	code_at(t, code);
	r = auth_login_at(fac, "ann", good ? pw : "a wrong password", good ? code : "000000", ip, NULL, t, &tok, &who);
	buf_release(&tok);
	return r;
}

TEST(rate_limit_and_lockout)
{
	int64_t t = T0 + 5000, failed;
	CHECK(auth_unlock(fac, "ann", "test") == 0);
	/* failure 1 at t; from that source the next attempt must wait 1 s, then 2, 4, 8: even the
	 * right password and code are refused meanwhile, with the one message */
	CHECK(try_ann(0, "ip", t) == ERR_AUTH);
	CHECK(try_ann(1, "ip", t) == ERR_AUTH);
	CHECK_EQ_STR(err_msg(), "login failed: wrong login, password or code");
	t += 1;
	CHECK(try_ann(0, "ip", t) == ERR_AUTH); /* failure 2: wait 2 s */
	t += 1;
	CHECK(try_ann(1, "ip", t) == ERR_AUTH); /* backed off */
	t += 1;
	CHECK(try_ann(0, "ip", t) == ERR_AUTH); /* failure 3: wait 4 s */
	t += 4;
	CHECK(try_ann(0, "ip", t) == ERR_AUTH); /* failure 4: wait 8 s */
	t += 8;
	/* the fifth failure locks ann for that source for 15 minutes */
	CHECK(try_ann(0, "ip", t) == ERR_AUTH);
	CHECK(try_ann(1, "ip", t + 20) == ERR_AUTH);
	CHECK_EQ_STR(err_msg(), "login failed: wrong login, password or code");
	CHECK(try_ann(1, "ip", t + AUTH_LOCK_SECONDS - 1) == ERR_AUTH);
	/* ... and for that source only: ann at her own desk is not locked out */
	CHECK(try_ann(1, "ann-desk", t + 40) == 0);
	CHECK(try_ann(1, "ip", t + AUTH_LOCK_SECONDS) == 0);
	/* a lock cleared by the operator */
	t += AUTH_LOCK_SECONDS + 100;
	for (int i = 0; i < 5; i++, t += 20)
		CHECK(try_ann(0, "ip", t) == ERR_AUTH);
	CHECK(try_ann(1, "ip", t) == ERR_AUTH);
	CHECK(auth_unlock(fac, "ann", "op") == 0);
	CHECK(try_ann(1, "ip", t + 30) == 0);
	/* the log names failures of known accounts, never which factor */
	failed = count_log("login_failed");
	CHECK(failed >= 10);
	{
		sqlite3_stmt *st;
		int n = -1;
		CHECK(db_prepare(facility_db(fac),
				 "SELECT count(*) FROM log_entries WHERE CAST(data AS TEXT) LIKE '%\"type\":\"login_failed\"%' "
				 "AND (CAST(data AS TEXT) LIKE '%reason%' OR CAST(data AS TEXT) LIKE '%password%' OR "
				 "CAST(data AS TEXT) LIKE '%code%')",
				 &st) == 0);
		if (sqlite3_step(st) == SQLITE_ROW)
			n = sqlite3_column_int(st, 0);
		sqlite3_finalize(st);
		CHECK(n == 0);
	}
}

/*
 * A stranger: many unknown logins and a flood from one address. Unknown logins write no
 * entry each; the bucket refuses past its burst before any hashing; the counts reach the
 * log in one entry at the flush. The flood does not lock ann out elsewhere.
 */
TEST(stranger)
{
	struct buf tok;
	struct session_info who;
	int64_t t = T0 + 50000, failed = count_log("login_failed"), before = count_log("login_refusals");
	int refused = 0;
	buf_init(&tok, 256);
	CHECK(auth_flush_refusals(fac) == 0);
	before = count_log("login_refusals");
	for (int i = 0; i < 10; i++) {
		char name[32];
		snprintf(name, sizeof(name), "nobody%d", i);
		CHECK(auth_login_at(fac, name, pw, "123456", "6.6.6.6", NULL, t, &tok, &who) == ERR_AUTH);
		CHECK_EQ_STR(err_msg(), "login failed: wrong login, password or code");
	}
	CHECK(count_log("login_failed") == failed);
	/* the same second, past the burst: refused (the bucket), same message */
	for (int i = 0; i < AUTH_IP_BURST + 5; i++)
		refused += auth_login_at(fac, "ann", "guess", "000000", "6.6.6.6", NULL, t, &tok, &who) == ERR_AUTH;
	CHECK(refused == AUTH_IP_BURST + 5);
	CHECK_EQ_STR(err_msg(), "login failed: wrong login, password or code");
	/* ann, from her desk, the same second */
	CHECK(try_ann(1, "ann-desk", t) == 0);
	CHECK(auth_flush_refusals(fac) == 0);
	CHECK(count_log("login_refusals") == before + 1);
	CHECK(auth_flush_refusals(fac) == 0);
	CHECK(count_log("login_refusals") == before + 1); /* nothing new: no entry */
	{
		sqlite3_stmt *st;
		const char *e = NULL;
		CHECK(db_prepare(facility_db(fac),
				 "SELECT CAST(data AS TEXT) FROM log_entries WHERE CAST(data AS TEXT) LIKE "
				 "'%\"type\":\"login_refusals\"%' ORDER BY idx DESC LIMIT 1",
				 &st) == 0);
		if (sqlite3_step(st) == SQLITE_ROW)
			e = (const char *)sqlite3_column_text(st, 0);
		CHECK(e && strstr(e, "\"unknown_logins\":10") && strstr(e, "\"throttled\":"));
		sqlite3_finalize(st);
	}
	buf_release(&tok);
}

struct claim_race {
	const char *dir;
	int64_t t;
	int rc;
};

static void *claim_login(void *arg)
{
	struct claim_race *c = arg;
	struct facility *f = NULL;
	struct buf tok;
	struct session_info who;
	buf_init(&tok, 256);
	if (facility_open(c->dir, &f)) {
		c->rc = -1;
		return NULL;
	}
	c->rc = auth_login_at(f, "bob", "a wrong password", "000000", "7.7.7.7", NULL, c->t, &tok, &who);
	facility_free(f);
	buf_release(&tok);
	return NULL;
}

/* Eight simultaneous attempts from one source: the attempt is claimed before the hash, so
 * exactly one is tried (one login_failed entry), the others are backed off. */
TEST(attempts_claimed_before_hashing)
{
	pthread_t th[8];
	struct claim_race c[8];
	char dir[300];
	int64_t before = count_log("login_failed");
	snprintf(dir, sizeof(dir), "%s/f", root);
	for (int i = 0; i < 8; i++) {
		c[i].dir = dir;
		c[i].t = T0 + 90000;
		pthread_create(&th[i], NULL, claim_login, &c[i]);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		CHECK(c[i].rc == ERR_AUTH);
	}
	CHECK(count_log("login_failed") == before + 1);
	CHECK(auth_unlock(fac, "bob", "test") == 0);
}

static int64_t tstep = T0 + 100000;

/* A fresh login of ann (each with a new TOTP step). */
static int login(const char *ip, const char *fp, int64_t *t, struct buf *tok, struct session_info *who)
{
	char code[9];
	tstep += 60;
	*t = tstep;
	code_at(*t, code);
	buf_reset(tok);
	return auth_login_at(fac, "ann", pw, code, ip, fp, *t, tok, who);
}

TEST(timeouts)
{
	struct buf tok;
	struct session_info who;
	int64_t t, s;
	buf_init(&tok, 256);
	CHECK(login("ip", NULL, &t, &tok, &who) == 0);
	CHECK(auth_session_at(fac, tok.p, "ip", NULL, t + AUTH_IDLE_DEFAULT, &who) == 0);
	CHECK(auth_session_at(fac, tok.p, "ip", NULL, t + 2 * AUTH_IDLE_DEFAULT + 1, &who) == ERR_AUTH);
	CHECK_EQ_STR(err_msg(), "session timed out after 30 minutes idle; log in again");
	CHECK(auth_session_at(fac, tok.p, "ip", NULL, t + 2 * AUTH_IDLE_DEFAULT + 2, &who) == ERR_AUTH);
	CHECK(strstr(err_msg(), "session ended"));
	/* busy all day: the absolute limit still ends it */
	CHECK(login("ip", NULL, &t, &tok, &who) == 0);
	for (s = t; s + 1200 <= t + AUTH_ABSOLUTE_DEFAULT; s += 1200)
		CHECK(auth_session_at(fac, tok.p, "ip", NULL, s, &who) == 0);
	CHECK(auth_session_at(fac, tok.p, "ip", NULL, t + AUTH_ABSOLUTE_DEFAULT + 1, &who) == ERR_AUTH);
	CHECK(strstr(err_msg(), "600-minute limit"));
	/* shorter settings */
	CHECK(auth_set_timeouts(fac, 60, 120, "otto") == 0);
	{
		int64_t i, a;
		auth_timeouts(fac, &i, &a);
		CHECK(i == 60 && a == 120);
	}
	CHECK(login("ip", NULL, &t, &tok, &who) == 0);
	CHECK(auth_session_at(fac, tok.p, "ip", NULL, t + 61, &who) == ERR_AUTH);
	CHECK(auth_set_timeouts(fac, AUTH_IDLE_DEFAULT, AUTH_ABSOLUTE_DEFAULT, "otto") == 0);
	CHECK(auth_set_timeouts(fac, 0, 1, "otto") == ERR_USAGE);
	CHECK(auth_set_timeouts(fac, 59, 120, "otto") == ERR_USAGE);
	CHECK(auth_set_timeouts(fac, 600, 599, "otto") == ERR_USAGE);
	CHECK(auth_set_timeouts(fac, 600, AUTH_ABSOLUTE_MAX + 1, "otto") == ERR_USAGE);
	/* only an operator: a reviewer cannot lengthen her own sessions */
	CHECK(auth_set_timeouts(fac, 600, 1200, "ann") == ERR_DENIED && strstr(err_msg(), "only an operator"));
	CHECK(auth_set_timeouts(fac, 600, 1200, "nobody") == ERR_DENIED);
	tstep += 10 * AUTH_ABSOLUTE_DEFAULT;
	buf_release(&tok);
}

TEST(binding)
{
	struct buf tok;
	struct session_info who;
	int64_t t;
	buf_init(&tok, 256);
	CHECK(login("10.1.1.1", NULL, &t, &tok, &who) == 0);
	CHECK(auth_session_at(fac, tok.p, "10.9.9.9", NULL, t + 1, &who) == ERR_AUTH);
	CHECK_EQ_STR(err_msg(), "session is bound to another client; log in again");
	/* presented from elsewhere, the session is gone for the right client too */
	CHECK(auth_session_at(fac, tok.p, "10.1.1.1", NULL, t + 2, &who) == ERR_AUTH);
	CHECK(login("10.1.1.1", "sha256:aa", &t, &tok, &who) == 0);
	CHECK(auth_session_at(fac, tok.p, "10.1.1.1", "sha256:aa", t + 1, &who) == 0);
	CHECK(auth_session_at(fac, tok.p, "10.1.1.1", NULL, t + 2, &who) == ERR_AUTH);
	CHECK(login("10.1.1.1", "sha256:aa", &t, &tok, &who) == 0);
	CHECK(auth_session_at(fac, tok.p, "10.1.1.1", "sha256:bb", t + 2, &who) == ERR_AUTH);
	CHECK(count_log("session_refused") == 3);
	buf_release(&tok);
}

TEST(disable_and_passwd)
{
	struct buf tok;
	struct session_info who;
	int64_t t;
	char code[9];
	buf_init(&tok, 256);
	CHECK(login("ip", NULL, &t, &tok, &who) == 0);
	CHECK(auth_set_password(fac, "ann", "short", "op") == ERR_USAGE);
	CHECK(auth_set_password(fac, "ann", "another good password", "op") == 0);
	CHECK(auth_session_at(fac, tok.p, "ip", NULL, t + 1, &who) == ERR_AUTH); /* ended */
	tstep += 60;
	code_at(tstep, code);
	CHECK(auth_login_at(fac, "ann", pw, code, "ip", NULL, tstep, &tok, &who) == ERR_AUTH);
	CHECK(auth_unlock(fac, "ann", "op") == 0);
	CHECK(auth_set_password(fac, "ann", pw, "op") == 0);
	CHECK(login("ip", NULL, &t, &tok, &who) == 0);
	CHECK(auth_disable(fac, "ann", "op") == 0);
	CHECK(auth_session_at(fac, tok.p, "ip", NULL, t + 1, &who) == ERR_AUTH);
	CHECK(login("ip", NULL, &t, &tok, &who) == ERR_AUTH);
	CHECK(auth_disable(fac, "nobody", "op") == ERR_NOTFOUND);
	CHECK(auth_unlock(fac, "nobody", "op") == ERR_NOTFOUND);
	buf_release(&tok);
}

struct race {
	const char *dir;
	char code[9];
	int64_t t;
	int rc;
};

static void *race_login(void *p)
{
	struct race *r = p;
	struct facility *f;
	struct buf tok;
	struct session_info who;
	buf_init(&tok, 256);
	r->rc = facility_open(r->dir, &f);
	if (!r->rc)
		r->rc = auth_login_at(f, "bob", pw, r->code, "ip", NULL, r->t, &tok, &who);
	facility_free(f);
	buf_release(&tok);
	return NULL;
}

/* Two logins with one code at once: exactly one gets a session. */
TEST(totp_race)
{
	pthread_t th[2];
	struct race r[2];
	char dir[300];
	snprintf(dir, sizeof(dir), "%s/f", root);
	for (int i = 0; i < 2; i++) {
		r[i].dir = dir;
		r[i].t = T0 + 42;
		code_at(r[i].t, r[i].code);
		pthread_create(&th[i], NULL, race_login, &r[i]);
	}
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	CHECK((r[0].rc == 0) + (r[1].rc == 0) == 1);
	CHECK(r[0].rc == ERR_AUTH || r[1].rc == ERR_AUTH);
}

int main(void)
{
	char cmd[300], dir[300];
	unsigned char s2[AUTH_TOTP_SECRET_LEN], s3[AUTH_TOTP_SECRET_LEN];
	int rc;
	if (!mkdtemp(root))
		return 1;
	snprintf(dir, sizeof(dir), "%s/f", root);
	if (facility_init(dir, "room.example") || facility_open(dir, &fac) ||
	    policy_org_add(fac, "lab1", "lab", "test") ||
	    policy_person_add(fac, "ann", "lab1", "reviewer", "Ann", pw, "test", secret) ||
	    policy_person_add(fac, "bob", "lab1", "reviewer", "Bob", pw, "test", s2) ||
	    policy_org_add(fac, "fac", "operator", "test") ||
	    policy_person_add(fac, "otto", "fac", "operator", "Otto", pw, "test", s3)) {
		fprintf(stderr, "setup: %s\n", err_msg());
		return 1;
	}
	RUN(totp_rfc6238_vectors);
	RUN(totp_skew_and_replay);
	RUN(base32_and_uri);
	RUN(passwords);
	RUN(names);
	RUN(login_and_session);
	RUN(refusals_do_not_say_which_factor);
	RUN(rate_limit_and_lockout);
	RUN(stranger);
	RUN(attempts_claimed_before_hashing);
	RUN(timeouts);
	RUN(binding);
	RUN(disable_and_passwd);
	memcpy(secret, s2, sizeof(secret));
	RUN(totp_race);
	facility_free(fac);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	rc = system(cmd);
	(void)rc;
	return test_done();
}
