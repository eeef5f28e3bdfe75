/*
 * hostile_highlightd.h: a taken-over highlight worker, for the tests that must not believe
 * one. A test binary is the worker's image too (/proc/self/exe): highlightd.c's constructor
 * makes it an honest worker, unless HIGHLIGHTD_TEST_HOSTILE names one of these to be
 * instead (this constructor runs first):
 *   hang     reads each request, then never answers
 *   deaf     never reads a request (the room's write must not wait for it)
 *   slow     answers no span after HIGHLIGHTD_TEST_SLOW_MS (a time it is allowed)
 *   overlap, past, class   one answer that does not hold (overlapping spans, a span past
 *            the file, a class the room does not know)
 *   huge     announces 4 GiB
 *   text     the file's own bytes back
 *   random   spans in order, apart and inside the file, each of a known class, cut at
 *            random bytes: for half of the requests anywhere (inside characters too), for
 *            the others only before bytes that are not UTF-8 continuation bytes
 */
#ifndef SEALROOM_HOSTILE_HIGHLIGHTD_H
#define SEALROOM_HOSTILE_HIGHLIGHTD_H

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "highlight.h"
#include "highlightd.h"
#include "le.h"
#include "worker.h"
#include "worker_fixture.h"

#define H_READY WORKER_FD_FIRST
#define H_CHAN (WORKER_FD_FIRST + 1)

static const char *hostile_mode;


/* An answer of spans (start, end, class) in wire.h's framing. */
static int h_spans(int fd, const uint32_t (*sp)[3], uint32_t n)
{
	unsigned char *m = malloc(12 + 10 * (size_t)n);
	int r;
	put32(m, 8 + 10 * n);
	memcpy(m + 4, "SRH1", 4);
	put32(m + 8, n);
	for (uint32_t i = 0; i < n; i++) {
		put32(m + 12 + 10 * i, sp[i][0]);
		put32(m + 16 + 10 * i, sp[i][1]);
		m[20 + 10 * i] = (unsigned char)sp[i][2];
		m[21 + 10 * i] = (unsigned char)(sp[i][2] >> 8);
	}
	r = h_write(fd, m, 12 + 10 * (size_t)n);
	free(m);
	return r;
}

/* Random spans over the file (len bytes at src), seeded by the file itself. */
static int h_random(int fd, const unsigned char *src, uint32_t len)
{
	uint32_t (*sp)[3], n = 0, at = 0, seed = 2166136261u;
	int r, chars;
	for (uint32_t i = 0; i < len; i++)
		seed = (seed ^ src[i]) * 16777619u;
	chars = (seed >> 7) & 1;
	sp = calloc(len ? len : 1, sizeof(*sp));
	while (at < len) {
		uint32_t a = at + (uint32_t)(rand_r(&seed) % 9), b = a + 1 + (uint32_t)(rand_r(&seed) % 12);
		if (a >= len)
			break;
		b = b > len ? len : b;
		/* only between characters: never before a continuation byte */
		while (chars && a < len && (src[a] & 0xc0) == 0x80)
			a++;
		while (chars && b < len && (src[b] & 0xc0) == 0x80)
			b++;
		if (a >= b)
			break;
		sp[n][0] = a;
		sp[n][1] = b;
		sp[n][2] = 1 + (uint32_t)rand_r(&seed) % (uint32_t)(hl_n_classes() - 1);
		n++;
		at = b;
	}
	r = h_spans(fd, (const uint32_t (*)[3])sp, n);
	free(sp);
	return r;
}

static void *hostile_serve(void *arg)
{
	int fd = (int)(intptr_t)arg;
	unsigned char h[4];
	unsigned char *req = malloc((size_t)2 << 20);
	if (!strcmp(hostile_mode, "deaf"))
		for (;;)
			pause();
	while (!h_read(fd, h, 4)) {
		uint32_t n = get32(h);
		if (n > ((size_t)2 << 20) || h_read(fd, req, n))
			break;
		if (!strcmp(hostile_mode, "hang")) {
			pause();
		} else if (!strcmp(hostile_mode, "slow")) {
			const char *ms = getenv("HIGHLIGHTD_TEST_SLOW_MS");
			struct timespec t = {0, 0};
			long k = ms ? atol(ms) : 500;
			t.tv_sec = k / 1000;
			t.tv_nsec = (k % 1000) * 1000000L;
			nanosleep(&t, NULL);
			if (h_spans(fd, NULL, 0))
				break;
		} else if (!strcmp(hostile_mode, "overlap")) {
			const uint32_t sp[2][3] = {{0, 5, 1}, {3, 8, 2}};
			if (h_spans(fd, sp, 2))
				break;
		} else if (!strcmp(hostile_mode, "past")) {
			/* a span past the end of the file it was given */
			const uint32_t sp[1][3] = {{0, get32(req + 9) + 1, 1}};
			if (h_spans(fd, sp, 1))
				break;
		} else if (!strcmp(hostile_mode, "class")) {
			const uint32_t sp[1][3] = {{0, 1, 60000}};
			if (h_spans(fd, sp, 1))
				break;
		} else if (!strcmp(hostile_mode, "huge")) {
			if (h_write(fd, "\xff\xff\xff\xff", 4))
				break;
		} else if (!strcmp(hostile_mode, "text")) {
			/* the file's own bytes back: not spans */
			unsigned char l[4];
			put32(l, n);
			if (h_write(fd, l, 4) || h_write(fd, req, n))
				break;
		} else if (!strcmp(hostile_mode, "random")) {
			if (n < 13 || h_random(fd, req + 13, n - 13))
				break;
		}
	}
	_exit(0);
}

__attribute__((constructor(101))) static void hostile_entry(int argc, char **argv)
{
	pthread_t th;
	char c = 1;
	if (argc < 2 || !argv || !argv[1] || strcmp(argv[1], HIGHLIGHTD_ARG) ||
	    !(hostile_mode = getenv("HIGHLIGHTD_TEST_HOSTILE")))
		return;
	for (int i = 1; i < HIGHLIGHTD_CHANNELS; i++)
		pthread_create(&th, NULL, hostile_serve, (void *)(intptr_t)(H_CHAN + i));
	if (write(H_READY, &c, 1) != 1)
		_exit(1);
	hostile_serve((void *)(intptr_t)H_CHAN);
}

#endif
