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

#endif
