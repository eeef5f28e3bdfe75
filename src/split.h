/*
 * split: `serve` as processes with one job each (OpenSSH, OpenBSD httpd/relayd style).
 *
 *   supervisor   holds nothing: forks the two below, restarts the room when it dies,
 *                stops both on SIGTERM/SIGINT/SIGHUP
 *   signer       the TLS private key (tlskey.h): signs the front's TLS 1.3 handshakes, and
 *                nothing else; the same account, empty root and seccomp filter as the front
 *   front        TLS and HTTP only (http.h): no TLS key, no data key, no plaintext, no database; its
 *                own unprivileged uid when started as root, no_new_privs, Landlock and an
 *                empty root, a seccomp filter of little more than its sockets (sandbox.h).
 *                It parses each request and forwards it (wire.h) to the room
 *   room         keys, vault, index, database, log and every route (web.h), with no
 *                network; non-dumpable, its memory locked (sandbox_memory)
 *
 * Front and room talk over one socketpair per front thread, one request at a time each, in
 * length-checked messages (wire.h). When the room dies, the requests in flight fail with
 * 503 and the supervisor starts a new room with new socketpairs, which it hands to the
 * front (SCM_RIGHTS); the keys held by the room that died are gone with it (a release
 * unlocked with `sealroom unlock` needs a new request and response; the demo unlocks again).
 * A room that does not answer a request within the answer timeout (the start of its answer,
 * or all of it once started) is taken for hung: that request fails with 503 saying so, the
 * front reports it on the control socket ("H" and the channels' generation) and the
 * supervisor kills that room, which then restarts as one that died.
 */
#ifndef SEALROOM_SPLIT_H
#define SEALROOM_SPLIT_H

#include "err.h"
#include "http.h"
#include "web.h"

#define SPLIT_RESTARTS_MAX 5 /* room deaths within SPLIT_RESTART_WINDOW s before giving up */
#define SPLIT_RESTART_WINDOW 60
#define SPLIT_ANSWER_TIMEOUT 30      /* seconds the room has to answer a request (default) */
#define SPLIT_ANSWER_TIMEOUT_MAX 600

struct split_config {
	struct http_opts http;    /* the front's server (its thread count = socketpairs) */
	/*
	 * The room: runs in a child with the socketpair ends fds[0..n-1]; calls ready(rctx)
	 * once it serves (or returns an error first, whose message the supervisor reports);
	 * returns on SIGTERM.
	 */
	int (*room)(void *ctx, const int *fds, unsigned n, void (*ready)(int fd), int ready_fd);
	void *ctx;
	/* Called in the supervisor once both serve, with the URL. */
	void (*serving)(void *ctx, const char *url);
	/* Seconds the room has to answer a request, 1..SPLIT_ANSWER_TIMEOUT_MAX; 0: the default. */
	unsigned answer_timeout;
};

/*
 * The front runs in a fresh image of this program (fork, then exec of /proc/self/exe with
 * SPLIT_FRONT_ARG and the http options; its control socket is fd SPLIT_FRONT_FD), so that
 * nothing of the supervisor's memory is in it. main() hands such a run to
 * split_front_exec, which never returns.
 */
#define SPLIT_FRONT_ARG "__serve-front"
#define SPLIT_FRONT_FD 3
#define SPLIT_SIGNER_FD 4 /* the front's end of the TLS key's signer (tlskey.h) */
int split_front_exec(int argc, char **argv) __attribute__((noreturn));

/* Run the supervisor until a signal stops it; 0 or a negative enum err (with err_set). */
int split_run(const struct split_config *c) WUR;

/*
 * The room's side of the socketpairs: one thread per fd answering each request message with
 * web_handle(w, ...) until the fd closes. split_room_stop closes them and joins.
 */
struct split_room;
int split_room_start(struct web *w, const int *fds, unsigned n, struct split_room **out) WUR;
void split_room_stop(struct split_room *s);

#endif
