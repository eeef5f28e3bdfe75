/*
 * cmd_serve: sealroom serve [--listen ADDR:PORT] [--cert FILE --key FILE] [--client-ca FILE]
 *            [--insecure-http] [--threads N] [--answer-timeout SECONDS]
 *
 * Runs the review room until SIGTERM or SIGINT, as the processes of split.h (a network front
 * without keys, the room, their supervisor): HTTPS with the facility's certificate
 * (keys/tls.crt, made by init; --cert/--key install another) and the keyring's socket for
 * `sealroom unlock request|apply`. It never holds a vendor key: releases open only with
 * keys the vendor sent in an unlock response. On the signal it stops accepting, finishes
 * requests in flight and wipes every key it holds.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "shield.h"
#include "http.h"
#include "keyring.h"
#include "notes.h"
#include "policy.h"
#include "release.h"
#include "sandbox.h"
#include "console.h"
#include "split.h"
#include "web.h"

static const char usage[] =
	"sealroom serve [--listen ADDR:PORT] [--cert FILE --key FILE] [--client-ca FILE] "
	"[--insecure-http] [--threads N] [--answer-timeout SECONDS]";

struct room_args {
	const char *dir;
	const struct serve_config *sc;
};

/*
 * The room process (split.h): keys, vault, database and every route, answering the front's
 * messages on fds; no network of its own.
 */
static int room_main(void *ctx, const int *fds, unsigned n, void (*ready)(int fd), int ready_fd)
{
	const struct room_args *a = ctx;
	const struct serve_config *sc = a->sc;
	struct facility *f = NULL;
	struct keyring *k = NULL;
	struct keyring_listener *kl = NULL;
	struct web *w = NULL;
	struct split_room *sr = NULL;
	struct web_opts wo = {0};
	struct shield *sh = NULL;
	sigset_t sigs;
	int r, unlocked = 0;

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	signal(SIGPIPE, SIG_IGN);
	/* keys and plaintext in locked, undumpable memory, or no room at all */
	if ((r = sandbox_memory()))
		goto out;
	if ((r = facility_open(a->dir, &f)) || (r = keyring_new(&k)))
		goto out;
	{
		/* notes kept by an earlier version, sealed at rest before the room reads any */
		size_t sealed = 0;
		if ((r = notes_seal_at_rest(f, &sealed)))
			goto out;
		if (sealed)
			fprintf(stderr, "sealroom serve: %zu note%s sealed at rest\n", sealed, sealed == 1 ? "" : "s");
	}
	if (sc->unlock && (r = sc->unlock(sc->unlock_ctx, k, f, &unlocked)))
		goto out;
	if ((r = keyring_listen(k, f, NULL, &kl)))
		goto out;
	wo.handles = n;
	wo.secure_cookies = 1;
	wo.hooks = sc->hooks;
	/* issue 7: cipher font, watermark, forensic mark and quotas on every code view */
	if (!wo.hooks) {
		if ((r = shield_new(a->dir, &sh)))
			goto out;
		wo.hooks = shield_hooks(sh);
	}
	if ((r = web_new(a->dir, k, &wo, &w)))
		goto out;
	/* the console's jobs (build, findings import) run with the room's opened releases */
	keyring_listener_console(kl, console_serve, web_rooms(w));
	if ((r = keyring_listener_start(kl)) || (r = split_room_start(w, fds, n, &sr)))
		goto out;
	/* load the unlocked releases' search indexes while the first pages are served */
	web_preload(w, (int64_t)time(NULL));
	if ((r = web_log_tick(w)))
		goto out;
	/* the room's first look at the releases' state before it serves: a decision taken
	 * just after it starts (a revocation, a halt) is then seen as one, not as the state it
	 * started in */
	web_watch(w, (int64_t)time(NULL));
	ready(ready_fd);
	for (int tick = 1;; tick++) {
		/* every second: let go of releases halted, shredded or revoked since (web_watch);
		 * every 2 s: open releases unlocked since (`sealroom unlock`); every 30 s: expire */
		struct timespec ts = {1, 0};
		int sig = sigtimedwait(&sigs, NULL, &ts);
		if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP)
			break;
		if (sig < 0 && errno != EAGAIN && errno != EINTR)
			break;
		web_watch(w, (int64_t)time(NULL));
		if (tick % 2)
			continue;
		web_preload(w, (int64_t)time(NULL));
		if (web_log_tick(w))
			fprintf(stderr, "sealroom serve: cannot sign a checkpoint: %s\n", err_msg());
		if (tick % 30 == 0)
			web_expire(w, (int64_t)time(NULL));
	}
	if (!sc->ready)
		fprintf(stderr, "sealroom serve: stopping; keys wiped\n");
