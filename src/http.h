/*
 * http: the HTTPS server under the review room (libmicrohttpd with GnuTLS).
 *
 * http owns the network: TLS 1.3 only with the facility's certificate (or one the operator
 * installs), an optional client-certificate requirement, plain HTTP only on a loopback
 * address and only when asked, a pool of worker threads, and hard limits on what a client
 * may send (header bytes, body bytes, methods). Everything else is the handler's: http
 * hands it one whole struct http_req per request and sends the struct http_resp it fills,
 * adding the room's security headers (http_security_headers) to every response.
 *
 * The handler runs on a worker thread and may block (database, log); up to
 * http_opts.threads requests run at once. Response bodies are wiped after they are sent,
 * since they carry sealed code.
 */
#ifndef SEALROOM_HTTP_H
#define SEALROOM_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "buf.h"
#include "err.h"

#define HTTP_BODY_MAX (16 * 1024)        /* request bodies (forms) */
#define HTTP_HEADER_MAX (32 * 1024)      /* all request headers together */
#define HTTP_PATH_MAX 8192               /* the request target */
#define HTTP_THREADS_DEFAULT 16
#define HTTP_CONNECTIONS_MAX 1024
#define HTTP_CONNECTIONS_PER_IP 32     /* one address cannot take all the others' places */
#define HTTP_TIMEOUT_SECONDS 60
#define HTTP_COOKIES_MAX 4

/* One request, as the handler sees it. Every string is NUL-terminated and borrowed. */
struct http_req {
	const char *method;       /* "GET", "HEAD" or "POST" (others are refused before) */
	const char *path;         /* raw request path, still %-encoded, without the query */
	const char *query;        /* raw query string without '?', "" when none */
	const char *cookie;       /* the Cookie header, or NULL */
	const char *content_type; /* or NULL */
	const char *body;         /* POST body (at most HTTP_BODY_MAX bytes), or "" */
	size_t body_len;
	char client_ip[AUTH_IP_MAX + 1];
	char cert_fp[AUTH_CERT_FP_MAX + 1]; /* SHA-256 hex of the client certificate, or "" */
	int tls;                  /* 1 over HTTPS */
};

/* What the handler answers. http_resp_init before, http_resp_release after. */
struct http_resp {
	int status;
	const char *content_type; /* a static string */
	struct buf body;
	char location[HTTP_PATH_MAX + 1];     /* for redirects, or "" */
	char attachment[128];     /* a file name: sent as Content-Disposition: attachment */
	char cookies[HTTP_COOKIES_MAX][512];  /* Set-Cookie values */
	int n_cookies;
	int sensitive;            /* the body holds sealed code: wipe it when sent */
	const char *cache_control; /* HTTP_CACHE_SESSION instead of "no-store" (and no Pragma), or
				    * NULL */
};
/* The one caching allowed: an asset under a session's own URL, kept for the session. */
#define HTTP_CACHE_SESSION "private, max-age=43200, immutable"

void http_resp_init(struct http_resp *rs);
void http_resp_release(struct http_resp *rs);
/* Add a Set-Cookie value; ERR_TOOBIG past HTTP_COOKIES_MAX or 511 bytes. */
int http_resp_cookie(struct http_resp *rs, const char *fmt, ...) WUR __attribute__((format(printf, 2, 3)));

typedef int (*http_handler)(void *ctx, const struct http_req *rq, struct http_resp *rs);

struct http_opts {
	const char *listen;     /* "ADDR:PORT" ("[v6]:PORT" for IPv6); default 127.0.0.1:8443 */
	const char *cert_file;  /* PEM certificate (chain) */
	const char *key_file;   /* its PEM private key (unless tls_key) */
	void *tls_key;          /* or a gnutls_privkey_t that signs elsewhere (tlskey.h) */
	const char *client_ca;  /* PEM CA bundle: require a client certificate it signed, or NULL */
	int insecure_http;      /* plain HTTP; refused unless listen is a loopback address */
	unsigned threads;       /* worker threads (default HTTP_THREADS_DEFAULT) */
};

/*
 * The security headers every response carries, as (name, value) pairs ending with NULL:
 * a strict Content-Security-Policy (no inline script or style, frame-ancestors 'none'),
 * Cache-Control: no-store, Referrer-Policy: no-referrer, X-Content-Type-Options: nosniff,
 * X-Frame-Options: DENY, Cross-Origin-Opener-Policy and -Resource-Policy, and, over TLS,
 * Strict-Transport-Security.
 */
extern const char *const http_security_headers[][2];

/*
 * Split "ADDR:PORT" / "[ADDR]:PORT" into a socket address. *loopback says whether it is
 * 127.0.0.0/8 or ::1. ERR_USAGE naming the problem.
 */
int http_parse_listen(const char *listen, void *sockaddr_storage, size_t *len, int *loopback) WUR;

struct http_server;

/*
 * Start serving on o->listen with handler(ctx, ...). ERR_USAGE for plain HTTP on a
 * non-loopback address or a bad address; ERR_IO when the certificate or key cannot be
 * read or the address cannot be bound (naming it).
 */
int http_start(const struct http_opts *o, http_handler handler, void *ctx,
	       struct http_server **out) WUR;
/* The port actually bound (for listen ports of 0). */
unsigned http_port(const struct http_server *s);
/* Stop accepting, finish the requests in flight, free (NULL is fine). */
void http_stop(struct http_server *s);

#endif
