/*
 * api_schedules: the schedule endpoints of issue 14 (docs/api-endpoints.md
 * "Schedules"): create and list under an app, get, change, delete, pause,
 * resume, trigger, the fire history and the preview of the next fire times.
 * Handlers decode and check, call the store (or the scheduler for a
 * trigger), wake the scheduler after a change, and encode.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "api_runs.h"
#include "crypto.h"
#include "cron.h"
#include "encode.h"
#include "json.h"
#include "log.h"
#include "scheduler.h"
#include "slug.h"
#include "store.h"
#include "store_schedule.h"
#include "util.h"

#define MAX_INPUT_BYTES 1048576
#define PREVIEW_MAX 100

static int
sched_id(struct req *rq, struct resp *rs, int64_t *id)
{
	if (parse_i64(rq->param, id) != 0 || *id <= 0) {
		resp_error(rs, ERR_INVALID, "invalid schedule ID");
		return -1;
	}
	return 0;
}

/* ---- decoding ---- */

/* An optional integer field within [lo, hi]; 1 set, 0 absent, -1 answered. */
static int
int_field(json_t *body, const char *name, int64_t lo, int64_t hi, int64_t *v, struct resp *rs)
{
	char msg[128];
	int64_t x;
	int rc = json_get_int(body, name, &x);

	if (rc == 0)
		return 0;
	if (rc == -1 || x < lo || x > hi) {
		snprintf(msg, sizeof(msg), "%s must be an integer between %lld and %lld", name,
		    (long long)lo, (long long)hi);
		resp_error(rs, ERR_INVALID, msg);
		return -1;
	}
	*v = x;
	return 1;
}

/* An optional string field without NUL: 1 set (*out borrowed), 0, -1. */
static int
str_field(json_t *body, const char *name, const char **out, struct resp *rs)
{
	char msg[128];
	size_t len;
	int rc = json_get_str(body, name, out, &len);

	if (rc == -1 || (rc == 1 && strlen(*out) != len)) {
		snprintf(msg, sizeof(msg), "%s must be a string", name);
		resp_error(rs, ERR_INVALID, msg);
		return -1;
	}
	return rc;
}

static int
name_field(json_t *body, struct schedule *s, bool create, struct resp *rs)
{
	const char *v;
	struct err err;
	int rc = str_field(body, "name", &v, rs);

	if (rc == -1)
		return -1;
	if (rc == 0) {
		if (create)
			resp_error(rs, ERR_INVALID, "name is required");
		return create ? -1 : 0;
	}
	if (slug_check(v, strlen(v), &err) == -1) {
		resp_err(rs, &err);
		return -1;
	}
	snprintf(s->name, sizeof(s->name), "%s", v);
	return 0;
}

/* cron and timezone; *timing is set when either changed. */
static int
timing_fields(json_t *body, struct schedule *s, bool create, bool *timing, struct resp *rs)
{
	const char *cron = NULL, *tz = NULL;
	struct cron c;
	struct err err;
	int rc;

	if ((rc = str_field(body, "cron", &cron, rs)) == -1 ||
	    str_field(body, "timezone", &tz, rs) == -1)
		return -1;
	if (rc == 0 && create) {
		resp_error(rs, ERR_INVALID, "cron is required");
		return -1;
	}
	if (cron != NULL) {
		if (cron_parse(cron, &c, &err) == -1) {
			resp_err(rs, &err);
			return -1;
		}
		free(s->cron);
		s->cron = xstrdup(cron);
		*timing = true;
	}
	if (tz != NULL) {
		if (strlen(tz) >= sizeof(s->timezone) || !cron_tz_valid(tz)) {
			resp_error(rs, ERR_INVALID, "timezone: unknown time zone");
			return -1;
		}
		snprintf(s->timezone, sizeof(s->timezone), "%s", tz);
		*timing = true;
	}
	return 0;
}

