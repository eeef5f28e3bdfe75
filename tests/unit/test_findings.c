/* Unit tests: findings (fields, vendor-first visibility, states and who may move them, the
 * fix check against a diff, code quotes refused) and sarif (out, in, hostile logs). */
#include "diff.h"
#include "findings.h"
#include "policy.h"
#include "sarif.h"
#include "test.h"

static const char code[] =
	"static int parse_header(const unsigned char *p, size_t len, struct hdr *out)\n"
	"{\n"
	"\tif (len < HDR_MIN || p[0] != 0x7f)\n"
	"\t\treturn err_set(ERR_PARSE, \"bad header\");\n"
	"\tout->version = p[1];\n"
	"\treturn 0;\n"
	"}\n";
static const char blob[] = "4b825dc642cb6eb9a060e54bf8d69288fbee49044b825dc642cb6eb9a060e54b";

struct env {
	char root[64];
	struct facility *f;
	struct shingles *sh;
	struct notes_code nc;
	struct session_info ann, bob, vera, otto, lena;
};

static void who_of(struct env *e, const char *login, struct session_info *w)
{
	struct person_info p;
	memset(w, 0, sizeof(*w));
	CHECK(policy_person_get(e->f, login, &p) == 0);
	snprintf(w->login, sizeof(w->login), "%s", login);
	snprintf(w->role, sizeof(w->role), "%s", p.role);
	snprintf(w->org, sizeof(w->org), "%s", p.org);
	snprintf(w->org_kind, sizeof(w->org_kind), "%s", p.org_kind);
	w->org_id = p.org_id;
	snprintf(w->session_id, sizeof(w->session_id), "00000000000000aa");
}

static void env_open(struct env *e)
{
	unsigned char totp[AUTH_TOTP_SECRET_LEN] = {0};
	char dir[128];
	memset(e, 0, sizeof(*e));
	snprintf(e->root, sizeof(e->root), "/tmp/sealroom-findings-XXXXXX");
	CHECK(mkdtemp(e->root) != NULL);
	snprintf(dir, sizeof(dir), "%s/f", e->root);
	CHECK(facility_init(dir, "findings.test") == 0 && facility_open(dir, &e->f) == 0);
	CHECK(policy_org_add(e->f, "acme", "vendor", "t") == 0);
	CHECK(policy_org_add(e->f, "ops", "operator", "t") == 0);
	CHECK(policy_org_add(e->f, "lab-a", "lab", "t") == 0 && policy_org_add(e->f, "lab-b", "lab", "t") == 0);
	CHECK(policy_person_add(e->f, "ann", "lab-a", "reviewer", "Ann", "a good long password", "t", totp) == 0);
	CHECK(policy_person_add(e->f, "lena", "lab-a", "auditor", "Lena", "a good long password", "t", totp) == 0);
	CHECK(policy_person_add(e->f, "bob", "lab-b", "reviewer", "Bob", "a good long password", "t", totp) == 0);
	CHECK(policy_person_add(e->f, "vera", "acme", "vendor", "Vera", "a good long password", "t", totp) == 0);
	CHECK(policy_person_add(e->f, "otto", "ops", "operator", "Otto", "a good long password", "t", totp) == 0);
	who_of(e, "ann", &e->ann);
	who_of(e, "bob", &e->bob);
	who_of(e, "vera", &e->vera);
	who_of(e, "otto", &e->otto);
	who_of(e, "lena", &e->lena);
	CHECK(shingles_new(&e->sh) == 0 && shingles_add(e->sh, code, strlen(code)) == 0);
	e->nc.sh = e->sh;
}

static void env_close(struct env *e)
{
	char cmd[128];
	facility_free(e->f);
	shingles_free(e->sh);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", e->root);
	CHECK(system(cmd) == 0);
}

static struct finding_new one(const char *title, const char *severity, const char *text)
{
	struct finding_new n = {"fw", "1", "src/h.c", 3, 4, blob, title, severity, 787, text, NULL};
	return n;
}

static int count(void *ctx, const struct finding_info *fi)
{
	(*(int *)ctx)++;
	return 0;
}

static int keep_state(void *ctx, const struct finding_info *fi)
{
	snprintf(ctx, 16, "%s", fi->state);
	return 0;
}

static int count_events(void *ctx, const struct finding_event *ev)
{
	(*(int *)ctx)++;
	return 0;
}

