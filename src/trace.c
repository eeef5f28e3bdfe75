/* trace: name the session behind a leaked screenshot or text, from the log's sessions. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "db.h"
#include "image.h"
#include "trace.h"

#define SECRET_LEN 32
/* Correlations tried per candidate by mark_detect (scales x phases x shifts), for the
 * chance that noise alone reaches a score */
#define IMAGE_TRIALS (17.0 * 16 * MARK_CHIPS)

int trace_keys_get(struct facility *f, struct trace_keys *k)
{
	sqlite3 *db = facility_db(f);
	sqlite3_stmt *st = NULL;
	unsigned char secret[SECRET_LEN], sealed_bin[256];
	size_t n = 0;
	int r, have = 0;

	if ((r = db_prepare(db, "SELECT value FROM facility WHERE key = 'forensic_key'", &st)))
		return r;
	if (sqlite3_step(st) == SQLITE_ROW) {
		const char *v = (const char *)sqlite3_column_text(st, 0);
		size_t vl = v ? strlen(v) : 0;
		/* stored sealed under the facility's at-rest key (facility.h), as hex */
		if (!v || vl % 2 || vl / 2 > sizeof(sealed_bin) || hex_decode(sealed_bin, vl / 2, v, vl)) {
			sqlite3_finalize(st);
			return err_set(ERR_CORRUPT, "the facility's forensic key is damaged");
		}
		sqlite3_finalize(st);
		if ((r = facility_secret_open(f, "forensic_key", sealed_bin, vl / 2, secret, sizeof(secret), &n)))
			return r;
		if (n != SECRET_LEN)
			return err_set(ERR_CORRUPT, "the facility's forensic key is damaged");
		have = 1;
	} else {
		sqlite3_finalize(st);
	}
	if (!have) {
		/* INSERT OR IGNORE, then read back: two processes at once agree on one key */
		struct buf sealed;
		char *hex;
		randombytes_buf(secret, sizeof(secret));
		buf_init(&sealed, 256);
		r = facility_secret_seal(f, "forensic_key", secret, sizeof(secret), &sealed);
		sodium_memzero(secret, sizeof(secret));
		if (r) {
			buf_release(&sealed);
			return r;
		}
		hex = xmalloc(2 * sealed.len + 1);
		hex_encode(hex, sealed.p, sealed.len);
		buf_release(&sealed);
		if ((r = db_prepare(db, "INSERT OR IGNORE INTO facility (key, value) VALUES "
					"('forensic_key', ?)", &st))) {
			free(hex);
			return r;
		}
		sqlite3_bind_text(st, 1, hex, -1, SQLITE_STATIC);
		r = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(db, "cannot store the forensic key");
		sqlite3_finalize(st);
		free(hex);
		return r ? r : trace_keys_get(f, k);
	}
	crypto_generichash(k->mark, MARK_KEY_LEN, (const unsigned char *)"sealroom mark", 13, secret,
			   sizeof(secret));
	crypto_generichash(k->cipher, CIPHER_KEY_LEN, (const unsigned char *)"sealroom cipher", 15,
			   secret, sizeof(secret));
	sodium_memzero(secret, sizeof(secret));
	return 0;
}

