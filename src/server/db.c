/*
 * db: connections, transactions, the statement cache and migrations. The
 * writer connection is shared behind a lock with a deadline (wlock.c;
 * SQLite serializes writers anyway, and the lock queues them instead of
 * spinning on SQLITE_BUSY);
 * readers are per thread, which WAL allows without blocking the writer.
 * The writer's WAL hook paces checkpoints (below).
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "db_fault.h"
#include "log.h"
#include "metrics.h"
#include "util.h"
#include "wlock.h"

#define STMT_CACHE 256

struct conn {
	sqlite3		*db;
	struct {
		const char	*sql;
		sqlite3_stmt	*st;
	} cache[STMT_CACHE];
	struct conn	*next;		/* list of all connections */
	bool		 injected;	/* the last step failed by db_fault */
};

struct migration_file {
	const char *name;
	const char *sql;
};
#include "migrations.h"

static char *db_path;
static bool db_sync_full;
static struct conn *writer;
static int ckpt_pages;		/* CKPT_BYTES in pages of this database */
static int64_t write_timeout_us = 2000000;	/* db_set_limits */
static _Thread_local int64_t deadline_us;	/* db_set_deadline; 0: none */
static pthread_mutex_t list_mu = PTHREAD_MUTEX_INITIALIZER;
static struct conn *all_conns;
static _Thread_local struct conn *reader;

/* The page size of a new database (an existing one keeps its own: WAL mode
 * cannot change it). Every commit writes each page it touched to the WAL as
 * a whole frame, and a lifecycle's transactions touch about six pages each
 * (a row and its indexes), so smaller pages mean less to write and copy:
 * 1 KiB pages write a quarter of the bytes of SQLite's 4 KiB default, which
 * measured +15-20 % lifecycles/s (docs/performance.md). */
#define PAGE_SIZE "1024"
#define CKPT_BYTES (4 << 20)	/* SQLite's default: 1000 pages of 4 KiB */
#define CKPT_RETRY 64		/* commits between unfinished checkpoints */
#define MIGRATE_WAIT_US (30 * 1000000LL)	/* start-up waits longer for a lock */

