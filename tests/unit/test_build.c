/* test_build: the build environment digest against dpkg-query and sha256sum as oracles;
 * a toolchain that is not the declared one is refused. (Whole builds in the sandbox are
 * run by tests/cli/0804-build.sh.) */
#include "test.h"

#include <stdint.h>

#include "build.h"
#include "buf.h"
#include "hash.h"
#include "recipe.h"

static void run(const char *cmd, char *out, size_t n)
{
	FILE *p = popen(cmd, "r");
	size_t k;
	if (!p)
		abort();
	k = fread(out, 1, n - 1, p);
	out[k] = 0;
	while (k && (out[k - 1] == '\n'))
		out[--k] = 0;
	pclose(p);
}

static int recipe_with(const char *pkg, const char *version, struct recipe **r)
{
	char text[512];
	snprintf(text, sizeof(text), "sealroom/build/v1\ntoolchain %s %s\nrun true\noutput a\n", pkg, version);
	return recipe_parse(text, strlen(text), r);
}

TEST(env_digest_oracles)
{
	char ver[256], want[512], line[700], n_pkgs[32];
	struct recipe *r = NULL;
	struct buf doc;
	char hex[65], again[65];
	unsigned char d[32];
	buf_init(&doc, (size_t)64 << 20);
	run("dpkg-query -W -f='${Version}' make", ver, sizeof(ver));
	CHECK(ver[0] != 0);
	CHECK(recipe_with("make", ver, &r) == 0);
	CHECK(build_env_digest(r, &doc, hex) == 0);
	CHECK(!strncmp(doc.p, "sealroom/build-env/v1\n", 22));
	snprintf(line, sizeof(line), "\npackage make %s\n", ver);
	CHECK(strstr(doc.p, line) != NULL);
	/* /usr/bin/make's digest, as sha256sum computes it */
	run("sha256sum /usr/bin/make | cut -d' ' -f1", want, sizeof(want));
	snprintf(line, sizeof(line), "\nfile %s /usr/bin/make\n", want);
	CHECK(strstr(doc.p, line) != NULL);
	/* as many package lines as dpkg-query lists installed packages */
	run("dpkg-query -W -f='${db:Status-Abbrev}\\n' | grep -c '^ii '", n_pkgs, sizeof(n_pkgs));
	{
		size_t k = 0;
		for (const char *s = doc.p; (s = strstr(s, "\npackage ")); s++)
			k++;
		CHECK(k == (size_t)strtoul(n_pkgs, NULL, 10));
	}
	sha256(doc.p, doc.len, d);
	hex_encode(want, d, 32);
	CHECK_EQ_STR(hex, want);
	/* stable */
	buf_reset(&doc);
	CHECK(build_env_digest(r, &doc, again) == 0);
	CHECK_EQ_STR(hex, again);
	recipe_free(r);
	buf_release(&doc);
}

TEST(wrong_toolchain)
{
	struct recipe *r = NULL;
	struct buf doc;
	char hex[65];
	buf_init(&doc, (size_t)64 << 20);
	CHECK(recipe_with("make", "0.1-1", &r) == 0);
	CHECK(build_env_digest(r, &doc, hex) == ERR_DENIED);
	CHECK(strstr(err_msg(), "'make' is ") && strstr(err_msg(), "the recipe declares 0.1-1"));
	recipe_free(r);
	r = NULL;
	buf_reset(&doc);
	CHECK(recipe_with("no-such-package-here", "1.0", &r) == 0);
	CHECK(build_env_digest(r, &doc, hex) == ERR_NOTFOUND);
	CHECK(strstr(err_msg(), "'no-such-package-here' is not installed"));
	recipe_free(r);
	buf_release(&doc);
}

TEST(var_names)
{
	CHECK_EQ_STR(build_var_name(BUILD_VAR_PATH), "build path");
	CHECK_EQ_STR(build_var_name(BUILD_VAR_TIME), "time");
	CHECK_EQ_STR(build_var_name(BUILD_VAR_ORDER), "file order");
	CHECK_EQ_STR(build_var_name(BUILD_VAR_HOST), "host name");
}

int main(void)
{
	RUN(env_digest_oracles);
	RUN(wrong_toolchain);
	RUN(var_names);
	return test_done();
}
