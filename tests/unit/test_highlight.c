/* test_highlight: tree-sitter highlighting per language, limits, hostile input, threads. */
#include <pthread.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "highlight.h"
#include "test.h"

/* The class name at byte off of src, or "" when unclassed. */
static const char *class_at(const struct hl_span *s, size_t n, size_t off)
{
	for (size_t i = 0; i < n; i++)
		if (s[i].start <= off && off < s[i].end)
			return hl_class_name(s[i].cls);
	return "";
}

/* The class of the first occurrence of needle in src (at its first byte). */
static const char *class_of(enum hl_lang lang, const char *src, const char *needle)
{
	static char out[64];
	struct hl_span *s = NULL;
	size_t n = 0;
	const char *at = strstr(src, needle);
	if (!at || highlight(lang, src, strlen(src), &s, &n, 0)) {
		free(s);
		return "(error)";
	}
	snprintf(out, sizeof(out), "%s", class_at(s, n, (size_t)(at - src)));
	free(s);
	return out;
}

static int well_formed(const struct hl_span *s, size_t n, size_t len)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i].start >= s[i].end || s[i].end > len || !s[i].cls || s[i].cls >= hl_n_classes())
			return 0;
		if (i && s[i].start < s[i - 1].end)
			return 0;
	}
	return 1;
}

TEST(lang_for_path)
{
	CHECK(hl_lang_for_path("a/b.c", 5) == HL_C);
	CHECK(hl_lang_for_path("x.h", 3) == HL_C);
	CHECK(hl_lang_for_path("x.cc", 4) == HL_CPP);
	CHECK(hl_lang_for_path("x.hpp", 5) == HL_CPP);
	CHECK(hl_lang_for_path("main.go", 7) == HL_GO);
	CHECK(hl_lang_for_path("A.java", 6) == HL_JAVA);
	CHECK(hl_lang_for_path("app.mjs", 7) == HL_JAVASCRIPT);
	CHECK(hl_lang_for_path("t.py", 4) == HL_PYTHON);
	CHECK(hl_lang_for_path("lib.rs", 6) == HL_RUST);
	CHECK(hl_lang_for_path("run.sh", 6) == HL_BASH);
	CHECK(hl_lang_for_path("Makefile", 8) == HL_NONE);
	CHECK(hl_lang_for_path("README", 6) == HL_NONE);
	CHECK(hl_lang_for_path("c.d/readme", 10) == HL_NONE);
	CHECK(hl_lang_detect("configure", 9, "#!/bin/sh\necho", 14) == HL_BASH);
	CHECK(hl_lang_detect("tool", 4, "#!/usr/bin/env bash\n", 20) == HL_BASH);
	CHECK(hl_lang_detect("tool", 4, "#!/usr/bin/env python3\n", 23) == HL_PYTHON);
	CHECK(hl_lang_detect("tool", 4, "#!/usr/bin/node\n", 16) == HL_JAVASCRIPT);
	CHECK(hl_lang_detect("tool", 4, "#!/usr/bin/perl\n", 16) == HL_NONE);
	CHECK(hl_lang_detect("x.c", 3, "#!/bin/sh\n", 10) == HL_C);
	CHECK_EQ_STR(hl_lang_name(HL_CPP), "cpp");
	CHECK_EQ_STR(hl_lang_name(HL_NONE), "");
}

