/*
 * encode: one JSON encoder per API object, fields in the order api.md §1.0
 * lists them and optional fields omitted by its rules. The returned values
 * are new references.
 */
#ifndef MT_ENCODE_H
#define MT_ENCODE_H

#include <jansson.h>
#include <stdint.h>

#include "store.h"

/* A timestamp (Unix ms) as an RFC 3339 UTC string with milliseconds. */
json_t *encode_ts(int64_t ms);
json_t *encode_app(const struct app *a);
json_t *encode_version(const struct version *v);
/* Appends "sandbox" and "resources" to o from a version's stored JSON, each
 * only when present, with their fields in the fixed order of api.md §1.8.2
 * (VersionObject and the lease response end with them). */
void encode_limits(json_t *o, const char *sandbox_json, const char *resources_json);

/* ==== run objects (encode_run.c) ==== */
/* RunObject (api.md §1.0). */
json_t *encode_run(const struct run *r);
/* AttemptObject (start and heartbeat responses). */
json_t *encode_attempt(const struct attempt *a);
/* AttemptRecord (attempt list). */
json_t *encode_attempt_rec(const struct attempt_rec *a);
/* LogEntry. */
json_t *encode_log(const struct log_entry *e);
/* RunnerObject. */
json_t *encode_runner(const struct runner_row *r);
/* The lease response (api.md §1.8.2); lease_token is the secret. */
json_t *encode_lease(const struct lease *l, const char *lease_token);
/* Stored JSON text as a value; NULL when absent, invalid or an empty object
 * (for the omitted-when-empty `input` fields). */
json_t *encode_input(const char *json_text);
/* ==== end of run objects ==== */

struct schedule;
struct fire;
/* ScheduleObject and FireObject (encode_schedule.c). */
json_t *encode_schedule(const struct schedule *s);
json_t *encode_fire(const struct fire *f);

#endif
