/*
 * store_secret: team secrets and team data keys. Rows hold sealed text
 * only; a secret is identified by (team, name, app or none, environment or
 * none) through an expression unique index, writes are compare-and-set on
 * the version inside BEGIN IMMEDIATE, and the delivery read is fenced by the
 * lease check of store_lease.c (then last_used_at is recorded).
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "store.h"
#include "store_run.h"
#include "store_secret.h"
#include "util.h"

static atomic_bool configured;

void
store_secrets_set_configured(bool on)
{
	atomic_store(&configured, on);
}

int64_t
store_secrets_keyless(void)
{
	return atomic_load(&configured) ? 0 : 1;
}

/* ---- team data keys ---- */

void
store_team_key_clear(struct team_key_row *k)
{
	if (k == NULL)
		return;
	free(k->nonce);
	free(k->ct);
	memset(k, 0, sizeof(*k));
}

/* Reads the team's key row into *out: 1, 0 none, -1. */
static int
team_key_get(struct conn *c, int64_t team_id, struct team_key_row *out, struct err *err)
{
	sqlite3_stmt *st = db_prep(c, "SELECT nonce, sealed_key FROM team_data_keys WHERE team_id=?",
	    "i", team_id);
	int rc = one_row(c, st, err);

	memset(out, 0, sizeof(*out));
	if (rc != 1)
		return rc;
	out->team_id = team_id;
	out->nonce = db_col_strdup(st, 0);
	out->ct = db_col_strdup(st, 1);
	sqlite3_reset(st);
	return 1;
}

int
store_team_key_ensure(int64_t team_id, const char *nonce, const char *ct,
    struct team_key_row *out, struct err *err)
{
	struct conn *c = db_begin(err);

	memset(out, 0, sizeof(*out));
	if (c == NULL)
		return -1;
	err_clear(err);
	if (db_exec(c, "INSERT OR IGNORE INTO team_data_keys(team_id, sealed_key, nonce, "
	    "created_at) VALUES(?,?,?,?)", err, "issi", team_id, ct, nonce, now_ms()) == -1 ||
	    team_key_get(c, team_id, out, err) != 1) {
		if (err->code == ERR_NONE)
			err_set(err, ERR_INTERNAL, "team data key missing");
		db_rollback(c);
		store_team_key_clear(out);
		return -1;
	}
	return db_commit(c, err);
}

static void
key_from_row(sqlite3_stmt *st, void *elem)
{
	struct team_key_row *k = elem;

	k->team_id = db_col_i64(st, 0);
	k->nonce = db_col_strdup(st, 1);
	k->ct = db_col_strdup(st, 2);
}

static void
key_clear(void *elem)
{
	store_team_key_clear(elem);
}

static const struct db_rowtype key_rows = { sizeof(struct team_key_row), key_from_row, key_clear };

int
store_team_keys_all(struct team_key_row **keys, size_t *n, struct err *err)
{
	struct conn *c = db_reader();
	sqlite3_stmt *st = db_prep(c, "SELECT team_id, nonce, sealed_key FROM team_data_keys "
	    "ORDER BY team_id", "");
	void *v;
	int rc = db_list(c, st, &key_rows, &v, n, err);

	*keys = v;
	return rc;
}

void
store_team_keys_free(struct team_key_row *keys, size_t n)
{
	db_list_free(keys, n, &key_rows);
}

int
store_team_keys_replace(const struct team_key_row *old, const struct team_key_row *repl,
    size_t n, struct err *err)
{
	struct conn *c = db_begin(err);
	int64_t now = now_ms();
	size_t i;
	int rc;

	if (c == NULL)
		return -1;
	err_clear(err);
	for (i = 0; i < n; i++) {
		rc = exec_n(c, db_exec(c, "UPDATE team_data_keys SET sealed_key=?, nonce=?, "
		    "rotated_at=? WHERE team_id=? AND sealed_key=?", err, "ssiis", repl[i].ct,
		    repl[i].nonce, now, old[i].team_id, old[i].ct));
		if (rc != 1) {
			if (rc == 0)
				err_set(err, ERR_CONFLICT, "the data key of team %lld changed during "
				    "rotation", (long long)old[i].team_id);
			db_rollback(c);
			return -1;
		}
	}
	return db_commit(c, err);
}

/* ---- secrets ---- */

#define SCOPE_MATCH "team_id=? AND name=? AND IFNULL(app_id,0)=? AND IFNULL(environment,'')=?"

int
store_secret_put(const struct secret_write *w, bool *created, int64_t *version,
    struct err *err)
{
	struct conn *c = db_begin(err);
	const char *env = w->environment != NULL ? w->environment : "";
	int64_t now = now_ms(), id, ver;
	sqlite3_stmt *st;
	int rc;

