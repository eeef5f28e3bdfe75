/* web: routes and pages of the review room; see web.h. */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/hmac.h>
#include <sodium.h>

#include "audit.h"
#include "build.h"
#include "decision.h"
#include "diff.h"
#include "xref.h"
#include "manifest.h"
#include "match.h"
#include "notes.h"
#include "findings.h"
#include "home.h"
#include "policy.h"
#include "print.h"
#include "quota.h"
#include "release.h"
#include "room.h"
#include "web.h"
#include "web_static.h"

struct web {
	char *dir;
	struct keyring *keys;
	const struct render_hooks *hooks;
	int secure;
	unsigned char secret[32];

	pthread_mutex_t pool_lock;
	pthread_cond_t pool_free;
	struct facility **pool;
	unsigned n_pool, n_free;

	struct facility *log_f;
	struct logdb *log;
	struct render_cache *cache;

	struct rooms *rooms;

	/* web_watch's view of the unlocked releases (the serve loop's thread only) */
	struct watch_mark *marks;
	size_t n_marks;
};

/* One unlocked release as web_watch saw it last: its revoked grants (policy_withdrawn). */
struct watch_mark {
	char product[RELEASE_NAME_MAX + 1];
	char version[RELEASE_NAME_MAX + 1];
	int64_t revoked;
};

/* One request's context. */
struct req {
	struct web *w;
	const struct http_req *rq;
	struct http_resp *rs;
	struct facility *f;
	struct session_info who;
	char token[AUTH_TOKEN_HEX + 1];
	char csrf[WEB_CSRF_HEX + 1];
	int have_session;
	int64_t now;
};

int web_new(const char *dir, struct keyring *k, const struct web_opts *o, struct web **out)
{
	struct web *w = xcalloc(1, sizeof(*w));
	int r;
	*out = NULL;
	w->dir = xstrdup(dir);
	w->keys = k;
	w->hooks = o ? o->hooks : NULL;
	w->secure = o ? o->secure_cookies : 1;
	w->n_pool = o && o->handles ? o->handles : 16;
	randombytes_buf(w->secret, sizeof(w->secret));
	pthread_mutex_init(&w->pool_lock, NULL);
	pthread_cond_init(&w->pool_free, NULL);
	w->rooms = rooms_new(k);
	w->pool = xcalloc(w->n_pool, sizeof(*w->pool));
	for (unsigned i = 0; i < w->n_pool; i++)
		if ((r = facility_open(dir, &w->pool[i])))
			goto fail;
	w->n_free = w->n_pool;
	w->cache = render_cache_new();
	if ((r = facility_open(dir, &w->log_f)) || (r = logdb_open(w->log_f, &w->log)))
		goto fail;
	*out = w;
	return 0;
fail:
	web_free(w);
	return r;
}

struct rooms *web_rooms(struct web *w)
{
	return w->rooms;
}

void web_free(struct web *w)
{
	if (!w)
		return;
	rooms_free(w->rooms);
	free(w->marks);
	for (unsigned i = 0; i < w->n_pool; i++)
		facility_free(w->pool[i]);
	free(w->pool);
	logdb_free(w->log);
	facility_free(w->log_f);
	render_cache_free(w->cache);
	sodium_memzero(w->secret, sizeof(w->secret));
	pthread_mutex_destroy(&w->pool_lock);
	pthread_cond_destroy(&w->pool_free);
	free(w->dir);
	free(w);
}

static struct facility *pool_get(struct web *w)
{
	struct facility *f;
	pthread_mutex_lock(&w->pool_lock);
	while (!w->n_free)
		pthread_cond_wait(&w->pool_free, &w->pool_lock);
	f = w->pool[--w->n_free];
	pthread_mutex_unlock(&w->pool_lock);
	return f;
}

static void pool_put(struct web *w, struct facility *f)
{
	pthread_mutex_lock(&w->pool_lock);
	w->pool[w->n_free++] = f;
	pthread_cond_signal(&w->pool_free);
	pthread_mutex_unlock(&w->pool_lock);
}

void web_expire(struct web *w, int64_t now)
{
	keyring_expire(w->keys, now);
	rooms_sweep(w->rooms, now);
}

struct preload {
	struct web *w;
	struct facility *f;
	int64_t now;
};

static int preload_one(void *ctx, const struct release_info *ri)
{
	struct preload *p = ctx;
	struct room *rm = NULL;
	if (!rooms_unlocked(p->w->rooms, ri->product, ri->version, p->now))
		return 0;
	if (!room_get(p->w->rooms, p->f, ri->product, ri->version, p->now, 0, &rm))
		room_put(p->w->rooms, rm);
	return 0;
}

void web_preload(struct web *w, int64_t now)
{
	struct preload p = {w, pool_get(w), now};
	if (release_each(p.f, preload_one, &p))
		fprintf(stderr, "sealroom serve: cannot list releases to open: %s\n", err_msg());
	pool_put(w, p.f);
}

struct watch {
	struct web *w;
	struct facility *f;
	int64_t now;
	struct watch_mark *marks; /* the unlocked releases seen now */
	size_t n_marks, cap;
	int failed;
};

static int watch_one(void *ctx, const struct release_info *ri)
{
	struct watch *c = ctx;
	struct watch_mark m = {{0}, {0}, -1};
	const char *why = NULL;
	if (!rooms_unlocked(c->w->rooms, ri->product, ri->version, c->now))
		return 0;
	snprintf(m.product, sizeof(m.product), "%s", ri->product);
	snprintf(m.version, sizeof(m.version), "%s", ri->version);
	for (size_t i = 0; i < c->w->n_marks; i++)
		if (!strcmp(c->w->marks[i].product, m.product) && !strcmp(c->w->marks[i].version, m.version))
			m.revoked = c->w->marks[i].revoked;
	if (policy_withdrawn(c->f, ri->product, ri->version, &m.revoked, &why)) {
		c->failed = 1; /* the next second tries again */
		return 0;
	}
	if (why) {
		rooms_withdraw(c->w->rooms, ri->product, ri->version);
		fprintf(stderr, "sealroom serve: '%s@%s' is %s: its key is wiped and its text freed\n", ri->product,
			ri->version, why);
		return 0;
	}
	if (c->n_marks == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 16;
		c->marks = xrealloc(c->marks, c->cap * sizeof(*c->marks));
	}
	c->marks[c->n_marks++] = m;
	return 0;
}

void web_watch(struct web *w, int64_t now)
{
	struct watch c = {w, pool_get(w), now, NULL, 0, 0, 0};
	/* the log's word on grants (audit_live_grant), read as the log grows, so that a
	 * request seldom waits for it */
	if (audit_live_sync(c.f))
		fprintf(stderr, "sealroom serve: cannot read the log's grants: %s\n", err_msg());
	if (release_each(c.f, watch_one, &c) || c.failed) {
		fprintf(stderr, "sealroom serve: cannot read the releases' state: %s\n", err_msg());
		free(c.marks); /* keep the marks of the last complete look */
	} else {
		free(w->marks);
		w->marks = c.marks;
		w->n_marks = c.n_marks;
	}
	pool_put(w, c.f);
}

/* ---- parsing ---- */

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode %XX (and '+' as a space when plus) from (s, len) into out. */
static int pct_decode(const char *s, size_t len, int plus, struct buf *out)
{
	for (size_t i = 0; i < len; i++) {
		int ch = (unsigned char)s[i];
		if (ch == '%') {
			int hi, lo;
			if (i + 2 >= len)
				return err_set(ERR_HOSTILE, "bad %%-escape");
			hi = hexval((unsigned char)s[i + 1]);
			lo = hi < 0 ? -1 : hexval((unsigned char)s[i + 2]);
			if (lo < 0)
				return err_set(ERR_HOSTILE, "bad %%-escape");
			ch = hi << 4 | lo;
			i += 2;
		} else if (ch == '+' && plus) {
			ch = ' ';
		}
		if (ch == 0)
			return err_set(ERR_HOSTILE, "NUL in request");
		if (buf_addch(out, (char)ch))
			return ERR_TOOBIG;
	}
	return 0;
}

int web_path_decode(const char *raw, struct buf *out)
{
	size_t n = strlen(raw);
	const char *seg;
	int r;
	buf_reset(out);
	if (n > HTTP_PATH_MAX)
		return err_set(ERR_TOOBIG, "path too long");
	if (raw[0] != '/')
		return err_set(ERR_HOSTILE, "path must start with '/'");
	/* any byte but NUL may be in a sealed name (newline, backslash, invalid UTF-8): the
	 * path is only ever compared with the manifest, escaped for HTML and JSON, and
	 * %-encoded again in links */
	if ((r = pct_decode(raw, n, 0, out)))
		return r;
	/* segments */
	seg = out->p + 1;
	for (;;) {
		const char *slash = strchr(seg, '/');
		size_t sl = slash ? (size_t)(slash - seg) : strlen(seg);
		if ((sl == 1 && seg[0] == '.') || (sl == 2 && seg[0] == '.' && seg[1] == '.'))
			return err_set(ERR_HOSTILE, "'.' or '..' in path");
		if (!sl && slash)
			return err_set(ERR_HOSTILE, "empty path segment");
		if (!slash)
			break;
		seg = slash + 1;
	}
	return 0;
}

int web_param(const char *q, size_t len, const char *name, struct buf *out)
{
	size_t nl = strlen(name), i = 0;
	buf_reset(out);
	while (i <= len) {
		size_t e = i;
		while (e < len && q[e] != '&')
			e++;
		if (e - i >= nl && !memcmp(q + i, name, nl) && (e - i == nl || q[i + nl] == '=')) {
			size_t vs = i + nl + (e - i > nl);
			return pct_decode(q + vs, e - vs, 1, out);
		}
		i = e + 1;
	}
	return ERR_NOTFOUND;
}

int web_cookie(const char *h, const char *name, char *out, size_t cap)
{
	size_t nl = strlen(name);
	while (h && *h) {
		while (*h == ' ' || *h == ';')
			h++;
		if (!strncmp(h, name, nl) && h[nl] == '=') {
			const char *v = h + nl + 1;
			size_t vl = strcspn(v, ";");
			if (vl >= cap)
				return ERR_NOTFOUND;
			memcpy(out, v, vl);
			out[vl] = 0;
			return 0;
		}
		h = strchr(h, ';');
	}
	return ERR_NOTFOUND;
}

int web_route_release(const char *path, struct web_route *out)
{
	const char *ref, *slash, *what, *rest;
	char refbuf[2 * RELEASE_NAME_MAX + 2];
	memset(out, 0, sizeof(*out));
	if (strncmp(path, "/r/", 3))
		return ERR_NOTFOUND;
	ref = path + 3;
	slash = strchr(ref, '/');
	if (!slash || (size_t)(slash - ref) >= sizeof(refbuf))
		return ERR_NOTFOUND;
	memcpy(refbuf, ref, (size_t)(slash - ref));
	refbuf[slash - ref] = 0;
	if (!strchr(refbuf, '@') || release_parse_ref(refbuf, out->product, out->version))
		return ERR_NOTFOUND;
	what = slash + 1;
	rest = strchr(what, '/');
	if (!rest)
		rest = what + strlen(what);
	if ((size_t)(rest - what) >= sizeof(out->what) || rest == what)
		return ERR_NOTFOUND;
	memcpy(out->what, what, (size_t)(rest - what));
	out->what[rest - what] = 0;
	out->rest = *rest ? rest + 1 : rest;
	return 0;
}

/* ---- responses ---- */

static int esc(struct buf *b, const char *s)
{
	return render_escape(b, s, strlen(s));
}

int web_url(struct buf *b, const char *s)
{
	static const char hexd[] = "0123456789ABCDEF";
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		int keep = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
			   ch == '-' || ch == '.' || ch == '_' || ch == '~' || ch == '/' || ch == '@';
		if (keep ? buf_addch(b, (char)ch)
			 : (buf_addch(b, '%') || buf_addch(b, hexd[ch >> 4]) || buf_addch(b, hexd[ch & 15])))
			return ERR_TOOBIG;
	}
	return 0;
}

static int url(struct buf *b, const char *s)
{
	return web_url(b, s);
}

/* "/r/<P@V>/<what>/" */
static int rel_url(struct buf *b, const char *product, const char *version, const char *what)
{
	return buf_addstr(b, "/r/") || url(b, product) || buf_addch(b, '@') || url(b, version) ||
	       buf_addf(b, "/%s/", what) ? ERR_TOOBIG : 0;
}

static void csrf_for(const struct web *w, const char *token, char out[WEB_CSRF_HEX + 1])
{
	unsigned char mac[32];
	unsigned ml = sizeof(mac);
	HMAC(EVP_sha256(), w->secret, sizeof(w->secret), (const unsigned char *)token, strlen(token), mac, &ml);
	hex_encode(out, mac, 32);
}

/* What is left of the reader's budget under the release's grant, for every page. */
static int budget_line(struct req *q, const struct web_route *rt)
{
	struct buf *b = &q->rs->body;
	struct grant_info g;
	struct quota_status st;
	if (policy_may_read(q->f, &q->who, rt->product, rt->version, q->now, &g) ||
	    quota_status_of(q->f, &g, q->now, &st))
		return 0; /* no grant: the page says so itself */
	if (buf_addstr(b, "<span class=\"budget\" id=\"budget\" title=\"what is left of your grant's budget\">"))
		return ERR_TOOBIG;
	if (st.lines_left < 0 ? buf_addstr(b, "lines: unlimited")
			      : buf_addf(b, "lines left %lld", (long long)st.lines_left))
		return ERR_TOOBIG;
	if (st.searches_left >= 0 && buf_addf(b, " · searches left %lld", (long long)st.searches_left))
		return ERR_TOOBIG;
	if (st.pages_left >= 0 && buf_addf(b, " · print pages left %lld", (long long)st.pages_left))
		return ERR_TOOBIG;
	return buf_addstr(b, "</span>");
}

static int page_head(struct req *q, const char *title, const struct web_route *rt)
{
	struct buf *b = &q->rs->body;
	int r;
	if ((r = buf_addstr(b, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
			       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
			       "<meta name=\"referrer\" content=\"no-referrer\"><title>")) ||
	    (r = esc(b, title)) ||
	    (r = buf_addstr(b, " · sealroom</title><link rel=\"icon\" href=\"data:,\"><link rel=\"stylesheet\" href=\"/static/app.css\">"
			       "<script src=\"/static/app.js\" defer></script>")))
		return r;
	if (q->have_session && q->w->hooks && q->w->hooks->head) {
		struct render_view v = {0};
		v.kind = "page";
		v.who = &q->who;
		v.now = q->now;
		if ((r = q->w->hooks->head(q->w->hooks->ctx, &v, b)))
			return r;
	}
	if ((r = buf_addstr(b, "</head><body><header class=\"top\"><a class=\"brand\" href=\"/\">sealroom</a>"
			       "<a class=\"nav\" id=\"nav-builds\" href=\"/builds\">builds</a>")))
		return r;
	if (rt) {
		if ((r = buf_addstr(b, "<a class=\"rel\" id=\"nav-tree\" href=\"")) ||
		    (r = rel_url(b, rt->product, rt->version, "tree")) || (r = buf_addstr(b, "\">")) ||
		    (r = esc(b, rt->product)) || (r = buf_addch(b, '@')) || (r = esc(b, rt->version)) ||
		    (r = buf_addstr(b, "</a><form class=\"search\" method=\"get\" action=\"")) ||
		    (r = rel_url(b, rt->product, rt->version, "search")) ||
		    (r = buf_addstr(b, "\"><input id=\"q\" name=\"q\" type=\"search\" placeholder=\"search (/)\" "
				       "autocomplete=\"off\" spellcheck=\"false\"></form>")))
			return r;
	}
	if (q->have_session && rt && (r = budget_line(q, rt)))
		return r;
	if (q->have_session) {
		if ((r = buf_addstr(b, "<span class=\"who\">")) || (r = esc(b, q->who.login)) ||
		    (r = buf_addstr(b, " · ")) || (r = esc(b, q->who.role)) || (r = buf_addstr(b, " · ")) ||
		    (r = esc(b, q->who.org)) || (r = buf_addstr(b, " · session ")) || (r = esc(b, q->who.session_id)) ||
		    (r = buf_addf(b, "</span><form class=\"logout\" method=\"post\" action=\"/logout\">"
				     "<input type=\"hidden\" name=\"csrf\" value=\"%s\"><button id=\"logout\" "
				     "type=\"submit\">log out</button></form>", q->csrf)))
			return r;
	}
	return buf_addstr(b, "</header>\n<main>");
}

