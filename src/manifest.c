/* manifest: the sealed file list, its sort order, ids and binary encoding. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gitobj.h"
#include "hash.h"
#include "manifest.h"

#define MAGIC "SRMF"
#define VERSION 1u
#define HEADER_LEN (4 + 4 + 8 + 8)
#define ENTRY_FIXED (4 + 2 + 8 + SHA1_LEN + SHA256_LEN)
#define TRAILER_LEN SHA256_LEN

struct manifest {
	struct manifest_entry *v;
	size_t n, cap;
	int sorted;
};

struct manifest *manifest_new(void)
{
	struct manifest *m = xcalloc(1, sizeof(*m));
	m->sorted = 1;
	return m;
}

void manifest_free(struct manifest *m)
{
	size_t i;
	if (!m)
		return;
	for (i = 0; i < m->n; i++)
		free(m->v[i].path);
	free(m->v);
	free(m);
}

int manifest_add(struct manifest *m, const char *path, size_t path_len, unsigned mode,
		 uint64_t size, const unsigned char sha1_id[20], const unsigned char sha256_id[32])
{
	struct manifest_entry *e;
	int rc;
	if (!gitobj_mode_ok(mode))
		return err_set(ERR_USAGE, "mode '%o' is not a git file mode", mode);
	if (path_len > MANIFEST_MAX_PATH) {
		char q[128];
		return err_set(ERR_TOOBIG, "'%s' is longer than %d bytes",
			       gitobj_quote(q, sizeof(q), path, path_len), MANIFEST_MAX_PATH);
	}
	if ((rc = gitobj_path_check(path, path_len)) < 0)
		return rc;
	if (m->n >= MANIFEST_MAX_ENTRIES)
		return err_set(ERR_TOOBIG, "more than %llu files",
			       (unsigned long long)MANIFEST_MAX_ENTRIES);
	if (m->n == m->cap) {
		size_t cap = m->cap ? 2 * m->cap : 64;
		m->v = xrealloc(m->v, cap * sizeof(*m->v));
		m->cap = cap;
	}
	e = &m->v[m->n++];
	e->path = xstrndup(path, path_len);
	e->path_len = path_len;
	e->mode = mode;
	e->size = size;
	memcpy(e->sha1, sha1_id, SHA1_LEN);
	memcpy(e->sha256, sha256_id, SHA256_LEN);
	m->sorted = m->n == 1 ? m->sorted : 0;
	return 0;
}

static int entry_cmp(const void *x, const void *y)
{
	const struct manifest_entry *a = x, *b = y;
	return gitobj_path_cmp(a->path, a->path_len, b->path, b->path_len);
}

/* Sort by path bytes and reject a path that appears twice. */
int manifest_sort(struct manifest *m)
{
	size_t i;
	char q[256];
	if (!m->sorted)
		qsort(m->v, m->n, sizeof(*m->v), entry_cmp);
	for (i = 1; i < m->n; i++)
		if (entry_cmp(&m->v[i - 1], &m->v[i]) == 0)
			return err_set(ERR_HOSTILE, "'%s' appears twice",
				       gitobj_quote(q, sizeof(q), m->v[i].path, m->v[i].path_len));
	m->sorted = 1;
	return 0;
}

size_t manifest_count(const struct manifest *m)
{
	return m->n;
}

const struct manifest_entry *manifest_get(const struct manifest *m, size_t i)
{
	if (i >= m->n)
		BUG("manifest_get(%zu) past %zu entries", i, m->n);
	return &m->v[i];
}

