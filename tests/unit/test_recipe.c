/* test_recipe: the sealed build recipe's parser, its limits at and past each cap. */
#include "test.h"

#include <stdint.h>

#include "buf.h"
#include "recipe.h"

static const char good[] =
	"sealroom/build/v1\n"
	"# a comment\n"
	"\n"
	"toolchain gcc-12 12.2.0-14\n"
	"toolchain libc6-dev:amd64 2.36-9+deb12u4\n"
	"env CFLAGS -O2 -g\n"
	"env EMPTY \n"
	"run make -C src\n"
	"run cp src/a.so out/\n"
	"output out/a.so\n"
	"output out/sub/b.a\n"
	"time-limit 120\n"
	"disk-limit 512M\n";

static int parse(const char *s, struct recipe **r)
{
	return recipe_parse(s, strlen(s), r);
}

/* Parse good with the line `line` appended, expecting code and a message containing want. */
static int bad_line(const char *line, int code, const char *want)
{
	struct buf b;
	struct recipe *r = NULL;
	int rc, ok;
	buf_init(&b, 1 << 20);
	if (buf_addstr(&b, good) || buf_addstr(&b, line))
		abort();
	rc = recipe_parse(b.p, b.len, &r);
	ok = rc == code && r == NULL && strstr(err_msg(), want) != NULL;
	if (!ok)
		fprintf(stderr, "  line '%s': rc %d msg '%s'\n", line, rc, err_msg());
	buf_release(&b);
	recipe_free(r);
	return ok;
}

TEST(good)
{
	struct recipe *r = NULL;
	CHECK(parse(good, &r) == 0);
	if (!r)
		return;
	CHECK(r->n_toolchain == 2);
	CHECK_EQ_STR(r->toolchain[1].name, "libc6-dev:amd64");
	CHECK_EQ_STR(r->toolchain[1].version, "2.36-9+deb12u4");
	CHECK(r->n_env == 2);
	CHECK_EQ_STR(r->env[0].value, "-O2 -g");
	CHECK_EQ_STR(r->env[1].value, "");
	CHECK(r->n_run == 2);
	CHECK_EQ_STR(r->run[1], "cp src/a.so out/");
	CHECK(r->n_outputs == 2);
	CHECK_EQ_STR(r->outputs[1], "out/sub/b.a");
	CHECK(r->time_limit == 120);
	CHECK(r->disk_limit == (uint64_t)512 << 20);
	recipe_free(r);
}

TEST(defaults)
{
	struct recipe *r = NULL;
	CHECK(parse("sealroom/build/v1\ntoolchain make 4.3-4.1\nrun true\noutput a\n", &r) == 0);
	if (r) {
		CHECK(r->time_limit == RECIPE_TIME_DEFAULT);
		CHECK(r->disk_limit == RECIPE_DISK_DEFAULT);
	}
	recipe_free(r);
}

TEST(header_and_framing)
{
	struct recipe *r = NULL;
	CHECK(parse("", &r) == ERR_PARSE && strstr(err_msg(), "line 1"));
	CHECK(parse("sealroom/build/v2\nrun x\n", &r) == ERR_PARSE);
	CHECK(parse(" sealroom/build/v1\n", &r) == ERR_PARSE);
	CHECK(parse("sealroom/build/v1\r\ntoolchain make 4.3\nrun x\noutput a\n", &r) == ERR_PARSE);
	CHECK(parse("sealroom/build/v1\ntoolchain make 4.3\nrun x\noutput a", &r) == ERR_PARSE &&
	      strstr(err_msg(), "newline"));
	static const char nul[] = "sealroom/build/v1\ntoolchain make 4.3\nrun x\0y\noutput a\n";
	CHECK(recipe_parse(nul, sizeof(nul) - 1, &r) == ERR_PARSE &&
	      strstr(err_msg(), "0x00"));
	CHECK(parse("sealroom/build/v1\ntoolchain make 4.3\nrun x\toutput\noutput a\n", &r) == ERR_PARSE &&
	      strstr(err_msg(), "line 3"));
	CHECK(parse("sealroom/build/v1\ntoolchain make 4.3\nrun caf\xc3\xa9\noutput a\n", &r) == ERR_PARSE);
	CHECK(parse("sealroom/build/v1\nrun x\noutput a\n", &r) == ERR_PARSE && strstr(err_msg(), "toolchain"));
	CHECK(parse("sealroom/build/v1\ntoolchain make 4.3\noutput a\n", &r) == ERR_PARSE && strstr(err_msg(), "run"));
	CHECK(parse("sealroom/build/v1\ntoolchain make 4.3\nrun x\n", &r) == ERR_PARSE && strstr(err_msg(), "output"));
	CHECK(r == NULL);
}

