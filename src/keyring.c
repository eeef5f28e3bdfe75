/* keyring: unlocked data keys in locked memory, and the unlock channel (see keyring.h). */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "auth.h"
#include "hash.h"
#include "manifest.h"
#include "keyring.h"
#include "logdb.h"
#include "policy.h"
#include "release.h"

#define REF_MAX (2 * RELEASE_NAME_MAX + 2)
#define IO_TIMEOUT_SECONDS 10
#define SEAL_NOTE_MAX 8192

/* A request the server made and waits for the vendor's response to. */
struct pending {
	char ref[REF_MAX];
	int64_t until, made;
	unsigned char pk[32], challenge[32];
	unsigned char *sk; /* sodium_malloc, no access between uses */
};

struct slot {
	char ref[REF_MAX];
	int64_t until;
	unsigned char *key; /* sodium_malloc, no access between uses */
};

struct keyring {
	pthread_mutex_t lock;
	struct slot slots[KEYRING_MAX_KEYS];
	int n;
	struct pending pend[KEYRING_PENDING_MAX];
	int n_pend;
};

static void pending_remove(struct keyring *k, int i)
{
	if (k->pend[i].sk) {
		sodium_mprotect_readwrite(k->pend[i].sk);
		sodium_free(k->pend[i].sk);
	}
	k->pend[i] = k->pend[--k->n_pend];
	memset(&k->pend[k->n_pend], 0, sizeof(k->pend[0]));
}

int keyring_new(struct keyring **out)
{
	struct keyring *k = xcalloc(1, sizeof(*k));
	pthread_mutex_init(&k->lock, NULL);
	*out = k;
	return 0;
}

static void slot_wipe(struct slot *s)
{
	if (s->key) {
		sodium_mprotect_readwrite(s->key);
		sodium_free(s->key); /* sodium_free zeroes the memory */
	}
	memset(s, 0, sizeof(*s));
}

/* Remove slot i, keeping the array dense. Lock held. */
static void slot_remove(struct keyring *k, int i)
{
	slot_wipe(&k->slots[i]);
	k->slots[i] = k->slots[k->n - 1];
	memset(&k->slots[k->n - 1], 0, sizeof(k->slots[0]));
	k->n--;
}

void keyring_free(struct keyring *k)
{
	if (!k)
		return;
	for (int i = 0; i < k->n; i++)
		slot_wipe(&k->slots[i]);
	while (k->n_pend)
		pending_remove(k, 0);
	pthread_mutex_destroy(&k->lock);
	free(k);
}

static int find(struct keyring *k, const char *ref)
{
	for (int i = 0; i < k->n; i++)
		if (!strcmp(k->slots[i].ref, ref))
			return i;
	return -1;
}

int keyring_put(struct keyring *k, const char *product, const char *version,
		const unsigned char raw[VAULT_KEY_LEN], int64_t until)
{
	char ref[REF_MAX];
	int i, r = 0;
	snprintf(ref, sizeof(ref), "%s@%s", product, version);
	pthread_mutex_lock(&k->lock);
	i = find(k, ref);
	if (i < 0) {
		if (k->n == KEYRING_MAX_KEYS) {
			r = err_set(ERR_TOOBIG, "keyring: more than %d releases unlocked at once", KEYRING_MAX_KEYS);
			goto out;
		}
		i = k->n++;
		snprintf(k->slots[i].ref, sizeof(k->slots[i].ref), "%s", ref);
		k->slots[i].key = sodium_malloc(VAULT_KEY_LEN);
		if (!k->slots[i].key)
			BUG("sodium_malloc");
	}
	sodium_mprotect_readwrite(k->slots[i].key);
	memcpy(k->slots[i].key, raw, VAULT_KEY_LEN);
	sodium_mprotect_noaccess(k->slots[i].key);
	k->slots[i].until = until;
out:
	pthread_mutex_unlock(&k->lock);
	return r;
}

int keyring_get(struct keyring *k, const char *product, const char *version, int64_t now,
		struct vault_key **out)
{
	char ref[REF_MAX];
	int i, r;
	snprintf(ref, sizeof(ref), "%s@%s", product, version);
	pthread_mutex_lock(&k->lock);
	i = find(k, ref);
	if (i >= 0 && now >= k->slots[i].until) {
		slot_remove(k, i);
		i = -1;
	}
	if (i < 0) {
		r = err_set(ERR_NOTFOUND, "release '%s' is locked: the vendor must unlock it", ref);
	} else {
		sodium_mprotect_readonly(k->slots[i].key);
		r = vault_key_from_bytes(k->slots[i].key, out);
		sodium_mprotect_noaccess(k->slots[i].key);
	}
	pthread_mutex_unlock(&k->lock);
	return r;
}

int keyring_until(struct keyring *k, const char *product, const char *version, int64_t now, int64_t *until)
{
	char ref[REF_MAX];
	int64_t end = 0;
	int i;
	snprintf(ref, sizeof(ref), "%s@%s", product, version);
	pthread_mutex_lock(&k->lock);
	if ((i = find(k, ref)) >= 0 && now < k->slots[i].until)
		end = k->slots[i].until;
	pthread_mutex_unlock(&k->lock);
	if (!end)
		return ERR_NOTFOUND;
	*until = end;
	return 0;
}

int keyring_drop(struct keyring *k, const char *product, const char *version)
{
	char ref[REF_MAX];
	int i;
	snprintf(ref, sizeof(ref), "%s@%s", product, version);
	pthread_mutex_lock(&k->lock);
	i = find(k, ref);
	if (i >= 0)
		slot_remove(k, i);
	pthread_mutex_unlock(&k->lock);
	return i >= 0;
}

