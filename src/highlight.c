/* highlight: tree-sitter highlighting with the grammars' own queries (see highlight.h). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <tree_sitter/api.h>

#include "grammar_queries.h"
#include "highlight.h"
#include "hl_query.h"

const TSLanguage *tree_sitter_c(void);
const TSLanguage *tree_sitter_cpp(void);
const TSLanguage *tree_sitter_go(void);
const TSLanguage *tree_sitter_java(void);
const TSLanguage *tree_sitter_javascript(void);
const TSLanguage *tree_sitter_python(void);
const TSLanguage *tree_sitter_rust(void);
const TSLanguage *tree_sitter_bash(void);

static const struct {
	const char *name;
	const TSLanguage *(*lang)(void);
	const char *highlights, *tags;
} langs[HL_NLANG] = {
	[HL_C] = {"c", tree_sitter_c, hl_query_c, tags_query_c},
	[HL_CPP] = {"cpp", tree_sitter_cpp, hl_query_cpp, tags_query_cpp},
	[HL_GO] = {"go", tree_sitter_go, hl_query_go, tags_query_go},
	[HL_JAVA] = {"java", tree_sitter_java, hl_query_java, tags_query_java},
	[HL_JAVASCRIPT] = {"javascript", tree_sitter_javascript, hl_query_javascript, tags_query_javascript},
	[HL_PYTHON] = {"python", tree_sitter_python, hl_query_python, tags_query_python},
	[HL_RUST] = {"rust", tree_sitter_rust, hl_query_rust, tags_query_rust},
	[HL_BASH] = {"bash", tree_sitter_bash, hl_query_bash, NULL},
};

/* Class names; index 0 is "no class". Captures not listed map to their longest listed
 * prefix ("function.special" -> "function"), or to no class. */
static const char *const class_names[] = {
	"",
	"attribute",
	"comment",
	"comment.documentation",
	"constant",
	"constant.builtin",
	"constructor",
	"embedded",
	"escape",
	"function",
	"function.builtin",
	"function.macro",
	"function.method",
	"keyword",
	"label",
	"module",
	"number",
	"property",
	"punctuation.special",
	"string",
	"string.escape",
	"string.special",
	"tag",
	"type",
	"type.builtin",
	"variable.builtin",
	"variable.parameter",
};
#define N_CLASSES (sizeof(class_names) / sizeof(class_names[0]))

const char *hl_class_name(uint16_t cls)
{
	return cls < N_CLASSES ? class_names[cls] : "";
}

uint16_t hl_n_classes(void)
{
	return (uint16_t)N_CLASSES;
}

const char *hl_lang_name(enum hl_lang lang)
{
	return lang > HL_NONE && lang < HL_NLANG ? langs[lang].name : "";
}

static uint16_t class_for(const char *name, size_t len)
{
	for (;;) {
		for (size_t i = 1; i < N_CLASSES; i++)
			if (strlen(class_names[i]) == len && !memcmp(class_names[i], name, len))
				return (uint16_t)i;
		while (len && name[len - 1] != '.')
			len--;
		if (!len)
			return 0;
		len--; /* drop the dot and try the shorter name */
	}
}

/* ---- language by path ---- */

static int ends_with(const char *p, size_t len, const char *suf)
{
	size_t n = strlen(suf);
	return len >= n && !memcmp(p + len - n, suf, n);
}

