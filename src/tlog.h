/*
 * tlog: the RFC 9162 Merkle tree math behind the log, with nothing stored here.
 *
 * Leaf hash SHA-256(0x00 || entry), node hash SHA-256(0x01 || left || right), the empty
 * tree's root SHA-256(""). Trees are kept as "stored hashes" (the layout of Go's
 * golang.org/x/mod/sumdb/tlog): every complete subtree of 2^k leaves starting at leaf
 * n*2^k has one hash, numbered by tlog_stored_index(k, n), and appending leaf n adds
 * exactly the hashes numbered tlog_stored_count(n) .. tlog_stored_count(n + 1) - 1. Any
 * root, inclusion proof or consistency proof then needs O(log n) stored hashes, which the
 * caller supplies through a struct tlog_reader (logdb.c reads them from SQLite).
 *
 * Also here: the text formats of C2SP tlog-checkpoint (origin, size, base64 root),
 * tlog-proof, and the tlog-tiles path encoding ("tile/<L>/x001/234.p/<W>").
 * Verification functions treat every argument as hostile: sizes, indexes and hash lengths
 * are checked, and wrong input is ERR_AUTH (does not verify) or ERR_PARSE (malformed).
 */
#ifndef SEALROOM_TLOG_H
#define SEALROOM_TLOG_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

#define TLOG_HASH_LEN 32
#define TLOG_TILE_HEIGHT 8
#define TLOG_TILE_WIDTH 256
/* a proof in a tree of at most 2^63 leaves has at most 63 (inclusion) or 64 hashes */
#define TLOG_MAX_PROOF 66
/* the largest tree size accepted anywhere (keeps index arithmetic far from overflow) */
#define TLOG_MAX_SIZE ((uint64_t)1 << 48)

/* Supplies stored hash number idx; returns 0, or a negative enum err with err_set(). */
struct tlog_reader {
	int (*read)(void *ctx, uint64_t idx, unsigned char out[TLOG_HASH_LEN]);
	void *ctx;
};

void tlog_leaf_hash(const void *entry, size_t len, unsigned char out[TLOG_HASH_LEN]);
void tlog_node_hash(const unsigned char left[TLOG_HASH_LEN], const unsigned char right[TLOG_HASH_LEN],
		    unsigned char out[TLOG_HASH_LEN]);
void tlog_empty_root(unsigned char out[TLOG_HASH_LEN]);
/* The root of the tree whose leaf hashes are leaves[0..n-1] (O(n) time, O(log n) space). */
void tlog_root(const unsigned char (*leaves)[TLOG_HASH_LEN], uint64_t n, unsigned char out[TLOG_HASH_LEN]);

/* Number of stored hash for the complete subtree at level (height) level, position n. */
uint64_t tlog_stored_index(int level, uint64_t n);
/* How many stored hashes a tree of n leaves has. */
uint64_t tlog_stored_count(uint64_t n);

/*
 * The hashes to store when leaf n (hash leaf) is appended to a tree of n leaves: the leaf
 * hash, then one new node hash per completed subtree. out gets *n_out (at most 65) hashes,
 * to be stored at tlog_stored_count(n) onwards. Reads the older hashes through rd.
 */
int tlog_stored_for_leaf(uint64_t n, const unsigned char leaf[TLOG_HASH_LEN],
			 const struct tlog_reader *rd, unsigned char (*out)[TLOG_HASH_LEN],
			 size_t *n_out) WUR;

/* Root of the tree of the first size leaves, from stored hashes. */
int tlog_tree_hash(uint64_t size, const struct tlog_reader *rd, unsigned char out[TLOG_HASH_LEN]) WUR;
/* The hash of leaves [lo, hi), lo < hi, from stored hashes. */
int tlog_range_hash(uint64_t lo, uint64_t hi, const struct tlog_reader *rd,
		    unsigned char out[TLOG_HASH_LEN]) WUR;

/* RFC 9162 inclusion proof of leaf index in the tree of size leaves; *n <= TLOG_MAX_PROOF. */
int tlog_prove_inclusion(uint64_t index, uint64_t size, const struct tlog_reader *rd,
			 unsigned char (*proof)[TLOG_HASH_LEN], size_t *n) WUR;
/* RFC 9162 consistency proof from size m to size n (0 < m <= n). */
int tlog_prove_consistency(uint64_t m, uint64_t n, const struct tlog_reader *rd,
			   unsigned char (*proof)[TLOG_HASH_LEN], size_t *n_proof) WUR;

/*
 * Check an inclusion proof (RFC 9162 2.1.3.2): leaf (leaf_len bytes, must be 32) is at
 * index of the tree of size with root (root_len bytes). 0, or ERR_AUTH with the reason.
 */
int tlog_verify_inclusion(uint64_t index, uint64_t size, const void *leaf, size_t leaf_len,
			  const unsigned char (*proof)[TLOG_HASH_LEN], size_t n_proof,
			  const void *root, size_t root_len) WUR;
/*
 * Check a consistency proof (RFC 9162 2.1.4.2) from (m, root1) to (n, root2). A proof from
 * size 0 is an error; equal sizes need an empty proof and equal roots; m > n is an error.
 */
int tlog_verify_consistency(uint64_t m, uint64_t n, const void *root1, size_t len1,
			    const void *root2, size_t len2,
			    const unsigned char (*proof)[TLOG_HASH_LEN], size_t n_proof) WUR;

/* Standard padded base64 of one hash, appended to out. */
int tlog_hash_b64(struct buf *out, const unsigned char h[TLOG_HASH_LEN]) WUR;
/* Decode standard padded base64 that must hold exactly one 32-byte hash. ERR_PARSE else. */
int tlog_hash_unb64(const char *s, size_t len, unsigned char out[TLOG_HASH_LEN]) WUR;

/* A checkpoint body: "<origin>\n<size>\n<base64 root>\n" plus extension lines. */
struct tlog_checkpoint {
	struct str origin;   /* points into the parsed text */
	uint64_t size;
	unsigned char root[TLOG_HASH_LEN];
};

/* Append the body of a checkpoint (no extension lines) to out. */
int tlog_checkpoint_format(struct buf *out, const char *origin, uint64_t size,
			   const unsigned char root[TLOG_HASH_LEN]) WUR;
/* Parse a checkpoint body (the signed text of the note). ERR_PARSE naming what is wrong. */
int tlog_checkpoint_parse(const char *text, size_t len, struct tlog_checkpoint *c) WUR;

/*
 * C2SP tlog-proof: "c2sp.org/tlog-proof@v1\n[extra ..\n]index N\n<hash>\n...\n\n<checkpoint
 * note>". tlog_proof_format appends it; tlog_proof_parse points *note at the checkpoint.
 */
int tlog_proof_format(struct buf *out, uint64_t index, const unsigned char (*proof)[TLOG_HASH_LEN],
		      size_t n, const char *note, size_t note_len) WUR;
int tlog_proof_parse(const char *text, size_t len, uint64_t *index,
		     unsigned char (*proof)[TLOG_HASH_LEN], size_t *n, struct str *note) WUR;

/* Append the tlog-tiles path element for tile index n ("x001/x234/067"). */
int tlog_tile_index_path(struct buf *out, uint64_t n) WUR;
/*
 * Parse a tiles path relative to the log prefix: "tile/<L>/<N>[.p/<W>]" (level 0..63) or
 * "tile/entries/<N>[.p/<W>]" (*level = -1). *width is 256 for full tiles.
 */
int tlog_tile_path_parse(const char *path, int *level, uint64_t *index, unsigned *width) WUR;

#endif
