/*
 * venv: Python environments. All coordination between runs and runners goes
 * through flock on <DATA_DIR>/venvs/<key>.lock; an environment counts only
 * once its .complete marker exists, and the marker is written (and synced)
 * after everything else, so a crashed build is never used.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "call.h"
#include "contain.h"
#include "crashpoint.h"
#include "log.h"
#include "tree.h"
#include "util.h"
#include "venv.h"

#define REQ_MAX	(16 * 1024 * 1024)

extern char **environ;

/* The runner's environment without MINITOWER_* (for the interpreter probe,
 * so that a pyenv shim still finds its own variables). */
static char **
probe_env(void)
{
	size_t n = 0, i, j = 0;
	char **e;

	while (environ[n] != NULL)
		n++;
	e = xcalloc(n + 1, sizeof(char *));
	for (i = 0; i < n; i++)
		if (strncmp(environ[i], "MINITOWER_", 10) != 0)
			e[j++] = environ[i];
	return e;
}

static int
probe(const char *exe, const char *arg1, const char *arg2, char **envp,
    char *out, size_t outsz)
{
	const char *argv[] = { exe, arg1, arg2, NULL };
	struct cmd c;
	int rc;

	memset(&c, 0, sizeof(c));
	c.so.argv = argv;
	c.so.envp = (const char *const *)envp;
	rc = cmd_run(&c, out, outsz);
	if (rc == CMD_OK)
		snprintf(out, outsz, "%s", str_trim(c.output));
	return rc == CMD_OK ? 0 : -1;
}

int
venv_resolve(struct pyinfo *py, const struct config *cfg, char *errbuf, size_t errsz)
{
	char **envp = probe_env(), exe[4096], ver[256];
	char *path = cmd_which(cfg->python_bin, cfg->path);
	int rc = -1;

	if (path == NULL) {
		snprintf(errbuf, errsz, "%s: executable file not found in $PATH", cfg->python_bin);
		goto out;
	}
	if (probe(path, "-c", "import sys; print(sys.executable)", envp, exe, sizeof(exe)) != 0) {
		snprintf(errbuf, errsz, "%s", exe);
		goto out;
	}
	if (exe[0] != '/') {
		snprintf(errbuf, errsz, "%s: no sys.executable", cfg->python_bin);
		goto out;
	}
	if (probe(exe, "--version", NULL, envp, ver, sizeof(ver)) != 0) {
		snprintf(errbuf, errsz, "%s", ver);
		goto out;
	}
	venv_pyinfo_free(py);
	py->exe = xstrdup(exe);
	py->version = xstrdup(ver);
	/* Which interpreter the Python runs get (issue 13: a PATH shim is slow). */
	log_info("python interpreter", "python_bin=%s executable=%s python_version=%s", cfg->python_bin,
	    exe, ver);
	rc = 0;
out:
	free(path);
	free(envp);
	return rc;
}

void
venv_pyinfo_free(struct pyinfo *py)
{
	free(py->exe);
	free(py->version);
	py->exe = py->version = NULL;
}

void
venv_key(int64_t app_id, const char *exe, const char *version,
    const char *machine, const char *req, size_t req_len, char out[65])
{
	crypto_hash_sha256_state st;
	unsigned char d[crypto_hash_sha256_BYTES];
	char head[64];

	snprintf(head, sizeof(head), "%lld\n", (long long)app_id);
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const unsigned char *)head, strlen(head));
	crypto_hash_sha256_update(&st, (const unsigned char *)exe, strlen(exe));
	crypto_hash_sha256_update(&st, (const unsigned char *)"\n", 1);
	crypto_hash_sha256_update(&st, (const unsigned char *)version, strlen(version));
	crypto_hash_sha256_update(&st, (const unsigned char *)"\n", 1);
	crypto_hash_sha256_update(&st, (const unsigned char *)machine, strlen(machine));
	crypto_hash_sha256_update(&st, (const unsigned char *)"\n", 1);
	if (req != NULL)
		crypto_hash_sha256_update(&st, (const unsigned char *)req, req_len);
	crypto_hash_sha256_final(&st, d);
	hex_encode(d, sizeof(d), out);
}

