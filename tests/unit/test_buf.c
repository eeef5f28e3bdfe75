/* Unit tests: buf (capped growth, hex, JSON strings, UTF-8, reading files). */
#include <stdio.h>
#include <unistd.h>

#include "buf.h"
#include "test.h"

TEST(cap_at_limit_and_past)
{
	struct buf b;
	buf_init(&b, 8);
	CHECK(buf_add(&b, "12345678", 8) == 0);
	CHECK(b.len == 8 && b.p[8] == 0);
	CHECK(buf_addch(&b, 'x') == ERR_TOOBIG);
	CHECK(b.len == 8 && !strcmp(b.p, "12345678"));
	buf_release(&b);
}

TEST(addf_and_detach)
{
	struct buf b;
	size_t n;
	char *s;
	buf_init(&b, 0);
	CHECK(buf_addf(&b, "%s-%d", "a", 42) == 0);
	CHECK_EQ_STR(b.p, "a-42");
	s = buf_detach(&b, &n);
	CHECK(n == 4 && !strcmp(s, "a-42"));
	CHECK(b.len == 0 && b.p[0] == 0);
	free(s);
	s = buf_detach(&b, &n);
	CHECK(n == 0 && s[0] == 0);
	free(s);
}

TEST(hex_round_trip)
{
	unsigned char in[3] = {0x00, 0xab, 0xff}, out[3];
	char hex[7];
	hex_encode(hex, in, 3);
	CHECK_EQ_STR(hex, "00abff");
	CHECK(hex_decode(out, 3, "00ABff", 6) == 0 && !memcmp(in, out, 3));
	CHECK(hex_decode(out, 3, "00abf", 5) == ERR_PARSE);
	CHECK(hex_decode(out, 3, "00abfg", 6) == ERR_PARSE);
}

TEST(json_strings)
{
	struct buf b;
	buf_init(&b, 0);
	CHECK(buf_addjson(&b, "a\"b\\c\n\x01\xc3\xa9", 9) == 0);
	CHECK_EQ_STR(b.p, "\"a\\\"b\\\\c\\n\\u0001\xc3\xa9\"");
	buf_reset(&b);
	CHECK(buf_addjson(&b, "\xff", 1) == 0);
	CHECK_EQ_STR(b.p, "\"\\\\xff\"");
	buf_release(&b);
}

