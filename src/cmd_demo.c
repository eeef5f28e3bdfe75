/*
 * cmd_demo: sealroom demo [SOURCE] [-C DIR] [--listen ADDR:PORT] [--version V] [--json]
 *           [--insecure-http]
 * A working review room over a real tree: init (when DIR holds none), a vendor key, the
 * tree sealed as demo@V and verified; a vendor (vera), an operator (otto), a lab (evallab)
 * and two reviewers nominated, approved and granted every demo release under dual
 * control (rita with the default quotas, sam with a budget of 200 lines, 100 a day); then the room is served with the releases unlocked until SIGTERM/SIGINT.
 * Re-running on the same DIR reuses it: accounts get fresh passwords. SOURCE defaults to
 * this project's own tree (at HEAD when it is a git repository).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "auth.h"
#include "cmd.h"
#include "decision.h"
#include "keyring.h"
#include "policy.h"
#include "quota.h"
#include "release.h"

static const char usage[] =
	"sealroom demo [SOURCE] [-C DIR] [--listen ADDR:PORT] [--version V] [--insecure-http] [--json]";

struct account {
	const char *login, *org, *kind, *role, *name;
	int64_t lines_total, lines_per_day; /* a reviewer's grant: 0 for the defaults */
	char password[64];
	char secret[64];
};

/* Two reviewers: rita with the default budget, sam with a small one, to see it at work. */
static struct account accounts[] = {
	{"vera", "acme", "vendor", "vendor", "Vera Vendor", 0, 0, "", ""},
	{"otto", "room-ops", "operator", "operator", "Otto Operator", 0, 0, "", ""},
	{"lena", "evallab", "lab", "auditor", "Lena Lead", 0, 0, "", ""},
	{"rita", "evallab", "lab", "reviewer", "Rita Reviewer", 0, 0, "", ""},
	{"sam", "evallab", "lab", "reviewer", "Sam Small-Budget", 200, 100, "", ""},
};
#define N_ACCOUNTS (sizeof(accounts) / sizeof(accounts[0]))

/* Make or refresh an account: a fresh password either way; the TOTP secret as stored. */
static int account_ready(struct facility *f, struct account *a)
{
	unsigned char secret[AUTH_TOTP_SECRET_LEN];
	struct buf pw, b32;
	struct person_info p;
	int r;
	buf_init(&pw, 128);
	buf_init(&b32, 128);
	r = policy_org_add(f, a->org, a->kind, cmd_local_actor());
	if (r && r != ERR_EXISTS)
		goto out;
	if ((r = auth_password_generate(&pw)))
		goto out;
	if (policy_person_get(f, a->login, &p) == ERR_NOTFOUND) {
		if ((r = policy_person_add(f, a->login, a->org, a->role, a->name, pw.p, cmd_local_actor(), secret)))
			goto out;
	} else {
		if ((r = auth_set_password(f, a->login, pw.p, cmd_local_actor())) ||
		    (r = auth_unlock(f, a->login, cmd_local_actor())) || (r = auth_totp_secret(f, a->login, secret)))
			goto out;
	}
	if ((r = auth_base32_encode(secret, sizeof(secret), &b32)))
		goto out;
	snprintf(a->password, sizeof(a->password), "%s", pw.p);
	snprintf(a->secret, sizeof(a->secret), "%s", b32.p);
out:
	sodium_memzero(secret, sizeof(secret));
	sodium_memzero(pw.p, pw.len);
	buf_release(&pw);
	buf_release(&b32);
	return r;
}

struct grant_all {
	struct facility *f;
	const struct note_signer *vendor;
	int err;
	struct release_info *list;
	size_t n;
};

/* Collect the releases first: decisions write while release_each's statement reads. */
static int collect(void *ctx, const struct release_info *ri)
{
	struct grant_all *g = ctx;
	struct release_info *c;
	g->list = xrealloc(g->list, (g->n + 1) * sizeof(*g->list));
	c = &g->list[g->n++];
	*c = *ri;
	c->vendor_vkey = NULL;
	c->seal_note = NULL;
	c->wrapped_key = ri->wrapped_key ? xmalloc(1) : NULL; /* only whether it exists */
	c->wrapped_len = 0;
	return 0;
}

