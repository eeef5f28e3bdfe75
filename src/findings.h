/*
 * findings: what a lab found in a release, reported to the vendor first.
 *
 * A finding names an exact place (release, path, line range, the blob's SHA-256 git id), a
 * title, a severity (a CVSS v3.1 base vector with its computed score, or one of low, medium,
 * high, critical), an optional CWE id and a text. Title, text and state comments are
 * checked like a note (notes.h): none may carry a run of NOTES_RUN tokens of the sealed
 * code, so a finding is never a way to carry code out. A refusal is logged
 * ("finding_refused") and nothing is stored.
 *
 * Visibility ("vendor first"): a finding is seen by people of the vendor role and by the
 * finding's own lab (the author's organisation), and by no one else: not another lab, not
 * the operator, not an auditor. Every function that reads findings takes the reader and
 * filters by this rule; there is no unfiltered read but findings_each_all, for the
 * facility's own commands (export, report), whose caller decides who asked.
 *
 * States: open -> acknowledged -> fixed (in P@V') / disputed / accepted (accepted risk);
 * disputed, fixed and accepted may be reopened. The vendor acknowledges, disputes, accepts
 * and marks fixed; the lab marks fixed and reopens. "fixed" names a later release of the
 * same product, and the caller's check (findings_fix_check) must have found the finding's
 * lines changed or its file moved or removed there. Every change is a row of
 * finding_events and a log entry ("finding_state") with its author: the timeline.
 *
 * Log entries hold ids, places, severities and states, never a title or text (the log is
 * public to the vendor and its witnesses; findings are not).
 */
#ifndef SEALROOM_FINDINGS_H
#define SEALROOM_FINDINGS_H

#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "cvss.h"
#include "err.h"
#include "facility.h"
#include "manifest.h"
#include "notes.h"

#define FINDINGS_TITLE_MAX 256
#define FINDINGS_TEXT_MAX NOTES_TEXT_MAX
#define FINDINGS_COMMENT_MAX 4096
#define FINDINGS_RULE_MAX 256
#define FINDINGS_CWE_MAX 99999

/* A finding to file. */
struct finding_new {
	const char *product, *version;
	const char *path;
	uint64_t line_from, line_to; /* 1-based, inclusive */
	const char *blob;            /* hex SHA-256 git id of the file at path */
	const char *title;
	const char *severity;        /* low|medium|high|critical or a CVSS:3.1/ vector */
	int cwe;                     /* 0: none */
	const char *text;
	const char *rule;            /* an analyzer's rule id (SARIF ruleId), or NULL */
};

/* A stored finding; strings are borrowed for the callback's duration. */
struct finding_info {
	int64_t id;
	int64_t org_id;
	const char *lab, *author;
	const char *product, *version, *path;
	uint64_t line_from, line_to;
	const char *blob;
	const char *title;
	const char *severity; /* low..critical (from the score when cvss is set) */
	const char *cvss;     /* canonical vector or "" */
	int score10;          /* CVSS base score in tenths, -1 without a vector */
	int cwe;
	const char *text;
	const char *rule;
	const char *state;    /* open, acknowledged, fixed, disputed, accepted */
	const char *fixed_in; /* the version of the fix, or "" */
	int64_t created_at, updated_at;
};

/* One change of state (the first is "open", by the author, when it was filed). */
struct finding_event {
	int64_t finding_id;
	const char *actor;
	const char *state;
	const char *fixed_in;
	const char *comment;
	int64_t at;
};

/* Is s a state name? */
int findings_state_valid(const char *s);
/* May who see findings of lab org_id? (vendor role, or a member of that lab) */
int findings_may_see(const struct session_info *who, int64_t org_id);

/*
 * Check a finding's place against the release: path is a file of m, lines within the
 * file's text (text, len, as read from the vault), from <= to. The blob's id goes to
 * blob (65 bytes). ERR_NOTFOUND / ERR_USAGE with the reason.
 */
int findings_locate(const struct manifest *m, const char *path, uint64_t from, uint64_t to,
		    const unsigned char *text, size_t len, char blob[65]) WUR;

