/*
 * Unit tests of the runner's containment text: resources read from a lease
 * (fractional cpus exact in thousandths, refusals of bad values), defaults
 * and ceilings with the exact refusal messages, limits this host cannot
 * enforce, the runner's MINITOWER_DEFAULT_/MAX_ variables, and the
 * bubblewrap command line a job gets (namespaces, no capabilities, what is
 * bound read-only and read-write, jobinit as PID 1 without PWD).
 */
#include <stdio.h>
#include <string.h>

#include "../../src/runner/jail.c"
#include "../../src/runner/limits.c"

#include <setjmp.h>
#include <cmocka.h>

static struct limits
from(const char *json)
{
	json_t *j = json_loads(json, 0, NULL);
	struct limits l;
	char msg[256];

	assert_non_null(j);
	assert_int_equal(limits_from_json(&l, j, msg, sizeof(msg)), 0);
	json_decref(j);
	return l;
}

static void
test_limits_from_json(void **state)
{
	struct limits l = from("{\"memory_mb\":256,\"cpus\":0.5,\"pids\":64,\"disk_mb\":100,\"open_files\":300}");
	const char *bad[] = { "{\"cpus\":0}", "{\"memory_mb\":1.5}", "{\"pids\":-1}", "{\"disk_mb\":\"1\"}", NULL };
	char msg[256];
	int i;

	(void)state;
	assert_int_equal(l.memory_mb, 256);
	assert_int_equal(l.cpus_milli, 500);
	assert_int_equal(l.pids, 64);
	assert_int_equal(l.disk_mb, 100);
	assert_int_equal(l.open_files, 300);
	l = from("{\"cpus\":2}");
	assert_int_equal(l.cpus_milli, 2000);
	assert_int_equal(l.memory_mb, 0);
	assert_int_equal(limits_from_json(&l, NULL, msg, sizeof(msg)), 0);
	for (i = 0; bad[i] != NULL; i++) {
		json_t *j = json_loads(bad[i], 0, NULL);

		assert_int_equal(limits_from_json(&l, j, msg, sizeof(msg)), -1);
		assert_non_null(strstr(msg, "invalid resources."));
		json_decref(j);
	}
}

static void
test_limits_check(void **state)
{
	struct limits_caps all = { true, true, true }, none = { false, false, false };
	struct limits ceil = { .memory_mb = 256, .cpus_milli = 1500 };
	struct limits l = from("{\"memory_mb\":512}");
	struct limits def = { .pids = 4096, .cpus_milli = 250, .memory_mb = 64 };
	char msg[256];

	(void)state;
	assert_int_equal(limits_check(&l, &ceil, &all, msg, sizeof(msg)), -1);
	assert_string_equal(msg, "resources exceed this runner's limits: memory_mb = 512 > "
	    "MINITOWER_MAX_MEMORY_MB = 256");
	l = from("{\"cpus\":1.75}");
	assert_int_equal(limits_check(&l, &ceil, &all, msg, sizeof(msg)), -1);
	assert_string_equal(msg, "resources exceed this runner's limits: cpus = 1.75 > "
	    "MINITOWER_MAX_CPUS = 1.5");
	l = from("{\"cpus\":1.5,\"memory_mb\":256}");
	assert_int_equal(limits_check(&l, &ceil, &all, msg, sizeof(msg)), 0);
	assert_int_equal(limits_check(&l, &ceil, &none, msg, sizeof(msg)), -1);
	assert_string_equal(msg, "resources.cpus cannot be enforced: no usable cgroup on this runner");
	l = from("{\"disk_mb\":10}");
	assert_int_equal(limits_check(&l, &ceil, &none, msg, sizeof(msg)), -1);
	assert_string_equal(msg, "resources.disk_mb cannot be enforced: the runner does not run as root");
	/* Defaults fill what is unset; the unenforceable ones are dropped. */
	l = from("{\"memory_mb\":128}");
	limits_drop_unenforceable(&def, &none);
	limits_apply_defaults(&l, &def);
	assert_int_equal(l.memory_mb, 128);
	assert_int_equal(l.cpus_milli, 0);
	assert_int_equal(l.pids, 0);
	limits_describe(&l, msg, sizeof(msg));
	assert_string_equal(msg, "memory_mb 128");
	memset(&l, 0, sizeof(l));
	limits_describe(&l, msg, sizeof(msg));
	assert_string_equal(msg, "none");
}

