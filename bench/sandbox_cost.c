/*
 * bench/sandbox_cost.c: the raw cost of starting one contained /bin/true the
 * way minitower-runner does (issue 12), without the server, the HTTP calls or
 * the workspace. Linked against the runner's own jail.o and cgroup.o, so the
 * bwrap command line is the one jail_argv() builds and the spawn is the
 * runner's spawn_start() (a fork, or a clone into a new PID namespace).
 *
 * usage: sandbox_cost N BWRAP JOBINIT WORKDIR [VARIANT...]
 *
 * Every iteration runs each variant once, in an order rotated by one each
 * iteration, so drift on a busy machine hits all variants alike. Per variant
 * it prints the p50/p99/mean of spawn -> outer process reaped (what the
 * runner waits for) and of spawn -> the job's exit status reported by
 * jobinit (jail variants); the difference is the namespace teardown.
 *
 * Variants (all run /bin/true, as root):
 *   true         spawn_start(/bin/true): fork + exec, the floor
 *   bwrap-exec   spawn_start(bwrap --version): what starting bwrap alone costs
 *   jobinit      jobinit -- /bin/true, no namespace (jobinit as subreaper)
 *   none         the runner's MINITOWER_SANDBOX=none: jobinit as PID 1 of a
 *                new PID namespace
 *   bwrap        the runner's MINITOWER_SANDBOX=bwrap: bwrap <jail_argv> jobinit
 *   none+cg      none inside a fresh cgroup v1/v2 group: create, pids.max,
 *                memory/cpu limits, attach, and after the job kill + rmdir,
 *                as contain.c does for every run
 *   none+cgfast  none+cg with the change proposed in docs/performance.md:
 *                no freeze/thaw of a group whose cgroup.procs is empty (on
 *                cgroup v1 each freezer.state write costs ~2 ms here), and
 *                rmdir first at destroy (killing only on EBUSY)
 *   bwrap+cg     bwrap, the same with the cgroup
 *   bwrap-noetc  bwrap without the --ro-bind-try of the /etc list (what the
 *                list's mounts cost)
 *   bwrap-etcdir bwrap with the /etc list replaced by one --ro-bind of a
 *                directory holding copies of the same entries (WORKDIR/etc)
 *   bwrap-etcmnt bwrap with the /etc list replaced by one --ro-bind of
 *                WORKDIR/etcm, a directory on which the caller bind-mounted
 *                (read-only, in the host's mount namespace) each /etc entry
 *                once: bwrap binds it recursively (measured when it exists)
 *   bwrap-nons   bwrap without --unshare-ipc, --unshare-uts and
 *                --unshare-cgroup-try
 *   bwrap-min    bwrap --die-with-parent --as-pid-1 --unshare-pid, /usr and
 *                the root links, --proc, --dev and nothing else
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "jail.h"
#include "util.h"

enum kind { K_PLAIN, K_VERSION, K_JAIL, K_ARGV };
enum edit { E_NONE, E_NOETC, E_ETCDIR, E_ETCMNT, E_NONS, E_MIN };

struct variant {
	const char	*name;
	enum kind	 kind;
	enum sandbox_mode mode;
	bool		 pidns;
	int		 cg;		/* 1: as contain.c; 2: the proposed kill/destroy */
	enum edit	 edit;
	double		*tot, *st;	/* ms per iteration */
	int		 n, nst;
	double		*cgc, *cgk, *cgd;	/* cgroup create+limit, kill, destroy */
};

