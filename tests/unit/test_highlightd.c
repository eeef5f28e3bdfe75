/*
 * test_highlightd: the highlight worker colours as tree-sitter does in process, is
 * sandboxed, and is not believed: a worker that lies, hangs or dies leaves a page plain and
 * is replaced.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "highlightd.h"
#include "render.h"
#include "test.h"
#include "worker_fixture.h"

/* this binary is the worker's image too: an honest one, or the hostile one named by
 * HIGHLIGHTD_TEST_HOSTILE (hostile_highlightd.h) */
#include "hostile_highlightd.h"

static const struct {
	enum hl_lang lang;
	const char *src;
} samples[] = {
	{HL_C, "#include <stdio.h>\n/* a comment */\nstatic int add(int a, int b)\n{\n\treturn a + b; // sum\n}\n"
	       "int main(void) { printf(\"%d\\n\", add(1, 2)); return 0; }\n"},
	{HL_CPP, "namespace n { template <class T> class box { public: T v; box() : v() {} }; }\n"
		 "auto f = [](int x) { return x * 2; };\n"},
	{HL_GO, "package main\nimport \"fmt\"\nfunc main() { x := 42; fmt.Println(x) }\n"},
	{HL_JAVA, "public class A { private static final int N = 3; void run() { System.out.println(\"hi\"); } }\n"},
	{HL_JAVASCRIPT, "const f = async (a) => { await g(`t${a}`); return /re+/.test(a); };\n"},
	{HL_PYTHON, "def f(x):\n    \"\"\"doc\"\"\"\n    return [i for i in range(x) if i % 2]  # odd\n"},
	{HL_RUST, "fn main() { let v: Vec<u8> = vec![1, 2]; println!(\"{:?}\", v); }\n"},
	{HL_BASH, "#!/bin/sh\nfor f in *.c; do echo \"$f\"; done\n"},
	{HL_C, "int x = 'a' + \"unterminated\n"},
	{HL_C, "\xff\xfe\x00 int \x80\x81 y;\n"},
};

static int same_spans(const struct hl_span *a, size_t na, const struct hl_span *b, size_t nb)
{
	if (na != nb)
		return 0;
	for (size_t i = 0; i < na; i++)
		if (a[i].start != b[i].start || a[i].end != b[i].end || a[i].cls != b[i].cls)
			return 0;
	return 1;
}

/* The worker's spans equal the in-process ones for src. */
static int as_in_process(struct highlightd *h, enum hl_lang lang, const char *src, size_t len)
{
	struct hl_span *a = NULL, *b = NULL;
	size_t na = 0, nb = 0;
	int ok = highlight(lang, src, len, &a, &na, 0) == 0 && highlightd_spans(h, lang, src, len, 0, &b, &nb) == 0 &&
		 same_spans(a, na, b, nb);
	free(a);
	free(b);
	return ok;
}

TEST(worker_colours_as_in_process)
{
	struct highlightd *h = highlightd_new();
	static const char *const tokens[] = {
		"int", " ", "x", "=", "\"s\"", "'c'", "/*", "*/", "//", "\n", "{", "}", "(", ")", ";", "return",
		"#define", "#include", "<a.h>", "0x1f", "3.5", "class", "def", "fn", "func", "let", "\\", "`", "$",
		"for", "if", "else", "::", "->", "@", "\t", "\xc3\xa9", "\xff",
		/* characters of 3 and 4 bytes, and bytes that are no character: a stray continuation
		 * byte, a cut sequence, a surrogate, an overlong form (the room refuses spans cut
		 * inside a character, and tree-sitter's never are) */
		"\xe2\x82\xac", "\xf0\x9f\x98\x80", "\x80", "\xe2\x82", "\xed\xa0\x80", "\xc0\xaf", "\"\xc3\xa9\"",
	};
	unsigned seed = 12345;
	int bad = 0;
	CHECK(worker_child(HIGHLIGHTD_ARG) == 0); /* none until a file needs it */
	for (size_t i = 0; i < sizeof(samples) / sizeof(*samples); i++) {
		struct hl_span *sp = NULL;
		size_t n = 0;
		CHECK(as_in_process(h, samples[i].lang, samples[i].src, strlen(samples[i].src)));
		CHECK(highlightd_spans(h, samples[i].lang, samples[i].src, strlen(samples[i].src), 0, &sp, &n) == 0);
		if (i < 8)
			CHECK(n > 0); /* real code has colours */
		free(sp);
	}
	CHECK(worker_child(HIGHLIGHTD_ARG) > 0);
	/* 600 generated texts over every language */
	for (int k = 0; k < 600; k++) {
		char src[2048];
		size_t len = 0;
		int nt = (int)(rand_r(&seed) % 120);
		enum hl_lang lang = (enum hl_lang)(1 + rand_r(&seed) % (HL_NLANG - 1));
		for (int t = 0; t < nt; t++) {
			const char *tok = tokens[rand_r(&seed) % (sizeof(tokens) / sizeof(*tokens))];
			size_t tl = strlen(tok);
			if (len + tl >= sizeof(src))
				break;
			memcpy(src + len, tok, tl);
			len += tl;
		}
		if (!as_in_process(h, lang, src, len))
			bad++;
	}
	CHECK(bad == 0);
	/* plain without asking the worker: no language, nothing, past the size */
	{
		struct hl_span *sp = (struct hl_span *)1;
		size_t n = 1;
		CHECK(highlightd_spans(h, HL_NONE, "int x;", 6, 0, &sp, &n) == 0 && !sp && !n);
		CHECK(highlightd_spans(h, HL_C, "", 0, 0, &sp, &n) == 0 && !sp && !n);
	}
	highlightd_free(h);
}

