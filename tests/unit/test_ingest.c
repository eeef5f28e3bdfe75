/* test_ingest: every kind of source against stock git, hostile sources, limits. */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "gitobj.h"
#include "ingest.h"
#include "manifest.h"
#include "test.h"

static char fx[256];
static atomic_ulong calls, bad_ids;
static const char *fail_on;

static int sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

static void read_line(const char *name, char *out, size_t cap)
{
	char p[512];
	FILE *f;
	snprintf(p, sizeof(p), "%s/%s", fx, name);
	out[0] = 0;
	if (!(f = fopen(p, "r")))
		return;
	if (!fgets(out, (int)cap, f))
		out[0] = 0;
	out[strcspn(out, "\n")] = 0;
	fclose(f);
}

/* Checks each blob's ids against its bytes; fails on the path fail_on. */
static int cb(void *ctx, const struct manifest_entry *e, const void *data, size_t len)
{
	unsigned char a[20], b[32];
	(void)ctx;
	atomic_fetch_add(&calls, 1);
	gitobj_blob_ids(data, len, a, b);
	if (memcmp(a, e->sha1, 20) || memcmp(b, e->sha256, 32) || len != e->size)
		atomic_fetch_add(&bad_ids, 1);
	if (fail_on && e->path_len == strlen(fail_on) && !memcmp(e->path, fail_on, e->path_len))
		return err_set(ERR_DENIED, "callback refused '%s'", fail_on);
	return 0;
}

/* Ingest src (relative to the fixtures unless absolute) and give both tree ids in hex. */
static int ids(const char *src, const struct ingest_opts *o, char h1[41], char h256[65],
	       struct manifest **keep)
{
	struct manifest *m = NULL;
	unsigned char t1[20], t256[32];
	char path[512];
	int rc;
	snprintf(path, sizeof(path), "%s%s%s", src[0] == '/' ? "" : fx, src[0] == '/' ? "" : "/",
		 src);
	atomic_store(&calls, 0);
	atomic_store(&bad_ids, 0);
	rc = ingest_source(path, o, cb, NULL, &m);
	if (rc == 0)
		rc = manifest_tree_ids(m, t1, t256);
	if (rc == 0) {
		hex_encode(h1, t1, 20);
		hex_encode(h256, t256, 32);
	}
	if (keep)
		*keep = m;
	else
		manifest_free(m);
	return rc;
}

static void same_as_git(const char *src, const char *rev, int threads)
{
	struct ingest_opts o;
	char h1[41] = "", h256[65] = "", w1[64], w256[80];
	int rc;
	ingest_opts_default(&o);
	o.rev = rev;
	o.threads = threads;
	read_line("sha1", w1, sizeof(w1));
	read_line("sha256", w256, sizeof(w256));
	rc = ids(src, &o, h1, h256, NULL);
	if (rc)
		fprintf(stderr, "%s: %s\n", src, err_msg());
	CHECK(rc == 0);
	CHECK_EQ_STR(h1, w1);
	CHECK_EQ_STR(h256, w256);
	CHECK(atomic_load(&bad_ids) == 0);
	CHECK(atomic_load(&calls) > 10);
}

TEST(dir_matches_git)
{
	same_as_git("src", NULL, 0);
	same_as_git("src", NULL, 1);
	same_as_git("src", NULL, 7);
}

TEST(archives_match_git)
{
	same_as_git("src.tar", NULL, 0);
	same_as_git("src-gnu.tar", NULL, 0);
	same_as_git("src.tar.gz", NULL, 0);
	same_as_git("src.tar.xz", NULL, 0);
	same_as_git("src.tar.zst", NULL, 0);
	same_as_git("src.zip", NULL, 0);
}

TEST(git_matches_git)
{
	char t[64];
	read_line("repo.tree", t, sizeof(t));
	CHECK(strlen(t) == 40);
	same_as_git("repo", "HEAD", 0);
	same_as_git("repo", "HEAD", 1);
	same_as_git("bare.git", NULL, 0);
	same_as_git("bare.git", "HEAD^{tree}", 0);
}

