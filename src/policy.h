/*
 * policy: who may read which release, when: organisations, people, and the engagement
 * (nomination, objection, dual-control grants, revocation, halt, shred).
 *
 * The engagement, as in a protective order and a certification:
 * - a lab nominates one of its reviewers for a release (with an optional CV/affiliation
 *   note); the vendor approves or objects within the release's objection window (default
 *   POLICY_OBJECTION_DAYS days); once the window has passed without objection, the
 *   operator may approve instead;
 * - a grant carries a window (dates, days of week, hours, UTC) and quotas (lines per day,
 *   lines in total, prints, and a JSON object for more), stored here and enforced by the
 *   renderer; it is active only once a vendor and an operator, two distinct people, have
 *   both approved the same terms (dual control);
 * - the vendor (or the operator) revokes a reviewer or a whole lab, the vendor halts a
 *   release or shreds it (its wrapped key is destroyed and the facility signs a
 *   destruction certificate).
 *
 * Vendor decisions are signed by the vendor's key (decision.h): made on the vendor's
 * machine and applied here (policy_apply), or, in one process that holds the vendor's key
 * (the demo, tests), signed on the spot (policy_actor.vendor_key). A grant is active only
 * with a statement, the vendor's signed approval of its exact terms countersigned by the
 * facility's key, which every access decision verifies.
 *
 * Invariants: every decision is a log entry, durable before it takes effect; decisions
 * are serialised across threads and processes by an exclusive lock on DIR/policy.lock,
 * under which the state is read, the decision logged and then applied in one transaction,
 * so two approvals at once cannot both complete a grant. policy_may_read reads the current
 * state on every call and never says whether a release exists to someone without a grant.
 */
#ifndef SEALROOM_POLICY_H
#define SEALROOM_POLICY_H

#include <stdint.h>

#include "auth.h"
#include "buf.h"
#include "facility.h"
#include "note.h"
#include "release.h"

#define POLICY_OBJECTION_DAYS 14
#define POLICY_NOTE_MAX 4096
#define POLICY_NAME_MAX 256
#define POLICY_UNLIMITED (-1)

/* Days of the week as bits: Monday is bit 0, Sunday bit 6. */
#define POLICY_ALL_DAYS 0x7f

struct org_info {
	int64_t id;
	char name[AUTH_ORG_MAX + 1];
	char kind[AUTH_ROLE_MAX + 1];
	int64_t created_at;
	int64_t people;
};

struct person_info {
	int64_t id;
	char login[AUTH_LOGIN_MAX + 1];
	char full_name[POLICY_NAME_MAX + 1];
	char role[AUTH_ROLE_MAX + 1];
	int64_t org_id;
	char org[AUTH_ORG_MAX + 1];
	char org_kind[AUTH_ROLE_MAX + 1];
	int disabled;
	int64_t locked_until;
	int64_t failures;
	int64_t created_at;
};

/* The terms of a grant. Quotas are POLICY_UNLIMITED when not set. */
struct grant_terms {
	int64_t valid_from;   /* unix seconds, inclusive */
	int64_t valid_until;  /* unix seconds, exclusive */
	unsigned days;        /* POLICY_ALL_DAYS bits */
	int hour_from;        /* 0..23, inclusive, UTC */
	int hour_until;       /* 1..24, exclusive, UTC */
	int64_t lines_per_day;
	int64_t lines_total;
	int64_t prints;
	const char *quotas;   /* a JSON object of further quotas, or NULL for {} */
};

struct grant_info {
	int64_t id;
	char product[RELEASE_NAME_MAX + 1];
	char version[RELEASE_NAME_MAX + 1];
	int64_t reviewer_id;
	char reviewer[AUTH_LOGIN_MAX + 1];
	char state[16];                       /* proposed, active, revoked */
	char vendor_by[AUTH_LOGIN_MAX + 1];   /* "" until the vendor approved */
	char operator_by[AUTH_LOGIN_MAX + 1]; /* "" until the operator approved */
	int64_t valid_from, valid_until;
	unsigned days;
	int hour_from, hour_until;
	int64_t lines_per_day, lines_total, prints;
	char quotas[1024];
	int64_t created_at, activated_at;
};

