/* image: bounded PNG, JPEG, GIF and WebP decoding into grey or RGB, fitting, and JPEG encoding. */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gif_lib.h>
#include <jpeglib.h>
#include <png.h>
#include <webp/decode.h>
#include <webp/demux.h>

#include "image.h"

enum image_kind image_sniff(const void *p, size_t len)
{
	const unsigned char *b = p;
	if (len >= 8 && !memcmp(b, "\x89PNG\r\n\x1a\n", 8))
		return IMAGE_PNG;
	if (len >= 3 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff)
		return IMAGE_JPEG;
	if (len >= 6 && (!memcmp(b, "GIF87a", 6) || !memcmp(b, "GIF89a", 6)))
		return IMAGE_GIF;
	if (len >= 12 && !memcmp(b, "RIFF", 4) && !memcmp(b + 8, "WEBP", 4))
		return IMAGE_WEBP;
	return IMAGE_NONE;
}

const char *image_kind_name(enum image_kind k)
{
	switch (k) {
	case IMAGE_PNG:
		return "PNG";
	case IMAGE_JPEG:
		return "JPEG";
	case IMAGE_GIF:
		return "GIF";
	case IMAGE_WEBP:
		return "WebP";
	default:
		return NULL;
	}
}

static int size_ok(unsigned long w, unsigned long h)
{
	if (!w || !h)
		return err_set(ERR_PARSE, "image: empty image");
	if (w > IMAGE_SIDE_MAX || h > IMAGE_SIDE_MAX || (unsigned long long)w * h > IMAGE_PIXELS_MAX)
		return err_set(ERR_TOOBIG, "image: %lux%lu pixels is too large (limit %d per side, %d in all)",
			       w, h, IMAGE_SIDE_MAX, IMAGE_PIXELS_MAX);
	return 0;
}

/* ---- PNG ---- */

struct png_source {
	const unsigned char *p;
	size_t len, off;
};

static void png_source_read(png_structp png, png_bytep out, size_t n)
{
	struct png_source *s = png_get_io_ptr(png);
	if (n > s->len - s->off)
		png_error(png, "truncated");
	memcpy(out, s->p + s->off, n);
	s->off += n;
}

static void png_quiet(png_structp png, png_const_charp msg)
{
	(void)png;
	(void)msg;
}

static void png_fail(png_structp png, png_const_charp msg)
{
	(void)msg;
	png_longjmp(png, 1);
}

/* Decode into comps (1: grey, 3: RGB) bytes a pixel. */
static int decode_png(const void *p, size_t len, int comps, unsigned char **pix_out, int *w, int *h)
{
	struct png_source src = {p, len, 0};
	png_structp png;
	png_infop info = NULL;
	unsigned char *volatile pix = NULL;
	png_bytep *volatile rows = NULL;
	volatile int r = 0;
	png_uint_32 width, height;
	int depth, color;

	png = png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL, png_fail, png_quiet);
	if (!png || !(info = png_create_info_struct(png))) {
		png_destroy_read_struct(&png, NULL, NULL);
		return err_set(ERR_IO, "image: cannot start the PNG decoder");
	}
	if (setjmp(png_jmpbuf(png))) {
		if (!r)
			r = err_set(ERR_PARSE, "image: damaged PNG file");
		goto out;
	}
	png_set_user_limits(png, IMAGE_SIDE_MAX, IMAGE_SIDE_MAX);
	png_set_chunk_malloc_max(png, 8 << 20);
	png_set_chunk_cache_max(png, 1000);
	png_set_read_fn(png, &src, png_source_read);
	png_read_info(png, info);
	png_get_IHDR(png, info, &width, &height, &depth, &color, NULL, NULL, NULL);
	if ((r = size_ok(width, height)))
		goto out;
	png_set_expand(png);
	png_set_strip_16(png);
	png_set_strip_alpha(png);
	if (comps == 1 && (color & PNG_COLOR_MASK_COLOR))
		png_set_rgb_to_gray_fixed(png, 1, -1, -1);
	if (comps == 3 && !(color & PNG_COLOR_MASK_COLOR))
		png_set_gray_to_rgb(png);
	png_set_interlace_handling(png);
	png_read_update_info(png, info);
	if (png_get_rowbytes(png, info) != (size_t)width * comps) {
		r = err_set(ERR_PARSE, "image: unsupported PNG pixel format");
		goto out;
	}
	pix = xmalloc((size_t)width * height * comps);
	rows = xmalloc(sizeof(png_bytep) * height);
	for (png_uint_32 y = 0; y < height; y++)
		rows[y] = pix + (size_t)y * width * comps;
	png_read_image(png, rows);
	*pix_out = pix;
	pix = NULL;
	*w = (int)width;
	*h = (int)height;