int trace_sessions(struct facility *f, struct trace_session **out, size_t *n)
{
	sqlite3 *db = facility_db(f);
	sqlite3_stmt *st;
	size_t cap = 0;
	int r;
	*out = NULL;
	*n = 0;
	if ((r = db_prepare(db, "SELECT idx, data FROM log_entries WHERE "
				"instr(data, '\"type\":\"login\"') > 0 ORDER BY idx", &st)))
		return r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		const char *data = (const char *)sqlite3_column_blob(st, 1);
		int len = sqlite3_column_bytes(st, 1);
		json_error_t e;
		json_t *o = data ? json_loadb(data, (size_t)len, 0, &e) : NULL;
		const char *type = json_string_value(json_object_get(o, "type"));
		const char *sid = json_string_value(json_object_get(o, "session"));
		const char *login = json_string_value(json_object_get(o, "actor"));
		const char *ip = json_string_value(json_object_get(o, "ip"));
		struct trace_session *s;
		if (!type || strcmp(type, "login") || !sid || !login || strlen(sid) != AUTH_SESSION_ID_HEX) {
			json_decref(o);
			continue;
		}
		if (*n == cap) {
			cap = cap ? 2 * cap : 64;
			*out = xrealloc(*out, cap * sizeof(**out));
		}
		s = &(*out)[(*n)++];
		memset(s, 0, sizeof(*s));
		snprintf(s->session_id, sizeof(s->session_id), "%s", sid);
		snprintf(s->login, sizeof(s->login), "%s", login);
		snprintf(s->ip, sizeof(s->ip), "%s", ip ? ip : "");
		s->started = json_integer_value(json_object_get(o, "time"));
		s->entry = (uint64_t)sqlite3_column_int64(st, 0);
		json_decref(o);
	}
	r = r == SQLITE_DONE ? 0 : db_fail(db, "reading the log's sessions");
	sqlite3_finalize(st);
	if (r) {
		free(*out);
		*out = NULL;
		*n = 0;
	}
	return r;
}

int trace_views(struct facility *f, const char *session_id,
		int (*fn)(void *ctx, uint64_t index, const char *entry, size_t len), void *ctx)
{
	sqlite3 *db = facility_db(f);
	sqlite3_stmt *st;
	char pat[64];
	int r;
	snprintf(pat, sizeof(pat), "\"session\":\"%s\"", session_id);
	if ((r = db_prepare(db, "SELECT idx, data FROM log_entries WHERE instr(data, ?) > 0 "
				"ORDER BY idx", &st)))
		return r;
	sqlite3_bind_text(st, 1, pat, -1, SQLITE_STATIC);
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		const char *data = (const char *)sqlite3_column_blob(st, 1);
		size_t len = (size_t)sqlite3_column_bytes(st, 1);
		if (!data || (!strstr(data, "\"type\":\"view\"") && !strstr(data, "\"type\":\"search\"") &&
			      !strstr(data, "\"type\":\"diff\"") && !strstr(data, "\"type\":\"print\"")))
			continue;
		if ((r = fn(ctx, (uint64_t)sqlite3_column_int64(st, 0), data, len))) {
			sqlite3_finalize(st);
			return r;
		}
	}
	r = r == SQLITE_DONE ? 0 : db_fail(db, "reading the log's views");
	sqlite3_finalize(st);
	return r;
}

static int trace_image(const struct trace_keys *k, const struct trace_session *s, size_t n,
		       const void *p, size_t len, struct trace_report *rep)
{
	unsigned char *gray = NULL;
	struct mark_candidate *c;
	struct mark_result res;
	int w, h, r;
	snprintf(rep->kind, sizeof(rep->kind), "image");
	if ((r = image_decode_gray(p, len, &gray, &w, &h)))
		return r;
	if (!n) {
		free(gray);
		return err_set(ERR_NOTFOUND, "the log holds no session to compare with");
	}
	c = xcalloc(n, sizeof(*c));
	for (size_t i = 0; i < n; i++)
		snprintf(c[i].session_id, sizeof(c[i].session_id), "%s", s[i].session_id);
	if (!(r = mark_detect(k->mark, gray, w, h, c, n, &res))) {
		size_t best = 0;
		for (size_t i = 1; i < n; i++)
			if (c[i].score > c[best].score)
				best = i;
		rep->session = s[best];
		rep->found = res.found >= 0;
		rep->usable = res.usable;
		rep->score = res.score;
		rep->second = res.second;
		rep->scale = res.scale;
		rep->sigma = res.score * sqrt((double)MARK_CHIPS);
		/* chance that noise alone reaches sigma in any of the trials, any candidate */
		rep->confidence = 1.0 - fmin(1.0, 0.5 * erfc(rep->sigma / sqrt(2.0)) * IMAGE_TRIALS * (double)n);
		if (!rep->found)
			rep->confidence = 0;
	}
	free(c);
	free(gray);
	return r;
}

