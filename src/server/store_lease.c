/*
 * store_lease: the runner side of the store. Every lease-bound call checks
 * (run, runner, lease-token hash, active status) inside the same BEGIN
 * IMMEDIATE transaction as its effect, so nothing is written for an attempt
 * that has ended; the lease picks the next queued run and creates its
 * attempt by compare-and-set (the reaper's side is store_reap.c). The partial unique indexes keep one active attempt per run and per
 * runner whatever the code does. lease_expires_at and runners.last_seen_at
 * are on the steady clock (steady_ms(), docs/clocks.md), the other times on
 * the wall clock.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authcache.h"
#include "db.h"
#include "store.h"
#include "store_run.h"
#include "store_schedule.h"
#include "store_secret.h"
#include "util.h"

/* ---- attempts: the lease check and the runner calls ---- */

#define ATTEMPT_SELECT "SELECT a.id, a.run_id, a.attempt_no, a.status, a.lease_expires_at, " \
	"a.started_at, a.finished_at, r.cancel_requested, r.status, r.queued_at, t.slug, " \
	"ap.slug, e.name, a.result_reported_at, a.exit_code FROM run_attempts a " \
	"JOIN runs r ON r.id=a.run_id JOIN teams t ON t.id=r.team_id " \
	"JOIN apps ap ON ap.id=r.app_id JOIN environments e ON e.id=r.environment_id "

/* What the result check needs beyond struct attempt. */
struct attempt_extra {
	int64_t	 result_reported_at;
	bool	 has_exit_code;
	int64_t	 exit_code;
};

static void
attempt_from_row(sqlite3_stmt *st, struct attempt *a, struct attempt_extra *x)
{
	memset(a, 0, sizeof(*a));
	a->id = db_col_i64(st, 0);
	a->run_id = db_col_i64(st, 1);
	a->attempt_no = db_col_i64(st, 2);
	col_copy(st, 3, a->status, sizeof(a->status));
	a->lease_expires_at = db_col_i64(st, 4);
	a->started_at = db_col_i64(st, 5);
	a->finished_at = db_col_i64(st, 6);
	a->cancel_requested = db_col_i64(st, 7) != 0;
	col_copy(st, 8, a->run_status, sizeof(a->run_status));
	a->run_queued_at = db_col_i64(st, 9);
	col_copy(st, 10, a->team_slug, sizeof(a->team_slug));
	col_copy(st, 11, a->app_slug, sizeof(a->app_slug));
	col_copy(st, 12, a->environment, sizeof(a->environment));
	if (x != NULL) {
		x->result_reported_at = db_col_i64(st, 13);
		x->has_exit_code = !db_col_null(st, 14);
		x->exit_code = db_col_i64(st, 14);
	}
}

/* The attempt of (run, runner, lease hash), whatever its status: 1, 0 none. */
static int
find_attempt(struct conn *c, int64_t run_id, int64_t runner_id, const char *hash,
    struct attempt *a, struct attempt_extra *x, struct err *err)
{
	sqlite3_stmt *st = db_prep(c, ATTEMPT_SELECT "WHERE a.run_id=? AND a.runner_id=? AND "
	    "a.lease_token_hash=?", "iis", run_id, runner_id, hash);
	int rc = one_row(c, st, err);

	if (rc == 1) {
		attempt_from_row(st, a, x);
		sqlite3_reset(st);
	}
	return rc;
}

int
store_attempt_by_id(struct conn *c, int64_t id, struct attempt *a, struct err *err)
{
	sqlite3_stmt *st = db_prep(c, ATTEMPT_SELECT "WHERE a.id=?", "i", id);
	int rc = one_row(c, st, err);

	if (rc == 1) {
		attempt_from_row(st, a, NULL);
		sqlite3_reset(st);
	}
	if (rc == 0)
		return err_set(err, ERR_GONE, "attempt not active");
	return rc == -1 ? -1 : 0;
}

