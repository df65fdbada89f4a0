/*
 * Tests for towerfile: reading with case folding and equivalent spellings,
 * wrong types as parse errors, every validation rule and message of
 * towerfile.md §2 in order, the params_schema of §4.1, and the path rules.
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
#include "json.h"
#include "towerfile.h"

#include "tfparse.h"

static void
valid(const char *text)
{
	struct towerfile *tf = parse_ok(text);
	struct err err;

	err_clear(&err);
	if (towerfile_validate(tf, &err) != 0)
		fail_msg("unexpected validation error: %s", err.msg);
	towerfile_free(tf);
}

static void
invalid(const char *text, const char *want)
{
	struct towerfile *tf = parse_ok(text);
	struct err err;

	err_clear(&err);
	assert_int_equal(towerfile_validate(tf, &err), -1);
	assert_int_equal(err.code, ERR_TOWERFILE_INVALID);
	assert_string_equal(err.msg, want);
	towerfile_free(tf);
}

static void
test_full(void **state)
{
	struct towerfile *tf;

	(void)state;
	tf = parse_ok("[app]\nname = \"hello\"\nscript = \"main.py\"\nsource = [\"./*.py\", \"lib/**\"]\n"
	    "import_paths = [\"./lib\"]\nunknown = 5\n[app.timeout]\nseconds = 60\n"
	    "[[parameters]]\nname = \"name\"\ndescription = \"Who to greet\"\ntype = \"string\"\n"
	    "default = \"World\"\n[[parameters]]\nname = \"n\"\n[other]\nx = 1\n");
	assert_string_equal(tf->name, "hello");
	assert_int_equal(tf->name_len, 5);
	assert_string_equal(tf->script, "main.py");
	assert_int_equal(tf->nsource, 2);
	assert_string_equal(tf->source[1], "lib/**");
	assert_null(tf->source[2]);
	assert_int_equal(tf->nimport_paths, 1);
	assert_string_equal(tf->import_paths[0], "./lib");
	assert_true(tf->has_timeout);
	assert_int_equal(tf->timeout_seconds, 60);
	assert_int_equal(tf->nparams, 2);
	assert_string_equal(tf->params[0].description, "Who to greet");
	assert_string_equal(tf->params[0].type, "string");
	assert_true(tf->params[0].has_default);
	assert_string_equal(json_string_value(tf->params[0].default_value), "World");
	assert_string_equal(tf->params[1].name, "n");
	assert_null(tf->params[1].type);
	assert_false(tf->params[1].has_default);
	assert_string_equal(tf->params[1].description, "");
	towerfile_free(tf);
	towerfile_free(NULL);
}

static void
test_empty(void **state)
{
	struct towerfile *tf;

	(void)state;
	tf = parse_ok("");
	assert_string_equal(tf->name, "");
	assert_string_equal(tf->script, "");
	assert_int_equal(tf->nsource, 0);
	assert_false(tf->has_timeout);
	assert_int_equal(tf->nparams, 0);
	assert_null(towerfile_params_schema(tf));
	towerfile_free(tf);
	invalid("", "app.name is required");
}

static void
test_case_folding(void **state)
{
	struct towerfile *tf;

	(void)state;
	tf = parse_ok("[App]\nName = \"hello\"\nSCRIPT = \"main.py\"\n[[Parameters]]\n"
	    "NAME = \"x\"\nType = \"integer\"\nDefault = 3\n");
	assert_string_equal(tf->name, "hello");
	assert_string_equal(tf->script, "main.py");
	assert_int_equal(tf->nparams, 1);
	assert_string_equal(tf->params[0].type, "integer");
	assert_true(tf->params[0].has_default);
	towerfile_free(tf);
	/* exact case wins wherever it is; otherwise the last folded key */
	tf = parse_ok("[app]\nname = \"exact\"\nNAME = \"upper\"\n");
	assert_string_equal(tf->name, "exact");
	towerfile_free(tf);
	tf = parse_ok("[app]\nNAME = \"one\"\nName = \"two\"\nscript = \"a.py\"\n");
	assert_string_equal(tf->name, "two");
	towerfile_free(tf);
	/* a wrong type under a folded key that does not count is ignored */
	tf = parse_ok("[app]\nNAME = 5\nname = \"exact\"\n");
	assert_string_equal(tf->name, "exact");
	towerfile_free(tf);
	/* only ASCII letters fold: U+017F (long s) is not 's' */
	tf = parse_ok("[app]\nname = \"hello\"\n\"\xc5\xbf" "cript\" = \"main.py\"\n");
	assert_string_equal(tf->script, "");
	towerfile_free(tf);
}

