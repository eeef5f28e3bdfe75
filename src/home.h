/*
 * home: the room's page for each role that does not read code: the vendor's, the
 * operator's and the lab lead's. Each writes the body of its page (web.c adds the head,
 * the foot and the route's checks); none shows a line of code, and none is a second path
 * to a decision:
 *
 * - the vendor (/vendor): the exposure of each release (the numbers of report.h, the same
 *   code as `sealroom report exposure`, at the log's latest signed checkpoint), the
 *   findings of every lab (findings.h, vendor first), and the decisions waiting for the
 *   vendor (pending nominations, grants proposed by the operator, held sessions), each with
 *   the exact offline command that takes it (`sealroom vendor sign`, decision.h): a vendor
 *   decision needs the vendor's key, which never reaches the facility, and the operator
 *   applies the signed file;
 * - the operator (/operator): every release's grants and nominations with their state, the
 *   decisions waiting for the operator, a form that applies a vendor's decision file
 *   (policy_apply, as `sealroom apply`), held sessions with a resume form (quota_resume: the
 *   same function, checks and log entry as `sealroom session resume`), and the facility's
 *   health: unlock windows, the log's size, its last checkpoint and its witnesses;
 * - the lab lead (/lab; an auditor of a lab): for each release the lab is nominated on, the
 *   lab's coverage (report.h filtered to the lab), its findings and its notes. A reviewer of
 *   the lab reads through the releases page instead.
 *
 * Who reaches which page is home_role's answer; every function checks it again and answers
 * ERR_NOTFOUND to anyone else, which the room shows as the page that does not exist.
 * Findings' titles and notes come back through the session's cipher (render_prose), like
 * code.
 */
#ifndef SEALROOM_HOME_H
#define SEALROOM_HOME_H

#include <stdint.h>

#include "auth.h"
#include "buf.h"
#include "err.h"
#include "facility.h"
#include "keyring.h"
#include "logdb.h"
#include "render.h"
#include "report.h"

/* What a page needs; the caller fills it per request (everything borrowed). */
struct home_ctx {
	struct facility *f;
	struct logdb *log;                /* the room's log (report_from_log) */
	struct keyring *keys;             /* for the unlock windows */
	const struct render_hooks *hooks; /* the session's cipher, or NULL */
	const struct session_info *who;
	const char *csrf;                 /* the session's form token */
	const char *db_path;              /* the facility's database, for its size */
	int64_t now;
};

/* "vendor", "operator", "lab" (an auditor of a lab org) or NULL: who has no home page. */
const char *home_role(const struct session_info *who);
/* Where who lands after login: "/vendor", "/operator", "/lab" or "/releases". */
const char *home_path(const struct session_info *who);

/* The bodies of the three pages, appended to out; ERR_NOTFOUND for the wrong role. */
int home_vendor(const struct home_ctx *c, struct buf *out) WUR;
int home_operator(const struct home_ctx *c, struct buf *out) WUR;
int home_lab(const struct home_ctx *c, struct buf *out) WUR;

/*
 * The exposure report of product@version as the vendor (every lab) or the lab lead (her
 * lab only) may see it, at the log's latest signed checkpoint: report_json (json set) or
 * report_html_body (the caller adds the page around it). ERR_NOTFOUND for any other reader, for a release the lab lead's lab has no
 * nomination on, or before the first checkpoint. changes (may be NULL) restricts it to
 * changed lines (report_restrict).
 */
int home_exposure(const struct home_ctx *c, const char *product, const char *version, int json,
		  const struct report_changes *changes, struct buf *out) WUR;

/* May who see the exposure of product@version (the vendor; the lab lead of a lab nominated
 * on it)? 0 or ERR_NOTFOUND, as home_exposure decides. */
int home_exposure_allowed(const struct home_ctx *c, const char *product, const char *version) WUR;

/* The operator applies a vendor's decision file (policy_apply: the same function, checks
 * and log entries as `sealroom apply FILE --as <the operator>`); a shred's destruction
 * certificate is appended to certificate. ERR_NOTFOUND for a reader who is not an operator. */
int home_apply(const struct home_ctx *c, const char *note, size_t len, struct buf *certificate) WUR;

/* The operator resumes a held session: quota_resume as who (ERR_NOTFOUND for a reader who
 * is not an operator, or a session that is not held). */
int home_resume(const struct home_ctx *c, const char *session_id) WUR;

#endif