static struct conn *
conn_open(bool is_writer, struct err *err)
{
	struct conn *c = xcalloc(1, sizeof(*c));
	char pragmas[256];
	char *emsg = NULL;

	if (sqlite3_open_v2(db_path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		err_set(err, ERR_IO, "%s", c->db ? sqlite3_errmsg(c->db) : "cannot open database");
		sqlite3_close(c->db);
		free(c);
		return NULL;
	}
	snprintf(pragmas, sizeof(pragmas), "PRAGMA busy_timeout=%lld; PRAGMA foreign_keys=ON;"
	    "%s PRAGMA synchronous=%s;", (long long)(write_timeout_us / 1000), is_writer ? "PRAGMA page_size=" PAGE_SIZE
	    "; PRAGMA journal_mode=WAL;" : "",
	    db_sync_full ? "FULL" : "NORMAL");
	if (sqlite3_exec(c->db, pragmas, NULL, NULL, &emsg) != SQLITE_OK) {
		err_set(err, ERR_IO, "%s", emsg ? emsg : "pragma failed");
		sqlite3_free(emsg);
		sqlite3_close(c->db);
		free(c);
		return NULL;
	}
	pthread_mutex_lock(&list_mu);
	c->next = all_conns;
	all_conns = c;
	pthread_mutex_unlock(&list_mu);
	return c;
}

static void
conn_close(struct conn *c)
{
	int i;

	for (i = 0; i < STMT_CACHE; i++)
		if (c->cache[i].st != NULL)
			sqlite3_finalize(c->cache[i].st);
	sqlite3_close(c->db);
	free(c);
}

static int
migrate(struct err *err)
{
	size_t n = sizeof(migration_files) / sizeof(migration_files[0]), i;
	int64_t maxknown = 0, maxdb = 0, v;
	sqlite3_stmt *st;
	int rc;
	struct conn *c;

	if (db_exec(writer, "CREATE TABLE IF NOT EXISTS schema_migrations(version INTEGER "
	    "PRIMARY KEY, applied_at INTEGER NOT NULL)", err, "") == -1)
		return -1;
	for (i = 0; i < n; i++) {
		v = strtoll(migration_files[i].name, NULL, 10);
		if (v > maxknown)
			maxknown = v;
	}
	st = db_prep(writer, "SELECT COALESCE(MAX(version),0) FROM schema_migrations", "");
	if (st == NULL || db_step(writer, st, err) != SQLITE_ROW)
		return err_set(err, ERR_INTERNAL, "reading schema_migrations failed");
	maxdb = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (maxdb > maxknown)
		return err_set(err, ERR_INTERNAL, "database schema version %lld is newer than "
		    "this server supports (%lld)", (long long)maxdb, (long long)maxknown);
	for (i = 0; i < n; i++) {
		const char *sql = migration_files[i].sql;
		char *emsg = NULL;

		v = strtoll(migration_files[i].name, NULL, 10);
		st = db_prep(writer, "SELECT 1 FROM schema_migrations WHERE version=?", "i", v);
		if ((rc = db_step(writer, st, err)) == -1)
			return -1;
		sqlite3_reset(st);
		if (rc == SQLITE_ROW)
			continue;
		while (*sql == ' ' || *sql == '\n' || *sql == '\t' || *sql == '\r')
			sql++;
		if (*sql == '\0')
			return err_set(err, ERR_INTERNAL, "migration %s is empty", migration_files[i].name);
		if ((c = db_begin(err)) == NULL)
			return -1;
		if (sqlite3_exec(c->db, sql, NULL, NULL, &emsg) != SQLITE_OK) {
			err_set(err, ERR_INTERNAL, "migration %s: %s", migration_files[i].name,
			    emsg ? emsg : "failed");
			sqlite3_free(emsg);
			db_rollback(c);
			return -1;
		}
		if (db_exec(c, "INSERT INTO schema_migrations(version, applied_at) VALUES(?,?)",
		    err, "ii", v, now_ms()) == -1) {
			db_rollback(c);
			return -1;
		}
		if (db_commit(c, err) == -1)
			return -1;
	}
	return 0;
}

/* ---- checkpoints ----
 * SQLite's auto-checkpoint runs a PASSIVE checkpoint after every commit
 * once the WAL holds 1000 pages. This hook waits for CKPT_BYTES instead:
 * the same 4 MiB with 4 KiB pages, 4096 of our 1 KiB pages. (A checkpoint
 * syncs the WAL and the database even with synchronous=normal; counting
 * 1000 small pages would sync four times as often.) When a reader still
 * uses an older snapshot the checkpoint cannot finish, the WAL is not
 * restarted, and the next commit checkpoints (and fsyncs) again: under load
 * that is most commits, all inside the writer's mutex. This hook, which replaces it on the writer,
 * retries an unfinished checkpoint only every CKPT_RETRY commits. It runs
 * inside COMMIT, with the writer's mutex held, so it needs no lock of its
 * own, and a finished checkpoint lets the next write restart the WAL. */

static int
wal_grew(void *arg, sqlite3 *db, const char *name, int pages)
{
	static int skip;
	int log = 0, done = 0;

	(void)arg;
	if (pages < ckpt_pages)
		return SQLITE_OK;
	if (skip > 0) {
		skip--;
		return SQLITE_OK;
	}
	if (sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, &log, &done) !=
	    SQLITE_OK || done < log)
		skip = CKPT_RETRY;
	return SQLITE_OK;
}