static void
test_spellings(void **state)
{
	(void)state;
	valid("app.name = \"hello\"\napp.script = \"main.py\"\n");
	valid("app = {name = \"hello\", script = \"main.py\", timeout = {seconds = 5}}\n");
	valid("parameters = [{name = \"n\", type = \"number\", default = 1.5}]\n" APP);
	valid("[app]\nname = \"hello\"\nscript = \"main.py\"\ntimeout.seconds = 3\n");
	valid(APP "[[parameters]]\nname = \"a\"\n[[parameters]]\nname = \"b\"\n");
}

static void
test_wrong_types(void **state)
{
	(void)state;
	parse_bad("[app]\nname = 5\n",
	    "parsing towerfile: line 2: app.name must be a string, got integer");
	parse_bad("[app]\nname = \"x\"\ntimeout = 60\n",
	    "parsing towerfile: line 3: app.timeout must be a table, got integer");
	parse_bad("[app.timeout]\nseconds = 1.5\n",
	    "parsing towerfile: line 2: app.timeout.seconds must be an integer, got float");
	parse_bad("[app]\nsource = \"./*.py\"\n",
	    "parsing towerfile: line 2: app.source must be an array of strings, got string");
	parse_bad("[app]\nimport_paths = [\"a\",\n 2]\n",
	    "parsing towerfile: line 3: app.import_paths[1] must be a string, got integer");
	parse_bad("[[app]]\nname = \"x\"\n",
	    "parsing towerfile: line 1: app must be a table, got array of tables");
	parse_bad("app = \"x\"\n", "parsing towerfile: line 1: app must be a table, got string");
	parse_bad("[parameters]\nname = \"x\"\n",
	    "parsing towerfile: line 1: parameters must be an array of tables, got table");
	parse_bad("parameters = [1]\n",
	    "parsing towerfile: line 1: parameters[0] must be a table, got integer");
	parse_bad("[[parameters]]\nname = \"a\"\n[[parameters]]\ntype = true\n",
	    "parsing towerfile: line 4: parameters[1].type must be a string, got bool");
	parse_bad("[[parameters]]\ndescription = {a = 1}\n",
	    "parsing towerfile: line 2: parameters[0].description must be a string, "
	    "got inline table");
	parse_bad("[app.timeout]\nseconds = 2024-01-01\n",
	    "parsing towerfile: line 2: app.timeout.seconds must be an integer, got date-local");
}

static void
test_toml_errors(void **state)
{
	(void)state;
	parse_bad("[app]\nname = \"x\"\nname = \"y\"\n",
	    "parsing towerfile: line 3: key name is already defined");
	parse_bad("[app\n", "parsing towerfile: line 1: expected ']' at the end of a table header");
	parse_bad("a = 1\nb = \"unterminated\n",
	    "parsing towerfile: line 2: newline in a single-line string");
}

