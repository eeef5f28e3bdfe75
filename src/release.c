/* release: seal, verify and list releases (see release.h for the invariants). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "audit.h"
#include "db.h"
#include "gitobj.h"
#include "hash.h"
#include "index.h"
#include "logdb.h"
#include "manifest.h"
#include "release.h"
#include "vault.h"
#include "xref.h"

#define SEAL_TEXT_MAX 4096
#define MANIFEST_MAX ((size_t)1 << 30)

int release_name_check(const char *what, const char *s, int allow_at)
{
	size_t n = strlen(s);
	if (!n || n > RELEASE_NAME_MAX)
		return err_set(ERR_USAGE, "%s '%s' must be 1 to %d bytes", what, s, RELEASE_NAME_MAX);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= 0x20 || c >= 0x7f || c == '/' || c == '\\' || (c == '@' && !allow_at))
			return err_set(ERR_USAGE,
				       "%s '%s' may hold only printable ASCII without spaces, '/'%s",
				       what, s, allow_at ? "" : " or '@'");
	}
	return 0;
}

int release_parse_ref(const char *ref, char *product, char *version)
{
	const char *at = strchr(ref, '@');
	size_t pl;
	if (!at)
		return err_set(ERR_USAGE, "'%s' is not a release: wanted PRODUCT@VERSION", ref);
	pl = (size_t)(at - ref);
	if (pl == 0 || pl > RELEASE_NAME_MAX || strlen(at + 1) == 0 || strlen(at + 1) > RELEASE_NAME_MAX)
		return err_set(ERR_USAGE, "'%s' is not a release: wanted PRODUCT@VERSION", ref);
	memcpy(product, ref, pl);
	product[pl] = 0;
	memcpy(version, at + 1, strlen(at + 1) + 1);
	return 0;
}

void release_info_release(struct release_info *r)
{
	free(r->vendor_vkey);
	free(r->wrap_pkey);
	free(r->seal_note);
	free(r->wrapped_key);
	memset(r, 0, sizeof(*r));
}

int release_seal_text(const struct release_info *r, struct buf *out)
{
	return buf_addf(out,
			"sealroom/seal/v1\nproduct %s\nversion %s\ntree-sha256 %s\ntree-sha1 %s\n"
			"files %" PRIu64 "\nbytes %" PRIu64 "\ntime %" PRId64 "\nwrap-key %s\n"
			"wrapped-key-sha256 %s\n",
			r->product, r->version, r->tree_sha256, r->tree_sha1, r->files, r->bytes,
			r->sealed_at, r->wrap_pkey ? r->wrap_pkey : "", r->wrapped_sha256);
}

static int is_hex(const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
			return 0;
	return 1;
}

/*
 * Parse a seal's text into out's fields: exactly the documented lines in order, each
 * value well formed; then the text must be the canonical rendering of those fields (no
 * leading zeros, no extra spaces).
 */
static int parse_seal_text(struct str text, struct release_info *out)
{
	static const char *const keys[] = {"product", "version", "tree-sha256", "tree-sha1", "files",
					   "bytes", "time", "wrap-key", "wrapped-key-sha256"};
	static const char head[] = "sealroom/seal/v1\n";
	const char *p = text.p, *end = text.p + text.len;
	struct buf canon;
	unsigned char pk[32];
	int r = 0;
	memset(out, 0, sizeof(*out));
	if (text.len > SEAL_TEXT_MAX || text.len < sizeof(head) - 1 || memcmp(p, head, sizeof(head) - 1))
		return err_set(ERR_CORRUPT, "the seal is not a sealroom/seal/v1 text");
	p += sizeof(head) - 1;
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *v;
		size_t kl = strlen(keys[k]), vl;
		char val[SEAL_TEXT_MAX];
		if (!nl || (size_t)(nl - p) <= kl + 1 || memcmp(p, keys[k], kl) || p[kl] != ' ')
			return err_set(ERR_CORRUPT, "the seal has no '%s' line where one belongs", keys[k]);
		v = p + kl + 1;
		vl = (size_t)(nl - v);
		memcpy(val, v, vl);
		val[vl] = 0;
		switch (k) {
		case 0:
		case 1:
			if (vl > RELEASE_NAME_MAX || release_name_check(keys[k], val, k == 1))
				return err_set(ERR_CORRUPT, "the seal's %s is not a valid name", keys[k]);
			memcpy(k ? out->version : out->product, val, vl + 1);
			break;
		case 2:
		case 3:
			if (vl != (k == 2 ? 64u : 40u) || !is_hex(val, vl))
				return err_set(ERR_CORRUPT, "the seal's %s is not a hex id", keys[k]);
			memcpy(k == 2 ? out->tree_sha256 : out->tree_sha1, val, vl + 1);
			break;
		case 4:
		case 5:
		case 6: {
			char *e;
			unsigned long long n;
			errno = 0;
			n = strtoull(val, &e, 10);
			if (*e || errno || vl > 19 || val[0] < '0' || val[0] > '9')
				return err_set(ERR_CORRUPT, "the seal's %s is not a number", keys[k]);
			if (k == 4)
				out->files = n;
			else if (k == 5)
				out->bytes = n;
			else
				out->sealed_at = (int64_t)n;
			break;
		}
		case 7:
			if (note_wrap_public_parse(val, vl, pk, NULL))
				return err_set(ERR_CORRUPT, "the seal's wrap-key: %s", err_msg());
			out->wrap_pkey = xstrdup(val);
			break;
		case 8:
			if (vl != 64 || !is_hex(val, vl)) {
				release_info_release(out);
				return err_set(ERR_CORRUPT, "the seal's wrapped-key-sha256 is not a hex hash");
			}
			memcpy(out->wrapped_sha256, val, 65);
			break;
		}
		p = nl + 1;
	}
	buf_init(&canon, SEAL_TEXT_MAX);
	if ((r = release_seal_text(out, &canon)) || canon.len != text.len || memcmp(canon.p, text.p, text.len))
		r = err_set(ERR_CORRUPT, "the seal's text is not in its canonical form");
	buf_release(&canon);
	if (r)
		release_info_release(out);
	return r;
}

