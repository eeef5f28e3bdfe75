/* cvss: CVSS v3.1 base scores (see cvss.h). */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "cvss.h"

/* The base metrics in the specification's order, their values and weights. */
struct metric {
	const char *name;
	const char *values; /* one letter each */
	double w[4];
};

static const struct metric metrics[8] = {
	{"AV", "NALP", {0.85, 0.62, 0.55, 0.2}},
	{"AC", "LH", {0.77, 0.44}},
	{"PR", "NLH", {0.85, 0.62, 0.27}}, /* 0.68 and 0.5 when the scope changes */
	{"UI", "NR", {0.85, 0.62}},
	{"S", "UC", {0}},
	{"C", "HLN", {0.56, 0.22, 0}},
	{"I", "HLN", {0.56, 0.22, 0}},
	{"A", "HLN", {0.56, 0.22, 0}},
};

/* Roundup as defined in Appendix A of the v3.1 specification: the smallest number with
 * one decimal that is equal to or higher than its input, immune to floating-point error;
 * returned in tenths. */
static int roundup10(double x)
{
	int64_t i = (int64_t)llround(x * 100000.0);
	if (i % 10000 == 0)
		return (int)(i / 10000);
	return (int)(i / 10000 + 1);
}

int cvss_parse(const char *vector, size_t len, char *canon, int *score10)
{
	static const char prefix[] = "CVSS:3.1/";
	int idx[8] = {-1, -1, -1, -1, -1, -1, -1, -1};
	size_t pos = sizeof(prefix) - 1;
	double iss, impact, expl, pr;
	int changed, n = 0;

	if (len > CVSS_VECTOR_MAX)
		return err_set(ERR_PARSE, "cvss: vector longer than %d bytes", CVSS_VECTOR_MAX);
	if (len < pos || memcmp(vector, prefix, pos))
		return err_set(ERR_PARSE, "cvss: vector does not start with CVSS:3.1/");
	while (pos < len) {
		size_t end = pos, colon;
		int m = -1;
		const char *v;
		while (end < len && vector[end] != '/')
			end++;
		for (colon = pos; colon < end && vector[colon] != ':'; colon++)
			;
		if (colon + 2 != end)
			return err_set(ERR_PARSE, "cvss: '%.*s' is not METRIC:VALUE", (int)(end - pos),
				       vector + pos);
		for (int k = 0; k < 8; k++)
			if (strlen(metrics[k].name) == colon - pos &&
			    !memcmp(metrics[k].name, vector + pos, colon - pos))
				m = k;
		if (m < 0)
			return err_set(ERR_PARSE, "cvss: '%.*s' is not a base metric", (int)(colon - pos),
				       vector + pos);
		if (idx[m] >= 0)
			return err_set(ERR_PARSE, "cvss: metric %s is given twice", metrics[m].name);
		if (!(v = strchr(metrics[m].values, vector[colon + 1])) || !vector[colon + 1])
			return err_set(ERR_PARSE, "cvss: '%c' is not a value of %s", vector[colon + 1],
				       metrics[m].name);
		idx[m] = (int)(v - metrics[m].values);
		n++;
		pos = end + 1;
		if (end + 1 == len)
			return err_set(ERR_PARSE, "cvss: vector ends with '/'");
	}
	if (n != 8) {
		for (int k = 0; k < 8; k++)
			if (idx[k] < 0)
				return err_set(ERR_PARSE, "cvss: base metric %s is missing", metrics[k].name);
	}
	changed = idx[4] == 1;
	iss = 1.0 - (1.0 - metrics[5].w[idx[5]]) * (1.0 - metrics[6].w[idx[6]]) *
			    (1.0 - metrics[7].w[idx[7]]);
	impact = changed ? 7.52 * (iss - 0.029) - 3.25 * pow(iss - 0.02, 15) : 6.42 * iss;
	pr = metrics[2].w[idx[2]];
	if (changed && idx[2] == 1)
		pr = 0.68;
	else if (changed && idx[2] == 2)
		pr = 0.5;
	expl = 8.22 * metrics[0].w[idx[0]] * metrics[1].w[idx[1]] * pr * metrics[3].w[idx[3]];
	if (impact <= 0)
		*score10 = 0;
	else if (changed)
		*score10 = roundup10(fmin(1.08 * (impact + expl), 10.0));
	else
		*score10 = roundup10(fmin(impact + expl, 10.0));
	{
		char *c = canon;
		memcpy(c, prefix, sizeof(prefix) - 1);
		c += sizeof(prefix) - 1;
		for (int k = 0; k < 8; k++) {
			size_t nl = strlen(metrics[k].name);
			memcpy(c, metrics[k].name, nl);
			c += nl;
			*c++ = ':';
			*c++ = metrics[k].values[idx[k]];
			if (k < 7)
				*c++ = '/';
		}
		*c = 0;
	}
	return 0;
}

const char *cvss_rating(int score10)
{
	if (score10 <= 0)
		return "none";
	if (score10 < 40)
		return "low";
	if (score10 < 70)
		return "medium";
	if (score10 < 90)
		return "high";
	return "critical";
}

int cvss_is_rating(const char *s)
{
	return !strcmp(s, "low") || !strcmp(s, "medium") || !strcmp(s, "high") ||
	       !strcmp(s, "critical");
}