	*created = false;
	if (c == NULL)
		return -1;
	st = db_prep(c, "SELECT id, version FROM secrets WHERE " SCOPE_MATCH, "isis", w->team_id,
	    w->name, w->app_id, env);
	if ((rc = one_row(c, st, err)) == -1)
		goto fail;
	if (rc == 1) {
		id = db_col_i64(st, 0);
		ver = db_col_i64(st, 1);
		sqlite3_reset(st);
		rc = exec_n(c, db_exec(c, "UPDATE secrets SET ciphertext=?, nonce=?, version=?, "
		    "updated_at=?, updated_by=(SELECT name FROM team_tokens WHERE id=?) WHERE id=? AND "
		    "version=?", err, "ssiiiii", w->ct, w->nonce, ver + 1, now, w->token_id, id, ver));
		if (rc != 1) {
			if (rc == 0)
				err_set(err, ERR_CONFLICT, "secret changed concurrently");
			goto fail;
		}
		*version = ver + 1;
		return db_commit(c, err);
	}
	if (db_exec(c, "INSERT INTO secrets(team_id, name, app_id, environment, ciphertext, nonce, "
	    "version, created_at, updated_at, updated_by) VALUES(?,?,?,?,?,?,1,?,?,"
	    "(SELECT name FROM team_tokens WHERE id=?))", err, "iszsssiii", w->team_id, w->name,
	    w->app_id, w->environment, w->ct, w->nonce, now, now, w->token_id) == -1) {
		if (db_is_unique_violation(c))
			err_set(err, ERR_CONFLICT, "secret changed concurrently");
		goto fail;
	}
	*created = true;
	*version = 1;
	return db_commit(c, err);
fail:
	db_rollback(c);
	return -1;
}

#define ROW_COLS "s.id, s.team_id, s.name, IFNULL(s.app_id,0), a.slug, s.environment, " \
	"s.version, s.created_at, s.updated_at, s.last_used_at, s.updated_by"
#define ROW_FROM " FROM secrets s LEFT JOIN apps a ON a.id=s.app_id "

static void
secret_from_row(sqlite3_stmt *st, void *elem)
{
	struct secret_row *r = elem;

	r->id = db_col_i64(st, 0);
	r->team_id = db_col_i64(st, 1);
	col_copy(st, 2, r->name, sizeof(r->name));
	r->app_id = db_col_i64(st, 3);
	r->app_slug = db_col_strdup(st, 4);
	r->environment = db_col_strdup(st, 5);
	r->version = db_col_i64(st, 6);
	r->created_at = db_col_i64(st, 7);
	r->updated_at = db_col_i64(st, 8);
	r->last_used_at = db_col_i64(st, 9);
	r->updated_by = db_col_strdup(st, 10);
}

/* The delivery rows carry the sealed value too (columns 11 and 12). */
static void
sealed_from_row(sqlite3_stmt *st, void *elem)
{
	struct secret_row *r = elem;

	secret_from_row(st, elem);
	r->nonce = db_col_strdup(st, 11);
	r->ct = db_col_strdup(st, 12);
}

static void
secret_clear(void *elem)
{
	struct secret_row *r = elem;

	free(r->app_slug);
	free(r->environment);
	free(r->updated_by);
	free(r->nonce);
	free(r->ct);
	memset(r, 0, sizeof(*r));
}

static const struct db_rowtype secret_rows = { sizeof(struct secret_row), secret_from_row,
	secret_clear };
static const struct db_rowtype sealed_rows = { sizeof(struct secret_row), sealed_from_row,
	secret_clear };

int
store_secret_list(int64_t team_id, int64_t app_id, struct secret_row **rows, size_t *n,
    struct err *err)
{
	struct conn *c = db_reader();
	sqlite3_stmt *st;
	void *v;
	int rc;

	if (app_id > 0)
		st = db_prep(c, "SELECT " ROW_COLS ROW_FROM "WHERE s.team_id=? AND (s.app_id IS NULL "
		    "OR s.app_id=?) ORDER BY s.name, IFNULL(a.slug,''), IFNULL(s.environment,'')", "ii",
		    team_id, app_id);
	else
		st = db_prep(c, "SELECT " ROW_COLS ROW_FROM "WHERE s.team_id=? ORDER BY s.name, "
		    "IFNULL(a.slug,''), IFNULL(s.environment,'')", "i", team_id);
	rc = db_list(c, st, &secret_rows, &v, n, err);
	*rows = v;
	return rc;
}

void
store_secret_rows_free(struct secret_row *rows, size_t n)
{
	db_list_free(rows, n, &secret_rows);
}

int
store_secret_delete(int64_t team_id, const char *name, int64_t app_id, const char *env,
    struct err *err)
{
	struct conn *c = db_begin(err);
	int n;

