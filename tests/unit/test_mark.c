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

TEST(image_rgb_and_fit)
{
	struct buf png;
	unsigned char *px = NULL, want[MARK_TILE * MARK_TILE * 3];
	unsigned char six[6 * 4 * 3];
	int w, h;
	buf_init(&png, 1 << 20);
	/* the tile's PNG is lossless: its RGB decoding is the tile, byte for byte */
	CHECK(mark_tile_png(key, "0123456789abcdef", 0x80c0e0, &png) == 0);
	mark_tile_rgb(key, "0123456789abcdef", 0x80c0e0, want);
	CHECK(image_decode_rgb(png.p, png.len, &px, &w, &h) == 0 && w == MARK_TILE && h == MARK_TILE);
	CHECK(px && memcmp(px, want, sizeof(want)) == 0);
	free(px);
	CHECK(image_decode_rgb("not an image", 12, &px, &w, &h) == ERR_PARSE && !px);
	CHECK(image_decode_rgb(png.p, png.len / 2, &px, &w, &h) == ERR_PARSE && !px);
	/* fitting: the smallest whole factor, each pixel the mean of its block */
	for (int i = 0; i < 6 * 4; i++)
		six[i * 3] = six[i * 3 + 1] = six[i * 3 + 2] = (unsigned char)(i % 6 < 3 ? 30 : 90);
	w = 6, h = 4;
	CHECK(image_fit_rgb(six, &w, &h, 6) == 0 && w == 6 && h == 4); /* fits: unchanged */
	CHECK(image_fit_rgb(six, &w, &h, 2) == 0 && w == 2 && h == 1);
	CHECK(six[0] == 30 && six[3] == 90 && six[6] == 0 && six[6 * 4 * 3 - 1] == 0);
	CHECK(image_fit_rgb(six, &w, &h, 0) == ERR_USAGE);
	buf_release(&png);
}

TEST(marks_drawn_into_an_image)
{
	struct mark_label l = {"rita", "lab-1", "00000000000000a1", 1894010400};
	struct mark_candidate c[2] = {{"00000000000000a1", 0}, {"00000000000000b2", 0}};
	struct mark_result res;
	int w = 640, h = 480, changed = 0, dark = 0;
	unsigned char *rgb = xmalloc((size_t)w * h * 3), *g = xmalloc((size_t)w * h);
	memset(rgb, 200, (size_t)w * h * 3);
	CHECK(mark_image_rgb(key, &l, rgb, 0, h) == ERR_USAGE);
	CHECK(mark_image_rgb(key, &l, rgb, w, h) == 0);
	for (size_t i = 0; i < (size_t)w * h; i++) {
		changed += rgb[i * 3] != 200;
		dark += rgb[i * 3] < 180; /* the visible label */
		g[i] = rgb[i * 3];
	}
	CHECK(changed > w * h / 2 && dark > 1000 && dark < w * h / 4);
	/* the forensic mark names the session, and not another one */
	CHECK(mark_detect(key, g, w, h, c, 2, &res) == 0);
	CHECK(res.usable && res.found == 0);
	free(rgb);
	free(g);
}

int main(void)
{
	memset(key, 0x5a, sizeof(key));
	RUN(chips_balanced_and_distinct);
	RUN(tile_png_decodes_to_the_pattern);
	RUN(visible_watermark);
	RUN(detect_refuses_what_it_cannot_do);
	RUN(image_limits);
	RUN(image_rgb_and_fit);
	RUN(marks_drawn_into_an_image);
	return test_done();
}
