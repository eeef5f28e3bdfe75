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

extern char **environ;

/* The worker's descriptors: its image, its text, its ready pipe, then its channels. */
#define FD_IMAGE 3
#define FD_TEXT 4
#define FD_READY 5
#define FD_CHAN 6

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

/* The worker's refusal of a query: its code and message, made one printable line. */
static int ans_error(int code, const char *msg, struct buf *out)
{
	size_t n = strlen(msg);
	unsigned char h[8];
	if (n > ERR_MSG_MAX)
		n = ERR_MSG_MAX;
	memcpy(h, ANS_MAGIC, 4);
	h[4] = 0;
	h[5] = (unsigned char)(code < 0 ? -code : code);
	h[6] = (unsigned char)n;
	h[7] = (unsigned char)(n >> 8);
	buf_reset(out);
	return buf_add(out, h, 8) || buf_add(out, msg, n) ? ERR_TOOBIG : 0;
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

struct worker {
	const struct index *ix;
	int fd;
};

static void *worker_serve(void *arg)
{
	struct worker *w = arg;
	struct buf in, out;
	char *text = xmalloc(QUERY_MAX + 1);
	buf_init(&in, REQ_LEN + QUERY_MAX + 16);
	buf_init(&out, ANSWER_MAX);
	while (!wire_recv(w->fd, &in, REQ_LEN + QUERY_MAX)) {
		struct query_opts qo;
		struct search_opts so;
		struct query *q = NULL;
		struct search_result *res = NULL;
		int r;
		if ((r = searchd_request_decode(in.p, in.len, text, &qo, &so)) || (r = query_parse(text, &qo, &q)) ||
		    (r = index_search(w->ix, q, &so, &res))) {
			if (ans_error(r, err_msg(), &out))
				break;
		} else {
			unsigned char h[5];
			memcpy(h, ANS_MAGIC, 4);
			h[4] = 1;
			buf_reset(&out);
			if (buf_add(&out, h, 5) || search_result_encode(res, &out))
				(void)!ans_error(ERR_TOOBIG, "search: the result is too large to answer", &out);
		}
		search_result_free(res);
		query_free(q);
		if (wire_send(w->fd, out.p, out.len))
			break;
	}
	/* the room went away: so does the worker */
	_exit(0);
}

static void worker_fail(const char *what)
{
	fprintf(stderr, "sealroom search worker: %s: %s\n", what, err_msg());
	_exit(1);
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
	struct worker w[SEARCHD_CHANNELS];
	pthread_t th[SEARCHD_CHANNELS];
	uint64_t mlen;
	uid_t uid;
	gid_t gid;
	int ll, root, e;
	char ok = 1;

	(void)argc;
	(void)argv;
	/* only the descriptors it was handed */
	(void)close_range(FD_CHAN + SEARCHD_CHANNELS, ~0U, 0);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() == 1)
		_exit(1);
	signal(SIGPIPE, SIG_IGN);
	if (sandbox_memory())
		worker_fail("memory");
	if (fstat(FD_IMAGE, &st) < 0 || st.st_size < 16 ||
	    (img = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, FD_IMAGE, 0)) == MAP_FAILED) {
		err_set(ERR_IO, "cannot map the index handed over");
		worker_fail("start");
	}
	mlen = get64(img + 8);
	if (memcmp(img, IMAGE_MAGIC, 8) || mlen > (uint64_t)st.st_size - 16) {
		err_set(ERR_CORRUPT, "the index handed over is malformed");
		worker_fail("start");
	}
	/* the image stays mapped: the posting lists are read where they are */
	if (manifest_decode(img + 16, (size_t)mlen, &m) ||
	    index_attach(img + 16 + mlen, (size_t)st.st_size - 16 - (size_t)mlen, m, FD_TEXT, 1, &ix))
		worker_fail("start");
	close(FD_IMAGE);
	close(FD_TEXT);
	/* nothing of the host from here on */
	root = geteuid() == 0;
	if (sandbox_no_new_privs() || (root && sandbox_front_user(&uid, &gid)) || sandbox_empty_root_prepare() ||
	    sandbox_landlock(NULL, &ll) || sandbox_empty_root(&root) || (geteuid() == 0 && sandbox_drop_user_caps(uid, gid, 1)))
		worker_fail("sandbox");
	for (int i = 0; i < SEARCHD_CHANNELS; i++) {
		w[i].ix = ix;
		w[i].fd = FD_CHAN + i;
		if (i && (e = pthread_create(&th[i], NULL, worker_serve, &w[i]))) {
			err_set(ERR_IO, "%s", strerror(e));
			worker_fail("threads");
		}
	}
	/* its standard error was the room's, for a failure to start: from here on a taken-over
	 * worker could write the text there, to the room's log, so it is /dev/null as the
	 * others are (spawn) */
	if (dup2(STDOUT_FILENO, STDERR_FILENO) < 0 || sandbox_seccomp_worker())
		_exit(1);
	if (write(FD_READY, &ok, 1) != 1)
		_exit(1);
	close(FD_READY);
	worker_serve(&w[0]);
	_exit(0);
}

