/* test_web: strict path decoding, query and form parameters, cookies, release routes,
 * escaping, security headers, and the listen address rules of http. */
#include <sys/socket.h>

#include "http.h"
#include "render.h"
#include "test.h"
#include "web.h"

static int decode(const char *raw, const char *want)
{
	struct buf b;
	int r, ok;
	buf_init(&b, HTTP_PATH_MAX + 1);
	r = web_path_decode(raw, &b);
	ok = want ? (r == 0 && !strcmp(b.p, want)) : r != 0;
	buf_release(&b);
	return ok;
}

TEST(path_decode)
{
	CHECK(decode("/r/p@v/blob/src/main.c", "/r/p@v/blob/src/main.c"));
	CHECK(decode("/r/p@v/blob/a%20b.c", "/r/p@v/blob/a b.c"));
	CHECK(decode("/r/p@v/tree/", "/r/p@v/tree/"));
	CHECK(decode("/r/p@v/blob/a+b", "/r/p@v/blob/a+b"));
	CHECK(decode("/r/p@v/blob/../x", NULL));
	CHECK(decode("/r/p@v/blob/%2e%2e/x", NULL));
	CHECK(decode("/r/p@v/blob/%2E%2E", NULL));
	CHECK(decode("/r/p@v/blob/./x", NULL));
	CHECK(decode("/r/p@v/blob/a%00b", NULL));
	/* every byte a sealed name may hold but NUL */
	CHECK(decode("/r/p@v/blob/a%0ab", "/r/p@v/blob/a\nb"));
	CHECK(decode("/r/p@v/blob/a%5cb", "/r/p@v/blob/a\\b"));
	CHECK(decode("/r/p@v/blob/a%22%27%01%1f%7f", "/r/p@v/blob/a\"'\x01\x1f\x7f"));
	CHECK(decode("/r/p@v/blob/bad-%ff%fe-name", "/r/p@v/blob/bad-\xff\xfe-name"));
	CHECK(decode("/r/p@v/blob/a%2fb", "/r/p@v/blob/a/b"));
	CHECK(decode("/r/p@v/blob/a%2f%2e%2e%2fb", NULL));
	CHECK(decode("/r/p@v/blob//x", NULL));
	CHECK(decode("/r/p@v/blob/%zz", NULL));
	CHECK(decode("/r/p@v/blob/%4", NULL));
	CHECK(decode("/r/p@v/blob/%", NULL));
	CHECK(decode("r/p@v", NULL));
	CHECK(decode("/..", NULL));
	CHECK(decode("/a/..", NULL));
	CHECK(decode("/a/...", "/a/..."));
}

TEST(path_limit)
{
	char *p = xmalloc(HTTP_PATH_MAX + 2);
	p[0] = '/';
	memset(p + 1, 'a', HTTP_PATH_MAX - 1);
	p[HTTP_PATH_MAX] = 0;
	CHECK(decode(p, p));
	p[HTTP_PATH_MAX] = 'a';
	p[HTTP_PATH_MAX + 1] = 0;
	CHECK(decode(p, NULL));
	free(p);
}

TEST(params)
{
	struct buf b;
	const char *q = "q=a+b%2Bc&i=1&empty=&flag&r=p%40v";
	buf_init(&b, 64);
	CHECK(web_param(q, strlen(q), "q", &b) == 0 && !strcmp(b.p, "a b+c"));
	CHECK(web_param(q, strlen(q), "i", &b) == 0 && !strcmp(b.p, "1"));
	CHECK(web_param(q, strlen(q), "empty", &b) == 0 && b.len == 0);
	CHECK(web_param(q, strlen(q), "flag", &b) == 0 && b.len == 0);
	CHECK(web_param(q, strlen(q), "r", &b) == 0 && !strcmp(b.p, "p@v"));
	CHECK(web_param(q, strlen(q), "nope", &b) == ERR_NOTFOUND);
	CHECK(web_param(q, strlen(q), "fla", &b) == ERR_NOTFOUND);
	CHECK(web_param("q=%00", 5, "q", &b) == ERR_HOSTILE);
	CHECK(web_param("q=%zz", 5, "q", &b) == ERR_HOSTILE);
	buf_release(&b);
	buf_init(&b, 4);
	CHECK(web_param("q=abcdefgh", 10, "q", &b) == ERR_TOOBIG);
	buf_release(&b);
}

TEST(cookies)
{
	char v[65];
	CHECK(web_cookie("a=1; sr_session=abc; b=2", "sr_session", v, sizeof(v)) == 0 && !strcmp(v, "abc"));
	CHECK(web_cookie("sr_session=x", "sr_session", v, sizeof(v)) == 0 && !strcmp(v, "x"));
	CHECK(web_cookie("xsr_session=x", "sr_session", v, sizeof(v)) == ERR_NOTFOUND);
	CHECK(web_cookie(NULL, "sr_session", v, sizeof(v)) == ERR_NOTFOUND);
	CHECK(web_cookie("sr_session=0123456789", "sr_session", v, 5) == ERR_NOTFOUND);
}

