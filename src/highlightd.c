/* highlightd: the syntax highlighting of an opened release in a worker; see highlightd.h. */
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "highlightd.h"
#include "le.h"
#include "worker.h"

#define NAME "highlight worker"
#define REQ_MAGIC "SRh1"
#define ANS_MAGIC "SRH1"
#define REQ_LEN (4 + 1 + 4 + 4)
#define ANS_LEN 8
#define SPAN_LEN 10
#define REQ_MAX (REQ_LEN + HL_MAX_BYTES)
#define ANS_MAX (ANS_LEN + SPAN_LEN * HL_MAX_BYTES)
#define START_TIMEOUT_MS 10000

/* ---- messages ---- */

int highlightd_request_encode(enum hl_lang lang, const char *src, size_t len, uint64_t budget_us, struct buf *out)
{
	unsigned char h[REQ_LEN];
	if (lang <= HL_NONE || lang >= HL_NLANG || len > HL_MAX_BYTES || budget_us > HIGHLIGHTD_BUDGET_MAX_US)
		return err_set(ERR_USAGE, "highlight worker: a request out of range");
	memcpy(h, REQ_MAGIC, 4);
	h[4] = (unsigned char)lang;
	put32(h + 5, (uint32_t)budget_us);
	put32(h + 9, (uint32_t)len);
	buf_reset(out);
	/* one allocation: the file's bytes are not left behind in a block that grew */
	return buf_grow(out, sizeof(h) + len) || buf_add(out, h, sizeof(h)) || buf_add(out, src, len) ? ERR_TOOBIG : 0;
}

int highlightd_request_decode(const void *msg, size_t len, enum hl_lang *lang, const char **src, size_t *n,
			      uint64_t *budget_us)
{
	const unsigned char *p = msg;
	if (len < REQ_LEN || memcmp(p, REQ_MAGIC, 4) || p[4] <= HL_NONE || p[4] >= HL_NLANG ||
	    get32(p + 5) > HIGHLIGHTD_BUDGET_MAX_US || get32(p + 9) > HL_MAX_BYTES || len != REQ_LEN + get32(p + 9))
		return err_set(ERR_PARSE, "highlight worker: a malformed request");
	*lang = (enum hl_lang)p[4];
	*budget_us = get32(p + 5);
	*n = get32(p + 9);
	*src = (const char *)p + REQ_LEN;
	return 0;
}

int highlightd_answer_encode(const struct hl_span *spans, size_t n, struct buf *out)
{
	unsigned char h[ANS_LEN], s[SPAN_LEN];
	if (n > HL_MAX_BYTES)
		return err_set(ERR_TOOBIG, "highlight worker: too many spans");
	memcpy(h, ANS_MAGIC, 4);
	put32(h + 4, (uint32_t)n);
	buf_reset(out);
	if (buf_add(out, h, sizeof(h)))
		return ERR_TOOBIG;
	for (size_t i = 0; i < n; i++) {
		put32(s, spans[i].start);
		put32(s + 4, spans[i].end);
		s[8] = (unsigned char)spans[i].cls;
		s[9] = (unsigned char)(spans[i].cls >> 8);
		if (buf_add(out, s, sizeof(s)))
			return ERR_TOOBIG;
	}
	return 0;
}

/*
 * Is offset x of (src, len) inside a character? The page reads code as UTF-8, a character
 * at a time and an invalid byte alone (cipher_encode); a span that starts or ends inside a
 * valid sequence cuts it into bytes each invalid alone, and the page would show U+FFFD for
 * a character of the file. tree-sitter's nodes never do: its lexer reads characters too.
 */
static int inside_char(const unsigned char *src, size_t len, size_t x)
{
	size_t s = x;
	if (!x || x >= len || (src[x] & 0xc0) != 0x80)
		return 0;
	/* the lead byte is at most 3 before; a valid sequence it starts covers x or not */
	while (s > 0 && x - s < 3 && (src[s - 1] & 0xc0) == 0x80)
		s--;
	if (!s || (src[--s] & 0xc0) == 0x80)
		return 0;
	{
		size_t k = src[s] >= 0xf0 ? 4 : src[s] >= 0xe0 ? 3 : src[s] >= 0xc0 ? 2 : 1;
		return s + k > x && s + k <= len && utf8_valid(src + s, k);
	}
}