/* Nominate, approve and grant reviewer a on one release (each step that is done already is
 * skipped), with the default quotas and a's budget of lines. */
static int grant_one(struct grant_all *g, const struct release_info *ri, const struct account *a)
{
	struct policy_actor op = {"otto", NULL, 0, NULL};
	struct policy_outcome out;
	struct grant_terms t = {0};
	struct session_info who = {0};
	struct person_info p;
	struct quota_limits l;
	char state[16], *quotas;
	int64_t now = (int64_t)time(NULL);
	if (!ri->wrapped_key || policy_release_state(g->f, ri->product, ri->version, state) || state[0])
		return 0;
	if (policy_person_get(g->f, a->login, &p))
		return g->err = ERR_NOTFOUND;
	who.person_id = p.id;
	snprintf(who.login, sizeof(who.login), "%s", a->login);
	snprintf(who.role, sizeof(who.role), "reviewer");
	who.org_id = p.org_id;
	if (policy_may_read(g->f, &who, ri->product, ri->version, now, NULL) == 0)
		return 0;
	t.valid_from = now - 86400;
	t.valid_until = now + 30 * 86400;
	t.days = POLICY_ALL_DAYS;
	t.hour_from = 0;
	t.hour_until = 24;
	quota_defaults(&l);
	if (a->lines_total)
		l.lines_total = a->lines_total;
	if (a->lines_per_day)
		l.lines_per_day = a->lines_per_day;
	t.lines_per_day = l.lines_per_day;
	t.lines_total = l.lines_total;
	t.prints = l.pages_total;
	t.quotas = quotas = quota_json(&l);
	/* each step may have been taken by an earlier run; the check below is what counts.
	 * The demo's throwaway vendor signs its approval as `vendor sign` does, and the
	 * operator applies it as `apply` does. */
	(void)!policy_nominate(g->f, &op, ri->product, ri->version, a->login, "demo reviewer");
	{
		struct decision d;
		struct release_info row;
		struct buf note;
		memset(&d, 0, sizeof(d));
		snprintf(d.kind, sizeof(d.kind), "approve");
		snprintf(d.product, sizeof(d.product), "%s", ri->product);
		snprintf(d.version, sizeof(d.version), "%s", ri->version);
		if (release_get(g->f, ri->product, ri->version, &row))
			return g->err = ERR_NOTFOUND;
		decision_seal_hash(row.seal_note ? row.seal_note : "", d.seal);
		release_info_release(&row);
		d.time = now;
		snprintf(d.reviewer, sizeof(d.reviewer), "%s", a->login);
		d.terms = t;
		buf_init(&note, DECISION_MAX);
		if (!decision_sign(&d, g->vendor, &note))
			(void)!policy_apply(g->f, &op, note.p, note.len, &out, NULL);
		buf_release(&note);
	}
	free(quotas);
	if (policy_may_read(g->f, &who, ri->product, ri->version, now, NULL))
		return g->err = err_set(ERR_DENIED, "could not grant '%s' on '%s@%s': %s", a->login, ri->product,
					ri->version, err_msg());
	return 0;
}

/* The demo's own unlock: request, the vendor's response, apply, all in this process. */
struct demo_unlock {
	const struct note_signer *vendor;
	const struct note_wrapper *wrap;
	const char *vkey;
	int err;
	struct release_info *list;
	size_t n;
};

