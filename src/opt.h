/*
 * opt: the command-line option parser every cmd_* uses.
 *
 * A command lists its options in a table; opt_parse fills the pointers and collects the
 * positional arguments. Long options take "--name value" or "--name=value"; flags take no
 * value. "-C DIR" (the facility folder) and "--json" and "--help" are understood by every
 * command. Errors are usage errors: the caller prints err_msg() and exits 2.
 */
#ifndef SEALROOM_OPT_H
#define SEALROOM_OPT_H

#include "err.h"

enum opt_kind { OPT_FLAG, OPT_STRING, OPT_UINT, OPT_LIST };

/* The values of an option that may be given again and again (OPT_LIST). */
#define OPT_LIST_MAX 32
struct opt_list {
	const char *v[OPT_LIST_MAX];
	int n;
};

struct opt {
	const char *name;   /* without the leading dashes, e.g. "vendor-key" */
	enum opt_kind kind;
	void *ptr;          /* int * for flags, const char ** for strings, unsigned long long *,
			     * struct opt_list * for lists */
};

struct opt_common {
	const char *dir;    /* -C DIR */
	int json;
	int help;
};

/*
 * Parse argv[1..argc-1] (argv[0] is the command name). Positionals go to pos (pointers into
 * argv), at most max_pos of them; their count to *n_pos. Returns 0 or ERR_USAGE.
 */
int opt_parse(int argc, char **argv, const struct opt *opts, struct opt_common *common,
	      const char **pos, int max_pos, int *n_pos) WUR;

#endif
