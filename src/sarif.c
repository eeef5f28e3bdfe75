/* sarif: findings as SARIF 2.1.0, in and out (see sarif.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cvss.h"
#include "sarif.h"

#define SARIF_SCHEMA "https://json.schemastore.org/sarif-2.1.0.json"

struct sarif_out {
	const struct release_info *rel;
	json_t *results;
	json_t *rules; /* id -> rule object */
};

struct sarif_out *sarif_out_new(const struct release_info *r)
{
	struct sarif_out *s = xcalloc(1, sizeof(*s));
	s->rel = r;
	s->results = json_array();
	s->rules = json_object();
	return s;
}

void sarif_out_free(struct sarif_out *s)
{
	if (!s)
		return;
	json_decref(s->results);
	json_decref(s->rules);
	free(s);
}

/* Percent-encode a path for a URI reference: unreserved bytes and '/' stay. */
static int uri_encode(struct buf *b, const char *p)
{
	static const char hex[] = "0123456789ABCDEF";
	int r = 0;
	for (; *p && !r; p++) {
		unsigned char c = (unsigned char)*p;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~' || c == '/')
			r = buf_addch(b, (char)c);
		else
			r = buf_addf(b, "%%%c%c", hex[c >> 4], hex[c & 15]);
	}
	return r;
}

static const char *level_of(const char *severity)
{
	if (!strcmp(severity, "critical") || !strcmp(severity, "high"))
		return "error";
	if (!strcmp(severity, "medium"))
		return "warning";
	return "note";
}

/* The security-severity a code host sorts by: the CVSS score, else the rating's floor. */
static void security_severity(const struct finding_info *fi, char out[16])
{
	int s = fi->score10 >= 0 ? fi->score10
		: !strcmp(fi->severity, "critical") ? 90
		: !strcmp(fi->severity, "high")	    ? 70
		: !strcmp(fi->severity, "medium")   ? 40
						    : 10;
	snprintf(out, 16, "%d.%d", s / 10, s % 10);
}

int sarif_out_add(struct sarif_out *s, const struct finding_info *fi)
{
	char rule[FINDINGS_RULE_MAX + 16], sev[16];
	struct buf uri;
	json_t *res, *props, *sr;
	int r;
	if (*fi->rule)
		snprintf(rule, sizeof(rule), "%s", fi->rule);
	else if (fi->cwe)
		snprintf(rule, sizeof(rule), "CWE-%d", fi->cwe);
	else
		snprintf(rule, sizeof(rule), "sealroom.finding");
	if (!json_object_get(s->rules, rule)) {
		json_t *ru = json_pack("{s:s}", "id", rule);
		if (fi->cwe) {
			char tag[40];
			snprintf(tag, sizeof(tag), "external/cwe/cwe-%d", fi->cwe);
			json_object_set_new(ru, "properties", json_pack("{s:[s,s]}", "tags", "security", tag));
		}
		json_object_set_new(s->rules, rule, ru);
	}
	buf_init(&uri, 0);
	if ((r = uri_encode(&uri, fi->path))) {
		buf_release(&uri);
		return r;
	}
	security_severity(fi, sev);
	sr = json_pack("{s:I,s:s,s:s,s:s,s:I,s:s,s:s,s:s,s:s,s:I,s:I}", "id", (json_int_t)fi->id,
		       "lab", fi->lab, "author", fi->author, "severity", fi->severity, "cwe",
		       (json_int_t)fi->cwe, "text", fi->text, "state", fi->state, "blob", fi->blob,
		       "release", "", "created", (json_int_t)fi->created_at, "updated",
		       (json_int_t)fi->updated_at);
	{
		char ref[2 * RELEASE_NAME_MAX + 2];
		snprintf(ref, sizeof(ref), "%s@%s", fi->product, fi->version);
		json_object_set_new(sr, "release", json_string(ref));
	}
	if (*fi->cvss)
		json_object_set_new(sr, "cvss", json_string(fi->cvss));
	if (fi->score10 >= 0)
		json_object_set_new(sr, "score", json_real(fi->score10 / 10.0));
	if (*fi->fixed_in)
		json_object_set_new(sr, "fixedIn", json_string(fi->fixed_in));
	props = json_pack("{s:s,s:o}", "security-severity", sev, "sealroom", sr);
	res = json_pack("{s:s,s:s,s:{s:s},s:[{s:{s:{s:s,s:s},s:{s:I,s:I}}}],s:o}", "ruleId", rule,
			"level", level_of(fi->severity), "message", "text", fi->title, "locations",
			"physicalLocation", "artifactLocation", "uri", uri.p, "uriBaseId", "SRCROOT",
			"region", "startLine", (json_int_t)fi->line_from, "endLine",
			(json_int_t)fi->line_to, "properties", props);
	buf_release(&uri);
	if (!res)
		BUG("json_pack");
	json_array_append_new(s->results, res);
	return 0;
}

