/*
 * Tests for schema: every failure message of towerfile.md §4.3 with its
 * path, the order of the checks (§4.2), null handling, and the defaults of
 * §4.4. The draft 7 suite is run by tests/tools/conformance_jsonschema.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "json.h"
#include "schema.h"

static json_t *
load(const char *text)
{
	json_error_t jerr;
	json_t *v = json_loads(text, JSON_DECODE_ANY, &jerr);

	if (v == NULL)
		fail_msg("bad JSON in test: %s: %s", text, jerr.text);
	return v;
}

/* Validates input (a JSON text, or NULL for an absent input); want is the
 * expected message, or NULL for success. */
static void
check(const char *schema_text, const char *input_text, const char *want)
{
	json_t *schema = load(schema_text);
	json_t *input = input_text != NULL ? load(input_text) : NULL;
	struct err err;
	int rc;

	err_clear(&err);
	rc = schema_validate(schema, input, &err);
	if (want == NULL) {
		if (rc != 0)
			fail_msg("%s / %s: unexpected error: %s", schema_text, input_text, err.msg);
	} else {
		assert_int_equal(rc, -1);
		assert_int_equal(err.code, ERR_INVALID);
		assert_string_equal(err.msg, want);
	}
	json_decref(schema);
	json_decref(input);
}

#define GEN "{\"properties\":{\"count\":{\"type\":\"integer\",\"default\":3}," \
	"\"name\":{\"type\":\"string\"},\"ratio\":{\"type\":\"number\"}," \
	"\"flag\":{\"type\":\"boolean\"}},\"type\":\"object\"}"

static void
test_generated_schema(void **state)
{
	(void)state;
	check(GEN, "{}", NULL);
	check(GEN, NULL, NULL);
	check(GEN, "null", NULL);
	check(GEN, "{\"count\":2,\"name\":\"x\",\"ratio\":1.5,\"flag\":true,\"extra\":[1]}", NULL);
	check(GEN, "{\"count\":3.0}", NULL);
	check(GEN, "{\"ratio\":3}", NULL);
	check(GEN, "{\"count\":\"3\"}", "$.count has invalid type");
	check(GEN, "{\"count\":3.5}", "$.count has invalid type");
	check(GEN, "{\"count\":null}", "$.count has invalid type");
	check(GEN, "{\"flag\":1}", "$.flag has invalid type");
	check(GEN, "{\"name\":5}", "$.name has invalid type");
	check(GEN, "[]", "$ has invalid type");
	check(GEN, "\"x\"", "$ has invalid type");
	/* present keys are checked in sorted order */
	check(GEN, "{\"ratio\":\"x\",\"count\":\"y\"}", "$.count has invalid type");
}

static void
test_messages(void **state)
{
	(void)state;
	check("{\"type\":\"object\",\"required\":[\"b\",\"a\"]}", "{}", "$.b is required");
	check("{\"type\":\"object\",\"required\":[\"b\",\"a\"]}", "{\"b\":1}", "$.a is required");
	check("{\"additionalProperties\":false,\"properties\":{\"a\":{}}}",
	    "{\"a\":1,\"z\":2,\"c\":3}", "$.c is not allowed");
	check("{\"additionalProperties\":{\"type\":\"string\"}}", "{\"k\":1}",
	    "$.k has invalid type");
	check("{\"additionalProperties\":true}", "{\"k\":1}", NULL);
	check("{\"enum\":[1,\"a\",[true],{\"x\":null}]}", "2", "$ is not in enum");
	check("{\"enum\":[1,\"a\",[true],{\"x\":null}]}", "1.0", NULL);
	check("{\"enum\":[1,\"a\",[true],{\"x\":null}]}", "[true]", NULL);
	check("{\"enum\":[1,\"a\",[true],{\"x\":null}]}", "{\"x\":null}", NULL);
	check("{\"enum\":[1,\"a\",[true],{\"x\":null}]}", "{\"x\":false}", "$ is not in enum");
	check("{\"enum\":[0]}", "false", "$ is not in enum");
	check("{\"minLength\":2}", "\"\xc3\xa9\"", "$ is too short");
	check("{\"maxLength\":1}", "\"\xc3\xa9\"", NULL);
	check("{\"maxLength\":1}", "\"ab\"", "$ is too long");
	check("{\"minItems\":1}", "[]", "$ has too few items");
	check("{\"maxItems\":1}", "[1,2]", "$ has too many items");
	check("{\"minimum\":1.5}", "1", "$ is below minimum");
	check("{\"minimum\":1}", "1", NULL);
	check("{\"maximum\":1}", "1.0001", "$ is above maximum");
	check("{\"maximum\":9007199254740993}", "9007199254740993", NULL);
	check("{\"maximum\":9007199254740992}", "9007199254740993", "$ is above maximum");
	check("{\"type\":\"object\"}", "{\"a\":null}", NULL);
	check("{\"properties\":{\"o\":{\"type\":\"object\"}}}", "{\"o\":null}",
	    "$.o must be an object");
	check("{\"properties\":{\"o\":{\"type\":[\"object\",\"null\"]}}}", "{\"o\":null}", NULL);
	check("{\"type\":[\"string\",\"null\"]}", "null", NULL);
	check("{\"type\":[\"string\",\"integer\"]}", "true", "$ has invalid type");
	check("{\"type\":\"null\"}", NULL, NULL);
	check("{\"type\":\"string\"}", NULL, "$ has invalid type");
}

