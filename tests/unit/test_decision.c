/* Unit tests: decision (the vendor's signed decision files: text, signature, refusals). */
#include <stdio.h>
#include <string.h>

#include "decision.h"
#include "test.h"

static struct note_signer *vendor, *other, *facility;
static struct note_verifier *vv, *ov, *fv;

static struct decision base(const char *kind)
{
	struct decision d;
	memset(&d, 0, sizeof(d));
	snprintf(d.kind, sizeof(d.kind), "%s", kind);
	snprintf(d.product, sizeof(d.product), "fw");
	snprintf(d.version, sizeof(d.version), "4.2");
	memset(d.seal, 'b', 64);
	d.time = 1894010400;
	snprintf(d.reviewer, sizeof(d.reviewer), "rita");
	snprintf(d.reason, sizeof(d.reason), "left the lab");
	d.objection_days = 30;
	d.print = 3;
	d.terms.valid_from = 1894010400;
	d.terms.valid_until = 1894615200;
	d.terms.days = 0x1f;
	d.terms.hour_from = 8;
	d.terms.hour_until = 18;
	d.terms.lines_per_day = 2000;
	d.terms.lines_total = POLICY_UNLIMITED;
	d.terms.prints = 0;
	d.terms.quotas = "{ \"searches_per_day\" : 5, \"bytes_total\": 1 }";
	return d;
}

TEST(every_kind_round_trips)
{
	const char *kinds[] = {"approve", "object", "revoke", "halt", "shred", "window", "dispute"};
	for (size_t i = 0; i < 7; i++) {
		struct decision d = base(kinds[i]), back;
		struct buf note;
		buf_init(&note, DECISION_MAX);
		CHECK(decision_sign(&d, vendor, &note) == 0);
		CHECK(strlen(d.nonce) == DECISION_NONCE_HEX);
		CHECK(decision_open(note.p, note.len, vv, &back) == 0);
		CHECK_EQ_STR(back.kind, kinds[i]);
		CHECK_EQ_STR(back.nonce, d.nonce);
		CHECK_EQ_STR(back.seal, d.seal);
		CHECK(back.time == d.time);
		if (!strcmp(kinds[i], "approve")) {
			CHECK_EQ_STR(back.reviewer, "rita");
			CHECK(back.terms.valid_until == d.terms.valid_until && back.terms.days == 0x1f &&
			      back.terms.hour_until == 18 && back.terms.lines_total == POLICY_UNLIMITED &&
			      back.terms.prints == 0);
			/* quotas are signed in one spelling: sorted, compact */
			CHECK_EQ_STR(back.quotas, "{\"bytes_total\":1,\"searches_per_day\":5}");
		}
		if (!strcmp(kinds[i], "window"))
			CHECK(back.objection_days == 30);
		if (!strcmp(kinds[i], "dispute"))
			CHECK(back.print == 3 && !strcmp(back.reason, "left the lab") && !back.reviewer[0]);
		if (!strcmp(kinds[i], "halt"))
			CHECK(!back.reviewer[0]);
		/* another key's signature is not the vendor's */
		CHECK(decision_open(note.p, note.len, ov, &back) == ERR_AUTH);
		buf_release(&note);
	}
}

TEST(a_lab_revocation)
{
	struct decision d = base("revoke"), back;
	struct buf note;
	buf_init(&note, DECISION_MAX);
	snprintf(d.lab, sizeof(d.lab), "evallab");
	CHECK(decision_sign(&d, vendor, &note) == ERR_USAGE); /* reviewer and lab: one only */
	d.reviewer[0] = '\0';
	buf_reset(&note);
	CHECK(decision_sign(&d, vendor, &note) == 0);
	CHECK(strstr(note.p, "\nlab evallab\nreason left the lab\n") != NULL);
	CHECK(decision_open(note.p, note.len, vv, &back) == 0 && !strcmp(back.lab, "evallab") && !back.reviewer[0]);
	buf_release(&note);
}

/* Text edits that keep the signature's shape: each must be refused by the parser. */
TEST(only_the_canonical_text_parses)
{
	struct decision d = base("approve"), back;
	struct buf text;
	const char *edits[][2] = {
		{"\nprints 0\n", "\nprints 00\n"},               /* a number spelt otherwise */
		{"\nhours 8-18\n", "\nhours 08-18\n"},
		{"\nlines-total -1\n", "\nlines-total -2\n"},  /* below unlimited */
		{"\ndays 31\n", "\ndays 128\n"},               /* not a day mask */
		{"\nreviewer rita\n", "\nreviewer  rita\n"},
		{"\nreviewer rita\n", "\nreviewer rita\nreviewer rob\n"}, /* twice */
		{"\nreviewer rita\n", "\n"},                  /* missing */
		{"\ntime 1894010400\n", "\ntime 1894010400\nextra 1\n"},
		{"\"bytes_total\":1,\"searches_per_day\":5", "\"searches_per_day\":5,\"bytes_total\":1"}, /* unsorted */
		{"decision approve", "decision grant"},
		{"release fw@4.2", "release fw"},
		{"sealroom/decision/v1", "sealroom/decision/v2"},
	};
	buf_init(&text, DECISION_MAX);
	CHECK(decision_text(&d, &text) == 0);
	CHECK(decision_parse(text.p, text.len, &back) == 0);
	for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		char *at = strstr(text.p, edits[i][0]);
		struct buf e;
		CHECK(at != NULL);
		if (!at)
			continue;
		buf_init(&e, DECISION_MAX);
		CHECK(buf_add(&e, text.p, (size_t)(at - text.p)) == 0 && buf_addstr(&e, edits[i][1]) == 0 &&
		      buf_addstr(&e, at + strlen(edits[i][0])) == 0);
		CHECK(decision_parse(e.p, e.len, &back) == ERR_PARSE);
		buf_release(&e);
	}
	buf_release(&text);
}

