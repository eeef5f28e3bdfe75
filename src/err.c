/* err: per-thread error messages and allocation that aborts on failure. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

static _Thread_local char last_msg[1024];

int err_set(int code, const char *fmt, ...)
{
	char tmp[sizeof(last_msg)];
	va_list ap;
	/* format aside first: callers may pass err_msg() itself as an argument */
	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	memcpy(last_msg, tmp, sizeof(last_msg));
	return code;
}

const char *err_msg(void)
{
	return last_msg;
}

const char *err_name(int code)
{
	switch (code) {
	case ERR_OK: return "ok";
	case ERR_IO: return "io";
	case ERR_PARSE: return "parse";
	case ERR_TOOBIG: return "too big";
	case ERR_AUTH: return "auth";
	case ERR_CORRUPT: return "corrupt";
	case ERR_NOTFOUND: return "not found";
	case ERR_EXISTS: return "exists";
	case ERR_HOSTILE: return "hostile";
	case ERR_USAGE: return "usage";
	case ERR_DB: return "database";
	case ERR_DENIED: return "denied";
	case ERR_BUSY: return "busy";
	}
	return "unknown";
}

_Noreturn void bug_at(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "BUG: %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

static void *check(void *p)
{
	if (!p) {
		fputs("fatal: out of memory\n", stderr);
		abort();
	}
	return p;
}

void *xmalloc(size_t n)
{
	return check(malloc(n ? n : 1));
}

void *xcalloc(size_t n, size_t size)
{
	return check(calloc(n ? n : 1, size ? size : 1));
}

void *xrealloc(void *p, size_t n)
{
	return check(realloc(p, n ? n : 1));
}

char *xstrdup(const char *s)
{
	return check(strdup(s));
}

char *xstrndup(const char *s, size_t n)
{
	return check(strndup(s, n));
}
