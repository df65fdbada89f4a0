/*
 * store_schedule: the SQL of schedules and their fire history (issue 14,
 * docs/schedules.md). A schedule is soft-deleted so that its runs and fires
 * keep their reference. A fire is one BEGIN IMMEDIATE transaction: the
 * compare-and-set advance of next_fire_at, the skipped_missed rows, the
 * fire row (UNIQUE (schedule_id, fire_time)) and the run it creates through
 * store_run.c's own insert, or the reason it did not.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "store.h"
#include "store_run.h"
#include "store_schedule.h"
#include "util.h"

#define SCHED_SELECT "SELECT s.id, s.team_id, s.app_id, t.slug, a.slug, s.name, s.cron, " \
	"s.timezone, s.input_json, s.version_no, s.priority, s.max_retries, s.overlap_policy, " \
	"s.catchup_window_s, s.enabled, s.paused_reason, s.pause_after_failures, s.next_fire_at, " \
	"s.last_fire_at, s.consecutive_failures, s.source, s.created_at, s.updated_at " \
	"FROM schedules s JOIN apps a ON a.id=s.app_id JOIN teams t ON t.id=s.team_id "

#define ACTIVE_OR_QUEUED "('queued','leased','running','cancelling')"

static void
sched_read(sqlite3_stmt *st, void *elem)
{
	struct schedule *s = elem;

	memset(s, 0, sizeof(*s));
	s->id = db_col_i64(st, 0);
	s->team_id = db_col_i64(st, 1);
	s->app_id = db_col_i64(st, 2);
	col_copy(st, 3, s->team_slug, sizeof(s->team_slug));
	col_copy(st, 4, s->app_slug, sizeof(s->app_slug));
	col_copy(st, 5, s->name, sizeof(s->name));
	s->cron = db_col_strdup(st, 6);
	col_copy(st, 7, s->timezone, sizeof(s->timezone));
	s->input_json = db_col_strdup(st, 8);
	s->version_no = db_col_i64(st, 9);
	s->priority = db_col_i64(st, 10);
	s->max_retries = db_col_i64(st, 11);
	col_copy(st, 12, s->overlap_policy, sizeof(s->overlap_policy));
	s->catchup_window_s = db_col_i64(st, 13);
	s->enabled = db_col_i64(st, 14) != 0;
	s->paused_reason = db_col_strdup(st, 15);
	s->pause_after_failures = db_col_i64(st, 16);
	s->next_fire_at = db_col_i64(st, 17);
	s->last_fire_at = db_col_i64(st, 18);
	s->consecutive_failures = db_col_i64(st, 19);
	s->towerfile = strcmp((const char *)sqlite3_column_text(st, 20), "towerfile") == 0;
	s->created_at = db_col_i64(st, 21);
	s->updated_at = db_col_i64(st, 22);
	if (s->cron == NULL)
		s->cron = xstrdup("");
}

void
store_schedule_clear(struct schedule *s)
{
	if (s == NULL)
		return;
	free(s->cron);
	free(s->input_json);
	free(s->paused_reason);
	memset(s, 0, sizeof(*s));
}

static void
sched_clear(void *elem)
{
	store_schedule_clear(elem);
}

static const struct db_rowtype sched_rows = { sizeof(struct schedule), sched_read, sched_clear };

void
store_schedules_free(struct schedule *s, size_t n)
{
	db_list_free(s, n, &sched_rows);
}

static void
fire_read(sqlite3_stmt *st, void *elem)
{
	struct fire *f = elem;

	memset(f, 0, sizeof(*f));
	f->id = db_col_i64(st, 0);
	f->schedule_id = db_col_i64(st, 1);
	f->fire_time = db_col_i64(st, 2);
	col_copy(st, 3, f->outcome, sizeof(f->outcome));
	f->run_id = db_col_i64(st, 4);
	f->reason = db_col_strdup(st, 5);
	f->manual = db_col_i64(st, 6) != 0;
	f->created_at = db_col_i64(st, 7);
}

void
store_fire_clear(struct fire *f)
{
	if (f == NULL)
		return;
	free(f->reason);
	memset(f, 0, sizeof(*f));
}

static void
fire_clear(void *elem)
{
	store_fire_clear(elem);
}

static const struct db_rowtype fire_rows = { sizeof(struct fire), fire_read, fire_clear };

void
store_fires_free(struct fire *f, size_t n)
{
	db_list_free(f, n, &fire_rows);
}

void
store_fire_result_clear(struct fire_result *r)
{
	size_t i;

	if (r == NULL)
		return;
	store_fire_clear(&r->fire);
	store_run_clear(&r->run);
	for (i = 0; i < r->ncancelled; i++)
		store_run_clear(&r->cancelled[i]);
	memset(r, 0, sizeof(*r));
}

/* Reads live schedule id (of team_id unless 0) on c. */
static int
load_sched(struct conn *c, int64_t team_id, int64_t id, struct schedule *out, struct err *err)
{
	sqlite3_stmt *st = db_prep(c, SCHED_SELECT "WHERE s.id=?1 AND (?2=0 OR s.team_id=?2) AND "
	    "s.deleted_at IS NULL", "ii", id, team_id);
	int rc = one_row(c, st, err);

	memset(out, 0, sizeof(*out));
	if (rc == -1)
		return -1;
	if (rc == 0)
		return err_set(err, ERR_NOT_FOUND, "schedule not found");
	sched_read(st, out);
	sqlite3_reset(st);
	return 0;
}