/* The prelude of api.md §1.8.3: the active attempt, or ERR_GONE. */
static int
lease_check(struct conn *c, int64_t run_id, int64_t runner_id, const char *hash,
    struct attempt *a, struct err *err)
{
	int rc = find_attempt(c, run_id, runner_id, hash, a, NULL, err);

	if (rc == -1)
		return -1;
	if (rc == 0 || !is_active(a->status))
		return err_set(err, ERR_GONE, "invalid or expired lease");
	return 0;
}

int
store_lease_check(struct conn *c, int64_t run_id, int64_t runner_id, const char *hash,
    struct attempt *a, struct err *err)
{
	return lease_check(c, run_id, runner_id, hash, a, err);
}

int
store_attempt_start(int64_t run_id, int64_t runner_id, const char *lease_hash,
    struct attempt *out, bool *started, struct err *err)
{
	struct conn *c = db_begin(err);
	int64_t now = now_ms();
	int n;

	*started = false;
	if (c == NULL)
		return -1;
	if (lease_check(c, run_id, runner_id, lease_hash, out, err) == -1)
		goto fail;
	if (strcmp(out->status, "leased") == 0) {
		n = exec_n(c, db_exec(c, "UPDATE run_attempts SET status='running', started_at=?, "
		    "updated_at=? WHERE id=? AND status='leased'", err, "iii", now, now, out->id));
		if (n == -1)
			goto fail;
		*started = n == 1;
		if (db_exec(c, "UPDATE runs SET status='running', started_at=COALESCE(started_at, ?), "
		    "updated_at=? WHERE id=? AND (status='queued' OR status='leased' OR "
		    "status='running')", err, "iii", now, now, run_id) == -1)
			goto fail;
		if (store_attempt_by_id(c, out->id, out, err) == -1)
			goto fail;
	}
	return db_commit(c, err);
fail:
	db_rollback(c);
	return -1;
}

int
store_heartbeat(int64_t run_id, int64_t runner_id, const char *lease_hash, int64_t ttl_ms,
    struct attempt *out, struct err *err)
{
	struct conn *c = db_begin_mode(DB_URGENT, err);	/* heartbeats first */
	int64_t now = now_ms(), seen = steady_ms();

	if (c == NULL)
		return -1;
	if (lease_check(c, run_id, runner_id, lease_hash, out, err) == -1)
		goto fail;
	if (db_exec(c, "UPDATE run_attempts SET lease_expires_at=?, updated_at=? WHERE id=? AND "
	    IS_ACTIVE, err, "iii", seen + ttl_ms, now, out->id) == -1 ||
	    db_exec(c, "UPDATE runners SET last_seen_at=? WHERE id=?", err, "ii", seen,
	    runner_id) == -1)
		goto fail;
	out->lease_expires_at = seen + ttl_ms;
	return db_commit(c, err);
fail:
	db_rollback(c);
	return -1;
}

int
store_attempt_peek(int64_t run_id, int64_t runner_id, const char *lease_hash,
    struct attempt *out, struct err *err)
{
	return lease_check(db_reader(), run_id, runner_id, lease_hash, out, err);
}

static int
cmp_seq(const void *a, const void *b)
{
	const struct log_entry *x = a, *y = b;

	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;	/* id: position in the batch */
}

int
store_logs_add(int64_t run_id, int64_t runner_id, const char *lease_hash,
    struct log_entry *e, size_t n, const struct err *deferred, struct err *err)
{
	struct attempt a;
	struct conn *c;
	size_t i;

	for (i = 0; i < n; i++)
		e[i].id = (int64_t)i;
	if (n > 1)
		qsort(e, n, sizeof(*e), cmp_seq);	/* stable through id: first write wins */
	if ((c = db_begin(err)) == NULL)
		return -1;
	if (lease_check(c, run_id, runner_id, lease_hash, &a, err) == -1)
		goto fail;
	if (deferred != NULL) {
		*err = *deferred;
		goto fail;
	}
	for (i = 0; i < n; i++)
		if (db_exec(c, "INSERT OR IGNORE INTO run_logs(run_attempt_id, seq, stream, line, "
		    "logged_at) VALUES(?,?,?,?,?)", err, "iisSi", a.id, e[i].seq, e[i].stream,
		    e[i].line, e[i].line_len, e[i].logged_at) == -1)
			goto fail;
	return db_commit(c, err);
fail:
	db_rollback(c);
	return -1;
}

