/* dsse: DSSE envelopes with Ed25519, and in-toto Statement v1 (see dsse.h). */
#include <string.h>

#include <sodium.h>

#include "dsse.h"
#include "hash.h"

struct dsse_sig {
	char *keyid;
	unsigned char sig[DSSE_SIG_LEN];
};

struct dsse {
	char *type;
	unsigned char *payload;
	size_t len;
	struct dsse_sig sigs[DSSE_MAX_SIGS];
	size_t n_sigs;
};

int dsse_pae(struct buf *out, const char *type, size_t type_len, const void *body,
	     size_t body_len)
{
	size_t old = out->len;
	int r;
	if ((r = buf_addf(out, "DSSEv1 %zu ", type_len)) || (r = buf_add(out, type, type_len)) ||
	    (r = buf_addf(out, " %zu ", body_len)) || (r = buf_add(out, body, body_len))) {
		out->len = old;
		out->p[old] = 0;
	}
	return r;
}

void dsse_keyid(const unsigned char pk[32], char out[DSSE_KEYID_LEN + 1])
{
	unsigned char d[SHA256_LEN];
	sha256(pk, 32, d);
	hex_encode(out, d, sizeof(d));
}

/* A payload type is 1..DSSE_MAX_TYPE printable ASCII bytes (a media type). */
static int type_valid(const char *t, size_t len)
{
	if (!len || len > DSSE_MAX_TYPE)
		return 0;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)t[i] < 0x21 || (unsigned char)t[i] > 0x7e)
			return 0;
	return 1;
}

int dsse_new(const char *payload_type, const void *payload, size_t len, struct dsse **out)
{
	struct dsse *e;
	*out = NULL;
	if (!type_valid(payload_type, strlen(payload_type)))
		return err_set(ERR_USAGE, "dsse: payload type '%.64s' is not a media type",
			       payload_type);
	if (len > DSSE_MAX_LEN)
		return err_set(ERR_TOOBIG, "dsse: payload of %zu bytes is over %zu", len,
			       DSSE_MAX_LEN);
	e = xcalloc(1, sizeof(*e));
	e->type = xstrdup(payload_type);
	e->payload = xmalloc(len + 1);
	if (len)
		memcpy(e->payload, payload, len);
	e->payload[len] = 0;
	e->len = len;
	*out = e;
	return 0;
}

void dsse_free(struct dsse *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->n_sigs; i++)
		free(e->sigs[i].keyid);
	free(e->type);
	free(e->payload);
	free(e);
}

int dsse_add_sig(struct dsse *e, const char *keyid, const unsigned char sig[DSSE_SIG_LEN])
{
	if (e->n_sigs == DSSE_MAX_SIGS)
		return err_set(ERR_TOOBIG, "dsse: more than %d signatures", DSSE_MAX_SIGS);
	if (strlen(keyid) > DSSE_MAX_KEYID)
		return err_set(ERR_TOOBIG, "dsse: keyid over %d bytes", DSSE_MAX_KEYID);
	e->sigs[e->n_sigs].keyid = xstrdup(keyid);
	memcpy(e->sigs[e->n_sigs].sig, sig, DSSE_SIG_LEN);
	e->n_sigs++;
	return 0;
}

/* PAE of the envelope into a fresh buf (the caller releases it). */
static int envelope_pae(const struct dsse *e, struct buf *pae)
{
	buf_init(pae, 0);
	return dsse_pae(pae, e->type, strlen(e->type), e->payload, e->len);
}

int dsse_sign(struct dsse *e, const struct note_signer *signer)
{
	char keyid[DSSE_KEYID_LEN + 1];
	unsigned char sig[DSSE_SIG_LEN];
	struct buf pae;
	int r;
	dsse_keyid(note_signer_public(signer), keyid);
	for (size_t i = 0; i < e->n_sigs; i++)
		if (!strcmp(e->sigs[i].keyid, keyid))
			return err_set(ERR_EXISTS, "dsse: key '%s' has signed already",
				       note_signer_name(signer));
	if ((r = envelope_pae(e, &pae)) == 0) {
		note_signer_sign(signer, pae.p, pae.len, sig);
		r = dsse_add_sig(e, keyid, sig);
	}
	buf_release(&pae);
	return r;
}

