/*
 * decision: the vendor's decisions as signed files. The vendor makes one on its own
 * machine (`sealroom vendor sign`, no facility folder, docs/formats.md "Decisions"); the
 * facility applies it (`sealroom apply FILE`, policy_apply). An approval carries the
 * grant's exact terms, and, countersigned by the facility's key when applied, is the
 * grant's statement: the room checks both signatures over those terms on every request
 * (policy_may_read), so a grant is never just a row.
 *
 * A decision is a C2SP signed note (note.h) by the vendor's signing key over
 *   sealroom/decision/v1
 *   decision KIND          approve | object | revoke | halt | shred | window | dispute
 *   release P@V
 *   seal HEX               SHA-256 of the release's seal note: this release, no other
 *   nonce HEX              32 random hex digits: a decision applies once
 *   time UNIX              when the vendor signed it
 * then, by kind, in this order:
 *   approve  reviewer, from, until (unix seconds), days (a mask, Monday bit 0), hours
 *            (A-B), lines-per-day, lines-total, prints (-1 = unlimited), quotas (JSON)
 *   object   reviewer, reason
 *   revoke   reviewer or lab, reason
 *   window   days (the objection window, 1..365)
 *   dispute  print (a print's number), reason
 *   halt, shred: nothing more
 * The parser refuses any other line, a line out of order or twice, and bytes that are not
 * printable UTF-8; the text is canonical, so one decision has one text and one signature.
 */
#ifndef SEALROOM_DECISION_H
#define SEALROOM_DECISION_H

#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "note.h"
#include "policy.h"
#include "release.h"

#define DECISION_MAX 8192 /* bytes of a decision note, signatures included */
#define DECISION_TEXT_MAX (DECISION_MAX - 512) /* its text: room for two signatures */
#define DECISION_NONCE_HEX 32

struct decision {
	char kind[16];
	char product[RELEASE_NAME_MAX + 1];
	char version[RELEASE_NAME_MAX + 1];
	char seal[65];
	char nonce[DECISION_NONCE_HEX + 1];
	int64_t time;
	char reviewer[AUTH_LOGIN_MAX + 1]; /* approve, object, revoke of one reviewer */
	char lab[AUTH_ORG_MAX + 1];        /* revoke of a lab */
	char reason[POLICY_NOTE_MAX + 1];  /* object, revoke: one line */
	int objection_days;                /* window */
	int64_t print;                     /* dispute: the print's number */
	struct grant_terms terms;          /* approve; terms.quotas points at quotas */
	char quotas[1024];
};

/* Is kind one of the decisions above? */
int decision_kind_valid(const char *kind);

/* The SHA-256 (hex) of a seal note, as decisions name their release. */
void decision_seal_hash(const char *seal_note, char hex[65]);

/*
 * The canonical text of d (its nonce is drawn fresh when empty), appended to out.
 * ERR_USAGE naming the field when d is incomplete or a field is not allowed.
 */
int decision_text(struct decision *d, struct buf *out) WUR;
/* decision_text signed by the vendor's key: the decision file. */
int decision_sign(struct decision *d, const struct note_signer *vendor, struct buf *note) WUR;
/* Parse a decision's text (the signed part of the note); ERR_PARSE naming the line. */
int decision_parse(const char *text, size_t len, struct decision *d) WUR;
/*
 * Open a decision file: its shape, the vendor's signature (ERR_AUTH "... is not signed by
 * the vendor of 'P@V'"), then its text. ERR_PARSE for anything that is not a decision.
 */
int decision_open(const char *note, size_t len, const struct note_verifier *vendor, struct decision *d) WUR;
/*
 * Read a decision file (at most DECISION_MAX bytes) into in, and parse its text (not its
 * signature: policy_apply checks that against the release it names) into d.
 */
int decision_read_file(const char *path, struct buf *in, struct decision *d) WUR;
/* The same note with a second signature, the facility's, appended to out. */
int decision_countersign(const char *note, size_t len, const struct note_signer *facility, struct buf *out) WUR;

#endif
