/* Unit tests: facility (init once, open, key, refusal to reuse a folder). */
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "auth.h"
#include "db.h"
#include "facility.h"
#include "policy.h"
#include "test.h"
#include "trace.h"

static char root[] = "/tmp/sealroom-fac-XXXXXX";

TEST(init_open_and_twice)
{
	char dir[256], keyp[300];
	struct facility *f = NULL;
	const struct note_signer *s;
	struct stat st;
	snprintf(dir, sizeof(dir), "%s/f", root);
	CHECK(facility_init(dir, "room.example") == 0);
	snprintf(keyp, sizeof(keyp), "%s/keys/log.key", dir);
	CHECK(stat(keyp, &st) == 0 && (st.st_mode & 0777) == 0600);
	CHECK(facility_init(dir, "room.example") == ERR_EXISTS);
	CHECK(strstr(err_msg(), "already holds a facility") != NULL);
	CHECK(facility_open(dir, &f) == 0);
	CHECK_EQ_STR(facility_name(f), "room.example");
	CHECK(facility_signer(f, &s) == 0 && !strcmp(note_signer_name(s), "room.example"));
	facility_free(f);
}

TEST(refuses_nonempty_and_bad_name)
{
	char dir[256], file[300];
	FILE *fp;
	snprintf(dir, sizeof(dir), "%s/busy", root);
	CHECK(mkdir(dir, 0700) == 0);
	snprintf(file, sizeof(file), "%s/x", dir);
	fp = fopen(file, "w");
	CHECK(fp != NULL);
	if (fp)
		fclose(fp);
	CHECK(facility_init(dir, "ok") == ERR_EXISTS);
	CHECK(access(file, F_OK) == 0);
	snprintf(dir, sizeof(dir), "%s/badname", root);
	CHECK(facility_init(dir, "has space") == ERR_USAGE);
	CHECK(access(dir, F_OK) != 0);
}

TEST(open_missing)
{
	struct facility *f;
	char dir[256];
	snprintf(dir, sizeof(dir), "%s/none", root);
	CHECK(facility_open(dir, &f) == ERR_NOTFOUND && strstr(err_msg(), "sealroom init"));
}

/* Does the file at path (and its -wal) hold (p, len) anywhere? */
static int file_holds(const char *path, const void *p, size_t len)
{
	char wal[400];
	const char *paths[2] = {path, wal};
	snprintf(wal, sizeof(wal), "%s-wal", path);
	for (int k = 0; k < 2; k++) {
		struct buf b;
		int found;
		buf_init(&b, 1 << 28);
		if (buf_read_file(&b, paths[k])) {
			buf_release(&b);
			continue;
		}
		found = memmem(b.p, b.len, p, len) != NULL;
		buf_release(&b);
		if (found)
			return 1;
	}
	return 0;
}

/* The forensic secret as the facility holds it: the row opened with the at-rest key. */
static int forensic_secret(struct facility *f, unsigned char out[32])
{
	sqlite3_stmt *st;
	unsigned char sealed[256];
	size_t n = 0;
	int r = -1;
	if (db_prepare(facility_db(f), "SELECT value FROM facility WHERE key = 'forensic_key'", &st))
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW) {
		const char *v = (const char *)sqlite3_column_text(st, 0);
		size_t vl = strlen(v);
		if (vl / 2 <= sizeof(sealed) && !hex_decode(sealed, vl / 2, v, vl))
			r = facility_secret_open(f, "forensic_key", sealed, vl / 2, out, 32, &n) || n != 32;
	}
	sqlite3_finalize(st);
	return r;
}

/*
 * Secrets at rest: TOTP secrets and the forensic key are sealed under keys/secrets.key;
 * neither is in the database file in clear (nor in hex); a sealed TOTP secret opens for
 * its own account only; without the key file nothing opens; a facility from before the
 * key file is sealed when opened.
 */
