/* fuzz_xref: xref_load on damaged cross-reference bytes must fail cleanly or give a table
 * whose lookups run without crashing. The first byte picks raw bytes (0) or flips
 * (offset, xor) pairs applied to a valid table of a small fixed tree. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gitobj.h"
#include "xref.h"

static struct manifest *m;
static struct buf good;

static void setup(void)
{
	static const char *const files[][2] = {
		{"a.c", "static int foo_bar(int x)\n{\n\treturn FOO + x;\n}\nstruct foo_ops { int x; };\n"},
		{"b.py", "class K:\n    def run(self):\n        pass\n"},
		{"c.go", "package main\ntype T struct{}\nfunc (t T) M() {}\n"},
	};
	struct xref_builder *b;
	if (m)
		return;
	m = manifest_new();
	if (xref_builder_new(&b))
		abort();
	for (size_t i = 0; i < 3; i++) {
		struct manifest_entry e = {0};
		size_t len = strlen(files[i][1]);
		gitobj_blob_ids(files[i][1], len, e.sha1, e.sha256);
		e.path = (char *)files[i][0];
		e.path_len = strlen(files[i][0]);
		e.mode = 0100644;
		if (manifest_add(m, files[i][0], strlen(files[i][0]), 0100644, len, e.sha1, e.sha256) ||
		    xref_builder_add(b, &e, files[i][1], len))
			abort();
	}
	buf_init(&good, 0);
	if (manifest_sort(m) || xref_builder_finish(b, m, &good))
		abort();
	xref_builder_free(b);
}

static int count(void *ctx, const struct xref_loc *l)
{
	(*(size_t *)ctx) += l->line + l->path_len;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = {"foo_bar", "foo_ops", "K", "run", "T", "M", "zzz"};
	struct xref *x = NULL;
	unsigned char *p;
	size_t len, sum = 0;
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
	if (xref_load(p, len, m, &x) == 0) {
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (xref_definitions(x, NULL, names[i], strlen(names[i]), count, &sum))
				abort();
		xref_free(x);
	}
	free(p);
	return 0;
}
