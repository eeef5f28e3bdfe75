/*
 * worker: a sandboxed process of this program that the room hands one job (searchd.h: a
 * release's searches; highlightd.h: a release's syntax highlighting), and the room's pool
 * of channels to it.
 *
 * A worker is a fresh image (/proc/self/exe run with its module's argument: a constructor
 * in that module makes any program that holds it a worker before its main runs), handed
 * only its descriptors: the module's own (WORKER_FD_FIRST on), a ready pipe after them,
 * then one socketpair per channel. Its standard input and output are /dev/null. Once its
 * module has set up what it holds (worker_sandbox), it is non-dumpable with its memory
 * locked, no_new_privs, the front's unprivileged account and an empty root when started as
 * root (keeping only CAP_IPC_LOCK, so that its memory stays locked), Landlock allowing no
 * file, and a seccomp filter allowing its sockets, memory (executable memory only for a
 * worker that needs it: PCRE2's JIT) and threads' calls; its standard error is then /dev/null as well, so that a worker
 * taken over cannot write to the room's log. It serves each channel in a thread of its own
 * (worker_serve) and exits when the room's end of a channel closes (PR_SET_PDEATHSIG is set
 * too, but the kernel clears it when the worker changes its uid).
 *
 * The room's side: a job takes a free channel (starting the worker when none runs, at most
 * WORKER_RESTARTS times a minute), sends one request and reads the whole answer (wire.h
 * framing) within one deadline however it trickles, or however slowly the worker takes the
 * request (a worker that reads nothing must not hold the job in write()), then gives the
 * channel back, saying whether the answer was wrong, late or missing: the worker is then
 * killed, and the next job starts another. A job waits for a free channel no longer than for its answer
 * (ERR_BUSY), so that its time stays bounded however many are queued behind a worker that
 * hangs. What an answer may say is the module's to check: a worker holds text of the
 * vendor's, and nothing it says is shown unchecked.
 */
#ifndef SEALROOM_WORKER_H
#define SEALROOM_WORKER_H

#include <stddef.h>
#include <sys/types.h>

#include "buf.h"
#include "err.h"

#define WORKER_FD_FIRST 3     /* the module's own descriptors start here */
#define WORKER_FDS_MAX 4      /* ... at most this many */
#define WORKER_CHANNELS_MAX 8
#define WORKER_RESTARTS 5     /* workers started a minute, at most */

/* What a pool starts. */
struct worker_spec {
	const char *arg;   /* argv[1] of the worker: its module's SEARCHD_ARG, ... */
	const char *name;  /* "search worker": the start of its messages */
	unsigned channels; /* 1 .. WORKER_CHANNELS_MAX */
	unsigned start_ms; /* how long a start may take before it counts as failed */
	/*
	 * Make the descriptors a new worker is handed (fds[0] becomes WORKER_FD_FIRST, ...;
	 * the pool closes them once it is started), at most WORKER_FDS_MAX in *n; NULL: none.
	 */
	int (*make_fds)(void *ctx, int *fds, unsigned *n);
	void *ctx;
};

struct worker;
/* One channel taken for a job. */
struct worker_chan {
	int fd;
	int slot;
	unsigned gen;
};

/* A pool for spec (copied; its ctx borrowed). With start, its worker is started now. */
int worker_new(const struct worker_spec *spec, int start, struct worker **out) WUR;
/*
 * Take a free channel of the running worker (one that died between jobs is replaced, and
 * one is started when none runs), waiting at most ms milliseconds for one to be free:
 * ERR_BUSY when none was, ERR_IO when no worker could be started or the pool was killed.
 */
int worker_take(struct worker *w, unsigned ms, struct worker_chan *ch) WUR;
/*
 * Send req and read the whole answer into ans (reset first), at most max bytes, both within
 * ms milliseconds: ERR_IO (a message naming the worker) when it is late, gone, trickling or
 * does not read the request, ERR_TOOBIG when it announces more than max.
 */
int worker_exchange(struct worker *w, const struct worker_chan *ch, const void *req, size_t len,
		    size_t max, unsigned ms, struct buf *ans) WUR;
/* Give the channel back; with failed (the answer was wrong, late or missing) the worker is
 * killed first. */
void worker_give(struct worker *w, const struct worker_chan *ch, int failed);
/* The running worker's process id, 0 when none runs. */
pid_t worker_pid(struct worker *w);
/* Kill the worker and start none again; jobs in flight fail. Idempotent. */
void worker_kill(struct worker *w);
/* worker_kill, wait for the jobs in flight to give their channels back, free. */
void worker_free(struct worker *w);

/*
 * A worker's refusal, as the search and image workers answer one: magic (4 bytes), u8 0,
 * u8 -code, u16 n, n bytes of msg (cut at max), into out after a reset. ERR_TOOBIG when out
 * cannot hold it.
 */
int worker_refusal(const char *magic, int code, const char *msg, size_t max, struct buf *out) WUR;

/* ---- the worker's side ---- */

/*
 * First thing in a worker: close every descriptor but the n_fds handed, the ready pipe and
 * the channels; die with the room; lock and hide memory (sandbox_memory). Exits on failure.
 */
void worker_begin(const char *name, unsigned n_fds, unsigned channels);
/* Leave the host: no_new_privs, the front's account, an empty root, Landlock with no file
 * (everything the worker reads from the host is read before). Exits on failure. */
void worker_sandbox(const char *name);
/* The job of a channel: answer req (len bytes) into out (reset it first); non-zero ends the
 * worker. */
typedef int (*worker_fn)(void *ctx, const unsigned char *req, size_t len, struct buf *out);
/*
 * Serve every channel (requests of at most max_req bytes) with fn, one thread each: the
 * threads are made, standard error becomes /dev/null, the seccomp filter is loaded (the
 * worker's, which lets memory be made executable, with exec_memory: PCRE2's JIT; else the
 * front's), the room is told the worker is ready. Returns never: the worker exits when the
 * room goes.
 */
void worker_serve(const char *name, unsigned n_fds, unsigned channels, int exec_memory, size_t max_req,
		  size_t max_answer, worker_fn fn, void *ctx) __attribute__((noreturn));
/* A failure while starting, on standard error (still the room's), then exit. */
void worker_fail(const char *name, const char *what) __attribute__((noreturn));

#endif
