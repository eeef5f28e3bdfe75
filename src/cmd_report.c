/*
 * cmd_report: sealroom report exposure P@V [--lab L] [--json] [--html OUT]
 *             sealroom report exposure P@V --from-log DIR --vkey FILE [--lab L] [--json] [--html OUT]
 * The exposure report from the facility's log, or offline from a `log export` folder
 * verified with the facility's verifier key: the same JSON byte for byte at the same
 * checkpoint (report.h).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "quota.h"
#include "release.h"
#include "report.h"

static const char usage[] =
	"sealroom report exposure P@V [--lab L] [--changed DIFF] [--json] [--html OUT] [--from-log DIR --vkey FILE]";

static const char help[] =
	"The exposure report of a release, computed from log entries alone: per lab and\n"
	"reviewer, the files and lines shown and how often (views, prints), searches with their\n"
	"queries and lines shown, diff lines, prints with Bates ranges, notes and findings kept\n"
	"and refused, scraping alerts and holds; named by the checkpoint it was computed at.\n"
	"--from-log DIR --vkey FILE recomputes it from a `sealroom log export DIR` folder,\n"
	"verified first, with no facility: the --json output is the same byte for byte.\n"
	"--html OUT writes a page with a treemap of the files shown and per-file line heat.\n"
	"--changed DIFF restricts coverage to the lines a unified diff adds (delta review:\n"
	"`git -c core.quotePath=false diff -U0 -M OLD NEW` of the two trees), online and offline alike.\n";

static int write_file(const char *path, const struct buf *b)
{
	FILE *fp = fopen(path, "wb");
	int ok;
	if (!fp)
		return err_set(ERR_IO, "cannot write '%s'", path);
	ok = fwrite(b->p, 1, b->len, fp) == b->len;
	ok = (fclose(fp) == 0) && ok;
	return ok ? 0 : err_set(ERR_IO, "cannot write '%s'", path);
}

int cmd_report(int argc, char **argv)
{
	const char *pos[2], *lab = NULL, *html = NULL, *from_log = NULL, *vkey = NULL, *changed = NULL;
	char product[RELEASE_NAME_MAX + 1], version[RELEASE_NAME_MAX + 1];
	struct opt_common c = {0};
	struct opt opts[] = {{"lab", OPT_STRING, &lab},
			     {"html", OPT_STRING, &html},
			     {"from-log", OPT_STRING, &from_log},
			     {"vkey", OPT_STRING, &vkey},
			     {"changed", OPT_STRING, &changed},
			     {NULL, 0, NULL}};
	struct note_verifier *v = NULL;
	struct report_changes *ch = NULL;
	struct facility *f = NULL;
	struct report *rep;
	struct buf out;
	int n, r;
	if (opt_parse(argc, argv, opts, &c, pos, 2, &n))
		return cmd_usage("report", usage);
	if (c.help) {
		printf("usage: %s\n\n%s", usage, help);
		return 0;
	}
	if (n != 2 || strcmp(pos[0], "exposure")) {
		err_set(ERR_USAGE, "wants 'exposure' and one release P@V");
		return cmd_usage("report", usage);
	}
	if (release_parse_ref(pos[1], product, version))
		return cmd_usage("report", usage);
	if (!from_log != !vkey) {
		err_set(ERR_USAGE, "--from-log DIR and --vkey FILE go together");
		return cmd_usage("report", usage);
	}
	rep = report_new(product, version, lab);
	buf_init(&out, 0);
	if (changed) {
		struct buf d;
		buf_init(&d, (size_t)256 << 20);
		if ((r = buf_read_file(&d, changed)) == ERR_TOOBIG)
			r = err_set(ERR_TOOBIG, "'%s' is larger than 256 MiB", changed);
		if (!r && (r = report_changes_parse(d.p ? d.p : "", d.len, &ch))) {
			char why[300];
			snprintf(why, sizeof(why), "%s", err_msg());
			err_set(r, "'%s': %s", changed, why);
		}
		buf_release(&d);
		if (r)
			goto done;
		report_restrict(rep, ch);
	}
	if (from_log) {
		if (!(r = note_verifier_load(vkey, &v)))
			r = report_from_tiles(rep, from_log, v);
	} else if (!(r = facility_open(facility_resolve(c.dir), &f))) {
		/* the refusals counted and not yet logged go to the log first */
		if (!(r = quota_flush_refusals(f, INT64_MAX, (int64_t)time(NULL))))
			r = report_from_facility(rep, f);
	}
	if (!r && html) {
		if (!(r = report_html(rep, &out)))
			r = write_file(html, &out);
		buf_reset(&out);
	}
	if (!r && (c.json || !html)) {
		if (!(r = report_json(rep, &out)))
			printf("%s\n", out.p);
	}
done:
	report_free(rep);
	report_changes_free(ch);
	note_verifier_free(v);
	facility_free(f);
	buf_release(&out);
	return r ? cmd_fail("report", r) : 0;
}
