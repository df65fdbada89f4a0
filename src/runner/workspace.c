/*
 * workspace: one directory per run under $TMPDIR. Only the artifact writes
 * into work/, so archive entries cannot collide with the runner's files.
 * The unpacking child reports its error text through a pipe and is killed
 * when the run is aborted.
 */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "archive.h"
#include "artcache.h"
#include "call.h"
#include "crashpoint.h"
#include "jobenv.h"
#include "log.h"
#include "spawn.h"
#include "tree.h"
#include "util.h"
#include "workspace.h"

static int
write_file(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	int rc = 0;

	if (fd == -1)
		return -1;
	if (write(fd, data, len) != (ssize_t)len)
		rc = -1;
	if (close(fd) != 0)
		rc = -1;
	return rc;
}

static int
give(const struct workspace *w, const char *path)
{
	if (!w->owned)
		return 0;
	return chown(path, w->uid, w->gid);
}

/* disk_mb: the run directory becomes a tmpfs of that size. */
static int
mount_limit(struct workspace *w)
{
	char opts[128];

	if (w->disk_mb <= 0)
		return 0;
	snprintf(opts, sizeof(opts), "size=%lldm,mode=0700,uid=%u,gid=%u", (long long)w->disk_mb,
	    w->owned ? (unsigned)w->uid : (unsigned)getuid(), w->owned ? (unsigned)w->gid : (unsigned)getgid());
	if (mount("tmpfs", w->dir, "tmpfs", MS_NOSUID | MS_NODEV, opts) != 0)
		return -1;
	w->mounted = true;
	return 0;
}

bool
workspace_full(const struct workspace *w)
{
	struct statfs st;

	if (!w->mounted || statfs(w->dir, &st) != 0)
		return false;
	return (uint64_t)st.f_bavail * (uint64_t)st.f_bsize < 64 * 1024;
}

