/* Unit tests: notes (12 tokens of code refused, 11 kept, lab privacy, tokens). */
#include <sqlite3.h>

#include "db.h"
#include "facility.h"
#include "notes.h"
#include "policy.h"
#include "test.h"

#include "search_fixture.h"

static const char code[] =
	"static int parse_header(const unsigned char *p, size_t len, struct hdr *out)\n"
	"{\n"
	"\tif (len < HDR_MIN || p[0] != 0x7f)\n"
	"\t\treturn err_set(ERR_PARSE, \"bad header\");\n"
	"\tout->version = p[1];\n"
	"\treturn 0;\n"
	"}\n";

struct collect {
	char toks[64][32];
	int n;
	const char *p;
};

static void collect(void *ctx, size_t from, size_t to)
{
	struct collect *c = ctx;
	if (c->n < 64)
		snprintf(c->toks[c->n++], 32, "%.*s", (int)(to - from), c->p + from);
}

TEST(tokens)
{
	struct collect c = {.n = 0, .p = "if (len<HDR_MIN||p[0]!=0x7f) return 1.5e3;"};
	notes_tokens(c.p, strlen(c.p), collect, &c);
	CHECK(c.n == 15);
	CHECK_EQ_STR(c.toks[0], "if");
	CHECK_EQ_STR(c.toks[1], "(");
	CHECK_EQ_STR(c.toks[3], "<");
	CHECK_EQ_STR(c.toks[5], "||");
	CHECK_EQ_STR(c.toks[9], "]!=");
	CHECK_EQ_STR(c.toks[10], "0x7f");
	CHECK_EQ_STR(c.toks[11], ")");
	CHECK_EQ_STR(c.toks[13], "1.5e3");
}

static int count_note(void *ctx, const struct note_info *n)
{
	if (!strcmp(n->author, "ann"))
		(*(int *)ctx)++;
	return 0;
}

