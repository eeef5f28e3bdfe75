/* worker: a sandboxed worker process and the room's channels to it; see worker.h. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "sandbox.h"
#include "wire.h"
#include "worker.h"

extern char **environ;

struct worker {
	struct worker_spec spec;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pid_t pid;     /* 0: none running */
	unsigned gen;  /* the worker's generation: a channel of an older one is closed */
	int fd[WORKER_CHANNELS_MAX];
	char busy[WORKER_CHANNELS_MAX];
	int n_busy;
	int killed;    /* worker_kill: no worker again */
	time_t started[WORKER_RESTARTS];
};

/* ---- the worker's side ---- */

void worker_fail(const char *name, const char *what)
{
	fprintf(stderr, "sealroom %s: %s: %s\n", name, what, err_msg());
	_exit(1);
}

void worker_begin(const char *name, unsigned n_fds, unsigned channels)
{
	/* only the descriptors it was handed */
	(void)close_range(WORKER_FD_FIRST + n_fds + 1 + channels, ~0U, 0);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() == 1)
		_exit(1);
	signal(SIGPIPE, SIG_IGN);
	if (sandbox_memory())
		worker_fail(name, "memory");
}

void worker_sandbox(const char *name)
{
	uid_t uid = 0;
	gid_t gid = 0;
	int ll, root = geteuid() == 0;
	if (sandbox_no_new_privs() || (root && sandbox_front_user(&uid, &gid)) || sandbox_empty_root_prepare() ||
	    sandbox_landlock(NULL, &ll) || sandbox_empty_root(&root) ||
	    (geteuid() == 0 && sandbox_drop_user_caps(uid, gid, 1)))
		worker_fail(name, "sandbox");
}

struct chan_job {
	worker_fn fn;
	void *ctx;
	int fd;
	size_t max_req, max_answer;
};

static void *serve_chan(void *arg)
{
	struct chan_job *j = arg;
	struct buf in, out;
	buf_init(&in, j->max_req + 16);
	buf_init(&out, j->max_answer);
	while (!wire_recv(j->fd, &in, j->max_req)) {
		if (j->fn(j->ctx, (const unsigned char *)in.p, in.len, &out) || wire_send(j->fd, out.p, out.len))
			break;
		/* what passed through is not left in the worker's buffers */
		if (in.cap)
			sodium_memzero(in.p, in.len);
		if (out.cap)
			sodium_memzero(out.p, out.len);
	}
	/* the room went away: so does the worker */
	_exit(0);
}

void worker_serve(const char *name, unsigned n_fds, unsigned channels, int exec_memory, size_t max_req,
		  size_t max_answer, worker_fn fn, void *ctx)
{
	struct chan_job j[WORKER_CHANNELS_MAX];
	pthread_t th;
	int ready = WORKER_FD_FIRST + (int)n_fds, e;
	char ok = 1;
	for (unsigned i = 0; i < channels; i++) {
		j[i] = (struct chan_job){fn, ctx, ready + 1 + (int)i, max_req, max_answer};
		if (i && (e = pthread_create(&th, NULL, serve_chan, &j[i]))) {
			err_set(ERR_IO, "%s", strerror(e));
			worker_fail(name, "threads");
		}
	}
	/* its standard error was the room's, for a failure to start: from here on a taken-over
	 * worker could write what it holds there, to the room's log, so it is /dev/null as the
	 * others are (spawn) */
	if (dup2(STDOUT_FILENO, STDERR_FILENO) < 0 || (exec_memory ? sandbox_seccomp_worker() : sandbox_seccomp_front()))
		_exit(1);
	if (write(ready, &ok, 1) != 1)
		_exit(1);
	close(ready);
	serve_chan(&j[0]);
	_exit(0);
}

int worker_refusal(const char *magic, int code, const char *msg, size_t max, struct buf *out)
{
	size_t n = strlen(msg);
	unsigned char h[8];
	if (n > max)
		n = max;
	memcpy(h, magic, 4);
	h[4] = 0;
	h[5] = (unsigned char)(code < 0 ? -code : code);
	h[6] = (unsigned char)n;
	h[7] = (unsigned char)(n >> 8);
	buf_reset(out);
	return buf_add(out, h, 8) || buf_add(out, msg, n) ? ERR_TOOBIG : 0;
}

