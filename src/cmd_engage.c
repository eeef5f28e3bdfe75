/*
 * cmd_engage: the engagement's decisions: nominate, object, approve, grant, revoke, halt,
 * shred. Each names who acts with --as LOGIN; vendor decisions also prove the vendor's
 * authority with --vendor-key FILE, the key that sealed the release (see
 * docs/engagement.md: the CLI runs with the operator's access to the facility folder, so
 * a login name alone cannot stand for the vendor).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "policy.h"
#include "quota.h"

/* What every engagement command parses. */
struct engage {
	const char *cmd, *usage, *as, *reviewer, *vendor_key, *lab, *note, *reason;
	const char *from, *until, *days, *hours;
	unsigned long long lines_per_day, lines_total, prints;
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
	if (!e->as) {
		err_set(ERR_USAGE, "--as LOGIN names who acts");
		return cmd_usage(e->cmd, e->usage);
	}
	if (release_parse_ref(pos[0], e->product, e->version))
		return cmd_usage(e->cmd, e->usage);
	e->set_lpd = e->lines_per_day != ~0ULL;
	e->set_lt = e->lines_total != ~0ULL;
	e->set_pr = e->prints != ~0ULL;
	return -1; /* go on */
}

/* Load the vendor key (when given) and open the facility. */
static int open_all(struct engage *e)
{
	int r;
	if (e->vendor_key && (r = note_signer_load(e->vendor_key, &e->key)))
		return r;
	if ((r = facility_open(facility_resolve(e->c.dir), &e->f)))
		return r;
	e->a.login = e->as;
	e->a.vendor_key = e->key;
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
			   .usage = "sealroom object P@V --reviewer LOGIN --reason TEXT --as VENDOR "
				    "--vendor-key FILE [--json]"};
	struct policy_outcome o = {0};
	int r = start(&e, argc, argv,
		      "The vendor objects to a nominated reviewer within the objection window; the\n"
		      "reviewer can then not be approved for P@V. Needs the key that sealed P@V.\n");
	if (r >= 0)
		return r;
	if ((r = need(&e, e.reviewer, "--reviewer LOGIN")) || (r = need(&e, e.reason, "--reason TEXT")))
		return r;
	if (!(r = open_all(&e)) &&
	    !(r = policy_object(e.f, &e.a, e.product, e.version, e.reviewer, e.reason))) {
		snprintf(o.what, sizeof(o.what), "objected");
		print_outcome(&e, &o, e.reviewer);
	}
	return finish(&e, r);
}

