/*
 * cmd_engage: the engagement's decisions: nominate, object, approve, grant, revoke, halt,
 * shred, and the vendor's decision files: `vendor sign` (on the vendor's machine, the only
 * command here that reads the vendor's key, and no facility folder) and `apply FILE` (at
 * the facility; object, approve, revoke, halt and shred take --decision FILE the same way).
 * Each facility command names who acts with --as LOGIN. See docs/engagement.md: the CLI
 * runs with the operator's access to the facility folder, so the vendor's word is a file
 * signed by the vendor's key, never a login name.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "decision.h"
#include "policy.h"
#include "quota.h"

/* What every engagement command parses. */
struct engage {
	const char *cmd, *usage, *as, *reviewer, *vendor_key, *lab, *note, *reason;
	const char *from, *until, *days, *hours, *decision, *seal, *out;
	unsigned long long lines_per_day, lines_total, prints, objection_days, print;
	int vendor_machine; /* vendor sign: no --as, no facility, the vendor's key */
	int set_lpd, set_lt, set_pr;
	struct opt_list quota;
	char product[RELEASE_NAME_MAX + 1], version[RELEASE_NAME_MAX + 1];
	struct opt_common c;
	struct note_signer *key;
	struct facility *f;
	struct policy_actor a;
};

static int start(struct engage *e, int argc, char **argv, const char *help)
{
	const char *pos[1];
	int n;
	struct opt opts[] = {{"as", OPT_STRING, &e->as},
			     {"reviewer", OPT_STRING, &e->reviewer},
			     {"vendor-key", OPT_STRING, &e->vendor_key},
			     {"lab", OPT_STRING, &e->lab},
			     {"note", OPT_STRING, &e->note},
			     {"reason", OPT_STRING, &e->reason},
			     {"from", OPT_STRING, &e->from},
			     {"until", OPT_STRING, &e->until},
			     {"days", OPT_STRING, &e->days},
			     {"hours", OPT_STRING, &e->hours},
			     {"lines-per-day", OPT_UINT, &e->lines_per_day},
			     {"lines-total", OPT_UINT, &e->lines_total},
			     {"prints", OPT_UINT, &e->prints},
			     {"quota", OPT_LIST, &e->quota},
			     {"decision", OPT_STRING, &e->decision},
			     {"seal", OPT_STRING, &e->seal},
			     {"out", OPT_STRING, &e->out},
			     {"objection-days", OPT_UINT, &e->objection_days},
			     {"print", OPT_UINT, &e->print},
			     {NULL, 0, NULL}};
	e->lines_per_day = e->lines_total = e->prints = ~0ULL;
	if (opt_parse(argc, argv, opts, &e->c, pos, 1, &n))
		return cmd_usage(e->cmd, e->usage);
	if (e->c.help) {
		printf("usage: %s\n\n%s", e->usage, help);
		return 0;
	}
	if (n != 1) {
		err_set(ERR_USAGE, "wants one release P@V");
		return cmd_usage(e->cmd, e->usage);
	}
	if (!e->as && !e->vendor_machine) {
		err_set(ERR_USAGE, "--as LOGIN names who acts");
		return cmd_usage(e->cmd, e->usage);
	}
	if (e->vendor_key && !e->vendor_machine) {
		err_set(ERR_USAGE, "the vendor's key is not read here: the vendor signs a decision on its own "
				   "machine ('sealroom vendor sign'), the facility applies it ('--decision FILE')");
		return cmd_usage(e->cmd, e->usage);
	}
	if (release_parse_ref(pos[0], e->product, e->version))
		return cmd_usage(e->cmd, e->usage);
	e->set_lpd = e->lines_per_day != ~0ULL;
	e->set_lt = e->lines_total != ~0ULL;
	e->set_pr = e->prints != ~0ULL;
	return -1; /* go on */
}

