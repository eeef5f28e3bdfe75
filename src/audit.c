/* audit: the log's entries checked for their meaning; see audit.h. */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sqlite3.h>

#include "audit.h"
#include "buf.h"
#include "decision.h"
#include "facility.h"
#include "hash.h"
#include "logdb.h"

struct grant {
	char reviewer[AUTH_LOGIN_MAX + 1];
	char release[2 * RELEASE_NAME_MAX + 2];
	struct grant_terms t;
	int64_t id; /* the grant's number in the catalogue (its "grant" field) */
	int live;
};

/* A release's seal as the log's "seal" entry names it (the SHA-256 of the seal note). */
struct seal {
	char release[2 * RELEASE_NAME_MAX + 2];
	char hash[65]; /* "" for an entry of a version that did not name it */
	int used;      /* an entry other than its seal named the release since */
	int twice;     /* a seal entry naming another seal after the first was in use */
};

struct audit {
	const struct note_verifier *facility, *vendor;
	json_t *users; /* login -> true, from user_add */
	json_t *nonces; /* the nonces of the approvals granted so far */
	struct grant *g;
	size_t n, cap;
	struct seal *s;
	size_t n_s, cap_s;
	uint64_t next, checked;
};

struct audit *audit_new(const struct note_verifier *facility, const struct note_verifier *vendor)
{
	struct audit *a = xcalloc(1, sizeof(*a));
	a->facility = facility;
	a->vendor = vendor;
	a->users = json_object();
	a->nonces = json_object();
	return a;
}

void audit_free(struct audit *a)
{
	if (!a)
		return;
	json_decref(a->users);
	json_decref(a->nonces);
	free(a->g);
	free(a->s);
	free(a);
}

uint64_t audit_checked(const struct audit *a)
{
	return a->checked;
}

uint64_t audit_grants(const struct audit *a)
{
	return a->n;
}

static const char *str(json_t *e, const char *k)
{
	return json_string_value(json_object_get(e, k));
}

/* A grant_active entry: its statement checked and its terms kept. */
static int add_grant(struct audit *a, uint64_t i, json_t *e)
{
	const char *st = str(e, "statement"), *rel = str(e, "release"), *rev = str(e, "reviewer");
	struct note_sig *sigs;
	struct decision d;
	struct str text;
	struct grant *g;
	size_t n;
	int r;
	if (!st || !rel || !rev)
		return err_set(ERR_CORRUPT, "log entry %" PRIu64 ": a grant without its signed statement", i);
	if (note_open(st, strlen(st), a->facility, &text))
		return err_set(ERR_CORRUPT, "log entry %" PRIu64 ": the grant of '%s' for '%s' is not countersigned "
					    "by the facility", i, rev, rel);
	if (a->vendor && decision_open(st, strlen(st), a->vendor, &d))
		return err_set(ERR_CORRUPT, "log entry %" PRIu64 ": the grant of '%s' for '%s' is not signed by the "
					    "vendor's key", i, rev, rel);
	sigs = xcalloc(NOTE_MAX_SIGS, sizeof(*sigs));
	r = note_split(st, strlen(st), &text, sigs, &n);
	free(sigs);
	if (r || decision_parse(text.p, text.len, &d) || strcmp(d.kind, "approve"))
		return err_set(ERR_CORRUPT, "log entry %" PRIu64 ": the grant's statement is not an approval", i);
	/* an approval grants once: the same signed statement logged again (an entry appended
	 * to bring a revoked grant back) grants nothing */
	if (json_object_get(a->nonces, d.nonce))
		return err_set(ERR_CORRUPT, "log entry %" PRIu64 ": the grant of '%s' for '%s' replays an approval granted "
					    "before (nonce %.16s)", i, rev, rel, d.nonce);
	json_object_set_new(a->nonces, d.nonce, json_true());
	{
		char ref[sizeof(g->release)];
		snprintf(ref, sizeof(ref), "%s@%s", d.product, d.version);
		if (strcmp(ref, rel) || strcmp(d.reviewer, rev))
			return err_set(ERR_CORRUPT, "log entry %" PRIu64 ": the grant of '%s' for '%s' carries a statement "
						    "for '%s' on '%s'", i, rev, rel, d.reviewer, ref);
	}
	if (a->n == a->cap) {
		a->cap = a->cap ? 2 * a->cap : 16;
		a->g = xrealloc(a->g, a->cap * sizeof(*a->g));
	}
	g = &a->g[a->n++];
	memset(g, 0, sizeof(*g));
	snprintf(g->reviewer, sizeof(g->reviewer), "%s", rev);
	snprintf(g->release, sizeof(g->release), "%s", rel);
	g->t = d.terms;
	g->t.quotas = NULL;
	g->id = json_integer_value(json_object_get(e, "grant"));
	g->live = 1;
	return 0;
}

