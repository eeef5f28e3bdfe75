/* test_logdb: the SQLite log: concurrent appends, checkpoints, proofs, tiles, verify, witness. */
#include <pthread.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "auth.h"
#include "db.h"
#include "facility.h"
#include "logdb.h"
#include "test.h"
#include "witness.h"

static char tmp[256];
static struct facility *fac;

static struct note_verifier *facility_verifier(void)
{
	const struct note_signer *s;
	struct note_verifier *v = NULL;
	struct buf b;
	buf_init(&b, 4096);
	if (facility_signer(fac, &s) || note_signer_vkey(s, &b) || note_verifier_parse(b.p, b.len, &v))
		abort();
	buf_release(&b);
	return v;
}

static json_t *entry(const char *type, const char *actor, int i)
{
	return json_pack("{s:s, s:s, s:i}", "type", type, "actor", actor, "n", i);
}

#define THREADS 8
#define PER_THREAD 100

struct worker {
	struct logdb *l;
	uint64_t idx[PER_THREAD];
	int fails;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	for (int i = 0; i < PER_THREAD; i++) {
		json_t *e = entry("view", "worker", i);
		if (logdb_append(w->l, e, &w->idx[i]))
			w->fails++;
		json_decref(e);
	}
	return NULL;
}

TEST(append_concurrent)
{
	struct logdb *l;
	struct worker w[THREADS];
	pthread_t th[THREADS];
	static char seen[THREADS * PER_THREAD];
	uint64_t n = 0;
	struct buf b;
	CHECK(logdb_open(fac, &l) == 0);
	for (int t = 0; t < THREADS; t++) {
		w[t].l = l;
		w[t].fails = 0;
		pthread_create(&th[t], NULL, work, &w[t]);
	}
	for (int t = 0; t < THREADS; t++) {
		pthread_join(th[t], NULL);
		CHECK(w[t].fails == 0);
		for (int i = 0; i < PER_THREAD; i++) {
			CHECK(w[t].idx[i] < THREADS * PER_THREAD);
			if (w[t].idx[i] < THREADS * PER_THREAD) {
				CHECK(!seen[w[t].idx[i]]);
				seen[w[t].idx[i]] = 1;
			}
		}
	}
	CHECK(logdb_size(l, &n) == 0 && n == THREADS * PER_THREAD);
	buf_init(&b, 1 << 16);
	CHECK(logdb_entry(l, 0, &b) == 0);
	CHECK(logdb_entry_check(b.p, b.len) == 0);
	CHECK(strstr(b.p, "\"time\":") && b.p[0] == '{' && !strchr(b.p, ' '));
	buf_reset(&b);
	CHECK(logdb_entry(l, n, &b) == ERR_NOTFOUND);
	buf_release(&b);
	logdb_free(l);
}

