/*
 * Unit tests: vault (key wrapping, round trips, tamper detection at every byte, commit
 * atomicity, sweeping, concurrent writers).
 */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include "gitobj.h"
#include "hash.h"
#include "vault.h"
#include "test.h"

static const unsigned char raw_key[VAULT_KEY_LEN] = "0123456789abcdef0123456789abcdef";

static char *tmpdir(void)
{
	char *d = xstrdup("/tmp/sealroom-test-vault-XXXXXX");
	if (!mkdtemp(d))
		BUG("mkdtemp");
	return d;
}

static void rmtree(const char *d)
{
	struct buf cmd;
	buf_init(&cmd, 0);
	if (buf_addf(&cmd, "rm -rf '%s'", d) == 0 && system(cmd.p) != 0)
		fprintf(stderr, "cannot remove %s\n", d);
	buf_release(&cmd);
}

static char *join(const char *a, const char *b)
{
	struct buf p;
	buf_init(&p, 0);
	if (buf_addf(&p, "%s/%s", a, b))
		BUG("join");
	return buf_detach(&p, NULL);
}

static int exists(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0;
}

static size_t count_entries(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;
	if (!d)
		return 0;
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, prefix, strlen(prefix)))
			n++;
	closedir(d);
	return n;
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

static void fill_text(unsigned char *p, size_t len, unsigned seed)
{
	static const char words[] = "static int vault_put(struct vault_writer *w) { return 0; }\n";
	for (size_t i = 0; i < len; i++)
		p[i] = (unsigned char)words[(i + seed) % (sizeof(words) - 1)];
	if (len)
		p[len / 2] = (unsigned char)seed;
}

/* id = SHA-256 of the data, as the verifier will re-hash it */
static int put_data(struct vault_writer *w, const void *p, size_t len, unsigned char id[32])
{
	gitobj_blob_sha256(p, len, id);
	return vault_put(w, id, p, len);
}

static int cb_rehash(void *ctx, const unsigned char id[32], const void *p, size_t len)
{
	unsigned char h[32];
	size_t *n = ctx;
	gitobj_blob_sha256(p, len, h);
	if (memcmp(h, id, 32) != 0)
		return err_set(ERR_CORRUPT, "test: object does not hash to its id");
	(*n)++;
	return 0;
}

/*
 * A small vault of two packs: an empty blob, text blobs, two incompressible blobs of equal
 * size (ids in ids[1], ids[2]), and a named object. Returns the release folder.
 */
static char *small_vault(const char *root, const struct vault_key *k, unsigned char ids[5][32])
{
	struct vault_writer *w;
	unsigned char text[600], rnd1[100], rnd2[100];
	char *dir = join(root, "p@1");
	randombytes_buf(rnd1, sizeof(rnd1));
	randombytes_buf(rnd2, sizeof(rnd2));
	fill_text(text, sizeof(text), 7);
	if (vault_writer_new(root, k, &(struct vault_writer_opts){.pack_max = 400}, &w))
		BUG("writer: %s", err_msg());
	if (put_data(w, "", 0, ids[0]) || put_data(w, rnd1, sizeof(rnd1), ids[1]) ||
	    put_data(w, rnd2, sizeof(rnd2), ids[2]) || put_data(w, text, sizeof(text), ids[3]) ||
	    put_data(w, text, 300, ids[4]) || vault_put_meta(w, "manifest", "m1\n", 3) ||
	    vault_commit(w, "p@1"))
		BUG("small vault: %s", err_msg());
	return dir;
}

static int open_check(const char *dir, const struct vault_key *k)
{
	struct vault *v;
	size_t n = 0;
	int r = vault_open(dir, k, &v);
	if (r)
		return r;
	r = vault_check(v, cb_rehash, &n);
	vault_close(v);
	return r;
}