const struct manifest_entry *manifest_find(const struct manifest *m, const char *path,
					   size_t len)
{
	size_t lo = 0, hi = m->n;
	if (!m->sorted)
		BUG("manifest_find on an unsorted manifest");
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = gitobj_path_cmp(m->v[mid].path, m->v[mid].path_len, path, len);
		if (c == 0)
			return &m->v[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

int manifest_tree_ids(const struct manifest *m, unsigned char sha1_out[20],
		      unsigned char sha256_out[32])
{
	struct tree_builder *t = tree_builder_new();
	size_t i;
	int rc = 0;
	for (i = 0; i < m->n; i++) {
		const struct manifest_entry *e = &m->v[i];
		if ((rc = tree_builder_add(t, e->path, e->path_len, e->mode, e->sha1, e->sha256)) < 0)
			goto out;
	}
	rc = tree_builder_finish(t, sha1_out, sha256_out);
out:
	tree_builder_free(t);
	return rc;
}

uint64_t manifest_bytes(const struct manifest *m)
{
	uint64_t s = 0;
	size_t i;
	for (i = 0; i < m->n; i++)
		s += m->v[i].size;
	return s;
}

static void put_be(unsigned char *p, uint64_t v, int n)
{
	int i;
	for (i = n - 1; i >= 0; i--) {
		p[i] = (unsigned char)(v & 0xff);
		v >>= 8;
	}
}

static uint64_t get_be(const unsigned char *p, int n)
{
	uint64_t v = 0;
	int i;
	for (i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

/*
 * Append the encoding of a sorted manifest to out: header, entries, SHA-256 trailer.
 * Returns 0, ERR_USAGE for an unsorted manifest, or ERR_TOOBIG when out's cap is reached.
 */
int manifest_encode(const struct manifest *m, struct buf *out)
{
	unsigned char h[HEADER_LEN], fx[ENTRY_FIXED], digest[SHA256_LEN];
	size_t start = out->len, i;
	uint64_t total = 0;
	int rc;
	if (!m->sorted)
		return err_set(ERR_USAGE, "manifest must be sorted before it is encoded");
	for (i = 0; i < m->n; i++)
		if (__builtin_add_overflow(total, m->v[i].size, &total))
			return err_set(ERR_TOOBIG, "manifest byte count overflows");
	memcpy(h, MAGIC, 4);
	put_be(h + 4, VERSION, 4);
	put_be(h + 8, m->n, 8);
	put_be(h + 16, total, 8);
	if ((rc = buf_add(out, h, sizeof(h))) < 0)
		goto fail;
	for (i = 0; i < m->n; i++) {
		const struct manifest_entry *e = &m->v[i];
		put_be(fx, e->mode, 4);
		put_be(fx + 4, e->path_len, 2);
		put_be(fx + 6, e->size, 8);
		memcpy(fx + 14, e->sha1, SHA1_LEN);
		memcpy(fx + 14 + SHA1_LEN, e->sha256, SHA256_LEN);
		if ((rc = buf_add(out, fx, sizeof(fx))) < 0 ||
		    (rc = buf_add(out, e->path, e->path_len)) < 0)
			goto fail;
	}
	sha256(out->p + start, out->len - start, digest);
	if ((rc = buf_add(out, digest, sizeof(digest))) < 0)
		goto fail;
	return 0;
fail:
	out->len = start;
	out->p[start] = 0;
	return rc;
}

/*
 * Decode (p, len). Every field is checked before it is used: magic, version, the trailer
 * hash, count against what the bytes can hold, each path's length, validity and order,
 * each mode, and the byte total. Returns 0 with *out set, or ERR_CORRUPT.
 */
int manifest_decode(const void *p, size_t len, struct manifest **out)
{
	const unsigned char *b = p, *end;
	unsigned char digest[SHA256_LEN];
	struct manifest *m = NULL;
	uint64_t count, total, sum = 0, i;
	size_t off;
	int rc = 0;
	*out = NULL;
	if (len < HEADER_LEN + TRAILER_LEN)
		return err_set(ERR_CORRUPT, "manifest is truncated (%zu bytes)", len);
	if (memcmp(b, MAGIC, 4) != 0)
		return err_set(ERR_CORRUPT, "manifest has a bad magic number");
	if (get_be(b + 4, 4) != VERSION)
		return err_set(ERR_CORRUPT, "manifest version '%llu' is not supported",
			       (unsigned long long)get_be(b + 4, 4));
	sha256(b, len - TRAILER_LEN, digest);
	if (memcmp(digest, b + len - TRAILER_LEN, TRAILER_LEN) != 0)
		return err_set(ERR_CORRUPT, "manifest checksum does not match");
	count = get_be(b + 8, 8);
	total = get_be(b + 16, 8);
	end = b + len - TRAILER_LEN;
	if (count > MANIFEST_MAX_ENTRIES ||
	    count > (uint64_t)(len - HEADER_LEN - TRAILER_LEN) / (ENTRY_FIXED + 1))
		return err_set(ERR_CORRUPT, "manifest entry count '%llu' is impossible",
			       (unsigned long long)count);
	m = manifest_new();
	m->v = xcalloc(count ? count : 1, sizeof(*m->v));
	m->cap = count ? count : 1;
	off = HEADER_LEN;
	for (i = 0; i < count; i++) {
		struct manifest_entry *e;
		size_t plen;
		unsigned mode;
		if ((size_t)(end - b) - off < ENTRY_FIXED) {
			rc = err_set(ERR_CORRUPT, "manifest entry %llu is truncated",
				     (unsigned long long)i);
			goto out;
		}
		mode = (unsigned)get_be(b + off, 4);
		plen = (size_t)get_be(b + off + 4, 2);
		if (!gitobj_mode_ok(mode)) {
			rc = err_set(ERR_CORRUPT, "manifest entry %llu has bad mode '%o'",
				     (unsigned long long)i, mode);
			goto out;
		}
		if (plen == 0 || plen > MANIFEST_MAX_PATH ||
		    (size_t)(end - b) - off - ENTRY_FIXED < plen) {
			rc = err_set(ERR_CORRUPT, "manifest entry %llu has a bad path length",
				     (unsigned long long)i);
			goto out;
		}
		if (gitobj_path_check((const char *)b + off + ENTRY_FIXED, plen) < 0) {
			char why[512];
			snprintf(why, sizeof(why), "%s", err_msg());
			rc = err_set(ERR_CORRUPT, "manifest entry %llu: %s", (unsigned long long)i,
				     why);
			goto out;
		}
		e = &m->v[m->n];
		e->mode = mode;
		e->size = get_be(b + off + 6, 8);
		memcpy(e->sha1, b + off + 14, SHA1_LEN);
		memcpy(e->sha256, b + off + 14 + SHA1_LEN, SHA256_LEN);
		e->path = xstrndup((const char *)b + off + ENTRY_FIXED, plen);
		e->path_len = plen;
		m->n++;
		if (m->n > 1 && entry_cmp(&m->v[m->n - 2], e) >= 0) {
			rc = err_set(ERR_CORRUPT, "manifest entry %llu is out of order",
				     (unsigned long long)i);
			goto out;
		}
		if (__builtin_add_overflow(sum, e->size, &sum)) {
			rc = err_set(ERR_CORRUPT, "manifest sizes overflow");
			goto out;
		}
		off += ENTRY_FIXED + plen;
	}
	if (off != (size_t)(end - b)) {
		rc = err_set(ERR_CORRUPT, "manifest has %zu trailing bytes", (size_t)(end - b) - off);
		goto out;
	}
	if (sum != total) {
		rc = err_set(ERR_CORRUPT, "manifest byte total does not match its entries");
		goto out;
	}
	m->sorted = 1;
	*out = m;
	m = NULL;
out:
	manifest_free(m);
	return rc;
}