/* Two processes appending at once never share an index. */
TEST(append_two_processes)
{
	struct logdb *l;
	uint64_t before = 0, after = 0;
	pid_t pid;
	int st = 0;
	CHECK(logdb_open(fac, &l) == 0);
	CHECK(logdb_size(l, &before) == 0);
	pid = fork();
	if (pid == 0) {
		struct facility *f2;
		struct logdb *l2;
		int bad = 0;
		if (facility_open(tmp, &f2) || logdb_open(f2, &l2))
			_exit(3);
		for (int i = 0; i < 100; i++) {
			json_t *e = entry("search", "child", i);
			bad |= logdb_append(l2, e, NULL) != 0;
			json_decref(e);
		}
		logdb_free(l2);
		facility_free(f2);
		_exit(bad);
	}
	for (int i = 0; i < 100; i++) {
		json_t *e = entry("search", "parent", i);
		CHECK(logdb_append(l, e, NULL) == 0);
		json_decref(e);
	}
	waitpid(pid, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK(logdb_size(l, &after) == 0 && after == before + 200);
	logdb_free(l);
}

TEST(append_rejects)
{
	struct logdb *l;
	json_t *e;
	char *big = xmalloc(LOGDB_ENTRY_MAX + 1);
	CHECK(logdb_open(fac, &l) == 0);
	e = json_pack("{s:s}", "type", "view");
	CHECK(logdb_append(l, e, NULL) == ERR_USAGE);
	CHECK(strstr(err_msg(), "'actor'") != NULL);
	json_decref(e);
	e = json_pack("{s:s, s:s, s:s}", "type", "view", "actor", "a", "time", "now");
	CHECK(logdb_append(l, e, NULL) == ERR_USAGE);
	json_decref(e);
	e = json_array();
	CHECK(logdb_append(l, e, NULL) == ERR_USAGE);
	json_decref(e);
	/* at the limit and one past it */
	memset(big, 'x', LOGDB_ENTRY_MAX);
	big[LOGDB_ENTRY_MAX - 60] = 0;
	e = json_pack("{s:s, s:s, s:i, s:s}", "type", "v", "actor", "a", "time", 1, "pad", big);
	{
		char *s = json_dumps(e, JSON_COMPACT | JSON_SORT_KEYS);
		size_t len = strlen(s);
		free(s);
		/* pad the entry to exactly LOGDB_ENTRY_MAX bytes */
		big[LOGDB_ENTRY_MAX - 60 + (LOGDB_ENTRY_MAX - len)] = 0;
		big[LOGDB_ENTRY_MAX - 60] = 'x';
	}
	json_decref(e);
	e = json_pack("{s:s, s:s, s:i, s:s}", "type", "v", "actor", "a", "time", 1, "pad", big);
	CHECK(logdb_append(l, e, NULL) == 0);
	json_object_set_new(e, "pad", json_sprintf("%sx", big));
	CHECK(logdb_append(l, e, NULL) == ERR_TOOBIG);
	json_decref(e);
	CHECK(logdb_entry_check("{\"actor\":\"a\",\"time\":1,\"type\":\"v\"}", strlen("{\"actor\":\"a\",\"time\":1,\"type\":\"v\"}")) == 0);
	CHECK(logdb_entry_check("{\"type\":\"v\",\"actor\":\"a\",\"time\":1}", strlen("{\"type\":\"v\",\"actor\":\"a\",\"time\":1}")) == ERR_PARSE);
	CHECK(logdb_entry_check("{\"actor\": \"a\",\"time\":1,\"type\":\"v\"}", strlen("{\"actor\": \"a\",\"time\":1,\"type\":\"v\"}")) == ERR_PARSE);
	CHECK(logdb_entry_check("{\"actor\":\"a\",\"type\":\"v\"}", strlen("{\"actor\":\"a\",\"type\":\"v\"}")) == ERR_PARSE);
	free(big);
	logdb_free(l);
}

TEST(checkpoint_proofs_tiles)
{
	struct logdb *l;
	struct note_verifier *v = facility_verifier();
	struct buf cp, cp2, t, dir;
	struct str text, note;
	struct tlog_checkpoint c, c2;
	unsigned char proof[TLOG_MAX_PROOF][TLOG_HASH_LEN], leaf[TLOG_HASH_LEN], root[TLOG_HASH_LEN];
	struct logdb_verified res;
	uint64_t size = 0, size2 = 0, idx;
	size_t np;
	struct buf e;
	buf_init(&cp, 1 << 20);
	buf_init(&cp2, 1 << 20);
	buf_init(&t, 1 << 24);
	buf_init(&e, 1 << 17);
	buf_init(&dir, 1024);
	CHECK(logdb_open(fac, &l) == 0);
	CHECK(logdb_checkpoint(l, &cp, &size) == 0);
	CHECK(note_open(cp.p, cp.len, v, &text) == 0);
	CHECK(tlog_checkpoint_parse(text.p, text.len, &c) == 0);
	CHECK(c.size == size && c.origin.len == strlen("test.example"));
	/* signing again without new entries returns the same checkpoint */
	CHECK(logdb_checkpoint(l, &cp2, &size2) == 0 && size2 == size && cp.len == cp2.len &&
	      !memcmp(cp.p, cp2.p, cp.len));
	for (int i = 0; i < 300; i++) {
		json_t *j = entry("print", "carol", i);
		CHECK(logdb_append(l, j, &idx) == 0);
		json_decref(j);
	}
	buf_reset(&cp2);
	CHECK(logdb_checkpoint(l, &cp2, &size2) == 0 && size2 == size + 300);
	CHECK(note_open(cp2.p, cp2.len, v, &text) == 0 && tlog_checkpoint_parse(text.p, text.len, &c2) == 0);
	/* inclusion of a few entries in both checkpoints */
	for (uint64_t i = 0; i < size2; i += 97) {
		buf_reset(&e);
		CHECK(logdb_entry(l, i, &e) == 0);
		tlog_leaf_hash(e.p, e.len, leaf);
		CHECK(logdb_prove(l, i, size2, proof, &np) == 0);
		CHECK(tlog_verify_inclusion(i, size2, leaf, 32, (const unsigned char (*)[32])proof, np, c2.root, 32) == 0);
	}
	CHECK(logdb_prove(l, size2, size2, proof, &np) != 0);
	CHECK(logdb_prove(l, 0, size2 + 1000, proof, &np) == ERR_NOTFOUND);
	CHECK(logdb_consistency(l, size, size2, proof, &np) == 0);
	CHECK(tlog_verify_consistency(size, size2, c.root, 32, c2.root, 32, (const unsigned char (*)[32])proof, np) == 0);
	CHECK(logdb_root(l, size2, root) == 0 && !memcmp(root, c2.root, 32));
	/* tiles served from the database */
	CHECK(logdb_tile(l, "tile/0/000", &t) == 0 && t.len == 256 * 32);
	buf_reset(&e);
	CHECK(logdb_entry(l, 5, &e) == 0);
	tlog_leaf_hash(e.p, e.len, leaf);
	CHECK(!memcmp(t.p + 5 * 32, leaf, 32));
	buf_reset(&t);
	CHECK(logdb_tile(l, "tile/0/000.p/3", &t) == 0 && t.len == 3 * 32);
	buf_reset(&t);
	CHECK(logdb_tile(l, "tile/entries/000.p/2", &t) == 0);
	CHECK(t.len > 4 && (size_t)((unsigned char)t.p[0] << 8 | (unsigned char)t.p[1]) < t.len);
	buf_reset(&t);
	CHECK(logdb_tile(l, "tile/0/999", &t) == ERR_NOTFOUND);
	CHECK(logdb_tile(l, "tile/0/../x", &t) == ERR_PARSE);
	CHECK(logdb_tile(l, "tile/3/000.p/1", &t) == ERR_NOTFOUND);
	buf_reset(&t);
	CHECK(logdb_tile(l, "checkpoint", &t) == 0 && t.len == cp2.len);
	/* export, then verify the tiles and the database */
	CHECK(buf_addf(&dir, "%s/export", tmp) == 0);
	CHECK(logdb_export(l, dir.p, &size2, NULL) == 0);
	CHECK(logdb_verify_tiles(dir.p, v, cp.p, cp.len, &res) == 0);
	CHECK(res.size == size2 && res.from && res.from_size == size);
	{
		char *db = facility_path(fac, "sealroom.db");
		CHECK(logdb_verify(db, v, cp.p, cp.len, &res) == 0);
		CHECK(res.size == size2 && res.checkpoints >= 2);
		/* a --from signed by someone else fails */
		static const char other[] = "x\n1\nAAAA\n\n\xe2\x80\x94 x AAAA\n";
		CHECK(logdb_verify(db, v, other, strlen(other), &res) == ERR_AUTH);
		free(db);
	}
	/* the proof text round-trips */
	{
		struct buf p;
		uint64_t pi;
		unsigned char got[TLOG_MAX_PROOF][32];
		size_t ng;
		buf_init(&p, 1 << 20);
		CHECK(logdb_prove(l, 7, size2, proof, &np) == 0);
		CHECK(tlog_proof_format(&p, 7, (const unsigned char (*)[32])proof, np, cp2.p, cp2.len) == 0);
		CHECK(tlog_proof_parse(p.p, p.len, &pi, got, &ng, &note) == 0);
		CHECK(pi == 7 && ng == np && note.len == cp2.len);
		buf_release(&p);
	}
	logdb_free(l);
	note_verifier_free(v);
	buf_release(&cp);
	buf_release(&cp2);
	buf_release(&t);
	buf_release(&e);
	buf_release(&dir);
}

TEST(witness_cosign)
{
	struct logdb *l;
	struct note_verifier *v = facility_verifier();
	const struct note_signer *fs;
	struct witness_verifier *wv = NULL;
	struct note_signer *ws = NULL;
	struct buf sk, vk, cp1, cp2, out, out2, wvk, fork_body, forked;
	struct str line, text;
	struct tlog_checkpoint c2;
	unsigned char proof[TLOG_MAX_PROOF][32], bad_root[32];
	uint64_t s1, s2, t;
	size_t np;
	char key[300];
	FILE *fp;
	buf_init(&sk, 4096);
	buf_init(&vk, 4096);
	buf_init(&cp1, 1 << 20);
	buf_init(&cp2, 1 << 20);
	buf_init(&out, 1 << 20);
	buf_init(&out2, 1 << 20);
	buf_init(&wvk, 4096);
	buf_init(&fork_body, 4096);
	buf_init(&forked, 4096);
	snprintf(key, sizeof(key), "%s/witness.key", tmp);
	CHECK(note_key_generate("auditor.example", &sk, &vk) == 0);
	fp = fopen(key, "w");
	fwrite(sk.p, 1, sk.len, fp);
	fclose(fp);
	chmod(key, 0600);
	CHECK(note_signer_load(key, &ws) == 0);
	CHECK(witness_vkey(ws, &wvk) == 0);
	CHECK(witness_verifier_parse(wvk.p, wvk.len, &wv) == 0);
	{
		struct witness_verifier *w1 = NULL;
		CHECK(witness_verifier_parse(vk.p, vk.len, &w1) == ERR_PARSE); /* an 0x01 key is not a cosigner key */
		CHECK(w1 == NULL);
	}
	CHECK(logdb_open(fac, &l) == 0);
	CHECK(logdb_checkpoint(l, &cp1, &s1) == 0);
	/* first cosignature: nothing remembered yet */
	CHECK(witness_cosign(key, cp1.p, cp1.len, v, NULL, 0, &out) == 0);
	CHECK(witness_check(wv, out.p, out.len, &line, &t) == 0);
	CHECK(note_open(out.p, out.len, v, &text) == 0); /* still a valid checkpoint */
	CHECK(logdb_add_cosignature(l, out.p, out.len, witness_verifier_name(wv), line.p, line.len) == 0);
	buf_reset(&cp1);
	CHECK(logdb_checkpoint(l, &cp1, &s1) == 0);
	CHECK(witness_check(wv, cp1.p, cp1.len, &line, &t) == 0); /* the checkpoint carries it */
	/* a flipped byte in the cosignature is caught */
	{
		char *p = strstr(cp1.p, "auditor.example ");
		p[20] ^= 1;
		CHECK(witness_check(wv, cp1.p, cp1.len, &line, &t) != 0);
		p[20] ^= 1;
	}
	/* grow the log; without a proof the witness refuses, with one it cosigns */
	for (int i = 0; i < 10; i++) {
		json_t *j = entry("login", "dave", i);
		CHECK(logdb_append(l, j, NULL) == 0);
		json_decref(j);
	}
	CHECK(logdb_checkpoint(l, &cp2, &s2) == 0 && s2 == s1 + 10);
	buf_reset(&out2);
	CHECK(witness_cosign(key, cp2.p, cp2.len, v, NULL, 0, &out2) == ERR_DENIED);
	CHECK(strstr(err_msg(), "not proven consistent") != NULL);
	CHECK(logdb_consistency(l, s1, s2, proof, &np) == 0);
	CHECK(witness_cosign(key, cp2.p, cp2.len, v, (const unsigned char (*)[32])proof, np, &out2) == 0);
	/* the older checkpoint is now refused (rollback) */
	buf_reset(&out2);
	CHECK(witness_cosign(key, cp1.p, cp1.len, v, NULL, 0, &out2) == ERR_DENIED);
	CHECK(strstr(err_msg(), "rolled back") != NULL);
	/* a fork: same size, another root, signed by the facility key */
	CHECK(note_open(cp2.p, cp2.len, v, &text) == 0 && tlog_checkpoint_parse(text.p, text.len, &c2) == 0);
	memset(bad_root, 0x42, 32);
	CHECK(tlog_checkpoint_format(&fork_body, "test.example", s2, bad_root) == 0);
	CHECK(facility_signer(fac, &fs) == 0);
	CHECK(note_sign(fork_body.p, fork_body.len, fs, &forked) == 0);
	CHECK(witness_cosign(key, forked.p, forked.len, v, NULL, 0, &out2) == ERR_DENIED);
	CHECK(strstr(err_msg(), "forked") != NULL);
	/* a checkpoint this log did not sign cannot get a cosignature attached */
	CHECK(logdb_add_cosignature(l, forked.p, forked.len, "auditor.example", line.p, line.len) == ERR_AUTH);
	logdb_free(l);
	note_verifier_free(v);
	note_signer_free(ws);
	witness_verifier_free(wv);
	buf_release(&sk);
	buf_release(&vk);
	buf_release(&cp1);
	buf_release(&cp2);
	buf_release(&out);
	buf_release(&out2);
	buf_release(&wvk);
	buf_release(&fork_body);
	buf_release(&forked);
}

/* Tampering directly in SQLite is found by verify and refused by checkpoint signing. */
TEST(tamper)
{
	struct logdb *l;
	struct note_verifier *v = facility_verifier();
	struct logdb_verified res;
	struct buf cp;
	char *db = facility_path(fac, "sealroom.db");
	sqlite3 *h;
	uint64_t s;
	buf_init(&cp, 1 << 20);
	CHECK(logdb_open(fac, &l) == 0);
	CHECK(logdb_checkpoint(l, &cp, &s) == 0);
	CHECK(logdb_verify(db, v, cp.p, cp.len, &res) == 0);
	CHECK(db_open(db, 0, &h) == 0);
	CHECK(db_exec(h, "UPDATE log_entries SET data = 'x' WHERE idx = 3") == ERR_DB); /* the trigger */
	CHECK(db_exec(h, "DROP TRIGGER log_entries_append_only;"
			 "UPDATE log_entries SET data = replace(data, 'worker', 'wörker') WHERE idx = 3") == 0);
	CHECK(logdb_verify(db, v, cp.p, cp.len, &res) == ERR_AUTH);
	CHECK(strstr(err_msg(), "entry 3 ") != NULL);
	buf_reset(&cp);
	CHECK(logdb_checkpoint(l, &cp, &s) == 0); /* nothing new: the stored one */
	{
		json_t *j = entry("view", "eve", 0);
		CHECK(logdb_append(l, j, NULL) == 0);
		json_decref(j);
	}
	/* the stored hashes still hold the old entry, so signing still works: the hashes are the tree */
	db_close(h);
	logdb_free(l);
	note_verifier_free(v);
	buf_release(&cp);
	free(db);
}


/* The entry builder: every byte kept, invalid UTF-8 and NUL in base64, nothing dropped;
 * an unbuildable field refuses the entry; log, then act. */
static int acts;
static int count_act(void *ctx)
{
	acts++;
	return *(int *)ctx;
}

TEST(entry_builder)
{
	static const char odd[] = "bad-\xff\xfe-name\n\"\\\x01\x7f";
	struct logdb *l;
	struct buf b, raw;
	uint64_t n0, n1;
	json_t *e;
	int ok = 0, bad = ERR_CORRUPT;
	CHECK(logdb_open(fac, &l) == 0);
	buf_init(&b, LOGDB_ENTRY_MAX);
	buf_init(&raw, 0);
	CHECK(logdb_size(l, &n0) == 0);
	e = logdb_entry_new("view", "rita");
	logdb_entry_str(e, "path", odd);
	logdb_entry_strn(e, "nul", "a\0b", 3);
	logdb_entry_str(e, "plain", "caf\xc3\xa9 \"q\" \\ \n");
	logdb_entry_int(e, "n", -7);
	CHECK(json_object_get(e, "path") == NULL && json_is_string(json_object_get(e, "path_b64")));
	/* the base64 field holds the exact bytes */
	CHECK(buf_addunb64(&raw, json_string_value(json_object_get(e, "path_b64")),
			   json_string_length(json_object_get(e, "path_b64"))) == 0 &&
	      raw.len == strlen(odd) && !memcmp(raw.p, odd, raw.len));
	buf_reset(&raw);
	CHECK(json_object_get(e, "nul") == NULL &&
	      buf_addunb64(&raw, json_string_value(json_object_get(e, "nul_b64")),
			   json_string_length(json_object_get(e, "nul_b64"))) == 0 &&
	      raw.len == 3 && !memcmp(raw.p, "a\0b", 3));
	CHECK(json_is_string(json_object_get(e, "plain")));
	CHECK(logdb_append(l, e, NULL) == 0);
	json_decref(e);
	CHECK(logdb_size(l, &n1) == 0 && n1 == n0 + 1);
	/* what is stored decodes back to the exact bytes (base64 of python's oracle below) */
	CHECK(logdb_entry(l, n0, &b) == 0 && strstr(b.p, "\"path_b64\":\"YmFkLf/+LW5hbWUKIlwBfw==\"") != NULL);
	/* a field that could not be built: the entry is refused, nothing is appended */
	e = logdb_entry_new("view", "rita");
	logdb_entry_set(e, "lines", NULL);
	CHECK(logdb_append(l, e, NULL) == ERR_USAGE && strstr(err_msg(), "'lines'") != NULL);
	json_decref(e);
	CHECK(logdb_size(l, &n1) == 0 && n1 == n0 + 1);
	/* auth_log refuses what json_pack could not build (a string that is not UTF-8) */
	CHECK(auth_log(fac, "org_add", "olga", json_pack("{s:s}", "org", "\xff")) == ERR_USAGE);
	/* log, then act: the act runs after the entry, and never when there is none */
	acts = 0;
	CHECK(auth_log_then(fac, "note", "rita", NULL, count_act, &ok) == ERR_USAGE && acts == 0);
	CHECK(auth_log_then(fac, "note", "rita", json_object(), count_act, &ok) == 0 && acts == 1);
	CHECK(auth_log_then(fac, "note", "rita", json_object(), count_act, &bad) == ERR_CORRUPT && acts == 2);
	CHECK(logdb_size(l, &n1) == 0 && n1 == n0 + 3);
	buf_release(&b);
	buf_release(&raw);
	logdb_free(l);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	snprintf(tmp, sizeof(tmp), "%s/test_logdb.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(tmp))
		return 1;
	strncat(tmp, "/fac", sizeof(tmp) - strlen(tmp) - 1);
	if (facility_init(tmp, "test.example") || facility_open(tmp, &fac)) {
		fprintf(stderr, "facility: %s\n", err_msg());
		return 1;
	}
	RUN(append_concurrent);
	RUN(append_two_processes);
	RUN(append_rejects);
	RUN(checkpoint_proofs_tiles);
	RUN(witness_cosign);
	RUN(tamper);
	RUN(entry_builder);
	facility_free(fac);
	{
		char cmd[600];
		snprintf(cmd, sizeof(cmd), "rm -rf '%.*s'", (int)(strlen(tmp) - 4), tmp);
		if (system(cmd))
			fprintf(stderr, "could not remove %s\n", tmp);
	}
	return test_done();
}