static void
test_rules_name_script(void **state)
{
	(void)state;
	invalid("[app]\nscript = \"main.py\"\n", "app.name is required");
	invalid("[app]\nname = \"\"\nscript = \"\"\n", "app.name is required");
	invalid("[app]\nname = \"api\"\nscript = \"x\"\n", "app.name: slug is reserved");
	invalid("[app]\nname = \"ab\"\n", "app.name: slug must be at least 3 characters");
	invalid("[app]\nname = \"Hello\"\n", "app.name: slug must start with a letter and "
	    "contain only lowercase letters, numbers, and hyphens");
	invalid("[app]\nname = \"hel\\u0000lo\"\n", "app.name: slug must start with a letter "
	    "and contain only lowercase letters, numbers, and hyphens");
	invalid("[app]\nname = \"hello\"\n", "app.script is required");
	invalid("[app]\nname = \"hello\"\nscript = \"ma\\nin.py\"\n",
	    "app.script must not contain control characters");
	invalid("[app]\nname = \"hello\"\nscript = \"main\\u007f.py\"\n",
	    "app.script must not contain control characters");
	invalid("[app]\nname = \"hello\"\nscript = \"../main.rb\"\n",
	    "app.script must end in .py or .sh, got \".rb\"");
	invalid("[app]\nname = \"hello\"\nscript = \"main\"\n",
	    "app.script must end in .py or .sh, got \"\"");
	invalid("[app]\nname = \"hello\"\nscript = \"v1.0/main\"\n",
	    "app.script must end in .py or .sh, got \"\"");
	invalid("[app]\nname = \"hello\"\nscript = \"main.RB\"\n",
	    "app.script must end in .py or .sh, got \".rb\"");
	invalid("[app]\nname = \"hello\"\nscript = \"main.p\\\"y\"\n",
	    "app.script must end in .py or .sh, got \".p\\\"y\"");
	invalid("[app]\nname = \"hello\"\nscript = \"main.\xc3\xa9\"\n",
	    "app.script must end in .py or .sh, got \".\xc3\xa9\"");
	invalid("[app]\nname = \"hello\"\nscript = \"../main.py\"\n",
	    "app.script must not contain path traversal");
	invalid("[app]\nname = \"hello\"\nscript = \"a/../../main.py\"\n",
	    "app.script must not contain path traversal");
	invalid("[app]\nname = \"hello\"\nscript = \"..data/main.sh\"\n",
	    "app.script must not contain path traversal");
	valid("[app]\nname = \"hello\"\nscript = \"main.PY\"\n");
	valid("[app]\nname = \"hello\"\nscript = \"run.Sh\"\n");
	valid("[app]\nname = \"hello\"\nscript = \"a/../main.py\"\n");
	valid("[app]\nname = \"hello\"\nscript = \"/abs/main.py\"\n");
	valid("[app]\nname = \"hello\"\nscript = \"/../main.py\"\n");
}

static void
test_rules_lists(void **state)
{
	struct buf b;
	int i;

	(void)state;
	invalid(APP "source = [\"./*.py\", \"../x\"]\n",
	    "source pattern \"../x\" must not escape the project root");
	invalid(APP "source = [\"a\\tb\", \"../x\"]\n",	/* rule 6 over all, then 6a */
	    "source pattern \"../x\" must not escape the project root");
	invalid(APP "source = [\"a\\tb\"]\n",
	    "source pattern \"a\\tb\" must not contain control characters");
	invalid(APP "import_paths = [\"lib\", \"x/../../y\"]\n",
	    "import_paths entry \"x/../../y\" must not escape the project root");
	invalid(APP "import_paths = [\"l\\u0001b\"]\n",
	    "import_paths entry \"l\\x01b\" must not contain control characters");
	valid(APP "source = [\"/abs/**\", \"./**\"]\nimport_paths = [\"/lib\"]\n");
	buf_init(&b, 1 << 16);
	buf_adds(&b, APP "import_paths = [");
	for (i = 0; i < 65; i++)
		buf_addf(&b, "%s\"p%d\"", i ? "," : "", i);
	buf_adds(&b, "]\n");
	invalid(buf_str(&b), "app.import_paths must have at most 64 entries, got 65");
	buf_reset(&b);
	buf_adds(&b, APP "import_paths = [");
	for (i = 0; i < 64; i++)
		buf_addf(&b, "%s\"p%d\"", i ? "," : "", i);
	buf_adds(&b, "]\n");
	valid(buf_str(&b));
	buf_reset(&b);
	buf_adds(&b, APP "import_paths = [\"");
	for (i = 0; i < 1024; i++)
		buf_addc(&b, 'x');
	buf_adds(&b, "\"]\n");
	valid(buf_str(&b));
	buf_free(&b);
}

