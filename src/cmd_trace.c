/*
 * cmd_trace: sealroom trace FILE [--json]: name the session a leaked screenshot or copied
 * text came from, with what it was shown. Also the operators' side of issue 7:
 * sealroom session resume|holds, sealroom print dispute|list.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "auth.h"
#include "cmd.h"
#include "decision.h"
#include "db.h"
#include "image.h"
#include "print.h"
#include "quota.h"
#include "trace.h"

static const char trace_usage[] = "sealroom trace FILE [--json]";

struct shown {
	int json;
	json_t *list;
	size_t n;
};

static int show_entry(void *ctx, uint64_t index, const char *entry, size_t len)
{
	struct shown *s = ctx;
	json_error_t e;
	json_t *o = json_loadb(entry, len, 0, &e);
	char when[32];
	if (!o)
		return 0;
	s->n++;
	if (s->json) {
		json_object_set_new(o, "index", json_integer((json_int_t)index));
		json_array_append_new(s->list, o);
		return 0;
	}
	policy_format_time(json_integer_value(json_object_get(o, "time")), when, sizeof(when));
	printf("  %s  #%" PRIu64 " %s %s", when, index, json_string_value(json_object_get(o, "type")),
	       json_string_value(json_object_get(o, "release")) ? json_string_value(json_object_get(o, "release")) : "");
	if (json_string_value(json_object_get(o, "path")))
		printf(" %s", json_string_value(json_object_get(o, "path")));
	else if (json_string_value(json_object_get(o, "path_b64"))) /* a name that is not UTF-8 */
		printf(" (base64) %s", json_string_value(json_object_get(o, "path_b64")));
	if (json_is_integer(json_object_get(o, "from")))
		printf(" lines %" JSON_INTEGER_FORMAT "-%" JSON_INTEGER_FORMAT,
		       json_integer_value(json_object_get(o, "from")), json_integer_value(json_object_get(o, "to")));
	if (json_is_integer(json_object_get(o, "lines")))
		printf(" (%" JSON_INTEGER_FORMAT " lines)", json_integer_value(json_object_get(o, "lines")));
	putchar('\n');
	json_decref(o);
	return 0;
}

int cmd_trace(int argc, char **argv)
{
	struct opt_common c = {0};
	struct opt opts[] = {{NULL, 0, NULL}};
	const char *pos[1];
	struct facility *f = NULL;
	struct trace_report rep;
	struct shown sh = {0};
	struct buf file;
	char when[32];
	int n, r;

	if (opt_parse(argc, argv, opts, &c, pos, 1, &n))
		return cmd_usage("trace", trace_usage);
	if (c.help) {
		printf("usage: %s\n\n"
		       "Name the session a leak came from. FILE is a PNG or JPEG screenshot or photo\n"
		       "of a code view (its forensic mark survives JPEG, scaling and cropping), or\n"
		       "text copied from one (private-use characters of the session's cipher).\n"
		       "Every session in the log is a candidate; the named one is printed with its\n"
		       "reviewer, login time, the confidence, and everything it was shown. Exit 0\n"
		       "when a session is named, 1 when none is (\"no session found\").\n", trace_usage);
		return 0;
	}
	if (n != 1) {
		err_set(ERR_USAGE, "wants one FILE");
		return cmd_usage("trace", trace_usage);
	}
	buf_init(&file, IMAGE_FILE_MAX);
	if ((r = buf_read_file(&file, pos[0])) || (r = facility_open(facility_resolve(c.dir), &f)) ||
	    (r = trace_leak(f, file.p, file.len, &rep)))
		goto out;
	if (!rep.found) {
		if (c.json)
			printf("{\"found\":false,\"kind\":\"%s\",\"usable\":%s,\"score\":%.3f,\"candidates\":%zu}\n",
			       rep.kind, rep.usable ? "true" : "false", rep.score, rep.candidates);
		if (!rep.usable)
			r = err_set(ERR_NOTFOUND, "no session found: '%s' holds too little plain background to "
						  "decide", pos[0]);
		else
			r = err_set(ERR_NOTFOUND, "no session found in '%s' (best score %.2f among %zu sessions; "
						  "a match needs %.2f)",
				    pos[0], rep.score, rep.candidates,
				    strcmp(rep.kind, "image") ? TRACE_TEXT_SHARE : MARK_THRESHOLD);
		goto out;
	}
	sh.json = c.json;
	sh.list = json_array();
	policy_format_time(rep.session.started, when, sizeof(when));
	if (!c.json) {
		printf("session %s: %s, logged in %s%s%s\n", rep.session.session_id, rep.session.login, when,
		       rep.session.ip[0] ? " from " : "", rep.session.ip);
		if (!strcmp(rep.kind, "image"))
			printf("confidence %.6f (image: score %.3f = %.1f sigma, runner-up %.3f, among %zu "
			       "sessions; scale %.2f)\n",
			       rep.confidence, rep.score, rep.sigma, rep.second, rep.candidates, rep.scale);
		else
			printf("confidence %.6f (text: %.0f%% of %zu private-use characters are this session's, "
			       "runner-up %.0f%%, among %zu sessions)\n",
			       rep.confidence, 100 * rep.score, rep.n_pua, 100 * rep.second, rep.candidates);
		printf("shown in that session:\n");
	}
	if ((r = trace_views(f, rep.session.session_id, show_entry, &sh)))
		goto out;
	if (c.json) {
		json_t *o = json_pack("{s:b,s:s,s:s,s:s,s:s,s:I,s:f,s:f,s:f,s:f,s:I,s:o}", "found", 1, "kind",
				      rep.kind, "session", rep.session.session_id, "login", rep.session.login,
				      "ip", rep.session.ip, "started", (json_int_t)rep.session.started, "score",
				      rep.score, "second", rep.second, "confidence", rep.confidence, "scale",
				      rep.scale, "candidates", (json_int_t)rep.candidates, "shown", sh.list);
		char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
		sh.list = NULL;
		puts(s);
		free(s);
		json_decref(o);
	} else if (!sh.n) {
		printf("  (no views logged)\n");
	}
out:
	json_decref(sh.list);
	buf_release(&file);
	facility_free(f);
	return r ? cmd_fail("trace", r) : 0;
}

