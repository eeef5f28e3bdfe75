/* fuzz_query: query_parse on arbitrary text (the first byte sets caseless, literal and
 * word); a parsed query is planned and run over an index of one small file. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../tests/unit/text_index.h"
#include "query.h"

static struct text_index ti;

static void setup(void)
{
	static const char text[] = "static int foo_bar(int x)\n{\n\treturn FOO + x;\n}\n";
	if (ti.ix)
		return;
	text_index_make(&ti, &(struct text_file){"a.c", text, strlen(text), NULL, 0}, 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct query_opts o = {0};
	struct query *q = NULL;
	struct search_result *r;
	char *s;
	setup();
	if (!size || size > QUERY_MAX + 2)
		return 0;
	o.caseless = data[0] & 1;
	o.literal = (data[0] >> 1) & 1;
	o.word = (data[0] >> 2) & 1;
	s = malloc(size);
	memcpy(s, data + 1, size - 1);
	s[size - 1] = 0;
	if (query_parse(s, &o, &q) == 0) {
		struct search_opts so;
		search_opts_default(&so);
		so.budget_ms = 50;
		(void)query_plan_kind(q);
		if (index_search(ti.ix, q, &so, &r) == 0)
			search_result_free(r);
		query_free(q);
	} else if (!*err_msg()) {
		abort(); /* every failure explains itself */
	}
	free(s);
	return 0;
}
