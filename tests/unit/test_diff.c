/* test_diff: tree diff of manifests, and line diffs checked against `git diff --no-index`. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "diff.h"
#include "gitobj.h"
#include "manifest.h"
#include "test.h"

static char tmpdir[64];

static void write_file(const char *name, const char *p, size_t len)
{
	char path[128];
	FILE *f;
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(p, 1, len, f) != len || fclose(f))
		BUG("write %s", path);
}

/* Our diff printed like git's hunks: "@@ -a,b +c,d @@ function" then each line's kind and text. */
static void ours(const char *a, size_t al, const char *b, size_t bl, unsigned ctx, struct buf *out)
{
	struct diff *d;
	if (diff_lines(a, al, b, bl, ctx, 0, &d)) {
		if (buf_addf(out, "error %s\n", err_msg()))
			BUG("buf");
		return;
	}
	for (size_t h = 0; h < diff_n_hunks(d); h++) {
		const struct diff_hunk *k = diff_hunk(d, h);
		if (buf_addf(out, "@@ -%u,%u +%u,%u @@", k->old_start, k->old_count, k->new_start,
			     k->new_count) ||
		    (k->func_len && (buf_addch(out, ' ') || buf_add(out, a + k->func_off, k->func_len))) ||
		    buf_addch(out, '\n'))
			BUG("buf");
		for (size_t i = k->first; i < k->first + k->n_lines; i++) {
			const struct diff_line *l = diff_line(d, i);
			const char *src = l->kind == '+' ? b : a;
			if (buf_addch(out, l->kind) || buf_add(out, src + l->off, l->len) || buf_addch(out, '\n'))
				BUG("buf");
		}
	}
	diff_free(d);
}

/* git's hunks for the same pair, headers normalised to "-a,b +c,d" and the no-EOL
 * markers dropped (ours reports them as flags). */
static void theirs(const char *a, size_t al, const char *b, size_t bl, unsigned ctx, struct buf *out)
{
	char cmd[512], line[65536];
	FILE *p;
	int in_hunk = 0;
	write_file("old", a, al);
	write_file("new", b, bl);
	snprintf(cmd, sizeof(cmd),
		 "cd '%s' && git -c core.quotepath=off diff --no-index --no-indent-heuristic "
		 "--no-color -U%u old new",
		 tmpdir, ctx);
	p = popen(cmd, "r");
	if (!p)
		BUG("popen");
	while (fgets(line, sizeof(line), p)) {
		if (!strncmp(line, "@@ ", 3)) {
			unsigned os, oc = 1, ns, nc = 1;
			char *q = line + 4;
			os = (unsigned)strtoul(q, &q, 10);
			if (*q == ',')
				oc = (unsigned)strtoul(q + 1, &q, 10);
			q = strchr(q, '+');
			ns = (unsigned)strtoul(q + 1, &q, 10);
			if (*q == ',')
				nc = (unsigned)strtoul(q + 1, &q, 10);
			/* " @@" then git's function line, if any */
			q += 3;
			q[strcspn(q, "\n")] = 0;
			if (buf_addf(out, "@@ -%u,%u +%u,%u @@%s\n", os, oc, ns, nc, q))
				BUG("buf");
			in_hunk = 1;
		} else if (in_hunk && (line[0] == ' ' || line[0] == '-' || line[0] == '+')) {
			size_t n = strlen(line);
			if (buf_add(out, line, n) || (line[n - 1] != '\n' && buf_addch(out, '\n')))
				BUG("buf");
		}
	}
	pclose(p);
}

static int same_as_git(const char *a, const char *b, unsigned ctx)
{
	struct buf x, y;
	int ok;
	buf_init(&x, 0);
	buf_init(&y, 0);
	ours(a, strlen(a), b, strlen(b), ctx, &x);
	theirs(a, strlen(a), b, strlen(b), ctx, &y);
	ok = x.len == y.len && !memcmp(x.p, y.p, x.len);
	if (!ok)
		fprintf(stderr, "--- ours\n%s--- git\n%s", x.p, y.p);
	buf_release(&x);
	buf_release(&y);
	return ok;
}

/* A C-like file of n lines, with repeated braces and blank lines as real code has. */
static char *base_text(size_t n, unsigned seed)
{
	struct buf b;
	buf_init(&b, 0);
	for (size_t i = 0; i < n; i++) {
		int r;
		seed = seed * 1103515245u + 12345u;
		switch ((seed >> 16) % 8) {
		case 0: r = buf_addstr(&b, "}\n"); break;
		case 1: r = buf_addstr(&b, "\n"); break;
		case 2: r = buf_addf(&b, "static int f%zu(void)\n", i); break;
		case 3: r = buf_addstr(&b, "{\n"); break;
		case 4: r = buf_addstr(&b, "\treturn 0;\n"); break;
		default: r = buf_addf(&b, "\tx = y + %u;\n", (seed >> 8) % 50); break;
		}
		if (r)
			BUG("buf");
	}
	return buf_detach(&b, NULL);
}

