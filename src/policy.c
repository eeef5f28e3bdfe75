/* policy: orgs, people and the engagement (see policy.h for the rules and invariants). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "audit.h"
#include "db.h"
#include "decision.h"
#include "hash.h"
#include "policy.h"
#include "print.h"
#include "vault.h"

#define REF_MAX (2 * RELEASE_NAME_MAX + 2)

static int64_t clock_now(const struct policy_actor *a)
{
	return a && a->now ? a->now : (int64_t)time(NULL);
}

static void copy_text(char *dst, size_t cap, sqlite3_stmt *st, int col)
{
	const char *s = (const char *)sqlite3_column_text(st, col);
	snprintf(dst, cap, "%s", s ? s : "");
}

/*
 * Prepare sql and bind values by fmt: 'i' int64, 'n' int64 with 0 as NULL, 't' text (NULL
 * binds NULL). The caller
 * steps and finalizes.
 */
static int prep(struct facility *f, sqlite3_stmt **st, const char *sql, const char *fmt, va_list ap)
{
	int r = db_prepare(facility_db(f), sql, st);
	if (r)
		return r;
	for (int i = 0; fmt[i]; i++) {
		if (fmt[i] == 'i') {
			sqlite3_bind_int64(*st, i + 1, va_arg(ap, int64_t));
		} else if (fmt[i] == 'n') {
			int64_t v = va_arg(ap, int64_t);
			if (v)
				sqlite3_bind_int64(*st, i + 1, v);
			else
				sqlite3_bind_null(*st, i + 1);
		} else {
			const char *s = va_arg(ap, const char *);
			if (s)
				sqlite3_bind_text(*st, i + 1, s, -1, SQLITE_TRANSIENT);
			else
				sqlite3_bind_null(*st, i + 1);
		}
	}
	return 0;
}

/* Run a statement without results; *changes (may be NULL) gets the rows changed. */
static int run(struct facility *f, int *changes, const char *sql, const char *fmt, ...)
{
	sqlite3_stmt *st;
	va_list ap;
	int r;
	va_start(ap, fmt);
	r = prep(f, &st, sql, fmt, ap);
	va_end(ap);
	if (r)
		return r;
	if (sqlite3_step(st) != SQLITE_DONE)
		r = db_fail(facility_db(f), "cannot record the decision");
	else if (changes)
		*changes = sqlite3_changes(facility_db(f));
	sqlite3_finalize(st);
	return r;
}

