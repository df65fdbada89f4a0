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
	char	*sandbox_json;		/* [app.sandbox] as compact JSON; NULL when none */
	char	*resources_json;	/* [app.resources] as compact JSON; NULL when none */
};

struct token_row {
	int64_t	 id;
	char	*name;		/* NULL when NULL */
	size_t	 name_len;
	bool	 admin;
	int64_t	 created_at;
	int64_t	 last_used_at;	/* 0 when NULL */
};

/* Sets the write timeout and the bound of the writer queue (db.h
 * db_set_limits); call before threads start. */
void store_set_limits(int64_t write_timeout_ms, int max_waiting);
/* Sets this thread's write deadline (mono_us(); 0 clears): writes begun by
 * this thread give up with ERR_UNAVAILABLE once it has passed. */
void store_set_deadline(int64_t mono_deadline_us);
/* 0 when a write can begin within timeout_ms, else -1 with err (readiness). */
int store_writable(int64_t timeout_ms, struct err *err);
#ifdef MT_FAULTS
/* Arms the store's fault seam (db_fault.h); *injected is how many faults
 * were injected before. 0, or -1 with ERR_INVALID. */
int store_fault_arm(const char *kind, int skip, int count, bool all_conns, long *injected,
    struct err *err);
#endif
/* Opens the database and applies migrations (see db.h). */
int store_open(const char *path, bool sync_full, struct err *err);
void store_close(void);
/* Releases the calling thread's reader connection (a thread that ends). */
void store_thread_end(void);
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

/* ==== runs, attempts, logs and runners (store_run.c; owned by the runs work) ==== */

#define STORE_SLUG_MAX 64
#define STORE_STATUS_MAX 16
/* The most jobs one runner may run at once (runners.max_concurrent). */
#define STORE_SLOTS_MAX 64
#define STORE_ENV_MAX 256

/* A run as the API shows it (RunObject) plus what logs and metrics need.
 * Timestamps are Unix ms, 0 when NULL. */
struct run {
	int64_t	 id;
	int64_t	 team_id;
	int64_t	 app_id;
	int64_t	 run_no;
	int64_t	 version_no;
	char	 team_slug[STORE_SLUG_MAX];
	char	 app_slug[STORE_SLUG_MAX];
	char	 status[STORE_STATUS_MAX];
	char	*input_json;		/* NULL when NULL */
	int64_t	 priority;
	int64_t	 max_retries;
	int64_t	 retry_count;
	bool	 cancel_requested;
	int64_t	 queued_at;
	int64_t	 started_at;
	int64_t	 finished_at;
	char	 environment[STORE_ENV_MAX];
	int64_t	 schedule_id;		/* 0 when the run was not made by a schedule */
	int64_t	 scheduled_for;		/* the fire time it was made for (Unix ms), 0 when none */
};

/* What a new run needs (api.md §1.6.1); strings are borrowed. */
struct run_new {
	int64_t		 team_id;
	int64_t		 app_id;
	int64_t		 version_id;
	const char	*input_json;	/* final input (defaults applied); NULL → NULL */
	int64_t		 priority;
	int64_t		 max_retries;
	const char	*idem_key;	/* trimmed Idempotency-Key, NULL when none */
	const char	*fingerprint;	/* request SHA-256 hex when idem_key is set */
	int64_t		 schedule_id;	/* 0: none (store_schedule.c sets it) */
	int64_t		 scheduled_for;	/* Unix ms, 0: none */
};

struct run_filter {
	int64_t		 team_id;
	int64_t		 app_id;	/* > 0: one app, ordered by run_no DESC */
	const char	*app_slug;	/* team-wide list: NULL = every app */
	const char	*status;	/* NULL = every status */
	bool		 recent;	/* team-wide list: newest queued_at first */
	int64_t		 schedule_id;	/* > 0: only the runs of this schedule */
	int64_t		 limit;
	int64_t		 offset;
};

struct run_summary {
	int64_t	 total, active, queued, terminal;
};