static struct variant all[] = {
	{ "true", K_PLAIN, SANDBOX_NONE, false, false, E_NONE, NULL, NULL, 0, 0, NULL, NULL, NULL },
	{ "bwrap-exec", K_VERSION, SANDBOX_NONE, false, false, E_NONE, NULL, NULL, 0, 0, NULL, NULL, NULL },
	{ "jobinit", K_JAIL, SANDBOX_NONE, false, false, E_NONE, NULL, NULL, 0, 0, NULL, NULL, NULL },
	{ "none", K_JAIL, SANDBOX_NONE, true, false, E_NONE, NULL, NULL, 0, 0, NULL, NULL, NULL },
	{ "bwrap", K_JAIL, SANDBOX_BWRAP, false, false, E_NONE, NULL, NULL, 0, 0, NULL, NULL, NULL },
	{ "none+cg", K_JAIL, SANDBOX_NONE, true, true, E_NONE, NULL, NULL, 0, 0, NULL, NULL, NULL },
	{ "none+cgfast", K_JAIL, SANDBOX_NONE, true, 2, E_NONE, NULL, NULL, 0, 0, NULL, NULL, NULL },
	{ "bwrap+cg", K_JAIL, SANDBOX_BWRAP, false, true, E_NONE, NULL, NULL, 0, 0, NULL, NULL, NULL },
	{ "bwrap-noetc", K_ARGV, SANDBOX_BWRAP, false, false, E_NOETC, NULL, NULL, 0, 0, NULL, NULL, NULL },
	{ "bwrap-etcdir", K_ARGV, SANDBOX_BWRAP, false, false, E_ETCDIR, NULL, NULL, 0, 0, NULL, NULL, NULL },
	{ "bwrap-etcmnt", K_ARGV, SANDBOX_BWRAP, false, false, E_ETCMNT, NULL, NULL, 0, 0, NULL, NULL, NULL },
	{ "bwrap-nons", K_ARGV, SANDBOX_BWRAP, false, false, E_NONS, NULL, NULL, 0, 0, NULL, NULL, NULL },
	{ "bwrap-min", K_ARGV, SANDBOX_BWRAP, false, false, E_MIN, NULL, NULL, 0, 0, NULL, NULL, NULL },
};
#define NALL	(sizeof(all) / sizeof(all[0]))

static const char *const job_argv[] = { "/bin/true", NULL };
static const char *const job_envp[] = { "PATH=/usr/bin:/bin", NULL };
static const char *bwrap_path, *jobinit_path, *workdir;
static char *ws, *tmpd, *input, *etcdir, *etcmnt;
static struct cgroups cgs;
static int seq;

static double
clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void
spec_for(const struct variant *v, struct jail_spec *js)
{
	static const char *ro[2], *rw[3];

	/* What contain_job_spec() gives a shell job: the input file read-only,
	 * the workspace and the run's tmp read-write, tmp at /tmp. */
	ro[0] = input;
	ro[1] = NULL;
	rw[0] = ws;
	rw[1] = tmpd;
	rw[2] = NULL;
	memset(js, 0, sizeof(*js));
	js->mode = v->mode;
	js->pidns = v->pidns;
	js->jobinit = jobinit_path;
	js->bwrap = bwrap_path;
	js->network = true;
	js->ro = ro;
	js->rw = rw;
	js->tmp = tmpd;
}

static int
arity(const char *opt)
{
	static const char *const one[] = { "--cap-drop", "--proc", "--dev", "--tmpfs", "--chdir", NULL };
	static const char *const two[] = { "--ro-bind", "--ro-bind-try", "--bind", "--symlink", NULL };
	int i;

	for (i = 0; one[i] != NULL; i++)
		if (strcmp(opt, one[i]) == 0)
			return 1;
	for (i = 0; two[i] != NULL; i++)
		if (strcmp(opt, two[i]) == 0)
			return 2;
	return 0;
}

/* Whether variant v keeps option o (with its arguments a[0], a[1]). */
static bool
keep(const struct variant *v, const char *o, char *const *a)
{
	bool etc = strcmp(o, "--ro-bind-try") == 0 && strncmp(a[0], "/etc/", 5) == 0;
	bool ns = strcmp(o, "--unshare-ipc") == 0 || strcmp(o, "--unshare-uts") == 0 ||
	    strcmp(o, "--unshare-cgroup-try") == 0;

	switch (v->edit) {
	case E_NOETC:
	case E_ETCDIR:
	case E_ETCMNT:
		return !etc;
	case E_NONS:
		return !ns;
	case E_MIN:
		return strcmp(o, "--die-with-parent") == 0 || strcmp(o, "--as-pid-1") == 0 ||
		    strcmp(o, "--unshare-pid") == 0 || strcmp(o, "--symlink") == 0 ||
		    strcmp(o, "--proc") == 0 || strcmp(o, "--dev") == 0 ||
		    (strcmp(o, "--ro-bind") == 0 && (strcmp(a[0], "/usr") == 0 ||
		    strcmp(a[0], jobinit_path) == 0));
	default:
		return true;
	}
}

