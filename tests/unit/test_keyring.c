/* Unit tests: keyring (locked keys, expiry, the unlock channel with a listener thread). */
#include <pthread.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ingest.h"
#include "keyring.h"
#include "policy.h"
#include "release.h"
#include "test.h"

static char root[] = "/tmp/sealroom-keyring-XXXXXX";
static char dir[300];
static struct facility *fac;
static struct note_signer *vkey, *okey;

TEST(hold_expire_drop)
{
	struct keyring *k;
	struct vault_key *vk = NULL;
	unsigned char raw[VAULT_KEY_LEN];
	randombytes_buf(raw, sizeof(raw));
	CHECK(keyring_new(&k) == 0);
	CHECK(keyring_get(k, "p", "1", 100, &vk) == ERR_NOTFOUND);
	CHECK_EQ_STR(err_msg(), "release 'p@1' is locked: the vendor must unlock it");
	CHECK(keyring_put(k, "p", "1", raw, 200) == 0);
	CHECK(keyring_put(k, "p", "2", raw, 300) == 0);
	CHECK(keyring_count(k) == 2);
	CHECK(keyring_get(k, "p", "1", 199, &vk) == 0 && vk);
	vault_key_free(vk);
	CHECK(keyring_get(k, "p", "1", 200, &vk) == ERR_NOTFOUND); /* the window ended: wiped */
	CHECK(keyring_count(k) == 1);
	CHECK(keyring_expire(k, 299) == 0 && keyring_expire(k, 300) == 1 && keyring_count(k) == 0);
	CHECK(keyring_put(k, "p", "3", raw, 300) == 0);
	CHECK(keyring_drop(k, "p", "3") == 1 && keyring_drop(k, "p", "3") == 0);
	keyring_free(k);
}

TEST(channel)
{
	struct keyring *k;
	struct keyring_listener *l = NULL, *l2 = NULL;
	struct vault_key *vk = NULL;
	struct buf reply;
	int64_t now = (int64_t)time(NULL);
	char sock[400];
	struct stat st;
	buf_init(&reply, 4096);
	CHECK(keyring_new(&k) == 0);
	CHECK(keyring_send(fac, NULL, "fw", "1", vkey, now + 3600, &reply) == ERR_NOTFOUND);
	CHECK(strstr(err_msg(), "no server listens at") != NULL);
	CHECK(keyring_listen(k, fac, NULL, &l) == 0);
	snprintf(sock, sizeof(sock), "%s/keyring.sock", dir);
	CHECK(stat(sock, &st) == 0 && (st.st_mode & 0777) == 0600);
	CHECK(keyring_listen(k, fac, NULL, &l2) == ERR_EXISTS);
	CHECK(keyring_listener_start(l) == 0);
	CHECK(keyring_send(fac, NULL, "fw", "1", okey, now + 3600, &reply) == ERR_AUTH);
	CHECK(keyring_send(fac, NULL, "fw", "1", vkey, now + 40 * 86400, &reply) == ERR_DENIED);
	CHECK(strstr(err_msg(), "the server refused: an unlock window must end within 31 days") != NULL);
	CHECK(keyring_count(k) == 0);
	CHECK(keyring_send(fac, NULL, "fw", "1", vkey, now + 3600, &reply) == 0);
	CHECK_EQ_STR(reply.p, "unlocked");
	CHECK(keyring_get(k, "fw", "1", now, &vk) == 0);
	vault_key_free(vk);
	/* a halted release cannot be unlocked */
	{
		struct policy_actor a = {"vera", vkey, 0};
		struct policy_outcome o;
		CHECK(policy_halt(fac, &a, "fw", "2", &o) == 0);
		CHECK(keyring_send(fac, NULL, "fw", "2", vkey, now + 3600, &reply) == ERR_DENIED);
		CHECK(strstr(err_msg(), "release 'fw@2' is halted") != NULL);
	}
	/* a direct unlock, as serve --vendor-key does */
	CHECK(keyring_unlock(k, fac, "fw", "3", vkey, now + 60) == 0 && keyring_count(k) == 2);
	CHECK(keyring_unlock(k, fac, "fw", "3", okey, now + 60) == ERR_AUTH);
	keyring_listener_free(l);
	CHECK(stat(sock, &st) != 0);
	keyring_free(k);
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
	for (int i = 1; i <= 3; i++) {
		struct seal_opts o = {0};
		struct release_info info;
		char v[16];
		snprintf(v, sizeof(v), "%d", i);
		o.product = "fw";
		o.version = v;
		o.vendor = vkey;
		ingest_opts_default(&o.ingest);
		if (release_seal(fac, src, &o, &info))
			return 1;
		release_info_release(&info);
	}
	RUN(hold_expire_drop);
	RUN(channel);
	facility_free(fac);
	note_signer_free(vkey);
	note_signer_free(okey);
	buf_release(&sk);
	buf_release(&vk);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	rc = system(cmd);
	(void)rc;
	return test_done();
}