/* One AttemptRecord (attempt list). */
struct attempt_rec {
	int64_t	 attempt_no;
	char	 status[STORE_STATUS_MAX];
	char	*runner_name;
	bool	 has_exit_code;
	int64_t	 exit_code;
	char	*error_message;		/* NULL when NULL */
	int64_t	 started_at;
	int64_t	 finished_at;
	char	*reason;		/* why it ended; NULL when NULL */
	int64_t	 peak_memory_bytes;	/* -1 when NULL */
	int64_t	 cpu_user_ms;		/* -1 when NULL */
	int64_t	 cpu_system_ms;		/* -1 when NULL */
};

struct log_entry {
	int64_t	 id;			/* run_logs.id (commit order) */
	int64_t	 seq;
	char	 stream[8];
	char	*line;
	size_t	 line_len;
	int64_t	 logged_at;
};

struct runner_row {
	int64_t	 id;
	char	*name;
	char	*environment;
	char	 status[STORE_STATUS_MAX];
	int64_t	 last_seen_at;
	char	*sandbox;	/* what it said it runs jobs in; NULL when unknown */
	char	*limits;	/* how it enforces resources; NULL when unknown */
	int64_t	 slots;		/* jobs it runs at once (1 unless it said) */
	int64_t	 slots_used;	/* its active attempts */
};

/* The state of an attempt and its run after a runner call (AttemptObject,
 * lease response, logs and metrics). */
struct attempt {
	int64_t	 id;
	int64_t	 run_id;
	int64_t	 attempt_no;
	char	 status[STORE_STATUS_MAX];	/* attempt status */
	int64_t	 lease_expires_at;
	int64_t	 started_at;			/* the attempt's; 0 when NULL */
	int64_t	 finished_at;
	bool	 cancel_requested;
	char	 run_status[STORE_STATUS_MAX];
	int64_t	 run_queued_at;
	char	 team_slug[STORE_SLUG_MAX];
	char	 app_slug[STORE_SLUG_MAX];
	char	 environment[STORE_ENV_MAX];	/* the run's environment name */
};

/* A granted or re-issued lease (api.md §1.8.2). */
struct lease {
	struct attempt	 a;
	int64_t		 run_no;
	int64_t		 app_id;
	int64_t		 version_no;
	char		*entrypoint;
	int64_t		 timeout_seconds;	/* 0 when NULL */
	char		*input_json;		/* NULL when NULL */
	bool		 reissued;
	char		*sandbox_json;		/* the version's; NULL when NULL */
	char		*resources_json;	/* the version's; NULL when NULL */
	char		*artifact_sha256;	/* the version's artifact, 64 hex */
};

/* A result report (api.md §1.8.7); strings borrowed. */
struct result_in {
	const char	*status;
	bool		 has_exit_code;
	int64_t		 exit_code;
	const char	*error_message;	/* NULL when absent */
	size_t		 error_message_len;
	const char	*reason;	/* a valid reason, NULL when absent (derived) */
	int64_t		 peak_memory_bytes;	/* -1 when absent */
	int64_t		 cpu_user_ms;		/* -1 when absent */
	int64_t		 cpu_system_ms;		/* -1 when absent */
};

enum reap_kind { REAP_NONE, REAP_CANCELLED, REAP_RETRIED, REAP_DEAD };

void store_run_clear(struct run *r);
void store_runs_free(struct run *runs, size_t n);
/* Creates a run in one transaction (environment, run_no, idempotency key).
 * *replayed is set when the key was known with the same fingerprint (out is
 * then that run). ERR_IDEMPOTENCY on a fingerprint mismatch. */
int store_run_create(const struct run_new *in, struct run *out, bool *replayed, struct err *err);
/* Looks up an unexpired idempotency key: 1 found (*run_id, sha), 0 not. */
int store_idem_lookup(int64_t team_id, int64_t app_id, const char *key, int64_t *run_id,
    char sha[65], struct err *err);
