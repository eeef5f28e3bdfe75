/*
 * vault: a release's blobs and named objects, compressed and encrypted on disk.
 *
 * Each sealed release has its own random 32-byte data key (struct vault_key, held in
 * sodium_malloc memory and wiped on free). The key is only ever stored wrapped to the
 * vendor's X25519 wrapping key (a sealed box), so the facility operator cannot read a
 * release without the vendor. Every object is zstd-compressed, then encrypted with
 * XChaCha20-Poly1305-IETF under a fresh random nonce, its associated data binding the
 * release, the object's id or name, its compression method and its size.
 *
 * A release is one folder vault_root/<name> holding append-only packs (pack-000000, ...)
 * and one encrypted index (id -> pack, offset, length, sorted, so vault_get is a binary
 * search). The index header and every pack header are authenticated, and the index
 * records each pack's exact length: one flipped, added or removed byte anywhere in the
 * folder is found by vault_open, vault_get or vault_check, with an error naming the
 * object id or the file and offset. docs/formats.md ("## Vault") has the byte layout.
 *
 * Writing: vault_writer_new makes vault_root/.tmp-<pid>-<random>; vault_put may be called
 * from many threads at once; vault_commit fsyncs and renames the folder into place, so a
 * crash leaves either no release or a whole one (vault_sweep cleans crashed leftovers).
 * Reading: struct vault is immutable after vault_open and safe to share between threads.
 */
#ifndef SEALROOM_VAULT_H
#define SEALROOM_VAULT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

#define VAULT_KEY_LEN 32
/* Bytes of a wrapped key: "srk2" + 8-byte key id + crypto_box_seal of the 32-byte key. */
#define VAULT_WRAPPED_LEN 92
/* The largest object (uncompressed) the vault accepts. */
#define VAULT_OBJECT_MAX ((size_t)1 << 30)
/* A pack is closed and a new one started once the next record would take it past this. */
#define VAULT_PACK_MAX ((size_t)256 << 20)
/* The longest name of a named object (vault_put_meta). */
#define VAULT_META_NAME_MAX 255
#define VAULT_ZSTD_LEVEL_DEFAULT 3

struct vault_key;

/* A fresh random data key. */
int vault_key_new(struct vault_key **out) WUR;
/* A key from raw bytes (e.g. kept in another locked buffer); the caller wipes its copy. */
int vault_key_from_bytes(const unsigned char raw[VAULT_KEY_LEN], struct vault_key **out) WUR;
void vault_key_free(struct vault_key *k);
/* Copy the key's raw bytes into raw (another locked buffer, e.g. the keyring's). */
int vault_key_bytes(const struct vault_key *k, unsigned char raw[VAULT_KEY_LEN]) WUR;

/*
 * Wrap the data key to the vendor's X25519 wrapping key (crypto_box_seal). Appends
 * VAULT_WRAPPED_LEN bytes to wrapped.
 */
int vault_key_wrap(const struct vault_key *k, const unsigned char wrap_pk[32], struct buf *wrapped) WUR;
/*
 * Unwrap with the vendor's X25519 wrapping key pair. ERR_AUTH saying why: truncated or
 * not a wrapped key, wrapped for another wrapping key, or damaged. *out only on success.
 */
int vault_key_unwrap(const void *wrapped, size_t len, const unsigned char wrap_pk[32],
		     const unsigned char wrap_sk[32], struct vault_key **out) WUR;
/* Bytes of a data key sealed to a one-time X25519 key (an unlock response). */
#define VAULT_SEALED_KEY_LEN (VAULT_KEY_LEN + 48)
/* Seal the data key to the X25519 public key pk (the server's one-time key). */
int vault_key_seal_to(const struct vault_key *k, const unsigned char pk[32],
		      unsigned char box[VAULT_SEALED_KEY_LEN]) WUR;
/* Open a data key sealed to (pk, sk); ERR_AUTH when it does not open. */
int vault_key_open_from(const unsigned char box[VAULT_SEALED_KEY_LEN], const unsigned char pk[32],
			const unsigned char sk[32], struct vault_key **out) WUR;

struct vault_writer;

/* How a release is written; a field left 0 takes its default. */
struct vault_writer_opts {
	int zstd_level;  /* VAULT_ZSTD_LEVEL_DEFAULT */
	size_t pack_max; /* a pack is closed once the next record would take it past this many
			    bytes: VAULT_PACK_MAX, at most (tests pass small ones to reach the
			    second pack without writing 256 MiB) */
};

/*
 * Start a new release under vault_root (created 0700 if absent): everything goes to
 * vault_root/.tmp-<pid>-<random> until vault_commit. o may be NULL (every default);
 * ERR_USAGE for a zstd level out of range or a pack_max past VAULT_PACK_MAX. The writer
 * keeps a reference to k, which must outlive it.
 */
int vault_writer_new(const char *vault_root, const struct vault_key *k, const struct vault_writer_opts *o,
		     struct vault_writer **out) WUR;
