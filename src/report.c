/* report: the exposure report, from log entries alone (see report.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "hash.h"
#include "logdb.h"
#include "release.h"
#include "render.h"
#include "report.h"
#include "tlog.h"

struct report {
	char ref[2 * RELEASE_NAME_MAX + 2];
	char *lab;       /* filter, or NULL */
	json_t *users;   /* login -> lab */
	json_t *grants;  /* grant id (decimal) -> true, for this release */
	json_t *labs;    /* lab -> {"reviewers": {login -> acc}} */
	json_t *seal;    /* the release's seal entry, or NULL */
	uint64_t n;      /* entries fed */
	json_t *cp;      /* {"origin","size","root"} */
	const struct report_changes *changes; /* restriction, or NULL */
};

struct report_changes {
	json_t *files; /* path -> [[from, to], ..] as added */
	size_t n;
};

struct report_changes *report_changes_new(void)
{
	struct report_changes *c = xcalloc(1, sizeof(*c));
	c->files = json_object();
	return c;
}

void report_changes_free(struct report_changes *c)
{
	if (!c)
		return;
	json_decref(c->files);
	free(c);
}

int report_changes_add(struct report_changes *c, const char *path, uint64_t from, uint64_t to)
{
	json_t *a;
	if (!*path || strlen(path) > MANIFEST_MAX_PATH || !utf8_valid(path, strlen(path)))
		return err_set(ERR_PARSE, "changes: a path is empty, too long or not UTF-8");
	if (!from || to < from || to > INT32_MAX)
		return err_set(ERR_PARSE, "changes: lines %llu-%llu of '%s' are not a range", (unsigned long long)from,
			       (unsigned long long)to, path);
	if (c->n >= REPORT_CHANGES_MAX)
		return err_set(ERR_TOOBIG, "changes: more than %d ranges", REPORT_CHANGES_MAX);
	if (!(a = json_object_get(c->files, path))) {
		a = json_array();
		json_object_set_new(c->files, path, a);
	}
	json_array_append_new(a, json_pack("[I,I]", (json_int_t)from, (json_int_t)to));
	c->n++;
	return 0;
}

void report_restrict(struct report *r, const struct report_changes *c)
{
	r->changes = c;
}

struct report *report_new(const char *product, const char *version, const char *lab)
{
	struct report *r = xcalloc(1, sizeof(*r));
	snprintf(r->ref, sizeof(r->ref), "%s@%s", product, version);
	r->lab = lab ? xstrdup(lab) : NULL;
	r->users = json_object();
	r->grants = json_object();
	r->labs = json_object();
	return r;
}

void report_free(struct report *r)
{
	if (!r)
		return;
	json_decref(r->users);
	json_decref(r->grants);
	json_decref(r->labs);
	json_decref(r->seal);
	json_decref(r->cp);
	free(r->lab);
	free(r);
}

/* A decimal of at most 10 digits at *p (advanced); -1 when there is none. */
static int64_t dec(const char **p, const char *end)
{
	int64_t v = 0;
	int n = 0;
	while (*p < end && **p >= '0' && **p <= '9' && n < 11) {
		v = v * 10 + (**p - '0');
		(*p)++;
		n++;
	}
	return n && n <= 10 ? v : -1;
}

