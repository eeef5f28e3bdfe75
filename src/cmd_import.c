/*
 * cmd_import: sealroom import BUNDLE [--json]
 * Bring a release sealed at the vendor's (`seal --out BUNDLE`) into the facility: the seal
 * is checked against the bundle's vendor key (the key of the product's earlier releases),
 * the vault copied, the seal logged.
 */
#include <stdio.h>

#include "cmd.h"
#include "release.h"

static const char usage[] = "sealroom import BUNDLE [--json]";

int cmd_import(int argc, char **argv)
{
	const char *pos[1];
	struct opt_common c = {0};
	struct opt opts[] = {{NULL, 0, NULL}};
	struct facility *f = NULL;
	struct release_info info;
	struct buf out;
	int n, r;

	if (opt_parse(argc, argv, opts, &c, pos, 1, &n))
		return cmd_usage("import", usage);
	if (c.help) {
		printf("usage: %s\n\n"
		       "Import a release bundle made by `sealroom seal ... --out BUNDLE` at the vendor's:\n"
		       "its seal must verify with the bundle's vendor key (the same key as the product's\n"
		       "earlier releases) and bind its wrapped key; the vault is copied in and the seal\n"
		       "logged. The vendor's secret keys are not needed; the tree ids are checked at\n"
		       "every unlock and open.\n", usage);
		return 0;
	}
	if (n != 1) {
		err_set(ERR_USAGE, "wants one BUNDLE");
		return cmd_usage("import", usage);
	}
	if ((r = facility_open(facility_resolve(c.dir), &f)) || (r = release_import(f, pos[0], &info)))
		goto out;
	buf_init(&out, 0);
	if (c.json) {
		if (release_json(&info, &out))
			BUG("json");
	} else if (buf_addf(&out, "imported %s@%s\ntree-sha256 %s\ntree-sha1   %s\nfiles %llu, bytes %llu",
			    info.product, info.version, info.tree_sha256, info.tree_sha1,
			    (unsigned long long)info.files, (unsigned long long)info.bytes)) {
		BUG("out");
	}
	puts(out.p);
	buf_release(&out);
	release_info_release(&info);
out:
	facility_free(f);
	return r ? cmd_fail("import", r) : 0;
}
