/*
 * store_run: runs (creation with its idempotency key, lists, summary,
 * cancel), attempt and log reads, and runners. Every state change is a
 * compare-and-set (a status predicate plus a changes check) inside one
 * BEGIN IMMEDIATE transaction on the writer; reads use the calling thread's
 * reader connection. The lease-bound calls, the lease and the reaper's
 * transactions are in store_lease.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authcache.h"
#include "db.h"
#include "store.h"
#include "store_run.h"
#include "util.h"

#define IDEM_TTL_MS 86400000

/* ---- runs ---- */

#define RUN_SELECT "SELECT r.id, r.team_id, r.app_id, r.run_no, v.version_no, t.slug, a.slug, " \
	"r.status, r.input_json, r.priority, r.max_retries, r.retry_count, r.cancel_requested, " \
	"r.queued_at, r.started_at, r.finished_at, e.name, r.schedule_id, r.scheduled_for FROM runs r " \
	"JOIN apps a ON a.id=r.app_id JOIN teams t ON t.id=r.team_id " \
	"JOIN app_versions v ON v.id=r.app_version_id JOIN environments e ON e.id=r.environment_id "

static void
run_from_row(sqlite3_stmt *st, void *elem)
{
	struct run *r = elem;

	memset(r, 0, sizeof(*r));
	r->id = db_col_i64(st, 0);
	r->team_id = db_col_i64(st, 1);
	r->app_id = db_col_i64(st, 2);
	r->run_no = db_col_i64(st, 3);
	r->version_no = db_col_i64(st, 4);
	col_copy(st, 5, r->team_slug, sizeof(r->team_slug));
	col_copy(st, 6, r->app_slug, sizeof(r->app_slug));
	col_copy(st, 7, r->status, sizeof(r->status));
	r->input_json = db_col_strdup(st, 8);
	r->priority = db_col_i64(st, 9);
	r->max_retries = db_col_i64(st, 10);
	r->retry_count = db_col_i64(st, 11);
	r->cancel_requested = db_col_i64(st, 12) != 0;
	r->queued_at = db_col_i64(st, 13);
	r->started_at = db_col_i64(st, 14);
	r->finished_at = db_col_i64(st, 15);
	col_copy(st, 16, r->environment, sizeof(r->environment));
	r->schedule_id = db_col_i64(st, 17);
	r->scheduled_for = db_col_i64(st, 18);
}

void
store_run_clear(struct run *r)
{
	if (r == NULL)
		return;
	free(r->input_json);
	memset(r, 0, sizeof(*r));
}

static void
run_clear(void *elem)
{
	store_run_clear(elem);
}

static const struct db_rowtype run_rows = { sizeof(struct run), run_from_row, run_clear };

void
store_runs_free(struct run *runs, size_t n)
{
	db_list_free(runs, n, &run_rows);
}

int
store_run_load(struct conn *c, int64_t team_id, int64_t id, struct run *out, struct err *err)
{
	sqlite3_stmt *st = db_prep(c, RUN_SELECT "WHERE r.id=?1 AND (?2=0 OR r.team_id=?2)",
	    "ii", id, team_id);
	int rc = one_row(c, st, err);

	memset(out, 0, sizeof(*out));
	if (rc == -1)
		return -1;
	if (rc == 0)
		return err_set(err, ERR_NOT_FOUND, "run not found");
	run_from_row(st, out);
	sqlite3_reset(st);
	return 0;
}

int
store_run_get(int64_t team_id, int64_t run_id, struct run *out, struct err *err)
{
	return store_run_load(db_reader(), team_id, run_id, out, err);
}

static int
idem_find(struct conn *c, int64_t team_id, int64_t app_id, const char *key, int64_t *run_id,
    char sha[65], struct err *err)
{
	sqlite3_stmt *st = db_prep(c, "SELECT run_id, request_sha256 FROM run_idempotency_keys "
	    "WHERE team_id=? AND app_id=? AND idempotency_key=? AND expires_at > ?", "iisi",
	    team_id, app_id, key, now_ms());
	int rc = one_row(c, st, err);

	if (rc != 1)
		return rc;
	*run_id = db_col_i64(st, 0);
	col_copy(st, 1, sha, 65);
	sqlite3_reset(st);
	return 1;
}

