/*
 * vault: encrypted, content-addressed packs with an authenticated sorted index.
 * The byte layout is in docs/formats.md, "## Vault"; the constants below are its summary.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <limits.h>
#include <openssl/evp.h>
#define ZSTD_STATIC_LINKING_ONLY /* ZSTD_customMem: contexts in memory that is wiped when freed */
#include <zstd.h>

#include "gitobj.h"
#include "le.h"
#include "vault.h"

/*
 * zstd's contexts keep the literals of what they last compressed or decompressed (plain
 * text of sealed code) in their workspace: theirs is memory that is wiped when freed, so
 * that closing a vault leaves none of it behind.
 */
#define ZMEM_HDR 16 /* keeps zstd's alignment */
static void *zmem_alloc(void *opaque, size_t n)
{
	unsigned char *p;
	(void)opaque;
	if (n > SIZE_MAX - ZMEM_HDR || !(p = malloc(n + ZMEM_HDR)))
		return NULL;
	memcpy(p, &n, sizeof(n));
	return p + ZMEM_HDR;
}

static void zmem_free(void *opaque, void *a)
{
	unsigned char *p = a;
	size_t n;
	(void)opaque;
	if (!p)
		return;
	p -= ZMEM_HDR;
	memcpy(&n, p, sizeof(n));
	sodium_memzero(p, n + ZMEM_HDR);
	free(p);
}

static const ZSTD_customMem zmem = {zmem_alloc, zmem_free, NULL};

#define IDX_MAGIC "sealvidx"
#define PACK_MAGIC "sealvpak"
#define FORMAT_VERSION 1
#define AEAD_XCHACHA20POLY1305 1
#define IDX_HDR 80    /* magic 8, version 4, aead 4, uid 16, n_packs 4, n_meta 4,
			 n_blobs 8, body_len 8, nonce 24 */
#define IDX_AD_LEN 56 /* the header up to the nonce */
#define PACK_HDR 64   /* magic 8, version 4, pack number 4, uid 16, zero 32 */
#define NONCE_LEN crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TAG_LEN crypto_aead_xchacha20poly1305_ietf_ABYTES
#define REC_OVERHEAD (NONCE_LEN + TAG_LEN)
#define PACK_ENT 8
#define BLOB_ENT 64        /* id 32, pack 4, method 1, zero 3, offset 8, stored 8, raw 8 */
#define META_ENT_FIXED 34  /* name_len 2, then name, then the 32 bytes after a blob's id */
#define MAX_PACKS 1000000u
#define MAX_META 65535u
#define INDEX_MAX ((uint64_t)1 << 32)
#define PACK_LEN_MAX ((uint64_t)1 << 40)
#define UID_LEN 16
#define METHOD_RAW 0
#define METHOD_ZSTD 1
#define PENDING UINT32_MAX
#define WBUF_LEN ((size_t)1 << 20) /* records are gathered into writes of this size */
#define AD_MAX (32 + UID_LEN + 1 + 8 + VAULT_META_NAME_MAX)

struct vault_key {
	unsigned char k[VAULT_KEY_LEN];
};

/* One stored object, blob (name == NULL) or named. pack == PENDING while being written. */
struct obj {
	unsigned char id[32];
	char *name;
	size_t name_len;
	uint32_t pack;
	unsigned method;
	uint64_t off;
	uint64_t stored;
	uint64_t raw;
};

/* ---- small helpers ---- */

static int sodium_ready(void)
{
	if (sodium_init() < 0)
		return err_set(ERR_IO, "vault: libsodium failed to initialise");
	return 0;
}

static void pack_name(char out[32], uint32_t i)
{
	snprintf(out, 32, "pack-%06u", (unsigned)i);
}

static char *path_join(const char *a, const char *b)
{
	struct buf p;
	buf_init(&p, 0);
	if (buf_addf(&p, "%s/%s", a, b))
		BUG("path too long");
	return buf_detach(&p, NULL);
}

