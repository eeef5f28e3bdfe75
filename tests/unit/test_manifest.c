/* test_manifest: sort, find, ids, encode/decode round trip and hostile encodings. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "gitobj.h"
#include "hash.h"
#include "manifest.h"
#include "test.h"

static struct manifest *sample(void)
{
	struct manifest *m = manifest_new();
	const char *paths[] = { "src/main.c", "README", "src/a/b.c", "bin/run", "link", "\xff\xfe" };
	unsigned modes[] = { GITOBJ_MODE_FILE, GITOBJ_MODE_FILE, GITOBJ_MODE_FILE,
			     GITOBJ_MODE_EXEC, GITOBJ_MODE_LINK, GITOBJ_MODE_FILE };
	size_t i;
	for (i = 0; i < 6; i++) {
		unsigned char a[20], b[32];
		gitobj_blob_ids(paths[i], strlen(paths[i]), a, b);
		if (manifest_add(m, paths[i], strlen(paths[i]), modes[i], strlen(paths[i]), a, b) < 0)
			BUG("manifest_add failed");
	}
	return m;
}

TEST(sort_find)
{
	struct manifest *m = sample();
	unsigned char a[20] = { 0 }, b[32] = { 0 };
	const struct manifest_entry *e;
	CHECK(manifest_sort(m) == 0);
	CHECK(manifest_count(m) == 6);
	CHECK_EQ_STR(manifest_get(m, 0)->path, "README");
	CHECK_EQ_STR(manifest_get(m, 5)->path, "\xff\xfe");
	e = manifest_find(m, "src/a/b.c", 9);
	CHECK(e && e->size == 9 && e->mode == GITOBJ_MODE_FILE);
	CHECK(manifest_find(m, "src/a", 5) == NULL);
	CHECK(manifest_bytes(m) == 6 + 10 + 9 + 7 + 4 + 2);
	CHECK(manifest_add(m, "README", 6, GITOBJ_MODE_FILE, 0, a, b) == 0);
	CHECK(manifest_sort(m) == ERR_HOSTILE);
	CHECK(strstr(err_msg(), "'README' appears twice") != NULL);
	CHECK(manifest_add(m, "a/../b", 6, GITOBJ_MODE_FILE, 0, a, b) == ERR_HOSTILE);
	CHECK(manifest_add(m, "x", 1, 0160000, 0, a, b) == ERR_USAGE);
	manifest_free(m);
}

TEST(round_trip)
{
	struct manifest *m = sample(), *d = NULL;
	struct buf b;
	unsigned char a1[20], a2[32], b1[20], b2[32];
	size_t i;
	buf_init(&b, 0);
	CHECK(manifest_encode(m, &b) == ERR_USAGE);
	CHECK(manifest_sort(m) == 0);
	CHECK(manifest_encode(m, &b) == 0);
	CHECK(manifest_decode(b.p, b.len, &d) == 0);
	CHECK(d && manifest_count(d) == manifest_count(m));
	for (i = 0; d && i < manifest_count(m); i++) {
		const struct manifest_entry *x = manifest_get(m, i), *y = manifest_get(d, i);
		CHECK(x->path_len == y->path_len && !memcmp(x->path, y->path, x->path_len));
		CHECK(x->mode == y->mode && x->size == y->size);
		CHECK(!memcmp(x->sha1, y->sha1, 20) && !memcmp(x->sha256, y->sha256, 32));
	}
	CHECK(manifest_tree_ids(m, a1, a2) == 0);
	CHECK(d && manifest_tree_ids(d, b1, b2) == 0);
	CHECK(!memcmp(a1, b1, 20) && !memcmp(a2, b2, 32));
	manifest_free(d);
	d = NULL;
	/* an empty manifest round-trips too */
	manifest_free(m);
	m = manifest_new();
	buf_reset(&b);
	CHECK(manifest_encode(m, &b) == 0);
	CHECK(manifest_decode(b.p, b.len, &d) == 0 && d && manifest_count(d) == 0);
	manifest_free(d);
	manifest_free(m);
	buf_release(&b);
}

/* Recompute the trailer so that a change reaches the field checks. */
static void reseal(unsigned char *p, size_t len)
{
	sha256(p, len - 32, p + len - 32);
}

TEST(hostile_encodings)
{
	struct manifest *m = sample(), *d = NULL;
	struct buf b;
	unsigned char *c;
	size_t i, bits;
	int all_corrupt = 1;
	buf_init(&b, 0);
	CHECK(manifest_sort(m) == 0);
	CHECK(manifest_encode(m, &b) == 0);
	c = xmalloc(b.len);
	/* every truncation */
	for (i = 0; i < b.len; i++)
		if (manifest_decode(b.p, i, &d) != ERR_CORRUPT || d)
			all_corrupt = 0;
	CHECK(all_corrupt);
	/* every single-bit flip */
	for (bits = 0; bits < b.len * 8; bits++) {
		memcpy(c, b.p, b.len);
		c[bits / 8] ^= (unsigned char)(1u << (bits % 8));
		if (manifest_decode(c, b.len, &d) != ERR_CORRUPT || d)
			all_corrupt = 0;
	}
	CHECK(all_corrupt);
	/* the same flips behind a valid trailer: the field checks must hold alone */
	for (bits = 0; bits < (b.len - 32) * 8; bits++) {
		int rc;
		memcpy(c, b.p, b.len);
		c[bits / 8] ^= (unsigned char)(1u << (bits % 8));
		reseal(c, b.len);
		rc = manifest_decode(c, b.len, &d);
		CHECK(rc == 0 || rc == ERR_CORRUPT);
		CHECK((rc == 0) == (d != NULL));
		manifest_free(d);
		d = NULL;
	}
	/* an oversized count */
	memcpy(c, b.p, b.len);
	memset(c + 8, 0xff, 8);
	reseal(c, b.len);
	CHECK(manifest_decode(c, b.len, &d) == ERR_CORRUPT);
	CHECK(strstr(err_msg(), "entry count") != NULL);
	memcpy(c, b.p, b.len);
	c[15] = 7; /* one more entry than the bytes hold */
	reseal(c, b.len);
	CHECK(manifest_decode(c, b.len, &d) == ERR_CORRUPT);
	/* wrong magic, wrong version */
	memcpy(c, b.p, b.len);
	c[0] = 'X';
	reseal(c, b.len);
	CHECK(manifest_decode(c, b.len, &d) == ERR_CORRUPT);
	CHECK(strstr(err_msg(), "magic") != NULL);
	memcpy(c, b.p, b.len);
	c[7] = 2;
	reseal(c, b.len);
	CHECK(manifest_decode(c, b.len, &d) == ERR_CORRUPT);
	CHECK(strstr(err_msg(), "version '2'") != NULL);
	free(c);
	manifest_free(m);
	buf_release(&b);
}

int main(void)
{
	RUN(sort_find);
	RUN(round_trip);
	RUN(hostile_encodings);
	return test_done();
}