int
store_idem_lookup(int64_t team_id, int64_t app_id, const char *key, int64_t *run_id,
    char sha[65], struct err *err)
{
	return idem_find(db_reader(), team_id, app_id, key, run_id, sha, err);
}

/* The team's default environment, created on first use. */
static int
default_env(struct conn *c, int64_t team_id, int64_t now, int64_t *env_id, struct err *err)
{
	sqlite3_stmt *st = db_prep(c, "SELECT id FROM environments WHERE team_id=? AND "
	    "name='default'", "i", team_id);
	int rc = one_row(c, st, err);

	if (rc == -1)
		return -1;
	if (rc == 1) {
		*env_id = db_col_i64(st, 0);
		sqlite3_reset(st);
		return 0;
	}
	if (db_exec(c, "INSERT INTO environments(team_id, name, is_default, created_at, updated_at) "
	    "VALUES(?,'default',1,?,?)", err, "iii", team_id, now, now) == -1)
		return -1;
	*env_id = db_last_id(c);
	return 0;
}

int
store_run_insert(struct conn *c, const struct run_new *in, int64_t now, int64_t *id, struct err *err)
{
	sqlite3_stmt *st;
	int64_t env_id, run_no;
	int rc;

	if (default_env(c, in->team_id, now, &env_id, err) == -1)
		return -1;
	st = db_prep(c, "SELECT COALESCE(MAX(run_no),0)+1 FROM runs WHERE app_id=?", "i", in->app_id);
	if ((rc = one_row(c, st, err)) != 1)
		return rc == -1 ? -1 : err_set(err, ERR_INTERNAL, "run_no");
	run_no = db_col_i64(st, 0);
	sqlite3_reset(st);
	if (db_exec(c, "INSERT INTO runs(team_id, app_id, environment_id, app_version_id, run_no, "
	    "input_json, status, priority, max_retries, retry_count, cancel_requested, queued_at, "
	    "created_at, updated_at, schedule_id, scheduled_for) "
	    "VALUES(?,?,?,?,?,?,'queued',?,?,0,0,?,?,?,?,?)", err, "iiiiisiiiiizz",
	    in->team_id, in->app_id, env_id, in->version_id, run_no, in->input_json, in->priority,
	    in->max_retries, now, now, now, in->schedule_id, in->scheduled_for) == -1)
		return -1;
	*id = db_last_id(c);
	return 0;
}

int
store_run_key(struct conn *c, const struct run_new *in, int64_t run_id, int64_t now, struct err *err)
{
	/* an expired row of the same key is replaced */
	if (db_exec(c, "DELETE FROM run_idempotency_keys WHERE team_id=? AND app_id=? AND "
	    "idempotency_key=?", err, "iis", in->team_id, in->app_id, in->idem_key) == -1)
		return -1;
	return db_exec(c, "INSERT INTO run_idempotency_keys(team_id, app_id, idempotency_key, "
	    "request_sha256, run_id, created_at, expires_at) VALUES(?,?,?,?,?,?,?)", err, "iissiii",
	    in->team_id, in->app_id, in->idem_key, in->fingerprint, run_id, now, now + IDEM_TTL_MS);
}

int
store_run_create(const struct run_new *in, struct run *out, bool *replayed, struct err *err)
{
	struct conn *c = db_begin(err);
	int64_t now = now_ms(), id = 0;
	char sha[65];
	int rc;

	*replayed = false;
	memset(out, 0, sizeof(*out));
	if (c == NULL)
		return -1;
	err_clear(err);
	if (in->idem_key != NULL) {
		if ((rc = idem_find(c, in->team_id, in->app_id, in->idem_key, &id, sha, err)) == -1)
			goto fail;
		if (rc == 1 && strcmp(sha, in->fingerprint) != 0) {
			err_set(err, ERR_IDEMPOTENCY,
			    "Idempotency-Key was already used with a different request");
			goto fail;
		}
		*replayed = rc == 1;
	}
	if (!*replayed && (store_run_insert(c, in, now, &id, err) == -1 ||
	    (in->idem_key != NULL && store_run_key(c, in, id, now, err) == -1)))
		goto fail;
	if (store_run_load(c, 0, id, out, err) == -1)
		goto fail;
	return db_commit(c, err);
fail:
	db_rollback(c);
	store_run_clear(out);
	return -1;
}

