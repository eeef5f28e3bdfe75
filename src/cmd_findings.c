/*
 * cmd_findings: findings of a release at the facility's console.
 *   findings list P@V [--lab L] [--json]
 *   findings export P@V [--lab L]                       SARIF 2.1.0 on stdout
 *   findings import P@V FILE.sarif --as LOGIN --vendor-key FILE
 *   findings state ID STATE --as LOGIN [--fixed-in V --vendor-key FILE] [--comment TEXT]
 * list and export read every lab's findings: they are the facility's own commands, run
 * with the database at hand (docs/security.md says what that means). import files each
 * result as a finding of LOGIN, a reviewer with a grant for the release, after checking
 * every result against the release (opened with the vendor's key: the place must be a
 * file and lines of it, the text may not quote the code); one refused result refuses the
 * whole file, naming each reason, and nothing is stored.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "console.h"
#include "keyring.h"
#include "room.h"
#include "findings.h"
#include "index.h"
#include "policy.h"
#include "release.h"
#include "sarif.h"
#include "vault.h"

static const char usage[] =
	"sealroom findings list|export P@V [--lab L] [--json] | import P@V FILE.sarif --as LOGIN "
	"--vendor-key FILE | state ID STATE --as LOGIN [--fixed-in V] [--vendor-key FILE] "
	"[--comment TEXT]";

static const char help[] =
	"list: the findings of a release (every lab's, or --lab L's), with place, severity and\n"
	"state. export: the same as SARIF 2.1.0 on stdout. import: file each result of a SARIF\n"
	"log as a finding of LOGIN (a reviewer with a grant); every result is checked against\n"
	"the release first (opened with the vendor's key), and one refusal stores nothing.\n"
	"state: move a finding to acknowledged, disputed, accepted, fixed (--fixed-in V, a\n"
	"later release where its lines changed or its file moved) or open, as LOGIN.\n";

static void print_tenths(int s10, char out[16])
{
	snprintf(out, 16, "%d.%d", s10 / 10, s10 % 10);
}

struct listing {
	int json;
	json_t *arr;
};

static int list_row(void *ctx, const struct finding_info *fi)
{
	struct listing *l = ctx;
	if (l->json) {
		json_t *o = json_pack("{s:I,s:s,s:s,s:s,s:I,s:I,s:s,s:s,s:s,s:s,s:I,s:s,s:s,s:I,s:I}",
				      "id", (json_int_t)fi->id, "lab", fi->lab, "author", fi->author,
				      "path", fi->path, "line_from", (json_int_t)fi->line_from,
				      "line_to", (json_int_t)fi->line_to, "blob", fi->blob, "title",
				      fi->title, "severity", fi->severity, "cvss", fi->cvss, "cwe",
				      (json_int_t)fi->cwe, "state", fi->state, "fixed_in", fi->fixed_in,
				      "created_at", (json_int_t)fi->created_at, "updated_at",
				      (json_int_t)fi->updated_at);
		if (fi->score10 >= 0)
			json_object_set_new(o, "score", json_real(fi->score10 / 10.0));
		json_array_append_new(l->arr, o);
	} else {
		char sc[16] = "-";
		if (fi->score10 >= 0)
			print_tenths(fi->score10, sc);
		printf("%-5lld %-12s %-8s %4s %-13s %s:%llu-%llu  %s\n", (long long)fi->id, fi->lab,
		       fi->severity, sc, fi->state, fi->path, (unsigned long long)fi->line_from,
		       (unsigned long long)fi->line_to, fi->title);
	}
	return 0;
}

static int export_row(void *ctx, const struct finding_info *fi)
{
	return sarif_out_add(ctx, fi);
}

/* A keyring of this command's own with the releases' keys, from the vendor's (one-site use). */
static int vendor_rooms(struct facility *f, const char *vendor_key, const char *product, const char *v1,
			const char *v2, struct keyring **k, struct rooms **rs)
{
	int r;
	if ((r = keyring_new(k)) || (r = cmd_vendor_unlock(f, vendor_key, *k, product, v1)) ||
	    (v2 && (r = cmd_vendor_unlock(f, vendor_key, *k, product, v2))))
		return r;
	*rs = rooms_new(*k);
	rooms_quiet(*rs);
	return 0;
}

/* Each line of report as "sealroom findings: LINE" on stderr. */
static void print_report(const struct buf *report)
{
	for (size_t i = 0; i < report->len;) {
		const char *e = memchr(report->p + i, '\n', report->len - i);
		size_t n = e ? (size_t)(e - report->p - i) : report->len - i;
		fprintf(stderr, "sealroom findings: %.*s\n", (int)n, report->p + i);
		i += n + 1;
	}
}

static int do_import(struct facility *f, const char *product, const char *version,
		     const char *file, const char *as, const char *vendor_key)
{
	struct keyring *k = NULL;
	struct rooms *rs = NULL;
	struct buf sarif, report;
	size_t filed = 0;
	int r;
	buf_init(&sarif, SARIF_MAX_LEN);
	buf_init(&report, KEYRING_CONSOLE_ANSWER_MAX);
	if ((r = buf_read_file(&sarif, file)))
		goto out;
	if (vendor_key) {
		if (!(r = vendor_rooms(f, vendor_key, product, version, NULL, &k, &rs)))
			r = console_findings_import(rs, f, product, version, as, sarif.p, sarif.len, NULL, &report, &filed);
	} else {
		r = console_send_import(f, product, version, as, sarif.p, sarif.len, &report, &filed);
		if (r == ERR_NOTFOUND && !strncmp(err_msg(), "no server listens", 17))
			r = err_set(r, "no room is running to check the findings against '%s@%s' (or give --vendor-key)",
				    product, version);
	}
	print_report(&report);
	if (!r)
		printf("imported %zu finding%s into %s@%s as %s\n", filed, filed == 1 ? "" : "s", product, version, as);
out:
	rooms_free(rs);
	keyring_free(k);
	buf_release(&sarif);
	buf_release(&report);
	return r;
}

