/* searchd: the search worker of an opened release; see searchd.h. */
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "le.h"
#include "manifest.h"
#include "sandbox.h"
#include "searchd.h"
#include "wire.h"
#include "worker.h"

/* The worker's own descriptors (worker.h): its image, its text. */
#define FD_IMAGE WORKER_FD_FIRST
#define FD_TEXT (WORKER_FD_FIRST + 1)
#define N_FDS 2
#define NAME "search worker"

#define IMAGE_MAGIC "SRSD0001"
#define REQ_MAGIC "SRw1"
#define ANS_MAGIC "SRW1"
#define REQ_LEN (4 + 4 + 4 + 8 + 4 + 4 + 2) /* then the query's text */
#define ANSWER_MAX ((size_t)64 << 20)
#define ERR_MSG_MAX 512
#define START_TIMEOUT_MS 120000 /* for the worker to attach the index of a large release */

/* ---- messages ---- */

/*
 * Request: "SRw1" u8 caseless, u8 literal, u8 word, u8 count_all, u32 limit, u64 offset,
 * u32 context, u32 budget_ms, u16 text length, the text (no NUL).
 * Answer:  "SRW1" u8 1, then search_result_encode's bytes; or "SRW1" u8 0, u8 enum err,
 * u16 length, a one-line message.
 */
int searchd_request_encode(const char *text, const struct query_opts *qo, const struct search_opts *so, struct buf *out)
{
	size_t n = strlen(text);
	unsigned char h[REQ_LEN];
	if (n > QUERY_MAX)
		return err_set(ERR_TOOBIG, "query: longer than %d bytes", QUERY_MAX);
	if (so->limit > UINT32_MAX || so->offset > UINT64_MAX / 2)
		return err_set(ERR_USAGE, "search: the page is out of range");
	if (so->prefilter)
		return err_set(ERR_USAGE, "search: a search worker picks its own prefilter");
	memcpy(h, REQ_MAGIC, 4);
	h[4] = (unsigned char)(qo->caseless != 0);
	h[5] = (unsigned char)(qo->literal != 0);
	h[6] = (unsigned char)(qo->word != 0);
	h[7] = (unsigned char)(so->count_all != 0);
	put32(h + 8, (uint32_t)so->limit);
	put64(h + 12, (uint64_t)so->offset);
	put32(h + 20, so->context);
	put32(h + 24, so->budget_ms);
	h[28] = (unsigned char)n;
	h[29] = (unsigned char)(n >> 8);
	buf_reset(out);
	if (buf_add(out, h, sizeof(h)) || buf_add(out, text, n))
		return ERR_TOOBIG;
	return 0;
}

int searchd_request_decode(const void *msg, size_t len, char *text, struct query_opts *qo, struct search_opts *so)
{
	const unsigned char *p = msg;
	size_t n;
	if (len < REQ_LEN || memcmp(p, REQ_MAGIC, 4) || p[4] > 1 || p[5] > 1 || p[6] > 1 || p[7] > 1)
		return err_set(ERR_PARSE, "search worker: a malformed request");
	n = (size_t)p[28] | (size_t)p[29] << 8;
	if (n > QUERY_MAX || len != REQ_LEN + n || memchr(p + REQ_LEN, 0, n))
		return err_set(ERR_PARSE, "search worker: a malformed request");
	memset(qo, 0, sizeof(*qo));
	qo->caseless = p[4];
	qo->literal = p[5];
	qo->word = p[6];
	search_opts_default(so);
	so->count_all = p[7];
	so->limit = get32(p + 8);
	so->offset = (size_t)get64(p + 12);
	so->context = get32(p + 20);
	so->budget_ms = get32(p + 24);
	memcpy(text, p + REQ_LEN, n);
	text[n] = 0;
	return 0;
}

/* A byte of a refusal as the room shows it. */
static char shown(char c)
{
	return (unsigned char)c < 0x20 || c == 0x7f ? '?' : c;
}