int keyring_expire(struct keyring *k, int64_t now)
{
	int n = 0;
	pthread_mutex_lock(&k->lock);
	for (int i = k->n - 1; i >= 0; i--)
		if (now >= k->slots[i].until) {
			slot_remove(k, i);
			n++;
		}
	pthread_mutex_unlock(&k->lock);
	return n;
}

/* ---- the texts that cross: request and response ---- */

static const char req_head[] = "sealroom/unlock-request/v1";
static const char resp_head[] = "sealroom/unlock/v1";
static const char *const req_keys[] = {"facility", "release", "until", "server-key", "challenge",
				       "wrapped-key", "seal"};
static const char *const resp_keys[] = {"facility", "release", "seal-sha256", "until", "server-key",
					"challenge", "key"};
#define N_REQ (sizeof(req_keys) / sizeof(req_keys[0]))
#define N_RESP (sizeof(resp_keys) / sizeof(resp_keys[0]))

/*
 * Split text (head line, then one "key value" line per key, in order, nothing else) into
 * vals. ERR_PARSE naming the first line that is not where it belongs.
 */
static int kv_parse(const char *what, const char *text, size_t len, const char *headline,
		    const char *const *keys, size_t n, struct str *vals)
{
	const char *p = text, *end = text + len, *nl;
	size_t hl = strlen(headline);
	if (len > KEYRING_FILE_MAX)
		return err_set(ERR_TOOBIG, "the %s is larger than %d bytes", what, KEYRING_FILE_MAX);
	nl = memchr(p, '\n', len);
	if (!nl || (size_t)(nl - p) != hl || memcmp(p, headline, hl))
		return err_set(ERR_PARSE, "not an unlock %s: the first line is not '%s'", what, headline);
	p = nl + 1;
	for (size_t i = 0; i < n; i++) {
		size_t kl = strlen(keys[i]);
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl || (size_t)(nl - p) <= kl + 1 || memcmp(p, keys[i], kl) || p[kl] != ' ')
			return err_set(ERR_PARSE, "malformed unlock %s: no '%s' line where one belongs", what, keys[i]);
		vals[i].p = p + kl + 1;
		vals[i].len = (size_t)(nl - vals[i].p);
		for (size_t j = 0; j < vals[i].len; j++)
			if ((unsigned char)vals[i].p[j] < 0x21 || (unsigned char)vals[i].p[j] > 0x7e)
				return err_set(ERR_PARSE, "malformed unlock %s: the '%s' line holds a space or control byte",
					       what, keys[i]);
		p = nl + 1;
	}
	if (p != end)
		return err_set(ERR_PARSE, "malformed unlock %s: lines after the '%s' line", what, keys[n - 1]);
	return 0;
}

/* Strict base64 of exactly want bytes. */
static int b64_field(const char *what, struct str v, unsigned char *out, size_t want)
{
	size_t n = 0;
	const char *end = NULL;
	if (sodium_base642bin(out, want, v.p, v.len, NULL, &n, &end, sodium_base64_VARIANT_ORIGINAL) ||
	    n != want || end != v.p + v.len)
		return err_set(ERR_PARSE, "malformed unlock: '%s' is not base64 of %zu bytes", what, want);
	return 0;
}

static int hex_field(const char *what, struct str v, unsigned char *out, size_t want)
{
	size_t n = 0;
	if (v.len != 2 * want || sodium_hex2bin(out, want, v.p, v.len, NULL, &n, NULL) || n != want)
		return err_set(ERR_PARSE, "malformed unlock: '%s' is not %zu hex bytes", what, want);
	for (size_t i = 0; i < v.len; i++)
		if (v.p[i] >= 'A' && v.p[i] <= 'F')
			return err_set(ERR_PARSE, "malformed unlock: '%s' is not lowercase hex", what);
	return 0;
}

static int int_field(const char *what, struct str v, int64_t *out)
{
	int64_t n = 0;
	if (!v.len || v.len > 18 || (v.len > 1 && v.p[0] == '0'))
		return err_set(ERR_PARSE, "malformed unlock: '%s' is not a number", what);
	for (size_t i = 0; i < v.len; i++) {
		if (v.p[i] < '0' || v.p[i] > '9')
			return err_set(ERR_PARSE, "malformed unlock: '%s' is not a number", what);
		n = n * 10 + (v.p[i] - '0');
	}
	*out = n;
	return 0;
}

static void copy_str(char *dst, size_t cap, struct str v)
{
	snprintf(dst, cap, "%.*s", (int)(v.len < cap ? v.len : cap - 1), v.p);
}

static void seal_hash_hex(const char *note, size_t len, char hex[65])
{
	unsigned char h[SHA256_LEN];
	sha256(note, len, h);
	hex_encode(hex, h, sizeof(h));
}

