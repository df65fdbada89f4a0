/*
 * store: teams, tokens and the metrics gauges (apps and versions live in
 * store_app.c; runs, attempts, logs and runners in store_run.c). Reads use the calling thread's reader connection;
 * writes run in one BEGIN IMMEDIATE transaction on the writer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authcache.h"
#include "db.h"
#include "db_fault.h"
#include "metrics.h"
#include "store.h"
#include "store_run.h"
#include "store_schedule.h"
#include "util.h"

#define TOKEN_TOUCH_MS 60000

int
store_open(const char *path, bool sync_full, struct err *err)
{
	return db_open(path, sync_full, err);
}

void
store_set_limits(int64_t write_timeout_ms, int max_waiting)
{
	db_set_limits(write_timeout_ms, max_waiting);
}

void
store_set_deadline(int64_t mono_deadline_us)
{
	db_set_deadline(mono_deadline_us);
}

#ifdef MT_FAULTS
int
store_fault_arm(const char *kind, int skip, int count, bool all_conns, long *injected,
    struct err *err)
{
	*injected = dbfault_injected();
	return dbfault_arm(kind, skip, count, all_conns, err);
}
#endif

int
store_writable(int64_t timeout_ms, struct err *err)
{
	return db_writable(timeout_ms, err);
}

void
store_close(void)
{
	db_close();
}

int
store_ping(void)
{
	return db_ping();
}

/* Records last_used_at when the one known (*last_used) is more than a
 * minute old; *last_used becomes now once that committed. Only when the
 * writer is free at once: a read request never waits behind writes for it
 * (the next request tries again). */
static void
touch_token(int64_t token_id, int64_t *last_used)
{
	struct conn *c;
	struct err err;
	int64_t now = now_ms();

	if (*last_used != 0 && now - *last_used <= TOKEN_TOUCH_MS)
		return;
	if ((c = db_begin_mode(DB_TRY, &err)) == NULL)
		return;
	if (db_exec(c, "UPDATE team_tokens SET last_used_at=? WHERE id=? AND "
	    "(last_used_at IS NULL OR last_used_at < ?)", &err, "iii", now, token_id,
	    now - TOKEN_TOUCH_MS) == -1) {
		db_rollback(c);
		return;
	}
	if (db_commit(c, &err) == 0)
		*last_used = now;
}

/* A team token as the auth cache keeps it. */
struct team_entry {
	struct team_auth	 auth;
	int64_t			 last_used;
};

/* The team token of token_hash as the database has it: 0, or -1 with
 * ERR_UNAUTHORIZED when it is unknown or revoked. */
static int
team_token_read(const char *token_hash, struct team_entry *e, struct err *err)
{
	static const char sql[] = "SELECT t.id, t.role, t.last_used_at, tm.id, tm.slug "
	    "FROM team_tokens t JOIN teams tm ON tm.id=t.team_id "
	    "WHERE t.token_hash=? AND t.revoked_at IS NULL";
	struct conn *c = db_reader();
	sqlite3_stmt *st = db_prep(c, sql, "s", token_hash);
	int rc = db_step(c, st, err);

	if (rc == -1)
		return -1;
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		return err_set(err, ERR_UNAUTHORIZED, "invalid or missing token");
	}
	memset(e, 0, sizeof(*e));
	e->auth.token_id = db_col_i64(st, 0);
	e->auth.admin = strcmp((const char *)sqlite3_column_text(st, 1), "admin") == 0;
	e->last_used = db_col_i64(st, 2);
	e->auth.team_id = db_col_i64(st, 3);
	col_copy(st, 4, e->auth.team_slug, sizeof(e->auth.team_slug));
	snprintf(e->auth.token_hash, sizeof(e->auth.token_hash), "%s", token_hash);
	sqlite3_reset(st);
	return 0;
}

int
store_team_auth(const char *token_hash, struct team_auth *auth, struct err *err)
{
	struct team_entry e;
	uint64_t gen;
	int64_t known;
	bool hit = authcache_get(AUTHCACHE_TEAM, token_hash, now_ms(), &e, sizeof(e), &gen);

	if (!hit) {
		gen = authcache_gen();	/* before the read: see authcache.h */
		if (team_token_read(token_hash, &e, err) == -1)
			return -1;
	}
	known = e.last_used;
	touch_token(e.auth.token_id, &e.last_used);
	if (!hit || e.last_used != known)
		authcache_put(AUTHCACHE_TEAM, token_hash, gen, now_ms(), &e, sizeof(e));
	*auth = e.auth;
	return 0;
}