/* Open the facility. */
static int open_all(struct engage *e)
{
	int r;
	if ((r = facility_open(facility_resolve(e->c.dir), &e->f)))
		return r;
	e->a.login = e->as;
	return 0;
}

static int finish(struct engage *e, int r)
{
	note_signer_free(e->key);
	facility_free(e->f);
	return r ? cmd_fail(e->cmd, r) : 0;
}

static int need(struct engage *e, const char *val, const char *what)
{
	if (val)
		return 0;
	err_set(ERR_USAGE, "%s is required", what);
	return cmd_usage(e->cmd, e->usage);
}

static void print_outcome(struct engage *e, const struct policy_outcome *o, const char *who)
{
	if (e->c.json) {
		printf("{\"release\":\"%s@%s\",\"outcome\":\"%s\"", e->product, e->version, o->what);
		if (who)
			printf(",\"reviewer\":\"%s\"", who);
		if (o->waiting_for[0])
			printf(",\"waiting_for\":\"%s\"", o->waiting_for);
		if (o->grant_id)
			printf(",\"grant\":%" PRId64, o->grant_id);
		if (o->count)
			printf(",\"count\":%" PRId64, o->count);
		printf("}\n");
		return;
	}
	printf("%s@%s: %s%s%s%s%s\n", e->product, e->version, o->what, who ? " for '" : "",
	       who ? who : "", who ? "'" : "", o->waiting_for[0] ? "" : "");
	if (o->waiting_for[0])
		printf("it waits for the %s's approval\n", o->waiting_for);
}

/* Print the terms of a grant (for both sides to read before they countersign). */
static void print_terms(struct engage *e, const struct grant_terms *t)
{
	struct grant_info g = {0};
	struct quota_limits l;
	char from[32], until[32], days[32], desc[1024];
	if (e->c.json)
		return;
	g.lines_per_day = t->lines_per_day;
	g.lines_total = t->lines_total;
	g.prints = t->prints;
	snprintf(g.quotas, sizeof(g.quotas), "%s", t->quotas ? t->quotas : "");
	policy_format_time(t->valid_from, from, sizeof(from));
	policy_format_time(t->valid_until, until, sizeof(until));
	policy_format_days(t->days, days, sizeof(days));
	printf("terms: from %s until %s, days %s, hours %02d-%02d\n", from, until, days, t->hour_from, t->hour_until);
	if (!quota_limits_of(&g, &l) && !quota_describe(&l, desc, sizeof(desc)))
		printf("quotas: %s\n", desc);
}

/*
 * Apply the vendor's decision file e->decision as the operator e->as, and print what it
 * did. kind (NULL: any) and e->product/version (when set) must be the file's.
 */
static int apply_decision(struct engage *e, const char *kind)
{
	struct policy_outcome o = {0};
	struct decision d;
	struct buf in, cert;
	int r;
	buf_init(&in, 0);
	buf_init(&cert, 1 << 16);
	if ((r = decision_read_file(e->decision, &in, &d)))
		goto out;
	if (kind && strcmp(d.kind, kind)) {
		r = err_set(ERR_USAGE, "'%s' is a decision to %s, not to %s", e->decision, d.kind, kind);
		goto out;
	}
	if (e->product[0] && (strcmp(d.product, e->product) || strcmp(d.version, e->version))) {
		r = err_set(ERR_USAGE, "'%s' decides on '%s@%s', not on '%s@%s'", e->decision, d.product, d.version,
			    e->product, e->version);
		goto out;
	}
	snprintf(e->product, sizeof(e->product), "%s", d.product);
	snprintf(e->version, sizeof(e->version), "%s", d.version);
	if ((r = open_all(e)) || (r = policy_apply(e->f, &e->a, in.p, in.len, &o, &cert)))
		goto out;
	if (!strcmp(d.kind, "shred")) {
		if (e->c.json) {
			struct buf j;
			buf_init(&j, 0);
			if (!(r = buf_addjson(&j, cert.p, cert.len)))
				printf("{\"release\":\"%s@%s\",\"outcome\":\"shredded\",\"certificate\":%s}\n", e->product,
				       e->version, j.p);
			buf_release(&j);
		} else {
			fputs(cert.p, stdout);
		}
	} else {
		print_outcome(e, &o, d.reviewer[0] ? d.reviewer : d.lab[0] ? d.lab : NULL);
		if (!strcmp(d.kind, "approve"))
			print_terms(e, &d.terms);
	}
out:
	buf_release(&in);
	buf_release(&cert);
	return r;
}

