/* cmd_verify: sealroom verify P@V --vendor-key FILE [--json] */
#include <inttypes.h>
#include <stdio.h>

#include "cmd.h"
#include "keyring.h"
#include "release.h"

static const char usage[] = "sealroom verify P@V [--vendor-key FILE] [--json]";

int cmd_verify(int argc, char **argv)
{
	const char *key_path = NULL, *pos[1];
	struct opt_common c = {0};
	struct opt opts[] = {{"vendor-key", OPT_STRING, &key_path}, {NULL, 0, NULL}};
	char product[RELEASE_NAME_MAX + 1], version[RELEASE_NAME_MAX + 1];
	struct facility *f = NULL;
	struct note_signer *vendor = NULL;
	struct note_wrapper *wrap = NULL;
	struct verify_report rep;
	struct release_info info;
	int n, r;

	if (opt_parse(argc, argv, opts, &c, pos, 1, &n))
		return cmd_usage("verify", usage);
	if (c.help) {
		printf("usage: %s\n\n"
		       "Check release P@V: the seal's signature by the vendor, then, with the\n"
		       "vendor's wrapping key (FILE.wrap) to open the vault, every object's tag, every file's SHA-1 and\n"
		       "SHA-256 ids and both tree ids, recomputed from the vault. Names the path or\n"
		       "object that is wrong. Without --vendor-key the running room does it with the key\n"
		       "it holds for an unlocked window (logged there as verify): no vendor key is needed\n"
		       "on the facility.\n", usage);
		return 0;
	}
	if (n != 1) {
		err_set(ERR_USAGE, "wants one release P@V");
		return cmd_usage("verify", usage);
	}
	if ((r = release_parse_ref(pos[0], product, version)))
		return cmd_usage("verify", usage);
	if (key_path && ((r = note_signer_load(key_path, &vendor)) || (r = cmd_load_wrapper(key_path, &wrap))))
		goto out;
	if ((r = facility_open(facility_resolve(c.dir), &f)))
		goto out;
	if (!key_path) {
		/* the room's key: an unlocked window, no vendor key here */
		r = keyring_send_verify(f, NULL, product, version, &rep);
		if (r == ERR_NOTFOUND)
			r = err_set(r, "no room is running to verify '%s@%s' with its unlocked key (or give --vendor-key)", product,
				    version);
	} else {
		r = release_verify(f, product, version, vendor, wrap, &rep);
	}
	if (r || (r = release_get(f, product, version, &info)))
		goto out;
	if (c.json)
		printf("{\"release\":\"%s@%s\",\"ok\":true,\"tree_sha256\":\"%s\",\"tree_sha1\":\"%s\","
		       "\"files\":%" PRIu64 ",\"objects\":%" PRIu64 ",\"bytes\":%" PRIu64 "}\n",
		       product, version, info.tree_sha256, info.tree_sha1, rep.files, rep.objects, rep.bytes);
	else
		printf("ok %s@%s: seal signed by %s; %" PRIu64 " files (%" PRIu64
		       " objects, %" PRIu64 " bytes) decrypt and hash to\ntree-sha256 %s\ntree-sha1   %s\n",
		       product, version, vendor ? note_signer_name(vendor) : "the vendor (checked at the unlock; verified by the room)",
		       rep.files, rep.objects, rep.bytes,
		       info.tree_sha256, info.tree_sha1);
	release_info_release(&info);
out:
	note_signer_free(vendor);
	note_wrapper_free(wrap);
	facility_free(f);
	return r ? cmd_fail("verify", r) : 0;
}
