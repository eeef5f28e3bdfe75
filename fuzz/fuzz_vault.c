/*
 * fuzz_vault: hostile vault files must give an error, never a crash.
 *
 * Once per process a small real release is written with a fixed data key. Each input then
 * replaces one of its files and the release is opened, checked and read:
 *   byte 0 % 3 == 0: the rest is the index file, raw;
 *   byte 0 % 3 == 1: the rest is pack-000000, raw;
 *   byte 0 % 3 == 2: the rest is n_packs (1 byte), n_meta (1), n_blobs (2, LE), then the
 *                    index plaintext, which is sealed here with the right key and header,
 *                    so that the index parser and vault_check see hostile but authentic
 *                    content (the case of a holder of the data key).
 * Built with -DFUZZ_VAULT_SEEDS it becomes a program that writes one seed of each kind
 * into the folder argv[1] (how fuzz/corpus/fuzz_vault was made).
 */
#include <dirent.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "gitobj.h"
#include "hash.h"
#include "vault.h"

static struct vault_key *key;
static char *root, *dir, *index_path, *pack_path;
static struct buf orig_index, orig_pack;
static const unsigned char raw_key[32] = "fuzz-vault-fixed-key-32-bytes!!!";

static void cleanup(void)
{
	struct buf cmd;
	buf_init(&cmd, 0);
	if (root && buf_addf(&cmd, "rm -rf '%s'", root) == 0 && system(cmd.p) != 0)
		fprintf(stderr, "fuzz_vault: cannot remove %s\n", root);
	buf_release(&cmd);
}

static int write_file(const char *path, const void *p, size_t len)
{
	FILE *f = fopen(path, "wb");
	int ok;
	if (!f)
		return -1;
	ok = fwrite(p, 1, len, f) == len;
	return fclose(f) == 0 && ok ? 0 : -1;
}

static char *join(const char *a, const char *b)
{
	struct buf p;
	buf_init(&p, 0);
	if (buf_addf(&p, "%s/%s", a, b))
		abort();
	return buf_detach(&p, NULL);
}

/* The release every input starts from: five blobs over two packs, one named object. */
static void setup(void)
{
	struct vault_writer *w;
	char tmpl[] = "/tmp/sealroom-fuzz-vault-XXXXXX";
	unsigned char text[700], id[32];
	if (sodium_init() < 0 || !mkdtemp(tmpl))
		abort();
	root = xstrdup(tmpl);
	atexit(cleanup);
	dir = join(root, "f@1");
	index_path = join(dir, "index");
	pack_path = join(dir, "pack-000000");
	if (vault_key_from_bytes(raw_key, &key) || vault_writer_new(root, key, &(struct vault_writer_opts){.pack_max = 300}, &w))
		abort();
	for (unsigned i = 0; i < 5; i++) {
		size_t len = i * 150;
		for (size_t j = 0; j < len; j++)
			text[j] = (unsigned char)("int main(void) { return 0; }\n"[(j + i) % 29]);
		if (i == 2)
			memset(text, 'q', len); /* and one that is all one byte */
		gitobj_blob_sha256(text, len, id);
		if (vault_put(w, id, text, len))
			abort();
	}
	if (vault_put_meta(w, "manifest", "m\n", 2) || vault_commit(w, "f@1"))
		abort();
	buf_init(&orig_index, 0);
	buf_init(&orig_pack, 0);
	if (buf_read_file(&orig_index, index_path) || buf_read_file(&orig_pack, pack_path))
		abort();
}