enum hl_lang hl_lang_for_path(const char *path, size_t len)
{
	static const struct {
		const char *ext;
		enum hl_lang lang;
	} exts[] = {
		{".c", HL_C}, {".h", HL_C},
		{".cc", HL_CPP}, {".cpp", HL_CPP}, {".cxx", HL_CPP}, {".c++", HL_CPP},
		{".hh", HL_CPP}, {".hpp", HL_CPP}, {".hxx", HL_CPP}, {".h++", HL_CPP},
		{".ipp", HL_CPP}, {".tcc", HL_CPP},
		{".go", HL_GO}, {".java", HL_JAVA},
		{".js", HL_JAVASCRIPT}, {".mjs", HL_JAVASCRIPT}, {".cjs", HL_JAVASCRIPT},
		{".jsx", HL_JAVASCRIPT},
		{".py", HL_PYTHON}, {".pyi", HL_PYTHON}, {".rs", HL_RUST},
		{".sh", HL_BASH}, {".bash", HL_BASH}, {".bashrc", HL_BASH},
		{".bash_profile", HL_BASH}, {".profile", HL_BASH},
	};
	size_t base = len;
	while (base && path[base - 1] != '/')
		base--;
	for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++)
		if (ends_with(path + base, len - base, exts[i].ext))
			return exts[i].lang;
	return HL_NONE;
}

enum hl_lang hl_lang_detect(const char *path, size_t len, const char *src, size_t src_len)
{
	enum hl_lang l = hl_lang_for_path(path, len);
	size_t eol = 0, i;
	if (l != HL_NONE || src_len < 3 || src[0] != '#' || src[1] != '!')
		return l;
	while (eol < src_len && eol < 128 && src[eol] != '\n')
		eol++;
	/* the interpreter's name: the last path part of the first word, or env's argument */
	for (i = 2; i < eol && (src[i] == ' ' || src[i] == '\t'); i++)
		;
	{
		size_t s = i, e, b;
		while (i < eol && src[i] != ' ' && src[i] != '\t')
			i++;
		e = i;
		b = e;
		while (b > s && src[b - 1] != '/')
			b--;
		if (e - b == 3 && !memcmp(src + b, "env", 3)) {
			while (i < eol && (src[i] == ' ' || src[i] == '\t'))
				i++;
			b = i;
			while (i < eol && src[i] != ' ' && src[i] != '\t' && src[i] != '\r')
				i++;
			e = i;
		}
		while (e > b && src[e - 1] == '\r')
			e--;
#define IS(w) (e - b == strlen(w) && !memcmp(src + b, w, strlen(w)))
		if (IS("sh") || IS("bash") || IS("dash") || IS("ash") || IS("ksh") || IS("zsh"))
			return HL_BASH;
		if (e - b >= 6 && !memcmp(src + b, "python", 6))
			return HL_PYTHON;
		if (IS("node") || IS("nodejs"))
			return HL_JAVASCRIPT;
#undef IS
	}
	return HL_NONE;
}

/* ---- compiled queries and their text predicates ---- */

enum pred_op { P_MATCH, P_NOT_MATCH, P_EQ_STR, P_NOT_EQ_STR, P_EQ_CAP, P_NOT_EQ_CAP, P_ANY_OF };

struct pred {
	enum pred_op op;
	uint32_t cap, cap2;
	pcre2_code *re;
	const char **strs; /* owned by the TSQuery */
	uint32_t *str_lens;
	uint32_t n_strs;
};

struct hl_query {
	TSQuery *q;
	uint32_t n_patterns;
	struct pred **preds; /* per pattern */
	uint32_t *n_preds;
	uint16_t *cap_class; /* per capture id (highlights) */
};

static void query_free(struct hl_query *hq)
{
	if (!hq)
		return;
	for (uint32_t p = 0; p < hq->n_patterns; p++) {
		for (uint32_t i = 0; i < hq->n_preds[p]; i++) {
			pcre2_code_free(hq->preds[p][i].re);
			free(hq->preds[p][i].strs);
			free(hq->preds[p][i].str_lens);
		}
		free(hq->preds[p]);
	}
	free(hq->preds);
	free(hq->n_preds);
	free(hq->cap_class);
	if (hq->q)
		ts_query_delete(hq->q);
	free(hq);
}

/* Compile pattern p's predicates; directives ("set!", "strip!") and predicates this
 * highlighter does not know ("is-not?") are ignored, which means they pass. */