static int page_foot(struct req *q)
{
	return buf_addstr(&q->rs->body, "</main><footer class=\"keys\">j/k lines · h/l names · t tree · / search · r references · ? keys · "
					"g definition · every view is logged</footer></body></html>\n");
}

/* An error page (or JSON under /api/) saying only msg. */
static int fail_page(struct req *q, int status, const char *msg, int json)
{
	struct http_resp *rs = q->rs;
	rs->status = status;
	buf_reset(&rs->body);
	rs->sensitive = 0;
	if (json) {
		rs->content_type = "application/json";
		return buf_addstr(&rs->body, "{\"error\":") || buf_addjson(&rs->body, msg, strlen(msg)) ||
		       buf_addstr(&rs->body, "}\n") ? ERR_TOOBIG : 0;
	}
	rs->content_type = "text/html; charset=utf-8";
	if (page_head(q, "error", NULL) || buf_addstr(&rs->body, "<div class=\"error\"><h1>") ||
	    buf_addf(&rs->body, "%d", status) || buf_addstr(&rs->body, "</h1><p id=\"error\">") ||
	    esc(&rs->body, msg) || buf_addstr(&rs->body, "</p><p><a href=\"/releases\">releases</a></p></div>") ||
	    page_foot(q))
		return ERR_TOOBIG;
	return 0;
}

/* The page for a release room_get did not give (its error r): its index still loading
 * (ERR_BUSY, which says so), else locked. */
static int locked_page(struct req *q, int r, const char *locked, int json)
{
	char why[256];
	snprintf(why, sizeof(why), "%s", r == ERR_BUSY ? err_msg() : locked);
	return fail_page(q, 503, why, json);
}

static const char not_granted[] = "not found or not granted";

/*
 * The answer for a refused grant: the same "not found or not granted" for a missing
 * release and one without a grant; the reason when the person holds a grant that does
 * not cover now (it names nothing they do not know).
 */
static int refuse_grant(struct req *q, int json)
{
	const char *m = err_msg();
	if (!strncmp(m, "no grant", 8) || !*m)
		return fail_page(q, 404, not_granted, json);
	return fail_page(q, 403, m, json);
}

static int redirect(struct req *q, const char *to)
{
	q->rs->status = 303;
	snprintf(q->rs->location, sizeof(q->rs->location), "%s", to);
	q->rs->content_type = "text/plain; charset=utf-8";
	return buf_addstr(&q->rs->body, "see other\n");
}

/* ---- pages ---- */

static int login_page(struct req *q, const char *msg, int status)
{
	struct buf *b = &q->rs->body;
	char csrf[WEB_CSRF_HEX + 1];
	unsigned char raw[32];
	if (web_cookie(q->rq->cookie, WEB_COOKIE_CSRF, csrf, sizeof(csrf)) || strlen(csrf) != WEB_CSRF_HEX) {
		randombytes_buf(raw, sizeof(raw));
		hex_encode(csrf, raw, sizeof(raw));
		if (http_resp_cookie(q->rs, WEB_COOKIE_CSRF "=%s; Path=/; %sHttpOnly; SameSite=Strict", csrf,
				     q->w->secure ? "Secure; " : ""))
			return ERR_TOOBIG;
	}
	q->rs->status = status;
	if (page_head(q, "log in", NULL) || buf_addstr(b, "<form class=\"login\" method=\"post\" action=\"/login\">"
							 "<h1>Review room</h1>"))
		return ERR_TOOBIG;
	if (msg && (buf_addstr(b, "<p class=\"error\" id=\"error\">") || esc(b, msg) || buf_addstr(b, "</p>")))
		return ERR_TOOBIG;
	if (buf_addf(b, "<label>login <input name=\"login\" id=\"login\" autocomplete=\"username\" required></label>"
			"<label>password <input name=\"password\" id=\"password\" type=\"password\" "
			"autocomplete=\"current-password\" required></label>"
			"<label>code <input name=\"totp\" id=\"totp\" inputmode=\"numeric\" pattern=\"[0-9]{6}\" "
			"autocomplete=\"one-time-code\" required></label>"
			"<input type=\"hidden\" name=\"csrf\" value=\"%s\"><button type=\"submit\" id=\"submit\">"
			"log in</button><p class=\"note\">Every page you open is written to the room's log.</p>"
			"</form>", csrf) ||
	    page_foot(q))
		return ERR_TOOBIG;
	return 0;
}

static int form_field(const struct http_req *rq, const char *name, struct buf *out)
{
	return web_param(rq->body, rq->body_len, name, out);
}

static int login_post(struct req *q)
{
	struct buf login, pw, totp, csrf, token;
	char cookie_csrf[WEB_CSRF_HEX + 1];
	struct session_info who;
	int r;
	buf_init(&login, 256);
	buf_init(&pw, AUTH_PASSWORD_MAX + 1);
	buf_init(&totp, 16);
	buf_init(&csrf, 128);
	buf_init(&token, 128);
	if (form_field(q->rq, "csrf", &csrf) || web_cookie(q->rq->cookie, WEB_COOKIE_CSRF, cookie_csrf, sizeof(cookie_csrf)) ||
	    csrf.len != WEB_CSRF_HEX || strlen(cookie_csrf) != WEB_CSRF_HEX ||
	    sodium_memcmp(csrf.p, cookie_csrf, WEB_CSRF_HEX)) {
		r = fail_page(q, 403, "the form expired or came from elsewhere; reload the login page", 0);
		goto out;
	}
	if (form_field(q->rq, "login", &login) || form_field(q->rq, "password", &pw) || form_field(q->rq, "totp", &totp)) {
		r = login_page(q, "login, password and code are all needed", 400);
		goto out;
	}
	r = auth_login(q->f, login.p, pw.p, totp.p, q->rq->client_ip, q->rq->cert_fp[0] ? q->rq->cert_fp : NULL,
		       &token, &who);
	if (r) {
		r = login_page(q, err_msg(), r == ERR_DENIED ? 429 : 403);
		goto out;
	}
	if ((r = http_resp_cookie(q->rs, WEB_COOKIE_SESSION "=%s; Path=/; %sHttpOnly; SameSite=Strict", token.p,
				  q->w->secure ? "Secure; " : "")))
		goto out;
	r = redirect(q, home_path(&who));
out:
	sodium_memzero(pw.p, pw.len);
	sodium_memzero(token.p, token.len);
	buf_release(&login);
	buf_release(&pw);
	buf_release(&totp);
	buf_release(&csrf);
	buf_release(&token);
	return r;
}

static int logout(struct req *q)
{
	struct buf csrf;
	int r;
	if (strcmp(q->rq->method, "POST")) {
		struct buf *b = &q->rs->body;
		if (page_head(q, "log out", NULL) ||
		    buf_addf(b, "<form class=\"login\" method=\"post\" action=\"/logout\"><input type=\"hidden\" "
				"name=\"csrf\" value=\"%s\"><button type=\"submit\">log out</button></form>", q->csrf) ||
		    page_foot(q))
			return ERR_TOOBIG;
		return 0;
	}
	buf_init(&csrf, 128);
	if (form_field(q->rq, "csrf", &csrf) || csrf.len != WEB_CSRF_HEX || sodium_memcmp(csrf.p, q->csrf, WEB_CSRF_HEX)) {
		buf_release(&csrf);
		return fail_page(q, 403, "the form expired or came from elsewhere", 0);
	}
	buf_release(&csrf);
	r = auth_logout(q->f, q->token);
	(void)r;
	if (http_resp_cookie(q->rs, WEB_COOKIE_SESSION "=; Path=/; Max-Age=0; %sHttpOnly; SameSite=Strict",
			     q->w->secure ? "Secure; " : ""))
		return ERR_TOOBIG;
	return redirect(q, "/login");
}

/* The releases of one product in catalogue order, to find the one before a release. */
struct prev_find {
	struct req *q;
	const char *product, *version;
	int64_t self_at;
	int seen_self;
	char best[RELEASE_NAME_MAX + 1];
	int64_t best_at;
	int any; /* any release, granted or not (for those who read no code: findings) */
};

static int prev_one(void *ctx, const struct release_info *ri)
{
	struct prev_find *p = ctx;
	struct grant_info g;
	if (strcmp(ri->product, p->product))
		return 0;
	if (!strcmp(ri->version, p->version)) {
		p->seen_self = 1;
		return 0;
	}
	/* sealed before it, or at the same second but catalogued before it */
	if (ri->sealed_at > p->self_at || (ri->sealed_at == p->self_at && p->seen_self))
		return 0;
	if (p->best[0] && ri->sealed_at < p->best_at)
		return 0;
	if (!p->any && policy_may_read(p->q->f, &p->q->who, ri->product, ri->version, p->q->now, &g))
		return 0;
	snprintf(p->best, sizeof(p->best), "%s", ri->version);
	p->best_at = ri->sealed_at;
	return 0;
}

/*
 * The release of the same product sealed last before product@version (ties: catalogue
 * order) that the person may read now (anyone but a reviewer: any), into out; 0, or ERR_NOTFOUND when there is none.
 */
static int previous_release(struct req *q, const char *product, const char *version, char out[RELEASE_NAME_MAX + 1])
{
	struct release_info self = {0};
	struct prev_find p = {q, product, version, 0, 0, "", 0, strcmp(q->who.role, "reviewer") != 0};
	if (release_get(q->f, product, version, &self))
		return ERR_NOTFOUND;
	p.self_at = self.sealed_at;
	release_info_release(&self);
	if (release_each(q->f, prev_one, &p) || !p.best[0])
		return ERR_NOTFOUND;
	snprintf(out, RELEASE_NAME_MAX + 1, "%s", p.best);
	return 0;
}

struct rel_list {
	struct req *q;
	int n;
	int err;
};

static int list_one(void *ctx, const struct grant_info *g)
{
	struct rel_list *l = ctx;
	struct buf *b = &l->q->rs->body;
	struct release_info row = {0}, info = {0};
	char sealed[32], until[32];
	int locked, bad;
	if (release_get(l->q->f, g->product, g->version, &row))
		return 0;
	/* the ids shown are the signed ones, never the row's */
	bad = release_seal_open(&row, &info) != 0;
	locked = !rooms_unlocked(l->q->w->rooms, g->product, g->version, l->q->now);
	policy_format_time(info.sealed_at, sealed, sizeof(sealed));
	policy_format_time(g->valid_until, until, sizeof(until));
	if (buf_addstr(b, "<tr><td><a class=\"release\" href=\"") || rel_url(b, g->product, g->version, "tree") ||
	    buf_addstr(b, "\">") || esc(b, g->product) || buf_addch(b, '@') || esc(b, g->version) ||
	    buf_addf(b, "</a>%s</td><td class=\"id\">%s<br>%s</td><td>", locked ? " <em>(locked)</em>" : "",
		     bad ? "<em>the seal does not verify</em>" : info.tree_sha256, bad ? "" : info.tree_sha1) ||
	    esc(b, row.vendor_vkey) ||
	    buf_addf(b, "</td><td>%s</td><td>%" PRIu64 " files</td><td>%s</td><td>", bad ? "" : sealed, info.files,
		     until))
		l->err = ERR_TOOBIG;
	if (!l->err) {
		char prev[RELEASE_NAME_MAX + 1];
		if (!previous_release(l->q, g->product, g->version, prev) &&
		    (buf_addstr(b, "<a class=\"since\" href=\"") || rel_url(b, g->product, g->version, "diff") || url(b, prev) ||
		     buf_addstr(b, "/\">changes since ") || esc(b, prev) || buf_addstr(b, "</a>")))
			l->err = ERR_TOOBIG;
		if (buf_addstr(b, "</td></tr>\n"))
			l->err = ERR_TOOBIG;
	}
	l->n++;
	release_info_release(&row);
	release_info_release(&info);
	return l->err;
}

static int releases_page(struct req *q)
{
	struct buf *b = &q->rs->body;
	struct rel_list l = {q, 0, 0};
	int r;
	if ((r = page_head(q, "releases", NULL)) ||
	    (r = buf_addstr(b, "<h1>Releases you may read</h1><table class=\"releases\" id=\"releases\"><thead><tr>"
			       "<th>release</th><th>seal: tree-sha256 / tree-sha1</th><th>vendor</th>"
			       "<th>sealed</th><th>size</th><th>grant ends</th><th>diff</th></tr></thead><tbody>")))
		return r;
	if ((r = policy_releases_for(q->f, &q->who, q->now, list_one, &l)) || l.err)
		return r ? r : l.err;
	if (!l.n && (r = buf_addstr(b, "<tr><td colspan=\"7\">no release is granted to you now</td></tr>")))
		return r;
	if ((r = buf_addstr(b, "</tbody></table><p class=\"note\">The seal is the git tree id of what the vendor "
			       "sealed: <code>git rev-parse HEAD^{tree}</code> on the vendor's side gives the "
			       "same tree-sha1.</p>")))
		return r;
	return page_foot(q);
}

/* ---- builds and match verdicts (build.h, match.h): not code, so no grant is needed,
 * but a reviewer sees only the releases it may read ---- */

struct builds_ctx {
	struct req *q;
	int n;
	int err;
};

static int builds_visible(struct req *q, const char *product, const char *version)
{
	struct grant_info g;
	return strcmp(q->who.role, "reviewer") || !policy_may_read(q->f, &q->who, product, version, q->now, &g);
}

static int build_row(void *ctx, const struct build_record *br)
{
	struct builds_ctx *c = ctx;
	struct buf *b = &c->q->rs->body;
	char when[32];
	if (!builds_visible(c->q, br->product, br->version))
		return 0;
	policy_format_time(br->created_at, when, sizeof(when));
	if (buf_addstr(b, "<tr><td>") || esc(b, br->product) || buf_addch(b, '@') || esc(b, br->version) ||
	    buf_addf(b, "</td><td class=\"%s\">%s%s</td><td>%s</td><td class=\"id\">tree %s<br>env %s</td><td class=\"id\">",
		     br->status, br->status, br->envelope ? " (attested)" : "", when, br->tree_sha256, br->env_digest))
		return c->err = ERR_TOOBIG;
	for (size_t i = 0; i < br->n_outputs; i++) {
		char hx[65];
		hex_encode(hx, br->outputs[i].sha256, 32);
		if (esc(b, br->outputs[i].path) || buf_addf(b, " %s<br>", hx))
			return c->err = ERR_TOOBIG;
	}
	if (buf_addstr(b, "</td><td>") || esc(b, br->detail) || buf_addstr(b, "</td></tr>\n"))
		return c->err = ERR_TOOBIG;
	c->n++;
	return 0;
}

static int match_row(void *ctx, const struct match_verdict *v)
{
	struct builds_ctx *c = ctx;
	struct buf *b = &c->q->rs->body;
	char when[32];
	if (!builds_visible(c->q, v->product, v->version))
		return 0;
	policy_format_time(v->created_at, when, sizeof(when));
	if (buf_addstr(b, "<tr><td>") || esc(b, v->product) || buf_addch(b, '@') || esc(b, v->version) ||
	    buf_addstr(b, "</td><td>") || esc(b, v->artifact) ||
	    buf_addf(b, "</td><td class=\"id\">%s</td><td class=\"%s\">%s</td><td>", v->sha256,
		     v->identical ? "identical" : "differs", v->identical ? "identical" : "differs") ||
	    esc(b, v->detail) || buf_addstr(b, "</td><td>") || esc(b, v->actor) ||
	    buf_addf(b, "</td><td>%s</td><td>%" PRIu64 "</td></tr>\n", when, v->log_index))
		return c->err = ERR_TOOBIG;
	c->n++;
	return 0;
}

