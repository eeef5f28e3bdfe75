/*
 * cmd_match: sealroom match P@V ARTIFACT... [--json]
 *
 * For each shipped artifact: bit-identical to an output of the release's attested build,
 * or where it differs (match.h). Every verdict is logged. Exit 0 when all are identical,
 * 1 when one differs or cannot be matched.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "cmd.h"
#include "match.h"
#include "release.h"

#define MAX_ARTIFACTS 256

static const char usage[] = "sealroom match P@V ARTIFACT... [--json]";

int cmd_match(int argc, char **argv)
{
	const char *pos[1 + MAX_ARTIFACTS];
	struct opt_common c = {0};
	struct opt opts[] = {{NULL, 0, NULL}};
	char product[RELEASE_NAME_MAX + 1], version[RELEASE_NAME_MAX + 1];
	struct facility *f = NULL;
	int n, r = 0, differs = 0;

	if (opt_parse(argc, argv, opts, &c, pos, 1 + MAX_ARTIFACTS, &n))
		return cmd_usage("match", usage);
	if (c.help) {
		printf("usage: %s\n\n"
		       "Is each ARTIFACT bit-identical to an output of P@V's attested build\n"
		       "(sealroom build)? When not, says where it differs (ELF sections, archive\n"
		       "members, or the first differing byte; diffoscope's report is kept when it\n"
		       "is installed). Every verdict is logged and shown in the room.\n", usage);
		return 0;
	}
	if (n < 2) {
		err_set(ERR_USAGE, "wants a release P@V and at least one artifact");
		return cmd_usage("match", usage);
	}
	if (release_parse_ref(pos[0], product, version))
		return cmd_usage("match", usage);
	if ((r = facility_open(facility_resolve(c.dir), &f)))
		return cmd_fail("match", r);
	if (c.json)
		printf("[");
	for (int i = 1; i < n; i++) {
		struct match_verdict v;
		if ((r = match_artifact(f, product, version, pos[i], cmd_local_actor(), &v)))
			break;
		differs += !v.identical;
		if (c.json) {
			struct buf j;
			buf_init(&j, 1 << 20);
			if (buf_addf(&j, "%s{\"artifact\":", i > 1 ? "," : "") || buf_addjson(&j, pos[i], strlen(pos[i])) ||
			    buf_addf(&j, ",\"sha256\":\"%s\",\"verdict\":\"%s\",\"output\":", v.sha256,
				     v.identical ? "identical" : "differs") ||
			    (v.output ? buf_addjson(&j, v.output, strlen(v.output)) : buf_addstr(&j, "null")) ||
			    buf_addstr(&j, ",\"detail\":") || buf_addjson(&j, v.detail, strlen(v.detail)) ||
			    buf_addstr(&j, ",\"report\":") ||
			    (v.report ? buf_addjson(&j, v.report, strlen(v.report)) : buf_addstr(&j, "null")) ||
			    buf_addf(&j, ",\"log_index\":%" PRIu64 "}", v.log_index))
				r = ERR_TOOBIG;
			else
				fputs(j.p, stdout);
			buf_release(&j);
		} else if (v.identical) {
			printf("identical %s: sha256 %s is attested output '%s' of %s@%s\n", pos[i], v.sha256,
			       v.output, product, version);
		} else {
			printf("DIFFERS %s: sha256 %s%s%s%s: %s\n", pos[i], v.sha256,
			       v.output ? " against attested output '" : "", v.output ? v.output : "",
			       v.output ? "'" : "", v.detail);
			if (v.report)
				printf("  diffoscope report: %s\n", v.report);
		}
		match_verdict_release(&v);
		if (r)
			break;
	}
	if (c.json)
		printf("]\n");
	facility_free(f);
	if (r)
		return cmd_fail("match", r);
	if (differs) {
		err_set(ERR_DENIED, "%d of %d artifacts differ from the attested build of '%s@%s'", differs, n - 1,
			product, version);
		return cmd_fail("match", ERR_DENIED);
	}
	return 0;
}
