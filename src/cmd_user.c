/* cmd_user: sealroom user add|list|passwd|unlock|disable */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "cmd.h"
#include "policy.h"

static const char usage[] =
	"sealroom user add LOGIN --org ORG --role vendor|operator|reviewer|auditor [--name NAME] "
	"[--password-stdin] | user list | user passwd LOGIN [--password-stdin] | user unlock LOGIN | "
	"user disable LOGIN";

/* Read one line (without its newline) from stdin into sodium_malloc memory. */
static int read_password(char **out)
{
	char *p = sodium_malloc(AUTH_PASSWORD_MAX + 2);
	size_t n;
	if (!p)
		BUG("sodium_malloc");
	if (!fgets(p, AUTH_PASSWORD_MAX + 2, stdin)) {
		sodium_free(p);
		return err_set(ERR_USAGE, "no password on stdin");
	}
	n = strlen(p);
	if (n && p[n - 1] == '\n')
		p[--n] = 0;
	if (n && p[n - 1] == '\r')
		p[--n] = 0;
	*out = p;
	return 0;
}

/* A password from stdin or a generated one, in sodium_malloc memory. */
static int get_password(int from_stdin, char **out, int *generated)
{
	struct buf b;
	int r;
	*generated = !from_stdin;
	if (from_stdin)
		return read_password(out);
	buf_init(&b, 64);
	if ((r = auth_password_generate(&b)))
		return r;
	*out = sodium_malloc(b.len + 1);
	if (!*out)
		BUG("sodium_malloc");
	memcpy(*out, b.p, b.len + 1);
	sodium_memzero(b.p, b.len);
	buf_release(&b);
	return 0;
}

struct list_ctx {
	struct buf *out;
	int json, n;
};

static int list_one(void *ctx, const struct person_info *p)
{
	struct list_ctx *l = ctx;
	const char *state = p->disabled ? "disabled" : p->locked_until > time(NULL) ? "locked" : "active";
	int r;
	if (!l->json) {
		l->n++;
		return buf_addf(l->out, "%-20s %-9s %-20s %-8s %s\n", p->login, p->role, p->org, state,
				p->full_name);
	}
	if ((r = buf_addf(l->out, "%s{\"login\":\"%s\",\"role\":\"%s\",\"org\":\"%s\",\"state\":\"%s\",\"name\":",
			  l->n++ ? "," : "", p->login, p->role, p->org, state)) ||
	    (r = buf_addjson(l->out, p->full_name, strlen(p->full_name))))
		return r;
	return buf_addch(l->out, '}');
}

static int do_add(struct facility *f, const char *login, const char *org, const char *role,
		  const char *name, int pw_stdin, int json)
{
	unsigned char *secret = sodium_malloc(AUTH_TOTP_SECRET_LEN);
	char *pw = NULL;
	struct buf uri, b32;
	int r, generated;
	if (!secret)
		BUG("sodium_malloc");
	buf_init(&uri, 4096);
	buf_init(&b32, 256);
	if ((r = get_password(pw_stdin, &pw, &generated)) ||
	    (r = policy_person_add(f, login, org, role, name ? name : "", pw, cmd_local_actor(), secret)) ||
	    (r = auth_otpauth_uri(facility_name(f), login, secret, AUTH_TOTP_SECRET_LEN, &uri)) ||
	    (r = auth_base32_encode(secret, AUTH_TOTP_SECRET_LEN, &b32)))
		goto out;
	if (json) {
		printf("{\"login\":\"%s\",\"org\":\"%s\",\"role\":\"%s\",", login, org, role);
		if (generated)
			printf("\"password\":\"%s\",", pw);
		printf("\"totp_secret\":\"%s\",\"otpauth\":\"%s\"}\n", b32.p, uri.p);
	} else {
		printf("added %s '%s' of org '%s'\n", role, login, org);
		if (generated)
			printf("password:    %s\n", pw);
		printf("totp secret: %s\notpauth uri: %s\n", b32.p, uri.p);
	}
out:
	if (pw)
		sodium_free(pw);
	sodium_free(secret);
	sodium_memzero(b32.p ? b32.p : (char *)"", b32.len);
	buf_release(&uri);
	buf_release(&b32);
	return r;
}

