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
#include "keyring.h"
#include "policy.h"
#include "release.h"

#define REF_MAX (2 * RELEASE_NAME_MAX + 2)
#define BOX_LEN (VAULT_KEY_LEN + crypto_box_SEALBYTES)
#define HELLO_LEN (4 + 32 + 32)
#define REQ_MAX (4 + 2 + REF_MAX + 8 + BOX_LEN + 64)
#define IO_TIMEOUT_SECONDS 10
static const char sig_context[] = "sealroom/unlock/v1"; /* signed with its NUL */

struct slot {
	char ref[REF_MAX];
	int64_t until;
	unsigned char *key; /* sodium_malloc, no access between uses */
};

struct keyring {
	pthread_mutex_t lock;
	struct slot slots[KEYRING_MAX_KEYS];
	int n;
};

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

int keyring_count(struct keyring *k)
{
	int n;
	pthread_mutex_lock(&k->lock);
	n = k->n;
	pthread_mutex_unlock(&k->lock);
	return n;
}

/* The vendor key must be the one that sealed the release. */
static int same_vendor(const struct release_info *ri, const struct note_signer *vendor)
{
	struct buf vk;
	int r;
	buf_init(&vk, 4096);
	if (!(r = note_signer_vkey(vendor, &vk)) && strcmp(vk.p, ri->vendor_vkey))
		r = err_set(ERR_AUTH, "key '%s' did not seal '%s@%s'", note_signer_name(vendor),
			    ri->product, ri->version);
	buf_release(&vk);
	return r;
}

/*
 * Unwrap ri's data key into raw with the vendor's secret key. vault_key_unwrap checks the
 * wrapping and gives its reasons; the raw bytes are then taken from the sealed box (the
 * vault keeps its key struct opaque).
 */
static int unwrap_raw(const struct release_info *ri, const struct note_signer *vendor, unsigned char *raw)
{
	struct vault_key *vk = NULL;
	unsigned char *xsk = sodium_malloc(crypto_box_SECRETKEYBYTES), xpk[crypto_box_PUBLICKEYBYTES];
	int r;
	if (!xsk)
		BUG("sodium_malloc");
	if (!ri->wrapped_key) {
		r = err_set(ERR_DENIED, "release '%s@%s' was shredded", ri->product, ri->version);
		goto out;
	}
	if ((r = vault_key_unwrap(ri->wrapped_key, ri->wrapped_len, note_signer_secret(vendor), &vk)))
		goto out;
	if (ri->wrapped_len != VAULT_WRAPPED_LEN ||
	    crypto_sign_ed25519_sk_to_curve25519(xsk, note_signer_secret(vendor)) != 0 ||
	    crypto_sign_ed25519_pk_to_curve25519(xpk, note_signer_public(vendor)) != 0 ||
	    crypto_box_seal_open(raw, ri->wrapped_key + 12, BOX_LEN, xpk, xsk) != 0)
		r = err_set(ERR_AUTH, "keyring: cannot unwrap the data key of '%s@%s'", ri->product, ri->version);
out:
	vault_key_free(vk);
	sodium_free(xsk);
	return r;
}

/*
 * Take a key for product@version: the release must be open (not halted or shredded) and
 * the key must open its vault; the unlock is logged before the key is held.
 */
static int accept_key(struct keyring *k, struct facility *f, const struct release_info *ri,
		      const unsigned char *raw, int64_t until, const char *actor)
{
	struct vault_key *vk = NULL;
	struct vault *v = NULL;
	char state[16], rel[REF_MAX], *dir = NULL, when[32];
	int64_t now = (int64_t)time(NULL);
	int r;
	json_t *x;
	snprintf(rel, sizeof(rel), "%s@%s", ri->product, ri->version);
	if (until <= now || until > now + KEYRING_WINDOW_MAX)
		return err_set(ERR_USAGE, "an unlock window must end within %d days", KEYRING_WINDOW_MAX / 86400);
	if ((r = policy_release_state(f, ri->product, ri->version, state)))
		return r;
	if (state[0])
		return err_set(ERR_DENIED, "release '%s' is %s", rel, state);
	{
		struct buf p;
		buf_init(&p, 4096);
		if ((r = buf_addf(&p, "vault/%s", ri->vault_dir)))
			return r;
		dir = facility_path(f, p.p);
		buf_release(&p);
	}
	if ((r = vault_key_from_bytes(raw, &vk)) || (r = vault_open(dir, vk, &v)))
		goto out;
	policy_format_time(until, when, sizeof(when));
	x = json_pack("{s:s, s:s, s:I}", "release", rel, "until", when, "until_unix", (json_int_t)until);
	if ((r = auth_log(f, "unlock", actor, x)))
		goto out;
	r = keyring_put(k, ri->product, ri->version, raw, until);
out:
	vault_close(v);
	vault_key_free(vk);
	free(dir);
	return r;
}