TEST(twelve_refused_eleven_kept)
{
	char root[] = "/tmp/sealroom-notes-XXXXXX", dir[300], cmd[400];
	struct facility *f = NULL;
	struct shingles *sh;
	struct notes_code nc = {NULL, NULL, 0};
	struct session_info who, other;
	struct notes_match m;
	unsigned char totp[AUTH_TOTP_SECRET_LEN];
	struct person_info p;
	int64_t id = 0;
	int count = 0;
	/* "static int parse_header ( const unsigned char * p , size_t len" is 12 tokens */
	const char *n12 = "I think static int parse_header(const unsigned char *p, size_t len is odd";
	const char *n11 = "I think static int parse_header(const unsigned char *p, size_t is odd";
	/* the same 12 tokens spaced differently are the same tokens */
	const char *n12b = "static   int parse_header ( const unsigned char * p ,size_t len";
	CHECK(shingles_new(&sh) == 0);
	CHECK(shingles_add(sh, code, strlen(code)) == 0);
	CHECK(shingles_match(sh, n12, strlen(n12), &m) == 1 && m.tokens == 12 && m.from == 8);
	CHECK(shingles_match(sh, n11, strlen(n11), &m) == 0);
	CHECK(shingles_match(sh, n12b, strlen(n12b), &m) == 1);
	CHECK(shingles_match(sh, code, strlen(code), &m) == 1 && m.from == 0 && m.to == strlen(code) - 1);
	nc.sh = sh;

	CHECK(mkdtemp(root) != NULL);
	snprintf(dir, sizeof(dir), "%s/f", root);
	CHECK(facility_init(dir, "notes.test") == 0 && facility_open(dir, &f) == 0);
	CHECK(policy_org_add(f, "lab-a", "lab", "t") == 0 && policy_org_add(f, "lab-b", "lab", "t") == 0);
	CHECK(policy_person_add(f, "ann", "lab-a", "reviewer", "Ann", "a good long password", "t", totp) == 0);
	CHECK(policy_person_add(f, "bob", "lab-b", "reviewer", "Bob", "a good long password", "t", totp) == 0);
	memset(&who, 0, sizeof(who));
	memset(&other, 0, sizeof(other));
	CHECK(policy_person_get(f, "ann", &p) == 0);
	snprintf(who.login, sizeof(who.login), "ann");
	who.org_id = p.org_id;
	snprintf(who.session_id, sizeof(who.session_id), "00000000000000aa");
	CHECK(policy_person_get(f, "bob", &p) == 0);
	snprintf(other.login, sizeof(other.login), "bob");
	other.org_id = p.org_id;

	CHECK(notes_add(f, &nc, &who, "fw", "1", "src/h.c", 3, n12, 100, &id) == ERR_DENIED);
	/* the refusal says only that the note repeats code: where would be an oracle */
	CHECK(strstr(err_msg(), "note refused: it repeats the sealed code") != NULL);
	CHECK(strstr(err_msg(), "characters") == NULL && strstr(err_msg(), "12") == NULL);
	CHECK(strstr(err_msg(), "parse_header") == NULL); /* the refusal never echoes code */
	/* U+200B (and a U+FEFF, a soft hyphen) after each word hides nothing */
	CHECK(notes_add(f, &nc, &who, "fw", "1", "src/h.c", 3,
			"static\xe2\x80\x8b int\xe2\x80\x8b parse\xc2\xad_header(\xef\xbb\xbf"
			"const\xe2\x80\x8b unsigned\xe2\x80\x8b char\xe2\x80\x8b *p,\xe2\x80\x8b size_t\xe2\x80\x8b len",
			100, &id) == ERR_DENIED);
	/* nor fullwidth letters */
	CHECK(notes_add(f, &nc, &who, "fw", "1", "src/h.c", 3,
			"\xef\xbd\x93tatic int parse_header(const unsigned char *p, size_t len", 100, &id) == ERR_DENIED);
	CHECK(notes_add(f, &nc, &who, "fw", "1", "src/h.c", 3, n11, 100, &id) == 0 && id > 0);
	CHECK(notes_add(f, &nc, &who, "fw", "1", "", 0, "", 100, &id) == ERR_USAGE);
	{
		char *big = xmalloc(NOTES_TEXT_MAX + 2);
		memset(big, 'a', NOTES_TEXT_MAX + 1);
		big[NOTES_TEXT_MAX + 1] = 0;
		CHECK(notes_add(f, &nc, &who, "fw", "1", "", 0, big, 100, &id) == ERR_TOOBIG);
		big[NOTES_TEXT_MAX] = 0; /* at the limit */
		CHECK(notes_add(f, &nc, &who, "fw", "1", "", 0, big, 100, &id) == 0);
		free(big);
	}
	CHECK(notes_each(f, &who, "fw", "1", count_note, &count) == 0 && count == 2);
	count = 0; /* another lab sees none of them */
	CHECK(notes_each(f, &other, "fw", "1", count_note, &count) == 0 && count == 0);
	facility_free(f);
	shingles_free(sh);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	CHECK(system(cmd) == 0);
}

/* The texts notes_each gives, one line each. */
static int texts(void *ctx, const struct note_info *n)
{
	return buf_addf(ctx, "%lld %s:%lld %s\n", (long long)n->id, n->path, (long long)n->line, n->text);
}

static int sql(struct facility *f, const char *q)
{
	return db_exec(facility_db(f), q);
}

/* Notes at rest: sealed (a copy of the database holds no note), each opening for its own
 * row only; one kept by an earlier version read as it is, then sealed. */
