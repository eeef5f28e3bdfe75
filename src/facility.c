/* facility: create and open the facility folder (database, vault, keys). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <sodium.h>

#include "db.h"
#include "facility.h"
#include "logdb.h"

struct facility {
	char *dir;
	char *name;
	sqlite3 *db;
	sqlite3 *counters;   /* synchronous=NORMAL, opened on first use */
	struct logdb *log;   /* opened on first use */
	struct note_signer *signer;
	unsigned char *secrets; /* the at-rest key (sodium_malloc), loaded on first use */
};

const char *facility_resolve(const char *opt_dir)
{
	const char *e;
	if (opt_dir && *opt_dir)
		return opt_dir;
	e = getenv("SEALROOM_HOME");
	if (e && *e)
		return e;
	return "./sealroom-data";
}

static char *join(const char *dir, const char *rel)
{
	struct buf b;
	buf_init(&b, 0);
	if (buf_addf(&b, "%s/%s", dir, rel))
		BUG("path too long");
	return buf_detach(&b, NULL);
}

char *facility_path(const struct facility *f, const char *rel)
{
	return join(f->dir, rel);
}

/* Write a whole file with mode, fsync'd; O_EXCL so that nothing is overwritten. */
static int write_new_file(const char *path, const void *p, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
	const char *c = p;
	if (fd < 0)
		return err_set(errno == EEXIST ? ERR_EXISTS : ERR_IO, "cannot create '%s': %s", path,
			       strerror(errno));
	while (len) {
		ssize_t n = write(fd, c, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int e = errno;
			close(fd);
			return err_set(ERR_IO, "cannot write '%s': %s", path, strerror(e));
		}
		c += n;
		len -= (size_t)n;
	}
	if (fsync(fd) < 0 || close(fd) < 0)
		return err_set(ERR_IO, "cannot sync '%s': %s", path, strerror(errno));
	return 0;
}

static int is_empty_dir(const char *dir, int *exists)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int empty = 1;
	*exists = 0;
	if (!d) {
		if (errno == ENOENT)
			return 1;
		*exists = 1;
		return 0;
	}
	*exists = 1;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			empty = 0;
	closedir(d);
	return empty;
}

/*
 * A self-signed ECDSA P-256 certificate for name (CN and DNS names name, localhost and
 * 127.0.0.1), valid for ten years: keys/tls.key (0600) and keys/tls.crt, PEM. Nothing is
 * overwritten: ERR_EXISTS when the key is there already.
 */
int facility_tls_make(const char *dir, const char *name)
{
	char *key_path = join(dir, "keys/tls.key"), *crt_path = join(dir, "keys/tls.crt");
	gnutls_x509_privkey_t key = NULL;
	gnutls_x509_crt_t crt = NULL;
	gnutls_datum_t kpem = {NULL, 0}, cpem = {NULL, 0};
	unsigned char serial[16];
	unsigned char ip[4] = {127, 0, 0, 1};
	time_t now = time(NULL);
	int r = 0;

	if (access(key_path, F_OK) == 0) {
		r = err_set(ERR_EXISTS, "'%s' exists; nothing was changed", key_path);
		goto out;
	}
	randombytes_buf(serial, sizeof(serial));
	serial[0] &= 0x7f;
	if (gnutls_x509_privkey_init(&key) < 0 || gnutls_x509_crt_init(&crt) < 0 ||
	    gnutls_x509_privkey_generate(key, GNUTLS_PK_ECDSA,
					 GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0) < 0 ||
	    gnutls_x509_crt_set_version(crt, 3) < 0 ||
	    gnutls_x509_crt_set_serial(crt, serial, sizeof(serial)) < 0 ||
	    gnutls_x509_crt_set_activation_time(crt, now - 3600) < 0 ||
	    gnutls_x509_crt_set_expiration_time(crt, now + 10 * 366 * 86400L) < 0 ||
	    gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, name, strlen(name)) < 0 ||
	    gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, name, strlen(name),
						 GNUTLS_FSAN_APPEND) < 0 ||
	    gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, "localhost", 9,
						 GNUTLS_FSAN_APPEND) < 0 ||
	    gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, ip, sizeof(ip),
						 GNUTLS_FSAN_APPEND) < 0 ||
	    gnutls_x509_crt_set_basic_constraints(crt, 0, -1) < 0 ||
	    gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE) < 0 ||
	    gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_SERVER, 0) < 0 ||
	    gnutls_x509_crt_set_key(crt, key) < 0 ||
	    gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0) < 0 ||
	    gnutls_x509_privkey_export2(key, GNUTLS_X509_FMT_PEM, &kpem) < 0 ||
	    gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &cpem) < 0) {
		r = err_set(ERR_IO, "cannot make the TLS certificate for '%s'", name);
		goto out;
	}
	if ((r = write_new_file(key_path, kpem.data, kpem.size, 0600)) ||
	    (r = write_new_file(crt_path, cpem.data, cpem.size, 0644)))
		goto out;