out:
	png_destroy_read_struct(&png, &info, NULL);
	if (pix)
		explicit_bzero(pix, (size_t)width * height * comps);
	free(pix);
	free(rows);
	return r;
}

/* ---- JPEG ---- */

struct jpeg_fail {
	struct jpeg_error_mgr mgr;
	jmp_buf jmp;
};

static void jpeg_fail_exit(j_common_ptr c)
{
	longjmp(((struct jpeg_fail *)c->err)->jmp, 1);
}

static void jpeg_quiet(j_common_ptr c, int level)
{
	(void)c;
	(void)level;
}

static int decode_jpeg(const void *p, size_t len, int comps, unsigned char **pix_out, int *w, int *h)
{
	struct jpeg_decompress_struct d;
	struct jpeg_fail fail;
	unsigned char *volatile pix = NULL;
	volatile int r = 0;

	memset(&d, 0, sizeof(d));
	d.err = jpeg_std_error(&fail.mgr);
	fail.mgr.error_exit = jpeg_fail_exit;
	fail.mgr.emit_message = jpeg_quiet;
	if (setjmp(fail.jmp)) {
		if (!r)
			r = err_set(ERR_PARSE, "image: damaged JPEG file");
		goto out;
	}
	jpeg_create_decompress(&d);
	d.mem->max_memory_to_use = 256L << 20;
	jpeg_mem_src(&d, p, (unsigned long)len);
	if (jpeg_read_header(&d, TRUE) != JPEG_HEADER_OK) {
		r = err_set(ERR_PARSE, "image: damaged JPEG header");
		goto out;
	}
	if ((r = size_ok(d.image_width, d.image_height)))
		goto out;
	if (d.jpeg_color_space == JCS_CMYK || d.jpeg_color_space == JCS_YCCK) {
		r = err_set(ERR_PARSE, "image: CMYK JPEG files are not supported");
		goto out;
	}
	d.out_color_space = comps == 1 ? JCS_GRAYSCALE : JCS_RGB;
	jpeg_start_decompress(&d);
	if (d.output_components != comps || d.output_width != d.image_width ||
	    d.output_height != d.image_height) {
		r = err_set(ERR_PARSE, "image: unsupported JPEG pixel format");
		goto out;
	}
	pix = xmalloc((size_t)d.output_width * d.output_height * comps);
	while (d.output_scanline < d.output_height) {
		JSAMPROW row = pix + (size_t)d.output_scanline * d.output_width * comps;
		if (jpeg_read_scanlines(&d, &row, 1) != 1) {
			r = err_set(ERR_PARSE, "image: truncated JPEG file");
			goto out;
		}
	}
	jpeg_finish_decompress(&d);
	*pix_out = pix;
	pix = NULL;
	*w = (int)d.output_width;
	*h = (int)d.output_height;
out:
	if (pix)
		explicit_bzero(pix, (size_t)d.output_width * d.output_height * comps);
	jpeg_destroy_decompress(&d);
	free(pix);
	return r;
}

/* RGB (w x h, 3 bytes a pixel) to comps bytes a pixel, in place: grey is the luma of
 * JPEG's colour conversion, as libjpeg gives for a JPEG asked for in grey. */