TEST(secrets_at_rest)
{
	char dir[256], db[300], keyp[300], hex[65];
	unsigned char totp[AUTH_TOTP_SECRET_LEN], again[AUTH_TOTP_SECRET_LEN], fk[32];
	struct facility *f = NULL;
	struct trace_keys k;
	struct stat st;
	snprintf(dir, sizeof(dir), "%s/s", root);
	snprintf(db, sizeof(db), "%s/sealroom.db", dir);
	snprintf(keyp, sizeof(keyp), "%s/keys/secrets.key", dir);
	CHECK(facility_init(dir, "room.example") == 0);
	CHECK(stat(keyp, &st) == 0 && (st.st_mode & 0777) == 0600);
	CHECK(facility_open(dir, &f) == 0);
	CHECK(policy_org_add(f, "lab1", "lab", "t") == 0);
	CHECK(policy_person_add(f, "rita", "lab1", "reviewer", "", "a good long password", "t", totp) == 0);
	CHECK(policy_person_add(f, "rob", "lab1", "reviewer", "", "a good long password", "t", again) == 0);
	CHECK(trace_keys_get(f, &k) == 0);
	CHECK(forensic_secret(f, fk) == 0);
	CHECK(auth_totp_secret(f, "rita", again) == 0 && !memcmp(again, totp, sizeof(totp)));
	CHECK(db_exec(facility_db(f), "PRAGMA wal_checkpoint(TRUNCATE)") == 0);
	CHECK(!file_holds(db, totp, sizeof(totp)));
	hex_encode(hex, totp, sizeof(totp));
	CHECK(!file_holds(db, hex, 2 * sizeof(totp)));
	CHECK(!file_holds(db, fk, sizeof(fk)));
	hex_encode(hex, fk, sizeof(fk));
	CHECK(!file_holds(db, hex, 64));
	/* rita's sealed secret copied to rob's row does not open as rob's */
	CHECK(db_exec(facility_db(f), "UPDATE people SET totp_secret = (SELECT totp_secret FROM people WHERE "
				      "login = 'rita') WHERE login = 'rob'") == 0);
	CHECK(auth_totp_secret(f, "rob", again) == ERR_CORRUPT);
	facility_free(f);
	/* without the key file: nothing opens, and no new key is made over sealed values */
	{
		char moved[300];
		snprintf(moved, sizeof(moved), "%s/moved.key", root);
		CHECK(rename(keyp, moved) == 0);
		CHECK(facility_open(dir, &f) == 0);
		CHECK(access(keyp, F_OK) < 0);
		CHECK(auth_totp_secret(f, "rita", again) == ERR_IO);
		CHECK(strstr(err_msg(), "at-rest key") != NULL);
		CHECK(trace_keys_get(f, &k) == ERR_IO);
		facility_free(f);
		CHECK(rename(moved, keyp) == 0);
	}
	/* a facility from before: secrets in clear, no key file; opening seals them */
	CHECK(facility_open(dir, &f) == 0);
	{
		sqlite3_stmt *q;
		CHECK(db_prepare(facility_db(f), "UPDATE people SET totp_secret = ? WHERE login = 'rita'", &q) == 0);
		sqlite3_bind_blob(q, 1, totp, sizeof(totp), SQLITE_STATIC);
		CHECK(sqlite3_step(q) == SQLITE_DONE);
		sqlite3_finalize(q);
		CHECK(db_exec(facility_db(f), "DELETE FROM people WHERE login = 'rob'") == 0);
		CHECK(db_prepare(facility_db(f), "UPDATE facility SET value = ? WHERE key = 'forensic_key'", &q) == 0);
		sqlite3_bind_text(q, 1, hex, -1, SQLITE_STATIC);
		CHECK(sqlite3_step(q) == SQLITE_DONE);
		sqlite3_finalize(q);
	}
	facility_free(f);
	CHECK(unlink(keyp) == 0);
	CHECK(facility_open(dir, &f) == 0);
	CHECK(stat(keyp, &st) == 0 && (st.st_mode & 0777) == 0600);
	CHECK(auth_totp_secret(f, "rita", again) == 0 && !memcmp(again, totp, sizeof(totp)));
	{
		unsigned char fk2[32];
		CHECK(forensic_secret(f, fk2) == 0 && !memcmp(fk, fk2, sizeof(fk)));
	}
	CHECK(db_exec(facility_db(f), "PRAGMA wal_checkpoint(TRUNCATE)") == 0);
	CHECK(!file_holds(db, totp, sizeof(totp)));
	CHECK(!file_holds(db, hex, 64));
	facility_free(f);
}

int main(void)
{
	char cmd[300];
	int rc;
	if (!mkdtemp(root))
		return 1;
	RUN(init_open_and_twice);
	RUN(refuses_nonempty_and_bad_name);
	RUN(open_missing);
	RUN(secrets_at_rest);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	rc = system(cmd);
	(void)rc;
	return test_done();
}