int keyring_unlock(struct keyring *k, struct facility *f, const char *product,
		   const char *version, const struct note_signer *vendor, int64_t until)
{
	struct release_info ri;
	unsigned char *raw = sodium_malloc(VAULT_KEY_LEN);
	int r;
	if (!raw)
		BUG("sodium_malloc");
	if ((r = release_get(f, product, version, &ri)))
		goto done;
	if (!(r = same_vendor(&ri, vendor)) && !(r = unwrap_raw(&ri, vendor, raw)))
		r = accept_key(k, f, &ri, raw, until, note_signer_name(vendor));
	release_info_release(&ri);
done:
	sodium_free(raw);
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

/* Check and take one request on an accepted connection; the reply is sent by the caller. */
static int handle(struct keyring_listener *l, int fd)
{
	unsigned char hello[HELLO_LEN], req[REQ_MAX], sig[64], *raw = NULL, *esk = NULL;
	unsigned char *msg = NULL;
	char ref[REF_MAX], product[RELEASE_NAME_MAX + 1], version[RELEASE_NAME_MAX + 1];
	struct release_info ri;
	struct note_verifier *v = NULL;
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	size_t reflen, body;
	int64_t until = 0;
	int r, have_ri = 0;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) != 0 || cred.uid != geteuid())
		return err_set(ERR_DENIED, "unlocks are taken only from the server's own user");
	esk = sodium_malloc(crypto_box_SECRETKEYBYTES);
	raw = sodium_malloc(VAULT_KEY_LEN);
	if (!esk || !raw)
		BUG("sodium_malloc");
	memcpy(hello, "SRK1", 4);
	crypto_box_keypair(hello + 4, esk);
	randombytes_buf(hello + 36, 32);
	if ((r = write_all(fd, hello, sizeof(hello))) || (r = read_all(fd, req, 6)))
		goto out;
	if (memcmp(req, "SRU1", 4)) {
		r = err_set(ERR_PARSE, "not an unlock request");
		goto out;
	}
	reflen = ((size_t)req[4] << 8) | req[5];
	if (reflen == 0 || reflen >= REF_MAX) {
		r = err_set(ERR_PARSE, "malformed unlock request");
		goto out;
	}
	body = 6 + reflen + 8 + BOX_LEN;
	if ((r = read_all(fd, req + 6, body - 6)) || (r = read_all(fd, sig, sizeof(sig))))
		goto out;
	memcpy(ref, req + 6, reflen);
	ref[reflen] = 0;
	for (int i = 0; i < 8; i++)
		until = (int64_t)(((uint64_t)until << 8) | req[6 + reflen + i]);
	if (memchr(ref, 0, reflen) || (r = release_parse_ref(ref, product, version)))
		goto bad;
	if ((r = release_get(l->f, product, version, &ri)))
		goto out;
	have_ri = 1;
	if ((r = note_verifier_parse(ri.vendor_vkey, strlen(ri.vendor_vkey), &v)))
		goto out;
	msg = xmalloc(sizeof(sig_context) + 64 + body);
	memcpy(msg, sig_context, sizeof(sig_context));
	memcpy(msg + sizeof(sig_context), hello + 4, 64);
	memcpy(msg + sizeof(sig_context) + 64, req, body);
	if (crypto_sign_verify_detached(sig, msg, sizeof(sig_context) + 64 + body, note_verifier_public(v)) != 0) {
		r = err_set(ERR_AUTH, "the unlock of '%s' is not signed by the key that sealed it", ref);
		goto out;
	}
	if (crypto_box_seal_open(raw, req + 6 + reflen + 8, BOX_LEN, hello + 4, esk) != 0)
		goto bad;
	r = accept_key(l->k, l->f, &ri, raw, until, note_verifier_name(v));
	goto out;
