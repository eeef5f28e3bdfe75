/* test_artifact: ELF sections (readelf as the oracle), ar members (ar as the oracle), the
 * account of where two builds differ, and hostile truncations and corruptions. */
#include "test.h"

#include <stdint.h>
#include <unistd.h>

#include "artifact.h"
#include "buf.h"

static char tmpdir[] = "/tmp/sealroom-artifact.XXXXXX";

static int sh(const char *cmd)
{
	return system(cmd);
}

static void slurp(const char *path, struct buf *b)
{
	buf_reset(b);
	if (buf_read_file(b, path))
		abort();
}

/* The section names readelf lists (without the null section), one per line in out. */
static void readelf_sections(const char *path, struct buf *out)
{
	char cmd[512];
	FILE *p;
	char line[512];
	snprintf(cmd, sizeof(cmd), "readelf -W -S '%s'", path);
	p = popen(cmd, "r");
	if (!p)
		abort();
	buf_reset(out);
	while (fgets(line, sizeof(line), p)) {
		char *lb = strchr(line, '['), *rb = lb ? strchr(lb, ']') : NULL, name[256];
		if (!lb || !rb || lb[1] == 'N' || sscanf(rb + 1, " %255s", name) != 1)
			continue;
		if (!strcmp(name, "NULL"))
			continue;
		if (buf_addstr(out, name) || buf_addch(out, '\n'))
			abort();
	}
	pclose(p);
}

TEST(elf_sections_like_readelf)
{
	struct buf f, want, got;
	struct artifact a;
	char obj[512];
	buf_init(&f, 1 << 30);
	buf_init(&want, 1 << 20);
	buf_init(&got, 1 << 20);
	snprintf(obj, sizeof(obj), "%s/t.so", tmpdir);
	{
		char cmd[1024];
		snprintf(cmd, sizeof(cmd), "printf 'int f(void){return 42;}\\nconst char s[]=\"hi\";\\n' > %s/t.c && "
			 "cc -g -O1 -fPIC -shared -o %s %s/t.c", tmpdir, obj, tmpdir);
		CHECK(sh(cmd) == 0);
	}
	const char *files[] = {obj, "/proc/self/exe", "/bin/sh"};
	for (size_t k = 0; k < 3; k++) {
		char path[512];
		if (k == 1)
			snprintf(path, sizeof(path), "/proc/%d/exe", (int)getpid());
		else
			snprintf(path, sizeof(path), "%s", files[k]);
		slurp(path, &f);
		CHECK(artifact_parse(f.p, f.len, &a) == 0);
		CHECK(a.kind == ARTIFACT_ELF);
		readelf_sections(k == 1 ? "/proc/self/exe" : path, &want);
		if (k == 1) {
			/* readelf ran as its own process: read this binary through its path instead */
			char self[512];
			ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
			if (n > 0) {
				self[n] = 0;
				readelf_sections(self, &want);
			}
		}
		buf_reset(&got);
		for (size_t i = 0; i < a.n_parts; i++) {
			const char *nm = a.parts[i].name;
			if (!strcmp(nm, "ELF header") || !strcmp(nm, "program headers") || !strcmp(nm, "section headers"))
				continue;
			if (buf_addstr(&got, nm) || buf_addch(&got, '\n'))
				abort();
		}
		CHECK(want.len > 0);
		CHECK_EQ_STR(got.p, want.p);
		artifact_release(&a);
	}
	buf_release(&f);
	buf_release(&want);
	buf_release(&got);
}

TEST(elf_diff_names_the_section)
{
	struct buf f, g, why;
	char a1[512], a2[512], cmd[2048];
	buf_init(&f, 1 << 30);
	buf_init(&g, 1 << 30);
	buf_init(&why, 1 << 16);
	snprintf(a1, sizeof(a1), "%s/d1.so", tmpdir);
	snprintf(a2, sizeof(a2), "%s/d2.so", tmpdir);
	snprintf(cmd, sizeof(cmd),
		 "printf 'int f(int x){return x*3;}\\nconst char s[]=\"version one\";\\n' > %s/d1.c && "
		 "printf 'int f(int x){return x*3;}\\nconst char s[]=\"version two\";\\n' > %s/d2.c && "
		 "cc -O1 -fPIC -shared -o %s %s/d1.c && cc -O1 -fPIC -shared -o %s %s/d2.c",
		 tmpdir, tmpdir, a1, tmpdir, a2, tmpdir);
	CHECK(sh(cmd) == 0);
	slurp(a1, &f);
	slurp(a2, &g);
	CHECK(artifact_diff(f.p, f.len, g.p, g.len, &why) == 0);
	CHECK(strstr(why.p, "ELF sections differ") != NULL);
	CHECK(strstr(why.p, ".rodata") != NULL);
	CHECK(strstr(why.p, ".text") == NULL);
	/* one flipped byte inside .text of a copy */
	{
		struct artifact a;
		buf_reset(&why);
		CHECK(artifact_parse(f.p, f.len, &a) == 0);
		buf_reset(&g);
		if (buf_add(&g, f.p, f.len))
			abort();
		for (size_t i = 0; i < a.n_parts; i++)
			if (!strcmp(a.parts[i].name, ".text") && a.parts[i].size)
				g.p[a.parts[i].off] ^= 1;
		artifact_release(&a);
		CHECK(artifact_diff(f.p, f.len, g.p, g.len, &why) == 0);
		CHECK_EQ_STR(why.p, "ELF sections differ: .text");
	}
	/* another kind of file */
	buf_reset(&why);
	CHECK(artifact_diff(f.p, f.len, "hello", 5, &why) == 0);
	CHECK(strstr(why.p, "the artifact is a file, the attested output an ELF file") != NULL);
	buf_release(&f);
	buf_release(&g);
	buf_release(&why);
}

