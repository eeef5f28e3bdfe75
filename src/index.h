/*
 * index: the search index of a release, built at seal time and loaded at unlock.
 *
 * Building: struct index_builder collects, for each file handed to index_builder_add (from
 * many ingest threads at once), the set of its byte trigrams (case kept) and the symbol
 * definitions found by a small heuristic (C, C++, Go, Rust, Python, JS, shell). Then
 * index_builder_finish inverts them into per-trigram posting lists of file ids (the
 * manifest's sorted order) and encodes everything; docs/formats.md ("Search index") has
 * the layout. The release stores the encoding encrypted, as the vault's "index" object.
 *
 * Only what ripgrep (`rg -uu`) would search is indexed: symlinks are skipped and a file
 * holding a NUL byte is cut where rg stops reading it (rg drops the 64 KiB read in which
 * it meets the first NUL); index_searchable_len gives that length.
 *
 * Loading: index_load decodes untrusted bytes (every count, offset and posting checked)
 * and reads every file's plaintext from the vault into one arena, so that a query never
 * decrypts. A loaded struct index is immutable and safe to query from many threads.
 */
#ifndef SEALROOM_INDEX_H
#define SEALROOM_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "manifest.h"

struct vault;

/*
 * A file in UTF-16 with a byte order mark is searched as ripgrep reads it, transcoded to
 * UTF-8 (buf_add_utf16): its trigrams are the transcoding's, its searchable length
 * (INDEX_LEN_UTF16 set in the format) the transcoding's, and it has no symbols. Files up to
 * INDEX_UTF16_MAX bytes are transcoded; a larger one is searched as it is stored.
 */
#define INDEX_LEN_UTF16 ((uint64_t)1 << 63)
#define INDEX_UTF16_MAX ((size_t)64 << 20)

/* The largest encoded index index_load accepts (also the vault's object limit). */
#define INDEX_MAX ((size_t)1 << 30)
/* The largest total of file contents index_load holds in memory. */
#define INDEX_ARENA_MAX ((uint64_t)64 << 30)

enum index_symbol_kind {
	SYM_FUNCTION = 1,
	SYM_MACRO = 2,
	SYM_TYPE = 3, /* struct, union, enum, class, typedef */
	SYM_OTHER = 4,
};

/* A symbol definition: its name is bytes [off, off+len) of the file's text. */
struct index_symbol {
	uint32_t file;
	uint32_t line; /* 1-based */
	uint32_t off;
	uint16_t len;
	uint16_t kind;
};

struct index_builder;

int index_builder_new(struct index_builder **out) WUR;
/*
 * Add one file (its manifest entry and bytes). Thread-safe; keeps only the file's trigram
 * set and symbols, not its bytes. Symlinks are ignored.
 */
int index_builder_add(struct index_builder *b, const struct manifest_entry *e,
		      const void *data, size_t len) WUR;
/*
 * Encode the index for the sorted manifest m (the one ingest returned) into out. Every
 * regular file of m must have been added (by its content id). ERR_CORRUPT when one was not,
 * ERR_TOOBIG past INDEX_MAX.
 */
int index_builder_finish(struct index_builder *b, const struct manifest *m, struct buf *out) WUR;
void index_builder_free(struct index_builder *b);

/* How many leading bytes of (p, len) `rg -uu` searches (all of them without a NUL). */
size_t index_searchable_len(const void *p, size_t len);

struct index;

/*
 * Read the release's encoded index (v's named object "index") and decode it, checking it
 * against the manifest m, while reading every regular file's plaintext from v into memory
 * (threads workers; 0 = CPUs), each blob checked against its content id as it is read.
 * m is borrowed and must outlive the index; v is only used during the call. ERR_NOTFOUND
 * when v holds no index; ERR_CORRUPT naming what is wrong for a damaged index; for a file
 * that cannot be read, vault_get's errors (a missing blob is ERR_CORRUPT) prefixed with
 * the file's path: "index: 'PATH': vault: ...".
 */
