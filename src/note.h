/*
 * note: C2SP signed notes (signed-note v1.0.0) with Ed25519 keys, and the key files.
 *
 * Key lines are the ones Go's golang.org/x/mod/sumdb/note reads and writes:
 *   verifier key  <name>+<hex8 key hash>+<base64(0x01 || 32-byte public key)>
 *   signer key    PRIVATE+KEY+<name>+<hex8>+<base64(0x01 || 32-byte seed)>
 * The key hash is the first 4 bytes of SHA-256(name || "\n" || 0x01 || public key).
 * A note is its text (ending in "\n"), a blank line, and lines
 *   "\u2014 <name> <base64(key hash || signature)>\n".
 * Secret keys live in sodium_malloc memory owned by the note_signer.
 */
#ifndef SEALROOM_NOTE_H
#define SEALROOM_NOTE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define NOTE_MAX_SIGS 100
#define NOTE_ALG_ED25519 0x01
#define NOTE_ALG_COSIG 0x04
/* sealroom's own algorithm byte for X25519 wrapping keys (never a signature key). */
#define NOTE_ALG_X25519 0x40

struct note_signer;
struct note_verifier;

/* A signature line of a note, parsed (not yet checked). */
struct note_sig {
	struct str name;
	uint32_t hash;
	unsigned char sig[128];
	size_t sig_len;
};

/* The key hash: the first 4 bytes, big-endian, of SHA-256(name || "\n" || alg || pk). */
uint32_t note_key_hash(const char *name, unsigned char alg, const unsigned char pk[32]);

/* Make a fresh key called name; append its signer and verifier key lines (no newline). */
int note_key_generate(const char *name, struct buf *skey, struct buf *vkey) WUR;
/* Is name a valid key name (non-empty UTF-8 without spaces, '+' or control bytes)? */
int note_name_valid(const char *name, size_t len);

/* Parse a PRIVATE+KEY line (trailing whitespace ignored). ERR_PARSE on anything else. */
int note_signer_parse(const char *text, size_t len, struct note_signer **out) WUR;
/* Read a key file written by `sealroom key new`; refuses files readable by others. */
int note_signer_load(const char *path, struct note_signer **out) WUR;
void note_signer_free(struct note_signer *s);
const char *note_signer_name(const struct note_signer *s);
const unsigned char *note_signer_public(const struct note_signer *s); /* 32 bytes */
int note_signer_vkey(const struct note_signer *s, struct buf *out) WUR;
/* Ed25519 signature of msg by s (64 bytes). */
void note_signer_sign(const struct note_signer *s, const void *msg, size_t len,
		      unsigned char sig[64]);

int note_verifier_parse(const char *text, size_t len, struct note_verifier **out) WUR;
int note_verifier_load(const char *path, struct note_verifier **out) WUR;
void note_verifier_free(struct note_verifier *v);
const char *note_verifier_name(const struct note_verifier *v);
const unsigned char *note_verifier_public(const struct note_verifier *v); /* 32 bytes */

/*
 * Wrapping keys: X25519 key pairs to which release data keys are sealed, kept apart from
 * the signing key (a signer never unwraps, a wrapper never signs). Lines of the same form:
 *   public   <name>+<hex8>+<base64(0x40 || 32-byte X25519 public key)>
 *   secret   PRIVATE+WRAP+<name>+<hex8>+<base64(0x40 || 32-byte X25519 secret key)>
 * with hex8 = note_key_hash(name, NOTE_ALG_X25519, public key), so a line that was altered
 * (key or name) no longer matches its hash.
 */
struct note_wrapper;

/* Make a fresh wrapping key called name; append its secret and public lines (no newline). */
int note_wrap_generate(const char *name, struct buf *skey, struct buf *pkey) WUR;
/* Parse a public wrapping key line into pk (and its name into name, when not NULL). */
int note_wrap_public_parse(const char *text, size_t len, unsigned char pk[32], struct buf *name) WUR;
/* Parse a PRIVATE+WRAP line; ERR_PARSE or ERR_CORRUPT (hash) on anything else. */
int note_wrapper_parse(const char *text, size_t len, struct note_wrapper **out) WUR;
/* Read a secret wrapping key file; refuses files readable by others. */
int note_wrapper_load(const char *path, struct note_wrapper **out) WUR;
void note_wrapper_free(struct note_wrapper *w);
const unsigned char *note_wrapper_public(const struct note_wrapper *w); /* 32 bytes */
const unsigned char *note_wrapper_secret(const struct note_wrapper *w); /* 32 bytes, locked */
/* Append w's public line (no newline). */
int note_wrapper_pkey(const struct note_wrapper *w, struct buf *out) WUR;

/*
 * Sign text (which must end in "\n" and hold no blank-line-free violations, see spec) with
 * signer; append the whole note to out.
 */
int note_sign(const char *text, size_t len, const struct note_signer *signer, struct buf *out) WUR;

/*
 * Split a note into text and signature lines, checking its shape; sigs gets at most
 * NOTE_MAX_SIGS entries. The text slice points into note and includes its final "\n".
 */
int note_split(const char *note, size_t len, struct str *text, struct note_sig *sigs,
	       size_t *n_sigs) WUR;

/*
 * Open a note: check its shape and that verifier v signed it. Signatures by other keys are
 * ignored; a signature that claims v's name and hash but does not verify is ERR_AUTH.
 * On success *text is the signed text (pointing into note).
 */
int note_open(const char *note, size_t len, const struct note_verifier *v, struct str *text) WUR;

#endif
