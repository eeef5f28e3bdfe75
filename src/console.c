/* console: the facility's commands that read a release's text, run where its key is. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "auth.h"
#include "console.h"
#include "findings.h"
#include "hash.h"
#include "keyring.h"
#include "policy.h"
#include "quota.h"
#include "release.h"
#include "room.h"
#include "sarif.h"

int console_who(struct facility *f, const char *login, struct session_info *who)
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

/* The opened release with its index loaded, waiting for a load as long as an import may. */
static int get_indexed(struct rooms *rs, struct facility *f, const char *product, const char *version,
		       const volatile int *cancel, struct room **rm)
{
	time_t until = time(NULL) + CONSOLE_INDEX_WAIT;
	int r;
	while ((r = room_get(rs, f, product, version, (int64_t)time(NULL), 1, rm)) == ERR_BUSY && time(NULL) < until &&
	       !(cancel && *cancel)) {
	}
	return r;
}

/*
 * A text checked against the code is a query of it, whoever asks: its refusal says
 * whether the text repeats the code, and a location's whether a file is there and how
 * long it is. Each check is charged to the reviewer's grant before it is made, as the
 * room's pages charge theirs (web.c, charge_text_check): query_min_lines of the budget,
 * one of searches_per_day, one request; a refusal of the budget is logged by quota.
 */
static int charge_check(struct facility *f, const struct session_info *who, const struct grant_info *g)
{
	struct quota_refusal why;
	struct quota_ask a = {QUOTA_SEARCH, NULL, 0, 0};
	return quota_charge(f, who, g, &a, (int64_t)time(NULL), &why);
}

/* What an import checks each result against, and what it keeps. */
struct import {
	struct facility *f;
	struct room *rm;
	struct notes_code code;
	const struct session_info *who;
	const struct grant_info *g;
	const char *product, *version;
	struct buf *report;
	int64_t now;
	int refused;
	int store; /* second pass: file them */
	size_t filed;
};

static int refuse(struct import *im, size_t index, const char *why)
{
	im->refused++;
	if (im->report->len < KEYRING_CONSOLE_ANSWER_MAX / 2)
		return buf_addf(im->report, "result %zu refused: %s\n", index, why);
	return 0;
}

static int import_one(void *ctx, const struct sarif_result *res)
{
	struct import *im = ctx;
	struct finding_new n = res->n;
	char blob[65];
	int r;
	if (res->refused)
		return refuse(im, res->index, res->refused);
	if (!im->store && (r = charge_check(im->f, im->who, im->g))) {
		if (r != ERR_DENIED)
			return r;
		return refuse(im, res->index, err_msg());
	}
	if ((r = room_locate_finding(im->rm, n.path, n.line_from, n.line_to, blob))) {
		char why[600];
		if (r != ERR_NOTFOUND && r != ERR_USAGE)
			return r;
		snprintf(why, sizeof(why), "%s (outside %s@%s)", err_msg(), im->product, im->version);
		return refuse(im, res->index, why);
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
				return r;
			return refuse(im, res->index, err_msg());
		}
		return 0;
	}
	if ((r = findings_add(im->f, &im->code, im->who, &n, im->now, NULL)) == 0)
		im->filed++;
	return r;
}

static int count_result(void *ctx, const struct sarif_result *res)
{
	(*(size_t *)ctx)++;
	return 0;
}

