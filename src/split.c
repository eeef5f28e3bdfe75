/* split: the supervisor, front and room processes of serve; see split.h. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "sandbox.h"
#include "split.h"
#include "tlskey.h"
#include "wire.h"

#define CHANNELS_MAX 256

/* ---- the front ---- */

/* The socketpair ends to the room, one request at a time each. */
struct front {
	int ctl;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int fd[CHANNELS_MAX];
	char busy[CHANNELS_MAX], dead[CHANNELS_MAX];
	unsigned n, gen;
	unsigned timeout; /* seconds the room has to answer a request */
};

static int chan_take(struct front *fr, unsigned *gen)
{
	int fd = -1;
	pthread_mutex_lock(&fr->mu);
	for (;;) {
		unsigned alive = 0;
		for (unsigned i = 0; i < fr->n; i++) {
			if (fr->dead[i])
				continue;
			alive++;
			if (!fr->busy[i]) {
				fr->busy[i] = 1;
				fd = fr->fd[i];
				*gen = fr->gen;
				goto out;
			}
		}
		if (!alive)
			goto out;
		pthread_cond_wait(&fr->cv, &fr->mu);
	}
out:
	pthread_mutex_unlock(&fr->mu);
	return fd;
}

static void chan_put(struct front *fr, int fd, unsigned gen, int dead)
{
	pthread_mutex_lock(&fr->mu);
	if (gen != fr->gen) {
		close(fd); /* a set the room that died had */
	} else {
		for (unsigned i = 0; i < fr->n; i++)
			if (fr->fd[i] == fd) {
				fr->busy[i] = 0;
				if (dead) {
					fr->dead[i] = 1;
					close(fd);
				}
			}
	}
	pthread_cond_broadcast(&fr->cv);
	pthread_mutex_unlock(&fr->mu);
}

/* A new room's socketpair ends: the old ones not in use are closed now, the others when
 * their request ends. */
static void chan_install(struct front *fr, const int *fds, unsigned n)
{
	pthread_mutex_lock(&fr->mu);
	for (unsigned i = 0; i < fr->n; i++)
		if (!fr->busy[i] && !fr->dead[i])
			close(fr->fd[i]);
	fr->gen++;
	fr->n = n;
	for (unsigned i = 0; i < n; i++) {
		fr->fd[i] = fds[i];
		fr->busy[i] = fr->dead[i] = 0;
	}
	pthread_cond_broadcast(&fr->cv);
	pthread_mutex_unlock(&fr->mu);
}

static int answer(struct http_resp *rs, int status, const char *text)
{
	rs->status = status;
	rs->content_type = "text/plain; charset=utf-8";
	rs->sensitive = 0;
	buf_reset(&rs->body);
	return buf_addstr(&rs->body, text);
}

static void wipe(struct buf *b)
{
	if (b->p && b->cap)
		sodium_memzero(b->p, b->cap);
	buf_release(b);
}

/* The response's content type lives until http.c has sent the headers, on this thread. */
static __thread char ctype[WIRE_CTYPE_MAX + 1];

/* Wait up to ms for the first byte of an answer on fd: 1 when there is one (or the peer is
 * gone, which the read then finds), 0 when the time ran out. */
static int answer_within(int fd, int ms)
{
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct pollfd p = {fd, POLLIN, 0};
		int left, k;
		clock_gettime(CLOCK_MONOTONIC, &t);
		left = ms - (int)((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0)
			return 0;
		k = poll(&p, 1, left);
		if (k > 0)
			return 1;
		if (k < 0 && errno != EINTR)
			return 1;
	}
}

static int ctl_send(int ctl, const char *text, const int *fds, unsigned n);