TEST(empty_tree)
{
	struct ingest_opts o;
	char h1[41] = "", h256[65] = "";
	ingest_opts_default(&o);
	/* a non-bare repository without a revision is its working tree: empty here */
	CHECK(ids("repo", &o, h1, h256, NULL) == 0);
	CHECK_EQ_STR(h1, "4b825dc642cb6eb9a060e54bf8d69288fbee4904");
	CHECK_EQ_STR(h256, "6ef19b41225c5369f1c104d45d8d85efa9b057b53b14b4b9b939dd74decc5321");
}

/* The source must fail with code and a message containing want. */
static void refused(const char *src, const struct ingest_opts *opt, int code, const char *want)
{
	struct ingest_opts o;
	char h1[41], h256[65];
	int rc;
	if (opt)
		o = *opt;
	else
		ingest_opts_default(&o);
	rc = ids(src, &o, h1, h256, NULL);
	if (rc != code || !strstr(err_msg(), want))
		fprintf(stderr, "%s: rc %d (%s), wanted %d with '%s'\n", src, rc, err_msg(), code,
			want);
	CHECK(rc == code);
	CHECK(strstr(err_msg(), want) != NULL);
}

TEST(hostile_archives)
{
	refused("dotdot.tar", NULL, ERR_HOSTILE, "'a/../../etc/passwd' escapes the source root");
	refused("absolute.tar", NULL, ERR_HOSTILE, "'/etc/passwd' is an absolute path");
	refused("symdir.tar", NULL, ERR_HOSTILE, "'link/passwd' goes through the symlink 'link'");
	refused("symdir2.tar", NULL, ERR_HOSTILE, "'d/link/x' goes through the symlink 'd/link'");
	refused("chr.tar", NULL, ERR_HOSTILE, "'dev/null' is a device file");
	refused("blk.tar", NULL, ERR_HOSTILE, "'dev/sda' is a device file");
	refused("fifo.tar", NULL, ERR_HOSTILE, "'pipe' is a FIFO");
	refused("dup.tar", NULL, ERR_HOSTILE, "'a/b' appears twice");
	refused("conflict.tar", NULL, ERR_HOSTILE, "'a' is both a file and a directory");
	refused("hardout.tar", NULL, ERR_HOSTILE, "hard link 'h' points outside the source");
	refused("hardunknown.tar", NULL, ERR_HOSTILE, "hard link 'h' points to no earlier");
	refused("dotgit.tar", NULL, ERR_HOSTILE, "'.git/config' has a '.git' path component");
	refused("dotgitcase.tar", NULL, ERR_HOSTILE, "'sub/.GIT/hooks/x' has a '.git'");
	refused("zipdotdot.zip", NULL, ERR_HOSTILE, "'../evil' escapes the source root");
	refused("zipsym.zip", NULL, ERR_HOSTILE, "'zlink/passwd' goes through the symlink 'zlink'");
}

TEST(archive_oddities)
{
	struct ingest_opts o;
	struct manifest *m = NULL;
	char h1[41], h256[65];
	const struct manifest_entry *a, *b;
	ingest_opts_default(&o);
	CHECK(ids("hardok.tar", &o, h1, h256, &m) == 0);
	CHECK(m && manifest_count(m) == 2);
	CHECK(atomic_load(&calls) == 1);
	if (m) {
		a = manifest_find(m, "orig", 4);
		b = manifest_find(m, "copy", 4);
		CHECK(a && b && !memcmp(a->sha256, b->sha256, 32) && b->size == 5);
	}
	manifest_free(m);
	m = NULL;
	CHECK(ids("dotslash.tar", &o, h1, h256, &m) == 0);
	CHECK(m && manifest_count(m) == 2 && manifest_find(m, "d/b", 3) && manifest_find(m, "a", 1));
	manifest_free(m);
	CHECK(sh("head -c 1000 /dev/urandom > %s/noise.bin", fx) == 0);
	refused("noise.bin", NULL, ERR_PARSE, "'");
}

