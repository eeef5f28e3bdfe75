/* test_room: opened releases: locked until the keyring holds the key, the file list and exact
 * lookups, file views before and after the index loads (the same page either way), diffs,
 * the code notes are checked against, and dropping a release whose key is gone or that is
 * withdrawn (a room in use stays valid until its last reference). */
#include <dirent.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ingest.h"
#include "keyring.h"
#include "logdb.h"
#include "policy.h"
#include "release.h"
#include "room.h"
#include "highlightd.h"
#include "test.h"
#include "vendor_fixture.h"

static char root[] = "/tmp/sealroom-room-XXXXXX";
static char dir[300];
static struct facility *fac;
static struct logdb *log_;
static struct note_signer *vkey;
static const int64_t MON10 = 1894010400; /* 2030-01-07, a Monday, 10:00 UTC */
static const char text[] = "int first(void);\nint second(void);\nint third(void);\n";
static const char odd_name[] = "odd\nname\\with-\xff.c";
/* UTF-16LE with its byte order mark: "int sixteen;\ncaf\u00e9 line\n" */
static const char u16_text[] = "\xff\xfe" "i\0n\0t\0 \0s\0i\0x\0t\0e\0e\0n\0;\0\n\0" "c\0a\0f\0\xe9\0 \0l\0i\0n\0e\0\n\0";

static struct session_info who_of(const char *login)
{
	struct session_info w;
	struct person_info p;
	memset(&w, 0, sizeof(w));
	if (policy_person_get(fac, login, &p))
		abort();
	w.person_id = p.id;
	w.org_id = p.org_id;
	snprintf(w.login, sizeof(w.login), "%s", p.login);
	snprintf(w.role, sizeof(w.role), "%s", p.role);
	snprintf(w.org, sizeof(w.org), "lab1");
	snprintf(w.session_id, sizeof(w.session_id), "00000000000000a1");
	return w;
}


static struct render_ctx ctx_for(const struct session_info *who)
{
	struct render_ctx c = {0};
	c.f = fac;
	c.log = log_;
	c.who = who;
	c.product = "fw";
	c.version = "1";
	c.now = MON10;
	return c;
}

/* Children of this process that are highlight workers (argv[1] HIGHLIGHTD_ARG). */
static int highlight_workers(void)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int n = 0;
	while (d && (de = readdir(d))) {
		char path[300], buf[512];
		FILE *f;
		size_t k;
		int pid, ppid = 0;
		if ((pid = atoi(de->d_name)) <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/stat", pid);
		if ((f = fopen(path, "r"))) {
			if (fgets(buf, sizeof(buf), f) && strrchr(buf, ')'))
				ppid = atoi(strrchr(buf, ')') + 4);
			fclose(f);
		}
		if (ppid != getpid())
			continue;
		snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
		if ((f = fopen(path, "r"))) {
			k = fread(buf, 1, sizeof(buf) - 1, f);
			buf[k] = 0;
			n += k > strlen(buf) + 1 && !strcmp(buf + strlen(buf) + 1, HIGHLIGHTD_ARG);
			fclose(f);
		}
	}
	if (d)
		closedir(d);
	return n;
}

