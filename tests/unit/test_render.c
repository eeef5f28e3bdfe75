/* test_render: the renderer's order, grant -> budget -> durable log entry -> output, with each
 * step failing in turn: nothing after a failed step runs and nothing is shown. */
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "db.h"
#include "image.h"
#include "ingest.h"
#include "logdb.h"
#include "policy.h"
#include "release.h"
#include "imaged.h"
#include "render.h"
#include "test.h"
#include "vendor_fixture.h"

static char root[] = "/tmp/sealroom-render-XXXXXX";
static char dir[300];
static struct facility *fac;
static struct logdb *log_;
static struct note_signer *vkey;
static const int64_t MON10 = 1894010400; /* 2030-01-07, a Monday, 10:00 UTC */

/* What the hooks saw: the log's size when the budget was asked and when code was shown. */
struct probe {
	int quota_calls, transform_calls, quota_answer;
	int grant_seen;
	uint64_t log_at_quota, log_at_transform;
};

static uint64_t log_size(void)
{
	uint64_t n = 0;
	if (logdb_size(log_, &n))
		abort();
	return n;
}

static int quota_hook(void *ctx, struct facility *f, const struct render_view *v)
{
	struct probe *p = ctx;
	p->quota_calls++;
	p->grant_seen = v->grant != NULL;
	p->log_at_quota = log_size();
	return p->quota_answer ? err_set(p->quota_answer, "quota 'lines_per_day' reached") : 0;
}

static int transform_hook(void *ctx, const struct render_view *v, const char *s, size_t len, struct buf *out)
{
	struct probe *p = ctx;
	if (!p->transform_calls++)
		p->log_at_transform = log_size();
	return buf_add(out, s, len);
}

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

static const char text[] = "int first(void);\nint second(void);\nint third(void);\n";

static int view(const struct session_info *who, struct probe *p, struct buf *out)
{
	struct render_hooks h = {0};
	struct render_ctx c = {0};
	struct manifest_entry e = {0};
	uint64_t to = 0, n = 0;
	h.ctx = p;
	h.quota = quota_hook;
	h.transform = transform_hook;
	c.f = fac;
	c.log = log_;
	c.hooks = &h;
	c.who = who;
	c.product = "fw";
	c.version = "1";
	c.now = MON10;
	e.path = "src/a.c";
	e.path_len = strlen(e.path);
	e.mode = 0100644;
	e.size = sizeof(text) - 1;
	memset(e.sha256, 0xab, 32);
	return render_file_text(&c, &e, (const unsigned char *)text, sizeof(text) - 1, 1, out, &to, &n, NULL);
}

TEST(order_each_step_failing)
{
	struct session_info rita = who_of("rita"), rob = who_of("rob");
	struct probe p;
	struct buf out;
	uint64_t n0;
	buf_init(&out, 1 << 20);

	/* 1. no grant: no budget asked, nothing logged, nothing shown */
	memset(&p, 0, sizeof(p));
	n0 = log_size();
	CHECK(view(&rob, &p, &out) == ERR_DENIED);
	CHECK(p.quota_calls == 0 && p.transform_calls == 0 && log_size() == n0 && out.len == 0);

	/* 2. the budget refuses: after the grant, before any entry; nothing shown */
	memset(&p, 0, sizeof(p));
	p.quota_answer = ERR_DENIED;
	CHECK(view(&rita, &p, &out) == ERR_DENIED);
	CHECK(strstr(err_msg(), "lines_per_day") != NULL);
	CHECK(p.quota_calls == 1 && p.grant_seen && p.log_at_quota == n0);
	CHECK(p.transform_calls == 0 && log_size() == n0 && out.len == 0);

	/* 3. the entry cannot be made durable (the database refuses it): charged, not shown */
	CHECK(db_exec(facility_db(fac), "CREATE TRIGGER no_log BEFORE INSERT ON log_entries "
					"BEGIN SELECT RAISE(ABORT, 'the disk is full'); END") == 0);
	memset(&p, 0, sizeof(p));
	CHECK(view(&rita, &p, &out) != 0);
	CHECK(p.quota_calls == 1 && p.transform_calls == 0 && log_size() == n0 && out.len == 0);
	CHECK(db_exec(facility_db(fac), "DROP TRIGGER no_log") == 0);

	/* 4. every step passes: budget, then the entry, then (only then) the code */
	memset(&p, 0, sizeof(p));
	CHECK(view(&rita, &p, &out) == 0);
	CHECK(p.quota_calls == 1 && p.log_at_quota == n0);
	CHECK(p.transform_calls > 0 && p.log_at_transform == n0 + 1);
	CHECK(log_size() == n0 + 1);
	CHECK(strstr(out.p, "id=\"code\"") != NULL && strstr(out.p, "second") != NULL);
	{
		struct buf e;
		buf_init(&e, LOGDB_ENTRY_MAX);
		CHECK(logdb_entry(log_, n0, &e) == 0);
		CHECK(strstr(e.p, "\"type\":\"view\"") && strstr(e.p, "\"path\":\"src/a.c\"") &&
		      strstr(e.p, "\"lines\":[1,3]") && strstr(e.p, "\"actor\":\"rita\""));
		buf_release(&e);
	}
	buf_release(&out);
}

