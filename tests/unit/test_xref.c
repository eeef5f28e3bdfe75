/* test_xref: tags.scm definitions, the index fallback, references, clicks, hostile bytes. */
#include <stdlib.h>
#include <string.h>

#include "gitobj.h"
#include "highlight.h"
#include "index.h"
#include "manifest.h"
#include "test.h"
#include "vault.h"
#include "xref.h"

static const struct {
	const char *path, *data;
	unsigned mode;
} files[] = {
	{"lib/list.c", "#include \"list.h\"\n\nstatic int list_len(struct list *l)\n{\n\treturn l->n;\n}\n\n"
		       "int list_push(struct list *l, int v)\n{\n\tl->n = list_len(l) + v;\n\treturn 0;\n}\n", 0100644},
	{"lib/list.h", "struct list {\n\tint n;\n};\ntypedef struct list list_t;\nint list_push(struct list *l, int v);\n", 0100644},
	{"app/main.py", "import os\n\nclass Runner:\n    def run(self):\n        return list_push\n\ndef main():\n    Runner().run()\n", 0100644},
	{"cmd/tool.go", "package main\n\ntype Tool struct{}\n\nfunc (t Tool) Run() {}\n\nfunc main() { Tool{}.Run() }\n", 0100644},
	{"web/app.js", "function render(x) { return x; }\nclass View { show() { render(1); } }\n", 0100644},
	{"src/A.java", "class A { void list_len() {} }\n", 0100644},
	{"README", "list_push pushes; list_pusher does not count; my_list_push neither\n", 0100644},
	{"link.c", "lib/list.c", 0120000},
	{"script.sh", "f() { :; }\n", 0100644},
};
#define N_FILES (sizeof(files) / sizeof(files[0]))

struct fx {
	char dir[64];
	struct vault_key *k;
	struct vault *v;
	struct manifest *m;
	struct buf ienc, xenc;
	struct index *ix;
	struct xref *x;
};

/* Add one file to the fixture's manifest, vault, index and xref builders. */
static void fx_add(struct fx *f, struct vault_writer *w, struct index_builder *ib, struct xref_builder *xb,
		   const char *path, unsigned mode, const char *data, size_t len)
{
	struct manifest_entry e = {0};
	gitobj_blob_ids(data, len, e.sha1, e.sha256);
	e.path = (char *)path;
	e.path_len = strlen(path);
	e.mode = mode;
	e.size = len;
	if (manifest_add(f->m, e.path, e.path_len, e.mode, len, e.sha1, e.sha256) || vault_put(w, e.sha256, data, len) ||
	    index_builder_add(ib, &e, data, len) || xref_builder_add(xb, &e, data, len))
		BUG("fixture add: %s", err_msg());
}

/*
 * The files above, then fill bytes of C source that is one comment (quick to parse, no
 * definitions) in files of at most HL_MAX_BYTES, to bring the parseable source to
 * XREF_PARSE_MAX and past it.
 */
