/* logdb: the transparency log in SQLite: group-committed appends, checkpoints, tiles. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "db.h"
#include "logdb.h"

/* One caller of logdb_append waiting for its group commit. Lives on the caller's stack. */
struct pending {
	const char *data;
	size_t len;
	uint64_t index;
	int r, done;
	char msg[256];
	struct pending *next;
};

struct logdb {
	struct facility *f;
	sqlite3 *w, *r;
	pthread_mutex_t wmu, rmu, qmu;
	pthread_cond_t qcv;
	struct pending *head, **tail;
	int leader;
	sqlite3_stmt *w_entry, *w_hash, *w_get, *w_max, *w_maxh;
	sqlite3_stmt *r_get, *r_entry, *r_max;
};

/* Reads stored hashes through a prepared "SELECT hash FROM log_hashes WHERE id = ?". */
struct hread {
	sqlite3 *db;
	sqlite3_stmt *st;
};

static int read_hash(void *ctx, uint64_t idx, unsigned char out[TLOG_HASH_LEN])
{
	struct hread *h = ctx;
	int rc, r = 0;
	sqlite3_reset(h->st);
	sqlite3_bind_int64(h->st, 1, (sqlite3_int64)idx);
	rc = sqlite3_step(h->st);
	if (rc == SQLITE_DONE)
		r = err_set(ERR_CORRUPT, "log: stored hash %llu is missing", (unsigned long long)idx);
	else if (rc != SQLITE_ROW)
		r = db_fail(h->db, "read a log hash");
	else if (sqlite3_column_type(h->st, 0) != SQLITE_BLOB ||
		 sqlite3_column_bytes(h->st, 0) != TLOG_HASH_LEN)
		r = err_set(ERR_CORRUPT, "log: stored hash %llu is not 32 bytes", (unsigned long long)idx);
	else
		memcpy(out, sqlite3_column_blob(h->st, 0), TLOG_HASH_LEN);
	sqlite3_reset(h->st);
	return r;
}

/* A copy of the current message, for err_set calls that quote it (err_set writes over it). */
static const char *saved(char m[1024])
{
	snprintf(m, 1024, "%s", err_msg());
	return m;
}

static int prep(sqlite3 *db, const char *sql, sqlite3_stmt **st)
{
	return db_prepare(db, sql, st);
}

int logdb_open(struct facility *f, struct logdb **out)
{
	struct logdb *l = xcalloc(1, sizeof(*l));
	char *path = facility_path(f, "sealroom.db");
	int r;
	*out = NULL;
	l->f = f;
	l->tail = &l->head;
	pthread_mutex_init(&l->wmu, NULL);
	pthread_mutex_init(&l->rmu, NULL);
	pthread_mutex_init(&l->qmu, NULL);
	pthread_cond_init(&l->qcv, NULL);
	if ((r = db_open(path, 0, &l->w)) || (r = db_open(path, 0, &l->r)))
		goto out;
	/* proofs read O(log n) scattered hashes: keep the upper tree in memory */
	if ((r = db_exec(l->r, "PRAGMA cache_size = -65536; PRAGMA mmap_size = 1073741824")))
		goto out;
	if ((r = prep(l->w, "INSERT INTO log_entries (idx, data) VALUES (?, ?)", &l->w_entry)) ||
	    (r = prep(l->w, "INSERT INTO log_hashes (id, hash) VALUES (?, ?)", &l->w_hash)) ||
	    (r = prep(l->w, "SELECT hash FROM log_hashes WHERE id = ?", &l->w_get)) ||
	    (r = prep(l->w, "SELECT COALESCE(MAX(idx) + 1, 0) FROM log_entries", &l->w_max)) ||
	    (r = prep(l->w, "SELECT COALESCE(MAX(id) + 1, 0) FROM log_hashes", &l->w_maxh)) ||
	    (r = prep(l->r, "SELECT hash FROM log_hashes WHERE id = ?", &l->r_get)) ||
	    (r = prep(l->r, "SELECT data FROM log_entries WHERE idx = ?", &l->r_entry)) ||
	    (r = prep(l->r, "SELECT COALESCE(MAX(idx) + 1, 0) FROM log_entries", &l->r_max)))
		goto out;
	*out = l;
	l = NULL;
out:
	free(path);
	logdb_free(l);
	return r;
}

void logdb_free(struct logdb *l)
{
	sqlite3_stmt *sts[8];
	if (!l)
		return;
	sts[0] = l->w_entry, sts[1] = l->w_hash, sts[2] = l->w_get, sts[3] = l->w_max;
	sts[4] = l->w_maxh, sts[5] = l->r_get, sts[6] = l->r_entry, sts[7] = l->r_max;
	for (int i = 0; i < 8; i++)
		sqlite3_finalize(sts[i]);
	db_close(l->w);
	db_close(l->r);
	pthread_mutex_destroy(&l->wmu);
	pthread_mutex_destroy(&l->rmu);
	pthread_mutex_destroy(&l->qmu);
	pthread_cond_destroy(&l->qcv);
	free(l);
}

/* One integer from a one-row statement. */
static int step_u64(sqlite3 *db, sqlite3_stmt *st, uint64_t *v)
{
	int r = 0;
	sqlite3_reset(st);
	if (sqlite3_step(st) != SQLITE_ROW)
		r = db_fail(db, "read the log's size");
	else if (sqlite3_column_int64(st, 0) < 0)
		r = err_set(ERR_CORRUPT, "log: negative index in the database");
	else
		*v = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return r;
}

/* The committed size seen by the writer inside its transaction, with the hashes checked. */
static int size_tx(struct logdb *l, uint64_t *n)
{
	uint64_t nh;
	int r;
	if ((r = step_u64(l->w, l->w_max, n)) || (r = step_u64(l->w, l->w_maxh, &nh)))
		return r;
	if (*n > TLOG_MAX_SIZE || nh != tlog_stored_count(*n))
		return err_set(ERR_CORRUPT, "log: %llu entries but %llu stored hashes; the database was altered",
			       (unsigned long long)*n, (unsigned long long)nh);
	return 0;
}

int logdb_canonical(json_t *entry, struct buf *out)
{
	char *s = json_dumps(entry, JSON_COMPACT | JSON_SORT_KEYS);
	int r;
	if (!s)
		return err_set(ERR_USAGE, "log: entry cannot be encoded as JSON");
	r = buf_addstr(out, s);
	free(s);
	return r;
}

/* The key that marks an entry one of whose fields could not be built (never stored). */
#define UNBUILT "\x01unbuilt"

json_t *logdb_entry_new(const char *type, const char *actor)
{
	json_t *e = json_object();
	if (!e)
		BUG("json_object");
	logdb_entry_str(e, "type", type);
	logdb_entry_str(e, "actor", actor);
	return e;
}

