/*
 * image_check: what fuzz_gif and fuzz_webp ask of bytes made to reach one decoder: the RGB
 * decode the file view uses (then fitted and marked) and the grey one trace uses either
 * succeed with a sane image or fail with nothing left allocated.
 */
#ifndef SEALROOM_FUZZ_IMAGE_CHECK_H
#define SEALROOM_FUZZ_IMAGE_CHECK_H

#include <stdlib.h>

#include "image.h"
#include "mark.h"

static void image_check(const unsigned char *p, size_t size)
{
	static const unsigned char key[MARK_KEY_LEN] = {9};
	struct mark_label l = {"r", "lab", "0123456789abcdef", 0};
	unsigned char *pix = NULL;
	int w = 0, h = 0;
	if (image_decode_rgb(p, size, &pix, &w, &h) == 0) {
		if (w <= 0 || h <= 0 || image_fit_rgb(pix, &w, &h, 64) != 0 || w > 64 || h > 64 ||
		    mark_image_rgb(key, &l, pix, w, h) != 0)
			abort();
	} else if (pix) {
		abort();
	}
	free(pix);
	pix = NULL;
	if (image_decode_gray(p, size, &pix, &w, &h) == 0 && (w <= 0 || h <= 0))
		abort();
	free(pix);
}

#endif
