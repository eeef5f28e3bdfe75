/*
 * db: the facility's SQLite database: opening it (WAL, foreign keys, busy timeout), the
 * schema and its migrations, and transactions.
 *
 * The schema is applied in numbered steps (PRAGMA user_version); each module's tables are
 * one step in db.c. Everything read back from the database is treated as untrusted input by
 * the caller: sizes and formats are checked again.
 */
#ifndef SEALROOM_DB_H
#define SEALROOM_DB_H

#include <sqlite3.h>

#include "err.h"

/* Open (and with create, make) the database at path; apply migrations. */
int db_open(const char *path, int create, sqlite3 **out) WUR;
void db_close(sqlite3 *db);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK; errors name the SQLite reason. */
int db_begin(sqlite3 *db) WUR;
int db_commit(sqlite3 *db) WUR;
void db_rollback(sqlite3 *db);

/* Run SQL without results. */
int db_exec(sqlite3 *db, const char *sql) WUR;
/* Prepare a statement, setting the error message on failure. */
int db_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **out) WUR;
/* Record SQLite's message for db as the error and return ERR_DB. */
int db_fail(sqlite3 *db, const char *what);

#endif
