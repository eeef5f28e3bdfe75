/*
 * build: binary equivalence. Rebuild a sealed release from the vault inside a sandbox,
 * twice with deliberate variations, compare the outputs bit for bit, and attest them.
 *
 * The tree comes from the vault only (opened with the data key a keyring holds: the running
 * room's, or one the command filled from the vendor's key), as a tar
 * stream on a pipe into bubblewrap, which extracts it into a tmpfs of the sandbox's own
 * mount namespace: the plaintext is never written to a disk of the host, and it is gone
 * when the sandbox ends. The sandbox has no network (a new network namespace with only a
 * loopback), a read-only root and /usr (the host's toolchain), tmpfs /build and /tmp of
 * the recipe's disk limit each, uid and gid 1000, umask 022, LANG/LC_ALL C.UTF-8, TZ UTC,
 * SOURCE_DATE_EPOCH the seal's time, and the recipe's env; the whole process group is
 * killed at the recipe's time limit.
 *
 * Run 1 builds at /build/src; run 2 varies the build path, the clock (libfaketime, a year
 * ahead, when installed), the order in which files are created (so readdir order) and the
 * host name. When their outputs differ, one more run per variation names the ones that
 * change them. Only a reproducible build is attested: an in-toto Statement v1 whose
 * subjects are the outputs' SHA-256 and whose SLSA provenance v1 predicate resolves the
 * sealed tree (gitTree) and the build environment digest (build_env_digest), in a DSSE
 * envelope signed with the facility's key. Every build, failed or not, is logged before
 * build_release returns; outputs, environment and envelope are kept in DIR/builds/<id>/
 * and the builds table.
 */
#ifndef SEALROOM_BUILD_H
#define SEALROOM_BUILD_H

#include <stdint.h>

#include "buf.h"
#include "facility.h"
#include "keyring.h"
#include "recipe.h"
#include "release.h"

enum build_var {
	BUILD_VAR_PATH = 1,
	BUILD_VAR_TIME = 2,
	BUILD_VAR_ORDER = 4,
	BUILD_VAR_HOST = 8,
};
#define BUILD_N_VARS 4
#define BUILD_PATH "/build/src"
#define BUILD_PATH_VARIED "/build/variation/elsewhere/src"
#define BUILD_UID 1000
#define BUILD_BUILDTYPE "urn:sealroom:build:v1"
#define SLSA_PROVENANCE_V1 "https://slsa.dev/provenance/v1"

/* The name of one variation bit ("build path", "time", "file order", "host name"). */
const char *build_var_name(unsigned bit);

struct build_progress {
	unsigned run, n_runs;
	const char *phase; /* "extracting", "building", "collecting", "done" */
	double seconds;    /* since this run started */
	uint64_t lines;    /* lines of output so far */
};

struct build_opts {
	const char *product, *version;
	struct keyring *keys;             /* holds the release's data key (keyring.h) */
	const char *recipe_path;          /* in the tree; NULL: RECIPE_PATH_DEFAULT */
	const char *actor;                /* for the log */
	void (*progress)(void *ctx, const struct build_progress *p);
	void *progress_ctx;
	int verbose_fd;    /* the build's output is copied there, or -1 */
	/* the build runs in the room for someone without the vendor's key: no line of its
	 * output (it may quote sealed code) goes into a message, the log or the database */
	int hide_output;
	const volatile int *cancel; /* when set and *cancel, the sandbox is killed */
	const char *bwrap; /* NULL: "bwrap" on PATH */
};

struct build_output {
	char *path;
	unsigned char sha256[32];
	uint64_t size;
};

struct build_result {
	int64_t id;          /* row of the builds table */
	char invocation[33]; /* random hex; DIR/builds/<invocation>/ */
	int reproducible;
	unsigned varies;     /* when not: the variation bits that change the outputs */
	char *differs;       /* when not: the first output that differs */
	unsigned runs;
	struct build_output *outputs;
	size_t n_outputs;
	char env_digest[65];
	char tree_sha256[65];
	char *envelope;      /* DSSE JSON when reproducible, else NULL */
	uint64_t log_index;
};

/*
 * Build o->product@o->version from its sealed tree. A reproducible build returns 0 with
 * *out attested; one whose runs differ returns 0 with reproducible == 0 (logged, not
 * attested). ERR_NOTFOUND for a missing recipe, bwrap or toolchain package; ERR_PARSE for
 * a bad recipe; ERR_DENIED for a toolchain version that differs from the declared one; ERR_IO when the sandbox
 * cannot start (the message says why); ERR_DENIED when the recipe fails, ERR_TOOBIG when
 * it passes its time or disk limit (each logged as a failed build).
 */
int build_release(struct facility *f, const struct build_opts *o, struct build_result **out) WUR;
void build_result_free(struct build_result *r);

/*
 * The build environment document and its SHA-256: "sealroom/build-env/v1", then
 * "package NAME VERSION" for every installed Debian package (sorted), then
 * "file SHA256 PATH" (or "link TARGET PATH") for every file of the declared toolchain
 * packages (sorted by path). ERR_NOTFOUND naming a toolchain package that is not
 * installed, ERR_DENIED one installed at another version than the declared one.
 */
int build_env_digest(const struct recipe *r, struct buf *doc, char hex[65]) WUR;

/* A kept build, for match and the room. */
struct build_record {
	int64_t id;
	char product[RELEASE_NAME_MAX + 1], version[RELEASE_NAME_MAX + 1];
	char invocation[33];
	char status[16]; /* "reproducible", "unreproducible" */
	char env_digest[65];
	char tree_sha256[65];
	int64_t created_at;
	char *detail;    /* malloc'd: the cause when unreproducible */
	char *envelope;  /* malloc'd or NULL */
	struct build_output *outputs;
	size_t n_outputs;
};
void build_record_release(struct build_record *b);

/* The latest reproducible (attested) build of product@version; ERR_NOTFOUND when none. */
int build_latest(struct facility *f, const char *product, const char *version,
		 struct build_record *out) WUR;
/* Visit every kept build of product@version (NULL: of every release), newest first. */
int build_each(struct facility *f, const char *product, const char *version,
	       int (*fn)(void *ctx, const struct build_record *b), void *ctx) WUR;
/* Read kept output i of b (its SHA-256 checked against the record: ERR_CORRUPT). */
int build_output_read(struct facility *f, const struct build_record *b, size_t i,
		      struct buf *out) WUR;

#endif