static void
test_paths(void **state)
{
	(void)state;
	check("{\"properties\":{\"arr\":{\"items\":{\"properties\":{\"k\":{\"type\":\"string\"}}}}}}",
	    "{\"arr\":[{\"k\":\"a\"},{\"k\":2}]}", "$.arr[1].k has invalid type");
	check("{\"items\":{\"items\":{\"minimum\":0}}}", "[[0],[1,-1]]", "$[1][1] is below minimum");
	check("{\"properties\":{\"a\":{\"required\":[\"b\"]}}}", "{\"a\":{}}", "$.a.b is required");
	check("{\"properties\":{\"a b.c\":{\"type\":\"string\"}}}", "{\"a b.c\":1}",
	    "$.a b.c has invalid type");
}

static void
test_order(void **state)
{
	(void)state;
	/* enum before type */
	check("{\"type\":\"string\",\"enum\":[\"a\"]}", "1", "$ is not in enum");
	/* required before properties */
	check("{\"required\":[\"z\"],\"properties\":{\"a\":{\"type\":\"string\"}}}", "{\"a\":1}",
	    "$.z is required");
	/* minItems before items */
	check("{\"minItems\":3,\"items\":{\"type\":\"string\"}}", "[1]", "$ has too few items");
	/* minLength before maxLength is moot; minimum before maximum */
	check("{\"minimum\":5,\"maximum\":1}", "3", "$ is below minimum");
	/* a null input is {} for an object schema */
	check("{\"required\":[\"a\"]}", NULL, "$.a is required");
	check("{\"required\":[\"a\"]}", "null", "$.a is required");
}

static char *
defaults(const char *schema_text, const char *input_text)
{
	json_t *schema = schema_text != NULL ? load(schema_text) : NULL;
	json_t *input = input_text != NULL ? load(input_text) : NULL;
	json_t *out = schema_apply_defaults(schema, input);
	char *s = out != NULL ? json_dumps_sorted(out) : strdup("(none)");

	json_decref(schema);
	json_decref(input);
	json_decref(out);
	return s;
}

static void
expect_defaults(const char *schema_text, const char *input_text, const char *want)
{
	char *s = defaults(schema_text, input_text);

	assert_string_equal(s, want);
	free(s);
}

static void
test_defaults(void **state)
{
	json_t *input, *schema, *out;

	(void)state;
	expect_defaults(GEN, "{}", "{\"count\":3}");
	expect_defaults(GEN, NULL, "{\"count\":3}");
	expect_defaults(GEN, "null", "{\"count\":3}");
	expect_defaults(GEN, "{\"count\":7,\"x\":1}", "{\"count\":7,\"x\":1}");
	expect_defaults(GEN, "{\"count\":null}", "{\"count\":null}");
	expect_defaults("{\"properties\":{\"a\":{\"default\":\"x\"},\"b\":{\"default\":[1]},"
	    "\"c\":{\"default\":1.0}},\"type\":\"object\"}", "{\"z\":true}",
	    "{\"a\":\"x\",\"b\":[1],\"c\":1,\"z\":true}");
	expect_defaults("{\"properties\":{\"a\":{\"type\":\"string\"}}}", NULL, "(none)");
	expect_defaults("{\"properties\":{\"a\":{\"type\":\"string\"}}}", "null", "null");
	expect_defaults(NULL, "{\"a\":1}", "{\"a\":1}");
	expect_defaults(NULL, NULL, "(none)");
	/* the input is never modified */
	input = load("{\"x\":1}");
	schema = load(GEN);
	out = schema_apply_defaults(schema, input);
	assert_ptr_not_equal(out, input);
	assert_int_equal(json_object_size(input), 1);
	json_decref(out);
	/* nothing to add: the same value comes back */
	json_object_set_new(input, "count", json_integer(1));
	out = schema_apply_defaults(schema, input);
	assert_ptr_equal(out, input);
	json_decref(out);
	json_decref(input);
	json_decref(schema);
}

static void
test_no_schema(void **state)
{
	json_t *v = load("[1]");

	(void)state;
	assert_int_equal(schema_validate(NULL, v, NULL), 0);
	assert_int_equal(schema_validate(NULL, NULL, NULL), 0);
	json_decref(v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_generated_schema),
		cmocka_unit_test(test_messages),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_no_schema),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