struct nomination_info {
	char product[RELEASE_NAME_MAX + 1];
	char version[RELEASE_NAME_MAX + 1];
	char reviewer[AUTH_LOGIN_MAX + 1];
	char lab[AUTH_ORG_MAX + 1];
	char nominated_by[AUTH_LOGIN_MAX + 1];
	char state[16]; /* pending, objected, approved, revoked */
	char decided_by[AUTH_LOGIN_MAX + 1];
	char note[POLICY_NOTE_MAX + 1];
	char reason[POLICY_NOTE_MAX + 1];
	int64_t nominated_at, window_ends;
};

/*
 * Who takes a decision. The vendor's authority is a decision signed by the vendor's key:
 * at the facility a decision file being applied (policy_apply sets decision); in one
 * process holding the vendor's key (the demo, tests) vendor_key, with which the decision
 * is signed on the spot. The command line never reads the vendor's key.
 */
struct policy_actor {
	const char *login;                    /* the person acting */
	const struct note_signer *vendor_key; /* in-process vendor: signs what it decides */
	int64_t now;                          /* the decision's time; 0 means the clock */
	const char *decision;                 /* the vendor's verified decision note, applied */
};

/* What a decision did, for the caller to print. */
struct policy_outcome {
	char what[64];       /* "nomination approved", "grant proposed", "grant active", ... */
	char waiting_for[16]; /* "vendor", "operator" or "" */
	int64_t grant_id;
	int64_t count;       /* revocations: how many reviewers; sessions: how many ended */
};

/* Organisations and people. */
int policy_org_add(struct facility *f, const char *name, const char *kind, const char *actor) WUR;
int policy_org_each(struct facility *f, int (*fn)(void *ctx, const struct org_info *o), void *ctx) WUR;
/*
 * Add a person with a role in org: vendor in a vendor org, operator in an operator org,
 * reviewer in a lab, auditor anywhere. The password is hashed (auth_password_hash); a
 * fresh TOTP secret is written to totp_secret. Logged as user_add by actor.
 */
int policy_person_add(struct facility *f, const char *login, const char *org, const char *role,
		      const char *full_name, const char *password, const char *actor,
		      unsigned char totp_secret[AUTH_TOTP_SECRET_LEN]) WUR;
int policy_person_get(struct facility *f, const char *login, struct person_info *out) WUR;
int policy_person_each(struct facility *f, int (*fn)(void *ctx, const struct person_info *p),
		       void *ctx) WUR;

/* The engagement. Each checks the actor's role, logs, then applies; see the header. */
int policy_nominate(struct facility *f, const struct policy_actor *a, const char *product,
		    const char *version, const char *reviewer, const char *note) WUR;
int policy_object(struct facility *f, const struct policy_actor *a, const char *product,
		  const char *version, const char *reviewer, const char *reason) WUR;
/*
 * Approve: a pending nomination (the vendor at any time, the operator after the objection
 * window), and/or the other side's proposed grant, which then becomes active.
 */
int policy_approve(struct facility *f, const struct policy_actor *a, const char *product,
		   const char *version, const char *reviewer, struct policy_outcome *out) WUR;
/*
 * Propose a grant for an approved reviewer, or countersign the other side's proposal
 * (same terms: the grant becomes active; other terms: a counter-proposal that waits for
 * the other side again).
 */
int policy_grant(struct facility *f, const struct policy_actor *a, const char *product,
		 const char *version, const char *reviewer, const struct grant_terms *t,
		 struct policy_outcome *out) WUR;
int policy_revoke_reviewer(struct facility *f, const struct policy_actor *a, const char *product,
			   const char *version, const char *reviewer, const char *reason,
			   struct policy_outcome *out) WUR;
int policy_revoke_lab(struct facility *f, const struct policy_actor *a, const char *product,
		      const char *version, const char *lab, const char *reason,
		      struct policy_outcome *out) WUR;
int policy_halt(struct facility *f, const struct policy_actor *a, const char *product,
		const char *version, struct policy_outcome *out) WUR;
/* The objection window of a release, in days (1..365); vendor only. */
int policy_set_objection_days(struct facility *f, const struct policy_actor *a,
			      const char *product, const char *version, int days) WUR;
/*
 * Shred: log, destroy the wrapped data key (secure_delete), mark the release shredded,
 * revoke its grants, remove its vault folder. The destruction certificate (a note signed
 * by the facility key: sealroom/destruction/v1, release, tree ids, time, actor) is
 * appended to certificate.
 */
