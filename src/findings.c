/* findings: a lab's findings, vendor first (see findings.h). */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "db.h"
#include "diff.h"
#include "logdb.h"
#include "findings.h"
#include "render.h"

static const char *const states[] = {"open", "acknowledged", "fixed", "disputed", "accepted"};

int findings_state_valid(const char *s)
{
	for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++)
		if (!strcmp(s, states[i]))
			return 1;
	return 0;
}

int findings_may_see(const struct session_info *who, int64_t org_id)
{
	if (!strcmp(who->role, "vendor"))
		return 1;
	return !strcmp(who->org_kind, "lab") && who->org_id == org_id;
}

int findings_locate(const struct manifest *m, const char *path, uint64_t from, uint64_t to,
		    const unsigned char *text, size_t len, char blob[65])
{
	const struct manifest_entry *e = manifest_find(m, path, strlen(path));
	uint64_t n;
	if (!e || e->mode == 0120000)
		return err_set(ERR_NOTFOUND, "finding: '%s' is not a file of the release", path);
	if (!from || to < from)
		return err_set(ERR_USAGE, "finding: lines %llu-%llu are not a range (1-based, from <= to)",
			       (unsigned long long)from, (unsigned long long)to);
	n = render_count_lines(text, len);
	if (to > n)
		return err_set(ERR_USAGE, "finding: '%s' has %llu lines, not %llu", path,
			       (unsigned long long)n, (unsigned long long)to);
	hex_encode(blob, e->sha256, 32);
	return 0;
}

/* A hex SHA-256 id: 64 lowercase hex digits. */
static int blob_valid(const char *s)
{
	unsigned char tmp[32];
	if (strlen(s) != 64 || hex_decode(tmp, 32, s, 64))
		return 0;
	for (const char *p = s; *p; p++)
		if (*p >= 'A' && *p <= 'F')
			return 0;
	return 1;
}

/* Check text fields for size and encoding; 0 or the error. */
static int field_check(const char *what, const char *s, size_t max, int may_be_empty)
{
	size_t len = strlen(s);
	if (!len && !may_be_empty)
		return err_set(ERR_USAGE, "finding: the %s is empty", what);
	if (len > max)
		return err_set(ERR_TOOBIG, "finding: the %s is %zu bytes (limit %zu)", what, len, max);
	if (!utf8_valid(s, len))
		return err_set(ERR_PARSE, "finding: the %s is not UTF-8 text", what);
	return 0;
}

/* The id the next finding gets (under findings.lock). */
static int next_id(sqlite3 *db, int64_t *id)
{
	sqlite3_stmt *st;
	int r;
	if ((r = db_prepare(db, "SELECT COALESCE(MAX(id), 0) + 1 FROM findings", &st)))
		return r;
	r = sqlite3_step(st) == SQLITE_ROW ? 0 : db_fail(db, "reading findings");
	*id = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return r;
}