TEST(wrap_unwrap)
{
	unsigned char pk[32], sk[32], pk2[32], sk2[32], box[VAULT_SEALED_KEY_LEN];
	struct vault_key *k, *k2 = NULL, *k3 = NULL;
	struct buf wr;
	char *root = tmpdir(), *dir;
	unsigned char ids[5][32];
	crypto_box_keypair(pk, sk);
	crypto_box_keypair(pk2, sk2);
	buf_init(&wr, 0);
	CHECK(vault_key_new(&k) == 0);
	CHECK(vault_key_wrap(k, pk, &wr) == 0);
	CHECK(wr.len == VAULT_WRAPPED_LEN);
	CHECK(vault_key_unwrap(wr.p, wr.len, pk, sk, &k2) == 0);
	/* the unwrapped key opens what the original sealed */
	dir = small_vault(root, k, ids);
	CHECK(open_check(dir, k2) == 0);
	/* wrong wrapping key */
	CHECK(vault_key_unwrap(wr.p, wr.len, pk2, sk2, &k3) == ERR_AUTH);
	CHECK(strstr(err_msg(), "another wrapping key") != NULL);
	CHECK(k3 == NULL);
	/* the right key id, the wrong secret */
	CHECK(vault_key_unwrap(wr.p, wr.len, pk, sk2, &k3) == ERR_AUTH && k3 == NULL);
	/* truncated */
	CHECK(vault_key_unwrap(wr.p, wr.len - 1, pk, sk, &k3) == ERR_AUTH);
	CHECK(strstr(err_msg(), "truncated") != NULL);
	CHECK(vault_key_unwrap(wr.p, 0, pk, sk, &k3) == ERR_AUTH);
	/* damaged at every byte */
	for (size_t i = 0; i < wr.len; i++) {
		wr.p[i] ^= 0x20;
		CHECK(vault_key_unwrap(wr.p, wr.len, pk, sk, &k3) == ERR_AUTH);
		CHECK(strstr(err_msg(), "wrapped") != NULL || strstr(err_msg(), "wrapping key"));
		wr.p[i] ^= 0x20;
	}
	/* sealed to a one-time key: opens with that pair only, and not when damaged */
	CHECK(vault_key_seal_to(k, pk2, box) == 0);
	CHECK(vault_key_open_from(box, pk, sk, &k3) == ERR_AUTH && k3 == NULL);
	box[40] ^= 1;
	CHECK(vault_key_open_from(box, pk2, sk2, &k3) == ERR_AUTH && k3 == NULL);
	box[40] ^= 1;
	CHECK(vault_key_open_from(box, pk2, sk2, &k3) == 0);
	CHECK(open_check(dir, k3) == 0);
	/* a different data key cannot open the vault */
	vault_key_free(k3);
	CHECK(vault_key_new(&k3) == 0);
	CHECK(open_check(dir, k3) == ERR_AUTH);
	CHECK(strstr(err_msg(), "index") != NULL);
	vault_key_free(k);
	vault_key_free(k2);
	vault_key_free(k3);
	buf_release(&wr);
	rmtree(root);
	free(root);
	free(dir);
}

TEST(round_trip_many)
{
	struct vault_key *k;
	struct vault_writer *w;
	struct vault *v;
	char *root = tmpdir(), *dir = join(root, "many@1");
	size_t big = 10u << 20, n_seen = 0, n = 1500;
	unsigned char *text = xmalloc(big), *rnd = xmalloc(big);
	unsigned char (*ids)[32] = xcalloc(n, 32), big_id[32], rnd_id[32], empty_id[32];
	struct buf out;
	buf_init(&out, 0);
	fill_text(text, big, 3);
	randombytes_buf(rnd, big);
	CHECK(vault_key_new(&k) == 0);
	CHECK(vault_writer_new(root, k, &(struct vault_writer_opts){.pack_max = 1 << 20}, &w) == 0);
	for (size_t i = 0; i < n; i++) {
		size_t len = (i * 7919) % 5000;
		CHECK(put_data(w, text + i, len, ids[i]) == 0);
	}
	CHECK(put_data(w, text, big, big_id) == 0);
	CHECK(put_data(w, rnd, big, rnd_id) == 0);
	{
		/* a record past the size a worker keeps its buffer at */
		size_t huge = 17u << 20;
		unsigned char *h = xmalloc(huge), hid[32];
		struct vault *hv;
		struct vault_writer *hw;
		char *hdir = join(root, "huge@1");
		fill_text(h, huge, 9);
		CHECK(vault_writer_new(root, k, NULL, &hw) == 0);
		CHECK(put_data(hw, h, huge, hid) == 0);
		CHECK(put_data(hw, h, 100, hid) == 0);
		CHECK(vault_commit(hw, "huge@1") == 0);
		CHECK(vault_open(hdir, k, &hv) == 0);
		buf_reset(&out);
		fill_text(h, huge, 9);
		gitobj_blob_sha256(h, huge, hid);
		CHECK(vault_get(hv, hid, &out) == 0 && out.len == huge && !memcmp(out.p, h, huge));
		vault_close(hv);
		free(hdir);
		free(h);
	}
	CHECK(put_data(w, "", 0, empty_id) == 0);
	/* duplicates are stored once */
	CHECK(put_data(w, text, big, big_id) == 0);
	CHECK(put_data(w, text + 5, (5 * 7919) % 5000, ids[5]) == 0);
	CHECK(vault_put(w, ids[0], "x", VAULT_OBJECT_MAX + 1) == ERR_TOOBIG);
	CHECK(vault_put_meta(w, "manifest", "hello", 5) == 0);
	CHECK(vault_put_meta(w, "manifest", "again", 5) == ERR_EXISTS);
	CHECK(vault_put_meta(w, "", "x", 1) == ERR_USAGE);
	CHECK(vault_put_meta(w, "symbols", "", 0) == 0);
	CHECK(vault_commit(w, "many@1") == 0);
	CHECK(count_entries(root, ".tmp-") == 0);
	CHECK(count_entries(dir, "pack-") >= 2);

	CHECK(vault_open(dir, k, &v) == 0);
	for (size_t i = 0; i < n; i++) {
		size_t len = (i * 7919) % 5000;
		buf_reset(&out);
		CHECK(vault_get(v, ids[i], &out) == 0);
		CHECK(out.len == len && !memcmp(out.p, text + i, len));
	}
	buf_reset(&out);
	CHECK(vault_get(v, big_id, &out) == 0 && out.len == big && !memcmp(out.p, text, big));
	buf_reset(&out);
	CHECK(vault_get(v, rnd_id, &out) == 0 && out.len == big && !memcmp(out.p, rnd, big));
	buf_reset(&out);
	CHECK(vault_get(v, empty_id, &out) == 0 && out.len == 0);
	buf_reset(&out);
	CHECK(vault_get_meta(v, "manifest", &out) == 0 && out.len == 5 && !memcmp(out.p, "hello", 5));
	buf_reset(&out);
	CHECK(vault_get_meta(v, "symbols", &out) == 0 && out.len == 0);
	CHECK(vault_get_meta(v, "nope", &out) == ERR_NOTFOUND);
	CHECK(strstr(err_msg(), "'nope'") != NULL);
	big_id[0] ^= 1;
	CHECK(vault_get(v, big_id, &out) == ERR_NOTFOUND);
	CHECK(strstr(err_msg(), "object '") != NULL);
	big_id[0] ^= 1;
	{
		/* output cap at the limit and one past it */
		struct buf capped;
		buf_init(&capped, big);
		CHECK(vault_get(v, big_id, &capped) == 0);
		buf_release(&capped);
		buf_init(&capped, big - 1);
		CHECK(vault_get(v, big_id, &capped) == ERR_TOOBIG);
		buf_release(&capped);
	}
	/* ids 0 and the empty blob share an id: 1500 texts (id 0 is empty) + big + rnd */
	CHECK(vault_check(v, cb_rehash, &n_seen) == 0);
	CHECK(n_seen == n + 2);
	vault_close(v);
	vault_key_free(k);
	buf_release(&out);
	free(text);
	free(rnd);
	free(ids);
	rmtree(root);
	free(root);
	free(dir);
}

