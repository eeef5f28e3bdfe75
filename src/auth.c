/* auth: passwords, TOTP, logins and sessions (see auth.h for the invariants). */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>

#include "auth.h"
#include "db.h"
#include "hash.h"
#include "logdb.h"

#define TOTP_CODE_MAX 16
#define FAILED_MSG "login failed: wrong login, password or code"

int auth_name_check(const char *what, const char *s)
{
	size_t n = strlen(s);
	if (!n || n > AUTH_LOGIN_MAX)
		return err_set(ERR_USAGE, "%s '%s' must be 1 to %d characters", what, s, AUTH_LOGIN_MAX);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			 c == '.' || c == '_' || c == '-';
		if (!ok || (i == 0 && (c == '.' || c == '-')))
			return err_set(ERR_USAGE, "%s '%s' may hold only letters, digits, '.', '_' and '-', "
				       "and starts with a letter or digit", what, s);
	}
	return 0;
}

uint32_t auth_hotp(const unsigned char *secret, size_t len, uint64_t counter, int digits)
{
	unsigned char msg[8], mac[EVP_MAX_MD_SIZE];
	unsigned int mac_len = 0;
	uint32_t bin, mod = 1;
	for (int i = 7; i >= 0; i--) {
		msg[i] = (unsigned char)(counter & 0xff);
		counter >>= 8;
	}
	if (digits < 6 || digits > 8)
		BUG("hotp digits %d", digits);
	if (!HMAC(EVP_sha1(), secret, (int)len, msg, sizeof(msg), mac, &mac_len) || mac_len != 20)
		BUG("HMAC-SHA1 failed");
	/* RFC 4226 section 5.3: dynamic truncation */
	{
		int off = mac[19] & 0x0f;
		bin = ((uint32_t)(mac[off] & 0x7f) << 24) | ((uint32_t)mac[off + 1] << 16) |
		      ((uint32_t)mac[off + 2] << 8) | (uint32_t)mac[off + 3];
	}
	for (int i = 0; i < digits; i++)
		mod *= 10;
	sodium_memzero(mac, sizeof(mac));
	return bin % mod;
}

void auth_totp_code(const unsigned char *secret, size_t len, int64_t t, int digits, char *out)
{
	uint64_t step = t < 0 ? 0 : (uint64_t)t / AUTH_TOTP_STEP;
	snprintf(out, 9, "%0*" PRIu32, digits, auth_hotp(secret, len, step, digits));
}

/*
 * Compare code with the codes of steps now-1, now, now+1 that come after last_step. Every
 * candidate is computed and compared, so the time taken does not depend on which matched.
 */
int auth_totp_verify(const unsigned char *secret, size_t len, const char *code, int digits,
		     int64_t now, int64_t last_step, int64_t *step)
{
	char want[9];
	int64_t cur = now < 0 ? 0 : now / AUTH_TOTP_STEP, found = -1;
	size_t n = strlen(code);
	if (n != (size_t)digits)
		return err_set(ERR_AUTH, "code must be %d digits", digits);
	for (size_t i = 0; i < n; i++)
		if (code[i] < '0' || code[i] > '9')
			return err_set(ERR_AUTH, "code must be %d digits", digits);
	for (int64_t s = cur - 1; s <= cur + 1; s++) {
		int match;
		if (s < 0)
			continue;
		snprintf(want, sizeof(want), "%0*" PRIu32, digits,
			 auth_hotp(secret, len, (uint64_t)s, digits));
		match = sodium_memcmp(want, code, n) == 0;
		if (match && s > last_step && found < 0)
			found = s;
	}
	sodium_memzero(want, sizeof(want));
	if (found < 0)
		return err_set(ERR_AUTH, "code does not match or was used already");
	if (step)
		*step = found;
	return 0;
}

static const char b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

int auth_base32_encode(const void *p, size_t len, struct buf *out)
{
	const unsigned char *s = p;
	uint32_t acc = 0;
	int bits = 0, r;
	for (size_t i = 0; i < len; i++) {
		acc = (acc << 8) | s[i];
		bits += 8;
		while (bits >= 5) {
			if ((r = buf_addch(out, b32[(acc >> (bits - 5)) & 31])))
				return r;
			bits -= 5;
		}
	}
	if (bits > 0 && (r = buf_addch(out, b32[(acc << (5 - bits)) & 31])))
		return r;
	return 0;
}

int auth_base32_decode(const char *s, struct buf *out)
{
	uint32_t acc = 0;
	int bits = 0, r;
	for (; *s; s++) {
		char c = *s;
		const char *q;
		if (c == '=' || c == ' ' || c == '-')
			continue;
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		q = c ? strchr(b32, c) : NULL;
		if (!q)
			return err_set(ERR_PARSE, "'%c' is not a base32 digit", *s);
		acc = (acc << 5) | (uint32_t)(q - b32);
		bits += 5;
		if (bits >= 8) {
			if ((r = buf_addch(out, (char)((acc >> (bits - 8)) & 0xff))))
				return r;
			bits -= 8;
		}
	}
	return 0;
}

