/*
 * api: the handlers, one per endpoint, grouped by resource in api_*.c. Each
 * decodes the request, calls the store, encodes the answer. Authentication
 * has already run (routes.c) and filled rq->team or rq->runner.
 */
#ifndef MT_API_H
#define MT_API_H

#include <stdint.h>

#include "http.h"

struct config;

/* Shared configuration for handlers (set once at start-up). */
extern const struct config *api_cfg;
void api_init(const struct config *cfg);

typedef void api_handler(struct req *rq, struct resp *rs);

/* api_misc.c */
api_handler api_health, api_ready, api_metrics, api_ui;
#ifdef MT_FAULTS
/* POST /__faults (test builds only): arms the store's fault seam. */
api_handler api_faults;
#endif
/* api_stats.c */
api_handler api_run_stats, api_app_stats;
/* api_auth.c */
api_handler api_auth_options, api_signup, api_login, api_bootstrap, api_me,
    api_token_create, api_token_list, api_token_revoke, api_logout;
/* Counts a bootstrap call with a wrong operator token against the client's
 * address, in the same window as failed logins (api.md §0.8). */
void api_bootstrap_refused(const struct req *rq);
/* api_apps.c */
api_handler api_app_create, api_app_list, api_app_get, api_version_upload,
    api_version_list;
/* Pre-check of an upload before its body is read (auth done): the app. */
int api_version_precheck(struct req *rq, struct resp *rs);
/* api_runs.c (team side) */
api_handler api_run_create, api_app_runs, api_run_list, api_run_summary, api_run_get,
    api_run_cancel, api_run_logs, api_run_stream, api_run_attempts, api_admin_runners;
/* api_schedules.c */
api_handler api_schedule_create, api_schedule_list, api_schedule_get, api_schedule_update,
    api_schedule_delete, api_schedule_pause, api_schedule_resume, api_schedule_trigger,
    api_schedule_fires, api_schedule_preview;
/* After a version upload: creates, updates or removes the app's schedule
 * named "towerfile" to match the Towerfile's app.schedule (cron, NULL when
 * absent) and app.schedule_timezone (tz, NULL: UTC). A schedule of that
 * name made through the API is left alone; failures are logged. */
void api_schedule_towerfile_sync(int64_t team_id, int64_t app_id, const char *cron,
    const char *tz);
/* api_runner.c (runner protocol) */
api_handler api_runner_register, api_lease, api_start, api_heartbeat, api_logs_post,
    api_result, api_artifact, api_release;

/* api_secrets.c (secrets; the fenced delivery to runners) */
api_handler api_secret_put, api_secret_list, api_secret_delete, api_run_secrets;
struct run;
/* Adds "waiting_reason" to the RunObject o of a queued run r that waits for
 * the secrets key (additive field; nothing otherwise). */
void api_secrets_run_note(const struct run *r, json_t *o);
/* 0 when no secret an app's runs can get is named like a parameter of
 * schema (params_schema JSON), else -1 with ERR_CONFLICT naming both. */
int api_secrets_upload_clash(int64_t team_id, int64_t app_id, const json_t *schema,
    struct err *err);

/* Decoding helper: the request body as JSON ({} for an empty body when
 * empty_ok). Returns NULL (and answers 400 msg) when it does not decode. */
json_t *api_body(struct req *rq, struct resp *rs, bool empty_ok, const char *msg);
/* Parses the {run} path segment; answers 400 "invalid run ID" on failure. */
int api_run_id(struct req *rq, struct resp *rs, int64_t *id);

#endif
