/* test_tlskey: the TLS key's signer over a socketpair (tlskey.h): it signs a TLS 1.3 server
 * CertificateVerify input with a TLS 1.3 scheme of its key (checked with the certificate's
 * public key) and refuses other schemes and digest lengths (and, for EdDSA, any other text,
 * length or context); its hello and the
 * front's key agree on the kind of key; a TLS 1.3 handshake with curl through http.c with
 * that key, the front holding no private key at all. */
#include <pthread.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gnutls/gnutls.h>

#include "buf.h"
#include "facility.h"
#include "http.h"
#include "test.h"
#include "tlskey.h"

static char root[] = "/tmp/sealroom-tlskey-XXXXXX";

struct signer {
	gnutls_privkey_t key;
	int fd, r;
};

static void *signer_fn(void *arg)
{
	struct signer *s = arg;
	s->r = tlskey_signer_run(s->key, s->fd);
	close(s->fd);
	return NULL;
}

static void input(unsigned char *p, size_t hash, const char *ctx)
{
	memset(p, 0x20, 64);
	memcpy(p + 64, ctx, strlen(ctx) + 1);
	for (size_t i = 0; i < hash; i++)
		p[64 + strlen(ctx) + 1 + i] = (unsigned char)(i * 7);
}

static int read_datum(const char *path, struct buf *b, gnutls_datum_t *d)
{
	buf_reset(b);
	if (buf_read_file(b, path))
		return -1;
	d->data = (unsigned char *)b->p;
	d->size = (unsigned)b->len;
	return 0;
}

static int answer(void *ctx, const struct http_req *rq, struct http_resp *rs)
{
	(void)ctx;
	(void)rq;
	rs->status = 200;
	rs->content_type = "text/plain";
	return buf_addstr(&rs->body, "signed elsewhere\n");
}

