/* test_searchd: a loaded index handed to another process (index_share_write / index_attach) and
 * the search worker (searchd.h): the same answers as a search in process, its refusals,
 * a worker killed, hung or malformed. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test.h"
#include "le.h"
#include "query.h"
#include "search_fixture.h"
#include "searchd.h"
#include "worker_fixture.h"

/* this binary is the worker's image too (searchd_start runs /proc/self/exe): searchd.c's
 * constructor makes it one, unless SEARCHD_TEST_HOSTILE names a hostile worker to be
 * instead (below): a taken-over worker, as the room sees it */

/* the worker's descriptors (searchd.c) */
#define H_TEXT 4
#define H_READY 5
#define H_CHAN 6

static const char *hostile_mode;
static char hostile_line[128]; /* the release's first line, read from the text it was handed */


/* A refusal: "SRW1" 0 code u16 n, then msg, in wire.h's framing. */
static int h_refuse(int fd, int code, const char *msg)
{
	unsigned char m[8 + 600];
	size_t n = strlen(msg);
	memcpy(m + 4, "SRW1", 4);
	m[8] = 0;
	m[9] = (unsigned char)code;
	m[10] = (unsigned char)n;
	m[11] = (unsigned char)(n >> 8);
	put32(m, (uint32_t)(8 + n));
	memcpy(m + 12, msg, n);
	return h_write(fd, m, 12 + n);
}

static void *hostile_serve(void *arg)
{
	int fd = (int)(intptr_t)arg;
	unsigned char h[4], req[8192];
	while (!h_read(fd, h, 4)) {
		uint32_t n = get32(h);
		if (n > sizeof(req) || h_read(fd, req, n))
			break;
		if (!strcmp(hostile_mode, "hang")) {
			pause();
		} else if (!strcmp(hostile_mode, "trickle")) {
			/* an answer of 30 bytes, one a second: each read comes well in time */
			unsigned char len[4];
			put32(len, 30);
			if (h_write(fd, len, 4))
				break;
			for (int i = 0; i < 30 && !h_write(fd, "S", 1); i++)
				sleep(1);
		} else if (!strcmp(hostile_mode, "huge")) {
			if (h_write(fd, "\xff\xff\xff\xff", 4))
				break;
		} else if (!strcmp(hostile_mode, "ms")) {
			/* an empty page that says it took a number of its own choosing */
			unsigned char a[4 + 5 + 42] = {0};
			double ms = 4.2e12;
			uint64_t bits;
			memcpy(&bits, &ms, 8);
			put32(a, 5 + 42);
			memcpy(a + 4, "SRW1\x01" "SRx1", 9);
			put64(a + 4 + 5 + 20, bits);
			if (h_write(fd, a, sizeof(a)))
				break;
		} else if (!strcmp(hostile_mode, "leak")) {
			if (h_refuse(fd, -ERR_PARSE, hostile_line))
				break;
		} else if (!strncmp(hostile_mode, "refuse:", 7)) {
			/* refuse:CODE:MESSAGE */
			const char *m = strchr(hostile_mode + 7, ':');
			if (!m || h_refuse(fd, atoi(hostile_mode + 7), m + 1))
				break;
		}
	}
	_exit(0);
}

__attribute__((constructor(101))) static void hostile_entry(int argc, char **argv)
{
	pthread_t th;
	char c = 1;
	ssize_t n;
	if (argc < 2 || !argv || !argv[1] || strcmp(argv[1], SEARCHD_ARG) || !(hostile_mode = getenv("SEARCHD_TEST_HOSTILE")))
		return;
	n = read(H_TEXT, hostile_line, sizeof(hostile_line) - 1);
	for (ssize_t i = 0; i < n; i++)
		if (hostile_line[i] == '\n')
			n = i;
	hostile_line[n > 0 ? n : 0] = 0;
	for (int i = 1; i < SEARCHD_CHANNELS; i++)
		pthread_create(&th, NULL, hostile_serve, (void *)(intptr_t)(H_CHAN + i));
	if (write(H_READY, &c, 1) != 1)
		_exit(1);
	hostile_serve((void *)(intptr_t)H_CHAN);
}