/* End the grants of reviewer (NULL: every reviewer) for release. */
static void end_grants(struct audit *a, const char *release, const char *reviewer)
{
	for (size_t k = 0; k < a->n; k++)
		if (!strcmp(a->g[k].release, release) && (!reviewer || !strcmp(a->g[k].reviewer, reviewer)))
			a->g[k].live = 0;
}

static int covers(const struct grant_terms *t, int64_t now)
{
	time_t tt = (time_t)now;
	struct tm tm;
	gmtime_r(&tt, &tm);
	return now >= t->valid_from && now < t->valid_until && (t->days & (1u << ((tm.tm_wday + 6) % 7))) &&
	       tm.tm_hour >= t->hour_from && tm.tm_hour < t->hour_until;
}

static struct seal *seal_of(struct audit *a, const char *release)
{
	for (size_t k = 0; k < a->n_s; k++)
		if (!strcmp(a->s[k].release, release))
			return &a->s[k];
	return NULL;
}

/*
 * A "seal" entry names the release's seal. Another one naming another seal replaces it
 * while nothing else has named the release (a seal that did not finish, sealed again),
 * and is an error once the release was in use (nominated, granted, unlocked, read).
 */
static int add_seal(struct audit *a, uint64_t i, const char *rel, const char *hash)
{
	struct seal *x = seal_of(a, rel);
	if (!hash)
		hash = "";
	if (x) {
		if (strcmp(x->hash, hash) && x->used) {
			x->twice = 1;
			return err_set(ERR_CORRUPT, "log entry %" PRIu64 ": a second seal of '%s', another than the one in use",
				       i, rel);
		}
		snprintf(x->hash, sizeof(x->hash), "%s", hash);
		return 0;
	}
	if (a->n_s == a->cap_s) {
		a->cap_s = a->cap_s ? 2 * a->cap_s : 16;
		a->s = xrealloc(a->s, a->cap_s * sizeof(*a->s));
	}
	x = &a->s[a->n_s++];
	memset(x, 0, sizeof(*x));
	snprintf(x->release, sizeof(x->release), "%s", rel);
	snprintf(x->hash, sizeof(x->hash), "%s", hash);
	return 0;
}

