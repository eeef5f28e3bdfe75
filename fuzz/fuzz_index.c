/* fuzz_index: index_load of a release whose index object is damaged must fail cleanly or
 * give an index that can be walked and searched without crashing. The first byte picks raw
 * bytes (0) or flips (offset, xor) pairs applied to a valid index of a small fixed tree;
 * each input is sealed (with the tree's files) as a release of its own, then loaded. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gitobj.h"
#include "index.h"
#include "query.h"
#include "vault.h"

static const char *const files[][2] = {
	{"a.c", "static int foo_bar(int x)\n{\n\treturn FOO + x;\n}\n"},
	{"b.h", "#define FOO 1\nstruct foo_ops { int x; };\n"},
	{"c.txt", "caf\xc3\xa9 EXPORT_SYMBOL(foo);\n"},
};
static struct manifest *m;
static struct buf good;
static struct vault_key *key;
static char root[256];

static void cleanup(void)
{
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	if (system(cmd))
		fprintf(stderr, "fuzz_index: cannot remove %s\n", root);
}

/* Seal the tree's files and (p, len) as the index into root/r, and load it. */
static int load(const unsigned char *p, size_t len, struct vault **v, struct index **ix)
{
	struct vault_writer *w;
	char dir[300];
	int r;
	*v = NULL;
	*ix = NULL;
	if (vault_writer_new(root, key, NULL, &w))
		abort();
	for (size_t i = 0; i < 3; i++) {
		unsigned char id[32];
		gitobj_blob_sha256(files[i][1], strlen(files[i][1]), id);
		if (vault_put(w, id, files[i][1], strlen(files[i][1])))
			abort();
	}
	snprintf(dir, sizeof(dir), "%s/r", root);
	if (vault_put_meta(w, "index", p, len) || vault_commit(w, "r") || vault_open(dir, key, v))
		abort();
	r = index_load(*v, m, 1, ix);
	if (r ? *ix != NULL : *ix == NULL)
		abort();
	return r;
}

static void setup(void)
{
	const char *tmp = getenv("TMPDIR");
	struct index_builder *b;
	if (m)
		return;
	snprintf(root, sizeof(root), "%s/sealroom-fuzz-index-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(root) || vault_key_new(&key))
		abort();
	atexit(cleanup);
	m = manifest_new();
	if (index_builder_new(&b))
		abort();
	for (size_t i = 0; i < 3; i++) {
		struct manifest_entry e = {0};
		size_t len = strlen(files[i][1]);
		gitobj_blob_ids(files[i][1], len, e.sha1, e.sha256);
		e.mode = 0100644;
		if (manifest_add(m, files[i][0], strlen(files[i][0]), 0100644, len, e.sha1, e.sha256) ||
		    index_builder_add(b, &e, files[i][1], len))
			abort();
	}
	buf_init(&good, 0);
	if (manifest_sort(m) || index_builder_finish(b, m, &good))
		abort();
	index_builder_free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct index *ix = NULL;
	struct vault *v;
	unsigned char *p;
	size_t len;
	setup();
	if (size && data[0] == 0) {
		p = malloc(size);
		memcpy(p, data + 1, size - 1);
		len = size - 1;
	} else {
		p = malloc(good.len);
		memcpy(p, good.p, good.len);
		len = good.len;
		for (size_t i = 1; i + 2 < size; i += 3)
			p[((size_t)data[i] << 8 | data[i + 1]) % len] ^= data[i + 2];
	}
	if (load(p, len, &v, &ix) == 0) {
		struct query *q;
		struct search_result *r;
		for (uint32_t t = 0; t < 1u << 24; t += 4099) {
			uint32_t *ids;
			size_t n;
			index_postings(ix, t, &ids, &n);
			free(ids);
		}
		for (size_t i = 0; i < index_n_symbols(ix); i++)
			(void)index_symbol(ix, i);
		if (query_parse("foo_bar|EXPORT", NULL, &q) == 0) {
			if (index_search(ix, q, NULL, &r) == 0)
				search_result_free(r);
			query_free(q);
		}
		index_free(ix);
	}
	vault_close(v);
	if (vault_remove(root, "r"))
		abort();
	free(p);
	return 0;
}
