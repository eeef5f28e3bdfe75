/* test_query: parsing (errors, filters, plans), searching, ranking, paging, limits, JSON. */
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
	CHECK_EQ_STR(query_pattern(q), "  ");
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
		struct query *q;
		/* a filter takes the one space that separates it; the pattern keeps the rest */
		CHECK(query_parse("file:x  foo   bar  lang:c", NULL, &q) == 0);
		CHECK_EQ_STR(query_pattern(q), " foo   bar ");
		query_free(q);
		CHECK(query_parse("file:x foo lang:c bar", NULL, &q) == 0);
		CHECK_EQ_STR(query_pattern(q), "foo bar");
		query_free(q);
		CHECK(query_parse(" foo ", &(struct query_opts){.literal = 1}, &q) == 0);
		CHECK_EQ_STR(query_pattern(q), " foo ");
		CHECK(query_count_text(q, "a foo b\nfoo\n foo\n", 17, -1) == 1);
		query_free(q);
	}
}


/*
 * The planner's table: for each pattern, a text it matches (the plan must accept it) and,
 * where the plan narrows, a text it must reject, with the reason the plan is sound.
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
		if (!query_accepts(q, rows[i].match, strlen(rows[i].match)))
			fprintf(stderr, "'%s' rejects '%s' (%s)\n", rows[i].q, rows[i].match, rows[i].why);
		CHECK(query_accepts(q, rows[i].match, strlen(rows[i].match)));
		if (rows[i].reject) {
			if (query_accepts(q, rows[i].reject, strlen(rows[i].reject)))
				fprintf(stderr, "'%s' accepts '%s' (%s)\n", rows[i].q, rows[i].reject, rows[i].why);
			CHECK(!query_accepts(q, rows[i].reject, strlen(rows[i].reject)));
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
		struct query_opts o = {0};
		size_t n = strlen(rows[i].text);
		CHECK(query_parse(rows[i].q, &o, &q) == 0);
		CHECK(oracle_lines(rows[i].q, &o, (const unsigned char *)rows[i].text, n) == (int64_t)rows[i].lines);
		for (int k = -1; k < (int)query_n_required(q); k++) {
			uint64_t got = query_count_text(q, rows[i].text, n, k);
			if (got != rows[i].lines)
				fprintf(stderr, "'%s': %llu lines, want %llu\n", rows[i].q,
					(unsigned long long)got, (unsigned long long)rows[i].lines);
			CHECK(got == rows[i].lines);
		}
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

int main(void)
{
	RUN(parse_errors);
	RUN(plans);
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
	return test_done();
}
