/*
 * fuzz_gif: untrusted bytes through image.h's GIF decoder, the way the file view takes
 * them (RGB, fitted, marked) and trace does (grey). The first six bytes are made "GIF89a"
 * so that every input reaches giflib instead of the sniffer's refusal.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *p;
	if (size < 6 || size > IMAGE_FILE_MAX)
		return 0;
	p = malloc(size);
	memcpy(p, data, size);
	memcpy(p, "GIF89a", 6);
	image_check(p, size);
	free(p);
	return 0;
}
