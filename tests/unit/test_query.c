/* test_query: parsing (errors, filters, plans), searching, ranking, paging, limits, JSON. */
#include "test.h"
#include "query.h"
#include "search_fixture.h"

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
	CHECK(query_parse("  ", NULL, &q) == ERR_PARSE);
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
		CHECK(query_parse("file:x  foo   bar  lang:c", NULL, &q) == 0);
		CHECK_EQ_STR(query_pattern(q), "foo   bar");
		query_free(q);
	}
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
	RUN(search_rank_and_page);
	RUN(search_modes);
	RUN(case_variants);
	RUN(count_in_parallel);
	RUN(limits);
	RUN(json);
	return test_done();
}