static void fx_make(struct fx *f, uint64_t fill)
{
	static char filler[HL_MAX_BYTES];
	struct vault_writer *w;
	struct index_builder *ib;
	struct xref_builder *xb;
	char rel[128];
	memset(f, 0, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/sr-xref-test.XXXXXX");
	if (!mkdtemp(f->dir) || vault_key_new(&f->k) || vault_writer_new(f->dir, f->k, NULL, &w) ||
	    index_builder_new(&ib) || xref_builder_new(&xb))
		BUG("fixture setup");
	f->m = manifest_new();
	for (size_t i = 0; i < N_FILES; i++)
		fx_add(f, w, ib, xb, files[i].path, files[i].mode, files[i].data, strlen(files[i].data));
	for (unsigned n = 0; fill; n++) {
		size_t len = fill < sizeof(filler) ? (size_t)fill : sizeof(filler);
		char path[32];
		memset(filler, ' ', len);
		for (size_t i = 63; i < len; i += 64)
			filler[i] = '\n';
		snprintf(path, sizeof(path), "fill/%u.c", n);
		memcpy(filler, "/*", 2);
		memcpy(filler + len - 2, "*/", 2);
		filler[2] = (char)('a' + n % 26); /* each its own blob */
		filler[3] = (char)('a' + n / 26);
		fx_add(f, w, ib, xb, path, 0100644, filler, len);
		fill -= len;
	}
	buf_init(&f->ienc, INDEX_MAX);
	buf_init(&f->xenc, XREF_MAX);
	if (manifest_sort(f->m) || index_builder_finish(ib, f->m, &f->ienc) ||
	    xref_builder_finish(xb, f->m, &f->xenc) || vault_put_meta(w, "index", f->ienc.p, f->ienc.len) ||
	    vault_commit(w, "r"))
		BUG("fixture finish: %s", err_msg());
	index_builder_free(ib);
	xref_builder_free(xb);
	snprintf(rel, sizeof(rel), "%s/r", f->dir);
	if (vault_open(rel, f->k, &f->v) || index_load(f->v, f->m, 2, &f->ix) ||
	    xref_load(f->xenc.p, f->xenc.len, f->m, &f->x))
		BUG("fixture load: %s", err_msg());
}

static void fx_free(struct fx *f)
{
	char cmd[128];
	xref_free(f->x);
	index_free(f->ix);
	vault_close(f->v);
	vault_key_free(f->k);
	manifest_free(f->m);
	buf_release(&f->ienc);
	buf_release(&f->xenc);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd))
		BUG("rm");
}

/* Collect locations as "path:line:col:kind" lines. */
static int collect(void *ctx, const struct xref_loc *l)
{
	struct buf *b = ctx;
	return buf_addf(b, "%.*s:%u:%u:%s\n", (int)l->path_len, l->path, l->line, l->col,
			xref_kind_name(l->kind));
}

static const char *defs(const struct fx *f, const char *name, int use_tags)
{
	static char out[1024];
	struct buf b;
	buf_init(&b, sizeof(out) - 1);
	if (xref_definitions(use_tags ? f->x : NULL, f->ix, name, strlen(name), collect, &b))
		snprintf(out, sizeof(out), "(error %s)", err_msg());
	else
		snprintf(out, sizeof(out), "%s", b.p);
	buf_release(&b);
	return out;
}

TEST(tags_definitions)
{
	struct fx f;
	fx_make(&f, 0);
	CHECK(xref_has_tags(f.x));
	CHECK(xref_n_definitions(f.x) >= 10);
	/* the prototype in list.h is a definition in C's tags.scm too */
	CHECK_EQ_STR(defs(&f, "list_push", 1), "lib/list.c:8:5:function\nlib/list.h:5:5:function\n");
	CHECK_EQ_STR(defs(&f, "list_len", 1), "lib/list.c:3:12:function\nsrc/A.java:1:16:method\n");
	CHECK_EQ_STR(defs(&f, "list", 1), "lib/list.h:1:8:class\n");
	CHECK_EQ_STR(defs(&f, "list_t", 1), "lib/list.h:4:21:type\n");
	CHECK_EQ_STR(defs(&f, "Runner", 1), "app/main.py:3:7:class\n");
	CHECK_EQ_STR(defs(&f, "run", 1), "app/main.py:4:9:function\n");
	CHECK_EQ_STR(defs(&f, "Tool", 1), "cmd/tool.go:3:6:type\n");
	CHECK_EQ_STR(defs(&f, "Run", 1), "cmd/tool.go:5:15:method\n");
	CHECK_EQ_STR(defs(&f, "render", 1), "web/app.js:1:10:function\n");
	CHECK_EQ_STR(defs(&f, "View", 1), "web/app.js:2:7:class\n");
	CHECK_EQ_STR(defs(&f, "nothing", 1), "");
	CHECK_EQ_STR(defs(&f, "LIST_PUSH", 1), ""); /* exact case */
	CHECK_EQ_STR(defs(&f, "a b", 1), "");       /* not an identifier */
	fx_free(&f);
}

/*
 * The parseable source (the files of a language with a tags query, up to HL_MAX_BYTES
 * each) at XREF_PARSE_MAX: tagged; one byte past it: nothing is tagged and definitions
 * come from the index.
 */
