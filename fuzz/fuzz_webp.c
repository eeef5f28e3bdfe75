/*
 * fuzz_webp: untrusted bytes through image.h's WebP decoder (libwebp's demuxer, then the
 * first frame), the way the file view takes them (RGB, fitted, marked) and trace does
 * (grey). The RIFF header is made whole ("RIFF", the size of what follows, "WEBP") so that
 * every input reaches the chunks instead of the sniffer's or the container's refusal.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *p;
	if (size < 12 || size > IMAGE_FILE_MAX)
		return 0;
	p = malloc(size);
	memcpy(p, data, size);
	memcpy(p, "RIFF", 4);
	for (int i = 0; i < 4; i++)
		p[4 + i] = (unsigned char)((size - 8) >> (8 * i));
	memcpy(p + 8, "WEBP", 4);
	image_check(p, size);
	free(p);
	return 0;
}
