/* test_index: building, encoding, decoding (hostile bytes) and loading the search index. */
#include "test.h"
#include "search_fixture.h"

TEST(searchable_len_follows_rg)
{
	static char big[200000];
	CHECK(index_searchable_len("abc\ndef", 7) == 7);
	CHECK(index_searchable_len("ab\0c\n", 5) == 0);  /* NUL in the first read */
	CHECK(index_searchable_len("\0", 1) == 0);
	/* a NUL past the first 64 KiB fill: the complete lines before that fill are kept */
	memset(big, 'x', sizeof(big));
	for (size_t i = 99; i < sizeof(big); i += 100)
		big[i] = '\n';
	big[150000] = 0;
	{
		size_t n = index_searchable_len(big, sizeof(big));
		CHECK(n > 0 && n < 150000 && big[n - 1] == '\n');
	}
}

TEST(round_trip_and_postings)
{
	struct fixture f;
	uint32_t *ids;
	size_t n, len;
	fixture_make(&f);
	CHECK(index_n_files(f.ix) == 6);
	/* "foo": a.c, b.h, dir/foo_bar.txt (bin.dat is cut at its NUL); trigrams keep case */
	index_postings(f.ix, index_trigram('f', 'o', 'o'), &ids, &n);
	CHECK(n == 3);
	free(ids);
	index_postings(f.ix, index_trigram('F', 'O', 'O'), &ids, &n);
	CHECK(n == 2 && ids && ids[0] == 0 && ids[1] == 1); /* FOO_BAR in a.c and b.h */
	free(ids);
	CHECK(index_postings_count(f.ix, index_trigram('f', 'O', 'o')) == 0);
	CHECK(index_postings_count(f.ix, index_trigram('K', 'e', 'l')) == 1);
	CHECK(index_postings_count(f.ix, index_trigram('k', 'e', 'l')) == 0);
	CHECK(index_postings_count(f.ix, index_trigram('q', 'q', 'q')) == 0);
	/* trigrams with a newline are not indexed */
	CHECK(index_postings_count(f.ix, index_trigram('h', '>', '\n')) == 0);
	/* bin.dat is cut at its NUL read: nothing of it is searchable */
	for (size_t i = 0; i < index_n_files(f.ix); i++) {
		const struct manifest_entry *e = manifest_get(f.m, i);
		if (!strcmp(e->path, "bin.dat"))
			CHECK(index_search_len(f.ix, i) == 0 && index_text(f.ix, i, &len) && len == 17);
		if (!strcmp(e->path, "link"))
			CHECK(index_text(f.ix, i, &len) == NULL);
	}
	fixture_free(&f);
}

TEST(symbols)
{
	struct fixture f;
	size_t lo, hi;
	fixture_make(&f);
	index_symbol_find(f.ix, "foo_bar", 7, &lo, &hi);
	CHECK(hi - lo == 2); /* the function in a.c and the macro FOO_BAR (names fold case) */
	index_symbol_find(f.ix, "foo_ops", 7, &lo, &hi);
	CHECK(hi - lo == 1 && index_symbol_by_name(f.ix, lo)->kind == SYM_TYPE);
	index_symbol_find(f.ix, "nothing", 7, &lo, &hi);
	CHECK(hi == lo);
	fixture_free(&f);
}

TEST(decode_rejects_damage)
{
	struct fixture f;
	struct index *ix;
	unsigned char *copy;
	size_t ok = 0;
	fixture_make(&f);
	CHECK(index_decode(f.enc.p, f.enc.len, f.m, &ix) == 0);
	index_free(ix);
	/* every truncation fails cleanly */
	for (size_t n = 0; n < f.enc.len; n++) {
		CHECK(index_decode(f.enc.p, n, f.m, &ix) == ERR_CORRUPT);
		CHECK(strncmp(err_msg(), "index: ", 7) == 0);
	}
	/* every byte flipped: decodes (a changed count or gap can still be consistent) or
	 * fails with ERR_CORRUPT; never crashes */
	copy = malloc(f.enc.len);
	for (size_t i = 0; i < f.enc.len; i++) {
		int r;
		memcpy(copy, f.enc.p, f.enc.len);
		copy[i] ^= 0x41;
		r = index_decode(copy, f.enc.len, f.m, &ix);
		CHECK(r == 0 || r == ERR_CORRUPT);
		if (!r) {
			ok++;
			index_free(ix);
		}
	}
	CHECK(ok < f.enc.len / 2);
	free(copy);
	/* a manifest of another size is refused */
	{
		struct manifest *m = manifest_new();
		CHECK(index_decode(f.enc.p, f.enc.len, m, &ix) == ERR_CORRUPT);
		manifest_free(m);
	}
	fixture_free(&f);
}

TEST(finish_needs_every_file)
{
	struct index_builder *b;
	struct manifest *m = manifest_new();
	struct buf out;
	unsigned char s1[20] = {0}, s256[32] = {1};
	buf_init(&out, 0);
	CHECK(index_builder_new(&b) == 0);
	CHECK(manifest_add(m, "x", 1, 0100644, 1, s1, s256) == 0 && manifest_sort(m) == 0);
	CHECK(index_builder_finish(b, m, &out) == ERR_CORRUPT);
	CHECK(strstr(err_msg(), "'x' was never added") != NULL);
	index_builder_free(b);
	manifest_free(m);
	buf_release(&out);
}

int main(void)
{
	RUN(searchable_len_follows_rg);
	RUN(round_trip_and_postings);
	RUN(symbols);
	RUN(decode_rejects_damage);
	RUN(finish_needs_every_file);
	return test_done();
}
