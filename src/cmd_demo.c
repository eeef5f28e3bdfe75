/*
 * cmd_demo: sealroom demo [SOURCE] [-C DIR] [--json]
 * A ready facility over a real tree: init (when DIR holds none), a vendor key, the tree
 * sealed and verified. SOURCE defaults to this project's own tree (at HEAD when it is a git
 * repository).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "cmd.h"
#include "release.h"

static const char usage[] = "sealroom demo [SOURCE] [-C DIR] [--json]";

/* The project tree: the folder holding the running binary, when it has src/main.c. */
static char *project_tree(void)
{
	char exe[PATH_MAX], probe[PATH_MAX + 32];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	for (int up = 0; n > 0 && up < 3; up++) {
		char *slash;
		exe[n] = 0;
		slash = strrchr(exe, '/');
		if (!slash)
			break;
		*slash = 0;
		n = slash - exe;
		snprintf(probe, sizeof(probe), "%s/src/main.c", exe);
		if (access(probe, F_OK) == 0)
			return xstrdup(exe);
	}
	return xstrdup(".");
}

int cmd_demo(int argc, char **argv)
{
	const char *listen = NULL, *pos[1];
	struct opt_common c = {0};
	struct opt opts[] = {{"listen", OPT_STRING, &listen}, {NULL, 0, NULL}};
	struct facility *f = NULL;
	struct note_signer *vendor = NULL;
	struct seal_opts so = {0};
	struct release_info info = {0};
	struct verify_report rep;
	struct buf kp, sk, vk, gitdir;
	char *src = NULL;
	const char *dir;
	int n, r, is_git;

	if (opt_parse(argc, argv, opts, &c, pos, 1, &n))
		return cmd_usage("demo", usage);
	if (c.help) {
		printf("usage: %s\n\nMake a ready facility in DIR over SOURCE (default: this project's\n"
		       "tree): the facility, a vendor key in DIR/demo-keys, SOURCE sealed as\n"
		       "demo@<tree id> and verified.\n", usage);
		return 0;
	}
	dir = facility_resolve(c.dir);
	src = n ? xstrdup(pos[0]) : project_tree();
	buf_init(&kp, 0);
	buf_init(&sk, 4096);
	buf_init(&vk, 4096);
	buf_init(&gitdir, 0);
	r = facility_init(dir, "demo.sealroom.local");
	if (r && r != ERR_EXISTS)
		goto out;
	if ((r = facility_open(dir, &f)))
		goto out;
	if (buf_addf(&kp, "%s/demo-keys", dir))
		BUG("path");
	if (mkdir(kp.p, 0700) < 0 && errno != EEXIST) {
		r = err_set(ERR_IO, "cannot create '%s': %s", kp.p, strerror(errno));
		goto out;
	}
	if (buf_addstr(&kp, "/vendor.key"))
		BUG("path");
	if (access(kp.p, F_OK) < 0) {
		FILE *fp;
		if ((r = note_key_generate("demo-vendor", &sk, &vk)))
			goto out;
		fp = fopen(kp.p, "wx");
		if (!fp || chmod(kp.p, 0600) || fprintf(fp, "%s\n", sk.p) < 0 || fclose(fp)) {
			r = err_set(ERR_IO, "cannot write '%s': %s", kp.p, strerror(errno));
			goto out;
		}
	}
	if ((r = note_signer_load(kp.p, &vendor)))
		goto out;

	if (buf_addf(&gitdir, "%s/.git", src))
		BUG("path");
	is_git = access(gitdir.p, F_OK) == 0;
	ingest_opts_default(&so.ingest);
	so.ingest.rev = is_git ? "HEAD" : NULL;
	so.product = "demo";
	so.version = "current";
	so.vendor = vendor;
	so.zstd_level = 3;
	so.progress = !c.json && isatty(2);
	r = release_seal(f, src, &so, &info);
	if (r == ERR_EXISTS)
		r = release_get(f, "demo", "current", &info);
	if (r || (r = release_verify(f, "demo", "current", vendor, &rep)))
		goto out;
	if (c.json) {
		printf("{\"facility\":\"%s\",\"release\":\"demo@current\",\"tree_sha256\":\"%s\","
		       "\"tree_sha1\":\"%s\",\"vendor_key\":\"%s\"}\n",
		       dir, info.tree_sha256, info.tree_sha1, kp.p);
	} else {
		printf("demo facility in %s\nsealed demo@current from %s%s\ntree-sha256 %s\n"
		       "tree-sha1   %s\nverified: %llu files\nvendor key: %s\n"
		       "try: sealroom -C %s releases; sealroom -C %s verify demo@current --vendor-key %s\n",
		       dir, src, is_git ? " at HEAD" : "", info.tree_sha256, info.tree_sha1,
		       (unsigned long long)rep.files, kp.p, dir, dir, kp.p);
	}
out:
	release_info_release(&info);
	note_signer_free(vendor);
	facility_free(f);
	sodium_memzero(sk.p, sk.len);
	buf_release(&sk);
	buf_release(&vk);
	buf_release(&kp);
	buf_release(&gitdir);
	free(src);
	return r ? cmd_fail("demo", r) : 0;
}
