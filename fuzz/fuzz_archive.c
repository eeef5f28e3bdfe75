/* fuzz_archive: ingest_source on an archive file of arbitrary bytes (tar, compressed tar,
 * zip), with small limits so that bombs end quickly; a success must give a sorted manifest
 * with tree ids. The bytes are a memory file, read by its /proc/self/fd path as any file. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

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
	static int fd = -1;
	static char path[64];
	struct ingest_opts o;
	struct manifest *m = NULL;
	unsigned char a[20], c[32];
	if (fd < 0) {
		if ((fd = memfd_create("fuzz-archive", MFD_CLOEXEC)) < 0)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) || (size && pwrite(fd, data, size, 0) != (ssize_t)size))
		abort();
	ingest_opts_default(&o);
	o.max_file = 1 << 20;
	o.max_total = 4 << 20;
	o.max_files = 1000;
	o.ratio_after = 1 << 20;
	if (ingest_source(path, &o, sink, NULL, &m) == 0) {
		if (manifest_tree_ids(m, a, c) != 0)
			BUG("ingest returned a manifest without tree ids");
		manifest_free(m);
	}
	return 0;
}
