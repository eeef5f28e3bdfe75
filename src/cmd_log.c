/*
 * cmd_log: sealroom log <checkpoint|vkey|entry|prove|consistency|export|verify|cosign|
 * attach|witness-vkey|append> — the transparency log from the command line.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "audit.h"
#include "cmd.h"
#include "facility.h"
#include "logdb.h"
#include "tlog.h"
#include "witness.h"

struct sub {
	const char *name;
	int (*fn)(int argc, char **argv, const struct sub *s);
	const char *usage;
	const char *help;
};

static int fail(int r)
{
	return cmd_fail("log", r);
}

static int usage_err(const struct sub *s)
{
	return cmd_usage("log", s->usage);
}

static int parse_u64(const char *s, const char *what, uint64_t *v)
{
	char *end;
	unsigned long long n;
	errno = 0;
	if (!*s || *s == '-' || *s == '+' || *s == ' ')
		return err_set(ERR_USAGE, "%s wants a number, got '%s'", what, s);
	n = strtoull(s, &end, 10);
	if (errno || *end || n > TLOG_MAX_SIZE)
		return err_set(ERR_USAGE, "%s wants a number, got '%s'", what, s);
	*v = n;
	return 0;
}

/* Open the facility named by -C / $SEALROOM_HOME and its log. */
static int open_log(const struct opt_common *c, struct facility **f, struct logdb **l)
{
	int r;
	*l = NULL;
	if ((r = facility_open(facility_resolve(c->dir), f)))
		return r;
	if ((r = logdb_open(*f, l))) {
		facility_free(*f);
		*f = NULL;
	}
	return r;
}

static void close_log(struct facility *f, struct logdb *l)
{
	logdb_free(l);
	facility_free(f);
}

static int read_small(const char *path, size_t max, struct buf *out, const char *what)
{
	int r;
	buf_init(out, max);
	if ((r = buf_read_file(out, path))) {
		char m[1024];
		snprintf(m, sizeof(m), "%s", err_msg());
		return err_set(r == ERR_TOOBIG ? ERR_TOOBIG : ERR_NOTFOUND, "cannot read %s '%s': %s", what, path, m);
	}
	return 0;
}

/* Print one JSON object (consumes it). */
static void print_json(json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	if (!s)
		BUG("json");
	puts(s);
	free(s);
	json_decref(j);
}

static json_t *json_hash(const unsigned char h[TLOG_HASH_LEN])
{
	char s[45];
	sodium_bin2base64(s, sizeof(s), h, TLOG_HASH_LEN, sodium_base64_VARIANT_ORIGINAL);
	return json_string(s);
}

static int sub_checkpoint(int argc, char **argv, const struct sub *s)
{
	struct opt_common c = {0};
	struct opt opts[] = {{NULL, 0, NULL}};
	struct facility *f = NULL;
	struct logdb *l = NULL;
	struct buf out;
	const char *pos[1];
	uint64_t size = 0;
	int n, r;
	if (opt_parse(argc, argv, opts, &c, pos, 0, &n))
		return usage_err(s);
	if (c.help)
		return printf("usage: %s\n\n%s\n", s->usage, s->help), 0;
	buf_init(&out, 1 << 21);
	if (!(r = open_log(&c, &f, &l)))
		r = logdb_checkpoint(l, &out, &size);
	if (!r) {
		if (c.json) {
			unsigned char root[TLOG_HASH_LEN];
			json_t *j = json_object();
			if ((r = logdb_root(l, size, root)))
				goto out;
			json_object_set_new(j, "size", json_integer((json_int_t)size));
			json_object_set_new(j, "root", json_hash(root));
			json_object_set_new(j, "checkpoint", json_stringn(out.p, out.len));
			print_json(j);
		} else {
			fwrite(out.p, 1, out.len, stdout);
		}
	}
out:
	buf_release(&out);
	close_log(f, l);
	return r ? fail(r) : 0;
}