int keyring_request(struct keyring *k, struct facility *f, const char *product, const char *version,
		    int64_t until, struct buf *req)
{
	struct release_info ri;
	struct pending *p;
	char state[16], ref[REF_MAX];
	int64_t now = (int64_t)time(NULL);
	int r;
	snprintf(ref, sizeof(ref), "%s@%s", product, version);
	if (until <= now || until > now + KEYRING_WINDOW_MAX)
		return err_set(ERR_USAGE, "an unlock window must end within %d days", KEYRING_WINDOW_MAX / 86400);
	if ((r = release_get(f, product, version, &ri)))
		return r;
	if (!(r = policy_release_state(f, product, version, state)) && state[0])
		r = err_set(ERR_DENIED, "release '%s' is %s", ref, state);
	if (!r && !ri.wrapped_key)
		r = err_set(ERR_DENIED, "release '%s' was shredded", ref);
	if (r)
		goto out;
	pthread_mutex_lock(&k->lock);
	for (int i = k->n_pend - 1; i >= 0; i--)
		if (now - k->pend[i].made > KEYRING_PENDING_TTL)
			pending_remove(k, i);
	if (k->n_pend == KEYRING_PENDING_MAX) {
		pthread_mutex_unlock(&k->lock);
		r = err_set(ERR_TOOBIG, "%d unlock requests wait for a response already; apply or restart first",
			    KEYRING_PENDING_MAX);
		goto out;
	}
	p = &k->pend[k->n_pend++];
	snprintf(p->ref, sizeof(p->ref), "%s", ref);
	p->until = until;
	p->made = now;
	p->sk = sodium_malloc(32);
	if (!p->sk)
		BUG("sodium_malloc");
	crypto_box_keypair(p->pk, p->sk);
	sodium_mprotect_noaccess(p->sk);
	randombytes_buf(p->challenge, sizeof(p->challenge));
	if ((r = buf_addf(req, "%s\nfacility %s\nrelease %s\nuntil %" PRId64 "\nserver-key ", req_head,
			  facility_name(f), ref, until)) ||
	    (r = buf_addb64(req, p->pk, 32)) || (r = buf_addstr(req, "\nchallenge ")) ||
	    (r = buf_addhex(req, p->challenge, 32)) || (r = buf_addstr(req, "\nwrapped-key ")) ||
	    (r = buf_addb64(req, ri.wrapped_key, ri.wrapped_len)) || (r = buf_addstr(req, "\nseal ")) ||
	    (r = buf_addb64(req, ri.seal_note, strlen(ri.seal_note))) || (r = buf_addch(req, '\n')))
		pending_remove(k, k->n_pend - 1);
	pthread_mutex_unlock(&k->lock);
out:
	release_info_release(&ri);
	return r;
}

int keyring_respond(const char *req, size_t len, const struct note_signer *vendor,
		    const struct note_wrapper *wrap, int64_t now, struct buf *resp,
		    struct keyring_unlock_info *info)
{
	struct str v[N_REQ];
	struct release_info row = {0};
	struct vault_key *key = NULL;
	unsigned char spk[32], challenge[32], box[VAULT_SEALED_KEY_LEN];
	char product[RELEASE_NAME_MAX + 1], version[RELEASE_NAME_MAX + 1], ref[REF_MAX], sh[65];
	struct buf text, vk, sealb, wrapped;
	int64_t until;
	size_t n;
	int r;
	memset(info, 0, sizeof(*info));
	buf_init(&text, KEYRING_FILE_MAX);
	buf_init(&vk, 4096);
	buf_init(&sealb, SEAL_NOTE_MAX);
	buf_init(&wrapped, 4096);
	if ((r = kv_parse("request", req, len, req_head, req_keys, N_REQ, v)))
		goto out;
	if (!note_name_valid(v[0].p, v[0].len) || v[0].len >= sizeof(info->facility)) {
		r = err_set(ERR_PARSE, "malformed unlock request: the facility name is not valid");
		goto out;
	}
	copy_str(ref, sizeof(ref), v[1]);
	if (v[1].len >= REF_MAX || (r = release_parse_ref(ref, product, version)) ||
	    (r = int_field("until", v[2], &until)) || (r = b64_field("server-key", v[3], spk, 32)) ||
	    (r = hex_field("challenge", v[4], challenge, 32)))
		goto bad;
	if (until <= now || until > now + KEYRING_WINDOW_MAX) {
		r = err_set(ERR_DENIED, "the request asks for a window ending %s", until <= now ? "in the past"
											: "more than 31 days ahead");
		goto out;
	}
	/* the seal and wrapped key, as the facility's catalogue holds them */
	if ((r = buf_grow(&wrapped, v[5].len)) ||
	    sodium_base642bin((unsigned char *)wrapped.p, wrapped.max, v[5].p, v[5].len, NULL, &n, NULL,
			      sodium_base64_VARIANT_ORIGINAL) ||
	    n != VAULT_WRAPPED_LEN) {
		r = err_set(ERR_PARSE, "malformed unlock request: 'wrapped-key' is not a wrapped key");
		goto out;
	}
	wrapped.len = n;
	if (buf_grow(&sealb, v[6].len) ||
	    sodium_base642bin((unsigned char *)sealb.p, sealb.max - 1, v[6].p, v[6].len, NULL, &n, NULL,
			      sodium_base64_VARIANT_ORIGINAL) ||
	    memchr(sealb.p, 0, n)) {
		r = err_set(ERR_PARSE, "malformed unlock request: 'seal' is not a base64 note");
		goto out;
	}
	sealb.len = n;
	sealb.p[n] = 0;
	if ((r = note_signer_vkey(vendor, &vk)))
		goto out;
	snprintf(row.product, sizeof(row.product), "%s", product);
	snprintf(row.version, sizeof(row.version), "%s", version);
	row.vendor_vkey = vk.p;
	row.seal_note = sealb.p;
	row.wrapped_key = (unsigned char *)wrapped.p;
	row.wrapped_len = wrapped.len;
	/* release_unwrap: the seal is ours and names this wrapped key and this wrapping key */
	r = release_unwrap(&row, wrap, &key);
	memset(&row, 0, sizeof(row));
	if (r)
		goto out;
	if ((r = vault_key_seal_to(key, spk, box)))
		goto out;
	seal_hash_hex(sealb.p, sealb.len, sh);
	if ((r = buf_addf(&text, "%s\nfacility %.*s\nrelease %s\nseal-sha256 %s\nuntil %" PRId64 "\nserver-key %.*s\n"
				 "challenge %.*s\nkey ",
			  resp_head, (int)v[0].len, v[0].p, ref, sh, until, (int)v[3].len, v[3].p, (int)v[4].len,
			  v[4].p)) ||
	    (r = buf_addb64(&text, box, sizeof(box))) || (r = buf_addch(&text, '\n')) ||
	    (r = note_sign(text.p, text.len, vendor, resp)))
		goto out;
	snprintf(info->release, sizeof(info->release), "%s", ref);
	copy_str(info->facility, sizeof(info->facility), v[0]);
	info->until = until;
	goto out;
bad:
	if (r != ERR_PARSE)
		r = err_set(ERR_PARSE, "malformed unlock request: %s", err_msg());
out:
	vault_key_free(key);
	buf_release(&text);
	buf_release(&vk);
	buf_release(&sealb);
	buf_release(&wrapped);
	return r;
}

