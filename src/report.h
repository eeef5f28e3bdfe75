/*
 * report: the exposure report of a release, computed from log entries alone, so that the
 * vendor recomputes it offline from an export of the log and gets the same bytes.
 *
 * A struct report is fed the log's entries in order (report_entry) and then the checkpoint
 * they are covered by; it keeps, per lab and reviewer (a reviewer's lab is the org of the
 * "user_add" entry that made the login): every file view (path, blob, line range), the
 * lines each view and print showed and how often, searches (query, results, lines
 * shown), diffs (lines shown), prints with their Bates ranges, notes kept and refused,
 * findings filed and refused, scraping alerts and holds (of the release's grants, through
 * the "grant_active" entries). The release's tree ids and file count come from its
 * "seal" entry. Nothing else is read: not the catalogue, not the vault. A person is a row
 * of the report only for what they did with the release (views, searches, diffs, prints,
 * notes, findings and their states), never for a seal, a nomination or a grant decision.
 *
 * What the log does not say is not in the report: which files a search's result lines
 * were in, or the old side of a diff line by line (only how many lines were shown), and
 * the tree's line count (the share of the tree is given by files).
 *
 * report_json is canonical JSON (sorted keys, compact) of docs/formats.md "Exposure
 * report"; report_html a page with an SVG treemap of the files shown and per-file heat
 * strips, no external assets.
 */
#ifndef SEALROOM_REPORT_H
#define SEALROOM_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "buf.h"
#include "err.h"
#include "facility.h"
#include "logdb.h"
#include "note.h"

struct report;

/* A report on product@version, of one lab (NULL: every lab). */
struct report *report_new(const char *product, const char *version, const char *lab);
void report_free(struct report *r);
/* Feed entry index (its canonical bytes); entries must come in order from 0. */
int report_entry(struct report *r, uint64_t index, const char *p, size_t len) WUR;
/* The checkpoint (a signed note) the entries fed are exactly the tree of. */
int report_checkpoint(struct report *r, const char *note, size_t len) WUR;
/* The report as canonical JSON (no newline), appended to out. */
int report_json(struct report *r, struct buf *out) WUR;
/* The report as a self-contained HTML page, appended to out. */
int report_html(struct report *r, struct buf *out) WUR;
/* The same page's body alone, in a <div class="report"> (no head, no inline style), for a
 * page of the room, whose policy allows no inline style. */
int report_html_body(struct report *r, struct buf *out) WUR;

/*
 * Feed r from the facility's log: every entry of the latest checkpoint (one is signed
 * first when the log grew). ERR_NOTFOUND when the log has no such release.
 */
int report_from_facility(struct report *r, struct facility *f) WUR;
/*
 * Feed r from the open log l at its latest stored checkpoint, signing none (the room's
 * pages: a GET never signs). ERR_NOTFOUND when no checkpoint has been signed yet.
 */
int report_from_log(struct report *r, struct logdb *l) WUR;
/*
 * Feed r from an exported tlog-tiles folder, after verifying it with v (logdb.h's
 * logdb_verify_tiles: checkpoint signature, every entry, every tile).
 */
int report_from_tiles(struct report *r, const char *dir, const struct note_verifier *v) WUR;

/*
 * Coverage restricted to changed lines (delta review): a change set names, per path, the
 * lines of the release that changed since an earlier one (the new side of a diff). With
 * report_restrict, only shown lines inside it count (files, lines, segments, shares), and
 * the report carries "changed": {"files", "lines", "sha256"} (the digest of the change
 * set's canonical JSON, so two reports restricted to the same set say so).
 *
 * report_changes_parse reads a unified diff as `git diff -U0 -M OLD NEW` writes it
 * (only "+++ b/PATH" and "@@ -a,b +c,d @@" lines count; "+++ /dev/null" is a deletion, a
 * quoted path is refused); the room builds the same set from its own diff (room.h).
 * Limits: REPORT_CHANGES_MAX ranges, paths of at most MANIFEST_MAX_PATH bytes, lines of
 * at most 2^31. ERR_PARSE with the line number of the first bad line.
 */
#define REPORT_CHANGES_MAX 1000000
struct report_changes;
struct report_changes *report_changes_new(void);
void report_changes_free(struct report_changes *c);
/* Lines from..to (1-based, from <= to) of path changed. */
int report_changes_add(struct report_changes *c, const char *path, uint64_t from, uint64_t to) WUR;
int report_changes_parse(const char *p, size_t len, struct report_changes **out) WUR;
/* Restrict r to c (borrowed until report_free). */
void report_restrict(struct report *r, const struct report_changes *c);

/* Coverage figures for a certificate: files shown of the tree's, distinct lines shown,
 * reviewers (a JSON object, new reference), after report_checkpoint. */
json_t *report_scope(struct report *r);

#endif