static int sub_vkey(int argc, char **argv, const struct sub *s)
{
	struct opt_common c = {0};
	struct opt opts[] = {{NULL, 0, NULL}};
	struct facility *f = NULL;
	struct buf vk;
	const char *pos[1];
	char *path;
	int n, r;
	if (opt_parse(argc, argv, opts, &c, pos, 0, &n))
		return usage_err(s);
	if (c.help)
		return printf("usage: %s\n\n%s\n", s->usage, s->help), 0;
	if ((r = facility_open(facility_resolve(c.dir), &f)))
		return fail(r);
	/* the public half only: keys/log.pub, checked by parsing it */
	path = facility_path(f, "keys/log.pub");
	buf_init(&vk, 4096);
	r = buf_read_file(&vk, path);
	if (!r) {
		struct note_verifier *v;
		while (vk.len && (vk.p[vk.len - 1] == '\n' || vk.p[vk.len - 1] == '\r'))
			vk.p[--vk.len] = 0;
		if (!(r = note_verifier_parse(vk.p, vk.len, &v))) {
			if (strcmp(note_verifier_name(v), facility_name(f)))
				r = err_set(ERR_CORRUPT, "'%s' names '%s', not the facility '%s'", path,
					    note_verifier_name(v), facility_name(f));
			note_verifier_free(v);
		}
	}
	if (!r) {
		if (c.json) {
			json_t *j = json_object();
			json_object_set_new(j, "vkey", json_stringn(vk.p, vk.len));
			json_object_set_new(j, "origin", json_string(facility_name(f)));
			print_json(j);
		} else {
			printf("%s\n", vk.p);
		}
	}
	buf_release(&vk);
	free(path);
	facility_free(f);
	return r ? fail(r) : 0;
}

static int sub_entry(int argc, char **argv, const struct sub *s)
{
	struct opt_common c = {0};
	struct opt opts[] = {{NULL, 0, NULL}};
	struct facility *f = NULL;
	struct logdb *l = NULL;
	struct buf e;
	const char *pos[1];
	uint64_t i;
	int n, r;
	if (opt_parse(argc, argv, opts, &c, pos, 1, &n))
		return usage_err(s);
	if (c.help)
		return printf("usage: %s\n\n%s\n", s->usage, s->help), 0;
	if (n != 1 || parse_u64(pos[0], "entry", &i))
		return usage_err(s);
	buf_init(&e, LOGDB_ENTRY_MAX + 1);
	if (!(r = open_log(&c, &f, &l)))
		r = logdb_entry(l, i, &e);
	if (!r) {
		if (c.json) {
			unsigned char leaf[TLOG_HASH_LEN];
			json_t *j = json_object();
			json_error_t je;
			tlog_leaf_hash(e.p, e.len, leaf);
			json_object_set_new(j, "index", json_integer((json_int_t)i));
			json_object_set_new(j, "leaf_hash", json_hash(leaf));
			json_object_set_new(j, "entry", json_loadb(e.p, e.len, 0, &je));
			print_json(j);
		} else {
			fwrite(e.p, 1, e.len, stdout);
			putchar('\n');
		}
	}
	buf_release(&e);
	close_log(f, l);
	return r ? fail(r) : 0;
}

static int sub_prove(int argc, char **argv, const struct sub *s)
{
	const char *size_s = NULL, *pos[1];
	struct opt_common c = {0};
	struct opt opts[] = {{"size", OPT_STRING, &size_s}, {NULL, 0, NULL}};
	struct facility *f = NULL;
	struct logdb *l = NULL;
	struct buf cp, out;
	unsigned char proof[TLOG_MAX_PROOF][TLOG_HASH_LEN];
	uint64_t i, size = 0;
	size_t np = 0;
	int n, r;
	if (opt_parse(argc, argv, opts, &c, pos, 1, &n))
		return usage_err(s);
	if (c.help)
		return printf("usage: %s\n\n%s\n", s->usage, s->help), 0;
	if (n != 1 || parse_u64(pos[0], "entry", &i) || (size_s && parse_u64(size_s, "--size", &size)))
		return usage_err(s);
	buf_init(&cp, 1 << 21);
	buf_init(&out, 1 << 22);
	if ((r = open_log(&c, &f, &l)))
		goto out;
	if (size_s)
		r = logdb_checkpoint_at(l, size, &cp);
	else
		r = logdb_checkpoint(l, &cp, &size);
	if (!r && i >= size)
		r = err_set(ERR_NOTFOUND, "entry %llu is not in the checkpoint of size %llu%s",
			    (unsigned long long)i, (unsigned long long)size,
			    size_s ? "" : "; sign a newer one with 'sealroom log checkpoint'");
	if (!r)
		r = logdb_prove(l, i, size, proof, &np);
	if (!r)
		r = tlog_proof_format(&out, i, (const unsigned char (*)[TLOG_HASH_LEN])proof, np, cp.p, cp.len);
	if (!r) {
		if (c.json) {
			json_t *j = json_object(), *a = json_array();
			for (size_t k = 0; k < np; k++)
				json_array_append_new(a, json_hash(proof[k]));
			json_object_set_new(j, "index", json_integer((json_int_t)i));
			json_object_set_new(j, "size", json_integer((json_int_t)size));
			json_object_set_new(j, "proof", a);
			json_object_set_new(j, "checkpoint", json_stringn(cp.p, cp.len));
			json_object_set_new(j, "tlog_proof", json_stringn(out.p, out.len));
			print_json(j);
		} else {
			fwrite(out.p, 1, out.len, stdout);
		}
	}
out:
	buf_release(&cp);
	buf_release(&out);
	close_log(f, l);
	return r ? fail(r) : 0;
}

