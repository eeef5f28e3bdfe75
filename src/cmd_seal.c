/*
 * cmd_seal: sealroom seal SOURCE --product P --version V --vendor-key FILE [--out BUNDLE]
 *           [--rev REV] [--json]
 * With --out, at the vendor's: the release goes to a bundle folder and no facility is
 * needed; `sealroom import BUNDLE` brings it in. Without, into the facility directly.
 */
#include <stdio.h>
#include <unistd.h>

#include "cmd.h"
#include "release.h"

static const char usage[] =
	"sealroom seal SOURCE --product P --version V --vendor-key FILE [--out BUNDLE] [--rev REV] "
	"[--max-file BYTES] [--max-total BYTES] [--max-ratio N] [--level N] [--json]";

int cmd_seal(int argc, char **argv)
{
	const char *product = NULL, *version = NULL, *key_path = NULL, *rev = NULL, *bundle = NULL, *pos[1];
	unsigned long long max_file = 0, max_total = 0, max_ratio = 0, max_files = 0, level = 3,
			   threads = 0;
	struct opt_common c = {0};
	struct opt opts[] = {
		{"product", OPT_STRING, &product},	{"version", OPT_STRING, &version},
		{"vendor-key", OPT_STRING, &key_path},	{"rev", OPT_STRING, &rev},
		{"max-file", OPT_UINT, &max_file},	{"max-total", OPT_UINT, &max_total},
		{"max-ratio", OPT_UINT, &max_ratio},	{"max-files", OPT_UINT, &max_files},
		{"level", OPT_UINT, &level},		{"threads", OPT_UINT, &threads},
		{"out", OPT_STRING, &bundle},
		{NULL, 0, NULL},
	};
	struct seal_opts so = {0};
	struct facility *f = NULL;
	struct note_signer *vendor = NULL;
	struct release_info info;
	struct buf out, wpk;
	int n, r;

	if (opt_parse(argc, argv, opts, &c, pos, 1, &n))
		return cmd_usage("seal", usage);
	if (c.help) {
		printf("usage: %s\n\n"
		       "Seal SOURCE (a folder, a tar/tar.gz/tar.xz/tar.zst/zip archive, or a git\n"
		       "repository with --rev) as release P@V: hash it as git trees (SHA-256 and\n"
		       "SHA-1), compress and encrypt every file under a fresh data key wrapped to\n"
		       "the vendor's wrapping key (FILE.wrap.pub), sign the seal with the vendor's\n"
		       "signing key FILE. With --out BUNDLE (at the vendor's, no facility) the release\n"
		       "goes to the new folder BUNDLE for `sealroom import`; else into the facility,\n"
		       "logged.\n"
		       "Limits: --max-file (default 256 MiB), --max-total (8 GiB), --max-files\n"
		       "(2,000,000), --max-ratio (archive expansion, 200). --level is zstd's level.\n",
		       usage);
		return 0;
	}
	if (n != 1 || !product || !version || !key_path) {
		err_set(ERR_USAGE, n != 1 ? "wants one SOURCE" : "--product, --version and --vendor-key are required");
		return cmd_usage("seal", usage);
	}
	if (level < 1 || level > 19) {
		err_set(ERR_USAGE, "--level must be 1 to 19");
		return cmd_usage("seal", usage);
	}
	ingest_opts_default(&so.ingest);
	so.ingest.rev = rev;
	if (max_file)
		so.ingest.max_file = max_file;
	if (max_total)
		so.ingest.max_total = max_total;
	if (max_files)
		so.ingest.max_files = max_files;
	if (max_ratio)
		so.ingest.max_ratio = (unsigned)max_ratio;
	if (threads)
		so.ingest.threads = (int)threads;
	so.product = product;
	so.version = version;
	so.zstd_level = (int)level;
	so.progress = !c.json && isatty(2);
	if ((r = release_name_check("product", product, 0)) || (r = release_name_check("version", version, 1)))
		return cmd_fail("seal", r);
	buf_init(&wpk, 4096);
	if ((r = note_signer_load(key_path, &vendor)) || (r = cmd_load_wrap_pub(key_path, &wpk)))
		goto out;
	so.vendor = vendor;
	so.wrap_pkey = wpk.p;
	if (bundle)
		r = release_seal_bundle(bundle, pos[0], &so, &info);
	else if (!(r = facility_open(facility_resolve(c.dir), &f)))
		r = release_seal(f, pos[0], &so, &info);
	if (r)
		goto out;
	buf_init(&out, 0);
	if (c.json) {
		if (release_json(&info, &out))
			BUG("json");
	} else {
		if (buf_addf(&out, "sealed %s@%s%s%s\ntree-sha256 %s\ntree-sha1   %s\nfiles %llu, bytes %llu",
			     info.product, info.version, bundle ? " into bundle " : "", bundle ? bundle : "",
			     info.tree_sha256, info.tree_sha1, (unsigned long long)info.files,
			     (unsigned long long)info.bytes))
			BUG("out");
	}
	puts(out.p);
	buf_release(&out);
	release_info_release(&info);
out:
	buf_release(&wpk);
	note_signer_free(vendor);
	facility_free(f);
	return r ? cmd_fail("seal", r) : 0;
}