/* http_handler of the front: the request to the room, its answer back. */
static int forward(void *ctx, const struct http_req *rq, struct http_resp *rs)
{
	struct front *fr = ctx;
	struct buf msg;
	unsigned gen = 0;
	int fd = chan_take(fr, &gen), r;
	if (fd < 0)
		return answer(rs, 503, "the room is restarting: try again in a moment\n");
	buf_init(&msg, WIRE_RESP_MAX + 16);
	if ((r = wire_req_encode(rq, &msg))) {
		chan_put(fr, fd, gen, 0);
		buf_release(&msg);
		return answer(rs, 400, "bad request\n");
	}
	if ((r = wire_send(fd, msg.p, msg.len))) {
		chan_put(fr, fd, gen, 1);
		wipe(&msg);
		return answer(rs, 503, "the room stopped while answering: try again in a moment\n");
	}
	if (!answer_within(fd, (int)fr->timeout * 1000)) {
		/* a room that hangs answers nothing more on this channel: the supervisor restarts
		 * it (a hang of that room's generation only, not of the one started since) */
		char m[32], text[128];
		chan_put(fr, fd, gen, 1);
		wipe(&msg);
		snprintf(m, sizeof(m), "H%u", gen);
		(void)!ctl_send(fr->ctl, m, NULL, 0);
		snprintf(text, sizeof(text), "the room did not answer within %u s: it is restarted; try again in a moment\n",
			 fr->timeout);
		return answer(rs, 503, text);
	}
	if ((r = wire_recv(fd, &msg, WIRE_RESP_MAX))) {
		/* gone, or stalled in the middle of its answer (the socket's receive timeout) */
		char m[32];
		chan_put(fr, fd, gen, 1);
		wipe(&msg);
		snprintf(m, sizeof(m), "H%u", gen);
		(void)!ctl_send(fr->ctl, m, NULL, 0);
		return answer(rs, 503, "the room stopped while answering: try again in a moment\n");
	}
	chan_put(fr, fd, gen, 0);
	if ((r = wire_resp_decode(msg.p, msg.len, rs, ctype))) {
		http_resp_release(rs);
		http_resp_init(rs);
		r = answer(rs, 502, "the room's answer was malformed\n");
	}
	wipe(&msg);
	return r;
}

/* Send text (and fds) on the control socket. */
static int ctl_send(int ctl, const char *text, const int *fds, unsigned n)
{
	struct msghdr mh = {0};
	struct iovec iov = {(void *)text, strlen(text)};
	union {
		char buf[CMSG_SPACE(sizeof(int) * CHANNELS_MAX)];
		struct cmsghdr align;
	} u;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (n) {
		struct cmsghdr *cm;
		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * n);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * n);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * n);
	}
	while (sendmsg(ctl, &mh, MSG_NOSIGNAL) < 0)
		if (errno != EINTR)
			return err_set(ERR_IO, "serve: the control socket is gone: %s", strerror(errno));
	return 0;
}

/* Receive one control message into text (cap bytes, NUL-terminated) and fds (*n). 0, or
 * ERR_NOTFOUND at the end, ERR_IO. */
static int ctl_recv(int ctl, char *text, size_t cap, int *fds, unsigned *n)
{
	struct msghdr mh = {0};
	struct iovec iov = {text, cap - 1};
	union {
		char buf[CMSG_SPACE(sizeof(int) * CHANNELS_MAX)];
		struct cmsghdr align;
	} u;
	ssize_t got;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = u.buf;
	mh.msg_controllen = sizeof(u.buf);
	*n = 0;
	do
		got = recvmsg(ctl, &mh, MSG_CMSG_CLOEXEC);
	while (got < 0 && errno == EINTR);
	if (got == 0)
		return ERR_NOTFOUND;
	if (got < 0)
		return err_set(ERR_IO, "serve: the control socket failed: %s", strerror(errno));
	text[got] = 0;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
			unsigned k = (unsigned)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			if (k > CHANNELS_MAX)
				k = CHANNELS_MAX;
			memcpy(fds, CMSG_DATA(cm), sizeof(int) * k);
			*n = k;
		}
	return 0;
}

