/*
 * buf: a growable byte buffer with a hard cap (curl's dynbuf, git's strbuf).
 *
 * The bytes are always NUL-terminated (p[len] == 0), so a buf can be used as a C string
 * when it holds no NUL. Every append fails with ERR_TOOBIG, leaving the buffer as it was,
 * once len would pass max. The struct is embedded by callers: buf_init / buf_release.
 * buf_detach hands the bytes over to the caller (free with free()).
 */
#ifndef SEALROOM_BUF_H
#define SEALROOM_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "err.h"

struct buf {
	char *p;
	size_t len;
	size_t cap;
	size_t max;
};

/* A slice of someone else's bytes, for parsing. */
struct str {
	const char *p;
	size_t len;
};

#define BUF_MAX_DEFAULT ((size_t)1 << 30)

void buf_init(struct buf *b, size_t max);
void buf_release(struct buf *b);
void buf_reset(struct buf *b);
char *buf_detach(struct buf *b, size_t *len);
int buf_add(struct buf *b, const void *p, size_t len) WUR;
int buf_addstr(struct buf *b, const char *s) WUR;
int buf_addch(struct buf *b, char c) WUR;
int buf_addf(struct buf *b, const char *fmt, ...) WUR __attribute__((format(printf, 2, 3)));
int buf_vaddf(struct buf *b, const char *fmt, va_list ap) WUR;
/* Make room for n more bytes; returns 0 or ERR_TOOBIG. */
int buf_grow(struct buf *b, size_t n) WUR;
/* Append hex of (p, len), lowercase. */
int buf_addhex(struct buf *b, const void *p, size_t len) WUR;
/* Append standard (padded) base64 of (p, len). */
int buf_addb64(struct buf *b, const void *p, size_t len) WUR;
/* Append the bytes of base64 text (s, len): standard or URL-safe alphabet, padded or not,
 * no whitespace. ERR_PARSE (buffer unchanged) on anything else. */
int buf_addunb64(struct buf *b, const char *s, size_t len) WUR;
/* Append s as a JSON string (with quotes); invalid UTF-8 bytes become \u00XX-escaped
 * replacement sequences so that the output is always valid JSON. */
int buf_addjson(struct buf *b, const char *s, size_t len) WUR;

/* Is (p, len) ASCII only (no byte past 0x7f)? */
int ascii_only(const void *p, size_t len);
/* Is (p, len) valid UTF-8 (no overlongs, no surrogates)? */
int utf8_valid(const void *p, size_t len);

/*
 * The byte order mark of UTF-16 text at the start of (p, len): 1 little-endian (FF FE),
 * 2 big-endian (FE FF), 0 none.
 */
int utf16_bom(const void *p, size_t len);
/*
 * Append (p, len), UTF-16 text with its byte order mark (utf16_bom), transcoded to UTF-8
 * as ripgrep reads it: the mark dropped, a lone surrogate and a trailing odd byte each
 * U+FFFD. At most 3 bytes per 2 read (the caller can size b from that). ERR_PARSE when
 * (p, len) does not start with a mark.
 */
int buf_add_utf16(struct buf *b, const void *p, size_t len) WUR;

/* Read a whole file into b (appending), failing with ERR_TOOBIG past b->max. */
int buf_read_file(struct buf *b, const char *path) WUR;

/* Lowercase hex of (p, len) into out (2*len+1 bytes). */
void hex_encode(char *out, const void *p, size_t len);
/* Parse exactly 2*len hex digits; returns 0 or ERR_PARSE. */
int hex_decode(void *out, size_t len, const char *hex, size_t hex_len) WUR;

#endif
