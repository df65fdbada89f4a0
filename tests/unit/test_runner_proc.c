/*
 * Unit tests of the runner's process and file handling: spawning into a
 * fresh process group (a shell's background children die with the group,
 * failed execs are reported), helper commands with captured output and
 * abort, the nftw-based tree removal (links not followed, unreadable
 * directories removed), and the venv cache with a stand-in interpreter:
 * one build per key even when two processes race, a hit skips the build,
 * a crashed build without a marker is never used, and eviction is LRU and
 * never touches an environment in use.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../src/runner/call.c"
#include "../../src/runner/cmd.c"
#include "../../src/runner/jail.c"
#include "../../src/runner/cgroup.c"
#include "../../src/runner/contain.c"
#include "../../src/runner/jobuid.c"
#include "../../src/runner/limits.c"
#include "../../src/runner/sandbox.c"
#include "../../src/runner/lease.c"
#include "../../src/runner/runstate.c"
#include "../../src/runner/tree.c"
#include "../../src/runner/venv.c"

#include <setjmp.h>
#include <cmocka.h>

static char tmpdir[256];

static int
suite_setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/mt-runner-test-XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	return 0;
}

static int
suite_teardown(void **state)
{
	(void)state;
	return tree_remove(tmpdir);
}

static const char *const base_env[] = { "PATH=/usr/bin:/bin", "LANG=C", NULL };

static void
test_spawn_group(void **state)
{
	const char *argv[] = { "/bin/sh", "-c",
	    "sleep 30 & sleep 30 & echo started; echo err >&2; wait", NULL };
	struct spawn_opts o = { .argv = argv, .envp = base_env, .cwd = "/" };
	struct spawn_proc p;
	struct err err;
	char buf[64];
	ssize_t n;
	int status, i;

	(void)state;
	assert_int_equal(spawn_start(&o, &p, &err), 0);
	assert_true(p.pidfd >= 0);
	assert_int_equal(getpgid(p.pid), p.pid);
	for (i = 0, n = -1; i < 200 && n <= 0; i++) {
		n = read(p.out_fd, buf, sizeof(buf) - 1);
		if (n <= 0)
			usleep(10000);
	}
	assert_true(n > 0);
	buf[n] = '\0';
	assert_string_equal(buf, "started\n");
	assert_true(spawn_group_alive(p.pid));
	assert_true(spawn_signal_group(p.pid, SIGTERM));
	spawn_reap(&p, &status);
	assert_true(WIFSIGNALED(status));
	/* The background sleeps were in the group: all of it is gone. */
	for (i = 0; i < 200 && spawn_group_alive(p.pid); i++)
		usleep(10000);
	assert_false(spawn_group_alive(p.pid));
}

static void
test_spawn_failures(void **state)
{
	const char *argv[] = { "/nonexistent/prog", NULL };
	const char *argv2[] = { "/bin/true", NULL };
	struct spawn_opts o = { .argv = argv, .envp = base_env };
	struct spawn_proc p;
	struct err err;
	char d[64];

	(void)state;
	assert_int_equal(spawn_start(&o, &p, &err), -1);
	assert_string_equal(err.msg, "execve: No such file or directory");
	o.argv = argv2;
	o.cwd = "/nonexistent-dir";
	assert_int_equal(spawn_start(&o, &p, &err), -1);
	assert_string_equal(err.msg, "chdir: No such file or directory");
	spawn_describe_status(9, d, sizeof(d));
	assert_string_equal(d, "signal: killed");
	spawn_describe_status(3 << 8, d, sizeof(d));
	assert_string_equal(d, "exit status 3");
	assert_string_equal(spawn_signame(64, d, sizeof(d)), "signal 64");
}

static void
test_spawn_clean_fds(void **state)
{
	const char *argv[] = { "/bin/sh", "-c", "ls /proc/self/fd | wc -l", NULL };
	struct spawn_opts o = { .argv = argv, .envp = base_env, .merge_output = true };
	struct spawn_proc p;
	struct err err;
	int leak = open("/dev/null", O_RDONLY);	/* not close-on-exec */
	char buf[32] = "";
	ssize_t n = 0;
	int i;

	(void)state;
	assert_int_equal(spawn_start(&o, &p, &err), 0);
	for (i = 0; i < 300 && n <= 0; i++) {
		n = read(p.out_fd, buf, sizeof(buf) - 1);
		if (n <= 0)
			usleep(10000);
	}
	spawn_reap(&p, NULL);
	close(leak);
	assert_true(n > 0);
	/* 0, 1, 2 and the directory ls reads: 4. */
	assert_int_equal(atoi(buf), 4);
}