static const struct fixture_file files[] = {
	{"a.c", "#include <x.h>\nstatic int foo_bar(int x)\n{\n\treturn FOO_BAR + x;\n}\nint foo;\n", 0, 0100644},
	{"b.h", "#define FOO_BAR 1\nstruct foo_ops {\n\tint (*open)(void);\n};\nvoid foo_bar(int);\n", 0, 0100644},
	{"bin.dat", "foo_bar\n\0foo_bar\n", 17, 0100644},
	{"bom.c", "\xef\xbb\xbf" "int foo_first;\nint second;\n", 0, 0100644},
	{"dir/foo_bar.txt", "nothing here\nCaf\xc3\xa9 caf\xc3\xa9 Kelvin \xe2\x84\xaa\nlast foo_bar", 0, 0100644},
	{"link", "a.c", 0, 0120000},
	{"empty", "", 0, 0100644},
	{"u.txt", "\xff\xfe" "f\0o\0o\0(\0\n\0" "\xe9\0" "\n\0", 16, 0100644},
	{NULL, NULL, 0, 0},
};

static const char *const patterns[] = {
	"foo", "foo_bar", "FOO", "(?i)caf\xc3\xa9", "^int", "x\\)$", "sym:foo_bar", "file:\\.h$ foo", "-file:a\\.c foo",
	"lang:c foo", "\\bfoo\\b", "o+", "^", "nothing|last", "foo\\(", "zzz_not_there", "[a-z]+_[a-z]+", "first",
};

/* The JSON of a search of pattern p over ix, or "" with the error's code. */
static int json_of(const struct index *ix, const char *p, const struct query_opts *qo, const struct search_opts *so,
		   struct buf *out)
{
	struct query *q = NULL;
	struct search_result *r = NULL;
	int e;
	buf_reset(out);
	if (!(e = query_parse(p, qo, &q)) && !(e = index_search(ix, q, so, &r)))
		e = search_result_json(r, out);
	search_result_free(r);
	query_free(q);
	return e;
}

/* What the room hands a worker: the image appended to out, the text's descriptor in *fd. */
static int share(const struct index *ix, struct buf *out, int *fd)
{
	size_t n = index_share_len(ix);
	int r;
	if ((r = index_share_text(ix, fd)))
		return r;
	if ((r = buf_grow(out, n)))
		return r;
	index_share_write(ix, (unsigned char *)out->p + out->len);
	out->len += n;
	return 0;
}

/* Share f's index and attach it again in this process; with keep, the image stays in *img
 * (release it after the index), its postings read in place. */
static struct index *attached(struct fixture *f, int keep, struct buf *img)
{
	struct index *ix = NULL;
	int fd = -1;
	buf_init(img, (size_t)1 << 30);
	if (share(f->ix, img, &fd) || index_attach(img->p, img->len, f->m, fd, keep, &ix))
		BUG("share: %s", err_msg());
	close(fd);
	if (!keep) {
		memset(img->p, 0xa5, img->len); /* a copy: what was handed over may go */
		buf_release(img);
	}
	return ix;
}

TEST(share_attach_same_answers)
{
	struct fixture f;
	struct index *ix;
	struct buf a, b, img;
	struct search_opts so;
	fixture_make_files(&f, files);
	buf_init(&a, (size_t)1 << 24);
	buf_init(&b, (size_t)1 << 24);
	for (int keep = 0; keep < 2; keep++) {
		ix = attached(&f, keep, &img);
		CHECK(index_n_files(ix) == index_n_files(f.ix) && index_n_symbols(ix) == index_n_symbols(f.ix));
		for (size_t i = 0; i < index_n_files(ix); i++) {
			size_t n1 = 0, n2 = 0;
			const unsigned char *t1 = index_read_text(f.ix, i, &n1), *t2 = index_read_text(ix, i, &n2);
			CHECK(n1 == n2 && (!n1 || !memcmp(t1, t2, n1)));
			CHECK(index_search_len(ix, i) == index_search_len(f.ix, i));
			CHECK(index_ascii(ix, i) == index_ascii(f.ix, i));
		}
		for (size_t i = 0; i < index_n_symbols(ix); i++)
			CHECK(!memcmp(index_symbol_by_name(ix, i), index_symbol_by_name(f.ix, i), sizeof(struct index_symbol)));
		search_opts_default(&so);
		so.context = 1;
		for (size_t k = 0; k < sizeof(patterns) / sizeof(*patterns); k++)
			for (int i = 0; i < 2; i++) {
				struct query_opts qo = {.caseless = i};
				int e1 = json_of(f.ix, patterns[k], &qo, &so, &a), e2 = json_of(ix, patterns[k], &qo, &so, &b);
				CHECK(e1 == 0 && e2 == 0);
				CHECK(a.len == b.len && !memcmp(a.p, b.p, a.len));
				if (a.len != b.len || memcmp(a.p, b.p, a.len))
					fprintf(stderr, "  pattern %s: %.*s\n  vs %.*s\n", patterns[k], (int)a.len, a.p, (int)b.len, b.p);
			}
		index_free(ix);
		if (keep)
			buf_release(&img);
	}
	buf_release(&a);
	buf_release(&b);
	fixture_free(&f);
}

