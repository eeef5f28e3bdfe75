/* test_gitobj: blob and tree ids against known answers and stock git, path checks. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "gitobj.h"
#include "test.h"

static void hex(char *out, const unsigned char *p, size_t n)
{
	hex_encode(out, p, n);
}

TEST(blob_ids)
{
	unsigned char a[20], b[32];
	char h1[41], h256[65];
	gitobj_blob_ids("", 0, a, b);
	hex(h1, a, 20);
	hex(h256, b, 32);
	CHECK_EQ_STR(h1, "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391");
	CHECK_EQ_STR(h256, "473a0f4c3be8a93681a267e3b1e9a7dcda1185436fe141f7749120a303721813");
	gitobj_blob_ids("hello\n", 6, a, b);
	hex(h1, a, 20);
	CHECK_EQ_STR(h1, "ce013625030ba8dba906f756967f9e9ca394464a");
}

TEST(empty_tree)
{
	struct tree_builder *t = tree_builder_new();
	unsigned char a[20], b[32];
	char h1[41], h256[65];
	CHECK(tree_builder_finish(t, a, b) == 0);
	hex(h1, a, 20);
	hex(h256, b, 32);
	CHECK_EQ_STR(h1, "4b825dc642cb6eb9a060e54bf8d69288fbee4904");
	CHECK_EQ_STR(h256, "6ef19b41225c5369f1c104d45d8d85efa9b057b53b14b4b9b939dd74decc5321");
	CHECK(tree_builder_finish(t, a, b) == ERR_USAGE);
	tree_builder_free(t);
}

static int sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

static void add_file(struct tree_builder *t, const char *dir, const char *path, const char *data,
		     unsigned mode)
{
	unsigned char a[20], b[32];
	char p[1024];
	FILE *f;
	snprintf(p, sizeof(p), "%s/%s", dir, path);
	if (strchr(path, '/')) {
		char d[1100];
		snprintf(d, sizeof(d), "mkdir -p \"$(dirname '%s')\"", p);
		CHECK(system(d) == 0);
	}
	if (mode == GITOBJ_MODE_LINK) {
		CHECK(symlink(data, p) == 0);
	} else {
		f = fopen(p, "w");
		CHECK(f != NULL);
		if (!f)
			return;
		fputs(data, f);
		fclose(f);
		if (mode == GITOBJ_MODE_EXEC)
			CHECK(sh("chmod 755 '%s'", p) == 0);
	}
	gitobj_blob_ids(data, strlen(data), a, b);
	CHECK(tree_builder_add(t, path, strlen(path), mode, a, b) == 0);
}

/* Names that sort differently as files and trees, against git write-tree. */
TEST(order_matches_git)
{
	char dir[] = "/tmp/sr-gitobj-XXXXXX", w1[64] = "", w256[80] = "", h1[41], h256[65];
	unsigned char a[20], b[32];
	struct tree_builder *t = tree_builder_new();
	FILE *f;
	CHECK(mkdtemp(dir) != NULL);
	add_file(t, dir, "foo-bar", "1", GITOBJ_MODE_FILE);
	add_file(t, dir, "foo.c", "2", GITOBJ_MODE_FILE);
	add_file(t, dir, "foo/x", "3", GITOBJ_MODE_FILE);
	add_file(t, dir, "foo-", "4", GITOBJ_MODE_EXEC);
	add_file(t, dir, "foo0/y", "5", GITOBJ_MODE_FILE);
	add_file(t, dir, "fo", "6", GITOBJ_MODE_LINK);
	add_file(t, dir, "a/b/c/d", "7", GITOBJ_MODE_FILE);
	add_file(t, dir, "a/b.c", "8", GITOBJ_MODE_FILE);
	add_file(t, dir, "a/b-c/x", "9", GITOBJ_MODE_FILE);
	add_file(t, dir, "\xff\xfe", "10", GITOBJ_MODE_FILE);
	add_file(t, dir, "Z", "11", GITOBJ_MODE_FILE);
	CHECK(tree_builder_finish(t, a, b) == 0);
	hex(h1, a, 20);
	hex(h256, b, 32);
	CHECK(sh("cd %s && for f in sha1 sha256; do mkdir -p ../$(basename %s).$f && "
		 "git init -q --object-format=$f ../$(basename %s).$f && "
		 "GIT_DIR=../$(basename %s).$f/.git git add -f -A && "
		 "GIT_DIR=../$(basename %s).$f/.git git write-tree > ../$(basename %s).$f.id; done",
		 dir, dir, dir, dir, dir, dir) == 0);
	{
		char p[512];
		snprintf(p, sizeof(p), "%s.sha1.id", dir);
		if ((f = fopen(p, "r"))) {
			CHECK(fgets(w1, sizeof(w1), f) != NULL);
			fclose(f);
		}
		snprintf(p, sizeof(p), "%s.sha256.id", dir);
		if ((f = fopen(p, "r"))) {
			CHECK(fgets(w256, sizeof(w256), f) != NULL);
			fclose(f);
		}
	}
	w1[strcspn(w1, "\n")] = 0;
	w256[strcspn(w256, "\n")] = 0;
	CHECK_EQ_STR(h1, w1);
	CHECK_EQ_STR(h256, w256);
	tree_builder_free(t);
	sh("rm -rf %s %s.sha1 %s.sha256 %s.sha1.id %s.sha256.id", dir, dir, dir, dir, dir);
}