out:
	if (kpem.data) {
		sodium_memzero(kpem.data, kpem.size);
		gnutls_free(kpem.data);
	}
	gnutls_free(cpem.data);
	gnutls_x509_crt_deinit(crt);
	gnutls_x509_privkey_deinit(key);
	free(key_path);
	free(crt_path);
	return r;
}

static int secrets_make(const char *dir);

int facility_init(const char *dir, const char *name)
{
	char *db_path = join(dir, "sealroom.db"), *keys = join(dir, "keys"),
	     *vault = join(dir, "vault"), *key_path = join(dir, "keys/log.key"),
	     *pub_path = join(dir, "keys/log.pub");
	struct buf sk, vk;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int exists, r = 0;
	buf_init(&sk, 4096);
	buf_init(&vk, 4096);

	if (!note_name_valid(name, strlen(name))) {
		r = err_set(ERR_USAGE, "facility name '%s' is not valid: no spaces, '+' or control characters", name);
		goto out;
	}
	if (access(db_path, F_OK) == 0) {
		r = err_set(ERR_EXISTS, "'%s' already holds a facility; nothing was changed", dir);
		goto out;
	}
	if (!is_empty_dir(dir, &exists)) {
		r = err_set(ERR_EXISTS, "'%s' exists and is not empty; choose a new folder", dir);
		goto out;
	}
	if (!exists && mkdir(dir, 0700) < 0) {
		r = err_set(ERR_IO, "cannot create '%s': %s", dir, strerror(errno));
		goto out;
	}
	if (mkdir(keys, 0700) < 0 || mkdir(vault, 0700) < 0) {
		r = err_set(ERR_IO, "cannot create folders in '%s': %s", dir, strerror(errno));
		goto out;
	}
	if ((r = note_key_generate(name, &sk, &vk)) || (r = buf_addch(&sk, '\n')) ||
	    (r = buf_addch(&vk, '\n')) || (r = write_new_file(key_path, sk.p, sk.len, 0600)) ||
	    (r = write_new_file(pub_path, vk.p, vk.len, 0644)) || (r = secrets_make(dir)) ||
	    (r = facility_tls_make(dir, name)))
		goto out;
	/* the database last: its presence marks a finished facility */
	if ((r = db_open(db_path, 1, &db)))
		goto out;
	if ((r = db_prepare(db, "INSERT INTO facility (key, value) VALUES ('name', ?), ('created', ?)", &st)))
		goto out;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)time(NULL));
	if (sqlite3_step(st) != SQLITE_DONE)
		r = db_fail(db, "cannot record the facility");
out:
	sqlite3_finalize(st);
	db_close(db);
	sodium_memzero(sk.p, sk.len);
	buf_release(&sk);
	buf_release(&vk);
	free(db_path);
	free(keys);
	free(vault);
	free(key_path);
	free(pub_path);
	return r;
}

static int secrets_upgrade(struct facility *f);