TEST(hostile_dirs)
{
	CHECK(sh("mkdir -p %s/h1/sub && mkfifo %s/h1/sub/pipe", fx, fx) == 0);
	refused("h1", NULL, ERR_HOSTILE, "'sub/pipe' is a FIFO");
	CHECK(sh("mkdir -p %s/h2/a/.git && echo x > %s/h2/a/f", fx, fx) == 0);
	refused("h2", NULL, ERR_HOSTILE, "'a/.git' is an embedded git repository");
	CHECK(sh("mkdir -p %s/h3/.Git", fx) == 0);
	refused("h3", NULL, ERR_HOSTILE, "'.Git' is an embedded git repository");
	CHECK(sh("mkdir -p %s/h4 && python3 -c \"import socket; s=socket.socket(socket.AF_UNIX); "
		 "s.bind('%s/h4/sock')\"", fx, fx) == 0);
	refused("h4", NULL, ERR_HOSTILE, "'sock' is a socket");
	if (sh("mkdir -p %s/h5 && mknod %s/h5/null c 1 3 2>/dev/null", fx, fx) == 0)
		refused("h5", NULL, ERR_HOSTILE, "'null' is a device file");
	/* the top-level .git is skipped like git does */
	CHECK(sh("mkdir -p %s/h6/.git && echo x > %s/h6/.git/config && echo y > %s/h6/f", fx,
		 fx, fx) == 0);
	{
		struct ingest_opts o;
		struct manifest *m = NULL;
		char h1[41], h256[65];
		ingest_opts_default(&o);
		CHECK(ids("h6", &o, h1, h256, &m) == 0);
		CHECK(m && manifest_count(m) == 1);
		manifest_free(m);
	}
	refused("does-not-exist", NULL, ERR_NOTFOUND, "does-not-exist");
	if (geteuid() != 0) {
		CHECK(sh("mkdir -p %s/h7 && echo x > %s/h7/secret && chmod 000 %s/h7/secret", fx, fx,
			 fx) == 0);
		refused("h7", NULL, ERR_IO, "'secret'");
	}
}

TEST(broken_git)
{
	/* a loose blob whose content no longer matches its id */
	CHECK(sh("cp -a %s/repo %s/broken && cd %s/broken && o=$(git rev-parse HEAD:foo.c) && "
		 "f=.git/objects/$(echo $o | cut -c1-2)/$(echo $o | cut -c3-) && chmod u+w $f && "
		 "python3 -c \"import zlib,sys; open(sys.argv[1],'wb').write(zlib.compress("
		 "b'blob 2\\0zz'))\" $f", fx, fx, fx) == 0);
	refused("broken", &(struct ingest_opts){ .rev = "HEAD", .max_file = 1 << 20,
		.max_total = 1 << 30, .max_files = 100, .max_ratio = 200 },
		ERR_CORRUPT, "'foo.c'");
	/* a loose blob that is not even zlib */
	CHECK(sh("cp -a %s/repo %s/broken2 && cd %s/broken2 && o=$(git rev-parse HEAD:foo-bar) && "
		 "f=.git/objects/$(echo $o | cut -c1-2)/$(echo $o | cut -c3-) && chmod u+w $f && "
		 "printf garbage > $f", fx, fx, fx) == 0);
	refused("broken2", &(struct ingest_opts){ .rev = "HEAD", .max_file = 1 << 20,
		.max_total = 1 << 30, .max_files = 100, .max_ratio = 200 },
		ERR_CORRUPT, "'foo-bar'");
	refused("repo", &(struct ingest_opts){ .rev = "nosuchrev", .max_file = 1 << 20,
		.max_total = 1 << 30, .max_files = 100, .max_ratio = 200 },
		ERR_NOTFOUND, "'nosuchrev'");
}

TEST(submodule)
{
	CHECK(sh("cd %s && rm -rf sm && git init -q sm && cd sm && echo x > f && git add f && "
		 "git update-index --add --cacheinfo 160000,$(git hash-object f),lib/sub && "
		 "git commit -q -m s", fx) == 0);
	refused("sm", &(struct ingest_opts){ .rev = "HEAD", .max_file = 1 << 20,
		.max_total = 1 << 30, .max_files = 100, .max_ratio = 200 },
		ERR_HOSTILE, "'lib/sub' is a submodule");
}

