/* fuzz_manifest: manifest_decode on arbitrary bytes; a decoded manifest must re-encode
 * to the same bytes and give tree ids or a clean error. */
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct manifest *m = NULL;
	struct buf b;
	unsigned char a[20], c[32];
	if (manifest_decode(data, size, &m) != 0)
		return 0;
	buf_init(&b, 0);
	if (manifest_encode(m, &b) != 0 || b.len != size || memcmp(b.p, data, size) != 0)
		BUG("manifest does not re-encode to its own bytes");
	(void)!manifest_tree_ids(m, a, c);
	buf_release(&b);
	manifest_free(m);
	return 0;
}