static bool
line_is_local(const char *l, size_t n)
{
	static const char *const opts[] = { "-r", "--requirement", "-c", "--constraint",
	    "-e", "--editable", "-f", "--find-links", NULL };
	size_t i;

	while (n > 0 && (*l == ' ' || *l == '\t')) {
		l++;
		n--;
	}
	if (n > 0 && (*l == '.' || *l == '/'))
		return true;
	for (i = 0; opts[i] != NULL; i++) {
		size_t k = strlen(opts[i]);

		if (n >= k && memcmp(l, opts[i], k) == 0)
			return true;
	}
	return memmem(l, n, "file:", 5) != NULL;
}

bool
venv_req_is_local(const char *req, size_t len)
{
	size_t start = 0, i;

	for (i = 0; i <= len; i++) {
		if (i == len || req[i] == '\n') {
			if (line_is_local(req + start, i - start))
				return true;
			start = i + 1;
		}
	}
	return false;
}

static int
open_beneath(int dirfd, const char *name)
{
	struct open_how how;
	long fd;

	memset(&how, 0, sizeof(how));
	how.flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK;
	how.resolve = RESOLVE_BENEATH;
	fd = syscall(SYS_openat2, dirfd, name, &how, sizeof(how));
	return (int)fd;
}

int
venv_read_requirements(const char *ws, char **out, size_t *len)
{
	int dfd = open(ws, O_RDONLY | O_DIRECTORY | O_CLOEXEC), fd, rc = -1;
	struct stat st;
	struct buf b;
	char tmp[65536];
	ssize_t n;

	*out = NULL;
	*len = 0;
	if (dfd == -1)
		return -1;
	fd = open_beneath(dfd, "requirements.txt");
	close(dfd);
	if (fd == -1)
		return errno == ENOENT ? 0 : -1;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -1;
	}
	buf_init(&b, REQ_MAX);
	while ((n = read(fd, tmp, sizeof(tmp))) > 0)
		buf_add(&b, tmp, (size_t)n);
	close(fd);
	if (n == 0 && buf_ok(&b)) {
		*len = b.len;
		*out = buf_take(&b);
		if (*out == NULL)
			*out = xstrdup("");
		rc = 1;
	}
	buf_free(&b);
	return rc;
}

/* Runs one build command in the run's jail (as the run's user, seeing the
 * workspace and the environment dir being built), in the workspace. */
static int
run_build(struct venv_run *vr, const char *dir, const char *const *argv, char *errbuf,
    size_t errsz)
{
	const struct config *cfg = vr->cfg;
	const char *rw[] = { dir, vr->ws, NULL };
	struct jail_spec js;
	struct cmd c;

	memset(&c, 0, sizeof(c));
	c.so.argv = argv;
	c.so.envp = vr->build_env;
	c.so.cwd = vr->ws;
	if (vr->contain != NULL) {
		contain_build_spec(vr->contain, rw, vr->tmp, &js);
		c.js = &js;
	}
	c.abort = vr->abort;
	c.abort_arg = vr->abort_arg;
	c.kill_at = vr->kill_at;
	c.grace_ms = cfg->kill_grace_ms;
	return cmd_run(&c, errbuf, errsz);
}

/* The directory the environment is built in, owned by the run's user
 * (it must exist to be bound into the build's sandbox). */