/* jail_argv() edited as v says; the caller frees it with jail_argv_free. */
static char **
edited_argv(const struct variant *v, const struct jail_spec *js)
{
	char **src = jail_argv(js, job_argv, ws), **dst;
	size_t n, i, k = 0;
	int j, ar;

	for (n = 0; src[n] != NULL; n++)
		;
	dst = xcalloc(n + 4, sizeof(char *));
	dst[k++] = src[0];
	for (i = 1; i < n; i += 1 + (size_t)ar) {
		if (strcmp(src[i], "--") == 0) {
			if (v->edit == E_ETCDIR || v->edit == E_ETCMNT) {
				dst[k++] = xstrdup("--ro-bind");
				dst[k++] = xstrdup(v->edit == E_ETCDIR ? etcdir : etcmnt);
				dst[k++] = xstrdup("/etc");
			}
			for (; i < n; i++)
				dst[k++] = src[i];
			break;
		}
		ar = arity(src[i]);
		if (keep(v, src[i], &src[i + 1])) {
			for (j = 0; j <= ar; j++)
				dst[k++] = src[i + (size_t)j];
		} else {
			for (j = 0; j <= ar; j++)
				free(src[i + (size_t)j]);
		}
	}
	dst[k] = NULL;
	free(src);
	return dst;
}

/* jail_start() with an argv of our own (the K_ARGV variants). */
static int
start_argv(char **argv, struct jail_proc *jp, struct err *err)
{
	int sp[2], op[2], pass[2];
	struct spawn_opts so;

	memset(jp, 0, sizeof(*jp));
	jp->status_fd = jp->order_fd = -1;
	if (pipe2(sp, O_CLOEXEC) != 0 || pipe2(op, O_CLOEXEC) != 0)
		return err_set(err, ERR_IO, "pipe: %s", strerror(errno));
	pass[0] = sp[1];
	pass[1] = op[0];
	memset(&so, 0, sizeof(so));
	so.argv = (const char *const *)argv;
	so.envp = job_envp;
	so.cwd = "/";
	so.pass_fds = pass;
	so.npass = 2;
	if (spawn_start(&so, &jp->p, err) != 0)
		return -1;
	close(sp[1]);
	close(op[0]);
	jp->status_fd = sp[0];
	jp->order_fd = op[1];
	(void)fcntl(jp->status_fd, F_SETFL, O_NONBLOCK);
	return 0;
}

/* Waits as pump.c does: poll the pidfd and the status pipe. */
static void
wait_jail(struct jail_proc *jp, double t0, double *st_ms)
{
	*st_ms = -1;
	while (!jp->reaped) {
		struct pollfd pf[2] = { { jp->p.pidfd, POLLIN, 0 }, { jp->status_fd, POLLIN, 0 } };

		(void)poll(pf, 2, 100);
		jail_poll(jp);
		if (jp->main_done && *st_ms < 0)
			*st_ms = clock_ms() - t0;
	}
}

/* The proposed kill: is there anything to freeze? */
static bool
group_empty(const struct cgroup_run *r)
{
	const char *d = r->dir[r->cg->kind == CGROUP_V2 ? 0 : CG_FREEZER];
	char path[4096], c;
	bool empty;
	FILE *f;

	snprintf(path, sizeof(path), "%s/cgroup.procs", d);
	if ((f = fopen(path, "re")) == NULL)
		return false;
	empty = fread(&c, 1, 1, f) == 0;
	fclose(f);
	return empty;
}

/* The proposed destroy: rmdir, and kill only what keeps a group busy
 * (cgroup_run_destroy() afterwards then finds nothing left to do). */
static void
rmdir_first(struct cgroup_run *r)
{
	int i;

	for (i = 0; i < CG_NCTRL; i++)
		if (r->dir[i] != NULL)
			(void)rmdir(r->dir[i]);
}

