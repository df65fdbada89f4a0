/*
 * spawn: starting a child in its own process group, the way tmux's job.c does
 * it (pipe2 with O_CLOEXEC, signals blocked around fork, dispositions and
 * mask reset in the child, setpgid in both processes), plus the helpers that
 * watch and stop such a group: a pidfd for its exit, group liveness, and
 * signalling the whole group.
 */
#ifndef MT_SPAWN_H
#define MT_SPAWN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "err.h"

struct spawn_opts {
	const char *const *argv;	/* argv[0] is the absolute path executed */
	const char *const *envp;	/* the complete environment */
	const char	*cwd;		/* working directory, or NULL */
	bool		 merge_output;	/* stderr goes to the stdout pipe */
	bool		 set_user;	/* switch to uid/gid/groups below */
	uid_t		 uid;
	gid_t		 gid;
	const gid_t	*groups;
	int		 ngroups;
	/* Containment (docs/sandbox.md); all off when zeroed: */
	bool		 new_pidns;	/* PID 1 of a new PID namespace (CAP_SYS_ADMIN) */
	bool		 new_netns;	/* with new_pidns: and a network namespace of its own */
	const int	*pass_fds;	/* become the child's 3, 4, ... */
	int		 npass;
	const struct spawn_rlimit *rlimits;	/* set after any change of user */
	int		 nrlimits;
	/* Called in the parent with the child's pid before the child may
	 * exec (the child waits for it): e.g. to put it in a cgroup. A
	 * non-zero return kills the child and fails spawn_start. */
	int		(*attach)(pid_t pid, void *arg);
	void		*attach_arg;
};

struct spawn_rlimit {
	int		resource;	/* RLIMIT_* */
	struct rlimit	value;
};

struct spawn_proc {
	pid_t	pid;		/* also the process-group id */
	int	pidfd;		/* readable when the child exits, or -1 */
	int	out_fd;		/* read end of stdout (O_NONBLOCK, CLOEXEC) */
	int	err_fd;		/* read end of stderr, -1 with merge_output */
};

/* Forks (or clones into a new PID namespace) and executes o->argv in a new
 * process group with stdin /dev/null and stdout/stderr on pipes. The child
 * gets PR_SET_PDEATHSIG(SIGKILL), only descriptors 0-2 plus o->pass_fds,
 * and o->rlimits. Returns 0 and fills p, or -1 with err when the pipes,
 * fork, attach or execve (reported back through a close-on-exec pipe)
 * failed; then nothing is left running. */
int spawn_start(const struct spawn_opts *o, struct spawn_proc *p, struct err *err);

/* Waits (blocking) for p->pid and closes every descriptor of p. Stores the
 * raw wait status in *status when status is not NULL. */
void spawn_reap(struct spawn_proc *p, int *status);

/* Closes the descriptors of p that are still open (sets them to -1). */
void spawn_close(struct spawn_proc *p);

/* Sends sig to the process group pgid. Returns true when the group exists
 * (kill succeeded or failed with EPERM), false on ESRCH. */
bool spawn_signal_group(pid_t pgid, int sig);

/* True while any process of group pgid exists. */
bool spawn_group_alive(pid_t pgid);

/* pidfd_open(2) for pid, -1 when unavailable. */
int spawn_pidfd(pid_t pid);

/* The fixed signal name table of runner.md §5.9 ("killed", "terminated",
 * ...); other numbers as "signal N" in the caller's buffer. */
const char *spawn_signame(int sig, char *tmp, size_t tmpsz);

/* Describes a wait status as "exit status N" or "signal: <name>" (plus
 * " (core dumped)") into out. */
void spawn_describe_status(int status, char *out, size_t outsz);

#endif