/* The reason of a result that carries none (an older runner). */
static const char *
derived_reason(const struct result_in *in)
{
	const char *msg = in->error_message != NULL ? in->error_message : "";
	size_t len = in->error_message != NULL ? in->error_message_len : 0;

	if (strcmp(in->status, "completed") == 0)
		return "completed";
	if (strcmp(in->status, "cancelled") == 0)
		return "cancelled";
	if (!in->has_exit_code)
		return len == 7 && memcmp(msg, "timeout", 7) == 0 ? "timeout" : "setup_failed";
	if (in->exit_code == -1 && len >= 8 && memcmp(msg, "signal: ", 8) == 0)
		return "signal";
	return "exit_code";
}

/* Records the result of the active attempt a (usage figures of -1 become
 * NULL through NULLIF). */
static int
record_result(struct conn *c, struct attempt *a, const struct result_in *in, struct err *err)
{
	const char *reason = in->reason != NULL ? in->reason : derived_reason(in);
	int64_t now = now_ms();
	int rc;

	if (in->has_exit_code)
		rc = db_exec(c, "UPDATE run_attempts SET status=?, exit_code=?, error_message=?, "
		    "finished_at=?, result_reported_at=?, updated_at=?, reason=?, "
		    "peak_memory_bytes=NULLIF(?,-1), cpu_user_ms=NULLIF(?,-1), "
		    "cpu_system_ms=NULLIF(?,-1) WHERE id=? AND " IS_ACTIVE, err, "siSiiisiiii",
		    in->status, in->exit_code, in->error_message, in->error_message_len, now, now,
		    now, reason, in->peak_memory_bytes, in->cpu_user_ms, in->cpu_system_ms, a->id);
	else
		rc = db_exec(c, "UPDATE run_attempts SET status=?, exit_code=NULL, error_message=?, "
		    "finished_at=?, result_reported_at=?, updated_at=?, reason=?, "
		    "peak_memory_bytes=NULLIF(?,-1), cpu_user_ms=NULLIF(?,-1), "
		    "cpu_system_ms=NULLIF(?,-1) WHERE id=? AND " IS_ACTIVE, err, "sSiiisiiii",
		    in->status, in->error_message, in->error_message_len, now, now, now, reason,
		    in->peak_memory_bytes, in->cpu_user_ms, in->cpu_system_ms, a->id);
	if (exec_n(c, rc) != 1)
		return rc == -1 ? -1 : err_set(err, ERR_GONE, "invalid or expired lease");
	if (db_exec(c, "UPDATE runs SET status=?, finished_at=?, updated_at=? WHERE id=? AND "
	    IS_ACTIVE, err, "siii", in->status, now, now, a->run_id) == -1)
		return -1;
	return store_attempt_by_id(c, a->id, a, err);
}

int
store_result(int64_t run_id, int64_t runner_id, const char *lease_hash,
    const struct result_in *in, const struct err *deferred, struct attempt *out,
    bool *changed, struct err *err)
{
	struct attempt_extra x;
	struct conn *c = db_begin(err);
	int rc;

	*changed = false;
	if (c == NULL)
		return -1;
	if ((rc = find_attempt(c, run_id, runner_id, lease_hash, out, &x, err)) == -1)
		goto fail;
	if (rc == 0 || (!is_active(out->status) && x.result_reported_at == 0)) {
		err_set(err, ERR_GONE, "invalid or expired lease");
		goto fail;
	}
	if (deferred != NULL) {
		*err = *deferred;
		goto fail;
	}
	if (!is_active(out->status)) {	/* a repeated result */
		if (strcmp(out->status, in->status) == 0 && x.has_exit_code == in->has_exit_code &&
		    (!x.has_exit_code || x.exit_code == in->exit_code)) {
			db_rollback(c);
			return 0;
		}
		err_set(err, ERR_CONFLICT, "result conflicts with attempt state");
		goto fail;
	}
	if (strcmp(out->status, "cancelling") == 0 && strcmp(in->status, "cancelled") != 0) {
		err_set(err, ERR_CONFLICT, "run is being cancelled");
		goto fail;
	}
	if (record_result(c, out, in, err) == -1)
		goto fail;
	*changed = true;
	return db_commit(c, err);
fail:
	db_rollback(c);
	return -1;
}