/* What the hooks saw of an image view. */
struct image_probe {
	int quota_calls, image_calls, w, h, refuse;
	size_t n_shown;
	uint64_t bytes, log_at_quota;
};

static int image_quota_hook(void *ctx, struct facility *f, const struct render_view *v)
{
	struct image_probe *p = ctx;
	p->quota_calls++;
	p->n_shown = v->n_shown;
	p->bytes = 0;
	for (size_t i = 0; i < v->n_shown; i++)
		p->bytes += v->shown[i].bytes;
	p->log_at_quota = log_size();
	return p->refuse ? err_set(ERR_DENIED, "quota 'bytes_per_day' reached") : 0;
}

/* the "marks": every pixel black, so that the image shown can be told from the file */
static int image_hook(void *ctx, const struct render_view *v, unsigned char *rgb, int w, int h)
{
	struct image_probe *p = ctx;
	p->image_calls++;
	p->w = w;
	p->h = h;
	memset(rgb, 0, (size_t)w * h * 3);
	return 0;
}

/* What the last view_bytes said the file was. */
static struct render_kind viewed;

/* the release's image worker the views below decode with (NULL: none) */
static struct imaged *images;

static int view_bytes(const struct session_info *who, struct image_probe *p, char *path,
		      const unsigned char *bytes, size_t len, struct buf *out)
{
	struct render_hooks h = {0};
	struct render_ctx c = {0};
	struct manifest_entry e = {0};
	uint64_t to = 0, n = 0;
	h.ctx = p;
	h.quota = image_quota_hook;
	h.image = image_hook;
	c.f = fac;
	c.log = log_;
	c.hooks = &h;
	c.who = who;
	c.product = "fw";
	c.version = "1";
	c.now = MON10;
	c.im = images;
	e.path = path;
	e.path_len = strlen(path);
	e.mode = 0100644;
	e.size = len;
	memset(e.sha256, 0xcd, 32);
	return render_file_text(&c, &e, bytes, len, 1, out, &to, &n, &viewed);
}

/* The JPEG inside the page's data: URL, decoded into out. */
static int shown_jpeg(const struct buf *page, struct buf *out)
{
	const char *a = strstr(page->p, "data:image/jpeg;base64,"), *b;
	if (!a)
		return -1;
	a += strlen("data:image/jpeg;base64,");
	if (!(b = strchr(a, '"')))
		return -1;
	return buf_addunb64(out, a, (size_t)(b - a));
}

/* What the quota hook saw of a view: its keys and bytes. */
struct part_probe {
	size_t n;
	uint64_t key[4], bytes[4];
	int deny; /* the budget refuses */
};

static int part_quota_hook(void *ctx, struct facility *f, const struct render_view *v)
{
	struct part_probe *p = ctx;
	p->n = v->n_shown;
	for (size_t i = 0; i < v->n_shown && i < 4; i++) {
		p->key[i] = v->shown[i].line;
		p->bytes[i] = v->shown[i].bytes;
	}
	return p->deny ? err_set(ERR_DENIED, "quota 'lines_per_day' reached") : 0;
}

