/*
 * ingest: directories, archives and git repositories into a manifest and a stream of
 * blobs. Directory and git sources are walked first (paths, modes, sizes) and then read,
 * hashed and handed to the callback by a pool of workers; archives are one stream, read
 * in order.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <git2.h>
#include <linux/openat2.h>
#include <openssl/evp.h>
#include <sodium.h>

#include "buf.h"
#include "gitobj.h"
#include "hash.h"
#include "ingest.h"

#define MIB ((uint64_t)1 << 20)

void ingest_opts_default(struct ingest_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->max_file = 256 * MIB;
	o->max_total = 8192 * MIB;
	o->max_files = 2000000;
	o->max_ratio = 200;
	o->ratio_after = 64 * MIB;
}

/* One file found by a walk, read later by a worker. */
struct item {
	char *path;
	size_t len;
	unsigned mode;
	uint64_t size;
	git_oid oid;
	unsigned char sha1[SHA1_LEN];
	unsigned char sha256[SHA256_LEN];
	long copy_of; /* archives: index of the entry a hard link repeats, else -1 */
};

/* The shared state of one ingest. */
struct run {
	const struct ingest_opts *o;
	ingest_fn fn;
	void *ctx;
	struct item *v;
	size_t n, cap;
	uint64_t total; /* walk: bytes announced */
	/* directory sources */
	int rootfd;
	/* git sources */
	const char *gitdir;
	/* workers */
	atomic_size_t next;
	atomic_int stop;
	atomic_uint_fast64_t read_bytes;
	pthread_mutex_t mu;
	int err;
	char msg[1024];
	uint64_t done_files, done_bytes;
};

/* A worker's own buffer, digests and repository handle. */
struct worker {
	struct run *r;
	unsigned char *buf;
	size_t cap;
	EVP_MD_CTX *c1, *c256;
	git_repository *repo;
	git_odb *odb;
};

static const char *q(char *out, size_t cap, const char *p, size_t len)
{
	return gitobj_quote(out, cap, p, len);
}

/* Append an item (path copied); ERR_TOOBIG past max_files. */
static int item_add(struct run *r, const char *path, size_t len, unsigned mode, uint64_t size)
{
	struct item *it;
	char qb[256];
	if (r->n >= r->o->max_files)
		return err_set(ERR_TOOBIG, "source has more than %llu files",
			       (unsigned long long)r->o->max_files);
	if (len > MANIFEST_MAX_PATH)
		return err_set(ERR_TOOBIG, "'%s' is longer than %d bytes", q(qb, sizeof(qb), path, len),
			       MANIFEST_MAX_PATH);
	if (size > r->o->max_file)
		return err_set(ERR_TOOBIG, "'%s' is larger than the %llu-byte file limit",
			       q(qb, sizeof(qb), path, len), (unsigned long long)r->o->max_file);
	if (__builtin_add_overflow(r->total, size, &r->total) || r->total > r->o->max_total)
		return err_set(ERR_TOOBIG, "source is larger than the %llu-byte limit (at '%s')",
			       (unsigned long long)r->o->max_total, q(qb, sizeof(qb), path, len));
	if (r->n == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 1024;
		r->v = xrealloc(r->v, cap * sizeof(*r->v));
		r->cap = cap;
	}
	it = &r->v[r->n++];
	memset(it, 0, sizeof(*it));
	it->path = xstrndup(path, len);
	it->len = len;
	it->mode = mode;
	it->size = size;
	it->copy_of = -1;
	return 0;
}

static void run_release(struct run *r)
{
	size_t i;
	for (i = 0; i < r->n; i++)
		free(r->v[i].path);
	free(r->v);
	r->v = NULL;
	r->n = r->cap = 0;
}

/* Record a worker's error (the first one wins) and stop the others. */
static void run_fail(struct run *r, int code)
{
	pthread_mutex_lock(&r->mu);
	if (!r->err) {
		r->err = code < 0 ? code : ERR_IO;
		snprintf(r->msg, sizeof(r->msg), "%s", err_msg());
	}
	pthread_mutex_unlock(&r->mu);
	atomic_store(&r->stop, 1);
}

/* Both blob ids of (p, len) with the worker's reusable digest contexts. */
static void blob_ids(struct worker *w, const void *p, size_t len, unsigned char *id1,
		     unsigned char *id256)
{
	char h[32];
	size_t hl = gitobj_blob_header(h, len);
	if (!EVP_DigestInit_ex(w->c1, EVP_sha1(), NULL) || !EVP_DigestUpdate(w->c1, h, hl) ||
	    !EVP_DigestUpdate(w->c1, p, len) || !EVP_DigestFinal_ex(w->c1, id1, NULL) ||
	    !EVP_DigestInit_ex(w->c256, EVP_sha256(), NULL) || !EVP_DigestUpdate(w->c256, h, hl) ||
	    !EVP_DigestUpdate(w->c256, p, len) || !EVP_DigestFinal_ex(w->c256, id256, NULL))
		BUG("digest failed");
}