static int
policy_field(json_t *body, struct schedule *s, struct resp *rs)
{
	static const char *const all[] = { "skip", "allow", "queue_one", "cancel_previous" };
	const char *v;
	size_t i;
	int rc = str_field(body, "overlap_policy", &v, rs);

	if (rc <= 0)
		return rc;
	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (strcmp(v, all[i]) == 0) {
			snprintf(s->overlap_policy, sizeof(s->overlap_policy), "%s", v);
			return 0;
		}
	resp_error(rs, ERR_INVALID,
	    "overlap_policy must be one of skip, allow, queue_one, cancel_previous");
	return -1;
}

static int
input_field(json_t *body, struct schedule *s, struct resp *rs)
{
	json_t *in = json_field(body, "input");
	char *text;

	if (in == NULL)
		return 0;
	if (!json_is_object(in)) {
		resp_error(rs, ERR_INVALID, "input must be an object");
		return -1;
	}
	text = json_dumps_sorted(in);
	if (strlen(text) > MAX_INPUT_BYTES) {
		free(text);
		resp_error(rs, ERR_INVALID, "input exceeds 1 MiB");
		return -1;
	}
	free(s->input_json);
	s->input_json = text;
	return 0;
}

/* version_no: an integer >= 1 pins it; null (on PATCH) or 0 means latest. */
static int
version_field(json_t *body, struct schedule *s, struct resp *rs)
{
	json_t *raw = json_object_get(body, "version_no");

	if (raw != NULL && json_is_null(raw)) {
		s->version_no = 0;
		return 0;
	}
	return int_field(body, "version_no", 0, INT32_MAX, &s->version_no, rs) == -1 ? -1 : 0;
}

static int
enabled_field(json_t *body, struct schedule *s, struct resp *rs)
{
	json_t *v = json_field(body, "enabled");

	if (v == NULL)
		return 0;
	if (!json_is_boolean(v)) {
		resp_error(rs, ERR_INVALID, "enabled must be a boolean");
		return -1;
	}
	s->enabled = json_is_true(v);
	return 0;
}

/* Applies the body's fields to s (create: the required ones too). */
static int
decode_fields(json_t *body, struct schedule *s, bool create, bool *timing, struct resp *rs)
{
	if (name_field(body, s, create, rs) == -1 ||
	    timing_fields(body, s, create, timing, rs) == -1 ||
	    input_field(body, s, rs) == -1 || version_field(body, s, rs) == -1 ||
	    int_field(body, "priority", INT32_MIN, INT32_MAX, &s->priority, rs) == -1 ||
	    int_field(body, "max_retries", 0, 1000, &s->max_retries, rs) == -1 ||
	    policy_field(body, s, rs) == -1 ||
	    int_field(body, "catchup_window_s", 0, 86400, &s->catchup_window_s, rs) == -1 ||
	    int_field(body, "pause_after_failures", 0, 1000, &s->pause_after_failures, rs) == -1)
		return -1;
	return create ? enabled_field(body, s, rs) : 0;
}

/* The input against the version it would run now (none yet: checked at
 * fire time); a pinned version must exist. */
static int
check_input(const struct schedule *s, struct resp *rs)
{
	struct version v;
	struct err err;
	json_t *in = NULL, *out = NULL;
	int rc = 0;

	if (store_version_get(s->app_id, s->version_no, &v, &err) == -1) {
		if (err.code == ERR_NO_VERSION)
			return 0;
		runs_fail(rs, &err, "get version");
		return -1;
	}
	if (s->input_json != NULL)
		json_decode(s->input_json, strlen(s->input_json), false, &in);
	if (runs_input_check(in, v.params_schema_json, &out, &err) == -1) {
		resp_err(rs, &err);
		rc = -1;
	}
	json_decref(in);
	json_decref(out);
	store_version_clear(&v);
	return rc;
}

static int
compute_next(struct schedule *s, struct resp *rs)
{
	struct err err;

	if (scheduler_next(s->cron, s->timezone, now_ms(), &s->next_fire_at, &err) == -1) {
		resp_err(rs, &err);
		return -1;
	}
	return 0;
}

