/*
 * trace: from a leak back to the session it came from.
 *
 * A leak is a screenshot or photo (PNG, JPEG: the forensic mark, mark.h) or text (the
 * private-use junk that copying a code view yields: cipherfont.h). The candidates are the
 * sessions the log knows (its login entries), so a trace names only sessions that really
 * existed, with what they were shown (the log's view, search and diff entries).
 *
 * The facility's forensic secret (32 random bytes, made on first use) keys both the marks
 * and the ciphers: without it nobody can make a leak point at someone else. It is stored
 * in table facility, key 'forensic_key', sealed under the facility's at-rest key
 * (facility.h: DIR/keys/secrets.key), so a copy of the database alone does not hold it;
 * the operator, who holds the folder, does. The log still records who was shown what.
 */
#ifndef SEALROOM_TRACE_H
#define SEALROOM_TRACE_H

#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "buf.h"
#include "cipherfont.h"
#include "err.h"
#include "facility.h"
#include "mark.h"

/* Text is named when this share of its private code points belongs to one session */
#define TRACE_TEXT_SHARE 0.9
#define TRACE_TEXT_MIN 8
/* The largest text file read */
#define TRACE_TEXT_MAX (16 << 20)

struct trace_keys {
	unsigned char mark[MARK_KEY_LEN];
	unsigned char cipher[CIPHER_KEY_LEN];
};

/* The facility's keys for marks and ciphers (made and stored on first use). */
int trace_keys_get(struct facility *f, struct trace_keys *k) WUR;

/* A session the log knows. */
struct trace_session {
	char session_id[AUTH_SESSION_ID_HEX + 1];
	char login[AUTH_LOGIN_MAX + 1];
	char ip[AUTH_IP_MAX + 1];
	int64_t started;  /* the login entry's time */
	uint64_t entry;   /* the login entry's index */
};

/* Every session in the log, oldest first, into *out (malloc'd) and *n. */
int trace_sessions(struct facility *f, struct trace_session **out, size_t *n) WUR;

/* Call fn with each view, search or diff entry (canonical JSON) of session_id, in order. */
int trace_views(struct facility *f, const char *session_id,
		int (*fn)(void *ctx, uint64_t index, const char *entry, size_t len), void *ctx) WUR;

struct trace_report {
	char kind[8];          /* "image" or "text" */
	int found;             /* 1 when a session is named */
	int usable;            /* 0 when the leak held too little to decide */
	struct trace_session session; /* the best candidate (named when found) */
	double score;          /* image: correlation; text: share of its private code points */
	double second;         /* the runner-up's score */
	double sigma;          /* image: score in standard deviations of the no-mark case */
	double confidence;     /* 0..1: 1 - the chance that noise scores this high */
	double scale;          /* image: leak pixels per page pixel */
	size_t candidates;     /* sessions compared */
	size_t n_pua;          /* text: private code points in it */
};

/*
 * Trace the leak (p, len): an image when it starts like a PNG or JPEG, text otherwise.
 * ERR_NOTFOUND when the log has no session yet; ERR_PARSE for a damaged image, binary bytes or text
 * without any private-use character (plain code names nobody by itself); ERR_TOOBIG past
 * the limits. A leak that matches nobody is not an error: rep->found is 0.
 */
int trace_leak(struct facility *f, const void *p, size_t len, struct trace_report *rep) WUR;

/* The same against given candidates and keys (no facility): for tests and tools. */
int trace_leak_among(const struct trace_keys *k, const struct trace_session *s, size_t n,
		     const void *p, size_t len, struct trace_report *rep) WUR;

#endif
