/* cmd_org: sealroom org add NAME --kind vendor|lab|operator; sealroom org list */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "policy.h"

static const char usage[] = "sealroom org add NAME --kind vendor|lab|operator [--json] | org list [--json]";

/* The actor of operator commands run at the facility's console: the local account. */
const char *cmd_local_actor(void)
{
	static char name[80];
	const char *u = getenv("USER");
	snprintf(name, sizeof(name), "local:%s", u && *u && !auth_name_check("user", u) ? u : "operator");
	return name;
}

struct list_ctx {
	struct buf *out;
	int json, n;
};

static int list_one(void *ctx, const struct org_info *o)
{
	struct list_ctx *l = ctx;
	if (l->json)
		return buf_addf(l->out, "%s{\"name\":\"%s\",\"kind\":\"%s\",\"people\":%" PRId64 "}",
				l->n++ ? "," : "", o->name, o->kind, o->people);
	l->n++;
	return buf_addf(l->out, "%-24s %-9s %" PRId64 " people\n", o->name, o->kind, o->people);
}

int cmd_org(int argc, char **argv)
{
	const char *kind = NULL, *pos[2];
	struct opt_common c = {0};
	struct opt opts[] = {{"kind", OPT_STRING, &kind}, {NULL, 0, NULL}};
	struct facility *f = NULL;
	struct buf out;
	struct list_ctx l = {0};
	int n, r;

	if (opt_parse(argc, argv, opts, &c, pos, 2, &n))
		return cmd_usage("org", usage);
	if (c.help) {
		printf("usage: %s\n\nOrganisations of an engagement: the vendor who owns the code, the labs\n"
		       "whose reviewers read it, the operator who runs the facility. Names are\n"
		       "letters, digits, '.', '_' and '-'. Adding one is logged.\n", usage);
		return 0;
	}
	if (n < 1 || (strcmp(pos[0], "add") && strcmp(pos[0], "list")) ||
	    (!strcmp(pos[0], "add") && (n != 2 || !kind)) || (!strcmp(pos[0], "list") && n != 1)) {
		err_set(ERR_USAGE, "wants 'add NAME --kind KIND' or 'list'");
		return cmd_usage("org", usage);
	}
	buf_init(&out, 0);
	if ((r = facility_open(facility_resolve(c.dir), &f)))
		goto out;
	if (!strcmp(pos[0], "add")) {
		if ((r = policy_org_add(f, pos[1], kind, cmd_local_actor())))
			goto out;
		if (c.json)
			printf("{\"org\":\"%s\",\"kind\":\"%s\"}\n", pos[1], kind);
		else
			printf("added %s org '%s'\n", kind, pos[1]);
		goto out;
	}
	l.out = &out;
	l.json = c.json;
	if ((c.json && (r = buf_addch(&out, '['))) || (r = policy_org_each(f, list_one, &l)) ||
	    (c.json && (r = buf_addstr(&out, "]\n"))))
		goto out;
	fputs(out.p ? out.p : "", stdout);
out:
	buf_release(&out);
	facility_free(f);
	return r ? cmd_fail("org", r) : 0;
}