/* The front process: never returns. */
static void __attribute__((noreturn)) front_main(const struct http_opts *ho, unsigned timeout, int ctl)
{
	static struct front fr;
	struct http_server *srv = NULL;
	struct tlskey *tk = NULL;
	/* the certificate files only: the key stays with the signer (tlskey.h) */
	const char *files[4] = {ho->cert_file, ho->client_ca, NULL, NULL};
	const char *const *ff = files;
	struct http_opts hs = *ho;
	char msg[600];
	sigset_t sigs;
	uid_t uid = 0;
	gid_t gid = 0;
	int r, landlock = 0, root = 0;

	fr.ctl = ctl;
	fr.timeout = timeout;
	pthread_mutex_init(&fr.mu, NULL);
	pthread_cond_init(&fr.cv, NULL);
	/* the files by absolute path (the working folder becomes the empty root), only those
	 * named */
	{
		int k = 0;
		for (int i = 0; i < 2; i++)
			if (files[i]) {
				char *abs = realpath(files[i], NULL);
				files[k++] = abs ? abs : files[i];
			}
		files[k] = NULL;
		hs.cert_file = ho->cert_file ? files[0] : NULL;
		hs.key_file = NULL;
		hs.client_ca = ho->client_ca ? files[ho->cert_file ? 1 : 0] : NULL;
	}
	if (!ho->insecure_http && (r = tlskey_client_new(SPLIT_SIGNER_FD, &tk)) == 0)
		hs.tls_key = tlskey_privkey(tk);
	else if (ho->insecure_http)
		r = 0;
	if (r || (r = sandbox_nodump()) || (r = sandbox_no_new_privs()) || (r = sandbox_front_user(&uid, &gid)) ||
	    (r = sandbox_empty_root_prepare()) || (r = sandbox_landlock(ff, &landlock)) ||
	    (r = http_start(&hs, forward, &fr, &srv)) ||
	    (r = sandbox_empty_root(&root)) || (r = sandbox_drop_user(uid, gid)) || (r = sandbox_seccomp_front())) {
		snprintf(msg, sizeof(msg), "E%d %s", -r, err_msg());
		(void)!ctl_send(ctl, msg, NULL, 0);
		_exit(1);
	}
	snprintf(msg, sizeof(msg), "P%u %d %d %u", http_port(srv), landlock, root, (unsigned)getuid());
	if (ctl_send(ctl, msg, NULL, 0))
		_exit(1);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	for (;;) {
		struct pollfd p = {ctl, POLLIN, 0};
		struct timespec zero = {0, 0};
		int sig = sigtimedwait(&sigs, NULL, &zero);
		if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP)
			break;
		if (poll(&p, 1, 500) > 0) {
			int fds[CHANNELS_MAX];
			unsigned n;
			if (ctl_recv(ctl, msg, sizeof(msg), fds, &n))
				break; /* the supervisor is gone */
			if (msg[0] == 'C' && n)
				chan_install(&fr, fds, n);
			else
				for (unsigned i = 0; i < n; i++)
					close(fds[i]);
		}
	}
	http_stop(srv);
	tlskey_free(tk);
	_exit(0);
}

int split_front_exec(int argc, char **argv)
{
	struct http_opts ho = {0};
	unsigned long threads, timeout;
	sigset_t sigs;
	if (argc != 9) {
		fputs("sealroom: the front takes its options from serve\n", stderr);
		_exit(2);
	}
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	ho.listen = argv[2][0] ? argv[2] : NULL;
	ho.cert_file = argv[3][0] ? argv[3] : NULL;
	ho.key_file = argv[4][0] ? argv[4] : NULL;
	ho.client_ca = argv[5][0] ? argv[5] : NULL;
	ho.insecure_http = !strcmp(argv[6], "1");
	threads = strtoul(argv[7], NULL, 10);
	ho.threads = threads && threads <= CHANNELS_MAX ? (unsigned)threads : HTTP_THREADS_DEFAULT;
	timeout = strtoul(argv[8], NULL, 10);
	front_main(&ho, timeout && timeout <= SPLIT_ANSWER_TIMEOUT_MAX ? (unsigned)timeout : SPLIT_ANSWER_TIMEOUT,
		   SPLIT_FRONT_FD);
}

