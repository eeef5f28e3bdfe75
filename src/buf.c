/* buf: growable capped buffers, hex and JSON string helpers. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "buf.h"

static char empty_buf[1];

void buf_init(struct buf *b, size_t max)
{
	b->p = empty_buf;
	b->len = 0;
	b->cap = 0;
	b->max = max ? max : BUF_MAX_DEFAULT;
}

void buf_release(struct buf *b)
{
	if (b->cap)
		free(b->p);
	buf_init(b, b->max);
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->cap) /* an unallocated buf points at the shared empty_buf, which stays "" */
		b->p[0] = 0;
}

char *buf_detach(struct buf *b, size_t *len)
{
	char *r;
	if (len)
		*len = b->len;
	r = b->cap ? b->p : xcalloc(1, 1);
	buf_init(b, b->max);
	return r;
}

int buf_grow(struct buf *b, size_t n)
{
	size_t need, cap;
	if (__builtin_add_overflow(b->len, n, &need) || need > b->max)
		return err_set(ERR_TOOBIG, "buffer limit of %zu bytes reached", b->max);
	if (need + 1 <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 64;
	while (cap < need + 1)
		cap = cap > SIZE_MAX / 2 ? need + 1 : cap * 2;
	if (b->cap) {
		b->p = xrealloc(b->p, cap);
	} else {
		b->p = xmalloc(cap);
		b->p[0] = 0;
	}
	b->cap = cap;
	return 0;
}

int buf_add(struct buf *b, const void *p, size_t len)
{
	int r = buf_grow(b, len);
	if (r)
		return r;
	if (len)
		memcpy(b->p + b->len, p, len);
	b->len += len;
	b->p[b->len] = 0;
	return 0;
}

int buf_addstr(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

int buf_addch(struct buf *b, char c)
{
	return buf_add(b, &c, 1);
}

int buf_vaddf(struct buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	int n, r;
	va_copy(cp, ap);
	n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		return err_set(ERR_USAGE, "bad format string");
	r = buf_grow(b, (size_t)n);
	if (r)
		return r;
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int buf_addf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int r;
	va_start(ap, fmt);
	r = buf_vaddf(b, fmt, ap);
	va_end(ap);
	return r;
}

void hex_encode(char *out, const void *p, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	const unsigned char *s = p;
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[s[i] >> 4];
		out[2 * i + 1] = digits[s[i] & 15];
	}
	out[2 * len] = 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int hex_decode(void *out, size_t len, const char *hex, size_t hex_len)
{
	unsigned char *o = out;
	if (hex_len != 2 * len)
		return err_set(ERR_PARSE, "hex string has %zu digits, wanted %zu", hex_len, 2 * len);
	for (size_t i = 0; i < len; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return err_set(ERR_PARSE, "'%.*s' is not hex", (int)hex_len, hex);
		o[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

int buf_addhex(struct buf *b, const void *p, size_t len)
{
	int r;
	if (len > SIZE_MAX / 2 - 1)
		return err_set(ERR_TOOBIG, "hex too long");
	r = buf_grow(b, 2 * len);
	if (r)
		return r;
	hex_encode(b->p + b->len, p, len);
	b->len += 2 * len;
	return 0;
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when it is not valid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		return n >= 2 && (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (s[0] >= 0xe0 && s[0] <= 0xef) {
		if (n < 3 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
			return 0;
		if (s[0] == 0xe0 && s[1] < 0xa0)
			return 0;
		if (s[0] == 0xed && s[1] >= 0xa0)
			return 0;
		return 3;
	}
	if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		if (n < 4 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 ||
		    (s[3] & 0xc0) != 0x80)
			return 0;
		if (s[0] == 0xf0 && s[1] < 0x90)
			return 0;
		if (s[0] == 0xf4 && s[1] >= 0x90)
			return 0;
		return 4;
	}
	return 0;
}

int buf_addb64(struct buf *b, const void *p, size_t len)
{
	size_t n = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
	int r = buf_grow(b, n);
	if (r)
		return r;
	sodium_bin2base64(b->p + b->len, n, p, len, sodium_base64_VARIANT_ORIGINAL);
	b->len += n - 1;
	return 0;
}

int buf_addunb64(struct buf *b, const char *s, size_t len)
{
	static const int variants[] = {
		sodium_base64_VARIANT_ORIGINAL, sodium_base64_VARIANT_ORIGINAL_NO_PADDING,
		sodium_base64_VARIANT_URLSAFE, sodium_base64_VARIANT_URLSAFE_NO_PADDING,
	};
	size_t cap = len / 4 * 3 + 3, n;
	const char *end;
	int r = buf_grow(b, cap);
	if (r)
		return r;
	for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
		end = NULL;
		n = 0;
		if (sodium_base642bin((unsigned char *)b->p + b->len, cap, s, len, NULL, &n, &end,
				      variants[i]) == 0 && end == s + len) {
			b->len += n;
			b->p[b->len] = 0;
			return 0;
		}
	}
	b->p[b->len] = 0;
	return err_set(ERR_PARSE, "not base64");
}

int utf8_valid(const void *p, size_t len)
{
	const unsigned char *u = p;
	for (size_t i = 0; i < len;) {
		size_t n = utf8_len(u + i, len - i);
		if (!n)
			return 0;
		i += n;
	}
	return 1;
}

int buf_addjson(struct buf *b, const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	int r = buf_addch(b, '"');
	for (size_t i = 0; i < len && !r;) {
		unsigned char c = u[i];
		size_t n;
		if (c == '"' || c == '\\') {
			char esc[2] = {'\\', (char)c};
			r = buf_add(b, esc, 2);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			switch (c) {
			case '\n': r = buf_add(b, "\\n", 2); break;
			case '\t': r = buf_add(b, "\\t", 2); break;
			case '\r': r = buf_add(b, "\\r", 2); break;
			default: r = buf_addf(b, "\\u%04x", c); break;
			}
			i++;
		} else if ((n = utf8_len(u + i, len - i)) > 0) {
			r = buf_add(b, s + i, n);
			i += n;
		} else {
			/* not UTF-8: keep the byte visible and reversible as U+FFFD-free escape */
			r = buf_addf(b, "\\\\x%02x", c);
			i++;
		}
	}
	return r ? r : buf_addch(b, '"');
}

int buf_read_file(struct buf *b, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int r = 0;
	if (fd < 0)
		return err_set(errno == ENOENT ? ERR_NOTFOUND : ERR_IO, "cannot open '%s': %s",
			       path, strerror(errno));
	for (;;) {
		size_t room = b->max - b->len, want = room < 65536 ? room : 65536;
		ssize_t n;
		if (room == 0) {
			char c;
			if (read(fd, &c, 1) > 0)
				r = err_set(ERR_TOOBIG, "'%s' is larger than %zu bytes", path, b->max);
			break;
		}
		r = buf_grow(b, want);
		if (r)
			break;
		n = read(fd, b->p + b->len, want);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = err_set(ERR_IO, "cannot read '%s': %s", path, strerror(errno));
			break;
		}
		if (n == 0)
			break;
		b->len += (size_t)n;
		b->p[b->len] = 0;
	}
	close(fd);
	return r;
}

int utf16_bom(const void *p, size_t len)
{
	const unsigned char *c = p;
	if (len < 2)
		return 0;
	return c[0] == 0xff && c[1] == 0xfe ? 1 : c[0] == 0xfe && c[1] == 0xff ? 2 : 0;
}

/* Append code point u (below 0x110000, not a surrogate) as UTF-8 to o; its length. */
static size_t put_utf8(unsigned char *o, uint32_t u)
{
	if (u < 0x80) {
		o[0] = (unsigned char)u;
		return 1;
	}
	if (u < 0x800) {
		o[0] = (unsigned char)(0xc0 | u >> 6);
		o[1] = (unsigned char)(0x80 | (u & 0x3f));
		return 2;
	}
	if (u < 0x10000) {
		o[0] = (unsigned char)(0xe0 | u >> 12);
		o[1] = (unsigned char)(0x80 | (u >> 6 & 0x3f));
		o[2] = (unsigned char)(0x80 | (u & 0x3f));
		return 3;
	}
	o[0] = (unsigned char)(0xf0 | u >> 18);
	o[1] = (unsigned char)(0x80 | (u >> 12 & 0x3f));
	o[2] = (unsigned char)(0x80 | (u >> 6 & 0x3f));
	o[3] = (unsigned char)(0x80 | (u & 0x3f));
	return 4;
}

int buf_add_utf16(struct buf *b, const void *p, size_t len)
{
	const unsigned char *c = p;
	int be = utf16_bom(p, len) == 2, r;
	size_t i = 2;
	if (!utf16_bom(p, len))
		return err_set(ERR_PARSE, "not UTF-16 text with a byte order mark");
	/* every 2 bytes read give at most 3 written (a pair of 4 bytes gives 4) */
	if ((len - 2) / 2 > (SIZE_MAX - 4) / 3)
		return err_set(ERR_TOOBIG, "UTF-16 text too large");
	if ((r = buf_grow(b, (len - 2) / 2 * 3 + 4)))
		return r;
	while (i + 1 < len) {
		uint32_t u = be ? (uint32_t)c[i] << 8 | c[i + 1] : (uint32_t)c[i + 1] << 8 | c[i];
		i += 2;
		if (u >= 0xd800 && u < 0xdc00 && i + 1 < len) {
			uint32_t v = be ? (uint32_t)c[i] << 8 | c[i + 1] : (uint32_t)c[i + 1] << 8 | c[i];
			if (v >= 0xdc00 && v < 0xe000) {
				u = 0x10000 + ((u - 0xd800) << 10) + (v - 0xdc00);
				i += 2;
			} else {
				u = 0xfffd;
			}
		} else if (u >= 0xd800 && u < 0xe000) {
			u = 0xfffd;
		}
		b->len += put_utf8((unsigned char *)b->p + b->len, u);
	}
	if (i < len) /* a trailing odd byte */
		b->len += put_utf8((unsigned char *)b->p + b->len, 0xfffd);
	b->p[b->len] = 0;
	return 0;
}

int ascii_only(const void *p, size_t len)
{
	const unsigned char *c = p;
	uint64_t any = 0;
	size_t k = 0;
	for (; k + 8 <= len; k += 8) {
		uint64_t w;
		memcpy(&w, c + k, 8);
		any |= w;
	}
	for (; k < len; k++)
		any |= c[k];
	return !(any & 0x8080808080808080ull);
}
