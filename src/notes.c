/* notes: lab-private notes that may not repeat a run of the sealed code. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>
#include <utf8proc.h>

#include "db.h"
#include "index.h"
#include "logdb.h"
#include "notes.h"
#include "trace.h"

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

/*
 * The index path. The note's windows of NOTES_RUN tokens go into a small table by a
 * seeded hash of their token hashes (identical windows once); the files that may hold a
 * window are found through the trigrams of its tokens; each such file is tokenised once,
 * and every run of NOTES_RUN of its tokens whose hash is in the table is compared token by
 * token with the note's window. So a window is found exactly where shingles_add would
 * have seen it, whatever white space separates its tokens in the code.
 */
#define ROLL_P 0x9e3779b97f4a7c15ULL

struct scan {
	const unsigned char *note;
	size_t *from, *to, n_tok, cap_tok, n_win;
	uint64_t seed, p_run; /* p_run = ROLL_P ** NOTES_RUN */
	uint64_t *slot_h;
	uint32_t *slot_w; /* UINT32_MAX = empty */
	size_t cap;
	uint32_t *rep;      /* window -> its first identical window */
	unsigned char *hit; /* by window: found in the code */
	/* the file being scanned: the last NOTES_RUN tokens, by token number mod NOTES_RUN */
	const unsigned char *file;
	uint64_t ring_h[NOTES_RUN], roll;
	size_t ring_from[NOTES_RUN], ring_to[NOTES_RUN], n_file_tok;
};

static uint64_t tok_hash(uint64_t seed, const unsigned char *p, size_t n)
{
	uint64_t h = seed ^ n;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	return h ^ (h >> 33);
}

static void note_tok(void *ctx, size_t from, size_t to)
{
	struct scan *s = ctx;
	if (s->n_tok == s->cap_tok) {
		s->cap_tok = s->cap_tok ? 2 * s->cap_tok : 256;
		s->from = xrealloc(s->from, s->cap_tok * sizeof(size_t));
		s->to = xrealloc(s->to, s->cap_tok * sizeof(size_t));
	}
	s->from[s->n_tok] = from;
	s->to[s->n_tok] = to;
	s->n_tok++;
}

static int same_tok(const unsigned char *a, size_t af, size_t at, const unsigned char *b, size_t bf,
		    size_t bt)
{
	return at - af == bt - bf && !memcmp(a + af, b + bf, at - af);
}

static int same_windows(const struct scan *s, size_t a, size_t b)
{
	for (size_t k = 0; k < NOTES_RUN; k++)
		if (!same_tok(s->note, s->from[a + k], s->to[a + k], s->note, s->from[b + k], s->to[b + k]))
			return 0;
	return 1;
}

/* Cut the note into tokens and put its distinct windows into the table. */
static void scan_init(struct scan *s, const char *text, size_t len)
{
	uint64_t *th;
	memset(s, 0, sizeof(*s));
	s->note = (const unsigned char *)text;
	randombytes_buf(&s->seed, sizeof(s->seed));
	s->p_run = 1;
	for (int k = 0; k < NOTES_RUN; k++)
		s->p_run *= ROLL_P;
	notes_tokens(text, len, note_tok, s);
	s->n_win = s->n_tok >= NOTES_RUN ? s->n_tok - NOTES_RUN + 1 : 0;
	if (!s->n_win)
		return;
	th = xmalloc(s->n_tok * sizeof(uint64_t));
	for (size_t i = 0; i < s->n_tok; i++)
		th[i] = tok_hash(s->seed, s->note + s->from[i], s->to[i] - s->from[i]);
	for (s->cap = 16; s->cap < 2 * s->n_win; s->cap *= 2)
		;
	s->slot_h = xcalloc(s->cap, sizeof(uint64_t));
	s->slot_w = xmalloc(s->cap * sizeof(uint32_t));
	memset(s->slot_w, 0xff, s->cap * sizeof(uint32_t));
	s->rep = xmalloc(s->n_win * sizeof(uint32_t));
	s->hit = xcalloc(s->n_win, 1);
	for (size_t w = 0; w < s->n_win; w++) {
		uint64_t h = 0;
		size_t i;
		for (size_t k = 0; k < NOTES_RUN; k++)
			h = h * ROLL_P + th[w + k];
		s->rep[w] = (uint32_t)w;
		for (i = (size_t)h & (s->cap - 1); s->slot_w[i] != UINT32_MAX; i = (i + 1) & (s->cap - 1))
			if (s->slot_h[i] == h && same_windows(s, s->slot_w[i], w)) {
				s->rep[w] = s->slot_w[i];
				break;
			}
		if (s->rep[w] == w) {
			s->slot_h[i] = h;
			s->slot_w[i] = (uint32_t)w;
		}
	}
	free(th);
}