static const char *env_vals[8][2];

static const char *
get(const char *name)
{
	int i;

	for (i = 0; env_vals[i][0] != NULL; i++)
		if (strcmp(env_vals[i][0], name) == 0)
			return env_vals[i][1];
	return NULL;
}

static void
test_limits_from_env(void **state)
{
	struct limits l;
	char msg[256];

	(void)state;
	env_vals[0][0] = "MINITOWER_MAX_CPUS";
	env_vals[0][1] = "0.5";
	env_vals[1][0] = "MINITOWER_MAX_PIDS";
	env_vals[1][1] = "100";
	assert_int_equal(limits_from_env(&l, get, "MAX", msg, sizeof(msg)), 0);
	assert_int_equal(l.cpus_milli, 500);
	assert_int_equal(l.pids, 100);
	env_vals[1][1] = "1.5";
	assert_int_equal(limits_from_env(&l, get, "MAX", msg, sizeof(msg)), -1);
	assert_string_equal(msg, "MINITOWER_MAX_PIDS must be a positive integer");
	env_vals[0][1] = "x";
	assert_int_equal(limits_from_env(&l, get, "MAX", msg, sizeof(msg)), -1);
	assert_string_equal(msg, "MINITOWER_MAX_CPUS must be a positive number");
}

/* The index of s in v (NULL-terminated), or -1. */
static int
find(char **v, const char *s)
{
	int i;

	for (i = 0; v[i] != NULL; i++)
		if (strcmp(v[i], s) == 0)
			return i;
	return -1;
}

static void
test_jail_argv(void **state)
{
	const char *ro[] = { "/srv/venv", NULL }, *rw[] = { "/tmp/r/work", "/srv/out", NULL };
	const char *argv[] = { "/bin/sh", "/tmp/r/work/job.sh", NULL };
	struct jail_spec js = {
		.mode = SANDBOX_BWRAP, .jobinit = "/opt/mt/minitower-jobinit", .bwrap = "/usr/bin/bwrap",
		.network = false, .ro = ro, .rw = rw, .tmp = "/tmp/r/tmp",
	};
	char **v = jail_argv(&js, argv, "/tmp/r/work");
	int dd, i;

	(void)state;
	assert_string_equal(v[0], "/usr/bin/bwrap");
	assert_true(find(v, "--die-with-parent") > 0);
	assert_true(find(v, "--as-pid-1") > 0);
	assert_true(find(v, "--unshare-pid") > 0);
	assert_true(find(v, "--unshare-net") > 0);
	i = find(v, "--cap-drop");
	assert_true(i > 0 && strcmp(v[i + 1], "ALL") == 0);
	i = find(v, "/srv/venv");
	assert_true(i > 1 && strcmp(v[i - 1], "--ro-bind") == 0);
	i = find(v, "/srv/out");
	assert_true(i > 1 && strcmp(v[i - 1], "--bind") == 0);
	i = find(v, "/tmp/r/tmp");
	assert_true(i > 1 && strcmp(v[i - 1], "--bind") == 0 && strcmp(v[i + 1], "/tmp") == 0);
	/* /tmp is bound before the run's paths under it. */
	assert_true(i < find(v, "/tmp/r/work"));
	assert_int_equal(find(v, "/etc/shadow"), -1);
	dd = find(v, "--");
	assert_true(dd > 0);
	assert_string_equal(v[dd + 1], "/opt/mt/minitower-jobinit");
	assert_string_equal(v[dd + 2], "-u");
	assert_string_equal(v[dd + 3], "PWD");
	assert_string_equal(v[dd + 4], "--");
	assert_string_equal(v[dd + 5], "/bin/sh");
	assert_null(v[dd + 7]);
	jail_argv_free(v);
	js.network = true;
	v = jail_argv(&js, argv, NULL);
	assert_int_equal(find(v, "--unshare-net"), -1);
	assert_int_equal(find(v, "--chdir"), -1);
	jail_argv_free(v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_limits_from_json),
		cmocka_unit_test(test_limits_check),
		cmocka_unit_test(test_limits_from_env),
		cmocka_unit_test(test_jail_argv),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