/* A run of the team (team_id 0: any team); ERR_NOT_FOUND "run not found". */
int store_run_get(int64_t team_id, int64_t run_id, struct run *out, struct err *err);
/* Lists runs (api.md §1.6.3 / §1.6.4 ordering); *out freed by store_runs_free. */
int store_run_list(const struct run_filter *f, struct run **out, size_t *n, struct err *err);
/* One row of the hourly run roll-ups (docs/api-endpoints.md "Run
 * statistics"): a count of runs that ended in key (a final status), or, when
 * hist, of runs whose key ("duration" or "wait") rounded to value_ms. */
struct stats_row {
	int64_t	 hour;		/* start of the UTC hour, ms */
	char	 key[16];
	int64_t	 value_ms;
	int64_t	 runs;
	bool	 hist;
};

/* Reads the roll-ups of team_id (app_id 0: every app) with since_ms <= hour
 * < until_ms, summed over apps, ordered by hour. *rows freed by
 * store_stats_free. */
int store_run_stats(int64_t team_id, int64_t app_id, int64_t since_ms, int64_t until_ms,
    struct stats_row **rows, size_t *n, struct err *err);
void store_stats_free(struct stats_row *rows, size_t n);

/* Counts the runs f matches, ignoring its limit and offset (the
 * X-Total-Count of a list; one index range scan). */
int store_run_count(const struct run_filter *f, int64_t *total, struct err *err);
int store_run_summary(int64_t team_id, struct run_summary *out, struct err *err);
/* Cancels (api.md §1.6.7) and returns the run afterwards; old_status is
 * the status before, *attempt_no the run's latest attempt: the active one
 * when there is one (at most one, and always the latest), 0 when the run was
 * never leased. */
int store_run_cancel(int64_t team_id, int64_t run_id, struct run *out,
    char old_status[STORE_STATUS_MAX], int64_t *attempt_no, struct err *err);

/* Attempt list of a run (free with store_attempt_recs_free). */
int store_attempt_list(int64_t run_id, struct attempt_rec **out, size_t *n, struct err *err);
void store_attempt_recs_free(struct attempt_rec *a, size_t n);
/* Finds attempt attempt_no of a run (0: the latest; *attempt_id 0 when the
 * run has none). ERR_NOT_FOUND "attempt not found" for a missing number. */
int store_attempt_find(int64_t run_id, int64_t attempt_no, int64_t *attempt_id,
    int64_t *found_no, struct err *err);
/* Latest attempt of a run: id and number, 0 when none. */
int store_attempt_latest(int64_t run_id, int64_t *attempt_id, int64_t *attempt_no,
    struct err *err);
/* Up to limit lines of an attempt with seq > after_seq (and id <= max_id
 * when max_id > 0), by seq. */
int store_log_page(int64_t attempt_id, int64_t after_seq, int64_t max_id, size_t limit,
    struct log_entry **out, size_t *n, struct err *err);
/* Up to limit lines with id > after_id and seq > min_seq, by id. */
int store_log_follow(int64_t attempt_id, int64_t after_id, int64_t min_seq, size_t limit,
    struct log_entry **out, size_t *n, struct err *err);
/* Highest run_logs.id of an attempt (0 when none). */
int store_log_max_id(int64_t attempt_id, int64_t *max_id, struct err *err);
void store_logs_free(struct log_entry *e, size_t n);

/* Every runner by name (free with store_runners_free). */
int store_runner_list(struct runner_row **out, size_t *n, struct err *err);
void store_runners_free(struct runner_row *r, size_t n);
/* Registers or re-registers a runner (token rotated); *created for 201.
 * sandbox and limits (NULL: unknown) and slots (1..STORE_SLOTS_MAX) replace
 * what was known of it. */
int store_runner_register(const char *name, size_t name_len, const char *env,
    size_t env_len, const char *token_hash, const char *sandbox, const char *limits,
    int64_t slots, int64_t *runner_id, bool *created, struct err *err);
/* True when the team token hash is still valid (not revoked). */
bool store_team_token_valid(const char *token_hash);

