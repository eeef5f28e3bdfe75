/*
 * highlight: syntax highlighting with tree-sitter and each grammar's own highlights.scm.
 *
 * The grammars (C, C++, Go, Java, JavaScript, Python, Rust, shell) are compiled into the
 * program from the versions pinned in grammars/package-lock.json; their queries are
 * embedded at build time. highlight() returns the classes of a file's bytes as sorted,
 * non-overlapping spans: a capture nested in another (an escape in a string) wins inside
 * its range, and of two patterns capturing the same range the later one in the query wins
 * (the grammars write their queries so: general patterns first, C's before C++'s). The
 * plain "variable" capture, brackets, delimiters and operators are left unclassed, so
 * spans stay few.
 *
 * Threads: every function here may be called from many threads at once. Each thread gets
 * its own parser per language (freed when the thread exits); the compiled queries are
 * built once and then shared read-only. Nothing is cached between calls.
 */
#ifndef SEALROOM_HIGHLIGHT_H
#define SEALROOM_HIGHLIGHT_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

enum hl_lang {
	HL_NONE = 0,
	HL_C,
	HL_CPP,
	HL_GO,
	HL_JAVA,
	HL_JAVASCRIPT,
	HL_PYTHON,
	HL_RUST,
	HL_BASH,
	HL_NLANG,
};

/* Files larger than this are never parsed: highlight() returns them plain. */
#define HL_MAX_BYTES ((size_t)1 << 20)

/* The language of a path, by extension and a few names (.h is C; Makefile is none). */
enum hl_lang hl_lang_for_path(const char *path, size_t len);
/* The same, then the first line's #! for files without a known extension. */
enum hl_lang hl_lang_detect(const char *path, size_t len, const char *src, size_t src_len);
/* "c", "cpp", ... ("" for HL_NONE or out of range). */
const char *hl_lang_name(enum hl_lang lang);

struct hl_span {
	uint32_t start, end; /* byte offsets, start < end */
	uint16_t cls;        /* index for hl_class_name, never 0 */
};

/*
 * Classify (src, len) as lang. On success *spans (free() it; NULL when *n is 0) holds *n
 * spans sorted by start, non-overlapping. A file of HL_NONE, larger than HL_MAX_BYTES, or
 * whose parse or query takes longer than budget_us microseconds (0: no limit) comes back
 * plain (0 spans, return 0). ERR_CORRUPT only if an embedded query does not compile.
 */
int highlight(enum hl_lang lang, const char *src, size_t len, struct hl_span **spans,
	      size_t *n, uint64_t budget_us) WUR;

/* The name of a class: "keyword", "string", "comment", "function.method", ... ("" for 0
 * or out of range). Names are the grammars' capture names, dots included. */
const char *hl_class_name(uint16_t cls);
/* Classes are 1 .. hl_n_classes() - 1. */
uint16_t hl_n_classes(void);

/*
 * For xref: the calling thread's parser for lang (owned by the thread; its timeout and
 * included ranges are reset on each call). Declared with a struct tag so that this header
 * needs no tree-sitter include.
 */
struct TSParser;
struct TSParser *hl_ts_parser(enum hl_lang lang);

#endif
