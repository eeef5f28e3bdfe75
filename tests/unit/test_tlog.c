/* test_tlog: Merkle math against the transparency-dev vectors, and the text formats. */
#include <dirent.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "hash.h"
#include "test.h"
#include "tlog.h"

/* An in-memory stored-hash array, as logdb keeps in SQLite. */
struct mem {
	unsigned char (*h)[TLOG_HASH_LEN];
	uint64_t n, cap;
	int reads;
};

static int mem_read(void *ctx, uint64_t idx, unsigned char out[TLOG_HASH_LEN])
{
	struct mem *m = ctx;
	m->reads++;
	if (idx >= m->n)
		return err_set(ERR_NOTFOUND, "no stored hash %llu", (unsigned long long)idx);
	memcpy(out, m->h[idx], TLOG_HASH_LEN);
	return 0;
}

static void mem_append(struct mem *m, const void *entry, size_t len, uint64_t leaves)
{
	unsigned char leaf[TLOG_HASH_LEN], add[70][TLOG_HASH_LEN];
	struct tlog_reader rd = {mem_read, m};
	size_t k = 0;
	tlog_leaf_hash(entry, len, leaf);
	if (tlog_stored_for_leaf(leaves, leaf, &rd, add, &k))
		abort();
	if (m->n + k > m->cap) {
		m->cap = (m->n + k) * 2;
		m->h = realloc(m->h, m->cap * TLOG_HASH_LEN);
	}
	memcpy(m->h[m->n], add, k * TLOG_HASH_LEN);
	m->n += k;
}

static size_t unb64(const char *s, unsigned char *out, size_t cap)
{
	size_t n = 0;
	if (sodium_base642bin(out, cap, s, strlen(s), NULL, &n, NULL, sodium_base64_VARIANT_ORIGINAL))
		return (size_t)-1;
	return n;
}

TEST(tree_hash_vector)
{
	static const char *hex[] = {"", "00", "10", "2021", "3031", "40414243",
				    "5051525354555657", "606162636465666768696a6b6c6d6e6f"};
	unsigned char leaves[8][TLOG_HASH_LEN], root[32], want[32], data[16];
	struct mem m = {0};
	struct tlog_reader rd = {mem_read, &m};
	for (int i = 0; i < 8; i++) {
		size_t l = strlen(hex[i]) / 2;
		CHECK(hex_decode(data, l, hex[i], strlen(hex[i])) == 0);
		tlog_leaf_hash(data, l, leaves[i]);
		mem_append(&m, data, l, (uint64_t)i);
	}
	tlog_root(leaves, 8, root);
	CHECK(hex_decode(want, 32, "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328", 64) == 0);
	CHECK(!memcmp(root, want, 32));
	CHECK(tlog_tree_hash(8, &rd, root) == 0 && !memcmp(root, want, 32));
	tlog_root(leaves, 3, root);
	CHECK(hex_decode(want, 32, "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77", 64) == 0);
	CHECK(!memcmp(root, want, 32));
	CHECK(tlog_tree_hash(3, &rd, root) == 0 && !memcmp(root, want, 32));
	tlog_root(leaves, 0, root);
	sha256("", 0, want);
	CHECK(!memcmp(root, want, 32));
	CHECK(tlog_stored_count(8) == m.n);
	free(m.h);
}

static int n_incl, n_cons;

/* Jansson holds integers as signed 64-bit; the vectors use values up to 2^64 - 1. */
static uint64_t get_u64(const char *text, const char *key)
{
	char k[64];
	const char *p;
	snprintf(k, sizeof(k), "\"%s\":", key);
	p = strstr(text, k);
	if (!p)
		abort();
	p += strlen(k);
	while (*p == ' ')
		p++;
	return strtoull(p, NULL, 10);
}

