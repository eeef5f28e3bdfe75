/* cmd_releases: sealroom releases [--json] */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "release.h"

static const char usage[] = "sealroom releases [--json]";

struct list_ctx {
	int json;
	int n;
	struct buf *out;
};

static int list_one(void *ctx, const struct release_info *row)
{
	struct list_ctx *l = ctx;
	struct release_info sealed;
	const struct release_info *r = &sealed;
	int e, bad;
	/* the ids listed are the signed ones; a row whose seal does not verify says so */
	bad = release_seal_open(row, &sealed) != 0;
	if (bad) {
		e = l->json ? buf_addf(l->out, "%s{\"release\":\"%s@%s\",\"seal_ok\":false}", l->n ? "," : "",
				       row->product, row->version)
			    : buf_addf(l->out, "%s@%s  %s  the seal does not verify: %s\n", row->product, row->version,
				       row->state, err_msg());
		l->n++;
		return e;
	}
	if (l->json) {
		if ((e = buf_addstr(l->out, l->n ? "," : "")) || (e = release_json(r, l->out)))
			return e;
		/* add the fields that only the listing carries */
		l->out->len--;
		e = buf_addf(l->out, ",\"sealed_at\":%" PRId64 ",\"state\":", r->sealed_at);
		if (!e)
			e = buf_addjson(l->out, r->state, strlen(r->state));
		if (!e)
			e = buf_addstr(l->out, ",\"vendor\":");
		if (!e)
			e = buf_addjson(l->out, r->vendor_vkey, strlen(r->vendor_vkey));
		if (!e)
			e = buf_addch(l->out, '}');
	} else {
		char when[32];
		time_t t = (time_t)r->sealed_at;
		struct tm tm;
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
		e = buf_addf(l->out, "%s@%s  %s  %s  tree-sha256 %s  tree-sha1 %s  %" PRIu64 " files  %" PRIu64 " bytes\n",
			     r->product, r->version, r->state, when, r->tree_sha256, r->tree_sha1,
			     r->files, r->bytes);
	}
	l->n++;
	release_info_release(&sealed);
	return e;
}

int cmd_releases(int argc, char **argv)
{
	const char *pos[1];
	struct opt_common c = {0};
	struct facility *f = NULL;
	struct buf out;
	struct list_ctx l = {0};
	int n, r;

	if (opt_parse(argc, argv, NULL, &c, pos, 0, &n))
		return cmd_usage("releases", usage);
	if (c.help) {
		printf("usage: %s\n\nList the sealed releases with their tree ids.\n", usage);
		return 0;
	}
	buf_init(&out, 0);
	l.json = c.json;
	l.out = &out;
	if ((r = facility_open(facility_resolve(c.dir), &f)))
		goto out;
	if (c.json && (r = buf_addch(&out, '[')))
		goto out;
	if ((r = release_each(f, list_one, &l)))
		goto out;
	if (c.json && (r = buf_addstr(&out, "]\n")))
		goto out;
	fputs(out.p, stdout);
out:
	buf_release(&out);
	facility_free(f);
	return r ? cmd_fail("releases", r) : 0;
}
