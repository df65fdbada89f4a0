/*
 * schema: the JSON-schema subset run input is checked against
 * (towerfile.md §4.2/§4.3: type, properties, required, additionalProperties,
 * items, enum, minimum, maximum, minLength, maxLength, minItems, maxItems)
 * and the application of parameter defaults (§4.4).
 */
#ifndef MT_SCHEMA_H
#define MT_SCHEMA_H

#include <jansson.h>

#include "err.h"

/* Validates input (NULL means absent) against schema (NULL means no schema:
 * anything passes). A null or absent input counts as {} when the schema
 * describes an object without allowing null. Returns 0, or -1 with err
 * ERR_INVALID whose message is the bare detail of the first failure, e.g.
 * "$.count has invalid type" (the caller adds "input does not match
 * schema: "). Unknown keywords are ignored. */
int schema_validate(const json_t *schema, const json_t *input, struct err *err);

/* The input with every default of schema.properties added whose key is
 * missing (§4.4); present keys, null ones included, are never touched.
 * When at least one default exists, a NULL or null input counts as {}.
 * Returns a new reference (input itself, increfed, when nothing is added),
 * or NULL when input is NULL and nothing is added. input is not modified. */
json_t *schema_apply_defaults(const json_t *schema, const json_t *input);

#endif