int dsse_encode(const struct dsse *e, struct buf *out)
{
	struct buf b64;
	json_t *o = json_object(), *sigs = json_array();
	char *s;
	int r = 0;
	buf_init(&b64, 0);
	if (!o || !sigs)
		BUG("json_object");
	if ((r = buf_addb64(&b64, e->payload, e->len)))
		goto out;
	json_object_set_new(o, "payload", json_stringn(b64.p, b64.len));
	json_object_set_new(o, "payloadType", json_string(e->type));
	for (size_t i = 0; i < e->n_sigs; i++) {
		json_t *sg = json_object();
		buf_reset(&b64);
		if ((r = buf_addb64(&b64, e->sigs[i].sig, DSSE_SIG_LEN)))
			goto out;
		json_object_set_new(sg, "keyid", json_string(e->sigs[i].keyid));
		json_object_set_new(sg, "sig", json_stringn(b64.p, b64.len));
		json_array_append_new(sigs, sg);
	}
	json_object_set(o, "signatures", sigs);
	s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	if (!s)
		BUG("json_dumps");
	r = buf_addstr(out, s);
	free(s);
out:
	json_decref(sigs);
	json_decref(o);
	buf_release(&b64);
	return r;
}

/* A JSON string member of o that must be there; NULL (and the error set) otherwise. */
static const char *member_str(json_t *o, const char *key, size_t *len)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_string(v)) {
		err_set(ERR_PARSE, "dsse: '%s' is missing or not a string", key);
		return NULL;
	}
	*len = json_string_length(v);
	return json_string_value(v);
}

int dsse_parse(const char *json, size_t len, struct dsse **out)
{
	json_error_t jerr;
	json_t *root = NULL, *sigs;
	struct dsse *e = NULL;
	struct buf raw;
	const char *type, *payload;
	size_t type_len, payload_len, n;
	int r;
	*out = NULL;
	buf_init(&raw, DSSE_MAX_LEN);
	if (len > DSSE_MAX_LEN) {
		r = err_set(ERR_TOOBIG, "dsse: envelope of %zu bytes is over %zu", len, DSSE_MAX_LEN);
		goto out;
	}
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root || !json_is_object(root)) {
		r = err_set(ERR_PARSE, "dsse: not a JSON object%s%s", root ? "" : ": ",
			    root ? "" : jerr.text);
		goto out;
	}
	r = ERR_PARSE;
	if (!(type = member_str(root, "payloadType", &type_len)) ||
	    !(payload = member_str(root, "payload", &payload_len)))
		goto out;
	if (strlen(type) != type_len || !type_valid(type, type_len)) {
		r = err_set(ERR_PARSE, "dsse: 'payloadType' is not a media type");
		goto out;
	}
	if (buf_addunb64(&raw, payload, payload_len)) {
		r = err_set(ERR_PARSE, "dsse: 'payload' is not base64");
		goto out;
	}
	sigs = json_object_get(root, "signatures");
	if (!json_is_array(sigs)) {
		r = err_set(ERR_PARSE, "dsse: 'signatures' is missing or not an array");
		goto out;
	}
	if ((n = json_array_size(sigs)) > DSSE_MAX_SIGS) {
		r = err_set(ERR_TOOBIG, "dsse: %zu signatures, at most %d", n, DSSE_MAX_SIGS);
		goto out;
	}
	if ((r = dsse_new(type, raw.p, raw.len, &e)))
		goto out;
	for (size_t i = 0; i < n; i++) {
		json_t *sg = json_array_get(sigs, i), *k;
		struct buf sb;
		const char *sig, *keyid = "";
		size_t sig_len;
		if (!json_is_object(sg)) {
			r = err_set(ERR_PARSE, "dsse: signature %zu is not an object", i);
			goto out;
		}
		k = json_object_get(sg, "keyid");
		if (k && !json_is_string(k)) {
			r = err_set(ERR_PARSE, "dsse: keyid of signature %zu is not a string", i);
			goto out;
		}
		if (k)
			keyid = json_string_value(k);
		if (k && strlen(keyid) != json_string_length(k)) {
			r = err_set(ERR_PARSE, "dsse: keyid of signature %zu holds a NUL", i);
			goto out;
		}
		if (!(sig = member_str(sg, "sig", &sig_len))) {
			r = ERR_PARSE;
			goto out;
		}
		buf_init(&sb, 256);
		if (buf_addunb64(&sb, sig, sig_len) || sb.len != DSSE_SIG_LEN) {
			buf_release(&sb);
			r = err_set(ERR_PARSE, "dsse: sig of signature %zu is not 64 bytes of base64", i);
			goto out;
		}
		r = dsse_add_sig(e, keyid, (const unsigned char *)sb.p);
		buf_release(&sb);
		if (r) {
			r = err_set(ERR_PARSE, "dsse: %s", err_msg());
			goto out;
		}
	}
	*out = e;
	e = NULL;
	r = 0;