int findings_add(struct facility *f, const struct notes_code *code, const struct session_info *who,
		 const struct finding_new *n, int64_t now, int64_t *id)
{
	sqlite3 *db = facility_db(f);
	sqlite3_stmt *st = NULL;
	char cvss[CVSS_VECTOR_MAX + 1] = "", ref[600];
	const char *severity = n->severity ? n->severity : "";
	int score10 = -1, r, lock = -1;
	int64_t fid;
	json_t *x;

	if (strcmp(who->org_kind, "lab") || strcmp(who->role, "reviewer"))
		return err_set(ERR_DENIED, "finding: only a lab's reviewer files findings");
	if ((r = field_check("title", n->title ? n->title : "", FINDINGS_TITLE_MAX, 0)) ||
	    (r = field_check("text", n->text ? n->text : "", FINDINGS_TEXT_MAX, 1)) ||
	    (r = field_check("rule id", n->rule ? n->rule : "", FINDINGS_RULE_MAX, 1)))
		return r;
	if (strchr(n->title, '\n') || strchr(n->title, '\r'))
		return err_set(ERR_USAGE, "finding: the title is one line");
	if (!strncmp(severity, "CVSS:", 5)) {
		if ((r = cvss_parse(severity, strlen(severity), cvss, &score10)))
			return err_set(r, "finding: %s", err_msg());
		severity = cvss_rating(score10);
		if (!strcmp(severity, "none"))
			return err_set(ERR_USAGE, "finding: vector '%s' scores 0.0 (no impact)", cvss);
	} else if (!cvss_is_rating(severity)) {
		return err_set(ERR_USAGE, "finding: severity '%.64s' is not low, medium, high, critical "
			       "or a CVSS:3.1/ vector", severity);
	}
	if (n->cwe < 0 || n->cwe > FINDINGS_CWE_MAX)
		return err_set(ERR_USAGE, "finding: CWE id %d is out of range (1-%d, 0 for none)", n->cwe,
			       FINDINGS_CWE_MAX);
	if (!n->path || !*n->path || !n->line_from || n->line_to < n->line_from)
		return err_set(ERR_USAGE, "finding: the place needs a path and lines from <= to");
	if (!n->blob || !blob_valid(n->blob))
		return err_set(ERR_USAGE, "finding: blob '%.80s' is not a SHA-256 git id", n->blob ? n->blob : "");
	if (code &&
	    ((r = notes_check(f, code, who, "finding", n->product, n->version, n->title,
			      strlen(n->title), now)) ||
	     (r = notes_check(f, code, who, "finding", n->product, n->version, n->text,
			      strlen(n->text), now))))
		return r;
	/* under the lock: the next id is ours, and the log names it before it exists */
	if ((r = facility_lock(f, "findings.lock", &lock)))
		return r;
	if ((r = next_id(db, &fid)))
		goto fail;
	snprintf(ref, sizeof(ref), "%s@%s", n->product, n->version);
	x = json_object();
	logdb_entry_int(x, "finding", fid);
	logdb_entry_str(x, "release", ref);
	logdb_entry_str(x, "lab", who->org);
	logdb_entry_str(x, "path", n->path);
	logdb_entry_int(x, "line_from", (int64_t)n->line_from);
	logdb_entry_int(x, "line_to", (int64_t)n->line_to);
	logdb_entry_str(x, "blob", n->blob);
	logdb_entry_str(x, "severity", severity);
	if (*cvss)
		logdb_entry_str(x, "cvss", cvss);
	logdb_entry_int(x, "cwe", n->cwe);
	logdb_entry_str(x, "session", who->session_id);
	logdb_entry_int(x, "time", now);
	if ((r = auth_log(f, "finding", who->login, x)) || (r = db_begin(db)))
		goto fail_unlocked_db;
	if ((r = db_prepare(db, "INSERT INTO findings (id, org_id, author, product, version, path, "
				"line_from, line_to, blob, title, severity, cvss, score10, cwe, text, "
				"rule, state, created_at, updated_at) "
				"VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,'open',?,?)", &st)))
		goto fail;
	sqlite3_bind_int64(st, 1, fid);
	sqlite3_bind_int64(st, 2, who->org_id);
	sqlite3_bind_text(st, 3, who->login, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, n->product, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, n->version, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, n->path, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, (int64_t)n->line_from);
	sqlite3_bind_int64(st, 8, (int64_t)n->line_to);
	sqlite3_bind_text(st, 9, n->blob, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 10, n->title, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 11, severity, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 12, cvss, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 13, score10);
	sqlite3_bind_int(st, 14, n->cwe);
	sqlite3_bind_text(st, 15, n->text, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 16, n->rule ? n->rule : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 17, now);
	sqlite3_bind_int64(st, 18, now);
	if (sqlite3_step(st) != SQLITE_DONE) {
		r = db_fail(db, "cannot store the finding");
		goto fail;
	}
	sqlite3_finalize(st);
	st = NULL;
	if ((r = db_prepare(db, "INSERT INTO finding_events (finding_id, actor, state, at) "
				"VALUES (?,?,'open',?)", &st)))
		goto fail;
	sqlite3_bind_int64(st, 1, fid);
	sqlite3_bind_text(st, 2, who->login, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, now);
	if (sqlite3_step(st) != SQLITE_DONE) {
		r = db_fail(db, "cannot store the finding");
		goto fail;
	}
	sqlite3_finalize(st);
	st = NULL;
	if ((r = db_commit(db)))
		goto fail;
	facility_unlock(lock);
	if (id)
		*id = fid;
	return 0;
fail:
	sqlite3_finalize(st);
	db_rollback(db);
fail_unlocked_db:
	facility_unlock(lock);
	return r;
}