void logdb_entry_set(json_t *e, const char *key, json_t *v)
{
	if (!v || json_object_set_new(e, key, v)) {
		if (json_object_set_new(e, UNBUILT, json_string(key)))
			BUG("json_object_set_new");
	}
}

void logdb_entry_strn(json_t *e, const char *key, const char *p, size_t len)
{
	struct buf k, b;
	if (!p)
		p = "", len = 0;
	if (!memchr(p, 0, len) && utf8_valid(p, len)) {
		logdb_entry_set(e, key, json_stringn(p, len));
		return;
	}
	buf_init(&k, 0);
	buf_init(&b, 0);
	if (buf_addf(&k, "%s_b64", key) || buf_addb64(&b, p, len))
		logdb_entry_set(e, key, NULL);
	else
		logdb_entry_set(e, k.p, json_stringn(b.p ? b.p : "", b.len));
	buf_release(&k);
	buf_release(&b);
}

void logdb_entry_str(json_t *e, const char *key, const char *s)
{
	logdb_entry_strn(e, key, s, s ? strlen(s) : 0);
}

void logdb_entry_int(json_t *e, const char *key, int64_t v)
{
	logdb_entry_set(e, key, json_integer((json_int_t)v));
}

static int entry_fields_ok(json_t *e, int need_time)
{
	json_t *t = json_object_get(e, "type"), *a = json_object_get(e, "actor"),
	       *tm = json_object_get(e, "time"), *u = json_object_get(e, UNBUILT);
	if (!json_is_object(e))
		return err_set(ERR_USAGE, "log: an entry must be a JSON object");
	if (u)
		return err_set(ERR_USAGE, "log: the '%s' entry could not be built (field '%s')",
			       json_is_string(t) ? json_string_value(t) : "?",
			       json_is_string(u) ? json_string_value(u) : "?");
	if (!json_is_string(t) || !json_string_length(t))
		return err_set(ERR_USAGE, "log: an entry needs a string 'type'");
	if (!json_is_string(a) || !json_string_length(a))
		return err_set(ERR_USAGE, "log: entry '%s' needs a string 'actor'", json_string_value(t));
	if ((tm || need_time) && (!json_is_integer(tm) || json_integer_value(tm) < 0))
		return err_set(ERR_USAGE, "log: entry '%s' needs 'time' in unix seconds", json_string_value(t));
	return 0;
}

int logdb_entry_check(const char *p, size_t len)
{
	json_error_t e;
	json_t *j;
	struct buf b;
	char m[1024];
	int r;
	if (len > LOGDB_ENTRY_MAX)
		return err_set(ERR_TOOBIG, "entry is %zu bytes, more than %d", len, LOGDB_ENTRY_MAX);
	j = json_loadb(p, len, JSON_REJECT_DUPLICATES, &e);
	if (!j)
		return err_set(ERR_PARSE, "entry is not JSON: %s", e.text);
	buf_init(&b, LOGDB_ENTRY_MAX + 16);
	r = entry_fields_ok(j, 1);
	if (r)
		r = err_set(ERR_PARSE, "%s", saved(m) + 5);
	else if ((r = logdb_canonical(j, &b)) == 0 && (b.len != len || memcmp(b.p, p, len)))
		r = err_set(ERR_PARSE, "entry is not canonical JSON (sorted keys, no spaces)");
	buf_release(&b);
	json_decref(j);
	return r;
}

/* Insert entry q at index n with its stored hashes; inside the writer's transaction. */
static int append_one(struct logdb *l, uint64_t n, struct pending *q)
{
	unsigned char leaf[TLOG_HASH_LEN], add[70][TLOG_HASH_LEN];
	struct hread hr = {l->w, l->w_get};
	struct tlog_reader rd = {read_hash, &hr};
	uint64_t base = tlog_stored_count(n);
	size_t k = 0;
	int r;
	sqlite3_reset(l->w_entry);
	sqlite3_bind_int64(l->w_entry, 1, (sqlite3_int64)n);
	sqlite3_bind_blob(l->w_entry, 2, q->data, (int)q->len, SQLITE_STATIC);
	if (sqlite3_step(l->w_entry) != SQLITE_DONE) {
		r = db_fail(l->w, "append a log entry");
		sqlite3_reset(l->w_entry);
		return r;
	}
	sqlite3_reset(l->w_entry);
	tlog_leaf_hash(q->data, q->len, leaf);
	if ((r = tlog_stored_for_leaf(n, leaf, &rd, add, &k)))
		return r;
	for (size_t i = 0; i < k; i++) {
		sqlite3_reset(l->w_hash);
		sqlite3_bind_int64(l->w_hash, 1, (sqlite3_int64)(base + i));
		sqlite3_bind_blob(l->w_hash, 2, add[i], TLOG_HASH_LEN, SQLITE_STATIC);
		if (sqlite3_step(l->w_hash) != SQLITE_DONE) {
			r = db_fail(l->w, "append a log hash");
			sqlite3_reset(l->w_hash);
			return r;
		}
		sqlite3_reset(l->w_hash);
	}
	return 0;
}

/* Commit a batch in one transaction; every pending gets the outcome. */
static void commit_batch(struct logdb *l, struct pending *batch)
{
	uint64_t n = 0;
	int r;
	pthread_mutex_lock(&l->wmu);
	r = db_begin(l->w);
	if (!r)
		r = size_tx(l, &n);
	for (struct pending *q = batch; q && !r; q = q->next) {
		if (n >= TLOG_MAX_SIZE)
			r = err_set(ERR_TOOBIG, "log: the log is full");
		else if (!(r = append_one(l, n, q)))
			q->index = n++;
	}
	if (!r)
		r = db_commit(l->w);
	if (r)
		db_rollback(l->w);
	pthread_mutex_unlock(&l->wmu);
	for (struct pending *q = batch; q; q = q->next) {
		q->r = r;
		if (r)
			snprintf(q->msg, sizeof(q->msg), "%s", err_msg());
	}
}

