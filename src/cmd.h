/*
 * cmd: the subcommands. Each cmd_<name> parses its arguments with opt_parse, calls the
 * modules, prints, and returns the exit status: 0 ok, 1 a failure the user can fix,
 * 2 a usage error. Errors go to stderr as one line "sealroom <cmd>: <why>".
 */
#ifndef SEALROOM_CMD_H
#define SEALROOM_CMD_H

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
int cmd_revoke(int argc, char **argv);
int cmd_halt(int argc, char **argv);
int cmd_shred(int argc, char **argv);
int cmd_unlock(int argc, char **argv);
/* The actor of operator commands at the facility's console ("local:$USER"). */
const char *cmd_local_actor(void);
int cmd_search(int argc, char **argv);

/* Print "sealroom <cmd>: <msg>" to stderr and return the exit status for code. */
int cmd_fail(const char *cmd, int code);
/* Same with a message of the caller's, for usage errors (returns 2). */
int cmd_usage(const char *cmd, const char *usage);

#endif
