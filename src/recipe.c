/* recipe: the sealed build recipe's strict parser (see recipe.h). */
#include <stdlib.h>
#include <string.h>

#include "recipe.h"

static const char *const reserved_env[] = {
	"PATH", "HOME", "USER", "LOGNAME", "SHELL", "PWD", "OLDPWD", "TMPDIR", "TZ", "LANG",
	"LANGUAGE", "SOURCE_DATE_EPOCH", "HOSTNAME", "IFS", "ENV", "BASH_ENV", "CDPATH",
	"SEALROOM_OUT", NULL,
};

int recipe_env_reserved(const char *name, size_t len)
{
	for (size_t i = 0; reserved_env[i]; i++)
		if (strlen(reserved_env[i]) == len && !memcmp(reserved_env[i], name, len))
			return 1;
	/* the loader, locale and the time variation are the sandbox's alone */
	return (len >= 3 && !memcmp(name, "LD_", 3)) || (len >= 3 && !memcmp(name, "LC_", 3)) ||
	       (len >= 8 && !memcmp(name, "FAKETIME", 8));
}

static int path_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-' || c == '+' || c == '/' || c == '@' || c == ',';
}

int recipe_path_valid(const char *p, size_t len)
{
	size_t start = 0;
	if (len == 0 || len > RECIPE_MAX_PATH || p[0] == '/' || p[len - 1] == '/')
		return 0;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && !path_byte((unsigned char)p[i]))
			return 0;
		if (i == len || p[i] == '/') {
			size_t n = i - start;
			if (n == 0 || (n == 1 && p[start] == '.') ||
			    (n == 2 && p[start] == '.' && p[start + 1] == '.'))
				return 0;
			start = i + 1;
		}
	}
	return 1;
}

static int env_name_valid(const char *p, size_t len)
{
	if (len == 0 || len > 64 || (p[0] >= '0' && p[0] <= '9'))
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = p[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
			return 0;
	}
	return 1;
}

/* Debian policy 5.6.1 (names) and 5.6.12 (versions), with an optional ":arch". */
static int pkg_name_valid(const char *p, size_t len)
{
	size_t colon = len;
	for (size_t i = 0; i < len; i++)
		if (p[i] == ':') {
			colon = i;
			break;
		}
	if (colon < 2 || colon > 100)
		return 0;
	if (!((p[0] >= 'a' && p[0] <= 'z') || (p[0] >= '0' && p[0] <= '9')))
		return 0;
	for (size_t i = 1; i < colon; i++) {
		char c = p[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.'))
			return 0;
	}
	if (colon == len)
		return 1;
	if (len - colon - 1 == 0 || len - colon - 1 > 32)
		return 0;
	for (size_t i = colon + 1; i < len; i++) {
		char c = p[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			return 0;
	}
	return 1;
}

static int pkg_version_valid(const char *p, size_t len)
{
	if (len == 0 || len > 128 || p[0] < '0' || p[0] > '9')
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = p[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '+' || c == '~' || c == ':' || c == '-'))
			return 0;
	}
	return 1;
}

/* A decimal of at most 12 digits, no sign, no leading zero; then an optional suffix. */
static int parse_u64(const char *p, size_t len, int suffixes, uint64_t *out)
{
	uint64_t v = 0, mul = 1;
	if (suffixes && len > 1) {
		char s = p[len - 1];
		if (s == 'K' || s == 'M' || s == 'G') {
			mul = s == 'K' ? (uint64_t)1 << 10 : s == 'M' ? (uint64_t)1 << 20 : (uint64_t)1 << 30;
			len--;
		}
	}
	if (len == 0 || len > 12 || (p[0] == '0' && len > 1))
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	if (__builtin_mul_overflow(v, mul, out))
		return -1;
	return 0;
}

void recipe_free(struct recipe *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_toolchain; i++) {
		free(r->toolchain[i].name);
		free(r->toolchain[i].version);
	}
	for (size_t i = 0; i < r->n_env; i++) {
		free(r->env[i].name);
		free(r->env[i].value);
	}
	for (size_t i = 0; i < r->n_run; i++)
		free(r->run[i]);
	for (size_t i = 0; i < r->n_outputs; i++)
		free(r->outputs[i]);
	free(r->toolchain);
	free(r->env);
	free(r->run);
	free(r->outputs);
	free(r);
}