static void wrapped_hash(const void *w, size_t len, char hex[65])
{
	unsigned char h[SHA256_LEN];
	sha256(w, len, h);
	hex_encode(hex, h, sizeof(h));
}

int release_seal_open(const struct release_info *row, struct release_info *sealed)
{
	struct note_verifier *nv = NULL;
	struct str text;
	int r;
	memset(sealed, 0, sizeof(*sealed));
	if ((r = note_verifier_parse(row->vendor_vkey, strlen(row->vendor_vkey), &nv)) ||
	    (r = note_open(row->seal_note, strlen(row->seal_note), nv, &text))) {
		r = err_set(ERR_AUTH, "the seal of '%s@%s' does not verify: %s", row->product, row->version,
			    err_msg());
		goto out;
	}
	if ((r = parse_seal_text(text, sealed))) {
		err_set(r, "the seal of '%s@%s': %s", row->product, row->version, err_msg());
		goto out;
	}
	if (strcmp(sealed->product, row->product) || strcmp(sealed->version, row->version)) {
		r = err_set(ERR_AUTH, "the catalogue's '%s@%s' carries the seal of '%s@%s'", row->product,
			    row->version, sealed->product, sealed->version);
		goto out;
	}
	if (row->wrapped_key) {
		char h[65];
		wrapped_hash(row->wrapped_key, row->wrapped_len, h);
		if (strcmp(h, sealed->wrapped_sha256)) {
			r = err_set(ERR_AUTH, "'%s@%s': the wrapped key is not the one its seal names",
				    row->product, row->version);
			goto out;
		}
	}
	sealed->vendor_vkey = xstrdup(row->vendor_vkey);
	snprintf(sealed->vault_dir, sizeof(sealed->vault_dir), "%s", row->vault_dir);
	snprintf(sealed->state, sizeof(sealed->state), "%s", row->state);
out:
	if (r)
		release_info_release(sealed);
	note_verifier_free(nv);
	return r;
}

int release_unwrap(const struct release_info *row, const struct note_wrapper *wrap, struct vault_key **out)
{
	struct release_info sealed;
	struct buf pk;
	int r;
	*out = NULL;
	if (!row->wrapped_key)
		return err_set(ERR_DENIED, "'%s@%s' has been shredded; it can never be opened", row->product,
			       row->version);
	if ((r = release_seal_open(row, &sealed)))
		return r;
	buf_init(&pk, 4096);
	if (!(r = note_wrapper_pkey(wrap, &pk)) && strcmp(pk.p, sealed.wrap_pkey))
		r = err_set(ERR_AUTH, "'%s@%s' was sealed for wrapping key '%s', not the one given",
			    row->product, row->version, sealed.wrap_pkey);
	if (!r)
		r = vault_key_unwrap(row->wrapped_key, row->wrapped_len, note_wrapper_public(wrap),
				     note_wrapper_secret(wrap), out);
	buf_release(&pk);
	release_info_release(&sealed);
	return r;
}

int release_open_key(struct facility *f, const struct release_info *row, const struct vault_key *key,
		     struct vault **vout, struct manifest **mout, struct release_info *sealed_out)
{
	struct release_info sealed;
	struct vault *v = NULL;
	struct manifest *m = NULL;
	struct buf mb;
	unsigned char id1[SHA1_LEN], id256[SHA256_LEN];
	char h1[41], h256[65], *dir = NULL;
	int r;
	*vout = NULL;
	*mout = NULL;
	if ((r = release_seal_open(row, &sealed)))
		return r;
	{
		/* and it is the seal the log holds: a seal and key swapped in the row are not */
		char ref[2 * RELEASE_NAME_MAX + 2];
		snprintf(ref, sizeof(ref), "%s@%s", row->product, row->version);
		if ((r = audit_live_seal(f, ref, row->seal_note))) {
			release_info_release(&sealed);
			return r;
		}
	}
	buf_init(&mb, MANIFEST_MAX);
	if ((r = release_vault_dir(f, row, &dir)) || (r = vault_open(dir, key, &v)) ||
	    (r = vault_get_meta(v, "manifest", &mb)) || (r = manifest_decode(mb.p, mb.len, &m)) ||
	    (r = manifest_tree_ids(m, id1, id256)))
		goto out;
	hex_encode(h1, id1, sizeof(id1));
	hex_encode(h256, id256, sizeof(id256));
	if (strcmp(h256, sealed.tree_sha256) || strcmp(h1, sealed.tree_sha1)) {
		r = err_set(ERR_CORRUPT, "'%s@%s': the vault's tree is %s, the seal says %s", row->product,
			    row->version, h256, sealed.tree_sha256);
		goto out;
	}
	if (manifest_count(m) != sealed.files || manifest_bytes(m) != sealed.bytes) {
		r = err_set(ERR_CORRUPT, "'%s@%s': the vault holds %zu files, the seal says %" PRIu64,
			    row->product, row->version, manifest_count(m), sealed.files);
		goto out;
	}
	*vout = v;
	*mout = m;
	v = NULL;
	m = NULL;
	if (sealed_out) {
		*sealed_out = sealed;
		memset(&sealed, 0, sizeof(sealed));
	}
out:
	release_info_release(&sealed);
	manifest_free(m);
	vault_close(v);
	if (mb.p && mb.cap)
		sodium_memzero(mb.p, mb.cap);
	buf_release(&mb);
	free(dir);
	return r;
}

