/* Unit tests: home (the vendor's, the operator's and the lab lead's pages): who reaches
 * which, the decisions waiting with their commands, held sessions, the facility's health,
 * and the exposure at the log's checkpoint with the bytes of report_from_facility. */
#include <sys/stat.h>
#include <time.h>

#include "db.h"
#include "decision.h"
#include "home.h"
#include "ingest.h"
#include "policy.h"
#include "release.h"
#include "report.h"
#include "test.h"

static char root[] = "/tmp/sealroom-home-XXXXXX";
static char dir[300];
static struct facility *fac;
static struct logdb *lg;
static struct note_signer *vkey;
static const char *pw = "a good long password";

static void seal(const char *version)
{
	char src[400], file[450];
	struct seal_opts o = {0};
	struct release_info info;
	struct buf wsk, wpk;
	FILE *fp;
	snprintf(src, sizeof(src), "%s/src", root);
	mkdir(src, 0700);
	snprintf(file, sizeof(file), "%s/a.c", src);
	fp = fopen(file, "w");
	fputs("int home_marker_x;\n", fp);
	fclose(fp);
	buf_init(&wsk, 4096);
	buf_init(&wpk, 4096);
	if (note_wrap_generate("acme", &wsk, &wpk))
		abort();
	o.product = "fw";
	o.version = version;
	o.vendor = vkey;
	o.wrap_pkey = wpk.p;
	ingest_opts_default(&o.ingest);
	if (release_seal(fac, src, &o, &info)) {
		fprintf(stderr, "seal: %s\n", err_msg());
		exit(1);
	}
	release_info_release(&info);
	buf_release(&wsk);
	buf_release(&wpk);
}

static struct session_info who_of(const char *login)
{
	struct session_info w;
	struct person_info p;
	memset(&w, 0, sizeof(w));
	if (policy_person_get(fac, login, &p) == 0) {
		w.person_id = p.id;
		snprintf(w.login, sizeof(w.login), "%s", p.login);
		snprintf(w.role, sizeof(w.role), "%s", p.role);
		snprintf(w.org, sizeof(w.org), "%s", p.org);
		snprintf(w.org_kind, sizeof(w.org_kind), "%s", p.org_kind);
		w.org_id = p.org_id;
	}
	snprintf(w.session_id, sizeof(w.session_id), "00000000000000aa");
	return w;
}

static struct home_ctx ctx_of(const struct session_info *who, struct keyring *k)
{
	struct home_ctx c;
	memset(&c, 0, sizeof(c));
	c.f = fac;
	c.log = lg;
	c.keys = k;
	c.who = who;
	c.csrf = "0123";
	c.now = (int64_t)time(NULL);
	return c;
}

/* The page of who (by its role's function) into b; returns that function's answer. */
static int page(int (*fn)(const struct home_ctx *, struct buf *), const char *login, struct keyring *k, struct buf *b)
{
	struct session_info w = who_of(login);
	struct home_ctx c = ctx_of(&w, k);
	buf_reset(b);
	return fn(&c, b);
}

TEST(roles_and_refusals)
{
	struct session_info vera = who_of("vera"), otto = who_of("otto"), lena = who_of("lena"), rita = who_of("rita"),
			    lee = who_of("lee"), aud = who_of("aude");
	struct buf b;
	buf_init(&b, 0);
	CHECK(!strcmp(home_path(&vera), "/vendor") && !strcmp(home_role(&vera), "vendor"));
	CHECK(!strcmp(home_path(&otto), "/operator"));
	CHECK(!strcmp(home_path(&lena), "/lab") && !strcmp(home_path(&lee), "/lab"));
	CHECK(!strcmp(home_path(&rita), "/releases") && home_role(&rita) == NULL);
	/* an auditor outside a lab (the vendor's own) has no lab page */
	CHECK(home_role(&aud) == NULL);
	/* every page refuses every other role, and writes nothing */
	const char *others[] = {"otto", "lena", "rita", "aude"};
	for (size_t i = 0; i < 4; i++) {
		CHECK(page(home_vendor, others[i], NULL, &b) == ERR_NOTFOUND && b.len == 0);
	}
	const char *not_op[] = {"vera", "lena", "rita", "aude"};
	for (size_t i = 0; i < 4; i++) {
		CHECK(page(home_operator, not_op[i], NULL, &b) == ERR_NOTFOUND && b.len == 0);
	}
	const char *not_lab[] = {"vera", "otto", "rita", "aude"};
	for (size_t i = 0; i < 4; i++) {
		CHECK(page(home_lab, not_lab[i], NULL, &b) == ERR_NOTFOUND && b.len == 0);
	}
	{
		struct home_ctx c = ctx_of(&rita, NULL);
		CHECK(home_exposure(&c, "fw", "1", 1, NULL, &b) == ERR_NOTFOUND && b.len == 0);
		CHECK(home_resume(&c, "0123456789abcdef") == ERR_NOTFOUND);
		c = ctx_of(&otto, NULL);
		CHECK(home_exposure(&c, "fw", "1", 0, NULL, &b) == ERR_NOTFOUND);
		c = ctx_of(&vera, NULL);
		CHECK(home_resume(&c, "0123456789abcdef") == ERR_NOTFOUND); /* the vendor resumes offline */
	}
	buf_release(&b);
}

