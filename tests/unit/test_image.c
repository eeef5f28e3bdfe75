/*
 * Unit tests: image's GIF and WebP decoders (through the one entry point PNG and JPEG use).
 * The inputs are made here with giflib's and libwebp's own encoders (WebP animations are
 * put together from their chunks), and the decoded pixels are checked against what was
 * encoded; then the hostile cases: bombs, truncation at every length, a flipped byte
 * anywhere, thousands of frames.
 */
#include <gif_lib.h>
#include <webp/encode.h>

#include "image.h"
#include "test.h"

/* ---- GIF inputs ---- */

static int gif_write(GifFileType *g, const GifByteType *p, int n)
{
	return buf_add(g->UserData, p, (size_t)n) ? 0 : n;
}

static const GifColorType pal4[4] = {{250, 10, 10}, {10, 200, 10}, {10, 10, 240}, {120, 130, 140}};

static unsigned char index_at(int x, int y)
{
	return (unsigned char)((x * 3 + y) % 4);
}

struct gif_spec {
	int sw, sh;            /* the screen */
	int left, top, w, h;   /* the first frame */
	int interlace, frames; /* frames after the first: all index 1, over the whole screen */
	int transparent;       /* the first frame's transparent index, or -1 */
	int no_colors;
};

/* A GIF of spec s (pal4, the first frame's pixels index_at) into out. */
static int gif_make(const struct gif_spec *s, struct buf *out)
{
	int e = 0, ok = 1;
	GifFileType *g = EGifOpen(out, gif_write, &e);
	ColorMapObject *cm = s->no_colors ? NULL : GifMakeMapObject(4, pal4);
	GifByteType *line = xmalloc((size_t)(s->w > s->sw ? s->w : s->sw) + 1);
	if (!g)
		return -1;
	EGifSetGifVersion(g, true);
	ok &= EGifPutScreenDesc(g, s->sw, s->sh, 8, 0, cm) == GIF_OK;
	if (s->frames > 1) {
		GifByteType loop[3] = {1, 0, 0};
		ok &= EGifPutExtensionLeader(g, APPLICATION_EXT_FUNC_CODE) == GIF_OK;
		ok &= EGifPutExtensionBlock(g, 11, "NETSCAPE2.0") == GIF_OK;
		ok &= EGifPutExtensionBlock(g, 3, loop) == GIF_OK;
		ok &= EGifPutExtensionTrailer(g) == GIF_OK;
	}
	for (int f = 0; f < (s->frames > 1 ? s->frames : 1); f++) {
		GifByteType gce[4] = {0, 2, 0, 0};
		int w = f ? s->sw : s->w, h = f ? s->sh : s->h;
		if (!f && s->transparent >= 0)
			gce[0] = 1, gce[3] = (GifByteType)s->transparent;
		if (s->frames > 1 || (!f && s->transparent >= 0))
			ok &= EGifPutExtension(g, GRAPHICS_EXT_FUNC_CODE, 4, gce) == GIF_OK;
		ok &= EGifPutImageDesc(g, f ? 0 : s->left, f ? 0 : s->top, w, h, !f && s->interlace, NULL) == GIF_OK;
		/* an interlaced frame's rows go in the order of its four passes */
		for (int pass = !f && s->interlace ? 0 : 3; pass < 4; pass++) {
			static const int start[] = {0, 4, 2, 1}, step[] = {8, 8, 4, 2};
			int il = !f && s->interlace;
			for (int y = il ? start[pass] : 0; y < h; y += il ? step[pass] : 1) {
				for (int x = 0; x < w; x++)
					line[x] = f ? 1 : index_at(x, y);
				ok &= EGifPutLine(g, line, w) == GIF_OK;
			}
		}
	}
	ok &= EGifCloseFile(g, &e) == GIF_OK;
	GifFreeMapObject(cm);
	free(line);
	return ok ? 0 : -1;
}

