/*
 * store_run.h: row helpers shared by the store files (store.c, store_run.c,
 * store_lease.c, and no other file): text columns into fixed buffers,
 * single-row steps, the active-attempt test and compare-and-set results.
 */
#ifndef MT_STORE_RUN_H
#define MT_STORE_RUN_H

#include <stdio.h>
#include <string.h>

#include "db.h"
#include "util.h"

#define ACTIVE "('leased','running','cancelling')"

/*
 * The same test as "status IN " ACTIVE, for a row already found by its key.
 * SQLite evaluates an IN list of more than two constants by building a
 * temporary b-tree on every execution of the statement (about 3 µs, inside
 * the writer's mutex); comparisons cost nothing. Queries that should use
 * the partial indexes keep the IN form, which the planner matches against
 * the indexes' WHERE clauses.
 */
#define IS_ACTIVE "(status='leased' OR status='running' OR status='cancelling')"

static inline void
col_copy(sqlite3_stmt *st, int col, char *out, size_t outsz)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	snprintf(out, outsz, "%s", t != NULL ? (const char *)t : "");
}

static inline bool
is_active(const char *status)
{
	return strcmp(status, "leased") == 0 || strcmp(status, "running") == 0 ||
	    strcmp(status, "cancelling") == 0;
}

/* Steps a single-row statement: 1 row (left unreset), 0 none, -1 error. */
static inline int
one_row(struct conn *c, sqlite3_stmt *st, struct err *err)
{
	int rc = db_step(c, st, err);

	if (rc == -1) {
		if (st != NULL)
			sqlite3_reset(st);
		return -1;
	}
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		return 0;
	}
	return 1;
}

/* An UPDATE/INSERT that must succeed; returns rows changed or -1. */
static inline int
exec_n(struct conn *c, int rc)
{
	return rc == -1 ? -1 : db_changes(c);
}

struct run;
struct run_new;
/* The run-creation steps of store_run.c, for other store files that create a
 * run inside their own transaction on c (store_schedule.c):
 * store_run_load reads run id (of team_id unless 0) into *out (ERR_NOT_FOUND "run
 * not found"); store_run_insert inserts the row (environment, run_no) and sets
 * *id; store_run_key stores in->idem_key for run_id. 0, or -1 with err. */
int store_run_load(struct conn *c, int64_t team_id, int64_t id, struct run *out, struct err *err);
int store_run_insert(struct conn *c, const struct run_new *in, int64_t now, int64_t *id,
    struct err *err);
int store_run_key(struct conn *c, const struct run_new *in, int64_t run_id, int64_t now,
    struct err *err);
/* The cancel of api.md §1.6.7 inside the caller's transaction on c: fills
 * *out with the run afterwards, old_status and *attempt_no as
 * store_run_cancel does. 0, or -1 with err. */
int store_run_cancel_in(struct conn *c, int64_t team_id, int64_t run_id, struct run *out,
    char old_status[16], int64_t *attempt_no, struct err *err);

struct attempt;
/* Reads attempt id with its run into *a (store_lease.c): 0, or -1 with
 * ERR_GONE "attempt not active" when there is no such attempt. */
int store_attempt_by_id(struct conn *c, int64_t id, struct attempt *a, struct err *err);

/* The lease check of the runner calls (store_lease.c), for the other
 * lease-bound reads (store_secret.c): the attempt of (run, runner, lease
 * hash) while active into *a, else ERR_GONE "invalid or expired lease". */
int store_lease_check(struct conn *c, int64_t run_id, int64_t runner_id, const char *hash,
    struct attempt *a, struct err *err);

#endif
