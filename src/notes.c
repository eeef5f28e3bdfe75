/* notes: lab-private notes that may not repeat a run of the sealed code. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "db.h"
#include "notes.h"

struct shingles {
	unsigned char key[crypto_shorthash_KEYBYTES];
	uint64_t *slot; /* 0 = empty */
	size_t cap, n;
};

int shingles_new(struct shingles **out)
{
	struct shingles *s = xcalloc(1, sizeof(*s));
	randombytes_buf(s->key, sizeof(s->key));
	s->cap = 1024;
	s->slot = xcalloc(s->cap, sizeof(uint64_t));
	*out = s;
	return 0;
}

void shingles_free(struct shingles *s)
{
	if (!s)
		return;
	free(s->slot);
	sodium_memzero(s->key, sizeof(s->key));
	free(s);
}

size_t shingles_count(const struct shingles *s)
{
	return s->n;
}

static int is_word(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
	       c >= 0x80;
}

static int is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

void notes_tokens(const char *p, size_t len, void (*fn)(void *ctx, size_t from, size_t to),
		  void *ctx)
{
	const unsigned char *u = (const unsigned char *)p;
	size_t i = 0;
	while (i < len) {
		size_t s = i;
		if (is_space(u[i])) {
			i++;
			continue;
		}
		if (u[i] >= '0' && u[i] <= '9') { /* numbers: 0x1f, 1.5e3, 10UL */
			while (i < len && (is_word(u[i]) || u[i] == '.'))
				i++;
		} else if (is_word(u[i])) {
			while (i < len && is_word(u[i]))
				i++;
		} else {
			while (i < len && !is_word(u[i]) && !is_space(u[i]))
				i++;
		}
		fn(ctx, s, i);
	}
}

/* Token hashes of a text, with their byte spans. */
struct toks {
	const char *p;
	const unsigned char *key;
	uint64_t *h;
	size_t *from, *to;
	size_t n, cap;
};

static void tok_add(void *ctx, size_t from, size_t to)
{
	struct toks *t = ctx;
	if (t->n == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 256;
		t->h = xrealloc(t->h, t->cap * sizeof(uint64_t));
		t->from = xrealloc(t->from, t->cap * sizeof(size_t));
		t->to = xrealloc(t->to, t->cap * sizeof(size_t));
	}
	crypto_shorthash((unsigned char *)&t->h[t->n], (const unsigned char *)t->p + from, to - from, t->key);
	t->from[t->n] = from;
	t->to[t->n] = to;
	t->n++;
}

static void toks_release(struct toks *t)
{
	free(t->h);
	free(t->from);
	free(t->to);
}

/* The hash of the run of NOTES_RUN tokens starting at token i (never 0). */
static uint64_t window(const struct shingles *s, const struct toks *t, size_t i)
{
	uint64_t v;
	crypto_shorthash((unsigned char *)&v, (const unsigned char *)&t->h[i], NOTES_RUN * sizeof(uint64_t),
			 s->key);
	return v ? v : 1;
}

static int set_has(const struct shingles *s, uint64_t v)
{
	size_t i = (size_t)v & (s->cap - 1);
	while (s->slot[i]) {
		if (s->slot[i] == v)
			return 1;
		i = (i + 1) & (s->cap - 1);
	}
	return 0;
}

static void set_put(struct shingles *s, uint64_t v)
{
	size_t i = (size_t)v & (s->cap - 1);
	while (s->slot[i]) {
		if (s->slot[i] == v)
			return;
		i = (i + 1) & (s->cap - 1);
	}
	s->slot[i] = v;
	s->n++;
}

static int set_grow(struct shingles *s, size_t want)
{
	uint64_t *old = s->slot;
	size_t old_cap = s->cap, cap = s->cap;
	if (want > NOTES_SHINGLES_MAX)
		return err_set(ERR_TOOBIG, "notes: the release has too many shingles (limit %zu)",
			       NOTES_SHINGLES_MAX);
	while (cap < 2 * want)
		cap *= 2;
	if (cap == old_cap)
		return 0;
	s->slot = xcalloc(cap, sizeof(uint64_t));
	s->cap = cap;
	s->n = 0;
	for (size_t i = 0; i < old_cap; i++)
		if (old[i])
			set_put(s, old[i]);
	free(old);
	return 0;
}

int shingles_add(struct shingles *s, const char *code, size_t len)
{
	struct toks t = {code, s->key, NULL, NULL, NULL, 0, 0};
	int r = 0;
	notes_tokens(code, len, tok_add, &t);
	if (t.n >= NOTES_RUN && !(r = set_grow(s, s->n + t.n - NOTES_RUN + 1)))
		for (size_t i = 0; i + NOTES_RUN <= t.n; i++)
			set_put(s, window(s, &t, i));
	toks_release(&t);
	return r;
}