TEST(c)
{
	const char *src = "/* note */\n#include <stdio.h>\nstatic int f(int x) { return x + 42; }\n"
			  "#define MAX_LEN 10\nint main(void) { puts(\"hi\\n\"); return MAX_LEN; }\n";
	CHECK_EQ_STR(class_of(HL_C, src, "/* note"), "comment");
	CHECK_EQ_STR(class_of(HL_C, src, "#include"), "keyword");
	CHECK_EQ_STR(class_of(HL_C, src, "<stdio.h>"), "string");
	CHECK_EQ_STR(class_of(HL_C, src, "static"), "keyword");
	CHECK_EQ_STR(class_of(HL_C, src, "int f"), "type");
	CHECK_EQ_STR(class_of(HL_C, src, "f(int"), "function");
	CHECK_EQ_STR(class_of(HL_C, src, "return"), "keyword");
	CHECK_EQ_STR(class_of(HL_C, src, "42"), "number");
	CHECK_EQ_STR(class_of(HL_C, src, "\"hi"), "string");
	CHECK_EQ_STR(class_of(HL_C, src, "\\n"), "string"); /* C has no escape capture */
	CHECK_EQ_STR(class_of(HL_C, src, "puts"), "function");
	CHECK_EQ_STR(class_of(HL_C, src, "MAX_LEN;"), "constant"); /* the #match? predicate */
	CHECK_EQ_STR(class_of(HL_C, src, "x +"), "");               /* plain variable */
}

TEST(cpp_inherits_c)
{
	const char *src = "// c++\nnamespace n { class A { public: int f(); }; }\n"
			  "auto s = \"str\"; template <typename T> T g(T v) { return nullptr; }\n";
	CHECK_EQ_STR(class_of(HL_CPP, src, "// c++"), "comment");
	CHECK_EQ_STR(class_of(HL_CPP, src, "namespace"), "keyword");
	CHECK_EQ_STR(class_of(HL_CPP, src, "class"), "keyword");
	CHECK_EQ_STR(class_of(HL_CPP, src, "template"), "keyword");
	CHECK_EQ_STR(class_of(HL_CPP, src, "\"str\""), "string");
	CHECK_EQ_STR(class_of(HL_CPP, src, "return"), "keyword"); /* from C's query */
	CHECK_EQ_STR(class_of(HL_CPP, src, "nullptr"), "constant");
}

TEST(go)
{
	const char *src = "package main\n// hello\nfunc main() {\n\ts := \"x\"\n\tprintln(len(s), 7)\n}\n";
	CHECK_EQ_STR(class_of(HL_GO, src, "package"), "keyword");
	CHECK_EQ_STR(class_of(HL_GO, src, "// hello"), "comment");
	CHECK_EQ_STR(class_of(HL_GO, src, "func"), "keyword");
	CHECK_EQ_STR(class_of(HL_GO, src, "main()"), "function");
	CHECK_EQ_STR(class_of(HL_GO, src, "\"x\""), "string");
	CHECK_EQ_STR(class_of(HL_GO, src, "7)"), "number");
}

TEST(java)
{
	const char *src = "/** doc */\npublic class A {\n  static void m() { String s = \"q\"; int i = 3; }\n}\n";
	CHECK(strncmp(class_of(HL_JAVA, src, "/** doc"), "comment", 7) == 0);
	CHECK_EQ_STR(class_of(HL_JAVA, src, "public"), "keyword");
	CHECK_EQ_STR(class_of(HL_JAVA, src, "class"), "keyword");
	CHECK_EQ_STR(class_of(HL_JAVA, src, "\"q\""), "string");
	CHECK_EQ_STR(class_of(HL_JAVA, src, "m()"), "function.method");
	CHECK_EQ_STR(class_of(HL_JAVA, src, "3;"), "number");
}

TEST(javascript)
{
	const char *src = "// js\nconst a = 'q';\nfunction f(x) { return x * 2; }\nconsole.log(f(a));\n";
	CHECK_EQ_STR(class_of(HL_JAVASCRIPT, src, "// js"), "comment");
	CHECK_EQ_STR(class_of(HL_JAVASCRIPT, src, "const"), "keyword");
	CHECK_EQ_STR(class_of(HL_JAVASCRIPT, src, "'q'"), "string");
	CHECK_EQ_STR(class_of(HL_JAVASCRIPT, src, "function"), "keyword");
	CHECK_EQ_STR(class_of(HL_JAVASCRIPT, src, "f(x)"), "function");
	CHECK_EQ_STR(class_of(HL_JAVASCRIPT, src, "2;"), "number");
}