#define FINDING_COLUMNS                                                                    \
	"SELECT f.id, f.org_id, o.name, f.author, f.product, f.version, f.path, f.line_from, " \
	"f.line_to, f.blob, f.title, f.severity, f.cvss, f.score10, f.cwe, f.text, f.rule, "  \
	"f.state, f.fixed_in, f.created_at, f.updated_at FROM findings f JOIN orgs o ON "     \
	"o.id = f.org_id "

/* Fill fi from a row of FINDING_COLUMNS; ERR_CORRUPT for a damaged row. */
static int row(sqlite3_stmt *st, struct finding_info *fi)
{
	const char *s[21];
	for (int i = 0; i < 21; i++)
		s[i] = (const char *)sqlite3_column_text(st, i);
	memset(fi, 0, sizeof(*fi));
	fi->id = sqlite3_column_int64(st, 0);
	fi->org_id = sqlite3_column_int64(st, 1);
	fi->lab = s[2];
	fi->author = s[3];
	fi->product = s[4];
	fi->version = s[5];
	fi->path = s[6];
	fi->line_from = (uint64_t)sqlite3_column_int64(st, 7);
	fi->line_to = (uint64_t)sqlite3_column_int64(st, 8);
	fi->blob = s[9];
	fi->title = s[10];
	fi->severity = s[11];
	fi->cvss = s[12];
	fi->score10 = sqlite3_column_int(st, 13);
	fi->cwe = sqlite3_column_int(st, 14);
	fi->text = s[15];
	fi->rule = s[16];
	fi->state = s[17];
	fi->fixed_in = s[18];
	fi->created_at = sqlite3_column_int64(st, 19);
	fi->updated_at = sqlite3_column_int64(st, 20);
	for (int i = 2; i < 19; i++)
		if (i != 7 && i != 8 && i != 13 && i != 14 && !s[i])
			return err_set(ERR_CORRUPT, "findings: finding %lld is damaged", (long long)fi->id);
	if (!findings_state_valid(fi->state) || fi->line_from < 1 || fi->line_to < fi->line_from ||
	    fi->score10 < -1 || fi->score10 > 100)
		return err_set(ERR_CORRUPT, "findings: finding %lld is damaged", (long long)fi->id);
	return 0;
}

/* Run a prepared FINDING_COLUMNS query, calling fn for each row who may see (who NULL:
 * every row). */
static int each_row(sqlite3 *db, sqlite3_stmt *st, const struct session_info *who,
		    int (*fn)(void *ctx, const struct finding_info *fi), void *ctx, int *n)
{
	struct finding_info fi;
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		if ((r = row(st, &fi)))
			break;
		if (who && !findings_may_see(who, fi.org_id))
			continue;
		if (n)
			(*n)++;
		if ((r = fn(ctx, &fi)))
			break;
	}
	if (r == SQLITE_DONE)
		r = 0;
	else if (r > 0)
		r = db_fail(db, "reading findings");
	sqlite3_finalize(st);
	return r;
}

