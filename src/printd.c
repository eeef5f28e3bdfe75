/* printd: the drawing of an opened release's prints in a worker; see printd.h. */
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "le.h"
#include "printd.h"
#include "worker.h"

#define NAME "print worker"
#define REQ_MAGIC "SRp1"
#define ANS_MAGIC "SRP1"
#define STR_MAX 1024
#define ROW_MAX (PRINT_COLUMNS * 4)
#define ROWS_MAX ((size_t)PRINT_LINES_MAX * 64) /* a line cut into rows of PRINT_COLUMNS */
#define REQ_MAX ((size_t)64 << 20)
#define ANS_MAX ((size_t)PRINT_PDF_MAX + 4)
#define START_TIMEOUT_MS 10000

/* ---- messages ---- */

/*
 * "SRp1" | u8 text_layer | u64 pages | u64 first | u64 now | 7 x (u16 n | n bytes): product,
 * version, name, reviewer, lab, session, prefix | u32 rows | rows x (u64 line | u16 n | n bytes)
 */
static int put_str(struct buf *out, const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;
	unsigned char h[2];
	if (n > max)
		return err_set(ERR_USAGE, "print worker: a field of %zu bytes is too long", n);
	h[0] = (unsigned char)n;
	h[1] = (unsigned char)(n >> 8);
	return buf_add(out, h, 2) || buf_add(out, s ? s : "", n) ? ERR_TOOBIG : 0;
}

int printd_request_encode(const struct print_sheet *s, struct buf *out)
{
	unsigned char h[4 + 1 + 24], n[12];
	const char *strs[7] = {s->product, s->version, s->name, s->reviewer, s->lab, s->session, s->prefix};
	int r;
	if (s->n_rows > ROWS_MAX || s->pages < 0 || s->first < 0 || s->now < 0)
		return err_set(ERR_USAGE, "print worker: a sheet out of range");
	memcpy(h, REQ_MAGIC, 4);
	h[4] = (unsigned char)(s->text_layer != 0);
	put64(h + 5, (uint64_t)s->pages);
	put64(h + 13, (uint64_t)s->first);
	put64(h + 21, (uint64_t)s->now);
	buf_reset(out);
	if (buf_add(out, h, sizeof(h)))
		return ERR_TOOBIG;
	for (int i = 0; i < 7; i++)
		if ((r = put_str(out, strs[i], STR_MAX)))
			return r;
	put32(n, (uint32_t)s->n_rows);
	if (buf_add(out, n, 4))
		return ERR_TOOBIG;
	for (size_t i = 0; i < s->n_rows; i++) {
		if (s->rows[i].line < 0)
			return err_set(ERR_USAGE, "print worker: a row out of range");
		put64(n, (uint64_t)s->rows[i].line);
		if (buf_add(out, n, 8) || (r = put_str(out, s->rows[i].text, ROW_MAX)))
			return r ? r : ERR_TOOBIG;
	}
	return 0;
}

/* A string of (p, len) at *off into a fresh NUL-terminated copy inside arena *a. */
static int get_str(const unsigned char *p, size_t len, size_t *off, size_t max, char **arena, const char **out)
{
	size_t n;
	if (len - *off < 2)
		return ERR_PARSE;
	n = (size_t)p[*off] | (size_t)p[*off + 1] << 8;
	*off += 2;
	if (n > max || len - *off < n || memchr(p + *off, 0, n))
		return ERR_PARSE;
	memcpy(*arena, p + *off, n);
	(*arena)[n] = 0;
	*out = *arena;
	*arena += n + 1;
	*off += n;
	return 0;
}

int printd_request_decode(const void *msg, size_t len, struct print_sheet *s, struct print_sheet_row **rows)
{
	const unsigned char *p = msg;
	const char **strs[7] = {&s->product, &s->version, &s->name, &s->reviewer, &s->lab, &s->session, &s->prefix};
	struct print_sheet_row *rw = NULL;
	char *arena, *a;
	size_t off = 29, nr;
	*rows = NULL;
	memset(s, 0, sizeof(*s));
	if (len < 29 + 14 + 4 || memcmp(p, REQ_MAGIC, 4) || p[4] > 1 || get64(p + 5) > ROWS_MAX ||
	    get64(p + 13) > INT64_MAX / 2 || get64(p + 21) > INT64_MAX / 2)
		return err_set(ERR_PARSE, "print worker: a malformed request");
	/* every string and row is copied once, NUL-terminated, into one allocation */
	a = arena = xmalloc(len + 8 + ROWS_MAX);
	s->text_layer = p[4];
	s->pages = (int64_t)get64(p + 5);
	s->first = (int64_t)get64(p + 13);
	s->now = (int64_t)get64(p + 21);
	for (int i = 0; i < 7; i++)
		if (get_str(p, len, &off, STR_MAX, &a, strs[i]))
			goto bad;
	if (len - off < 4 || (nr = get32(p + off)) > ROWS_MAX)
		goto bad;
	off += 4;
	rw = xcalloc(nr + 1, sizeof(*rw)); /* rows[nr].text: the arena, for printd_request_free */
	for (size_t i = 0; i < nr; i++) {
		const char *t;
		if (len - off < 8 || get64(p + off) > INT64_MAX / 2)
			goto bad;
		rw[i].line = (int64_t)get64(p + off);
		off += 8;
		if (get_str(p, len, &off, ROW_MAX, &a, &t))
			goto bad;
		rw[i].text = (char *)t;
	}
	if (off != len || s->pages != (int64_t)((nr + PRINT_LINES_PER_PAGE - 1) / PRINT_LINES_PER_PAGE))
		goto bad;
	rw[nr].line = 0;
	rw[nr].text = arena;
	s->rows = rw;
	s->n_rows = nr;
	*rows = rw;
	return 0;
bad:
	free(rw);
	free(arena);
	memset(s, 0, sizeof(*s));
	return err_set(ERR_PARSE, "print worker: a malformed request");
}

