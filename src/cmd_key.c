/*
 * cmd_key: sealroom key new NAME --out FILE
 * FILE: the Ed25519 signing key (0600), FILE.pub its verifier key line; FILE.wrap the
 * X25519 wrapping key (0600), FILE.wrap.pub its public line.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "cmd.h"
#include "note.h"

static const char usage[] = "sealroom key new NAME --out FILE [--json]";

int cmd_key(int argc, char **argv)
{
	const char *out = NULL, *pos[2];
	struct opt_common c = {0};
	struct opt opts[] = {{"out", OPT_STRING, &out}, {NULL, 0, NULL}};
	struct buf sk, vk, wsk, wpk;
	char *pub = NULL, *wrap = NULL, *wpub = NULL;
	int n, r;

	if (opt_parse(argc, argv, opts, &c, pos, 2, &n))
		return cmd_usage("key", usage);
	if (c.help) {
		printf("usage: %s\n\nWrite a new Ed25519 signing key to FILE (mode 0600) and its C2SP\n"
		       "verifier key line to FILE.pub, and a separate X25519 wrapping key (the one\n"
		       "release data keys are sealed to) to FILE.wrap (0600) and FILE.wrap.pub. NAME is\n"
		       "the keys' name in signed notes. A vendor keeps FILE and FILE.wrap on its own\n"
		       "machine; the facility needs neither.\n", usage);
		return 0;
	}
	if (n != 2 || strcmp(pos[0], "new") || !out) {
		err_set(ERR_USAGE, n < 2 ? "wants 'new NAME'" : !out ? "--out FILE is required" : "unknown subcommand '%s'", pos[0]);
		return cmd_usage("key", usage);
	}
	buf_init(&sk, 4096);
	buf_init(&vk, 4096);
	buf_init(&wsk, 4096);
	buf_init(&wpk, 4096);
	pub = xmalloc(strlen(out) + 10);
	snprintf(pub, strlen(out) + 10, "%s.pub", out);
	wrap = xmalloc(strlen(out) + 10);
	snprintf(wrap, strlen(out) + 10, "%s.wrap", out);
	wpub = xmalloc(strlen(out) + 10);
	snprintf(wpub, strlen(out) + 10, "%s.wrap.pub", out);
	if ((r = note_key_generate(pos[1], &sk, &vk)) || (r = buf_addch(&sk, '\n')) ||
	    (r = buf_addch(&vk, '\n')) || (r = note_wrap_generate(pos[1], &wsk, &wpk)) ||
	    (r = buf_addch(&wsk, '\n')) || (r = buf_addch(&wpk, '\n')))
		goto out;
	{
		const char *all[] = {out, pub, wrap, wpub};
		for (int i = 0; i < 4; i++)
			if (access(all[i], F_OK) == 0) {
				r = err_set(ERR_EXISTS, "cannot create '%s': it exists; refusing to overwrite a key",
					    all[i]);
				goto out;
			}
	}
	if ((r = cmd_write_new(out, sk.p, sk.len, 0600)))
		goto out;
	if ((r = cmd_write_new(pub, vk.p, vk.len, 0644))) {
		unlink(out);
		goto out;
	}
	if ((r = cmd_write_new(wrap, wsk.p, wsk.len, 0600))) {
		unlink(out);
		unlink(pub);
		goto out;
	}
	if ((r = cmd_write_new(wpub, wpk.p, wpk.len, 0644))) {
		unlink(out);
		unlink(pub);
		unlink(wrap);
		goto out;
	}
	wpk.p[--wpk.len] = 0;
	vk.p[--vk.len] = 0;
	if (c.json) {
		struct buf j;
		buf_init(&j, 0);
		if (buf_addstr(&j, "{\"name\":") || buf_addjson(&j, pos[1], strlen(pos[1])) ||
		    buf_addstr(&j, ",\"key\":") || buf_addjson(&j, out, strlen(out)) ||
		    buf_addstr(&j, ",\"vkey\":") || buf_addjson(&j, vk.p, vk.len) ||
		    buf_addstr(&j, ",\"wrap_key\":") || buf_addjson(&j, wrap, strlen(wrap)) ||
		    buf_addstr(&j, ",\"wrap_pkey\":") || buf_addjson(&j, wpk.p, wpk.len) || buf_addch(&j, '}'))
			BUG("json");
		puts(j.p);
		buf_release(&j);
	} else {
		printf("wrote %s and %s (keep both secret), %s and %s\n%s\n%s\n", out, wrap, pub, wpub, vk.p,
		       wpk.p);
	}
out:
	sodium_memzero(sk.p, sk.len);
	sodium_memzero(wsk.p, wsk.len);
	buf_release(&sk);
	buf_release(&vk);
	buf_release(&wsk);
	buf_release(&wpk);
	free(pub);
	free(wrap);
	free(wpub);
	if (r)
		return cmd_fail("key", r);
	return 0;
}