/* One integer from a one-row query; ERR_NOTFOUND when there is no row. */
static int query_i64(struct facility *f, int64_t *out, const char *sql, const char *fmt, ...)
{
	sqlite3_stmt *st;
	va_list ap;
	int r, s;
	va_start(ap, fmt);
	r = prep(f, &st, sql, fmt, ap);
	va_end(ap);
	if (r)
		return r;
	s = sqlite3_step(st);
	if (s == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	else if (s == SQLITE_DONE)
		r = ERR_NOTFOUND;
	else
		r = db_fail(facility_db(f), "cannot read the engagement");
	sqlite3_finalize(st);
	return r;
}

/* The decision lock: an exclusive flock on DIR/policy.lock (facility_lock). */
static int lock_take(struct facility *f, int *fd)
{
	return facility_lock(f, "policy.lock", fd);
}

static void lock_drop(int fd)
{
	facility_unlock(fd);
}

/* Apply a decision's SQL in one transaction after its log entry is durable. */
static int apply_begin(struct facility *f)
{
	return db_begin(facility_db(f));
}

static int apply_end(struct facility *f, int r)
{
	if (r) {
		db_rollback(facility_db(f));
		return r;
	}
	return db_commit(facility_db(f));
}

/* ---- organisations and people ---- */

static int kind_ok(const char *kind)
{
	return !strcmp(kind, "vendor") || !strcmp(kind, "lab") || !strcmp(kind, "operator");
}

int policy_org_add(struct facility *f, const char *name, const char *kind, const char *actor)
{
	int64_t id;
	int r;
	json_t *x;
	if ((r = auth_name_check("org", name)))
		return r;
	if (!kind_ok(kind))
		return err_set(ERR_USAGE, "org kind '%s' is not one of vendor, lab, operator", kind);
	r = query_i64(f, &id, "SELECT id FROM orgs WHERE name = ?", "t", name);
	if (r == 0)
		return err_set(ERR_EXISTS, "org '%s' exists already", name);
	if (r != ERR_NOTFOUND)
		return r;
	x = json_pack("{s:s, s:s}", "org", name, "kind", kind);
	if ((r = auth_log(f, "org_add", actor, x)))
		return r;
	r = run(f, NULL, "INSERT INTO orgs (name, kind, created_at) VALUES (?, ?, ?)", "tti", name,
		kind, (int64_t)time(NULL));
	if (r && sqlite3_extended_errcode(facility_db(f)) == SQLITE_CONSTRAINT_UNIQUE)
		r = err_set(ERR_EXISTS, "org '%s' exists already", name);
	return r;
}

int policy_org_each(struct facility *f, int (*fn)(void *ctx, const struct org_info *o), void *ctx)
{
	sqlite3_stmt *st;
	struct org_info o;
	int r = db_prepare(facility_db(f),
			   "SELECT o.id, o.name, o.kind, o.created_at, "
			   "(SELECT count(*) FROM people p WHERE p.org_id = o.id) FROM orgs o ORDER BY o.id",
			   &st), s;
	if (r)
		return r;
	while (!r && (s = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&o, 0, sizeof(o));
		o.id = sqlite3_column_int64(st, 0);
		copy_text(o.name, sizeof(o.name), st, 1);
		copy_text(o.kind, sizeof(o.kind), st, 2);
		o.created_at = sqlite3_column_int64(st, 3);
		o.people = sqlite3_column_int64(st, 4);
		r = fn(ctx, &o);
	}
	if (!r && s != SQLITE_DONE)
		r = db_fail(facility_db(f), "cannot read orgs");
	sqlite3_finalize(st);
	return r;
}

/* an account is shown locked while a source of it is (auth.c: per-source back-off) */
#define LOCK_AT_(n) #n
#define LOCK_AT1(n) LOCK_AT_(n)
#define LOCK_AT LOCK_AT1(AUTH_MAX_FAILURES)
#define PERSON_SQL                                                                            \
	"SELECT p.id, p.login, p.full_name, p.role, o.id, o.name, o.kind, p.disabled, "       \
	"(SELECT coalesce(max(a.next_at), 0) FROM login_attempts a WHERE a.person_id = p.id "     \
	"  AND a.failures >= " LOCK_AT "), "                                                          \
	"(SELECT coalesce(max(a.failures), 0) FROM login_attempts a WHERE a.person_id = p.id), " \
	"p.created_at FROM people p JOIN orgs o ON o.id = p.org_id "

static void row_person(sqlite3_stmt *st, struct person_info *p)
{
	memset(p, 0, sizeof(*p));
	p->id = sqlite3_column_int64(st, 0);
	copy_text(p->login, sizeof(p->login), st, 1);
	copy_text(p->full_name, sizeof(p->full_name), st, 2);
	copy_text(p->role, sizeof(p->role), st, 3);
	p->org_id = sqlite3_column_int64(st, 4);
	copy_text(p->org, sizeof(p->org), st, 5);
	copy_text(p->org_kind, sizeof(p->org_kind), st, 6);
	p->disabled = sqlite3_column_int(st, 7);
	p->locked_until = sqlite3_column_int64(st, 8);
	p->failures = sqlite3_column_int64(st, 9);
	p->created_at = sqlite3_column_int64(st, 10);
}

int policy_person_get(struct facility *f, const char *login, struct person_info *out)
{
	sqlite3_stmt *st;
	int r = db_prepare(facility_db(f), PERSON_SQL "WHERE p.login = ?", &st), s;
	if (r)
		return r;
	sqlite3_bind_text(st, 1, login, -1, SQLITE_STATIC);
	s = sqlite3_step(st);
	if (s == SQLITE_ROW)
		row_person(st, out);
	else if (s == SQLITE_DONE)
		r = err_set(ERR_NOTFOUND, "no person '%s'", login);
	else
		r = db_fail(facility_db(f), "cannot read people");
	sqlite3_finalize(st);
	return r;
}

int policy_person_each(struct facility *f, int (*fn)(void *ctx, const struct person_info *p), void *ctx)
{
	sqlite3_stmt *st;
	struct person_info p;
	int r = db_prepare(facility_db(f), PERSON_SQL "ORDER BY p.id", &st), s;
	if (r)
		return r;
	while (!r && (s = sqlite3_step(st)) == SQLITE_ROW) {
		row_person(st, &p);
		r = fn(ctx, &p);
	}
	if (!r && s != SQLITE_DONE)
		r = db_fail(facility_db(f), "cannot read people");
	sqlite3_finalize(st);
	return r;
}

static int role_fits(const char *role, const char *kind)
{
	if (!strcmp(role, "auditor"))
		return 1;
	if (!strcmp(role, "vendor"))
		return !strcmp(kind, "vendor");
	if (!strcmp(role, "operator"))
		return !strcmp(kind, "operator");
	if (!strcmp(role, "reviewer"))
		return !strcmp(kind, "lab");
	return 0;
}

int policy_person_add(struct facility *f, const char *login, const char *org, const char *role,
		      const char *full_name, const char *password, const char *actor,
		      unsigned char totp_secret[AUTH_TOTP_SECRET_LEN])
{
	char hash[crypto_pwhash_STRBYTES], kind[16] = "";
	struct buf sealed;
	sqlite3_stmt *st;
	int64_t org_id = 0, id;
	int r;
	json_t *x;
	if ((r = auth_name_check("login", login)))
		return r;
	if (strlen(full_name) > POLICY_NAME_MAX || !utf8_valid(full_name, strlen(full_name)))
		return err_set(ERR_USAGE, "name of '%s' must be at most %d bytes of UTF-8", login, POLICY_NAME_MAX);
	if ((r = db_prepare(facility_db(f), "SELECT id, kind FROM orgs WHERE name = ?", &st)))
		return r;
	sqlite3_bind_text(st, 1, org, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		org_id = sqlite3_column_int64(st, 0);
		copy_text(kind, sizeof(kind), st, 1);
	}
	sqlite3_finalize(st);
	if (!kind[0])
		return err_set(ERR_NOTFOUND, "no org '%s'; add it with 'sealroom org add'", org);
	if (strcmp(role, "vendor") && strcmp(role, "operator") && strcmp(role, "reviewer") && strcmp(role, "auditor"))
		return err_set(ERR_USAGE, "role '%s' is not one of vendor, operator, reviewer, auditor", role);
	if (!role_fits(role, kind))
		return err_set(ERR_USAGE, "role '%s' does not fit org '%s' of kind %s", role, org, kind);
	r = query_i64(f, &id, "SELECT id FROM people WHERE login = ?", "t", login);
	if (r == 0)
		return err_set(ERR_EXISTS, "login '%s' is taken", login);
	if (r != ERR_NOTFOUND)
		return r;
	if ((r = auth_password_hash(password, hash, sizeof(hash))))
		return r;
	randombytes_buf(totp_secret, AUTH_TOTP_SECRET_LEN);
	/* stored sealed under the facility's at-rest key, never in clear */
	buf_init(&sealed, 256);
	if ((r = auth_totp_seal(f, login, totp_secret, &sealed)))
		goto out;
	x = json_pack("{s:s, s:s, s:s}", "login", login, "org", org, "role", role);
	if ((r = auth_log(f, "user_add", actor, x)))
		goto out;
	if ((r = db_prepare(facility_db(f),
			    "INSERT INTO people (login, full_name, org_id, role, pw_hash, totp_secret, "
			    "created_at) VALUES (?,?,?,?,?,?,?)", &st)))
		goto out;
	sqlite3_bind_text(st, 1, login, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, full_name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, org_id);
	sqlite3_bind_text(st, 4, role, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, hash, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 6, sealed.p, (int)sealed.len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, (int64_t)time(NULL));
	if (sqlite3_step(st) != SQLITE_DONE)
		r = sqlite3_extended_errcode(facility_db(f)) == SQLITE_CONSTRAINT_UNIQUE
			    ? err_set(ERR_EXISTS, "login '%s' is taken", login)
			    : db_fail(facility_db(f), "cannot add the person");
	sqlite3_finalize(st);
out:
	sodium_memzero(hash, sizeof(hash));
	buf_release(&sealed);
	return r;
}

/* ---- the engagement ---- */

/* A release as the engagement sees it. */
struct rel {
	int64_t id;
	struct release_info info;
	int64_t objection_days;
	int halted, shredded;
	char ref[REF_MAX];
};

static int rel_get(struct facility *f, const char *product, const char *version, struct rel *r_out)
{
	sqlite3_stmt *st;
	int r;
	memset(r_out, 0, sizeof(*r_out));
	snprintf(r_out->ref, sizeof(r_out->ref), "%s@%s", product, version);
	if ((r = release_get(f, product, version, &r_out->info)))
		return r;
	if ((r = db_prepare(facility_db(f),
			    "SELECT r.id, coalesce(p.objection_days, ?), p.halted_at IS NOT NULL, "
			    "p.shredded_at IS NOT NULL FROM releases r LEFT JOIN release_policy p "
			    "ON p.release_id = r.id WHERE r.product = ? AND r.version = ?", &st)))
		goto out;
	sqlite3_bind_int(st, 1, POLICY_OBJECTION_DAYS);
	sqlite3_bind_text(st, 2, product, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, version, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		r_out->id = sqlite3_column_int64(st, 0);
		r_out->objection_days = sqlite3_column_int64(st, 1);
		r_out->halted = sqlite3_column_int(st, 2);
		r_out->shredded = sqlite3_column_int(st, 3);
	} else {
		r = err_set(ERR_NOTFOUND, "no release '%s'", r_out->ref);
	}
	sqlite3_finalize(st);
out:
	if (r)
		release_info_release(&r_out->info);
	return r;
}

static void rel_free(struct rel *r)
{
	release_info_release(&r->info);
}

/* Refuse decisions on a halted or shredded release. */
static int rel_open(const struct rel *r)
{
	if (r->shredded)
		return err_set(ERR_DENIED, "release '%s' was shredded", r->ref);
	if (r->halted)
		return err_set(ERR_DENIED, "release '%s' is halted by the vendor", r->ref);
	return 0;
}

/* The acting person, who must exist and not be disabled. */
static int actor_get(struct facility *f, const struct policy_actor *a, struct person_info *p)
{
	int r;
	if (!a || !a->login || !*a->login)
		return err_set(ERR_USAGE, "who acts? name a person with --as LOGIN");
	if ((r = policy_person_get(f, a->login, p)))
		return r;
	if (p->disabled)
		return err_set(ERR_DENIED, "account '%s' is disabled", p->login);
	return 0;
}

/* Has a decision with this nonce been applied before? The log is the record. */
static int nonce_unused(struct facility *f, const char *nonce)
{
	sqlite3_stmt *st;
	char pat[DECISION_NONCE_HEX + 8];
	int r, s;
	snprintf(pat, sizeof(pat), "nonce %s", nonce);
	if ((r = db_prepare(facility_db(f), "SELECT idx FROM log_entries WHERE instr(CAST(data AS TEXT), ?) LIMIT 1",
			    &st)))
		return r;
	sqlite3_bind_text(st, 1, pat, -1, SQLITE_STATIC);
	s = sqlite3_step(st);
	if (s == SQLITE_ROW)
		r = err_set(ERR_EXISTS, "decision %s was applied already (log entry %lld): a decision applies once",
			    nonce, (long long)sqlite3_column_int64(st, 0));
	else if (s != SQLITE_DONE)
		r = db_fail(facility_db(f), "cannot read the log");
	sqlite3_finalize(st);
	return r;
}

/*
 * The vendor's authority: a decision file being applied (checked by policy_apply against
 * this release; its nonce is checked here, under the policy lock, so that two applications
 * at once cannot both pass), or, in one process, a person with the role vendor holding the
 * key that sealed the release.
 */
static int vendor_proof(struct facility *f, const struct policy_actor *a, const struct person_info *p,
			const struct rel *rl)
{
	struct buf vk;
	int r;
	if (a->decision) {
		struct str text;
		struct note_sig *sigs = xcalloc(NOTE_MAX_SIGS, sizeof(*sigs));
		struct decision d;
		size_t n;
		if (!(r = note_split(a->decision, strlen(a->decision), &text, sigs, &n)) &&
		    !(r = decision_parse(text.p, text.len, &d)))
			r = nonce_unused(f, d.nonce);
		free(sigs);
		return r;
	}
	if (strcmp(p->role, "vendor"))
		return err_set(ERR_DENIED, "'%s' is a %s, not the vendor", p->login, p->role);
	if (!a->vendor_key)
		return err_set(ERR_DENIED, "the vendor decides '%s' with a signed decision file: 'sealroom vendor "
					   "sign' on the vendor's machine, then 'sealroom apply FILE' here", rl->ref);
	buf_init(&vk, 4096);
	if (!(r = note_signer_vkey(a->vendor_key, &vk)) && strcmp(vk.p, rl->info.vendor_vkey))
		r = err_set(ERR_AUTH, "key '%s' did not seal '%s'", note_signer_name(a->vendor_key), rl->ref);
	buf_release(&vk);
	return r;
}

/* Put the vendor's decision note, when one is applied, into a log entry. */
static json_t *decided(json_t *x, const struct policy_actor *a)
{
	if (a->decision)
		json_object_set_new(x, "decision", json_string(a->decision));
	return x;
}

/* vendor or operator side, with the vendor's proof; others may not decide. */
static int side_of(struct facility *f, const struct policy_actor *a, const struct person_info *p,
		   const struct rel *rl, int *vendor)
{
	if (a->decision) {
		*vendor = 1;
		return vendor_proof(f, a, p, rl);
	}
	if (!strcmp(p->role, "operator")) {
		*vendor = 0;
		return 0;
	}
	if (!strcmp(p->role, "vendor")) {
		*vendor = 1;
		return vendor_proof(f, a, p, rl);
	}
	return err_set(ERR_DENIED, "'%s' is a %s: only the vendor or the operator decides", p->login, p->role);
}

struct nom {
	int64_t id, nominated_at, window_ends;
	char state[16];
	char reason[POLICY_NOTE_MAX + 1];
};

static int nom_get(struct facility *f, const struct rel *rl, int64_t reviewer_id, struct nom *n)
{
	sqlite3_stmt *st;
	int r = db_prepare(facility_db(f), "SELECT id, nominated_at, state, reason FROM nominations "
					   "WHERE release_id = ? AND reviewer_id = ?", &st), s;
	if (r)
		return r;
	memset(n, 0, sizeof(*n));
	sqlite3_bind_int64(st, 1, rl->id);
	sqlite3_bind_int64(st, 2, reviewer_id);
	s = sqlite3_step(st);
	if (s == SQLITE_ROW) {
		n->id = sqlite3_column_int64(st, 0);
		n->nominated_at = sqlite3_column_int64(st, 1);
		copy_text(n->state, sizeof(n->state), st, 2);
		copy_text(n->reason, sizeof(n->reason), st, 3);
		n->window_ends = n->nominated_at + rl->objection_days * 86400;
	} else {
		r = s == SQLITE_DONE ? ERR_NOTFOUND : db_fail(facility_db(f), "cannot read nominations");
	}
	sqlite3_finalize(st);
	return r;
}

/* The reviewer named in a decision: a person with the role reviewer. */
static int reviewer_get(struct facility *f, const char *login, struct person_info *p)
{
	int r = policy_person_get(f, login, p);
	if (r)
		return r;
	if (strcmp(p->role, "reviewer"))
		return err_set(ERR_USAGE, "'%s' is a %s, not a reviewer", login, p->role);
	return 0;
}

static json_t *entry(const struct rel *rl, const char *reviewer)
{
	json_t *x = json_object();
	json_object_set_new(x, "release", json_string(rl->ref));
	if (reviewer)
		json_object_set_new(x, "reviewer", json_string(reviewer));
	return x;
}

int policy_nominate(struct facility *f, const struct policy_actor *a, const char *product,
		    const char *version, const char *reviewer, const char *note)
{
	struct person_info who, rev;
	struct rel rl;
	struct nom n;
	int64_t now = clock_now(a);
	int r, fd = -1, have_rel = 0;
	json_t *x;

	if (note && (strlen(note) > POLICY_NOTE_MAX || !utf8_valid(note, strlen(note))))
		return err_set(ERR_USAGE, "note must be at most %d bytes of UTF-8", POLICY_NOTE_MAX);
	if ((r = lock_take(f, &fd)) || (r = actor_get(f, a, &who)) || (r = rel_get(f, product, version, &rl)))
		goto out;
	have_rel = 1;
	if ((r = rel_open(&rl)) || (r = reviewer_get(f, reviewer, &rev)))
		goto out;
	if (rev.disabled) {
		r = err_set(ERR_DENIED, "account '%s' is disabled", rev.login);
		goto out;
	}
	if (strcmp(who.role, "operator") && who.org_id != rev.org_id) {
		r = err_set(ERR_DENIED, "'%s' may not nominate '%s': only lab '%s' or the operator may",
			    who.login, rev.login, rev.org);
		goto out;
	}
	r = nom_get(f, &rl, rev.id, &n);
	if (r == 0 && (!strcmp(n.state, "pending") || !strcmp(n.state, "approved"))) {
		r = err_set(ERR_EXISTS, "'%s' is already nominated for '%s' (%s)", rev.login, rl.ref, n.state);
		goto out;
	}
	if (r && r != ERR_NOTFOUND)
		goto out;
	x = entry(&rl, rev.login);
	json_object_set_new(x, "lab", json_string(rev.org));
	json_object_set_new(x, "note", json_string(note ? note : ""));
	json_object_set_new(x, "window_ends", json_integer(now + rl.objection_days * 86400));
	if ((r = auth_log(f, "nominate", who.login, x)) || (r = apply_begin(f)))
		goto out;
	/* a nomination objected to or revoked before may be made again: its window restarts */
	r = run(f, NULL,
		"INSERT INTO nominations (release_id, reviewer_id, nominated_by, note, nominated_at, state) "
		"VALUES (?1, ?2, ?3, ?4, ?5, 'pending') ON CONFLICT (release_id, reviewer_id) DO UPDATE "
		"SET nominated_by = ?3, note = ?4, nominated_at = ?5, state = 'pending', decided_by = NULL, "
		"decided_at = NULL, reason = ''",
		"iiiti", rl.id, rev.id, who.id, note ? note : "", now);
	r = apply_end(f, r);
out:
	if (have_rel)
		rel_free(&rl);
	lock_drop(fd);
	return r;
}

int policy_object(struct facility *f, const struct policy_actor *a, const char *product,
		  const char *version, const char *reviewer, const char *reason)
{
	struct person_info who, rev;
	struct rel rl;
	struct nom n;
	char when[32];
	int64_t now = clock_now(a);
	int r, fd = -1, have_rel = 0;
	json_t *x;

	if (!reason || !*reason || strlen(reason) > POLICY_NOTE_MAX || !utf8_valid(reason, strlen(reason)))
		return err_set(ERR_USAGE, "an objection needs a reason of at most %d bytes", POLICY_NOTE_MAX);
	if ((r = lock_take(f, &fd)) || (r = actor_get(f, a, &who)) || (r = rel_get(f, product, version, &rl)))
		goto out;
	have_rel = 1;
	if ((r = vendor_proof(f, a, &who, &rl)) || (r = rel_open(&rl)) || (r = reviewer_get(f, reviewer, &rev)))
		goto out;
	if ((r = nom_get(f, &rl, rev.id, &n)) == ERR_NOTFOUND) {
		r = err_set(ERR_NOTFOUND, "'%s' is not nominated for '%s'", rev.login, rl.ref);
		goto out;
	}
	if (r)
		goto out;
	if (strcmp(n.state, "pending")) {
		r = err_set(ERR_DENIED, "the nomination of '%s' for '%s' is %s, not pending%s", rev.login,
			    rl.ref, n.state, !strcmp(n.state, "approved") ? "; revoke instead" : "");
		goto out;
	}
	if (now >= n.window_ends) {
		policy_format_time(n.window_ends, when, sizeof(when));
		r = err_set(ERR_DENIED, "the objection window for '%s' on '%s' closed at %s; revoke instead",
			    rev.login, rl.ref, when);
		goto out;
	}
	x = entry(&rl, rev.login);
	json_object_set_new(x, "reason", json_string(reason));
	if ((r = auth_log(f, "object", who.login, decided(x, a))) || (r = apply_begin(f)))
		goto out;
	r = run(f, NULL, "UPDATE nominations SET state = 'objected', decided_by = ?, decided_at = ?, "
			 "reason = ? WHERE id = ?", "iiti", who.id, now, reason, n.id);
	r = apply_end(f, r);
out:
	if (have_rel)
		rel_free(&rl);
	lock_drop(fd);
	return r;
}

/* The live (proposed or active) grant of a reviewer; ERR_NOTFOUND when none. */
struct live {
	int64_t id, vendor_by, operator_by;
	char state[16];
	struct grant_terms t;
	char quotas[1024];
	char statement[DECISION_MAX + 1]; /* the vendor's signed approval, "" when none */
};

static int live_get(struct facility *f, const struct rel *rl, int64_t reviewer_id, struct live *g)
{
	sqlite3_stmt *st;
	int r = db_prepare(facility_db(f),
			   "SELECT id, state, coalesce(vendor_by, 0), coalesce(operator_by, 0), valid_from, "
			   "valid_until, days, hour_from, hour_until, lines_per_day, lines_total, prints, quotas, "
			   "coalesce(statement, '') FROM grants WHERE release_id = ? AND reviewer_id = ? AND "
			   "state IN ('proposed', 'active')",
			   &st), s;
	if (r)
		return r;
	memset(g, 0, sizeof(*g));
	sqlite3_bind_int64(st, 1, rl->id);
	sqlite3_bind_int64(st, 2, reviewer_id);
	s = sqlite3_step(st);
	if (s == SQLITE_ROW) {
		g->id = sqlite3_column_int64(st, 0);
		copy_text(g->state, sizeof(g->state), st, 1);
		g->vendor_by = sqlite3_column_int64(st, 2);
		g->operator_by = sqlite3_column_int64(st, 3);
		g->t.valid_from = sqlite3_column_int64(st, 4);
		g->t.valid_until = sqlite3_column_int64(st, 5);
		g->t.days = (unsigned)sqlite3_column_int(st, 6);
		g->t.hour_from = sqlite3_column_int(st, 7);
		g->t.hour_until = sqlite3_column_int(st, 8);
		g->t.lines_per_day = sqlite3_column_int64(st, 9);
		g->t.lines_total = sqlite3_column_int64(st, 10);
		g->t.prints = sqlite3_column_int64(st, 11);
		copy_text(g->quotas, sizeof(g->quotas), st, 12);
		g->t.quotas = g->quotas;
		copy_text(g->statement, sizeof(g->statement), st, 13);
	} else {
		r = s == SQLITE_DONE ? ERR_NOTFOUND : db_fail(facility_db(f), "cannot read grants");
	}
	sqlite3_finalize(st);
	return r;
}

static void outcome(struct policy_outcome *o, const char *what, const char *waiting, int64_t id)
{
	if (!o)
		return;
	snprintf(o->what, sizeof(o->what), "%s", what);
	snprintf(o->waiting_for, sizeof(o->waiting_for), "%s", waiting);
	o->grant_id = id;
}

static json_t *terms_json(const struct grant_terms *t)
{
	char from[32], until[32], days[32];
	json_t *q = json_loads(t->quotas && *t->quotas ? t->quotas : "{}", 0, NULL);
	policy_format_time(t->valid_from, from, sizeof(from));
	policy_format_time(t->valid_until, until, sizeof(until));
	policy_format_days(t->days, days, sizeof(days));
	return json_pack("{s:s, s:s, s:s, s:i, s:i, s:I, s:I, s:I, s:o}", "from", from, "until", until,
			 "days", days, "hour_from", t->hour_from, "hour_until", t->hour_until,
			 "lines_per_day", (json_int_t)t->lines_per_day, "lines_total",
			 (json_int_t)t->lines_total, "prints", (json_int_t)t->prints, "quotas",
			 q ? q : json_object());
}

/* The vendor's signed approval of t for reviewer, made in this process (a->vendor_key). */
static int vendor_statement(const struct policy_actor *a, const struct rel *rl, const char *reviewer,
			    const struct grant_terms *t, int64_t now, struct buf *out)
{
	struct decision d;
	if (!a->vendor_key)
		return err_set(ERR_DENIED, "the vendor's approval of '%s' needs the vendor's signature", rl->ref);
	memset(&d, 0, sizeof(d));
	snprintf(d.kind, sizeof(d.kind), "approve");
	snprintf(d.product, sizeof(d.product), "%s", rl->info.product);
	snprintf(d.version, sizeof(d.version), "%s", rl->info.version);
	decision_seal_hash(rl->info.seal_note, d.seal);
	d.time = now;
	snprintf(d.reviewer, sizeof(d.reviewer), "%s", reviewer);
	d.terms = *t;
	return decision_sign(&d, a->vendor_key, out);
}

/* A vendor's statement countersigned by the facility's key, appended to out. */
static int countersign(struct facility *f, const char *statement, struct buf *out)
{
	const struct note_signer *fs;
	int r = facility_signer(f, &fs);
	return r ? r : decision_countersign(statement, strlen(statement), fs, out);
}

/*
 * The statement that makes g active when side vendor (or not) approves second: the vendor
 * signs now, or the vendor's earlier signed approval; then the facility countersigns.
 */
static int second_statement(struct facility *f, const struct policy_actor *a, const struct rel *rl,
			    const char *reviewer, const struct live *g, int vendor, int64_t now, struct buf *out)
{
	struct buf v;
	int r;
	if (!vendor && !g->statement[0])
		return err_set(ERR_DENIED, "the proposed grant of '%s' for '%s' carries no signature of the vendor",
			       reviewer, rl->ref);
	if (!vendor)
		return countersign(f, g->statement, out);
	buf_init(&v, 4096);
	if (!(r = vendor_statement(a, rl, reviewer, &g->t, now, &v)))
		r = countersign(f, v.p, out);
	buf_release(&v);
	return r;
}

/* Make a grant active after its second approval, in the caller's transaction. */
static int activate(struct facility *f, int64_t id, int vendor, int64_t who_id, int64_t now, const char *statement)
{
	return run(f, NULL,
		   vendor ? "UPDATE grants SET vendor_by = ?, state = 'active', activated_at = ?, statement = ? "
			    "WHERE id = ? AND state = 'proposed'"
			  : "UPDATE grants SET operator_by = ?, state = 'active', activated_at = ?, statement = ? "
			    "WHERE id = ? AND state = 'proposed'",
		   "iiti", who_id, now, statement, id);
}

int policy_approve(struct facility *f, const struct policy_actor *a, const char *product,
		   const char *version, const char *reviewer, struct policy_outcome *out)
{
	struct person_info who, rev;
	struct rel rl;
	struct nom n;
	struct live g;
	char when[32];
	int64_t now = clock_now(a);
	int r, fd = -1, have_rel = 0, vendor = 0, approve_nom = 0, do_countersign = 0;
	struct buf stmt;
	json_t *x;

	buf_init(&stmt, 2 * DECISION_MAX);

	if ((r = lock_take(f, &fd)) || (r = actor_get(f, a, &who)) || (r = rel_get(f, product, version, &rl)))
		goto out;
	have_rel = 1;
	if ((r = side_of(f, a, &who, &rl, &vendor)) || (r = rel_open(&rl)) || (r = reviewer_get(f, reviewer, &rev)))
		goto out;
	if ((r = nom_get(f, &rl, rev.id, &n)) == ERR_NOTFOUND) {
		r = err_set(ERR_NOTFOUND, "'%s' is not nominated for '%s'", rev.login, rl.ref);
		goto out;
	}
	if (r)
		goto out;
	if (!strcmp(n.state, "objected")) {
		r = err_set(ERR_DENIED, "the vendor objected to '%s' for '%s': %s", rev.login, rl.ref, n.reason);
		goto out;
	}
	if (!strcmp(n.state, "revoked")) {
		r = err_set(ERR_DENIED, "'%s' was revoked for '%s'", rev.login, rl.ref);
		goto out;
	}
	if (!strcmp(n.state, "pending")) {
		if (!vendor && now < n.window_ends) {
			policy_format_time(n.window_ends, when, sizeof(when));
			r = err_set(ERR_DENIED, "the vendor's objection window for '%s' on '%s' runs until %s",
				    rev.login, rl.ref, when);
			goto out;
		}
		approve_nom = 1;
	} else {
		r = live_get(f, &rl, rev.id, &g);
		if (r == ERR_NOTFOUND) {
			r = err_set(ERR_EXISTS, "'%s' is already approved for '%s'; propose a grant with "
				    "'sealroom grant'", rev.login, rl.ref);
			goto out;
		}
		if (r)
			goto out;
		if (!strcmp(g.state, "active")) {
			r = err_set(ERR_EXISTS, "the grant of '%s' for '%s' is active already", rev.login, rl.ref);
			goto out;
		}
		if ((vendor && g.vendor_by) || (!vendor && g.operator_by)) {
			r = err_set(ERR_EXISTS, "the %s side approved the grant of '%s' for '%s' already; "
				    "it waits for the %s", vendor ? "vendor" : "operator", rev.login, rl.ref,
				    vendor ? "operator" : "vendor");
			goto out;
		}
		if (g.vendor_by == who.id || g.operator_by == who.id) {
			r = err_set(ERR_DENIED, "a grant needs two distinct approvers; '%s' approved it already",
				    who.login);
			goto out;
		}
		do_countersign = 1;
	}
	if (do_countersign && (r = second_statement(f, a, &rl, rev.login, &g, vendor, now, &stmt)))
		goto out;
	x = entry(&rl, rev.login);
	json_object_set_new(x, "side", json_string(vendor ? "vendor" : "operator"));
	if (do_countersign) {
		json_object_set_new(x, "grant", json_integer(g.id));
		json_object_set_new(x, "terms", terms_json(&g.t));
		json_object_set_new(x, "statement", json_string(stmt.p));
	}
	if ((r = auth_log(f, do_countersign ? "grant_active" : "approve", who.login, decided(x, a))) ||
	    (r = apply_begin(f)))
		goto out;
	if (approve_nom) {
		r = run(f, NULL, "UPDATE nominations SET state = 'approved', decided_by = ?, decided_at = ? "
				 "WHERE id = ? AND state = 'pending'", "iii", who.id, now, n.id);
		outcome(out, "nomination approved", "", 0);
	} else {
		r = activate(f, g.id, vendor, who.id, now, stmt.p);
		outcome(out, "grant active", "", g.id);
	}
	r = apply_end(f, r);
out:
	if (have_rel)
		rel_free(&rl);
	lock_drop(fd);
	buf_release(&stmt);
	return r;
}

static int terms_check(const struct grant_terms *t, int64_t now)
{
	json_t *q;
	if (t->valid_from >= t->valid_until)
		return err_set(ERR_USAGE, "a grant must start before it ends");
	if (t->valid_until <= now)
		return err_set(ERR_USAGE, "a grant must end in the future");
	if (!(t->days & POLICY_ALL_DAYS) || (t->days & ~(unsigned)POLICY_ALL_DAYS))
		return err_set(ERR_USAGE, "a grant needs at least one day of the week");
	if (t->hour_from < 0 || t->hour_until > 24 || t->hour_from >= t->hour_until)
		return err_set(ERR_USAGE, "grant hours must be within 00-24, start before end");
	if (t->lines_per_day < POLICY_UNLIMITED || t->lines_total < POLICY_UNLIMITED || t->prints < POLICY_UNLIMITED)
		return err_set(ERR_USAGE, "quotas must be zero or more");
	if (t->quotas && *t->quotas) {
		if (strlen(t->quotas) > 1000)
			return err_set(ERR_USAGE, "further quotas must be at most 1000 bytes of JSON");
		q = json_loads(t->quotas, JSON_REJECT_DUPLICATES, NULL);
		if (!json_is_object(q)) {
			json_decref(q);
			return err_set(ERR_USAGE, "further quotas must be a JSON object");
		}
		json_decref(q);
	}
	return 0;
}

/* The same terms, the further quotas compared as JSON values (not as spellings). */
static int same_terms(const struct grant_terms *a, const struct grant_terms *b)
{
	json_t *qa = json_loads(a->quotas && *a->quotas ? a->quotas : "{}", JSON_REJECT_DUPLICATES, NULL);
	json_t *qb = json_loads(b->quotas && *b->quotas ? b->quotas : "{}", JSON_REJECT_DUPLICATES, NULL);
	int same = qa && qb && json_equal(qa, qb) && a->valid_from == b->valid_from &&
		   a->valid_until == b->valid_until && a->days == b->days && a->hour_from == b->hour_from &&
		   a->hour_until == b->hour_until && a->lines_per_day == b->lines_per_day &&
		   a->lines_total == b->lines_total && a->prints == b->prints;
	json_decref(qa);
	json_decref(qb);
	return same;
}

int policy_grant(struct facility *f, const struct policy_actor *a, const char *product,
		 const char *version, const char *reviewer, const struct grant_terms *t,
		 struct policy_outcome *out)
{
	struct person_info who, rev;
	struct rel rl;
	struct nom n;
	struct live g;
	int64_t now = clock_now(a), id = 0;
	int r, fd = -1, have_rel = 0, vendor = 0, mode; /* 0 new, 1 countersign, 2 new terms */
	const char *side, *other;
	struct buf stmt;
	json_t *x;

	buf_init(&stmt, 2 * DECISION_MAX);

	if ((r = terms_check(t, now)))
		goto out;
	if ((r = lock_take(f, &fd)) || (r = actor_get(f, a, &who)) || (r = rel_get(f, product, version, &rl)))
		goto out;
	have_rel = 1;
	if ((r = side_of(f, a, &who, &rl, &vendor)) || (r = rel_open(&rl)) || (r = reviewer_get(f, reviewer, &rev)))
		goto out;
	side = vendor ? "vendor" : "operator";
	other = vendor ? "operator" : "vendor";
	if (rev.disabled) {
		r = err_set(ERR_DENIED, "account '%s' is disabled", rev.login);
		goto out;
	}
	r = nom_get(f, &rl, rev.id, &n);
	if (r == ERR_NOTFOUND || (!r && strcmp(n.state, "approved"))) {
		r = err_set(ERR_DENIED, "'%s' is not approved for '%s'%s%s", rev.login, rl.ref,
			    r ? ": not nominated" : ": the nomination is ", r ? "" : n.state);
		goto out;
	}
	if (r)
		goto out;
	r = live_get(f, &rl, rev.id, &g);
	if (r == ERR_NOTFOUND) {
		mode = 0;
	} else if (r) {
		goto out;
	} else if (!strcmp(g.state, "active")) {
		r = err_set(ERR_EXISTS, "'%s' holds an active grant for '%s' already; revoke it first",
			    rev.login, rl.ref);
		goto out;
	} else if (same_terms(&g.t, t)) {
		if ((vendor && g.vendor_by) || (!vendor && g.operator_by)) {
			r = err_set(ERR_EXISTS, "the %s side proposed this grant of '%s' for '%s' already; "
				    "it waits for the %s", side, rev.login, rl.ref, other);
			goto out;
		}
		if (g.vendor_by == who.id || g.operator_by == who.id) {
			r = err_set(ERR_DENIED, "a grant needs two distinct approvers; '%s' approved it already",
				    who.login);
			goto out;
		}
		mode = 1;
	} else {
		mode = 2;
	}
	r = 0;
	/* the vendor's signature over the terms: now when the vendor proposes, or the
	 * statement (countersigned) when the second side completes the grant */
	if (mode == 1)
		r = second_statement(f, a, &rl, rev.login, &g, vendor, now, &stmt);
	else if (vendor)
		r = vendor_statement(a, &rl, rev.login, t, now, &stmt);
	if (r)
		goto out;
	x = entry(&rl, rev.login);
	json_object_set_new(x, "side", json_string(side));
	json_object_set_new(x, "terms", terms_json(t));
	if (mode)
		json_object_set_new(x, "grant", json_integer(g.id));
	if (mode == 1)
		json_object_set_new(x, "statement", json_string(stmt.p));
	if ((r = auth_log(f, mode == 1 ? "grant_active" : "grant_propose", who.login, decided(x, a))) ||
	    (r = apply_begin(f)))
		goto out;
	if (mode == 1) {
		r = activate(f, g.id, vendor, who.id, now, stmt.p);
		outcome(out, "grant active", "", g.id);
	} else {
		const char *q = t->quotas && *t->quotas ? t->quotas : "{}";
		if (mode == 2)
			r = run(f, NULL, "DELETE FROM grants WHERE id = ? AND state = 'proposed'", "i", g.id);
		if (!r)
			r = run(f, NULL,
				"INSERT INTO grants (release_id, reviewer_id, state, vendor_by, operator_by, "
				"valid_from, valid_until, days, hour_from, hour_until, lines_per_day, "
				"lines_total, prints, quotas, created_at, statement) VALUES "
				"(?, ?, 'proposed', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
				"iinniiiiiiiitit", rl.id, rev.id, vendor ? who.id : (int64_t)0,
				vendor ? (int64_t)0 : who.id, t->valid_from, t->valid_until, (int64_t)t->days,
				(int64_t)t->hour_from, (int64_t)t->hour_until, t->lines_per_day,
				t->lines_total, t->prints, q, now, vendor ? stmt.p : NULL);
		if (!r)
			id = sqlite3_last_insert_rowid(facility_db(f));
		outcome(out, mode == 2 ? "grant terms changed" : "grant proposed", other, id);
	}
	r = apply_end(f, r);
out:
	if (have_rel)
		rel_free(&rl);
	lock_drop(fd);
	buf_release(&stmt);
	return r;
}

/* Revoke one reviewer's nomination and grants and end their sessions (in a transaction). */
static int revoke_one(struct facility *f, const struct rel *rl, int64_t reviewer_id, int64_t who_id,
		      const char *reason, int64_t now)
{
	int r = run(f, NULL, "UPDATE nominations SET state = 'revoked', decided_by = ?, decided_at = ?, "
			     "reason = ? WHERE release_id = ? AND reviewer_id = ?",
		    "iitii", who_id, now, reason, rl->id, reviewer_id);
	if (!r)
		r = run(f, NULL, "UPDATE grants SET state = 'revoked', revoked_at = ?, revoke_reason = ? "
				 "WHERE release_id = ? AND reviewer_id = ? AND state IN ('proposed', 'active')",
			"itii", now, reason, rl->id, reviewer_id);
	if (!r)
		r = auth_end_sessions(f, reviewer_id, NULL);
	return r;
}

/* Vendor (with its key) or operator may withdraw access: it only ever takes access away. */
static int revoker(struct facility *f, const struct policy_actor *a, const struct person_info *who,
		   const struct rel *rl)
{
	int vendor;
	return side_of(f, a, who, rl, &vendor);
}

int policy_revoke_reviewer(struct facility *f, const struct policy_actor *a, const char *product,
			   const char *version, const char *reviewer, const char *reason,
			   struct policy_outcome *out)
{
	struct person_info who, rev;
	struct rel rl;
	struct nom n;
	int64_t now = clock_now(a);
	int r, fd = -1, have_rel = 0;
	json_t *x;

	if (!reason)
		reason = "";
	if (strlen(reason) > POLICY_NOTE_MAX || !utf8_valid(reason, strlen(reason)))
		return err_set(ERR_USAGE, "reason must be at most %d bytes of UTF-8", POLICY_NOTE_MAX);
	if ((r = lock_take(f, &fd)) || (r = actor_get(f, a, &who)) || (r = rel_get(f, product, version, &rl)))
		goto out;
	have_rel = 1;
	if ((r = revoker(f, a, &who, &rl)) || (r = reviewer_get(f, reviewer, &rev)))
		goto out;
	r = nom_get(f, &rl, rev.id, &n);
	if (r == ERR_NOTFOUND || (!r && (!strcmp(n.state, "revoked") || !strcmp(n.state, "objected")))) {
		r = err_set(ERR_NOTFOUND, "'%s' holds no nomination or grant for '%s'", rev.login, rl.ref);
		goto out;
	}
	if (r)
		goto out;
	x = entry(&rl, rev.login);
	json_object_set_new(x, "reason", json_string(reason));
	if ((r = auth_log(f, "revoke", who.login, decided(x, a))) || (r = apply_begin(f)))
		goto out;
	r = revoke_one(f, &rl, rev.id, who.id, reason, now);
	r = apply_end(f, r);
	outcome(out, "reviewer revoked", "", 0);
	if (out)
		out->count = 1;
out:
	if (have_rel)
		rel_free(&rl);
	lock_drop(fd);
	return r;
}

int policy_revoke_lab(struct facility *f, const struct policy_actor *a, const char *product,
		      const char *version, const char *lab, const char *reason,
		      struct policy_outcome *out)
{
	struct person_info who;
	struct rel rl;
	sqlite3_stmt *st = NULL;
	int64_t now = clock_now(a), lab_id = 0, ids[1024];
	int r, fd = -1, have_rel = 0, n = 0, s;
	json_t *x, *names = NULL;

	if (!reason)
		reason = "";
	if (strlen(reason) > POLICY_NOTE_MAX || !utf8_valid(reason, strlen(reason)))
		return err_set(ERR_USAGE, "reason must be at most %d bytes of UTF-8", POLICY_NOTE_MAX);
	if ((r = lock_take(f, &fd)) || (r = actor_get(f, a, &who)) || (r = rel_get(f, product, version, &rl)))
		goto out;
	have_rel = 1;
	if ((r = revoker(f, a, &who, &rl)))
		goto out;
	r = query_i64(f, &lab_id, "SELECT id FROM orgs WHERE name = ? AND kind = 'lab'", "t", lab);
	if (r == ERR_NOTFOUND) {
		r = err_set(ERR_NOTFOUND, "no lab '%s'", lab);
		goto out;
	}
	if (r || (r = db_prepare(facility_db(f),
				 "SELECT p.id, p.login FROM nominations n JOIN people p ON p.id = n.reviewer_id "
				 "WHERE n.release_id = ? AND p.org_id = ? AND n.state IN ('pending', 'approved') "
				 "ORDER BY p.id", &st)))
		goto out;
	sqlite3_bind_int64(st, 1, rl.id);
	sqlite3_bind_int64(st, 2, lab_id);
	names = json_array();
	while ((s = sqlite3_step(st)) == SQLITE_ROW && n < (int)(sizeof(ids) / sizeof(ids[0]))) {
		ids[n++] = sqlite3_column_int64(st, 0);
		json_array_append_new(names, json_string((const char *)sqlite3_column_text(st, 1)));
	}
	sqlite3_finalize(st);
	if (!n) {
		r = err_set(ERR_NOTFOUND, "lab '%s' holds no nomination or grant for '%s'", lab, rl.ref);
		goto out;
	}
	x = entry(&rl, NULL);
	json_object_set_new(x, "lab", json_string(lab));
	json_object_set(x, "reviewers", names);
	json_object_set_new(x, "reason", json_string(reason));
	if ((r = auth_log(f, "revoke_lab", who.login, decided(x, a))) || (r = apply_begin(f)))
		goto out;
	for (int i = 0; i < n && !r; i++)
		r = revoke_one(f, &rl, ids[i], who.id, reason, now);
	r = apply_end(f, r);
	outcome(out, "lab revoked", "", 0);
	if (out)
		out->count = n;
out:
	json_decref(names);
	if (have_rel)
		rel_free(&rl);
	lock_drop(fd);
	return r;
}

/* End the sessions of every reviewer holding a live grant for the release. */
static int end_release_sessions(struct facility *f, int64_t release_id, int *n)
{
	return run(f, n, "DELETE FROM sessions WHERE person_id IN (SELECT reviewer_id FROM grants "
			 "WHERE release_id = ? AND state IN ('proposed', 'active'))", "i", release_id);
}

int policy_halt(struct facility *f, const struct policy_actor *a, const char *product,
		const char *version, struct policy_outcome *out)
{
	struct person_info who;
	struct rel rl;
	int64_t now = clock_now(a);
	int r, fd = -1, have_rel = 0, n = 0;

	if ((r = lock_take(f, &fd)) || (r = actor_get(f, a, &who)) || (r = rel_get(f, product, version, &rl)))
		goto out;
	have_rel = 1;
	if ((r = vendor_proof(f, a, &who, &rl)) || (r = rel_open(&rl)))
		goto out;
	if ((r = auth_log(f, "halt", who.login, decided(entry(&rl, NULL), a))) || (r = apply_begin(f)))
		goto out;
	r = run(f, NULL, "INSERT INTO release_policy (release_id, halted_at, halted_by) VALUES (?1, ?2, ?3) "
			 "ON CONFLICT (release_id) DO UPDATE SET halted_at = ?2, halted_by = ?3",
		"iit", rl.id, now, who.login);
	if (!r)
		r = run(f, NULL, "UPDATE releases SET state = 'halted' WHERE id = ?", "i", rl.id);
	if (!r)
		r = end_release_sessions(f, rl.id, &n);
	r = apply_end(f, r);
	outcome(out, "release halted", "", 0);
	if (out)
		out->count = n;
out:
	if (have_rel)
		rel_free(&rl);
	lock_drop(fd);
	return r;
}

int policy_set_objection_days(struct facility *f, const struct policy_actor *a,
			      const char *product, const char *version, int days)
{
	struct person_info who;
	struct rel rl;
	int r, fd = -1, have_rel = 0;
	json_t *x;

	if (days < 1 || days > 365)
		return err_set(ERR_USAGE, "the objection window must be 1 to 365 days");
	if ((r = lock_take(f, &fd)) || (r = actor_get(f, a, &who)) || (r = rel_get(f, product, version, &rl)))
		goto out;
	have_rel = 1;
	if ((r = vendor_proof(f, a, &who, &rl)) || (r = rel_open(&rl)))
		goto out;
	x = entry(&rl, NULL);
	json_object_set_new(x, "objection_days", json_integer(days));
	if ((r = auth_log(f, "objection_window", who.login, decided(x, a))) || (r = apply_begin(f)))
		goto out;
	r = run(f, NULL, "INSERT INTO release_policy (release_id, objection_days) VALUES (?1, ?2) "
			 "ON CONFLICT (release_id) DO UPDATE SET objection_days = ?2", "ii", rl.id, (int64_t)days);
	r = apply_end(f, r);
out:
	if (have_rel)
		rel_free(&rl);
	lock_drop(fd);
	return r;
}

int policy_shred(struct facility *f, const struct policy_actor *a, const char *product,
		 const char *version, struct buf *certificate)
{
	struct person_info who;
	struct rel rl;
	const struct note_signer *fs;
	struct buf text, cert;
	unsigned char h[32];
	char hex[65], when[32], vendor[128];
	int64_t now = clock_now(a);
	int r, fd = -1, have_rel = 0;
	char *vault_root = facility_path(f, "vault");
	json_t *x;

	buf_init(&text, 4096);
	buf_init(&cert, 8192);
	if ((r = lock_take(f, &fd)) || (r = actor_get(f, a, &who)) || (r = rel_get(f, product, version, &rl)))
		goto out;
	have_rel = 1;
	if ((r = vendor_proof(f, a, &who, &rl)))
		goto out;
	if (rl.shredded) {
		r = err_set(ERR_DENIED, "release '%s' was shredded", rl.ref);
		goto out;
	}
	policy_format_time(now, when, sizeof(when));
	/* the vendor's key name: the verifier key line up to its first '+' */
	snprintf(vendor, sizeof(vendor), "%.*s", (int)strcspn(rl.info.vendor_vkey, "+"), rl.info.vendor_vkey);
	if ((r = facility_signer(f, &fs)) ||
	    (r = buf_addf(&text, "sealroom/destruction/v1\nfacility %s\nrelease %s\ntree-sha256 %s\n"
				 "tree-sha1 %s\nvendor %s\nby %s\ntime %" PRId64 "\ndate %s\n",
			  facility_name(f), rl.ref, rl.info.tree_sha256, rl.info.tree_sha1,
			  vendor, who.login, now, when)) ||
	    (r = note_sign(text.p, text.len, fs, &cert)))
		goto out;
	sha256(cert.p, cert.len, h);
	hex_encode(hex, h, sizeof(h));
	x = entry(&rl, NULL);
	json_object_set_new(x, "tree_sha256", json_string(rl.info.tree_sha256));
	json_object_set_new(x, "certificate", json_string(cert.p));
	json_object_set_new(x, "certificate_sha256", json_string(hex));
	if ((r = auth_log(f, "shred", who.login, decided(x, a))))
		goto out;
	/* overwrite freed pages, so the wrapped key does not linger in the file */
	if ((r = db_exec(facility_db(f), "PRAGMA secure_delete = ON")) || (r = apply_begin(f)))
		goto out;
	r = run(f, NULL, "UPDATE releases SET wrapped_key = zeroblob(length(wrapped_key)) WHERE id = ?",
		"i", rl.id);
	if (!r)
		r = run(f, NULL, "UPDATE releases SET wrapped_key = NULL, state = 'shredded' WHERE id = ?",
			"i", rl.id);
	if (!r)
		r = run(f, NULL, "INSERT INTO release_policy (release_id, shredded_at, certificate) "
				 "VALUES (?1, ?2, ?3) ON CONFLICT (release_id) DO UPDATE SET shredded_at = ?2, "
				 "certificate = ?3", "iit", rl.id, now, cert.p);
	if (!r)
		r = end_release_sessions(f, rl.id, NULL);
	if (!r)
		r = run(f, NULL, "UPDATE grants SET state = 'revoked', revoked_at = ?, revoke_reason = 'shredded' "
				 "WHERE release_id = ? AND state IN ('proposed', 'active')", "ii", now, rl.id);
	if ((r = apply_end(f, r)))
		goto out;
	/* push the old pages out of the write-ahead log too */
	if (sqlite3_wal_checkpoint_v2(facility_db(f), NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL) != SQLITE_OK) {
		/* readers may hold the log open; the next checkpoint overwrites the pages */
	}
	if (rl.info.vault_dir[0] && vault_remove(vault_root, rl.info.vault_dir)) {
		/* the key is gone: the ciphertext left behind cannot be opened */
	}
	r = buf_add(certificate, cert.p, cert.len);
out:
	if (have_rel)
		rel_free(&rl);
	lock_drop(fd);
	buf_release(&text);
	buf_release(&cert);
	free(vault_root);
	return r;
}

int policy_vendor_authority(struct facility *f, const struct policy_actor *a, const char *product,
			    const char *version)
{
	struct person_info who;
	struct rel rl;
	int r;
	if ((r = actor_get(f, a, &who)) || (r = rel_get(f, product, version, &rl)))
		return r;
	if (a->decision) {
		struct note_sig *sigs = xcalloc(NOTE_MAX_SIGS, sizeof(*sigs));
		struct decision d;
		struct str text;
		size_t n;
		if (!(r = note_split(a->decision, strlen(a->decision), &text, sigs, &n)) &&
		    !(r = decision_parse(text.p, text.len, &d)) && (strcmp(d.product, product) || strcmp(d.version, version)))
			r = err_set(ERR_DENIED, "the decision is for '%s@%s', not for '%s'", d.product, d.version, rl.ref);
		free(sigs);
	}
	if (!r)
		r = vendor_proof(f, a, &who, &rl);
	rel_free(&rl);
	return r;
}

/* ---- decision files ---- */

/* An approval: the nomination (if pending) approved and the grant active on its terms. */
static int apply_approve(struct facility *f, const struct policy_actor *a, const struct decision *d,
			 struct policy_outcome *out)
{
	struct person_info who, rev;
	struct rel rl;
	struct nom n;
	struct live g;
	struct buf stmt;
	int64_t now = clock_now(a), id = 0;
	int r, fd = -1, have_rel = 0, replace = 0;
	json_t *x;

	buf_init(&stmt, 2 * DECISION_MAX);
	if ((r = terms_check(&d->terms, now)))
		goto out;
	if ((r = lock_take(f, &fd)) || (r = actor_get(f, a, &who)) ||
	    (r = rel_get(f, d->product, d->version, &rl)))
		goto out;
	have_rel = 1;
	if ((r = vendor_proof(f, a, &who, &rl)) || (r = rel_open(&rl)) || (r = reviewer_get(f, d->reviewer, &rev)))
		goto out;
	if (rev.disabled) {
		r = err_set(ERR_DENIED, "account '%s' is disabled", rev.login);
		goto out;
	}
	if ((r = nom_get(f, &rl, rev.id, &n)) == ERR_NOTFOUND) {
		r = err_set(ERR_NOTFOUND, "'%s' is not nominated for '%s'", rev.login, rl.ref);
		goto out;
	}
	if (r)
		goto out;
	if (!strcmp(n.state, "objected") || !strcmp(n.state, "revoked")) {
		r = err_set(ERR_DENIED, "the nomination of '%s' for '%s' is %s", rev.login, rl.ref, n.state);
		goto out;
	}
	r = live_get(f, &rl, rev.id, &g);
	if (!r && !strcmp(g.state, "active")) {
		r = err_set(ERR_EXISTS, "'%s' holds an active grant for '%s' already; revoke it first", rev.login,
			    rl.ref);
		goto out;
	}
	if (r && r != ERR_NOTFOUND)
		goto out;
	replace = r == 0;
	if ((r = query_i64(f, &id, "SELECT coalesce(max(id), 0) + 1 FROM grants", "")) ||
	    (r = countersign(f, a->decision, &stmt)))
		goto out;
	x = entry(&rl, rev.login);
	json_object_set_new(x, "side", json_string("vendor"));
	json_object_set_new(x, "grant", json_integer(id));
	json_object_set_new(x, "terms", terms_json(&d->terms));
	json_object_set_new(x, "statement", json_string(stmt.p));
	if ((r = auth_log(f, "grant_active", who.login, x)) || (r = apply_begin(f)))
		goto out;
	if (!strcmp(n.state, "pending"))
		r = run(f, NULL, "UPDATE nominations SET state = 'approved', decided_by = ?, decided_at = ? "
				 "WHERE id = ? AND state = 'pending'", "iii", who.id, now, n.id);
	if (!r && replace)
		r = run(f, NULL, "DELETE FROM grants WHERE id = ? AND state = 'proposed'", "i", g.id);
	if (!r)
		r = run(f, NULL,
			"INSERT INTO grants (id, release_id, reviewer_id, state, operator_by, valid_from, "
			"valid_until, days, hour_from, hour_until, lines_per_day, lines_total, prints, quotas, "
			"created_at, activated_at, statement) VALUES "
			"(?, ?, ?, 'active', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			"iiiiiiiiiiiitiit", id, rl.id, rev.id, who.id, d->terms.valid_from, d->terms.valid_until,
			(int64_t)d->terms.days, (int64_t)d->terms.hour_from, (int64_t)d->terms.hour_until,
			d->terms.lines_per_day, d->terms.lines_total, d->terms.prints, d->quotas, now, now, stmt.p);
	r = apply_end(f, r);
	outcome(out, "grant active", "", id);
out:
	if (have_rel)
		rel_free(&rl);
	lock_drop(fd);
	buf_release(&stmt);
	return r;
}

int policy_apply(struct facility *f, const struct policy_actor *a, const char *note, size_t len,
		 struct policy_outcome *out, struct buf *certificate)
{
	struct note_sig *sigs = xcalloc(NOTE_MAX_SIGS, sizeof(*sigs));
	struct note_verifier *vv = NULL;
	struct release_info sealed = {0};
	struct person_info who;
	struct policy_actor b;
	struct decision d;
	struct str text;
	struct rel rl;
	char seal[65], *copy = NULL;
	size_t n;
	int r, have_rel = 0;

	if (len > DECISION_MAX || memchr(note, '\0', len)) {
		r = err_set(ERR_PARSE, "decision: not a decision file (too large or binary)");
		goto out;
	}
	/* the release it names, to know whose signature it needs */
	if ((r = note_split(note, len, &text, sigs, &n)) || (r = decision_parse(text.p, text.len, &d)))
		goto out;
	if ((r = actor_get(f, a, &who)))
		goto out;
	if (strcmp(who.role, "operator")) {
		r = err_set(ERR_DENIED, "'%s' is a %s: the operator applies the vendor's decisions", who.login,
			    who.role);
		goto out;
	}
	if ((r = rel_get(f, d.product, d.version, &rl)))
		goto out;
	have_rel = 1;
	/* the catalogue's vendor key must be the one its seal verifies with */
	if ((r = release_seal_open(&rl.info, &sealed)))
		goto out;
	if ((r = note_verifier_parse(rl.info.vendor_vkey, strlen(rl.info.vendor_vkey), &vv)))
		goto out;
	if ((r = decision_open(note, len, vv, &d))) {
		r = err_set(ERR_AUTH, "decision: not signed by the vendor of '%s' (%s)", rl.ref, err_msg());
		goto out;
	}
	decision_seal_hash(rl.info.seal_note, seal);
	if (strcmp(seal, d.seal)) {
		r = err_set(ERR_AUTH, "decision: it names another seal of '%s' than the one here", rl.ref);
		goto out;
	}
	copy = xstrndup(note, len);
	b = *a;
	b.vendor_key = NULL;
	b.decision = copy;
	if (!strcmp(d.kind, "approve"))
		r = apply_approve(f, &b, &d, out);
	else if (!strcmp(d.kind, "object")) {
		r = policy_object(f, &b, d.product, d.version, d.reviewer, d.reason);
		outcome(out, "objected", "", 0);
	} else if (!strcmp(d.kind, "revoke"))
		r = d.lab[0] ? policy_revoke_lab(f, &b, d.product, d.version, d.lab, d.reason, out)
			     : policy_revoke_reviewer(f, &b, d.product, d.version, d.reviewer, d.reason, out);
	else if (!strcmp(d.kind, "halt"))
		r = policy_halt(f, &b, d.product, d.version, out);
	else if (!strcmp(d.kind, "window")) {
		r = policy_set_objection_days(f, &b, d.product, d.version, d.objection_days);
		outcome(out, "objection window set", "", 0);
	} else if (!strcmp(d.kind, "dispute")) {
		/* under the policy lock, as every decision: its nonce is checked and logged at once */
		int fd = -1;
		if (!(r = lock_take(f, &fd)))
			r = print_dispute(f, d.print, &b, d.reason, clock_now(a));
		lock_drop(fd);
		outcome(out, "print disputed", "", 0);
		if (out)
			out->count = d.print;
	} else {
		struct buf cert;
		buf_init(&cert, 8192);
		r = policy_shred(f, &b, d.product, d.version, &cert);
		if (!r && certificate)
			r = buf_add(certificate, cert.p, cert.len);
		buf_release(&cert);
		outcome(out, "shredded", "", 0);
	}
out:
	if (have_rel)
		rel_free(&rl);
	release_info_release(&sealed);
	note_verifier_free(vv);
	free(copy);
	free(sigs);
	return r;
}

/* ---- reading ---- */

#define GRANT_SQL                                                                                 \
	"SELECT g.id, r.product, r.version, g.reviewer_id, p.login, g.state, "                    \
	"coalesce(v.login, ''), coalesce(o.login, ''), g.valid_from, g.valid_until, g.days, "       \
	"g.hour_from, g.hour_until, g.lines_per_day, g.lines_total, g.prints, g.quotas, "          \
	"g.created_at, coalesce(g.activated_at, 0), rp.halted_at IS NOT NULL, "                    \
	"rp.shredded_at IS NOT NULL, p.disabled, coalesce(g.statement, ''), r.vendor_vkey, "          \
	"r.seal_note FROM grants g JOIN releases r ON r.id = g.release_id "                        \
	"JOIN people p ON p.id = g.reviewer_id LEFT JOIN people v ON v.id = g.vendor_by "            \
	"LEFT JOIN people o ON o.id = g.operator_by LEFT JOIN release_policy rp ON rp.release_id = r.id "

static void row_grant(sqlite3_stmt *st, struct grant_info *g, int *halted, int *shredded, int *disabled)
{
	memset(g, 0, sizeof(*g));
	g->id = sqlite3_column_int64(st, 0);
	copy_text(g->product, sizeof(g->product), st, 1);
	copy_text(g->version, sizeof(g->version), st, 2);
	g->reviewer_id = sqlite3_column_int64(st, 3);
	copy_text(g->reviewer, sizeof(g->reviewer), st, 4);
	copy_text(g->state, sizeof(g->state), st, 5);
	copy_text(g->vendor_by, sizeof(g->vendor_by), st, 6);
	copy_text(g->operator_by, sizeof(g->operator_by), st, 7);
	g->valid_from = sqlite3_column_int64(st, 8);
	g->valid_until = sqlite3_column_int64(st, 9);
	g->days = (unsigned)sqlite3_column_int(st, 10);
	g->hour_from = sqlite3_column_int(st, 11);
	g->hour_until = sqlite3_column_int(st, 12);
	g->lines_per_day = sqlite3_column_int64(st, 13);
	g->lines_total = sqlite3_column_int64(st, 14);
	g->prints = sqlite3_column_int64(st, 15);
	copy_text(g->quotas, sizeof(g->quotas), st, 16);
	g->created_at = sqlite3_column_int64(st, 17);
	g->activated_at = sqlite3_column_int64(st, 18);
	*halted = sqlite3_column_int(st, 19);
	*shredded = sqlite3_column_int(st, 20);
	*disabled = sqlite3_column_int(st, 21);
}

static const char *day_names[7] = {"Mondays", "Tuesdays", "Wednesdays", "Thursdays",
				   "Fridays", "Saturdays", "Sundays"};

/* Check one grant row against now; 0 or ERR_DENIED saying why. */
static int grant_allows(const struct grant_info *g, int halted, int shredded, int disabled, int64_t now)
{
	char when[32], ref[REF_MAX];
	time_t t = (time_t)now;
	struct tm tm;
	int wd;
	snprintf(ref, sizeof(ref), "%s@%s", g->product, g->version);
	if (disabled)
		return err_set(ERR_DENIED, "account '%s' is disabled", g->reviewer);
	if (shredded)
		return err_set(ERR_DENIED, "release '%s' was shredded", ref);
	if (halted)
		return err_set(ERR_DENIED, "release '%s' is halted by the vendor", ref);
	if (!strcmp(g->state, "revoked"))
		return err_set(ERR_DENIED, "your grant for '%s' was revoked", ref);
	if (strcmp(g->state, "active"))
		return err_set(ERR_DENIED, "your grant for '%s' is not approved yet: it waits for the %s",
			       ref, g->vendor_by[0] ? "operator" : "vendor");
	if (now < g->valid_from) {
		policy_format_time(g->valid_from, when, sizeof(when));
		return err_set(ERR_DENIED, "your grant for '%s' starts at %s", ref, when);
	}
	if (now >= g->valid_until) {
		policy_format_time(g->valid_until, when, sizeof(when));
		return err_set(ERR_DENIED, "your grant for '%s' expired at %s", ref, when);
	}
	gmtime_r(&t, &tm);
	wd = (tm.tm_wday + 6) % 7; /* Monday = 0 */
	if (!(g->days & (1u << wd)))
		return err_set(ERR_DENIED, "your grant for '%s' does not cover %s (UTC)", ref, day_names[wd]);
	if (tm.tm_hour < g->hour_from || tm.tm_hour >= g->hour_until)
		return err_set(ERR_DENIED, "your grant for '%s' covers %02d:00-%02d:00 UTC only", ref,
			       g->hour_from, g->hour_until);
	return 0;
}

static int same_terms(const struct grant_terms *a, const struct grant_terms *b);

/* Why the statement of active grant g (columns 22.. of GRANT_SQL in st) does not hold, or 0. */
static int statement_fails(struct facility *f, const struct grant_info *g, sqlite3_stmt *st, char *why,
			   size_t cap)
{
	const char *stmt = (const char *)sqlite3_column_text(st, 22);
	const char *vkey = (const char *)sqlite3_column_text(st, 23);
	const char *seal_note = (const char *)sqlite3_column_text(st, 24);
	const struct note_signer *fs;
	struct note_verifier *vv = NULL, *fv = NULL;
	struct decision d;
	struct grant_terms t;
	struct buf fk;
	struct str text;
	char seal[65];
	int bad = 1;
	buf_init(&fk, 4096);
	*why = '\0';
	if (!stmt || !*stmt) {
		snprintf(why, cap, "it carries no statement signed by the vendor");
		goto out;
	}
	if (!vkey || !seal_note || note_verifier_parse(vkey, strlen(vkey), &vv) ||
	    decision_open(stmt, strlen(stmt), vv, &d)) {
		snprintf(why, cap, "its statement is not signed by the vendor of the release");
		goto out;
	}
	if (facility_signer(f, &fs) || note_signer_vkey(fs, &fk) || note_verifier_parse(fk.p, fk.len, &fv) ||
	    note_open(stmt, strlen(stmt), fv, &text)) {
		snprintf(why, cap, "its statement is not countersigned by the facility");
		goto out;
	}
	decision_seal_hash(seal_note, seal);
	if (strcmp(d.kind, "approve") || strcmp(d.product, g->product) || strcmp(d.version, g->version) ||
	    strcmp(d.seal, seal)) {
		snprintf(why, cap, "its statement approves another release");
		goto out;
	}
	if (strcmp(d.reviewer, g->reviewer)) {
		snprintf(why, cap, "its statement approves another reviewer");
		goto out;
	}
	t = (struct grant_terms){g->valid_from, g->valid_until, g->days, g->hour_from, g->hour_until,
				 g->lines_per_day, g->lines_total, g->prints, g->quotas};
	if (!same_terms(&t, &d.terms)) {
		snprintf(why, cap, "its terms differ from the ones the vendor signed");
		goto out;
	}
	bad = 0;
out:
	note_verifier_free(vv);
	note_verifier_free(fv);
	buf_release(&fk);
	return bad;
}

/* Refuse (and log) an active grant whose statement does not hold. */
static int refuse_grant(struct facility *f, const struct grant_info *g, const char *why)
{
	char msg[REF_MAX + AUTH_LOGIN_MAX + 256];
	json_t *x = json_pack("{s:I, s:s, s:s, s:s}", "grant", (json_int_t)g->id, "reviewer", g->reviewer,
			      "release", "", "reason", why);
	char ref[REF_MAX];
	int r;
	snprintf(ref, sizeof(ref), "%s@%s", g->product, g->version);
	json_object_set_new(x, "release", json_string(ref));
	snprintf(msg, sizeof(msg), "grant %lld of '%s' for '%s' is refused: %s", (long long)g->id, g->reviewer, ref, why);
	if ((r = auth_log(f, "grant_refused", "(facility)", x)))
		return r;
	return err_set(ERR_DENIED, "%s", msg);
}

/*
 * Read the reviewer's grants for the release, newest and active first, and judge the
 * first. Without a row the refusal is the same whether or not the release exists.
 */
int policy_may_read(struct facility *f, const struct session_info *who, const char *product,
		    const char *version, int64_t now, struct grant_info *g)
{
	sqlite3_stmt *st;
	struct grant_info tmp;
	int r, s, halted = 0, shredded = 0, disabled = 0, bad = 0;
	char ref[REF_MAX], why[256];
	snprintf(ref, sizeof(ref), "%s@%s", product, version);
	if (strlen(product) > RELEASE_NAME_MAX || strlen(version) > RELEASE_NAME_MAX)
		return err_set(ERR_DENIED, "no grant for this release");
	if (!who || strcmp(who->role, "reviewer"))
		return err_set(ERR_DENIED, "no grant for '%s'", ref);
	if ((r = db_prepare(facility_db(f), GRANT_SQL "WHERE r.product = ? AND r.version = ? AND "
				"g.reviewer_id = ? ORDER BY g.state = 'active' DESC, g.id DESC LIMIT 1", &st)))
		return r;
	sqlite3_bind_text(st, 1, product, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, version, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, who->person_id);
	s = sqlite3_step(st);
	if (s == SQLITE_ROW) {
		row_grant(st, &tmp, &halted, &shredded, &disabled);
		bad = !strcmp(tmp.state, "active") && statement_fails(f, &tmp, st, why, sizeof(why));
	}
	sqlite3_finalize(st);
	if (s == SQLITE_DONE)
		return err_set(ERR_DENIED, "no grant for '%s'", ref);
	if (s != SQLITE_ROW)
		return db_fail(facility_db(f), "cannot read grants");
	if ((r = grant_allows(&tmp, halted, shredded, disabled, now)))
		return r;
	if (bad)
		return refuse_grant(f, &tmp, why);
	/* and the log must say so too: a row alone (inserted, or set back to active after a
	 * revocation) grants nothing */
	if ((r = audit_live_grant(f, tmp.reviewer, ref, now))) {
		if (r != ERR_DENIED)
			return r;
		snprintf(why, sizeof(why), "%s", err_msg());
		return refuse_grant(f, &tmp, why);
	}
	if (g)
		*g = tmp;
	return 0;
}

int policy_releases_for(struct facility *f, const struct session_info *who, int64_t now,
			int (*fn)(void *ctx, const struct grant_info *g), void *ctx)
{
	sqlite3_stmt *st;
	struct grant_info g;
	int r, s, halted, shredded, disabled;
	if (!who || strcmp(who->role, "reviewer"))
		return 0;
	if ((r = db_prepare(facility_db(f), GRANT_SQL "WHERE g.reviewer_id = ? AND g.state = 'active' "
				"ORDER BY r.id", &st)))
		return r;
	sqlite3_bind_int64(st, 1, who->person_id);
	while (!r && (s = sqlite3_step(st)) == SQLITE_ROW) {
		char why[256];
		row_grant(st, &g, &halted, &shredded, &disabled);
		/* a grant whose statement does not hold, or that the log does not hold live, is not
		 * listed (policy_may_read logs it) */
		char ref[REF_MAX];
		snprintf(ref, sizeof(ref), "%s@%s", g.product, g.version);
		if (grant_allows(&g, halted, shredded, disabled, now) == 0 && !statement_fails(f, &g, st, why, sizeof(why)) &&
		    audit_live_grant(f, g.reviewer, ref, now) == 0)
			r = fn(ctx, &g);
	}
	if (!r && s != SQLITE_DONE)
		r = db_fail(facility_db(f), "cannot read grants");
	sqlite3_finalize(st);
	err_set(0, "%s", "");
	return r;
}

int policy_grants_each(struct facility *f, const char *product, const char *version,
		       int (*fn)(void *ctx, const struct grant_info *g), void *ctx)
{
	sqlite3_stmt *st;
	struct grant_info g;
	int r, s, halted, shredded, disabled;
	if ((r = db_prepare(facility_db(f), GRANT_SQL "WHERE r.product = ? AND r.version = ? ORDER BY g.id", &st)))
		return r;
	sqlite3_bind_text(st, 1, product, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, version, -1, SQLITE_STATIC);
	while (!r && (s = sqlite3_step(st)) == SQLITE_ROW) {
		row_grant(st, &g, &halted, &shredded, &disabled);
		r = fn(ctx, &g);
	}
	if (!r && s != SQLITE_DONE)
		r = db_fail(facility_db(f), "cannot read grants");
	sqlite3_finalize(st);
	return r;
}

int policy_nominations_each(struct facility *f, const char *product, const char *version,
			    int (*fn)(void *ctx, const struct nomination_info *n), void *ctx)
{
	sqlite3_stmt *st;
	struct nomination_info n;
	int r, s;
	if ((r = db_prepare(facility_db(f),
			    "SELECT r.product, r.version, p.login, o.name, b.login, n.state, "
			    "coalesce(d.login, ''), n.note, n.reason, n.nominated_at, "
			    "n.nominated_at + 86400 * coalesce(rp.objection_days, ?) FROM nominations n "
			    "JOIN releases r ON r.id = n.release_id JOIN people p ON p.id = n.reviewer_id "
			    "JOIN orgs o ON o.id = p.org_id JOIN people b ON b.id = n.nominated_by "
			    "LEFT JOIN people d ON d.id = n.decided_by LEFT JOIN release_policy rp "
			    "ON rp.release_id = r.id WHERE r.product = ? AND r.version = ? ORDER BY n.id", &st)))
		return r;
	sqlite3_bind_int(st, 1, POLICY_OBJECTION_DAYS);
	sqlite3_bind_text(st, 2, product, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, version, -1, SQLITE_STATIC);
	while (!r && (s = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&n, 0, sizeof(n));
		copy_text(n.product, sizeof(n.product), st, 0);
		copy_text(n.version, sizeof(n.version), st, 1);
		copy_text(n.reviewer, sizeof(n.reviewer), st, 2);
		copy_text(n.lab, sizeof(n.lab), st, 3);
		copy_text(n.nominated_by, sizeof(n.nominated_by), st, 4);
		copy_text(n.state, sizeof(n.state), st, 5);
		copy_text(n.decided_by, sizeof(n.decided_by), st, 6);
		copy_text(n.note, sizeof(n.note), st, 7);
		copy_text(n.reason, sizeof(n.reason), st, 8);
		n.nominated_at = sqlite3_column_int64(st, 9);
		n.window_ends = sqlite3_column_int64(st, 10);
		r = fn(ctx, &n);
	}
	if (!r && s != SQLITE_DONE)
		r = db_fail(facility_db(f), "cannot read nominations");
	sqlite3_finalize(st);
	return r;
}

int policy_release_state(struct facility *f, const char *product, const char *version, char state[16])
{
	struct rel rl;
	int r = rel_get(f, product, version, &rl);
	if (r)
		return r;
	snprintf(state, 16, "%s", rl.shredded ? "shredded" : rl.halted ? "halted" : "");
	rel_free(&rl);
	return 0;
}

int policy_withdrawn(struct facility *f, const char *product, const char *version, int64_t *revoked,
		     const char **why)
{
	sqlite3_stmt *st;
	int64_t n_revoked = 0, n_active = 0;
	int r, s, halted = 0, shredded = 0;
	*why = NULL;
	if ((r = db_prepare(facility_db(f),
			    "SELECT r.state, r.wrapped_key IS NULL, p.halted_at IS NOT NULL, "
			    "p.shredded_at IS NOT NULL, (SELECT count(*) FROM grants g WHERE g.release_id = r.id "
			    "AND g.state = 'revoked'), (SELECT count(*) FROM grants g WHERE g.release_id = r.id "
			    "AND g.state = 'active') FROM releases r LEFT JOIN release_policy p "
			    "ON p.release_id = r.id WHERE r.product = ? AND r.version = ?", &st)))
		return r;
	sqlite3_bind_text(st, 1, product, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, version, -1, SQLITE_STATIC);
	s = sqlite3_step(st);
	if (s == SQLITE_ROW) {
		const char *state = (const char *)sqlite3_column_text(st, 0);
		shredded = sqlite3_column_int(st, 1) || sqlite3_column_int(st, 3) || (state && !strcmp(state, "shredded"));
		halted = sqlite3_column_int(st, 2) || (state && !strcmp(state, "halted"));
		n_revoked = sqlite3_column_int64(st, 4);
		n_active = sqlite3_column_int64(st, 5);
	}
	sqlite3_finalize(st);
	if (s == SQLITE_DONE) {
		*why = "gone from the catalogue";
		return 0;
	}
	if (s != SQLITE_ROW)
		return db_fail(facility_db(f), "cannot read the release's state");
	if (shredded)
		*why = "shredded";
	else if (halted)
		*why = "halted";
	else if (*revoked >= 0 && n_revoked > *revoked && !n_active)
		*why = "revoked";
	*revoked = n_revoked;
	return 0;
}

/* ---- parsing and formatting ---- */

static const char *const day_keys[7] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

static int day_index(const char *s, size_t n)
{
	for (int i = 0; i < 7; i++)
		if (n == 3 && !strncasecmp(s, day_keys[i], 3))
			return i;
	return -1;
}

int policy_parse_days(const char *s, unsigned *days)
{
	const char *p = s;
	*days = 0;
	if (!strcmp(s, "all")) {
		*days = POLICY_ALL_DAYS;
		return 0;
	}
	while (*p) {
		const char *comma = strchr(p, ','), *end = comma ? comma : p + strlen(p);
		const char *dash = memchr(p, '-', (size_t)(end - p));
		int a, b;
		if (dash) {
			a = day_index(p, (size_t)(dash - p));
			b = day_index(dash + 1, (size_t)(end - dash - 1));
		} else {
			a = b = day_index(p, (size_t)(end - p));
		}
		if (a < 0 || b < 0)
			return err_set(ERR_USAGE, "days '%s' must be like mon-fri or mon,wed,fri", s);
		for (int i = a;; i = (i + 1) % 7) {
			*days |= 1u << i;
			if (i == b)
				break;
		}
		p = comma ? comma + 1 : end;
	}
	if (!*days)
		return err_set(ERR_USAGE, "days '%s' must be like mon-fri or mon,wed,fri", s);
	return 0;
}

int policy_parse_hours(const char *s, int *from, int *until)
{
	int a, b, n = 0;
	if (sscanf(s, "%2d-%2d%n", &a, &b, &n) != 2 || s[n] || a < 0 || b > 24 || a >= b)
		return err_set(ERR_USAGE, "hours '%s' must be like 08-18 (from 00 to 24, start before end)", s);
	*from = a;
	*until = b;
	return 0;
}

int policy_parse_date(const char *s, int end, int64_t *t)
{
	struct tm tm;
	int y, mo, d, h = 0, mi = 0, sec = 0, n = 0;
	long long u;
	if (s[0] == '@') {
		if (sscanf(s + 1, "%lld%n", &u, &n) != 1 || s[1 + n] || u < 0)
			return err_set(ERR_USAGE, "date '%s' is not @unix-seconds", s);
		*t = u;
		return 0;
	}
	if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3)
		goto bad;
	if (s[n] == 'T') {
		int m = 0;
		if (sscanf(s + n, "T%2d:%2d%n", &h, &mi, &m) != 2)
			goto bad;
		n += m;
		if (s[n] == ':') {
			if (sscanf(s + n, ":%2d%n", &sec, &m) != 1)
				goto bad;
			n += m;
		}
		if (s[n] != 'Z' || s[n + 1])
			goto bad;
		end = 0;
	} else if (s[n]) {
		goto bad;
	}
	if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		goto bad;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	*t = (int64_t)timegm(&tm) + (end ? 86400 : 0);
	{
		/* refuse dates that do not exist (2025-02-30) */
		time_t back = (time_t)(*t - (end ? 86400 : 0));
		struct tm chk;
		gmtime_r(&back, &chk);
		if (chk.tm_mday != d || chk.tm_mon != mo - 1)
			goto bad;
	}
	return 0;
bad:
	return err_set(ERR_USAGE, "date '%s' must be YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS]Z (UTC)", s);
}