/* ---- the room's side ---- */

struct split_room {
	struct web *w;
	unsigned n;
	int fd[CHANNELS_MAX];
	pthread_t th[CHANNELS_MAX];
};

struct room_thread {
	struct split_room *s;
	int fd;
};

static void *room_serve(void *arg)
{
	struct room_thread *t = arg;
	struct buf in, out;
	buf_init(&in, WIRE_REQ_MAX + 16);
	buf_init(&out, WIRE_RESP_MAX);
	while (!wire_recv(t->fd, &in, WIRE_REQ_MAX)) {
		struct wire_req wr;
		struct http_resp rs;
		http_resp_init(&rs);
		if (wire_req_decode(in.p, in.len, &wr)) {
			(void)!answer(&rs, 400, "bad request\n");
		} else if (web_handle(t->s->w, &wr.rq, &rs) < 0 && rs.status < 400) {
			(void)!answer(&rs, 500, "internal error\n");
		}
		wire_req_release(&wr);
		if (in.len)
			sodium_memzero(in.p, in.len);
		buf_reset(&out);
		if (wire_resp_encode(&rs, &out)) {
			http_resp_release(&rs);
			http_resp_init(&rs);
			(void)!answer(&rs, 500, "internal error\n");
			buf_reset(&out);
			(void)!wire_resp_encode(&rs, &out);
		}
		if (rs.body.p && rs.body.cap)
			sodium_memzero(rs.body.p, rs.body.cap);
		http_resp_release(&rs);
		if (wire_send(t->fd, out.p, out.len))
			break;
		if (out.len)
			sodium_memzero(out.p, out.len);
	}
	wipe(&in);
	wipe(&out);
	free(t);
	return NULL;
}

int split_room_start(struct web *w, const int *fds, unsigned n, struct split_room **out)
{
	struct split_room *s = xcalloc(1, sizeof(*s));
	*out = NULL;
	if (n > CHANNELS_MAX)
		n = CHANNELS_MAX;
	s->w = w;
	for (unsigned i = 0; i < n; i++) {
		struct room_thread *t = xmalloc(sizeof(*t));
		t->s = s;
		t->fd = fds[i];
		s->fd[i] = fds[i];
		if (pthread_create(&s->th[i], NULL, room_serve, t)) {
			free(t);
			s->n = i;
			split_room_stop(s);
			return err_set(ERR_IO, "serve: cannot start the room's threads");
		}
		s->n = i + 1;
	}
	*out = s;
	return 0;
}

void split_room_stop(struct split_room *s)
{
	if (!s)
		return;
	for (unsigned i = 0; i < s->n; i++)
		shutdown(s->fd[i], SHUT_RDWR);
	for (unsigned i = 0; i < s->n; i++) {
		pthread_join(s->th[i], NULL);
		close(s->fd[i]);
	}
	free(s);
}

/* ---- the supervisor ---- */

static void room_ready(int fd)
{
	(void)!write(fd, "R", 1);
	close(fd);
}

static unsigned answer_timeout(const struct split_config *c)
{
	return c->answer_timeout && c->answer_timeout <= SPLIT_ANSWER_TIMEOUT_MAX ? c->answer_timeout
										  : SPLIT_ANSWER_TIMEOUT;
}

