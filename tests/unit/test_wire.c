/* test_wire: the front's and the room's messages: round trips, every limit at the limit and
 * one past it, hostile bytes, framing over a socketpair. */
#include <sys/socket.h>
#include <unistd.h>

#include "test.h"
#include "wire.h"

static struct http_req sample(char *path, char *cookie, char *body, size_t body_len)
{
	struct http_req rq;
	memset(&rq, 0, sizeof(rq));
	rq.method = "POST";
	rq.path = path;
	rq.query = "q=a+b&i=1";
	rq.cookie = cookie;
	rq.content_type = NULL;
	rq.body = body;
	rq.body_len = body_len;
	snprintf(rq.client_ip, sizeof(rq.client_ip), "2001:db8::1");
	snprintf(rq.cert_fp, sizeof(rq.cert_fp), "%064d", 7);
	rq.tls = 1;
	return rq;
}

TEST(request_round_trip)
{
	char body[] = "a=1\0b=2";
	struct http_req rq = sample("/r/p@v/blob/bad-%FF%0A", "sr_session=ab; sr_csrf=cd", body, sizeof(body) - 1);
	struct buf m, again;
	struct wire_req wr;
	buf_init(&m, WIRE_REQ_MAX);
	buf_init(&again, WIRE_REQ_MAX);
	CHECK(wire_req_encode(&rq, &m) == 0);
	CHECK(wire_req_decode(m.p, m.len, &wr) == 0);
	CHECK_EQ_STR(wr.rq.method, "POST");
	CHECK_EQ_STR(wr.rq.path, rq.path);
	CHECK_EQ_STR(wr.rq.query, rq.query);
	CHECK_EQ_STR(wr.rq.cookie, rq.cookie);
	CHECK(wr.rq.content_type == NULL);
	CHECK(wr.rq.body_len == sizeof(body) - 1 && !memcmp(wr.rq.body, body, sizeof(body) - 1));
	CHECK_EQ_STR(wr.rq.client_ip, "2001:db8::1");
	CHECK_EQ_STR(wr.rq.cert_fp, rq.cert_fp);
	CHECK(wr.rq.tls == 1);
	CHECK(wire_req_encode(&wr.rq, &again) == 0 && again.len == m.len && !memcmp(again.p, m.p, m.len));
	wire_req_release(&wr);
	/* every byte cut off, and one byte more, is refused */
	for (size_t n = 0; n < m.len; n++) {
		CHECK(wire_req_decode(m.p, n, &wr) == ERR_PARSE);
		wire_req_release(&wr);
	}
	CHECK(buf_addch(&m, 'x') == 0);
	CHECK(wire_req_decode(m.p, m.len, &wr) == ERR_PARSE && strstr(err_msg(), "after the request"));
	wire_req_release(&wr);
	buf_release(&m);
	buf_release(&again);
}

TEST(request_limits)
{
	char *path = xmalloc(HTTP_PATH_MAX + 2), *body = xcalloc(1, HTTP_BODY_MAX + 1);
	struct http_req rq;
	struct buf m;
	struct wire_req wr;
	buf_init(&m, WIRE_REQ_MAX);
	path[0] = '/';
	memset(path + 1, 'a', HTTP_PATH_MAX - 1);
	path[HTTP_PATH_MAX] = 0;
	rq = sample(path, NULL, body, HTTP_BODY_MAX);
	CHECK(wire_req_encode(&rq, &m) == 0); /* at the limits */
	CHECK(wire_req_decode(m.p, m.len, &wr) == 0 && wr.rq.body_len == HTTP_BODY_MAX && wr.rq.cookie == NULL);
	wire_req_release(&wr);
	buf_reset(&m);
	path[HTTP_PATH_MAX] = 'a';
	path[HTTP_PATH_MAX + 1] = 0;
	CHECK(wire_req_encode(&rq, &m) == ERR_TOOBIG); /* one past */
	path[HTTP_PATH_MAX] = 0;
	buf_reset(&m);
	rq.body_len = HTTP_BODY_MAX + 1;
	CHECK(wire_req_encode(&rq, &m) == ERR_TOOBIG);
	/* a hand-made message one past the limit is refused before anything is allocated */
	buf_reset(&m);
	rq.body_len = 0;
	CHECK(wire_req_encode(&rq, &m) == 0);
	{
		/* the path's length field follows "SRq1", the tls byte and the method */
		size_t at = 4 + 1 + 1 + 4;
		uint32_t big = HTTP_PATH_MAX + 1;
		memcpy(m.p + at, &big, 4);
		CHECK(wire_req_decode(m.p, m.len, &wr) == ERR_PARSE && strstr(err_msg(), "path"));
		wire_req_release(&wr);
	}
	free(path);
	free(body);
	buf_release(&m);
}

