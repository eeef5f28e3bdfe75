/* fuzz_searchd: the search worker's messages (searchd.h). The first byte chooses: even, a
 * request as the worker decodes it (a decoded one encodes to the same bytes); odd, an
 * answer as the room decodes it over a small index with its text (index_attach of a
 * hand-made image and a memory file), whose every line must then lie inside that text and
 * be exactly one line of it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "gitobj.h"
#include "index.h"
#include "le.h"
#include "query.h"
#include "searchd.h"

static struct manifest *m;
static struct index *ix;
static const char *const texts[] = {
	"static int foo_bar(int x)\n{\n\treturn FOO + x;\n}\n",
	"\xef\xbb\xbfint first;\nint foo;",
	"#define FOO 1\n",
};
#define N_TEXTS 3

static void setup(void)
{
	struct index_builder *b;
	struct buf enc, img;
	static const char *const names[N_TEXTS] = {"a.c", "b.c", "c.h"};
	int fd;
	if (ix)
		return;
	m = manifest_new();
	if (index_builder_new(&b))
		abort();
	for (int i = 0; i < N_TEXTS; i++) {
		struct manifest_entry e = {0};
		size_t len = strlen(texts[i]);
		gitobj_blob_ids(texts[i], len, e.sha1, e.sha256);
		e.mode = 0100644;
		if (manifest_add(m, names[i], strlen(names[i]), 0100644, len, e.sha1, e.sha256) ||
		    index_builder_add(b, &e, texts[i], len))
			abort();
	}
	buf_init(&enc, 0);
	buf_init(&img, 0);
	if (manifest_sort(m) || index_builder_finish(b, m, &enc))
		abort();
	index_builder_free(b);
	/* the image index_share would make (any name order will do for decoding answers) */
	{
		unsigned char h[16];
		uint64_t n_syms = get64((const unsigned char *)enc.p + 16);
		memcpy(h, "SRIL0001", 8);
		put64(h + 8, enc.len);
		if (buf_add(&img, h, 16) || buf_add(&img, enc.p, enc.len))
			abort();
		for (int i = 0; i < N_TEXTS; i++)
			if (buf_add(&img, "\0", 1))
				abort();
		for (uint64_t k = 0; k < n_syms; k++) {
			unsigned char v[4];
			put32(v, (uint32_t)k);
			if (buf_add(&img, v, 4))
				abort();
		}
	}
	fd = memfd_create("fuzz-text", MFD_CLOEXEC);
	for (size_t i = 0; i < manifest_count(m); i++) {
		const struct manifest_entry *e = manifest_get(m, i);
		for (int k = 0; k < N_TEXTS; k++)
			if (!strcmp(e->path, names[k]) && write(fd, texts[k], strlen(texts[k])) != (ssize_t)strlen(texts[k]))
				abort();
	}
	if (write(fd, "", 1) != 1 || index_attach(img.p, img.len, m, fd, 0, &ix))
		abort();
	close(fd);
	buf_release(&enc);
	buf_release(&img);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	setup();
	if (!size)
		return 0;
	if (!(data[0] & 1)) {
		char *text = malloc(QUERY_MAX + 1);
		struct query_opts qo;
		struct search_opts so;
		if (searchd_request_decode(data + 1, size - 1, text, &qo, &so) == 0) {
			struct buf again;
			buf_init(&again, 0);
			if (searchd_request_encode(text, &qo, &so, &again) || again.len != size - 1 ||
			    memcmp(again.p, data + 1, size - 1))
				abort();
			buf_release(&again);
		} else if (!*err_msg()) {
			abort();
		}
		free(text);
	} else {
		struct search_result *r = NULL;
		int e = searchd_answer_decode(ix, data + 1, size - 1, &r);
		if (e == 0) {
			for (size_t i = 0; i < search_result_n_files(r); i++) {
				size_t fi = search_result_file(r, i), n;
				const unsigned char *t = index_read_text(ix, fi, &n);
				for (size_t j = 0; j < search_result_n_lines(r, i); j++) {
					const struct search_line *l = search_result_line(r, i, j);
					const unsigned char *p = (const unsigned char *)l->text;
					if (!t || p < t || p + l->len > t + n || memchr(p, '\n', l->len))
						abort();
					for (size_t k = 0; k < l->n_ranges; k++)
						if (l->ranges[k].start > l->ranges[k].end || l->ranges[k].end > l->len)
							abort();
				}
			}
			search_result_free(r);
		} else if (r || !*err_msg()) {
			abort();
		}
	}
	return 0;
}