static void
answer_schedule(struct resp *rs, int status, const struct schedule *s)
{
	runs_answer(rs, status, encode_schedule(s));
}

/* ---- handlers ---- */

void
api_schedule_create(struct req *rq, struct resp *rs)
{
	struct schedule s, out;
	struct app a;
	struct err err;
	json_t *body = NULL;
	bool timing = false;

	memset(&s, 0, sizeof(s));
	if (store_app_get(rq->team.team_id, rq->param, &a, &err) == -1) {
		runs_fail(rs, &err, "get app");
		return;
	}
	s.team_id = rq->team.team_id;
	s.app_id = a.id;
	snprintf(s.timezone, sizeof(s.timezone), "UTC");
	snprintf(s.overlap_policy, sizeof(s.overlap_policy), "skip");
	s.catchup_window_s = 60;
	s.enabled = true;
	if ((body = api_body(rq, rs, false, "malformed JSON body")) == NULL ||
	    decode_fields(body, &s, true, &timing, rs) == -1 || compute_next(&s, rs) == -1 ||
	    check_input(&s, rs) == -1)
		goto out;
	if (store_schedule_create(&s, &out, &err) == -1) {
		runs_fail(rs, &err, "create schedule");
		goto out;
	}
	scheduler_wake();
	log_info("schedule created", "schedule_id=%d team=%s app=%s name=%s cron=%s timezone=%s",
	    out.id, rq->team.team_slug, a.slug, out.name, out.cron, out.timezone);
	answer_schedule(rs, 201, &out);
	store_schedule_clear(&out);
out:
	json_decref(body);
	store_schedule_clear(&s);
	store_app_clear(&a);
}

void
api_schedule_list(struct req *rq, struct resp *rs)
{
	struct schedule *s;
	struct app a;
	struct err err;
	size_t n, i;
	json_t *arr;

	if (store_app_get(rq->team.team_id, rq->param, &a, &err) == -1) {
		runs_fail(rs, &err, "get app");
		return;
	}
	if (store_schedule_list(a.id, &s, &n, &err) == -1) {
		store_app_clear(&a);
		runs_fail(rs, &err, "list schedules");
		return;
	}
	store_app_clear(&a);
	arr = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(arr, encode_schedule(&s[i]));
	store_schedules_free(s, n);
	runs_answer(rs, 200, json_pack("{so}", "schedules", arr));
}

/* The schedule of the path within the team; -1 answered. */
static int
load(struct req *rq, struct resp *rs, struct schedule *s)
{
	struct err err;
	int64_t id;

	memset(s, 0, sizeof(*s));
	if (sched_id(rq, rs, &id) == -1)
		return -1;
	if (store_schedule_get(rq->team.team_id, id, s, &err) == -1) {
		runs_fail(rs, &err, "get schedule");
		return -1;
	}
	return 0;
}

void
api_schedule_get(struct req *rq, struct resp *rs)
{
	struct schedule s;

	if (load(rq, rs, &s) == -1)
		return;
	answer_schedule(rs, 200, &s);
	store_schedule_clear(&s);
}

void
api_schedule_update(struct req *rq, struct resp *rs)
{
	struct schedule s, out;
	struct err err;
	json_t *body = NULL;
	bool timing = false;

	if (load(rq, rs, &s) == -1)
		return;
	if ((body = api_body(rq, rs, false, "malformed JSON body")) == NULL ||
	    decode_fields(body, &s, false, &timing, rs) == -1 ||
	    (timing && compute_next(&s, rs) == -1) || check_input(&s, rs) == -1)
		goto out;
	if (store_schedule_update(&s, s.updated_at, &out, &err) == -1) {
		runs_fail(rs, &err, "update schedule");
		goto out;
	}
	scheduler_wake();
	answer_schedule(rs, 200, &out);
	store_schedule_clear(&out);
out:
	json_decref(body);
	store_schedule_clear(&s);
}