int
store_run_list(const struct run_filter *f, struct run **out, size_t *n, struct err *err)
{
	static const char team_sql[] = RUN_SELECT "WHERE r.team_id=?1 AND (?2 IS NULL OR "
	    "r.status=?2) AND (?3 IS NULL OR a.slug=?3) AND (?6=0 OR r.schedule_id=?6) ORDER BY CASE r.status "
	    "WHEN 'running' THEN 0 WHEN 'leased' THEN 1 WHEN 'cancelling' THEN 2 WHEN 'queued' THEN 3 "
	    "WHEN 'completed' THEN 4 WHEN 'failed' THEN 5 WHEN 'cancelled' THEN 6 ELSE 7 END, "
	    "r.queued_at DESC, r.id DESC LIMIT ?4 OFFSET ?5";
	static const char recent_sql[] = RUN_SELECT "WHERE r.team_id=?1 AND (?2 IS NULL OR "
	    "r.status=?2) AND (?3 IS NULL OR a.slug=?3) AND (?6=0 OR r.schedule_id=?6) "
	    "ORDER BY r.queued_at DESC, r.id DESC LIMIT ?4 OFFSET ?5";
	static const char app_sql[] = RUN_SELECT "WHERE r.app_id=?1 AND (?4=0 OR "
	    "r.schedule_id=?4) ORDER BY r.run_no DESC LIMIT ?2 OFFSET ?3";
	struct conn *c = db_reader();
	sqlite3_stmt *st;
	void *v;
	int rc;

	if (f->app_id > 0)
		st = db_prep(c, app_sql, "iiii", f->app_id, f->limit, f->offset, f->schedule_id);
	else
		st = db_prep(c, f->recent ? recent_sql : team_sql, "issiii", f->team_id, f->status,
		    f->app_slug, f->limit, f->offset, f->schedule_id);
	rc = db_list(c, st, &run_rows, &v, n, err);
	*out = v;
	return rc;
}

int
store_run_count(const struct run_filter *f, int64_t *total, struct err *err)
{
	struct conn *c = db_reader();
	sqlite3_stmt *st;

	if (f->app_id > 0)
		st = db_prep(c, "SELECT COUNT(*) FROM runs WHERE app_id=?1 AND (?2=0 OR "
		    "schedule_id=?2)", "ii", f->app_id, f->schedule_id);
	else
		st = db_prep(c, "SELECT COUNT(*) FROM runs r WHERE r.team_id=?1 AND (?2 IS NULL OR "
		    "r.status=?2) AND (?3 IS NULL OR r.app_id=(SELECT id FROM apps WHERE "
		    "team_id=?1 AND slug=?3)) AND (?4=0 OR r.schedule_id=?4)", "issi", f->team_id,
		    f->status, f->app_slug, f->schedule_id);
	if (one_row(c, st, err) != 1)
		return -1;
	*total = db_col_i64(st, 0);
	sqlite3_reset(st);
	return 0;
}

int
store_run_summary(int64_t team_id, struct run_summary *out, struct err *err)
{
	struct conn *c = db_reader();
	sqlite3_stmt *st = db_prep(c, "SELECT COUNT(*), "
	    "COALESCE(SUM(status IN ('running','leased','cancelling')),0), "
	    "COALESCE(SUM(status='queued'),0), "
	    "COALESCE(SUM(status IN ('completed','failed','cancelled','dead')),0) "
	    "FROM runs WHERE team_id=?", "i", team_id);

	memset(out, 0, sizeof(*out));
	if (one_row(c, st, err) != 1)
		return -1;
	out->total = db_col_i64(st, 0);
	out->active = db_col_i64(st, 1);
	out->queued = db_col_i64(st, 2);
	out->terminal = db_col_i64(st, 3);
	sqlite3_reset(st);
	return 0;
}

/* The latest attempt number of a run (0 when it was never leased). */
static int
last_attempt_no(struct conn *c, int64_t run_id, int64_t *no, struct err *err)
{
	sqlite3_stmt *st = db_prep(c, "SELECT COALESCE(MAX(attempt_no),0) FROM run_attempts "
	    "WHERE run_id=?", "i", run_id);
	int rc = one_row(c, st, err);

	*no = 0;
	if (rc == 1) {
		*no = db_col_i64(st, 0);
		sqlite3_reset(st);
	}
	return rc == -1 ? -1 : 0;
}