int report_changes_parse(const char *p, size_t len, struct report_changes **out)
{
	struct report_changes *c = report_changes_new();
	char path[MANIFEST_MAX_PATH + 1] = "";
	const char *end = p + len;
	size_t line = 0;
	int64_t rem_old = 0, rem_new = 0; /* lines of the hunk still to come */
	int r = 0, in_file = 0;
	while (p < end && !r) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *e = nl ? nl : end;
		line++;
		if (rem_old > 0 || rem_new > 0) {
			/* a line of the hunk: its text is anything, never a header */
			if (e > p && (*p == '-' || *p == ' ') && rem_old > 0)
				rem_old--;
			if (e > p && (*p == '+' || *p == ' ') && rem_new > 0)
				rem_new--;
			if (e == p || (*p != '-' && *p != '+' && *p != ' ' && *p != '\\'))
				r = err_set(ERR_PARSE, "changes: line %zu: the hunk ends before its counts say", line);
		} else if (e - p >= 4 && !memcmp(p, "+++ ", 4)) {
			const char *q = p + 4;
			size_t n = (size_t)(e - q);
			if (n && q[n - 1] == '\r')
				n--;
			if (n == 9 && !memcmp(q, "/dev/null", 9)) {
				in_file = 0; /* a deleted file: nothing of it is in the new release */
			} else if (n > 2 && !memcmp(q, "b/", 2) && n - 2 <= MANIFEST_MAX_PATH && !memchr(q, '\0', n) &&
				   !memchr(q, '\t', n)) {
				memcpy(path, q + 2, n - 2);
				path[n - 2] = 0;
				in_file = 1;
			} else {
				r = err_set(ERR_PARSE, "changes: line %zu: the new file's name is not 'b/PATH' (quoted names "
						       "are refused: run git with -c core.quotePath=false)",
					    line);
			}
		} else if (e - p >= 4 && !memcmp(p, "@@ -", 4)) {
			const char *q = p + 4;
			int64_t a, b = 1, cs, cn = 1;
			if ((a = dec(&q, e)) < 0 || (q < e && *q == ',' && (q++, (b = dec(&q, e)) < 0)) || e - q < 2 ||
			    memcmp(q, " +", 2) || (q += 2, (cs = dec(&q, e)) < 0) ||
			    (q < e && *q == ',' && (q++, (cn = dec(&q, e)) < 0)) || e - q < 3 || memcmp(q, " @@", 3))
				r = err_set(ERR_PARSE, "changes: line %zu: a hunk header is not '@@ -a,b +c,d @@'", line);
			else if (!in_file && cn)
				r = err_set(ERR_PARSE, "changes: line %zu: a hunk before any '+++ b/PATH' line", line);
			else if (cn > 0 && cs < 1)
				r = err_set(ERR_PARSE, "changes: line %zu: a hunk starts at line 0", line);
			else if (cn > 0)
				r = report_changes_add(c, path, (uint64_t)cs, (uint64_t)(cs + cn - 1));
			(void)a;
			rem_old = b;
			rem_new = cn;
		}
		p = nl ? nl + 1 : end;
	}
	if (!r && (rem_old > 0 || rem_new > 0))
		r = err_set(ERR_PARSE, "changes: the last hunk ends before its counts say");
	if (r) {
		report_changes_free(c);
		return r;
	}
	*out = c;
	return 0;
}

