/* test_render: the renderer's order, grant -> budget -> durable log entry -> output, with each
 * step failing in turn: nothing after a failed step runs and nothing is shown. And what a
 * taken-over highlight worker can do to a page: colour it wrongly, never change its text,
 * never hold it past a bounded time. */
#include <inttypes.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cipherfont.h"
#include "db.h"
#include "image.h"
#include "ingest.h"
#include "logdb.h"
#include "policy.h"
#include "release.h"
#include "imaged.h"
#include "render.h"
#include "test.h"
#include "worker_fixture.h"
#include "vendor_fixture.h"
/* this binary is a highlight worker's image too, an honest or a hostile one */
#include "hostile_highlightd.h"
#include "query.h"
#include "search_fixture.h"

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

/* The page's text without its tags: what a reader reads of it. */
static void page_text(const struct buf *page, struct buf *out)
{
	buf_reset(out);
	for (size_t i = 0; i < page->len; i++) {
		if (page->p[i] == '<') {
			while (i < page->len && page->p[i] != '>')
				i++;
			continue;
		}
		if (buf_addch(out, page->p[i]))
			abort();
	}
}

/* The session's cipher, as shield.c hooks it in (here one that maps no character of the
 * texts: the page's text is the file's, U+FFFD for bytes that are no character). */
static int cipher_hook(void *ctx, const struct render_view *v, const char *p, size_t len, struct buf *out)
{
	(void)v;
	return cipher_encode(ctx, p, len, out);
}

static int view_with(const struct session_info *who, struct highlightd *hd, struct cipher *ci,
		     const unsigned char *t, size_t len, uint64_t from, uint64_t window, struct buf *out)
{
	struct render_hooks h = {0};
	struct render_ctx c = {0};
	struct manifest_entry e = {0};
	uint64_t to = 0, n = 0;
	h.ctx = ci;
	h.transform = cipher_hook;
	h.per_char = 1;
	c.f = fac;
	c.log = log_;
	c.hooks = &h;
	c.who = who;
	c.product = "fw";
	c.version = "1";
	c.now = MON10;
	c.hl = hd;
	c.window = window;
	e.path = "src/any.c";
	e.path_len = strlen(e.path);
	e.mode = 0100644;
	e.size = len;
	memset(e.sha256, 0x5a, 32);
	buf_reset(out);
	return render_file_text(&c, &e, t, len, from, out, &to, &n, NULL);
}

/*
 * Whatever spans a worker answers that the room takes, the page holds every line's text as
 * the plain page does: spans straddling lines, the page's window, a long line's cut, and
 * cut at any byte, inside characters too (those answers are refused: the page is plain).
 */
