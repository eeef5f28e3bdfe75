/* fuzz_changes: report_changes_parse on arbitrary bytes (a unified diff from `git diff
 * -U0`); a success must give ranges a report can be restricted to and summarised. */
#include <stdint.h>
#include <string.h>

#include "report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct report_changes *c = NULL;
	if (report_changes_parse((const char *)data, size, &c) == 0) {
		struct report *r = report_new("p", "1", NULL);
		struct buf out;
		static const char cp[] = "fuzz\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n\n\xe2\x80\x94 x "
					 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
		buf_init(&out, 0);
		report_restrict(r, c);
		/* an empty log's checkpoint: the report builds, with its change summary */
		if (report_checkpoint(r, cp, sizeof(cp) - 1) != 0 || report_json(r, &out) != 0 ||
		    !strstr(out.p, "\"changed\":{\"files\":"))
			BUG("a parsed change set gives no report");
		buf_release(&out);
		report_free(r);
		report_changes_free(c);
	}
	return 0;
}
