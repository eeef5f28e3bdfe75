/* note: C2SP signed notes and Ed25519 key lines (compatible with Go's sumdb/note). */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "hash.h"
#include "note.h"

#define KEY_LINE_MAX 1024

struct note_signer {
	char *name;
	uint32_t hash;
	unsigned char pk[32];
	unsigned char *sk; /* 64 bytes, sodium_malloc */
};

struct note_wrapper {
	char *name;
	uint32_t hash;
	unsigned char pk[32];
	unsigned char *sk; /* 32 bytes, sodium_malloc */
};

struct note_verifier {
	char *name;
	uint32_t hash;
	unsigned char pk[32];
};

static const char em_dash[] = "\xe2\x80\x94 ";

int note_name_valid(const char *name, size_t len)
{
	if (!len)
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c <= 0x20 || c == 0x7f || c == '+')
			return 0;
	}
	return utf8_valid(name, len);
}

uint32_t note_key_hash(const char *name, unsigned char alg, const unsigned char pk[32])
{
	struct hash *h = hash_new(HASH_SHA256);
	unsigned char d[SHA256_LEN];
	hash_update(h, name, strlen(name));
	hash_update(h, "\n", 1);
	hash_update(h, &alg, 1);
	hash_update(h, pk, 32);
	hash_final(h, d);
	hash_free(h);
	return (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3];
}

/* Strict standard base64 (padded) into out of exactly want bytes. */
static int b64_exact(const char *s, size_t len, unsigned char *out, size_t want)
{
	size_t n = 0;
	const char *end = NULL;
	if (sodium_base642bin(out, want, s, len, NULL, &n, &end, sodium_base64_VARIANT_ORIGINAL) ||
	    n != want || end != s + len)
		return -1;
	return 0;
}

static int split_plus(const char *t, size_t len, struct str *f, int n)
{
	int i = 0;
	size_t start = 0;
	for (size_t j = 0; j <= len && i < n; j++) {
		if (j == len || t[j] == '+') {
			f[i].p = t + start;
			f[i].len = j - start;
			i++;
			start = j + 1;
			if (i == n - 1 && j < len) {
				f[i].p = t + start;
				f[i].len = len - start;
				return n;
			}
		}
	}
	return i;
}

static size_t trim_len(const char *t, size_t len)
{
	while (len && (t[len - 1] == '\n' || t[len - 1] == '\r' || t[len - 1] == ' ' ||
		       t[len - 1] == '\t'))
		len--;
	return len;
}

int note_key_generate(const char *name, struct buf *skey, struct buf *vkey)
{
	unsigned char pk[32], seed_alg[33];
	unsigned char *sk;
	uint32_t h;
	int r;
	if (!note_name_valid(name, strlen(name)))
		return err_set(ERR_USAGE, "key name '%s' is not valid: no spaces, '+' or control characters", name);
	sk = sodium_malloc(64);
	if (!sk)
		BUG("sodium_malloc failed");
	crypto_sign_keypair(pk, sk);
	h = note_key_hash(name, NOTE_ALG_ED25519, pk);
	seed_alg[0] = NOTE_ALG_ED25519;
	crypto_sign_ed25519_sk_to_seed(seed_alg + 1, sk);
	r = buf_addf(skey, "PRIVATE+KEY+%s+%08x+", name, h);
	if (!r)
		r = buf_addb64(skey, seed_alg, sizeof(seed_alg));
	if (!r)
		r = buf_addf(vkey, "%s+%08x+", name, h);
	if (!r) {
		unsigned char alg_pk[33];
		alg_pk[0] = NOTE_ALG_ED25519;
		memcpy(alg_pk + 1, pk, 32);
		r = buf_addb64(vkey, alg_pk, sizeof(alg_pk));
	}
	sodium_memzero(seed_alg, sizeof(seed_alg));
	sodium_free(sk);
	return r;
}

