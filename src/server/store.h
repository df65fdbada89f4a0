/*
 * store: every query and transaction of minitowerd (the SQL lives in
 * store*.c only). Functions take and return plain structs; a write is one
 * BEGIN IMMEDIATE transaction with its guards, and reports what changed so
 * the caller can notify after commit. Errors carry the API's code/message;
 * database failures are ERR_INTERNAL.
 */
#ifndef MT_STORE_H
#define MT_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "http.h"

struct app {
	int64_t	 id;
	int64_t	 team_id;
	char	*slug;
	char	*description;	/* NULL when NULL */
	size_t	 description_len;
	int64_t	 created_at;
	int64_t	 updated_at;
};

struct version {
	int64_t	 id;
	int64_t	 app_id;
	int64_t	 version_no;
	char	*object_key;
	char	*sha256;
	char	*entrypoint;
	int64_t	 timeout_seconds;	/* 0 when NULL */
	char	*params_schema_json;	/* NULL when NULL */
	char	*towerfile_toml;	/* NULL when NULL */
	char	*import_paths_json;	/* NULL when NULL */
	int64_t	 created_at;
};

struct token_row {
	int64_t	 id;
	char	*name;		/* NULL when NULL */
	size_t	 name_len;
	bool	 admin;
	int64_t	 created_at;
	int64_t	 last_used_at;	/* 0 when NULL */
};

/* Opens the database and applies migrations (see db.h). */
int store_open(const char *path, bool sync_full, struct err *err);
void store_close(void);
/* 0 when the database answers within 2 s. */
int store_ping(void);

/* Team token: fills auth for a non-revoked token hash; 0, or -1 with
 * ERR_UNAUTHORIZED / ERR_INTERNAL. Records last_used_at at most once a
 * minute (a failure there is ignored). */
int store_team_auth(const char *token_hash, struct team_auth *auth, struct err *err);
/* Runner token of an online runner; 0 or -1 (ERR_UNAUTHORIZED). */
int store_runner_auth(const char *token_hash, struct runner_auth *auth, struct err *err);

/* Signup: team + password hash + admin token "signup", one transaction.
 * ERR_SLUG_TAKEN when the slug exists. */
int store_signup(const char *slug, const char *name, const char *pw_hash,
    const char *token_hash, int64_t *team_id, struct err *err);
/* Login lookup: team id and password hash (NULL when none) of slug; 0, or
 * -1 with ERR_NOT_FOUND. */
int store_team_password(const char *slug, int64_t *team_id, char **pw_hash, struct err *err);
/* Issues an admin token "login"; when new_hash is set, replaces old_hash by
 * compare-and-set (*rehashed tells whether it did). */
int store_login(int64_t team_id, const char *token_hash, const char *old_hash,
    const char *new_hash, int64_t *token_id, bool *rehashed, struct err *err);
/* Bootstrap (api.md §1.2.4). *created tells 201 from 200. ERR_TEAM_EXISTS. */
int store_bootstrap(const char *slug, const char *name, size_t name_len,
    const char *pw_hash, const char *token_hash, int64_t *team_id, bool *created,
    struct err *err);

int store_token_create(int64_t team_id, const char *name, size_t name_len, bool admin,
    const char *token_hash, int64_t *token_id, struct err *err);
/* Non-revoked tokens of the team by id; *rows (caller frees with
 * store_tokens_free). */
int store_token_list(int64_t team_id, struct token_row **rows, size_t *n, struct err *err);
void store_tokens_free(struct token_row *rows, size_t n);
/* ERR_NOT_FOUND when id is not a token of the team. */
int store_token_revoke(int64_t team_id, int64_t id, struct err *err);

int store_app_create(int64_t team_id, const char *slug, const char *desc, size_t desc_len,
    struct app *out, struct err *err);
/* ERR_NOT_FOUND "app not found". */
int store_app_get(int64_t team_id, const char *slug, struct app *out, struct err *err);
int store_app_list(int64_t team_id, struct app **apps, size_t *n, struct err *err);
void store_app_clear(struct app *a);
void store_apps_free(struct app *apps, size_t n);

/* Inserts version max+1 of the app (fields of v except id/version_no/
 * created_at, which are filled). */
int store_version_create(struct version *v, struct err *err);
int store_version_list(int64_t app_id, struct version **vs, size_t *n, struct err *err);
/* version_no <= 0: the latest. ERR_NOT_FOUND "version not found" /
 * ERR_NO_VERSION when latest is asked and there is none. */
int store_version_get(int64_t app_id, int64_t version_no, struct version *out, struct err *err);
void store_version_clear(struct version *v);
void store_versions_free(struct version *vs, size_t n);



/* Gauges for /metrics, computed with indexed queries (free the rows with
 * store_metrics_gauges_free). */
struct metrics_gauges;
int store_metrics_gauges(struct metrics_gauges *g, struct err *err);
void store_metrics_gauges_free(struct metrics_gauges *g);
#endif