int facility_open(const char *dir, struct facility **out)
{
	struct facility *f;
	char *db_path = join(dir, "sealroom.db");
	sqlite3_stmt *st = NULL;
	int r;
	*out = NULL;
	if (access(db_path, F_OK) < 0) {
		r = err_set(ERR_NOTFOUND, "no facility at '%s'; run 'sealroom init -C %s' first", dir, dir);
		free(db_path);
		return r;
	}
	f = xcalloc(1, sizeof(*f));
	f->dir = xstrdup(dir);
	r = db_open(db_path, 0, &f->db);
	free(db_path);
	if (r)
		goto fail;
	if ((r = db_prepare(f->db, "SELECT value FROM facility WHERE key = 'name'", &st)))
		goto fail;
	if (sqlite3_step(st) != SQLITE_ROW || !sqlite3_column_text(st, 0)) {
		r = err_set(ERR_CORRUPT, "facility '%s' has no name in its database", dir);
		goto fail;
	}
	f->name = xstrdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	st = NULL;
	if ((r = secrets_upgrade(f)))
		goto fail;
	*out = f;
	return 0;
fail:
	sqlite3_finalize(st);
	facility_free(f);
	return r;
}

void facility_free(struct facility *f)
{
	if (!f)
		return;
	logdb_free(f->log);
	db_close(f->counters);
	db_close(f->db);
	note_signer_free(f->signer);
	if (f->secrets)
		sodium_free(f->secrets);
	free(f->dir);
	free(f->name);
	free(f);
}

sqlite3 *facility_db(const struct facility *f) { return f->db; }

int facility_log(struct facility *f, struct logdb **out)
{
	int r;
	if (!f->log && (r = logdb_open(f, &f->log)))
		return r;
	*out = f->log;
	return 0;
}

int facility_counters_db(struct facility *f, sqlite3 **out)
{
	int r;
	if (!f->counters) {
		char *path = join(f->dir, "sealroom.db");
		r = db_open(path, 0, &f->counters);
		free(path);
		if (!r && (r = db_exec(f->counters, "PRAGMA synchronous=NORMAL"))) {
			db_close(f->counters);
			f->counters = NULL;
		}
		if (r)
			return r;
	}
	*out = f->counters;
	return 0;
}
const char *facility_dir(const struct facility *f) { return f->dir; }
const char *facility_name(const struct facility *f) { return f->name; }

int facility_signer(struct facility *f, const struct note_signer **out)
{
	if (!f->signer) {
		char *p = join(f->dir, "keys/log.key");
		int r = note_signer_load(p, &f->signer);
		free(p);
		if (r)
			return r;
		if (strcmp(note_signer_name(f->signer), f->name)) {
			int r2 = err_set(ERR_CORRUPT, "facility key is named '%s', not '%s'",
					 note_signer_name(f->signer), f->name);
			note_signer_free(f->signer);
			f->signer = NULL;
			return r2;
		}
	}
	*out = f->signer;
	return 0;
}

/* ---- secrets at rest ---- */

#define SECRETS_FILE "keys/secrets.key"
#define SECRET_V1 0x01

/* Make DIR/keys/secrets.key (32 random bytes as 64 hex digits, 0600); ERR_EXISTS when it is there. */
static int secrets_make(const char *dir)
{
	unsigned char k[FACILITY_SECRET_KEY_LEN];
	char hex[2 * FACILITY_SECRET_KEY_LEN + 2];
	char *path = join(dir, SECRETS_FILE);
	int r;
	randombytes_buf(k, sizeof(k));
	hex_encode(hex, k, sizeof(k));
	hex[2 * FACILITY_SECRET_KEY_LEN] = '\n';
	hex[2 * FACILITY_SECRET_KEY_LEN + 1] = '\0';
	r = write_new_file(path, hex, sizeof(hex) - 1, 0600);
	sodium_memzero(k, sizeof(k));
	sodium_memzero(hex, sizeof(hex));
	free(path);
	return r;
}