static const char *str(json_t *e, const char *k)
{
	json_t *v = json_object_get(e, k);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static int64_t num(json_t *e, const char *k)
{
	json_t *v = json_object_get(e, k);
	return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

/* A path field: the text, or "base64:<..>" for one the log kept in base64. */
static void path_of(json_t *e, char *out, size_t cap)
{
	const char *p = str(e, "path"), *b = str(e, "path_b64");
	if (p)
		snprintf(out, cap, "%s", p);
	else if (b)
		snprintf(out, cap, "base64:%s", b);
	else
		snprintf(out, cap, "?");
}

static void add_int(json_t *o, const char *k, int64_t d)
{
	json_object_set_new(o, k, json_integer(num(o, k) + d));
}

/* The accumulator of login (made on first use), or NULL when its lab is filtered out. */
static json_t *acc_of(struct report *r, const char *login)
{
	const char *lab = str(r->users, login);
	json_t *l, *revs, *a;
	if (!lab)
		lab = "(unknown)";
	if (r->lab && strcmp(r->lab, lab))
		return NULL;
	if (!(l = json_object_get(r->labs, lab))) {
		l = json_pack("{s:{}}", "reviewers");
		json_object_set_new(r->labs, lab, l);
	}
	revs = json_object_get(l, "reviewers");
	if (!(a = json_object_get(revs, login))) {
		a = json_pack("{s:I,s:I,s:[],s:I,s:I,s:I,s:[],s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:{},s:I,s:{}}", "views",
			      (json_int_t)0, "view_lines", (json_int_t)0, "searches", "search_lines",
			      (json_int_t)0, "diffs", (json_int_t)0, "diff_lines", (json_int_t)0, "prints",
			      "print_lines", (json_int_t)0, "notes", (json_int_t)0, "notes_refused",
			      (json_int_t)0, "findings", (json_int_t)0, "findings_refused", (json_int_t)0,
			      "finding_states", (json_int_t)0, "alerts", (json_int_t)0, "holds",
			      (json_int_t)0, "files", "quota_events", (json_int_t)0, "quota_refused");
		json_object_set_new(revs, login, a);
	}
	return a;
}

static json_t *file_of(json_t *acc, const char *path)
{
	json_t *files = json_object_get(acc, "files"), *f;
	if (!(f = json_object_get(files, path))) {
		f = json_pack("{s:I,s:I,s:I,s:[]}", "views", (json_int_t)0, "prints", (json_int_t)0,
			      "diff_lines", (json_int_t)0, "shown");
		json_object_set_new(files, path, f);
	}
	return f;
}

static void shown(json_t *file, int64_t a, int64_t b)
{
	if (a >= 1 && b >= a)
		json_array_append_new(json_object_get(file, "shown"), json_pack("[I,I]", (json_int_t)a, (json_int_t)b));
}

static int counted(const char *type)
{
	static const char *const types[] = {"view", "search", "diff", "print", "note", "note_refused",
					    "finding", "finding_refused", "finding_state"};
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (!strcmp(type, types[i]))
			return 1;
	return 0;
}

int report_entry(struct report *r, uint64_t index, const char *p, size_t len)
{
	json_error_t jerr;
	json_t *e, *acc;
	const char *type, *actor, *rel;
	char path[MANIFEST_MAX_PATH + 16];
	if (index != r->n)
		return err_set(ERR_USAGE, "report: entry %" PRIu64 " out of order", index);
	r->n++;
	if (!(e = json_loadb(p, len, 0, &jerr)))
		return err_set(ERR_CORRUPT, "report: entry %" PRIu64 " is not JSON", index);
	type = str(e, "type");
	actor = str(e, "actor");
	rel = str(e, "release");
	if (!type || !actor)
		goto out;
	if (!strcmp(type, "user_add") && str(e, "login") && str(e, "org")) {
		json_object_set_new(r->users, str(e, "login"), json_string(str(e, "org")));
		goto out;
	}
	if (!strcmp(type, "grant_active") && rel && !strcmp(rel, r->ref) && num(e, "grant")) {
		char id[32];
		snprintf(id, sizeof(id), "%" PRId64, num(e, "grant"));
		json_object_set_new(r->grants, id, json_true());
		goto out;
	}
	if (!strcmp(type, "seal") && rel && !strcmp(rel, r->ref)) {
		json_decref(r->seal);
		r->seal = json_incref(e);
		goto out;
	}
	if (!strcmp(type, "alert") || !strcmp(type, "session_hold")) {
		char id[32];
		snprintf(id, sizeof(id), "%" PRId64, num(e, "grant"));
		if (json_object_get(r->grants, id) && (acc = acc_of(r, actor)))
			add_int(acc, !strcmp(type, "alert") ? "alerts" : "holds", 1);
		goto out;
	}
	if (!strcmp(type, "quota_refusals")) {
		/* refusals by the budget of the release's grants, counted per quota */
		char id[32];
		const char *q = str(e, "quota");
		int64_t n = num(e, "count");
		snprintf(id, sizeof(id), "%" PRId64, num(e, "grant"));
		if (q && n > 0 && json_object_get(r->grants, id) && (acc = acc_of(r, actor))) {
			add_int(acc, "quota_events", n);
			add_int(json_object_get(acc, "quota_refused"), q, n);
		}
		goto out;
	}
	/* only what a person did with the release makes them a row (not a seal, a nomination
	 * or a grant decision) */
	if (!rel || strcmp(rel, r->ref) || !counted(type) || !(acc = acc_of(r, actor)))
		goto out;
	path_of(e, path, sizeof(path));
	if (!strcmp(type, "view") || !strcmp(type, "search") || !strcmp(type, "diff") || !strcmp(type, "print")) {
		int64_t t = num(e, "time");
		if (!num(acc, "first") || t < num(acc, "first"))
			json_object_set_new(acc, "first", json_integer(t));
		if (t > num(acc, "last"))
			json_object_set_new(acc, "last", json_integer(t));
	}
	if (!strcmp(type, "view")) {
		json_t *lines = json_object_get(e, "lines"), *f = file_of(acc, path);
		int64_t a = json_integer_value(json_array_get(lines, 0)), b = json_integer_value(json_array_get(lines, 1));
		add_int(acc, "views", 1);
		add_int(f, "views", 1);
		if (a >= 1 && b >= a) {
			add_int(acc, "view_lines", b - a + 1);
			shown(f, a, b);
		}
		/* the outline beside the code shows definition names of these lines too */
		{
			json_t *o = json_object_get(e, "outline");
			for (size_t i = 0; i < json_array_size(o); i++) {
				int64_t l = json_integer_value(json_array_get(o, i));
				if (l >= 1 && (l < a || l > b))
					shown(f, l, l);
			}
		}
	} else if (!strcmp(type, "definitions")) {
		/* a definitions page previews one line of each place, like search results */
		add_int(acc, "search_lines", num(e, "lines"));
	} else if (!strcmp(type, "search")) {
		json_array_append_new(json_object_get(acc, "searches"),
				      json_pack("{s:s,s:I,s:I,s:I}", "query", str(e, "query") ? str(e, "query") : "",
						"results", (json_int_t)num(e, "results"), "lines",
						(json_int_t)num(e, "lines"), "time", (json_int_t)num(e, "time")));
		add_int(acc, "search_lines", num(e, "lines"));
	} else if (!strcmp(type, "diff")) {
		add_int(acc, "diffs", 1);
		add_int(acc, "diff_lines", num(e, "lines_shown"));
		add_int(file_of(acc, path), "diff_lines", num(e, "lines_shown"));
	} else if (!strcmp(type, "print")) {
		json_t *f = file_of(acc, path);
		int64_t a = num(e, "from"), b = num(e, "to");
		json_array_append_new(json_object_get(acc, "prints"),
				      json_pack("{s:s,s:I,s:I,s:I,s:s,s:s,s:I}", "path", path, "from", (json_int_t)a,
						"to", (json_int_t)b, "pages", (json_int_t)num(e, "pages"),
						"bates_first", str(e, "bates_first") ? str(e, "bates_first") : "",
						"bates_last", str(e, "bates_last") ? str(e, "bates_last") : "",
						"time", (json_int_t)num(e, "time")));
		add_int(f, "prints", 1);
		if (a >= 1 && b >= a) {
			add_int(acc, "print_lines", b - a + 1);
			shown(f, a, b);
		}
	} else if (!strcmp(type, "note")) {
		add_int(acc, "notes", 1);
	} else if (!strcmp(type, "note_refused")) {
		add_int(acc, "notes_refused", 1);
	} else if (!strcmp(type, "finding")) {
		add_int(acc, "findings", 1);
	} else if (!strcmp(type, "finding_refused")) {
		add_int(acc, "findings_refused", 1);
	} else if (!strcmp(type, "finding_state")) {
		add_int(acc, "finding_states", 1);
	}
out:
	json_decref(e);
	return 0;
}

int report_checkpoint(struct report *r, const char *note, size_t len)
{
	struct tlog_checkpoint c;
	struct note_sig *sigs = xcalloc(NOTE_MAX_SIGS, sizeof(*sigs));
	struct str text;
	struct buf root;
	size_t n_sigs;
	int rc = note_split(note, len, &text, sigs, &n_sigs);
	free(sigs);
	if (rc || (rc = tlog_checkpoint_parse(text.p, text.len, &c)))
		return rc;
	if (c.size != r->n)
		return err_set(ERR_CORRUPT, "report: the checkpoint has %" PRIu64 " entries, %" PRIu64 " were read",
			       c.size, r->n);
	buf_init(&root, 64);
	if ((rc = tlog_hash_b64(&root, c.root)) == 0) {
		json_decref(r->cp);
		r->cp = json_pack("{s:s%,s:I,s:s}", "origin", c.origin.p, c.origin.len, "size", (json_int_t)c.size,
				  "root", root.p);
	}
	buf_release(&root);
	return rc;
}

/* Sorted [from, to] intervals of arr into segments [from, to, times] (a new array);
 * *lines gets the distinct lines. */
struct ev {
	int64_t at;
	int d;
};

static int ev_cmp(const void *a, const void *b)
{
	const struct ev *x = a, *y = b;
	return x->at < y->at ? -1 : x->at > y->at ? 1 : x->d - y->d;
}

static json_t *segments(json_t *arr, int64_t *lines)
{
	size_t n = json_array_size(arr), k = 0, i;
	struct ev *ev = xcalloc(2 * n + 1, sizeof(*ev));
	json_t *out = json_array(), *iv;
	int64_t cur = 0, start = 0;
	*lines = 0;
	json_array_foreach(arr, i, iv) {
		ev[k].at = json_integer_value(json_array_get(iv, 0));
		ev[k++].d = 1;
		ev[k].at = json_integer_value(json_array_get(iv, 1)) + 1;
		ev[k++].d = -1;
	}
	if (k)
		qsort(ev, k, sizeof(*ev), ev_cmp);
	for (i = 0; i < k;) {
		int64_t at = ev[i].at, d = 0;
		while (i < k && ev[i].at == at)
			d += ev[i++].d;
		if (cur > 0 && at > start) {
			json_array_append_new(out, json_pack("[I,I,I]", (json_int_t)start, (json_int_t)(at - 1), (json_int_t)cur));
			*lines += at - start;
		}
		cur += d;
		start = at;
	}
	free(ev);
	return out;
}

/* The permille share "x.y%" of part in whole, in integer arithmetic. */
static json_t *share(int64_t part, int64_t whole)
{
	char s[32];
	int64_t pm = whole > 0 ? (part * 1000 + whole / 2) / whole : 0;
	snprintf(s, sizeof(s), "%" PRId64 ".%" PRId64 "%%", pm / 10, pm % 10);
	return json_string(s);
}

/* The change set's ranges of each path as merged segments [from, to] (a new object). */
static json_t *changes_merged(const struct report_changes *c)
{
	json_t *out = json_object(), *a;
	const char *path;
	json_object_foreach(c->files, path, a) {
		int64_t lines;
		json_t *seg = segments(a, &lines), *m = json_array(), *iv;
		size_t i;
		/* segments are disjoint and sorted; touching ones become one */
		json_array_foreach(seg, i, iv) {
			json_t *last = json_array_get(m, json_array_size(m) - 1);
			int64_t a0 = json_integer_value(json_array_get(iv, 0)), b0 = json_integer_value(json_array_get(iv, 1));
			if (last && json_integer_value(json_array_get(last, 1)) + 1 == a0)
				json_array_set_new(last, 1, json_integer(b0));
			else
				json_array_append_new(m, json_pack("[I,I]", (json_int_t)a0, (json_int_t)b0));
		}
		json_decref(seg);
		json_object_set_new(out, path, m);
	}
	return out;
}

/* The lines of a merged change set. */
static int64_t changes_lines(json_t *m)
{
	json_t *a, *iv;
	const char *path;
	int64_t n = 0;
	size_t i;
	json_object_foreach(m, path, a) {
		json_array_foreach(a, i, iv)
			n += json_integer_value(json_array_get(iv, 1)) - json_integer_value(json_array_get(iv, 0)) + 1;
	}
	return n;
}

/* {"files", "lines", "sha256"} of a merged change set: the digest of its canonical JSON. */
static json_t *changes_summary(json_t *m)
{
	char *s = json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS);
	unsigned char d[32];
	char hx[65];
	if (!s)
		BUG("json_dumps");
	sha256(s, strlen(s), d);
	hex_encode(hx, d, 32);
	free(s);
	return json_pack("{s:I,s:I,s:s}", "files", (json_int_t)json_object_size(m), "lines",
			 (json_int_t)changes_lines(m), "sha256", hx);
}

/* The parts of intervals shown ([from, to] each) inside the changed ranges ch (may be NULL). */
static json_t *clip(json_t *shown_a, json_t *ch)
{
	json_t *out = json_array(), *iv, *cv;
	size_t i, j;
	json_array_foreach(shown_a, i, iv) {
		int64_t a = json_integer_value(json_array_get(iv, 0)), b = json_integer_value(json_array_get(iv, 1));
		json_array_foreach(ch, j, cv) {
			int64_t c0 = json_integer_value(json_array_get(cv, 0)), c1 = json_integer_value(json_array_get(cv, 1));
			int64_t lo = a > c0 ? a : c0, hi = b < c1 ? b : c1;
			if (lo <= hi)
				json_array_append_new(out, json_pack("[I,I]", (json_int_t)lo, (json_int_t)hi));
		}
	}
	return out;
}

/* The output object (a new reference), or NULL before report_checkpoint. */
static json_t *build(struct report *r)
{
	json_t *out, *labs = json_object(), *l, *rev;
	const char *lab, *login;
	int64_t tree_files = r->seal ? num(r->seal, "files") : 0;
	json_t *merged = r->changes ? changes_merged(r->changes) : NULL;
	int64_t changed_lines = merged ? changes_lines(merged) : 0;
	if (!r->cp) {
		json_decref(merged);
		json_decref(labs);
		err_set(ERR_USAGE, "report: no checkpoint");
		return NULL;
	}
	json_object_foreach(r->labs, lab, l) {
		json_t *revs = json_object(), *lab_shown = json_object(), *lo, *files_o;
		int64_t lab_lines = 0, lab_quota = 0;
		const char *path;
		void *tmp;
		json_t *f;
		json_object_foreach(json_object_get(l, "reviewers"), login, rev) {
			json_t *ro = json_deep_copy(rev), *fo = json_object_get(ro, "files");
			int64_t rl = 0;
			json_object_foreach_safe(fo, tmp, path, f) {
				int64_t fl;
				json_t *seg;
				if (r->changes) {
					/* only the changed lines shown count; a file none of them was shown of goes */
					json_t *cut = clip(json_object_get(f, "shown"), json_object_get(merged, path));
					if (!json_array_size(cut)) {
						json_decref(cut);
						json_object_del(fo, path);
						continue;
					}
					json_object_set_new(f, "shown", cut);
				}
				seg = segments(json_object_get(f, "shown"), &fl);
				json_t *all = json_object_get(lab_shown, path);
				if (!all) {
					all = json_array();
					json_object_set_new(lab_shown, path, all);
				}
				json_array_extend(all, json_object_get(f, "shown"));
				json_object_set_new(f, "shown", seg);
				json_object_set_new(f, "lines", json_integer(fl));
				rl += fl;
			}
			lab_quota += num(ro, "quota_events");
			json_object_set_new(ro, "lines_shown", json_integer(rl));
			json_object_set_new(ro, "files_shown", json_integer((json_int_t)json_object_size(fo)));
			json_object_set_new(revs, login, ro);
		}
		files_o = json_object();
		json_object_foreach(lab_shown, path, f) {
			int64_t fl;
			json_t *seg = segments(f, &fl);
			json_object_set_new(files_o, path, json_pack("{s:I,s:o}", "lines", (json_int_t)fl, "shown", seg));
			lab_lines += fl;
		}
		lo = json_pack("{s:o,s:o,s:I,s:I,s:o}", "reviewers", revs, "files", files_o, "lines_shown",
			       (json_int_t)lab_lines, "files_shown", (json_int_t)json_object_size(lab_shown),
			       "share_of_files", share((int64_t)json_object_size(lab_shown), tree_files));
		json_object_set_new(lo, "quota_events", json_integer(lab_quota));
		if (r->changes)
			json_object_set_new(lo, "share_of_changed_lines", share(lab_lines, changed_lines));
		json_decref(lab_shown);
		json_object_set_new(labs, lab, lo);
	}
	out = json_pack("{s:s,s:o,s:O,s:I,s:o}", "release", r->ref, "lab", r->lab ? json_string(r->lab) : json_null(),
			"checkpoint", r->cp, "entries", (json_int_t)r->n, "labs", labs);
	json_object_set_new(out, "tree",
			    r->seal ? json_pack("{s:s,s:s,s:I}", "sha256", str(r->seal, "tree_sha256") ? str(r->seal, "tree_sha256") : "",
						"sha1", str(r->seal, "tree_sha1") ? str(r->seal, "tree_sha1") : "", "files",
						(json_int_t)tree_files)
				    : json_null());
	json_object_set_new(out, "format", json_string("sealroom/exposure/v1"));
	if (merged)
		json_object_set_new(out, "changed", changes_summary(merged));
	json_decref(merged);
	return out;
}

int report_json(struct report *r, struct buf *out)
{
	json_t *o = build(r);
	char *s;
	int rc;
	if (!o)
		return ERR_USAGE;
	if (!(s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS)))
		BUG("json_dumps");
	rc = buf_addstr(out, s);
	free(s);
	json_decref(o);
	return rc;
}