static bool
abort_after(void *arg)
{
	int64_t *at = arg;

	return mono_ms() >= *at;
}

static void
test_cmd_run(void **state)
{
	const char *ok_argv[] = { "/bin/sh", "-c", "echo out; echo err >&2", NULL };
	const char *bad_argv[] = { "/bin/sh", "-c", "echo first; echo second >&2; exit 3", NULL };
	const char *big_argv[] = { "/bin/sh", "-c", "head -c 5000 /dev/zero | tr '\\0' x; exit 1", NULL };
	const char *slow_argv[] = { "/bin/sh", "-c", "trap '' TERM; sleep 30 & sleep 30", NULL };
	struct cmd c;
	char d[4096];
	int64_t at, t0;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.so.argv = ok_argv;
	c.so.envp = base_env;
	assert_int_equal(cmd_run(&c, d, sizeof(d)), CMD_OK);
	assert_string_equal(c.output, "out\nerr\n");
	c.so.argv = bad_argv;
	assert_int_equal(cmd_run(&c, d, sizeof(d)), CMD_FAILED);
	assert_string_equal(d, "exit status 3: first | second");
	c.so.argv = big_argv;
	assert_int_equal(cmd_run(&c, d, sizeof(d)), CMD_FAILED);
	assert_int_equal(c.output_len, CMD_OUTPUT_MAX);
	assert_true(strstr(d, "...(truncated)") != NULL);
	/* An abort stops a helper that ignores SIGTERM: SIGKILL after grace. */
	c.so.argv = slow_argv;
	c.grace_ms = 200;
	t0 = mono_ms();
	at = t0 + 200;
	c.abort = abort_after;
	c.abort_arg = &at;
	assert_int_equal(cmd_run(&c, d, sizeof(d)), CMD_ABORTED);
	assert_true(mono_ms() - t0 < 10000);
}

static void
test_tree_remove(void **state)
{
	char *root = xasprintf("%s/tree", tmpdir), *outside = xasprintf("%s/outside", tmpdir);
	char *p;

	(void)state;
	assert_int_equal(mkdir(root, 0755), 0);
	assert_int_equal(mkdir(outside, 0755), 0);
	p = xasprintf("%s/keep", outside);
	close(open(p, O_CREAT | O_WRONLY, 0644));
	free(p);
	p = xasprintf("%s/link", root);
	assert_int_equal(symlink(outside, p), 0);
	free(p);
	p = xasprintf("%s/locked", root);
	assert_int_equal(mkdir(p, 0755), 0);
	free(p);
	p = xasprintf("%s/locked/inner", root);
	assert_int_equal(mkdir(p, 0755), 0);
	free(p);
	p = xasprintf("%s/locked/inner/f", root);
	close(open(p, O_CREAT | O_WRONLY, 0));
	free(p);
	p = xasprintf("%s/locked/inner", root);
	chmod(p, 0);
	free(p);
	p = xasprintf("%s/locked", root);
	chmod(p, 0);
	free(p);
	assert_int_equal(tree_remove(root), 0);
	assert_int_equal(access(root, F_OK), -1);
	p = xasprintf("%s/keep", outside);
	assert_int_equal(access(p, F_OK), 0);	/* the link was not followed */
	free(p);
	assert_int_equal(tree_remove(root), 0);	/* missing: fine */
	free(root);
	free(outside);
}

/* A stand-in interpreter: "-m venv DIR" makes DIR/bin/python (this same
 * script) and counts builds; "-m pip install -r REQ" counts installs. */
static char *
fake_python(void)
{
	char *path = xasprintf("%s/fakepy", tmpdir);
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fprintf(f, "#!/bin/sh\n"
	    "if [ \"$1 $2\" = \"-m venv\" ]; then\n"
	    "  echo build >> %s/builds; sleep 0.3\n"
	    "  mkdir -p \"$3/bin\" && cp \"$0\" \"$3/bin/python\" && cp \"$0\" \"$3/bin/pip\"\n"
	    "  exit 0\n"
	    "fi\n"
	    "[ \"$1\" = install ] && { echo pip >> %s/builds; exit 0; }\n"
	    "if [ \"$1 $2\" = \"-m pip\" ]; then\n"
	    "  echo pip >> %s/builds\n"
	    "  grep -q fail \"$5\" && { echo 'ERROR: no such package' >&2; exit 1; }\n"
	    "  exit 0\n"
	    "fi\n"
	    "exit 9\n", tmpdir, tmpdir, tmpdir);
	fclose(f);
	chmod(path, 0755);
	return path;
}