/* The at-rest key, read once (made first for a facility from before it existed). */
static int secrets_key(struct facility *f, const unsigned char **key)
{
	char *path;
	struct buf b;
	int r = 0;
	if (f->secrets) {
		*key = f->secrets;
		return 0;
	}
	path = join(f->dir, SECRETS_FILE);
	buf_init(&b, 4 * FACILITY_SECRET_KEY_LEN);
	if ((r = buf_read_file(&b, path))) {
		r = err_set(ERR_IO, "cannot read the facility's at-rest key: %s", err_msg());
		goto out;
	}
	while (b.len && (b.p[b.len - 1] == '\n' || b.p[b.len - 1] == '\r'))
		b.len--;
	f->secrets = sodium_malloc(FACILITY_SECRET_KEY_LEN);
	if (!f->secrets)
		BUG("sodium_malloc");
	if (b.len != 2 * FACILITY_SECRET_KEY_LEN || hex_decode(f->secrets, FACILITY_SECRET_KEY_LEN, b.p, b.len)) {
		sodium_free(f->secrets);
		f->secrets = NULL;
		r = err_set(ERR_CORRUPT, "the facility's at-rest key '%s' is not 64 hex digits", path);
		goto out;
	}
	*key = f->secrets;
out:
	sodium_memzero(b.p, b.cap);
	buf_release(&b);
	free(path);
	return r;
}

int facility_secret_seal(struct facility *f, const char *purpose, const void *p, size_t len, struct buf *out)
{
	const unsigned char *key;
	unsigned char *c;
	size_t n = 1 + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + len + crypto_aead_xchacha20poly1305_ietf_ABYTES;
	int r;
	if (len > FACILITY_SECRET_MAX)
		return err_set(ERR_TOOBIG, "a secret at rest is at most %d bytes", FACILITY_SECRET_MAX);
	if ((r = secrets_key(f, &key)))
		return r;
	c = xmalloc(n);
	c[0] = SECRET_V1;
	randombytes_buf(c + 1, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
	crypto_aead_xchacha20poly1305_ietf_encrypt(c + 1 + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, NULL, p, len,
						   (const unsigned char *)purpose, strlen(purpose), NULL, c + 1, key);
	r = buf_add(out, c, n);
	free(c);
	return r;
}

int facility_secret_open(struct facility *f, const char *purpose, const void *p, size_t len, unsigned char *out,
			 size_t cap, size_t *n)
{
	const unsigned char *key, *c = p;
	unsigned long long m = 0;
	size_t head = 1 + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
	int r;
	if (len < head + crypto_aead_xchacha20poly1305_ietf_ABYTES || c[0] != SECRET_V1 ||
	    len - head - crypto_aead_xchacha20poly1305_ietf_ABYTES > cap)
		return err_set(ERR_CORRUPT, "the %s at rest is not one the facility sealed", purpose);
	if ((r = secrets_key(f, &key)))
		return r;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(out, &m, NULL, c + head, len - head,
						       (const unsigned char *)purpose, strlen(purpose), c + 1, key))
		return err_set(ERR_CORRUPT, "the %s at rest does not open with the facility's at-rest key", purpose);
	*n = (size_t)m;
	return 0;
}

/*
 * A facility from before keys/secrets.key: make the key when nothing in the database is
 * sealed yet, then seal what still lies in clear (TOTP secrets of 20 bytes, a forensic key
 * of 64 hex digits), overwriting the freed pages. Each UPDATE names the clear value it
 * replaces, so two processes opening at once seal each value once.
 */