int
db_open(const char *path, bool sync_full, struct err *err)
{
	sqlite3_stmt *st;

	/* No global allocation statistics: they put a process-wide mutex
	 * around every allocation of every connection. Refused (and harmless)
	 * once SQLite is initialised, as in tests that reopen the store. */
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	db_path = xstrdup(path);
	db_sync_full = sync_full;
	if ((writer = conn_open(true, err)) == NULL)
		return -1;
	db_set_deadline(mono_us() + MIGRATE_WAIT_US);
	if (migrate(err) == -1) {
		db_set_deadline(0);
		err->code = ERR_INTERNAL;
		return -1;
	}
	db_set_deadline(0);
	st = db_prep(writer, "PRAGMA page_size", "");
	if (db_step(writer, st, err) != SQLITE_ROW)
		return -1;
	ckpt_pages = CKPT_BYTES / sqlite3_column_int(st, 0);
	sqlite3_reset(st);
	sqlite3_wal_hook(writer->db, wal_grew, NULL);
	return 0;
}

void
db_close(void)
{
	struct conn *c, *next;

	pthread_mutex_lock(&list_mu);
	for (c = all_conns; c != NULL; c = next) {
		next = c->next;
		conn_close(c);
	}
	all_conns = NULL;
	writer = NULL;
	reader = NULL;
	pthread_mutex_unlock(&list_mu);
	free(db_path);
	db_path = NULL;
}

/* ---- transactions and group commit ----
 * A request's write is a "part": its checks and effects, between db_begin
 * and db_commit or db_rollback, with the writer's mutex held. Parts that
 * queue for the mutex while another runs share one BEGIN IMMEDIATE
 * transaction and one COMMIT, hence one fsync with synchronous=full: the
 * first part opens the transaction, each later part runs in a savepoint
 * ("part") that its rollback undoes alone, and the part that ends with no
 * other thread queued (or the GROUP_MAX-th, or the first to end once the
 * group is group_max_us old, which bounds the wait it adds) commits it. db_commit
 * returns only once that COMMIT has returned, with its result, so nothing is
 * answered before it is durable; db_rollback waits too when other parts
 * came before it, since what it read may be their writes (docs/
 * architecture.md, "Group commit"). BEGIN, SAVEPOINT, RELEASE, COMMIT and
 * ROLLBACK go through the statement cache like any other statement. */

#define GROUP_MAX 32

struct member {
	struct err	*err;		/* a failed COMMIT's error (NULL: not wanted) */
	int		 rc;
	bool		 done;
	struct member	*next;
};

static bool in_txn;			/* a group transaction is open (wlock held) */
static bool in_savepoint;		/* the running part is a savepoint (wlock held) */
static struct member *members;		/* parts ended in the open group (wlock held) */
static int nmembers;
static int64_t opened_us;		/* when the open group began (wlock held) */
static int64_t group_max_us = 2000;	/* a group this old commits at its next part's end */
static int64_t groups, parts;		/* committed or failed so far (wlock held; tests) */
static pthread_mutex_t done_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t done_cv = PTHREAD_COND_INITIALIZER;

/* Commits the open group and tells its members (wlock held). */
static void
flush(void)
{
	struct err e, ignored;
	struct member *m;
	int rc = 0;

	if (db_exec(writer, "COMMIT", &e, "") == -1) {
		err_prefix(&e, "commit: ");
		if (sqlite3_get_autocommit(writer->db) == 0)
			db_exec(writer, "ROLLBACK", &ignored, "");
		rc = -1;
	}
	in_txn = false;
	groups++;
	parts += nmembers;
	pthread_mutex_lock(&done_mu);
	for (m = members; m != NULL; m = m->next) {
		if (rc == -1 && m->err != NULL)
			*m->err = e;
		m->rc = rc;
		m->done = true;
	}
	members = NULL;
	nmembers = 0;
	pthread_cond_broadcast(&done_cv);
	pthread_mutex_unlock(&done_mu);
}

/* Ends the running part as a member of the group (wlock held): commits
 * the group if nobody else is queued, releases the mutex, and waits for the
 * group's COMMIT. Returns its result. A transaction that SQLite rolled back
 * by itself (an I/O error, a full disk) ends its group at once: the next
 * part's SAVEPOINT would otherwise open a transaction of its own. */
