/*
 * fuzz_decision: a decision file crosses from the vendor's machine to the facility, where
 * anyone with the folder (the operator) can write one. decision_open must refuse every
 * malformed, unsigned or non-canonical file without crashing, and a parsed decision must
 * come back to the same text (decision_text).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "decision.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct note_verifier *v;
	struct note_sig *sigs;
	struct decision d;
	struct str text;
	size_t n;
	if (!v) {
		static const char vk[] = "fuzzvendor+9ee4e616+AQ/SWy3lvaMO66zXAzfI+DyD+01zAwpugQO4oebqrSLi";
		if (sodium_init() < 0 || note_verifier_parse(vk, strlen(vk), &v))
			abort();
	}
	if (decision_open((const char *)data, size, v, &d) == 0) {
		/* only the corpus' own signed files get here */
	}
	/* the unsigned text alone: parse, and what parses prints back to the same bytes */
	sigs = calloc(NOTE_MAX_SIGS, sizeof(*sigs));
	if (sigs && note_split((const char *)data, size, &text, sigs, &n) == 0 &&
	    decision_parse(text.p, text.len, &d) == 0) {
		struct buf again;
		buf_init(&again, 0);
		if (decision_text(&d, &again) || again.len != text.len || memcmp(again.p, text.p, text.len))
			abort();
		buf_release(&again);
	}
	free(sigs);
	return 0;
}
