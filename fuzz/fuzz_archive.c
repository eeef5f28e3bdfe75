/* fuzz_archive: ingest_archive_mem on arbitrary bytes (tar, compressed tar, zip), with small
 * limits so that bombs end quickly; a success must give a sorted manifest with tree ids. */
#include <stdint.h>

#include "ingest.h"
#include "manifest.h"

static int sink(void *ctx, const struct manifest_entry *e, const void *data, size_t len)
{
	(void)ctx;
	if (e->size != len)
		BUG("entry size %llu differs from %zu delivered bytes", (unsigned long long)e->size,
		    len);
	(void)data;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ingest_opts o;
	struct manifest *m = NULL;
	unsigned char a[20], c[32];
	ingest_opts_default(&o);
	o.max_file = 1 << 20;
	o.max_total = 4 << 20;
	o.max_files = 1000;
	o.ratio_after = 1 << 20;
	if (ingest_archive_mem(data, size, &o, sink, NULL, &m) == 0) {
		if (manifest_tree_ids(m, a, c) != 0)
			BUG("ingest returned a manifest without tree ids");
		manifest_free(m);
	}
	return 0;
}