static int do_state(struct facility *f, const char *id_s, const char *state, const char *as,
		    const char *fixed_in, const char *vendor_key, const char *comment)
{
	struct keyring *k = NULL;
	struct rooms *rs = NULL;
	char product[RELEASE_NAME_MAX + 1], version[RELEASE_NAME_MAX + 1];
	char *end;
	long long id = strtoll(id_s, &end, 10);
	int reads = (fixed_in && *fixed_in) || (comment && *comment), r;
	if (*end || id <= 0 || end == id_s)
		return err_set(ERR_USAGE, "finding id '%s' is not a number", id_s);
	if (!reads) {
		/* nothing to read: the move alone */
		r = console_findings_state(NULL, f, id, state, as, fixed_in, comment, NULL);
	} else if (vendor_key) {
		if ((r = console_finding_release(f, as, id, product, version)))
			return r;
		if (!(r = vendor_rooms(f, vendor_key, product, version,
				       fixed_in && *fixed_in && strcmp(fixed_in, version) ? fixed_in : NULL, &k, &rs)))
			r = console_findings_state(rs, f, id, state, as, fixed_in, comment, NULL);
	} else {
		r = console_send_state(f, id, state, as, fixed_in, comment);
		if (r == ERR_NOTFOUND && !strncmp(err_msg(), "no server listens", 17))
			r = err_set(r, "no room is running to compare the releases or check the comment (or give --vendor-key)");
	}
	if (!r)
		printf("finding %lld is %s%s%s\n", id, state, fixed_in && *fixed_in ? " in " : "",
		       fixed_in && *fixed_in ? fixed_in : "");
	rooms_free(rs);
	keyring_free(k);
	return r;
}

int cmd_findings(int argc, char **argv)
{
	const char *pos[4], *lab = NULL, *as = NULL, *vendor_key = NULL, *fixed_in = NULL, *comment = NULL;
	char product[RELEASE_NAME_MAX + 1], version[RELEASE_NAME_MAX + 1];
	struct opt_common c = {0};
	struct facility *f = NULL;
	struct opt opts[] = {{"lab", OPT_STRING, &lab},		  {"as", OPT_STRING, &as},
			     {"vendor-key", OPT_STRING, &vendor_key}, {"fixed-in", OPT_STRING, &fixed_in},
			     {"comment", OPT_STRING, &comment},	  {NULL, 0, NULL}};
	int n, r = 0;
	if (opt_parse(argc, argv, opts, &c, pos, 4, &n))
		return cmd_usage("findings", usage);
	if (c.help) {
		printf("usage: %s\n\n%s", usage, help);
		return 0;
	}
	if (n < 2) {
		err_set(ERR_USAGE, "wants a subcommand and its arguments");
		return cmd_usage("findings", usage);
	}
	if (!strcmp(pos[0], "state")) {
		if (n != 3 || !as) {
			err_set(ERR_USAGE, "state wants ID STATE and --as LOGIN");
			return cmd_usage("findings", usage);
		}
	} else if (release_parse_ref(pos[1], product, version)) {
		return cmd_usage("findings", usage);
	}
	if (!strcmp(pos[0], "import") && (n != 3 || !as)) {
		err_set(ERR_USAGE, "import wants P@V FILE.sarif and --as LOGIN");
		return cmd_usage("findings", usage);
	}
	if ((!strcmp(pos[0], "list") || !strcmp(pos[0], "export")) && n != 2) {
		err_set(ERR_USAGE, "%s wants one release P@V", pos[0]);
		return cmd_usage("findings", usage);
	}
	if (strcmp(pos[0], "list") && strcmp(pos[0], "export") && strcmp(pos[0], "import") &&
	    strcmp(pos[0], "state")) {
		err_set(ERR_USAGE, "'%s' is not list, export, import or state", pos[0]);
		return cmd_usage("findings", usage);
	}
	if ((r = facility_open(facility_resolve(c.dir), &f)))
		return cmd_fail("findings", r);
	if (!strcmp(pos[0], "list")) {
		struct release_info info;
		struct listing l = {c.json, json_array()};
		if (!(r = release_get(f, product, version, &info))) {
			release_info_release(&info);
			r = findings_each_all(f, product, version, lab, list_row, &l);
		}
		if (!r && c.json) {
			char *s = json_dumps(l.arr, JSON_COMPACT | JSON_SORT_KEYS);
			printf("%s\n", s);
			free(s);
		}
		json_decref(l.arr);
	} else if (!strcmp(pos[0], "export")) {
		struct release_info info;
		struct buf out;
		buf_init(&out, 0);
		if (!(r = release_get(f, product, version, &info))) {
			struct sarif_out *s = sarif_out_new(&info);
			if ((r = findings_each_all(f, product, version, lab, export_row, s)))
				sarif_out_free(s);
			else if (!(r = sarif_out_finish(s, &out)))
				fwrite(out.p, 1, out.len, stdout);
			release_info_release(&info);
		}
		buf_release(&out);
	} else if (!strcmp(pos[0], "import")) {
		r = do_import(f, product, version, pos[2], as, vendor_key);
	} else {
		r = do_state(f, pos[1], pos[2], as, fixed_in, vendor_key, comment);
	}
	facility_free(f);
	return r ? cmd_fail("findings", r) : 0;
}
