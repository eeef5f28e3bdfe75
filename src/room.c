/* room: the opened releases of a running room; see room.h. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "index.h"
#include "report.h"
#include "diff.h"
#include "release.h"
#include "findings.h"
#include "room.h"
#include "highlightd.h"
#include "imaged.h"
#include "printd.h"
#include "searchd.h"
#include "vault.h"
#include "xref.h"

/* An opened release: immutable once loaded, shared by requests through refs. */
struct room {
	char product[RELEASE_NAME_MAX + 1];
	char version[RELEASE_NAME_MAX + 1];
	struct vault_key *key;
	struct vault *v;
	struct manifest *m;
	/* The search index loads in a thread of its own (room_load_index): ix and syms are
	 * set once, under ix_mu, when ix_state turns from 0 (loading) to 1 (loaded), or to a
	 * negative enum err when the load failed. File views and the tree do not wait for it. */
	pthread_mutex_t ix_mu;
	pthread_cond_t ix_cv;
	int ix_state;
	struct index *ix;
	pthread_mutex_t sd_mu;
	struct searchd *sd;  /* the index's search worker (searchd.h), under sd_mu */
	struct highlightd *hd; /* its highlight worker (highlightd.h), started by the first page */
	struct imaged *im;     /* its image worker (imaged.h), started by the first image */
	struct printd *pd;     /* its print worker (printd.h), started by the first print */
	struct xref *xr;     /* the release's tree-sitter tags (NULL when they did not load) */
	struct render_symtab *syms;
	struct shingles *sh; /* every 12-token run of the code, for notes; made on first use */
	int notes_by_index;  /* too much code for sh: notes are checked through ix */
	int refs;
	int dropped;
};

struct rooms {
	struct keyring *keys;
	pthread_mutex_t lock;
	pthread_cond_t loaders_done;
	struct room *rooms[ROOMS_MAX];
	int n_rooms;
	int n_loaders; /* index loads running (each holds a ref on its room) */
	int quiet;     /* a command's rooms: no word of the loads on stderr */
};

static void room_free(struct room *r)
{
	if (!r)
		return;
	render_symtab_free(r->syms);
	shingles_free(r->sh);
	xref_free(r->xr);
	searchd_free(r->sd);
	highlightd_free(r->hd);
	imaged_free(r->im);
	printd_free(r->pd);
	index_free(r->ix);
	manifest_free(r->m);
	vault_close(r->v);
	vault_key_free(r->key);
	pthread_mutex_destroy(&r->ix_mu);
	pthread_mutex_destroy(&r->sd_mu);
	pthread_cond_destroy(&r->ix_cv);
	free(r);
}

struct rooms *rooms_new(struct keyring *k)
{
	struct rooms *rs = xcalloc(1, sizeof(*rs));
	rs->keys = k;
	pthread_mutex_init(&rs->lock, NULL);
	pthread_cond_init(&rs->loaders_done, NULL);
	return rs;
}

void rooms_quiet(struct rooms *rs)
{
	rs->quiet = 1;
}

struct keyring *rooms_keyring(struct rooms *rs)
{
	return rs->keys;
}

void rooms_free(struct rooms *rs)
{
	if (!rs)
		return;
	/* an index load cannot be interrupted: wait for the ones running */
	pthread_mutex_lock(&rs->lock);
	while (rs->n_loaders)
		pthread_cond_wait(&rs->loaders_done, &rs->lock);
	pthread_mutex_unlock(&rs->lock);
	for (int i = 0; i < rs->n_rooms; i++)
		room_free(rs->rooms[i]);
	pthread_mutex_destroy(&rs->lock);
	pthread_cond_destroy(&rs->loaders_done);
	free(rs);
}

/*
 * Take room r (rs->lock held) out of the cache: freed now, or, while requests use it, marked
 * dropped and added to kill[] (with a reference of its own) so that its search worker, which
 * maps the text, is killed at once by kill_workers, after rs->lock is let go: a worker start
 * under way holds its room's sd_mu for as long as it takes.
 */
static void drop_room(struct room *r, struct room **kill, int *n_kill)
{
	if (!r->refs) {
		room_free(r);
		return;
	}
	__atomic_store_n(&r->dropped, 1, __ATOMIC_RELAXED);
	r->refs++;
	kill[(*n_kill)++] = r;
}

