/*
 * tlskey: the TLS private key in a process of its own, in the manner of relayd's `ca`: the
 * network front never holds it.
 *
 * The signer (tlskey_signer_exec: a fresh image of this program, started by split.c with
 * its socket as fd TLSKEY_SIGNER_FD) reads the certificate and its key, checks that they
 * belong together, drops to the front's account in an empty root under the front's seccomp
 * filter, says which kind of key it holds (wire.h's hello, or "SRe1" and a one-line error
 * when it cannot start) and then answers sign requests (wire.h) one at a time. It signs
 * with a TLS 1.3 signature scheme of its key only (tlskey_scheme_ok: ECDSA with its hash,
 * RSA-PSS, EdDSA; never RSA PKCS#1 v1.5 or raw RSA, so no TLS 1.2 RSA signature, key
 * exchange or certificate signature of that kind). What it can check of the text depends
 * on the key: GnuTLS hands an external EdDSA key the message, which must be a TLS 1.3
 * server's CertificateVerify input (64 spaces, "TLS 1.3, server CertificateVerify", a zero
 * byte, a transcript hash of 32 or 48 bytes: tlskey_input_ok), but an ECDSA or RSA-PSS key
 * only its digest, which must have the scheme's hash length (tlskey_digest_ok) and can be
 * of anything. A front taken over can therefore make the signer sign while the server runs
 * (with an ECDSA key: any digest), but can never read the key, which outlives the front's
 * compromise only in what was signed meanwhile.
 *
 * The front wraps its end of the socket in a gnutls_privkey_t (gnutls_privkey_import_ext4)
 * whose sign callback asks the signer, one request at a time (a mutex), and which http.c
 * hands to GnuTLS with the certificate (http_opts.tls_key).
 */
#ifndef SEALROOM_TLSKEY_H
#define SEALROOM_TLSKEY_H

#include <stddef.h>

#include <gnutls/abstract.h>

#include "err.h"

#define TLSKEY_SIGNER_ARG "__serve-signer"
#define TLSKEY_SIGNER_FD 3

struct tlskey;

/* The front's key over fd (owned from now on): reads the signer's hello, or its error. */
int tlskey_client_new(int fd, struct tlskey **out) WUR;
/* The gnutls_privkey_t that signs through the signer (owned by k). */
gnutls_privkey_t tlskey_privkey(struct tlskey *k);
void tlskey_free(struct tlskey *k);

/* The signer process: argv = sealroom TLSKEY_SIGNER_ARG KEY_FILE CERT_FILE; never returns. */
int tlskey_signer_exec(int argc, char **argv) __attribute__((noreturn));
/*
 * The signer's loop over fd with key (borrowed): the hello, then one answer per request,
 * until fd closes (0) or a message cannot be framed (ERR_IO, ERR_TOOBIG).
 */
int tlskey_signer_run(gnutls_privkey_t key, int fd) WUR;

/* Is (p, len) the input of a TLS 1.3 server's CertificateVerify? */
int tlskey_input_ok(const unsigned char *p, size_t len);
/* Is len the length of sign's hash (the digest an ECDSA or RSA-PSS key is given)? */
int tlskey_digest_ok(unsigned sign, size_t len);
/* Is sign (a gnutls_sign_algorithm_t) a TLS 1.3 signature scheme for a key of pk? */
int tlskey_scheme_ok(unsigned pk, unsigned sign);

#endif