int release_json(const struct release_info *r, struct buf *out)
{
	return buf_addf(out,
			"{\"release\":\"%s@%s\",\"tree_sha256\":\"%s\",\"tree_sha1\":\"%s\","
			"\"files\":%" PRIu64 ",\"bytes\":%" PRIu64 "}",
			r->product, r->version, r->tree_sha256, r->tree_sha1, r->files, r->bytes);
}

static void copy_col(char *dst, size_t cap, sqlite3_stmt *st, int col)
{
	const char *s = (const char *)sqlite3_column_text(st, col);
	snprintf(dst, cap, "%s", s ? s : "");
}

static char *dup_col(sqlite3_stmt *st, int col)
{
	const char *s = (const char *)sqlite3_column_text(st, col);
	return xstrdup(s ? s : "");
}

#define RELEASE_COLS                                                                       \
	"product, version, vault_dir, tree_sha256, tree_sha1, files, bytes, vendor_vkey, " \
	"wrapped_key, seal_note, sealed_at, state"

static void row_to_info(sqlite3_stmt *st, struct release_info *r)
{
	const void *w;
	int wl;
	memset(r, 0, sizeof(*r));
	copy_col(r->product, sizeof(r->product), st, 0);
	copy_col(r->version, sizeof(r->version), st, 1);
	copy_col(r->vault_dir, sizeof(r->vault_dir), st, 2);
	copy_col(r->tree_sha256, sizeof(r->tree_sha256), st, 3);
	copy_col(r->tree_sha1, sizeof(r->tree_sha1), st, 4);
	r->files = (uint64_t)sqlite3_column_int64(st, 5);
	r->bytes = (uint64_t)sqlite3_column_int64(st, 6);
	r->vendor_vkey = dup_col(st, 7);
	w = sqlite3_column_blob(st, 8);
	wl = sqlite3_column_bytes(st, 8);
	if (w && wl > 0) {
		r->wrapped_key = xmalloc((size_t)wl);
		memcpy(r->wrapped_key, w, (size_t)wl);
		r->wrapped_len = (size_t)wl;
	}
	r->seal_note = dup_col(st, 9);
	r->sealed_at = sqlite3_column_int64(st, 10);
	copy_col(r->state, sizeof(r->state), st, 11);
}

int release_get(struct facility *f, const char *product, const char *version, struct release_info *out)
{
	sqlite3_stmt *st;
	int r = db_prepare(facility_db(f),
			   "SELECT " RELEASE_COLS " FROM releases WHERE product = ? AND version = ?", &st);
	if (r)
		return r;
	sqlite3_bind_text(st, 1, product, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, version, -1, SQLITE_STATIC);
	switch (sqlite3_step(st)) {
	case SQLITE_ROW:
		row_to_info(st, out);
		break;
	case SQLITE_DONE:
		r = err_set(ERR_NOTFOUND, "no release '%s@%s'", product, version);
		break;
	default:
		r = db_fail(facility_db(f), "cannot read releases");
	}
	sqlite3_finalize(st);
	return r;
}

int release_vault_dir(struct facility *f, const struct release_info *r, char **out)
{
	struct buf d;
	*out = NULL;
	if (strchr(r->vault_dir, '/') || r->vault_dir[0] == '.' || !r->vault_dir[0])
		return err_set(ERR_CORRUPT, "catalogue names a bad vault folder '%s'", r->vault_dir);
	buf_init(&d, 0);
	if (buf_addf(&d, "%s/vault/%s", facility_dir(f), r->vault_dir))
		BUG("path");
	*out = buf_detach(&d, NULL);
	return 0;
}

int release_check_vendor(const struct release_info *r, const struct note_signer *vendor)
{
	struct buf vk;
	int e;
	buf_init(&vk, 4096);
	e = note_signer_vkey(vendor, &vk);
	if (!e && strcmp(vk.p, r->vendor_vkey))
		e = err_set(ERR_AUTH, "'%s@%s' was sealed by vendor key '%s', not by the key given",
			    r->product, r->version, r->vendor_vkey);
	buf_release(&vk);
	return e;
}

int release_each(struct facility *f, int (*fn)(void *ctx, const struct release_info *r), void *ctx)
{
	sqlite3_stmt *st;
	int r = db_prepare(facility_db(f), "SELECT " RELEASE_COLS " FROM releases ORDER BY id", &st), s;
	if (r)
		return r;
	while (!r && (s = sqlite3_step(st)) == SQLITE_ROW) {
		struct release_info info;
		row_to_info(st, &info);
		r = fn(ctx, &info);
		release_info_release(&info);
	}
	if (!r && s != SQLITE_DONE)
		r = db_fail(facility_db(f), "cannot read releases");
	sqlite3_finalize(st);
	return r;
}