TEST(limits_and_refusals)
{
	struct decision d = base("object"), back;
	struct buf note;
	char big[DECISION_MAX + 2];
	buf_init(&note, DECISION_MAX);
	/* a reason of POLICY_NOTE_MAX bytes is one line of the text; one more does not fit */
	memset(d.reason, 'x', POLICY_NOTE_MAX);
	d.reason[POLICY_NOTE_MAX] = '\0';
	CHECK(decision_sign(&d, vendor, &note) == 0);
	CHECK(decision_open(note.p, note.len, vv, &back) == 0 && strlen(back.reason) == POLICY_NOTE_MAX);
	snprintf(d.reason, sizeof(d.reason), "two\nlines");
	buf_reset(&note);
	CHECK(decision_sign(&d, vendor, &note) == ERR_USAGE);
	CHECK_EQ_STR(err_msg(), "decision: reason holds a control character");
	d = base("window");
	d.objection_days = 366;
	CHECK(decision_sign(&d, vendor, &note) == ERR_USAGE);
	d.objection_days = 365;
	buf_reset(&note);
	CHECK(decision_sign(&d, vendor, &note) == 0);
	d = base("approve");
	d.terms.hour_from = 18;
	CHECK(decision_sign(&d, vendor, &note) == ERR_USAGE);
	d = base("approve");
	d.terms.quotas = "[1]";
	CHECK(decision_sign(&d, vendor, &note) == ERR_USAGE);
	d = base("approve");
	snprintf(d.seal, sizeof(d.seal), "abc");
	CHECK(decision_sign(&d, vendor, &note) == ERR_USAGE);
	d = base("grant");
	CHECK(decision_sign(&d, vendor, &note) == ERR_USAGE);
	d = base("dispute");
	d.print = 0;
	CHECK(decision_sign(&d, vendor, &note) == ERR_USAGE);
	memset(big, 'a', sizeof(big));
	CHECK(decision_open(big, DECISION_MAX + 1, vv, &back) == ERR_TOOBIG);
	CHECK(decision_parse(big, DECISION_MAX + 1, &back) == ERR_TOOBIG);
	buf_release(&note);
}

TEST(countersigned_by_the_facility)
{
	struct decision d = base("approve"), back;
	struct buf note, both;
	struct str text;
	buf_init(&note, DECISION_MAX);
	buf_init(&both, 2 * DECISION_MAX);
	CHECK(decision_sign(&d, vendor, &note) == 0);
	CHECK(note_open(note.p, note.len, fv, &text) == ERR_AUTH);
	CHECK(decision_countersign(note.p, note.len, facility, &both) == 0);
	CHECK(both.len > note.len && !memcmp(both.p, note.p, note.len));
	CHECK(note_open(both.p, both.len, fv, &text) == 0);
	CHECK(decision_open(both.p, both.len, vv, &back) == 0 && !strcmp(back.nonce, d.nonce));
	/* a flipped byte of the text breaks both */
	both.p[30] ^= 1;
	CHECK(note_open(both.p, both.len, fv, &text) != 0);
	CHECK(decision_open(both.p, both.len, vv, &back) != 0);
	buf_release(&note);
	buf_release(&both);
}

/* The fuzz corpus' signed files open with the fuzz target's key, so fuzzing reaches past
 * the signature. */
TEST(fuzz_corpus_is_signed)
{
	static const char vk[] = "fuzzvendor+9ee4e616+AQ/SWy3lvaMO66zXAzfI+DyD+01zAwpugQO4oebqrSLi";
	struct note_verifier *k = NULL;
	struct decision back;
	struct buf b;
	CHECK(note_verifier_parse(vk, strlen(vk), &k) == 0);
	buf_init(&b, DECISION_MAX);
	CHECK(buf_read_file(&b, "fuzz/corpus/fuzz_decision/approve") == 0);
	CHECK(decision_open(b.p, b.len, k, &back) == 0 && !strcmp(back.kind, "approve"));
	buf_release(&b);
	note_verifier_free(k);
}

static int key(const char *name, struct note_signer **s, struct note_verifier **v)
{
	struct buf sk, vk;
	int r;
	buf_init(&sk, 4096);
	buf_init(&vk, 4096);
	r = note_key_generate(name, &sk, &vk) || note_signer_parse(sk.p, sk.len, s) ||
	    note_verifier_parse(vk.p, vk.len, v);
	buf_release(&sk);
	buf_release(&vk);
	return r;
}

int main(void)
{
	if (key("acme", &vendor, &vv) || key("other", &other, &ov) || key("room.example", &facility, &fv))
		return 1;
	RUN(every_kind_round_trips);
	RUN(a_lab_revocation);
	RUN(only_the_canonical_text_parses);
	RUN(limits_and_refusals);
	RUN(countersigned_by_the_facility);
	RUN(fuzz_corpus_is_signed);
	note_signer_free(vendor);
	note_signer_free(other);
	note_signer_free(facility);
	note_verifier_free(vv);
	note_verifier_free(ov);
	note_verifier_free(fv);
	return test_done();
}