/* ---- the room's side ---- */

/* Wait for the worker's ready byte. */
static int wait_ready(const struct worker *w, int fd, pid_t pid)
{
	struct pollfd p = {fd, POLLIN, 0};
	char c;
	int n;
	do
		n = poll(&p, 1, (int)w->spec.start_ms);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return err_set(ERR_IO, "%s: did not start within %u s", w->spec.name, w->spec.start_ms / 1000);
	if (read(fd, &c, 1) != 1)
		return err_set(ERR_IO, "%s: exited as it started (process %d)", w->spec.name, (int)pid);
	return 0;
}

/*
 * Move *fd above the worker's own numbers (WORKER_FD_FIRST .. its last channel):
 * posix_spawn's dup2s run in order, and a descriptor handed over whose number is one an
 * earlier dup2 made would be that one instead (one handed descriptor as another, a
 * channel twice).
 */
static int above_worker_fds(const struct worker *w, int *fd)
{
	int top = WORKER_FD_FIRST + WORKER_FDS_MAX + 1 + (int)w->spec.channels, n;
	if (*fd >= top)
		return 0;
	if ((n = fcntl(*fd, F_DUPFD_CLOEXEC, top)) < 0)
		return err_set(ERR_IO, "%s: %s", w->spec.name, strerror(errno));
	close(*fd);
	*fd = n;
	return 0;
}

/* Start a worker (w->mu held, none running). */
static int spawn(struct worker *w)
{
	int fds[WORKER_FDS_MAX], ready[2] = {-1, -1}, sp[WORKER_CHANNELS_MAX][2], r = 0;
	unsigned nf = 0, ch = w->spec.channels;
	posix_spawn_file_actions_t fa;
	char *argv[] = {"sealroom", (char *)w->spec.arg, NULL};
	time_t now = time(NULL);
	pid_t pid;
	int k = 0;
	for (int i = 0; i < WORKER_RESTARTS; i++)
		k += w->started[i] && now - w->started[i] < 60;
	if (k >= WORKER_RESTARTS)
		return err_set(ERR_IO, "%s: started %d times in a minute: not again before the minute is out",
			       w->spec.name, WORKER_RESTARTS);
	for (unsigned i = 0; i < ch; i++)
		sp[i][0] = sp[i][1] = -1;
	if (w->spec.make_fds && (r = w->spec.make_fds(w->spec.ctx, fds, &nf)))
		return r;
	if (nf > WORKER_FDS_MAX)
		BUG("worker: too many descriptors");
	if (pipe2(ready, O_CLOEXEC) < 0) {
		r = err_set(ERR_IO, "%s: %s", w->spec.name, strerror(errno));
		goto out;
	}
	for (unsigned i = 0; i < ch; i++)
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp[i]) < 0) {
			r = err_set(ERR_IO, "%s: %s", w->spec.name, strerror(errno));
			goto out;
		}
	for (unsigned i = 0; i < nf; i++)
		if ((r = above_worker_fds(w, &fds[i])))
			goto out;
	if ((r = above_worker_fds(w, &ready[1])))
		goto out;
	for (unsigned i = 0; i < ch; i++)
		if ((r = above_worker_fds(w, &sp[i][1])))
			goto out;
	posix_spawn_file_actions_init(&fa);
	/* nothing of the room's on its standard input and output (its standard error, until
	 * its sandbox is up: worker_serve) */
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
	for (unsigned i = 0; i < nf; i++)
		posix_spawn_file_actions_adddup2(&fa, fds[i], WORKER_FD_FIRST + (int)i);
	posix_spawn_file_actions_adddup2(&fa, ready[1], WORKER_FD_FIRST + (int)nf);
	for (unsigned i = 0; i < ch; i++)
		posix_spawn_file_actions_adddup2(&fa, sp[i][1], WORKER_FD_FIRST + (int)nf + 1 + (int)i);
	r = posix_spawn(&pid, "/proc/self/exe", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r) {
		r = err_set(ERR_IO, "%s: cannot start: %s", w->spec.name, strerror(r));
		goto out;
	}
	memmove(w->started + 1, w->started, (WORKER_RESTARTS - 1) * sizeof(*w->started));
	w->started[0] = now;
	close(ready[1]);
	ready[1] = -1;
	for (unsigned i = 0; i < nf; i++)
		close(fds[i]);
	nf = 0;
	if ((r = wait_ready(w, ready[0], pid))) {
		kill(pid, SIGKILL);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		goto out;
	}
	w->pid = pid;
	w->gen++;
	for (unsigned i = 0; i < ch; i++) {
		w->fd[i] = sp[i][0];
		w->busy[i] = 0;
		sp[i][0] = -1;
	}
