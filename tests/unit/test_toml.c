/*
 * Tests for toml: the tree (order, kinds, lines, lengths), lookups, the
 * error messages with their line numbers, and the limits. Conformance with
 * the whole toml-test corpus is checked by tests/tools/conformance_toml.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "toml.h"

static struct toml_value *
parse_ok(const char *text)
{
	struct toml_value *v = NULL;
	struct err err;

	err_clear(&err);
	if (toml_parse(text, strlen(text), &v, &err) != 0)
		fail_msg("unexpected error: %s", err.msg);
	assert_non_null(v);
	return v;
}

static void
parse_bad(const char *text, const char *want)
{
	struct toml_value *v = (struct toml_value *)1;
	struct err err;

	err_clear(&err);
	assert_int_equal(toml_parse(text, strlen(text), &v, &err), -1);
	assert_null(v);
	assert_int_equal(err.code, ERR_INVALID);
	assert_string_equal(err.msg, want);
}

static const struct toml_value *
get(const struct toml_value *t, const char *key)
{
	return toml_get(t, key, strlen(key));
}

static void
test_order_and_types(void **state)
{
	struct toml_value *root;
	const struct toml_value *app;

	(void)state;
	root = parse_ok("z = 1\n[app]\nname = \"hello\"\nscript = 'main.py'\n"
	    "ratio = 1.5\nok = true\nwhen = 1979-05-27T07:32:00Z\n");
	assert_int_equal(root->u.tab.len, 2);
	assert_string_equal(root->u.tab.kv[0].key, "z");
	assert_string_equal(root->u.tab.kv[1].key, "app");
	app = get(root, "app");
	assert_int_equal(app->type, TOML_TABLE);
	assert_int_equal(app->u.tab.kind, TOML_TABLE_HEADER);
	assert_int_equal(app->line, 2);
	assert_string_equal(app->u.tab.kv[0].key, "name");
	assert_string_equal(app->u.tab.kv[4].key, "when");
	assert_string_equal(get(app, "name")->u.str.ptr, "hello");
	assert_int_equal(get(app, "name")->line, 3);
	assert_string_equal(get(app, "script")->u.str.ptr, "main.py");
	assert_true(get(app, "ratio")->u.f == 1.5);
	assert_true(get(app, "ok")->u.b);
	assert_int_equal(get(app, "when")->type, TOML_DATETIME);
	assert_string_equal(get(app, "when")->u.str.ptr, "1979-05-27T07:32:00Z");
	assert_string_equal(toml_type_name(get(app, "when")), "datetime");
	assert_int_equal(get(root, "z")->u.i, 1);
	assert_null(get(root, "missing"));
	assert_null(get(get(root, "z"), "x"));
	toml_free(root);
}

static void
test_kinds(void **state)
{
	struct toml_value *root;
	const struct toml_value *v;

	(void)state;
	root = parse_ok("a.b = 1\nc = {d = 2}\ne = [{f = 3}]\n[[g]]\n[h.i]\n");
	assert_int_equal(get(root, "a")->u.tab.kind, TOML_TABLE_DOTTED);
	assert_int_equal(get(root, "c")->u.tab.kind, TOML_TABLE_INLINE);
	v = get(root, "e");
	assert_int_equal(v->type, TOML_ARRAY);
	assert_false(v->u.arr.of_tables);
	assert_int_equal(v->u.arr.items[0]->u.tab.kind, TOML_TABLE_INLINE);
	v = get(root, "g");
	assert_int_equal(v->type, TOML_ARRAY);
	assert_true(v->u.arr.of_tables);
	assert_int_equal(v->u.arr.items[0]->u.tab.kind, TOML_TABLE_AOT);
	assert_int_equal(get(root, "h")->u.tab.kind, TOML_TABLE_IMPLICIT);
	assert_int_equal(get(get(root, "h"), "i")->u.tab.kind, TOML_TABLE_HEADER);
	toml_free(root);
}

static void
test_date_time_kinds(void **state)
{
	struct toml_value *root;

	(void)state;
	root = parse_ok("a = 1979-05-27 07:32:00.5+01:00\nb = 1979-05-27t07:32:00\n"
	    "c = 1979-05-27\nd = 07:32:00.999\ne = 1979-05-27 # date then comment\n");
	assert_int_equal(get(root, "a")->type, TOML_DATETIME);
	assert_string_equal(get(root, "a")->u.str.ptr, "1979-05-27 07:32:00.5+01:00");
	assert_int_equal(get(root, "b")->type, TOML_DATETIME_LOCAL);
	assert_int_equal(get(root, "c")->type, TOML_DATE_LOCAL);
	assert_int_equal(get(root, "d")->type, TOML_TIME_LOCAL);
	assert_int_equal(get(root, "e")->type, TOML_DATE_LOCAL);
	toml_free(root);
}

static void
test_strings_with_nul(void **state)
{
	struct toml_value *root;
	const struct toml_value *v;

	(void)state;
	root = parse_ok("\"k\\u0000ey\" = \"a\\u0000b\"\nu = \"\\U0001F600\\t\"\n");
	assert_int_equal(root->u.tab.kv[0].keylen, 4);
	v = toml_get(root, "k\0ey", 4);
	assert_non_null(v);
	assert_int_equal(v->u.str.len, 3);
	assert_memory_equal(v->u.str.ptr, "a\0b", 3);
	assert_string_equal(get(root, "u")->u.str.ptr, "\xf0\x9f\x98\x80\t");
	toml_free(root);
}

static void
test_multiline_strings(void **state)
{
	struct toml_value *root;

	(void)state;
	root = parse_ok("a = \"\"\"\none \\\n   two\"\"\"\nb = '''\nx\\y'''\n");
	assert_string_equal(get(root, "a")->u.str.ptr, "one two");
	assert_string_equal(get(root, "b")->u.str.ptr, "x\\y");
	toml_free(root);
}

static void
test_many_keys(void **state)
{
	struct toml_value *root;
	struct buf b;
	char key[32];
	int i;

	(void)state;
	buf_init(&b, 1 << 20);
	for (i = 0; i < 2000; i++)
		buf_addf(&b, "k%d = %d\n", i, i);
	root = parse_ok(buf_str(&b));
	assert_int_equal(root->u.tab.len, 2000);
	for (i = 0; i < 2000; i += 7) {
		snprintf(key, sizeof(key), "k%d", i);
		assert_int_equal(get(root, key)->u.i, i);
		assert_string_equal(root->u.tab.kv[i].key, key);
	}
	assert_null(get(root, "k2000"));
	toml_free(root);
	buf_add(&b, "k1999 = 0\n", 10);
	parse_bad(buf_str(&b), "line 2001: key k1999 is already defined");
	buf_free(&b);
}

static void
test_bom_and_crlf(void **state)
{
	struct toml_value *root;

	(void)state;
	root = parse_ok("\xef\xbb\xbf" "a = 1\r\nb = 2\r\n");
	assert_int_equal(get(root, "b")->u.i, 2);
	assert_int_equal(get(root, "b")->line, 2);
	toml_free(root);
	root = parse_ok("x = 1\n\ny.z = [\n1,\n2]\nw.v = 3\n");
	assert_int_equal(get(root, "y")->line, 3);
	assert_int_equal(get(get(root, "y"), "z")->line, 3);
	assert_int_equal(get(get(root, "y"), "z")->u.arr.items[1]->line, 5);
	assert_int_equal(get(root, "w")->line, 6);
	toml_free(root);
}

static void
test_error_lines(void **state)
{
	(void)state;
	parse_bad("a = 1\nb = \n", "line 2: expected a value");
	parse_bad("a = 1\n\n\nb = 1 2\n", "line 4: unexpected text after value");
	parse_bad("[app]\nname = \"x\"\nname = \"y\"\n", "line 3: key name is already defined");
	parse_bad("[app]\n[app]\n", "line 2: table app is already defined");
	parse_bad("a = \"\"\"\nx\ny\n", "line 1: unterminated string");
	parse_bad("a = 1\nb = \"x\\q\"\n", "line 2: invalid escape sequence");
	parse_bad("a = 1\n# \xff\n", "line 2: invalid UTF-8");
	parse_bad("a = 1\nb = 2\x01\n", "line 2: control character U+0001 is not allowed");
	parse_bad("a = 1\n\"b\nc\" = 1\n", "line 2: newline in a single-line string");
	parse_bad("x = 1\nx.y = 2\n", "line 2: cannot add keys to x with a dotted key: "
	    "it is already defined");
	parse_bad("[\"a b\".c]\n[\"a b\".c]\n", "line 2: table \"a b\".c is already defined");
	parse_bad("a = [1,\n2\n", "line 3: expected ',' or ']' in array");
	parse_bad("=1\n", "line 1: expected a key");
	parse_bad("a 1\n", "line 1: expected '=' after key");
	parse_bad("a = 01\n", "line 1: leading zeros are not allowed");
	parse_bad("a = 2023-02-30\n", "line 1: invalid date");
	parse_bad("a = [[1]]\n[[a]]\n", "line 2: key a is already defined and is not an "
	    "array of tables");
	parse_bad("a = {b = 1}\n[a.c]\n", "line 2: key a is not a table that can be extended");
}

static void
test_limits(void **state)
{
	struct buf b;
	int i;

	(void)state;
	buf_init(&b, 1 << 16);
	buf_adds(&b, "[a");
	for (i = 0; i < 100; i++)
		buf_adds(&b, ".a");
	buf_adds(&b, "]\n");
	parse_bad(buf_str(&b), "line 1: key has more than 100 parts");
	buf_reset(&b);
	buf_adds(&b, "[a");
	for (i = 0; i < 99; i++)
		buf_adds(&b, ".a");
	buf_adds(&b, "]\nb = 1\n");
	parse_bad(buf_str(&b), "line 2: nesting deeper than 100 levels");
	buf_reset(&b);
	buf_adds(&b, "x = ");
	for (i = 0; i < 101; i++)
		buf_adds(&b, "{a = ");
	parse_bad(buf_str(&b), "line 1: nesting deeper than 100 levels");
	buf_free(&b);
	toml_free(NULL);
}

static void
test_empty_document(void **state)
{
	struct toml_value *root;

	(void)state;
	root = parse_ok("");
	assert_int_equal(root->type, TOML_TABLE);
	assert_int_equal(root->u.tab.kind, TOML_TABLE_ROOT);
	assert_int_equal(root->u.tab.len, 0);
	toml_free(root);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_and_types),
		cmocka_unit_test(test_kinds),
		cmocka_unit_test(test_date_time_kinds),
		cmocka_unit_test(test_strings_with_nul),
		cmocka_unit_test(test_multiline_strings),
		cmocka_unit_test(test_many_keys),
		cmocka_unit_test(test_bom_and_crlf),
		cmocka_unit_test(test_error_lines),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_empty_document),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
