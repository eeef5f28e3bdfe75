/* wire: the front's and the room's messages; see wire.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "wire.h"

static int put_u(struct buf *b, uint64_t v, int bytes)
{
	unsigned char x[8];
	for (int i = 0; i < bytes; i++)
		x[i] = (unsigned char)(v >> (8 * i));
	return buf_add(b, x, (size_t)bytes);
}

/* (p, len) with a length of `bytes` bytes; len checked against max. */
static int put_s(struct buf *b, const char *p, size_t len, int bytes, size_t max)
{
	if (len > max)
		return err_set(ERR_TOOBIG, "wire: a field of %zu bytes is longer than %zu", len, max);
	return put_u(b, len, bytes) || buf_add(b, p, len) ? ERR_TOOBIG : 0;
}

/* A C string field: no NUL by construction; absent (o) when s is NULL and opt. */
static int put_cs(struct buf *b, const char *s, int bytes, size_t max, int opt)
{
	if (opt && (!s ? put_u(b, 0, 1) : put_u(b, 1, 1)))
		return ERR_TOOBIG;
	if (!s)
		return opt ? 0 : put_s(b, "", 0, bytes, max);
	return put_s(b, s, strlen(s), bytes, max);
}

int wire_req_encode(const struct http_req *rq, struct buf *out)
{
	int r;
	if (buf_add(out, "SRq1", 4) || put_u(out, rq->tls ? 1 : 0, 1))
		return ERR_TOOBIG;
	if ((r = put_cs(out, rq->method, 1, 7, 0)) || (r = put_cs(out, rq->path, 4, HTTP_PATH_MAX, 0)) ||
	    (r = put_cs(out, rq->query, 4, HTTP_PATH_MAX, 0)) || (r = put_cs(out, rq->cookie, 4, HTTP_HEADER_MAX, 1)) ||
	    (r = put_cs(out, rq->content_type, 4, HTTP_HEADER_MAX, 1)) ||
	    (r = put_s(out, rq->body ? rq->body : "", rq->body ? rq->body_len : 0, 4, HTTP_BODY_MAX)) ||
	    (r = put_cs(out, rq->client_ip, 1, AUTH_IP_MAX, 0)) || (r = put_cs(out, rq->cert_fp, 1, AUTH_CERT_FP_MAX, 0)))
		return r;
	return 0;
}

/* A cursor over a message. */
struct rd {
	const unsigned char *p, *e;
	const char *what;
};

static int get_u(struct rd *d, int bytes, uint64_t *v)
{
	if (d->e - d->p < bytes)
		return err_set(ERR_PARSE, "wire: message cut short in %s", d->what);
	*v = 0;
	for (int i = 0; i < bytes; i++)
		*v |= (uint64_t)d->p[i] << (8 * i);
	d->p += bytes;
	return 0;
}

/* Kinds of bytes a field may hold. */
enum field { F_BYTES, F_CSTR, F_HEADER };

static int check_field(const unsigned char *p, size_t len, enum field k, const char *what)
{
	for (size_t i = 0; i < len; i++) {
		if (k != F_BYTES && !p[i])
			return err_set(ERR_PARSE, "wire: NUL in %s", what);
		if (k == F_HEADER && (p[i] < 0x20 || p[i] == 0x7f))
			return err_set(ERR_PARSE, "wire: control byte in %s", what);
	}
	return 0;
}

/* A field of `bytes`-byte length, at most max, checked as k; *off gets where it starts. */
static int get_s(struct rd *d, int bytes, size_t max, enum field k, const unsigned char **p, size_t *len)
{
	uint64_t n = 0;
	int r;
	if ((r = get_u(d, bytes, &n)))
		return r;
	if (n > max)
		return err_set(ERR_PARSE, "wire: %s of %llu bytes is longer than %zu", d->what, (unsigned long long)n, max);
	if ((uint64_t)(d->e - d->p) < n)
		return err_set(ERR_PARSE, "wire: message cut short in %s", d->what);
	if ((r = check_field(d->p, (size_t)n, k, d->what)))
		return r;
	*p = d->p;
	*len = (size_t)n;
	d->p += n;
	return 0;
}

/* Copy a string field into storage; *at gets its offset there (NUL-terminated). */
static int keep(struct buf *st, const unsigned char *p, size_t len, size_t *at)
{
	*at = st->len;
	return buf_add(st, p, len) || buf_addch(st, 0) ? ERR_TOOBIG : 0;
}

