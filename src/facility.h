/*
 * facility: the facility folder and what lives in it.
 *
 *   DIR/sealroom.db   SQLite (WAL), see db.h
 *   DIR/vault/        one folder per sealed release, see vault.h
 *   DIR/keys/log.key  the facility's Ed25519 signer key (note.h format, mode 0600)
 *   DIR/keys/log.pub  its verifier key line
 *   DIR/keys/secrets.key  the at-rest key (32 random bytes, hex, mode 0600): the TOTP
 *                     secrets, the forensic key and the labs' notes in the database are
 *                     sealed under it, so a copy of sealroom.db alone holds no usable
 *                     secret and no note
 *   DIR/keys/tls.key  the HTTPS server's private key (PEM, mode 0600)
 *   DIR/keys/tls.crt  its certificate (PEM; self-signed by init, replaceable by the operator)
 *
 * DIR is -C DIR, else $SEALROOM_HOME, else ./sealroom-data. A struct facility owns the open
 * database handle and the facility's signer key.
 *
 * The connection policy: a struct facility is used by one thread at a time (the room keeps a
 * pool of them, one per request in flight) and owns every connection its work needs, each
 * opened once and kept for its life: the main connection (facility_db: WAL,
 * synchronous=FULL), one for counters that may be recounted from the log
 * (facility_counters_db: quota usage, synchronous=NORMAL, so that a charge does not wait
 * for an fsync), and the log (facility_log: its own writer and reader, group commit). No
 * code opens a connection per charge, per entry or per print.
 */
#ifndef SEALROOM_FACILITY_H
#define SEALROOM_FACILITY_H

#include <sqlite3.h>

#include "buf.h"
#include "err.h"
#include "note.h"

struct facility;

/* The folder to use: opt_dir, else $SEALROOM_HOME, else "./sealroom-data". */
const char *facility_resolve(const char *opt_dir);

/*
 * Create a facility at dir named name (the log's origin, e.g. "review.example.org").
 * dir must not exist or be empty; ERR_EXISTS when it already holds a facility, and then
 * nothing is changed.
 */
int facility_init(const char *dir, const char *name) WUR;

/*
 * Make a self-signed TLS certificate for name in dir/keys (tls.key 0600, tls.crt), as init
 * does; for facilities made before init did. ERR_EXISTS when tls.key exists.
 */
int facility_tls_make(const char *dir, const char *name) WUR;

/* Open an existing facility; ERR_NOTFOUND with a hint to run init when there is none. */
int facility_open(const char *dir, struct facility **out) WUR;
void facility_free(struct facility *f);

sqlite3 *facility_db(const struct facility *f);
struct logdb;
/* The facility's log (logdb.h), opened on first use and kept; borrowed. */
int facility_log(struct facility *f, struct logdb **out) WUR;
/* The counters connection (synchronous=NORMAL), opened on first use and kept; borrowed. */
int facility_counters_db(struct facility *f, sqlite3 **out) WUR;
const char *facility_dir(const struct facility *f);
const char *facility_name(const struct facility *f);
/* The facility's log signer key (loaded lazily from keys/log.key). */
int facility_signer(struct facility *f, const struct note_signer **out) WUR;
#define FACILITY_SECRET_KEY_LEN 32
#define FACILITY_SECRET_MAX 65536 /* a lab's note (notes.h NOTES_TEXT_MAX) */
/*
 * Seal a secret for the database under the at-rest key (XChaCha20-Poly1305, a fresh
 * nonce; purpose, e.g. "totp:rita", is the associated data, so a sealed value moved to
 * another row does not open): 0x01 || nonce (24) || ciphertext, appended to out. The key
 * is made on first use for a facility from before it existed.
 */
int facility_secret_seal(struct facility *f, const char *purpose, const void *p, size_t len,
			 struct buf *out) WUR;
/* Open what facility_secret_seal made for purpose into out[cap]; *n its length. ERR_CORRUPT
 * when it is not such a value, or not for purpose; ERR_IO without the key file. */
int facility_secret_open(struct facility *f, const char *purpose, const void *p, size_t len,
			 unsigned char *out, size_t cap, size_t *n) WUR;

/* dir + "/" + rel, malloc'd. */
char *facility_path(const struct facility *f, const char *rel);

/*
 * Take the exclusive lock DIR/name (an flock, so two threads with their own descriptors
 * exclude each other as two processes do); *fd gets the descriptor for facility_unlock.
 * Decisions that read state, log and then apply take one (policy.lock, findings.lock).
 */
int facility_lock(struct facility *f, const char *name, int *fd) WUR;
void facility_unlock(int fd);

#endif
