/*
 * cmd: the subcommands. Each cmd_<name> parses its arguments with opt_parse, calls the
 * modules, prints, and returns the exit status: 0 ok, 1 a failure the user can fix,
 * 2 a usage error. Errors go to stderr as one line "sealroom <cmd>: <why>".
 */
#ifndef SEALROOM_CMD_H
#define SEALROOM_CMD_H

#include <stdint.h>
#include <sys/types.h>

#include "opt.h"

int cmd_init(int argc, char **argv);
int cmd_key(int argc, char **argv);
int cmd_seal(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_releases(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_log(int argc, char **argv);
int cmd_org(int argc, char **argv);
int cmd_user(int argc, char **argv);
int cmd_nominate(int argc, char **argv);
int cmd_object(int argc, char **argv);
int cmd_approve(int argc, char **argv);
int cmd_grant(int argc, char **argv);
int cmd_nomination(int argc, char **argv);
int cmd_revoke(int argc, char **argv);
int cmd_halt(int argc, char **argv);
int cmd_shred(int argc, char **argv);
int cmd_vendor(int argc, char **argv);
int cmd_apply(int argc, char **argv);
int cmd_unlock(int argc, char **argv);
/* The actor of operator commands at the facility's console ("local:$USER"). */
const char *cmd_local_actor(void);
int cmd_search(int argc, char **argv);
int cmd_build(int argc, char **argv);
int cmd_match(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_trace(int argc, char **argv);
int cmd_session(int argc, char **argv);
int cmd_print(int argc, char **argv);
int cmd_findings(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_certify(int argc, char **argv);
int cmd_certificate(int argc, char **argv);

struct note_signer;
struct note_wrapper;
struct buf;
struct keyring;
struct facility;
struct render_hooks;
int cmd_import(int argc, char **argv);
/* The vendor's wrapping key beside the signing key FILE: FILE.wrap (secret, 0600). */
int cmd_load_wrapper(const char *key_path, struct note_wrapper **out);
/*
 * Put product@version's data key into k (a keyring of the command's own), unwrapped with
 * the vendor's keys at key_path (FILE and FILE.wrap) after checking that FILE's key sealed
 * it: how the commands that read a release outside the room (build, findings, with
 * --vendor-key) open it through the same code as the room. Held for CMD_VENDOR_WINDOW.
 */
#define CMD_VENDOR_WINDOW (24 * 3600)
int cmd_vendor_unlock(struct facility *f, const char *key_path, struct keyring *k, const char *product,
		      const char *version);
/* Its public line FILE.wrap.pub, checked, into out. */
int cmd_load_wrap_pub(const char *key_path, struct buf *out);
/* How serve_run runs the room (cmd_serve and cmd_demo). */
struct serve_config {
	const char *listen;       /* ADDR:PORT, default 127.0.0.1:8443 */
	const char *cert, *key;   /* PEM files; default DIR/keys/tls.crt and tls.key */
	const char *client_ca;    /* require client certificates signed by it, or NULL */
	int insecure_http;        /* plain HTTP on loopback */
	unsigned threads;         /* 0: HTTP_THREADS_DEFAULT */
	unsigned answer_timeout;  /* seconds the room has to answer a request; 0: the default */
	/* called with the keyring before serving (the demo's own unlocks), or NULL */
	int (*unlock)(void *ctx, struct keyring *k, struct facility *f, int *n_unlocked);
	void *unlock_ctx;
	const struct render_hooks *hooks; /* issue 7's plug-ins, or NULL */
	void (*ready)(void *ctx, const char *url); /* called once serving, instead of a message */
	void *ready_ctx;
};
/* Serve the facility at dir until SIGTERM/SIGINT; 0 or a negative enum err. */
int serve_run(const char *dir, const struct serve_config *c);

/* Write (p, len) to a new file path with mode, fsync'd (ERR_EXISTS: never over an existing
 * one; a file cut short is removed). */
int cmd_write_new(const char *path, const char *p, size_t len, mode_t mode) WUR;
/* Print "sealroom <cmd>: <msg>" to stderr and return the exit status for code. */
int cmd_fail(const char *cmd, int code);
/* Same with a message of the caller's, for usage errors (returns 2). */
int cmd_usage(const char *cmd, const char *usage);

#endif
