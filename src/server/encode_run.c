/*
 * encode_run: RunObject, AttemptObject, AttemptRecord, LogEntry,
 * RunnerObject and the lease response, each with its fields in the order of
 * api.md §1.0 / §1.8.2 and its optional fields left out by the rules there.
 * `input` is a free-form map: resp_jsonv writes it with sorted keys.
 */
#include <string.h>

#include "encode.h"
#include "json.h"

json_t *
encode_input(const char *text)
{
	json_t *v = NULL;

	if (text == NULL || json_decode(text, strlen(text), false, &v) == -1)
		return NULL;
	if (!json_is_object(v) || json_object_size(v) == 0) {
		json_decref(v);
		return NULL;
	}
	return v;
}

static void
set_ts_opt(json_t *o, const char *key, int64_t ms)
{
	if (ms != 0)
		json_object_set_new(o, key, encode_ts(ms));
}

json_t *
encode_run(const struct run *r)
{
	json_t *o = json_object(), *input = encode_input(r->input_json);

	json_object_set_new(o, "run_id", json_integer(r->id));
	json_object_set_new(o, "app_id", json_integer(r->app_id));
	json_object_set_new(o, "app_slug", json_string(r->app_slug));
	json_object_set_new(o, "run_no", json_integer(r->run_no));
	json_object_set_new(o, "version_no", json_integer(r->version_no));
	json_object_set_new(o, "status", json_string(r->status));
	if (input != NULL)
		json_object_set_new(o, "input", input);
	json_object_set_new(o, "priority", json_integer(r->priority));
	json_object_set_new(o, "max_retries", json_integer(r->max_retries));
	json_object_set_new(o, "retry_count", json_integer(r->retry_count));
	json_object_set_new(o, "cancel_requested", json_boolean(r->cancel_requested));
	json_object_set_new(o, "queued_at", encode_ts(r->queued_at));
	set_ts_opt(o, "started_at", r->started_at);
	set_ts_opt(o, "finished_at", r->finished_at);
	if (r->schedule_id != 0)
		json_object_set_new(o, "schedule_id", json_integer(r->schedule_id));
	set_ts_opt(o, "scheduled_for", r->scheduled_for);
	return o;
}

json_t *
encode_attempt(const struct attempt *a)
{
	json_t *o = json_object();

	json_object_set_new(o, "attempt_id", json_integer(a->id));
	json_object_set_new(o, "attempt_no", json_integer(a->attempt_no));
	json_object_set_new(o, "status", json_string(a->status));
	json_object_set_new(o, "lease_expires_at", encode_ts(a->lease_expires_at));
	json_object_set_new(o, "cancel_requested", json_boolean(a->cancel_requested));
	json_object_set_new(o, "run_status", json_string(a->run_status));
	return o;
}

json_t *
encode_attempt_rec(const struct attempt_rec *a)
{
	json_t *o = json_object();

	json_object_set_new(o, "attempt_no", json_integer(a->attempt_no));
	json_object_set_new(o, "status", json_string(a->status));
	json_object_set_new(o, "runner_name", json_string(a->runner_name));
	if (a->has_exit_code)
		json_object_set_new(o, "exit_code", json_integer(a->exit_code));
	if (a->error_message != NULL)
		json_object_set_new(o, "error_message", json_string(a->error_message));
	set_ts_opt(o, "started_at", a->started_at);
	set_ts_opt(o, "finished_at", a->finished_at);
	if (a->reason != NULL)
		json_object_set_new(o, "reason", json_string(a->reason));
	if (a->peak_memory_bytes >= 0)
		json_object_set_new(o, "peak_memory_bytes", json_integer(a->peak_memory_bytes));
	if (a->cpu_user_ms >= 0)
		json_object_set_new(o, "cpu_user_ms", json_integer(a->cpu_user_ms));
	if (a->cpu_system_ms >= 0)
		json_object_set_new(o, "cpu_system_ms", json_integer(a->cpu_system_ms));
	return o;
}

json_t *
encode_log(const struct log_entry *e)
{
	json_t *o = json_object();

	json_object_set_new(o, "seq", json_integer(e->seq));
	json_object_set_new(o, "stream", json_string(e->stream));
	json_object_set_new(o, "line", json_stringn(e->line, e->line_len));
	json_object_set_new(o, "logged_at", encode_ts(e->logged_at));
	return o;
}

json_t *
encode_runner(const struct runner_row *r)
{
	json_t *o = json_object();

	json_object_set_new(o, "runner_id", json_integer(r->id));
	json_object_set_new(o, "name", json_string(r->name != NULL ? r->name : ""));
	json_object_set_new(o, "environment", json_string(r->environment != NULL ?
	    r->environment : ""));
	json_object_set_new(o, "status", json_string(r->status));
	set_ts_opt(o, "last_seen_at", r->last_seen_at);
	if (r->sandbox != NULL)
		json_object_set_new(o, "sandbox", json_string(r->sandbox));
	if (r->limits != NULL)
		json_object_set_new(o, "limits", json_string(r->limits));
	json_object_set_new(o, "slots", json_integer(r->slots));
	json_object_set_new(o, "slots_used", json_integer(r->slots_used));
	return o;
}

json_t *
encode_lease(const struct lease *l, const char *lease_token)
{
	json_t *o = json_object(), *input = encode_input(l->input_json);

	json_object_set_new(o, "run_id", json_integer(l->a.run_id));
	json_object_set_new(o, "run_no", json_integer(l->run_no));
	json_object_set_new(o, "app_id", json_integer(l->app_id));
	json_object_set_new(o, "app_slug", json_string(l->a.app_slug));
	json_object_set_new(o, "version_no", json_integer(l->version_no));
	json_object_set_new(o, "entrypoint", json_string(l->entrypoint != NULL ? l->entrypoint : ""));
	if (l->timeout_seconds != 0)
		json_object_set_new(o, "timeout_seconds", json_integer(l->timeout_seconds));
	if (input != NULL)
		json_object_set_new(o, "input", input);
	json_object_set_new(o, "attempt_id", json_integer(l->a.id));
	json_object_set_new(o, "attempt_no", json_integer(l->a.attempt_no));
	json_object_set_new(o, "lease_token", json_string(lease_token));
	json_object_set_new(o, "lease_expires_at", encode_ts(l->a.lease_expires_at));
	encode_limits(o, l->sandbox_json, l->resources_json);
	return o;
}