TEST(attached_text_is_read_only)
{
	struct fixture f;
	struct index *ix;
	struct buf img;
	size_t n;
	const unsigned char *t;
	long pg = sysconf(_SC_PAGESIZE);
	fixture_make_files(&f, files);
	ix = attached(&f, 0, &img);
	t = index_text(ix, 0, &n);
	CHECK(t && n);
	/* the descriptor it mapped was opened for reading: the mapping cannot be made writable */
	CHECK(mprotect((void *)((uintptr_t)t & ~(uintptr_t)(pg - 1)), (size_t)pg, PROT_READ | PROT_WRITE) < 0 &&
	      errno == EACCES);
	index_free(ix);
	fixture_free(&f);
}

TEST(attach_refuses_damage)
{
	struct fixture f;
	struct buf img, bad;
	struct index *ix = NULL;
	int fd = -1, other;
	size_t n_syms;
	fixture_make_files(&f, files);
	buf_init(&img, (size_t)1 << 30);
	buf_init(&bad, (size_t)1 << 30);
	CHECK(share(f.ix, &img, &fd) == 0);
	n_syms = index_n_symbols(f.ix);
	CHECK(n_syms > 0);
	/* bad magic, truncated anywhere, a byte past the end */
	CHECK(buf_add(&bad, img.p, img.len) == 0);
	bad.p[0] = 'X';
	CHECK(index_attach(bad.p, bad.len, f.m, fd, 0, &ix) == ERR_CORRUPT && !ix);
	for (size_t cut = 0; cut < img.len; cut += 1 + cut / 8) {
		CHECK(index_attach(img.p, cut, f.m, fd, 1, &ix) == ERR_CORRUPT && !ix);
		index_free(ix);
		ix = NULL;
	}
	buf_reset(&bad);
	CHECK(buf_add(&bad, img.p, img.len) == 0 && buf_add(&bad, "x", 1) == 0);
	CHECK(index_attach(bad.p, bad.len, f.m, fd, 0, &ix) == ERR_CORRUPT && !ix);
	/* a name order past the symbols */
	buf_reset(&bad);
	CHECK(buf_add(&bad, img.p, img.len) == 0);
	put32((unsigned char *)bad.p + bad.len - 4, (uint32_t)n_syms);
	CHECK(index_attach(bad.p, bad.len, f.m, fd, 0, &ix) == ERR_CORRUPT && !ix);
	CHECK(strstr(err_msg(), "name order") != NULL);
	/* a text of another size than the manifest says */
	other = memfd_create("other", MFD_CLOEXEC);
	CHECK(other >= 0 && ftruncate(other, 3) == 0);
	CHECK(index_attach(img.p, img.len, f.m, other, 0, &ix) == ERR_CORRUPT && !ix);
	CHECK(strstr(err_msg(), "shared text") != NULL);
	close(other);
	/* an index that was not loaded (an attached one) has no text to share */
	{
		struct index *att = NULL;
		int fd2 = -1;
		CHECK(index_attach(img.p, img.len, f.m, fd, 0, &att) == 0);
		buf_reset(&bad);
		CHECK(share(att, &bad, &fd2) == ERR_USAGE && fd2 == -1);
		CHECK(strstr(err_msg(), "only a loaded index's text can be shared") != NULL);
		index_free(att);
	}
	close(fd);
	buf_release(&img);
	buf_release(&bad);
	fixture_free(&f);
}

/* The JSON of a search in the worker. */
static int worker_json(struct searchd *d, const char *p, const struct query_opts *qo, const struct search_opts *so,
		       struct buf *out)
{
	struct search_result *r = NULL;
	int e;
	buf_reset(out);
	if (!(e = searchd_search(d, p, qo, so, &r)))
		e = search_result_json(r, out);
	search_result_free(r);
	return e;
}

