/*
 * page_fixture.h: page-like images for the mark and trace tests, drawn with cairo the way
 * the room lays a code view out (1280x800: a dark header, a grey file tree, the code on the
 * session's marked background, highlighted text), and the transformations a leak goes
 * through (crop, scale, JPEG). Images are RGB, 3 bytes a pixel, row by row.
 */
#ifndef SEALROOM_PAGE_FIXTURE_H
#define SEALROOM_PAGE_FIXTURE_H

#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cairo.h>

#include "image.h"
#include "mark.h"

#define PAGE_W 1280
#define PAGE_H 800
#define PAGE_BG 0xfafafa

struct rgb_image {
	unsigned char *p;
	int w, h;
};

static uint32_t fixture_rng(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static struct rgb_image from_surface(cairo_surface_t *s)
{
	struct rgb_image im;
	int stride = cairo_image_surface_get_stride(s);
	const unsigned char *d;
	cairo_surface_flush(s);
	d = cairo_image_surface_get_data(s);
	im.w = cairo_image_surface_get_width(s);
	im.h = cairo_image_surface_get_height(s);
	im.p = malloc((size_t)im.w * im.h * 3);
	for (int y = 0; y < im.h; y++)
		for (int x = 0; x < im.w; x++) {
			uint32_t v;
			memcpy(&v, d + (size_t)y * stride + (size_t)x * 4, 4);
			im.p[((size_t)y * im.w + x) * 3] = (unsigned char)(v >> 16);
			im.p[((size_t)y * im.w + x) * 3 + 1] = (unsigned char)(v >> 8);
			im.p[((size_t)y * im.w + x) * 3 + 2] = (unsigned char)v;
		}
	return im;
}

static cairo_surface_t *to_surface(const struct rgb_image *im)
{
	cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, im->w, im->h);
	int stride = cairo_image_surface_get_stride(s);
	unsigned char *d = cairo_image_surface_get_data(s);
	for (int y = 0; y < im->h; y++)
		for (int x = 0; x < im->w; x++) {
			const unsigned char *p = im->p + ((size_t)y * im->w + x) * 3;
			uint32_t v = 0xff000000u | (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
			memcpy(d + (size_t)y * stride + (size_t)x * 4, &v, 4);
		}
	cairo_surface_mark_dirty(s);
	return s;
}

static const char *const fixture_words[] = {
	"int", "static", "return", "if", "for", "while", "struct", "buf", "len", "err_set",
	"ERR_PARSE", "const", "char", "*p", "=", "==", "(", ")", "{", "}", ";", "0", "1", "size_t",
	"memcpy", "free", "goto", "out", "->", "&&", "||", "sizeof", "unsigned", "void", "NULL"};

/*
 * A code view: with key non-NULL, the code area carries session sid's forensic tile.
 * seed varies the text.
 */
__attribute__((unused)) static struct rgb_image page_image(const unsigned char *key, const char *sid, uint32_t seed)
{
	cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, PAGE_W, PAGE_H);
	cairo_t *cr = cairo_create(s);
	struct rgb_image im;
	uint32_t rng = seed * 2654435761u + 1;
	static const double colors[][3] = {{0.14, 0.16, 0.18}, {0.81, 0.13, 0.18}, {0.02, 0.31, 0.68},
					   {0.51, 0.31, 0.87}, {0.04, 0.48, 0.25}};

	cairo_set_source_rgb(cr, 1, 1, 1);
	cairo_paint(cr);
	if (key) {
		unsigned char *tile = malloc((size_t)MARK_TILE * MARK_TILE * 3);
		struct rgb_image t;
		cairo_surface_t *ts;
		cairo_pattern_t *pat;
		mark_tile_rgb(key, sid, PAGE_BG, tile);
		t.p = tile;
		t.w = t.h = MARK_TILE;
		ts = to_surface(&t);
		pat = cairo_pattern_create_for_surface(ts);
		cairo_pattern_set_extend(pat, CAIRO_EXTEND_REPEAT);
		cairo_pattern_set_filter(pat, CAIRO_FILTER_NEAREST);
		{
			cairo_matrix_t m;
			cairo_matrix_init_translate(&m, -240, -40);
			cairo_pattern_set_matrix(pat, &m);
		}
		cairo_set_source(cr, pat);
		cairo_rectangle(cr, 240, 40, PAGE_W - 240, PAGE_H - 40);
		cairo_fill(cr);
		cairo_pattern_destroy(pat);
		cairo_surface_destroy(ts);
		free(tile);
	} else {
		cairo_set_source_rgb(cr, 0.98, 0.98, 0.98);
		cairo_rectangle(cr, 240, 40, PAGE_W - 240, PAGE_H - 40);
		cairo_fill(cr);
	}
	/* header and file tree */
	cairo_set_source_rgb(cr, 0.14, 0.16, 0.18);
	cairo_rectangle(cr, 0, 0, PAGE_W, 40);
	cairo_fill(cr);
	cairo_set_source_rgb(cr, 0.965, 0.973, 0.98);
	cairo_rectangle(cr, 0, 40, 240, PAGE_H - 40);
	cairo_fill(cr);
	cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
	cairo_set_font_size(cr, 14);
	cairo_set_source_rgb(cr, 1, 1, 1);
	cairo_move_to(cr, 16, 26);
	cairo_show_text(cr, "sealroom  fw@2.1  src/net/filter.c");
	cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
	for (int i = 0; i < 30; i++) {
		char name[32];
		snprintf(name, sizeof(name), "%*sfile_%02u.c", (int)(i % 3) * 2, "",
			 fixture_rng(&rng) % 100);
		cairo_move_to(cr, 16, 66 + i * 24);
		cairo_show_text(cr, name);
	}
	/* the code */
	cairo_select_font_face(cr, "DejaVu Sans Mono", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
	cairo_set_font_size(cr, 13);
	for (int line = 0; line < 42; line++) {
		char num[16];
		double x = 310 + (fixture_rng(&rng) % 4) * 31.2;
		int words = (int)(fixture_rng(&rng) % 12);
		snprintf(num, sizeof(num), "%4d", line + 1);
		cairo_set_source_rgb(cr, 0.55, 0.58, 0.62);
		cairo_move_to(cr, 250, 58 + line * 18);
		cairo_show_text(cr, num);
		for (int k = 0; k < words && x < PAGE_W - 60; k++) {
			const char *wd = fixture_words[fixture_rng(&rng) % (sizeof(fixture_words) / sizeof(fixture_words[0]))];
			const double *c = colors[fixture_rng(&rng) % 5];
			cairo_text_extents_t ext;
			cairo_set_source_rgb(cr, c[0], c[1], c[2]);
			cairo_move_to(cr, x, 58 + line * 18);
			cairo_show_text(cr, wd);
			cairo_text_extents(cr, wd, &ext);
			x += ext.x_advance + 7.8;
		}
	}
	cairo_destroy(cr);
	im = from_surface(s);
	cairo_surface_destroy(s);
	return im;
}

__attribute__((unused)) static struct rgb_image crop_image(const struct rgb_image *in, int x0, int y0, int w, int h)
{
	struct rgb_image im = {malloc((size_t)w * h * 3), w, h};
	for (int y = 0; y < h; y++)
		memcpy(im.p + (size_t)y * w * 3, in->p + ((size_t)(y0 + y) * in->w + x0) * 3, (size_t)w * 3);
	return im;
}

/* Resample by factor with cairo's good filter (what an image viewer or a chat app does). */
__attribute__((unused)) static struct rgb_image scale_image(const struct rgb_image *in, double factor)
{
	cairo_surface_t *src = to_surface(in);
	int w = (int)lround(in->w * factor), h = (int)lround(in->h * factor);
	cairo_surface_t *dst = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
	cairo_t *cr = cairo_create(dst);
	struct rgb_image im;
	cairo_scale(cr, factor, factor);
	cairo_set_source_surface(cr, src, 0, 0);
	cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_GOOD);
	cairo_paint(cr);
	cairo_destroy(cr);
	im = from_surface(dst);
	cairo_surface_destroy(dst);
	cairo_surface_destroy(src);
	return im;
}

static cairo_status_t png_to_buf(void *closure, const unsigned char *data, unsigned int len)
{
	return buf_add(closure, data, len) ? CAIRO_STATUS_WRITE_ERROR : CAIRO_STATUS_SUCCESS;
}

/* The image as a PNG (quality 0) or JPEG file of that quality, appended to out. */
__attribute__((unused)) static int encode_image(const struct rgb_image *im, int quality, struct buf *out)
{
	cairo_surface_t *s;
	int r;
	if (quality)
		return image_encode_jpeg(im->p, im->w, im->h, quality, out);
	s = to_surface(im);
	r = cairo_surface_write_to_png_stream(s, png_to_buf, out) == CAIRO_STATUS_SUCCESS ? 0 : -1;
	cairo_surface_destroy(s);
	return r;
}

#endif
