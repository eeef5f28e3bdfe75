/*
 * auth: who is at the keyboard. Passwords (Argon2id), TOTP second factors (RFC 6238:
 * HMAC-SHA-1, 30-second steps, 6 digits), logins with a lockout, and sessions.
 *
 * Invariants:
 * - A password is stored only as libsodium's Argon2id string (crypto_pwhash_str).
 * - A TOTP code is accepted once: people.totp_last remembers the last time step used, and
 *   a code for that step or an earlier one is refused (no replay), even by two logins at
 *   once (the step is advanced with a compare-and-set).
 * - Every refusal is the same: one message, one error (ERR_AUTH), one Argon2id verify (of
 *   the account's hash or of a dummy), whatever the reason: an unknown login, a wrong
 *   factor, a disabled account, a back-off, a lock or an empty bucket. Nothing, not even
 *   the log, records which factor was wrong.
 * - The back-off is per account and source (client address): after a failure from a
 *   source the next attempt from it must wait 2^(failures-1) seconds, and five failures in
 *   a row lock the account for that source for 15 minutes. A stranger's failures from
 *   elsewhere never lock a reviewer out. The attempt is claimed by one UPDATE before the
 *   password is hashed, so simultaneous attempts cannot skip the back-off.
 * - Each source has a token bucket of AUTH_IP_BURST attempts refilled at AUTH_IP_RATE a
 *   second (in the server's memory); an empty bucket refuses before any hashing.
 * - Unknown logins and refusals before hashing are counted in memory and logged together
 *   (auth_flush_refusals, from the server's timer), not one durable write each.
 * - A session token is 32 random bytes, given to the client once as 64 hex digits and
 *   stored only as its SHA-256. A session has a short public id (for logs and lists),
 *   ends after AUTH_IDLE_DEFAULT seconds idle or AUTH_ABSOLUTE_DEFAULT seconds in all
 *   (facility table keys 'session_idle' and 'session_absolute' override them), and is
 *   bound to the client IP and, when one was given at login, the client certificate's
 *   fingerprint: a request from elsewhere ends it.
 * - Every login, failed login of a known account, and logout is a log entry
 *   (logdb_append), durable before the session exists or the refusal is returned.
 *
 * Functions taking `now` exist so tests control time; the others use the clock.
 * Account records (people) are made by policy_person_add (policy.h).
 */
#ifndef SEALROOM_AUTH_H
#define SEALROOM_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "buf.h"
#include "err.h"
#include "facility.h"

#define AUTH_LOGIN_MAX 64
#define AUTH_ORG_MAX 64
#define AUTH_ROLE_MAX 15
#define AUTH_PASSWORD_MIN 12
#define AUTH_PASSWORD_MAX 1024
#define AUTH_TOTP_SECRET_LEN 20
#define AUTH_TOTP_STEP 30
#define AUTH_TOTP_DIGITS 6
#define AUTH_MAX_FAILURES 5
#define AUTH_LOCK_SECONDS (15 * 60)
#define AUTH_IDLE_DEFAULT (30 * 60)
#define AUTH_ABSOLUTE_DEFAULT (10 * 60 * 60)
#define AUTH_IDLE_MIN 60
#define AUTH_IDLE_MAX (24 * 60 * 60)
#define AUTH_ABSOLUTE_MAX (7 * 24 * 60 * 60)
#define AUTH_TOKEN_LEN 32
#define AUTH_TOKEN_HEX (2 * AUTH_TOKEN_LEN)
#define AUTH_SESSION_ID_HEX 16
#define AUTH_CERT_FP_MAX 128
#define AUTH_IP_MAX 64
#define AUTH_IP_BURST 30
#define AUTH_IP_RATE 1.0 /* attempts a second, per source */
#define AUTH_BUCKETS 4096
#define AUTH_REFUSAL_MS 300 /* auth_login answers no refusal sooner (after the bucket) */

/* The person behind a session (or a login just made). */
struct session_info {
	int64_t person_id;
	char login[AUTH_LOGIN_MAX + 1];
	char role[AUTH_ROLE_MAX + 1];    /* vendor, operator, reviewer, auditor */
	int64_t org_id;
	char org[AUTH_ORG_MAX + 1];
	char org_kind[AUTH_ROLE_MAX + 1]; /* vendor, lab, operator */
	char session_id[AUTH_SESSION_ID_HEX + 1]; /* short public id, not the token */
	int64_t created, last_seen;
};

/* Is s a valid login or org name: 1..64 of [A-Za-z0-9._-], not starting with '.' or '-'? */
int auth_name_check(const char *what, const char *s) WUR;

/*
 * HOTP (RFC 4226) of counter under secret with HMAC-SHA-1, as a number below 10^digits
 * (digits 6..8). TOTP is this with counter = unix time / 30.
 */
uint32_t auth_hotp(const unsigned char *secret, size_t len, uint64_t counter, int digits);
/* The TOTP code at unix time t as digits characters plus NUL into out (at least 9 bytes). */
void auth_totp_code(const unsigned char *secret, size_t len, int64_t t, int digits, char *out);
/*
 * Check code (digits digits) against secret at now, allowing one step of clock skew either
 * way; the step must be after last_step. On success *step gets the matched step.
 * ERR_AUTH otherwise (constant time over the candidates).
 */
int auth_totp_verify(const unsigned char *secret, size_t len, const char *code, int digits,
		     int64_t now, int64_t last_step, int64_t *step) WUR;