json_t *report_scope(struct report *r)
{
	json_t *o = build(r), *scope, *l;
	const char *lab;
	if (!o)
		return NULL;
	scope = json_pack("{s:O,s:O,s:{}}", "tree", json_object_get(o, "tree"), "checkpoint",
			  json_object_get(o, "checkpoint"), "labs");
	json_object_foreach(json_object_get(o, "labs"), lab, l) {
		json_t *revs = json_array(), *rv;
		const char *login;
		int64_t first = 0, last = 0;
		json_object_foreach(json_object_get(l, "reviewers"), login, rv) {
			json_array_append_new(revs, json_string(login));
			if (num(rv, "first") && (!first || num(rv, "first") < first))
				first = num(rv, "first");
			if (num(rv, "last") > last)
				last = num(rv, "last");
		}
		json_object_set_new(json_object_get(scope, "labs"), lab,
				    json_pack("{s:O,s:O,s:O,s:o,s:I,s:I}", "files_shown", json_object_get(l, "files_shown"),
					      "lines_shown", json_object_get(l, "lines_shown"), "share_of_files",
					      json_object_get(l, "share_of_files"), "reviewers", revs, "first_access",
					      (json_int_t)first, "last_access", (json_int_t)last));
	}
	json_decref(o);
	return scope;
}

