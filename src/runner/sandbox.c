/*
 * sandbox: the start-up probe runs the real thing — bwrap with the options
 * every job gets, minitowerd-jobinit as PID 1, /bin/true — as the user jobs
 * will run as, so a host where user namespaces or mounts are refused is
 * found before the first run, not by it.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "log.h"
#include "sandbox.h"
#include "util.h"

/* Without a sandbox, runs of one job user get uids of their own from here
 * (the start of systemd's dynamic-user range). */
#define DEFAULT_UID_FIRST	61184
#define DEFAULT_UID_LAST	61439

const char *
sandbox_mode_name(enum sandbox_mode m)
{
	return m == SANDBOX_BWRAP ? "bwrap" : "none";
}

void
sandbox_spec(const struct sandbox *sb, const struct config *cfg, uid_t run_uid,
    struct jail_spec *js)
{
	memset(js, 0, sizeof(*js));
	js->mode = sb->mode;
	js->pidns = sb->pidns;
	js->jobinit = sb->jobinit;
	js->bwrap = sb->bwrap;
	js->network = true;
	if (sb->uid_per_run) {
		js->set_user = true;
		js->uid = run_uid;
		js->gid = (gid_t)run_uid;
		js->groups = cfg->job_groups;
		js->ngroups = cfg->job_ngroups;
	} else if (cfg->job_user != NULL) {
		js->set_user = true;
		js->uid = cfg->job_uid;
		js->gid = cfg->job_gid;
		js->groups = cfg->job_groups;
		js->ngroups = cfg->job_ngroups;
	}
}

/* Runs /bin/true in a jail of mode m; true when it exited 0. */
static bool
probe_mode(const struct sandbox *sb, const struct config *cfg, enum sandbox_mode m, bool pidns)
{
	const char *argv[] = { "/bin/true", NULL };
	const char *envp[] = { "PATH=/usr/bin:/bin", NULL };
	struct sandbox tmp = *sb;
	struct jail_spec js;
	struct jail_proc jp;
	struct err err;
	int i;

	tmp.mode = m;
	tmp.pidns = pidns;
	sandbox_spec(&tmp, cfg, sb->uid_first, &js);
	err_clear(&err);
	if (jail_start(&js, argv, envp, "/", true, &jp, &err) != 0) {
		log_warn("sandbox probe failed", "mode=%s error=%s", sandbox_mode_name(m), err.msg);
		return false;
	}
	for (i = 0; i < 500 && !jp.reaped; i++) {
		usleep((useconds_t)(i < 50 ? 2 : 20) * 1000);
		jail_poll(&jp);
	}
	jail_finish(&jp);
	return jp.main_done && WIFEXITED(jp.main_status) && WEXITSTATUS(jp.main_status) == 0;
}

/* <dir of /proc/self/exe>/minitower-jobinit, or cfg's. */
static char *
find_jobinit(const struct config *cfg)
{
	char self[PATH_MAX];
	ssize_t n;

	if (cfg->jobinit != NULL)
		return xstrdup(cfg->jobinit);
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return NULL;
	self[n] = '\0';
	return xasprintf("%s/minitower-jobinit", dirname(self));
}

/* The base interpreter's prefix (<prefix>/bin/python3.x), NULL under /usr. */
static char *
python_prefix(const struct pyinfo *py)
{
	char real[PATH_MAX], *d;

	if (py == NULL || py->exe == NULL || realpath(py->exe, real) == NULL)
		return NULL;
	d = dirname(dirname(real));
	if (strcmp(d, "/usr") == 0 || strncmp(d, "/usr/", 5) == 0 || strcmp(d, "/") == 0)
		return NULL;
	return xstrdup(d);
}

static int
choose_mode(struct sandbox *sb, const struct config *cfg, struct err *err)
{
	bool want_bwrap = strcmp(cfg->sandbox, "none") != 0;
	char *path = cfg->bwrap != NULL ? xstrdup(cfg->bwrap) : cmd_which("bwrap", "/usr/bin:/bin:/usr/local/bin");

	sb->bwrap = path;
	sb->pidns = geteuid() == 0 && probe_mode(sb, cfg, SANDBOX_NONE, true);
	if (want_bwrap && path != NULL && access(path, X_OK) == 0 &&
	    probe_mode(sb, cfg, SANDBOX_BWRAP, false)) {
		sb->mode = SANDBOX_BWRAP;
		return 0;
	}
	if (strcmp(cfg->sandbox, "bwrap") == 0)
		return err_set(err, ERR_INVALID, "MINITOWER_SANDBOX=bwrap: bubblewrap does not work on this host%s",
		    path == NULL ? " (bwrap not found)" : "");
	sb->mode = SANDBOX_NONE;
	if (strcmp(cfg->sandbox, "auto") == 0)
		log_warn("sandbox unavailable, jobs run without one",
		    "sandbox=none pid_namespace=%s", sb->pidns ? "true" : "false");
	return 0;
}

int
sandbox_init(struct sandbox *sb, const struct config *cfg, const struct pyinfo *py,
    const char *id, struct err *err)
{
	memset(sb, 0, sizeof(*sb));
	sb->jobinit = find_jobinit(cfg);
	if (sb->jobinit == NULL || access(sb->jobinit, X_OK) != 0)
		return err_set(err, ERR_INVALID, "minitower-jobinit not found (%s): set MINITOWER_JOBINIT",
		    sb->jobinit != NULL ? sb->jobinit : "?");
	sb->py_prefix = python_prefix(py);
	/* A uid per run where asked, and always where nothing else would
	 * keep runs of one job user apart (none mode). */
	sb->uid_per_run = cfg->uid_range;
	sb->uid_first = cfg->uid_range ? cfg->uid_first : DEFAULT_UID_FIRST;
	sb->uid_last = cfg->uid_range ? cfg->uid_last : DEFAULT_UID_LAST;
	if (choose_mode(sb, cfg, err) != 0)
		return -1;
	if (sb->mode == SANDBOX_NONE && cfg->job_user != NULL && !cfg->uid_range) {
		sb->uid_per_run = true;
		log_info("no sandbox: every run gets its own uid", "user=%s first=%d last=%d",
		    cfg->job_user, (int64_t)sb->uid_first, (int64_t)sb->uid_last);
	}
	if (cgroup_init(&sb->cg, cfg->cgroup, id, err) != 0)
		return -1;
	sb->caps.cgroup = sb->cg.kind != CGROUP_NONE;
	sb->caps.uid_per_run = sb->uid_per_run || cfg->job_user != NULL;
	sb->caps.mount = geteuid() == 0;
	if (sb->cg.kind == CGROUP_NONE)
		log_warn("no usable cgroup, limits fall back to rlimits", "limits=rlimit");
	log_info("sandbox", "sandbox=%s limits=%s pid_namespace=%s uid_per_run=%s",
	    sandbox_mode_name(sb->mode), cgroup_kind_name(sb->cg.kind),
	    sb->mode == SANDBOX_BWRAP || sb->pidns ? "true" : "false",
	    sb->uid_per_run ? "true" : "false");
	return 0;
}

void
sandbox_free(struct sandbox *sb)
{
	free(sb->jobinit);
	free(sb->bwrap);
	free(sb->py_prefix);
	cgroup_free(&sb->cg);
	memset(sb, 0, sizeof(*sb));
}