static int compile_preds(struct hl_query *hq, uint32_t p, const char *what)
{
	uint32_t n_steps, i = 0;
	const TSQueryPredicateStep *st = ts_query_predicates_for_pattern(hq->q, p, &n_steps);
	while (i < n_steps) {
		uint32_t j = i, len;
		const char *name;
		struct pred pr = {0};
		int keep = 1;
		while (j < n_steps && st[j].type != TSQueryPredicateStepTypeDone)
			j++;
		/* steps i..j-1: name, args */
		if (j == i || st[i].type != TSQueryPredicateStepTypeString)
			goto next;
		name = ts_query_string_value_for_id(hq->q, st[i].value_id, &len);
		if ((!strcmp(name, "match?") || !strcmp(name, "not-match?")) && j - i == 3 &&
		    st[i + 1].type == TSQueryPredicateStepTypeCapture &&
		    st[i + 2].type == TSQueryPredicateStepTypeString) {
			uint32_t rl;
			const char *re = ts_query_string_value_for_id(hq->q, st[i + 2].value_id, &rl);
			int ec;
			PCRE2_SIZE eo;
			pr.op = name[0] == 'm' ? P_MATCH : P_NOT_MATCH;
			pr.cap = st[i + 1].value_id;
			pr.re = pcre2_compile((PCRE2_SPTR)re, rl, 0, &ec, &eo, NULL);
			if (!pr.re)
				return err_set(ERR_CORRUPT, "highlight: the %s query's regex '%s' does not compile",
					       what, re);
		} else if ((!strcmp(name, "eq?") || !strcmp(name, "not-eq?")) && j - i == 3 &&
			   st[i + 1].type == TSQueryPredicateStepTypeCapture) {
			int neg = name[0] == 'n';
			pr.cap = st[i + 1].value_id;
			if (st[i + 2].type == TSQueryPredicateStepTypeCapture) {
				pr.op = neg ? P_NOT_EQ_CAP : P_EQ_CAP;
				pr.cap2 = st[i + 2].value_id;
			} else {
				pr.op = neg ? P_NOT_EQ_STR : P_EQ_STR;
				pr.n_strs = 1;
			}
		} else if (!strcmp(name, "any-of?") && j - i >= 3 &&
			   st[i + 1].type == TSQueryPredicateStepTypeCapture) {
			pr.op = P_ANY_OF;
			pr.cap = st[i + 1].value_id;
			pr.n_strs = j - i - 2;
		} else {
			keep = 0;
		}
		if (keep && pr.n_strs) {
			uint32_t first = i + 2;
			pr.strs = xcalloc(pr.n_strs, sizeof(*pr.strs));
			pr.str_lens = xcalloc(pr.n_strs, sizeof(*pr.str_lens));
			for (uint32_t k = 0; k < pr.n_strs; k++) {
				if (st[first + k].type != TSQueryPredicateStepTypeString) {
					free(pr.strs);
					free(pr.str_lens);
					return err_set(ERR_CORRUPT, "highlight: the %s query has a bad '%s' predicate",
						       what, name);
				}
				pr.strs[k] = ts_query_string_value_for_id(hq->q, st[first + k].value_id,
									  &pr.str_lens[k]);
			}
		}
		if (keep) {
			hq->preds[p] = xrealloc(hq->preds[p], (hq->n_preds[p] + 1) * sizeof(struct pred));
			hq->preds[p][hq->n_preds[p]++] = pr;
		}
next:
		i = j + 1;
	}
	return 0;
}