int cmd_approve(int argc, char **argv)
{
	struct engage e = {.cmd = "approve",
			   .usage = "sealroom approve P@V --reviewer LOGIN --as LOGIN [--vendor-key FILE] [--json]"};
	struct policy_outcome o = {0};
	int r = start(&e, argc, argv,
		      "Approve a nominated reviewer (the vendor at any time, with --vendor-key; the\n"
		      "operator once the objection window has passed without objection), or\n"
		      "countersign the grant the other side proposed, which makes it active.\n");
	if (r >= 0)
		return r;
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
				    "[--prints N] --as LOGIN [--vendor-key FILE] [--json]"};
	struct policy_outcome o = {0};
	struct grant_terms t = {0};
	struct quota_limits l;
	char *quotas = NULL;
	int r;
	if (argc >= 2 && !strcmp(argv[1], "list"))
		return list_cmd("grant", argc - 1, argv + 1, 1);
	r = start(&e, argc, argv,
		      "Propose a grant for an approved reviewer, or countersign the other side's\n"
		      "proposal. A grant is active once the vendor (with --vendor-key) and the operator\n"
		      "have approved the same terms (the quotas included). DATE is YYYY-MM-DD (UTC;\n"
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
	if ((r = need(&e, e.reviewer, "--reviewer LOGIN")) || (r = need(&e, e.from, "--from DATE")) ||
	    (r = need(&e, e.until, "--until DATE")))
		return r;
	t.days = POLICY_ALL_DAYS;
	t.hour_from = 0;
	t.hour_until = 24;
	if (policy_parse_date(e.from, 0, &t.valid_from) || policy_parse_date(e.until, 1, &t.valid_until) ||
	    (e.days && policy_parse_days(e.days, &t.days)) ||
	    (e.hours && policy_parse_hours(e.hours, &t.hour_from, &t.hour_until)))
		return cmd_usage(e.cmd, e.usage);
	if ((e.set_lpd && e.lines_per_day > INT64_MAX) || (e.set_lt && e.lines_total > INT64_MAX) ||
	    (e.set_pr && e.prints > INT64_MAX)) {
		err_set(ERR_USAGE, "quota too large");
		return cmd_usage(e.cmd, e.usage);
	}
	quota_defaults(&l);
	if ((e.set_lpd && quota_set(&l, "lines_per_day", (int64_t)e.lines_per_day)) ||
	    (e.set_lt && quota_set(&l, "lines_total", (int64_t)e.lines_total)) ||
	    (e.set_pr && quota_set(&l, "prints", (int64_t)e.prints)))
		return cmd_usage(e.cmd, e.usage);
	for (int i = 0; i < e.quota.n; i++) {
		const char *name;
		int64_t v;
		if (quota_parse_setting(e.quota.v[i], &name, &v) || quota_set(&l, name, v))
			return cmd_usage(e.cmd, e.usage);
	}
	t.lines_per_day = l.lines_per_day;
	t.lines_total = l.lines_total;
	t.prints = l.pages_total;
	t.quotas = quotas = quota_json(&l);
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
			   .usage = "sealroom revoke P@V (--reviewer LOGIN | --lab ORG) [--reason TEXT] --as LOGIN "
				    "[--vendor-key FILE] [--json]"};
	struct policy_outcome o = {0};
	int r = start(&e, argc, argv,
		      "Withdraw a reviewer's (or a whole lab's) nominations and grants for P@V and end\n"
		      "their sessions at once. The vendor (with --vendor-key) or the operator may revoke.\n");
	if (r >= 0)
		return r;
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
	struct engage e = {.cmd = "halt", .usage = "sealroom halt P@V --as VENDOR --vendor-key FILE [--json]"};
	struct policy_outcome o = {0};
	int r = start(&e, argc, argv,
		      "Stop every reading of P@V now: each reviewer's next request is refused and their\n"
		      "sessions end. Needs the key that sealed P@V.\n");
	if (r >= 0)
		return r;
	if (!(r = open_all(&e)) && !(r = policy_halt(e.f, &e.a, e.product, e.version, &o)))
		print_outcome(&e, &o, NULL);
	return finish(&e, r);
}

int cmd_shred(int argc, char **argv)
{
	struct engage e = {.cmd = "shred", .usage = "sealroom shred P@V --as VENDOR --vendor-key FILE [--json]"};
	struct buf cert;
	int r = start(&e, argc, argv,
		      "Destroy P@V's wrapped data key and its vault: the release can never be opened\n"
		      "again. Prints the destruction certificate, a note signed by the facility's key\n"
		      "naming the release, its tree ids and the time, which is also in the log.\n");
	if (r >= 0)
		return r;
	if ((r = need(&e, e.vendor_key, "--vendor-key FILE")))
		return r;
	buf_init(&cert, 1 << 16);
	if (!(r = open_all(&e)) && !(r = policy_shred(e.f, &e.a, e.product, e.version, &cert))) {
		if (e.c.json) {
			printf("{\"release\":\"%s@%s\",\"outcome\":\"shredded\",\"certificate\":", e.product, e.version);
			fflush(stdout);
			{
				struct buf j;
				buf_init(&j, 0);
				if (!buf_addjson(&j, cert.p, cert.len))
					fputs(j.p, stdout);
				buf_release(&j);
			}
			printf("}\n");
		} else {
			fputs(cert.p, stdout);
		}
	}
	buf_release(&cert);
	return finish(&e, r);
}
