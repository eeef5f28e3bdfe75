/* test_query: parsing (errors, filters, plans), searching, ranking, paging, limits, JSON. */
#include <math.h>

#include "test.h"
#include "query.h"
#include "search_fixture.h"
#include "query_oracle.h"

static struct search_result *run(struct fixture *f, const char *q, const struct query_opts *qo,
				 const struct search_opts *so)
{
	struct query *qq = NULL;
	struct search_result *r = NULL;
	if (query_parse(q, qo, &qq)) {
		fprintf(stderr, "parse '%s': %s\n", q, err_msg());
		return NULL;
	}
	if (index_search(f->ix, qq, so, &r))
		r = NULL;
	query_free(qq);
	return r;
}

/* Matching lines of text as the file "x.c" of an index of its own; -1 on error. */
static int64_t text_lines(const char *text, const struct query *q)
{
	struct text_index ti;
	int64_t n;
	text_index_make(&ti, &(struct text_file){"x.c", text, strlen(text), NULL, 0}, 1);
	n = search_lines(ti.ix, q, 0);
	text_index_free(&ti);
	return n;
}

TEST(parse_errors)
{
	struct query *q = NULL;
	char big[QUERY_MAX + 2];
	CHECK(query_parse("foo(", NULL, &q) == ERR_PARSE && !q);
	CHECK_EQ_STR(err_msg(), "query: bad regex at offset 4: missing closing parenthesis");
	CHECK(query_parse("lang:cobol x", NULL, &q) == ERR_PARSE);
	CHECK_EQ_STR(err_msg(), "query: unknown language 'cobol'");
	CHECK(query_parse("file:( x", NULL, &q) == ERR_PARSE);
	CHECK(strstr(err_msg(), "bad file: regex") != NULL);
	CHECK(query_parse("lang:c", NULL, &q) == ERR_PARSE);
	CHECK(query_parse("  ", NULL, &q) == 0); /* two spaces are a pattern, as for rg */
	CHECK(text_lines("a  b\na b\n", q) == 1);
	query_free(q);
	CHECK(query_parse("sym:a sym:b", NULL, &q) == ERR_PARSE);
	CHECK(query_parse("\xff(", NULL, &q) == ERR_PARSE);
	memset(big, 'a', sizeof(big));
	big[QUERY_MAX] = 0;
	CHECK(query_parse(big, NULL, &q) == 0);
	query_free(q);
	big[QUERY_MAX] = 'a';
	big[QUERY_MAX + 1] = 0;
	CHECK(query_parse(big, NULL, &q) == ERR_TOOBIG);
}