/*
 * The vendor's check of one entry without the log: a tlog-proof (of 'log prove') and the
 * entry's bytes (of 'log entry'), against the log's verifier key alone.
 */
static int sub_check_proof(int argc, char **argv, const struct sub *s)
{
	const char *vkey = NULL, *entry = NULL, *pos[1];
	struct opt_common c = {0};
	struct opt opts[] = {{"vkey", OPT_STRING, &vkey}, {"entry", OPT_STRING, &entry}, {NULL, 0, NULL}};
	struct note_verifier *v = NULL;
	struct buf pf = {0}, eb = {0};
	struct str note, text;
	struct tlog_checkpoint cp;
	unsigned char proof[TLOG_MAX_PROOF][TLOG_HASH_LEN], leaf[TLOG_HASH_LEN];
	uint64_t index = 0;
	size_t np = 0, el;
	int n, r;
	if (opt_parse(argc, argv, opts, &c, pos, 1, &n))
		return usage_err(s);
	if (c.help)
		return printf("usage: %s\n\n%s\n", s->usage, s->help), 0;
	if (n != 1 || !vkey || !entry) {
		err_set(ERR_USAGE, n != 1 ? "check-proof wants one PROOF file" : "check-proof needs --vkey FILE and --entry FILE");
		return usage_err(s);
	}
	if ((r = note_verifier_load(vkey, &v)) || (r = read_small(pos[0], 1 << 20, &pf, "proof")) ||
	    (r = read_small(entry, LOGDB_ENTRY_MAX + 1, &eb, "entry")))
		goto out;
	if ((r = tlog_proof_parse(pf.p, pf.len, &index, proof, &np, &note))) {
		r = err_set(r, "proof '%s': %s", pos[0], err_msg());
		goto out;
	}
	if ((r = note_open(note.p, note.len, v, &text))) {
		r = err_set(r, "proof '%s': its checkpoint is not signed by '%s': %s", pos[0], note_verifier_name(v), err_msg());
		goto out;
	}
	if ((r = tlog_checkpoint_parse(text.p, text.len, &cp)))
		goto out;
	/* the entry as 'log entry' prints it: its bytes and one newline */
	el = eb.len && eb.p[eb.len - 1] == '\n' ? eb.len - 1 : eb.len;
	tlog_leaf_hash(eb.p, el, leaf);
	if (index >= cp.size) {
		r = err_set(ERR_AUTH, "proof '%s': entry %llu is not in a tree of %llu entries", pos[0],
			    (unsigned long long)index, (unsigned long long)cp.size);
		goto out;
	}
	if ((r = tlog_verify_inclusion(index, cp.size, leaf, sizeof(leaf), (const unsigned char (*)[TLOG_HASH_LEN])proof,
				       np, cp.root, sizeof(cp.root)))) {
		r = err_set(r, "entry '%s' is not entry %llu of the log of size %llu signed by '%s': %s", entry,
			    (unsigned long long)index, (unsigned long long)cp.size, note_verifier_name(v), err_msg());
		goto out;
	}
	if (c.json) {
		json_t *j = json_object();
		json_object_set_new(j, "ok", json_true());
		json_object_set_new(j, "index", json_integer((json_int_t)index));
		json_object_set_new(j, "size", json_integer((json_int_t)cp.size));
		json_object_set_new(j, "origin", json_stringn(cp.origin.p, cp.origin.len));
		json_object_set_new(j, "leaf_hash", json_hash(leaf));
		print_json(j);
	} else {
		printf("ok: the entry is entry %llu of the log '%.*s' of size %llu, signed by '%s'\n",
		       (unsigned long long)index, (int)cp.origin.len, cp.origin.p, (unsigned long long)cp.size,
		       note_verifier_name(v));
	}
out:
	note_verifier_free(v);
	buf_release(&pf);
	buf_release(&eb);
	return r ? fail(r) : 0;
}

