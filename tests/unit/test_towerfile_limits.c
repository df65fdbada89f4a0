/*
 * Tests for towerfile_limits: [app.sandbox] and [app.resources] read with
 * defaults and case folding, wrong types as parse errors naming the key,
 * every refusal of rules 10 and 11, and the JSON form stored with a version.
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

/* The compact JSON of the sandbox and resources of a valid Towerfile ("-"
 * when absent). */
static void
json_is(const char *text, const char *sandbox, const char *resources)
{
	struct towerfile *tf = parse_ok(text);
	struct err err;
	json_t *s, *r;
	struct buf b;

	err_clear(&err);
	if (towerfile_validate(tf, &err) != 0)
		fail_msg("unexpected validation error: %s", err.msg);
	s = towerfile_sandbox_json(tf);
	r = towerfile_resources_json(tf);
	buf_init(&b, 4096);
	if (s != NULL)
		json_encode(&b, s, NULL, false);
	assert_string_equal(s != NULL ? buf_str(&b) : "-", sandbox);
	buf_reset(&b);
	if (r != NULL)
		json_encode(&b, r, NULL, false);
	assert_string_equal(r != NULL ? buf_str(&b) : "-", resources);
	buf_free(&b);
	json_decref(s);
	json_decref(r);
	towerfile_free(tf);
}

static void
test_absent(void **state)
{
	(void)state;
	json_is(APP, "-", "-");
	json_is(APP "[app.timeout]\nseconds = 5\n", "-", "-");
}

static void
test_sandbox(void **state)
{
	(void)state;
	json_is(APP "[app.sandbox]\n", "{\"network\":true}", "-");
	json_is(APP "[app.sandbox]\nnetwork = false\n", "{\"network\":false}", "-");
	json_is(APP "[app.sandbox]\nnetwork = true\nwritable_paths = []\n", "{\"network\":true}", "-");
	json_is(APP "[app.sandbox]\nnetwork = false\nwritable_paths = [\"/srv/cache\", \"/tmp/x\"]\n",
	    "{\"network\":false,\"writable_paths\":[\"/srv/cache\",\"/tmp/x\"]}", "-");
	/* unknown keys ignored, ASCII case folding, other spellings */
	json_is(APP "[app.SANDBOX]\nNetwork = false\nshell = \"bash\"\n", "{\"network\":false}", "-");
	json_is(APP "sandbox = { network = false }\n", "{\"network\":false}", "-");
	json_is("app.name = \"hello\"\napp.script = \"main.py\"\napp.sandbox.network = false\n",
	    "{\"network\":false}", "-");
	json_is(APP "[app.sandbox]\nwritable_paths = [\"/procfs\", \"/devices/x\", \"/system\"]\n",
	    "{\"network\":true,\"writable_paths\":[\"/procfs\",\"/devices/x\",\"/system\"]}", "-");
}

static void
test_resources(void **state)
{
	(void)state;
	json_is(APP "[app.resources]\n", "-", "-");
	json_is(APP "[app.resources]\nopen_files = 256\ndisk_mb = 100\npids = 64\ncpus = 0.5\n"
	    "memory_mb = 256\ngpu = 1\n", "-",
	    "{\"memory_mb\":256,\"cpus\":0.5,\"pids\":64,\"disk_mb\":100,\"open_files\":256}");
	json_is(APP "[app.resources]\ncpus = 2\n", "-", "{\"cpus\":2}");
	json_is(APP "[app.resources]\ncpus = 2.0\n", "-", "{\"cpus\":2}");
	json_is(APP "[app.resources]\ncpus = 0.1234\n", "-", "{\"cpus\":0.123}");
	json_is(APP "[app.resources]\ncpus = 0.001\n", "-", "{\"cpus\":0.001}");
	json_is(APP "[app.resources]\ncpus = 1024\n", "-", "{\"cpus\":1024}");
	json_is(APP "[app.resources]\nmemory_mb = 4\npids = 1\ndisk_mb = 1\nopen_files = 16\n", "-",
	    "{\"memory_mb\":4,\"pids\":1,\"disk_mb\":1,\"open_files\":16}");
	json_is(APP "[app.resources]\nmemory_mb = 1048576\npids = 4194304\ndisk_mb = 16777216\n"
	    "open_files = 1048576\n", "-", "{\"memory_mb\":1048576,\"pids\":4194304,"
	    "\"disk_mb\":16777216,\"open_files\":1048576}");
	json_is(APP "[app.sandbox]\nnetwork = false\n[app.resources]\nMemory_MB = 64\n",
	    "{\"network\":false}", "{\"memory_mb\":64}");
}

