/*
 * encode_schedule: ScheduleObject and FireObject (docs/api-endpoints.md),
 * fields in the documented order, optional ones left out when absent.
 * `input` is a free-form map: resp_jsonv writes it with sorted keys.
 */
#include <string.h>

#include "encode.h"
#include "json.h"
#include "store_schedule.h"

static void
set_ts_opt(json_t *o, const char *key, int64_t ms)
{
	if (ms != 0)
		json_object_set_new(o, key, encode_ts(ms));
}

json_t *
encode_schedule(const struct schedule *s)
{
	json_t *o = json_object(), *input = encode_input(s->input_json);

	json_object_set_new(o, "schedule_id", json_integer(s->id));
	json_object_set_new(o, "app_slug", json_string(s->app_slug));
	json_object_set_new(o, "name", json_string(s->name));
	json_object_set_new(o, "cron", json_string(s->cron));
	json_object_set_new(o, "timezone", json_string(s->timezone));
	if (input != NULL)
		json_object_set_new(o, "input", input);
	if (s->version_no > 0)
		json_object_set_new(o, "version_no", json_integer(s->version_no));
	json_object_set_new(o, "priority", json_integer(s->priority));
	json_object_set_new(o, "max_retries", json_integer(s->max_retries));
	json_object_set_new(o, "overlap_policy", json_string(s->overlap_policy));
	json_object_set_new(o, "catchup_window_s", json_integer(s->catchup_window_s));
	json_object_set_new(o, "enabled", json_boolean(s->enabled));
	if (s->paused_reason != NULL)
		json_object_set_new(o, "paused_reason", json_string(s->paused_reason));
	json_object_set_new(o, "pause_after_failures", json_integer(s->pause_after_failures));
	json_object_set_new(o, "next_fire_at", encode_ts(s->next_fire_at));
	set_ts_opt(o, "last_fire_at", s->last_fire_at);
	json_object_set_new(o, "consecutive_failures", json_integer(s->consecutive_failures));
	if (s->towerfile)
		json_object_set_new(o, "managed_by", json_string("towerfile"));
	json_object_set_new(o, "created_at", encode_ts(s->created_at));
	json_object_set_new(o, "updated_at", encode_ts(s->updated_at));
	return o;
}

json_t *
encode_fire(const struct fire *f)
{
	json_t *o = json_object();

	json_object_set_new(o, "fire_id", json_integer(f->id));
	json_object_set_new(o, "schedule_id", json_integer(f->schedule_id));
	json_object_set_new(o, "fire_time", encode_ts(f->fire_time));
	json_object_set_new(o, "outcome", json_string(f->outcome));
	if (f->run_id != 0)
		json_object_set_new(o, "run_id", json_integer(f->run_id));
	if (f->reason != NULL)
		json_object_set_new(o, "reason", json_string(f->reason));
	if (f->manual)
		json_object_set_new(o, "manual", json_true());
	json_object_set_new(o, "created_at", encode_ts(f->created_at));
	return o;
}