TEST(path_check)
{
	CHECK(gitobj_path_check("a", 1) == 0);
	CHECK(gitobj_path_check("a/b.c/...x", 10) == 0);
	CHECK(gitobj_path_check(".gitignore", 10) == 0);
	CHECK(gitobj_path_check("x/.github/y", 11) == 0);
	CHECK(gitobj_path_check("", 0) == ERR_HOSTILE);
	CHECK(gitobj_path_check("/a", 2) == ERR_HOSTILE);
	CHECK(strstr(err_msg(), "'/a' is an absolute path") != NULL);
	CHECK(gitobj_path_check("a/../../etc/passwd", 18) == ERR_HOSTILE);
	CHECK(strstr(err_msg(), "'a/../../etc/passwd' escapes the source root") != NULL);
	CHECK(gitobj_path_check("..", 2) == ERR_HOSTILE);
	CHECK(gitobj_path_check("a/./b", 5) == ERR_HOSTILE);
	CHECK(gitobj_path_check(".", 1) == ERR_HOSTILE);
	CHECK(gitobj_path_check("a//b", 4) == ERR_HOSTILE);
	CHECK(gitobj_path_check("a/", 2) == ERR_HOSTILE);
	CHECK(gitobj_path_check(".git", 4) == ERR_HOSTILE);
	CHECK(gitobj_path_check("x/.GiT/config", 13) == ERR_HOSTILE);
	CHECK(strstr(err_msg(), "'x/.GiT/config' has a '.git' path component") != NULL);
	CHECK(gitobj_path_check("a\0b", 3) == ERR_HOSTILE);
	CHECK(strstr(err_msg(), "'a\\x00b' contains a NUL byte") != NULL);
}

TEST(duplicates_and_conflicts)
{
	unsigned char a[20] = { 0 }, b[32] = { 0 }, r1[20], r2[32];
	struct tree_builder *t = tree_builder_new();
	CHECK(tree_builder_add(t, "x/y", 3, GITOBJ_MODE_FILE, a, b) == 0);
	CHECK(tree_builder_add(t, "x/y", 3, GITOBJ_MODE_EXEC, a, b) == 0);
	CHECK(tree_builder_finish(t, r1, r2) == ERR_HOSTILE);
	CHECK(strstr(err_msg(), "'x/y' appears twice") != NULL);
	tree_builder_free(t);
	t = tree_builder_new();
	CHECK(tree_builder_add(t, "a-x", 3, GITOBJ_MODE_FILE, a, b) == 0);
	CHECK(tree_builder_add(t, "a/b", 3, GITOBJ_MODE_FILE, a, b) == 0);
	CHECK(tree_builder_add(t, "a", 1, GITOBJ_MODE_FILE, a, b) == 0);
	CHECK(tree_builder_finish(t, r1, r2) == ERR_HOSTILE);
	CHECK(strstr(err_msg(), "'a' is both a file and a directory") != NULL);
	tree_builder_free(t);
	t = tree_builder_new();
	CHECK(tree_builder_add(t, "a", 1, 040000, a, b) == ERR_USAGE);
	CHECK(tree_builder_add(t, "a", 1, 0100664, a, b) == ERR_USAGE);
	CHECK(tree_builder_add(t, "../a", 4, GITOBJ_MODE_FILE, a, b) == ERR_HOSTILE);
	tree_builder_free(t);
}

/* Many files in a deep, wide layout: must be quick (not timed here, see bench/). */
TEST(many_files)
{
	unsigned char a[20] = { 1 }, b[32] = { 2 }, r1[20], r2[32];
	struct tree_builder *t = tree_builder_new();
	char p[64];
	int i, ok = 1;
	for (i = 0; i < 100000; i++) {
		int n = snprintf(p, sizeof(p), "d%d/e%d/f%d.c", i % 97, i % 13, i);
		ok &= tree_builder_add(t, p, (size_t)n, GITOBJ_MODE_FILE, a, b) == 0;
	}
	CHECK(ok);
	CHECK(tree_builder_finish(t, r1, r2) == 0);
	tree_builder_free(t);
}

int main(void)
{
	RUN(blob_ids);
	RUN(empty_tree);
	RUN(order_matches_git);
	RUN(path_check);
	RUN(duplicates_and_conflicts);
	RUN(many_files);
	return test_done();
}
