/*
 * test_printd: the print worker draws a sheet as print.c's pages (fonts embedded, a text
 * layer only when asked), is sandboxed, and is not believed: an answer that is not a PDF
 * fails the print and the worker is replaced.
 */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "le.h"
#include "printd.h"
#include "test.h"
#include "worker.h"
#include "worker_fixture.h"

#define H_READY WORKER_FD_FIRST
#define H_CHAN (WORKER_FD_FIRST + 1)

static const char *hostile_mode;


static void *hostile_serve(void *arg)
{
	int fd = (int)(intptr_t)arg;
	unsigned char h[4];
	static unsigned char req[(size_t)1 << 20];
	while (!h_read(fd, h, 4)) {
		uint32_t n = get32(h);
		if (n > sizeof(req) || h_read(fd, req, n))
			break;
		if (!strcmp(hostile_mode, "text")) { /* the sheet back, as if it were the print */
			unsigned char l[8];
			put32(l, n + 4);
			memcpy(l + 4, "SRP1", 4);
			if (write(fd, l, 8) != 8 || write(fd, req, n) != (ssize_t)n)
				break;
		} else if (!strcmp(hostile_mode, "length")) {
			if (write(fd, "\xff\xff\xff\xff", 4) != 4)
				break;
		}
	}
	_exit(0);
}

__attribute__((constructor(101))) static void hostile_entry(int argc, char **argv)
{
	pthread_t th;
	char c = 1;
	if (argc < 2 || !argv || !argv[1] || strcmp(argv[1], PRINTD_ARG) || !(hostile_mode = getenv("PRINTD_TEST_HOSTILE")))
		return;
	for (int i = 1; i < PRINTD_CHANNELS; i++)
		pthread_create(&th, NULL, hostile_serve, (void *)(intptr_t)(H_CHAN + i));
	if (write(H_READY, &c, 1) != 1)
		_exit(1);
	hostile_serve((void *)(intptr_t)H_CHAN);
}

static struct print_sheet_row rows[70];
static char texts[70][64];

static struct print_sheet sheet(int text_layer)
{
	struct print_sheet s = {"fw", "1.0", "src/a.c", "Rita Reviewer", "lab-1", "00000000000000c1", "FW",
				text_layer, 2, 1, 1900000000, rows, 70};
	for (int i = 0; i < 70; i++) {
		snprintf(texts[i], sizeof(texts[i]), "\tprint_marker_%d(x); /* caf\xc3\xa9 */", i);
		rows[i].line = i ? i + 1 : 1;
		rows[i].text = texts[i];
	}
	return s;
}

TEST(worker_draws_the_sheet)
{
	struct printd *d = printd_new();
	struct print_sheet s = sheet(1);
	struct buf pdf;
	buf_init(&pdf, PRINT_PDF_MAX);
	CHECK(worker_child(PRINTD_ARG) == 0);
	CHECK(printd_draw(d, &s, &pdf) == 0 && pdf.len > 1000 && !memcmp(pdf.p, "%PDF-", 5));
	CHECK(memmem(pdf.p, pdf.len, "/ToUnicode", 10) != NULL); /* a searchable text layer */
	CHECK(memmem(pdf.p, pdf.len, "/FontFile", 9) != NULL);   /* the fonts embedded */
	CHECK(memmem(pdf.p, pdf.len, "/Count 2", 8) != NULL);
	/* outlines only (the header, footer and watermark stay text) */
	s = sheet(0);
	buf_reset(&pdf);
	CHECK(printd_draw(d, &s, &pdf) == 0 && !memcmp(pdf.p, "%PDF-", 5));
	/* sandboxed */
	{
		char path[64], line[256];
		int seccomp = 0, nnp = 0, root = 1;
		FILE *st;
		snprintf(path, sizeof(path), "/proc/%d/status", (int)worker_child(PRINTD_ARG));
		if ((st = fopen(path, "r"))) {
			while (fgets(line, sizeof(line), st)) {
				seccomp |= !strcmp(line, "Seccomp:\t2\n");
				nnp |= !strcmp(line, "NoNewPrivs:\t1\n");
				if (!strncmp(line, "Uid:", 4))
					root = atoi(line + 4) == 0;
			}
			fclose(st);
		}
		CHECK(seccomp && nnp);
		CHECK(!root || geteuid() != 0);
	}
	/* killed between prints: the next has a new worker */
	{
		pid_t p = worker_child(PRINTD_ARG);
		kill(p, SIGKILL);
		usleep(100000);
		buf_reset(&pdf);
		CHECK(printd_draw(d, &s, &pdf) == 0 && worker_child(PRINTD_ARG) != p && worker_child(PRINTD_ARG) > 0);
	}
	printd_kill(d);
	buf_reset(&pdf);
	CHECK(printd_draw(d, &s, &pdf) == ERR_IO && pdf.len == 0);
	printd_free(d);
	buf_release(&pdf);
}

TEST(hostile_worker_is_not_believed)
{
	static const char *const modes[] = {"text", "length"};
	struct print_sheet s = sheet(1);
	struct buf pdf;
	buf_init(&pdf, PRINT_PDF_MAX);
	for (size_t i = 0; i < sizeof(modes) / sizeof(*modes); i++) {
		struct printd *d = printd_new();
		setenv("PRINTD_TEST_HOSTILE", modes[i], 1);
		buf_reset(&pdf);
		CHECK(printd_draw(d, &s, &pdf) == ERR_IO && pdf.len == 0);
		unsetenv("PRINTD_TEST_HOSTILE");
		CHECK(worker_child(PRINTD_ARG) == 0);
		CHECK(printd_draw(d, &s, &pdf) == 0 && !memcmp(pdf.p, "%PDF-", 5));
		printd_free(d);
	}
	buf_release(&pdf);
}

TEST(messages_checked)
{
	struct print_sheet s = sheet(1), t;
	struct print_sheet_row *rw = NULL;
	struct buf b;
	buf_init(&b, 1 << 22);
	CHECK(printd_request_encode(&s, &b) == 0);
	CHECK(printd_request_decode(b.p, b.len, &t, &rw) == 0 && rw && t.n_rows == 70 && t.pages == 2 &&
	      t.first == 1 && t.now == 1900000000 && t.text_layer == 1 && !strcmp(t.product, "fw") &&
	      !strcmp(t.session, "00000000000000c1") && !strcmp(t.rows[69].text, texts[69]) && t.rows[5].line == 6);
	printd_request_free(rw, t.n_rows);
	/* every truncation and a byte more */
	for (size_t k = 0; k < b.len; k += 7) {
		CHECK(printd_request_decode(b.p, k, &t, &rw) == ERR_PARSE && !rw);
	}
	{
		char *more = malloc(b.len + 1);
		memcpy(more, b.p, b.len);
		more[b.len] = 'x';
		CHECK(printd_request_decode(more, b.len + 1, &t, &rw) == ERR_PARSE && !rw);
		free(more);
	}
	/* pages that are not the rows' */
	s.pages = 3;
	CHECK(printd_request_encode(&s, &b) == 0 && printd_request_decode(b.p, b.len, &t, &rw) == ERR_PARSE);
	s.pages = 2;
	/* a NUL in a string */
	CHECK(printd_request_encode(&s, &b) == 0);
	b.p[29 + 2] = 0;
	CHECK(printd_request_decode(b.p, b.len, &t, &rw) == ERR_PARSE);
	buf_release(&b);
}

int main(void)
{
	RUN(messages_checked);
	RUN(worker_draws_the_sheet);
	RUN(hostile_worker_is_not_believed);
	return test_done();
}
