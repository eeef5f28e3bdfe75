/* db: SQLite setup, schema migrations, transactions. */
#include <stdio.h>
#include <string.h>

#include "db.h"

/*
 * The migration steps, in order. Never edit a step that has shipped: add a new one.
 * Step N brings user_version from N-1 to N.
 */
static const char *const migrations[] = {
	/* 1: the facility and its releases */
	"CREATE TABLE facility (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
	"CREATE TABLE releases ("
	"  id INTEGER PRIMARY KEY,"
	"  product TEXT NOT NULL,"
	"  version TEXT NOT NULL,"
	"  vault_dir TEXT NOT NULL UNIQUE,"
	"  tree_sha256 TEXT NOT NULL,"
	"  tree_sha1 TEXT NOT NULL,"
	"  files INTEGER NOT NULL,"
	"  bytes INTEGER NOT NULL,"
	"  vendor_vkey TEXT NOT NULL,"
	"  wrapped_key BLOB,"
	"  seal_note TEXT NOT NULL,"
	"  sealed_at INTEGER NOT NULL,"
	"  state TEXT NOT NULL DEFAULT 'sealed',"
	"  UNIQUE (product, version));",
	/* 2: the transparency log (logdb.c): entries, stored hashes, checkpoints, cosignatures */
	"CREATE TABLE log_entries (idx INTEGER PRIMARY KEY, data BLOB NOT NULL);"
	"CREATE TABLE log_hashes (id INTEGER PRIMARY KEY, hash BLOB NOT NULL);"
	"CREATE TABLE log_checkpoints (size INTEGER PRIMARY KEY, note TEXT NOT NULL,"
	"  signed_at INTEGER NOT NULL);"
	"CREATE TABLE log_cosignatures ("
	"  size INTEGER NOT NULL REFERENCES log_checkpoints (size),"
	"  witness TEXT NOT NULL,"
	"  line TEXT NOT NULL,"
	"  added_at INTEGER NOT NULL,"
	"  PRIMARY KEY (size, witness));"
	"CREATE TRIGGER log_entries_append_only BEFORE UPDATE ON log_entries"
	"  BEGIN SELECT RAISE(ABORT, 'log entries are append-only'); END;"
	"CREATE TRIGGER log_entries_no_delete BEFORE DELETE ON log_entries"
	"  BEGIN SELECT RAISE(ABORT, 'log entries are append-only'); END;"
	"CREATE TRIGGER log_hashes_append_only BEFORE UPDATE ON log_hashes"
	"  BEGIN SELECT RAISE(ABORT, 'log hashes are append-only'); END;"
	"CREATE TRIGGER log_hashes_no_delete BEFORE DELETE ON log_hashes"
	"  BEGIN SELECT RAISE(ABORT, 'log hashes are append-only'); END;"
	"CREATE TRIGGER log_checkpoints_append_only BEFORE UPDATE ON log_checkpoints"
	"  BEGIN SELECT RAISE(ABORT, 'log checkpoints are append-only'); END;"
	"CREATE TRIGGER log_checkpoints_no_delete BEFORE DELETE ON log_checkpoints"
	"  BEGIN SELECT RAISE(ABORT, 'log checkpoints are append-only'); END;",
	/* 3: people, sessions and the engagement (auth.c, policy.c) */
	"CREATE TABLE orgs (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
	"  kind TEXT NOT NULL CHECK (kind IN ('vendor', 'lab', 'operator')),"
	"  created_at INTEGER NOT NULL);"
	"CREATE TABLE people ("
	"  id INTEGER PRIMARY KEY,"
	"  login TEXT NOT NULL UNIQUE,"
	"  full_name TEXT NOT NULL DEFAULT '',"
	"  org_id INTEGER NOT NULL REFERENCES orgs (id),"
	"  role TEXT NOT NULL CHECK (role IN ('vendor', 'operator', 'reviewer', 'auditor')),"
	"  pw_hash TEXT NOT NULL,"
	"  totp_secret BLOB NOT NULL,"
	"  totp_last INTEGER NOT NULL DEFAULT 0,"
	"  failures INTEGER NOT NULL DEFAULT 0,"
	"  last_failure INTEGER NOT NULL DEFAULT 0,"
	"  locked_until INTEGER NOT NULL DEFAULT 0,"
	"  disabled INTEGER NOT NULL DEFAULT 0,"
	"  created_at INTEGER NOT NULL);"
	"CREATE TABLE sessions ("
	"  id INTEGER PRIMARY KEY,"
	"  public_id TEXT NOT NULL UNIQUE,"
	"  token_hash BLOB NOT NULL UNIQUE,"
	"  person_id INTEGER NOT NULL REFERENCES people (id),"
	"  client_ip TEXT NOT NULL,"
	"  cert_fp TEXT NOT NULL DEFAULT '',"
	"  created_at INTEGER NOT NULL,"
	"  last_seen INTEGER NOT NULL);"
	"CREATE INDEX sessions_person ON sessions (person_id);"
	"CREATE TABLE release_policy ("
	"  release_id INTEGER PRIMARY KEY REFERENCES releases (id),"
	"  objection_days INTEGER NOT NULL DEFAULT 14,"
	"  halted_at INTEGER,"
	"  halted_by TEXT,"
	"  shredded_at INTEGER,"
	"  certificate TEXT);"
	"CREATE TABLE nominations ("
	"  id INTEGER PRIMARY KEY,"
	"  release_id INTEGER NOT NULL REFERENCES releases (id),"
	"  reviewer_id INTEGER NOT NULL REFERENCES people (id),"
	"  nominated_by INTEGER NOT NULL REFERENCES people (id),"
	"  note TEXT NOT NULL DEFAULT '',"
	"  nominated_at INTEGER NOT NULL,"
	"  state TEXT NOT NULL CHECK (state IN ('pending', 'objected', 'approved', 'revoked')),"
	"  decided_by INTEGER REFERENCES people (id),"
	"  decided_at INTEGER,"
	"  reason TEXT NOT NULL DEFAULT '',"
	"  UNIQUE (release_id, reviewer_id));"
	"CREATE TABLE grants ("
	"  id INTEGER PRIMARY KEY,"
	"  release_id INTEGER NOT NULL REFERENCES releases (id),"
	"  reviewer_id INTEGER NOT NULL REFERENCES people (id),"
	"  state TEXT NOT NULL CHECK (state IN ('proposed', 'active', 'revoked')),"
	"  vendor_by INTEGER REFERENCES people (id),"
	"  operator_by INTEGER REFERENCES people (id),"
	"  valid_from INTEGER NOT NULL,"
	"  valid_until INTEGER NOT NULL,"
	"  days INTEGER NOT NULL,"
	"  hour_from INTEGER NOT NULL,"
	"  hour_until INTEGER NOT NULL,"
	"  lines_per_day INTEGER NOT NULL DEFAULT -1,"
	"  lines_total INTEGER NOT NULL DEFAULT -1,"
	"  prints INTEGER NOT NULL DEFAULT -1,"
	"  quotas TEXT NOT NULL DEFAULT '{}',"
	"  created_at INTEGER NOT NULL,"
	"  activated_at INTEGER,"
	"  revoked_at INTEGER,"
	"  revoke_reason TEXT NOT NULL DEFAULT '');"
	"CREATE UNIQUE INDEX grants_live ON grants (release_id, reviewer_id)"
	"  WHERE state IN ('proposed', 'active');",
	/* 4: reading without taking: quotas, scraping holds, notes, prints (quota.c, notes.c,
	 * print.c) */
	"CREATE TABLE quota_usage (grant_id INTEGER NOT NULL, kind TEXT NOT NULL,"
	"  period INTEGER NOT NULL, amount INTEGER NOT NULL,"
	"  PRIMARY KEY (grant_id, kind, period));"
	"CREATE TABLE quota_walk (session_id TEXT NOT NULL, path TEXT NOT NULL,"
	"  at INTEGER NOT NULL);"
	"CREATE INDEX quota_walk_session ON quota_walk (session_id, at);"
	"CREATE TABLE session_holds ("
	"  session_id TEXT PRIMARY KEY,"
	"  login TEXT NOT NULL,"
	"  alerted_at INTEGER,"
	"  held_at INTEGER,"
	"  reason TEXT NOT NULL DEFAULT '',"
	"  resumed_by TEXT,"
	"  resumed_at INTEGER);"
	"CREATE TABLE notes ("
	"  id INTEGER PRIMARY KEY,"
	"  org_id INTEGER NOT NULL REFERENCES orgs (id),"
	"  author TEXT NOT NULL,"
	"  product TEXT NOT NULL,"
	"  version TEXT NOT NULL,"
	"  path TEXT NOT NULL DEFAULT '',"
	"  line INTEGER NOT NULL DEFAULT 0,"
	"  text TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL);"
	"CREATE INDEX notes_org ON notes (org_id, product, version);"
	"CREATE TABLE prints ("
	"  id INTEGER PRIMARY KEY,"
	"  product TEXT NOT NULL,"
	"  version TEXT NOT NULL,"
	"  grant_id INTEGER NOT NULL,"
	"  session_id TEXT NOT NULL,"
	"  login TEXT NOT NULL,"
	"  path TEXT NOT NULL,"
	"  line_from INTEGER NOT NULL,"
	"  line_to INTEGER NOT NULL,"
	"  pages INTEGER NOT NULL,"
	"  bates_first INTEGER NOT NULL,"
	"  bates_last INTEGER NOT NULL,"
	"  sha256 TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  disputed_at INTEGER,"
	"  disputed_by TEXT,"
	"  dispute_reason TEXT NOT NULL DEFAULT '');"
	"CREATE INDEX prints_release ON prints (product, version);",
	/* 5: one budget of distinct lines shown per grant and day; the scraping watch and holds
	 * per reviewer and grant, across sessions (quota.c) */
	"CREATE TABLE quota_shown (grant_id INTEGER NOT NULL, day INTEGER NOT NULL,"
	"  blob TEXT NOT NULL, line INTEGER NOT NULL,"
	"  PRIMARY KEY (grant_id, day, blob, line)) WITHOUT ROWID;"
	"ALTER TABLE quota_walk ADD COLUMN login TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE quota_walk ADD COLUMN grant_id INTEGER NOT NULL DEFAULT 0;"
	"CREATE INDEX quota_walk_reviewer ON quota_walk (login, grant_id, at);"
	"ALTER TABLE session_holds ADD COLUMN grant_id INTEGER NOT NULL DEFAULT 0;"
	"CREATE INDEX session_holds_reviewer ON session_holds (login, grant_id);",
	/* 6: findings and their timelines (findings.c) */
	"CREATE TABLE findings ("
	"  id INTEGER PRIMARY KEY,"
	"  org_id INTEGER NOT NULL REFERENCES orgs (id),"
	"  author TEXT NOT NULL,"
	"  product TEXT NOT NULL,"
	"  version TEXT NOT NULL,"
	"  path TEXT NOT NULL,"
	"  line_from INTEGER NOT NULL CHECK (line_from >= 1),"
	"  line_to INTEGER NOT NULL CHECK (line_to >= line_from),"
	"  blob TEXT NOT NULL,"
	"  title TEXT NOT NULL,"
	"  severity TEXT NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),"
	"  cvss TEXT NOT NULL DEFAULT '',"
	"  score10 INTEGER NOT NULL DEFAULT -1,"
	"  cwe INTEGER NOT NULL DEFAULT 0,"
	"  text TEXT NOT NULL,"
	"  rule TEXT NOT NULL DEFAULT '',"
	"  state TEXT NOT NULL CHECK (state IN ('open', 'acknowledged', 'fixed', 'disputed',"
	"    'accepted')),"
	"  fixed_in TEXT NOT NULL DEFAULT '',"
	"  created_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL);"
	"CREATE INDEX findings_release ON findings (product, version);"
	"CREATE TABLE finding_events ("
	"  id INTEGER PRIMARY KEY,"
	"  finding_id INTEGER NOT NULL REFERENCES findings (id),"
	"  actor TEXT NOT NULL,"
	"  state TEXT NOT NULL,"
	"  fixed_in TEXT NOT NULL DEFAULT '',"
	"  comment TEXT NOT NULL DEFAULT '',"
	"  at INTEGER NOT NULL);"
	"CREATE INDEX finding_events_finding ON finding_events (finding_id);",
	/* 7: binary equivalence: kept builds (build.h) and match verdicts (match.h) */
	"CREATE TABLE builds ("
	"  id INTEGER PRIMARY KEY,"
	"  invocation TEXT NOT NULL UNIQUE,"
	"  product TEXT NOT NULL,"
	"  version TEXT NOT NULL,"
	"  tree_sha256 TEXT NOT NULL,"
	"  recipe TEXT NOT NULL,"
	"  status TEXT NOT NULL,"
	"  detail TEXT NOT NULL DEFAULT '',"
	"  env_digest TEXT NOT NULL,"
	"  outputs TEXT NOT NULL,"
	"  envelope TEXT,"
	"  log_index INTEGER NOT NULL,"
	"  created_at INTEGER NOT NULL);"
	"CREATE INDEX builds_release ON builds (product, version);"
	"CREATE TABLE matches ("
	"  id INTEGER PRIMARY KEY,"
	"  product TEXT NOT NULL,"
	"  version TEXT NOT NULL,"
	"  build_id INTEGER,"
	"  artifact TEXT NOT NULL,"
	"  sha256 TEXT NOT NULL,"
	"  verdict TEXT NOT NULL,"
	"  detail TEXT NOT NULL DEFAULT '',"
	"  report TEXT,"
	"  actor TEXT NOT NULL,"
	"  log_index INTEGER NOT NULL,"
	"  created_at INTEGER NOT NULL);"
	"CREATE INDEX matches_release ON matches (product, version);",
	/* 8: the queries of a reviewer under a grant, for the watch on narrowing queries */
	"CREATE TABLE quota_queries (login TEXT NOT NULL, grant_id INTEGER NOT NULL,"
	"  query TEXT NOT NULL, narrowing INTEGER NOT NULL, at INTEGER NOT NULL);"
	"CREATE INDEX quota_queries_reviewer ON quota_queries (login, grant_id, at);",
	/* 9: the login back-off, per account and source (auth.c) */
	"CREATE TABLE login_attempts (person_id INTEGER NOT NULL, source TEXT NOT NULL,"
	"  failures INTEGER NOT NULL DEFAULT 0, next_at INTEGER NOT NULL DEFAULT 0,"
	"  PRIMARY KEY (person_id, source));",
	/* 10: a grant's statement: the vendor's signed approval of its terms, countersigned by
	 * the facility when active (decision.h, policy_may_read) */
	"ALTER TABLE grants ADD COLUMN statement TEXT;",
	/* 11: notes sealed at rest under the facility's at-rest key (notes.c): 1 when text is
	 * the sealed value, 0 for a note kept before (sealed by notes_seal_at_rest) */
	"ALTER TABLE notes ADD COLUMN sealed INTEGER NOT NULL DEFAULT 0;",
	/* 12: refusals by the budget, counted per session, grant, quota and minute until their
	 * log entry (`quota_refusals`, quota.c) is written */
	"CREATE TABLE quota_refusals (session_id TEXT NOT NULL, login TEXT NOT NULL,"
	"  grant_id INTEGER NOT NULL, quota TEXT NOT NULL, minute INTEGER NOT NULL,"
	"  lim INTEGER NOT NULL, used INTEGER NOT NULL, n INTEGER NOT NULL,"
	"  logged INTEGER NOT NULL DEFAULT 0,"
	"  PRIMARY KEY (session_id, grant_id, quota, minute));",
};