/* Seal plaintext body p as the index, with the counts given and the setup's header. */
static void write_sealed_index(const uint8_t *p, size_t len, uint32_t n_packs, uint32_t n_meta,
			       uint64_t n_blobs)
{
	size_t total = 80 + len + 16;
	unsigned char *f = xcalloc(1, total);
	memcpy(f, orig_index.p, 32); /* magic, version, cipher, release uid */
	for (int i = 0; i < 4; i++) {
		f[32 + i] = (unsigned char)(n_packs >> (8 * i));
		f[36 + i] = (unsigned char)(n_meta >> (8 * i));
	}
	for (int i = 0; i < 8; i++) {
		f[40 + i] = (unsigned char)(n_blobs >> (8 * i));
		f[48 + i] = (unsigned char)((uint64_t)(len + 16) >> (8 * i));
	}
	if (len)
		memcpy(f + 80, p, len);
	crypto_aead_xchacha20poly1305_ietf_encrypt(f + 80, NULL, f + 80, len, f, 56, NULL, f + 56,
						   raw_key);
	if (write_file(index_path, f, total))
		abort();
	free(f);
}

/* vault_check's callback: count the blobs walked. */
static int count_blob(void *ctx, const unsigned char id[32], const void *p, size_t len)
{
	(*(size_t *)ctx)++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vault *v;
	struct buf out;
	unsigned char id[32] = { 0 };
	size_t n_blobs = 0;
	if (!root)
		setup();
	if (size < 1)
		return 0;
	switch (data[0] % 3) {
	case 0:
		if (write_file(index_path, data + 1, size - 1))
			abort();
		break;
	case 1:
		if (write_file(pack_path, data + 1, size - 1))
			abort();
		break;
	default:
		if (size < 5)
			return 0;
		write_sealed_index(data + 5, size - 5, data[1], data[2],
				   (uint64_t)data[3] | (uint64_t)data[4] << 8);
	}
	if (size > 33)
		memcpy(id, data + size - 32, 32);
	buf_init(&out, 1 << 20);
	if (vault_open(dir, key, &v) == 0) {
		if (vault_get(v, id, &out) == 0)
			buf_reset(&out);
		if (vault_get_meta(v, "manifest", &out) == 0)
			buf_reset(&out);
		if (vault_check(v, count_blob, &n_blobs) == 0 && n_blobs > 5)
			abort(); /* the setup stored five blobs: more cannot authenticate */
		vault_close(v);
	}
	buf_release(&out);
	if (write_file(index_path, orig_index.p, orig_index.len) ||
	    write_file(pack_path, orig_pack.p, orig_pack.len))
		abort();
	return 0;
}

#ifdef FUZZ_VAULT_SEEDS
/* Write one seed of each kind into argv[1]. */
int main(int argc, char **argv)
{
	struct buf s;
	unsigned char *body;
	size_t blen;
	char *p;
	if (argc != 2)
		return 2;
	setup();
	blen = orig_index.len - 96;
	body = xmalloc(blen + 16);
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(body, NULL, NULL,
						       (unsigned char *)orig_index.p + 80, blen + 16,
						       (unsigned char *)orig_index.p, 56,
						       (unsigned char *)orig_index.p + 56, raw_key))
		return 1;
	buf_init(&s, 0);
	if (buf_addch(&s, 0) || buf_add(&s, orig_index.p, orig_index.len))
		return 1;
	p = join(argv[1], "index-raw");
	if (write_file(p, s.p, s.len))
		return 1;
	free(p);
	buf_reset(&s);
	if (buf_addch(&s, 1) || buf_add(&s, orig_pack.p, orig_pack.len))
		return 1;
	p = join(argv[1], "pack-raw");
	if (write_file(p, s.p, s.len))
		return 1;
	free(p);
	buf_reset(&s);
	if (buf_addch(&s, 2) || buf_add(&s, orig_index.p + 32, 1) ||
	    buf_add(&s, orig_index.p + 36, 1) || buf_add(&s, orig_index.p + 40, 2) ||
	    buf_add(&s, body, blen))
		return 1;
	p = join(argv[1], "index-plain");
	if (write_file(p, s.p, s.len))
		return 1;
	free(p);
	buf_release(&s);
	free(body);
	return 0;
}
#endif
