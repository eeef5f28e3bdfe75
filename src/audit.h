/*
 * audit: the log read for its meaning, as `sealroom log verify` does after the hashes and
 * signatures. Fed a log's entries in order (index 0 first), it keeps the grants the log
 * shows and checks the entries that need one:
 * - every view, search, diff, print and note falls inside a live grant of its actor for
 *   its release: a "grant_active" entry whose statement (decision.h) is countersigned by
 *   the facility (the log's own key) and, when the vendor's verifier key is given, signed
 *   by the vendor; approving that actor and release; whose window, days and hours cover
 *   the entry's time; not revoked ("revoke", "revoke_lab"), halted or shredded since; an
 *   approval grants once (a "grant_active" entry whose statement's nonce an earlier one
 *   carried is an error, and grants nothing);
 * - every login follows the "user_add" of its login;
 * - a release is sealed once: a "seal" entry naming another seal once the release was in
 *   use (any other entry named it) is an error; before that it replaces the first (a seal
 *   that did not finish, sealed again);
 * - every "quota_refusals" entry names a grant that a "grant_active" entry gave its actor,
 *   a session, a quota and a count of at least one.
 * The first entry that does not is named (ERR_CORRUPT "log entry N: ..."). The audit
 * reads nothing but the entries, so the vendor runs it on an export of the log.
 */
#ifndef SEALROOM_AUDIT_H
#define SEALROOM_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "note.h"

struct audit;

/* An audit checking countersignatures with facility and, when not NULL, vendor signatures. */
struct audit *audit_new(const struct note_verifier *facility, const struct note_verifier *vendor);
void audit_free(struct audit *a);
/* Feed entry index (its canonical bytes); entries must come in order from 0. */
int audit_entry(struct audit *a, uint64_t index, const char *p, size_t len) WUR;
/* How many entries needed a grant (or an account) and had one; how many grants were seen. */
uint64_t audit_checked(const struct audit *a);
uint64_t audit_grants(const struct audit *a);
/* Feed every entry of the log database at db_path below size (one verified by logdb_verify). */
int audit_from_db(struct audit *a, const char *db_path, uint64_t size) WUR;
struct facility;
/*
 * The same reading at run time, for access decisions: 0 when the facility's log holds a
 * live grant of reviewer for release (as above: countersigned by the facility, not revoked,
 * halted or shredded since) whose window, days and hours cover now; ERR_DENIED saying why
 * not. One audit per process is fed the log's entries as the log grows (each call reads
 * the entries since the last one), so a grant is live because the log says so: a row set
 * back to active after a revocation, or inserted, is refused. ERR_CORRUPT when an entry is
 * missing. audit_live_sync reads the new entries alone (the room does it every second).
 */
int audit_live_grant(struct facility *f, const char *reviewer, const char *release, int64_t now) WUR;
int audit_live_sync(struct facility *f) WUR;
/*
 * 0 when the log's (last) "seal" entry of release names seal_note (its SHA-256), the seal
 * the catalogue holds; ERR_DENIED when the log holds no seal of it, another one (a seal
 * swapped in the releases row), or a second one made once the release was in use.
 * release_open_key asks it on every open.
 */
int audit_live_seal(struct facility *f, const char *release, const char *seal_note) WUR;

#endif
