/*
 * cmd_unlock: the offline unlock (keyring.h)
 *   sealroom unlock request P@V [--for DURATION] --out REQ    at the facility
 *   sealroom unlock respond REQ --vendor-key FILE --out RESP   on the vendor's machine
 *   sealroom unlock apply RESP                                 at the facility
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "keyring.h"
#include "policy.h"

static const char usage[] =
	"sealroom unlock request P@V [--for DURATION] --out REQ | unlock respond REQ --vendor-key FILE "
	"--out RESP | unlock apply RESP [--json]";

static int read_small(const char *path, struct buf *b)
{
	int r;
	b->max = KEYRING_FILE_MAX;
	if ((r = buf_read_file(b, path)) == ERR_TOOBIG)
		r = err_set(ERR_TOOBIG, "'%s' is larger than %d bytes: not an unlock file", path, KEYRING_FILE_MAX);
	return r;
}

int cmd_unlock(int argc, char **argv)
{
	const char *key_path = NULL, *dur = NULL, *out = NULL, *pos[2];
	char product[RELEASE_NAME_MAX + 1], version[RELEASE_NAME_MAX + 1], when[32];
	struct opt_common c = {0};
	struct opt opts[] = {{"vendor-key", OPT_STRING, &key_path},
			     {"for", OPT_STRING, &dur},
			     {"out", OPT_STRING, &out},
			     {NULL, 0, NULL}};
	struct note_signer *vendor = NULL;
	struct note_wrapper *wrap = NULL;
	struct facility *f = NULL;
	struct keyring_unlock_info info;
	struct buf in, res;
	int64_t window = KEYRING_WINDOW_DEFAULT;
	int n, r;

	if (opt_parse(argc, argv, opts, &c, pos, 2, &n))
		return cmd_usage("unlock", usage);
	if (c.help) {
		printf("usage: %s\n\n"
		       "Open a review window (default 10h, at most 31d) without the vendor's keys on the\n"
		       "facility. `request` asks the running server for a one-time key and challenge and\n"
		       "writes REQ; the vendor runs `respond` on its own machine (no facility folder):\n"
		       "it checks the seal in REQ is its own, unwraps the data key with FILE.wrap, seals\n"
		       "it to the server's one-time key and signs RESP with FILE. `apply` hands RESP to\n"
		       "the server, which checks the signature, the seal and the vault's tree ids, logs\n"
		       "the unlock and holds the key in locked memory until the window ends. Each\n"
		       "request is answered once; a server restart forgets pending requests.\n",
		       usage);
		return 0;
	}
	buf_init(&in, KEYRING_FILE_MAX);
	buf_init(&res, KEYRING_FILE_MAX);
	if (n != 2 || (strcmp(pos[0], "request") && strcmp(pos[0], "respond") && strcmp(pos[0], "apply"))) {
		err_set(ERR_USAGE, n < 2 ? "wants 'request P@V', 'respond REQ' or 'apply RESP'"
					 : "unknown subcommand '%s'", pos[0]);
		return cmd_usage("unlock", usage);
	}
	if (!strcmp(pos[0], "request")) {
		int64_t until;
		if (!out || key_path) {
			err_set(ERR_USAGE, key_path ? "the facility never holds the vendor's key: --vendor-key is for 'respond'"
						    : "--out REQ is required");
			return cmd_usage("unlock", usage);
		}
		if (release_parse_ref(pos[1], product, version) || (dur && policy_parse_duration(dur, &window)))
			return cmd_usage("unlock", usage);
		if (window > KEYRING_WINDOW_MAX) {
			err_set(ERR_USAGE, "a review window is at most %d days", KEYRING_WINDOW_MAX / 86400);
			return cmd_usage("unlock", usage);
		}
		until = (int64_t)time(NULL) + window;
		if (access(out, F_OK) == 0) {
			r = err_set(ERR_EXISTS, "cannot create '%s': it exists; refusing to overwrite it", out);
			goto out;
		}
		if ((r = facility_open(facility_resolve(c.dir), &f)) ||
		    (r = keyring_send_request(f, NULL, product, version, until, &res)) ||
		    (r = cmd_write_new(out, res.p, res.len, 0644)))
			goto out;
		policy_format_time(until, when, sizeof(when));
		if (c.json)
			printf("{\"release\":\"%s@%s\",\"until\":\"%s\",\"request\":\"%s\"}\n", product, version, when, out);
		else
			printf("wrote %s: the unlock request of %s@%s until %s; the vendor answers it with\n"
			       "'sealroom unlock respond %s --vendor-key KEY --out RESP'\n",
			       out, product, version, when, out);
	} else if (!strcmp(pos[0], "respond")) {
		if (!out || !key_path || dur) {
			err_set(ERR_USAGE, dur ? "the window is the request's: --for is for 'request'"
					       : !key_path ? "--vendor-key FILE is required" : "--out RESP is required");
			return cmd_usage("unlock", usage);
		}
		if (access(out, F_OK) == 0) {
			r = err_set(ERR_EXISTS, "cannot create '%s': it exists; refusing to overwrite it", out);
			goto out;
		}
		if ((r = read_small(pos[1], &in)) || (r = note_signer_load(key_path, &vendor)) ||
		    (r = cmd_load_wrapper(key_path, &wrap)) ||
		    (r = keyring_respond(in.p, in.len, vendor, wrap, (int64_t)time(NULL), &res, &info)) ||
		    (r = cmd_write_new(out, res.p, res.len, 0644)))
			goto out;
		policy_format_time(info.until, when, sizeof(when));
		if (c.json)
			printf("{\"release\":\"%s\",\"facility\":\"%s\",\"until\":\"%s\",\"response\":\"%s\"}\n",
			       info.release, info.facility, when, out);
		else
			printf("wrote %s: %s at facility %s unlocked until %s once applied there\n", out,
			       info.release, info.facility, when);
	} else {
		if (out || key_path || dur) {
			err_set(ERR_USAGE, "'apply RESP' takes no --out, --vendor-key or --for");
			return cmd_usage("unlock", usage);
		}
		if ((r = read_small(pos[1], &in)) || (r = facility_open(facility_resolve(c.dir), &f)) ||
		    (r = keyring_send_response(f, NULL, in.p, in.len, &res)))
			goto out;
		if (c.json) {
			struct buf j;
			buf_init(&j, 0);
			if (buf_addstr(&j, "{\"applied\":") || buf_addjson(&j, res.p, res.len) || buf_addch(&j, '}'))
				BUG("json");
			puts(j.p);
			buf_release(&j);
		} else {
			puts(res.p);
		}
	}
	r = 0;
out:
	buf_release(&in);
	buf_release(&res);
	note_signer_free(vendor);
	note_wrapper_free(wrap);
	facility_free(f);
	return r ? cmd_fail("unlock", r) : 0;
}