static void scan_release(struct scan *s)
{
	free(s->from);
	free(s->to);
	free(s->slot_h);
	free(s->slot_w);
	free(s->rep);
	free(s->hit);
}

/* One token of the file: roll the window's hash, and compare on a hash that the note has. */
static void file_tok(void *ctx, size_t from, size_t to)
{
	struct scan *s = ctx;
	size_t j = s->n_file_tok++ % NOTES_RUN;
	uint64_t h = tok_hash(s->seed, s->file + from, to - from);
	s->roll = s->roll * ROLL_P + h - s->ring_h[j] * s->p_run;
	s->ring_h[j] = h;
	s->ring_from[j] = from;
	s->ring_to[j] = to;
	if (s->n_file_tok < NOTES_RUN)
		return;
	for (size_t i = (size_t)s->roll & (s->cap - 1); s->slot_w[i] != UINT32_MAX; i = (i + 1) & (s->cap - 1)) {
		size_t w = s->slot_w[i], k;
		if (s->slot_h[i] != s->roll || s->hit[w])
			continue;
		for (k = 0; k < NOTES_RUN; k++) {
			size_t r = (s->n_file_tok + k) % NOTES_RUN; /* the window's k-th token */
			if (!same_tok(s->file, s->ring_from[r], s->ring_to[r], s->note, s->from[w + k], s->to[w + k]))
				break;
		}
		if (k == NOTES_RUN)
			s->hit[w] = 1;
	}
}

static void scan_file(struct scan *s, const unsigned char *p, size_t len)
{
	s->file = p;
	s->roll = 0;
	s->n_file_tok = 0;
	memset(s->ring_h, 0, sizeof(s->ring_h));
	notes_tokens((const char *)p, len, file_tok, s);
}

/* The rarest trigrams inside a token (*c = SIZE_MAX when the token has none). */
struct rare {
	uint32_t t[2];
	size_t c[2];
};

static void rare_put(struct rare *r, uint32_t t, size_t c)
{
	if ((r->c[0] != SIZE_MAX && r->t[0] == t) || (r->c[1] != SIZE_MAX && r->t[1] == t))
		return;
	if (c < r->c[0]) {
		r->t[1] = r->t[0];
		r->c[1] = r->c[0];
		r->t[0] = t;
		r->c[0] = c;
	} else if (c < r->c[1]) {
		r->t[1] = t;
		r->c[1] = c;
	}
}

/*
 * Mark in cand the files that may hold window w: those with both of its two rarest
 * trigrams (each inside one of its tokens, so in the code whatever the spacing). 1 when
 * the window has no token of 3 bytes, so that every file must be read.
 */
static int window_files(const struct index *ix, const struct rare *tok, size_t w, struct rare *last,
			unsigned char *cand)
{
	struct rare r = {{0, 0}, {SIZE_MAX, SIZE_MAX}};
	uint32_t *a = NULL, *b = NULL;
	size_t na = 0, nb = 0;
	for (size_t k = w; k < w + NOTES_RUN; k++)
		for (int j = 0; j < 2; j++)
			if (tok[k].c[j] != SIZE_MAX)
				rare_put(&r, tok[k].t[j], tok[k].c[j]);
	if (r.c[0] == SIZE_MAX)
		return 1;
	if (!r.c[0] || !memcmp(&r, last, sizeof(r))) /* none holds it, or as the last window */
		return 0;
	*last = r;
	index_postings(ix, r.t[0], &a, &na);
	if (r.c[1] != SIZE_MAX)
		index_postings(ix, r.t[1], &b, &nb);
	for (size_t i = 0, j = 0; i < na; i++) {
		while (b && j < nb && b[j] < a[i])
			j++;
		if (!b || (j < nb && b[j] == a[i]))
			cand[a[i]] = 1;
	}
	free(a);
	free(b);
	return 0;
}

int notes_match_index(const struct index *ix, const char *text, size_t len, size_t scan_max,
		      struct notes_match *m)
{
	struct scan s;
	struct rare *tok = NULL, last = {{0, 0}, {SIZE_MAX, SIZE_MAX}};
	size_t n_files = index_n_files(ix), total = 0;
	unsigned char *cand = NULL;
	int all = 0, r = 0;