static int run_vector(const char *path, int consistency)
{
	json_error_t e;
	json_t *j = json_load_file(path, JSON_DECODE_INT_AS_REAL, &e), *pr;
	struct buf raw;
	unsigned char proof[80][TLOG_HASH_LEN], a[64], b[64];
	size_t n = 0, la, lb, i;
	int bad = 0, r, want_err;
	if (!j) {
		fprintf(stderr, "%s: %s\n", path, e.text);
		return -1;
	}
	buf_init(&raw, 1 << 20);
	if (buf_read_file(&raw, path))
		abort();
	want_err = json_is_true(json_object_get(j, "wantErr"));
	pr = json_object_get(j, "proof");
	for (i = 0; json_is_array(pr) && i < json_array_size(pr) && i < 80; i++) {
		unsigned char tmp[64];
		size_t l = unb64(json_string_value(json_array_get(pr, i)), tmp, sizeof(tmp));
		if (l != TLOG_HASH_LEN)
			bad = 1; /* a proof hash of the wrong length is rejected while decoding */
		else
			memcpy(proof[n++], tmp, TLOG_HASH_LEN);
	}
	if (consistency) {
		la = unb64(json_string_value(json_object_get(j, "root1")), a, sizeof(a));
		lb = unb64(json_string_value(json_object_get(j, "root2")), b, sizeof(b));
		r = bad || la == (size_t)-1 || lb == (size_t)-1 ? ERR_PARSE :
		    tlog_verify_consistency(get_u64(raw.p, "size1"), get_u64(raw.p, "size2"),
					    a, la, b, lb, (const unsigned char (*)[32])proof, n);
		n_cons++;
	} else {
		la = unb64(json_string_value(json_object_get(j, "leafHash")), a, sizeof(a));
		lb = unb64(json_string_value(json_object_get(j, "root")), b, sizeof(b));
		r = bad || la == (size_t)-1 || lb == (size_t)-1 ? ERR_PARSE :
		    tlog_verify_inclusion(get_u64(raw.p, "leafIdx"), get_u64(raw.p, "treeSize"),
					  a, la, (const unsigned char (*)[32])proof, n, b, lb);
		n_incl++;
	}
	json_decref(j);
	buf_release(&raw);
	if ((r != 0) != want_err) {
		fprintf(stderr, "%s: wanted %s, got %d (%s)\n", path, want_err ? "an error" : "success",
			r, err_msg());
		return -1;
	}
	return 0;
}

static int walk(const char *dir, int consistency)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int fails = 0;
	if (!d)
		return -1000;
	while ((de = readdir(d))) {
		char p[4096];
		size_t l = strlen(de->d_name);
		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		if (l > 5 && !strcmp(de->d_name + l - 5, ".json"))
			fails += run_vector(p, consistency) ? 1 : 0;
		else
			fails += walk(p, consistency) < 0 ? 1 : 0;
	}
	closedir(d);
	return -fails;
}

TEST(merkle_vectors)
{
	char p[4096];
	DIR *d;
	snprintf(p, sizeof(p), "%s/merkle", test_vectors_dir());
	if (!(d = opendir(p))) {
		printf("vectors skipped: '%s' not found\n", p);
		return;
	}
	closedir(d);
	snprintf(p, sizeof(p), "%s/merkle/inclusion", test_vectors_dir());
	CHECK(walk(p, 0) == 0);
	snprintf(p, sizeof(p), "%s/merkle/consistency", test_vectors_dir());
	CHECK(walk(p, 1) == 0);
	printf("merkle vectors: %d inclusion, %d consistency\n", n_incl, n_cons);
	CHECK(n_incl > 50 && n_cons > 50);
}

