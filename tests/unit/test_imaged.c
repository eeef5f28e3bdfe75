/*
 * test_imaged: the image worker decodes as the decoders do in process, is sandboxed, and is
 * not believed: sizes that do not hold, refusals in words of its own, a hang or a crash
 * leave the image not shown and the worker replaced.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "image.h"
#include "imaged.h"
#include "le.h"
#include "test.h"
#include "worker.h"
#include "worker_fixture.h"

/* this binary is the worker's image too: imaged.c's constructor makes it one, unless
 * IMAGED_TEST_HOSTILE names a hostile worker to be instead (below) */

#define H_READY WORKER_FD_FIRST
#define H_CHAN (WORKER_FD_FIRST + 1)

static const char *hostile_mode;


/* An answer of w0 x h0 shown as w x h, with pixels bytes of pixels. */
static int h_image(int fd, uint32_t w0, uint32_t h0, uint32_t w, uint32_t h, size_t pixels)
{
	unsigned char m[4 + 21];
	unsigned char *px = calloc(1, pixels + 1);
	int r;
	put32(m, (uint32_t)(21 + pixels));
	memcpy(m + 4, "SRI1\x01", 5);
	put32(m + 9, w0);
	put32(m + 13, h0);
	put32(m + 17, w);
	put32(m + 21, h);
	r = h_write(fd, m, sizeof(m)) || h_write(fd, px, pixels);
	free(px);
	return r;
}

static int h_refuse(int fd, int code, const char *msg)
{
	unsigned char m[12 + 300];
	size_t n = strlen(msg);
	put32(m, (uint32_t)(8 + n));
	memcpy(m + 4, "SRI1", 4);
	m[8] = 0;
	m[9] = (unsigned char)code;
	m[10] = (unsigned char)n;
	m[11] = (unsigned char)(n >> 8);
	memcpy(m + 12, msg, n);
	return h_write(fd, m, 12 + n);
}

static void *hostile_serve(void *arg)
{
	int fd = (int)(intptr_t)arg;
	unsigned char h[4];
	static unsigned char req[(size_t)1 << 20];
	while (!h_read(fd, h, 4)) {
		uint32_t n = get32(h);
		if (n > sizeof(req) || h_read(fd, req, n))
			break;
		if (!strcmp(hostile_mode, "hang"))
			pause();
		else if (!strcmp(hostile_mode, "scaled")) /* shown larger than fitting makes it */
			h_image(fd, 2000, 10, 2000, 10, (size_t)2000 * 10 * 3);
		else if (!strcmp(hostile_mode, "short")) /* fewer pixels than its size */
			h_image(fd, 8, 8, 8, 8, 100);
		else if (!strcmp(hostile_mode, "huge")) /* past the decoders' limits */
			h_image(fd, 100000, 1, 1280, 1, 1280 * 3);
		else if (!strcmp(hostile_mode, "words")) /* the file's bytes as a refusal */
			h_refuse(fd, 2, "image: the vendor's secret line");
		else if (!strcmp(hostile_mode, "length"))
			h_write(fd, "\xff\xff\xff\xff", 4);
	}
	_exit(0);
}

__attribute__((constructor(101))) static void hostile_entry(int argc, char **argv)
{
	pthread_t th;
	char c = 1;
	if (argc < 2 || !argv || !argv[1] || strcmp(argv[1], IMAGED_ARG) || !(hostile_mode = getenv("IMAGED_TEST_HOSTILE")))
		return;
	for (int i = 1; i < IMAGED_CHANNELS; i++)
		pthread_create(&th, NULL, hostile_serve, (void *)(intptr_t)(H_CHAN + i));
	if (write(H_READY, &c, 1) != 1)
		_exit(1);
	hostile_serve((void *)(intptr_t)H_CHAN);
}

/* The in-process decode and fit of (p, len), as the room did it before the worker. */
static int in_process(const void *p, size_t len, int side, unsigned char **rgb, int *w0, int *h0, int *w, int *h)
{
	int r = image_decode_rgb(p, len, rgb, w0, h0);
	if (r)
		return r;
	*w = *w0;
	*h = *h0;
	return image_fit_rgb(*rgb, w, h, side);
}

/* The worker's answer for (p, len) is the in-process one: pixels, sizes, or the same refusal. */
static int same_as_in_process(struct imaged *d, const void *p, size_t len, int side)
{
	unsigned char *a = NULL, *b = NULL;
	int aw0, ah0, aw, ah, bw0, bh0, bw, bh, ra, rb, ok;
	char ma[256];
	ra = in_process(p, len, side, &a, &aw0, &ah0, &aw, &ah);
	snprintf(ma, sizeof(ma), "%s", err_msg());
	rb = imaged_decode(d, p, len, side, &b, &bw0, &bh0, &bw, &bh);
	if (ra || rb)
		ok = ra == rb && (ra == ERR_TOOBIG || !strcmp(ma, err_msg())) && !b;
	else
		ok = aw0 == bw0 && ah0 == bh0 && aw == bw && ah == bh && !memcmp(a, b, (size_t)aw * ah * 3);
	if (!ok)
		fprintf(stderr, "  %zu bytes: in process %d (%s), worker %d (%s)\n", len, ra, ma, rb, err_msg());
	free(a);
	free(b);
	return ok;
}