static int each(struct facility *f, const struct session_info *who, const char *product,
		const char *version, const char *lab,
		int (*fn)(void *ctx, const struct finding_info *fi), void *ctx)
{
	sqlite3 *db = facility_db(f);
	sqlite3_stmt *st;
	int r;
	if ((r = db_prepare(db, FINDING_COLUMNS "WHERE f.product = ? AND f.version = ? AND "
						"(? IS NULL OR o.name = ?) ORDER BY f.id", &st)))
		return r;
	sqlite3_bind_text(st, 1, product, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, version, -1, SQLITE_STATIC);
	if (lab) {
		sqlite3_bind_text(st, 3, lab, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, lab, -1, SQLITE_STATIC);
	}
	return each_row(db, st, who, fn, ctx, NULL);
}

int findings_each(struct facility *f, const struct session_info *who, const char *product,
		  const char *version, const char *lab,
		  int (*fn)(void *ctx, const struct finding_info *fi), void *ctx)
{
	if (!who)
		BUG("findings_each without a reader");
	return each(f, who, product, version, lab, fn, ctx);
}

int findings_each_all(struct facility *f, const char *product, const char *version,
		      const char *lab, int (*fn)(void *ctx, const struct finding_info *fi),
		      void *ctx)
{
	return each(f, NULL, product, version, lab, fn, ctx);
}

int findings_get(struct facility *f, const struct session_info *who, int64_t id,
		 int (*fn)(void *ctx, const struct finding_info *fi), void *ctx)
{
	sqlite3 *db = facility_db(f);
	sqlite3_stmt *st;
	int r, n = 0;
	if ((r = db_prepare(db, FINDING_COLUMNS "WHERE f.id = ?", &st)))
		return r;
	sqlite3_bind_int64(st, 1, id);
	if ((r = each_row(db, st, who, fn, ctx, &n)))
		return r;
	return n ? 0 : err_set(ERR_NOTFOUND, "finding %lld: no such finding", (long long)id);
}

static int noop(void *ctx, const struct finding_info *fi)
{
	return 0;
}

int findings_events(struct facility *f, const struct session_info *who, int64_t id,
		    int (*fn)(void *ctx, const struct finding_event *e), void *ctx)
{
	sqlite3 *db = facility_db(f);
	sqlite3_stmt *st;
	int r;
	if ((r = findings_get(f, who, id, noop, NULL)))
		return r;
	if ((r = db_prepare(db, "SELECT actor, state, fixed_in, comment, at FROM finding_events "
				"WHERE finding_id = ? ORDER BY id", &st)))
		return r;
	sqlite3_bind_int64(st, 1, id);
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		struct finding_event e = {id,
					  (const char *)sqlite3_column_text(st, 0),
					  (const char *)sqlite3_column_text(st, 1),
					  (const char *)sqlite3_column_text(st, 2),
					  (const char *)sqlite3_column_text(st, 3),
					  sqlite3_column_int64(st, 4)};
		if (!e.actor || !e.state || !e.fixed_in || !e.comment) {
			r = err_set(ERR_CORRUPT, "findings: the timeline of %lld is damaged", (long long)id);
			break;
		}
		if ((r = fn(ctx, &e)))
			break;
	}
	if (r == SQLITE_DONE)
		r = 0;
	else if (r > 0)
		r = db_fail(db, "reading a finding's timeline");
	sqlite3_finalize(st);
	return r;
}

int findings_fix_check(const struct finding_info *fi, const struct manifest *m,
		       const unsigned char *old_text, size_t old_len,
		       const unsigned char *new_text, size_t new_len)
{
	const struct manifest_entry *e = manifest_find(m, fi->path, strlen(fi->path));
	char blob[65];
	struct diff *d = NULL;
	int r, touched = 0;
	if (!e)
		return 0; /* the file was removed or moved */
	hex_encode(blob, e->sha256, 32);
	if (!strcmp(blob, fi->blob))
		return err_set(ERR_DENIED, "fixed: '%s' is the same file (blob %.12s) in that release",
			       fi->path, blob);
	if (!old_text || !new_text)
		return 0;
	if ((r = diff_lines((const char *)old_text, old_len, (const char *)new_text, new_len, 0, 0, &d)))
		return r == ERR_TOOBIG ? 0 : r; /* too large to compare: the file changed */
	for (size_t h = 0; h < diff_n_hunks(d) && !touched; h++) {
		const struct diff_hunk *hk = diff_hunk(d, h);
		uint64_t a = hk->old_start, b = hk->old_start + hk->old_count;
		/* a hunk that deletes old lines [a, b), or inserts before line a */
		if (hk->old_count ? (a <= fi->line_to && b > fi->line_from)
				  : (a >= fi->line_from && a < fi->line_to))
			touched = 1;
	}
	diff_free(d);
	if (!touched)
		return err_set(ERR_DENIED, "fixed: lines %llu-%llu of '%s' are unchanged in that release",
			       (unsigned long long)fi->line_from, (unsigned long long)fi->line_to,
			       fi->path);
	return 0;
}