static int sub_consistency(int argc, char **argv, const struct sub *s)
{
	struct opt_common c = {0};
	struct opt opts[] = {{NULL, 0, NULL}};
	struct facility *f = NULL;
	struct logdb *l = NULL;
	struct buf cp;
	const char *pos[2];
	unsigned char proof[TLOG_MAX_PROOF][TLOG_HASH_LEN];
	uint64_t m, size = 0;
	size_t np = 0;
	int n, r;
	if (opt_parse(argc, argv, opts, &c, pos, 2, &n))
		return usage_err(s);
	if (c.help)
		return printf("usage: %s\n\n%s\n", s->usage, s->help), 0;
	if (n < 1 || parse_u64(pos[0], "M", &m) || (n == 2 && parse_u64(pos[1], "N", &size)))
		return usage_err(s);
	buf_init(&cp, 1 << 21);
	if ((r = open_log(&c, &f, &l)))
		goto out;
	if (n < 2)
		r = logdb_checkpoint(l, &cp, &size);
	if (!r && (!m || m > size))
		r = err_set(ERR_USAGE, "no consistency proof from size %llu to size %llu: wanted 0 < M <= N",
			    (unsigned long long)m, (unsigned long long)size);
	if (!r)
		r = logdb_consistency(l, m, size, proof, &np);
	if (!r) {
		if (c.json) {
			json_t *j = json_object(), *a = json_array();
			for (size_t k = 0; k < np; k++)
				json_array_append_new(a, json_hash(proof[k]));
			json_object_set_new(j, "from", json_integer((json_int_t)m));
			json_object_set_new(j, "to", json_integer((json_int_t)size));
			json_object_set_new(j, "proof", a);
			print_json(j);
		} else {
			for (size_t k = 0; k < np; k++) {
				char b[45];
				sodium_bin2base64(b, sizeof(b), proof[k], TLOG_HASH_LEN, sodium_base64_VARIANT_ORIGINAL);
				puts(b);
			}
		}
	}
out:
	buf_release(&cp);
	close_log(f, l);
	return r ? fail(r) : 0;
}

static int sub_export(int argc, char **argv, const struct sub *s)
{
	struct opt_common c = {0};
	struct opt opts[] = {{NULL, 0, NULL}};
	struct facility *f = NULL;
	struct logdb *l = NULL;
	const char *pos[1];
	uint64_t size = 0, files = 0;
	int n, r;
	if (opt_parse(argc, argv, opts, &c, pos, 1, &n))
		return usage_err(s);
	if (c.help)
		return printf("usage: %s\n\n%s\n", s->usage, s->help), 0;
	if (n != 1)
		return usage_err(s);
	if (!(r = open_log(&c, &f, &l)))
		r = logdb_export(l, pos[0], &size, &files);
	if (!r) {
		if (c.json) {
			json_t *j = json_object();
			json_object_set_new(j, "dir", json_string(pos[0]));
			json_object_set_new(j, "size", json_integer((json_int_t)size));
			json_object_set_new(j, "files", json_integer((json_int_t)files));
			print_json(j);
		} else {
			printf("exported %llu entries as %llu files to %s\n", (unsigned long long)size,
			       (unsigned long long)files, pos[0]);
		}
	}
	close_log(f, l);
	return r ? fail(r) : 0;
}

/* The entry callback of logdb_tiles_each for the audit: ctx is the struct audit. */
static int tile_entry(void *ctx, uint64_t i, const char *p, size_t len)
{
	return audit_entry(ctx, i, p, len);
}