int searchd_answer_decode(const struct index *ix, const void *msg, size_t len, struct search_result **res)
{
	const unsigned char *p = msg;
	size_t n;
	int code;
	char text[ERR_MSG_MAX + 1];
	*res = NULL;
	if (len < 5 || memcmp(p, ANS_MAGIC, 4) || p[4] > 1)
		return err_set(ERR_CORRUPT, "a malformed message");
	if (p[4] == 1) {
		if (search_result_decode(ix, p + 5, len - 5, res))
			return err_set(ERR_CORRUPT, "a result that does not hold (%s)", err_msg());
		return 0;
	}
	n = len >= 8 ? ((size_t)p[6] | (size_t)p[7] << 8) : SIZE_MAX;
	code = len >= 8 ? -(int)p[5] : 0;
	if (n > ERR_MSG_MAX || len != 8 + n || (code != ERR_PARSE && code != ERR_USAGE && code != ERR_TOOBIG))
		return err_set(ERR_CORRUPT, "a malformed refusal");
	/* the worker's words, made one printable line */
	for (size_t i = 0; i < n; i++)
		text[i] = shown((char)p[8 + i]);
	text[n] = 0;
	return err_set(code, "%s", text);
}

/* ---- the worker ---- */

/* One search: the request decoded, parsed and run over ix, the result as numbers. */
static int answer(void *ctx, const unsigned char *req, size_t len, struct buf *out)
{
	const struct index *ix = ctx;
	static __thread char text[QUERY_MAX + 1];
	struct query_opts qo;
	struct search_opts so;
	struct query *q = NULL;
	struct search_result *res = NULL;
	int r;
	if ((r = searchd_request_decode(req, len, text, &qo, &so)) || (r = query_parse(text, &qo, &q)) ||
	    (r = index_search(ix, q, &so, &res))) {
		r = worker_refusal(ANS_MAGIC, r, err_msg(), ERR_MSG_MAX, out);
	} else {
		unsigned char h[5];
		memcpy(h, ANS_MAGIC, 4);
		h[4] = 1;
		buf_reset(out);
		if (buf_add(out, h, 5) || search_result_encode(res, out))
			r = worker_refusal(ANS_MAGIC, ERR_TOOBIG, "search: the result is too large to answer",
					   ERR_MSG_MAX, out);
	}
	search_result_free(res);
	query_free(q);
	return r;
}

/*
 * Every program that can start a worker holds this file (the room calls into it), so every
 * such program is a worker when run with SEARCHD_ARG, before its own main runs: a worker
 * started from a program other than sealroom (a test) never runs that program instead.
 */
__attribute__((constructor)) static void searchd_entry(int argc, char **argv)
{
	if (argc > 1 && argv && argv[1] && !strcmp(argv[1], SEARCHD_ARG)) {
		if (!setlocale(LC_CTYPE, "C.UTF-8"))
			setlocale(LC_CTYPE, "");
		if (sodium_init() < 0)
			_exit(1);
		searchd_exec(argc, argv);
	}
}

void searchd_exec(int argc, char **argv)
{
	struct stat st;
	const unsigned char *img;
	struct manifest *m = NULL;
	struct index *ix = NULL;
	uint64_t mlen;

	(void)argc;
	(void)argv;
	worker_begin(NAME, N_FDS, SEARCHD_CHANNELS);
	if (fstat(FD_IMAGE, &st) < 0 || st.st_size < 16 ||
	    (img = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, FD_IMAGE, 0)) == MAP_FAILED) {
		err_set(ERR_IO, "cannot map the index handed over");
		worker_fail(NAME, "start");
	}
	mlen = get64(img + 8);
	if (memcmp(img, IMAGE_MAGIC, 8) || mlen > (uint64_t)st.st_size - 16) {
		err_set(ERR_CORRUPT, "the index handed over is malformed");
		worker_fail(NAME, "start");
	}
	/* the image stays mapped: the posting lists are read where they are */
	if (manifest_decode(img + 16, (size_t)mlen, &m) ||
	    index_attach(img + 16 + mlen, (size_t)st.st_size - 16 - (size_t)mlen, m, FD_TEXT, 1, &ix))
		worker_fail(NAME, "start");
	close(FD_IMAGE);
	close(FD_TEXT);
	/* nothing of the host from here on */
	worker_sandbox(NAME);
	worker_serve(NAME, N_FDS, SEARCHD_CHANNELS, 1, REQ_LEN + QUERY_MAX, ANSWER_MAX, answer, ix);
}

/* ---- the room's side ---- */

struct searchd {
	const struct index *ix;
	struct worker *w;
};

/*
 * The image a worker attaches: the manifest, then the index's tables, written straight
 * into a memory file (index_share_write), and the text's read-only descriptor.
 */
