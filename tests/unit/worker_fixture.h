/*
 * worker_fixture.h: what the tests of the workers (worker.h) share: whole reads and writes
 * for the hostile workers they play, and the process id of a worker as the room's children
 * show it (the tests look at /proc, as an operator would; the room has no use for it).
 */
#ifndef SEALROOM_WORKER_FIXTURE_H
#define SEALROOM_WORKER_FIXTURE_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

/* n bytes from fd, 0; -1 when it closes first. */
static inline int h_read(int fd, void *p, size_t n)
{
	for (size_t off = 0; off < n;) {
		ssize_t k = read(fd, (char *)p + off, n - off);
		if (k <= 0)
			return -1;
		off += (size_t)k;
	}
	return 0;
}

/* n bytes to fd, 0; -1 when it fails. */
static inline int h_write(int fd, const void *p, size_t n)
{
	for (size_t off = 0; off < n;) {
		ssize_t k = write(fd, (const char *)p + off, n - off);
		if (k <= 0)
			return -1;
		off += (size_t)k;
	}
	return 0;
}

/*
 * The live child of this process run with argv[1] arg (a worker's argument), the newest
 * when several are (a killed one that is not yet reaped has no command line): its pid, or
 * 0 when there is none.
 */
static inline pid_t worker_child(const char *arg)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	pid_t best = 0;
	unsigned long long best_start = 0;
	while (d && (de = readdir(d))) {
		char path[300], buf[1024];
		FILE *f;
		size_t k;
		int pid, ppid = 0, ok = 0;
		unsigned long long start = 0;
		if ((pid = atoi(de->d_name)) <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/stat", pid);
		if ((f = fopen(path, "r"))) {
			if (fgets(buf, sizeof(buf), f) && strrchr(buf, ')')) {
				/* after "(comm)": state ppid ... field 22 is the start time */
				const char *p = strrchr(buf, ')') + 2;
				ppid = atoi(p + 2);
				for (int i = 0; i < 19 && p; i++)
					p = strchr(p + 1, ' ');
				if (p)
					start = strtoull(p + 1, NULL, 10);
			}
			fclose(f);
		}
		if (ppid != getpid())
			continue;
		snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
		if ((f = fopen(path, "r"))) {
			k = fread(buf, 1, sizeof(buf) - 1, f);
			buf[k] = 0;
			ok = k > strlen(buf) + 1 && !strcmp(buf + strlen(buf) + 1, arg);
			fclose(f);
		}
		if (ok && (!best || start >= best_start)) {
			best = pid;
			best_start = start;
		}
	}
	if (d)
		closedir(d);
	return best;
}

#endif
