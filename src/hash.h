/*
 * hash: SHA-1 and SHA-256 through OpenSSL's libcrypto (SHA-NI where the CPU has it).
 *
 * SHA-256 is the trusted hash everywhere (seal, log, ids); SHA-1 exists only to give git's
 * classic ids for interop and is never trusted alone. Incremental contexts are heap objects
 * owned by the caller (hash_new / hash_free).
 */
#ifndef SEALROOM_HASH_H
#define SEALROOM_HASH_H

#include <stddef.h>

#include "err.h"

#define SHA1_LEN 20
#define SHA256_LEN 32

enum hash_algo { HASH_SHA1, HASH_SHA256 };

struct hash;

struct hash *hash_new(enum hash_algo algo);
void hash_update(struct hash *h, const void *p, size_t len);
/* Write the digest (20 or 32 bytes) and reset the context for reuse. */
void hash_final(struct hash *h, unsigned char *out);
void hash_free(struct hash *h);

void sha256(const void *p, size_t len, unsigned char out[SHA256_LEN]);

#endif