static int key_is(struct str k, const char *s)
{
	return k.len == strlen(s) && !memcmp(k.p, s, k.len);
}

/* Split v at its first space into a (non-empty) and b (the rest, may be empty). */
static int split_space(struct str v, struct str *a, struct str *b)
{
	const char *sp = memchr(v.p, ' ', v.len);
	if (!sp || sp == v.p)
		return -1;
	a->p = v.p;
	a->len = (size_t)(sp - v.p);
	b->p = sp + 1;
	b->len = v.len - a->len - 1;
	return 0;
}

static int one_line(struct recipe *r, size_t ln, struct str k, struct str v, int *seen_time,
		    int *seen_disk)
{
	struct str a, b;
	if (key_is(k, "toolchain")) {
		if (split_space(v, &a, &b) || !pkg_name_valid(a.p, a.len) || memchr(b.p, ' ', b.len) ||
		    !pkg_version_valid(b.p, b.len))
			return err_set(ERR_PARSE, "line %zu: a toolchain line is 'toolchain PACKAGE VERSION' "
				       "with a Debian package name and version", ln);
		if (r->n_toolchain == RECIPE_MAX_TOOLCHAIN)
			return err_set(ERR_TOOBIG, "line %zu: more than %d toolchain packages", ln,
				       RECIPE_MAX_TOOLCHAIN);
		for (size_t i = 0; i < r->n_toolchain; i++)
			if (strlen(r->toolchain[i].name) == a.len && !memcmp(r->toolchain[i].name, a.p, a.len))
				return err_set(ERR_PARSE, "line %zu: toolchain package '%.*s' is declared twice",
					       ln, (int)a.len, a.p);
		r->toolchain[r->n_toolchain].name = xstrndup(a.p, a.len);
		r->toolchain[r->n_toolchain].version = xstrndup(b.p, b.len);
		r->n_toolchain++;
	} else if (key_is(k, "env")) {
		if (split_space(v, &a, &b) || !env_name_valid(a.p, a.len))
			return err_set(ERR_PARSE, "line %zu: an env line is 'env NAME VALUE' with NAME of "
				       "A-Z, 0-9 and _", ln);
		if (recipe_env_reserved(a.p, a.len))
			return err_set(ERR_PARSE, "line %zu: '%.*s' is set by the sandbox and cannot be "
				       "changed by a recipe", ln, (int)a.len, a.p);
		if (r->n_env == RECIPE_MAX_ENV)
			return err_set(ERR_TOOBIG, "line %zu: more than %d env lines", ln, RECIPE_MAX_ENV);
		for (size_t i = 0; i < r->n_env; i++)
			if (strlen(r->env[i].name) == a.len && !memcmp(r->env[i].name, a.p, a.len))
				return err_set(ERR_PARSE, "line %zu: env '%.*s' is set twice", ln, (int)a.len, a.p);
		r->env[r->n_env].name = xstrndup(a.p, a.len);
		r->env[r->n_env].value = xstrndup(b.p, b.len);
		r->n_env++;
	} else if (key_is(k, "run")) {
		if (v.len == 0)
			return err_set(ERR_PARSE, "line %zu: an empty run line", ln);
		if (r->n_run == RECIPE_MAX_RUN)
			return err_set(ERR_TOOBIG, "line %zu: more than %d run lines", ln, RECIPE_MAX_RUN);
		r->run[r->n_run++] = xstrndup(v.p, v.len);
	} else if (key_is(k, "output")) {
		if (!recipe_path_valid(v.p, v.len))
			return err_set(ERR_PARSE, "line %zu: output '%.*s' is not a relative path inside "
				       "the tree (no '.', '..' or empty parts; letters, digits, ._+-@, and /)",
				       ln, (int)(v.len > 80 ? 80 : v.len), v.p);
		if (r->n_outputs == RECIPE_MAX_OUTPUTS)
			return err_set(ERR_TOOBIG, "line %zu: more than %d outputs", ln, RECIPE_MAX_OUTPUTS);
		for (size_t i = 0; i < r->n_outputs; i++)
			if (strlen(r->outputs[i]) == v.len && !memcmp(r->outputs[i], v.p, v.len))
				return err_set(ERR_PARSE, "line %zu: output '%.*s' is listed twice", ln,
					       (int)v.len, v.p);
		r->outputs[r->n_outputs++] = xstrndup(v.p, v.len);
	} else if (key_is(k, "time-limit")) {
		if (*seen_time)
			return err_set(ERR_PARSE, "line %zu: time-limit is given twice", ln);
		if (parse_u64(v.p, v.len, 0, &r->time_limit) || r->time_limit < 1 ||
		    r->time_limit > RECIPE_TIME_MAX)
			return err_set(ERR_PARSE, "line %zu: time-limit is a number of seconds, 1 to %d", ln,
				       RECIPE_TIME_MAX);
		*seen_time = 1;
	} else if (key_is(k, "disk-limit")) {
		if (*seen_disk)
			return err_set(ERR_PARSE, "line %zu: disk-limit is given twice", ln);
		if (parse_u64(v.p, v.len, 1, &r->disk_limit) || r->disk_limit < RECIPE_DISK_MIN ||
		    r->disk_limit > RECIPE_DISK_MAX)
			return err_set(ERR_PARSE, "line %zu: disk-limit is a size in bytes (suffix K, M or G), "
				       "1M to 64G", ln);
		*seen_disk = 1;
	} else {
		return err_set(ERR_PARSE, "line %zu: unknown key '%.*s' (toolchain, env, run, output, "
			       "time-limit, disk-limit)", ln, (int)(k.len > 32 ? 32 : k.len), k.p);
	}
	return 0;
}

