/* cmd_init: sealroom init [--name FACILITY] [-C DIR] [--json] */
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "facility.h"

static const char usage[] = "sealroom init [--name FACILITY] [-C DIR] [--json]";

int cmd_init(int argc, char **argv)
{
	const char *name = "sealroom.local", *pos[1];
	struct opt_common c = {0};
	struct opt opts[] = {{"name", OPT_STRING, &name}, {NULL, 0, NULL}};
	struct facility *f = NULL;
	struct buf vk;
	const struct note_signer *s;
	const char *dir;
	int n, r;

	if (opt_parse(argc, argv, opts, &c, pos, 0, &n))
		return cmd_usage("init", usage);
	if (c.help) {
		printf("usage: %s\n\nCreate a facility folder: the database, the vault and the\n"
		       "facility's Ed25519 log key. The folder is -C DIR, else $SEALROOM_HOME,\n"
		       "else ./sealroom-data. FACILITY names the log (its checkpoint origin).\n", usage);
		return 0;
	}
	dir = facility_resolve(c.dir);
	if ((r = facility_init(dir, name)))
		return cmd_fail("init", r);
	if ((r = facility_open(dir, &f)) || (r = facility_signer(f, &s)))
		goto fail;
	buf_init(&vk, 4096);
	if ((r = note_signer_vkey(s, &vk))) {
		buf_release(&vk);
		goto fail;
	}
	if (c.json) {
		struct buf j;
		buf_init(&j, 0);
		if (buf_addstr(&j, "{\"facility\":") || buf_addjson(&j, name, strlen(name)) ||
		    buf_addstr(&j, ",\"dir\":") || buf_addjson(&j, dir, strlen(dir)) ||
		    buf_addstr(&j, ",\"log_vkey\":") || buf_addjson(&j, vk.p, vk.len) ||
		    buf_addstr(&j, "}"))
			BUG("json");
		puts(j.p);
		buf_release(&j);
	} else {
		printf("initialised facility '%s' in %s\nlog verifier key: %s\n", name, dir, vk.p);
	}
	buf_release(&vk);
	facility_free(f);
	return 0;
fail:
	facility_free(f);
	return cmd_fail("init", r);
}