int
store_runner_auth(const char *token_hash, struct runner_auth *auth, struct err *err)
{
	static const char sql[] = "SELECT id, name, environment FROM runners "
	    "WHERE token_hash=? AND status='online'";
	uint64_t gen;
	struct conn *c;
	sqlite3_stmt *st;
	int rc;

	if (authcache_get(AUTHCACHE_RUNNER, token_hash, now_ms(), auth, sizeof(*auth), &gen))
		return 0;
	gen = authcache_gen();	/* before the read: see authcache.h */
	c = db_reader();
	st = db_prep(c, sql, "s", token_hash);
	if ((rc = db_step(c, st, err)) == -1)
		return -1;
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		return err_set(err, ERR_UNAUTHORIZED, "invalid or missing token");
	}
	memset(auth, 0, sizeof(*auth));
	auth->runner_id = db_col_i64(st, 0);
	col_copy(st, 1, auth->name, sizeof(auth->name));
	col_copy(st, 2, auth->environment, sizeof(auth->environment));
	sqlite3_reset(st);
	authcache_put(AUTHCACHE_RUNNER, token_hash, gen, now_ms(), auth, sizeof(*auth));
	return 0;
}

static int
insert_token(struct conn *c, int64_t team_id, const char *name, size_t name_len,
    bool admin, const char *hash, int64_t *id, struct err *err)
{
	if (db_exec(c, "INSERT INTO team_tokens(team_id, token_hash, name, created_at, role) "
	    "VALUES(?,?,?,?,?)", err, "isSis", team_id, hash, name, name_len, now_ms(),
	    admin ? "admin" : "member") == -1)
		return -1;
	if (id != NULL)
		*id = db_last_id(c);
	return 0;
}

/* Inserts a team; *id is its row id. A taken slug is ERR_SLUG_TAKEN. */
static int
insert_team(struct conn *c, const char *slug, const char *name, size_t name_len,
    const char *pw_hash, int64_t *id, struct err *err)
{
	int64_t now = now_ms();

	if (db_exec(c, "INSERT INTO teams(slug, name, created_at, updated_at, password_hash) "
	    "VALUES(?,?,?,?,?)", err, "sSiis", slug, name, name_len, now, now, pw_hash) == -1) {
		if (db_is_unique_violation(c))
			err_set(err, ERR_SLUG_TAKEN, "team slug already exists");
		return -1;
	}
	*id = db_last_id(c);
	return 0;
}

int
store_signup(const char *slug, const char *name, const char *pw_hash,
    const char *token_hash, int64_t *team_id, struct err *err)
{
	struct conn *c = db_begin(err);

	if (c == NULL)
		return -1;
	if (insert_team(c, slug, name, strlen(name), pw_hash, team_id, err) == -1)
		goto fail;
	if (insert_token(c, *team_id, "signup", 6, true, token_hash, NULL, err) == -1)
		goto fail;
	return db_commit(c, err);
fail:
	db_rollback(c);
	return -1;
}

int
store_team_password(const char *slug, int64_t *team_id, char **pw_hash, struct err *err)
{
	struct conn *c = db_reader();
	sqlite3_stmt *st = db_prep(c, "SELECT id, password_hash FROM teams WHERE slug=?", "s", slug);
	int rc = db_step(c, st, err);

	*pw_hash = NULL;
	if (rc == -1)
		return -1;
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		return err_set(err, ERR_NOT_FOUND, "team not found");
	}
	*team_id = db_col_i64(st, 0);
	*pw_hash = db_col_strdup(st, 1);
	sqlite3_reset(st);
	return 0;
}

int
store_login(int64_t team_id, const char *token_hash, const char *old_hash,
    const char *new_hash, int64_t *token_id, bool *rehashed, struct err *err)
{
	struct conn *c = db_begin(err);

	*rehashed = false;
	if (c == NULL)
		return -1;
	if (insert_token(c, team_id, "login", 5, true, token_hash, token_id, err) == -1)
		goto fail;
	if (new_hash != NULL) {
		if (db_exec(c, "UPDATE teams SET password_hash=?, updated_at=? WHERE id=? AND "
		    "password_hash=?", err, "siis", new_hash, now_ms(), team_id, old_hash) == -1)
			goto fail;
		*rehashed = db_changes(c) > 0;
	}
	return db_commit(c, err);
fail:
	db_rollback(c);
	return -1;
}

