/* match: shipped artifacts against attested build outputs (see match.h). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "artifact.h"
#include "build.h"
#include "db.h"
#include "hash.h"
#include "logdb.h"
#include "match.h"

extern char **environ;

void match_verdict_release(struct match_verdict *v)
{
	free(v->artifact);
	free(v->output);
	free(v->detail);
	free(v->report);
	free(v->actor);
	memset(v, 0, sizeof(*v));
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

/* Is diffoscope on PATH? */
static int have_diffoscope(void)
{
	const char *path = getenv("PATH");
	char buf[4096];
	while (path && *path) {
		const char *c = strchr(path, ':');
		size_t n = c ? (size_t)(c - path) : strlen(path);
		if (n && n < sizeof(buf) - 16) {
			snprintf(buf, sizeof(buf), "%.*s/diffoscope", (int)n, path);
			if (access(buf, X_OK) == 0)
				return 1;
		}
		path = c ? c + 1 : NULL;
	}
	return 0;
}

/* Run diffoscope --text report old new; 0 when it ran (it exits 1 on a difference). */
static int run_diffoscope(const char *report, const char *old, const char *new_)
{
	char *argv[] = {"diffoscope", "--no-progress", "--text", (char *)report, (char *)old, (char *)new_, NULL};
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int st, rc;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	rc = posix_spawnp(&pid, "diffoscope", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc)
		return -1;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(st) && WEXITSTATUS(st) <= 1 ? 0 : -1;
}

static int keep_verdict(struct facility *f, struct match_verdict *v)
{
	struct logdb *l = NULL;
	sqlite3_stmt *st = NULL;
	char rel[260];
	json_t *e;
	int r;

	snprintf(rel, sizeof(rel), "%s@%s", v->product, v->version);
	e = logdb_entry_new("match", v->actor);
	logdb_entry_str(e, "release", rel);
	logdb_entry_str(e, "artifact", v->artifact);
	logdb_entry_str(e, "sha256", v->sha256);
	logdb_entry_str(e, "verdict", v->identical ? "identical" : "differs");
	logdb_entry_str(e, "build", v->invocation);
	if (v->output)
		logdb_entry_str(e, "output", v->output);
	if (v->detail[0])
		logdb_entry_str(e, "detail", v->detail);
	if ((r = facility_log(f, &l)) || (r = logdb_append(l, e, &v->log_index)))
		goto out;
	if ((r = db_prepare(facility_db(f),
			    "INSERT INTO matches (product, version, build_id, artifact, sha256, verdict,"
			    " detail, report, actor, log_index, created_at) VALUES (?,?,"
			    " (SELECT id FROM builds WHERE invocation = ?),?,?,?,?,?,?,?,?)", &st)))
		goto out;
	sqlite3_bind_text(st, 1, v->product, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, v->version, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, v->invocation, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 4, v->artifact, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 5, v->sha256, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 6, v->identical ? "identical" : "differs", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, v->detail, -1, SQLITE_TRANSIENT);
	if (v->report)
		sqlite3_bind_text(st, 8, v->report, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, 8);
	sqlite3_bind_text(st, 9, v->actor, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 10, (sqlite3_int64)v->log_index);
	sqlite3_bind_int64(st, 11, (sqlite3_int64)v->created_at);
	if (sqlite3_step(st) != SQLITE_DONE)
		r = db_fail(facility_db(f), "insert match");
	else
		v->id = sqlite3_last_insert_rowid(facility_db(f));
out:
	sqlite3_finalize(st);
	json_decref(e);
	return r;
}

