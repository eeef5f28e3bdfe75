/* certificate: the review certificate (see certificate.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "certificate.h"
#include "dsse.h"
#include "tlog.h"

static json_t *iso_time(int64_t t)
{
	char s[32];
	struct tm tm;
	time_t tt = (time_t)t;
	if (!t || !gmtime_r(&tt, &tm))
		return json_null();
	strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_string(s);
}

int certificate_make(const struct certificate_in *in, const struct note_signer *lab_key,
		     struct buf *out)
{
	char ref[300], swhid[64];
	struct intoto_digest d = {"gitTree", in->tree_sha256};
	struct intoto_subject sub = {ref, &d, 1};
	struct tlog_checkpoint cp;
	struct note_sig *sigs = NULL;
	struct str text;
	struct buf st, root;
	struct dsse *e = NULL;
	size_t n_sigs;
	json_t *pred;
	int r;
	snprintf(ref, sizeof(ref), "%s@%s", in->product, in->version);
	snprintf(swhid, sizeof(swhid), "swh:1:dir:%s", in->tree_sha1);
	buf_init(&st, 0);
	buf_init(&root, 64);
	sigs = xcalloc(NOTE_MAX_SIGS, sizeof(*sigs));
	if ((r = note_split(in->checkpoint, strlen(in->checkpoint), &text, sigs, &n_sigs)) ||
	    (r = tlog_checkpoint_parse(text.p, text.len, &cp)) || (r = tlog_hash_b64(&root, cp.root)))
		goto out;
	pred = json_pack("{s:s,s:s,s:O,s:{s:s,s:s,s:s},s:{s:o,s:o,s:o},s:O,s:O,s:{s:s%,s:I,s:s,s:s}}",
			 "release", ref, "lab", in->lab, "reviewers", in->reviewers, "tree", "sha256",
			 in->tree_sha256, "sha1", in->tree_sha1, "swhid", swhid, "dates", "issued",
			 iso_time(in->issued), "first_access", iso_time(in->first), "last_access",
			 iso_time(in->last), "scope", in->scope, "findings", in->findings, "log", "origin",
			 cp.origin.p, cp.origin.len, "size", (json_int_t)cp.size, "root", root.p,
			 "checkpoint", in->checkpoint);
	if (!pred) {
		r = err_set(ERR_USAGE, "certificate: its fields could not be built (not UTF-8?)");
		goto out;
	}
	r = intoto_statement(&sub, 1, CERTIFICATE_PREDICATE_TYPE, pred, &st);
	json_decref(pred);
	if (r || (r = dsse_new(INTOTO_PAYLOAD_TYPE, st.p, st.len, &e)) || (r = dsse_sign(e, lab_key)) ||
	    (r = dsse_encode(e, out)))
		goto out;
	r = buf_addch(out, '\n');
out:
	dsse_free(e);
	free(sigs);
	buf_release(&st);
	buf_release(&root);
	return r;
}

int certificate_countersign(const char *json, size_t len, const struct note_signer *vendor_key,
			    struct buf *out)
{
	struct dsse *e = NULL;
	json_t *st = NULL;
	const unsigned char *p;
	size_t n;
	int r;
	if ((r = dsse_parse(json, len, &e)))
		return r;
	p = dsse_payload(e, &n);
	if (strcmp(dsse_payload_type(e), INTOTO_PAYLOAD_TYPE) || (r = intoto_parse(p, n, &st)) ||
	    strcmp(json_string_value(json_object_get(st, "predicateType")), CERTIFICATE_PREDICATE_TYPE)) {
		r = err_set(ERR_PARSE, "certificate: not a sealroom review certificate");
		goto out;
	}
	if (dsse_n_sigs(e) < 1) {
		r = err_set(ERR_AUTH, "certificate: the lab has not signed it");
		goto out;
	}
	if ((r = dsse_sign(e, vendor_key)) || (r = dsse_encode(e, out)))
		goto out;
	r = buf_addch(out, '\n');
out:
	json_decref(st);
	dsse_free(e);
	return r;
}

static const char *pstr(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

int certificate_verify(const char *json, size_t len, const unsigned char lab_pk[32],
		       const unsigned char vendor_pk[32], const struct note_verifier *log_key,
		       const char *tree, struct certificate_verified *out)
{
	struct dsse *e = NULL;
	json_t *st = NULL, *pred, *log;
	const unsigned char *p;
	const char *t256, *rel;
	size_t n;
	int r;
	memset(out, 0, sizeof(*out));
	if (!memcmp(lab_pk, vendor_pk, 32))
		return err_set(ERR_AUTH, "certificate: the lab key and the vendor key are one key; a "
			       "certificate needs both signatures");
	if ((r = dsse_parse(json, len, &e)))
		return r;
	if (strcmp(dsse_payload_type(e), INTOTO_PAYLOAD_TYPE)) {
		r = err_set(ERR_PARSE, "certificate: payload type '%.64s' is not in-toto", dsse_payload_type(e));
		goto out;
	}
	if ((r = dsse_verify(e, lab_pk))) {
		r = err_set(ERR_AUTH, "certificate: not signed by the lab key (%s)", err_msg());
		goto out;
	}
	if ((r = dsse_verify(e, vendor_pk))) {
		r = err_set(ERR_AUTH, "certificate: no countersignature by the vendor key (%s)", err_msg());
		goto out;
	}
	p = dsse_payload(e, &n);
	if ((r = intoto_parse(p, n, &st)))
		goto out;
	if (strcmp(pstr(st, "predicateType"), CERTIFICATE_PREDICATE_TYPE)) {
		r = err_set(ERR_PARSE, "certificate: predicate type is not %s", CERTIFICATE_PREDICATE_TYPE);
		goto out;
	}
	pred = json_object_get(st, "predicate");
	t256 = pstr(json_object_get(pred, "tree"), "sha256");
	rel = pstr(pred, "release");
	if (!t256 || !rel || !pstr(pred, "lab") || !intoto_has_subject(st, "gitTree", t256)) {
		r = err_set(ERR_PARSE, "certificate: the subject's gitTree is not the predicate's tree");
		goto out;
	}
	if (tree && strcmp(tree, t256)) {
		r = err_set(ERR_AUTH, "certificate: it is for tree %.16s..., not %.16s...", t256, tree);
		goto out;
	}
	log = json_object_get(pred, "log");
	if (log_key) {
		const char *note = pstr(log, "checkpoint");
		struct tlog_checkpoint cp;
		struct str text;
		struct buf root;
		if (!note || note_open(note, strlen(note), log_key, &text) ||
		    tlog_checkpoint_parse(text.p, text.len, &cp)) {
			r = err_set(ERR_AUTH, "certificate: its log checkpoint is not signed by the log key");
			goto out;
		}
		buf_init(&root, 64);
		if ((r = tlog_hash_b64(&root, cp.root)) == 0 &&
		    ((json_integer_value(json_object_get(log, "size")) != (json_int_t)cp.size) ||
		     !pstr(log, "root") || strcmp(pstr(log, "root"), root.p)))
			r = err_set(ERR_AUTH, "certificate: the log size or root it states is not its checkpoint's");
		buf_release(&root);
		if (r)
			goto out;
		out->log_checked = 1;
	}
	snprintf(out->release, sizeof(out->release), "%s", rel);
	snprintf(out->tree_sha256, sizeof(out->tree_sha256), "%s", t256);
	snprintf(out->lab, sizeof(out->lab), "%s", pstr(pred, "lab"));
	out->log_size = (uint64_t)json_integer_value(json_object_get(log, "size"));
out:
	json_decref(st);
	dsse_free(e);
	return r;
}