TEST(sealed_at_rest)
{
	char root[] = "/tmp/sealroom-notes-XXXXXX", dir[300], cmd[400];
	struct facility *f = NULL;
	struct session_info who;
	unsigned char totp[AUTH_TOTP_SECRET_LEN];
	struct person_info p;
	struct buf b;
	sqlite3_stmt *st;
	size_t n = 0;
	int64_t id = 0;
	const char *t1 = "the length check at line 3 is off by one", *t2 = "a second thought, kept apart";
	buf_init(&b, 1 << 20);
	CHECK(mkdtemp(root) != NULL);
	snprintf(dir, sizeof(dir), "%s/f", root);
	CHECK(facility_init(dir, "notes.test") == 0 && facility_open(dir, &f) == 0);
	CHECK(policy_org_add(f, "lab-a", "lab", "t") == 0);
	CHECK(policy_person_add(f, "ann", "lab-a", "reviewer", "Ann", "a good long password", "t", totp) == 0);
	CHECK(policy_person_get(f, "ann", &p) == 0);
	memset(&who, 0, sizeof(who));
	snprintf(who.login, sizeof(who.login), "ann");
	who.org_id = p.org_id;
	snprintf(who.session_id, sizeof(who.session_id), "00000000000000ab");
	CHECK(notes_add(f, NULL, &who, "fw", "1", "src/h.c", 3, t1, 100, &id) == 0 && id == 1);
	CHECK(notes_add(f, NULL, &who, "fw", "1", "src/h.c", 9, t2, 101, &id) == 0 && id == 2);
	/* stored sealed: no byte of the text in the row */
	CHECK(db_prepare(facility_db(f), "SELECT sealed, typeof(text), text FROM notes ORDER BY id", &st) == 0);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const void *v = sqlite3_column_blob(st, 2);
		size_t vl = (size_t)sqlite3_column_bytes(st, 2);
		CHECK(sqlite3_column_int(st, 0) == 1 && !strcmp((const char *)sqlite3_column_text(st, 1), "blob"));
		CHECK(!memmem(v, vl, "length", 6) && !memmem(v, vl, "second", 6));
		n++;
	}
	sqlite3_finalize(st);
	CHECK(n == 2);
	/* and read back as written */
	CHECK(notes_each(f, &who, "fw", "1", texts, &b) == 0);
	CHECK_EQ_STR(b.p, "1 src/h.c:3 the length check at line 3 is off by one\n2 src/h.c:9 a second thought, kept apart\n");
	/* a sealed text moved to another row, or its row moved to another line, does not open */
	CHECK(sql(f, "UPDATE notes SET text = (SELECT text FROM notes WHERE id = 1) WHERE id = 2") == 0);
	buf_reset(&b);
	CHECK(notes_each(f, &who, "fw", "1", texts, &b) == ERR_CORRUPT && strstr(err_msg(), "note 2 does not open"));
	CHECK(sql(f, "DELETE FROM notes WHERE id = 2") == 0);
	CHECK(sql(f, "UPDATE notes SET line = 4 WHERE id = 1") == 0);
	buf_reset(&b);
	CHECK(notes_each(f, &who, "fw", "1", texts, &b) == ERR_CORRUPT && strstr(err_msg(), "note 1 does not open"));
	CHECK(sql(f, "UPDATE notes SET line = 3 WHERE id = 1") == 0);
	/* a note of an earlier version, in clear: read as it is, then sealed at rest */
	CHECK(sql(f, "INSERT INTO notes (org_id, author, product, version, path, line, text, created_at) "
		     "SELECT org_id, 'ann', 'fw', '1', 'src/old.c', 7, 'kept before notes were sealed', 50 FROM notes WHERE id = 1") == 0);
	buf_reset(&b);
	CHECK(notes_each(f, &who, "fw", "1", texts, &b) == 0 && strstr(b.p, "src/old.c:7 kept before notes were sealed\n"));
	CHECK(notes_seal_at_rest(f, &n) == 0 && n == 1);
	CHECK(notes_seal_at_rest(f, &n) == 0 && n == 0);
	buf_reset(&b);
	CHECK(notes_each(f, &who, "fw", "1", texts, &b) == 0);
	CHECK_EQ_STR(b.p, "1 src/h.c:3 the length check at line 3 is off by one\n2 src/old.c:7 kept before notes were sealed\n");
	CHECK(db_prepare(facility_db(f), "SELECT count(*) FROM notes WHERE sealed = 1 AND typeof(text) = 'blob'", &st) == 0);
	CHECK(sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 2);
	sqlite3_finalize(st);
	facility_free(f);
	buf_release(&b);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	CHECK(system(cmd) == 0);
}

/* The release of the index path tests: the code above, short tokens, code after a NUL. */
static const char shorts[] = "int f(void)\n{\n\tx = a + b * c - d / e % f;\n}\n";
static const char after_nul[] = "\x7f" "ELF\0\0\0 blob_tail_call(alpha, beta, gamma, delta, eps);\n";
static const struct fixture_file note_files[] = {
	{"src/h.c", code, 0, 0100644},
	{"src/short.c", shorts, 0, 0100644},
	{"fw.bin", after_nul, sizeof(after_nul) - 1, 0100644},
	{"link", "src/h.c", 0, 0120000},
	{NULL, NULL, 0, 0},
};

/* notes_match_index and shingles_match over the same code give the same answer. */
static int same_answer(const struct index *ix, const struct shingles *sh, const char *note)
{
	struct notes_match a = {0, 0, 0}, b = {0, 0, 0};
	int ra = notes_match_index(ix, note, strlen(note), NOTES_SCAN_MAX, &a);
	int rb = shingles_match(sh, note, strlen(note), &b);
	return ra == rb && a.from == b.from && a.to == b.to && a.tokens == b.tokens;
}