static int sub_verify(int argc, char **argv, const struct sub *s)
{
	const char *vkey = NULL, *from = NULL, *tiles = NULL, *vendor_vkey = NULL, *pos[1];
	struct opt_common c = {0};
	struct opt opts[] = {{"vkey", OPT_STRING, &vkey}, {"from", OPT_STRING, &from},
			     {"tiles", OPT_STRING, &tiles}, {"vendor-vkey", OPT_STRING, &vendor_vkey},
			     {NULL, 0, NULL}};
	struct note_verifier *v = NULL, *vv = NULL;
	struct audit *au = NULL;
	struct logdb_verified res;
	struct buf fb;
	char *db = NULL;
	char root[45];
	int n, r;
	if (opt_parse(argc, argv, opts, &c, pos, 0, &n))
		return usage_err(s);
	if (c.help)
		return printf("usage: %s\n\n%s\n", s->usage, s->help), 0;
	if (!vkey) {
		err_set(ERR_USAGE, "verify needs the log's verifier key: --vkey FILE");
		return usage_err(s);
	}
	buf_init(&fb, 1 << 20);
	if ((r = note_verifier_load(vkey, &v)) || (vendor_vkey && (r = note_verifier_load(vendor_vkey, &vv))))
		goto out;
	au = audit_new(v, vv);
	if (from) {
		buf_release(&fb);
		if ((r = read_small(from, 1 << 20, &fb, "checkpoint")))
			goto out;
	}
	if (tiles) {
		if (!(r = logdb_verify_tiles(tiles, v, from ? fb.p : NULL, fb.len, &res))) {
			struct logdb_verified again;
			r = logdb_tiles_each(tiles, v, tile_entry, au, &again);
		}
	} else {
		struct buf p;
		buf_init(&p, 0);
		if (buf_addf(&p, "%s/sealroom.db", facility_resolve(c.dir)))
			BUG("path");
		db = buf_detach(&p, NULL);
		if (access(db, F_OK) < 0)
			r = err_set(ERR_NOTFOUND, "no log database at '%s'", db);
		else if (!(r = logdb_verify(db, v, from ? fb.p : NULL, fb.len, &res)))
			r = audit_from_db(au, db, res.entries);
	}
	if (r)
		goto out;
	sodium_bin2base64(root, sizeof(root), res.root, TLOG_HASH_LEN, sodium_base64_VARIANT_ORIGINAL);
	if (c.json) {
		json_t *j = json_object();
		json_object_set_new(j, "ok", json_true());
		json_object_set_new(j, "origin", json_string(note_verifier_name(v)));
		json_object_set_new(j, "size", json_integer((json_int_t)res.size));
		json_object_set_new(j, "root", json_string(root));
		json_object_set_new(j, "entries", json_integer((json_int_t)res.entries));
		json_object_set_new(j, "checkpoints", json_integer((json_int_t)res.checkpoints));
		if (res.from)
			json_object_set_new(j, "from_size", json_integer((json_int_t)res.from_size));
		json_object_set_new(j, "audited", json_integer((json_int_t)audit_checked(au)));
		json_object_set_new(j, "grants", json_integer((json_int_t)audit_grants(au)));
		json_object_set_new(j, "vendor_signatures", json_boolean(vv != NULL));
		print_json(j);
	} else {
		printf("ok: log '%s' verified from %s: checkpoint size %llu, root %s\n", note_verifier_name(v),
		       tiles ? "tiles" : "the database", (unsigned long long)res.size, root);
		printf("%llu entries checked, %llu signed checkpoint%s consistent\n",
		       (unsigned long long)res.entries, (unsigned long long)res.checkpoints,
		       res.checkpoints == 1 ? "" : "s");
		if (res.entries > res.size)
			printf("%llu entries after the checkpoint are not signed yet\n",
			       (unsigned long long)(res.entries - res.size));
		if (res.from)
			printf("consistent with the checkpoint you saw (size %llu)\n", (unsigned long long)res.from_size);
		printf("audit: %llu views, searches, prints, notes and logins inside %llu countersigned grant%s "
		       "and accounts%s\n",
		       (unsigned long long)audit_checked(au), (unsigned long long)audit_grants(au),
		       audit_grants(au) == 1 ? "" : "s",
		       vv ? ", the vendor's signatures checked" : " (the vendor's signatures not checked: --vendor-vkey)");
	}
out:
	audit_free(au);
	note_verifier_free(vv);
	note_verifier_free(v);
	buf_release(&fb);
	free(db);
	return r ? fail(r) : 0;
}

/* Parse a consistency proof file: one base64 hash a line. */
static int read_proof(const char *path, unsigned char (*proof)[TLOG_HASH_LEN], size_t *n)
{
	struct buf b;
	size_t pos = 0;
	int r;
	*n = 0;
	if ((r = read_small(path, 64 * 1024, &b, "proof")))
		goto out;
	while (pos < b.len) {
		char *nl = memchr(b.p + pos, '\n', b.len - pos);
		size_t ll = nl ? (size_t)(nl - b.p - pos) : b.len - pos;
		if (ll) {
			if (*n >= TLOG_MAX_PROOF) {
				r = err_set(ERR_TOOBIG, "proof '%s' has too many lines", path);
				break;
			}
			if ((r = tlog_hash_unb64(b.p + pos, ll, proof[(*n)++]))) {
				r = err_set(ERR_PARSE, "proof '%s' line %zu is not a base64 hash", path, *n);
				break;
			}
		}
		pos += ll + 1;
	}
out:
	buf_release(&b);
	return r;
}