int
store_schedule_get(int64_t team_id, int64_t id, struct schedule *out, struct err *err)
{
	return load_sched(db_reader(), team_id, id, out, err);
}

int
store_schedule_by_name(int64_t app_id, const char *name, struct schedule *out, struct err *err)
{
	struct conn *c = db_reader();
	sqlite3_stmt *st = db_prep(c, SCHED_SELECT "WHERE s.app_id=? AND s.name=? AND "
	    "s.deleted_at IS NULL", "is", app_id, name);
	int rc = one_row(c, st, err);

	memset(out, 0, sizeof(*out));
	if (rc != 1)
		return rc;
	sched_read(st, out);
	sqlite3_reset(st);
	return 1;
}

int
store_schedule_list(int64_t app_id, struct schedule **out, size_t *n, struct err *err)
{
	struct conn *c = db_reader();
	sqlite3_stmt *st = db_prep(c, SCHED_SELECT "WHERE s.app_id=? AND s.deleted_at IS NULL "
	    "ORDER BY s.name", "i", app_id);
	void *v;
	int rc = db_list(c, st, &sched_rows, &v, n, err);

	*out = v;
	return rc;
}

/* Answers a failed insert or update on the unique name index. */
static int
name_taken(struct conn *c, struct err *err)
{
	if (db_is_unique_violation(c))
		return err_set(err, ERR_CONFLICT, "schedule name already exists");
	return -1;
}

int
store_schedule_create(const struct schedule *in, struct schedule *out, struct err *err)
{
	struct conn *c = db_begin(err);
	int64_t now = now_ms();

	memset(out, 0, sizeof(*out));
	if (c == NULL)
		return -1;
	if (db_exec(c, "INSERT INTO schedules(team_id, app_id, name, cron, timezone, input_json, "
	    "version_no, priority, max_retries, overlap_policy, catchup_window_s, enabled, "
	    "pause_after_failures, next_fire_at, source, created_at, updated_at) "
	    "VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", err, "iissssziisiiiisii", in->team_id,
	    in->app_id, in->name, in->cron, in->timezone, in->input_json, in->version_no,
	    in->priority, in->max_retries, in->overlap_policy, in->catchup_window_s,
	    (int64_t)in->enabled, in->pause_after_failures, in->next_fire_at,
	    in->towerfile ? "towerfile" : "api", now, now) == -1) {
		name_taken(c, err);
		goto fail;
	}
	if (load_sched(c, 0, db_last_id(c), out, err) == -1)
		goto fail;
	return db_commit(c, err);
fail:
	db_rollback(c);
	store_schedule_clear(out);
	return -1;
}