TEST(bad_lines)
{
	CHECK(bad_line("frobnicate yes\n", ERR_PARSE, "unknown key 'frobnicate'"));
	CHECK(bad_line("run\n", ERR_PARSE, "not 'KEY VALUE'"));
	CHECK(bad_line("run \n", ERR_PARSE, "empty run"));
	CHECK(bad_line("toolchain gcc-12\n", ERR_PARSE, "toolchain PACKAGE VERSION"));
	CHECK(bad_line("toolchain Gcc 1.0\n", ERR_PARSE, "toolchain PACKAGE VERSION"));
	CHECK(bad_line("toolchain g 1.0\n", ERR_PARSE, "toolchain PACKAGE VERSION"));
	CHECK(bad_line("toolchain gcc-12 v1\n", ERR_PARSE, "toolchain PACKAGE VERSION"));
	CHECK(bad_line("toolchain gcc-12 1.0 extra\n", ERR_PARSE, "toolchain PACKAGE VERSION"));
	CHECK(bad_line("toolchain gcc-12: 1.0\n", ERR_PARSE, "toolchain PACKAGE VERSION"));
	CHECK(bad_line("toolchain gcc-12 12.2.0-14\n", ERR_PARSE, "declared twice"));
	CHECK(bad_line("env lower x\n", ERR_PARSE, "env NAME VALUE"));
	CHECK(bad_line("env 1X x\n", ERR_PARSE, "env NAME VALUE"));
	CHECK(bad_line("env X\n", ERR_PARSE, "env NAME VALUE"));
	CHECK(bad_line("env CFLAGS -O0\n", ERR_PARSE, "set twice"));
	CHECK(bad_line("env PATH /evil\n", ERR_PARSE, "set by the sandbox"));
	CHECK(bad_line("env LD_PRELOAD /x.so\n", ERR_PARSE, "set by the sandbox"));
	CHECK(bad_line("env SOURCE_DATE_EPOCH 0\n", ERR_PARSE, "set by the sandbox"));
	CHECK(bad_line("env FAKETIME +0\n", ERR_PARSE, "set by the sandbox"));
	CHECK(bad_line("env LC_TIME C\n", ERR_PARSE, "set by the sandbox"));
	CHECK(bad_line("output /etc/passwd\n", ERR_PARSE, "not a relative path"));
	CHECK(bad_line("output ../x\n", ERR_PARSE, "not a relative path"));
	CHECK(bad_line("output a/../../x\n", ERR_PARSE, "not a relative path"));
	CHECK(bad_line("output a//b\n", ERR_PARSE, "not a relative path"));
	CHECK(bad_line("output ./a\n", ERR_PARSE, "not a relative path"));
	CHECK(bad_line("output a/\n", ERR_PARSE, "not a relative path"));
	CHECK(bad_line("output a b\n", ERR_PARSE, "not a relative path"));
	CHECK(bad_line("output a$(x)\n", ERR_PARSE, "not a relative path"));
	CHECK(bad_line("output out/a.so\n", ERR_PARSE, "listed twice"));
	CHECK(bad_line("time-limit 5\n", ERR_PARSE, "given twice"));
	CHECK(bad_line("disk-limit 5M\n", ERR_PARSE, "given twice"));
}

static int limits(const char *line)
{
	struct recipe *r = NULL;
	struct buf b;
	int rc;
	buf_init(&b, 1 << 20);
	if (buf_addstr(&b, "sealroom/build/v1\ntoolchain make 4.3\nrun x\noutput a\n") || buf_addstr(&b, line))
		abort();
	rc = recipe_parse(b.p, b.len, &r);
	recipe_free(r);
	buf_release(&b);
	return rc;
}

TEST(number_limits)
{
	CHECK(limits("time-limit 1\n") == 0);
	CHECK(limits("time-limit 86400\n") == 0);
	CHECK(limits("time-limit 86401\n") == ERR_PARSE);
	CHECK(limits("time-limit 0\n") == ERR_PARSE);
	CHECK(limits("time-limit 010\n") == ERR_PARSE);
	CHECK(limits("time-limit -1\n") == ERR_PARSE);
	CHECK(limits("time-limit 99999999999999999999\n") == ERR_PARSE);
	CHECK(limits("disk-limit 1M\n") == 0);
	CHECK(limits("disk-limit 1048576\n") == 0);
	CHECK(limits("disk-limit 1048575\n") == ERR_PARSE);
	CHECK(limits("disk-limit 64G\n") == 0);
	CHECK(limits("disk-limit 65G\n") == ERR_PARSE);
	CHECK(limits("disk-limit 1023K\n") == ERR_PARSE);
	CHECK(limits("disk-limit M\n") == ERR_PARSE);
	CHECK(limits("disk-limit 1T\n") == ERR_PARSE);
}

