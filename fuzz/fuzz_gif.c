/*
 * fuzz_gif: untrusted bytes through image.h's GIF decoder, the way the file view takes
 * them (RGB, fitted, marked) and trace does (grey). The first six bytes are made "GIF89a"
 * so that every input reaches giflib instead of the sniffer's refusal.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"
#include "mark.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned char key[MARK_KEY_LEN] = {9};
	struct mark_label l = {"r", "lab", "0123456789abcdef", 0};
	unsigned char *p, *pix = NULL;
	int w = 0, h = 0;
	if (size < 6 || size > IMAGE_FILE_MAX)
		return 0;
	p = malloc(size);
	memcpy(p, data, size);
	memcpy(p, "GIF89a", 6);
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
	free(p);
	return 0;
}
