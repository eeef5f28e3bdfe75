/* Unit tests: cipherfont (round trip, the rewritten font read by FreeType, per-session maps). */
#include <ft2build.h>
#include FT_FREETYPE_H

#include <stdlib.h>

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
		CHECK(cipher_is_pua(cipher_map_nth(c, cps[i], 0)) && cipher_unmap(c, cipher_map_nth(c, cps[i], 0)) == cps[i]);
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
		same += cipher_map_nth(a, cps[i], 0) == cipher_map_nth(b, cps[i], 0);
	CHECK(same < 5);
	/* text of one session is not text of another: trace tells them apart */
	{
		/* each session holds CIPHER_HOMOPHONES of ~137000 private code points per
		 * character, about 10 % of them: another session knows about that share */
		char text[401];
		for (int i = 0; i < 400; i++)
			text[i] = (char)('!' + (i * 7) % 90);
		text[400] = 0;
		CHECK(cipher_encode(a, text, 400, &enc) == 0);
		CHECK(cipher_decode(b, enc.p, enc.len, &dec, &n_pua, &n_known) == 0);
		CHECK(n_pua == 400 && n_known < 100);
	}
	cipher_free(a);
	cipher_free(b);
	free(cps);
	buf_release(&enc);
	buf_release(&dec);
}

/* The glyph's bitmap at 40 px, unhinted, into b (w * h bytes, origin-aligned): its ink. */
static long ink(FT_Face f, FT_UInt g, unsigned char *b, int w, int h)
{
	long sum = 0;
	memset(b, 0, (size_t)w * h);
	if (FT_Load_Glyph(f, g, FT_LOAD_RENDER | FT_LOAD_NO_HINTING))
		return -1;
	for (unsigned y = 0; y < f->glyph->bitmap.rows; y++)
		for (unsigned x = 0; x < f->glyph->bitmap.width; x++) {
			int X = f->glyph->bitmap_left + (int)x + 8, Y = 48 - f->glyph->bitmap_top + (int)y;
			if (X >= 0 && X < w && Y >= 0 && Y < h) {
				b[Y * w + X] = f->glyph->bitmap.buffer[y * f->glyph->bitmap.pitch + x];
				sum += b[Y * w + X];
			}
		}
	return sum;
}

