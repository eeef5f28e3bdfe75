/* Unit tests: report (what each kind of entry counts, labs from user_add, the grants of
 * the release, order and checkpoint checks, segments of lines shown). */
#include "logdb.h"
#include "report.h"
#include "tlog.h"
#include "test.h"

static const char *const entries[] = {
	"{\"actor\":\"op\",\"login\":\"ann\",\"org\":\"lab-a\",\"role\":\"reviewer\",\"time\":1,\"type\":\"user_add\"}",
	"{\"actor\":\"op\",\"login\":\"bob\",\"org\":\"lab-b\",\"role\":\"reviewer\",\"time\":1,\"type\":\"user_add\"}",
	"{\"actor\":\"v\",\"bytes\":9,\"files\":4,\"release\":\"fw@1\",\"time\":2,\"tree_sha1\":\"aa\",\"tree_sha256\":\"bb\",\"type\":\"seal\"}",
	"{\"actor\":\"v\",\"grant\":7,\"release\":\"fw@1\",\"time\":3,\"type\":\"grant_active\"}",
	"{\"actor\":\"v\",\"grant\":8,\"release\":\"fw@2\",\"time\":3,\"type\":\"grant_active\"}",
	"{\"actor\":\"ann\",\"blob\":\"x\",\"lines\":[1,10],\"path\":\"a.c\",\"release\":\"fw@1\",\"time\":4,\"type\":\"view\"}",
	"{\"actor\":\"ann\",\"blob\":\"x\",\"lines\":[5,20],\"path\":\"a.c\",\"release\":\"fw@1\",\"time\":5,\"type\":\"view\"}",
	"{\"actor\":\"ann\",\"blob\":\"x\",\"lines\":[1,99],\"path\":\"a.c\",\"release\":\"fw@2\",\"time\":5,\"type\":\"view\"}",
	"{\"actor\":\"ann\",\"lines\":3,\"query\":\"foo\",\"release\":\"fw@1\",\"results\":9,\"time\":6,\"type\":\"search\"}",
	"{\"actor\":\"ann\",\"base\":\"0\",\"lines_shown\":4,\"path\":\"b.c\",\"release\":\"fw@1\",\"time\":6,\"type\":\"diff\"}",
	"{\"actor\":\"bob\",\"bates_first\":\"B-1\",\"bates_last\":\"B-2\",\"from\":18,\"pages\":2,\"path\":\"a.c\",\"release\":\"fw@1\",\"sha256\":\"s\",\"time\":7,\"to\":25,\"type\":\"print\"}",
	"{\"actor\":\"bob\",\"reason\":\"code\",\"release\":\"fw@1\",\"time\":8,\"tokens\":12,\"type\":\"note_refused\"}",
	"{\"actor\":\"bob\",\"grant\":7,\"time\":9,\"type\":\"alert\"}",
	"{\"actor\":\"bob\",\"grant\":8,\"time\":9,\"type\":\"session_hold\"}",
	"{\"actor\":\"bob\",\"grant\":7,\"time\":9,\"type\":\"session_hold\"}",
};
#define N_ENTRIES (sizeof(entries) / sizeof(entries[0]))

static void checkpoint(uint64_t size, struct buf *note)
{
	struct buf sk, vk, body;
	struct note_signer *s;
	unsigned char root[TLOG_HASH_LEN] = {1};
	buf_init(&sk, 0);
	buf_init(&vk, 0);
	buf_init(&body, 0);
	if (note_key_generate("log.test", &sk, &vk) || note_signer_parse(sk.p, sk.len, &s) ||
	    tlog_checkpoint_format(&body, "log.test", size, root) || note_sign(body.p, body.len, s, note))
		abort();
	note_signer_free(s);
	buf_release(&sk);
	buf_release(&vk);
	buf_release(&body);
}

static json_t *run(const char *lab)
{
	struct report *r = report_new("fw", "1", lab);
	struct buf note, out;
	json_error_t je;
	json_t *j;
	buf_init(&note, 0);
	buf_init(&out, 0);
	for (size_t i = 0; i < N_ENTRIES; i++)
		CHECK(report_entry(r, i, entries[i], strlen(entries[i])) == 0);
	checkpoint(N_ENTRIES, &note);
	CHECK(report_checkpoint(r, note.p, note.len) == 0);
	CHECK(report_json(r, &out) == 0);
	j = json_loads(out.p, 0, &je);
	report_free(r);
	buf_release(&note);
	buf_release(&out);
	return j;
}

