/*
 * contain: a run's limits are fixed before anything runs, so a run that
 * asks for more than this runner allows fails at once with the reason,
 * instead of running unlimited. Memory and CPU limits apply to the job
 * alone (set right before it starts); pids applies from the first build
 * command on, so a setup.py cannot fork without bound either.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "contain.h"
#include "jobuid.h"
#include "log.h"
#include "util.h"

/* Reads "sandbox": network and writable_paths. */
static int
read_sandbox(struct contain *c, const json_t *sandbox, char *msg, size_t msgsz)
{
	const json_t *net, *paths, *p;
	struct stat st;
	size_t i;

	c->network = true;
	if (sandbox == NULL || !json_is_object(sandbox))
		return 0;
	net = json_object_get(sandbox, "network");
	if (json_is_boolean(net))
		c->network = json_is_true(net);
	if (!c->network && c->sb->mode == SANDBOX_NONE && !c->sb->pidns) {
		snprintf(msg, msgsz, "sandbox.network = false cannot be enforced: no sandbox and "
		    "the runner cannot make namespaces");
		return -1;
	}
	paths = json_object_get(sandbox, "writable_paths");
	json_array_foreach(paths, i, p) {
		const char *s = json_string_value(p);

		if (i >= CONTAIN_MAX_PATHS || s == NULL || s[0] != '/') {
			snprintf(msg, msgsz, "invalid sandbox.writable_paths");
			return -1;
		}
		if (stat(s, &st) != 0 || !S_ISDIR(st.st_mode)) {
			snprintf(msg, msgsz, "writable path %s is not a directory on this runner", s);
			return -1;
		}
		c->writable[i] = xstrdup(s);
	}
	return 0;
}

static int
read_limits(struct contain *c, const json_t *resources, char *msg, size_t msgsz)
{
	if (limits_from_json(&c->lim, resources, msg, msgsz) != 0 ||
	    limits_check(&c->lim, &c->cfg->ceilings, &c->sb->caps, msg, msgsz) != 0)
		return -1;
	{
		struct limits d = c->cfg->defaults;

		limits_drop_unenforceable(&d, &c->sb->caps);
		limits_apply_defaults(&c->lim, &d);
	}
	return 0;
}

/* Who the run's processes are. */
static int
identity(struct contain *c, char *msg, size_t msgsz)
{
	struct err err;

	if (c->sb->uid_per_run) {
		err_clear(&err);
		c->uid_lock = jobuid_acquire(c->sb->uid_first, c->sb->uid_last, &c->uid, &err);
		if (c->uid_lock < 0) {
			snprintf(msg, msgsz, "%s", err.msg);
			return -1;
		}
		c->gid = (gid_t)c->uid;
		c->set_user = true;
	} else if (c->cfg->job_user != NULL) {
		c->uid = c->cfg->job_uid;
		c->gid = c->cfg->job_gid;
		c->set_user = true;
	}
	return 0;
}

static void
add_rlimit(struct contain *c, int res, int64_t v)
{
	c->rl[c->nrl].resource = res;
	c->rl[c->nrl].value.rlim_cur = (rlim_t)v;
	c->rl[c->nrl].value.rlim_max = (rlim_t)v;
	c->nrl++;
}

int
contain_begin(struct contain *c, const struct sandbox *sb, const struct config *cfg,
    int64_t run_id, int64_t attempt_no, const json_t *sandbox, const json_t *resources,
    char *msg, size_t msgsz)
{
	struct err err;
	char name[64];

	memset(c, 0, sizeof(*c));
	c->sb = sb;
	c->cfg = cfg;
	c->uid_lock = -1;
	c->peak_bytes = -1;
	if (read_sandbox(c, sandbox, msg, msgsz) != 0 || read_limits(c, resources, msg, msgsz) != 0 ||
	    identity(c, msg, msgsz) != 0)
		return -1;
	if (c->lim.open_files > 0)
		add_rlimit(c, RLIMIT_NOFILE, c->lim.open_files);
	if (sb->cg.kind == CGROUP_NONE) {
		if (c->lim.memory_mb > 0)
			add_rlimit(c, RLIMIT_AS, c->lim.memory_mb * 1024 * 1024);
		if (c->lim.pids > 0 && c->set_user)
			add_rlimit(c, RLIMIT_NPROC, c->lim.pids);
		return 0;
	}
	snprintf(name, sizeof(name), "run-%lld-%lld", (long long)run_id, (long long)attempt_no);
	err_clear(&err);
	if (cgroup_run_create(&sb->cg, name, c->lim.pids, &c->cg, &err) != 0) {
		log_error("cgroup creation failed", "error=%s", err.msg);
		snprintf(msg, msgsz, "failed to create the run's cgroup: %s", err.msg);
		cgroup_run_destroy(&c->cg);
		return -1;
	}
	c->has_cg = true;
	return 0;
}