int
store_schedule_update(const struct schedule *s, int64_t old_updated_at, struct schedule *out,
    struct err *err)
{
	struct conn *c = db_begin(err);
	int64_t now = now_ms();
	int rc;

	memset(out, 0, sizeof(*out));
	if (c == NULL)
		return -1;
	if (now <= old_updated_at)
		now = old_updated_at + 1;	/* updated_at is the compare-and-set token */
	rc = exec_n(c, db_exec(c, "UPDATE schedules SET name=?, cron=?, timezone=?, input_json=?, "
	    "version_no=?, priority=?, max_retries=?, overlap_policy=?, catchup_window_s=?, "
	    "pause_after_failures=?, next_fire_at=?, updated_at=? WHERE id=? AND team_id=? AND "
	    "updated_at=? AND deleted_at IS NULL", err, "ssssziisiiiiiii", s->name, s->cron,
	    s->timezone, s->input_json, s->version_no, s->priority, s->max_retries,
	    s->overlap_policy, s->catchup_window_s, s->pause_after_failures, s->next_fire_at, now,
	    s->id, s->team_id, old_updated_at));
	if (rc == -1) {
		name_taken(c, err);
		goto fail;
	}
	if (rc == 0) {
		err_set(err, ERR_CONFLICT, "schedule was changed concurrently");
		goto fail;
	}
	if (load_sched(c, 0, s->id, out, err) == -1)
		goto fail;
	return db_commit(c, err);
fail:
	db_rollback(c);
	store_schedule_clear(out);
	return -1;
}

int
store_schedule_delete(int64_t team_id, int64_t id, struct err *err)
{
	struct conn *c = db_begin(err);
	int64_t now = now_ms();
	int rc;

	if (c == NULL)
		return -1;
	rc = exec_n(c, db_exec(c, "UPDATE schedules SET deleted_at=?, enabled=0, updated_at=? "
	    "WHERE id=? AND team_id=? AND deleted_at IS NULL", err, "iiii", now, now, id, team_id));
	if (rc <= 0) {
		db_rollback(c);
		return rc == 0 ? err_set(err, ERR_NOT_FOUND, "schedule not found") : -1;
	}
	return db_commit(c, err);
}

int
store_schedule_set_enabled(int64_t team_id, int64_t id, bool enabled, const char *reason,
    int64_t next, struct schedule *out, bool *changed, struct err *err)
{
	struct conn *c = db_begin(err);
	int64_t now = now_ms();
	int rc;

	*changed = false;
	memset(out, 0, sizeof(*out));
	if (c == NULL)
		return -1;
	if (load_sched(c, team_id, id, out, err) == -1)
		goto fail;
	if (out->enabled != enabled) {
		if (now <= out->updated_at)
			now = out->updated_at + 1;
		rc = exec_n(c, enabled ? db_exec(c, "UPDATE schedules SET enabled=1, "
		    "paused_reason=NULL, consecutive_failures=0, next_fire_at=?, updated_at=? "
		    "WHERE id=? AND enabled=0 AND updated_at=?", err, "iiii", next, now, id,
		    out->updated_at) : db_exec(c, "UPDATE schedules SET enabled=0, paused_reason=?, "
		    "updated_at=? WHERE id=? AND enabled=1 AND updated_at=?", err, "siii", reason, now,
		    id, out->updated_at));
		if (rc != 1) {
			if (rc == 0)
				err_set(err, ERR_CONFLICT, "schedule was changed concurrently");
			goto fail;
		}
		*changed = true;
		store_schedule_clear(out);
		if (load_sched(c, team_id, id, out, err) == -1)
			goto fail;
	}
	return db_commit(c, err);
fail:
	db_rollback(c);
	store_schedule_clear(out);
	return -1;
}