/* Start a room with new socketpairs, hand their other ends to the front; *pid, *ready_fd. */
static int room_fork(const struct split_config *c, int ctl, pid_t *pid, int *ready_fd)
{
	unsigned n = c->http.threads ? c->http.threads : HTTP_THREADS_DEFAULT;
	int front[CHANNELS_MAX], room[CHANNELS_MAX], rp[2], r = 0;
	if (n > CHANNELS_MAX)
		n = CHANNELS_MAX;
	if (pipe2(rp, O_CLOEXEC) < 0)
		return err_set(ERR_IO, "serve: cannot make a pipe: %s", strerror(errno));
	for (unsigned i = 0; i < n; i++) {
		int sp[2];
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) {
			r = err_set(ERR_IO, "serve: cannot make a socketpair: %s", strerror(errno));
			for (unsigned k = 0; k < i; k++)
				close(front[k]), close(room[k]);
			close(rp[0]);
			close(rp[1]);
			return r;
		}
		front[i] = sp[0];
		room[i] = sp[1];
		{
			/* an answer that stalls half-sent fails too (answer_within covers its start) */
			struct timeval tv = {(time_t)answer_timeout(c), 0};
			(void)setsockopt(front[i], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		}
	}
	*pid = fork();
	if (*pid == 0) {
		char m[600];
		close(ctl);
		close(rp[0]);
		for (unsigned i = 0; i < n; i++)
			close(front[i]);
		r = c->room(c->ctx, room, n, room_ready, rp[1]);
		if (r) {
			snprintf(m, sizeof(m), "E%d %s", -r, err_msg());
			(void)!write(rp[1], m, strlen(m));
		}
		_exit(r ? 1 : 0);
	}
	for (unsigned i = 0; i < n; i++)
		close(room[i]);
	close(rp[1]);
	if (*pid < 0) {
		r = err_set(ERR_IO, "serve: cannot fork the room: %s", strerror(errno));
		close(rp[0]);
	} else {
		r = ctl_send(ctl, "C", front, n);
		*ready_fd = rp[0];
	}
	for (unsigned i = 0; i < n; i++)
		close(front[i]);
	return r;
}