static int
make_owned_dir(struct venv_run *vr, const char *dir, char *errbuf, size_t errsz)
{
	const struct contain *ct = vr->contain;

	if (mkdir(dir, 0755) == -1 && errno != EEXIST) {
		snprintf(errbuf, errsz, "create %s: %s", dir, strerror(errno));
		return -1;
	}
	if (ct != NULL && ct->set_user && chown(dir, ct->uid, ct->gid) == -1) {
		snprintf(errbuf, errsz, "chown %s: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

/* venv, then pip when there are requirements. */
static int
build(struct venv_run *vr, const char *dir, bool have_req, bool cached,
    enum venv_stage *stage, char *errbuf, size_t errsz)
{
	const char *venv_argv[] = { vr->py->exe, "-m", "venv", dir, NULL };
	char *py = xasprintf("%s/bin/%s", dir, cached ? "python" : "pip");
	char *req = xasprintf("%s/requirements.txt", vr->ws);
	const char *pip_cached[] = { py, "-m", "pip", "install", "-r", req, NULL };
	const char *pip_plain[] = { py, "install", "-r", req, NULL };
	int rc;

	*stage = VENV_STAGE_CREATE;
	rc = make_owned_dir(vr, dir, errbuf, errsz);
	if (rc == 0)
		rc = run_build(vr, dir, venv_argv, errbuf, errsz);
	if (rc == 0)
		CRASH_POINT("venv");	/* created, pip not yet run */
	if (rc == 0 && have_req) {
		*stage = VENV_STAGE_INSTALL;
		vr->line(vr->abort_arg, "installing dependencies from requirements.txt");
		rc = run_build(vr, dir, cached ? pip_cached : pip_plain, errbuf, errsz);
	}
	free(py);
	free(req);
	return rc;
}

/* flock with LOCK_NB every 20 ms until it succeeds or abort says stop. */
static int
lock_wait(struct venv_run *vr, int fd, int op)
{
	for (;;) {
		if (flock(fd, op | LOCK_NB) == 0)
			return 0;
		if (errno != EWOULDBLOCK && errno != EINTR)
			return -1;
		if (!call_sleep(20, vr->abort, vr->abort_arg))
			return CMD_ABORTED;
	}
}

static bool
marker_exists(const char *dir)
{
	char *m = xasprintf("%s/.complete", dir);
	bool ok = access(m, F_OK) == 0;

	free(m);
	return ok;
}

/* Writes and syncs the marker (the directory is briefly made writable). */
static int
write_marker(const char *dir)
{
	char *m = xasprintf("%s/.complete", dir);
	struct stat st;
	int fd, dfd, rc = -1;

	if (stat(dir, &st) == -1 || chmod(dir, (st.st_mode & 07777) | 0200) == -1)
		goto out;
	fd = open(m, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0444);
	if (fd != -1) {
		rc = fsync(fd);
		close(fd);
	}
	if (chmod(dir, st.st_mode & 07777) == -1)
		rc = -1;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd != -1) {
		(void)fsync(dfd);
		close(dfd);
	}
out:
	free(m);
	return rc;
}

/* Builds the cached environment dir under the exclusive lock. */
static int
build_cached(struct venv_run *vr, const char *dir, bool have_req,
    enum venv_stage *stage, char *errbuf, size_t errsz)
{
	int rc;

	tree_remove(dir);
	rc = build(vr, dir, have_req, true, stage, errbuf, errsz);
	if (rc == 0 && vr->contain != NULL && vr->contain->set_user &&
	    tree_chown(dir, (unsigned)getuid(), (unsigned)getgid()) == -1)
		rc = -1;
	if (rc == 0 && (tree_make_readonly(dir) == -1 || write_marker(dir) == -1)) {
		snprintf(errbuf, errsz, "publish %s: %s", dir, strerror(errno));
		rc = -1;
	}
	if (rc != 0)
		tree_remove(dir);
	return rc;
}

/* The locked lookup of runner.md §5.5; returns 0 with the shared lock. */
static int
cache_lookup(struct venv_run *vr, const char *key, bool have_req,
    enum venv_stage *stage, char *errbuf, size_t errsz)
{
	char *dir = xasprintf("%s/venvs/%s", vr->cfg->data_dir, key);
	char *lock = xasprintf("%s.lock", dir);
	char msg[128];
	int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600), rc = -1;

	*stage = VENV_STAGE_CREATE;
	if (fd == -1) {
		snprintf(errbuf, errsz, "open %s: %s", lock, strerror(errno));
		goto out;
	}
	for (;;) {
		if ((rc = lock_wait(vr, fd, LOCK_SH)) != 0)
			break;
		if (marker_exists(dir)) {
			snprintf(msg, sizeof(msg), "using cached virtual environment (key %.12s)", key);
			vr->line(vr->abort_arg, msg);
			log_info("venv cache hit", "key=%s", key);
			break;
		}
		flock(fd, LOCK_UN);
		if ((rc = lock_wait(vr, fd, LOCK_EX)) != 0)
			break;
		if (marker_exists(dir)) {
			flock(fd, LOCK_UN);
			continue;
		}
		snprintf(msg, sizeof(msg), "creating virtual environment (key %.12s)", key);
		vr->line(vr->abort_arg, msg);
		log_info("venv cache miss", "key=%s", key);
		rc = build_cached(vr, dir, have_req, stage, errbuf, errsz);
		flock(fd, LOCK_UN);
		if (rc != 0)
			break;
		vr->added = true;
		if ((rc = lock_wait(vr, fd, LOCK_SH)) != 0 || marker_exists(dir))
			break;
		flock(fd, LOCK_UN);
	}
	if (rc == 0) {
		(void)utimensat(AT_FDCWD, dir, NULL, 0);
		snprintf(vr->venv, sizeof(vr->venv), "%s", dir);
		vr->lock_fd = fd;
		fd = -1;
	} else if (rc == -1 && errbuf[0] == '\0') {
		snprintf(errbuf, errsz, "lock %s: %s", lock, strerror(errno));
	}
out:
	if (fd != -1)
		close(fd);
	free(dir);
	free(lock);
	return rc;
}

int
venv_prepare(struct venv_run *vr, enum venv_stage *stage, char *errbuf, size_t errsz)
{
	char *req = NULL, key[65], *dir;
	size_t req_len = 0;
	struct utsname un;
	int have, rc;

	vr->lock_fd = -1;
	vr->added = false;
	errbuf[0] = '\0';
	*stage = VENV_STAGE_CREATE;
	if (vr->py->exe == NULL && venv_resolve(vr->py, vr->cfg, errbuf, errsz) != 0)
		return -1;
	have = venv_read_requirements(vr->ws, &req, &req_len);
	if (have < 0) {
		snprintf(errbuf, errsz, "requirements.txt must be a regular file inside the artifact");
		return -1;
	}
	if (vr->cfg->venv_cache && !(have && venv_req_is_local(req, req_len))) {
		uname(&un);
		venv_key(vr->app_id, vr->py->exe, vr->py->version, un.machine, req, req_len, key);
		free(req);
		return cache_lookup(vr, key, have > 0, stage, errbuf, errsz);
	}
	free(req);
	if (vr->cfg->venv_cache)
		log_info("venv cache bypassed", NULL);
	vr->line(vr->abort_arg, "creating virtual environment at: .venv");
	dir = xasprintf("%s/.venv", vr->run_dir);
	rc = build(vr, dir, have > 0, false, stage, errbuf, errsz);
	snprintf(vr->venv, sizeof(vr->venv), "%s", dir);
	free(dir);
	return rc;
}

void
venv_release(struct venv_run *vr)
{
	if (vr->lock_fd >= 0) {
		flock(vr->lock_fd, LOCK_UN);
		close(vr->lock_fd);
	}
	vr->lock_fd = -1;
}

struct cached {
	char	key[65];
	int64_t	mtime_ns;
	bool	skip;
};

static bool
is_key(const char *s)
{
	size_t i;

	for (i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s[64] == '\0';
}

/* The complete environments of the cache directory (caller frees). */
static struct cached *
list_cached(const char *venvs, size_t *n)
{
	DIR *d = opendir(venvs);
	struct dirent *de;
	struct cached *v = NULL;
	size_t cap = 0;

	*n = 0;
	if (d == NULL)
		return NULL;
	while ((de = readdir(d)) != NULL) {
		struct stat st;
		char *dir;

		if (!is_key(de->d_name))
			continue;
		dir = xasprintf("%s/%s", venvs, de->d_name);
		if (lstat(dir, &st) == 0 && S_ISDIR(st.st_mode) && marker_exists(dir)) {
			if (*n == cap) {
				cap = cap ? cap * 2 : 16;
				v = xrealloc(v, cap * sizeof(*v));
			}
			memcpy(v[*n].key, de->d_name, 65);
			v[*n].mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
			v[*n].skip = false;
			(*n)++;
		}
		free(dir);
	}
	closedir(d);
	return v;
}

/* Deletes one environment if nobody uses it; returns true when gone. */
static bool
evict_one(const char *venvs, const char *key)
{
	char *dir = xasprintf("%s/%s", venvs, key), *lock = xasprintf("%s.lock", dir);
	int fd = open(lock, O_RDWR | O_CLOEXEC);
	bool gone = false;

	if (fd != -1 && flock(fd, LOCK_EX | LOCK_NB) == 0) {
		if (tree_remove(dir) == 0) {
			log_info("venv cache evicted", "key=%s", key);
			gone = true;
		}
		flock(fd, LOCK_UN);
	}
	if (fd != -1)
		close(fd);
	free(dir);
	free(lock);
	return gone;
}

void
venv_evict(const struct config *cfg)
{
	char *venvs = xasprintf("%s/venvs", cfg->data_dir);
	size_t n, i, live;
	struct cached *v = list_cached(venvs, &n);

	live = n;
	while (live > (size_t)cfg->venv_cache_max) {
		size_t best = n;

		for (i = 0; i < n; i++)
			if (!v[i].skip && (best == n || v[i].mtime_ns < v[best].mtime_ns))
				best = i;
		if (best == n)
			break;
		v[best].skip = true;
		if (evict_one(venvs, v[best].key))
			live--;
	}
	free(v);
	free(venvs);
}