TEST(worker_answers_as_in_process)
{
	struct fixture f;
	struct searchd *d = NULL;
	struct buf a, b;
	struct search_opts so;
	fixture_make_files(&f, files);
	CHECK(searchd_start(f.ix, &d) == 0 && d);
	if (!d) {
		fprintf(stderr, "  %s\n", err_msg());
		fixture_free(&f);
		return;
	}
	CHECK(searchd_pid(d) > 0);
	buf_init(&a, (size_t)1 << 24);
	buf_init(&b, (size_t)1 << 24);
	search_opts_default(&so);
	for (size_t k = 0; k < sizeof(patterns) / sizeof(*patterns); k++)
		for (int i = 0; i < 4; i++) {
			struct query_opts qo = {.caseless = i & 1, .word = i >> 1};
			so.context = (unsigned)i;
			so.limit = 1 + (size_t)i * 2;
			so.offset = (size_t)(i & 1);
			CHECK(json_of(f.ix, patterns[k], &qo, &so, &a) == 0);
			CHECK(worker_json(d, patterns[k], &qo, &so, &b) == 0);
			CHECK(a.len == b.len && !memcmp(a.p, b.p, a.len));
			if (a.len != b.len || memcmp(a.p, b.p, a.len))
				fprintf(stderr, "  pattern %s: %.*s\n  vs %.*s\n", patterns[k], (int)a.len, a.p, (int)b.len, b.p);
		}
	/* the query's own errors, as query_parse says them */
	{
		struct query_opts qo = {0};
		struct query *q = NULL;
		char want[512];
		CHECK(query_parse("(", &qo, &q) == ERR_PARSE);
		snprintf(want, sizeof(want), "%s", err_msg());
		CHECK(worker_json(d, "(", &qo, &so, &b) == ERR_PARSE);
		CHECK(!strcmp(err_msg(), want));
		CHECK(worker_json(d, "lang:cobol x", &qo, &so, &b) == ERR_PARSE && strstr(err_msg(), "cobol"));
		so.limit = SEARCH_LIMIT_MAX + 1;
		CHECK(worker_json(d, "foo", &qo, &so, &b) == ERR_USAGE);
		so.limit = 50;
	}
	/* the worker answered all of that without failing */
	CHECK(searchd_pid(d) > 0);
	buf_release(&a);
	buf_release(&b);
	searchd_free(d);
	fixture_free(&f);
}

struct mid {
	struct searchd *d;
	pid_t pid;
	int killed;
};

static void *kill_soon(void *arg)
{
	struct mid *m = arg;
	usleep(300000);
	m->killed = kill(m->pid, SIGKILL) == 0;
	return NULL;
}

TEST(worker_killed_hung_restarted)
{
	struct fixture f;
	struct searchd *d = NULL;
	struct buf b;
	struct search_opts so;
	struct query_opts qo = {0};
	struct timespec t0, t1;
	pid_t p1, p2;
	double s;
	fixture_make_files(&f, files);
	CHECK(searchd_start(f.ix, &d) == 0 && d);
	if (!d) {
		fixture_free(&f);
		return;
	}
	buf_init(&b, (size_t)1 << 24);
	search_opts_default(&so);
	p1 = searchd_pid(d);
	/* its seccomp filter, no_new_privs, and not root */
	{
		char path[64], line[256];
		int seccomp = 0, nnp = 0, root = 1;
		FILE *st;
		snprintf(path, sizeof(path), "/proc/%d/status", (int)p1);
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
	}
	/* killed between searches: the next search has a new worker */
	kill(p1, SIGKILL);
	usleep(100000);
	CHECK(worker_json(d, "foo", &qo, &so, &b) == 0 && strstr(b.p, "\"total\":"));
	p2 = searchd_pid(d);
	CHECK(p2 > 0 && p2 != p1);
	/* killed in the middle of a search: that search fails with ERR_IO, the next has a new one */
	{
		struct mid m = {d, p2, 0};
		pthread_t th;
		kill(p2, SIGSTOP);
		CHECK(pthread_create(&th, NULL, kill_soon, &m) == 0);
		CHECK(worker_json(d, "foo", &qo, &so, &b) == ERR_IO && strstr(err_msg(), "search worker failed"));
		pthread_join(th, NULL);
		CHECK(m.killed);
		CHECK(searchd_pid(d) == 0);
	}
	CHECK(worker_json(d, "foo", &qo, &so, &b) == 0 && strstr(b.p, "\"total\":"));
	p2 = searchd_pid(d);
	CHECK(p2 > 0);
	/* hung: stopped for good, it counts as failed after the budget and the grace */
	so.budget_ms = 100;
	kill(p2, SIGSTOP);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK(worker_json(d, "foo", &qo, &so, &b) == ERR_IO && strstr(err_msg(), "no answer within"));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	CHECK(s >= (100 + SEARCHD_GRACE_MS) / 1000.0 - 0.05 && s < (100 + SEARCHD_GRACE_MS) / 1000.0 + 3);
	CHECK(kill(p2, 0) < 0 && errno == ESRCH); /* killed and reaped */
	CHECK(worker_json(d, "foo", &qo, &so, &b) == 0);
	/* started at most SEARCHD_RESTARTS times a minute: 4 so far */
	CHECK(SEARCHD_RESTARTS == 5);
	kill(searchd_pid(d), SIGKILL);
	usleep(100000);
	CHECK(worker_json(d, "foo", &qo, &so, &b) == 0);
	kill(searchd_pid(d), SIGKILL);
	usleep(100000);
	CHECK(worker_json(d, "foo", &qo, &so, &b) == ERR_IO && strstr(err_msg(), "times in a minute"));
	CHECK(searchd_pid(d) == 0);
	/* killed for good (a release withdrawn): no worker again */
	searchd_kill(d);
	CHECK(worker_json(d, "foo", &qo, &so, &b) == ERR_IO && searchd_pid(d) == 0);
	buf_release(&b);
	searchd_free(d);
	fixture_free(&f);
}