int audit_entry(struct audit *a, uint64_t i, const char *p, size_t len)
{
	json_error_t jerr;
	json_t *e;
	const char *type, *actor, *rel;
	int r = 0;
	if (i != a->next)
		return err_set(ERR_USAGE, "audit: entry %" PRIu64 " out of order", i);
	a->next++;
	if (!(e = json_loadb(p, len, 0, &jerr)))
		return err_set(ERR_CORRUPT, "log entry %" PRIu64 ": not JSON", i);
	type = str(e, "type");
	actor = str(e, "actor");
	rel = str(e, "release");
	if (!type || !actor)
		goto out;
	if (rel && strcmp(type, "seal")) {
		struct seal *x = seal_of(a, rel);
		if (x)
			x->used = 1;
	}
	if (!strcmp(type, "seal") && rel) {
		r = add_seal(a, i, rel, str(e, "seal_hash"));
	} else if (!strcmp(type, "user_add") && str(e, "login")) {
		json_object_set_new(a->users, str(e, "login"), json_true());
	} else if (!strcmp(type, "login")) {
		if (!json_object_get(a->users, actor))
			r = err_set(ERR_CORRUPT, "log entry %" PRIu64 ": a login of '%s', who no user_add made", i, actor);
		else
			a->checked++;
	} else if (!strcmp(type, "grant_active") && rel) {
		const char *rev = str(e, "reviewer");
		if (rev)
			end_grants(a, rel, rev); /* a reviewer holds one live grant of a release */
		r = add_grant(a, i, e);
	} else if (!strcmp(type, "revoke") && rel && str(e, "reviewer")) {
		end_grants(a, rel, str(e, "reviewer"));
	} else if (!strcmp(type, "revoke_lab") && rel) {
		json_t *who = json_object_get(e, "reviewers"), *v;
		size_t k;
		json_array_foreach(who, k, v)
			if (json_is_string(v))
				end_grants(a, rel, json_string_value(v));
	} else if ((!strcmp(type, "halt") || !strcmp(type, "shred")) && rel) {
		end_grants(a, rel, NULL);
	} else if (!strcmp(type, "quota_refusals")) {
		/* refusals by the budget of a grant the log gave that reviewer (live or not: the
		 * refusals of a minute are logged when it is over, maybe after the grant ended) */
		int64_t id = json_integer_value(json_object_get(e, "grant"));
		json_int_t n = json_integer_value(json_object_get(e, "count"));
		int ok = 0;
		for (size_t k = 0; k < a->n && !ok; k++)
			ok = a->g[k].id == id && !strcmp(a->g[k].reviewer, actor);
		if (!ok || n < 1 || !str(e, "quota") || !str(e, "session"))
			r = err_set(ERR_CORRUPT, "log entry %" PRIu64 ": refusals of '%s' under grant %" PRId64
						 ", which the log never gave them", i, actor, id);
	} else if (!strcmp(type, "view") || !strcmp(type, "search") || !strcmp(type, "diff") ||
		   !strcmp(type, "print") || !strcmp(type, "note")) {
		int64_t t = json_integer_value(json_object_get(e, "time"));
		int ok = 0;
		for (size_t k = 0; rel && k < a->n && !ok; k++)
			ok = a->g[k].live && !strcmp(a->g[k].reviewer, actor) && !strcmp(a->g[k].release, rel) &&
			     covers(&a->g[k].t, t);
		if (!ok)
			r = err_set(ERR_CORRUPT, "log entry %" PRIu64 ": a %s by '%s' of '%s' outside any live, "
						 "countersigned grant", i, type, actor, rel ? rel : "?");
		else
			a->checked++;
	}
out:
	json_decref(e);
	return r;
}

int audit_from_db(struct audit *a, const char *db_path, uint64_t size)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int r = 0, s;
	uint64_t i = 0;
	if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "SELECT idx, data FROM log_entries WHERE idx < ? ORDER BY idx", -1, &st, NULL) !=
		    SQLITE_OK) {
		r = err_set(ERR_DB, "audit: cannot read '%s': %s", db_path, db ? sqlite3_errmsg(db) : "no memory");
		goto out;
	}
	sqlite3_bind_int64(st, 1, (sqlite3_int64)size);
	while (!r && (s = sqlite3_step(st)) == SQLITE_ROW) {
		if ((uint64_t)sqlite3_column_int64(st, 0) != i)
			r = err_set(ERR_CORRUPT, "log entry %" PRIu64 " is missing", i);
		else
			r = audit_entry(a, i++, (const char *)sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1));
	}
	if (!r && i != size)
		r = err_set(ERR_CORRUPT, "log entry %" PRIu64 " is missing", i);
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
	return r;
}

/*
 * The log's word at run time: one audit per process, fed every durable entry of the
 * facility's log as it grows (the entries since the last look, in order), so that an
 * access decision asks the log whether a grant is live, not a row.
 */
static pthread_mutex_t live_mu = PTHREAD_MUTEX_INITIALIZER;
static struct audit *live;
static struct note_verifier *live_fv;
static char *live_dir;