/* Does (rgb, sw x sh) hold the first frame of s at its place, white around it? */
static int gif_pixels_ok(const struct gif_spec *s, const unsigned char *rgb)
{
	for (int y = 0; y < s->sh; y++)
		for (int x = 0; x < s->sw; x++) {
			const unsigned char *p = rgb + ((size_t)y * s->sw + x) * 3;
			int fx = x - s->left, fy = y - s->top;
			unsigned char white[3] = {255, 255, 255}, want[3];
			if (fx < 0 || fy < 0 || fx >= s->w || fy >= s->h || index_at(fx, fy) == s->transparent)
				memcpy(want, white, 3);
			else
				want[0] = pal4[index_at(fx, fy)].Red, want[1] = pal4[index_at(fx, fy)].Green,
				want[2] = pal4[index_at(fx, fy)].Blue;
			if (memcmp(p, want, 3))
				return 0;
		}
	return 1;
}

static int decodes_as(const struct gif_spec *s, const struct buf *b)
{
	unsigned char *rgb = NULL;
	int w, h, ok;
	if (image_decode_rgb(b->p, b->len, &rgb, &w, &h))
		return 0;
	ok = w == s->sw && h == s->sh && gif_pixels_ok(s, rgb);
	free(rgb);
	return ok;
}

TEST(gif_decodes_as_encoded)
{
	struct gif_spec s = {37, 23, 0, 0, 37, 23, 0, 1, -1, 0};
	struct buf b;
	unsigned char *g = NULL;
	int w, h, ok = 1;
	buf_init(&b, 1 << 20);
	CHECK(gif_make(&s, &b) == 0);
	CHECK(image_sniff(b.p, b.len) == IMAGE_GIF && !strcmp(image_kind_name(IMAGE_GIF), "GIF"));
	CHECK(decodes_as(&s, &b));
	/* grey: the luma of each colour */
	CHECK(image_decode_gray(b.p, b.len, &g, &w, &h) == 0 && w == 37 && h == 23);
	for (int i = 0; g && i < 37 * 23; i++) {
		const GifColorType *c = &pal4[index_at(i % 37, i / 37)];
		ok &= g[i] == (unsigned char)((77u * c->Red + 150u * c->Green + 29u * c->Blue + 128) >> 8);
	}
	CHECK(ok);
	free(g);
	/* interlaced: the rows come back in their places */
	s.interlace = 1;
	buf_reset(&b);
	CHECK(gif_make(&s, &b) == 0 && decodes_as(&s, &b));
	/* GIF87a is a GIF too */
	b.p[4] = '7';
	CHECK(image_sniff(b.p, b.len) == IMAGE_GIF && decodes_as(&s, &b));
	buf_release(&b);
}

TEST(gif_frame_placed_cut_and_transparent)
{
	/* a frame inside the screen, with a transparent colour */
	struct gif_spec s = {20, 10, 5, 2, 4, 3, 0, 1, 2, 0};
	/* a frame running past the screen's right and bottom edges is cut */
	struct gif_spec cut = {20, 10, 17, 8, 6, 5, 0, 1, -1, 0};
	struct buf b;
	buf_init(&b, 1 << 20);
	CHECK(gif_make(&s, &b) == 0 && decodes_as(&s, &b));
	buf_reset(&b);
	CHECK(gif_make(&cut, &b) == 0 && decodes_as(&cut, &b));
	buf_release(&b);
}

TEST(gif_first_frame_of_thousands)
{
	struct gif_spec s = {16, 16, 0, 0, 16, 16, 0, 5000, -1, 0};
	struct buf b;
	size_t first_end;
	buf_init(&b, 64 << 20);
	CHECK(gif_make(&s, &b) == 0 && b.len > 5000 * 16);
	CHECK(decodes_as(&s, &b));
	/* the frames after the first are never read: garbage over all of them changes nothing */
	s.frames = 1;
	{
		struct buf one;
		buf_init(&one, 1 << 20);
		CHECK(gif_make(&s, &one) == 0);
		first_end = one.len - 1; /* without the trailer */
		buf_release(&one);
	}
	/* the animated file has the loop extension and a control extension before frame 1 */
	first_end += 19 + 8;
	CHECK(first_end < b.len);
	memset(b.p + first_end, 0xee, b.len - first_end);
	CHECK(decodes_as(&s, &b));
	buf_release(&b);
}

