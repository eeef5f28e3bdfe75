/* Unit tests: console (the request parser, the build result on the wire, the keyring
 * socket's console channel: frames, error codes, limits, a stopping listener). */
#include <pthread.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "console.h"
#include "keyring.h"
#include "policy.h"
#include "room.h"
#include "test.h"

static char root[] = "/tmp/sealroom-console-XXXXXX";
static char dir[300];
static struct facility *fac;

static int parses(const char *s, struct console_request *q)
{
	return console_request_parse(s, strlen(s), q);
}

TEST(request_parse)
{
	struct console_request q;
	static const char *const bad[] = {
		"",
		"not json",
		"[]",
		"{}",
		"{\"op\":\"shell\",\"release\":\"fw@1\"}",
		"{\"op\":\"build\"}",                                            /* no release */
		"{\"op\":\"build\",\"release\":\"fw\"}",                         /* no version */
		"{\"op\":\"build\",\"release\":\"@1\"}",
		"{\"op\":\"build\",\"release\":\"fw@1\",\"extra\":1}",           /* unknown key */
		"{\"op\":\"build\",\"release\":\"fw@1\",\"op\":\"build\"}",      /* a key twice */
		"{\"op\":\"build\",\"release\":\"fw@1\",\"as\":\"rita\"}",       /* another op's key */
		"{\"op\":\"build\",\"release\":7}",                              /* a number */
		"{\"op\":\"import\",\"release\":\"fw@1\"}",                      /* no reviewer */
		"{\"op\":\"import\",\"release\":\"fw@1\",\"as\":\"rita\",\"recipe\":\"x\"}",
		"{\"op\":\"state\",\"id\":0,\"state\":\"open\",\"as\":\"rita\"}",
		"{\"op\":\"state\",\"id\":-4,\"state\":\"open\",\"as\":\"rita\"}",
		"{\"op\":\"state\",\"id\":\"1\",\"state\":\"open\",\"as\":\"rita\"}",
		"{\"op\":\"state\",\"id\":1,\"as\":\"rita\"}",
		"{\"op\":\"state\",\"id\":1,\"state\":\"open\",\"as\":\"rita\",\"release\":\"fw@1\"}",
		"{\"op\":\"build\",\"release\":\"fw@1\"} trailing",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = parses(bad[i], &q);
		CHECK(r == ERR_PARSE);
		if (r != ERR_PARSE)
			fprintf(stderr, "accepted: %s\n", bad[i]);
		CHECK(strstr(err_msg(), "console: malformed request") != NULL);
		CHECK(q.json == NULL);
	}
	{
		char big[2 * 128 + 64];
		snprintf(big, sizeof(big), "{\"op\":\"build\",\"release\":\"fw@%0130d\"}", 1);
		CHECK(parses(big, &q) == ERR_PARSE); /* a version past RELEASE_NAME_MAX */
	}
	CHECK(parses("{\"op\":\"build\",\"release\":\"fw@1.0\",\"recipe\":\"b/r\",\"actor\":\"local:otto\"}", &q) == 0);
	CHECK(q.op == CONSOLE_BUILD);
	CHECK_EQ_STR(q.product, "fw");
	CHECK_EQ_STR(q.version, "1.0");
	CHECK_EQ_STR(q.recipe, "b/r");
	CHECK_EQ_STR(q.actor, "local:otto");
	console_request_release(&q);
	/* an actor that is not "local:" and a valid name is the console's own */
	static const char *const actors[] = {"operator", "local:", "local:a b", "local:../x", "remote:otto"};
	for (size_t i = 0; i < sizeof(actors) / sizeof(actors[0]); i++) {
		char req[200];
		snprintf(req, sizeof(req), "{\"op\":\"build\",\"release\":\"fw@1\",\"actor\":\"%s\"}", actors[i]);
		CHECK(parses(req, &q) == 0);
		CHECK_EQ_STR(q.actor, "local:operator");
		console_request_release(&q);
	}
	CHECK(parses("{\"op\":\"import\",\"release\":\"fw@2\",\"as\":\"rita\"}", &q) == 0);
	CHECK(q.op == CONSOLE_IMPORT && !strcmp(q.as, "rita") && !strcmp(q.version, "2") && !q.recipe);
	console_request_release(&q);
	CHECK(parses("{\"op\":\"state\",\"id\":12,\"state\":\"fixed\",\"as\":\"vera\",\"fixed_in\":\"2\",\"comment\":\"c\"}",
		     &q) == 0);
	CHECK(q.op == CONSOLE_STATE && q.id == 12 && !strcmp(q.state, "fixed") && !strcmp(q.fixed_in, "2") &&
	      !strcmp(q.comment, "c") && !q.product[0]);
	console_request_release(&q);
}