static int view_part(const struct session_info *who, struct part_probe *p, const unsigned char *t, size_t len,
		     uint64_t line, uint64_t part, struct buf *out)
{
	struct render_hooks h = {0};
	struct render_ctx c = {0};
	struct manifest_entry e = {0};
	uint64_t to = 0, n = 0;
	h.ctx = p;
	h.quota = part_quota_hook;
	c.f = fac;
	c.log = log_;
	c.hooks = &h;
	c.who = who;
	c.product = "fw";
	c.version = "1";
	c.now = MON10;
	c.part = part;
	e.path = (char[]){"src/wide.c"};
	e.path_len = strlen(e.path);
	e.mode = 0100644;
	e.size = len;
	memset(e.sha256, 0xef, 32);
	return render_file_text(&c, &e, t, len, line, out, &to, &n, NULL);
}

TEST(long_line_rest_by_parts)
{
	struct session_info rita = who_of("rita");
	struct part_probe p;
	/* line 2 is 40,000 bytes: 16,384 shown in the view, then parts 1 and 2 */
	size_t n = 6 + 40000 + 1 + 4;
	unsigned char *t = xmalloc(n);
	struct buf out, e;
	uint64_t n0;
	memcpy(t, "int a;\n", 6 + 1);
	for (size_t i = 0; i < 40000; i++)
		t[7 + i] = (unsigned char)('a' + i % 26);
	memcpy(t + 7 + 40000, "\nb;\n", 4);
	n = 7 + 40000 + 4;
	buf_init(&out, 16 << 20);
	buf_init(&e, LOGDB_ENTRY_MAX);
	memset(&p, 0, sizeof(p));
	CHECK(view_part(&rita, &p, t, n, 1, 0, &out) == 0);
	CHECK(p.n == 3 && p.key[1] == 2 && p.bytes[1] == RENDER_LINE_MAX);
	CHECK(strstr(out.p, "<a class=cut href=\"?from=2&amp;part=1\">23616 more bytes</a>") != NULL);
	buf_reset(&out);
	n0 = log_size();
	CHECK(view_part(&rita, &p, t, n, 2, 1, &out) == 0);
	CHECK(p.n == 1 && p.key[0] == 2 + RENDER_PART_KEY && p.bytes[0] == RENDER_LINE_MAX);
	CHECK(strstr(out.p, "bytes 16385-32768 of 40000") && strstr(out.p, "id=\"part-next\""));
	/* exactly the bytes of the part, no more: the letters at its two ends */
	{
		char want[RENDER_LINE_MAX + 1];
		memcpy(want, t + 7 + RENDER_LINE_MAX, RENDER_LINE_MAX);
		want[RENDER_LINE_MAX] = 0;
		CHECK(strstr(out.p, want) != NULL);
		CHECK(!memmem(out.p, out.len, t + 7 + RENDER_LINE_MAX - 1, RENDER_LINE_MAX + 1));
	}
	CHECK(logdb_entry(log_, n0, &e) == 0 && strstr(e.p, "\"part\":1") && strstr(e.p, "\"bytes\":[16384,32768]"));
	buf_reset(&out);
	CHECK(view_part(&rita, &p, t, n, 2, 2, &out) == 0);
	CHECK(p.key[0] == 2 + 2 * RENDER_PART_KEY && p.bytes[0] == 40000 - 2 * RENDER_LINE_MAX);
	CHECK(strstr(out.p, "bytes 32769-40000 of 40000") && !strstr(out.p, "part-next"));
	/* past the line's end, or a short line: the answer tells the line's length, so it comes
	 * only once charged (a line, no bytes) and logged, as a part would; nothing shown */
	buf_reset(&out);
	n0 = log_size();
	memset(&p, 0, sizeof(p));
	CHECK(view_part(&rita, &p, t, n, 2, 3, &out) == ERR_NOTFOUND);
	CHECK(p.n == 1 && p.key[0] == 2 + 3 * RENDER_PART_KEY && p.bytes[0] == 0);
	CHECK(view_part(&rita, &p, t, n, 1, 1, &out) == ERR_NOTFOUND);
	CHECK(log_size() == n0 + 2 && out.len == 0);
	/* with the budget spent, an existing part and a missing one get the same refusal */
	p.deny = 1;
	CHECK(view_part(&rita, &p, t, n, 2, 1, &out) == ERR_DENIED);
	CHECK(view_part(&rita, &p, t, n, 2, 3, &out) == ERR_DENIED);
	CHECK(view_part(&rita, &p, t, n, 1, 1, &out) == ERR_DENIED);
	p.deny = 0;
	/* a line past the file (its count is on the file's page): nothing charged or logged */
	n0 = log_size();
	CHECK(view_part(&rita, &p, t, n, 9, 1, &out) == ERR_NOTFOUND);
	CHECK(log_size() == n0 && out.len == 0);
	free(t);
	buf_release(&out);
	buf_release(&e);
}

