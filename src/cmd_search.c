/*
 * cmd_search: sealroom search P@V QUERY --vendor-key FILE [--limit N] [--offset N]
 *             [--context N] [--ignore-case] [--word-regexp] [--fixed-strings] [--json] [--count]
 *
 * Opens the release with the vendor's key, loads its search index, runs the query, logs
 * the search (durably, before anything is printed) and prints rg-like path:line:text
 * lines or the JSON of docs/search.md. The hidden --bench FILE mode loads once and times
 * each query of FILE (one a line) --repeat times, for bench/search.sh; the hidden --batch
 * FILE mode loads once and answers each query of FILE (each logged like a single search)
 * with its matching path:line pairs, for the differential test against rg.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cmd.h"
#include "index.h"
#include "logdb.h"
#include "query.h"
#include "release.h"
#include "vault.h"

static const char usage[] =
	"sealroom search P@V QUERY --vendor-key FILE [--limit N] [--offset N] [--context N] "
	"[--ignore-case] [--word-regexp] [--fixed-strings] [--budget MS] [--json] [--count]";

/* Everything an open release holds; freed by opened_release. */
struct opened {
	struct release_opened rel;
	struct vault *v;     /* rel.v */
	struct manifest *m;  /* rel.m */
	struct index *ix;
	double load_ms;
};

static void opened_release(struct opened *o)
{
	index_free(o->ix);
	release_opened_release(&o->rel);
}

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/*
 * Open release product@version with the vendor's key (it must be the key that sealed it)
 * and load its manifest and search index. ERR_AUTH for another vendor's key, ERR_DENIED
 * for a shredded release, ERR_NOTFOUND for a release sealed without an index.
 */
static int open_release(struct facility *f, const char *product, const char *version,
			const struct note_signer *vendor, const struct note_wrapper *wrap, struct opened *o)
{
	double t0 = now_ms();
	int r;

	memset(o, 0, sizeof(*o));
	if ((r = release_open(f, product, version, vendor, wrap, &o->rel)))
		goto out;
	o->v = o->rel.v;
	o->m = o->rel.m;
	if ((r = index_load(o->v, o->m, 0, &o->ix))) {
		if (r == ERR_NOTFOUND)
			err_set(r, "'%s@%s' was sealed without a search index", product, version);
		goto out;
	}
	o->load_ms = now_ms() - t0;
out:
	if (r)
		opened_release(o);
	return r;
}

static int log_search(struct facility *f, const char *actor, const char *rel, const char *query,
		      uint64_t results)
{
	struct logdb *l = NULL;
	json_t *e;
	int r = logdb_open(f, &l);
	if (r)
		return r;
	e = json_pack("{s:s, s:s, s:s, s:s, s:I}", "type", "search", "actor", actor, "release", rel,
		      "query", query, "results", (json_int_t)results);
	if (!e) {
		logdb_free(l);
		return err_set(ERR_USAGE, "search: the query is not valid UTF-8 and cannot be logged");
	}
	r = logdb_append(l, e, NULL);
	json_decref(e);
	logdb_free(l);
	return r;
}

