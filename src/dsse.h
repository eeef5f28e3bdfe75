/*
 * dsse: Dead Simple Signing Envelopes (DSSE v1.0.0) with Ed25519 signatures, and in-toto
 * Statement v1 payloads. The one implementation of attestations in sealroom: the review
 * certificate and build provenance are both a Statement in an envelope.
 *
 * An envelope is JSON
 *   {"payload":"<base64>","payloadType":"<type>","signatures":[{"keyid":"..","sig":"<b64>"}]}
 * and each signature is Ed25519 over the pre-authentication encoding
 *   PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body
 * where LEN is the ASCII decimal byte count without leading zeros. Nothing but the payload
 * type and payload is signed; the keyid is an unauthenticated hint. sealroom's keyid is the
 * lowercase hex SHA-256 of the 32-byte Ed25519 public key (dsse_keyid).
 *
 * A struct dsse owns copies of its payload type, payload and signatures. dsse_parse reads
 * untrusted bytes: at most DSSE_MAX_LEN of JSON, DSSE_MAX_SIGS signatures, each exactly
 * 64 bytes; payloads in standard or URL-safe base64 (the spec allows both), written back
 * in standard padded base64.
 */
#ifndef SEALROOM_DSSE_H
#define SEALROOM_DSSE_H

#include <stddef.h>

#include <jansson.h>

#include "buf.h"
#include "err.h"
#include "note.h"

#define DSSE_MAX_LEN ((size_t)16 << 20)
#define DSSE_MAX_SIGS 16
#define DSSE_MAX_TYPE 256
#define DSSE_MAX_KEYID 256
#define DSSE_KEYID_LEN 64 /* hex SHA-256 */
#define DSSE_SIG_LEN 64

#define INTOTO_PAYLOAD_TYPE "application/vnd.in-toto+json"
#define INTOTO_STATEMENT_V1 "https://in-toto.io/Statement/v1"

struct dsse;

/* Append PAE(type, body) to out. */
int dsse_pae(struct buf *out, const char *type, size_t type_len, const void *body,
	     size_t body_len) WUR;
/* keyid of an Ed25519 public key: hex SHA-256 of its 32 bytes, into out (65 bytes). */
void dsse_keyid(const unsigned char pk[32], char out[DSSE_KEYID_LEN + 1]);

/* A fresh unsigned envelope over (payload, len) of payload_type (printable ASCII). */
int dsse_new(const char *payload_type, const void *payload, size_t len, struct dsse **out) WUR;
void dsse_free(struct dsse *e);
/* Add signer's signature (ERR_TOOBIG past DSSE_MAX_SIGS, ERR_EXISTS when that key signed). */
int dsse_sign(struct dsse *e, const struct note_signer *signer) WUR;
/* Add a signature made elsewhere (keyid may be "", sig 64 bytes). */
int dsse_add_sig(struct dsse *e, const char *keyid, const unsigned char sig[DSSE_SIG_LEN]) WUR;

/* Serialise as compact JSON (keys sorted), no trailing newline; appended to out. */
int dsse_encode(const struct dsse *e, struct buf *out) WUR;
/* Parse an envelope (untrusted bytes). ERR_PARSE with the reason; ERR_TOOBIG past the caps. */
int dsse_parse(const char *json, size_t len, struct dsse **out) WUR;

const char *dsse_payload_type(const struct dsse *e);
const unsigned char *dsse_payload(const struct dsse *e, size_t *len);
size_t dsse_n_sigs(const struct dsse *e);

/*
 * Does a signature by public key pk verify over the envelope? Signatures whose keyid is
 * set and names another key are skipped; 0 when one verifies, else ERR_AUTH "no valid
 * signature by key <keyid>".
 */
int dsse_verify(const struct dsse *e, const unsigned char pk[32]) WUR;

/*
 * in-toto Statement v1. A subject names an artifact and its digests (algorithm -> lowercase
 * hex, e.g. "gitTree" -> the tree's SHA-256 git id, "sha256" -> a file's digest).
 */
struct intoto_digest {
	const char *alg;
	const char *hex;
};
struct intoto_subject {
	const char *name;
	const struct intoto_digest *digests;
	size_t n_digests;
};

/*
 * Append the Statement as canonical JSON (sorted keys, compact). predicate must be a JSON
 * object (borrowed). ERR_USAGE for an empty subject list or digest set, a non-hex digest,
 * a predicate type that is not an absolute URI.
 */
int intoto_statement(const struct intoto_subject *subjects, size_t n_subjects,
		     const char *predicate_type, const json_t *predicate, struct buf *out) WUR;
/*
 * Parse a Statement v1 payload (untrusted): _type, a non-empty subject list whose digests
 * are hex strings, predicateType, an object predicate. *out is the whole statement
 * (json_decref it). ERR_PARSE with the reason.
 */
int intoto_parse(const void *payload, size_t len, json_t **out) WUR;
/* Does statement have a subject with digest alg == hex? 1 yes, 0 no. */
int intoto_has_subject(const json_t *statement, const char *alg, const char *hex);

#endif