int sarif_out_finish(struct sarif_out *s, struct buf *out)
{
	json_t *rules = json_array(), *v, *log, *run;
	const char *k;
	char ref[2 * RELEASE_NAME_MAX + 2], *txt;
	int r;
	json_object_foreach(s->rules, k, v)
		json_array_append(rules, v);
	snprintf(ref, sizeof(ref), "%s@%s", s->rel->product, s->rel->version);
	run = json_object();
	json_object_set_new(run, "tool",
			    json_pack("{s:{s:s,s:s,s:s,s:o}}", "driver", "name", "sealroom",
				      "informationUri", "https://github.com/sealroom/sealroom",
				      "version", "1", "rules", rules));
	json_object_set_new(run, "automationDetails",
			    json_pack("{s:s,s:{s:s}}", "id", ref, "description", "text",
				      "findings of the review of this release"));
	json_object_set_new(run, "originalUriBaseIds",
			    json_pack("{s:{s:{s:s}}}", "SRCROOT", "description", "text",
				      "the root of the sealed tree"));
	json_object_set(run, "results", s->results);
	json_object_set_new(run, "columnKind", json_string("unicodeCodePoints"));
	json_object_set_new(run, "properties",
			    json_pack("{s:{s:s,s:s,s:s}}", "sealroom", "release", ref, "treeSha256",
				      s->rel->tree_sha256, "treeSha1", s->rel->tree_sha1));
	log = json_pack("{s:s,s:s,s:[o]}", "$schema", SARIF_SCHEMA, "version", "2.1.0", "runs", run);
	if (!log)
		BUG("json_pack");
	txt = json_dumps(log, JSON_INDENT(2) | JSON_SORT_KEYS);
	if (!txt)
		BUG("json_dumps");
	if (!(r = buf_addstr(out, txt)))
		r = buf_addch(out, '\n');
	free(txt);
	json_decref(log);
	sarif_out_free(s);
	return r;
}

/* Decode a relative URI reference into a release path; NULL (reason in *why) if it is not
 * one. The result is malloc'd. */
static char *uri_path(const char *uri, const char **why)
{
	size_t n = strlen(uri);
	char *o = xmalloc(n + 1), *w = o;
	const char *seg;
	*why = NULL;
	for (const char *p = uri; *p; p++) {
		if (*p == ':' && !memchr(uri, '/', (size_t)(p - uri))) {
			*why = "an absolute URI, not a path of the release";
			goto bad;
		}
		if (*p == '?' || *p == '#' || *p == '\\') {
			*why = "a URI with a query, fragment or backslash";
			goto bad;
		}
		if (*p == '%') {
			unsigned char c;
			if (hex_decode(&c, 1, p + 1, 2) || !c || p[1] == 0 || p[2] == 0) {
				*why = "a bad %-escape";
				goto bad;
			}
			*w++ = (char)c;
			p += 2;
		} else {
			*w++ = *p;
		}
	}
	*w = 0;
	if (!*o || *o == '/') {
		*why = "an empty or absolute path";
		goto bad;
	}
	for (seg = o;;) {
		const char *e = strchr(seg, '/');
		size_t len = e ? (size_t)(e - seg) : strlen(seg);
		if (!len || (len == 1 && seg[0] == '.') || (len == 2 && seg[0] == '.' && seg[1] == '.')) {
			*why = "a path with an empty, '.' or '..' segment (outside the release)";
			goto bad;
		}
		if (!e)
			break;
		seg = e + 1;
	}
	if (!utf8_valid(o, strlen(o))) {
		*why = "a path that is not UTF-8";
		goto bad;
	}
	return o;
bad:
	free(o);
	return NULL;
}

