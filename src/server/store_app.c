/*
 * store_app: apps and their versions. A version row carries what its
 * Towerfile said (entrypoint, timeout, params_schema, import_paths, sandbox,
 * resources); reads use the calling thread's reader connection, the version
 * insert numbers it inside its BEGIN IMMEDIATE transaction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "store.h"
#include "store_run.h"
#include "util.h"

#define APP_COLS "id, team_id, slug, description, created_at, updated_at"

static void
app_from_row(sqlite3_stmt *st, void *elem)
{
	struct app *a = elem;

	a->id = db_col_i64(st, 0);
	a->team_id = db_col_i64(st, 1);
	a->slug = db_col_strdup(st, 2);
	a->description = db_col_strdup(st, 3);
	a->description_len = (size_t)sqlite3_column_bytes(st, 3);
	a->created_at = db_col_i64(st, 4);
	a->updated_at = db_col_i64(st, 5);
}

static void
app_clear(void *elem)
{
	store_app_clear(elem);
}

static const struct db_rowtype app_rows = { sizeof(struct app), app_from_row, app_clear };

int
store_app_create(int64_t team_id, const char *slug, const char *desc, size_t desc_len,
    struct app *out, struct err *err)
{
	struct conn *c = db_begin(err);
	int64_t now = now_ms();

	if (c == NULL)
		return -1;
	if (db_exec(c, "INSERT INTO apps(team_id, slug, description, created_at, updated_at) "
	    "VALUES(?,?,?,?,?)", err, "isSii", team_id, slug, desc, desc_len, now, now) == -1) {
		if (db_is_unique_violation(c))
			err_set(err, ERR_SLUG_TAKEN, "app slug already exists");
		db_rollback(c);
		return -1;
	}
	memset(out, 0, sizeof(*out));
	out->id = db_last_id(c);
	out->team_id = team_id;
	out->slug = xstrdup(slug);
	out->description = desc != NULL ? xstrndup(desc, desc_len) : NULL;
	out->description_len = desc_len;
	out->created_at = out->updated_at = now;
	return db_commit(c, err);
}

int
store_app_get(int64_t team_id, const char *slug, struct app *out, struct err *err)
{
	struct conn *c = db_reader();
	sqlite3_stmt *st = db_prep(c, "SELECT " APP_COLS " FROM apps WHERE team_id=? AND slug=?",
	    "is", team_id, slug);
	int rc = db_step(c, st, err);

	memset(out, 0, sizeof(*out));
	if (rc == -1)
		return -1;
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		return err_set(err, ERR_NOT_FOUND, "app not found");
	}
	app_from_row(st, out);
	sqlite3_reset(st);
	return 0;
}

int
store_app_list(int64_t team_id, struct app **apps, size_t *n, struct err *err)
{
	struct conn *c = db_reader();
	sqlite3_stmt *st = db_prep(c, "SELECT " APP_COLS " FROM apps WHERE team_id=? ORDER BY slug",
	    "i", team_id);
	void *v;
	int rc = db_list(c, st, &app_rows, &v, n, err);

	*apps = v;
	return rc;
}

void
store_app_clear(struct app *a)
{
	free(a->slug);
	free(a->description);
	memset(a, 0, sizeof(*a));
}

void
store_apps_free(struct app *apps, size_t n)
{
	db_list_free(apps, n, &app_rows);
}

#define VERSION_COLS "id, app_id, version_no, artifact_object_key, artifact_sha256, " \
	"entrypoint, timeout_seconds, params_schema_json, towerfile_toml, import_paths_json, created_at, " \
	"sandbox_json, resources_json"

static void
version_from_row(sqlite3_stmt *st, void *elem)
{
	struct version *v = elem;

	v->id = db_col_i64(st, 0);
	v->app_id = db_col_i64(st, 1);
	v->version_no = db_col_i64(st, 2);
	v->object_key = db_col_strdup(st, 3);
	v->sha256 = db_col_strdup(st, 4);
	v->entrypoint = db_col_strdup(st, 5);
	v->timeout_seconds = db_col_i64(st, 6);
	v->params_schema_json = db_col_strdup(st, 7);
	v->towerfile_toml = db_col_strdup(st, 8);
	v->import_paths_json = db_col_strdup(st, 9);
	v->created_at = db_col_i64(st, 10);
	v->sandbox_json = db_col_strdup(st, 11);
	v->resources_json = db_col_strdup(st, 12);
}

static void
version_clear(void *elem)
{
	store_version_clear(elem);
}

static const struct db_rowtype version_rows = {
	sizeof(struct version), version_from_row, version_clear
};

int
store_version_create(struct version *v, struct err *err)
{
	struct conn *c = db_begin(err);
	sqlite3_stmt *st;
	int rc;

	if (c == NULL)
		return -1;
	st = db_prep(c, "SELECT COALESCE(MAX(version_no),0)+1 FROM app_versions WHERE app_id=?",
	    "i", v->app_id);
	if ((rc = db_step(c, st, err)) != SQLITE_ROW)
		goto fail;
	v->version_no = db_col_i64(st, 0);
	sqlite3_reset(st);
	v->created_at = now_ms();
	if (db_exec(c, "INSERT INTO app_versions(app_id, version_no, artifact_object_key, "
	    "artifact_sha256, entrypoint, timeout_seconds, params_schema_json, created_at, "
	    "towerfile_toml, import_paths_json, sandbox_json, resources_json) "
	    "VALUES(?,?,?,?,?,?,?,?,?,?,?,?)", err, "iissszsissss",
	    v->app_id, v->version_no, v->object_key, v->sha256, v->entrypoint,
	    v->timeout_seconds, v->params_schema_json, v->created_at, v->towerfile_toml,
	    v->import_paths_json, v->sandbox_json, v->resources_json) == -1)
		goto fail;
	v->id = db_last_id(c);
	return db_commit(c, err);
fail:
	db_rollback(c);
	return -1;
}

int
store_version_list(int64_t app_id, struct version **vs, size_t *n, struct err *err)
{
	struct conn *c = db_reader();
	sqlite3_stmt *st = db_prep(c, "SELECT " VERSION_COLS " FROM app_versions WHERE app_id=? "
	    "ORDER BY version_no DESC", "i", app_id);
	void *v;
	int rc = db_list(c, st, &version_rows, &v, n, err);

	*vs = v;
	return rc;
}

int
store_version_get(int64_t app_id, int64_t version_no, struct version *out, struct err *err)
{
	struct conn *c = db_reader();
	sqlite3_stmt *st;
	int rc;

	memset(out, 0, sizeof(*out));
	if (version_no > 0)
		st = db_prep(c, "SELECT " VERSION_COLS " FROM app_versions WHERE app_id=? AND "
		    "version_no=?", "ii", app_id, version_no);
	else
		st = db_prep(c, "SELECT " VERSION_COLS " FROM app_versions WHERE app_id=? "
		    "ORDER BY version_no DESC LIMIT 1", "i", app_id);
	if ((rc = db_step(c, st, err)) == -1)
		return -1;
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		if (version_no > 0)
			return err_set(err, ERR_NOT_FOUND, "version not found");
		return err_set(err, ERR_NO_VERSION, "app has no versions");
	}
	version_from_row(st, out);
	sqlite3_reset(st);
	return 0;
}

void
store_version_clear(struct version *v)
{
	free(v->object_key);
	free(v->sha256);
	free(v->entrypoint);
	free(v->params_schema_json);
	free(v->towerfile_toml);
	free(v->import_paths_json);
	free(v->sandbox_json);
	free(v->resources_json);
	memset(v, 0, sizeof(*v));
}

void
store_versions_free(struct version *vs, size_t n)
{
	db_list_free(vs, n, &version_rows);
}