/* ---- HTML ---- */

static int esc(struct buf *b, const char *s)
{
	return render_escape(b, s, strlen(s));
}

/* The heat colour of count relative to max: from pale yellow to deep red. */
static void heat(int64_t count, int64_t max, char out[8])
{
	int t = max > 0 ? (int)(count * 255 / max) : 0;
	snprintf(out, 8, "#%02x%02x%02x", 255, 230 - t * 200 / 255, 150 - t * 150 / 255);
}

struct tm_item {
	const char *path;
	int64_t weight, times;
};

/* Slice-and-dice treemap of items[0..n) (sorted by path) into the rectangle, alternating
 * the direction with depth. */
static int treemap(struct buf *b, struct tm_item *it, size_t n, double x, double y, double w, double h,
		   int vertical, int64_t max)
{
	int64_t total = 0;
	double at = 0;
	int r = 0;
	for (size_t i = 0; i < n; i++)
		total += it[i].weight;
	for (size_t i = 0; i < n && !r; i++) {
		double part = total ? (double)it[i].weight / (double)total : 0;
		double rx = vertical ? x : x + at * w, ry = vertical ? y + at * h : y;
		double rw = vertical ? w : part * w, rh = vertical ? part * h : h;
		char col[8];
		heat(it[i].times, max, col);
		r = buf_addf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\" stroke=\"#fff\"><title>",
			     rx, ry, rw, rh, col);
		if (!r)
			r = esc(b, it[i].path);
		if (!r)
			r = buf_addf(b, ": %" PRId64 " lines shown, up to %" PRId64 " times</title></rect>\n", it[i].weight,
				     it[i].times);
		if (!r && rw > 60 && rh > 14) {
			const char *base = strrchr(it[i].path, '/');
			r = buf_addf(b, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\">", rx + 3, ry + 12);
			if (!r)
				r = esc(b, base ? base + 1 : it[i].path);
			if (!r)
				r = buf_addstr(b, "</text>\n");
		}
		at += part;
	}
	(void)max;
	return r;
}