int wire_req_decode(const void *msg, size_t len, struct wire_req *out)
{
	static const struct {
		const char *name;
		int bytes, opt;
		size_t max;
		enum field kind;
	} fields[] = {
		{"method", 1, 0, 7, F_HEADER},
		{"path", 4, 0, HTTP_PATH_MAX, F_HEADER},
		{"query", 4, 0, HTTP_PATH_MAX, F_HEADER},
		{"cookie", 4, 1, HTTP_HEADER_MAX, F_HEADER},
		{"content type", 4, 1, HTTP_HEADER_MAX, F_HEADER},
		{"body", 4, 0, HTTP_BODY_MAX, F_BYTES},
		{"client address", 1, 0, AUTH_IP_MAX, F_HEADER},
		{"certificate fingerprint", 1, 0, AUTH_CERT_FP_MAX, F_HEADER},
	};
	struct rd d = {msg, (const unsigned char *)msg + len, "header"};
	size_t at[8];
	int present[8];
	uint64_t tls = 0;
	int r;
	memset(out, 0, sizeof(*out));
	buf_init(&out->storage, WIRE_REQ_MAX + 64);
	if (len < 4 || memcmp(msg, "SRq1", 4))
		return err_set(ERR_PARSE, "wire: not a request message");
	d.p += 4;
	if ((r = get_u(&d, 1, &tls)))
		return r;
	if (tls > 1)
		return err_set(ERR_PARSE, "wire: bad tls flag");
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		const unsigned char *p = NULL;
		size_t n = 0;
		uint64_t flag = 1;
		d.what = fields[i].name;
		if (fields[i].opt && (r = get_u(&d, 1, &flag)))
			return r;
		if (flag > 1)
			return err_set(ERR_PARSE, "wire: bad presence flag of %s", fields[i].name);
		present[i] = (int)flag;
		if (flag && (r = get_s(&d, fields[i].bytes, fields[i].max, fields[i].kind, &p, &n)))
			return r;
		if ((r = keep(&out->storage, p ? p : (const unsigned char *)"", n, &at[i])))
			return r;
	}
	if (d.p != d.e)
		return err_set(ERR_PARSE, "wire: %zu bytes after the request", (size_t)(d.e - d.p));
	out->rq.method = out->storage.p + at[0];
	if (strcmp(out->rq.method, "GET") && strcmp(out->rq.method, "HEAD") && strcmp(out->rq.method, "POST"))
		return err_set(ERR_PARSE, "wire: method '%s' is not GET, HEAD or POST", out->rq.method);
	out->rq.path = out->storage.p + at[1];
	out->rq.query = out->storage.p + at[2];
	out->rq.cookie = present[3] ? out->storage.p + at[3] : NULL;
	out->rq.content_type = present[4] ? out->storage.p + at[4] : NULL;
	out->rq.body = out->storage.p + at[5];
	/* the body (which may hold NUL) ends where the next field starts, before its NUL */
	out->rq.body_len = at[6] - at[5] - 1;
	snprintf(out->rq.client_ip, sizeof(out->rq.client_ip), "%s", out->storage.p + at[6]);
	snprintf(out->rq.cert_fp, sizeof(out->rq.cert_fp), "%s", out->storage.p + at[7]);
	out->rq.tls = (int)tls;
	return 0;
}

void wire_req_release(struct wire_req *r)
{
	if (r->storage.p && r->storage.len)
		sodium_memzero(r->storage.p, r->storage.len);
	buf_release(&r->storage);
	memset(&r->rq, 0, sizeof(r->rq));
}

int wire_resp_encode(const struct http_resp *rs, struct buf *out)
{
	const char *ct = rs->content_type ? rs->content_type : "text/plain; charset=utf-8";
	int r;
	if (rs->status < 100 || rs->status > 599)
		return err_set(ERR_USAGE, "wire: status %d", rs->status);
	if (rs->n_cookies < 0 || rs->n_cookies > HTTP_COOKIES_MAX)
		return err_set(ERR_USAGE, "wire: %d cookies", rs->n_cookies);
	if (buf_add(out, "SRr1", 4) || put_u(out, (uint64_t)rs->status, 2))
		return ERR_TOOBIG;
	if ((r = put_cs(out, ct, 1, WIRE_CTYPE_MAX, 0)) || (r = put_cs(out, rs->location, 4, HTTP_PATH_MAX, 0)) ||
	    (r = put_cs(out, rs->attachment, 1, sizeof(rs->attachment) - 1, 0)))
		return r;
	if (put_u(out, (uint64_t)rs->n_cookies, 1))
		return ERR_TOOBIG;
	for (int i = 0; i < rs->n_cookies; i++)
		if ((r = put_cs(out, rs->cookies[i], 2, sizeof(rs->cookies[i]) - 1, 0)))
			return r;
	if (put_u(out, rs->sensitive ? 1 : 0, 1))
		return ERR_TOOBIG;
	/* the one caching the room allows: a session's own asset URL (http.h) */
	if (rs->cache_control && strcmp(rs->cache_control, HTTP_CACHE_SESSION))
		return err_set(ERR_USAGE, "wire: cache control '%s'", rs->cache_control);
	if (put_u(out, rs->cache_control ? 1 : 0, 1))
		return ERR_TOOBIG;
	return put_s(out, rs->body.p ? rs->body.p : "", rs->body.len, 4, WIRE_RESP_MAX - 1024);
}