/* A file buffer of cap bytes, wiped: it held source code, which outlives no read (a room
 * forked from a process that sealed must not find it in freed memory). */
static void text_free(unsigned char *p, size_t cap)
{
	if (p && cap)
		sodium_memzero(p, cap);
	free(p);
}

static void buf_need(struct worker *w, size_t n)
{
	if (n <= w->cap)
		return;
	text_free(w->buf, w->cap);
	w->cap = n < 65536 ? 65536 : n;
	w->buf = xmalloc(w->cap);
}

/* Hash an item's bytes, call the callback and count progress. */
static int deliver(struct run *r, struct worker *w, struct item *it, const void *p, size_t len)
{
	struct manifest_entry e;
	char qb[256];
	uint64_t sum;
	int rc;
	if (len > r->o->max_file)
		return err_set(ERR_TOOBIG, "'%s' is larger than the %llu-byte file limit",
			       q(qb, sizeof(qb), it->path, it->len), (unsigned long long)r->o->max_file);
	sum = atomic_fetch_add(&r->read_bytes, len) + len;
	if (sum > r->o->max_total)
		return err_set(ERR_TOOBIG, "source is larger than the %llu-byte limit (at '%s')",
			       (unsigned long long)r->o->max_total, q(qb, sizeof(qb), it->path, it->len));
	blob_ids(w, p, len, it->sha1, it->sha256);
	it->size = len;
	e.path = it->path;
	e.path_len = it->len;
	e.mode = it->mode;
	e.size = len;
	memcpy(e.sha1, it->sha1, SHA1_LEN);
	memcpy(e.sha256, it->sha256, SHA256_LEN);
	if (r->fn && (rc = r->fn(r->ctx, &e, p, len)) != 0)
		return rc < 0 ? rc : err_set(ERR_IO, "'%s' was refused by the callback",
					     q(qb, sizeof(qb), it->path, it->len));
	if (r->o->progress) {
		pthread_mutex_lock(&r->mu);
		r->done_files++;
		r->done_bytes += len;
		if ((r->done_files & 1023) == 0)
			r->o->progress(r->o->progress_ctx, r->done_files, r->done_bytes, r->n, r->total);
		pthread_mutex_unlock(&r->mu);
	}
	return 0;
}

/* Open path beneath the root without following any symlink on the way (openat2 where the
 * kernel has it; otherwise O_NOFOLLOW guards the last component). */
