/* Unit tests: shield (the renderer's hooks: cipher text, session assets, quota charges). */
#include "cipherfont.h"
#include "quota.h"
#include "shield.h"
#include "test.h"
#include "trace.h"

TEST(hooks)
{
	char root[] = "/tmp/sealroom-shield-XXXXXX", dir[300], cmd[400];
	struct shield *s = NULL;
	const struct render_hooks *h;
	struct session_info a, b;
	struct grant_info g;
	struct render_view v;
	struct buf out, out2;
	const char *ctype = NULL;
	int status = 0;
	struct facility *f = NULL;

	CHECK(mkdtemp(root) != NULL);
	snprintf(dir, sizeof(dir), "%s/f", root);
	CHECK(facility_init(dir, "shield.test") == 0);
	CHECK(shield_new(dir, &s) == 0);
	if (!s)
		return;
	CHECK(facility_open(dir, &f) == 0);
	h = shield_hooks(s);
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	snprintf(a.login, sizeof(a.login), "rita");
	snprintf(a.org, sizeof(a.org), "lab-1");
	snprintf(a.session_id, sizeof(a.session_id), "00000000000000a1");
	b = a;
	snprintf(b.session_id, sizeof(b.session_id), "00000000000000b2");
	buf_init(&out, 1 << 24);
	buf_init(&out2, 1 << 24);
	memset(&v, 0, sizeof(v));
	v.who = &a;
	/* code leaves as private-use code points, differently per session */
	CHECK(h->transform(h->ctx, &v, "return 0;", 9, &out) == 0);
	CHECK(out.len > 9 && !strstr(out.p, "return"));
	v.who = &b;
	CHECK(h->transform(h->ctx, &v, "return 0;", 9, &out2) == 0);
	CHECK(strcmp(out.p, out2.p) != 0);
	/* trace finds the session from that text */
	{
		struct trace_report rep;
		buf_reset(&out);
		CHECK(shield_encode(s, &a, "int main(void) { return 0; }", 28, &out) == 0);
		CHECK(auth_log(f, "login", "rita", json_pack("{s:s}", "session", a.session_id)) == 0);
		CHECK(auth_log(f, "login", "rita", json_pack("{s:s}", "session", b.session_id)) == 0);
		CHECK(trace_leak(f, out.p, out.len, &rep) == 0 && rep.found);
		CHECK_EQ_STR(rep.session.session_id, a.session_id);
	}
	/* the session's assets */
	buf_reset(&out);
	CHECK(h->asset(h->ctx, &a, "code.ttf", &status, &ctype, &out) == 0 && status == 200);
	CHECK_EQ_STR(ctype, "font/ttf");
	CHECK(out.len > 100000 && !memcmp(out.p, "\0\1\0\0", 4));
	buf_reset(&out);
	CHECK(h->asset(h->ctx, &a, "mark.png", &status, &ctype, &out) == 0 && !memcmp(out.p, "\x89PNG", 4));
	buf_reset(&out);
	CHECK(h->asset(h->ctx, &a, "watermark.svg", &status, &ctype, &out) == 0 && strstr(out.p, "rita"));
	CHECK(strstr(out.p, "00000000000000a1") != NULL);
	buf_reset(&out);
	CHECK(h->asset(h->ctx, &a, "room.css", &status, &ctype, &out) == 0 && strstr(out.p, "sr-code"));
	CHECK(h->asset(h->ctx, &a, "../etc/passwd", &status, &ctype, &out) == ERR_NOTFOUND);
	buf_reset(&out);
	CHECK(h->head(h->ctx, &v, &out) == 0 && strstr(out.p, "/s/room.css"));
	/* the session's assets under URLs of its own: a cached copy is never another session's */
	{
		char want[64];
		snprintf(want, sizeof(want), "/s/room.css?v=%s\"", v.who->session_id);
		CHECK(strstr(out.p, want) != NULL);
		buf_reset(&out);
		CHECK(h->asset(h->ctx, v.who, "room.css", &status, &ctype, &out) == 0);
		snprintf(want, sizeof(want), "/s/code.ttf?v=%s)", v.who->session_id);
		CHECK(strstr(out.p, want) != NULL && !strstr(out.p, "{SID}"));
	}
	buf_reset(&out);
	CHECK(h->overlay(h->ctx, &v, &out) == 0 && strstr(out.p, "sr-watermark"));
	/* quota: one view at the limit, the next one refused; a search draws on the same pool */
	memset(&g, 0, sizeof(g));
	g.id = 9;
	g.lines_per_day = 50;
	g.lines_total = g.prints = POLICY_UNLIMITED;
	{
		struct quota_line l[51];
		for (int i = 0; i < 51; i++)
			l[i] = (struct quota_line){NULL, "b1", "a.c", (uint64_t)i + 1, 8};
		v.kind = "view";
		v.who = &a;
		v.grant = &g;
		v.path = "a.c";
		v.shown = l;
		v.n_shown = 50;
		v.now = 1894010400;
		CHECK(h->quota(h->ctx, f, &v) == 0);
		CHECK(h->quota(h->ctx, f, &v) == 0); /* the same lines again: free */
		v.shown = l + 50;
		v.n_shown = 1;
		CHECK(h->quota(h->ctx, f, &v) == ERR_DENIED && strstr(err_msg(), "lines_per_day"));
		v.kind = "search";
		CHECK(h->quota(h->ctx, f, &v) == ERR_DENIED && strstr(err_msg(), "lines_per_day"));
		v.kind = "diff";
		v.shown = l;
		v.n_shown = 50;
		CHECK(h->quota(h->ctx, f, &v) == 0);
	}
	buf_release(&out);
	buf_release(&out2);
	facility_free(f);
	shield_free(s);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	CHECK(system(cmd) == 0);
}

int main(void)
{
	RUN(hooks);
	return test_done();
}