TEST(build_result_wire)
{
	struct build_result r = {0}, *back = NULL;
	struct build_output outs[2];
	struct buf j;
	buf_init(&j, 1 << 20);
	r.id = 42;
	snprintf(r.invocation, sizeof(r.invocation), "%032x", 7);
	r.reproducible = 0;
	r.varies = BUILD_VAR_PATH | BUILD_VAR_HOST;
	r.differs = "out/a \"quoted\"";
	r.runs = 6;
	memset(r.env_digest, 'a', 64);
	memset(r.tree_sha256, 'b', 64);
	r.log_index = 99;
	outs[0].path = "out/a \"quoted\"";
	outs[1].path = "out/b";
	for (int i = 0; i < 2; i++) {
		memset(outs[i].sha256, 0x10 + i, 32);
		outs[i].size = 1000u + (unsigned)i;
	}
	r.outputs = outs;
	r.n_outputs = 2;
	CHECK(console_build_json(&r, &j) == 0);
	CHECK(console_build_parse(j.p, j.len, &back) == 0);
	if (back) {
		CHECK(back->id == 42 && back->varies == r.varies && back->runs == 6 && back->log_index == 99 &&
		      !back->reproducible && back->n_outputs == 2 && !back->envelope);
		CHECK_EQ_STR(back->differs, r.differs);
		CHECK_EQ_STR(back->invocation, r.invocation);
		CHECK_EQ_STR(back->env_digest, r.env_digest);
		CHECK_EQ_STR(back->tree_sha256, r.tree_sha256);
		for (int i = 0; i < 2 && back->n_outputs == 2; i++) {
			CHECK_EQ_STR(back->outputs[i].path, outs[i].path);
			CHECK(!memcmp(back->outputs[i].sha256, outs[i].sha256, 32) && back->outputs[i].size == outs[i].size);
		}
	}
	build_result_free(back);
	back = NULL;
	{
		/* every malformed answer refused, nothing returned */
		static const char *const bad[] = {
			"",
			"{}",
			"{\"id\":1,\"invocation\":\"x\",\"reproducible\":true,\"varies\":0,\"runs\":2,\"outputs\":[],"
			"\"env_digest\":\"zz\",\"tree_sha256\":\"" /* bad hex */
			"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\",\"log_index\":1}",
			"{\"id\":1,\"invocation\":\"x\",\"reproducible\":true,\"varies\":99,\"runs\":2,\"outputs\":[],"
			"\"env_digest\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"tree_sha256\":\""
			"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\",\"log_index\":1}",
			"{\"id\":1,\"invocation\":\"x\",\"reproducible\":true,\"varies\":0,\"runs\":2,\"outputs\":[{\"path\":\"a\","
			"\"sha256\":\"00\",\"size\":1}],"
			"\"env_digest\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"tree_sha256\":\""
			"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\",\"log_index\":1}",
			"{\"id\":1,\"invocation\":\"x\",\"reproducible\":true,\"varies\":0,\"runs\":2,\"outputs\":[{\"path\":\"a\","
			"\"sha256\":\"cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc\",\"size\":-1}],"
			"\"env_digest\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"tree_sha256\":\""
			"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\",\"log_index\":1}",
			"{\"id\":1,\"invocation\":\"x\",\"reproducible\":true,\"varies\":0,\"runs\":2,\"outputs\":[],\"more\":1,"
			"\"env_digest\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"tree_sha256\":\""
			"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\",\"log_index\":1}",
		};
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			CHECK(console_build_parse(bad[i], strlen(bad[i]), &back) == ERR_PARSE);
			CHECK(back == NULL);
		}
	}
	buf_release(&j);
}

