/*
 * Unit tests of the runner's pure parts: the line splitter (UTF-8 repair,
 * CR handling, 8192-byte pieces on character boundaries), the lease
 * arithmetic, configuration validation, the job environment and its value
 * encoding, path cleaning, helper-output formatting and the venv cache key.
 * The runner's modules are compiled into this test directly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../src/runner/cmd.c"
#include "../../src/runner/config.c"
#include "../../src/runner/jail.c"
#include "../../src/runner/limits.c"
#include "../../src/runner/jobenv.c"
#include "../../src/runner/lease.c"
#include "../../src/runner/linesplit.c"

/* ---- line splitter ---- */

struct lines {
	char	*v[64];
	int	 n;
};

static void
collect(void *arg, const char *line, size_t len)
{
	struct lines *l = arg;

	assert_int_equal(strlen(line), len);
	assert_true(l->n < 64);
	l->v[l->n++] = xstrndup(line, len);
}

static void
lines_free(struct lines *l)
{
	int i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	l->n = 0;
}

static void
split_all(struct lines *l, const char *in, size_t n, size_t chunk)
{
	struct linesplit ls;
	size_t off;

	l->n = 0;
	linesplit_init(&ls, collect, l);
	for (off = 0; off < n; off += chunk)
		linesplit_feed(&ls, in + off, n - off < chunk ? n - off : chunk);
	linesplit_finish(&ls);
}

static void
test_split_basic(void **state)
{
	struct lines l;
	static const char in[] = "a\r\n\nb\rc\nlast";
	size_t chunk;

	(void)state;
	for (chunk = 1; chunk <= sizeof(in); chunk++) {
		split_all(&l, in, sizeof(in) - 1, chunk);
		assert_int_equal(l.n, 4);
		assert_string_equal(l.v[0], "a");
		assert_string_equal(l.v[1], "");
		assert_string_equal(l.v[2], "b\rc");
		assert_string_equal(l.v[3], "last");
		lines_free(&l);
	}
	split_all(&l, "x\n", 2, 1);
	assert_int_equal(l.n, 1);	/* no empty entry after a final \n */
	lines_free(&l);
	split_all(&l, "", 0, 1);
	assert_int_equal(l.n, 0);
	split_all(&l, "y\r", 2, 1);	/* trailing \r at EOF removed */
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0], "y");
	lines_free(&l);
}

static void
test_split_utf8(void **state)
{
	struct lines l;
	/* é split across reads, a NUL, a lone continuation byte, a truncated
	 * 3-byte sequence (one U+FFFD for the maximal subpart), an overlong
	 * 0xC0 0xAF (two U+FFFD), a surrogate 0xED 0xA0 0x80 (three). */
	static const char in[] = "\xC3\xA9|\0|\x80|\xE2\x82|\xC0\xAF|\xED\xA0\x80|\xF0\x9F\x98\x80";
	size_t chunk;

	(void)state;
	for (chunk = 1; chunk <= 3; chunk++) {
		split_all(&l, in, sizeof(in) - 1, chunk);
		assert_int_equal(l.n, 1);
		assert_string_equal(l.v[0], "\xC3\xA9|\xEF\xBF\xBD|\xEF\xBF\xBD|\xEF\xBF\xBD|"
		    "\xEF\xBF\xBD\xEF\xBF\xBD|\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD|\xF0\x9F\x98\x80");
		lines_free(&l);
	}
	split_all(&l, "\xE2\x82", 2, 1);	/* incomplete at EOF */
	assert_string_equal(l.v[0], "\xEF\xBF\xBD");
	lines_free(&l);
}

static void
test_split_long(void **state)
{
	struct lines l;
	size_t n = 3 * 8192 + 10, i, total = 0;
	char *in = xmalloc(n + 1);

	(void)state;
	/* 1 ASCII byte, then 3-byte characters: boundaries are not at 8192. */
	in[0] = 'x';
	for (i = 1; i + 3 <= n; i += 3)
		memcpy(in + i, "\xE2\x82\xAC", 3);
	n = i;
	in[n++] = '\n';
	split_all(&l, in, n, 4096);
	assert_true(l.n >= 4);
	for (i = 0; i < (size_t)l.n; i++) {
		size_t len = strlen(l.v[i]);

		assert_true(len <= 8192);
		assert_true(len > 0);
		assert_true(((unsigned char)l.v[i][0] & 0xC0) != 0x80);	/* starts on a boundary */
		total += len;
	}
	assert_int_equal(total, n - 1);
	assert_int_equal(strlen(l.v[0]), 8191);	/* 1 + 3*2730 */
	lines_free(&l);
	/* Exactly 8192 bytes followed by \r\n: one piece, no empty tail. */
	memset(in, 'a', 8192);
	memcpy(in + 8192, "\r\n", 2);
	split_all(&l, in, 8194, 8194);
	assert_int_equal(l.n, 1);
	assert_int_equal(strlen(l.v[0]), 8192);
	lines_free(&l);
	free(in);
}

