/* tlskey: the TLS key's signer and the front's key that asks it; see tlskey.h. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <sodium.h>

#include "buf.h"
#include "sandbox.h"
#include "tlskey.h"
#include "wire.h"

#define PEM_MAX ((size_t)1 << 20)

static const char context[] = "TLS 1.3, server CertificateVerify";

int tlskey_input_ok(const unsigned char *p, size_t len)
{
	size_t head = 64 + sizeof(context); /* the spaces, the context and its zero byte */
	if (len != head + 32 && len != head + 48)
		return 0;
	for (size_t i = 0; i < 64; i++)
		if (p[i] != 0x20)
			return 0;
	return !memcmp(p + 64, context, sizeof(context));
}

int tlskey_digest_ok(unsigned sign, size_t len)
{
	gnutls_digest_algorithm_t h = gnutls_sign_get_hash_algorithm((gnutls_sign_algorithm_t)sign);
	return h != GNUTLS_DIG_UNKNOWN && len == gnutls_hash_get_len(h);
}

int tlskey_scheme_ok(unsigned pk, unsigned sign)
{
	switch (sign) {
	case GNUTLS_SIGN_ECDSA_SECP256R1_SHA256:
	case GNUTLS_SIGN_ECDSA_SECP384R1_SHA384:
	case GNUTLS_SIGN_ECDSA_SECP521R1_SHA512:
		return pk == GNUTLS_PK_ECDSA;
	case GNUTLS_SIGN_RSA_PSS_RSAE_SHA256:
	case GNUTLS_SIGN_RSA_PSS_RSAE_SHA384:
	case GNUTLS_SIGN_RSA_PSS_RSAE_SHA512:
		return pk == GNUTLS_PK_RSA;
	case GNUTLS_SIGN_RSA_PSS_SHA256:
	case GNUTLS_SIGN_RSA_PSS_SHA384:
	case GNUTLS_SIGN_RSA_PSS_SHA512:
		return pk == GNUTLS_PK_RSA_PSS;
	case GNUTLS_SIGN_EDDSA_ED25519:
		return pk == GNUTLS_PK_EDDSA_ED25519;
	case GNUTLS_SIGN_EDDSA_ED448:
		return pk == GNUTLS_PK_EDDSA_ED448;
	default:
		return 0;
	}
}

/* ---- the front's side ---- */

struct tlskey {
	int fd;
	unsigned pk, bits;
	pthread_mutex_t mu;
	gnutls_privkey_t key;
};

/*
 * Ask the signer: one request, one answer (under k->mu). GnuTLS hands over the message for
 * EdDSA keys (sign_data) and its digest for the others (sign_hash); the signer knows which
 * its key takes. GNUTLS_E_* for GnuTLS.
 */
static int sign_data(gnutls_privkey_t key, gnutls_sign_algorithm_t algo, void *userdata, unsigned int flags,
		     const gnutls_datum_t *data, gnutls_datum_t *sig)
{
	struct tlskey *k = userdata;
	struct buf m;
	const unsigned char *s;
	size_t n;
	int ok = 0, r;
	(void)key;
	(void)flags;
	buf_init(&m, WIRE_SIGN_MSG_MAX + 16);
	pthread_mutex_lock(&k->mu);
	r = wire_sign_encode((unsigned)algo, data->data, data->size, &m);
	if (!r)
		r = wire_send(k->fd, m.p, m.len);
	if (!r)
		r = wire_recv(k->fd, &m, WIRE_SIGN_MSG_MAX);
	pthread_mutex_unlock(&k->mu);
	if (!r)
		r = wire_signed_decode(m.p, m.len, &ok, &s, &n);
	if (r || !ok || !n) {
		buf_release(&m);
		return GNUTLS_E_PK_SIGN_FAILED;
	}
	sig->data = gnutls_malloc(n);
	if (!sig->data) {
		buf_release(&m);
		return GNUTLS_E_MEMORY_ERROR;
	}
	memcpy(sig->data, s, n);
	sig->size = (unsigned)n;
	buf_release(&m);
	return 0;
}

