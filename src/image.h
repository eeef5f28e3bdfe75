/*
 * image: decoding PNG, JPEG, GIF and WebP files into grey pixels (leaked screenshots and
 * photos, for trace) or RGB pixels (images of a sealed tree, for the file view), fitting
 * them to a size, and encoding JPEG (the file view's watermarked copy; tests). Every input
 * is untrusted: sizes are checked before anything is allocated, the decoders' own limits
 * are set, and their errors are caught. Of an animation (GIF, WebP) only the first frame
 * is decoded, drawn at its place on the image's white screen; the frames after it are
 * never read. Alpha is dropped (PNG, WebP); GIF's transparent pixels are white.
 */
#ifndef SEALROOM_IMAGE_H
#define SEALROOM_IMAGE_H

#include <stddef.h>

#include "buf.h"
#include "err.h"

/* The largest image decoded: each side, and pixels in all */
#define IMAGE_SIDE_MAX 16384
#define IMAGE_PIXELS_MAX (40 * 1000 * 1000)
/* The largest file accepted */
#define IMAGE_FILE_MAX (64 << 20)

enum image_kind { IMAGE_NONE, IMAGE_PNG, IMAGE_JPEG, IMAGE_GIF, IMAGE_WEBP };

/* What (p, len) looks like, from its first bytes. */
enum image_kind image_sniff(const void *p, size_t len);

/* "PNG", "JPEG", "GIF", "WebP"; NULL for IMAGE_NONE. */
const char *image_kind_name(enum image_kind k);

/*
 * Decode a PNG, JPEG, GIF or WebP into 8-bit luminance: *gray (malloc'd, w * h bytes, row by row) is
 * the caller's to free. ERR_PARSE for a damaged or unsupported file, ERR_TOOBIG past the
 * limits above.
 */
int image_decode_gray(const void *p, size_t len, unsigned char **gray, int *w, int *h) WUR;

/* The same into RGB: *rgb is w * h * 3 bytes (wiped on the error paths). */
int image_decode_rgb(const void *p, size_t len, unsigned char **rgb, int *w, int *h) WUR;

/*
 * Scale w x h RGB pixels down in place, by the smallest whole factor that brings both sides
 * to at most `side` (the mean of each block); *w and *h become the new size, the bytes past
 * it are zeroed. ERR_USAGE for a bad size.
 */
int image_fit_rgb(unsigned char *rgb, int *w, int *h, int side) WUR;

/*
 * The size image_fit_rgb makes of w x h for side: *ow x *oh. Returns the whole factor (1:
 * unchanged), or ERR_USAGE for a bad size.
 */
int image_fit_size(int w, int h, int side, int *ow, int *oh);

/*
 * Is msg one of the messages the decoders here give for a file they refuse? 1: one of the
 * fixed ones; 2: "image: WxH pixels is too large (...)", whose numbers are the file's own
 * (a caller that cannot check them shows the limits alone); 0: not one of them.
 */
int image_reason_known(const char *msg);

/* Encode w x h RGB pixels (3 bytes each) as a JPEG of quality 1..100, appended to out. */
int image_encode_jpeg(const unsigned char *rgb, int w, int h, int quality, struct buf *out) WUR;

#endif