struct tokens_list {
	const char *p;
	size_t from[256], to[256], n;
};

static void list_tok(void *ctx, size_t from, size_t to)
{
	struct tokens_list *l = ctx;
	if (l->n < 256) {
		l->from[l->n] = from;
		l->to[l->n++] = to;
	}
}

/* U+200B after each word, fullwidth letters, a soft hyphen: the same tokens */
TEST(normalised_first)
{
	struct buf b;
	buf_init(&b, 1 << 16);
	CHECK(notes_normalise("a\xe2\x80\x8b b", 6, &b) == 0 && !strcmp(b.p, "a b"));
	CHECK(notes_normalise("\xef\xbd\x90" "arse\xc2\xad_header\xef\xbb\xbf", 16, &b) == 0 && !strcmp(b.p, "parse_header"));
	CHECK(notes_normalise("x\xe3\x80\x80y\xc2\xa0z", 8, &b) == 0 && !strcmp(b.p, "x y z"));
	CHECK(notes_normalise("\xf0\x9d\x90\x80\xf0\x9d\x9f\x8e", 8, &b) == 0 && !strcmp(b.p, "A0"));
	CHECK(notes_normalise("caf\xc3\xa9 \xe2\x81\xa0\xef\xb8\x8f", 12, &b) == 0 && !strcmp(b.p, "caf\xc3\xa9 "));
	buf_release(&b);
}

/* Append code point c to b as UTF-8. */
static void put_cp(struct buf *b, uint32_t c)
{
	char u[4];
	size_t n;
	if (c < 0x80) {
		u[0] = (char)c;
		n = 1;
	} else if (c < 0x800) {
		u[0] = (char)(0xc0 | c >> 6);
		u[1] = (char)(0x80 | (c & 0x3f));
		n = 2;
	} else if (c < 0x10000) {
		u[0] = (char)(0xe0 | c >> 12);
		u[1] = (char)(0x80 | (c >> 6 & 0x3f));
		u[2] = (char)(0x80 | (c & 0x3f));
		n = 3;
	} else {
		u[0] = (char)(0xf0 | c >> 18);
		u[1] = (char)(0x80 | (c >> 12 & 0x3f));
		u[2] = (char)(0x80 | (c >> 6 & 0x3f));
		u[3] = (char)(0x80 | (c & 0x3f));
		n = 4;
	}
	CHECK(buf_add(b, u, n) == 0);
}

/* NFKC: ligatures, superscripts, roman numerals, circled letters, decomposed accents */
TEST(nfkc)
{
	struct buf b;
	buf_init(&b, 1 << 16);
	CHECK(notes_normalise("\xef\xac\x81" "le", 5, &b) == 0 && !strcmp(b.p, "file"));       /* U+FB01 */
	CHECK(notes_normalise("x\xc2\xb2", 3, &b) == 0 && !strcmp(b.p, "x2"));             /* U+00B2 */
	CHECK(notes_normalise("\xe2\x85\xa8", 3, &b) == 0 && !strcmp(b.p, "IX"));          /* U+2168 */
	CHECK(notes_normalise("\xe2\x93\x90\xe2\x93\x91", 6, &b) == 0 && !strcmp(b.p, "ab")); /* U+24D0 */
	CHECK(notes_normalise("e\xcc\x81", 3, &b) == 0 && !strcmp(b.p, "\xc3\xa9"));       /* NFD -> NFC */
	CHECK(notes_normalise("a\xe2\x81\xa2" "b\xe1\xa0\x8e" "c", 9, &b) == 0 && !strcmp(b.p, "abc")); /* U+2062, U+180E */
	CHECK(notes_normalise("\xe2\x80\xa8x\xe2\x80\xa9", 7, &b) == 0 && !strcmp(b.p, " x ")); /* U+2028/9 */
	buf_release(&b);
}

/*
 * The property: code written with every character in a random compatibility form (fullwidth,
 * mathematical bold, italic, monospace, circled) and random invisible characters between
 * them normalises back to the code itself, so the note check sees the same tokens.
 */