/* Every proof of every tree up to 70 leaves verifies, and flipping any bit breaks it. */
TEST(proofs_roundtrip)
{
	struct mem m = {0};
	struct tlog_reader rd = {mem_read, &m};
	unsigned char leaves[70][TLOG_HASH_LEN], roots[71][TLOG_HASH_LEN], proof[TLOG_MAX_PROOF][32];
	size_t n;
	for (uint64_t i = 0; i < 70; i++) {
		char e[32];
		int l = snprintf(e, sizeof(e), "entry %llu", (unsigned long long)i);
		tlog_leaf_hash(e, (size_t)l, leaves[i]);
		mem_append(&m, e, (size_t)l, i);
		CHECK(m.n == tlog_stored_count(i + 1));
	}
	for (uint64_t s = 0; s <= 70; s++) {
		unsigned char want[32];
		tlog_root(leaves, s, want);
		CHECK(tlog_tree_hash(s, &rd, roots[s]) == 0);
		CHECK(!memcmp(want, roots[s], 32));
	}
	for (uint64_t s = 1; s <= 70; s++) {
		for (uint64_t i = 0; i < s; i++) {
			CHECK(tlog_prove_inclusion(i, s, &rd, proof, &n) == 0);
			CHECK(tlog_verify_inclusion(i, s, leaves[i], 32, (const unsigned char (*)[32])proof, n,
						    roots[s], 32) == 0);
			if (n) {
				proof[n - 1][5] ^= 1;
				CHECK(tlog_verify_inclusion(i, s, leaves[i], 32,
							    (const unsigned char (*)[32])proof, n, roots[s], 32) == ERR_AUTH);
			}
			CHECK(tlog_verify_inclusion(i, s, leaves[(i + 1) % 70], 32,
						    (const unsigned char (*)[32])proof, n, roots[s], 32) != 0 || s == 1);
		}
		for (uint64_t a = 1; a <= s; a++) {
			CHECK(tlog_prove_consistency(a, s, &rd, proof, &n) == 0);
			CHECK(tlog_verify_consistency(a, s, roots[a], 32, roots[s], 32,
						      (const unsigned char (*)[32])proof, n) == 0);
			if (n) {
				proof[0][0] ^= 0x80;
				CHECK(tlog_verify_consistency(a, s, roots[a], 32, roots[s], 32,
							      (const unsigned char (*)[32])proof, n) == ERR_AUTH);
				CHECK(tlog_verify_consistency(a, s, roots[a], 32, roots[s], 32,
							      (const unsigned char (*)[32])proof, n - 1) == ERR_AUTH);
			}
		}
	}
	CHECK(tlog_prove_inclusion(70, 70, &rd, proof, &n) == ERR_USAGE);
	CHECK(tlog_prove_consistency(0, 5, &rd, proof, &n) == ERR_USAGE);
	CHECK(tlog_prove_consistency(6, 5, &rd, proof, &n) == ERR_USAGE);
	free(m.h);
}

TEST(stored_index)
{
	/* values from Go's tlog: StoredHashIndex(0, n) for n = 0..4 and level 1 */
	CHECK(tlog_stored_index(0, 0) == 0);
	CHECK(tlog_stored_index(0, 1) == 1);
	CHECK(tlog_stored_index(1, 0) == 2);
	CHECK(tlog_stored_index(0, 2) == 3);
	CHECK(tlog_stored_index(0, 3) == 4);
	CHECK(tlog_stored_index(1, 1) == 5);
	CHECK(tlog_stored_index(2, 0) == 6);
	CHECK(tlog_stored_count(0) == 0 && tlog_stored_count(1) == 1 && tlog_stored_count(2) == 3 &&
	      tlog_stored_count(4) == 7);
}