/* What the seal's ingest callbacks share: the vault, the index and xref builders. */
struct seal_ctx {
	struct vault_writer *w;
	struct index_builder *ib;
	struct xref_builder *xb;
	time_t last_draw;
};

/*
 * The progress bar on stderr (only when it is a terminal): ingest calls this from its
 * workers now and then, under its own lock, with the totals when the source was walked.
 */
static void seal_progress(void *ctx, uint64_t files, uint64_t bytes, uint64_t total_files,
			  uint64_t total_bytes)
{
	struct seal_ctx *s = ctx;
	time_t now = time(NULL);
	if (now == s->last_draw && (!total_files || files < total_files))
		return;
	s->last_draw = now;
	if (total_files) {
		char bar[31];
		uint64_t fill = files >= total_files ? 30 : files * 30 / total_files;
		for (int i = 0; i < 30; i++)
			bar[i] = (uint64_t)i < fill ? '#' : '.';
		bar[30] = 0;
		fprintf(stderr, "\rsealing [%s] %3u%%  %" PRIu64 "/%" PRIu64 " files, %.1f MB", bar,
			(unsigned)(files >= total_files ? 100 : files * 100 / total_files), files,
			total_files, (double)bytes / 1e6);
	} else {
		fprintf(stderr, "\rsealing: %" PRIu64 " files, %.1f MB", files, (double)bytes / 1e6);
	}
	(void)total_bytes;
}

static int seal_blob(void *ctx, const struct manifest_entry *e, const void *data, size_t len)
{
	struct seal_ctx *s = ctx;
	int r = vault_put(s->w, e->sha256, data, len);
	if (r || (r = index_builder_add(s->ib, e, data, len)) ||
	    (r = xref_builder_add(s->xb, e, data, len)))
		return r;
	return 0;
}

/* Refuse a vendor key other than the one that sealed earlier releases of the product. */
static int check_vendor(struct facility *f, const char *product, const char *vkey)
{
	sqlite3_stmt *st;
	int r = db_prepare(facility_db(f), "SELECT vendor_vkey FROM releases WHERE product = ? LIMIT 1", &st);
	if (r)
		return r;
	sqlite3_bind_text(st, 1, product, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		const char *have = (const char *)sqlite3_column_text(st, 0);
		if (have && strcmp(have, vkey))
			r = err_set(ERR_AUTH, "product '%s' is sealed by vendor key '%s', not this one",
				    product, have);
	}
	sqlite3_finalize(st);
	return r;
}

static int exists(struct facility *f, const char *product, const char *version)
{
	struct release_info tmp;
	int r = release_get(f, product, version, &tmp);
	if (r == 0) {
		release_info_release(&tmp);
		return err_set(ERR_EXISTS, "release '%s@%s' is already sealed", product, version);
	}
	return r == ERR_NOTFOUND ? 0 : r;
}

static int log_seal(struct facility *f, const struct release_info *info, const char *actor)
{
	struct logdb *l = NULL;
	unsigned char h[SHA256_LEN];
	char hex[65], rel[2 * RELEASE_NAME_MAX + 2];
	json_t *e;
	int r = logdb_open(f, &l);
	if (r)
		return r;
	sha256(info->seal_note, strlen(info->seal_note), h);
	hex_encode(hex, h, sizeof(h));
	snprintf(rel, sizeof(rel), "%s@%s", info->product, info->version);
	e = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I}", "type", "seal", "actor", actor,
		      "release", rel, "tree_sha256", info->tree_sha256, "tree_sha1",
		      info->tree_sha1, "seal_hash", hex, "files", (json_int_t)info->files, "bytes",
		      (json_int_t)info->bytes);
	if (!e)
		BUG("json_pack");
	r = logdb_append(l, e, NULL);
	json_decref(e);
	logdb_free(l);
	return r;
}

static int insert_release(struct facility *f, const struct release_info *info)
{
	sqlite3 *db = facility_db(f);
	sqlite3_stmt *st;
	int r = db_prepare(db,
			   "INSERT INTO releases (product, version, vault_dir, tree_sha256, tree_sha1, "
			   "files, bytes, vendor_vkey, wrapped_key, seal_note, sealed_at) "
			   "VALUES (?,?,?,?,?,?,?,?,?,?,?)",
			   &st);
	if (r)
		return r;
	sqlite3_bind_text(st, 1, info->product, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, info->version, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, info->vault_dir, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, info->tree_sha256, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, info->tree_sha1, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, (sqlite3_int64)info->files);
	sqlite3_bind_int64(st, 7, (sqlite3_int64)info->bytes);
	sqlite3_bind_text(st, 8, info->vendor_vkey, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 9, info->wrapped_key, (int)info->wrapped_len, SQLITE_STATIC);
	sqlite3_bind_text(st, 10, info->seal_note, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 11, info->sealed_at);
	if (sqlite3_step(st) != SQLITE_DONE)
		r = sqlite3_errcode(db) == SQLITE_CONSTRAINT
			    ? err_set(ERR_EXISTS, "release '%s@%s' is already sealed", info->product, info->version)
			    : db_fail(db, "cannot record the release");
	sqlite3_finalize(st);
	return r;
}

