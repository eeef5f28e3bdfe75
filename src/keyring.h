/*
 * keyring: the unlocked data keys of a running server, and the offline unlock by which the
 * vendor hands one over without its secret keys ever being on the facility.
 *
 * A struct keyring holds release data keys only in sodium_malloc memory (guard pages,
 * mlock'd, no access outside keyring calls), each until the end of its review window;
 * keyring_get refuses and wipes a key whose window ended, keyring_expire wipes all of
 * them, keyring_free wipes everything. It is safe to use from many threads.
 *
 * The unlock crosses an air gap as two small text files (docs/formats.md, "Unlock"):
 *   1. keyring_request (the running server, asked by `sealroom unlock request`): a fresh
 *      one-time X25519 key pair and challenge, held by the server in locked memory; the
 *      request names them, the release, the window's end, its seal and its wrapped key.
 *   2. keyring_respond (the vendor's machine, `sealroom unlock respond`, no facility):
 *      checks the seal inside the request is the vendor's own and names the wrapped key
 *      and the wrapping key, unwraps the data key, seals it to the one-time key and signs
 *      the response (a C2SP signed note) over every field of the request.
 *   3. keyring_apply (the server, `sealroom unlock apply`): the response must match a
 *      pending request (each is used once: a response cannot be replayed, and it is useless
 *      to any other process or after a restart), be signed by the key that sealed the
 *      release and name its seal; the key must open the release with every seal check of
 *      release_open_key. Then the unlock is logged (durable, with the signed response) and only
 *      then the key held. A refusal after the signature checks is logged too.
 * The local channel (`unlock request/apply` to `serve`) is a unix socket DIR/keyring.sock,
 * mode 0600, accepting only peers of the server's own uid.
 */
#ifndef SEALROOM_KEYRING_H
#define SEALROOM_KEYRING_H

#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "facility.h"
#include "note.h"
#include "vault.h"

#define KEYRING_SOCKET "keyring.sock"
#define KEYRING_MAX_KEYS 1024
/* The longest review window an unlock may ask for. */
#define KEYRING_WINDOW_MAX (31 * 86400)
#define KEYRING_WINDOW_DEFAULT (10 * 3600)

struct keyring;

int keyring_new(struct keyring **out) WUR;
/* Wipe every key and free (NULL is fine). */
void keyring_free(struct keyring *k);
/* Hold the key of product@version until `until` (replacing an earlier one). */
int keyring_put(struct keyring *k, const char *product, const char *version,
		const unsigned char raw[VAULT_KEY_LEN], int64_t until) WUR;
/*
 * A copy of the key for reading at now (vault_key_free it). ERR_NOTFOUND "release 'P@V'
 * is locked" when none is held or its window ended (the key is wiped then).
 */
int keyring_get(struct keyring *k, const char *product, const char *version, int64_t now,
		struct vault_key **out) WUR;
/* When the window of product@version's key ends (0 with *until), or ERR_NOTFOUND when no
 * key is held for it at now; the key itself is not touched. */
int keyring_until(struct keyring *k, const char *product, const char *version, int64_t now,
		  int64_t *until) WUR;
/* Wipe one release's key (a halt, a shred); 1 when one was held. */
int keyring_drop(struct keyring *k, const char *product, const char *version);
/* Wipe every key whose window ended by now; returns how many. */
int keyring_expire(struct keyring *k, int64_t now);

/* Pending requests a server holds at once, and how long one stays valid. */
#define KEYRING_PENDING_MAX 64
#define KEYRING_PENDING_TTL (7 * 86400)
/* The largest request or response file. */
#define KEYRING_FILE_MAX (64 * 1024)

/*
 * Start an unlock of product@version for a window ending at until: append the request
 * text to req. ERR_DENIED for a halted or shredded release, ERR_TOOBIG when too many
 * requests are pending, ERR_USAGE for a window past KEYRING_WINDOW_MAX.
 */
int keyring_request(struct keyring *k, struct facility *f, const char *product, const char *version,
		    int64_t until, struct buf *req) WUR;

/* What a response unlocks (for the vendor's and the operator's messages). */
struct keyring_unlock_info {
	char release[2 * 128 + 2];
	char facility[256];
	int64_t until;
};