/* Percent-encode everything outside RFC 3986's unreserved set. */
static int add_pct(struct buf *out, const char *s)
{
	int r = 0;
	for (; *s && !r; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~')
			r = buf_addch(out, (char)c);
		else
			r = buf_addf(out, "%%%02X", c);
	}
	return r;
}

int auth_otpauth_uri(const char *issuer, const char *login, const unsigned char *secret,
		     size_t len, struct buf *out)
{
	int r;
	if ((r = buf_addstr(out, "otpauth://totp/")) || (r = add_pct(out, issuer)) ||
	    (r = buf_addch(out, ':')) || (r = add_pct(out, login)) ||
	    (r = buf_addstr(out, "?secret=")) || (r = auth_base32_encode(secret, len, out)) ||
	    (r = buf_addstr(out, "&issuer=")) || (r = add_pct(out, issuer)))
		return r;
	return buf_addf(out, "&algorithm=SHA1&digits=%d&period=%d", AUTH_TOTP_DIGITS, AUTH_TOTP_STEP);
}

int auth_password_generate(struct buf *out)
{
	static const char alpha[] = "abcdefghijkmnpqrstuvwxyz23456789"; /* 32 letters, no l/o/0/1 */
	int r = 0;
	for (int g = 0; g < 4 && !r; g++) {
		if (g)
			r = buf_addch(out, '-');
		for (int i = 0; i < 5 && !r; i++)
			r = buf_addch(out, alpha[randombytes_uniform(32)]);
	}
	return r;
}

int auth_password_check(const char *pw)
{
	size_t n = strlen(pw);
	if (n < AUTH_PASSWORD_MIN)
		return err_set(ERR_USAGE, "password must be at least %d characters", AUTH_PASSWORD_MIN);
	if (n > AUTH_PASSWORD_MAX)
		return err_set(ERR_USAGE, "password must be at most %d characters", AUTH_PASSWORD_MAX);
	return 0;
}

