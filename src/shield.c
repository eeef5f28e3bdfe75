/* shield: the renderer's hooks for copy resistance, marks and quotas. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "cipherfont.h"
#include "mark.h"
#include "quota.h"
#include "shield.h"
#include "trace.h"

struct entry {
	char sid[AUTH_SESSION_ID_HEX + 1];
	struct cipher *cipher;
	struct buf font;   /* the session's font/ttf */
	struct buf tile;   /* the session's forensic tile, PNG */
	uint64_t used;     /* for eviction: a counter of lookups */
};

struct shield {
	struct facility *f;
	struct trace_keys keys;
	struct buf ttf;       /* the original font */
	uint32_t *cps;        /* the code points it maps */
	size_t n_cps;
	struct entry *e[SHIELD_CACHE];
	size_t n;
	uint64_t clock;
	pthread_mutex_t mu;
	struct render_hooks hooks;
};

static void entry_free(struct entry *e)
{
	if (!e)
		return;
	cipher_free(e->cipher);
	buf_release(&e->font);
	buf_release(&e->tile);
	free(e);
}

/* The session's entry, made on first use; the lock is held by the caller. */
static int entry_get(struct shield *s, const char *sid, struct entry **out)
{
	unsigned char seed[CIPHER_SEED_LEN];
	struct entry *e;
	size_t oldest = 0;
	int r;
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->e[i]->sid, sid)) {
			s->e[i]->used = ++s->clock;
			*out = s->e[i];
			return 0;
		}
	e = xcalloc(1, sizeof(*e));
	snprintf(e->sid, sizeof(e->sid), "%s", sid);
	buf_init(&e->font, CIPHER_FONT_MAX);
	buf_init(&e->tile, 1 << 20);
	cipher_seed(s->keys.cipher, sid, seed);
	r = cipher_new(seed, s->cps, s->n_cps, &e->cipher);
	sodium_memzero(seed, sizeof(seed));
	if (r || (r = cipher_font(e->cipher, s->ttf.p, s->ttf.len, &e->font)) ||
	    (r = mark_tile_png(s->keys.mark, sid, SHIELD_CODE_BG, &e->tile))) {
		entry_free(e);
		return r;
	}
	e->used = ++s->clock;
	if (s->n == SHIELD_CACHE) {
		for (size_t i = 1; i < s->n; i++)
			if (s->e[i]->used < s->e[oldest]->used)
				oldest = i;
		entry_free(s->e[oldest]);
		s->e[oldest] = e;
	} else {
		s->e[s->n++] = e;
	}
	*out = e;
	return 0;
}

static int hook_quota(void *ctx, struct facility *f, const struct render_view *v)
{
	struct quota_refusal why;
	struct quota_ask a = {QUOTA_VIEW, v->shown, v->n_shown, 0};
	(void)ctx;
	if (!v->who || !v->grant)
		return err_set(ERR_USAGE, "shield: a render without a session or grant");
	if (!strcmp(v->kind, "search"))
		a.kind = QUOTA_SEARCH;
	else if (!strcmp(v->kind, "diff"))
		a.kind = QUOTA_DIFF;
	return quota_charge(f, v->who, v->grant, &a, v->now, &why);
}

int shield_encode(struct shield *s, const struct session_info *who, const char *p, size_t len,
		  struct buf *out)
{
	struct entry *e;
	int r;
	pthread_mutex_lock(&s->mu);
	if (!(r = entry_get(s, who->session_id, &e)))
		r = cipher_encode(e->cipher, p, len, out);
	pthread_mutex_unlock(&s->mu);
	return r;
}

static int hook_transform(void *ctx, const struct render_view *v, const char *p, size_t len,
			  struct buf *out)
{
	return shield_encode(ctx, v->who, p, len, out);
}

/* The session's assets live under URLs of their own (?v=<session id>), so that the browser
 * may keep them for the session (web.c sends them private and immutable) and never shows
 * one session's font for another's page. */
static int hook_head(void *ctx, const struct render_view *v, struct buf *out)
{
	(void)ctx;
	return buf_addf(out, "<link rel=\"stylesheet\" href=\"/s/room.css?v=%s\">", v->who->session_id);
}

static int hook_overlay(void *ctx, const struct render_view *v, struct buf *out)
{
	(void)ctx;
	(void)v;
	return buf_addstr(out, "<div class=\"sr-watermark\" aria-hidden=\"true\"></div>");
}

static int hook_mark(void *ctx, const struct render_view *v, struct buf *out)
{
	/* the mark is div.code's background (room.css), under every line shown */
	(void)ctx;
	(void)v;
	(void)out;
	return 0;
}