/* Apply n random line edits (delete, insert, replace) to text. */
static char *mutate(const char *text, unsigned n, unsigned seed)
{
	struct buf b;
	const char *p = text;
	size_t lines = 0;
	for (const char *q = text; *q; q++)
		lines += *q == '\n';
	buf_init(&b, 0);
	for (size_t i = 0; *p; i++) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) + 1 : strlen(p);
		unsigned op = 9;
		seed = seed * 1103515245u + 12345u;
		if (lines && (seed >> 16) % lines < n)
			op = (seed >> 8) % 3;
		if (op == 1 && buf_addf(&b, "\tinserted(%zu);\n", i))
			BUG("buf");
		if (op == 2 && buf_addstr(&b, "}\n"))
			BUG("buf");
		if (op != 0 && op != 2 && buf_add(&b, p, len))
			BUG("buf");
		p += len;
	}
	return buf_detach(&b, NULL);
}

/* The lines of d of kind k (any kind for 0), counted through diff_line. */
static size_t n_of(const struct diff *d, char k)
{
	size_t n = 0;
	for (size_t i = 0; diff_line(d, i); i++)
		n += !k || diff_line(d, i)->kind == k;
	return n;
}

TEST(git_fixtures)
{
	static const char *const pairs[][2] = {
		{"", ""},
		{"", "a\nb\n"},
		{"a\nb\n", ""},
		{"a\nb\nc\n", "a\nb\nc\n"},
		{"a\nb\nc\n", "a\nB\nc\n"},
		{"a\nb\nc", "a\nb\nc\n"},              /* newline added at the end */
		{"a\nb\nc\n", "a\nb\nc"},              /* and removed */
		{"x\n", "x"},
		{"1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n13\n14\n15\n16\n",
		 "1\n2\nthree\n4\n5\n6\n7\n8\n9\n10\n11\n12\n13\nfourteen\n15\n16\n"}, /* two hunks */
		{"1\n2\n3\n4\n5\n6\n7\n8\n9\n", "1\n2\nthree\n4\n5\n6\n7\nEIGHT\n9\n"}, /* one, merged */
		{"{\n}\n\n{\n}\n", "{\n}\n\n{\n}\n\n{\n}\n"}, /* a repeated block: slid down */
		{"a\n\n\nb\n", "a\n\nb\n"},
		{"int a;\nint b;\n", "int b;\nint a;\n"},
		/* function lines in hunk headers: the last line before the hunk that starts with a
		 * letter, '_' or '$'; cut to 80 bytes, trailing blanks dropped; a later hunk
		 * without one of its own keeps the line before it */
		{"int f(void)\n{\n\t1;\n\t2;\n\t3;\n\t4;\n\t5;\n}\n",
		 "int f(void)\n{\n\t1;\n\t2;\n\t3;\n\tfour;\n\t5;\n}\n"},
		{"_x \t\r\n\n\n\n\na\nb\nc\nd\n", "_x \t\r\n\n\n\n\na\nb\nC\nd\n"},
		{"$v\n1\n2\n3\n4\n5\n", "$v\n1\n2\n3\n4\nV\n"},
		{"static const struct a_very_long_name_for_a_table_of_things_that_goes_on_and_on_past_eighty[] = {\n"
		 "\t1,\n\t2,\n\t3,\n\t4,\n}\n",
		 "static const struct a_very_long_name_for_a_table_of_things_that_goes_on_and_on_past_eighty[] = {\n"
		 "\t1,\n\t2,\n\t3,\n\tfour,\n}\n"},
		{"g()\n1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n13\n14\n15\n",
		 "g()\n1\n2\n3\nfour\n5\n6\n7\n8\n9\n10\n11\n12\nthirteen\n14\n15\n"},
		{"1\n2\n3\n4\nh(int)\n", "0\n1\n2\n3\n4\nh(int)\nadded\n"},
		{"x\n\t\n \n\n1\n2\n3\n4\n", "x\n\t\n \n\n1\n2\n3\n4\n5\n"},
	};
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		CHECK(same_as_git(pairs[i][0], pairs[i][1], 3));
		CHECK(same_as_git(pairs[i][0], pairs[i][1], 0));
		CHECK(same_as_git(pairs[i][0], pairs[i][1], 1));
	}
}

