/*
 * xref: go to definition and find references in a sealed release.
 *
 * Definitions come from the grammars' own tags.scm (@definition.function, .class, .type,
 * .method, ...), each marked with whether it carries its body (a function's block, a
 * struct's fields) or is a declaration only (a prototype), run in-process by tree-sitter over each file's plaintext at seal time: the
 * plaintext never leaves memory. Parsing and tagging run at about 4-12 MB/s per core (the
 * Linux tree's 1.3 GB would take minutes), so a release whose parseable source passes
 * XREF_PARSE_MAX (16 MiB, about 3 CPU seconds spent before giving up) is not tagged: its
 * "xref" object then says so and definitions come from the search index's symbol table
 * (index.h) instead. Either
 * way the outcome depends only on the release's content (save for a file so pathological
 * that its parse passes XREF_PARSE_US).
 *
 * References are not xref's: the room finds them at query time as a whole-word literal
 * search of the name (query.h, search.h), so they cover every file and language, comments
 * included, like a careful grep, and are charged and logged as any search.
 *
 * Building: xref_builder_add is called from many ingest threads at once; xref_builder_finish
 * encodes for the sorted manifest (docs/formats.md, "Cross-references"); the release stores
 * the bytes encrypted as the vault's "xref" object. Loading: xref_load treats the bytes as
 * hostile (every count, offset, length and order checked). A loaded struct xref is
 * immutable and safe to share between threads.
 */
#ifndef SEALROOM_XREF_H
#define SEALROOM_XREF_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "index.h"
#include "manifest.h"

/* Above this many bytes of parseable source the release's definitions come from the index. */
#define XREF_PARSE_MAX ((uint64_t)16 << 20)
/* The largest encoded object xref_load accepts. */
#define XREF_MAX ((size_t)1 << 30)
/* A file whose parse takes longer than this contributes no definitions (hostile input
 * can make tree-sitter's error recovery slow; real files parse at ~12 MB/s). */
#define XREF_PARSE_US ((uint64_t)2000000)
/* The longest name kept (longer definitions are skipped). */
#define XREF_NAME_MAX 255

enum xref_kind {
	XREF_FUNCTION = 1,
	XREF_METHOD,
	XREF_CLASS,
	XREF_TYPE,
	XREF_INTERFACE,
	XREF_MODULE,
	XREF_MACRO,
	XREF_CONSTANT,
	XREF_OTHER,
	XREF_NKINDS,
};
/* "function", "method", "class", ... ("other" for unknown values). */
const char *xref_kind_name(unsigned kind);

struct xref_builder;
int xref_builder_new(struct xref_builder **out) WUR;
/* Add one file (thread-safe): parses it with its language's tags query when it has one. */
int xref_builder_add(struct xref_builder *b, const struct manifest_entry *e, const void *data,
		     size_t len) WUR;
/* Encode for the sorted manifest m into out; ERR_TOOBIG past XREF_MAX. */
int xref_builder_finish(struct xref_builder *b, const struct manifest *m, struct buf *out) WUR;
void xref_builder_free(struct xref_builder *b);

struct xref;
/*
 * Decode (p, len) for the manifest m (borrowed; must outlive x). ERR_CORRUPT naming what is
 * wrong. Copies what it keeps: (p, len) may be freed afterwards.
 */
int xref_load(const void *p, size_t len, const struct manifest *m, struct xref **out) WUR;
void xref_free(struct xref *x);
/* Are definitions from tree-sitter tags (1) or from the index's heuristic (0)? */
int xref_has_tags(const struct xref *x);
size_t xref_n_definitions(const struct xref *x);

struct xref_loc {
	const char *path; /* the manifest's copy */
	size_t path_len;
	size_t file;      /* manifest index */
	uint32_t line;    /* 1-based */
	uint32_t col;     /* 1-based byte column; 0 when unknown */
	unsigned kind;    /* enum xref_kind (XREF_OTHER for references) */
	int body;         /* a definition with its body (not a prototype or forward declaration) */
	size_t number;    /* definitions: its number in name order (xref_definition, or the
			   * index's symbol number without tags); 0 for references */
};

/*
 * Call cb for each definition of exactly (name, len) (case-sensitive), in path order:
 * from x's tags, or from ix's symbol table when x is NULL or has none (ix may be NULL then
 * nothing is found). A non-zero return from cb stops and is returned. Returns 0 otherwise.
 */
int xref_definitions(const struct xref *x, const struct index *ix, const char *name, size_t len,
		     int (*cb)(void *ctx, const struct xref_loc *l), void *ctx) WUR;
/*
 * Definition i of x's tags in name order (its place, *name and *len pointing into x);
 * ERR_NOTFOUND past the last one or when x has no tags.
 */
int xref_definition(const struct xref *x, size_t i, struct xref_loc *l, const char **name,
		    size_t *len) WUR;
/*
 * Call cb for each definition of x's tags in the file of x's manifest with e's path, in
 * (line, column) order: the file's outline. A non-zero return from cb stops and is
 * returned; 0 when x has no tags or no such file.
 */
int xref_file_definitions(const struct xref *x, const struct manifest_entry *e,
			  int (*cb)(void *ctx, const struct xref_loc *l, const char *name, size_t len),
			  void *ctx) WUR;

#endif