static int
end_part(struct member *m)
{
	m->next = members;
	members = m;
	nmembers++;
	if (wlock_waiting() == 0 || nmembers >= GROUP_MAX ||
	    mono_us() - opened_us >= group_max_us || sqlite3_get_autocommit(writer->db) != 0)
		flush();
	wlock_release();
	pthread_mutex_lock(&done_mu);
	while (!m->done)
		pthread_cond_wait(&done_cv, &done_mu);
	pthread_mutex_unlock(&done_mu);
	return m->rc;
}

/* Undoes the running part (wlock held); true when the group had other
 * parts before it (then the caller must still end it with end_part). */
static bool
undo_part(void)
{
	struct err ignored;

	if (!in_savepoint) {		/* the first part: the transaction is its own */
		if (sqlite3_get_autocommit(writer->db) == 0)
			db_exec(writer, "ROLLBACK", &ignored, "");
		in_txn = false;
		return false;
	}
	db_exec(writer, "ROLLBACK TO part", &ignored, "");
	db_exec(writer, "RELEASE part", &ignored, "");
	return true;
}

void
db_set_limits(int64_t write_timeout_ms, int max_waiting)
{
	write_timeout_us = write_timeout_ms * 1000;
	wlock_init(max_waiting);
}

void
db_set_deadline(int64_t mono_deadline_us)
{
	deadline_us = mono_deadline_us;
}

/* When a write that starts now must have the database: the write timeout
 * from now, or the request's own deadline when that is earlier (an urgent
 * write keeps the full timeout). */
static int64_t
begin_deadline(enum db_begin_mode mode)
{
	int64_t now = mono_us(), d = now + write_timeout_us;

	if (mode == DB_TRY)
		return now;
	if (deadline_us != 0 && deadline_us < d && mode != DB_URGENT)
		d = deadline_us;
	return d;
}

/* The writer lock, or -1 with ERR_UNAVAILABLE (counted). */
static int
take_writer(enum db_begin_mode mode, int64_t deadline, struct err *err)
{
	switch (wlock_take(mode == DB_URGENT, deadline)) {
	case WLOCK_OK:
		return 0;
	case WLOCK_FULL:
		metrics_db_unavailable("queue_full");
		return err_set(err, ERR_UNAVAILABLE, "database busy: too many writes waiting");
	default:
		if (mode != DB_TRY)
			metrics_db_unavailable("lock_timeout");
		return err_set(err, ERR_UNAVAILABLE, "database busy: no write slot within %lld ms",
		    (long long)(write_timeout_us / 1000));
	}
}

/* BEGIN IMMEDIATE, waiting for another process's lock until deadline. */
static int
begin_txn(int64_t deadline, struct err *err)
{
	int64_t left_ms = (deadline - mono_us()) / 1000;

	sqlite3_busy_timeout(writer->db, left_ms > 0 ? (int)left_ms : 0);
	if (db_exec(writer, "BEGIN IMMEDIATE", err, "") == -1)
		return -1;
	opened_us = mono_us();
	return 0;
}

struct conn *
db_begin_mode(enum db_begin_mode mode, struct err *err)
{
	struct member m = { NULL, 0, false, NULL };
	int64_t deadline = begin_deadline(mode);

	if (take_writer(mode, deadline, err) == -1)
		return NULL;
	in_savepoint = in_txn;
	if (in_txn ? db_exec(writer, "SAVEPOINT part", err, "") : begin_txn(deadline, err)) {
		err_prefix(err, "begin: ");
		if (in_txn)
			end_part(&m);	/* the group still needs its commit */
		else
			wlock_release();
		return NULL;
	}
	in_txn = true;
	return writer;
}

struct conn *
db_begin(struct err *err)
{
	return db_begin_mode(DB_NORMAL, err);
}

int
db_commit(struct conn *c, struct err *err)
{
	struct member m = { err, 0, false, NULL };

	if (in_savepoint && db_exec(c, "RELEASE part", err, "") == -1) {
		err_prefix(err, "commit: ");
		m.err = NULL;
		undo_part();		/* a savepoint: the group goes on */
		end_part(&m);
		return -1;
	}
	return end_part(&m);
}