int
store_release(int64_t run_id, int64_t runner_id, const char *lease_hash,
    struct attempt *out, struct err *err)
{
	struct conn *c = db_begin(err);
	int64_t now = now_ms();
	int rc;

	if (c == NULL)
		return -1;
	if (lease_check(c, run_id, runner_id, lease_hash, out, err) == -1)
		goto fail;
	if (db_exec(c, "UPDATE run_attempts SET status='expired', error_message='released', "
	    "reason='released', finished_at=?, updated_at=? WHERE id=? AND " IS_ACTIVE, err, "iii", now, now,
	    out->id) == -1)
		goto fail;
	if (strcmp(out->run_status, "cancelling") == 0)
		rc = db_exec(c, "UPDATE runs SET status='cancelled', finished_at=?, updated_at=? "
		    "WHERE id=? AND status='cancelling'", err, "iii", now, now, run_id);
	else
		rc = db_exec(c, "UPDATE runs SET status='queued', queued_at=?, updated_at=? "
		    "WHERE id=? AND status IN ('leased','running')", err, "iii", now, now, run_id);
	if (rc == -1 || store_attempt_by_id(c, out->id, out, err) == -1)
		goto fail;
	return db_commit(c, err);
fail:
	db_rollback(c);
	return -1;
}

int
store_artifact(int64_t run_id, int64_t runner_id, const char *lease_hash,
    struct version *out, struct err *err)
{
	struct conn *c = db_reader();
	struct attempt a;
	sqlite3_stmt *st;
	int rc;

	memset(out, 0, sizeof(*out));
	if (lease_check(c, run_id, runner_id, lease_hash, &a, err) == -1)
		return -1;
	st = db_prep(c, "SELECT v.id, v.app_id, v.version_no, v.artifact_object_key, "
	    "v.artifact_sha256, v.entrypoint, v.timeout_seconds, v.import_paths_json FROM runs r "
	    "JOIN app_versions v ON v.id=r.app_version_id WHERE r.id=?", "i", run_id);
	if ((rc = one_row(c, st, err)) != 1)
		return rc == -1 ? -1 : err_set(err, ERR_GONE, "invalid or expired lease");
	out->id = db_col_i64(st, 0);
	out->app_id = db_col_i64(st, 1);
	out->version_no = db_col_i64(st, 2);
	out->object_key = db_col_strdup(st, 3);
	out->sha256 = db_col_strdup(st, 4);
	out->entrypoint = db_col_strdup(st, 5);
	out->timeout_seconds = db_col_i64(st, 6);
	out->import_paths_json = db_col_strdup(st, 7);
	sqlite3_reset(st);
	return 0;
}

/* ---- lease ---- */

void
store_lease_clear(struct lease *l)
{
	if (l == NULL)
		return;
	free(l->entrypoint);
	free(l->input_json);
	free(l->sandbox_json);
	free(l->resources_json);
	free(l->artifact_sha256);
	memset(l, 0, sizeof(*l));
}