/* ---- lease arithmetic ---- */

static void
test_lease_math(void **state)
{
	struct lease_clock lc;

	(void)state;
	lease_begin(&lc, 1000, 60000);
	assert_int_equal(lc.deadline_ms, 61000);
	assert_int_equal(lease_margin_ms(&lc), 5000);
	assert_int_equal(lease_fence_at(&lc), 56000);
	assert_int_equal(lease_heartbeat_wait_s(&lc), 18);
	lease_update(&lc, 2000, 59000);	/* the TTL stays the lease's */
	assert_int_equal(lc.deadline_ms, 61000);
	assert_int_equal(lc.ttl_ms, 60000);
	assert_int_equal(lease_kill_at(&lc, 50000, 10000, false), 60000);
	assert_int_equal(lease_kill_at(&lc, 55000, 10000, true), 60000);	/* D - 1 s */
	assert_int_equal(lease_kill_at(&lc, 55000, 0, true), 55000);
	lease_begin(&lc, 0, 4000);	/* m = 1 s, cap = 1 s */
	assert_int_equal(lease_margin_ms(&lc), 1000);
	assert_int_equal(lease_heartbeat_wait_s(&lc), 1);
	lease_begin(&lc, 0, 2000);	/* cap 0: no wait */
	assert_int_equal(lease_heartbeat_wait_s(&lc), 0);
	lease_begin(&lc, 0, 15000);	/* (15-3.75)/3 = 3, cap 5 */
	assert_int_equal(lease_heartbeat_wait_s(&lc), 3);
	assert_int_equal(lease_backoff_ms(0, 0.5), 500);
	assert_int_equal(lease_backoff_ms(1, 0.5), 1000);
	assert_int_equal(lease_backoff_ms(4, 0.5), 5000);
	assert_int_equal(lease_backoff_ms(9, 0.5), 5000);
	assert_int_equal(lease_backoff_ms(0, 0.0), 400);
	assert_true(lease_backoff_ms(0, 0.999) < 600);
	assert_int_equal(lease_poll_pause_ms(3000, 0.0), 3000);
	assert_true(lease_poll_pause_ms(3000, 0.999) < 4500);
	assert_int_equal(lease_remaining_ms("1234", NULL, NULL), 1234);
	assert_int_equal(lease_remaining_ms("-5", NULL, NULL), 0);
	assert_int_equal(lease_remaining_ms("", "2026-01-01T00:01:00.500Z",
	    "Thu, 01 Jan 2026 00:00:00 GMT"), 60500);
	assert_int_equal(lease_remaining_ms(NULL, "bad", "Thu, 01 Jan 2026 00:00:00 GMT"), -1);
}

/* ---- configuration ---- */

static const char *const *fake_env;

static const char *
fake_get(const char *name)
{
	size_t n = strlen(name);
	int i;

	for (i = 0; fake_env[i] != NULL; i++)
		if (strncmp(fake_env[i], name, n) == 0 && fake_env[i][n] == '=')
			return fake_env[i] + n + 1;
	return NULL;
}

static const char *
load_err(const char *const *env, uid_t euid)
{
	static struct err err;
	struct config c;
	int rc;

	fake_env = env;
	err_clear(&err);
	rc = config_load(&c, fake_get, euid, &err);
	config_free(&c);
	return rc == 0 ? "" : err.msg;
}

#define BASE "MINITOWER_SERVER_URL=http://x/", "MINITOWER_RUNNER_NAME=r"