	if (c == NULL)
		return -1;
	n = exec_n(c, db_exec(c, "DELETE FROM secrets WHERE " SCOPE_MATCH, err, "isis", team_id,
	    name, app_id, env != NULL ? env : ""));
	if (n != 1) {
		if (n == 0)
			err_set(err, ERR_NOT_FOUND, "secret not found");
		db_rollback(c);
		return -1;
	}
	return db_commit(c, err);
}

/* ---- delivery ---- */

/*
 * Precedence (docs/secrets.md): for each name, the most specific scope wins,
 * app+environment (3) > app (2) > environment (1) > team (0). The rows come
 * ordered by name, then specificity down; the first row of each name is
 * kept, the others are dropped here.
 */
static void
keep_most_specific(struct secret_row *rows, size_t *n)
{
	size_t i, out = 0;

	for (i = 0; i < *n; i++) {
		if (out > 0 && strcmp(rows[out - 1].name, rows[i].name) == 0) {
			secret_clear(&rows[i]);
			continue;
		}
		if (out != i) {
			rows[out] = rows[i];
			memset(&rows[i], 0, sizeof(rows[i]));
		}
		out++;
	}
	*n = out;
}

/* The run's secrets in scope, sealed. */
static int
run_rows(struct conn *c, int64_t run_id, struct secret_row **rows, size_t *n, struct err *err)
{
	sqlite3_stmt *st = db_prep(c, "SELECT " ROW_COLS ", s.nonce, s.ciphertext FROM runs r "
	    "JOIN environments e ON e.id=r.environment_id JOIN secrets s ON s.team_id=r.team_id "
	    "AND (s.app_id IS NULL OR s.app_id=r.app_id) AND (s.environment IS NULL OR "
	    "s.environment=e.name) LEFT JOIN apps a ON a.id=s.app_id WHERE r.id=? ORDER BY s.name, "
	    "(s.app_id IS NOT NULL) * 2 + (s.environment IS NOT NULL) DESC", "i", run_id);
	void *v;
	int rc = db_list(c, st, &sealed_rows, &v, n, err);

	*rows = v;
	if (rc == 0)
		keep_most_specific(*rows, n);
	return rc;
}

/* Records the delivery on the rows handed out (best effort: a failure
 * there does not withhold the values). */
static void
mark_used(const struct secret_row *rows, size_t n)
{
	struct err err;
	int64_t now = now_ms();
	struct conn *c;
	size_t i;

	if (n == 0 || (c = db_begin(&err)) == NULL)
		return;
	for (i = 0; i < n; i++)
		if (db_exec(c, "UPDATE secrets SET last_used_at=? WHERE id=?", &err, "ii", now,
		    rows[i].id) == -1) {
			db_rollback(c);
			return;
		}
	(void)db_commit(c, &err);
}

/*
 * The fence is the lease check of the runner calls on this thread's reader,
 * as the artifact download does: a read that answers only the current
 * attempt of (run, runner, lease hash) while leased or running. A run with
 * nothing in scope costs no write.
 */
int
store_secrets_for_run(int64_t run_id, int64_t runner_id, const char *lease_hash,
    struct attempt *a, struct secret_row **rows, size_t *n, struct team_key_row *key,
    struct err *err)
{
	struct conn *c = db_reader();
	int64_t team_id;

	*rows = NULL;
	*n = 0;
	memset(key, 0, sizeof(*key));
	if (store_lease_check(c, run_id, runner_id, lease_hash, a, err) == -1)
		return -1;
	if (strcmp(a->status, "leased") != 0 && strcmp(a->status, "running") != 0)
		return err_set(err, ERR_GONE, "invalid or expired lease");
	if (run_rows(c, run_id, rows, n, err) == -1)
		return -1;
	team_id = *n > 0 ? (*rows)[0].team_id : 0;
	if (team_id != 0 && team_key_get(c, team_id, key, err) == -1) {
		store_secret_rows_free(*rows, *n);
		*rows = NULL;
		*n = 0;
		return -1;
	}
	mark_used(*rows, *n);
	return 0;
}

bool
store_run_has_secrets(int64_t run_id)
{
	struct conn *c = db_reader();
	sqlite3_stmt *st = db_prep(c, "SELECT 1 FROM runs r JOIN environments e ON "
	    "e.id=r.environment_id WHERE r.id=? AND EXISTS (SELECT 1 FROM secrets s WHERE "
	    "s.team_id=r.team_id AND (s.app_id IS NULL OR s.app_id=r.app_id) AND "
	    "(s.environment IS NULL OR s.environment=e.name))", "i", run_id);
	struct err err;
	int rc = one_row(c, st, &err);

	if (rc == 1)
		sqlite3_reset(st);
	return rc == 1;
}