/*
 * The pipeline into a vault under vault_root, committed as name (a fresh r-<random> when
 * name is NULL, written to out->vault_dir): ingest, vault, index, xref, the signed seal
 * binding the wrapped key. Fills out; the caller logs and catalogues.
 */
static int seal_build(const char *vault_root, const char *name, const char *source,
		      const struct seal_opts *o, struct release_info *out)
{
	struct seal_ctx sc = {0};
	struct ingest_opts io;
	struct vault_key *key = NULL;
	struct manifest *m = NULL;
	struct buf vkey, text, note, mbuf, wrapped;
	unsigned char id1[SHA1_LEN], id256[SHA256_LEN], rnd[12], wpk[32];
	int r;

	memset(out, 0, sizeof(*out));
	buf_init(&vkey, 4096);
	buf_init(&text, SEAL_TEXT_MAX);
	buf_init(&note, SEAL_TEXT_MAX * 2);
	buf_init(&mbuf, MANIFEST_MAX);
	buf_init(&wrapped, 4096);
	if (!o->wrap_pkey) {
		r = err_set(ERR_USAGE, "sealing needs the vendor's wrapping key (KEY.wrap.pub)");
		goto out;
	}
	if ((r = note_wrap_public_parse(o->wrap_pkey, strlen(o->wrap_pkey), wpk, NULL)) ||
	    (r = note_signer_vkey(o->vendor, &vkey)))
		goto out;
	if ((r = vault_sweep(vault_root)) || (r = vault_key_new(&key)) || (r = index_builder_new(&sc.ib)) ||
	    (r = xref_builder_new(&sc.xb)) ||
	    (r = vault_writer_new(vault_root, key, &(struct vault_writer_opts){.zstd_level = o->zstd_level}, &sc.w)))
		goto out;
	io = o->ingest;
	if (o->progress) {
		io.progress = seal_progress;
		io.progress_ctx = &sc;
	}
	r = ingest_source(source, &io, seal_blob, &sc, &m);
	if (o->progress)
		fputc('\n', stderr);
	if (r)
		goto out;
	if ((r = manifest_tree_ids(m, id1, id256)) || (r = manifest_encode(m, &mbuf)) ||
	    (r = vault_put_meta(sc.w, "manifest", mbuf.p, mbuf.len)))
		goto out;
	/* the search index: built from every blob above, stored under the same key */
	buf_reset(&mbuf);
	if ((r = index_builder_finish(sc.ib, m, &mbuf)))
		goto out;
	index_builder_free(sc.ib);
	sc.ib = NULL;
	if ((r = vault_put_meta(sc.w, "index", mbuf.p, mbuf.len)))
		goto out;
	/* definitions from the grammars' tags.scm, same key (xref.h) */
	buf_reset(&mbuf);
	if ((r = xref_builder_finish(sc.xb, m, &mbuf)))
		goto out;
	xref_builder_free(sc.xb);
	sc.xb = NULL;
	if ((r = vault_put_meta(sc.w, "xref", mbuf.p, mbuf.len)))
		goto out;

	snprintf(out->product, sizeof(out->product), "%s", o->product);
	snprintf(out->version, sizeof(out->version), "%s", o->version);
	hex_encode(out->tree_sha256, id256, sizeof(id256));
	hex_encode(out->tree_sha1, id1, sizeof(id1));
	out->files = manifest_count(m);
	out->bytes = manifest_bytes(m);
	out->sealed_at = (int64_t)time(NULL);
	snprintf(out->state, sizeof(out->state), "sealed");
	out->wrap_pkey = xstrdup(o->wrap_pkey);
	if ((r = vault_key_wrap(key, wpk, &wrapped)))
		goto out;
	wrapped_hash(wrapped.p, wrapped.len, out->wrapped_sha256);
	if ((r = release_seal_text(out, &text)) || (r = note_sign(text.p, text.len, o->vendor, &note)) ||
	    (r = vault_put_meta(sc.w, "seal", note.p, note.len)))
		goto out;
	if (name) {
		snprintf(out->vault_dir, sizeof(out->vault_dir), "%s", name);
	} else {
		randombytes_buf(rnd, sizeof(rnd));
		memcpy(out->vault_dir, "r-", 2);
		hex_encode(out->vault_dir + 2, rnd, sizeof(rnd));
	}
	out->vendor_vkey = buf_detach(&vkey, NULL);
	out->seal_note = buf_detach(&note, NULL);
	out->wrapped_key = (unsigned char *)buf_detach(&wrapped, &out->wrapped_len);
	r = vault_commit(sc.w, out->vault_dir);
	sc.w = NULL;
out:
	if (sc.w)
		vault_writer_abort(sc.w);
	index_builder_free(sc.ib);
	xref_builder_free(sc.xb);
	if (r)
		release_info_release(out);
	vault_key_free(key);
	manifest_free(m);
	buf_release(&vkey);
	buf_release(&text);
	buf_release(&note);
	buf_release(&mbuf);
	buf_release(&wrapped);
	return r;
}

/* Log the seal (durable) and catalogue it; on failure remove the vault folder again. */
static int record(struct facility *f, struct release_info *info, const char *actor)
{
	char *vault_root = facility_path(f, "vault");
	int r = log_seal(f, info, actor);
	if (!r)
		r = insert_release(f, info);
	if (r) {
		int saved = r;
		char msg[1024];
		snprintf(msg, sizeof(msg), "%s", err_msg());
		if (vault_remove(vault_root, info->vault_dir)) {
			/* the leftover folder is not in the catalogue, so no release exists */
		}
		err_set(saved, "%s", msg);
	}
	free(vault_root);
	return r;
}