static void print_lines(const struct search_result *res)
{
	for (size_t i = 0; i < search_result_n_files(res); i++) {
		size_t pl;
		const char *p = search_result_path(res, i, &pl);
		for (size_t j = 0; j < search_result_n_lines(res, i); j++) {
			const struct search_line *l = search_result_line(res, i, j);
			char sep = l->context ? '-' : ':';
			fwrite(p, 1, pl, stdout);
			printf("%c%" PRIu64 "%c", sep, l->line, sep);
			fwrite(l->text, 1, l->len, stdout);
			putchar('\n');
		}
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static long rss_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmRSS:", 6))
			kb = strtol(line + 6, NULL, 10);
	fclose(f);
	return kb;
}

/* A query line of --bench or --batch: leading "-i ", "-w ", "-F " set options. */
static const char *query_flags(const char *s, struct query_opts *qo)
{
	for (;;) {
		if (!strncmp(s, "-i ", 3))
			qo->caseless = 1;
		else if (!strncmp(s, "-w ", 3))
			qo->word = 1;
		else if (!strncmp(s, "-F ", 3))
			qo->literal = 1;
		else
			return s;
		s += 3;
	}
}

/*
 * The bench mode: each line of path is a query (a leading "-i " or "-w " sets the flag).
 * Prints, per query, the median ms for the first page of limit results, the median ms of
 * an exact full count, the total, and the query; then load time and RSS.
 */
static int bench(const struct index *ix, const char *path, unsigned long long repeat,
		 const struct search_opts *so0, double load_ms)
{
	FILE *f = fopen(path, "r");
	char line[QUERY_MAX + 16];
	double *t1, *t2;
	int r = 0;
	if (!f)
		return err_set(ERR_IO, "cannot read '%s'", path);
	if (!repeat)
		repeat = 5;
	t1 = xcalloc(repeat, sizeof(double));
	t2 = xcalloc(repeat, sizeof(double));
	printf("load_ms\t%.1f\n", load_ms);
	while (fgets(line, sizeof(line), f) && !r) {
		struct query_opts qo = {0};
		struct query *q = NULL;
		char *s = line;
		uint64_t total = 0;
		int partial = 0;
		line[strcspn(line, "\n")] = 0;
		if (!*s || (*s == '#' && (!s[1] || s[1] == ' '))) /* a comment: "# ..." ('#define' is a query) */
			continue;
		s = (char *)query_flags(s, &qo);
		if ((r = query_parse(s, &qo, &q)))
			break;
		for (unsigned long long k = 0; k < repeat; k++) {
			struct search_opts so = *so0;
			struct search_result *res;
			for (int pass = 0; pass < 2; pass++) {
				double a = now_ms();
				so.count_all = pass;
				if ((r = index_search(ix, q, &so, &res)))
					break;
				(pass ? t2 : t1)[k] = now_ms() - a;
				if (pass) {
					total = search_result_total(res);
					partial = search_result_partial(res);
				}
				search_result_free(res);
			}
		}
		qsort(t1, repeat, sizeof(double), cmp_double);
		qsort(t2, repeat, sizeof(double), cmp_double);
		printf("query\t%.3f\t%.3f\t%" PRIu64 "%s\t%s\t%s\n", t1[repeat / 2], t2[repeat / 2], total,
		       partial ? "+" : "", query_plan_kind(q), line);
		query_free(q);
	}
	printf("rss_kb\t%ld\nindex_memory\t%zu\n", rss_kb(), index_memory(ix));
	fclose(f);
	free(t1);
	free(t2);
	return r;
}

/*
 * The batch mode: each line of path is a query; prints "#N TOTAL" (N counts from 1) and
 * then every matching line as path:line, paging through all of them. Each query is logged
 * before its lines are printed. A query that does not parse prints "#N error: MESSAGE".
 */
static int batch(struct facility *f, const char *actor, const char *rel, const struct index *ix,
		 const char *path, const struct search_opts *so0)
{
	FILE *in = fopen(path, "r");
	char line[QUERY_MAX + 16];
	unsigned long n = 0;
	int r = 0;
	if (!in)
		return err_set(ERR_IO, "cannot read '%s'", path);
	while (fgets(line, sizeof(line), in) && !r) {
		struct query_opts qo = {0};
		struct query *q = NULL;
		struct search_opts so = *so0;
		const char *s;
		line[strcspn(line, "\n")] = 0;
		s = query_flags(line, &qo);
		n++;
		if (query_parse(s, &qo, &q)) {
			printf("#%lu error: %s\n", n, err_msg());
			continue;
		}
		so.limit = SEARCH_LIMIT_MAX;
		so.offset = 0;
		for (;;) {
			struct search_result *res;
			if ((r = index_search(ix, q, &so, &res)))
				break;
			if (!so.offset &&
			    (r = log_search(f, actor, rel, line, search_result_total(res)))) {
				search_result_free(res);
				break;
			}
			if (!so.offset)
				printf("#%lu %" PRIu64 "%s\n", n, search_result_total(res),
				       search_result_partial(res) ? " partial" : "");
			for (size_t i = 0; i < search_result_n_files(res); i++) {
				size_t pl;
				const char *p = search_result_path(res, i, &pl);
				for (size_t j = 0; j < search_result_n_lines(res, i); j++) {
					fwrite(p, 1, pl, stdout);
					printf(":%" PRIu64 "\n", search_result_line(res, i, j)->line);
				}
			}
			so.offset += SEARCH_LIMIT_MAX;
			if (so.offset >= search_result_total(res)) {
				search_result_free(res);
				break;
			}
			search_result_free(res);
		}
		query_free(q);
	}
	fclose(in);
	return r;
}

int cmd_search(int argc, char **argv)
{
	const char *key_path = NULL, *bench_path = NULL, *batch_path = NULL, *pos[2];
	unsigned long long limit = 50, offset = 0, context = 0, budget = 1000, repeat = 0;
	int count = 0, caseless = 0, word = 0, fixed = 0;
	struct opt_common c = {0};
	struct opt opts[] = {
		{"vendor-key", OPT_STRING, &key_path}, {"limit", OPT_UINT, &limit},
		{"offset", OPT_UINT, &offset},	       {"context", OPT_UINT, &context},
		{"budget", OPT_UINT, &budget},	       {"count", OPT_FLAG, &count},
		{"ignore-case", OPT_FLAG, &caseless},  {"word-regexp", OPT_FLAG, &word},
		{"fixed-strings", OPT_FLAG, &fixed},   {"bench", OPT_STRING, &bench_path},
		{"repeat", OPT_UINT, &repeat},	       {"batch", OPT_STRING, &batch_path},
		{NULL, 0, NULL},
	};
	char product[RELEASE_NAME_MAX + 1], version[RELEASE_NAME_MAX + 1];
	struct facility *f = NULL;
	struct note_signer *vendor = NULL;
	struct note_wrapper *wrap = NULL;
	struct query *q = NULL;
	struct search_result *res = NULL;
	struct query_opts qo = {0};
	struct search_opts so;
	struct opened o = {0};
	struct buf out;
	int n, r;

	buf_init(&out, (size_t)1 << 30);
	if (opt_parse(argc, argv, opts, &c, pos, 2, &n))
		return cmd_usage("search", usage);
	if (c.help) {
		printf("usage: %s\n\n"
		       "Search release P@V, opened with the vendor's key. QUERY is a PCRE2 regular\n"
		       "expression (a fixed string with --fixed-strings) with optional filters:\n"
		       "file:REGEX, -file:REGEX, lang:NAME, sym:REGEX. Results are the lines\n"
		       "`rg -uu` finds, definitions first, then files whose path matches, then the\n"
		       "rest, as path:line:text (or JSON with --json; --count prints the total).\n"
		       "Every search is logged. See docs/search.md.\n", usage);
		return 0;
	}
	if (batch_path && !bench_path)
		bench_path = batch_path;
	if ((n != 2 && !bench_path) || (bench_path && n != 1) || !key_path) {
		err_set(ERR_USAGE, !key_path ? "--vendor-key FILE is required to open the release"
					     : "wants a release P@V and one QUERY");
		return cmd_usage("search", usage);
	}
	if (limit > SEARCH_LIMIT_MAX || context > SEARCH_CONTEXT_MAX || budget > 600000) {
		err_set(ERR_USAGE, "--limit is at most %d, --context at most %d, --budget at most 600000",
			SEARCH_LIMIT_MAX, SEARCH_CONTEXT_MAX);
		return cmd_usage("search", usage);
	}
	if (release_parse_ref(pos[0], product, version))
		return cmd_usage("search", usage);
	qo.caseless = caseless;
	qo.word = word;
	qo.literal = fixed;
	search_opts_default(&so);
	so.limit = (size_t)limit;
	so.offset = (size_t)offset;
	so.context = (unsigned)context;
	so.budget_ms = (unsigned)budget;
	if (!bench_path && (r = query_parse(pos[1], &qo, &q)))
		return cmd_fail("search", r);
	if ((r = note_signer_load(key_path, &vendor)) || (r = cmd_load_wrapper(key_path, &wrap)))
		goto out;
	if ((r = facility_open(facility_resolve(c.dir), &f)) ||
	    (r = open_release(f, product, version, vendor, wrap, &o)))
		goto out;
	if (batch_path) {
		r = batch(f, note_signer_name(vendor), pos[0], o.ix, batch_path, &so);
		goto out;
	}
	if (bench_path) {
		r = bench(o.ix, bench_path, repeat, &so, o.load_ms);
		goto out;
	}
	if ((r = index_search(o.ix, q, &so, &res)) ||
	    (r = log_search(f, note_signer_name(vendor), pos[0], pos[1], search_result_total(res))))
		goto out;
	if (count && c.json)
		r = buf_addf(&out, "{\"total\":%" PRIu64 ",\"total_files\":%" PRIu64 ",\"partial\":%s}\n",
			     search_result_total(res), search_result_total_files(res),
			     search_result_partial(res) ? "true" : "false");
	else if (count)
		r = buf_addf(&out, "%" PRIu64 "\n", search_result_total(res));
	else if (c.json)
		r = search_result_json(res, &out) ?: buf_addch(&out, '\n');
	if (r)
		goto out;
	fwrite(out.p, 1, out.len, stdout);
	if (!c.json && !count)
		print_lines(res);
	if (search_result_partial(res))
		fprintf(stderr, "sealroom search: partial results (%s)\n", search_result_partial_reason(res));
out:
	search_result_free(res);
	query_free(q);
	opened_release(&o);
	note_signer_free(vendor);
	note_wrapper_free(wrap);
	facility_free(f);
	buf_release(&out);
	return r ? cmd_fail("search", r) : 0;
}