/* Bring the process's audit up to the log's durable end; under live_mu. */
static int live_sync(struct facility *f)
{
	sqlite3 *db = facility_db(f);
	sqlite3_stmt *st = NULL;
	int r = 0, s;
	if (!live || strcmp(live_dir, facility_dir(f))) {
		const struct note_signer *fs;
		struct buf vk;
		audit_free(live);
		note_verifier_free(live_fv);
		free(live_dir);
		live = NULL;
		live_fv = NULL;
		live_dir = NULL;
		buf_init(&vk, 4096);
		r = facility_signer(f, &fs) || note_signer_vkey(fs, &vk) ? ERR_IO : note_verifier_parse(vk.p, vk.len, &live_fv);
		buf_release(&vk);
		if (r)
			return err_set(ERR_IO, "the log's key does not load: %s", err_msg());
		live = audit_new(live_fv, NULL);
		live_dir = xstrdup(facility_dir(f));
	}
	if (sqlite3_prepare_v2(db, "SELECT idx, data FROM log_entries WHERE idx >= ? ORDER BY idx", -1, &st, NULL) !=
	    SQLITE_OK)
		return err_set(ERR_DB, "audit: cannot read the log: %s", sqlite3_errmsg(db));
	sqlite3_bind_int64(st, 1, (sqlite3_int64)live->next);
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		uint64_t i = (uint64_t)sqlite3_column_int64(st, 0);
		if (i != live->next) {
			r = err_set(ERR_CORRUPT, "log entry %" PRIu64 " is missing", live->next);
			break;
		}
		/* what an entry says is taken even when it fails the audit's checks (a grant that
		 * is not countersigned is then not live): only the grants are asked here */
		(void)!audit_entry(live, i, (const char *)sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1));
	}
	if (!r && s != SQLITE_DONE)
		r = err_set(ERR_DB, "audit: cannot read the log: %s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return r;
}

int audit_live_sync(struct facility *f)
{
	int r;
	pthread_mutex_lock(&live_mu);
	r = live_sync(f);
	pthread_mutex_unlock(&live_mu);
	return r;
}

int audit_live_grant(struct facility *f, const char *reviewer, const char *release, int64_t now)
{
	int r, found = 0, covered = 0;
	pthread_mutex_lock(&live_mu);
	if (!(r = live_sync(f)))
		for (size_t k = 0; k < live->n && !covered; k++)
			if (live->g[k].live && !strcmp(live->g[k].reviewer, reviewer) && !strcmp(live->g[k].release, release)) {
				found = 1;
				covered = covers(&live->g[k].t, now);
			}
	pthread_mutex_unlock(&live_mu);
	if (r)
		return r;
	if (!found)
		return err_set(ERR_DENIED, "the log holds no live grant of '%s' for '%s' (none countersigned, or revoked, "
					   "halted or shredded since)", reviewer, release);
	if (!covered)
		return err_set(ERR_DENIED, "the grant of '%s' for '%s' the log holds does not cover this time", reviewer,
			       release);
	return 0;
}

int audit_live_seal(struct facility *f, const char *release, const char *seal_note)
{
	unsigned char h[SHA256_LEN];
	char hex[65], logged[65] = "";
	int r, known = 0, twice = 0;
	sha256(seal_note, strlen(seal_note), h);
	hex_encode(hex, h, sizeof(h));
	pthread_mutex_lock(&live_mu);
	if (!(r = live_sync(f))) {
		struct seal *x = seal_of(live, release);
		if (x) {
			known = 1;
			twice = x->twice;
			snprintf(logged, sizeof(logged), "%s", x->hash);
		}
	}
	pthread_mutex_unlock(&live_mu);
	if (r)
		return r;
	if (!known)
		return err_set(ERR_DENIED, "'%s': the log holds no seal of it", release);
	if (twice)
		return err_set(ERR_DENIED, "'%s': the log holds two seals of it, another sealed under its name once it was "
					   "in use", release);
	if (*logged && strcmp(logged, hex))
		return err_set(ERR_DENIED, "'%s': its seal (%.16s...) is not the one the log holds (%.16s...)", release, hex,
			       logged);
	return 0;
}