/* ---- the room's side ---- */

struct searchd {
	const struct index *ix;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pid_t pid;         /* 0: none running */
	unsigned gen;      /* the worker's generation: a channel of an older one is closed */
	int fd[SEARCHD_CHANNELS];
	char busy[SEARCHD_CHANNELS];
	int n_busy;
	int killed;        /* searchd_kill: no worker again */
	time_t started[SEARCHD_RESTARTS];
};

/*
 * The image a worker attaches: the manifest, then the index's tables, written straight
 * into a memory file (index_share_write), and the text's read-only descriptor.
 */
static int make_image(const struct index *ix, int *img_fd, int *text_fd)
{
	struct buf man;
	size_t total;
	unsigned char *p = MAP_FAILED;
	int r;
	*img_fd = *text_fd = -1;
	buf_init(&man, (size_t)INDEX_MAX);
	if ((r = manifest_encode(index_manifest(ix), &man)) || (r = index_share_text(ix, text_fd)))
		goto out;
	total = 16 + man.len + index_share_len(ix);
	if ((*img_fd = memfd_create("sealroom-search-index", MFD_CLOEXEC)) < 0 || ftruncate(*img_fd, (off_t)total) < 0 ||
	    (p = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_SHARED, *img_fd, 0)) == MAP_FAILED) {
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
		if (*img_fd >= 0)
			close(*img_fd);
		if (*text_fd >= 0)
			close(*text_fd);
		*img_fd = *text_fd = -1;
	}
	return r;
}

/* Wait for the worker's ready byte. */
static int wait_ready(int fd, pid_t pid)
{
	struct pollfd p = {fd, POLLIN, 0};
	char c;
	int n;
	do
		n = poll(&p, 1, START_TIMEOUT_MS);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return err_set(ERR_IO, "search worker: did not start within %d s", START_TIMEOUT_MS / 1000);
	if (read(fd, &c, 1) != 1)
		return err_set(ERR_IO, "search worker: exited as it started (process %d)", (int)pid);
	return 0;
}

/*
 * Move *fd above the worker's own numbers (FD_IMAGE .. FD_CHAN + SEARCHD_CHANNELS - 1):
 * posix_spawn's dup2s run in order, and a descriptor handed over whose number is one an
 * earlier dup2 made would be that one instead (the image as the text, a channel twice).
 */
static int above_worker_fds(int *fd)
{
	int n;
	if (*fd >= FD_CHAN + SEARCHD_CHANNELS)
		return 0;
	if ((n = fcntl(*fd, F_DUPFD_CLOEXEC, FD_CHAN + SEARCHD_CHANNELS)) < 0)
		return err_set(ERR_IO, "search worker: %s", strerror(errno));
	close(*fd);
	*fd = n;
	return 0;
}

/* Start a worker (d->mu held, none running). */
static int spawn(struct searchd *d)
{
	int img = -1, text = -1, ready[2] = {-1, -1}, sp[SEARCHD_CHANNELS][2], r;
	posix_spawn_file_actions_t fa;
	char *argv[] = {"sealroom", SEARCHD_ARG, NULL};
	time_t now = time(NULL);
	pid_t pid;
	int k = 0;
	for (int i = 0; i < SEARCHD_RESTARTS; i++)
		k += d->started[i] && now - d->started[i] < 60;
	if (k >= SEARCHD_RESTARTS)
		return err_set(ERR_IO, "search worker: started %d times in a minute: not again before the minute is out",
			       SEARCHD_RESTARTS);
	for (int i = 0; i < SEARCHD_CHANNELS; i++)
		sp[i][0] = sp[i][1] = -1;
	if ((r = make_image(d->ix, &img, &text)))
		return r;
	if (pipe2(ready, O_CLOEXEC) < 0) {
		r = err_set(ERR_IO, "search worker: %s", strerror(errno));
		goto out;
	}
	for (int i = 0; i < SEARCHD_CHANNELS; i++)
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp[i]) < 0) {
			r = err_set(ERR_IO, "search worker: %s", strerror(errno));
			goto out;
		}
	if ((r = above_worker_fds(&img)) || (r = above_worker_fds(&text)) || (r = above_worker_fds(&ready[1])))
		goto out;
	for (int i = 0; i < SEARCHD_CHANNELS; i++)
		if ((r = above_worker_fds(&sp[i][1])))
			goto out;
	posix_spawn_file_actions_init(&fa);
	/* nothing of the room's on its standard input and output (its standard error, until
	 * its sandbox is up: searchd_exec) */
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, img, FD_IMAGE);
	posix_spawn_file_actions_adddup2(&fa, text, FD_TEXT);
	posix_spawn_file_actions_adddup2(&fa, ready[1], FD_READY);
	for (int i = 0; i < SEARCHD_CHANNELS; i++)
		posix_spawn_file_actions_adddup2(&fa, sp[i][1], FD_CHAN + i);
	r = posix_spawn(&pid, "/proc/self/exe", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r) {
		r = err_set(ERR_IO, "search worker: cannot start: %s", strerror(r));
		goto out;
	}
	memmove(d->started + 1, d->started, (SEARCHD_RESTARTS - 1) * sizeof(*d->started));
	d->started[0] = now;
	close(ready[1]);
	ready[1] = -1;
	close(img);
	img = -1;
	close(text);
	text = -1;
	if ((r = wait_ready(ready[0], pid))) {
		kill(pid, SIGKILL);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		goto out;
	}
	d->pid = pid;
	d->gen++;
	for (int i = 0; i < SEARCHD_CHANNELS; i++) {
		d->fd[i] = sp[i][0];
		d->busy[i] = 0;
		sp[i][0] = -1;
	}