void
db_rollback(struct conn *c)
{
	struct member m = { NULL, 0, false, NULL };

	if (c == NULL)
		return;
	if (undo_part())
		end_part(&m);
	else
		wlock_release();
}

struct conn *
db_reader(void)
{
	struct err err;

	if (reader == NULL && (reader = conn_open(false, &err)) == NULL)
		log_error("db error", "error=%s", err.msg);
	return reader;
}

void
db_reader_release(void)
{
	struct conn **pp;

	if (reader == NULL)
		return;
	pthread_mutex_lock(&list_mu);
	for (pp = &all_conns; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == reader) {
			*pp = reader->next;
			break;
		}
	}
	pthread_mutex_unlock(&list_mu);
	conn_close(reader);
	reader = NULL;
}

static sqlite3_stmt *
cached(struct conn *c, const char *sql)
{
	size_t h = ((uintptr_t)sql >> 3) % STMT_CACHE, i;

	for (i = 0; i < STMT_CACHE; i++) {
		size_t k = (h + i) % STMT_CACHE;

		if (c->cache[k].sql == sql) {
			sqlite3_reset(c->cache[k].st);
			sqlite3_clear_bindings(c->cache[k].st);
			return c->cache[k].st;
		}
		if (c->cache[k].sql == NULL) {
			if (sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
			    &c->cache[k].st, NULL) != SQLITE_OK) {
				char msg[512];

				/* observability.md: `db error` carries `error` only */
				snprintf(msg, sizeof(msg), "%s (preparing %.200s)",
				    sqlite3_errmsg(c->db), sql);
				log_error("db error", "error=%s", msg);
				c->cache[k].st = NULL;
				return NULL;
			}
			c->cache[k].sql = sql;
			return c->cache[k].st;
		}
	}
	log_error("db error", "error=%s", "statement cache full");
	return NULL;
}

static sqlite3_stmt *
db_vprep(struct conn *c, const char *sql, const char *fmt, va_list ap)
{
	sqlite3_stmt *st;
	int i = 1;

	if (c == NULL || (st = cached(c, sql)) == NULL)
		return NULL;
	for (; *fmt != '\0'; fmt++, i++) {
		switch (*fmt) {
		case 'i':
			sqlite3_bind_int64(st, i, va_arg(ap, int64_t));
			break;
		case 'z': {
			int64_t v = va_arg(ap, int64_t);
			if (v == 0)
				sqlite3_bind_null(st, i);
			else
				sqlite3_bind_int64(st, i, v);
			break;
		}
		case 's': {
			const char *s = va_arg(ap, const char *);
			if (s == NULL)
				sqlite3_bind_null(st, i);
			else
				sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
			break;
		}
		case 'S': {
			const char *s = va_arg(ap, const char *);
			size_t n = va_arg(ap, size_t);
			if (s == NULL)
				sqlite3_bind_null(st, i);
			else
				sqlite3_bind_text64(st, i, s, n, SQLITE_TRANSIENT, SQLITE_UTF8);
			break;
		}
		default:
			sqlite3_bind_null(st, i);
		}
	}
	return st;
}

sqlite3_stmt *
db_prep(struct conn *c, const char *sql, const char *fmt, ...)
{
	sqlite3_stmt *st;
	va_list ap;

	va_start(ap, fmt);
	st = db_vprep(c, sql, fmt, ap);
	va_end(ap);
	return st;
}

/* Sets err for a failed step: the faults of the database's environment (a
 * lock held too long, a full disk, an I/O error) are ERR_UNAVAILABLE (503
 * with Retry-After: retrying later may succeed), the rest ERR_INTERNAL. */
static int
step_failed(int rc, const char *msg, struct err *err)
{
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		metrics_db_unavailable("busy");
		return err_set(err, ERR_UNAVAILABLE, "database busy: %s", msg);
	case SQLITE_FULL:
		metrics_db_unavailable("full");
		return err_set(err, ERR_UNAVAILABLE, "database disk full: %s", msg);
	case SQLITE_IOERR:
	case SQLITE_NOMEM:
		metrics_db_unavailable("ioerr");
		return err_set(err, ERR_UNAVAILABLE, "database I/O error: %s", msg);
	default:
		return err_set(err, ERR_INTERNAL, "%s", msg);
	}
}

