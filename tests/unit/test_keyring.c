/* Unit tests: keyring (locked keys, expiry, the unlock channel with a listener thread). */
#include <pthread.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ingest.h"
#include "manifest.h"
#include "vault.h"
#include "keyring.h"
#include "policy.h"
#include "release.h"
#include "db.h"
#include <sqlite3.h>
#include <string.h>
#include "test.h"

static char root[] = "/tmp/sealroom-keyring-XXXXXX";
static char dir[300];
static struct facility *fac;
static struct note_signer *vkey, *okey;
static struct note_wrapper *wrap, *owrap;
static struct buf wpub;

/* How many of fw@0 .. fw@9 k holds a key for now (what a count of the keyring would say). */
static int held(struct keyring *k)
{
	int64_t until, now = (int64_t)time(NULL);
	char v[2] = "0";
	int n = 0;
	for (; v[0] <= '9'; v[0]++)
		n += keyring_until(k, "fw", v, now, &until) == 0;
	return n;
}

TEST(hold_expire_drop)
{
	struct keyring *k;
	struct vault_key *vk = NULL;
	unsigned char raw[VAULT_KEY_LEN];
	int64_t until = 0;
	randombytes_buf(raw, sizeof(raw));
	CHECK(keyring_new(&k) == 0);
	CHECK(keyring_get(k, "p", "1", 100, &vk) == ERR_NOTFOUND);
	CHECK_EQ_STR(err_msg(), "release 'p@1' is locked: the vendor must unlock it");
	CHECK(keyring_put(k, "p", "1", raw, 200) == 0);
	CHECK(keyring_put(k, "p", "2", raw, 300) == 0);
	CHECK(keyring_until(k, "p", "1", 100, &until) == 0 && until == 200);
	CHECK(keyring_until(k, "p", "2", 100, &until) == 0 && until == 300);
	CHECK(keyring_get(k, "p", "1", 199, &vk) == 0 && vk);
	vault_key_free(vk);
	CHECK(keyring_get(k, "p", "1", 200, &vk) == ERR_NOTFOUND); /* the window ended: wiped */
	CHECK(keyring_until(k, "p", "1", 100, &until) == ERR_NOTFOUND); /* gone, not only past */
	CHECK(keyring_until(k, "p", "2", 100, &until) == 0);
	CHECK(keyring_expire(k, 299) == 0 && keyring_expire(k, 300) == 1);
	CHECK(keyring_until(k, "p", "2", 100, &until) == ERR_NOTFOUND);
	CHECK(keyring_put(k, "p", "3", raw, 300) == 0);
	CHECK(keyring_drop(k, "p", "3") == 1 && keyring_drop(k, "p", "3") == 0);
	keyring_free(k);
}

/* Request, respond, apply in one process; the result of apply, with its message in msg. */
static int unlock(struct keyring *k, const char *ver, const struct note_signer *signer,
		  const struct note_wrapper *w, int64_t until, struct buf *resp_out)
{
	struct buf req, resp;
	struct keyring_unlock_info info;
	int r;
	buf_init(&req, KEYRING_FILE_MAX);
	buf_init(&resp, KEYRING_FILE_MAX);
	if (!(r = keyring_request(k, fac, "fw", ver, until, &req)) &&
	    !(r = keyring_respond(req.p, req.len, signer, w, (int64_t)time(NULL), &resp, &info))) {
		if (resp_out)
			r = buf_add(resp_out, resp.p, resp.len);
		if (!r)
			r = keyring_apply(k, fac, resp.p, resp.len, &info);
	}
	buf_release(&req);
	buf_release(&resp);
	return r;
}

