/*
 * gitobj: git object encoding and ids, exactly as stock git computes them.
 *
 * A blob id is the hash of "blob <len>\0" followed by the bytes; a tree id is the hash of
 * "tree <len>\0" followed by entries "<octal mode> <name>\0<raw id>", sorted by name bytes
 * as if tree names ended in '/'. Every id is computed twice: SHA-1 trees reference SHA-1
 * ids, SHA-256 trees reference SHA-256 ids. SHA-256 is the seal; SHA-1 is for interop.
 *
 * A tree_builder takes full slash-separated paths of files (never directories: empty
 * directories do not exist in git) in any order and builds the nested trees on finish.
 * Names are raw bytes; a path is checked with gitobj_path_check when it is added.
 */
#ifndef SEALROOM_GITOBJ_H
#define SEALROOM_GITOBJ_H

#include <stddef.h>

#include "err.h"

#define GITOBJ_MODE_FILE 0100644u
#define GITOBJ_MODE_EXEC 0100755u
#define GITOBJ_MODE_LINK 0120000u
#define GITOBJ_MODE_TREE 040000u

/* Both ids of the blob holding (p, len). */
void gitobj_blob_ids(const void *p, size_t len, unsigned char sha1[20], unsigned char sha256[32]);
/* The SHA-256 id alone (what every read from the vault is checked against). */
void gitobj_blob_sha256(const void *p, size_t len, unsigned char sha256[32]);

/* The "blob <len>\0" header of a blob of len bytes into out (at least 32 bytes); returns
 * its length. For hashing a blob in pieces. */
size_t gitobj_blob_header(char out[32], unsigned long long len);

/* 1 when mode is one of the file modes a tree_builder accepts (100644, 100755, 120000). */
int gitobj_mode_ok(unsigned mode);

/*
 * Check that (path, len) is a path git would store, relative to the tree's root:
 * not empty, no leading or trailing '/', no empty, "." or ".." component, no ".git"
 * component in any letter case, no NUL byte. Returns 0 or ERR_HOSTILE with a message
 * naming the path.
 */
int gitobj_path_check(const char *path, size_t len) WUR;

/*
 * Quote (path, len) for a message into out (cap bytes, NUL-terminated, shortened with
 * "..." when too long): printable ASCII is kept, other bytes become \xNN. Returns out.
 */
const char *gitobj_quote(char *out, size_t cap, const char *path, size_t len);

/* Byte order of whole paths, shorter first on a tie: git's index order, which puts every
 * tree's entries in git's tree order. The order of sorted manifests too. */
int gitobj_path_cmp(const char *a, size_t al, const char *b, size_t bl);

struct tree_builder;

struct tree_builder *tree_builder_new(void);
/* Add one file; the path is copied. ERR_HOSTILE for a bad path, ERR_USAGE for a bad mode. */
int tree_builder_add(struct tree_builder *t, const char *path, size_t path_len, unsigned mode,
		     const unsigned char sha1[20], const unsigned char sha256[32]) WUR;
/*
 * Build every tree and write the root's ids. ERR_HOSTILE, naming the path, for a
 * duplicate path or a path that is both a file and a directory ("a" and "a/b").
 * With no file added, the ids are the empty tree's. May be called once.
 */
int tree_builder_finish(struct tree_builder *t, unsigned char root_sha1[20],
			unsigned char root_sha256[32]) WUR;
void tree_builder_free(struct tree_builder *t);

#endif