TEST(worker_is_sandboxed)
{
	struct highlightd *h = highlightd_new();
	struct hl_span *sp = NULL;
	size_t n = 0;
	char path[64], line[256], link[256];
	int seccomp = 0, nnp = 0, root = 1, dumpable = 1;
	FILE *st;
	pid_t p;
	CHECK(highlightd_spans(h, HL_C, samples[0].src, strlen(samples[0].src), 0, &sp, &n) == 0 && n);
	free(sp);
	p = worker_child(HIGHLIGHTD_ARG);
	CHECK(p > 0);
	snprintf(path, sizeof(path), "/proc/%d/status", (int)p);
	if ((st = fopen(path, "r"))) {
		while (fgets(line, sizeof(line), st)) {
			seccomp |= !strcmp(line, "Seccomp:\t2\n");
			nnp |= !strcmp(line, "NoNewPrivs:\t1\n");
			if (!strncmp(line, "Uid:", 4))
				root = atoi(line + 4) == 0;
		}
		fclose(st);
	}
	CHECK(seccomp && nnp);
	CHECK(!root || geteuid() != 0);
	/* non-dumpable: as root the files of /proc/PID are root's, else unreadable */
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)p);
	dumpable = access(path, R_OK) == 0 && geteuid() != 0;
	CHECK(!dumpable);
	/* it holds no file: every descriptor is /dev/null, a socket or a pipe */
	for (int fd = 0; fd < 64; fd++) {
		ssize_t k;
		snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)p, fd);
		if ((k = readlink(path, link, sizeof(link) - 1)) < 0)
			continue;
		link[k] = 0;
		if (strcmp(link, "/dev/null") && strncmp(link, "socket:", 7) && strncmp(link, "pipe:", 5) &&
		    strncmp(link, "anon_inode:", 11)) {
			fprintf(stderr, "  the highlight worker holds %s\n", link);
			CHECK(0);
		}
	}
	highlightd_free(h);
}

