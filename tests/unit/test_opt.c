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

TEST(lists)
{
	const char *pos[1];
	struct opt_list l = {0};
	int np;
	struct opt_common c = {0};
	struct opt opts[] = {{"quota", OPT_LIST, &l}, {NULL, 0, NULL}};
	char *argv[OPT_LIST_MAX + 3];
	char *a2[] = {"x", "--quota", "a=1", "--quota=b=2", NULL};
	CHECK(opt_parse(4, a2, opts, &c, pos, 1, &np) == 0 && l.n == 2 && !strcmp(l.v[0], "a=1") && !strcmp(l.v[1], "b=2"));
	/* at the limit, and one past it */
	argv[0] = "x";
	for (int i = 1; i <= OPT_LIST_MAX + 1; i++)
		argv[i] = "--quota=x=1";
	memset(&l, 0, sizeof(l));
	CHECK(opt_parse(OPT_LIST_MAX + 1, argv, opts, &c, pos, 1, &np) == 0 && l.n == OPT_LIST_MAX);
	memset(&l, 0, sizeof(l));
	CHECK(opt_parse(OPT_LIST_MAX + 2, argv, opts, &c, pos, 1, &np) == ERR_USAGE && strstr(err_msg(), "more than"));
}

int main(void)
{
	RUN(lists);
	RUN(parses_all_forms);
	RUN(usage_errors);
	return test_done();
}
