/*
 * sandbox: what this runner can contain a job with, decided once at
 * start-up (MINITOWER_SANDBOX, MINITOWER_CGROUP; docs/sandbox.md): bwrap
 * when it works here, else none with a PID namespace when the runner may
 * make one; a cgroup hierarchy or rlimits for the limits. It also fills
 * the parts of a jail_spec that every run shares.
 */
#ifndef MT_SANDBOX_H
#define MT_SANDBOX_H

#include <stdbool.h>

#include "cgroup.h"
#include "config.h"
#include "jail.h"
#include "limits.h"
#include "venv.h"

struct sandbox {
	enum sandbox_mode	 mode;
	bool			 pidns;		/* none mode: PID namespaces work */
	char			*jobinit;
	char			*bwrap;		/* NULL when not found */
	char			*py_prefix;	/* bound read-only when outside /usr */
	struct cgroups		 cg;
	struct limits_caps	 caps;
	bool			 uid_per_run;	/* every run gets its own uid */
	uid_t			 uid_first, uid_last;
};

/* Probes the host as cfg asks; id is the runner's id (cgroup names).
 * Logs the outcome (one WARN when auto falls back to none). Returns 0, or
 * -1 with err when a forced mode cannot work (a config error). */
int sandbox_init(struct sandbox *sb, const struct config *cfg, const struct pyinfo *py,
    const char *id, struct err *err);
void sandbox_free(struct sandbox *sb);

/* "bwrap" or "none". */
const char *sandbox_mode_name(enum sandbox_mode m);

/* The shared part of a run's jail: mode, helpers, and the run's identity
 * (uid is the run's own uid when uid_per_run, else the job user's). */
void sandbox_spec(const struct sandbox *sb, const struct config *cfg, uid_t run_uid,
    struct jail_spec *js);

#endif
