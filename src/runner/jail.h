/*
 * jail: one contained process tree — a job or a venv/pip build — as
 * docs/sandbox.md describes it. The tree's first process is
 * minitower-jobinit, started inside bubblewrap (mode bwrap) or as PID 1 of
 * a new PID namespace (mode none, when the runner may make one), or as a
 * child subreaper where neither is possible. The runner talks to it
 * through two pipes: it reads the main command's wait status and sends
 * orders (terminate, kill). "Reaped" means nothing of the tree is left.
 */
#ifndef MT_JAIL_H
#define MT_JAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "err.h"
#include "spawn.h"

enum sandbox_mode { SANDBOX_NONE, SANDBOX_BWRAP };

/* What a tree may see and do. Paths are the same inside and outside. */
struct jail_spec {
	enum sandbox_mode	 mode;
	bool			 pidns;		/* none mode: a PID namespace can be made */
	const char		*jobinit;	/* absolute path of minitower-jobinit */
	const char		*bwrap;		/* absolute path of bwrap */
	bool			 network;	/* bwrap: keep the host's network */
	const char *const	*ro;		/* extra read-only binds (NULL-terminated) */
	const char *const	*rw;		/* read-write binds (NULL-terminated) */
	const char		*tmp;		/* bwrap: bound at /tmp, or NULL */
	/* Identity and limits, as spawn_opts has them: */
	bool			 set_user;
	uid_t			 uid;
	gid_t			 gid;
	const gid_t		*groups;
	int			 ngroups;
	const struct spawn_rlimit *rlimits;
	int			 nrlimits;
	int			(*attach)(pid_t pid, void *arg);
	void			*attach_arg;
};

struct jail_proc {
	struct spawn_proc	 p;		/* the outer process (bwrap or jobinit) */
	int			 status_fd;	/* the main command's status, -1 once read */
	int			 order_fd;	/* orders to jobinit, -1 once closed */
	bool			 main_done;	/* the main command ended */
	int			 main_status;	/* its raw wait status */
	bool			 reaped;	/* the outer process was reaped: all gone */
	bool			 walks;		/* no namespace: jobinit kills its tree itself */
	char			 line[32];
	size_t			 len;
};

/* Starts argv (argv[0] absolute) in a jail: cwd, the complete environment
 * envp, stdout and stderr on pipes (merged when merge). Returns 0, or -1
 * with err (nothing is left running). */
int jail_start(const struct jail_spec *js, const char *const *argv,
    const char *const *envp, const char *cwd, bool merge, struct jail_proc *jp,
    struct err *err);

/* Reads the status pipe and reaps the outer process without blocking;
 * updates main_done, main_status and reaped. A tree that vanished before
 * it reported counts as killed by SIGKILL. */
void jail_poll(struct jail_proc *jp);

/* SIGTERM to every process of the tree. */
void jail_terminate(struct jail_proc *jp);

/* Kills every process of the tree at once (its namespace, or jobinit's
 * walk where there is none). */
void jail_kill(struct jail_proc *jp);

/* Kills the tree if needed, waits (bounded) until it is reaped and closes
 * every descriptor. */
void jail_finish(struct jail_proc *jp);

/* The bubblewrap arguments for argv (for tests and the start-up probe):
 * a NULL-terminated array the caller frees with jail_argv_free. */
char **jail_argv(const struct jail_spec *js, const char *const *argv, const char *cwd);
void jail_argv_free(char **v);

#endif