TEST(decisions_waiting)
{
	struct policy_actor lead = {"lena", NULL, 0, NULL}, v = {"vera", vkey, 0, NULL}, op = {"otto", NULL, 0, NULL};
	struct policy_outcome o;
	struct grant_terms t = {0};
	struct buf b;
	buf_init(&b, 0);
	CHECK(page(home_vendor, "vera", NULL, &b) == 0 && strstr(b.p, "id=\"no-decisions\""));
	CHECK(policy_nominate(fac, &lead, "fw", "1", "rita", "cv") == 0);
	CHECK(page(home_vendor, "vera", NULL, &b) == 0);
	CHECK(strstr(b.p, "sealroom vendor sign approve fw@1 --reviewer rita --from DATE --until DATE --seal fw-1.seal "
			  "--vendor-key VENDOR.key --out approve-rita.decision</pre>") != NULL);
	CHECK(strstr(b.p, "sealroom vendor sign object fw@1 --reviewer rita --reason TEXT --seal fw-1.seal "
			  "--vendor-key VENDOR.key --out object-rita.decision</pre>") != NULL);
	CHECK(strstr(b.p, "sealroom apply approve-rita.decision --as OPERATOR") != NULL);
	/* the operator may approve only after the objection window: nothing waits for him yet */
	CHECK(page(home_operator, "otto", NULL, &b) == 0 && strstr(b.p, "id=\"no-decisions\""));
	CHECK(strstr(b.p, "<td>rita</td><td class=\"state pending\">pending</td>") != NULL);
	CHECK(policy_approve(fac, &v, "fw", "1", "rita", &o) == 0);
	CHECK(page(home_vendor, "vera", NULL, &b) == 0 && !strstr(b.p, "object fw@1 --reviewer rita"));
	/* the operator proposes a grant: it waits for the vendor, not for him */
	t.valid_from = (int64_t)time(NULL) - 86400;
	t.valid_until = (int64_t)time(NULL) + 86400;
	t.days = POLICY_ALL_DAYS;
	t.hour_from = 0;
	t.hour_until = 24;
	t.lines_per_day = 100;
	t.lines_total = 1000;
	t.prints = 2;
	CHECK(policy_grant(fac, &op, "fw", "1", "rita", &t, &o) == 0);
	CHECK(page(home_vendor, "vera", NULL, &b) == 0);
	CHECK(strstr(b.p, "proposed by otto for rita on fw@1") != NULL);
	CHECK(strstr(b.p, "lines 100 a day, 1000 in all, prints 2") != NULL);
	{
		char want[256];
		snprintf(want, sizeof(want), "<pre class=\"cmd\">sealroom vendor sign approve fw@1 --reviewer rita --from @%lld "
			 "--until @%lld --days all --hours 00-24 --quota lines_per_day=100 --quota lines_total=1000 --quota prints=2",
			 (long long)t.valid_from, (long long)t.valid_until);
		CHECK(strstr(b.p, want) != NULL);
	}
	CHECK(page(home_operator, "otto", NULL, &b) == 0 && strstr(b.p, "id=\"no-decisions\""));
	CHECK(strstr(b.p, "<td>rita</td><td class=\"state proposed\">proposed</td><td>vendor - \xc2\xb7 operator otto") != NULL);
	CHECK(policy_approve(fac, &v, "fw", "1", "rita", &o) == 0);
	CHECK(page(home_vendor, "vera", NULL, &b) == 0 && strstr(b.p, "id=\"no-decisions\""));
	CHECK(page(home_operator, "otto", NULL, &b) == 0 && strstr(b.p, "class=\"state active\">active</td>"));
	buf_release(&b);
}