/* The central test: one flipped byte anywhere in any file is found, naming what. */
TEST(flip_every_byte)
{
	struct vault_key *k;
	char *root = tmpdir(), *dir;
	unsigned char ids[5][32];
	const char *files[] = { "index", "pack-000000", "pack-000001", "pack-000002", NULL };
	size_t total = 0, named_obj = 0;
	CHECK(vault_key_new(&k) == 0);
	dir = small_vault(root, k, ids);
	CHECK(open_check(dir, k) == 0);
	CHECK(count_entries(dir, "pack-") >= 2);
	for (int f = 0; files[f]; f++) {
		char *p = join(dir, files[f]);
		struct buf orig;
		if (!exists(p)) {
			free(p);
			continue;
		}
		buf_init(&orig, 0);
		CHECK(buf_read_file(&orig, p) == 0);
		for (size_t i = 0; i < orig.len; i++) {
			int r;
			orig.p[i] ^= 0x01;
			CHECK(write_file(p, orig.p, orig.len) == 0);
			r = open_check(dir, k);
			if (r == 0)
				fprintf(stderr, "undetected flip in %s at %zu\n", files[f], i);
			CHECK(r == ERR_AUTH || r == ERR_CORRUPT);
			CHECK(strstr(err_msg(), "object '") || strstr(err_msg(), files[f]));
			named_obj += strstr(err_msg(), "object '") != NULL;
			orig.p[i] ^= 0x01;
			total++;
		}
		CHECK(write_file(p, orig.p, orig.len) == 0);
		buf_release(&orig);
		free(p);
	}
	CHECK(total > 1000);
	CHECK(named_obj > 500);
	CHECK(open_check(dir, k) == 0);
	vault_key_free(k);
	rmtree(root);
	free(root);
	free(dir);
}

