/*
 * wire: the messages between the room's network front and the room (split.h).
 *
 * The front parses HTTP and TLS and nothing else; each request it parsed crosses a
 * socketpair as one message, and the room's answer comes back as one message. Both
 * directions are untrusted by the other side: every length is checked against the HTTP
 * limits of http.h before anything is allocated, strings that become C strings may not
 * hold NUL, header values may not hold CR, LF or other control bytes, and a message with
 * a byte left over is refused.
 *
 * Framing on the socket: a 4-byte little-endian length, then that many bytes (at most
 * WIRE_REQ_MAX for a request, WIRE_RESP_MAX for a response).
 *
 * Request:  "SRq1" u8 tls, s8 method, s32 path, s32 query, o32 cookie, o32 content_type,
 *           b32 body, s8 client_ip, s8 cert_fp
 * Response: "SRr1" u16 status, s8 content_type, s32 location, s8 attachment (a file name
 * for Content-Disposition, no quote), u8 n_cookies, n x s16 cookie,
 *           u8 sensitive, b32 body
 * where sN is an N-bit little-endian length and the bytes, oN the same after a u8 that is 0
 * for an absent value (then no length follows), bN bytes that may hold NUL.
 *
 * Between the front and the TLS key's signer (tlskey.h), on the same framing:
 * Hello:    "SRk1" u16 public-key algorithm, u32 bits (the signer's first message)
 * Sign:     "SRs1" u16 signature algorithm, b16 data (at most WIRE_SIGN_DATA_MAX)
 * Signed:   "SRS1" u8 ok, b16 signature (at most WIRE_SIGNATURE_MAX; empty when not ok)
 * (gnutls_pk_algorithm_t and gnutls_sign_algorithm_t numbers).
 */
#ifndef SEALROOM_WIRE_H
#define SEALROOM_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "http.h"

#define WIRE_REQ_MAX ((size_t)HTTP_BODY_MAX + 2 * HTTP_PATH_MAX + 2 * HTTP_HEADER_MAX + 1024)
#define WIRE_RESP_MAX ((size_t)512 << 20)
#define WIRE_CTYPE_MAX 127
#define WIRE_SIGN_DATA_MAX 256  /* a TLS 1.3 CertificateVerify input is 98 + 64 bytes at most */
#define WIRE_SIGNATURE_MAX 1024 /* RSA-8192 */
#define WIRE_SIGN_MSG_MAX (WIRE_SIGNATURE_MAX + 16)

/* A decoded request: rq's strings point into storage (wire_req_release frees both). */
struct wire_req {
	struct http_req rq;
	struct buf storage;
};

/* Encode rq into out (appended). ERR_TOOBIG past a limit, ERR_HOSTILE for a NUL in a
 * string. */
int wire_req_encode(const struct http_req *rq, struct buf *out) WUR;
/* Decode (p, len) into out (wire_req_release it, also on error). ERR_PARSE naming what is
 * wrong. */
int wire_req_decode(const void *p, size_t len, struct wire_req *out) WUR;
void wire_req_release(struct wire_req *r);

/* Encode rs (its body, cookies, location, content type) into out (appended). */
int wire_resp_encode(const struct http_resp *rs, struct buf *out) WUR;
/*
 * Decode (p, len) into rs (http_resp_init'ed; its body is appended to), with the content
 * type copied into ctype (WIRE_CTYPE_MAX + 1 bytes), at which rs->content_type points.
 * ERR_PARSE naming what is wrong.
 */
int wire_resp_decode(const void *p, size_t len, struct http_resp *rs, char *ctype) WUR;

/* The signer's messages (above): encode appends to out; decode checks every length, the
 * magic and that no byte is left over (ERR_PARSE naming what is wrong). Decoded data
 * points into the message. */
int wire_hello_encode(unsigned pk, unsigned bits, struct buf *out) WUR;
int wire_hello_decode(const void *p, size_t len, unsigned *pk, unsigned *bits) WUR;
int wire_sign_encode(unsigned algo, const void *data, size_t len, struct buf *out) WUR;
int wire_sign_decode(const void *p, size_t len, unsigned *algo, const unsigned char **data, size_t *dlen) WUR;
int wire_signed_encode(int ok, const void *sig, size_t len, struct buf *out) WUR;
int wire_signed_decode(const void *p, size_t len, int *ok, const unsigned char **sig, size_t *slen) WUR;

/* Send one framed message (all of it; EINTR retried). ERR_IO when the peer is gone. */
int wire_send(int fd, const void *p, size_t len) WUR;
/* Receive one framed message of at most max bytes into out (reset first). ERR_IO when the
 * peer is gone (ERR_NOTFOUND for a clean end before any byte), ERR_TOOBIG past max. */
int wire_recv(int fd, struct buf *out, size_t max) WUR;

#endif