static int parse_terms(struct engage *e, struct grant_terms *t, char **quotas);

struct found_grant {
	int64_t id;
	struct grant_info g;
	int found;
};

static int find_grant(void *ctx, const struct grant_info *g)
{
	struct found_grant *fg = ctx;
	if (g->id == fg->id) {
		fg->g = *g;
		fg->found = 1;
	}
	return 0;
}

int cmd_nominate(int argc, char **argv)
{
	struct engage e = {.cmd = "nominate",
			   .usage = "sealroom nominate P@V --reviewer LOGIN [--note TEXT] --as LOGIN [--json]"};
	struct policy_outcome o = {0};
	int r = start(&e, argc, argv,
		      "A lab (or the operator) nominates one of the lab's reviewers for release P@V,\n"
		      "with an optional CV/affiliation note. The vendor may object within the release's\n"
		      "objection window (14 days unless the vendor set another).\n");
	if (r >= 0)
		return r;
	if ((r = need(&e, e.reviewer, "--reviewer LOGIN")))
		return r;
	if (!(r = open_all(&e)) &&
	    !(r = policy_nominate(e.f, &e.a, e.product, e.version, e.reviewer, e.note))) {
		snprintf(o.what, sizeof(o.what), "nominated");
		print_outcome(&e, &o, e.reviewer);
	}
	return finish(&e, r);
}

int cmd_object(int argc, char **argv)
{
	struct engage e = {.cmd = "object",
			   .usage = "sealroom object P@V --decision FILE --as OPERATOR [--json]"};
	struct policy_outcome o = {0};
	int r = start(&e, argc, argv,
		      "The vendor objects to a nominated reviewer within the objection window; the\n"
		      "reviewer can then not be approved for P@V. The objection is a decision file the\n"
		      "vendor signed ('sealroom vendor sign object'); the operator applies it.\n");
	(void)o;
	if (r >= 0)
		return r;
	if ((r = need(&e, e.decision, "--decision FILE (made by 'sealroom vendor sign object')")))
		return r;
	return finish(&e, apply_decision(&e, "object"));
}

int cmd_approve(int argc, char **argv)
{
	struct engage e = {.cmd = "approve",
			   .usage = "sealroom approve P@V (--reviewer LOGIN | --decision FILE) --as LOGIN [--json]"};
	struct policy_outcome o = {0};
	int r = start(&e, argc, argv,
		      "The operator approves a nominated reviewer once the objection window has passed\n"
		      "without objection (--reviewer). The vendor approves with a decision file it\n"
		      "signed ('sealroom vendor sign approve', with the grant's exact terms): applied\n"
		      "with --decision FILE, it approves the nomination and makes the grant active,\n"
		      "countersigned by the facility's key.\n");
	if (r >= 0)
		return r;
	if (e.decision)
		return finish(&e, apply_decision(&e, "approve"));
	if ((r = need(&e, e.reviewer, "--reviewer LOGIN")))
		return r;
	if (!(r = open_all(&e)) && !(r = policy_approve(e.f, &e.a, e.product, e.version, e.reviewer, &o))) {
		struct found_grant fg = {o.grant_id, {0}, 0};
		print_outcome(&e, &o, e.reviewer);
		/* a countersigned grant: the terms now in force */
		if (o.grant_id && !policy_grants_each(e.f, e.product, e.version, find_grant, &fg) && fg.found) {
			struct grant_terms t = {fg.g.valid_from, fg.g.valid_until, fg.g.days, fg.g.hour_from,
						fg.g.hour_until, fg.g.lines_per_day, fg.g.lines_total, fg.g.prints,
						fg.g.quotas};
			print_terms(&e, &t);
		}
	}
	return finish(&e, r);
}

