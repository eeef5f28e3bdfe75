/* home: the vendor's, the operator's and the lab lead's pages; see home.h. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "findings.h"
#include "home.h"
#include "notes.h"
#include "policy.h"
#include "quota.h"
#include "release.h"
#include "report.h"
#include "web.h"

const char *home_role(const struct session_info *who)
{
	if (!strcmp(who->role, "vendor"))
		return "vendor";
	if (!strcmp(who->role, "operator"))
		return "operator";
	if (!strcmp(who->role, "auditor") && !strcmp(who->org_kind, "lab"))
		return "lab";
	return NULL;
}

const char *home_path(const struct session_info *who)
{
	const char *r = home_role(who);
	return !r ? "/releases" : !strcmp(r, "vendor") ? "/vendor" : !strcmp(r, "operator") ? "/operator" : "/lab";
}

static int is(const struct home_ctx *c, const char *role)
{
	const char *r = home_role(c->who);
	return r && !strcmp(r, role);
}

static int esc(struct buf *b, const char *s)
{
	return render_escape(b, s, strlen(s));
}

/* s as one shell word (single-quoted unless it is plain), HTML-escaped, into b. */
static int shell_word(struct buf *b, const char *s)
{
	struct buf w;
	int r;
	if (*s && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789@%+=:,./_-") == strlen(s))
		return esc(b, s);
	buf_init(&w, 0);
	r = buf_addch(&w, '\'');
	for (const char *p = s; !r && *p; p++)
		r = *p == '\'' ? buf_addstr(&w, "'\\''") : buf_addch(&w, *p);
	if (!r && !(r = buf_addch(&w, '\'')))
		r = render_escape(b, w.p, w.len);
	buf_release(&w);
	return r;
}

static int ref_html(struct buf *b, const char *product, const char *version)
{
	return esc(b, product) || buf_addch(b, '@') || esc(b, version) ? ERR_TOOBIG : 0;
}

static int ref_word(struct buf *b, const char *product, const char *version)
{
	char ref[2 * RELEASE_NAME_MAX + 2];
	snprintf(ref, sizeof(ref), "%s@%s", product, version);
	return shell_word(b, ref);
}

/* ---- the releases a page covers ---- */

struct rel {
	char product[RELEASE_NAME_MAX + 1], version[RELEASE_NAME_MAX + 1];
	char state[16];
	int64_t sealed_at;
	size_t order; /* catalogue order */
};

struct rels {
	struct rel *v;
	size_t n, cap;
};

static int rel_one(void *ctx, const struct release_info *ri)
{
	struct rels *l = ctx;
	if (l->n == l->cap)
		l->v = xrealloc(l->v, (l->cap = l->cap ? 2 * l->cap : 16) * sizeof(*l->v));
	snprintf(l->v[l->n].product, sizeof(l->v[l->n].product), "%s", ri->product);
	snprintf(l->v[l->n].version, sizeof(l->v[l->n].version), "%s", ri->version);
	snprintf(l->v[l->n].state, sizeof(l->v[l->n].state), "%s", ri->state);
	l->v[l->n].sealed_at = ri->sealed_at;
	l->v[l->n].order = l->n;
	l->n++;
	return 0;
}

/* The release of the same product sealed last before rs->v[i] (ties: catalogue order), or NULL. */
static const struct rel *before(const struct rels *rs, size_t i)
{
	const struct rel *self = &rs->v[i], *best = NULL;
	for (size_t j = 0; j < rs->n; j++) {
		const struct rel *o = &rs->v[j];
		if (j == i || strcmp(o->product, self->product) ||
		    !(o->sealed_at < self->sealed_at || (o->sealed_at == self->sealed_at && o->order < self->order)))
			continue;
		if (!best || o->sealed_at > best->sealed_at || (o->sealed_at == best->sealed_at && o->order > best->order))
			best = o;
	}
	return best;
}

/* Is lab named in a nomination of product@version? */
struct lab_find {
	const char *lab;
	int found;
};

static int lab_nom(void *ctx, const struct nomination_info *n)
{
	struct lab_find *l = ctx;
	if (!strcmp(n->lab, l->lab))
		l->found = 1;
	return 0;
}

static int lab_on(const struct home_ctx *c, const char *product, const char *version, int *on)
{
	struct lab_find l = {c->who->org, 0};
	int r = policy_nominations_each(c->f, product, version, lab_nom, &l);
	*on = l.found;
	return r;
}

/* Every release (the vendor, the operator), or those the lab lead's lab is nominated on. */
static int releases_of(const struct home_ctx *c, struct rels *out)
{
	struct rels all = {0};
	int r = release_each(c->f, rel_one, &all);
	memset(out, 0, sizeof(*out));
	if (r || !is(c, "lab")) {
		*out = all;
		return r;
	}
	for (size_t i = 0; !r && i < all.n; i++) {
		int on = 0;
		if (!(r = lab_on(c, all.v[i].product, all.v[i].version, &on)) && on) {
			struct release_info ri = {0};
			snprintf(ri.product, sizeof(ri.product), "%s", all.v[i].product);
			snprintf(ri.version, sizeof(ri.version), "%s", all.v[i].version);
			snprintf(ri.state, sizeof(ri.state), "%s", all.v[i].state);
			ri.sealed_at = all.v[i].sealed_at;
			r = rel_one(out, &ri);
		}
	}
	free(all.v);
	return r;
}

/* A release's state worth saying: halted, shredded (not "sealed", its ordinary state). */
static int shown_state(const char *state)
{
	return *state && strcmp(state, "sealed");
}

/* ---- exposure (report.h) ---- */

static int exposure_of(const struct home_ctx *c, const char *product, const char *version, const char *lab,
		       json_t **out)
{
	struct report *rep = report_new(product, version, lab);
	struct buf js;
	json_error_t jerr;
	int r;
	*out = NULL;
	buf_init(&js, 0);
	if (!(r = report_from_log(rep, c->log)) && !(r = report_json(rep, &js)) &&
	    !(*out = json_loadb(js.p, js.len, 0, &jerr)))
		r = err_set(ERR_CORRUPT, "exposure: the report is not JSON");
	report_free(rep);
	buf_release(&js);
	return r;
}

static const char *jstr(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

static int64_t jint(json_t *o, const char *k)
{
	return (int64_t)json_integer_value(json_object_get(o, k));
}

/* The exposure table of one release: a row per lab and reviewer, the report's numbers. */
static int exposure_table(const struct home_ctx *c, struct buf *b, const char *product, const char *version,
			  const char *lab, const char *base, const char *since)
{
	json_t *rep = NULL, *labs, *l, *rv;
	const char *ln, *login;
	int r = exposure_of(c, product, version, lab, &rep);
	if (r == ERR_NOTFOUND)
		return buf_addstr(b, "<p class=\"note\">no checkpoint of the log has been signed yet</p>");
	if (r)
		return r;
	labs = json_object_get(rep, "labs");
	if ((r = buf_addf(b, "<p class=\"meta\">at checkpoint %" PRId64 " (",
			  jint(json_object_get(rep, "checkpoint"), "size"))) ||
	    (r = esc(b, jstr(json_object_get(rep, "checkpoint"), "origin"))) ||
	    (r = buf_addstr(b, ") \xc2\xb7 <a class=\"exposure\" href=\"")) || (r = buf_addstr(b, base)) ||
	    (r = web_url(b, product)) || (r = buf_addch(b, '@')) || (r = web_url(b, version)) ||
	    (r = buf_addstr(b, "\">full report, treemap and heat</a> \xc2\xb7 <a href=\"")) || (r = buf_addstr(b, base)) ||
	    (r = web_url(b, product)) || (r = buf_addch(b, '@')) || (r = web_url(b, version)) ||
	    (r = buf_addstr(b, "?format=json\">JSON</a>")))
		goto out;
	if (since && ((r = buf_addstr(b, " \xc2\xb7 <a class=\"since\" href=\"")) || (r = buf_addstr(b, base)) ||
		      (r = web_url(b, product)) || (r = buf_addch(b, '@')) || (r = web_url(b, version)) ||
		      (r = buf_addstr(b, "?since=")) || (r = web_url(b, since)) ||
		      (r = buf_addstr(b, "\">the lines changed since ")) || (r = esc(b, since)) || (r = buf_addstr(b, "</a>"))))
		goto out;
	if ((r = buf_addstr(b, "</p>")))
		goto out;
	if (!json_object_size(labs)) {
		r = buf_addstr(b, "<p class=\"note\">nothing of this release has been shown</p>");
		goto out;
	}
	if ((r = buf_addstr(b, "<table class=\"exposure\"><thead><tr><th>lab</th><th>reviewer</th><th>files</th>"
			       "<th>lines</th><th>views</th><th>searches</th><th>search lines</th><th>diff lines</th>"
			       "<th>prints</th><th>notes refused</th><th>quota events</th><th>findings</th><th>alerts</th><th>holds</th>"
			       "</tr></thead><tbody>")))
		goto out;
	json_object_foreach(labs, ln, l) {
		if ((r = buf_addstr(b, "<tr class=\"lab\"><td>")) || (r = esc(b, ln)) ||
		    (r = buf_addf(b, "</td><td>(lab)</td><td>%" PRId64 " (", jint(l, "files_shown"))) ||
		    (r = esc(b, jstr(l, "share_of_files"))) ||
		    (r = buf_addf(b, " of the tree)</td><td>%" PRId64 "</td><td colspan=\"6\"></td><td>%" PRId64
				  "</td><td colspan=\"3\"></td></tr>",
				  jint(l, "lines_shown"), jint(l, "quota_events"))))
			goto out;
		json_object_foreach(json_object_get(l, "reviewers"), login, rv) {
			if ((r = buf_addstr(b, "<tr><td></td><td>")) || (r = esc(b, login)) ||
			    (r = buf_addf(b, "</td><td>%" PRId64 "</td><td>%" PRId64 "</td><td>%" PRId64 "</td><td>%zu</td>"
					     "<td>%" PRId64 "</td><td>%" PRId64 "</td><td>%zu</td><td>%" PRId64 "</td>"
					     "<td class=\"%s\">%" PRId64 "</td><td>%" PRId64 "</td><td class=\"%s\">%" PRId64
					     "</td><td class=\"%s\">%" PRId64 "</td></tr>",
					  jint(rv, "files_shown"), jint(rv, "lines_shown"), jint(rv, "views"),
					  json_array_size(json_object_get(rv, "searches")), jint(rv, "search_lines"),
					  jint(rv, "diff_lines"), json_array_size(json_object_get(rv, "prints")),
					  jint(rv, "notes_refused"), jint(rv, "quota_events") ? "alert" : "",
					  jint(rv, "quota_events"), jint(rv, "findings"), jint(rv, "alerts") ? "alert" : "",
					  jint(rv, "alerts"), jint(rv, "holds") ? "alert" : "", jint(rv, "holds"))))
				goto out;
		}
	}
	r = buf_addstr(b, "</tbody></table>");
out:
	json_decref(rep);
	return r;
}

int home_exposure_allowed(const struct home_ctx *c, const char *product, const char *version)
{
	int on = 0, r;
	if (is(c, "vendor"))
		return 0;
	if (!is(c, "lab"))
		return ERR_NOTFOUND;
	if ((r = lab_on(c, product, version, &on)))
		return r;
	return on ? 0 : ERR_NOTFOUND;
}

int home_exposure(const struct home_ctx *c, const char *product, const char *version, int json,
		  const struct report_changes *changes, struct buf *out)
{
	struct report *rep;
	int r;
	if ((r = home_exposure_allowed(c, product, version)))
		return r;
	rep = report_new(product, version, is(c, "lab") ? c->who->org : NULL);
	if (changes)
		report_restrict(rep, changes);
	if (!(r = report_from_log(rep, c->log)) && !(r = json ? report_json(rep, out) : report_html_body(rep, out)) && json)
		r = buf_addch(out, '\n');
	report_free(rep);
	return r;
}

/* ---- findings (findings.h) ---- */

struct flist {
	const struct home_ctx *c;
	struct buf *b;
	struct render_ctx rc;
	int n, open, err;
};

static int finding_li(void *ctx, const struct finding_info *fi)
{
	struct flist *l = ctx;
	struct buf *b = l->b;
	int r;
	l->n++;
	if (!strcmp(fi->state, "open") || !strcmp(fi->state, "acknowledged"))
		l->open++;
	if ((r = buf_addf(b, "<li class=\"finding %s\" id=\"finding-%lld\"><span class=\"meta\"><a href=\"/r/",
			  fi->severity, (long long)fi->id)) ||
	    (r = web_url(b, fi->product)) || (r = buf_addch(b, '@')) || (r = web_url(b, fi->version)) ||
	    (r = buf_addf(b, "/findings/%lld\">#%lld</a> <b class=\"sev\">", (long long)fi->id, (long long)fi->id)) ||
	    (r = esc(b, fi->severity)) || (r = buf_addstr(b, "</b> <span class=\"state\">")) || (r = esc(b, fi->state)) ||
	    (*fi->fixed_in && ((r = buf_addstr(b, " in ")) || (r = esc(b, fi->fixed_in)))) ||
	    (r = buf_addstr(b, "</span> \xc2\xb7 ")) || (r = esc(b, fi->lab)) || (r = buf_addstr(b, " \xc2\xb7 ")) ||
	    (r = esc(b, fi->author)) || (r = buf_addstr(b, " \xc2\xb7 ")) || (r = esc(b, fi->path)) ||
	    (r = buf_addf(b, ":%llu-%llu", (unsigned long long)fi->line_from, (unsigned long long)fi->line_to)) ||
	    (fi->cwe && (r = buf_addf(b, " \xc2\xb7 CWE-%d", fi->cwe))) || (r = buf_addstr(b, "</span>")))
		return l->err = r;
	l->rc.product = fi->product;
	l->rc.version = fi->version;
	if ((r = render_prose(&l->rc, fi->title, strlen(fi->title), b)) || (r = buf_addstr(b, "</li>")))
		return l->err = r;
	return 0;
}

static struct render_ctx prose_ctx(const struct home_ctx *c, const char *product, const char *version)
{
	struct render_ctx rc;
	memset(&rc, 0, sizeof(rc));
	rc.f = c->f;
	rc.log = c->log;
	rc.hooks = c->hooks;
	rc.who = c->who;
	rc.product = product;
	rc.version = version;
	rc.now = c->now;
	return rc;
}

static int findings_list(const struct home_ctx *c, struct buf *b, const char *product, const char *version)
{
	struct flist l = {c, b, prose_ctx(c, product, version), 0, 0, 0};
	int r;
	if ((r = buf_addstr(b, "<ul class=\"findings\">")) ||
	    (r = findings_each(c->f, c->who, product, version, NULL, finding_li, &l)) || (r = l.err) ||
	    (r = buf_addstr(b, "</ul>")))
		return r;
	if (!l.n)
		return buf_addstr(b, "<p class=\"note\">no findings</p>");
	return buf_addf(b, "<p class=\"meta\">%d findings, %d open or acknowledged</p>", l.n, l.open);
}

/* ---- the engagement (policy.h) ---- */

struct engage {
	const struct home_ctx *c;
	struct buf *b;
	const char *product, *version;
	int waiting; /* rows of decisions written */
	int err;
};

/* " --seal P-V.seal --vendor-key VENDOR.key --out NAME.decision": the tail of a vendor's
 * `vendor sign`, then how the file reaches the room. */
static int sign_tail(struct buf *b, const char *product, const char *version, const char *name)
{
	char seal[2 * RELEASE_NAME_MAX + 8];
	snprintf(seal, sizeof(seal), "%s-%s.seal", product, version);
	return buf_addstr(b, " --seal ") || shell_word(b, seal) ||
		       buf_addstr(b, " --vendor-key VENDOR.key --out ") || shell_word(b, name) ||
		       buf_addstr(b, "</pre><span class=\"note\">on the vendor's machine (the seal is BUNDLE/seal of "
				     "<code>seal --out</code>); the operator applies the file: <code>sealroom apply ") ||
		       shell_word(b, name) || buf_addstr(b, " --as OPERATOR</code> or the operator's page</span>")
		   ? ERR_TOOBIG
		   : 0;
}

/* The vendor's or the operator's decisions on one nomination. */
static int nom_waiting(void *ctx, const struct nomination_info *n)
{
	struct engage *e = ctx;
	struct buf *b = e->b;
	int vendor = is(e->c, "vendor");
	char ends[32], name[AUTH_LOGIN_MAX + 32];
	int r;
	if (strcmp(n->state, "pending") || (!vendor && e->c->now < n->window_ends))
		return 0;
	policy_format_time(n->window_ends, ends, sizeof(ends));
	if ((r = buf_addstr(b, "<li class=\"decision\"><b>nomination</b> of ")) || (r = esc(b, n->reviewer)) ||
	    (r = buf_addstr(b, " (")) || (r = esc(b, n->lab)) || (r = buf_addstr(b, ") for ")) ||
	    (r = ref_html(b, e->product, e->version)) ||
	    (r = buf_addf(b, vendor ? ", objections until %s" : ", the objection window ended %s", ends)))
		return e->err = r;
	if (vendor) {
		/* the vendor approves with the grant's terms, or objects: a signed file each */
		snprintf(name, sizeof(name), "approve-%s.decision", n->reviewer);
		if ((r = buf_addstr(b, "<pre class=\"cmd\">sealroom vendor sign approve ")) ||
		    (r = ref_word(b, e->product, e->version)) || (r = buf_addstr(b, " --reviewer ")) ||
		    (r = shell_word(b, n->reviewer)) || (r = buf_addstr(b, " --from DATE --until DATE")) ||
		    (r = sign_tail(b, e->product, e->version, name)))
			return e->err = r;
		snprintf(name, sizeof(name), "object-%s.decision", n->reviewer);
		if ((r = buf_addstr(b, "<pre class=\"cmd\">sealroom vendor sign object ")) ||
		    (r = ref_word(b, e->product, e->version)) || (r = buf_addstr(b, " --reviewer ")) ||
		    (r = shell_word(b, n->reviewer)) || (r = buf_addstr(b, " --reason TEXT")) ||
		    (r = sign_tail(b, e->product, e->version, name)))
			return e->err = r;
	} else if ((r = buf_addstr(b, "<pre class=\"cmd\">sealroom approve ")) || (r = ref_word(b, e->product, e->version)) ||
		   (r = buf_addstr(b, " --reviewer ")) || (r = shell_word(b, n->reviewer)) ||
		   (r = buf_addstr(b, " --as ")) || (r = shell_word(b, e->c->who->login)) || (r = buf_addstr(b, "</pre>"))) {
		return e->err = r;
	}
	if ((r = buf_addstr(b, "</li>")))
		return e->err = r;
	e->waiting++;
	return 0;
}

/* " --quota name=value" for a limit (-1: unlimited). */
static int quota_word(struct buf *b, const char *name, int64_t v)
{
	return v < 0 ? buf_addf(b, " --quota %s=unlimited", name) : buf_addf(b, " --quota %s=%" PRId64, name, v);
}

/* A grant proposed by the other side, waiting for who: the vendor signs its exact terms. */
static int grant_waiting(void *ctx, const struct grant_info *g)
{
	struct engage *e = ctx;
	struct buf *b = e->b;
	int vendor = is(e->c, "vendor");
	char from[32], until[32], days[32], name[64];
	json_error_t jerr;
	json_t *q, *v;
	const char *k;
	int r;
	if (strcmp(g->state, "proposed") || *(vendor ? g->vendor_by : g->operator_by))
		return 0;
	policy_format_time(g->valid_from, from, sizeof(from));
	policy_format_time(g->valid_until, until, sizeof(until));
	policy_format_days(g->days, days, sizeof(days));
	if ((r = buf_addf(b, "<li class=\"decision\"><b>grant %lld</b> proposed by ", (long long)g->id)) ||
	    (r = esc(b, vendor ? g->operator_by : g->vendor_by)) || (r = buf_addstr(b, " for ")) ||
	    (r = esc(b, g->reviewer)) || (r = buf_addstr(b, " on ")) || (r = ref_html(b, e->product, e->version)) ||
	    (r = buf_addf(b, ": %s .. %s, %s, %02d-%02d UTC, lines %" PRId64 " a day, %" PRId64 " in all, prints %" PRId64
			     ", quotas ",
			  from, until, days, g->hour_from, g->hour_until, g->lines_per_day, g->lines_total, g->prints)) ||
	    (r = esc(b, g->quotas)))
		return e->err = r;
	if (!vendor) {
		if ((r = buf_addstr(b, "<pre class=\"cmd\">sealroom approve ")) || (r = ref_word(b, e->product, e->version)) ||
		    (r = buf_addstr(b, " --reviewer ")) || (r = shell_word(b, g->reviewer)) || (r = buf_addstr(b, " --as ")) ||
		    (r = shell_word(b, e->c->who->login)) || (r = buf_addstr(b, "</pre></li>")))
			return e->err = r;
		e->waiting++;
		return 0;
	}
	/* the vendor's approval of exactly these terms */
	if ((r = buf_addstr(b, "<pre class=\"cmd\">sealroom vendor sign approve ")) ||
	    (r = ref_word(b, e->product, e->version)) || (r = buf_addstr(b, " --reviewer ")) ||
	    (r = shell_word(b, g->reviewer)) ||
	    (r = buf_addf(b, " --from @%" PRId64 " --until @%" PRId64 " --days %s --hours %02d-%02d", g->valid_from,
			  g->valid_until, days, g->hour_from, g->hour_until)) ||
	    (r = quota_word(b, "lines_per_day", g->lines_per_day)) || (r = quota_word(b, "lines_total", g->lines_total)) ||
	    (r = quota_word(b, "prints", g->prints)))
		return e->err = r;
	if ((q = json_loads(g->quotas, 0, &jerr))) {
		json_object_foreach(q, k, v) {
			if (!r && json_is_integer(v) && strspn(k, "abcdefghijklmnopqrstuvwxyz_") == strlen(k))
				r = quota_word(b, k, (int64_t)json_integer_value(v));
		}
		json_decref(q);
		if (r)
			return e->err = r;
	}
	snprintf(name, sizeof(name), "grant-%lld.decision", (long long)g->id);
	if ((r = sign_tail(b, e->product, e->version, name)) || (r = buf_addstr(b, "</li>")))
		return e->err = r;
	e->waiting++;
	return 0;
}

static int grant_tr(void *ctx, const struct grant_info *g)
{
	struct engage *e = ctx;
	struct buf *b = e->b;
	char from[32], until[32], days[32];
	int r;
	policy_format_time(g->valid_from, from, sizeof(from));
	policy_format_time(g->valid_until, until, sizeof(until));
	policy_format_days(g->days, days, sizeof(days));
	if ((r = buf_addf(b, "<tr><td>grant %lld</td><td>", (long long)g->id)) || (r = esc(b, g->reviewer)) ||
	    (r = buf_addf(b, "</td><td class=\"state %s\">%s</td><td>vendor ", g->state, g->state)) ||
	    (r = esc(b, *g->vendor_by ? g->vendor_by : "-")) || (r = buf_addstr(b, " \xc2\xb7 operator ")) ||
	    (r = esc(b, *g->operator_by ? g->operator_by : "-")) ||
	    (r = buf_addf(b, "</td><td>%s .. %s, %s, %02d-%02d UTC; lines %" PRId64 "/day, %" PRId64 " total, prints %" PRId64
			     "; ",
			  from, until, days, g->hour_from, g->hour_until, g->lines_per_day, g->lines_total, g->prints)) ||
	    (r = esc(b, g->quotas)) || (r = buf_addstr(b, "</td></tr>")))
		return e->err = r;
	return 0;
}

static int nom_tr(void *ctx, const struct nomination_info *n)
{
	struct engage *e = ctx;
	struct buf *b = e->b;
	char at[32], ends[32];
	int r;
	policy_format_time(n->nominated_at, at, sizeof(at));
	policy_format_time(n->window_ends, ends, sizeof(ends));
	if ((r = buf_addstr(b, "<tr><td>nomination</td><td>")) || (r = esc(b, n->reviewer)) ||
	    (r = buf_addf(b, "</td><td class=\"state %s\">%s</td><td>", n->state, n->state)) || (r = esc(b, n->lab)) ||
	    (r = buf_addstr(b, ", by ")) || (r = esc(b, n->nominated_by)) ||
	    (*n->decided_by && ((r = buf_addstr(b, ", decided by ")) || (r = esc(b, n->decided_by)))) ||
	    (r = buf_addf(b, "</td><td>%s, objections until %s", at, ends)) ||
	    (*n->reason && ((r = buf_addstr(b, ": ")) || (r = esc(b, n->reason)))) || (r = buf_addstr(b, "</td></tr>")))
		return e->err = r;
	return 0;
}

/* ---- holds (quota.h) ---- */

struct holds {
	const struct home_ctx *c;
	struct buf *b;
	int n, err;
};

static int hold_li(void *ctx, const struct quota_hold *h)
{
	struct holds *l = ctx;
	struct buf *b = l->b;
	char when[32];
	int r;
	policy_format_time(h->held_at, when, sizeof(when));
	if ((r = buf_addstr(b, "<li class=\"hold\"><b>held</b> session <code>")) || (r = esc(b, h->session_id)) ||
	    (r = buf_addstr(b, "</code> of ")) || (r = esc(b, h->login)) ||
	    (*h->product && ((r = buf_addstr(b, " on ")) || (r = ref_html(b, h->product, h->version)))) ||
	    (r = buf_addf(b, " since %s: ", when)) || (r = esc(b, h->reason)))
		return l->err = r;
	if (is(l->c, "operator")) {
		if ((r = buf_addf(b, "<form class=\"resume\" method=\"post\" action=\"/operator/resume\"><input type=\"hidden\" "
				     "name=\"csrf\" value=\"%s\"><input type=\"hidden\" name=\"session\" value=\"",
				  l->c->csrf)) ||
		    (r = esc(b, h->session_id)) || (r = buf_addstr(b, "\"><button type=\"submit\">resume</button></form>")))
			return l->err = r;
	} else if ((r = buf_addstr(b, "<pre class=\"cmd\">sealroom session resume ")) ||
		   (r = shell_word(b, h->session_id)) || (r = buf_addstr(b, " --as ")) ||
		   (r = shell_word(b, l->c->who->login)) || (r = buf_addstr(b, "</pre>"))) {
		return l->err = r;
	}
	if ((r = buf_addstr(b, "</li>")))
		return l->err = r;
	l->n++;
	return 0;
}

static int holds_list(const struct home_ctx *c, struct buf *b, int *n)
{
	struct holds l = {c, b, 0, 0};
	int r = quota_holds_each(c->f, hold_li, &l);
	*n = l.n;
	return r ? r : l.err;
}

/* ---- the pages ---- */

/* The nominations and grants of every release of rs waiting for c's role to decide, as
 * list items appended to waiting. */
static int decisions_waiting(const struct home_ctx *c, const struct rels *rs, struct buf *waiting)
{
	int r = 0;
	for (size_t i = 0; i < rs->n && !r; i++) {
		struct engage e = {c, waiting, rs->v[i].product, rs->v[i].version, 0, 0};
		if (!(r = policy_nominations_each(c->f, e.product, e.version, nom_waiting, &e)) && !(r = e.err) &&
		    !(r = policy_grants_each(c->f, e.product, e.version, grant_waiting, &e)))
			r = e.err;
	}
	return r;
}

int home_vendor(const struct home_ctx *c, struct buf *b)
{
	struct rels rs = {0};
	struct buf waiting;
	int r, holds = 0;
	if (!is(c, "vendor"))
		return ERR_NOTFOUND;
	buf_init(&waiting, 0);
	if ((r = releases_of(c, &rs)))
		goto out;
	/* decisions first: they wait for the vendor's key, offline */
	r = decisions_waiting(c, &rs, &waiting);
	if (!r)
		r = holds_list(c, &waiting, &holds);
	if (r || (r = buf_addstr(b, "<div class=\"home vendor\"><h1>Vendor: ")) || (r = esc(b, c->who->org)) ||
	    (r = buf_addstr(b, "</h1><section id=\"decisions\"><h2>Decisions waiting for you</h2>"
			       "<p class=\"note\">Every vendor decision is a file signed with the vendor's key on "
			       "the vendor's own machine (<code>sealroom vendor sign</code>); the room never holds the key. "
			       "Run the command shown there, and give the file to the operator.</p>")))
		goto out;
	if ((r = waiting.len ? buf_addstr(b, "<ul class=\"decisions\">") || buf_add(b, waiting.p, waiting.len) ||
					buf_addstr(b, "</ul>")
			     : buf_addstr(b, "<p class=\"note\" id=\"no-decisions\">nothing waits for you</p>")) ||
	    (r = buf_addstr(b, "</section>")))
		goto out;
	for (size_t i = 0; i < rs.n && !r; i++) {
		const char *p = rs.v[i].product, *v = rs.v[i].version;
		const struct rel *prev = before(&rs, i);
		if ((r = buf_addstr(b, "<section class=\"release\"><h2>")) || (r = ref_html(b, p, v)) ||
		    (shown_state(rs.v[i].state) && ((r = buf_addstr(b, " <em>")) || (r = esc(b, rs.v[i].state)) ||
					(r = buf_addstr(b, "</em>")))) ||
		    (r = buf_addstr(b, "</h2><h3>exposure</h3>")) ||
		    (r = exposure_table(c, b, p, v, NULL, "/vendor/exposure/", prev ? prev->version : NULL)) ||
		    (r = buf_addstr(b, "<h3>findings (every lab's)</h3>")) || (r = findings_list(c, b, p, v)) ||
		    (r = buf_addstr(b, "</section>")))
			goto out;
	}
	if (!rs.n && (r = buf_addstr(b, "<p class=\"note\">no release is sealed in this room</p>")))
		goto out;
	r = buf_addstr(b, "</div>");
out:
	free(rs.v);
	buf_release(&waiting);
	return r;
}

static int witness_tr(void *ctx, const char *name, uint64_t size, int64_t at)
{
	struct buf *b = ctx;
	char when[32];
	policy_format_time(at, when, sizeof(when));
	return buf_addstr(b, "<tr><td>witness ") || esc(b, name) ||
		       buf_addf(b, "</td><td>cosigned up to size %" PRIu64 ", %s</td></tr>", size, when)
		   ? ERR_TOOBIG
		   : 0;
}

static int health(const struct home_ctx *c, struct buf *b, const struct rels *rs)
{
	struct logdb_health h;
	struct stat st;
	char when[32];
	int r, witnesses;
	size_t mark;
	if ((r = logdb_health(c->log, &h)))
		return r;
	if ((r = buf_addstr(b, "<section id=\"health\"><h2>Facility health</h2><table class=\"health\"><tbody>")))
		return r;
	for (size_t i = 0; i < rs->n; i++) {
		int64_t until = 0;
		int open = c->keys && !keyring_until(c->keys, rs->v[i].product, rs->v[i].version, c->now, &until);
		policy_format_time(until, when, sizeof(when));
		if ((r = buf_addstr(b, "<tr><td>unlock ")) || (r = ref_html(b, rs->v[i].product, rs->v[i].version)) ||
		    (r = open ? buf_addf(b, "</td><td class=\"open\">unlocked until %s</td></tr>", when)
			      : buf_addstr(b, "</td><td>locked</td></tr>")))
			return r;
	}
	policy_format_time(h.checkpoint_at, when, sizeof(when));
	if ((r = buf_addf(b, "<tr><td>log</td><td id=\"log-size\">%" PRIu64 " entries", h.entries)))
		return r;
	if (c->db_path && !stat(c->db_path, &st) && (r = buf_addf(b, "; database %lld bytes", (long long)st.st_size)))
		return r;
	if ((r = h.checkpoint_at
		     ? buf_addf(b, "</td></tr><tr><td>last checkpoint</td><td id=\"checkpoint\">size %" PRIu64
				   ", signed %s (%" PRId64 " s ago)%s</td></tr>",
				h.checkpoint_size, when, c->now - h.checkpoint_at,
				h.entries > h.checkpoint_size ? "; newer entries wait for the next one" : "")
		     : buf_addstr(b, "</td></tr><tr><td>last checkpoint</td><td id=\"checkpoint\">none signed yet</td></tr>")))
		return r;
	mark = b->len;
	if ((r = logdb_witnesses_each(c->log, witness_tr, b)))
		return r;
	witnesses = b->len != mark;
	if (!witnesses && (r = buf_addstr(b, "<tr><td>witnesses</td><td>no checkpoint has been cosigned</td></tr>")))
		return r;
	return buf_addstr(b, "</tbody></table></section>");
}

int home_operator(const struct home_ctx *c, struct buf *b)
{
	struct rels rs = {0};
	struct buf waiting;
	int r, holds = 0;
	if (!is(c, "operator"))
		return ERR_NOTFOUND;
	buf_init(&waiting, 0);
	if ((r = releases_of(c, &rs)))
		goto out;
	r = decisions_waiting(c, &rs, &waiting);
	if (r || (r = buf_addstr(b, "<div class=\"home operator\"><h1>Operator: ")) || (r = esc(b, c->who->org)) ||
	    (r = buf_addstr(b, "</h1><section id=\"decisions\"><h2>Decisions waiting for you</h2>")))
		goto out;
	if ((r = waiting.len ? buf_addstr(b, "<ul class=\"decisions\">") || buf_add(b, waiting.p, waiting.len) ||
					buf_addstr(b, "</ul>")
			     : buf_addstr(b, "<p class=\"note\" id=\"no-decisions\">nothing waits for you</p>")) ||
	    (r = buf_addf(b, "</section><section id=\"apply\"><h2>Apply a vendor's decision</h2><form class=\"apply\" "
			     "method=\"post\" action=\"/operator/apply\"><input type=\"hidden\" name=\"csrf\" value=\"%s\">"
			     "<textarea name=\"decision\" id=\"decision\" rows=\"8\" cols=\"90\" spellcheck=\"false\" "
			     "placeholder=\"the decision file the vendor signed (sealroom vendor sign), as it is\"></textarea>"
			     "<br><button type=\"submit\" id=\"apply-submit\">apply</button> <span class=\"note\">as "
			     "<code>sealroom apply FILE</code>: the vendor's signature, the release's seal and a nonce "
			     "used once are checked; the decision is logged</span></form>",
			  c->csrf)) ||
	    (r = buf_addstr(b, "</section><section id=\"holds\"><h2>Held sessions</h2><ul class=\"holds\">")) ||
	    (r = holds_list(c, b, &holds)) || (r = buf_addstr(b, "</ul>")) ||
	    (!holds && (r = buf_addstr(b, "<p class=\"note\" id=\"no-holds\">no session is held</p>"))) ||
	    (r = buf_addstr(b, "</section>")) || (r = health(c, b, &rs)) ||
	    (r = buf_addstr(b, "<section id=\"engagements\"><h2>Grants and nominations</h2>")))
		goto out;
	for (size_t i = 0; i < rs.n && !r; i++) {
		struct engage e = {c, b, rs.v[i].product, rs.v[i].version, 0, 0};
		if ((r = buf_addstr(b, "<h3>")) || (r = ref_html(b, e.product, e.version)) ||
		    (shown_state(rs.v[i].state) && ((r = buf_addstr(b, " <em>")) || (r = esc(b, rs.v[i].state)) ||
					(r = buf_addstr(b, "</em>")))) ||
		    (r = buf_addstr(b, "</h3><table class=\"engagement\"><tbody>")) ||
		    (r = policy_nominations_each(c->f, e.product, e.version, nom_tr, &e)) || (r = e.err) ||
		    (r = policy_grants_each(c->f, e.product, e.version, grant_tr, &e)) || (r = e.err) ||
		    (r = buf_addstr(b, "</tbody></table>")))
			goto out;
	}
	r = buf_addstr(b, "</section></div>");
out:
	free(rs.v);
	buf_release(&waiting);
	return r;
}

struct nlist {
	struct buf *b;
	struct render_ctx rc;
	int n, err;
};

static int note_li(void *ctx, const struct note_info *n)
{
	struct nlist *l = ctx;
	struct buf *b = l->b;
	char when[32];
	int r;
	policy_format_time(n->created_at, when, sizeof(when));
	if ((r = buf_addf(b, "<li class=\"note\" id=\"note-%lld\"><span class=\"meta\">", (long long)n->id)) ||
	    (r = esc(b, n->author)) || (r = buf_addf(b, " \xc2\xb7 %s", when)) ||
	    (n->path[0] && ((r = buf_addstr(b, " \xc2\xb7 ")) || (r = esc(b, n->path)))) ||
	    (n->line > 0 && (r = buf_addf(b, ":%lld", (long long)n->line))) || (r = buf_addstr(b, "</span>")) ||
	    (r = render_prose(&l->rc, n->text, strlen(n->text), b)) || (r = buf_addstr(b, "</li>")))
		return l->err = r;
	l->n++;
	return 0;
}

int home_lab(const struct home_ctx *c, struct buf *b)
{
	struct rels rs = {0};
	int r;
	if (!is(c, "lab"))
		return ERR_NOTFOUND;
	if ((r = releases_of(c, &rs)) || (r = buf_addstr(b, "<div class=\"home lab\"><h1>Lab: ")) ||
	    (r = esc(b, c->who->org)) || (r = buf_addstr(b, "</h1>")))
		goto out;
	for (size_t i = 0; i < rs.n && !r; i++) {
		const char *p = rs.v[i].product, *v = rs.v[i].version;
		const struct rel *prev = before(&rs, i);
		struct nlist nl = {b, prose_ctx(c, p, v), 0, 0};
		if ((r = buf_addstr(b, "<section class=\"release\"><h2>")) || (r = ref_html(b, p, v)) ||
		    (r = buf_addstr(b, "</h2><h3>coverage</h3>")) ||
		    (r = exposure_table(c, b, p, v, c->who->org, "/lab/exposure/", prev ? prev->version : NULL)) ||
		    (r = buf_addstr(b, "<h3>findings of the lab</h3>")) || (r = findings_list(c, b, p, v)) ||
		    (r = buf_addstr(b, "<h3>notes of the lab</h3><ul class=\"notes\">")) ||
		    (r = notes_each(c->f, c->who, p, v, note_li, &nl)) || (r = nl.err) || (r = buf_addstr(b, "</ul>")) ||
		    (!nl.n && (r = buf_addstr(b, "<p class=\"note\">no notes</p>"))) || (r = buf_addstr(b, "</section>")))
			goto out;
	}
	if (!rs.n && (r = buf_addstr(b, "<p class=\"note\">the lab is nominated on no release</p>")))
		goto out;
	r = buf_addstr(b, "</div>");
out:
	free(rs.v);
	return r;
}

int home_apply(const struct home_ctx *c, const char *note, size_t len, struct buf *certificate)
{
	struct policy_actor a = {c->who->login, NULL, c->now, NULL};
	struct policy_outcome o;
	if (!is(c, "operator"))
		return ERR_NOTFOUND;
	memset(&o, 0, sizeof(o));
	return policy_apply(c->f, &a, note, len, &o, certificate);
}

int home_resume(const struct home_ctx *c, const char *session_id)
{
	if (!is(c, "operator"))
		return ERR_NOTFOUND;
	return quota_resume(c->f, session_id, c->who->login, c->now);
}
