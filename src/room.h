/*
 * room: the opened releases of a running room, the one owner of plaintext-bearing state.
 *
 * An opened release holds the release's data key (from the keyring), its vault, its
 * manifest, its search index (with every file's decrypted text, and the symbol table) and,
 * made on first use, the shingles that notes are checked against. Nothing outside this
 * module reads a release's text: a file view, a diff and a print are handed to the
 * renderer (render.h) from here, notes are checked against what room_notes_code returns,
 * and searches run through room_search, in the release's search worker (searchd.h): a
 * reviewer's pattern is never compiled or run in the room. web.c sees names (the manifest) and opaque
 * pointers only.
 *
 * struct rooms is the cache: one struct room per release, opened on first use while the
 * keyring holds the release's key, shared by requests through references (room_get /
 * room_put) and dropped once the key is gone (rooms_sweep). The index loads in a thread of
 * its own; file views and the tree never wait for it (they are read from the vault, without
 * definition links, until it is there). Every function is safe to call from many threads.
 */
#ifndef SEALROOM_ROOM_H
#define SEALROOM_ROOM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"
#include "err.h"
#include "facility.h"
#include "keyring.h"
#include "manifest.h"
#include "findings.h"
#include "notes.h"
#include "print.h"
#include "query.h"
#include "render.h"

#define ROOMS_MAX 256
#define ROOM_INDEX_WAIT 10 /* seconds a request waits for a release's index to load */

struct rooms;
struct room;

/* The cache of opened releases over keyring k (borrowed). */
struct rooms *rooms_new(struct keyring *k);
/* The rooms of a command rather than of a serving room: a load that succeeds says nothing. */
void rooms_quiet(struct rooms *rs);
/* The keyring the rooms open releases with (borrowed). */
struct keyring *rooms_keyring(struct rooms *rs);
/* Wait for the index loads running, wipe and free every room. */
void rooms_free(struct rooms *rs);
/* Drop the rooms whose key the keyring no longer holds at now (in use: once released). */
void rooms_sweep(struct rooms *rs, int64_t now);
/*
 * Let go of product@version now (a halt, a shred, its last grant revoked): its key wiped
 * from the keyring, its room out of the cache, wiped and freed at once or, when requests
 * still use it, by the last of them (room_put). Later room_get calls fail as for a locked
 * release. 1 when a key or a room was held.
 */
int rooms_withdraw(struct rooms *rs, const char *product, const char *version);
/* Does the keyring hold product@version's key at now (is the release unlocked)? */
int rooms_unlocked(struct rooms *rs, const char *product, const char *version, int64_t now);

/*
 * The opened release product@version (a reference: room_put it), opening it on first use
 * with the keyring's key; with need_index, wait for its search index (ERR_BUSY after
 * ROOM_INDEX_WAIT seconds of loading). The key is asked for on every call, so a release
 * whose window ended is refused at once: ERR_NOTFOUND "release is locked" when no key is
 * held, the open's error otherwise.
 */
int room_get(struct rooms *rs, struct facility *f, const char *product, const char *version,
	     int64_t now, int need_index, struct room **out) WUR;
void room_put(struct rooms *rs, struct room *rm);

/* The release's file list (names, modes, ids: no code). */
const struct manifest *room_manifest(const struct room *rm);
/* Is the search index loaded (without waiting)? */
int room_index_ready(struct room *rm);
/* Entry i of the manifest whose path is exactly path; ERR_NOTFOUND. */
int room_find(const struct room *rm, const char *path, size_t *i) WUR;

/*
 * Run the query text (options qo) over the release's index (room_get with need_index) in
 * the release's search worker (searchd.h, started on first use if it is not running): the
 * result is checked against the room's own index and its lines point into it. The query's
 * errors (ERR_PARSE, ERR_USAGE, ERR_TOOBIG) as query_parse gives them; ERR_IO when the
 * worker failed.
 */
int room_search(struct room *rm, const char *text, const struct query_opts *qo, const struct search_opts *so,
		struct search_result **res) WUR;

/*
 * The definitions that symbol number n (the number a definition link carries: render.h's
 * symbol table) names: *name (the caller frees it) and every definition of exactly that
 * name, from the release's tree-sitter tags (xref.h) or, without them, the index's symbols,
 * in path order (*locs, malloc'd, *n_locs of them; their paths point into the manifest).
 * Waits for the index. ERR_NOTFOUND when n names nothing.
 */