static int demo_unlock(void *ctx, struct keyring *k, struct facility *f, int *n_unlocked)
{
	struct demo_unlock *u = ctx;
	struct grant_all ga = {0};
	int64_t now = (int64_t)time(NULL);
	int r = 0;
	ga.f = f;
	if ((r = release_each(f, collect, &ga)))
		return r;
	for (size_t i = 0; !r && i < ga.n; i++) {
		struct release_info *ri = &ga.list[i], row;
		struct keyring_unlock_info info;
		struct buf req, resp;
		char state[16];
		if (!ri->wrapped_key || policy_release_state(f, ri->product, ri->version, state) || state[0] ||
		    release_get(f, ri->product, ri->version, &row))
			continue;
		if (strcmp(row.vendor_vkey, u->vkey)) {
			release_info_release(&row);
			continue;
		}
		release_info_release(&row);
		buf_init(&req, KEYRING_FILE_MAX);
		buf_init(&resp, KEYRING_FILE_MAX);
		if (!(r = keyring_request(k, f, ri->product, ri->version, now + KEYRING_WINDOW_DEFAULT, &req)) &&
		    !(r = keyring_respond(req.p, req.len, u->vendor, u->wrap, now, &resp, &info)) &&
		    !(r = keyring_apply(k, f, resp.p, resp.len, &info)))
			(*n_unlocked)++;
		buf_release(&req);
		buf_release(&resp);
	}
	for (size_t i = 0; i < ga.n; i++)
		release_info_release(&ga.list[i]);
	free(ga.list);
	return r;
}

struct ready {
	int json;
	const char *dir, *key_path, *release;
};

static void print_ready(void *ctx, const char *url)
{
	struct ready *rd = ctx;
	char code[16];
	if (rd->json) {
		printf("{\"url\":\"%s\",\"release\":\"%s\",\"facility\":\"%s\",\"vendor_key\":\"%s\",\"accounts\":[",
		       url, rd->release, rd->dir, rd->key_path);
		for (size_t i = 0; i < N_ACCOUNTS; i++) {
			const struct account *a = &accounts[i];
			printf("%s{\"login\":\"%s\",\"role\":\"%s\",\"password\":\"%s\",\"totp_secret\":\"%s\"", i ? "," : "",
			       a->login, a->role, a->password, a->secret);
			if (!strcmp(a->role, "reviewer"))
				printf(",\"lines_total\":%lld,\"lines_per_day\":%lld",
				       (long long)(a->lines_total ? a->lines_total : QUOTA_DEFAULT_LINES_TOTAL),
				       (long long)(a->lines_per_day ? a->lines_per_day : QUOTA_DEFAULT_LINES_PER_DAY));
			printf("}");
		}
		printf("]}\n");
		fflush(stdout);
		return;
	}
	printf("\nthe review room is open at %s (release %s)\n\n", url, rd->release);
	for (size_t i = 0; i < N_ACCOUNTS; i++) {
		struct buf raw;
		buf_init(&raw, 64);
		code[0] = 0;
		if (!auth_base32_decode(accounts[i].secret, &raw))
			auth_totp_code((unsigned char *)raw.p, raw.len, (int64_t)time(NULL), AUTH_TOTP_DIGITS, code);
		buf_release(&raw);
		printf("  %-5s %-9s password %s  totp secret %s  (code now: %s)", accounts[i].login,
		       accounts[i].role, accounts[i].password, accounts[i].secret, code);
		if (accounts[i].lines_total)
			printf("  budget %lld lines, %lld a day", (long long)accounts[i].lines_total,
			       (long long)accounts[i].lines_per_day);
		printf("\n");
	}
	printf("\nlog in as rita (the reviewer) with her password and a code from an authenticator\n"
	       "app holding her secret, or as sam to see a small budget of lines run out; the\n"
	       "certificate is self-signed (DIR/keys/tls.crt).\n"
	       "stop with Ctrl-C\n");
	fflush(stdout);
}

/* The project tree: the folder holding the running binary, when it has src/main.c. */
static char *project_tree(void)
{
	char exe[PATH_MAX], probe[PATH_MAX + 32];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	for (int up = 0; n > 0 && up < 3; up++) {
		char *slash;
		exe[n] = 0;
		slash = strrchr(exe, '/');
		if (!slash)
			break;
		*slash = 0;
		n = slash - exe;
		snprintf(probe, sizeof(probe), "%s/src/main.c", exe);
		if (access(probe, F_OK) == 0)
			return xstrdup(exe);
	}
	return xstrdup(".");
}

