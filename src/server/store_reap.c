/*
 * store_reap: the reaper's side of the store (api.md §2.6): expired
 * attempts found on a reader and expired one BEGIN IMMEDIATE transaction
 * each (cancel, retry or dead, with the attempt's reason), stale runners
 * marked offline, old offline runners and expired idempotency keys deleted;
 * and the start-up bound on steady-clock times a previous process stored.
 * Expiry compares lease_expires_at with the steady clock (docs/clocks.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authcache.h"
#include "db.h"
#include "store.h"
#include "store_run.h"
#include "util.h"

int
store_expired_attempts(int64_t now, int64_t *ids, size_t max, size_t *n, struct err *err)
{
	struct conn *c = db_reader();
	sqlite3_stmt *st = db_prep(c, "SELECT id FROM run_attempts WHERE status IN " ACTIVE
	    " AND lease_expires_at <= ? ORDER BY lease_expires_at LIMIT ?", "ii", now, (int64_t)max);
	int rc;

	*n = 0;
	while ((rc = db_step(c, st, err)) == SQLITE_ROW && *n < max)
		ids[(*n)++] = db_col_i64(st, 0);
	if (st != NULL)
		sqlite3_reset(st);
	return rc == -1 ? -1 : 0;
}

/* Applies the cancel / retry / dead rule of api.md §2.2 to attempt a. */
static int
expire(struct conn *c, struct attempt *a, enum reap_kind *kind, int64_t now, struct err *err)
{
	sqlite3_stmt *st = db_prep(c, "SELECT retry_count, max_retries FROM runs WHERE id=?", "i",
	    a->run_id);
	int64_t retries, max;
	int rc;

	if ((rc = one_row(c, st, err)) != 1)
		return rc == -1 ? -1 : err_set(err, ERR_INTERNAL, "run missing");
	retries = db_col_i64(st, 0);
	max = db_col_i64(st, 1);
	sqlite3_reset(st);
	if (a->cancel_requested || strcmp(a->status, "cancelling") == 0 ||
	    strcmp(a->run_status, "cancelling") == 0) {
		*kind = REAP_CANCELLED;
		if (db_exec(c, "UPDATE run_attempts SET status='cancelled', reason='cancelled', "
		    "finished_at=?, updated_at=? "
		    "WHERE id=? AND " IS_ACTIVE, err, "iii", now, now, a->id) == -1)
			return -1;
		return db_exec(c, "UPDATE runs SET status='cancelled', finished_at=?, updated_at=? "
		    "WHERE id=? AND " IS_ACTIVE, err, "iii", now, now, a->run_id);
	}
	if (db_exec(c, "UPDATE run_attempts SET status='expired', reason='lease_expired', "
	    "finished_at=?, updated_at=? "
	    "WHERE id=? AND " IS_ACTIVE, err, "iii", now, now, a->id) == -1)
		return -1;
	*kind = retries < max ? REAP_RETRIED : REAP_DEAD;
	if (*kind == REAP_RETRIED)
		return db_exec(c, "UPDATE runs SET status='queued', retry_count=retry_count+1, "
		    "queued_at=?, updated_at=? WHERE id=? AND status IN ('leased','running')", err,
		    "iii", now, now, a->run_id);
	return db_exec(c, "UPDATE runs SET status='dead', finished_at=?, updated_at=? WHERE id=? "
	    "AND status IN ('leased','running')", err, "iii", now, now, a->run_id);
}

int
store_reap_attempt(int64_t attempt_id, enum reap_kind *kind, struct attempt *out,
    struct err *err)
{
	struct conn *c = db_begin(err);
	int64_t now = now_ms();

	*kind = REAP_NONE;
	if (c == NULL)
		return -1;
	if (store_attempt_by_id(c, attempt_id, out, err) == -1) {
		db_rollback(c);
		return err->code == ERR_GONE ? 0 : -1;
	}
	if (!is_active(out->status) || out->lease_expires_at > steady_ms()) {
		db_rollback(c);
		return 0;
	}
	if (expire(c, out, kind, now, err) == -1 || store_attempt_by_id(c, attempt_id, out, err) == -1) {
		db_rollback(c);
		*kind = REAP_NONE;
		return -1;
	}
	return db_commit(c, err);
}

int
store_clamp_steady_times(int64_t now, int64_t ttl_ms, int64_t *leases, int64_t *runners,
    struct err *err)
{
	struct conn *c = db_begin(err);

	*leases = *runners = 0;
	if (c == NULL)
		return -1;
	if (db_exec(c, "UPDATE run_attempts SET lease_expires_at=? WHERE status IN " ACTIVE
	    " AND lease_expires_at > ?", err, "ii", now + ttl_ms, now + ttl_ms) == -1)
		goto fail;
	*leases = db_changes(c);
	if (db_exec(c, "UPDATE runners SET last_seen_at=? WHERE last_seen_at > ?", err, "ii",
	    now, now) == -1)
		goto fail;
	*runners = db_changes(c);
	return db_commit(c, err);
fail:
	db_rollback(c);
	*leases = *runners = 0;
	return -1;
}

static void
id_read(sqlite3_stmt *st, void *elem)
{
	*(int64_t *)elem = db_col_i64(st, 0);
}

static const struct db_rowtype id_rows = { sizeof(int64_t), id_read, NULL };

int
store_mark_stale_runners(int64_t cutoff, bool (*waiting)(int64_t), int64_t *count,
    struct err *err)
{
	struct conn *c = db_begin(err);
	int64_t *ids, now = now_ms();
	sqlite3_stmt *st;
	size_t n, i;
	void *v;
	int rc;

	*count = 0;
	if (c == NULL)
		return -1;
	st = db_prep(c, "SELECT id FROM runners WHERE status='online' AND "
	    "COALESCE(last_seen_at, updated_at, created_at) < ?", "i", cutoff);
	rc = db_list(c, st, &id_rows, &v, &n, err);
	ids = v;
	for (i = 0; rc != -1 && i < n; i++) {
		if (waiting(ids[i]))
			continue;
		rc = db_exec(c, "UPDATE runners SET status='offline', updated_at=? WHERE id=? AND "
		    "status='online'", err, "ii", now, ids[i]);
		if (rc != -1)
			*count += db_changes(c);
	}
	free(ids);
	if (rc == -1) {
		db_rollback(c);
		*count = 0;
		return -1;
	}
	if (db_commit(c, err) == -1)
		return -1;
	if (*count > 0)
		authcache_invalidate();		/* only online runners authenticate */
	return 0;
}

int
store_prune_runners(int64_t cutoff, int64_t *count, struct err *err)
{
	struct conn *c = db_begin(err);

	*count = 0;
	if (c == NULL)
		return -1;
	if (db_exec(c, "DELETE FROM runners WHERE status='offline' AND updated_at < ? AND "
	    "NOT EXISTS (SELECT 1 FROM run_attempts x WHERE x.runner_id=runners.id)", err, "i",
	    cutoff) == -1) {
		db_rollback(c);
		return -1;
	}
	*count = db_changes(c);
	if (db_commit(c, err) == -1)
		return -1;
	if (*count > 0)
		authcache_invalidate();
	return 0;
}

int
store_idem_cleanup(int64_t now, struct err *err)
{
	struct conn *c = db_begin(err);

	if (c == NULL)
		return -1;
	if (db_exec(c, "DELETE FROM run_idempotency_keys WHERE expires_at <= ?", err, "i",
	    now) == -1) {
		db_rollback(c);
		return -1;
	}
	return db_commit(c, err);
}