/* Log a refused unlock whose response the vendor did sign (the operator's tampering shows). */
static void log_refusal(struct facility *f, const char *ref, const char *actor, const char *reason)
{
	json_t *x = json_pack("{s:s, s:s}", "release", ref, "reason", reason);
	if (auth_log(f, "unlock_refused", actor, x)) {
		/* the refusal stands; the caller reports its reason */
	}
}

int keyring_apply(struct keyring *k, struct facility *f, const char *resp, size_t len,
		  struct keyring_unlock_info *info)
{
	struct note_sig *sigs = NULL;
	struct str text, v[N_RESP];
	struct release_info ri = {0};
	struct note_verifier *nv = NULL;
	struct vault_key *key = NULL;
	struct vault *vault = NULL;
	struct manifest *m = NULL;
	unsigned char spk[32], challenge[32], box[VAULT_SEALED_KEY_LEN], *sk = NULL, *raw = NULL;
	char product[RELEASE_NAME_MAX + 1], version[RELEASE_NAME_MAX + 1], ref[REF_MAX], sh[65], when[32];
	char state[16], msg[1024];
	int64_t until, pend_until = 0;
	size_t n_sigs;
	int r, have_ri = 0, found = 0;
	json_t *x;

	memset(info, 0, sizeof(*info));
	sigs = xcalloc(NOTE_MAX_SIGS, sizeof(*sigs));
	if (len > KEYRING_FILE_MAX) {
		r = err_set(ERR_TOOBIG, "the unlock response is larger than %d bytes", KEYRING_FILE_MAX);
		goto out;
	}
	if ((r = note_split(resp, len, &text, sigs, &n_sigs)) ||
	    (r = kv_parse("response", text.p, text.len, resp_head, resp_keys, N_RESP, v)))
		goto out;
	copy_str(ref, sizeof(ref), v[1]);
	if (v[1].len >= REF_MAX || (r = release_parse_ref(ref, product, version)) ||
	    (r = int_field("until", v[3], &until)) || (r = b64_field("server-key", v[4], spk, 32)) ||
	    (r = hex_field("challenge", v[5], challenge, 32)) || (r = b64_field("key", v[6], box, sizeof(box))))
		goto out;
	/* the pending request this answers: taken out, so it is used once */
	sk = sodium_malloc(32);
	if (!sk)
		BUG("sodium_malloc");
	pthread_mutex_lock(&k->lock);
	for (int i = 0; i < k->n_pend; i++) {
		struct pending *p = &k->pend[i];
		if (sodium_memcmp(p->challenge, challenge, 32))
			continue;
		found = !strcmp(p->ref, ref) && !sodium_memcmp(p->pk, spk, 32) ? 1 : -1;
		pend_until = p->until;
		sodium_mprotect_readonly(p->sk);
		memcpy(sk, p->sk, 32);
		pending_remove(k, i);
		break;
	}
	pthread_mutex_unlock(&k->lock);
	if (!found) {
		r = err_set(ERR_DENIED, "no pending request of this server matches the response "
					"(it was applied already, the server restarted, or it is another server's)");
		goto out;
	}
	if (found < 0 || until != pend_until) {
		r = err_set(ERR_DENIED, "the response does not answer its request (release, key or window differ)");
		goto out;
	}
	if ((r = release_get(f, product, version, &ri)))
		goto out;
	have_ri = 1;
	if ((r = note_verifier_parse(ri.vendor_vkey, strlen(ri.vendor_vkey), &nv)))
		goto out;
	if (note_open(resp, len, nv, &text)) {
		r = err_set(ERR_AUTH, "the unlock of '%s' is not signed by the key that sealed it", ref);
		goto out;
	}
	seal_hash_hex(ri.seal_note, strlen(ri.seal_note), sh);
	if (v[2].len != 64 || memcmp(v[2].p, sh, 64)) {
		r = err_set(ERR_AUTH, "the response names another seal than the catalogue's for '%s'", ref);
		log_refusal(f, ref, note_verifier_name(nv), err_msg());
		goto out;
	}
	if ((r = vault_key_open_from(box, spk, sk, &key)))
		goto out;
	if ((r = policy_release_state(f, product, version, state)))
		goto out;
	if (state[0] || !ri.wrapped_key) {
		r = err_set(ERR_DENIED, "release '%s' is %s", ref, state[0] ? state : "shredded");
		goto out;
	}
	/* every seal check before the key is held: signature, wrapped key, tree ids */
	if ((r = release_open_key(f, &ri, key, &vault, &m, NULL))) {
		snprintf(msg, sizeof(msg), "%s", err_msg());
		log_refusal(f, ref, note_verifier_name(nv), msg);
		err_set(r, "unlock refused: %s", msg);
		goto out;
	}
	policy_format_time(until, when, sizeof(when));
	x = json_pack("{s:s, s:s, s:I, s:s%}", "release", ref, "until", when, "until_unix", (json_int_t)until,
		      "response", resp, len);
	if ((r = auth_log(f, "unlock", note_verifier_name(nv), x)))
		goto out;
	raw = sodium_malloc(VAULT_KEY_LEN);
	if (!raw)
		BUG("sodium_malloc");
	if (!(r = vault_key_bytes(key, raw)))
		r = keyring_put(k, product, version, raw, until);
	snprintf(info->release, sizeof(info->release), "%s", ref);
	copy_str(info->facility, sizeof(info->facility), v[0]);
	info->until = until;
out:
	manifest_free(m);
	vault_close(vault);
	vault_key_free(key);
	note_verifier_free(nv);
	if (have_ri)
		release_info_release(&ri);
	sodium_free(sk);
	sodium_free(raw);
	free(sigs);
	return r;
}