static const char session_usage[] =
	"sealroom session resume SESSION --as LOGIN | session holds [--json] | "
	"session timeouts [--idle SECONDS --absolute SECONDS --as OPERATOR] [--json]";

static int print_hold(void *ctx, const struct quota_hold *h)
{
	int json = *(int *)ctx;
	char when[32];
	if (json) {
		json_t *o = json_pack("{s:s,s:s,s:I,s:s,s:s,s:I}", "session", h->session_id, "login", h->login, "held_at",
				      (json_int_t)h->held_at, "reason", h->reason, "release", "", "grant",
				      (json_int_t)h->grant_id);
		char *s;
		if (*h->product)
			json_object_set_new(o, "release", json_sprintf("%s@%s", h->product, h->version));
		s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
		puts(s);
		free(s);
		json_decref(o);
	} else {
		policy_format_time(h->held_at, when, sizeof(when));
		printf("%s  %-16s held %s: %s\n", h->session_id, h->login, when, h->reason);
	}
	return 0;
}

int cmd_session(int argc, char **argv)
{
	const char *as = NULL, *pos[2];
	unsigned long long idle = 0, absolute = 0;
	struct opt_common c = {0};
	struct opt opts[] = {{"as", OPT_STRING, &as}, {"idle", OPT_UINT, &idle}, {"absolute", OPT_UINT, &absolute},
			     {NULL, 0, NULL}};
	struct facility *f = NULL;
	int n, r;

	if (opt_parse(argc, argv, opts, &c, pos, 2, &n))
		return cmd_usage("session", session_usage);
	if (c.help) {
		printf("usage: %s\n\n"
		       "A session whose reading looked like scraping (many files walked in a short\n"
		       "time) is held: every request is refused until an operator or the vendor has\n"
		       "looked at it. 'holds' lists the held sessions; 'resume' lets one go on\n"
		       "(logged as session_resume). 'timeouts' prints how long a session may be idle\n"
		       "and last in all; with --idle and --absolute (seconds) an operator sets them\n"
		       "(idle %d to %d, absolute idle to %d; logged as session_timeouts).\n",
		       session_usage, AUTH_IDLE_MIN, AUTH_IDLE_MAX, AUTH_ABSOLUTE_MAX);
		return 0;
	}
	if (n < 1 || (!strcmp(pos[0], "resume") && (n != 2 || !as)) || (!strcmp(pos[0], "holds") && n != 1) ||
	    (!strcmp(pos[0], "timeouts") && (n != 1 || (idle || absolute || as) != (idle && absolute && as))) ||
	    (strcmp(pos[0], "resume") && strcmp(pos[0], "holds") && strcmp(pos[0], "timeouts"))) {
		err_set(ERR_USAGE, "wants 'resume SESSION --as LOGIN', 'holds' or 'timeouts [--idle S --absolute S --as OPERATOR]'");
		return cmd_usage("session", session_usage);
	}
	if ((r = facility_open(facility_resolve(c.dir), &f)))
		goto out;
	if (!strcmp(pos[0], "resume")) {
		if (!(r = quota_resume(f, pos[1], as, (int64_t)time(NULL)))) {
			if (c.json)
				printf("{\"session\":\"%s\",\"resumed\":true}\n", pos[1]);
			else
				printf("session %s resumed by %s\n", pos[1], as);
		}
	} else if (!strcmp(pos[0], "timeouts")) {
		int64_t i = 0, a = 0;
		if (idle && (idle > INT64_MAX || absolute > INT64_MAX))
			r = err_set(ERR_USAGE, "--idle and --absolute are seconds");
		else if (idle)
			r = auth_set_timeouts(f, (int64_t)idle, (int64_t)absolute, as);
		if (!r) {
			auth_timeouts(f, &i, &a);
			if (c.json)
				printf("{\"absolute\":%lld,\"idle\":%lld}\n", (long long)a, (long long)i);
			else
				printf("sessions end after %lld seconds idle or %lld seconds in all\n", (long long)i, (long long)a);
		}
	} else {
		r = quota_holds_each(f, print_hold, &c.json);
	}
out:
	facility_free(f);
	return r ? cmd_fail("session", r) : 0;
}