/* `grant list P@V` and `nomination list P@V`: the engagement's state, as the room shows it. */
struct listing {
	int json;
	json_t *arr;
};

static int grant_row(void *ctx, const struct grant_info *g)
{
	struct listing *l = ctx;
	char from[32], until[32];
	policy_format_time(g->valid_from, from, sizeof(from));
	policy_format_time(g->valid_until, until, sizeof(until));
	if (l->json)
		json_array_append_new(l->arr, json_pack("{s:I,s:s,s:s,s:s,s:s,s:I,s:I,s:s}", "grant", (json_int_t)g->id,
							"reviewer", g->reviewer, "state", g->state, "vendor_by",
							g->vendor_by, "operator_by", g->operator_by, "valid_from",
							(json_int_t)g->valid_from, "valid_until", (json_int_t)g->valid_until,
							"quotas", g->quotas));
	else
		printf("%-5lld %-16s %-9s vendor %-12s operator %-12s %s .. %s\n", (long long)g->id, g->reviewer, g->state,
		       *g->vendor_by ? g->vendor_by : "-", *g->operator_by ? g->operator_by : "-", from, until);
	return 0;
}

static int nomination_row(void *ctx, const struct nomination_info *n)
{
	struct listing *l = ctx;
	char at[32], ends[32];
	policy_format_time(n->nominated_at, at, sizeof(at));
	policy_format_time(n->window_ends, ends, sizeof(ends));
	if (l->json)
		json_array_append_new(l->arr, json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:s}", "reviewer", n->reviewer, "lab",
							n->lab, "state", n->state, "nominated_by", n->nominated_by,
							"decided_by", n->decided_by, "nominated_at",
							(json_int_t)n->nominated_at, "window_ends",
							(json_int_t)n->window_ends, "reason", n->reason));
	else
		printf("%-16s %-12s %-9s by %-12s on %s, objections until %s%s%s\n", n->reviewer, n->lab, n->state,
		       n->nominated_by, at, ends, *n->reason ? ": " : "", n->reason);
	return 0;
}

static int list_cmd(const char *cmd, int argc, char **argv, int grants)
{
	const char *usage = grants ? "sealroom grant list P@V [--json]" : "sealroom nomination list P@V [--json]";
	const char *pos[1];
	char product[RELEASE_NAME_MAX + 1], version[RELEASE_NAME_MAX + 1];
	struct opt_common c = {0};
	struct opt opts[] = {{NULL, 0, NULL}};
	struct listing l = {0, NULL};
	struct release_info info;
	struct facility *f = NULL;
	int n, r;
	if (opt_parse(argc, argv, opts, &c, pos, 1, &n))
		return cmd_usage(cmd, usage);
	if (c.help) {
		printf("usage: %s\n\nEvery %s of the release with its state.\n", usage, grants ? "grant" : "nomination");
		return 0;
	}
	if (n != 1) {
		err_set(ERR_USAGE, "wants one release P@V");
		return cmd_usage(cmd, usage);
	}
	if (release_parse_ref(pos[0], product, version))
		return cmd_usage(cmd, usage);
	l.json = c.json;
	l.arr = json_array();
	if (!(r = facility_open(facility_resolve(c.dir), &f)) && !(r = release_get(f, product, version, &info))) {
		release_info_release(&info);
		r = grants ? policy_grants_each(f, product, version, grant_row, &l)
			   : policy_nominations_each(f, product, version, nomination_row, &l);
	}
	if (!r && c.json) {
		char *s = json_dumps(l.arr, JSON_COMPACT | JSON_SORT_KEYS);
		printf("%s\n", s);
		free(s);
	}
	json_decref(l.arr);
	facility_free(f);
	return r ? cmd_fail(cmd, r) : 0;
}

