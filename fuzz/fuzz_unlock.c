/*
 * fuzz_unlock: the vendor's side of an unlock parses a request file that crossed from the
 * facility (hostile: the operator writes it). keyring_respond must refuse every malformed
 * or foreign request without crashing, and answer only a request whose seal is the
 * vendor's own. The keys are fixed test keys, so that the corpus' request verifies.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "keyring.h"
#include "note.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct note_signer *s;
	static struct note_wrapper *w;
	struct keyring_unlock_info info;
	struct buf resp;
	if (!s) {
		static const char sk[] = "PRIVATE+KEY+fuzzvendor+9ee4e616+AU/SkMAP4CcdnKBdP3T5R0B9VV141pm1pK5M9maTsFiQ";
		static const char wk[] = "PRIVATE+WRAP+fuzzvendor+41713911+QPyF89JmSGW690JcANGDxCiWyOCRMW+pAPzuASxSYXNi";
		if (sodium_init() < 0 || note_signer_parse(sk, strlen(sk), &s) || note_wrapper_parse(wk, strlen(wk), &w))
			abort();
	}
	int64_t now = 1000000000;
	buf_init(&resp, KEYRING_FILE_MAX);
	/* "now" just before the request's own window ends, so that a stored request answers */
	{
		const uint8_t *u = size > 7 ? memmem(data, size, "\nuntil ", 7) : NULL;
		if (u) {
			int64_t t = 0;
			for (u += 7; u < data + size && *u >= '0' && *u <= '9' && t < 100000000000; u++)
				t = t * 10 + (*u - '0');
			now = t - 60;
		}
	}
	if (keyring_respond((const char *)data, size, s, w, now, &resp, &info) == 0 &&
	    (resp.len == 0 || !info.release[0]))
		abort();
	if (getenv("FUZZ_UNLOCK_SHOW"))
		fprintf(stderr, "%s\n", resp.len ? "answered" : err_msg());
	buf_release(&resp);
	return 0;
}