static void kill_workers(struct rooms *rs, struct room **kill, int n_kill)
{
	for (int i = 0; i < n_kill; i++) {
		pthread_mutex_lock(&kill[i]->sd_mu);
		searchd_kill(kill[i]->sd);
		pthread_mutex_unlock(&kill[i]->sd_mu);
		highlightd_kill(kill[i]->hd);
		imaged_kill(kill[i]->im);
		printd_kill(kill[i]->pd);
		room_put(rs, kill[i]);
	}
}

void rooms_sweep(struct rooms *rs, int64_t now)
{
	struct room *kill[ROOMS_MAX];
	int n_kill = 0;
	pthread_mutex_lock(&rs->lock);
	for (int i = 0; i < rs->n_rooms;) {
		struct room *r = rs->rooms[i];
		struct vault_key *k = NULL;
		if (keyring_get(rs->keys, r->product, r->version, now, &k) == 0) {
			vault_key_free(k);
			i++;
			continue;
		}
		rs->rooms[i] = rs->rooms[--rs->n_rooms];
		drop_room(r, kill, &n_kill);
	}
	pthread_mutex_unlock(&rs->lock);
	kill_workers(rs, kill, n_kill);
}

int rooms_withdraw(struct rooms *rs, const char *product, const char *version)
{
	int held = keyring_drop(rs->keys, product, version), n_kill = 0;
	struct room *kill[1];
	pthread_mutex_lock(&rs->lock);
	for (int i = 0; i < rs->n_rooms; i++) {
		struct room *r = rs->rooms[i];
		if (strcmp(r->product, product) || strcmp(r->version, version))
			continue;
		rs->rooms[i] = rs->rooms[--rs->n_rooms];
		drop_room(r, kill, &n_kill);
		held = 1;
		break;
	}
	pthread_mutex_unlock(&rs->lock);
	kill_workers(rs, kill, n_kill);
	return held;
}

void room_put(struct rooms *rs, struct room *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&rs->lock);
	if (--r->refs == 0 && r->dropped)
		room_free(r);
	pthread_mutex_unlock(&rs->lock);
}

struct loader {
	struct rooms *rs;
	struct room *rm;
};

/*
 * The search index of a room (which the loader holds a reference on): decrypt it and every
 * file's text, build the symbol table, publish them, wake the requests waiting for them.
 */
