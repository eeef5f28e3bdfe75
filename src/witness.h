/*
 * witness: C2SP tlog-cosignature v1.0.1 (Ed25519) for the log's checkpoints.
 *
 * A witness (the vendor, an auditor) cosigns a checkpoint to state that it is the largest
 * tree it has seen for that log and that it is consistent with every one it cosigned
 * before. The cosigner key is an ordinary Ed25519 signer key (note.h, `sealroom key new`);
 * its cosignature key id is SHA-256(name || "\n" || 0x04 || public key)[:4], and its
 * verifier key line is name+hex8+base64(0x04 || public key). The signature line is
 *   "\u2014 <name> base64(key id || u64 big-endian time || Ed25519 signature)"
 * over "cosignature/v1\ntime <time>\n" followed by the checkpoint body.
 *
 * The witness's memory is a state file next to its key (KEY.state): one line per log,
 * "<origin> <size> <base64 root>", replaced atomically (and under an exclusive lock) each
 * time it cosigns. A witness refuses a checkpoint smaller than, forked from, or (without a
 * valid consistency proof) not provably an extension of the one it cosigned last.
 */
#ifndef SEALROOM_WITNESS_H
#define SEALROOM_WITNESS_H

#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "note.h"
#include "tlog.h"

struct witness_verifier;

/* The cosignature key id of an Ed25519 public key named name. */
uint32_t witness_key_id(const char *name, const unsigned char pk[32]);
/* Append s's cosigner verifier key line (type 0x04) to out. */
int witness_vkey(const struct note_signer *s, struct buf *out) WUR;

int witness_verifier_parse(const char *text, size_t len, struct witness_verifier **out) WUR;
int witness_verifier_load(const char *path, struct witness_verifier **out) WUR;
void witness_verifier_free(struct witness_verifier *w);
const char *witness_verifier_name(const struct witness_verifier *w);

/* Append the signature line (with its "\n") cosigning checkpoint body text at time t. */
int witness_sign_line(const struct note_signer *s, const char *text, size_t len, uint64_t t,
		      struct buf *out) WUR;

/*
 * Find w's cosignature in the checkpoint note and check it: *line (without "\n") points
 * into note, *t gets its time. ERR_NOTFOUND when w did not cosign, ERR_AUTH when a line
 * claiming to be w's does not verify.
 */
int witness_check(const struct witness_verifier *w, const char *note, size_t len, struct str *line,
		  uint64_t *t) WUR;

/*
 * What the witness with key file key_path cosigned last for origin: *have is 0 when
 * nothing, else *size and root are set.
 */
int witness_state_get(const char *key_path, const char *origin, size_t origin_len, int *have,
		      uint64_t *size, unsigned char root[TLOG_HASH_LEN]) WUR;

/*
 * Cosign the checkpoint note with the key at key_path: checks the log's signature by
 * log_v, then consistency with the witness's state (proof: the consistency proof from the
 * size cosigned before, needed when the new checkpoint is larger), records the new state
 * durably, and appends the note with the cosignature line added to out. ERR_DENIED with
 * the reason when the checkpoint is inconsistent with what was cosigned before.
 */
int witness_cosign(const char *key_path, const char *note, size_t len, const struct note_verifier *log_v,
		   const unsigned char (*proof)[TLOG_HASH_LEN], size_t n_proof, struct buf *out) WUR;

#endif
