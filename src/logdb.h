/*
 * logdb: the facility's transparency log, kept in its SQLite database.
 *
 * Tables (db.c step 2): log_entries (idx, data) holds each entry's bytes, one line of
 * canonical JSON; log_hashes (id, hash) holds the tree's stored hashes (tlog.h), so any
 * root or proof costs O(log n) reads; log_checkpoints (size, note) holds every checkpoint
 * ever signed; log_cosignatures the witnesses' signature lines for them.
 *
 * Invariants: entries and hashes are only appended, inside one SQLite transaction per
 * group commit (BEGIN IMMEDIATE, synchronous=FULL), so an entry is durable when
 * logdb_append returns and two processes never assign the same index. A checkpoint is
 * signed only over committed entries, and only when the tree still matches the previous
 * checkpoint (checked by recomputing its root and a consistency proof).
 *
 * A struct logdb owns two connections to the database (a writer and a reader) and is
 * safe to use from many threads. It borrows the struct facility it was opened with.
 */
#ifndef SEALROOM_LOGDB_H
#define SEALROOM_LOGDB_H

#include <stdint.h>

#include <jansson.h>

#include "buf.h"
#include "err.h"
#include "facility.h"
#include "note.h"
#include "tlog.h"

/* The largest entry: tlog-tiles entry bundles prefix each entry with a 16-bit length. */
#define LOGDB_ENTRY_MAX 65535

struct logdb;

int logdb_open(struct facility *f, struct logdb **out) WUR;
void logdb_free(struct logdb *l);

/*
 * Append one entry, a JSON object with at least string "type" and "actor" ("time" is set
 * to the current unix time when absent; entry itself is not changed). It is stored as
 * canonical JSON (sorted keys, no spaces) of at most LOGDB_ENTRY_MAX bytes. Returns when
 * the entry is durable; *index (may be NULL) gets its index. Concurrent callers are
 * committed together. ERR_USAGE for a malformed entry (or one logdb_entry_set marked as
 * unbuildable), ERR_TOOBIG, ERR_DB, ERR_CORRUPT.
 */
int logdb_append(struct logdb *l, json_t *entry, uint64_t *index) WUR;

/*
 * The one builder of log entries: every entry is made by logdb_entry_new and filled by the
 * functions below, so that no field is ever dropped. A string that is valid UTF-8 without
 * NUL is kept as "key":"..."; any other bytes (a file name that is not UTF-8, a query with
 * a stray byte) become "key_b64": the standard base64 of the raw bytes. A field that cannot
 * be built at all (logdb_entry_set with NULL, as a failed json_pack gives) marks the entry,
 * and logdb_append refuses a marked entry: nothing is shown whose entry is incomplete.
 * Allocation failure aborts.
 */
json_t *logdb_entry_new(const char *type, const char *actor);
void logdb_entry_str(json_t *e, const char *key, const char *s);
void logdb_entry_strn(json_t *e, const char *key, const char *p, size_t len);
void logdb_entry_int(json_t *e, const char *key, int64_t v);
/* Set key to v (stolen); v NULL marks the entry unbuildable. */
void logdb_entry_set(json_t *e, const char *key, json_t *v);

/* Canonical bytes of entry (as logdb_append stores them, without adding "time"). */
int logdb_canonical(json_t *entry, struct buf *out) WUR;
/* Is (p, len) a valid stored entry: canonical JSON object with type, actor and time? */
int logdb_entry_check(const char *p, size_t len) WUR;

/* Number of committed entries. */
int logdb_size(struct logdb *l, uint64_t *n) WUR;
/* Append entry i's bytes to out; ERR_NOTFOUND past the end. */
int logdb_entry(struct logdb *l, uint64_t i, struct buf *out) WUR;
/* Root hash of the first size entries. */
int logdb_root(struct logdb *l, uint64_t size, unsigned char root[TLOG_HASH_LEN]) WUR;
/* Inclusion proof of entry index in the tree of size entries. */
int logdb_prove(struct logdb *l, uint64_t index, uint64_t size,
		unsigned char (*proof)[TLOG_HASH_LEN], size_t *n) WUR;
/* Consistency proof from size m to size n. */
int logdb_consistency(struct logdb *l, uint64_t m, uint64_t n,
		      unsigned char (*proof)[TLOG_HASH_LEN], size_t *n_proof) WUR;

