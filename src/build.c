/* build: sandboxed rebuilds from the vault, compared and attested (see build.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <jansson.h>
#include <sodium.h>

#include "build.h"
#include "db.h"
#include "dsse.h"
#include "hash.h"
#include "logdb.h"
#include "manifest.h"
#include "release.h"
#include "vault.h"

extern char **environ;

#define CAPTURE_MAX ((size_t)64 << 20)
#define ERR_TAIL 200
#define FAKETIME_LIB "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"
#define FAKETIME_SHIFT "+398d"

const char *build_var_name(unsigned bit)
{
	switch (bit) {
	case BUILD_VAR_PATH: return "build path";
	case BUILD_VAR_TIME: return "time";
	case BUILD_VAR_ORDER: return "file order";
	case BUILD_VAR_HOST: return "host name";
	}
	return "?";
}

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* ---- processes ---- */

/*
 * Start argv[0] (searched on PATH) in a process group of its own, with stdin from in_fd
 * (or /dev/null when -1), stdout and stderr to fresh pipes whose read ends go to *out_fd
 * and *err_fd, and environment envp (NULL: ours). ERR_NOTFOUND when the program is absent.
 */
static int spawn(char *const argv[], char *const envp[], int in_fd, int *out_fd, int *err_fd,
		 pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	int po[2] = {-1, -1}, pe[2] = {-1, -1}, rc;

	if (pipe2(po, O_CLOEXEC) || pipe2(pe, O_CLOEXEC)) {
		rc = err_set(ERR_IO, "pipe: %s", strerror(errno));
		goto fail;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&at);
	if (in_fd >= 0)
		posix_spawn_file_actions_adddup2(&fa, in_fd, 0);
	else
		posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, po[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	posix_spawnattr_setpgroup(&at, 0);
	{
		sigset_t none, all;
		sigemptyset(&none);
		sigfillset(&all);
		posix_spawnattr_setsigmask(&at, &none);
		posix_spawnattr_setsigdefault(&at, &all);
	}
	rc = posix_spawnp(pid, argv[0], &fa, &at, argv, envp ? envp : environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	if (rc) {
		rc = err_set(rc == ENOENT ? ERR_NOTFOUND : ERR_IO, "cannot run '%s': %s", argv[0],
			     strerror(rc));
		goto fail;
	}
	close(po[1]);
	close(pe[1]);
	*out_fd = po[0];
	*err_fd = pe[0];
	return 0;
fail:
	for (int i = 0; i < 2; i++) {
		if (po[i] >= 0)
			close(po[i]);
		if (pe[i] >= 0)
			close(pe[i]);
	}
	return rc;
}

/* Run argv to completion, its stdout appended to out; ERR_IO with its stderr's first line
 * when it exits non-zero. */
static int capture(char *const argv[], struct buf *out)
{
	int ofd, efd, status, r;
	pid_t pid;
	char eb[ERR_TAIL + 1];
	size_t el = 0;
	struct pollfd pf[2];

	if ((r = spawn(argv, NULL, -1, &ofd, &efd, &pid)))
		return r;
	pf[0].fd = ofd;
	pf[1].fd = efd;
	pf[0].events = pf[1].events = POLLIN;
	while (pf[0].fd >= 0 || pf[1].fd >= 0) {
		char chunk[65536];
		if (poll(pf, 2, -1) < 0 && errno != EINTR)
			break;
		for (int i = 0; i < 2; i++) {
			ssize_t n;
			if (pf[i].fd < 0 || !(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			n = read(pf[i].fd, chunk, sizeof(chunk));
			if (n <= 0) {
				close(pf[i].fd);
				pf[i].fd = -1;
				continue;
			}
			if (i == 0 && !r && buf_add(out, chunk, (size_t)n))
				r = err_set(ERR_TOOBIG, "'%s' printed more than %zu bytes", argv[0], out->max);
			if (i == 1 && el < ERR_TAIL) {
				size_t k = (size_t)n < ERR_TAIL - el ? (size_t)n : ERR_TAIL - el;
				memcpy(eb + el, chunk, k);
				el += k;
			}
		}
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	eb[el] = 0;
	if (strchr(eb, '\n'))
		*strchr(eb, '\n') = 0;
	if (!r && (!WIFEXITED(status) || WEXITSTATUS(status)))
		r = err_set(ERR_IO, "'%s' failed: %s", argv[0], eb[0] ? eb : "no message");
	return r;
}

/* ---- the build environment ---- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Split b's bytes into NUL-terminated lines (in place); the array is malloc'd. */
static char **split_lines(struct buf *b, size_t *n)
{
	size_t cap = 64, k = 0;
	char **v = xmalloc(cap * sizeof(*v)), *p = b->p, *end = b->p + b->len;
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			nl = end;
		*nl = 0;
		if (k == cap) {
			cap *= 2;
			v = xrealloc(v, cap * sizeof(*v));
		}
		if (nl > p)
			v[k++] = p;
		p = nl + 1;
	}
	*n = k;
	return v;
}

static int hash_file(const char *path, char hex[65])
{
	unsigned char d[SHA256_LEN], chunk[65536];
	struct hash *h;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return err_set(ERR_IO, "environment: cannot read '%s': %s", path, strerror(errno));
	h = hash_new(HASH_SHA256);
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		hash_update(h, chunk, (size_t)n);
	close(fd);
	hash_final(h, d);
	hash_free(h);
	if (n < 0)
		return err_set(ERR_IO, "environment: cannot read '%s'", path);
	hex_encode(hex, d, sizeof(d));
	return 0;
}

int build_env_digest(const struct recipe *rc, struct buf *doc, char hex[65])
{
	struct buf pk, files, lines;
	char **pkgs = NULL, **fl = NULL;
	size_t n_pkgs = 0, n_fl = 0;
	unsigned char d[SHA256_LEN];
	int r;
	char *q_argv[] = {"dpkg-query", "-W", "-f",
			  "${db:Status-Abbrev}\t${binary:Package}\t${Version}\n", NULL};

	buf_init(&pk, CAPTURE_MAX);
	buf_init(&files, CAPTURE_MAX);
	buf_init(&lines, CAPTURE_MAX);
	if ((r = capture(q_argv, &pk))) {
		err_set(r, "environment: %s (the build needs a Debian system)", err_msg());
		goto out;
	}
	pkgs = split_lines(&pk, &n_pkgs);
	qsort(pkgs + 0, n_pkgs, sizeof(*pkgs), cmp_str);
	if ((r = buf_addstr(doc, "sealroom/build-env/v1\n")))
		goto out;
	for (size_t i = 0; i < n_pkgs; i++) {
		char *t1 = strchr(pkgs[i], '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
		if (!t2 || strncmp(pkgs[i], "ii ", 3))
			continue;
		if ((r = buf_addf(doc, "package %.*s %s\n", (int)(t2 - t1 - 1), t1 + 1, t2 + 1)))
			goto out;
	}
	for (size_t t = 0; t < rc->n_toolchain; t++) {
		const struct recipe_pkg *p = &rc->toolchain[t];
		const char *found = NULL;
		char *name = NULL;
		size_t nl = strlen(p->name);
		for (size_t i = 0; i < n_pkgs && !found; i++) {
			char *t1 = strchr(pkgs[i], '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
			size_t l;
			if (!t2 || strncmp(pkgs[i], "ii ", 3))
				continue;
			l = (size_t)(t2 - t1 - 1);
			/* "libc6-dev" names "libc6-dev:amd64" too */
			if ((l == nl && !memcmp(t1 + 1, p->name, nl)) ||
			    (l > nl && !memcmp(t1 + 1, p->name, nl) && t1[1 + nl] == ':' && !strchr(p->name, ':'))) {
				found = t2 + 1;
				name = xstrndup(t1 + 1, l);
			}
		}
		if (!found) {
			r = err_set(ERR_NOTFOUND, "toolchain package '%s' is not installed here (the recipe "
				    "declares %s)", p->name, p->version);
			goto out;
		}
		if (strcmp(found, p->version)) {
			r = err_set(ERR_DENIED, "toolchain package '%s' is %s here, the recipe declares %s",
				    p->name, found, p->version);
			free(name);
			goto out;
		}
		{
			char *l_argv[] = {"dpkg-query", "-L", name, NULL};
			r = capture(l_argv, &files);
			free(name);
			if (r)
				goto out;
			if ((r = buf_addch(&files, '\n')))
				goto out;
		}
	}
	fl = split_lines(&files, &n_fl);
	qsort(fl + 0, n_fl, sizeof(*fl), cmp_str);
	for (size_t i = 0; i < n_fl; i++) {
		struct stat st;
		char hx[65];
		if (i && !strcmp(fl[i], fl[i - 1]))
			continue;
		if (fl[i][0] != '/' || lstat(fl[i], &st))
			continue; /* "diverted by" notes, removed conffiles */
		if (S_ISREG(st.st_mode)) {
			if ((r = hash_file(fl[i], hx)) || (r = buf_addf(doc, "file %s %s\n", hx, fl[i])))
				goto out;
		} else if (S_ISLNK(st.st_mode)) {
			char tgt[4096];
			ssize_t n = readlink(fl[i], tgt, sizeof(tgt) - 1);
			if (n < 0)
				continue;
			tgt[n] = 0;
			if ((r = buf_addf(doc, "link %s %s\n", tgt, fl[i])))
				goto out;
		}
	}
	sha256(doc->p, doc->len, d);
	hex_encode(hex, d, sizeof(d));
out:
	free(pkgs);
	free(fl);
	buf_release(&pk);
	buf_release(&files);
	buf_release(&lines);
	return r;
}

/* ---- feeding the sealed tree into the sandbox ---- */

struct feed {
	struct vault *v;
	const struct manifest *m;
	int fd;
	int reverse;
	int64_t mtime;
	int rc;
	char msg[256];
};

static la_ssize_t feed_write(struct archive *a, void *ctx, const void *p, size_t len)
{
	struct feed *fd = ctx;
	size_t done = 0;
	(void)a;
	while (done < len) {
		ssize_t n = write(fd->fd, (const char *)p + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	return (la_ssize_t)len;
}

/* Stream the tree as a tar archive; the plaintext of each file is wiped once written. */
static void *feed_run(void *arg)
{
	struct feed *fd = arg;
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();
	struct buf b;
	size_t n = manifest_count(fd->m);
	sigset_t pipe_set;

	/* a sandbox that ends early makes writes fail with EPIPE, never kills the process */
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, NULL);
	buf_init(&b, VAULT_OBJECT_MAX);
	archive_write_set_format_pax_restricted(a);
	archive_write_set_bytes_per_block(a, 0);
	if (archive_write_open(a, fd, NULL, feed_write, NULL) != ARCHIVE_OK) {
		fd->rc = ERR_IO;
		snprintf(fd->msg, sizeof(fd->msg), "tar: %s", archive_error_string(a));
		goto out;
	}
	for (size_t k = 0; k < n; k++) {
		const struct manifest_entry *me = manifest_get(fd->m, fd->reverse ? n - 1 - k : k);
		int r;
		buf_reset(&b);
		if ((r = vault_get(fd->v, me->sha256, &b))) {
			fd->rc = r;
			snprintf(fd->msg, sizeof(fd->msg), "%s", err_msg());
			break;
		}
		archive_entry_clear(e);
		archive_entry_set_pathname(e, me->path);
		archive_entry_set_mtime(e, fd->mtime, 0);
		archive_entry_set_uid(e, BUILD_UID);
		archive_entry_set_gid(e, BUILD_UID);
		if (me->mode == 0120000) {
			archive_entry_set_filetype(e, AE_IFLNK);
			archive_entry_set_perm(e, 0777);
			archive_entry_copy_symlink(e, b.p);
			archive_entry_set_size(e, 0);
		} else {
			archive_entry_set_filetype(e, AE_IFREG);
			archive_entry_set_perm(e, me->mode == 0100755 ? 0755 : 0644);
			archive_entry_set_size(e, (la_int64_t)b.len);
		}
		if (archive_write_header(a, e) != ARCHIVE_OK ||
		    (me->mode != 0120000 && b.len &&
		     archive_write_data(a, b.p, b.len) != (la_ssize_t)b.len)) {
			sodium_memzero(b.p, b.len);
			fd->rc = ERR_IO;
			snprintf(fd->msg, sizeof(fd->msg), "the sandbox stopped reading the tree");
			break;
		}
		sodium_memzero(b.p, b.len);
	}
	archive_write_close(a);
out:
	archive_write_free(a);
	archive_entry_free(e);
	if (b.cap)
		sodium_memzero(b.p, b.cap);
	buf_release(&b);
	close(fd->fd);
	fd->fd = -1;
	return NULL;
}

/* ---- one run in the sandbox ---- */

/*
 * The fixed script the sandbox runs (never the recipe's): it announces itself, extracts
 * the tree from stdin, runs the recipe with stdout and stdin away from the channel (fd 3,
 * closed for the recipe), and reports on the channel: "F status", "D" (disk full), "X"
 * (the tree did not extract), "O path" (an output is missing or not a regular file), or
 * "T" followed by a tar archive of the outputs.
 */
static const char sandbox_script[] =
	"umask 022\n"
	"printf 'sealroom-sandbox/v1\\n'\n"
	"src=$1; run=$2; shift 2\n"
	"full() { for d in /build /tmp; do [ \"$(stat -f -c %a \"$d\")\" -ge 16 ] || return 0; done; return 1; }\n"
	"mkdir -p \"$src\" /build/home && cd \"$src\" || { printf 'X\\n'; exit 99; }\n"
	"printf 'P extracting\\n'\n"
	"if ! tar -x -f - --no-same-owner 2>&1 >&2; then if full; then printf 'D\\n'; else printf 'X\\n'; fi; exit 99; fi\n"
	"cat >/dev/null\n"
	"printf 'P building\\n'\n"
	"exec 3>&1 1>&2 </dev/null\n"
	"st=0\n"
	"( exec 3>&-; sh -eu -c \"$run\" ) || st=$?\n"
	"if [ $st -ne 0 ]; then if full; then printf 'D\\n' >&3; else printf 'F %d\\n' $st >&3; fi; exit 96; fi\n"
	"printf 'P collecting\\n' >&3\n"
	"for o; do if [ ! -f \"$o\" ] || [ -L \"$o\" ]; then printf 'O %s\\n' \"$o\" >&3; exit 97; fi; done\n"
	"printf 'T\\n' >&3\n"
	"exec tar -c -f - --format=gnu -- \"$@\" >&3\n";

struct ctx {
	struct facility *f;
	const struct build_opts *o;
	struct recipe *rc;
	struct release_info info;
	struct release_opened ro;
	struct vault *v;         /* borrowed from ro */
	struct manifest *m;      /* borrowed from ro */
	char *run_script;
	int have_faketime;
	unsigned n_runs;
};

struct run_out {
	struct buf *files; /* one per output */
	int rc;
};

static void argv_add(char ***v, size_t *n, size_t *cap, const char *s)
{
	if (*n + 1 >= *cap) {
		*cap = *cap ? *cap * 2 : 64;
		*v = xrealloc(*v, *cap * sizeof(**v));
	}
	(*v)[(*n)++] = xstrdup(s);
	(*v)[*n] = NULL;
}

static void argv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Host folders that are symlinks into /usr on a merged-/usr system are made the same
 * symlinks; others are bound read-only when they exist. */
static void add_root_dirs(char ***v, size_t *n, size_t *cap)
{
	static const char *const dirs[] = {"/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"};
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		char tgt[256];
		ssize_t k = readlink(dirs[i], tgt, sizeof(tgt) - 1);
		struct stat st;
		if (k > 0) {
			tgt[k] = 0;
			argv_add(v, n, cap, "--symlink");
			argv_add(v, n, cap, tgt);
			argv_add(v, n, cap, dirs[i]);
		} else if (stat(dirs[i], &st) == 0 && S_ISDIR(st.st_mode)) {
			argv_add(v, n, cap, "--ro-bind");
			argv_add(v, n, cap, dirs[i]);
			argv_add(v, n, cap, dirs[i]);
		}
	}
}

static void setenv_arg(char ***v, size_t *n, size_t *cap, const char *k, const char *val)
{
	argv_add(v, n, cap, "--setenv");
	argv_add(v, n, cap, k);
	argv_add(v, n, cap, val);
}

/* Parse the outputs' tar archive from the channel into out->files (in recipe order). */
static int collect(struct ctx *c, const char *p, size_t len, struct run_out *out)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	int r = 0, k;
	char *seen = xcalloc(c->rc->n_outputs, 1);

	archive_read_support_format_tar(a);
	if (archive_read_open_memory(a, p, len) != ARCHIVE_OK) {
		r = err_set(ERR_CORRUPT, "the sandbox sent no outputs archive: %s", archive_error_string(a));
		goto out;
	}
	while ((k = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(e);
		size_t i;
		la_int64_t sz = archive_entry_size(e);
		for (i = 0; i < c->rc->n_outputs; i++)
			if (name && !strcmp(name, c->rc->outputs[i]))
				break;
		if (i == c->rc->n_outputs || seen[i] || archive_entry_filetype(e) != AE_IFREG || sz < 0 ||
		    (uint64_t)sz > c->rc->disk_limit) {
			r = err_set(ERR_HOSTILE, "the sandbox sent an unexpected entry '%.80s' among the outputs",
				    name ? name : "");
			goto out;
		}
		seen[i] = 1;
		if ((r = buf_grow(&out->files[i], (size_t)sz)))
			goto out;
		for (;;) {
			char chunk[65536];
			la_ssize_t n = archive_read_data(a, chunk, sizeof(chunk));
			if (n < 0) {
				r = err_set(ERR_CORRUPT, "outputs archive: %s", archive_error_string(a));
				goto out;
			}
			if (n == 0)
				break;
			if ((r = buf_add(&out->files[i], chunk, (size_t)n)))
				goto out;
		}
	}
	if (k != ARCHIVE_EOF) {
		r = err_set(ERR_CORRUPT, "outputs archive: %s", archive_error_string(a));
		goto out;
	}
	for (size_t i = 0; i < c->rc->n_outputs; i++)
		if (!seen[i]) {
			r = err_set(ERR_CORRUPT, "output '%s' is missing from the sandbox's archive", c->rc->outputs[i]);
			goto out;
		}
out:
	free(seen);
	archive_read_free(a);
	return r;
}

static void tail_line(const struct buf *tail, char *out, size_t outlen)
{
	const char *e = tail->p + tail->len, *s;
	while (e > tail->p && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' '))
		e--;
	s = e;
	while (s > tail->p && s[-1] != '\n')
		s--;
	size_t n = (size_t)(e - s), j = 0;
	for (size_t i = 0; i < n && j + 1 < outlen; i++)
		out[j++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	out[j] = 0;
}

/*
 * Run the sandbox once with the variation bits vars. Fills out->files on success;
 * errors as build_release documents them.
 */
static int run_once(struct ctx *c, unsigned run, unsigned vars, struct run_out *out)
{
	const struct build_opts *o = c->o;
	char **av = NULL, num[32], epoch[32], lastline[ERR_TAIL + 1];
	size_t n = 0, cap = 0;
	int in[2] = {-1, -1}, ofd = -1, efd = -1, status = 0, killed = 0, r;
	pid_t pid = -1;
	pthread_t th;
	int th_started = 0;
	struct feed fd = {0};
	struct buf chan, tail;
	uint64_t lines = 0;
	size_t scan = 0;
	int seen_t = 0;
	double t0 = now_s(), last_prog = 0;
	const char *phase = "starting", *src = (vars & BUILD_VAR_PATH) ? BUILD_PATH_VARIED : BUILD_PATH;
	struct build_progress bp = {run, c->n_runs, "starting", 0, 0};

	buf_init(&chan, (size_t)c->rc->disk_limit * c->rc->n_outputs + ((size_t)1 << 20));
	buf_init(&tail, 1 << 16);
	argv_add(&av, &n, &cap, o->bwrap ? o->bwrap : "bwrap");
	argv_add(&av, &n, &cap, "--unshare-all");
	argv_add(&av, &n, &cap, "--die-with-parent");
	argv_add(&av, &n, &cap, "--new-session");
	argv_add(&av, &n, &cap, "--clearenv");
	snprintf(num, sizeof(num), "%d", BUILD_UID);
	argv_add(&av, &n, &cap, "--uid");
	argv_add(&av, &n, &cap, num);
	argv_add(&av, &n, &cap, "--gid");
	argv_add(&av, &n, &cap, num);
	argv_add(&av, &n, &cap, "--hostname");
	argv_add(&av, &n, &cap, (vars & BUILD_VAR_HOST) ? "sealroom-variation" : "sealroom");
	argv_add(&av, &n, &cap, "--ro-bind");
	argv_add(&av, &n, &cap, "/usr");
	argv_add(&av, &n, &cap, "/usr");
	add_root_dirs(&av, &n, &cap);
	argv_add(&av, &n, &cap, "--ro-bind-try");
	argv_add(&av, &n, &cap, "/etc/alternatives");
	argv_add(&av, &n, &cap, "/etc/alternatives");
	argv_add(&av, &n, &cap, "--ro-bind-try");
	argv_add(&av, &n, &cap, "/etc/ld.so.cache");
	argv_add(&av, &n, &cap, "/etc/ld.so.cache");
	argv_add(&av, &n, &cap, "--proc");
	argv_add(&av, &n, &cap, "/proc");
	argv_add(&av, &n, &cap, "--dev");
	argv_add(&av, &n, &cap, "/dev");
	snprintf(num, sizeof(num), "%" PRIu64, c->rc->disk_limit);
	argv_add(&av, &n, &cap, "--size");
	argv_add(&av, &n, &cap, num);
	argv_add(&av, &n, &cap, "--tmpfs");
	argv_add(&av, &n, &cap, "/build");
	argv_add(&av, &n, &cap, "--size");
	argv_add(&av, &n, &cap, num);
	argv_add(&av, &n, &cap, "--tmpfs");
	argv_add(&av, &n, &cap, "/tmp");
	argv_add(&av, &n, &cap, "--remount-ro");
	argv_add(&av, &n, &cap, "/");
	argv_add(&av, &n, &cap, "--chdir");
	argv_add(&av, &n, &cap, "/build");
	setenv_arg(&av, &n, &cap, "PATH", "/usr/local/bin:/usr/bin:/bin");
	setenv_arg(&av, &n, &cap, "HOME", "/build/home");
	setenv_arg(&av, &n, &cap, "USER", "build");
	setenv_arg(&av, &n, &cap, "LOGNAME", "build");
	setenv_arg(&av, &n, &cap, "SHELL", "/bin/sh");
	setenv_arg(&av, &n, &cap, "TMPDIR", "/tmp");
	setenv_arg(&av, &n, &cap, "LANG", "C.UTF-8");
	setenv_arg(&av, &n, &cap, "LC_ALL", "C.UTF-8");
	setenv_arg(&av, &n, &cap, "TZ", "UTC");
	snprintf(epoch, sizeof(epoch), "%" PRId64, c->info.sealed_at);
	setenv_arg(&av, &n, &cap, "SOURCE_DATE_EPOCH", epoch);
	if ((vars & BUILD_VAR_TIME) && c->have_faketime) {
		setenv_arg(&av, &n, &cap, "LD_PRELOAD", FAKETIME_LIB);
		setenv_arg(&av, &n, &cap, "FAKETIME", FAKETIME_SHIFT);
		setenv_arg(&av, &n, &cap, "FAKETIME_DONT_FAKE_MONOTONIC", "1");
	}
	for (size_t i = 0; i < c->rc->n_env; i++)
		setenv_arg(&av, &n, &cap, c->rc->env[i].name, c->rc->env[i].value);
	argv_add(&av, &n, &cap, "/bin/sh");
	argv_add(&av, &n, &cap, "-c");
	argv_add(&av, &n, &cap, sandbox_script);
	argv_add(&av, &n, &cap, "sealroom-sandbox");
	argv_add(&av, &n, &cap, src);
	argv_add(&av, &n, &cap, c->run_script);
	for (size_t i = 0; i < c->rc->n_outputs; i++)
		argv_add(&av, &n, &cap, c->rc->outputs[i]);

	if (pipe2(in, O_CLOEXEC)) {
		r = err_set(ERR_IO, "pipe: %s", strerror(errno));
		goto out;
	}
	if ((r = spawn(av, NULL, in[0], &ofd, &efd, &pid))) {
		if (r == ERR_NOTFOUND)
			err_set(r, "'%s' is not installed (Debian package bubblewrap; scripts/deps installs it)",
				av[0]);
		goto out;
	}
	close(in[0]);
	in[0] = -1;
	fd.v = c->v;
	fd.m = c->m;
	fd.fd = in[1];
	in[1] = -1;
	fd.reverse = (vars & BUILD_VAR_ORDER) != 0;
	fd.mtime = c->info.sealed_at;
	if (pthread_create(&th, NULL, feed_run, &fd)) {
		close(fd.fd);
		r = err_set(ERR_IO, "cannot start the tree's writer");
		goto out;
	}
	th_started = 1;

	{
		struct pollfd pf[2] = {{ofd, POLLIN, 0}, {efd, POLLIN, 0}};
		double deadline = t0 + (double)c->rc->time_limit;
		while (pf[0].fd >= 0 || pf[1].fd >= 0) {
			char chunk[65536];
			double now = now_s();
			int ms = (int)((deadline - now) * 1000);
			if (ms > 1000)
				ms = 1000;
			if (now >= deadline) {
				kill(-pid, SIGKILL);
				killed = 1;
				break;
			}
			if (c->o->cancel && *c->o->cancel) {
				kill(-pid, SIGKILL);
				killed = 3;
				break;
			}
			if (poll(pf, 2, ms < 1 ? 1 : ms) < 0 && errno != EINTR)
				break;
			for (int i = 0; i < 2; i++) {
				ssize_t k;
				if (pf[i].fd < 0 || !(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
					continue;
				k = read(pf[i].fd, chunk, sizeof(chunk));
				if (k <= 0) {
					close(pf[i].fd);
					pf[i].fd = -1;
					continue;
				}
				if (i == 0) {
					if (buf_add(&chan, chunk, (size_t)k)) {
						kill(-pid, SIGKILL);
						killed = 2;
						break;
					}
					/* the phase lines come before the archive: read whole lines until "T" */
					while (!seen_t) {
						const char *s = chan.p + scan, *e = memchr(s, '\n', chan.len - scan);
						if (!e)
							break;
						if (e - s == 1 && s[0] == 'T')
							seen_t = 1;
						else if (e - s > 2 && s[0] == 'P' && s[1] == ' ')
							phase = !strncmp(s + 2, "extracting", 10) ? "extracting" :
								!strncmp(s + 2, "building", 8) ? "building" : "collecting";
						scan = (size_t)(e - chan.p) + 1;
					}
				} else {
					for (ssize_t j = 0; j < k; j++)
						lines += chunk[j] == '\n';
					if (tail.len + (size_t)k > tail.max - 1) {
						size_t keep = tail.len > 4096 ? 4096 : tail.len;
						memmove(tail.p, tail.p + tail.len - keep, keep);
						tail.len = keep;
					}
					if (buf_add(&tail, chunk, (size_t)k))
						tail.len = 0;
					if (o->verbose_fd >= 0) {
						ssize_t w = write(o->verbose_fd, chunk, (size_t)k);
						(void)w; /* the copy is a courtesy */
					}
				}
			}
			if (killed)
				break;
			now = now_s();
			if (o->progress && now - last_prog >= 1) {
				bp.phase = phase;
				bp.seconds = now - t0;
				bp.lines = lines;
				o->progress(o->progress_ctx, &bp);
				last_prog = now;
			}
		}
		if (pf[0].fd >= 0)
			close(pf[0].fd);
		if (pf[1].fd >= 0)
			close(pf[1].fd);
		ofd = efd = -1;
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	pid = -1;
	pthread_join(th, NULL);
	th_started = 0;
	tail_line(&tail, lastline, sizeof(lastline));
	if (c->o->hide_output && lastline[0])
		snprintf(lastline, sizeof(lastline), "its output stays in the room (it may quote sealed code)");

	if (killed == 1) {
		r = err_set(ERR_TOOBIG, "run %u stopped: the time limit of %" PRIu64 " s was reached", run,
			    c->rc->time_limit);
		goto out;
	}
	if (killed == 2) {
		r = err_set(ERR_TOOBIG, "run %u stopped: its outputs passed the disk limit", run);
		goto out;
	}
	if (killed == 3) {
		r = err_set(ERR_IO, "run %u stopped: the room is stopping", run);
		goto out;
	}
	{
		static const char magic[] = "sealroom-sandbox/v1\n";
		const char *p = chan.p, *end = chan.p + chan.len;
		if (chan.len < sizeof(magic) - 1 || memcmp(chan.p, magic, sizeof(magic) - 1)) {
			r = err_set(ERR_IO, "the sandbox could not start: %s", lastline[0] ? lastline : "no message");
			goto out;
		}
		p += sizeof(magic) - 1;
		while (p < end && p[0] == 'P' && p + 1 < end && p[1] == ' ') {
			const char *e = memchr(p, '\n', (size_t)(end - p));
			if (!e)
				break;
			p = e + 1;
		}
		if (p + 2 <= end && p[0] == 'T' && p[1] == '\n') {
			if (!WIFEXITED(status) || WEXITSTATUS(status)) {
				r = err_set(ERR_IO, "run %u: collecting the outputs failed: %s", run, lastline);
				goto out;
			}
			r = collect(c, p + 2, (size_t)(end - p - 2), out);
			goto out;
		}
		if (p < end && p[0] == 'D') {
			r = err_set(ERR_TOOBIG, "run %u stopped: the disk limit of %" PRIu64 " bytes was reached",
				    run, c->rc->disk_limit);
		} else if (p < end && p[0] == 'X') {
			r = err_set(ERR_IO, "run %u: the sealed tree did not extract in the sandbox: %s", run, lastline);
		} else if (p + 2 < end && p[0] == 'O' && p[1] == ' ') {
			const char *e = memchr(p, '\n', (size_t)(end - p));
			r = err_set(ERR_DENIED, "run %u: output '%.*s' was not made (or is not a regular file)", run,
				    e ? (int)(e - p - 2) : 0, p + 2);
		} else if (p + 2 < end && p[0] == 'F' && p[1] == ' ') {
			r = err_set(ERR_DENIED, "run %u: the recipe failed with status %d: %s", run, atoi(p + 2),
				    lastline[0] ? lastline : "no output");
		} else {
			r = err_set(ERR_IO, "run %u: the sandbox ended early: %s", run, lastline[0] ? lastline : "no message");
		}
	}
out:
	if (pid > 0) {
		kill(-pid, SIGKILL);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	}
	if (ofd >= 0)
		close(ofd);
	if (efd >= 0)
		close(efd);
	if (th_started)
		pthread_join(th, NULL);
	for (int i = 0; i < 2; i++)
		if (in[i] >= 0)
			close(in[i]);
	if (!r && fd.rc)
		r = err_set(fd.rc, "run %u: %s", run, fd.msg);
	if (o->progress) {
		bp.phase = r ? "failed" : "done";
		bp.seconds = now_s() - t0;
		bp.lines = lines;
		o->progress(o->progress_ctx, &bp);
	}
	argv_free(av, n);
	/* the channel and the tail may hold the build's output: wipe them */
	if (chan.cap)
		sodium_memzero(chan.p, chan.cap);
	if (tail.cap)
		sodium_memzero(tail.p, tail.cap);
	buf_release(&chan);
	buf_release(&tail);
	out->rc = r;
	return r;
}

static void run_out_init(struct run_out *ro, size_t n, uint64_t cap)
{
	ro->files = xcalloc(n ? n : 1, sizeof(*ro->files));
	for (size_t i = 0; i < n; i++)
		buf_init(&ro->files[i], (size_t)cap);
	ro->rc = 0;
}

static void run_out_release(struct run_out *ro, size_t n)
{
	for (size_t i = 0; ro->files && i < n; i++)
		buf_release(&ro->files[i]);
	free(ro->files);
	ro->files = NULL;
}

/* The first output that differs between a and b, or -1. */
static long first_diff(const struct run_out *a, const struct run_out *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a->files[i].len != b->files[i].len ||
		    memcmp(a->files[i].p, b->files[i].p, a->files[i].len))
			return (long)i;
	return -1;
}

/* ---- keeping, attesting, logging ---- */

static int write_file(const char *path, const void *p, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	size_t done = 0;
	if (fd < 0)
		return err_set(ERR_IO, "cannot create '%s': %s", path, strerror(errno));
	while (done < len) {
		ssize_t n = write(fd, (const char *)p + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			close(fd);
			return err_set(ERR_IO, "cannot write '%s': %s", path, strerror(errno));
		}
		done += (size_t)n;
	}
	if (fsync(fd) || close(fd))
		return err_set(ERR_IO, "cannot write '%s': %s", path, strerror(errno));
	return 0;
}

static void rfc3339(time_t t, char out[32])
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The SLSA provenance v1 predicate (a new reference). */
static json_t *provenance(struct ctx *c, struct build_result *res, const char *recipe_path,
			  time_t started, time_t finished)
{
	char s[32], e[32], rel[2 * RELEASE_NAME_MAX + 2];
	json_t *vars = json_array();
	char builder[512];
	for (unsigned b = 1; b < (1u << BUILD_N_VARS); b <<= 1) {
		if (b == BUILD_VAR_TIME && !c->have_faketime)
			json_array_append_new(vars, json_string("time (start time only: libfaketime is not installed)"));
		else
			json_array_append_new(vars, json_string(build_var_name(b)));
	}
	rfc3339(started, s);
	rfc3339(finished, e);
	snprintf(rel, sizeof(rel), "%s@%s", c->info.product, c->info.version);
	snprintf(builder, sizeof(builder), "urn:sealroom:facility:%s:build", facility_name(c->f));
	return json_pack(
		"{s:{s:s, s:{s:s, s:s}, s:{s:s, s:s, s:I, s:s, s:I, s:I, s:i, s:o}, "
		"s:[{s:s, s:{s:s, s:s}}, {s:s, s:{s:s}}]}, "
		"s:{s:{s:s}, s:{s:s, s:s, s:s}}}",
		"buildDefinition", "buildType", BUILD_BUILDTYPE,
		"externalParameters", "release", rel, "recipe", recipe_path,
		"internalParameters", "sandbox", "bubblewrap", "buildPath", BUILD_PATH,
		"uid", (json_int_t)BUILD_UID, "timezone", "UTC",
		"sourceDateEpoch", (json_int_t)c->info.sealed_at,
		"timeLimit", (json_int_t)c->rc->time_limit, "runs", (int)res->runs, "variations", vars,
		"resolvedDependencies",
		"uri", rel, "digest", "gitTree", c->info.tree_sha256, "sha1", c->info.tree_sha1,
		"uri", "urn:sealroom:build-environment", "digest", "sha256", res->env_digest,
		"runDetails", "builder", "id", builder,
		"metadata", "invocationId", res->invocation, "startedOn", s, "finishedOn", e);
}

static int attest(struct ctx *c, struct build_result *res, const char *recipe_path, time_t started,
		  time_t finished, struct buf *envelope)
{
	struct intoto_subject *subj = xcalloc(res->n_outputs, sizeof(*subj));
	struct intoto_digest *dg = xcalloc(res->n_outputs, sizeof(*dg));
	char (*hx)[65] = xcalloc(res->n_outputs, sizeof(*hx));
	const struct note_signer *fs;
	struct dsse *e = NULL;
	struct buf st;
	json_t *pred = NULL;
	int r;

	buf_init(&st, DSSE_MAX_LEN);
	for (size_t i = 0; i < res->n_outputs; i++) {
		hex_encode(hx[i], res->outputs[i].sha256, 32);
		dg[i].alg = "sha256";
		dg[i].hex = hx[i];
		subj[i].name = res->outputs[i].path;
		subj[i].digests = &dg[i];
		subj[i].n_digests = 1;
	}
	pred = provenance(c, res, recipe_path, started, finished);
	if (!pred) {
		r = err_set(ERR_USAGE, "build: the provenance is not valid UTF-8");
		goto out;
	}
	if ((r = facility_signer(c->f, &fs)) ||
	    (r = intoto_statement(subj, res->n_outputs, SLSA_PROVENANCE_V1, pred, &st)) ||
	    (r = dsse_new(INTOTO_PAYLOAD_TYPE, st.p, st.len, &e)) || (r = dsse_sign(e, fs)) ||
	    (r = dsse_encode(e, envelope)))
		goto out;
out:
	json_decref(pred);
	dsse_free(e);
	buf_release(&st);
	free(subj);
	free(dg);
	free(hx);
	return r;
}

/* Log the build (durable) and keep it in the builds table; status "failed" has no row. */
static int record(struct ctx *c, struct build_result *res, const char *recipe_path,
		  const char *status, const char *detail, const char *envelope)
{
	struct logdb *l = NULL;
	json_t *e, *outs = json_object();
	char rel[2 * RELEASE_NAME_MAX + 2], eh[65] = "";
	sqlite3_stmt *st = NULL;
	int r;

	snprintf(rel, sizeof(rel), "%s@%s", c->info.product, c->info.version);
	for (size_t i = 0; i < res->n_outputs; i++) {
		char hx[65];
		hex_encode(hx, res->outputs[i].sha256, 32);
		json_object_set_new(outs, res->outputs[i].path, json_string(hx));
	}
	if (envelope) {
		unsigned char d[32];
		sha256(envelope, strlen(envelope), d);
		hex_encode(eh, d, 32);
	}
	e = logdb_entry_new("build", c->o->actor ? c->o->actor : "local");
	logdb_entry_str(e, "release", rel);
	logdb_entry_str(e, "tree_sha256", c->info.tree_sha256);
	logdb_entry_str(e, "recipe", recipe_path);
	logdb_entry_str(e, "result", status);
	logdb_entry_str(e, "invocation", res->invocation);
	logdb_entry_str(e, "environment", res->env_digest);
	logdb_entry_set(e, "outputs", json_incref(outs));
	if (detail)
		logdb_entry_str(e, "detail", detail);
	if (envelope)
		logdb_entry_str(e, "attestation_sha256", eh);
	if ((r = facility_log(c->f, &l)) || (r = logdb_append(l, e, &res->log_index)))
		goto out;
	if (!strcmp(status, "failed"))
		goto out;
	if ((r = db_prepare(facility_db(c->f),
			    "INSERT INTO builds (invocation, product, version, tree_sha256, recipe, status,"
			    " detail, env_digest, outputs, envelope, log_index, created_at)"
			    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", &st)))
		goto out;
	{
		json_t *arr = json_array();
		char *oj;
		for (size_t i = 0; i < res->n_outputs; i++)
			json_array_append_new(arr, json_pack("[s, O]", res->outputs[i].path,
							     json_object_get(outs, res->outputs[i].path)));
		oj = json_dumps(arr, JSON_COMPACT);
		json_decref(arr);
		sqlite3_bind_text(st, 1, res->invocation, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 2, c->info.product, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 3, c->info.version, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 4, c->info.tree_sha256, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 5, recipe_path, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 6, status, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 7, detail ? detail : "", -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 8, res->env_digest, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 9, oj, -1, SQLITE_TRANSIENT);
		if (envelope)
			sqlite3_bind_text(st, 10, envelope, -1, SQLITE_TRANSIENT);
		else
			sqlite3_bind_null(st, 10);
		sqlite3_bind_int64(st, 11, (sqlite3_int64)res->log_index);
		sqlite3_bind_int64(st, 12, (sqlite3_int64)time(NULL));
		free(oj);
	}
	if (sqlite3_step(st) != SQLITE_DONE)
		r = db_fail(facility_db(c->f), "insert build");
	else
		res->id = sqlite3_last_insert_rowid(facility_db(c->f));
out:
	sqlite3_finalize(st);
	json_decref(e);
	json_decref(outs);
	return r;
}

/* Keep the outputs and the environment document in DIR/builds/<invocation>/. */
static int keep(struct ctx *c, struct build_result *res, const struct run_out *ro, const struct buf *env)
{
	char *root = facility_path(c->f, "builds"), *dir = NULL, *p = NULL;
	int r = 0;
	size_t dl;

	if (mkdir(root, 0700) && errno != EEXIST) {
		r = err_set(ERR_IO, "cannot create '%s': %s", root, strerror(errno));
		goto out;
	}
	dl = strlen(root) + 1 + sizeof(res->invocation) + 1;
	dir = xmalloc(dl);
	snprintf(dir, dl, "%s/%s", root, res->invocation);
	if (mkdir(dir, 0700)) {
		r = err_set(ERR_IO, "cannot create '%s': %s", dir, strerror(errno));
		goto out;
	}
	p = xmalloc(dl + 32);
	snprintf(p, dl + 32, "%s/environment", dir);
	if ((r = write_file(p, env->p, env->len)))
		goto out;
	for (size_t i = 0; i < res->n_outputs; i++) {
		snprintf(p, dl + 32, "%s/out-%zu", dir, i);
		if ((r = write_file(p, ro->files[i].p, ro->files[i].len)))
			goto out;
	}
out:
	free(root);
	free(dir);
	free(p);
	return r;
}

static void ctx_release(struct ctx *c)
{
	release_info_release(&c->info);
	release_opened_release(&c->ro);
	recipe_free(c->rc);
	free(c->run_script);
}

/* Read the recipe from the sealed tree. */
static int load_recipe(struct ctx *c, const char *path)
{
	const struct manifest_entry *e = manifest_find(c->m, path, strlen(path));
	struct buf b;
	int r;
	if (!e || e->mode == 0120000)
		return err_set(ERR_NOTFOUND, "'%s@%s' has no build recipe '%s' in its sealed tree "
			       "(docs/build.md)", c->info.product, c->info.version, path);
	if (e->size > RECIPE_MAX_LEN)
		return err_set(ERR_TOOBIG, "recipe '%s' is larger than %zu bytes", path, RECIPE_MAX_LEN);
	buf_init(&b, RECIPE_MAX_LEN);
	r = vault_get(c->v, e->sha256, &b);
	if (!r && (r = recipe_parse(b.p, b.len, &c->rc)))
		err_set(r, "recipe '%s': %s", path, err_msg());
	buf_release(&b);
	if (r)
		return r;
	{
		struct buf s;
		buf_init(&s, (size_t)RECIPE_MAX_LEN * 2);
		for (size_t i = 0; i < c->rc->n_run; i++)
			if ((r = buf_addstr(&s, c->rc->run[i])) || (r = buf_addch(&s, '\n')))
				break;
		c->run_script = buf_detach(&s, NULL);
	}
	return r;
}

int build_release(struct facility *f, const struct build_opts *o, struct build_result **out)
{
	struct ctx c;
	struct build_result *res = xcalloc(1, sizeof(*res));
	struct run_out base = {0}, ro = {0};
	struct buf env, envelope;
	const char *recipe_path = o->recipe_path ? o->recipe_path : RECIPE_PATH_DEFAULT;
	unsigned char rnd[16];
	time_t started = time(NULL);
	int r, logged = 0;
	long d;

	*out = NULL;
	memset(&c, 0, sizeof(c));
	c.f = f;
	c.o = o;
	buf_init(&env, CAPTURE_MAX);
	buf_init(&envelope, DSSE_MAX_LEN);
	randombytes_buf(rnd, sizeof(rnd));
	hex_encode(res->invocation, rnd, sizeof(rnd));
	if (!recipe_path_valid(recipe_path, strlen(recipe_path))) {
		r = err_set(ERR_USAGE, "recipe path '%s' is not a relative path in the tree", recipe_path);
		goto out;
	}
	if ((r = release_get(f, o->product, o->version, &c.info)) ||
	    (r = keyring_get(o->keys, o->product, o->version, (int64_t)time(NULL), &c.ro.key)) ||
	    (r = release_open_key(f, &c.info, c.ro.key, &c.ro.v, &c.ro.m, NULL)))
		goto out;
	c.v = c.ro.v;
	c.m = c.ro.m;
	memcpy(res->tree_sha256, c.info.tree_sha256, sizeof(res->tree_sha256));
	if ((r = load_recipe(&c, recipe_path)) || (r = build_env_digest(c.rc, &env, res->env_digest)))
		goto fail_log;
	c.have_faketime = access(FAKETIME_LIB, R_OK) == 0;
	c.n_runs = 2;
	res->n_outputs = c.rc->n_outputs;
	res->outputs = xcalloc(res->n_outputs, sizeof(*res->outputs));
	for (size_t i = 0; i < res->n_outputs; i++)
		res->outputs[i].path = xstrdup(c.rc->outputs[i]);

	run_out_init(&base, c.rc->n_outputs, c.rc->disk_limit);
	if ((r = run_once(&c, 1, 0, &base)))
		goto fail_log;
	run_out_init(&ro, c.rc->n_outputs, c.rc->disk_limit);
	if ((r = run_once(&c, 2, (1u << BUILD_N_VARS) - 1, &ro)))
		goto fail_log;
	res->runs = 2;
	for (size_t i = 0; i < res->n_outputs; i++) {
		sha256(base.files[i].p, base.files[i].len, res->outputs[i].sha256);
		res->outputs[i].size = base.files[i].len;
	}
	d = first_diff(&base, &ro, c.rc->n_outputs);
	if (d >= 0) {
		/* name the variations that change the outputs: one more run each */
		struct buf detail;
		res->differs = xstrdup(c.rc->outputs[d]);
		c.n_runs = 2 + BUILD_N_VARS;
		for (unsigned b = 1, k = 3; b < (1u << BUILD_N_VARS); b <<= 1, k++) {
			struct run_out one;
			run_out_init(&one, c.rc->n_outputs, c.rc->disk_limit);
			r = run_once(&c, k, b, &one);
			if (!r && first_diff(&base, &one, c.rc->n_outputs) >= 0)
				res->varies |= b;
			run_out_release(&one, c.rc->n_outputs);
			res->runs++;
			if (r)
				goto fail_log;
		}
		buf_init(&detail, 4096);
		r = buf_addf(&detail, "'%s' differs between runs", res->differs);
		if (res->varies) {
			const char *sep = " when the ";
			for (unsigned b = 1; !r && b < (1u << BUILD_N_VARS); b <<= 1)
				if (res->varies & b) {
					r = buf_addf(&detail, "%s%s changes", sep, build_var_name(b));
					sep = ", or the ";
				}
		} else if (!r) {
			r = buf_addstr(&detail, " only when several things change at once, or from run to run");
		}
		if (r) {
			buf_release(&detail);
			goto out;
		}
		if ((r = keep(&c, res, &base, &env)) ||
		    (r = record(&c, res, recipe_path, "unreproducible", detail.p, NULL))) {
			buf_release(&detail);
			goto out;
		}
		buf_release(&detail);
		logged = 1;
		goto done;
	}
	res->reproducible = 1;
	if ((r = attest(&c, res, recipe_path, started, time(NULL), &envelope)) ||
	    (r = keep(&c, res, &base, &env)))
		goto fail_log;
	res->envelope = xstrdup(envelope.p);
	if ((r = record(&c, res, recipe_path, "reproducible", NULL, res->envelope)))
		goto out;
	logged = 1;
done:
	*out = res;
	res = NULL;
	r = 0;
	goto out;
fail_log:
	if (!logged && c.info.product[0]) {
		char msg[512];
		snprintf(msg, sizeof(msg), "%s", err_msg());
		if (record(&c, res, recipe_path, "failed", msg, NULL) == 0)
			err_set(r, "%s", msg);
		else
			r = ERR_DB;
	}
out:
	run_out_release(&base, c.rc ? c.rc->n_outputs : 0);
	run_out_release(&ro, c.rc ? c.rc->n_outputs : 0);
	ctx_release(&c);
	buf_release(&env);
	buf_release(&envelope);
	build_result_free(res);
	return r;
}

void build_result_free(struct build_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_outputs; i++)
		free(r->outputs[i].path);
	free(r->outputs);
	free(r->differs);
	free(r->envelope);
	free(r);
}

/* ---- kept builds ---- */

void build_record_release(struct build_record *b)
{
	for (size_t i = 0; i < b->n_outputs; i++)
		free(b->outputs[i].path);
	free(b->outputs);
	free(b->detail);
	free(b->envelope);
	memset(b, 0, sizeof(*b));
}

static int hex_field(const unsigned char *s, char *out, size_t n)
{
	if (!s || strlen((const char *)s) != n - 1)
		return -1;
	memcpy(out, s, n);
	return 0;
}

/* Fill b from a row of ROW_COLS; the row is stored data, so it is checked. */
static int read_row(sqlite3_stmt *st, struct build_record *b)
{
	json_error_t je;
	json_t *o, *val;
	const unsigned char *s;
	size_t i;

	memset(b, 0, sizeof(*b));
	b->id = sqlite3_column_int64(st, 0);
	if (hex_field(sqlite3_column_text(st, 1), b->invocation, sizeof(b->invocation)) ||
	    !(s = sqlite3_column_text(st, 2)) || strlen((const char *)s) >= sizeof(b->status) ||
	    hex_field(sqlite3_column_text(st, 3), b->env_digest, sizeof(b->env_digest)) ||
	    hex_field(sqlite3_column_text(st, 4), b->tree_sha256, sizeof(b->tree_sha256)))
		return err_set(ERR_CORRUPT, "build %" PRId64 ": a malformed row", b->id);
	for (size_t j = 0; b->invocation[j]; j++)
		if (!strchr("0123456789abcdef", b->invocation[j]))
			return err_set(ERR_CORRUPT, "build %" PRId64 ": a malformed row", b->id);
	snprintf(b->status, sizeof(b->status), "%s", (const char *)s);
	if (!(s = sqlite3_column_text(st, 9)) || strlen((const char *)s) > RELEASE_NAME_MAX)
		return err_set(ERR_CORRUPT, "build %" PRId64 ": a malformed row", b->id);
	snprintf(b->product, sizeof(b->product), "%s", (const char *)s);
	if (!(s = sqlite3_column_text(st, 10)) || strlen((const char *)s) > RELEASE_NAME_MAX)
		return err_set(ERR_CORRUPT, "build %" PRId64 ": a malformed row", b->id);
	snprintf(b->version, sizeof(b->version), "%s", (const char *)s);
	b->created_at = sqlite3_column_int64(st, 5);
	s = sqlite3_column_text(st, 6);
	b->detail = xstrdup(s ? (const char *)s : "");
	s = sqlite3_column_text(st, 7);
	b->envelope = s ? xstrdup((const char *)s) : NULL;
	s = sqlite3_column_text(st, 8);
	o = s ? json_loads((const char *)s, 0, &je) : NULL;
	if (!json_is_array(o) || json_array_size(o) > RECIPE_MAX_OUTPUTS) {
		json_decref(o);
		build_record_release(b);
		return err_set(ERR_CORRUPT, "build %" PRId64 ": its outputs are malformed", b->id);
	}
	b->outputs = xcalloc(json_array_size(o) + 1, sizeof(*b->outputs));
	json_array_foreach(o, i, val) {
		const char *k = json_string_value(json_array_get(val, 0));
		const char *h = json_string_value(json_array_get(val, 1));
		if (!k || !recipe_path_valid(k, strlen(k)) || !h || strlen(h) != 64 ||
		    hex_decode(b->outputs[i].sha256, 32, h, 64)) {
			json_decref(o);
			build_record_release(b);
			return err_set(ERR_CORRUPT, "build %" PRId64 ": its outputs are malformed", b->id);
		}
		b->outputs[i].path = xstrdup(k);
		b->n_outputs = i + 1;
	}
	json_decref(o);
	return 0;
}

#define ROW_COLS "id, invocation, status, env_digest, tree_sha256, created_at, detail, envelope, outputs, " \
	"product, version"

int build_latest(struct facility *f, const char *product, const char *version, struct build_record *out)
{
	sqlite3_stmt *st = NULL;
	int r;
	memset(out, 0, sizeof(*out));
	if ((r = db_prepare(facility_db(f), "SELECT " ROW_COLS " FROM builds WHERE product = ? AND"
			    " version = ? AND status = 'reproducible' ORDER BY id DESC LIMIT 1", &st)))
		return r;
	sqlite3_bind_text(st, 1, product, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, version, -1, SQLITE_TRANSIENT);
	r = sqlite3_step(st);
	if (r == SQLITE_ROW)
		r = read_row(st, out);
	else if (r == SQLITE_DONE)
		r = err_set(ERR_NOTFOUND, "'%s@%s' has no reproducible build yet (run 'sealroom build %s@%s')",
			    product, version, product, version);
	else
		r = db_fail(facility_db(f), "builds");
	sqlite3_finalize(st);
	return r;
}

int build_each(struct facility *f, const char *product, const char *version,
	       int (*fn)(void *ctx, const struct build_record *b), void *ctx)
{
	sqlite3_stmt *st = NULL;
	int r, s;
	if ((r = db_prepare(facility_db(f), "SELECT " ROW_COLS " FROM builds WHERE (?1 IS NULL OR"
			    " (product = ?1 AND version = ?2)) ORDER BY id DESC", &st)))
		return r;
	if (product) {
		sqlite3_bind_text(st, 1, product, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 2, version, -1, SQLITE_TRANSIENT);
	}
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		struct build_record b;
		if ((r = read_row(st, &b)))
			break;
		r = fn(ctx, &b);
		build_record_release(&b);
		if (r)
			break;
	}
	if (!r && s != SQLITE_DONE)
		r = db_fail(facility_db(f), "builds");
	sqlite3_finalize(st);
	return r;
}

int build_output_read(struct facility *f, const struct build_record *b, size_t i, struct buf *out)
{
	char rel[96];
	char *p;
	unsigned char d[32];
	size_t before = out->len;
	int r;
	if (i >= b->n_outputs)
		BUG("output %zu of %zu", i, b->n_outputs);
	snprintf(rel, sizeof(rel), "builds/%s/out-%zu", b->invocation, i);
	p = facility_path(f, rel);
	r = buf_read_file(out, p);
	free(p);
	if (r)
		return r;
	sha256(out->p + before, out->len - before, d);
	if (sodium_memcmp(d, b->outputs[i].sha256, 32))
		return err_set(ERR_CORRUPT, "kept output '%s' of build %" PRId64 " does not match its recorded "
			       "digest", b->outputs[i].path, b->id);
	return 0;
}
