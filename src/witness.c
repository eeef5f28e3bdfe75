/* witness: tlog-cosignature v1.0.1 cosigning with a remembered, consistency-checked state. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "hash.h"
#include "witness.h"

#define STATE_MAX (1 << 20)

struct witness_verifier {
	char *name;
	uint32_t id;
	unsigned char pk[32];
};

static const char em_dash[] = "\xe2\x80\x94 ";

uint32_t witness_key_id(const char *name, const unsigned char pk[32])
{
	return note_key_hash(name, NOTE_ALG_COSIG, pk);
}

int witness_vkey(const struct note_signer *s, struct buf *out)
{
	unsigned char alg_pk[33];
	int r = buf_addf(out, "%s+%08x+", note_signer_name(s),
			 witness_key_id(note_signer_name(s), note_signer_public(s)));
	alg_pk[0] = NOTE_ALG_COSIG;
	memcpy(alg_pk + 1, note_signer_public(s), 32);
	return r ? r : buf_addb64(out, alg_pk, sizeof(alg_pk));
}

int witness_verifier_parse(const char *text, size_t len, struct witness_verifier **out)
{
	const char *p1, *p2;
	unsigned char alg_pk[34];
	size_t n = 0;
	const char *end = NULL;
	struct witness_verifier *w;
	char hex[9];
	*out = NULL;
	while (len && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' '))
		len--;
	p1 = len < 1024 ? memchr(text, '+', len) : NULL;
	p2 = p1 ? memchr(p1 + 1, '+', len - (size_t)(p1 + 1 - text)) : NULL;
	if (!p2 || !note_name_valid(text, (size_t)(p1 - text)) || p2 - p1 != 9)
		return err_set(ERR_PARSE, "not a cosigner key: wanted <name>+<hash>+<key>");
	if (sodium_base642bin(alg_pk, sizeof(alg_pk), p2 + 1, len - (size_t)(p2 + 1 - text), NULL, &n, &end,
			      sodium_base64_VARIANT_ORIGINAL) || end != text + len || n != 33)
		return err_set(ERR_PARSE, "cosigner key is not base64 of a 33-byte key");
	if (alg_pk[0] != NOTE_ALG_COSIG)
		return err_set(ERR_PARSE, "key type %u is not a cosignature key (0x04); make one with "
			       "'sealroom log witness-vkey --key FILE'", alg_pk[0]);
	w = xcalloc(1, sizeof(*w));
	w->name = xstrndup(text, (size_t)(p1 - text));
	memcpy(w->pk, alg_pk + 1, 32);
	w->id = witness_key_id(w->name, w->pk);
	snprintf(hex, sizeof(hex), "%08x", w->id);
	if (strncasecmp(hex, p1 + 1, 8)) {
		witness_verifier_free(w);
		return err_set(ERR_CORRUPT, "cosigner key hash does not match its key");
	}
	*out = w;
	return 0;
}

int witness_verifier_load(const char *path, struct witness_verifier **out)
{
	struct buf b;
	int r;
	*out = NULL;
	buf_init(&b, 2048);
	r = buf_read_file(&b, path);
	if (!r)
		r = witness_verifier_parse(b.p, b.len, out);
	if (r) {
		char m[1024];
		snprintf(m, sizeof(m), "%s", err_msg());
		r = err_set(r, "cosigner key '%s': %s", path, m);
	}
	buf_release(&b);
	return r;
}

void witness_verifier_free(struct witness_verifier *w)
{
	if (!w)
		return;
	free(w->name);
	free(w);
}

const char *witness_verifier_name(const struct witness_verifier *w) { return w->name; }

/* "cosignature/v1\ntime <t>\n" || body. */
static void message(struct buf *m, const char *text, size_t len, uint64_t t)
{
	if (buf_addf(m, "cosignature/v1\ntime %llu\n", (unsigned long long)t) || buf_add(m, text, len))
		BUG("cosignature message too large");
}

int witness_sign_line(const struct note_signer *s, const char *text, size_t len, uint64_t t, struct buf *out)
{
	unsigned char sig[4 + 8 + 64];
	uint32_t id = witness_key_id(note_signer_name(s), note_signer_public(s));
	struct buf m;
	int r;
	if (t > INT64_MAX)
		return err_set(ERR_USAGE, "cosignature time is past 2^63 - 1");
	buf_init(&m, 0);
	message(&m, text, len, t);
	for (int i = 0; i < 4; i++)
		sig[i] = (unsigned char)(id >> (24 - 8 * i));
	for (int i = 0; i < 8; i++)
		sig[4 + i] = (unsigned char)(t >> (56 - 8 * i));
	note_signer_sign(s, m.p, m.len, sig + 12);
	buf_release(&m);
	if ((r = buf_addstr(out, em_dash)) || (r = buf_addstr(out, note_signer_name(s))) ||
	    (r = buf_addch(out, ' ')) || (r = buf_addb64(out, sig, sizeof(sig))))
		return r;
	return buf_addch(out, '\n');
}