int recipe_parse(const char *p, size_t len, struct recipe **out)
{
	struct recipe *r;
	size_t pos = 0, ln = 0, ml = strlen(RECIPE_MAGIC);
	int seen_time = 0, seen_disk = 0, ret = 0;

	*out = NULL;
	if (len > RECIPE_MAX_LEN)
		return err_set(ERR_TOOBIG, "the recipe is larger than %zu bytes", RECIPE_MAX_LEN);
	if (len < ml + 1 || memcmp(p, RECIPE_MAGIC, ml) || p[ml] != '\n')
		return err_set(ERR_PARSE, "line 1: a recipe starts with the line '%s'", RECIPE_MAGIC);
	if (p[len - 1] != '\n')
		return err_set(ERR_PARSE, "the recipe's last line does not end with a newline");
	r = xcalloc(1, sizeof(*r));
	r->toolchain = xcalloc(RECIPE_MAX_TOOLCHAIN, sizeof(*r->toolchain));
	r->env = xcalloc(RECIPE_MAX_ENV, sizeof(*r->env));
	r->run = xcalloc(RECIPE_MAX_RUN, sizeof(*r->run));
	r->outputs = xcalloc(RECIPE_MAX_OUTPUTS, sizeof(*r->outputs));
	r->time_limit = RECIPE_TIME_DEFAULT;
	r->disk_limit = RECIPE_DISK_DEFAULT;
	pos = ml + 1;
	ln = 1;
	while (pos < len) {
		const char *nl = memchr(p + pos, '\n', len - pos);
		struct str line = {p + pos, (size_t)(nl - (p + pos))}, k, v;
		ln++;
		pos += line.len + 1;
		if (line.len > RECIPE_MAX_LINE) {
			ret = err_set(ERR_TOOBIG, "line %zu: longer than %d bytes", ln, RECIPE_MAX_LINE);
			goto out;
		}
		for (size_t i = 0; i < line.len; i++) {
			unsigned char c = (unsigned char)line.p[i];
			if (c < 0x20 || c > 0x7e) {
				ret = err_set(ERR_PARSE, "line %zu: byte 0x%02x at column %zu (only printable "
					      "ASCII; no tabs or carriage returns)", ln, c, i + 1);
				goto out;
			}
		}
		if (line.len == 0 || line.p[0] == '#')
			continue;
		if (split_space(line, &k, &v)) {
			ret = err_set(ERR_PARSE, "line %zu: not 'KEY VALUE'", ln);
			goto out;
		}
		if ((ret = one_line(r, ln, k, v, &seen_time, &seen_disk)))
			goto out;
	}
	if (r->n_toolchain == 0)
		ret = err_set(ERR_PARSE, "the recipe declares no toolchain package");
	else if (r->n_run == 0)
		ret = err_set(ERR_PARSE, "the recipe has no run line");
	else if (r->n_outputs == 0)
		ret = err_set(ERR_PARSE, "the recipe names no output");
out:
	if (ret)
		recipe_free(r);
	else
		*out = r;
	return ret;
}
