/*
 * recipe: the declarative build recipe sealed in a release's tree (docs/build.md).
 *
 * A recipe is a small text file, by default `.sealroom/build` at the tree's root:
 *
 *   sealroom/build/v1
 *   toolchain gcc-12 12.2.0-14
 *   env CFLAGS -O2 -g
 *   run make -C src libfoo.a
 *   output src/libfoo.a
 *   time-limit 600
 *   disk-limit 512M
 *
 * The first line is exactly "sealroom/build/v1"; every later line is "KEY SP VALUE", a
 * '#' comment or empty; every line ends with LF; only printable ASCII. Keys: toolchain
 * (Debian package name[:arch] and version, 1..RECIPE_MAX_TOOLCHAIN, no name twice), env
 * (NAME and value, names [A-Z_][A-Z0-9_]*, none twice, none that the sandbox fixes), run
 * (1..RECIPE_MAX_RUN lines, run in order by `sh -eu`), output (relative paths of regular
 * files, 1..RECIPE_MAX_OUTPUTS, no "." or ".." component, none twice), time-limit
 * (seconds) and disk-limit (bytes, with K, M or G) at most once each. Anything else is
 * refused with the line number and why: the parser never guesses.
 *
 * A struct recipe owns its strings; recipe_parse reads untrusted bytes.
 */
#ifndef SEALROOM_RECIPE_H
#define SEALROOM_RECIPE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

#define RECIPE_PATH_DEFAULT ".sealroom/build"
#define RECIPE_MAGIC "sealroom/build/v1"
#define RECIPE_MAX_LEN ((size_t)64 << 10)
#define RECIPE_MAX_LINE 4096
#define RECIPE_MAX_TOOLCHAIN 64
#define RECIPE_MAX_ENV 64
#define RECIPE_MAX_RUN 256
#define RECIPE_MAX_OUTPUTS 64
#define RECIPE_MAX_PATH 255
#define RECIPE_TIME_DEFAULT 600
#define RECIPE_TIME_MAX 86400
#define RECIPE_DISK_DEFAULT ((uint64_t)1 << 30)
#define RECIPE_DISK_MIN ((uint64_t)1 << 20)
#define RECIPE_DISK_MAX ((uint64_t)64 << 30)

struct recipe_pkg {
	char *name;    /* "gcc-12" or "libc6-dev:amd64" */
	char *version; /* "12.2.0-14" */
};

struct recipe_env {
	char *name;
	char *value;
};

struct recipe {
	struct recipe_pkg *toolchain;
	size_t n_toolchain;
	struct recipe_env *env;
	size_t n_env;
	char **run;
	size_t n_run;
	char **outputs;
	size_t n_outputs;
	uint64_t time_limit; /* seconds */
	uint64_t disk_limit; /* bytes */
};

/*
 * Parse (p, len). ERR_PARSE "line N: why" for a malformed recipe, ERR_TOOBIG past
 * RECIPE_MAX_LEN or a count cap. *out (recipe_free it) is set only on success.
 */
int recipe_parse(const char *p, size_t len, struct recipe **out) WUR;
void recipe_free(struct recipe *r);

/* Is name one that the sandbox sets itself (PATH, HOME, SOURCE_DATE_EPOCH, TZ, LC_*, ...)? */
int recipe_env_reserved(const char *name, size_t len);

/* Is (p, len) a relative path without empty, "." or ".." components, of safe bytes? */
int recipe_path_valid(const char *p, size_t len);

#endif
