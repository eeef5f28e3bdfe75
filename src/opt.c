/* opt: long-option parsing shared by the subcommands. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "opt.h"

static int set_value(const struct opt *o, const char *v)
{
	if (o->kind == OPT_STRING) {
		*(const char **)o->ptr = v;
		return 0;
	}
	if (o->kind == OPT_LIST) {
		struct opt_list *l = o->ptr;
		if (l->n == OPT_LIST_MAX)
			return err_set(ERR_USAGE, "--%s is given more than %d times", o->name, OPT_LIST_MAX);
		l->v[l->n++] = v;
		return 0;
	}
	if (o->kind == OPT_UINT) {
		char *end;
		unsigned long long n;
		errno = 0;
		if (!*v || *v == '-')
			return err_set(ERR_USAGE, "--%s wants a number, got '%s'", o->name, v);
		n = strtoull(v, &end, 10);
		if (errno || *end)
			return err_set(ERR_USAGE, "--%s wants a number, got '%s'", o->name, v);
		*(unsigned long long *)o->ptr = n;
		return 0;
	}
	return err_set(ERR_USAGE, "--%s takes no value", o->name);
}

int opt_parse(int argc, char **argv, const struct opt *opts, struct opt_common *common,
	      const char **pos, int max_pos, int *n_pos)
{
	int only_pos = 0;
	*n_pos = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const struct opt *o = NULL;
		const char *eq, *name;
		size_t nlen;
		if (only_pos || a[0] != '-' || !a[1]) {
			if (*n_pos >= max_pos)
				return err_set(ERR_USAGE, "unexpected argument '%s'", a);
			pos[(*n_pos)++] = a;
			continue;
		}
		if (!strcmp(a, "--")) {
			only_pos = 1;
			continue;
		}
		if (!strcmp(a, "-C")) {
			if (i + 1 >= argc)
				return err_set(ERR_USAGE, "-C wants a folder");
			common->dir = argv[++i];
			continue;
		}
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			common->help = 1;
			continue;
		}
		if (a[1] != '-')
			return err_set(ERR_USAGE, "unknown option '%s'", a);
		name = a + 2;
		eq = strchr(name, '=');
		nlen = eq ? (size_t)(eq - name) : strlen(name);
		if (nlen == 4 && !strncmp(name, "json", 4) && !eq) {
			common->json = 1;
			continue;
		}
		for (const struct opt *p = opts; p && p->name; p++)
			if (strlen(p->name) == nlen && !strncmp(p->name, name, nlen))
				o = p;
		if (!o)
			return err_set(ERR_USAGE, "unknown option '--%.*s'", (int)nlen, name);
		if (o->kind == OPT_FLAG) {
			if (eq)
				return err_set(ERR_USAGE, "--%s takes no value", o->name);
			*(int *)o->ptr = 1;
			continue;
		}
		if (eq) {
			if (set_value(o, eq + 1))
				return ERR_USAGE;
		} else {
			if (i + 1 >= argc)
				return err_set(ERR_USAGE, "--%s wants a value", o->name);
			if (set_value(o, argv[++i]))
				return ERR_USAGE;
		}
	}
	return 0;
}
