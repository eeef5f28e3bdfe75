/*
 * fuzz_result: a search worker's result (search_result_decode) is hostile: arbitrary bytes
 * over a small fixed release must be refused with a message, or give a result whose every
 * line is exactly one line of its file's searchable text, numbered as it is there, with its
 * ranges inside it; such a result encodes again to the same bytes.
 *
 * Once per process the release (a BOM file, a UTF-16 file, a symlink, an empty file, a
 * file cut at a NUL) is sealed into a vault in a temporary folder and its index loaded.
 * Built with -DFUZZ_RESULT_SEEDS it becomes a program that writes the encodings of a few
 * real searches into the folder argv[1] (how fuzz/corpus/fuzz_result was made).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gitobj.h"
#include "index.h"
#include "manifest.h"
#include "query.h"
#include "vault.h"

static const struct {
	const char *path, *data;
	size_t len;
	unsigned mode;
} files[] = {
	{"a.c", "#include <x.h>\nstatic int foo_bar(int x)\n{\n\treturn FOO_BAR + x;\n}\nint foo;\n", 0, 0100644},
	{"bin.dat", "foo\n\0foo\n", 9, 0100644},
	{"bom.c", "\xef\xbb\xbf" "foo_bar(1);\nint foo_bar(void)\n{\n\n\treturn foo;\n}\n", 0, 0100644},
	{"empty", "", 0, 0100644},
	{"link", "a.c", 0, 0120000},
	{"u16.txt", "\xff\xfe" "f\0o\0o\0\n\0\n\0b\0a\0r\0 \0f\0o\0o\0\n\0\xe9\0", 26, 0100644},
	{"z.txt", "one foo\ntwo\n\nfoo four foo\nlast foo", 0, 0100644},
};

static char dir[64];
static struct vault_key *key;
static struct vault *v;
static struct manifest *m;
static struct index *ix;

static void cleanup(void)
{
	char cmd[128];
	index_free(ix);
	vault_close(v);
	vault_key_free(key);
	manifest_free(m);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		fprintf(stderr, "fuzz_result: cannot remove %s\n", dir);
}

static void setup(void)
{
	struct vault_writer *w;
	struct index_builder *b;
	struct buf enc;
	char rel[96];
	if (ix)
		return;
	snprintf(dir, sizeof(dir), "/tmp/sealroom-fuzz-result-XXXXXX");
	if (!mkdtemp(dir) || vault_key_new(&key) || vault_writer_new(dir, key, NULL, &w) || index_builder_new(&b))
		abort();
	atexit(cleanup);
	m = manifest_new();
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		size_t len = files[i].len ? files[i].len : strlen(files[i].data);
		struct manifest_entry e = {0};
		gitobj_blob_ids(files[i].data, len, e.sha1, e.sha256);
		e.mode = files[i].mode;
		e.size = len;
		if (manifest_add(m, files[i].path, strlen(files[i].path), files[i].mode, len, e.sha1, e.sha256) ||
		    vault_put(w, e.sha256, files[i].data, len) || index_builder_add(b, &e, files[i].data, len))
			abort();
	}
	buf_init(&enc, INDEX_MAX);
	if (manifest_sort(m) || index_builder_finish(b, m, &enc) || vault_put_meta(w, "index", enc.p, enc.len) ||
	    vault_commit(w, "r"))
		abort();
	index_builder_free(b);
	buf_release(&enc);
	snprintf(rel, sizeof(rel), "%s/r", dir);
	if (vault_open(rel, key, &v) || index_load(v, m, 1, &ix))
		abort();
}

/* Is every line of r one line of its file's searchable text, numbered as it is there? */
static int lines_ok(const struct search_result *r)
{
	for (size_t i = 0; i < search_result_n_files(r); i++) {
		size_t id = search_result_file(r, i), tl, n = index_search_len(ix, id), base;
		const unsigned char *d = index_read_text(ix, id, &tl);
		if (id >= index_n_files(ix) || !d || !n || n > tl || !search_result_n_lines(r, i))
			return 0;
		base = n >= 3 && !memcmp(d, "\xef\xbb\xbf", 3) ? 3 : 0;
		for (size_t j = 0; j < search_result_n_lines(r, i); j++) {
			const struct search_line *l = search_result_line(r, i, j);
			const unsigned char *t = (const unsigned char *)l->text;
			uint64_t no = 1;
			if (t < d + base || t >= d + n || l->len > (size_t)(d + n - t) ||
			    (t > d + base && t[-1] != '\n') || memchr(t, '\n', l->len) ||
			    (t + l->len < d + n && t[l->len] != '\n'))
				return 0;
			for (const unsigned char *c = d; c < t; c++)
				no += *c == '\n';
			if (no != l->line || (l->context && (l->n_ranges || l->definition)))
				return 0;
			for (size_t k = 0; k < l->n_ranges; k++)
				if (l->ranges[k].start > l->ranges[k].end || l->ranges[k].end > l->len)
					return 0;
		}
	}
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct search_result *r = NULL;
	struct buf again;
	setup();
	if (search_result_decode(ix, data, size, &r) == 0) {
		if (!r || !lines_ok(r))
			abort();
		buf_init(&again, 0);
		if (search_result_encode(r, &again) || again.len != size || memcmp(again.p, data, size))
			abort(); /* the encoding is canonical */
		buf_release(&again);
		search_result_free(r);
	} else if (r || strncmp(err_msg(), "search result: ", 15)) {
		abort(); /* a refusal explains itself */
	}
	return 0;
}

#ifdef FUZZ_RESULT_SEEDS
/* Write the encodings of a few real searches into argv[1]. */
int main(int argc, char **argv)
{
	static const struct {
		const char *q;
		int caseless;
		unsigned context, limit;
	} runs[] = {
		{"foo", 0, 0, 50}, {"foo", 0, 2, 50}, {"sym:foo_.*", 0, 1, 50}, {"FOO", 1, 0, 2},
		{"^$", 0, 1, 50},  {"o", 0, 0, 50},   {"nothing", 0, 0, 50},    {"foo_bar", 0, 3, 1},
	};
	if (argc != 2)
		return 2;
	setup();
	for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
		struct query_opts qo = {.caseless = runs[i].caseless};
		struct search_opts so;
		struct query *q;
		struct search_result *r;
		struct buf enc;
		char path[4096];
		FILE *f;
		search_opts_default(&so);
		so.context = runs[i].context;
		so.limit = runs[i].limit;
		buf_init(&enc, 0);
		if (query_parse(runs[i].q, &qo, &q) || index_search(ix, q, &so, &r) || search_result_encode(r, &enc))
			return 1;
		snprintf(path, sizeof(path), "%s/seed%zu", argv[1], i);
		if (!(f = fopen(path, "wb")) || fwrite(enc.p, 1, enc.len, f) != enc.len || fclose(f))
			return 1;
		search_result_free(r);
		query_free(q);
		buf_release(&enc);
	}
	return 0;
}
#endif
