/*
 * keyring: the unlocked data keys of a running server, and the local channel by which the
 * vendor hands one over.
 *
 * A struct keyring holds release data keys only in sodium_malloc memory (guard pages,
 * mlock'd, no access outside keyring calls), each until the end of its review window;
 * keyring_get refuses and wipes a key whose window ended, keyring_expire wipes all of
 * them, keyring_free wipes everything. It is safe to use from many threads.
 *
 * The channel (`sealroom unlock P@V --vendor-key FILE` to `serve`) is a unix socket,
 * DIR/keyring.sock, mode 0600, accepting only peers of the server's own uid:
 *   server -> "SRK1" | ephemeral X25519 public key (32) | challenge (32)
 *   client -> "SRU1" | u16 ref length | ref "P@V" | i64 until | sealed box (80) of the key
 *             to the ephemeral key | Ed25519 signature (64) by the vendor key over
 *             "sealroom/unlock/v1\0" | server key | challenge | everything before it
 *   server -> status (1 byte, 0 ok) | u16 length | message
 * The server checks the signature against the key that sealed the release, that the
 * release is not halted or shredded, and that the key opens the release's vault; then it
 * logs the unlock (durable) and only then holds the key. A fresh ephemeral key pair and
 * challenge per connection mean a recorded request cannot be replayed.
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
/* Wipe one release's key (a halt, a shred); 1 when one was held. */
int keyring_drop(struct keyring *k, const char *product, const char *version);
/* Wipe every key whose window ended by now; returns how many. */
int keyring_expire(struct keyring *k, int64_t now);
/* How many keys are held. */
int keyring_count(struct keyring *k);

/*
 * Unwrap a release's data key with the vendor's key (which must be the one that sealed
 * it), check it opens the vault, log the unlock, and hold it until `until`. For `serve`
 * started with --vendor-key, and used by the channel's server side.
 */
int keyring_unlock(struct keyring *k, struct facility *f, const char *product,
		   const char *version, const struct note_signer *vendor, int64_t until) WUR;

struct keyring_listener;

/*
 * Listen on path (NULL: DIR/keyring.sock) for unlocks into k. The listener opens its own
 * handle on the facility folder of f. A stale socket file is replaced; a live one (another
 * server) is ERR_EXISTS.
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
 * The client side: unwrap product@version's key with the vendor key, send it sealed to
 * the server at path (NULL: DIR/keyring.sock of f) for a window ending at until, and
 * append the server's answer to reply. ERR_NOTFOUND when no server listens.
 */
int keyring_send(struct facility *f, const char *path, const char *product,
		 const char *version, const struct note_signer *vendor, int64_t until,
		 struct buf *reply) WUR;

#endif