TEST(worker_spans_never_change_the_text)
{
	static const char *const tokens[] = {
		"int", " ", "x", "=", "0x1f", ";", "\n", "\n\n", "{", "}", "/*", "*/", "\"", "'", "<", "&", "\t",
		"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xff", "\x80", "\xe2\x82", "\xed\xa0\x80", "\xc0\xaf",
	};
	struct session_info rita = who_of("rita");
	uint32_t none = 0x2603; /* a snowman: in no text here */
	unsigned char seed[CIPHER_SEED_LEN] = {1};
	struct cipher *ci = NULL;
	struct highlightd *hd;
	struct buf plain, coloured, a, b;
	unsigned rs = 4242;
	int same = 1, taken = 0, refused = 0;
	size_t cap = 24 * 1024;
	unsigned char *t = xmalloc(cap);
	CHECK(cipher_new(seed, &none, 1, &ci) == 0);
	buf_init(&plain, 16 << 20);
	buf_init(&coloured, 16 << 20);
	buf_init(&a, 16 << 20);
	buf_init(&b, 16 << 20);
	setenv("HIGHLIGHTD_TEST_HOSTILE", "random", 1);
	hd = highlightd_new();
	for (int k = 0; k < 160 && same; k++) {
		size_t len = 0, lines = 1;
		int nt = 1 + (int)(rand_r(&rs) % 600);
		uint64_t from, window = 1 + rand_r(&rs) % 9;
		for (int i = 0; i < nt; i++) {
			const char *tok = tokens[rand_r(&rs) % (sizeof(tokens) / sizeof(*tokens))];
			size_t tl = strlen(tok);
			if (len + tl > cap - RENDER_LINE_MAX - 64)
				break;
			memcpy(t + len, tok, tl);
			len += tl;
		}
		/* now and then a line past RENDER_LINE_MAX: the page cuts it */
		if (k % 16 == 5)
			for (size_t i = 0; i < RENDER_LINE_MAX + 40; i++)
				t[len++] = (unsigned char)"ab\xc3\xa9 "[i % 5];
		for (size_t i = 0; i < len; i++)
			lines += t[i] == '\n';
		from = 1 + rand_r(&rs) % lines;
		CHECK(view_with(&rita, NULL, ci, t, len, from, window, &plain) == 0);
		CHECK(view_with(&rita, hd, ci, t, len, from, window, &coloured) == 0);
		page_text(&plain, &a);
		page_text(&coloured, &b);
		if (a.len != b.len || memcmp(a.p, b.p, a.len)) {
			fprintf(stderr, "  text %d (from %" PRIu64 ", %" PRIu64 " lines a page) reads otherwise with the worker's spans\n",
				k, from, window);
			same = 0;
		}
		if (worker_child(HIGHLIGHTD_ARG) == 0) { /* the answer was refused: the worker stopped */
			refused++;
			highlightd_free(hd); /* a new pool: its own 5 starts a minute */
			hd = highlightd_new();
		} else {
			taken += strstr(coloured.p, "<span class=h") != NULL;
		}
	}
	unsetenv("HIGHLIGHTD_TEST_HOSTILE");
	CHECK(same);
	/* both kinds were seen: answers taken (the page coloured) and refused */
	CHECK(taken >= 20 && refused >= 20);
	if (taken < 20 || refused < 20)
		fprintf(stderr, "  %d answers taken, %d refused\n", taken, refused);
	highlightd_free(hd);
	cipher_free(ci);
	free(t);
	buf_release(&plain);
	buf_release(&coloured);
	buf_release(&a);
	buf_release(&b);
}

/*
 * A page of search results asks the worker for each result file's colours: a worker that
 * takes its time for each (0.9 s of the 1.1 s it may: a snippet's budget and the grace)
 * made a page of 24 files take 22 s, and one of the 50 files a page shows 45 s, past the
 * front's answer timeout (the room is then restarted). The page's colours are bounded as a
 * whole: its result files past the budget are plain, every line still there.
 */