int index_load(struct vault *v, const struct manifest *m, int threads, struct index **out) WUR;
/*
 * Hand a loaded index to another process (the release's search worker, searchd.h): the
 * tables it searches by (docs/formats.md "The search worker": index_share_len bytes, which
 * index_share_write writes at dst) and, from
 * index_share_text, a new descriptor of the text, open for reading only (the caller closes
 * it). The text itself is not copied: both processes map the same pages. ERR_USAGE for an
 * index that index_load did not make.
 */
size_t index_share_len(const struct index *ix);
void index_share_write(const struct index *ix, unsigned char *dst);
int index_share_text(const struct index *ix, int *text_fd) WUR;
/*
 * The other side: a struct index over the manifest m (borrowed) from (img, len), what
 * index_share_write wrote, and the text text_fd (mapped read-only; the caller may close it after
 * the call). With keep, img stays valid as long as the index (a mapping) and its posting
 * lists are read in place; else they are copied. The tables are checked as index_load
 * checks them, except that each posting list is taken as its sender's load checked it.
 * ERR_CORRUPT naming what is wrong.
 */
int index_attach(const void *img, size_t len, const struct manifest *m, int text_fd, int keep,
		 struct index **out) WUR;
void index_free(struct index *ix);

/* Files are the manifest's entries, by position. */
size_t index_n_files(const struct index *ix);
const struct manifest *index_manifest(const struct index *ix);
/* The whole text of file i (NULL and 0 for a symlink). */
const unsigned char *index_text(const struct index *ix, size_t i, size_t *len);
/*
 * The text of file i as a search and the notes' check read it: for a file in UTF-16 with a
 * byte order mark its UTF-8 transcoding (INDEX_LEN_UTF16), else index_text. A search's line
 * texts and offsets are in it.
 */
const unsigned char *index_read_text(const struct index *ix, size_t i, size_t *len);
/*
 * Are the first index_search_len(ix, i) bytes of file i ASCII only (no byte past 0x7f)?
 * Worked out on first asking and kept; 0 for a file without text. A search may match such a
 * file with a pattern compiled without Unicode (the same lines, far faster for \d, \w).
 */
int index_ascii(const struct index *ix, size_t i);
/* The part of file i's read text (index_read_text) a search looks at (index_searchable_len). */
size_t index_search_len(const struct index *ix, size_t i);
/* Bytes of memory the loaded index holds (arena + postings + symbols). */
size_t index_memory(const struct index *ix);

/* Fold a byte as symbol names compare: ASCII A-Z to a-z, all else unchanged. */
static inline unsigned char index_fold(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c | 0x20) : c;
}
/*
 * The trigram of three bytes. Trigrams keep case: a caseless search looks up each case
 * variant of its trigrams.
 */
static inline uint32_t index_trigram(unsigned char a, unsigned char b, unsigned char c)
{
	return (uint32_t)a << 16 | (uint32_t)b << 8 | c;
}
/*
 * The files whose searchable text holds trigram t, ascending, in a fresh array (*ids, free
 * it) of *n entries (0 and NULL when none).
 */
void index_postings(const struct index *ix, uint32_t t, uint32_t **ids, size_t *n);
/* The number of files holding trigram t, without decoding. */
size_t index_postings_count(const struct index *ix, uint32_t t);

size_t index_n_symbols(const struct index *ix);
/* Symbol i in (file, line) order. */
const struct index_symbol *index_symbol(const struct index *ix, size_t i);
/* Symbol i in name order (bytes, ASCII case folded, then file order). */
const struct index_symbol *index_symbol_by_name(const struct index *ix, size_t i);
/* The range [*lo, *hi) of name order whose names equal (name, len), ASCII case folded. */
void index_symbol_find(const struct index *ix, const char *name, size_t len, size_t *lo,
		       size_t *hi);
/* The name bytes of a symbol, in its file's text. */
const char *index_symbol_name(const struct index *ix, const struct index_symbol *s);

#endif