/* The page (whole) or its body alone in a <div class="report"> (the room's own page). */
static int html(struct report *r, struct buf *out, int whole)
{
	json_t *o = build(r), *l, *f;
	const char *lab, *path;
	int rc = 0;
	if (!o)
		return ERR_USAGE;
	if (whole) {
		rc = buf_addstr(out, "<!doctype html><html><head><meta charset=\"utf-8\"><title>exposure of ");
		if (!rc)
			rc = esc(out, r->ref);
		if (!rc)
			rc = buf_addstr(out, "</title><style>body{font:14px sans-serif;margin:24px;max-width:1200px}"
					     "table{border-collapse:collapse}td,th{padding:2px 8px;border-bottom:1px solid #ddd;"
					     "text-align:left}svg{background:#f6f6f6}.strip{display:block}</style></head><body>");
	} else {
		rc = buf_addstr(out, "<div class=\"report\">");
	}
	if (!rc)
		rc = buf_addstr(out, "<h1>exposure of ");
	if (!rc)
		rc = esc(out, r->ref);
	if (!rc)
		rc = buf_addf(out, "</h1><p id=\"checkpoint\">computed from the %" PRId64 " log entries of checkpoint ",
			      (int64_t)json_integer_value(json_object_get(json_object_get(o, "checkpoint"), "size")));
	if (!rc)
		rc = esc(out, json_string_value(json_object_get(json_object_get(o, "checkpoint"), "root")));
	if (!rc)
		rc = buf_addstr(out, " (recompute it offline: <code>sealroom report exposure --from-log DIR --vkey FILE</code>)</p>");
	json_object_foreach(json_object_get(o, "labs"), lab, l) {
		json_t *rv;
		const char *login;
		struct tm_item *items;
		size_t n = json_object_size(json_object_get(l, "files")), k = 0;
		int64_t max = 1;
		if (rc)
			break;
		rc = buf_addstr(out, "<h2>lab ");
		if (!rc)
			rc = esc(out, lab);
		if (!rc)
			rc = buf_addf(out, "</h2><p>%" PRId64 " lines of %" PRId64 " files shown: ",
				      (int64_t)json_integer_value(json_object_get(l, "lines_shown")),
				      (int64_t)json_integer_value(json_object_get(l, "files_shown")));
		if (!rc)
			rc = esc(out, json_string_value(json_object_get(l, "share_of_files")));
		if (!rc)
			rc = buf_addf(out, " of the tree's files; %" PRId64 " refusals by the budget</p>",
				      (int64_t)json_integer_value(json_object_get(l, "quota_events")));
		if (!rc)
			rc = buf_addstr(out, "<table><tr><th>reviewer</th><th>views</th><th>lines "
					     "shown</th><th>searches</th><th>search lines</th><th>diff lines</th><th>prints</th>"
					     "<th>notes refused</th><th>quota events</th><th>alerts</th><th>holds</th></tr>");
		json_object_foreach(json_object_get(l, "reviewers"), login, rv) {
			if (rc)
				break;
			rc = buf_addstr(out, "<tr><td>");
			if (!rc)
				rc = esc(out, login);
			if (!rc)
				rc = buf_addf(out, "</td><td>%" PRId64 "</td><td>%" PRId64 "</td><td>%zu</td><td>%" PRId64
					      "</td><td>%" PRId64 "</td><td>%zu</td><td>%" PRId64 "</td><td>%" PRId64
					      "</td><td>%" PRId64 "</td><td>%" PRId64 "</td></tr>",
					      num(rv, "views"), num(rv, "lines_shown"), json_array_size(json_object_get(rv, "searches")),
					      num(rv, "search_lines"), num(rv, "diff_lines"),
					      json_array_size(json_object_get(rv, "prints")), num(rv, "notes_refused"),
					      num(rv, "quota_events"), num(rv, "alerts"), num(rv, "holds"));
		}
		if (!rc)
			rc = buf_addstr(out, "</table><h3>coverage map</h3><svg id=\"treemap\" xmlns=\"http://www.w3.org/2000/svg\" "
					     "width=\"1180\" height=\"480\" viewBox=\"0 0 1180 480\">\n");
		items = xcalloc(n + 1, sizeof(*items));
		json_object_foreach(json_object_get(l, "files"), path, f) {
			json_t *seg;
			size_t i;
			items[k].path = path;
			items[k].weight = num(f, "lines") + 1;
			json_array_foreach(json_object_get(f, "shown"), i, seg) {
				int64_t t = json_integer_value(json_array_get(seg, 2));
				if (t > items[k].times)
					items[k].times = t;
			}
			if (items[k].times > max)
				max = items[k].times;
			k++;
		}
		if (!rc)
			rc = treemap(out, items, k, 0, 0, 1180, 480, 0, max);
		free(items);
		if (!rc)
			rc = buf_addstr(out, "</svg><h3>line heat per file</h3>");
		json_object_foreach(json_object_get(l, "files"), path, f) {
			json_t *seg;
			size_t i;
			int64_t end = 1;
			if (rc)
				break;
			json_array_foreach(json_object_get(f, "shown"), i, seg)
				if (json_integer_value(json_array_get(seg, 1)) > end)
					end = json_integer_value(json_array_get(seg, 1));
			rc = buf_addstr(out, "<div class=\"file\"><code>");
			if (!rc)
				rc = esc(out, path);
			if (!rc)
				rc = buf_addf(out, "</code> %" PRId64 " lines<svg class=\"strip\" xmlns=\"http://www.w3.org/2000/svg\" "
						   "width=\"1000\" height=\"12\">",
					      num(f, "lines"));
			json_array_foreach(json_object_get(f, "shown"), i, seg) {
				int64_t a = json_integer_value(json_array_get(seg, 0)), b = json_integer_value(json_array_get(seg, 1));
				char col[8];
				heat(json_integer_value(json_array_get(seg, 2)), max, col);
				if (!rc)
					rc = buf_addf(out, "<rect x=\"%.1f\" y=\"0\" width=\"%.1f\" height=\"12\" fill=\"%s\"/>",
						      (double)(a - 1) * 1000.0 / (double)end,
						      (double)(b - a + 1) * 1000.0 / (double)end, col);
			}
			if (!rc)
				rc = buf_addstr(out, "</svg></div>");
		}
	}
	if (!rc)
		rc = buf_addstr(out, whole ? "</body></html>\n" : "</div>");
	json_decref(o);
	return rc;
}