static int query_build(enum hl_lang lang, int tags, struct hl_query **out)
{
	const char *text = tags ? langs[lang].tags : langs[lang].highlights;
	char what[64];
	uint32_t eoff;
	TSQueryError et;
	struct hl_query *hq;
	int r = 0;
	snprintf(what, sizeof(what), "%s %s", langs[lang].name, tags ? "tags" : "highlights");
	if (!text)
		return err_set(ERR_NOTFOUND, "highlight: no %s query", what);
	hq = xcalloc(1, sizeof(*hq));
	hq->q = ts_query_new(langs[lang].lang(), text, (uint32_t)strlen(text), &eoff, &et);
	if (!hq->q) {
		free(hq);
		return err_set(ERR_CORRUPT, "highlight: the %s query does not compile at byte %u (error %d)",
			       what, eoff, (int)et);
	}
	hq->n_patterns = ts_query_pattern_count(hq->q);
	hq->preds = xcalloc(hq->n_patterns ? hq->n_patterns : 1, sizeof(*hq->preds));
	hq->n_preds = xcalloc(hq->n_patterns ? hq->n_patterns : 1, sizeof(*hq->n_preds));
	for (uint32_t p = 0; p < hq->n_patterns && !r; p++)
		r = compile_preds(hq, p, what);
	{
		uint32_t nc = ts_query_capture_count(hq->q);
		hq->cap_class = xcalloc(nc ? nc : 1, sizeof(*hq->cap_class));
		for (uint32_t c = 0; c < nc; c++) {
			uint32_t l;
			const char *name = ts_query_capture_name_for_id(hq->q, c, &l);
			hq->cap_class[c] = class_for(name, l);
		}
		/* captures that give no class ("variable", brackets) are the bulk of a query's
		 * output: drop them, unless a predicate reads them */
		for (uint32_t c = 0; c < nc && !tags && !r; c++) {
			int used = 0;
			uint32_t l;
			const char *name;
			for (uint32_t p = 0; p < hq->n_patterns && !used; p++)
				for (uint32_t i = 0; i < hq->n_preds[p]; i++)
					if (hq->preds[p][i].cap == c ||
					    ((hq->preds[p][i].op == P_EQ_CAP || hq->preds[p][i].op == P_NOT_EQ_CAP) &&
					     hq->preds[p][i].cap2 == c))
						used = 1;
			if (hq->cap_class[c] || used)
				continue;
			name = ts_query_capture_name_for_id(hq->q, c, &l);
			ts_query_disable_capture(hq->q, name, l);
		}
	}
	if (r) {
		query_free(hq);
		return r;
	}
	*out = hq;
	return 0;
}

static pthread_mutex_t query_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic(struct hl_query *) queries[2][HL_NLANG];

int hl_query_get(enum hl_lang lang, int tags, const struct hl_query **out)
{
	struct hl_query *q;
	int r = 0;
	if (lang <= HL_NONE || lang >= HL_NLANG)
		return err_set(ERR_USAGE, "highlight: no such language");
	q = atomic_load_explicit(&queries[!!tags][lang], memory_order_acquire);
	if (!q) {
		pthread_mutex_lock(&query_lock);
		q = atomic_load_explicit(&queries[!!tags][lang], memory_order_acquire);
		if (!q && !(r = query_build(lang, tags, &q)))
			atomic_store_explicit(&queries[!!tags][lang], q, memory_order_release);
		pthread_mutex_unlock(&query_lock);
	}
	if (!r)
		*out = q;
	return r;
}

const TSQuery *hl_query_ts(const struct hl_query *q)
{
	return q->q;
}

uint16_t hl_query_capture_class(const struct hl_query *q, uint32_t capture_id)
{
	return capture_id < ts_query_capture_count(q->q) ? q->cap_class[capture_id] : 0;
}

/* The text of the first node of capture id in m (NULL when the match has none). */
static const char *cap_text(const TSQueryMatch *m, uint32_t id, const char *src, size_t len,
			    uint32_t *n)
{
	for (uint16_t i = 0; i < m->capture_count; i++) {
		if (m->captures[i].index == id) {
			uint32_t s = ts_node_start_byte(m->captures[i].node),
				 e = ts_node_end_byte(m->captures[i].node);
			if (e > len || s > e)
				return NULL;
			*n = e - s;
			return src + s;
		}
	}
	return NULL;
}

