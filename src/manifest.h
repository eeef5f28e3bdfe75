/*
 * manifest: the sealed file list of a release, and its binary encoding.
 *
 * A manifest owns its entries and their path copies. After manifest_sort the entries are
 * in byte order of their paths, unique, and manifest_find works. The encoding (see
 * docs/formats.md, "Manifest") is written only from a sorted manifest and decoding treats
 * its input as hostile: every length is checked, counts are capped, entries must be
 * sorted and valid git paths and modes, and a SHA-256 trailer covers the rest.
 */
#ifndef SEALROOM_MANIFEST_H
#define SEALROOM_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

/* Caps that decoding enforces (and manifest_add too). */
#define MANIFEST_MAX_ENTRIES ((uint64_t)1 << 24)
#define MANIFEST_MAX_PATH 4096

struct manifest_entry {
	char *path; /* NUL-terminated copy; path_len bytes, no NUL inside */
	size_t path_len;
	unsigned mode; /* 0100644, 0100755 or 0120000 */
	uint64_t size;
	unsigned char sha1[20];
	unsigned char sha256[32];
};

struct manifest;

struct manifest *manifest_new(void);
/* Append an entry (the path is copied). ERR_HOSTILE for a bad path, ERR_USAGE for a bad
 * mode, ERR_TOOBIG past MANIFEST_MAX_ENTRIES or a path longer than MANIFEST_MAX_PATH. */
int manifest_add(struct manifest *m, const char *path, size_t path_len, unsigned mode,
		 uint64_t size, const unsigned char sha1[20], const unsigned char sha256[32]) WUR;
/* Sort by path bytes; ERR_HOSTILE naming the path on a duplicate. */
int manifest_sort(struct manifest *m) WUR;
size_t manifest_count(const struct manifest *m);
/* Entry i (i < count), owned by the manifest. */
const struct manifest_entry *manifest_get(const struct manifest *m, size_t i);
/* The entry with exactly this path, or NULL; the manifest must be sorted. */
const struct manifest_entry *manifest_find(const struct manifest *m, const char *path,
					   size_t len);
/* Root tree ids of the files; ERR_HOSTILE for a file/directory conflict or duplicate. */
int manifest_tree_ids(const struct manifest *m, unsigned char sha1[20],
		      unsigned char sha256[32]) WUR;
/* Sum of the entries' sizes. */
uint64_t manifest_bytes(const struct manifest *m);
/* Append the encoding to out; ERR_USAGE when the manifest is not sorted. */
int manifest_encode(const struct manifest *m, struct buf *out) WUR;
/* Decode untrusted bytes into a new sorted manifest; ERR_CORRUPT naming what is wrong. */
int manifest_decode(const void *p, size_t len, struct manifest **out) WUR;
void manifest_free(struct manifest *m);

#endif