static void
one(struct variant *v)
{
	struct cgroup_run cr;
	struct limits lim = { 0, 0, 0, 0, 0 };
	struct jail_spec js;
	struct jail_proc jp;
	struct err err;
	double t0, st = -1, t1, c0 = 0, c1 = 0, c2 = 0, c3 = 0;
	char name[64];
	int rc;

	err_clear(&err);
	t0 = clock_ms();
	if (v->kind == K_PLAIN || v->kind == K_VERSION) {
		const char *const ver_argv[] = { bwrap_path, "--version", NULL };
		struct spawn_opts so;
		struct spawn_proc p;

		memset(&so, 0, sizeof(so));
		so.argv = v->kind == K_VERSION ? ver_argv : job_argv;
		so.envp = job_envp;
		so.cwd = ws;
		if (spawn_start(&so, &p, &err) != 0) {
			fprintf(stderr, "%s: %s\n", v->name, err.msg);
			exit(1);
		}
		spawn_reap(&p, &rc);
	} else {
		spec_for(v, &js);
		if (v->cg) {
			/* contain_begin + contain_job_spec: the group, pids.max,
			 * then the memory and CPU limits right before the start. */
			lim.memory_mb = 512;
			lim.cpus_milli = 1000;
			snprintf(name, sizeof(name), "run-%d-1", ++seq);
			c0 = clock_ms();
			if (cgroup_run_create(&cgs, name, 256, &cr, &err) != 0 ||
			    cgroup_run_limit(&cr, &lim, &err) != 0) {
				fprintf(stderr, "%s: %s\n", v->name, err.msg);
				exit(1);
			}
			c1 = clock_ms();
			js.attach = cgroup_run_attach;
			js.attach_arg = &cr;
		}
		if (v->kind == K_JAIL) {
			rc = jail_start(&js, job_argv, job_envp, ws, false, &jp, &err);
		} else {
			char **argv = edited_argv(v, &js);

			rc = start_argv(argv, &jp, &err);
			jail_argv_free(argv);
		}
		if (rc != 0) {
			fprintf(stderr, "%s: %s\n", v->name, err.msg);
			exit(1);
		}
		wait_jail(&jp, t0, &st);
		rc = jp.main_status;
		jail_finish(&jp);
		if (v->cg) {
			struct cgroup_usage u;

			c2 = clock_ms();
			if (v->cg == 1 || !group_empty(&cr))
				cgroup_run_kill(&cr);	/* launch()'s contain_kill */
			cgroup_run_usage(&cr, &u);	/* contain_job_done */
			c3 = clock_ms();
			if (v->cg == 2)
				rmdir_first(&cr);
			cgroup_run_destroy(&cr);	/* contain_end, after the result */
			v->cgc[v->n] = c1 - c0;
			v->cgk[v->n] = c3 - c2;
			v->cgd[v->n] = clock_ms() - c3;
		}
	}
	t1 = clock_ms() - t0;
	if (!WIFEXITED(rc) || WEXITSTATUS(rc) != 0) {
		fprintf(stderr, "%s: /bin/true ended with status %#x\n", v->name, rc);
		exit(1);
	}
	v->tot[v->n++] = t1;
	if (st >= 0)
		v->st[v->nst++] = st;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
pct(double *xs, int n, double p)
{
	int k = (int)ceil(p / 100.0 * n) - 1;

	qsort(xs, (size_t)n, sizeof(double), cmp);
	return xs[k < 0 ? 0 : k >= n ? n - 1 : k];
}

static double
mean(const double *xs, int n)
{
	double s = 0;
	int i;

	for (i = 0; i < n; i++)
		s += xs[i];
	return n ? s / n : 0;
}

static void
remove_bases(void)
{
	int i;

	for (i = 0; i < CG_NCTRL; i++)
		if (cgs.base[i] != NULL)
			(void)rmdir(cgs.base[i]);
}

int
main(int argc, char **argv)
{
	struct variant *use[NALL];
	struct err err;
	size_t nuse = 0, i, j;
	int n, it;
	char id[64];

	if (argc < 5) {
		fprintf(stderr, "usage: sandbox_cost N BWRAP JOBINIT WORKDIR [VARIANT...]\n");
		return 2;
	}
	n = atoi(argv[1]);
	bwrap_path = argv[2];
	jobinit_path = argv[3];
	workdir = argv[4];
	etcmnt = xasprintf("%s/etcm", workdir);
	for (i = 0; i < NALL; i++) {
		bool want = argc == 5 && (all[i].edit != E_ETCMNT || access(etcmnt, F_OK) == 0);

		for (j = 5; j < (size_t)argc; j++)
			want |= strcmp(argv[j], all[i].name) == 0;
		if (want) {
			all[i].tot = xcalloc((size_t)n, sizeof(double));
			all[i].st = xcalloc((size_t)n, sizeof(double));
			all[i].cgc = xcalloc((size_t)n, sizeof(double));
			all[i].cgk = xcalloc((size_t)n, sizeof(double));
			all[i].cgd = xcalloc((size_t)n, sizeof(double));
			use[nuse++] = &all[i];
		}
	}
	ws = xasprintf("%s/ws", workdir);
	tmpd = xasprintf("%s/tmp", workdir);
	input = xasprintf("%s/input.json", workdir);
	etcdir = xasprintf("%s/etc", workdir);
	if (getenv("BENCH_ARGV") != NULL) {
		for (i = 0; i < nuse; i++) {
			struct jail_spec js;
			char **a;

			if (use[i]->mode != SANDBOX_BWRAP)
				continue;
			spec_for(use[i], &js);
			a = use[i]->kind == K_ARGV ? edited_argv(use[i], &js) : jail_argv(&js, job_argv, ws);
			printf("%s:", use[i]->name);
			for (j = 0; a[j] != NULL; j++)
				printf(" %s", a[j]);
			printf("\n");
			jail_argv_free(a);
		}
	}
	if (n <= 0)
		return 0;
	snprintf(id, sizeof(id), "bench-%d", (int)getpid());
	err_clear(&err);
	if (cgroup_init(&cgs, "auto", id, &err) != 0 || cgs.kind == CGROUP_NONE)
		fprintf(stderr, "no cgroup: the +cg variants run without one\n");
	atexit(remove_bases);
	/* A warm-up of each, then the rotated rounds. */
	for (i = 0; i < nuse; i++)
		one(use[i]);
	for (i = 0; i < nuse; i++)
		use[i]->n = use[i]->nst = 0;
	for (it = 0; it < n; it++)
		for (i = 0; i < nuse; i++)
			one(use[(i + (size_t)it) % nuse]);
	remove_bases();
	printf("%-13s %8s %8s %8s %9s %11s\n", "variant", "p50", "p99", "mean", "status", "teardown");
	for (i = 0; i < nuse; i++) {
		struct variant *v = use[i];
		double p50 = pct(v->tot, v->n, 50), p99 = pct(v->tot, v->n, 99), m = mean(v->tot, v->n);

		if (v->nst > 0) {
			double s50 = pct(v->st, v->nst, 50);

			printf("%-13s %8.2f %8.2f %8.2f %9.2f %11.2f\n", v->name, p50, p99, m, s50, p50 - s50);
		} else {
			printf("%-13s %8.2f %8.2f %8.2f %9s %11s\n", v->name, p50, p99, m, "-", "-");
		}
	}
	printf("(ms from spawn to reaped over %d iterations each; status: p50 until jobinit reported "
	    "the exit status; teardown: p50 difference)\n", n);
	for (i = 0; i < nuse; i++) {
		struct variant *v = use[i];

		if (!v->cg || cgs.kind == CGROUP_NONE)
			continue;
		printf("%s cgroup (%s) p50: create + pids/memory/cpu limits %.2f ms, kill + usage "
		    "(before the result) %.2f ms, destroy (after the result) %.2f ms\n", v->name,
		    cgroup_kind_name(cgs.kind), pct(v->cgc, v->n, 50), pct(v->cgk, v->n, 50),
		    pct(v->cgd, v->n, 50));
	}
	return 0;
}
