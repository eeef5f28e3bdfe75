/*
 * sarif: findings in and out as SARIF 2.1.0 (OASIS Static Analysis Results Interchange
 * Format), the format analyzers and code hosts read.
 *
 * Out: one run whose tool is sealroom, one result per finding: ruleId (the analyzer's rule,
 * else "CWE-<n>", else "sealroom.finding"), level (critical and high: error, medium:
 * warning, low: note), message.text the title, one physical location (the path relative to
 * the uriBaseId SRCROOT, percent-encoded, and the region's startLine and endLine), the
 * GitHub convention properties.security-severity (the CVSS score, else 9.0/7.0/4.0/1.0),
 * and properties.sealroom with the rest (id, lab, author, severity, cvss, cwe, text, state,
 * fixedIn, blob). The run names the release (automationDetails.id "P@V") and its tree.
 *
 * In: every result of every run, as a struct finding_new for the caller to check and file.
 * Title: message.text's first line (at most FINDINGS_TITLE_MAX bytes, cut at a character),
 * text: properties.sealroom.text, else the rest of message.text; severity:
 * properties.sealroom.cvss, else .severity, else security-severity, else the level; CWE:
 * properties.sealroom.cwe, else a ruleId "CWE-<n>", else a rule tag "external/cwe/cwe-<n>".
 * A result without exactly one physical location with a relative URI (no scheme, no "..",
 * no query) and a startLine is refused with the reason. The input is untrusted: at most
 * SARIF_MAX_LEN bytes and SARIF_MAX_RESULTS results.
 */
#ifndef SEALROOM_SARIF_H
#define SEALROOM_SARIF_H

#include <stddef.h>

#include "buf.h"
#include "findings.h"
#include "release.h"

#define SARIF_MAX_LEN ((size_t)64 << 20)
#define SARIF_MAX_RESULTS 100000

struct sarif_out;

/* Start a log for release r (borrowed until sarif_out_finish). */
struct sarif_out *sarif_out_new(const struct release_info *r);
/* Add one finding. */
int sarif_out_add(struct sarif_out *s, const struct finding_info *fi) WUR;
/* Append the whole log (JSON, keys sorted, two-space indent) to out and free s. */
int sarif_out_finish(struct sarif_out *s, struct buf *out) WUR;
void sarif_out_free(struct sarif_out *s);

/* One result read: the finding (blob unset) or why it was refused. */
struct sarif_result {
	size_t index;           /* 0-based, over all runs */
	struct finding_new n;   /* strings borrowed for the callback's duration */
	const char *refused;    /* NULL, or the reason the result cannot be a finding */
};

/*
 * Read a SARIF 2.1.0 log (json, len): fn for each result in order. ERR_PARSE "sarif: ..."
 * when the log itself is not SARIF 2.1.0; a result that cannot be a finding is passed with
 * refused set (the caller decides).
 */
int sarif_read(const char *json, size_t len,
	       int (*fn)(void *ctx, const struct sarif_result *res), void *ctx) WUR;

#endif