TEST(counts)
{
	json_t *j = run(NULL), *ann, *bob, *a;
	CHECK(j != NULL);
	ann = json_object_get(json_object_get(json_object_get(json_object_get(j, "labs"), "lab-a"), "reviewers"), "ann");
	bob = json_object_get(json_object_get(json_object_get(json_object_get(j, "labs"), "lab-b"), "reviewers"), "bob");
	CHECK(ann && bob);
	CHECK(json_integer_value(json_object_get(ann, "views")) == 2);
	CHECK(json_integer_value(json_object_get(ann, "view_lines")) == 26);
	CHECK(json_integer_value(json_object_get(ann, "lines_shown")) == 20); /* 1-20 */
	a = json_object_get(json_object_get(json_object_get(ann, "files"), "a.c"), "shown");
	CHECK(json_array_size(a) == 3);
	CHECK(json_integer_value(json_array_get(json_array_get(a, 1), 0)) == 5 &&
	      json_integer_value(json_array_get(json_array_get(a, 1), 1)) == 10 &&
	      json_integer_value(json_array_get(json_array_get(a, 1), 2)) == 2);
	CHECK(json_integer_value(json_object_get(ann, "search_lines")) == 3);
	CHECK(json_integer_value(json_object_get(ann, "diff_lines")) == 4);
	CHECK(json_integer_value(json_object_get(bob, "print_lines")) == 8);
	CHECK(json_integer_value(json_object_get(bob, "notes_refused")) == 1);
	CHECK(json_integer_value(json_object_get(bob, "alerts")) == 1);
	CHECK(json_integer_value(json_object_get(bob, "holds")) == 1); /* grant 8 is fw@2's */
	CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(json_object_get(bob, "prints"), 0), "bates_first")), "B-1");
	CHECK(json_integer_value(json_object_get(json_object_get(j, "tree"), "files")) == 4);
	CHECK(!strcmp(json_string_value(json_object_get(json_object_get(json_object_get(j, "labs"), "lab-a"), "share_of_files")), "50.0%")); /* a.c, and b.c by a diff */
	json_decref(j);
	j = run("lab-b");
	CHECK(json_object_size(json_object_get(j, "labs")) == 1 && json_object_get(json_object_get(j, "labs"), "lab-b"));
	json_decref(j);
}

TEST(order_and_checkpoint)
{
	struct report *r = report_new("fw", "1", NULL);
	struct buf note, out;
	buf_init(&note, 0);
	buf_init(&out, 0);
	CHECK(report_json(r, &out) == ERR_USAGE); /* no checkpoint yet */
	CHECK(report_entry(r, 1, entries[0], strlen(entries[0])) == ERR_USAGE);
	CHECK(report_entry(r, 0, "not json", 8) == ERR_CORRUPT);
	checkpoint(5, &note); /* one entry read, the checkpoint says five */
	CHECK(report_checkpoint(r, note.p, note.len) == ERR_CORRUPT);
	CHECK(report_checkpoint(r, "junk", 4) != 0);
	report_free(r);
	buf_release(&note);
	buf_release(&out);
}

/* Restricted to changed lines: overlapping ranges count once; only shown lines inside
 * count; a file none of whose changed lines was shown goes; the digest names the set. */
