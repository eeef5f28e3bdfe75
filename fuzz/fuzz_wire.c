/* fuzz_wire: the messages between the front and the room, and between the front and the
 * TLS key's signer (wire.h), hostile both ways: decode each as every kind of message;
 * whatever decodes must encode again to the same bytes and keep every limit. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wire_req wr;
	struct http_resp rs;
	struct buf again;
	char ctype[WIRE_CTYPE_MAX + 1];
	buf_init(&again, WIRE_RESP_MAX);
	if (wire_req_decode(data, size, &wr) == 0) {
		if (strlen(wr.rq.path) > HTTP_PATH_MAX || wr.rq.body_len > HTTP_BODY_MAX ||
		    (strcmp(wr.rq.method, "GET") && strcmp(wr.rq.method, "HEAD") && strcmp(wr.rq.method, "POST")))
			abort();
		if (wire_req_encode(&wr.rq, &again) || again.len != size || memcmp(again.p, data, size))
			abort();
	}
	wire_req_release(&wr);
	buf_reset(&again);
	http_resp_init(&rs);
	if (wire_resp_decode(data, size, &rs, ctype) == 0) {
		if (rs.status < 100 || rs.status > 599 || rs.n_cookies > HTTP_COOKIES_MAX ||
		    strlen(rs.location) > HTTP_PATH_MAX || strlen(ctype) > WIRE_CTYPE_MAX)
			abort();
		for (const char *c = ctype; *c; c++)
			if ((unsigned char)*c < 0x20)
				abort();
		if (wire_resp_encode(&rs, &again) || again.len != size || memcmp(again.p, data, size))
			abort();
	}
	http_resp_release(&rs);
	{
		unsigned a, b;
		int ok;
		const unsigned char *p;
		size_t n;
		buf_reset(&again);
		if (wire_hello_decode(data, size, &a, &b) == 0 &&
		    (wire_hello_encode(a, b, &again) || again.len != size || memcmp(again.p, data, size)))
			abort();
		buf_reset(&again);
		if (wire_sign_decode(data, size, &a, &p, &n) == 0 &&
		    (n > WIRE_SIGN_DATA_MAX || wire_sign_encode(a, p, n, &again) || again.len != size ||
		     memcmp(again.p, data, size)))
			abort();
		buf_reset(&again);
		if (wire_signed_decode(data, size, &ok, &p, &n) == 0 &&
		    (n > WIRE_SIGNATURE_MAX || (!ok && n) || wire_signed_encode(ok, p, n, &again) ||
		     again.len != size || memcmp(again.p, data, size)))
			abort();
	}
	buf_release(&again);
	return 0;
}