/* Fills the lease response of attempt id. */
static int
fill_lease(struct conn *c, int64_t attempt_id, struct lease *l, struct err *err)
{
	sqlite3_stmt *st;
	int rc;

	if (store_attempt_by_id(c, attempt_id, &l->a, err) == -1)
		return -1;
	st = db_prep(c, "SELECT r.run_no, r.app_id, v.version_no, v.entrypoint, v.timeout_seconds, "
	    "r.input_json, v.sandbox_json, v.resources_json, v.artifact_sha256 FROM runs r "
	    "JOIN app_versions v "
	    "ON v.id=r.app_version_id WHERE r.id=?",
	    "i", l->a.run_id);
	if ((rc = one_row(c, st, err)) != 1)
		return rc == -1 ? -1 : err_set(err, ERR_INTERNAL, "lease run missing");
	l->run_no = db_col_i64(st, 0);
	l->app_id = db_col_i64(st, 1);
	l->version_no = db_col_i64(st, 2);
	l->entrypoint = db_col_strdup(st, 3);
	l->timeout_seconds = db_col_i64(st, 4);
	l->input_json = db_col_strdup(st, 5);
	l->sandbox_json = db_col_strdup(st, 6);
	l->resources_json = db_col_strdup(st, 7);
	l->artifact_sha256 = db_col_strdup(st, 8);
	sqlite3_reset(st);
	return 0;
}

static const char pick_sql[] = "SELECT r.id FROM runs r INDEXED BY runs_lease_order_idx "
    "JOIN environments e ON e.id=r.environment_id WHERE r.status='queued' AND "
    "r.cancel_requested=0 AND e.name=?" STORE_SECRETS_LEASABLE
    STORE_SCHEDULE_LEASABLE " ORDER BY r.priority DESC, r.queued_at, r.id LIMIT 1";

/* The runner's slots, its active attempts and its oldest never-started
 * one (0: none), read in the lease transaction. */
static int
runner_load(struct conn *c, int64_t runner_id, int64_t *slots, int64_t *active,
    int64_t *leased_id, struct err *err)
{
	sqlite3_stmt *st = db_prep(c, "SELECT r.max_concurrent, (SELECT COUNT(*) FROM run_attempts a "
	    "INDEXED BY run_attempts_active_runner_idx WHERE a.runner_id=r.id AND a.status IN " ACTIVE
	    "), (SELECT MIN(a.id) FROM run_attempts a INDEXED BY run_attempts_active_runner_idx "
	    "WHERE a.runner_id=r.id AND a.status IN " ACTIVE " AND a.status='leased') "
	    "FROM runners r WHERE r.id=?", "i", runner_id);
	int rc = one_row(c, st, err);

	if (rc != 1)
		return rc == -1 ? -1 : err_set(err, ERR_UNAUTHORIZED, "invalid or missing token");
	*slots = db_col_i64(st, 0);
	*active = db_col_i64(st, 1);
	*leased_id = db_col_i64(st, 2);
	sqlite3_reset(st);
	return 0;
}

/* A runner at its slots: re-issue its oldest never-started attempt, to
 * expire at expires_at (steady clock). Only a lost lease response leaves one
 * that no slot holds; a slot whose attempt is re-issued all the same is
 * refused at its start (410) and never runs it. Returns 1 re-issued, 0 when
 * a slot is free (grant next), or -1 (ERR_CONFLICT when every active attempt
 * has started). */
static int
reissue(struct conn *c, int64_t runner_id, const char *lease_hash, int64_t now,
    int64_t expires_at, struct lease *out, struct err *err)
{
	int64_t slots = 1, active = 0, id = 0;

	if (runner_load(c, runner_id, &slots, &active, &id, err) == -1)
		return -1;
	if (active < slots)
		return 0;
	if (id == 0)
		return err_set(err, ERR_CONFLICT, slots > 1 ? "runner has no free slot" :
		    "runner already has an active lease");
	if (db_exec(c, "UPDATE run_attempts SET lease_token_hash=?, lease_expires_at=?, "
	    "updated_at=? WHERE id=? AND status='leased'", err, "siii", lease_hash, expires_at,
	    now, id) == -1 || fill_lease(c, id, out, err) == -1)
		return -1;
	out->reissued = true;
	return 1;
}

/* Picks the next queued run of env and creates its attempt, to expire at
 * expires_at (steady clock): 1, 0 none. */
