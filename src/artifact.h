/*
 * artifact: the parts of a built file, so that two builds can be compared part by part.
 *
 * An ELF file (32 or 64 bit, either byte order) splits into its header, its program
 * headers, each section by name (from the section header string table) and its section
 * headers; an ar archive (GNU or BSD-style names) into each member's header and contents;
 * anything else is one part, "the whole file". Input is untrusted: every offset, size and
 * name is checked against the file's length, names are capped at ARTIFACT_NAME_MAX bytes
 * (non-printable bytes shown as '?'), and at most ARTIFACT_MAX_PARTS parts are returned.
 */
#ifndef SEALROOM_ARTIFACT_H
#define SEALROOM_ARTIFACT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

#define ARTIFACT_NAME_MAX 128
#define ARTIFACT_MAX_PARTS 65536

enum artifact_kind { ARTIFACT_FILE, ARTIFACT_ELF, ARTIFACT_AR };

struct artifact_part {
	char name[ARTIFACT_NAME_MAX + 16];
	uint64_t off, size;
};

struct artifact {
	enum artifact_kind kind;
	struct artifact_part *parts;
	size_t n_parts;
};

/*
 * Split (p, len). A file that starts like an ELF or ar file but is malformed is
 * ERR_PARSE with the reason (and a->kind set); a->parts is freed by artifact_release.
 */
int artifact_parse(const void *p, size_t len, struct artifact *a) WUR;
void artifact_release(struct artifact *a);
const char *artifact_kind_name(enum artifact_kind k);

/*
 * Compare old (an attested output) with new (a shipped artifact), appending to why a
 * short account of where they differ: "ELF sections differ: .text, .rodata; only in
 * the attested output: .comment" and the like. Both are parsed as above; a malformed one
 * is compared as a whole file.
 */
int artifact_diff(const void *old, size_t old_len, const void *new_, size_t new_len,
		  struct buf *why) WUR;

#endif