static int sub_cosign(int argc, char **argv, const struct sub *s)
{
	const char *key = NULL, *log_vkey = NULL, *proof_file = NULL, *pos[1];
	struct opt_common c = {0};
	struct opt opts[] = {{"key", OPT_STRING, &key}, {"log-vkey", OPT_STRING, &log_vkey},
			     {"proof", OPT_STRING, &proof_file}, {NULL, 0, NULL}};
	struct note_verifier *v = NULL;
	struct facility *f = NULL;
	struct logdb *l = NULL;
	struct buf note, out;
	struct str text;
	struct tlog_checkpoint cp;
	unsigned char proof[TLOG_MAX_PROOF][TLOG_HASH_LEN], old_root[TLOG_HASH_LEN];
	uint64_t old_size = 0;
	size_t np = 0;
	int n, r, have = 0;
	if (opt_parse(argc, argv, opts, &c, pos, 1, &n))
		return usage_err(s);
	if (c.help)
		return printf("usage: %s\n\n%s\n", s->usage, s->help), 0;
	if (n != 1 || !key) {
		err_set(ERR_USAGE, n != 1 ? "cosign wants one CHECKPOINT file" : "cosign needs --key FILE");
		return usage_err(s);
	}
	buf_init(&out, 1 << 21);
	buf_init(&note, 0);
	if ((r = read_small(pos[0], 1 << 20, &note, "checkpoint")))
		goto out;
	if (log_vkey) {
		r = note_verifier_load(log_vkey, &v);
	} else if (!(r = facility_open(facility_resolve(c.dir), &f))) {
		char *p = facility_path(f, "keys/log.pub");
		r = note_verifier_load(p, &v);
		free(p);
	} else {
		r = err_set(ERR_USAGE, "cosign needs the log's verifier key: --log-vkey FILE");
	}
	if (r)
		goto out;
	if ((r = note_open(note.p, note.len, v, &text)) || (r = tlog_checkpoint_parse(text.p, text.len, &cp)) ||
	    (r = witness_state_get(key, cp.origin.p, cp.origin.len, &have, &old_size, old_root)))
		goto out;
	if (proof_file) {
		if ((r = read_proof(proof_file, proof, &np)))
			goto out;
	} else if (have && old_size && cp.size > old_size) {
		/* no proof given: compute it from the facility's log when there is one here */
		if (!f && facility_open(facility_resolve(c.dir), &f)) {
			r = err_set(ERR_USAGE, "cosigned size %llu before: give --proof FILE "
				    "('sealroom log consistency %llu %llu')", (unsigned long long)old_size,
				    (unsigned long long)old_size, (unsigned long long)cp.size);
			goto out;
		}
		if ((r = logdb_open(f, &l)) || (r = logdb_consistency(l, old_size, cp.size, proof, &np)))
			goto out;
	}
	if ((r = witness_cosign(key, note.p, note.len, v, (const unsigned char (*)[TLOG_HASH_LEN])proof, np, &out)))
		goto out;
	if (c.json) {
		json_t *j = json_object();
		json_object_set_new(j, "size", json_integer((json_int_t)cp.size));
		json_object_set_new(j, "checkpoint", json_stringn(out.p, out.len));
		print_json(j);
	} else {
		fwrite(out.p, 1, out.len, stdout);
	}
out:
	note_verifier_free(v);
	logdb_free(l);
	facility_free(f);
	buf_release(&note);
	buf_release(&out);
	return r ? fail(r) : 0;
}

