/*
 * fuzz_highlightd: the highlight worker's messages are hostile in both directions. The
 * first input byte picks the direction and the next 4 the file's length (answers): an
 * answer must be refused with a message, or give spans that lie in the file, sorted, apart,
 * not empty, each of a known class, and encode again to the same bytes; a request must be
 * refused, or name a language, a budget and bytes that encode again to the same message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "highlightd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf again;
	if (size < 5)
		return 0;
	buf_init(&again, (size_t)64 << 20);
	if (data[0] & 1) {
		size_t src_len = (size_t)data[1] | (size_t)data[2] << 8 | (size_t)data[3] << 16 | (size_t)data[4] << 24;
		struct hl_span *sp = NULL;
		size_t n = 0;
		if (highlightd_answer_decode(data + 5, size - 5, src_len, &sp, &n) == 0) {
			for (size_t i = 0; i < n; i++)
				if (sp[i].start >= sp[i].end || sp[i].end > src_len || (i && sp[i].start < sp[i - 1].end) ||
				    !sp[i].cls || sp[i].cls >= hl_n_classes())
					abort();
			if (highlightd_answer_encode(sp, n, &again) || again.len != size - 5 ||
			    memcmp(again.p, data + 5, again.len))
				abort();
		} else if (!*err_msg()) {
			abort();
		}
		free(sp);
	} else {
		enum hl_lang lang;
		const char *src;
		size_t n;
		uint64_t budget;
		if (highlightd_request_decode(data + 1, size - 1, &lang, &src, &n, &budget) == 0) {
			if (highlightd_request_encode(lang, src, n, budget, &again) || again.len != size - 1 ||
			    memcmp(again.p, data + 1, again.len))
				abort();
		} else if (!*err_msg()) {
			abort();
		}
	}
	buf_release(&again);
	return 0;
}
