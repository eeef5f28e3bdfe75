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

/* who from a login, as the room would see that person. */
static int who_of(struct facility *f, const char *login, struct session_info *who)
{
	struct person_info p;
	int r;
	if ((r = policy_person_get(f, login, &p)))
		return r;
	memset(who, 0, sizeof(*who));
	who->person_id = p.id;
	snprintf(who->login, sizeof(who->login), "%s", p.login);
	snprintf(who->role, sizeof(who->role), "%s", p.role);
	who->org_id = p.org_id;
	snprintf(who->org, sizeof(who->org), "%s", p.org);
	snprintf(who->org_kind, sizeof(who->org_kind), "%s", p.org_kind);
	snprintf(who->session_id, sizeof(who->session_id), "console");
	return 0;
}

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

/* What an import checks each result against, and what it keeps. */
struct import {
	struct facility *f;
	struct release_opened *rel;
	struct notes_code code;
	const struct session_info *who;
	const char *product, *version;
	int64_t now;
	int refused;
	int store; /* second pass: file them */
	size_t filed;
};

static int import_one(void *ctx, const struct sarif_result *res)
{
	struct import *im = ctx;
	struct finding_new n = res->n;
	const struct manifest_entry *e;
	struct buf text;
	char blob[65];
	int r = 0;
	if (res->refused) {
		fprintf(stderr, "sealroom findings: result %zu refused: %s\n", res->index, res->refused);
		im->refused++;
		return 0;
	}
	buf_init(&text, 0);
	e = manifest_find(im->rel->m, n.path, strlen(n.path));
	if (e && e->mode != 0120000 && (r = vault_get(im->rel->v, e->sha256, &text)))
		goto out;
	if ((r = findings_locate(im->rel->m, n.path, n.line_from, n.line_to,
				 (const unsigned char *)text.p, text.len, blob))) {
		fprintf(stderr, "sealroom findings: result %zu refused: %s (outside %s@%s)\n", res->index,
			err_msg(), im->product, im->version);
		im->refused++;
		r = 0;
		goto out;
	}
	n.product = im->product;
	n.version = im->version;
	n.blob = blob;
	if (!im->store) {
		/* the fields and the text, as findings_add checks them, without storing */
		if ((r = notes_check(im->f, &im->code, im->who, "finding", n.product, n.version, n.title,
				     strlen(n.title), im->now)) ||
		    (r = notes_check(im->f, &im->code, im->who, "finding", n.product, n.version, n.text,
				     strlen(n.text), im->now))) {
			if (r != ERR_DENIED)
				goto out;
			fprintf(stderr, "sealroom findings: result %zu refused: %s\n", res->index, err_msg());
			im->refused++;
			r = 0;
		}
		goto out;
	}
	if ((r = findings_add(im->f, &im->code, im->who, &n, im->now, NULL)) == 0)
		im->filed++;
out:
	buf_release(&text);
	return r;
}

static int do_import(struct facility *f, const char *product, const char *version,
		     const char *file, const char *as, const char *vendor_key)
{
	struct note_signer *vk = NULL;
	struct note_wrapper *wk = NULL;
	struct release_opened rel;
	struct session_info who;
	struct index *ix = NULL;
	struct buf sarif, mb;
	struct import im;
	int r;
	memset(&rel, 0, sizeof(rel));
	buf_init(&sarif, SARIF_MAX_LEN);
	buf_init(&mb, INDEX_MAX);
	if ((r = buf_read_file(&sarif, file)))
		goto out;
	if ((r = who_of(f, as, &who)))
		goto out;
	if (strcmp(who.role, "reviewer") || strcmp(who.org_kind, "lab")) {
		r = err_set(ERR_DENIED, "'%s' is a %s, not a lab's reviewer: only reviewers file findings",
			    as, who.role);
		goto out;
	}
	if ((r = policy_may_read(f, &who, product, version, time(NULL), NULL)))
		goto out;
	if ((r = note_signer_load(vendor_key, &vk)) || (r = cmd_load_wrapper(vendor_key, &wk)) ||
	    (r = release_open(f, product, version, vk, wk, &rel)))
		goto out;
	if ((r = vault_get_meta(rel.v, "index", &mb)) ||
	    (r = index_load(mb.p, mb.len, rel.v, rel.m, 0, &ix)))
		goto out;
	memset(&im, 0, sizeof(im));
	im.f = f;
	im.rel = &rel;
	im.code.ix = ix;
	im.code.scan_max = NOTES_SCAN_MAX;
	im.who = &who;
	im.product = product;
	im.version = version;
	im.now = time(NULL);
	if ((r = sarif_read(sarif.p, sarif.len, import_one, &im)))
		goto out;
	if (im.refused) {
		r = err_set(ERR_DENIED, "%d result%s refused: nothing imported", im.refused,
			    im.refused == 1 ? "" : "s");
		goto out;
	}
	im.store = 1;
	if ((r = sarif_read(sarif.p, sarif.len, import_one, &im)))
		goto out;
	printf("imported %zu finding%s into %s@%s as %s\n", im.filed, im.filed == 1 ? "" : "s",
	       product, version, as);
out:
	index_free(ix);
	release_opened_release(&rel);
	note_signer_free(vk);
	note_wrapper_free(wk);
	buf_release(&sarif);
	buf_release(&mb);
	return r;
}