TEST(holds_listed_and_resumed)
{
	struct session_info otto = who_of("otto");
	struct home_ctx c = ctx_of(&otto, NULL);
	struct buf b;
	buf_init(&b, 0);
	CHECK(db_exec(facility_db(fac), "INSERT INTO session_holds (session_id, login, held_at, reason, grant_id) "
				       "VALUES ('00000000000000bb', 'rita', 1, 'walked 60 files', 1)") == 0);
	CHECK(page(home_operator, "otto", NULL, &b) == 0);
	CHECK(strstr(b.p, "name=\"session\" value=\"00000000000000bb\"") != NULL);
	CHECK(strstr(b.p, "walked 60 files") != NULL && strstr(b.p, " on fw@1 ") != NULL);
	CHECK(page(home_vendor, "vera", NULL, &b) == 0);
	CHECK(strstr(b.p, "sealroom session resume 00000000000000bb --as vera") != NULL);
	CHECK(!strstr(b.p, "action=\"/operator/resume\""));
	CHECK(home_resume(&c, "00000000000000bb") == 0);
	CHECK(home_resume(&c, "00000000000000bb") == ERR_NOTFOUND);
	CHECK(page(home_operator, "otto", NULL, &b) == 0 && strstr(b.p, "id=\"no-holds\""));
	buf_release(&b);
}

TEST(health_and_exposure)
{
	struct session_info vera = who_of("vera"), lena = who_of("lena"), lee = who_of("lee");
	struct keyring *k;
	struct home_ctx c;
	struct report *rep;
	struct buf b, cli, cp;
	unsigned char raw[VAULT_KEY_LEN] = {1};
	uint64_t n = 0;
	buf_init(&b, 0);
	buf_init(&cli, 0);
	buf_init(&cp, 1 << 20);
	CHECK(keyring_new(&k) == 0);
	CHECK(keyring_put(k, "fw", "1", raw, (int64_t)time(NULL) + 3600) == 0);
	CHECK(page(home_operator, "otto", k, &b) == 0);
	CHECK(strstr(b.p, "unlock fw@1</td><td class=\"open\">unlocked until") != NULL);
	CHECK(strstr(b.p, "unlock fw@2</td><td>locked</td>") != NULL);
	CHECK(strstr(b.p, "no checkpoint has been cosigned") != NULL);
	CHECK(logdb_size(lg, &n) == 0 && n > 0);
	{
		char want[64];
		snprintf(want, sizeof(want), "id=\"log-size\">%llu entries", (unsigned long long)n);
		CHECK(strstr(b.p, want) != NULL);
	}
	/* before any checkpoint: no exposure, and the pages say so */
	c = ctx_of(&vera, k);
	CHECK(page(home_vendor, "vera", k, &b) == 0 && strstr(b.p, "no checkpoint of the log has been signed yet"));
	CHECK(home_exposure(&c, "fw", "1", 1, NULL, &b) == ERR_NOTFOUND);
	CHECK(logdb_checkpoint(lg, &cp, &n) == 0);
	buf_reset(&b);
	CHECK(home_exposure(&c, "fw", "1", 1, NULL, &b) == 0);
	rep = report_new("fw", "1", NULL);
	CHECK(report_from_facility(rep, fac) == 0 && report_json(rep, &cli) == 0 && buf_addch(&cli, '\n') == 0);
	report_free(rep);
	CHECK(b.len == cli.len && !memcmp(b.p, cli.p, b.len));
	CHECK(page(home_operator, "otto", k, &b) == 0 && strstr(b.p, "id=\"checkpoint\">size "));
	/* the lab lead: her lab's releases only, her lab's exposure only */
	c = ctx_of(&lena, k);
	buf_reset(&b);
	CHECK(home_exposure(&c, "fw", "1", 1, NULL, &b) == 0 && strstr(b.p, "\"lab\":\"lab1\""));
	buf_reset(&b);
	CHECK(home_exposure(&c, "fw", "2", 1, NULL, &b) == ERR_NOTFOUND); /* not nominated there */
	CHECK(page(home_lab, "lena", k, &b) == 0 && strstr(b.p, "<h2>fw@1</h2>") && !strstr(b.p, "fw@2"));
	c = ctx_of(&lee, k);
	buf_reset(&b);
	CHECK(home_exposure(&c, "fw", "1", 1, NULL, &b) == ERR_NOTFOUND);
	CHECK(page(home_lab, "lee", k, &b) == 0 && !strstr(b.p, "fw@1") && strstr(b.p, "nominated on no release"));
	CHECK(!strstr(b.p, "home_marker"));
	keyring_free(k);
	buf_release(&b);
	buf_release(&cli);
	buf_release(&cp);
}