TEST(git_random_edits)
{
	/* code-like files with a few scattered edits: the same hunks and lines as git */
	int mismatches = 0;
	for (unsigned t = 0; t < 40; t++) {
		char *a = base_text(200 + t * 10, t + 1), *b = mutate(a, 1 + t % 7, t * 7 + 3);
		if (!same_as_git(a, b, 3))
			mismatches++;
		free(a);
		free(b);
	}
	CHECK(mismatches == 0);
}

TEST(counts_and_eol)
{
	struct diff *d;
	CHECK(diff_lines("a\nb\nc\n", 6, "a\nx\nc\ny", 8, 3, 0, &d) == 0);
	CHECK(diff_n_hunks(d) == 1 && n_of(d, '-') == 1 && n_of(d, '+') == 2);
	CHECK(!diff_old_no_eol(d) && diff_new_no_eol(d));
	CHECK(diff_hunk(d, 1) == NULL && diff_line(d, n_of(d, 0)) == NULL);
	diff_free(d);
	CHECK(diff_lines("same\n", 5, "same\n", 5, 3, 0, &d) == 0);
	CHECK(diff_n_hunks(d) == 0 && n_of(d, 0) == 0);
	diff_free(d);
	CHECK(diff_lines("a", 1, "b", 1, 2000000, 0, &d) == ERR_USAGE);
}

TEST(limits)
{
	/* DIFF_MAX_LINES lines: compared; one more: refused */
	size_t n = DIFF_MAX_LINES;
	char *a = xmalloc(n + 1), *b;
	struct diff *d;
	memset(a, '\n', n + 1);
	b = xmalloc(n + 1);
	memcpy(b, a, n + 1);
	b[n / 2] = 'x';
	CHECK(diff_lines(a, n, b, n, 3, 0, &d) == 0);
	CHECK(n_of(d, '-') == 2 && n_of(d, '+') == 1); /* two empty lines became "x" */
	diff_free(d);
	CHECK(diff_lines(a, n + 1, b, n, 3, 0, &d) == ERR_TOOBIG);
	CHECK(strstr(err_msg(), "lines") != NULL);
	free(a);
	free(b);
	/* two unrelated files pass a small cost cap */
	{
		char *x = base_text(3000, 1), *y = base_text(3000, 2);
		CHECK(diff_lines(x, strlen(x), y, strlen(y), 3, 10000, &d) == ERR_TOOBIG);
		CHECK(strstr(err_msg(), "too many changes") != NULL);
		CHECK(diff_lines(x, strlen(x), y, strlen(y), 3, 0, &d) == 0);
		diff_free(d);
		free(x);
		free(y);
	}
}

static void add(struct manifest *m, const char *path, const char *data, unsigned mode)
{
	unsigned char s1[20], s256[32];
	gitobj_blob_ids(data, strlen(data), s1, s256);
	if (manifest_add(m, path, strlen(path), mode, strlen(data), s1, s256))
		BUG("manifest_add");
}

static const struct diff_renames exact = {100, NULL, NULL};

TEST(trees)
{
	struct manifest *a = manifest_new(), *b = manifest_new();
	struct diff_change *c;
	size_t n;
	add(a, "keep.c", "same", 0100644);
	add(a, "mod.c", "v1", 0100644);
	add(a, "gone.c", "bye", 0100644);
	add(a, "old/name.c", "moved", 0100644);
	add(a, "exec.sh", "run", 0100644);
	add(b, "keep.c", "same", 0100644);
	add(b, "mod.c", "v2", 0100644);
	add(b, "new.c", "hi", 0100644);
	add(b, "new/name.c", "moved", 0100644);
	add(b, "exec.sh", "run", 0100755);
	CHECK(manifest_sort(a) == 0 && manifest_sort(b) == 0);
	CHECK(diff_trees(a, b, NULL, &c, &n) == 0 && n == 6);
	CHECK(c[0].status == DIFF_MODIFIED && !strcmp(c[0].new->path, "exec.sh"));
	CHECK(c[1].status == DIFF_DELETED && !strcmp(c[1].old->path, "gone.c") && !c[1].new);
	CHECK(c[2].status == DIFF_MODIFIED && !strcmp(c[2].old->path, "mod.c"));
	CHECK(c[3].status == DIFF_ADDED && !strcmp(c[3].new->path, "new.c") && !c[3].old);
	CHECK(c[4].status == DIFF_ADDED && !strcmp(c[4].new->path, "new/name.c"));
	CHECK(c[5].status == DIFF_DELETED && !strcmp(c[5].old->path, "old/name.c"));
	free(c);
	CHECK(diff_trees(a, b, &exact, &c, &n) == 0 && n == 5);
	CHECK(c[4].status == DIFF_RENAMED && !strcmp(c[4].old->path, "old/name.c") &&
	      !strcmp(c[4].new->path, "new/name.c"));
	free(c);
	CHECK(diff_trees(a, a, &exact, &c, &n) == 0 && n == 0 && c == NULL);
	manifest_free(a);
	manifest_free(b);
}