int logdb_append(struct logdb *l, json_t *entry, uint64_t *index)
{
	struct pending p = {0};
	struct buf b;
	json_t *e = NULL;
	int r;
	if ((r = entry_fields_ok(entry, 0)))
		return r;
	e = json_copy(entry);
	if (!json_object_get(e, "time"))
		json_object_set_new(e, "time", json_integer((json_int_t)time(NULL)));
	buf_init(&b, LOGDB_ENTRY_MAX);
	r = logdb_canonical(e, &b);
	json_decref(e);
	if (r == ERR_TOOBIG)
		r = err_set(ERR_TOOBIG, "log: entry of type '%s' is larger than %d bytes",
			    json_string_value(json_object_get(entry, "type")), LOGDB_ENTRY_MAX);
	if (r)
		goto out;
	p.data = b.p;
	p.len = b.len;
	pthread_mutex_lock(&l->qmu);
	*l->tail = &p;
	l->tail = &p.next;
	while (!p.done) {
		if (!l->leader) {
			struct pending *batch = l->head, *q, *next;
			l->leader = 1;
			l->head = NULL;
			l->tail = &l->head;
			pthread_mutex_unlock(&l->qmu);
			commit_batch(l, batch);
			pthread_mutex_lock(&l->qmu);
			for (q = batch; q; q = next) {
				next = q->next;
				q->done = 1;
			}
			l->leader = 0;
			pthread_cond_broadcast(&l->qcv);
		} else {
			pthread_cond_wait(&l->qcv, &l->qmu);
		}
	}
	pthread_mutex_unlock(&l->qmu);
	r = p.r;
	if (r)
		err_set(r, "%s", p.msg);
	else if (index)
		*index = p.index;
out:
	buf_release(&b);
	return r;
}

int logdb_size(struct logdb *l, uint64_t *n)
{
	int r;
	pthread_mutex_lock(&l->rmu);
	r = step_u64(l->r, l->r_max, n);
	pthread_mutex_unlock(&l->rmu);
	return r;
}

/* Entry i's bytes from a "SELECT data ... WHERE idx = ?" statement, length-checked. */
static int read_entry(sqlite3 *db, sqlite3_stmt *st, uint64_t i, struct buf *out)
{
	int rc, r = 0;
	sqlite3_reset(st);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)i);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		r = err_set(ERR_NOTFOUND, "log: there is no entry %llu", (unsigned long long)i);
	else if (rc != SQLITE_ROW)
		r = db_fail(db, "read a log entry");
	else if (sqlite3_column_bytes(st, 0) > LOGDB_ENTRY_MAX)
		r = err_set(ERR_CORRUPT, "log: entry %llu is longer than %d bytes", (unsigned long long)i,
			    LOGDB_ENTRY_MAX);
	else
		r = buf_add(out, sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0));
	sqlite3_reset(st);
	return r;
}

int logdb_entry(struct logdb *l, uint64_t i, struct buf *out)
{
	int r;
	if (i >= TLOG_MAX_SIZE)
		return err_set(ERR_NOTFOUND, "log: there is no entry %llu", (unsigned long long)i);
	pthread_mutex_lock(&l->rmu);
	r = read_entry(l->r, l->r_entry, i, out);
	pthread_mutex_unlock(&l->rmu);
	return r;
}

/* Fail unless size <= the committed size (reader connection, rmu held). */
static int check_size(struct logdb *l, uint64_t size)
{
	uint64_t n;
	int r = step_u64(l->r, l->r_max, &n);
	if (!r && size > n)
		r = err_set(ERR_NOTFOUND, "log: tree size %llu is larger than the log (%llu entries)",
			    (unsigned long long)size, (unsigned long long)n);
	return r;
}

int logdb_root(struct logdb *l, uint64_t size, unsigned char root[TLOG_HASH_LEN])
{
	struct hread hr = {l->r, l->r_get};
	struct tlog_reader rd = {read_hash, &hr};
	int r;
	pthread_mutex_lock(&l->rmu);
	if (!(r = check_size(l, size)))
		r = tlog_tree_hash(size, &rd, root);
	pthread_mutex_unlock(&l->rmu);
	return r;
}

int logdb_prove(struct logdb *l, uint64_t index, uint64_t size, unsigned char (*proof)[TLOG_HASH_LEN],
		size_t *n)
{
	struct hread hr = {l->r, l->r_get};
	struct tlog_reader rd = {read_hash, &hr};
	int r;
	*n = 0;
	pthread_mutex_lock(&l->rmu);
	if (!(r = check_size(l, size)))
		r = tlog_prove_inclusion(index, size, &rd, proof, n);
	pthread_mutex_unlock(&l->rmu);
	return r;
}

int logdb_consistency(struct logdb *l, uint64_t m, uint64_t n, unsigned char (*proof)[TLOG_HASH_LEN],
		      size_t *n_proof)
{
	struct hread hr = {l->r, l->r_get};
	struct tlog_reader rd = {read_hash, &hr};
	int r;
	*n_proof = 0;
	pthread_mutex_lock(&l->rmu);
	if (!(r = check_size(l, n)))
		r = tlog_prove_consistency(m, n, &rd, proof, n_proof);
	pthread_mutex_unlock(&l->rmu);
	return r;
}

/* Parse the body of a stored checkpoint note into c (pointing into note). */
static int stored_checkpoint(const char *note, size_t len, uint64_t size, struct tlog_checkpoint *c)
{
	struct note_sig *sigs = xcalloc(NOTE_MAX_SIGS, sizeof(*sigs));
	struct str text;
	size_t n;
	int r = note_split(note, len, &text, sigs, &n);
	free(sigs);
	if (!r)
		r = tlog_checkpoint_parse(text.p, text.len, c);
	if (!r && c->size != size)
		r = err_set(ERR_CORRUPT, "log: stored checkpoint %llu says size %llu",
			    (unsigned long long)size, (unsigned long long)c->size);
	if (r) {
		char m[1024];
		return err_set(ERR_CORRUPT, "log: stored checkpoint of size %llu is damaged: %s",
			       (unsigned long long)size, saved(m));
	}
	return 0;
}

/* The latest stored checkpoint on connection db: *have, its size and its note. */
static int last_checkpoint(sqlite3 *db, int *have, uint64_t *size, struct buf *note)
{
	sqlite3_stmt *st;
	int rc, r = db_prepare(db, "SELECT size, note FROM log_checkpoints ORDER BY size DESC LIMIT 1", &st);
	*have = 0;
	if (r)
		return r;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		if (sqlite3_column_int64(st, 0) < 0 || sqlite3_column_bytes(st, 1) > (1 << 20))
			r = err_set(ERR_CORRUPT, "log: the last checkpoint row is damaged");
		else {
			*have = 1;
			*size = (uint64_t)sqlite3_column_int64(st, 0);
			r = buf_add(note, sqlite3_column_text(st, 1), (size_t)sqlite3_column_bytes(st, 1));
		}
	} else if (rc != SQLITE_DONE) {
		r = db_fail(db, "read the last checkpoint");
	}
	sqlite3_finalize(st);
	return r;
}