static int info(gnutls_privkey_t key, unsigned int flags, void *userdata)
{
	struct tlskey *k = userdata;
	(void)key;
	if (flags & GNUTLS_PRIVKEY_INFO_PK_ALGO)
		return (int)k->pk;
	if (flags & GNUTLS_PRIVKEY_INFO_PK_ALGO_BITS)
		return (int)k->bits;
	if (flags & GNUTLS_PRIVKEY_INFO_HAVE_SIGN_ALGO)
		return tlskey_scheme_ok(k->pk, GNUTLS_FLAGS_TO_SIGN_ALGO(flags));
	if (flags & GNUTLS_PRIVKEY_INFO_SIGN_ALGO)
		return 0;
	return -1;
}

int tlskey_client_new(int fd, struct tlskey **out)
{
	struct tlskey *k = xcalloc(1, sizeof(*k));
	struct buf m;
	int r;
	*out = NULL;
	k->fd = fd;
	pthread_mutex_init(&k->mu, NULL);
	buf_init(&m, WIRE_SIGN_MSG_MAX + 16);
	if ((r = wire_recv(fd, &m, WIRE_SIGN_MSG_MAX))) {
		r = err_set(ERR_IO, "the TLS key's signer stopped before it said which key it holds");
		goto fail;
	}
	if (m.len >= 4 && !memcmp(m.p, "SRe1", 4)) {
		/* the signer's one-line error, printable bytes only */
		for (size_t i = 4; i < m.len; i++)
			if ((unsigned char)m.p[i] < 0x20 || (unsigned char)m.p[i] == 0x7f)
				m.p[i] = '?';
		r = err_set(ERR_PARSE, "%.*s", (int)(m.len - 4), m.p + 4);
		goto fail;
	}
	if ((r = wire_hello_decode(m.p, m.len, &k->pk, &k->bits)))
		goto fail;
	if (gnutls_privkey_init(&k->key) < 0 ||
	    gnutls_privkey_import_ext4(k->key, k, sign_data, sign_data, NULL, NULL, info, 0) < 0) {
		r = err_set(ERR_IO, "cannot make the front's TLS key");
		goto fail;
	}
	buf_release(&m);
	*out = k;
	return 0;
fail:
	buf_release(&m);
	tlskey_free(k);
	return r;
}

gnutls_privkey_t tlskey_privkey(struct tlskey *k)
{
	return k->key;
}

void tlskey_free(struct tlskey *k)
{
	if (!k)
		return;
	if (k->key)
		gnutls_privkey_deinit(k->key);
	if (k->fd >= 0)
		close(k->fd);
	pthread_mutex_destroy(&k->mu);
	free(k);
}

/* ---- the signer ---- */

int tlskey_signer_run(gnutls_privkey_t key, int fd)
{
	struct buf in, out;
	unsigned bits = 0;
	int pk = gnutls_privkey_get_pk_algorithm(key, &bits), r;
	buf_init(&in, WIRE_SIGN_MSG_MAX + 16);
	buf_init(&out, WIRE_SIGN_MSG_MAX + 16);
	if (pk < 0) {
		r = err_set(ERR_PARSE, "the TLS key is of no known kind");
		goto out;
	}
	if ((r = wire_hello_encode((unsigned)pk, bits, &out)) || (r = wire_send(fd, out.p, out.len)))
		goto out;
	while (!(r = wire_recv(fd, &in, WIRE_SIGN_MSG_MAX))) {
		const unsigned char *p;
		size_t n;
		unsigned algo = 0;
		gnutls_datum_t d, sig = {NULL, 0};
		int eddsa = pk == GNUTLS_PK_EDDSA_ED25519 || pk == GNUTLS_PK_EDDSA_ED448;
		int ok = !wire_sign_decode(in.p, in.len, &algo, &p, &n) && tlskey_scheme_ok((unsigned)pk, algo) &&
			 (eddsa ? tlskey_input_ok(p, n) : tlskey_digest_ok(algo, n));
		if (ok) {
			d.data = (unsigned char *)p;
			d.size = (unsigned)n;
			ok = (eddsa ? gnutls_privkey_sign_data2(key, (gnutls_sign_algorithm_t)algo, 0, &d, &sig)
				    : gnutls_privkey_sign_hash2(key, (gnutls_sign_algorithm_t)algo, 0, &d, &sig)) == 0 &&
			     sig.size <= WIRE_SIGNATURE_MAX;
		} else {
			fprintf(stderr, "sealroom serve: the TLS key's signer refused a request that is not a "
					"TLS 1.3 handshake signature\n");
		}
		buf_reset(&out);
		r = wire_signed_encode(ok, sig.data, ok ? sig.size : 0, &out);
		gnutls_free(sig.data);
		if (r || (r = wire_send(fd, out.p, out.len)))
			break;
	}
	if (r == ERR_NOTFOUND) /* the front closed its end */
		r = 0;
out:
	buf_release(&in);
	buf_release(&out);
	return r;
}