int
store_schedule_earliest(int64_t *next, struct err *err)
{
	struct conn *c = db_reader();
	sqlite3_stmt *st = db_prep(c, "SELECT MIN(next_fire_at) FROM schedules WHERE "
	    "deleted_at IS NULL", "");
	int rc = one_row(c, st, err);

	if (rc != 1)
		return rc;
	rc = db_col_null(st, 0) ? 0 : 1;
	*next = db_col_i64(st, 0);
	sqlite3_reset(st);
	return rc;
}

int
store_schedule_due(int64_t now, int64_t *ids, size_t max, size_t *n, struct err *err)
{
	struct conn *c = db_reader();
	sqlite3_stmt *st = db_prep(c, "SELECT id FROM schedules WHERE deleted_at IS NULL AND "
	    "next_fire_at<=? ORDER BY next_fire_at, id LIMIT ?", "ii", now, (int64_t)max);
	int rc;

	*n = 0;
	if (st == NULL)
		return err_set(err, ERR_INTERNAL, "prepare failed");
	while ((rc = db_step(c, st, err)) == SQLITE_ROW)
		ids[(*n)++] = db_col_i64(st, 0);
	sqlite3_reset(st);
	return rc == -1 ? -1 : 0;
}

int
store_schedule_fires(int64_t schedule_id, int64_t limit, int64_t offset, struct fire **out,
    size_t *n, struct err *err)
{
	struct conn *c = db_reader();
	sqlite3_stmt *st = db_prep(c, "SELECT id, schedule_id, fire_time, outcome, run_id, reason, "
	    "manual, created_at FROM schedule_fires WHERE schedule_id=? ORDER BY fire_time DESC, "
	    "id DESC LIMIT ? OFFSET ?", "iii", schedule_id, limit, offset);
	void *v;
	int rc = db_list(c, st, &fire_rows, &v, n, err);

	*out = v;
	return rc;
}

/* ---- the fire transaction ---- */

/* Inserts one fire row and reads it into *out when out is not NULL. */
static int
insert_fire(struct conn *c, int64_t sched_id, int64_t t, const char *outcome, int64_t run_id,
    const char *reason, bool manual, struct fire *out, struct err *err)
{
	int64_t now = now_ms();

	if (db_exec(c, "INSERT INTO schedule_fires(schedule_id, fire_time, outcome, run_id, reason, "
	    "manual, created_at) VALUES(?,?,?,?,?,?,?)", err, "iiszsii", sched_id, t, outcome,
	    run_id, reason, (int64_t)manual, now) == -1) {
		if (db_is_unique_violation(c))
			err_set(err, ERR_CONFLICT, "fire time already recorded");
		return -1;
	}
	if (out == NULL)
		return 0;
	memset(out, 0, sizeof(*out));
	out->id = db_last_id(c);
	out->schedule_id = sched_id;
	out->fire_time = t;
	snprintf(out->outcome, sizeof(out->outcome), "%s", outcome);
	out->run_id = run_id;
	out->reason = reason != NULL ? xstrdup(reason) : NULL;
	out->manual = manual;
	out->created_at = now;
	return 0;
}

/* Active (or queued) runs of the schedule: ids and how many are queued. */
static int
active_runs(struct conn *c, int64_t sched_id, int64_t *ids, size_t max, size_t *n,
    size_t *queued, struct err *err)
{
	sqlite3_stmt *st = db_prep(c, "SELECT id, status FROM runs WHERE schedule_id=? AND "
	    "status IN " ACTIVE_OR_QUEUED " ORDER BY id", "i", sched_id);
	int rc;

	*n = *queued = 0;
	if (st == NULL)
		return err_set(err, ERR_INTERNAL, "prepare failed");
	while ((rc = db_step(c, st, err)) == SQLITE_ROW) {
		if (strcmp((const char *)sqlite3_column_text(st, 1), "queued") == 0)
			(*queued)++;
		if (*n < max)
			ids[(*n)++] = db_col_i64(st, 0);
	}
	sqlite3_reset(st);
	return rc == -1 ? -1 : 0;
}