static int
apply_cancel(struct conn *c, const char *status, int64_t run_id, int64_t now, struct err *err)
{
	if (strcmp(status, "queued") == 0)
		return db_exec(c, "UPDATE runs SET status='cancelled', cancel_requested=1, "
		    "finished_at=?, updated_at=? WHERE id=? AND status='queued'", err, "iii", now, now,
		    run_id);
	if (strcmp(status, "leased") == 0 || strcmp(status, "running") == 0) {
		if (db_exec(c, "UPDATE runs SET status='cancelling', cancel_requested=1, updated_at=? "
		    "WHERE id=? AND status IN ('leased','running')", err, "ii", now, run_id) == -1)
			return -1;
		return db_exec(c, "UPDATE run_attempts SET status='cancelling', updated_at=? "
		    "WHERE run_id=? AND status IN ('leased','running')", err, "ii", now, run_id);
	}
	if (strcmp(status, "cancelling") == 0)
		return db_exec(c, "UPDATE runs SET updated_at=? WHERE id=? AND status='cancelling'",
		    err, "ii", now, run_id);
	return 0;	/* terminal: unchanged */
}

int
store_run_cancel_in(struct conn *c, int64_t team_id, int64_t run_id, struct run *out,
    char old_status[STORE_STATUS_MAX], int64_t *attempt_no, struct err *err)
{
	if (store_run_load(c, team_id, run_id, out, err) == -1 ||
	    last_attempt_no(c, run_id, attempt_no, err) == -1)
		return -1;
	snprintf(old_status, STORE_STATUS_MAX, "%s", out->status);
	if (apply_cancel(c, out->status, run_id, now_ms(), err) == -1)
		return -1;
	store_run_clear(out);
	return store_run_load(c, team_id, run_id, out, err);
}

int
store_run_cancel(int64_t team_id, int64_t run_id, struct run *out,
    char old_status[STORE_STATUS_MAX], int64_t *attempt_no, struct err *err)
{
	struct conn *c = db_begin(err);

	memset(out, 0, sizeof(*out));
	if (c == NULL)
		return -1;
	if (store_run_cancel_in(c, team_id, run_id, out, old_status, attempt_no, err) == -1)
		goto fail;
	return db_commit(c, err);
fail:
	db_rollback(c);
	store_run_clear(out);
	return -1;
}

/* ---- attempts and logs (reads) ---- */

static void
attempt_rec_read(sqlite3_stmt *st, void *elem)
{
	struct attempt_rec *a = elem;

	a->attempt_no = db_col_i64(st, 0);
	col_copy(st, 1, a->status, sizeof(a->status));
	a->runner_name = db_col_strdup(st, 2);
	if (a->runner_name == NULL)
		a->runner_name = xstrdup("");
	a->has_exit_code = !db_col_null(st, 3);
	a->exit_code = db_col_i64(st, 3);
	a->error_message = db_col_strdup(st, 4);
	a->started_at = db_col_i64(st, 5);
	a->finished_at = db_col_i64(st, 6);
	a->reason = db_col_strdup(st, 7);
	a->peak_memory_bytes = db_col_null(st, 8) ? -1 : db_col_i64(st, 8);
	a->cpu_user_ms = db_col_null(st, 9) ? -1 : db_col_i64(st, 9);
	a->cpu_system_ms = db_col_null(st, 10) ? -1 : db_col_i64(st, 10);
}

static void
attempt_rec_clear(void *elem)
{
	struct attempt_rec *a = elem;

	free(a->runner_name);
	free(a->error_message);
	free(a->reason);
}

static const struct db_rowtype attempt_rec_rows = {
	sizeof(struct attempt_rec), attempt_rec_read, attempt_rec_clear
};

int
store_attempt_list(int64_t run_id, struct attempt_rec **out, size_t *n, struct err *err)
{
	struct conn *c = db_reader();
	sqlite3_stmt *st = db_prep(c, "SELECT a.attempt_no, a.status, rn.name, a.exit_code, "
	    "a.error_message, a.started_at, a.finished_at, a.reason, a.peak_memory_bytes, "
	    "a.cpu_user_ms, a.cpu_system_ms FROM run_attempts a "
	    "JOIN runners rn ON rn.id=a.runner_id WHERE a.run_id=? ORDER BY a.attempt_no", "i", run_id);
	void *v;
	int rc = db_list(c, st, &attempt_rec_rows, &v, n, err);

	*out = v;
	return rc;
}