int cmd_nomination(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "list")) {
		err_set(ERR_USAGE, "wants 'list'");
		return cmd_usage("nomination", "sealroom nomination list P@V [--json]");
	}
	return list_cmd("nomination", argc - 1, argv + 1, 0);
}

int cmd_grant(int argc, char **argv)
{
	struct engage e = {.cmd = "grant",
			   .usage = "sealroom grant P@V --reviewer LOGIN --from DATE --until DATE [--days mon-fri] "
				    "[--hours 08-18] [--quota NAME=VALUE]... [--lines-per-day N] [--lines-total N] "
				    "[--prints N] --as OPERATOR [--json]"};
	struct policy_outcome o = {0};
	struct grant_terms t = {0};
	char *quotas = NULL;
	int r;
	if (argc >= 2 && !strcmp(argv[1], "list"))
		return list_cmd("grant", argc - 1, argv + 1, 1);
	r = start(&e, argc, argv,
		      "The operator proposes a grant for an approved reviewer. It becomes active only\n"
		      "when the vendor signs the same terms (the quotas included) in a decision file\n"
		      "('sealroom vendor sign approve') and the operator applies it ('sealroom apply').\n"
		      "DATE is YYYY-MM-DD (UTC;\n"
		      "--until includes that day) or YYYY-MM-DDTHH:MM:SSZ; --days defaults to all,\n"
		      "--hours to 00-24.\n\n"
		      "Quotas: --quota NAME=VALUE, again for each; VALUE a count or 'unlimited' (a\n"
		      "quota left out takes its default; --lines-per-day N is --quota lines_per_day=N):\n"
		      "  lines_per_day 5000, lines_total 50000   distinct lines of code shown, every route\n"
		      "  bytes_per_day 500000, bytes_total 5000000   their bytes\n"
		      "  max_view_lines 400          the largest window of one view\n"
		      "  search_lines_per_day 2000   the part of the lines searches may use\n"
		      "  searches_per_day 500        queries\n"
		      "  query_min_lines 2           what a query costs at least, in lines\n"
		      "  requests_per_minute 240     requests of any kind\n"
		      "  pages_per_print 50, prints 500   printed pages in one print, in total\n"
		      "  print_text 0                1: prints carry a text layer\n"
		      "  walk_alert 30, walk_suspend 60, walk_window 600   the scraping watch: distinct\n"
		      "                              files within the window (seconds)\n"
		      "The terms are printed; the other side countersigns by giving the same ones.\n");
	if (r >= 0)
		return r;
	if ((r = need(&e, e.reviewer, "--reviewer LOGIN")) || (r = parse_terms(&e, &t, &quotas)))
		return r;
	if (!(r = open_all(&e)) &&
	    !(r = policy_grant(e.f, &e.a, e.product, e.version, e.reviewer, &t, &o))) {
		print_outcome(&e, &o, e.reviewer);
		print_terms(&e, &t);
	}
	free(quotas);
	return finish(&e, r);
}

int cmd_revoke(int argc, char **argv)
{
	struct engage e = {.cmd = "revoke",
			   .usage = "sealroom revoke P@V (--reviewer LOGIN | --lab ORG) [--reason TEXT] --as OPERATOR "
				    "| revoke P@V --decision FILE --as OPERATOR [--json]"};
	struct policy_outcome o = {0};
	int r = start(&e, argc, argv,
		      "Withdraw a reviewer's (or a whole lab's) nominations and grants for P@V and end\n"
		      "their sessions at once. The operator revokes with --reviewer or --lab; the\n"
		      "vendor's revocation is a decision file it signed ('sealroom vendor sign revoke'),\n"
		      "applied with --decision FILE.\n");
	if (r >= 0)
		return r;
	if (e.decision)
		return finish(&e, apply_decision(&e, "revoke"));
	if (!e.reviewer == !e.lab) {
		err_set(ERR_USAGE, "name either --reviewer LOGIN or --lab ORG");
		return cmd_usage(e.cmd, e.usage);
	}
	if (!(r = open_all(&e))) {
		r = e.reviewer ? policy_revoke_reviewer(e.f, &e.a, e.product, e.version, e.reviewer, e.reason, &o)
			       : policy_revoke_lab(e.f, &e.a, e.product, e.version, e.lab, e.reason, &o);
		if (!r)
			print_outcome(&e, &o, e.reviewer ? e.reviewer : e.lab);
	}
	return finish(&e, r);
}