static int
count_lines(const char *path)
{
	FILE *f = fopen(path, "r");
	int n = 0, c;

	if (f == NULL)
		return 0;
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

static void
noop_line(void *arg, const char *text)
{
	(void)arg, (void)text;
}

struct venv_fixture {
	struct config	 cfg;
	struct pyinfo	 py;
	char		*ws;
};

static void
fixture(struct venv_fixture *fx, const char *req)
{
	char *p;
	FILE *f;

	memset(fx, 0, sizeof(*fx));
	fx->cfg.data_dir = xasprintf("%s/data", tmpdir);
	fx->cfg.venv_cache = true;
	fx->cfg.venv_cache_max = 2;
	fx->cfg.kill_grace_ms = 100;
	mkdir(fx->cfg.data_dir, 0700);
	p = xasprintf("%s/venvs", fx->cfg.data_dir);
	mkdir(p, 0700);
	free(p);
	fx->py.exe = fake_python();
	fx->py.version = xstrdup("Python 3.0.0");
	fx->ws = xasprintf("%s/ws", tmpdir);
	mkdir(fx->ws, 0700);
	p = xasprintf("%s/requirements.txt", fx->ws);
	unlink(p);
	if (req != NULL) {
		f = fopen(p, "w");
		fputs(req, f);
		fclose(f);
	}
	free(p);
}

static void
fixture_free(struct venv_fixture *fx)
{
	free(fx->cfg.data_dir);
	free(fx->ws);
	venv_pyinfo_free(&fx->py);
}

static int
prep(struct venv_fixture *fx, int64_t app_id, struct venv_run *vr, char *errbuf,
    size_t errsz, enum venv_stage *stage)
{
	memset(vr, 0, sizeof(*vr));
	vr->cfg = &fx->cfg;
	vr->py = &fx->py;
	vr->app_id = app_id;
	vr->ws = fx->ws;
	vr->run_dir = tmpdir;
	vr->build_env = base_env;
	vr->line = noop_line;
	return venv_prepare(vr, stage, errbuf, errsz);
}

static void
test_venv_cache(void **state)
{
	struct venv_fixture fx;
	struct venv_run vr, vr2;
	enum venv_stage stage;
	char err[1024], *builds, *marker;
	pid_t kid;
	int st;

	(void)state;
	fixture(&fx, "requests==1.0\n");
	builds = xasprintf("%s/builds", tmpdir);
	/* Two processes race for the same key: one build, one pip. */
	kid = fork();
	if (kid == 0) {
		int rc = prep(&fx, 1, &vr, err, sizeof(err), &stage);

		_exit(rc == 0 ? 0 : 1);
	}
	assert_int_equal(prep(&fx, 1, &vr, err, sizeof(err), &stage), 0);
	venv_release(&vr);
	waitpid(kid, &st, 0);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_int_equal(count_lines(builds), 2);	/* build + pip, once */
	marker = xasprintf("%s/.complete", vr.venv);
	assert_int_equal(access(marker, F_OK), 0);
	free(marker);
	/* A hit: nothing runs. */
	assert_int_equal(prep(&fx, 1, &vr2, err, sizeof(err), &stage), 0);
	assert_false(vr2.added);
	assert_string_equal(vr2.venv, vr.venv);
	assert_int_equal(count_lines(builds), 2);
	venv_release(&vr2);
	/* Another app never shares it. */
	assert_int_equal(prep(&fx, 2, &vr2, err, sizeof(err), &stage), 0);
	assert_true(vr2.added);
	assert_string_not_equal(vr2.venv, vr.venv);
	venv_release(&vr2);
	/* A build without a marker (a crash) is rebuilt. */
	marker = xasprintf("%s/.complete", vr2.venv);
	chmod(vr2.venv, 0755);
	assert_int_equal(unlink(marker), 0);
	free(marker);
	assert_int_equal(prep(&fx, 2, &vr2, err, sizeof(err), &stage), 0);
	assert_true(vr2.added);
	venv_release(&vr2);
	assert_int_equal(count_lines(builds), 6);
	free(builds);
	fixture_free(&fx);
}

static void
test_venv_failures_and_bypass(void **state)
{
	struct venv_fixture fx;
	struct venv_run vr;
	enum venv_stage stage;
	char err[1024], *p;

	(void)state;
	fixture(&fx, "fail-pkg\n");
	assert_int_equal(prep(&fx, 5, &vr, err, sizeof(err), &stage), -1);
	assert_int_equal(stage, VENV_STAGE_INSTALL);
	assert_string_equal(err, "exit status 1: ERROR: no such package");
	fixture_free(&fx);
	/* A local reference bypasses the cache: .venv in the run directory. */
	fixture(&fx, "  ./pkg\n");
	assert_int_equal(prep(&fx, 5, &vr, err, sizeof(err), &stage), 0);
	p = xasprintf("%s/.venv", tmpdir);
	assert_string_equal(vr.venv, p);
	assert_int_equal(vr.lock_fd, -1);
	free(p);
	fixture_free(&fx);
	/* requirements.txt must be a regular file inside the workspace. */
	fixture(&fx, NULL);
	p = xasprintf("%s/requirements.txt", fx.ws);
	assert_int_equal(symlink("/etc/passwd", p), 0);
	assert_int_equal(prep(&fx, 5, &vr, err, sizeof(err), &stage), -1);
	assert_string_equal(err, "requirements.txt must be a regular file inside the artifact");
	unlink(p);
	free(p);
	fixture_free(&fx);
	assert_true(venv_req_is_local("x\n-r other.txt\n", 15));
	assert_true(venv_req_is_local("pkg @ file:///x\n", 16));
	assert_true(venv_req_is_local("--find-links=w\n", 15));
	assert_false(venv_req_is_local("requests==2\n# comment\n", 22));
}

static void
test_venv_evict(void **state)
{
	struct venv_fixture fx;
	struct venv_run vr[4];
	enum venv_stage stage;
	char err[1024];
	int i;

	(void)state;
	fixture(&fx, NULL);
	for (i = 0; i < 3; i++) {
		assert_int_equal(prep(&fx, 10 + i, &vr[i], err, sizeof(err), &stage), 0);
		usleep(20000);
	}
	/* vr[0] (the oldest) is still in use: vr[1] is evicted instead. */
	venv_release(&vr[1]);
	venv_release(&vr[2]);
	venv_evict(&fx.cfg);
	assert_int_equal(access(vr[0].venv, F_OK), 0);
	assert_int_equal(access(vr[1].venv, F_OK), -1);
	assert_int_equal(access(vr[2].venv, F_OK), 0);
	venv_release(&vr[0]);
	assert_int_equal(prep(&fx, 13, &vr[3], err, sizeof(err), &stage), 0);
	venv_release(&vr[3]);
	venv_evict(&fx.cfg);
	assert_int_equal(access(vr[0].venv, F_OK), -1);	/* now the LRU one */
	assert_int_equal(access(vr[2].venv, F_OK), 0);
	assert_int_equal(access(vr[3].venv, F_OK), 0);
	fixture_free(&fx);
}

static void
test_venv_key(void **state)
{
	char a[65], b[65], c[65];

	(void)state;
	venv_key(1, "/usr/bin/python3.11", "Python 3.11.2", "x86_64", "x\n", 2, a);
	venv_key(1, "/usr/bin/python3.11", "Python 3.11.2", "x86_64", "x\n", 2, b);
	venv_key(1, "/usr/bin/python3.11", "Python 3.11.2", "aarch64", "x\n", 2, c);
	assert_string_equal(a, b);
	assert_string_not_equal(a, c);
	assert_int_equal(strlen(a), 64);
	/* sha256("1\n/p\nv\nm\n") */
	venv_key(1, "/p", "v", "m", NULL, 0, a);
	assert_string_equal(a, "23ca5420f8d282d33eae597a377739c138c2d5b050fe910e8300451fd11271ee");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spawn_group),
		cmocka_unit_test(test_spawn_failures),
		cmocka_unit_test(test_spawn_clean_fds),
		cmocka_unit_test(test_cmd_run),
		cmocka_unit_test(test_tree_remove),
		cmocka_unit_test(test_venv_cache),
		cmocka_unit_test(test_venv_failures_and_bypass),
		cmocka_unit_test(test_venv_evict),
		cmocka_unit_test(test_venv_key),
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	return cmocka_run_group_tests(tests, suite_setup, suite_teardown);
}