TEST(disguised_code_normalises_back)
{
	static const uint32_t hidden[] = {0x200b, 0x200c, 0x200d, 0x2060, 0x2061, 0x2062, 0x2063, 0x2064,
					  0xfeff, 0xad, 0x34f, 0x180e, 0x61c, 0x200e, 0x202a, 0x2066,
					  0xfe0f, 0xe0041, 0x1d173};
	struct buf in, out;
	uint32_t seed = 0x5eed1234;
	size_t len = strlen(code);
	buf_init(&in, 1 << 20);
	buf_init(&out, 1 << 22);
	for (int round = 0; round < 200; round++) {
		buf_reset(&in);
		for (size_t i = 0; i < len; i++) {
			unsigned char ch = (unsigned char)code[i];
			uint32_t c = ch;
			seed = seed * 1103515245u + 12345u;
			switch ((seed >> 16) % 6) {
			case 0:
				if (ch > 0x20 && ch < 0x7f)
					c = 0xfee0 + ch; /* fullwidth */
				break;
			case 1:
				if (ch >= 'A' && ch <= 'Z')
					c = 0x1d400 + (ch - 'A'); /* bold */
				else if (ch >= 'a' && ch <= 'z')
					c = 0x1d41a + (ch - 'a');
				else if (ch >= '0' && ch <= '9')
					c = 0x1d7ce + (ch - '0');
				break;
			case 2:
				if (ch >= 'a' && ch <= 'z' && ch != 'h')
					c = 0x1d44e + (ch - 'a'); /* italic (h is U+210E) */
				break;
			case 3:
				if (ch >= 'a' && ch <= 'z')
					c = 0x1d68a + (ch - 'a'); /* monospace */
				else if (ch >= '0' && ch <= '9')
					c = 0x1d7f6 + (ch - '0');
				break;
			case 4:
				if (ch >= 'a' && ch <= 'z')
					c = 0x24d0 + (ch - 'a'); /* circled */
				else if (ch == ' ')
					c = 0x3000; /* ideographic space */
				break;
			default:
				break;
			}
			put_cp(&in, c);
			seed = seed * 1103515245u + 12345u;
			if ((seed >> 16) % 3 == 0)
				put_cp(&in, hidden[(seed >> 20) % (sizeof(hidden) / sizeof(hidden[0]))]);
		}
		if (notes_normalise(in.p, in.len, &out) != 0 || out.len != len || memcmp(out.p, code, len)) {
			CHECK(!"a disguised copy of the code normalises back to it");
			break;
		}
	}
	buf_release(&in);
	buf_release(&out);
}