/* Append the stored cosignature lines of checkpoint size to out (a note ending in "\n"). */
static int add_cosignatures(sqlite3 *db, uint64_t size, struct buf *out)
{
	sqlite3_stmt *st;
	int rc, r = db_prepare(db, "SELECT line FROM log_cosignatures WHERE size = ? ORDER BY witness", &st);
	if (r)
		return r;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)size);
	while (!r && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *line = (const char *)sqlite3_column_text(st, 0);
		size_t len = (size_t)sqlite3_column_bytes(st, 0);
		if (!line || len < 5 || len > 1024 || memchr(line, '\n', len) || memcmp(line, "\xe2\x80\x94 ", 4))
			r = err_set(ERR_CORRUPT, "log: a stored cosignature of checkpoint %llu is damaged",
				    (unsigned long long)size);
		else if (!(r = buf_add(out, line, len)))
			r = buf_addch(out, '\n');
	}
	if (!r && rc != SQLITE_DONE)
		r = db_fail(db, "read cosignatures");
	sqlite3_finalize(st);
	return r;
}

int logdb_checkpoint_latest(struct logdb *l, struct buf *out, uint64_t *size)
{
	struct buf note;
	uint64_t m = 0;
	int have, r;
	buf_init(&note, 1 << 20);
	pthread_mutex_lock(&l->rmu);
	r = last_checkpoint(l->r, &have, &m, &note);
	if (!r && !have)
		r = err_set(ERR_NOTFOUND, "log: no checkpoint has been signed yet");
	if (!r && !(r = buf_add(out, note.p, note.len)))
		r = add_cosignatures(l->r, m, out);
	pthread_mutex_unlock(&l->rmu);
	if (!r && size)
		*size = m;
	buf_release(&note);
	return r;
}

int logdb_health(struct logdb *l, struct logdb_health *h)
{
	sqlite3_stmt *st = NULL;
	int rc, r;
	memset(h, 0, sizeof(*h));
	if ((r = logdb_size(l, &h->entries)))
		return r;
	pthread_mutex_lock(&l->rmu);
	if (!(r = db_prepare(l->r, "SELECT size, signed_at FROM log_checkpoints ORDER BY size DESC LIMIT 1", &st))) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW && sqlite3_column_int64(st, 0) >= 0) {
			h->checkpoint_size = (uint64_t)sqlite3_column_int64(st, 0);
			h->checkpoint_at = sqlite3_column_int64(st, 1);
		} else if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
			r = db_fail(l->r, "read the last checkpoint");
		}
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&l->rmu);
	return r;
}

int logdb_witnesses_each(struct logdb *l,
			 int (*fn)(void *ctx, const char *name, uint64_t size, int64_t at), void *ctx)
{
	sqlite3_stmt *st = NULL;
	int rc = SQLITE_DONE, r;
	/* the rows are read under the lock, the callback runs without it */
	struct wrow { char name[128]; uint64_t size; int64_t at; } *rows = NULL;
	size_t n = 0, cap = 0;
	pthread_mutex_lock(&l->rmu);
	r = db_prepare(l->r, "SELECT witness, max(size), max(added_at) FROM log_cosignatures GROUP BY witness "
			     "ORDER BY witness LIMIT 1000", &st);
	while (!r && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		if (n == cap)
			rows = xrealloc(rows, (cap = cap ? 2 * cap : 16) * sizeof(*rows));
		snprintf(rows[n].name, sizeof(rows[n].name), "%s", name ? name : "");
		rows[n].size = (uint64_t)(sqlite3_column_int64(st, 1) < 0 ? 0 : sqlite3_column_int64(st, 1));
		rows[n].at = sqlite3_column_int64(st, 2);
		n++;
	}
	if (!r && rc != SQLITE_DONE)
		r = db_fail(l->r, "read cosignatures");
	sqlite3_finalize(st);
	pthread_mutex_unlock(&l->rmu);
	for (size_t i = 0; !r && i < n; i++)
		r = fn(ctx, rows[i].name, rows[i].size, rows[i].at);
	free(rows);
	return r;
}

int logdb_checkpoint_at(struct logdb *l, uint64_t size, struct buf *out)
{
	sqlite3_stmt *st = NULL;
	int rc, r;
	pthread_mutex_lock(&l->rmu);
	r = db_prepare(l->r, "SELECT note FROM log_checkpoints WHERE size = ?", &st);
	if (!r) {
		sqlite3_bind_int64(st, 1, (sqlite3_int64)size);
		rc = sqlite3_step(st);
		if (rc == SQLITE_DONE)
			r = err_set(ERR_NOTFOUND, "log: no checkpoint of size %llu was signed; see 'sealroom log checkpoint'",
				    (unsigned long long)size);
		else if (rc != SQLITE_ROW)
			r = db_fail(l->r, "read a checkpoint");
		else if (sqlite3_column_bytes(st, 0) > (1 << 20))
			r = err_set(ERR_CORRUPT, "log: checkpoint %llu is too large", (unsigned long long)size);
		else
			r = buf_add(out, sqlite3_column_text(st, 0), (size_t)sqlite3_column_bytes(st, 0));
	}
	sqlite3_finalize(st);
	if (!r)
		r = add_cosignatures(l->r, size, out);
	pthread_mutex_unlock(&l->rmu);
	return r;
}

/*
 * Inside the writer's transaction: check that the tree still holds the last checkpoint and
 * sign a new one over all committed entries if it grew. *size gets the latest size.
 */
static int checkpoint_tx(struct logdb *l, const struct note_signer *s, uint64_t *size)
{
	struct hread hr = {l->w, l->w_get};
	struct tlog_reader rd = {read_hash, &hr};
	unsigned char root[TLOG_HASH_LEN], old[TLOG_HASH_LEN], proof[TLOG_MAX_PROOF][TLOG_HASH_LEN];
	struct tlog_checkpoint c;
	struct buf last, body, note;
	sqlite3_stmt *st = NULL;
	uint64_t n, m = 0;
	size_t np;
	int have, r;
	buf_init(&last, 1 << 20);
	buf_init(&body, 4096);
	buf_init(&note, 8192);
	if ((r = size_tx(l, &n)) || (r = last_checkpoint(l->w, &have, &m, &last)))
		goto out;
	if (have) {
		if ((r = stored_checkpoint(last.p, last.len, m, &c)))
			goto out;
		if (m > n) {
			r = err_set(ERR_CORRUPT, "log: the last checkpoint covers %llu entries but the log holds %llu; "
				    "refusing to sign (was the database rolled back?)",
				    (unsigned long long)m, (unsigned long long)n);
			goto out;
		}
		if ((r = tlog_tree_hash(m, &rd, old)))
			goto out;
		if (sodium_memcmp(old, c.root, TLOG_HASH_LEN)) {
			r = err_set(ERR_CORRUPT, "log: the tree no longer matches the checkpoint of size %llu; "
				    "refusing to sign", (unsigned long long)m);
			goto out;
		}
		if (m == n) {
			*size = m;
			goto out;
		}
	}
	if ((r = tlog_tree_hash(n, &rd, root)))
		goto out;
	if (have && m) {
		if ((r = tlog_prove_consistency(m, n, &rd, proof, &np)) ||
		    (r = tlog_verify_consistency(m, n, c.root, TLOG_HASH_LEN, root, TLOG_HASH_LEN,
						 (const unsigned char (*)[TLOG_HASH_LEN])proof, np))) {
			char msg[1024];
			r = err_set(ERR_CORRUPT, "log: refusing to sign size %llu: %s", (unsigned long long)n, saved(msg));
			goto out;
		}
	}
	if ((r = tlog_checkpoint_format(&body, facility_name(l->f), n, root)) ||
	    (r = note_sign(body.p, body.len, s, &note)) ||
	    (r = db_prepare(l->w, "INSERT INTO log_checkpoints (size, note, signed_at) VALUES (?, ?, ?)", &st)))
		goto out;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)n);
	sqlite3_bind_text(st, 2, note.p, (int)note.len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)time(NULL));
	if (sqlite3_step(st) != SQLITE_DONE) {
		r = db_fail(l->w, "store a checkpoint");
		goto out;
	}
	*size = n;
