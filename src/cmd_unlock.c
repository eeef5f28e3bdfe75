/* cmd_unlock: sealroom unlock P@V --vendor-key FILE [--for DURATION] [--json] */
#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#include "cmd.h"
#include "keyring.h"
#include "policy.h"

static const char usage[] = "sealroom unlock P@V --vendor-key FILE [--for DURATION] [--json]";

int cmd_unlock(int argc, char **argv)
{
	const char *key_path = NULL, *dur = NULL, *pos[1];
	char product[RELEASE_NAME_MAX + 1], version[RELEASE_NAME_MAX + 1], when[32];
	struct opt_common c = {0};
	struct opt opts[] = {{"vendor-key", OPT_STRING, &key_path}, {"for", OPT_STRING, &dur}, {NULL, 0, NULL}};
	struct note_signer *vendor = NULL;
	struct facility *f = NULL;
	struct buf reply;
	int64_t window = KEYRING_WINDOW_DEFAULT, until;
	int n, r;

	if (opt_parse(argc, argv, opts, &c, pos, 1, &n))
		return cmd_usage("unlock", usage);
	if (c.help) {
		printf("usage: %s\n\n"
		       "Hand release P@V's data key to the running server for a review window (default\n"
		       "10h, at most 31d): the key is unwrapped here with the vendor's key, sealed to the\n"
		       "server's one-time key over the facility's socket (DIR/keyring.sock) and signed\n"
		       "by the vendor key. The server checks the signature and that the key opens the\n"
		       "vault, logs the unlock, and holds the key in locked memory until the window ends.\n",
		       usage);
		return 0;
	}
	if (n != 1 || !key_path) {
		err_set(ERR_USAGE, n != 1 ? "wants one release P@V" : "--vendor-key FILE is required");
		return cmd_usage("unlock", usage);
	}
	if (release_parse_ref(pos[0], product, version) || (dur && policy_parse_duration(dur, &window)))
		return cmd_usage("unlock", usage);
	if (window > KEYRING_WINDOW_MAX) {
		err_set(ERR_USAGE, "a review window is at most %d days", KEYRING_WINDOW_MAX / 86400);
		return cmd_usage("unlock", usage);
	}
	until = (int64_t)time(NULL) + window;
	buf_init(&reply, 4096);
	if ((r = note_signer_load(key_path, &vendor)) || (r = facility_open(facility_resolve(c.dir), &f)) ||
	    (r = keyring_send(f, NULL, product, version, vendor, until, &reply)))
		goto out;
	policy_format_time(until, when, sizeof(when));
	if (c.json)
		printf("{\"release\":\"%s@%s\",\"unlocked_until\":\"%s\"}\n", product, version, when);
	else
		printf("%s@%s unlocked until %s\n", product, version, when);
out:
	buf_release(&reply);
	note_signer_free(vendor);
	facility_free(f);
	return r ? cmd_fail("unlock", r) : 0;
}