static const char *str_at(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* A positive integer member, or 0. */
static uint64_t uint_at(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_integer(v) && json_integer_value(v) > 0 ? (uint64_t)json_integer_value(v) : 0;
}

/* CWE number from "CWE-79" or "external/cwe/cwe-79"; 0 when s is neither. */
static int cwe_of(const char *s)
{
	const char *d = NULL;
	long v;
	char *end;
	if (!s)
		return 0;
	if (!strncmp(s, "CWE-", 4))
		d = s + 4;
	else if (!strncmp(s, "external/cwe/cwe-", 17))
		d = s + 17;
	if (!d || *d < '0' || *d > '9')
		return 0;
	v = strtol(d, &end, 10);
	return *end || v < 1 || v > FINDINGS_CWE_MAX ? 0 : (int)v;
}

/* The rule object of ruleId in the run's driver, or NULL. */
static json_t *rule_of(json_t *run, const char *id)
{
	json_t *rules = json_object_get(json_object_get(json_object_get(run, "tool"), "driver"), "rules"), *ru;
	size_t i;
	json_array_foreach(rules, i, ru) {
		const char *rid = str_at(ru, "id");
		if (rid && id && !strcmp(rid, id))
			return ru;
	}
	return NULL;
}

static const char *severity_of_score(const char *s)
{
	char *end;
	double d = strtod(s, &end);
	if (end == s || *end || d < 0 || d > 10)
		return NULL;
	return d >= 9.0 ? "critical" : d >= 7.0 ? "high" : d >= 4.0 ? "medium" : "low";
}

/* Turn one result into a finding_new (or a reason); strings point into res or into the
 * caller's scratch (title, path). */
static void one(json_t *run, json_t *res, struct sarif_result *out, char *title, char **path,
		const char **text_out)
{
	json_t *locs = json_object_get(res, "locations"), *phys, *art, *reg, *props, *sr, *ru;
	const char *msg, *uri, *why, *rule, *s;
	size_t tl;
	memset(&out->n, 0, sizeof(out->n));
	out->refused = NULL;
	*path = NULL;
	*text_out = "";
	if (!json_is_object(res)) {
		out->refused = "not an object";
		return;
	}
	if (!json_is_array(locs) || json_array_size(locs) != 1) {
		out->refused = "it does not have exactly one location";
		return;
	}
	phys = json_object_get(json_array_get(locs, 0), "physicalLocation");
	art = json_object_get(phys, "artifactLocation");
	reg = json_object_get(phys, "region");
	if (!(uri = str_at(art, "uri"))) {
		out->refused = "its location has no artifactLocation.uri";
		return;
	}
	if (!(*path = uri_path(uri, &why))) {
		out->refused = why;
		return;
	}
	out->n.path = *path;
	if (!(out->n.line_from = uint_at(reg, "startLine"))) {
		out->refused = "its region has no startLine (a finding names lines)";
		return;
	}
	out->n.line_to = uint_at(reg, "endLine") ? uint_at(reg, "endLine") : out->n.line_from;
	if (out->n.line_to < out->n.line_from) {
		out->refused = "its region ends before it starts";
		return;
	}
	msg = str_at(json_object_get(res, "message"), "text");
	if (!msg || !*msg) {
		out->refused = "it has no message.text";
		return;
	}
	/* the title: the first line, cut at a character boundary */
	tl = strcspn(msg, "\r\n");
	if (tl > FINDINGS_TITLE_MAX)
		tl = FINDINGS_TITLE_MAX;
	while (tl && ((unsigned char)msg[tl] & 0xc0) == 0x80)
		tl--;
	memcpy(title, msg, tl);
	title[tl] = 0;
	out->n.title = title;
	props = json_object_get(res, "properties");
	sr = json_object_get(props, "sealroom");
	if ((s = str_at(sr, "text")))
		*text_out = s;
	else if (msg[strcspn(msg, "\r\n")])
		*text_out = msg + strcspn(msg, "\r\n") + strspn(msg + strcspn(msg, "\r\n"), "\r\n");
	out->n.text = *text_out;
	rule = str_at(res, "ruleId");
	out->n.rule = rule && strcmp(rule, "sealroom.finding") && strlen(rule) <= FINDINGS_RULE_MAX &&
			      strncmp(rule, "CWE-", 4)
			      ? rule
			      : NULL;
	if ((s = str_at(sr, "cvss")))
		out->n.severity = s;
	else if ((s = str_at(sr, "severity")))
		out->n.severity = s;
	else if ((s = str_at(props, "security-severity")) && severity_of_score(s))
		out->n.severity = severity_of_score(s);
	else {
		const char *lv = str_at(res, "level");
		lv = lv ? lv : "warning";
		out->n.severity = !strcmp(lv, "error") ? "high" : !strcmp(lv, "warning") ? "medium" : "low";
	}
	if (json_is_integer(json_object_get(sr, "cwe"))) {
		json_int_t c = json_integer_value(json_object_get(sr, "cwe"));
		out->n.cwe = c >= 0 && c <= FINDINGS_CWE_MAX ? (int)c : -1;
	} else if (!(out->n.cwe = cwe_of(rule)) && (ru = rule_of(run, rule))) {
		json_t *tags = json_object_get(json_object_get(ru, "properties"), "tags"), *t;
		size_t i;
		json_array_foreach(tags, i, t)
			if (!out->n.cwe && json_is_string(t))
				out->n.cwe = cwe_of(json_string_value(t));
	}
}

int sarif_read(const char *json, size_t len,
	       int (*fn)(void *ctx, const struct sarif_result *res), void *ctx)
{
	json_error_t jerr;
	json_t *log, *runs, *run, *results, *res;
	size_t i, k, index = 0;
	const char *v;
	int r = 0;
	if (len > SARIF_MAX_LEN)
		return err_set(ERR_TOOBIG, "sarif: %zu bytes is over the limit of %zu", len, SARIF_MAX_LEN);
	log = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(log)) {
		r = err_set(ERR_PARSE, "sarif: not a JSON object%s%s", log ? "" : ": ",
			    log ? "" : jerr.text);
		json_decref(log);
		return r;
	}
	if (!(v = str_at(log, "version")) || strcmp(v, "2.1.0")) {
		json_decref(log);
		return err_set(ERR_PARSE, "sarif: version is not 2.1.0");
	}
	runs = json_object_get(log, "runs");
	if (!json_is_array(runs)) {
		json_decref(log);
		return err_set(ERR_PARSE, "sarif: 'runs' is not an array");
	}
	json_array_foreach(runs, i, run) {
		results = json_object_get(run, "results");
		if (!results)
			continue;
		if (!json_is_array(results)) {
			r = err_set(ERR_PARSE, "sarif: run %zu: 'results' is not an array", i);
			break;
		}
		json_array_foreach(results, k, res) {
			struct sarif_result out;
			char title[FINDINGS_TITLE_MAX + 1];
			char *path = NULL;
			const char *text;
			if (index == SARIF_MAX_RESULTS) {
				r = err_set(ERR_TOOBIG, "sarif: more than %d results", SARIF_MAX_RESULTS);
				break;
			}
			out.index = index++;
			one(run, res, &out, title, &path, &text);
			r = fn(ctx, &out);
			free(path);
			if (r)
				break;
		}
		if (r)
			break;
	}
	json_decref(log);
	return r;
}