static int builds_page(struct req *q)
{
	struct buf *b = &q->rs->body;
	struct builds_ctx c = {q, 0, 0};
	int r;
	if ((r = page_head(q, "builds", NULL)) ||
	    (r = buf_addstr(b, "<h1>Builds in the room</h1><table class=\"builds\" id=\"builds\"><thead><tr>"
			       "<th>release</th><th>result</th><th>built</th><th>from</th><th>outputs (sha256)</th>"
			       "<th>cause</th></tr></thead><tbody>")))
		return r;
	if ((r = build_each(q->f, NULL, NULL, build_row, &c)) || c.err)
		return r ? r : c.err;
	if (!c.n && (r = buf_addstr(b, "<tr><td colspan=\"6\">no build yet (sealroom build P@V)</td></tr>")))
		return r;
	c.n = 0;
	if ((r = buf_addstr(b, "</tbody></table><h2>Shipped artifacts matched</h2><table class=\"matches\" "
			       "id=\"matches\"><thead><tr><th>release</th><th>artifact</th><th>sha256</th>"
			       "<th>verdict</th><th>where it differs</th><th>by</th><th>when</th><th>log entry</th>"
			       "</tr></thead><tbody>")))
		return r;
	if ((r = match_each(q->f, NULL, NULL, match_row, &c)) || c.err)
		return r ? r : c.err;
	if (!c.n && (r = buf_addstr(b, "<tr><td colspan=\"8\">no artifact matched yet (sealroom match P@V FILE)</td></tr>")))
		return r;
	if ((r = buf_addstr(b, "</tbody></table><p class=\"note\">A build is attested when two runs in the "
			       "sandbox, with the build path, clock, file order and host name varied, gave the same "
			       "bytes (docs/build.md).</p>")))
		return r;
	return page_foot(q);
}

/* Breadcrumbs for path under the release. */
static int crumbs(struct req *q, const struct web_route *rt, const char *path)
{
	struct buf *b = &q->rs->body;
	const char *p = path;
	if (buf_addstr(b, "<nav class=\"crumbs\"><a href=\"") || rel_url(b, rt->product, rt->version, "tree") ||
	    buf_addstr(b, "\">") || esc(b, rt->product) || buf_addch(b, '@') || esc(b, rt->version) || buf_addstr(b, "</a>"))
		return ERR_TOOBIG;
	while (*p) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - path) : strlen(path);
		char *prefix = xstrndup(path, n);
		char *name = xstrndup(p, slash ? (size_t)(slash - p) : strlen(p));
		int e = buf_addstr(b, " / ") || (slash ? (buf_addstr(b, "<a href=\"") || rel_url(b, rt->product, rt->version, "tree") ||
							 url(b, prefix) || buf_addstr(b, "\">") || esc(b, name) ||
							 buf_addstr(b, "</a>"))
						       : (buf_addstr(b, "<b>") || esc(b, name) || buf_addstr(b, "</b>")));
		free(prefix);
		free(name);
		if (e)
			return ERR_TOOBIG;
		if (!slash)
			break;
		p = slash + 1;
	}
	return buf_addstr(b, "</nav>");
}

