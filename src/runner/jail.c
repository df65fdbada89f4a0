/*
 * jail: starting a contained tree and driving it. In bwrap mode the outer
 * process is bubblewrap: it dies with the runner (the spawn's parent-death
 * signal), and --die-with-parent makes jobinit, PID 1 of the sandbox's
 * namespace, die with it, which makes the kernel kill the rest. In none
 * mode the outer process is jobinit itself, cloned into a new PID
 * namespace. Either way, no process of a job outlives its runner.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jail.h"
#include "util.h"

/* What of /etc a job sees: names, resolution, certificates, the time zone,
 * the dynamic linker's cache and the alternatives links of /usr/bin; not
 * shadow, not ssh keys, not the host's configuration at large. Each entry
 * is a mount that costs about 0.2 ms per job (docs/performance.md), so the
 * list holds only what common programs read. */
static const char *const etc_files[] = {
	"/etc/passwd", "/etc/group", "/etc/nsswitch.conf", "/etc/hosts",
	"/etc/resolv.conf", "/etc/services", "/etc/localtime", "/etc/ld.so.cache",
	"/etc/alternatives", "/etc/ssl", "/etc/ca-certificates", "/etc/python3.11",
	"/etc/python3.12", "/etc/python3.13", "/etc/pip.conf", NULL,
};

/* The merged-/usr links of the root, or their directories. */
static const char *const root_links[] = {
	"/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32", NULL,
};

struct argv_b {
	char	**v;
	size_t	  n, cap;
};

static void
add(struct argv_b *a, const char *s)
{
	if (a->n + 2 > a->cap) {
		a->cap = a->cap ? a->cap * 2 : 64;
		a->v = xrealloc(a->v, a->cap * sizeof(char *));
	}
	a->v[a->n++] = xstrdup(s);
	a->v[a->n] = NULL;
}

static void
add3(struct argv_b *a, const char *opt, const char *x, const char *y)
{
	add(a, opt);
	add(a, x);
	if (y != NULL)
		add(a, y);
}

static void
add_root(struct argv_b *a)
{
	char target[256];
	struct stat st;
	ssize_t n;
	size_t i;

	add3(a, "--ro-bind", "/usr", "/usr");
	for (i = 0; root_links[i] != NULL; i++) {
		if (lstat(root_links[i], &st) != 0)
			continue;
		if (S_ISLNK(st.st_mode)) {
			n = readlink(root_links[i], target, sizeof(target) - 1);
			if (n <= 0)
				continue;
			target[n] = '\0';
			add3(a, "--symlink", target, root_links[i]);
		} else {
			add3(a, "--ro-bind", root_links[i], root_links[i]);
		}
	}
	for (i = 0; etc_files[i] != NULL; i++)
		add3(a, "--ro-bind-try", etc_files[i], etc_files[i]);
}

char **
jail_argv(const struct jail_spec *js, const char *const *argv, const char *cwd)
{
	struct argv_b a = { NULL, 0, 0 };
	size_t i;

	add(&a, js->bwrap);
	add(&a, "--die-with-parent");
	add(&a, "--as-pid-1");
	add(&a, "--unshare-pid");
	add(&a, "--unshare-ipc");
	add(&a, "--unshare-uts");
	add(&a, "--unshare-cgroup-try");
	if (!js->network)
		add(&a, "--unshare-net");
	add3(&a, "--cap-drop", "ALL", NULL);
	add_root(&a);
	add3(&a, "--proc", "/proc", NULL);
	add3(&a, "--dev", "/dev", NULL);
	if (js->tmp != NULL)
		add3(&a, "--bind", js->tmp, "/tmp");
	else
		add3(&a, "--tmpfs", "/tmp", NULL);
	add3(&a, "--ro-bind", js->jobinit, js->jobinit);
	for (i = 0; js->ro != NULL && js->ro[i] != NULL; i++)
		add3(&a, "--ro-bind", js->ro[i], js->ro[i]);
	for (i = 0; js->rw != NULL && js->rw[i] != NULL; i++)
		add3(&a, "--bind", js->rw[i], js->rw[i]);
	if (cwd != NULL)
		add3(&a, "--chdir", cwd, NULL);
	add(&a, "--");
	add(&a, js->jobinit);
	add3(&a, "-u", "PWD", NULL);	/* bwrap sets it; a job's environment has none */
	add(&a, "--");
	for (i = 0; argv[i] != NULL; i++)
		add(&a, argv[i]);
	return a.v;
}