out:
	dsse_free(e);
	json_decref(root);
	buf_release(&raw);
	return r;
}

const char *dsse_payload_type(const struct dsse *e)
{
	return e->type;
}

const unsigned char *dsse_payload(const struct dsse *e, size_t *len)
{
	*len = e->len;
	return e->payload;
}

size_t dsse_n_sigs(const struct dsse *e)
{
	return e->n_sigs;
}

int dsse_verify(const struct dsse *e, const unsigned char pk[32])
{
	char keyid[DSSE_KEYID_LEN + 1];
	struct buf pae;
	int r, ok = 0;
	dsse_keyid(pk, keyid);
	if ((r = envelope_pae(e, &pae)))
		goto out;
	for (size_t i = 0; i < e->n_sigs && !ok; i++) {
		if (*e->sigs[i].keyid && strcmp(e->sigs[i].keyid, keyid))
			continue;
		ok = crypto_sign_verify_detached(e->sigs[i].sig, (const unsigned char *)pae.p,
						 pae.len, pk) == 0;
	}
	r = ok ? 0 : err_set(ERR_AUTH, "no valid signature by key %.16s", keyid);
out:
	buf_release(&pae);
	return r;
}

/* Lowercase hex of an even length, 40..128 digits (SHA-1 .. SHA-512). */
static int digest_hex_valid(const char *s)
{
	size_t n = strlen(s);
	if (n < 40 || n > 128 || n % 2)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/* An absolute URI, as in-toto wants for predicateType: scheme ":" and no spaces. */
static int uri_valid(const char *s)
{
	const char *c = strchr(s, ':');
	if (!c || c == s || strlen(s) > 1024)
		return 0;
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			return 0;
	return 1;
}

int intoto_statement(const struct intoto_subject *subjects, size_t n_subjects,
		     const char *predicate_type, const json_t *predicate, struct buf *out)
{
	json_t *st, *subj;
	char *s;
	int r;
	if (!n_subjects)
		return err_set(ERR_USAGE, "in-toto: a statement needs a subject");
	if (!uri_valid(predicate_type))
		return err_set(ERR_USAGE, "in-toto: predicate type '%.64s' is not a URI",
			       predicate_type);
	if (!json_is_object(predicate))
		return err_set(ERR_USAGE, "in-toto: the predicate is not an object");
	st = json_object();
	subj = json_array();
	for (size_t i = 0; i < n_subjects; i++) {
		json_t *o = json_object(), *d = json_object();
		if (!subjects[i].n_digests) {
			json_decref(o);
			json_decref(d);
			r = err_set(ERR_USAGE, "in-toto: subject '%s' has no digest", subjects[i].name);
			goto out;
		}
		for (size_t k = 0; k < subjects[i].n_digests; k++) {
			if (!digest_hex_valid(subjects[i].digests[k].hex)) {
				json_decref(o);
				json_decref(d);
				r = err_set(ERR_USAGE, "in-toto: digest '%.16s' of '%s' is not hex",
					    subjects[i].digests[k].hex, subjects[i].name);
				goto out;
			}
			json_object_set_new(d, subjects[i].digests[k].alg,
					    json_string(subjects[i].digests[k].hex));
		}
		json_object_set_new(o, "name", json_string(subjects[i].name));
		json_object_set_new(o, "digest", d);
		json_array_append_new(subj, o);
	}
	json_object_set_new(st, "_type", json_string(INTOTO_STATEMENT_V1));
	json_object_set(st, "subject", subj);
	json_object_set_new(st, "predicateType", json_string(predicate_type));
	json_object_set_new(st, "predicate", json_deep_copy(predicate));
	if (!(s = json_dumps(st, JSON_COMPACT | JSON_SORT_KEYS)))
		BUG("json_dumps");
	r = buf_addstr(out, s);
	free(s);
out:
	json_decref(subj);
	json_decref(st);
	return r;
}

int intoto_parse(const void *payload, size_t len, json_t **out)
{
	json_error_t jerr;
	json_t *st, *subj, *v;
	size_t i;
	*out = NULL;
	if (len > DSSE_MAX_LEN)
		return err_set(ERR_TOOBIG, "in-toto: statement over %zu bytes", DSSE_MAX_LEN);
	st = json_loadb(payload, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(st)) {
		json_decref(st);
		return err_set(ERR_PARSE, "in-toto: statement is not a JSON object");
	}
	v = json_object_get(st, "_type");
	if (!json_is_string(v) || strcmp(json_string_value(v), INTOTO_STATEMENT_V1))
		goto bad_type;
	subj = json_object_get(st, "subject");
	if (!json_is_array(subj) || !json_array_size(subj))
		goto bad_subject;
	json_array_foreach(subj, i, v) {
		json_t *d = json_object_get(v, "digest"), *h;
		const char *alg;
		if (!json_is_object(v) || !json_is_string(json_object_get(v, "name")) ||
		    !json_is_object(d) || !json_object_size(d))
			goto bad_subject;
		json_object_foreach(d, alg, h)
			if (!json_is_string(h) || !digest_hex_valid(json_string_value(h)))
				goto bad_subject;
	}
	v = json_object_get(st, "predicateType");
	if (!json_is_string(v) || !uri_valid(json_string_value(v))) {
		json_decref(st);
		return err_set(ERR_PARSE, "in-toto: 'predicateType' is missing or not a URI");
	}
	if (!json_is_object(json_object_get(st, "predicate"))) {
		json_decref(st);
		return err_set(ERR_PARSE, "in-toto: 'predicate' is missing or not an object");
	}
	*out = st;
	return 0;
bad_type:
	json_decref(st);
	return err_set(ERR_PARSE, "in-toto: '_type' is not %s", INTOTO_STATEMENT_V1);
bad_subject:
	json_decref(st);
	return err_set(ERR_PARSE, "in-toto: 'subject' is not a list of names with hex digests");
}

int intoto_has_subject(const json_t *statement, const char *alg, const char *hex)
{
	json_t *subj = json_object_get(statement, "subject"), *v;
	size_t i;
	json_array_foreach(subj, i, v) {
		json_t *h = json_object_get(json_object_get(v, "digest"), alg);
		if (json_is_string(h) && !strcmp(json_string_value(h), hex))
			return 1;
	}
	return 0;
}