TEST(open_view_drop)
{
	struct keyring *k = NULL;
	struct rooms *rs;
	struct room *rm = NULL, *held = NULL;
	struct session_info rita = who_of("rita");
	struct render_ctx c = ctx_for(&rita);
	struct notes_code nc;
	struct buf a, b;
	uint64_t to, n;
	size_t fi, fo;
	int64_t now = (int64_t)time(NULL);
	buf_init(&a, 1 << 20);
	buf_init(&b, 1 << 20);
	CHECK(keyring_new(&k) == 0);
	rs = rooms_new(k);
	/* locked: no key, no room */
	CHECK(!rooms_unlocked(rs, "fw", "1", now));
	CHECK(room_get(rs, fac, "fw", "1", now, 0, &rm) == ERR_NOTFOUND && rm == NULL);
	CHECK(strstr(err_msg(), "locked") != NULL);
	CHECK(fixture_unlock(k, fac, "fw", "1", vkey, now + 3600) == 0);
	CHECK(rooms_unlocked(rs, "fw", "1", now));
	/* the file list, exact names only (bytes that are not UTF-8, a newline, a backslash) */
	CHECK(room_get(rs, fac, "fw", "1", now, 0, &rm) == 0);
	CHECK(manifest_count(room_manifest(rm)) == 3);
	CHECK(room_find(rm, "a.c", &fi) == 0 && !strcmp(manifest_get(room_manifest(rm), fi)->path, "a.c"));
	CHECK(room_find(rm, odd_name, &fo) == 0 && fo != fi);
	CHECK(room_find(rm, "a.", &fi) == ERR_NOTFOUND && room_find(rm, "a.c/", &fi) == ERR_NOTFOUND);
	CHECK(room_find(rm, "a.c", &fi) == 0);
	/* a view, whether the index is loaded yet or not, is the same page */
	CHECK(room_render_file(rm, &c, fi, 1, &a, &to, &n, NULL) == 0 && n == 3 && to == 3);
	room_put(rs, rm);
	CHECK(room_get(rs, fac, "fw", "1", now, 1, &rm) == 0 && room_index_ready(rm));
	CHECK(room_render_file(rm, &c, fi, 1, &b, &to, &n, NULL) == 0 && n == 3);
	CHECK(strstr(a.p, "second") && strstr(b.p, "second"));
	/* coloured by the release's highlight worker, a process of its own: the room parses no code */
	CHECK(highlight_workers() == 1);
	CHECK(strstr(a.p, "<span class=ht>") && strstr(b.p, "<span class=ht>"));
	/* a UTF-16 file is shown as a search reads it, its UTF-8 transcoding, before the index
	 * loads (decrypted and transcoded) as after (the index's transcoding) */
	room_put(rs, rm);
	CHECK(fixture_unlock(k, fac, "fw", "1", vkey, now + 3600) == 0);
	{
		struct rooms *rs2 = rooms_new(k);
		struct room *r2 = NULL;
		struct render_kind kind;
		size_t fu;
		CHECK(room_get(rs2, fac, "fw", "1", now, 0, &r2) == 0 && room_find(r2, "u16.txt", &fu) == 0);
		buf_reset(&a);
		memset(&kind, 0, sizeof(kind));
		CHECK(room_render_file(r2, &c, fu, 1, &a, &to, &n, &kind) == 0 && n == 2 && !kind.binary);
		CHECK(strstr(a.p, "sixteen") && strstr(a.p, "caf\xc3\xa9"));
		room_put(rs2, r2);
		CHECK(room_get(rs2, fac, "fw", "1", now, 1, &r2) == 0 && room_index_ready(r2));
		buf_reset(&b);
		memset(&kind, 0, sizeof(kind));
		CHECK(room_render_file(r2, &c, fu, 1, &b, &to, &n, &kind) == 0 && n == 2 && !kind.binary);
		CHECK(strstr(b.p, "sixteen") && strstr(b.p, "caf\xc3\xa9"));
		room_put(rs2, r2);
		rooms_free(rs2);
	}
	CHECK(room_get(rs, fac, "fw", "1", now, 1, &rm) == 0);
	CHECK(room_render_file(rm, &c, manifest_count(room_manifest(rm)), 1, &b, &to, &n, NULL) == ERR_NOTFOUND);
	/* a diff of a release with itself: no change; a name neither has: not a file */
	buf_reset(&b);
	{
		const struct manifest_entry *e = manifest_get(room_manifest(rm), fi), other = *e;
		CHECK(room_render_diff(rm, rm, &c, "1", 3, e, e, &b) == 0 && strstr(b.p, "id=\"code\""));
		CHECK(room_render_diff(rm, rm, &c, "1", 3, NULL, NULL, &b) == ERR_NOTFOUND);
		/* an entry that is not the release's own is refused, whatever its name */
		CHECK(room_render_diff(rm, rm, &c, "1", 3, &other, e, &b) == ERR_NOTFOUND);
	}
	/* what notes are checked against: the release's shingles */
	CHECK(room_notes_code(rs, rm, &nc) == 0 && (nc.sh != NULL || nc.ix != NULL));
	/* the key goes: the release is dropped, the room held by a request stays valid */
	CHECK(room_get(rs, fac, "fw", "1", now, 0, &held) == 0);
	room_put(rs, rm);
	CHECK(keyring_drop(k, "fw", "1") == 1);
	rooms_sweep(rs, now);
	CHECK(room_get(rs, fac, "fw", "1", now, 0, &rm) == ERR_NOTFOUND);
	CHECK(manifest_count(room_manifest(held)) == 3 && room_find(held, "a.c", &fi) == 0);
	room_put(rs, held);
	/* withdrawn (a halt): key and room go at once, a room in use stays valid until put */
	CHECK(fixture_unlock(k, fac, "fw", "1", vkey, now + 3600) == 0);
	CHECK(room_get(rs, fac, "fw", "1", now, 1, &held) == 0);
	CHECK(rooms_withdraw(rs, "fw", "1") == 1);
	CHECK(!rooms_unlocked(rs, "fw", "1", now));
	CHECK(room_get(rs, fac, "fw", "1", now, 0, &rm) == ERR_NOTFOUND && rm == NULL);
	CHECK(room_find(held, "a.c", &fi) == 0 && room_render_file(held, &c, fi, 1, &b, &to, &n, NULL) == 0);
	room_put(rs, held);
	CHECK(rooms_withdraw(rs, "fw", "1") == 0);
	rooms_free(rs);
	keyring_free(k);
	buf_release(&a);
	buf_release(&b);
}