TEST(tile_paths)
{
	struct buf b;
	int level;
	uint64_t idx;
	unsigned w;
	buf_init(&b, 100);
	CHECK(tlog_tile_index_path(&b, 1234067) == 0);
	CHECK_EQ_STR(b.p, "x001/x234/067");
	buf_reset(&b);
	CHECK(tlog_tile_index_path(&b, 5) == 0);
	CHECK_EQ_STR(b.p, "005");
	buf_reset(&b);
	CHECK(tlog_tile_index_path(&b, 1000) == 0);
	CHECK_EQ_STR(b.p, "x001/000");
	buf_release(&b);
	CHECK(tlog_tile_path_parse("tile/0/x001/x234/067", &level, &idx, &w) == 0);
	CHECK(level == 0 && idx == 1234067 && w == 256);
	CHECK(tlog_tile_path_parse("tile/2/005.p/17", &level, &idx, &w) == 0);
	CHECK(level == 2 && idx == 5 && w == 17);
	CHECK(tlog_tile_path_parse("tile/entries/x001/000.p/255", &level, &idx, &w) == 0);
	CHECK(level == -1 && idx == 1000 && w == 255);
	CHECK(tlog_tile_path_parse("tile/0/x000/005", &level, &idx, &w) == ERR_PARSE);
	CHECK(tlog_tile_path_parse("tile/0/5", &level, &idx, &w) == ERR_PARSE);
	CHECK(tlog_tile_path_parse("tile/64/005", &level, &idx, &w) == ERR_PARSE);
	CHECK(tlog_tile_path_parse("tile/01/005", &level, &idx, &w) == ERR_PARSE);
	CHECK(tlog_tile_path_parse("tile/0/005.p/256", &level, &idx, &w) == ERR_PARSE);
	CHECK(tlog_tile_path_parse("tile/0/005.p/0", &level, &idx, &w) == ERR_PARSE);
	CHECK(tlog_tile_path_parse("tile/0/005/", &level, &idx, &w) == ERR_PARSE);
	CHECK(tlog_tile_path_parse("tile/0/x005", &level, &idx, &w) == ERR_PARSE);
	CHECK(tlog_tile_path_parse("tile/0/../005", &level, &idx, &w) == ERR_PARSE);
	CHECK(tlog_tile_path_parse("tile/0/x001/x001/x001/x001/x001/x001/x001/001", &level, &idx, &w) == ERR_PARSE);
}

TEST(checkpoint_and_proof_text)
{
	struct buf b, p;
	struct tlog_checkpoint c;
	unsigned char root[32], proof[3][32], got[TLOG_MAX_PROOF][32];
	uint64_t idx;
	size_t n;
	struct str note;
	memset(root, 7, 32);
	buf_init(&b, 4096);
	buf_init(&p, 8192);
	CHECK(tlog_checkpoint_format(&b, "test.example", 42, root) == 0);
	CHECK_EQ_STR(b.p, "test.example\n42\nBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\n");
	CHECK(tlog_checkpoint_parse(b.p, b.len, &c) == 0);
	CHECK(c.size == 42 && !memcmp(c.root, root, 32) && c.origin.len == 12);
	CHECK(tlog_checkpoint_parse("a\n042\nBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\n", 49, &c) == ERR_PARSE);
	CHECK(tlog_checkpoint_parse("a\n1\nBwcH\n", 9, &c) == ERR_PARSE);
	CHECK(tlog_checkpoint_parse("a\n1\n", 4, &c) == ERR_PARSE);
	CHECK(tlog_checkpoint_parse("a\n1\nBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\n\n", 50, &c) == ERR_PARSE);
	CHECK(tlog_checkpoint_parse("a\n1\nBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\next\n", 53, &c) == 0);
	memset(proof, 9, sizeof(proof));
	CHECK(tlog_proof_format(&p, 17, (const unsigned char (*)[32])proof, 3, "NOTE\n", 5) == 0);
	CHECK(tlog_proof_parse(p.p, p.len, &idx, got, &n, &note) == 0);
	CHECK(idx == 17 && n == 3 && !memcmp(got, proof, sizeof(proof)) && note.len == 5);
	CHECK(tlog_proof_parse("c2sp.org/tlog-proof@v1\nindex 01\n\nX", 34, &idx, got, &n, &note) == ERR_PARSE);
	CHECK(tlog_proof_parse("c2sp.org/tlog-proof@v1\nextra AAAA\nindex 0\n\nX", 44, &idx, got, &n, &note) == 0);
	CHECK(tlog_proof_parse("c2sp.org/tlog-proof@v1\nindex 0\nAAAA\n\nX", 39, &idx, got, &n, &note) == ERR_PARSE);
	CHECK(tlog_proof_parse("c2sp.org/tlog-proof@v1\nindex 0\n", 31, &idx, got, &n, &note) == ERR_PARSE);
	buf_release(&b);
	buf_release(&p);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	RUN(tree_hash_vector);
	RUN(merkle_vectors);
	RUN(proofs_roundtrip);
	RUN(stored_index);
	RUN(tile_paths);
	RUN(checkpoint_and_proof_text);
	return test_done();
}