int cmd_halt(int argc, char **argv)
{
	struct engage e = {.cmd = "halt", .usage = "sealroom halt P@V --decision FILE --as OPERATOR [--json]"};
	struct policy_outcome o = {0};
	int r = start(&e, argc, argv,
		      "Stop every reading of P@V now: each reviewer's next request is refused and their\n"
		      "sessions end. The halt is a decision file the vendor signed ('sealroom vendor\n"
		      "sign halt'); the operator applies it.\n");
	(void)o;
	if (r >= 0)
		return r;
	if ((r = need(&e, e.decision, "--decision FILE (made by 'sealroom vendor sign halt')")))
		return r;
	return finish(&e, apply_decision(&e, "halt"));
}

int cmd_shred(int argc, char **argv)
{
	struct engage e = {.cmd = "shred", .usage = "sealroom shred P@V --decision FILE --as OPERATOR [--json]"};
	int r = start(&e, argc, argv,
		      "Destroy P@V's wrapped data key and its vault: the release can never be opened\n"
		      "again. The shred is a decision file the vendor signed ('sealroom vendor sign\n"
		      "shred'); the operator applies it. Prints the destruction certificate, a note\n"
		      "signed by the facility's key naming the release, its tree ids and the time,\n"
		      "which is also in the log.\n");
	if (r >= 0)
		return r;
	if ((r = need(&e, e.decision, "--decision FILE (made by 'sealroom vendor sign shred')")))
		return r;
	return finish(&e, apply_decision(&e, "shred"));
}

/* The grant terms of the command line (grant, vendor sign approve); quotas is malloc'd. */
static int parse_terms(struct engage *e, struct grant_terms *t, char **quotas)
{
	struct quota_limits l;
	if ((need(e, e->from, "--from DATE")) || (need(e, e->until, "--until DATE")))
		return ERR_USAGE;
	t->days = POLICY_ALL_DAYS;
	t->hour_from = 0;
	t->hour_until = 24;
	if (policy_parse_date(e->from, 0, &t->valid_from) || policy_parse_date(e->until, 1, &t->valid_until) ||
	    (e->days && policy_parse_days(e->days, &t->days)) ||
	    (e->hours && policy_parse_hours(e->hours, &t->hour_from, &t->hour_until)))
		return cmd_usage(e->cmd, e->usage);
	if ((e->set_lpd && e->lines_per_day > INT64_MAX) || (e->set_lt && e->lines_total > INT64_MAX) ||
	    (e->set_pr && e->prints > INT64_MAX)) {
		err_set(ERR_USAGE, "quota too large");
		return cmd_usage(e->cmd, e->usage);
	}
	quota_defaults(&l);
	if ((e->set_lpd && quota_set(&l, "lines_per_day", (int64_t)e->lines_per_day)) ||
	    (e->set_lt && quota_set(&l, "lines_total", (int64_t)e->lines_total)) ||
	    (e->set_pr && quota_set(&l, "prints", (int64_t)e->prints)))
		return cmd_usage(e->cmd, e->usage);
	for (int i = 0; i < e->quota.n; i++) {
		const char *name;
		int64_t v;
		if (quota_parse_setting(e->quota.v[i], &name, &v) || quota_set(&l, name, v))
			return cmd_usage(e->cmd, e->usage);
	}
	t->lines_per_day = l.lines_per_day;
	t->lines_total = l.lines_total;
	t->prints = l.pages_total;
	t->quotas = *quotas = quota_json(&l);
	return 0;
}