/*
 * The latest checkpoint, as a signed note with the cosignatures given for it, appended to
 * out. When entries were committed since the last checkpoint, a new one is signed with the
 * facility's key first, after checking that the tree is consistent with the last one
 * (ERR_CORRUPT, and nothing is signed, when it is not). *size (may be NULL) gets its size.
 */
int logdb_checkpoint(struct logdb *l, struct buf *out, uint64_t *size) WUR;
/* The latest stored checkpoint without signing a new one; ERR_NOTFOUND when there is none. */
int logdb_checkpoint_latest(struct logdb *l, struct buf *out, uint64_t *size) WUR;
/* The stored checkpoint of exactly size entries; ERR_NOTFOUND when none was signed. */
int logdb_checkpoint_at(struct logdb *l, uint64_t size, struct buf *out) WUR;

/* The log's state for the operator's page: entries, the latest checkpoint and when it was
 * signed (0, 0 without one). */
struct logdb_health {
	uint64_t entries;
	uint64_t checkpoint_size;
	int64_t checkpoint_at;
};
int logdb_health(struct logdb *l, struct logdb_health *h) WUR;
/* Call fn for each witness that cosigned a checkpoint: its name, the largest checkpoint it
 * cosigned and when that cosignature was stored (name order). */
int logdb_witnesses_each(struct logdb *l,
			 int (*fn)(void *ctx, const char *name, uint64_t size, int64_t at), void *ctx) WUR;

/*
 * Store a witness's cosignature: note is a checkpoint this log signed, carrying the
 * signature line sig_line (checked by the caller, see witness.h) by witness name.
 */
int logdb_add_cosignature(struct logdb *l, const char *note, size_t len, const char *name,
			  const char *sig_line, size_t line_len) WUR;

/*
 * Serve one tlog-tiles resource by its path below the log's prefix: "checkpoint",
 * "tile/<L>/<N>[.p/<W>]" or "tile/entries/<N>[.p/<W>]" (for the server's /log/).
 * ERR_NOTFOUND for a tile beyond the tree, ERR_PARSE for a malformed path.
 */
int logdb_tile(struct logdb *l, const char *path, struct buf *out) WUR;

/*
 * Write the log as tlog-tiles static files under dir (created if missing): checkpoint,
 * every full and partial tile and entry bundle for the latest checkpoint's size (signing
 * one first if the log grew). *size (may be NULL) gets that size, *n_files the files.
 */
int logdb_export(struct logdb *l, const char *dir, uint64_t *size, uint64_t *n_files) WUR;

/* What an offline verification checked. */
struct logdb_verified {
	uint64_t size;          /* the verified checkpoint's tree size */
	unsigned char root[TLOG_HASH_LEN];
	uint64_t entries;       /* entries read (may exceed size: not yet checkpointed) */
	uint64_t checkpoints;   /* stored checkpoints whose signature and root were checked */
	uint64_t from_size;     /* size of the --from checkpoint, when one was given */
	int from;               /* 1 when a --from checkpoint was checked */
};

/*
 * The vendor's offline verifier over a copy of the database at db_path, opened read-only:
 * checks every stored checkpoint's signature by v, recomputes the tree from the entries
 * (each must be canonical JSON, in order, without gaps, matching its stored hash), checks
 * every checkpoint's root, and, when from is given (a checkpoint note the vendor saw
 * before), that the log still contains it. Fails with ERR_AUTH / ERR_CORRUPT and a message
 * naming the first bad entry, checkpoint or proof.
 */
int logdb_verify(const char *db_path, const struct note_verifier *v, const char *from,
		 size_t from_len, struct logdb_verified *res) WUR;

/* The same over an exported tlog-tiles folder (its checkpoint, tiles and entry bundles). */
int logdb_verify_tiles(const char *dir, const struct note_verifier *v, const char *from,
		       size_t from_len, struct logdb_verified *res) WUR;
/*
 * logdb_verify_tiles that also hands each entry of the exported checkpoint's tree to fn,
 * in order (each checked to be a valid entry first). fn sees entries before the tiles and
 * root are checked: a caller keeps what it computed only when this returns 0.
 */
int logdb_tiles_each(const char *dir, const struct note_verifier *v,
		     int (*fn)(void *ctx, uint64_t i, const char *p, size_t len), void *ctx,
		     struct logdb_verified *res) WUR;

#endif