static void
test_config(void **state)
{
	struct config c;
	struct err err;
	const char *ok[] = { BASE, "HOME=/home/u", "MINITOWER_LEASE_WAIT=2.7s",
	    "MINITOWER_KILL_GRACE_PERIOD=bogus", "MINITOWER_VENV_CACHE=off", "TZ=", NULL };

	(void)state;
	assert_string_equal(load_err((const char *[]){ NULL }, 1000), "MINITOWER_SERVER_URL is required");
	assert_string_equal(load_err((const char *[]){ "MINITOWER_SERVER_URL=http://x",
	    "MINITOWER_RUNNER_NAME=", NULL }, 1000), "MINITOWER_RUNNER_NAME is required");
	assert_string_equal(load_err((const char *[]){ BASE, "MINITOWER_POLL_INTERVAL=0s", NULL }, 1000),
	    "MINITOWER_POLL_INTERVAL must be > 0");
	assert_true(strncmp(load_err((const char *[]){ BASE, "MINITOWER_POLL_INTERVAL=3x", NULL }, 1000),
	    "invalid MINITOWER_POLL_INTERVAL: ", 33) == 0);
	assert_string_equal(load_err((const char *[]){ BASE, "MINITOWER_LEASE_WAIT=61s", NULL }, 1000),
	    "MINITOWER_LEASE_WAIT must be between 0s and 60s");
	assert_string_equal(load_err((const char *[]){ BASE, "MINITOWER_DRAIN_TIMEOUT=-1s", NULL }, 1000),
	    "MINITOWER_DRAIN_TIMEOUT must be >= 0");
	assert_string_equal(load_err((const char *[]){ BASE, "MINITOWER_SETUP_TIMEOUT=0", NULL }, 1000),
	    "MINITOWER_SETUP_TIMEOUT must be > 0");
	assert_string_equal(load_err((const char *[]){ BASE, "MINITOWER_VENV_CACHE=yes", NULL }, 1000),
	    "MINITOWER_VENV_CACHE must be on or off");
	assert_string_equal(load_err((const char *[]){ BASE, "MINITOWER_VENV_CACHE_MAX=0", NULL }, 1000),
	    "MINITOWER_VENV_CACHE_MAX must be a positive integer");
	assert_string_equal(load_err((const char *[]){ BASE, "MINITOWER_ARTIFACT_CACHE=1", NULL }, 1000),
	    "MINITOWER_ARTIFACT_CACHE must be on or off");
	assert_string_equal(load_err((const char *[]){ BASE, "MINITOWER_ARTIFACT_CACHE_MAX=-3", NULL }, 1000),
	    "MINITOWER_ARTIFACT_CACHE_MAX must be a positive integer");
	assert_string_equal(load_err((const char *[]){ BASE, "MINITOWER_MAX_ARTIFACT_ENTRIES=x", NULL }, 1000),
	    "MINITOWER_MAX_ARTIFACT_ENTRIES must be a positive integer");
	assert_string_equal(load_err((const char *[]){ BASE,
	    "MINITOWER_MAX_ARTIFACT_EXPANDED_SIZE=-3", NULL }, 1000),
	    "MINITOWER_MAX_ARTIFACT_EXPANDED_SIZE must be a positive integer");
	assert_string_equal(load_err((const char *[]){ BASE, "MINITOWER_JOB_USER=nobody", NULL }, 1000),
	    "MINITOWER_JOB_USER requires running as root");
	assert_string_equal(load_err((const char *[]){ BASE, "MINITOWER_JOB_USER=no-such-user-x", NULL }, 0),
	    "unknown MINITOWER_JOB_USER: no-such-user-x");
	fake_env = ok;
	err_clear(&err);
	assert_int_equal(config_load(&c, fake_get, 1000, &err), 0);
	assert_string_equal(c.server_url, "http://x");
	assert_string_equal(c.environment, "default");
	assert_string_equal(c.data_dir, "/home/u/.minitower");
	/* The system interpreter where it exists (issue 13), else PATH's. */
	assert_string_equal(c.python_bin, access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3");
	assert_string_equal(c.tmpdir, "/tmp");
	assert_string_equal(c.lang, "C.UTF-8");
	assert_null(c.tz);	/* empty counts as unset */
	assert_null(c.reg_token);
	assert_int_equal(c.lease_wait_s, 2);
	assert_int_equal(c.kill_grace_ms, 10000);	/* invalid: default */
	assert_int_equal(c.poll_interval_ms, 3000);
	assert_int_equal(c.drain_timeout_ms, 30000);
	assert_int_equal(c.setup_timeout_ms, 900000);
	assert_false(c.venv_cache);
	assert_int_equal(c.venv_cache_max, 20);
	assert_true(c.artifact_cache);
	assert_int_equal(c.artifact_cache_max, 32);
	assert_int_equal(c.max_entries, 100000);
	assert_int_equal(c.max_expanded, 1073741824);
	config_free(&c);
}

/* MINITOWER_RUNNER_SLOTS: default 1, 1..CONFIG_SLOTS_MAX, anything else
 * refused at start-up with one message. */
static void
test_config_slots(void **state)
{
	static const char msg[] = "MINITOWER_RUNNER_SLOTS must be an integer from 1 to 64";
	const char *bad[] = { "0", "65", "-1", "4x", "four", " 4", "99999999999999999999", NULL };
	struct config c;
	struct err err;
	char var[64];
	int i;

	(void)state;
	for (i = 0; bad[i] != NULL; i++) {
		snprintf(var, sizeof(var), "MINITOWER_RUNNER_SLOTS=%s", bad[i]);
		assert_string_equal(load_err((const char *[]){ BASE, var, NULL }, 1000), msg);
	}
	fake_env = (const char *[]){ BASE, NULL };
	err_clear(&err);
	assert_int_equal(config_load(&c, fake_get, 1000, &err), 0);
	assert_int_equal(c.slots, 1);
	config_free(&c);
	fake_env = (const char *[]){ BASE, "MINITOWER_RUNNER_SLOTS=64", NULL };
	assert_int_equal(config_load(&c, fake_get, 1000, &err), 0);
	assert_int_equal(c.slots, CONFIG_SLOTS_MAX);
	config_free(&c);
	fake_env = (const char *[]){ BASE, "MINITOWER_RUNNER_SLOTS=", NULL };	/* empty: unset */
	assert_int_equal(config_load(&c, fake_get, 1000, &err), 0);
	assert_int_equal(c.slots, 1);
	config_free(&c);
}

/* ---- job environment ---- */

struct skips {
	char	 text[4096];
};

static void
on_skip(void *arg, const char *key, const char *reason)
{
	struct skips *s = arg;
	size_t n = strlen(s->text);

	snprintf(s->text + n, sizeof(s->text) - n, "[%s: %s]", key, reason);
}

static void
on_ignore(void *arg, const char *path)
{
	struct skips *s = arg;
	size_t n = strlen(s->text);

	snprintf(s->text + n, sizeof(s->text) - n, "{%s}", path);
}

static void
test_jobenv(void **state)
{
	const char *doc = "{\"name\":\"Ann\",\"n\":10,\"f\":1.5,\"big\":1e21,\"tiny\":1e-7,"
	    "\"flag\":true,\"nil\":null,\"list\":[\"alpha\",\"beta\"],\"obj\":{\"z\":1,\"a\":\"<b>\"},"
	    "\"PATH\":\"/evil\",\"LD_PRELOAD\":\"x\",\"MINITOWER_X\":\"y\",\"a=b\":\"1\",\"\":\"e\","
	    "\"LANG\":\"de_DE.UTF-8\",\"nul\":\"a\\u0000b\",\"batch-size\":\"3\"}";
	const char *ips[] = { "lib", "/abs/./x", "../up", "a:b", NULL };
	json_t *in = json_loads(doc, JSON_DECODE_INT_AS_REAL | JSON_ALLOW_NUL, NULL);
	struct jobenv_run r = {
		.run_id = 7, .run_no = 2, .attempt_no = 1, .version_no = 3, .app_slug = "hello",
		.input = in, .path = "/usr/bin:/bin", .lang = "C.UTF-8", .tz = NULL,
		.ws = "/r/work", .tmp = "/r/tmp", .input_file = "/r/input.json",
	};
	struct skips sk = { "" };
	struct jobenv e;

	(void)state;
	assert_non_null(in);
	jobenv_build(&e, &r, on_skip, on_ignore, &sk);
	assert_string_equal(jobenv_get(&e, "PATH"), "/usr/bin:/bin");
	assert_string_equal(jobenv_get(&e, "HOME"), "/r/work");
	assert_string_equal(jobenv_get(&e, "TMPDIR"), "/r/tmp");
	assert_string_equal(jobenv_get(&e, "LANG"), "de_DE.UTF-8");
	assert_null(jobenv_get(&e, "TZ"));
	assert_string_equal(jobenv_get(&e, "MINITOWER_RUN_ID"), "7");
	assert_string_equal(jobenv_get(&e, "MINITOWER_RUN_NO"), "2");
	assert_string_equal(jobenv_get(&e, "MINITOWER_ATTEMPT_NO"), "1");
	assert_string_equal(jobenv_get(&e, "MINITOWER_APP"), "hello");
	assert_string_equal(jobenv_get(&e, "MINITOWER_VERSION_NO"), "3");
	assert_string_equal(jobenv_get(&e, "MINITOWER_INPUT_FILE"), "/r/input.json");
	assert_null(jobenv_get(&e, "MINITOWER_X"));
	assert_null(jobenv_get(&e, "LD_PRELOAD"));
	assert_string_equal(jobenv_get(&e, "name"), "Ann");
	assert_string_equal(jobenv_get(&e, "n"), "10");
	assert_string_equal(jobenv_get(&e, "f"), "1.5");
	assert_string_equal(jobenv_get(&e, "big"), "1e+21");
	assert_string_equal(jobenv_get(&e, "tiny"), "1e-7");
	assert_string_equal(jobenv_get(&e, "flag"), "true");
	assert_string_equal(jobenv_get(&e, "nil"), "");
	assert_string_equal(jobenv_get(&e, "list"), "[\"alpha\",\"beta\"]");
	assert_string_equal(jobenv_get(&e, "obj"), "{\"a\":\"<b>\",\"z\":1}");
	assert_string_equal(jobenv_get(&e, "batch-size"), "3");
	assert_null(jobenv_get(&e, "nul"));
	assert_string_equal(sk.text,
	    "[: not a valid environment variable name]"
	    "[LD_PRELOAD: reserved name][MINITOWER_X: reserved name]"
	    "[PATH: reserved name][a=b: not a valid environment variable name]"
	    "[nul: value contains a NUL character]");
	assert_null(jobenv_get(&e, "VIRTUAL_ENV"));
	jobenv_free(&e);
	/* Python: venv variables after the input ones; import paths. */
	r.venv = "/v";
	r.import_paths = ips;
	sk.text[0] = '\0';
	json_decref(in);
	in = json_loads("{}", 0, NULL);
	r.input = in;
	jobenv_build(&e, &r, on_skip, on_ignore, &sk);
	assert_string_equal(jobenv_get(&e, "PATH"), "/v/bin:/usr/bin:/bin");
	assert_string_equal(jobenv_get(&e, "VIRTUAL_ENV"), "/v");
	assert_string_equal(jobenv_get(&e, "PYTHONDONTWRITEBYTECODE"), "1");
	assert_string_equal(jobenv_get(&e, "PYTHONPATH"), "/r/work/lib:/r/work/abs/x");
	assert_string_equal(sk.text, "{../up}{a:b}");
	jobenv_free(&e);
	json_decref(in);
}

static void
test_jobenv_too_large(void **state)
{
	json_t *in = json_object();
	char *big = xmalloc(131072);
	struct jobenv_run r = {
		.app_slug = "a", .input = in, .path = "/bin", .lang = "C",
		.ws = "/w", .tmp = "/t", .input_file = "/i",
	};
	struct skips sk = { "" };
	struct jobenv e;

	(void)state;
	memset(big, 'v', 131072 - 3);	/* "K=" + value: 131071 bytes, fits */
	big[131072 - 3] = '\0';
	json_object_set_new(in, "K", json_string(big));
	big[131072 - 3] = 'v';		/* one more: 131072 bytes, skipped */
	big[131072 - 2] = '\0';
	json_object_set_new(in, "L", json_string(big));
	jobenv_build(&e, &r, on_skip, NULL, &sk);
	assert_non_null(jobenv_get(&e, "K"));
	assert_null(jobenv_get(&e, "L"));
	assert_string_equal(sk.text, "[L: value too large]");
	jobenv_free(&e);
	json_decref(in);
	free(big);
}

static void
test_path_clean(void **state)
{
	static const char *const cases[][2] = {
		{ "./task.py", "task.py" }, { "a//b/./c/..", "a/b" }, { "", "." },
		{ "/../x", "/x" }, { "../a", "../a" }, { "a/../../b", "../b" },
		{ "..data/x", "..data/x" }, { "/", "/" }, { "a/b/../..", "." },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *c = jobenv_path_clean(cases[i][0]);

		assert_string_equal(c, cases[i][1]);
		free(c);
	}
	assert_true(jobenv_path_traverses("../a"));
	assert_true(jobenv_path_traverses("..data"));
	assert_true(jobenv_path_traverses(".."));
	assert_false(jobenv_path_traverses("a/..b"));
	assert_false(jobenv_path_traverses("/x"));
}

static void
test_cmd_describe(void **state)
{
	char d[512];

	(void)state;
	cmd_describe("exit status 1", "  err one\r\nerr two\n\n", 20, false, d, sizeof(d));
	assert_string_equal(d, "exit status 1: err one | err two");
	cmd_describe("exit status 2", " \n ", 3, false, d, sizeof(d));
	assert_string_equal(d, "exit status 2");
	cmd_describe("signal: killed", "abc", 3, true, d, sizeof(d));
	assert_string_equal(d, "signal: killed: abc...(truncated)");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_basic),
		cmocka_unit_test(test_split_utf8),
		cmocka_unit_test(test_split_long),
		cmocka_unit_test(test_lease_math),
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_config_slots),
		cmocka_unit_test(test_jobenv),
		cmocka_unit_test(test_jobenv_too_large),
		cmocka_unit_test(test_path_clean),
		cmocka_unit_test(test_cmd_describe),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