TEST(routes)
{
	struct web_route rt;
	CHECK(web_route_release("/r/fw@4.2/blob/src/a.c", &rt) == 0 && !strcmp(rt.product, "fw") &&
	      !strcmp(rt.version, "4.2") && !strcmp(rt.what, "blob") && !strcmp(rt.rest, "src/a.c"));
	CHECK(web_route_release("/r/fw@1@rc/tree/", &rt) == 0 && !strcmp(rt.version, "1@rc") && !strcmp(rt.rest, ""));
	CHECK(web_route_release("/r/fw@4.2/search", &rt) == 0 && !strcmp(rt.what, "search"));
	CHECK(web_route_release("/r/fw/blob/a", &rt) == ERR_NOTFOUND);
	CHECK(web_route_release("/r/fw@4.2", &rt) == ERR_NOTFOUND);
	CHECK(web_route_release("/x/fw@4.2/blob/a", &rt) == ERR_NOTFOUND);
	CHECK(web_route_release("/r/fw@4.2//a", &rt) == ERR_NOTFOUND);
	CHECK(web_route_release("/r/fw@4.2/averyveryverylongname/a", &rt) == ERR_NOTFOUND);
}

TEST(escape)
{
	struct buf b;
	buf_init(&b, 0);
	CHECK(render_escape(&b, "<a href=\"x\">'&'</a>", 19) == 0);
	CHECK(!strcmp(b.p, "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"));
	buf_reset(&b);
	CHECK(render_escape(&b, "a\0b", 3) == 0 && !strcmp(b.p, "a\xef\xbf\xbd" "b"));
	buf_release(&b);
	CHECK(render_count_lines((const unsigned char *)"", 0) == 0);
	CHECK(render_count_lines((const unsigned char *)"a", 1) == 1);
	CHECK(render_count_lines((const unsigned char *)"a\n", 2) == 1);
	CHECK(render_count_lines((const unsigned char *)"a\nb", 3) == 2);
}

TEST(headers)
{
	int csp = 0, store = 0, ref = 0, sniff = 0, frame = 0;
	for (int i = 0; http_security_headers[i][0]; i++) {
		const char *n = http_security_headers[i][0], *v = http_security_headers[i][1];
		if (!strcmp(n, "Content-Security-Policy")) {
			csp = strstr(v, "script-src 'self'") && strstr(v, "frame-ancestors 'none'") &&
			      !strstr(v, "unsafe-inline") && !strstr(v, "unsafe-eval");
		}
		store |= !strcmp(n, "Cache-Control") && !strcmp(v, "no-store");
		ref |= !strcmp(n, "Referrer-Policy") && !strcmp(v, "no-referrer");
		sniff |= !strcmp(n, "X-Content-Type-Options") && !strcmp(v, "nosniff");
		frame |= !strcmp(n, "X-Frame-Options") && !strcmp(v, "DENY");
	}
	CHECK(csp && store && ref && sniff && frame);
}

TEST(listen)
{
	struct sockaddr_storage ss;
	size_t len;
	int lo;
	CHECK(http_parse_listen("127.0.0.1:8443", &ss, &len, &lo) == 0 && lo);
	CHECK(http_parse_listen("127.3.2.1:1", &ss, &len, &lo) == 0 && lo);
	CHECK(http_parse_listen("0.0.0.0:8443", &ss, &len, &lo) == 0 && !lo);
	CHECK(http_parse_listen("[::1]:8443", &ss, &len, &lo) == 0 && lo);
	CHECK(http_parse_listen("[::]:8443", &ss, &len, &lo) == 0 && !lo);
	CHECK(http_parse_listen("127.0.0.1:65536", &ss, &len, &lo) == ERR_USAGE);
	CHECK(http_parse_listen("127.0.0.1", &ss, &len, &lo) == ERR_USAGE);
	CHECK(http_parse_listen("localhost:80", &ss, &len, &lo) == ERR_USAGE);
	CHECK(http_parse_listen(":80", &ss, &len, &lo) == ERR_USAGE);
	CHECK(http_parse_listen("127.0.0.1:8x", &ss, &len, &lo) == ERR_USAGE);
}

TEST(insecure_off_loopback)
{
	struct http_opts o = {0};
	struct http_server *s = NULL;
	o.listen = "0.0.0.0:0";
	o.insecure_http = 1;
	CHECK(http_start(&o, NULL, NULL, &s) == ERR_USAGE && !s);
	CHECK(strstr(err_msg(), "loopback") != NULL);
}

int main(void)
{
	RUN(path_decode);
	RUN(path_limit);
	RUN(params);
	RUN(cookies);
	RUN(routes);
	RUN(escape);
	RUN(headers);
	RUN(listen);
	RUN(insecure_off_loopback);
	return test_done();
}
