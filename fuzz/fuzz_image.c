/*
 * fuzz_image: untrusted PNG, JPEG, GIF and WebP bytes through the bounded decoders trace
 * (grey) and the file view (RGB, fitted, marked) use, and small decoded images through the
 * mark detector. fuzz_gif and fuzz_webp aim at one decoder each.
 */
#include <stdint.h>
#include <stdlib.h>

#include "image.h"
#include "mark.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned char key[MARK_KEY_LEN] = {9};
	unsigned char *gray = NULL;
	int w = 0, h = 0;
	if (image_decode_gray(data, size, &gray, &w, &h) == 0) {
		struct mark_candidate c = {"0123456789abcdef", 0};
		struct mark_result res;
		if (w <= 0 || h <= 0)
			abort();
		/* the detector is slow on large images; the decoders are what is fuzzed */
		if ((int64_t)w * h <= 64 * 64 && mark_detect(key, gray, w, h, &c, 1, &res) != 0)
			abort();
	}
	free(gray);
	{
		unsigned char *rgb = NULL;
		if (image_decode_rgb(data, size, &rgb, &w, &h) == 0) {
			struct mark_label l = {"r", "lab", "0123456789abcdef", 0};
			if (w <= 0 || h <= 0 || image_fit_rgb(rgb, &w, &h, 64) != 0 || w > 64 || h > 64 ||
			    mark_image_rgb(key, &l, rgb, w, h) != 0)
				abort();
		}
		free(rgb);
	}
	return 0;
}
