/*
 * json: MiniTower's JSON rules on top of jansson. Decoding follows api.md
 * §0.4 (first value only, depth <= 512, "null" is {}, ASCII case-folded
 * field lookup with the last key winning); encoding follows §0.3 (compact,
 * fixed-shape objects in insertion order, free-form maps sorted, <>& and
 * U+2028/9 escaped, integral doubles without a fraction, shortest doubles).
 */
#ifndef MT_JSON_H
#define MT_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

/* Decodes the first JSON value of data[0..len). An empty or all-whitespace
 * body gives -1 unless empty_ok (then *out is {}); "null" gives {}. Depth
 * over 512 is an error. An integer literal outside int64 becomes a real
 * (json_encode writes 1e20 as 100000000000000000000), so an integer field
 * read with json_get_int rejects it as the wrong type. Returns 0 with *out
 * (caller decrefs), or -1. */
int json_decode(const char *data, size_t len, bool empty_ok, json_t **out);

/* Looks up field name in object o with ASCII case folding, the last matching
 * key winning; a JSON null counts as absent. Returns a borrowed value or NULL. */
json_t *json_field(const json_t *o, const char *name);

/* Re-orders the objects of v, decoded from data, so that a repeated key sits
 * where it last occurs in data, as the last-wins rule of json_field needs
 * (json_order.c). Does nothing unless some object of v has keys that fold
 * together. */
void json_order_last_keys(const char *data, size_t len, json_t *v);

/* Field readers over json_field. Each returns 1 when present and of the right
 * type (value stored), 0 when absent, -1 when of the wrong type. Strings are
 * borrowed; *len gets the byte length (strings may hold NUL). */
int json_get_str(const json_t *o, const char *name, const char **s, size_t *len);
/* An integer literal (no fraction or exponent) in int64 range. */
int json_get_int(const json_t *o, const char *name, int64_t *v);

/* Encodes v compactly into b. Objects that are the value of a key listed in
 * freeform (NULL-terminated; may be NULL), and everything inside them, are
 * written with sorted keys; other objects keep insertion order. When
 * sort_all is true every object is sorted. Returns 0, -1 on overflow. */
int json_encode(struct buf *b, const json_t *v, const char *const *freeform, bool sort_all);
/* Encodes v with every object sorted into a new string (caller frees). */
char *json_dumps_sorted(const json_t *v);
/* Writes a double as api.md §0.3 says (integral → no fraction; shortest
 * round-trip form; exponent only below 1e-6 or from 1e21). */
void json_fmt_double(double d, char *out, size_t outsz);
/* Appends s[0..n) as a JSON string literal with MiniTower's escaping. */
int json_encode_str(struct buf *b, const char *s, size_t n);

#endif
