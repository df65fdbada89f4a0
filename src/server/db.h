/*
 * db: the SQLite plumbing shared by the store files (store_*.c), and only by
 * them: one writer connection behind a mutex for BEGIN IMMEDIATE
 * transactions (with group commit, db.c), one reader connection per thread,
 * statements prepared once
 * per connection, and a compact binder. Nothing outside src/server/store*.c
 * and db.c includes this header or sqlite3.h.
 */
#ifndef MT_DB_H
#define MT_DB_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "err.h"

struct conn;

/* Opens the database (WAL, foreign keys, busy timeout) and applies the
 * migrations. Returns 0, or -1 with err ("db error" / "migration error" text
 * decided by the caller from err->code: ERR_IO open, ERR_INTERNAL migration). */
int db_open(const char *path, bool sync_full, struct err *err);
/* Closes every connection (call after all threads stopped). */
void db_close(void);

/* Sets the writer's limits (call before threads start): how long a write
 * waits for the database (the writer lock, then another process's lock) and
 * how many writes may wait for the writer lock at once (<= 0: no bound). */
void db_set_limits(int64_t write_timeout_ms, int max_waiting);
/* Sets this thread's write deadline (mono_us(); 0 clears it): a write begun
 * later waits until then at most, if that is sooner than the write timeout.
 * The request worker sets it from the moment the request was queued. */
void db_set_deadline(int64_t mono_deadline_us);

enum db_begin_mode {
	DB_NORMAL,		/* waits until the deadline */
	DB_URGENT,		/* goes before normal writes; the full write timeout */
	DB_TRY			/* does not wait at all */
};

/* Takes the writer lock and starts a part: BEGIN IMMEDIATE, or a savepoint
 * inside the transaction of the parts queued before it. Returns the writer,
 * or NULL (err set, lock released) on failure: ERR_UNAVAILABLE when the
 * database could not be had in time (docs/reliability.md). */
struct conn *db_begin_mode(enum db_begin_mode mode, struct err *err);
/* db_begin_mode(DB_NORMAL, err). */
struct conn *db_begin(struct err *err);
/* Ends the part and releases the mutex; returns 0 once the COMMIT of its
 * group has returned, -1 (err set, the part's writes gone) if it failed. */
int db_commit(struct conn *c, struct err *err);
/* Undoes the part and releases the mutex; returns after the COMMIT of the
 * parts before it in its group, if any. A NULL c is a no-op. */
void db_rollback(struct conn *c);
/* This thread's reader connection (opened on first use). */
struct conn *db_reader(void);
/* Closes this thread's reader connection, if any (thread exit). */
void db_reader_release(void);

/* Returns the cached prepared statement for sql (pointer identity: pass a
 * string literal or a static string), reset, with the arguments bound:
 * fmt letters: i int64_t, s const char * (NULL → SQL NULL),
 * S const char * + size_t (text with length; NULL → NULL), n SQL NULL,
 * z int64_t where 0 means NULL. NULL on a prepare error (logged). */
sqlite3_stmt *db_prep(struct conn *c, const char *sql, const char *fmt, ...);
/* sqlite3_step wrapper: SQLITE_ROW / SQLITE_DONE, or -1 with err set
 * (ERR_UNAVAILABLE for SQLITE_BUSY, LOCKED, FULL, IOERR and NOMEM, else
 * ERR_INTERNAL). */
int db_step(struct conn *c, sqlite3_stmt *st, struct err *err);
/* Runs a statement that returns no rows; -1 with err set on failure. */
int db_exec(struct conn *c, const char *sql, struct err *err, const char *fmt, ...);
/* sqlite3_changes of the connection. */
int db_changes(struct conn *c);
int64_t db_last_id(struct conn *c);
/* True when the last error was a UNIQUE constraint violation. */
bool db_is_unique_violation(struct conn *c);
/* Column helpers: NULL-safe copies. */
char *db_col_strdup(sqlite3_stmt *st, int col);	/* NULL when SQL NULL */
int64_t db_col_i64(sqlite3_stmt *st, int col);
bool db_col_null(sqlite3_stmt *st, int col);
/* Pings with a bounded timeout (2 s); 0 ok. */
int db_ping(void);
/* Proves the database writable: takes the writer and starts (then undoes)
 * a write within timeout_ms. 0, or -1 with err set. */
int db_writable(int64_t timeout_ms, struct err *err);

/* ---- row lists ---- */

/* How db_list turns each row into an element of an array: read fills a
 * zeroed element from the current row; clear (NULL when the element owns
 * nothing) frees what read allocated. */
struct db_rowtype {
	size_t	  size;		/* bytes per element */
	void	(*read)(sqlite3_stmt *st, void *elem);
	void	(*clear)(void *elem);
};

/* Steps st to its end and reads every row as type t describes. Returns 0
 * with *out (free with db_list_free; NULL when there are no rows) and *n,
 * or -1 with err set, *out NULL and *n 0 (a NULL st is an error). st is
 * reset in every case. */
int db_list(struct conn *c, sqlite3_stmt *st, const struct db_rowtype *t, void **out,
    size_t *n, struct err *err);
/* Clears the n elements of v with t->clear and frees v; NULL v is a no-op. */
void db_list_free(void *v, size_t n, const struct db_rowtype *t);

#endif
