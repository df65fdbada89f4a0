/*
 * config: parse and validate the MINITOWER_* variables of the runner.
 * Values are never trimmed and an empty value counts as unset; every rule
 * and message comes from runner.md §1.
 */
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "util.h"

static const char *
get_set(const char *(*get)(const char *), const char *name)
{
	const char *v = get(name);

	return (v != NULL && v[0] != '\0') ? v : NULL;
}

/* A duration variable with the usual "invalid X: detail" message. */
static int
duration(const char *(*get)(const char *), const char *name, const char *def,
    int64_t *out, struct err *err)
{
	const char *v = get_set(get, name);
	struct err perr;

	if (v == NULL)
		v = def;
	err_clear(&perr);
	if (parse_duration_ms(v, out, &perr) != 0)
		return err_set(err, ERR_INVALID, "invalid %s: %s", name, perr.msg);
	return 0;
}

static int
positive_int(const char *(*get)(const char *), const char *name, int64_t def,
    int64_t *out, struct err *err)
{
	const char *v = get_set(get, name);

	*out = def;
	if (v == NULL)
		return 0;
	if (parse_i64(v, out) != 0 || *out < 1)
		return err_set(err, ERR_INVALID, "%s must be a positive integer", name);
	return 0;
}

static int
load_job_user(struct config *c, const char *user, uid_t euid, struct err *err)
{
	struct passwd pw, *pwp = NULL;
	char sbuf[16384];
	int n = 64;

	if (euid != 0)
		return err_set(err, ERR_INVALID, "MINITOWER_JOB_USER requires running as root");
	if (getpwnam_r(user, &pw, sbuf, sizeof(sbuf), &pwp) != 0 || pwp == NULL)
		return err_set(err, ERR_INVALID, "unknown MINITOWER_JOB_USER: %s", user);
	c->job_user = xstrdup(user);
	c->job_uid = pw.pw_uid;
	c->job_gid = pw.pw_gid;
	c->job_groups = xcalloc((size_t)n, sizeof(gid_t));
	if (getgrouplist(user, pw.pw_gid, c->job_groups, &n) == -1) {
		c->job_groups = xrealloc(c->job_groups, (size_t)n * sizeof(gid_t));
		if (getgrouplist(user, pw.pw_gid, c->job_groups, &n) == -1)
			n = 0;
	}
	c->job_ngroups = n;
	return 0;
}

static int
load_durations(struct config *c, const char *(*get)(const char *), struct err *err)
{
	int64_t wait_ms;

	if (duration(get, "MINITOWER_POLL_INTERVAL", "3s", &c->poll_interval_ms, err) != 0)
		return -1;
	if (c->poll_interval_ms <= 0)
		return err_set(err, ERR_INVALID, "MINITOWER_POLL_INTERVAL must be > 0");
	if (duration(get, "MINITOWER_LEASE_WAIT", "30s", &wait_ms, err) != 0)
		return -1;
	if (wait_ms < 0 || wait_ms > 60000)
		return err_set(err, ERR_INVALID, "MINITOWER_LEASE_WAIT must be between 0s and 60s");
	c->lease_wait_s = wait_ms / 1000;
	/* An invalid grace period is ignored: the default applies. */
	if (duration(get, "MINITOWER_KILL_GRACE_PERIOD", "10s", &c->kill_grace_ms, NULL) != 0)
		c->kill_grace_ms = 10000;
	if (duration(get, "MINITOWER_DRAIN_TIMEOUT", "30s", &c->drain_timeout_ms, err) != 0)
		return -1;
	if (c->drain_timeout_ms < 0)
		return err_set(err, ERR_INVALID, "MINITOWER_DRAIN_TIMEOUT must be >= 0");
	if (duration(get, "MINITOWER_SETUP_TIMEOUT", "15m", &c->setup_timeout_ms, err) != 0)
		return -1;
	if (c->setup_timeout_ms <= 0)
		return err_set(err, ERR_INVALID, "MINITOWER_SETUP_TIMEOUT must be > 0");
	if (duration(get, "MINITOWER_WORKSPACE_SWEEP_INTERVAL", "10m", &c->sweep_interval_ms,
	    err) != 0)
		return -1;
	if (c->sweep_interval_ms < 0)
		return err_set(err, ERR_INVALID, "MINITOWER_WORKSPACE_SWEEP_INTERVAL must be >= 0");
	return 0;
}