int
workspace_create(struct workspace *w, const struct config *cfg, const char *runner_id,
    int64_t run_id, const json_t *input, struct err *err)
{
	char *tmpl = xasprintf("%s/minitower-run-%lld-%s-XXXXXX", cfg->tmpdir, (long long)run_id,
	    runner_id);
	struct buf b;
	int rc = -1;

	w->import_paths = NULL;
	w->import_raw = NULL;
	w->cached = false;
	w->art_fd = -1;
	w->mounted = false;
	if (mkdtemp(tmpl) == NULL) {
		err_set(err, ERR_IO, "mkdtemp %s: %s", tmpl, strerror(errno));
		free(tmpl);
		return -1;
	}
	w->dir = tmpl;
	if (mount_limit(w) != 0) {
		err_set(err, ERR_IO, "mount tmpfs on %s: %s", w->dir, strerror(errno));
		return -1;
	}
	w->ws = xasprintf("%s/work", w->dir);
	w->tmp = xasprintf("%s/tmp", w->dir);
	w->input_file = xasprintf("%s/input.json", w->dir);
	w->artifact = xasprintf("%s/artifact.tar.gz", w->dir);
	buf_init(&b, 256 * 1024 * 1024);
	if (input != NULL && json_is_object(input))
		jobenv_encode(&b, input);
	else
		buf_adds(&b, "{}");
	if (mkdir(w->ws, 0700) == -1 || mkdir(w->tmp, 0700) == -1 ||
	    !buf_ok(&b) || write_file(w->input_file, b.data, b.len) == -1 ||
	    write_file(w->artifact, "", 0) == -1 ||
	    give(w, w->dir) == -1 || give(w, w->ws) == -1 ||
	    give(w, w->tmp) == -1 || give(w, w->input_file) == -1 ||
	    give(w, w->artifact) == -1) {
		err_set(err, ERR_IO, "%s: %s", w->dir, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	buf_free(&b);
	return rc;
}

/* Parses X-Import-Paths (a JSON array of strings); absent or empty means
 * none. */
static void
parse_import_paths(struct workspace *w, const char *raw)
{
	json_error_t je;
	json_t *j;
	size_t i;

	free(w->import_raw);
	w->import_raw = xstrdup(raw);
	if (raw[0] == '\0')
		return;
	j = json_loads(raw, JSON_DECODE_ANY, &je);
	if (j != NULL && json_is_array(j)) {
		for (i = 0; i < json_array_size(j); i++)
			if (!json_is_string(json_array_get(j, i)))
				break;
		if (i == json_array_size(j)) {
			w->import_paths = xcalloc(i + 1, sizeof(char *));
			for (i = 0; i < json_array_size(j); i++)
				w->import_paths[i] = xstrdup(json_string_value(json_array_get(j, i)));
			json_decref(j);
			return;
		}
	}
	log_warn("invalid X-Import-Paths header", "error=%s",
	    j == NULL ? je.text : "not an array of strings");
	json_decref(j);
}

/* The artifact file being written and its running SHA-256. */
struct download {
	int				 fd;
	crypto_hash_sha256_state	 sha;
	bool				 failed;
};

/* call.sink_reset: every try starts again from byte 0. */
static void
download_reset(void *arg)
{
	struct download *d = arg;

	crypto_hash_sha256_init(&d->sha);
	d->failed = lseek(d->fd, 0, SEEK_SET) != 0 || ftruncate(d->fd, 0) != 0;
}

/* call.sink: hashes and writes one piece; non-zero stops the transfer. */
static int
download_sink(void *arg, const char *p, size_t n)
{
	struct download *d = arg;
	size_t off = 0;

	if (d->failed)
		return 1;
	crypto_hash_sha256_update(&d->sha, (const unsigned char *)p, n);
	while (off < n) {
		ssize_t w = write(d->fd, p + off, n - off);

		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0) {
			d->failed = true;
			return 1;
		}
		off += (size_t)w;
	}
	CRASH_POINT("download");
	return 0;
}

int
workspace_download(struct workspace *w, struct client *h, struct runstate *rs,
    bool (*abort)(void *), void *abort_arg, struct err *err)
{
	struct download d = { .fd = open(w->artifact, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600) };
	struct client_resp resp;
	struct call c = {
		.method = "GET", .suffix = "/artifact", .stop_at = runstate_fence_at(rs),
		.sink = download_sink, .sink_reset = download_reset, .sink_arg = &d,
		.artifact = true, .abort = abort, .abort_arg = abort_arg,
	};
	unsigned char dig[crypto_hash_sha256_BYTES];
	char msg[1100], hex[65];
	int rc;

	if (d.fd == -1)
		return err_set(err, ERR_IO, "%s: %s", w->artifact, strerror(errno)), WS_FAILED;
	crypto_hash_sha256_init(&d.sha);
	client_resp_init(&resp);
	rc = call_do(h, rs, &c, &resp, err);
	close(d.fd);
	crypto_hash_sha256_final(&d.sha, dig);
	hex_encode(dig, sizeof(dig), hex);
	if (rc == CALL_ABORTED) {
		rc = WS_ABORTED;
	} else if (rc != CALL_OK) {
		rc = WS_FAILED;
	} else if (call_is_stale(resp.status)) {
		rc = WS_STALE;
	} else if (resp.status != 200) {
		call_status_text(&resp, msg, sizeof(msg));
		rc = err_set(err, ERR_IO, "download failed: %s", msg);
	} else if (resp.artifact_sha256[0] != '\0' && strcmp(resp.artifact_sha256, hex) != 0) {
		rc = err_set(err, ERR_IO, "sha256 mismatch: expected %s, got %s",
		    resp.artifact_sha256, hex);
	} else {
		memcpy(w->sha256, hex, sizeof(w->sha256));
		parse_import_paths(w, resp.import_paths);
		rc = WS_OK;
	}
	client_resp_free(&resp);
	return rc;
}

#ifdef __SANITIZE_THREAD__
/* ThreadSanitizer cannot run a forked child of a threaded process: its
 * internal allocator locks are not reset at fork, and with several slots a
 * child regularly spins on one forever. TSan builds therefore extract in a
 * fresh exec of the runner (workspace_unpack_main); other builds do not pay
 * for an exec. */
static void __attribute__((noreturn))
unpack_exec(const struct workspace *w, const struct config *cfg, int fd)
{
	char ents[24], exp[24], fds[16], art[32];
	const char *path = w->artifact;

	if (w->cached) {	/* the cache's open file (an unprivileged child cannot
				 * follow /proc/self/fd links: not dumpable) */
		snprintf(art, sizeof(art), "fd:%d", w->art_fd);
		(void)fcntl(w->art_fd, F_SETFD, 0);
		path = art;
	}
	snprintf(ents, sizeof(ents), "%lld", (long long)cfg->max_entries);
	snprintf(exp, sizeof(exp), "%lld", (long long)cfg->max_expanded);
	snprintf(fds, sizeof(fds), "%d", fd);
	(void)fcntl(fd, F_SETFD, 0);
	execl("/proc/self/exe", "minitower-runner", WORKSPACE_UNPACK_ARG, path, w->ws,
	    ents, exp, fds, (char *)NULL);
	dprintf(fd, "exec: %s", strerror(errno));
	_exit(1);
}

int
workspace_unpack_main(int argc, char **argv)
{
	struct archive_limits lim = { 0, 0 };
	struct err err;
	int64_t fd = -1;
	size_t n;

	if (argc != 7 || parse_i64(argv[4], &lim.max_entries) != 0 ||
	    parse_i64(argv[5], &lim.max_expanded_bytes) != 0 || parse_i64(argv[6], &fd) != 0)
		return 2;
	err_clear(&err);
	if (strncmp(argv[2], "fd:", 3) == 0) {
		int64_t afd;

		if (parse_i64(argv[2] + 3, &afd) != 0)
			return 2;
		if (archive_extract_fd((int)afd, "cached artifact", argv[3], &lim, &err) == 0)
			return 0;
	} else if (archive_extract(argv[2], argv[3], &lim, &err) == 0) {
		return 0;
	}
	n = strlen(err.msg);
	return write((int)fd, err.msg, n) == (ssize_t)n ? 1 : 2;
}
#endif

bool
workspace_from_cache(struct workspace *w, const struct config *cfg, const char *sha)
{
	char *paths;
	int fd = artcache_open(cfg, sha, &paths);

	if (fd < 0)
		return false;
	w->cached = true;
	w->art_fd = fd;
	memcpy(w->sha256, sha, sizeof(w->sha256));
	parse_import_paths(w, paths);
	free(paths);
	return true;
}

void
workspace_cache_store(const struct workspace *w, const struct config *cfg,
    const char *lease_sha)
{
	if (lease_sha != NULL && strcmp(lease_sha, w->sha256) == 0)
		artcache_store(cfg, w->sha256, w->artifact, w->import_raw);
}

static void __attribute__((noreturn))
unpack_child(struct workspace *w, const struct config *cfg, int fd)
{
	struct archive_limits lim = { cfg->max_entries, cfg->max_expanded };
	struct err err;
	size_t n;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (w->owned && (setgroups(0, NULL) == -1 ||
	    setgid(w->gid) == -1 || setuid(w->uid) == -1)) {
		dprintf(fd, "drop privileges: %s", strerror(errno));
		_exit(1);
	}
#ifdef __SANITIZE_THREAD__
	unpack_exec(w, cfg, fd);
#endif
	err_clear(&err);
	if ((w->cached ? archive_extract_fd(w->art_fd, w->artifact, w->ws, &lim, &err) :
	    archive_extract(w->artifact, w->ws, &lim, &err)) == 0)
		_exit(0);
	n = strlen(err.msg);
	if (write(fd, err.msg, n) != (ssize_t)n)
		_exit(2);
	_exit(1);
}

int
workspace_unpack(struct workspace *w, const struct config *cfg,
    bool (*abort)(void *), void *abort_arg, struct err *err)
{
	int p[2], status = 0, rc = WS_OK;
	char msg[sizeof(err->msg)];
	size_t len = 0;
	ssize_t n;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) == -1)
		return err_set(err, ERR_IO, "pipe: %s", strerror(errno)), WS_FAILED;
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		unpack_child(w, cfg, p[1]);
	}
	close(p[1]);
	if (pid == -1) {
		close(p[0]);
		return err_set(err, ERR_IO, "fork: %s", strerror(errno)), WS_FAILED;
	}
	for (;;) {
		struct pollfd pf = { p[0], POLLIN, 0 };

		if (abort(abort_arg)) {
			kill(pid, SIGKILL);
			rc = WS_ABORTED;
			break;
		}
		if (poll(&pf, 1, 20) <= 0) {
			CRASH_POINT("unpack");	/* the child is still extracting */
			continue;
		}
		n = read(p[0], msg + len, sizeof(msg) - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len == sizeof(msg) - 1)
			break;
	}
	close(p[0]);
	msg[len] = '\0';
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	if (rc == WS_OK && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
		if (len == 0)
			spawn_describe_status(status, msg, sizeof(msg));
		rc = err_set(err, ERR_IO, "%s", msg);
	}
	return rc;
}