/* ---- renames by content, against `git diff -M --name-status` ---- */

#define TREE_MAX 64
struct tree {
	char *path[TREE_MAX], *text[TREE_MAX];
	size_t n;
};

static void tree_add(struct tree *t, const char *path, char *text)
{
	if (t->n == TREE_MAX)
		BUG("tree full");
	t->path[t->n] = xstrdup(path);
	t->text[t->n++] = text;
}

static void tree_free(struct tree *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->path[i]);
		free(t->text[i]);
	}
	t->n = 0;
}

static struct manifest *tree_manifest(const struct tree *t)
{
	struct manifest *m = manifest_new();
	for (size_t i = 0; i < t->n; i++)
		add(m, t->path[i], t->text[i], 0100644);
	if (manifest_sort(m))
		BUG("manifest_sort");
	return m;
}

static int tree_read(void *ctx, int side, const struct manifest_entry *e, const unsigned char **p, size_t *len)
{
	const struct tree *t = &((const struct tree *)ctx)[side];
	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->path[i], e->path)) {
			*p = (const unsigned char *)t->text[i];
			*len = strlen(t->text[i]);
			return 0;
		}
	return err_set(ERR_NOTFOUND, "no '%s'", e->path);
}

/* Write t as the work tree of the repository g and commit it. */
static void tree_commit(const struct tree *t, const char *g)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "cd '%s' && git rm -rqf --ignore-unmatch . >/dev/null && rm -rf -- *", g);
	if (system(cmd))
		BUG("git rm");
	for (size_t i = 0; i < t->n; i++) {
		char path[256];
		FILE *f;
		snprintf(path, sizeof(path), "%s/%s", g, t->path[i]);
		snprintf(cmd, sizeof(cmd), "mkdir -p \"$(dirname '%s')\"", path);
		if (system(cmd) || !(f = fopen(path, "wb")) || fputs(t->text[i], f) < 0 || fclose(f))
			BUG("write %s", path);
	}
	snprintf(cmd, sizeof(cmd), "cd '%s' && git add -A && git -c user.name=t -c user.email=t@t commit -qm t --allow-empty",
		 g);
	if (system(cmd))
		BUG("git commit");
}

/* Our changes, one a line as git --name-status prints them ("R087\told\tnew"). */
static void name_status(const struct diff_change *c, size_t n, struct buf *out)
{
	for (size_t i = 0; i < n; i++) {
		int r = c[i].status == DIFF_RENAMED
				? buf_addf(out, "R%03u\t%s\t%s\n", c[i].score, c[i].old->path, c[i].new->path)
				: buf_addf(out, "%c\t%s\n", c[i].status, c[i].new ? c[i].new->path : c[i].old->path);
		if (r)
			BUG("buf");
	}
}

/*
 * Generated trees: files kept, edited in place, deleted, added, renamed as they are,
 * renamed with a few edits, renamed and mostly rewritten, and one file renamed into
 * several similar copies (candidates competing for one source); git's pairing and scores
 * for the same two commits are the oracle.
 */
