/* Unit tests: cvss (the v3.1 base score formula against the specification's examples). */
#include "cvss.h"
#include "test.h"

struct example {
	const char *vector;
	int score10;
};

/* CVSS v3.1 Specification, "Examples" document (FIRST): the base vectors and scores of its
 * worked vulnerabilities. */
static const struct example examples[] = {
	{"CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 61},  /* CVE-2013-1937 phpMyAdmin XSS */
	{"CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:L/I:L/A:N", 64},  /* CVE-2013-0375 MySQL */
	{"CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:N/A:N", 31},  /* CVE-2014-3566 POODLE */
	{"CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H", 99},  /* CVE-2012-1516 VMware */
	{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", 75},  /* CVE-2014-0160 Heartbleed */
	{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 98},  /* CVE-2014-6271 Shellshock */
	{"CVSS:3.1/AV:L/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H", 78},  /* CVE-2009-0658 Adobe Reader */
	{"CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H", 88},  /* CVE-2016-1645 Chrome */
	{"CVSS:3.1/AV:P/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 68},  /* CVE-2014-2005 Sophos */
	{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:L/I:N/A:N", 58},  /* CVE-2010-0467 Joomla */
	{"CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:H/I:H/A:H", 96},  /* CVE-2012-5376 Chrome IPC */
	{"CVSS:3.1/AV:A/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 88},  /* CVE-2011-1265 Bluetooth */
	{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", 0},   /* no impact */
	{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 100}, /* capped at 10 */
};

TEST(spec_examples)
{
	char canon[CVSS_VECTOR_MAX + 1];
	int s;
	for (size_t i = 0; i < sizeof(examples) / sizeof(examples[0]); i++) {
		s = -1;
		CHECK(cvss_parse(examples[i].vector, strlen(examples[i].vector), canon, &s) == 0);
		if (s != examples[i].score10)
			fprintf(stderr, "%s: %d, want %d\n", examples[i].vector, s, examples[i].score10);
		CHECK(s == examples[i].score10);
		CHECK_EQ_STR(canon, examples[i].vector);
	}
}

TEST(any_order_canonical)
{
	static const char v[] = "CVSS:3.1/A:H/I:H/C:H/S:U/UI:N/PR:N/AC:L/AV:N";
	char canon[CVSS_VECTOR_MAX + 1];
	int s;
	CHECK(cvss_parse(v, strlen(v), canon, &s) == 0 && s == 98);
	CHECK_EQ_STR(canon, "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H");
}

TEST(bad_vectors)
{
	static const char *const bad[] = {
		"", "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
		"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H",
		"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/",
		"CVSS:3.1/AV:N/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
		"CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
		"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:F",
		"CVSS:3.1/AV:/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
		"CVSS:3.1/AV:NN/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
		"CVSS:3.1//AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
		"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/AV:N/AC:L/PR:N/UI:N/S:U/C:H",
	};
	char canon[CVSS_VECTOR_MAX + 1];
	int s;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(cvss_parse(bad[i], strlen(bad[i]), canon, &s) == ERR_PARSE);
		CHECK(!strncmp(err_msg(), "cvss: ", 6));
	}
}

TEST(ratings)
{
	CHECK_EQ_STR(cvss_rating(0), "none");
	CHECK_EQ_STR(cvss_rating(1), "low");
	CHECK_EQ_STR(cvss_rating(39), "low");
	CHECK_EQ_STR(cvss_rating(40), "medium");
	CHECK_EQ_STR(cvss_rating(69), "medium");
	CHECK_EQ_STR(cvss_rating(70), "high");
	CHECK_EQ_STR(cvss_rating(89), "high");
	CHECK_EQ_STR(cvss_rating(90), "critical");
	CHECK_EQ_STR(cvss_rating(100), "critical");
	CHECK(cvss_is_rating("high") && !cvss_is_rating("none") && !cvss_is_rating("High"));
}

int main(void)
{
	RUN(spec_examples);
	RUN(any_order_canonical);
	RUN(bad_vectors);
	RUN(ratings);
	return test_done();
}