static void
test_rule_7b_length(void **state)
{
	struct towerfile *tf;
	struct err err;
	struct buf b;
	int i;

	(void)state;
	buf_init(&b, 1 << 16);
	buf_adds(&b, APP "import_paths = [\"");
	for (i = 0; i < 1025; i++)
		buf_addc(&b, 'x');
	buf_adds(&b, "\"]\n");
	tf = parse_ok(buf_str(&b));
	assert_int_equal(towerfile_validate(tf, &err), -1);
	buf_reset(&b);
	buf_adds(&b, "import_paths entry \"");
	for (i = 0; i < 1025; i++)
		buf_addc(&b, 'x');
	buf_adds(&b, "\" must be at most 1024 bytes");
	assert_string_equal(err.msg, buf_str(&b));
	towerfile_free(tf);
	buf_free(&b);
}

static void
test_rule_timeout(void **state)
{
	(void)state;
	invalid(APP "[app.timeout]\n", "app.timeout.seconds must be >= 1, got 0");
	invalid(APP "[app.timeout]\nseconds = 0\n", "app.timeout.seconds must be >= 1, got 0");
	invalid(APP "[app.timeout]\nseconds = -9223372036854775808\n",
	    "app.timeout.seconds must be >= 1, got -9223372036854775808");
	valid(APP "[app.timeout]\nseconds = 1\n");
	/* rule order: lists (7) before timeout (8) */
	invalid(APP "import_paths = [\"..\"]\n[app.timeout]\n",
	    "import_paths entry \"..\" must not escape the project root");
}

/* Rule 12 (issue 14): app.schedule and app.schedule_timezone. */
static void
test_rule_schedule(void **state)
{
	struct towerfile *tf;

	(void)state;
	tf = parse_ok(APP "schedule = \"0 6 * * 1-5\"\nschedule_timezone = \"Europe/London\"\n");
	assert_string_equal(tf->schedule, "0 6 * * 1-5");
	assert_string_equal(tf->schedule_timezone, "Europe/London");
	towerfile_free(tf);
	tf = parse_ok(APP);
	assert_null(tf->schedule);
	assert_null(tf->schedule_timezone);
	towerfile_free(tf);
	valid(APP "schedule = \"every 2 hours\"\n");
	valid(APP "Schedule = \"@daily\"\n");
	invalid(APP "schedule = \"0 0 L * *\"\n", "app.schedule: cron: day-of-month: 'L' is not supported");
	invalid(APP "schedule = \"* * * * *\"\nschedule_timezone = \"Mars/Base\"\n",
	    "app.schedule_timezone: unknown time zone");
	invalid(APP "schedule_timezone = \"UTC\"\n", "app.schedule_timezone needs app.schedule");
	parse_bad(APP "schedule = 5\n",
	    "parsing towerfile: line 4: app.schedule must be a string, got integer");
}