/*
 * TOTP secrets at rest: sealed under the facility's at-rest key (facility_secret_seal,
 * purpose "totp:LOGIN", so a sealed secret opens for its own account only). auth_totp_seal
 * appends the stored form to out; auth_totp_secret reads login's and opens it.
 */
int auth_totp_seal(struct facility *f, const char *login, const unsigned char secret[AUTH_TOTP_SECRET_LEN],
		   struct buf *out) WUR;
int auth_totp_secret(struct facility *f, const char *login, unsigned char out[AUTH_TOTP_SECRET_LEN]) WUR;

/* RFC 4648 base32 (upper case, no padding) of (p, len), appended to out. */
int auth_base32_encode(const void *p, size_t len, struct buf *out) WUR;
/* Decode base32 (either case, padding and spaces ignored), appending bytes to out. */
int auth_base32_decode(const char *s, struct buf *out) WUR;
/*
 * The enrolment URI for an authenticator app:
 * otpauth://totp/ISSUER:LOGIN?secret=BASE32&issuer=ISSUER&algorithm=SHA1&digits=6&period=30
 */
int auth_otpauth_uri(const char *issuer, const char *login, const unsigned char *secret,
		     size_t len, struct buf *out) WUR;

/* A fresh random password, 4 groups of 5 base32 letters (100 bits), appended to out. */
int auth_password_generate(struct buf *out) WUR;
/* Refuse passwords shorter than AUTH_PASSWORD_MIN or longer than AUTH_PASSWORD_MAX. */
int auth_password_check(const char *pw) WUR;
/* The Argon2id string for pw into out (crypto_pwhash_STRBYTES bytes). */
int auth_password_hash(const char *pw, char *out, size_t out_len) WUR;

/*
 * Log in: check the source's bucket, the back-off of (account, source), login, password
 * and TOTP code. On success a session bound to client_ip (and cert_fp when not NULL or
 * empty) is created, its token (64 hex digits) appended to token_out and who filled. Every
 * refusal is ERR_AUTH "login failed: wrong login, password or code", whatever its reason.
 * auth_login (the clock's) answers a refusal past the bucket no sooner than
 * AUTH_REFUSAL_MS after the attempt began; auth_login_at (for tests) does not wait.
 */
int auth_login(struct facility *f, const char *login, const char *password, const char *totp,
	       const char *client_ip, const char *cert_fp, struct buf *token_out,
	       struct session_info *who) WUR;
int auth_login_at(struct facility *f, const char *login, const char *password, const char *totp,
		  const char *client_ip, const char *cert_fp, int64_t now, struct buf *token_out,
		  struct session_info *who) WUR;

/*
 * Check a session token for a request from client_ip (with cert_fp), refreshing last_seen.
 * ERR_AUTH, naming why ("session timed out", "session ended", "bound to another client"),
 * and the session is deleted when it timed out or is presented from another client.
 */
int auth_session(struct facility *f, const char *token, const char *client_ip,
		 const char *cert_fp, struct session_info *who) WUR;
int auth_session_at(struct facility *f, const char *token, const char *client_ip,
		    const char *cert_fp, int64_t now, struct session_info *who) WUR;

/* End a session server-side; ERR_AUTH when the token names no live session. */
int auth_logout(struct facility *f, const char *token) WUR;

/* End every session of a person (revocation, disabling); *n (may be NULL) gets the count. */
int auth_end_sessions(struct facility *f, int64_t person_id, int *n) WUR;

/* Account upkeep by the operator; actor names who did it in the log entry. */
int auth_set_password(struct facility *f, const char *login, const char *password,
		      const char *actor) WUR;
int auth_unlock(struct facility *f, const char *login, const char *actor) WUR;
int auth_disable(struct facility *f, const char *login, const char *actor) WUR;
/*
 * Set the facility's session timeouts (seconds): idle AUTH_IDLE_MIN to AUTH_IDLE_MAX,
 * absolute idle to AUTH_ABSOLUTE_MAX (ERR_USAGE otherwise); actor must be an active
 * operator (ERR_DENIED). Logged as session_timeouts before it takes effect; sessions
 * already open are held to the new limits from their next request.
 */
int auth_set_timeouts(struct facility *f, int64_t idle, int64_t absolute, const char *actor) WUR;
/* The facility's session timeouts now (the defaults when never set). */
void auth_timeouts(struct facility *f, int64_t *idle, int64_t *absolute);

/*
 * Log, then act: append one log entry {"type":type,"actor":actor} plus the fields of extra
 * (stolen; built with logdb.h's entry builder), durably, through the facility's log; only
 * then run act(ctx) (may be NULL), whose error is returned. act never runs when the entry
 * cannot be built (extra NULL, as a failed json_pack gives: ERR_USAGE) or made durable.
 * Every decision that changes what someone may do or see (policy, quota holds, prints,
 * notes) takes effect this way, so that the log never misses one that happened: at worst,
 * after a crash between the two, it names one that did not.
 */
int auth_log_then(struct facility *f, const char *type, const char *actor, json_t *extra,
		  int (*act)(void *ctx), void *ctx) WUR;
/*
 * Log the refusals counted since the last call as one entry `login_refusals` (unknown
 * logins, empty buckets, back-offs); nothing when there were none.
 */
int auth_flush_refusals(struct facility *f) WUR;

/* auth_log_then without an act. */
int auth_log(struct facility *f, const char *type, const char *actor, json_t *extra) WUR;

#endif