/* ---- the channel ---- */

struct keyring_listener {
	struct keyring *k;
	struct facility *f;
	char *path;
	int fd;
	int running;
	volatile int stop;
	pthread_t thread;
	keyring_console_fn console; /* op 'C', each in a thread of its own */
	void *console_ctx;
	pthread_mutex_t mu;
	pthread_cond_t idle;
	int n_workers;
};

static char *socket_path(struct facility *f, const char *path)
{
	return path ? xstrdup(path) : facility_path(f, KEYRING_SOCKET);
}

static int sock_addr(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return err_set(ERR_USAGE, "socket path '%s' is too long", path);
	memcpy(sa->sun_path, path, strlen(path) + 1);
	return 0;
}

static int write_all(int fd, const void *p, size_t len)
{
	const unsigned char *c = p;
	while (len) {
		ssize_t n = send(fd, c, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return err_set(ERR_IO, "keyring: cannot send: %s", n < 0 ? strerror(errno) : "closed");
		c += n;
		len -= (size_t)n;
	}
	return 0;
}

static int read_all(int fd, void *p, size_t len)
{
	unsigned char *c = p;
	while (len) {
		ssize_t n = recv(fd, c, len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return err_set(ERR_IO, "keyring: the other side %s",
				       n == 0 ? "closed the connection" : "did not answer in time");
		c += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * The listener's side of read_all: the whole of (p, len) within seconds, and nothing more
 * once *stop is set. The socket's timeout bounds one wait only, so a client that sends a
 * byte now and then would otherwise hold the listener (or a console job, and with it a
 * stopping room) for as long as it likes.
 */
static int read_msg(int fd, void *p, size_t len, int seconds, const volatile int *stop)
{
	unsigned char *c = p;
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (len) {
		struct pollfd pf = {fd, POLLIN, 0};
		ssize_t n;
		if (*stop)
			return err_set(ERR_IO, "keyring: the room is stopping");
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec >= seconds)
			return err_set(ERR_IO, "keyring: the other side did not send its message within %d s", seconds);
		if (poll(&pf, 1, 200) <= 0)
			continue;
		n = recv(fd, c, len, MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
			continue;
		if (n <= 0)
			return err_set(ERR_IO, "keyring: the other side %s",
				       n == 0 ? "closed the connection" : "did not answer in time");
		c += n;
		len -= (size_t)n;
	}
	return 0;
}

static void set_timeouts(int fd)
{
	struct timeval tv = {IO_TIMEOUT_SECONDS, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static int connect_to(const char *path, int *out)
{
	struct sockaddr_un sa;
	int fd, r;
	if ((r = sock_addr(path, &sa)))
		return r;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err_set(ERR_IO, "keyring: socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		int e = errno;
		close(fd);
		if (e == ENOENT || e == ECONNREFUSED)
			return err_set(ERR_NOTFOUND, "no server listens at '%s'; start 'sealroom serve' first", path);
		return err_set(ERR_IO, "keyring: cannot connect to '%s': %s", path, strerror(e));
	}
	set_timeouts(fd);
	*out = fd;
	return 0;
}

int keyring_listen(struct keyring *k, struct facility *f, const char *path,
		   struct keyring_listener **out)
{
	struct keyring_listener *l = xcalloc(1, sizeof(*l));
	struct sockaddr_un sa;
	int r, probe;
	pthread_mutex_init(&l->mu, NULL);
	pthread_cond_init(&l->idle, NULL);
	l->k = k;
	l->fd = -1;
	l->path = socket_path(f, path);
	if ((r = sock_addr(l->path, &sa)) || (r = facility_open(facility_dir(f), &l->f)))
		goto out;
	if (connect_to(l->path, &probe) == 0) {
		close(probe);
		r = err_set(ERR_EXISTS, "a server listens at '%s' already", l->path);
		goto out;
	}
	unlink(l->path); /* a stale socket of a server that is gone */
	l->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l->fd < 0) {
		r = err_set(ERR_IO, "keyring: socket: %s", strerror(errno));
		goto out;
	}
	{
		mode_t old = umask(0077);
		int b = bind(l->fd, (struct sockaddr *)&sa, sizeof(sa));
		int e = errno;
		umask(old);
		if (b != 0) {
			r = err_set(ERR_IO, "keyring: cannot listen at '%s': %s", l->path, strerror(e));
			goto out;
		}
	}
	if (chmod(l->path, 0600) != 0 || listen(l->fd, 8) != 0) {
		r = err_set(ERR_IO, "keyring: cannot listen at '%s': %s", l->path, strerror(errno));
		goto out;
	}
	*out = l;
	return 0;
out:
	keyring_listener_free(l);
	return r;
}

/*
 * One exchange on an accepted connection: "SRK2" | op ('Q' request, 'A' apply) | u32
 * length | payload; the payload of 'Q' is "P@V until". The answer text goes to out.
 */
/*
 * 'V' P@V: verify a release with the key the room holds for it (release_verify_key): the
 * facility checks its vaults while a window is open, and no vendor key is at hand. Logged
 * as "verify" (what it found) either way; the answer is "FILES OBJECTS BYTES".
 */
static int verify_held(struct keyring_listener *l, const char *msg, size_t len, struct buf *out)
{
	char ref[REF_MAX], product[RELEASE_NAME_MAX + 1], version[RELEASE_NAME_MAX + 1];
	struct vault_key *key = NULL;
	struct verify_report rep;
	json_t *x;
	int r;
	if (!len || len >= REF_MAX || memchr(msg, 0, len))
		return err_set(ERR_PARSE, "malformed verify message");
	memcpy(ref, msg, len);
	ref[len] = 0;
	if (release_parse_ref(ref, product, version))
		return err_set(ERR_PARSE, "malformed verify message");
	if ((r = keyring_get(l->k, product, version, (int64_t)time(NULL), &key)))
		return r;
	r = release_verify_key(l->f, product, version, key, &rep);
	vault_key_free(key);
	x = json_object();
	logdb_entry_str(x, "release", ref);
	logdb_entry_str(x, "result", r ? "failed" : "ok");
	if (r)
		logdb_entry_str(x, "reason", err_msg());
	else {
		logdb_entry_int(x, "files", (int64_t)rep.files);
		logdb_entry_int(x, "objects", (int64_t)rep.objects);
		logdb_entry_int(x, "bytes", (int64_t)rep.bytes);
	}
	{
		char why[512];
		snprintf(why, sizeof(why), "%s", r ? err_msg() : "");
		if (auth_log(l->f, "verify", "(facility)", x))
			return err_set(ERR_IO, "the verify of '%s' could not be logged: %s", ref, err_msg());
		if (r)
			return err_set(r, "%s", why);
	}
	return buf_addf(out, "%" PRIu64 " %" PRIu64 " %" PRIu64, rep.files, rep.objects, rep.bytes);
}

/* The peer's uid and the message's head: its op and payload length. */
static int read_head(struct keyring_listener *l, int fd, char *op, size_t *plen)
{
	unsigned char head[9];
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	int r;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) != 0 || cred.uid != geteuid())
		return err_set(ERR_DENIED, "unlocks are taken only from the server's own user");
	if ((r = read_msg(fd, head, sizeof(head), IO_TIMEOUT_SECONDS, &l->stop)))
		return r;
	*plen = (size_t)head[5] << 24 | (size_t)head[6] << 16 | (size_t)head[7] << 8 | head[8];
	*op = (char)head[4];
	if (memcmp(head, "SRK2", 4) || (*op != 'Q' && *op != 'A' && *op != 'V' && *op != 'C') ||
	    *plen > (*op == 'C' ? KEYRING_CONSOLE_REQUEST_MAX : KEYRING_FILE_MAX))
		return err_set(ERR_PARSE, "not an unlock message");
	return 0;
}

static int handle(struct keyring_listener *l, int fd, char op, size_t plen, struct buf *out)
{
	struct buf in;
	int r;
	buf_init(&in, KEYRING_FILE_MAX + 1);
	if ((r = buf_grow(&in, plen + 1)) || (r = read_msg(fd, in.p, plen, IO_TIMEOUT_SECONDS, &l->stop)))
		goto out;
	in.len = plen;
	in.p[plen] = 0;
	if (op == 'V') {
		r = verify_held(l, in.p, in.len, out);
	} else if (op == 'Q') {
		char ref[REF_MAX], product[RELEASE_NAME_MAX + 1], version[RELEASE_NAME_MAX + 1], *sp, *end;
		long long until;
		sp = memchr(in.p, ' ', in.len);
		if (!sp || (size_t)(sp - in.p) >= REF_MAX || memchr(in.p, 0, in.len)) {
			r = err_set(ERR_PARSE, "malformed unlock request message");
			goto out;
		}
		memcpy(ref, in.p, (size_t)(sp - in.p));
		ref[sp - in.p] = 0;
		errno = 0;
		until = strtoll(sp + 1, &end, 10);
		if (*end || errno || (r = release_parse_ref(ref, product, version))) {
			r = err_set(ERR_PARSE, "malformed unlock request message");
			goto out;
		}
		r = keyring_request(l->k, l->f, product, version, (int64_t)until, out);
	} else {
		struct keyring_unlock_info info;
		char when[32];
		if (!(r = keyring_apply(l->k, l->f, in.p, in.len, &info))) {
			policy_format_time(info.until, when, sizeof(when));
			r = buf_addf(out, "%s unlocked until %s", info.release, when);
		}
	}
out:
	buf_release(&in);
	return r;
}

/* One frame of an answer: kind 0 the answer, 1 a refusal, 2 a progress line. */
static int send_frame(int fd, unsigned kind, const char *m, size_t ml)
{
	unsigned char head[5];
	int r;
	head[0] = (unsigned char)kind;
	head[1] = (unsigned char)(ml >> 24);
	head[2] = (unsigned char)(ml >> 16);
	head[3] = (unsigned char)(ml >> 8);
	head[4] = (unsigned char)ml;
	if (!(r = write_all(fd, head, sizeof(head))))
		r = write_all(fd, m, ml);
	return r;
}

/* The answer to a message: the text, or the refusal's message (of the console: "CODE\tMSG"). */
static void answer(int fd, char op, int r, const struct buf *out)
{
	char m[1100];
	if (!r) {
		(void)send_frame(fd, 0, out->p ? out->p : "", out->len);
		return;
	}
	if (op == 'C')
		snprintf(m, sizeof(m), "%d\t%.1000s", r, err_msg());
	else
		snprintf(m, sizeof(m), "%.1000s", err_msg());
	(void)send_frame(fd, 1, m, strlen(m)); /* the client reports it, or is gone */
}

struct console_job {
	struct keyring_listener *l;
	int fd;
	size_t plen;
};

static void console_frame(void *ctx, const char *p, size_t len)
{
	int *fd = ctx;
	if (*fd >= 0 && len <= KEYRING_CONSOLE_ANSWER_MAX && send_frame(*fd, 2, p, len))
		*fd = -1; /* the client went away: the job goes on, its frames are dropped */
}

/* A console request, in a thread of its own with a facility handle of its own. */
static void *console_worker(void *p)
{
	struct console_job *j = p;
	struct keyring_listener *l = j->l;
	struct facility *f = NULL;
	struct buf in, out;
	const char *nl;
	int r, ffd = j->fd;
	buf_init(&in, KEYRING_CONSOLE_REQUEST_MAX + 1);
	buf_init(&out, KEYRING_CONSOLE_ANSWER_MAX);
	if ((r = buf_grow(&in, j->plen + 1)) ||
	    (r = read_msg(j->fd, in.p, j->plen, KEYRING_CONSOLE_READ_SECONDS, &l->stop)))
		goto out;
	in.len = j->plen;
	in.p[in.len] = 0;
	if (!(nl = memchr(in.p, '\n', in.len))) {
		r = err_set(ERR_PARSE, "console: malformed request");
		goto out;
	}
	if ((r = facility_open(facility_dir(l->f), &f)))
		goto out;
	r = l->console(l->console_ctx, f, in.p, (size_t)(nl - in.p), nl + 1, in.len - (size_t)(nl - in.p) - 1,
		       console_frame, &ffd, &l->stop, &out);
out:
	if (ffd >= 0)
		answer(j->fd, 'C', r, &out);
	close(j->fd);
	if (in.cap)
		sodium_memzero(in.p, in.cap);
	buf_release(&in);
	buf_release(&out);
	facility_free(f);
	pthread_mutex_lock(&l->mu);
	if (--l->n_workers == 0)
		pthread_cond_broadcast(&l->idle);
	pthread_mutex_unlock(&l->mu);
	free(j);
	return NULL;
}

void keyring_listener_console(struct keyring_listener *l, keyring_console_fn fn, void *ctx)
{
	l->console = fn;
	l->console_ctx = ctx;
}

int keyring_serve_one(struct keyring_listener *l)
{
	struct buf out;
	size_t plen = 0;
	char op = 0;
	int fd, r;
	do
		fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);
	while (fd < 0 && errno == EINTR && !l->stop);
	if (fd < 0)
		return err_set(ERR_IO, "keyring: accept: %s", strerror(errno));
	set_timeouts(fd);
	buf_init(&out, KEYRING_FILE_MAX);
	if (!(r = read_head(l, fd, &op, &plen)) && op == 'C') {
		pthread_t th;
		pthread_attr_t at;
		struct console_job *j;
		if (!l->console) {
			r = err_set(ERR_NOTFOUND, "this server runs no console: start 'sealroom serve'");
			goto answer;
		}
		pthread_mutex_lock(&l->mu);
		if (l->n_workers >= KEYRING_CONSOLE_WORKERS) {
			pthread_mutex_unlock(&l->mu);
			r = err_set(ERR_BUSY, "the room runs %d console jobs already: try again when one ends",
				    KEYRING_CONSOLE_WORKERS);
			goto answer;
		}
		l->n_workers++;
		pthread_mutex_unlock(&l->mu);
		j = xcalloc(1, sizeof(*j));
		*j = (struct console_job){l, fd, plen};
		pthread_attr_init(&at);
		pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&th, &at, console_worker, j) == 0) {
			pthread_attr_destroy(&at);
			buf_release(&out);
			return 0; /* the worker answers and closes */
		}
		pthread_attr_destroy(&at);
		free(j);
		pthread_mutex_lock(&l->mu);
		if (--l->n_workers == 0)
			pthread_cond_broadcast(&l->idle);
		pthread_mutex_unlock(&l->mu);
		r = err_set(ERR_IO, "keyring: cannot start a console job");
	} else if (!r) {
		r = handle(l, fd, op, plen, &out);
	}
answer:
	answer(fd, op, r, &out);
	buf_release(&out);
	close(fd);
	return r;
}