static int sql(const char *q)
{
	return sqlite3_exec(facility_db(fac), q, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

TEST(offline_unlock)
{
	struct keyring *k;
	struct buf req, resp, saved;
	struct keyring_unlock_info info;
	struct vault_key *vk = NULL;
	int64_t now = (int64_t)time(NULL);
	buf_init(&req, KEYRING_FILE_MAX);
	buf_init(&resp, KEYRING_FILE_MAX);
	buf_init(&saved, KEYRING_FILE_MAX);
	CHECK(keyring_new(&k) == 0);
	/* windows and releases the server refuses to ask for */
	CHECK(keyring_request(k, fac, "fw", "1", now + 40 * 86400, &req) == ERR_USAGE);
	CHECK(strstr(err_msg(), "within 31 days") != NULL);
	CHECK(keyring_request(k, fac, "fw", "9", now + 60, &req) == ERR_NOTFOUND);
	/* another vendor's keys: its signature is not the seal's key, its wrapping key not the seal's */
	CHECK(unlock(k, "1", okey, wrap, now + 3600, NULL) == ERR_AUTH);
	CHECK(strstr(err_msg(), "does not verify") != NULL);
	CHECK(unlock(k, "1", vkey, owrap, now + 3600, NULL) == ERR_AUTH);
	CHECK(strstr(err_msg(), "not the one given") != NULL);
	CHECK(held(k) == 0);
	/* the real one */
	CHECK(unlock(k, "1", vkey, wrap, now + 3600, &saved) == 0);
	CHECK(keyring_get(k, "fw", "1", now, &vk) == 0);
	vault_key_free(vk);
	/* a response is used once */
	CHECK(keyring_apply(k, fac, saved.p, saved.len, &info) == ERR_DENIED);
	CHECK(strstr(err_msg(), "no pending request") != NULL);
	/* a response altered after signing (a later window) does not verify */
	buf_reset(&req);
	buf_reset(&resp);
	CHECK(keyring_request(k, fac, "fw", "3", now + 600, &req) == 0);
	CHECK(keyring_respond(req.p, req.len, vkey, wrap, now, &resp, &info) == 0);
	CHECK(!strcmp(info.release, "fw@3") && info.until == now + 600 && !strcmp(info.facility, "room.example"));
	{
		char *u = strstr(resp.p, "\nuntil ");
		CHECK(u != NULL);
		if (u)
			u[8] = u[8] == '9' ? '8' : '9';
	}
	CHECK(keyring_apply(k, fac, resp.p, resp.len, &info) == ERR_DENIED);
	CHECK(held(k) == 1);
	/* a malformed request: every line checked */
	CHECK(keyring_respond("x\n", 2, vkey, wrap, now, &resp, &info) == ERR_PARSE);
	buf_reset(&req);
	CHECK(keyring_request(k, fac, "fw", "3", now + 600, &req) == 0);
	{
		char *c = strstr(req.p, "challenge ");
		c[10] = 'Z';
		CHECK(keyring_respond(req.p, req.len, vkey, wrap, now, &resp, &info) == ERR_PARSE);
	}
	/* a halted release cannot be unlocked */
	{
		struct policy_actor a = {"vera", vkey, 0, NULL};
		struct policy_outcome o;
		CHECK(policy_halt(fac, &a, "fw", "2", &o) == 0);
		CHECK(keyring_request(k, fac, "fw", "2", now + 3600, &req) == ERR_DENIED);
		CHECK(strstr(err_msg(), "release 'fw@2' is halted") != NULL);
	}
	keyring_free(k);
	buf_release(&req);
	buf_release(&resp);
	buf_release(&saved);
}

/* Copy release version's vault folder to vault/name, as the operator would with cp. */
static int copy_vault(const char *version, const char *name)
{
	struct release_info ri;
	char cmd[2048], *vdir = NULL;
	int r;
	if ((r = release_get(fac, "fw", version, &ri)) || (r = release_vault_dir(fac, &ri, &vdir)))
		return r;
	snprintf(cmd, sizeof(cmd), "cp -r '%s' '%s/vault/%s'", vdir, dir, name);
	r = system(cmd) ? -1 : 0;
	free(vdir);
	release_info_release(&ri);
	return r;
}

/*
 * The operator's swap: fw@4's catalogue row pointed at fw@5's vault and wrapped key (a tree
 * of his, wrapped to the vendor's public wrapping key). The vendor answers the request in
 * good faith only if the seal names that wrapped key; it does not, so respond refuses. And
 * with only the vault swapped, the genuine key does not open the other vault.
 */
TEST(vault_swap)
{
	struct keyring *k;
	CHECK(keyring_new(&k) == 0);
	CHECK(copy_vault("5", "r-copy-5") == 0);
	CHECK(sql("UPDATE releases SET vault_dir = 'r-copy-5', "
		  "wrapped_key = (SELECT wrapped_key FROM releases WHERE version = '5') WHERE version = '4'") == 0);
	CHECK(unlock(k, "4", vkey, wrap, (int64_t)time(NULL) + 600, NULL) == ERR_AUTH);
	CHECK(strstr(err_msg(), "the wrapped key is not the one its seal names") != NULL);
	/* the genuine wrapped key of fw@4 back, the vault still fw@5's: refused and logged */
	CHECK(copy_vault("5", "r-copy-5b") == 0);
	CHECK(sql("UPDATE releases SET vault_dir = 'r-copy-5b' WHERE version = '7'") == 0);
	CHECK(unlock(k, "7", vkey, wrap, (int64_t)time(NULL) + 600, NULL) != 0);
	CHECK(strstr(err_msg(), "unlock refused") != NULL);
	CHECK(held(k) == 0);
	{
		sqlite3_stmt *st;
		int n = 0;
		CHECK(sqlite3_prepare_v2(facility_db(fac),
					 "SELECT count(*) FROM log_entries WHERE CAST(data AS TEXT) LIKE "
					 "'%\"type\":\"unlock_refused\"%'",
					 -1, &st, NULL) == SQLITE_OK);
		if (sqlite3_step(st) == SQLITE_ROW)
			n = sqlite3_column_int(st, 0);
		sqlite3_finalize(st);
		CHECK(n == 1);
	}
	keyring_free(k);
}

/* vault_check's callback: copy each blob into the writer. */
static int copy_blob(void *ctx, const unsigned char id[32], const void *p, size_t len)
{
	return vault_put(ctx, id, p, len);
}

/*
 * Rewrite release `from`'s vault under release `to`'s own data key (as a root operator who
 * read that key from memory during a window could) into a new folder, with blob `bad` (when
 * not NULL) replaced by other bytes under its id; point `to`'s row at it.
 */
static int rekey(const char *from, const char *to, const char *bad_path)
{
	struct release_info rf, rt;
	struct vault_key *kf = NULL, *kt = NULL;
	struct vault *v = NULL;
	struct vault_writer *w = NULL;
	struct buf b, q;
	char *vdir = NULL, *root_v = facility_path(fac, "vault"), name[32];
	const char *metas[] = {"manifest", "index", "xref", "seal"};
	int r;
	buf_init(&b, 1 << 26);
	buf_init(&q, 0);
	if ((r = release_get(fac, "fw", from, &rf)))
		return r;
	if ((r = release_get(fac, "fw", to, &rt)))
		return r;
	if ((r = release_unwrap(&rf, wrap, &kf)) || (r = release_unwrap(&rt, wrap, &kt)) ||
	    (r = release_vault_dir(fac, &rf, &vdir)) || (r = vault_open(vdir, kf, &v)) ||
	    (r = vault_writer_new(root_v, kt, NULL, &w)))
		goto out;
	if (!bad_path) {
		if ((r = vault_check(v, copy_blob, w)))
			goto out;
	} else {
		/* every blob of `from`, but the one at bad_path holds other bytes under its id */
		struct manifest *m = NULL;
		buf_reset(&b);
		if ((r = vault_get_meta(v, "manifest", &b)) || (r = manifest_decode(b.p, b.len, &m)))
			goto out;
		for (size_t i = 0; i < manifest_count(m); i++) {
			const struct manifest_entry *e = manifest_get(m, i);
			int is_bad = e->path_len == strlen(bad_path) && !memcmp(e->path, bad_path, e->path_len);
			buf_reset(&b);
			if (is_bad)
				r = buf_addstr(&b, "int x = 666; /* not what was sealed */\n");
			else
				r = vault_get(v, e->sha256, &b);
			if (r || (r = vault_put(w, e->sha256, b.p, b.len)))
				break;
		}
		manifest_free(m);
		if (r)
			goto out;
	}
	for (int i = 0; i < 4; i++) {
		buf_reset(&b);
		if ((r = vault_get_meta(v, metas[i], &b)) || (r = vault_put_meta(w, metas[i], b.p, b.len)))
			goto out;
	}
	snprintf(name, sizeof(name), "r-rekeyed-%s", from);
	r = vault_commit(w, name);
	w = NULL;
	if (!r && (r = buf_addf(&q, "UPDATE releases SET vault_dir = '%s' WHERE version = '%s'", name, to)) == 0)
		r = sql(q.p);
out:
	vault_writer_abort(w);
	vault_close(v);
	vault_key_free(kf);
	vault_key_free(kt);
	release_info_release(&rf);
	release_info_release(&rt);
	buf_release(&b);
	buf_release(&q);
	free(vdir);
	free(root_v);
	return r;
}

/*
 * With the data key in hand: fw@5's changed tree re-encrypted under fw@6's key, the seal,
 * wrapped key and key all genuine. The recomputed tree ids differ from the signed ones.
 * Then fw@3's own tree with one blob's bytes changed under its id: the tree ids match (the
 * manifest is untouched) but the blob no longer hashes to its id when read.
 */
TEST(rekeyed_vault)
{
	struct keyring *k;
	struct release_info ri;
	struct vault_key *key = NULL;
	struct vault *v = NULL;
	struct manifest *m = NULL;
	struct buf b;
	buf_init(&b, 1 << 20);
	CHECK(keyring_new(&k) == 0);
	/* fw@1's tree (int x;) under fw@6's key, fw@6 being the changed tree */
	CHECK(rekey("1", "6", NULL) == 0);
	CHECK(unlock(k, "6", vkey, wrap, (int64_t)time(NULL) + 600, NULL) != 0);
	CHECK(strstr(err_msg(), "the vault's tree is") != NULL);
	CHECK(held(k) == 0);
	/* fw@3's own tree, one blob's bytes changed under its id */
	CHECK(rekey("3", "3", "a.c") == 0);
	CHECK(release_get(fac, "fw", "3", &ri) == 0);
	CHECK(release_unwrap(&ri, wrap, &key) == 0);
	CHECK(release_open_key(fac, &ri, key, &v, &m, NULL) == 0);
	if (m) {
		CHECK(vault_get(v, manifest_get(m, 0)->sha256, &b) == ERR_CORRUPT);
		CHECK(strstr(err_msg(), "does not hash to its id") != NULL);
		CHECK(b.len == 0);
	}
	manifest_free(m);
	vault_close(v);
	vault_key_free(key);
	release_info_release(&ri);
	keyring_free(k);
	buf_release(&b);
}

TEST(channel)
{
	struct keyring *k;
	struct keyring_listener *l = NULL, *l2 = NULL;
	struct keyring_unlock_info info;
	struct vault_key *vk = NULL;
	struct buf req, resp, reply;
	int64_t now = (int64_t)time(NULL);
	char sock[400];
	struct stat st;
	buf_init(&req, KEYRING_FILE_MAX);
	buf_init(&resp, KEYRING_FILE_MAX);
	buf_init(&reply, 4096);
	CHECK(keyring_new(&k) == 0);
	CHECK(keyring_send_request(fac, NULL, "fw", "3", now + 3600, &req) == ERR_NOTFOUND);
	CHECK(strstr(err_msg(), "no server listens at") != NULL);
	CHECK(keyring_listen(k, fac, NULL, &l) == 0);
	snprintf(sock, sizeof(sock), "%s/keyring.sock", dir);
	CHECK(stat(sock, &st) == 0 && (st.st_mode & 0777) == 0600);
	CHECK(keyring_listen(k, fac, NULL, &l2) == ERR_EXISTS);
	CHECK(keyring_listener_start(l) == 0);
	CHECK(keyring_send_request(fac, NULL, "fw", "3", now + 40 * 86400, &req) == ERR_DENIED);
	CHECK(strstr(err_msg(), "the server refused: an unlock window must end within 31 days") != NULL);
	CHECK(keyring_send_request(fac, NULL, "fw", "3", now + 3600, &req) == 0);
	CHECK(keyring_respond(req.p, req.len, vkey, wrap, now, &resp, &info) == 0);
	CHECK(keyring_send_response(fac, NULL, resp.p, resp.len, &reply) == 0);
	CHECK(strstr(reply.p, "fw@3 unlocked until ") == reply.p);
	CHECK(keyring_get(k, "fw", "3", now, &vk) == 0);
	vault_key_free(vk);
	keyring_listener_free(l);
	CHECK(stat(sock, &st) != 0);
	keyring_free(k);
	buf_release(&req);
	buf_release(&resp);
	buf_release(&reply);
}

int main(void)
{
	char cmd[400], src[400], file[450];
	unsigned char s[AUTH_TOTP_SECRET_LEN];
	struct buf sk, vk;
	FILE *fp;
	int rc;
	if (!mkdtemp(root))
		return 1;
	snprintf(dir, sizeof(dir), "%s/f", root);
	buf_init(&sk, 4096);
	buf_init(&vk, 4096);
	if (note_key_generate("acme", &sk, &vk) || note_signer_parse(sk.p, sk.len, &vkey))
		return 1;
	buf_reset(&sk);
	buf_reset(&vk);
	if (note_key_generate("other", &sk, &vk) || note_signer_parse(sk.p, sk.len, &okey))
		return 1;
	if (facility_init(dir, "room.example") || facility_open(dir, &fac) ||
	    policy_org_add(fac, "acme", "vendor", "t") ||
	    policy_person_add(fac, "vera", "acme", "vendor", "", "a good long password", "t", s))
		return 1;
	snprintf(src, sizeof(src), "%s/src", root);
	mkdir(src, 0700);
	snprintf(file, sizeof(file), "%s/a.c", src);
	fp = fopen(file, "w");
	fputs("int x;\n", fp);
	fclose(fp);
	{
		struct buf wsk, wpk;
		buf_init(&wsk, 4096);
		buf_init(&wpk, 4096);
		buf_init(&wpub, 4096);
		if (note_wrap_generate("acme", &wsk, &wpub) || note_wrapper_parse(wsk.p, wsk.len, &wrap))
			return 1;
		buf_reset(&wsk);
		if (note_wrap_generate("acme", &wsk, &wpk) || note_wrapper_parse(wsk.p, wsk.len, &owrap))
			return 1;
		buf_release(&wsk);
		buf_release(&wpk);
	}
	for (int i = 1; i <= 7; i++) {
		struct seal_opts o = {0};
		struct release_info info;
		char v[16];
		snprintf(v, sizeof(v), "%d", i);
		o.product = "fw";
		o.version = v;
		o.vendor = vkey;
		o.wrap_pkey = wpub.p;
		ingest_opts_default(&o.ingest);
		if (i == 5) { /* a different tree: the operator's */
			fp = fopen(file, "w");
			fputs("int x = 1; /* changed */\n", fp);
			fclose(fp);
		}
		if (release_seal(fac, src, &o, &info))
			return 1;
		release_info_release(&info);
	}
	RUN(hold_expire_drop);
	RUN(offline_unlock);
	RUN(vault_swap);
	RUN(rekeyed_vault);
	RUN(channel);
	facility_free(fac);
	note_signer_free(vkey);
	note_signer_free(okey);
	note_wrapper_free(wrap);
	note_wrapper_free(owrap);
	buf_release(&wpub);
	buf_release(&sk);
	buf_release(&vk);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	rc = system(cmd);
	(void)rc;
	return test_done();
}