int release_seal(struct facility *f, const char *source, const struct seal_opts *o,
		 struct release_info *out)
{
	char *vault_root = facility_path(f, "vault");
	struct buf vkey;
	int r;
	memset(out, 0, sizeof(*out));
	buf_init(&vkey, 4096);
	if ((r = release_name_check("product", o->product, 0)) ||
	    (r = release_name_check("version", o->version, 1)) ||
	    (r = note_signer_vkey(o->vendor, &vkey)) || (r = exists(f, o->product, o->version)) ||
	    (r = check_vendor(f, o->product, vkey.p)) || (r = seal_build(vault_root, NULL, source, o, out)))
		goto out;
	/* the log entry is durable before the release exists */
	if ((r = record(f, out, note_signer_name(o->vendor))))
		release_info_release(out);
out:
	buf_release(&vkey);
	free(vault_root);
	return r;
}

#define BUNDLE_FILE_MAX (64 * 1024)

/* The name of a verifier key line (what precedes its first '+'), the seal's actor. */
static const char *vkey_name(const char *vkey, char *out, size_t cap)
{
	const char *plus = strchr(vkey, '+');
	size_t n = plus ? (size_t)(plus - vkey) : strlen(vkey);
	snprintf(out, cap, "%.*s", (int)n, vkey);
	return out;
}

/* Write (p, len) to dir/name, created exclusively, fsync'd. */
static int write_new(const char *dir, const char *name, const void *p, size_t len)
{
	struct buf path;
	int fd, r = 0;
	buf_init(&path, 0);
	if (buf_addf(&path, "%s/%s", dir, name))
		BUG("path");
	fd = open(path.p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		r = err_set(ERR_IO, "cannot create '%s': %s", path.p, strerror(errno));
		goto out;
	}
	for (const char *c = p; len;) {
		ssize_t n = write(fd, c, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = err_set(ERR_IO, "cannot write '%s': %s", path.p, strerror(errno));
			break;
		}
		c += n;
		len -= (size_t)n;
	}
	if (!r && fsync(fd) < 0)
		r = err_set(ERR_IO, "cannot sync '%s': %s", path.p, strerror(errno));
	close(fd);
out:
	buf_release(&path);
	return r;
}

int release_seal_bundle(const char *bundle, const char *source, const struct seal_opts *o,
			struct release_info *out)
{
	struct buf tmp;
	struct stat st;
	unsigned char rnd[6];
	char hex[13];
	int r, made = 0;
	memset(out, 0, sizeof(*out));
	buf_init(&tmp, 0);
	if ((r = release_name_check("product", o->product, 0)) ||
	    (r = release_name_check("version", o->version, 1)))
		goto out;
	if (lstat(bundle, &st) == 0) {
		r = err_set(ERR_EXISTS, "'%s' exists; refusing to overwrite it", bundle);
		goto out;
	}
	randombytes_buf(rnd, sizeof(rnd));
	hex_encode(hex, rnd, sizeof(rnd));
	if (buf_addf(&tmp, "%s.tmp-%s", bundle, hex))
		BUG("path");
	if (mkdir(tmp.p, 0700) < 0) {
		r = err_set(ERR_IO, "cannot create '%s': %s", tmp.p, strerror(errno));
		goto out;
	}
	made = 1;
	if ((r = seal_build(tmp.p, "vault", source, o, out)))
		goto out;
	if ((r = write_new(tmp.p, "seal", out->seal_note, strlen(out->seal_note))) ||
	    (r = write_new(tmp.p, "wrapped", out->wrapped_key, out->wrapped_len)))
		goto out;
	{
		struct buf vk;
		buf_init(&vk, 4096);
		if (!(r = buf_addf(&vk, "%s\n", out->vendor_vkey)))
			r = write_new(tmp.p, "vendor.pub", vk.p, vk.len);
		buf_release(&vk);
		if (r)
			goto out;
	}
	if (renameat2(AT_FDCWD, tmp.p, AT_FDCWD, bundle, RENAME_NOREPLACE) < 0) {
		r = err_set(errno == EEXIST ? ERR_EXISTS : ERR_IO, "cannot rename '%s' to '%s': %s", tmp.p,
			    bundle, strerror(errno));
		goto out;
	}
	made = 0;
out:
	if (made) {
		struct buf cmd;
		/* the half-made bundle: its vault folder (vault_remove) and its few files */
		if (vault_remove(tmp.p, "vault")) {
		}
		buf_init(&cmd, 0);
		for (const char *n = "seal\0wrapped\0vendor.pub\0"; *n; n += strlen(n) + 1) {
			buf_reset(&cmd);
			if (!buf_addf(&cmd, "%s/%s", tmp.p, n))
				unlink(cmd.p);
		}
		buf_release(&cmd);
		rmdir(tmp.p);
	}
	if (r)
		release_info_release(out);
	buf_release(&tmp);
	return r;
}