/* n lines "KEY <prefix><i> <value>" after a minimal recipe without that key. */
static int count_limit(const char *head, const char *key, const char *value, int n)
{
	struct recipe *r = NULL;
	struct buf b;
	int rc;
	buf_init(&b, 1 << 20);
	if (buf_addstr(&b, head))
		abort();
	for (int i = 0; i < n; i++)
		if (buf_addf(&b, "%s %s%d%s\n", key, strcmp(key, "env") ? "x" : "X", i, value))
			abort();
	rc = recipe_parse(b.p, b.len, &r);
	recipe_free(r);
	buf_release(&b);
	return rc;
}

TEST(count_limits)
{
	const char *no_tc = "sealroom/build/v1\nrun x\noutput a\n";
	const char *no_out = "sealroom/build/v1\ntoolchain make 4.3\nrun x\n";
	const char *no_run = "sealroom/build/v1\ntoolchain make 4.3\noutput a\n";
	const char *all = "sealroom/build/v1\ntoolchain make 4.3\nrun x\noutput a\n";
	CHECK(count_limit(no_tc, "toolchain", " 1.0", RECIPE_MAX_TOOLCHAIN) == 0);
	CHECK(count_limit(no_tc, "toolchain", " 1.0", RECIPE_MAX_TOOLCHAIN + 1) == ERR_TOOBIG);
	CHECK(count_limit(no_out, "output", "", RECIPE_MAX_OUTPUTS) == 0);
	CHECK(count_limit(no_out, "output", "", RECIPE_MAX_OUTPUTS + 1) == ERR_TOOBIG);
	CHECK(count_limit(no_run, "run", "", RECIPE_MAX_RUN) == 0);
	CHECK(count_limit(no_run, "run", "", RECIPE_MAX_RUN + 1) == ERR_TOOBIG);
	CHECK(count_limit(all, "env", " v", RECIPE_MAX_ENV) == 0);
	CHECK(count_limit(all, "env", " v", RECIPE_MAX_ENV + 1) == ERR_TOOBIG);
}

TEST(size_limits)
{
	struct buf b;
	struct recipe *r = NULL;
	const char *head = "sealroom/build/v1\ntoolchain make 4.3\noutput a\nrun ";
	buf_init(&b, 1 << 20);
	/* a run line of exactly RECIPE_MAX_LINE bytes, then one more */
	if (buf_addstr(&b, head))
		abort();
	for (int i = 0; i < RECIPE_MAX_LINE - 4; i++)
		if (buf_addch(&b, 'x'))
			abort();
	if (buf_addch(&b, '\n'))
		abort();
	CHECK(recipe_parse(b.p, b.len, &r) == 0);
	recipe_free(r);
	r = NULL;
	b.p[b.len - 1] = 'x';
	if (buf_addch(&b, '\n'))
		abort();
	CHECK(recipe_parse(b.p, b.len, &r) == ERR_TOOBIG && strstr(err_msg(), "longer than"));
	/* the whole file: RECIPE_MAX_LEN bytes parse, one more does not */
	buf_reset(&b);
	if (buf_addstr(&b, "sealroom/build/v1\ntoolchain make 4.3\noutput a\nrun x\n"))
		abort();
	while (b.len + 101 <= RECIPE_MAX_LEN)
		if (buf_addf(&b, "#%098d\n", 0))
			abort();
	while (b.len < RECIPE_MAX_LEN - 1)
		if (buf_addch(&b, '#'))
			abort();
	if (buf_addch(&b, '\n'))
		abort();
	CHECK(b.len == RECIPE_MAX_LEN);
	CHECK(recipe_parse(b.p, b.len, &r) == 0);
	recipe_free(r);
	r = NULL;
	CHECK(recipe_parse(b.p, b.len + 1, &r) == ERR_TOOBIG);
	buf_release(&b);
}

TEST(path_valid)
{
	char longp[RECIPE_MAX_PATH + 2];
	CHECK(recipe_path_valid("a", 1));
	CHECK(recipe_path_valid(".sealroom/build", 15));
	CHECK(recipe_path_valid("..a/b..", 7));
	CHECK(!recipe_path_valid("", 0));
	CHECK(!recipe_path_valid(".", 1));
	CHECK(!recipe_path_valid("..", 2));
	CHECK(!recipe_path_valid("a/./b", 5));
	CHECK(!recipe_path_valid("a\nb", 3));
	memset(longp, 'a', sizeof(longp));
	CHECK(recipe_path_valid(longp, RECIPE_MAX_PATH));
	CHECK(!recipe_path_valid(longp, RECIPE_MAX_PATH + 1));
}

int main(void)
{
	RUN(good);
	RUN(defaults);
	RUN(header_and_framing);
	RUN(bad_lines);
	RUN(number_limits);
	RUN(count_limits);
	RUN(size_limits);
	RUN(path_valid);
	return test_done();
}