/* The parts of a spec every jail of the run shares. */
static void
base_spec(struct contain *c, struct jail_spec *js)
{
	sandbox_spec(c->sb, c->cfg, c->uid, js);
	js->rlimits = c->rl;
	js->nrlimits = c->nrl;
	if (c->has_cg) {
		js->attach = cgroup_run_attach;
		js->attach_arg = &c->cg;
	}
}

void
contain_build_spec(struct contain *c, const char *const *rw, const char *tmp,
    struct jail_spec *js)
{
	size_t n = 0;

	base_spec(c, js);
	if (c->sb->py_prefix != NULL)
		c->ro[n++] = c->sb->py_prefix;
	c->ro[n] = NULL;
	js->ro = c->ro;
	js->rw = rw;
	js->tmp = tmp;
	/* The rlimits of the job's memory do not apply to pip. */
	js->nrlimits = c->lim.open_files > 0 ? 1 : 0;
}

int
contain_job_spec(struct contain *c, const char *ws, const char *tmp,
    const char *input_file, const char *venv, struct jail_spec *js, struct err *err)
{
	size_t n = 0, k = 0, i;

	base_spec(c, js);
	if (venv != NULL)
		c->ro[n++] = venv;
	if (c->sb->py_prefix != NULL)
		c->ro[n++] = c->sb->py_prefix;
	c->ro[n++] = input_file;
	c->ro[n] = NULL;
	c->rw[k++] = ws;
	c->rw[k++] = tmp;
	for (i = 0; c->writable[i] != NULL; i++)
		c->rw[k++] = c->writable[i];
	c->rw[k] = NULL;
	js->ro = c->ro;
	js->rw = c->rw;
	js->tmp = tmp;
	js->network = c->network;
	(void)getrusage(RUSAGE_CHILDREN, &c->ru0);
	if (c->has_cg && cgroup_run_limit(&c->cg, &c->lim, err) != 0)
		return -1;
	return 0;
}

static int64_t
tv_ms(const struct timeval *a, const struct timeval *b)
{
	return ((int64_t)b->tv_sec - a->tv_sec) * 1000 + ((int64_t)b->tv_usec - a->tv_usec) / 1000;
}

void
contain_job_done(struct contain *c)
{
	struct cgroup_usage u;
	struct rusage ru;

	c->measured = true;
	if (c->has_cg) {
		cgroup_run_usage(&c->cg, &u);
		c->peak_bytes = u.peak_bytes;
		c->user_ms = u.user_ms;
		c->sys_ms = u.sys_ms;
		c->oom_killed = u.oom_kills > 0;
		return;
	}
	/* Without a cgroup: what the reaped tree used (jobinit waits for
	 * every process of it), and the largest single process's RSS. */
	(void)getrusage(RUSAGE_CHILDREN, &ru);
	c->user_ms = tv_ms(&c->ru0.ru_utime, &ru.ru_utime);
	c->sys_ms = tv_ms(&c->ru0.ru_stime, &ru.ru_stime);
	c->peak_bytes = ru.ru_maxrss > c->ru0.ru_maxrss ? (int64_t)ru.ru_maxrss * 1024 : -1;
}

void
contain_kill(struct contain *c)
{
	if (c->has_cg)
		cgroup_run_kill(&c->cg);
}

void
contain_end(struct contain *c)
{
	size_t i;

	if (c->has_cg)
		cgroup_run_destroy(&c->cg);
	c->has_cg = false;
	jobuid_release(c->uid_lock);
	c->uid_lock = -1;
	for (i = 0; i < CONTAIN_MAX_PATHS; i++) {
		free(c->writable[i]);
		c->writable[i] = NULL;
	}
}
