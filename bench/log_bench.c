/*
 * log_bench: the log's two budgets. (1) durable appends per second with many threads
 * appending at once (group commit), (2) inclusion and consistency proof time at a large
 * tree size. Usage: log_bench DIR THREADS PER_THREAD PROOF_SIZE
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "db.h"
#include "facility.h"
#include "logdb.h"

static struct logdb *lg;
static int per_thread;

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* "p50 X ms, p99 Y ms, max Z ms" of n timings (sorted in place). */
static void summary(const char *what, uint64_t size, double *t, int n)
{
	qsort(t, (size_t)n, sizeof(*t), cmp_d);
	printf("%s at %llu entries: p50 %.3f ms, p99 %.3f ms, max %.3f ms over %d (budget <= 1 ms)\n", what,
	       (unsigned long long)size, t[n / 2] * 1e3, t[n * 99 / 100] * 1e3, t[n - 1] * 1e3, n);
}

static double cpu_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void *work(void *arg)
{
	for (int i = 0; i < per_thread; i++) {
		json_t *e = json_pack("{s:s, s:s, s:s, s:s, s:[i,i], s:i}", "type", "view", "actor", "reviewer-1",
				      "release", "fw@1.0", "path", "src/net/filter.c", "lines", 10 * i, 10 * i + 40,
				      "thread", (int)(long)arg);
		if (logdb_append(lg, e, NULL)) {
			fprintf(stderr, "append: %s\n", err_msg());
			exit(1);
		}
		json_decref(e);
	}
	return NULL;
}

/* Bulk-load n entries straight into the tables (one transaction), as the log would hold them. */
static int bulk_load(const char *db_path, uint64_t n)
{
	sqlite3 *db;
	sqlite3_stmt *se, *sh;
	unsigned char (*stack)[32] = calloc(64, 32);
	int top = 0;
	uint64_t hid = 0;
	if (db_open(db_path, 0, &db) || db_exec(db, "BEGIN") ||
	    db_prepare(db, "INSERT INTO log_entries (idx, data) VALUES (?, ?)", &se) ||
	    db_prepare(db, "INSERT INTO log_hashes (id, hash) VALUES (?, ?)", &sh))
		return -1;
	for (uint64_t i = 0; i < n; i++) {
		char e[200];
		int len = snprintf(e, sizeof(e),
				   "{\"actor\":\"reviewer-%llu\",\"path\":\"src/f%llu.c\",\"time\":1700000000,\"type\":\"view\"}",
				   (unsigned long long)(i % 7), (unsigned long long)i);
		unsigned char add[70][32];
		size_t k = 1;
		tlog_leaf_hash(e, (size_t)len, add[0]);
		memcpy(stack[top++], add[0], 32);
		for (uint64_t x = i + 1; !(x & 1); x >>= 1) {
			tlog_node_hash(stack[top - 2], stack[top - 1], stack[top - 2]);
			top--;
			memcpy(add[k++], stack[top - 1], 32);
		}
		sqlite3_reset(se);
		sqlite3_bind_int64(se, 1, (sqlite3_int64)i);
		sqlite3_bind_blob(se, 2, e, len, SQLITE_STATIC);
		if (sqlite3_step(se) != SQLITE_DONE)
			return -1;
		for (size_t j = 0; j < k; j++) {
			sqlite3_reset(sh);
			sqlite3_bind_int64(sh, 1, (sqlite3_int64)hid++);
			sqlite3_bind_blob(sh, 2, add[j], 32, SQLITE_STATIC);
			if (sqlite3_step(sh) != SQLITE_DONE)
				return -1;
		}
	}
	sqlite3_finalize(se);
	sqlite3_finalize(sh);
	free(stack);
	if (db_exec(db, "COMMIT") || db_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)"))
		return -1;
	db_close(db);
	return 0;
}