int wire_resp_decode(const void *msg, size_t len, struct http_resp *rs, char *ctype)
{
	struct rd d = {msg, (const unsigned char *)msg + len, "status"};
	const unsigned char *p;
	size_t n;
	uint64_t v = 0;
	int r;
	if (len < 4 || memcmp(msg, "SRr1", 4))
		return err_set(ERR_PARSE, "wire: not a response message");
	d.p += 4;
	if ((r = get_u(&d, 2, &v)))
		return r;
	if (v < 100 || v > 599)
		return err_set(ERR_PARSE, "wire: status %llu", (unsigned long long)v);
	rs->status = (int)v;
	d.what = "content type";
	if ((r = get_s(&d, 1, WIRE_CTYPE_MAX, F_HEADER, &p, &n)))
		return r;
	memcpy(ctype, p, n);
	ctype[n] = 0;
	rs->content_type = ctype;
	d.what = "location";
	if ((r = get_s(&d, 4, HTTP_PATH_MAX, F_HEADER, &p, &n)))
		return r;
	memcpy(rs->location, p, n);
	rs->location[n] = 0;
	d.what = "attachment";
	if ((r = get_s(&d, 1, sizeof(rs->attachment) - 1, F_HEADER, &p, &n)))
		return r;
	if (memchr(p, '"', n))
		return err_set(ERR_PARSE, "wire: a quote in the attachment's name");
	memcpy(rs->attachment, p, n);
	rs->attachment[n] = 0;
	d.what = "cookies";
	if ((r = get_u(&d, 1, &v)))
		return r;
	if (v > HTTP_COOKIES_MAX)
		return err_set(ERR_PARSE, "wire: %llu cookies", (unsigned long long)v);
	rs->n_cookies = (int)v;
	for (int i = 0; i < rs->n_cookies; i++) {
		if ((r = get_s(&d, 2, sizeof(rs->cookies[i]) - 1, F_HEADER, &p, &n)))
			return r;
		memcpy(rs->cookies[i], p, n);
		rs->cookies[i][n] = 0;
	}
	d.what = "sensitive flag";
	if ((r = get_u(&d, 1, &v)))
		return r;
	if (v > 1)
		return err_set(ERR_PARSE, "wire: bad sensitive flag");
	rs->sensitive = (int)v;
	d.what = "cache flag";
	if ((r = get_u(&d, 1, &v)))
		return r;
	if (v > 1)
		return err_set(ERR_PARSE, "wire: bad cache flag");
	rs->cache_control = v ? HTTP_CACHE_SESSION : NULL;
	d.what = "body";
	if ((r = get_s(&d, 4, WIRE_RESP_MAX - 1024, F_BYTES, &p, &n)))
		return r;
	if (d.p != d.e)
		return err_set(ERR_PARSE, "wire: %zu bytes after the response", (size_t)(d.e - d.p));
	return buf_add(&rs->body, p, n) ? err_set(ERR_TOOBIG, "wire: response body too large") : 0;
}

int wire_hello_encode(unsigned pk, unsigned bits, struct buf *out)
{
	return buf_add(out, "SRk1", 4) || put_u(out, pk, 2) || put_u(out, bits, 4) ? ERR_TOOBIG : 0;
}

int wire_hello_decode(const void *msg, size_t len, unsigned *pk, unsigned *bits)
{
	struct rd d = {msg, (const unsigned char *)msg + len, "hello"};
	uint64_t a = 0, b = 0;
	int r;
	if (len < 4 || memcmp(msg, "SRk1", 4))
		return err_set(ERR_PARSE, "wire: not the signer's hello");
	d.p += 4;
	if ((r = get_u(&d, 2, &a)) || (r = get_u(&d, 4, &b)))
		return r;
	if (d.p != d.e)
		return err_set(ERR_PARSE, "wire: %zu bytes after the hello", (size_t)(d.e - d.p));
	*pk = (unsigned)a;
	*bits = (unsigned)b;
	return 0;
}

