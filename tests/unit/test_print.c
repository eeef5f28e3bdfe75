/* Unit tests: print (pages, Bates numbers across prints, page quotas, the log, disputes). */
#include <sys/stat.h>

#include "hash.h"
#include "ingest.h"
#include "logdb.h"
#include "print.h"
#include "printd.h"
#include "release.h"
#include "test.h"

static char root[] = "/tmp/sealroom-print-XXXXXX";
static struct facility *fac;
static struct note_signer *vendor, *other;
static const int64_t T0 = 1894010400;

static struct note_signer *key(const char *name)
{
	struct buf sk, vk;
	struct note_signer *s = NULL;
	buf_init(&sk, 4096);
	buf_init(&vk, 4096);
	if (note_key_generate(name, &sk, &vk) || note_signer_parse(sk.p, sk.len, &s))
		abort();
	buf_release(&sk);
	buf_release(&vk);
	return s;
}

static char *lines(int n)
{
	struct buf b;
	buf_init(&b, 1 << 24);
	for (int i = 0; i < n; i++)
		if (buf_addf(&b, "\tif (x[%d] != y) /* caf\xc3\xa9 */ return %d;\n", i, i))
			abort();
	return buf_detach(&b, NULL);
}

static int count_prints(void *ctx, const struct print_row *p)
{
	(*(int *)ctx)++;
	return 0;
}

TEST(bates_quota_log_dispute)
{
	struct grant_info g;
	struct session_info who;
	struct print_request req = {"fw", "1.0", "src/a.c", 10, "b10b", NULL, 0, 1, "Rita Reviewer", "lab-1", printd_new()};
	struct print_info info;
	struct buf pdf;
	char *t130 = lines(130), *t70 = lines(70), *t200 = lines(200), label[48];
	unsigned char h[SHA256_LEN];
	char hex[65];
	int n = 0;

	memset(&g, 0, sizeof(g));
	g.id = 1;
	g.lines_per_day = g.lines_total = POLICY_UNLIMITED;
	g.prints = 5;
	snprintf(g.quotas, sizeof(g.quotas), "{\"pages_per_print\":3}");
	memset(&who, 0, sizeof(who));
	snprintf(who.login, sizeof(who.login), "rita");
	snprintf(who.org, sizeof(who.org), "lab-1");
	snprintf(who.session_id, sizeof(who.session_id), "00000000000000c1");
	buf_init(&pdf, PRINT_PDF_MAX);

	/* 130 lines: 3 pages, Bates 1-3 */
	req.text = t130, req.len = strlen(t130);
	CHECK(print_pdf(fac, &who, &g, &req, T0, &pdf, &info) == 0);
	CHECK(info.pages == 3 && info.bates_first == 1 && info.bates_last == 3);
	CHECK(info.line_from == 10 && info.line_to == 139);
	CHECK(pdf.len > 1000 && !memcmp(pdf.p, "%PDF-", 5));
	CHECK(memmem(pdf.p, pdf.len, "/ToUnicode", 10) != NULL);  /* searchable text layer */
	CHECK(memmem(pdf.p, pdf.len, "/FontFile", 9) != NULL);    /* with the real font embedded */
	CHECK(memmem(pdf.p, pdf.len, "/Count 3", 8) != NULL);
	sha256(pdf.p, pdf.len, h);
	hex_encode(hex, h, sizeof(h));
	CHECK_EQ_STR(hex, info.sha256);
	print_bates_label(info.bates_prefix, info.bates_last, label, sizeof(label));
	CHECK_EQ_STR(label, "FW-000003");

	/* 70 lines: 2 pages, Bates continue at 4; 5 pages in all is the limit */
	buf_reset(&pdf);
	req.text = t70, req.len = strlen(t70);
	CHECK(print_pdf(fac, &who, &g, &req, T0 + 10, &pdf, &info) == 0);
	CHECK(info.pages == 2 && info.bates_first == 4 && info.bates_last == 5);
	/* one page past the total */
	buf_reset(&pdf);
	req.text = "x\n", req.len = 2;
	CHECK(print_pdf(fac, &who, &g, &req, T0 + 20, &pdf, &info) == ERR_DENIED);
	CHECK(strstr(err_msg(), "quota 'prints' reached: 5 of 5 pages used") != NULL);
	CHECK(pdf.len == 0);
	/* 4 pages in one print is one past pages_per_print */
	g.prints = 100;
	req.text = t200, req.len = strlen(t200);
	CHECK(print_pdf(fac, &who, &g, &req, T0 + 30, &pdf, &info) == ERR_DENIED);
	CHECK(strstr(err_msg(), "pages_per_print") != NULL);
	req.len = 0;
	CHECK(print_pdf(fac, &who, &g, &req, T0 + 30, &pdf, &info) == ERR_USAGE);

	CHECK(print_each(fac, "fw", "1.0", count_prints, &n) == 0 && n == 2);
	/* disputes: the vendor only, with the release's key, once */
	{
		struct policy_actor rita = {"rita", vendor, T0, NULL}, vo = {"vera", other, T0, NULL},
				    vv = {"vera", vendor, T0, NULL};
		CHECK(print_dispute(fac, 1, &rita, "too much", T0) == ERR_DENIED);
		CHECK(print_dispute(fac, 1, &vo, "too much", T0) == ERR_AUTH);
		CHECK(print_dispute(fac, 1, &vv, "too much", T0) == 0);
		CHECK(print_dispute(fac, 1, &vv, "again", T0) == ERR_EXISTS);
		CHECK(print_dispute(fac, 99, &vv, "x", T0) == ERR_NOTFOUND);
	}
	/* a print worker that fails: no print, nothing recorded */
	g.prints = 1000;
	req.text = t70, req.len = strlen(t70);
	printd_kill(req.pd);
	buf_reset(&pdf);
	CHECK(print_pdf(fac, &who, &g, &req, T0 + 40, &pdf, &info) == ERR_IO && pdf.len == 0);
	n = 0;
	CHECK(print_each(fac, "fw", "1.0", count_prints, &n) == 0 && n == 2);
	printd_free(req.pd);
	free(t130);
	free(t70);
	free(t200);
	buf_release(&pdf);
}