int
store_bootstrap(const char *slug, const char *name, size_t name_len,
    const char *pw_hash, const char *token_hash, int64_t *team_id, bool *created,
    struct err *err)
{
	struct conn *c = db_begin(err);
	sqlite3_stmt *st;
	int64_t now = now_ms();
	int rc;

	*created = false;
	if (c == NULL)
		return -1;
	st = db_prep(c, "SELECT id FROM teams WHERE slug=?", "s", slug);
	if ((rc = db_step(c, st, err)) == -1)
		goto fail;
	*team_id = rc == SQLITE_ROW ? db_col_i64(st, 0) : 0;
	sqlite3_reset(st);
	if (*team_id != 0) {
		if (pw_hash != NULL && db_exec(c, "UPDATE teams SET password_hash=?, updated_at=? "
		    "WHERE id=?", err, "sii", pw_hash, now, *team_id) == -1)
			goto fail;
	} else {
		st = db_prep(c, "SELECT 1 FROM teams LIMIT 1", "");
		if ((rc = db_step(c, st, err)) == -1)
			goto fail;
		sqlite3_reset(st);
		if (rc == SQLITE_ROW) {
			err_set(err, ERR_TEAM_EXISTS, "a team already exists");
			goto fail;
		}
		if (insert_team(c, slug, name, name_len, pw_hash, team_id, err) == -1)
			goto fail;
		*created = true;
	}
	if (insert_token(c, *team_id, "bootstrap", 9, true, token_hash, NULL, err) == -1)
		goto fail;
	return db_commit(c, err);
fail:
	db_rollback(c);
	return -1;
}

int
store_token_create(int64_t team_id, const char *name, size_t name_len, bool admin,
    const char *token_hash, int64_t *token_id, struct err *err)
{
	struct conn *c = db_begin(err);

	if (c == NULL)
		return -1;
	if (insert_token(c, team_id, name, name_len, admin, token_hash, token_id, err) == -1) {
		db_rollback(c);
		return -1;
	}
	return db_commit(c, err);
}

static void
token_read(sqlite3_stmt *st, void *elem)
{
	struct token_row *t = elem;

	t->id = db_col_i64(st, 0);
	t->name = db_col_strdup(st, 1);
	t->name_len = (size_t)sqlite3_column_bytes(st, 1);
	t->admin = strcmp((const char *)sqlite3_column_text(st, 2), "admin") == 0;
	t->created_at = db_col_i64(st, 3);
	t->last_used_at = db_col_i64(st, 4);
}

static void
token_clear(void *elem)
{
	free(((struct token_row *)elem)->name);
}

static const struct db_rowtype token_rows = { sizeof(struct token_row), token_read, token_clear };

int
store_token_list(int64_t team_id, struct token_row **rows, size_t *n, struct err *err)
{
	struct conn *c = db_reader();
	sqlite3_stmt *st = db_prep(c, "SELECT id, name, role, created_at, last_used_at "
	    "FROM team_tokens WHERE team_id=? AND revoked_at IS NULL ORDER BY id", "i", team_id);
	void *v;
	int rc = db_list(c, st, &token_rows, &v, n, err);

	*rows = v;
	return rc;
}

void
store_tokens_free(struct token_row *rows, size_t n)
{
	db_list_free(rows, n, &token_rows);
}

int
store_token_revoke(int64_t team_id, int64_t id, struct err *err)
{
	struct conn *c = db_begin(err);
	sqlite3_stmt *st;
	int rc;

	if (c == NULL)
		return -1;
	st = db_prep(c, "SELECT 1 FROM team_tokens WHERE id=? AND team_id=?", "ii", id, team_id);
	if ((rc = db_step(c, st, err)) == -1)
		goto fail;
	sqlite3_reset(st);
	if (rc != SQLITE_ROW) {
		err_set(err, ERR_NOT_FOUND, "token not found");
		goto fail;
	}
	if (db_exec(c, "UPDATE team_tokens SET revoked_at=? WHERE id=? AND revoked_at IS NULL",
	    err, "ii", now_ms(), id) == -1)
		goto fail;
	if (db_commit(c, err) == -1)
		return -1;
	authcache_invalidate();
	return 0;
fail:
	db_rollback(c);
	return -1;
}