/* Read BUNDLE/name, a regular file (no symlink) of at most max bytes, into b. */
static int bundle_read(const char *bundle, const char *name, size_t max, struct buf *b)
{
	struct buf path;
	struct stat st;
	int r = 0;
	buf_init(&path, 0);
	if (buf_addf(&path, "%s/%s", bundle, name))
		BUG("path");
	if (lstat(path.p, &st) < 0)
		r = err_set(errno == ENOENT ? ERR_NOTFOUND : ERR_IO, "import: bundle '%s' has no '%s': %s",
			    bundle, name, strerror(errno));
	else if (!S_ISREG(st.st_mode))
		r = err_set(ERR_PARSE, "import: '%s' in bundle '%s' is not a regular file", name, bundle);
	else if ((size_t)st.st_size > max)
		r = err_set(ERR_TOOBIG, "import: '%s' in bundle '%s' is larger than %zu bytes", name, bundle, max);
	if (!r) {
		b->max = max;
		if ((r = buf_read_file(b, path.p)))
			err_set(r, "import: %s", err_msg());
	}
	buf_release(&path);
	return r;
}

int release_import(struct facility *f, const char *bundle, struct release_info *out)
{
	struct buf seal, wrapped, vkey, src;
	struct release_info row = {0}, sealed = {0};
	char *vault_root = facility_path(f, "vault"), actor[256];
	unsigned char rnd[12];
	int r;
	memset(out, 0, sizeof(*out));
	buf_init(&seal, BUNDLE_FILE_MAX);
	buf_init(&wrapped, BUNDLE_FILE_MAX);
	buf_init(&vkey, BUNDLE_FILE_MAX);
	buf_init(&src, 0);
	if ((r = bundle_read(bundle, "seal", BUNDLE_FILE_MAX, &seal)) ||
	    (r = bundle_read(bundle, "wrapped", BUNDLE_FILE_MAX, &wrapped)) ||
	    (r = bundle_read(bundle, "vendor.pub", 4096, &vkey)))
		goto out;
	while (vkey.len && (vkey.p[vkey.len - 1] == '\n' || vkey.p[vkey.len - 1] == '\r'))
		vkey.p[--vkey.len] = 0;
	if (strlen(seal.p) != seal.len) {
		r = err_set(ERR_PARSE, "import: the seal of bundle '%s' holds a NUL byte", bundle);
		goto out;
	}
	/* take product and version from the seal's text, then open it as the catalogue would */
	{
		struct note_verifier *nv = NULL;
		struct str text;
		if ((r = note_verifier_parse(vkey.p, vkey.len, &nv)) ||
		    (r = note_open(seal.p, seal.len, nv, &text))) {
			note_verifier_free(nv);
			r = err_set(ERR_AUTH, "import: the seal of bundle '%s' does not verify: %s", bundle, err_msg());
			goto out;
		}
		note_verifier_free(nv);
		if ((r = parse_seal_text(text, &sealed))) {
			err_set(r, "import: the seal of bundle '%s': %s", bundle, err_msg());
			goto out;
		}
		snprintf(row.product, sizeof(row.product), "%s", sealed.product);
		snprintf(row.version, sizeof(row.version), "%s", sealed.version);
		release_info_release(&sealed);
	}
	row.vendor_vkey = buf_detach(&vkey, NULL);
	row.seal_note = buf_detach(&seal, NULL);
	row.wrapped_key = (unsigned char *)buf_detach(&wrapped, &row.wrapped_len);
	if ((r = release_seal_open(&row, &sealed))) {
		err_set(r, "import: %s", err_msg());
		goto out;
	}
	if ((r = exists(f, row.product, row.version)) || (r = check_vendor(f, row.product, row.vendor_vkey)))
		goto out_sealed;
	randombytes_buf(rnd, sizeof(rnd));
	memcpy(sealed.vault_dir, "r-", 2);
	hex_encode(sealed.vault_dir + 2, rnd, sizeof(rnd));
	if (buf_addf(&src, "%s/vault", bundle))
		BUG("path");
	if ((r = vault_sweep(vault_root)) || (r = vault_import(vault_root, src.p, sealed.vault_dir)))
		goto out_sealed;
	/* the catalogue row: the signed fields, the bundle's note, wrapped key and vendor key */
	sealed.seal_note = row.seal_note;
	sealed.wrapped_key = row.wrapped_key;
	sealed.wrapped_len = row.wrapped_len;
	row.seal_note = NULL;
	row.wrapped_key = NULL;
	snprintf(sealed.state, sizeof(sealed.state), "sealed");
	if ((r = record(f, &sealed, vkey_name(sealed.vendor_vkey, actor, sizeof(actor)))))
		goto out_sealed;
	*out = sealed;
	memset(&sealed, 0, sizeof(sealed));
out_sealed:
	release_info_release(&sealed);
out:
	release_info_release(&row);
	buf_release(&seal);
	buf_release(&wrapped);
	buf_release(&vkey);
	buf_release(&src);
	free(vault_root);
	return r;
}

/* The catalogue row's fields must be the signed ones. */
static int check_row(const struct release_info *row, const struct release_info *sealed)
{
	if (strcmp(row->tree_sha256, sealed->tree_sha256) || strcmp(row->tree_sha1, sealed->tree_sha1) ||
	    row->files != sealed->files || row->bytes != sealed->bytes)
		return err_set(ERR_CORRUPT,
			       "seal of '%s@%s' does not match the catalogue (product, version, ids or counts differ)",
			       row->product, row->version);
	if (row->sealed_at != sealed->sealed_at)
		return err_set(ERR_CORRUPT, "seal of '%s@%s' has time %" PRId64 ", catalogue %" PRId64,
			       row->product, row->version, sealed->sealed_at, row->sealed_at);
	return 0;
}