static void *room_load_index(void *arg)
{
	struct loader *ld = arg;
	struct room *rm = ld->rm;
	struct rooms *rs = ld->rs;
	struct index *ix = NULL;
	struct render_symtab *syms = NULL;
	struct xref *xr = NULL;
	struct buf mb;
	struct timespec t0, t1;
	int r, sr;
	free(ld);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	buf_init(&mb, INDEX_MAX);
	if (!(r = index_load(rm->v, rm->m, 0, &ix))) {
		/* the definitions of the grammars' tags (xref.h); without them, the index's */
		int xe;
		if (((xe = vault_get_meta(rm->v, "xref", &mb)) || (xe = xref_load(mb.p, mb.len, rm->m, &xr))) &&
		    !rs->quiet)
			fprintf(stderr, "sealroom serve: the cross-references of '%s@%s' did not load (%s): "
					"definitions come from the search index\n", rm->product, rm->version, err_msg());
		syms = render_symtab_new(ix, xr);
	}
	if (mb.p && mb.cap)
		sodium_memzero(mb.p, mb.cap);
	buf_release(&mb);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (r)
		fprintf(stderr, "sealroom serve: the index of '%s@%s' did not load: %s\n", rm->product, rm->version,
			err_msg());
	else if (!rs->quiet)
		fprintf(stderr, "sealroom serve: index of '%s@%s' loaded in %.1f s\n", rm->product, rm->version,
			(double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	pthread_mutex_lock(&rm->ix_mu);
	rm->ix = ix;
	rm->xr = xr;
	rm->syms = syms;
	rm->ix_state = r ? r : 1;
	pthread_cond_broadcast(&rm->ix_cv);
	pthread_mutex_unlock(&rm->ix_mu);
	/* a serving room's searches run in the release's worker from the first one on (a
	 * command's rooms start it on their first search); views do not wait for it */
	if (!r && !rs->quiet) {
		pthread_mutex_lock(&rm->sd_mu);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (!rm->sd && !__atomic_load_n(&rm->dropped, __ATOMIC_RELAXED) && (sr = searchd_start(ix, &rm->sd)))
			fprintf(stderr, "sealroom serve: the search worker of '%s@%s' did not start (%s): searches "
					"start it again\n", rm->product, rm->version, err_msg());
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (rm->sd)
			fprintf(stderr, "sealroom serve: search worker of '%s@%s' started in %.1f s (pid %d)\n",
				rm->product, rm->version,
				(double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
				(int)searchd_pid(rm->sd));
		pthread_mutex_unlock(&rm->sd_mu);
	}
	room_put(rs, rm);
	pthread_mutex_lock(&rs->lock);
	if (--rs->n_loaders == 0)
		pthread_cond_broadcast(&rs->loaders_done);
	pthread_mutex_unlock(&rs->lock);
	return NULL;
}

/*
 * Wait for the room's index, at most ROOM_INDEX_WAIT seconds (a request must not outlast the
 * front's answer timeout, split.h, while a large index loads): 0 once rm->ix is there,
 * ERR_BUSY while it still loads, the load's error otherwise.
 */
static int room_index_wait(struct room *rm)
{
	struct timespec until;
	int r;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ROOM_INDEX_WAIT;
	pthread_mutex_lock(&rm->ix_mu);
	while (!rm->ix_state)
		if (pthread_cond_timedwait(&rm->ix_cv, &rm->ix_mu, &until) == ETIMEDOUT)
			break;
	r = !rm->ix_state ? err_set(ERR_BUSY, "the release's search index is still loading: try again in a moment")
	    : rm->ix_state < 0 ? err_set(rm->ix_state, "the release's search index could not be loaded") : 0;
	pthread_mutex_unlock(&rm->ix_mu);
	return r;
}

int room_index_ready(struct room *rm)
{
	int ready;
	pthread_mutex_lock(&rm->ix_mu);
	ready = rm->ix_state == 1;
	pthread_mutex_unlock(&rm->ix_mu);
	return ready;
}

int room_get(struct rooms *rs, struct facility *f, const char *product, const char *version, int64_t now,
	     int need_index, struct room **out)
{
	struct vault_key *k = NULL;
	struct release_info info = {0};
	struct room *rm = NULL;
	struct loader *ld;
	pthread_t th;
	pthread_attr_t attr;
	int r;

	*out = NULL;
	if ((r = keyring_get(rs->keys, product, version, now, &k)))
		return r;
	pthread_mutex_lock(&rs->lock);
	for (int i = 0; i < rs->n_rooms; i++)
		if (!strcmp(rs->rooms[i]->product, product) && !strcmp(rs->rooms[i]->version, version)) {
			rm = rs->rooms[i];
			rm->refs++;
			break;
		}
	if (rm) {
		pthread_mutex_unlock(&rs->lock);
		vault_key_free(k);
		if (need_index && (r = room_index_wait(rm))) {
			room_put(rs, rm);
			return r;
		}
		*out = rm;
		return 0;
	}
	/* open under the lock: one open per release, others wait for it */
	rm = xcalloc(1, sizeof(*rm));
	pthread_mutex_init(&rm->ix_mu, NULL);
	pthread_mutex_init(&rm->sd_mu, NULL);
	rm->hd = highlightd_new();
	rm->im = imaged_new();
	rm->pd = printd_new();
	pthread_cond_init(&rm->ix_cv, NULL);
	snprintf(rm->product, sizeof(rm->product), "%s", product);
	snprintf(rm->version, sizeof(rm->version), "%s", version);
	rm->key = k;
	k = NULL;
	/* every open re-checks the seal: signature, wrapped key, both tree ids (release_open_key) */
	if ((r = release_get(f, product, version, &info)) ||
	    (r = release_open_key(f, &info, rm->key, &rm->v, &rm->m, NULL)))
		goto out;
	if (rs->n_rooms >= ROOMS_MAX) {
		r = err_set(ERR_TOOBIG, "too many open releases");
		goto out;
	}
	ld = xmalloc(sizeof(*ld));
	ld->rs = rs;
	ld->rm = rm;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&th, &attr, room_load_index, ld)) {
		pthread_attr_destroy(&attr);
		free(ld);
		r = err_set(ERR_IO, "cannot start the index load of '%s@%s'", product, version);
		goto out;
	}
	pthread_attr_destroy(&attr);
	rm->refs = 2; /* the caller's and the loader's */
	rs->n_loaders++;
	rs->rooms[rs->n_rooms++] = rm;
	pthread_mutex_unlock(&rs->lock);
	*out = rm;
	rm = NULL;
	if (need_index && (r = room_index_wait(*out))) {
		room_put(rs, *out);
		*out = NULL;
	}
	goto done;
out:
	pthread_mutex_unlock(&rs->lock);
	room_free(rm);
done:
	vault_key_free(k);
	release_info_release(&info);
	return r;
}

const struct manifest *room_manifest(const struct room *rm)
{
	return rm->m;
}

int room_find(const struct room *rm, const char *path, size_t *i)
{
	const struct manifest_entry *e = manifest_find(rm->m, path, strlen(path));
	if (!e)
		return ERR_NOTFOUND;
	*i = (size_t)(e - manifest_get(rm->m, 0));
	return 0;
}

int room_search(struct room *rm, const char *text, const struct query_opts *qo, const struct search_opts *so,
		struct search_result **res)
{
	struct searchd *sd;
	int r = 0;
	*res = NULL;
	if (room_index_wait(rm))
		return err_set(ERR_NOTFOUND, "the release's search index is not loaded");
	pthread_mutex_lock(&rm->sd_mu);
	if (!rm->sd && !__atomic_load_n(&rm->dropped, __ATOMIC_RELAXED))
		r = searchd_start(rm->ix, &rm->sd);
	sd = rm->sd;
	pthread_mutex_unlock(&rm->sd_mu);
	if (r)
		return err_set(ERR_IO, "search is unavailable: %s", err_msg());
	if (!sd)
		return err_set(ERR_NOTFOUND, "release is locked");
	return searchd_search(sd, text, qo, so, res);
}

struct defs_acc {
	struct xref_loc *v;
	size_t n, cap;
};

static int defs_add(void *ctx, const struct xref_loc *l)
{
	struct defs_acc *a = ctx;
	if (a->n == a->cap) {
		a->cap = a->cap ? 2 * a->cap : 16;
		a->v = xrealloc(a->v, a->cap * sizeof(*a->v));
	}
	a->v[a->n++] = *l;
	return 0;
}

int room_definitions(struct room *rm, uint64_t n, char **name, struct xref_loc **locs, size_t *n_locs)
{
	struct defs_acc a = {0};
	const char *nm = NULL;
	size_t len = 0;
	int r;
	*name = NULL;
	*locs = NULL;
	*n_locs = 0;
	if ((r = room_index_wait(rm)))
		return r;
	if (xref_has_tags(rm->xr)) {
		struct xref_loc l;
		if (n > SIZE_MAX || xref_definition(rm->xr, (size_t)n, &l, &nm, &len))
			return err_set(ERR_NOTFOUND, "no such symbol");
	} else {
		const struct index_symbol *s;
		if (n >= index_n_symbols(rm->ix))
			return err_set(ERR_NOTFOUND, "no such symbol");
		s = index_symbol_by_name(rm->ix, (size_t)n);
		if (!(nm = index_symbol_name(rm->ix, s)))
			return err_set(ERR_NOTFOUND, "no such symbol");
		len = s->len;
	}
	if ((r = xref_definitions(rm->xr, rm->ix, nm, len, defs_add, &a)) || !a.n) {
		free(a.v);
		return r ? r : err_set(ERR_NOTFOUND, "no such symbol");
	}
	*name = xstrndup(nm, len);
	*locs = a.v;
	*n_locs = a.n;
	return 0;
}

int room_name_at(struct room *rm, const struct render_ctx *c, size_t fi, uint64_t line, uint64_t k, char **name)
{
	struct render_ctx rc = *c;
	const unsigned char *t;
	size_t tl, off, len;
	int r;
	*name = NULL;
	if ((r = room_index_wait(rm)))
		return r;
	room_render_ctx(rm, &rc);
	if (fi >= manifest_count(rm->m) || !(t = index_text(rm->ix, fi, &tl)))
		return err_set(ERR_NOTFOUND, "references: no name there");
	if ((r = render_name_at(&rc, manifest_get(rm->m, fi), t, tl, line, k, &off, &len)))
		return r;
	*name = xstrndup((const char *)t + off, len);
	return 0;
}

int room_render_definitions(struct room *rm, const struct render_ctx *c, const char *name,
			    const struct xref_loc *locs, size_t n, struct buf *out)
{
	struct render_ctx rc = *c;
	struct render_place *pl = xcalloc(n ? n : 1, sizeof(*pl));
	int r;
	if ((r = room_index_wait(rm)))
		goto out;
	room_render_ctx(rm, &rc);
	for (size_t i = 0; i < n; i++) {
		if (locs[i].file >= manifest_count(rm->m)) {
			r = err_set(ERR_NOTFOUND, "no such file");
			goto out;
		}
		pl[i].e = manifest_get(rm->m, locs[i].file);
		pl[i].text = index_text(rm->ix, locs[i].file, &pl[i].len);
		pl[i].line = locs[i].line;
		pl[i].kind = xref_kind_name(locs[i].kind);
		pl[i].body = locs[i].body;
	}
	r = render_definitions_html(&rc, name, strlen(name), pl, n, out);
out:
	free(pl);
	return r;
}

void room_render_ctx(struct room *rm, struct render_ctx *c)
{
	int ready = rm && room_index_ready(rm);
	c->ix = ready ? rm->ix : NULL;
	c->syms = ready ? rm->syms : NULL;
	c->xr = ready ? rm->xr : NULL;
	c->hl = rm ? rm->hd : NULL;
	c->im = rm ? rm->im : NULL;
	c->pd = rm ? rm->pd : NULL;
}

/*
 * File fi's text as a reader is shown it: the index's when loaded (borrowed, *p into it),
 * else decrypted into scratch (which the caller wipes). A file in UTF-16 with a byte order
 * mark is its UTF-8 transcoding, as a search reads it (index_read_text), so that the lines a
 * search found are the lines the view, the diff and the print show. A symbolic link or an
 * empty file has no bytes.
 */
static int file_text(struct room *rm, size_t fi, struct buf *scratch, const unsigned char **p, size_t *len)
{
	const struct manifest_entry *e = manifest_get(rm->m, fi);
	int r;
	*p = NULL;
	*len = 0;
	if (room_index_ready(rm)) {
		*p = index_read_text(rm->ix, fi, len);
		return 0;
	}
	if (e->mode == 0120000 || !e->size)
		return 0;
	if ((r = vault_get(rm->v, e->sha256, scratch)))
		return r;
	if (scratch->len <= INDEX_UTF16_MAX && utf16_bom(scratch->p, scratch->len)) {
		struct buf u;
		buf_init(&u, INDEX_UTF16_MAX / 2 * 3 + 8);
		/* as the index does it: a file that does not transcode is shown as it is stored */
		if (buf_add_utf16(&u, scratch->p, scratch->len)) {
			if (u.cap)
				sodium_memzero(u.p, u.cap);
			buf_release(&u);
		} else {
			if (scratch->cap)
				sodium_memzero(scratch->p, scratch->cap);
			buf_release(scratch);
			*scratch = u;
		}
	}
	*p = (const unsigned char *)scratch->p;
	*len = scratch->len;
	return 0;
}

static void wipe(struct buf *b)
{
	if (b->p && b->cap)
		sodium_memzero(b->p, b->cap);
	buf_release(b);
}

int room_render_file(struct room *rm, const struct render_ctx *c, size_t fi, uint64_t from, struct buf *out,
		     uint64_t *shown_to, uint64_t *n_lines, struct render_kind *kind)
{
	struct render_ctx rc = *c;
	struct buf text;
	const unsigned char *p;
	size_t len;
	int r;
	if (fi >= manifest_count(rm->m))
		return err_set(ERR_NOTFOUND, "no such file");
	buf_init(&text, VAULT_OBJECT_MAX);
	room_render_ctx(rm, &rc);
	if (!(r = file_text(rm, fi, &text, &p, &len)))
		r = render_file_text(&rc, manifest_get(rm->m, fi), p, len, from, out, shown_to, n_lines, kind);
	wipe(&text);
	return r;
}

int room_render_diff(struct room *old, struct room *rm, const struct render_ctx *c, const char *base_version,
		     unsigned context, const struct manifest_entry *old_e, const struct manifest_entry *new_e,
		     struct buf *out)
{
	struct render_ctx rc = *c;
	struct buf ot, nt;
	const unsigned char *op = NULL, *np = NULL;
	size_t oi = 0, ni = 0, ol = 0, nl = 0;
	int r = 0;
	if ((!old_e && !new_e) || (old_e && (room_find(old, old_e->path, &oi) || manifest_get(old->m, oi) != old_e)) ||
	    (new_e && (room_find(rm, new_e->path, &ni) || manifest_get(rm->m, ni) != new_e)))
		return err_set(ERR_NOTFOUND, "no such file");
	buf_init(&ot, VAULT_OBJECT_MAX);
	buf_init(&nt, VAULT_OBJECT_MAX);
	room_render_ctx(rm, &rc);
	rc.hl_base = old->hd; /* the older release's own worker: no release's text in another's */
	if ((old_e && (r = file_text(old, oi, &ot, &op, &ol))) || (new_e && (r = file_text(rm, ni, &nt, &np, &nl))))
		goto out;
	r = render_diff(&rc, base_version, context, old_e, op, ol, new_e, np, nl, out);
out:
	wipe(&ot);
	wipe(&nt);
	return r;
}

int room_render_print(struct room *rm, const struct render_ctx *c, size_t fi, uint64_t from, uint64_t to,
		      struct buf *pdf, struct print_info *info)
{
	struct buf text;
	const unsigned char *p;
	size_t len;
	int r;
	if (fi >= manifest_count(rm->m))
		return err_set(ERR_NOTFOUND, "no such file");
	buf_init(&text, VAULT_OBJECT_MAX);
	if (!(r = file_text(rm, fi, &text, &p, &len)))
		r = render_print(c, manifest_get(rm->m, fi), p, len, from, to, pdf, info);
	wipe(&text);
	return r;
}

int room_locate_finding(struct room *rm, const char *path, uint64_t from, uint64_t to, char blob[65])
{
	const struct manifest_entry *e = manifest_find(rm->m, path, strlen(path));
	struct buf text;
	const unsigned char *p = NULL;
	size_t len = 0, fi;
	int r;
	if (!e || room_find(rm, path, &fi))
		return findings_locate(rm->m, path, from, to, NULL, 0, blob);
	buf_init(&text, VAULT_OBJECT_MAX);
	if (!(r = file_text(rm, fi, &text, &p, &len)))
		r = findings_locate(rm->m, path, from, to, p, len, blob);
	wipe(&text);
	return r;
}

struct fix_ctx {
	struct room *old, *fix;
	int ok;
};

static int fix_one(void *ctx, const struct finding_info *fi)
{
	struct fix_ctx *c = ctx;
	struct buf a, b;
	const unsigned char *pa = NULL, *pb = NULL;
	size_t la = 0, lb = 0, ia, ib;
	int r = 0;
	buf_init(&a, VAULT_OBJECT_MAX);
	buf_init(&b, VAULT_OBJECT_MAX);
	/* both texts when the file is in both releases at that path, and the old one is the
	 * finding's blob */
	if (!room_find(c->old, fi->path, &ia) && !room_find(c->fix, fi->path, &ib)) {
		char blob[65];
		hex_encode(blob, manifest_get(c->old->m, ia)->sha256, 32);
		if (!strcmp(blob, fi->blob) && ((r = file_text(c->old, ia, &a, &pa, &la)) ||
						(r = file_text(c->fix, ib, &b, &pb, &lb))))
			goto out;
	}
	if (!(r = findings_fix_check(fi, c->fix->m, pa, la, pb, lb)))
		c->ok = 1;
out:
	wipe(&a);
	wipe(&b);
	return r;
}

int room_fix_check(struct facility *f, const struct session_info *who, int64_t id, struct room *old,
		   struct room *fix, int *ok)
{
	struct fix_ctx c = {old, fix, 0};
	int r = findings_get(f, who, id, fix_one, &c);
	*ok = c.ok;
	return r;
}

/* git's count of lines: each '\n', and a last line without one. */
static uint64_t count_lines(const unsigned char *p, size_t len)
{
	uint64_t n = 0;
	for (size_t i = 0; i < len; i++)
		n += p[i] == '\n';
	return n + (len && p[len - 1] != '\n');
}

/* The reader of diff_trees' renames: a file of the old room (side 0) or the new one. */
struct tree_reader {
	struct room *rm[2];
	struct buf scratch;
};

static int tree_read(void *ctx, int side, const struct manifest_entry *e, const unsigned char **p, size_t *len)
{
	struct tree_reader *t = ctx;
	struct room *rm = t->rm[side ? 1 : 0];
	wipe(&t->scratch);
	buf_init(&t->scratch, VAULT_OBJECT_MAX);
	return file_text(rm, (size_t)(e - manifest_get(rm->m, 0)), &t->scratch, p, len);
}

int room_diff_trees(struct room *old, struct room *new_rm, struct diff_change **out, size_t *n)
{
	struct tree_reader t = {{old, new_rm}, {0}};
	struct diff_renames rn = {DIFF_RENAME_SCORE, tree_read, &t};
	int r;
	buf_init(&t.scratch, VAULT_OBJECT_MAX);
	r = diff_trees(old->m, new_rm->m, &rn, out, n);
	wipe(&t.scratch);
	return r;
}

int room_changes(struct room *old, struct room *new_rm, struct report_changes *out)
{
	struct diff_change *ch = NULL;
	size_t n = 0;
	int r;
	if ((r = room_diff_trees(old, new_rm, &ch, &n)))
		return r;
	for (size_t i = 0; i < n && !r; i++) {
		const struct manifest_entry *oe = ch[i].old, *ne = ch[i].new;
		struct buf a, b;
		const unsigned char *pa = NULL, *pb = NULL;
		size_t la = 0, lb = 0;
		struct diff *d = NULL;
		if (ch[i].status != DIFF_ADDED && ch[i].status != DIFF_MODIFIED && ch[i].status != DIFF_RENAMED)
			continue;
		if (ch[i].status != DIFF_ADDED && !memcmp(oe->sha256, ne->sha256, 32))
			continue; /* a change of mode alone, or an exact rename */
		buf_init(&a, VAULT_OBJECT_MAX);
		buf_init(&b, VAULT_OBJECT_MAX);
		r = file_text(new_rm, (size_t)(ne - manifest_get(new_rm->m, 0)), &b, &pb, &lb);
		if (!r && oe)
			r = file_text(old, (size_t)(oe - manifest_get(old->m, 0)), &a, &pa, &la);
		if (r || diff_is_binary(pb, lb) || (oe && diff_is_binary(pa, la)))
			goto next;
		if (!oe) {
			if (count_lines(pb, lb))
				r = report_changes_add(out, ne->path, 1, count_lines(pb, lb));
		} else if ((r = diff_lines((const char *)pa, la, (const char *)pb, lb, 0, 0, &d)) == ERR_TOOBIG) {
			r = count_lines(pb, lb) ? report_changes_add(out, ne->path, 1, count_lines(pb, lb)) : 0;
		} else if (!r) {
			for (size_t h = 0; h < diff_n_hunks(d) && !r; h++) {
				const struct diff_hunk *hk = diff_hunk(d, h);
				if (hk->new_count)
					r = report_changes_add(out, ne->path, hk->new_start, (uint64_t)hk->new_start + hk->new_count - 1);
			}
			diff_free(d);
		}
	next:
		wipe(&a);
		wipe(&b);
	}
	free(ch);
	return r;
}

struct carry_ctx {
	struct room *old, *new_rm;
	struct diff_change *ch; /* the tree diff, renames paired (room_diff_trees) */
	size_t n_ch;
	int (*fn)(void *ctx, const struct finding_info *fi, const struct findings_carry *c);
	void *ctx;
};

static int carry_one(void *ctx, const struct finding_info *fi)
{
	struct carry_ctx *c = ctx;
	const struct manifest_entry *ne;
	struct findings_carry fc;
	struct buf a, b;
	const unsigned char *pa = NULL, *pb = NULL;
	size_t la = 0, lb = 0, ia, ib;
	char blob[65];
	int r = 0;
	if (strcmp(fi->state, "open") && strcmp(fi->state, "acknowledged"))
		return 0;
	buf_init(&a, VAULT_OBJECT_MAX);
	buf_init(&b, VAULT_OBJECT_MAX);
	ne = findings_carry_file(fi, c->new_rm->m, c->ch, c->n_ch);
	if (ne) {
		hex_encode(blob, ne->sha256, 32);
		/* the texts only when the blob changed; the old one must be the finding's */
		if (strcmp(blob, fi->blob) && !room_find(c->old, fi->path, &ia)) {
			char ob[65];
			hex_encode(ob, manifest_get(c->old->m, ia)->sha256, 32);
			ib = (size_t)(ne - manifest_get(c->new_rm->m, 0));
			if (!strcmp(ob, fi->blob) &&
			    ((r = file_text(c->old, ia, &a, &pa, &la)) || (r = file_text(c->new_rm, ib, &b, &pb, &lb))))
				goto out;
		}
	}
	if ((r = findings_carry(fi, ne, pa, la, pb, lb, &fc)) == ERR_TOOBIG || r == ERR_USAGE) {
		/* too large to compare, or no text to follow: the file is there, its lines unknown */
		memset(&fc, 0, sizeof(fc));
		fc.status = FINDINGS_CHANGED;
		fc.path = ne ? ne->path : NULL;
		r = 0;
	}
	if (!r)
		r = c->fn(c->ctx, fi, &fc);
out:
	wipe(&a);
	wipe(&b);
	return r;
}

int room_carry_findings(struct facility *f, const struct session_info *who, struct room *old, struct room *new_rm,
			int (*fn)(void *ctx, const struct finding_info *fi, const struct findings_carry *c), void *ctx)
{
	struct carry_ctx c = {old, new_rm, NULL, 0, fn, ctx};
	int r = room_diff_trees(old, new_rm, &c.ch, &c.n_ch);
	if (!r)
		r = findings_each(f, who, old->product, old->version, NULL, carry_one, &c);
	free(c.ch);
	return r;
}

int room_notes_code(struct rooms *rs, struct room *rm, struct notes_code *out)
{
	int r;
	if ((r = room_index_wait(rm)))
		return r;
	pthread_mutex_lock(&rs->lock);
	if (!rm->sh && !rm->notes_by_index) {
		struct shingles *sh = NULL;
		size_t total = 0;
		for (size_t i = 0; i < manifest_count(rm->m); i++) {
			size_t len = 0;
			if (index_read_text(rm->ix, i, &len) && __builtin_add_overflow(total, len, &total))
				total = SIZE_MAX;
		}
		if (total > NOTES_SHINGLES_TEXT_MAX)
			rm->notes_by_index = 1;
		else if (!(r = shingles_new(&sh))) {
			for (size_t i = 0; i < manifest_count(rm->m) && !r; i++) {
				size_t len = 0;
				const unsigned char *t = index_read_text(rm->ix, i, &len);
				if (t && len)
					r = shingles_add(sh, (const char *)t, len);
			}
		}
		if (r == ERR_TOOBIG) { /* more shingles than the table holds */
			rm->notes_by_index = 1;
			r = 0;
		}
		if (r || rm->notes_by_index)
			shingles_free(sh);
		else
			rm->sh = sh;
	}
	out->sh = rm->sh;
	out->ix = rm->ix;
	out->scan_max = NOTES_SCAN_MAX;
	pthread_mutex_unlock(&rs->lock);
	return r;
}

int rooms_unlocked(struct rooms *rs, const char *product, const char *version, int64_t now)
{
	struct vault_key *k = NULL;
	int held = keyring_get(rs->keys, product, version, now, &k) == 0;
	vault_key_free(k);
	return held;
}
