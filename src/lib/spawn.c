/*
 * spawn: fork + execve into a fresh process group. The parent blocks every
 * signal around fork so that no handler runs in the child before it has
 * reset dispositions and mask; the child reports a failed exec through a
 * close-on-exec pipe, so a successful exec is seen as EOF on that pipe.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "spawn.h"
#include "util.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* What the child tells the parent when it could not exec. */
struct child_fail {
	int stage;
	int errnum;
};

static const char *const stage_names[] = {
	"setpgid", "open /dev/null", "dup2", "chdir", "setgroups", "setgid",
	"setuid", "prctl", "execve", "setrlimit", "attach",
};
#define NSTAGES	((int)(sizeof(stage_names) / sizeof(stage_names[0])))
#define MAX_PASS	8

static void __attribute__((noreturn))
child_die(int fd, int stage)
{
	struct child_fail f = { stage, errno };
	ssize_t n = write(fd, &f, sizeof(f));

	(void)n;
	_exit(127);
}

static void
child_reset_signals(void)
{
	struct sigaction sa;
	sigset_t none;
	int s;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (s = 1; s < NSIG; s++)
		(void)sigaction(s, &sa, NULL);	/* EINVAL for KILL/STOP: fine */
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
}

/* Moves the descriptors to pass out of the way of 0-4. */
static void
child_lift_fds(const struct spawn_opts *o, int *tmp, int fail_w)
{
	int i;

	for (i = 0; i < o->npass && i < MAX_PASS; i++) {
		tmp[i] = fcntl(o->pass_fds[i], F_DUPFD, 16);
		if (tmp[i] == -1)
			child_die(fail_w, 2);
	}
}

static void
child_place_fds(const struct spawn_opts *o, const int *tmp, int fail_w)
{
	int i;

	for (i = 0; i < o->npass && i < MAX_PASS; i++)
		if (dup2(tmp[i], 3 + i) == -1)	/* dup2 clears close-on-exec */
			child_die(fail_w, 2);
}

static void
child_limits(const struct spawn_opts *o, int fail_w)
{
	int i;

	for (i = 0; i < o->nrlimits; i++)
		if (setrlimit((__rlimit_resource_t)o->rlimits[i].resource,
		    &o->rlimits[i].value) == -1)
			child_die(fail_w, 9);
}

/* Waits for the parent's go (after its attach); end of file means the
 * parent died before it could say so. */
static void
child_wait_go(int go_r, int fail_w)
{
	char c = 0;
	ssize_t n;

	do
		n = read(go_r, &c, 1);
	while (n == -1 && errno == EINTR);
	if (n != 1 || c != 'g')
		child_die(fail_w, 10);
}

/* Runs in the child: only async-signal-safe calls from here on. */
static void __attribute__((noreturn))
child_exec(const struct spawn_opts *o, int out_w, int err_w, int fail_w, int go_r,
    pid_t parent)
{
	int nullfd, tmp[MAX_PASS];

	if (setpgid(0, 0) == -1)
		child_die(fail_w, 0);
	child_reset_signals();
	nullfd = open("/dev/null", O_RDONLY);
	if (nullfd == -1)
		child_die(fail_w, 1);
	if (dup2(nullfd, 0) == -1 || dup2(out_w, 1) == -1 ||
	    dup2(o->merge_output ? out_w : err_w, 2) == -1)
		child_die(fail_w, 2);
	child_lift_fds(o, tmp, fail_w);
	/* Everything from 3 up (the fail pipe included) closes on exec. */
	(void)syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
	child_place_fds(o, tmp, fail_w);
	if (o->cwd != NULL && chdir(o->cwd) == -1)
		child_die(fail_w, 3);
	if (o->set_user) {
		if (setgroups((size_t)o->ngroups, o->groups) == -1)
			child_die(fail_w, 4);
		if (setgid(o->gid) == -1)
			child_die(fail_w, 5);
		if (setuid(o->uid) == -1)
			child_die(fail_w, 6);
	}
	child_limits(o, fail_w);
	/* After any change of user, which clears it. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1)
		child_die(fail_w, 7);
	if (go_r >= 0)
		child_wait_go(go_r, fail_w);	/* also the parent check */
	else if (getppid() != parent)
		_exit(127);
	execve(o->argv[0], (char *const *)(uintptr_t)o->argv,
	    (char *const *)(uintptr_t)o->envp);
	child_die(fail_w, 8);
}

static void
close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Reads the child's failure report; returns 0 when exec succeeded (EOF). */
static int
read_child_fail(int fd, struct child_fail *f)
{
	ssize_t n;

	do
		n = read(fd, f, sizeof(*f));
	while (n == -1 && errno == EINTR);
	return n == (ssize_t)sizeof(*f) ? -1 : 0;
}

/* The parent's side of the hold: attach, then let the child exec. */
static int
let_go(const struct spawn_opts *o, pid_t pid, int go_w)
{
	if (o->attach != NULL && o->attach(pid, o->attach_arg) != 0)
		return -1;
	return write(go_w, "g", 1) == 1 ? 0 : -1;
}