out:
	for (unsigned i = 0; i < ch; i++) {
		if (sp[i][0] >= 0)
			close(sp[i][0]);
		if (sp[i][1] >= 0)
			close(sp[i][1]);
	}
	if (ready[0] >= 0)
		close(ready[0]);
	if (ready[1] >= 0)
		close(ready[1]);
	for (unsigned i = 0; i < nf; i++)
		close(fds[i]);
	return r;
}

/* Kill the running worker (w->mu held): its channels close once the jobs on them end. */
static void stop_worker(struct worker *w)
{
	if (w->pid) {
		kill(w->pid, SIGKILL);
		while (waitpid(w->pid, NULL, 0) < 0 && errno == EINTR)
			;
	} else if (w->fd[0] < 0) {
		return; /* none was running */
	}
	w->pid = 0;
	for (unsigned i = 0; i < w->spec.channels; i++) {
		if (!w->busy[i] && w->fd[i] >= 0)
			close(w->fd[i]);
		w->fd[i] = -1;
	}
	w->gen++;
	pthread_cond_broadcast(&w->cv);
}

int worker_new(const struct worker_spec *spec, int start, struct worker **out)
{
	struct worker *w;
	pthread_condattr_t ca;
	int r = 0;
	*out = NULL;
	if (!spec->channels || spec->channels > WORKER_CHANNELS_MAX)
		BUG("worker: channels out of range");
	w = xcalloc(1, sizeof(*w));
	w->spec = *spec;
	pthread_mutex_init(&w->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cv, &ca);
	pthread_condattr_destroy(&ca);
	for (unsigned i = 0; i < WORKER_CHANNELS_MAX; i++)
		w->fd[i] = -1;
	if (start) {
		pthread_mutex_lock(&w->mu);
		r = spawn(w);
		pthread_mutex_unlock(&w->mu);
	}
	if (r) {
		worker_free(w);
		return r;
	}
	*out = w;
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

int worker_take(struct worker *w, unsigned ms, struct worker_chan *ch)
{
	struct timespec deadline;
	pid_t p;
	int r = 0;
	deadline_in(ms, &deadline);
	pthread_mutex_lock(&w->mu);
	for (;;) {
		if (w->killed) {
			r = err_set(ERR_IO, "%s: the release was closed", w->spec.name);
			break;
		}
		/* one that died between jobs (its own crash, a kill) is replaced before this job
		 * rather than failing it */
		if (w->pid && ((p = waitpid(w->pid, NULL, WNOHANG)) == w->pid || (p < 0 && errno == ECHILD))) {
			w->pid = 0; /* reaped: stop_worker must not wait for it or signal its number */
			stop_worker(w);
		}
		if (!w->pid && (r = spawn(w)))
			break;
		for (unsigned i = 0; i < w->spec.channels; i++)
			if (!w->busy[i]) {
				w->busy[i] = 1;
				w->n_busy++;
				ch->slot = (int)i;
				ch->gen = w->gen;
				ch->fd = w->fd[i];
				goto out;
			}
		if (pthread_cond_timedwait(&w->cv, &w->mu, &deadline) == ETIMEDOUT) {
			r = err_set(ERR_BUSY, "%s: its %u channels stayed busy for %u ms: try again", w->spec.name,
				    w->spec.channels, ms);
			break;
		}
	}
out:
	pthread_mutex_unlock(&w->mu);
	return r;
}

void worker_give(struct worker *w, const struct worker_chan *ch, int failed)
{
	pthread_mutex_lock(&w->mu);
	if (failed && ch->gen == w->gen)
		stop_worker(w);
	if (ch->gen != w->gen)
		close(ch->fd); /* a worker's that is gone */
	else
		w->busy[ch->slot] = 0;
	w->n_busy--;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

/* len bytes from fd before the deadline: a worker that trickles its answer a byte at a time
 * is as late as one that sends nothing. */
static int read_by(const struct worker *w, int fd, void *p, size_t len, const struct timespec *deadline,
		   unsigned ms)
{
	size_t off = 0;
	while (off < len) {
		struct pollfd pf = {fd, POLLIN, 0};
		int left = ms_left(deadline), n;
		ssize_t k;
		if (!left || !(n = poll(&pf, 1, left)))
			return err_set(ERR_IO, "%s: no answer within %u ms: it was stopped", w->spec.name, ms);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_set(ERR_IO, "%s: %s", w->spec.name, strerror(errno));
		k = read(fd, (char *)p + off, len - off);
		if (k < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (k <= 0)
			return err_set(ERR_IO, "%s: the worker is gone (%s)", w->spec.name,
				       k < 0 ? strerror(errno) : "closed");
		off += (size_t)k;
	}
	return 0;
}

/*
 * The request (wire.h framing) sent whole before the deadline. A worker that does not read
 * it (hung, stopped, taken over) would otherwise hold the job in write() for good once the
 * socket's buffer is full, as a file larger than it fills it: past the front's answer
 * timeout, and the room is restarted.
 */
static int send_by(const struct worker *w, int fd, const void *p, size_t len, const struct timespec *deadline,
		   unsigned ms)
{
	unsigned char h[4];
	const unsigned char *parts[2] = {h, p};
	size_t lens[2] = {4, len};
	for (int i = 0; i < 4; i++)
		h[i] = (unsigned char)(len >> (8 * i));
	for (int k = 0; k < 2; k++)
		for (size_t off = 0; off < lens[k];) {
			struct pollfd pf = {fd, POLLOUT, 0};
			int left = ms_left(deadline), n;
			ssize_t s;
			if (!left || !(n = poll(&pf, 1, left)))
				return err_set(ERR_IO, "%s: no answer within %u ms (the request was not read): it was stopped",
					       w->spec.name, ms);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return err_set(ERR_IO, "%s: %s", w->spec.name, strerror(errno));
			s = send(fd, parts[k] + off, lens[k] - off, MSG_DONTWAIT | MSG_NOSIGNAL);
			if (s < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (s <= 0)
				return err_set(ERR_IO, "%s: cannot send it the request (%s)", w->spec.name,
					       s < 0 ? strerror(errno) : "closed");
			off += (size_t)s;
		}
	return 0;
}

int worker_exchange(struct worker *w, const struct worker_chan *ch, const void *req, size_t len, size_t max,
		    unsigned ms, struct buf *ans)
{
	struct timespec deadline;
	unsigned char h[4];
	size_t n = 0;
	int r;
	deadline_in(ms, &deadline);
	/* req may be ans's own bytes: sent before ans is reset */
	if ((r = send_by(w, ch->fd, req, len, &deadline, ms)))
		return r;
	buf_reset(ans);
	if ((r = read_by(w, ch->fd, h, 4, &deadline, ms)))
		return r;
	for (int i = 0; i < 4; i++)
		n |= (size_t)h[i] << (8 * i);
	if (n > max)
		return err_set(ERR_TOOBIG, "%s: an answer of %zu bytes is larger than %zu", w->spec.name, n, max);
	if ((r = buf_grow(ans, n + 1)) || (r = read_by(w, ch->fd, ans->p, n, &deadline, ms)))
		return r;
	ans->len = n;
	ans->p[n] = 0;
	return 0;
}

pid_t worker_pid(struct worker *w)
{
	pid_t p;
	pthread_mutex_lock(&w->mu);
	p = w->pid;
	pthread_mutex_unlock(&w->mu);
	return p;
}

void worker_kill(struct worker *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->killed = 1;
	stop_worker(w);
	pthread_mutex_unlock(&w->mu);
}

void worker_free(struct worker *w)
{
	if (!w)
		return;
	worker_kill(w);
	pthread_mutex_lock(&w->mu);
	while (w->n_busy)
		pthread_cond_wait(&w->cv, &w->mu);
	pthread_mutex_unlock(&w->mu);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	free(w);
}