TEST(index_path)
{
	struct fixture fx;
	struct shingles *sh;
	struct notes_match m;
	size_t all = strlen(code) + strlen(shorts) + sizeof(after_nul) - 1;
	/* as in twelve_refused_eleven_kept: 12 tokens from character 9, then 11 */
	const char *n12 = "I think static int parse_header(const unsigned char *p, size_t len is odd";
	const char *n11 = "I think static int parse_header(const unsigned char *p, size_t is odd";
	/* "!= 0x7f ) return err_set ( ERR_PARSE , \" bad header \");" spans a line of the code */
	const char *span12 = "see != 0x7f) return err_set(ERR_PARSE, \"bad header\"); there";
	const char *span11 = "see 0x7f) return err_set(ERR_PARSE, \"bad header\"); there";
	const char *spaced12 = "!=   0x7f)\n\nreturn\terr_set(  ERR_PARSE ,\r\n \"bad   header\");";
	/* ",\"" is one token where the code has two: the run stops there */
	const char *merged = "!= 0x7f) return err_set(ERR_PARSE,\"bad header\");";
	/* only tokens of 1 or 2 bytes: no trigram narrows the files */
	const char *short12 = "so a+b*c-d/e%f; ok";
	const char *short11 = "so a+b*c-d/e%f ok";
	/* after a NUL, where the trigram index stops */
	const char *nul12 = "blob_tail_call(alpha, beta, gamma, delta, eps);";
	const char *nul11 = "blob_tail_call(alpha, beta, gamma, delta, eps)";

	fixture_make_files(&fx, note_files);
	CHECK(shingles_new(&sh) == 0);
	for (size_t i = 0; i < index_n_files(fx.ix); i++) {
		size_t len = 0;
		const unsigned char *t = index_text(fx.ix, i, &len);
		if (t && len)
			CHECK(shingles_add(sh, (const char *)t, len) == 0);
	}
	CHECK(notes_match_index(fx.ix, n12, strlen(n12), NOTES_SCAN_MAX, &m) == 1 && m.tokens == 12 &&
	      m.from == 8);
	CHECK(notes_match_index(fx.ix, n11, strlen(n11), NOTES_SCAN_MAX, &m) == 0);
	CHECK(notes_match_index(fx.ix, span12, strlen(span12), NOTES_SCAN_MAX, &m) == 1 && m.tokens == 12 &&
	      m.from == 4 && m.to == strlen(span12) - 6);
	CHECK(notes_match_index(fx.ix, span11, strlen(span11), NOTES_SCAN_MAX, &m) == 0);
	CHECK(notes_match_index(fx.ix, spaced12, strlen(spaced12), NOTES_SCAN_MAX, &m) == 1 && m.tokens == 12);
	CHECK(notes_match_index(fx.ix, merged, strlen(merged), NOTES_SCAN_MAX, &m) == 0);
	CHECK(notes_match_index(fx.ix, short12, strlen(short12), NOTES_SCAN_MAX, &m) == 1 && m.tokens == 12);
	CHECK(notes_match_index(fx.ix, short11, strlen(short11), NOTES_SCAN_MAX, &m) == 0);
	CHECK(notes_match_index(fx.ix, nul12, strlen(nul12), NOTES_SCAN_MAX, &m) == 1 && m.tokens == 12);
	CHECK(notes_match_index(fx.ix, nul11, strlen(nul11), NOTES_SCAN_MAX, &m) == 0);
	CHECK(notes_match_index(fx.ix, code, strlen(code), NOTES_SCAN_MAX, &m) == 1 && m.from == 0 &&
	      m.to == strlen(code) - 1);
	CHECK(notes_match_index(fx.ix, "", 0, 0, &m) == 0);

	/* the budget: every file is read for short12, at the limit and one past it */
	CHECK(notes_match_index(fx.ix, short12, strlen(short12), all, &m) == 1);
	CHECK(notes_match_index(fx.ix, short12, strlen(short12), all - 1, &m) == ERR_TOOBIG);
	CHECK(strstr(err_msg(), "note refused: checking it against the sealed code would read 1 MiB") != NULL);
	CHECK(strstr(err_msg(), "a+b") == NULL);
	/* n12's windows need only src/h.c, and the file past its NUL */
	CHECK(notes_match_index(fx.ix, n12, strlen(n12), strlen(code) + sizeof(after_nul) - 1, &m) == 1);
	CHECK(notes_match_index(fx.ix, n12, strlen(n12), strlen(code), &m) == ERR_TOOBIG);

	/* the same answers as the shingles: runs of the code rejoined with other spacing, cut short */
	CHECK(same_answer(fx.ix, sh, n12) && same_answer(fx.ix, sh, span12) && same_answer(fx.ix, sh, merged) &&
	      same_answer(fx.ix, sh, short11) && same_answer(fx.ix, sh, nul12));
	{
		struct tokens_list l = {code, {0}, {0}, 0};
		static const char *const gaps[] = {" ", "\n", "\t\t", " \r\n  ", "\f", "\v "};
		unsigned seed = 7;
		char note[2048];
		notes_tokens(code, strlen(code), list_tok, &l);
		CHECK(l.n > 40);
		for (int trial = 0; trial < 400; trial++) {
			size_t start, n, len = 0;
			seed = seed * 1103515245u + 12345u;
			start = (seed >> 8) % l.n;
			seed = seed * 1103515245u + 12345u;
			n = 8 + (seed >> 8) % 10; /* 8 to 17 tokens */
			len += (size_t)snprintf(note, sizeof(note), "note: ");
			for (size_t i = start; i < start + n && i < l.n; i++) {
				seed = seed * 1103515245u + 12345u;
				len += (size_t)snprintf(note + len, sizeof(note) - len, "%.*s%s",
							(int)(l.to[i] - l.from[i]), code + l.from[i],
							gaps[(seed >> 8) % 6]);
			}
			if (!same_answer(fx.ix, sh, note)) {
				CHECK(!"index and shingles disagree");
				break;
			}
		}
	}
	shingles_free(sh);
	fixture_free(&fx);
}

int main(void)
{
	RUN(tokens);
	RUN(twelve_refused_eleven_kept);
	RUN(sealed_at_rest);
	RUN(normalised_first);
	RUN(nfkc);
	RUN(disguised_code_normalises_back);
	RUN(index_path);
	return test_done();
}
