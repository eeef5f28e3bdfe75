/*
 * release: sealing a source tree into an encrypted release, verifying one, listing them.
 *
 * Sealing is the whole pipeline: ingest (hostile sources refused whole) -> vault (each blob
 * compressed and encrypted under a fresh data key, wrapped to the vendor's key) -> manifest
 * and tree ids -> the seal (a signed note by the vendor) -> the log entry (durable) -> the
 * database row. The vault folder is renamed into place only when complete, and the row is
 * written last, so a crash leaves either no release or a whole one.
 */
#ifndef SEALROOM_RELEASE_H
#define SEALROOM_RELEASE_H

#include <stdint.h>

#include "facility.h"
#include "ingest.h"
#include "note.h"

#define RELEASE_NAME_MAX 128

struct release_info {
	char product[RELEASE_NAME_MAX + 1];
	char version[RELEASE_NAME_MAX + 1];
	char tree_sha256[65];
	char tree_sha1[41];
	uint64_t files;
	uint64_t bytes;
	int64_t sealed_at;
	char vault_dir[64];
	char state[16];
	char *vendor_vkey; /* malloc'd */
	char *wrap_pkey;   /* malloc'd: the vendor's wrapping key line, from the seal */
	char wrapped_sha256[65]; /* SHA-256 of the wrapped key, from the seal */
	char *seal_note;   /* malloc'd */
	unsigned char *wrapped_key; /* malloc'd; NULL once shredded */
	size_t wrapped_len;
};

struct seal_opts {
	const char *product;
	const char *version;
	const struct note_signer *vendor;
	const char *wrap_pkey; /* the vendor's public wrapping key line (FILE.wrap.pub) */
	struct ingest_opts ingest;
	int zstd_level;
	int progress; /* draw a progress bar on stderr */
};

/* Check a product or version name: 1..128 printable bytes, no spaces, no '@' in products. */
int release_name_check(const char *what, const char *s, int allow_at) WUR;

/* Split "P@V" at its first '@'. */
int release_parse_ref(const char *ref, char *product, char *version) WUR;

/* Seal source as o->product@o->version; fills out (release_info_release it). */
int release_seal(struct facility *f, const char *source, const struct seal_opts *o,
		 struct release_info *out) WUR;

/*
 * Seal source at the vendor's, with no facility: the vault and the seal go to a new
 * folder bundle (BUNDLE/vault/, BUNDLE/seal, BUNDLE/wrapped, BUNDLE/vendor.pub), made
 * under a temporary name and renamed into place whole. ERR_EXISTS when bundle exists.
 */
int release_seal_bundle(const char *bundle, const char *source, const struct seal_opts *o,
			struct release_info *out) WUR;
/*
 * Import a bundle into the facility: the seal must verify with the bundle's vendor key,
 * which must be the key of the product's earlier releases, and bind the wrapped key; the
 * vault files are copied (only its index and packs, regular files) under a fresh name,
 * the seal is logged (durable) and then catalogued. Nothing of the bundle is trusted
 * before the seal verifies; the tree ids are checked at every open (release_open_key).
 */
int release_import(struct facility *f, const char *bundle, struct release_info *out) WUR;

/*
 * The seal of a catalogued release, verified: the note's signature by the row's vendor
 * key, its text in the documented form, its product and version the row's, and the row's
 * wrapped key the one whose SHA-256 the seal signs. Fills sealed with the signed fields
 * (release_info_release it). ERR_AUTH or ERR_CORRUPT with a one-line reason.
 */
int release_seal_open(const struct release_info *row, struct release_info *sealed) WUR;

struct vault;
struct vault_key;
struct manifest;
/*
 * Open a release for reading with its data key: release_seal_open, then the vault, its
 * manifest, and both tree ids, the file count and byte total recomputed from the manifest
 * must equal the signed ones (every blob is checked against its id when it is read, in
 * vault_get). On success *v and *m are the caller's; sealed (when not NULL) gets the
 * signed fields. The first failure names what differs.
 */
int release_open_key(struct facility *f, const struct release_info *row, const struct vault_key *key,
		     struct vault **v, struct manifest **m, struct release_info *sealed) WUR;

/*
 * Unwrap row's data key with the vendor's wrapping key, after checking the seal names
 * that wrapping key. ERR_DENIED when the release was shredded.
 */
int release_unwrap(const struct release_info *row, const struct note_wrapper *wrap,
		   struct vault_key **out) WUR;

/* Look up a release by product and version; ERR_NOTFOUND when there is none. */
int release_get(struct facility *f, const char *product, const char *version,
		struct release_info *out) WUR;
void release_info_release(struct release_info *r);

/* The release's vault folder (malloc'd in *out), after checking that the catalogue names a
 * plain folder (no '/', not hidden): ERR_CORRUPT otherwise. */
int release_vault_dir(struct facility *f, const struct release_info *r, char **out) WUR;

/* Is vendor the key that sealed r? ERR_AUTH naming the sealing key when it is not. */
int release_check_vendor(const struct release_info *r, const struct note_signer *vendor) WUR;

/*
 * A release opened with the vendor's keys, for the commands that read it outside the room
 * (search, findings import): the data key (unwrapped with wrap, release_unwrap), the vault
 * and the manifest, with every check of release_open_key. The signing key must be the one
 * that sealed it (ERR_AUTH), the release not shredded (ERR_DENIED). Free with
 * release_opened_release (also after a failure).
 */
struct release_opened {
	struct vault_key *key;
	struct vault *v;
	struct manifest *m;
};
int release_open(struct facility *f, const char *product, const char *version,
		 const struct note_signer *vendor, const struct note_wrapper *wrap,
		 struct release_opened *o) WUR;
void release_opened_release(struct release_opened *o);

/* Visit every release, oldest first. */
int release_each(struct facility *f, int (*fn)(void *ctx, const struct release_info *r), void *ctx) WUR;

struct verify_report {
	uint64_t files;
	uint64_t objects;
	uint64_t bytes;
};

/*
 * Verify a release with the vendor's keys: the seal's signature by the vendor key recorded
 * for it (which must be vendor's), the seal's fields against the catalogue, the wrapped
 * key bound by the seal, every object's tag, every blob's SHA-1 and SHA-256 ids, and both
 * tree ids recomputed from the vault. The first failure is returned with a message naming
 * the path or object.
 */
int release_verify(struct facility *f, const char *product, const char *version,
		   const struct note_signer *vendor, const struct note_wrapper *wrap,
		   struct verify_report *rep) WUR;
/*
 * The same checks (but the vendor key's, which the unlock checked) with the data key the
 * running room holds (keyring.h: keyring_send_verify asks the room to run them).
 */
int release_verify_key(struct facility *f, const char *product, const char *version, const struct vault_key *key,
		       struct verify_report *rep) WUR;

/* The seal note text for the given fields (sealroom/seal/v1, docs/formats.md). */
int release_seal_text(const struct release_info *r, struct buf *out) WUR;

/* Append {"release":..., "tree_sha256":..., ...} for r to out as a JSON object. */
int release_json(const struct release_info *r, struct buf *out) WUR;

#endif