const char *findings_carry_name(enum findings_carry_status s)
{
	return s == FINDINGS_SAME ? "same" : s == FINDINGS_MOVED ? "moved" : s == FINDINGS_CHANGED ? "changed" : "deleted";
}

const struct manifest_entry *findings_carry_file(const struct finding_info *fi, const struct manifest *new_m,
						 const struct diff_change *ch, size_t n)
{
	const struct manifest_entry *e = manifest_find(new_m, fi->path, strlen(fi->path));
	/* gone from its path: a rename (exact or with edits) took it to another */
	for (size_t i = 0; i < n && !e; i++)
		if (ch[i].status == DIFF_RENAMED && ch[i].old && ch[i].old->path_len == strlen(fi->path) &&
		    !memcmp(ch[i].old->path, fi->path, ch[i].old->path_len))
			e = ch[i].new;
	return e;
}

/* The lines of (p, len): offsets of each line's start, n lines (a last line without '\n'
 * counts). *starts is malloc'd with n + 1 entries (the last: len, or len + 1 past a
 * final '\n'). */
static size_t line_starts(const unsigned char *p, size_t len, size_t **starts)
{
	size_t n = 0, cap = 64;
	size_t *v = xmalloc(cap * sizeof(*v));
	for (size_t i = 0; i < len;) {
		const unsigned char *nl = memchr(p + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - p) + 1 : len;
		if (n + 2 > cap)
			v = xrealloc(v, (cap *= 2) * sizeof(*v));
		v[n++] = i;
		i = end;
	}
	v[n] = len;
	*starts = v;
	return n;
}

/* Line x (1-based) of a text as (offset, length without its '\n'). */
static void line_at(const unsigned char *p, const size_t *st, size_t x, size_t *off, size_t *l)
{
	*off = st[x - 1];
	*l = st[x] - st[x - 1];
	if (*l && p[*off + *l - 1] == '\n')
		(*l)--;
}

/* The first place in new where old lines from..to appear in a row; 0 when none. */
static uint64_t find_block(const unsigned char *op, const size_t *ost, uint64_t from, uint64_t to,
			   const unsigned char *np, const size_t *nst, size_t nn)
{
	uint64_t k = to - from + 1;
	for (uint64_t y = 1; y + k - 1 <= nn; y++) {
		uint64_t j = 0;
		for (; j < k; j++) {
			size_t ao, al, bo, bl;
			line_at(op, ost, from + j, &ao, &al);
			line_at(np, nst, y + j, &bo, &bl);
			if (al != bl || memcmp(op + ao, np + bo, al))
				break;
		}
		if (j == k)
			return y;
	}
	return 0;
}

