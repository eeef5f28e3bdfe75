/*
 * web: the review room's routes and pages, behind http.h's handler.
 *
 * Routes (docs/web.md): /login, /logout, /releases, /r/<P@V>/tree/<path>,
 * /r/<P@V>/blob/<path>, /r/<P@V>/def?n=, /r/<P@V>/refs?n=, /r/<P@V>/search?q=,
 * /r/<P@V>/diff/<OLD_V>/<path>, /api/search, /log/checkpoint, /log/tile/..., /static/...,
 * /s/... (per-session assets of render_hooks.asset), /vendor, /operator, /lab (home.h's role
 * pages). Every route but /login, /static/ and
 * /log/ needs a session (auth_session) and every route that names a release checks the
 * grant (policy_may_read) on every request; code is shown only through render.h. There is
 * no route that returns a file's bytes as they are.
 *
 * A struct web owns a pool of facility handles (one per request in flight), one shared
 * log (group commit), the cache of opened releases (room.h: the only code here that holds
 * a release's text, which it hands to the renderer; web.c itself sees file names only),
 * and a random per-server secret for CSRF tokens. It is safe to call web_handle from many
 * threads.
 */
#ifndef SEALROOM_WEB_H
#define SEALROOM_WEB_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "http.h"
#include "keyring.h"
#include "render.h"

#define WEB_COOKIE_SESSION "sr_session"
#define WEB_COOKIE_CSRF "sr_csrf"
#define WEB_CSRF_HEX 64
#define WEB_SEARCH_LIMIT_DEFAULT 50
#define WEB_SEARCH_LIMIT_MAX 500
/* the file finder (/r/<P@V>/files?q=): paths shown at most, query bytes at most */
#define WEB_FINDER_MAX 100
#define WEB_FINDER_QUERY_MAX 256
/* the folder beside the code: entries shown at most */
#define WEB_SIDE_MAX 300

struct web_opts {
	unsigned handles;                 /* facility handles = requests at once (default 16) */
	const struct render_hooks *hooks; /* issue 7's plug-ins, or NULL */
	int secure_cookies;               /* Secure on cookies (always, in practice) */
};

struct web;

/* Open the room over the facility at dir, reading keys from k (borrowed). */
int web_new(const char *dir, struct keyring *k, const struct web_opts *o, struct web **out) WUR;
void web_free(struct web *w);
/* The room's opened releases (room.h), for the console's jobs (console.h). */
struct rooms *web_rooms(struct web *w);
/* http_handler: answer one request. */
int web_handle(void *w, const struct http_req *rq, struct http_resp *rs);
/* Wipe keys whose window ended and drop opened releases whose key is gone. */
void web_expire(struct web *w, int64_t now);
/*
 * Let go of every unlocked release that must not be read any more (policy_withdrawn: halted,
 * shredded, its last grant revoked, gone): its key wiped, its text freed (rooms_withdraw).
 * The serve loop calls it every second, so a decision reaches the running room within
 * about a second however it was taken. Not thread-safe: one caller.
 */
void web_watch(struct web *w, int64_t now);
/* Sign a checkpoint when the log grew since the last one (the serve loop's timer). */
int web_log_tick(struct web *w) WUR;
/*
 * Open every release whose key the keyring holds at now and start loading its search
 * index in the background, so that neither the first file view (which never waits for
 * the index) nor the first search waits for a load that could have run already. A release
 * that cannot be opened is left for its requests to report.
 */
void web_preload(struct web *w, int64_t now);

/*
 * Decode a raw request path strictly into out: %XX escapes (a bad escape or %00 is
 * ERR_HOSTILE), no "." or ".." segment, no empty segment but a trailing '/'. Every other
 * byte is kept (control bytes, backslash, bytes that are not UTF-8), since a sealed file
 * name may hold any of them. Returns 0 or ERR_HOSTILE / ERR_TOOBIG.
 */
int web_path_decode(const char *raw, struct buf *out) WUR;
/* The value of name in a query string or form body (decoded, '+' is a space) into out;
 * ERR_NOTFOUND when absent, ERR_HOSTILE for a NUL or bad escape. */
int web_param(const char *query, size_t len, const char *name, struct buf *out) WUR;
/* The value of cookie name in a Cookie header into out (at most cap-1 bytes); 0 or ERR_NOTFOUND. */
int web_cookie(const char *header, const char *name, char *out, size_t cap) WUR;

/* Append s %-encoded for a URL path (unreserved bytes, '/' and '@' kept) to b. */
int web_url(struct buf *b, const char *s) WUR;

/* Split a decoded "/r/<P@V>/<what>/<rest>" into its parts; ERR_NOTFOUND when it is not one. */
struct web_route {
	char product[RELEASE_NAME_MAX + 1];
	char version[RELEASE_NAME_MAX + 1];
	char what[16];   /* tree, blob, search, def, refs, diff */
	const char *rest; /* points into the decoded path: the file path ("" for the root) */
};
int web_route_release(const char *path, struct web_route *out) WUR;

#endif