static void rgb_to(unsigned char *pix, size_t n, int comps)
{
	if (comps != 1)
		return;
	for (size_t i = 0; i < n; i++)
		pix[i] = (unsigned char)((77u * pix[3 * i] + 150u * pix[3 * i + 1] + 29u * pix[3 * i + 2] + 128) >> 8);
}

/* ---- GIF: the first frame, over a white screen ---- */

struct gif_source {
	const unsigned char *p;
	size_t len, off;
};

static int gif_source_read(GifFileType *g, GifByteType *out, int n)
{
	struct gif_source *s = g->UserData;
	size_t k = n > 0 ? (size_t)n : 0;
	if (k > s->len - s->off)
		k = s->len - s->off;
	memcpy(out, s->p + s->off, k);
	s->off += k;
	return (int)k;
}

/* Skip the records before the first image; the transparent index of its graphic control
 * extension goes to *transparent (else -1). */
static int gif_first_image(GifFileType *g, int *transparent)
{
	*transparent = -1;
	for (;;) {
		GifRecordType t;
		GifByteType *ext;
		int code;
		if (DGifGetRecordType(g, &t) == GIF_ERROR)
			return err_set(ERR_PARSE, "image: damaged GIF file");
		if (t == IMAGE_DESC_RECORD_TYPE)
			return 0;
		if (t == TERMINATE_RECORD_TYPE)
			return err_set(ERR_PARSE, "image: a GIF file without an image");
		if (t != EXTENSION_RECORD_TYPE || DGifGetExtension(g, &code, &ext) == GIF_ERROR)
			return err_set(ERR_PARSE, "image: damaged GIF file");
		if (code == GRAPHICS_EXT_FUNC_CODE && ext && ext[0] >= 4 && (ext[1] & 1))
			*transparent = ext[4];
		while (ext)
			if (DGifGetExtensionNext(g, &ext) == GIF_ERROR)
				return err_set(ERR_PARSE, "image: damaged GIF file");
	}
}

/*
 * The logical screen, white, with the first frame drawn at its place (what lies outside
 * the screen is cut, transparent pixels stay white); the frames after it are never read,
 * however many there are. Both the screen and the frame are held to the limits before
 * anything is allocated for them.
 */
static int decode_gif(const void *p, size_t len, int comps, unsigned char **pix_out, int *w, int *h)
{
	static const int start[] = {0, 4, 2, 1}, step[] = {8, 8, 4, 2};
	struct gif_source src = {p, len, 0};
	unsigned char *pix = NULL;
	GifByteType *line = NULL;
	const ColorMapObject *cm;
	const GifImageDesc *d;
	size_t sw = 0, sh = 0;
	int e = 0, transparent, r;
	GifFileType *g = DGifOpen(&src, gif_source_read, &e);

	if (!g)
		return err_set(ERR_PARSE, "image: damaged GIF header");
	sw = (size_t)g->SWidth;
	sh = (size_t)g->SHeight;
	if ((r = size_ok(sw, sh)) || (r = gif_first_image(g, &transparent)))
		goto out;
	if (DGifGetImageDesc(g) == GIF_ERROR) {
		r = err_set(ERR_PARSE, "image: damaged GIF image descriptor");
		goto out;
	}
	d = &g->Image;
	if ((r = size_ok((unsigned long)d->Width, (unsigned long)d->Height)))
		goto out;
	if (!(cm = d->ColorMap ? d->ColorMap : g->SColorMap)) {
		r = err_set(ERR_PARSE, "image: a GIF file without colours");
		goto out;
	}
	pix = xmalloc(sw * sh * 3);
	memset(pix, 0xff, sw * sh * 3);
	line = xmalloc((size_t)d->Width);
	for (int pass = d->Interlace ? 0 : 3; pass < 4; pass++)
		for (int y = d->Interlace ? start[pass] : 0; y < d->Height; y += d->Interlace ? step[pass] : 1) {
			size_t sy = (size_t)d->Top + (size_t)y;
			if (DGifGetLine(g, line, d->Width) == GIF_ERROR) {
				r = err_set(ERR_PARSE, "image: damaged GIF image data");
				goto out;
			}
			for (int x = 0; sy < sh && x < d->Width && (size_t)d->Left + (size_t)x < sw; x++) {
				unsigned char *o = pix + (sy * sw + (size_t)d->Left + (size_t)x) * 3;
				if (line[x] == transparent)
					continue;
				if (line[x] >= cm->ColorCount) {
					o[0] = o[1] = o[2] = 0;
					continue;
				}
				o[0] = cm->Colors[line[x]].Red;
				o[1] = cm->Colors[line[x]].Green;
				o[2] = cm->Colors[line[x]].Blue;
			}
		}
	rgb_to(pix, sw * sh, comps);
	*pix_out = pix;
	pix = NULL;
	*w = (int)sw;
	*h = (int)sh;
out:
	if (pix)
		explicit_bzero(pix, sw * sh * 3);
	free(pix);
	free(line);
	DGifCloseFile(g, &e);
	return r;
}

