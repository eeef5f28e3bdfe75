/* fuzz_diff: diff_lines on any two byte strings (the input split at its first NUL) must
 * finish within its cost cap and give hunks whose lines replay the old text into the new. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"

/* Rebuild the new text from old + hunks and compare with b. */
static void replay(const struct diff *d, const char *a, size_t al, const char *b, size_t bl)
{
	size_t ai = 0, bi = 0; /* byte cursors */
	uint32_t aline = 1;
	for (size_t h = 0; h < diff_n_hunks(d); h++) {
		const struct diff_hunk *k = diff_hunk(d, h);
		uint32_t start = k->old_count ? k->old_start : k->old_start + 1;
		/* old lines between hunks are unchanged in new */
		while (aline < start) {
			const char *nl = memchr(a + ai, '\n', al - ai);
			size_t e = nl ? (size_t)(nl - a) + 1 : al;
			if (e - ai > bl - bi || memcmp(a + ai, b + bi, e - ai))
				abort();
			bi += e - ai;
			ai = e;
			aline++;
		}
		for (size_t i = k->first; i < k->first + k->n_lines; i++) {
			const struct diff_line *l = diff_line(d, i);
			if (l->kind != '+') {
				if (l->old_no != aline)
					abort();
				if (l->off != ai || (size_t)l->off + l->len > al)
					abort();
				ai += l->len + (ai + l->len < al);
				aline++;
				if (l->kind == ' ')
					bi += l->len + (bi + l->len < bl);
			} else {
				if ((size_t)l->off + l->len > bl || l->off != bi)
					abort();
				bi += l->len + (bi + l->len < bl);
			}
		}
	}
	if (al - ai != bl - bi || memcmp(a + ai, b + bi, al - ai))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *z = memchr(p, 0, size);
	size_t al = z ? (size_t)(z - p) : size / 2;
	const char *b = p + al + (z ? 1 : 0);
	size_t bl = size - (size_t)(b - p);
	struct diff *d;
	for (unsigned ctx = 0; ctx < 4; ctx += 3) {
		if (diff_lines(p, al, b, bl, ctx, 100000, &d) == 0) {
			replay(d, p, al, b, bl);
			diff_free(d);
		}
	}
	return 0;
}