static int sub_attach(int argc, char **argv, const struct sub *s)
{
	const char *wkey = NULL, *pos[1];
	struct opt_common c = {0};
	struct opt opts[] = {{"witness", OPT_STRING, &wkey}, {NULL, 0, NULL}};
	struct witness_verifier *w = NULL;
	struct facility *f = NULL;
	struct logdb *l = NULL;
	struct buf note;
	struct str line;
	uint64_t t;
	int n, r;
	if (opt_parse(argc, argv, opts, &c, pos, 1, &n))
		return usage_err(s);
	if (c.help)
		return printf("usage: %s\n\n%s\n", s->usage, s->help), 0;
	if (n != 1 || !wkey) {
		err_set(ERR_USAGE, n != 1 ? "attach wants one COSIGNED file" : "attach needs --witness VKEY_FILE");
		return usage_err(s);
	}
	buf_init(&note, 0);
	if ((r = read_small(pos[0], 1 << 20, &note, "cosigned checkpoint")) ||
	    (r = witness_verifier_load(wkey, &w)) || (r = witness_check(w, note.p, note.len, &line, &t)) ||
	    (r = open_log(&c, &f, &l)) ||
	    (r = logdb_add_cosignature(l, note.p, note.len, witness_verifier_name(w), line.p, line.len)))
		goto out;
	if (c.json) {
		json_t *j = json_object();
		json_object_set_new(j, "witness", json_string(witness_verifier_name(w)));
		json_object_set_new(j, "time", json_integer((json_int_t)t));
		print_json(j);
	} else {
		printf("attached the cosignature of '%s'\n", witness_verifier_name(w));
	}
out:
	witness_verifier_free(w);
	close_log(f, l);
	buf_release(&note);
	return r ? fail(r) : 0;
}

static int sub_witness_vkey(int argc, char **argv, const struct sub *s)
{
	const char *key = NULL, *pos[1];
	struct opt_common c = {0};
	struct opt opts[] = {{"key", OPT_STRING, &key}, {NULL, 0, NULL}};
	struct note_signer *k = NULL;
	struct buf out;
	int n, r;
	if (opt_parse(argc, argv, opts, &c, pos, 0, &n))
		return usage_err(s);
	if (c.help)
		return printf("usage: %s\n\n%s\n", s->usage, s->help), 0;
	if (!key) {
		err_set(ERR_USAGE, "witness-vkey needs --key FILE");
		return usage_err(s);
	}
	buf_init(&out, 4096);
	if (!(r = note_signer_load(key, &k)) && !(r = witness_vkey(k, &out))) {
		if (c.json) {
			json_t *j = json_object();
			json_object_set_new(j, "vkey", json_stringn(out.p, out.len));
			print_json(j);
		} else {
			puts(out.p);
		}
	}
	note_signer_free(k);
	buf_release(&out);
	return r ? fail(r) : 0;
}

static int sub_append(int argc, char **argv, const struct sub *s)
{
	struct opt_common c = {0};
	struct opt opts[] = {{NULL, 0, NULL}};
	struct facility *f = NULL;
	struct logdb *l = NULL;
	const char *pos[1];
	json_error_t je;
	json_t *e;
	uint64_t idx = 0;
	int n, r;
	if (opt_parse(argc, argv, opts, &c, pos, 1, &n))
		return usage_err(s);
	if (c.help)
		return printf("usage: %s\n\n%s\n", s->usage, s->help), 0;
	if (n != 1)
		return usage_err(s);
	e = json_loads(pos[0], JSON_REJECT_DUPLICATES, &je);
	if (!e) {
		err_set(ERR_USAGE, "entry is not JSON: %s", je.text);
		return usage_err(s);
	}
	if (!(r = open_log(&c, &f, &l)))
		r = logdb_append(l, e, &idx);
	json_decref(e);
	if (!r) {
		if (c.json) {
			json_t *j = json_object();
			json_object_set_new(j, "index", json_integer((json_int_t)idx));
			print_json(j);
		} else {
			printf("%llu\n", (unsigned long long)idx);
		}
	}
	close_log(f, l);
	return r ? fail(r) : 0;
}