static unsigned char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *p = NULL;
	long n;
	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (p = malloc((size_t)n + 1)) && fread(p, 1, (size_t)n, f) != (size_t)n) {
		free(p);
		p = NULL;
	}
	*len = p ? (size_t)n : 0;
	fclose(f);
	return p;
}

TEST(worker_decodes_as_in_process)
{
	static const char *const corpora[] = {"fuzz/corpus/fuzz_image", "fuzz/corpus/fuzz_gif", "fuzz/corpus/fuzz_webp"};
	struct imaged *d = imaged_new();
	unsigned seed = 4242;
	int files = 0, bad = 0;
	CHECK(worker_child(IMAGED_ARG) == 0); /* none until an image needs it */
	/* the decoders' own test images, damaged ones included */
	for (size_t c = 0; c < sizeof(corpora) / sizeof(*corpora); c++) {
		DIR *dir = opendir(corpora[c]);
		struct dirent *de;
		CHECK(dir != NULL);
		while (dir && (de = readdir(dir))) {
			char path[512];
			size_t len;
			unsigned char *p;
			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", corpora[c], de->d_name);
			if (!(p = slurp(path, &len)))
				continue;
			files++;
			bad += !same_as_in_process(d, p, len, 1280);
			bad += !same_as_in_process(d, p, len, 7);
			/* cut short, as a damaged file is */
			if (len > 20)
				bad += !same_as_in_process(d, p, len / 2, 1280);
			free(p);
		}
		if (dir)
			closedir(dir);
	}
	CHECK(files >= 20);
	/* generated JPEGs of many sizes, some scaled down */
	for (int k = 0; k < 40; k++) {
		int w = 1 + (int)(rand_r(&seed) % 300), h = 1 + (int)(rand_r(&seed) % 300);
		unsigned char *rgb = malloc((size_t)w * h * 3);
		struct buf j;
		buf_init(&j, 16 << 20);
		for (size_t i = 0; i < (size_t)w * h * 3; i++)
			rgb[i] = (unsigned char)rand_r(&seed);
		CHECK(image_encode_jpeg(rgb, w, h, 80, &j) == 0);
		bad += !same_as_in_process(d, j.p, j.len, 1 + (int)(rand_r(&seed) % 400));
		free(rgb);
		buf_release(&j);
	}
	CHECK(bad == 0);
	CHECK(worker_child(IMAGED_ARG) > 0);
	imaged_free(d);
}

TEST(worker_is_sandboxed_and_replaced)
{
	struct imaged *d = imaged_new();
	unsigned char rgb[16 * 16 * 3] = {0}, *px = NULL;
	struct buf j;
	char path[64], line[256], link[256];
	int seccomp = 0, nnp = 0, root = 1, w0, h0, w, h;
	struct timespec t0, t1;
	FILE *st;
	pid_t p, p2;
	buf_init(&j, 1 << 20);
	CHECK(image_encode_jpeg(rgb, 16, 16, 80, &j) == 0);
	CHECK(imaged_decode(d, j.p, j.len, 1280, &px, &w0, &h0, &w, &h) == 0 && w == 16 && h == 16);
	free(px);
	p = worker_child(IMAGED_ARG);
	CHECK(p > 0);
	snprintf(path, sizeof(path), "/proc/%d/status", (int)p);
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
	for (int fd = 0; fd < 64; fd++) {
		ssize_t k;
		snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)p, fd);
		if ((k = readlink(path, link, sizeof(link) - 1)) < 0)
			continue;
		link[k] = 0;
		if (strcmp(link, "/dev/null") && strncmp(link, "socket:", 7) && strncmp(link, "pipe:", 5)) {
			fprintf(stderr, "  the image worker holds %s\n", link);
			CHECK(0);
		}
	}
	/* killed between images: the next has a new worker */
	kill(p, SIGKILL);
	usleep(100000);
	CHECK(imaged_decode(d, j.p, j.len, 1280, &px, &w0, &h0, &w, &h) == 0);
	free(px);
	p2 = worker_child(IMAGED_ARG);
	CHECK(p2 > 0 && p2 != p);
	/* hung: the image fails after the timeout, the worker is killed, the next one decodes */
	kill(p2, SIGSTOP);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK(imaged_decode(d, j.p, j.len, 1280, &px, &w0, &h0, &w, &h) == ERR_IO && !px);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	CHECK(t1.tv_sec - t0.tv_sec >= IMAGED_TIMEOUT_MS / 1000 - 1 && t1.tv_sec - t0.tv_sec <= IMAGED_TIMEOUT_MS / 1000 + 2);
	CHECK(kill(p2, 0) < 0 && errno == ESRCH);
	CHECK(imaged_decode(d, j.p, j.len, 1280, &px, &w0, &h0, &w, &h) == 0);
	free(px);
	/* a release closed: no worker again */
	imaged_kill(d);
	CHECK(imaged_decode(d, j.p, j.len, 1280, &px, &w0, &h0, &w, &h) == ERR_IO && worker_child(IMAGED_ARG) == 0);
	imaged_free(d);
	buf_release(&j);
}

