/*
 * Forced into every grammar scanner (GRAMMAR_CFLAGS): some external scanners pass
 * tree-sitter's lookahead, a code point or -1 at the end, straight to <ctype.h>, which is
 * undefined outside unsigned char and EOF and crashes on hostile input (bash 0.23.3's
 * isdigit on random bytes). These wrappers answer 0 outside that range.
 */
#ifndef SEALROOM_CTYPE_GUARD_H
#define SEALROOM_CTYPE_GUARD_H
#include <ctype.h>
#define SR_CT_OK(c) ((long)(c) >= 0 && (long)(c) < 256)
#undef isalnum
#undef isalpha
#undef isdigit
#undef islower
#undef isspace
#undef isupper
#undef isxdigit
#undef ispunct
#undef isprint
#undef tolower
#undef toupper
#define isalnum(c) (SR_CT_OK(c) ? (isalnum)((int)(c)) : 0)
#define isalpha(c) (SR_CT_OK(c) ? (isalpha)((int)(c)) : 0)
#define isdigit(c) (SR_CT_OK(c) ? (isdigit)((int)(c)) : 0)
#define islower(c) (SR_CT_OK(c) ? (islower)((int)(c)) : 0)
#define isspace(c) (SR_CT_OK(c) ? (isspace)((int)(c)) : 0)
#define isupper(c) (SR_CT_OK(c) ? (isupper)((int)(c)) : 0)
#define isxdigit(c) (SR_CT_OK(c) ? (isxdigit)((int)(c)) : 0)
#define ispunct(c) (SR_CT_OK(c) ? (ispunct)((int)(c)) : 0)
#define isprint(c) (SR_CT_OK(c) ? (isprint)((int)(c)) : 0)
#define tolower(c) (SR_CT_OK(c) ? (tolower)((int)(c)) : (int)(c))
#define toupper(c) (SR_CT_OK(c) ? (toupper)((int)(c)) : (int)(c))
#endif
