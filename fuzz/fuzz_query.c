/* fuzz_query: query_parse on arbitrary text (the first byte sets caseless, literal and
 * word); a parsed query is planned and run over a small index without contents. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gitobj.h"
#include "index.h"
#include "query.h"

static struct manifest *m;
static struct index *ix;

static void setup(void)
{
	static const char *const text = "static int foo_bar(int x)\n{\n\treturn FOO + x;\n}\n";
	struct index_builder *b;
	struct manifest_entry e = {0};
	struct buf enc;
	size_t len = strlen(text);
	if (ix)
		return;
	m = manifest_new();
	gitobj_blob_ids(text, len, e.sha1, e.sha256);
	e.mode = 0100644;
	buf_init(&enc, 0);
	if (index_builder_new(&b) || manifest_add(m, "a.c", 3, 0100644, len, e.sha1, e.sha256) ||
	    index_builder_add(b, &e, text, len) || manifest_sort(m) || index_builder_finish(b, m, &enc) ||
	    index_decode(enc.p, enc.len, m, &ix))
		abort();
	index_builder_free(b);
	buf_release(&enc);
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
		if (index_search(ix, q, &so, &r) == 0)
			search_result_free(r);
		query_free(q);
	} else if (!*err_msg()) {
		abort(); /* every failure explains itself */
	}
	free(s);
	return 0;
}
