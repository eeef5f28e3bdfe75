/* imaged: the decoding of an opened release's images in a worker; see imaged.h. */
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "image.h"
#include "imaged.h"
#include "le.h"
#include "worker.h"

#define NAME "image worker"
#define REQ_MAGIC "SRi1"
#define ANS_MAGIC "SRI1"
#define REQ_LEN 12
#define ANS_LEN 21
#define MSG_MAX 256
#define REQ_MAX ((size_t)REQ_LEN + IMAGE_FILE_MAX)
#define ANS_MAX ((size_t)ANS_LEN + (size_t)IMAGED_SIDE_MAX * IMAGED_SIDE_MAX * 3)
#define START_TIMEOUT_MS 10000

/* ---- messages ---- */

int imaged_request_encode(const void *p, size_t len, int side, struct buf *out)
{
	unsigned char h[REQ_LEN];
	if (len > IMAGE_FILE_MAX || side <= 0 || side > IMAGED_SIDE_MAX)
		return err_set(ERR_USAGE, "image worker: a request out of range");
	memcpy(h, REQ_MAGIC, 4);
	put32(h + 4, (uint32_t)side);
	put32(h + 8, (uint32_t)len);
	buf_reset(out);
	return buf_add(out, h, sizeof(h)) || buf_add(out, p, len) ? ERR_TOOBIG : 0;
}

int imaged_request_decode(const void *msg, size_t len, const unsigned char **p, size_t *n, int *side)
{
	const unsigned char *m = msg;
	if (len < REQ_LEN || memcmp(m, REQ_MAGIC, 4) || !get32(m + 4) || get32(m + 4) > IMAGED_SIDE_MAX ||
	    get32(m + 8) > IMAGE_FILE_MAX || len != REQ_LEN + (size_t)get32(m + 8))
		return err_set(ERR_PARSE, "image worker: a malformed request");
	*side = (int)get32(m + 4);
	*n = get32(m + 8);
	*p = m + REQ_LEN;
	return 0;
}

int imaged_answer_decode(const void *msg, size_t len, int side, unsigned char **rgb, int *w0, int *h0, int *w,
			 int *h)
{
	const unsigned char *m = msg;
	uint32_t a, b, c, d;
	int fw, fh;
	*rgb = NULL;
	*w0 = *h0 = *w = *h = 0;
	if (len < 5 || memcmp(m, ANS_MAGIC, 4) || m[4] > 1)
		return err_set(ERR_CORRUPT, "a malformed answer");
	if (m[4] == 0) {
		char text[MSG_MAX + 1];
		size_t n = len >= 8 ? ((size_t)m[6] | (size_t)m[7] << 8) : SIZE_MAX;
		int code = len >= 8 ? -(int)m[5] : 0, known;
		if (n > MSG_MAX || len != 8 + n || (code != ERR_PARSE && code != ERR_TOOBIG) || memchr(m + 8, 0, n))
			return err_set(ERR_CORRUPT, "a malformed refusal");
		memcpy(text, m + 8, n);
		text[n] = 0;
		/* the decoders' own words only: anything else would be text of the worker's
		 * choosing, shown uncharged */
		if (!(known = image_reason_known(text)) || (known == 2) != (code == ERR_TOOBIG))
			return err_set(ERR_CORRUPT, "a refusal in words the decoders do not use");
		if (known == 2)
			return err_set(ERR_TOOBIG, "image: too large (limit %d pixels per side, %d in all)",
				       IMAGE_SIDE_MAX, IMAGE_PIXELS_MAX);
		return err_set(ERR_PARSE, "%s", text);
	}
	if (len < ANS_LEN)
		return err_set(ERR_CORRUPT, "a malformed answer");
	a = get32(m + 5);
	b = get32(m + 9);
	c = get32(m + 13);
	d = get32(m + 17);
	/* the decoded size within the limits, the scaled one exactly what fitting makes of it */
	if (!a || !b || a > IMAGE_SIDE_MAX || b > IMAGE_SIDE_MAX || (uint64_t)a * b > IMAGE_PIXELS_MAX ||
	    image_fit_size((int)a, (int)b, side, &fw, &fh) < 0 || (uint32_t)fw != c || (uint32_t)fh != d)
		return err_set(ERR_CORRUPT, "sizes that do not hold (%ux%u shown as %ux%u)", (unsigned)a, (unsigned)b,
			       (unsigned)c, (unsigned)d);
	if (len != ANS_LEN + (size_t)c * d * 3)
		return err_set(ERR_CORRUPT, "an answer whose length is not its pixels'");
	*rgb = xmalloc((size_t)c * d * 3);
	memcpy(*rgb, m + ANS_LEN, (size_t)c * d * 3);
	*w0 = (int)a;
	*h0 = (int)b;
	*w = (int)c;
	*h = (int)d;
	return 0;
}

/* ---- the worker ---- */