void printd_request_free(struct print_sheet_row *rows, size_t n)
{
	if (rows) {
		free(rows[n].text);
		free(rows);
	}
}

/* ---- the worker ---- */

static int answer(void *ctx, const unsigned char *req, size_t len, struct buf *out)
{
	struct print_sheet s;
	struct print_sheet_row *rows;
	int r;
	(void)ctx;
	if (printd_request_decode(req, len, &s, &rows))
		return 1; /* only the room writes here: a malformed request ends the worker */
	buf_reset(out);
	r = buf_add(out, ANS_MAGIC, 4) || print_draw(&s, out);
	printd_request_free(rows, s.n_rows);
	return r; /* a sheet it cannot draw ends the worker: the room sees it fail */
}

/* As searchd.c's: any program that holds this module is a worker when run with PRINTD_ARG. */
__attribute__((constructor)) static void printd_entry(int argc, char **argv)
{
	if (argc > 1 && argv && argv[1] && !strcmp(argv[1], PRINTD_ARG)) {
		if (!setlocale(LC_CTYPE, "C.UTF-8"))
			setlocale(LC_CTYPE, "");
		if (sodium_init() < 0)
			_exit(1);
		printd_exec();
	}
}

void printd_exec(void)
{
	worker_begin(NAME, 0, PRINTD_CHANNELS);
	/* the fonts are read before the sandbox, which allows no file; FreeType maps them */
	if (print_fonts_load())
		worker_fail(NAME, "fonts");
	worker_sandbox(NAME);
	worker_serve(NAME, 0, PRINTD_CHANNELS, 0, REQ_MAX, ANS_MAX, answer, NULL);
}

/* ---- the room's side ---- */

struct printd {
	struct worker *w;
};

struct printd *printd_new(void)
{
	struct printd *d = xcalloc(1, sizeof(*d));
	struct worker_spec spec = {PRINTD_ARG, NAME, PRINTD_CHANNELS, START_TIMEOUT_MS, NULL, NULL};
	if (worker_new(&spec, 0, &d->w))
		BUG("print worker: %s", err_msg()); /* nothing is started: it cannot fail */
	return d;
}

int printd_draw(struct printd *d, const struct print_sheet *s, struct buf *pdf)
{
	struct worker_chan ch;
	struct buf b;
	int r, failed = 0;
	buf_init(&b, REQ_MAX > ANS_MAX ? REQ_MAX + 16 : ANS_MAX + 16);
	if ((r = printd_request_encode(s, &b)))
		goto done;
	if ((r = worker_take(d->w, PRINTD_TIMEOUT_MS, &ch)))
		goto done;
	if ((r = worker_exchange(d->w, &ch, b.p, b.len, ANS_MAX, PRINTD_TIMEOUT_MS, &b))) {
		r = err_set(ERR_IO, "print: the release's print worker failed (%s); it is started again", err_msg());
		failed = 1;
	} else if (b.len < 4 + 5 || memcmp(b.p, ANS_MAGIC, 4) || memcmp(b.p + 4, "%PDF-", 5)) {
		r = err_set(ERR_IO, "print: the release's print worker answered what is not a PDF: it was stopped");
		failed = 1;
	} else if ((r = buf_add(pdf, b.p + 4, b.len - 4))) {
		r = err_set(ERR_TOOBIG, "print: the PDF is too large");
	}
	worker_give(d->w, &ch, failed);
done:
	if (b.cap)
		sodium_memzero(b.p, b.cap); /* the printed lines were here */
	buf_release(&b);
	return r;
}

void printd_kill(struct printd *d)
{
	if (d)
		worker_kill(d->w);
}

void printd_free(struct printd *d)
{
	if (!d)
		return;
	worker_free(d->w);
	free(d);
}
