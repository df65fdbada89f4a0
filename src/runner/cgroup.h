/*
 * cgroup: a control group per run (docs/sandbox.md), in cgroup v2 where the
 * runner's own group is delegated to it, else in the cgroup v1 hierarchies
 * memory, pids, cpu, cpuacct and freezer. Groups live under
 * <the runner's group>/minitower-<runner id>/, so a restarted runner finds
 * and kills what a killed one left. What no cgroup is available for falls
 * back to rlimits (limits.h), and the runner says so.
 */
#ifndef MT_CGROUP_H
#define MT_CGROUP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"
#include "limits.h"

enum cgroup_kind { CGROUP_NONE, CGROUP_V1, CGROUP_V2 };
enum { CG_MEMORY, CG_PIDS, CG_CPU, CG_CPUACCT, CG_FREEZER, CG_NCTRL };

struct cgroups {
	enum cgroup_kind	 kind;
	char			*base[CG_NCTRL];	/* v2: base[0] only */
};

struct cgroup_run {
	const struct cgroups	*cg;
	char			*dir[CG_NCTRL];		/* NULL when not created */
	int64_t			 user0_us, sys0_us;	/* at cgroup_run_limit */
	int64_t			 oom0;
};

struct cgroup_usage {
	int64_t	peak_bytes;	/* -1 when unknown */
	int64_t	user_ms, sys_ms;
	int64_t	oom_kills;	/* since cgroup_run_limit */
};

/* Finds the hierarchy want asks for ("auto", "v2", "v1", "off") and makes
 * the runner's base group. Returns 0 (cg->kind may be CGROUP_NONE for auto
 * and off), or -1 with err when a forced kind is not usable. */
int cgroup_init(struct cgroups *cg, const char *want, const char *runner_id, struct err *err);
void cgroup_free(struct cgroups *cg);

/* "cgroup-v2", "cgroup-v1" or "rlimit" (the runner's `limits` report). */
const char *cgroup_kind_name(enum cgroup_kind k);

/* Creates the group of one run (name: "run-<id>-<attempt>") with pids.max
 * set when pids > 0. Returns 0 or -1 with err. */
int cgroup_run_create(const struct cgroups *cg, const char *name, int64_t pids,
    struct cgroup_run *r, struct err *err);

/* Sets the memory and cpu limits of l and starts counting usage (peak,
 * CPU, OOM kills) from now: called right before the job starts. */
int cgroup_run_limit(struct cgroup_run *r, const struct limits *l, struct err *err);

/* Moves pid into the run's group (a spawn attach callback: arg is r). */
int cgroup_run_attach(pid_t pid, void *arg);

/* Usage since cgroup_run_limit. */
void cgroup_run_usage(struct cgroup_run *r, struct cgroup_usage *u);

/* SIGKILL to every process in the group, frozen first so none can fork. */
void cgroup_run_kill(struct cgroup_run *r);

/* Kills what is left, removes the group (bounded wait) and frees r. */
void cgroup_run_destroy(struct cgroup_run *r);

/* Kills and removes every group under the base: what a previous process
 * of this runner left. Returns how many groups were found. */
int cgroup_recover(const struct cgroups *cg);

#endif
