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
	{
		/* the key hash (530d903a) is what the note's signature is found by: a verifier
		 * line with another hash is refused, or opens nothing */
		struct note_verifier *w = NULL;
		char other[sizeof(example_vkey)];
		struct str t2;
		memcpy(other, example_vkey, sizeof(other));
		other[strlen("example.com/foo+530d903")] = 'b';
		CHECK(note_verifier_parse(other, strlen(other), &w) != 0 ||
		      note_open(example_note, strlen(example_note), w, &t2) != 0);
		note_verifier_free(w);
	}
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

TEST(wrap_keys)
{
	struct buf sk, pk, again, name;
	struct note_wrapper *w = NULL, *w2 = NULL;
	unsigned char raw[32], scal[32];
	buf_init(&sk, 4096);
	buf_init(&pk, 4096);
	buf_init(&again, 4096);
	buf_init(&name, 4096);
	CHECK(note_wrap_generate("a+b", &sk, &pk) == ERR_USAGE);
	CHECK(note_wrap_generate("acme.example", &sk, &pk) == 0);
	CHECK(strncmp(sk.p, "PRIVATE+WRAP+acme.example+", 26) == 0);
	CHECK(note_wrapper_parse(sk.p, sk.len, &w) == 0);
	CHECK(note_wrapper_pkey(w, &again) == 0);
	CHECK_EQ_STR(again.p, pk.p);
	CHECK(note_wrap_public_parse(pk.p, pk.len, raw, &name) == 0);
	CHECK_EQ_STR(name.p, "acme.example");
	CHECK(memcmp(raw, note_wrapper_public(w), 32) == 0);
	/* the public key is the X25519 base-point multiple of the secret (libsodium as oracle) */
	CHECK(crypto_scalarmult_base(scal, note_wrapper_secret(w)) == 0 && memcmp(scal, raw, 32) == 0);
	/* a signing key line is not a wrapping key and the reverse */
	{
		struct buf ssk, svk;
		struct note_verifier *v = NULL;
		buf_init(&ssk, 4096);
		buf_init(&svk, 4096);
		CHECK(note_key_generate("acme.example", &ssk, &svk) == 0);
		CHECK(note_wrap_public_parse(svk.p, svk.len, raw, NULL) == ERR_PARSE);
		CHECK(note_wrapper_parse(ssk.p, ssk.len, &w2) == ERR_PARSE);
		CHECK(note_verifier_parse(pk.p, pk.len, &v) == ERR_PARSE);
		buf_release(&ssk);
		buf_release(&svk);
	}
	/* a changed name or key no longer matches the hash */
	{
		char *p = strchr(pk.p, '+');
		p[-1] = p[-1] == 'e' ? 'f' : 'e';
		CHECK(note_wrap_public_parse(pk.p, pk.len, raw, NULL) == ERR_CORRUPT);
		p[-1] = 'e';
		sk.p[13] = sk.p[13] == 'a' ? 'b' : 'a';
		CHECK(note_wrapper_parse(sk.p, sk.len, &w2) == ERR_CORRUPT && w2 == NULL);
	}
	CHECK(note_wrapper_parse("PRIVATE+WRAP+a+00000000+AAAA", 28, &w2) == ERR_PARSE);
	note_wrapper_free(w);
	buf_release(&sk);
	buf_release(&pk);
	buf_release(&again);
	buf_release(&name);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	RUN(spec_example);
	RUN(readme_matches);
	RUN(sign_and_open);
	RUN(wrap_keys);
	return test_done();
}