/* A worker of mode m (SEARCHD_TEST_HOSTILE) over f's index. */
static struct searchd *hostile(struct fixture *f, const char *m)
{
	struct searchd *d = NULL;
	setenv("SEARCHD_TEST_HOSTILE", m, 1);
	if (searchd_start(f->ix, &d))
		BUG("hostile worker %s: %s", m, err_msg());
	unsetenv("SEARCHD_TEST_HOSTILE");
	return d;
}

static double since(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

TEST(hostile_worker_slow_or_huge)
{
	struct fixture f;
	struct searchd *d;
	struct buf b;
	struct search_opts so;
	struct query_opts qo = {0};
	struct timespec t0;
	double s;
	fixture_make_files(&f, files);
	buf_init(&b, (size_t)1 << 24);
	search_opts_default(&so);
	so.budget_ms = 100;
	/* an answer trickled a byte a second: each byte in time, the whole one late */
	d = hostile(&f, "trickle");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK(worker_json(d, "foo", &qo, &so, &b) == ERR_IO && strstr(err_msg(), "no answer within"));
	s = since(&t0);
	CHECK(s < (100 + SEARCHD_GRACE_MS) / 1000.0 + 1.5);
	if (s >= (100 + SEARCHD_GRACE_MS) / 1000.0 + 1.5)
		fprintf(stderr, "  the trickled answer held the search %.1f s\n", s);
	CHECK(searchd_pid(d) == 0); /* killed */
	searchd_free(d);
	/* a time of its own choosing: the room shows its own */
	d = hostile(&f, "ms");
	{
		struct search_result *r = NULL;
		CHECK(searchd_search(d, "foo", &qo, &so, &r) == 0 && r);
		CHECK(r && search_result_ms(r) >= 0 && search_result_ms(r) < 10000);
		search_result_free(r);
	}
	searchd_free(d);
	/* a length past what an answer may be: refused at once, nothing allocated for it */
	d = hostile(&f, "huge");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK(worker_json(d, "foo", &qo, &so, &b) == ERR_IO && strstr(err_msg(), "larger than"));
	CHECK(since(&t0) < 1.0 && searchd_pid(d) == 0);
	searchd_free(d);
	buf_release(&b);
	fixture_free(&f);
}

struct queued {
	struct searchd *d;
	double s;
	int e;
};

static void *search_queued(void *arg)
{
	struct queued *q = arg;
	struct search_result *r = NULL;
	struct search_opts so;
	struct query_opts qo = {0};
	struct timespec t0;
	search_opts_default(&so);
	so.budget_ms = 100;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	q->e = searchd_search(q->d, "foo", &qo, &so, &r);
	q->s = since(&t0);
	search_result_free(r);
	return NULL;
}

TEST(hostile_worker_hangs_many_searches)
{
	/* 12 searches at once, 4 channels, a worker that never answers: no search waits for
	 * more than its own time for a channel and its own time for the answer */
	enum { N = 12 };
	struct fixture f;
	struct searchd *d;
	struct queued q[N];
	pthread_t th[N];
	double worst = 0;
	fixture_make_files(&f, files);
	d = hostile(&f, "hang");
	setenv("SEARCHD_TEST_HOSTILE", "hang", 1); /* its next ones hang too */
	for (int i = 0; i < N; i++) {
		q[i].d = d;
		CHECK(pthread_create(&th[i], NULL, search_queued, &q[i]) == 0);
	}
	for (int i = 0; i < N; i++) {
		pthread_join(th[i], NULL);
		CHECK(q[i].e == ERR_IO || q[i].e == ERR_BUSY);
		worst = q[i].s > worst ? q[i].s : worst;
	}
	unsetenv("SEARCHD_TEST_HOSTILE");
	CHECK(worst < 2 * (100 + SEARCHD_GRACE_MS) / 1000.0 + 1.5);
	if (worst >= 2 * (100 + SEARCHD_GRACE_MS) / 1000.0 + 1.5)
		fprintf(stderr, "  a queued search took %.1f s\n", worst);
	searchd_free(d);
	fixture_free(&f);
}

TEST(hostile_worker_refusals)
{
	struct fixture f;
	struct searchd *d;
	struct buf b;
	struct search_opts so;
	struct query_opts qo = {0};
	char m[700];
	fixture_make_files(&f, files);
	buf_init(&b, (size_t)1 << 24);
	search_opts_default(&so);
	/* the release's text as a refusal's message: not shown, the worker failed */
	d = hostile(&f, "leak");
	CHECK(strlen(hostile_line) == 0); /* this process is not the worker */
	CHECK(worker_json(d, "foo", &qo, &so, &b) == ERR_IO && !strstr(err_msg(), "include"));
	CHECK(strstr(err_msg(), "words it does not use") && searchd_pid(d) == 0);
	searchd_free(d);
	/* messages of the room's own shapes, their free parts not the reader's */
	{
		static const char *const bad[] = {
			"2:query: unknown language 'static int foo_bar(int x)'",
			"2:query: unknown language 'cob'",
			"2:query: bad regex at offset 123456789012: missing closing parenthesis",
			"2:query: bad regex at offset 1: #include <x.h>",
			"2:<script>alert(1)</script>",
			"3:query: longer than 1 bytes",
			"9:search: limit 50 is past 10000",
			"2:query: 'file:' needs a path regex\n#include <x.h>",
		};
		for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
			snprintf(m, sizeof(m), "refuse:%s", bad[i]);
			d = hostile(&f, m);
			CHECK(worker_json(d, "lang:cobol x", &qo, &so, &b) == ERR_IO && strstr(err_msg(), "words it does not use"));
			searchd_free(d);
		}
	}
	/* and the ones query.c says, as it says them */
	{
		static const char *const good[] = {
			"2:query: unknown language 'cobol'",
			"2:query: bad regex at offset 1: missing closing parenthesis",
			"2:query: nothing to search for (empty pattern)",
			"3:search: the result is too large to answer",
		};
		for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++) {
			snprintf(m, sizeof(m), "refuse:%s", good[i]);
			d = hostile(&f, m);
			CHECK(worker_json(d, "lang:cobol x", &qo, &so, &b) == -atoi(good[i]) && !strcmp(err_msg(), good[i] + 2));
			CHECK(searchd_pid(d) > 0);
			searchd_free(d);
		}
	}
	buf_release(&b);
	fixture_free(&f);
}