/* Cancels the active runs of the schedule (cancel_previous). */
static int
cancel_previous(struct conn *c, const struct schedule *s, const int64_t *ids, size_t n,
    struct fire_result *r, struct err *err)
{
	size_t i;

	for (i = 0; i < n && r->ncancelled < FIRE_CANCEL_MAX; i++) {
		size_t k = r->ncancelled;

		if (store_run_cancel_in(c, s->team_id, ids[i], &r->cancelled[k],
		    r->cancelled_old[k], &r->cancelled_attempt[k], err) == -1)
			return -1;
		r->ncancelled++;
	}
	return 0;
}

/* The overlap policy's verdict: 1 create, 0 skip (cancels first). */
static int
overlap(struct conn *c, const struct schedule *s, struct fire_result *r, struct err *err)
{
	int64_t ids[FIRE_CANCEL_MAX];
	size_t n, queued;

	if (strcmp(s->overlap_policy, "allow") == 0)
		return 1;
	if (active_runs(c, s->id, ids, FIRE_CANCEL_MAX, &n, &queued, err) == -1)
		return -1;
	if (n == 0)
		return 1;
	if (strcmp(s->overlap_policy, "queue_one") == 0)
		return queued == 0 && n == 1 ? 1 : 0;
	if (strcmp(s->overlap_policy, "cancel_previous") == 0)
		return cancel_previous(c, s, ids, n, r, err) == -1 ? -1 : 1;
	return 0;	/* skip */
}

/* The latest version_no of the app (0 when none). */
static int
latest_no(struct conn *c, int64_t app_id, int64_t *no, struct err *err)
{
	sqlite3_stmt *st = db_prep(c, "SELECT COALESCE(MAX(version_no),0) FROM app_versions "
	    "WHERE app_id=?", "i", app_id);
	int rc = one_row(c, st, err);

	if (rc != 1)
		return rc == -1 ? -1 : err_set(err, ERR_INTERNAL, "latest version");
	*no = db_col_i64(st, 0);
	sqlite3_reset(st);
	return 0;
}

/* Creates the run of a PLAN_CREATE (overlap permitting) and its fire row. */
static int
fire_create(struct conn *c, const struct schedule *s, const struct fire_plan *p,
    struct fire_result *r, struct err *err)
{
	struct run_new nr;
	int64_t no = 0, run_id;
	int ok;

	if (s->version_no == 0 && p->latest_no > 0) {
		if (latest_no(c, s->app_id, &no, err) == -1)
			return -1;
		if (no != p->latest_no) {
			r->stale = true;
			return 0;
		}
	}
	if ((ok = overlap(c, s, r, err)) == -1)
		return -1;
	if (ok == 0)
		return insert_fire(c, s->id, p->fire_time, "skipped_overlap", 0, NULL, p->manual,
		    &r->fire, err);
	nr = (struct run_new){ s->team_id, s->app_id, p->version_id, p->input_json, s->priority,
	    s->max_retries, p->idem_key, p->fingerprint, s->id, p->fire_time };
	if (store_run_insert(c, &nr, now_ms(), &run_id, err) == -1 ||
	    (p->idem_key != NULL && store_run_key(c, &nr, run_id, now_ms(), err) == -1) ||
	    store_run_load(c, 0, run_id, &r->run, err) == -1)
		return -1;
	return insert_fire(c, s->id, p->fire_time, "created", run_id, NULL, p->manual, &r->fire,
	    err);
}

/* The compare-and-set advance of a cron plan: 1 done, 0 changed meanwhile. */
static int
advance(struct conn *c, const struct fire_plan *p, struct err *err)
{
	return exec_n(c, db_exec(c, "UPDATE schedules SET next_fire_at=?, last_fire_at=? WHERE "
	    "id=? AND next_fire_at=? AND updated_at=? AND deleted_at IS NULL", err, "iiiii",
	    p->new_next, p->fire_time, p->schedule_id, p->old_next, p->old_updated_at));
}

