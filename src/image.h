/*
 * image: decoding leaked screenshots and photos (PNG, JPEG) into grey pixels, and encoding
 * them back (for tests and tools). Every input is untrusted: sizes are checked before
 * anything is allocated, the decoders' own limits are set, and their errors are caught.
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

enum image_kind { IMAGE_NONE, IMAGE_PNG, IMAGE_JPEG };

/* What (p, len) looks like, from its first bytes. */
enum image_kind image_sniff(const void *p, size_t len);

/*
 * Decode a PNG or JPEG into 8-bit luminance: *gray (malloc'd, w * h bytes, row by row) is
 * the caller's to free. ERR_PARSE for a damaged or unsupported file, ERR_TOOBIG past the
 * limits above.
 */
int image_decode_gray(const void *p, size_t len, unsigned char **gray, int *w, int *h) WUR;

/* Encode w x h RGB pixels (3 bytes each) as a JPEG of quality 1..100, appended to out. */
int image_encode_jpeg(const unsigned char *rgb, int w, int h, int quality, struct buf *out) WUR;

#endif
