/* test_searchd: a loaded index handed to another process (index_share / index_attach) and
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

/* this binary is the worker's image too (searchd_start runs /proc/self/exe): searchd.c's
 * constructor makes it one */

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

/* Share f's index and attach it again in this process; with keep, the image stays in *img
 * (release it after the index), its postings read in place. */
static struct index *attached(struct fixture *f, int keep, struct buf *img)
{
	struct index *ix = NULL;
	int fd = -1;
	buf_init(img, (size_t)1 << 30);
	if (index_share(f->ix, img, &fd) || index_attach(img->p, img->len, f->m, fd, keep, &ix))
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
	CHECK(index_share(f.ix, &img, &fd) == 0);
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
	/* an index that was not loaded has no text to share */
	{
		struct index *dec = NULL;
		int fd2 = -1;
		CHECK(index_decode(f.enc.p, f.enc.len, f.m, &dec) == 0);
		buf_reset(&bad);
		CHECK(index_share(dec, &bad, &fd2) == ERR_USAGE && fd2 == -1);
		index_free(dec);
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

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	RUN(share_attach_same_answers);
	RUN(attached_text_is_read_only);
	RUN(attach_refuses_damage);
	RUN(worker_answers_as_in_process);
	RUN(worker_killed_hung_restarted);
	return test_done();
}