/*
 * File a finding as who (a reviewer of a lab) at now; code (may be NULL for tests) is what
 * title and text are checked against. The caller has checked the place (findings_locate)
 * and who's grant. ERR_DENIED for a quote of code (logged), ERR_USAGE / ERR_PARSE /
 * ERR_TOOBIG for bad fields, with the reason.
 */
int findings_add(struct facility *f, const struct notes_code *code, const struct session_info *who,
		 const struct finding_new *n, int64_t now, int64_t *id) WUR;

/* Call fn for each finding of product@version that who may see (lab NULL: every lab;
 * else that lab's only), oldest first. */
int findings_each(struct facility *f, const struct session_info *who, const char *product,
		  const char *version, const char *lab,
		  int (*fn)(void *ctx, const struct finding_info *fi), void *ctx) WUR;
/* The same without the reader's filter, for the facility's own commands. */
int findings_each_all(struct facility *f, const char *product, const char *version,
		      const char *lab, int (*fn)(void *ctx, const struct finding_info *fi),
		      void *ctx) WUR;
/* Finding id, if who may see it: fn once, or ERR_NOTFOUND (also when who may not). */
int findings_get(struct facility *f, const struct session_info *who, int64_t id,
		 int (*fn)(void *ctx, const struct finding_info *fi), void *ctx) WUR;
/* The timeline of finding id (who must be allowed to see it), oldest first. */
int findings_events(struct facility *f, const struct session_info *who, int64_t id,
		    int (*fn)(void *ctx, const struct finding_event *e), void *ctx) WUR;

/*
 * Is finding fi fixed in the release whose manifest is m? Its file at fi->path must be
 * gone (removed or moved) or hold another blob, and when both texts are given (old: the
 * finding's blob, new: the file in m) one of lines line_from..line_to must be changed or
 * removed by the line diff. 0, or ERR_DENIED saying what is unchanged.
 */
int findings_fix_check(const struct finding_info *fi, const struct manifest *m,
		       const unsigned char *old_text, size_t old_len,
		       const unsigned char *new_text, size_t new_len) WUR;

/*
 * Where finding fi (on release old_m) is in a later release new_m, for delta review: its
 * file followed through a rename (diff_trees' renames as `git diff -M` pairs them: the
 * same blob, or similar content, under another path), its lines through the line diff of the two texts (diff_lines; old_text is the
 * finding's blob, new_text the file in new_m, both may be NULL when the blob is the
 * same). A block whose every line was removed is looked for, line for line, among the new
 * text's lines (the first place that holds the same run: moved lines).
 */
enum findings_carry_status {
	FINDINGS_SAME,     /* the same lines at the same place */
	FINDINGS_MOVED,    /* the same lines, at other numbers or under another path */
	FINDINGS_CHANGED,  /* some of its lines changed or lines were inserted among them */
	FINDINGS_DELETED,  /* its lines (or its file) are gone */
};
struct findings_carry {
	enum findings_carry_status status;
	const char *path;              /* in new_m (borrowed from it), NULL when deleted */
	uint64_t line_from, line_to;   /* in the new text, 0 when deleted */
};
/* The finding's file in new_m: at its path, else where a rename of the tree diff ch (n
 * changes, diff_trees with renames) took it; NULL when it is gone. */
struct diff_change;
const struct manifest_entry *findings_carry_file(const struct finding_info *fi, const struct manifest *new_m,
						 const struct diff_change *ch, size_t n);
int findings_carry(const struct finding_info *fi, const struct manifest_entry *ne,
		   const unsigned char *old_text, size_t old_len, const unsigned char *new_text,
		   size_t new_len, struct findings_carry *out) WUR;
const char *findings_carry_name(enum findings_carry_status s);

/*
 * Change finding id's state as who at now, with an optional comment (checked like a note
 * against code). fixed_in is the version of the fix for "fixed" (NULL otherwise); fix_ok
 * says the caller ran findings_fix_check on it with success. ERR_DENIED for a transition
 * who may not make, ERR_NOTFOUND for a finding who may not see, ERR_USAGE otherwise.
 */
int findings_set_state(struct facility *f, const struct notes_code *code,
		       const struct session_info *who, int64_t id, const char *state,
		       const char *fixed_in, int fix_ok, const char *comment, int64_t now) WUR;

#endif
