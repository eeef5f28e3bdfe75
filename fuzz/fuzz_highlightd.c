/*
 * fuzz_highlightd: the highlight worker's messages are hostile in both directions. The
 * first input byte picks the direction and the next 4 the file's length (answers; the file
 * is a fixed mix of characters of 1 to 4 bytes and bytes that are none): an answer must be
 * refused with a message, or give spans that lie in the file, sorted, apart, not empty,
 * each of a known class, none cutting a character, and encode again to the same bytes; a
 * request must be refused, or name a language, a budget and bytes that encode again to the
 * same message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "highlightd.h"

/* The file: this run of 14 bytes over and over: a, é, €, 😀, a stray 0xff and 0x80, and
 * the first two bytes of a character of three. */
static const char seq[] = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xff\x80\xe2\x82";

/* Is offset x inside a character of the file of len bytes (é, € or 😀, when whole)? */
static int cuts(size_t len, size_t x)
{
	size_t k = x % (sizeof(seq) - 1), base = x - k;
	if (x >= len)
		return 0;
	return (k == 2 && base + 3 <= len) || ((k == 4 || k == 5) && base + 6 <= len) ||
	       (k >= 7 && k <= 9 && base + 10 <= len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char *src; /* the file: seq over and over */
	struct buf again;
	if (size < 5)
		return 0;
	if (!src) {
		src = malloc(HL_MAX_BYTES);
		for (size_t i = 0; i < HL_MAX_BYTES; i++)
			src[i] = seq[i % (sizeof(seq) - 1)];
	}
	buf_init(&again, (size_t)64 << 20);
	if (data[0] & 1) {
		size_t src_len = ((size_t)data[1] | (size_t)data[2] << 8 | (size_t)data[3] << 16 | (size_t)data[4] << 24) %
				 (HL_MAX_BYTES + 1);
		struct hl_span *sp = NULL;
		size_t n = 0;
		if (highlightd_answer_decode(data + 5, size - 5, src, src_len, &sp, &n) == 0) {
			for (size_t i = 0; i < n; i++)
				if (sp[i].start >= sp[i].end || sp[i].end > src_len || (i && sp[i].start < sp[i - 1].end) ||
				    !sp[i].cls || sp[i].cls >= hl_n_classes() || cuts(src_len, sp[i].start) || cuts(src_len, sp[i].end))
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
		const char *bytes;
		size_t n;
		uint64_t budget;
		if (highlightd_request_decode(data + 1, size - 1, &lang, &bytes, &n, &budget) == 0) {
			if (highlightd_request_encode(lang, bytes, n, budget, &again) || again.len != size - 1 ||
			    memcmp(again.p, data + 1, again.len))
				abort();
		} else if (!*err_msg()) {
			abort();
		}
	}
	buf_release(&again);
	return 0;
}
