/*
 * schema: a small JSON-schema validator over jansson values. Checks run in
 * the order of towerfile.md §4.2 and stop at the first failure, whose path
 * ("$", "$.key", "$.arr[0]") is built in a bounded buffer as the walk goes
 * down and truncated back on the way up.
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "schema.h"
#include "util.h"

#define PATH_MAX_BYTES	4096

/* jansson's iteration API is not const-correct. */
static json_t *
unconst(const json_t *v)
{
	return (json_t *)(uintptr_t)v;
}

static int
fail(struct err *err, const struct buf *path, const char *what)
{
	return err_set(err, ERR_INVALID, "%s %s", buf_str(path), what);
}

/* ---- helpers ---- */

static bool
is_integral(const json_t *v)
{
	double d;

	if (json_is_integer(v))
		return true;
	if (!json_is_real(v))
		return false;
	d = json_real_value(v);
	return isfinite(d) && floor(d) == d;
}

/* a < b: -1, a == b: 0, a > b: 1, comparing exactly when both are integers. */
static int
num_cmp(const json_t *a, const json_t *b)
{
	double x, y;

	if (json_is_integer(a) && json_is_integer(b)) {
		json_int_t i = json_integer_value(a), j = json_integer_value(b);

		return i < j ? -1 : i > j;
	}
	x = json_number_value(a);
	y = json_number_value(b);
	return x < y ? -1 : x > y;
}

/* Deep equality where numbers compare by value (1 equals 1.0). */
static bool
deep_equal(const json_t *a, const json_t *b)
{
	const char *key;
	json_t *x;
	size_t i;

	if (json_is_number(a) && json_is_number(b))
		return num_cmp(a, b) == 0;
	if (json_typeof(a) != json_typeof(b))
		return false;
	switch (json_typeof(a)) {
	case JSON_STRING:
		return json_string_length(a) == json_string_length(b) &&
		    memcmp(json_string_value(a), json_string_value(b), json_string_length(a)) == 0;
	case JSON_ARRAY:
		if (json_array_size(a) != json_array_size(b))
			return false;
		for (i = 0; i < json_array_size(a); i++) {
			if (!deep_equal(json_array_get(a, i), json_array_get(b, i)))
				return false;
		}
		return true;
	case JSON_OBJECT:
		if (json_object_size(a) != json_object_size(b))
			return false;
		json_object_foreach(unconst(a), key, x) {
			const json_t *y = json_object_get(b, key);

			if (y == NULL || !deep_equal(x, y))
				return false;
		}
		return true;
	default:
		return true;	/* true, false, null: same type means equal */
	}
}

static bool
type_matches(const char *type, const json_t *v)
{
	if (strcmp(type, "object") == 0)
		return json_is_object(v);
	if (strcmp(type, "array") == 0)
		return json_is_array(v);
	if (strcmp(type, "string") == 0)
		return json_is_string(v);
	if (strcmp(type, "number") == 0)
		return json_is_number(v);
	if (strcmp(type, "integer") == 0)
		return is_integral(v);
	if (strcmp(type, "boolean") == 0)
		return json_is_boolean(v);
	if (strcmp(type, "null") == 0)
		return json_is_null(v);
	return false;
}

/* Does the schema's type (a string or an array of strings) name t? */
static bool
type_names(const json_t *schema, const char *t)
{
	const json_t *type = json_object_get(schema, "type");
	size_t i;

	if (json_is_string(type))
		return strcmp(json_string_value(type), t) == 0;
	for (i = 0; i < json_array_size(type); i++) {
		const json_t *e = json_array_get(type, i);

		if (json_is_string(e) && strcmp(json_string_value(e), t) == 0)
			return true;
	}
	return false;
}

/* Does value match the schema's type keyword (true when there is none)? */
static bool
type_ok(const json_t *schema, const json_t *v)
{
	const json_t *type = json_object_get(schema, "type");
	size_t i;

	if (json_is_string(type))
		return type_matches(json_string_value(type), v);
	if (!json_is_array(type))
		return true;
	for (i = 0; i < json_array_size(type); i++) {
		const json_t *e = json_array_get(type, i);

		if (json_is_string(e) && type_matches(json_string_value(e), v))
			return true;
	}
	return false;
}

/* §4.2: the schema describes an object and does not allow null. */
static bool
wants_object(const json_t *schema)
{
	bool object = type_names(schema, "object") ||
	    json_object_get(schema, "properties") != NULL ||
	    json_object_get(schema, "required") != NULL ||
	    json_object_get(schema, "additionalProperties") != NULL;

	return object && !type_names(schema, "null");
}

static size_t
utf8_length(const char *s, size_t n)
{
	size_t i, count = 0;

	for (i = 0; i < n; i++) {
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			count++;
	}
	return count;
}

/* The numeric keyword k of schema as a count, or -1 when absent. */
static double
bound(const json_t *schema, const char *k)
{
	const json_t *v = json_object_get(schema, k);

	return json_is_number(v) ? json_number_value(v) : -1;
}

/* ---- the walk ---- */

static int check(const json_t *schema, const json_t *v, struct buf *path,
    struct err *err);

/* Appends ".key" or "[i]" to the path; path_pop() undoes it. */
static size_t
path_push(struct buf *path, const char *key, size_t index)
{
	size_t mark = path->len;

	if (key != NULL)
		buf_addf(path, ".%s", key);
	else
		buf_addf(path, "[%zu]", index);
	return mark;
}

static void
path_pop(struct buf *path, size_t mark)
{
	path->len = mark;
	path->overflow = false;
	if (path->data != NULL)
		path->data[mark] = '\0';
}