out:
	split_room_stop(sr);
	keyring_listener_free(kl);
	web_free(w);
	shield_free(sh);
	keyring_free(k);
	facility_free(f);
	return r;
}

static void serving(void *ctx, const char *url)
{
	const struct room_args *a = ctx;
	if (a->sc->ready)
		a->sc->ready(a->sc->ready_ctx, url);
	else
		printf("serving %s; stop with SIGTERM or Ctrl-C\n", url);
	fflush(stdout);
}

int serve_run(const char *dir, const struct serve_config *sc)
{
	struct facility *f = NULL;
	struct split_config c = {0};
	struct room_args a = {dir, sc};
	char *cert = NULL, *key = NULL;
	int r;

	/* the certificate's paths (made now for a facility without one); nothing stays open */
	if ((r = facility_open(dir, &f)))
		goto out;
	if (!sc->insecure_http && !sc->cert) {
		cert = facility_path(f, "keys/tls.crt");
		key = facility_path(f, "keys/tls.key");
		if (access(key, F_OK) < 0 && (r = facility_tls_make(dir, facility_name(f))))
			goto out;
	}
	facility_free(f);
	f = NULL;
	c.http.listen = sc->listen;
	c.http.cert_file = sc->cert ? sc->cert : cert;
	c.http.key_file = sc->key ? sc->key : key;
	c.http.client_ca = sc->client_ca;
	c.http.insecure_http = sc->insecure_http;
	c.http.threads = sc->threads ? sc->threads : HTTP_THREADS_DEFAULT;
	c.answer_timeout = sc->answer_timeout;
	c.room = room_main;
	c.ctx = &a;
	c.serving = serving;
	r = split_run(&c);
out:
	facility_free(f);
	free(cert);
	free(key);
	return r;
}

int cmd_serve(int argc, char **argv)
{
	const char *listen = NULL, *cert = NULL, *key = NULL, *ca = NULL, *pos[1];
	unsigned long long threads = 0, timeout = ULLONG_MAX; /* ULLONG_MAX: not given */
	int insecure = 0, n, r;
	struct opt_common c = {0};
	struct opt opts[] = {
		{"listen", OPT_STRING, &listen},  {"cert", OPT_STRING, &cert},
		{"key", OPT_STRING, &key},	  {"client-ca", OPT_STRING, &ca},
		{"insecure-http", OPT_FLAG, &insecure}, {"threads", OPT_UINT, &threads},
		{"answer-timeout", OPT_UINT, &timeout},
		{NULL, 0, NULL},
	};
	struct serve_config sc = {0};

	if (opt_parse(argc, argv, opts, &c, pos, 1, &n) || n)
		return cmd_usage("serve", usage);
	if (c.help) {
		printf("usage: %s\n\n"
		       "Run the review room (docs/web.md) until SIGTERM or Ctrl-C. HTTPS (TLS 1.3) with\n"
		       "the facility's certificate DIR/keys/tls.crt, or --cert/--key; --client-ca requires\n"
		       "a client certificate signed by that CA. --insecure-http serves plain HTTP, on a\n"
		       "loopback address only. Releases are read only with keys the vendor sends in an\n"
		       "offline unlock (`sealroom unlock request|respond|apply`); the server never holds\n"
		       "a vendor key. Default listen address 127.0.0.1:8443. A request the room does not\n"
		       "answer within --answer-timeout seconds (default %d, at most %d) fails with 503\n"
		       "and the room is restarted.\n",
		       usage, SPLIT_ANSWER_TIMEOUT, SPLIT_ANSWER_TIMEOUT_MAX);
		return 0;
	}
	if ((cert != NULL) != (key != NULL)) {
		err_set(ERR_USAGE, "--cert and --key go together");
		return cmd_usage("serve", usage);
	}
	if (threads > 256) {
		err_set(ERR_USAGE, "--threads is at most 256");
		return cmd_usage("serve", usage);
	}
	if (timeout != ULLONG_MAX && (timeout < 1 || timeout > SPLIT_ANSWER_TIMEOUT_MAX)) {
		err_set(ERR_USAGE, "--answer-timeout is 1 to %d seconds", SPLIT_ANSWER_TIMEOUT_MAX);
		return cmd_usage("serve", usage);
	}
	sc.listen = listen;
	sc.cert = cert;
	sc.key = key;
	sc.client_ca = ca;
	sc.insecure_http = insecure;
	sc.threads = (unsigned)threads;
	sc.answer_timeout = timeout == ULLONG_MAX ? 0 : (unsigned)timeout;
	r = serve_run(facility_resolve(c.dir), &sc);
	return r ? cmd_fail("serve", r) : 0;
}