TEST(reviewer_refusals_keep_the_worker)
{
	/* every refusal a reader's query gets from the real worker is one the room knows: a
	 * reader cannot make the room count the worker as failed (and use up its restarts) */
	struct fixture f;
	struct searchd *d = NULL;
	struct buf b, q;
	struct search_opts so;
	struct query_opts none = {0};
	pid_t pid;
	static const char *const queries[] = {
		"(", "lang:cobol x", "lang:a\x01" "b x", "x lang:\x7f", "file: x", "-file: x", "f: x", "sym:a sym:b",
		"sym: x", "", "   ", "file:( x", "-file:[ x", "sym:(", "a{2,1}", "(?<n>a)(?<n>b)", "\\", "x\\",
		"lang:\xff\xfe x", "\xff\xfe\x80", "a\xc3", "sym:\xe2\x82", "file:\xed\xa0\x80 x",
	};
	fixture_make_files(&f, files);
	CHECK(searchd_start(f.ix, &d) == 0 && d);
	if (!d) {
		fixture_free(&f);
		return;
	}
	pid = searchd_pid(d);
	buf_init(&b, (size_t)1 << 24);
	buf_init(&q, QUERY_MAX + 16);
	search_opts_default(&so);
	for (size_t i = 0; i < sizeof(queries) / sizeof(*queries); i++) {
		struct query_opts qo = {.literal = (i & 1) && i > 10};
		int e = worker_json(d, queries[i], &qo, &so, &b);
		CHECK(e == ERR_PARSE || e == 0);
		if (e != ERR_PARSE && e != 0)
			fprintf(stderr, "  query %zu: %s\n", i, err_msg());
	}
	/* a language name longer than a refusal's message: the message is cut, still known */
	CHECK(buf_addstr(&q, "lang:") == 0);
	for (int i = 0; i < 600; i++)
		CHECK(buf_addch(&q, 'a') == 0);
	CHECK(buf_addstr(&q, " x") == 0);
	CHECK(worker_json(d, q.p, &none, &so, &b) == ERR_PARSE && strstr(err_msg(), "unknown language 'aaa"));
	so.limit = SEARCH_LIMIT_MAX + 1;
	CHECK(worker_json(d, "foo", &none, &so, &b) == ERR_USAGE);
	so.limit = 50;
	so.context = SEARCH_CONTEXT_MAX + 1;
	CHECK(worker_json(d, "foo", &none, &so, &b) == ERR_USAGE);
	so.context = 0;
	so.offset = UINT64_MAX / 2;
	CHECK(worker_json(d, "foo", &none, &so, &b) == 0);
	so.offset = 0;
	/* the worker picks its own prefilter: the room sends no other */
	so.prefilter = 1;
	CHECK(worker_json(d, "foo", &none, &so, &b) == ERR_USAGE && strstr(err_msg(), "picks its own prefilter"));
	so.prefilter = 0;
	/* the worker that answered all of that is the first one */
	CHECK(searchd_pid(d) == pid);
	buf_release(&q);
	buf_release(&b);
	searchd_free(d);
	fixture_free(&f);
}