TEST(parse_limit)
{
	uint64_t total = 0;
	struct fx f;
	for (size_t i = 0; i < N_FILES; i++)
		if (files[i].mode != 0120000 && strcmp(files[i].path, "README") &&
		    strcmp(files[i].path, "script.sh"))
			total += strlen(files[i].data);
	fx_make(&f, XREF_PARSE_MAX - total);
	CHECK(xref_has_tags(f.x));
	CHECK_EQ_STR(defs(&f, "list_len", 1), "lib/list.c:3:12:function\nsrc/A.java:1:16:method\n");
	fx_free(&f);
	fx_make(&f, XREF_PARSE_MAX - total + 1);
	CHECK(!xref_has_tags(f.x));
	CHECK(xref_n_definitions(f.x) == 0);
	CHECK(strstr(defs(&f, "list_push", 1), "lib/list.c:8:") != NULL);
	CHECK(strstr(defs(&f, "list_push", 0), "lib/list.c:8:") != NULL);
	fx_free(&f);
}

TEST(hostile_bytes)
{
	struct fx f;
	struct xref *x = NULL;
	struct buf c;
	fx_make(&f, 0);
	buf_init(&c, XREF_MAX);
	CHECK(xref_load(f.xenc.p, 10, f.m, &x) == ERR_CORRUPT);
	CHECK(xref_load("NOTXREF1xxxxxxxxxxxxxxxxxxxxxxxxxxx", 32, f.m, &x) == ERR_CORRUPT);
	/* every truncation fails cleanly */
	for (size_t n = 0; n < f.xenc.len; n++)
		CHECK(xref_load(f.xenc.p, n, f.m, &x) == ERR_CORRUPT);
	/* every single flipped byte either fails with ERR_CORRUPT or loads something sane */
	for (size_t i = 0; i < f.xenc.len; i++) {
		int r;
		buf_reset(&c);
		CHECK(buf_add(&c, f.xenc.p, f.xenc.len) == 0);
		c.p[i] ^= 0x5a;
		r = xref_load(c.p, c.len, f.m, &x);
		CHECK(r == 0 || r == ERR_CORRUPT);
		if (r == 0) {
			struct buf b;
			buf_init(&b, 1 << 20);
			CHECK(xref_definitions(x, f.ix, "list_push", 9, collect, &b) == 0);
			buf_release(&b);
			xref_free(x);
		}
	}
	/* a file id past the manifest, and the wrong manifest */
	buf_reset(&c);
	CHECK(buf_add(&c, f.xenc.p, f.xenc.len) == 0);
	memset(c.p + 32, 0xff, 4);
	CHECK(xref_load(c.p, c.len, f.m, &x) == ERR_CORRUPT);
	{
		struct manifest *m2 = manifest_new();
		CHECK(xref_load(f.xenc.p, f.xenc.len, m2, &x) == ERR_CORRUPT);
		CHECK(strstr(err_msg(), "manifest") != NULL);
		manifest_free(m2);
	}
	buf_release(&c);
	fx_free(&f);
}

static int collect_body(void *ctx, const struct xref_loc *l)
{
	struct buf *b = ctx;
	return buf_addf(b, "%.*s:%u:%s\n", (int)l->path_len, l->path, l->line, l->body ? "body" : "decl");
}

TEST(bodies_preferred)
{
	/* what the room's go-to-definition keeps: the function with its body, not the prototype */
	struct fx f;
	struct buf b;
	fx_make(&f, 0);
	buf_init(&b, 4096);
	CHECK(xref_definitions(f.x, f.ix, "list_push", 9, collect_body, &b) == 0);
	CHECK_EQ_STR(b.p, "lib/list.c:8:body\nlib/list.h:5:decl\n");
	buf_reset(&b);
	CHECK(xref_definitions(f.x, f.ix, "list", 4, collect_body, &b) == 0);
	CHECK_EQ_STR(b.p, "lib/list.h:1:body\n"); /* a struct with its fields */
	buf_reset(&b);
	CHECK(xref_definitions(f.x, f.ix, "run", 3, collect_body, &b) == 0);
	CHECK_EQ_STR(b.p, "app/main.py:4:body\n");
	/* without tags (the index's heuristic) nothing is known to carry a body */
	buf_reset(&b);
	CHECK(xref_definitions(NULL, f.ix, "list_push", 9, collect_body, &b) == 0);
	CHECK(strstr(b.p, "body") == NULL);
	buf_release(&b);
	fx_free(&f);
}