void
store_attempt_recs_free(struct attempt_rec *a, size_t n)
{
	db_list_free(a, n, &attempt_rec_rows);
}

int
store_attempt_latest(int64_t run_id, int64_t *attempt_id, int64_t *attempt_no, struct err *err)
{
	struct conn *c = db_reader();
	sqlite3_stmt *st = db_prep(c, "SELECT id, attempt_no FROM run_attempts WHERE run_id=? "
	    "ORDER BY attempt_no DESC LIMIT 1", "i", run_id);
	int rc = one_row(c, st, err);

	*attempt_id = *attempt_no = 0;
	if (rc == 1) {
		*attempt_id = db_col_i64(st, 0);
		*attempt_no = db_col_i64(st, 1);
		sqlite3_reset(st);
	}
	return rc == -1 ? -1 : 0;
}

int
store_attempt_find(int64_t run_id, int64_t attempt_no, int64_t *attempt_id, int64_t *found_no,
    struct err *err)
{
	struct conn *c = db_reader();
	sqlite3_stmt *st;
	int rc;

	if (attempt_no <= 0)
		return store_attempt_latest(run_id, attempt_id, found_no, err);
	st = db_prep(c, "SELECT id FROM run_attempts WHERE run_id=? AND attempt_no=?", "ii",
	    run_id, attempt_no);
	if ((rc = one_row(c, st, err)) == -1)
		return -1;
	if (rc == 0)
		return err_set(err, ERR_NOT_FOUND, "attempt not found");
	*attempt_id = db_col_i64(st, 0);
	*found_no = attempt_no;
	sqlite3_reset(st);
	return 0;
}

static void
log_read(sqlite3_stmt *st, void *elem)
{
	struct log_entry *e = elem;

	e->id = db_col_i64(st, 0);
	e->seq = db_col_i64(st, 1);
	col_copy(st, 2, e->stream, sizeof(e->stream));
	e->line = db_col_strdup(st, 3);
	e->line_len = (size_t)sqlite3_column_bytes(st, 3);
	if (e->line == NULL)
		e->line = xstrdup("");
	e->logged_at = db_col_i64(st, 4);
}

static void
log_clear(void *elem)
{
	free(((struct log_entry *)elem)->line);
}

static const struct db_rowtype log_rows = { sizeof(struct log_entry), log_read, log_clear };

static int
collect_logs(struct conn *c, sqlite3_stmt *st, struct log_entry **out, size_t *n,
    struct err *err)
{
	void *v;
	int rc = db_list(c, st, &log_rows, &v, n, err);

	*out = v;
	return rc;
}

int
store_log_page(int64_t attempt_id, int64_t after_seq, int64_t max_id, size_t limit,
    struct log_entry **out, size_t *n, struct err *err)
{
	struct conn *c = db_reader();
	sqlite3_stmt *st = db_prep(c, "SELECT id, seq, stream, line, logged_at FROM run_logs "
	    "WHERE run_attempt_id=?1 AND seq>?2 AND (?3=0 OR id<=?3) ORDER BY seq LIMIT ?4", "iiii",
	    attempt_id, after_seq, max_id, (int64_t)limit);

	return collect_logs(c, st, out, n, err);
}

int
store_log_follow(int64_t attempt_id, int64_t after_id, int64_t min_seq, size_t limit,
    struct log_entry **out, size_t *n, struct err *err)
{
	struct conn *c = db_reader();
	sqlite3_stmt *st = db_prep(c, "SELECT id, seq, stream, line, logged_at FROM run_logs "
	    "WHERE run_attempt_id=?1 AND id>?2 AND seq>?3 ORDER BY id LIMIT ?4", "iiii",
	    attempt_id, after_id, min_seq, (int64_t)limit);

	return collect_logs(c, st, out, n, err);
}

int
store_log_max_id(int64_t attempt_id, int64_t *max_id, struct err *err)
{
	struct conn *c = db_reader();
	sqlite3_stmt *st = db_prep(c, "SELECT COALESCE(MAX(id),0) FROM run_logs WHERE "
	    "run_attempt_id=?", "i", attempt_id);

	*max_id = 0;
	if (one_row(c, st, err) != 1)
		return -1;
	*max_id = db_col_i64(st, 0);
	sqlite3_reset(st);
	return 0;
}

void
store_logs_free(struct log_entry *e, size_t n)
{
	db_list_free(e, n, &log_rows);
}

