/*
 * search_fixture.h: a small release for the index and query tests: files sealed into a
 * vault in a temporary folder, their manifest, the encoded index and the loaded index.
 */
#ifndef SEALROOM_SEARCH_FIXTURE_H
#define SEALROOM_SEARCH_FIXTURE_H
#include <stdlib.h>
#include <string.h>

#include "gitobj.h"
#include "index.h"
#include "manifest.h"
#include "vault.h"

struct fixture {
	char dir[64];
	struct vault_key *k;
	struct vault *v;
	struct manifest *m;
	struct buf enc;
	struct index *ix;
};

struct fixture_file {
	const char *path;
	const char *data;
	size_t len; /* 0: strlen(data) */
	unsigned mode;
};

static const struct fixture_file fixture_files[] = {
	{"a.c", "#include <x.h>\nstatic int foo_bar(int x)\n{\n\treturn FOO_BAR + x;\n}\nint foo;\n", 0, 0100644},
	{"b.h", "#define FOO_BAR 1\nstruct foo_ops {\n\tint (*open)(void);\n};\nvoid foo_bar(int);\n", 0, 0100644},
	{"bin.dat", "foo_bar\n\0foo_bar\n", 17, 0100644},
	{"dir/foo_bar.txt", "nothing here\nCaf\xc3\xa9 caf\xc3\xa9 Kelvin \xe2\x84\xaa\nlast foo_bar", 0, 0100644},
	{"link", "a.c", 0, 0120000},
	{"empty", "", 0, 0100644},
	{NULL, NULL, 0, 0},
};

/* Seal files (ending with a NULL path) into a vault and load the index; aborts on failure. */
static void fixture_make_files(struct fixture *f, const struct fixture_file *files)
{
	struct vault_writer *w;
	struct index_builder *b;
	char rel[128];
	memset(f, 0, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/sr-search-test.XXXXXX");
	if (!mkdtemp(f->dir) || vault_key_new(&f->k) || vault_writer_new(f->dir, f->k, NULL, &w) ||
	    index_builder_new(&b))
		BUG("fixture setup");
	f->m = manifest_new();
	for (const struct fixture_file *x = files; x->path; x++) {
		size_t len = x->len ? x->len : strlen(x->data);
		struct manifest_entry e = {0};
		gitobj_blob_ids(x->data, len, e.sha1, e.sha256);
		e.mode = x->mode;
		e.size = len;
		if (manifest_add(f->m, x->path, strlen(x->path), x->mode, len, e.sha1, e.sha256) ||
		    vault_put(w, e.sha256, x->data, len) || index_builder_add(b, &e, x->data, len))
			BUG("fixture add");
	}
	buf_init(&f->enc, INDEX_MAX);
	if (manifest_sort(f->m) || index_builder_finish(b, f->m, &f->enc) ||
	    vault_put_meta(w, "index", f->enc.p, f->enc.len) || vault_commit(w, "r"))
		BUG("fixture finish");
	index_builder_free(b);
	snprintf(rel, sizeof(rel), "%s/r", f->dir);
	if (vault_open(rel, f->k, &f->v) || index_load(f->v, f->m, 2, &f->ix))
		BUG("fixture load: %s", err_msg());
}

/* The fixture files above. */
static inline void fixture_make(struct fixture *f)
{
	fixture_make_files(f, fixture_files);
}

static void fixture_free(struct fixture *f)
{
	char cmd[128];
	index_free(f->ix);
	vault_close(f->v);
	vault_key_free(f->k);
	manifest_free(f->m);
	buf_release(&f->enc);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd))
		BUG("rm");
}
#endif
