/* Unit tests: opt (long options, -C, --json, positionals, usage errors). */
#include "opt.h"
#include "test.h"

TEST(parses_all_forms)
{
	const char *s = NULL, *pos[2];
	unsigned long long n = 0;
	int flag = 0, np;
	struct opt_common c = {0};
	struct opt opts[] = {{"name", OPT_STRING, &s}, {"n", OPT_UINT, &n}, {"f", OPT_FLAG, &flag}, {NULL, 0, NULL}};
	char *argv[] = {"x", "a", "--name", "v", "--n=7", "--f", "-C", "d", "--json", "--", "--b", NULL};
	CHECK(opt_parse(11, argv, opts, &c, pos, 2, &np) == 0);
	CHECK(np == 2 && !strcmp(pos[0], "a") && !strcmp(pos[1], "--b"));
	CHECK(s && !strcmp(s, "v") && n == 7 && flag == 1 && c.json == 1 && !strcmp(c.dir, "d"));
}

TEST(usage_errors)
{
	const char *s = NULL, *pos[1];
	unsigned long long n = 0;
	int np;
	struct opt_common c = {0};
	struct opt opts[] = {{"name", OPT_STRING, &s}, {"n", OPT_UINT, &n}, {NULL, 0, NULL}};
	char *a1[] = {"x", "--nope", NULL};
	char *a2[] = {"x", "--name", NULL};
	char *a3[] = {"x", "--n", "-1", NULL};
	char *a4[] = {"x", "p", "q", NULL};
	char *a5[] = {"x", "--n", "99999999999999999999999", NULL};
	CHECK(opt_parse(2, a1, opts, &c, pos, 1, &np) == ERR_USAGE && strstr(err_msg(), "--nope"));
	CHECK(opt_parse(2, a2, opts, &c, pos, 1, &np) == ERR_USAGE);
	CHECK(opt_parse(3, a3, opts, &c, pos, 1, &np) == ERR_USAGE);
	CHECK(opt_parse(3, a4, opts, &c, pos, 1, &np) == ERR_USAGE && strstr(err_msg(), "'q'"));
	CHECK(opt_parse(3, a5, opts, &c, pos, 1, &np) == ERR_USAGE);
}

int main(void)
{
	RUN(parses_all_forms);
	RUN(usage_errors);
	return test_done();
}