int main(int argc, char **argv)
{
	struct facility *f;
	int threads;
	uint64_t psize, n0 = 0;
	double t0, t1;
	pthread_t th[1024];
	char dir2[4096];
	if (argc != 5 || sodium_init() < 0) {
		fprintf(stderr, "usage: log_bench DIR THREADS PER_THREAD PROOF_SIZE\n");
		return 2;
	}
	threads = atoi(argv[2]);
	per_thread = atoi(argv[3]);
	psize = strtoull(argv[4], NULL, 10);
	if (threads < 1 || threads > 1024 || per_thread < 1 || psize < 2)
		return 2;
	/* (1) group commit */
	if (facility_init(argv[1], "bench.example") || facility_open(argv[1], &f) || logdb_open(f, &lg)) {
		fprintf(stderr, "%s\n", err_msg());
		return 1;
	}
	t0 = now();
	for (int i = 0; i < threads; i++)
		pthread_create(&th[i], NULL, work, (void *)(long)i);
	for (int i = 0; i < threads; i++)
		pthread_join(th[i], NULL);
	t1 = now();
	if (logdb_size(lg, &n0) || n0 != (uint64_t)threads * (uint64_t)per_thread)
		return 1;
	printf("appends: %llu durable appends by %d threads in %.2f s = %.0f appends/s (budget >= 5000)\n",
	       (unsigned long long)n0, threads, t1 - t0, (double)n0 / (t1 - t0));
	logdb_free(lg);
	facility_free(f);

	/* (2) proofs at psize entries */
	snprintf(dir2, sizeof(dir2), "%s-proofs", argv[1]);
	if (facility_init(dir2, "bench.example") || facility_open(dir2, &f)) {
		fprintf(stderr, "%s\n", err_msg());
		return 1;
	}
	{
		char *p = facility_path(f, "sealroom.db");
		t0 = now();
		if (bulk_load(p, psize)) {
			fprintf(stderr, "bulk load: %s\n", err_msg());
			return 1;
		}
		printf("loaded %llu entries in %.1f s\n", (unsigned long long)psize, now() - t0);
		free(p);
	}
	if (logdb_open(f, &lg))
		return 1;
	{
		unsigned char proof[TLOG_MAX_PROOF][32], root[32], leaf[32];
		struct buf e, cp;
		size_t np;
		int reps = 2000;
		static double tm[2000], tc[2000];
		uint64_t sz;
		buf_init(&e, 1 << 17);
		buf_init(&cp, 1 << 20);
		t0 = now();
		if (logdb_checkpoint(lg, &cp, &sz) || sz != psize)
			return 1;
		printf("first checkpoint over %llu entries signed in %.2f ms\n", (unsigned long long)sz, (now() - t0) * 1e3);
		if (logdb_root(lg, psize, root))
			return 1;
		srand(1);
		for (int i = 0; i < reps; i++) {
			uint64_t idx = ((uint64_t)rand() * 65536u + (uint64_t)rand()) % psize;
			double a = now(), c = cpu_now(), d;
			if (logdb_prove(lg, idx, psize, proof, &np))
				return 1;
			d = now() - a;
			tm[i] = d;
			tc[i] = cpu_now() - c;
			buf_reset(&e);
			if (logdb_entry(lg, idx, &e))
				return 1;
			tlog_leaf_hash(e.p, e.len, leaf);
			if (tlog_verify_inclusion(idx, psize, leaf, 32, (const unsigned char (*)[32])proof, np, root, 32)) {
				fprintf(stderr, "proof %llu does not verify\n", (unsigned long long)idx);
				return 1;
			}
		}
		summary("inclusion proofs (wall)", psize, tm, reps);
		summary("inclusion proofs (cpu) ", psize, tc, reps);
		for (int i = 0; i < reps; i++) {
			uint64_t m = 1 + ((uint64_t)rand() * 65536u + (uint64_t)rand()) % (psize - 1);
			double a = now(), c = cpu_now(), d;
			if (logdb_consistency(lg, m, psize, proof, &np))
				return 1;
			d = now() - a;
			tm[i] = d;
			tc[i] = cpu_now() - c;
		}
		summary("consistency proofs (wall)", psize, tm, reps);
		summary("consistency proofs (cpu) ", psize, tc, reps);
		buf_release(&e);
		buf_release(&cp);
	}
	logdb_free(lg);
	facility_free(f);
	return 0;
}
