/* fuzz_dsse: DSSE envelopes and in-toto statements are parsed from untrusted bytes
 * (certificates and provenance handed in by labs and vendors). Nothing may crash or leak,
 * and what parses must encode and parse back to the same envelope. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "dsse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned char pk[32] = {1};
	struct dsse *e = NULL, *e2 = NULL;
	struct buf b;
	json_t *st = NULL;
	size_t n, n2;
	if (sodium_init() < 0)
		abort();
	buf_init(&b, 0);
	if (dsse_parse((const char *)data, size, &e) == 0) {
		const unsigned char *p = dsse_payload(e, &n), *p2;
		if (dsse_verify(e, pk) == 0)
			abort(); /* nobody holds that key's secret */
		if (dsse_encode(e, &b) || dsse_parse(b.p, b.len, &e2))
			abort();
		p2 = dsse_payload(e2, &n2);
		if (n != n2 || memcmp(p, p2, n) || dsse_n_sigs(e) != dsse_n_sigs(e2) ||
		    strcmp(dsse_payload_type(e), dsse_payload_type(e2)))
			abort();
		if (intoto_parse(p, n, &st) == 0)
			json_decref(st);
		dsse_free(e2);
		dsse_free(e);
	}
	if (intoto_parse(data, size, &st) == 0) {
		(void)intoto_has_subject(st, "gitTree", "00");
		json_decref(st);
	}
	buf_release(&b);
	return 0;
}