TEST(missing_truncated_stray)
{
	struct vault_key *k;
	char *root = tmpdir(), *dir, *p1, *idx, *junk;
	unsigned char ids[5][32];
	struct buf b, save;
	struct vault *v;
	CHECK(vault_key_new(&k) == 0);
	dir = small_vault(root, k, ids);
	p1 = join(dir, "pack-000001");
	idx = join(dir, "index");
	junk = join(dir, "junk");
	buf_init(&b, 0);
	buf_init(&save, 0);
	/* a missing pack */
	CHECK(buf_read_file(&save, p1) == 0);
	CHECK(unlink(p1) == 0);
	CHECK(vault_open(dir, k, &v) == ERR_CORRUPT);
	CHECK(strstr(err_msg(), "pack-000001") && strstr(err_msg(), "missing"));
	/* a pack with a byte appended, then one byte short */
	CHECK(buf_add(&save, "x", 1) == 0);
	CHECK(write_file(p1, save.p, save.len) == 0);
	CHECK(vault_open(dir, k, &v) == ERR_CORRUPT);
	CHECK(strstr(err_msg(), "pack-000001") != NULL);
	CHECK(write_file(p1, save.p, save.len - 2) == 0);
	CHECK(vault_open(dir, k, &v) == ERR_CORRUPT);
	CHECK(write_file(p1, save.p, save.len - 1) == 0);
	CHECK(open_check(dir, k) == 0);
	/* a truncated index, at every length */
	CHECK(buf_read_file(&b, idx) == 0);
	for (size_t len = 0; len < b.len; len++) {
		CHECK(write_file(idx, b.p, len) == 0);
		CHECK(vault_open(dir, k, &v) == ERR_CORRUPT);
		CHECK(strstr(err_msg(), "index") != NULL);
	}
	CHECK(unlink(idx) == 0);
	CHECK(vault_open(dir, k, &v) == ERR_CORRUPT);
	CHECK(strstr(err_msg(), "index") && strstr(err_msg(), "missing"));
	CHECK(write_file(idx, b.p, b.len) == 0);
	/* a stray file */
	CHECK(write_file(junk, "x", 1) == 0);
	CHECK(open_check(dir, k) == ERR_CORRUPT);
	CHECK(strstr(err_msg(), "'junk'") != NULL);
	CHECK(unlink(junk) == 0);
	CHECK(open_check(dir, k) == 0);
	/* a folder that is not there */
	CHECK(vault_open(junk, k, &v) == ERR_NOTFOUND);
	vault_key_free(k);
	buf_release(&b);
	buf_release(&save);
	rmtree(root);
	free(root);
	free(dir);
	free(p1);
	free(idx);
	free(junk);
}

/*
 * Rewrite the index with a valid tag after edit() changed its plaintext, as someone holding
 * the data key could: the structure checks must hold on their own.
 */
static void reseal_index(const char *dir, const unsigned char key[32],
			 void (*edit)(unsigned char *body, size_t len, void *ctx), void *ctx)
{
	char *idx = join(dir, "index");
	struct buf b;
	size_t blen;
	buf_init(&b, 0);
	if (buf_read_file(&b, idx) || b.len < 96)
		BUG("read index");
	blen = b.len - 80 - 16;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt((unsigned char *)b.p + 80, NULL, NULL,
						       (unsigned char *)b.p + 80, blen + 16,
						       (unsigned char *)b.p, 56,
						       (unsigned char *)b.p + 56, key))
		BUG("decrypt index");
	edit((unsigned char *)b.p + 80, blen, ctx);
	crypto_aead_xchacha20poly1305_ietf_encrypt((unsigned char *)b.p + 80, NULL,
						   (unsigned char *)b.p + 80, blen,
						   (unsigned char *)b.p, 56, NULL,
						   (unsigned char *)b.p + 56, key);
	if (write_file(idx, b.p, b.len))
		BUG("write index");
	buf_release(&b);
	free(idx);
}

static uint32_t n_packs_of(const char *dir)
{
	return (uint32_t)count_entries(dir, "pack-");
}

struct edit_ctx {
	uint32_t n_packs;
	size_t a, b; /* blob entry numbers */
	uint64_t value;
};

static void edit_offset(unsigned char *body, size_t len, void *ctx)
{
	struct edit_ctx *e = ctx;
	unsigned char *ent = body + e->n_packs * 8 + e->a * 64;
	for (int i = 0; i < 8; i++)
		ent[40 + i] = (unsigned char)(e->value >> (8 * i));
}

static void edit_swap(unsigned char *body, size_t len, void *ctx)
{
	struct edit_ctx *e = ctx;
	unsigned char *x = body + e->n_packs * 8 + e->a * 64, *y = body + e->n_packs * 8 + e->b * 64;
	unsigned char t[32];
	/* swap where the two objects live, keep the ids */
	memcpy(t, x + 32, 32);
	memcpy(x + 32, y + 32, 32);
	memcpy(y + 32, t, 32);
}

static void edit_order(unsigned char *body, size_t len, void *ctx)
{
	struct edit_ctx *e = ctx;
	unsigned char *x = body + e->n_packs * 8, t[64];
	memcpy(t, x, 64);
	memcpy(x, x + 64, 64);
	memcpy(x + 64, t, 64);
}

