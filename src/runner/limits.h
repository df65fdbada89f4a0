/*
 * limits: the resources of a run (Towerfile [app.resources], docs/sandbox.md):
 * what the lease asks for, the runner's defaults for what it leaves out,
 * the runner's ceilings, and the check that refuses a run asking for more
 * than a ceiling or for a limit this host cannot enforce.
 */
#ifndef MT_LIMITS_H
#define MT_LIMITS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* 0 means unset / unlimited for every field. */
struct limits {
	int64_t	memory_mb;
	int64_t	cpus_milli;	/* 500 for cpus = 0.5 */
	int64_t	pids;
	int64_t	disk_mb;
	int64_t	open_files;
};

/* What this host can enforce. */
struct limits_caps {
	bool	cgroup;		/* memory, cpus and pids through a cgroup */
	bool	uid_per_run;	/* RLIMIT_NPROC means something (not root) */
	bool	mount;		/* a size-limited tmpfs for disk_mb (root) */
};

/* Reads the lease's "resources" object (NULL or absent: none). Returns 0,
 * or -1 with a message when a value is not a positive number. */
int limits_from_json(struct limits *l, const json_t *resources, char *msg, size_t msgsz);

/* Fills every unset field of l from defaults. */
void limits_apply_defaults(struct limits *l, const struct limits *defaults);

/* Returns 0 when l fits under ceilings and can be enforced with caps;
 * otherwise -1 with the reason (the run's error message) in msg. */
int limits_check(const struct limits *l, const struct limits *ceilings,
    const struct limits_caps *caps, char *msg, size_t msgsz);

/* Clears the fields caps cannot enforce (for the runner's own defaults,
 * which never make a run fail). */
void limits_drop_unenforceable(struct limits *l, const struct limits_caps *caps);

/* "memory_mb 256, cpus 0.5, pids 64" (the fields set), or "none". */
void limits_describe(const struct limits *l, char *out, size_t outsz);

/* Reads MINITOWER_<prefix>_{MEMORY_MB,CPUS,PIDS,DISK_MB,OPEN_FILES}
 * through get. Returns 0, or -1 with the spec-style message in msg. */
int limits_from_env(struct limits *l, const char *(*get)(const char *),
    const char *prefix, char *msg, size_t msgsz);

#endif
