/* test_index: building, encoding, decoding (hostile bytes) and loading the search index. */
#include <unistd.h>

#include "test.h"
#include "search_fixture.h"
#include "le.h"
#include "text_index.h"

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

/* Folded name order of two symbols, then their index: what by_name must hold. */
static int sym_order(const struct index *ix, const struct index_symbol *x, const struct index_symbol *y)
{
	size_t lx, ly, n = x->len < y->len ? x->len : y->len;
	const unsigned char *px = index_text(ix, x->file, &lx) + x->off, *py = index_text(ix, y->file, &ly) + y->off;
	for (size_t i = 0; i < n; i++)
		if (index_fold(px[i]) != index_fold(py[i]))
			return index_fold(px[i]) < index_fold(py[i]) ? -1 : 1;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return x < y ? -1 : x > y;
}

/*
 * The name order against a plain comparison, on thousands of macro names built to be hard:
 * long shared prefixes (past 16, 32 and 200 bytes; a symbol has at most 255), case that folds, names that are
 * prefixes of others, the same name in many places.
 */
TEST(symbols_by_name_order)
{
	static struct fixture_file files[4];
	static char text[3][400000];
	struct fixture f;
	uint32_t seed = 12345;
	size_t n, bad = 0;
	for (int fi = 0; fi < 3; fi++) {
		size_t at = 0;
		for (int i = 0; i < 1500; i++) {
			char name[400];
			size_t len = 0, pre;
			seed = seed * 1103515245u + 12345u;
			pre = (size_t[]){0, 3, 15, 16, 17, 31, 40, 200, 250}[(seed >> 16) % 9];
			for (size_t j = 0; j < pre; j++)
				name[len++] = j % 7 ? 'a' : 'A';
			seed = seed * 1103515245u + 12345u;
			for (size_t j = (seed >> 16) % 4 + 1; j > 0; j--) {
				seed = seed * 1103515245u + 12345u;
				name[len++] = "aAbB_z"[(seed >> 16) % 6];
			}
			if (name[0] == '_' && len == 1)
				name[len++] = 'q';
			at += (size_t)snprintf(text[fi] + at, sizeof(text[fi]) - at, "#define %.*s 1\n", (int)len, name);
		}
		files[fi] = (struct fixture_file){fi == 0 ? "a.h" : fi == 1 ? "b.h" : "c/d.h", text[fi], 0, 0100644};
	}
	files[3] = (struct fixture_file){NULL, NULL, 0, 0};
	fixture_make_files(&f, files);
	n = index_n_symbols(f.ix);
	CHECK(n > 4000);
	for (size_t i = 1; i < n; i++)
		if (sym_order(f.ix, index_symbol_by_name(f.ix, i - 1), index_symbol_by_name(f.ix, i)) >= 0)
			bad++;
	CHECK(bad == 0);
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

/*
 * Seal the fixture files into a vault, storing the file named victim (when not NULL) as
 * (data, len) under its true id; with its index unless no_index; then flip byte flip_at of
 * pack-000000 (when not 0), and load. Returns index_load's result.
 */
static int load_damaged(const char *victim, const char *data, size_t len, int no_index,
			long flip_at)
{
	char dir[64], rel[128], cmd[128];
	struct vault_key *k;
	struct vault_writer *w;
	struct vault *v;
	struct index_builder *b;
	struct manifest *m = manifest_new();
	struct index *ix = NULL;
	struct buf enc;
	int r;
	snprintf(dir, sizeof(dir), "/tmp/sr-index-load.XXXXXX");
	if (!mkdtemp(dir) || vault_key_new(&k) || vault_writer_new(dir, k, NULL, &w) ||
	    index_builder_new(&b))
		BUG("setup");
	for (const struct fixture_file *x = fixture_files; x->path; x++) {
		size_t n = x->len ? x->len : strlen(x->data);
		struct manifest_entry e = {0};
		int bad = victim && !strcmp(x->path, victim);
		gitobj_blob_ids(x->data, n, e.sha1, e.sha256);
		e.mode = x->mode;
		e.size = n;
		if (manifest_add(m, x->path, strlen(x->path), x->mode, n, e.sha1, e.sha256) ||
		    vault_put(w, e.sha256, bad ? data : x->data, bad ? len : n) ||
		    index_builder_add(b, &e, x->data, n))
			BUG("add");
	}
	buf_init(&enc, INDEX_MAX);
	if (manifest_sort(m) || index_builder_finish(b, m, &enc) ||
	    (!no_index && vault_put_meta(w, "index", enc.p, enc.len)) || vault_commit(w, "r"))
		BUG("finish");
	index_builder_free(b);
	snprintf(rel, sizeof(rel), "%s/r", dir);
	if (flip_at) {
		char pack[160];
		FILE *fp;
		int c;
		snprintf(pack, sizeof(pack), "%s/pack-000000", rel);
		if (!(fp = fopen(pack, "r+b")) || fseek(fp, flip_at, SEEK_SET) || (c = fgetc(fp)) == EOF ||
		    fseek(fp, flip_at, SEEK_SET) || fputc(c ^ 1, fp) == EOF || fclose(fp))
			BUG("flip");
	}
	if (vault_open(rel, k, &v))
		BUG("open: %s", err_msg());
	r = index_load(v, m, 2, &ix);
	CHECK(r ? ix == NULL : ix != NULL);
	index_free(ix);
	vault_close(v);
	vault_key_free(k);
	manifest_free(m);
	buf_release(&enc);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		BUG("rm");
	return r;
}

/* Every file is checked against its content id as it is loaded, and a refusal names it. */
TEST(load_refuses_damaged_files)
{
	static const char other[] =
		"#include <y.h>\nstatic int foo_baz(int x)\n{\n\treturn FOO_BAR + x;\n}\nint foo;\n";
	CHECK(load_damaged(NULL, NULL, 0, 0, 0) == 0);
	/* same length, other bytes, under a.c's id: as if re-encrypted by a holder of the key */
	CHECK(strlen(other) == strlen(fixture_files[0].data));
	CHECK(load_damaged("a.c", other, strlen(other), 0, 0) == ERR_CORRUPT);
	CHECK(strstr(err_msg(), "index: 'a.c': vault: object ") &&
	      strstr(err_msg(), "does not hash to its id"));
	CHECK(load_damaged("dir/foo_bar.txt", "short", 5, 0, 0) == ERR_CORRUPT);
	CHECK(strstr(err_msg(), "index: 'dir/foo_bar.txt': vault: object ") &&
	      strstr(err_msg(), "holds 5 bytes"));
	/* a flipped byte in the first record (a.c's): its tag fails */
	CHECK(load_damaged(NULL, NULL, 0, 0, 64 + 30) == ERR_AUTH);
	CHECK(strstr(err_msg(), "index: 'a.c': vault: ") && strstr(err_msg(), "failed authentication"));
	CHECK(load_damaged(NULL, NULL, 0, 1, 0) == ERR_NOTFOUND);
	CHECK(strstr(err_msg(), "'index'") != NULL);
}

/*
 * A UTF-16 file is searched as its UTF-8 transcoding; an index that marks a file UTF-16
 * whose text is not is refused at load, naming it.
 */
static int load_with_index(const struct fixture_file *files, const struct buf *enc, int *loaded)
{
	struct index *ix = NULL;
	char dir[64], rel[128];
	struct vault_key *k;
	struct vault_writer *w;
	struct vault *v;
	struct manifest *m = manifest_new();
	int r;
	snprintf(dir, sizeof(dir), "/tmp/sr-index-u16.XXXXXX");
	if (!mkdtemp(dir) || vault_key_new(&k) || vault_writer_new(dir, k, NULL, &w))
		BUG("setup");
	for (const struct fixture_file *x = files; x->path; x++) {
		size_t n = x->len ? x->len : strlen(x->data);
		unsigned char sha1[20], sha256[32];
		gitobj_blob_ids(x->data, n, sha1, sha256);
		if (manifest_add(m, x->path, strlen(x->path), x->mode, n, sha1, sha256) || vault_put(w, sha256, x->data, n))
			BUG("add");
	}
	if (manifest_sort(m) || vault_put_meta(w, "index", enc->p, enc->len) || vault_commit(w, "r"))
		BUG("finish");
	snprintf(rel, sizeof(rel), "%s/r", dir);
	if (vault_open(rel, k, &v))
		BUG("open");
	r = index_load(v, m, 2, &ix);
	*loaded = ix != NULL;
	index_free(ix);
	vault_close(v);
	vault_key_free(k);
	manifest_free(m);
	if (vault_remove(dir, "r") || rmdir(dir)) /* no shell: test_index calls this 150 times */
		BUG("rm: %s", err_msg());
	return r;
}

/* The fixture's index as its search worker gets it: the shared image and the text. */
static void share_image(const struct fixture *f, struct buf *img, int *fd)
{
	buf_init(img, 0);
	if (buf_grow(img, index_share_len(f->ix)) || index_share_text(f->ix, fd))
		BUG("share: %s", err_msg());
	index_share_write(f->ix, (unsigned char *)img->p);
	img->len = index_share_len(f->ix);
}

/* index_attach of the index (enc, len) in place of img's, with img's other tables and text. */
static int attach_enc(const struct fixture *f, const struct buf *img, int fd, const void *enc, size_t len)
{
	size_t img_enc = (size_t)get64((const unsigned char *)img->p + 8);
	unsigned char h[16];
	struct index *ix = NULL;
	struct buf b;
	int r;
	memcpy(h, "SRIL0001", 8);
	put64(h + 8, len);
	buf_init(&b, 0);
	if (buf_add(&b, h, 16) || buf_add(&b, enc, len) || buf_add(&b, img->p + 16 + img_enc, img->len - 16 - img_enc))
		BUG("image");
	r = index_attach(b.p, b.len, f->m, fd, 0, &ix);
	CHECK(r ? ix == NULL : ix != NULL);
	index_free(ix);
	buf_release(&b);
	return r;
}

/*
 * Damaged index bytes, as the room loads them (index_load, every posting list checked) and
 * as a search worker attaches them (the same checks, the posting lists taken as the room's
 * load checked them): every truncation fails cleanly, naming the index; every flipped byte
 * decodes (a changed count or gap can still be consistent) or fails with ERR_CORRUPT,
 * never crashes. A flip in the posting lists goes through index_load (a release of its
 * own), one anywhere else through index_attach.
 */
TEST(decode_rejects_damage)
{
	struct fixture f;
	struct buf img, bad;
	uint64_t post_at, sym_at;
	size_t ok = 0, loads = 0;
	int fd = -1, loaded;
	fixture_make(&f);
	share_image(&f, &img, &fd);
	post_at = 32 + 8 * (uint64_t)get32((unsigned char *)f.enc.p + 8) + 16 * (uint64_t)get32((unsigned char *)f.enc.p + 12);
	sym_at = post_at + get64((unsigned char *)f.enc.p + 24);
	CHECK(post_at < sym_at && sym_at < f.enc.len);
	CHECK(attach_enc(&f, &img, fd, f.enc.p, f.enc.len) == 0);
	CHECK(load_with_index(fixture_files, &f.enc, &loaded) == 0 && loaded);
	for (size_t n = 0; n < f.enc.len; n++) {
		CHECK(attach_enc(&f, &img, fd, f.enc.p, n) == ERR_CORRUPT);
		CHECK(strncmp(err_msg(), "index: ", 7) == 0);
	}
	buf_init(&bad, INDEX_MAX);
	for (size_t i = 0; i < f.enc.len; i++) {
		int r;
		buf_reset(&bad);
		CHECK(buf_add(&bad, f.enc.p, f.enc.len) == 0);
		bad.p[i] ^= 0x41;
		if (i >= post_at && i < sym_at) {
			r = load_with_index(fixture_files, &bad, &loaded);
			CHECK(r ? !loaded : loaded);
			loads++;
		} else {
			r = attach_enc(&f, &img, fd, bad.p, bad.len);
		}
		CHECK(r == 0 || r == ERR_CORRUPT);
		if (r)
			CHECK(strstr(err_msg(), "index: ") != NULL);
		ok += !r;
	}
	CHECK(ok < f.enc.len / 2);
	CHECK(loads > 0);
	/* a manifest of another size is refused */
	{
		struct manifest *m = manifest_new();
		struct fixture g = f;
		g.m = m;
		CHECK(attach_enc(&g, &img, fd, f.enc.p, f.enc.len) == ERR_CORRUPT);
		CHECK(strstr(err_msg(), "the manifest 0") != NULL);
		manifest_free(m);
	}
	close(fd);
	buf_release(&bad);
	buf_release(&img);
	fixture_free(&f);
}

/* Each trigram of (p, n): both indexes list the same files for it. */
static size_t same_postings(const struct index *a, const struct index *b, const unsigned char *p, size_t n)
{
	size_t bad = 0;
	for (size_t i = 0; i + 2 < n; i++) {
		uint32_t t = index_trigram(p[i], p[i + 1], p[i + 2]), *x, *y;
		size_t nx, ny;
		index_postings(a, t, &x, &nx);
		index_postings(b, t, &y, &ny);
		bad += nx != ny || (nx && memcmp(x, y, nx * sizeof(*x)));
		free(x);
		free(y);
	}
	return bad;
}

/*
 * text_index.h (the query tests' index of texts in memory) lists what the builder lists:
 * over random texts of lines, NULs (one past the first 64 KiB read), UTF-16 with either
 * byte order mark, the same files in both, every trigram of each text and of each
 * transcoding has the same posting list, and each file the same searchable text.
 */
TEST(text_index_follows_the_builder)
{
	static const char *const pieces[] = {"a", "b", "K", "_x", " ", "\n", "\n", "\xc3\xa9", "\xe2\x84\xaa", "\t",
					     "\r", "ab", "abc", "\0", "\xff", "\xfe"};
	enum { N = 40 };
	static char text[N][400], big[70000], path[N + 1][16];
	struct fixture_file ff[N + 2];
	struct text_file tf[N + 1];
	struct fixture f;
	struct text_index ti;
	uint32_t seed = 99;
	size_t bad = 0;
	for (int i = 0; i < N; i++) {
		size_t n = 0;
		if (i % 8 == 1)
			n = (size_t)snprintf(text[i], sizeof(text[i]), "%s", i % 16 == 1 ? "\xff\xfe" : "\xfe\xff");
		for (int j = 0; j < 60; j++) {
			const char *x;
			seed = seed * 1103515245u + 12345u;
			x = pieces[(seed >> 16) % (sizeof(pieces) / sizeof(pieces[0]))];
			if (!*x && i % 4) /* a NUL in a quarter of the texts */
				continue;
			memcpy(text[i] + n, x, *x ? strlen(x) : 1);
			n += *x ? strlen(x) : 1;
		}
		snprintf(path[i], sizeof(path[i]), "f%02d", i);
		ff[i] = (struct fixture_file){path[i], text[i], n, 0100644};
		tf[i] = (struct text_file){path[i], text[i], n, NULL, 0};
	}
	memset(big, 'x', sizeof(big));
	for (size_t i = 99; i < sizeof(big); i += 100)
		big[i] = '\n';
	big[69000] = 0;
	snprintf(path[N], sizeof(path[N]), "big");
	ff[N] = (struct fixture_file){path[N], big, sizeof(big), 0100644};
	tf[N] = (struct text_file){path[N], big, sizeof(big), NULL, 0};
	ff[N + 1] = (struct fixture_file){NULL, NULL, 0, 0};
	fixture_make_files(&f, ff);
	text_index_make(&ti, tf, N + 1);
	CHECK(index_n_files(ti.ix) == N + 1);
	for (size_t i = 0; i < index_n_files(f.ix); i++) {
		const unsigned char *a, *b;
		size_t na, nb;
		CHECK(!strcmp(manifest_get(f.m, i)->path, manifest_get(ti.m, i)->path));
		a = index_read_text(f.ix, i, &na);
		b = index_read_text(ti.ix, i, &nb);
		CHECK(na == nb && !memcmp(a, b, na) && index_search_len(f.ix, i) == index_search_len(ti.ix, i));
		bad += same_postings(f.ix, ti.ix, a, na);
		a = index_text(f.ix, i, &na);
		bad += same_postings(f.ix, ti.ix, a, na);
	}
	CHECK(bad == 0);
	text_index_free(&ti);
	fixture_free(&f);
}

TEST(utf16_files)
{
	static const struct fixture_file files[] = {
		{"a.c", "int foo(void);\n", 0, 0100644},
		{"u.txt", "\xff\xfe" "f\0o\0o\0(\0\n\0" "\xe9\0" "\n\0", 16, 0100644},
		{"z.txt", "\xfe\xff" "\0f\0o\0o\0\n", 10, 0100644},
		{NULL, NULL, 0, 0},
	};
	struct fixture f;
	struct buf bad;
	int ix = 0;
	size_t n = 0;
	const unsigned char *t;
	fixture_make_files(&f, files);
	t = index_read_text(f.ix, 1, &n);
	CHECK(n == 8 && t && !memcmp(t, "foo(\n\xc3\xa9\n", 8) && index_search_len(f.ix, 1) == 8);
	CHECK(index_text(f.ix, 1, &n) && n == 16); /* the file as stored, for the views */
	t = index_read_text(f.ix, 2, &n);
	CHECK(n == 4 && t && !memcmp(t, "foo\n", 4));
	t = index_read_text(f.ix, 0, &n);
	CHECK(n == 15 && t == index_text(f.ix, 0, &n));
	CHECK(!index_ascii(f.ix, 1) && index_ascii(f.ix, 2) && index_ascii(f.ix, 0));
	/* a UTF-16 file's trigrams are its transcoding's; it has no symbols */
	CHECK(index_postings_count(f.ix, index_trigram('o', 'o', '(')) == 2);
	for (size_t i = 0; i < index_n_symbols(f.ix); i++)
		CHECK(index_symbol(f.ix, i)->file == 0);
	/* a.c marked UTF-16: its text has no byte order mark */
	buf_init(&bad, INDEX_MAX);
	CHECK(buf_add(&bad, f.enc.p, f.enc.len) == 0);
	bad.p[32 + 7] |= 0x80;
	CHECK(load_with_index(files, &bad, &ix) == ERR_CORRUPT && !ix);
	CHECK(strstr(err_msg(), "index: 'a.c' is indexed as UTF-16 text but its text is not that") != NULL);
	/* u.txt with a searchable length past what its transcoding could be */
	memcpy(bad.p, f.enc.p, f.enc.len);
	bad.p[32 + 8] = 200;
	CHECK(load_with_index(files, &bad, &ix) == ERR_CORRUPT && !ix);
	CHECK(strstr(err_msg(), "bad searchable length for 'u.txt'") != NULL);
	/* u.txt with another length that fits: the transcoding does not give it */
	memcpy(bad.p, f.enc.p, f.enc.len);
	bad.p[32 + 8] = 7;
	CHECK(load_with_index(files, &bad, &ix) == ERR_CORRUPT && !ix);
	CHECK(strstr(err_msg(), "'u.txt' is indexed as UTF-16 text but its text is not that") != NULL);
	CHECK(load_with_index(files, &f.enc, &ix) == 0 && ix);
	buf_release(&bad);
	fixture_free(&f);
}

int main(void)
{
	RUN(searchable_len_follows_rg);
	RUN(round_trip_and_postings);
	RUN(symbols);
	RUN(symbols_by_name_order);
	RUN(decode_rejects_damage);
	RUN(finish_needs_every_file);
	RUN(load_refuses_damaged_files);
	RUN(utf16_files);
	RUN(text_index_follows_the_builder);
	return test_done();
}