/* ---- the channel, with a handler of the test's own ---- */

static volatile int saw_cancel;

static int handler(void *ctx, struct facility *f, const char *req, size_t req_len, const char *body, size_t body_len,
		   void (*frame)(void *fctx, const char *p, size_t len), void *frame_ctx, const volatile int *cancel,
		   struct buf *out)
{
	(void)ctx;
	if (!f)
		return err_set(ERR_IO, "no facility handle");
	if (req_len == 4 && !memcmp(req, "echo", 4)) {
		frame(frame_ctx, "one", 3);
		frame(frame_ctx, "two", 3);
		return buf_addf(out, "body %zu bytes, last %d", body_len, body_len ? body[body_len - 1] : -1);
	}
	if (req_len == 5 && !memcmp(req, "usage", 5))
		return err_set(ERR_USAGE, "a usage error, as the command would have it");
	if (req_len == 4 && !memcmp(req, "slow", 4)) {
		for (int i = 0; i < 600 && !*cancel; i++)
			usleep(10000);
		saw_cancel = *cancel;
		return err_set(ERR_IO, "stopped");
	}
	return err_set(ERR_PARSE, "console: malformed request");
}

struct frames_seen {
	char text[64];
	int n;
};

static void on_frame(void *ctx, const char *p, size_t len)
{
	struct frames_seen *s = ctx;
	size_t at = strlen(s->text);
	snprintf(s->text + at, sizeof(s->text) - at, "%.*s;", (int)len, p);
	s->n++;
}

static void *send_slow(void *p)
{
	struct buf out;
	buf_init(&out, 4096);
	*(int *)p = keyring_send_console(fac, NULL, "slow", NULL, 0, NULL, NULL, &out);
	buf_release(&out);
	return NULL;
}

TEST(channel)
{
	struct keyring *k = NULL;
	struct keyring_listener *l = NULL;
	struct frames_seen seen = {{0}, 0};
	struct buf out;
	char body[5000];
	pthread_t th;
	int slow_r = 1;
	buf_init(&out, KEYRING_CONSOLE_ANSWER_MAX);
	memset(body, 'z', sizeof(body));
	body[sizeof(body) - 1] = 'q';
	CHECK(keyring_new(&k) == 0);
	CHECK(keyring_send_console(fac, NULL, "echo", body, sizeof(body), on_frame, &seen, &out) == ERR_NOTFOUND);
	CHECK(keyring_listen(k, fac, NULL, &l) == 0);
	CHECK(keyring_listener_start(l) == 0);
	/* no console registered: the op is refused, the listener goes on */
	CHECK(keyring_send_console(fac, NULL, "echo", NULL, 0, NULL, NULL, &out) == ERR_NOTFOUND);
	CHECK(strstr(err_msg(), "runs no console") != NULL);
	keyring_listener_free(l);
	l = NULL;
	CHECK(keyring_listen(k, fac, NULL, &l) == 0);
	keyring_listener_console(l, handler, NULL);
	CHECK(keyring_listener_start(l) == 0);
	CHECK(keyring_send_console(fac, NULL, "echo", body, sizeof(body), on_frame, &seen, &out) == 0);
	CHECK_EQ_STR(out.p, "body 5000 bytes, last 113");
	CHECK(seen.n == 2);
	CHECK_EQ_STR(seen.text, "one;two;");
	/* the handler's own code and message come back */
	CHECK(keyring_send_console(fac, NULL, "usage", NULL, 0, NULL, NULL, &out) == ERR_USAGE);
	CHECK_EQ_STR(err_msg(), "a usage error, as the command would have it");
	/* a request line holding a newline, or one past the limit, is not sent */
	CHECK(keyring_send_console(fac, NULL, "a\nb", NULL, 0, NULL, NULL, &out) == ERR_TOOBIG);
	CHECK(keyring_send_console(fac, NULL, "echo", body, KEYRING_CONSOLE_REQUEST_MAX, NULL, NULL, &out) == ERR_TOOBIG);
	/* a job still running when the listener stops sees cancel; free waits for it */
	saw_cancel = 0;
	CHECK(pthread_create(&th, NULL, send_slow, &slow_r) == 0);
	usleep(200000);
	keyring_listener_free(l);
	CHECK(saw_cancel == 1);
	pthread_join(th, NULL);
	CHECK(slow_r == ERR_IO);
	keyring_free(k);
	buf_release(&out);
}

