/* gitobj: blob and tree objects, both ids, built exactly as git builds them. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "buf.h"
#include "gitobj.h"
#include "hash.h"

struct tb_entry {
	char *path;
	size_t len;
	unsigned mode;
	unsigned char sha1[SHA1_LEN];
	unsigned char sha256[SHA256_LEN];
};

struct tree_builder {
	struct tb_entry *v;
	size_t n, cap;
	int finished;
};

/* One open directory while trees are built: its path is path[0, len) of some entry. */
struct frame {
	const char *path;
	size_t len;
	struct buf t1, t256;
};

size_t gitobj_blob_header(char out[32], unsigned long long len)
{
	int n = snprintf(out, 32, "blob %llu", len);
	return (size_t)n + 1; /* the NUL is part of the header */
}

/* Hash header + body with one digest; both pieces are in memory. */
static void digest2(const EVP_MD *md, const void *h, size_t hlen, const void *p, size_t len,
		    unsigned char *out)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	if (!c || !EVP_DigestInit_ex(c, md, NULL) || !EVP_DigestUpdate(c, h, hlen) ||
	    !EVP_DigestUpdate(c, p, len) || !EVP_DigestFinal_ex(c, out, NULL))
		BUG("digest failed");
	EVP_MD_CTX_free(c);
}

void gitobj_blob_ids(const void *p, size_t len, unsigned char sha1_out[20],
		     unsigned char sha256_out[32])
{
	char h[32];
	size_t hl = gitobj_blob_header(h, len);
	digest2(EVP_sha1(), h, hl, p, len, sha1_out);
	digest2(EVP_sha256(), h, hl, p, len, sha256_out);
}

void gitobj_blob_sha256(const void *p, size_t len, unsigned char out[32])
{
	char h[32];
	size_t hl = gitobj_blob_header(h, len);
	digest2(EVP_sha256(), h, hl, p, len, out);
}

int gitobj_mode_ok(unsigned mode)
{
	return mode == GITOBJ_MODE_FILE || mode == GITOBJ_MODE_EXEC || mode == GITOBJ_MODE_LINK;
}

const char *gitobj_quote(char *out, size_t cap, const char *path, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0, i;
	if (!cap)
		return out;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)path[i];
		int plain = c >= 0x20 && c < 0x7f && c != '\\' && c != '\'';
		size_t need = plain ? 1 : 4;
		if (o + need + 4 > cap) {
			if (o + 4 <= cap) {
				memcpy(out + o, "...", 3);
				o += 3;
			}
			break;
		}
		if (plain) {
			out[o++] = (char)c;
		} else {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = 0;
	return out;
}

/* 1 when (p, n) is ".git" in any letter case. */
static int is_dotgit(const char *p, size_t n)
{
	return n == 4 && p[0] == '.' && (p[1] | 0x20) == 'g' && (p[2] | 0x20) == 'i' &&
	       (p[3] | 0x20) == 't';
}

/*
 * Check a relative path component by component. Returns 0 or ERR_HOSTILE naming the
 * path and the reason.
 */
int gitobj_path_check(const char *path, size_t len)
{
	char q[256];
	size_t i = 0, start;
	if (len == 0)
		return err_set(ERR_HOSTILE, "empty path");
	if (memchr(path, 0, len))
		return err_set(ERR_HOSTILE, "'%s' contains a NUL byte",
			       gitobj_quote(q, sizeof(q), path, len));
	if (path[0] == '/')
		return err_set(ERR_HOSTILE, "'%s' is an absolute path",
			       gitobj_quote(q, sizeof(q), path, len));
	while (i <= len) {
		start = i;
		while (i < len && path[i] != '/')
			i++;
		if (i == start)
			return err_set(ERR_HOSTILE, "'%s' has an empty path component",
				       gitobj_quote(q, sizeof(q), path, len));
		if (i - start == 2 && path[start] == '.' && path[start + 1] == '.')
			return err_set(ERR_HOSTILE, "'%s' escapes the source root",
				       gitobj_quote(q, sizeof(q), path, len));
		if (i - start == 1 && path[start] == '.')
			return err_set(ERR_HOSTILE, "'%s' has a '.' path component",
				       gitobj_quote(q, sizeof(q), path, len));
		if (is_dotgit(path + start, i - start))
			return err_set(ERR_HOSTILE, "'%s' has a '.git' path component",
				       gitobj_quote(q, sizeof(q), path, len));
		i++;
	}
	return 0;
}

