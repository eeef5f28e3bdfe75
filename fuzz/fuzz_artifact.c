/* fuzz_artifact: shipped artifacts and kept outputs are parsed as ELF or ar files: every
 * part must lie inside the input, and comparing two inputs must never read past either. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "artifact.h"
#include "buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct artifact a;
	struct buf why;
	if (artifact_parse(data, size, &a) == 0)
		for (size_t i = 0; i < a.n_parts; i++)
			if (a.parts[i].off > size || a.parts[i].size > size - a.parts[i].off)
				abort();
	artifact_release(&a);
	buf_init(&why, 1 << 20);
	/* the input against its own first half */
	if (artifact_diff(data, size, data, size / 2, &why))
		abort();
	buf_release(&why);
	return 0;
}