void
api_schedule_delete(struct req *rq, struct resp *rs)
{
	struct err err;
	int64_t id;

	if (sched_id(rq, rs, &id) == -1)
		return;
	if (store_schedule_delete(rq->team.team_id, id, &err) == -1) {
		runs_fail(rs, &err, "delete schedule");
		return;
	}
	scheduler_wake();
	resp_empty(rs, 204);
}

static void
set_enabled(struct req *rq, struct resp *rs, bool enabled)
{
	struct schedule s, out;
	struct err err;
	bool changed;

	if (load(rq, rs, &s) == -1)
		return;
	if (enabled && compute_next(&s, rs) == -1)
		goto out;
	if (store_schedule_set_enabled(rq->team.team_id, s.id, enabled,
	    enabled ? NULL : "paused through the API", s.next_fire_at, &out, &changed,
	    &err) == -1) {
		runs_fail(rs, &err, enabled ? "resume schedule" : "pause schedule");
		goto out;
	}
	if (changed) {
		scheduler_wake();
		if (!enabled)
			log_info("schedule paused", "schedule_id=%d team=%s app=%s reason=%s", out.id,
			    out.team_slug, out.app_slug, out.paused_reason);
	}
	answer_schedule(rs, 200, &out);
	store_schedule_clear(&out);
out:
	store_schedule_clear(&s);
}

void
api_schedule_pause(struct req *rq, struct resp *rs)
{
	set_enabled(rq, rs, false);
}

void
api_schedule_resume(struct req *rq, struct resp *rs)
{
	set_enabled(rq, rs, true);
}

void
api_schedule_trigger(struct req *rq, struct resp *rs)
{
	struct fire_result r;
	struct schedule s;
	struct err err;
	char *key = NULL, fp[65], seed[64];

	if (load(rq, rs, &s) == -1)
		return;
	if (runs_idem_key(rq, rs, &key) == -1)
		goto out;
	snprintf(seed, sizeof(seed), "schedule-trigger:%lld", (long long)s.id);
	crypto_sha256_hex(seed, strlen(seed), fp);
	if (scheduler_trigger(&s, key, fp, &r, &err) == -1) {
		runs_fail(rs, &err, "trigger schedule");
		goto out;
	}
	if (!r.applied) {
		resp_error(rs, ERR_CONFLICT, "schedule was changed concurrently");
	} else {
		runs_answer(rs, r.replayed ? 200 : 201, encode_fire(&r.fire));
		if (r.replayed)
			resp_header(rs, "Idempotent-Replayed", "true");
	}
	store_fire_result_clear(&r);
out:
	free(key);
	store_schedule_clear(&s);
}

void
api_schedule_fires(struct req *rq, struct resp *rs)
{
	struct schedule s;
	struct fire *f;
	struct err err;
	int64_t limit, offset;
	size_t n, i;
	json_t *arr;

	if (load(rq, rs, &s) == -1)
		return;
	if (runs_paging(rq, rs, &limit, &offset) == -1)
		goto out;
	if (store_schedule_fires(s.id, limit, offset, &f, &n, &err) == -1) {
		runs_fail(rs, &err, "list fires");
		goto out;
	}
	arr = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(arr, encode_fire(&f[i]));
	store_fires_free(f, n);
	runs_answer(rs, 200, json_pack("{so}", "fires", arr));
out:
	store_schedule_clear(&s);
}

/* The preview's parameters: cron (required), timezone, count (1..100). */
static int
preview_params(struct req *rq, struct resp *rs, const char **cron, const char **tz,
    int64_t *count)
{
	size_t len = 0;
	int rc;

	*cron = http_query(rq, "cron", &len);
	if (*cron == NULL || strlen(*cron) != len) {
		resp_error(rs, ERR_INVALID, "cron is required");
		return -1;
	}
	*tz = http_query(rq, "timezone", &len);
	if (*tz == NULL)
		*tz = "UTC";
	else if (strlen(*tz) != len || !cron_tz_valid(*tz)) {
		resp_error(rs, ERR_INVALID, "timezone: unknown time zone");
		return -1;
	}
	*count = 5;
	rc = runs_query_int(rq, "count", count);
	if (rc < 0 || (rc == 1 && (*count < 1 || *count > PREVIEW_MAX))) {
		resp_error(rs, ERR_INVALID, "count must be an integer between 1 and 100");
		return -1;
	}
	return 0;
}