TEST(index_entries_and_swaps)
{
	struct vault_key *k;
	char *root = tmpdir(), *dir, *idx;
	unsigned char ids[5][32];
	struct buf save, out;
	struct vault *v;
	struct edit_ctx e;
	CHECK(vault_key_from_bytes(raw_key, &k) == 0);
	dir = small_vault(root, k, ids);
	idx = join(dir, "index");
	buf_init(&save, 0);
	buf_init(&out, 0);
	CHECK(buf_read_file(&save, idx) == 0);
	e.n_packs = n_packs_of(dir);
	/* an entry pointing past the end of its pack */
	e.a = 1;
	e.value = 1u << 30;
	reseal_index(dir, raw_key, edit_offset, &e);
	CHECK(vault_open(dir, k, &v) == ERR_CORRUPT);
	CHECK(strstr(err_msg(), "past the end") && strstr(err_msg(), "object '"));
	e.value = UINT64_MAX - 3;
	CHECK(write_file(idx, save.p, save.len) == 0);
	reseal_index(dir, raw_key, edit_offset, &e);
	CHECK(vault_open(dir, k, &v) == ERR_CORRUPT);
	/* entries out of order */
	CHECK(write_file(idx, save.p, save.len) == 0);
	reseal_index(dir, raw_key, edit_order, &e);
	CHECK(vault_open(dir, k, &v) == ERR_CORRUPT);
	CHECK(strstr(err_msg(), "out of order") != NULL);
	/* two entries' locations swapped: each object's tag binds its id */
	CHECK(write_file(idx, save.p, save.len) == 0);
	e.a = 0;
	e.b = 3;
	reseal_index(dir, raw_key, edit_swap, &e);
	CHECK(open_check(dir, k) != 0);
	CHECK(strstr(err_msg(), "object '") != NULL);
	CHECK(write_file(idx, save.p, save.len) == 0);
	CHECK(open_check(dir, k) == 0);
	vault_key_free(k);
	buf_release(&save);
	buf_release(&out);
	rmtree(root);
	free(root);
	free(dir);
	free(idx);
}

/* Swap the bytes of two same-sized records inside the packs. */
TEST(swapped_records)
{
	struct vault_key *k;
	struct vault *v;
	char *root = tmpdir(), *dir, hex[65];
	unsigned char ids[5][32], rec1[140], rec2[140];
	struct buf out, pack;
	size_t at1 = 0, at2 = 0;
	int f;
	CHECK(vault_key_new(&k) == 0);
	dir = small_vault(root, k, ids);
	buf_init(&out, 0);
	buf_init(&pack, 0);
	/* the two 100-byte random blobs are stored raw: 140-byte records, the 2nd and 3rd
	 * put, right after the empty blob's 40-byte record in the first pack */
	{
		char *p0 = join(dir, "pack-000000");
		CHECK(buf_read_file(&pack, p0) == 0);
		CHECK(pack.len == 64 + 40 + 140 + 140);
		at1 = 64 + 40;
		at2 = at1 + 140;
		memcpy(rec1, pack.p + at1, 140);
		memcpy(rec2, pack.p + at2, 140);
		memcpy(pack.p + at1, rec2, 140);
		memcpy(pack.p + at2, rec1, 140);
		CHECK(write_file(p0, pack.p, pack.len) == 0);
		free(p0);
	}
	CHECK(vault_open(dir, k, &v) == 0);
	f = vault_get(v, ids[1], &out);
	CHECK(f == ERR_AUTH);
	hex_encode(hex, ids[1], 32);
	CHECK(strstr(err_msg(), hex) != NULL);
	CHECK(vault_check(v, NULL, NULL) == ERR_AUTH);
	CHECK(strstr(err_msg(), "object '") != NULL);
	vault_close(v);
	vault_key_free(k);
	buf_release(&out);
	buf_release(&pack);
	rmtree(root);
	free(root);
	free(dir);
}

/* Set the times of every .tmp-* folder under root, and of its files, back by secs. */
static int age_tmp_folders(const char *root, long secs)
{
	DIR *d = opendir(root), *sub;
	struct dirent *e, *f;
	struct timespec ts[2];
	int r = 0;
	if (!d)
		return -1;
	clock_gettime(CLOCK_REALTIME, &ts[0]);
	ts[0].tv_sec -= secs;
	ts[1] = ts[0];
	while ((e = readdir(d))) {
		char *p;
		if (strncmp(e->d_name, ".tmp-", 5))
			continue;
		p = join(root, e->d_name);
		if ((sub = opendir(p))) {
			while ((f = readdir(sub)))
				if (f->d_name[0] != '.')
					r |= utimensat(dirfd(sub), f->d_name, ts, 0);
			closedir(sub);
		}
		r |= utimensat(AT_FDCWD, p, ts, 0);
		free(p);
	}
	closedir(d);
	return r;
}