void
workspace_destroy(struct workspace *w)
{
	size_t i;

	if (w->cached && w->art_fd >= 0)
		close(w->art_fd);
	free(w->import_raw);
	if (w->mounted)
		(void)umount2(w->dir, MNT_DETACH);
	if (w->dir != NULL)
		tree_remove(w->dir);
	free(w->dir);
	free(w->ws);
	free(w->tmp);
	free(w->input_file);
	free(w->artifact);
	for (i = 0; w->import_paths != NULL && w->import_paths[i] != NULL; i++)
		free(w->import_paths[i]);
	free(w->import_paths);
	memset(w, 0, sizeof(*w));
}

void
workspace_holds_init(struct workspace_holds *h)
{
	memset(h, 0, sizeof(*h));
	pthread_mutex_init(&h->mu, NULL);
}

void
workspace_hold(struct workspace_holds *h, int64_t run_id)
{
	pthread_mutex_lock(&h->mu);
	assert(h->n < WS_HOLDS_MAX);
	h->run_ids[h->n++] = run_id;
	pthread_mutex_unlock(&h->mu);
}

void
workspace_unhold(struct workspace_holds *h, int64_t run_id)
{
	int i;

	pthread_mutex_lock(&h->mu);
	for (i = 0; i < h->n; i++) {
		if (h->run_ids[i] == run_id) {
			h->run_ids[i] = h->run_ids[--h->n];
			break;
		}
	}
	pthread_mutex_unlock(&h->mu);
}

