/* Unit tests: cipherfont (round trip, the rewritten font read by FreeType, per-session maps). */
#include <ft2build.h>
#include FT_FREETYPE_H

#include "buf.h"
#include "cipherfont.h"
#include "test.h"

static struct buf font;

static struct cipher *make(const char *sid, const uint32_t *cps, size_t n)
{
	unsigned char key[CIPHER_KEY_LEN], seed[CIPHER_SEED_LEN];
	struct cipher *c = NULL;
	memset(key, 0x33, sizeof(key));
	cipher_seed(key, sid, seed);
	if (cipher_new(seed, cps, n, &c))
		abort();
	return c;
}

TEST(round_trip)
{
	static const char code[] = "int main(void) {\n\treturn x->y[0] != '\\\\' && s == \"caf\xc3\xa9\";\n}\n";
	uint32_t *cps;
	size_t n, n_pua, n_known;
	struct cipher *c;
	struct buf enc, dec;
	buf_init(&enc, 1 << 20);
	buf_init(&dec, 1 << 20);
	CHECK(cipher_font_charset(font.p, font.len, &cps, &n) == 0 && n > 3000);
	c = make("00000000000000a1", cps, n);
	CHECK(cipher_encode(c, code, strlen(code), &enc) == 0);
	/* no printable ASCII survives; newlines and tabs do */
	for (size_t i = 0; i < enc.len; i++)
		CHECK(!(enc.p[i] >= 0x20 && enc.p[i] < 0x7f));
	CHECK(memchr(enc.p, '\n', enc.len) && memchr(enc.p, '\t', enc.len));
	CHECK(utf8_valid(enc.p, enc.len));
	CHECK(cipher_decode(c, enc.p, enc.len, &dec, &n_pua, &n_known) == 0);
	CHECK_EQ_STR(dec.p, code);
	CHECK(n_pua == n_known && n_pua > 50);
	for (size_t i = 0; i < n; i++)
		CHECK(cipher_is_pua(cipher_map(c, cps[i])) && cipher_unmap(c, cipher_map(c, cps[i])) == cps[i]);
	/* invalid UTF-8 becomes U+FFFD, never raw bytes */
	buf_reset(&enc);
	CHECK(cipher_encode(c, "a\xff", 2, &enc) == 0 && utf8_valid(enc.p, enc.len));
	CHECK(strstr(enc.p, "\xef\xbf\xbd") != NULL);
	cipher_free(c);
	free(cps);
	buf_release(&enc);
	buf_release(&dec);
}

TEST(sessions_differ)
{
	uint32_t *cps;
	size_t n, same = 0, n_pua, n_known;
	struct cipher *a, *b;
	struct buf enc, dec;
	buf_init(&enc, 1 << 20);
	buf_init(&dec, 1 << 20);
	CHECK(cipher_font_charset(font.p, font.len, &cps, &n) == 0);
	a = make("00000000000000a1", cps, n);
	b = make("00000000000000a2", cps, n);
	for (size_t i = 0; i < n; i++)
		same += cipher_map(a, cps[i]) == cipher_map(b, cps[i]);
	CHECK(same < 5);
	/* text of one session is not text of another: trace tells them apart */
	CHECK(cipher_encode(a, "static int counter = 0;", 23, &enc) == 0);
	CHECK(cipher_decode(b, enc.p, enc.len, &dec, &n_pua, &n_known) == 0);
	CHECK(n_pua == 23 && n_known < 5);
	cipher_free(a);
	cipher_free(b);
	free(cps);
	buf_release(&enc);
	buf_release(&dec);
}

