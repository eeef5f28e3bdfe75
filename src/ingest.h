/*
 * ingest: read a source tree (a directory, a tar/zip archive, or a git repository at a
 * revision), refuse it whole when it is hostile, and hand every file to a callback.
 *
 * Each file (regular or symlink; for a symlink the data is the link target) reaches the
 * callback with its manifest entry (path, mode, size, both blob ids) and its bytes, which
 * are only valid during the call. The callback may run on several worker threads at once
 * and must be thread-safe. A hard link in an archive that repeats an earlier regular entry
 * is listed in the manifest with that entry's ids but not passed to the callback again.
 *
 * On success *out is a sorted manifest with unique paths and no file/directory conflict;
 * the caller computes and checks the tree ids. On error nothing is returned and the
 * message names the path and why: ERR_HOSTILE (escapes, links through symlinks, devices,
 * duplicates, embedded repositories, submodules), ERR_TOOBIG (limits, bombs), ERR_CORRUPT
 * (broken git objects), ERR_IO (unreadable files), ERR_PARSE (not an archive).
 */
#ifndef SEALROOM_INGEST_H
#define SEALROOM_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "manifest.h"

struct ingest_opts {
	const char *rev;    /* git revision; NULL = not a git source unless SOURCE is a bare
			       repository (then HEAD) */
	uint64_t max_file;  /* default 256 MiB: a larger file refuses the whole source */
	uint64_t max_total; /* default 8 GiB of content */
	uint64_t max_files; /* default 2,000,000 */
	unsigned max_ratio; /* archives: expanded/compressed limit, default 200 */
	uint64_t ratio_after; /* the ratio is checked once this much is expanded (64 MiB) */
	int threads;        /* workers; 0 = number of CPUs */
	/* may be NULL; called now and then with what is done so far and, when the source
	 * was walked first (folders, git), the totals (else 0) */
	void (*progress)(void *ctx, uint64_t files, uint64_t bytes, uint64_t total_files,
			 uint64_t total_bytes);
	void *progress_ctx;
};

void ingest_opts_default(struct ingest_opts *o);

/* Return 0 to go on; non-zero (a negative enum err, message set) stops the ingest with it. */
typedef int (*ingest_fn)(void *ctx, const struct manifest_entry *e, const void *data,
			 size_t len);

/* Ingest SOURCE, a directory, an archive file, or a git repository (with o->rev). */
int ingest_source(const char *source, const struct ingest_opts *o, ingest_fn fn, void *ctx,
		  struct manifest **out) WUR;

#endif