/*
 * sealroom vendor sign KIND P@V --seal FILE --vendor-key KEY [...] [--out FILE]: on the
 * vendor's machine, with no facility folder: the seal (BUNDLE/seal of `seal --out`) must
 * be this key's seal of P@V; the decision names its hash.
 */
int cmd_vendor(int argc, char **argv)
{
	struct engage e = {.cmd = "vendor sign",
			   .usage = "sealroom vendor sign approve|object|revoke|halt|shred|window|dispute P@V --seal FILE "
				    "--vendor-key FILE [--reviewer LOGIN | --lab ORG] [--reason TEXT] [--from DATE "
				    "--until DATE [--days mon-fri] [--hours 08-18] [--quota NAME=VALUE]... "
				    "[--lines-per-day N] [--lines-total N] [--prints N]] [--objection-days N] "
				    "[--print N] [--out FILE]",
			   .vendor_machine = 1};
	struct release_info row = {0}, sealed = {0};
	struct decision d;
	struct buf seal, vk, note;
	char *quotas = NULL;
	const char *kind;
	int r;
	if (argc < 3 || strcmp(argv[1], "sign")) {
		if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")))
			return printf("usage: %s\n", e.usage), 0;
		err_set(ERR_USAGE, "wants 'sign KIND P@V'");
		return cmd_usage(e.cmd, e.usage);
	}
	kind = argv[2];
	r = start(&e, argc - 2, argv + 2,
		  "Sign one of the vendor's decisions on the vendor's own machine (no facility folder):\n"
		  "  approve   a nominated reviewer, with the grant's exact terms (--reviewer, --from,\n"
		  "            --until, --days, --hours, quotas as for 'sealroom grant')\n"
		  "  object    to a nominated reviewer (--reviewer, --reason)\n"
		  "  revoke    a reviewer or a lab (--reviewer or --lab, --reason)\n"
		  "  halt      every reading of the release\n"
		  "  shred     the release's keys and vault\n"
		  "  window    the objection window (--objection-days 1..365)\n"
		  "  dispute   a print of the release ('print list P@V'): --print N [--reason]\n"
		  "--seal is the release's seal (BUNDLE/seal of 'sealroom seal --out BUNDLE'): it must be\n"
		  "this key's seal of P@V, and the decision names its hash, so it applies to that\n"
		  "release only, once. The file (--out, or standard output) goes to the facility, where\n"
		  "the operator applies it: 'sealroom apply FILE --as OPERATOR'.\n");
	if (r >= 0)
		return r;
	buf_init(&seal, 0);
	buf_init(&vk, 4096);
	buf_init(&note, DECISION_MAX);
	memset(&d, 0, sizeof(d));
	if (!decision_kind_valid(kind)) {
		err_set(ERR_USAGE, "'%s' is not a decision (approve, object, revoke, halt, shred, window, dispute)", kind);
		r = cmd_usage(e.cmd, e.usage);
		goto done;
	}
	if ((r = need(&e, e.seal, "--seal FILE")) || (r = need(&e, e.vendor_key, "--vendor-key FILE")))
		goto done;
	snprintf(d.kind, sizeof(d.kind), "%s", kind);
	if ((!strcmp(kind, "approve") || !strcmp(kind, "object")) && (r = need(&e, e.reviewer, "--reviewer LOGIN")))
		goto done;
	if (!strcmp(kind, "revoke") && !e.reviewer == !e.lab) {
		err_set(ERR_USAGE, "name either --reviewer LOGIN or --lab ORG");
		r = cmd_usage(e.cmd, e.usage);
		goto done;
	}
	if (!strcmp(kind, "object") && (r = need(&e, e.reason, "--reason TEXT")))
		goto done;
	if (!strcmp(kind, "window") && (r = need(&e, e.objection_days ? "" : NULL, "--objection-days N")))
		goto done;
	if (!strcmp(kind, "dispute") && (r = need(&e, e.print ? "" : NULL, "--print N")))
		goto done;
	d.print = e.print > INT64_MAX ? 0 : (int64_t)e.print;
	if (!strcmp(kind, "approve") && (r = parse_terms(&e, &d.terms, &quotas)))
		goto done;
	snprintf(d.reviewer, sizeof(d.reviewer), "%s", e.reviewer ? e.reviewer : "");
	snprintf(d.lab, sizeof(d.lab), "%s", e.lab ? e.lab : "");
	snprintf(d.reason, sizeof(d.reason), "%s", e.reason ? e.reason : "");
	d.objection_days = e.objection_days > 365 ? 366 : (int)e.objection_days;
	snprintf(d.product, sizeof(d.product), "%s", e.product);
	snprintf(d.version, sizeof(d.version), "%s", e.version);
	d.time = (int64_t)time(NULL);
	/* the seal must be this key's seal of P@V */
	seal.max = 1 << 20;
	if ((r = note_signer_load(e.vendor_key, &e.key)) || (r = note_signer_vkey(e.key, &vk)) ||
	    (r = buf_read_file(&seal, e.seal)))
		goto fail;
	snprintf(row.product, sizeof(row.product), "%s", e.product);
	snprintf(row.version, sizeof(row.version), "%s", e.version);
	row.vendor_vkey = vk.p;
	row.seal_note = seal.p;
	if ((r = release_seal_open(&row, &sealed)))
		goto fail;
	decision_seal_hash(seal.p, d.seal);
	if ((r = decision_sign(&d, e.key, &note)))
		goto fail;
	if (e.out)
		r = cmd_write_new(e.out, note.p, note.len, 0644);
	else
		fputs(note.p, stdout);
	if (!r && e.out && !e.c.json)
		printf("%s: a decision to %s for '%s@%s' (nonce %s): carry it to the facility\n", e.out, kind, e.product,
		       e.version, d.nonce);
	if (!r && e.out && e.c.json)
		printf("{\"file\":\"%s\",\"decision\":\"%s\",\"release\":\"%s@%s\",\"nonce\":\"%s\"}\n", e.out, kind,
		       e.product, e.version, d.nonce);
fail:
	if (r)
		r = cmd_fail(e.cmd, r);
done:
	release_info_release(&sealed);
	free(quotas);
	buf_release(&seal);
	buf_release(&vk);
	buf_release(&note);
	note_signer_free(e.key);
	return r;
}