static int make_image(void *ctx, int *fds, unsigned *n)
{
	const struct index *ix = ctx;
	struct buf man;
	size_t total;
	unsigned char *p = MAP_FAILED;
	int r, img = -1, text = -1;
	*n = 0;
	buf_init(&man, (size_t)INDEX_MAX);
	if ((r = manifest_encode(index_manifest(ix), &man)) || (r = index_share_text(ix, &text)))
		goto out;
	total = 16 + man.len + index_share_len(ix);
	if ((img = memfd_create("sealroom-search-index", MFD_CLOEXEC)) < 0 || ftruncate(img, (off_t)total) < 0 ||
	    (p = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_SHARED, img, 0)) == MAP_FAILED) {
		r = err_set(ERR_IO, "search worker: cannot make its image: %s", strerror(errno));
		goto out;
	}
	(void)madvise(p, total, MADV_DONTDUMP);
	memcpy(p, IMAGE_MAGIC, 8);
	put64(p + 8, (uint64_t)man.len);
	memcpy(p + 16, man.p, man.len);
	index_share_write(ix, p + 16 + man.len);
	munmap(p, total);
out:
	buf_release(&man);
	if (r) {
		if (img >= 0)
			close(img);
		if (text >= 0)
			close(text);
		return r;
	}
	fds[0] = img;
	fds[1] = text;
	*n = N_FDS;
	return 0;
}

int searchd_start(const struct index *ix, struct searchd **out)
{
	struct searchd *d = xcalloc(1, sizeof(*d));
	struct worker_spec spec = {SEARCHD_ARG, NAME, SEARCHD_CHANNELS, START_TIMEOUT_MS, make_image, (void *)ix};
	int r;
	*out = NULL;
	d->ix = ix;
	if ((r = worker_new(&spec, 1, &d->w))) {
		free(d);
		return r;
	}
	*out = d;
	return 0;
}

/* Does s start with prefix? Then *rest is what follows. */
static int starts(const char *s, const char *prefix, const char **rest)
{
	size_t n = strlen(prefix);
	if (strncmp(s, prefix, n))
		return 0;
	*rest = s + n;
	return 1;
}

/*
 * Is msg a refusal the worker's code says for this query (query_parse, index_search, the
 * worker's own)? A taken-over worker holds the release's text, and a refusal's message is
 * shown to the reader uncharged: a message the room does not know the shape of, or whose
 * free parts are not the reader's own query or a small number, is not shown but counts
 * as the worker failing. The vocabulary is query.c's and this file's messages.
 */
static int refusal_known(int code, const char *msg, const char *text, const struct search_opts *so)
{
	static const char *const fixed[] = {
		"query: 'file:' needs a path regex",
		"query: '-file:' needs a path regex",
		"query: only one 'sym:' is allowed",
		"query: 'sym:' needs a name or regex",
		"query: nothing to search for (empty pattern)",
	};
	static const char *const what[] = {"regex", "file: regex", "sym: regex"};
	char want[160];
	const char *p, *q;
	if (code == ERR_TOOBIG) {
		snprintf(want, sizeof(want), "query: longer than %d bytes", QUERY_MAX);
		return !strcmp(msg, want) || !strcmp(msg, "search: the result is too large to answer");
	}
	if (code == ERR_USAGE) {
		/* the page the room asked for: it knows the numbers */
		snprintf(want, sizeof(want), "search: limit %zu is past %d", so->limit, SEARCH_LIMIT_MAX);
		if (!strcmp(msg, want))
			return so->limit > SEARCH_LIMIT_MAX;
		snprintf(want, sizeof(want), "search: context %u is past %d", so->context, SEARCH_CONTEXT_MAX);
		if (!strcmp(msg, want))
			return so->context > SEARCH_CONTEXT_MAX;
		snprintf(want, sizeof(want), "search: offset %zu is too large", so->offset);
		return !strcmp(msg, want) && so->offset > UINT64_MAX / 2;
	}
	if (code != ERR_PARSE)
		return 0;
	for (size_t i = 0; i < sizeof(fixed) / sizeof(*fixed); i++)
		if (!strcmp(msg, fixed[i]))
			return 1;
	/* "query: unknown language 'L'": L a word of the query after "lang:" (as the room
	 * shows it: control bytes made '?', the message cut at ERR_MSG_MAX bytes) */
	if (starts(msg, "query: unknown language '", &p)) {
		size_t n = strlen(p);
		int cut = strlen(msg) == ERR_MSG_MAX, closed = n && p[n - 1] == '\'';
		for (q = text; (q = strstr(q, "lang:")); q += 5) {
			const char *v = q + 5;
			size_t k = 0;
			if (q != text && q[-1] != ' ' && q[-1] != '\t')
				continue;
			while (k < n && v[k] && v[k] != ' ' && v[k] != '\t' && shown(v[k]) == p[k])
				k++;
			if (closed && k == n - 1 && (!v[k] || v[k] == ' ' || v[k] == '\t'))
				return 1;
			if (cut && k == n)
				return 1;
		}
		return 0;
	}
	/* "query: bad WHAT at offset N: PCRE2's message for a compile error" */
	if (!starts(msg, "query: bad ", &p))
		return 0;
	for (size_t i = 0; i < sizeof(what) / sizeof(*what); i++) {
		char *end;
		unsigned long at;
		if (!starts(p, what[i], &q) || !starts(q, " at offset ", &q) || *q < '0' || *q > '9')
			continue;
		/* an offset in the pattern made of the query, no number beyond it */
		errno = 0;
		at = strtoul(q, &end, 10);
		if (errno || at > (unsigned long)QUERY_MAX * 8 + 64 || (*q == '0' && end != q + 1) || !starts(end, ": ", &q))
			return 0;
		return query_compile_error_known(q);
	}
	return 0;
}

