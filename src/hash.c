/* hash: thin wrappers over libcrypto's EVP digests. */
#include <openssl/evp.h>
#include <stdlib.h>

#include "hash.h"

struct hash {
	EVP_MD_CTX *ctx;
	const EVP_MD *md;
};

static const EVP_MD *md_of(enum hash_algo algo)
{
	return algo == HASH_SHA1 ? EVP_sha1() : EVP_sha256();
}

struct hash *hash_new(enum hash_algo algo)
{
	struct hash *h = xcalloc(1, sizeof(*h));
	h->ctx = EVP_MD_CTX_new();
	h->md = md_of(algo);
	if (!h->ctx || !EVP_DigestInit_ex(h->ctx, h->md, NULL))
		BUG("EVP_DigestInit_ex failed");
	return h;
}

void hash_update(struct hash *h, const void *p, size_t len)
{
	if (!EVP_DigestUpdate(h->ctx, p, len))
		BUG("EVP_DigestUpdate failed");
}

void hash_final(struct hash *h, unsigned char *out)
{
	if (!EVP_DigestFinal_ex(h->ctx, out, NULL) || !EVP_DigestInit_ex(h->ctx, h->md, NULL))
		BUG("EVP_DigestFinal_ex failed");
}

void hash_free(struct hash *h)
{
	if (!h)
		return;
	EVP_MD_CTX_free(h->ctx);
	free(h);
}

void sha256(const void *p, size_t len, unsigned char out[SHA256_LEN])
{
	if (!EVP_Digest(p, len, out, NULL, EVP_sha256(), NULL))
		BUG("EVP_Digest failed");
}
