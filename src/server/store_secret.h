/*
 * store_secret: the rows of team secrets and team data keys (all their SQL
 * is in store_secret.c). The store only ever sees sealed text (base64 nonce
 * and ciphertext); sealing and opening are secrets.c's.
 */
#ifndef MT_STORE_SECRET_H
#define MT_STORE_SECRET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "store.h"

#define STORE_SECRET_NAME_MAX 128

/* A secret as listed (never its value); delivery also fills nonce/ct. */
struct secret_row {
	int64_t	 id;
	int64_t	 team_id;
	char	 name[STORE_SECRET_NAME_MAX + 1];
	int64_t	 app_id;	/* 0: every app */
	char	*app_slug;	/* NULL when team-wide */
	char	*environment;	/* NULL: every environment */
	int64_t	 version;
	int64_t	 created_at, updated_at;
	int64_t	 last_used_at;	/* 0 when never */
	char	*updated_by;	/* token name; NULL when unnamed or gone */
	char	*nonce, *ct;	/* sealed value: delivery only, else NULL */
};

/* A team's sealed data key. */
struct team_key_row {
	int64_t	 team_id;
	char	*nonce, *ct;
};

/* The team's sealed data key, inserting (nonce, ct) first when it has none:
 * one transaction. 0 with *out (clear with store_team_key_clear) or -1. */
int store_team_key_ensure(int64_t team_id, const char *nonce, const char *ct,
    struct team_key_row *out, struct err *err);
void store_team_key_clear(struct team_key_row *k);

/* What store_secret_put writes; strings borrowed. */
struct secret_write {
	int64_t		 team_id;
	const char	*name;
	int64_t		 app_id;	/* 0: team-wide */
	const char	*environment;	/* NULL: every environment */
	const char	*nonce, *ct;
	int64_t		 token_id;	/* updated_by is its name */
};

/* Creates or replaces (compare-and-set on the version) the secret of
 * (team, name, scope). *created tells which; *version is the new version. */
int store_secret_put(const struct secret_write *w, bool *created, int64_t *version,
    struct err *err);
/* The team's secrets (app_id > 0: those an app's runs can get, its own and
 * the team-wide ones), by name, app, environment; free with
 * store_secret_rows_free. */
int store_secret_list(int64_t team_id, int64_t app_id, struct secret_row **rows, size_t *n,
    struct err *err);
void store_secret_rows_free(struct secret_row *rows, size_t n);
/* Deletes the secret of (team, name, scope); ERR_NOT_FOUND "secret not
 * found". */
int store_secret_delete(int64_t team_id, const char *name, int64_t app_id, const char *env,
    struct err *err);

/* The delivery read, fenced by the lease like start and heartbeat: the
 * attempt (run, runner, lease hash) must be the run's current one and
 * leased or running, else ERR_GONE. Fills *a, the secrets in scope of the
 * run (one per name, the most specific scope first: app+environment, app,
 * environment, team), the team's sealed key (*key; team_id 0 when the team
 * has none), and records last_used_at afterwards (best effort). */
int store_secrets_for_run(int64_t run_id, int64_t runner_id, const char *lease_hash,
    struct attempt *a, struct secret_row **rows, size_t *n, struct team_key_row *key,
    struct err *err);

/* Every team data key (rotation); free with store_team_keys_free. */
int store_team_keys_all(struct team_key_row **keys, size_t *n, struct err *err);
void store_team_keys_free(struct team_key_row *keys, size_t n);
/* Replaces old[i] by new[i] (same team), each by compare-and-set on the old
 * ciphertext, all in one transaction: ERR_CONFLICT when one changed. */
int store_team_keys_replace(const struct team_key_row *old, const struct team_key_row *repl,
    size_t n, struct err *err);

/* True when run run_id's app has a secret in scope of the run (the reason a
 * queued run waits without a master key). */
bool store_run_has_secrets(int64_t run_id);

/* The bound argument of the lease pick (store_lease.c): 1 while secrets are
 * not configured, so runs with secrets in scope are skipped. */
int64_t store_secrets_keyless(void);
/* Tells the store whether a master key is loaded (main, SIGHUP). */
void store_secrets_set_configured(bool configured);

/* The lease pick's extra condition (store_lease.c), bound to
 * store_secrets_keyless(): skip runs whose secrets cannot be opened. */
#define STORE_SECRETS_LEASABLE " AND NOT (? AND EXISTS (SELECT 1 FROM secrets s WHERE " \
	"s.team_id=r.team_id AND (s.app_id IS NULL OR s.app_id=r.app_id) AND " \
	"(s.environment IS NULL OR s.environment=e.name)))"

#endif