/* ---- runners ---- */

static void
runner_read(sqlite3_stmt *st, void *elem)
{
	struct runner_row *r = elem;

	r->id = db_col_i64(st, 0);
	r->name = db_col_strdup(st, 1);
	r->environment = db_col_strdup(st, 2);
	col_copy(st, 3, r->status, sizeof(r->status));
	r->last_seen_at = db_col_i64(st, 4);
	r->sandbox = db_col_strdup(st, 5);
	r->limits = db_col_strdup(st, 6);
	r->slots = db_col_i64(st, 7);
	r->slots_used = db_col_i64(st, 8);
}

static void
runner_clear(void *elem)
{
	struct runner_row *r = elem;

	free(r->name);
	free(r->environment);
	free(r->sandbox);
	free(r->limits);
}

static const struct db_rowtype runner_rows = { sizeof(struct runner_row), runner_read, runner_clear };

int
store_runner_list(struct runner_row **out, size_t *n, struct err *err)
{
	struct conn *c = db_reader();
	sqlite3_stmt *st = db_prep(c, "SELECT id, name, environment, status, last_seen_at, "
	    "sandbox_mode, limits_mode, max_concurrent, (SELECT COUNT(*) FROM run_attempts a "
	    "INDEXED BY run_attempts_active_runner_idx WHERE a.runner_id=runners.id AND "
	    "a.status IN ('leased','running','cancelling')) FROM runners ORDER BY name", "");
	void *v;
	int rc = db_list(c, st, &runner_rows, &v, n, err);

	*out = v;
	return rc;
}

void
store_runners_free(struct runner_row *r, size_t n)
{
	db_list_free(r, n, &runner_rows);
}

int
store_runner_register(const char *name, size_t name_len, const char *env, size_t env_len,
    const char *token_hash, const char *sandbox, const char *limits, int64_t slots,
    int64_t *runner_id, bool *created, struct err *err)
{
	struct conn *c = db_begin(err);
	int64_t now = now_ms();
	sqlite3_stmt *st;
	int rc;

	*created = false;
	if (c == NULL)
		return -1;
	st = db_prep(c, "SELECT id FROM runners WHERE name=?", "S", name, name_len);
	if ((rc = one_row(c, st, err)) == -1)
		goto fail;
	if (rc == 1) {
		*runner_id = db_col_i64(st, 0);
		sqlite3_reset(st);
		if (db_exec(c, "UPDATE runners SET token_hash=?, environment=?, status='online', "
		    "last_seen_at=?, updated_at=?, sandbox_mode=?, limits_mode=?, max_concurrent=? "
		    "WHERE id=?", err, "sSiissii", token_hash, env, env_len, steady_ms(), now, sandbox,
		    limits, slots, *runner_id) == -1)
			goto fail;
	} else {
		if (db_exec(c, "INSERT INTO runners(name, environment, token_hash, status, "
		    "max_concurrent, last_seen_at, created_at, updated_at, sandbox_mode, "
		    "limits_mode) VALUES(?,?,?,'online',?,?,?,?,?,?)", err, "SSsiiiiss", name,
		    name_len, env, env_len, token_hash, slots, steady_ms(), now, now, sandbox,
		    limits) == -1)
			goto fail;
		*runner_id = db_last_id(c);
		*created = true;
	}
	if (db_commit(c, err) == -1)
		return -1;
	if (!*created)
		authcache_invalidate();		/* the old token stops working now */
	return 0;
fail:
	db_rollback(c);
	return -1;
}

bool
store_team_token_valid(const char *token_hash)
{
	struct conn *c = db_reader();
	sqlite3_stmt *st = db_prep(c, "SELECT 1 FROM team_tokens WHERE token_hash=? AND "
	    "revoked_at IS NULL", "s", token_hash);
	struct err err;
	int rc = one_row(c, st, &err);

	if (rc == 1)
		sqlite3_reset(st);
	return rc != 0;	/* a database error does not end the stream */
}

int
store_runner_seen(int64_t runner_id, struct err *err)
{
	struct conn *c = db_begin(err);

	if (c == NULL)
		return -1;
	if (db_exec(c, "UPDATE runners SET last_seen_at=? WHERE id=?", err, "ii", steady_ms(),
	    runner_id) == -1) {
		db_rollback(c);
		return -1;
	}
	return db_commit(c, err);
}
