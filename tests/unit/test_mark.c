/* Unit tests: mark (chips, the forensic tile, the visible watermark, CSS) and image. */
#include "page_fixture.h"
#include "test.h"

static unsigned char key[MARK_KEY_LEN];

TEST(chips_balanced_and_distinct)
{
	signed char a[MARK_CHIPS], b[MARK_CHIPS], a2[MARK_CHIPS];
	int same = 0;
	mark_chips(key, "00000000000000aa", a);
	mark_chips(key, "00000000000000aa", a2);
	mark_chips(key, "00000000000000ab", b);
	CHECK(memcmp(a, a2, sizeof(a)) == 0);
	for (int i = 0; i < MARK_CELLS; i++) {
		int row = 0, col = 0;
		for (int j = 0; j < MARK_CELLS; j++) {
			row += a[i * MARK_CELLS + j];
			col += a[j * MARK_CELLS + i];
		}
		CHECK(row == 0 && col == 0);
	}
	for (int i = 0; i < MARK_CHIPS; i++)
		same += a[i] == b[i];
	/* two sessions agree on about half of the chips, never on nearly all */
	CHECK(same > 80 && same < 176);
	/* another facility key gives another pattern for the same session */
	{
		unsigned char k2[MARK_KEY_LEN];
		memset(k2, 1, sizeof(k2));
		mark_chips(k2, "00000000000000aa", b);
		CHECK(memcmp(a, b, sizeof(a)) != 0);
	}
}

TEST(tile_png_decodes_to_the_pattern)
{
	struct buf png;
	unsigned char *g = NULL, rgb[MARK_TILE * MARK_TILE * 3];
	signed char chips[MARK_CHIPS];
	int w, h, ok = 1;
	buf_init(&png, 1 << 20);
	CHECK(mark_tile_png(key, "0123456789abcdef", 0xfafafa, &png) == 0);
	CHECK(image_sniff(png.p, png.len) == IMAGE_PNG);
	CHECK(image_decode_gray(png.p, png.len, &g, &w, &h) == 0 && w == MARK_TILE && h == MARK_TILE);
	mark_chips(key, "0123456789abcdef", chips);
	for (int y = 0; g && y < MARK_TILE; y++)
		for (int x = 0; x < MARK_TILE; x++) {
			int want = 250 + MARK_AMP * chips[(y / MARK_CELL) * MARK_CELLS + x / MARK_CELL];
			if (abs(g[y * MARK_TILE + x] - want) > 1)
				ok = 0;
		}
	CHECK(ok);
	/* the pattern never clips, even on white or black */
	mark_tile_rgb(key, "0123456789abcdef", 0xffffff, rgb);
	CHECK(rgb[0] == 253 || rgb[0] == 253 - 2 * MARK_AMP);
	mark_tile_rgb(key, "0123456789abcdef", 0x000000, rgb);
	CHECK(rgb[0] == 2 || rgb[0] == 2 + 2 * MARK_AMP);
	free(g);
	buf_release(&png);
}

TEST(visible_watermark)
{
	struct mark_label l = {"Ada <Lovelace> & co", "lab-1", "0123456789abcdef", 1894010400};
	struct buf svg;
	buf_init(&svg, 1 << 16);
	CHECK(mark_visible_svg(&l, &svg) == 0);
	CHECK(strstr(svg.p, "Ada &lt;Lovelace&gt; &amp; co") != NULL);
	CHECK(strstr(svg.p, "<Lovelace>") == NULL);
	CHECK(strstr(svg.p, "session 0123456789abcdef") != NULL);
	CHECK(strstr(svg.p, "2030-01-07 10:00 UTC") != NULL);
	CHECK(strstr(svg.p, "lab-1") != NULL);
	buf_release(&svg);
}

TEST(detect_refuses_what_it_cannot_do)
{
	struct mark_candidate c = {"0123456789abcdef", 0};
	struct mark_result res;
	unsigned char flat[100 * 100];
	memset(flat, 250, sizeof(flat));
	CHECK(mark_detect(key, flat, 100, 100, &c, 0, &res) == ERR_USAGE);
	CHECK(mark_detect(key, flat, 10000, 5000, &c, 1, &res) == ERR_TOOBIG);
	/* a tiny image has too little background to decide on */
	CHECK(mark_detect(key, flat, 20, 20, &c, 1, &res) == 0 && res.found == -1 && !res.usable);
}

TEST(image_limits)
{
	struct buf b;
	unsigned char *g;
	int w, h;
	struct rgb_image im = {calloc(64 * 64 * 3, 1), 64, 64};
	buf_init(&b, 1 << 20);
	CHECK(image_decode_gray("not an image", 12, &g, &w, &h) == ERR_PARSE);
	CHECK(encode_image(&im, 60, &b) == 0);
	CHECK(image_decode_gray(b.p, b.len, &g, &w, &h) == 0 && w == 64 && h == 64);
	free(g);
	/* truncated */
	CHECK(image_decode_gray(b.p, b.len / 2, &g, &w, &h) == ERR_PARSE);
	/* a header claiming 20000 x 20000 pixels: refused before any allocation */
	{
		unsigned char *p = (unsigned char *)b.p;
		for (size_t i = 0; i + 8 < b.len; i++)
			if (p[i] == 0xff && p[i + 1] == 0xc0) { /* SOF0: length, precision, height, width */
				p[i + 5] = 0x4e, p[i + 6] = 0x20, p[i + 7] = 0x4e, p[i + 8] = 0x20;
				break;
			}
		CHECK(image_decode_gray(b.p, b.len, &g, &w, &h) == ERR_TOOBIG);
	}
	buf_reset(&b);
	CHECK(encode_image(&im, 0, &b) == 0);
	CHECK(image_decode_gray(b.p, b.len, &g, &w, &h) == 0 && w == 64);
	free(g);
	b.p[20] = 0x7f; /* width's high byte: 2 billion pixels wide */
	CHECK(image_decode_gray(b.p, b.len, &g, &w, &h) < 0);
	CHECK(image_decode_gray(b.p, 30, &g, &w, &h) < 0);
	free(im.p);
	buf_release(&b);
}

int main(void)
{
	memset(key, 0x5a, sizeof(key));
	RUN(chips_balanced_and_distinct);
	RUN(tile_png_decodes_to_the_pattern);
	RUN(visible_watermark);
	RUN(detect_refuses_what_it_cannot_do);
	RUN(image_limits);
	return test_done();
}