int report_html(struct report *r, struct buf *out)
{
	return html(r, out, 1);
}

int report_html_body(struct report *r, struct buf *out)
{
	return html(r, out, 0);
}

/* ---- sources ---- */

/* Feed r every entry of the checkpoint cp (size entries) of l, then cp. */
static int feed(struct report *r, struct logdb *l, const struct buf *cp, uint64_t size)
{
	struct buf e;
	int rc = 0;
	buf_init(&e, LOGDB_ENTRY_MAX + 1);
	for (uint64_t i = 0; i < size && !rc; i++) {
		buf_reset(&e);
		if (!(rc = logdb_entry(l, i, &e)))
			rc = report_entry(r, i, e.p, e.len);
	}
	if (!rc)
		rc = report_checkpoint(r, cp->p, cp->len);
	buf_release(&e);
	return rc;
}

int report_from_facility(struct report *r, struct facility *f)
{
	struct logdb *l = NULL;
	struct buf cp;
	uint64_t size = 0;
	int rc;
	buf_init(&cp, 1 << 20);
	if (!(rc = logdb_open(f, &l)) && !(rc = logdb_checkpoint(l, &cp, &size)))
		rc = feed(r, l, &cp, size);
	logdb_free(l);
	buf_release(&cp);
	return rc;
}

int report_from_log(struct report *r, struct logdb *l)
{
	struct buf cp;
	uint64_t size = 0;
	int rc;
	buf_init(&cp, 1 << 20);
	if (!(rc = logdb_checkpoint_latest(l, &cp, &size)))
		rc = feed(r, l, &cp, size);
	buf_release(&cp);
	return rc;
}

static int tile_entry(void *ctx, uint64_t i, const char *p, size_t len)
{
	return report_entry(ctx, i, p, len);
}

int report_from_tiles(struct report *r, const char *dir, const struct note_verifier *v)
{
	struct logdb_verified res;
	struct buf cp, path;
	int rc;
	buf_init(&cp, 1 << 20);
	buf_init(&path, 8192);
	if ((rc = logdb_tiles_each(dir, v, tile_entry, r, &res)))
		goto out;
	if ((rc = buf_addf(&path, "%s/checkpoint", dir)) || (rc = buf_read_file(&cp, path.p)))
		goto out;
	rc = report_checkpoint(r, cp.p, cp.len);
out:
	buf_release(&cp);
	buf_release(&path);
	return rc;
}
