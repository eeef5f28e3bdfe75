/*
 * fuzz_font: untrusted sfnt bytes through cipherfont's parser and rewriter: the charset
 * read and, when it parses, a session font built from it and read back.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cipherfont.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned char seed[CIPHER_SEED_LEN] = {1, 2, 3};
	uint32_t *cps = NULL, *again = NULL;
	size_t n = 0, n2 = 0;
	struct cipher *c = NULL;
	struct buf out;
	buf_init(&out, CIPHER_FONT_MAX * 2);
	if (cipher_font_charset(data, size, &cps, &n) == 0 && cipher_new(seed, cps, n, &c) == 0 &&
	    cipher_font(c, data, size, &out) == 0) {
		/* the rewritten font parses, and maps no original character */
		if (cipher_font_charset(out.p, out.len, &again, &n2) != 0)
			abort();
		for (size_t i = 0; i < n2; i++)
			if (!cipher_is_pua(again[i]))
				abort();
	}
	cipher_free(c);
	free(cps);
	free(again);
	buf_release(&out);
	return 0;
}