struct xref_loc;
int room_definitions(struct room *rm, uint64_t n, char **name, struct xref_loc **locs, size_t *n_locs) WUR;

/*
 * The name at a place of file fi as the file view shows it: the k-th name (0-based) of
 * line `line` (render_name_at), copied into *name (free it). ERR_NOTFOUND when none.
 */
int room_name_at(struct room *rm, const struct render_ctx *c, size_t fi, uint64_t line, uint64_t k,
		 char **name) WUR;
/* The definitions locs (of room_definitions, n of them) of name previewed through
 * render_definitions_html. */
int room_render_definitions(struct room *rm, const struct render_ctx *c, const char *name,
			    const struct xref_loc *locs, size_t n, struct buf *out) WUR;

/*
 * The renderer's context c (f, log, hooks, who, product, version, cache, now filled by
 * the caller) for this room: c->ix and c->syms set when the index is loaded, NULL while it
 * loads.
 */
void room_render_ctx(struct room *rm, struct render_ctx *c);

/*
 * The page of file number fi from line `from`, through render_file (the index's text when
 * it is loaded, else the file decrypted from the vault into wiped memory, without links).
 * Returns what the renderer returns.
 */
int room_render_file(struct room *rm, const struct render_ctx *c, size_t fi, uint64_t from,
		     struct buf *out, uint64_t *shown_to, uint64_t *n_lines, struct render_kind *kind) WUR;

/*
 * The diff of a file between the older release `old` (base_version) and rm, through
 * render_diff with `context` lines of context: old_e is an entry of old's manifest, new_e
 * of rm's (either NULL for an added or deleted file; a rename pairs two paths).
 * ERR_NOTFOUND when both are NULL or an entry is not its release's.
 */
int room_render_diff(struct room *old, struct room *rm, const struct render_ctx *c,
		     const char *base_version, unsigned context, const struct manifest_entry *old_e,
		     const struct manifest_entry *new_e, struct buf *out) WUR;

/* Lines from..to of file fi printed to a PDF through render_print. */
int room_render_print(struct room *rm, const struct render_ctx *c, size_t fi, uint64_t from,
		      uint64_t to, struct buf *pdf, struct print_info *info) WUR;

/*
 * What notes on the release are checked against (notes.h): its shingles, made from every
 * file's text on first use, or its index when the release has too much text for them.
 */
int room_notes_code(struct rooms *rs, struct room *rm, struct notes_code *out) WUR;

/*
 * A finding's place on this release: path a file of it, lines from..to within its text;
 * the blob id to blob (findings_locate, with the file's text read here).
 */
int room_locate_finding(struct room *rm, const char *path, uint64_t from, uint64_t to,
			char blob[65]) WUR;
/*
 * Is finding id (of release old, seen by who) fixed in release fix? findings_fix_check
 * with both files' texts; *ok 1 when it is (0 with ERR_DENIED saying what is unchanged).
 */
struct session_info;
/*
 * The tree diff from release old to new_rm (diff_trees), renames paired as `git diff -M`
 * pairs them: exact ones, then by similar content (DIFF_RENAME_SCORE), the files' texts
 * read here (the index's, else decrypted into wiped memory). *out as diff_trees gives it.
 */
struct diff_change;
int room_diff_trees(struct room *old, struct room *new_rm, struct diff_change **out, size_t *n) WUR;

/*
 * Delta review: the lines of release new_rm that changed since release old (the new side
 * of the room's diff, room_diff_trees: every line of an added file, the added lines of
 * each hunk of a modified or renamed-and-edited one, nothing of an exact rename, a
 * deletion or a binary file; a pair too large to compare counts the whole new file),
 * added to out: the change set of report.h, the one `git diff -U0 -M` of the two trees
 * gives `report exposure --changed`.
 */
struct report_changes;
int room_changes(struct room *old, struct room *new_rm, struct report_changes *out) WUR;

/*
 * Delta review: for each finding of release old that who may see and that is still open
 * or acknowledged, where it is in the later release new (findings_carry, with both texts
 * read here), in the order of findings_each. fn's carry->path points into new's manifest.
 */
struct findings_carry;
int room_carry_findings(struct facility *f, const struct session_info *who, struct room *old,
			struct room *new_rm,
			int (*fn)(void *ctx, const struct finding_info *fi, const struct findings_carry *c),
			void *ctx) WUR;
int room_fix_check(struct facility *f, const struct session_info *who, int64_t id, struct room *old,
		   struct room *fix, int *ok) WUR;

#endif