TEST(commit_atomicity_and_sweep)
{
	struct vault_key *k;
	struct vault_writer *w;
	char *root = tmpdir(), *dir = join(root, "r@1");
	unsigned char id[32];
	pid_t pid;
	int st;
	CHECK(vault_key_new(&k) == 0);
	/* abort: nothing left */
	CHECK(vault_writer_new(root, k, NULL, &w) == 0);
	CHECK(put_data(w, "abc", 3, id) == 0);
	CHECK(count_entries(root, ".tmp-") == 1);
	vault_writer_abort(w);
	CHECK(count_entries(root, ".tmp-") == 0);
	CHECK(!exists(dir));
	/* the writer's options at their limits and one past */
	CHECK(vault_writer_new(root, k, &(struct vault_writer_opts){.pack_max = VAULT_PACK_MAX}, &w) == 0);
	vault_writer_abort(w);
	w = NULL;
	CHECK(vault_writer_new(root, k, &(struct vault_writer_opts){.pack_max = VAULT_PACK_MAX + 1}, &w) == ERR_USAGE);
	CHECK(w == NULL && strstr(err_msg(), "past the 268435456-byte limit") != NULL);
	CHECK(vault_writer_new(root, k, &(struct vault_writer_opts){.zstd_level = ZSTD_maxCLevel()}, &w) == 0);
	vault_writer_abort(w);
	w = NULL;
	CHECK(vault_writer_new(root, k, &(struct vault_writer_opts){.zstd_level = ZSTD_maxCLevel() + 1}, &w) == ERR_USAGE);
	CHECK(w == NULL && strstr(err_msg(), "out of range") != NULL);
	CHECK(count_entries(root, ".tmp-") == 0);
	/* a crash before the rename: a child writes and dies */
	pid = fork();
	if (pid == 0) {
		struct vault_writer *cw;
		if (vault_writer_new(root, k, NULL, &cw) || put_data(cw, "abc", 3, id))
			_exit(1);
		_exit(0);
	}
	CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK(count_entries(root, ".tmp-") == 1);
	CHECK(!exists(dir));
	/* a live writer's folder stays; the dead one's goes */
	CHECK(vault_writer_new(root, k, NULL, &w) == 0);
	CHECK(put_data(w, "abc", 3, id) == 0);
	CHECK(vault_sweep(root) == 0);
	CHECK(count_entries(root, ".tmp-") == 1);
	CHECK(vault_commit(w, "r@1") == 0);
	CHECK(count_entries(root, ".tmp-") == 0);
	CHECK(open_check(dir, k) == 0);
	/* an existing name */
	CHECK(vault_writer_new(root, k, NULL, &w) == 0);
	CHECK(put_data(w, "abcd", 4, id) == 0);
	CHECK(vault_commit(w, "r@1") == ERR_EXISTS);
	CHECK(strstr(err_msg(), "r@1") != NULL);
	CHECK(count_entries(root, ".tmp-") == 0);
	/* names that would escape or hide */
	CHECK(vault_writer_new(root, k, NULL, &w) == 0);
	CHECK(vault_commit(w, "../x") == ERR_USAGE);
	CHECK(vault_writer_new(root, k, NULL, &w) == 0);
	CHECK(vault_commit(w, ".tmp-1-x") == ERR_USAGE);
	CHECK(count_entries(root, ".tmp-") == 0);
	/* an empty release is fine */
	CHECK(vault_writer_new(root, k, NULL, &w) == 0);
	CHECK(vault_commit(w, "empty@1") == 0);
	{
		char *e = join(root, "empty@1");
		struct vault *v;
		size_t n = 0;
		CHECK(vault_open(e, k, &v) == 0);
		CHECK(vault_check(v, cb_rehash, &n) == 0 && n == 0);
		vault_close(v);
		free(e);
	}
	/* a live writer idle for longer than VAULT_SWEEP_IDLE is swept too */
	CHECK(vault_writer_new(root, k, NULL, &w) == 0);
	CHECK(put_data(w, "idle", 4, id) == 0);
	CHECK(age_tmp_folders(root, VAULT_SWEEP_IDLE + 60) == 0);
	CHECK(vault_sweep(root) == 0);
	CHECK(count_entries(root, ".tmp-") == 0);
	vault_writer_abort(w);
	/* a folder that is not a writer's is left alone unless idle */
	{
		char *odd = join(root, ".tmp-odd");
		CHECK(mkdir(odd, 0700) == 0);
		CHECK(vault_sweep(root) == 0);
		CHECK(exists(odd));
		CHECK(age_tmp_folders(root, VAULT_SWEEP_IDLE + 60) == 0);
		CHECK(vault_sweep(root) == 0);
		CHECK(!exists(odd));
		free(odd);
	}
	CHECK(vault_sweep("/nonexistent/sealroom-vault") == 0);
	/* remove */
	CHECK(vault_remove(root, "r@1") == 0);
	CHECK(!exists(dir));
	CHECK(count_entries(root, ".tmp-") == 0);
	CHECK(vault_remove(root, "r@1") == ERR_NOTFOUND);
	CHECK(vault_remove(root, "..") == ERR_USAGE);
	vault_key_free(k);
	rmtree(root);
	free(root);
	free(dir);
}