int auth_password_hash(const char *pw, char *out, size_t out_len)
{
	int r;
	if (out_len < crypto_pwhash_STRBYTES)
		BUG("password hash buffer too small");
	if ((r = auth_password_check(pw)))
		return r;
	if (crypto_pwhash_str(out, pw, strlen(pw), crypto_pwhash_OPSLIMIT_INTERACTIVE,
			      crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
		return err_set(ERR_IO, "not enough memory to hash the password");
	return 0;
}

/* A hash of a random password, verified against when the login is unknown, so that an
 * unknown login costs the same time as a wrong password. */
static char dummy_hash[crypto_pwhash_STRBYTES];
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;

static void make_dummy(void)
{
	char pw[33];
	unsigned char raw[16];
	randombytes_buf(raw, sizeof(raw));
	hex_encode(pw, raw, sizeof(raw));
	if (crypto_pwhash_str(dummy_hash, pw, strlen(pw), crypto_pwhash_OPSLIMIT_INTERACTIVE,
			      crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
		dummy_hash[0] = 0;
}

int auth_log_then(struct facility *f, const char *type, const char *actor, json_t *extra,
		  int (*act)(void *ctx), void *ctx)
{
	struct logdb *l = NULL;
	json_t *e;
	int r;
	/* a json_pack that failed (a string that is not UTF-8) gives NULL: refuse, never drop */
	if (!extra)
		return err_set(ERR_USAGE, "log: the '%s' entry could not be built", type);
	e = logdb_entry_new(type, actor);
	if (json_object_update(e, extra))
		logdb_entry_set(e, "fields", NULL);
	json_decref(extra);
	if (!(r = facility_log(f, &l)))
		r = logdb_append(l, e, NULL);
	json_decref(e);
	if (!r && act)
		r = act(ctx);
	return r;
}

int auth_log(struct facility *f, const char *type, const char *actor, json_t *extra)
{
	return auth_log_then(f, type, actor, extra, NULL, NULL);
}

static int64_t setting(struct facility *f, const char *key, int64_t def)
{
	sqlite3_stmt *st;
	int64_t v = def;
	if (db_prepare(facility_db(f), "SELECT value FROM facility WHERE key = ?", &st))
		return def;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		long long x = 0;
		const char *s = (const char *)sqlite3_column_text(st, 0);
		if (s && sscanf(s, "%lld", &x) == 1 && x > 0)
			v = x;
	}
	sqlite3_finalize(st);
	return v;
}

static void copy_text(char *dst, size_t cap, sqlite3_stmt *st, int col)
{
	const char *s = (const char *)sqlite3_column_text(st, col);
	snprintf(dst, cap, "%s", s ? s : "");
}

struct timeouts_set {
	struct facility *f;
	int64_t idle, absolute;
};

/* The act of auth_set_timeouts, once its entry is durable. */
static int timeouts_store(void *ctx)
{
	struct timeouts_set *t = ctx;
	sqlite3_stmt *st;
	int r;
	if ((r = db_prepare(facility_db(t->f),
			    "INSERT OR REPLACE INTO facility (key, value) VALUES "
			    "('session_idle', ?), ('session_absolute', ?)", &st)))
		return r;
	sqlite3_bind_int64(st, 1, t->idle);
	sqlite3_bind_int64(st, 2, t->absolute);
	if (sqlite3_step(st) != SQLITE_DONE)
		r = db_fail(facility_db(t->f), "cannot set the session timeouts");
	sqlite3_finalize(st);
	return r;
}

int auth_set_timeouts(struct facility *f, int64_t idle, int64_t absolute, const char *actor)
{
	struct timeouts_set t = {f, idle, absolute};
	sqlite3_stmt *st;
	char role[32] = "";
	json_t *x;
	int r;
	if (idle < AUTH_IDLE_MIN || idle > AUTH_IDLE_MAX)
		return err_set(ERR_USAGE, "--idle is %d to %d seconds", AUTH_IDLE_MIN, AUTH_IDLE_MAX);
	if (absolute < idle || absolute > AUTH_ABSOLUTE_MAX)
		return err_set(ERR_USAGE, "--absolute is --idle (%lld) to %d seconds", (long long)idle, AUTH_ABSOLUTE_MAX);
	if ((r = db_prepare(facility_db(f), "SELECT role FROM people WHERE login = ? AND disabled = 0", &st)))
		return r;
	sqlite3_bind_text(st, 1, actor, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		copy_text(role, sizeof(role), st, 0);
	sqlite3_finalize(st);
	if (strcmp(role, "operator"))
		return err_set(ERR_DENIED, "'%s' is %s: only an operator sets the session timeouts", actor,
			       *role ? role : "no active account");
	x = json_object();
	logdb_entry_int(x, "idle", idle);
	logdb_entry_int(x, "absolute", absolute);
	return auth_log_then(f, "session_timeouts", actor, x, timeouts_store, &t);
}

void auth_timeouts(struct facility *f, int64_t *idle, int64_t *absolute)
{
	*idle = setting(f, "session_idle", AUTH_IDLE_DEFAULT);
	*absolute = setting(f, "session_absolute", AUTH_ABSOLUTE_DEFAULT);
}

/* Run one statement binding int64s (NULL-terminated list of values through a count). */
static int exec_i64(struct facility *f, const char *sql, int n, const int64_t *v, int *changes)
{
	sqlite3 *db = facility_db(f);
	sqlite3_stmt *st;
	int r = db_prepare(db, sql, &st);
	if (r)
		return r;
	for (int i = 0; i < n; i++)
		sqlite3_bind_int64(st, i + 1, v[i]);
	if (sqlite3_step(st) != SQLITE_DONE)
		r = db_fail(db, "cannot update accounts");
	else if (changes)
		*changes = sqlite3_changes(db);
	sqlite3_finalize(st);
	return r;
}

struct account {
	int64_t id, totp_last, failures, last_failure, locked_until;
	int disabled;
	char pw_hash[crypto_pwhash_STRBYTES];
	unsigned char secret[AUTH_TOTP_SECRET_LEN];
	size_t secret_len;
	struct session_info who;
};

#define ACCOUNT_SQL                                                                              \
	"SELECT p.id, p.pw_hash, p.totp_secret, p.totp_last, p.failures, p.last_failure, "     \
	"p.locked_until, p.disabled, p.login, p.role, o.id, o.name, o.kind "                     \
	"FROM people p JOIN orgs o ON o.id = p.org_id WHERE p.login = ?"

/* The at-rest purpose of login's TOTP secret: a sealed secret opens for its own account only. */
static int totp_purpose(const char *login, char *out, size_t cap)
{
	if ((size_t)snprintf(out, cap, "totp:%s", login) >= cap)
		return err_set(ERR_USAGE, "login too long");
	return 0;
}

static int open_totp(struct facility *f, const char *login, const void *p, size_t len, unsigned char *out, size_t *n)
{
	char purpose[AUTH_LOGIN_MAX + 8];
	int r = totp_purpose(login, purpose, sizeof(purpose));
	return r ? r : facility_secret_open(f, purpose, p, len, out, AUTH_TOTP_SECRET_LEN, n);
}

int auth_totp_seal(struct facility *f, const char *login, const unsigned char secret[AUTH_TOTP_SECRET_LEN],
		   struct buf *out)
{
	char purpose[AUTH_LOGIN_MAX + 8];
	int r = totp_purpose(login, purpose, sizeof(purpose));
	return r ? r : facility_secret_seal(f, purpose, secret, AUTH_TOTP_SECRET_LEN, out);
}

int auth_totp_secret(struct facility *f, const char *login, unsigned char out[AUTH_TOTP_SECRET_LEN])
{
	sqlite3_stmt *st;
	size_t n = 0;
	int r = db_prepare(facility_db(f), "SELECT totp_secret FROM people WHERE login = ?", &st), s;
	if (r)
		return r;
	sqlite3_bind_text(st, 1, login, -1, SQLITE_STATIC);
	s = sqlite3_step(st);
	if (s == SQLITE_ROW)
		r = open_totp(f, login, sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0), out, &n);
	else
		r = s == SQLITE_DONE ? err_set(ERR_NOTFOUND, "no account '%s'", login)
				     : db_fail(facility_db(f), "cannot read accounts");
	sqlite3_finalize(st);
	if (!r && n != AUTH_TOTP_SECRET_LEN)
		r = err_set(ERR_CORRUPT, "account '%s' has a malformed second factor", login);
	return r;
}

/* Read an account by login into a (which the caller wipes). ERR_NOTFOUND when none. */
static int account_get(struct facility *f, const char *login, struct account *a)
{
	sqlite3_stmt *st;
	int r = db_prepare(facility_db(f), ACCOUNT_SQL, &st), s;
	if (r)
		return r;
	memset(a, 0, sizeof(*a));
	sqlite3_bind_text(st, 1, login, -1, SQLITE_STATIC);
	s = sqlite3_step(st);
	if (s == SQLITE_ROW) {
		const void *sec = sqlite3_column_blob(st, 2);
		int sl = sqlite3_column_bytes(st, 2);
		a->id = sqlite3_column_int64(st, 0);
		copy_text(a->pw_hash, sizeof(a->pw_hash), st, 1);
		if (!sec || sl <= 0 ||
		    open_totp(f, login, sec, (size_t)sl, a->secret, &a->secret_len) || a->secret_len != AUTH_TOTP_SECRET_LEN)
			r = err_set(ERR_CORRUPT, "account '%s' has a malformed second factor: %s", login, err_msg());
		a->totp_last = sqlite3_column_int64(st, 3);
		a->failures = sqlite3_column_int64(st, 4);
		a->last_failure = sqlite3_column_int64(st, 5);
		a->locked_until = sqlite3_column_int64(st, 6);
		a->disabled = sqlite3_column_int(st, 7);
		a->who.person_id = a->id;
		copy_text(a->who.login, sizeof(a->who.login), st, 8);
		copy_text(a->who.role, sizeof(a->who.role), st, 9);
		a->who.org_id = sqlite3_column_int64(st, 10);
		copy_text(a->who.org, sizeof(a->who.org), st, 11);
		copy_text(a->who.org_kind, sizeof(a->who.org_kind), st, 12);
	} else if (s == SQLITE_DONE) {
		r = err_set(ERR_NOTFOUND, "no account '%s'", login);
	} else {
		r = db_fail(facility_db(f), "cannot read accounts");
	}
	sqlite3_finalize(st);
	return r;
}

static json_t *client_json(const char *ip, const char *fp)
{
	json_t *x = json_object();
	json_object_set_new(x, "ip", json_string(ip));
	if (fp && *fp)
		json_object_set_new(x, "cert", json_string(fp));
	return x;
}

/* Log a failed login of a known account (never which factor); the one refusal message. */
static int refuse(struct facility *f, const char *login, const char *ip, const char *fp)
{
	int r;
	if ((r = auth_log(f, "login_failed", login, client_json(ip, fp))))
		return r;
	return err_set(ERR_AUTH, "%s", FAILED_MSG);
}

/* ---- refusals before any hashing: the per-source bucket, counted in memory ---- */

struct bucket {
	char ip[AUTH_IP_MAX + 1];
	double tokens;
	int64_t at;
};

static struct {
	pthread_mutex_t mu;
	struct bucket b[AUTH_BUCKETS];
	unsigned char key[crypto_shorthash_KEYBYTES];
	int keyed;
	uint64_t unknown, throttled, backed_off;
} gate = {PTHREAD_MUTEX_INITIALIZER, {{{0}, 0, 0}}, {0}, 0, 0, 0, 0};

/* Take one token from ip's bucket at now; 0 when the bucket is empty. */
static int bucket_take(const char *ip, int64_t now)
{
	unsigned char h[crypto_shorthash_BYTES];
	struct bucket *b;
	int ok;
	pthread_mutex_lock(&gate.mu);
	if (!gate.keyed) {
		randombytes_buf(gate.key, sizeof(gate.key));
		gate.keyed = 1;
	}
	crypto_shorthash(h, (const unsigned char *)ip, strlen(ip), gate.key);
	b = &gate.b[((size_t)h[0] | (size_t)h[1] << 8 | (size_t)h[2] << 16) % AUTH_BUCKETS];
	if (strcmp(b->ip, ip)) {
		/* a new source (or one evicted by another): a full bucket */
		snprintf(b->ip, sizeof(b->ip), "%s", ip);
		b->tokens = AUTH_IP_BURST;
		b->at = now;
	}
	if (now > b->at) {
		b->tokens += (double)(now - b->at) * AUTH_IP_RATE;
		if (b->tokens > AUTH_IP_BURST)
			b->tokens = AUTH_IP_BURST;
	}
	if (now >= b->at)
		b->at = now;
	ok = b->tokens >= 1.0;
	if (ok)
		b->tokens -= 1.0;
	else
		gate.throttled++;
	pthread_mutex_unlock(&gate.mu);
	return ok;
}

static void count_refusal(uint64_t *which)
{
	pthread_mutex_lock(&gate.mu);
	(*which)++;
	pthread_mutex_unlock(&gate.mu);
}

int auth_flush_refusals(struct facility *f)
{
	uint64_t u, t, b;
	json_t *x;
	int r;
	pthread_mutex_lock(&gate.mu);
	u = gate.unknown;
	t = gate.throttled;
	b = gate.backed_off;
	gate.unknown = gate.throttled = gate.backed_off = 0;
	pthread_mutex_unlock(&gate.mu);
	if (!u && !t && !b)
		return 0;
	x = json_pack("{s:I, s:I, s:I}", "unknown_logins", (json_int_t)u, "throttled", (json_int_t)t,
		      "backed_off", (json_int_t)b);
	if ((r = auth_log(f, "login_refusals", "(facility)", x))) {
		/* not logged: count them again for the next flush */
		pthread_mutex_lock(&gate.mu);
		gate.unknown += u;
		gate.throttled += t;
		gate.backed_off += b;
		pthread_mutex_unlock(&gate.mu);
	}
	return r;
}

/* One Argon2id verify against a hash that matches nothing: every refusal costs the same. */
static void dummy_verify(const char *password)
{
	pthread_once(&dummy_once, make_dummy);
	if (crypto_pwhash_str_verify(dummy_hash, password, strlen(password))) {
		/* always fails: the cost is the point */
	}
}

/*
 * Claim an attempt for (account, source) before hashing: one UPDATE counts it as a failure
 * and sets when the next may come, only when this one may come now. 1 when claimed.
 */
static int claim_attempt(struct facility *f, int64_t person, const char *source, int64_t now, int *claimed)
{
	sqlite3 *db = facility_db(f);
	sqlite3_stmt *st = NULL;
	int r;
	*claimed = 0;
	if ((r = db_prepare(db, "INSERT OR IGNORE INTO login_attempts (person_id, source) VALUES (?, ?)", &st)))
		return r;
	sqlite3_bind_int64(st, 1, person);
	sqlite3_bind_text(st, 2, source, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		r = db_fail(db, "cannot record a login attempt");
	sqlite3_finalize(st);
	if (r || (r = db_prepare(db,
				 "UPDATE login_attempts SET "
				 "failures = CASE WHEN failures >= ?4 THEN 1 ELSE failures + 1 END, "
				 "next_at = ?3 + CASE WHEN failures + 1 = ?4 THEN ?5 WHEN failures >= ?4 THEN 1 "
				 "ELSE (1 << failures) END "
				 "WHERE person_id = ?1 AND source = ?2 AND next_at <= ?3",
				 &st)))
		return r;
	sqlite3_bind_int64(st, 1, person);
	sqlite3_bind_text(st, 2, source, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, now);
	sqlite3_bind_int64(st, 4, AUTH_MAX_FAILURES);
	sqlite3_bind_int64(st, 5, AUTH_LOCK_SECONDS);
	if (sqlite3_step(st) != SQLITE_DONE)
		r = db_fail(db, "cannot record a login attempt");
	else
		*claimed = sqlite3_changes(db) == 1;
	sqlite3_finalize(st);
	return r;
}

static int clear_attempts(struct facility *f, int64_t person, const char *source)
{
	sqlite3 *db = facility_db(f);
	sqlite3_stmt *st;
	int r = db_prepare(db, source ? "DELETE FROM login_attempts WHERE person_id = ? AND source = ?"
				      : "DELETE FROM login_attempts WHERE person_id = ?",
			   &st);
	if (r)
		return r;
	sqlite3_bind_int64(st, 1, person);
	if (source)
		sqlite3_bind_text(st, 2, source, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		r = db_fail(db, "cannot clear login attempts");
	sqlite3_finalize(st);
	return r;
}

/* Make the session row and its token, after the login entry is durable. */
static int open_session(struct facility *f, struct account *a, const char *ip, const char *fp,
			int64_t now, struct buf *token_out, struct session_info *who)
{
	unsigned char *tok = sodium_malloc(AUTH_TOKEN_LEN), h[SHA256_LEN], pid[8];
	char *hex = sodium_malloc(AUTH_TOKEN_HEX + 1);
	sqlite3 *db = facility_db(f);
	sqlite3_stmt *st = NULL;
	json_t *x;
	int r;
	if (!tok || !hex)
		BUG("sodium_malloc");
	randombytes_buf(tok, AUTH_TOKEN_LEN);
	randombytes_buf(pid, sizeof(pid));
	hex_encode(a->who.session_id, pid, sizeof(pid));
	sha256(tok, AUTH_TOKEN_LEN, h);
	x = client_json(ip, fp);
	json_object_set_new(x, "session", json_string(a->who.session_id));
	json_object_set_new(x, "role", json_string(a->who.role));
	if ((r = auth_log(f, "login", a->who.login, x)))
		goto out;
	if ((r = db_prepare(db, "INSERT INTO sessions (public_id, token_hash, person_id, client_ip, "
				"cert_fp, created_at, last_seen) VALUES (?,?,?,?,?,?,?)", &st)))
		goto out;
	sqlite3_bind_text(st, 1, a->who.session_id, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, h, sizeof(h), SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, a->id);
	sqlite3_bind_text(st, 4, ip, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, fp ? fp : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, now);
	sqlite3_bind_int64(st, 7, now);
	if (sqlite3_step(st) != SQLITE_DONE) {
		r = db_fail(db, "cannot record the session");
		goto out;
	}
	hex_encode(hex, tok, AUTH_TOKEN_LEN);
	if ((r = buf_add(token_out, hex, AUTH_TOKEN_HEX)))
		goto out;
	a->who.created = a->who.last_seen = now;
	*who = a->who;
out:
	sqlite3_finalize(st);
	sodium_free(tok);
	sodium_free(hex);
	return r;
}

/*
 * The login decision. The order matters: the source's bucket first (no hashing for a
 * flood); then exactly one Argon2id verify on every path, so an unknown login, a back-off
 * and a wrong password take the same time; the attempt is claimed (counted as a failure)
 * by one UPDATE before the real hash, so simultaneous attempts cannot skip the back-off;
 * both factors are always checked and every refusal is the same message and error.
 */
static int login_at(struct facility *f, const char *login, const char *password, const char *totp,
		    const char *client_ip, const char *cert_fp, int64_t now, struct buf *token_out,
		    struct session_info *who, int *hashed)
{
	struct account *a = sodium_malloc(sizeof(*a));
	int64_t step = 0;
	int r, pw_ok, code_ok, changes = 0, claimed = 0;

	if (!a)
		BUG("sodium_malloc");
	if (!client_ip || !*client_ip || strlen(client_ip) > AUTH_IP_MAX ||
	    (cert_fp && strlen(cert_fp) > AUTH_CERT_FP_MAX)) {
		r = err_set(ERR_USAGE, "login needs the client's address");
		goto out;
	}
	if (!bucket_take(client_ip, now)) {
		r = err_set(ERR_AUTH, "%s", FAILED_MSG);
		goto out;
	}
	*hashed = 1;
	if (strlen(password) > AUTH_PASSWORD_MAX || strlen(totp) > TOTP_CODE_MAX ||
	    strlen(login) > AUTH_LOGIN_MAX) {
		count_refusal(&gate.unknown);
		dummy_verify("");
		r = err_set(ERR_AUTH, "%s", FAILED_MSG);
		goto out;
	}
	r = account_get(f, login, a);
	if (r == ERR_NOTFOUND) {
		count_refusal(&gate.unknown);
		dummy_verify(password);
		r = err_set(ERR_AUTH, "%s", FAILED_MSG);
		goto out;
	}
	if (r || (r = claim_attempt(f, a->id, client_ip, now, &claimed)))
		goto out;
	if (!claimed) {
		count_refusal(&gate.backed_off);
		dummy_verify(password);
		r = err_set(ERR_AUTH, "%s", FAILED_MSG);
		goto out;
	}
	pw_ok = a->pw_hash[0] ? crypto_pwhash_str_verify(a->pw_hash, password, strlen(password)) == 0
			      : (dummy_verify(password), 0);
	code_ok = auth_totp_verify(a->secret, a->secret_len, totp, AUTH_TOTP_DIGITS, now,
				   a->totp_last, &step) == 0;
	if (pw_ok && code_ok && !a->disabled) {
		/* claim the step: a second login with the same code loses this race */
		int64_t v[3] = {step, a->id, step};
		if ((r = exec_i64(f, "UPDATE people SET totp_last = ? WHERE id = ? AND totp_last < ?", 3, v,
				  &changes)))
			goto out;
		if (changes == 1) {
			if (!(r = clear_attempts(f, a->id, client_ip)))
				r = open_session(f, a, client_ip, cert_fp, now, token_out, who);
			goto out;
		}
	}
	/* the attempt was counted when it was claimed */
	r = refuse(f, a->who.login, client_ip, cert_fp);
out:
	sodium_free(a);
	return r;
}

int auth_login_at(struct facility *f, const char *login, const char *password, const char *totp,
		  const char *client_ip, const char *cert_fp, int64_t now, struct buf *token_out,
		  struct session_info *who)
{
	int hashed = 0;
	return login_at(f, login, password, totp, client_ip, cert_fp, now, token_out, who, &hashed);
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * The login of the server: every refusal that reached the hash is answered no sooner than
 * AUTH_REFUSAL_MS after the attempt began, so the durable log write of a known account's
 * failure (which an unknown login does not make) cannot be timed. A refusal of the bucket
 * is not padded: it says only that the source sent too much, and padding it would let one
 * source hold the server's threads.
 */
int auth_login(struct facility *f, const char *login, const char *password, const char *totp,
	       const char *client_ip, const char *cert_fp, struct buf *token_out,
	       struct session_info *who)
{
	int64_t start = mono_ms(), left;
	int hashed = 0;
	int r = login_at(f, login, password, totp, client_ip, cert_fp, (int64_t)time(NULL), token_out, who,
			 &hashed);
	if (r == ERR_AUTH && hashed && (left = start + AUTH_REFUSAL_MS - mono_ms()) > 0) {
		struct timespec ts = {(time_t)(left / 1000), (long)(left % 1000) * 1000000L};
		while (nanosleep(&ts, &ts) && errno == EINTR) {
		}
	}
	return r;
}

static int token_hash(const char *token, unsigned char h[SHA256_LEN])
{
	unsigned char *raw;
	int r = 0;
	if (!token || strlen(token) != AUTH_TOKEN_HEX)
		return err_set(ERR_AUTH, "session is not valid; log in again");
	raw = sodium_malloc(AUTH_TOKEN_LEN);
	if (!raw)
		BUG("sodium_malloc");
	if (hex_decode(raw, AUTH_TOKEN_LEN, token, AUTH_TOKEN_HEX))
		r = err_set(ERR_AUTH, "session is not valid; log in again");
	else
		sha256(raw, AUTH_TOKEN_LEN, h);
	sodium_free(raw);
	return r;
}

static int delete_session(struct facility *f, int64_t id)
{
	return exec_i64(f, "DELETE FROM sessions WHERE id = ?", 1, &id, NULL);
}

/*
 * Check a session. A session that timed out or comes from another client is deleted
 * before the refusal is returned, so it cannot be retried from the right client later.
 */
int auth_session_at(struct facility *f, const char *token, const char *client_ip,
		    const char *cert_fp, int64_t now, struct session_info *who)
{
	unsigned char h[SHA256_LEN];
	sqlite3_stmt *st = NULL;
	struct session_info w;
	char ip[AUTH_IP_MAX + 1], fp[AUTH_CERT_FP_MAX + 1];
	int64_t sid, idle = setting(f, "session_idle", AUTH_IDLE_DEFAULT),
		     absolute = setting(f, "session_absolute", AUTH_ABSOLUTE_DEFAULT);
	int r, s, disabled;

	if ((r = token_hash(token, h)))
		return r;
	if ((r = db_prepare(facility_db(f),
			    "SELECT s.id, s.public_id, s.client_ip, s.cert_fp, s.created_at, s.last_seen, "
			    "p.id, p.login, p.role, p.disabled, o.id, o.name, o.kind FROM sessions s "
			    "JOIN people p ON p.id = s.person_id JOIN orgs o ON o.id = p.org_id "
			    "WHERE s.token_hash = ?", &st)))
		return r;
	sqlite3_bind_blob(st, 1, h, sizeof(h), SQLITE_STATIC);
	s = sqlite3_step(st);
	if (s != SQLITE_ROW) {
		r = s == SQLITE_DONE ? err_set(ERR_AUTH, "session ended; log in again")
				     : db_fail(facility_db(f), "cannot read sessions");
		sqlite3_finalize(st);
		return r;
	}
	memset(&w, 0, sizeof(w));
	sid = sqlite3_column_int64(st, 0);
	copy_text(w.session_id, sizeof(w.session_id), st, 1);
	copy_text(ip, sizeof(ip), st, 2);
	copy_text(fp, sizeof(fp), st, 3);
	w.created = sqlite3_column_int64(st, 4);
	w.last_seen = sqlite3_column_int64(st, 5);
	w.person_id = sqlite3_column_int64(st, 6);
	copy_text(w.login, sizeof(w.login), st, 7);
	copy_text(w.role, sizeof(w.role), st, 8);
	disabled = sqlite3_column_int(st, 9);
	w.org_id = sqlite3_column_int64(st, 10);
	copy_text(w.org, sizeof(w.org), st, 11);
	copy_text(w.org_kind, sizeof(w.org_kind), st, 12);
	sqlite3_finalize(st);

	if (disabled) {
		if (!(r = delete_session(f, sid)))
			r = err_set(ERR_AUTH, "account '%s' is disabled", w.login);
		return r;
	}
	if (now - w.last_seen > idle || now - w.created > absolute) {
		int idle_out = now - w.last_seen > idle;
		if ((r = delete_session(f, sid)))
			return r;
		if (idle_out)
			return err_set(ERR_AUTH, "session timed out after %" PRId64 " minutes idle; log in again",
				       idle / 60);
		return err_set(ERR_AUTH, "session reached its %" PRId64 "-minute limit; log in again",
			       absolute / 60);
	}
	if (strcmp(ip, client_ip ? client_ip : "") || strcmp(fp, cert_fp ? cert_fp : "")) {
		json_t *x = client_json(client_ip ? client_ip : "", cert_fp);
		json_object_set_new(x, "session", json_string(w.session_id));
		json_object_set_new(x, "reason", json_string("another client"));
		if ((r = auth_log(f, "session_refused", w.login, x)) || (r = delete_session(f, sid)))
			return r;
		return err_set(ERR_AUTH, "session is bound to another client; log in again");
	}
	if (now > w.last_seen) {
		int64_t v[2] = {now, sid};
		if ((r = exec_i64(f, "UPDATE sessions SET last_seen = ? WHERE id = ?", 2, v, NULL)))
			return r;
		w.last_seen = now;
	}
	*who = w;
	return 0;
}

int auth_session(struct facility *f, const char *token, const char *client_ip,
		 const char *cert_fp, struct session_info *who)
{
	return auth_session_at(f, token, client_ip, cert_fp, (int64_t)time(NULL), who);
}

int auth_logout(struct facility *f, const char *token)
{
	unsigned char h[SHA256_LEN];
	sqlite3_stmt *st;
	char sid[AUTH_SESSION_ID_HEX + 1], login[AUTH_LOGIN_MAX + 1];
	int64_t id;
	int r, s;
	json_t *x;
	if ((r = token_hash(token, h)))
		return r;
	if ((r = db_prepare(facility_db(f),
			    "SELECT s.id, s.public_id, p.login FROM sessions s JOIN people p "
			    "ON p.id = s.person_id WHERE s.token_hash = ?", &st)))
		return r;
	sqlite3_bind_blob(st, 1, h, sizeof(h), SQLITE_STATIC);
	s = sqlite3_step(st);
	if (s != SQLITE_ROW) {
		sqlite3_finalize(st);
		return s == SQLITE_DONE ? err_set(ERR_AUTH, "session ended already")
					: db_fail(facility_db(f), "cannot read sessions");
	}
	id = sqlite3_column_int64(st, 0);
	copy_text(sid, sizeof(sid), st, 1);
	copy_text(login, sizeof(login), st, 2);
	sqlite3_finalize(st);
	x = json_object();
	json_object_set_new(x, "session", json_string(sid));
	if ((r = auth_log(f, "logout", login, x)))
		return r;
	return delete_session(f, id);
}

int auth_end_sessions(struct facility *f, int64_t person_id, int *n)
{
	return exec_i64(f, "DELETE FROM sessions WHERE person_id = ?", 1, &person_id, n);
}

/* Find a person's id by login; ERR_NOTFOUND naming the login. */
static int person_id(struct facility *f, const char *login, int64_t *id)
{
	struct account *a = sodium_malloc(sizeof(*a));
	int r;
	if (!a)
		BUG("sodium_malloc");
	r = account_get(f, login, a);
	*id = a->id;
	sodium_free(a);
	return r;
}

int auth_set_password(struct facility *f, const char *login, const char *password, const char *actor)
{
	char hash[crypto_pwhash_STRBYTES];
	sqlite3_stmt *st;
	int64_t id;
	int r;
	json_t *x = json_object();
	if ((r = person_id(f, login, &id)) || (r = auth_password_hash(password, hash, sizeof(hash))))
		goto out;
	json_object_set_new(x, "login", json_string(login));
	r = auth_log(f, "user_passwd", actor, x);
	x = NULL;
	if (r || (r = db_prepare(facility_db(f), "UPDATE people SET pw_hash = ? WHERE id = ?", &st)))
		goto out;
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, id);
	if (sqlite3_step(st) != SQLITE_DONE)
		r = db_fail(facility_db(f), "cannot set the password");
	sqlite3_finalize(st);
	/* a new password ends the sessions made with the old one */
	if (!r)
		r = auth_end_sessions(f, id, NULL);
out:
	json_decref(x);
	sodium_memzero(hash, sizeof(hash));
	return r;
}

int auth_unlock(struct facility *f, const char *login, const char *actor)
{
	int64_t id;
	int r;
	json_t *x;
	if ((r = person_id(f, login, &id)))
		return r;
	x = json_object();
	json_object_set_new(x, "login", json_string(login));
	if ((r = auth_log(f, "user_unlock", actor, x)))
		return r;
	if ((r = clear_attempts(f, id, NULL)))
		return r;
	return exec_i64(f, "UPDATE people SET failures = 0, locked_until = 0, last_failure = 0 "
			   "WHERE id = ?", 1, &id, NULL);
}

int auth_disable(struct facility *f, const char *login, const char *actor)
{
	int64_t id;
	int r;
	json_t *x;
	if ((r = person_id(f, login, &id)))
		return r;
	x = json_object();
	json_object_set_new(x, "login", json_string(login));
	if ((r = auth_log(f, "user_disable", actor, x)) ||
	    (r = exec_i64(f, "UPDATE people SET disabled = 1 WHERE id = ?", 1, &id, NULL)))
		return r;
	return auth_end_sessions(f, id, NULL);
}