static void *serve_loop(void *p)
{
	struct keyring_listener *l = p;
	while (!l->stop) {
		struct pollfd pf = {l->fd, POLLIN, 0};
		int n = poll(&pf, 1, 200);
		if (n <= 0 || l->stop)
			continue;
		if (keyring_serve_one(l)) {
			/* refusals are answered to the client and unlocks logged; keep serving */
		}
	}
	return NULL;
}

int keyring_listener_start(struct keyring_listener *l)
{
	if (pthread_create(&l->thread, NULL, serve_loop, l) != 0)
		return err_set(ERR_IO, "keyring: cannot start the listener thread");
	l->running = 1;
	return 0;
}

void keyring_listener_free(struct keyring_listener *l)
{
	if (!l)
		return;
	l->stop = 1;
	if (l->running)
		pthread_join(l->thread, NULL);
	/* console jobs see stop (a build kills its sandbox) and end */
	pthread_mutex_lock(&l->mu);
	while (l->n_workers)
		pthread_cond_wait(&l->idle, &l->mu);
	pthread_mutex_unlock(&l->mu);
	pthread_mutex_destroy(&l->mu);
	pthread_cond_destroy(&l->idle);
	if (l->fd >= 0) {
		close(l->fd);
		unlink(l->path);
	}
	facility_free(l->f);
	free(l->path);
	free(l);
}