static void
load_strings(struct config *c, const char *(*get)(const char *))
{
	const char *v;
	size_t n;

	c->server_url = xstrdup(get_set(get, "MINITOWER_SERVER_URL"));
	n = strlen(c->server_url);
	if (n > 0 && c->server_url[n - 1] == '/')
		c->server_url[n - 1] = '\0';
	v = get_set(get, "MINITOWER_RUNNER_REGISTRATION_TOKEN");
	c->reg_token = v != NULL ? xstrdup(v) : NULL;
	v = get_set(get, "MINITOWER_RUNNER_ENVIRONMENT");
	c->environment = xstrdup(v != NULL ? v : "default");
	v = get_set(get, "MINITOWER_DATA_DIR");
	if (v != NULL)
		c->data_dir = xstrdup(v);
	else
		c->data_dir = xasprintf("%s/.minitower",
		    get_set(get, "HOME") != NULL ? get_set(get, "HOME") : "/root");
	v = get_set(get, "MINITOWER_PYTHON_BIN");
	/* The system interpreter when there is one: a python3 on PATH may be a
	 * shim (pyenv) that costs ~100 ms per start (issue 13). */
	if (v == NULL)
		v = access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
	c->python_bin = xstrdup(v);
	v = get_set(get, "TMPDIR");
	c->tmpdir = xstrdup(v != NULL ? v : "/tmp");
	v = get_set(get, "PATH");
	c->path = xstrdup(v != NULL ? v : "/usr/local/bin:/usr/bin:/bin");
	v = get_set(get, "LANG");
	c->lang = xstrdup(v != NULL ? v : "C.UTF-8");
	v = get_set(get, "TZ");
	c->tz = v != NULL ? xstrdup(v) : NULL;
}

/* "A-B" with 1000 <= A <= B < 2^31 - 1. */
static int
load_uid_range(struct config *c, const char *v, uid_t euid, struct err *err)
{
	const char *dash = strchr(v, '-');
	int64_t a, b;
	char *first;
	int bad;

	if (euid != 0)
		return err_set(err, ERR_INVALID, "MINITOWER_JOB_UID_RANGE requires running as root");
	if (dash == NULL)
		return err_set(err, ERR_INVALID, "MINITOWER_JOB_UID_RANGE must be FIRST-LAST");
	first = xstrndup(v, (size_t)(dash - v));
	bad = parse_i64(first, &a) != 0 || parse_i64(dash + 1, &b) != 0;
	free(first);
	if (bad || a < 1000 || b < a || b >= 2147483647)
		return err_set(err, ERR_INVALID, "MINITOWER_JOB_UID_RANGE must be FIRST-LAST "
		    "with 1000 <= FIRST <= LAST < 2147483647");
	c->uid_range = true;
	c->uid_first = (uid_t)a;
	c->uid_last = (uid_t)b;
	return 0;
}

/* One of the words allowed, default first. */
static int
choice(const char *(*get)(const char *), const char *name, const char *const *words,
    char **out, struct err *err)
{
	const char *v = get_set(get, name);
	size_t i;

	if (v == NULL)
		v = words[0];
	for (i = 0; words[i] != NULL; i++) {
		if (strcmp(v, words[i]) == 0) {
			*out = xstrdup(v);
			return 0;
		}
	}
	if (i == 3)
		return err_set(err, ERR_INVALID, "%s must be %s, %s or %s", name, words[0],
		    words[1], words[2]);
	return err_set(err, ERR_INVALID, "%s must be %s, %s, %s or %s", name, words[0],
	    words[1], words[2], words[3]);
}