struct tree_builder *tree_builder_new(void)
{
	return xcalloc(1, sizeof(struct tree_builder));
}

int tree_builder_add(struct tree_builder *t, const char *path, size_t path_len, unsigned mode,
		     const unsigned char sha1_id[20], const unsigned char sha256_id[32])
{
	struct tb_entry *e;
	int rc;
	if (t->finished)
		return err_set(ERR_USAGE, "tree builder already finished");
	if (!gitobj_mode_ok(mode))
		return err_set(ERR_USAGE, "mode '%o' is not a git file mode", mode);
	if ((rc = gitobj_path_check(path, path_len)) < 0)
		return rc;
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap : 256, bytes;
		if (__builtin_mul_overflow(cap, 2, &cap) ||
		    __builtin_mul_overflow(cap, sizeof(*t->v), &bytes))
			return err_set(ERR_TOOBIG, "too many files for one tree");
		t->v = xrealloc(t->v, bytes);
		t->cap = cap;
	}
	e = &t->v[t->n++];
	e->path = xstrndup(path, path_len);
	e->len = path_len;
	e->mode = mode;
	memcpy(e->sha1, sha1_id, SHA1_LEN);
	memcpy(e->sha256, sha256_id, SHA256_LEN);
	return 0;
}

/* Byte order of whole paths, shorter first on a tie: this is git's index order, and it
 * puts every tree's entries in git's tree order ('/' after "foo." and before "foo0"). */
int gitobj_path_cmp(const char *a, size_t al, const char *b, size_t bl)
{
	int c = memcmp(a, b, al < bl ? al : bl);
	if (c)
		return c;
	return al < bl ? -1 : al > bl;
}

static int entry_cmp(const void *x, const void *y)
{
	const struct tb_entry *a = x, *b = y;
	return gitobj_path_cmp(a->path, a->len, b->path, b->len);
}