TEST(ar_members_like_ar)
{
	struct buf f, g, why;
	struct artifact a;
	char cmd[2048], lib[512];
	buf_init(&f, 1 << 30);
	buf_init(&g, 1 << 30);
	buf_init(&why, 1 << 16);
	snprintf(lib, sizeof(lib), "%s/libx.a", tmpdir);
	snprintf(cmd, sizeof(cmd),
		 "cd %s && printf 'int a(void){return 1;}\\n' > a.c && printf 'int b(void){return 2;}\\n' > "
		 "a_member_with_a_long_name.c && cc -c a.c a_member_with_a_long_name.c && "
		 "ar rcsD libx.a a.o a_member_with_a_long_name.o && printf 'int b(void){return 3;}\\n' > "
		 "a_member_with_a_long_name.c && cc -c a_member_with_a_long_name.c && cp libx.a liby.a && "
		 "ar rcsD liby.a a_member_with_a_long_name.o",
		 tmpdir);
	CHECK(sh(cmd) == 0);
	slurp(lib, &f);
	CHECK(artifact_parse(f.p, f.len, &a) == 0);
	CHECK(a.kind == ARTIFACT_AR);
	{
		int seen_a = 0, seen_long = 0;
		for (size_t i = 0; i < a.n_parts; i++) {
			seen_a += !strcmp(a.parts[i].name, "a.o");
			seen_long += !strcmp(a.parts[i].name, "a_member_with_a_long_name.o");
		}
		CHECK(seen_a == 1 && seen_long == 1);
	}
	artifact_release(&a);
	snprintf(lib, sizeof(lib), "%s/liby.a", tmpdir);
	slurp(lib, &g);
	CHECK(artifact_diff(f.p, f.len, g.p, g.len, &why) == 0);
	CHECK(strstr(why.p, "archive members differ: ") != NULL);
	CHECK(strstr(why.p, "a_member_with_a_long_name.o") != NULL);
	CHECK(strstr(why.p, "a.o,") == NULL && strstr(why.p, " a.o") == NULL);
	buf_release(&f);
	buf_release(&g);
	buf_release(&why);
}

TEST(hostile)
{
	struct buf f;
	struct artifact a;
	char path[512];
	buf_init(&f, 1 << 30);
	snprintf(path, sizeof(path), "%s/t.so", tmpdir);
	slurp(path, &f);
	/* every truncation parses or fails cleanly, never reads past the end */
	for (size_t n = 0; n < f.len; n += (n < 128 ? 1 : 97)) {
		char *copy = xmalloc(n ? n : 1);
		memcpy(copy, f.p, n);
		int r = artifact_parse(copy, n, &a);
		CHECK(r == 0 || r == ERR_PARSE);
		for (size_t i = 0; r == 0 && i < a.n_parts; i++)
			CHECK(a.parts[i].off <= n && a.parts[i].size <= n - a.parts[i].off);
		artifact_release(&a);
		free(copy);
	}
	/* a section header table pointing past the end */
	{
		unsigned char h[64] = {0x7f, 'E', 'L', 'F', 2, 1, 1};
		h[40] = 0xf0; /* e_shoff */
		h[58] = 64;   /* e_shentsize */
		h[60] = 2;    /* e_shnum */
		CHECK(artifact_parse(h, sizeof(h), &a) == ERR_PARSE && strstr(err_msg(), "outside"));
		artifact_release(&a);
		h[40] = 0;
		h[41] = 0;
		h[58] = 8; /* too small an entry */
		h[40] = 1;
		CHECK(artifact_parse(h, sizeof(h), &a) == ERR_PARSE);
		artifact_release(&a);
	}
	/* ar: a member larger than the file, a bad long-name offset */
	{
		const char bad1[] = "!<arch>\na.o/            0           0     0     644     99999     `\nxx";
		const char bad2[] = "!<arch>\n/77             0           0     0     644     2         `\nxx";
		CHECK(artifact_parse(bad1, sizeof(bad1) - 1, &a) == ERR_PARSE && strstr(err_msg(), "past the end"));
		artifact_release(&a);
		CHECK(artifact_parse(bad2, sizeof(bad2) - 1, &a) == ERR_PARSE && strstr(err_msg(), "long name"));
		artifact_release(&a);
	}
	CHECK(artifact_parse("plain", 5, &a) == 0 && a.kind == ARTIFACT_FILE && a.n_parts == 1);
	artifact_release(&a);
	buf_release(&f);
}

int main(void)
{
	char cmd[128];
	if (!mkdtemp(tmpdir))
		abort();
	RUN(elf_sections_like_readelf);
	RUN(elf_diff_names_the_section);
	RUN(ar_members_like_ar);
	RUN(hostile);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd))
		return 1;
	return test_done();
}
