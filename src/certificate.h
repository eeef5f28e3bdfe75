/*
 * certificate: the review certificate, an in-toto Statement v1 in a DSSE envelope
 * (dsse.h), signed by the lab and countersigned by the vendor offline.
 *
 * Subject: {"name":"P@V","digest":{"gitTree":"<tree_sha256>"}}; the SHA-1 tree id is in
 * the predicate (never trusted alone, so it is no subject digest). Predicate type
 * CERTIFICATE_PREDICATE_TYPE; the predicate (docs/formats.md) names the lab, the
 * reviewers, the dates, the scope (coverage figures of the exposure report of that lab),
 * the findings by severity and by state, and the log checkpoint the figures rest on (the
 * signed note itself, so that the log's key checks it offline).
 *
 * certificate_verify checks, offline: the envelope's payload type, a signature by the lab
 * key, a signature by the vendor key (a certificate without the countersignature fails),
 * the statement's shape and predicate type, that the subject's gitTree is the
 * predicate's tree, that it is the expected tree when one is given, and, with a log key,
 * the checkpoint's signature and that its size and root are the ones the predicate states.
 */
#ifndef SEALROOM_CERTIFICATE_H
#define SEALROOM_CERTIFICATE_H

#include <jansson.h>

#include "buf.h"
#include "err.h"
#include "note.h"

#define CERTIFICATE_PREDICATE_TYPE "https://sealroom.dev/attestation/review/v1"

/* What a certificate is made of (everything borrowed). */
struct certificate_in {
	const char *product, *version;
	const char *tree_sha256, *tree_sha1;
	const char *lab;
	json_t *reviewers;   /* array of logins */
	json_t *scope;       /* the lab's coverage (report_scope's lab object) */
	json_t *findings;    /* {"total":n,"by_severity":{..},"by_state":{..}} */
	const char *checkpoint; /* the signed checkpoint note */
	int64_t first, last; /* the review's first and last logged access (unix time), 0: none */
	int64_t issued;
};

/* Build the statement, sign it with the lab key: the envelope's JSON appended to out. */
int certificate_make(const struct certificate_in *in, const struct note_signer *lab_key,
		     struct buf *out) WUR;
/* Add the vendor's countersignature to envelope (json, len): the new envelope to out. */
int certificate_countersign(const char *json, size_t len, const struct note_signer *vendor_key,
			    struct buf *out) WUR;

/* What a verified certificate says. */
struct certificate_verified {
	char release[300];
	char tree_sha256[65];
	char lab[128];
	uint64_t log_size;
	int log_checked;
};

/*
 * Verify (json, len) as above. tree (may be NULL) is the tree id the certificate must be
 * for; log_key (may be NULL) the facility's log key. ERR_AUTH for a missing or bad
 * signature, another tree or a checkpoint that does not check; ERR_PARSE for a malformed
 * certificate; each with the reason.
 */
int certificate_verify(const char *json, size_t len, const unsigned char lab_pk[32],
		       const unsigned char vendor_pk[32], const struct note_verifier *log_key,
		       const char *tree, struct certificate_verified *out) WUR;

#endif
