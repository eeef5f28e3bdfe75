/* Unit tests: dsse (PAE, Ed25519 envelopes, parsing hostile envelopes, in-toto Statement v1). */
#include <stdio.h>
#include <stdlib.h>

#include "dsse.h"
#include "test.h"

static struct note_signer *key(const char *name)
{
	struct buf sk, vk;
	struct note_signer *s = NULL;
	buf_init(&sk, 0);
	buf_init(&vk, 0);
	if (note_key_generate(name, &sk, &vk) || note_signer_parse(sk.p, sk.len, &s))
		abort();
	buf_release(&sk);
	buf_release(&vk);
	return s;
}

/* The DSSE specification's example of the encoding. */
TEST(pae_spec_example)
{
	struct buf b;
	buf_init(&b, 0);
	CHECK(dsse_pae(&b, "http://example.com/HelloWorld", 29, "hello world", 11) == 0);
	CHECK_EQ_STR(b.p, "DSSEv1 29 http://example.com/HelloWorld 11 hello world");
	buf_reset(&b);
	CHECK(dsse_pae(&b, "t", 1, "", 0) == 0);
	CHECK_EQ_STR(b.p, "DSSEv1 1 t 0 ");
	buf_release(&b);
}

/* Lengths count bytes (not characters), so a body holding spaces or digits cannot shift. */
TEST(pae_is_unambiguous)
{
	struct buf a, b;
	buf_init(&a, 0);
	buf_init(&b, 0);
	CHECK(dsse_pae(&a, "a 1 b", 5, "c", 1) == 0);
	CHECK(dsse_pae(&b, "a", 1, "b 1 c", 5) == 0);
	CHECK(a.len == b.len && memcmp(a.p, b.p, a.len));
	buf_release(&a);
	buf_release(&b);
}

TEST(sign_encode_parse_verify)
{
	struct note_signer *s1 = key("lab"), *s2 = key("vendor"), *s3 = key("other");
	struct dsse *e, *p;
	struct buf j;
	size_t n;
	const unsigned char *pl;
	buf_init(&j, 0);
	CHECK(dsse_new("application/vnd.in-toto+json", "{\"a\":1}", 7, &e) == 0);
	CHECK(dsse_verify(e, note_signer_public(s1)) == ERR_AUTH);
	CHECK(dsse_sign(e, s1) == 0);
	CHECK(dsse_sign(e, s1) == ERR_EXISTS);
	CHECK(dsse_sign(e, s2) == 0);
	CHECK(dsse_encode(e, &j) == 0);
	CHECK(strstr(j.p, "\"payload\":\"eyJhIjoxfQ==\"") != NULL);
	CHECK(dsse_parse(j.p, j.len, &p) == 0);
	CHECK_EQ_STR(dsse_payload_type(p), "application/vnd.in-toto+json");
	pl = dsse_payload(p, &n);
	CHECK(n == 7 && !memcmp(pl, "{\"a\":1}", 7));
	CHECK(dsse_n_sigs(p) == 2);
	CHECK(dsse_verify(p, note_signer_public(s1)) == 0);
	CHECK(dsse_verify(p, note_signer_public(s2)) == 0);
	CHECK(dsse_verify(p, note_signer_public(s3)) == ERR_AUTH);
	{
		char kid[DSSE_KEYID_LEN + 1];
		dsse_keyid(note_signer_public(s1), kid);
		struct buf j2;
		char want[DSSE_KEYID_LEN + 16];
		/* the parsed envelope keeps each signature's keyid: encoded again, it names them */
		buf_init(&j2, 0);
		snprintf(want, sizeof(want), "\"keyid\":\"%s\"", kid);
		CHECK(strstr(j.p, want) != NULL);
		CHECK(dsse_encode(p, &j2) == 0 && strstr(j2.p, want) != NULL);
		buf_release(&j2);
	}
	dsse_free(p);
	dsse_free(e);
	buf_release(&j);
	note_signer_free(s1);
	note_signer_free(s2);
	note_signer_free(s3);
}

/* Replace the first occurrence of from in s by to (same buffer, fresh copy returned). */
static char *subst(const char *s, const char *from, const char *to)
{
	const char *at = strstr(s, from);
	size_t n;
	char *o;
	if (!at)
		abort();
	n = strlen(s) - strlen(from) + strlen(to);
	o = xmalloc(n + 1);
	memcpy(o, s, (size_t)(at - s));
	memcpy(o + (at - s), to, strlen(to));
	memcpy(o + (at - s) + strlen(to), at + strlen(from), strlen(at + strlen(from)) + 1);
	return o;
}

