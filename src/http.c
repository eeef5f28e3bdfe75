/* http: libmicrohttpd + GnuTLS under the review room; see http.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>

#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <gnutls/x509.h>
#include <microhttpd.h>
#include <sodium.h>

#include "http.h"

const char *const http_security_headers[][2] = {
	{"Content-Security-Policy",
	 "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
	 "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
	 "base-uri 'none'"},
	{"Cache-Control", "no-store"},
	{"Pragma", "no-cache"},
	{"Referrer-Policy", "no-referrer"},
	{"X-Content-Type-Options", "nosniff"},
	{"X-Frame-Options", "DENY"},
	{"Cross-Origin-Opener-Policy", "same-origin"},
	{"Cross-Origin-Resource-Policy", "same-origin"},
	{"Permissions-Policy", "camera=(), microphone=(), geolocation=(), clipboard-write=()"},
	{NULL, NULL},
};

struct http_server {
	struct MHD_Daemon *d;
	http_handler handler;
	void *ctx;
	char *cert, *key, *ca;
	int tls, need_client_cert;
	unsigned port;
};

/* Per-connection request state across the handler's calls. */
struct pending {
	struct buf body;
	int too_big;
};

void http_resp_init(struct http_resp *rs)
{
	memset(rs, 0, sizeof(*rs));
	rs->status = 200;
	rs->content_type = "text/html; charset=utf-8";
	buf_init(&rs->body, (size_t)64 << 20);
}

void http_resp_release(struct http_resp *rs)
{
	if (rs->sensitive && rs->body.len)
		sodium_memzero(rs->body.p, rs->body.len);
	buf_release(&rs->body);
}

int http_resp_cookie(struct http_resp *rs, const char *fmt, ...)
{
	va_list ap;
	int n;
	if (rs->n_cookies >= HTTP_COOKIES_MAX)
		return err_set(ERR_TOOBIG, "http: too many cookies");
	va_start(ap, fmt);
	n = vsnprintf(rs->cookies[rs->n_cookies], sizeof(rs->cookies[0]), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(rs->cookies[0]))
		return err_set(ERR_TOOBIG, "http: cookie too long");
	rs->n_cookies++;
	return 0;
}

int http_parse_listen(const char *listen, void *ss, size_t *len, int *loopback)
{
	char host[64];
	const char *colon, *h = listen;
	size_t hl;
	char *end;
	unsigned long port;

	if (!listen || !*listen)
		return err_set(ERR_USAGE, "listen address is empty");
	if (*h == '[') {
		const char *rb = strchr(h, ']');
		if (!rb || rb[1] != ':')
			return err_set(ERR_USAGE, "listen address '%s' is not [ADDR]:PORT", listen);
		h++;
		hl = (size_t)(rb - h);
		colon = rb + 1;
	} else {
		colon = strrchr(h, ':');
		if (!colon)
			return err_set(ERR_USAGE, "listen address '%s' is not ADDR:PORT", listen);
		hl = (size_t)(colon - h);
	}
	if (hl == 0 || hl >= sizeof(host))
		return err_set(ERR_USAGE, "listen address '%s' has no host", listen);
	memcpy(host, h, hl);
	host[hl] = 0;
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno || *end || end == colon + 1 || port > 65535)
		return err_set(ERR_USAGE, "listen port in '%s' is not 0..65535", listen);
	memset(ss, 0, sizeof(struct sockaddr_storage));
	{
		struct sockaddr_in *a4 = ss;
		struct sockaddr_in6 *a6 = ss;
		if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
			a4->sin_family = AF_INET;
			a4->sin_port = htons((uint16_t)port);
			*len = sizeof(*a4);
			*loopback = (ntohl(a4->sin_addr.s_addr) >> 24) == 127;
			return 0;
		}
		if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
			a6->sin6_family = AF_INET6;
			a6->sin6_port = htons((uint16_t)port);
			*len = sizeof(*a6);
			*loopback = IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr);
			return 0;
		}
	}
	return err_set(ERR_USAGE, "listen host '%s' is not an IP address", host);
}

/* Leave the path and arguments %-encoded: web.c decodes them itself, strictly. */
static size_t no_unescape(void *cls, struct MHD_Connection *c, char *s)
{
	return strlen(s);
}

struct query_build {
	struct buf *b;
	int err;
};

