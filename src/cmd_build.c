/*
 * cmd_build: sealroom build P@V [--vendor-key FILE] [--recipe PATH] [--out FILE]
 *            [--progress] [--verbose] [--json]
 *
 * Rebuilds the release from its sealed tree in the sandbox (build.h), twice with
 * variations, and prints the outputs' digests and the attestation. Without --vendor-key
 * the running room builds with the key it holds (console.h) and sends back only what is
 * printed here. Exit 1 when the build fails, passes a limit, or is not reproducible (the
 * message names the cause).
 */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "build.h"
#include "cmd.h"
#include "console.h"
#include "keyring.h"
#include "release.h"

static const char usage[] = "sealroom build P@V [--vendor-key FILE] [--recipe PATH] [--out FILE] "
			    "[--progress] [--verbose] [--json]";

struct prog {
	int tty;
};

static void progress(void *ctx, const struct build_progress *p)
{
	struct prog *pg = ctx;
	const char *end = pg->tty ? "\033[K\r" : "\n";
	if (pg->tty && (!strcmp(p->phase, "done") || !strcmp(p->phase, "failed")))
		end = "\033[K\n";
	fprintf(stderr, "build: run %u of %u: %s, %.0f s, %" PRIu64 " lines of output%s", p->run,
		p->n_runs, p->phase, p->seconds, p->lines, end);
	fflush(stderr);
}

