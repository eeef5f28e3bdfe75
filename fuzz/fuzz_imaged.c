/*
 * fuzz_imaged: the image worker's messages are hostile. The first input byte picks the
 * direction and the next 2 the side asked for (answers): an answer must be refused with a
 * message, or give pixels whose sizes lie within image.h's limits, the shown size exactly
 * what image_fit_size makes of the decoded one, and exactly that many pixel bytes; a
 * refusal must carry one of the decoders' messages. A request must be refused, or encode
 * again to the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"
#include "imaged.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf again;
	if (size < 3)
		return 0;
	buf_init(&again, (size_t)80 << 20);
	if (data[0] & 1) {
		int side = 1 + (int)((data[1] | data[2] << 8) % IMAGED_SIDE_MAX), w0, h0, w, h, fw, fh, r;
		unsigned char *px = NULL;
		r = imaged_answer_decode(data + 3, size - 3, side, &px, &w0, &h0, &w, &h);
		if (r == 0) {
			if (!px || w0 < 1 || h0 < 1 || w0 > IMAGE_SIDE_MAX || h0 > IMAGE_SIDE_MAX ||
			    (uint64_t)w0 * h0 > IMAGE_PIXELS_MAX || image_fit_size(w0, h0, side, &fw, &fh) < 0 || fw != w ||
			    fh != h || size - 3 != 21 + (size_t)w * h * 3)
				abort();
		} else if ((r == ERR_PARSE && image_reason_known(err_msg()) != 1) || (r != ERR_PARSE && r != ERR_TOOBIG && r != ERR_CORRUPT) ||
			   px) {
			abort();
		}
		free(px);
	} else {
		const unsigned char *p;
		size_t n;
		int side;
		if (imaged_request_decode(data + 1, size - 1, &p, &n, &side) == 0) {
			if (imaged_request_encode(p, n, side, &again) || again.len != size - 1 || memcmp(again.p, data + 1, again.len))
				abort();
		} else if (!*err_msg()) {
			abort();
		}
	}
	buf_release(&again);
	return 0;
}
