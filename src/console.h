/*
 * console: the facility's commands that need a release's text, run where its data key is.
 *
 * `build` (rebuild in the sandbox), `findings import` (check each SARIF result's place and
 * text against the code) and `findings state --fixed-in/--comment` (compare the releases,
 * check the comment) read sealed code. At the facility they run in the room, with the key
 * the vendor's unlock gave it and the room's own opened releases (room.h): the command
 * hands the room its request over the keyring socket (keyring.h, op 'C': one JSON line, then
 * the SARIF's bytes for an import) and gets back only what it would print — verdicts,
 * digests, counts, refusals; never a line of code. A build's progress comes as frames while
 * it runs; its output (it may quote code) stays in the room. With --vendor-key (the
 * vendor's own machine, or one-site use) the command fills a keyring of its own from the
 * vendor's key and runs the very same functions over it.
 *
 * Every function here is handed a struct rooms (room.h) over the keyring that holds the
 * keys; a finding is filed as the reviewer named, after that reviewer's grant is checked,
 * as the room files one from its pages.
 */
#ifndef SEALROOM_CONSOLE_H
#define SEALROOM_CONSOLE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "build.h"
#include "err.h"
#include "facility.h"
#include "release.h"

struct rooms;
struct session_info;

/* who for a login, as the room sees that person (a console session: "console"). */
int console_who(struct facility *f, const char *login, struct session_info *who) WUR;

/* How long an import waits for the release's index to load (seconds). */
#define CONSOLE_INDEX_WAIT 900

/*
 * File each result of the SARIF log (sarif, len) as a finding of reviewer `as` on
 * product@version, whose key rs's keyring holds: every result is checked first (its place a
 * file and lines of the release, its title and text not quoting the code); one refused
 * result refuses the whole log (ERR_DENIED, "N results refused: nothing imported") and
 * nothing is stored. Each refusal is a line "result I refused: WHY" appended to report;
 * *filed says how many were filed. While the release's index loads (up to
 * CONSOLE_INDEX_WAIT s) it is waited for, unless *cancel (may be NULL) turns to 1: a
 * stopping room does not wait for it.
 */
int console_findings_import(struct rooms *rs, struct facility *f, const char *product, const char *version,
			    const char *as, const char *sarif, size_t len, const volatile int *cancel,
			    struct buf *report, size_t *filed) WUR;

/* The release of finding id, as `as` may see it (ERR_NOTFOUND otherwise). */
int console_finding_release(struct facility *f, const char *as, int64_t id, char product[RELEASE_NAME_MAX + 1],
			    char version[RELEASE_NAME_MAX + 1]) WUR;

/*
 * Move finding id to state as `as`; with fixed_in (a later release, both keys held) the
 * fix is checked against both releases' files; a comment is checked against the code
 * (cancel as for an import). A move with neither reads nothing (rs may be NULL then).
 */
int console_findings_state(struct rooms *rs, struct facility *f, int64_t id, const char *state,
			   const char *as, const char *fixed_in, const char *comment,
			   const volatile int *cancel) WUR;

/* A console request, parsed: every field checked (release names as release_parse_ref
 * takes them), no key but the op's, strings borrowed from json. */
enum console_op { CONSOLE_BUILD = 1, CONSOLE_IMPORT, CONSOLE_STATE };
struct console_request {
	enum console_op op;
	char product[RELEASE_NAME_MAX + 1], version[RELEASE_NAME_MAX + 1];
	const char *as, *recipe, *state, *fixed_in, *comment; /* NULL when absent */
	char actor[80]; /* "local:NAME" as said, or "local:operator" */
	int64_t id;
	void *json;
};
/* ERR_PARSE "console: malformed request" for anything else; release it either way. */
int console_request_parse(const char *req, size_t len, struct console_request *q) WUR;
void console_request_release(struct console_request *q);

/*
 * Serve one console request in the room (the keyring listener's handler for op 'C'):
 * req is the JSON line {"op":"build"|"import"|"state", ...} and body the bytes after it.
 * frame (may be called many times) sends a progress line to the client; *cancel turns to
 * 1 when the room stops. The answer (what the command prints, as JSON) goes to out.
 */
int console_serve(void *rooms, struct facility *f, const char *req, size_t req_len, const char *body,
		  size_t body_len, void (*frame)(void *ctx, const char *p, size_t len), void *frame_ctx,
		  const volatile int *cancel, struct buf *out) WUR;

/*
 * The command's side: ask the running room (its keyring socket) to build, import or move a
 * finding as above. ERR_NOTFOUND "no server listens ..." when no room runs; the room's
 * refusals with their own codes. A build's progress comes to progress as it runs; an
 * import's refusals (one line each) to report, with ERR_DENIED.
 */
int console_send_build(struct facility *f, const char *product, const char *version, const char *recipe,
		       const char *actor, void (*progress)(void *ctx, const struct build_progress *p), void *ctx,
		       struct build_result **out) WUR;
int console_send_import(struct facility *f, const char *product, const char *version, const char *as,
			const char *sarif, size_t len, struct buf *report, size_t *filed) WUR;
int console_send_state(struct facility *f, int64_t id, const char *state, const char *as, const char *fixed_in,
		       const char *comment) WUR;

/* A build result as the console answers it (JSON), and back. */
int console_build_json(const struct build_result *res, struct buf *out) WUR;
int console_build_parse(const char *json, size_t len, struct build_result **out) WUR;

#endif