/*
 * Send one message to the server and append its answer to out; progress frames (of the
 * console) go to frame as they come.
 */
static int exchange_frames(struct facility *f, const char *path, char op, const void *p, size_t len,
			   void (*frame)(void *ctx, const char *p, size_t len), void *ctx, struct buf *out)
{
	unsigned char head[9], ans[5];
	char *sp = socket_path(f, path);
	size_t al, max = op == 'C' ? KEYRING_CONSOLE_ANSWER_MAX : KEYRING_FILE_MAX;
	int fd = -1, r, w;
	struct buf a;
	buf_init(&a, max);
	memcpy(head, "SRK2", 4);
	head[4] = (unsigned char)op;
	head[5] = (unsigned char)(len >> 24);
	head[6] = (unsigned char)(len >> 16);
	head[7] = (unsigned char)(len >> 8);
	head[8] = (unsigned char)len;
	if ((r = connect_to(sp, &fd)))
		goto out;
	/* a server that refuses at once (another user) answers before it reads: its
	 * answer is read even when the message could not all be sent */
	w = write_all(fd, head, sizeof(head));
	if (!w)
		w = write_all(fd, p, len);
	if (op == 'C') {
		/* a console job (a build, an index to load) takes as long as it takes */
		struct timeval tv = {0, 0};
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	}
	for (;;) {
		if ((r = read_all(fd, ans, sizeof(ans)))) {
			if (w)
				r = w;
			goto out;
		}
		al = (size_t)ans[1] << 24 | (size_t)ans[2] << 16 | (size_t)ans[3] << 8 | ans[4];
		if (al > max || ans[0] > 2 || (ans[0] == 2 && op != 'C')) {
			r = err_set(ERR_PARSE, "keyring: malformed answer");
			goto out;
		}
		buf_reset(&a);
		if ((r = buf_grow(&a, al + 1)) || (r = read_all(fd, a.p, al)))
			goto out;
		a.len = al;
		a.p[al] = 0;
		if (ans[0] != 2)
			break;
		if (frame)
			frame(ctx, a.p, a.len);
	}
	if (ans[0] && op == 'C') {
		/* "CODE\tMESSAGE": the room's own error, as the command would have had it */
		char *tab = memchr(a.p, '\t', a.len), *end;
		long code = strtol(a.p, &end, 10);
		if (tab && end == tab && code < 0 && code >= ERR_BUSY)
			r = err_set((int)code, "%s", tab + 1);
		else
			r = err_set(ERR_DENIED, "the room refused: %s", a.p);
		goto out;
	}
	if (ans[0]) {
		r = err_set(ERR_DENIED, "the server refused: %s", a.p);
		goto out;
	}
	r = buf_add(out, a.p, a.len);
out:
	if (fd >= 0)
		close(fd);
	buf_release(&a);
	free(sp);
	return r;
}