TEST(prints_are_logged)
{
	struct logdb *l;
	struct buf b;
	uint64_t n = 0;
	int prints = 0, disputes = 0;
	buf_init(&b, 1 << 20);
	CHECK(logdb_open(fac, &l) == 0 && logdb_size(l, &n) == 0);
	for (uint64_t i = 0; i < n; i++) {
		buf_reset(&b);
		if (logdb_entry(l, i, &b))
			continue;
		if (strstr(b.p, "\"type\":\"print\"")) {
			prints++;
			CHECK(strstr(b.p, "\"bates_first\":\"FW-00000") != NULL);
			CHECK(strstr(b.p, "\"session\":\"00000000000000c1\"") != NULL);
			CHECK(strstr(b.p, "return") == NULL); /* never the code */
		}
		disputes += strstr(b.p, "\"type\":\"print_dispute\"") != NULL;
	}
	CHECK(prints == 2 && disputes == 1);
	logdb_free(l);
	buf_release(&b);
}

int main(void)
{
	char dir[300], src[300], file[400];
	struct seal_opts o = {0};
	struct release_info info;
	unsigned char totp[AUTH_TOTP_SECRET_LEN];
	FILE *fp;
	if (!mkdtemp(root))
		return 1;
	snprintf(dir, sizeof(dir), "%s/f", root);
	snprintf(src, sizeof(src), "%s/src", root);
	mkdir(src, 0700);
	snprintf(file, sizeof(file), "%s/a.c", src);
	fp = fopen(file, "w");
	fputs("int x;\n", fp);
	fclose(fp);
	vendor = key("vendor");
	other = key("other");
	o.product = "fw";
	o.version = "1.0";
	o.vendor = vendor;
	{
		static struct buf wpk;
		static int made;
		if (!made) {
			struct buf wsk;
			buf_init(&wsk, 4096);
			buf_init(&wpk, 4096);
			if (note_wrap_generate("acme", &wsk, &wpk))
				abort();
			buf_release(&wsk);
			made = 1;
		}
		o.wrap_pkey = wpk.p;
	}
	ingest_opts_default(&o.ingest);
	if (facility_init(dir, "print.test") || facility_open(dir, &fac) ||
	    release_seal(fac, src, &o, &info) || policy_org_add(fac, "acme", "vendor", "t") ||
	    policy_org_add(fac, "lab-1", "lab", "t") ||
	    policy_person_add(fac, "vera", "acme", "vendor", "Vera", "a good long password", "t", totp) ||
	    policy_person_add(fac, "rita", "lab-1", "reviewer", "Rita", "a good long password", "t", totp)) {
		fprintf(stderr, "setup: %s\n", err_msg());
		return 1;
	}
	release_info_release(&info);
	RUN(bates_quota_log_dispute);
	RUN(prints_are_logged);
	facility_free(fac);
	note_signer_free(vendor);
	note_signer_free(other);
	snprintf(file, sizeof(file), "rm -rf '%s'", root);
	if (system(file) != 0)
		return 1;
	return test_done();
}