out:
	sqlite3_finalize(st);
	buf_release(&last);
	buf_release(&body);
	buf_release(&note);
	return r;
}

int logdb_checkpoint(struct logdb *l, struct buf *out, uint64_t *size)
{
	const struct note_signer *s;
	uint64_t n = 0;
	int r;
	if ((r = facility_signer(l->f, &s)))
		return r;
	pthread_mutex_lock(&l->wmu);
	r = db_begin(l->w);
	if (!r && !(r = checkpoint_tx(l, s, &n)))
		r = db_commit(l->w);
	if (r)
		db_rollback(l->w);
	pthread_mutex_unlock(&l->wmu);
	if (!r)
		r = logdb_checkpoint_at(l, n, out);
	if (!r && size)
		*size = n;
	return r;
}

int logdb_add_cosignature(struct logdb *l, const char *note, size_t len, const char *name,
			  const char *sig_line, size_t line_len)
{
	struct note_sig *sigs = xcalloc(NOTE_MAX_SIGS, sizeof(*sigs));
	struct tlog_checkpoint c;
	struct str text;
	struct buf stored;
	sqlite3_stmt *st = NULL;
	size_t n;
	int r;
	buf_init(&stored, 1 << 20);
	if ((r = note_split(note, len, &text, sigs, &n)) || (r = tlog_checkpoint_parse(text.p, text.len, &c)))
		goto out;
	if ((r = logdb_checkpoint_at(l, c.size, &stored)))
		goto out;
	if (stored.len < text.len + 1 || memcmp(stored.p, text.p, text.len) || stored.p[text.len] != '\n') {
		r = err_set(ERR_AUTH, "log: checkpoint of size %llu is not the one this log signed",
			    (unsigned long long)c.size);
		goto out;
	}
	if (line_len > 1024 || memchr(sig_line, '\n', line_len)) {
		r = err_set(ERR_PARSE, "log: malformed cosignature line");
		goto out;
	}
	pthread_mutex_lock(&l->wmu);
	r = db_prepare(l->w, "INSERT OR REPLACE INTO log_cosignatures (size, witness, line, added_at) "
			     "VALUES (?, ?, ?, ?)", &st);
	if (!r) {
		sqlite3_bind_int64(st, 1, (sqlite3_int64)c.size);
		sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, sig_line, (int)line_len, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, (sqlite3_int64)time(NULL));
		if (sqlite3_step(st) != SQLITE_DONE)
			r = db_fail(l->w, "store a cosignature");
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&l->wmu);
out:
	free(sigs);
	buf_release(&stored);
	return r;
}

/*
 * Tile (level, idx, w) of a tree of size leaves, from the reader (rmu held). level -1 is
 * the entry bundle. ERR_NOTFOUND when the tree does not reach that far.
 */
static int read_tile(struct logdb *l, uint64_t size, int level, uint64_t idx, unsigned w, struct buf *out)
{
	struct hread hr = {l->r, l->r_get};
	uint64_t first, avail = level < 0 ? size : (8 * level >= 64 ? 0 : size >> (8 * level));
	int r = 0;
	if (__builtin_mul_overflow(idx, (uint64_t)TLOG_TILE_WIDTH, &first) || first + w > avail || first + w < first)
		return err_set(ERR_NOTFOUND, "log: that tile is beyond the tree (size %llu)", (unsigned long long)size);
	for (unsigned i = 0; i < w && !r; i++) {
		if (level < 0) {
			size_t at = out->len;
			if (!(r = buf_add(out, "\0\0", 2)) && !(r = read_entry(l->r, l->r_entry, first + i, out))) {
				size_t el = out->len - at - 2;
				out->p[at] = (char)(el >> 8);
				out->p[at + 1] = (char)(el & 0xff);
			}
		} else {
			unsigned char h[TLOG_HASH_LEN];
			if (!(r = read_hash(&hr, tlog_stored_index(8 * level, first + i), h)))
				r = buf_add(out, h, TLOG_HASH_LEN);
		}
	}
	return r;
}

int logdb_tile(struct logdb *l, const char *path, struct buf *out)
{
	uint64_t idx, size;
	unsigned w;
	int level, r;
	if (!strcmp(path, "checkpoint"))
		return logdb_checkpoint_latest(l, out, NULL);
	if ((r = tlog_tile_path_parse(path, &level, &idx, &w)))
		return r;
	pthread_mutex_lock(&l->rmu);
	r = step_u64(l->r, l->r_max, &size);
	if (!r)
		r = read_tile(l, size, level, idx, w, out);
	pthread_mutex_unlock(&l->rmu);
	return r;
}

/* Create every missing parent folder of path (mode 0755). */
static int mkparents(char *path)
{
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(path, 0755) < 0 && errno != EEXIST) {
			int e = errno;
			*p = '/';
			return err_set(ERR_IO, "cannot create '%s': %s", path, strerror(e));
		}
		*p = '/';
	}
	return 0;
}