struct fixed_ctx {
	struct release_opened *old, *fix;
	const char *fix_version;
	int ok;
	int err;
};

/* Check a fix with both releases open: the finding's blob against the file in the fix. */
static int check_fix(void *ctx, const struct finding_info *fi)
{
	struct fixed_ctx *c = ctx;
	const struct manifest_entry *e = manifest_find(c->fix->m, fi->path, strlen(fi->path));
	unsigned char id[32];
	struct buf a, b;
	int r = 0;
	buf_init(&a, 0);
	buf_init(&b, 0);
	if (e && e->mode != 0120000 && !hex_decode(id, 32, fi->blob, 64) &&
	    ((r = vault_get(c->old->v, id, &a)) || (r = vault_get(c->fix->v, e->sha256, &b))))
		goto out;
	if ((r = findings_fix_check(fi, c->fix->m, e ? (const unsigned char *)a.p : NULL, a.len,
				    e ? (const unsigned char *)b.p : NULL, b.len)) == 0)
		c->ok = 1;
out:
	buf_release(&a);
	buf_release(&b);
	return r;
}

struct ref {
	char product[RELEASE_NAME_MAX + 1], version[RELEASE_NAME_MAX + 1];
};

static int keep_ref(void *ctx, const struct finding_info *fi)
{
	struct ref *c = ctx;
	snprintf(c->product, sizeof(c->product), "%s", fi->product);
	snprintf(c->version, sizeof(c->version), "%s", fi->version);
	return 0;
}

static int do_state(struct facility *f, const char *id_s, const char *state, const char *as,
		    const char *fixed_in, const char *vendor_key, const char *comment)
{
	struct session_info who;
	struct note_signer *vk = NULL;
	struct note_wrapper *wk = NULL;
	struct release_opened old, fix;
	struct fixed_ctx fc = {&old, &fix, fixed_in, 0, 0};
	struct index *ix = NULL;
	struct notes_code code = {NULL, NULL, NOTES_SCAN_MAX};
	struct buf mb;
	struct ref cur;
	char *end;
	long long id = strtoll(id_s, &end, 10);
	int r;
	memset(&old, 0, sizeof(old));
	memset(&fix, 0, sizeof(fix));
	buf_init(&mb, INDEX_MAX);
	if (*end || id <= 0 || end == id_s)
		return err_set(ERR_USAGE, "finding id '%s' is not a number", id_s);
	if ((r = who_of(f, as, &who)) || (r = findings_get(f, &who, id, keep_ref, &cur)))
		return r;
	if (((fixed_in && *fixed_in) || (comment && *comment)) && !vendor_key)
		return err_set(ERR_USAGE, "--fixed-in and --comment need --vendor-key FILE (to compare "
			       "the releases and check the comment against the code)");
	if (vendor_key &&
	    ((r = note_signer_load(vendor_key, &vk)) || (r = cmd_load_wrapper(vendor_key, &wk)) ||
	     (r = release_open(f, cur.product, cur.version, vk, wk, &old))))
		goto out;
	if (comment && *comment) {
		if ((r = vault_get_meta(old.v, "index", &mb)) ||
		    (r = index_load(mb.p, mb.len, old.v, old.m, 0, &ix)))
			goto out;
		code.ix = ix;
	}
	if (fixed_in && *fixed_in && strcmp(fixed_in, cur.version) &&
	    ((r = release_open(f, cur.product, fixed_in, vk, wk, &fix)) ||
	     (r = findings_get(f, &who, id, check_fix, &fc))))
		goto out;
	if ((r = findings_set_state(f, code.ix ? &code : NULL, &who, id, state, fixed_in, fc.ok,
				    comment, time(NULL))))
		goto out;
	printf("finding %lld is %s%s%s\n", id, state, fc.ok ? " in " : "", fc.ok ? fixed_in : "");
out:
	index_free(ix);
	release_opened_release(&old);
	release_opened_release(&fix);
	note_signer_free(vk);
	note_wrapper_free(wk);
	buf_release(&mb);
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
	if (!strcmp(pos[0], "import") && (n != 3 || !as || !vendor_key)) {
		err_set(ERR_USAGE, "import wants P@V FILE.sarif, --as LOGIN and --vendor-key FILE");
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