/* Whatever is changed of the signed parts, the signature fails. */
TEST(tampering_fails)
{
	struct note_signer *s = key("lab");
	struct dsse *e, *p;
	struct buf j;
	char *t;
	buf_init(&j, 0);
	CHECK(dsse_new("text/plain", "hello", 5, &e) == 0);
	CHECK(dsse_sign(e, s) == 0);
	CHECK(dsse_encode(e, &j) == 0);
	/* another payload (base64 of "hellp") */
	t = subst(j.p, "aGVsbG8=", "aGVsbHA=");
	CHECK(dsse_parse(t, strlen(t), &p) == 0);
	CHECK(dsse_verify(p, note_signer_public(s)) == ERR_AUTH);
	dsse_free(p);
	free(t);
	/* another payload type */
	t = subst(j.p, "text/plain", "text/plaim");
	CHECK(dsse_parse(t, strlen(t), &p) == 0);
	CHECK(dsse_verify(p, note_signer_public(s)) == ERR_AUTH);
	dsse_free(p);
	free(t);
	/* a keyid that names another key: the signature is not even tried */
	t = subst(j.p, "\"keyid\":\"", "\"keyid\":\"0");
	CHECK(dsse_parse(t, strlen(t), &p) == 0);
	CHECK(dsse_verify(p, note_signer_public(s)) == ERR_AUTH);
	dsse_free(p);
	free(t);
	/* no keyid at all: the hint is optional, the signature still verifies */
	{
		struct dsse *q;
		struct buf k;
		char kid[DSSE_KEYID_LEN + 1];
		char *from = xmalloc(DSSE_KEYID_LEN + 16);
		dsse_keyid(note_signer_public(s), kid);
		buf_init(&k, 0);
		snprintf(from, strlen(kid) + 16, "\"keyid\":\"%s\",", kid);
		t = subst(j.p, from, "");
		CHECK(dsse_parse(t, strlen(t), &q) == 0);
		CHECK(dsse_verify(q, note_signer_public(s)) == 0);
		dsse_free(q);
		free(t);
		free(from);
		buf_release(&k);
	}
	dsse_free(e);
	buf_release(&j);
	note_signer_free(s);
}

TEST(url_safe_and_unpadded_payloads)
{
	static const char env[] =
		"{\"payloadType\":\"x/y\",\"payload\":\"-_8\",\"signatures\":[]}";
	struct dsse *p;
	size_t n;
	const unsigned char *pl;
	CHECK(dsse_parse(env, strlen(env), &p) == 0);
	pl = dsse_payload(p, &n);
	CHECK(n == 2 && pl[0] == 0xfb && pl[1] == 0xff);
	dsse_free(p);
}

TEST(hostile_envelopes)
{
	static const char *const bad[] = {
		"",
		"[]",
		"{\"payloadType\":\"x/y\",\"payload\":\"aGk=\"}",
		"{\"payloadType\":\"x/y\",\"payload\":\"aGk=\",\"signatures\":{}}",
		"{\"payloadType\":\"x/y\",\"payload\":\"a Gk=\",\"signatures\":[]}",
		"{\"payloadType\":\"x/y\",\"payload\":\"aGk=\",\"payload\":\"aGk=\",\"signatures\":[]}",
		"{\"payloadType\":\"x y\",\"payload\":\"aGk=\",\"signatures\":[]}",
		"{\"payloadType\":\"\",\"payload\":\"aGk=\",\"signatures\":[]}",
		"{\"payloadType\":7,\"payload\":\"aGk=\",\"signatures\":[]}",
		"{\"payloadType\":\"x/y\",\"payload\":\"aGk=\",\"signatures\":[7]}",
		"{\"payloadType\":\"x/y\",\"payload\":\"aGk=\",\"signatures\":[{\"keyid\":1,\"sig\":\"\"}]}",
		"{\"payloadType\":\"x/y\",\"payload\":\"aGk=\",\"signatures\":[{\"sig\":\"aGk=\"}]}",
		"{\"payloadType\":\"x/y\",\"payload\":\"aGk=\",\"signatures\":[{\"keyid\":\"\"}]}",
	};
	struct dsse *p;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		p = NULL;
		CHECK(dsse_parse(bad[i], strlen(bad[i]), &p) == ERR_PARSE);
		CHECK(p == NULL);
		CHECK(strncmp(err_msg(), "dsse: ", 6) == 0);
	}
}