/* The fire row of fire_time for the plan's kind. */
static int
fire_one(struct conn *c, const struct schedule *s, const struct fire_plan *p,
    struct fire_result *r, struct err *err)
{
	switch (p->kind) {
	case PLAN_CREATE:
		return fire_create(c, s, p, r, err);
	case PLAN_FAILED:
		return insert_fire(c, s->id, p->fire_time, "failed", 0, p->reason, p->manual,
		    &r->fire, err);
	case PLAN_PAUSED:
		return insert_fire(c, s->id, p->fire_time, "skipped_paused", 0, NULL, p->manual,
		    &r->fire, err);
	case PLAN_MISSED:
	default:
		return insert_fire(c, s->id, p->fire_time, "skipped_missed", 0, NULL, p->manual,
		    &r->fire, err);
	}
}

static int
fire_tx(struct conn *c, const struct fire_plan *p, struct fire_result *r, struct err *err)
{
	struct schedule s;
	size_t i;
	int rc = -1;

	if (load_sched(c, 0, p->schedule_id, &s, err) == -1)
		return -1;
	if (!p->manual) {
		if ((rc = advance(c, p, err)) != 1) {
			store_schedule_clear(&s);
			return rc;	/* 0: not applied */
		}
	}
	for (i = 0; i < p->nmissed; i++)
		if (insert_fire(c, s.id, p->missed[i], "skipped_missed", 0, NULL, false, NULL,
		    err) == -1)
			goto out;
	rc = fire_one(c, &s, p, r, err) == -1 ? -1 : 0;
	r->applied = rc == 0 && !r->stale;
out:
	store_schedule_clear(&s);
	return rc;
}

/* A trigger's Idempotency-Key already used: 1 replayed (r filled). */
static int
trigger_replay(struct conn *c, const struct fire_plan *p, struct fire_result *r,
    struct err *err)
{
	struct schedule s;
	sqlite3_stmt *st;
	int rc;

	if (load_sched(c, 0, p->schedule_id, &s, err) == -1)
		return -1;
	st = db_prep(c, "SELECT f.id, f.schedule_id, f.fire_time, f.outcome, f.run_id, f.reason, "
	    "f.manual, f.created_at, k.request_sha256 FROM run_idempotency_keys k JOIN "
	    "schedule_fires f ON f.run_id=k.run_id WHERE k.team_id=? AND k.app_id=? AND "
	    "k.idempotency_key=? AND k.expires_at>?", "iisi", s.team_id, s.app_id, p->idem_key,
	    now_ms());
	store_schedule_clear(&s);
	if ((rc = one_row(c, st, err)) != 1)
		return rc;
	if (strcmp((const char *)sqlite3_column_text(st, 8), p->fingerprint) != 0) {
		sqlite3_reset(st);
		return err_set(err, ERR_IDEMPOTENCY,
		    "Idempotency-Key was already used with a different request");
	}
	fire_read(st, &r->fire);
	sqlite3_reset(st);
	r->replayed = r->applied = true;
	return store_run_load(c, 0, r->fire.run_id, &r->run, err) == -1 ? -1 : 1;
}

int
store_schedule_fire(const struct fire_plan *p, struct fire_result *r, struct err *err)
{
	struct conn *c = db_begin(err);
	int rc = 0;

	memset(r, 0, sizeof(*r));
	if (c == NULL)
		return -1;
	if (p->idem_key != NULL)
		rc = trigger_replay(c, p, r, err);
	if (rc == 0)
		rc = fire_tx(c, p, r, err);
	if (rc == -1 || !r->applied) {
		db_rollback(c);
		if (rc == -1) {
			store_fire_result_clear(r);
			return -1;
		}
		rc = r->stale;
		store_fire_result_clear(r);
		r->stale = rc;
		return 0;
	}
	if (db_commit(c, err) == -1) {
		store_fire_result_clear(r);
		return -1;
	}
	return 0;
}

/* ---- pause after failures ---- */

/* Consecutive failed/dead runs of the schedule, newest first, until a
 * completed one (cancelled runs count neither way). */