TEST(changed_lines)
{
	struct report_changes *c = report_changes_new(), *d = NULL;
	struct report *r = report_new("fw", "1", NULL);
	struct buf note, out;
	json_error_t je;
	json_t *j, *ann;
	buf_init(&note, 0);
	buf_init(&out, 0);
	/* a.c: ann was shown 1-20, bob printed 18-25; changes 8-12 and 10-19 (overlap), 30-40 */
	CHECK(report_changes_add(c, "a.c", 8, 12) == 0 && report_changes_add(c, "a.c", 10, 19) == 0 &&
	      report_changes_add(c, "a.c", 30, 40) == 0 && report_changes_add(c, "z.c", 1, 1) == 0);
	CHECK(report_changes_add(c, "a.c", 0, 3) == ERR_PARSE && report_changes_add(c, "a.c", 5, 4) == ERR_PARSE);
	CHECK(report_changes_add(c, "", 1, 1) == ERR_PARSE);
	report_restrict(r, c);
	for (size_t i = 0; i < N_ENTRIES; i++)
		CHECK(report_entry(r, i, entries[i], strlen(entries[i])) == 0);
	checkpoint(N_ENTRIES, &note);
	CHECK(report_checkpoint(r, note.p, note.len) == 0 && report_json(r, &out) == 0);
	CHECK((j = json_loads(out.p, 0, &je)) != NULL);
	ann = json_object_get(json_object_get(json_object_get(json_object_get(j, "labs"), "lab-a"), "reviewers"), "ann");
	/* 8-19 is 12 changed lines, all shown to ann; b.c (a diff only) has no shown lines */
	CHECK(json_integer_value(json_object_get(ann, "lines_shown")) == 12);
	CHECK(json_integer_value(json_object_get(json_object_get(j, "changed"), "lines")) == 12 + 11 + 1);
	CHECK(json_integer_value(json_object_get(json_object_get(j, "changed"), "files")) == 2);
	CHECK(!strcmp(json_string_value(json_object_get(json_object_get(json_object_get(j, "labs"), "lab-a"),
							"share_of_changed_lines")), "50.0%"));
	/* bob printed 18-25: changed 18-19 */
	CHECK(json_integer_value(json_object_get(json_object_get(json_object_get(j, "labs"), "lab-b"), "lines_shown")) == 2);
	json_decref(j);
	/* the same set from a diff: the same digest */
	{
		static const char diff[] = "--- a/a.c\n+++ b/a.c\n@@ -7,0 +8,12 @@\n+1\n+2\n+3\n+4\n+5\n+6\n+7\n+8\n+9\n+10\n+11\n+12\n"
					   "@@ -20 +30,11 @@ f\n-x\n+1\n+2\n+3\n+4\n+5\n+6\n+7\n+8\n+9\n+10\n+11\n"
					   "+++ b/z.c\n@@ -1 +1 @@\n-old\n+++ new, a line that looks like a header\n"
					   "diff --git a/gone.c b/gone.c\n--- a/gone.c\n+++ /dev/null\n@@ -1,2 +0,0 @@\n-a\n-b\n";
		struct report *r2 = report_new("fw", "1", NULL);
		struct buf out2;
		buf_init(&out2, 0);
		CHECK(report_changes_parse(diff, strlen(diff), &d) == 0);
		report_restrict(r2, d);
		for (size_t i = 0; i < N_ENTRIES; i++)
			CHECK(report_entry(r2, i, entries[i], strlen(entries[i])) == 0);
		CHECK(report_checkpoint(r2, note.p, note.len) == 0 && report_json(r2, &out2) == 0);
		CHECK(out.len == out2.len && !memcmp(out.p, out2.p, out.len));
		report_free(r2);
		buf_release(&out2);
	}
	/* hostile diffs */
	{
		static const char *const bad[] = {"+++ b/a\n@@ -1 +1,3 @@\n+x\n", "+++ b/a\n@@ -1 +x @@\n",
						  "@@ -0,0 +1 @@\n+x\n", "+++ \"b/\\303\\251\"\n", "+++ b/a\n@@ -1 +0,1 @@\n-a\n+b\n",
						  "+++ b/a\n@@ -1 +99999999999 @@\n-a\n+b\n", "+++ b/a\n@@ -1 +1 @@\nx\n"};
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			struct report_changes *e = NULL;
			CHECK(report_changes_parse(bad[i], strlen(bad[i]), &e) == ERR_PARSE && e == NULL);
		}
	}
	report_free(r);
	report_changes_free(c);
	report_changes_free(d);
	buf_release(&note);
	buf_release(&out);
}

int main(void)
{
	RUN(counts);
	RUN(order_and_checkpoint);
	RUN(changed_lines);
	return test_done();
}
