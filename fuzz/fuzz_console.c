/* fuzz_console: the console's messages cross the keyring socket (console.h): the room parses
 * a request, the command the room's answer. Nothing may crash or leak; a parsed request keeps
 * its invariants, and a parsed build result encodes and parses back to itself. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "console.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	if (data[0] & 1) {
		struct console_request q;
		if (console_request_parse((const char *)data + 1, size - 1, &q) == 0) {
			if (q.op < CONSOLE_BUILD || q.op > CONSOLE_STATE || strncmp(q.actor, "local:", 6) ||
			    (q.op != CONSOLE_STATE && (!q.product[0] || !q.version[0])) ||
			    (q.op != CONSOLE_BUILD && !q.as) || (q.op == CONSOLE_STATE && (q.id <= 0 || !q.state)))
				abort();
		} else if (q.json) {
			abort();
		}
		console_request_release(&q);
	} else {
		struct build_result *r = NULL, *back = NULL;
		struct buf j;
		buf_init(&j, (size_t)1 << 24);
		if (console_build_parse((const char *)data + 1, size - 1, &r) == 0) {
			if (!r || console_build_json(r, &j) || console_build_parse(j.p, j.len, &back) || !back ||
			    back->id != r->id || back->n_outputs != r->n_outputs || back->runs != r->runs ||
			    back->varies != r->varies || strcmp(back->env_digest, r->env_digest) ||
			    strcmp(back->tree_sha256, r->tree_sha256) || !back->differs != !r->differs ||
			    !back->envelope != !r->envelope)
				abort();
			for (size_t i = 0; i < r->n_outputs; i++)
				if (strcmp(back->outputs[i].path, r->outputs[i].path) ||
				    memcmp(back->outputs[i].sha256, r->outputs[i].sha256, 32) ||
				    back->outputs[i].size != r->outputs[i].size)
					abort();
		} else if (r) {
			abort();
		}
		build_result_free(r);
		build_result_free(back);
		buf_release(&j);
	}
	return 0;
}