int findings_carry(const struct finding_info *fi, const struct manifest_entry *ne,
		   const unsigned char *old_text, size_t old_len, const unsigned char *new_text,
		   size_t new_len, struct findings_carry *out)
{
	char blob[65];
	struct diff *d = NULL;
	size_t *ost = NULL, *nst = NULL, on, nn;
	uint64_t lo = 0, hi = 0, kept = 0, inserted = 0;
	int r, renamed;
	memset(out, 0, sizeof(*out));
	out->status = FINDINGS_DELETED;
	if (!ne)
		return 0;
	renamed = ne->path_len != strlen(fi->path) || memcmp(ne->path, fi->path, ne->path_len);
	hex_encode(blob, ne->sha256, 32);
	out->path = ne->path;
	if (!strcmp(blob, fi->blob)) {
		out->status = renamed ? FINDINGS_MOVED : FINDINGS_SAME;
		out->line_from = fi->line_from;
		out->line_to = fi->line_to;
		return 0;
	}
	if (!old_text || !new_text)
		return err_set(ERR_USAGE, "finding %lld: both texts are needed to follow its lines", (long long)fi->id);
	if ((r = diff_lines((const char *)old_text, old_len, (const char *)new_text, new_len, 0, 0, &d)))
		return r;
	/* each old line of the finding: removed by a hunk, or shifted by the hunks before it */
	for (uint64_t x = fi->line_from; x <= fi->line_to; x++) {
		int64_t shift = 0;
		int gone = 0;
		for (size_t h = 0; h < diff_n_hunks(d); h++) {
			const struct diff_hunk *hk = diff_hunk(d, h);
			uint64_t last = hk->old_count ? hk->old_start + hk->old_count - 1 : hk->old_start;
			if (hk->old_count && x >= hk->old_start && x <= last) {
				gone = 1;
				break;
			}
			if (x > last)
				shift += (int64_t)hk->new_count - (int64_t)hk->old_count;
			/* lines inserted inside the finding's range (after one of its lines but the last) */
			if (!hk->old_count && hk->old_start == x && x < fi->line_to)
				inserted = 1;
		}
		if (!gone) {
			uint64_t y = (uint64_t)((int64_t)x + shift);
			if (!kept || y < lo)
				lo = y;
			if (y > hi)
				hi = y;
			kept++;
		}
	}
	diff_free(d);
	if (kept == fi->line_to - fi->line_from + 1 && !inserted) {
		out->status = lo == fi->line_from && !renamed ? FINDINGS_SAME : FINDINGS_MOVED;
		out->line_from = lo;
		out->line_to = hi;
		return 0;
	}
	if (kept) {
		out->status = FINDINGS_CHANGED;
		out->line_from = lo;
		out->line_to = hi;
		return 0;
	}
	/* every line removed: moved elsewhere in the file as they were? */
	on = line_starts(old_text, old_len, &ost);
	nn = line_starts(new_text, new_len, &nst);
	if (fi->line_to <= on) {
		uint64_t y = find_block(old_text, ost, fi->line_from, fi->line_to, new_text, nst, nn);
		if (y) {
			out->status = FINDINGS_MOVED;
			out->line_from = y;
			out->line_to = y + (fi->line_to - fi->line_from);
		}
	}
	if (out->status == FINDINGS_DELETED)
		out->path = NULL;
	free(ost);
	free(nst);
	return 0;
}