/* 1 when some entry's path is exactly (p, len); entries are sorted. */
static int has_file(const struct tree_builder *t, const char *p, size_t len)
{
	size_t lo = 0, hi = t->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = gitobj_path_cmp(t->v[mid].path, t->v[mid].len, p, len);
		if (c == 0)
			return 1;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

static const char *mode_str(unsigned mode)
{
	switch (mode) {
	case GITOBJ_MODE_FILE: return "100644 ";
	case GITOBJ_MODE_EXEC: return "100755 ";
	case GITOBJ_MODE_LINK: return "120000 ";
	default: return "40000 ";
	}
}

/* Append one "<mode> <name>\0<id>" entry to both tree bodies of f. */
static int frame_add(struct frame *f, unsigned mode, const char *name, size_t len,
		     const unsigned char *id1, const unsigned char *id256)
{
	const char *m = mode_str(mode);
	size_t ml = strlen(m);
	int rc;
	if ((rc = buf_add(&f->t1, m, ml)) < 0 || (rc = buf_add(&f->t1, name, len)) < 0 ||
	    (rc = buf_addch(&f->t1, 0)) < 0 || (rc = buf_add(&f->t1, id1, SHA1_LEN)) < 0 ||
	    (rc = buf_add(&f->t256, m, ml)) < 0 || (rc = buf_add(&f->t256, name, len)) < 0 ||
	    (rc = buf_addch(&f->t256, 0)) < 0 || (rc = buf_add(&f->t256, id256, SHA256_LEN)) < 0)
		return rc;
	return 0;
}

static void tree_ids(struct frame *f, unsigned char *id1, unsigned char *id256)
{
	char h[32];
	int hl = snprintf(h, sizeof(h), "tree %zu", f->t1.len);
	digest2(EVP_sha1(), h, (size_t)hl + 1, f->t1.p, f->t1.len, id1);
	hl = snprintf(h, sizeof(h), "tree %zu", f->t256.len);
	digest2(EVP_sha256(), h, (size_t)hl + 1, f->t256.p, f->t256.len, id256);
}

/* Close the top frame (depth d > 0): hash it and add it to its parent as a tree. */
static int frame_pop(struct frame *fr, size_t d)
{
	unsigned char id1[SHA1_LEN], id256[SHA256_LEN];
	struct frame *f = &fr[d];
	const char *name = f->path;
	size_t nl = f->len;
	const char *slash = memrchr(f->path, '/', f->len);
	if (slash) {
		name = slash + 1;
		nl = f->len - (size_t)(name - f->path);
	}
	tree_ids(f, id1, id256);
	return frame_add(&fr[d - 1], GITOBJ_MODE_TREE, name, nl, id1, id256);
}

/* 1 when entry path p lies under the directory of frame f (depth > 0). */
static int under(const struct frame *f, const char *p, size_t len)
{
	return len > f->len && p[f->len] == '/' && memcmp(p, f->path, f->len) == 0;
}

/*
 * Sort the entries, reject duplicates and file/directory conflicts, then stream the
 * sorted paths through a stack of open directories: a directory is hashed when the first
 * path outside it arrives, which is exactly when git's order places it in its parent.
 */
int tree_builder_finish(struct tree_builder *t, unsigned char root_sha1[20],
			unsigned char root_sha256[32])
{
	struct frame *fr = NULL;
	size_t d = 0, fcap = 0, i, k;
	char q[256];
	int rc = 0;
	if (t->finished)
		return err_set(ERR_USAGE, "tree builder already finished");
	t->finished = 1;
	if (t->n > 1)
		qsort(t->v, t->n, sizeof(*t->v), entry_cmp);
	for (i = 1; i < t->n; i++)
		if (t->v[i].len == t->v[i - 1].len &&
		    memcmp(t->v[i].path, t->v[i - 1].path, t->v[i].len) == 0)
			return err_set(ERR_HOSTILE, "'%s' appears twice",
				       gitobj_quote(q, sizeof(q), t->v[i].path, t->v[i].len));
	fcap = 16;
	fr = xcalloc(fcap, sizeof(*fr));
	for (k = 0; k < fcap; k++) {
		buf_init(&fr[k].t1, 0);
		buf_init(&fr[k].t256, 0);
	}
	for (i = 0; i < t->n; i++) {
		const struct tb_entry *e = &t->v[i];
		size_t pos, nstart;
		const char *slash;
		while (d > 0 && !under(&fr[d], e->path, e->len)) {
			if ((rc = frame_pop(fr, d)) < 0)
				goto out;
			d--;
		}
		pos = d ? fr[d].len + 1 : 0;
		while ((slash = memchr(e->path + pos, '/', e->len - pos))) {
			size_t plen = (size_t)(slash - e->path);
			if (has_file(t, e->path, plen)) {
				rc = err_set(ERR_HOSTILE, "'%s' is both a file and a directory",
					     gitobj_quote(q, sizeof(q), e->path, plen));
				goto out;
			}
			if (d + 1 == fcap) {
				fr = xrealloc(fr, 2 * fcap * sizeof(*fr));
				for (k = fcap; k < 2 * fcap; k++) {
					buf_init(&fr[k].t1, 0);
					buf_init(&fr[k].t256, 0);
				}
				fcap *= 2;
			}
			d++;
			fr[d].path = e->path;
			fr[d].len = plen;
			buf_reset(&fr[d].t1);
			buf_reset(&fr[d].t256);
			pos = plen + 1;
		}
		nstart = pos;
		if ((rc = frame_add(&fr[d], e->mode, e->path + nstart, e->len - nstart, e->sha1,
				    e->sha256)) < 0)
			goto out;
	}
	while (d > 0) {
		if ((rc = frame_pop(fr, d)) < 0)
			goto out;
		d--;
	}
	tree_ids(&fr[0], root_sha1, root_sha256);
out:
	if (fr)
		for (k = 0; k < fcap; k++) {
			buf_release(&fr[k].t1);
			buf_release(&fr[k].t256);
		}
	free(fr);
	return rc;
}

void tree_builder_free(struct tree_builder *t)
{
	size_t i;
	if (!t)
		return;
	for (i = 0; i < t->n; i++)
		free(t->v[i].path);
	free(t->v);
	free(t);
}