out:
	for (int i = 0; i < SEARCHD_CHANNELS; i++) {
		if (sp[i][0] >= 0)
			close(sp[i][0]);
		if (sp[i][1] >= 0)
			close(sp[i][1]);
	}
	if (ready[0] >= 0)
		close(ready[0]);
	if (ready[1] >= 0)
		close(ready[1]);
	if (img >= 0)
		close(img);
	if (text >= 0)
		close(text);
	return r;
}

/* Kill the running worker (d->mu held): its channels close once the searches on them end. */
static void stop_worker(struct searchd *d)
{
	if (d->pid) {
		kill(d->pid, SIGKILL);
		while (waitpid(d->pid, NULL, 0) < 0 && errno == EINTR)
			;
	} else if (d->fd[0] < 0) {
		return; /* none was running */
	}
	d->pid = 0;
	for (int i = 0; i < SEARCHD_CHANNELS; i++) {
		if (!d->busy[i])
			close(d->fd[i]);
		d->fd[i] = -1;
	}
	d->gen++;
	pthread_cond_broadcast(&d->cv);
}

int searchd_start(const struct index *ix, struct searchd **out)
{
	struct searchd *d = xcalloc(1, sizeof(*d));
	pthread_condattr_t ca;
	int r;
	*out = NULL;
	d->ix = ix;
	pthread_mutex_init(&d->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&d->cv, &ca);
	pthread_condattr_destroy(&ca);
	for (int i = 0; i < SEARCHD_CHANNELS; i++)
		d->fd[i] = -1;
	pthread_mutex_lock(&d->mu);
	r = spawn(d);
	pthread_mutex_unlock(&d->mu);
	if (r) {
		searchd_free(d);
		return r;
	}
	*out = d;
	return 0;
}

/* The CLOCK_MONOTONIC time ms milliseconds from now. */
static void deadline_in(unsigned ms, struct timespec *t)
{
	clock_gettime(CLOCK_MONOTONIC, t);
	t->tv_sec += ms / 1000;
	t->tv_nsec += (long)(ms % 1000) * 1000000;
	if (t->tv_nsec >= 1000000000) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000;
	}
}

/* Milliseconds left until deadline (CLOCK_MONOTONIC), 0 when it is past. */
static int ms_left(const struct timespec *deadline)
{
	struct timespec now;
	int64_t ms;
	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (int64_t)(deadline->tv_sec - now.tv_sec) * 1000 + (deadline->tv_nsec - now.tv_nsec) / 1000000;
	return ms <= 0 ? 0 : ms > INT32_MAX ? INT32_MAX : (int)ms;
}

/*
 * A free channel of a running worker (started again when none runs): its fd, or < 0. It
 * waits for one at most ms milliseconds, so that a request's time stays bounded however
 * many searches are queued behind a worker that hangs (ERR_BUSY).
 */
