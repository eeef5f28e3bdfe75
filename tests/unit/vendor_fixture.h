/*
 * vendor_fixture.h: a test vendor's wrapping key, and the offline unlock in one process
 * (request, the vendor's response, apply), for the unit tests that seal and open releases.
 */
#ifndef SEALROOM_VENDOR_FIXTURE_H
#define SEALROOM_VENDOR_FIXTURE_H

#include <stdlib.h>
#include <time.h>

#include "keyring.h"
#include "note.h"

/* The test vendor's wrapping key (made once) and its public line, for seal_opts.wrap_pkey. */
static struct note_wrapper *fixture_wrap;
static struct buf fixture_wrap_pub;

static inline const char *fixture_wrap_pkey(void)
{
	if (!fixture_wrap) {
		struct buf sk;
		buf_init(&sk, 4096);
		buf_init(&fixture_wrap_pub, 4096);
		if (note_wrap_generate("acme", &sk, &fixture_wrap_pub) ||
		    note_wrapper_parse(sk.p, sk.len, &fixture_wrap))
			abort();
		buf_release(&sk);
	}
	return fixture_wrap_pub.p;
}

/* Unlock product@version into k until `until` as the vendor `signer` would, offline. */
static inline int fixture_unlock(struct keyring *k, struct facility *f, const char *product, const char *version,
				 const struct note_signer *signer, int64_t until)
{
	struct buf req, resp;
	struct keyring_unlock_info info;
	int r;
	fixture_wrap_pkey();
	buf_init(&req, KEYRING_FILE_MAX);
	buf_init(&resp, KEYRING_FILE_MAX);
	if (!(r = keyring_request(k, f, product, version, until, &req)) &&
	    !(r = keyring_respond(req.p, req.len, signer, fixture_wrap, (int64_t)time(NULL), &resp, &info)))
		r = keyring_apply(k, f, resp.p, resp.len, &info);
	buf_release(&req);
	buf_release(&resp);
	return r;
}

#endif