bad:
	r = err_set(ERR_PARSE, "malformed unlock request");
out:
	if (have_ri)
		release_info_release(&ri);
	note_verifier_free(v);
	free(msg);
	sodium_free(esk);
	sodium_free(raw);
	return r;
}

int keyring_serve_one(struct keyring_listener *l)
{
	unsigned char head[3];
	const char *m;
	size_t ml;
	int fd, r;
	do
		fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);
	while (fd < 0 && errno == EINTR && !l->stop);
	if (fd < 0)
		return err_set(ERR_IO, "keyring: accept: %s", strerror(errno));
	set_timeouts(fd);
	r = handle(l, fd);
	m = r ? err_msg() : "unlocked";
	ml = strlen(m) > 1000 ? 1000 : strlen(m);
	head[0] = r ? 1 : 0;
	head[1] = (unsigned char)(ml >> 8);
	head[2] = (unsigned char)ml;
	if (write_all(fd, head, 3) == 0 && write_all(fd, m, ml) == 0) {
		/* the answer is out; the client reports it */
	}
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
	if (l->fd >= 0) {
		close(l->fd);
		unlink(l->path);
	}
	facility_free(l->f);
	free(l->path);
	free(l);
}

int keyring_send(struct facility *f, const char *path, const char *product,
		 const char *version, const struct note_signer *vendor, int64_t until,
		 struct buf *reply)
{
	unsigned char hello[HELLO_LEN], req[REQ_MAX], sig[64], head[3], *raw = NULL, *msg = NULL;
	char ref[REF_MAX], answer[1001];
	struct release_info ri;
	char *p = socket_path(f, path);
	size_t reflen, body, al;
	int fd = -1, r, have_ri = 0;

	raw = sodium_malloc(VAULT_KEY_LEN);
	if (!raw)
		BUG("sodium_malloc");
	snprintf(ref, sizeof(ref), "%s@%s", product, version);
	reflen = strlen(ref);
	if ((r = release_get(f, product, version, &ri)))
		goto out;
	have_ri = 1;
	if ((r = same_vendor(&ri, vendor)) || (r = unwrap_raw(&ri, vendor, raw)) || (r = connect_to(p, &fd)) ||
	    (r = read_all(fd, hello, sizeof(hello))))
		goto out;
	if (memcmp(hello, "SRK1", 4)) {
		r = err_set(ERR_PARSE, "'%s' is not a sealroom keyring", p);
		goto out;
	}
	memcpy(req, "SRU1", 4);
	req[4] = (unsigned char)(reflen >> 8);
	req[5] = (unsigned char)reflen;
	memcpy(req + 6, ref, reflen);
	for (int i = 0; i < 8; i++)
		req[6 + reflen + i] = (unsigned char)((uint64_t)until >> (56 - 8 * i));
	if (crypto_box_seal(req + 6 + reflen + 8, raw, VAULT_KEY_LEN, hello + 4) != 0) {
		r = err_set(ERR_AUTH, "keyring: cannot seal the key to the server");
		goto out;
	}
	body = 6 + reflen + 8 + BOX_LEN;
	msg = xmalloc(sizeof(sig_context) + 64 + body);
	memcpy(msg, sig_context, sizeof(sig_context));
	memcpy(msg + sizeof(sig_context), hello + 4, 64);
	memcpy(msg + sizeof(sig_context) + 64, req, body);
	note_signer_sign(vendor, msg, sizeof(sig_context) + 64 + body, sig);
	if ((r = write_all(fd, req, body)) || (r = write_all(fd, sig, sizeof(sig))) ||
	    (r = read_all(fd, head, 3)))
		goto out;
	al = ((size_t)head[1] << 8) | head[2];
	if (al > 1000) {
		r = err_set(ERR_PARSE, "keyring: malformed answer");
		goto out;
	}
	if ((r = read_all(fd, answer, al)))
		goto out;
	answer[al] = 0;
	if (head[0]) {
		r = err_set(ERR_DENIED, "the server refused: %s", answer);
		goto out;
	}
	r = buf_addstr(reply, answer);
out:
	if (fd >= 0)
		close(fd);
	if (have_ri)
		release_info_release(&ri);
	free(msg);
	free(p);
	sodium_free(raw);
	return r;
}