static void
test_wrong_types(void **state)
{
	(void)state;
	parse_bad(APP "sandbox = true\n",
	    "parsing towerfile: line 4: app.sandbox must be a table, got bool");
	parse_bad(APP "resources = [1]\n",
	    "parsing towerfile: line 4: app.resources must be a table, got array");
	parse_bad(APP "[app.sandbox]\nnetwork = \"yes\"\n",
	    "parsing towerfile: line 5: app.sandbox.network must be a boolean, got string");
	parse_bad(APP "[app.sandbox]\nwritable_paths = \"/srv\"\n",
	    "parsing towerfile: line 5: app.sandbox.writable_paths must be an array of strings, "
	    "got string");
	parse_bad(APP "[app.sandbox]\nwritable_paths = [\"/srv\", 1]\n",
	    "parsing towerfile: line 5: app.sandbox.writable_paths[1] must be a string, got integer");
	parse_bad(APP "[app.resources]\nmemory_mb = 1.5\n",
	    "parsing towerfile: line 5: app.resources.memory_mb must be an integer between 4 "
	    "and 1048576, got float");
	parse_bad(APP "[app.resources]\nmemory_mb = \"256\"\n",
	    "parsing towerfile: line 5: app.resources.memory_mb must be an integer between 4 "
	    "and 1048576, got string");
	parse_bad(APP "[app.resources]\npids = true\n",
	    "parsing towerfile: line 5: app.resources.pids must be an integer between 1 "
	    "and 4194304, got bool");
	parse_bad(APP "[app.resources]\ndisk_mb = 1e3\n",
	    "parsing towerfile: line 5: app.resources.disk_mb must be an integer between 1 "
	    "and 16777216, got float");
	parse_bad(APP "[app.resources]\nopen_files = [256]\n",
	    "parsing towerfile: line 5: app.resources.open_files must be an integer between 16 "
	    "and 1048576, got array");
	parse_bad(APP "[app.resources]\ncpus = \"0.5\"\n",
	    "parsing towerfile: line 5: app.resources.cpus must be a number greater than 0 "
	    "and at most 1024, got string");
}

static void
test_ranges(void **state)
{
	(void)state;
	invalid(APP "[app.resources]\nmemory_mb = 0\n",
	    "app.resources.memory_mb must be an integer between 4 and 1048576, got 0");
	invalid(APP "[app.resources]\nmemory_mb = 3\n",
	    "app.resources.memory_mb must be an integer between 4 and 1048576, got 3");
	invalid(APP "[app.resources]\nmemory_mb = 1048577\n",
	    "app.resources.memory_mb must be an integer between 4 and 1048576, got 1048577");
	invalid(APP "[app.resources]\npids = 0\n",
	    "app.resources.pids must be an integer between 1 and 4194304, got 0");
	invalid(APP "[app.resources]\npids = 4194305\n",
	    "app.resources.pids must be an integer between 1 and 4194304, got 4194305");
	invalid(APP "[app.resources]\ndisk_mb = -1\n",
	    "app.resources.disk_mb must be an integer between 1 and 16777216, got -1");
	invalid(APP "[app.resources]\ndisk_mb = 16777217\n",
	    "app.resources.disk_mb must be an integer between 1 and 16777216, got 16777217");
	invalid(APP "[app.resources]\nopen_files = 15\n",
	    "app.resources.open_files must be an integer between 16 and 1048576, got 15");
	invalid(APP "[app.resources]\nopen_files = 1048577\n",
	    "app.resources.open_files must be an integer between 16 and 1048576, got 1048577");
	invalid(APP "[app.resources]\ncpus = 0\n", "app.resources.cpus must be a number greater "
	    "than 0 and at most 1024 (at least 0.001), got 0");
	invalid(APP "[app.resources]\ncpus = -0.5\n", "app.resources.cpus must be a number "
	    "greater than 0 and at most 1024 (at least 0.001), got -0.5");
	invalid(APP "[app.resources]\ncpus = 0.0004\n", "app.resources.cpus must be a number "
	    "greater than 0 and at most 1024 (at least 0.001), got 0.0004");
	invalid(APP "[app.resources]\ncpus = 1024.5\n", "app.resources.cpus must be a number "
	    "greater than 0 and at most 1024 (at least 0.001), got 1024.5");
	invalid(APP "[app.resources]\ncpus = inf\n", "app.resources.cpus must be a number "
	    "greater than 0 and at most 1024 (at least 0.001), got inf");
	invalid(APP "[app.resources]\ncpus = nan\n", "app.resources.cpus must be a number "
	    "greater than 0 and at most 1024 (at least 0.001), got nan");
	/* the first failing key in the order memory_mb, cpus, pids, disk_mb, open_files */
	invalid(APP "[app.resources]\nopen_files = 1\npids = 0\ncpus = 0\nmemory_mb = 1\n",
	    "app.resources.memory_mb must be an integer between 4 and 1048576, got 1");
	invalid(APP "[app.resources]\nopen_files = 1\npids = 0\ncpus = 0\n", "app.resources.cpus "
	    "must be a number greater than 0 and at most 1024 (at least 0.001), got 0");
	/* the older rules come first */
	invalid(APP "[[parameters]]\nname = \"\"\n[app.resources]\nmemory_mb = 0\n",
	    "parameters[0].name is required");
}