int match_artifact(struct facility *f, const char *product, const char *version, const char *path,
		   const char *actor, struct match_verdict *out)
{
	struct build_record b;
	struct buf art, old, why;
	unsigned char d[32];
	long cand = -1;
	int r;

	memset(out, 0, sizeof(*out));
	buf_init(&art, MATCH_ARTIFACT_MAX);
	buf_init(&old, MATCH_ARTIFACT_MAX);
	buf_init(&why, 4096);
	if ((r = build_latest(f, product, version, &b)))
		goto out_nob;
	if ((r = buf_read_file(&art, path))) {
		if (r == ERR_TOOBIG)
			err_set(r, "'%s' is larger than %zu bytes", path, MATCH_ARTIFACT_MAX);
		goto out;
	}
	snprintf(out->product, sizeof(out->product), "%s", product);
	snprintf(out->version, sizeof(out->version), "%s", version);
	out->artifact = xstrdup(base_name(path));
	out->actor = xstrdup(actor);
	out->created_at = time(NULL);
	memcpy(out->invocation, b.invocation, sizeof(out->invocation));
	sha256(art.p, art.len, d);
	hex_encode(out->sha256, d, 32);
	for (size_t i = 0; i < b.n_outputs; i++)
		if (!memcmp(b.outputs[i].sha256, d, 32)) {
			out->identical = 1;
			out->output = xstrdup(b.outputs[i].path);
			break;
		}
	if (!out->identical) {
		for (size_t i = 0; i < b.n_outputs && cand < 0; i++)
			if (!strcmp(base_name(b.outputs[i].path), out->artifact))
				cand = (long)i;
		if (cand < 0 && b.n_outputs == 1)
			cand = 0;
		if (cand < 0) {
			r = buf_addf(&why, "no attested output is named '%s' and none has its digest", out->artifact);
		} else {
			out->output = xstrdup(b.outputs[cand].path);
			if ((r = build_output_read(f, &b, (size_t)cand, &old)) ||
			    (r = artifact_diff(old.p, old.len, art.p, art.len, &why)))
				goto out;
		}
		if (r)
			goto out;
	}
	out->detail = buf_detach(&why, NULL);
	if ((r = keep_verdict(f, out)))
		goto out;
	if (!out->identical && cand >= 0 && have_diffoscope()) {
		char rel[96], orel[96];
		char *rp, *op;
		snprintf(rel, sizeof(rel), "builds/match-%" PRId64 ".txt", out->id);
		snprintf(orel, sizeof(orel), "builds/%s/out-%ld", b.invocation, cand);
		rp = facility_path(f, rel);
		op = facility_path(f, orel);
		if (run_diffoscope(rp, op, path) == 0) {
			sqlite3_stmt *st = NULL;
			out->report = rp;
			rp = NULL;
			if (db_prepare(facility_db(f), "UPDATE matches SET report = ? WHERE id = ?", &st) == 0) {
				sqlite3_bind_text(st, 1, out->report, -1, SQLITE_TRANSIENT);
				sqlite3_bind_int64(st, 2, out->id);
				if (sqlite3_step(st) != SQLITE_DONE)
					r = db_fail(facility_db(f), "match report");
			}
			sqlite3_finalize(st);
		}
		free(rp);
		free(op);
	}
out:
	build_record_release(&b);
out_nob:
	if (r)
		match_verdict_release(out);
	buf_release(&art);
	buf_release(&old);
	buf_release(&why);
	return r;
}

int match_each(struct facility *f, const char *product, const char *version,
	       int (*fn)(void *ctx, const struct match_verdict *v), void *ctx)
{
	sqlite3_stmt *st = NULL;
	int r, s;
	if ((r = db_prepare(facility_db(f),
			    "SELECT m.id, m.product, m.version, m.artifact, m.sha256, m.verdict, m.detail,"
			    " m.report, m.actor, m.created_at, m.log_index, b.invocation FROM matches m"
			    " LEFT JOIN builds b ON b.id = m.build_id WHERE (?1 IS NULL OR (m.product = ?1"
			    " AND m.version = ?2)) ORDER BY m.id DESC", &st)))
		return r;
	if (product) {
		sqlite3_bind_text(st, 1, product, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 2, version, -1, SQLITE_TRANSIENT);
	}
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		struct match_verdict v;
		const char *t;
		memset(&v, 0, sizeof(v));
		v.id = sqlite3_column_int64(st, 0);
#define COL(i) ((t = (const char *)sqlite3_column_text(st, i)) ? t : "")
		snprintf(v.product, sizeof(v.product), "%s", COL(1));
		snprintf(v.version, sizeof(v.version), "%s", COL(2));
		v.artifact = xstrdup(COL(3));
		snprintf(v.sha256, sizeof(v.sha256), "%s", COL(4));
		v.identical = !strcmp(COL(5), "identical");
		v.detail = xstrdup(COL(6));
		v.report = sqlite3_column_type(st, 7) == SQLITE_NULL ? NULL : xstrdup(COL(7));
		v.actor = xstrdup(COL(8));
		v.created_at = sqlite3_column_int64(st, 9);
		v.log_index = (uint64_t)sqlite3_column_int64(st, 10);
		snprintf(v.invocation, sizeof(v.invocation), "%s", COL(11));
#undef COL
		r = fn(ctx, &v);
		match_verdict_release(&v);
		if (r)
			break;
	}
	if (!r && s != SQLITE_DONE && s != SQLITE_ROW)
		r = db_fail(facility_db(f), "matches");
	sqlite3_finalize(st);
	return r;
}