/* An outline's signature for the hash attack: its contours and points, in font units. */
static uint64_t outline_hash(FT_Face f, FT_UInt g, int coarse)
{
	uint64_t h = 1469598103934665603ull;
	if (FT_Load_Glyph(f, g, FT_LOAD_NO_SCALE | FT_LOAD_NO_HINTING))
		return 0;
	h = (h ^ (uint64_t)f->glyph->outline.n_contours) * 1099511628211ull;
	h = (h ^ (uint64_t)f->glyph->outline.n_points) * 1099511628211ull;
	for (int i = 0; !coarse && i < f->glyph->outline.n_points; i++) {
		h = (h ^ (uint64_t)f->glyph->outline.points[i].x) * 1099511628211ull;
		h = (h ^ (uint64_t)f->glyph->outline.points[i].y) * 1099511628211ull;
	}
	return h;
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
	unsigned char a[64 * 64], b[64 * 64];
	buf_init(&out, 1 << 24);
	CHECK(cipher_font_charset(font.p, font.len, &cps, &n) == 0);
	c = make("00000000000000a3", cps, n);
	CHECK(cipher_font(c, font.p, font.len, &out) == 0);
	CHECK(FT_Init_FreeType(&lib) == 0);
	CHECK(FT_New_Memory_Face(lib, (const FT_Byte *)font.p, (FT_Long)font.len, 0, &orig) == 0);
	CHECK(FT_New_Memory_Face(lib, (const FT_Byte *)out.p, (FT_Long)out.len, 0, &mine) == 0);
	CHECK(mine->num_glyphs == orig->num_glyphs);
	CHECK(FT_Select_Charmap(mine, FT_ENCODING_UNICODE) == 0);
	CHECK(FT_Set_Pixel_Sizes(orig, 0, 40) == 0 && FT_Set_Pixel_Sizes(mine, 0, 40) == 0);
	/* every character: gone as itself; each of its private code points draws what it drew */
	{
		int bad = 0, same_id = 0, differ = 0;
		long worst = 0;
		for (size_t i = 0; i < n; i++) {
			FT_UInt go = FT_Get_Char_Index(orig, cps[i]), gm = FT_Get_Char_Index(mine, cipher_map_nth(c, cps[i], 0));
			long ia, ib, d = 0;
			if (FT_Get_Char_Index(mine, cps[i]) != 0 || !gm)
				bad++;
			for (unsigned k = 1; k < CIPHER_HOMOPHONES; k++)
				if (FT_Get_Char_Index(mine, cipher_map_nth(c, cps[i], k)) != gm)
					bad++;
			same_id += go == gm;
			if (i % 7 && !strchr(probe, (int)cps[i]))
				continue; /* drawing every glyph twice is slow: a seventh, and the probe */
			ia = ink(orig, go, a, 64, 64);
			ib = ink(mine, gm, b, 64, 64);
			for (int k = 0; k < 64 * 64; k++)
				d += abs((int)a[k] - (int)b[k]) > 128;
			differ += memcmp(a, b, sizeof(a)) != 0 || ia != ib;
			/* pixels that changed by more than half: a few along the edges at most */
			if (ia > 2000 && d * 100 / (ia / 255 + 1) > worst)
				worst = d * 100 / (ia / 255 + 1);
		}
		CHECK(bad == 0);
		printf("font: %d of %zu characters keep their glyph id; drawn at 40 px, at most %ld %% of a glyph's "
		       "pixels change by more than half\n", same_id, n, worst);
		CHECK(same_id * 100 < (int)n); /* under 1 % */
		CHECK(worst <= 12);
		CHECK(differ > 0);
	}
	for (const char *p = probe; *p; p++)
		CHECK(FT_Get_Char_Index(mine, (unsigned char)*p) == 0);
	/* the (3,1) format 4 subtable agrees for private code points of the BMP */
	for (int i = 0; i < mine->num_charmaps; i++)
		if (mine->charmaps[i]->platform_id == 3 && mine->charmaps[i]->encoding_id == 1) {
			int checked = 0;
			FT_UInt want;
			CHECK(FT_Select_Charmap(mine, FT_ENCODING_UNICODE) == 0);
			for (size_t k = 0; k < n; k++) {
				uint32_t p = cipher_map_nth(c, cps[k], 0);
				want = FT_Get_Char_Index(mine, p);
				if (p < 0x10000) {
					CHECK(FT_Set_Charmap(mine, mine->charmaps[i]) == 0);
					CHECK(FT_Get_Char_Index(mine, p) == want);
					CHECK(FT_Select_Charmap(mine, FT_ENCODING_UNICODE) == 0);
					checked++;
				}
			}
			CHECK(checked > 20);
		}
	/* no glyph names to map back with, no name of the font */
	{
		char name[64] = "";
		CHECK(FT_HAS_GLYPH_NAMES(mine) == 0 || FT_Get_Glyph_Name(mine, 36, name, sizeof(name)) != 0 || !name[0]);
		CHECK(!mine->family_name || !strstr(mine->family_name, "DejaVu"));
		CHECK(memmem(out.p, out.len, "DejaVu", 6) == NULL && memmem(out.p, out.len, "D\0e\0j\0a\0V\0u", 11) == NULL);
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

/*
 * The attacks on the font, as a reviewer with the page's text and the session's font would
 * run them against stock DejaVu: (1) private code point -> the session font's glyph id ->
 * the stock character of that glyph id; (2) -> a hash of the glyph's outline -> the stock
 * glyph with that outline; (3) the same by contour and point counts only. Each must decode
 * under 1 % of a page of real code; and the text itself must carry no stable substitution.
 */
TEST(font_attacks)
{
	FT_Library lib;
	FT_Face orig, mine;
	uint32_t *cps;
	size_t n, total = 0, by_id = 0, by_hash = 0, by_shape = 0;
	struct cipher *c;
	struct buf out, page, enc;
	uint32_t *gid_char;
	uint64_t *hash_of, *shape_of;
	buf_init(&out, 1 << 24);
	buf_init(&page, 1 << 20);
	buf_init(&enc, 1 << 22);
	if (buf_read_file(&page, "src/quota.c"))
		CHECK(buf_addstr(&page, "int quota_charge(struct facility *f, const struct session_info *who)\n{\n") == 0);
	if (page.len > 6000)
		page.len = 6000; /* a page: about 80 lines */
	CHECK(cipher_font_charset(font.p, font.len, &cps, &n) == 0);
	c = make("00000000000000a4", cps, n);
	CHECK(cipher_font(c, font.p, font.len, &out) == 0);
	CHECK(cipher_encode(c, page.p, page.len, &enc) == 0);
	CHECK(FT_Init_FreeType(&lib) == 0);
	CHECK(FT_New_Memory_Face(lib, (const FT_Byte *)font.p, (FT_Long)font.len, 0, &orig) == 0);
	CHECK(FT_New_Memory_Face(lib, (const FT_Byte *)out.p, (FT_Long)out.len, 0, &mine) == 0);
	CHECK(FT_Select_Charmap(mine, FT_ENCODING_UNICODE) == 0);
	/* the attacker's tables from stock DejaVu: glyph id -> character, outline -> character */
	gid_char = calloc((size_t)orig->num_glyphs, sizeof(uint32_t));
	hash_of = calloc((size_t)orig->num_glyphs, sizeof(uint64_t));
	shape_of = calloc((size_t)orig->num_glyphs, sizeof(uint64_t));
	for (size_t i = 0; i < n; i++) {
		FT_UInt g = FT_Get_Char_Index(orig, cps[i]);
		if (g && !gid_char[g])
			gid_char[g] = cps[i];
	}
	for (FT_Long g = 0; g < orig->num_glyphs; g++) {
		hash_of[g] = outline_hash(orig, (FT_UInt)g, 0);
		shape_of[g] = outline_hash(orig, (FT_UInt)g, 1);
	}
	{
		const unsigned char *p = (const unsigned char *)enc.p, *e = p + enc.len;
		const char *plain = page.p;
		while (p < e) {
			uint32_t cp;
			size_t l = *p < 0x80 ? 1 : *p < 0xe0 ? 2 : *p < 0xf0 ? 3 : 4;
			size_t pl = (unsigned char)*plain < 0x80 ? 1 : (unsigned char)*plain < 0xe0 ? 2 : (unsigned char)*plain < 0xf0 ? 3 : 4;
			uint32_t want = (unsigned char)*plain;
			FT_UInt gm;
			cp = l == 1 ? p[0] : l == 2 ? (uint32_t)(p[0] & 0x1f) << 6 | (p[1] & 0x3f)
				: l == 3 ? (uint32_t)(p[0] & 0x0f) << 12 | (uint32_t)(p[1] & 0x3f) << 6 | (p[2] & 0x3f)
				: (uint32_t)(p[0] & 0x07) << 18 | (uint32_t)(p[1] & 0x3f) << 12 | (uint32_t)(p[2] & 0x3f) << 6 | (p[3] & 0x3f);
			p += l;
			plain += pl;
			if (!cipher_is_pua(cp) || pl != 1)
				continue;
			total++;
			gm = FT_Get_Char_Index(mine, cp);
			by_id += gm < (FT_UInt)orig->num_glyphs && gid_char[gm] == want;
			{
				uint64_t h = outline_hash(mine, gm, 0), sh = outline_hash(mine, gm, 1);
				FT_Long hit = -1, shit = -1;
				for (FT_Long g = 0; g < orig->num_glyphs; g++) {
					if (hash_of[g] == h && hit < 0)
						hit = g;
					if (shape_of[g] == sh && shit < 0)
						shit = g;
				}
				by_hash += hit >= 0 && gid_char[hit] == want;
				by_shape += shit >= 0 && gid_char[shit] == want;
			}
		}
	}
	printf("font attacks on a page of %zu characters: glyph id %zu, outline hash %zu, point counts %zu decoded\n",
	       total, by_id, by_hash, by_shape);
	CHECK(total > 1000);
	CHECK(by_id * 100 < total && by_hash * 100 < total && by_shape * 100 < total);
	/* the text: the same character is written with several code points */
	{
		struct buf e2;
		size_t distinct = 0;
		uint32_t seen[64] = {0};
		buf_init(&e2, 4096);
		CHECK(cipher_encode(c, "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee", 40, &e2) == 0);
		for (size_t i = 0; i + 3 <= e2.len; i += 3) {
			uint32_t cp = (uint32_t)(e2.p[i] & 0x0f) << 12 | (uint32_t)(e2.p[i + 1] & 0x3f) << 6 | (e2.p[i + 2] & 0x3f);
			int dup = 0;
			for (size_t k = 0; k < distinct; k++)
				dup |= seen[k] == cp;
			if (!dup && distinct < 64)
				seen[distinct++] = cp;
		}
		CHECK(e2.len >= 3 * 40);
		CHECK(distinct > 1);
		buf_release(&e2);
	}
	free(gid_char);
	free(hash_of);
	free(shape_of);
	FT_Done_Face(orig);
	FT_Done_Face(mine);
	FT_Done_FreeType(lib);
	cipher_free(c);
	free(cps);
	buf_release(&out);
	buf_release(&page);
	buf_release(&enc);
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
	RUN(font_attacks);
	RUN(hostile_fonts);
	buf_release(&font);
	return test_done();
}
