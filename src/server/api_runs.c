/*
 * api_runs: team-side run endpoints. PLACEHOLDER until the runs work lands:
 * every handler answers 404 route not found.
 */
#include "api.h"

#define NOT_YET(fn) void fn(struct req *rq, struct resp *rs) { (void)rq; resp_error(rs, ERR_NOT_FOUND, "route not found"); }
NOT_YET(api_run_create)
NOT_YET(api_app_runs)
NOT_YET(api_run_list)
NOT_YET(api_run_summary)
NOT_YET(api_run_get)
NOT_YET(api_run_cancel)
NOT_YET(api_run_logs)
NOT_YET(api_run_stream)
NOT_YET(api_run_attempts)
NOT_YET(api_admin_runners)
NOT_YET(api_runner_register)
NOT_YET(api_lease)
NOT_YET(api_start)
NOT_YET(api_heartbeat)
NOT_YET(api_logs_post)
NOT_YET(api_result)
NOT_YET(api_artifact)
NOT_YET(api_release)