/* Checks the child value of key (or index) against sub-schema sub. */
static int
check_child(const json_t *sub, const json_t *v, const char *key, size_t index,
    struct buf *path, struct err *err)
{
	size_t mark = path_push(path, key, index);
	int rc = check(sub, v, path, err);

	path_pop(path, mark);
	return rc;
}

static int
fail_key(struct err *err, struct buf *path, const char *key, const char *what)
{
	size_t mark = path_push(path, key, 0);

	fail(err, path, what);
	path_pop(path, mark);
	return -1;
}

static int
key_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int
check_object(const json_t *schema, const json_t *v, struct buf *path, struct err *err)
{
	const json_t *req = json_object_get(schema, "required");
	const json_t *props = json_object_get(schema, "properties");
	const json_t *extra = json_object_get(schema, "additionalProperties");
	const json_t *sub;
	const char **keys, *key;
	size_t i, n = 0;
	json_t *x;
	int rc = 0;

	for (i = 0; i < json_array_size(req); i++) {
		key = json_string_value(json_array_get(req, i));
		if (key != NULL && json_object_get(v, key) == NULL)
			return fail_key(err, path, key, "is required");
	}
	keys = xcalloc(json_object_size(v) + 1, sizeof(*keys));
	json_object_foreach(unconst(v), key, x)
		keys[n++] = key;
	qsort(keys, n, sizeof(*keys), key_cmp);
	for (i = 0; i < n && rc == 0; i++) {
		sub = json_object_get(props, keys[i]);
		if (sub == NULL && json_is_false(extra))
			rc = fail_key(err, path, keys[i], "is not allowed");
		else if (sub == NULL && !json_is_object(extra))
			continue;
		else
			rc = check_child(sub != NULL ? sub : extra, json_object_get(v, keys[i]),
			    keys[i], 0, path, err);
	}
	free(keys);
	return rc;
}

static int
check_array(const json_t *schema, const json_t *v, struct buf *path, struct err *err)
{
	const json_t *items = json_object_get(schema, "items");
	double n = (double)json_array_size(v), min = bound(schema, "minItems");
	double max = bound(schema, "maxItems");
	size_t i;

	if (min >= 0 && n < min)
		return fail(err, path, "has too few items");
	if (max >= 0 && n > max)
		return fail(err, path, "has too many items");
	if (!json_is_object(items))
		return 0;
	for (i = 0; i < json_array_size(v); i++) {
		if (check_child(items, json_array_get(v, i), NULL, i, path, err) < 0)
			return -1;
	}
	return 0;
}

static int
check_string(const json_t *schema, const json_t *v, struct buf *path, struct err *err)
{
	double n = (double)utf8_length(json_string_value(v), json_string_length(v));
	double min = bound(schema, "minLength"), max = bound(schema, "maxLength");

	if (min >= 0 && n < min)
		return fail(err, path, "is too short");
	if (max >= 0 && n > max)
		return fail(err, path, "is too long");
	return 0;
}

static int
check_number(const json_t *schema, const json_t *v, struct buf *path, struct err *err)
{
	const json_t *min = json_object_get(schema, "minimum");
	const json_t *max = json_object_get(schema, "maximum");

	if (json_is_number(min) && num_cmp(v, min) < 0)
		return fail(err, path, "is below minimum");
	if (json_is_number(max) && num_cmp(v, max) > 0)
		return fail(err, path, "is above maximum");
	return 0;
}

static int
check(const json_t *schema, const json_t *v, struct buf *path, struct err *err)
{
	const json_t *choices = json_object_get(schema, "enum");
	size_t i;

	if (!json_is_object(schema))
		return 0;
	if (json_is_array(choices)) {
		for (i = 0; i < json_array_size(choices); i++) {
			if (deep_equal(json_array_get(choices, i), v))
				break;
		}
		if (i == json_array_size(choices))
			return fail(err, path, "is not in enum");
	}
	if (json_is_null(v) && wants_object(schema))
		return fail(err, path, "must be an object");
	if (!type_ok(schema, v))
		return fail(err, path, "has invalid type");
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return check_object(schema, v, path, err);
	case JSON_ARRAY:
		return check_array(schema, v, path, err);
	case JSON_STRING:
		return check_string(schema, v, path, err);
	case JSON_INTEGER:
	case JSON_REAL:
		return check_number(schema, v, path, err);
	default:
		return 0;
	}
}

int
schema_validate(const json_t *schema, const json_t *input, struct err *err)
{
	json_t *empty = NULL;
	struct buf path;
	int rc;

	if (schema == NULL)
		return 0;
	if ((input == NULL || json_is_null(input)) && wants_object(schema))
		input = empty = json_object();
	else if (input == NULL)
		input = empty = json_null();
	buf_init(&path, PATH_MAX_BYTES);
	buf_addc(&path, '$');
	rc = check(schema, input, &path, err);
	buf_free(&path);
	json_decref(empty);
	return rc;
}

json_t *
schema_apply_defaults(const json_t *schema, const json_t *input)
{
	const json_t *props = json_object_get(schema, "properties"), *def;
	json_t *out = NULL, *prop;
	const char *key;

	if (json_is_object(props) && (input == NULL || json_is_null(input) ||
	    json_is_object(input))) {
		json_object_foreach(unconst(props), key, prop) {
			def = json_object_get(prop, "default");
			if (def == NULL || json_object_get(input, key) != NULL)
				continue;
			if (out == NULL)
				out = json_is_object(input) ? json_copy(unconst(input)) : json_object();
			json_object_set_new(out, key, json_deep_copy(def));
		}
	}
	if (out == NULL && input != NULL)
		out = json_incref(unconst(input));
	return out;
}