int console_findings_import(struct rooms *rs, struct facility *f, const char *product, const char *version,
			    const char *as, const char *sarif, size_t len, const volatile int *cancel, struct buf *report,
			    size_t *filed)
{
	struct session_info who;
	struct grant_info g;
	struct import im;
	struct room *rm = NULL;
	size_t n_results = 0;
	int r;
	*filed = 0;
	if ((r = console_who(f, as, &who)))
		return r;
	if (strcmp(who.role, "reviewer") || strcmp(who.org_kind, "lab"))
		return err_set(ERR_DENIED, "'%s' is a %s, not a lab's reviewer: only reviewers file findings", as,
			       who.role);
	if ((r = policy_may_read(f, &who, product, version, (int64_t)time(NULL), &g)))
		return r;
	if (len > SARIF_MAX_LEN)
		return err_set(ERR_TOOBIG, "sarif: the log is larger than %zu bytes", SARIF_MAX_LEN);
	/* the log itself first: a file that is not SARIF opens nothing */
	if ((r = sarif_read(sarif, len, count_result, &n_results)))
		return r;
	if ((r = get_indexed(rs, f, product, version, cancel, &rm)))
		return r;
	memset(&im, 0, sizeof(im));
	im.f = f;
	im.rm = rm;
	im.who = &who;
	im.g = &g;
	im.product = product;
	im.version = version;
	im.report = report;
	im.now = (int64_t)time(NULL);
	if ((r = room_notes_code(rs, rm, &im.code)) || (r = sarif_read(sarif, len, import_one, &im)))
		goto out;
	if (im.refused) {
		r = err_set(ERR_DENIED, "%d result%s refused: nothing imported", im.refused, im.refused == 1 ? "" : "s");
		goto out;
	}
	im.store = 1;
	r = sarif_read(sarif, len, import_one, &im);
	*filed = im.filed;
out:
	room_put(rs, rm);
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

int console_finding_release(struct facility *f, const char *as, int64_t id, char product[RELEASE_NAME_MAX + 1],
			    char version[RELEASE_NAME_MAX + 1])
{
	struct session_info who;
	struct ref cur;
	int r;
	if ((r = console_who(f, as, &who)) || (r = findings_get(f, &who, id, keep_ref, &cur)))
		return r;
	memcpy(product, cur.product, sizeof(cur.product));
	memcpy(version, cur.version, sizeof(cur.version));
	return 0;
}

int console_findings_state(struct rooms *rs, struct facility *f, int64_t id, const char *state, const char *as,
			   const char *fixed_in, const char *comment, const volatile int *cancel)
{
	struct session_info who;
	struct room *old = NULL, *fix = NULL;
	struct notes_code code, *cp = NULL;
	struct ref cur;
	int r, ok = 0;
	if ((r = console_who(f, as, &who)) || (r = findings_get(f, &who, id, keep_ref, &cur)))
		return r;
	if (comment && *comment) {
		/* a comment is checked like a note: against the release's code; a lab's is a query
		 * of its reviewer's grant (charge_check), the vendor's the vendor's own */
		struct grant_info g;
		if (strcmp(who.role, "vendor") &&
		    ((r = policy_may_read(f, &who, cur.product, cur.version, (int64_t)time(NULL), &g)) ||
		     (r = charge_check(f, &who, &g))))
			return r;
		if ((r = get_indexed(rs, f, cur.product, cur.version, cancel, &old)) || (r = room_notes_code(rs, old, &code)))
			goto out;
		cp = &code;
	}
	if (fixed_in && *fixed_in && strcmp(fixed_in, cur.version)) {
		if ((!old && (r = room_get(rs, f, cur.product, cur.version, (int64_t)time(NULL), 0, &old))) ||
		    (r = room_get(rs, f, cur.product, fixed_in, (int64_t)time(NULL), 0, &fix)))
			goto out;
		/* what is unchanged, when the fix is not one, is the answer */
		if ((r = room_fix_check(f, &who, id, old, fix, &ok)))
			goto out;
	}
	r = findings_set_state(f, cp, &who, id, state, fixed_in, ok, comment, (int64_t)time(NULL));
out:
	if (old)
		room_put(rs, old);
	if (fix)
		room_put(rs, fix);
	return r;
}

/* ---- the build result on the wire ---- */

int console_build_json(const struct build_result *res, struct buf *out)
{
	json_t *o = json_object(), *outs = json_array();
	char *s;
	int r;
	for (size_t i = 0; i < res->n_outputs; i++) {
		char hx[65];
		hex_encode(hx, res->outputs[i].sha256, 32);
		json_array_append_new(outs, json_pack("{s:s,s:s,s:I}", "path", res->outputs[i].path, "sha256", hx, "size",
						      (json_int_t)res->outputs[i].size));
	}
	json_object_set_new(o, "id", json_integer(res->id));
	json_object_set_new(o, "invocation", json_string(res->invocation));
	json_object_set_new(o, "reproducible", json_boolean(res->reproducible));
	json_object_set_new(o, "varies", json_integer(res->varies));
	json_object_set_new(o, "runs", json_integer(res->runs));
	json_object_set_new(o, "outputs", outs);
	json_object_set_new(o, "env_digest", json_string(res->env_digest));
	json_object_set_new(o, "tree_sha256", json_string(res->tree_sha256));
	json_object_set_new(o, "log_index", json_integer((json_int_t)res->log_index));
	if (res->differs)
		json_object_set_new(o, "differs", json_string(res->differs));
	if (res->envelope)
		json_object_set_new(o, "envelope", json_string(res->envelope));
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (!s)
		return err_set(ERR_PARSE, "console: a build result could not be encoded");
	r = buf_addstr(out, s);
	free(s);
	return r;
}

static int hex64(const char *s)
{
	if (!s || strlen(s) != 64)
		return 0;
	for (int i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

int console_build_parse(const char *json, size_t len, struct build_result **out)
{
	struct build_result *res;
	json_error_t je;
	json_t *o = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je), *outs, *x;
	const char *inv, *env, *tree, *differs = NULL, *envelope = NULL;
	json_int_t id, varies, runs, li;
	int repro;
	size_t i;
	*out = NULL;
	if (!o || json_unpack_ex(o, &je, JSON_STRICT, "{s:I,s:s,s:b,s:I,s:I,s:o,s:s,s:s,s:I,s?s,s?s}", "id", &id,
				 "invocation", &inv, "reproducible", &repro, "varies", &varies, "runs", &runs, "outputs",
				 &outs, "env_digest", &env, "tree_sha256", &tree, "log_index", &li, "differs", &differs,
				 "envelope", &envelope) ||
	    !json_is_array(outs) || strlen(inv) > 32 || !hex64(env) || !hex64(tree) || varies < 0 ||
	    varies >= (1 << BUILD_N_VARS) || runs < 0 || runs > 64 || li < 0 || json_array_size(outs) > RECIPE_MAX_OUTPUTS) {
		json_decref(o);
		return err_set(ERR_PARSE, "console: malformed build result");
	}
	res = xcalloc(1, sizeof(*res));
	res->id = id;
	snprintf(res->invocation, sizeof(res->invocation), "%s", inv);
	res->reproducible = repro;
	res->varies = (unsigned)varies;
	res->runs = (unsigned)runs;
	memcpy(res->env_digest, env, 65);
	memcpy(res->tree_sha256, tree, 65);
	res->log_index = (uint64_t)li;
	res->differs = differs ? xstrdup(differs) : NULL;
	res->envelope = envelope ? xstrdup(envelope) : NULL;
	res->n_outputs = json_array_size(outs);
	res->outputs = xcalloc(res->n_outputs ? res->n_outputs : 1, sizeof(*res->outputs));
	json_array_foreach(outs, i, x)
	{
		const char *path, *hx;
		json_int_t size;
		if (json_unpack(x, "{s:s,s:s,s:I}", "path", &path, "sha256", &hx, "size", &size) || !hex64(hx) || size < 0 ||
		    hex_decode(res->outputs[i].sha256, 32, hx, 64)) {
			res->n_outputs = i;
			build_result_free(res);
			json_decref(o);
			return err_set(ERR_PARSE, "console: malformed build result");
		}
		res->outputs[i].path = xstrdup(path);
		res->outputs[i].size = (uint64_t)size;
	}
	json_decref(o);
	*out = res;
	return 0;
}

/* ---- the room's side ---- */

struct frames {
	void (*frame)(void *ctx, const char *p, size_t len);
	void *ctx;
};

static void build_progress(void *ctx, const struct build_progress *p)
{
	struct frames *fr = ctx;
	char line[256];
	int n = snprintf(line, sizeof(line),
			 "{\"run\":%u,\"n_runs\":%u,\"phase\":\"%s\",\"seconds\":%.1f,\"lines\":%" PRIu64 "}", p->run,
			 p->n_runs, p->phase, p->seconds, p->lines);
	if (n > 0 && (size_t)n < sizeof(line))
		fr->frame(fr->ctx, line, (size_t)n);
}

/* "local:NAME" as the command said it, or the console's own name. */
static void console_actor(const char *said, char *out, size_t cap)
{
	if (said && !strncmp(said, "local:", 6) && strlen(said) < cap && !auth_name_check("user", said + 6))
		snprintf(out, cap, "%s", said);
	else
		snprintf(out, cap, "local:operator");
}

void console_request_release(struct console_request *q)
{
	json_decref(q->json);
	memset(q, 0, sizeof(*q));
}

int console_request_parse(const char *req, size_t len, struct console_request *q)
{
	const char *op = NULL, *ref = NULL, *said = NULL;
	json_int_t id = 0;
	json_error_t je;
	memset(q, 0, sizeof(*q));
	q->json = json_loadb(req, len, JSON_REJECT_DUPLICATES, &je);
	if (!q->json ||
	    json_unpack_ex(q->json, &je, JSON_STRICT, "{s:s,s?s,s?s,s?s,s?s,s?I,s?s,s?s,s?s}", "op", &op, "release", &ref,
			   "as", &q->as, "recipe", &q->recipe, "actor", &said, "id", &id, "state", &q->state, "fixed_in",
			   &q->fixed_in, "comment", &q->comment))
		goto bad;
	if (!strcmp(op, "build") && ref && !q->as && !q->state && !id && !q->fixed_in && !q->comment)
		q->op = CONSOLE_BUILD;
	else if (!strcmp(op, "import") && ref && q->as && !q->recipe && !said && !q->state && !id && !q->fixed_in &&
		 !q->comment)
		q->op = CONSOLE_IMPORT;
	else if (!strcmp(op, "state") && !ref && q->as && q->state && id > 0 && !q->recipe && !said)
		q->op = CONSOLE_STATE;
	else
		goto bad;
	if (ref && release_parse_ref(ref, q->product, q->version))
		goto bad;
	q->id = (int64_t)id;
	console_actor(said, q->actor, sizeof(q->actor));
	return 0;
bad:
	console_request_release(q);
	return err_set(ERR_PARSE, "console: malformed request");
}

int console_serve(void *rooms, struct facility *f, const char *req, size_t req_len, const char *body, size_t body_len,
		  void (*frame)(void *ctx, const char *p, size_t len), void *frame_ctx, const volatile int *cancel,
		  struct buf *out)
{
	struct rooms *rs = rooms;
	struct console_request q;
	int r;
	if ((r = console_request_parse(req, req_len, &q)))
		return r;
	if (q.op == CONSOLE_BUILD) {
		struct build_opts bo = {0};
		struct build_result *res = NULL;
		struct frames fr = {frame, frame_ctx};
		bo.product = q.product;
		bo.version = q.version;
		bo.keys = rooms_keyring(rs);
		bo.recipe_path = q.recipe;
		bo.actor = q.actor;
		bo.verbose_fd = -1;
		bo.hide_output = 1;
		bo.cancel = cancel;
		bo.progress = build_progress;
		bo.progress_ctx = &fr;
		if (!(r = build_release(f, &bo, &res)))
			r = console_build_json(res, out);
		build_result_free(res);
	} else if (q.op == CONSOLE_IMPORT) {
		struct buf report;
		size_t filed = 0;
		json_t *a;
		char *s;
		buf_init(&report, KEYRING_CONSOLE_ANSWER_MAX);
		r = console_findings_import(rs, f, q.product, q.version, q.as, body, body_len, cancel, &report, &filed);
		if (!r || (r == ERR_DENIED && report.len)) {
			/* the refusals go back whole (one line each), and why nothing was stored */
			a = json_pack("{s:I,s:s%}", "filed", (json_int_t)filed, "refusals", report.p ? report.p : "",
				      report.len);
			if (a && r)
				json_object_set_new(a, "error", json_string(err_msg()));
			s = a ? json_dumps(a, JSON_COMPACT) : NULL;
			r = s ? buf_addstr(out, s) : err_set(ERR_PARSE, "console: the answer could not be encoded");
			free(s);
			json_decref(a);
		}
		buf_release(&report);
	} else {
		struct session_info who;
		/* the vendor is not at the facility: a comment said in its name here would be
		 * checked against the code for whoever holds the socket, charged to no grant */
		if (q.comment && *q.comment && !(r = console_who(f, q.as, &who)) && !strcmp(who.role, "vendor"))
			r = err_set(ERR_DENIED, "finding %" PRId64 ": a comment as '%s' (the vendor) is not checked "
						"against the code in the room: the vendor comments on the room's pages or "
						"with --vendor-key",
				    q.id, q.as);
		if (!r)
			r = console_findings_state(rs, f, q.id, q.state, q.as, q.fixed_in, q.comment, cancel);
		if (!r)
			r = buf_addstr(out, "{}");
	}
	console_request_release(&q);
	return r;
}

/* ---- the command's side ---- */

struct progress_frames {
	void (*progress)(void *ctx, const struct build_progress *p);
	void *ctx;
};

static void progress_frame(void *ctx, const char *p, size_t len)
{
	struct progress_frames *pf = ctx;
	static const char *const phases[] = {"extracting", "building", "collecting", "done", "failed"};
	struct build_progress bp = {0};
	json_t *o = json_loadb(p, len, 0, NULL);
	json_int_t run, n_runs, lines;
	const char *phase;
	double seconds;
	if (o && pf->progress &&
	    !json_unpack(o, "{s:I,s:I,s:s,s:F,s:I}", "run", &run, "n_runs", &n_runs, "phase", &phase, "seconds", &seconds,
			 "lines", &lines) &&
	    run >= 0 && run <= 64 && n_runs >= 0 && n_runs <= 64 && lines >= 0) {
		for (size_t i = 0; i < sizeof(phases) / sizeof(phases[0]); i++)
			if (!strcmp(phase, phases[i]))
				bp.phase = phases[i];
		bp.run = (unsigned)run;
		bp.n_runs = (unsigned)n_runs;
		bp.seconds = seconds;
		bp.lines = (uint64_t)lines;
		if (bp.phase)
			pf->progress(pf->ctx, &bp);
	}
	json_decref(o);
}

/* Send request o (consumed) with body to the room; its answer to out. */
static int send_request(struct facility *f, json_t *o, const void *body, size_t len,
			void (*frame)(void *ctx, const char *p, size_t len), void *ctx, struct buf *out)
{
	char *req = o ? json_dumps(o, JSON_COMPACT) : NULL;
	int r;
	json_decref(o);
	if (!req)
		return err_set(ERR_PARSE, "console: the request could not be encoded (a name that is not UTF-8?)");
	r = keyring_send_console(f, NULL, req, body, len, frame, ctx, out);
	free(req);
	return r;
}

int console_send_build(struct facility *f, const char *product, const char *version, const char *recipe,
		       const char *actor, void (*progress)(void *ctx, const struct build_progress *p), void *ctx,
		       struct build_result **out)
{
	struct progress_frames pf = {progress, ctx};
	char ref[2 * RELEASE_NAME_MAX + 2];
	json_t *o;
	struct buf ans;
	int r;
	*out = NULL;
	snprintf(ref, sizeof(ref), "%s@%s", product, version);
	o = json_pack("{s:s,s:s,s:s}", "op", "build", "release", ref, "actor", actor);
	if (o && recipe)
		json_object_set_new(o, "recipe", json_string(recipe));
	buf_init(&ans, KEYRING_CONSOLE_ANSWER_MAX);
	if (!(r = send_request(f, o, NULL, 0, progress_frame, &pf, &ans)))
		r = console_build_parse(ans.p, ans.len, out);
	buf_release(&ans);
	return r;
}

int console_send_import(struct facility *f, const char *product, const char *version, const char *as,
			const char *sarif, size_t len, struct buf *report, size_t *filed)
{
	char ref[2 * RELEASE_NAME_MAX + 2];
	const char *refusals = NULL, *error = NULL;
	json_int_t n = 0;
	json_t *a;
	struct buf ans;
	int r;
	*filed = 0;
	snprintf(ref, sizeof(ref), "%s@%s", product, version);
	buf_init(&ans, KEYRING_CONSOLE_ANSWER_MAX);
	if ((r = send_request(f, json_pack("{s:s,s:s,s:s}", "op", "import", "release", ref, "as", as), sarif, len, NULL,
			      NULL, &ans)))
		goto out;
	a = json_loadb(ans.p, ans.len, 0, NULL);
	if (!a || json_unpack(a, "{s:I,s:s,s?s}", "filed", &n, "refusals", &refusals, "error", &error) || n < 0) {
		json_decref(a);
		r = err_set(ERR_PARSE, "console: malformed answer to an import");
		goto out;
	}
	*filed = (size_t)n;
	if (!(r = buf_addstr(report, refusals)) && error)
		r = err_set(ERR_DENIED, "%s", error);
	json_decref(a);
out:
	buf_release(&ans);
	return r;
}

int console_send_state(struct facility *f, int64_t id, const char *state, const char *as, const char *fixed_in,
		       const char *comment)
{
	json_t *o = json_pack("{s:s,s:I,s:s,s:s}", "op", "state", "id", (json_int_t)id, "state", state, "as", as);
	struct buf ans;
	int r;
	if (o && fixed_in)
		json_object_set_new(o, "fixed_in", json_string(fixed_in));
	if (o && comment)
		json_object_set_new(o, "comment", json_string(comment));
	buf_init(&ans, KEYRING_CONSOLE_ANSWER_MAX);
	r = send_request(f, o, NULL, 0, NULL, NULL, &ans);
	buf_release(&ans);
	return r;
}