	scan_init(&s, text, len);
	if (!s.n_win)
		goto out;
	tok = xmalloc(s.n_tok * sizeof(*tok));
	for (size_t i = 0; i < s.n_tok; i++) {
		tok[i].c[0] = tok[i].c[1] = SIZE_MAX;
		for (size_t k = s.from[i]; k + 3 <= s.to[i]; k++) {
			uint32_t t = index_trigram(s.note[k], s.note[k + 1], s.note[k + 2]);
			rare_put(&tok[i], t, index_postings_count(ix, t));
		}
	}
	cand = xcalloc(n_files ? n_files : 1, 1);
	for (size_t w = 0; w < s.n_win && !all; w++)
		if (s.rep[w] == w)
			all = window_files(ix, tok, w, &last, cand);
	for (size_t i = 0; i < n_files; i++) {
		size_t n = 0;
		const unsigned char *p = index_read_text(ix, i, &n);
		/* past a NUL the trigrams stop (index_searchable_len), the tokens do not */
		cand[i] = p && n && (all || cand[i] || index_search_len(ix, i) < n);
		if (cand[i] && __builtin_add_overflow(total, n, &total))
			total = SIZE_MAX;
	}
	if (total > scan_max) {
		r = err_set(ERR_TOOBIG,
			    "note refused: checking it against the sealed code would read %zu MiB of "
			    "files (limit %zu MiB); split it into shorter notes or quote less code",
			    total / 1048576 + (total % 1048576 != 0), scan_max / 1048576);
		goto out;
	}
	for (size_t i = 0; i < n_files; i++)
		if (cand[i]) {
			size_t n = 0;
			const unsigned char *p = index_read_text(ix, i, &n);
			scan_file(&s, p, n);
		}
	for (size_t i = 0; i < s.n_win && !r; i++) {
		size_t j = i;
		if (!s.hit[s.rep[i]])
			continue;
		while (j + 1 < s.n_win && s.hit[s.rep[j + 1]])
			j++;
		m->from = s.from[i];
		m->to = s.to[j + NOTES_RUN - 1];
		m->tokens = j - i + NOTES_RUN;
		r = 1;
	}
out:
	free(cand);
	free(tok);
	scan_release(&s);
	return r;
}

int notes_normalise(const char *text, size_t len, struct buf *out)
{
	utf8proc_uint8_t *nf = NULL;
	utf8proc_ssize_t n, i = 0, k;
	utf8proc_int32_t c;
	int r = 0;
	buf_reset(out);
	if (len > (size_t)SSIZE_MAX / 32)
		return err_set(ERR_TOOBIG, "note: %zu bytes is too long to normalise", len);
	/* NFKC without the default-ignorable code points (utf8proc's tables) */
	n = utf8proc_map((const utf8proc_uint8_t *)text, (utf8proc_ssize_t)len, &nf,
			 UTF8PROC_STABLE | UTF8PROC_COMPAT | UTF8PROC_COMPOSE | UTF8PROC_IGNORE);
	if (n < 0)
		return err_set(ERR_PARSE, "note: cannot normalise the text: %s", utf8proc_errmsg(n));
	while (i < n && !r) {
		k = utf8proc_iterate(nf + i, n - i, &c);
		if (k <= 0) { /* utf8proc_map writes valid UTF-8 */
			r = err_set(ERR_PARSE, "note: cannot normalise the text");
			break;
		}
		switch (utf8proc_category(c)) {
		case UTF8PROC_CATEGORY_CF: /* format characters hide token boundaries: dropped */
			break;
		case UTF8PROC_CATEGORY_ZS: /* every space separator is a space */
		case UTF8PROC_CATEGORY_ZL:
		case UTF8PROC_CATEGORY_ZP:
			r = buf_addch(out, ' ');
			break;
		default:
			r = buf_add(out, nf + i, (size_t)k);
		}
		i += k;
	}
	sodium_memzero(nf, (size_t)n);
	free(nf);
	return r ? r : buf_addstr(out, "");
}

/* Check a note against whichever form of the code c holds. */
static int code_match(const struct notes_code *c, const char *text, size_t len, struct notes_match *m)
{
	if (c->sh)
		return shingles_match(c->sh, text, len, m);
	if (c->ix)
		return notes_match_index(c->ix, text, len, c->scan_max, m);
	BUG("notes: no code to check against");
}

struct note_store {
	struct facility *f;
	sqlite3 *db;
	const struct session_info *who;
	const char *product, *version, *path;
	int64_t line;
	const char *text;
	size_t len;
	int64_t now, *id;
};

/*
 * The at-rest purpose of a note: its lab, author, release, place and time, so that a
 * sealed text moved to another row (another lab's, another author's, another place) does
 * not open there.
 */