static const char print_usage[] =
	"sealroom print dispute N --decision FILE --as OPERATOR | print list P@V [--json]";

static int list_print(void *ctx, const struct print_row *p)
{
	int json = *(int *)ctx;
	char when[32];
	if (json) {
		json_t *o = json_pack("{s:I,s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:s,s:I,s:b}", "print", (json_int_t)p->id,
				      "login", p->login, "session", p->session_id, "path", p->path, "from",
				      (json_int_t)p->line_from, "to", (json_int_t)p->line_to, "pages",
				      (json_int_t)p->pages, "bates_first", (json_int_t)p->bates_first, "bates_last",
				      (json_int_t)p->bates_last, "sha256", p->sha256, "time", (json_int_t)p->created_at,
				      "disputed", p->disputed_at != 0);
		char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
		puts(s);
		free(s);
		json_decref(o);
		return 0;
	}
	policy_format_time(p->created_at, when, sizeof(when));
	printf("%" PRId64 "  %s  %-12s %s lines %" PRId64 "-%" PRId64 ", %" PRId64 " pages, Bates %" PRId64
	       "-%" PRId64 "%s\n",
	       p->id, when, p->login, p->path, p->line_from, p->line_to, p->pages, p->bates_first,
	       p->bates_last, p->disputed_at ? " DISPUTED" : "");
	return 0;
}

int cmd_print(int argc, char **argv)
{
	const char *as = NULL, *file = NULL, *pos[2];
	struct opt_common c = {0};
	struct opt opts[] = {{"as", OPT_STRING, &as}, {"decision", OPT_STRING, &file}, {NULL, 0, NULL}};
	struct facility *f = NULL;
	int n, r;

	if (opt_parse(argc, argv, opts, &c, pos, 2, &n))
		return cmd_usage("print", print_usage);
	if (c.help) {
		printf("usage: %s\n\n"
		       "Prints are PDFs a reviewer made in the room (Bates-numbered, watermarked,\n"
		       "counted against the grant's page quotas, logged). 'list' shows a release's\n"
		       "prints; 'dispute' applies the vendor's dispute of print N, a decision file the\n"
		       "vendor signed ('sealroom vendor sign dispute P@V --print N'); logged as\n"
		       "print_dispute with the vendor's signed decision.\n", print_usage);
		return 0;
	}
	if (n != 2 || (strcmp(pos[0], "dispute") && strcmp(pos[0], "list")) ||
	    (!strcmp(pos[0], "dispute") && (!as || !file))) {
		err_set(ERR_USAGE, "wants 'dispute N --decision FILE --as OPERATOR' or 'list P@V'");
		return cmd_usage("print", print_usage);
	}
	if (!strcmp(pos[0], "dispute")) {
		struct policy_actor a = {as, NULL, 0, NULL};
		struct policy_outcome o = {0};
		struct decision d;
		struct buf in;
		char *end;
		long long id = strtoll(pos[1], &end, 10);
		if (*end || id <= 0) {
			err_set(ERR_USAGE, "'%s' is not a print number", pos[1]);
			return cmd_usage("print", print_usage);
		}
		buf_init(&in, 0);
		if (!(r = decision_read_file(file, &in, &d)) && (strcmp(d.kind, "dispute") || d.print != id))
			r = err_set(ERR_USAGE, "'%s' is not the vendor's dispute of print %lld", file, id);
		if (!r && !(r = facility_open(facility_resolve(c.dir), &f)))
			r = policy_apply(f, &a, in.p, in.len, &o, NULL);
		buf_release(&in);
		if (r)
			goto out;
		if (c.json)
			printf("{\"print\":%lld,\"disputed\":true}\n", id);
		else
			printf("print %lld marked disputed by the vendor (applied by %s)\n", id, as);
	} else {
		char product[RELEASE_NAME_MAX + 1], version[RELEASE_NAME_MAX + 1];
		if (release_parse_ref(pos[1], product, version))
			return cmd_usage("print", print_usage);
		if (!(r = facility_open(facility_resolve(c.dir), &f)))
			r = print_each(f, product, version, list_print, &c.json);
	}
out:
	facility_free(f);
	return r ? cmd_fail("print", r == ERR_USAGE ? ERR_USAGE : r) : 0;
}