/*
 * Names asked by their place are the names the view shows: for every line of a.c, the k-th
 * name element of the rendered line (a definition link or a name with none) is what
 * room_name_at finds at (line, k), and there is nothing past the last.
 */
TEST(names_by_place)
{
	struct keyring *k = NULL;
	struct rooms *rs;
	struct room *rm = NULL;
	struct session_info rita = who_of("rita");
	struct render_ctx c = ctx_for(&rita);
	struct buf b;
	uint64_t to, n;
	size_t fi, total = 0;
	char *name = NULL;
	int64_t now = (int64_t)time(NULL);
	buf_init(&b, 1 << 20);
	CHECK(keyring_new(&k) == 0);
	rs = rooms_new(k);
	CHECK(fixture_unlock(k, fac, "fw", "1", vkey, now + 3600) == 0);
	CHECK(room_get(rs, fac, "fw", "1", now, 1, &rm) == 0 && room_index_ready(rm));
	CHECK(room_find(rm, "a.c", &fi) == 0);
	CHECK(room_render_file(rm, &c, fi, 1, &b, &to, &n, NULL) == 0 && n == 3);
	for (uint64_t line = 1; line <= 3; line++) {
		char id[32];
		const char *p, *end;
		uint64_t kk = 0;
		snprintf(id, sizeof(id), "id=\"L%llu\"", (unsigned long long)line);
		CHECK((p = strstr(b.p, id)) != NULL);
		if (!p)
			continue;
		end = strstr(p, "</div>");
		while ((p = strstr(p, "<a class=")) && p < end) {
			const char *t, *te;
			if (p[9] != 'd' && p[9] != 'u') { /* the line number's anchor */
				p += 9;
				continue;
			}
			t = strchr(p, '>') + 1;
			te = strstr(t, "</a>");
			CHECK(room_name_at(rm, &c, fi, line, kk, &name) == 0 && name && strlen(name) == (size_t)(te - t) &&
			      !memcmp(name, t, (size_t)(te - t)));
			free(name);
			name = NULL;
			kk++;
			p = te;
		}
		CHECK(kk >= 2); /* "int" and the function's name at least */
		total += kk;
		CHECK(room_name_at(rm, &c, fi, line, kk, &name) == ERR_NOTFOUND && !name);
	}
	CHECK(total >= 6);
	CHECK(room_name_at(rm, &c, fi, 0, 0, &name) == ERR_NOTFOUND);
	CHECK(room_name_at(rm, &c, fi, 4, 0, &name) == ERR_NOTFOUND);
	CHECK(room_name_at(rm, &c, manifest_count(room_manifest(rm)), 1, 0, &name) == ERR_NOTFOUND);
	room_put(rs, rm);
	rooms_free(rs);
	keyring_free(k);
	buf_release(&b);
}