int hl_query_accepts(const struct hl_query *q, const TSQueryMatch *m, const char *src, size_t len,
		     pcre2_match_data *md)
{
	if (m->pattern_index >= q->n_patterns)
		return 0;
	for (uint32_t i = 0; i < q->n_preds[m->pattern_index]; i++) {
		const struct pred *p = &q->preds[m->pattern_index][i];
		uint32_t n, n2;
		const char *t = cap_text(m, p->cap, src, len, &n), *t2;
		int ok = 0;
		if (!t)
			continue;
		switch (p->op) {
		case P_MATCH:
		case P_NOT_MATCH:
			ok = pcre2_match(p->re, (PCRE2_SPTR)t, n, 0, 0, md, NULL) >= 0;
			if (p->op == P_NOT_MATCH)
				ok = !ok;
			break;
		case P_EQ_STR:
		case P_NOT_EQ_STR:
			ok = n == p->str_lens[0] && !memcmp(t, p->strs[0], n);
			if (p->op == P_NOT_EQ_STR)
				ok = !ok;
			break;
		case P_EQ_CAP:
		case P_NOT_EQ_CAP:
			t2 = cap_text(m, p->cap2, src, len, &n2);
			ok = t2 && n == n2 && !memcmp(t, t2, n);
			if (p->op == P_NOT_EQ_CAP)
				ok = !ok;
			break;
		case P_ANY_OF:
			for (uint32_t k = 0; k < p->n_strs && !ok; k++)
				ok = n == p->str_lens[k] && !memcmp(t, p->strs[k], n);
			break;
		}
		if (!ok)
			return 0;
	}
	return 1;
}

/* ---- per-thread parsers ---- */

struct tls {
	TSParser *parser[HL_NLANG];
	TSQueryCursor *qc;
	pcre2_match_data *md;
};

static pthread_key_t tls_key;
static pthread_once_t tls_once = PTHREAD_ONCE_INIT;

static void tls_free(void *p)
{
	struct tls *t = p;
	for (int i = 0; i < HL_NLANG; i++)
		if (t->parser[i])
			ts_parser_delete(t->parser[i]);
	if (t->qc)
		ts_query_cursor_delete(t->qc);
	pcre2_match_data_free(t->md);
	free(t);
}

static void tls_init(void)
{
	if (pthread_key_create(&tls_key, tls_free))
		BUG("pthread_key_create");
}

static struct tls *tls_get(void)
{
	struct tls *t;
	pthread_once(&tls_once, tls_init);
	t = pthread_getspecific(tls_key);
	if (!t) {
		t = xcalloc(1, sizeof(*t));
		t->qc = ts_query_cursor_new();
		t->md = pcre2_match_data_create(1, NULL);
		if (!t->qc || !t->md)
			BUG("out of memory");
		if (pthread_setspecific(tls_key, t))
			BUG("pthread_setspecific");
	}
	return t;
}

struct TSParser *hl_ts_parser(enum hl_lang lang)
{
	struct tls *t;
	if (lang <= HL_NONE || lang >= HL_NLANG)
		return NULL;
	t = tls_get();
	if (!t->parser[lang]) {
		t->parser[lang] = ts_parser_new();
		if (!t->parser[lang] || !ts_parser_set_language(t->parser[lang], langs[lang].lang()))
			BUG("grammar '%s' does not load", langs[lang].name);
	}
	ts_parser_reset(t->parser[lang]);
	ts_parser_set_timeout_micros(t->parser[lang], 0);
	ts_parser_set_included_ranges(t->parser[lang], NULL, 0);
	return t->parser[lang];
}

TSQueryCursor *hl_ts_cursor(void)
{
	return tls_get()->qc;
}

pcre2_match_data *hl_match_data(void)
{
	return tls_get()->md;
}

uint64_t hl_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* ---- highlighting ---- */

struct cap {
	uint32_t start, end, pattern;
	uint16_t cls;
};