int note_signer_parse(const char *text, size_t len, struct note_signer **out)
{
	struct str f[5];
	unsigned char seed_alg[33];
	struct note_signer *s;
	char hex[9];
	len = trim_len(text, len);
	*out = NULL;
	if (len > KEY_LINE_MAX || split_plus(text, len, f, 5) != 5 || f[0].len != 7 ||
	    memcmp(f[0].p, "PRIVATE", 7) || f[1].len != 3 || memcmp(f[1].p, "KEY", 3))
		return err_set(ERR_PARSE, "not a signer key: wanted PRIVATE+KEY+<name>+<hash>+<key>");
	if (!note_name_valid(f[2].p, f[2].len) || f[3].len != 8)
		return err_set(ERR_PARSE, "signer key has a malformed name or hash");
	if (b64_exact(f[4].p, f[4].len, seed_alg, sizeof(seed_alg)) || seed_alg[0] != NOTE_ALG_ED25519) {
		sodium_memzero(seed_alg, sizeof(seed_alg));
		return err_set(ERR_PARSE, "signer key is not a base64 Ed25519 seed");
	}
	s = xcalloc(1, sizeof(*s));
	s->name = xstrndup(f[2].p, f[2].len);
	s->sk = sodium_malloc(64);
	if (!s->sk)
		BUG("sodium_malloc failed");
	crypto_sign_seed_keypair(s->pk, s->sk, seed_alg + 1);
	sodium_memzero(seed_alg, sizeof(seed_alg));
	s->hash = note_key_hash(s->name, NOTE_ALG_ED25519, s->pk);
	snprintf(hex, sizeof(hex), "%08x", s->hash);
	if (memcmp(hex, f[3].p, 8) && strncasecmp(hex, f[3].p, 8)) {
		note_signer_free(s);
		return err_set(ERR_CORRUPT, "signer key hash does not match its key");
	}
	*out = s;
	return 0;
}