int shingles_match(const struct shingles *s, const char *text, size_t len, struct notes_match *m)
{
	struct toks t = {text, s->key, NULL, NULL, NULL, 0, 0};
	int found = 0;
	notes_tokens(text, len, tok_add, &t);
	for (size_t i = 0; i + NOTES_RUN <= t.n && !found; i++) {
		size_t j = i;
		if (!set_has(s, window(s, &t, i)))
			continue;
		while (j + 1 + NOTES_RUN <= t.n && set_has(s, window(s, &t, j + 1)))
			j++;
		m->from = t.from[i];
		m->to = t.to[j + NOTES_RUN - 1];
		m->tokens = j - i + NOTES_RUN;
		found = 1;
	}
	toks_release(&t);
	return found;
}

int notes_add(struct facility *f, const struct shingles *sh, const struct session_info *who,
	      const char *product, const char *version, const char *path, int64_t line,
	      const char *text, int64_t now, int64_t *id)
{
	sqlite3 *db = facility_db(f);
	sqlite3_stmt *st = NULL;
	struct notes_match m;
	size_t len = strlen(text);
	char ref[600];
	int r;
	json_t *x;

	if (!len)
		return err_set(ERR_USAGE, "note: empty note");
	if (len > NOTES_TEXT_MAX)
		return err_set(ERR_TOOBIG, "note: %zu bytes is too long (limit %d)", len, NOTES_TEXT_MAX);
	if (!utf8_valid(text, len))
		return err_set(ERR_PARSE, "note: not UTF-8 text");
	if (sh && shingles_match(sh, text, len, &m)) {
		snprintf(ref, sizeof(ref), "%s@%s", product, version);
		x = json_pack("{s:s,s:s,s:I,s:I}", "release", ref, "reason", "code", "tokens",
			      (json_int_t)m.tokens, "time", (json_int_t)now);
		if ((r = auth_log(f, "note_refused", who->login, x)))
			return r;
		return err_set(ERR_DENIED,
			       "note refused: characters %zu-%zu repeat %zu consecutive tokens of the "
			       "sealed code (at most %d may be quoted); describe the code or cite "
			       "its lines instead",
			       m.from + 1, m.to, m.tokens, NOTES_RUN - 1);
	}
	if ((r = db_prepare(db, "INSERT INTO notes (org_id, author, product, version, path, line, "
				"text, created_at) VALUES (?,?,?,?,?,?,?,?)", &st)))
		return r;
	sqlite3_bind_int64(st, 1, who->org_id);
	sqlite3_bind_text(st, 2, who->login, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, product, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, version, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, path ? path : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, line);
	sqlite3_bind_text(st, 7, text, (int)len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 8, now);
	r = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(db, "cannot store the note");
	sqlite3_finalize(st);
	if (r)
		return r;
	if (id)
		*id = sqlite3_last_insert_rowid(db);
	snprintf(ref, sizeof(ref), "%s@%s", product, version);
	x = json_pack("{s:I,s:s,s:s,s:I,s:I,s:s}", "note", (json_int_t)sqlite3_last_insert_rowid(db),
		      "release", ref, "path", path ? path : "", "line", (json_int_t)line, "bytes",
		      (json_int_t)len, "session", who->session_id);
	json_object_set_new(x, "time", json_integer(now));
	return auth_log(f, "note", who->login, x);
}

int notes_each(struct facility *f, const struct session_info *who, const char *product,
	       const char *version, int (*fn)(void *ctx, const struct note_info *n), void *ctx)
{
	sqlite3 *db = facility_db(f);
	sqlite3_stmt *st;
	int r;
	if ((r = db_prepare(db, "SELECT id, author, path, line, text, created_at FROM notes "
				"WHERE org_id = ? AND product = ? AND version = ? ORDER BY id", &st)))
		return r;
	sqlite3_bind_int64(st, 1, who->org_id);
	sqlite3_bind_text(st, 2, product, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, version, -1, SQLITE_STATIC);
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		struct note_info n;
		const char *a = (const char *)sqlite3_column_text(st, 1);
		memset(&n, 0, sizeof(n));
		n.id = sqlite3_column_int64(st, 0);
		snprintf(n.author, sizeof(n.author), "%s", a ? a : "");
		n.product = product;
		n.version = version;
		n.path = (const char *)sqlite3_column_text(st, 2);
		n.line = sqlite3_column_int64(st, 3);
		n.text = (const char *)sqlite3_column_text(st, 4);
		n.created_at = sqlite3_column_int64(st, 5);
		if (!n.path || !n.text) {
			r = err_set(ERR_CORRUPT, "notes: note %lld is damaged", (long long)n.id);
			break;
		}
		if ((r = fn(ctx, &n)))
			break;
	}
	if (r == SQLITE_DONE)
		r = 0;
	else if (r > 0)
		r = db_fail(db, "reading notes");
	sqlite3_finalize(st);
	return r;
}