static int full_write(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n) {
		ssize_t w = write(fd, c, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Read exactly n bytes at off; returns n, fewer at end of file, or -1. */
static ssize_t full_pread(int fd, void *p, size_t n, uint64_t off)
{
	char *c = p;
	size_t got = 0;
	while (got < n) {
		ssize_t r = pread(fd, c + got, n - got, (off_t)(off + got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

/* Associated data of an object: domain, release uid, method, size, then id or name. */
static size_t obj_ad(unsigned char *ad, const unsigned char uid[UID_LEN], const struct obj *o)
{
	static const char blob_dom[] = "sealroom-vault-v1 blob";
	static const char meta_dom[] = "sealroom-vault-v1 meta";
	size_t n = sizeof(blob_dom); /* with its NUL */
	memcpy(ad, o->name ? meta_dom : blob_dom, n);
	memcpy(ad + n, uid, UID_LEN);
	n += UID_LEN;
	ad[n++] = (unsigned char)o->method;
	put64(ad + n, o->raw);
	n += 8;
	if (o->name) {
		memcpy(ad + n, o->name, o->name_len);
		n += o->name_len;
	} else {
		memcpy(ad + n, o->id, 32);
		n += 32;
	}
	return n;
}

/* "object '<hex>'" or "named object '<name>'", for messages. */
static const char *obj_label(const struct obj *o, char out[VAULT_META_NAME_MAX + 40])
{
	if (o->name) {
		snprintf(out, VAULT_META_NAME_MAX + 40, "named object '%.*s'", (int)o->name_len,
			 o->name);
	} else {
		char hex[65];
		hex_encode(hex, o->id, 32);
		snprintf(out, VAULT_META_NAME_MAX + 40, "object '%s'", hex);
	}
	return out;
}

static int valid_release_name(const char *name)
{
	size_t n = name ? strlen(name) : 0;
	if (n == 0 || n > 255 || name[0] == '.' || strchr(name, '/'))
		return err_set(ERR_USAGE, "vault: '%s' is not a valid release folder name",
			       name ? name : "");
	return 0;
}

/*
 * Remove the flat folder name under parent_fd: its files, then the folder. Never follows
 * a symlink and never recurses (a vault folder holds files only). ERR_IO naming the folder.
 */
static int remove_flat_dir(int parent_fd, const char *name)
{
	int fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d;
	struct dirent *e;
	int r = 0;
	if (fd < 0)
		return err_set(ERR_IO, "vault: cannot open '%s': %s", name, strerror(errno));
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return err_set(ERR_IO, "vault: cannot list '%s': %s", name, strerror(errno));
	}
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (unlinkat(dirfd(d), e->d_name, 0) < 0 && errno != ENOENT) {
			r = err_set(ERR_IO, "vault: cannot remove '%s/%s': %s", name, e->d_name,
				    strerror(errno));
			goto out;
		}
	}
	if (unlinkat(parent_fd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		r = err_set(ERR_IO, "vault: cannot remove '%s': %s", name, strerror(errno));
out:
	closedir(d);
	return r;
}

static int fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r = 0;
	if (fd < 0)
		return err_set(ERR_IO, "vault: cannot open '%s': %s", path, strerror(errno));
	if (fsync(fd) < 0)
		r = err_set(ERR_IO, "vault: cannot sync '%s': %s", path, strerror(errno));
	close(fd);
	return r;
}

/* ---- keys ---- */

static struct vault_key *key_alloc(void)
{
	struct vault_key *k = sodium_malloc(sizeof(*k));
	if (!k) {
		fputs("fatal: out of locked memory\n", stderr);
		abort();
	}
	return k;
}

int vault_key_new(struct vault_key **out)
{
	struct vault_key *k;
	int r = sodium_ready();
	if (r)
		return r;
	k = key_alloc();
	crypto_aead_xchacha20poly1305_ietf_keygen(k->k);
	sodium_mprotect_readonly(k);
	*out = k;
	return 0;
}

int vault_key_from_bytes(const unsigned char raw[VAULT_KEY_LEN], struct vault_key **out)
{
	struct vault_key *k;
	int r = sodium_ready();
	if (r)
		return r;
	k = key_alloc();
	memcpy(k->k, raw, VAULT_KEY_LEN);
	sodium_mprotect_readonly(k);
	*out = k;
	return 0;
}

int vault_key_bytes(const struct vault_key *k, unsigned char raw[VAULT_KEY_LEN])
{
	memcpy(raw, k->k, VAULT_KEY_LEN);
	return 0;
}

void vault_key_free(struct vault_key *k)
{
	if (k)
		sodium_free(k); /* wipes before unmapping */
}

/* The 8-byte key id in a wrapped key: the start of SHA-256 of the X25519 wrapping key. */
static void wrap_key_id(const unsigned char pk[32], unsigned char id[8])
{
	unsigned char h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(h, pk, 32);
	memcpy(id, h, 8);
}

int vault_key_wrap(const struct vault_key *k, const unsigned char wrap_pk[32], struct buf *wrapped)
{
	unsigned char out[VAULT_WRAPPED_LEN];
	int r = sodium_ready();
	if (r)
		return r;
	memcpy(out, "srk2", 4);
	wrap_key_id(wrap_pk, out + 4);
	if (crypto_box_seal(out + 12, k->k, VAULT_KEY_LEN, wrap_pk) != 0)
		return err_set(ERR_AUTH, "vault: cannot wrap the data key to the wrapping key");
	return buf_add(wrapped, out, sizeof(out));
}

/* Open a wrapped key with the X25519 pair (pk, sk). ERR_AUTH with the reason. */
int vault_key_unwrap(const void *wrapped, size_t len, const unsigned char wrap_pk[32],
		     const unsigned char wrap_sk[32], struct vault_key **out)
{
	const unsigned char *w = wrapped;
	unsigned char kid[8];
	struct vault_key *k = NULL;
	int r = sodium_ready();
	if (r)
		return r;
	if (len != VAULT_WRAPPED_LEN)
		return err_set(ERR_AUTH, "vault: wrapped key is %zu bytes, expected %d (truncated or damaged)",
			       len, VAULT_WRAPPED_LEN);
	if (memcmp(w, "srk2", 4) != 0)
		return err_set(ERR_AUTH, "vault: wrapped key is not a sealroom wrapped key ('srk2')");
	wrap_key_id(wrap_pk, kid);
	if (sodium_memcmp(kid, w + 4, 8) != 0)
		return err_set(ERR_AUTH, "vault: the data key was wrapped for another wrapping key");
	k = key_alloc();
	if (crypto_box_seal_open(k->k, w + 12, VAULT_WRAPPED_LEN - 12, wrap_pk, wrap_sk) != 0) {
		vault_key_free(k);
		return err_set(ERR_AUTH, "vault: wrapped key failed to open (damaged, or not for this wrapping key)");
	}
	sodium_mprotect_readonly(k);
	*out = k;
	return 0;
}

int vault_key_seal_to(const struct vault_key *k, const unsigned char pk[32],
		      unsigned char box[VAULT_SEALED_KEY_LEN])
{
	int r = sodium_ready();
	if (r)
		return r;
	if (crypto_box_seal(box, k->k, VAULT_KEY_LEN, pk) != 0)
		return err_set(ERR_AUTH, "vault: cannot seal the data key to the server's key");
	return 0;
}

int vault_key_open_from(const unsigned char box[VAULT_SEALED_KEY_LEN],
			const unsigned char pk[32], const unsigned char sk[32], struct vault_key **out)
{
	struct vault_key *k;
	int r = sodium_ready();
	if (r)
		return r;
	k = key_alloc();
	if (crypto_box_seal_open(k->k, box, VAULT_SEALED_KEY_LEN, pk, sk) != 0) {
		vault_key_free(k);
		return err_set(ERR_AUTH, "vault: the data key sealed to the server's key does not open");
	}
	sodium_mprotect_readonly(k);
	*out = k;
	return 0;
}

/* ---- writer ---- */

struct sealer;
static void sealer_free(struct sealer *s);
static void writer_free(struct vault_writer *w);

struct vault_writer {
	char *root;
	char *tmp_name; /* ".tmp-<pid>-<hex>" under root */
	char *tmp_path;
	int dir_fd;
	const struct vault_key *k;
	int level;
	unsigned char uid[UID_LEN];
	size_t pack_limit;

	pthread_mutex_t lock; /* guards everything below */
	struct obj *objs;
	size_t n_objs, cap_objs;
	size_t *table; /* open addressing on id; slot holds index + 1, 0 = empty */
	size_t table_cap;
	struct obj *metas;
	size_t n_metas, cap_metas;
	int *pack_fds;
	uint64_t *pack_lens;
	uint32_t n_packs, cap_packs;
	unsigned char *wbuf; /* bytes not yet written to the last pack */
	size_t wlen;
	struct sealer **pool; /* idle sealers, one per thread that was busy at once */
	size_t n_pool, cap_pool;
	int failed; /* first error after which the folder's content is unknown */
};

int vault_writer_new(const char *vault_root, const struct vault_key *k, const struct vault_writer_opts *o,
		     struct vault_writer **out)
{
	int zstd_level = o && o->zstd_level ? o->zstd_level : VAULT_ZSTD_LEVEL_DEFAULT;
	size_t pack_max = o && o->pack_max ? o->pack_max : VAULT_PACK_MAX;
	struct vault_writer *w;
	unsigned char rnd[8];
	char hex[17];
	struct buf name;
	struct stat st;
	int r = sodium_ready();
	if (r)
		return r;
	if (mkdir(vault_root, 0700) < 0 && errno != EEXIST)
		return err_set(ERR_IO, "vault: cannot create '%s': %s", vault_root, strerror(errno));
	if (stat(vault_root, &st) < 0 || !S_ISDIR(st.st_mode))
		return err_set(ERR_IO, "vault: '%s' is not a folder", vault_root);
	if (zstd_level < ZSTD_minCLevel() || zstd_level > ZSTD_maxCLevel())
		return err_set(ERR_USAGE, "vault: zstd level '%d' is out of range", zstd_level);
	if (pack_max > VAULT_PACK_MAX)
		return err_set(ERR_USAGE, "vault: a pack of %zu bytes is past the %zu-byte limit", pack_max,
			       VAULT_PACK_MAX);
	randombytes_buf(rnd, sizeof(rnd));
	hex_encode(hex, rnd, sizeof(rnd));
	buf_init(&name, 0);
	if (buf_addf(&name, ".tmp-%ld-%s", (long)getpid(), hex))
		BUG("name");
	w = xcalloc(1, sizeof(*w));
	w->root = xstrdup(vault_root);
	w->tmp_name = buf_detach(&name, NULL);
	w->tmp_path = path_join(vault_root, w->tmp_name);
	w->k = k;
	w->level = zstd_level;
	w->pack_limit = pack_max;
	randombytes_buf(w->uid, UID_LEN);
	w->wbuf = xmalloc(WBUF_LEN);
	pthread_mutex_init(&w->lock, NULL);
	w->dir_fd = -1;
	if (mkdir(w->tmp_path, 0700) < 0) {
		r = err_set(ERR_IO, "vault: cannot create '%s': %s", w->tmp_path, strerror(errno));
		writer_free(w); /* the folder is not ours to remove */
		return r;
	}
	w->dir_fd = open(w->tmp_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (w->dir_fd < 0) {
		r = err_set(ERR_IO, "vault: cannot open '%s': %s", w->tmp_path, strerror(errno));
		goto fail;
	}
	*out = w;
	return 0;
fail:
	vault_writer_abort(w);
	return r;
}

/* Free everything of w; the temporary folder is left as it is. */
static void writer_free(struct vault_writer *w)
{
	for (uint32_t i = 0; i < w->n_packs; i++)
		if (w->pack_fds[i] >= 0)
			close(w->pack_fds[i]);
	if (w->dir_fd >= 0)
		close(w->dir_fd);
	for (size_t i = 0; i < w->n_pool; i++)
		sealer_free(w->pool[i]);
	for (size_t i = 0; i < w->n_metas; i++)
		free(w->metas[i].name);
	free(w->pool);
	free(w->wbuf);
	free(w->pack_fds);
	free(w->pack_lens);
	free(w->objs);
	free(w->table);
	free(w->metas);
	free(w->root);
	free(w->tmp_name);
	free(w->tmp_path);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

void vault_writer_abort(struct vault_writer *w)
{
	int root_fd;
	if (!w)
		return;
	root_fd = open(w->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root_fd >= 0) {
		if (remove_flat_dir(root_fd, w->tmp_name) == 0)
			fsync(root_fd);
		close(root_fd);
	}
	writer_free(w);
}

static size_t id_slot(const unsigned char id[32], size_t cap)
{
	uint64_t h;
	memcpy(&h, id, sizeof(h)); /* ids are SHA-256 output: already uniform */
	return (size_t)h & (cap - 1);
}

/* Find id in the table (lock held); returns its slot, which is empty when absent. */
static size_t table_find(const struct vault_writer *w, const unsigned char id[32])
{
	size_t s = id_slot(id, w->table_cap);
	while (w->table[s] && memcmp(w->objs[w->table[s] - 1].id, id, 32) != 0)
		s = (s + 1) & (w->table_cap - 1);
	return s;
}

static void table_grow(struct vault_writer *w)
{
	size_t cap = w->table_cap ? w->table_cap * 2 : 1024;
	free(w->table);
	w->table = xcalloc(cap, sizeof(*w->table));
	w->table_cap = cap;
	for (size_t i = 0; i < w->n_objs; i++) {
		size_t s = table_find(w, w->objs[i].id);
		w->table[s] = i + 1;
	}
}

/*
 * Reserve an entry for a blob id or a meta name (lock held). Returns 1 when it is
 * already there, 0 with *slot set to the new entry's index, or an error.
 */
static int reserve(struct vault_writer *w, const unsigned char *id, const char *name,
		   size_t *slot)
{
	struct obj *o;
	if (w->failed)
		return err_set(w->failed, "vault: an earlier write into '%s' failed", w->tmp_path);
	if (name) {
		size_t nl = strlen(name);
		for (size_t i = 0; i < w->n_metas; i++)
			if (w->metas[i].name_len == nl && !memcmp(w->metas[i].name, name, nl))
				return 1;
		if (w->n_metas == w->cap_metas) {
			w->cap_metas = w->cap_metas ? 2 * w->cap_metas : 8;
			w->metas = xrealloc(w->metas, w->cap_metas * sizeof(*w->metas));
		}
		o = &w->metas[w->n_metas];
		memset(o, 0, sizeof(*o));
		o->name = xstrdup(name);
		o->name_len = nl;
		o->pack = PENDING;
		*slot = w->n_metas++;
		return 0;
	}
	if ((w->n_objs + 1) * 2 > w->table_cap)
		table_grow(w);
	size_t s = table_find(w, id);
	if (w->table[s])
		return 1;
	if (w->n_objs == w->cap_objs) {
		w->cap_objs = w->cap_objs ? 2 * w->cap_objs : 1024;
		w->objs = xrealloc(w->objs, w->cap_objs * sizeof(*w->objs));
	}
	o = &w->objs[w->n_objs];
	memset(o, 0, sizeof(*o));
	memcpy(o->id, id, 32);
	o->pack = PENDING;
	w->table[s] = w->n_objs + 1;
	*slot = w->n_objs++;
	return 0;
}

/*
 * A compression context and its record buffer, kept between puts so that a thread neither
 * allocates nor page-faults per object. Taken from the pool for one put, given back after.
 */
struct sealer {
	ZSTD_CCtx *cctx;
	unsigned char *rec;
	size_t cap;
};

/* Records above this size get a buffer of their own rather than growing a pooled one. */
#define SEALER_KEEP ((size_t)16 << 20)

static void sealer_free(struct sealer *s)
{
	ZSTD_freeCCtx(s->cctx);
	free(s->rec);
	free(s);
}

/* An idle sealer from the pool, or NULL (lock held). */
static struct sealer *pool_pop(struct vault_writer *w)
{
	return w->n_pool ? w->pool[--w->n_pool] : NULL;
}

static struct sealer *sealer_new(struct vault_writer *w)
{
	struct sealer *s = xcalloc(1, sizeof(*s));
	s->cctx = ZSTD_createCCtx_advanced(zmem);
	if (!s->cctx)
		BUG("out of memory for a zstd context");
	ZSTD_CCtx_setParameter(s->cctx, ZSTD_c_compressionLevel, w->level);
	return s;
}

/* Give s back to the pool (lock held); an oversized buffer was dropped before. */
static void pool_push(struct vault_writer *w, struct sealer *s)
{
	if (w->n_pool == w->cap_pool) {
		w->cap_pool = w->cap_pool ? 2 * w->cap_pool : 4;
		w->pool = xrealloc(w->pool, w->cap_pool * sizeof(*w->pool));
	}
	w->pool[w->n_pool++] = s;
}

/*
 * Build the record nonce || AEAD(compressed or raw data) for o in s->rec (no lock held).
 * Sets o->method, o->raw and o->stored. ERR_IO when zstd fails.
 */
static int seal_record(struct vault_writer *w, struct sealer *s, struct obj *o,
		       const void *data, size_t len)
{
	size_t bound = ZSTD_compressBound(len), cap, m_len = len;
	unsigned char ad[AD_MAX];
	size_t ad_len;
	if (bound < len)
		bound = len;
	cap = REC_OVERHEAD + bound; /* len <= VAULT_OBJECT_MAX: no overflow */
	if (s->cap < cap) {
		free(s->rec);
		s->rec = xmalloc(cap);
		s->cap = cap;
	}
	randombytes_buf(s->rec, NONCE_LEN);
	o->method = METHOD_RAW;
	o->raw = len;
	if (len) {
		size_t z = ZSTD_compress2(s->cctx, s->rec + NONCE_LEN, bound, data, len);
		if (ZSTD_isError(z))
			return err_set(ERR_IO, "vault: zstd failed: %s", ZSTD_getErrorName(z));
		if (z < len) {
			o->method = METHOD_ZSTD;
			m_len = z;
		}
	}
	ad_len = obj_ad(ad, w->uid, o);
	crypto_aead_xchacha20poly1305_ietf_encrypt(
		s->rec + NONCE_LEN, NULL, o->method == METHOD_ZSTD ? s->rec + NONCE_LEN : data,
		m_len, ad, ad_len, NULL, s->rec, w->k->k);
	o->stored = REC_OVERHEAD + m_len;
	return 0;
}

/* Write the gathered bytes to the last pack (lock held). ERR_IO naming the pack. */
static int flush_pack(struct vault_writer *w)
{
	char name[32];
	if (!w->wlen)
		return 0;
	if (full_write(w->pack_fds[w->n_packs - 1], w->wbuf, w->wlen) < 0) {
		pack_name(name, w->n_packs - 1);
		return err_set(ERR_IO, "vault: cannot write '%s/%s': %s", w->tmp_path, name,
			       strerror(errno));
	}
	w->wlen = 0;
	return 0;
}

/* Start pack number w->n_packs (lock held): flush the last one, create the new one. */
static int new_pack(struct vault_writer *w)
{
	char name[32];
	unsigned char *hdr = w->wbuf;
	int fd, r;
	if (w->n_packs >= MAX_PACKS)
		return err_set(ERR_TOOBIG, "vault: release '%s' needs more than %u packs",
			       w->tmp_path, MAX_PACKS);
	r = flush_pack(w);
	if (r)
		return r;
	pack_name(name, w->n_packs);
	fd = openat(w->dir_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return err_set(ERR_IO, "vault: cannot create '%s/%s': %s", w->tmp_path, name,
			       strerror(errno));
	if (w->n_packs == w->cap_packs) {
		w->cap_packs = w->cap_packs ? 2 * w->cap_packs : 4;
		w->pack_fds = xrealloc(w->pack_fds, w->cap_packs * sizeof(*w->pack_fds));
		w->pack_lens = xrealloc(w->pack_lens, w->cap_packs * sizeof(*w->pack_lens));
	}
	memset(hdr, 0, PACK_HDR);
	memcpy(hdr, PACK_MAGIC, 8);
	put32(hdr + 8, FORMAT_VERSION);
	put32(hdr + 12, w->n_packs);
	memcpy(hdr + 16, w->uid, UID_LEN);
	w->wlen = PACK_HDR;
	w->pack_fds[w->n_packs] = fd;
	w->pack_lens[w->n_packs] = PACK_HDR;
	w->n_packs++;
	return 0;
}

/*
 * Append a record to the current pack, rolling to a new one past the limit (lock held).
 * Small records are gathered in w->wbuf; one as large as the buffer is written directly.
 */
static int append_record(struct vault_writer *w, struct obj *o, const unsigned char *rec)
{
	uint32_t cur;
	int r;
	if (!w->n_packs || (w->pack_lens[w->n_packs - 1] > PACK_HDR &&
			    w->pack_lens[w->n_packs - 1] + o->stored > w->pack_limit)) {
		r = new_pack(w);
		if (r)
			return r;
	}
	cur = w->n_packs - 1;
	if (o->stored > WBUF_LEN - w->wlen && (r = flush_pack(w)))
		return r;
	if (o->stored >= WBUF_LEN) {
		if (full_write(w->pack_fds[cur], rec, o->stored) < 0) {
			char name[32];
			pack_name(name, cur);
			return err_set(ERR_IO, "vault: cannot write '%s/%s': %s", w->tmp_path,
				       name, strerror(errno));
		}
	} else {
		memcpy(w->wbuf + w->wlen, rec, o->stored);
		w->wlen += o->stored;
	}
	o->pack = cur;
	o->off = w->pack_lens[cur];
	w->pack_lens[cur] += o->stored;
	return 0;
}

/* vault_put and vault_put_meta: reserve, seal outside the lock, append under it. */
static int put_obj(struct vault_writer *w, const unsigned char *id, const char *name,
		   const void *data, size_t len)
{
	struct obj tmp;
	struct sealer *s;
	size_t slot = 0;
	int r;
	char label[VAULT_META_NAME_MAX + 40];
	memset(&tmp, 0, sizeof(tmp));
	if (id)
		memcpy(tmp.id, id, 32);
	if (name) {
		tmp.name = (char *)name;
		tmp.name_len = strlen(name);
	}
	if (len > VAULT_OBJECT_MAX)
		return err_set(ERR_TOOBIG, "vault: %s is larger than %zu bytes",
			       obj_label(&tmp, label), VAULT_OBJECT_MAX);
	pthread_mutex_lock(&w->lock);
	r = reserve(w, id, name, &slot);
	s = r ? NULL : pool_pop(w);
	pthread_mutex_unlock(&w->lock);
	if (r == 1)
		return name ? err_set(ERR_EXISTS, "vault: %s was already added",
				      obj_label(&tmp, label))
			    : 0;
	if (r)
		return r;
	if (!s)
		s = sealer_new(w);
	r = seal_record(w, s, &tmp, data, len);
	pthread_mutex_lock(&w->lock);
	if (!r) {
		r = append_record(w, &tmp, s->rec);
		if (!r) {
			struct obj *o = name ? &w->metas[slot] : &w->objs[slot];
			o->method = tmp.method;
			o->raw = tmp.raw;
			o->stored = tmp.stored;
			o->off = tmp.off;
			o->pack = tmp.pack;
		}
	}
	if (r && !w->failed)
		w->failed = r;
	if (s->cap > SEALER_KEEP) {
		free(s->rec);
		s->rec = NULL;
		s->cap = 0;
	}
	pool_push(w, s);
	pthread_mutex_unlock(&w->lock);
	return r;
}

int vault_put(struct vault_writer *w, const unsigned char id[32], const void *data, size_t len)
{
	return put_obj(w, id, NULL, data, len);
}

int vault_put_meta(struct vault_writer *w, const char *name, const void *data, size_t len)
{
	size_t nl = strlen(name);
	if (nl == 0 || nl > VAULT_META_NAME_MAX)
		return err_set(ERR_USAGE, "vault: object name '%.*s' must be 1 to %d bytes",
			       (int)(nl > 64 ? 64 : nl), name, VAULT_META_NAME_MAX);
	return put_obj(w, NULL, name, data, len);
}

static int cmp_obj_id(const void *a, const void *b)
{
	return memcmp(((const struct obj *)a)->id, ((const struct obj *)b)->id, 32);
}

static int cmp_name(const char *a, size_t al, const char *b, size_t bl)
{
	int c = memcmp(a, b, al < bl ? al : bl);
	if (c)
		return c;
	return al < bl ? -1 : al > bl;
}

static int cmp_obj_name(const void *a, const void *b)
{
	const struct obj *x = a, *y = b;
	return cmp_name(x->name, x->name_len, y->name, y->name_len);
}

static void put_entry_tail(unsigned char *p, const struct obj *o)
{
	put32(p, o->pack);
	p[4] = (unsigned char)o->method;
	p[5] = p[6] = p[7] = 0;
	put64(p + 8, o->off);
	put64(p + 16, o->stored);
	put64(p + 24, o->raw);
}

/*
 * Encrypt the index of w into a new file "index" in the temporary folder and fsync it.
 * Sorts w's entries. ERR_IO naming the file.
 */
static int write_index(struct vault_writer *w)
{
	size_t body = 0, total, n, off;
	unsigned char *file = NULL, *p;
	int fd = -1, r = 0;
	if (w->n_objs)
		qsort(w->objs, w->n_objs, sizeof(*w->objs), cmp_obj_id);
	if (w->n_metas)
		qsort(w->metas, w->n_metas, sizeof(*w->metas), cmp_obj_name);
	if (w->n_metas > MAX_META)
		return err_set(ERR_TOOBIG, "vault: more than %u named objects", MAX_META);
	if (__builtin_mul_overflow(w->n_objs, (size_t)BLOB_ENT, &body) ||
	    __builtin_add_overflow(body, (size_t)w->n_packs * PACK_ENT, &body))
		return err_set(ERR_TOOBIG, "vault: index of '%s' is too large", w->tmp_path);
	for (size_t i = 0; i < w->n_metas; i++)
		body += META_ENT_FIXED + w->metas[i].name_len;
	total = IDX_HDR + body + TAG_LEN;
	if ((uint64_t)total > INDEX_MAX)
		return err_set(ERR_TOOBIG, "vault: index of '%s' is too large", w->tmp_path);
	file = xcalloc(1, total);
	memcpy(file, IDX_MAGIC, 8);
	put32(file + 8, FORMAT_VERSION);
	put32(file + 12, AEAD_XCHACHA20POLY1305);
	memcpy(file + 16, w->uid, UID_LEN);
	put32(file + 32, w->n_packs);
	put32(file + 36, (uint32_t)w->n_metas);
	put64(file + 40, w->n_objs);
	put64(file + 48, body + TAG_LEN);
	randombytes_buf(file + IDX_AD_LEN, NONCE_LEN);
	p = file + IDX_HDR;
	off = 0;
	for (uint32_t i = 0; i < w->n_packs; i++, off += PACK_ENT)
		put64(p + off, w->pack_lens[i]);
	for (size_t i = 0; i < w->n_objs; i++, off += BLOB_ENT) {
		memcpy(p + off, w->objs[i].id, 32);
		put_entry_tail(p + off + 32, &w->objs[i]);
	}
	for (size_t i = 0; i < w->n_metas; i++) {
		n = w->metas[i].name_len;
		p[off] = (unsigned char)n;
		p[off + 1] = (unsigned char)(n >> 8);
		memcpy(p + off + 2, w->metas[i].name, n);
		put_entry_tail(p + off + 2 + n, &w->metas[i]);
		off += META_ENT_FIXED + n;
	}
	crypto_aead_xchacha20poly1305_ietf_encrypt(p, NULL, p, body, file, IDX_AD_LEN, NULL,
						   file + IDX_AD_LEN, w->k->k);
	fd = openat(w->dir_fd, "index", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || full_write(fd, file, total) < 0 || fsync(fd) < 0)
		r = err_set(ERR_IO, "vault: cannot write '%s/index': %s", w->tmp_path,
			    strerror(errno));
	if (fd >= 0)
		close(fd);
	free(file);
	return r;
}

/*
 * Commit: index, fsync packs + index + folder, rename without replacing, fsync the root.
 * w is freed either way. On any error before the rename the temporary folder is removed;
 * only a failure of the last fsync (ERR_IO) leaves the release in place, whole.
 */
int vault_commit(struct vault_writer *w, const char *name)
{
	char *final = NULL;
	struct stat st;
	int r;
	r = valid_release_name(name);
	if (r)
		goto out;
	if (w->failed) {
		r = err_set(w->failed, "vault: an earlier write into '%s' failed", w->tmp_path);
		goto out;
	}
	for (size_t i = 0; i < w->n_objs; i++)
		if (w->objs[i].pack == PENDING)
			BUG("vault_commit while a vault_put is running");
	for (size_t i = 0; i < w->n_metas; i++)
		if (w->metas[i].pack == PENDING)
			BUG("vault_commit while a vault_put_meta is running");
	final = path_join(w->root, name);
	if (lstat(final, &st) == 0) {
		r = err_set(ERR_EXISTS, "vault: release '%s' already exists", final);
		goto out;
	}
	r = flush_pack(w);
	if (!r)
		r = write_index(w);
	if (r)
		goto out;
	for (uint32_t i = 0; i < w->n_packs; i++) {
		if (fsync(w->pack_fds[i]) < 0) {
			r = err_set(ERR_IO, "vault: cannot sync a pack of '%s': %s", w->tmp_path,
				    strerror(errno));
			goto out;
		}
	}
	if (fsync(w->dir_fd) < 0) {
		r = err_set(ERR_IO, "vault: cannot sync '%s': %s", w->tmp_path, strerror(errno));
		goto out;
	}
	if (renameat2(AT_FDCWD, w->tmp_path, AT_FDCWD, final, RENAME_NOREPLACE) < 0) {
		if (errno == EEXIST || errno == ENOTEMPTY) {
			r = err_set(ERR_EXISTS, "vault: release '%s' already exists", final);
			goto out;
		}
		/* A file system without RENAME_NOREPLACE: the lstat above is the best check. */
		if ((errno != EINVAL && errno != ENOSYS) || lstat(final, &st) == 0 ||
		    rename(w->tmp_path, final) < 0) {
			r = err_set(ERR_IO, "vault: cannot rename '%s' to '%s': %s", w->tmp_path,
				    final, strerror(errno));
			goto out;
		}
	}
	r = fsync_dir(w->root);
	free(final);
	writer_free(w); /* the folder is in place: only the memory goes */
	return r;
out:
	free(final);
	vault_writer_abort(w);
	return r;
}

/*
 * Whether the temporary folder name under root_fd is left over: its writer process is gone,
 * or nothing in it changed for VAULT_SWEEP_IDLE seconds.
 */
static int is_stale(int root_fd, const char *name)
{
	char *end;
	long pid = strtol(name + 5, &end, 10);
	struct stat st;
	time_t newest;
	int fd, stale;
	DIR *d;
	struct dirent *e;
	if (end == name + 5 || *end != '-')
		pid = -1; /* not a name of ours: only idleness counts */
	if (pid == 0) /* a release being removed (vault_remove) */
		return 1;
	if (pid > 0 && kill((pid_t)pid, 0) < 0 && errno == ESRCH)
		return 1;
	if (fstatat(root_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
		return 0;
	newest = st.st_mtime;
	fd = openat(root_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return 0;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return 0;
	}
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
		    fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    st.st_mtime > newest)
			newest = st.st_mtime;
	closedir(d);
	stale = time(NULL) - newest > VAULT_SWEEP_IDLE;
	return stale;
}

int vault_sweep(const char *vault_root)
{
	DIR *d = opendir(vault_root);
	struct dirent *e;
	int r = 0;
	if (!d)
		return errno == ENOENT ? 0
				       : err_set(ERR_IO, "vault: cannot list '%s': %s", vault_root,
						 strerror(errno));
	while ((e = readdir(d))) {
		struct stat st;
		if (strncmp(e->d_name, ".tmp-", 5) != 0)
			continue;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISDIR(st.st_mode) || !is_stale(dirfd(d), e->d_name))
			continue;
		r = remove_flat_dir(dirfd(d), e->d_name);
		if (r)
			break;
	}
	if (!r && fsync(dirfd(d)) < 0)
		r = err_set(ERR_IO, "vault: cannot sync '%s': %s", vault_root, strerror(errno));
	closedir(d);
	return r;
}

/* Is name a file a release folder holds ("index" or "pack-NNNNNN")? */
static int release_file_name(const char *name)
{
	if (!strcmp(name, "index"))
		return 1;
	if (strncmp(name, "pack-", 5) || strlen(name) != 11)
		return 0;
	for (int i = 5; i < 11; i++)
		if (name[i] < '0' || name[i] > '9')
			return 0;
	return 1;
}

/* Copy the regular file src_dir_fd/name (never through a link) to dst_fd/name, fsync'd. */
static int copy_file(int src_dir_fd, const char *src_dir, int dst_fd, const char *name)
{
	char block[65536];
	struct stat st;
	int in = openat(src_dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), out = -1, r = 0;
	if (in < 0 && errno == ELOOP)
		return err_set(ERR_CORRUPT, "vault: '%s/%s' is a link, not a regular file", src_dir, name);
	if (in < 0)
		return err_set(ERR_IO, "vault: cannot open '%s/%s': %s", src_dir, name, strerror(errno));
	if (fstat(in, &st) < 0 || !S_ISREG(st.st_mode)) {
		r = err_set(ERR_CORRUPT, "vault: '%s/%s' is not a regular file", src_dir, name);
		goto out;
	}
	out = openat(dst_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0) {
		r = err_set(ERR_IO, "vault: cannot create a copy of '%s': %s", name, strerror(errno));
		goto out;
	}
	for (;;) {
		ssize_t n = read(in, block, sizeof(block));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = err_set(ERR_IO, "vault: cannot read '%s/%s': %s", src_dir, name, strerror(errno));
			break;
		}
		if (n == 0)
			break;
		for (ssize_t done = 0; done < n;) {
			ssize_t w = write(out, block + done, (size_t)(n - done));
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				r = err_set(ERR_IO, "vault: cannot write a copy of '%s': %s", name, strerror(errno));
				goto out;
			}
			done += w;
		}
	}
	if (!r && fsync(out) < 0)
		r = err_set(ERR_IO, "vault: cannot sync a copy of '%s': %s", name, strerror(errno));
out:
	close(in);
	if (out >= 0)
		close(out);
	return r;
}

int vault_import(const char *vault_root, const char *src_dir, const char *name)
{
	unsigned char rnd[8];
	char hex[17];
	struct buf tmp;
	struct stat st;
	struct dirent *e;
	char *final = NULL;
	DIR *d = NULL;
	int root_fd = -1, dst_fd = -1, r, have_index = 0;
	if ((r = valid_release_name(name)))
		return r;
	if (mkdir(vault_root, 0700) < 0 && errno != EEXIST)
		return err_set(ERR_IO, "vault: cannot create '%s': %s", vault_root, strerror(errno));
	buf_init(&tmp, 0);
	randombytes_buf(rnd, sizeof(rnd));
	hex_encode(hex, rnd, sizeof(rnd));
	if (buf_addf(&tmp, ".tmp-%ld-%s", (long)getpid(), hex))
		BUG("name");
	if (lstat(src_dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		r = err_set(ERR_NOTFOUND, "vault: '%s' is not a release folder", src_dir);
		goto out;
	}
	root_fd = open(vault_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0 || !(d = opendir(src_dir))) {
		r = err_set(ERR_IO, "vault: cannot open '%s': %s", root_fd < 0 ? vault_root : src_dir,
			    strerror(errno));
		goto out;
	}
	if (mkdirat(root_fd, tmp.p, 0700) < 0 ||
	    (dst_fd = openat(root_fd, tmp.p, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		r = err_set(ERR_IO, "vault: cannot create '%s/%s': %s", vault_root, tmp.p, strerror(errno));
		goto out;
	}
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (!release_file_name(e->d_name)) {
			r = err_set(ERR_CORRUPT, "vault: unexpected file '%s' in '%s'", e->d_name, src_dir);
			goto out;
		}
		have_index |= !strcmp(e->d_name, "index");
		if ((r = copy_file(dirfd(d), src_dir, dst_fd, e->d_name)))
			goto out;
	}
	if (!have_index) {
		r = err_set(ERR_CORRUPT, "vault: '%s' has no index", src_dir);
		goto out;
	}
	if (fsync(dst_fd) < 0) {
		r = err_set(ERR_IO, "vault: cannot sync '%s/%s': %s", vault_root, tmp.p, strerror(errno));
		goto out;
	}
	final = path_join(vault_root, name);
	if (renameat2(root_fd, tmp.p, root_fd, name, RENAME_NOREPLACE) < 0) {
		r = err_set(errno == EEXIST ? ERR_EXISTS : ERR_IO, "vault: cannot rename into '%s': %s", final,
			    strerror(errno));
		goto out;
	}
	buf_reset(&tmp);
	r = fsync_dir(vault_root);
out:
	if (d)
		closedir(d);
	if (dst_fd >= 0)
		close(dst_fd);
	if (tmp.len && root_fd >= 0 && remove_flat_dir(root_fd, tmp.p)) {
		/* a sweep removes what is left */
	}
	if (root_fd >= 0)
		close(root_fd);
	buf_release(&tmp);
	free(final);
	return r;
}

/* Rename the release aside to a .tmp- name first, so a crash leaves only sweepable debris. */
int vault_remove(const char *vault_root, const char *name)
{
	unsigned char rnd[8];
	char hex[17];
	struct buf aside;
	struct stat st;
	int root_fd, r;
	r = valid_release_name(name);
	if (r)
		return r;
	root_fd = open(vault_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0)
		return err_set(ERR_IO, "vault: cannot open '%s': %s", vault_root, strerror(errno));
	buf_init(&aside, 0);
	if (fstatat(root_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode)) {
		r = err_set(ERR_NOTFOUND, "vault: release '%s/%s' does not exist", vault_root, name);
		goto out;
	}
	randombytes_buf(rnd, sizeof(rnd));
	hex_encode(hex, rnd, sizeof(rnd));
	/* pid 0: not a live writer, so a sweep may finish the job after a crash */
	if (buf_addf(&aside, ".tmp-0-%s", hex))
		BUG("name");
	if (renameat(root_fd, name, root_fd, aside.p) < 0) {
		r = err_set(ERR_IO, "vault: cannot remove '%s/%s': %s", vault_root, name,
			    strerror(errno));
		goto out;
	}
	fsync(root_fd);
	r = remove_flat_dir(root_fd, aside.p);
	if (!r && fsync(root_fd) < 0)
		r = err_set(ERR_IO, "vault: cannot sync '%s': %s", vault_root, strerror(errno));
out:
	buf_release(&aside);
	close(root_fd);
	return r;
}

/* ---- reader ---- */

struct vault {
	char *dir;
	struct vault_key *k; /* a copy: the caller's key may go first */
	unsigned char uid[UID_LEN];
	uint32_t n_packs;
	int *pack_fds;
	uint64_t *pack_lens;
	struct obj *blobs; /* sorted by id */
	size_t n_blobs;
	struct obj *metas; /* sorted by name */
	size_t n_metas;
	pthread_mutex_t dlock; /* guards the pool of zstd decompression contexts */
	ZSTD_DCtx **dctx;
	size_t n_dctx, cap_dctx;
};

void vault_close(struct vault *v)
{
	if (!v)
		return;
	for (uint32_t i = 0; i < v->n_packs; i++)
		if (v->pack_fds[i] >= 0)
			close(v->pack_fds[i]);
	for (size_t i = 0; i < v->n_metas; i++)
		free(v->metas[i].name);
	for (size_t i = 0; i < v->n_dctx; i++)
		ZSTD_freeDCtx(v->dctx[i]);
	free(v->dctx);
	free(v->pack_fds);
	free(v->pack_lens);
	free(v->blobs);
	free(v->metas);
	vault_key_free(v->k);
	free(v->dir);
	pthread_mutex_destroy(&v->dlock);
	free(v);
}

/*
 * Parse and bound-check one entry's 32-byte tail (pack, method, offset, stored, raw) against
 * the pack table. The index is authenticated, but its content is checked as if it were not.
 */
static int parse_entry_tail(const struct vault *v, const char *ipath, const unsigned char *p,
			    struct obj *o)
{
	char label[VAULT_META_NAME_MAX + 40], pn[32];
	uint64_t end;
	o->pack = get32(p);
	o->method = p[4];
	o->off = get64(p + 8);
	o->stored = get64(p + 16);
	o->raw = get64(p + 24);
	obj_label(o, label);
	if (p[5] || p[6] || p[7] || o->method > METHOD_ZSTD)
		return err_set(ERR_CORRUPT, "vault: index '%s' has a malformed entry for %s",
			       ipath, label);
	if (o->pack >= v->n_packs)
		return err_set(ERR_CORRUPT, "vault: index '%s' puts %s in pack %u of %u", ipath,
			       label, (unsigned)o->pack, (unsigned)v->n_packs);
	pack_name(pn, o->pack);
	if (o->raw > VAULT_OBJECT_MAX || o->stored < REC_OVERHEAD ||
	    o->stored - REC_OVERHEAD > ZSTD_compressBound((size_t)o->raw) ||
	    (o->method == METHOD_RAW && o->stored != o->raw + REC_OVERHEAD))
		return err_set(ERR_CORRUPT, "vault: index '%s' gives %s an impossible size",
			       ipath, label);
	if (o->off < PACK_HDR || __builtin_add_overflow(o->off, o->stored, &end) ||
	    end > v->pack_lens[o->pack])
		return err_set(ERR_CORRUPT,
			       "vault: index '%s' points %s past the end of '%s' (offset %llu)",
			       ipath, label, pn, (unsigned long long)o->off);
	return 0;
}

/* Parse the decrypted index body p (len bytes) into v. ERR_CORRUPT naming the entry. */
static int parse_index(struct vault *v, const char *ipath, const unsigned char *p, size_t len,
		       uint64_t n_blobs, uint32_t n_meta)
{
	size_t off = 0;
	int r;
	/* the header's counts were checked against len before decryption */
	v->pack_lens = xcalloc(v->n_packs ? v->n_packs : 1, sizeof(*v->pack_lens));
	v->pack_fds = xcalloc(v->n_packs ? v->n_packs : 1, sizeof(*v->pack_fds));
	for (uint32_t i = 0; i < v->n_packs; i++)
		v->pack_fds[i] = -1;
	for (uint32_t i = 0; i < v->n_packs; i++, off += PACK_ENT) {
		v->pack_lens[i] = get64(p + off);
		if (v->pack_lens[i] < PACK_HDR || v->pack_lens[i] > PACK_LEN_MAX)
			return err_set(ERR_CORRUPT, "vault: index '%s' gives pack %u a bad length",
				       ipath, (unsigned)i);
	}
	v->blobs = xcalloc(n_blobs ? (size_t)n_blobs : 1, sizeof(*v->blobs));
	for (size_t i = 0; i < n_blobs; i++, off += BLOB_ENT) {
		struct obj *o = &v->blobs[i];
		memcpy(o->id, p + off, 32);
		r = parse_entry_tail(v, ipath, p + off + 32, o);
		v->n_blobs = i + 1;
		if (r)
			return r;
		if (i && memcmp(v->blobs[i - 1].id, o->id, 32) >= 0) {
			char hex[65];
			hex_encode(hex, o->id, 32);
			return err_set(ERR_CORRUPT, "vault: index '%s' is out of order at object '%s'",
				       ipath, hex);
		}
	}
	v->metas = xcalloc(n_meta ? n_meta : 1, sizeof(*v->metas));
	for (uint32_t i = 0; i < n_meta; i++) {
		struct obj *o = &v->metas[i];
		size_t nl;
		if (len - off < META_ENT_FIXED)
			goto short_body;
		nl = (size_t)p[off] | (size_t)p[off + 1] << 8;
		if (nl == 0 || nl > VAULT_META_NAME_MAX || len - off - META_ENT_FIXED < nl ||
		    memchr(p + off + 2, 0, nl))
			return err_set(ERR_CORRUPT, "vault: index '%s' has a bad name at entry %u",
				       ipath, (unsigned)i);
		o->name = xstrndup((const char *)p + off + 2, nl);
		o->name_len = nl;
		v->n_metas = i + 1;
		r = parse_entry_tail(v, ipath, p + off + 2 + nl, o);
		if (r)
			return r;
		if (i && cmp_obj_name(&v->metas[i - 1], o) >= 0)
			return err_set(ERR_CORRUPT, "vault: index '%s' is out of order at '%s'", ipath,
				       o->name);
		off += META_ENT_FIXED + nl;
	}
	if (off != len)
		return err_set(ERR_CORRUPT, "vault: index '%s' has %zu stray bytes at its end",
			       ipath, len - off);
	return 0;
short_body:
	return err_set(ERR_CORRUPT, "vault: index '%s' ends inside an entry", ipath);
}

/* Read, authenticate and parse dir/index into v. */
static int read_index(struct vault *v, int dir_fd)
{
	char *ipath = path_join(v->dir, "index");
	unsigned char hdr[IDX_HDR], *body = NULL;
	struct stat st;
	uint64_t body_len, n_blobs, need;
	uint32_t n_meta;
	int fd, r = 0;
	fd = openat(dir_fd, "index", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		r = errno == ENOENT
			    ? err_set(ERR_CORRUPT, "vault: index '%s' is missing", ipath)
			    : err_set(ERR_IO, "vault: cannot open '%s': %s", ipath, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		r = err_set(ERR_CORRUPT, "vault: index '%s' is not a regular file", ipath);
		goto out;
	}
	if (full_pread(fd, hdr, IDX_HDR, 0) != IDX_HDR) {
		r = err_set(ERR_CORRUPT, "vault: index '%s' is truncated (%lld bytes)", ipath,
			    (long long)st.st_size);
		goto out;
	}
	if (memcmp(hdr, IDX_MAGIC, 8) != 0) {
		r = err_set(ERR_CORRUPT, "vault: '%s' is not a vault index (bad magic at offset 0)",
			    ipath);
		goto out;
	}
	if (get32(hdr + 8) != FORMAT_VERSION || get32(hdr + 12) != AEAD_XCHACHA20POLY1305) {
		r = err_set(ERR_CORRUPT, "vault: index '%s' has unsupported version %u or cipher %u",
			    ipath, (unsigned)get32(hdr + 8), (unsigned)get32(hdr + 12));
		goto out;
	}
	memcpy(v->uid, hdr + 16, UID_LEN);
	v->n_packs = get32(hdr + 32);
	n_meta = get32(hdr + 36);
	n_blobs = get64(hdr + 40);
	body_len = get64(hdr + 48);
	if (body_len < TAG_LEN || body_len > INDEX_MAX ||
	    (uint64_t)st.st_size != IDX_HDR + body_len) {
		r = err_set(ERR_CORRUPT, "vault: index '%s' is %lld bytes, its header says %llu",
			    ipath, (long long)st.st_size,
			    (unsigned long long)(IDX_HDR + (body_len > INDEX_MAX ? 0 : body_len)));
		goto out;
	}
	/* counts bounded by the body before any allocation sized by them */
	need = (uint64_t)n_meta * META_ENT_FIXED;
	if (v->n_packs > MAX_PACKS || n_meta > MAX_META || n_blobs > INDEX_MAX / BLOB_ENT ||
	    (need += (uint64_t)v->n_packs * PACK_ENT + n_blobs * BLOB_ENT) > body_len - TAG_LEN) {
		r = err_set(ERR_CORRUPT, "vault: index '%s' header counts do not fit its %llu bytes",
			    ipath, (unsigned long long)body_len);
		goto out;
	}
	body = xmalloc((size_t)body_len);
	if (full_pread(fd, body, (size_t)body_len, IDX_HDR) != (ssize_t)body_len) {
		r = err_set(ERR_IO, "vault: cannot read '%s'", ipath);
		goto out;
	}
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(body, NULL, NULL, body, body_len, hdr,
						       IDX_AD_LEN, hdr + IDX_AD_LEN, v->k->k) != 0) {
		r = err_set(ERR_AUTH, "vault: index '%s' failed authentication (wrong key, or the file was altered)",
			    ipath);
		goto out;
	}
	r = parse_index(v, ipath, body, (size_t)body_len - TAG_LEN, n_blobs, n_meta);
out:
	if (r && !v->pack_fds)
		v->n_packs = 0;
	if (fd >= 0)
		close(fd);
	if (body) {
		sodium_memzero(body, (size_t)body_len);
		free(body);
	}
	free(ipath);
	return r;
}

/* Check pack i's exact length and its header against the index, through its open fd. */
static int verify_pack(struct vault *v, uint32_t i)
{
	char pn[32];
	unsigned char want[PACK_HDR] = { 0 }, got[PACK_HDR];
	struct stat st;
	int fd = v->pack_fds[i];
	pack_name(pn, i);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return err_set(ERR_CORRUPT, "vault: pack '%s/%s' is not a regular file", v->dir, pn);
	if ((uint64_t)st.st_size != v->pack_lens[i])
		return err_set(ERR_CORRUPT, "vault: pack '%s/%s' is %lld bytes, the index says %llu",
			       v->dir, pn, (long long)st.st_size,
			       (unsigned long long)v->pack_lens[i]);
	memcpy(want, PACK_MAGIC, 8);
	put32(want + 8, FORMAT_VERSION);
	put32(want + 12, i);
	memcpy(want + 16, v->uid, UID_LEN);
	if (full_pread(fd, got, PACK_HDR, 0) != PACK_HDR)
		return err_set(ERR_IO, "vault: cannot read '%s/%s'", v->dir, pn);
	for (int j = 0; j < PACK_HDR; j++)
		if (got[j] != want[j])
			return err_set(ERR_CORRUPT, "vault: pack '%s/%s' has a bad header at offset %d",
				       v->dir, pn, j);
	return 0;
}

/* Open pack i of the release folder dir_fd, then verify it. */
static int open_pack(struct vault *v, int dir_fd, uint32_t i)
{
	char pn[32];
	int fd;
	pack_name(pn, i);
	fd = openat(dir_fd, pn, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT
			       ? err_set(ERR_CORRUPT, "vault: pack '%s/%s' is missing", v->dir, pn)
			       : err_set(ERR_IO, "vault: cannot open '%s/%s': %s", v->dir, pn,
					 strerror(errno));
	v->pack_fds[i] = fd;
	return verify_pack(v, i);
}

int vault_open(const char *release_dir, const struct vault_key *k, struct vault **out)
{
	struct vault *v;
	int dir_fd, r;
	r = sodium_ready();
	if (r)
		return r;
	dir_fd = open(release_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir_fd < 0)
		return errno == ENOENT ? err_set(ERR_NOTFOUND, "vault: release '%s' does not exist",
						 release_dir)
				       : err_set(ERR_IO, "vault: cannot open '%s': %s", release_dir,
						 strerror(errno));
	v = xcalloc(1, sizeof(*v));
	v->dir = xstrdup(release_dir);
	pthread_mutex_init(&v->dlock, NULL);
	r = vault_key_from_bytes(k->k, &v->k);
	if (r)
		goto out;
	r = read_index(v, dir_fd);
	for (uint32_t i = 0; !r && i < v->n_packs; i++)
		r = open_pack(v, dir_fd, i);
out:
	close(dir_fd);
	if (r) {
		vault_close(v);
		return r;
	}
	*out = v;
	return 0;
}

static ZSTD_DCtx *dctx_take(struct vault *v)
{
	ZSTD_DCtx *d = NULL;
	pthread_mutex_lock(&v->dlock);
	if (v->n_dctx)
		d = v->dctx[--v->n_dctx];
	pthread_mutex_unlock(&v->dlock);
	if (!d && !(d = ZSTD_createDCtx_advanced(zmem)))
		BUG("out of memory for a zstd context");
	return d;
}

static void dctx_give(struct vault *v, ZSTD_DCtx *d)
{
	pthread_mutex_lock(&v->dlock);
	if (v->n_dctx == v->cap_dctx) {
		v->cap_dctx = v->cap_dctx ? 2 * v->cap_dctx : 4;
		v->dctx = xrealloc(v->dctx, v->cap_dctx * sizeof(*v->dctx));
	}
	v->dctx[v->n_dctx++] = d;
	pthread_mutex_unlock(&v->dlock);
}

/*
 * XChaCha20-Poly1305-IETF opened through libcrypto, whose ChaCha20 and Poly1305 (AVX-512)
 * run twice as fast as libsodium 1.0.18's on the reference machine: the same construction
 * as crypto_aead_xchacha20poly1305_ietf, a subkey from HChaCha20 over the nonce's first
 * 16 bytes, then the IETF ChaCha20-Poly1305 under nonce 0^4 || nonce[16..24]. rec is the
 * record (nonce, m_len bytes of ciphertext, tag); the plaintext goes to out (which may be
 * rec + NONCE_LEN). c is a context initialised for ChaCha20-Poly1305 (reused). 0, or -1
 * when the tag does not verify, out then wiped.
 */
static int aead_open(EVP_CIPHER_CTX *c, const unsigned char key[VAULT_KEY_LEN],
		     const unsigned char *rec, size_t m_len, const unsigned char *ad, size_t ad_len,
		     unsigned char *out)
{
	unsigned char sub[32], iv[12] = {0};
	const unsigned char *ct = rec + NONCE_LEN;
	int l, ok;
	crypto_core_hchacha20(sub, rec, key, NULL);
	memcpy(iv + 4, rec + 16, 8);
	ok = EVP_DecryptInit_ex(c, NULL, NULL, sub, iv) == 1;
	sodium_memzero(sub, sizeof(sub));
	ok = ok && ad_len <= INT_MAX && EVP_DecryptUpdate(c, NULL, &l, ad, (int)ad_len) == 1;
	for (size_t at = 0; ok && at < m_len;) {
		size_t n = m_len - at < ((size_t)1 << 30) ? m_len - at : ((size_t)1 << 30);
		ok = EVP_DecryptUpdate(c, out + at, &l, ct + at, (int)n) == 1 && (size_t)l == n;
		at += n;
	}
	ok = ok && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, TAG_LEN, (void *)(ct + m_len)) == 1 &&
	     EVP_DecryptFinal_ex(c, out + m_len, &l) == 1;
	if (!ok) {
		sodium_memzero(out, m_len);
		return -1;
	}
	return 0;
}

static EVP_CIPHER_CTX *aead_ctx_new(void)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	if (!c || EVP_DecryptInit_ex(c, EVP_chacha20_poly1305(), NULL, NULL, NULL) != 1)
		BUG("libcrypto has no ChaCha20-Poly1305");
	return c;
}

/*
 * Authenticate and decompress object o from its record rec (o->stored bytes, read from its
 * pack) into dst, exactly o->raw bytes. The record is decrypted into plain (m_len bytes,
 * the caller's scratch, which it wipes). ERR_AUTH / ERR_CORRUPT naming the object, its pack
 * and offset; dst may hold partial bytes then.
 */
static int open_object(struct vault *v, const struct obj *o, EVP_CIPHER_CTX *c, ZSTD_DCtx *d,
		       const unsigned char *rec, unsigned char *plain, unsigned char *dst)
{
	char label[VAULT_META_NAME_MAX + 40], pn[32];
	unsigned char ad[AD_MAX];
	size_t ad_len = obj_ad(ad, v->uid, o), m_len = (size_t)o->stored - REC_OVERHEAD, n;
	if (aead_open(c, v->k->k, rec, m_len, ad, ad_len, o->method == METHOD_RAW ? dst : plain))
		return err_set(ERR_AUTH, "vault: %s in '%s/%s' at offset %llu failed authentication",
			       obj_label(o, label), v->dir, (pack_name(pn, o->pack), pn),
			       (unsigned long long)o->off);
	if (o->method == METHOD_RAW)
		return 0;
	if (ZSTD_getFrameContentSize(plain, m_len) != o->raw)
		return err_set(ERR_CORRUPT, "vault: %s in '%s/%s' at offset %llu has a bad size",
			       obj_label(o, label), v->dir, (pack_name(pn, o->pack), pn),
			       (unsigned long long)o->off);
	n = ZSTD_decompressDCtx(d, dst, (size_t)o->raw, plain, m_len);
	if (ZSTD_isError(n) || n != o->raw)
		return err_set(ERR_CORRUPT, "vault: %s in '%s/%s' at offset %llu does not decompress",
			       obj_label(o, label), v->dir, (pack_name(pn, o->pack), pn),
			       (unsigned long long)o->off);
	return 0;
}

/*
 * Read, authenticate and decompress object o, appending its plaintext to out. The
 * decrypted (compressed) bytes are wiped before they are freed. ERR_AUTH / ERR_CORRUPT /
 * ERR_TOOBIG naming the object, its pack and offset.
 */
static int read_object(struct vault *v, const struct obj *o, struct buf *out)
{
	char label[VAULT_META_NAME_MAX + 40], pn[32];
	unsigned char *rec;
	EVP_CIPHER_CTX *c = NULL;
	ZSTD_DCtx *d = NULL;
	int r = 0;
	rec = xmalloc((size_t)o->stored);
	if (full_pread(v->pack_fds[o->pack], rec, (size_t)o->stored, o->off) !=
	    (ssize_t)o->stored) {
		r = err_set(ERR_CORRUPT, "vault: %s in '%s/%s' at offset %llu is truncated",
			    obj_label(o, label), v->dir, (pack_name(pn, o->pack), pn),
			    (unsigned long long)o->off);
		goto out;
	}
	if (buf_grow(out, (size_t)o->raw)) {
		r = err_set(ERR_TOOBIG, "vault: %s is %llu bytes, more than the %zu allowed",
			    obj_label(o, label), (unsigned long long)o->raw, out->max - out->len);
		goto out;
	}
	c = aead_ctx_new();
	if (o->method != METHOD_RAW)
		d = dctx_take(v);
	/* decrypted in place: the record is wiped below */
	r = open_object(v, o, c, d, rec, rec + NONCE_LEN, (unsigned char *)out->p + out->len);
	if (d)
		dctx_give(v, d);
	if (r) {
		sodium_memzero(out->p + out->len, (size_t)o->raw);
		goto out;
	}
	out->len += (size_t)o->raw;
	out->p[out->len] = 0;
out:
	EVP_CIPHER_CTX_free(c);
	sodium_memzero(rec, (size_t)o->stored);
	free(rec);
	return r;
}

static int cmp_id_key(const void *key, const void *elem)
{
	return memcmp(key, ((const struct obj *)elem)->id, 32);
}

int vault_get(struct vault *v, const unsigned char id[32], struct buf *out)
{
	const struct obj *o = bsearch(id, v->blobs, v->n_blobs, sizeof(*v->blobs), cmp_id_key);
	if (!o) {
		char hex[65];
		hex_encode(hex, id, 32);
		return err_set(ERR_NOTFOUND, "vault: object '%s' is not in release '%s'", hex,
			       v->dir);
	}
	{
		/* whoever holds the data key could re-encrypt another text under this id: the
		 * bytes must hash to it */
		size_t start = out->len;
		unsigned char got[32];
		int r = read_object(v, o, out);
		if (r)
			return r;
		gitobj_blob_sha256(out->p + start, out->len - start, got);
		if (memcmp(got, id, 32)) {
			char hex[65];
			hex_encode(hex, id, 32);
			sodium_memzero(out->p + start, out->len - start);
			out->len = start;
			out->p[start] = 0;
			return err_set(ERR_CORRUPT, "vault: object %s of '%s' does not hash to its id", hex,
				       v->dir);
		}
	}
	return 0;
}

/* ---- reading many blobs: the index loader's reader ---- */

#define SPAN_MAX ((size_t)4 << 20) /* the most of a pack one read takes */

struct vault_reader {
	struct vault *v;
	EVP_CIPHER_CTX *cipher;
	EVP_MD_CTX *md;
	EVP_MD *sha256;
	ZSTD_DCtx *dctx;
	const struct obj **objs; /* the objects of the current vault_get_many */
	size_t cap_objs;
	unsigned char *span; /* pack bytes [span_off, span_off + span_len) of pack span_pack */
	size_t span_cap, span_len;
	uint32_t span_pack;
	uint64_t span_off;
	unsigned char *plain; /* a decrypted, still compressed record: wiped when freed */
	size_t plain_cap;
};

struct vault_reader *vault_reader_new(struct vault *v)
{
	struct vault_reader *rd = xcalloc(1, sizeof(*rd));
	rd->v = v;
	rd->cipher = aead_ctx_new();
	rd->md = EVP_MD_CTX_new();
	rd->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (!rd->md || !rd->sha256 || !(rd->dctx = ZSTD_createDCtx_advanced(zmem)))
		BUG("out of memory for a vault reader");
	return rd;
}

void vault_reader_free(struct vault_reader *rd)
{
	if (!rd)
		return;
	EVP_CIPHER_CTX_free(rd->cipher);
	EVP_MD_CTX_free(rd->md);
	EVP_MD_free(rd->sha256);
	ZSTD_freeDCtx(rd->dctx);
	free(rd->objs);
	free(rd->span);
	if (rd->plain)
		sodium_memzero(rd->plain, rd->plain_cap);
	free(rd->plain);
	free(rd);
}

static const struct obj *find_blob(const struct vault *v, const unsigned char id[32])
{
	return bsearch(id, v->blobs, v->n_blobs, sizeof(*v->blobs), cmp_id_key);
}

static int not_found(const struct vault *v, const unsigned char id[32])
{
	char hex[65];
	hex_encode(hex, id, 32);
	return err_set(ERR_NOTFOUND, "vault: object '%s' is not in release '%s'", hex, v->dir);
}

int vault_blob_pos(const struct vault *v, const unsigned char id[32], uint64_t *pos)
{
	const struct obj *o = find_blob(v, id);
	if (!o)
		return not_found(v, id);
	*pos = (uint64_t)o->pack << 40 | o->off; /* offsets are below PACK_LEN_MAX, 2^40 */
	return 0;
}

/*
 * Make the span hold objs[i]'s record: one read from its offset through the records of
 * the objects after it that follow it in the same pack, up to SPAN_MAX.
 */
static int span_fill(struct vault_reader *rd, size_t i, size_t n)
{
	const struct obj *o = rd->objs[i];
	uint64_t end = o->off + o->stored;
	if (o->pack == rd->span_pack && rd->span && o->off >= rd->span_off &&
	    end <= rd->span_off + rd->span_len)
		return 0;
	for (size_t j = i + 1; j < n; j++) {
		const struct obj *q = rd->objs[j];
		if (q->pack != o->pack || q->off < o->off || q->off + q->stored - o->off > SPAN_MAX)
			break;
		if (q->off + q->stored > end)
			end = q->off + q->stored;
	}
	if (end - o->off > rd->span_cap) {
		free(rd->span);
		rd->span_cap = (size_t)(end - o->off);
		rd->span = xmalloc(rd->span_cap);
	}
	rd->span_pack = o->pack;
	rd->span_off = o->off;
	rd->span_len = 0;
	if (full_pread(rd->v->pack_fds[o->pack], rd->span, (size_t)(end - o->off), o->off) !=
	    (ssize_t)(end - o->off)) {
		char label[VAULT_META_NAME_MAX + 40], pn[32];
		pack_name(pn, o->pack);
		return err_set(ERR_CORRUPT, "vault: %s in '%s/%s' at offset %llu is truncated",
			       obj_label(o, label), rd->v->dir, pn, (unsigned long long)o->off);
	}
	rd->span_len = (size_t)(end - o->off);
	return 0;
}

/* Read one wanted blob, its record in the span, into its place, and check its id. */
static int get_one(struct vault_reader *rd, const struct obj *o, const struct vault_want *w)
{
	char hex[65], h[32];
	unsigned char got[32];
	size_t m_len = (size_t)o->stored - REC_OVERHEAD, hl;
	int r;
	if (o->raw != w->len) {
		hex_encode(hex, o->id, 32);
		return err_set(ERR_CORRUPT, "vault: object %s of '%s' holds %llu bytes, not %zu", hex,
			       rd->v->dir, (unsigned long long)o->raw, w->len);
	}
	if (o->method != METHOD_RAW && m_len > rd->plain_cap) {
		if (rd->plain)
			sodium_memzero(rd->plain, rd->plain_cap);
		free(rd->plain);
		rd->plain_cap = m_len;
		rd->plain = xmalloc(m_len);
	}
	if ((r = open_object(rd->v, o, rd->cipher, rd->dctx, rd->span + (o->off - rd->span_off),
			     rd->plain, w->dst)))
		goto fail;
	/* whoever holds the data key could re-encrypt another text under this id: the bytes
	 * must hash to it */
	hl = gitobj_blob_header(h, w->len);
	if (EVP_DigestInit_ex(rd->md, rd->sha256, NULL) != 1 ||
	    EVP_DigestUpdate(rd->md, h, hl) != 1 || EVP_DigestUpdate(rd->md, w->dst, w->len) != 1 ||
	    EVP_DigestFinal_ex(rd->md, got, NULL) != 1)
		BUG("SHA-256 failed");
	if (memcmp(got, o->id, 32)) {
		hex_encode(hex, o->id, 32);
		r = err_set(ERR_CORRUPT, "vault: object %s of '%s' does not hash to its id", hex,
			    rd->v->dir);
		goto fail;
	}
	return 0;
fail:
	sodium_memzero(w->dst, w->len);
	return r;
}

int vault_get_many(struct vault_reader *rd, const struct vault_want *w, size_t n, size_t *bad)
{
	int r = 0;
	size_t i;
	if (n > rd->cap_objs) {
		free(rd->objs);
		rd->cap_objs = n;
		rd->objs = xmalloc(n * sizeof(*rd->objs));
	}
	for (i = 0; i < n; i++)
		if (!(rd->objs[i] = find_blob(rd->v, w[i].id))) {
			r = not_found(rd->v, w[i].id);
			goto out;
		}
	for (i = 0; i < n; i++)
		if ((r = span_fill(rd, i, n)) || (r = get_one(rd, rd->objs[i], &w[i])))
			goto out;
out:
	*bad = i;
	return r;
}

int vault_get_meta(struct vault *v, const char *name, struct buf *out)
{
	size_t nl = strlen(name);
	for (size_t lo = 0, hi = v->n_metas; lo < hi;) {
		size_t mid = lo + (hi - lo) / 2;
		int c = cmp_name(name, nl, v->metas[mid].name, v->metas[mid].name_len);
		if (!c)
			return read_object(v, &v->metas[mid], out);
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return err_set(ERR_NOTFOUND, "vault: named object '%s' is not in release '%s'", name,
		       v->dir);
}

/* Every file of the folder must be "index" or one of the packs; nothing else. */
static int check_files(struct vault *v)
{
	DIR *d = opendir(v->dir);
	struct dirent *e;
	int r = 0;
	if (!d)
		return err_set(ERR_IO, "vault: cannot list '%s': %s", v->dir, strerror(errno));
	while ((e = readdir(d))) {
		char *end;
		unsigned long n;
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") ||
		    !strcmp(e->d_name, "index"))
			continue;
		if (!strncmp(e->d_name, "pack-", 5) && strlen(e->d_name) == 11 &&
		    e->d_name[5] >= '0' && e->d_name[5] <= '9') {
			n = strtoul(e->d_name + 5, &end, 10);
			if (!*end && n < v->n_packs)
				continue;
		}
		r = err_set(ERR_CORRUPT, "vault: unexpected file '%s' in release '%s'", e->d_name,
			    v->dir);
		break;
	}
	closedir(d);
	return r;
}

static int cmp_pack_off(const void *a, const void *b)
{
	const struct obj *x = *(const struct obj *const *)a, *y = *(const struct obj *const *)b;
	if (x->pack != y->pack)
		return x->pack < y->pack ? -1 : 1;
	return x->off < y->off ? -1 : x->off > y->off;
}

/* The objects in pack order must tile each pack from its header to its end exactly. */
static int check_layout(struct vault *v, struct obj **ord, size_t n)
{
	size_t i = 0;
	char pn[32];
	for (uint32_t p = 0; p < v->n_packs; p++) {
		uint64_t at = PACK_HDR;
		pack_name(pn, p);
		for (; i < n && ord[i]->pack == p; i++) {
			char label[VAULT_META_NAME_MAX + 40];
			if (ord[i]->off != at)
				return err_set(ERR_CORRUPT, "vault: pack '%s/%s' has %s at offset %llu where %llu was expected",
					       v->dir, pn, obj_label(ord[i], label),
					       (unsigned long long)ord[i]->off,
					       (unsigned long long)at);
			at += ord[i]->stored;
		}
		if (at != v->pack_lens[p])
			return err_set(ERR_CORRUPT, "vault: pack '%s/%s' has %llu stray bytes at offset %llu",
				       v->dir, pn, (unsigned long long)(v->pack_lens[p] - at),
				       (unsigned long long)at);
	}
	return 0;
}

/*
 * Walk the whole release: files, pack headers (again), layout, then every object in pack
 * order, handing each blob's plaintext to cb. The plaintext buffer is wiped after each.
 */
int vault_check(struct vault *v,
		int (*cb)(void *ctx, const unsigned char id[32], const void *p, size_t len),
		void *ctx)
{
	size_t n = v->n_blobs + v->n_metas;
	struct obj **ord = xcalloc(n ? n : 1, sizeof(*ord));
	struct buf plain;
	int r;
	buf_init(&plain, VAULT_OBJECT_MAX);
	r = check_files(v);
	for (uint32_t p = 0; !r && p < v->n_packs; p++)
		r = verify_pack(v, p);
	if (r)
		goto out;
	for (size_t i = 0; i < v->n_blobs; i++)
		ord[i] = &v->blobs[i];
	for (size_t i = 0; i < v->n_metas; i++)
		ord[v->n_blobs + i] = &v->metas[i];
	qsort(ord, n, sizeof(*ord), cmp_pack_off);
	r = check_layout(v, ord, n);
	for (size_t i = 0; !r && i < n; i++) {
		r = read_object(v, ord[i], &plain);
		if (!r && !ord[i]->name && cb)
			r = cb(ctx, ord[i]->id, plain.p, plain.len);
		sodium_memzero(plain.p, plain.len);
		buf_reset(&plain);
	}
out:
	buf_release(&plain);
	free(ord);
	return r;
}