TEST(gif_bombs_refused_before_allocating)
{
	struct gif_spec s = {8, 8, 0, 0, 1, 1, 0, 1, -1, 0};
	struct buf b;
	unsigned char *rgb = (unsigned char *)"x";
	int w = 1, h = 1;
	buf_init(&b, 1 << 20);
	CHECK(gif_make(&s, &b) == 0);
	/* the screen: at the limits, and one past each */
	b.p[6] = 0x00, b.p[7] = 0x40, b.p[8] = 0x89, b.p[9] = 0x09; /* 16384 x 2441 */
	CHECK(image_decode_rgb(b.p, b.len, &rgb, &w, &h) == 0 && w == 16384 && h == 2441);
	free(rgb);
	b.p[8] = 0x8a; /* 16384 x 2442: over 40 million pixels */
	CHECK(image_decode_rgb(b.p, b.len, &rgb, &w, &h) == ERR_TOOBIG && !rgb && !w && !h);
	CHECK(strstr(err_msg(), "16384x2442 pixels is too large") != NULL);
	b.p[6] = 0x01, b.p[7] = 0x40, b.p[8] = 1, b.p[9] = 0; /* 16385 x 1 */
	CHECK(image_decode_rgb(b.p, b.len, &rgb, &w, &h) == ERR_TOOBIG && !rgb);
	b.p[6] = 0xff, b.p[7] = 0xff, b.p[8] = 0xff, b.p[9] = 0xff;
	CHECK(image_decode_rgb(b.p, b.len, &rgb, &w, &h) == ERR_TOOBIG && !rgb);
	b.p[6] = 0, b.p[7] = 0;
	CHECK(image_decode_rgb(b.p, b.len, &rgb, &w, &h) == ERR_PARSE && !rgb);
	/* the frame: 65535 x 65535 in an 8 x 8 screen (its descriptor follows the colours) */
	b.p[6] = 8, b.p[7] = 0, b.p[8] = 8, b.p[9] = 0;
	CHECK(b.p[13 + 3 * 4] == ',');
	memset(b.p + 13 + 12 + 5, 0xff, 4);
	CHECK(image_decode_rgb(b.p, b.len, &rgb, &w, &h) == ERR_TOOBIG && !rgb);
	buf_release(&b);
}

TEST(gif_truncated_at_every_length)
{
	struct gif_spec s = {9, 7, 0, 0, 9, 7, 0, 1, -1, 0}, anim = {9, 7, 1, 1, 5, 4, 1, 3, 0, 0};
	struct buf b;
	int refused = 1, ok;
	buf_init(&b, 1 << 20);
	CHECK(gif_make(&s, &b) == 0);
	for (size_t n = 0; n + 1 < b.len; n++) {
		unsigned char *rgb = (unsigned char *)"x";
		int w = 1, h = 1;
		refused &= image_decode_rgb(b.p, n, &rgb, &w, &h) == ERR_PARSE && !rgb && !w && !h;
	}
	CHECK(refused);
	/* all but the trailer: the frame is whole */
	b.len--;
	CHECK(decodes_as(&s, &b));
	/* an animation: refused until its first frame is whole, that frame from then on */
	buf_reset(&b);
	CHECK(gif_make(&anim, &b) == 0);
	ok = 1;
	for (size_t n = 0, whole = 0; n <= b.len; n++) {
		struct buf p = b;
		unsigned char *rgb = NULL;
		int w, h, r;
		p.len = n;
		r = image_decode_rgb(b.p, n, &rgb, &w, &h);
		free(rgb);
		if (!r && !whole)
			whole = n;
		ok &= whole ? !r && decodes_as(&anim, &p) : r == ERR_PARSE;
		if (n == b.len)
			CHECK(whole > 60 && whole + 40 < b.len);
	}
	CHECK(ok);
	buf_release(&b);
}