static int secrets_upgrade(struct facility *f)
{
	char *path = join(f->dir, SECRETS_FILE);
	sqlite3_stmt *st = NULL, *up = NULL;
	int r = 0, clear = 0, s;
	if (db_prepare(f->db, "SELECT (SELECT count(*) FROM people WHERE length(totp_secret) = 20) + (SELECT count(*) "
			      "FROM facility WHERE key = 'forensic_key' AND length(value) = 64), (SELECT count(*) FROM "
			      "people WHERE length(totp_secret) != 20) + (SELECT count(*) FROM facility WHERE key = "
			      "'forensic_key' AND length(value) != 64)", &st) == 0 &&
	    sqlite3_step(st) == SQLITE_ROW) {
		clear = sqlite3_column_int(st, 0);
		if (access(path, F_OK) < 0 && sqlite3_column_int(st, 1) == 0 && (r = secrets_make(f->dir)) &&
		    r != ERR_EXISTS)
			goto out;
		r = 0;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (!clear)
		goto out;
	if ((r = db_exec(f->db, "PRAGMA secure_delete = ON")) ||
	    (r = db_prepare(f->db, "SELECT id, login, totp_secret FROM people WHERE length(totp_secret) = 20", &st)) ||
	    (r = db_prepare(f->db, "UPDATE people SET totp_secret = ? WHERE id = ? AND totp_secret = ?", &up)))
		goto out;
	while (!r && (s = sqlite3_step(st)) == SQLITE_ROW) {
		struct buf sealed, purpose;
		buf_init(&sealed, 256);
		buf_init(&purpose, 128);
		if (!(r = buf_addf(&purpose, "totp:%s", (const char *)sqlite3_column_text(st, 1))) &&
		    !(r = facility_secret_seal(f, purpose.p, sqlite3_column_blob(st, 2), 20, &sealed))) {
			sqlite3_reset(up);
			sqlite3_bind_blob(up, 1, sealed.p, (int)sealed.len, SQLITE_TRANSIENT);
			sqlite3_bind_int64(up, 2, sqlite3_column_int64(st, 0));
			sqlite3_bind_blob(up, 3, sqlite3_column_blob(st, 2), 20, SQLITE_TRANSIENT);
			if (sqlite3_step(up) != SQLITE_DONE)
				r = db_fail(f->db, "cannot seal a TOTP secret");
		}
		buf_release(&sealed);
		buf_release(&purpose);
	}
	sqlite3_finalize(st);
	sqlite3_finalize(up);
	st = up = NULL;
	if (r || (r = db_prepare(f->db, "SELECT value FROM facility WHERE key = 'forensic_key' AND length(value) = 64", &st)))
		goto out;
	if (sqlite3_step(st) == SQLITE_ROW) {
		unsigned char k[32];
		const char *v = (const char *)sqlite3_column_text(st, 0);
		struct buf sealed;
		char *hex;
		buf_init(&sealed, 256);
		if (hex_decode(k, sizeof(k), v, 64)) {
			r = err_set(ERR_CORRUPT, "the facility's forensic key is damaged");
		} else if (!(r = facility_secret_seal(f, "forensic_key", k, sizeof(k), &sealed))) {
			hex = xmalloc(2 * sealed.len + 1);
			hex_encode(hex, sealed.p, sealed.len);
			if (!(r = db_prepare(f->db, "UPDATE facility SET value = ? WHERE key = 'forensic_key' AND value = ?", &up))) {
				sqlite3_bind_text(up, 1, hex, -1, SQLITE_TRANSIENT);
				sqlite3_bind_text(up, 2, v, -1, SQLITE_TRANSIENT);
				if (sqlite3_step(up) != SQLITE_DONE)
					r = db_fail(f->db, "cannot seal the forensic key");
			}
			free(hex);
		}
		sodium_memzero(k, sizeof(k));
		buf_release(&sealed);
	}
out:
	sqlite3_finalize(st);
	sqlite3_finalize(up);
	free(path);
	return r;
}

int facility_lock(struct facility *f, const char *name, int *fd)
{
	char *path = facility_path(f, name);
	int r = 0;
	*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (*fd < 0)
		r = err_set(ERR_IO, "cannot open '%s': %s", path, strerror(errno));
	else
		while (flock(*fd, LOCK_EX) != 0) {
			if (errno == EINTR)
				continue;
			r = err_set(ERR_IO, "cannot lock '%s': %s", path, strerror(errno));
			close(*fd);
			*fd = -1;
			break;
		}
	free(path);
	return r;
}

void facility_unlock(int fd)
{
	if (fd >= 0)
		close(fd); /* closing releases the flock */
}