/* DSSE_MAX_SIGS signatures parse; one more is refused. */
TEST(signature_count_limit)
{
	struct buf j;
	struct dsse *p;
	unsigned char zero[64] = {0};
	buf_init(&j, 0);
	for (int n = DSSE_MAX_SIGS; n <= DSSE_MAX_SIGS + 1; n++) {
		buf_reset(&j);
		CHECK(buf_addstr(&j, "{\"payloadType\":\"x/y\",\"payload\":\"\",\"signatures\":[") == 0);
		for (int i = 0; i < n; i++) {
			CHECK(buf_addstr(&j, i ? ",{\"sig\":\"" : "{\"sig\":\"") == 0);
			CHECK(buf_addb64(&j, zero, 64) == 0);
			CHECK(buf_addstr(&j, "\"}") == 0);
		}
		CHECK(buf_addstr(&j, "]}") == 0);
		p = NULL;
		CHECK(dsse_parse(j.p, j.len, &p) == (n == DSSE_MAX_SIGS ? 0 : ERR_TOOBIG));
		CHECK((p != NULL) == (n == DSSE_MAX_SIGS));
		dsse_free(p);
	}
	{
		struct dsse *e;
		CHECK(dsse_new("x/y", "", 0, &e) == 0);
		for (int i = 0; i < DSSE_MAX_SIGS; i++)
			CHECK(dsse_add_sig(e, "", zero) == 0);
		CHECK(dsse_add_sig(e, "", zero) == ERR_TOOBIG);
		dsse_free(e);
	}
	buf_release(&j);
}

TEST(new_refuses_bad_types)
{
	struct dsse *e;
	CHECK(dsse_new("", "", 0, &e) == ERR_USAGE && !e);
	CHECK(dsse_new("a b", "", 0, &e) == ERR_USAGE && !e);
	CHECK(dsse_new("a\n", "", 0, &e) == ERR_USAGE && !e);
}

static const char tree[] = "4b825dc642cb6eb9a060e54bf8d69288fbee49044b825dc642cb6eb9a060e54b";

TEST(statement_build_parse)
{
	struct intoto_digest d = {"gitTree", tree};
	struct intoto_subject sub = {"acme@1.0", &d, 1};
	json_t *pred = json_pack("{s:s}", "lab", "evalco"), *st;
	struct buf b;
	buf_init(&b, 0);
	CHECK(intoto_statement(&sub, 1, "https://sealroom.dev/review/v1", pred, &b) == 0);
	CHECK_EQ_STR(b.p, "{\"_type\":\"https://in-toto.io/Statement/v1\",\"predicate\":{\"lab\":"
			  "\"evalco\"},\"predicateType\":\"https://sealroom.dev/review/v1\",\"subject\":"
			  "[{\"digest\":{\"gitTree\":\"4b825dc642cb6eb9a060e54bf8d69288fbee49044b825dc6"
			  "42cb6eb9a060e54b\"},\"name\":\"acme@1.0\"}]}");
	CHECK(intoto_parse(b.p, b.len, &st) == 0);
	CHECK(intoto_has_subject(st, "gitTree", tree) == 1);
	CHECK(intoto_has_subject(st, "gitTree", "00") == 0);
	CHECK(intoto_has_subject(st, "sha256", tree) == 0);
	json_decref(st);
	CHECK(intoto_statement(&sub, 0, "https://x/y", pred, &b) == ERR_USAGE);
	CHECK(intoto_statement(&sub, 1, "not a uri", pred, &b) == ERR_USAGE);
	d.hex = "ABC";
	CHECK(intoto_statement(&sub, 1, "https://x/y", pred, &b) == ERR_USAGE);
	json_decref(pred);
	buf_release(&b);
}

TEST(statement_hostile)
{
	static const char *const bad[] = {
		"{}",
		"[1]",
		"{\"_type\":\"https://in-toto.io/Statement/v0.1\",\"subject\":[{\"name\":\"a\","
		"\"digest\":{\"sha256\":\"4b825dc642cb6eb9a060e54bf8d69288fbee4904\"}}],"
		"\"predicateType\":\"x:y\",\"predicate\":{}}",
		"{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":[],"
		"\"predicateType\":\"x:y\",\"predicate\":{}}",
		"{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":[{\"name\":\"a\","
		"\"digest\":{\"sha256\":\"zz\"}}],\"predicateType\":\"x:y\",\"predicate\":{}}",
		"{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":[{\"name\":\"a\","
		"\"digest\":{}}],\"predicateType\":\"x:y\",\"predicate\":{}}",
		"{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":[{\"name\":\"a\","
		"\"digest\":{\"sha256\":\"4b825dc642cb6eb9a060e54bf8d69288fbee4904\"}}],"
		"\"predicateType\":\"x:y\",\"predicate\":[]}",
		"{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":[{\"name\":\"a\","
		"\"digest\":{\"sha256\":\"4b825dc642cb6eb9a060e54bf8d69288fbee4904\"}}],"
		"\"predicate\":{}}",
	};
	json_t *st;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		st = NULL;
		CHECK(intoto_parse(bad[i], strlen(bad[i]), &st) == ERR_PARSE);
		CHECK(st == NULL);
	}
}

int main(void)
{
	RUN(pae_spec_example);
	RUN(pae_is_unambiguous);
	RUN(sign_encode_parse_verify);
	RUN(tampering_fails);
	RUN(url_safe_and_unpadded_payloads);
	RUN(hostile_envelopes);
	RUN(signature_count_limit);
	RUN(new_refuses_bad_types);
	RUN(statement_build_parse);
	RUN(statement_hostile);
	return test_done();
}