static int take(struct searchd *d, int *slot, unsigned *gen, unsigned ms)
{
	struct timespec deadline;
	pid_t w;
	int r = 0;
	deadline_in(ms, &deadline);
	pthread_mutex_lock(&d->mu);
	for (;;) {
		if (d->killed) {
			r = err_set(ERR_IO, "search worker: the release was closed");
			break;
		}
		/* one that died between searches (its own crash, a kill) is replaced before this
		 * search rather than failing it */
		if (d->pid && ((w = waitpid(d->pid, NULL, WNOHANG)) == d->pid || (w < 0 && errno == ECHILD))) {
			d->pid = 0; /* reaped: stop_worker must not wait for it or signal its number */
			stop_worker(d);
		}
		if (!d->pid && (r = spawn(d)))
			break;
		for (int i = 0; i < SEARCHD_CHANNELS; i++)
			if (!d->busy[i]) {
				d->busy[i] = 1;
				d->n_busy++;
				*slot = i;
				*gen = d->gen;
				r = d->fd[i];
				goto out;
			}
		if (pthread_cond_timedwait(&d->cv, &d->mu, &deadline) == ETIMEDOUT) {
			r = err_set(ERR_BUSY, "search worker: its %d channels stayed busy for %u ms: try again",
				    SEARCHD_CHANNELS, ms);
			break;
		}
	}
	r = r ? r : ERR_IO;
out:
	pthread_mutex_unlock(&d->mu);
	return r;
}

/* Give the channel back; with failed, the worker is killed first (its answer was wrong,
 * late or missing). */
static void give(struct searchd *d, int slot, int fd, unsigned gen, int failed)
{
	pthread_mutex_lock(&d->mu);
	if (failed && gen == d->gen)
		stop_worker(d);
	if (gen != d->gen)
		close(fd); /* a worker's that is gone */
	else
		d->busy[slot] = 0;
	d->n_busy--;
	pthread_cond_broadcast(&d->cv);
	pthread_mutex_unlock(&d->mu);
}

/* len bytes from fd before the deadline: a worker that trickles its answer a byte at a time
 * is as late as one that sends nothing. */
static int read_by(int fd, void *p, size_t len, const struct timespec *deadline, unsigned ms)
{
	size_t off = 0;
	while (off < len) {
		struct pollfd pf = {fd, POLLIN, 0};
		int left = ms_left(deadline), n;
		ssize_t k;
		if (!left || !(n = poll(&pf, 1, left)))
			return err_set(ERR_IO, "search worker: no answer within %u ms: it was stopped", ms);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_set(ERR_IO, "search worker: %s", strerror(errno));
		k = read(fd, (char *)p + off, len - off);
		if (k < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (k <= 0)
			return err_set(ERR_IO, "search worker: the worker is gone (%s)", k < 0 ? strerror(errno) : "closed");
		off += (size_t)k;
	}
	return 0;
}

/* The worker's whole answer (wire.h framing) within ms milliseconds. */
static int recv_answer(int fd, struct buf *in, unsigned ms)
{
	struct timespec deadline;
	unsigned char h[4];
	size_t len = 0;
	int r;
	deadline_in(ms, &deadline);
	buf_reset(in);
	if ((r = read_by(fd, h, 4, &deadline, ms)))
		return r;
	for (int i = 0; i < 4; i++)
		len |= (size_t)h[i] << (8 * i);
	if (len > ANSWER_MAX)
		return err_set(ERR_TOOBIG, "search worker: an answer of %zu bytes is larger than %zu", len, ANSWER_MAX);
	if ((r = buf_grow(in, len + 1)) || (r = read_by(fd, in->p, len, &deadline, ms)))
		return r;
	in->len = len;
	in->p[len] = 0;
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
	unsigned gen = 0, ms;
	int slot = 0, fd, r, failed = 0;
	*res = NULL;
	if (!so) {
		search_opts_default(&def);
		so = &def;
	}
	buf_init(&b, ANSWER_MAX + 16);
	if ((r = searchd_request_encode(text, qo, so, &b)))
		goto done;
	ms = (so->budget_ms ? so->budget_ms : 1000) + SEARCHD_GRACE_MS;
	if ((fd = take(d, &slot, &gen, ms)) < 0) {
		r = fd;
		goto done;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if ((r = wire_send(fd, b.p, b.len)) || (r = recv_answer(fd, &b, ms))) {
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
	give(d, slot, fd, gen, failed);
done:
	if (b.cap)
		sodium_memzero(b.p, b.cap);
	buf_release(&b);
	return r;
}

pid_t searchd_pid(struct searchd *d)
{
	pid_t p;
	pthread_mutex_lock(&d->mu);
	p = d->pid;
	pthread_mutex_unlock(&d->mu);
	return p;
}

void searchd_kill(struct searchd *d)
{
	if (!d)
		return;
	pthread_mutex_lock(&d->mu);
	d->killed = 1;
	stop_worker(d);
	pthread_mutex_unlock(&d->mu);
}

void searchd_free(struct searchd *d)
{
	if (!d)
		return;
	searchd_kill(d);
	pthread_mutex_lock(&d->mu);
	while (d->n_busy)
		pthread_cond_wait(&d->cv, &d->mu);
	pthread_mutex_unlock(&d->mu);
	pthread_mutex_destroy(&d->mu);
	pthread_cond_destroy(&d->cv);
	free(d);
}
