/*
 * cmd_certify: the review certificate.
 *   sealroom certify P@V --lab L --lab-key FILE [--out FILE]          (at the facility)
 *   sealroom certificate countersign FILE --vendor-key FILE [--out FILE] (the vendor, offline)
 *   sealroom certificate verify FILE --lab-vkey FILE --vendor-vkey FILE [--log-vkey FILE]
 *                                    [--tree SHA256] [--json]          (anyone, offline)
 * certify computes the lab's scope from the exposure report of the log (report.h), the
 * findings by severity and state, signs the statement with the lab's key, logs it
 * ("certify": release, lab, the statement's SHA-256, the key id) and prints the envelope.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "certificate.h"
#include "cmd.h"
#include "dsse.h"
#include "findings.h"
#include "hash.h"
#include "logdb.h"
#include "release.h"
#include "report.h"

static const char certify_usage[] = "sealroom certify P@V --lab L --lab-key FILE [--out FILE]";
static const char cert_usage[] =
	"sealroom certificate countersign FILE --vendor-key FILE [--out FILE] | verify FILE "
	"--lab-vkey FILE --vendor-vkey FILE [--log-vkey FILE] [--tree SHA256] [--json]";

static int write_out(const char *path, const struct buf *b)
{
	FILE *fp;
	int ok;
	if (!path) {
		fwrite(b->p, 1, b->len, stdout);
		return 0;
	}
	if (!(fp = fopen(path, "wb")))
		return err_set(ERR_IO, "cannot write '%s'", path);
	ok = fwrite(b->p, 1, b->len, fp) == b->len;
	ok = (fclose(fp) == 0) && ok;
	return ok ? 0 : err_set(ERR_IO, "cannot write '%s'", path);
}

static int tally(void *ctx, const struct finding_info *fi)
{
	json_t *o = ctx, *sev = json_object_get(o, "by_severity"), *st = json_object_get(o, "by_state");
	json_object_set_new(sev, fi->severity, json_integer(json_integer_value(json_object_get(sev, fi->severity)) + 1));
	json_object_set_new(st, fi->state, json_integer(json_integer_value(json_object_get(st, fi->state)) + 1));
	json_object_set_new(o, "total", json_integer(json_integer_value(json_object_get(o, "total")) + 1));
	return 0;
}

int cmd_certify(int argc, char **argv)
{
	const char *pos[1], *lab = NULL, *key = NULL, *outp = NULL;
	char product[RELEASE_NAME_MAX + 1], version[RELEASE_NAME_MAX + 1];
	struct opt_common c = {0};
	struct opt opts[] = {{"lab", OPT_STRING, &lab}, {"lab-key", OPT_STRING, &key}, {"out", OPT_STRING, &outp}, {NULL, 0, NULL}};
	struct note_signer *lk = NULL;
	struct facility *f = NULL;
	struct release_info info;
	struct report *rep = NULL;
	struct buf env, cp;
	json_t *scope = NULL, *labo, *findings = NULL;
	int n, r, have_info = 0;
	if (opt_parse(argc, argv, opts, &c, pos, 1, &n))
		return cmd_usage("certify", certify_usage);
	if (c.help) {
		printf("usage: %s\n\nSign the lab's review certificate of a release (docs/formats.md): its scope from\n"
		       "the exposure report, its findings by severity and state, the log checkpoint.\n",
		       certify_usage);
		return 0;
	}
	if (n != 1 || !lab || !key) {
		err_set(ERR_USAGE, "wants one release P@V, --lab L and --lab-key FILE");
		return cmd_usage("certify", certify_usage);
	}
	if (release_parse_ref(pos[0], product, version))
		return cmd_usage("certify", certify_usage);
	buf_init(&env, 0);
	buf_init(&cp, 1 << 20);
	if ((r = note_signer_load(key, &lk)) || (r = facility_open(facility_resolve(c.dir), &f)) ||
	    (r = release_get(f, product, version, &info)))
		goto out;
	have_info = 1;
	rep = report_new(product, version, lab);
	if ((r = report_from_facility(rep, f)))
		goto out;
	if (!(scope = report_scope(rep))) {
		r = ERR_USAGE;
		goto out;
	}
	if (!(labo = json_object_get(json_object_get(scope, "labs"), lab))) {
		r = err_set(ERR_NOTFOUND, "the log shows no access by lab '%s' to '%s@%s': nothing to certify", lab,
			    product, version);
		goto out;
	}
	if (strcmp(json_string_value(json_object_get(json_object_get(scope, "tree"), "sha256")), info.tree_sha256)) {
		r = err_set(ERR_CORRUPT, "the log's seal of '%s@%s' is not the catalogue's tree", product, version);
		goto out;
	}
	findings = json_pack("{s:I,s:{},s:{}}", "total", (json_int_t)0, "by_severity", "by_state");
	if ((r = findings_each_all(f, product, version, lab, tally, findings)))
		goto out;
	{
		struct logdb *l = NULL;
		uint64_t size;
		if (!(r = logdb_open(f, &l)))
			r = logdb_checkpoint(l, &cp, &size);
		logdb_free(l);
		if (r)
			goto out;
		if ((json_int_t)size != json_integer_value(json_object_get(json_object_get(scope, "checkpoint"), "size"))) {
			r = err_set(ERR_CORRUPT, "the log moved while the certificate was made; run it again");
			goto out;
		}
	}
	{
		json_t *sc = json_pack("{s:O,s:O,s:O,s:O}", "files_shown", json_object_get(labo, "files_shown"),
				       "lines_shown", json_object_get(labo, "lines_shown"), "share_of_files",
				       json_object_get(labo, "share_of_files"), "tree_files",
				       json_object_get(json_object_get(scope, "tree"), "files"));
		struct certificate_in in = {product, version, info.tree_sha256, info.tree_sha1, lab,
					    json_object_get(labo, "reviewers"), sc, findings, cp.p,
					    json_integer_value(json_object_get(labo, "first_access")),
					    json_integer_value(json_object_get(labo, "last_access")), (int64_t)time(NULL)};
		r = certificate_make(&in, lk, &env);
		json_decref(sc);
		if (r)
			goto out;
	}
	{
		struct dsse *e = NULL;
		unsigned char d[SHA256_LEN];
		char hex[65], kid[DSSE_KEYID_LEN + 1], ref[300];
		const unsigned char *p;
		size_t pl;
		json_t *x;
		if ((r = dsse_parse(env.p, env.len - 1, &e)))
			goto out;
		p = dsse_payload(e, &pl);
		sha256(p, pl, d);
		dsse_free(e);
		hex_encode(hex, d, sizeof(d));
		dsse_keyid(note_signer_public(lk), kid);
		snprintf(ref, sizeof(ref), "%s@%s", product, version);
		x = json_object();
		logdb_entry_str(x, "release", ref);
		logdb_entry_str(x, "lab", lab);
		logdb_entry_str(x, "statement_sha256", hex);
		logdb_entry_str(x, "keyid", kid);
		logdb_entry_int(x, "time", (int64_t)time(NULL));
		if ((r = auth_log(f, "certify", note_signer_name(lk), x)))
			goto out;
	}
	r = write_out(outp, &env);
out:
	json_decref(scope);
	json_decref(findings);
	report_free(rep);
	if (have_info)
		release_info_release(&info);
	facility_free(f);
	note_signer_free(lk);
	buf_release(&env);
	buf_release(&cp);
	return r ? cmd_fail("certify", r) : 0;
}

int cmd_certificate(int argc, char **argv)
{
	const char *pos[2], *vendor_key = NULL, *outp = NULL, *lab_vkey = NULL, *vendor_vkey = NULL,
			    *log_vkey = NULL, *tree = NULL;
	struct opt_common c = {0};
	struct opt opts[] = {{"vendor-key", OPT_STRING, &vendor_key}, {"out", OPT_STRING, &outp},
			     {"lab-vkey", OPT_STRING, &lab_vkey},     {"vendor-vkey", OPT_STRING, &vendor_vkey},
			     {"log-vkey", OPT_STRING, &log_vkey},     {"tree", OPT_STRING, &tree},
			     {NULL, 0, NULL}};
	struct note_signer *vk = NULL;
	struct note_verifier *lv = NULL, *vv = NULL, *gv = NULL;
	struct buf in, out;
	int n, r;
	if (opt_parse(argc, argv, opts, &c, pos, 2, &n))
		return cmd_usage("certificate", cert_usage);
	if (c.help) {
		printf("usage: %s\n\ncountersign: the vendor adds its DSSE signature, offline. verify: check a\n"
		       "certificate offline: the lab's and the vendor's signatures, the subject tree\n"
		       "(--tree), and with --log-vkey the log checkpoint it rests on.\n",
		       cert_usage);
		return 0;
	}
	if (n != 2 || (strcmp(pos[0], "countersign") && strcmp(pos[0], "verify")) ||
	    (!strcmp(pos[0], "countersign") && !vendor_key) ||
	    (!strcmp(pos[0], "verify") && (!lab_vkey || !vendor_vkey))) {
		err_set(ERR_USAGE, "wants countersign FILE --vendor-key FILE, or verify FILE --lab-vkey FILE "
			"--vendor-vkey FILE");
		return cmd_usage("certificate", cert_usage);
	}
	buf_init(&in, 16 << 20);
	buf_init(&out, 0);
	if ((r = buf_read_file(&in, pos[1])))
		goto out;
	if (!strcmp(pos[0], "countersign")) {
		if (!(r = note_signer_load(vendor_key, &vk)) && !(r = certificate_countersign(in.p, in.len, vk, &out)))
			r = write_out(outp, &out);
	} else {
		struct certificate_verified res;
		if ((r = note_verifier_load(lab_vkey, &lv)) || (r = note_verifier_load(vendor_vkey, &vv)) ||
		    (log_vkey && (r = note_verifier_load(log_vkey, &gv))))
			goto out;
		if ((r = certificate_verify(in.p, in.len, note_verifier_public(lv), note_verifier_public(vv), gv, tree,
					    &res)))
			goto out;
		if (c.json)
			printf("{\"release\":\"%s\",\"tree_sha256\":\"%s\",\"lab\":\"%s\",\"log_size\":%llu,"
			       "\"log_checked\":%s}\n",
			       res.release, res.tree_sha256, res.lab, (unsigned long long)res.log_size,
			       res.log_checked ? "true" : "false");
		else
			printf("certificate ok: lab %s certifies %s (tree %s), countersigned by the vendor%s\n", res.lab,
			       res.release, res.tree_sha256, res.log_checked ? ", log checkpoint checked" : "");
	}
out:
	note_signer_free(vk);
	note_verifier_free(lv);
	note_verifier_free(vv);
	note_verifier_free(gv);
	buf_release(&in);
	buf_release(&out);
	return r ? cmd_fail("certificate", r) : 0;
}