/* Read the key and certificate, check that they belong together; *key for signing. */
static int load(const char *key_file, const char *cert_file, gnutls_privkey_t *key)
{
	struct buf k, c;
	gnutls_certificate_credentials_t cr = NULL;
	gnutls_datum_t kd, cd;
	int r = 0, e;
	buf_init(&k, PEM_MAX);
	buf_init(&c, PEM_MAX);
	*key = NULL;
	if ((r = buf_read_file(&k, key_file)) || (r = buf_read_file(&c, cert_file)))
		goto out;
	kd = (gnutls_datum_t){(unsigned char *)k.p, (unsigned)k.len};
	cd = (gnutls_datum_t){(unsigned char *)c.p, (unsigned)c.len};
	if (gnutls_certificate_allocate_credentials(&cr) < 0) {
		r = err_set(ERR_IO, "cannot allocate TLS credentials");
		goto out;
	}
	if ((e = gnutls_certificate_set_x509_key_mem(cr, &cd, &kd, GNUTLS_X509_FMT_PEM)) < 0) {
		r = err_set(ERR_PARSE, "'%s' and '%s' are not a PEM certificate and its key: %s", cert_file, key_file,
			    gnutls_strerror(e));
		goto out;
	}
	if (gnutls_privkey_init(key) < 0 ||
	    (e = gnutls_privkey_import_x509_raw(*key, &kd, GNUTLS_X509_FMT_PEM, NULL, 0)) < 0) {
		r = err_set(ERR_PARSE, "'%s' is not a PEM private key", key_file);
		goto out;
	}
out:
	if (cr)
		gnutls_certificate_free_credentials(cr);
	if (r && *key) {
		gnutls_privkey_deinit(*key);
		*key = NULL;
	}
	if (k.cap)
		sodium_memzero(k.p, k.cap);
	buf_release(&k);
	buf_release(&c);
	return r;
}

int tlskey_signer_exec(int argc, char **argv)
{
	const char *none[] = {NULL};
	gnutls_privkey_t key = NULL;
	uid_t uid = 0;
	gid_t gid = 0;
	int r, ll = 0, root = 0;
	if (argc != 4) {
		fputs("sealroom: the signer takes its options from serve\n", stderr);
		_exit(2);
	}
	if ((r = sandbox_nodump()) || (r = sandbox_no_new_privs()) || (r = sandbox_front_user(&uid, &gid)) ||
	    (r = load(argv[2], argv[3], &key)) || (r = sandbox_empty_root_prepare()) ||
	    (r = sandbox_landlock(none, &ll)) || (r = sandbox_empty_root(&root)) ||
	    (r = sandbox_drop_user(uid, gid)) || (r = sandbox_seccomp_front())) {
		struct buf m;
		buf_init(&m, WIRE_SIGN_MSG_MAX);
		if (!buf_add(&m, "SRe1", 4) && !buf_addstr(&m, err_msg()))
			(void)!wire_send(TLSKEY_SIGNER_FD, m.p, m.len);
		_exit(1);
	}
	r = tlskey_signer_run(key, TLSKEY_SIGNER_FD);
	gnutls_privkey_deinit(key);
	_exit(r ? 1 : 0);
}