/* Who may move a finding from one state to another: 'v' the vendor, 'l' its lab. */
static int allowed(const char *from, const char *to, char who)
{
	static const struct {
		const char *from, *to, *by;
	} t[] = {
		{"open", "acknowledged", "v"},	   {"open", "disputed", "v"},
		{"open", "accepted", "v"},	   {"open", "fixed", "vl"},
		{"acknowledged", "fixed", "vl"},   {"acknowledged", "disputed", "v"},
		{"acknowledged", "accepted", "v"}, {"disputed", "open", "l"},
		{"disputed", "acknowledged", "v"}, {"disputed", "accepted", "v"},
		{"fixed", "open", "l"},		   {"accepted", "open", "l"},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (!strcmp(t[i].from, from) && !strcmp(t[i].to, to) && strchr(t[i].by, who))
			return 1;
	return 0;
}

struct current {
	int64_t org_id;
	char state[16];
	char product[RELEASE_NAME_MAX + 1], version[RELEASE_NAME_MAX + 1];
};

static int keep_current(void *ctx, const struct finding_info *fi)
{
	struct current *c = ctx;
	c->org_id = fi->org_id;
	snprintf(c->state, sizeof(c->state), "%s", fi->state);
	snprintf(c->product, sizeof(c->product), "%s", fi->product);
	snprintf(c->version, sizeof(c->version), "%s", fi->version);
	return 0;
}

int findings_set_state(struct facility *f, const struct notes_code *code,
		       const struct session_info *who, int64_t id, const char *state,
		       const char *fixed_in, int fix_ok, const char *comment, int64_t now)
{
	sqlite3 *db = facility_db(f);
	sqlite3_stmt *st = NULL;
	struct current c;
	char ref[600];
	char by;
	json_t *x;
	int r, lock = -1;

	comment = comment ? comment : "";
	if (!findings_state_valid(state))
		return err_set(ERR_USAGE, "finding: state '%.32s' is not one of open, acknowledged, "
			       "fixed, disputed, accepted", state);
	if ((r = field_check("comment", comment, FINDINGS_COMMENT_MAX, 1)))
		return r;
	if (!strcmp(state, "fixed") != (fixed_in && *fixed_in))
		return err_set(ERR_USAGE, "finding: a fix names the release it is in, and only a fix does");
	if ((r = facility_lock(f, "findings.lock", &lock)))
		return r;
	if ((r = findings_get(f, who, id, keep_current, &c)))
		goto out;
	by = !strcmp(who->role, "vendor") ? 'v' : !strcmp(who->org_kind, "lab") ? 'l' : '?';
	if (!allowed(c.state, state, by)) {
		r = err_set(ERR_DENIED, "finding %lld: the %s may not move it from %s to %s",
			    (long long)id, by == 'v' ? "vendor" : by == 'l' ? "lab" : who->role,
			    c.state, state);
		goto out;
	}
	if (fixed_in && !strcmp(fixed_in, c.version)) {
		r = err_set(ERR_USAGE, "finding %lld: the fix must be in another release than %s",
			    (long long)id, c.version);
		goto out;
	}
	if (!strcmp(state, "fixed") && !fix_ok) {
		r = err_set(ERR_USAGE, "finding: the fix in '%s' was not checked", fixed_in);
		goto out;
	}
	if (*comment && code &&
	    (r = notes_check(f, code, who, "finding", c.product, c.version, comment,
			     strlen(comment), now)))
		goto out;
	snprintf(ref, sizeof(ref), "%s@%s", c.product, c.version);
	x = json_object();
	logdb_entry_int(x, "finding", id);
	logdb_entry_str(x, "release", ref);
	logdb_entry_str(x, "from", c.state);
	logdb_entry_str(x, "state", state);
	if (fixed_in)
		logdb_entry_str(x, "fixed_in", fixed_in);
	logdb_entry_str(x, "session", who->session_id);
	logdb_entry_int(x, "time", now);
	if ((r = auth_log(f, "finding_state", who->login, x)) || (r = db_begin(db)))
		goto out;
	if ((r = db_prepare(db, "UPDATE findings SET state = ?, fixed_in = ?, updated_at = ? "
				"WHERE id = ?", &st)))
		goto fail;
	sqlite3_bind_text(st, 1, state, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, fixed_in ? fixed_in : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, now);
	sqlite3_bind_int64(st, 4, id);
	if (sqlite3_step(st) != SQLITE_DONE) {
		r = db_fail(db, "cannot change the finding");
		goto fail;
	}
	sqlite3_finalize(st);
	if ((r = db_prepare(db, "INSERT INTO finding_events (finding_id, actor, state, fixed_in, "
				"comment, at) VALUES (?,?,?,?,?,?)", &st)))
		goto fail;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, who->login, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, state, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, fixed_in ? fixed_in : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, comment, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, now);
	if (sqlite3_step(st) != SQLITE_DONE) {
		r = db_fail(db, "cannot change the finding");
		goto fail;
	}
	sqlite3_finalize(st);
	st = NULL;
	if ((r = db_commit(db)))
		goto fail;
	goto out;
fail:
	sqlite3_finalize(st);
	db_rollback(db);
out:
	facility_unlock(lock);
	return r;
}