TEST(worker_dies_hangs_or_is_killed)
{
	struct highlightd *h = highlightd_new();
	const char *src = samples[0].src;
	size_t len = strlen(src), n = 0;
	struct hl_span *sp = NULL;
	struct timespec t0, t1;
	double s;
	pid_t p1, p2;
	CHECK(highlightd_spans(h, HL_C, src, len, 0, &sp, &n) == 0 && n);
	free(sp);
	p1 = worker_child(HIGHLIGHTD_ARG);
	/* killed between files: the next has a new worker */
	kill(p1, SIGKILL);
	usleep(100000);
	CHECK(highlightd_spans(h, HL_C, src, len, 0, &sp, &n) == 0 && n);
	free(sp);
	p2 = worker_child(HIGHLIGHTD_ARG);
	CHECK(p2 > 0 && p2 != p1);
	/* hung: after the budget and the grace the file is plain, and the worker killed */
	kill(p2, SIGSTOP);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK(highlightd_spans(h, HL_C, src, len, 100000, &sp, &n) == ERR_IO && !sp && !n);
	CHECK(strstr(err_msg(), "no answer within") != NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	CHECK(s >= (100 + HIGHLIGHTD_GRACE_MS) / 1000.0 - 0.05 && s < (100 + HIGHLIGHTD_GRACE_MS) / 1000.0 + 2);
	CHECK(kill(p2, 0) < 0 && errno == ESRCH);
	CHECK(worker_child(HIGHLIGHTD_ARG) == 0);
	CHECK(highlightd_spans(h, HL_C, src, len, 0, &sp, &n) == 0 && n);
	free(sp);
	/* a release closed: no worker again */
	highlightd_kill(h);
	CHECK(highlightd_spans(h, HL_C, src, len, 0, &sp, &n) == ERR_IO && !n && worker_child(HIGHLIGHTD_ARG) == 0);
	highlightd_free(h);
}

struct queued {
	struct highlightd *h;
	double s;
	int e;
};

static void *page_queued(void *arg)
{
	struct queued *q = arg;
	struct hl_span *sp = NULL;
	size_t n = 0;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	q->e = highlightd_spans(q->h, HL_C, samples[0].src, strlen(samples[0].src), 100000, &sp, &n);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	q->s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	free(sp);
	return NULL;
}

TEST(hostile_worker_is_not_believed)
{
	static const char *const modes[] = {"overlap", "past", "class", "huge", "text"};
	const char *src = samples[0].src;
	for (size_t i = 0; i < sizeof(modes) / sizeof(*modes); i++) {
		struct highlightd *h = highlightd_new();
		struct hl_span *sp = NULL;
		size_t n = 0;
		setenv("HIGHLIGHTD_TEST_HOSTILE", modes[i], 1);
		CHECK(highlightd_spans(h, HL_C, src, strlen(src), 0, &sp, &n) == ERR_IO && !sp && !n);
		unsetenv("HIGHLIGHTD_TEST_HOSTILE");
		CHECK(worker_child(HIGHLIGHTD_ARG) == 0); /* killed */
		/* the next file has an honest worker again */
		CHECK(highlightd_spans(h, HL_C, src, strlen(src), 0, &sp, &n) == 0 && n);
		free(sp);
		highlightd_free(h);
	}
	/* one that hangs under 12 pages at once on 4 channels: none waits longer than its own
	 * time for a channel and its own time for the answer */
	{
		enum { N = 12 };
		struct highlightd *h = highlightd_new();
		struct queued q[N];
		pthread_t th[N];
		double worst = 0;
		setenv("HIGHLIGHTD_TEST_HOSTILE", "hang", 1);
		for (int i = 0; i < N; i++) {
			q[i] = (struct queued){h, 0, 0};
			CHECK(pthread_create(&th[i], NULL, page_queued, &q[i]) == 0);
		}
		for (int i = 0; i < N; i++) {
			pthread_join(th[i], NULL);
			CHECK(q[i].e == ERR_IO || q[i].e == ERR_BUSY);
			worst = q[i].s > worst ? q[i].s : worst;
		}
		unsetenv("HIGHLIGHTD_TEST_HOSTILE");
		CHECK(worst < 2 * (100 + HIGHLIGHTD_GRACE_MS) / 1000.0 + 1.5);
		if (worst >= 2 * (100 + HIGHLIGHTD_GRACE_MS) / 1000.0 + 1.5)
			fprintf(stderr, "  a page waited %.1f s\n", worst);
		highlightd_free(h);
	}
}

/*
 * A worker that reads no request: a file larger than the socket's buffer fills it, and the
 * room's write waited for good (past the front's answer timeout: the room was restarted).
 * The page is plain within its budget and the grace, the worker stopped.
 */
struct paged {
	struct highlightd *h;
	const char *src;
	size_t len;
	int e, done;
	double s;
	char msg[256];
};

static void *page_one(void *arg)
{
	struct paged *q = arg;
	struct hl_span *sp = NULL;
	size_t n = 0;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	q->e = highlightd_spans(q->h, HL_C, q->src, q->len, 100000, &sp, &n);
	snprintf(q->msg, sizeof(q->msg), "%s", err_msg());
	clock_gettime(CLOCK_MONOTONIC, &t1);
	q->s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	free(sp);
	__atomic_store_n(&q->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

TEST(worker_that_reads_nothing)
{
	size_t len = HL_MAX_BYTES;
	char *src = xmalloc(len);
	struct paged q = {NULL, src, len, 0, 0, 0, ""};
	pthread_t th;
	int waited = 0;
	for (size_t i = 0; i < len; i++)
		src[i] = "int x;\n"[i % 7];
	signal(SIGPIPE, SIG_IGN); /* as in the room: a worker gone is an error, not a signal */
	setenv("HIGHLIGHTD_TEST_HOSTILE", "deaf", 1);
	q.h = highlightd_new();
	CHECK(pthread_create(&th, NULL, page_one, &q) == 0);
	while (!__atomic_load_n(&q.done, __ATOMIC_SEQ_CST) && waited < 100) {
		usleep(100000);
		waited++;
	}
	unsetenv("HIGHLIGHTD_TEST_HOSTILE");
	CHECK(q.done);
	if (!q.done) {
		fprintf(stderr, "  the page still waits after 10 s: the worker is killed to end it\n");
		kill(worker_child(HIGHLIGHTD_ARG), SIGKILL);
	}
	pthread_join(th, NULL);
	CHECK(q.e == ERR_IO && strstr(q.msg, "no answer within") != NULL);
	CHECK(q.s < (100 + HIGHLIGHTD_GRACE_MS) / 1000.0 + 1);
	CHECK(worker_child(HIGHLIGHTD_ARG) == 0);
	highlightd_free(q.h);
	free(src);
}

/*
 * The room's buffers of a file: after a page, no freed block holds its bytes. An answer
 * read into the request's buffer grew it (a span is 10 bytes, more than most bytes of a
 * file), and realloc freed the block that held the file as it was. glibc gives a thread the
 * block it freed last of a size first: the request's size is asked for, and looked into.
 */
TEST(room_frees_no_copy_of_the_file)
{
	static const char src[] = "int a[] = {1,2,3,4,5,6,7,8,9}; /* leftover_marker_q */ int b[] = {1,2,3,4,5,6,7,8,9};\n";
	struct highlightd *h = highlightd_new();
	struct hl_span *sp = NULL;
	size_t n = 0, cap = 64;
	while (cap < 13 + sizeof(src))
		cap *= 2;
	for (int k = 0; k < 2; k++) { /* the second time with the worker running: nothing else freed */
		CHECK(highlightd_spans(h, HL_C, src, sizeof(src) - 1, 0, &sp, &n) == 0 && 10 * n + 8 > cap);
		free(sp);
		sp = NULL;
	}
	{
		char *p[32];
		int found = 0;
		for (int i = 0; i < 32; i++) {
			p[i] = malloc(cap - 8);
			__asm__ volatile("" : : "r"(p[i]) : "memory"); /* what is there is what free() left */
			found += p[i] && memmem(p[i], cap - 8, "leftover_marker", 15) != NULL;
		}
		for (int i = 0; i < 32; i++)
			free(p[i]);
		CHECK(!found);
	}
	highlightd_free(h);
}

/*
 * Spans whose ends fall inside a character are refused: the page reads a file a character
 * at a time (cipher_encode), and a character cut in two is two invalid halves, U+FFFD on
 * the page. Ends between characters, or at bytes that are no character, are taken.
 */
TEST(spans_cut_no_character)
{
	/* a é b € c 😀 d, a stray 0xff and 0x80, e and a cut sequence, f */
	static const char src[] = "a\xc3\xa9" "b\xe2\x82\xac" "c\xf0\x9f\x98\x80" "d\xff\x80" "e\xe2\x82" "f";
	static const size_t inside[] = {2, 5, 6, 9, 10, 11};
	size_t len = sizeof(src) - 1;
	struct buf b;
	buf_init(&b, 1 << 16);
	for (size_t x = 1; x < len; x++) {
		struct hl_span one[2] = {{0, (uint32_t)x, 1}, {(uint32_t)x, (uint32_t)len, 2}}, *out = NULL;
		size_t n = 0;
		int cut = 0;
		for (size_t i = 0; i < sizeof(inside) / sizeof(*inside); i++)
			cut |= x == inside[i];
		for (int k = 0; k < 2; k++) {
			CHECK(highlightd_answer_encode(one + k, 1, &b) == 0);
			CHECK(highlightd_answer_decode(b.p, b.len, src, len, &out, &n) == (cut ? ERR_CORRUPT : 0));
			if (cut && !strstr(err_msg(), "does not hold"))
				CHECK(0);
			free(out);
			out = NULL;
		}
	}
	buf_release(&b);
}

TEST(messages_round_trip_and_refuse)
{
	struct hl_span sp[3] = {{0, 3, 1}, {3, 7, 2}, {9, 10, 5}}, *out = NULL;
	static const char ten[] = "int x = 1;";
	struct buf b;
	size_t n = 0;
	enum hl_lang lang;
	const char *src;
	uint64_t budget;
	buf_init(&b, 1 << 20);
	CHECK(highlightd_answer_encode(sp, 3, &b) == 0 && b.len == 8 + 30);
	CHECK(highlightd_answer_decode(b.p, b.len, ten, 10, &out, &n) == 0 && n == 3 && same_spans(sp, 3, out, n));
	free(out);
	/* the file must hold the spans */
	CHECK(highlightd_answer_decode(b.p, b.len, ten, 9, &out, &n) == ERR_CORRUPT && !out && !n);
	/* every truncation, and a byte more */
	for (size_t k = 0; k < b.len; k++)
		CHECK(highlightd_answer_decode(b.p, k, ten, 10, &out, &n) == ERR_CORRUPT && !out);
	{
		char more[64];
		memcpy(more, b.p, b.len);
		more[b.len] = 0;
		CHECK(highlightd_answer_decode(more, b.len + 1, ten, 10, &out, &n) == ERR_CORRUPT);
	}
	/* out of order, overlapping, empty, class 0, class past the known ones */
	{
		struct hl_span bad[][2] = {
			{{3, 7, 2}, {0, 3, 1}}, {{0, 4, 1}, {3, 7, 2}}, {{0, 0, 1}, {3, 7, 2}},
			{{0, 3, 0}, {3, 7, 2}}, {{0, 3, 1}, {3, 7, 0}},
		};
		for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
			CHECK(highlightd_answer_encode(bad[i], 2, &b) == 0);
			CHECK(highlightd_answer_decode(b.p, b.len, ten, 10, &out, &n) == ERR_CORRUPT && !out && !n);
		}
		bad[0][0] = (struct hl_span){0, 3, hl_n_classes()};
		CHECK(highlightd_answer_encode(bad[0], 1, &b) == 0);
		CHECK(highlightd_answer_decode(b.p, b.len, ten, 10, &out, &n) == ERR_CORRUPT);
		bad[0][0].cls = (uint16_t)(hl_n_classes() - 1);
		CHECK(highlightd_answer_encode(bad[0], 1, &b) == 0);
		CHECK(highlightd_answer_decode(b.p, b.len, ten, 10, &out, &n) == 0 && n == 1);
		free(out);
	}
	/* requests */
	CHECK(highlightd_request_encode(HL_RUST, "fn x", 4, 5000, &b) == 0);
	CHECK(highlightd_request_decode(b.p, b.len, &lang, &src, &n, &budget) == 0 && lang == HL_RUST && n == 4 &&
	      !memcmp(src, "fn x", 4) && budget == 5000);
	for (size_t k = 0; k < b.len; k++)
		CHECK(highlightd_request_decode(b.p, k, &lang, &src, &n, &budget) == ERR_PARSE);
	b.p[4] = (char)HL_NLANG;
	CHECK(highlightd_request_decode(b.p, b.len, &lang, &src, &n, &budget) == ERR_PARSE);
	b.p[4] = (char)HL_NONE;
	CHECK(highlightd_request_decode(b.p, b.len, &lang, &src, &n, &budget) == ERR_PARSE);
	CHECK(highlightd_request_encode(HL_NONE, "x", 1, 0, &b) == ERR_USAGE);
	CHECK(highlightd_request_encode(HL_C, "x", 1, HIGHLIGHTD_BUDGET_MAX_US + 1, &b) == ERR_USAGE);
	CHECK(highlightd_request_encode(HL_C, "x", HL_MAX_BYTES + 1, 0, &b) == ERR_USAGE);
	buf_release(&b);
}

int main(void)
{
	RUN(messages_round_trip_and_refuse);
	RUN(worker_colours_as_in_process);
	RUN(worker_is_sandboxed);
	RUN(worker_dies_hangs_or_is_killed);
	RUN(hostile_worker_is_not_believed);
	RUN(worker_that_reads_nothing);
	RUN(room_frees_no_copy_of_the_file);
	RUN(spans_cut_no_character);
	return test_done();
}
