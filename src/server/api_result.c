/*
 * api_result: the result report of a runner (api.md §1.8.7): decoding the
 * body (status, exit_code, error_message and the optional reason and usage
 * figures), recording it after the lease check, and the metrics and wake-ups
 * of a real transition.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "api_runs.h"
#include "json.h"
#include "metrics.h"
#include "notify.h"
#include "scheduler.h"
#include "store.h"
#include "util.h"

/* The values a runner may give as `reason` (api.md §1.8.7). */
static const char *const reasons[] = {
	"completed", "exit_code", "signal", "timeout", "lease_expired", "released",
	"cancelled", "oom_killed", "setup_failed", "disk_limit",
};

/* The optional reason: 0 ok (in->reason stays NULL when absent), -1 bad. */
static int
decode_reason(const json_t *body, struct result_in *in, struct err *bad)
{
	const char *r;
	size_t len, i;
	int h = json_get_str(body, "reason", &r, &len);

	if (h == 0)
		return 0;
	for (i = 0; h == 1 && i < sizeof(reasons) / sizeof(reasons[0]); i++) {
		if (strlen(reasons[i]) == len && memcmp(reasons[i], r, len) == 0) {
			in->reason = reasons[i];
			return 0;
		}
	}
	return err_set(bad, ERR_INVALID, "reason must be one of completed, exit_code, signal, "
	    "timeout, lease_expired, released, cancelled, oom_killed, setup_failed, disk_limit");
}

/* The optional non-negative integer name into *v (-1 when absent). */
static int
decode_usage(const json_t *body, const char *name, int64_t *v, struct err *bad)
{
	int h = json_get_int(body, name, v);

	if (h == 0)
		*v = -1;
	if (h == -1 || (h == 1 && *v < 0))
		return err_set(bad, ERR_INVALID, "%s must be a non-negative integer", name);
	return 0;
}

static void
decode_result(const struct req *rq, struct result_in *in, json_t **body, struct err *bad,
    bool *is_bad)
{
	size_t sl = 0;
	int hs, he, hm;

	memset(in, 0, sizeof(*in));
	*is_bad = true;
	if (json_decode(buf_str(&rq->body), rq->body.len, false, body) == -1 ||
	    !json_is_object(*body)) {
		err_set(bad, ERR_INVALID, "invalid JSON body");
		return;
	}
	hs = json_get_str(*body, "status", &in->status, &sl);
	he = json_get_int(*body, "exit_code", &in->exit_code);
	hm = json_get_str(*body, "error_message", &in->error_message, &in->error_message_len);
	if (hs == -1 || he == -1 || hm == -1) {
		err_set(bad, ERR_INVALID, "invalid JSON body");
		return;
	}
	in->has_exit_code = he == 1;
	if (hs == 0 || (strcmp(in->status, "completed") != 0 && strcmp(in->status, "failed") != 0 &&
	    strcmp(in->status, "cancelled") != 0) || strlen(in->status) != sl) {
		err_set(bad, ERR_INVALID, "status must be completed, failed, or cancelled");
		return;
	}
	if (hm == 1 && memchr(in->error_message, '\0', in->error_message_len) != NULL) {
		err_set(bad, ERR_INVALID, "error_message must not contain NUL characters");
		return;
	}
	if (decode_reason(*body, in, bad) == -1 ||
	    decode_usage(*body, "peak_memory_bytes", &in->peak_memory_bytes, bad) == -1 ||
	    decode_usage(*body, "cpu_user_ms", &in->cpu_user_ms, bad) == -1 ||
	    decode_usage(*body, "cpu_system_ms", &in->cpu_system_ms, bad) == -1)
		return;
	*is_bad = false;
}

void
api_result(struct req *rq, struct resp *rs)
{
	struct result_in in;
	struct attempt a;
	struct err bad, err;
	json_t *body = NULL;
	char hash[65];
	int64_t run_id;
	bool is_bad, changed;

	if (runner_prelude(rq, rs, &run_id, hash) == -1)
		return;
	decode_result(rq, &in, &body, &bad, &is_bad);
	if (store_result(run_id, rq->runner.runner_id, hash, &in, is_bad ? &bad : NULL, &a,
	    &changed, &err) == -1) {
		runs_fail(rs, &err, "record result");
		goto out;
	}
	if (changed) {
		if (a.started_at != 0)
			metrics_run_completed(a.team_slug, a.app_slug, in.status,
			    metrics_span_s(a.run_queued_at, a.started_at),
			    metrics_span_s(a.started_at, a.finished_at),
			    metrics_span_s(a.run_queued_at, a.finished_at));
		else
			metrics_run_completed(a.team_slug, a.app_slug, in.status, -1, -1, -1);
		metrics_run_usage(a.team_slug, a.app_slug, in.peak_memory_bytes, in.cpu_user_ms,
		    in.cpu_system_ms);
		runs_log_finished(run_id, a.attempt_no, a.team_slug, a.app_slug, in.status, "result");
		notify_run(run_id);
		if (strcmp(a.run_status, "completed") == 0 || strcmp(a.run_status, "failed") == 0)
			scheduler_run_finished(run_id);
	}
	runner_answer_ok(rs);
out:
	json_decref(body);
}