static int
count_failures(struct conn *c, int64_t sched_id, int64_t *count, struct err *err)
{
	sqlite3_stmt *st = db_prep(c, "SELECT status FROM runs WHERE schedule_id=? AND status IN "
	    "('completed','failed','dead') ORDER BY finished_at DESC, id DESC LIMIT 1001", "i",
	    sched_id);
	int rc;

	*count = 0;
	if (st == NULL)
		return err_set(err, ERR_INTERNAL, "prepare failed");
	while ((rc = db_step(c, st, err)) == SQLITE_ROW) {
		if (strcmp((const char *)sqlite3_column_text(st, 0), "completed") == 0)
			break;
		(*count)++;
	}
	sqlite3_reset(st);
	return rc == -1 ? -1 : 0;
}

static int
run_schedule(struct conn *c, int64_t run_id, int64_t *sched_id, struct err *err)
{
	sqlite3_stmt *st = db_prep(c, "SELECT COALESCE(schedule_id,0) FROM runs WHERE id=?", "i",
	    run_id);
	int rc = one_row(c, st, err);

	*sched_id = 0;
	if (rc == 1) {
		*sched_id = db_col_i64(st, 0);
		sqlite3_reset(st);
	}
	return rc == -1 ? -1 : 0;
}

/* Stores the count; disables the schedule when it reached the limit. */
static int
apply_failures(struct conn *c, struct schedule *s, int64_t count, bool *paused,
    struct err *err)
{
	char reason[128];
	int rc;

	if (db_exec(c, "UPDATE schedules SET consecutive_failures=? WHERE id=?", err, "ii", count,
	    s->id) == -1)
		return -1;
	if (!s->enabled || s->pause_after_failures <= 0 || count < s->pause_after_failures)
		return 0;
	snprintf(reason, sizeof(reason), "paused after %lld consecutive failed runs",
	    (long long)count);
	rc = exec_n(c, db_exec(c, "UPDATE schedules SET enabled=0, paused_reason=?, updated_at=? "
	    "WHERE id=? AND enabled=1 AND updated_at=?", err, "siii", reason,
	    now_ms() > s->updated_at ? now_ms() : s->updated_at + 1, s->id, s->updated_at));
	if (rc != 1)
		return rc == 0 ? err_set(err, ERR_CONFLICT, "schedule was changed concurrently") : -1;
	*paused = true;
	return 0;
}

int
store_schedule_run_finished(int64_t run_id, bool *paused, struct schedule *out,
    struct err *err)
{
	struct conn *c;
	int64_t sched_id, count;

	*paused = false;
	memset(out, 0, sizeof(*out));
	if (run_schedule(db_reader(), run_id, &sched_id, err) == -1)
		return -1;
	if (sched_id == 0)
		return 0;
	if ((c = db_begin(err)) == NULL)
		return -1;
	if (load_sched(c, 0, sched_id, out, err) == -1) {
		db_rollback(c);
		return err->code == ERR_NOT_FOUND ? 0 : -1;	/* deleted meanwhile */
	}
	if (count_failures(c, sched_id, &count, err) == -1 ||
	    apply_failures(c, out, count, paused, err) == -1)
		goto fail;
	if (*paused) {
		store_schedule_clear(out);
		if (load_sched(c, 0, sched_id, out, err) == -1)
			goto fail;
	}
	return db_commit(c, err);
fail:
	db_rollback(c);
	store_schedule_clear(out);
	*paused = false;
	return -1;
}

int
store_schedule_count_enabled(int64_t *count, struct err *err)
{
	struct conn *c = db_reader();
	sqlite3_stmt *st = db_prep(c, "SELECT COUNT(*) FROM schedules WHERE deleted_at IS NULL AND "
	    "enabled=1", "");

	*count = 0;
	if (one_row(c, st, err) != 1)
		return -1;
	*count = db_col_i64(st, 0);
	sqlite3_reset(st);
	return 0;
}

void
store_thread_end(void)
{
	db_reader_release();
}
