/* fuzz_plan: the planner's promise on arbitrary patterns and texts. The first byte sets
 * caseless, literal and word; the pattern runs to the first NUL; the rest is the text.
 * Wherever PCRE2 matches a line of the text alone, the query's plan and prefilter must
 * accept the text, and the search must count the oracle's lines (query_oracle.h); any
 * difference aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../tests/unit/query_oracle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct query_opts o = {0};
	const uint8_t *z;
	char *p;
	size_t plen;
	if (size < 2)
		return 0;
	o.caseless = data[0] & 1;
	o.literal = (data[0] >> 1) & 1;
	o.word = (data[0] >> 2) & 1;
	z = memchr(data + 1, 0, size - 1);
	plen = z ? (size_t)(z - data - 1) : size - 1;
	if (!plen || plen > QUERY_MAX)
		return 0;
	p = malloc(plen + 1);
	memcpy(p, data + 1, plen);
	p[plen] = 0;
	if (query_check(p, &o, z ? z + 1 : data + size, z ? size - (size_t)(z + 1 - data) : 0))
		abort();
	free(p);
	return 0;
}