static int hook_image(void *ctx, const struct render_view *v, unsigned char *rgb, int w, int h)
{
	struct shield *s = ctx;
	struct mark_label l;
	if (!v->who)
		return err_set(ERR_USAGE, "shield: an image without a session");
	l.name = v->who->login;
	l.lab = v->who->org;
	l.session_id = v->who->session_id;
	l.time = v->now;
	return mark_image_rgb(s->keys.mark, &l, rgb, w, h);
}

/* {SID}: the session id of the asset URLs */
static const char room_css[] =
	"@font-face{font-family:\"sr-code\";src:url(/s/code.ttf?v={SID}) format(\"truetype\");"
	"font-display:block}\n"
	"div.code .c,div.code .c *{font-family:\"sr-code\",monospace!important;"
	"font-variant-ligatures:none!important}\n"
	"div.code{background-color:#fafafa!important;background-image:url(/s/mark.png?v={SID})!important;"
	"background-repeat:repeat!important;background-size:128px 128px!important;"
	"background-attachment:local!important}\n"
	/* lines show the mark through them; a diff's added and removed lines keep their
	 * translucent tints (app.css), under which the mark still shows */
	"div.code .l:not(.hl):not(:target):not(.a):not(.r){background:transparent!important}\n"
	".sr-watermark{position:fixed!important;inset:0!important;z-index:2147483647!important;"
	"pointer-events:none!important;display:block!important;visibility:visible!important;"
	"opacity:1!important;background-image:url(/s/watermark.svg?v={SID})!important;"
	"background-repeat:repeat!important}\n"
	"@media print{body{display:none!important}}\n";

static int hook_asset(void *ctx, const struct session_info *who, const char *name, int *status,
		      const char **ctype, struct buf *out)
{
	struct shield *s = ctx;
	struct entry *e;
	int r = 0;
	*status = 200;
	if (!strcmp(name, "room.css")) {
		*ctype = "text/css; charset=utf-8";
		for (const char *p = room_css, *q; *p; p = q + 5) {
			if (!(q = strstr(p, "{SID}")))
				return buf_addstr(out, p);
			if ((r = buf_add(out, p, (size_t)(q - p))) || (r = buf_addstr(out, who->session_id)))
				return r;
		}
		return 0;
	}
	if (!strcmp(name, "watermark.svg")) {
		struct mark_label l = {who->login, who->org, who->session_id, (int64_t)time(NULL)};
		*ctype = "image/svg+xml";
		return mark_visible_svg(&l, out);
	}
	if (strcmp(name, "code.ttf") && strcmp(name, "mark.png"))
		return ERR_NOTFOUND;
	pthread_mutex_lock(&s->mu);
	if (!(r = entry_get(s, who->session_id, &e))) {
		if (!strcmp(name, "code.ttf")) {
			*ctype = "font/ttf";
			r = buf_add(out, e->font.p, e->font.len);
		} else {
			*ctype = "image/png";
			r = buf_add(out, e->tile.p, e->tile.len);
		}
	}
	pthread_mutex_unlock(&s->mu);
	return r;
}

int shield_new(const char *dir, struct shield **out)
{
	struct shield *s = xcalloc(1, sizeof(*s));
	int r;
	*out = NULL;
	buf_init(&s->ttf, CIPHER_FONT_MAX);
	pthread_mutex_init(&s->mu, NULL);
	if ((r = facility_open(dir, &s->f)) || (r = trace_keys_get(s->f, &s->keys)) ||
	    (r = buf_read_file(&s->ttf, CIPHER_FONT_PATH)) ||
	    (r = cipher_font_charset(s->ttf.p, s->ttf.len, &s->cps, &s->n_cps))) {
		shield_free(s);
		return r;
	}
	s->hooks.ctx = s;
	s->hooks.quota = hook_quota;
	s->hooks.transform = hook_transform;
	s->hooks.per_char = 1;
	s->hooks.head = hook_head;
	s->hooks.overlay = hook_overlay;
	s->hooks.mark = hook_mark;
	s->hooks.image = hook_image;
	s->hooks.asset = hook_asset;
	*out = s;
	return 0;
}

void shield_free(struct shield *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		entry_free(s->e[i]);
	free(s->cps);
	buf_release(&s->ttf);
	sodium_memzero(&s->keys, sizeof(s->keys));
	facility_free(s->f);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

const struct render_hooks *shield_hooks(struct shield *s)
{
	return &s->hooks;
}