int
db_step(struct conn *c, sqlite3_stmt *st, struct err *err)
{
	int rc;

	if (st == NULL)
		return err_set(err, ERR_INTERNAL, "statement unavailable");
	c->injected = false;
	if ((rc = dbfault_take(c == writer)) != 0) {
		c->injected = true;
		return step_failed(rc, "injected fault", err);
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		return rc;
	return step_failed(sqlite3_extended_errcode(c->db), sqlite3_errmsg(c->db), err);
}

int
db_exec(struct conn *c, const char *sql, struct err *err, const char *fmt, ...)
{
	sqlite3_stmt *st;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	st = db_vprep(c, sql, fmt, ap);
	va_end(ap);
	rc = db_step(c, st, err);
	if (st != NULL)
		sqlite3_reset(st);
	return rc == -1 ? -1 : 0;
}

int
db_changes(struct conn *c)
{
	return sqlite3_changes(c->db);
}

int64_t
db_last_id(struct conn *c)
{
	return sqlite3_last_insert_rowid(c->db);
}

bool
db_is_unique_violation(struct conn *c)
{
	if (c->injected)
		return false;
	return sqlite3_extended_errcode(c->db) == SQLITE_CONSTRAINT_UNIQUE ||
	    sqlite3_extended_errcode(c->db) == SQLITE_CONSTRAINT_PRIMARYKEY;
}

char *
db_col_strdup(sqlite3_stmt *st, int col)
{
	const unsigned char *t;

	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		return NULL;
	t = sqlite3_column_text(st, col);
	return xstrndup((const char *)t, (size_t)sqlite3_column_bytes(st, col));
}

int64_t
db_col_i64(sqlite3_stmt *st, int col)
{
	return sqlite3_column_int64(st, col);
}

bool
db_col_null(sqlite3_stmt *st, int col)
{
	return sqlite3_column_type(st, col) == SQLITE_NULL;
}

int
db_ping(void)
{
	struct conn *c = db_reader();
	sqlite3_stmt *st;
	struct err err;
	int rc;

	if (c == NULL)
		return -1;
	sqlite3_busy_timeout(c->db, 2000);
	st = db_prep(c, "SELECT 1", "");
	rc = db_step(c, st, &err);
	if (st != NULL)
		sqlite3_reset(st);
	sqlite3_busy_timeout(c->db, (int)(write_timeout_us / 1000));
	return rc == SQLITE_ROW ? 0 : -1;
}

int
db_writable(int64_t timeout_ms, struct err *err)
{
	int64_t saved = deadline_us;
	struct conn *c;

	deadline_us = mono_us() + timeout_ms * 1000;
	c = db_begin(err);
	deadline_us = saved;
	if (c == NULL)
		return -1;
	db_rollback(c);
	return 0;
}

/* ---- row lists ----
 * Every list reader of the store has the same shape: step to the end,
 * grow an array, read a row into the next element, reset, and on an error
 * release what was read. It lives here once; the SQL and the row layout
 * stay in the store files. */

int
db_list(struct conn *c, sqlite3_stmt *st, const struct db_rowtype *t, void **out,
    size_t *n, struct err *err)
{
	char *v = NULL;
	size_t cap = 0;
	int rc;

	*n = 0;
	while ((rc = db_step(c, st, err)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			v = xrealloc(v, cap * t->size);
		}
		memset(v + *n * t->size, 0, t->size);
		t->read(st, v + (*n)++ * t->size);
	}
	if (st != NULL)
		sqlite3_reset(st);
	if (rc == -1) {
		db_list_free(v, *n, t);
		v = NULL;
		*n = 0;
	}
	*out = v;
	return rc == -1 ? -1 : 0;
}

void
db_list_free(void *v, size_t n, const struct db_rowtype *t)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; t->clear != NULL && i < n; i++)
		t->clear((char *)v + i * t->size);
	free(v);
}