/* sealroom apply FILE --as OPERATOR: any vendor decision file, at the facility. */
int cmd_apply(int argc, char **argv)
{
	struct engage e = {.cmd = "apply", .usage = "sealroom apply FILE --as OPERATOR [--json]"};
	const char *pos[1];
	int n;
	struct opt opts[] = {{"as", OPT_STRING, &e.as}, {NULL, 0, NULL}};
	if (opt_parse(argc, argv, opts, &e.c, pos, 1, &n))
		return cmd_usage(e.cmd, e.usage);
	if (e.c.help) {
		printf("usage: %s\n\n"
		       "Apply a decision file the vendor signed on its own machine ('sealroom vendor sign'):\n"
		       "its signature must be by the key that sealed the release it names, its seal hash\n"
		       "that release's, and it applies once. An approval makes the grant active on its\n"
		       "terms, countersigned by the facility's key; the log entry carries both signatures.\n",
		       e.usage);
		return 0;
	}
	if (n != 1) {
		err_set(ERR_USAGE, "wants one decision FILE");
		return cmd_usage(e.cmd, e.usage);
	}
	if (!e.as) {
		err_set(ERR_USAGE, "--as LOGIN names the operator who applies it");
		return cmd_usage(e.cmd, e.usage);
	}
	e.decision = pos[0];
	return finish(&e, apply_decision(&e, NULL));
}
