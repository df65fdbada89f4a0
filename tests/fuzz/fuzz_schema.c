/*
 * fuzz_schema: libFuzzer target for the JSON-schema subset (src/lib/schema.c).
 * The input is a schema and an instance separated by a NUL byte (no NUL: no
 * instance, as when a run is created without input); both are decoded with
 * the request decoder. Properties: validation is deterministic and explains
 * a failure with a "$..." path; applying defaults leaves the input alone,
 * keeps every key it had, adds only properties that have a default, and is
 * idempotent; a valid instance still validates after the defaults are added
 * when each default validates against its own property schema.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_util.h"
#include "schema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
validate(const json_t *schema, const json_t *input, struct err *err)
{
	struct err again;
	int rc = schema_validate(schema, input, err);

	FUZZ_CHECK(schema_validate(schema, input, &again) == rc);
	if (rc != 0) {
		FUZZ_CHECK(err->code == ERR_INVALID && err->msg[0] == '$');
		FUZZ_CHECK(strcmp(err->msg, again.msg) == 0);
	}
	return rc;
}

/* out = input + defaults: the keys of input unchanged, the others defaults. */
static void
check_added(const json_t *schema, const json_t *input, const json_t *out)
{
	const json_t *props = json_object_get(schema, "properties");
	const char *k;
	json_t *x;

	json_object_foreach((json_t *)(uintptr_t)input, k, x)
		FUZZ_CHECK(json_equal(x, json_object_get(out, k)));
	json_object_foreach((json_t *)(uintptr_t)out, k, x) {
		if (json_is_object(input) && json_object_get(input, k) != NULL)
			continue;
		FUZZ_CHECK(json_equal(x, json_object_get(json_object_get(props, k), "default")));
	}
}

/* Every default validates against the property schema it sits in. */
static bool
defaults_valid(const json_t *schema)
{
	const json_t *props = json_object_get(schema, "properties");
	const char *k;
	json_t *p, *def;
	struct err err;

	json_object_foreach((json_t *)(uintptr_t)props, k, p) {
		def = json_object_get(p, "default");
		/* a null default is read as {} by schema_validate alone */
		if (def != NULL && (json_is_null(def) || schema_validate(p, def, &err) != 0))
			return false;
	}
	return true;
}

static void
check_defaults(const json_t *schema, const json_t *input, bool valid)
{
	json_t *copy = input != NULL ? json_deep_copy(input) : NULL, *out, *twice;
	struct err err;

	out = schema_apply_defaults(schema, input);
	FUZZ_CHECK(input == NULL || json_equal(copy, input));
	FUZZ_CHECK(out != NULL || input == NULL);
	if (out == NULL)
		goto done;
	if (json_is_object(out))
		check_added(schema, input, out);
	twice = schema_apply_defaults(schema, out);
	FUZZ_CHECK(json_equal(twice, out));
	json_decref(twice);
	/* properties, required and additionalProperties judge keys one by one,
	 * and a default is only added where the key was missing */
	if (valid && json_is_object(input) && defaults_valid(schema) &&
	    json_object_get(schema, "enum") == NULL && validate(schema, out, &err) != 0) {
		fprintf(stderr, "defaults broke a valid input: %s\n", err.msg);
		abort();
	}
done:
	json_decref(out);
	json_decref(copy);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { size > 0 ? data : (const uint8_t *)"", size };
	const uint8_t *s, *i;
	size_t slen = fuzz_until(&in, 0, &s), ilen;
	json_t *schema = NULL, *input = NULL;
	bool has_input = slen < size;	/* a NUL separates an instance */
	struct err err;

	if (json_decode((const char *)s, slen, false, &schema) != 0)
		return 0;
	ilen = fuzz_until(&in, 0, &i);
	if (has_input && json_decode((const char *)i, ilen, false, &input) != 0)
		goto out;
	check_defaults(schema, input, validate(schema, input, &err) == 0);
out:
	json_decref(input);
	json_decref(schema);
	return 0;
}