static void
test_writable_paths(void **state)
{
	static const struct {
		const char *path, *problem;
	} bad[] = {
		{ "srv/cache", "must be an absolute path" },
		{ "", "must be an absolute path" },
		{ "./srv", "must be an absolute path" },
		{ "/", "must not be /" },
		{ "/srv//cache", "must be a clean path (no //, . or .. elements, or trailing /)" },
		{ "//srv", "must be a clean path (no //, . or .. elements, or trailing /)" },
		{ "/srv/", "must be a clean path (no //, . or .. elements, or trailing /)" },
		{ "/srv/./cache", "must be a clean path (no //, . or .. elements, or trailing /)" },
		{ "/srv/..", "must be a clean path (no //, . or .. elements, or trailing /)" },
		{ "/../etc", "must be a clean path (no //, . or .. elements, or trailing /)" },
		{ "/.", "must be a clean path (no //, . or .. elements, or trailing /)" },
		{ "/proc", "must not be under /proc, /sys or /dev" },
		{ "/proc/self", "must not be under /proc, /sys or /dev" },
		{ "/sys", "must not be under /proc, /sys or /dev" },
		{ "/sys/fs/cgroup", "must not be under /proc, /sys or /dev" },
		{ "/dev", "must not be under /proc, /sys or /dev" },
		{ "/dev/shm", "must not be under /proc, /sys or /dev" },
	};
	char text[4096], want[256], big[1100];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), APP "[app.sandbox]\nwritable_paths = [\"/ok\", \"%s\"]\n",
		    bad[i].path);
		snprintf(want, sizeof(want), "app.sandbox.writable_paths entry \"%s\" %s",
		    bad[i].path, bad[i].problem);
		invalid(text, want);
	}
	invalid(APP "[app.sandbox]\nwritable_paths = [\"/srv\\tx\"]\n",
	    "app.sandbox.writable_paths entry \"/srv\\tx\" must not contain control characters");
	invalid(APP "[app.sandbox]\nwritable_paths = [\"/srv\\u0000x\"]\n",
	    "app.sandbox.writable_paths entry \"/srv\\x00x\" must not contain control characters");
	invalid(APP "[app.sandbox]\nwritable_paths = [\"/srv\\u007f\"]\n",
	    "app.sandbox.writable_paths entry \"/srv\\x7f\" must not contain control characters");
	big[0] = '/';
	memset(big + 1, 'a', 1024);
	big[1025] = '\0';
	snprintf(text, sizeof(text), APP "[app.sandbox]\nwritable_paths = [\"%s\"]\n", big);
	snprintf(want, sizeof(want), "must be at most 1024 bytes");
	{
		struct towerfile *tf = parse_ok(text);
		struct err err;

		assert_int_equal(towerfile_validate(tf, &err), -1);
		assert_non_null(strstr(err.msg, want));
		towerfile_free(tf);
	}
	big[1024] = '\0';	/* exactly 1024 bytes is fine */
	snprintf(text, sizeof(text), APP "[app.sandbox]\nwritable_paths = [\"%s\"]\n", big);
	towerfile_free(parse_ok(text));
	invalid(APP "[app.sandbox]\nwritable_paths = [\"/a\",\"/b\",\"/c\",\"/d\",\"/e\",\"/f\","
	    "\"/g\",\"/h\",\"/i\",\"/j\",\"/k\",\"/l\",\"/m\",\"/n\",\"/o\",\"/p\",\"/q\"]\n",
	    "app.sandbox.writable_paths must have at most 16 entries, got 17");
	json_is(APP "[app.sandbox]\nwritable_paths = [\"/a\",\"/b\",\"/c\",\"/d\",\"/e\",\"/f\","
	    "\"/g\",\"/h\",\"/i\",\"/j\",\"/k\",\"/l\",\"/m\",\"/n\",\"/o\",\"/p\"]\n",
	    "{\"network\":true,\"writable_paths\":[\"/a\",\"/b\",\"/c\",\"/d\",\"/e\",\"/f\","
	    "\"/g\",\"/h\",\"/i\",\"/j\",\"/k\",\"/l\",\"/m\",\"/n\",\"/o\",\"/p\"]}", "-");
	/* sandbox before resources */
	invalid(APP "[app.sandbox]\nwritable_paths = [\"/\"]\n[app.resources]\npids = 0\n",
	    "app.sandbox.writable_paths entry \"/\" must not be /");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_absent),
		cmocka_unit_test(test_sandbox),
		cmocka_unit_test(test_resources),
		cmocka_unit_test(test_wrong_types),
		cmocka_unit_test(test_ranges),
		cmocka_unit_test(test_writable_paths),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