/* Read a secret key file (regular, not readable by others) into b, wiped by the caller. */
static int read_secret_file(const char *path, struct buf *b)
{
	struct stat st;
	int r;
	if (stat(path, &st) < 0)
		return err_set(errno == ENOENT ? ERR_NOTFOUND : ERR_IO, "cannot read key '%s': %s",
			       path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return err_set(ERR_PARSE, "key '%s' is not a regular file", path);
	if (st.st_mode & 077)
		return err_set(ERR_DENIED, "key '%s' is readable by others (mode %03o); chmod 600 it",
			       path, st.st_mode & 0777);
	r = buf_read_file(b, path);
	if (r == ERR_TOOBIG)
		r = err_set(ERR_PARSE, "key '%s' is not a secret key (too long)", path);
	return r;
}

int note_signer_load(const char *path, struct note_signer **out)
{
	struct buf b;
	int r;
	*out = NULL;
	buf_init(&b, KEY_LINE_MAX + 2);
	r = read_secret_file(path, &b);
	if (!r) {
		r = note_signer_parse(b.p, b.len, out);
		if (r)
			err_set(r, "key '%s': %s", path, err_msg());
	}
	sodium_memzero(b.p, b.len);
	buf_release(&b);
	return r;
}

void note_signer_free(struct note_signer *s)
{
	if (!s)
		return;
	sodium_free(s->sk);
	free(s->name);
	free(s);
}

const char *note_signer_name(const struct note_signer *s) { return s->name; }
const unsigned char *note_signer_public(const struct note_signer *s) { return s->pk; }

int note_signer_vkey(const struct note_signer *s, struct buf *out)
{
	unsigned char alg_pk[33];
	int r = buf_addf(out, "%s+%08x+", s->name, s->hash);
	alg_pk[0] = NOTE_ALG_ED25519;
	memcpy(alg_pk + 1, s->pk, 32);
	return r ? r : buf_addb64(out, alg_pk, sizeof(alg_pk));
}

void note_signer_sign(const struct note_signer *s, const void *msg, size_t len, unsigned char sig[64])
{
	crypto_sign_detached(sig, NULL, msg, len, s->sk);
}

int note_verifier_parse(const char *text, size_t len, struct note_verifier **out)
{
	struct str f[3];
	unsigned char alg_pk[33];
	struct note_verifier *v;
	char hex[9];
	len = trim_len(text, len);
	*out = NULL;
	if (len > KEY_LINE_MAX || split_plus(text, len, f, 3) != 3 ||
	    !note_name_valid(f[0].p, f[0].len) || f[1].len != 8)
		return err_set(ERR_PARSE, "not a verifier key: wanted <name>+<hash>+<key>");
	if (b64_exact(f[2].p, f[2].len, alg_pk, sizeof(alg_pk)))
		return err_set(ERR_PARSE, "verifier key is not base64 of a 33-byte key");
	if (alg_pk[0] != NOTE_ALG_ED25519)
		return err_set(ERR_PARSE, "verifier key algorithm %u is not Ed25519", alg_pk[0]);
	v = xcalloc(1, sizeof(*v));
	v->name = xstrndup(f[0].p, f[0].len);
	memcpy(v->pk, alg_pk + 1, 32);
	v->hash = note_key_hash(v->name, NOTE_ALG_ED25519, v->pk);
	snprintf(hex, sizeof(hex), "%08x", v->hash);
	if (strncasecmp(hex, f[1].p, 8)) {
		note_verifier_free(v);
		return err_set(ERR_CORRUPT, "verifier key hash does not match its key");
	}
	*out = v;
	return 0;
}

int note_verifier_load(const char *path, struct note_verifier **out)
{
	struct buf b;
	int r;
	*out = NULL;
	buf_init(&b, KEY_LINE_MAX + 2);
	r = buf_read_file(&b, path);
	if (r == ERR_TOOBIG)
		r = err_set(ERR_PARSE, "'%s' is not a verifier key (too long)", path);
	if (!r) {
		r = note_verifier_parse(b.p, b.len, out);
		if (r)
			err_set(r, "key '%s': %s", path, err_msg());
	}
	buf_release(&b);
	return r;
}

void note_verifier_free(struct note_verifier *v)
{
	if (!v)
		return;
	free(v->name);
	free(v);
}

/* ---- wrapping keys ---- */

int note_wrap_generate(const char *name, struct buf *skey, struct buf *pkey)
{
	unsigned char pk[33], *sk;
	uint32_t h;
	int r;
	if (!note_name_valid(name, strlen(name)))
		return err_set(ERR_USAGE, "key name '%s' is not valid: no spaces, '+' or control characters", name);
	sk = sodium_malloc(33);
	if (!sk)
		BUG("sodium_malloc failed");
	sk[0] = pk[0] = NOTE_ALG_X25519;
	crypto_box_keypair(pk + 1, sk + 1);
	h = note_key_hash(name, NOTE_ALG_X25519, pk + 1);
	if (!(r = buf_addf(skey, "PRIVATE+WRAP+%s+%08x+", name, h)) && !(r = buf_addb64(skey, sk, 33)) &&
	    !(r = buf_addf(pkey, "%s+%08x+", name, h)))
		r = buf_addb64(pkey, pk, sizeof(pk));
	sodium_free(sk);
	return r;
}

int note_wrap_public_parse(const char *text, size_t len, unsigned char pk[32], struct buf *name)
{
	struct str f[3];
	unsigned char alg_pk[33];
	char hex[9], *n;
	len = trim_len(text, len);
	if (len > KEY_LINE_MAX || split_plus(text, len, f, 3) != 3 ||
	    !note_name_valid(f[0].p, f[0].len) || f[1].len != 8 ||
	    b64_exact(f[2].p, f[2].len, alg_pk, sizeof(alg_pk)) || alg_pk[0] != NOTE_ALG_X25519)
		return err_set(ERR_PARSE, "not a wrapping key: wanted <name>+<hash>+<base64 X25519 key>");
	n = xstrndup(f[0].p, f[0].len);
	snprintf(hex, sizeof(hex), "%08x", note_key_hash(n, NOTE_ALG_X25519, alg_pk + 1));
	if (strncasecmp(hex, f[1].p, 8)) {
		free(n);
		return err_set(ERR_CORRUPT, "wrapping key hash does not match its key");
	}
	memcpy(pk, alg_pk + 1, 32);
	if (name && buf_addstr(name, n)) {
		free(n);
		return ERR_TOOBIG;
	}
	free(n);
	return 0;
}

int note_wrapper_parse(const char *text, size_t len, struct note_wrapper **out)
{
	struct str f[5];
	unsigned char *sk_alg;
	struct note_wrapper *w;
	char hex[9];
	int r = 0;
	len = trim_len(text, len);
	*out = NULL;
	if (len > KEY_LINE_MAX || split_plus(text, len, f, 5) != 5 || f[0].len != 7 ||
	    memcmp(f[0].p, "PRIVATE", 7) || f[1].len != 4 || memcmp(f[1].p, "WRAP", 4))
		return err_set(ERR_PARSE, "not a wrapping key: wanted PRIVATE+WRAP+<name>+<hash>+<key>");
	if (!note_name_valid(f[2].p, f[2].len) || f[3].len != 8)
		return err_set(ERR_PARSE, "wrapping key has a malformed name or hash");
	sk_alg = sodium_malloc(33);
	if (!sk_alg)
		BUG("sodium_malloc failed");
	if (b64_exact(f[4].p, f[4].len, sk_alg, 33) || sk_alg[0] != NOTE_ALG_X25519) {
		sodium_free(sk_alg);
		return err_set(ERR_PARSE, "wrapping key is not a base64 X25519 secret key");
	}
	w = xcalloc(1, sizeof(*w));
	w->name = xstrndup(f[2].p, f[2].len);
	w->sk = sodium_malloc(32);
	if (!w->sk)
		BUG("sodium_malloc failed");
	memcpy(w->sk, sk_alg + 1, 32);
	sodium_free(sk_alg);
	crypto_scalarmult_base(w->pk, w->sk);
	w->hash = note_key_hash(w->name, NOTE_ALG_X25519, w->pk);
	snprintf(hex, sizeof(hex), "%08x", w->hash);
	if (strncasecmp(hex, f[3].p, 8)) {
		note_wrapper_free(w);
		return err_set(ERR_CORRUPT, "wrapping key hash does not match its key");
	}
	*out = w;
	return r;
}

int note_wrapper_load(const char *path, struct note_wrapper **out)
{
	struct buf b;
	int r;
	*out = NULL;
	buf_init(&b, KEY_LINE_MAX + 2);
	r = read_secret_file(path, &b);
	if (!r && (r = note_wrapper_parse(b.p, b.len, out)))
		err_set(r, "key '%s': %s", path, err_msg());
	sodium_memzero(b.p, b.len);
	buf_release(&b);
	return r;
}

void note_wrapper_free(struct note_wrapper *w)
{
	if (!w)
		return;
	sodium_free(w->sk);
	free(w->name);
	free(w);
}

const unsigned char *note_wrapper_public(const struct note_wrapper *w) { return w->pk; }
const unsigned char *note_wrapper_secret(const struct note_wrapper *w) { return w->sk; }

int note_wrapper_pkey(const struct note_wrapper *w, struct buf *out)
{
	unsigned char alg_pk[33];
	int r = buf_addf(out, "%s+%08x+", w->name, w->hash);
	alg_pk[0] = NOTE_ALG_X25519;
	memcpy(alg_pk + 1, w->pk, 32);
	return r ? r : buf_addb64(out, alg_pk, sizeof(alg_pk));
}

const char *note_verifier_name(const struct note_verifier *v) { return v->name; }
const unsigned char *note_verifier_public(const struct note_verifier *v) { return v->pk; }

/* Text must be non-empty UTF-8, end in "\n", and hold no other control bytes but "\n". */
static int text_valid(const char *t, size_t len)
{
	if (!len || t[len - 1] != '\n')
		return err_set(ERR_PARSE, "note text must end with a newline");
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)t[i];
		if ((c < 0x20 && c != '\n') || c == 0x7f)
			return err_set(ERR_PARSE, "note text holds control byte 0x%02x", c);
	}
	if (!utf8_valid(t, len))
		return err_set(ERR_PARSE, "note text is not UTF-8");
	return 0;
}