/* ---- WebP: the first frame, over a white canvas ---- */

/*
 * The bytes of a WebP file up to the end of its first ANMF chunk (an animation's first
 * frame; at most len), or 0 when it has none: what the demuxer is given of an animation,
 * so that it never lists the frames after the first (a list that would grow with their
 * count).
 */
static size_t webp_first_frame_end(const unsigned char *p, size_t len)
{
	size_t off = 12;
	while (off + 8 <= len) {
		size_t n = (size_t)p[off + 4] | (size_t)p[off + 5] << 8 | (size_t)p[off + 6] << 16 | (size_t)p[off + 7] << 24;
		size_t next = off + 8 + n + (n & 1);
		if (!memcmp(p + off, "ANMF", 4))
			return next < len ? next : len;
		off = next;
	}
	return 0;
}

/*
 * libwebp's demuxer reads the container (a still image is one frame, an animation's first
 * frame is decoded alone, the rest never read); the canvas and the frame are held to the
 * limits, and the frame to the canvas, before anything is allocated for the pixels, which
 * libwebp then decodes in place (RGB, alpha dropped as for PNG).
 */
static int decode_webp(const void *p, size_t len, int comps, unsigned char **pix_out, int *w, int *h)
{
	size_t first = webp_first_frame_end(p, len);
	WebPData data = {p, first ? first : len};
	WebPDemuxState st = WEBP_DEMUX_PARSE_ERROR;
	WebPDemuxer *dm = first ? WebPDemuxPartial(&data, &st) : WebPDemux(&data);
	WebPIterator it;
	WebPDecoderConfig cfg;
	unsigned char *pix = NULL;
	size_t cw = 0, ch = 0, off;
	int got = 0, r;

	memset(&it, 0, sizeof(it));
	if (!dm || (first && st < WEBP_DEMUX_PARSED_HEADER)) {
		WebPDemuxDelete(dm);
		return err_set(ERR_PARSE, "image: damaged WebP file");
	}
	cw = WebPDemuxGetI(dm, WEBP_FF_CANVAS_WIDTH);
	ch = WebPDemuxGetI(dm, WEBP_FF_CANVAS_HEIGHT);
	if ((r = size_ok(cw, ch)))
		goto out;
	if (!(got = WebPDemuxGetFrame(dm, 1, &it))) {
		r = err_set(ERR_PARSE, "image: a WebP file without an image");
		goto out;
	}
	if (!it.complete) {
		r = err_set(ERR_PARSE, "image: truncated WebP file");
		goto out;
	}
	if (!WebPInitDecoderConfig(&cfg) || WebPGetFeatures(it.fragment.bytes, it.fragment.size, &cfg.input) != VP8_STATUS_OK ||
	    cfg.input.width != it.width || cfg.input.height != it.height || it.x_offset < 0 || it.y_offset < 0 ||
	    it.width <= 0 || it.height <= 0 || (size_t)it.x_offset + (size_t)it.width > cw ||
	    (size_t)it.y_offset + (size_t)it.height > ch) {
		r = err_set(ERR_PARSE, "image: damaged WebP frame");
		goto out;
	}
	pix = xmalloc(cw * ch * 3);
	memset(pix, 0xff, cw * ch * 3);
	off = ((size_t)it.y_offset * cw + (size_t)it.x_offset) * 3;
	cfg.output.colorspace = MODE_RGB;
	cfg.output.is_external_memory = 1;
	cfg.output.u.RGBA.rgba = pix + off;
	cfg.output.u.RGBA.stride = (int)(cw * 3);
	cfg.output.u.RGBA.size = cw * ch * 3 - off;
	if (WebPDecode(it.fragment.bytes, it.fragment.size, &cfg) != VP8_STATUS_OK) {
		r = err_set(ERR_PARSE, "image: damaged WebP image data");
		goto out;
	}
	rgb_to(pix, cw * ch, comps);
	*pix_out = pix;
	pix = NULL;
	*w = (int)cw;
	*h = (int)ch;
out:
	if (pix)
		explicit_bzero(pix, cw * ch * 3);
	free(pix);
	if (got)
		WebPDemuxReleaseIterator(&it);
	WebPDemuxDelete(dm);
	return r;
}