TEST(gif_damaged)
{
	struct gif_spec s = {12, 10, 0, 0, 12, 10, 1, 2, -1, 0};
	struct buf b, c;
	int clean = 1, some_ok = 0;
	buf_init(&b, 1 << 20);
	buf_init(&c, 1 << 20);
	CHECK(gif_make(&s, &b) == 0);
	/* every byte flipped in turn, one at a time: decoded or refused, never more */
	for (size_t i = 0; i < b.len; i++) {
		unsigned char *rgb = (unsigned char *)"x";
		int w = 1, h = 1, r;
		buf_reset(&c);
		CHECK(buf_add(&c, b.p, b.len) == 0);
		c.p[i] ^= 0xff;
		r = image_decode_rgb(c.p, c.len, &rgb, &w, &h);
		if (!r)
			some_ok++, clean &= w > 0 && h > 0 && w * h <= 16 * 1024 * 1024;
		else
			clean &= (r == ERR_PARSE || r == ERR_TOOBIG) && !rgb && *err_msg();
		if (!r)
			free(rgb);
	}
	CHECK(clean && some_ok > 0);
	/* LZW codes past the table: the code size byte says 11 bits, the data does not fit */
	{
		struct gif_spec one = {12, 10, 0, 0, 12, 10, 0, 1, -1, 0};
		unsigned char *rgb = NULL;
		int w, h;
		buf_reset(&b);
		CHECK(gif_make(&one, &b) == 0);
		CHECK(b.p[13 + 12 + 10] == 2); /* the LZW minimum code size after the descriptor */
		b.p[13 + 12 + 10] = 11;
		CHECK(image_decode_rgb(b.p, b.len, &rgb, &w, &h) == ERR_PARSE && !rgb);
		memset(b.p + 13 + 12 + 12, 0xff, b.len - (13 + 12 + 12) - 2);
		b.p[13 + 12 + 10] = 2;
		CHECK(image_decode_rgb(b.p, b.len, &rgb, &w, &h) == ERR_PARSE && !rgb);
		CHECK(strstr(err_msg(), "damaged GIF image data") != NULL);
	}
	/* no colours, no image */
	{
		struct gif_spec none = {4, 4, 0, 0, 4, 4, 0, 1, -1, 1};
		unsigned char *rgb = NULL;
		int w, h;
		buf_reset(&b);
		none.no_colors = 0;
		CHECK(gif_make(&none, &b) == 0);
		/* giflib's encoder will not write one: the global table's flag and colours cut out */
		b.p[10] &= 0x7f;
		memmove(b.p + 13, b.p + 13 + 12, b.len - 13 - 12);
		b.len -= 12;
		CHECK(image_decode_rgb(b.p, b.len, &rgb, &w, &h) == ERR_PARSE && !rgb);
		CHECK(strstr(err_msg(), "a GIF file without colours") != NULL);
		CHECK(image_decode_rgb("GIF89a\4\0\4\0\0\0\0;", 14, &rgb, &w, &h) == ERR_PARSE && !rgb);
		CHECK(strstr(err_msg(), "a GIF file without an image") != NULL);
	}
	buf_release(&b);
	buf_release(&c);
}

/* ---- WebP inputs ---- */

static unsigned char *bands(int w, int h)
{
	unsigned char *rgb = xmalloc((size_t)w * h * 3);
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			unsigned char *p = rgb + ((size_t)y * w + x) * 3;
			p[0] = (unsigned char)(x * 255 / (w > 1 ? w - 1 : 1));
			p[1] = (unsigned char)(y * 255 / (h > 1 ? h - 1 : 1));
			p[2] = (unsigned char)((x + y) % 2 ? 40 : 200);
		}
	return rgb;
}

/* A lossless WebP of rgb into out. */
static int webp_lossless(const unsigned char *rgb, int w, int h, struct buf *out)
{
	uint8_t *p = NULL;
	size_t n = WebPEncodeLosslessRGB(rgb, w, h, w * 3, &p);
	int r = n ? buf_add(out, p, n) : -1;
	WebPFree(p);
	return r;
}

static void le(struct buf *b, unsigned v, int n)
{
	for (int i = 0; i < n; i++)
		CHECK(buf_addch(b, (char)(v >> (8 * i))) == 0);
}

static void chunk(struct buf *b, const char *tag, const void *p, size_t n)
{
	CHECK(buf_add(b, tag, 4) == 0);
	le(b, (unsigned)n, 4);
	CHECK(buf_add(b, p, n) == 0);
	if (n % 2)
		CHECK(buf_addch(b, 0) == 0);
}

