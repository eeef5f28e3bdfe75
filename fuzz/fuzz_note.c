/* fuzz_note: signed notes and key lines are parsed from untrusted bytes (seals in the
 * database, checkpoints from witnesses, keys from files). Nothing may crash or leak. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "note.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct note_verifier *v;
	struct note_signer *s = NULL;
	struct note_verifier *pv = NULL;
	struct note_sig sigs[NOTE_MAX_SIGS];
	struct str text;
	size_t n;
	if (!v) {
		static const char vk[] = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
		if (sodium_init() < 0 || note_verifier_parse(vk, strlen(vk), &v))
			abort();
	}
	if (note_split((const char *)data, size, &text, sigs, &n) == 0 && text.len > size)
		abort();
	if (note_open((const char *)data, size, v, &text) == 0 && text.len > size)
		abort();
	if (note_verifier_parse((const char *)data, size, &pv) == 0)
		note_verifier_free(pv);
	if (note_signer_parse((const char *)data, size, &s) == 0)
		note_signer_free(s);
	{
		struct note_wrapper *w = NULL;
		unsigned char pk[32];
		if (note_wrapper_parse((const char *)data, size, &w) == 0)
			note_wrapper_free(w);
		if (note_wrap_public_parse((const char *)data, size, pk, NULL)) {
			/* refused: fine */
		}
	}
	return 0;
}