static int decode(const void *p, size_t len, int comps, unsigned char **pix, int *w, int *h)
{
	*pix = NULL;
	*w = *h = 0;
	if (len > IMAGE_FILE_MAX)
		return err_set(ERR_TOOBIG, "image: file of %zu bytes is too large (limit %d)", len,
			       IMAGE_FILE_MAX);
	switch (image_sniff(p, len)) {
	case IMAGE_PNG:
		return decode_png(p, len, comps, pix, w, h);
	case IMAGE_JPEG:
		return decode_jpeg(p, len, comps, pix, w, h);
	case IMAGE_GIF:
		return decode_gif(p, len, comps, pix, w, h);
	case IMAGE_WEBP:
		return decode_webp(p, len, comps, pix, w, h);
	default:
		return err_set(ERR_PARSE, "image: not a PNG, JPEG, GIF or WebP file");
	}
}

int image_decode_gray(const void *p, size_t len, unsigned char **gray, int *w, int *h)
{
	return decode(p, len, 1, gray, w, h);
}

int image_decode_rgb(const void *p, size_t len, unsigned char **rgb, int *w, int *h)
{
	return decode(p, len, 3, rgb, w, h);
}

int image_fit_size(int w, int h, int side, int *ow, int *oh)
{
	int f;
	if (w <= 0 || h <= 0 || side <= 0)
		return err_set(ERR_USAGE, "image: bad fitting parameters");
	f = ((w > h ? w : h) + side - 1) / side;
	if (f <= 1) {
		*ow = w;
		*oh = h;
		return 1;
	}
	*ow = w / f ? w / f : 1;
	*oh = h / f ? h / f : 1;
	return f;
}

/* The messages this file gives for an image it cannot decode (one place to check them). */
static const char *const reasons[] = {
	"image: empty image",
	"image: cannot start the PNG decoder",
	"image: damaged PNG file",
	"image: unsupported PNG pixel format",
	"image: damaged JPEG file",
	"image: damaged JPEG header",
	"image: CMYK JPEG files are not supported",
	"image: unsupported JPEG pixel format",
	"image: truncated JPEG file",
	"image: damaged GIF file",
	"image: a GIF file without an image",
	"image: damaged GIF header",
	"image: damaged GIF image descriptor",
	"image: a GIF file without colours",
	"image: damaged GIF image data",
	"image: damaged WebP file",
	"image: a WebP file without an image",
	"image: truncated WebP file",
	"image: damaged WebP frame",
	"image: damaged WebP image data",
	"image: not a PNG, JPEG, GIF or WebP file",
};