int cmd_demo(int argc, char **argv)
{
	const char *listen = NULL, *version = "current", *pos[1];
	int insecure = 0;
	struct opt_common c = {0};
	struct opt opts[] = {{"listen", OPT_STRING, &listen},
			     {"version", OPT_STRING, &version},
			     {"insecure-http", OPT_FLAG, &insecure},
			     {NULL, 0, NULL}};
	struct serve_config sc = {0};
	struct grant_all ga = {0};
	struct ready rd = {0};
	char ref[2 * RELEASE_NAME_MAX + 2];
	struct facility *f = NULL;
	struct note_signer *vendor = NULL;
	struct note_wrapper *wrap = NULL;
	struct demo_unlock du = {0};
	struct seal_opts so = {0};
	struct release_info info = {0};
	struct verify_report rep;
	struct buf kp, sk, vk, wp, wsk, wpk, vkey, gitdir;
	char *src = NULL;
	const char *dir;
	int n, r, is_git;

	if (opt_parse(argc, argv, opts, &c, pos, 1, &n))
		return cmd_usage("demo", usage);
	if (c.help) {
		printf("usage: %s\n\nA working review room in DIR over SOURCE (default: this project's\n"
		       "tree): the facility, a vendor key in DIR/demo-keys, SOURCE sealed as demo@V\n"
		       "(default demo@current) and verified, the accounts vera (vendor), otto\n"
		       "(operator), lena (lab), rita (reviewer, granted every demo release with the\n"
		       "default quotas) and sam (reviewer, a budget of 200 lines, 100 a day), then\n"
		       "the room served on --listen (default 127.0.0.1:8443) until SIGTERM or Ctrl-C.\n"
		       "Prints how to log in; with --json one line {\"url\",\"release\",\"accounts\"}.\n"
		       "Run again on the same DIR to reuse it with fresh passwords.\n", usage);
		return 0;
	}
	dir = facility_resolve(c.dir);
	src = n ? xstrdup(pos[0]) : project_tree();
	buf_init(&kp, 0);
	buf_init(&sk, 4096);
	buf_init(&vk, 4096);
	buf_init(&wp, 0);
	buf_init(&wsk, 4096);
	buf_init(&wpk, 4096);
	buf_init(&vkey, 4096);
	buf_init(&gitdir, 0);
	r = facility_init(dir, "demo.sealroom.local");
	if (r && r != ERR_EXISTS)
		goto out;
	if ((r = facility_open(dir, &f)))
		goto out;
	if (buf_addf(&kp, "%s/demo-keys", dir))
		BUG("path");
	if (mkdir(kp.p, 0700) < 0 && errno != EEXIST) {
		r = err_set(ERR_IO, "cannot create '%s': %s", kp.p, strerror(errno));
		goto out;
	}
	if (buf_addstr(&kp, "/vendor.key"))
		BUG("path");
	if (access(kp.p, F_OK) < 0) {
		FILE *fp;
		if ((r = note_key_generate("demo-vendor", &sk, &vk)))
			goto out;
		fp = fopen(kp.p, "wx");
		if (!fp || chmod(kp.p, 0600) || fprintf(fp, "%s\n", sk.p) < 0 || fclose(fp)) {
			r = err_set(ERR_IO, "cannot write '%s': %s", kp.p, strerror(errno));
			goto out;
		}
	}
	/* the wrapping key beside it (a demo folder of an older release may lack one) */
	if (buf_addf(&wp, "%s.wrap", kp.p))
		BUG("path");
	if (access(wp.p, F_OK) < 0) {
		FILE *fp;
		if ((r = note_wrap_generate("demo-vendor", &wsk, &wpk)))
			goto out;
		fp = fopen(wp.p, "wx");
		if (!fp || chmod(wp.p, 0600) || fprintf(fp, "%s\n", wsk.p) < 0 || fclose(fp)) {
			r = err_set(ERR_IO, "cannot write '%s': %s", wp.p, strerror(errno));
			goto out;
		}
	}
	if ((r = note_signer_load(kp.p, &vendor)) || (r = note_wrapper_load(wp.p, &wrap)))
		goto out;
	buf_reset(&wpk);
	if ((r = note_wrapper_pkey(wrap, &wpk)) || (r = note_signer_vkey(vendor, &vkey)))
		goto out;
	/* the public lines beside them, as `sealroom key new` writes them */
	for (int i = 0; i < 2; i++) {
		struct buf pp;
		FILE *fp;
		buf_init(&pp, 0);
		if (buf_addf(&pp, "%s%s", kp.p, i ? ".wrap.pub" : ".pub"))
			BUG("path");
		if (access(pp.p, F_OK) < 0 && (!(fp = fopen(pp.p, "wx")) ||
					       fprintf(fp, "%s\n", i ? wpk.p : vkey.p) < 0 || fclose(fp))) {
			r = err_set(ERR_IO, "cannot write '%s': %s", pp.p, strerror(errno));
			buf_release(&pp);
			goto out;
		}
		buf_release(&pp);
	}

	if (buf_addf(&gitdir, "%s/.git", src))
		BUG("path");
	is_git = access(gitdir.p, F_OK) == 0;
	ingest_opts_default(&so.ingest);
	so.ingest.rev = is_git ? "HEAD" : NULL;
	if ((r = release_name_check("version", version, 1)))
		goto out;
	so.product = "demo";
	so.version = version;
	so.vendor = vendor;
	so.wrap_pkey = wpk.p;
	so.zstd_level = 3;
	so.progress = !c.json && isatty(2);
	r = release_seal(f, src, &so, &info);
	if (r == ERR_EXISTS)
		r = release_get(f, "demo", version, &info);
	if (r || (r = release_verify(f, "demo", version, vendor, wrap, &rep)))
		goto out;
	/* a fresh handle for the decisions, as each command has */
	facility_free(f);
	if ((r = facility_open(dir, &f)))
		goto out;
	for (size_t i = 0; i < N_ACCOUNTS; i++)
		if ((r = account_ready(f, &accounts[i])))
			goto out;
	ga.f = f;
	ga.vendor = vendor;
	r = release_each(f, collect, &ga);
	for (size_t i = 0; !r && i < ga.n; i++)
		for (size_t k = 0; !r && k < N_ACCOUNTS; k++)
			if (!strcmp(accounts[k].role, "reviewer"))
				r = grant_one(&ga, &ga.list[i], &accounts[k]);
	for (size_t i = 0; i < ga.n; i++)
		release_info_release(&ga.list[i]);
	free(ga.list);
	if (r)
		goto out;
	if (!c.json)
		printf("demo facility in %s\nsealed demo@%s from %s%s\ntree-sha256 %s\ntree-sha1   %s\n"
		       "verified: %llu files\nvendor key: %s\n",
		       dir, version, src, is_git ? " at HEAD" : "", info.tree_sha256, info.tree_sha1,
		       (unsigned long long)rep.files, kp.p);
	fflush(stdout);
	/* the room: the release keys in the server's keyring, then serve until a signal */
	facility_free(f);
	f = NULL;
	snprintf(ref, sizeof(ref), "demo@%s", version);
	rd.json = c.json;
	rd.dir = dir;
	rd.key_path = kp.p;
	rd.release = ref;
	sc.listen = listen ? listen : "127.0.0.1:8443";
	sc.insecure_http = insecure;
	du.vendor = vendor;
	du.wrap = wrap;
	du.vkey = vkey.p;
	sc.unlock = demo_unlock;
	sc.unlock_ctx = &du;
	sc.ready = print_ready;
	sc.ready_ctx = &rd;
	r = serve_run(dir, &sc);
out:
	release_info_release(&info);
	note_signer_free(vendor);
	note_wrapper_free(wrap);
	facility_free(f);
	sodium_memzero(sk.p, sk.len);
	sodium_memzero(wsk.p, wsk.len);
	buf_release(&wp);
	buf_release(&wsk);
	buf_release(&wpk);
	buf_release(&vkey);
	buf_release(&sk);
	buf_release(&vk);
	buf_release(&kp);
	buf_release(&gitdir);
	free(src);
	return r ? cmd_fail("demo", r) : 0;
}