TEST(slow_pattern_keeps_its_budget)
{
	/* a pattern at PCRE2's match limit on every line (tens of ms each), or on every path:
	 * the search stops near its budget, in process and in the worker, and the worker is
	 * not taken for hung (nor killed, nor its restarts used up) */
	struct fixture_file many[400], slow[] = {{"slow.txt", NULL, 0, 0100644}, {NULL, NULL, 0, 0}};
	struct buf text;
	char paths[300][120];
	static const char *const pats[] = {"(a|aa)+$", "file:(a|aa)+$ x"};
	struct fixture f[2];
	buf_init(&text, 1 << 20);
	for (int i = 0; i < 300; i++)
		CHECK(buf_addstr(&text, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab\n") == 0);
	slow[0].data = text.p;
	fixture_make_files(&f[0], slow);
	for (int i = 0; i < 300; i++) {
		snprintf(paths[i], sizeof(paths[i]), "%03d%s", i,
			 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab");
		many[i] = (struct fixture_file){paths[i], "x\n", 0, 0100644};
	}
	many[300] = (struct fixture_file){NULL, NULL, 0, 0};
	fixture_make_files(&f[1], many);
	for (int k = 0; k < 2; k++) {
		struct searchd *d = NULL;
		struct query *q = NULL;
		struct search_result *r = NULL;
		struct search_opts so;
		struct query_opts qo = {0};
		struct timespec t0;
		double s;
		pid_t pid;
		search_opts_default(&so);
		so.budget_ms = 200;
		CHECK(query_parse(pats[k], &qo, &q) == 0);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		CHECK(index_search(f[k].ix, q, &so, &r) == 0);
		s = since(&t0);
		CHECK(s < 0.2 + 0.8);
		CHECK(r && search_result_partial(r));
		if (s >= 0.2 + 0.8)
			fprintf(stderr, "  %s: %.1f s in process for a budget of 0.2 s\n", pats[k], s);
		search_result_free(r);
		query_free(q);
		CHECK(searchd_start(f[k].ix, &d) == 0 && d);
		if (!d)
			continue;
		pid = searchd_pid(d);
		so.budget_ms = 1000;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		r = NULL;
		CHECK(searchd_search(d, pats[k], &qo, &so, &r) == 0 && r && search_result_partial(r));
		CHECK(since(&t0) < 1.0 + 1.0 && searchd_pid(d) == pid);
		search_result_free(r);
		searchd_free(d);
		fixture_free(&f[k]);
	}
	buf_release(&text);
}

TEST(worker_starts_whatever_descriptors_are_free)
{
	/* the room's low descriptors free (a release closed): the ones handed to the worker
	 * are then numbers its own dup2s make, and must still arrive as themselves */
	struct fixture f0, f1;
	struct searchd *d = NULL;
	struct buf a, b;
	struct search_opts so;
	struct query_opts qo = {0};
	fixture_make_files(&f0, files);
	fixture_make_files(&f1, files);
	fixture_free(&f0);
	buf_init(&a, (size_t)1 << 24);
	buf_init(&b, (size_t)1 << 24);
	search_opts_default(&so);
	CHECK(searchd_start(f1.ix, &d) == 0 && d);
	if (d) {
		for (size_t k = 0; k < sizeof(patterns) / sizeof(*patterns); k++) {
			CHECK(json_of(f1.ix, patterns[k], &qo, &so, &a) == 0);
			CHECK(worker_json(d, patterns[k], &qo, &so, &b) == 0);
			CHECK(a.len == b.len && !memcmp(a.p, b.p, a.len));
		}
		searchd_free(d);
	} else {
		fprintf(stderr, "  %s\n", err_msg());
	}
	buf_release(&a);
	buf_release(&b);
	fixture_free(&f1);
}

/* xorshift: the generated tree and patterns are the same every run */
static uint32_t rnd_state = 2463534242u;
static uint32_t rnd(uint32_t n)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 17;
	rnd_state ^= rnd_state << 5;
	return rnd_state % n;
}

/* A pattern of pieces over the tree's alphabet (a regex, or a literal for .literal). */
static void gen_pattern(struct buf *b)
{
	static const char *const pieces[] = {"ab", "b", "c", "ca", "_x", "[a-c]", "[^a ]", ".", "\\w", "\\b", "x|y", "(ab|c)",
					      "a*", "b+", "c?", "^", "$", "(?i)A", "é", "\\d", "9", " ", "a{2}", "[0-9]+"};
	int n = 1 + (int)rnd(4);
	buf_reset(b);
	for (int i = 0; i < n; i++)
		(void)!buf_addstr(b, pieces[rnd(sizeof(pieces) / sizeof(*pieces))]);
	if (!rnd(8))
		(void)!buf_addstr(b, rnd(2) ? " file:\\.c$" : " lang:c");
}

TEST(generated_patterns_answer_as_in_process)
{
	/* a generated tree, generated patterns and options: the worker's JSON is the room's */
	enum { N_FILES = 40, N_PATTERNS = 300 };
	struct fixture_file gen[N_FILES + 1];
	char paths[N_FILES][32], *texts[N_FILES];
	static const char *const words[] = {"ab", "abc", "ca", "b_x", "x", "y", "99", "é", "A", "cab", "\t", " ", "a_b9"};
	struct fixture f;
	struct searchd *d = NULL;
	struct buf a, b, p;
	size_t same = 0, errs = 0;
	for (int i = 0; i < N_FILES; i++) {
		struct buf t;
		int lines = 1 + (int)rnd(30);
		buf_init(&t, 1 << 16);
		for (int l = 0; l < lines; l++) {
			int w = (int)rnd(8);
			for (int k = 0; k < w; k++)
				(void)!buf_addstr(&t, words[rnd(sizeof(words) / sizeof(*words))]);
			(void)!buf_addch(&t, '\n');
		}
		texts[i] = t.p;
		snprintf(paths[i], sizeof(paths[i]), "d%02d/f%02d.%s", i / 8, i, i % 3 ? "c" : "txt");
		gen[i] = (struct fixture_file){paths[i], texts[i], 0, 0100644};
	}
	gen[N_FILES] = (struct fixture_file){NULL, NULL, 0, 0};
	fixture_make_files(&f, gen);
	buf_init(&a, (size_t)1 << 24);
	buf_init(&b, (size_t)1 << 24);
	buf_init(&p, QUERY_MAX + 1);
	CHECK(searchd_start(f.ix, &d) == 0 && d);
	for (int k = 0; d && k < N_PATTERNS; k++) {
		struct query_opts qo = {.caseless = !rnd(3), .word = !rnd(4), .literal = !rnd(5)};
		struct search_opts so;
		int e1, e2;
		search_opts_default(&so);
		so.limit = 1 + rnd(20);
		so.offset = rnd(4) ? 0 : rnd(10);
		so.context = rnd(3) ? 0 : rnd(4);
		so.count_all = rnd(4) != 0;
		gen_pattern(&p);
		e1 = json_of(f.ix, p.p, &qo, &so, &a);
		e2 = worker_json(d, p.p, &qo, &so, &b);
		CHECK(e1 == e2);
		errs += e1 != 0;
		if (!e1 && !e2) {
			CHECK(a.len == b.len && !memcmp(a.p, b.p, a.len));
			same += a.len == b.len && !memcmp(a.p, b.p, a.len);
			if (a.len != b.len || memcmp(a.p, b.p, a.len))
				fprintf(stderr, "  pattern %s: %.*s\n  vs %.*s\n", p.p, (int)a.len, a.p, (int)b.len, b.p);
		}
	}
	/* most were searches, not refusals; the worker answered all of them */
	CHECK(same > N_PATTERNS / 2 && d && searchd_pid(d) > 0);
	searchd_free(d);
	buf_release(&p);
	buf_release(&a);
	buf_release(&b);
	fixture_free(&f);
	for (int i = 0; i < N_FILES; i++)
		free(texts[i]);
	(void)errs;
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	RUN(share_attach_same_answers);
	RUN(attached_text_is_read_only);
	RUN(attach_refuses_damage);
	RUN(worker_answers_as_in_process);
	RUN(worker_starts_whatever_descriptors_are_free);
	RUN(generated_patterns_answer_as_in_process);
	RUN(worker_killed_hung_restarted);
	RUN(hostile_worker_slow_or_huge);
	RUN(hostile_worker_hangs_many_searches);
	RUN(hostile_worker_refusals);
	RUN(reviewer_refusals_keep_the_worker);
	RUN(slow_pattern_keeps_its_budget);
	return test_done();
}
