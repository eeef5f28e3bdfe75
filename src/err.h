/*
 * err: error codes, the last error message, and allocation that never fails.
 *
 * Fallible functions return 0 or a negative enum err, and set a message for people with
 * err_set() ("seal: 'a/../b' escapes the source root"): lowercase, no final full stop,
 * the subject in quotes. The message is per thread; cmd_* print it with err_msg().
 * Allocation failure aborts; sizes from input must be capped before allocating.
 */
#ifndef SEALROOM_ERR_H
#define SEALROOM_ERR_H

#include <stddef.h>
#include <stdint.h>

enum err {
	ERR_OK = 0,
	ERR_IO = -1,       /* the operating system refused a read or write */
	ERR_PARSE = -2,    /* input is not in the expected format */
	ERR_TOOBIG = -3,   /* a size limit was reached */
	ERR_AUTH = -4,     /* a signature, key, tag or password did not verify */
	ERR_CORRUPT = -5,  /* stored data is inconsistent with itself */
	ERR_NOTFOUND = -6, /* the thing asked for does not exist */
	ERR_EXISTS = -7,   /* the thing to be created already exists */
	ERR_HOSTILE = -8,  /* input tried to escape, link, or impersonate */
	ERR_USAGE = -9,    /* the caller asked for something meaningless */
	ERR_DB = -10,      /* the database refused */
	ERR_DENIED = -11,  /* policy forbids it */
	ERR_BUSY = -12,    /* not ready yet: the same request may succeed in a moment */
};

#define WUR __attribute__((warn_unused_result))

/* Set the calling thread's error message; returns code so callers can `return err_set(..)`. */
int err_set(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The calling thread's last message ("" when none). */
const char *err_msg(void);
/* A short name for a code ("io", "parse", ...). */
const char *err_name(int code);

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

/* Programmer errors: abort with file:line. */
#define BUG(...) bug_at(__FILE__, __LINE__, __VA_ARGS__)
_Noreturn void bug_at(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#include "banned.h"
#endif