static int
grant(struct conn *c, int64_t runner_id, const char *env, const char *lease_hash, int64_t now,
    int64_t expires_at, struct lease *out, struct err *err)
{
	sqlite3_stmt *st = db_prep(c, pick_sql, "si", env, store_secrets_keyless());
	int64_t run_id, attempt_no;
	int rc = one_row(c, st, err);

	if (rc != 1)
		return rc;
	run_id = db_col_i64(st, 0);
	sqlite3_reset(st);
	if ((rc = exec_n(c, db_exec(c, "UPDATE runs SET status='leased', updated_at=? WHERE id=? "
	    "AND status='queued' AND cancel_requested=0", err, "ii", now, run_id))) != 1)
		return rc == -1 ? -1 : err_set(err, ERR_CONFLICT, "run is no longer queued");
	st = db_prep(c, "SELECT COALESCE(MAX(attempt_no),0)+1 FROM run_attempts WHERE run_id=?",
	    "i", run_id);
	if ((rc = one_row(c, st, err)) != 1)
		return rc == -1 ? -1 : err_set(err, ERR_INTERNAL, "attempt_no");
	attempt_no = db_col_i64(st, 0);
	sqlite3_reset(st);
	if (db_exec(c, "INSERT INTO run_attempts(run_id, attempt_no, runner_id, lease_token_hash, "
	    "lease_expires_at, status, created_at, updated_at) VALUES(?,?,?,?,?,'leased',?,?)", err,
	    "iiisiii", run_id, attempt_no, runner_id, lease_hash, expires_at, now, now) == -1)
		return -1;
	return fill_lease(c, db_last_id(c), out, err) == -1 ? -1 : 1;
}

static int
token_still_valid(struct conn *c, int64_t runner_id, const char *hash, struct err *err)
{
	sqlite3_stmt *st = db_prep(c, "SELECT 1 FROM runners WHERE id=? AND token_hash=? AND "
	    "status='online'", "is", runner_id, hash);
	int rc = one_row(c, st, err);

	if (rc == 1)
		sqlite3_reset(st);
	if (rc == 0)
		return err_set(err, ERR_UNAUTHORIZED, "invalid or missing token");
	return rc == -1 ? -1 : 0;
}

int
store_lease(int64_t runner_id, const char *env, const char *recheck_hash,
    const char *sandbox, const char *limits, int64_t slots, const char *lease_hash,
    int64_t ttl_ms, struct lease *out, struct err *err)
{
	struct conn *c = db_begin(err);
	int64_t now = now_ms(), seen = steady_ms();
	int rc;

	memset(out, 0, sizeof(*out));
	if (c == NULL)
		return -1;
	err_clear(err);
	if (recheck_hash != NULL && token_still_valid(c, runner_id, recheck_hash, err) == -1)
		goto fail;
	if (db_exec(c, "UPDATE runners SET status='online', last_seen_at=?, "
	    "sandbox_mode=COALESCE(?, sandbox_mode), limits_mode=COALESCE(?, limits_mode), "
	    "max_concurrent=COALESCE(NULLIF(?, 0), max_concurrent) WHERE id=?", err, "issii", seen,
	    sandbox, limits, slots, runner_id) == -1)
		goto fail;
	rc = reissue(c, runner_id, lease_hash, now, seen + ttl_ms, out, err);
	if (rc == 0)
		rc = grant(c, runner_id, env, lease_hash, now, seen + ttl_ms, out, err);
	if (rc == -1 && err->code == ERR_CONFLICT) {
		struct err saved = *err;

		store_lease_clear(out);
		if (db_commit(c, err) == -1)	/* the runner was seen all the same */
			return -1;
		*err = saved;
		return -1;
	}
	if (rc == -1)
		goto fail;
	if (db_commit(c, err) == -1) {
		store_lease_clear(out);
		return -1;
	}
	return rc;
fail:
	db_rollback(c);
	store_lease_clear(out);
	return -1;
}

bool
store_queued_exists(const char *env)
{
	struct conn *c = db_reader();
	sqlite3_stmt *st = db_prep(c, pick_sql, "si", env, store_secrets_keyless());
	struct err err;
	int rc = one_row(c, st, &err);

	if (rc == 1)
		sqlite3_reset(st);
	return rc != 0;	/* on a database error, let the transaction decide */
}
