/* decision: the vendor's signed decision files; see decision.h. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "decision.h"
#include "hash.h"

#define MAGIC "sealroom/decision/v1"

static const char *const kinds[] = {"approve", "object", "revoke", "halt", "shred", "window", "dispute"};

int decision_kind_valid(const char *kind)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (!strcmp(kind, kinds[i]))
			return 1;
	return 0;
}

void decision_seal_hash(const char *seal_note, char hex[65])
{
	unsigned char h[SHA256_LEN];
	sha256(seal_note, strlen(seal_note), h);
	hex_encode(hex, h, sizeof(h));
}

/* A value fit for one line of the text: printable UTF-8, no newline, not empty. */
static int line_ok(const char *what, const char *s)
{
	if (!*s || !utf8_valid(s, strlen(s)))
		return err_set(ERR_USAGE, "decision: %s must be non-empty UTF-8", what);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return err_set(ERR_USAGE, "decision: %s holds a control character", what);
	return 0;
}

/* The quotas as canonical JSON (keys sorted, compact) into out[cap]. */
static int quotas_canonical(const char *in, char *out, size_t cap)
{
	json_t *q = json_loads(in && *in ? in : "{}", JSON_REJECT_DUPLICATES, NULL);
	char *s;
	int r = 0;
	if (!json_is_object(q)) {
		json_decref(q);
		return err_set(ERR_USAGE, "decision: quotas must be a JSON object");
	}
	s = json_dumps(q, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(q);
	if (!s || strlen(s) >= cap)
		r = err_set(ERR_USAGE, "decision: quotas must be at most %zu bytes of JSON", cap - 1);
	else
		snprintf(out, cap, "%s", s);
	free(s);
	return r;
}

int decision_text(struct decision *d, struct buf *out)
{
	char ref[2 * RELEASE_NAME_MAX + 2];
	size_t start = out->len;
	int r;
	if (!decision_kind_valid(d->kind))
		return err_set(ERR_USAGE, "decision: '%s' is not a decision (approve, object, revoke, halt, shred, "
					  "window, dispute)", d->kind);
	if ((r = release_name_check("product", d->product, 0)) || (r = release_name_check("version", d->version, 1)))
		return r;
	if (strlen(d->seal) != 64 || strspn(d->seal, "0123456789abcdef") != 64)
		return err_set(ERR_USAGE, "decision: the seal hash must be 64 lower-case hex digits");
	if (!d->nonce[0]) {
		unsigned char n[DECISION_NONCE_HEX / 2];
		randombytes_buf(n, sizeof(n));
		hex_encode(d->nonce, n, sizeof(n));
	}
	if (strlen(d->nonce) != DECISION_NONCE_HEX || strspn(d->nonce, "0123456789abcdef") != DECISION_NONCE_HEX)
		return err_set(ERR_USAGE, "decision: the nonce must be %d lower-case hex digits", DECISION_NONCE_HEX);
	snprintf(ref, sizeof(ref), "%s@%s", d->product, d->version);
	if ((r = buf_addf(out, MAGIC "\ndecision %s\nrelease %s\nseal %s\nnonce %s\ntime %" PRId64 "\n", d->kind, ref,
			  d->seal, d->nonce, d->time)))
		return r;
	if (!strcmp(d->kind, "approve") || !strcmp(d->kind, "object") || (!strcmp(d->kind, "revoke") && !d->lab[0])) {
		if ((r = auth_name_check("reviewer", d->reviewer)) || (r = buf_addf(out, "reviewer %s\n", d->reviewer)))
			return r;
	}
	if (!strcmp(d->kind, "revoke") && d->lab[0]) {
		if (d->reviewer[0])
			return err_set(ERR_USAGE, "decision: a revocation names a reviewer or a lab, not both");
		if ((r = auth_name_check("lab", d->lab)) || (r = buf_addf(out, "lab %s\n", d->lab)))
			return r;
	}
	if (!strcmp(d->kind, "dispute")) {
		if (d->print < 1)
			return err_set(ERR_USAGE, "decision: a dispute names a print by its number (1 or more)");
		if ((r = buf_addf(out, "print %" PRId64 "\n", d->print)))
			return r;
	}
	if (!strcmp(d->kind, "object") || !strcmp(d->kind, "revoke") || !strcmp(d->kind, "dispute")) {
		if (!d->reason[0])
			snprintf(d->reason, sizeof(d->reason), "%s", "-");
		if ((r = line_ok("reason", d->reason)) || (r = buf_addf(out, "reason %s\n", d->reason)))
			return r;
	}
	if (!strcmp(d->kind, "window")) {
		if (d->objection_days < 1 || d->objection_days > 365)
			return err_set(ERR_USAGE, "decision: the objection window must be 1 to 365 days");
		if ((r = buf_addf(out, "days %d\n", d->objection_days)))
			return r;
	}
	if (!strcmp(d->kind, "approve")) {
		const struct grant_terms *t = &d->terms;
		char q[sizeof(d->quotas)];
		if (t->valid_from >= t->valid_until)
			return err_set(ERR_USAGE, "decision: a grant must start before it ends");
		if (!(t->days & POLICY_ALL_DAYS) || (t->days & ~(unsigned)POLICY_ALL_DAYS))
			return err_set(ERR_USAGE, "decision: a grant needs at least one day of the week");
		if (t->hour_from < 0 || t->hour_until > 24 || t->hour_from >= t->hour_until)
			return err_set(ERR_USAGE, "decision: grant hours must be within 00-24, start before end");
		if (t->lines_per_day < POLICY_UNLIMITED || t->lines_total < POLICY_UNLIMITED ||
		    t->prints < POLICY_UNLIMITED)
			return err_set(ERR_USAGE, "decision: quotas must be zero or more");
		if ((r = quotas_canonical(t->quotas, q, sizeof(q))))
			return r;
		snprintf(d->quotas, sizeof(d->quotas), "%s", q);
		d->terms.quotas = d->quotas;
		if ((r = buf_addf(out,
				  "from %" PRId64 "\nuntil %" PRId64 "\ndays %u\nhours %d-%d\nlines-per-day %" PRId64
				  "\nlines-total %" PRId64 "\nprints %" PRId64 "\nquotas %s\n",
				  t->valid_from, t->valid_until, t->days, t->hour_from, t->hour_until, t->lines_per_day,
				  t->lines_total, t->prints, d->quotas)))
			return r;
	}
	/* room for two signature lines within DECISION_MAX: the countersigned statement */
	if (out->len - start > DECISION_TEXT_MAX)
		return err_set(ERR_TOOBIG, "decision: its text is over %d bytes", DECISION_TEXT_MAX);
	return 0;
}

int decision_sign(struct decision *d, const struct note_signer *vendor, struct buf *note)
{
	struct buf text;
	int r;
	buf_init(&text, DECISION_MAX);
	if (!(r = decision_text(d, &text)))
		r = note_sign(text.p, text.len, vendor, note);
	buf_release(&text);
	return r;
}

/* ---- parsing ---- */

struct cursor {
	const char *p, *end;
	int line;
};

/* The next line "KEY VALUE" must have key; its value (NUL-terminated) into val[cap]. */
static int expect(struct cursor *c, const char *key, char *val, size_t cap)
{
	const char *nl = memchr(c->p, '\n', (size_t)(c->end - c->p));
	size_t kl = strlen(key), vl;
	c->line++;
	if (!nl)
		return err_set(ERR_PARSE, "decision: line %d: wanted '%s', found the end", c->line, key);
	if ((size_t)(nl - c->p) <= kl || memcmp(c->p, key, kl) || c->p[kl] != ' ')
		return err_set(ERR_PARSE, "decision: line %d: wanted '%s'", c->line, key);
	vl = (size_t)(nl - c->p) - kl - 1;
	if (vl == 0 || vl >= cap || memchr(c->p + kl + 1, '\0', vl))
		return err_set(ERR_PARSE, "decision: line %d: '%s' is empty or too long", c->line, key);
	memcpy(val, c->p + kl + 1, vl);
	val[vl] = '\0';
	c->p = nl + 1;
	return 0;
}

/* A decimal integer (optionally negative) that fits int64 and is written canonically. */
static int num(const struct cursor *c, const char *s, int64_t lo, int64_t hi, int64_t *out)
{
	char *e;
	long long v;
	char back[32];
	if (!*s || (s[0] == '0' && s[1]) || (s[0] == '-' && (s[1] == '0' || !s[1])))
		return err_set(ERR_PARSE, "decision: line %d: '%s' is not a canonical number", c->line, s);
	v = strtoll(s, &e, 10);
	snprintf(back, sizeof(back), "%lld", v);
	if (*e || strcmp(back, s) || v < lo || v > hi)
		return err_set(ERR_PARSE, "decision: line %d: '%s' is out of range", c->line, s);
	*out = v;
	return 0;
}

int decision_parse(const char *text, size_t len, struct decision *d)
{
	struct cursor c = {text, text + len, 0};
	char v[POLICY_NOTE_MAX + 2], ref[2 * RELEASE_NAME_MAX + 2];
	struct buf again;
	int64_t x;
	int r;
	memset(d, 0, sizeof(*d));
	if (len > DECISION_MAX)
		return err_set(ERR_TOOBIG, "decision: larger than %d bytes", DECISION_MAX);
	if (!utf8_valid(text, len))
		return err_set(ERR_PARSE, "decision: not UTF-8");
	c.line++;
	if (len < sizeof(MAGIC) || memcmp(text, MAGIC "\n", sizeof(MAGIC)))
		return err_set(ERR_PARSE, "decision: not a decision (wanted '" MAGIC "')");
	c.p += sizeof(MAGIC);
	if ((r = expect(&c, "decision", d->kind, sizeof(d->kind))))
		return r;
	if (!decision_kind_valid(d->kind))
		return err_set(ERR_PARSE, "decision: '%s' is not a decision", d->kind);
	if ((r = expect(&c, "release", ref, sizeof(ref))))
		return r;
	if (release_parse_ref(ref, d->product, d->version))
		return err_set(ERR_PARSE, "decision: line %d: '%s' is not a release P@V", c.line, ref);
	if ((r = expect(&c, "seal", d->seal, sizeof(d->seal))) || (r = expect(&c, "nonce", d->nonce, sizeof(d->nonce))) ||
	    (r = expect(&c, "time", v, sizeof(v))) || (r = num(&c, v, 0, INT64_MAX, &d->time)))
		return r;
	if (!strcmp(d->kind, "approve") || !strcmp(d->kind, "object")) {
		if ((r = expect(&c, "reviewer", d->reviewer, sizeof(d->reviewer))))
			return r;
	} else if (!strcmp(d->kind, "revoke")) {
		if (c.p < c.end && !strncmp(c.p, "lab ", 4))
			r = expect(&c, "lab", d->lab, sizeof(d->lab));
		else
			r = expect(&c, "reviewer", d->reviewer, sizeof(d->reviewer));
		if (r)
			return r;
	}
	if (!strcmp(d->kind, "dispute") &&
	    ((r = expect(&c, "print", v, sizeof(v))) || (r = num(&c, v, 1, INT64_MAX, &d->print))))
		return r;
	if ((!strcmp(d->kind, "object") || !strcmp(d->kind, "revoke") || !strcmp(d->kind, "dispute")) &&
	    (r = expect(&c, "reason", d->reason, sizeof(d->reason))))
		return r;
	if (!strcmp(d->kind, "window")) {
		if ((r = expect(&c, "days", v, sizeof(v))) || (r = num(&c, v, 1, 365, &x)))
			return r;
		d->objection_days = (int)x;
	}
	if (!strcmp(d->kind, "approve")) {
		struct grant_terms *t = &d->terms;
		char *dash;
		if ((r = expect(&c, "from", v, sizeof(v))) || (r = num(&c, v, 0, INT64_MAX, &t->valid_from)) ||
		    (r = expect(&c, "until", v, sizeof(v))) || (r = num(&c, v, 0, INT64_MAX, &t->valid_until)) ||
		    (r = expect(&c, "days", v, sizeof(v))) || (r = num(&c, v, 1, POLICY_ALL_DAYS, &x)))
			return r;
		t->days = (unsigned)x;
		if ((r = expect(&c, "hours", v, sizeof(v))))
			return r;
		if (!(dash = strchr(v, '-')))
			return err_set(ERR_PARSE, "decision: line %d: hours must be A-B", c.line);
		*dash = '\0';
		if ((r = num(&c, v, 0, 23, &x)))
			return r;
		t->hour_from = (int)x;
		if ((r = num(&c, dash + 1, 1, 24, &x)))
			return r;
		t->hour_until = (int)x;
		if ((r = expect(&c, "lines-per-day", v, sizeof(v))) || (r = num(&c, v, -1, INT64_MAX, &t->lines_per_day)) ||
		    (r = expect(&c, "lines-total", v, sizeof(v))) || (r = num(&c, v, -1, INT64_MAX, &t->lines_total)) ||
		    (r = expect(&c, "prints", v, sizeof(v))) || (r = num(&c, v, -1, INT64_MAX, &t->prints)) ||
		    (r = expect(&c, "quotas", d->quotas, sizeof(d->quotas))))
			return r;
		t->quotas = d->quotas;
	}
	if (c.p != c.end)
		return err_set(ERR_PARSE, "decision: line %d: unexpected line", c.line + 1);
	/* canonical: the text must be exactly what decision_text makes of what was read */
	buf_init(&again, len + 64);
	r = decision_text(d, &again);
	if (!r && (again.len != len || memcmp(again.p, text, len)))
		r = err_set(ERR_PARSE, "decision: the text is not in its canonical form");
	else if (r)
		r = err_set(ERR_PARSE, "%s", err_msg());
	buf_release(&again);
	return r;
}

int decision_open(const char *note, size_t len, const struct note_verifier *vendor, struct decision *d)
{
	struct str text;
	int r;
	if (len > DECISION_MAX)
		return err_set(ERR_TOOBIG, "decision: larger than %d bytes", DECISION_MAX);
	if ((r = note_open(note, len, vendor, &text)))
		return r == ERR_AUTH ? err_set(ERR_AUTH, "decision: %s", err_msg()) : r;
	return decision_parse(text.p, text.len, d);
}

int decision_countersign(const char *note, size_t len, const struct note_signer *facility, struct buf *out)
{
	struct note_sig *sigs = xcalloc(NOTE_MAX_SIGS, sizeof(*sigs));
	struct str text;
	struct buf one;
	size_t n = 0;
	const char *line;
	int r;
	buf_init(&one, 2 * DECISION_MAX);
	if ((r = note_split(note, len, &text, sigs, &n)) || (r = note_sign(text.p, text.len, facility, &one)))
		goto out;
	/* the signature line is what note_sign put after the text and the blank line */
	line = one.p + text.len + 1;
	if ((r = buf_add(out, note, len)) || (r = buf_add(out, line, one.len - text.len - 1)))
		goto out;
out:
	buf_release(&one);
	free(sigs);
	return r;
}

int decision_read_file(const char *path, struct buf *in, struct decision *d)
{
	struct note_sig *sigs = xcalloc(NOTE_MAX_SIGS, sizeof(*sigs));
	struct str text;
	size_t n;
	int r;
	in->max = DECISION_MAX;
	if ((r = buf_read_file(in, path)) == ERR_TOOBIG)
		r = err_set(ERR_TOOBIG, "'%s' is larger than %d bytes: not a decision file", path, DECISION_MAX);
	else if (!r && ((r = note_split(in->p, in->len, &text, sigs, &n)) || (r = decision_parse(text.p, text.len, d))))
		r = err_set(r, "'%s': %s", path, err_msg());
	free(sigs);
	return r;
}