int image_reason_known(const char *msg)
{
	unsigned long a, b;
	int n = 0;
	char tail[128];
	for (size_t i = 0; i < sizeof(reasons) / sizeof(*reasons); i++)
		if (!strcmp(msg, reasons[i]))
			return 1;
	snprintf(tail, sizeof(tail), " pixels is too large (limit %d per side, %d in all)", IMAGE_SIDE_MAX,
		 IMAGE_PIXELS_MAX);
	if (sscanf(msg, "image: %lux%lu%n", &a, &b, &n) == 2 && n > 0 && !strcmp(msg + n, tail))
		return 2;
	return 0;
}

int image_fit_rgb(unsigned char *rgb, int *w, int *h, int side)
{
	int f, ow, oh;
	if (!rgb)
		return err_set(ERR_USAGE, "image: bad fitting parameters");
	if ((f = image_fit_size(*w, *h, side, &ow, &oh)) < 0)
		return f;
	if (f <= 1)
		return 0;
	/* each output pixel is the mean of its f x f block; written over the input, which
	 * is never read again behind the writing point */
	for (int y = 0; y < oh; y++)
		for (int x = 0; x < ow; x++) {
			unsigned sum[3] = {0, 0, 0}, n = 0;
			for (int dy = 0; dy < f && y * f + dy < *h; dy++)
				for (int dx = 0; dx < f && x * f + dx < *w; dx++, n++)
					for (int k = 0; k < 3; k++)
						sum[k] += rgb[((size_t)(y * f + dy) * *w + (size_t)(x * f + dx)) * 3 + k];
			for (int k = 0; k < 3; k++)
				rgb[((size_t)y * ow + x) * 3 + k] = (unsigned char)((sum[k] + n / 2) / n);
		}
	memset(rgb + (size_t)ow * oh * 3, 0, ((size_t)*w * *h - (size_t)ow * oh) * 3);
	*w = ow;
	*h = oh;
	return 0;
}

int image_encode_jpeg(const unsigned char *rgb, int w, int h, int quality, struct buf *out)
{
	struct jpeg_compress_struct c;
	struct jpeg_fail fail;
	/* on the heap, so that a longjmp cannot lose what libjpeg allocated */
	struct {
		unsigned char *p;
		unsigned long len;
	} *mem = xcalloc(1, sizeof(*mem));
	volatile int r = 0;

	if (w <= 0 || h <= 0 || quality < 1 || quality > 100) {
		free(mem);
		return err_set(ERR_USAGE, "image: bad JPEG parameters");
	}
	memset(&c, 0, sizeof(c));
	c.err = jpeg_std_error(&fail.mgr);
	fail.mgr.error_exit = jpeg_fail_exit;
	fail.mgr.emit_message = jpeg_quiet;
	if (setjmp(fail.jmp)) {
		r = err_set(ERR_IO, "image: JPEG encoding failed");
		goto out;
	}
	jpeg_create_compress(&c);
	jpeg_mem_dest(&c, &mem->p, &mem->len);
	c.image_width = (JDIMENSION)w;
	c.image_height = (JDIMENSION)h;
	c.input_components = 3;
	c.in_color_space = JCS_RGB;
	jpeg_set_defaults(&c);
	jpeg_set_quality(&c, quality, TRUE);
	jpeg_start_compress(&c, TRUE);
	while (c.next_scanline < c.image_height) {
		JSAMPROW row = (JSAMPROW)(rgb + (size_t)c.next_scanline * (size_t)w * 3);
		jpeg_write_scanlines(&c, &row, 1);
	}
	jpeg_finish_compress(&c);
	r = buf_add(out, mem->p, mem->len);
out:
	jpeg_destroy_compress(&c);
	free(mem->p);
	free(mem);
	return r;
}