void
api_schedule_preview(struct req *rq, struct resp *rs)
{
	const char *cron, *tz;
	struct err err;
	int64_t count, t, i;
	json_t *arr;

	if (preview_params(rq, rs, &cron, &tz, &count) == -1)
		return;
	arr = json_array();
	t = now_ms();
	for (i = 0; i < count; i++) {
		if (scheduler_next(cron, tz, t, &t, &err) == -1) {
			json_decref(arr);
			resp_err(rs, &err);
			return;
		}
		json_array_append_new(arr, encode_ts(t));
	}
	runs_answer(rs, 200, json_pack("{ssssso}", "cron", cron, "timezone", tz, "fire_times", arr));
}

/* ---- the Towerfile's schedule (deploy) ---- */

static void
sync_create(int64_t team_id, int64_t app_id, const char *cron, const char *tz)
{
	struct schedule s, out;
	struct err err;

	memset(&s, 0, sizeof(s));
	s.team_id = team_id;
	s.app_id = app_id;
	snprintf(s.name, sizeof(s.name), "towerfile");
	s.cron = xstrdup(cron);
	snprintf(s.timezone, sizeof(s.timezone), "%s", tz);
	snprintf(s.overlap_policy, sizeof(s.overlap_policy), "skip");
	s.catchup_window_s = 60;
	s.enabled = true;
	s.towerfile = true;
	if (scheduler_next(cron, tz, now_ms(), &s.next_fire_at, &err) == -1 ||
	    store_schedule_create(&s, &out, &err) == -1)
		log_warn("towerfile schedule not created", "app_id=%d error=%s", app_id, err.msg);
	else
		log_info("schedule created", "schedule_id=%d app_id=%d name=%s cron=%s timezone=%s",
		    out.id, app_id, out.name, out.cron, out.timezone);
	store_schedule_clear(&out);
	store_schedule_clear(&s);
}

static void
sync_update(struct schedule *s, const char *cron, const char *tz)
{
	struct schedule out;
	struct err err;

	if (strcmp(s->cron, cron) == 0 && strcmp(s->timezone, tz) == 0)
		return;
	free(s->cron);
	s->cron = xstrdup(cron);
	snprintf(s->timezone, sizeof(s->timezone), "%s", tz);
	if (scheduler_next(cron, tz, now_ms(), &s->next_fire_at, &err) == -1 ||
	    store_schedule_update(s, s->updated_at, &out, &err) == -1)
		log_warn("towerfile schedule not updated", "schedule_id=%d error=%s", s->id, err.msg);
	store_schedule_clear(&out);
}

void
api_schedule_towerfile_sync(int64_t team_id, int64_t app_id, const char *cron, const char *tz)
{
	struct schedule s;
	struct err err;
	int rc = store_schedule_by_name(app_id, "towerfile", &s, &err);

	if (tz == NULL)
		tz = "UTC";
	if (rc == -1) {
		log_warn("towerfile schedule not synced", "app_id=%d error=%s", app_id, err.msg);
		return;
	}
	if (rc == 1 && !s.towerfile)
		log_warn("towerfile schedule not synced", "app_id=%d error=%s", app_id,
		    "a schedule named towerfile was made through the API");
	else if (rc == 1 && cron == NULL && store_schedule_delete(team_id, s.id, &err) == -1)
		log_warn("towerfile schedule not removed", "schedule_id=%d error=%s", s.id, err.msg);
	else if (rc == 1 && cron != NULL)
		sync_update(&s, cron, tz);
	else if (rc == 0 && cron != NULL)
		sync_create(team_id, app_id, cron, tz);
	store_schedule_clear(&s);
	scheduler_wake();
}