/*
 * An animated WebP (VP8X, ANIM, one ANMF a frame) of canvas cw x ch: frame 1 is `first`
 * (a lossless WebP file of fw x fh) at (2 * x2, 2 * y2), then `more` frames of `other` (a
 * lossless WebP of the canvas' size) at (0, 0).
 */
static void webp_anim(int cw, int ch, const struct buf *first, int fw, int fh, int x2, int y2,
		      const struct buf *other, int more, struct buf *out)
{
	struct buf body, f;
	buf_init(&body, 64 << 20);
	buf_init(&f, 1 << 20);
	CHECK(buf_add(&body, "WEBP", 4) == 0);
	{
		struct buf x;
		buf_init(&x, 16);
		le(&x, 0x02, 4); /* animation */
		le(&x, (unsigned)cw - 1, 3);
		le(&x, (unsigned)ch - 1, 3);
		chunk(&body, "VP8X", x.p, x.len);
		buf_reset(&x);
		le(&x, 0xffffffff, 4); /* background */
		le(&x, 0, 2);          /* loop forever */
		chunk(&body, "ANIM", x.p, x.len);
		buf_release(&x);
	}
	for (int i = 0; i <= more; i++) {
		const struct buf *src = i ? other : first;
		buf_reset(&f);
		le(&f, i ? 0 : (unsigned)x2, 3);
		le(&f, i ? 0 : (unsigned)y2, 3);
		le(&f, (unsigned)(i ? cw : fw) - 1, 3);
		le(&f, (unsigned)(i ? ch : fh) - 1, 3);
		le(&f, 100, 3);
		le(&f, 0x02, 1); /* no blending */
		/* the frame's VP8L chunk, as the lossless file holds it after its 12-byte header */
		CHECK(buf_add(&f, src->p + 12, src->len - 12) == 0);
		chunk(&body, "ANMF", f.p, f.len);
	}
	CHECK(buf_add(out, "RIFF", 4) == 0);
	le(out, (unsigned)body.len, 4);
	CHECK(buf_add(out, body.p, body.len) == 0);
	buf_release(&body);
	buf_release(&f);
}

TEST(webp_decodes_as_encoded)
{
	unsigned char *rgb = bands(41, 27), *px = NULL, *g = NULL;
	struct buf b;
	int w, h;
	buf_init(&b, 1 << 20);
	CHECK(webp_lossless(rgb, 41, 27, &b) == 0);
	CHECK(image_sniff(b.p, b.len) == IMAGE_WEBP && !strcmp(image_kind_name(IMAGE_WEBP), "WebP"));
	CHECK(image_decode_rgb(b.p, b.len, &px, &w, &h) == 0 && w == 41 && h == 27);
	CHECK(px && !memcmp(px, rgb, (size_t)41 * 27 * 3));
	free(px);
	CHECK(image_decode_gray(b.p, b.len, &g, &w, &h) == 0 && w == 41 && h == 27);
	CHECK(g && g[0] == (unsigned char)((77u * rgb[0] + 150u * rgb[1] + 29u * rgb[2] + 128) >> 8));
	free(g);
	/* lossy: close to what was encoded */
	{
		uint8_t *p = NULL;
		size_t n = WebPEncodeRGB(rgb, 41, 27, 41 * 3, 95, &p);
		long diff = 0;
		CHECK(n > 0 && image_decode_rgb(p, n, &px, &w, &h) == 0 && w == 41 && h == 27);
		/* (the blue checkerboard is what lossy coding smooths away) */
		for (size_t i = 0; px && i < (size_t)41 * 27 * 3; i++)
			diff += i % 3 == 2 ? 0 : labs((long)px[i] - rgb[i]);
		CHECK(px && diff / (41 * 27 * 2) < 12);
		free(px);
		WebPFree(p);
	}
	free(rgb);
	buf_release(&b);
}