int policy_shred(struct facility *f, const struct policy_actor *a, const char *product,
		 const char *version, struct buf *certificate) WUR;

/*
 * Apply a vendor's decision file (decision.h) on behalf of the operator a->login: the
 * vendor's signature by the key that sealed the release it names, its seal hash that
 * release's, its nonce never applied before (the log is searched), then the decision. An
 * approval approves the nomination (if pending) and makes the grant active on the
 * decision's terms, countersigned by the facility's key; its log entry "grant_active"
 * carries the statement with both signatures. A shred's certificate is appended to
 * certificate (may be NULL otherwise). The decision is logged ("decision": the note) with
 * the entry of what it did.
 */
int policy_apply(struct facility *f, const struct policy_actor *a, const char *note, size_t len,
		 struct policy_outcome *out, struct buf *certificate) WUR;

/*
 * The vendor's authority over product@version, for a vendor decision taken by another
 * module (print disputes): a->decision, a decision file policy_apply verified, naming
 * that release and never applied before; or, in one process, a person with the role
 * vendor holding the key that sealed it (a->vendor_key). 0, or a one-line ERR_DENIED,
 * ERR_AUTH or ERR_EXISTS.
 */
int policy_vendor_authority(struct facility *f, const struct policy_actor *a, const char *product,
			    const char *version) WUR;

/*
 * May who read product@version at now? 0 with *g filled (g may be NULL), or ERR_DENIED
 * with a one-line reason. Without any grant for the release the reason is always "no
 * grant for 'P@V'", whether the release exists or not. An active grant counts only when
 * its statement verifies: the vendor's signature (the key that sealed the release) and
 * the facility's over the approval of exactly this reviewer, release, seal, window and
 * quotas; a row without one, or whose terms differ from the signed ones, is refused
 * ("grant N ...") and the refusal logged ("grant_refused").
 */
int policy_may_read(struct facility *f, const struct session_info *who, const char *product,
		    const char *version, int64_t now, struct grant_info *g) WUR;
/* Call fn for every release who may read at now (in release order). */
int policy_releases_for(struct facility *f, const struct session_info *who, int64_t now,
			int (*fn)(void *ctx, const struct grant_info *g), void *ctx) WUR;
/* Every grant of a release (all states), for listings and reports. */
int policy_grants_each(struct facility *f, const char *product, const char *version,
		       int (*fn)(void *ctx, const struct grant_info *g), void *ctx) WUR;
int policy_nominations_each(struct facility *f, const char *product, const char *version,
			    int (*fn)(void *ctx, const struct nomination_info *n), void *ctx) WUR;
/* Is the release halted or shredded ("halted", "shredded" or "" into state[16])? */
int policy_release_state(struct facility *f, const char *product, const char *version,
			 char state[16]) WUR;

/*
 * Must a running room let go of product@version, whose key it holds? *why is set to
 * "shredded", "halted", "revoked" (a grant of it was revoked since the room last looked and
 * none is active any more) or "gone from the catalogue", and stays NULL when the room may
 * keep it. *revoked is the room's mark: the number of revoked grants it saw last (pass -1
 * the first time; it is updated). It reads the decision tables themselves, so a decision
 * counts however it reached them (a command, the web, a signed decision file).
 */
int policy_withdrawn(struct facility *f, const char *product, const char *version, int64_t *revoked,
		     const char **why) WUR;

/* Parsing for the commands: "mon-fri", "mon,wed,sat", "all" */
int policy_parse_days(const char *s, unsigned *days) WUR;
/* "08-18" (from 08:00 to 18:00) */
int policy_parse_hours(const char *s, int *from, int *until) WUR;
/* "YYYY-MM-DD" (start of that day, or with end set the start of the next day),
 * "YYYY-MM-DDTHH:MM[:SS]Z", or "@unix-seconds"; all UTC. */
int policy_parse_date(const char *s, int end, int64_t *t) WUR;
/* "90s", "30m", "8h", "14d" */
int policy_parse_duration(const char *s, int64_t *seconds) WUR;
/* "2024-05-01T08:00:00Z" into out (at least 21 bytes). */
void policy_format_time(int64_t t, char *out, size_t cap);
/* "mon-fri" style text for a day mask into out (at least 32 bytes). */
void policy_format_days(unsigned days, char *out, size_t cap);

#endif