/* Wait for the room's ready byte or its error; ERR_IO when it died first. */
static int room_wait_ready(int fd)
{
	char m[600];
	size_t got = 0;
	ssize_t k;
	while (got < sizeof(m) - 1 && (k = read(fd, m + got, sizeof(m) - 1 - got)) != 0) {
		if (k < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		got += (size_t)k;
		if (m[0] == 'R')
			break;
	}
	m[got] = 0;
	close(fd);
	if (got && m[0] == 'R')
		return 0;
	if (got && m[0] == 'E') {
		int code = atoi(m + 1);
		const char *sp = strchr(m, ' ');
		return err_set(code > 0 ? -code : ERR_IO, "%s", sp ? sp + 1 : "the room did not start");
	}
	return err_set(ERR_IO, "the room process died while starting");
}

int split_run(const struct split_config *c)
{
	sigset_t sigs;
	pid_t front = -1, room = -1, signer = -1;
	int kp[2] = {-1, -1};
	int ctl[2], r, ready_fd = -1, ll = 0, root = 0, started = 0, sfd = -1, ctl_open = 1;
	unsigned port = 0, fuid = 0, gen = 0;
	time_t deaths[SPLIT_RESTARTS_MAX] = {0};
	size_t n_deaths = 0;
	char m[600];

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGCHLD);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	if ((r = sandbox_nodump()))
		return r;
	/* signals and the front's reports (a room that hangs) in one poll */
	if ((sfd = signalfd(-1, &sigs, SFD_CLOEXEC)) < 0)
		return err_set(ERR_IO, "serve: cannot make a signalfd: %s", strerror(errno));
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ctl) < 0) {
		close(sfd);
		return err_set(ERR_IO, "serve: cannot make a socketpair: %s", strerror(errno));
	}
	/* the TLS key's signer, a fresh image of its own: the front asks it for each handshake */
	if (!c->http.insecure_http) {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, kp) < 0) {
			r = err_set(ERR_IO, "serve: cannot make a socketpair: %s", strerror(errno));
			goto out;
		}
		signer = fork();
		if (signer < 0) {
			r = err_set(ERR_IO, "serve: cannot fork the TLS key's signer: %s", strerror(errno));
			goto out;
		}
		if (signer == 0) {
			char *argv[] = {"sealroom", TLSKEY_SIGNER_ARG, (char *)(c->http.key_file ? c->http.key_file : ""),
					(char *)(c->http.cert_file ? c->http.cert_file : ""), NULL};
			if (dup2(kp[1], TLSKEY_SIGNER_FD) < 0)
				_exit(127);
			execv("/proc/self/exe", argv);
			_exit(127);
		}
		close(kp[1]);
		kp[1] = -1;
	}
	front = fork();
	if (front < 0) {
		close(ctl[0]);
		close(ctl[1]);
		return err_set(ERR_IO, "serve: cannot fork the front: %s", strerror(errno));
	}
	if (front == 0) {
		/* a fresh image: nothing of this process's memory (the vendor's key of `demo`,
		 * a facility's buffers) is in the front */
		char threads[16], timeout[16];
		char *argv[] = {"sealroom", SPLIT_FRONT_ARG, (char *)(c->http.listen ? c->http.listen : ""),
				(char *)(c->http.cert_file ? c->http.cert_file : ""),
				"", /* the key is the signer's, not even its name is the front's */
				(char *)(c->http.client_ca ? c->http.client_ca : ""),
				c->http.insecure_http ? "1" : "0", threads, timeout, NULL};
		snprintf(threads, sizeof(threads), "%u", c->http.threads ? c->http.threads : HTTP_THREADS_DEFAULT);
		snprintf(timeout, sizeof(timeout), "%u", answer_timeout(c));
		close(ctl[0]);
		if (dup2(ctl[1], SPLIT_FRONT_FD) < 0 || (kp[0] >= 0 && dup2(kp[0], SPLIT_SIGNER_FD) < 0))
			_exit(127);
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	close(ctl[1]);
	ctl[1] = -1;
	if (kp[0] >= 0)
		close(kp[0]);
	kp[0] = -1;
	{
		int fds[CHANNELS_MAX];
		unsigned n;
		if ((r = ctl_recv(ctl[0], m, sizeof(m), fds, &n)) || m[0] != 'P') {
			if (!r && m[0] == 'E') {
				int code = atoi(m + 1);
				const char *sp = strchr(m, ' ');
				r = err_set(code > 0 ? -code : ERR_IO, "%s", sp ? sp + 1 : "the front did not start");
			} else if (!r || r == ERR_NOTFOUND) {
				r = err_set(ERR_IO, "the front process died while starting");
			}
			goto out;
		}
		if (sscanf(m + 1, "%u %d %d %u", &port, &ll, &root, &fuid) != 4) {
			r = err_set(ERR_IO, "the front's first message is malformed");
			goto out;
		}
	}
	for (;;) {
		if ((r = room_fork(c, ctl[0], &room, &ready_fd)))
			goto out;
		gen++; /* the front's generation of the room's channels */
		if ((r = room_wait_ready(ready_fd))) {
			if (!started)
				goto out;
			fprintf(stderr, "sealroom serve: the restarted room did not start: %s\n", err_msg());
		} else if (!started) {
			char url[160];
			const char *l = c->http.listen ? c->http.listen : "127.0.0.1:8443";
			const char *colon = strrchr(l, ':');
			started = 1;
			fprintf(stderr,
				"sealroom serve: front pid %d (uid %u, seccomp, landlock abi %d, %s), room pid %d\n",
				(int)front, fuid, ll, root ? "empty root" : "no empty root", (int)room);
			snprintf(url, sizeof(url), "%s://%.*s:%u", c->http.insecure_http ? "http" : "https",
				 (int)(colon - l), l, port);
			if (c->serving)
				c->serving(c->ctx, url);
		} else {
			fprintf(stderr, "sealroom serve: room restarted, pid %d\n", (int)room);
		}
		/* until a signal, or a child dies; a room that hangs is stopped (and dies) */
		for (;;) {
			struct pollfd p[2] = {{sfd, POLLIN, 0}, {ctl_open ? ctl[0] : -1, POLLIN, 0}};
			struct signalfd_siginfo si;
			int sig, st;
			pid_t dead;
			int room_died = 0;
			if (poll(p, 2, -1) < 0) {
				if (errno == EINTR)
					continue;
				r = err_set(ERR_IO, "serve: poll failed: %s", strerror(errno));
				goto out;
			}
			if (p[1].revents & POLLIN) {
				int fds[CHANNELS_MAX];
				unsigned n, hung;
				if (ctl_recv(ctl[0], m, sizeof(m), fds, &n)) {
					ctl_open = 0; /* the front is gone: its SIGCHLD says so */
				} else {
					for (unsigned i = 0; i < n; i++)
						close(fds[i]);
					if (m[0] == 'H' && sscanf(m + 1, "%u", &hung) == 1 && hung == gen && room > 0) {
						fprintf(stderr, "sealroom serve: the room did not answer a request within %u s; "
								"stopping it\n", answer_timeout(c));
						kill(room, SIGKILL);
					}
				}
			} else if (p[1].revents & (POLLHUP | POLLERR)) {
				ctl_open = 0;
			}
			if (!(p[0].revents & POLLIN))
				continue;
			if (read(sfd, &si, sizeof(si)) != (ssize_t)sizeof(si))
				continue;
			sig = (int)si.ssi_signo;
			if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP) {
				r = 0;
				goto out;
			}
			if (sig != SIGCHLD)
				continue;
			while ((dead = waitpid(-1, &st, WNOHANG)) > 0) {
				if (dead == signer) {
					signer = -1;
					r = err_set(ERR_IO, "the TLS key's signer died (%s %d)",
						    WIFSIGNALED(st) ? "signal" : "status",
						    WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
					goto out;
				}
				if (dead == front) {
					front = -1;
					r = err_set(ERR_IO, "the front process died (%s %d)",
						    WIFSIGNALED(st) ? "signal" : "status",
						    WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
					goto out;
				}
				if (dead == room) {
					room = -1;
					room_died = 1;
					fprintf(stderr, "sealroom serve: the room process died (%s %d); starting another\n",
						WIFSIGNALED(st) ? "signal" : "status",
						WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
				}
			}
			if (room_died)
				break;
		}
		/* at most SPLIT_RESTARTS_MAX deaths within SPLIT_RESTART_WINDOW seconds */
		{
			time_t now = time(NULL);
			size_t k = 0;
			for (size_t i = 0; i < n_deaths; i++)
				if (now - deaths[i] < SPLIT_RESTART_WINDOW)
					deaths[k++] = deaths[i];
			n_deaths = k;
			if (n_deaths == SPLIT_RESTARTS_MAX) {
				r = err_set(ERR_IO, "the room died %d times within %d seconds", SPLIT_RESTARTS_MAX,
					    SPLIT_RESTART_WINDOW);
				goto out;
			}
			deaths[n_deaths++] = now;
		}
	}
out:
	if (room > 0)
		kill(room, SIGTERM);
	if (front > 0)
		kill(front, SIGTERM);
	if (room > 0)
		waitpid(room, NULL, 0);
	if (front > 0)
		waitpid(front, NULL, 0);
	if (signer > 0) {
		kill(signer, SIGTERM);
		waitpid(signer, NULL, 0);
	}
	for (int i = 0; i < 2; i++)
		if (kp[i] >= 0)
			close(kp[i]);
	if (ctl[1] >= 0)
		close(ctl[1]);
	close(ctl[0]);
	close(sfd);
	return r;
}