TEST(fields_checked)
{
	struct env e;
	struct finding_new n;
	int64_t id = 0;
	char title[FINDINGS_TITLE_MAX + 2];
	env_open(&e);
	n = one("Header length unchecked", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "see lines");
	CHECK(findings_add(e.f, &e.nc, &e.ann, &n, 100, &id) == 0 && id == 1);
	CHECK(findings_add(e.f, &e.nc, &e.vera, &n, 100, &id) == ERR_DENIED); /* not a reviewer */
	CHECK(findings_add(e.f, &e.nc, &e.lena, &n, 100, &id) == ERR_DENIED);
	n = one("x", "severe", "");
	CHECK(findings_add(e.f, &e.nc, &e.ann, &n, 100, &id) == ERR_USAGE);
	n = one("x", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", "");
	CHECK(findings_add(e.f, &e.nc, &e.ann, &n, 100, &id) == ERR_USAGE); /* scores 0.0 */
	n = one("x", "CVSS:3.1/AV:N", "");
	CHECK(findings_add(e.f, &e.nc, &e.ann, &n, 100, &id) == ERR_PARSE);
	n = one("", "low", "");
	CHECK(findings_add(e.f, &e.nc, &e.ann, &n, 100, &id) == ERR_USAGE);
	n = one("two\nlines", "low", "");
	CHECK(findings_add(e.f, &e.nc, &e.ann, &n, 100, &id) == ERR_USAGE);
	memset(title, 'a', sizeof(title) - 1);
	title[sizeof(title) - 1] = 0; /* one past the limit */
	n = one(title, "low", "");
	CHECK(findings_add(e.f, &e.nc, &e.ann, &n, 100, &id) == ERR_TOOBIG);
	title[FINDINGS_TITLE_MAX] = 0; /* at it */
	CHECK(findings_add(e.f, &e.nc, &e.ann, &n, 100, &id) == 0);
	n = one("x", "low", "");
	n.cwe = FINDINGS_CWE_MAX + 1;
	CHECK(findings_add(e.f, &e.nc, &e.ann, &n, 100, &id) == ERR_USAGE);
	n = one("x", "low", "");
	n.blob = "ABCD";
	CHECK(findings_add(e.f, &e.nc, &e.ann, &n, 100, &id) == ERR_USAGE);
	n = one("x", "low", "");
	n.line_to = 2; /* before line_from */
	CHECK(findings_add(e.f, &e.nc, &e.ann, &n, 100, &id) == ERR_USAGE);
	n = one("x", "low", "\xff\xfe");
	CHECK(findings_add(e.f, &e.nc, &e.ann, &n, 100, &id) == ERR_PARSE);
	env_close(&e);
}

TEST(code_quotes_refused)
{
	struct env e;
	struct finding_new n;
	int64_t id = 0;
	int c = 0;
	env_open(&e);
	/* 12 tokens of the code in the text, then in the title */
	n = one("Overflow", "high", "as in static int parse_header(const unsigned char *p, size_t len here");
	CHECK(findings_add(e.f, &e.nc, &e.ann, &n, 100, &id) == ERR_DENIED);
	CHECK(strstr(err_msg(), "finding refused: it repeats the sealed code") != NULL);
	CHECK(strstr(err_msg(), "parse_header") == NULL);
	n = one("static int parse_header(const unsigned char *p, size_t len", "high", "");
	CHECK(findings_add(e.f, &e.nc, &e.ann, &n, 100, &id) == ERR_DENIED);
	n = one("Overflow", "high", "as in static int parse_header(const unsigned char *p, size_t here");
	CHECK(findings_add(e.f, &e.nc, &e.ann, &n, 100, &id) == 0);
	CHECK(findings_each(e.f, &e.vera, "fw", "1", NULL, count, &c) == 0 && c == 1);
	env_close(&e);
}

TEST(vendor_first)
{
	struct env e;
	struct finding_new n = one("Overflow", "high", "text");
	int64_t id = 0;
	int c;
	char st[16];
	env_open(&e);
	CHECK(findings_add(e.f, &e.nc, &e.ann, &n, 100, &id) == 0);
	c = 0;
	CHECK(findings_each(e.f, &e.vera, "fw", "1", NULL, count, &c) == 0 && c == 1);
	c = 0;
	CHECK(findings_each(e.f, &e.ann, "fw", "1", NULL, count, &c) == 0 && c == 1);
	c = 0; /* the lab's lead */
	CHECK(findings_each(e.f, &e.lena, "fw", "1", NULL, count, &c) == 0 && c == 1);
	c = 0;
	CHECK(findings_each(e.f, &e.bob, "fw", "1", NULL, count, &c) == 0 && c == 0);
	c = 0;
	CHECK(findings_each(e.f, &e.otto, "fw", "1", NULL, count, &c) == 0 && c == 0);
	CHECK(findings_get(e.f, &e.bob, id, keep_state, st) == ERR_NOTFOUND);
	CHECK(findings_get(e.f, &e.otto, id, keep_state, st) == ERR_NOTFOUND);
	CHECK(findings_events(e.f, &e.bob, id, count_events, &c) == ERR_NOTFOUND);
	CHECK(findings_set_state(e.f, NULL, &e.bob, id, "fixed", "2", 1, NULL, 101) == ERR_NOTFOUND);
	CHECK(findings_set_state(e.f, NULL, &e.otto, id, "acknowledged", NULL, 0, NULL, 101) == ERR_NOTFOUND);
	c = 0;
	CHECK(findings_each_all(e.f, "fw", "1", "lab-b", count, &c) == 0 && c == 0);
	CHECK(findings_each_all(e.f, "fw", "1", "lab-a", count, &c) == 0 && c == 1);
	env_close(&e);
}

TEST(states)
{
	struct env e;
	struct finding_new n = one("Overflow", "high", "text");
	int64_t id = 0;
	int c = 0;
	char st[16];
	env_open(&e);
	CHECK(findings_add(e.f, &e.nc, &e.ann, &n, 100, &id) == 0);
	CHECK(findings_set_state(e.f, NULL, &e.ann, id, "acknowledged", NULL, 0, NULL, 101) == ERR_DENIED);
	CHECK(findings_set_state(e.f, NULL, &e.vera, id, "bogus", NULL, 0, NULL, 101) == ERR_USAGE);
	CHECK(findings_set_state(e.f, NULL, &e.vera, id, "fixed", NULL, 0, NULL, 101) == ERR_USAGE);
	CHECK(findings_set_state(e.f, NULL, &e.vera, id, "fixed", "2", 0, NULL, 101) == ERR_USAGE);
	CHECK(findings_set_state(e.f, NULL, &e.vera, id, "fixed", "1", 1, NULL, 101) == ERR_USAGE);
	CHECK(findings_set_state(e.f, NULL, &e.vera, id, "acknowledged", "2", 1, NULL, 101) == ERR_USAGE);
	CHECK(findings_set_state(e.f, &e.nc, &e.vera, id, "acknowledged", NULL, 0,
				 "static int parse_header(const unsigned char *p, size_t len", 101) == ERR_DENIED);
	CHECK(findings_set_state(e.f, &e.nc, &e.vera, id, "acknowledged", NULL, 0, "we see it", 101) == 0);
	CHECK(findings_set_state(e.f, NULL, &e.vera, id, "acknowledged", NULL, 0, NULL, 102) == ERR_DENIED);
	CHECK(findings_set_state(e.f, NULL, &e.ann, id, "fixed", "2", 1, NULL, 103) == 0);
	CHECK(findings_get(e.f, &e.vera, id, keep_state, st) == 0 && !strcmp(st, "fixed"));
	CHECK(findings_set_state(e.f, NULL, &e.vera, id, "open", NULL, 0, NULL, 104) == ERR_DENIED);
	CHECK(findings_set_state(e.f, NULL, &e.ann, id, "open", NULL, 0, NULL, 104) == 0);
	CHECK(findings_set_state(e.f, NULL, &e.vera, id, "accepted", NULL, 0, NULL, 105) == 0);
	CHECK(findings_events(e.f, &e.lena, id, count_events, &c) == 0 && c == 5);
	env_close(&e);
}

/* The fix check runs the line diff: lines of the finding changed, or not. */
TEST(fix_check)
{
	static const char old_t[] = "a\nb\nc\nd\ne\nf\n", same_lines[] = "a\nb\nc\nd\ne\nf\nadded\n",
			  changed[] = "a\nb\nC\nd\ne\nf\n", inserted[] = "a\nb\nc\nnew\nd\ne\nf\n";
	struct manifest *m = manifest_new();
	unsigned char s1[20] = {1}, s256[32] = {2};
	struct finding_info fi;
	memset(&fi, 0, sizeof(fi));
	fi.path = "src/h.c";
	fi.line_from = 3;
	fi.line_to = 4;
	fi.blob = "0202000000000000000000000000000000000000000000000000000000000000";
	CHECK(manifest_add(m, "src/h.c", 7, 0100644, 10, s1, s256) == 0 && manifest_sort(m) == 0);
	/* the same blob: not fixed */
	fi.blob = "0200000000000000000000000000000000000000000000000000000000000000";
	CHECK(findings_fix_check(&fi, m, NULL, 0, NULL, 0) == ERR_DENIED);
	fi.blob = "0202000000000000000000000000000000000000000000000000000000000000";
	CHECK(findings_fix_check(&fi, m, NULL, 0, NULL, 0) == 0);
	CHECK(findings_fix_check(&fi, m, (const unsigned char *)old_t, 12,
				 (const unsigned char *)same_lines, strlen(same_lines)) == ERR_DENIED);
	CHECK(strstr(err_msg(), "lines 3-4 of 'src/h.c' are unchanged") != NULL);
	CHECK(findings_fix_check(&fi, m, (const unsigned char *)old_t, 12,
				 (const unsigned char *)changed, strlen(changed)) == 0);
	CHECK(findings_fix_check(&fi, m, (const unsigned char *)old_t, 12,
				 (const unsigned char *)inserted, strlen(inserted)) == 0);
	fi.path = "src/gone.c"; /* moved or removed */
	CHECK(findings_fix_check(&fi, m, NULL, 0, NULL, 0) == 0);
	manifest_free(m);
}

/* Texts of numbered unique lines: "l<id>\n" for each id of v. */
static size_t text_of(const int *v, size_t n, char *out, size_t cap)
{
	size_t len = 0;
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(out + len, cap - len, "l%d\n", v[i]);
	return len;
}

/*
 * Carry-over by construction: random edits of a text of unique lines (inserts, deletes
 * and block moves away from the finding's lines, or a move of the finding's block), where
 * the finding's lines end up is known from the ids; findings_carry must say the same.
 */
TEST(carry_generated)
{
	static char a[1 << 14], b[1 << 14];
	unsigned seed = 12345;
	int old[200], nw[400];
	struct manifest *m = manifest_new();
	unsigned char s1[20] = {1}, s256[32] = {2};
	struct finding_info fi;
	int agree = 0, rounds = 300;
	CHECK(manifest_add(m, "src/h.c", 7, 0100644, 10, s1, s256) == 0 && manifest_sort(m) == 0);
	for (int round = 0; round < rounds; round++) {
		size_t n = 20 + (seed = seed * 1103515245 + 12345) % 100, k, from, nn = 0, alen, blen;
		int next = 1000, kind;
		struct findings_carry fc;
		for (size_t i = 0; i < n; i++)
			old[i] = (int)i + 1;
		k = 1 + (seed = seed * 1103515245 + 12345) % 5;
		from = (seed = seed * 1103515245 + 12345) % (n - k);
		kind = (int)((seed = seed * 1103515245 + 12345) % 4);
		/* 0: edits around the block, 1: move the block, 2: delete the block, 3: change one of its lines */
		for (size_t i = 0; i < n; i++) {
			unsigned x = (seed = seed * 1103515245 + 12345) >> 16;
			int in = i >= from && i < from + k;
			if (kind == 1 && i == from)
				continue; /* the block goes to the end, below */
			if (kind == 1 && in)
				continue;
			if (kind == 2 && in)
				continue;
			if (kind == 3 && i == from + k / 2) {
				nw[nn++] = next++;
				continue;
			}
			if (!in && x % 7 == 0)
				continue;            /* a deleted line */
			if (!in && x % 7 == 1 && !(i + 1 >= from && i + 1 < from + k))
				nw[nn++] = next++;   /* an inserted line before it (not inside the block) */
			nw[nn++] = old[i];
		}
		if (kind == 1) {
			nw[nn++] = next++;
			for (size_t j = 0; j < k; j++)
				nw[nn++] = old[from + j];
		}
		alen = text_of(old, n, a, sizeof(a));
		blen = text_of(nw, nn, b, sizeof(b));
		memset(&fi, 0, sizeof(fi));
		fi.path = "src/h.c";
		fi.blob = "0202000000000000000000000000000000000000000000000000000000000000";
		fi.line_from = from + 1;
		fi.line_to = from + k;
		if (findings_carry(&fi, manifest_find(m, "src/h.c", 7), (const unsigned char *)a, alen,
				   (const unsigned char *)b, blen, &fc))
			continue;
		/* the oracle: where the block's ids are in the new text */
		size_t at = 0;
		for (size_t y = 0; y < nn && !at; y++)
			if (nw[y] == old[from])
				at = y + 1;
		if (kind == 2)
			agree += fc.status == FINDINGS_DELETED && !fc.path && !fc.line_from;
		else if (kind == 3)
			agree += (fc.status == FINDINGS_CHANGED || (k == 1 && fc.status == FINDINGS_DELETED));
		else
			agree += at && fc.line_from == at && fc.line_to == at + k - 1 &&
				 fc.status == (at == fi.line_from ? FINDINGS_SAME : FINDINGS_MOVED);
	}
	CHECK(agree == rounds);
	if (agree != rounds)
		fprintf(stderr, "carry: %d of %d rounds agree with the construction\n", agree, rounds);
	manifest_free(m);
}

/* Carry-over: the same blob, an exact rename, a file gone. */
TEST(carry_files)
{
	struct manifest *a = manifest_new(), *b = manifest_new();
	unsigned char s1[20] = {1}, k1[32] = {2}, k2[32] = {3};
	struct finding_info fi;
	struct findings_carry fc;
	const struct manifest_entry *e;
	memset(&fi, 0, sizeof(fi));
	fi.path = "src/h.c";
	fi.line_from = 3;
	fi.line_to = 4;
	fi.blob = "0200000000000000000000000000000000000000000000000000000000000000";
	CHECK(manifest_add(a, "src/h.c", 7, 0100644, 10, s1, k1) == 0 && manifest_sort(a) == 0);
	CHECK(manifest_add(b, "lib/h.c", 7, 0100644, 10, s1, k1) == 0 && manifest_add(b, "x.c", 3, 0100644, 1, s1, k2) == 0 &&
	      manifest_sort(b) == 0);
	struct diff_renames exact = {100, NULL, NULL};
	struct diff_change *ch = NULL;
	size_t n_ch = 0;
	e = findings_carry_file(&fi, a, NULL, 0);
	CHECK(e && findings_carry(&fi, e, NULL, 0, NULL, 0, &fc) == 0 && fc.status == FINDINGS_SAME && fc.line_from == 3);
	e = findings_carry_file(&fi, b, NULL, 0); /* without the tree diff: gone */
	CHECK(e == NULL);
	CHECK(diff_trees(a, b, &exact, &ch, &n_ch) == 0);
	e = findings_carry_file(&fi, b, ch, n_ch); /* renamed with the same blob */
	CHECK(e && !strcmp(e->path, "lib/h.c"));
	CHECK(findings_carry(&fi, e, NULL, 0, NULL, 0, &fc) == 0 && fc.status == FINDINGS_MOVED && !strcmp(fc.path, "lib/h.c") &&
	      fc.line_from == 3 && fc.line_to == 4);
	fi.path = "src/gone.c";
	e = findings_carry_file(&fi, b, ch, n_ch);
	CHECK(e == NULL && findings_carry(&fi, e, NULL, 0, NULL, 0, &fc) == 0 && fc.status == FINDINGS_DELETED);
	/* another blob at the same path needs both texts */
	fi.path = "x.c";
	CHECK(findings_carry(&fi, manifest_find(b, "x.c", 3), NULL, 0, NULL, 0, &fc) == ERR_USAGE);
	free(ch);
	manifest_free(a);
	manifest_free(b);
}

struct reads {
	int n, refused;
	char last_reason[128];
	char path[64];
	int cwe;
	char severity[64];
};

static int read_one(void *ctx, const struct sarif_result *r)
{
	struct reads *s = ctx;
	s->n++;
	if (r->refused) {
		s->refused++;
		snprintf(s->last_reason, sizeof(s->last_reason), "%s", r->refused);
	} else {
		snprintf(s->path, sizeof(s->path), "%s", r->n.path);
		snprintf(s->severity, sizeof(s->severity), "%s", r->n.severity);
		s->cwe = r->n.cwe;
	}
	return 0;
}

static int sarif_one(const char *loc_uri, const char *extra, struct reads *s)
{
	char j[2048];
	snprintf(j, sizeof(j),
		 "{\"version\":\"2.1.0\",\"runs\":[{\"tool\":{\"driver\":{\"name\":\"t\",\"rules\":[{\"id\":"
		 "\"R\",\"properties\":{\"tags\":[\"external/cwe/cwe-120\"]}}]}},\"results\":[{\"ruleId\":"
		 "\"R\",\"message\":{\"text\":\"t\"},\"locations\":[{\"physicalLocation\":{\"artifactLocation\":"
		 "{\"uri\":\"%s\"},\"region\":{\"startLine\":2}}}]%s}]}]}",
		 loc_uri, extra);
	memset(s, 0, sizeof(*s));
	return sarif_read(j, strlen(j), read_one, s);
}

TEST(sarif_in)
{
	struct reads s;
	CHECK(sarif_one("src/a%20b.c", "", &s) == 0 && s.n == 1 && !s.refused);
	CHECK_EQ_STR(s.path, "src/a b.c");
	CHECK(s.cwe == 120 && !strcmp(s.severity, "medium"));
	CHECK(sarif_one("a.c", ",\"level\":\"error\"", &s) == 0 && !strcmp(s.severity, "high"));
	CHECK(sarif_one("a.c", ",\"properties\":{\"security-severity\":\"9.1\"}", &s) == 0 &&
	      !strcmp(s.severity, "critical"));
	CHECK(sarif_one("../x", "", &s) == 0 && s.refused == 1);
	CHECK(sarif_one("a/./b", "", &s) == 0 && s.refused == 1);
	CHECK(sarif_one("a//b", "", &s) == 0 && s.refused == 1);
	CHECK(sarif_one("/etc/passwd", "", &s) == 0 && s.refused == 1);
	CHECK(sarif_one("file:///etc/passwd", "", &s) == 0 && s.refused == 1);
	CHECK(sarif_one("%2e%2e/x", "", &s) == 0 && s.refused == 1);
	CHECK(sarif_one("a%00b", "", &s) == 0 && s.refused == 1);
	CHECK(sarif_one("a%zz", "", &s) == 0 && s.refused == 1);
	CHECK(sarif_one("a?b", "", &s) == 0 && s.refused == 1);
	CHECK(sarif_one("a\\\\b", "", &s) == 0 && s.refused == 1);
	CHECK(sarif_read("{\"version\":\"2.1.0\"}", 19, read_one, &s) == ERR_PARSE);
	CHECK(sarif_read("{\"version\":\"2.1.0\",\"runs\":[{\"results\":7}]}", 41, read_one, &s) == ERR_PARSE);
	CHECK(sarif_read("[]", 2, read_one, &s) == ERR_PARSE);
}

static int add_out(void *ctx, const struct finding_info *fi)
{
	return sarif_out_add(ctx, fi);
}

/* Out and back in: the same places, titles, severities and CWE ids. */
TEST(sarif_round_trip)
{
	struct env e;
	struct finding_new n = one("Overflow in \"header\" <parse>", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N",
				   "line one\nline two");
	struct release_info rel;
	struct sarif_out *so;
	struct buf b;
	struct reads s;
	int64_t id;
	env_open(&e);
	n.path = "dir/with space/é.c";
	CHECK(findings_add(e.f, &e.nc, &e.ann, &n, 100, &id) == 0);
	memset(&rel, 0, sizeof(rel));
	snprintf(rel.product, sizeof(rel.product), "fw");
	snprintf(rel.version, sizeof(rel.version), "1");
	snprintf(rel.tree_sha256, sizeof(rel.tree_sha256), "%s", blob);
	snprintf(rel.tree_sha1, sizeof(rel.tree_sha1), "%.40s", blob);
	so = sarif_out_new(&rel);
	buf_init(&b, 0);
	CHECK(findings_each_all(e.f, "fw", "1", NULL, add_out, so) == 0);
	CHECK(sarif_out_finish(so, &b) == 0);
	CHECK(strstr(b.p, "\"uri\": \"dir/with%20space/%C3%A9.c\"") != NULL);
	memset(&s, 0, sizeof(s));
	CHECK(sarif_read(b.p, b.len, read_one, &s) == 0 && s.n == 1 && !s.refused);
	CHECK_EQ_STR(s.path, "dir/with space/é.c");
	CHECK_EQ_STR(s.severity, "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N");
	CHECK(s.cwe == 787);
	buf_release(&b);
	env_close(&e);
}

int main(void)
{
	RUN(fields_checked);
	RUN(code_quotes_refused);
	RUN(vendor_first);
	RUN(states);
	RUN(fix_check);
	RUN(carry_generated);
	RUN(carry_files);
	RUN(sarif_in);
	RUN(sarif_round_trip);
	return test_done();
}