static int cmp_cap(const void *a, const void *b)
{
	const struct cap *x = a, *y = b;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	if (x->end != y->end)
		return x->end > y->end ? -1 : 1;
	return x->pattern < y->pattern ? -1 : x->pattern > y->pattern;
}

int highlight(enum hl_lang lang, const char *src, size_t len, struct hl_span **spans, size_t *n,
	      uint64_t budget_us)
{
	const struct hl_query *q;
	TSParser *parser;
	TSTree *tree = NULL;
	TSQueryCursor *qc;
	TSQueryMatch m;
	uint32_t ci;
	struct cap *caps = NULL;
	size_t n_caps = 0, cap_caps = 0, n_out = 0, count = 0;
	uint16_t *paint = NULL;
	struct hl_span *out = NULL;
	uint64_t t0 = hl_now_us();
	int r = 0;

	*spans = NULL;
	*n = 0;
	if (lang <= HL_NONE || lang >= HL_NLANG || len == 0 || len > HL_MAX_BYTES)
		return 0;
	if ((r = hl_query_get(lang, 0, &q)))
		return r;
	parser = hl_ts_parser(lang);
	if (budget_us)
		ts_parser_set_timeout_micros(parser, budget_us);
	tree = ts_parser_parse_string(parser, NULL, src, (uint32_t)len);
	if (!tree)
		goto out; /* over budget: plain */
	qc = hl_ts_cursor();
	ts_query_cursor_exec(qc, q->q, ts_tree_root_node(tree));
	while (ts_query_cursor_next_capture(qc, &m, &ci)) {
		const TSQueryCapture *c = &m.captures[ci];
		uint16_t cls = q->cap_class[c->index];
		uint32_t s = ts_node_start_byte(c->node), e = ts_node_end_byte(c->node);
		if (budget_us && (++count & 255) == 0 && hl_now_us() - t0 > budget_us) {
			n_caps = 0;
			goto out;
		}
		if (!cls || s >= e || e > len || !hl_query_accepts(q, &m, src, len, hl_match_data()))
			continue;
		if (n_caps == cap_caps) {
			cap_caps = cap_caps ? cap_caps * 2 : 1024;
			caps = xrealloc(caps, cap_caps * sizeof(*caps));
		}
		caps[n_caps++] = (struct cap){s, e, m.pattern_index, cls};
	}
	if (!n_caps)
		goto out;
	qsort(caps, n_caps, sizeof(*caps), cmp_cap);
	/* paint outer ranges first, inner ones over them; of equal ranges the later pattern.
	 * Nested captures paint a byte once for each that holds it (a shell file of strings
	 * in command substitutions in strings, many deep, paints a whole file many times
	 * over): the budget is looked at here too, every 1 MiB painted */
	paint = xcalloc(len, sizeof(*paint));
	for (size_t i = 0, painted = 0; i < n_caps; i++) {
		if (budget_us && (painted += caps[i].end - caps[i].start) >= HL_MAX_BYTES) {
			painted = 0;
			if (hl_now_us() - t0 > budget_us)
				goto out;
		}
		for (uint32_t b = caps[i].start; b < caps[i].end; b++)
			paint[b] = caps[i].cls;
	}
	{
		size_t cap_out = 0;
		for (size_t b = 0; b < len;) {
			size_t e = b + 1;
			while (e < len && paint[e] == paint[b])
				e++;
			if (paint[b]) {
				if (n_out == cap_out) {
					cap_out = cap_out ? cap_out * 2 : 256;
					out = xrealloc(out, cap_out * sizeof(*out));
				}
				out[n_out++] = (struct hl_span){(uint32_t)b, (uint32_t)e, paint[b]};
			}
			b = e;
		}
	}
out:
	if (tree)
		ts_tree_delete(tree);
	free(caps);
	free(paint);
	if (r || !n_out) {
		free(out);
		return r;
	}
	*spans = out;
	*n = n_out;
	return 0;
}
