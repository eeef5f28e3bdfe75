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

int main(void)
{
	RUN(cap_at_limit_and_past);
	RUN(addf_and_detach);
	RUN(hex_round_trip);
	RUN(json_strings);
	RUN(utf8);
	RUN(read_file_limits);
	RUN(unb64_variants);
	return test_done();
}