TEST(utf8)
{
	CHECK(utf8_valid("abc\xc3\xa9", 5));
	CHECK(!utf8_valid("\xc0\xaf", 2));         /* overlong */
	CHECK(!utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
	CHECK(!utf8_valid("\xe2\x80", 2));         /* truncated */
	CHECK(utf8_valid("\xf0\x9f\x98\x80", 4));
}

TEST(read_file_limits)
{
	char path[] = "/tmp/sealroom-buf-XXXXXX";
	int fd = mkstemp(path);
	struct buf b;
	CHECK(fd >= 0);
	CHECK(write(fd, "0123456789", 10) == 10);
	close(fd);
	buf_init(&b, 10);
	CHECK(buf_read_file(&b, path) == 0 && b.len == 10);
	buf_release(&b);
	buf_init(&b, 9);
	CHECK(buf_read_file(&b, path) == ERR_TOOBIG);
	CHECK(strstr(err_msg(), path) != NULL);
	buf_release(&b);
	unlink(path);
	buf_init(&b, 0);
	CHECK(buf_read_file(&b, path) == ERR_NOTFOUND);
	buf_release(&b);
}

TEST(unb64_variants)
{
	struct buf b;
	buf_init(&b, 0);
	CHECK(buf_addunb64(&b, "aGk=", 4) == 0 && b.len == 2 && !memcmp(b.p, "hi", 2));
	CHECK(buf_addunb64(&b, "aGk", 3) == 0 && b.len == 4 && !memcmp(b.p, "hihi", 4));
	buf_reset(&b);
	CHECK(buf_addunb64(&b, "-_8", 3) == 0 && b.len == 2 && (unsigned char)b.p[0] == 0xfb);
	buf_reset(&b);
	CHECK(buf_addunb64(&b, "+/8=", 4) == 0 && b.len == 2 && (unsigned char)b.p[1] == 0xff);
	buf_reset(&b);
	CHECK(buf_addunb64(&b, "", 0) == 0 && b.len == 0);
	CHECK(buf_addstr(&b, "x") == 0);
	CHECK(buf_addunb64(&b, "aG k=", 5) == ERR_PARSE && b.len == 1 && !strcmp(b.p, "x"));
	CHECK(buf_addunb64(&b, "aGk=\n", 5) == ERR_PARSE && b.len == 1);
	CHECK(buf_addunb64(&b, "a", 1) == ERR_PARSE && b.len == 1);
	CHECK(buf_addunb64(&b, "+_8=", 4) == ERR_PARSE && b.len == 1); /* mixed alphabets */
	buf_release(&b);
	buf_init(&b, 3);
	CHECK(buf_addunb64(&b, "aGVsbG8=", 8) == ERR_TOOBIG && b.len == 0);
	buf_release(&b);
}

/* UTF-16 with a byte order mark to UTF-8, as ripgrep transcodes it (checked against rg
 * itself in tests/cli/0601-search-rg.sh). */
static int u16(const char *in, size_t n, const char *want, size_t wn)
{
	struct buf b;
	int ok;
	buf_init(&b, 1 << 20);
	ok = buf_add_utf16(&b, in, n) == 0 && b.len == wn && !memcmp(b.p, want, wn) && b.p[b.len] == 0;
	if (!ok)
		fprintf(stderr, "utf16: got %zu bytes\n", b.len);
	buf_release(&b);
	return ok;
}

TEST(utf16)
{
	struct buf b;
	CHECK(utf16_bom("\xff\xfe", 2) == 1 && utf16_bom("\xfe\xff" "a", 3) == 2);
	CHECK(utf16_bom("\xff", 1) == 0 && utf16_bom("\xef\xbb\xbf", 3) == 0 && utf16_bom("ab", 2) == 0);
	CHECK(u16("\xff\xfe", 2, "", 0));
	CHECK(u16("\xff\xfe" "a\0b\0\n\0", 8, "ab\n", 3));
	CHECK(u16("\xfe\xff" "\0a\0b", 6, "ab", 2));
	/* e-acute, the euro sign, U+1F600 as a pair */
	CHECK(u16("\xff\xfe" "\xe9\0" "\xac\x20" "\x3d\xd8\x00\xde", 10, "\xc3\xa9" "\xe2\x82\xac" "\xf0\x9f\x98\x80", 9));
	/* a lone high surrogate before a letter, a lone low one, a high one at the end */
	CHECK(u16("\xff\xfe" "\x00\xd8" "K\0" "\x00\xdc" "\x00\xd8", 10, "\xef\xbf\xbd" "K" "\xef\xbf\xbd" "\xef\xbf\xbd", 10));
	/* a trailing odd byte */
	CHECK(u16("\xff\xfe" "K\0" "K", 5, "K\xef\xbf\xbd", 4));
	/* a NUL stays a NUL (the binary rule sees it) */
	CHECK(u16("\xff\xfe" "a\0\0\0b\0", 8, "a\0b", 3));
	buf_init(&b, 16);
	CHECK(buf_add_utf16(&b, "ab", 2) == ERR_PARSE && b.len == 0);
	/* the cap: the worst case must fit (3 bytes per unit) */
	CHECK(buf_add_utf16(&b, "\xff\xfe" "a\0b\0c\0d\0e\0f\0", 14) == ERR_TOOBIG && b.len == 0);
	buf_release(&b);
}

int main(void)
{
	RUN(cap_at_limit_and_past);
	RUN(addf_and_detach);
	RUN(hex_round_trip);
	RUN(json_strings);
	RUN(utf8);
	RUN(read_file_limits);
	RUN(unb64_variants);
	RUN(utf16);
	return test_done();
}
