/* fuzz_index: index_decode on damaged index bytes must fail cleanly or give an index that
 * can be walked and searched without crashing. The first byte picks raw bytes (0) or
 * flips (offset, xor) pairs applied to a valid index of a small fixed tree. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gitobj.h"
#include "index.h"
#include "query.h"

static struct manifest *m;
static struct buf good;

static void setup(void)
{
	static const char *const files[][2] = {
		{"a.c", "static int foo_bar(int x)\n{\n\treturn FOO + x;\n}\n"},
		{"b.h", "#define FOO 1\nstruct foo_ops { int x; };\n"},
		{"c.txt", "caf\xc3\xa9 EXPORT_SYMBOL(foo);\n"},
	};
	struct index_builder *b;
	if (m)
		return;
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
	if (index_decode(p, len, m, &ix) == 0) {
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
	free(p);
	return 0;
}