/*
 * Add a blob by its 32-byte id (git SHA-256 blob id). Thread-safe: compression and
 * encryption run outside the writer's lock, which is held only to append to the pack.
 * The same id twice is stored once. ERR_TOOBIG past VAULT_OBJECT_MAX; ERR_IO when the pack
 * cannot be written, after which the writer only accepts vault_writer_abort.
 */
int vault_put(struct vault_writer *w, const unsigned char id[32], const void *data,
	      size_t len) WUR;
/* Add a named object ("manifest", "index", ...); ERR_EXISTS when the name is taken. */
int vault_put_meta(struct vault_writer *w, const char *name, const void *data, size_t len) WUR;
/*
 * Write the index, fsync every file and the folder, rename the folder to vault_root/<name>
 * (never replacing anything) and fsync vault_root. ERR_EXISTS when <name> exists,
 * ERR_USAGE for a name with '/' or a leading '.'. Frees w in every case, removing the
 * temporary folder when the rename did not happen. An ERR_IO from the final fsync of
 * vault_root leaves the release in place (whole): vault_remove it if it must not stay.
 * No vault_put may be running.
 */
int vault_commit(struct vault_writer *w, const char *name) WUR;
/* Remove the temporary folder and free w (NULL is fine). */
void vault_writer_abort(struct vault_writer *w);
/*
 * Remove leftover .tmp-* folders of crashed seals: those whose writer process is gone,
 * or in which nothing was written for VAULT_SWEEP_IDLE seconds. A vault_root that does not
 * exist is fine.
 */
#define VAULT_SWEEP_IDLE (10 * 60)
int vault_sweep(const char *vault_root) WUR;
/*
 * Copy a committed release folder src_dir (from a bundle made elsewhere) into
 * vault_root/<name>: only its "index" and "pack-NNNNNN" files, regular files read without
 * following links; anything else is ERR_CORRUPT. Copied under a .tmp- name, fsync'd,
 * renamed into place without replacing. It is authenticated later, by vault_open with its
 * key.
 */
int vault_import(const char *vault_root, const char *src_dir, const char *name) WUR;
/* Remove a committed release folder (first renamed aside, so a crash leaves no half). */
int vault_remove(const char *vault_root, const char *name) WUR;

struct vault;

/*
 * Open a committed release folder: reads and authenticates the index, opens every pack
 * and checks its header and exact length. ERR_AUTH (wrong key or tampered index),
 * ERR_CORRUPT or ERR_NOTFOUND naming the file.
 */
int vault_open(const char *release_dir, const struct vault_key *k, struct vault **out) WUR;
void vault_close(struct vault *v);
/*
 * Append a blob's plaintext to out (out->max caps it: ERR_TOOBIG). ERR_NOTFOUND when the
 * id is absent; ERR_AUTH or ERR_CORRUPT naming the id in hex when the stored object fails
 * its tag or is malformed. Thread-safe.
 */
int vault_get(struct vault *v, const unsigned char id[32], struct buf *out) WUR;
int vault_get_meta(struct vault *v, const char *name, struct buf *out) WUR;

/*
 * Reading many blobs (the index loader's way): a struct vault_reader belongs to one
 * thread and holds its own decryption, decompression and hash contexts and a span of pack
 * bytes; blobs asked for in storage order (vault_blob_pos) cost one read of up to 4 MiB of
 * pack per many blobs. Its scratch is wiped when it is freed.
 */
struct vault_reader;

struct vault_reader *vault_reader_new(struct vault *v);
void vault_reader_free(struct vault_reader *rd);
/* A number that orders blobs as they are stored; ERR_NOTFOUND naming the id. */
int vault_blob_pos(const struct vault *v, const unsigned char id[32], uint64_t *pos) WUR;

/* One blob to read: its id, and where its len bytes of plaintext go. */
struct vault_want {
	const unsigned char *id;
	unsigned char *dst;
	size_t len;
};
/*
 * Read w[0..n): each blob authenticated, decompressed straight into its dst and checked to
 * hash to its id (as vault_get). Stops at the first failure, *bad its position (n when
 * none), with vault_get's errors, or ERR_CORRUPT naming the id when the blob does not
 * hold exactly len bytes; that dst is wiped.
 */
int vault_get_many(struct vault_reader *rd, const struct vault_want *w, size_t n,
		   size_t *bad) WUR;

/*
 * Check every byte of the folder: no unexpected files, each pack laid out with no gap or
 * stray byte, every object's tag, and its decompression. Calls cb (when not NULL) with each
 * blob's plaintext in pack order; a non-zero return from cb stops the walk and is
 * returned. Stops at the first error, naming the object or file and offset.
 */
int vault_check(struct vault *v,
		int (*cb)(void *ctx, const unsigned char id[32], const void *p, size_t len),
		void *ctx) WUR;

#endif
