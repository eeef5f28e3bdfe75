/*
 * searchd: the search worker of an opened release, a process of its own.
 *
 * A reviewer's search is a regular expression of the reviewer's choosing, compiled and run
 * by PCRE2's JIT over the release's text. The room does not run it next to the data keys,
 * the log key and the database: each opened release has a worker, started by the room
 * once the release's index has loaded (room.h), that holds only that release's index and
 * text. The text is not copied: the worker maps the room's own pages of it read-only
 * (index_share / index_attach), so it can neither change what the room shows nor grow or
 * cut the file behind it.
 *
 * The worker is a fresh image (/proc/self/exe run with SEARCHD_ARG, which makes any program
 * that holds this module a worker before its main runs), non-dumpable, its
 * memory locked, with no_new_privs, the front's unprivileged account and an empty root when
 * the room runs as root, Landlock allowing no file at all, and a seccomp filter that allows
 * its sockets, memory (executable memory too: the JIT) and threads' calls, kills it on
 * execve, ptrace and process_vm_*, and answers EPERM to everything else (no open, no
 * socket, no connect). Its standard streams are /dev/null (standard error once it is
 * sandboxed). It ends when the room's ends of its channels close (PR_SET_PDEATHSIG is set
 * too, but the kernel clears it when the worker changes its uid).
 *
 * The room and the worker talk over SEARCHD_CHANNELS socketpairs, one search at a time
 * each (wire.h framing; docs/formats.md "The search worker"): the room sends the query's
 * text and options, the worker parses and runs it and answers with the result as numbers
 * only (search_result_encode), which the room checks against its own index
 * (search_result_decode) before a line of it is charged or shown. A refusal's message is
 * shown only when it is one the worker's code says for that query (its free parts the
 * reader's own words or a small number): the worker holds the release's text, and a
 * message is not charged. A worker that crashes, answers what cannot be decoded or in
 * words of its own, or does not answer in whole within the search's time budget and
 * SEARCHD_GRACE_MS more (however it trickles) is killed; that search fails with ERR_IO, and
 * the next one starts a new worker (at most SEARCHD_RESTARTS a minute). A search waits for
 * a free channel no longer than it would for its answer (ERR_BUSY), so that a request's time
 * stays bounded by twice that however many are queued.
 */
#ifndef SEALROOM_SEARCHD_H
#define SEALROOM_SEARCHD_H

#include <sys/types.h>

#include "buf.h"
#include "err.h"
#include "index.h"
#include "query.h"

#define SEARCHD_ARG "--search-worker"
#define SEARCHD_CHANNELS 4
#define SEARCHD_GRACE_MS 5000 /* past a search's own budget, before its worker counts as hung */
#define SEARCHD_RESTARTS 5    /* workers started a minute, at most */

struct searchd;

/*
 * Start the search worker of ix (a loaded index, index_load; borrowed: stop the worker
 * before freeing it), waiting until it has attached the index. ERR_IO naming why it could
 * not start.
 */
int searchd_start(const struct index *ix, struct searchd **out) WUR;
/*
 * Run the query text (with options qo) in the worker: the result is over ix, as
 * index_search's. The query's own errors as query_parse and index_search give them
 * (ERR_PARSE, ERR_USAGE, ERR_TOOBIG, with the worker's one-line message, when the room knows
 * it); ERR_IO when the worker failed (it is then killed, and the next search starts
 * another); ERR_BUSY when every channel stayed busy for the search's time.
 */
int searchd_search(struct searchd *d, const char *text, const struct query_opts *qo,
		   const struct search_opts *so, struct search_result **res) WUR;
/* The running worker's process id (0 when none is running): the room says it when it starts one. */
pid_t searchd_pid(struct searchd *d);
/* Kill the worker and wait for it; searches in flight fail. Idempotent. */
void searchd_kill(struct searchd *d);
/* searchd_kill, then free. */
void searchd_free(struct searchd *d);

/*
 * The messages (docs/formats.md "The search worker"). A request: the query text (at most
 * QUERY_MAX bytes) and its options, appended to out after a reset (ERR_USAGE for a
 * search_opts.prefilter other than 0: the worker picks its own); decoding checks every
 * field and that no byte is left (ERR_PARSE), text gets QUERY_MAX + 1 bytes.
 */
int searchd_request_encode(const char *text, const struct query_opts *qo, const struct search_opts *so,
			   struct buf *out) WUR;
int searchd_request_decode(const void *msg, size_t len, char *text, struct query_opts *qo,
			   struct search_opts *so) WUR;
/*
 * A worker's answer, over ix: 0 and *res (search_result_decode's checks); the query's
 * refusal (ERR_PARSE, ERR_USAGE or ERR_TOOBIG, its message made one printable line); or
 * ERR_CORRUPT naming what is malformed (the worker failed).
 */
int searchd_answer_decode(const struct index *ix, const void *msg, size_t len, struct search_result **res) WUR;

/* The worker's side (from the module's constructor): argv from searchd_start; never returns. */
void searchd_exec(int argc, char **argv) __attribute__((noreturn));

#endif