TEST(python)
{
	const char *src = "# py\ndef f(x):\n    return \"s\" + str(x) + 1.5\nclass K:\n    pass\n";
	CHECK_EQ_STR(class_of(HL_PYTHON, src, "# py"), "comment");
	CHECK_EQ_STR(class_of(HL_PYTHON, src, "def"), "keyword");
	CHECK_EQ_STR(class_of(HL_PYTHON, src, "f(x)"), "function");
	CHECK_EQ_STR(class_of(HL_PYTHON, src, "\"s\""), "string");
	CHECK_EQ_STR(class_of(HL_PYTHON, src, "str("), "function.builtin");
	CHECK_EQ_STR(class_of(HL_PYTHON, src, "1.5"), "number");
	CHECK_EQ_STR(class_of(HL_PYTHON, src, "class"), "keyword");
}

TEST(rust)
{
	const char *src = "// rs\nfn main() { let s: &str = \"r\"; println!(\"{}\", s); let n = 5u32; }\n";
	CHECK_EQ_STR(class_of(HL_RUST, src, "// rs"), "comment");
	CHECK_EQ_STR(class_of(HL_RUST, src, "fn"), "keyword");
	CHECK_EQ_STR(class_of(HL_RUST, src, "main"), "function");
	CHECK_EQ_STR(class_of(HL_RUST, src, "let"), "keyword");
	CHECK_EQ_STR(class_of(HL_RUST, src, "\"r\""), "string");
	CHECK_EQ_STR(class_of(HL_RUST, src, "str ="), "type.builtin");
	CHECK_EQ_STR(class_of(HL_RUST, src, "println"), "function.macro");
}

TEST(bash)
{
	const char *src = "#!/bin/sh\n# c\nif [ -n \"$x\" ]; then echo 'y'; fi\nf() { return 0; }\n";
	CHECK_EQ_STR(class_of(HL_BASH, src, "# c"), "comment");
	CHECK_EQ_STR(class_of(HL_BASH, src, "if"), "keyword");
	CHECK_EQ_STR(class_of(HL_BASH, src, "\"$x\""), "string");
	CHECK_EQ_STR(class_of(HL_BASH, src, "then"), "keyword");
	CHECK_EQ_STR(class_of(HL_BASH, src, "echo"), "function");
	CHECK_EQ_STR(class_of(HL_BASH, src, "'y'"), "string");
}

TEST(plain_cases)
{
	struct hl_span *s = (void *)1;
	size_t n = 99;
	CHECK(highlight(HL_NONE, "int x;", 6, &s, &n, 0) == 0 && n == 0 && s == NULL);
	CHECK(highlight(HL_C, "", 0, &s, &n, 0) == 0 && n == 0 && s == NULL);
	CHECK(highlight((enum hl_lang)77, "x", 1, &s, &n, 0) == 0 && n == 0);
	CHECK_EQ_STR(hl_class_name(0), "");
	CHECK_EQ_STR(hl_class_name(60000), "");
}

TEST(size_limit)
{
	/* at the limit: highlighted; one past it: plain */
	size_t len = HL_MAX_BYTES;
	char *src = xmalloc(len + 1);
	struct hl_span *s;
	size_t n;
	memset(src, ' ', len + 1);
	memcpy(src, "/* c */", 7);
	CHECK(highlight(HL_C, src, len, &s, &n, 0) == 0 && n == 1 && s[0].end == 7);
	free(s);
	CHECK(highlight(HL_C, src, len + 1, &s, &n, 0) == 0 && n == 0 && s == NULL);
	free(src);
}

TEST(budget)
{
	/* a file that cannot be parsed in 1 us comes back plain, without error */
	size_t len = 512 * 1024;
	char *src = xmalloc(len);
	struct hl_span *s;
	size_t n;
	for (size_t i = 0; i < len; i++)
		src[i] = "int a = b + c;\n"[i % 15];
	CHECK(highlight(HL_C, src, len, &s, &n, 1) == 0 && n == 0);
	CHECK(highlight(HL_C, src, len, &s, &n, 0) == 0 && n > 1000);
	CHECK(well_formed(s, n, len));
	free(s);
	free(src);
}

