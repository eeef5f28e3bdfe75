/*
 * text_index.h: a loaded struct index over a few texts held in memory, for the query tests
 * and fuzz targets, made as a release's search worker receives one (docs/formats.md, "The
 * search worker": the shared image and the text, handed to index_attach), so that a text
 * is searched through index_search in microseconds (index_builder_finish takes tens of
 * milliseconds whatever the size, too slow for tens of thousands of texts).
 *
 * The trigram lists follow the builder's rule (docs/formats.md, "Search index"): a file's
 * distinct byte trigrams inside one line of its searchable part (index_searchable_len; the
 * UTF-8 transcoding of a UTF-16 text), case kept; test_index checks the rule against
 * index_builder_finish. There are no symbols. A file may list the trigrams of other bytes
 * than its text (text_file.tri_of), so that a test sees whether a plan rejects those bytes:
 * the file is only searched when the plan accepts them.
 */
#ifndef SEALROOM_TEXT_INDEX_H
#define SEALROOM_TEXT_INDEX_H
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "buf.h"
#include "gitobj.h"
#include "index.h"
#include "le.h"
#include "manifest.h"

struct text_file {
	const char *path;
	const void *data;
	size_t len;
	const void *tri_of; /* the bytes whose trigrams the index lists for the file; NULL: data */
	size_t tri_len;
};

struct text_index {
	struct manifest *m;
	struct index *ix;
};

static int ti_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Append (trigram << 32 | file) for each trigram inside a line of p[0..n) to *v. */
static void ti_trigrams(const unsigned char *p, size_t n, uint32_t file, uint64_t **v, size_t *nv, size_t *cap)
{
	for (size_t i = 0; i + 2 < n; i++) {
		if (p[i] == '\n' || p[i + 1] == '\n' || p[i + 2] == '\n')
			continue;
		if (*nv == *cap) {
			*cap = *cap ? 2 * *cap : 256;
			*v = xrealloc(*v, *cap * sizeof(**v));
		}
		(*v)[(*nv)++] = (uint64_t)((uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2]) << 32 | file;
	}
}

/* Index files[0..n) (distinct paths); aborts on failure. Free with text_index_free. */
static void text_index_make(struct text_index *t, const struct text_file *files, size_t n)
{
	struct buf img, text, u16;
	uint64_t *v = NULL, *search_len;
	size_t nv = 0, cap = 0, n_tri = 0, post_len = 0, enc_len;
	unsigned char *o;
	int fd;

	if (n > 127) /* every posting gap then takes one byte */
		BUG("text index: at most 127 files");
	t->m = manifest_new();
	for (size_t i = 0; i < n; i++) {
		unsigned char s1[20], s256[32];
		gitobj_blob_ids(files[i].data, files[i].len, s1, s256);
		if (manifest_add(t->m, files[i].path, strlen(files[i].path), 0100644, files[i].len, s1, s256))
			BUG("text index: %s", err_msg());
	}
	if (manifest_sort(t->m))
		BUG("text index: %s", err_msg());
	buf_init(&text, 0);
	buf_init(&u16, 0);
	search_len = xcalloc(n ? n : 1, sizeof(uint64_t));
	for (uint32_t i = 0; i < n; i++) {
		const struct manifest_entry *e = manifest_get(t->m, i);
		const struct text_file *f = files;
		const unsigned char *p;
		size_t len;
		while (strcmp(f->path, e->path))
			f++;
		if (buf_add(&text, f->data, f->len))
			BUG("text index: too large");
		p = f->tri_of ? f->tri_of : f->data;
		len = f->tri_of ? f->tri_len : f->len;
		buf_reset(&u16);
		if (utf16_bom(f->data, f->len) && f->len <= INDEX_UTF16_MAX && buf_add_utf16(&u16, f->data, f->len) == 0) {
			search_len[i] = index_searchable_len(u16.p, u16.len) | INDEX_LEN_UTF16;
			if (!f->tri_of) {
				p = (const unsigned char *)u16.p;
				len = u16.len;
			}
		} else {
			search_len[i] = index_searchable_len(f->data, f->len);
		}
		ti_trigrams(p, index_searchable_len(p, len), i, &v, &nv, &cap);
	}
	if (nv) /* qsort takes no NULL array, even empty */
		qsort(v, nv, sizeof(*v), ti_cmp_u64);
	for (size_t k = 0; k < nv; k++)
		if (!k || v[k] != v[k - 1]) {
			post_len++;
			n_tri += !k || v[k] >> 32 != v[k - 1] >> 32;
		}
	/* "SRIL0001" | u64 enc_len | the index | n x u8 ascii (0: not known); no symbols */
	enc_len = 32 + 8 * n + 16 * n_tri + post_len;
	buf_init(&img, 0);
	if (buf_grow(&img, 16 + enc_len + n))
		BUG("text index: too large");
	o = (unsigned char *)img.p;
	memset(o, 0, 16 + enc_len + n);
	memcpy(o, "SRIL0001", 8);
	put64(o + 8, enc_len);
	o += 16;
	memcpy(o, "SRIX0002", 8);
	put32(o + 8, (uint32_t)n);
	put32(o + 12, (uint32_t)n_tri);
	put64(o + 24, post_len);
	for (size_t i = 0; i < n; i++)
		put64(o + 32 + 8 * i, search_len[i]);
	{
		unsigned char *row = o + 32 + 8 * n - 16, *post = o + 32 + 8 * n + 16 * n_tri;
		size_t off = 0;
		uint32_t last = 0;
		for (size_t k = 0; k < nv; k++) {
			uint32_t tri = (uint32_t)(v[k] >> 32), file = (uint32_t)v[k];
			if (k && v[k] == v[k - 1])
				continue;
			if (!k || tri != (uint32_t)(v[k - 1] >> 32)) {
				row += 16;
				put32(row, tri);
				put64(row + 8, off);
				last = UINT32_MAX; /* the first gap is the id plus one */
			}
			row[4]++; /* files in the list: under 128 */
			post[off++] = (unsigned char)(file - last);
			last = file;
		}
	}
	img.len = 16 + enc_len + n;
	fd = memfd_create("text-index", MFD_CLOEXEC);
	if (fd < 0 || (text.len && write(fd, text.p, text.len) != (ssize_t)text.len) || write(fd, "", 1) != 1 ||
	    index_attach(img.p, img.len, t->m, fd, 0, &t->ix))
		BUG("text index: %s", err_msg());
	close(fd);
	free(v);
	free(search_len);
	buf_release(&img);
	buf_release(&text);
	buf_release(&u16);
}

/* One text, at the path "t". */
static inline void text_index_one(struct text_index *t, const void *data, size_t len)
{
	text_index_make(t, &(struct text_file){"t", data, len, NULL, 0}, 1);
}

static inline void text_index_free(struct text_index *t)
{
	index_free(t->ix);
	manifest_free(t->m);
}
#endif