TEST(limits)
{
	struct ingest_opts o;
	char h1[41], h256[65];
	CHECK(sh("mkdir -p %s/lim && cd %s/lim && head -c 1000 /dev/zero > big && "
		 "for i in 1 2 3 4; do echo $i > f$i; done && bsdtar -cf ../lim.tar . && "
		 "bsdtar -czf ../lim.tar.gz .", fx, fx) == 0);
	ingest_opts_default(&o);
	o.max_file = 1000;
	CHECK(ids("lim", &o, h1, h256, NULL) == 0);
	CHECK(ids("lim.tar", &o, h1, h256, NULL) == 0);
	o.max_file = 999;
	refused("lim", &o, ERR_TOOBIG, "'big' is larger than the 999-byte file limit");
	refused("lim.tar", &o, ERR_TOOBIG, "'big' is larger than the 999-byte file limit");
	ingest_opts_default(&o);
	o.max_files = 5;
	CHECK(ids("lim", &o, h1, h256, NULL) == 0);
	CHECK(ids("lim.tar.gz", &o, h1, h256, NULL) == 0);
	o.max_files = 4;
	refused("lim", &o, ERR_TOOBIG, "more than 4 files");
	refused("lim.tar.gz", &o, ERR_TOOBIG, "more than 4 files");
	ingest_opts_default(&o);
	o.max_total = 1008;
	CHECK(ids("lim", &o, h1, h256, NULL) == 0);
	o.max_total = 1007;
	refused("lim", &o, ERR_TOOBIG, "byte limit");
	refused("lim.tar", &o, ERR_TOOBIG, "byte limit");
	/* ratio: an uncompressed tar expands exactly 1 time */
	ingest_opts_default(&o);
	o.ratio_after = 0;
	o.max_ratio = 1;
	CHECK(ids("lim.tar", &o, h1, h256, NULL) == 0);
	o.max_ratio = 0;
	refused("lim.tar", &o, ERR_TOOBIG, "expands more than 0 times");
	/* a bomb: 80 MiB of zeros, checked past the default 64 MiB */
	CHECK(sh("cd %s && mkdir -p bomb && head -c 83886080 /dev/zero > bomb/z && "
		 "bsdtar -czf bomb.tar.gz -C bomb z && rm -rf bomb", fx) == 0);
	ingest_opts_default(&o);
	refused("bomb.tar.gz", &o, ERR_TOOBIG, "expands more than 200 times");
	o.max_ratio = 100000;
	CHECK(ids("bomb.tar.gz", &o, h1, h256, NULL) == 0);
}

TEST(callback_error)
{
	fail_on = "foo/x";
	refused("src", NULL, ERR_DENIED, "callback refused 'foo/x'");
	refused("src.tar.gz", NULL, ERR_DENIED, "callback refused 'foo/x'");
	refused("repo", &(struct ingest_opts){ .rev = "HEAD", .max_file = 1 << 20,
		.max_total = 1 << 30, .max_files = 100, .max_ratio = 200 },
		ERR_DENIED, "callback refused 'foo/x'");
	fail_on = NULL;
}

/* An archive cut in half is refused whole, naming it. */
TEST(archive_truncated)
{
	CHECK(sh("cd %s && head -c $(( $(wc -c < src.tar.zst) / 2 )) src.tar.zst > half.tar.zst", fx) == 0);
	refused("half.tar.zst", NULL, ERR_PARSE, "half.tar.zst");
}

int main(void)
{
	const char *top = getenv("TMPDIR");
	snprintf(fx, sizeof(fx), "%s/sr-ingest-XXXXXX", top && *top ? top : "/tmp");
	if (!mkdtemp(fx) || sh("sh tests/unit/fixtures.sh awkward %s >/dev/null && "
			       "sh tests/unit/fixtures.sh hostile %s", fx, fx) != 0) {
		fprintf(stderr, "cannot build fixtures in %s\n", fx);
		return 1;
	}
	RUN(dir_matches_git);
	RUN(archives_match_git);
	RUN(git_matches_git);
	RUN(empty_tree);
	RUN(hostile_archives);
	RUN(archive_oddities);
	RUN(hostile_dirs);
	RUN(broken_git);
	RUN(submodule);
	RUN(limits);
	RUN(callback_error);
	RUN(archive_truncated);
	sh("chmod -R u+rwx %s; rm -rf %s", fx, fx);
	return test_done();
}