void
jail_argv_free(char **v)
{
	size_t i;

	for (i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

/* jobinit -- argv... (none mode). */
static char **
init_argv(const struct jail_spec *js, const char *const *argv)
{
	struct argv_b a = { NULL, 0, 0 };
	size_t i;

	add(&a, js->jobinit);
	add(&a, "--");
	for (i = 0; argv[i] != NULL; i++)
		add(&a, argv[i]);
	return a.v;
}

static void
close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

int
jail_start(const struct jail_spec *js, const char *const *argv,
    const char *const *envp, const char *cwd, bool merge, struct jail_proc *jp,
    struct err *err)
{
	int sp[2] = { -1, -1 }, op[2] = { -1, -1 }, pass[2];
	bool bw = js->mode == SANDBOX_BWRAP;
	char **outer = NULL;
	struct spawn_opts so;
	int rc = -1;

	memset(jp, 0, sizeof(*jp));
	jp->status_fd = jp->order_fd = -1;
	jp->p.pid = jp->p.pidfd = jp->p.out_fd = jp->p.err_fd = -1;
	if (pipe2(sp, O_CLOEXEC) == -1 || pipe2(op, O_CLOEXEC) == -1) {
		err_set(err, ERR_IO, "pipe: %s", strerror(errno));
		goto out;
	}
	outer = bw ? jail_argv(js, argv, cwd) : init_argv(js, argv);
	pass[0] = sp[1];
	pass[1] = op[0];
	memset(&so, 0, sizeof(so));
	so.argv = (const char *const *)outer;
	so.envp = envp;
	so.cwd = bw ? "/" : cwd;
	so.merge_output = merge;
	so.set_user = js->set_user;
	so.uid = js->uid;
	so.gid = js->gid;
	so.groups = js->groups;
	so.ngroups = js->ngroups;
	so.new_pidns = !bw && js->pidns;
	so.new_netns = so.new_pidns && !js->network;
	so.pass_fds = pass;
	so.npass = 2;
	so.rlimits = js->rlimits;
	so.nrlimits = js->nrlimits;
	so.attach = js->attach;
	so.attach_arg = js->attach_arg;
	if (spawn_start(&so, &jp->p, err) != 0)
		goto out;
	jp->status_fd = sp[0];
	jp->order_fd = op[1];
	jp->walks = !bw && !js->pidns;
	sp[0] = op[1] = -1;
	(void)fcntl(jp->status_fd, F_SETFL, O_NONBLOCK);
	(void)fcntl(jp->order_fd, F_SETFL, O_NONBLOCK);
	rc = 0;
out:
	close_fd(&sp[0]);
	close_fd(&sp[1]);
	close_fd(&op[0]);
	close_fd(&op[1]);
	jail_argv_free(outer);
	return rc;
}

static void
read_status(struct jail_proc *jp)
{
	ssize_t n;
	int st;

	while (jp->status_fd >= 0 && jp->len < sizeof(jp->line) - 1) {
		n = read(jp->status_fd, jp->line + jp->len, sizeof(jp->line) - 1 - jp->len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0 || errno != EAGAIN)
				close_fd(&jp->status_fd);
			break;
		}
		jp->len += (size_t)n;
	}
	jp->line[jp->len] = '\0';
	if (!jp->main_done && strchr(jp->line, '\n') != NULL &&
	    sscanf(jp->line, "S %d", &st) == 1) {
		jp->main_done = true;
		jp->main_status = st;
		close_fd(&jp->status_fd);
	}
}

void
jail_poll(struct jail_proc *jp)
{
	int st = 0;

	read_status(jp);
	if (jp->reaped || jp->p.pid <= 0)
		return;
	if (waitpid(jp->p.pid, &st, WNOHANG) != jp->p.pid)
		return;
	jp->reaped = true;
	read_status(jp);
	if (!jp->main_done) {
		jp->main_done = true;
		jp->main_status = st;
	}
}

static void
order(struct jail_proc *jp, char c)
{
	if (jp->order_fd >= 0 && write(jp->order_fd, &c, 1) != 1)
		(void)c;
}

void
jail_terminate(struct jail_proc *jp)
{
	order(jp, 'T');
}

void
jail_kill(struct jail_proc *jp)
{
	order(jp, 'K');
	/* A namespace dies with its PID 1, and bwrap's with bwrap. Without
	 * one, jobinit walks and kills its tree itself. */
	if (!jp->reaped && jp->p.pid > 1 && !jp->walks)
		(void)kill(jp->p.pid, SIGKILL);
}

void
jail_finish(struct jail_proc *jp)
{
	int i;

	jail_poll(jp);
	for (i = 0; !jp->reaped && i < 600; i++) {
		if (i == 100)
			jp->walks = false;	/* 5 s: kill jobinit itself */
		jail_kill(jp);
		usleep((useconds_t)(i == 0 ? 1 : 50) * 1000);
		jail_poll(jp);
	}
	close_fd(&jp->status_fd);
	close_fd(&jp->order_fd);
	spawn_close(&jp->p);
}
