/* Unit tests: certificate (make, countersign, verify; every way verify must fail). */
#include "certificate.h"
#include "dsse.h"
#include "tlog.h"
#include "test.h"

static const char tree[] = "765dd2a1ba90d4ddb2a1ee7788c4c35b61de91217b554e82342ac05072c09340";

static struct note_signer *key(const char *name, struct note_verifier **v)
{
	struct buf sk, vk;
	struct note_signer *s;
	buf_init(&sk, 0);
	buf_init(&vk, 0);
	if (note_key_generate(name, &sk, &vk) || note_signer_parse(sk.p, sk.len, &s) ||
	    (v && note_verifier_parse(vk.p, vk.len, v)))
		abort();
	buf_release(&sk);
	buf_release(&vk);
	return s;
}

TEST(make_countersign_verify)
{
	struct note_verifier *logv, *otherv;
	struct note_signer *lab = key("lab", NULL), *vendor = key("vendor", NULL), *log = key("log", &logv),
			   *other = key("other", &otherv);
	unsigned char root[TLOG_HASH_LEN] = {7};
	struct buf body, cp, c1, c2;
	json_t *revs = json_pack("[s]", "rita"), *scope = json_pack("{s:I}", "files_shown", (json_int_t)3),
	       *fnd = json_pack("{s:I}", "total", (json_int_t)0);
	struct certificate_verified res;
	buf_init(&body, 0);
	buf_init(&cp, 0);
	buf_init(&c1, 0);
	buf_init(&c2, 0);
	CHECK(tlog_checkpoint_format(&body, "room.test", 42, root) == 0 && note_sign(body.p, body.len, log, &cp) == 0);
	{
		struct certificate_in in = {"fw", "1", tree, "0cb21104a6683affb7c9cf91bee76435ca260246", "evallab",
					    revs, scope, fnd, cp.p, 100, 200, 300};
		CHECK(certificate_make(&in, lab, &c1) == 0);
	}
	CHECK(certificate_verify(c1.p, c1.len, note_signer_public(lab), note_signer_public(vendor), NULL, NULL, &res) == ERR_AUTH);
	CHECK(strstr(err_msg(), "no countersignature") != NULL);
	CHECK(certificate_countersign(c1.p, c1.len, vendor, &c2) == 0);
	CHECK(certificate_verify(c2.p, c2.len, note_signer_public(lab), note_signer_public(vendor), logv, tree, &res) == 0);
	CHECK(res.log_checked && res.log_size == 42 && !strcmp(res.release, "fw@1") && !strcmp(res.lab, "evallab"));
	CHECK(certificate_verify(c2.p, c2.len, note_signer_public(lab), note_signer_public(vendor), otherv, NULL, &res) == ERR_AUTH);
	CHECK(certificate_verify(c2.p, c2.len, note_signer_public(other), note_signer_public(vendor), NULL, NULL, &res) == ERR_AUTH);
	CHECK(certificate_verify(c2.p, c2.len, note_signer_public(lab), note_signer_public(lab), NULL, NULL, &res) == ERR_AUTH);
	CHECK(certificate_verify(c2.p, c2.len, note_signer_public(lab), note_signer_public(vendor), NULL,
				 "0000000000000000000000000000000000000000000000000000000000000000", &res) == ERR_AUTH);
	/* a flipped byte anywhere in the payload */
	{
		char *t = xstrdup(c2.p), *pl = strstr(t, "\"payload\":\"") + 11;
		pl[20] = pl[20] == 'A' ? 'B' : 'A';
		CHECK(certificate_verify(t, strlen(t), note_signer_public(lab), note_signer_public(vendor), NULL, NULL, &res) != 0);
		free(t);
	}
	/* the countersignature alone (the lab's dropped) */
	{
		struct dsse *e, *only;
		struct buf b;
		const unsigned char *p;
		size_t n;
		buf_init(&b, 0);
		CHECK(dsse_parse(c2.p, c2.len, &e) == 0);
		p = dsse_payload(e, &n);
		CHECK(dsse_new(dsse_payload_type(e), p, n, &only) == 0 && dsse_sign(only, vendor) == 0 &&
		      dsse_encode(only, &b) == 0);
		CHECK(certificate_verify(b.p, b.len, note_signer_public(lab), note_signer_public(vendor), NULL, NULL, &res) == ERR_AUTH);
		dsse_free(e);
		dsse_free(only);
		buf_release(&b);
	}
	json_decref(revs);
	json_decref(scope);
	json_decref(fnd);
	buf_release(&body);
	buf_release(&cp);
	buf_release(&c1);
	buf_release(&c2);
	note_signer_free(lab);
	note_signer_free(vendor);
	note_signer_free(log);
	note_signer_free(other);
	note_verifier_free(logv);
	note_verifier_free(otherv);
}

int main(void)
{
	RUN(make_countersign_verify);
	return test_done();
}