TEST(sign_only_tls13)
{
	char kp[400], cp[400], cmd[1200];
	struct buf kb, cb;
	gnutls_datum_t kd, cd, sig = {NULL, 0}, d;
	gnutls_privkey_t key = NULL;
	gnutls_pubkey_t pub = NULL;
	gnutls_x509_crt_t crt = NULL;
	struct signer s;
	struct tlskey *tk = NULL;
	pthread_t th;
	unsigned char in[200];
	int sp[2];
	const char *c13 = "TLS 1.3, server CertificateVerify";
	buf_init(&kb, 1 << 20);
	buf_init(&cb, 1 << 20);
	snprintf(kp, sizeof(kp), "%s/keys", root);
	CHECK(mkdir(kp, 0700) == 0 && facility_tls_make(root, "tlskey.test") == 0);
	snprintf(kp, sizeof(kp), "%s/keys/tls.key", root);
	snprintf(cp, sizeof(cp), "%s/keys/tls.crt", root);
	CHECK(read_datum(kp, &kb, &kd) == 0 && gnutls_privkey_init(&key) == 0 &&
	      gnutls_privkey_import_x509_raw(key, &kd, GNUTLS_X509_FMT_PEM, NULL, 0) == 0);
	CHECK(read_datum(cp, &cb, &cd) == 0 && gnutls_x509_crt_init(&crt) == 0 &&
	      gnutls_x509_crt_import(crt, &cd, GNUTLS_X509_FMT_PEM) == 0 && gnutls_pubkey_init(&pub) == 0 &&
	      gnutls_pubkey_import_x509(pub, crt, 0) == 0);
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sp) == 0);
	s.key = key;
	s.fd = sp[1];
	s.r = -99;
	CHECK(pthread_create(&th, NULL, signer_fn, &s) == 0);
	CHECK(tlskey_client_new(sp[0], &tk) == 0);
	if (!tk)
		return;
	CHECK(gnutls_privkey_get_pk_algorithm(tlskey_privkey(tk), NULL) == GNUTLS_PK_ECDSA);
	/* the server's CertificateVerify input through GnuTLS's own signing path (which gives an
	 * ECDSA key the digest): signed, and the certificate's key verifies it */
	for (size_t h = 32; h <= 48; h += 16) {
		input(in, h, c13);
		d = (gnutls_datum_t){in, (unsigned)(64 + strlen(c13) + 1 + h)};
		CHECK(tlskey_input_ok(in, d.size));
		CHECK(gnutls_privkey_sign_data2(tlskey_privkey(tk), GNUTLS_SIGN_ECDSA_SECP256R1_SHA256, 0, &d, &sig) == 0);
		CHECK(gnutls_pubkey_verify_data2(pub, GNUTLS_SIGN_ECDSA_SECP256R1_SHA256, 0, &d, &sig) >= 0);
		gnutls_free(sig.data);
		sig.data = NULL;
	}
	/* the input check (what an EdDSA key's signer applies) */
	input(in, 32, "TLS 1.3, client CertificateVerify");
	CHECK(!tlskey_input_ok(in, 64 + strlen(c13) + 1 + 32));
	input(in, 32, c13);
	for (unsigned len = 0; len < sizeof(in); len++) {
		if (len == 64 + strlen(c13) + 1 + 32 || len == 64 + strlen(c13) + 1 + 48)
			continue;
		CHECK(!tlskey_input_ok(in, len));
	}
	in[3] = 'x';
	CHECK(!tlskey_input_ok(in, 64 + strlen(c13) + 1 + 32));
	input(in, 32, c13);
	/* refused by the signer: a digest of the wrong length, schemes outside TLS 1.3 (PKCS#1
	 * v1.5, raw RSA, SHA-1), another key's scheme */
	CHECK(tlskey_digest_ok(GNUTLS_SIGN_ECDSA_SECP256R1_SHA256, 32) && !tlskey_digest_ok(GNUTLS_SIGN_ECDSA_SECP256R1_SHA256, 31));
	d = (gnutls_datum_t){in, 31};
	CHECK(gnutls_privkey_sign_hash2(tlskey_privkey(tk), GNUTLS_SIGN_ECDSA_SECP256R1_SHA256, 0, &d, &sig) < 0);
	d = (gnutls_datum_t){in, 20};
	CHECK(gnutls_privkey_sign_hash2(tlskey_privkey(tk), GNUTLS_SIGN_ECDSA_SHA1, 0, &d, &sig) < 0);
	d = (gnutls_datum_t){in, 32};
	CHECK(gnutls_privkey_sign_hash2(tlskey_privkey(tk), GNUTLS_SIGN_ECDSA_SECP256R1_SHA256, 0, &d, &sig) == 0);
	gnutls_free(sig.data);
	sig.data = NULL;
	CHECK(!tlskey_scheme_ok(GNUTLS_PK_ECDSA, GNUTLS_SIGN_RSA_PSS_RSAE_SHA256));
	CHECK(!tlskey_scheme_ok(GNUTLS_PK_RSA, GNUTLS_SIGN_RSA_SHA256)); /* PKCS#1 v1.5: TLS 1.2 only */
	CHECK(!tlskey_scheme_ok(GNUTLS_PK_RSA, GNUTLS_SIGN_RSA_RAW));
	CHECK(!tlskey_scheme_ok(GNUTLS_PK_ECDSA, GNUTLS_SIGN_ECDSA_SHA1));
	CHECK(tlskey_scheme_ok(GNUTLS_PK_RSA, GNUTLS_SIGN_RSA_PSS_RSAE_SHA256));
	CHECK(tlskey_scheme_ok(GNUTLS_PK_EDDSA_ED25519, GNUTLS_SIGN_EDDSA_ED25519));
	/* a TLS 1.3 handshake through http.c with the key that signs elsewhere */
	{
		struct http_opts o = {0};
		struct http_server *srv = NULL;
		FILE *p;
		char got[64] = "";
		o.listen = "127.0.0.1:0";
		o.cert_file = cp;
		o.tls_key = tlskey_privkey(tk);
		o.threads = 2;
		CHECK(http_start(&o, answer, NULL, &srv) == 0);
		if (srv) {
			snprintf(cmd, sizeof(cmd), "curl -sk --tlsv1.3 --max-time 10 https://127.0.0.1:%u/", http_port(srv));
			p = popen(cmd, "r");
			if (p) {
				if (!fgets(got, sizeof(got), p))
					got[0] = 0;
				pclose(p);
			}
			CHECK(!strcmp(got, "signed elsewhere\n"));
			snprintf(cmd, sizeof(cmd), "curl -sk --tls-max 1.2 --max-time 10 -o /dev/null https://127.0.0.1:%u/",
				 http_port(srv));
			CHECK(system(cmd) != 0);
			http_stop(srv);
		}
	}
	tlskey_free(tk); /* closes the front's end: the signer's loop ends cleanly */
	pthread_join(th, NULL);
	CHECK(s.r == 0);
	gnutls_pubkey_deinit(pub);
	gnutls_x509_crt_deinit(crt);
	gnutls_privkey_deinit(key);
	buf_release(&kb);
	buf_release(&cb);
}

int main(void)
{
	char cmd[400];
	if (!mkdtemp(root))
		return 1;
	RUN(sign_only_tls13);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	if (system(cmd))
		return 1;
	return test_done();
}