int cmd_user(int argc, char **argv)
{
	const char *org = NULL, *role = NULL, *name = NULL, *pos[2], *verb;
	int pw_stdin = 0, n, r;
	struct opt_common c = {0};
	struct opt opts[] = {{"org", OPT_STRING, &org}, {"role", OPT_STRING, &role},
			     {"name", OPT_STRING, &name}, {"password-stdin", OPT_FLAG, &pw_stdin},
			     {NULL, 0, NULL}};
	struct facility *f = NULL;
	struct buf out;
	struct list_ctx l = {0};

	if (opt_parse(argc, argv, opts, &c, pos, 2, &n))
		return cmd_usage("user", usage);
	if (c.help) {
		printf("usage: %s\n\n"
		       "People of an engagement. 'add' makes an account with a role in an org (vendor in\n"
		       "a vendor org, operator in an operator org, reviewer in a lab, auditor anywhere),\n"
		       "prints a generated password (or reads one line from stdin with --password-stdin)\n"
		       "and the TOTP secret with its otpauth:// URI for an authenticator app. 'passwd'\n"
		       "sets a new password and ends the person's sessions; 'unlock' clears a lockout\n"
		       "after failed logins; 'disable' ends every session and refuses further logins.\n"
		       "Every change is logged.\n", usage);
		return 0;
	}
	verb = n >= 1 ? pos[0] : "";
	if (!(!strcmp(verb, "list") && n == 1) &&
	    !((!strcmp(verb, "add") || !strcmp(verb, "passwd") || !strcmp(verb, "unlock") ||
	       !strcmp(verb, "disable")) && n == 2)) {
		err_set(ERR_USAGE, "wants add, list, passwd, unlock or disable");
		return cmd_usage("user", usage);
	}
	if (!strcmp(verb, "add") && (!org || !role)) {
		err_set(ERR_USAGE, "'user add' needs --org and --role");
		return cmd_usage("user", usage);
	}
	buf_init(&out, 0);
	if ((r = facility_open(facility_resolve(c.dir), &f)))
		goto out;
	if (!strcmp(verb, "add")) {
		r = do_add(f, pos[1], org, role, name, pw_stdin, c.json);
	} else if (!strcmp(verb, "list")) {
		l.out = &out;
		l.json = c.json;
		if ((c.json && (r = buf_addch(&out, '['))) || (r = policy_person_each(f, list_one, &l)) ||
		    (c.json && (r = buf_addstr(&out, "]\n"))))
			goto out;
		fputs(out.p ? out.p : "", stdout);
	} else if (!strcmp(verb, "passwd")) {
		char *pw = NULL;
		int generated;
		if (!(r = get_password(pw_stdin, &pw, &generated)) &&
		    !(r = auth_set_password(f, pos[1], pw, cmd_local_actor()))) {
			if (c.json)
				printf(generated ? "{\"login\":\"%s\",\"password\":\"%s\"}\n" : "{\"login\":\"%s\"}\n",
				       pos[1], pw);
			else if (generated)
				printf("new password of '%s': %s\n", pos[1], pw);
			else
				printf("password of '%s' changed\n", pos[1]);
		}
		if (pw)
			sodium_free(pw);
	} else {
		int un = !strcmp(verb, "unlock");
		r = un ? auth_unlock(f, pos[1], cmd_local_actor()) : auth_disable(f, pos[1], cmd_local_actor());
		if (!r) {
			if (c.json)
				printf("{\"login\":\"%s\",\"state\":\"%s\"}\n", pos[1], un ? "active" : "disabled");
			else
				printf("%s '%s'\n", un ? "unlocked" : "disabled", pos[1]);
		}
	}
out:
	buf_release(&out);
	facility_free(f);
	return r ? cmd_fail("user", r) : 0;
}