int witness_check(const struct witness_verifier *w, const char *note, size_t len, struct str *line, uint64_t *t)
{
	struct note_sig *sigs = xcalloc(NOTE_MAX_SIGS, sizeof(*sigs));
	struct str text;
	size_t n;
	int r = note_split(note, len, &text, sigs, &n), seen = 0;
	for (size_t i = 0; !r && i < n; i++) {
		struct buf m;
		uint64_t ts = 0;
		const char *nl;
		if (sigs[i].hash != w->id || sigs[i].name.len != strlen(w->name) ||
		    memcmp(sigs[i].name.p, w->name, sigs[i].name.len))
			continue;
		if (sigs[i].sig_len != 72) {
			r = err_set(ERR_AUTH, "cosignature by '%s' is not 72 bytes", w->name);
			break;
		}
		for (int k = 0; k < 8; k++)
			ts = ts << 8 | sigs[i].sig[k];
		buf_init(&m, 0);
		message(&m, text.p, text.len, ts);
		if (ts > INT64_MAX ||
		    crypto_sign_verify_detached(sigs[i].sig + 8, (const unsigned char *)m.p, m.len, w->pk))
			r = err_set(ERR_AUTH, "cosignature by '%s' does not verify", w->name);
		buf_release(&m);
		if (r)
			break;
		line->p = sigs[i].name.p - 4;
		nl = memchr(line->p, '\n', len - (size_t)(line->p - note));
		line->len = (size_t)(nl - line->p);
		*t = ts;
		seen = 1;
		break;
	}
	free(sigs);
	if (!r && !seen)
		r = err_set(ERR_NOTFOUND, "checkpoint is not cosigned by '%s'", w->name);
	return r;
}

static char *state_path(const char *key_path)
{
	struct buf b;
	buf_init(&b, 0);
	if (buf_addf(&b, "%s.state", key_path))
		BUG("path");
	return buf_detach(&b, NULL);
}

/* Find origin's line in the state text: *have, *size, root; at and end span the line. */
static int state_find(const char *st, size_t len, const char *origin, size_t olen, int *have,
		      uint64_t *size, unsigned char root[TLOG_HASH_LEN], size_t *at, size_t *end)
{
	size_t pos = 0;
	*have = 0;
	while (pos < len) {
		const char *l = st + pos, *nl = memchr(l, '\n', len - pos), *sp1, *sp2;
		size_t ll;
		char num[24];
		if (!nl)
			return err_set(ERR_CORRUPT, "witness state: last line is unterminated");
		ll = (size_t)(nl - l);
		sp1 = memchr(l, ' ', ll);
		sp2 = sp1 ? memchr(sp1 + 1, ' ', ll - (size_t)(sp1 + 1 - l)) : NULL;
		if (!sp2 || sp2 - sp1 - 1 < 1 || sp2 - sp1 - 1 > 20)
			return err_set(ERR_CORRUPT, "witness state: malformed line");
		if ((size_t)(sp1 - l) == olen && !memcmp(l, origin, olen)) {
			char *e;
			memcpy(num, sp1 + 1, (size_t)(sp2 - sp1 - 1));
			num[sp2 - sp1 - 1] = 0;
			errno = 0;
			*size = strtoull(num, &e, 10);
			if (errno || *e || tlog_hash_unb64(sp2 + 1, (size_t)(nl - sp2 - 1), root))
				return err_set(ERR_CORRUPT, "witness state: malformed line for '%.*s'", (int)olen, origin);
			*have = 1;
			*at = pos;
			*end = pos + ll + 1;
			return 0;
		}
		pos += ll + 1;
	}
	*at = *end = len;
	return 0;
}

int witness_state_get(const char *key_path, const char *origin, size_t origin_len, int *have,
		      uint64_t *size, unsigned char root[TLOG_HASH_LEN])
{
	char *sp = state_path(key_path);
	struct buf st;
	size_t at, end;
	int r;
	buf_init(&st, STATE_MAX);
	*have = 0;
	r = buf_read_file(&st, sp);
	if (r && access(sp, F_OK) < 0 && errno == ENOENT)
		r = 0;
	if (!r)
		r = state_find(st.p, st.len, origin, origin_len, have, size, root, &at, &end);
	buf_release(&st);
	free(sp);
	return r;
}