/* The operator's page applies a vendor's decision file through policy_apply: once, and
 * only as an operator. */
TEST(apply_decision)
{
	struct policy_actor lead = {"lena", NULL, 0, NULL};
	struct session_info otto = who_of("otto"), rita = who_of("rita");
	struct home_ctx c;
	struct release_info ri = {0};
	struct decision d;
	struct buf note, cert, b;
	buf_init(&note, DECISION_MAX);
	buf_init(&cert, 1 << 16);
	buf_init(&b, 0);
	CHECK(policy_nominate(fac, &lead, "fw", "2", "rita", "cv") == 0);
	CHECK(release_get(fac, "fw", "2", &ri) == 0);
	memset(&d, 0, sizeof(d));
	snprintf(d.kind, sizeof(d.kind), "approve");
	snprintf(d.product, sizeof(d.product), "fw");
	snprintf(d.version, sizeof(d.version), "2");
	decision_seal_hash(ri.seal_note, d.seal);
	d.time = (int64_t)time(NULL);
	snprintf(d.reviewer, sizeof(d.reviewer), "rita");
	d.terms.valid_from = d.time - 86400;
	d.terms.valid_until = d.time + 86400;
	d.terms.days = POLICY_ALL_DAYS;
	d.terms.hour_from = 0;
	d.terms.hour_until = 24;
	d.terms.lines_per_day = 10;
	d.terms.lines_total = 20;
	d.terms.prints = 1;
	d.terms.quotas = "{}";
	CHECK(decision_sign(&d, vkey, &note) == 0);
	c = ctx_of(&rita, NULL);
	CHECK(home_apply(&c, note.p, note.len, &cert) == ERR_NOTFOUND);
	c = ctx_of(&otto, NULL);
	CHECK(home_apply(&c, note.p, note.len, &cert) == 0);
	CHECK(page(home_operator, "otto", NULL, &b) == 0 && strstr(b.p, "id=\"apply\"") && strstr(b.p, "action=\"/operator/apply\""));
	CHECK(policy_may_read(fac, &rita, "fw", "2", (int64_t)time(NULL), NULL) == 0);
	CHECK(home_apply(&c, note.p, note.len, &cert) != 0); /* a decision applies once */
	note.p[note.len / 2] ^= 1;
	CHECK(home_apply(&c, note.p, note.len, &cert) != 0); /* a flipped byte */
	release_info_release(&ri);
	buf_release(&note);
	buf_release(&cert);
	buf_release(&b);
}

int main(void)
{
	char cmd[400];
	unsigned char s[AUTH_TOTP_SECRET_LEN];
	struct buf sk, vk;
	int rc;
	if (!mkdtemp(root))
		return 1;
	snprintf(dir, sizeof(dir), "%s/f", root);
	buf_init(&sk, 4096);
	buf_init(&vk, 4096);
	if (note_key_generate("acme", &sk, &vk) || note_signer_parse(sk.p, sk.len, &vkey))
		return 1;
	if (facility_init(dir, "room.example") || facility_open(dir, &fac) ||
	    policy_org_add(fac, "acme", "vendor", "t") || policy_org_add(fac, "lab1", "lab", "t") ||
	    policy_org_add(fac, "lab2", "lab", "t") || policy_org_add(fac, "ops", "operator", "t") ||
	    policy_person_add(fac, "vera", "acme", "vendor", "", pw, "t", s) ||
	    policy_person_add(fac, "aude", "acme", "auditor", "", pw, "t", s) ||
	    policy_person_add(fac, "otto", "ops", "operator", "", pw, "t", s) ||
	    policy_person_add(fac, "lena", "lab1", "auditor", "", pw, "t", s) ||
	    policy_person_add(fac, "lee", "lab2", "auditor", "", pw, "t", s) ||
	    policy_person_add(fac, "rita", "lab1", "reviewer", "", pw, "t", s) || logdb_open(fac, &lg)) {
		fprintf(stderr, "setup: %s\n", err_msg());
		return 1;
	}
	seal("1");
	seal("2");
	RUN(roles_and_refusals);
	RUN(decisions_waiting);
	RUN(holds_listed_and_resumed);
	RUN(health_and_exposure);
	RUN(apply_decision);
	logdb_free(lg);
	facility_free(fac);
	note_signer_free(vkey);
	buf_release(&sk);
	buf_release(&vk);
	rc = test_done();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	if (system(cmd))
		return 1;
	return rc;
}
