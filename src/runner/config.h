/*
 * config: minitower-runner's configuration from the environment, validated
 * as runner.md §1 says. A bad value is an error with the exact one-line
 * message of the spec; the caller logs it as `config error` and exits 1.
 */
#ifndef MT_CONFIG_H
#define MT_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"
#include "limits.h"

/* The most slots one runner process offers (MINITOWER_RUNNER_SLOTS). */
#define CONFIG_SLOTS_MAX 64

struct config {
	char	*server_url;		/* without a trailing '/' */
	char	*name;
	char	*reg_token;		/* NULL when unset */
	char	*environment;
	char	*data_dir;
	char	*python_bin;
	char	*tmpdir;		/* where run directories go */
	char	*path;			/* PATH for jobs */
	char	*lang;			/* LANG for jobs */
	char	*tz;			/* TZ for jobs, NULL when unset */
	int64_t	 poll_interval_ms;
	int64_t	 lease_wait_s;
	int64_t	 kill_grace_ms;		/* <= 0: SIGKILL at once */
	int64_t	 drain_timeout_ms;
	int64_t	 setup_timeout_ms;
	int64_t	 sweep_interval_ms;	/* stale workspaces; 0: at start-up only */
	int64_t	 slots;			/* jobs run at once, 1..CONFIG_SLOTS_MAX */
	bool	 venv_cache;
	int64_t	 venv_cache_max;
	bool	 artifact_cache;	/* MINITOWER_ARTIFACT_CACHE (artcache.h) */
	int64_t	 artifact_cache_max;	/* entries kept */
	int64_t	 max_expanded;
	int64_t	 max_entries;
	char	*job_user;		/* NULL when unset */
	uid_t	 job_uid;
	gid_t	 job_gid;
	gid_t	*job_groups;
	int	 job_ngroups;
	/* Containment (docs/sandbox.md): */
	char	*sandbox;		/* "auto", "bwrap" or "none" */
	char	*bwrap;			/* MINITOWER_BWRAP, NULL: bwrap on PATH */
	char	*jobinit;		/* MINITOWER_JOBINIT, NULL: next to the runner */
	char	*cgroup;		/* "auto", "v2", "v1" or "off" */
	bool	 uid_range;		/* a uid per run (MINITOWER_JOB_UID_RANGE) */
	uid_t	 uid_first, uid_last;
	struct limits	 defaults;	/* MINITOWER_DEFAULT_* */
	struct limits	 ceilings;	/* MINITOWER_MAX_* */
};

/* Reads the variables through get (getenv, or a test's lookup). euid is the
 * effective user (the job-user check needs root). Returns 0, or -1 with the
 * spec's message in err. The caller frees c with config_free. */
int config_load(struct config *c, const char *(*get)(const char *), uid_t euid,
    struct err *err);

/* Frees the strings of c; c may be partially loaded. */
void config_free(struct config *c);

#endif
