/*
 * test.h: the tiny unit-test runner. A test file defines TEST(name) functions, lists them
 * in main() with RUN(name), and returns test_done(), which prints "N passed, N failed".
 * CHECK(cond) records a failure with file:line and goes on.
 * SHARED_VECTORS is ../shared/vectors relative to the repository (override with
 * $SEALROOM_VECTORS).
 */
#ifndef SEALROOM_TEST_H
#define SEALROOM_TEST_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

/* libsodium must be initialised before any test touches keys or guarded memory */
__attribute__((constructor)) static void test_sodium_init(void)
{
	if (sodium_init() < 0)
		abort();
}

static int test_passed, test_failed, test_cur_failed;
static const char *test_cur;

#define TEST(name) static void test_##name(void)
#define RUN(name)                                                                  \
	do {                                                                       \
		test_cur = #name;                                                  \
		test_cur_failed = 0;                                               \
		test_##name();                                                     \
		if (test_cur_failed)                                               \
			test_failed++;                                             \
		else                                                               \
			test_passed++;                                             \
	} while (0)
#define CHECK(cond)                                                                \
	do {                                                                       \
		if (!(cond)) {                                                     \
			fprintf(stderr, "%s:%d: %s: check failed: %s\n", __FILE__, \
				__LINE__, test_cur, #cond);                        \
			test_cur_failed = 1;                                       \
		}                                                                  \
	} while (0)
#define CHECK_EQ_STR(a, b)                                                         \
	do {                                                                       \
		const char *a_ = (a), *b_ = (b);                                   \
		if (!a_ || !b_ || strcmp(a_, b_) != 0) {                           \
			fprintf(stderr, "%s:%d: %s: '%s' != '%s'\n", __FILE__,     \
				__LINE__, test_cur, a_ ? a_ : "(null)",            \
				b_ ? b_ : "(null)");                               \
			test_cur_failed = 1;                                       \
		}                                                                  \
	} while (0)

static inline const char *test_vectors_dir(void)
{
	const char *e = getenv("SEALROOM_VECTORS");
	return e && *e ? e : "../shared/vectors";
}

static inline int test_done(void)
{
	printf("%d passed, %d failed\n", test_passed, test_failed);
	return test_failed ? 1 : 0;
}
#endif