int policy_parse_duration(const char *s, int64_t *seconds)
{
	long long v;
	int n = 0;
	int64_t mul;
	if (sscanf(s, "%lld%n", &v, &n) != 1 || v <= 0 || !s[n] || s[n + 1])
		goto bad;
	switch (s[n]) {
	case 's': mul = 1; break;
	case 'm': mul = 60; break;
	case 'h': mul = 3600; break;
	case 'd': mul = 86400; break;
	default: goto bad;
	}
	if (v > 366LL * 86400 / mul)
		return err_set(ERR_USAGE, "duration '%s' is longer than a year", s);
	*seconds = (int64_t)v * mul;
	return 0;
bad:
	return err_set(ERR_USAGE, "duration '%s' must be like 90s, 30m, 8h or 14d", s);
}

void policy_format_time(int64_t t, char *out, size_t cap)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void policy_format_days(unsigned days, char *out, size_t cap)
{
	size_t len = 0;
	out[0] = 0;
	if ((days & POLICY_ALL_DAYS) == POLICY_ALL_DAYS) {
		snprintf(out, cap, "all");
		return;
	}
	for (int i = 0; i < 7; i++) {
		int j = i;
		if (!(days & (1u << i)))
			continue;
		while (j + 1 < 7 && (days & (1u << (j + 1))))
			j++;
		len += (size_t)snprintf(out + len, len < cap ? cap - len : 0, "%s%s%s%s", len ? "," : "",
					day_keys[i], j > i ? "-" : "", j > i ? day_keys[j] : "");
		if (len >= cap)
			return;
		i = j;
	}
}
