/* test_note: C2SP signed notes against the spec's example, and forgeries. */
#include <sodium.h>

#include "note.h"
#include "test.h"

static const char example_vkey[] = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
static const char example_note[] =
	"This is an example message.\n"
	"\n"
	"\xe2\x80\x94 example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";

/* The signed-note example quoted in ../shared/vectors/README.md (C2SP signed-note v1.0.0). */
TEST(spec_example)
{
	struct note_verifier *v = NULL;
	struct str text;
	char *forged;
	CHECK(note_verifier_parse(example_vkey, strlen(example_vkey), &v) == 0);
	if (!v)
		return;
	CHECK_EQ_STR(note_verifier_name(v), "example.com/foo");
	CHECK(note_verifier_hash(v) == 0x530d903a);
	CHECK(note_open(example_note, strlen(example_note), v, &text) == 0);
	CHECK(text.len == 28 && !memcmp(text.p, "This is an example message.\n", 28));
	/* one changed byte of text, or of the signature, and it no longer verifies */
	forged = xstrdup(example_note);
	forged[0] = 't';
	CHECK(note_open(forged, strlen(forged), v, &text) == ERR_AUTH);
	forged[0] = 'T';
	forged[strlen(forged) - 10] ^= 1;
	CHECK(note_open(forged, strlen(forged), v, &text) != 0);
	free(forged);
	note_verifier_free(v);
}

/* The constants above are the ones in the shared README (when the vectors are here). */
TEST(readme_matches)
{
	char p[4096];
	struct buf b;
	const char *sig = strstr(example_note, "\xe2\x80\x94");
	snprintf(p, sizeof(p), "%s/README.md", test_vectors_dir());
	buf_init(&b, 1 << 20);
	if (buf_read_file(&b, p)) {
		printf("vectors skipped: '%s' not found\n", p);
		buf_release(&b);
		return;
	}
	CHECK(strstr(b.p, example_vkey) != NULL);
	CHECK(strstr(b.p, "This is an example message.\n\n") != NULL);
	CHECK(strstr(b.p, sig) != NULL);
	buf_release(&b);
}

TEST(sign_and_open)
{
	struct buf sk, vk, note;
	struct note_signer *s = NULL;
	struct note_verifier *v = NULL;
	struct str text;
	buf_init(&sk, 4096);
	buf_init(&vk, 4096);
	buf_init(&note, 4096);
	CHECK(note_key_generate("log.example", &sk, &vk) == 0);
	CHECK(note_signer_parse(sk.p, sk.len, &s) == 0);
	CHECK(note_verifier_parse(vk.p, vk.len, &v) == 0);
	CHECK(note_sign("log.example\n1\nAAAA\n", 19, s, &note) == 0);
	CHECK(note_open(note.p, note.len, v, &text) == 0);
	CHECK(note_sign("no newline", 10, s, &note) == ERR_PARSE);
	CHECK(note_open(example_note, strlen(example_note), v, &text) == ERR_AUTH);
	note_signer_free(s);
	note_verifier_free(v);
	buf_release(&sk);
	buf_release(&vk);
	buf_release(&note);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	RUN(spec_example);
	RUN(readme_matches);
	RUN(sign_and_open);
	return test_done();
}