int note_sign(const char *text, size_t len, const struct note_signer *signer, struct buf *out)
{
	unsigned char sig[4 + 64];
	int r = text_valid(text, len);
	if (r)
		return r;
	sig[0] = (unsigned char)(signer->hash >> 24);
	sig[1] = (unsigned char)(signer->hash >> 16);
	sig[2] = (unsigned char)(signer->hash >> 8);
	sig[3] = (unsigned char)signer->hash;
	crypto_sign_detached(sig + 4, NULL, (const unsigned char *)text, len, signer->sk);
	if ((r = buf_add(out, text, len)) || (r = buf_addch(out, '\n')) ||
	    (r = buf_addstr(out, em_dash)) || (r = buf_addstr(out, signer->name)) ||
	    (r = buf_addch(out, ' ')) || (r = buf_addb64(out, sig, sizeof(sig))))
		return r;
	return buf_addch(out, '\n');
}

int note_split(const char *note, size_t len, struct str *text, struct note_sig *sigs, size_t *n_sigs)
{
	size_t split = 0, i;
	int found = 0;
	*n_sigs = 0;
	if (len > (1u << 20))
		return err_set(ERR_TOOBIG, "note is larger than 1 MiB");
	/* the last "\n\n" separates the text from the signatures */
	for (i = len; i >= 2; i--) {
		if (note[i - 1] == '\n' && note[i - 2] == '\n') {
			split = i - 1;
			found = 1;
			break;
		}
	}
	if (!found || len == 0 || note[len - 1] != '\n')
		return err_set(ERR_PARSE, "malformed note: no blank line before the signatures");
	text->p = note;
	text->len = split;
	if (text_valid(note, split))
		return ERR_PARSE;
	for (i = split + 1; i < len;) {
		const char *line = note + i, *nl = memchr(line, '\n', len - i), *sp;
		size_t ll = (size_t)(nl - line);
		struct note_sig *s;
		unsigned char raw[4 + 128];
		size_t raw_len = 0;
		const char *end = NULL;
		if (*n_sigs >= NOTE_MAX_SIGS)
			return err_set(ERR_TOOBIG, "note has more than %d signatures", NOTE_MAX_SIGS);
		if (ll < 4 || memcmp(line, em_dash, 4))
			return err_set(ERR_PARSE, "malformed note: signature line does not start with an em dash");
		sp = memchr(line + 4, ' ', ll - 4);
		if (!sp)
			return err_set(ERR_PARSE, "malformed note: signature line has no key name");
		s = &sigs[*n_sigs];
		s->name.p = line + 4;
		s->name.len = (size_t)(sp - s->name.p);
		if (!note_name_valid(s->name.p, s->name.len))
			return err_set(ERR_PARSE, "malformed note: bad key name in a signature line");
		if (sodium_base642bin(raw, sizeof(raw), sp + 1, (size_t)(nl - sp - 1), NULL, &raw_len,
				      &end, sodium_base64_VARIANT_ORIGINAL) ||
		    end != nl || raw_len < 5)
			return err_set(ERR_PARSE, "malformed note: signature is not base64");
		s->hash = (uint32_t)raw[0] << 24 | (uint32_t)raw[1] << 16 | (uint32_t)raw[2] << 8 | raw[3];
		s->sig_len = raw_len - 4;
		memcpy(s->sig, raw + 4, s->sig_len);
		(*n_sigs)++;
		i += ll + 1;
	}
	if (!*n_sigs)
		return err_set(ERR_PARSE, "malformed note: no signatures");
	return 0;
}

int note_open(const char *note, size_t len, const struct note_verifier *v, struct str *text)
{
	struct note_sig *sigs = xcalloc(NOTE_MAX_SIGS, sizeof(*sigs));
	size_t n = 0;
	int r = note_split(note, len, text, sigs, &n), seen = 0;
	if (r)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (sigs[i].hash != v->hash || sigs[i].name.len != strlen(v->name) ||
		    memcmp(sigs[i].name.p, v->name, sigs[i].name.len))
			continue;
		if (sigs[i].sig_len != 64 ||
		    crypto_sign_verify_detached(sigs[i].sig, (const unsigned char *)text->p,
						text->len, v->pk)) {
			r = err_set(ERR_AUTH, "signature by '%s' does not verify", v->name);
			goto out;
		}
		seen = 1;
	}
	if (!seen)
		r = err_set(ERR_AUTH, "note is not signed by '%s'", v->name);
out:
	free(sigs);
	return r;
}