static int trace_text(const struct trace_keys *k, const struct trace_session *s, size_t n,
		      const void *p, size_t len, struct trace_report *rep)
{
	struct buf font, out;
	uint32_t *cps = NULL;
	size_t n_cps = 0, best = 0;
	double best_share = -1, second = 0;
	int r;
	snprintf(rep->kind, sizeof(rep->kind), "text");
	if (len > TRACE_TEXT_MAX)
		return err_set(ERR_TOOBIG, "text of %zu bytes is too large (limit %d)", len,
			       TRACE_TEXT_MAX);
	buf_init(&font, CIPHER_FONT_MAX);
	buf_init(&out, TRACE_TEXT_MAX * 2);
	if ((r = buf_read_file(&font, CIPHER_FONT_PATH)) ||
	    (r = cipher_font_charset(font.p, font.len, &cps, &n_cps)))
		goto out;
	for (size_t i = 0; i < n; i++) {
		unsigned char seed[CIPHER_SEED_LEN];
		struct cipher *c = NULL;
		size_t n_pua = 0, n_known = 0;
		double share;
		cipher_seed(k->cipher, s[i].session_id, seed);
		if ((r = cipher_new(seed, cps, n_cps, &c)))
			goto out;
		buf_reset(&out);
		r = cipher_decode(c, p, len, &out, &n_pua, &n_known);
		cipher_free(c);
		sodium_memzero(seed, sizeof(seed));
		if (r)
			goto out;
		if (n_pua < TRACE_TEXT_MIN) {
			r = err_set(ERR_PARSE, "the text holds %zu private-use characters (at least %d "
					       "needed): plain code names no session by itself",
				    n_pua, TRACE_TEXT_MIN);
			goto out;
		}
		rep->n_pua = n_pua;
		share = (double)n_known / (double)n_pua;
		if (share > best_share) {
			second = best_share > second ? best_share : second;
			best_share = share;
			best = i;
		} else if (share > second) {
			second = share;
		}
	}
	rep->usable = 1;
	rep->session = s[best];
	rep->score = best_share;
	rep->second = second < 0 ? 0 : second;
	rep->found = best_share >= TRACE_TEXT_SHARE && rep->second < 0.5;
	/* each private code point of another session's text is one of this session's with
	 * probability about n_cps / pool; many of them all matching is no accident */
	rep->confidence = rep->found ? 1.0 - fmin(1.0, pow((double)n_cps / 137468.0, (double)rep->n_pua * best_share) * (double)n) : 0;
out:
	free(cps);
	buf_release(&font);
	buf_release(&out);
	return r;
}

int trace_leak_among(const struct trace_keys *k, const struct trace_session *s, size_t n,
		     const void *p, size_t len, struct trace_report *rep)
{
	memset(rep, 0, sizeof(*rep));
	rep->candidates = n;
	if (image_sniff(p, len) != IMAGE_NONE)
		return trace_image(k, s, n, p, len, rep);
	/* text cut out of a page may end inside a character: only NUL bytes mark binary */
	if (memchr(p, 0, len))
		return err_set(ERR_PARSE, "not a PNG, JPEG, GIF or WebP image, nor text");
	if (!n)
		return err_set(ERR_NOTFOUND, "the log holds no session to compare with");
	return trace_text(k, s, n, p, len, rep);
}

int trace_leak(struct facility *f, const void *p, size_t len, struct trace_report *rep)
{
	struct trace_keys k;
	struct trace_session *s = NULL;
	size_t n = 0;
	int r;
	memset(rep, 0, sizeof(*rep));
	if (!(r = trace_keys_get(f, &k)) && !(r = trace_sessions(f, &s, &n)))
		r = trace_leak_among(&k, s, n, p, len, rep);
	sodium_memzero(&k, sizeof(k));
	free(s);
	return r;
}