/* Lease (api.md §1.8.2) in one transaction: runner seen, re-issue of a
 * never-started attempt, or the next queued run of env. recheck_hash (may
 * be NULL) re-validates the runner token (ERR_UNAUTHORIZED). sandbox and
 * limits, when not NULL, and slots, when > 0, are recorded on the runner
 * with last_seen_at. A new attempt is granted only while the runner's active
 * attempts are fewer than its slots (counted in the transaction); at its
 * slots, its oldest never-started attempt is re-issued, else ERR_CONFLICT.
 * Returns 1 granted/re-issued (out filled), 0 nothing queued, -1 error
 * (ERR_CONFLICT). */
int store_lease(int64_t runner_id, const char *env, const char *recheck_hash,
    const char *sandbox, const char *limits, int64_t slots, const char *lease_hash, int64_t ttl_ms,
    struct lease *out, struct err *err);
void store_lease_clear(struct lease *l);
/* Read-only: true when a leasable run of env exists (waiting lease). */
bool store_queued_exists(const char *env);
/* Sets last_seen_at of a runner. */
int store_runner_seen(int64_t runner_id, struct err *err);

/* Lease-bound calls: each checks (run, runner, lease hash, active) first,
 * ERR_GONE "invalid or expired lease" otherwise. */
/* leased → running; *started tells a real transition. */
int store_attempt_start(int64_t run_id, int64_t runner_id, const char *lease_hash,
    struct attempt *out, bool *started, struct err *err);
/* Extends the lease to now + ttl and marks the runner seen. */
int store_heartbeat(int64_t run_id, int64_t runner_id, const char *lease_hash, int64_t ttl_ms,
    struct attempt *out, struct err *err);
/* Read-only check of an attempt (waiting heartbeat). */
int store_attempt_peek(int64_t run_id, int64_t runner_id, const char *lease_hash,
    struct attempt *out, struct err *err);
/* Inserts a validated batch (insert or ignore, seq order). When deferred
 * is set (a body error), it is reported after the lease check instead. */
int store_logs_add(int64_t run_id, int64_t runner_id, const char *lease_hash,
    struct log_entry *e, size_t n, const struct err *deferred, struct err *err);
/* Records a result; *changed tells a real transition (out then holds the
 * attempt and run after it). Repeats: 0 when identical, ERR_CONFLICT. The
 * attempt's reason is in->reason, else derived from status, exit_code and
 * error_message; the usage figures are stored as given. */
int store_result(int64_t run_id, int64_t runner_id, const char *lease_hash,
    const struct result_in *in, const struct err *deferred, struct attempt *out,
    bool *changed, struct err *err);
/* Release (api.md §1.8.9); out->run_status is the run's new status. */
int store_release(int64_t run_id, int64_t runner_id, const char *lease_hash,
    struct attempt *out, struct err *err);
/* Artifact of the attempt's version (read-only lease check). */
int store_artifact(int64_t run_id, int64_t runner_id, const char *lease_hash,
    struct version *out, struct err *err);

/* Reaper steps (api.md §2.6). lease_expires_at and last_seen_at are on the
 * steady clock (steady_ms(), docs/clocks.md): now and cutoff are too. */
/* Up to max active attempts with lease_expires_at <= now, soonest first. */
int store_expired_attempts(int64_t now, int64_t *ids, size_t max, size_t *n, struct err *err);
/* Applies the expiry rules to one attempt if still expired (on the steady
 * clock) and active; *kind says what happened (REAP_NONE: nothing). */
int store_reap_attempt(int64_t attempt_id, enum reap_kind *kind, struct attempt *out,
    struct err *err);
/* At start, in one transaction: active leases that expire after now + ttl_ms
 * are cut back to it, last_seen_at values after now to now (a clock step
 * under an earlier process shifted them). Reports how many of each. */
int store_clamp_steady_times(int64_t now, int64_t ttl_ms, int64_t *leases, int64_t *runners,
    struct err *err);
/* Marks runners offline that were last seen before cutoff, skipping those
 * waiting(id) says are parked; *count of them. */
int store_mark_stale_runners(int64_t cutoff, bool (*waiting)(int64_t), int64_t *count,
    struct err *err);
int store_prune_runners(int64_t cutoff, int64_t *count, struct err *err);
int store_idem_cleanup(int64_t now, struct err *err);
/* ==== end of the runs section ==== */

#endif