/* Replace path's contents with (p, len) atomically and durably. */
static int replace_file(const char *path, const char *p, size_t len)
{
	struct buf tmp;
	int fd, r = 0;
	buf_init(&tmp, 0);
	if (buf_addf(&tmp, "%s.tmp", path))
		BUG("path");
	fd = open(tmp.p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		r = err_set(ERR_IO, "cannot write '%s': %s", tmp.p, strerror(errno));
		goto out;
	}
	while (len && !r) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			r = err_set(ERR_IO, "cannot write '%s': %s", tmp.p, strerror(errno));
		else
			p += n, len -= (size_t)n;
	}
	if (!r && fsync(fd) < 0)
		r = err_set(ERR_IO, "cannot sync '%s': %s", tmp.p, strerror(errno));
	close(fd);
	if (!r && rename(tmp.p, path) < 0)
		r = err_set(ERR_IO, "cannot replace '%s': %s", path, strerror(errno));
out:
	buf_release(&tmp);
	return r;
}

int witness_cosign(const char *key_path, const char *note, size_t len, const struct note_verifier *log_v,
		   const unsigned char (*proof)[TLOG_HASH_LEN], size_t n_proof, struct buf *out)
{
	struct note_signer *s = NULL;
	struct tlog_checkpoint c;
	struct str text;
	struct buf st, nst, lock_path;
	unsigned char old_root[TLOG_HASH_LEN];
	uint64_t old_size = 0;
	size_t at = 0, end = 0;
	char *sp = state_path(key_path);
	int have = 0, lock = -1, r;
	buf_init(&st, STATE_MAX);
	buf_init(&nst, STATE_MAX + 256);
	buf_init(&lock_path, 0);
	if ((r = note_signer_load(key_path, &s)))
		goto out;
	if ((r = note_open(note, len, log_v, &text)) || (r = tlog_checkpoint_parse(text.p, text.len, &c)))
		goto out;
	if (memchr(c.origin.p, ' ', c.origin.len)) {
		r = err_set(ERR_PARSE, "witness: origin '%.*s' has a space", (int)c.origin.len, c.origin.p);
		goto out;
	}
	if (buf_addf(&lock_path, "%s.lock", sp))
		BUG("path");
	lock = open(lock_path.p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lock < 0 || flock(lock, LOCK_EX) < 0) {
		r = err_set(ERR_IO, "cannot lock '%s': %s", lock_path.p, strerror(errno));
		goto out;
	}
	r = buf_read_file(&st, sp);
	if (r && access(sp, F_OK) < 0 && errno == ENOENT)
		r = 0;
	if (r || (r = state_find(st.p, st.len, c.origin.p, c.origin.len, &have, &old_size, old_root, &at, &end)))
		goto out;
	if (have) {
		char m[1024];
		if (c.size < old_size) {
			r = err_set(ERR_DENIED, "witness: refusing to cosign size %llu: it cosigned size %llu before "
				    "(the log was rolled back)", (unsigned long long)c.size, (unsigned long long)old_size);
			goto out;
		}
		if (c.size == old_size && sodium_memcmp(c.root, old_root, TLOG_HASH_LEN)) {
			r = err_set(ERR_DENIED, "witness: refusing to cosign: size %llu has a different root than the one "
				    "it cosigned before (the log forked)", (unsigned long long)c.size);
			goto out;
		}
		if (c.size > old_size && old_size &&
		    tlog_verify_consistency(old_size, c.size, old_root, TLOG_HASH_LEN, c.root, TLOG_HASH_LEN,
					    proof, proof ? n_proof : 0)) {
			snprintf(m, sizeof(m), "%s", err_msg());
			r = err_set(ERR_DENIED, "witness: refusing to cosign size %llu: not proven consistent with size "
				    "%llu cosigned before: %s", (unsigned long long)c.size, (unsigned long long)old_size, m);
			goto out;
		}
	}
	/* the new state: every other log's line, then this one */
	if ((r = buf_add(&nst, st.p, at)) || (r = buf_add(&nst, st.p + end, st.len - end)) ||
	    (r = buf_addf(&nst, "%.*s %llu ", (int)c.origin.len, c.origin.p, (unsigned long long)c.size)) ||
	    (r = tlog_hash_b64(&nst, c.root)) || (r = buf_addch(&nst, '\n')))
		goto out;
	if ((r = replace_file(sp, nst.p, nst.len)))
		goto out;
	if ((r = buf_add(out, note, len)))
		goto out;
	r = witness_sign_line(s, text.p, text.len, (uint64_t)time(NULL), out);
out:
	if (lock >= 0)
		close(lock);
	note_signer_free(s);
	buf_release(&st);
	buf_release(&nst);
	buf_release(&lock_path);
	free(sp);
	return r;
}