/*
 * The vendor's side, with no facility: check the request (its seal signed by vendor and
 * binding the wrapped key to wrap's key) and append the signed response to resp.
 * ERR_PARSE for a malformed request, ERR_AUTH when the seal is not vendor's.
 */
int keyring_respond(const char *req, size_t len, const struct note_signer *vendor,
		    const struct note_wrapper *wrap, int64_t now, struct buf *resp,
		    struct keyring_unlock_info *info) WUR;

/* Apply a response (see above); info says what was unlocked. */
int keyring_apply(struct keyring *k, struct facility *f, const char *resp, size_t len,
		  struct keyring_unlock_info *info) WUR;

struct keyring_listener;

/*
 * Listen on path (NULL: DIR/keyring.sock) for requests and responses into k. The listener
 * opens its own handle on the facility folder of f. A stale socket file is replaced; a
 * live one (another server) is ERR_EXISTS.
 */
int keyring_listen(struct keyring *k, struct facility *f, const char *path,
		   struct keyring_listener **out) WUR;
/* Serve one connection (blocking). */
int keyring_serve_one(struct keyring_listener *l) WUR;
/* Serve connections in a background thread until keyring_listener_free. */
int keyring_listener_start(struct keyring_listener *l) WUR;
/* Stop, remove the socket file and free (NULL is fine). */
void keyring_listener_free(struct keyring_listener *l);

/*
 * The client side, for `unlock request` and `unlock apply`: ask the server at path (NULL:
 * DIR/keyring.sock of f) for a request (appended to out), or hand it a response (the
 * server's message appended to out). ERR_NOTFOUND when no server listens; the server's
 * refusal as ERR_DENIED with its reason.
 */
int keyring_send_request(struct facility *f, const char *path, const char *product,
			 const char *version, int64_t until, struct buf *out) WUR;
int keyring_send_response(struct facility *f, const char *path, const char *resp, size_t len,
			  struct buf *out) WUR;
/*
 * Ask the room to verify product@version with the data key it holds (an unlocked window):
 * every check of release_verify but the vendor key's, run in the room, logged there as
 * "verify"; nothing but the counts comes back. ERR_DENIED with the room's reason (locked,
 * or what is wrong); ERR_NOTFOUND when no room listens.
 */
struct verify_report;
int keyring_send_verify(struct facility *f, const char *path, const char *product, const char *version,
			struct verify_report *rep) WUR;


/*
 * The console (console.h): op 'C' carries a JSON line and the bytes after it to a handler
 * the room registers, run in a thread of its own (at most KEYRING_CONSOLE_WORKERS at once)
 * with a facility handle of its own; it may send progress lines (frame) before its answer,
 * and *cancel turns to 1 when the listener stops (keyring_listener_free waits for every job).
 * A refusal carries the handler's error code, so the command exits as it would have.
 */
#define KEYRING_CONSOLE_REQUEST_MAX (((size_t)64 << 20) + 65536)
#define KEYRING_CONSOLE_ANSWER_MAX ((size_t)1 << 20)
#define KEYRING_CONSOLE_WORKERS 4
#define KEYRING_CONSOLE_READ_SECONDS 60 /* a request arrives whole within this, or is refused */
typedef int (*keyring_console_fn)(void *ctx, struct facility *f, const char *req, size_t req_len, const char *body,
				  size_t body_len, void (*frame)(void *fctx, const char *p, size_t len), void *frame_ctx,
				  const volatile int *cancel, struct buf *out);
/* Register the console's handler (before keyring_listener_start). */
void keyring_listener_console(struct keyring_listener *l, keyring_console_fn fn, void *ctx);
/*
 * Send a console request (req: one JSON line; body: the bytes after it) to the room at path
 * (NULL: DIR/keyring.sock) and append its answer to out; progress lines go to frame.
 * ERR_NOTFOUND when no room listens; the room's refusal with its own code and message.
 */
int keyring_send_console(struct facility *f, const char *path, const char *req, const void *body, size_t body_len,
			 void (*frame)(void *ctx, const char *p, size_t len), void *ctx, struct buf *out) WUR;

#endif