TEST(numbers)
{
	/* definition i in name order: what a definition link carries, found again */
	struct fx f;
	struct xref_loc l;
	const char *name, *prev = "";
	size_t len, prev_len = 0;
	fx_make(&f, 0);
	for (size_t i = 0; i < xref_n_definitions(f.x); i++) {
		CHECK(xref_definition(f.x, i, &l, &name, &len) == 0);
		CHECK(l.number == i && len && l.line);
		CHECK(memcmp(prev, name, prev_len < len ? prev_len : len) <= 0); /* name order */
		prev = name;
		prev_len = len;
	}
	CHECK(xref_definition(f.x, xref_n_definitions(f.x), &l, &name, &len) == ERR_NOTFOUND);
	CHECK(xref_definition(NULL, 0, &l, &name, &len) == ERR_NOTFOUND);
	/* a definitions callback gives the same numbers */
	{
		struct buf b;
		buf_init(&b, 4096);
		CHECK(xref_definitions(f.x, f.ix, "list_len", 8, collect, &b) == 0);
		buf_release(&b);
	}
	fx_free(&f);
}

static int collect_outline(void *ctx, const struct xref_loc *l, const char *name, size_t len)
{
	struct buf *b = ctx;
	return buf_addf(b, "%u:%.*s:%s\n", l->line, (int)len, name, xref_kind_name(l->kind));
}

static int stop_after_one(void *ctx, const struct xref_loc *l, const char *name, size_t len)
{
	(void)l;
	(void)name;
	(void)len;
	return ++*(int *)ctx == 1 ? 7 : 0;
}

TEST(outline)
{
	/* a file's definitions in line order, for the outline beside the code */
	struct fx f;
	struct buf b;
	int n = 0;
	fx_make(&f, 0);
	buf_init(&b, 4096);
	CHECK(xref_file_definitions(f.x, manifest_find(f.m, "lib/list.h", 10), collect_outline, &b) == 0);
	CHECK_EQ_STR(b.p, "1:list:class\n4:list_t:type\n5:list_push:function\n");
	buf_reset(&b);
	CHECK(xref_file_definitions(f.x, manifest_find(f.m, "app/main.py", 11), collect_outline, &b) == 0);
	CHECK_EQ_STR(b.p, "3:Runner:class\n4:run:function\n7:main:function\n");
	buf_reset(&b);
	CHECK(xref_file_definitions(f.x, manifest_find(f.m, "README", 6), collect_outline, &b) == 0);
	CHECK_EQ_STR(b.p, ""); /* prose has none */
	CHECK(xref_file_definitions(f.x, manifest_find(f.m, "lib/list.h", 10), stop_after_one, &n) == 7 && n == 1);
	{
		struct manifest_entry other = {0};
		other.path = (char *)"not/there.c";
		other.path_len = 11;
		CHECK(xref_file_definitions(f.x, &other, collect_outline, &b) == 0 && b.len == 0);
	}
	buf_release(&b);
	fx_free(&f);
}

TEST(flags_byte)
{
	/* the record's last byte: bit 0 (a body) is the only flag; any other bit is corruption */
	struct fx f;
	struct xref *x = NULL;
	struct buf c;
	fx_make(&f, 0);
	buf_init(&c, XREF_MAX);
	CHECK(buf_add(&c, f.xenc.p, f.xenc.len) == 0);
	c.p[32 + 19] |= 2;
	CHECK(xref_load(c.p, c.len, f.m, &x) == ERR_CORRUPT);
	CHECK(strstr(err_msg(), "malformed") != NULL);
	c.p[32 + 19] = 0; /* a table sealed before the flag: loads, without bodies */
	CHECK(xref_load(c.p, c.len, f.m, &x) == 0);
	xref_free(x);
	buf_release(&c);
	fx_free(&f);
}

int main(void)
{
	RUN(bodies_preferred);
	RUN(numbers);
	RUN(outline);
	RUN(flags_byte);
	RUN(tags_definitions);
	RUN(parse_limit);
	RUN(hostile_bytes);
	return test_done();
}
