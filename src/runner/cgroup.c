/*
 * cgroup: finding the runner's own groups in /proc/self/mountinfo and
 * /proc/self/cgroup, making the per-run groups, their limits and counters,
 * and killing a group's processes. v2 follows the kernel's
 * Documentation/admin-guide/cgroup-v2.rst (no processes in inner groups, so
 * a delegated group that holds the runner is split into a leaf for it and
 * the runner's subtree); v1 uses one group per controller.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup.h"
#include "util.h"

static const char *const ctrl_names[CG_NCTRL] = {
	"memory", "pids", "cpu", "cpuacct", "freezer",
};

static int
write_str(const char *dir, const char *file, const char *s)
{
	char path[4096];
	size_t n = strlen(s);
	int fd, rc = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd == -1)
		return -1;
	if (write(fd, s, n) != (ssize_t)n)
		rc = -1;
	if (close(fd) != 0)
		rc = -1;
	return rc;
}

/* Reads a small file into buf (NUL-terminated). */
static int
read_str(const char *dir, const char *file, char *buf, size_t bufsz)
{
	char path[4096];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		return -1;
	n = read(fd, buf, bufsz - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

/* The number after "key " in a "key value" file, or -1. */
static int64_t
read_key(const char *dir, const char *file, const char *key)
{
	char buf[4096], *p;
	size_t k = strlen(key);

	if (read_str(dir, file, buf, sizeof(buf)) != 0)
		return -1;
	for (p = buf; p != NULL && *p != '\0'; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (strncmp(p, key, k) == 0 && p[k] == ' ')
			return strtoll(p + k + 1, NULL, 10);
	return -1;
}

static int64_t
read_num(const char *dir, const char *file)
{
	char buf[64];

	if (read_str(dir, file, buf, sizeof(buf)) != 0)
		return -1;
	return strtoll(buf, NULL, 10);
}

static int
mkdir_p(const char *path)
{
	char tmp[4096], *p;

	snprintf(tmp, sizeof(tmp), "%s", path);
	for (p = tmp + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) == -1 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(tmp, 0755) == -1 && errno != EEXIST ? -1 : 0;
}

/* The path of this process's group in the hierarchy that has ctrl (or the
 * v2 one for ctrl NULL), from /proc/self/cgroup. */
static char *
own_path(const char *ctrl)
{
	char *text = slurp("/proc/self/cgroup", 64 * 1024), *line, *save = NULL, *res = NULL;

	for (line = text ? strtok_r(text, "\n", &save) : NULL; line != NULL && res == NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL, *tok, *s2 = NULL;

		if (c2 == NULL)
			continue;
		*c2 = '\0';
		if (ctrl == NULL) {
			if (c2 == c1 + 1)
				res = xstrdup(c2 + 1);
			continue;
		}
		for (tok = strtok_r(c1 + 1, ",", &s2); tok != NULL; tok = strtok_r(NULL, ",", &s2))
			if (strcmp(tok, ctrl) == 0)
				res = xstrdup(c2 + 1);
	}
	free(text);
	return res;
}

/* The mount point and root of the hierarchy with ctrl (NULL: cgroup2). */
static int
find_mount(const char *ctrl, char *mnt, size_t mntsz, char *root, size_t rootsz)
{
	char *text = slurp("/proc/self/mountinfo", 1024 * 1024), *line, *save = NULL;
	int found = -1;

	for (line = text ? strtok_r(text, "\n", &save) : NULL; line != NULL && found != 0;
	    line = strtok_r(NULL, "\n", &save)) {
		char r[1024], m[1024], fstype[64], opts[1024], *dash = strstr(line, " - ");
		char *tok, *s2 = NULL;

		if (dash == NULL || sscanf(line, "%*s %*s %*s %1023s %1023s", r, m) != 2 ||
		    sscanf(dash + 3, "%63s %*s %1023s", fstype, opts) != 2)
			continue;
		if (ctrl == NULL ? strcmp(fstype, "cgroup2") != 0 : strcmp(fstype, "cgroup") != 0)
			continue;
		for (tok = strtok_r(opts, ",", &s2); ctrl != NULL && tok != NULL; tok = strtok_r(NULL, ",", &s2))
			if (strcmp(tok, ctrl) == 0)
				break;
		if (ctrl != NULL && tok == NULL)
			continue;
		snprintf(mnt, mntsz, "%s", m);
		snprintf(root, rootsz, "%s", r);
		found = 0;
	}
	free(text);
	return found;
}

/* <mount>/<own path below the mount's root>. */
static char *
own_dir(const char *ctrl)
{
	char mnt[1024], root[1024], *own = own_path(ctrl), *dir = NULL;
	size_t k;

	if (own != NULL && find_mount(ctrl, mnt, sizeof(mnt), root, sizeof(root)) == 0) {
		k = strcmp(root, "/") == 0 ? 0 : strlen(root);
		if (k == 0 || strncmp(own, root, k) == 0)
			dir = xasprintf("%s%s", mnt, own + k);
	}
	free(own);
	return dir;
}

static bool
has_words(const char *have, const char *const *want)
{
	size_t i;

	for (i = 0; want[i] != NULL; i++) {
		const char *p = strstr(have, want[i]);
		size_t k = strlen(want[i]);

		if (p == NULL || (p != have && p[-1] != ' ') || (p[k] != ' ' && p[k] != '\n' && p[k] != '\0'))
			return false;
	}
	return true;
}

/* Moves every process of dir into dir/leaf. */
static int
move_procs(const char *dir, const char *leaf)
{
	char buf[65536], *p, *end, *to = xasprintf("%s/%s", dir, leaf);
	int rc = 0;

	if (mkdir(to, 0755) == -1 && errno != EEXIST)
		rc = -1;
	if (rc == 0 && read_str(dir, "cgroup.procs", buf, sizeof(buf)) == 0) {
		for (p = buf; *p != '\0'; p = end) {
			long pid = strtol(p, &end, 10);
			char s[32];

			if (end == p)
				break;
			snprintf(s, sizeof(s), "%ld", pid);
			(void)write_str(to, "cgroup.procs", s);
		}
	}
	free(to);
	return rc;
}

static int
init_v2(struct cgroups *cg, const char *runner_id)
{
	static const char *const need[] = { "memory", "pids", "cpu", NULL };
	const char *enable = "+memory +pids +cpu";
	char *own = own_dir(NULL), buf[1024];
	int rc = -1;

	if (own == NULL || read_str(own, "cgroup.controllers", buf, sizeof(buf)) != 0 ||
	    !has_words(buf, need))
		goto out;
	if (write_str(own, "cgroup.subtree_control", enable) != 0) {
		/* Delegated and holding processes: give them a leaf first. */
		if (errno != EBUSY || move_procs(own, "minitower-runner") != 0 ||
		    write_str(own, "cgroup.subtree_control", enable) != 0)
			goto out;
	}
	cg->base[0] = xasprintf("%s/minitower-%s", own, runner_id);
	if (mkdir_p(cg->base[0]) != 0 ||
	    write_str(cg->base[0], "cgroup.subtree_control", enable) != 0) {
		free(cg->base[0]);
		cg->base[0] = NULL;
		goto out;
	}
	cg->kind = CGROUP_V2;
	rc = 0;
out:
	free(own);
	return rc;
}

static int
init_v1(struct cgroups *cg, const char *runner_id)
{
	int i;

	for (i = 0; i < CG_NCTRL; i++) {
		char *own = own_dir(ctrl_names[i]);

		if (own == NULL)
			goto fail;
		cg->base[i] = xasprintf("%s/minitower-%s", own, runner_id);
		free(own);
		if (mkdir_p(cg->base[i]) != 0)
			goto fail;
	}
	cg->kind = CGROUP_V1;
	return 0;
fail:
	cgroup_free(cg);
	return -1;
}

int
cgroup_init(struct cgroups *cg, const char *want, const char *runner_id, struct err *err)
{
	memset(cg, 0, sizeof(*cg));
	if (strcmp(want, "off") == 0)
		return 0;
	if (strcmp(want, "v1") != 0 && init_v2(cg, runner_id) == 0)
		return 0;
	if (strcmp(want, "v2") != 0 && init_v1(cg, runner_id) == 0)
		return 0;
	if (strcmp(want, "auto") == 0)
		return 0;
	return err_set(err, ERR_INVALID, "MINITOWER_CGROUP=%s: no usable cgroup %s hierarchy "
	    "(memory, pids and cpu, writable by the runner)", want, want);
}

void
cgroup_free(struct cgroups *cg)
{
	int i;

	for (i = 0; i < CG_NCTRL; i++)
		free(cg->base[i]);
	memset(cg, 0, sizeof(*cg));
}

const char *
cgroup_kind_name(enum cgroup_kind k)
{
	return k == CGROUP_V2 ? "cgroup-v2" : k == CGROUP_V1 ? "cgroup-v1" : "rlimit";
}

static int
nctrl(const struct cgroups *cg)
{
	return cg->kind == CGROUP_V2 ? 1 : CG_NCTRL;
}

int
cgroup_run_create(const struct cgroups *cg, const char *name, int64_t pids,
    struct cgroup_run *r, struct err *err)
{
	char s[32];
	int i;

	memset(r, 0, sizeof(*r));
	r->cg = cg;
	for (i = 0; i < nctrl(cg); i++) {
		r->dir[i] = xasprintf("%s/%s", cg->base[i], name);
		if (mkdir(r->dir[i], 0755) == -1 && errno != EEXIST)
			return err_set(err, ERR_IO, "mkdir %s: %s", r->dir[i], strerror(errno));
	}
	if (pids > 0) {
		snprintf(s, sizeof(s), "%lld", (long long)pids);
		if (write_str(r->dir[cg->kind == CGROUP_V2 ? 0 : CG_PIDS], "pids.max", s) != 0)
			return err_set(err, ERR_IO, "pids.max: %s", strerror(errno));
	}
	return 0;
}

static void
cpu_us(const struct cgroup_run *r, int64_t *user, int64_t *sys)
{
	if (r->cg->kind == CGROUP_V2) {
		*user = read_key(r->dir[0], "cpu.stat", "user_usec");
		*sys = read_key(r->dir[0], "cpu.stat", "system_usec");
	} else {
		*user = read_num(r->dir[CG_CPUACCT], "cpuacct.usage_user") / 1000;
		*sys = read_num(r->dir[CG_CPUACCT], "cpuacct.usage_sys") / 1000;
	}
}

static int64_t
oom_kills(const struct cgroup_run *r)
{
	if (r->cg->kind == CGROUP_V2)
		return read_key(r->dir[0], "memory.events", "oom_kill");
	return read_key(r->dir[CG_MEMORY], "memory.oom_control", "oom_kill");
}

static int
set_memory(struct cgroup_run *r, int64_t mb)
{
	char s[32];

	snprintf(s, sizeof(s), "%lld", (long long)mb * 1024 * 1024);
	if (r->cg->kind == CGROUP_V2)
		return write_str(r->dir[0], "memory.max", s) == 0 &&
		    (write_str(r->dir[0], "memory.swap.max", "0") == 0 || errno == ENOENT) ? 0 : -1;
	if (write_str(r->dir[CG_MEMORY], "memory.limit_in_bytes", s) != 0)
		return -1;
	/* Where swap is accounted, swap must not extend the limit. */
	(void)write_str(r->dir[CG_MEMORY], "memory.memsw.limit_in_bytes", s);
	return 0;
}

static int
set_cpus(struct cgroup_run *r, int64_t milli)
{
	char s[64];

	if (r->cg->kind == CGROUP_V2) {
		snprintf(s, sizeof(s), "%lld 100000", (long long)milli * 100);
		return write_str(r->dir[0], "cpu.max", s);
	}
	if (write_str(r->dir[CG_CPU], "cpu.cfs_period_us", "100000") != 0)
		return -1;
	snprintf(s, sizeof(s), "%lld", (long long)milli * 100);
	return write_str(r->dir[CG_CPU], "cpu.cfs_quota_us", s);
}

int
cgroup_run_limit(struct cgroup_run *r, const struct limits *l, struct err *err)
{
	if (l->memory_mb > 0 && set_memory(r, l->memory_mb) != 0)
		return err_set(err, ERR_IO, "memory limit: %s", strerror(errno));
	if (l->cpus_milli > 0 && set_cpus(r, l->cpus_milli) != 0)
		return err_set(err, ERR_IO, "cpu limit: %s", strerror(errno));
	if (r->cg->kind == CGROUP_V1)
		(void)write_str(r->dir[CG_MEMORY], "memory.max_usage_in_bytes", "0");
	cpu_us(r, &r->user0_us, &r->sys0_us);
	r->oom0 = oom_kills(r);
	return 0;
}

int
cgroup_run_attach(pid_t pid, void *arg)
{
	struct cgroup_run *r = arg;
	char s[32];
	int i;

	snprintf(s, sizeof(s), "%d", (int)pid);
	for (i = 0; i < nctrl(r->cg); i++)
		if (write_str(r->dir[i], "cgroup.procs", s) != 0)
			return -1;
	return 0;
}

void
cgroup_run_usage(struct cgroup_run *r, struct cgroup_usage *u)
{
	int64_t user, sys, oom = oom_kills(r);

	cpu_us(r, &user, &sys);
	u->user_ms = user >= r->user0_us && r->user0_us >= 0 ? (user - r->user0_us) / 1000 : 0;
	u->sys_ms = sys >= r->sys0_us && r->sys0_us >= 0 ? (sys - r->sys0_us) / 1000 : 0;
	u->oom_kills = oom > r->oom0 ? oom - r->oom0 : 0;
	if (r->cg->kind == CGROUP_V2)
		u->peak_bytes = read_num(r->dir[0], "memory.peak");
	else
		u->peak_bytes = read_num(r->dir[CG_MEMORY], "memory.max_usage_in_bytes");
}

/* True when dir/cgroup.procs lists no process. */
static bool
empty(const char *dir)
{
	char buf[64];

	return read_str(dir, "cgroup.procs", buf, sizeof(buf)) == 0 && buf[0] == '\0';
}

/* SIGKILL to every pid listed in dir/cgroup.procs; returns how many. */
static int
kill_listed(const char *dir)
{
	char buf[65536], *p, *end;
	int n = 0;

	if (read_str(dir, "cgroup.procs", buf, sizeof(buf)) != 0)
		return 0;
	for (p = buf; *p != '\0'; p = end) {
		long pid = strtol(p, &end, 10);

		if (end == p)
			break;
		if (pid > 1 && kill((pid_t)pid, SIGKILL) == 0)
			n++;
	}
	return n;
}

static void
kill_dir_v1(const char *freezer, const char *procs_dir)
{
	char st[32];
	int i;

	/* Nothing but the runner puts a process in a run's group: an empty
	 * one stays empty, and a write to freezer.state costs 2 ms. */
	if (empty(procs_dir))
		return;
	if (freezer != NULL && write_str(freezer, "freezer.state", "FROZEN") == 0) {
		for (i = 0; i < 100; i++) {
			if (read_str(freezer, "freezer.state", st, sizeof(st)) != 0 ||
			    strncmp(st, "FROZEN", 6) == 0)
				break;
			usleep(1000);
		}
	}
	(void)kill_listed(procs_dir);
	if (freezer != NULL)
		(void)write_str(freezer, "freezer.state", "THAWED");
}

static void
kill_dir(const struct cgroups *cg, char *const *dir)
{
	if (cg->kind == CGROUP_V2) {
		if (write_str(dir[0], "cgroup.kill", "1") != 0) {
			(void)write_str(dir[0], "cgroup.freeze", "1");
			(void)kill_listed(dir[0]);
			(void)write_str(dir[0], "cgroup.freeze", "0");
		}
		return;
	}
	kill_dir_v1(dir[CG_FREEZER], dir[CG_FREEZER] != NULL ? dir[CG_FREEZER] : dir[CG_MEMORY]);
}

void
cgroup_run_kill(struct cgroup_run *r)
{
	if (r->cg != NULL && r->dir[0] != NULL)
		kill_dir(r->cg, r->dir);
}

/* rmdir every controller's directory, killing what keeps them busy. */
static void
remove_dirs(const struct cgroups *cg, char *const *dir)
{
	int i, tries;

	for (tries = 0; tries < 100; tries++) {
		bool busy = false;

		for (i = 0; i < nctrl(cg); i++)
			if (dir[i] != NULL && rmdir(dir[i]) == -1 && errno == EBUSY)
				busy = true;
		if (!busy)
			return;
		kill_dir(cg, dir);
		usleep(20000);
	}
}

void
cgroup_run_destroy(struct cgroup_run *r)
{
	int i;

	if (r->cg != NULL && r->dir[0] != NULL)
		remove_dirs(r->cg, r->dir);	/* kills what keeps a group busy */
	for (i = 0; i < CG_NCTRL; i++)
		free(r->dir[i]);
	memset(r, 0, sizeof(*r));
}

int
cgroup_recover(const struct cgroups *cg)
{
	struct dirent *de;
	DIR *d;
	int n = 0, i;

	if (cg->kind == CGROUP_NONE || (d = opendir(cg->base[0])) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		char *dir[CG_NCTRL] = { NULL };

		if (strncmp(de->d_name, "run-", 4) != 0)
			continue;
		for (i = 0; i < nctrl(cg); i++)
			dir[i] = xasprintf("%s/%s", cg->base[i], de->d_name);
		kill_dir(cg, dir);
		remove_dirs(cg, dir);
		for (i = 0; i < nctrl(cg); i++)
			free(dir[i]);
		n++;
	}
	closedir(d);
	return n;
}