static int write_file(const char *dir, const char *rel, const void *p, size_t len)
{
	struct buf path;
	const char *c = p;
	int fd, r = 0;
	buf_init(&path, 8192);
	if ((r = buf_addf(&path, "%s/%s", dir, rel)) || (r = mkparents(path.p)))
		goto out;
	fd = open(path.p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		r = err_set(ERR_IO, "cannot create '%s': %s", path.p, strerror(errno));
		goto out;
	}
	while (len && !r) {
		ssize_t n = write(fd, c, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			r = err_set(ERR_IO, "cannot write '%s': %s", path.p, strerror(errno));
		else
			c += n, len -= (size_t)n;
	}
	if (close(fd) < 0 && !r)
		r = err_set(ERR_IO, "cannot write '%s': %s", path.p, strerror(errno));
out:
	buf_release(&path);
	return r;
}

/* Write tile (level, t, w) of size to dir under its tlog-tiles path (rmu held). */
static int export_tile(struct logdb *l, const char *dir, uint64_t size, int level, uint64_t t, unsigned w)
{
	struct buf rel, data;
	int r;
	buf_init(&rel, 256);
	buf_init(&data, (size_t)TLOG_TILE_WIDTH * (LOGDB_ENTRY_MAX + 2));
	if (level < 0)
		r = buf_addstr(&rel, "tile/entries/");
	else
		r = buf_addf(&rel, "tile/%d/", level);
	if (!r)
		r = tlog_tile_index_path(&rel, t);
	if (!r && w < TLOG_TILE_WIDTH)
		r = buf_addf(&rel, ".p/%u", w);
	if (!r)
		r = read_tile(l, size, level, t, w, &data);
	if (!r)
		r = write_file(dir, rel.p, data.p, data.len);
	buf_release(&rel);
	buf_release(&data);
	return r;
}

int logdb_export(struct logdb *l, const char *dir, uint64_t *size, uint64_t *n_files)
{
	struct buf cp;
	uint64_t s = 0, files = 1;
	int r;
	buf_init(&cp, 1 << 20);
	if ((r = logdb_checkpoint(l, &cp, &s)))
		goto out;
	pthread_mutex_lock(&l->rmu);
	for (int level = -1; !r && level < 8; level++) {
		uint64_t cnt = level < 0 ? s : s >> (8 * level);
		if (level >= 0 && !cnt)
			break;
		for (uint64_t t = 0; !r && t < cnt / TLOG_TILE_WIDTH; t++, files++)
			r = export_tile(l, dir, s, level, t, TLOG_TILE_WIDTH);
		if (!r && cnt % TLOG_TILE_WIDTH) {
			r = export_tile(l, dir, s, level, cnt / TLOG_TILE_WIDTH, (unsigned)(cnt % TLOG_TILE_WIDTH));
			files++;
		}
	}
	pthread_mutex_unlock(&l->rmu);
	/* the checkpoint last: a reader that sees it finds every tile it names */
	if (!r)
		r = write_file(dir, "checkpoint", cp.p, cp.len);
	if (!r && size)
		*size = s;
	if (!r && n_files)
		*n_files = files;
out:
	buf_release(&cp);
	return r;
}

/* ---- offline verification ---- */

/* The compact range of a prefix: one hash per complete subtree, left to right. */
struct crange {
	unsigned char h[64][TLOG_HASH_LEN];
	int top;
	uint64_t n;
};

/* Push leaf; out gets the hashes a log stores for it (leaf, then each merged node). */
static size_t crange_push(struct crange *c, const unsigned char leaf[TLOG_HASH_LEN],
			  unsigned char (*out)[TLOG_HASH_LEN])
{
	size_t k = 1;
	memcpy(c->h[c->top++], leaf, TLOG_HASH_LEN);
	memcpy(out[0], leaf, TLOG_HASH_LEN);
	c->n++;
	for (uint64_t x = c->n; !(x & 1); x >>= 1) {
		tlog_node_hash(c->h[c->top - 2], c->h[c->top - 1], c->h[c->top - 2]);
		c->top--;
		memcpy(out[k++], c->h[c->top - 1], TLOG_HASH_LEN);
	}
	return k;
}

static void crange_root(const struct crange *c, unsigned char out[TLOG_HASH_LEN])
{
	if (!c->top) {
		tlog_empty_root(out);
		return;
	}
	memcpy(out, c->h[c->top - 1], TLOG_HASH_LEN);
	for (int j = c->top - 2; j >= 0; j--)
		tlog_node_hash(c->h[j], out, out);
}

/* Open a checkpoint note signed by v whose origin is v's name. */
static int open_checkpoint(const char *note, size_t len, const struct note_verifier *v,
			   struct tlog_checkpoint *c, const char *what)
{
	struct str text;
	const char *name = note_verifier_name(v);
	char m[1024];
	if (note_open(note, len, v, &text) || tlog_checkpoint_parse(text.p, text.len, c))
		return err_set(ERR_AUTH, "%s: %s", what, saved(m));
	if (c->origin.len != strlen(name) || memcmp(c->origin.p, name, c->origin.len))
		return err_set(ERR_AUTH, "%s: origin '%.*s' is not the log '%s'", what,
			       (int)(c->origin.len > 100 ? 100 : c->origin.len), c->origin.p, name);
	return 0;
}

static void b64(char out[45], const unsigned char h[TLOG_HASH_LEN])
{
	sodium_bin2base64(out, 45, h, TLOG_HASH_LEN, sodium_base64_VARIANT_ORIGINAL);
}

/* A root computed at a checkpoint's size must be the one signed. */
static int check_root(const unsigned char got[TLOG_HASH_LEN], const struct tlog_checkpoint *c, const char *what)
{
	char a[45], b[45];
	if (!sodium_memcmp(got, c->root, TLOG_HASH_LEN))
		return 0;
	b64(a, got);
	b64(b, c->root);
	return err_set(ERR_AUTH, "%s of size %llu does not match the entries: they give root %s, it signed %s; "
		       "an entry below %llu was changed, inserted, deleted or reordered",
		       what, (unsigned long long)c->size, a, b, (unsigned long long)c->size);
}

struct cpoint {
	uint64_t size;
	struct tlog_checkpoint c;
	char *note;
};

/* Load and check every stored checkpoint (ascending size) from db. */
static int load_checkpoints(sqlite3 *db, const struct note_verifier *v, struct cpoint **out, size_t *n)
{
	sqlite3_stmt *st;
	size_t cap = 0;
	int rc, r = db_prepare(db, "SELECT size, note FROM log_checkpoints ORDER BY size", &st);
	*out = NULL;
	*n = 0;
	if (r)
	{
		char m[1024];
		return err_set(ERR_PARSE, "not a sealroom log database: %s", saved(m));
	}
	while (!r && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct cpoint *cp;
		char what[64];
		size_t len = (size_t)sqlite3_column_bytes(st, 1);
		sqlite3_int64 sz = sqlite3_column_int64(st, 0);
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			*out = xrealloc(*out, cap * sizeof(**out));
		}
		cp = &(*out)[*n];
		if (sz < 0 || len > (1 << 20)) {
			r = err_set(ERR_CORRUPT, "a stored checkpoint row is damaged");
			break;
		}
		cp->size = (uint64_t)sz;
		cp->note = xstrndup((const char *)sqlite3_column_text(st, 1), len);
		(*n)++;
		snprintf(what, sizeof(what), "checkpoint of size %llu", (unsigned long long)sz);
		if (!(r = open_checkpoint(cp->note, len, v, &cp->c, what)) && cp->c.size != cp->size)
			r = err_set(ERR_AUTH, "%s is stored under size %llu", what, (unsigned long long)cp->size);
	}
	if (!r && rc != SQLITE_DONE)
		r = db_fail(db, "read checkpoints");
	sqlite3_finalize(st);
	return r;
}