static void
test_rules_params(void **state)
{
	(void)state;
	invalid(APP "[[parameters]]\ndescription = \"d\"\n", "parameters[0].name is required");
	invalid(APP "[[parameters]]\nname = \"a\"\n[[parameters]]\nname = \"\"\n",
	    "parameters[1].name is required");
	invalid(APP "[[parameters]]\nname = \"a\"\n[[parameters]]\nname = \"b\"\n"
	    "[[parameters]]\nname = \"a\"\n", "duplicate parameter name \"a\"");
	invalid(APP "[[parameters]]\nname = \"a\"\ntype = \"float\"\n",
	    "parameters[0].type must be one of string, number, integer, boolean; got \"float\"");
	invalid(APP "[[parameters]]\nname = \"a\"\ntype = \"String\"\n",
	    "parameters[0].type must be one of string, number, integer, boolean; got \"String\"");
	/* parameter by parameter: a bad type of #0 beats a missing name of #1 */
	invalid(APP "[[parameters]]\nname = \"a\"\ntype = \"x\"\n[[parameters]]\n",
	    "parameters[0].type must be one of string, number, integer, boolean; got \"x\"");
	invalid(APP "[[parameters]]\nname = \"a\"\ntype = \"boolean\"\ndefault = 1\n",
	    "parameters[0].default must be a boolean, got int64");
	invalid(APP "[[parameters]]\nname = \"a\"\ndefault = 1\n",
	    "parameters[0].default must be a string, got int64");
	invalid(APP "[[parameters]]\nname = \"a\"\ntype = \"integer\"\ndefault = 1.0\n",
	    "parameters[0].default must be an integer, got float64");
	invalid(APP "[[parameters]]\nname = \"a\"\ntype = \"number\"\ndefault = \"1\"\n",
	    "parameters[0].default must be a number, got string");
	invalid(APP "[[parameters]]\nname = \"a\"\ntype = \"number\"\ndefault = inf\n",
	    "parameters[0].default must be a finite number");
	invalid(APP "[[parameters]]\nname = \"a\"\ntype = \"number\"\ndefault = -inf\n",
	    "parameters[0].default must be a finite number");
	invalid(APP "[[parameters]]\nname = \"a\"\ntype = \"number\"\ndefault = nan\n",
	    "parameters[0].default must be a finite number");
	invalid(APP "[[parameters]]\nname = \"a\"\ntype = \"integer\"\ndefault = nan\n",
	    "parameters[0].default must be an integer, got float64");
	valid(APP "[[parameters]]\nname = \"a\"\ntype = \"number\"\ndefault = 1\n");
	valid(APP "[[parameters]]\nname = \"a\"\ntype = \"\"\ndefault = \"x\"\n");
	valid(APP "[[parameters]]\nname = \"a\"\ntype = \"boolean\"\ndefault = false\n");
	valid(APP "[[parameters]]\nname = \"a b.c\"\n[[parameters]]\nname = \"A B.C\"\n");
	/* rule order: app rules first */
	invalid("[app]\nname = \"hello\"\n[[parameters]]\n", "app.script is required");
}

static void
default_kind(const char *value, const char *kind)
{
	char text[512], want[160];

	snprintf(text, sizeof(text), APP "[[parameters]]\nname = \"a\"\ntype = \"boolean\"\n%s\n",
	    value);
	snprintf(want, sizeof(want), "parameters[0].default must be a boolean, got %s", kind);
	invalid(text, want);
}

static void
test_default_kinds(void **state)
{
	(void)state;
	default_kind("default = \"x\"", "string");
	default_kind("default = 5", "int64");
	default_kind("default = 5e3", "float64");
	default_kind("default = 1979-05-27T07:32:00Z", "time.Time");
	default_kind("default = 1979-05-27T07:32:00", "time.Time");
	default_kind("default = 1979-05-27", "time.Time");
	default_kind("default = 07:32:00", "time.Time");
	default_kind("default = [true]", "[]interface {}");
	default_kind("default = [{a = 1}]", "[]interface {}");
	default_kind("default = {a = true}", "map[string]interface {}");
	default_kind("default.a = true", "map[string]interface {}");
	default_kind("[parameters.default]\na = 1", "map[string]interface {}");
	default_kind("[[parameters.default]]\na = 1", "[]map[string]interface {}");
}

static char *
schema_of(const char *text)
{
	struct towerfile *tf = parse_ok(text);
	struct err err;
	json_t *schema;
	char *s;

	assert_int_equal(towerfile_validate(tf, &err), 0);
	schema = towerfile_params_schema(tf);
	assert_non_null(schema);
	s = json_dumps_sorted(schema);
	json_decref(schema);
	towerfile_free(tf);
	return s;
}