/* Does the page hold no more than asked: limit matching lines, context lines around them? */
static int page_as_asked(const struct search_result *r, const struct search_opts *so)
{
	size_t match = 0, ctx = 0;
	for (size_t i = 0; i < search_result_n_files(r); i++)
		for (size_t j = 0; j < search_result_n_lines(r, i); j++)
			if (search_result_line(r, i, j)->context)
				ctx++;
			else
				match++;
	return match <= so->limit && ctx <= match * 2 * (size_t)so->context;
}

int searchd_search(struct searchd *d, const char *text, const struct query_opts *qo,
		   const struct search_opts *so, struct search_result **res)
{
	struct search_opts def;
	struct timespec t0, t1;
	struct buf b;
	struct worker_chan ch;
	unsigned ms;
	int r, failed = 0;
	*res = NULL;
	if (!so) {
		search_opts_default(&def);
		so = &def;
	}
	buf_init(&b, ANSWER_MAX + 16);
	if ((r = searchd_request_encode(text, qo, so, &b)))
		goto done;
	ms = (so->budget_ms ? so->budget_ms : 1000) + SEARCHD_GRACE_MS;
	if ((r = worker_take(d->w, ms, &ch)))
		goto done;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if ((r = worker_exchange(d->w, &ch, b.p, b.len, ANSWER_MAX, ms, &b))) {
		r = err_set(ERR_IO, "search: the release's search worker failed (%s); it is started again for the next search",
			    err_msg());
		failed = 1;
	} else if ((r = searchd_answer_decode(d->ix, b.p, b.len, res)) == ERR_CORRUPT) {
		r = err_set(ERR_IO, "search: the release's search worker answered %s: it was stopped", err_msg());
		failed = 1;
	} else if ((r == ERR_PARSE || r == ERR_USAGE || r == ERR_TOOBIG) && !refusal_known(r, err_msg(), text, so)) {
		r = err_set(ERR_IO, "search: the release's search worker refused the query in words it does not use: "
				    "it was stopped");
		failed = 1;
	} else if (!r && !page_as_asked(*res, so)) {
		search_result_free(*res);
		*res = NULL;
		r = err_set(ERR_IO, "search: the release's search worker answered more lines than the page asked: it was stopped");
		failed = 1;
	} else if (!r) {
		/* the time shown is the room's: a number of the worker's choosing is not shown
		 * uncharged (its totals are bounded by what is shown: render_search_total) */
		clock_gettime(CLOCK_MONOTONIC, &t1);
		search_result_set_ms(*res, (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
	}
	worker_give(d->w, &ch, failed);
done:
	if (b.cap)
		sodium_memzero(b.p, b.cap);
	buf_release(&b);
	return r;
}

pid_t searchd_pid(struct searchd *d)
{
	return worker_pid(d->w);
}

void searchd_kill(struct searchd *d)
{
	if (d)
		worker_kill(d->w);
}

void searchd_free(struct searchd *d)
{
	if (!d)
		return;
	worker_free(d->w);
	free(d);
}