/* vault_check's callback: re-hash each blob and look it up in the manifest by SHA-256. */
struct verify_ctx {
	const struct manifest *m;
	size_t *by_id; /* manifest indexes sorted by sha256 */
	size_t n;
	unsigned char *seen;
	uint64_t objects, bytes;
};

static int cmp_by_id(const void *a, const void *b, void *m)
{
	const struct manifest_entry *x = manifest_get(m, *(const size_t *)a),
				    *y = manifest_get(m, *(const size_t *)b);
	return memcmp(x->sha256, y->sha256, SHA256_LEN);
}

static int verify_blob(void *ctx, const unsigned char id[32], const void *p, size_t len)
{
	struct verify_ctx *v = ctx;
	unsigned char s1[SHA1_LEN], s256[SHA256_LEN];
	size_t lo = 0, hi = v->n;
	char hex[65];
	gitobj_blob_ids(p, len, s1, s256);
	hex_encode(hex, id, 32);
	if (memcmp(s256, id, SHA256_LEN))
		return err_set(ERR_CORRUPT, "object %s does not hash to its id", hex);
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(manifest_get(v->m, v->by_id[mid])->sha256, id, SHA256_LEN);
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == v->n || memcmp(manifest_get(v->m, v->by_id[lo])->sha256, id, SHA256_LEN))
		return err_set(ERR_CORRUPT, "object %s is in the vault but in no sealed path", hex);
	for (size_t i = lo; i < v->n; i++) {
		const struct manifest_entry *e = manifest_get(v->m, v->by_id[i]);
		if (memcmp(e->sha256, id, SHA256_LEN))
			break;
		if (memcmp(e->sha1, s1, SHA1_LEN) || e->size != len)
			return err_set(ERR_CORRUPT, "'%.*s': content does not match its sealed ids",
				       (int)e->path_len, e->path);
		v->seen[v->by_id[i]] = 1;
	}
	v->objects++;
	v->bytes += len;
	return 0;
}

/* The checks of release_verify after the vendor's: with the data key given. */
static int verify_with(struct facility *f, const char *product, const char *version, const struct note_signer *vendor,
		       const struct note_wrapper *wrap, const struct vault_key *given, struct verify_report *rep)
{
	struct release_info info, sealed = {0};
	struct vault_key *key = NULL;
	struct vault *v = NULL;
	struct manifest *m = NULL;
	struct verify_ctx vc = {0};
	int r;

	memset(rep, 0, sizeof(*rep));
	if ((r = release_get(f, product, version, &info)))
		goto out_noinfo;
	if (vendor && (r = release_check_vendor(&info, vendor)))
		goto out;
	if ((r = release_seal_open(&info, &sealed)) || (r = check_row(&info, &sealed)))
		goto out;
	if ((!given && (r = release_unwrap(&info, wrap, &key))) ||
	    (r = release_open_key(f, &info, given ? given : key, &v, &m, NULL)))
		goto out;
	vc.m = m;
	vc.n = manifest_count(m);
	vc.by_id = xcalloc(vc.n ? vc.n : 1, sizeof(size_t));
	vc.seen = xcalloc(vc.n ? vc.n : 1, 1);
	for (size_t i = 0; i < vc.n; i++)
		vc.by_id[i] = i;
	qsort_r(vc.by_id, vc.n, sizeof(size_t), cmp_by_id, m);
	if ((r = vault_check(v, verify_blob, &vc)))
		goto out;
	for (size_t i = 0; i < vc.n; i++) {
		if (!vc.seen[i]) {
			const struct manifest_entry *e = manifest_get(m, i);
			r = err_set(ERR_CORRUPT, "'%.*s': its object is missing from the vault",
				    (int)e->path_len, e->path);
			goto out;
		}
	}
	rep->files = vc.n;
	rep->objects = vc.objects;
	rep->bytes = manifest_bytes(m);
out:
	release_info_release(&sealed);
	release_info_release(&info);
out_noinfo:
	free(vc.by_id);
	free(vc.seen);
	manifest_free(m);
	vault_close(v);
	vault_key_free(key);
	return r;
}

int release_verify(struct facility *f, const char *product, const char *version,
		   const struct note_signer *vendor, const struct note_wrapper *wrap,
		   struct verify_report *rep)
{
	return verify_with(f, product, version, vendor, wrap, NULL, rep);
}

int release_verify_key(struct facility *f, const char *product, const char *version, const struct vault_key *key,
		       struct verify_report *rep)
{
	return verify_with(f, product, version, NULL, NULL, key, rep);
}

int release_open(struct facility *f, const char *product, const char *version,
		 const struct note_signer *vendor, const struct note_wrapper *wrap,
		 struct release_opened *o)
{
	struct release_info info;
	int r;
	memset(o, 0, sizeof(*o));
	if ((r = release_get(f, product, version, &info)))
		return r;
	if (!(r = release_check_vendor(&info, vendor)) && !(r = release_unwrap(&info, wrap, &o->key)))
		r = release_open_key(f, &info, o->key, &o->v, &o->m, NULL);
	release_info_release(&info);
	if (r)
		release_opened_release(o);
	return r;
}

void release_opened_release(struct release_opened *o)
{
	manifest_free(o->m);
	vault_close(o->v);
	vault_key_free(o->key);
	memset(o, 0, sizeof(*o));
}