static const struct sub subs[] = {
	{"checkpoint", sub_checkpoint, "sealroom log checkpoint [-C DIR] [--json]",
	 "Print the latest checkpoint (C2SP tlog-checkpoint, signed by the facility's log key,\n"
	 "with the cosignatures attached to it). Signs a new one first when entries were added\n"
	 "since the last, after checking that the log is consistent with it."},
	{"vkey", sub_vkey, "sealroom log vkey [-C DIR] [--json]",
	 "Print the facility's log verifier key line (name+hash+key), for 'log verify --vkey'."},
	{"entry", sub_entry, "sealroom log entry N [-C DIR] [--json]",
	 "Print entry N: its exact bytes (one line of canonical JSON) and a newline. The leaf\n"
	 "hash is SHA-256(0x00 || bytes), without the newline."},
	{"prove", sub_prove, "sealroom log prove N [--size S] [-C DIR] [--json]",
	 "Print a C2SP tlog-proof that entry N is in the tree of the checkpoint of size S\n"
	 "(default: the latest checkpoint, signed now if the log grew)."},
	{"check-proof", sub_check_proof, "sealroom log check-proof PROOF --entry FILE --vkey FILE [--json]",
	 "The vendor's check of one entry, offline and without the log: PROOF is a tlog-proof of\n"
	 "'log prove N', FILE the entry's bytes as 'log entry N' prints them, and the log's key the\n"
	 "line of 'log vkey'. Checks the checkpoint's signature and that the entry is entry N of\n"
	 "its tree (RFC 9162 inclusion); fails naming what does not hold."},
	{"consistency", sub_consistency, "sealroom log consistency M [N] [-C DIR] [--json]",
	 "Print the RFC 9162 consistency proof from tree size M to size N (default: the latest\n"
	 "checkpoint's size), one base64 hash a line."},
	{"export", sub_export, "sealroom log export DIR [-C DIR] [--json]",
	 "Write the log as C2SP tlog-tiles static files into DIR: checkpoint, tile/<L>/<N>,\n"
	 "partial tiles tile/<L>/<N>.p/<W>, and entry bundles tile/entries/<N>."},
	{"verify", sub_verify,
	 "sealroom log verify --vkey FILE [--vendor-vkey FILE] [--from CHECKPOINT_FILE] [--tiles DIR] "
	 "[-C DIR] [--json]",
	 "The vendor's offline verifier. Checks every checkpoint's signature by the key in FILE,\n"
	 "recomputes the tree from the entries of the database (opened read-only) or of an\n"
	 "exported tiles folder (--tiles), and with --from checks that the log still holds the\n"
	 "checkpoint you saw before. Then the audit of what the entries say: every view, search,\n"
	 "diff, print and note falls inside a live grant of its actor whose statement the\n"
	 "facility countersigned (and, with --vendor-vkey, the vendor signed), and every login\n"
	 "follows a user_add. Fails naming the first bad entry, checkpoint or proof."},
	{"cosign", sub_cosign,
	 "sealroom log cosign --key FILE [--log-vkey FILE] [--proof FILE] CHECKPOINT [-C DIR] [--json]",
	 "Cosign a checkpoint as a witness (C2SP tlog-cosignature v1.0.1) and print it with the\n"
	 "cosignature added. The witness remembers what it cosigned in FILE.state and refuses a\n"
	 "checkpoint that is older than, forked from, or not proven consistent with it (the\n"
	 "proof comes from --proof FILE, lines of 'log consistency', or the facility here).\n"
	 "The log's key is --log-vkey FILE, else the facility's keys/log.pub."},
	{"attach", sub_attach, "sealroom log attach --witness VKEY_FILE COSIGNED [-C DIR] [--json]",
	 "Check a witness's cosignature on one of this log's checkpoints and store it, so that\n"
	 "'log checkpoint' carries it. VKEY_FILE is the line 'log witness-vkey' prints."},
	{"witness-vkey", sub_witness_vkey, "sealroom log witness-vkey --key FILE [--json]",
	 "Print the cosigner verifier key line (type 0x04) of the Ed25519 key in FILE."},
	{"append", sub_append, "sealroom log append JSON [-C DIR] [--json]",
	 "Append one entry (a JSON object with at least \"type\" and \"actor\"; \"time\" is added)\n"
	 "and print its index once it is durable. For operators' own records and tests."},
	{NULL, NULL, NULL, NULL},
};

static void usage(FILE *f)
{
	fputs("usage: sealroom log <command> [options]\n\ncommands:\n", f);
	for (const struct sub *s = subs; s->name; s++)
		fprintf(f, "  %s\n", s->usage);
}

int cmd_log(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	/* "-C DIR" may come before the subcommand (main.c puts it there) */
	if (!strcmp(argv[1], "-C") && argc >= 4) {
		char *dir = argv[2];
		for (const struct sub *s = subs; s->name; s++) {
			if (strcmp(s->name, argv[3]))
				continue;
			argv[1] = argv[3];
			argv[2] = "-C";
			argv[3] = dir;
			return s->fn(argc - 1, argv + 1, s);
		}
		fprintf(stderr, "sealroom log: '%s' is not a log command; see 'sealroom log --help'\n", argv[3]);
		return 2;
	}
	for (const struct sub *s = subs; s->name; s++)
		if (!strcmp(s->name, argv[1]))
			return s->fn(argc - 1, argv + 1, s);
	fprintf(stderr, "sealroom log: '%s' is not a log command; see 'sealroom log --help'\n", argv[1]);
	return 2;
}