static bool
held(struct workspace_holds *h, int64_t run_id)
{
	bool found = false;
	int i;

	pthread_mutex_lock(&h->mu);
	for (i = 0; i < h->n && !found; i++)
		found = h->run_ids[i] == run_id;
	pthread_mutex_unlock(&h->mu);
	return found;
}

/* The run id of "minitower-run-<run>-<runner_id>-<random>", or -1 when name
 * is not a run directory of that runner. */
static int64_t
own_run_id(const char *name, const char *runner_id)
{
	size_t idlen = strlen(runner_id);
	const char *p, *dash;
	int64_t run_id;

	if (strncmp(name, "minitower-run-", strlen("minitower-run-")) != 0)
		return -1;
	p = name + strlen("minitower-run-");
	dash = strchr(p, '-');
	if (dash == NULL || parse_i64n(p, (size_t)(dash - p), &run_id) != 0 || run_id <= 0)
		return -1;
	if (strncmp(dash + 1, runner_id, idlen) != 0 || dash[1 + idlen] != '-' ||
	    dash[2 + idlen] == '\0')
		return -1;
	return run_id;
}

int
workspace_sweep(const struct config *cfg, const char *runner_id,
    struct workspace_holds *h)
{
	DIR *d = opendir(cfg->tmpdir);
	struct dirent *de;
	struct stat st;
	int64_t run_id;
	int removed = 0;
	char *path;

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		run_id = own_run_id(de->d_name, runner_id);
		if (run_id < 0 || held(h, run_id))
			continue;
		path = xasprintf("%s/%s", cfg->tmpdir, de->d_name);
		if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
			(void)umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW);	/* disk_mb */
			if (tree_remove(path) == 0) {
				log_info("stale workspace removed", "path=%s run_id=%d", path, run_id);
				removed++;
			} else {
				log_warn("stale workspace not removed", "path=%s run_id=%d error=%s",
				    path, run_id, strerror(errno));
			}
		}
		free(path);
	}
	closedir(d);
	return removed;
}