TEST(search_page_colours_in_bounded_time)
{
	enum { N = 24 };
	static char paths[N][16], data[N][64];
	struct fixture_file files[N + 1];
	struct session_info rita = who_of("rita");
	struct render_ctx c = {0};
	struct fixture f;
	struct query_opts qo = {0};
	struct search_opts so;
	struct query *q = NULL;
	struct search_result *res = NULL;
	struct highlightd *hd;
	struct timespec t0, t1;
	struct buf out;
	double s;
	for (int i = 0; i < N; i++) {
		snprintf(paths[i], sizeof(paths[i]), "f%02d.c", i);
		snprintf(data[i], sizeof(data[i]), "int marker_%02d(void) { return %d; }\n", i, i);
		files[i] = (struct fixture_file){paths[i], data[i], 0, 0100644};
	}
	files[N] = (struct fixture_file){NULL, NULL, 0, 0};
	fixture_make_files(&f, files);
	search_opts_default(&so);
	so.limit = 50;
	CHECK(query_parse("marker_", &qo, &q) == 0 && index_search(f.ix, q, &so, &res) == 0);
	CHECK(search_result_n_files(res) == N);
	setenv("HIGHLIGHTD_TEST_HOSTILE", "slow", 1);
	setenv("HIGHLIGHTD_TEST_SLOW_MS", "900", 1);
	hd = highlightd_new();
	c.f = fac;
	c.log = log_;
	c.who = &rita;
	c.product = "fw";
	c.version = "1";
	c.now = MON10;
	c.ix = f.ix;
	c.hl = hd;
	buf_init(&out, 16 << 20);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK(render_search_html(&c, "marker_", res, &out) == 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	unsetenv("HIGHLIGHTD_TEST_HOSTILE");
	unsetenv("HIGHLIGHTD_TEST_SLOW_MS");
	s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	/* the page's budget, then at most one file's wait for a channel and for its answer */
	CHECK(s < RENDER_HIGHLIGHT_BUDGET_US / 1e6 + 2 * (RENDER_HIGHLIGHT_BUDGET_US / 20 / 1e6 + HIGHLIGHTD_GRACE_MS / 1e3) + 1);
	if (s >= 6)
		fprintf(stderr, "  a page of %d result files took %.1f s\n", N, s);
	/* every line still there (its match in <mark>, its colours in spans, or none) */
	{
		struct buf txt;
		buf_init(&txt, 16 << 20);
		page_text(&out, &txt);
		for (int i = 0; i < N; i++) {
			char want[64];
			snprintf(want, sizeof(want), "int marker_%02d(void) { return %d; }", i, i);
			CHECK(strstr(txt.p, want) != NULL);
		}
		buf_release(&txt);
	}
	highlightd_free(hd);
	search_result_free(res);
	query_free(q);
	buf_release(&out);
	fixture_free(&f);
}

/* The line of a diff page that opens with (a div of class "l r" or "l a"): coloured? */
static int diff_line_coloured(const char *page, const char *open)
{
	const char *a = strstr(page, open), *b = a ? strstr(a, "</div>") : NULL;
	const char *k = a ? strstr(a, "<span class=h") : NULL;
	return a && b && k && k < b;
}

/*
 * A diff's older file goes to the older release's worker (ctx.hl_base), never to the newer
 * release's (ctx.hl): each worker holds its own release's files only.
 */
TEST(diff_colours_each_side_by_its_own_worker)
{
	static const char old_t[] = "int gone_a;\nint same;\n", new_t[] = "int same;\nint came_b;\n";
	struct session_info rita = who_of("rita");
	struct manifest_entry oe = {0}, ne = {0};
	struct render_ctx c = {0};
	struct highlightd *hd = highlightd_new();
	struct buf out;
	buf_init(&out, 1 << 20);
	oe.path = ne.path = "src/d.c";
	oe.path_len = ne.path_len = strlen(oe.path);
	oe.mode = ne.mode = 0100644;
	oe.size = sizeof(old_t) - 1;
	ne.size = sizeof(new_t) - 1;
	memset(oe.sha256, 0x11, 32);
	memset(ne.sha256, 0x22, 32);
	c.f = fac;
	c.log = log_;
	c.who = &rita;
	c.product = "fw";
	c.version = "1";
	c.now = MON10;
	/* the older release's worker only: its file coloured, the newer plain */
	c.hl_base = hd;
	CHECK(render_diff(&c, "1", 3, &oe, (const unsigned char *)old_t, oe.size, &ne, (const unsigned char *)new_t,
			  ne.size, &out) == 0);
	CHECK(strstr(out.p, "gone_a") && strstr(out.p, "came_b"));
	CHECK(diff_line_coloured(out.p, "<div class=\"l r\"") && !diff_line_coloured(out.p, "<div class=\"l a\""));
	/* the newer's only: the other way round */
	c.hl_base = NULL;
	c.hl = hd;
	buf_reset(&out);
	CHECK(render_diff(&c, "1", 3, &oe, (const unsigned char *)old_t, oe.size, &ne, (const unsigned char *)new_t,
			  ne.size, &out) == 0);
	CHECK(!diff_line_coloured(out.p, "<div class=\"l r\"") && diff_line_coloured(out.p, "<div class=\"l a\""));
	highlightd_free(hd);
	buf_release(&out);
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
	RUN(worker_spans_never_change_the_text);
	RUN(search_page_colours_in_bounded_time);
	RUN(diff_colours_each_side_by_its_own_worker);
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