TEST(request_hostile)
{
	struct http_req rq = sample("/x", "a=1", "", 0);
	struct buf m;
	struct wire_req wr;
	buf_init(&m, WIRE_REQ_MAX);
	rq.cookie = "a=1\r\nX-Evil: 1";
	CHECK(wire_req_encode(&rq, &m) == 0);
	CHECK(wire_req_decode(m.p, m.len, &wr) == ERR_PARSE && strstr(err_msg(), "control byte in cookie"));
	wire_req_release(&wr);
	buf_reset(&m);
	rq.cookie = NULL;
	rq.method = "PUT";
	CHECK(wire_req_encode(&rq, &m) == 0);
	CHECK(wire_req_decode(m.p, m.len, &wr) == ERR_PARSE && strstr(err_msg(), "not GET, HEAD or POST"));
	wire_req_release(&wr);
	CHECK(wire_req_decode("SRr1", 4, &wr) == ERR_PARSE);
	wire_req_release(&wr);
	buf_release(&m);
}

TEST(response_round_trip_and_hostile)
{
	struct http_resp rs, back;
	struct buf m, again;
	char ct[WIRE_CTYPE_MAX + 1];
	http_resp_init(&rs);
	buf_init(&m, WIRE_RESP_MAX);
	buf_init(&again, WIRE_RESP_MAX);
	rs.status = 303;
	rs.content_type = "text/html; charset=utf-8";
	snprintf(rs.location, sizeof(rs.location), "/r/p%%40v/blob/a%%0Ab");
	snprintf(rs.attachment, sizeof(rs.attachment), "FW-000001.pdf");
	CHECK(http_resp_cookie(&rs, "sr_session=%s; Path=/; Secure", "ab") == 0);
	CHECK(buf_add(&rs.body, "x\0y", 3) == 0);
	rs.sensitive = 1;
	CHECK(wire_resp_encode(&rs, &m) == 0);
	http_resp_init(&back);
	CHECK(wire_resp_decode(m.p, m.len, &back, ct) == 0);
	CHECK(back.status == 303 && back.sensitive == 1 && back.n_cookies == 1 && back.body.len == 3);
	CHECK_EQ_STR(back.content_type, "text/html; charset=utf-8");
	CHECK_EQ_STR(back.location, rs.location);
	CHECK_EQ_STR(back.attachment, rs.attachment);
	CHECK(wire_resp_encode(&back, &again) == 0 && again.len == m.len && !memcmp(again.p, m.p, m.len));
	http_resp_release(&back);
	/* a header the room could inject into the front's answer: refused */
	buf_reset(&m);
	rs.content_type = "text/html\r\nSet-Cookie: evil=1";
	CHECK(wire_resp_encode(&rs, &m) == 0);
	http_resp_init(&back);
	CHECK(wire_resp_decode(m.p, m.len, &back, ct) == ERR_PARSE && strstr(err_msg(), "control byte"));
	http_resp_release(&back);
	/* the session-asset caching crosses as a flag; any other cache header is refused, and a
	 * flag byte past 1 too */
	rs.content_type = "font/ttf";
	rs.cache_control = HTTP_CACHE_SESSION;
	buf_reset(&m);
	CHECK(wire_resp_encode(&rs, &m) == 0);
	http_resp_init(&back);
	CHECK(wire_resp_decode(m.p, m.len, &back, ct) == 0 && back.cache_control &&
	      !strcmp(back.cache_control, HTTP_CACHE_SESSION));
	http_resp_release(&back);
	m.p[m.len - 3 - 4 - 1] = 2; /* the flag: before the body's length and its 3 bytes */
	http_resp_init(&back);
	CHECK(wire_resp_decode(m.p, m.len, &back, ct) == ERR_PARSE && strstr(err_msg(), "cache flag"));
	http_resp_release(&back);
	rs.cache_control = "public, max-age=31536000";
	buf_reset(&m);
	CHECK(wire_resp_encode(&rs, &m) == ERR_USAGE);
	rs.cache_control = NULL;
	/* a status out of range is refused on both sides */
	rs.content_type = "text/plain";
	rs.status = 600;
	buf_reset(&m);
	CHECK(wire_resp_encode(&rs, &m) == ERR_USAGE);
	http_resp_release(&rs);
	buf_release(&m);
	buf_release(&again);
}

TEST(framing)
{
	int sp[2];
	struct buf in;
	char big[64];
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sp) == 0);
	buf_init(&in, 1 << 20);
	memset(big, 'z', sizeof(big));
	CHECK(wire_send(sp[0], "hello", 5) == 0);
	CHECK(wire_recv(sp[1], &in, 5) == 0 && in.len == 5 && !memcmp(in.p, "hello", 5));
	CHECK(wire_send(sp[0], big, sizeof(big)) == 0);
	CHECK(wire_recv(sp[1], &in, sizeof(big) - 1) == ERR_TOOBIG); /* one past the caller's limit */
	close(sp[0]);
	CHECK(wire_recv(sp[1], &in, 1 << 20) != 0); /* the rest of the cut message, then the end */
	close(sp[1]);
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sp) == 0);
	close(sp[0]);
	CHECK(wire_recv(sp[1], &in, 1 << 20) == ERR_NOTFOUND); /* a clean end */
	close(sp[1]);
	buf_release(&in);
}

int main(void)
{
	RUN(request_round_trip);
	RUN(request_limits);
	RUN(request_hostile);
	RUN(response_round_trip_and_hostile);
	RUN(framing);
	return test_done();
}