static void free_checkpoints(struct cpoint *cps, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(cps[i].note);
	free(cps);
}

/* Check the --from checkpoint against a root of its size computed from the entries. */
static int check_from(const struct tlog_checkpoint *from, const unsigned char got[TLOG_HASH_LEN])
{
	char a[45], b[45];
	if (!sodium_memcmp(got, from->root, TLOG_HASH_LEN))
		return 0;
	b64(a, got);
	b64(b, from->root);
	return err_set(ERR_AUTH, "the log's history was rewritten: its first %llu entries give root %s, "
		       "but the checkpoint you saw (--from) signed %s",
		       (unsigned long long)from->size, a, b);
}

int logdb_verify(const char *db_path, const struct note_verifier *v, const char *from, size_t from_len,
		 struct logdb_verified *res)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *se = NULL, *sh = NULL;
	struct cpoint *cps = NULL;
	size_t n_cps = 0, next_cp = 0;
	struct tlog_checkpoint fc, *latest;
	struct crange *cr = xcalloc(1, sizeof(*cr));
	unsigned char root[TLOG_HASH_LEN];
	uint64_t i = 0, hid = 0;
	int r, rc;
	memset(res, 0, sizeof(*res));
	if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		r = err_set(ERR_NOTFOUND, "cannot open database '%s': %s", db_path, db ? sqlite3_errmsg(db) : "no memory");
		goto out;
	}
	sqlite3_busy_timeout(db, 10000);
	if ((r = db_exec(db, "BEGIN")))
		goto out;
	if (from && (r = open_checkpoint(from, from_len, v, &fc, "the --from checkpoint")))
		goto out;
	if ((r = load_checkpoints(db, v, &cps, &n_cps)))
		goto out;
	if (!n_cps) {
		r = err_set(ERR_NOTFOUND, "the log has no signed checkpoint to verify");
		goto out;
	}
	latest = &cps[n_cps - 1].c;
	res->size = latest->size;
	memcpy(res->root, latest->root, TLOG_HASH_LEN);
	if (from && fc.size > latest->size) {
		r = err_set(ERR_AUTH, "the log was rolled back: the checkpoint you saw (--from) has %llu entries, "
			    "the log's latest checkpoint only %llu", (unsigned long long)fc.size,
			    (unsigned long long)latest->size);
		goto out;
	}
	if ((r = db_prepare(db, "SELECT idx, data FROM log_entries ORDER BY idx", &se)) ||
	    (r = db_prepare(db, "SELECT id, hash FROM log_hashes ORDER BY id", &sh)))
		goto out;
	for (;;) {
		unsigned char leaf[TLOG_HASH_LEN], want[70][TLOG_HASH_LEN];
		size_t k;
		/* checkpoints and --from at the current prefix size */
		while (next_cp < n_cps && cps[next_cp].size == i) {
			crange_root(cr, root);
			if ((r = check_root(root, &cps[next_cp].c, "the checkpoint")))
				goto out;
			next_cp++;
		}
		if (from && fc.size == i) {
			crange_root(cr, root);
			if ((r = check_from(&fc, root)))
				goto out;
		}
		rc = sqlite3_step(se);
		if (rc == SQLITE_DONE)
			break;
		if (rc != SQLITE_ROW) {
			r = db_fail(db, "read entries");
			goto out;
		}
		if (sqlite3_column_int64(se, 0) != (sqlite3_int64)i) {
			r = err_set(ERR_AUTH, "entry %llu is missing: the next stored entry is %lld (deleted?)",
				    (unsigned long long)i, (long long)sqlite3_column_int64(se, 0));
			goto out;
		}
		if (i >= TLOG_MAX_SIZE) {
			r = err_set(ERR_TOOBIG, "the log has too many entries");
			goto out;
		}
		if ((r = logdb_entry_check(sqlite3_column_blob(se, 1), (size_t)sqlite3_column_bytes(se, 1)))) {
			char m[1024];
			r = err_set(ERR_AUTH, "entry %llu is not a valid log entry: %s", (unsigned long long)i, saved(m));
			goto out;
		}
		tlog_leaf_hash(sqlite3_column_blob(se, 1), (size_t)sqlite3_column_bytes(se, 1), leaf);
		k = crange_push(cr, leaf, want);
		for (size_t j = 0; j < k; j++, hid++) {
			if (sqlite3_step(sh) != SQLITE_ROW || sqlite3_column_int64(sh, 0) != (sqlite3_int64)hid ||
			    sqlite3_column_bytes(sh, 1) != TLOG_HASH_LEN ||
			    memcmp(sqlite3_column_blob(sh, 1), want[j], TLOG_HASH_LEN)) {
				r = err_set(ERR_AUTH, "entry %llu does not match the hashes stored when it was logged "
					    "(changed, inserted, deleted or reordered)", (unsigned long long)i);
				goto out;
			}
		}
		i++;
	}
	res->entries = i;
	if (next_cp < n_cps) {
		r = err_set(ERR_AUTH, "the log holds %llu entries but its checkpoint of size %llu covers more "
			    "(entries deleted or the log rolled back)", (unsigned long long)i,
			    (unsigned long long)cps[next_cp].size);
		goto out;
	}
	res->checkpoints = n_cps;
	if (from) {
		res->from = 1;
		res->from_size = fc.size;
	}
out:
	sqlite3_finalize(se);
	sqlite3_finalize(sh);
	if (db) {
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		sqlite3_close(db);
	}
	free_checkpoints(cps, n_cps);
	free(cr);
	return r;
}

/* Read dir/rel (at most max bytes) into out; ERR_NOTFOUND naming it when absent. */
static int read_rel(const char *dir, const char *rel, size_t max, struct buf *out)
{
	struct buf path;
	int r;
	buf_init(&path, 8192);
	buf_reset(out);
	out->max = max;
	r = buf_addf(&path, "%s/%s", dir, rel);
	if (!r && (r = buf_read_file(out, path.p))) {
		char m[1024];
		r = err_set(r == ERR_TOOBIG ? ERR_TOOBIG : ERR_NOTFOUND, "tiles: cannot read '%s': %s", rel, saved(m));
	}
	buf_release(&path);
	return r;
}