TEST(hostile_worker_is_not_believed)
{
	static const char *const modes[] = {"scaled", "short", "huge", "words", "length"};
	unsigned char rgb[16 * 16 * 3] = {0}, *px = NULL;
	struct buf j;
	int w0, h0, w, h;
	buf_init(&j, 1 << 20);
	CHECK(image_encode_jpeg(rgb, 16, 16, 80, &j) == 0);
	for (size_t i = 0; i < sizeof(modes) / sizeof(*modes); i++) {
		struct imaged *d = imaged_new();
		setenv("IMAGED_TEST_HOSTILE", modes[i], 1);
		CHECK(imaged_decode(d, j.p, j.len, 1280, &px, &w0, &h0, &w, &h) == ERR_IO && !px);
		CHECK(!strstr(err_msg(), "secret line"));
		unsetenv("IMAGED_TEST_HOSTILE");
		CHECK(worker_child(IMAGED_ARG) == 0); /* killed */
		CHECK(imaged_decode(d, j.p, j.len, 1280, &px, &w0, &h0, &w, &h) == 0 && w == 16);
		free(px);
		px = NULL;
		imaged_free(d);
	}
	buf_release(&j);
}

TEST(messages_checked)
{
	unsigned char m[64], *px = NULL;
	const unsigned char *p;
	struct buf b;
	size_t n;
	int side, w0, h0, w, h;
	buf_init(&b, 1 << 20);
	CHECK(imaged_request_encode("abc", 3, 100, &b) == 0);
	CHECK(imaged_request_decode(b.p, b.len, &p, &n, &side) == 0 && n == 3 && side == 100 && !memcmp(p, "abc", 3));
	for (size_t k = 0; k < b.len; k++)
		CHECK(imaged_request_decode(b.p, k, &p, &n, &side) == ERR_PARSE);
	CHECK(imaged_request_encode("abc", 3, 0, &b) == ERR_USAGE);
	CHECK(imaged_request_encode("abc", 3, IMAGED_SIDE_MAX + 1, &b) == ERR_USAGE);
	/* a 2 x 1 image: sizes, then exactly its pixels */
	memcpy(m, "SRI1\x01", 5);
	put32(m + 5, 2);
	put32(m + 9, 1);
	put32(m + 13, 2);
	put32(m + 17, 1);
	memset(m + 21, 7, 6);
	CHECK(imaged_answer_decode(m, 27, 100, &px, &w0, &h0, &w, &h) == 0 && px && w == 2 && h == 1 && px[5] == 7);
	free(px);
	for (size_t k = 0; k < 27; k++)
		CHECK(imaged_answer_decode(m, k, 100, &px, &w0, &h0, &w, &h) == ERR_CORRUPT && !px);
	CHECK(imaged_answer_decode(m, 28, 100, &px, &w0, &h0, &w, &h) == ERR_CORRUPT);
	/* scaled for side 1: 2 x 1 becomes 1 x 1, not 2 x 1 */
	CHECK(imaged_answer_decode(m, 27, 1, &px, &w0, &h0, &w, &h) == ERR_CORRUPT);
	/* refusals: the decoders' words only; pixel counts are not the worker's to say */
	{
		const char *ok = "image: damaged PNG file", *big = "image: 99999x3 pixels is too large (limit 16384 per side, 40000000 in all)";
		unsigned char r[8 + 200];
		memcpy(r, "SRI1\x00\x02", 6);
		r[6] = (unsigned char)strlen(ok);
		r[7] = 0;
		memcpy(r + 8, ok, strlen(ok));
		CHECK(imaged_answer_decode(r, 8 + strlen(ok), 100, &px, &w0, &h0, &w, &h) == ERR_PARSE &&
		      !strcmp(err_msg(), ok));
		r[5] = 3; /* too big, in words for a damaged file */
		CHECK(imaged_answer_decode(r, 8 + strlen(ok), 100, &px, &w0, &h0, &w, &h) == ERR_CORRUPT);
		r[6] = (unsigned char)strlen(big);
		memcpy(r + 8, big, strlen(big));
		CHECK(imaged_answer_decode(r, 8 + strlen(big), 100, &px, &w0, &h0, &w, &h) == ERR_TOOBIG &&
		      !strstr(err_msg(), "99999"));
		memcpy(r + 8, "image: damaged PNG filX", 23);
		r[5] = 2;
		r[6] = 23;
		CHECK(imaged_answer_decode(r, 8 + 23, 100, &px, &w0, &h0, &w, &h) == ERR_CORRUPT);
	}
	buf_release(&b);
}

int main(void)
{
	RUN(messages_checked);
	RUN(worker_decodes_as_in_process);
	RUN(worker_is_sandboxed_and_replaced);
	RUN(hostile_worker_is_not_believed);
	return test_done();
}
