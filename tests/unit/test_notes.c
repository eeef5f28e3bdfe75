/* Unit tests: notes (12 tokens of code refused, 11 kept, lab privacy, tokens). */
#include "notes.h"
#include "policy.h"
#include "test.h"

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
	CHECK(shingles_count(sh) > 40);
	CHECK(shingles_match(sh, n12, strlen(n12), &m) == 1 && m.tokens == 12 && m.from == 8);
	CHECK(shingles_match(sh, n11, strlen(n11), &m) == 0);
	CHECK(shingles_match(sh, n12b, strlen(n12b), &m) == 1);
	CHECK(shingles_match(sh, code, strlen(code), &m) == 1 && m.from == 0 && m.to == strlen(code) - 1);

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

	CHECK(notes_add(f, sh, &who, "fw", "1", "src/h.c", 3, n12, 100, &id) == ERR_DENIED);
	CHECK(strstr(err_msg(), "note refused: characters 9-") != NULL);
	CHECK(strstr(err_msg(), "repeat 12 consecutive tokens") != NULL);
	CHECK(strstr(err_msg(), "parse_header") == NULL); /* the refusal never echoes code */
	CHECK(notes_add(f, sh, &who, "fw", "1", "src/h.c", 3, n11, 100, &id) == 0 && id > 0);
	CHECK(notes_add(f, sh, &who, "fw", "1", "", 0, "", 100, &id) == ERR_USAGE);
	{
		char *big = xmalloc(NOTES_TEXT_MAX + 2);
		memset(big, 'a', NOTES_TEXT_MAX + 1);
		big[NOTES_TEXT_MAX + 1] = 0;
		CHECK(notes_add(f, sh, &who, "fw", "1", "", 0, big, 100, &id) == ERR_TOOBIG);
		big[NOTES_TEXT_MAX] = 0; /* at the limit */
		CHECK(notes_add(f, sh, &who, "fw", "1", "", 0, big, 100, &id) == 0);
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

int main(void)
{
	RUN(tokens);
	RUN(twelve_refused_eleven_kept);
	return test_done();
}