TEST(webp_first_frame_of_an_animation)
{
	unsigned char *small = bands(6, 5), *full = xmalloc(20 * 12 * 3), *px = NULL;
	struct buf f1, f2, a;
	int w, h, ok = 1;
	buf_init(&f1, 1 << 20);
	buf_init(&f2, 1 << 20);
	buf_init(&a, 64 << 20);
	memset(full, 7, 20 * 12 * 3);
	CHECK(webp_lossless(small, 6, 5, &f1) == 0 && webp_lossless(full, 20, 12, &f2) == 0);
	webp_anim(20, 12, &f1, 6, 5, 3, 2, &f2, 3000, &a);
	CHECK(image_sniff(a.p, a.len) == IMAGE_WEBP);
	CHECK(image_decode_rgb(a.p, a.len, &px, &w, &h) == 0 && w == 20 && h == 12);
	/* frame 1 at (6, 4), the canvas white around it */
	for (int y = 0; px && y < 12; y++)
		for (int x = 0; x < 20; x++) {
			const unsigned char *p = px + ((size_t)y * 20 + x) * 3;
			int in = x >= 6 && x < 12 && y >= 4 && y < 9;
			ok &= in ? !memcmp(p, small + ((size_t)(y - 4) * 6 + (x - 6)) * 3, 3) : p[0] == 255 && p[1] == 255 && p[2] == 255;
		}
	CHECK(px && ok);
	/* the frames after the first are never read: garbage over all of them changes nothing */
	{
		unsigned char *again = NULL;
		size_t end = 12 + 18 + 14 + 8 + 16 + f1.len - 12;
		CHECK(end < a.len && !memcmp(a.p + end, "ANMF", 4));
		memset(a.p + end, 0xee, a.len - end);
		CHECK(image_decode_rgb(a.p, a.len, &again, &w, &h) == 0 && w == 20 && h == 12 && px && again &&
		      !memcmp(px, again, 20 * 12 * 3));
		free(again);
	}
	free(px);
	/* a frame that runs past the canvas is refused */
	buf_reset(&a);
	webp_anim(8, 8, &f1, 6, 5, 2, 0, &f2, 0, &a);
	CHECK(image_decode_rgb(a.p, a.len, &px, &w, &h) < 0 && !px);
	/* a frame whose image is damaged */
	buf_reset(&a);
	webp_anim(20, 12, &f1, 6, 5, 0, 0, &f2, 0, &a);
	memset(a.p + 30 + 8 + 14 + 24 + 8 + 5, 0x5a, 16);
	CHECK(image_decode_rgb(a.p, a.len, &px, &w, &h) == ERR_PARSE && !px);
	CHECK(strstr(err_msg(), "damaged WebP image data") != NULL);
	free(small);
	free(full);
	buf_release(&f1);
	buf_release(&f2);
	buf_release(&a);
}

TEST(webp_bombs_refused_before_allocating)
{
	unsigned char *one = bands(1, 1), *px = (unsigned char *)"x";
	struct buf f, a;
	int w = 1, h = 1;
	buf_init(&f, 1 << 20);
	buf_init(&a, 1 << 20);
	CHECK(webp_lossless(one, 1, 1, &f) == 0);
	/* a canvas at the limits, and one past each */
	webp_anim(16384, 2441, &f, 1, 1, 0, 0, &f, 0, &a);
	CHECK(image_decode_rgb(a.p, a.len, &px, &w, &h) == 0 && w == 16384 && h == 2441);
	free(px);
	px = NULL;
	buf_reset(&a);
	webp_anim(16384, 2442, &f, 1, 1, 0, 0, &f, 0, &a);
	CHECK(image_decode_rgb(a.p, a.len, &px, &w, &h) == ERR_TOOBIG && !px && !w && !h);
	buf_reset(&a);
	webp_anim(16385, 1, &f, 1, 1, 0, 0, &f, 0, &a);
	CHECK(image_decode_rgb(a.p, a.len, &px, &w, &h) == ERR_TOOBIG && !px);
	buf_reset(&a);
	webp_anim(1 << 24, 1, &f, 1, 1, 0, 0, &f, 0, &a);
	CHECK(image_decode_rgb(a.p, a.len, &px, &w, &h) == ERR_TOOBIG && !px);
	/* a lossless header claiming 16384 x 16384 (the bits after its signature byte 0x2f) */
	CHECK((unsigned char)f.p[20] == 0x2f);
	f.p[21] = (char)0xff, f.p[22] = (char)0xff, f.p[23] = (char)0xff, f.p[24] |= 0x0f;
	CHECK(image_decode_rgb(f.p, f.len, &px, &w, &h) == ERR_TOOBIG && !px);
	CHECK(strstr(err_msg(), "16384x16384 pixels is too large") != NULL);
	free(one);
	buf_release(&f);
	buf_release(&a);
}