struct worker {
	struct vault_writer *w;
	unsigned seed;
	int failed;
};

#define PER_THREAD 600

static void *worker_main(void *arg)
{
	struct worker *t = arg;
	unsigned char buf[3000], id[32];
	for (unsigned i = 0; i < PER_THREAD; i++) {
		/* half the objects are shared by all threads: duplicates across threads */
		unsigned n = i % 2 ? i : t->seed * 100000 + i;
		size_t len = (n * 31) % sizeof(buf);
		fill_text(buf, len, n);
		if (put_data(t->w, buf, len, id))
			t->failed = 1;
	}
	return NULL;
}

struct reader {
	struct vault *v;
	unsigned char (*ids)[32];
	size_t n;
	int failed;
};

static int cb_collect(void *ctx, const unsigned char id[32], const void *p, size_t len)
{
	struct reader *r = ctx;
	memcpy(r->ids[r->n++], id, 32);
	return 0;
}

/* Each reader gets every blob, in its own order, and re-hashes it. */
static void *reader_main(void *arg)
{
	struct reader *r = arg;
	struct buf out;
	unsigned char h[32];
	buf_init(&out, 0);
	for (size_t j = 0; j < r->n; j++) {
		size_t i = (j * 7 + (size_t)r->failed) % r->n;
		buf_reset(&out);
		if (vault_get(r->v, r->ids[i], &out)) {
			r->failed = -1;
			break;
		}
		gitobj_blob_sha256(out.p, out.len, h);
		if (memcmp(h, r->ids[i], 32)) {
			r->failed = -1;
			break;
		}
	}
	buf_release(&out);
	return NULL;
}