static int exchange(struct facility *f, const char *path, char op, const void *p, size_t len, struct buf *out)
{
	return exchange_frames(f, path, op, p, len, NULL, NULL, out);
}

int keyring_send_console(struct facility *f, const char *path, const char *req, const void *body, size_t body_len,
			 void (*frame)(void *ctx, const char *p, size_t len), void *ctx, struct buf *out)
{
	struct buf m;
	size_t rl = strlen(req);
	int r;
	if (memchr(req, '\n', rl) || rl + 1 + body_len > KEYRING_CONSOLE_REQUEST_MAX)
		return err_set(ERR_TOOBIG, "a console request is larger than %zu bytes", KEYRING_CONSOLE_REQUEST_MAX);
	buf_init(&m, KEYRING_CONSOLE_REQUEST_MAX);
	if (!(r = buf_add(&m, req, rl)) && !(r = buf_add(&m, "\n", 1)) && !(r = buf_add(&m, body, body_len)))
		r = exchange_frames(f, path, 'C', m.p, m.len, frame, ctx, out);
	if (m.cap)
		sodium_memzero(m.p, m.cap);
	buf_release(&m);
	return r;
}

int keyring_send_request(struct facility *f, const char *path, const char *product,
			 const char *version, int64_t until, struct buf *out)
{
	struct buf m;
	int r;
	buf_init(&m, 4096);
	if (!(r = buf_addf(&m, "%s@%s %" PRId64, product, version, until)))
		r = exchange(f, path, 'Q', m.p, m.len, out);
	buf_release(&m);
	return r;
}

int keyring_send_verify(struct facility *f, const char *path, const char *product, const char *version,
			struct verify_report *rep)
{
	struct buf m, a;
	unsigned long long files, objects, bytes;
	int r;
	buf_init(&m, 4096);
	buf_init(&a, 4096);
	if (!(r = buf_addf(&m, "%s@%s", product, version)) && !(r = exchange(f, path, 'V', m.p, m.len, &a))) {
		if (sscanf(a.p, "%llu %llu %llu", &files, &objects, &bytes) != 3)
			r = err_set(ERR_PARSE, "keyring: malformed verify answer");
		else
			*rep = (struct verify_report){files, objects, bytes};
	}
	buf_release(&m);
	buf_release(&a);
	return r;
}

int keyring_send_response(struct facility *f, const char *path, const char *resp, size_t len,
			  struct buf *out)
{
	if (len > KEYRING_FILE_MAX)
		return err_set(ERR_TOOBIG, "the unlock response is larger than %d bytes", KEYRING_FILE_MAX);
	return exchange(f, path, 'A', resp, len, out);
}