TEST(image_marked_charged_logged_then_shown)
{
	struct session_info rita = who_of("rita");
	struct image_probe p;
	struct buf file, page, jpg, e;
	unsigned char *rgb = xmalloc((size_t)3000 * 100 * 3), *px = NULL;
	int w, h;
	uint64_t n0;
	buf_init(&file, 16 << 20);
	buf_init(&page, 16 << 20);
	buf_init(&jpg, 16 << 20);
	buf_init(&e, LOGDB_ENTRY_MAX);
	for (size_t i = 0; i < (size_t)200 * 50 * 3; i++)
		rgb[i] = (unsigned char)(128 + (i % 97));
	CHECK(image_encode_jpeg(rgb, 200, 50, 90, &file) == 0);

	/* without an image worker the room decodes nothing: the image is named, not shown */
	{
		struct imaged *keep = images;
		images = NULL;
		memset(&p, 0, sizeof(p));
		CHECK(view_bytes(&rita, &p, (char[]){"img/a.jpg"}, (const unsigned char *)file.p, file.len, &page) == 0);
		CHECK(!strstr(page.p, "<img") && p.image_calls == 0);
		images = keep;
		buf_reset(&page);
	}
	/* refused by the budget: nothing logged, nothing shown */
	memset(&p, 0, sizeof(p));
	p.refuse = 1;
	n0 = log_size();
	CHECK(view_bytes(&rita, &p, (char[]){"img/a.jpg"}, (const unsigned char *)file.p, file.len, &page) == ERR_DENIED);
	CHECK(p.quota_calls == 1 && page.len == 0 && log_size() == n0);

	/* shown: a line per 16 rows, the JPEG's bytes over them, logged before, the marked pixels */
	memset(&p, 0, sizeof(p));
	CHECK(view_bytes(&rita, &p, (char[]){"img/a.jpg"}, (const unsigned char *)file.p, file.len, &page) == 0);
	CHECK(p.image_calls == 1 && p.w == 200 && p.h == 50);
	CHECK(p.quota_calls == 1 && p.n_shown == 4 && p.log_at_quota == n0 && log_size() == n0 + 1);
	CHECK(shown_jpeg(&page, &jpg) == 0 && p.bytes == jpg.len);
	CHECK(image_decode_rgb(jpg.p, jpg.len, &px, &w, &h) == 0 && w == 200 && h == 50);
	CHECK(px && px[0] < 8 && px[(size_t)w * h * 3 - 1] < 8); /* the marked copy, not the file */
	free(px);
	px = NULL;
	CHECK(strstr(page.p, "id=\"image\"") && strstr(page.p, "JPEG image, 200×50 pixels,"));
	CHECK(viewed.image && !strcmp(viewed.image, "JPEG") && viewed.width == 200 && viewed.height == 50 &&
	      viewed.lines == 4 && viewed.binary);
	CHECK(logdb_entry(log_, n0, &e) == 0);
	CHECK(strstr(e.p, "\"lines\":[1,4]") && strstr(e.p, "\"height\":50") && strstr(e.p, "\"width\":200"));

	/* larger than RENDER_IMAGE_SIDE: scaled down by a whole factor before it is marked */
	buf_reset(&file);
	buf_reset(&page);
	memset(rgb, 200, (size_t)3000 * 100 * 3);
	CHECK(image_encode_jpeg(rgb, 3000, 100, 90, &file) == 0);
	memset(&p, 0, sizeof(p));
	CHECK(view_bytes(&rita, &p, (char[]){"img/wide.jpg"}, (const unsigned char *)file.p, file.len, &page) == 0);
	CHECK(p.w == 1000 && p.h == 33 && p.n_shown == 3);
	CHECK(strstr(page.p, "3000×100 pixels (shown smaller)") != NULL);

	/* a PNG that does not decode is named as binary: no pixel, no line charged */
	buf_reset(&page);
	memset(&p, 0, sizeof(p));
	CHECK(view_bytes(&rita, &p, (char[]){"img/bad.png"}, (const unsigned char *)"\x89PNG\r\n\x1a\n\0\0\0\x0d", 12, &page) == 0);
	CHECK(p.image_calls == 0 && p.n_shown == 0);
	CHECK(strstr(page.p, "binary (a PNG image: damaged PNG file), 12 bytes") && !strstr(page.p, "<img"));
	CHECK(viewed.binary && !viewed.image);

	/* a GIF and a WebP go the same way: shown, charged as their rows, named */
	{
		static const unsigned char gif[] = "GIF89a\x02\0\x22\0\xf0\0\0\xff\0\0\0\0\xff,\0\0\0\0\x02\0\x22\0"
						   "\0\x02\x0a\x44\x8c\xa7\xc9\xeb\x0d\x9f\x8c\xa9\0\0;";
		unsigned char *g = NULL;
		int gw, gh;
		/* 2 x 34, a red and a blue column (giflib's encoder made it) */
		CHECK(image_decode_rgb(gif, sizeof(gif) - 1, &g, &gw, &gh) == 0 && gw == 2 && gh == 34);
		CHECK(g && !memcmp(g, "\xff\0\0\0\0\xff", 6) && !memcmp(g + 33 * 6, "\xff\0\0\0\0\xff", 6));
		free(g);
		buf_reset(&page);
		memset(&p, 0, sizeof(p));
		CHECK(view_bytes(&rita, &p, (char[]){"img/a.gif"}, gif, sizeof(gif) - 1, &page) == 0);
		CHECK(p.image_calls == 1 && p.w == 2 && p.h == 34 && p.n_shown == 3);
		CHECK(strstr(page.p, "GIF image, 2×34 pixels, ") && strstr(page.p, "data:image/jpeg;base64,"));
		CHECK(viewed.image && !strcmp(viewed.image, "GIF") && viewed.lines == 3);
		/* cut short: binary, with why */
		buf_reset(&page);
		memset(&p, 0, sizeof(p));
		CHECK(view_bytes(&rita, &p, (char[]){"img/cut.gif"}, gif, 30, &page) == 0);
		CHECK(p.image_calls == 0 && p.n_shown == 0 && !viewed.image && viewed.binary);
		CHECK(strstr(page.p, "binary (a GIF image: damaged GIF image data), 30 bytes") != NULL);
	}
	{
		/* a 1 x 1 lossless WebP of (0, 128, 255) (libwebp's encoder made it) */
		static const unsigned char webp[] = "RIFF\x1c\0\0\0WEBPVP8L\x10\0\0\0\x2f\0\0\0\0\x07\x50\xc0\xe8\x7f"
						    "\xff\x03\x11\xd1\xff\0";
		unsigned char *g = NULL;
		int gw, gh;
		CHECK(image_decode_rgb(webp, sizeof(webp) - 1, &g, &gw, &gh) == 0 && gw == 1 && gh == 1);
		CHECK(g && g[0] == 0 && g[1] == 128 && g[2] == 255);
		free(g);
		buf_reset(&page);
		memset(&p, 0, sizeof(p));
		CHECK(view_bytes(&rita, &p, (char[]){"img/a.webp"}, webp, sizeof(webp) - 1, &page) == 0);
		CHECK(p.image_calls == 1 && p.n_shown == 1 && strstr(page.p, "WebP image, 1×1 pixels, "));
		CHECK(viewed.image && !strcmp(viewed.image, "WebP") && viewed.lines == 1);
	}
	/* text that begins as a GIF but is none (no NUL byte): read as the text it is */
	buf_reset(&page);
	memset(&p, 0, sizeof(p));
	CHECK(view_bytes(&rita, &p, (char[]){"notes.txt"}, (const unsigned char *)"GIF89a is how it starts\n", 24, &page) == 0);
	CHECK(!viewed.binary && !viewed.image && strstr(page.p, "id=\"L1\"") && !strstr(page.p, "binary"));
	free(rgb);
	buf_release(&file);
	buf_release(&page);
	buf_release(&jpg);
	buf_release(&e);
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
	RUN(order_each_step_failing);
	images = imaged_new();
	RUN(image_marked_charged_logged_then_shown);
	imaged_free(images);
	images = NULL;
	RUN(long_line_rest_by_parts);
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