static char *note_purpose(int64_t org, const char *author, const char *product, const char *version,
			  const char *path, int64_t line, int64_t created_at)
{
	char *p = NULL;
	if (asprintf(&p, "note:%lld:%s:%s@%s:%lld:%lld:%s", (long long)org, author, product, version, (long long)line,
		     (long long)created_at, path) < 0)
		BUG("asprintf");
	return p;
}

/* The act of notes_add, once its entry is durable: keep the note, sealed at rest. */
static int note_store(void *ctx)
{
	struct note_store *n = ctx;
	sqlite3_stmt *st = NULL;
	struct buf sealed;
	char *purpose = note_purpose(n->who->org_id, n->who->login, n->product, n->version, n->path ? n->path : "",
				     n->line, n->now);
	int r;
	buf_init(&sealed, 0);
	r = facility_secret_seal(n->f, purpose, n->text, n->len, &sealed);
	free(purpose);
	if (r || (r = db_prepare(n->db, "INSERT INTO notes (org_id, author, product, version, path, line, "
					"text, created_at, sealed) VALUES (?,?,?,?,?,?,?,?,1)", &st))) {
		buf_release(&sealed);
		return r;
	}
	sqlite3_bind_int64(st, 1, n->who->org_id);
	sqlite3_bind_text(st, 2, n->who->login, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, n->product, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, n->version, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, n->path ? n->path : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, n->line);
	sqlite3_bind_blob(st, 7, sealed.p, (int)sealed.len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 8, n->now);
	r = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(n->db, "cannot store the note");
	sqlite3_finalize(st);
	buf_release(&sealed);
	if (!r && n->id)
		*n->id = sqlite3_last_insert_rowid(n->db);
	return r;
}

int notes_seal_at_rest(struct facility *f, size_t *sealed)
{
	sqlite3 *db = facility_db(f);
	sqlite3_stmt *st = NULL, *up = NULL;
	struct buf b;
	int r;
	*sealed = 0;
	buf_init(&b, 0);
	if ((r = db_begin(db)))
		return r;
	if ((r = db_prepare(db, "SELECT id, org_id, author, product, version, path, line, created_at, text FROM notes "
				"WHERE sealed = 0 ORDER BY id", &st)) ||
	    (r = db_prepare(db, "UPDATE notes SET text = ?, sealed = 1 WHERE id = ? AND sealed = 0", &up)))
		goto out;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		const char *author = (const char *)sqlite3_column_text(st, 2), *product = (const char *)sqlite3_column_text(st, 3),
			   *version = (const char *)sqlite3_column_text(st, 4), *path = (const char *)sqlite3_column_text(st, 5);
		const void *text = sqlite3_column_text(st, 8);
		size_t len = (size_t)sqlite3_column_bytes(st, 8);
		char *purpose;
		if (!author || !product || !version || !path || !text) {
			r = err_set(ERR_CORRUPT, "notes: note %lld is damaged", (long long)sqlite3_column_int64(st, 0));
			goto out;
		}
		purpose = note_purpose(sqlite3_column_int64(st, 1), author, product, version, path,
				       sqlite3_column_int64(st, 6), sqlite3_column_int64(st, 7));
		buf_reset(&b);
		r = facility_secret_seal(f, purpose, text, len, &b);
		free(purpose);
		if (r)
			goto out;
		sqlite3_reset(up);
		sqlite3_bind_blob(up, 1, b.p, (int)b.len, SQLITE_STATIC);
		sqlite3_bind_int64(up, 2, sqlite3_column_int64(st, 0));
		if (sqlite3_step(up) != SQLITE_DONE) {
			r = db_fail(db, "sealing a note at rest");
			goto out;
		}
		(*sealed)++;
	}
	r = r == SQLITE_DONE ? 0 : db_fail(db, "reading notes");
out:
	sqlite3_finalize(st);
	sqlite3_finalize(up);
	buf_release(&b);
	if (!r && (r = db_commit(db)))
		*sealed = 0;
	if (r)
		db_rollback(db);
	return r;
}