/* First manifest position whose path is >= (p, len). */
static size_t lower_bound(const struct manifest *m, const char *p, size_t len)
{
	size_t lo = 0, hi = manifest_count(m);
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct manifest_entry *e = manifest_get(m, mid);
		size_t n = e->path_len < len ? e->path_len : len;
		int c = memcmp(e->path, p, n);
		if (c < 0 || (c == 0 && e->path_len < len))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * The entries of the folder (prefix, plen: "" or "dir/"; k: its first manifest index) as
 * <li> items, sub-folders then files, at most max (then a link to the whole folder); the
 * entry `current` (a file's path, or NULL) is marked.
 */
static int folder_entries(struct req *q, const struct web_route *rt, const struct manifest *m, const char *prefix,
			  size_t plen, size_t k, const char *current, size_t max)
{
	struct buf *b = &q->rs->body;
	size_t n = manifest_count(m), shown = 0;
	for (int pass = 0; pass < 2; pass++) {
		const char *last = NULL;
		size_t last_len = 0;
		for (size_t i = k; i < n; i++) {
			const struct manifest_entry *e = manifest_get(m, i);
			const char *name, *slash;
			size_t nl;
			if (plen && strncmp(e->path, prefix, plen))
				break;
			name = e->path + plen;
			slash = strchr(name, '/');
			nl = slash ? (size_t)(slash - name) : strlen(name);
			if ((pass == 0) != (slash != NULL))
				continue;
			if (last && last_len == nl && !memcmp(last, name, nl))
				continue;
			last = name;
			last_len = nl;
			if (shown == max) {
				if (buf_addstr(b, "<li class=\"more\"><a href=\"") || rel_url(b, rt->product, rt->version, "tree") ||
				    (plen && url(b, prefix)) || buf_addstr(b, "\">the whole folder</a></li>\n"))
					return ERR_TOOBIG;
				return 0;
			}
			{
				char *full = xstrndup(e->path, plen + nl);
				char *nm = xstrndup(name, nl);
				int here = !slash && current && !strcmp(current, e->path);
				int bad = buf_addf(b, "<li class=\"%s%s\"><a href=\"", slash ? "dir" : e->mode == 0120000 ? "link" : "file",
						   here ? " here" : "") ||
					  rel_url(b, rt->product, rt->version, slash ? "tree" : "blob") || url(b, full) ||
					  buf_addstr(b, here ? "\" aria-current=\"page\">" : "\">") || esc(b, nm) ||
					  buf_addstr(b, slash ? "/</a>" : "</a>") ||
					  (!slash && buf_addf(b, "<span class=\"size\">%" PRIu64 "</span>", e->size)) ||
					  buf_addstr(b, "</li>\n");
				free(full);
				free(nm);
				if (bad)
					return ERR_TOOBIG;
				shown++;
			}
		}
	}
	return 0;
}

static int tree_page(struct req *q, const struct web_route *rt, struct room *rm)
{
	struct buf *b = &q->rs->body, prefix;
	const struct manifest *m = room_manifest(rm);
	size_t k, n = manifest_count(m);
	const char *dir = rt->rest;
	size_t dl = strlen(dir);
	int r;
	buf_init(&prefix, HTTP_PATH_MAX + 2);
	if (dl && dir[dl - 1] == '/')
		dl--;
	if (dl && (buf_add(&prefix, dir, dl) || buf_addch(&prefix, '/'))) {
		buf_release(&prefix);
		return ERR_TOOBIG;
	}
	k = lower_bound(m, prefix.p ? prefix.p : "", prefix.len);
	if (dl && (k >= n || strncmp(manifest_get(m, k)->path, prefix.p, prefix.len))) {
		size_t fi;
		char *file = xstrndup(dir, dl);
		int found = room_find(rm, file, &fi) == 0;
		buf_release(&prefix);
		if (found) {
			struct buf to;
			buf_init(&to, 0);
			r = rel_url(&to, rt->product, rt->version, "blob") || url(&to, file) ? ERR_TOOBIG : redirect(q, to.p);
			buf_release(&to);
			free(file);
			return r;
		}
		free(file);
		return fail_page(q, 404, not_granted, 0);
	}
	if ((r = page_head(q, dl ? dir : "tree", rt)) || (r = crumbs(q, rt, prefix.len ? prefix.p : "")) ||
	    (r = buf_addstr(b, "<ul class=\"tree\" id=\"tree\">")) ||
	    (r = folder_entries(q, rt, m, prefix.p ? prefix.p : "", prefix.len, k, NULL, SIZE_MAX)))
		goto out;
	if ((r = buf_addstr(b, "</ul>")) || (r = page_foot(q)))
		goto out;
out:
	buf_release(&prefix);
	return r;
}

static struct render_ctx rctx(struct req *q, const struct web_route *rt, struct room *rm)
{
	struct render_ctx c = {0};
	c.f = q->f;
	c.log = q->w->log;
	c.hooks = q->w->hooks;
	c.who = &q->who;
	c.product = rt->product;
	c.version = rt->version;
	c.cache = q->w->cache;
	c.now = q->now;
	room_render_ctx(rm, &c);
	return c;
}

static uint64_t param_u64(const struct http_req *rq, const char *name, uint64_t dflt, uint64_t max)
{
	struct buf v;
	uint64_t x = dflt;
	buf_init(&v, 64);
	if (!web_param(rq->query, strlen(rq->query), name, &v) && v.len && v.len < 20 &&
	    strspn(v.p, "0123456789") == v.len) {
		x = strtoull(v.p, NULL, 10);
		if (x > max)
			x = max;
	}
	buf_release(&v);
	return x;
}

/* The lines the print form asks for at first: a screenful, not the file */
#define PRINT_FORM_LINES 50

/*
 * The file finder's score of path (p, len) for the query (q, n), ASCII case ignored: 0 when
 * the query's bytes are not all in the path in order; else higher for a match within the
 * last component, then for one in a row, then for a shorter path.
 */
static long finder_score(const char *p, size_t len, const char *q, size_t n)
{
	const char *base = memrchr(p, '/', len);
	size_t b = base ? (size_t)(base - p) + 1 : 0, i = 0, k = 0;
	if (!n)
		return 0;
	for (size_t j = b; j + n <= len; j++)
		if (!strncasecmp(p + j, q, n))
			return 3000000 - (long)len;
	for (size_t j = 0; j + n <= len; j++)
		if (!strncasecmp(p + j, q, n))
			return 2000000 - (long)len;
	for (; i < len && k < n; i++)
		if (index_fold((unsigned char)p[i]) == index_fold((unsigned char)q[k]))
			k++;
	if (k < n)
		return 0;
	return 1000000 - (long)len;
}

struct finder_hit {
	long score;
	size_t i;
};

static int finder_cmp(const void *a, const void *b)
{
	const struct finder_hit *x = a, *y = b;
	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

/*
 * /r/<P@V>/files?q=TEXT: the file finder, the release's paths whose letters hold the query's
 * in order (best first: in the file's name, then in a row, then shorter), at most
 * WEB_FINDER_MAX; with frag=1 the list alone (app.js fills the finder beside the code as the
 * reader types). Paths are what the tree shows: no code, nothing charged.
 */
static int files_page(struct req *q, const struct web_route *rt, struct room *rm)
{
	struct buf *b = &q->rs->body, text;
	const struct manifest *m = room_manifest(rm);
	size_t n = manifest_count(m), n_hits = 0, cap = 0;
	struct finder_hit *hits = NULL;
	int frag = (int)param_u64(q->rq, "frag", 0, 1), r;
	buf_init(&text, WEB_FINDER_QUERY_MAX);
	r = web_param(q->rq->query, strlen(q->rq->query), "q", &text);
	if (r && r != ERR_NOTFOUND) {
		buf_release(&text);
		return fail_page(q, r == ERR_TOOBIG ? 414 : 400,
				 r == ERR_TOOBIG ? "files: a query of at most 256 bytes" : "files: not a valid query", 0);
	}
	for (size_t i = 0; text.len && i < n; i++) {
		const struct manifest_entry *e = manifest_get(m, i);
		long s = finder_score(e->path, e->path_len, text.p, text.len);
		if (!s)
			continue;
		if (n_hits == cap) {
			cap = cap ? 2 * cap : 256;
			hits = xrealloc(hits, cap * sizeof(*hits));
		}
		hits[n_hits].score = s;
		hits[n_hits++].i = i;
	}
	if (n_hits)
		qsort(hits, n_hits, sizeof(*hits), finder_cmp);
	if (!frag && ((r = page_head(q, "files", rt)) ||
		      (r = buf_addstr(b, "<form class=\"bigsearch\" method=\"get\" action=\"\"><input name=\"q\" id=\"bigq\" "
					 "placeholder=\"go to file: letters of its path\" autocomplete=\"off\" spellcheck=\"false\" value=\"")) ||
		      (r = esc(b, text.p ? text.p : "")) || (r = buf_addstr(b, "\"><button type=\"submit\">find</button></form>"))))
		goto out;
	if ((r = buf_addf(b, "<p class=\"summary\" id=\"files-count\">%zu file%s", n_hits, n_hits == 1 ? "" : "s")) ||
	    (n_hits > WEB_FINDER_MAX && (r = buf_addf(b, " (the best %d shown)", WEB_FINDER_MAX))) ||
	    (r = buf_addstr(b, "</p><ul class=\"tree files\" id=\"files\">")))
		goto out;
	for (size_t k = 0; k < n_hits && k < WEB_FINDER_MAX; k++) {
		const struct manifest_entry *e = manifest_get(m, hits[k].i);
		if ((r = buf_addstr(b, "<li class=\"file\"><a href=\"")) || (r = rel_url(b, rt->product, rt->version, "blob")) ||
		    (r = url(b, e->path)) || (r = buf_addstr(b, "\">")) || (r = esc(b, e->path)) || (r = buf_addstr(b, "</a></li>\n")))
			goto out;
	}
	if ((r = buf_addstr(b, "</ul>")) || (!frag && (r = page_foot(q))))
		goto out;
out:
	free(hits);
	buf_release(&text);
	return r;
}

/*
 * Beside the code: the file finder's input (app.js asks /files?q=&frag=1 as the reader
 * types; p opens it) and the entries of the file's folder, the file marked, with a link up.
 */
static int side_tree(struct req *q, const struct web_route *rt, struct room *rm, const struct manifest_entry *e)
{
	struct buf *b = &q->rs->body;
	const struct manifest *m = room_manifest(rm);
	const char *slash = memrchr(e->path, '/', e->path_len);
	size_t plen = slash ? (size_t)(slash - e->path) + 1 : 0;
	char *prefix = xstrndup(e->path, plen);
	int r;
	if ((r = buf_addstr(b, "<nav class=\"side\" id=\"side\"><form method=\"get\" action=\"")) ||
	    (r = rel_url(b, rt->product, rt->version, "files")) ||
	    (r = buf_addstr(b, "\"><input name=\"q\" id=\"finder\" placeholder=\"go to file (p)\" autocomplete=\"off\" "
			       "spellcheck=\"false\"></form><ul class=\"tree files\" id=\"finder-list\" hidden></ul>"
			       "<div class=\"oh\"><a id=\"side-up\" href=\"")) ||
	    (r = rel_url(b, rt->product, rt->version, "tree")) || (plen && (r = url(b, prefix))) ||
	    (r = buf_addstr(b, "\">")) || (r = esc(b, plen ? prefix : "/")) ||
	    (r = buf_addstr(b, "</a></div><ul class=\"tree\" id=\"side-tree\">")) ||
	    (r = folder_entries(q, rt, m, prefix, plen, lower_bound(m, prefix, plen), e->path, WEB_SIDE_MAX)) ||
	    (r = buf_addstr(b, "</ul></nav>")))
		goto out;
out:
	free(prefix);
	return r;
}

static int blob_page(struct req *q, const struct web_route *rt, struct room *rm)
{
	struct buf *b = &q->rs->body, code;
	const struct manifest_entry *e;
	struct render_ctx c;
	uint64_t from = param_u64(q->rq, "from", 1, UINT64_MAX / 2), to = 0, n_lines = 0;
	uint64_t at = param_u64(q->rq, "at", 0, UINT64_MAX / 2);
	struct render_kind kind;
	int64_t lines_left = -1;
	char blob[65];
	struct buf find, v, fq = {0};
	int caseless;
	size_t fi;
	int r;
	/* ?at=N: the window around line N (a quarter of it above) */
	if (at)
		from = at > RENDER_PAGE_LINES / 4 ? at - RENDER_PAGE_LINES / 4 : 1;
	if (room_find(rm, rt->rest, &fi))
		return fail_page(q, 404, not_granted, 0);
	e = manifest_get(room_manifest(rm), fi);
	/* find in file: a literal of at most RENDER_FIND_LEN bytes, no control byte */
	buf_init(&find, RENDER_FIND_LEN);
	buf_init(&v, 8);
	r = web_param(q->rq->query, strlen(q->rq->query), "find", &find);
	caseless = !web_param(q->rq->query, strlen(q->rq->query), "fi", &v) && v.len;
	buf_release(&v);
	if (r && r != ERR_NOTFOUND) {
		buf_release(&find);
		return fail_page(q, r == ERR_TOOBIG ? 414 : 400,
				 r == ERR_TOOBIG ? "find: at most 256 bytes" : "find: not a valid text", 0);
	}
	for (size_t i = 0; i < find.len; i++)
		if ((unsigned char)find.p[i] < 0x20 || find.p[i] == 0x7f) {
			buf_release(&find);
			return fail_page(q, 400, "find: a control byte cannot match within a line", 0);
		}
	buf_init(&code, (size_t)64 << 20);
	c = rctx(q, rt, rm);
	{ /* a window no larger than what is left of the budget, so that a small one reads too */
		struct grant_info g;
		struct quota_status st;
		if (!policy_may_read(q->f, &q->who, rt->product, rt->version, q->now, &g) &&
		    !quota_status_of(q->f, &g, q->now, &st)) {
			if (st.lines_left > 0 && st.lines_left < RENDER_PAGE_LINES)
				c.window = (uint64_t)st.lines_left;
			lines_left = st.lines_left;
			c.lines_left = &lines_left;
		}
	}
	/* ?from=N&part=K: the rest of line N past its cut, part K alone (render.h) */
	c.part = param_u64(q->rq, "part", 0, RENDER_PART_KEY - 1);
	c.find = find.len ? find.p : NULL;
	c.find_len = find.len;
	c.find_caseless = caseless;
	r = room_render_file(rm, &c, fi, from, &code, &to, &n_lines, &kind);
	if (r) {
		buf_release(&code);
		buf_release(&find);
		if (r == ERR_NOTFOUND && c.part)
			return fail_page(q, 404, "part: the line has no such part", 0);
		return r == ERR_DENIED ? refuse_grant(q, 0) : r;
	}
	q->rs->sensitive = 1;
	hex_encode(blob, e->sha256, 32);
	/* the find in file goes on with the reader to the windows before and after */
	buf_init(&fq, 3 * RENDER_FIND_LEN + 32);
	if (find.len && ((r = buf_addstr(&fq, "&amp;find=")) || (r = url(&fq, find.p)) ||
			 (caseless && (r = buf_addstr(&fq, "&amp;fi=1")))))
		goto out;
	/* the body once, at its size: no copies of the page left behind by growing it */
	if ((r = buf_grow(b, code.len + 16384)))
		goto out;
	if (param_u64(q->rq, "window", 0, 1)) {
		/* the next window alone, for the page to append as the reader scrolls (app.js) */
		if ((r = buf_addstr(b, "<div id=\"window\"")) ||
		    (to < n_lines && (r = buf_addf(b, " data-next=\"?from=%" PRIu64 "%s\"", to + 1, fq.p))) ||
		    (r = buf_addch(b, '>')) || (r = budget_line(q, rt)) || (r = buf_add(b, code.p, code.len)) ||
		    (r = buf_addstr(b, "</div>\n")))
			goto out;
		goto out;
	}
	/* what the file is: its lines, or the image it is shown as and what that is charged, or
	 * binary */
	if ((r = page_head(q, rt->rest, rt)) || (r = crumbs(q, rt, rt->rest)) ||
	    (r = buf_addstr(b, "<div class=\"meta\" id=\"meta\"><span>")) ||
	    (r = kind.image ? buf_addf(b, "%s image, %d×%d, charged as %" PRIu64 " line%s", kind.image, kind.width,
				       kind.height, kind.lines, kind.lines == 1 ? "" : "s")
		 : kind.binary ? buf_addstr(b, "binary")
			       : buf_addf(b, "%" PRIu64 " line%s", n_lines, n_lines == 1 ? "" : "s")) ||
	    (r = kind.lang && *kind.lang ? buf_addf(b, "</span><span id=\"lang\" title=\"highlighted as\">%s", kind.lang)
					 : 0) ||
	    (r = buf_addf(b, "</span><span>%" PRIu64 " bytes</span><span>mode %o</span><span class=\"id\" "
			     "title=\"git blob sha256\">blob %s</span>",
			  e->size, e->mode, blob)))
		goto out;
	if ((r = buf_addstr(b, "<a id=\"permalink\" href=\"\">permalink</a> <a href=\"")) ||
	    (r = rel_url(b, rt->product, rt->version, "search")) || (r = buf_addstr(b, "\">search</a>")))
		goto out;
	/* find in file, on the server: the font draws cipher text, so the browser's own find cannot */
	if ((r = buf_addstr(b, "<form class=\"find\" id=\"findform\" method=\"get\" action=\"\">"
			       "<input id=\"find-q\" name=\"find\" maxlength=\"256\" placeholder=\"find in file (f)\" "
			       "autocomplete=\"off\" spellcheck=\"false\" value=\"")) ||
	    (r = render_escape(b, find.p ? find.p : "", find.len)) ||
	    (r = buf_addf(b, "\"><label><input type=\"checkbox\" name=\"fi\" value=\"1\"%s> ignore case</label></form>"
			     "<label class=\"wrapbox\"><input type=\"checkbox\" id=\"wrap\"> wrap (w)</label>",
			  caseless ? " checked" : "")))
		goto out;
	{
		char prev[RELEASE_NAME_MAX + 1];
		if (!previous_release(q, rt->product, rt->version, prev) &&
		    ((r = buf_addstr(b, "<a id=\"since\" href=\"")) || (r = rel_url(b, rt->product, rt->version, "diff")) ||
		     (r = url(b, prev)) || (r = buf_addch(b, '/')) || (r = url(b, rt->rest)) ||
		     (r = buf_addstr(b, "\">changes since ")) || (r = esc(b, prev)) || (r = buf_addstr(b, "</a>"))))
			goto out;
	}
	/* print a line range to a Bates-numbered PDF (POST, counted, logged); the form asks for
	 * a screenful from the window's first line, and app.js keeps it on the lines on the
	 * screen as they scroll by */
	/* (none for a file that shows no line: an image, a binary file, an empty one) */
	if (to >= from &&
	    ((r = buf_addstr(b, "<form class=\"print\" id=\"print\" method=\"post\" action=\"")) ||
	     (r = rel_url(b, rt->product, rt->version, "print")) || (r = url(b, rt->rest)) ||
	     (r = buf_addf(b, "\"><input type=\"hidden\" name=\"csrf\" value=\"%s\">print lines "
			      "<input name=\"from\" size=\"5\" value=\"%" PRIu64 "\"> to <input name=\"to\" "
			      "size=\"5\" value=\"%" PRIu64 "\"> <button type=\"submit\">PDF</button></form>",
			   q->csrf, from, to < from + PRINT_FORM_LINES ? to : from + PRINT_FORM_LINES - 1))))
		goto out;
	if ((r = buf_addstr(b, "<a id=\"notes-link\" href=\"")) || (r = rel_url(b, rt->product, rt->version, "notes")) ||
	    (r = buf_addstr(b, "\">notes</a> <a id=\"findings-link\" href=\"")) ||
	    (r = rel_url(b, rt->product, rt->version, "findings")) || (r = buf_addstr(b, "\">findings</a>")))
		goto out;
	if (e->mode == 0120000 && (r = buf_addstr(b, "<span>symbolic link</span>")))
		goto out;
	if ((r = buf_addstr(b, "</div>")))
		goto out;
	/* a finding on the selected lines (select them with the mouse, shift-click, or the
	 * keyboard: j/k, x, then F); app.js fills the range */
	if (!strcmp(q->who.org_kind, "lab") && !strcmp(q->who.role, "reviewer") &&
	    ((r = buf_addstr(b, "<details class=\"finding-form\" id=\"finding-box\"><summary>file a finding on "
			       "the selected lines</summary><form id=\"finding-form\" method=\"post\" action=\"")) ||
	     (r = rel_url(b, rt->product, rt->version, "findings")) ||
	     (r = buf_addf(b, "\"><input type=\"hidden\" name=\"csrf\" value=\"%s\"><input type=\"hidden\" name=\"path\" value=\"",
			   q->csrf)) ||
	     (r = esc(b, rt->rest)) ||
	     (r = buf_addstr(b, "\">lines <input name=\"from\" id=\"f-from\" size=\"5\" required> to <input name=\"to\" "
				"id=\"f-to\" size=\"5\" required> <input name=\"title\" id=\"f-title\" size=\"50\" "
				"placeholder=\"title\" required> <select name=\"severity\" id=\"f-severity\"><option>low</option>"
				"<option selected>medium</option><option>high</option><option>critical</option><option value=\"cvss\">"
				"CVSS v3.1 vector</option></select> <input name=\"cvss\" id=\"f-cvss\" size=\"46\" placeholder=\""
				"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H\"> CWE <input name=\"cwe\" id=\"f-cwe\" size=\"6\"><br>"
				"<textarea name=\"text\" id=\"f-text\" rows=\"4\" cols=\"90\" placeholder=\"what is wrong, "
				"in your words (quoting 12 tokens of code is refused)\"></textarea><br><button type=\"submit\" "
				"id=\"f-submit\">file finding</button> <span class=\"note\">the vendor and your lab see it, no one "
				"else</span></form></details>"))))
		goto out;
	if (!c.part && (from > 1 || to < n_lines)) {
		uint64_t prev = from > RENDER_PAGE_LINES ? from - RENDER_PAGE_LINES : 1;
		if ((r = buf_addf(b, "<nav class=\"pages\">lines %" PRIu64 "-%" PRIu64 " of %" PRIu64, from, to, n_lines)))
			goto out;
		if (from > 1 && (r = buf_addf(b, " <a href=\"?from=%" PRIu64 "%s\">previous</a>", prev, fq.p)))
			goto out;
		if (to < n_lines && (r = buf_addf(b, " <a id=\"next-window\" href=\"?from=%" PRIu64 "%s\">next</a>", to + 1, fq.p)))
			goto out;
		if ((r = buf_addstr(b, "</nav>")))
			goto out;
	}
	/* the code and, beside it, the file's folder with the finder, and its outline */
	if ((r = buf_addstr(b, "<div class=\"view\">")) || (r = side_tree(q, rt, rm, e)) ||
	    (r = buf_add(b, code.p, code.len)) || (r = buf_addstr(b, "</div>")) || (r = page_foot(q)))
		goto out;
out:
	sodium_memzero(code.p, code.len);
	buf_release(&code);
	buf_release(&find);
	buf_release(&fq);
	return r;
}

/*
 * /r/<P@V>/def?n=N: the definitions of symbol N, those with a body preferred over
 * prototypes and forward declarations: one redirects to its line, several are listed with
 * a preview of each line (through the renderer), with the link to the references.
 */
static int def_page(struct req *q, const struct web_route *rt, struct room *rm)
{
	struct buf *b = &q->rs->body, to, code;
	uint64_t n = param_u64(q->rq, "n", UINT64_MAX, UINT64_MAX);
	struct xref_loc *locs = NULL;
	size_t n_locs = 0, keep = 0;
	char *name = NULL;
	int r = 0;
	if (room_definitions(rm, n, &name, &locs, &n_locs))
		return fail_page(q, 404, not_granted, 0);
	for (size_t i = 0; i < n_locs; i++)
		keep += locs[i].body != 0;
	if (keep) {
		for (size_t i = 0, k = 0; i < n_locs; i++)
			if (locs[i].body)
				locs[k++] = locs[i];
		n_locs = keep;
	}
	buf_init(&to, 0);
	buf_init(&code, (size_t)64 << 20);
	{
		/* charged and logged as the preview of each line even when one redirects to its
		 * line: where the definition of the n-th name (in name order) stands is told by
		 * the redirect, and a free one for each n would place every name among the others */
		struct render_ctx c = rctx(q, rt, rm);
		if ((r = room_render_definitions(rm, &c, name, locs, n_locs, &code))) {
			if (r == ERR_DENIED)
				r = refuse_grant(q, 0);
			goto out;
		}
	}
	if (n_locs == 1) {
		if ((r = render_blob_href(&to, rt->product, rt->version, locs[0].path, locs[0].path_len, locs[0].line)))
			goto out;
		r = redirect(q, to.p);
		goto out;
	}
	q->rs->sensitive = 1;
	if ((r = buf_grow(b, code.len + 16384)) || (r = page_head(q, "definitions", rt)) || (r = buf_add(b, code.p, code.len)) ||
	    (r = buf_addstr(b, "<p><a id=\"refs\" href=\"")) || (r = rel_url(b, rt->product, rt->version, "refs")) ||
	    (r = buf_addf(b, "?n=%" PRIu64 "\">find references</a></p>", n)) || (r = page_foot(q)))
		goto out;
out:
	sodium_memzero(code.p, code.len);
	buf_release(&code);
	buf_release(&to);
	free(locs);
	free(name);
	return r;
}

/* The key of a query for its offsets (quota_offset_check): its options and text. */
static int query_key(struct buf *out, const struct buf *text, const struct query_opts *qo)
{
	buf_reset(out);
	return buf_addf(out, "%d%d%d:", qo->caseless, qo->word, qo->literal) || buf_add(out, text->p, text->len)
		       ? ERR_TOOBIG
		       : 0;
}

/* Run a search for the search page, the references page and the API. */
/*
 * The log entry of a search the release's worker failed on (it crashed, hung or answered
 * what does not hold): nothing was shown, but a pattern that stops the regex engine may be
 * an attack on it, and the vendor reads the log. Best effort: the search fails either way.
 */
static void log_search_failed(struct req *q, const struct web_route *rt, const char *text)
{
	char ref[2 * RELEASE_NAME_MAX + 2], why[512];
	json_t *e;
	snprintf(why, sizeof(why), "%s", err_msg());
	snprintf(ref, sizeof(ref), "%s@%s", rt->product, rt->version);
	e = logdb_entry_new("search_failed", q->who.login);
	logdb_entry_str(e, "session", q->who.session_id);
	logdb_entry_str(e, "release", ref);
	logdb_entry_str(e, "query", text);
	logdb_entry_str(e, "reason", why);
	(void)!logdb_append(q->w->log, e, NULL);
	json_decref(e);
	err_set(ERR_IO, "%s", why);
}

static int run_search(struct req *q, const struct web_route *rt, struct room *rm, const char *text,
		      const struct query_opts *qo, size_t limit, size_t offset, struct search_result **res, int json)
{
	struct search_opts so;
	int r;
	*res = NULL;
	search_opts_default(&so);
	so.limit = limit;
	so.offset = offset;
	/* context lines are shown code too: charged like the matches (quota.h) */
	so.context = (unsigned)param_u64(q->rq, "context", 0, SEARCH_CONTEXT_MAX);
	/* parsed and run in the release's search worker, not here */
	r = room_search(rm, text, qo, &so, res);
	if (r == ERR_PARSE || r == ERR_USAGE || r == ERR_TOOBIG)
		return fail_page(q, 400, err_msg(), json) ? ERR_TOOBIG : 1;
	if (r == ERR_IO)
		log_search_failed(q, rt, text);
	if (r)
		return fail_page(q, 503, err_msg(), json) ? ERR_TOOBIG : 1;
	return 0;
}

/* The most names a line of the file view has that a place may ask (?k=) */
#define NAMES_PER_LINE_MAX 100000

/*
 * /r/<P@V>/refs/<path>?line=L&k=K: the K-th name (0-based) of line L of the file as its
 * view shows it, a name with no definition as well as one with. Answered only for a line
 * shown to this reader today (whatever the line holds, the answer to any other is the same
 * refusal), so that a place asked is no oracle on code not shown. 0 with *name set; 1 when
 * a page was written; < 0 on failure.
 */
static int name_by_place(struct req *q, const struct web_route *rt, struct room *rm, const struct render_ctx *c,
			 char **name)
{
	uint64_t line = param_u64(q->rq, "line", 0, UINT32_MAX), k = param_u64(q->rq, "k", UINT64_MAX, NAMES_PER_LINE_MAX);
	struct grant_info g;
	char blob[65];
	size_t fi;
	int r;
	*name = NULL;
	if (!line || k == UINT64_MAX || room_find(rm, rt->rest, &fi))
		return fail_page(q, 404, not_granted, 0) ? ERR_TOOBIG : 1;
	if (policy_may_read(q->f, &q->who, rt->product, rt->version, q->now, &g))
		return refuse_grant(q, 0) ? ERR_TOOBIG : 1;
	hex_encode(blob, manifest_get(room_manifest(rm), fi)->sha256, 32);
	if ((r = quota_line_shown(q->f, &g, blob, line, q->now)))
		return r != ERR_DENIED ? r : fail_page(q, 403, err_msg(), 0) ? ERR_TOOBIG : 1;
	if (room_name_at(rm, c, fi, line, k, name))
		return fail_page(q, 404, "references: no name there", 0) ? ERR_TOOBIG : 1;
	return 0;
}

static int search_page(struct req *q, const struct web_route *rt, struct room *rm, int refs)
{
	struct buf *b = &q->rs->body, text, code;
	struct query_opts qo = {0};
	struct search_result *res = NULL;
	struct render_ctx c = rctx(q, rt, rm);
	uint64_t page = param_u64(q->rq, "page", 0, 1000);
	char *name = NULL;
	int r;
	buf_init(&text, QUERY_MAX + 1);
	buf_init(&code, (size_t)64 << 20);
	if (refs) {
		struct xref_loc *locs = NULL;
		size_t n_locs = 0;
		if (!*rt->rest) {
			if (room_definitions(rm, param_u64(q->rq, "n", UINT64_MAX, UINT64_MAX), &name, &locs, &n_locs))
				name = NULL;
			free(locs);
		} else if ((r = name_by_place(q, rt, rm, &c, &name))) {
			r = r > 0 ? 0 : r;
			goto out;
		}
		if (!name) {
			r = fail_page(q, 404, not_granted, 0);
			goto out;
		}
		qo.literal = 1;
		qo.word = 1;
		r = buf_addstr(&text, name);
	} else {
		struct buf v;
		buf_init(&v, 8);
		qo.caseless = !web_param(q->rq->query, strlen(q->rq->query), "i", &v) && v.len;
		qo.word = !web_param(q->rq->query, strlen(q->rq->query), "w", &v) && v.len;
		qo.literal = !web_param(q->rq->query, strlen(q->rq->query), "l", &v) && v.len;
		buf_release(&v);
		r = web_param(q->rq->query, strlen(q->rq->query), "q", &text);
		if (r == ERR_NOTFOUND) {
			r = buf_addstr(&text, "");
		} else if (r) {
			r = fail_page(q, 400, "the query is not valid", 0);
			goto out;
		}
	}
	if (r)
		goto out;
	if (text.len) {
		struct grant_info g;
		struct buf key;
		int more;
		buf_init(&key, QUERY_MAX + 16);
		/* a page no further than the pages of this query shown so far */
		if (!(r = policy_may_read(q->f, &q->who, rt->product, rt->version, q->now, &g)) &&
		    !(r = query_key(&key, &text, &qo)) && !(r = quota_query_watch(q->f, &q->who, &g, key.p, q->now, NULL)))
			r = quota_offset_check(q->f, &q->who, &g, key.p, key.len, (uint64_t)page * WEB_SEARCH_LIMIT_DEFAULT, q->now);
		if (r) {
			buf_release(&key);
			r = r == ERR_DENIED ? fail_page(q, 403, err_msg(), 0) : r;
			goto out;
		}
		if ((r = run_search(q, rt, rm, text.p, &qo, WEB_SEARCH_LIMIT_DEFAULT, (size_t)page * WEB_SEARCH_LIMIT_DEFAULT,
				    &res, 0))) {
			buf_release(&key);
			r = r > 0 ? 0 : r;
			goto out;
		}
		if (!(r = render_search_html(&c, text.p, res, &code)))
			r = quota_offset_reached(q->f, &g, key.p, key.len,
						 render_search_total(res, (uint64_t)page * WEB_SEARCH_LIMIT_DEFAULT, &more),
						 q->now);
		buf_release(&key);
		if (r) {
			if (r == ERR_DENIED)
				r = refuse_grant(q, 0);
			goto out;
		}
		q->rs->sensitive = 1;
	} else {
		struct grant_info g;
		if (policy_may_read(q->f, &q->who, rt->product, rt->version, q->now, &g)) {
			r = refuse_grant(q, 0);
			goto out;
		}
	}
	if ((r = page_head(q, refs ? "references" : "search", rt)) ||
	    (r = buf_addstr(b, "<form class=\"bigsearch\" method=\"get\" action=\"\"><input name=\"q\" id=\"bigq\" value=\"")) ||
	    (r = (refs ? 0 : esc(b, text.p ? text.p : ""))) ||
	    (r = buf_addstr(b, "\" placeholder=\"regex, file:, lang:, sym:\" spellcheck=\"false\">")) ||
	    (r = buf_addf(b, "<label><input type=\"checkbox\" name=\"i\" value=\"1\"%s> ignore case</label>"
			     "<label><input type=\"checkbox\" name=\"w\" value=\"1\"%s> whole word</label>"
			     "<label><input type=\"checkbox\" name=\"l\" value=\"1\"%s> literal</label>"
			     "<label>context <input type=\"number\" name=\"context\" id=\"context\" min=\"0\" max=\"%d\" value=\"%u\"></label>"
			     "<button type=\"submit\">search</button></form>",
			  !refs && qo.caseless ? " checked" : "", !refs && qo.word ? " checked" : "",
			  !refs && qo.literal ? " checked" : "", SEARCH_CONTEXT_MAX,
			  (unsigned)param_u64(q->rq, "context", 0, SEARCH_CONTEXT_MAX))))
		goto out;
	if (res) {
		int more;
		uint64_t total = render_search_total(res, (uint64_t)page * WEB_SEARCH_LIMIT_DEFAULT, &more);
		if ((r = buf_addf(b, "<p class=\"summary\" id=\"summary\">%s%s%" PRIu64 " matching lines%s (%.1f ms)</p>",
				  refs ? "references: " : "", more ? "at least " : "", total,
				  search_result_partial(res) ? ", partial" : "", search_result_ms(res))) ||
		    (r = buf_add(b, code.p, code.len)))
			goto out;
		{
			/* previous, page numbers (the first, four either side), next: no further than
			 * one page past this one, the furthest a reader may go (quota_offset_check) */
			uint64_t n_pages = page + 1 + (more ? 1 : 0), last = 0;
			unsigned ctx = (unsigned)param_u64(q->rq, "context", 0, SEARCH_CONTEXT_MAX);
			struct buf base;
			buf_init(&base, 2 * QUERY_MAX + 256);
			if (refs && *rt->rest)
				r = buf_addf(&base, "?line=%" PRIu64 "&amp;k=%" PRIu64, param_u64(q->rq, "line", 0, UINT32_MAX),
					     param_u64(q->rq, "k", 0, NAMES_PER_LINE_MAX));
			else if (refs)
				r = buf_addf(&base, "?n=%" PRIu64, param_u64(q->rq, "n", UINT64_MAX, UINT64_MAX));
			else if (!(r = buf_addstr(&base, "?q=")) && !(r = url(&base, text.p)))
				r = buf_addf(&base, "%s%s%s", qo.caseless ? "&amp;i=1" : "", qo.word ? "&amp;w=1" : "",
					     qo.literal ? "&amp;l=1" : "");
			if (!r && ctx)
				r = buf_addf(&base, "&amp;context=%u", ctx);
			if (!r && n_pages > 1) {
				r = buf_addstr(b, "<nav class=\"pages\" id=\"pages\">");
				if (!r && page > 0)
					r = buf_addf(b, "<a id=\"prev\" href=\"%s&amp;page=%" PRIu64 "\">previous</a> ", base.p, page - 1);
				for (uint64_t k = 0; !r && k < n_pages; k++) {
					if (k && k + 1 < n_pages && k + 4 < page)
						continue;
					if (last + 1 < k)
						r = buf_addstr(b, "… ");
					if (!r)
						r = k == page ? buf_addf(b, "<b class=\"page\">%" PRIu64 "</b> ", k + 1)
							      : buf_addf(b, "<a class=\"page\" href=\"%s&amp;page=%" PRIu64 "\">%" PRIu64 "</a> ",
									 base.p, k, k + 1);
					last = k;
				}
				if (!r && more)
					r = buf_addf(b, "<a id=\"next\" href=\"%s&amp;page=%" PRIu64 "\">next</a>", base.p, page + 1);
				if (!r)
					r = buf_addstr(b, "</nav>");
			}
			buf_release(&base);
			if (r)
				goto out;
		}
	}
	r = page_foot(q);
out:
	search_result_free(res);
	sodium_memzero(code.p, code.len);
	buf_release(&code);
	buf_release(&text);
	free(name);
	return r;
}

/* Is the change's path (the new path, or the old one for a deletion or rename) below
 * folder (dir, len) ("" and 0: the root)? */
static int change_below(const struct diff_change *ch, const char *dir, size_t len)
{
	const struct manifest_entry *e = ch->new ? ch->new : ch->old;
	const struct manifest_entry *o = ch->old;
	if (!len)
		return 1;
	return (e->path_len > len && !strncmp(e->path, dir, len) && e->path[len] == '/') ||
	       (o && o->path_len > len && !strncmp(o->path, dir, len) && o->path[len] == '/');
}

/*
 * /r/<P@V>/diff/<OLD_V>/<path>: for a file, its line diff (render_diff; a renamed file is
 * compared with its old path); for a folder or the root, the files added, modified,
 * renamed and deleted below it (room_diff_trees: renames paired as `git diff -M` pairs them).
 */
static int diff_page(struct req *q, const struct web_route *rt, struct room *rm)
{
	struct buf *b = &q->rs->body, code;
	char old_v[RELEASE_NAME_MAX + 1];
	const char *slash = strchr(rt->rest, '/'), *path;
	struct room *old = NULL;
	struct grant_info g;
	struct diff_change *chs = NULL, *ch = NULL, same = {0};
	size_t vl, n_ch = 0, plen, oi, ni;
	uint64_t context = param_u64(q->rq, "ctx", DIFF_CONTEXT_DEFAULT, RENDER_DIFF_CONTEXT_MAX);
	int r;
	vl = slash ? (size_t)(slash - rt->rest) : strlen(rt->rest);
	if (!vl || vl > RELEASE_NAME_MAX)
		return fail_page(q, 404, not_granted, 0);
	memcpy(old_v, rt->rest, vl);
	old_v[vl] = 0;
	path = slash ? slash + 1 : "";
	plen = strlen(path);
	if (plen && path[plen - 1] == '/')
		plen--;
	if (policy_may_read(q->f, &q->who, rt->product, old_v, q->now, &g))
		return refuse_grant(q, 0);
	if ((r = room_get(q->w->rooms, q->f, rt->product, old_v, q->now, 1, &old)))
		return locked_page(q, r, "the older release is locked: the vendor has not unlocked it", 0);
	buf_init(&code, (size_t)64 << 20);
	if ((r = room_diff_trees(old, rm, &chs, &n_ch)))
		goto out;
	for (size_t i = 0; *path && i < n_ch && !ch; i++) {
		const struct manifest_entry *e = chs[i].new ? chs[i].new : chs[i].old;
		if ((e->path_len == plen && !memcmp(e->path, path, plen)) ||
		    (chs[i].status == DIFF_RENAMED && chs[i].old->path_len == plen && !memcmp(chs[i].old->path, path, plen)))
			ch = &chs[i];
	}
	if (!ch && *path && !room_find(old, path, &oi) && !room_find(rm, path, &ni)) {
		same = (struct diff_change){DIFF_MODIFIED, manifest_get(room_manifest(old), oi),
					     manifest_get(room_manifest(rm), ni), 0};
		ch = &same; /* the same in both: "no changes in this file" */
	}
	if (ch) {
		struct render_ctx c = rctx(q, rt, rm);
		if ((r = room_render_diff(old, rm, &c, old_v, (unsigned)context, ch->old, ch->new, &code))) {
			if (r == ERR_DENIED)
				r = refuse_grant(q, 0);
			goto out;
		}
		q->rs->sensitive = 1;
		if ((r = buf_grow(b, code.len + 16384)) || (r = page_head(q, "diff", rt)) ||
		    (r = crumbs(q, rt, ch->new ? ch->new->path : ch->old->path)) ||
		    (r = buf_addf(b, "<div class=\"meta\" id=\"meta\"><span class=\"kind\">%c</span><span>changes from ",
				  ch == &same ? '=' : ch->status)) ||
		    (r = esc(b, old_v)) || (r = buf_addstr(b, " to ")) || (r = esc(b, rt->version)) || (r = buf_addstr(b, "</span>")))
			goto out;
		if (ch->status == DIFF_RENAMED &&
		    ((r = buf_addstr(b, "<span>renamed from ")) || (r = esc(b, ch->old->path)) || (r = buf_addstr(b, "</span>"))))
			goto out;
		if (ch->new && ((r = buf_addstr(b, "<a href=\"")) || (r = rel_url(b, rt->product, rt->version, "blob")) ||
				(r = url(b, ch->new->path)) || (r = buf_addstr(b, "\">file</a>"))))
			goto out;
		if ((r = buf_addf(b, " <a id=\"ctx-more\" href=\"?ctx=%" PRIu64 "\">more context</a> <a id=\"ctx-all\" "
				     "href=\"?ctx=%u\">whole file</a> <a href=\"",
				  context * 4 + 1 < RENDER_DIFF_CONTEXT_MAX ? context * 4 + 1 : RENDER_DIFF_CONTEXT_MAX,
				  RENDER_DIFF_CONTEXT_MAX)) ||
		    (r = rel_url(b, rt->product, rt->version, "diff")) || (r = url(b, old_v)) ||
		    (r = buf_addstr(b, "/\">all changes</a></div>")) || (r = buf_add(b, code.p, code.len)) || (r = page_foot(q)))
			goto out;
		goto out;
	}
	/* a folder (or the root): the files that differ below it */
	{
		size_t changes = 0;
		if ((r = page_head(q, "diff", rt)) || (r = buf_addstr(b, "<h1>Changes from ")) || (r = esc(b, old_v)) ||
		    (r = buf_addstr(b, " to ")) || (r = esc(b, rt->version)) ||
		    (r = buf_addstr(b, "</h1><ul class=\"changes\" id=\"changes\">")))
			goto out;
		for (size_t i = 0; i < n_ch; i++) {
			const struct manifest_entry *e = chs[i].new ? chs[i].new : chs[i].old;
			char *p = xstrndup(e->path, e->path_len);
			int bad;
			if (!change_below(&chs[i], path, plen)) {
				free(p);
				continue;
			}
			changes++;
			bad = buf_addf(b, "<li class=\"ch%c\"><span class=\"kind\">%c</span> <a href=\"", chs[i].status,
				       chs[i].status) ||
			      rel_url(b, rt->product, rt->version, "diff") || url(b, old_v) || buf_addch(b, '/') || url(b, p) ||
			      buf_addstr(b, "\">") || esc(b, p) || buf_addstr(b, "</a>");
			if (!bad && chs[i].status == DIFF_RENAMED)
				bad = buf_addstr(b, " <span class=\"from\">from ") || render_escape(b, chs[i].old->path, chs[i].old->path_len) ||
				      buf_addstr(b, "</span>");
			if (!bad && chs[i].status == DIFF_MODIFIED && chs[i].old->mode != chs[i].new->mode)
				bad = buf_addf(b, " <span class=\"from\">mode %o to %o</span>", chs[i].old->mode, chs[i].new->mode);
			bad = bad || buf_addstr(b, "</li>\n");
			free(p);
			if (bad) {
				r = ERR_TOOBIG;
				goto out;
			}
		}
		if ((r = buf_addf(b, "</ul><p class=\"summary\">%zu files differ</p>", changes)) || (r = page_foot(q)))
			goto out;
	}
out:
	free(chs);
	room_put(q->w->rooms, old);
	sodium_memzero(code.p, code.len);
	buf_release(&code);
	return r;
}

static int api_search(struct req *q)
{
	struct buf ref, text, v;
	struct web_route rt;
	struct query_opts qo = {0};
	struct search_result *res = NULL;
	struct room *rm = NULL;
	struct grant_info g;
	const char *qs = q->rq->query;
	uint64_t limit = param_u64(q->rq, "limit", WEB_SEARCH_LIMIT_DEFAULT, WEB_SEARCH_LIMIT_MAX);
	uint64_t offset = param_u64(q->rq, "offset", 0, 1000000);
	int r;
	buf_init(&ref, 2 * RELEASE_NAME_MAX + 2);
	buf_init(&text, QUERY_MAX + 1);
	buf_init(&v, QUERY_MAX + 16);
	memset(&rt, 0, sizeof(rt));
	if (web_param(qs, strlen(qs), "r", &ref) || release_parse_ref(ref.p, rt.product, rt.version)) {
		r = fail_page(q, 400, "r=P@V is required", 1);
		goto out;
	}
	if (web_param(qs, strlen(qs), "q", &text) || !text.len) {
		r = fail_page(q, 400, "q= is required", 1);
		goto out;
	}
	qo.caseless = !web_param(qs, strlen(qs), "i", &v) && v.len;
	qo.word = !web_param(qs, strlen(qs), "w", &v) && v.len;
	qo.literal = !web_param(qs, strlen(qs), "literal", &v) && v.len;
	if (policy_may_read(q->f, &q->who, rt.product, rt.version, q->now, &g)) {
		r = refuse_grant(q, 1);
		goto out;
	}
	if ((r = room_get(q->w->rooms, q->f, rt.product, rt.version, q->now, 1, &rm))) {
		r = locked_page(q, r, "the release is locked: the vendor has not unlocked it", 1);
		goto out;
	}
	/* an offset no further than the results of this query shown so far */
	if ((r = query_key(&v, &text, &qo)) || (r = quota_query_watch(q->f, &q->who, &g, v.p, q->now, NULL)) ||
	    (r = quota_offset_check(q->f, &q->who, &g, v.p, v.len, offset, q->now))) {
		r = r == ERR_DENIED ? fail_page(q, 403, err_msg(), 1) : r;
		goto out;
	}
	if ((r = run_search(q, &rt, rm, text.p, &qo, limit ? (size_t)limit : 1, (size_t)offset, &res, 1))) {
		r = r > 0 ? 0 : r;
		goto out;
	}
	{
		struct render_ctx c = rctx(q, &rt, rm);
		int more;
		q->rs->content_type = "application/json";
		q->rs->sensitive = 1;
		if ((r = render_search_json(&c, text.p, res, offset, &q->rs->body))) {
			if (r == ERR_DENIED)
				r = refuse_grant(q, 1);
			goto out;
		}
		if ((r = quota_offset_reached(q->f, &g, v.p, v.len, render_search_total(res, offset, &more), q->now)))
			goto out;
		r = buf_addch(&q->rs->body, '\n');
	}
out:
	search_result_free(res);
	room_put(q->w->rooms, rm);
	buf_release(&ref);
	buf_release(&text);
	buf_release(&v);
	return r;
}

static void load_session(struct req *q);

int web_log_tick(struct web *w)
{
	struct facility *f = pool_get(w);
	struct buf cp;
	int r;
	/* the login refusals counted since the last tick, as one entry, and the quota
	 * refusals of the minutes that are over */
	r = auth_flush_refusals(f);
	if (!r) {
		int64_t now = (int64_t)time(NULL);
		r = quota_flush_refusals(f, now / 60, now);
	}
	pool_put(w, f);
	buf_init(&cp, 0);
	if (!r)
		r = logdb_checkpoint(w->log, &cp, NULL);
	buf_release(&cp);
	return r;
}

/*
 * The log's shape is public (checkpoints, hash tiles); its entries are not: each names a
 * lab's queries, paths and logins. Entry bundles go only to a session of the vendor or an
 * auditor; anyone else gets the answer of a path that does not exist. A GET never signs:
 * checkpoints are signed by the server's timer when the log grew (web_log_tick).
 */
static int log_route(struct req *q, const char *path)
{
	int r;
	if (strcmp(q->rq->method, "GET") && strcmp(q->rq->method, "HEAD"))
		return fail_page(q, 405, "method not allowed", 0);
	if (!strncmp(path, "tile/entries/", 13)) {
		load_session(q);
		r = q->have_session && (!strcmp(q->who.role, "vendor") || !strcmp(q->who.role, "auditor"))
			    ? logdb_tile(q->w->log, path, &q->rs->body)
			    : ERR_NOTFOUND;
		q->rs->sensitive = 1;
	} else {
		r = logdb_tile(q->w->log, path, &q->rs->body);
	}
	if (r == ERR_NOTFOUND || r == ERR_PARSE) {
		buf_reset(&q->rs->body);
		q->rs->status = 404;
		q->rs->content_type = "text/plain; charset=utf-8";
		return buf_addstr(&q->rs->body, "not found\n");
	}
	if (r)
		return r;
	q->rs->content_type = !strcmp(path, "checkpoint") ? "text/plain; charset=utf-8" : "application/octet-stream";
	return 0;
}

static int static_route(struct req *q, const char *name)
{
	for (size_t i = 0; i < sizeof(web_static) / sizeof(web_static[0]); i++)
		if (!strcmp(web_static[i].name, name)) {
			q->rs->content_type = web_static[i].ctype;
			return buf_add(&q->rs->body, web_static[i].data, web_static[i].len);
		}
	return fail_page(q, 404, "not found", 0);
}

/*
 * POST /r/P@V/print/<path> (csrf, from, to): lines from..to of the file as a PDF, a
 * render path (render_print: the grant checked again, the pages charged, recorded and
 * logged before it is sent); nothing is kept.
 */
static int print_route(struct req *q, const struct web_route *rt, struct room *rm)
{
	struct buf csrf, field;
	struct print_info info;
	struct render_ctx c;
	unsigned long long from = 0, to = 0;
	size_t fi;
	int r;
	buf_init(&csrf, 128);
	buf_init(&field, 64);
	if (form_field(q->rq, "csrf", &csrf) || csrf.len != WEB_CSRF_HEX || sodium_memcmp(csrf.p, q->csrf, WEB_CSRF_HEX)) {
		buf_release(&csrf);
		buf_release(&field);
		return fail_page(q, 403, "the form expired or came from elsewhere", 0);
	}
	buf_release(&csrf);
	if (!form_field(q->rq, "from", &field))
		from = strtoull(field.p, NULL, 10);
	buf_reset(&field);
	if (!form_field(q->rq, "to", &field))
		to = strtoull(field.p, NULL, 10);
	buf_release(&field);
	if (!from || to < from)
		return fail_page(q, 400, "print: give the first and last line, first <= last", 0);
	if (room_find(rm, rt->rest, &fi))
		return fail_page(q, 404, not_granted, 0);
	c = rctx(q, rt, rm);
	if ((r = room_render_print(rm, &c, fi, from, to, &q->rs->body, &info))) {
		char why[300];
		snprintf(why, sizeof(why), "%s", err_msg());
		if (r == ERR_DENIED && !strncmp(why, "no grant", 8))
			return refuse_grant(q, 0);
		return r == ERR_DENIED ? fail_page(q, 403, why, 0)
		       : r == ERR_USAGE || r == ERR_TOOBIG ? fail_page(q, 400, why, 0) : r;
	}
	q->rs->content_type = "application/pdf";
	q->rs->sensitive = 1;
	snprintf(q->rs->attachment, sizeof(q->rs->attachment), "%s-%06lld.pdf", info.bates_prefix,
		 (long long)info.bates_first);
	return 0;
}

struct notes_list {
	struct req *q;
	int n, err;
};

/* A note's text as code is shown: through the session's cipher (a note may quote code). */
/*
 * A text checked against the release's code (a note, a finding, a comment on one) is a query
 * of the code: its refusal says whether the text repeats it, so each check costs what a
 * query costs (query_min_lines of the budget and one of searches_per_day), refused or kept,
 * charged before the check, and is a request (requests_per_minute, holds). The refusal of
 * the charge is the same whatever the text.
 */
static int charge_text_check(struct req *q, const struct grant_info *g)
{
	struct quota_refusal why;
	struct quota_ask a = {QUOTA_SEARCH, NULL, 0, 0};
	return quota_charge(q->f, &q->who, g, &a, q->now, &why);
}

static int note_text(struct req *q, const char *text, struct buf *b)
{
	const struct render_hooks *h = q->w->hooks;
	struct render_view v = {0};
	struct buf t;
	int r;
	if (!h || !h->transform)
		return esc(b, text);
	v.kind = "note";
	v.who = &q->who;
	v.now = q->now;
	buf_init(&t, 8 * NOTES_TEXT_MAX + 64);
	if (!(r = h->transform(h->ctx, &v, text, strlen(text), &t)))
		r = render_escape(b, t.p ? t.p : "", t.len);
	if (t.p)
		sodium_memzero(t.p, t.cap);
	buf_release(&t);
	return r;
}

static int note_row(void *ctx, const struct note_info *n)
{
	struct notes_list *l = ctx;
	struct buf *b = &l->q->rs->body;
	char when[32];
	policy_format_time(n->created_at, when, sizeof(when));
	if (buf_addf(b, "<li id=\"note-%lld\"><span class=\"meta\">", (long long)n->id) || esc(b, n->author) ||
	    buf_addf(b, " \xc2\xb7 %s", when) || (n->path[0] && (buf_addstr(b, " \xc2\xb7 ") || esc(b, n->path))) ||
	    (n->line > 0 && buf_addf(b, ":%lld", (long long)n->line)) ||
	    buf_addstr(b, "</span><div class=\"code note\"><span class=\"c\">"))
		return l->err = ERR_TOOBIG;
	if ((l->err = note_text(l->q, n->text, b)))
		return l->err;
	if (buf_addstr(b, "</span></div></li>"))
		return l->err = ERR_TOOBIG;
	l->n++;
	return 0;
}

/*
 * /r/P@V/notes: GET lists the notes of the reviewer's lab with a form; POST (csrf, text,
 * path, line) keeps one (notes.h), or refuses it when it repeats 12 tokens of the code.
 */
static int notes_route(struct req *q, const struct web_route *rt, struct room *rm)
{
	struct buf *b = &q->rs->body;
	struct notes_list l = {q, 0, 0};
	char refused[400] = "";
	int r;
	if (!strcmp(q->rq->method, "POST")) {
		struct buf csrf, text, path, line;
		struct notes_code code;
		int64_t id = 0;
		buf_init(&csrf, 128);
		buf_init(&text, NOTES_TEXT_MAX + 1);
		buf_init(&path, 4096);
		buf_init(&line, 32);
		if (form_field(q->rq, "csrf", &csrf) || csrf.len != WEB_CSRF_HEX ||
		    sodium_memcmp(csrf.p, q->csrf, WEB_CSRF_HEX)) {
			r = fail_page(q, 403, "the form expired or came from elsewhere", 0);
		} else if (form_field(q->rq, "text", &text)) {
			r = fail_page(q, 400, "note: the text is missing or too long", 0);
		} else {
			int dummy_path = form_field(q->rq, "path", &path), dummy_line = form_field(q->rq, "line", &line);
			(void)dummy_path;
			(void)dummy_line;
			struct grant_info g;
			/* a note is checked against the code: a query (charge_text_check) */
			if (!(r = policy_may_read(q->f, &q->who, rt->product, rt->version, q->now, &g)) &&
			    !(r = charge_text_check(q, &g)) &&
			    !(r = room_notes_code(q->w->rooms, rm, &code)))
				r = notes_add(q->f, &code, &q->who, rt->product, rt->version, path.p,
					      line.len ? strtoll(line.p, NULL, 10) : 0, text.p, q->now, &id);
			if (r == ERR_DENIED || r == ERR_USAGE || r == ERR_TOOBIG || r == ERR_PARSE) {
				snprintf(refused, sizeof(refused), "%s", err_msg());
				r = 0;
			} else if (!r) {
				struct buf to;
				buf_init(&to, 0);
				r = rel_url(&to, rt->product, rt->version, "notes") ? ERR_TOOBIG : redirect(q, to.p);
				buf_release(&to);
				buf_release(&csrf);
				buf_release(&text);
				buf_release(&path);
				buf_release(&line);
				return r;
			}
		}
		buf_release(&csrf);
		buf_release(&text);
		buf_release(&path);
		buf_release(&line);
		if (r || !refused[0])
			return r;
		q->rs->status = 403;
	}
	if ((r = page_head(q, "notes", rt)) || (r = buf_addstr(b, "<main class=\"notes\"><h1>notes of ")) ||
	    (r = esc(b, q->who.org)) || (r = buf_addstr(b, "</h1>")))
		return r;
	if (refused[0] && ((r = buf_addstr(b, "<p class=\"error\" id=\"error\">")) || (r = esc(b, refused)) ||
			   (r = buf_addstr(b, "</p>"))))
		return r;
	if ((r = buf_addstr(b, "<form class=\"note\" method=\"post\" action=\"")) ||
	    (r = rel_url(b, rt->product, rt->version, "notes")) ||
	    (r = buf_addf(b, "\"><input type=\"hidden\" name=\"csrf\" value=\"%s\"><input name=\"path\" "
			     "placeholder=\"file\"> <input name=\"line\" size=\"6\" placeholder=\"line\"><br>"
			     "<textarea name=\"text\" id=\"note-text\" rows=\"5\" cols=\"80\"></textarea><br><button "
			     "type=\"submit\">keep note</button></form><ul id=\"notes\">", q->csrf)))
		return r;
	if ((r = notes_each(q->f, &q->who, rt->product, rt->version, note_row, &l)) || (r = l.err))
		return r;
	if ((r = buf_addstr(b, "</ul></main>")))
		return r;
	return page_foot(q);
}

/* ---- findings (findings.h): vendor first ---- */

struct finding_page {
	struct req *q;
	const struct web_route *rt;
	struct render_ctx c;
	int n, err, one;
};

/* A finding's text and title come back through the session's cipher, like code. */
static int finding_row(void *ctx, const struct finding_info *fi)
{
	struct finding_page *p = ctx;
	struct buf *b = &p->q->rs->body;
	char when[32], sc[16] = "";
	int r;
	policy_format_time(fi->created_at, when, sizeof(when));
	if (fi->score10 >= 0)
		snprintf(sc, sizeof(sc), " %d.%d", fi->score10 / 10, fi->score10 % 10);
	if ((r = buf_addf(b, "<li class=\"finding %s\" id=\"finding-%lld\"><span class=\"meta\"><a href=\"",
			  fi->severity, (long long)fi->id)) ||
	    (r = rel_url(b, fi->product, fi->version, "findings")) ||
	    (r = buf_addf(b, "%lld\">#%lld</a> <b class=\"sev\">%s%s</b> <span class=\"state\">%s", (long long)fi->id,
			  (long long)fi->id, fi->severity, sc, fi->state)) ||
	    (*fi->fixed_in && ((r = buf_addstr(b, " in ")) || (r = esc(b, fi->fixed_in)))) ||
	    (r = buf_addstr(b, "</span> \xc2\xb7 ")) || (r = esc(b, fi->lab)) || (r = buf_addstr(b, " \xc2\xb7 ")) ||
	    (r = esc(b, fi->author)) || (r = buf_addf(b, " \xc2\xb7 %s \xc2\xb7 <a href=\"", when)) ||
	    (r = rel_url(b, fi->product, fi->version, "blob")) || (r = url(b, fi->path)) ||
	    (r = buf_addf(b, "#L%llu-L%llu\">", (unsigned long long)fi->line_from, (unsigned long long)fi->line_to)) ||
	    (r = esc(b, fi->path)) ||
	    (r = buf_addf(b, ":%llu-%llu</a>", (unsigned long long)fi->line_from, (unsigned long long)fi->line_to)) ||
	    (fi->cwe && (r = buf_addf(b, " \xc2\xb7 CWE-%d", fi->cwe))) ||
	    (*fi->cvss && ((r = buf_addstr(b, " \xc2\xb7 <code>")) || (r = esc(b, fi->cvss)) || (r = buf_addstr(b, "</code>")))) ||
	    (r = buf_addstr(b, "</span><div class=\"title\">")) ||
	    (r = render_prose(&p->c, fi->title, strlen(fi->title), b)) || (r = buf_addstr(b, "</div>")) ||
	    (p->one && *fi->text && (r = render_prose(&p->c, fi->text, strlen(fi->text), b))) ||
	    (r = buf_addstr(b, "</li>")))
		return p->err = r;
	p->n++;
	return 0;
}

static int event_row(void *ctx, const struct finding_event *e)
{
	struct finding_page *p = ctx;
	struct buf *b = &p->q->rs->body;
	char when[32];
	int r;
	policy_format_time(e->at, when, sizeof(when));
	if ((r = buf_addf(b, "<li class=\"event\"><span class=\"meta\">%s \xc2\xb7 ", when)) || (r = esc(b, e->actor)) ||
	    (r = buf_addstr(b, "</span> <b>")) || (r = esc(b, e->state)) ||
	    (*e->fixed_in && ((r = buf_addstr(b, " in ")) || (r = esc(b, e->fixed_in)))) || (r = buf_addstr(b, "</b>")) ||
	    (*e->comment && (r = render_prose(&p->c, e->comment, strlen(e->comment), b))) ||
	    (r = buf_addstr(b, "</li>")))
		return p->err = r;
	return 0;
}

static int csrf_ok(struct req *q)
{
	struct buf csrf;
	int ok;
	buf_init(&csrf, 128);
	ok = !form_field(q->rq, "csrf", &csrf) && csrf.len == WEB_CSRF_HEX && !sodium_memcmp(csrf.p, q->csrf, WEB_CSRF_HEX);
	buf_release(&csrf);
	return ok;
}

/* A form's POST: 0 when it is one with this session's CSRF token; else the refusal page
 * (405, 403) is written and 1 returned (< 0 when it could not be). */
static int form_refused(struct req *q)
{
	if (strcmp(q->rq->method, "POST"))
		return fail_page(q, 405, "method not allowed", 0) ? ERR_TOOBIG : 1;
	if (!csrf_ok(q))
		return fail_page(q, 403, "the form expired or came from elsewhere", 0) ? ERR_TOOBIG : 1;
	return 0;
}

static uint64_t field_u64(struct req *q, const char *name)
{
	struct buf v;
	uint64_t x = 0;
	buf_init(&v, 64);
	if (!form_field(q->rq, name, &v) && v.len && v.len < 20 && strspn(v.p, "0123456789") == v.len)
		x = strtoull(v.p, NULL, 10);
	buf_release(&v);
	return x;
}

/* POST /r/P@V/findings: a reviewer with a grant files a finding on lines of a file. */
static int finding_file(struct req *q, const struct web_route *rt, char *refused, size_t cap, int64_t *id)
{
	struct buf path, title, sev, cvss, text;
	struct room *rm = NULL;
	struct notes_code code;
	struct grant_info g;
	char blob[65];
	int r;
	buf_init(&path, MANIFEST_MAX_PATH + 1);
	buf_init(&title, FINDINGS_TITLE_MAX + 1);
	buf_init(&sev, 64);
	buf_init(&cvss, CVSS_VECTOR_MAX + 1);
	buf_init(&text, FINDINGS_TEXT_MAX + 1);
	if (policy_may_read(q->f, &q->who, rt->product, rt->version, q->now, &g)) {
		r = refuse_grant(q, 0);
		goto out;
	}
	/* a finding's title and text are checked against the code: a query (charge_text_check) */
	if ((r = charge_text_check(q, &g))) {
		if (r == ERR_DENIED) {
			snprintf(refused, cap, "%s", err_msg());
			r = 0;
		}
		goto out;
	}
	if (form_field(q->rq, "path", &path) || form_field(q->rq, "title", &title) ||
	    form_field(q->rq, "severity", &sev)) {
		snprintf(refused, cap, "finding: the path, title or severity is missing or too long");
		r = 0;
		goto out;
	}
	if (form_field(q->rq, "text", &text) && text.len == 0)
		buf_reset(&text);
	if (!strcmp(sev.p, "cvss") && (form_field(q->rq, "cvss", &cvss) || !cvss.len)) {
		snprintf(refused, cap, "finding: the CVSS vector is missing or too long");
		r = 0;
		goto out;
	}
	if ((r = room_get(q->w->rooms, q->f, rt->product, rt->version, q->now, 1, &rm))) {
		r = locked_page(q, r, "the release is locked: the vendor has not unlocked it for this window", 0);
		goto out;
	}
	{
		struct finding_new n = {rt->product, rt->version, path.p, field_u64(q, "from"), field_u64(q, "to"), blob,
					title.p, !strcmp(sev.p, "cvss") ? cvss.p : sev.p, (int)field_u64(q, "cwe"), text.p,
					NULL};
		if (field_u64(q, "cwe") > FINDINGS_CWE_MAX)
			n.cwe = -1;
		if (!(r = room_locate_finding(rm, path.p, n.line_from, n.line_to, blob)) &&
		    !(r = room_notes_code(q->w->rooms, rm, &code)))
			r = findings_add(q->f, &code, &q->who, &n, q->now, id);
	}
	if (r == ERR_DENIED || r == ERR_USAGE || r == ERR_TOOBIG || r == ERR_PARSE || r == ERR_NOTFOUND) {
		snprintf(refused, cap, "%s", err_msg());
		r = 0;
	}
out:
	if (rm)
		room_put(q->w->rooms, rm);
	buf_release(&path);
	buf_release(&title);
	buf_release(&sev);
	buf_release(&cvss);
	buf_release(&text);
	return r;
}

/* POST /r/P@V/findings/N: a change of state (the vendor, or the finding's lab). */
static int finding_state(struct req *q, const struct web_route *rt, int64_t id, char *refused, size_t cap)
{
	struct buf state, fixed_in, comment;
	struct room *old = NULL, *fix = NULL, *any = NULL;
	struct notes_code code, *cp = NULL;
	int r, ok = 0;
	buf_init(&state, 32);
	buf_init(&fixed_in, RELEASE_NAME_MAX + 1);
	buf_init(&comment, FINDINGS_COMMENT_MAX + 1);
	if (form_field(q->rq, "state", &state)) {
		snprintf(refused, cap, "finding: the state is missing");
		r = 0;
		goto out;
	}
	if (form_field(q->rq, "fixed_in", &fixed_in))
		buf_reset(&fixed_in);
	if (form_field(q->rq, "comment", &comment))
		buf_reset(&comment);
	if (comment.len && strcmp(q->who.role, "vendor")) {
		/* a reviewer's comment is checked like a note, and charged as one (charge_text_check):
		 * the lab's people without a grant (a lead, a reviewer whose window ended) have
		 * nothing to charge it to, so their comment is not checked against the code at all */
		struct grant_info g;
		if ((r = policy_may_read(q->f, &q->who, rt->product, rt->version, q->now, &g)) ||
		    (r = charge_text_check(q, &g))) {
			if (r == ERR_DENIED) {
				snprintf(refused, cap, "finding: a comment is checked against the code, a query of your grant: %s",
					 err_msg());
				r = 0;
			}
			goto out;
		}
	}
	if (comment.len) {
		/* a comment is checked like a note: against the release's code */
		if ((r = room_get(q->w->rooms, q->f, rt->product, rt->version, q->now, 1, &any)) ||
		    (r = room_notes_code(q->w->rooms, any, &code))) {
			snprintf(refused, cap, "finding: a comment needs the release unlocked, to check it against the code");
			r = 0;
			goto out;
		}
		cp = &code;
	}
	if (!strcmp(state.p, "fixed") && fixed_in.len && strcmp(fixed_in.p, rt->version)) {
		if (room_get(q->w->rooms, q->f, rt->product, rt->version, q->now, 0, &old) ||
		    room_get(q->w->rooms, q->f, rt->product, fixed_in.p, q->now, 0, &fix)) {
			snprintf(refused, cap, "fixed: both releases must be unlocked to compare them");
			r = 0;
			goto out;
		}
		if ((r = room_fix_check(q->f, &q->who, id, old, fix, &ok)) && r != ERR_DENIED && r != ERR_NOTFOUND)
			goto out;
	}
	r = findings_set_state(q->f, cp, &q->who, id, state.p, fixed_in.len ? fixed_in.p : NULL, ok, comment.p, q->now);
	if (r == ERR_DENIED || r == ERR_USAGE || r == ERR_TOOBIG || r == ERR_PARSE) {
		snprintf(refused, cap, "%s", err_msg());
		r = 0;
	} else if (r == ERR_NOTFOUND) {
		r = fail_page(q, 404, "no such finding", 0);
	}
out:
	if (old)
		room_put(q->w->rooms, old);
	if (fix)
		room_put(q->w->rooms, fix);
	if (any)
		room_put(q->w->rooms, any);
	buf_release(&state);
	buf_release(&fixed_in);
	buf_release(&comment);
	return r;
}

/* One finding of the release before, where it is in this one (room_carry_findings). */
static int carried_row(void *ctx, const struct finding_info *fi, const struct findings_carry *fc)
{
	struct finding_page *p = ctx;
	struct buf *b = &p->q->rs->body;
	int r;
	if ((r = buf_addf(b, "<li class=\"carried %s\" id=\"carried-%lld\"><span class=\"meta\"><a href=\"",
			  findings_carry_name(fc->status), (long long)fi->id)) ||
	    (r = rel_url(b, fi->product, fi->version, "findings")) ||
	    (r = buf_addf(b, "%lld\">#%lld</a> <b class=\"sev\">%s</b> <span class=\"state\">%s</span> \xc2\xb7 ",
			  (long long)fi->id, (long long)fi->id, fi->severity, fi->state)) ||
	    (r = esc(b, fi->lab)) || (r = buf_addstr(b, " \xc2\xb7 was ")) || (r = esc(b, fi->path)) ||
	    (r = buf_addf(b, ":%llu-%llu", (unsigned long long)fi->line_from, (unsigned long long)fi->line_to)))
		return p->err = r;
	if (fc->status == FINDINGS_DELETED)
		r = buf_addf(b, " \xc2\xb7 <b class=\"carry\">its lines are deleted in %s</b>", "this release");
	else if (fc->line_from)
		r = buf_addf(b, " \xc2\xb7 <b class=\"carry\">%s</b>: <a href=\"", findings_carry_name(fc->status)) ||
		    rel_url(b, p->rt->product, p->rt->version, "blob") || url(b, fc->path) ||
		    buf_addf(b, "#L%llu-L%llu\">", (unsigned long long)fc->line_from, (unsigned long long)fc->line_to) ||
		    esc(b, fc->path) ||
		    buf_addf(b, ":%llu-%llu</a>", (unsigned long long)fc->line_from, (unsigned long long)fc->line_to)
			? ERR_TOOBIG : 0;
	else
		r = buf_addstr(b, " \xc2\xb7 <b class=\"carry\">changed</b>: ") || esc(b, fc->path) ||
		    buf_addstr(b, " (too large to follow its lines)") ? ERR_TOOBIG : 0;
	if (r || (r = buf_addstr(b, "</span><div class=\"title\">")) ||
	    (r = render_prose(&p->c, fi->title, strlen(fi->title), b)) || (r = buf_addstr(b, "</div></li>")))
		return p->err = r;
	p->n++;
	return 0;
}

/* The open findings of the release before this one, carried over by place (delta review). */
static int carried_section(struct finding_page *p)
{
	struct req *q = p->q;
	struct buf *b = &q->rs->body;
	struct room *old = NULL, *cur = NULL;
	char prev[RELEASE_NAME_MAX + 1];
	int r, n0 = p->n;
	if (previous_release(q, p->rt->product, p->rt->version, prev))
		return 0;
	if ((r = buf_addstr(b, "<h2 id=\"carried\">open findings of ")) || (r = esc(b, p->rt->product)) ||
	    (r = buf_addch(b, '@')) || (r = esc(b, prev)) || (r = buf_addstr(b, ", carried over (<a href=\"")) ||
	    (r = rel_url(b, p->rt->product, p->rt->version, "diff")) || (r = url(b, prev)) ||
	    (r = buf_addstr(b, "/\">what changed</a>)</h2>")))
		return r;
	if (room_get(q->w->rooms, q->f, p->rt->product, prev, q->now, 0, &old) ||
	    room_get(q->w->rooms, q->f, p->rt->product, p->rt->version, q->now, 0, &cur)) {
		r = buf_addstr(b, "<p class=\"note\" id=\"carried-locked\">both releases must be unlocked to follow "
				  "their findings</p>");
		goto out;
	}
	if ((r = buf_addstr(b, "<ul id=\"carried-list\">")) ||
	    (r = room_carry_findings(q->f, &q->who, old, cur, carried_row, p)) || (r = p->err) ||
	    (r = buf_addstr(b, "</ul>")))
		goto out;
	if (p->n == n0)
		r = buf_addstr(b, "<p class=\"note\">none open</p>");
out:
	if (old)
		room_put(q->w->rooms, old);
	if (cur)
		room_put(q->w->rooms, cur);
	return r;
}

/*
 * /r/P@V/findings[/N]: the findings of the release that who may see (the vendor: every
 * lab's; a lab: its own; anyone else: none), each finding's timeline, and the forms to file
 * one (from a file view) and to change its state. No grant is needed to read them (the
 * vendor holds none); filing one needs the grant and the release unlocked.
 */
static int findings_route(struct req *q, const struct web_route *rt)
{
	struct buf *b = &q->rs->body;
	struct finding_page p = {q, rt, {0}, 0, 0, 0};
	char refused[600] = "";
	int64_t id = 0, new_id = 0;
	int r;
	if (*rt->rest) {
		char *end;
		id = strtoll(rt->rest, &end, 10);
		if (*end || id <= 0)
			return fail_page(q, 404, "no such finding", 0);
	}
	if (strcmp(q->who.role, "vendor") && strcmp(q->who.org_kind, "lab"))
		return fail_page(q, 404, not_granted, 0);
	if (!strcmp(q->rq->method, "POST")) {
		if (!csrf_ok(q))
			return fail_page(q, 403, "the form expired or came from elsewhere", 0);
		r = id ? finding_state(q, rt, id, refused, sizeof(refused)) : finding_file(q, rt, refused, sizeof(refused), &new_id);
		if (r || q->rs->status >= 400)
			return r;
		if (!refused[0]) {
			struct buf to;
			buf_init(&to, 0);
			r = rel_url(&to, rt->product, rt->version, "findings") || buf_addf(&to, "%lld", (long long)(id ? id : new_id))
				    ? ERR_TOOBIG
				    : redirect(q, to.p);
			buf_release(&to);
			return r;
		}
		q->rs->status = 403;
	}
	p.c.f = q->f;
	p.c.hooks = q->w->hooks;
	p.c.who = &q->who;
	p.c.product = rt->product;
	p.c.version = rt->version;
	p.c.now = q->now;
	q->rs->sensitive = 1;
	if ((r = page_head(q, "findings", rt)) || (r = buf_addstr(b, "<main class=\"findings\"><h1>findings on ")) ||
	    (r = esc(b, rt->product)) || (r = buf_addch(b, '@')) || (r = esc(b, rt->version)) ||
	    (r = buf_addstr(b, strcmp(q->who.role, "vendor") ? " by your lab</h1>" : " (every lab's)</h1>")))
		return r;
	if (refused[0] && ((r = buf_addstr(b, "<p class=\"error\" id=\"error\">")) || (r = esc(b, refused)) ||
			   (r = buf_addstr(b, "</p>"))))
		return r;
	if ((r = buf_addstr(b, "<ul id=\"findings\">")))
		return r;
	p.one = id != 0;
	r = id ? findings_get(q->f, &q->who, id, finding_row, &p)
	       : findings_each(q->f, &q->who, rt->product, rt->version, NULL, finding_row, &p);
	if (r == ERR_NOTFOUND) {
		buf_reset(b);
		return fail_page(q, 404, "no such finding", 0);
	}
	if (r || (r = p.err) || (r = buf_addstr(b, "</ul>")))
		return r;
	if (!id && !p.n && (r = buf_addstr(b, "<p class=\"note\" id=\"none\">no findings yet</p>")))
		return r;
	if (!id && (r = carried_section(&p)))
		return r;
	if (id) {
		if ((r = buf_addstr(b, "<h2>timeline</h2><ol id=\"timeline\">")) ||
		    (r = findings_events(q->f, &q->who, id, event_row, &p)) || (r = p.err) || (r = buf_addstr(b, "</ol>")))
			return r;
		if ((r = buf_addstr(b, "<form class=\"state\" id=\"state-form\" method=\"post\" action=\"")) ||
		    (r = rel_url(b, rt->product, rt->version, "findings")) ||
		    (r = buf_addf(b, "%lld\"><input type=\"hidden\" name=\"csrf\" value=\"%s\"><select name=\"state\" id=\"state\">"
				     "<option>acknowledged</option><option>disputed</option><option value=\"accepted\">accepted risk</option>"
				     "<option>fixed</option><option>open</option></select> fixed in version <input name=\"fixed_in\" size=\"10\"> "
				     "<input name=\"comment\" size=\"40\" placeholder=\"comment (no code)\"> <button type=\"submit\">record</button>"
				     "</form>",
				  (long long)id, q->csrf)))
			return r;
	}
	if ((r = buf_addstr(b, "</main>")))
		return r;
	return page_foot(q);
}

/* ---- the role pages (home.h): the vendor's, the operator's, the lab lead's ---- */

static struct home_ctx hctx(struct req *q, char *db_path)
{
	struct home_ctx c;
	memset(&c, 0, sizeof(c));
	c.f = q->f;
	c.log = q->w->log;
	c.keys = q->w->keys;
	c.hooks = q->w->hooks;
	c.who = &q->who;
	c.csrf = q->csrf;
	c.db_path = db_path;
	c.now = q->now;
	return c;
}

/* The change set of product@version since product@since, from the room's diff (both unlocked). */
static int exposure_changes(struct req *q, const char *product, const char *since, const char *version,
			    struct report_changes **out)
{
	struct room *old = NULL, *cur = NULL;
	int r;
	*out = NULL;
	if (release_name_check("version", since, 1))
		return ERR_USAGE;
	if (room_get(q->w->rooms, q->f, product, since, q->now, 0, &old) ||
	    room_get(q->w->rooms, q->f, product, version, q->now, 0, &cur))
		r = err_set(ERR_NOTFOUND, "exposure: both releases must be unlocked to compare them");
	else if ((r = room_changes(old, cur, *out = report_changes_new()))) {
		report_changes_free(*out);
		*out = NULL;
	}
	if (old)
		room_put(q->w->rooms, old);
	if (cur)
		room_put(q->w->rooms, cur);
	return r;
}

/* The exposure report as JSON, or as a page of the room (home_exposure). */
static int exposure_page(struct req *q, const struct home_ctx *c, const char *prod, const char *ver, int json,
			 const struct report_changes *ch)
{
	struct buf *b = &q->rs->body;
	int r;
	if (json) {
		if ((r = home_exposure(c, prod, ver, 1, ch, b)) == ERR_NOTFOUND) {
			buf_reset(b);
			return fail_page(q, 404, not_granted, 1);
		}
		if (!r)
			q->rs->content_type = "application/json";
		return r;
	}
	if ((r = page_head(q, "exposure", NULL)))
		return r;
	if ((r = home_exposure(c, prod, ver, 0, ch, b)) == ERR_NOTFOUND) {
		buf_reset(b);
		return fail_page(q, 404, not_granted, 0);
	}
	return r ? r : page_foot(q);
}

/*
 * /vendor, /operator, /lab, /vendor/exposure/P@V, /lab/exposure/P@V (?format=json) and
 * POST /operator/resume (csrf, session). Anyone but the page's role gets the answer of a
 * page that does not exist.
 */
static int home_route(struct req *q, const char *path)
{
	struct buf *b = &q->rs->body;
	const char *role = home_role(&q->who), *page = path + 1;
	size_t n = strcspn(page, "/");
	char *db_path = facility_path(q->f, "sealroom.db");
	struct home_ctx c = hctx(q, db_path);
	int r;
	if (!role || strlen(role) != n || strncmp(page, role, n)) {
		r = fail_page(q, 404, not_granted, 0);
		goto out;
	}
	q->rs->sensitive = 1;
	if (!strncmp(page + n, "/exposure/", 10)) {
		char prod[RELEASE_NAME_MAX + 1], ver[RELEASE_NAME_MAX + 1];
		struct report_changes *ch = NULL;
		struct buf fmt, since;
		int json;
		buf_init(&fmt, 16);
		buf_init(&since, RELEASE_NAME_MAX + 1);
		json = !web_param(q->rq->query, strlen(q->rq->query), "format", &fmt) &&
		       !strcmp(fmt.p, "json");
		buf_release(&fmt);
		if (release_parse_ref(page + n + 10, prod, ver)) {
			buf_release(&since);
			r = fail_page(q, 404, not_granted, json);
			goto out;
		}
		/* ?since=V: coverage of the lines changed since P@V (the room's diff, room_changes) */
		if (home_exposure_allowed(&c, prod, ver)) {
			buf_release(&since);
			r = fail_page(q, 404, not_granted, json);
			goto out;
		}
		if (!web_param(q->rq->query, strlen(q->rq->query), "since", &since)) {
			/* the lab lead compares only releases her lab is nominated on */
			if (!release_name_check("version", since.p, 1) && home_exposure_allowed(&c, prod, since.p)) {
				buf_release(&since);
				r = fail_page(q, 404, not_granted, json);
				goto out;
			}
			r = exposure_changes(q, prod, since.p, ver, &ch);
			buf_release(&since);
			if (r) {
				char why[300];
				snprintf(why, sizeof(why), "%s", err_msg());
				r = r == ERR_NOTFOUND || r == ERR_USAGE ? fail_page(q, r == ERR_USAGE ? 400 : 503, why, json) : r;
				goto out;
			}
		}
		buf_release(&since);
		r = exposure_page(q, &c, prod, ver, json, ch);
		report_changes_free(ch);
		goto out;
	}
	if (!strcmp(page + n, "/apply")) {
		struct buf note, cert;
		char why[600];
		if ((r = form_refused(q))) {
			r = r > 0 ? 0 : r;
			goto out;
		}
		buf_init(&note, DECISION_MAX + 1);
		buf_init(&cert, 1 << 16);
		if (form_field(q->rq, "decision", &note) || !note.len) {
			r = fail_page(q, 400, "apply: the decision is missing or larger than a decision file may be", 0);
		} else {
			/* a pasted file may have lost its last newline, or gained CR LF line ends */
			size_t k = 0;
			for (size_t i = 0; i < note.len; i++)
				if (note.p[i] != '\r')
					note.p[k++] = note.p[i];
			note.len = k;
			note.p[k] = 0;
			if (!k)
				r = fail_page(q, 400, "apply: the decision is empty", 0);
			else if (note.p[note.len - 1] != '\n' && buf_addch(&note, '\n'))
				r = ERR_TOOBIG;
			else if (!(r = home_apply(&c, note.p, note.len, &cert)))
				r = cert.len ? page_head(q, "applied", NULL) || buf_addstr(b, "<h1>shredded</h1><pre id=\"certificate\">") ||
						       esc(b, cert.p) || buf_addstr(b, "</pre>") || page_foot(q)
						   ? ERR_TOOBIG
						   : 0
					     : redirect(q, "/operator");
			else if (r != ERR_NOTFOUND || strstr(err_msg(), "decision")) {
				snprintf(why, sizeof(why), "%s", err_msg());
				r = fail_page(q, r == ERR_PARSE || r == ERR_USAGE ? 400 : 403, why, 0);
			} else {
				r = fail_page(q, 404, not_granted, 0);
			}
		}
		buf_release(&note);
		buf_release(&cert);
		goto out;
	}
	if (!strcmp(page + n, "/resume")) {
		struct buf sid;
		char why[400] = "";
		if ((r = form_refused(q))) {
			r = r > 0 ? 0 : r;
			goto out;
		}
		buf_init(&sid, AUTH_SESSION_ID_HEX + 2);
		if (form_field(q->rq, "session", &sid))
			r = fail_page(q, 400, "resume: which session? the form names none", 0);
		else if (!(r = home_resume(&c, sid.p)))
			r = redirect(q, "/operator");
		else if (r == ERR_NOTFOUND || r == ERR_DENIED) {
			snprintf(why, sizeof(why), "%s", err_msg());
			r = fail_page(q, r == ERR_DENIED ? 403 : 404, why, 0);
		}
		buf_release(&sid);
		goto out;
	}
	if (page[n]) {
		r = fail_page(q, 404, not_granted, 0);
		goto out;
	}
	if ((r = page_head(q, role, NULL)))
		goto out;
	r = !strcmp(role, "vendor") ? home_vendor(&c, b) : !strcmp(role, "operator") ? home_operator(&c, b) : home_lab(&c, b);
	if (!r)
		r = page_foot(q);
out:
	free(db_path);
	return r;
}

static int release_route(struct req *q, const char *path)
{
	struct web_route rt;
	struct room *rm = NULL;
	struct grant_info g;
	int r;
	if (web_route_release(path, &rt)) {
		/* "/r/P@V" alone: the tree */
		char prod[RELEASE_NAME_MAX + 1], ver[RELEASE_NAME_MAX + 1];
		if (!strncmp(path, "/r/", 3) && !strchr(path + 3, '/') && strchr(path + 3, '@') &&
		    !release_parse_ref(path + 3, prod, ver)) {
			struct buf to;
			buf_init(&to, 0);
			r = rel_url(&to, prod, ver, "tree") ? ERR_TOOBIG : redirect(q, to.p);
			buf_release(&to);
			return r;
		}
		return fail_page(q, 404, not_granted, 0);
	}
	if (!strcmp(rt.what, "findings"))
		return strcmp(q->rq->method, "POST") && strcmp(q->rq->method, "GET")
			       ? fail_page(q, 405, "method not allowed", 0)
			       : findings_route(q, &rt);
	if (strcmp(rt.what, "tree") && strcmp(rt.what, "blob") && strcmp(rt.what, "search") &&
	    strcmp(rt.what, "def") && strcmp(rt.what, "refs") && strcmp(rt.what, "diff") &&
	    strcmp(rt.what, "print") && strcmp(rt.what, "notes") && strcmp(rt.what, "files"))
		return fail_page(q, 404, not_granted, 0);
	if (!strcmp(rt.what, "print") ? strcmp(q->rq->method, "POST") != 0
	    : !strcmp(rt.what, "notes") ? strcmp(q->rq->method, "POST") && strcmp(q->rq->method, "GET")
					: strcmp(q->rq->method, "GET") && strcmp(q->rq->method, "HEAD"))
		return fail_page(q, 405, "method not allowed", 0);
	if (policy_may_read(q->f, &q->who, rt.product, rt.version, q->now, &g)) {
		/* the lab lead reads her lab's notes on her own page */
		if (!strcmp(rt.what, "notes") && home_role(&q->who) && !strcmp(home_role(&q->who), "lab"))
			return redirect(q, "/lab");
		return refuse_grant(q, 0);
	}
	/* the file view and the tree need only the vault and the manifest, never the index */
	if ((r = room_get(q->w->rooms, q->f, rt.product, rt.version, q->now,
			  strcmp(rt.what, "tree") && strcmp(rt.what, "blob") && strcmp(rt.what, "files"), &rm)))
		return locked_page(q, r, "the release is locked: the vendor has not unlocked it for this window", 0);
	if (!strcmp(rt.what, "tree"))
		r = tree_page(q, &rt, rm);
	else if (!strcmp(rt.what, "blob"))
		r = blob_page(q, &rt, rm);
	else if (!strcmp(rt.what, "search"))
		r = search_page(q, &rt, rm, 0);
	else if (!strcmp(rt.what, "refs"))
		r = search_page(q, &rt, rm, 1);
	else if (!strcmp(rt.what, "def"))
		r = def_page(q, &rt, rm);
	else if (!strcmp(rt.what, "print"))
		r = print_route(q, &rt, rm);
	else if (!strcmp(rt.what, "notes"))
		r = notes_route(q, &rt, rm);
	else if (!strcmp(rt.what, "files"))
		r = files_page(q, &rt, rm);
	else
		r = diff_page(q, &rt, rm);
	room_put(q->w->rooms, rm);
	return r;
}

static int session_asset(struct req *q, const char *name)
{
	int status = 200, r;
	const char *ctype = "application/octet-stream";
	if (!q->w->hooks || !q->w->hooks->asset)
		return fail_page(q, 404, "not found", 0);
	struct buf v;
	int cache = 0;
	/* an asset under the session's own URL (?v=<session id>) may stay in the browser's cache
	 * for the session (the font is fetched once, not on every page); another session's URL
	 * is not found, so that a cached copy is never taken for this session's */
	buf_init(&v, AUTH_SESSION_ID_HEX + 1);
	if (!web_param(q->rq->query, strlen(q->rq->query), "v", &v)) {
		if (strcmp(v.p, q->who.session_id)) {
			buf_release(&v);
			return fail_page(q, 404, "not found", 0);
		}
		cache = strcmp(name, "watermark.svg") != 0; /* the watermark names the time: fresh each page */
	}
	buf_release(&v);
	r = q->w->hooks->asset(q->w->hooks->ctx, &q->who, name, &status, &ctype, &q->rs->body);
	if (r == ERR_NOTFOUND)
		return fail_page(q, 404, "not found", 0);
	if (r)
		return r;
	q->rs->status = status;
	q->rs->content_type = ctype;
	q->rs->sensitive = 1;
	if (cache && status == 200)
		q->rs->cache_control = HTTP_CACHE_SESSION;
	return 0;
}

/* Find the session of the request, if any (a bad one is ended by auth_session). */
static void load_session(struct req *q)
{
	if (web_cookie(q->rq->cookie, WEB_COOKIE_SESSION, q->token, sizeof(q->token)) ||
	    strlen(q->token) != AUTH_TOKEN_HEX)
		return;
	if (auth_session(q->f, q->token, q->rq->client_ip, q->rq->cert_fp[0] ? q->rq->cert_fp : NULL, &q->who))
		return;
	q->have_session = 1;
	csrf_for(q->w, q->token, q->csrf);
}

static int dispatch(struct req *q, const char *path)
{
	const struct http_req *rq = q->rq;
	int is_get = !strcmp(rq->method, "GET") || !strcmp(rq->method, "HEAD");
	if (!strncmp(path, "/static/", 8))
		return is_get ? static_route(q, path + 8) : fail_page(q, 405, "method not allowed", 0);
	if (!strncmp(path, "/log/", 5))
		return log_route(q, path + 5);
	if (!strcmp(path, "/login")) {
		if (is_get)
			return login_page(q, NULL, 200);
		return login_post(q);
	}
	load_session(q);
	if (!q->have_session) {
		if (!strncmp(path, "/api/", 5))
			return fail_page(q, 401, "log in first", 1);
		return redirect(q, "/login");
	}
	if (!strcmp(path, "/logout"))
		return logout(q);
	if (!is_get && !(!strcmp(rq->method, "POST") && !strncmp(path, "/r/", 3) &&
			 (strstr(path, "/print/") || strstr(path, "/notes") || strstr(path, "/findings"))) &&
	    !(!strcmp(rq->method, "POST") && (!strcmp(path, "/operator/resume") || !strcmp(path, "/operator/apply"))))
		return fail_page(q, 405, "method not allowed", !strncmp(path, "/api/", 5));
	if (!strcmp(path, "/"))
		return redirect(q, home_path(&q->who));
	if (!strcmp(path, "/releases"))
		return releases_page(q);
	if (!strcmp(path, "/vendor") || !strncmp(path, "/vendor/", 8) || !strcmp(path, "/operator") ||
	    !strncmp(path, "/operator/", 10) || !strcmp(path, "/lab") || !strncmp(path, "/lab/", 5))
		return home_route(q, path);
	if (!strcmp(path, "/builds"))
		return builds_page(q);
	if (!strcmp(path, "/api/search"))
		return api_search(q);
	if (!strncmp(path, "/s/", 3))
		return session_asset(q, path + 3);
	if (!strncmp(path, "/r/", 3))
		return release_route(q, path);
	return fail_page(q, 404, not_granted, !strncmp(path, "/api/", 5));
}

int web_handle(void *ctx, const struct http_req *rq, struct http_resp *rs)
{
	struct web *w = ctx;
	struct req q;
	struct buf path;
	int r;
	memset(&q, 0, sizeof(q));
	q.w = w;
	q.rq = rq;
	q.rs = rs;
	q.now = (int64_t)time(NULL);
	buf_init(&path, HTTP_PATH_MAX + 1);
	if (web_path_decode(rq->path, &path)) {
		buf_release(&path);
		rs->status = 400;
		rs->content_type = "text/plain; charset=utf-8";
		return buf_addstr(&rs->body, "bad request path\n");
	}
	q.f = pool_get(w);
	r = dispatch(&q, path.p);
	pool_put(w, q.f);
	if (r < 0 && rs->status < 400) {
		rs->sensitive = 0;
		if (rs->body.len)
			sodium_memzero(rs->body.p, rs->body.len);
		buf_reset(&rs->body);
		r = fail_page(&q, 500, "the room could not answer this request", !strncmp(path.p, "/api/", 5));
	}
	sodium_memzero(q.token, sizeof(q.token));
	buf_release(&path);
	return r;
}
