/*
 * main: argv[1] -> the subcommand table (git's git.c). "-C DIR" before the subcommand is
 * passed on to it, so that `sealroom -C DIR init` and `sealroom init -C DIR` agree.
 */
#include <locale.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "cmd.h"
#include "split.h"
#include "tlskey.h"

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
};

static const struct command commands[] = {
	{"init", cmd_init, "create a facility folder (database, vault, keys)"},
	{"key", cmd_key, "make a signing key and a wrapping key: key new NAME --out FILE"},
	{"seal", cmd_seal, "seal a source tree as an encrypted release (or a bundle, --out)"},
	{"import", cmd_import, "import a release bundle sealed at the vendor's"},
	{"verify", cmd_verify, "check a sealed release against its seal"},
	{"releases", cmd_releases, "list sealed releases"},
	{"build", cmd_build, "rebuild a release from its sealed tree in a sandbox, attest it"},
	{"match", cmd_match, "is a shipped artifact bit-identical to an attested build output?"},
	{"search", cmd_search, "search a release: regex, file:, lang:, sym: (docs/search.md)"},
	{"log", cmd_log, "the transparency log: checkpoint, prove, verify, export ..."},
	{"serve", cmd_serve, "run the review room over HTTPS (docs/web.md)"},
	{"demo", cmd_demo, "a ready review room over a sealed tree, served"},
	{"org", cmd_org, "organisations: org add NAME --kind vendor|lab|operator, org list"},
	{"user", cmd_user, "people: user add|list|passwd|unlock|disable"},
	{"nominate", cmd_nominate, "a lab nominates a reviewer for a release"},
	{"object", cmd_object, "apply the vendor's objection to a nominated reviewer"},
	{"approve", cmd_approve, "approve a reviewer (operator), or apply the vendor's approval"},
	{"grant", cmd_grant, "the operator proposes a reviewer's grant"},
	{"revoke", cmd_revoke, "revoke a reviewer or a whole lab"},
	{"halt", cmd_halt, "apply the vendor's halt of all reading of a release"},
	{"shred", cmd_shred, "apply the vendor's shred of a release's keys; prints the certificate"},
	{"vendor", cmd_vendor, "vendor sign KIND P@V: a signed decision, on the vendor's machine"},
	{"apply", cmd_apply, "apply a vendor's signed decision file (the operator)"},
	{"unlock", cmd_unlock, "offline unlock: unlock request | respond (vendor) | apply"},
	{"trace", cmd_trace, "name the session a leaked screenshot or copied text came from"},
	{"session", cmd_session, "sessions held for scraping: session holds, session resume ID"},
	{"report", cmd_report, "the exposure report of a release, from the log (or an export of it)"},
	{"certify", cmd_certify, "the lab signs its review certificate of a release (in-toto, DSSE)"},
	{"certificate", cmd_certificate, "certificate countersign (vendor, offline) | verify (offline)"},
	{"nomination", cmd_nomination, "nominations of a release: nomination list P@V"},
	{"findings", cmd_findings, "findings of a release: list, export/import SARIF, state"},
	{"print", cmd_print, "prints of a release: print list P@V, print dispute N (vendor)"},
	{NULL, NULL, NULL},
};

static void usage(FILE *f)
{
	fputs("usage: sealroom [-C DIR] <command> [options]\n\ncommands:\n", f);
	for (const struct command *c = commands; c->name; c++)
		fprintf(f, "  %-10s %s\n", c->name, c->help);
	fputs("\nEvery command takes --help, and --json for machine output.\n", f);
}

int main(int argc, char **argv)
{
	char *args[256];
	int n = 0;
	const char *dir = NULL;
	int i = 1;

	/* archive formats that mark names as UTF-8 (zip) are decoded through the locale;
	 * everything else is handled as raw bytes whatever the locale */
	if (!setlocale(LC_CTYPE, "C.UTF-8"))
		setlocale(LC_CTYPE, "");
	if (sodium_init() < 0) {
		fputs("sealroom: libsodium failed to initialise\n", stderr);
		return 1;
	}
	/* the network front of serve and its TLS key's signer, each in a fresh image (split.h,
	 * tlskey.h); not commands (a release's search worker starts before main: searchd.c) */
	if (argc > 1 && !strcmp(argv[1], SPLIT_FRONT_ARG))
		split_front_exec(argc, argv);
	if (argc > 1 && !strcmp(argv[1], TLSKEY_SIGNER_ARG))
		tlskey_signer_exec(argc, argv);
	while (i < argc && argv[i][0] == '-') {
		if (!strcmp(argv[i], "-C") && i + 1 < argc) {
			dir = argv[i + 1];
			i += 2;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--version")) {
			puts("sealroom 0.1");
			return 0;
		} else {
			fprintf(stderr, "sealroom: unknown option '%s'\n", argv[i]);
			return 2;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return 2;
	}
	if (argc - i + 2 >= (int)(sizeof(args) / sizeof(args[0]))) {
		fputs("sealroom: too many arguments\n", stderr);
		return 2;
	}
	for (const struct command *c = commands; c->name; c++) {
		if (strcmp(c->name, argv[i]))
			continue;
		args[n++] = argv[i];
		if (dir) {
			args[n++] = "-C";
			args[n++] = (char *)dir;
		}
		for (int j = i + 1; j < argc; j++)
			args[n++] = argv[j];
		args[n] = NULL;
		return c->fn(n, args);
	}
	fprintf(stderr, "sealroom: '%s' is not a command; see 'sealroom --help'\n", argv[i]);
	return 2;
}