int notes_check(struct facility *f, const struct notes_code *code, const struct session_info *who,
		const char *what, const char *product, const char *version, const char *text,
		size_t len, int64_t now)
{
	struct notes_match m;
	struct trace_keys k;
	struct buf norm;
	unsigned char sub[32], h[16];
	char ref[600], type[64], hx[33];
	json_t *x;
	int r;
	/* the text as it is compared: without what hides tokens (notes_normalise) */
	buf_init(&norm, 32 * len + 16);
	if (!(r = notes_normalise(text, len, &norm)))
		r = norm.len ? code_match(code, norm.p, norm.len, &m) : 0;
	sodium_memzero(norm.p, norm.cap);
	buf_release(&norm);
	if (r <= 0)
		return r;
	/* a keyed hash of the text: a refused text shown later can be matched, and nobody can
	 * test guesses against the log */
	if ((r = trace_keys_get(f, &k)))
		return r;
	crypto_generichash(sub, sizeof(sub), (const unsigned char *)"sealroom/note-refused", 21, k.mark,
			   sizeof(k.mark));
	crypto_generichash(h, sizeof(h), (const unsigned char *)text, len, sub, sizeof(sub));
	sodium_memzero(&k, sizeof(k));
	sodium_memzero(sub, sizeof(sub));
	hex_encode(hx, h, sizeof(h));
	snprintf(ref, sizeof(ref), "%s@%s", product, version);
	snprintf(type, sizeof(type), "%s_refused", what);
	x = json_object();
	logdb_entry_str(x, "release", ref);
	logdb_entry_str(x, "reason", "code");
	logdb_entry_int(x, "tokens", (int64_t)m.tokens);
	logdb_entry_str(x, "session", who->session_id);
	logdb_entry_str(x, "text_hash", hx);
	logdb_entry_int(x, "time", now);
	if ((r = auth_log(f, type, who->login, x)))
		return r;
	/* neither where nor how much: that would be an oracle for the next token */
	return err_set(ERR_DENIED, "%s refused: it repeats the sealed code (at most %d consecutive tokens may be "
				   "quoted); describe the code or cite its lines instead",
		       what, NOTES_RUN - 1);
}

int notes_add(struct facility *f, const struct notes_code *code, const struct session_info *who,
	      const char *product, const char *version, const char *path, int64_t line,
	      const char *text, int64_t now, int64_t *id)
{
	sqlite3 *db = facility_db(f);
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
	if (code && (r = notes_check(f, code, who, "note", product, version, text, len, now)))
		return r;
	/* log, then store: the entry names the note's place and size (not its text, which is
	 * the lab's) and is durable before the note exists */
	snprintf(ref, sizeof(ref), "%s@%s", product, version);
	x = json_object();
	logdb_entry_str(x, "release", ref);
	logdb_entry_str(x, "path", path ? path : "");
	logdb_entry_int(x, "line", line);
	logdb_entry_int(x, "bytes", (int64_t)len);
	logdb_entry_str(x, "session", who->session_id);
	logdb_entry_int(x, "time", now);
	{
		struct note_store ns = {f, db, who, product, version, path, line, text, len, now, id};
		return auth_log_then(f, "note", who->login, x, note_store, &ns);
	}
}

int notes_each(struct facility *f, const struct session_info *who, const char *product,
	       const char *version, int (*fn)(void *ctx, const struct note_info *n), void *ctx)
{
	sqlite3 *db = facility_db(f);
	sqlite3_stmt *st;
	int r;
	unsigned char *plain = sodium_malloc(NOTES_TEXT_MAX + 1);
	if (!plain)
		BUG("sodium_malloc");
	if ((r = db_prepare(db, "SELECT id, author, path, line, text, created_at, sealed FROM notes "
				"WHERE org_id = ? AND product = ? AND version = ? ORDER BY id", &st))) {
		sodium_free(plain);
		return r;
	}
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
		n.created_at = sqlite3_column_int64(st, 5);
		if (!a || !n.path) {
			r = err_set(ERR_CORRUPT, "notes: note %lld is damaged", (long long)n.id);
			break;
		}
		if (sqlite3_column_int(st, 6)) {
			/* sealed: it opens for this lab, author, release, place and time only */
			char *purpose = note_purpose(who->org_id, a, product, version, n.path, n.line, n.created_at);
			size_t len = 0;
			r = facility_secret_open(f, purpose, sqlite3_column_blob(st, 4), (size_t)sqlite3_column_bytes(st, 4),
						 plain, NOTES_TEXT_MAX, &len);
			free(purpose);
			if (r) {
				r = err_set(r, "notes: note %lld does not open: it was altered or moved at rest (%s)",
					    (long long)n.id, err_msg());
				break;
			}
			plain[len] = 0;
			n.text = (const char *)plain;
		} else if (!(n.text = (const char *)sqlite3_column_text(st, 4))) {
			r = err_set(ERR_CORRUPT, "notes: note %lld is damaged", (long long)n.id);
			break;
		}
		r = fn(ctx, &n);
		sodium_memzero(plain, NOTES_TEXT_MAX + 1);
		if (r)
			break;
	}
	if (r == SQLITE_DONE)
		r = 0;
	else if (r > 0)
		r = db_fail(db, "reading notes");
	sqlite3_finalize(st);
	sodium_free(plain);
	return r;
}
