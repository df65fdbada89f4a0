/*
 * contain: the containment of one run (docs/sandbox.md), from the lease to
 * the outcome: its resources checked against the runner's ceilings, its
 * own uid and cgroup, the jails of its builds and of its job (what each
 * sees and may write), its usage, and why it ended when a limit ended it.
 */
#ifndef MT_CONTAIN_H
#define MT_CONTAIN_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>

#include "cgroup.h"
#include "jail.h"
#include "limits.h"
#include "sandbox.h"

#define CONTAIN_MAX_PATHS	16

struct contain {
	const struct sandbox	*sb;
	const struct config	*cfg;
	struct limits		 lim;		/* effective */
	bool			 network;
	char			*writable[CONTAIN_MAX_PATHS + 1];
	bool			 set_user;	/* jobs run as uid:gid below */
	uid_t			 uid;
	gid_t			 gid;
	int			 uid_lock;
	bool			 has_cg;
	struct cgroup_run	 cg;
	struct rusage		 ru0;
	struct spawn_rlimit	 rl[3];
	int			 nrl;
	const char		*ro[8];
	const char		*rw[CONTAIN_MAX_PATHS + 4];
	/* After the job: */
	bool			 measured;
	int64_t			 peak_bytes;	/* -1 when unknown */
	int64_t			 user_ms, sys_ms;
	bool			 oom_killed;
};

/* Sets up the run's containment from the lease's "sandbox" and
 * "resources" (either may be NULL). Returns 0, or -1 with the reason the
 * run must fail (a ceiling, a limit this host cannot enforce, a writable
 * path missing here, no free uid) in msg. contain_end is due either way. */
int contain_begin(struct contain *c, const struct sandbox *sb, const struct config *cfg,
    int64_t run_id, int64_t attempt_no, const json_t *sandbox, const json_t *resources,
    char *msg, size_t msgsz);

/* The jail of a venv or pip command: the interpreter read-only, the
 * workspace and the environment being built (rw, NULL-terminated) writable,
 * tmp as /tmp. The spec borrows from c and rw. */
void contain_build_spec(struct contain *c, const char *const *rw, const char *tmp,
    struct jail_spec *js);

/* The jail of the job: venv (or NULL), the run directory's input file
 * read-only; workspace, tmp and the writable paths writable. Applies the
 * cgroup limits and starts counting usage. Returns 0 or -1 with err. */
int contain_job_spec(struct contain *c, const char *ws, const char *tmp,
    const char *input_file, const char *venv, struct jail_spec *js, struct err *err);

/* Reads the job's usage and whether the memory limit killed it (after the
 * jail was reaped). */
void contain_job_done(struct contain *c);

/* Kills every process in the run's cgroup (a no-op without one). */
void contain_kill(struct contain *c);

/* Kills what is left, removes the cgroup, gives the uid back. */
void contain_end(struct contain *c);

#endif