TEST(webp_truncated_and_damaged)
{
	unsigned char *rgb = bands(10, 6);
	struct buf f, a, c;
	int refused = 1, clean = 1;
	buf_init(&f, 1 << 20);
	buf_init(&a, 1 << 20);
	buf_init(&c, 1 << 20);
	CHECK(webp_lossless(rgb, 10, 6, &f) == 0);
	webp_anim(12, 8, &f, 10, 6, 1, 1, &f, 2, &a);
	/* a still image truncated at every length: refused (the RIFF size says what is missing) */
	for (size_t n = 0; n < f.len; n++) {
		unsigned char *px = (unsigned char *)"x";
		int w = 1, h = 1;
		refused &= image_decode_rgb(f.p, n, &px, &w, &h) == ERR_PARSE && !px && !w && !h;
	}
	CHECK(refused);
	/* an animation: refused until its first frame is whole, that frame from then on (the
	 * frames after it are never read) */
	{
		unsigned char *px = NULL, *want = NULL;
		size_t whole = 0;
		int w, h, ok = 1;
		CHECK(image_decode_rgb(a.p, a.len, &want, &w, &h) == 0 && w == 12 && h == 8);
		for (size_t n = 0; want && n <= a.len; n++) {
			int r = image_decode_rgb(a.p, n, &px, &w, &h);
			if (!r && !whole)
				whole = n;
			ok &= whole ? !r && w == 12 && h == 8 && !memcmp(px, want, 12 * 8 * 3) : r == ERR_PARSE && !px;
			free(px);
			px = NULL;
		}
		/* RIFF, VP8X, ANIM, then frame 1's ANMF (a header of 16 bytes, its VP8L chunk) */
		CHECK(ok && whole == 12 + 18 + 14 + 8 + 16 + f.len - 12);
		free(want);
	}
	/* every byte flipped in turn: decoded or refused with a reason */
	for (int k = 0; k < 2; k++) {
		const struct buf *src = k ? &a : &f;
		for (size_t i = 0; i < src->len; i++) {
			unsigned char *px = (unsigned char *)"x";
			int w = 1, h = 1, r;
			buf_reset(&c);
			CHECK(buf_add(&c, src->p, src->len) == 0);
			c.p[i] ^= 0xff;
			r = image_decode_rgb(c.p, c.len, &px, &w, &h);
			if (!r)
				clean &= w > 0 && h > 0, free(px);
			else
				clean &= (r == ERR_PARSE || r == ERR_TOOBIG) && !px && *err_msg();
		}
	}
	CHECK(clean);
	/* a chunk longer than the file */
	buf_reset(&c);
	CHECK(buf_add(&c, f.p, f.len) == 0);
	c.p[16] = (char)0xff, c.p[17] = (char)0xff;
	{
		unsigned char *px = NULL;
		int w, h;
		CHECK(image_decode_rgb(c.p, c.len, &px, &w, &h) == ERR_PARSE && !px);
		CHECK(strstr(err_msg(), "damaged WebP file") != NULL);
	}
	free(rgb);
	buf_release(&f);
	buf_release(&a);
	buf_release(&c);
}

int main(void)
{
	RUN(gif_decodes_as_encoded);
	RUN(gif_frame_placed_cut_and_transparent);
	RUN(gif_first_frame_of_thousands);
	RUN(gif_bombs_refused_before_allocating);
	RUN(gif_truncated_at_every_length);
	RUN(gif_damaged);
	RUN(webp_decodes_as_encoded);
	RUN(webp_first_frame_of_an_animation);
	RUN(webp_bombs_refused_before_allocating);
	RUN(webp_truncated_and_damaged);
	return test_done();
}