/* A raw client of the socket that sends (p, len) and then nothing: its descriptor. */
static int trickle(const void *p, size_t len)
{
	struct sockaddr_un sa = {0};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0), n;
	sa.sun_family = AF_UNIX;
	n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%.80s/keyring.sock", dir);
	if (fd < 0 || n <= 0 || (size_t)n >= sizeof(sa.sun_path) || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) || send(fd, p, len, 0) != (ssize_t)len) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* A client that sends part of its message and waits (between bytes less than the socket's
 * timeout) holds neither a console job nor the listener once the room stops. */
TEST(trickle_stop)
{
	static const unsigned char body_head[] = {'S', 'R', 'K', '2', 'C', 0, 0, 0, 100, '{'};
	struct keyring *k = NULL;
	struct keyring_listener *l = NULL;
	struct timespec t0;
	int a, b;
	CHECK(keyring_new(&k) == 0);
	/* a console job reading a request that never ends */
	CHECK(keyring_listen(k, fac, NULL, &l) == 0);
	keyring_listener_console(l, handler, NULL);
	CHECK(keyring_listener_start(l) == 0);
	CHECK((a = trickle(body_head, sizeof(body_head))) >= 0);
	usleep(300000);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	keyring_listener_free(l);
	CHECK(seconds_since(&t0) < 2);
	/* the listener itself reading a head that never ends */
	l = NULL;
	CHECK(keyring_listen(k, fac, NULL, &l) == 0);
	CHECK(keyring_listener_start(l) == 0);
	CHECK((b = trickle("SRK", 3)) >= 0);
	usleep(300000);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	keyring_listener_free(l);
	CHECK(seconds_since(&t0) < 2);
	if (a >= 0)
		close(a);
	if (b >= 0)
		close(b);
	keyring_free(k);
}

/* An import is refused before any release is opened when who may not file, or the log is
 * not SARIF; nothing is stored. */
TEST(import_refusals)
{
	struct keyring *k = NULL;
	struct rooms *rs;
	struct buf report;
	size_t filed = 9;
	static const char sarif[] = "{\"version\":\"2.1.0\",\"runs\":[]}";
	buf_init(&report, 4096);
	CHECK(keyring_new(&k) == 0);
	rs = rooms_new(k);
	rooms_quiet(rs);
	CHECK(console_findings_import(rs, fac, "fw", "1", "vera", sarif, strlen(sarif), NULL, &report, &filed) == ERR_DENIED);
	CHECK(strstr(err_msg(), "'vera' is a vendor, not a lab's reviewer") != NULL);
	CHECK(filed == 0);
	CHECK(console_findings_import(rs, fac, "fw", "1", "nobody", sarif, strlen(sarif), NULL, &report, &filed) == ERR_NOTFOUND);
	CHECK(report.len == 0);
	rooms_free(rs);
	keyring_free(k);
	buf_release(&report);
}

int main(void)
{
	char cmd[400];
	unsigned char s[AUTH_TOTP_SECRET_LEN];
	int rc;
	if (!mkdtemp(root))
		return 1;
	snprintf(dir, sizeof(dir), "%s/f", root);
	if (facility_init(dir, "room.example") || facility_open(dir, &fac) ||
	    policy_org_add(fac, "acme", "vendor", "t") ||
	    policy_person_add(fac, "vera", "acme", "vendor", "", "a good long password", "t", s))
		return 1;
	RUN(request_parse);
	RUN(build_result_wire);
	RUN(channel);
	RUN(trickle_stop);
	RUN(import_refusals);
	facility_free(fac);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	rc = system(cmd);
	(void)rc;
	return test_done();
}