TEST(plans)
{
	static const struct {
		const char *q;
		const char *kind;
	} cases[] = {
		{"EXPORT_SYMBOL", "trigrams"}, {"\\w+_ops\\b", "trigrams"}, {"(?i)sha256", "trigrams"},
		{"foo|bar", "trigrams"},       {"fo", "scan"},              {"\\w+", "scan"},
		{"foo|\\w", "scan"},           {"(?x) foo", "scan"},        {"sym:foo", "symbols"},
		{"a(?=bcd)", "scan"},          {"[A-Z]{2}_RESUME", "trigrams"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct query *q;
		CHECK(query_parse(cases[i].q, NULL, &q) == 0);
		if (strcmp(query_plan_kind(q), cases[i].kind))
			fprintf(stderr, "plan of '%s' is %s\n", cases[i].q, query_plan_kind(q));
		CHECK_EQ_STR(query_plan_kind(q), cases[i].kind);
		query_free(q);
	}
	{
		/* a filter takes the one space that separates it; the pattern keeps the rest */
		static const char text[] = "a foo   bar b\nfoo   bar \n foo   bar\n foo  bar \nfoo bar\nfoobar\n";
		struct query *q;
		CHECK(query_parse("file:x  foo   bar  lang:c", NULL, &q) == 0); /* " foo   bar " */
		CHECK(text_lines(text, q) == 1);
		query_free(q);
		CHECK(query_parse("file:x foo lang:c bar", NULL, &q) == 0); /* "foo bar" */
		CHECK(text_lines(text, q) == 1);
		query_free(q);
		CHECK(query_parse(" foo ", &(struct query_opts){.literal = 1}, &q) == 0);
		CHECK(text_lines("a foo b\nfoo\n foo\n", q) == 1);
		query_free(q);
	}
}


/* search_opts.prefilter: -1 to query_n_required, and nothing past them. */
TEST(prefilter_range)
{
	struct text_index ti;
	struct search_opts so;
	struct search_result *r = NULL;
	struct query *q;
	size_t n;
	CHECK(query_parse("EXPORT.*GPL", NULL, &q) == 0);
	n = query_n_required(q);
	CHECK(n == 2);
	text_index_one(&ti, "EXPORT_SYMBOL_GPL(x);\n", 22);
	search_opts_default(&so);
	for (int k = -2; k <= (int)n + 1; k++) {
		so.prefilter = k;
		if (k < -1 || k > (int)n) {
			CHECK(index_search(ti.ix, q, &so, &r) == ERR_USAGE && !r);
			CHECK(strstr(err_msg(), "is not one of the query's 2") != NULL);
		} else {
			CHECK(index_search(ti.ix, q, &so, &r) == 0 && search_result_total(r) == 1);
			search_result_free(r);
			r = NULL;
		}
	}
	text_index_free(&ti);
	query_free(q);
}

/*
 * The planner's table: for each pattern, a text it matches (the plan must accept it) and,
 * where the plan narrows, a text it must reject, with the reason the plan is sound. A
 * rejection is seen through an index that lists the rejected text's trigrams for a file
 * holding the matching text: the search finds its line only if the plan accepts those
 * trigrams.
 */
TEST(plan_table)
{
	static const struct {
		const char *q;
		int ci;
		const char *kind, *match, *reject, *why;
	} rows[] = {
		{"EXPORT.*GPL", 0, "trigrams", "EXPORT_SYMBOL_GPL(x);", "EXPORT_SYMBOL(x);",
		 ".* may match nothing or anything: EXPORT and GPL are two requirements, not EXPORTGPL"},
		{"spin_lock(_irq)?save", 0, "trigrams", "spin_lock_irqsave(&l, f);", "spin_lock(&l);",
		 "(..)? adds \"\" to the group's set: one of spin_locksave, spin_lock_irqsave"},
		{"(un)?register_netdev\\(", 0, "trigrams", "unregister_netdev(d)", "register_netdevice(d)",
		 "one of two strings; the suffix they share, register_netdev(, is required of the line"},
		{"foo[^x]*bar", 0, "trigrams", "foo-->bar", "foo only",
		 "a class is unknown and [^x]* may be empty: foo and bar apart"},
		{"spin_unlockz(?#)?", 0, "trigrams", "spin_unlock(l);", "spin_lock(l);",
		 "a comment is no item: ? quantifies z, so spin_unlock is required and z is not"},
		{"spin_unlockz\\Q\\E?", 0, "trigrams", "spin_unlock(l);", "spin_lock(l);",
		 "an empty \\Q\\E is no item: ? quantifies z"},
		{"ab\\Qcd\\E*e", 0, "trigrams", "abce", "abde",
		 "* after \\E quantifies d, the last character quoted: abc then e"},
		{"xyz{0000000}abc", 0, "trigrams", "xyabc", "xyz{0000000}abc",
		 "a brace of any digit count is a quantifier: z{0} may be absent, the braces are no text"},
		{"a{,3}bcd", 0, "scan", "a{,3}bcd", NULL,
		 "{,3} is text to this PCRE2 and a quantifier to later ones: not modelled, scanned"},
		{"foo{ 2}bar", 0, "scan", "foo{ 2}bar", NULL, "spaces in a brace: read either way, scanned"},
		{"(?i)sha256", 0, "trigrams", "SHA256_LEN", "sha1",
		 "caseless ASCII letters look up both cases of each trigram"},
		{"kmalloc", 1, "trigrams", "\xe2\x84\xaaMALLOC(", "vmalloc(",
		 "caseless k is k, K or KELVIN SIGN (PCRE2's caseless set): three strings ORed"},
		{"(?i:FOO)_bar", 0, "trigrams", "foo_bar", "FOO_BAR",
		 "a flag group's caselessness ends with the group: _bar keeps its case"},
		{"(a(?i)b|c)de", 0, "trigrams", "Cde", "xyz",
		 "an option set in one branch carries into the next (caseless whenever either is)"},
		{"\\w+_ops\\b", 0, "trigrams", "struct x_ops y", "ops",
		 "\\w+ is unknown; the run _ops after it is joined before it becomes trigrams"},
		{"[A-Z]{2}_RESUME", 0, "trigrams", "PM_RESUME", "RESUME",
		 "a quantified class is unknown; _RESUME is required"},
		{"foo\\x{62}ar", 0, "trigrams", "foobar", "foo bar", "\\x{62} is the character b"},
		{"foo|bar", 0, "trigrams", "a bar", "baz", "an alternation ORs its branches' plans"},
		{"foo|", 0, "scan", "anything", NULL, "an empty branch matches every line: no plan"},
		{"a(?=bcd)", 0, "scan", "abcd", NULL,
		 "an assertion consumes nothing: its text is not required of the match"},
		{"(foo)\\1", 0, "scan", "foofoo", NULL, "backreferences are not modelled: scanned"},
		{"(?x) foo", 0, "scan", "foo", NULL, "extended syntax is not modelled: scanned"},
		{"x*", 0, "scan", "a", NULL, "x* matches the empty string: every line"},
		{"fo", 0, "scan", "fo", NULL, "two bytes make no trigram"},
		{"[[:alpha:]]_ops", 0, "trigrams", "x_ops", "ops", "a POSIX class ends at :] then ]"},
		{"[]x]_ops", 0, "trigrams", "]_ops", "_op", "a ] first in a class is a member"},
		{"\\bfoo\\Bbar", 0, "trigrams", "foobar", "foo bar",
		 "\\b and \\B consume nothing: foobar is required"},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct query_opts o = {.caseless = rows[i].ci};
		struct query *q;
		if (query_parse(rows[i].q, &o, &q)) {
			fprintf(stderr, "'%s': %s\n", rows[i].q, err_msg());
			CHECK(0);
			continue;
		}
		if (strcmp(query_plan_kind(q), rows[i].kind))
			fprintf(stderr, "plan of '%s' is %s (%s)\n", rows[i].q, query_plan_kind(q), rows[i].why);
		CHECK_EQ_STR(query_plan_kind(q), rows[i].kind);
		CHECK(oracle_lines(rows[i].q, &o, (const unsigned char *)rows[i].match, strlen(rows[i].match)) == 1);
		for (int k = -1; k <= (int)query_n_required(q); k++) {
			struct text_index ti;
			text_index_one(&ti, rows[i].match, strlen(rows[i].match));
			if (search_lines(ti.ix, q, k) != 1)
				fprintf(stderr, "'%s' rejects '%s' (%s, prefilter %d)\n", rows[i].q, rows[i].match,
					rows[i].why, k);
			CHECK(search_lines(ti.ix, q, k) == 1);
			text_index_free(&ti);
		}
		if (rows[i].reject) {
			struct text_index ti;
			text_index_make(&ti, &(struct text_file){"t", rows[i].match, strlen(rows[i].match), rows[i].reject,
				strlen(rows[i].reject)}, 1);
			if (search_lines(ti.ix, q, 0) != 0)
				fprintf(stderr, "'%s' accepts '%s' (%s)\n", rows[i].q, rows[i].reject, rows[i].why);
			CHECK(search_lines(ti.ix, q, 0) == 0);
			text_index_free(&ti);
		}
		query_free(q);
	}
}

/* Lines as rg sees them: one at a time, after a BOM, none past the final newline. */
TEST(per_line)
{
	static const struct {
		const char *q, *text;
		uint64_t lines;
	} rows[] = {
		{"(?<=\\n)#include", "a\n#include <x>\n", 0},
		{"\\Afoo\\z", "x\nfoo\nfoo bar\n", 1},
		{"^\\s*$", "a\n\n  \nb\n\n", 3},
		{"^$", "a\n", 0},
		{"^$", "a\n\n", 1},
		{"x*", "a\nb", 2},
		{"x*", "", 0},
		{"^foo", "\xef\xbb\xbf" "foo\nfoo\n", 2},
		{"foo(?!\\s*bar)", "foo\nbar\n", 1},
		{"a\\s+b", "a\nb\n", 0},
		{"(?s)a.b", "a\nb\n", 0},
		{"foo$", "foo\r\nfoo\n", 1},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct query *q;
		struct text_index ti;
		struct query_opts o = {0};
		size_t n = strlen(rows[i].text);
		CHECK(query_parse(rows[i].q, &o, &q) == 0);
		CHECK(oracle_lines(rows[i].q, &o, (const unsigned char *)rows[i].text, n) == (int64_t)rows[i].lines);
		text_index_one(&ti, rows[i].text, n);
		for (int k = -1; k <= (int)query_n_required(q); k++) {
			int64_t got = search_lines(ti.ix, q, k);
			if (got != (int64_t)rows[i].lines)
				fprintf(stderr, "'%s' (prefilter %d): %lld lines, want %llu\n", rows[i].q, k,
					(long long)got, (unsigned long long)rows[i].lines);
			CHECK(got == (int64_t)rows[i].lines);
		}
		text_index_free(&ti);
		query_free(q);
	}
	CHECK(query_check("^\\s*$", &(struct query_opts){0}, (const unsigned char *)"\n \n", 3) == 0);
}

/*
 * The caseless rule of the planner: no ASCII character but k, K, s, S has a non-ASCII
 * caseless partner in this PCRE2 (a class of all printable ASCII, caseless, against every
 * code point past ASCII finds exactly KELVIN SIGN and LONG S).
 */
TEST(caseless_partners)
{
	int code, n = 0, others = 0;
	PCRE2_SIZE at;
	pcre2_code *c = pcre2_compile((PCRE2_SPTR) "^[\\x{20}-\\x{7e}]$", PCRE2_ZERO_TERMINATED,
				      PCRE2_UTF | PCRE2_UCP | PCRE2_CASELESS, &code, &at, NULL);
	pcre2_match_data *md = pcre2_match_data_create(1, NULL);
	CHECK(c != NULL);
	for (long cp = 0x80; c && cp <= 0x10ffff; cp++) {
		unsigned char b[4];
		size_t len;
		if (cp >= 0xd800 && cp < 0xe000)
			continue;
		if (cp < 0x800) {
			b[0] = (unsigned char)(0xc0 | cp >> 6);
			b[1] = (unsigned char)(0x80 | (cp & 0x3f));
			len = 2;
		} else if (cp < 0x10000) {
			b[0] = (unsigned char)(0xe0 | cp >> 12);
			b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
			b[2] = (unsigned char)(0x80 | (cp & 0x3f));
			len = 3;
		} else {
			b[0] = (unsigned char)(0xf0 | cp >> 18);
			b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
			b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
			b[3] = (unsigned char)(0x80 | (cp & 0x3f));
			len = 4;
		}
		if (pcre2_match(c, b, len, 0, 0, md, NULL) >= 0) {
			n++;
			others += cp != 0x212a && cp != 0x17f;
		}
	}
	CHECK(n == 2 && others == 0);
	pcre2_match_data_free(md);
	pcre2_code_free(c);
}

/* A small deterministic generator (xorshift) for the property test. */
static uint64_t rng_state = 0x5eed5eedULL;
static unsigned rnd(unsigned n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (unsigned)(rng_state % n);
}

static const char *const atoms[] = {
	"a", "b", "k", "s", "K", "S", "_", "x", " ", "\xc3\xa9", "\xc3\x89", "\xe2\x84\xaa",
	"\xc5\xbf", ".", "\\w", "\\d", "\\s", "\\S", "[ab]", "[^a]", "[[:alpha:]]", "\\b", "\\B",
	"^", "$", "\\A", "\\z", "\\Z", "(?=a)", "(?<=b)", "(?!a)", "(?<!k)", "\\Qa*\\E", "\\Q\\E",
	"(?#c)", "\\E", "\\x61", "\\x{6b}", "\\.", "{", "}", "\\n", "\\t", "(?i)", "(?-i)", "(?^)",
	"\\K", "\\x{212a}",
};
static const char *const quants[] = {
	"", "", "", "", "*", "+", "?", "{0,2}", "{1,3}", "{2}", "{0}", "??", "*+", "{1}",
	"{00000001,}", "{,2}",
};

static void gen(char *o, size_t *k, size_t cap, int depth)
{
	unsigned n = 1 + rnd(5);
	for (unsigned i = 0; i < n && *k + 64 < cap; i++) {
		const char *a, *qu = quants[rnd(sizeof(quants) / sizeof(quants[0]))];
		unsigned r = rnd(10);
		if (r == 0 && depth < 3) {
			static const char *const open[] = {"(", "(?:", "(?i:", "(?>", "(?=", "(?<n>"};
			size_t l;
			a = open[rnd(sizeof(open) / sizeof(open[0]))];
			l = strlen(a);
			memcpy(o + *k, a, l);
			*k += l;
			gen(o, k, cap, depth + 1);
			while (rnd(3) == 0 && *k + 64 < cap) {
				o[(*k)++] = '|';
				if (rnd(4))
					gen(o, k, cap, depth + 1);
			}
			o[(*k)++] = ')';
		} else {
			size_t l;
			a = atoms[rnd(sizeof(atoms) / sizeof(atoms[0]))];
			l = strlen(a);
			memcpy(o + *k, a, l);
			*k += l;
		}
		memcpy(o + *k, qu, strlen(qu));
		*k += strlen(qu);
	}
}

static const char *const pieces[] = {
	"a", "b", "k", "s", "K", "S", "_", "x", " ", "\n", "\n", "\xc3\xa9", "\xc3\x89",
	"\xe2\x84\xaa", "\xc5\xbf", ".", "*", "{", "}", "1", "\t", "\r", "ab", "ka", "\xff",
};

/*
 * The property: random patterns over random texts; wherever PCRE2 finds a line matching
 * alone, the plan and the prefilter accept the text, and the search counts what the
 * oracle counts.
 */
TEST(property)
{
	unsigned bad = 0, checked = 0;
	for (int i = 0; i < 50000 && bad < 10; i++) {
		char p[512];
		unsigned char t[256];
		size_t k = 0, n = 0;
		struct query_opts o = {.caseless = rnd(4) == 0, .word = rnd(6) == 0, .literal = rnd(8) == 0};
		gen(p, &k, sizeof(p) - 8, 0);
		p[k] = 0;
		if (rnd(8) == 0) {
			memcpy(t, "\xef\xbb\xbf", 3);
			n = 3;
		}
		for (unsigned j = rnd(40); j && n + 8 < sizeof(t); j--) {
			const char *x = pieces[rnd(sizeof(pieces) / sizeof(pieces[0]))];
			memcpy(t + n, x, strlen(x));
			n += strlen(x);
		}
		/* half the time, the text holds a literal run of the pattern */
		if (rnd(2) && k && n + 16 < sizeof(t)) {
			size_t at = rnd((unsigned)k), l = 1 + rnd(8);
			for (size_t j = at; j < k && j < at + l; j++)
				t[n++] = (unsigned char)p[j];
		}
		bad += (unsigned)query_check(p, &o, t, n);
		checked++;
	}
	CHECK(bad == 0);
	CHECK(checked == 50000);
}

/*
 * ASCII-only texts are matched with the pattern compiled without Unicode (re_ascii): the
 * property over texts of ASCII pieces only, with patterns made to tell the two apart where
 * they could differ (\d, \w, \s, \b, POSIX classes, caseless letters with non-ASCII case
 * partners: k and KELVIN SIGN, s and LONG S), against the Unicode oracle.
 */
TEST(ascii_texts)
{
	static const char *const ascii_pieces[] = {"a", "b", "k", "K", "s", "S", "_", "x", " ", "\n", "\n", "1", "9",
						   "\t", "\r", "\v", "\f", "-", ".", "(", ")", "ks", "\x7f", "\x01"};
	static const char *const pats[] = {
		"\\d", "\\d{2}-\\d", "\\w+", "\\W", "\\s", "\\S+", "\\bk", "k\\b", "\\B", "[[:alpha:]]+", "[[:^alpha:]]",
		"[[:punct:]]", "[[:space:]]", "[[:word:]]{3}", "\\p{L}", "\\p{Nd}", "\\P{L}", "(?i)k", "(?i)s", "(?i)KS",
		"(?i)[k-s]", "(?i)\\x{212a}", "(?i)\\x{17f}", "\\x{e9}", "(?i)\\x{c9}", ".", "^.$", "\\X", "\\R", "\\h",
		"\\v", "[^a]", "(*UCP)\\w", "(*UTF)(?i)k", "\\N{U+6B}", "(?i)\\N{U+212A}", "\\C", "(?<=\\d)k",
		"\\b\\w+\\b", "(?i)(?<!\\w)s(?!\\w)",
	};
	unsigned bad = 0;
	for (int i = 0; i < 20000 && bad < 10; i++) {
		char p[512];
		unsigned char t[256];
		size_t k = 0, n = 0;
		struct query_opts o = {.caseless = rnd(4) == 0, .word = rnd(6) == 0};
		if (rnd(2)) {
			snprintf(p, sizeof(p), "%s", pats[rnd(sizeof(pats) / sizeof(pats[0]))]);
		} else {
			gen(p, &k, sizeof(p) - 8, 0);
			p[k] = 0;
		}
		for (unsigned j = rnd(40); j && n + 8 < sizeof(t); j--) {
			const char *x = ascii_pieces[rnd(sizeof(ascii_pieces) / sizeof(ascii_pieces[0]))];
			memcpy(t + n, x, strlen(x));
			n += strlen(x);
		}
		bad += (unsigned)query_check(p, &o, t, n);
	}
	CHECK(bad == 0);
}

TEST(search_rank_and_page)
{
	struct fixture f;
	struct search_opts so;
	struct search_result *r;
	fixture_make(&f);
	search_opts_default(&so);
	r = run(&f, "foo_bar", NULL, &so);
	CHECK(r && search_result_total(r) == 3 && !search_result_partial(r));
	/* a.c defines foo_bar (rank 0), dir/foo_bar.txt matches by name (rank 1), then b.h */
	CHECK(r && search_result_n_files(r) == 3);
	if (r && search_result_n_files(r) == 3) {
		CHECK_EQ_STR(search_result_path(r, 0, NULL), "a.c");
		CHECK(search_result_line(r, 0, 0)->definition);
		CHECK(search_result_line(r, 0, 0)->line == 2);
		CHECK_EQ_STR(search_result_path(r, 1, NULL), "dir/foo_bar.txt");
		CHECK(search_result_line(r, 1, 0)->line == 3);
		CHECK_EQ_STR(search_result_path(r, 2, NULL), "b.h");
	}
	search_result_free(r);
	so.limit = 1;
	so.offset = 1;
	r = run(&f, "foo_bar", NULL, &so);
	CHECK(r && search_result_total(r) == 3 && search_result_lines_shown(r) == 1);
	CHECK(r && !strcmp(search_result_path(r, 0, NULL), "dir/foo_bar.txt"));
	search_result_free(r);
	so.offset = 0;
	so.count_all = 0;
	r = run(&f, "foo", NULL, &so);
	CHECK(r && search_result_total(r) == 1 && !search_result_partial(r));
	search_result_free(r);
	fixture_free(&f);
}

TEST(search_modes)
{
	struct fixture f;
	struct search_opts so;
	struct search_result *r;
	struct query_opts ci = {.caseless = 1}, w = {.word = 1}, lit = {.literal = 1};
	fixture_make(&f);
	search_opts_default(&so);
	r = run(&f, "café", &ci, &so); /* Café and café on one line */
	CHECK(r && search_result_total(r) == 1 && search_result_line(r, 0, 0)->n_ranges == 2);
	search_result_free(r);
	r = run(&f, "kelvin k", &ci, &so); /* k matches KELVIN SIGN caselessly */
	CHECK(r && search_result_total(r) == 1);
	search_result_free(r);
	r = run(&f, "foo", &w, &so); /* "int foo;" only */
	CHECK(r && search_result_total(r) == 1);
	search_result_free(r);
	r = run(&f, "(*open)", &lit, &so);
	CHECK(r && search_result_total(r) == 1);
	search_result_free(r);
	r = run(&f, "foo file:\\.h$", NULL, &so);
	CHECK(r && search_result_total(r) == 2);
	search_result_free(r);
	r = run(&f, "foo -file:\\.h$ lang:c", NULL, &so);
	CHECK(r && search_result_total(r) == 2);
	search_result_free(r);
	r = run(&f, "sym:foo_.*", NULL, &so);
	CHECK(r && search_result_total(r) == 2); /* foo_bar(), foo_ops; not the prototype, not FOO_BAR */
	search_result_free(r);
	r = run(&f, "^$", NULL, &so); /* empty files and the cut binary give no lines */
	CHECK(r && search_result_total(r) == 0);
	search_result_free(r);
	so.context = 1;
	r = run(&f, "return", NULL, &so);
	CHECK(r && search_result_lines_shown(r) == 3 && search_result_line(r, 0, 0)->context);
	search_result_free(r);
	fixture_free(&f);
}

TEST(case_variants)
{
	struct fixture f;
	struct search_opts so;
	struct search_result *r;
	struct query_opts ci = {.caseless = 1};
	fixture_make(&f);
	search_opts_default(&so);
	/* trigrams keep case: each case variant of a caseless query's trigrams is looked up */
	r = run(&f, "FOO_bar", &ci, &so); /* foo_bar and FOO_BAR, everywhere */
	CHECK(r && search_result_total(r) == 5 && search_result_total_files(r) == 3);
	search_result_free(r);
	r = run(&f, "FOO_BAR", NULL, &so);
	CHECK(r && search_result_total(r) == 2);
	search_result_free(r);
	r = run(&f, "FOO_(?i:bAr)", NULL, &so); /* a caseless group inside a case-sensitive pattern */
	CHECK(r && search_result_total(r) == 2);
	search_result_free(r);
	r = run(&f, "(?i)foo_ops", NULL, &so);
	CHECK(r && search_result_total(r) == 1);
	search_result_free(r);
	r = run(&f, "CAFÉ", &ci, &so);
	CHECK(r && search_result_total(r) == 1);
	search_result_free(r);
	fixture_free(&f);
}

TEST(count_in_parallel)
{
	static struct fixture_file files[301];
	static char paths[300][16], data[300][128];
	struct fixture f;
	struct search_opts so;
	struct search_result *r;
	uint64_t want = 0;
	for (int i = 0; i < 300; i++) {
		int n = 0;
		snprintf(paths[i], sizeof(paths[i]), "f%03d.c", i);
		for (int k = 0; k < i % 4; k++)
			n += snprintf(data[i] + n, sizeof(data[i]) - (size_t)n, "x hit_line %d\n", k);
		snprintf(data[i] + n, sizeof(data[i]) - (size_t)n, "Hit_Line\n");
		files[i] = (struct fixture_file){paths[i], data[i], 0, 0100644};
		want += (uint64_t)(i % 4);
	}
	files[300] = (struct fixture_file){NULL, NULL, 0, 0};
	fixture_make_files(&f, files);
	search_opts_default(&so);
	so.limit = 5;
	/* the page fills in the first files; the rest is counted on every CPU */
	r = run(&f, "hit_line", NULL, &so);
	CHECK(r && search_result_total(r) == want && search_result_total_files(r) == 225);
	CHECK(r && search_result_lines_shown(r) == 5 && !search_result_partial(r));
	search_result_free(r);
	r = run(&f, "\\bhit_\\w+", NULL, &so);
	CHECK(r && search_result_total(r) == want);
	search_result_free(r);
	r = run(&f, "HIT_LINE", &(struct query_opts){.caseless = 1}, &so);
	CHECK(r && search_result_total(r) == want + 300 && search_result_total_files(r) == 300);
	search_result_free(r);
	so.offset = 400;
	r = run(&f, "hit_line", NULL, &so);
	CHECK(r && search_result_total(r) == want && search_result_lines_shown(r) == 5);
	search_result_free(r);
	fixture_free(&f);
}

TEST(limits)
{
	struct fixture f;
	struct search_opts so;
	struct search_result *r;
	struct query *q;
	fixture_make(&f);
	search_opts_default(&so);
	so.limit = SEARCH_LIMIT_MAX + 1;
	CHECK(query_parse("foo", NULL, &q) == 0);
	CHECK(index_search(f.ix, q, &so, &r) == ERR_USAGE);
	so.limit = SEARCH_LIMIT_MAX;
	CHECK(index_search(f.ix, q, &so, &r) == 0);
	search_result_free(r);
	so.context = SEARCH_CONTEXT_MAX + 1;
	CHECK(index_search(f.ix, q, &so, &r) == ERR_USAGE);
	query_free(q);
	fixture_free(&f);
}

TEST(json)
{
	struct fixture f;
	struct search_opts so;
	struct search_result *r;
	struct buf b;
	fixture_make(&f);
	search_opts_default(&so);
	buf_init(&b, 0);
	r = run(&f, "FOO_BAR \\+", NULL, &so);
	CHECK(r && search_result_json(r, &b) == 0);
	CHECK_EQ_STR(b.p, "{\"total\":1,\"files\":[{\"path\":\"a.c\",\"matches\":[{\"line\":4,"
			  "\"text\":\"\\treturn FOO_BAR + x;\",\"ranges\":[[8,17]]}]}],"
			  "\"total_files\":1,\"lines_shown\":1,\"partial\":false}");
	search_result_free(r);
	buf_release(&b);
	fixture_free(&f);
}

/* ---- results from a search worker: search_result_encode / search_result_decode ---- */

static const struct fixture_file wire_files[] = {
	{"a.c", "#include <x.h>\nstatic int foo_bar(int x)\n{\n\treturn FOO_BAR + x;\n}\nint foo;\n", 0, 0100644},
	{"b.h", "#define FOO_BAR 1\nstruct foo_ops {\n\tint (*open)(void);\n};\nvoid foo_bar(int);\n", 0, 0100644},
	{"bin.dat", "foo_bar\n\0foo_bar\n", 17, 0100644},
	{"bom.c", "\xef\xbb\xbf" "foo_bar(1);\nint foo_bar(void)\n{\n\tfoo = 1;\n\n\treturn foo;\n}\n", 0, 0100644},
	{"crlf.txt", "foo\r\n\r\nfoo bar foo\r\nend", 0, 0100644},
	{"dir/foo_bar.txt", "nothing here\nCaf\xc3\xa9 caf\xc3\xa9 Kelvin \xe2\x84\xaa\nlast foo_bar", 0, 0100644},
	{"empty", "", 0, 0100644},
	{"link", "a.c", 0, 0120000},
	{"rx.txt", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab\nfoo\n", 0, 0100644},
	{"u16.txt", "\xff\xfe" "f\0o\0o\0\n\0\n\0b\0a\0r\0 \0f\0o\0o\0\n\0\xe9\0", 26, 0100644},
	{"z.txt", "one foo\ntwo\nthree\nfoo four foo foo\nfive\nsix\nseven foo\n", 0, 0100644},
	{NULL, NULL, 0, 0},
};

/* The file number of path in the fixture's manifest. */
static uint32_t file_no(const struct fixture *f, const char *path)
{
	for (size_t i = 0; i < manifest_count(f->m); i++)
		if (!strcmp(manifest_get(f->m, i)->path, path))
			return (uint32_t)i;
	BUG("no '%s' in the fixture", path);
}

/* Do a and b answer every accessor and search_result_json alike, byte for byte? */
static int same_result(const struct search_result *a, const struct search_result *b)
{
	struct buf ja, jb;
	double ma = search_result_ms(a), mb = search_result_ms(b);
	int same = search_result_total(a) == search_result_total(b) &&
		   search_result_total_files(a) == search_result_total_files(b) &&
		   search_result_partial(a) == search_result_partial(b) &&
		   !strcmp(search_result_partial_reason(a), search_result_partial_reason(b)) &&
		   search_result_lines_shown(a) == search_result_lines_shown(b) && !memcmp(&ma, &mb, sizeof(ma)) &&
		   search_result_n_files(a) == search_result_n_files(b);
	for (size_t i = 0; same && i < search_result_n_files(a); i++) {
		size_t la, lb;
		const char *pa = search_result_path(a, i, &la), *pb = search_result_path(b, i, &lb);
		same = la == lb && pa == pb && search_result_file(a, i) == search_result_file(b, i) &&
		       search_result_n_lines(a, i) == search_result_n_lines(b, i);
		for (size_t j = 0; same && j < search_result_n_lines(a, i); j++) {
			const struct search_line *x = search_result_line(a, i, j), *y = search_result_line(b, i, j);
			same = x->line == y->line && x->text == y->text && x->len == y->len &&
			       x->n_ranges == y->n_ranges && x->context == y->context && x->definition == y->definition &&
			       (!x->n_ranges || !memcmp(x->ranges, y->ranges, x->n_ranges * sizeof(*x->ranges)));
		}
	}
	buf_init(&ja, 0);
	buf_init(&jb, 0);
	if (same)
		same = !search_result_json(a, &ja) && !search_result_json(b, &jb) && ja.len == jb.len &&
		       !memcmp(ja.p, jb.p, ja.len);
	buf_release(&ja);
	buf_release(&jb);
	return same;
}

/*
 * Is every line of r exactly one line of its file's searchable text (after a UTF-8 BOM,
 * not past the final newline), numbered as that line is, with its ranges inside it?
 */
static int lines_in_index(const struct index *ix, const struct search_result *r)
{
	for (size_t i = 0; i < search_result_n_files(r); i++) {
		size_t id = search_result_file(r, i), tl, n = index_search_len(ix, id), base;
		const unsigned char *d = index_read_text(ix, id, &tl);
		if (!d || !n || id >= index_n_files(ix))
			return 0;
		base = n >= 3 && !memcmp(d, "\xef\xbb\xbf", 3) ? 3 : 0;
		for (size_t j = 0; j < search_result_n_lines(r, i); j++) {
			const struct search_line *l = search_result_line(r, i, j);
			const unsigned char *t = (const unsigned char *)l->text;
			uint64_t no = 1;
			if (t < d + base || t >= d + n || l->len > (size_t)(d + n - t) ||
			    (t > d + base && t[-1] != '\n') || memchr(t, '\n', l->len) ||
			    (t + l->len < d + n && t[l->len] != '\n'))
				return 0;
			for (const unsigned char *c = d; c < t; c++)
				no += *c == '\n';
			if (no != l->line)
				return 0;
			for (size_t k = 0; k < l->n_ranges; k++)
				if (l->ranges[k].start > l->ranges[k].end || l->ranges[k].end > l->len)
					return 0;
		}
	}
	return 1;
}

static uint64_t get_n(const unsigned char *p, int bytes)
{
	uint64_t v = 0;
	for (int i = 0; i < bytes; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static void put_n(unsigned char *p, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

/* Where each file, line and range record of an encoding starts (docs/formats.md). */
struct enc_map {
	size_t file[64], line[256], range[512], end;
	size_t n_files, n_lines, n_ranges;
};

#define E_TOTAL 4
#define E_TOTAL_FILES 12
#define E_MS 20
#define E_PARTIAL 28
#define E_REASON 29
#define E_N_FILES 30
#define E_N_LINES 34
#define E_N_RANGES 38
#define E_HEAD 42

static void map_enc(const struct buf *b, struct enc_map *m)
{
	const unsigned char *p = (const unsigned char *)b->p;
	size_t at = E_HEAD;
	memset(m, 0, sizeof(*m));
	for (uint64_t f = get_n(p + E_N_FILES, 4); f; f--) {
		uint64_t nl = get_n(p + at + 4, 4);
		if (m->n_files == 64)
			BUG("map_enc: too many files");
		m->file[m->n_files++] = at;
		at += 8;
		for (; nl; nl--) {
			uint64_t nr = get_n(p + at + 25, 2);
			if (m->n_lines == 256)
				BUG("map_enc: too many lines");
			m->line[m->n_lines++] = at;
			at += 27;
			for (; nr; nr--) {
				if (m->n_ranges == 512)
					BUG("map_enc: too many ranges");
				m->range[m->n_ranges++] = at;
				at += 8;
			}
		}
	}
	m->end = at;
}

/* Is (p, len) refused with ERR_PARSE, no result, and a message holding want? */
static int refused_bytes(const struct index *ix, const void *p, size_t len, const char *want)
{
	struct search_result *r = (struct search_result *)1;
	int rc = search_result_decode(ix, p, len, &r);
	if (rc == 0)
		search_result_free(r);
	if (rc != ERR_PARSE || r || strncmp(err_msg(), "search result: ", 15) || (want && !strstr(err_msg(), want))) {
		fprintf(stderr, "  decode gave %d, '%s' (wanted '%s')\n", rc, rc ? err_msg() : "", want ? want : "");
		return 0;
	}
	return 1;
}

/* Is the good encoding with the field at `at` (bytes wide) set to v refused? */
static int refused(const struct index *ix, const struct buf *good, size_t at, uint64_t v, int bytes, const char *want)
{
	unsigned char *p = xmalloc(good->len);
	int ok;
	memcpy(p, good->p, good->len);
	put_n(p + at, v, bytes);
	ok = refused_bytes(ix, p, good->len, want);
	free(p);
	return ok;
}

static struct search_result *encode_run(struct fixture *f, const char *q, const struct query_opts *qo,
					const struct search_opts *so, struct buf *enc)
{
	struct search_result *r = run(f, q, qo, so);
	buf_reset(enc);
	if (r && search_result_encode(r, enc)) {
		search_result_free(r);
		return NULL;
	}
	return r;
}

TEST(result_round_trip)
{
	static const char *const pats[] = {
		"foo", "foo_bar", "FOO", "bar", "o", "^", "x*", "^$", "\\bfoo\\b", "foo$", "\\r$", "end",
		"caf\xc3\xa9", "\xc3\xa9", "Kelvin", "nothing_matches_this", "return", "sym:foo_.*", "sym:foo_bar",
		"sym:open", "foo file:\\.c$", "lang:c foo", "foo -file:z", "^(a+)+$", "(?i)k", "\\w+", "int",
	};
	struct search_opts opts[8];
	struct query_opts qos[3] = {{0}, {.caseless = 1}, {.word = 1}};
	struct fixture f;
	struct buf enc, again;
	size_t n_runs = 0, n_lines = 0, n_partial = 0, n_full = 0, n_ctx = 0, n_def = 0, n_bom = 0, n_u16 = 0;
	uint32_t bom = 0, u16 = 0;
	fixture_make_files(&f, wire_files);
	bom = file_no(&f, "bom.c");
	u16 = file_no(&f, "u16.txt");
	for (size_t i = 0; i < 8; i++)
		search_opts_default(&opts[i]);
	opts[1].context = 1;
	opts[2].context = 3;
	opts[3].limit = 1;
	opts[3].offset = 1;
	opts[4].count_all = 0;
	opts[4].limit = 2;
	opts[5].limit = SEARCH_LIMIT_MAX;
	opts[5].context = SEARCH_CONTEXT_MAX;
	opts[6].offset = 3;
	opts[6].limit = 3;
	opts[6].context = 2;
	opts[7].limit = 0;
	buf_init(&enc, 0);
	buf_init(&again, 0);
	for (size_t p = 0; p < sizeof(pats) / sizeof(pats[0]); p++)
		for (size_t o = 0; o < 8; o++)
			for (size_t c = 0; c < 3; c++) {
				struct search_result *r = encode_run(&f, pats[p], &qos[c], &opts[o], &enc), *d = NULL;
				CHECK(r != NULL);
				if (!r)
					continue;
				CHECK(search_result_decode(f.ix, enc.p, enc.len, &d) == 0);
				if (d && !same_result(r, d))
					fprintf(stderr, "  '%s' opts %zu/%zu: decoded result differs\n", pats[p], o, c);
				CHECK(d && same_result(r, d) && lines_in_index(f.ix, d));
				/* the encoding is canonical: a decoded result encodes to the same bytes */
				buf_reset(&again);
				CHECK(d && search_result_encode(d, &again) == 0 && again.len == enc.len &&
				      !memcmp(again.p, enc.p, enc.len));
				n_runs++;
				n_lines += search_result_lines_shown(r);
				n_partial += search_result_partial(r) && !strcmp(search_result_partial_reason(r), "match limit");
				n_full += !strcmp(search_result_partial_reason(r), "page full");
				for (size_t i = 0; i < search_result_n_files(r); i++)
					for (size_t j = 0; j < search_result_n_lines(r, i); j++) {
						const struct search_line *l = search_result_line(r, i, j);
						n_ctx += l->context;
						n_def += l->definition;
						n_bom += search_result_file(r, i) == bom && l->line == 1;
						n_u16 += search_result_file(r, i) == u16;
					}
				search_result_free(d);
				search_result_free(r);
			}
	/* the runs saw every kind of line and result */
	CHECK(n_runs == 27 * 8 * 3 && n_lines > 1000);
	CHECK(n_partial > 0 && n_full > 0 && n_ctx > 0 && n_def > 0 && n_bom > 0 && n_u16 > 0);
	{
		/* the first line of a file with a UTF-8 BOM starts after it, as the search has it */
		struct search_result *r = encode_run(&f, "foo_bar\\(1", NULL, NULL, &enc);
		CHECK(r && search_result_n_files(r) == 1 && search_result_file(r, 0) == bom);
		if (r && search_result_n_files(r) == 1) {
			size_t tl;
			const struct search_line *l = search_result_line(r, 0, 0);
			CHECK(l->line == 1 && l->text == (const char *)index_read_text(f.ix, bom, &tl) + 3);
			CHECK(get_n((const unsigned char *)enc.p + E_HEAD + 8 + 8, 8) == 3);
			CHECK(refused(f.ix, &enc, E_HEAD + 8 + 8, 0, 8, "not inside its searchable"));
		}
		search_result_free(r);
	}
	{
		/* an empty page */
		struct search_result *r = encode_run(&f, "nothing_matches_this", NULL, NULL, &enc), *d = NULL;
		CHECK(r && enc.len == E_HEAD && search_result_decode(f.ix, enc.p, enc.len, &d) == 0 && d &&
		      search_result_n_files(d) == 0 && same_result(r, d));
		search_result_free(d);
		search_result_free(r);
	}
	buf_release(&again);
	buf_release(&enc);
	fixture_free(&f);
}

/* The encoding with record [a, b) moved to before c (c <= a), or after it (c >= b). */
static void move_block(const struct buf *good, size_t a, size_t b, size_t c, struct buf *out)
{
	buf_reset(out);
	if (c <= a) {
		if (buf_add(out, good->p, c) || buf_add(out, good->p + a, b - a) || buf_add(out, good->p + c, a - c) ||
		    buf_add(out, good->p + b, good->len - b))
			BUG("move_block");
	} else {
		if (buf_add(out, good->p, a) || buf_add(out, good->p + b, c - b) || buf_add(out, good->p + a, b - a) ||
		    buf_add(out, good->p + c, good->len - c))
			BUG("move_block");
	}
}

TEST(result_tampered)
{
	struct fixture f;
	struct search_opts so;
	struct search_result *r, *d;
	struct buf enc, t;
	struct enc_map m;
	const unsigned char *p;
	size_t n_ix, n_match = 0, ctx_line = SIZE_MAX, plain_line = SIZE_MAX, with_range = SIZE_MAX;
	fixture_make_files(&f, wire_files);
	n_ix = index_n_files(f.ix);
	buf_init(&enc, 0);
	buf_init(&t, 0);
	search_opts_default(&so);
	so.context = 1;
	r = encode_run(&f, "foo", NULL, &so, &enc);
	CHECK(r && search_result_n_files(r) >= 5);
	if (!r)
		goto out;
	map_enc(&enc, &m);
	p = (const unsigned char *)enc.p;
	CHECK(m.end == enc.len && m.n_files == search_result_n_files(r) && m.n_lines == search_result_lines_shown(r));
	for (size_t k = 0; k < m.n_lines; k++) {
		unsigned flags = p[m.line[k] + 24];
		uint64_t nr = get_n(p + m.line[k] + 25, 2);
		n_match += flags != 1;
		if (flags == 1 && ctx_line == SIZE_MAX)
			ctx_line = k;
		if (flags == 0 && nr && with_range == SIZE_MAX)
			with_range = k;
		if (flags == 0 && nr && k > 0 && plain_line == SIZE_MAX)
			plain_line = k;
	}
	CHECK(ctx_line != SIZE_MAX && with_range != SIZE_MAX && plain_line != SIZE_MAX);
	if (ctx_line == SIZE_MAX || with_range == SIZE_MAX || plain_line == SIZE_MAX)
		goto out;
	CHECK(search_result_decode(f.ix, enc.p, enc.len, &d) == 0);
	search_result_free(d);

	/* the head */
	CHECK(refused(f.ix, &enc, 0, 'X', 1, "not a search result"));
	CHECK(refused(f.ix, &enc, E_PARTIAL, 2, 1, "bad partial flag"));
	CHECK(refused(f.ix, &enc, E_REASON, 4, 1, "unknown partial reason"));
	CHECK(refused(f.ix, &enc, E_REASON, 255, 1, "unknown partial reason"));
	for (unsigned k = 1; k <= 3; k++) {
		static const char *const names[] = {"", "time budget", "match limit", "page full"};
		unsigned char *q = xmalloc(enc.len);
		memcpy(q, enc.p, enc.len);
		q[E_REASON] = (unsigned char)k;
		q[E_PARTIAL] = k < 3;
		CHECK(search_result_decode(f.ix, q, enc.len, &d) == 0 && d &&
		      !strcmp(search_result_partial_reason(d), names[k]) && search_result_partial(d) == (k < 3));
		search_result_free(d);
		free(q);
	}
	{
		double bad[3] = {NAN, -1.0, INFINITY};
		for (int k = 0; k < 3; k++) {
			uint64_t v;
			memcpy(&v, &bad[k], 8);
			CHECK(refused(f.ix, &enc, E_MS, v, 8, "bad search time"));
		}
	}
	CHECK(refused(f.ix, &enc, E_TOTAL, 0, 8, "totals"));
	CHECK(refused(f.ix, &enc, E_TOTAL, n_match - 1, 8, "totals"));
	CHECK(n_match <= search_result_total(r));
	{
		unsigned char *q = xmalloc(enc.len);
		memcpy(q, enc.p, enc.len);
		put_n(q + E_TOTAL, n_match, 8);
		put_n(q + E_TOTAL_FILES, m.n_files, 8);
		CHECK(search_result_decode(f.ix, q, enc.len, &d) == 0 && d && search_result_total(d) == n_match);
		search_result_free(d);
		free(q);
	}
	CHECK(refused(f.ix, &enc, E_TOTAL_FILES, m.n_files - 1, 8, "totals"));
	/* counts past the limits or the bytes there are: refused before anything is allocated */
	CHECK(refused(f.ix, &enc, E_N_LINES, 0xffffffff, 4, "is past"));
	CHECK(refused(f.ix, &enc, E_N_LINES, (uint64_t)SEARCH_LIMIT_MAX * (2 * SEARCH_CONTEXT_MAX + 1) + 1, 4, "is past"));
	CHECK(refused(f.ix, &enc, E_N_LINES, (uint64_t)SEARCH_LIMIT_MAX * (2 * SEARCH_CONTEXT_MAX + 1), 4, "cut short"));
	CHECK(refused(f.ix, &enc, E_N_FILES, 0xffffffff, 4, "files for"));
	CHECK(refused(f.ix, &enc, E_N_RANGES, 0xffffffff, 4, NULL));
	CHECK(refused(f.ix, &enc, E_N_RANGES, get_n(p + E_N_RANGES, 4) + 1, 4, "cut short"));
	CHECK(refused(f.ix, &enc, E_N_LINES, m.n_lines - 1, 4, "bytes after"));
	CHECK(refused(f.ix, &enc, m.file[0] + 4, 0xffffffff, 4, "more lines than its count"));
	CHECK(refused(f.ix, &enc, m.file[0] + 4, 0, 4, "has no lines"));
	CHECK(refused(f.ix, &enc, m.line[with_range] + 25, 0xffff, 2, "is past 1001"));
	CHECK(refused(f.ix, &enc, m.line[with_range] + 25, get_n(p + m.line[with_range] + 25, 2) + 1, 2, NULL));

	/* file numbers */
	CHECK(refused(f.ix, &enc, m.file[0], n_ix, 4, "is past the index"));
	CHECK(refused(f.ix, &enc, m.file[0], 0xffffffff, 4, "is past the index"));
	CHECK(refused(f.ix, &enc, m.file[0], file_no(&f, "link"), 4, "has no text"));
	CHECK(refused(f.ix, &enc, m.file[0], file_no(&f, "empty"), 4, "has no text"));
	CHECK(refused(f.ix, &enc, m.file[0], file_no(&f, "bin.dat"), 4, "has no text"));
	CHECK(refused(f.ix, &enc, m.file[1], get_n(p + m.file[0], 4), 4, "listed twice"));

	/* a line: its number, its bytes */
	for (size_t k = 0; k < m.n_lines; k += m.n_lines - 1) {
		size_t at = m.line[k];
		uint64_t line = get_n(p + at, 8), ls = get_n(p + at + 8, 8), le = get_n(p + at + 16, 8);
		CHECK(refused(f.ix, &enc, at, line + 1, 8, "is line"));
		CHECK(refused(f.ix, &enc, at, line - 1, 8, NULL));
		CHECK(refused(f.ix, &enc, at + 8, ls + 1, 8, NULL));
		CHECK(refused(f.ix, &enc, at + 8, ls - 1, 8, NULL));
		CHECK(refused(f.ix, &enc, at + 16, le + 1, 8, NULL));
		CHECK(refused(f.ix, &enc, at + 16, le - 1, 8, NULL));
		CHECK(refused(f.ix, &enc, at + 8, le + 1, 8, "not inside"));
		CHECK(refused(f.ix, &enc, at + 16, 1ull << 40, 8, "not inside"));
		CHECK(refused(f.ix, &enc, at + 8, UINT64_MAX, 8, "not inside"));
	}
	{
		/* the end just past the searchable length of the first file */
		size_t id = get_n(p + m.file[0], 4), at = m.line[get_n(p + m.file[0] + 4, 4) - 1];
		CHECK(refused(f.ix, &enc, at + 16, index_search_len(f.ix, id) + 1, 8, "not inside"));
	}
	CHECK(refused(f.ix, &enc, m.line[ctx_line] + 24, 4, 1, "bad flags"));
	CHECK(refused(f.ix, &enc, m.line[ctx_line] + 24, 3, 1, "bad flags"));
	CHECK(refused(f.ix, &enc, m.line[with_range] + 24, 1, 1, "has match ranges"));
	{
		/* a definition the index does not have: z.txt defines nothing */
		size_t z = SIZE_MAX;
		for (size_t k = 0; k < m.n_lines; k++)
			for (size_t i = 0; i < m.n_files; i++)
				if (get_n(p + m.file[i], 4) == file_no(&f, "z.txt") && m.line[k] > m.file[i] &&
				    (i + 1 == m.n_files || m.line[k] < m.file[i + 1]) && !p[m.line[k] + 24] &&
				    get_n(p + m.line[k] + 25, 2) && z == SIZE_MAX)
					z = k;
		CHECK(z != SIZE_MAX && refused(f.ix, &enc, m.line[z] + 24, 2, 1, "defines no symbol"));
	}

	/* ranges */
	{
		size_t at = m.line[with_range], ra = at + 27;
		uint64_t len = get_n(p + at + 16, 8) - get_n(p + at + 8, 8);
		uint64_t s = get_n(p + ra, 4), e = get_n(p + ra + 4, 4);
		CHECK(refused(f.ix, &enc, ra + 4, len + 1, 4, "not inside line"));
		CHECK(refused(f.ix, &enc, ra, e + 1, 4, "not inside line"));
		CHECK(refused(f.ix, &enc, ra, 0xffffffff, 4, "not inside line"));
		CHECK(s <= e);
	}

	/* order: lines of a file swapped or repeated, files reversed, a file listed twice */
	{
		size_t a = m.line[0], b = m.line[1], c = b + 27 + 8 * get_n(p + b + 25, 2);
		CHECK(b < m.file[1]); /* the first file has two lines or more (context) */
		move_block(&enc, b, c, a, &t);
		CHECK(refused_bytes(f.ix, t.p, t.len, "not ascending"));
	}
	{
		/* the first line twice */
		size_t a = m.line[0], b = m.line[1];
		buf_reset(&t);
		CHECK(buf_add(&t, enc.p, b) == 0 && buf_add(&t, enc.p + a, b - a) == 0 &&
		      buf_add(&t, enc.p + b, enc.len - b) == 0);
		put_n((unsigned char *)t.p + E_N_LINES, m.n_lines + 1, 4);
		put_n((unsigned char *)t.p + E_N_RANGES, get_n(p + E_N_RANGES, 4) + get_n(p + a + 25, 2), 4);
		put_n((unsigned char *)t.p + m.file[0] + 4, get_n(p + m.file[0] + 4, 4) + 1, 4);
		CHECK(refused_bytes(f.ix, t.p, t.len, "not ascending"));
	}
	{
		/* the files in reverse: more than the three ranks' ascending runs */
		buf_reset(&t);
		CHECK(buf_add(&t, enc.p, E_HEAD) == 0);
		for (size_t i = m.n_files; i--;)
			CHECK(buf_add(&t, enc.p + m.file[i], (i + 1 < m.n_files ? m.file[i + 1] : enc.len) - m.file[i]) == 0);
		CHECK(t.len == enc.len && refused_bytes(f.ix, t.p, t.len, "order"));
	}
	{
		/* the first file again at the end */
		size_t a = m.file[0], b = m.file[1];
		uint64_t nr = 0;
		for (size_t k = 0; k < m.n_ranges; k++)
			nr += m.range[k] < b;
		buf_reset(&t);
		CHECK(buf_add(&t, enc.p, enc.len) == 0 && buf_add(&t, enc.p + a, b - a) == 0);
		put_n((unsigned char *)t.p + E_N_FILES, m.n_files + 1, 4);
		put_n((unsigned char *)t.p + E_N_LINES, m.n_lines + get_n(p + a + 4, 4), 4);
		put_n((unsigned char *)t.p + E_N_RANGES, get_n(p + E_N_RANGES, 4) + nr, 4);
		CHECK(refused_bytes(f.ix, t.p, t.len, "listed twice"));
	}

	/* cut at every length, a byte more */
	{
		size_t bad = 0;
		for (size_t n = 0; n < enc.len; n++)
			bad += !refused_bytes(f.ix, enc.p, n, NULL);
		CHECK(bad == 0);
		buf_reset(&t);
		CHECK(buf_add(&t, enc.p, enc.len) == 0 && buf_addch(&t, 0) == 0);
		CHECK(refused_bytes(f.ix, t.p, t.len, "1 bytes after"));
	}
out:
	search_result_free(r);
	buf_release(&t);
	buf_release(&enc);
	fixture_free(&f);
}

/* Random byte flips in good encodings: refused, or a result whose every line is one line of the index. */
TEST(result_flips)
{
	static const char *const pats[] = {"foo", "sym:foo_.*", "o", "^$|bar"};
	struct fixture f;
	struct search_opts so;
	struct buf enc, t;
	size_t accepted = 0, bad = 0;
	fixture_make_files(&f, wire_files);
	buf_init(&enc, 0);
	buf_init(&t, 0);
	search_opts_default(&so);
	so.context = 2;
	rng_state = 0x5eed0f11ULL;
	for (size_t p = 0; p < sizeof(pats) / sizeof(pats[0]); p++) {
		struct search_result *r = encode_run(&f, pats[p], NULL, &so, &enc);
		CHECK(r && enc.len > E_HEAD);
		search_result_free(r);
		for (int it = 0; it < 5000 && enc.len > E_HEAD; it++) {
			struct search_result *d = NULL;
			unsigned n = 1 + rnd(4);
			buf_reset(&t);
			CHECK(buf_add(&t, enc.p, enc.len) == 0);
			while (n--) {
				size_t at = rnd((unsigned)t.len);
				t.p[at] ^= (char)(rnd(2) ? 1u << rnd(8) : 1 + rnd(255));
			}
			if (search_result_decode(f.ix, t.p, t.len, &d) == 0) {
				accepted++;
				bad += !d || !lines_in_index(f.ix, d);
				search_result_free(d);
			} else if (d || strncmp(err_msg(), "search result: ", 15)) {
				bad++;
			}
		}
	}
	CHECK(bad == 0 && accepted > 0);
	buf_release(&t);
	buf_release(&enc);
	fixture_free(&f);
}

int main(void)
{
	RUN(parse_errors);
	RUN(plans);
	RUN(prefilter_range);
	RUN(plan_table);
	RUN(per_line);
	RUN(caseless_partners);
	RUN(property);
	RUN(ascii_texts);
	RUN(search_rank_and_page);
	RUN(search_modes);
	RUN(case_variants);
	RUN(count_in_parallel);
	RUN(limits);
	RUN(json);
	RUN(result_round_trip);
	RUN(result_tampered);
	RUN(result_flips);
	return test_done();
}