/* MINITOWER_SANDBOX and everything that contains a job. */
static int
load_sandbox(struct config *c, const char *(*get)(const char *), uid_t euid, struct err *err)
{
	static const char *const modes[] = { "auto", "bwrap", "none", NULL };
	static const char *const cgroups[] = { "auto", "v2", "v1", "off", NULL };
	char msg[256];
	const char *v;

	if (choice(get, "MINITOWER_SANDBOX", modes, &c->sandbox, err) != 0 ||
	    choice(get, "MINITOWER_CGROUP", cgroups, &c->cgroup, err) != 0)
		return -1;
	v = get_set(get, "MINITOWER_BWRAP");
	c->bwrap = v != NULL ? xstrdup(v) : NULL;
	v = get_set(get, "MINITOWER_JOBINIT");
	c->jobinit = v != NULL ? xstrdup(v) : NULL;
	v = get_set(get, "MINITOWER_JOB_UID_RANGE");
	if (v != NULL && load_uid_range(c, v, euid, err) != 0)
		return -1;
	if (limits_from_env(&c->defaults, get, "DEFAULT", msg, sizeof(msg)) != 0 ||
	    limits_from_env(&c->ceilings, get, "MAX", msg, sizeof(msg)) != 0)
		return err_set(err, ERR_INVALID, "%s", msg);
	if (get_set(get, "MINITOWER_DEFAULT_PIDS") == NULL)
		c->defaults.pids = 4096;	/* a fork bomb is contained by default */
	return 0;
}

/* MINITOWER_ARTIFACT_CACHE (on|off) and MINITOWER_ARTIFACT_CACHE_MAX. */
static int
load_artcache(struct config *c, const char *(*get)(const char *), struct err *err)
{
	const char *v = get_set(get, "MINITOWER_ARTIFACT_CACHE");

	c->artifact_cache = true;
	if (v != NULL && strcmp(v, "on") != 0) {
		if (strcmp(v, "off") != 0)
			return err_set(err, ERR_INVALID, "MINITOWER_ARTIFACT_CACHE must be on or off");
		c->artifact_cache = false;
	}
	return positive_int(get, "MINITOWER_ARTIFACT_CACHE_MAX", 32, &c->artifact_cache_max, err);
}

int
config_load(struct config *c, const char *(*get)(const char *), uid_t euid,
    struct err *err)
{
	const char *v;

	memset(c, 0, sizeof(*c));
	if (get_set(get, "MINITOWER_SERVER_URL") == NULL)
		return err_set(err, ERR_INVALID, "MINITOWER_SERVER_URL is required");
	if (get_set(get, "MINITOWER_RUNNER_NAME") == NULL)
		return err_set(err, ERR_INVALID, "MINITOWER_RUNNER_NAME is required");
	c->name = xstrdup(get_set(get, "MINITOWER_RUNNER_NAME"));
	load_strings(c, get);
	if (load_durations(c, get, err) != 0)
		return -1;
	if (load_artcache(c, get, err) != 0)
		return -1;
	v = get_set(get, "MINITOWER_VENV_CACHE");
	c->venv_cache = true;
	if (v != NULL && strcmp(v, "on") != 0) {
		if (strcmp(v, "off") != 0)
			return err_set(err, ERR_INVALID, "MINITOWER_VENV_CACHE must be on or off");
		c->venv_cache = false;
	}
	if (positive_int(get, "MINITOWER_VENV_CACHE_MAX", 20, &c->venv_cache_max, err) != 0 ||
	    positive_int(get, "MINITOWER_MAX_ARTIFACT_EXPANDED_SIZE", 1073741824,
	    &c->max_expanded, err) != 0 ||
	    positive_int(get, "MINITOWER_MAX_ARTIFACT_ENTRIES", 100000,
	    &c->max_entries, err) != 0)
		return -1;
	if (positive_int(get, "MINITOWER_RUNNER_SLOTS", 1, &c->slots, NULL) != 0 ||
	    c->slots > CONFIG_SLOTS_MAX)
		return err_set(err, ERR_INVALID, "MINITOWER_RUNNER_SLOTS must be an integer from 1 "
		    "to %d", CONFIG_SLOTS_MAX);
	v = get_set(get, "MINITOWER_JOB_USER");
	if (v != NULL && load_job_user(c, v, euid, err) != 0)
		return -1;
	return load_sandbox(c, get, euid, err);
}

void
config_free(struct config *c)
{
	free(c->server_url);
	free(c->name);
	if (c->reg_token != NULL)
		explicit_bzero(c->reg_token, strlen(c->reg_token));
	free(c->reg_token);
	free(c->environment);
	free(c->data_dir);
	free(c->python_bin);
	free(c->tmpdir);
	free(c->path);
	free(c->lang);
	free(c->tz);
	free(c->job_user);
	free(c->job_groups);
	free(c->sandbox);
	free(c->bwrap);
	free(c->jobinit);
	free(c->cgroup);
	memset(c, 0, sizeof(*c));
}