TEST(hostile)
{
	/* random bytes (bash's scanner once crashed on them: grammars/ctype_guard.h), and
	 * nesting far deeper than any real file, in every language, within a budget */
	size_t len = 64 * 1024;
	char *src = xmalloc(len);
	unsigned seed = 12345;
	for (int l = HL_C; l < HL_NLANG; l++) {
		struct hl_span *s;
		size_t n;
		for (size_t i = 0; i < len; i++) {
			seed = seed * 1103515245u + 12345u;
			src[i] = (char)(seed >> 16);
		}
		CHECK(highlight((enum hl_lang)l, src, len, &s, &n, 300000) == 0);
		CHECK(well_formed(s, n, len));
		free(s);
		for (size_t i = 0; i < len; i++)
			src[i] = i < len / 2 ? "({["[i % 3] : ")}]"[i % 3];
		CHECK(highlight((enum hl_lang)l, src, len, &s, &n, 300000) == 0);
		CHECK(well_formed(s, n, len));
		free(s);
	}
	free(src);
}

/*
 * Nested captures within the budget: strings in command substitutions in strings, 15,000
 * deep, are 10,000 nested string captures, each painted over the whole of the ones inside
 * it: 10^9 bytes painted, seconds past any budget, and a worker that overran its
 * budget and the grace was stopped, the page plain. The budget is looked at while painting.
 */
TEST(nested_captures_within_budget)
{
	enum { DEPTH = 15000 };
	size_t len = 0;
	char *src = xmalloc(DEPTH * 10 + 2);
	struct hl_span *s;
	struct timespec t0, t1;
	double secs;
	size_t n;
	for (int i = 0; i < DEPTH; i++, len += 8)
		memcpy(src + len, "\"$(echo ", 8);
	src[len++] = 'x';
	for (int i = 0; i < DEPTH; i++, len += 2)
		memcpy(src + len, ")\"", 2);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK(highlight(HL_BASH, src, len, &s, &n, 200000) == 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	CHECK(well_formed(s, n, len));
	CHECK(secs < 0.2 + 0.3);
	if (secs >= 0.5 || getenv("SEALROOM_TEST_VERBOSE"))
		fprintf(stderr, "  %zu bytes nested %d deep took %.2f s for a budget of 0.2 s\n", len, DEPTH, secs);
	free(s);
	free(src);
}

struct thr {
	const char *src;
	size_t n_expect;
	int ok;
};

static void *worker(void *p)
{
	struct thr *t = p;
	t->ok = 1;
	for (int i = 0; i < 50; i++) {
		struct hl_span *s;
		size_t n;
		if (highlight(HL_C, t->src, strlen(t->src), &s, &n, 0) || n != t->n_expect)
			t->ok = 0;
		free(s);
	}
	return NULL;
}

TEST(threads)
{
	const char *src = "int main(void) { return 0; /* x */ }\n";
	struct hl_span *s;
	size_t n;
	pthread_t th[4];
	struct thr t[4];
	CHECK(highlight(HL_C, src, strlen(src), &s, &n, 0) == 0 && n > 3);
	free(s);
	for (int i = 0; i < 4; i++) {
		t[i] = (struct thr){src, n, 0};
		pthread_create(&th[i], NULL, worker, &t[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		CHECK(t[i].ok);
	}
}

int main(void)
{
	RUN(lang_for_path);
	RUN(c);
	RUN(cpp_inherits_c);
	RUN(go);
	RUN(java);
	RUN(javascript);
	RUN(python);
	RUN(rust);
	RUN(bash);
	RUN(plain_cases);
	RUN(size_limit);
	RUN(budget);
	RUN(nested_captures_within_budget);
	RUN(hostile);
	RUN(threads);
	return test_done();
}