static int answer(void *ctx, const unsigned char *req, size_t len, struct buf *out)
{
	const unsigned char *p;
	unsigned char *rgb = NULL, h[ANS_LEN];
	size_t n;
	int side, w0, h0, w, hh, r;
	(void)ctx;
	if (imaged_request_decode(req, len, &p, &n, &side))
		return 1; /* only the room writes here: a malformed request ends the worker */
	if ((r = image_decode_rgb(p, n, &rgb, &w0, &h0))) {
		r = worker_refusal(ANS_MAGIC, r == ERR_TOOBIG ? ERR_TOOBIG : ERR_PARSE, err_msg(), MSG_MAX, out);
		free(rgb);
		return r;
	}
	w = w0;
	hh = h0;
	if ((r = image_fit_rgb(rgb, &w, &hh, side))) {
		sodium_memzero(rgb, (size_t)w0 * h0 * 3);
		free(rgb);
		return worker_refusal(ANS_MAGIC, ERR_PARSE, "image: not a PNG, JPEG, GIF or WebP file", MSG_MAX, out);
	}
	memcpy(h, ANS_MAGIC, 4);
	h[4] = 1;
	put32(h + 5, (uint32_t)w0);
	put32(h + 9, (uint32_t)h0);
	put32(h + 13, (uint32_t)w);
	put32(h + 17, (uint32_t)hh);
	buf_reset(out);
	r = buf_add(out, h, sizeof(h)) || buf_add(out, rgb, (size_t)w * hh * 3) ? 1 : 0;
	sodium_memzero(rgb, (size_t)w0 * h0 * 3);
	free(rgb);
	return r;
}

/* As searchd.c's: any program that holds this module is a worker when run with IMAGED_ARG. */
__attribute__((constructor)) static void imaged_entry(int argc, char **argv)
{
	if (argc > 1 && argv && argv[1] && !strcmp(argv[1], IMAGED_ARG)) {
		if (!setlocale(LC_CTYPE, "C.UTF-8"))
			setlocale(LC_CTYPE, "");
		if (sodium_init() < 0)
			_exit(1);
		imaged_exec();
	}
}

void imaged_exec(void)
{
	worker_begin(NAME, 0, IMAGED_CHANNELS);
	worker_sandbox(NAME);
	worker_serve(NAME, 0, IMAGED_CHANNELS, 0, REQ_MAX, ANS_MAX, answer, NULL);
}

/* ---- the room's side ---- */

struct imaged {
	struct worker *w;
};

struct imaged *imaged_new(void)
{
	struct imaged *d = xcalloc(1, sizeof(*d));
	struct worker_spec spec = {IMAGED_ARG, NAME, IMAGED_CHANNELS, START_TIMEOUT_MS, NULL, NULL};
	if (worker_new(&spec, 0, &d->w))
		BUG("image worker: %s", err_msg()); /* nothing is started: it cannot fail */
	return d;
}

int imaged_decode(struct imaged *d, const void *p, size_t len, int side, unsigned char **rgb, int *w0, int *h0,
		  int *w, int *h)
{
	struct worker_chan ch;
	struct buf b;
	int r, failed = 0;
	*rgb = NULL;
	*w0 = *h0 = *w = *h = 0;
	if (len > IMAGE_FILE_MAX)
		return err_set(ERR_TOOBIG, "image: file of %zu bytes is too large (limit %d)", len, IMAGE_FILE_MAX);
	if (image_sniff(p, len) == IMAGE_NONE)
		return err_set(ERR_PARSE, "image: not a PNG, JPEG, GIF or WebP file");
	buf_init(&b, REQ_MAX > ANS_MAX ? REQ_MAX + 16 : ANS_MAX + 16);
	if ((r = imaged_request_encode(p, len, side, &b)))
		goto done;
	if ((r = worker_take(d->w, IMAGED_TIMEOUT_MS, &ch)))
		goto done;
	if ((r = worker_exchange(d->w, &ch, b.p, b.len, ANS_MAX, IMAGED_TIMEOUT_MS, &b))) {
		r = err_set(ERR_IO, "image: the release's image worker failed (%s); it is started again", err_msg());
		failed = 1;
	} else if ((r = imaged_answer_decode(b.p, b.len, side, rgb, w0, h0, w, h)) == ERR_CORRUPT) {
		r = err_set(ERR_IO, "image: the release's image worker answered %s: it was stopped", err_msg());
		failed = 1;
	}
	worker_give(d->w, &ch, failed);
done:
	if (b.cap)
		sodium_memzero(b.p, b.cap); /* the file and its pixels were here */
	buf_release(&b);
	return r;
}

void imaged_kill(struct imaged *d)
{
	if (d)
		worker_kill(d->w);
}

void imaged_free(struct imaged *d)
{
	if (!d)
		return;
	worker_free(d->w);
	free(d);
}
