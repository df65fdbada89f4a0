/*
 * minitower-jobinit: the first process of every job and every venv/pip
 * build (docs/sandbox.md). The runner starts it as PID 1 of a new PID
 * namespace (directly, or inside bubblewrap with --as-pid-1); it starts the
 * real command in a session of its own, reaps every process of the
 * namespace, reports the command's wait status on fd 3 and takes orders on
 * fd 4: 'T' forwards SIGTERM to every process, 'K' (or end of file, which
 * is what the runner's death looks like) kills them all. When the last
 * process is gone it exits, so "jobinit reaped" means "nothing of the job
 * is left". Where no PID namespace could be made it is not PID 1: it is
 * then a child subreaper that finds its descendants through /proc.
 *
 * It links nothing but libc and is built without sanitizers: it runs
 * inside the sandbox, where only /usr is visible.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#define STATUS_FD	3
#define CMD_FD		4
#define MAX_PIDS	65536

extern char **environ;

static bool is_init;
static pid_t main_pid;
static bool main_done;

/* Sends sig to every descendant listed in /proc/<pid>/task/x/children,
 * depth first. Returns how many processes it signalled. */
static int
signal_tree(pid_t pid, int sig, int depth)
{
	char path[64], line[8192], *p, *end;
	struct dirent *de;
	DIR *d;
	int n = 0;

	if (depth > 64)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	if ((d = opendir(path)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%.16s/children", (int)pid, de->d_name);
		if ((f = fopen(path, "re")) == NULL)
			continue;
		while (fgets(line, sizeof(line), f) != NULL) {
			for (p = line; *p != '\0'; p = end) {
				long c = strtol(p, &end, 10);

				if (end == p)
					break;
				if (c > 1 && kill((pid_t)c, sig) == 0)
					n++;
				n += signal_tree((pid_t)c, sig, depth + 1);
			}
		}
		fclose(f);
	}
	closedir(d);
	return n;
}

/* Signals every other process of the job. */
static void
signal_all(int sig)
{
	if (is_init)
		(void)kill(-1, sig);
	else
		(void)signal_tree(getpid(), sig, 0);
}

/* Reaps what has exited; reports the main process. Returns false once no
 * child is left. */
static bool
reap(void)
{
	char msg[32];
	int st, n;
	pid_t p;

	for (;;) {
		p = waitpid(-1, &st, WNOHANG);
		if (p == 0)
			return true;
		if (p == -1)
			return errno == EINTR;
		if (p == main_pid && !main_done) {
			main_done = true;
			n = snprintf(msg, sizeof(msg), "S %d\n", st);
			if (write(STATUS_FD, msg, (size_t)n) != n)
				(void)n;
			close(STATUS_FD);
		}
	}
}

/* Kills everything and exits: in a namespace the kernel kills the rest
 * when PID 1 exits; as a subreaper, stop them all first so that none can
 * fork behind the walk, then kill and reap until no child is left. */
static void __attribute__((noreturn))
kill_all_and_exit(void)
{
	int i;

	if (is_init) {
		(void)kill(-1, SIGKILL);
		while (!main_done && reap())
			usleep(1000);
		_exit(137);
	}
	for (i = 0; i < 100 && signal_tree(getpid(), SIGSTOP, 0) > 0; i++)
		if (signal_tree(getpid(), SIGKILL, 0) == 0)
			break;
	for (i = 0; i < 1000; i++) {
		(void)signal_tree(getpid(), SIGKILL, 0);
		if (!reap())
			break;
		usleep(1000);
	}
	_exit(137);
}

static void __attribute__((noreturn))
exec_main(char **argv, const sigset_t *old)
{
	struct sigaction sa;
	int s;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (s = 1; s < NSIG; s++)
		(void)sigaction(s, &sa, NULL);
	(void)sigprocmask(SIG_SETMASK, old, NULL);
	(void)setsid();
	close(STATUS_FD);
	close(CMD_FD);
	execve(argv[0], argv, environ);
	dprintf(2, "minitower-jobinit: %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/* One order from the runner; false on end of file. */
static bool
order(void)
{
	char c[16];
	ssize_t n, i;

	n = read(CMD_FD, c, sizeof(c));
	if (n == -1 && (errno == EINTR || errno == EAGAIN))
		return true;
	if (n <= 0)
		return false;
	for (i = 0; i < n; i++) {
		if (c[i] == 'K')
			return false;
		if (c[i] == 'T')
			signal_all(SIGTERM);
	}
	return true;
}

int
main(int argc, char **argv)
{
	sigset_t set, old;
	int sfd, nul;

	/* -u NAME: not in the command's environment (bwrap sets PWD). */
	while (argc >= 3 && strcmp(argv[1], "-u") == 0) {
		(void)unsetenv(argv[2]);
		argv += 2;
		argc -= 2;
	}
	if (argc < 3 || strcmp(argv[1], "--") != 0 || argv[2][0] != '/') {
		dprintf(2, "usage: minitower-jobinit [-u NAME]... -- /absolute/command [args...]\n");
		return 2;
	}
	is_init = getpid() == 1;
	if (!is_init) {
		/* The end of the order pipe, not a signal, tells of the
		 * runner's death here: it lets the walk above run first. */
		(void)prctl(PR_SET_PDEATHSIG, 0);
		(void)prctl(PR_SET_CHILD_SUBREAPER, 1);
	}
	sigfillset(&set);
	sigprocmask(SIG_SETMASK, &set, &old);
	sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	(void)fcntl(CMD_FD, F_SETFD, FD_CLOEXEC);
	(void)fcntl(STATUS_FD, F_SETFD, FD_CLOEXEC);
	main_pid = fork();
	if (main_pid == 0)
		exec_main(argv + 2, &old);
	if (main_pid == -1) {
		dprintf(2, "minitower-jobinit: fork: %s\n", strerror(errno));
		return 126;
	}
	/* Only the job holds its output pipes. */
	nul = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (nul >= 0) {
		(void)dup2(nul, 0);
		(void)dup2(nul, 1);
		(void)dup2(nul, 2);
	}
	for (;;) {
		struct pollfd pf[2] = { { sfd, POLLIN, 0 }, { CMD_FD, POLLIN, 0 } };
		struct signalfd_siginfo si;
		int sig;

		if (!reap())
			return 0;
		if (poll(pf, 2, sfd < 0 ? 100 : -1) < 0 && errno != EINTR)
			kill_all_and_exit();
		if (pf[1].revents != 0 && !order())
			kill_all_and_exit();
		while (sfd >= 0 && read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
			sig = (int)si.ssi_signo;
			if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP || sig == SIGQUIT)
				signal_all(sig);
		}
	}
}