int cmd_build(int argc, char **argv)
{
	const char *key_path = NULL, *recipe = NULL, *out_path = NULL, *pos[1];
	int show = 0, verbose = 0, n, r;
	struct opt_common c = {0};
	struct opt opts[] = {{"vendor-key", OPT_STRING, &key_path}, {"recipe", OPT_STRING, &recipe},
			     {"out", OPT_STRING, &out_path}, {"progress", OPT_FLAG, &show},
			     {"verbose", OPT_FLAG, &verbose}, {NULL, 0, NULL}};
	char product[RELEASE_NAME_MAX + 1], version[RELEASE_NAME_MAX + 1];
	struct facility *f = NULL;
	struct keyring *keys = NULL;
	struct build_result *res = NULL;
	struct build_opts bo = {0};
	struct prog pg = {0};
	FILE *of;

	if (opt_parse(argc, argv, opts, &c, pos, 1, &n))
		return cmd_usage("build", usage);
	if (c.help) {
		printf("usage: %s\n\n"
		       "Rebuild release P@V from its sealed tree in a\n"
		       "bubblewrap sandbox without network, following the recipe sealed in the tree\n"
		       "(default %s, docs/build.md). It builds twice, varying the build path, the\n"
		       "clock, the file order and the host name, and compares the outputs bit for\n"
		       "bit; when they differ, one run per variation names the cause. A reproducible\n"
		       "build is attested (in-toto + SLSA provenance in a DSSE envelope signed by\n"
		       "the facility, --out FILE writes it); every build is logged.\n"
		       "Without --vendor-key the running room builds it with the key it holds for an\n"
		       "unlocked window, and only the verdict, the digests and the attestation come\n"
		       "back; with --vendor-key FILE (and FILE.wrap) this command opens the vault itself.\n"
		       "--progress shows each run's phase; --verbose copies the build's output to\n"
		       "stderr (it may quote sealed code: only with --vendor-key).\n", usage, RECIPE_PATH_DEFAULT);
		return 0;
	}
	if (n != 1) {
		err_set(ERR_USAGE, "wants one release P@V");
		return cmd_usage("build", usage);
	}
	if (verbose && !key_path) {
		err_set(ERR_USAGE, "--verbose needs --vendor-key FILE: in the room the build's output stays there (it may "
			"quote sealed code)");
		return cmd_usage("build", usage);
	}
	if (release_parse_ref(pos[0], product, version))
		return cmd_usage("build", usage);
	signal(SIGPIPE, SIG_IGN);
	pg.tty = isatty(2);
	bo.product = product;
	bo.version = version;
	bo.recipe_path = recipe;
	bo.actor = cmd_local_actor();
	bo.verbose_fd = verbose ? 2 : -1;
	if (show || (pg.tty && !c.json)) {
		bo.progress = progress;
		bo.progress_ctx = &pg;
	}
	if ((r = facility_open(facility_resolve(c.dir), &f)))
		goto out;
	if (key_path) {
		/* the vendor's own keys: this process opens the vault */
		if ((r = keyring_new(&keys)) || (r = cmd_vendor_unlock(f, key_path, keys, product, version)))
			goto out;
		bo.keys = keys;
		r = build_release(f, &bo, &res);
	} else {
		/* the room's key: an unlocked window, no vendor key here */
		r = console_send_build(f, product, version, recipe, bo.actor, bo.progress, bo.progress_ctx, &res);
		if (r == ERR_NOTFOUND && !strncmp(err_msg(), "no server listens", 17))
			r = err_set(r, "no room is running to build '%s@%s' with its unlocked key (or give --vendor-key)",
				    product, version);
	}
	if (r)
		goto out;
	if (out_path && res->envelope) {
		if (!(of = fopen(out_path, "wx")) || fprintf(of, "%s\n", res->envelope) < 0 || fclose(of)) {
			r = err_set(ERR_IO, "cannot write '%s' (it must not exist)", out_path);
			goto out;
		}
	}
	if (c.json) {
		printf("{\"release\":\"%s@%s\",\"build\":%" PRId64 ",\"reproducible\":%s,\"runs\":%u,"
		       "\"tree_sha256\":\"%s\",\"environment\":\"%s\",\"log_index\":%" PRIu64 ",\"outputs\":[",
		       product, version, res->id, res->reproducible ? "true" : "false", res->runs,
		       res->tree_sha256, res->env_digest, res->log_index);
		for (size_t i = 0; i < res->n_outputs; i++) {
			char hx[65];
			hex_encode(hx, res->outputs[i].sha256, 32);
			printf("%s{\"path\":\"%s\",\"sha256\":\"%s\",\"size\":%" PRIu64 "}", i ? "," : "",
			       res->outputs[i].path, hx, res->outputs[i].size);
		}
		printf("]");
		if (!res->reproducible) {
			printf(",\"differs\":\"%s\",\"varies\":[", res->differs);
			for (unsigned b = 1, k = 0; b < (1u << BUILD_N_VARS); b <<= 1)
				if (res->varies & b)
					printf("%s\"%s\"", k++ ? "," : "", build_var_name(b));
			printf("]");
		}
		printf("}\n");
	} else {
		printf("%s %s@%s: %u runs in the sandbox from tree-sha256 %s\n",
		       res->reproducible ? "reproducible" : "NOT reproducible", product, version, res->runs,
		       res->tree_sha256);
		for (size_t i = 0; i < res->n_outputs; i++) {
			char hx[65];
			hex_encode(hx, res->outputs[i].sha256, 32);
			printf("  %s  %s (%" PRIu64 " bytes)\n", hx, res->outputs[i].path, res->outputs[i].size);
		}
		printf("environment sha256 %s\n", res->env_digest);
		if (res->reproducible)
			printf("attested: build %" PRId64 ", log entry %" PRIu64 ", signed by the facility\n",
			       res->id, res->log_index);
	}
	if (!res->reproducible) {
		char why[640];
		size_t k = 0;
		k += (size_t)snprintf(why + k, sizeof(why) - k, "'%s@%s' is not reproducible: '%s' differs",
				      product, version, res->differs);
		if (res->varies) {
			const char *sep = " when the ";
			for (unsigned b = 1; b < (1u << BUILD_N_VARS) && k < sizeof(why); b <<= 1)
				if (res->varies & b) {
					k += (size_t)snprintf(why + k, sizeof(why) - k, "%s%s changes", sep,
							      build_var_name(b));
					sep = " or the ";
				}
		} else {
			snprintf(why + k, sizeof(why) - k, " from run to run (no single variation explains it)");
		}
		r = err_set(ERR_DENIED, "%s", why);
	}
out:
	build_result_free(res);
	keyring_free(keys);
	facility_free(f);
	return r ? cmd_fail("build", r) : 0;
}
