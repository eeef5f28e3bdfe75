/*
 * match: is a shipped artifact bit-identical to an output of the release's attested
 * build? Each verdict is logged (durably, before it is returned) and kept in the matches
 * table for the room.
 *
 * The artifact is compared with the latest reproducible build of the release
 * (build_latest): identical when its SHA-256 is one of the attested outputs' digests.
 * Otherwise it is compared with the output of the same file name (or the only output),
 * read back from DIR/builds/ and checked against its recorded digest, and the verdict
 * says where they differ (artifact_diff: ELF sections, ar members, or the first byte).
 * When diffoscope is installed, its text report is kept too (DIR/builds/match-<id>.txt).
 */
#ifndef SEALROOM_MATCH_H
#define SEALROOM_MATCH_H

#include <stdint.h>

#include "facility.h"

#define MATCH_ARTIFACT_MAX ((size_t)1 << 30)

struct match_verdict {
	int64_t id;
	char product[129], version[129];
	char *artifact;      /* the artifact's file name */
	char sha256[65];
	int identical;
	char *output;        /* the attested output it equals or was compared with, or NULL */
	char *detail;        /* where it differs, or "" */
	char *report;        /* diffoscope's report file, or NULL */
	char invocation[33]; /* the build compared with */
	char *actor;
	int64_t created_at;
	uint64_t log_index;
};
void match_verdict_release(struct match_verdict *v);

/*
 * Match the file at path against product@version's attested build, log and keep the
 * verdict. ERR_NOTFOUND when there is no attested build or no such file; ERR_TOOBIG past
 * MATCH_ARTIFACT_MAX; a difference is a verdict, not an error.
 */
int match_artifact(struct facility *f, const char *product, const char *version, const char *path,
		   const char *actor, struct match_verdict *out) WUR;

/* Visit kept verdicts of product@version (NULL: all), newest first. */
int match_each(struct facility *f, const char *product, const char *version,
	       int (*fn)(void *ctx, const struct match_verdict *v), void *ctx) WUR;

#endif
