/* cmd: what every subcommand shares: failing with one line, usage text. */
#include <stdio.h>

#include "cmd.h"

int cmd_fail(const char *cmd, int code)
{
	const char *m = err_msg();
	fprintf(stderr, "sealroom %s: %s\n", cmd, *m ? m : err_name(code));
	return code == ERR_USAGE ? 2 : 1;
}

int cmd_usage(const char *cmd, const char *usage)
{
	const char *m = err_msg();
	if (*m)
		fprintf(stderr, "sealroom %s: %s; usage: %s\n", cmd, m, usage);
	else
		fprintf(stderr, "sealroom %s: usage: %s\n", cmd, usage);
	return 2;
}