int wire_sign_encode(unsigned algo, const void *data, size_t len, struct buf *out)
{
	if (buf_add(out, "SRs1", 4) || put_u(out, algo, 2))
		return ERR_TOOBIG;
	return put_s(out, data, len, 2, WIRE_SIGN_DATA_MAX);
}

int wire_sign_decode(const void *msg, size_t len, unsigned *algo, const unsigned char **data, size_t *dlen)
{
	struct rd d = {msg, (const unsigned char *)msg + len, "signature algorithm"};
	uint64_t a = 0;
	int r;
	if (len < 4 || memcmp(msg, "SRs1", 4))
		return err_set(ERR_PARSE, "wire: not a sign request");
	d.p += 4;
	if ((r = get_u(&d, 2, &a)))
		return r;
	d.what = "data to sign";
	if ((r = get_s(&d, 2, WIRE_SIGN_DATA_MAX, F_BYTES, data, dlen)))
		return r;
	if (d.p != d.e)
		return err_set(ERR_PARSE, "wire: %zu bytes after the sign request", (size_t)(d.e - d.p));
	*algo = (unsigned)a;
	return 0;
}

int wire_signed_encode(int ok, const void *sig, size_t len, struct buf *out)
{
	if (buf_add(out, "SRS1", 4) || put_u(out, ok ? 1 : 0, 1))
		return ERR_TOOBIG;
	return put_s(out, sig, ok ? len : 0, 2, WIRE_SIGNATURE_MAX);
}

int wire_signed_decode(const void *msg, size_t len, int *ok, const unsigned char **sig, size_t *slen)
{
	struct rd d = {msg, (const unsigned char *)msg + len, "signed flag"};
	uint64_t v = 0;
	int r;
	if (len < 4 || memcmp(msg, "SRS1", 4))
		return err_set(ERR_PARSE, "wire: not a signature message");
	d.p += 4;
	if ((r = get_u(&d, 1, &v)))
		return r;
	if (v > 1)
		return err_set(ERR_PARSE, "wire: bad signed flag");
	d.what = "signature";
	if ((r = get_s(&d, 2, WIRE_SIGNATURE_MAX, F_BYTES, sig, slen)))
		return r;
	if (d.p != d.e)
		return err_set(ERR_PARSE, "wire: %zu bytes after the signature", (size_t)(d.e - d.p));
	if (!v && *slen)
		return err_set(ERR_PARSE, "wire: a refusal that carries a signature");
	*ok = (int)v;
	return 0;
}

int wire_send(int fd, const void *p, size_t len)
{
	unsigned char h[4];
	const unsigned char *parts[2] = {h, p};
	size_t lens[2] = {4, len};
	if (len > WIRE_RESP_MAX)
		return err_set(ERR_TOOBIG, "wire: message of %zu bytes", len);
	for (int i = 0; i < 4; i++)
		h[i] = (unsigned char)(len >> (8 * i));
	for (int k = 0; k < 2; k++) {
		size_t off = 0;
		while (off < lens[k]) {
			ssize_t w = write(fd, parts[k] + off, lens[k] - off);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				return err_set(ERR_IO, "wire: the peer is gone (%s)", w < 0 ? strerror(errno) : "closed");
			off += (size_t)w;
		}
	}
	return 0;
}

static int read_all(int fd, void *p, size_t len, int first)
{
	size_t off = 0;
	while (off < len) {
		ssize_t n = read(fd, (char *)p + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0 && first && off == 0)
			return ERR_NOTFOUND;
		if (n <= 0)
			return err_set(ERR_IO, "wire: the peer is gone (%s)", n < 0 ? strerror(errno) : "closed");
		off += (size_t)n;
	}
	return 0;
}

int wire_recv(int fd, struct buf *out, size_t max)
{
	unsigned char h[4];
	size_t len = 0;
	int r;
	buf_reset(out);
	if ((r = read_all(fd, h, 4, 1)))
		return r;
	for (int i = 0; i < 4; i++)
		len |= (size_t)h[i] << (8 * i);
	if (len > max)
		return err_set(ERR_TOOBIG, "wire: message of %zu bytes is larger than %zu", len, max);
	if ((r = buf_grow(out, len + 1)))
		return r;
	if ((r = read_all(fd, out->p, len, 0)))
		return r;
	out->len = len;
	out->p[len] = 0;
	return 0;
}