int
spawn_start(const struct spawn_opts *o, struct spawn_proc *p, struct err *err)
{
	int outp[2] = { -1, -1 }, errp[2] = { -1, -1 }, failp[2] = { -1, -1 };
	int gop[2] = { -1, -1 };
	bool hold = o->new_pidns || o->attach != NULL;
	sigset_t all, old;
	struct child_fail f;
	pid_t pid, parent = getpid();

	p->pid = -1;
	p->pidfd = p->out_fd = p->err_fd = -1;
	if (pipe2(outp, O_CLOEXEC) == -1 || pipe2(failp, O_CLOEXEC) == -1 ||
	    (!o->merge_output && pipe2(errp, O_CLOEXEC) == -1) ||
	    (hold && pipe2(gop, O_CLOEXEC) == -1)) {
		err_set(err, ERR_IO, "pipe: %s", strerror(errno));
		goto fail;
	}
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	/* A fork-like clone: the child runs on a copy of this stack. */
	pid = o->new_pidns ? (pid_t)syscall(SYS_clone, CLONE_NEWPID | SIGCHLD |
	    (o->new_netns ? CLONE_NEWNET : 0), 0, 0, 0, 0) : fork();
	if (pid == 0)
		child_exec(o, outp[1], errp[1], failp[1], gop[0], parent);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (pid == -1) {
		err_set(err, ERR_IO, "fork: %s", strerror(errno));
		goto fail;
	}
	(void)setpgid(pid, pid);	/* both sides, so the group exists now */
	p->pid = pid;
	close_fd(&outp[1]);
	close_fd(&errp[1]);
	close_fd(&failp[1]);
	close_fd(&gop[0]);
	if (hold && let_go(o, pid, gop[1]) != 0) {
		err_set(err, ERR_IO, "attach: %s", strerror(errno));
		kill(pid, SIGKILL);
		(void)waitpid(pid, NULL, 0);
		p->pid = -1;
		goto fail;
	}
	close_fd(&gop[1]);
	if (read_child_fail(failp[0], &f) == -1) {
		int st = (f.stage >= 0 && f.stage < NSTAGES) ? f.stage : 8;

		err_set(err, ERR_IO, "%s: %s", stage_names[st], strerror(f.errnum));
		(void)waitpid(pid, NULL, 0);
		p->pid = -1;
		goto fail;
	}
	close_fd(&failp[0]);
	p->out_fd = outp[0];
	p->err_fd = errp[0];
	(void)fcntl(p->out_fd, F_SETFL, O_NONBLOCK);
	if (p->err_fd >= 0)
		(void)fcntl(p->err_fd, F_SETFL, O_NONBLOCK);
	p->pidfd = spawn_pidfd(pid);
	return 0;
fail:
	close_fd(&outp[0]);
	close_fd(&outp[1]);
	close_fd(&errp[0]);
	close_fd(&errp[1]);
	close_fd(&failp[0]);
	close_fd(&failp[1]);
	close_fd(&gop[0]);
	close_fd(&gop[1]);
	return -1;
}

void
spawn_close(struct spawn_proc *p)
{
	close_fd(&p->pidfd);
	close_fd(&p->out_fd);
	close_fd(&p->err_fd);
}

void
spawn_reap(struct spawn_proc *p, int *status)
{
	int st = 0;

	if (p->pid > 0) {
		while (waitpid(p->pid, &st, 0) == -1 && errno == EINTR)
			;
	}
	if (status != NULL)
		*status = st;
	spawn_close(p);
}

bool
spawn_signal_group(pid_t pgid, int sig)
{
	if (pgid <= 1)
		return false;
	if (kill(-pgid, sig) == 0)
		return true;
	return errno != ESRCH;
}

bool
spawn_group_alive(pid_t pgid)
{
	return spawn_signal_group(pgid, 0);
}

int
spawn_pidfd(pid_t pid)
{
#ifdef SYS_pidfd_open
	long fd = syscall(SYS_pidfd_open, pid, 0);

	if (fd >= 0) {
		(void)fcntl((int)fd, F_SETFD, FD_CLOEXEC);
		return (int)fd;
	}
#else
	(void)pid;
#endif
	return -1;
}

static const char *const signames[] = {
	NULL, "hangup", "interrupt", "quit", "illegal instruction",
	"trace/breakpoint trap", "aborted", "bus error",
	"floating point exception", "killed", "user defined signal 1",
	"segmentation fault", "user defined signal 2", "broken pipe",
	"alarm clock", "terminated", "stack fault", "child exited", "continued",
	"stopped (signal)", "stopped", "stopped (tty input)",
	"stopped (tty output)", "urgent I/O condition",
	"CPU time limit exceeded", "file size limit exceeded",
	"virtual timer expired", "profiling timer expired", "window changed",
	"I/O possible", "power failure", "bad system call",
};

const char *
spawn_signame(int sig, char *tmp, size_t tmpsz)
{
	if (sig >= 1 && sig <= 31)
		return signames[sig];
	snprintf(tmp, tmpsz, "signal %d", sig);
	return tmp;
}

void
spawn_describe_status(int status, char *out, size_t outsz)
{
	char tmp[32];

	if (WIFEXITED(status)) {
		snprintf(out, outsz, "exit status %d", WEXITSTATUS(status));
	} else if (WIFSIGNALED(status)) {
		snprintf(out, outsz, "signal: %s%s",
		    spawn_signame(WTERMSIG(status), tmp, sizeof(tmp)),
		    WCOREDUMP(status) ? " (core dumped)" : "");
	} else {
		snprintf(out, outsz, "unknown wait status %d", status);
	}
}