static int open_beneath(int rootfd, const char *path)
{
#ifdef SYS_openat2
	struct open_how how;
	int fd;
	memset(&how, 0, sizeof(how));
	how.flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
	fd = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
	if (fd >= 0 || (errno != ENOSYS && errno != EPERM))
		return fd;
#endif
	return openat(rootfd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
}

/* Read one file or symlink of a directory source and deliver it. */
static int dir_item(struct worker *w, struct item *it)
{
	struct run *r = w->r;
	char qb[256];
	struct stat st;
	size_t got = 0;
	int fd, rc = 0;
	if (it->mode == GITOBJ_MODE_LINK) {
		ssize_t n;
		buf_need(w, 4097);
		n = readlinkat(r->rootfd, it->path, (char *)w->buf, w->cap);
		if (n < 0)
			return err_set(ERR_IO, "cannot read the link '%s': %s",
				       q(qb, sizeof(qb), it->path, it->len), strerror(errno));
		if ((size_t)n >= w->cap)
			return err_set(ERR_TOOBIG, "the target of link '%s' is too long",
				       q(qb, sizeof(qb), it->path, it->len));
		return deliver(r, w, it, w->buf, (size_t)n);
	}
	fd = open_beneath(r->rootfd, it->path);
	if (fd < 0)
		return err_set(ERR_IO, "cannot read '%s': %s", q(qb, sizeof(qb), it->path, it->len),
			       strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		rc = err_set(ERR_HOSTILE, "'%s' changed while it was read",
			     q(qb, sizeof(qb), it->path, it->len));
		goto out;
	}
	if ((uint64_t)st.st_size > r->o->max_file) {
		rc = err_set(ERR_TOOBIG, "'%s' is larger than the %llu-byte file limit",
			     q(qb, sizeof(qb), it->path, it->len), (unsigned long long)r->o->max_file);
		goto out;
	}
	buf_need(w, (size_t)st.st_size + 1);
	for (;;) {
		ssize_t n;
		if (got == w->cap) {
			/* the file grew: allow up to the limit plus one byte to notice */
			size_t ncap = w->cap * 2;
			unsigned char *nb;
			if (got > r->o->max_file) {
				rc = err_set(ERR_TOOBIG, "'%s' is larger than the %llu-byte file limit",
					     q(qb, sizeof(qb), it->path, it->len),
					     (unsigned long long)r->o->max_file);
				goto out;
			}
			nb = xmalloc(ncap);
			memcpy(nb, w->buf, got);
			text_free(w->buf, w->cap);
			w->buf = nb;
			w->cap = ncap;
		}
		n = read(fd, w->buf + got, w->cap - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = err_set(ERR_IO, "cannot read '%s': %s", q(qb, sizeof(qb), it->path, it->len),
				     strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	rc = deliver(r, w, it, w->buf, got);
out:
	close(fd);
	return rc;
}

/* Read one blob of a git source, check its id and deliver it. */
static int git_item(struct worker *w, struct item *it)
{
	struct run *r = w->r;
	git_odb_object *obj = NULL;
	char qb[256], hex[GIT_OID_HEXSZ + 1];
	size_t len;
	git_object_t type;
	const void *data;
	int rc;
	git_oid_tostr(hex, sizeof(hex), &it->oid);
	if (git_odb_read_header(&len, &type, w->odb, &it->oid) < 0) {
		const git_error *ge = git_error_last();
		return err_set(ERR_CORRUPT, "'%s': blob '%s' is broken: %s",
			       q(qb, sizeof(qb), it->path, it->len), hex, ge ? ge->message : "unreadable");
	}
	if (type != GIT_OBJECT_BLOB)
		return err_set(ERR_CORRUPT, "'%s': object '%s' is not a blob",
			       q(qb, sizeof(qb), it->path, it->len), hex);
	if (len > r->o->max_file)
		return err_set(ERR_TOOBIG, "'%s' is larger than the %llu-byte file limit",
			       q(qb, sizeof(qb), it->path, it->len), (unsigned long long)r->o->max_file);
	if (git_odb_read(&obj, w->odb, &it->oid) < 0) {
		const git_error *ge = git_error_last();
		return err_set(ERR_CORRUPT, "'%s': blob '%s' is broken: %s",
			       q(qb, sizeof(qb), it->path, it->len), hex, ge ? ge->message : "unreadable");
	}
	data = git_odb_object_data(obj);
	len = git_odb_object_size(obj);
	if (git_odb_object_type(obj) != GIT_OBJECT_BLOB) {
		rc = err_set(ERR_CORRUPT, "'%s': object '%s' is not a blob",
			     q(qb, sizeof(qb), it->path, it->len), hex);
		goto out;
	}
	if ((rc = deliver(r, w, it, data, len)) < 0)
		goto out;
	if (memcmp(it->sha1, it->oid.id, SHA1_LEN) != 0)
		rc = err_set(ERR_CORRUPT, "'%s': blob '%s' is broken: its content hashes differently",
			     q(qb, sizeof(qb), it->path, it->len), hex);
out:
	git_odb_object_free(obj);
	return rc;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct run *r = w->r;
	int rc;
	w->c1 = EVP_MD_CTX_new();
	w->c256 = EVP_MD_CTX_new();
	if (!w->c1 || !w->c256)
		BUG("EVP_MD_CTX_new failed");
	if (r->gitdir) {
		if (git_repository_open_bare(&w->repo, r->gitdir) < 0 ||
		    git_repository_odb(&w->odb, w->repo) < 0) {
			const git_error *ge = git_error_last();
			run_fail(r, err_set(ERR_IO, "cannot open the repository '%s': %s", r->gitdir,
					    ge ? ge->message : "unknown error"));
			goto out;
		}
	}
	while (!atomic_load(&r->stop)) {
		size_t i = atomic_fetch_add(&r->next, 1);
		if (i >= r->n)
			break;
		rc = r->gitdir ? git_item(w, &r->v[i]) : dir_item(w, &r->v[i]);
		if (rc) {
			run_fail(r, rc);
			break;
		}
	}
out:
	git_odb_free(w->odb);
	git_repository_free(w->repo);
	EVP_MD_CTX_free(w->c1);
	EVP_MD_CTX_free(w->c256);
	text_free(w->buf, w->cap);
	return NULL;
}

static int n_threads(const struct ingest_opts *o)
{
	long n = o->threads > 0 ? o->threads : sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		n = 1;
	if (n > 256)
		n = 256;
	return (int)n;
}

/* Read every walked item with the worker pool; returns the first error. */
static int run_workers(struct run *r)
{
	int nt = n_threads(r->o), i;
	struct worker *w;
	pthread_t *tid;
	char *made;
	if ((size_t)nt > r->n)
		nt = r->n ? (int)r->n : 1;
	w = xcalloc((size_t)nt, sizeof(*w));
	tid = xcalloc((size_t)nt, sizeof(*tid));
	made = xcalloc((size_t)nt, 1);
	for (i = 0; i < nt; i++)
		w[i].r = r;
	for (i = 1; i < nt; i++)
		made[i] = pthread_create(&tid[i], NULL, worker_main, &w[i]) == 0;
	worker_main(&w[0]);
	for (i = 1; i < nt; i++)
		if (made[i])
			pthread_join(tid[i], NULL);
	free(made);
	free(w);
	free(tid);
	if (r->err)
		return err_set(r->err, "%s", r->msg);
	if (r->o->progress)
		r->o->progress(r->o->progress_ctx, r->done_files, r->done_bytes, r->n, r->total);
	return 0;
}

static int is_dotgit(const char *p, size_t n)
{
	return n == 4 && p[0] == '.' && (p[1] | 0x20) == 'g' && (p[2] | 0x20) == 'i' &&
	       (p[3] | 0x20) == 't';
}

/*
 * Walk the directory open as fd, whose path below the root is path (a buf, "" at the
 * top), adding files and symlinks; never follows a symlink. The top-level .git is
 * skipped as git skips it; any other .git is an embedded repository and refused.
 */
static int walk_dir(struct run *r, int fd, struct buf *path)
{
	DIR *d = fdopendir(fd);
	struct dirent *de;
	size_t base = path->len;
	char qb[256];
	int rc = 0;
	if (!d) {
		close(fd);
		return err_set(ERR_IO, "cannot read the directory '%s': %s",
			       q(qb, sizeof(qb), path->p, path->len), strerror(errno));
	}
	for (;;) {
		struct stat st;
		size_t nl;
		errno = 0;
		if (!(de = readdir(d))) {
			if (errno)
				rc = err_set(ERR_IO, "cannot read the directory '%s': %s",
					     q(qb, sizeof(qb), path->p, path->len), strerror(errno));
			break;
		}
		nl = strlen(de->d_name);
		if ((nl == 1 && de->d_name[0] == '.') ||
		    (nl == 2 && de->d_name[0] == '.' && de->d_name[1] == '.'))
			continue;
		if (base == 0 && nl == 4 && memcmp(de->d_name, ".git", 4) == 0)
			continue;
		path->len = base;
		path->p[base] = 0;
		if ((base && (rc = buf_addch(path, '/')) < 0) ||
		    (rc = buf_add(path, de->d_name, nl)) < 0)
			break;
		if (path->len > MANIFEST_MAX_PATH) {
			rc = err_set(ERR_TOOBIG, "'%s' is longer than %d bytes",
				     q(qb, sizeof(qb), path->p, path->len), MANIFEST_MAX_PATH);
			break;
		}
		if (is_dotgit(de->d_name, nl)) {
			rc = err_set(ERR_HOSTILE, "'%s' is an embedded git repository",
				     q(qb, sizeof(qb), path->p, path->len));
			break;
		}
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			rc = err_set(ERR_IO, "cannot stat '%s': %s",
				     q(qb, sizeof(qb), path->p, path->len), strerror(errno));
			break;
		}
		if (S_ISDIR(st.st_mode)) {
			int cfd = openat(dirfd(d), de->d_name,
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (cfd < 0) {
				rc = err_set(ERR_IO, "cannot open the directory '%s': %s",
					     q(qb, sizeof(qb), path->p, path->len), strerror(errno));
				break;
			}
			if ((rc = walk_dir(r, cfd, path)) < 0)
				break;
		} else if (S_ISREG(st.st_mode)) {
			unsigned mode = (st.st_mode & S_IXUSR) ? GITOBJ_MODE_EXEC : GITOBJ_MODE_FILE;
			if ((rc = item_add(r, path->p, path->len, mode, (uint64_t)st.st_size)) < 0)
				break;
		} else if (S_ISLNK(st.st_mode)) {
			if ((rc = item_add(r, path->p, path->len, GITOBJ_MODE_LINK, 0)) < 0)
				break;
		} else {
			const char *what = S_ISFIFO(st.st_mode) ? "a FIFO"
					   : S_ISSOCK(st.st_mode) ? "a socket"
								  : "a device file";
			rc = err_set(ERR_HOSTILE, "'%s' is %s", q(qb, sizeof(qb), path->p, path->len),
				     what);
			break;
		}
	}
	path->len = base;
	path->p[base] = 0;
	closedir(d);
	return rc;
}

/* Turn the items into a sorted manifest and refuse duplicates and conflicts. */
static int finish(struct run *r, struct manifest **out)
{
	struct manifest *m = manifest_new();
	unsigned char t1[SHA1_LEN], t256[SHA256_LEN];
	size_t i;
	int rc = 0;
	for (i = 0; i < r->n; i++) {
		const struct item *it = &r->v[i];
		if ((rc = manifest_add(m, it->path, it->len, it->mode, it->size, it->sha1,
				       it->sha256)) < 0)
			goto out;
	}
	if ((rc = manifest_sort(m)) < 0 || (rc = manifest_tree_ids(m, t1, t256)) < 0)
		goto out;
	*out = m;
	m = NULL;
out:
	manifest_free(m);
	return rc;
}

static void run_init(struct run *r, const struct ingest_opts *o, ingest_fn fn, void *ctx)
{
	memset(r, 0, sizeof(*r));
	r->o = o;
	r->fn = fn;
	r->ctx = ctx;
	r->rootfd = -1;
	atomic_init(&r->next, 0);
	atomic_init(&r->stop, 0);
	atomic_init(&r->read_bytes, 0);
	pthread_mutex_init(&r->mu, NULL);
}

static void run_done(struct run *r)
{
	run_release(r);
	pthread_mutex_destroy(&r->mu);
	if (r->rootfd >= 0)
		close(r->rootfd);
}

/* A directory source: walk, then read in parallel. */
static int ingest_dir(const char *source, const struct ingest_opts *o, ingest_fn fn, void *ctx,
		      struct manifest **out)
{
	struct run r;
	struct buf path;
	int rc, fd;
	run_init(&r, o, fn, ctx);
	buf_init(&path, 0);
	r.rootfd = open(source, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (r.rootfd < 0) {
		rc = err_set(ERR_IO, "cannot open the directory '%s': %s", source, strerror(errno));
		goto out;
	}
	fd = dup(r.rootfd);
	if (fd < 0) {
		rc = err_set(ERR_IO, "cannot open the directory '%s': %s", source, strerror(errno));
		goto out;
	}
	if ((rc = walk_dir(&r, fd, &path)) < 0 || (rc = run_workers(&r)) < 0)
		goto out;
	rc = finish(&r, out);
out:
	buf_release(&path);
	run_done(&r);
	return rc;
}

struct git_walk {
	struct run *r;
	struct buf path;
	int rc;
};

/* git_tree_walk callback: add blobs, refuse submodules and odd entries. */
static int git_walk_cb(const char *root, const git_tree_entry *te, void *payload)
{
	struct git_walk *gw = payload;
	const char *name = git_tree_entry_name(te);
	git_filemode_t fm = git_tree_entry_filemode(te);
	char qb[256];
	unsigned mode;
	buf_reset(&gw->path);
	if ((gw->rc = buf_addstr(&gw->path, root)) < 0 || (gw->rc = buf_addstr(&gw->path, name)) < 0)
		return -1;
	switch (fm) {
	case GIT_FILEMODE_TREE:
		return 0;
	case GIT_FILEMODE_BLOB: mode = GITOBJ_MODE_FILE; break;
	case GIT_FILEMODE_BLOB_EXECUTABLE: mode = GITOBJ_MODE_EXEC; break;
	case GIT_FILEMODE_LINK: mode = GITOBJ_MODE_LINK; break;
	case GIT_FILEMODE_COMMIT:
		gw->rc = err_set(ERR_HOSTILE,
				 "'%s' is a submodule (mode 160000): seal its repository separately",
				 q(qb, sizeof(qb), gw->path.p, gw->path.len));
		return -1;
	default:
		gw->rc = err_set(ERR_HOSTILE, "'%s' has the unknown mode '%o'",
				 q(qb, sizeof(qb), gw->path.p, gw->path.len), (unsigned)fm);
		return -1;
	}
	if ((gw->rc = gitobj_path_check(gw->path.p, gw->path.len)) < 0 ||
	    (gw->rc = item_add(gw->r, gw->path.p, gw->path.len, mode, 0)) < 0)
		return -1;
	git_oid_cpy(&gw->r->v[gw->r->n - 1].oid, git_tree_entry_id(te));
	return 0;
}

static int git_fail(int code, const char *what, const char *subject)
{
	const git_error *ge = git_error_last();
	return err_set(code, "%s '%s': %s", what, subject, ge && ge->message ? ge->message : "failed");
}

/*
 * A git source: resolve rev to a tree, list its blobs, read and check them in parallel,
 * then require that the recomputed SHA-1 tree id equals the repository's.
 */
static int ingest_git(git_repository *repo, const char *rev, const struct ingest_opts *o,
		      ingest_fn fn, void *ctx, struct manifest **out)
{
	struct run r;
	struct git_walk gw;
	git_object *obj = NULL;
	git_tree *tree = NULL;
	struct manifest *m = NULL;
	unsigned char t1[SHA1_LEN], t256[SHA256_LEN];
	char hex[GIT_OID_HEXSZ + 1];
	int rc;
	run_init(&r, o, fn, ctx);
	buf_init(&gw.path, 0);
	gw.r = &r;
	gw.rc = 0;
	r.gitdir = git_repository_path(repo);
	if (git_revparse_single(&obj, repo, rev) < 0) {
		rc = git_fail(ERR_NOTFOUND, "cannot resolve the revision", rev);
		goto out;
	}
	if (git_object_peel((git_object **)&tree, obj, GIT_OBJECT_TREE) < 0) {
		rc = git_fail(ERR_CORRUPT, "cannot find the tree of", rev);
		goto out;
	}
	if (git_tree_walk(tree, GIT_TREEWALK_PRE, git_walk_cb, &gw) < 0) {
		rc = gw.rc ? gw.rc : git_fail(ERR_CORRUPT, "cannot walk the tree of", rev);
		goto out;
	}
	if ((rc = run_workers(&r)) < 0 || (rc = finish(&r, &m)) < 0 ||
	    (rc = manifest_tree_ids(m, t1, t256)) < 0)
		goto out;
	if (memcmp(t1, git_tree_id(tree)->id, SHA1_LEN) != 0) {
		git_oid_tostr(hex, sizeof(hex), git_tree_id(tree));
		rc = err_set(ERR_CORRUPT,
			     "tree '%s' of '%s' is not in git's canonical form (odd modes, order or "
			     "empty trees)", hex, rev);
		goto out;
	}
	*out = m;
	m = NULL;
out:
	manifest_free(m);
	git_tree_free(tree);
	git_object_free(obj);
	buf_release(&gw.path);
	run_done(&r);
	return rc;
}

/* An open-addressing set of item indexes keyed by path, for archive link checks. */
struct pathset {
	long *slot; /* item index + 1, 0 = empty */
	size_t cap, n;
};

static uint64_t path_hash(const char *p, size_t len)
{
	uint64_t h = 1469598103934665603ull;
	size_t i;
	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
	return h;
}

/* The index of the item with this path, or -1. */
static long pathset_get(const struct pathset *s, const struct run *r, const char *p, size_t len)
{
	size_t i;
	if (!s->cap)
		return -1;
	for (i = path_hash(p, len) & (s->cap - 1); s->slot[i]; i = (i + 1) & (s->cap - 1)) {
		const struct item *it = &r->v[s->slot[i] - 1];
		if (it->len == len && memcmp(it->path, p, len) == 0)
			return s->slot[i] - 1;
	}
	return -1;
}

static void pathset_put(struct pathset *s, const struct run *r, long idx)
{
	const struct item *it;
	size_t i;
	if (2 * (s->n + 1) > s->cap) {
		struct pathset ns;
		size_t k;
		ns.cap = s->cap ? 2 * s->cap : 1024;
		ns.n = 0;
		ns.slot = xcalloc(ns.cap, sizeof(*ns.slot));
		for (k = 0; k < s->cap; k++)
			if (s->slot[k])
				pathset_put(&ns, r, s->slot[k] - 1);
		free(s->slot);
		*s = ns;
	}
	it = &r->v[idx];
	for (i = path_hash(it->path, it->len) & (s->cap - 1); s->slot[i]; i = (i + 1) & (s->cap - 1))
		;
	s->slot[i] = idx + 1;
	s->n++;
}

/*
 * Normalize an archive entry name in place of (p, *len): drop leading "./" (and a
 * trailing '/' for directories), then check it as a git path. Returns 0 or ERR_HOSTILE.
 */
static int arc_name(const char **p, size_t *len, int is_dir)
{
	char qb[256];
	const char *s = *p;
	size_t n = *len;
	if (n && s[0] == '/')
		return err_set(ERR_HOSTILE, "'%s' is an absolute path", q(qb, sizeof(qb), s, n));
	while (n >= 2 && s[0] == '.' && s[1] == '/') {
		s += 2;
		n -= 2;
		while (n && s[0] == '/') {
			s++;
			n--;
		}
	}
	if (is_dir) {
		while (n && s[n - 1] == '/')
			n--;
		if (n == 0 || (n == 1 && s[0] == '.')) {
			*p = s;
			*len = 0;
			return 0;
		}
	}
	*p = s;
	*len = n;
	return gitobj_path_check(s, n);
}

struct arc {
	struct run r;
	struct worker w;
	struct pathset set;
	struct archive *a;
	const char *name; /* for messages */
	uint64_t expanded;
};

/* Refuse bombs: past ratio_after expanded bytes, expanded may not pass ratio x compressed. */
static int arc_ratio(struct arc *x)
{
	const struct ingest_opts *o = x->r.o;
	int64_t in = archive_filter_bytes(x->a, -1), mid = archive_filter_bytes(x->a, 0);
	uint64_t exp = x->expanded, lim;
	if (mid > 0 && (uint64_t)mid > exp)
		exp = (uint64_t)mid;
	if (exp <= o->ratio_after || in <= 0)
		return 0;
	if (__builtin_mul_overflow((uint64_t)in, (uint64_t)o->max_ratio, &lim))
		return 0;
	if (exp > lim)
		return err_set(ERR_TOOBIG, "'%s' expands more than %u times its size (an archive bomb)",
			       x->name, o->max_ratio);
	return 0;
}

/* Read the current entry's data into the worker buffer, within the limits. */
static int arc_data(struct arc *x, const char *path, size_t plen, size_t *got)
{
	const struct ingest_opts *o = x->r.o;
	char qb[256];
	int rc;
	*got = 0;
	for (;;) {
		la_ssize_t n;
		if (*got == x->w.cap) {
			size_t ncap = x->w.cap ? 2 * x->w.cap : 65536;
			unsigned char *nb;
			if (*got > o->max_file)
				return err_set(ERR_TOOBIG, "'%s' is larger than the %llu-byte file limit",
					       q(qb, sizeof(qb), path, plen),
					       (unsigned long long)o->max_file);
			nb = xmalloc(ncap);
			if (*got)
				memcpy(nb, x->w.buf, *got);
			text_free(x->w.buf, x->w.cap);
			x->w.buf = nb;
			x->w.cap = ncap;
		}
		n = archive_read_data(x->a, x->w.buf + *got, x->w.cap - *got);
		if (n < 0)
			return err_set(ERR_PARSE, "'%s': cannot read '%s': %s", x->name,
				       q(qb, sizeof(qb), path, plen), archive_error_string(x->a));
		if (n == 0)
			break;
		*got += (size_t)n;
		x->expanded += (uint64_t)n;
		if (*got > o->max_file)
			return err_set(ERR_TOOBIG, "'%s' is larger than the %llu-byte file limit",
				       q(qb, sizeof(qb), path, plen), (unsigned long long)o->max_file);
		if ((rc = arc_ratio(x)) < 0)
			return rc;
	}
	return 0;
}

/* Check that no directory prefix of (p, len) is a symlink or a file seen earlier. */
static int arc_prefixes(struct arc *x, const char *p, size_t len)
{
	char qb[256], qb2[256];
	size_t i;
	for (i = 0; i < len; i++) {
		long k;
		if (p[i] != '/')
			continue;
		k = pathset_get(&x->set, &x->r, p, i);
		if (k < 0)
			continue;
		if (x->r.v[k].mode == GITOBJ_MODE_LINK)
			return err_set(ERR_HOSTILE, "'%s' goes through the symlink '%s'",
				       q(qb, sizeof(qb), p, len), q(qb2, sizeof(qb2), p, i));
		return err_set(ERR_HOSTILE, "'%s' is both a file and a directory",
			       q(qb, sizeof(qb), p, i));
	}
	return 0;
}

/* One archive entry: check it, then read, hash and deliver it, or record a link copy. */
static int arc_entry(struct arc *x, struct archive_entry *e)
{
	struct run *r = &x->r;
	/* raw bytes first; names a format marks as UTF-8 (zip) need the UTF-8 accessor
	 * because this program runs in the C locale */
	const char *p = archive_entry_pathname(e), *hl = archive_entry_hardlink(e);
	char qb[256];
	size_t len, got;
	mode_t type = archive_entry_filetype(e);
	unsigned mode;
	long k;
	int rc;
	if (!p)
		p = archive_entry_pathname_utf8(e);
	if (!hl)
		hl = archive_entry_hardlink_utf8(e);
	if (!p)
		return err_set(ERR_HOSTILE, "'%s' has an entry whose name is not valid in its "
			       "archive's character set (zip names must be UTF-8)", x->name);
	len = strlen(p);
	if ((rc = arc_name(&p, &len, type == AE_IFDIR && !hl)) < 0)
		return rc;
	if (archive_entry_size_is_set(e) && archive_entry_size(e) > 0 &&
	    (uint64_t)archive_entry_size(e) > r->o->max_file)
		return err_set(ERR_TOOBIG, "'%s' is larger than the %llu-byte file limit",
			       q(qb, sizeof(qb), p, len), (unsigned long long)r->o->max_file);
	if (type == AE_IFDIR && !hl)
		return len ? arc_prefixes(x, p, len) : 0;
	if ((rc = arc_prefixes(x, p, len)) < 0)
		return rc;
	if (pathset_get(&x->set, r, p, len) >= 0)
		return err_set(ERR_HOSTILE, "'%s' appears twice", q(qb, sizeof(qb), p, len));
	if (hl) {
		const char *t = hl;
		size_t tl = strlen(hl);
		if ((rc = arc_name(&t, &tl, 0)) < 0)
			return err_set(ERR_HOSTILE, "hard link '%s' points outside the source",
				       q(qb, sizeof(qb), p, len));
		k = pathset_get(&x->set, r, t, tl);
		if (k < 0 || r->v[k].mode == GITOBJ_MODE_LINK)
			return err_set(ERR_HOSTILE,
				       "hard link '%s' points to no earlier regular file",
				       q(qb, sizeof(qb), p, len));
		if ((rc = item_add(r, p, len, r->v[k].mode, r->v[k].size)) < 0)
			return rc;
		memcpy(r->v[r->n - 1].sha1, r->v[k].sha1, SHA1_LEN);
		memcpy(r->v[r->n - 1].sha256, r->v[k].sha256, SHA256_LEN);
		r->v[r->n - 1].copy_of = k;
		pathset_put(&x->set, r, (long)r->n - 1);
		return 0;
	}
	if (type == AE_IFLNK) {
		const char *target = archive_entry_symlink(e);
		if (!target)
			target = archive_entry_symlink_utf8(e);
		if (!target)
			return err_set(ERR_HOSTILE, "symlink '%s' has no usable target",
				       q(qb, sizeof(qb), p, len));
		if ((rc = item_add(r, p, len, GITOBJ_MODE_LINK, 0)) < 0)
			return rc;
		pathset_put(&x->set, r, (long)r->n - 1);
		return deliver(r, &x->w, &r->v[r->n - 1], target, strlen(target));
	}
	if (type != AE_IFREG) {
		const char *what = type == AE_IFIFO ? "a FIFO" : type == AE_IFSOCK ? "a socket"
				   : (type == AE_IFCHR || type == AE_IFBLK) ? "a device file"
									     : "of an unknown type";
		return err_set(ERR_HOSTILE, "'%s' is %s", q(qb, sizeof(qb), p, len), what);
	}
	mode = (archive_entry_perm(e) & 0100) ? GITOBJ_MODE_EXEC : GITOBJ_MODE_FILE;
	if ((rc = item_add(r, p, len, mode,
			   archive_entry_size_is_set(e) && archive_entry_size(e) > 0
				   ? (uint64_t)archive_entry_size(e) : 0)) < 0)
		return rc;
	pathset_put(&x->set, r, (long)r->n - 1);
	if ((rc = arc_data(x, p, len, &got)) < 0)
		return rc;
	return deliver(r, &x->w, &r->v[r->n - 1], x->w.buf, got);
}

/*
 * Read the archive file, entry by entry. Only tar and zip formats with gzip, xz, zstd and
 * bzip2 filters are enabled.
 */
static int ingest_archive(const char *file, const struct ingest_opts *o, ingest_fn fn, void *ctx,
			  struct manifest **out)
{
	struct arc x;
	struct archive_entry *e;
	uint64_t entries = 0;
	int rc = 0, ar;
	memset(&x, 0, sizeof(x));
	run_init(&x.r, o, fn, ctx);
	x.w.r = &x.r;
	x.name = file;
	x.w.c1 = EVP_MD_CTX_new();
	x.w.c256 = EVP_MD_CTX_new();
	x.a = archive_read_new();
	if (!x.a || !x.w.c1 || !x.w.c256)
		BUG("allocation failed");
	archive_read_support_filter_gzip(x.a);
	archive_read_support_filter_xz(x.a);
	archive_read_support_filter_zstd(x.a);
	archive_read_support_filter_bzip2(x.a);
	archive_read_support_format_tar(x.a);
	archive_read_support_format_gnutar(x.a);
	archive_read_support_format_zip(x.a);
	if ((ar = archive_read_open_filename(x.a, file, 1 << 16)) != ARCHIVE_OK) {
		rc = err_set(ERR_PARSE, "'%s' is not a tar or zip archive: %s", file,
			     archive_error_string(x.a) ? archive_error_string(x.a) : "unreadable");
		goto out;
	}
	for (;;) {
		ar = archive_read_next_header(x.a, &e);
		if (ar == ARCHIVE_EOF)
			break;
		if (ar != ARCHIVE_OK && ar != ARCHIVE_WARN) {
			rc = err_set(ERR_PARSE, "'%s' is not a readable tar or zip archive: %s", file,
				     archive_error_string(x.a) ? archive_error_string(x.a)
							       : "bad header");
			goto out;
		}
		if (++entries > 4 * o->max_files + 16) {
			rc = err_set(ERR_TOOBIG, "'%s' has more than %llu entries", file,
				     (unsigned long long)(4 * o->max_files + 16));
			goto out;
		}
		if ((rc = arc_entry(&x, e)) < 0 || (rc = arc_ratio(&x)) < 0)
			goto out;
	}
	if (o->progress)
		o->progress(o->progress_ctx, x.r.done_files, x.r.done_bytes, 0, 0);
	rc = finish(&x.r, out);
out:
	if (x.a)
		archive_read_free(x.a);
	free(x.set.slot);
	text_free(x.w.buf, x.w.cap);
	EVP_MD_CTX_free(x.w.c1);
	EVP_MD_CTX_free(x.w.c256);
	run_done(&x.r);
	return rc;
}

/* Open source as a git repository when it is one (bare, or any with a revision). */
static int open_repo(const char *source, const struct ingest_opts *o, git_repository **repo)
{
	*repo = NULL;
	if (o->rev) {
		if (git_repository_open_ext(repo, source, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL) < 0)
			return git_fail(ERR_USAGE, "--rev needs a git repository, and cannot open",
					source);
		return 1;
	}
	if (git_repository_open_bare(repo, source) == 0) {
		if (git_repository_is_bare(*repo))
			return 1;
		git_repository_free(*repo);
		*repo = NULL;
	}
	git_error_clear();
	return 0;
}

/*
 * Dispatch on the kind of SOURCE: a git repository (with rev, or bare), a directory, or
 * an archive file (detected by content). Returns 0 with *out, or an error (see ingest.h).
 */
int ingest_source(const char *source, const struct ingest_opts *o, ingest_fn fn, void *ctx,
		  struct manifest **out)
{
	git_repository *repo = NULL;
	struct stat st;
	int rc;
	*out = NULL;
	if (stat(source, &st) < 0)
		return err_set(ERR_NOTFOUND, "cannot open the source '%s': %s", source,
			       strerror(errno));
	if (S_ISDIR(st.st_mode)) {
		git_libgit2_init();
		rc = open_repo(source, o, &repo);
		if (rc == 1)
			rc = ingest_git(repo, o->rev ? o->rev : "HEAD", o, fn, ctx, out);
		else if (rc == 0)
			rc = ingest_dir(source, o, fn, ctx, out);
		git_repository_free(repo);
		git_libgit2_shutdown();
		return rc;
	}
	if (o->rev)
		return err_set(ERR_USAGE, "--rev needs a git repository, and '%s' is not a directory",
			       source);
	if (!S_ISREG(st.st_mode))
		return err_set(ERR_USAGE, "the source '%s' is not a directory or an archive file",
			       source);
	return ingest_archive(source, o, fn, ctx, out);
}