static void
test_schema(void **state)
{
	char *s;

	(void)state;
	s = schema_of(APP "[[parameters]]\nname = \"name\"\ndescription = \"Who to greet\"\n"
	    "default = \"World\"\n[[parameters]]\nname = \"count\"\ntype = \"integer\"\n"
	    "default = 3\n[[parameters]]\nname = \"ratio\"\ntype = \"number\"\ndefault = 1.0\n"
	    "description = \"\"\n[[parameters]]\nname = \"b\"\ntype = \"boolean\"\n"
	    "[[parameters]]\nname = \"f\"\ntype = \"number\"\ndefault = 2.5\n");
	assert_string_equal(s, "{\"properties\":{"
	    "\"b\":{\"type\":\"boolean\"},"
	    "\"count\":{\"default\":3,\"type\":\"integer\"},"
	    "\"f\":{\"default\":2.5,\"type\":\"number\"},"
	    "\"name\":{\"default\":\"World\",\"description\":\"Who to greet\",\"type\":\"string\"},"
	    "\"ratio\":{\"default\":1,\"type\":\"number\"}},"
	    "\"type\":\"object\"}");
	free(s);
	s = schema_of("parameters = [{name = \"x\"}]\n" APP);
	assert_string_equal(s, "{\"properties\":{\"x\":{\"type\":\"string\"}},\"type\":\"object\"}");
	free(s);
	s = schema_of(APP "[[parameters]]\nname = \"<k>\"\ndescription = \"a\\u0000b\"\n");
	assert_string_equal(s, "{\"properties\":{\"\\u003ck\\u003e\":{\"description\":"
	    "\"a\\u0000b\",\"type\":\"string\"}},\"type\":\"object\"}");
	free(s);
}

static void
clean(const char *in, const char *want)
{
	char out[256];

	assert_int_equal(towerfile_clean_path(in, out, sizeof(out)), 0);
	assert_string_equal(out, want);
}

static void
test_clean_path(void **state)
{
	char small[4];

	(void)state;
	clean("", ".");
	clean(".", ".");
	clean("./", ".");
	clean("a//b", "a/b");
	clean("./a/./b/", "a/b");
	clean("a/b/..", "a");
	clean("a/../..", "..");
	clean("../../x", "../../x");
	clean("/..", "/");
	clean("/../a", "/a");
	clean("//a//", "/a");
	clean("a/b/../../c", "c");
	clean("..data/x", "..data/x");
	clean("abc/...", "abc/...");
	assert_int_equal(towerfile_clean_path("abcdef", small, sizeof(small)), -1);
	assert_int_equal(towerfile_clean_path("abc", small, sizeof(small)), 0);
}

static void
test_traverses(void **state)
{
	(void)state;
	assert_true(towerfile_path_traverses(".."));
	assert_true(towerfile_path_traverses("../a"));
	assert_true(towerfile_path_traverses("a/../../b"));
	assert_true(towerfile_path_traverses("..data"));
	assert_true(towerfile_path_traverses("./..x/y"));
	assert_false(towerfile_path_traverses("a/.."));
	assert_false(towerfile_path_traverses("a/..b"));
	assert_false(towerfile_path_traverses("/.."));
	assert_false(towerfile_path_traverses("/abs/x"));
	assert_false(towerfile_path_traverses("./**"));
	assert_false(towerfile_path_traverses("a...b"));
	assert_false(towerfile_path_traverses(""));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_rule_schedule),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_case_folding),
		cmocka_unit_test(test_spellings),
		cmocka_unit_test(test_wrong_types),
		cmocka_unit_test(test_toml_errors),
		cmocka_unit_test(test_rules_name_script),
		cmocka_unit_test(test_rules_lists),
		cmocka_unit_test(test_rule_7b_length),
		cmocka_unit_test(test_rule_timeout),
		cmocka_unit_test(test_rules_params),
		cmocka_unit_test(test_default_kinds),
		cmocka_unit_test(test_schema),
		cmocka_unit_test(test_clean_path),
		cmocka_unit_test(test_traverses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