static int tile_rel(struct buf *rel, int level, uint64_t t, unsigned w)
{
	int r;
	buf_reset(rel);
	r = level < 0 ? buf_addstr(rel, "tile/entries/") : buf_addf(rel, "tile/%d/", level);
	if (!r)
		r = tlog_tile_index_path(rel, t);
	if (!r && w < TLOG_TILE_WIDTH)
		r = buf_addf(rel, ".p/%u", w);
	return r;
}

#define TILES_VERIFY_MAX ((uint64_t)1 << 24)

static int verify_tiles(const char *dir, const struct note_verifier *v, const char *from, size_t from_len,
			struct logdb_verified *res,
			int (*fn)(void *ctx, uint64_t i, const char *p, size_t len), void *ctx)
{
	struct buf cp, data, rel;
	struct tlog_checkpoint c, fc;
	unsigned char (*cur)[TLOG_HASH_LEN] = NULL, (*next)[TLOG_HASH_LEN] = NULL, root[TLOG_HASH_LEN];
	uint64_t n, cnt;
	int r;
	memset(res, 0, sizeof(*res));
	buf_init(&cp, 1 << 20);
	buf_init(&data, 1);
	buf_init(&rel, 256);
	if ((r = read_rel(dir, "checkpoint", 1 << 20, &cp)) ||
	    (r = open_checkpoint(cp.p, cp.len, v, &c, "tiles checkpoint")))
		goto out;
	if (from && (r = open_checkpoint(from, from_len, v, &fc, "the --from checkpoint")))
		goto out;
	n = c.size;
	res->size = n;
	memcpy(res->root, c.root, TLOG_HASH_LEN);
	if (from && fc.size > n) {
		r = err_set(ERR_AUTH, "the log was rolled back: the checkpoint you saw (--from) has %llu entries, "
			    "the exported checkpoint only %llu", (unsigned long long)fc.size, (unsigned long long)n);
		goto out;
	}
	if (n > TILES_VERIFY_MAX) {
		r = err_set(ERR_TOOBIG, "tiles: %llu entries is more than this verifier holds in memory",
			    (unsigned long long)n);
		goto out;
	}
	cur = xmalloc((size_t)(n ? n : 1) * TLOG_HASH_LEN);
	/* entry bundles: each entry is checked and hashed */
	for (uint64_t t = 0; t * TLOG_TILE_WIDTH < n; t++) {
		uint64_t first = t * TLOG_TILE_WIDTH;
		unsigned w = (unsigned)(n - first < TLOG_TILE_WIDTH ? n - first : TLOG_TILE_WIDTH);
		size_t pos = 0;
		if ((r = tile_rel(&rel, -1, t, w)) ||
		    (r = read_rel(dir, rel.p, (size_t)w * (LOGDB_ENTRY_MAX + 2), &data)))
			goto out;
		for (unsigned i = 0; i < w; i++) {
			size_t el;
			if (data.len - pos < 2 || (el = (size_t)((unsigned char)data.p[pos] << 8 |
							     (unsigned char)data.p[pos + 1])) > data.len - pos - 2) {
				r = err_set(ERR_AUTH, "entry %llu: '%s' is truncated", (unsigned long long)(first + i), rel.p);
				goto out;
			}
			if ((r = logdb_entry_check(data.p + pos + 2, el))) {
				char m[1024];
				r = err_set(ERR_AUTH, "entry %llu is not a valid log entry: %s",
					    (unsigned long long)(first + i), saved(m));
				goto out;
			}
			if (fn && (r = fn(ctx, first + i, data.p + pos + 2, el)))
				goto out;
			tlog_leaf_hash(data.p + pos + 2, el, cur[first + i]);
			pos += 2 + el;
		}
		if (pos != data.len) {
			r = err_set(ERR_AUTH, "'%s' holds more than its %u entries", rel.p, w);
			goto out;
		}
	}
	tlog_root((const unsigned char (*)[TLOG_HASH_LEN])cur, n, root);
	if ((r = check_root(root, &c, "the exported checkpoint")))
		goto out;
	if (from) {
		tlog_root((const unsigned char (*)[TLOG_HASH_LEN])cur, fc.size, root);
		if ((r = check_from(&fc, root)))
			goto out;
		res->from = 1;
		res->from_size = fc.size;
	}
	/* the hash tiles, level by level, must be the ones the entries give */
	cnt = n;
	for (int level = 0; cnt; level++) {
		for (uint64_t t = 0; t * TLOG_TILE_WIDTH < cnt; t++) {
			uint64_t first = t * TLOG_TILE_WIDTH;
			unsigned w = (unsigned)(cnt - first < TLOG_TILE_WIDTH ? cnt - first : TLOG_TILE_WIDTH);
			if ((r = tile_rel(&rel, level, t, w)) ||
			    (r = read_rel(dir, rel.p, (size_t)TLOG_TILE_WIDTH * TLOG_HASH_LEN, &data)))
				goto out;
			if (data.len != (size_t)w * TLOG_HASH_LEN) {
				r = err_set(ERR_AUTH, "'%s' is %zu bytes, not %u hashes", rel.p, data.len, w);
				goto out;
			}
			for (unsigned i = 0; i < w; i++)
				if (memcmp(data.p + (size_t)i * TLOG_HASH_LEN, cur[first + i], TLOG_HASH_LEN)) {
					if (level == 0)
						r = err_set(ERR_AUTH, "entry %llu does not match its hash in '%s'",
							    (unsigned long long)(first + i), rel.p);
					else
						r = err_set(ERR_AUTH, "hash %u of '%s' does not match the entries", i, rel.p);
					goto out;
				}
		}
		cnt /= TLOG_TILE_WIDTH;
		free(next);
		next = xmalloc((size_t)(cnt ? cnt : 1) * TLOG_HASH_LEN);
		for (uint64_t j = 0; j < cnt; j++)
			tlog_root((const unsigned char (*)[TLOG_HASH_LEN])cur + j * TLOG_TILE_WIDTH, TLOG_TILE_WIDTH, next[j]);
		free(cur);
		cur = next;
		next = NULL;
	}
	res->entries = n;
	res->checkpoints = 1;
out:
	free(cur);
	free(next);
	buf_release(&cp);
	buf_release(&data);
	buf_release(&rel);
	return r;
}

int logdb_verify_tiles(const char *dir, const struct note_verifier *v, const char *from, size_t from_len,
		       struct logdb_verified *res)
{
	return verify_tiles(dir, v, from, from_len, res, NULL, NULL);
}

int logdb_tiles_each(const char *dir, const struct note_verifier *v,
		     int (*fn)(void *ctx, uint64_t i, const char *p, size_t len), void *ctx,
		     struct logdb_verified *res)
{
	return verify_tiles(dir, v, NULL, 0, res, fn, ctx);
}
