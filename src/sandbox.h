/*
 * sandbox: what each process of `serve` may still do once it runs (split.h).
 *
 * The room (the process that holds data keys, plaintext and the database) cannot be
 * dumped and keeps its memory out of swap: sandbox_memory makes it non-dumpable
 * (PR_SET_DUMPABLE 0: no core, no ptrace or /proc/PID/mem by other users), sets RLIMIT_CORE
 * to 0 and locks every page it has and will have (mlockall, MCL_ONFAULT), or refuses.
 * The plaintext arena (index.c) and keys (sodium_malloc) are also MADV_DONTDUMP.
 *
 * The network front holds no secret of the room, but runs hostile input through TLS and
 * HTTP parsers: it gets no new privileges, no filesystem (Landlock allowing only its
 * certificate files to be read, then an empty root when it runs as root), its own
 * unprivileged uid, and a seccomp filter of little more than its sockets.
 *
 * What none of this stops: root on the host reading the room's memory through
 * /proc/PID/mem or ptrace (CAP_SYS_PTRACE), or loading a kernel module. See
 * docs/security.md.
 */
#ifndef SEALROOM_SANDBOX_H
#define SEALROOM_SANDBOX_H

#include <sys/types.h>

#include "err.h"

/*
 * Harden the memory of a process that holds keys or sealed code (above). ERR_DENIED with a
 * one-line reason naming the LimitMEMLOCK= to set when its memory cannot be locked.
 */
int sandbox_memory(void) WUR;
/* Not dumpable, no core: for a process that holds no key but still sees requests. */
int sandbox_nodump(void) WUR;
/* PR_SET_NO_NEW_PRIVS for this thread and the threads it makes after. */
int sandbox_no_new_privs(void) WUR;

/*
 * Landlock for this thread and the threads it makes after: no filesystem access but reading
 * the files of read_files (NULL-terminated, NULL entries skipped). *applied is the Landlock
 * ABI used, 0 when the kernel has none (not an error: the empty root covers it).
 */
int sandbox_landlock(const char *const *read_files, int *applied) WUR;
/*
 * As root: an empty, deleted folder as the root of the whole process, in two steps: make it
 * the working folder and delete it (before Landlock, which forbids making folders), then,
 * once nothing needs a path any more, make the working folder the root. *applied 0 when
 * not root.
 */
int sandbox_empty_root_prepare(void) WUR;
int sandbox_empty_root(int *applied) WUR;

/*
 * The account the front runs as when serve starts as root: $SEALROOM_FRONT_USER (a name or
 * a number), else "nobody", else uid and gid 65534. ERR_USAGE for a name that is unknown.
 */
int sandbox_front_user(uid_t *uid, gid_t *gid) WUR;
/* As root: drop every group and become uid/gid for good (all threads). No-op otherwise. */
int sandbox_drop_user(uid_t uid, gid_t gid) WUR;
/*
 * The same; with keep_ipc_lock, the process keeps one capability, CAP_IPC_LOCK (no other,
 * and none after an exec), so that memory it maps later is still locked (mlockall's
 * MCL_FUTURE) whatever the account's RLIMIT_MEMLOCK: for the search worker, which holds
 * sealed text.
 */
int sandbox_drop_user_caps(uid_t uid, gid_t gid, int keep_ipc_lock) WUR;

/*
 * The front's seccomp filter (the TLS key's signer, tlskey.h, runs under it too), for
 * every thread of the process: its sockets (read, write,
 * send, receive, accept, poll/epoll, shutdown, options), memory without PROT_EXEC, futexes,
 * clocks, signals and exit; everything else fails with EPERM, and exec, ptrace and
 * process_vm_* kill the process.
 */
int sandbox_seccomp_front(void) WUR;
/*
 * The search worker's (searchd.h): the front's filter, except that memory may be made
 * executable (PCRE2's JIT compiles a reviewer's pattern to machine code).
 */
int sandbox_seccomp_worker(void) WUR;

#endif