TEST(renames_against_git)
{
	char g[128], cmd[256], line[1024];
	int same = 0, rounds = 12, renamed_edited = 0, rewritten = 0;
	snprintf(g, sizeof(g), "%s/g", tmpdir);
	snprintf(cmd, sizeof(cmd), "git init -q '%s'", g);
	CHECK(system(cmd) == 0);
	for (int round = 0; round < rounds; round++) {
		struct tree t[2];
		struct manifest *a, *b;
		struct diff_change *c = NULL;
		struct diff_renames rn = {DIFF_RENAME_SCORE, tree_read, t};
		struct buf x, y;
		size_t n = 0;
		unsigned seed = 7919u * (unsigned)(round + 1);
		FILE *p;
		memset(t, 0, sizeof(t));
		for (int i = 0; i < 14; i++) {
			char path[64], to[64];
			char *text = base_text(20 + (size_t)(seed >> 8) % 60, seed ^ (unsigned)i * 2654435761u);
			unsigned op;
			seed = seed * 1103515245u + 12345u;
			op = (seed >> 16) % 9;
			snprintf(path, sizeof(path), "%s/file%02d.c", i % 3 ? "src" : "lib", i);
			snprintf(to, sizeof(to), "%s/moved%02d_%d.c", i % 2 ? "core" : "src", i, round);
			tree_add(&t[0], path, xstrdup(text));
			switch (op) {
			case 0: tree_add(&t[1], path, text); break;                         /* kept */
			case 1: tree_add(&t[1], path, mutate(text, 3, seed)); free(text); break; /* edited */
			case 2: free(text); break;                                          /* deleted */
			case 3: tree_add(&t[1], to, text); break;                           /* renamed */
			case 4: /* renamed with a few edits */
			case 5:
				tree_add(&t[1], to, mutate(text, 2 + (seed >> 4) % 4, seed));
				free(text);
				renamed_edited++;
				break;
			case 6: /* renamed, the same basename in another folder, a few edits */
				snprintf(to, sizeof(to), "other%d/file%02d.c", round, i);
				tree_add(&t[1], to, mutate(text, 3, seed));
				free(text);
				renamed_edited++;
				break;
			case 7: /* renamed and mostly rewritten */
				tree_add(&t[1], to, mutate(text, 40, seed));
				free(text);
				rewritten++;
				break;
			default: /* several candidates: two edited copies of one deleted file */
				tree_add(&t[1], to, mutate(text, 2, seed));
				snprintf(to, sizeof(to), "copies/again%02d_%d.c", i, round);
				tree_add(&t[1], to, mutate(text, 5, seed + 1));
				free(text);
				break;
			}
		}
		tree_add(&t[1], "src/brand_new.c", base_text(30, seed));
		a = tree_manifest(&t[0]);
		b = tree_manifest(&t[1]);
		buf_init(&x, 0);
		buf_init(&y, 0);
		CHECK(diff_trees(a, b, &rn, &c, &n) == 0);
		name_status(c, n, &x);
		free(c);
		tree_commit(&t[0], g);
		tree_commit(&t[1], g);
		snprintf(cmd, sizeof(cmd), "cd '%s' && git -c core.quotepath=off diff -M --name-status HEAD~1 HEAD", g);
		p = popen(cmd, "r");
		CHECK(p != NULL);
		while (p && fgets(line, sizeof(line), p))
			if (buf_addstr(&y, line))
				BUG("buf");
		if (p)
			pclose(p);
		if (getenv("SHOW_RENAMES"))
			fprintf(stderr, "round %d\n%s", round, x.p);
		if (x.len == y.len && !memcmp(x.p, y.p, x.len))
			same++;
		else
			fprintf(stderr, "round %d\n--- ours\n%s--- git\n%s", round, x.p, y.p);
		buf_release(&x);
		buf_release(&y);
		manifest_free(a);
		manifest_free(b);
		tree_free(&t[0]);
		tree_free(&t[1]);
	}
	CHECK(same == rounds);
	CHECK(renamed_edited > 5 && rewritten > 0);
	/* the score is the percentage git prints: exact renames 100 */
	{
		struct tree t[2];
		struct manifest *a, *b;
		struct diff_change *c = NULL;
		struct diff_renames rn = {DIFF_RENAME_SCORE, tree_read, t}, only = {100, tree_read, t};
		size_t n = 0;
		memset(t, 0, sizeof(t));
		tree_add(&t[0], "a.c", base_text(40, 5));
		tree_add(&t[1], "b.c", mutate(t[0].text[0], 2, 9));
		a = tree_manifest(&t[0]);
		b = tree_manifest(&t[1]);
		CHECK(diff_trees(a, b, &rn, &c, &n) == 0 && n == 1 && c[0].status == DIFF_RENAMED &&
		      c[0].score >= 50 && c[0].score < 100);
		free(c);
		/* -M100%: an edited file is no rename */
		CHECK(diff_trees(a, b, &only, &c, &n) == 0 && n == 2);
		free(c);
		manifest_free(a);
		manifest_free(b);
		tree_free(&t[0]);
		tree_free(&t[1]);
	}
}

int main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/sr-diff-test.XXXXXX");
	if (!mkdtemp(tmpdir))
		BUG("mkdtemp");
	RUN(git_fixtures);
	RUN(git_random_edits);
	RUN(counts_and_eol);
	RUN(limits);
	RUN(trees);
	RUN(renames_against_git);
	{
		char cmd[128];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd))
			BUG("rm");
	}
	return test_done();
}
