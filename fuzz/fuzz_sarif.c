/* fuzz_sarif: SARIF logs are read from untrusted files (an analyzer's output handed in
 * for import). Nothing may crash or leak, and every path read must be a relative path
 * without '.' or '..' segments. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sarif.h"

static int check(void *ctx, const struct sarif_result *r)
{
	const char *p = r->n.path;
	if (r->refused)
		return 0;
	if (!p || !*p || *p == '/' || strstr(p, "//") || !strncmp(p, "../", 3) || strstr(p, "/../") ||
	    !strcmp(p, "..") || !r->n.line_from || r->n.line_to < r->n.line_from || !r->n.title)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (sarif_read((const char *)data, size, check, NULL) > 0)
		abort();
	return 0;
}
