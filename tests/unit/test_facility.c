/* Unit tests: facility (init once, open, key, refusal to reuse a folder). */
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "facility.h"
#include "test.h"

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

int main(void)
{
	char cmd[300];
	int rc;
	if (!mkdtemp(root))
		return 1;
	RUN(init_open_and_twice);
	RUN(refuses_nonempty_and_bad_name);
	RUN(open_missing);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	rc = system(cmd);
	(void)rc;
	return test_done();
}