static void
pending_read(sqlite3_stmt *st, void *elem)
{
	struct metrics_pending_row *p = elem;

	p->team = db_col_strdup(st, 0);
	p->app = db_col_strdup(st, 1);
	p->environment = db_col_strdup(st, 2);
	p->count = db_col_i64(st, 3);
}

static void
pending_clear(void *elem)
{
	struct metrics_pending_row *p = elem;

	free((char *)(uintptr_t)p->team);
	free((char *)(uintptr_t)p->app);
	free((char *)(uintptr_t)p->environment);
}

static void
online_read(sqlite3_stmt *st, void *elem)
{
	struct metrics_online_row *o = elem;

	o->environment = db_col_strdup(st, 0);
	o->count = db_col_i64(st, 1);
}

static void
online_clear(void *elem)
{
	free((char *)(uintptr_t)((struct metrics_online_row *)elem)->environment);
}

static void
slots_read(sqlite3_stmt *st, void *elem)
{
	struct metrics_slots_row *r = elem;

	r->environment = db_col_strdup(st, 0);
	r->total = db_col_i64(st, 1);
	r->used = db_col_i64(st, 2);
}

static void
slots_clear(void *elem)
{
	free((char *)(uintptr_t)((struct metrics_slots_row *)elem)->environment);
}

static const struct db_rowtype slots_rows = {
	sizeof(struct metrics_slots_row), slots_read, slots_clear
};
static const struct db_rowtype pending_rows = {
	sizeof(struct metrics_pending_row), pending_read, pending_clear
};
static const struct db_rowtype online_rows = {
	sizeof(struct metrics_online_row), online_read, online_clear
};

int
store_metrics_gauges(struct metrics_gauges *g, struct err *err)
{
	static const char pending_sql[] = "SELECT t.slug, a.slug, e.name, COUNT(*) FROM runs r INDEXED BY runs_queue_pick_idx "
	    "JOIN teams t ON t.id=r.team_id JOIN apps a ON a.id=r.app_id "
	    "JOIN environments e ON e.id=r.environment_id WHERE r.status='queued' "
	    "GROUP BY r.team_id, r.app_id, r.environment_id";
	static const char online_sql[] = "SELECT environment, COUNT(*) FROM runners "
	    "WHERE status='online' GROUP BY environment";
	static const char slots_sql[] = "SELECT environment, SUM(max_concurrent), "
	    "SUM((SELECT COUNT(*) FROM run_attempts a INDEXED BY run_attempts_active_runner_idx "
	    "WHERE a.runner_id=runners.id AND a.status IN ('leased','running','cancelling'))) "
	    "FROM runners WHERE status='online' GROUP BY environment";
	struct conn *c = db_reader();
	void *p, *o, *sl;

	memset(g, 0, sizeof(*g));
	if (db_list(c, db_prep(c, pending_sql, ""), &pending_rows, &p, &g->npending, err) == -1)
		return -1;
	g->pending = p;
	if (db_list(c, db_prep(c, online_sql, ""), &online_rows, &o, &g->nonline, err) == -1) {
		store_metrics_gauges_free(g);
		return -1;
	}
	g->online = o;
	if (db_list(c, db_prep(c, slots_sql, ""), &slots_rows, &sl, &g->nslots, err) == -1) {
		store_metrics_gauges_free(g);
		return -1;
	}
	g->slots = sl;
	if (store_schedule_count_enabled(&g->schedules_enabled, err) == -1) {
		store_metrics_gauges_free(g);
		return -1;
	}
	return 0;
}

void
store_metrics_gauges_free(struct metrics_gauges *g)
{
	db_list_free((void *)(uintptr_t)g->pending, g->npending, &pending_rows);
	db_list_free((void *)(uintptr_t)g->online, g->nonline, &online_rows);
	db_list_free((void *)(uintptr_t)g->slots, g->nslots, &slots_rows);
	memset(g, 0, sizeof(*g));
}