TEST(concurrent_put)
{
	struct vault_key *k;
	struct vault_writer *w;
	struct vault *v;
	struct worker t[4];
	pthread_t th[4];
	char *root = tmpdir(), *dir = join(root, "c@1");
	size_t seen = 0;
	CHECK(vault_key_new(&k) == 0);
	CHECK(vault_writer_new(root, k, &(struct vault_writer_opts){.zstd_level = 1, .pack_max = 64 << 10}, &w) == 0);
	for (unsigned i = 0; i < 4; i++) {
		t[i].w = w;
		t[i].seed = i + 1;
		t[i].failed = 0;
		CHECK(pthread_create(&th[i], NULL, worker_main, &t[i]) == 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		CHECK(!t[i].failed);
	}
	CHECK(vault_commit(w, "c@1") == 0);
	CHECK(vault_open(dir, k, &v) == 0);
	/* distinct ids: 4 x 300 per-thread + 300 shared, less any same-content collisions */
	CHECK(vault_check(v, cb_rehash, &seen) == 0);
	CHECK(seen > 1400 && seen <= 1500);
	{
		/* four readers share the one struct vault */
		struct reader all = { v, xcalloc(seen, 32), 0, 0 }, rd[4];
		CHECK(vault_check(v, cb_collect, &all) == 0 && all.n == seen);
		for (int i = 0; i < 4; i++) {
			rd[i] = all;
			rd[i].failed = i; /* the start offset; -1 on failure */
			CHECK(pthread_create(&th[i], NULL, reader_main, &rd[i]) == 0);
		}
		for (int i = 0; i < 4; i++) {
			pthread_join(th[i], NULL);
			CHECK(rd[i].failed != -1);
		}
		free(all.ids);
	}
	vault_close(v);
	vault_key_free(k);
	rmtree(root);
	free(root);
	free(dir);
}

/*
 * Read every blob of dir with vault_get_many alone, in storage order, and compare with
 * ref (their texts as vault_get read them from the undamaged vault).
 */
static int many_check(const char *dir, const struct vault_key *k, unsigned char ids[5][32],
		      const struct buf ref[5])
{
	struct vault *v;
	struct vault_reader *rd;
	struct vault_want w[5];
	unsigned char dst[5][600];
	uint64_t pos[5];
	size_t bad, ord[5] = {0, 1, 2, 3, 4};
	int r = vault_open(dir, k, &v);
	if (r)
		return r;
	for (int i = 0; i < 5 && !r; i++)
		r = vault_blob_pos(v, ids[i], &pos[i]);
	for (int i = 1; i < 5; i++) /* insertion sort by position */
		for (int j = i; j > 0 && pos[ord[j]] < pos[ord[j - 1]]; j--) {
			size_t t = ord[j];
			ord[j] = ord[j - 1];
			ord[j - 1] = t;
		}
	for (int i = 0; i < 5; i++)
		w[i] = (struct vault_want){ids[ord[i]], dst[i], ref[ord[i]].len};
	rd = vault_reader_new(v);
	if (!r && !(r = vault_get_many(rd, w, 5, &bad)))
		for (int i = 0; i < 5; i++)
			if (memcmp(ref[ord[i]].p, dst[i], w[i].len))
				r = err_set(ERR_CORRUPT, "test: vault_get_many read another text");
	vault_reader_free(rd);
	vault_close(v);
	return r;
}

/*
 * The loader's reader: blobs in storage order, any order, a wrong length, an unknown id,
 * a text stored under another text's id, and a flipped byte anywhere in a pack.
 */
TEST(get_many)
{
	struct vault_key *k;
	struct vault_writer *w;
	struct vault *v;
	struct vault_reader *rd;
	char *root = tmpdir(), *dir, *p;
	unsigned char ids[5][32], lie[32], dst[600], unknown[32] = {7};
	struct vault_want want[3];
	struct buf orig, ref[5];
	size_t bad, caught = 0;
	CHECK(vault_key_new(&k) == 0);
	dir = small_vault(root, k, ids);
	CHECK(vault_open(dir, k, &v) == 0);
	for (int i = 0; i < 5; i++) {
		buf_init(&ref[i], 0);
		CHECK(vault_get(v, ids[i], &ref[i]) == 0);
	}
	vault_close(v);
	CHECK(many_check(dir, k, ids, ref) == 0);
	CHECK(vault_open(dir, k, &v) == 0);
	rd = vault_reader_new(v);
	/* out of storage order, each still found */
	want[0] = (struct vault_want){ids[4], dst, 300};
	want[1] = (struct vault_want){ids[0], dst + 300, 0};
	want[2] = (struct vault_want){ids[3], dst, 600};
	CHECK(vault_get_many(rd, want, 3, &bad) == 0 && bad == 3);
	want[1].len = 1;
	CHECK(vault_get_many(rd, want, 3, &bad) == ERR_CORRUPT && bad == 1);
	CHECK(strstr(err_msg(), "holds 0 bytes, not 1") != NULL);
	want[1] = (struct vault_want){unknown, dst, 0};
	CHECK(vault_get_many(rd, want, 3, &bad) == ERR_NOTFOUND && bad == 1);
	vault_reader_free(rd);
	vault_close(v);
	/* a text under an id it does not hash to is refused and its bytes wiped */
	memset(lie, 0x5a, sizeof(lie));
	CHECK(vault_writer_new(root, k, NULL, &w) == 0);
	CHECK(vault_put(w, lie, "not the text of that id", 23) == 0);
	CHECK(vault_commit(w, "lie@1") == 0);
	p = join(root, "lie@1");
	CHECK(vault_open(p, k, &v) == 0);
	rd = vault_reader_new(v);
	want[0] = (struct vault_want){lie, dst, 23};
	memset(dst, 1, sizeof(dst));
	CHECK(vault_get_many(rd, want, 1, &bad) == ERR_CORRUPT && bad == 0);
	CHECK(strstr(err_msg(), "does not hash to its id") != NULL);
	CHECK(dst[0] == 0 && dst[22] == 0 && dst[23] == 1);
	vault_reader_free(rd);
	vault_close(v);
	free(p);
	/* one flipped byte anywhere in the first pack: refused by the open or by the reader */
	p = join(dir, "pack-000000");
	buf_init(&orig, 0);
	CHECK(buf_read_file(&orig, p) == 0);
	for (size_t i = 0; i < orig.len; i++) {
		orig.p[i] ^= 0x01;
		CHECK(write_file(p, orig.p, orig.len) == 0);
		caught += many_check(dir, k, ids, ref) != 0;
		orig.p[i] ^= 0x01;
	}
	CHECK(write_file(p, orig.p, orig.len) == 0);
	CHECK(caught == orig.len);
	CHECK(many_check(dir, k, ids, ref) == 0);
	buf_release(&orig);
	for (int i = 0; i < 5; i++)
		buf_release(&ref[i]);
	free(p);
	vault_key_free(k);
	rmtree(root);
	free(root);
	free(dir);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	RUN(wrap_unwrap);
	RUN(round_trip_many);
	RUN(flip_every_byte);
	RUN(missing_truncated_stray);
	RUN(index_entries_and_swaps);
	RUN(swapped_records);
	RUN(commit_atomicity_and_sweep);
	RUN(concurrent_put);
	RUN(get_many);
	return test_done();
}