int main(void)
{
	char src[400], file[450], cmd[400];
	unsigned char s[AUTH_TOTP_SECRET_LEN];
	struct buf sk, vk;
	struct seal_opts o = {0};
	struct release_info info;
	struct policy_actor lead = {"lena", NULL, MON10, NULL}, v = {"vera", NULL, MON10, NULL}, op = {"otto", NULL, MON10, NULL};
	struct policy_outcome out;
	struct grant_terms t = {0};
	FILE *fp;
	int rc;
	if (!mkdtemp(root))
		return 1;
	snprintf(dir, sizeof(dir), "%s/f", root);
	buf_init(&sk, 4096);
	buf_init(&vk, 4096);
	if (note_key_generate("acme", &sk, &vk) || note_signer_parse(sk.p, sk.len, &vkey))
		return 1;
	v.vendor_key = vkey;
	if (facility_init(dir, "room.example") || facility_open(dir, &fac) || logdb_open(fac, &log_) ||
	    policy_org_add(fac, "acme", "vendor", "t") || policy_org_add(fac, "lab1", "lab", "t") ||
	    policy_org_add(fac, "ops", "operator", "t") ||
	    policy_person_add(fac, "vera", "acme", "vendor", "", "a good long password", "t", s) ||
	    policy_person_add(fac, "otto", "ops", "operator", "", "a good long password", "t", s) ||
	    policy_person_add(fac, "lena", "lab1", "auditor", "", "a good long password", "t", s) ||
	    policy_person_add(fac, "rita", "lab1", "reviewer", "", "a good long password", "t", s) ||
	    policy_person_add(fac, "rob", "lab1", "reviewer", "", "a good long password", "t", s)) {
		fprintf(stderr, "setup: %s\n", err_msg());
		return 1;
	}
	snprintf(src, sizeof(src), "%s/src", root);
	mkdir(src, 0700);
	snprintf(file, sizeof(file), "%s/a.c", src);
	fp = fopen(file, "w");
	fputs(text, fp);
	fclose(fp);
	snprintf(file, sizeof(file), "%s/%s", src, odd_name);
	fp = fopen(file, "w");
	fputs("int odd;\n", fp);
	fclose(fp);
	snprintf(file, sizeof(file), "%s/u16.txt", src);
	fp = fopen(file, "w");
	fwrite(u16_text, 1, sizeof(u16_text) - 1, fp);
	fclose(fp);
	o.product = "fw";
	o.version = "1";
	o.vendor = vkey;
	o.wrap_pkey = fixture_wrap_pkey();
	ingest_opts_default(&o.ingest);
	t.valid_from = MON10 - 86400;
	t.valid_until = MON10 + 7 * 86400;
	t.days = 0x7f;
	t.hour_from = 0;
	t.hour_until = 24;
	t.lines_per_day = 1000;
	t.lines_total = POLICY_UNLIMITED;
	t.prints = 5;
	t.quotas = "{}";
	if (release_seal(fac, src, &o, &info) || policy_nominate(fac, &lead, "fw", "1", "rita", "cv") ||
	    policy_approve(fac, &v, "fw", "1", "rita", &out) || policy_grant(fac, &op, "fw", "1", "rita", &t, &out) ||
	    policy_grant(fac, &v, "fw", "1", "rita", &t, &out)) {
		fprintf(stderr, "setup: %s\n", err_msg());
		return 1;
	}
	release_info_release(&info);
	RUN(open_view_drop);
	RUN(names_by_place);
	logdb_free(log_);
	facility_free(fac);
	note_signer_free(vkey);
	buf_release(&sk);
	buf_release(&vk);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	rc = system(cmd);
	(void)rc;
	return test_done();
}