int highlightd_answer_decode(const void *msg, size_t len, const char *src, size_t src_len, struct hl_span **spans,
			     size_t *n)
{
	const unsigned char *p = msg;
	struct hl_span *sp;
	uint32_t k, prev = 0;
	uint16_t ncls = hl_n_classes();
	*spans = NULL;
	*n = 0;
	if (len < ANS_LEN || memcmp(p, ANS_MAGIC, 4))
		return err_set(ERR_CORRUPT, "a malformed answer");
	k = get32(p + 4);
	if (k > src_len || (len - ANS_LEN) / SPAN_LEN != k || (len - ANS_LEN) % SPAN_LEN)
		return err_set(ERR_CORRUPT, "an answer whose length is not its %u spans'", (unsigned)k);
	if (!k)
		return 0;
	sp = xcalloc(k, sizeof(*sp));
	for (uint32_t i = 0; i < k; i++) {
		const unsigned char *s = p + ANS_LEN + (size_t)i * SPAN_LEN;
		sp[i].start = get32(s);
		sp[i].end = get32(s + 4);
		sp[i].cls = (uint16_t)(s[8] | s[9] << 8);
		/* inside the file, in order, apart, not empty, a class the room knows, and its ends
		 * between characters */
		if (sp[i].start < prev || sp[i].start >= sp[i].end || sp[i].end > src_len || !sp[i].cls ||
		    sp[i].cls >= ncls || inside_char((const unsigned char *)src, src_len, sp[i].start) ||
		    inside_char((const unsigned char *)src, src_len, sp[i].end)) {
			int r = err_set(ERR_CORRUPT, "span %u does not hold (%u..%u, class %u, in %zu bytes)", (unsigned)i,
					(unsigned)sp[i].start, (unsigned)sp[i].end, (unsigned)sp[i].cls, src_len);
			free(sp);
			return r;
		}
		prev = sp[i].end;
	}
	*spans = sp;
	*n = k;
	return 0;
}

/* ---- the worker ---- */

static int answer(void *ctx, const unsigned char *req, size_t len, struct buf *out)
{
	enum hl_lang lang;
	const char *src;
	size_t n, k = 0;
	uint64_t budget;
	struct hl_span *sp = NULL;
	int r;
	(void)ctx;
	if (highlightd_request_decode(req, len, &lang, &src, &n, &budget))
		return 1; /* only the room writes here: a malformed request ends the worker */
	/* a grammar's query that does not compile makes every file plain, as in process */
	if (highlight(lang, src, n, &sp, &k, budget)) {
		free(sp);
		sp = NULL;
		k = 0;
	}
	r = highlightd_answer_encode(sp, k, out);
	free(sp);
	return r;
}

/* As searchd.c's: any program that holds this module is a worker when run with HIGHLIGHTD_ARG. */
__attribute__((constructor)) static void highlightd_entry(int argc, char **argv)
{
	if (argc > 1 && argv && argv[1] && !strcmp(argv[1], HIGHLIGHTD_ARG)) {
		if (!setlocale(LC_CTYPE, "C.UTF-8"))
			setlocale(LC_CTYPE, "");
		if (sodium_init() < 0)
			_exit(1);
		highlightd_exec();
	}
}

void highlightd_exec(void)
{
	worker_begin(NAME, 0, HIGHLIGHTD_CHANNELS);
	worker_sandbox(NAME);
	worker_serve(NAME, 0, HIGHLIGHTD_CHANNELS, 0, REQ_MAX, ANS_MAX, answer, NULL);
}

/* ---- the room's side ---- */

struct highlightd {
	struct worker *w;
};

struct highlightd *highlightd_new(void)
{
	struct highlightd *h = xcalloc(1, sizeof(*h));
	struct worker_spec spec = {HIGHLIGHTD_ARG, NAME, HIGHLIGHTD_CHANNELS, START_TIMEOUT_MS, NULL, NULL};
	if (worker_new(&spec, 0, &h->w))
		BUG("highlight worker: %s", err_msg()); /* nothing is started: it cannot fail */
	return h;
}

int highlightd_spans(struct highlightd *h, enum hl_lang lang, const char *src, size_t len, uint64_t budget_us,
		     struct hl_span **spans, size_t *n)
{
	struct worker_chan ch;
	struct buf req, ans;
	unsigned ms;
	int r, failed = 0;
	*spans = NULL;
	*n = 0;
	if (lang <= HL_NONE || lang >= HL_NLANG || !len || len > HL_MAX_BYTES)
		return 0;
	if (!budget_us || budget_us > HIGHLIGHTD_BUDGET_MAX_US)
		budget_us = HIGHLIGHTD_BUDGET_MAX_US;
	ms = (unsigned)(budget_us / 1000) + HIGHLIGHTD_GRACE_MS;
	/* the file and the answer in buffers of their own: an answer read over the request
	 * would grow (move) its block and leave the file's bytes in freed memory; and no more
	 * spans than the file has bytes */
	buf_init(&req, REQ_MAX + 16);
	buf_init(&ans, ANS_LEN + SPAN_LEN * len + 16);
	if ((r = highlightd_request_encode(lang, src, len, budget_us, &req)))
		goto done;
	if ((r = worker_take(h->w, ms, &ch)))
		goto done;
	if ((r = worker_exchange(h->w, &ch, req.p, req.len, ANS_LEN + SPAN_LEN * len, ms, &ans))) {
		r = err_set(ERR_IO, "highlight: the release's highlight worker failed (%s); it is started again", err_msg());
		failed = 1;
	} else if ((r = highlightd_answer_decode(ans.p, ans.len, src, len, spans, n))) {
		r = err_set(ERR_IO, "highlight: the release's highlight worker answered %s: it was stopped", err_msg());
		failed = 1;
	}
	worker_give(h->w, &ch, failed);
done:
	if (req.cap)
		sodium_memzero(req.p, req.cap); /* the file's text was here */
	buf_release(&req);
	buf_release(&ans);
	return r;
}

void highlightd_kill(struct highlightd *h)
{
	if (h)
		worker_kill(h->w);
}

void highlightd_free(struct highlightd *h)
{
	if (!h)
		return;
	worker_free(h->w);
	free(h);
}