TEST(font_maps_private_code_points_only)
{
	FT_Library lib;
	FT_Face orig, mine;
	uint32_t *cps;
	size_t n;
	struct cipher *c;
	struct buf out;
	static const char probe[] = "Az09{}();=<>&\"' _~";
	buf_init(&out, 1 << 24);
	CHECK(cipher_font_charset(font.p, font.len, &cps, &n) == 0);
	c = make("00000000000000a3", cps, n);
	CHECK(cipher_font(c, font.p, font.len, &out) == 0);
	CHECK(FT_Init_FreeType(&lib) == 0);
	CHECK(FT_New_Memory_Face(lib, (const FT_Byte *)font.p, (FT_Long)font.len, 0, &orig) == 0);
	CHECK(FT_New_Memory_Face(lib, (const FT_Byte *)out.p, (FT_Long)out.len, 0, &mine) == 0);
	CHECK(mine->num_glyphs == orig->num_glyphs);
	CHECK(FT_Select_Charmap(mine, FT_ENCODING_UNICODE) == 0);
	for (const char *p = probe; *p; p++) {
		FT_UInt g = FT_Get_Char_Index(orig, (unsigned char)*p);
		CHECK(g != 0);
		CHECK(FT_Get_Char_Index(mine, cipher_map(c, (unsigned char)*p)) == g);
		CHECK(FT_Get_Char_Index(mine, (unsigned char)*p) == 0);
	}
	/* every original character: gone; every private one: the same glyph */
	{
		int bad = 0;
		for (size_t i = 0; i < n; i++)
			if (FT_Get_Char_Index(mine, cps[i]) != 0 ||
			    FT_Get_Char_Index(mine, cipher_map(c, cps[i])) != FT_Get_Char_Index(orig, cps[i]))
				bad++;
		CHECK(bad == 0);
	}
	/* the (3,1) format 4 subtable agrees for private code points of the BMP */
	for (int i = 0; i < mine->num_charmaps; i++)
		if (mine->charmaps[i]->platform_id == 3 && mine->charmaps[i]->encoding_id == 1) {
			int checked = 0;
			CHECK(FT_Set_Charmap(mine, mine->charmaps[i]) == 0);
			for (size_t k = 0; k < n; k++) {
				uint32_t p = cipher_map(c, cps[k]);
				if (p < 0x10000) {
					CHECK(FT_Get_Char_Index(mine, p) == FT_Get_Char_Index(orig, cps[k]));
					checked++;
				}
			}
			CHECK(checked > 20);
		}
	/* no glyph names to map back with */
	{
		char name[64] = "";
		CHECK(FT_HAS_GLYPH_NAMES(mine) == 0 || FT_Get_Glyph_Name(mine, 36, name, sizeof(name)) != 0 || !name[0]);
	}
	/* checksums: the whole font sums to 0xB1B0AFBA */
	{
		uint32_t sum = 0;
		const unsigned char *p = (const unsigned char *)out.p;
		for (size_t i = 0; i + 4 <= out.len; i += 4)
			sum += (uint32_t)p[i] << 24 | (uint32_t)p[i + 1] << 16 | (uint32_t)p[i + 2] << 8 | p[i + 3];
		CHECK(out.len % 4 == 0 && sum == 0xB1B0AFBAu);
	}
	FT_Done_Face(orig);
	FT_Done_Face(mine);
	FT_Done_FreeType(lib);
	cipher_free(c);
	free(cps);
	buf_release(&out);
}

TEST(hostile_fonts)
{
	uint32_t *cps;
	size_t n;
	struct buf bad;
	buf_init(&bad, 1 << 24);
	CHECK(cipher_font_charset("junk", 4, &cps, &n) == ERR_PARSE);
	CHECK(cipher_font_charset(font.p, 11, &cps, &n) == ERR_PARSE);
	/* a table pointing past the end */
	CHECK(buf_add(&bad, font.p, font.len) == 0);
	bad.p[12 + 8] = 0x7f;
	CHECK(cipher_font_charset(bad.p, bad.len, &cps, &n) == ERR_PARSE);
	/* every truncation fails cleanly or parses */
	for (size_t cut = 0; cut < font.len; cut += 997) {
		if (cipher_font_charset(font.p, cut, &cps, &n) == 0)
			free(cps);
	}
	buf_release(&bad);
}

int main(void)
{
	buf_init(&font, CIPHER_FONT_MAX);
	if (buf_read_file(&font, CIPHER_FONT_PATH)) {
		fprintf(stderr, "%s\n", err_msg());
		return 1;
	}
	RUN(round_trip);
	RUN(sessions_differ);
	RUN(font_maps_private_code_points_only);
	RUN(hostile_fonts);
	buf_release(&font);
	return test_done();
}