static enum MHD_Result add_arg(void *cls, enum MHD_ValueKind kind, const char *key,
			       const char *value)
{
	struct query_build *q = cls;
	if ((q->b->len && buf_addch(q->b, '&')) || buf_addstr(q->b, key) ||
	    (value && (buf_addch(q->b, '=') || buf_addstr(q->b, value)))) {
		q->err = 1;
		return MHD_NO;
	}
	return MHD_YES;
}

static void free_body(void *cls)
{
	struct buf *b = cls;
	if (b->len)
		sodium_memzero(b->p, b->len);
	buf_release(b);
	free(b);
}

static enum MHD_Result send_simple(struct MHD_Connection *c, unsigned status, const char *text)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), (void *)text,
								 MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;
	if (!r)
		return MHD_NO;
	for (int i = 0; http_security_headers[i][0]; i++)
		MHD_add_response_header(r, http_security_headers[i][0], http_security_headers[i][1]);
	MHD_add_response_header(r, "Content-Type", "text/plain; charset=utf-8");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, "Allow", "GET, HEAD, POST");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* The client certificate's SHA-256 fingerprint in hex into fp; -1 when none verifies. */
static int client_cert(struct MHD_Connection *c, char fp[AUTH_CERT_FP_MAX + 1])
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	gnutls_session_t s;
	const gnutls_datum_t *certs;
	unsigned n = 0, status = 0;
	unsigned char h[32];
	size_t hl = sizeof(h);
	if (!ci || !ci->tls_session)
		return -1;
	s = (gnutls_session_t)ci->tls_session;
	if (gnutls_certificate_verify_peers2(s, &status) < 0 || status)
		return -1;
	certs = gnutls_certificate_get_peers(s, &n);
	if (!certs || !n)
		return -1;
	if (gnutls_fingerprint(GNUTLS_DIG_SHA256, &certs[0], h, &hl) < 0 || hl != 32)
		return -1;
	hex_encode(fp, h, 32);
	return 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct http_server *s = cls;
	struct pending *p = *con_cls;
	struct http_req rq;
	struct http_resp rs;
	struct timespec t0, t1;
	char timing[48];
	struct buf query, *body;
	struct query_build qb;
	struct MHD_Response *r;
	const union MHD_ConnectionInfo *ci;
	enum MHD_Result ret;

	if (!p) {
		if (strcmp(method, "GET") && strcmp(method, "HEAD") && strcmp(method, "POST"))
			return send_simple(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n");
		if (strlen(url) > HTTP_PATH_MAX)
			return send_simple(c, MHD_HTTP_URI_TOO_LONG, "request path too long\n");
		p = xcalloc(1, sizeof(*p));
		buf_init(&p->body, HTTP_BODY_MAX);
		*con_cls = p;
		return MHD_YES;
	}
	if (*upload_size) {
		if (!p->too_big && buf_add(&p->body, upload, *upload_size))
			p->too_big = 1;
		*upload_size = 0;
		return MHD_YES;
	}
	if (p->too_big)
		return send_simple(c, MHD_HTTP_CONTENT_TOO_LARGE, "request body too large\n");

	memset(&rq, 0, sizeof(rq));
	rq.method = method;
	rq.path = url;
	buf_init(&query, HTTP_PATH_MAX);
	qb.b = &query;
	qb.err = 0;
	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, add_arg, &qb);
	if (qb.err) {
		buf_release(&query);
		return send_simple(c, MHD_HTTP_URI_TOO_LONG, "query too long\n");
	}
	rq.query = query.p ? query.p : "";
	rq.cookie = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_COOKIE);
	rq.content_type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	rq.body = p->body.p ? p->body.p : "";
	rq.body_len = p->body.len;
	rq.tls = s->tls;
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci && ci->client_addr) {
		const struct sockaddr *sa = ci->client_addr;
		if (sa->sa_family == AF_INET)
			inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, rq.client_ip,
				  sizeof(rq.client_ip));
		else if (sa->sa_family == AF_INET6)
			inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, rq.client_ip,
				  sizeof(rq.client_ip));
	}
	if (s->need_client_cert && client_cert(c, rq.cert_fp) < 0) {
		buf_release(&query);
		return send_simple(c, MHD_HTTP_FORBIDDEN, "a client certificate of this room is required\n");
	}

	http_resp_init(&rs);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (s->handler(s->ctx, &rq, &rs) < 0 && rs.status < 400) {
		rs.status = 500;
		buf_reset(&rs.body);
		if (buf_addstr(&rs.body, "internal error\n"))
			BUG("small");
		rs.content_type = "text/plain; charset=utf-8";
	}
	buf_release(&query);
	/* hand the body over; it is wiped when MHD is done with it */
	body = xmalloc(sizeof(*body));
	*body = rs.body;
	buf_init(&rs.body, 0);
	r = MHD_create_response_from_buffer_with_free_callback_cls(body->len, body->p ? body->p : "",
								   free_body, body);
	if (!r) {
		free_body(body);
		http_resp_release(&rs);
		return MHD_NO;
	}
	for (int i = 0; http_security_headers[i][0]; i++) {
		const char *h = http_security_headers[i][0];
		if (rs.cache_control && (!strcmp(h, "Cache-Control") || !strcmp(h, "Pragma")))
			continue;
		MHD_add_response_header(r, h, http_security_headers[i][1]);
	}
	if (rs.cache_control)
		MHD_add_response_header(r, "Cache-Control", rs.cache_control);
	if (s->tls)
		MHD_add_response_header(r, "Strict-Transport-Security", "max-age=31536000");
	MHD_add_response_header(r, "Content-Type", rs.content_type);
	if (rs.location[0])
		MHD_add_response_header(r, "Location", rs.location);
	if (rs.attachment[0]) {
		char cd[200];
		snprintf(cd, sizeof(cd), "attachment; filename=\"%s\"", rs.attachment);
		MHD_add_response_header(r, "Content-Disposition", cd);
	}
	for (int i = 0; i < rs.n_cookies; i++)
		MHD_add_response_header(r, "Set-Cookie", rs.cookies[i]);
	/* the server's own time for the request (handler to response), for bench/view.sh */
	clock_gettime(CLOCK_MONOTONIC, &t1);
	snprintf(timing, sizeof(timing), "app;dur=%.2f",
		 (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
	MHD_add_response_header(r, "Server-Timing", timing);
	ret = MHD_queue_response(c, (unsigned)rs.status, r);
	MHD_destroy_response(r);
	http_resp_release(&rs);
	return ret;
}

static void on_done(void *cls, struct MHD_Connection *c, void **con_cls,
		    enum MHD_RequestTerminationCode toe)
{
	struct pending *p = *con_cls;
	if (!p)
		return;
	if (p->body.len)
		sodium_memzero(p->body.p, p->body.len);
	buf_release(&p->body);
	free(p);
	*con_cls = NULL;
}

static int read_pem(const char *path, char **out)
{
	struct buf b;
	int r;
	buf_init(&b, (size_t)1 << 20);
	if ((r = buf_read_file(&b, path))) {
		buf_release(&b);
		return err_set(r, "cannot read '%s': %s", path, err_msg());
	}
	*out = buf_detach(&b, NULL);
	return 0;
}

/*
 * The certificate and the key that signs elsewhere (http_opts.tls_key), for GnuTLS's
 * retrieve callback, which has no context of its own: one server with such a key per
 * process (the front).
 */
#define EXT_CERTS_MAX 8
static gnutls_pcert_st ext_pcerts[EXT_CERTS_MAX];
static unsigned ext_n_pcerts;
static gnutls_privkey_t ext_key;

static int ext_retrieve(gnutls_session_t s, const gnutls_datum_t *req_ca_rdn, int nreqs,
			const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length, gnutls_pcert_st **pcert,
			unsigned int *pcert_length, gnutls_privkey_t *privkey)
{
	(void)s;
	(void)req_ca_rdn;
	(void)nreqs;
	(void)pk_algos;
	(void)pk_algos_length;
	*pcert = ext_pcerts;
	*pcert_length = ext_n_pcerts;
	*privkey = ext_key;
	return 0;
}

/* The certificate chain of cert (PEM) for ext_retrieve, with key as its signing key. */
static int ext_setup(const char *cert_path, const char *cert, void *key)
{
	gnutls_datum_t c = {(unsigned char *)cert, (unsigned)strlen(cert)};
	unsigned n = EXT_CERTS_MAX;
	int e;
	if (ext_key)
		return err_set(ERR_USAGE, "http: one server with an external TLS key per process");
	if ((e = gnutls_pcert_list_import_x509_raw(ext_pcerts, &n, &c, GNUTLS_X509_FMT_PEM, 0)) < 0 || !n)
		return err_set(ERR_PARSE, "'%s' is not a PEM certificate chain (of at most %d): %s", cert_path,
			       EXT_CERTS_MAX, gnutls_strerror(e));
	ext_n_pcerts = n;
	ext_key = key;
	return 0;
}

/* Check that cert and key parse and belong together, so that a bad pair fails at start. */
static int check_pair(const char *cert_path, const char *key_path, const char *cert, const char *key)
{
	gnutls_certificate_credentials_t cr;
	gnutls_datum_t c = {(unsigned char *)cert, (unsigned)strlen(cert)};
	gnutls_datum_t k = {(unsigned char *)key, (unsigned)strlen(key)};
	int e;
	if (gnutls_certificate_allocate_credentials(&cr) < 0)
		return err_set(ERR_IO, "http: cannot allocate TLS credentials");
	e = gnutls_certificate_set_x509_key_mem(cr, &c, &k, GNUTLS_X509_FMT_PEM);
	gnutls_certificate_free_credentials(cr);
	if (e < 0)
		return err_set(ERR_PARSE, "'%s' and '%s' are not a PEM certificate and its key: %s",
			       cert_path, key_path, gnutls_strerror(e));
	return 0;
}

int http_start(const struct http_opts *o, http_handler handler, void *ctx, struct http_server **out)
{
	struct sockaddr_storage ss;
	size_t sl;
	int loopback, r;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
	struct http_server *s;
	const char *listen = o->listen ? o->listen : "127.0.0.1:8443";
	unsigned threads = o->threads ? o->threads : HTTP_THREADS_DEFAULT;
	struct MHD_OptionItem opts[16];
	int n = 0;

	*out = NULL;
	if ((r = http_parse_listen(listen, &ss, &sl, &loopback)))
		return r;
	if (o->insecure_http && !loopback)
		return err_set(ERR_USAGE, "plain HTTP is only allowed on a loopback address, not '%s'", listen);
	if (threads > 256)
		return err_set(ERR_USAGE, "at most 256 threads");
	s = xcalloc(1, sizeof(*s));
	s->handler = handler;
	s->ctx = ctx;
	s->tls = !o->insecure_http;
	if (s->tls) {
		if (!o->cert_file || (!o->key_file && !o->tls_key)) {
			r = err_set(ERR_USAGE, "HTTPS needs a certificate and a key");
			goto fail;
		}
		if ((r = read_pem(o->cert_file, &s->cert)))
			goto fail;
		if (o->tls_key ? (r = ext_setup(o->cert_file, s->cert, o->tls_key))
			       : ((r = read_pem(o->key_file, &s->key)) ||
				  (r = check_pair(o->cert_file, o->key_file, s->cert, s->key))))
			goto fail;
		if (o->client_ca) {
			if ((r = read_pem(o->client_ca, &s->ca)))
				goto fail;
			s->need_client_cert = 1;
		}
		flags |= MHD_USE_TLS;
		if (o->tls_key) {
			opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_CERT_CALLBACK, 0, (void *)ext_retrieve};
		} else {
			opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, s->key};
			opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, s->cert};
		}
		opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES, 0,
						    "NORMAL:-VERS-ALL:+VERS-TLS1.3"};
		if (s->ca)
			opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_TRUST, 0, s->ca};
	} else if (o->client_ca) {
		r = err_set(ERR_USAGE, "a client certificate needs HTTPS, not --insecure-http");
		goto fail;
	}
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, &ss};
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE, threads, NULL};
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT, HTTP_CONNECTIONS_MAX, NULL};
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_PER_IP_CONNECTION_LIMIT, HTTP_CONNECTIONS_PER_IP, NULL};
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT, HTTP_TIMEOUT_SECONDS, NULL};
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_MEMORY_LIMIT, HTTP_HEADER_MAX + 8192, NULL};
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_UNESCAPE_CALLBACK, (intptr_t)no_unescape, NULL};
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_done, NULL};
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_LISTENING_ADDRESS_REUSE, 1, NULL};
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	s->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s, MHD_OPTION_ARRAY, opts,
				MHD_OPTION_END);
	if (!s->d) {
		r = err_set(ERR_IO, "cannot serve on '%s': the address is in use or not ours", listen);
		goto fail;
	}
	{
		const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
		s->port = di ? di->port : 0;
	}
	*out = s;
	return 0;
fail:
	http_stop(s);
	return r;
}

unsigned http_port(const struct http_server *s)
{
	return s->port;
}

void http_stop(struct http_server *s)
{
	if (!s)
		return;
	if (s->d)
		MHD_stop_daemon(s->d);
	if (s->key) {
		sodium_memzero(s->key, strlen(s->key));
		free(s->key);
	}
	free(s->cert);
	free(s->ca);
	free(s);
}