#define N_MIGRATIONS (sizeof(migrations) / sizeof(migrations[0]))

int db_fail(sqlite3 *db, const char *what)
{
	return err_set(ERR_DB, "database: %s: %s", what, db ? sqlite3_errmsg(db) : "no handle");
}

int db_exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		int r = err_set(ERR_DB, "database: %s", msg ? msg : sqlite3_errmsg(db));
		sqlite3_free(msg);
		return r;
	}
	return 0;
}

int db_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **out)
{
	if (sqlite3_prepare_v2(db, sql, -1, out, NULL) != SQLITE_OK)
		return db_fail(db, "prepare");
	return 0;
}

int db_begin(sqlite3 *db)
{
	return db_exec(db, "BEGIN IMMEDIATE");
}

int db_commit(sqlite3 *db)
{
	return db_exec(db, "COMMIT");
}

void db_rollback(sqlite3 *db)
{
	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

static int user_version(sqlite3 *db, int *v)
{
	sqlite3_stmt *st;
	int r = db_prepare(db, "PRAGMA user_version", &st);
	if (r)
		return r;
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		return db_fail(db, "user_version");
	}
	*v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return 0;
}

static int migrate(sqlite3 *db)
{
	int v = 0, r;
	char sql[64];
	if ((r = user_version(db, &v)))
		return r;
	if (v < 0 || (size_t)v > N_MIGRATIONS)
		return err_set(ERR_CORRUPT,
			       "database schema version %d is newer than this program knows (%zu)",
			       v, N_MIGRATIONS);
	for (size_t i = (size_t)v; i < N_MIGRATIONS; i++) {
		if ((r = db_begin(db)))
			return r;
		if ((r = db_exec(db, migrations[i]))) {
			db_rollback(db);
			return r;
		}
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %zu", i + 1);
		if ((r = db_exec(db, sql)) || (r = db_commit(db))) {
			db_rollback(db);
			return r;
		}
	}
	return 0;
}

int db_open(const char *path, int create, sqlite3 **out)
{
	sqlite3 *db = NULL;
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
	int r;
	*out = NULL;
	if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK) {
		r = err_set(create ? ERR_IO : ERR_NOTFOUND, "cannot open database '%s': %s", path,
			    db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		return r;
	}
	sqlite3_busy_timeout(db, 10000);
	if ((r = db_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
			     "PRAGMA foreign_keys=ON; PRAGMA trusted_schema=OFF;")) ||
	    (r = migrate(db))) {
		sqlite3_close(db);
		return r;
	}
	*out = db;
	return 0;
}

void db_close(sqlite3 *db)
{
	if (db)
		sqlite3_close(db);
}
