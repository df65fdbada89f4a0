/*
 * identity: files under MINITOWER_DATA_DIR. The identity file is written
 * atomically (O_EXCL temporary, fsync, rename); the job file only has to
 * survive a crash of the runner, so it is renamed into place unsynced.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "call.h"
#include "identity.h"
#include "json.h"
#include "lease.h"
#include "client.h"
#include "log.h"
#include "util.h"

static int
ensure_dir(const char *path, mode_t mode)
{
	if (mkdir(path, mode) == -1 && errno != EEXIST)
		return -1;
	return chmod(path, mode);
}

int
identity_prepare_dir(const struct config *cfg, struct err *err)
{
	bool ju = cfg->job_user != NULL || cfg->uid_range;
	struct stat st;
	char *sub;
	int rc;

	if (mkdir(cfg->data_dir, 0700) == -1 && errno != EEXIST)
		return err_set(err, ERR_IO, "create data dir: %s", strerror(errno));
	if (lstat(cfg->data_dir, &st) == -1 || !S_ISDIR(st.st_mode) ||
	    st.st_uid != geteuid() || (st.st_mode & 022) != 0)
		return err_set(err, ERR_IO, "unsafe data dir: %s", cfg->data_dir);
	if (chmod(cfg->data_dir, ju ? 0711 : 0700) == -1)
		return err_set(err, ERR_IO, "create data dir: %s", strerror(errno));
	sub = xasprintf("%s/venvs", cfg->data_dir);
	rc = ensure_dir(sub, ju ? 0755 : 0700);
	free(sub);
	sub = xasprintf("%s/runners", cfg->data_dir);
	if (rc == 0)
		rc = ensure_dir(sub, 0700);
	free(sub);
	if (rc != 0)
		return err_set(err, ERR_IO, "create data dir: %s", strerror(errno));
	return 0;
}

/* Writes data to path through a temporary file; fsyncs when sync. */
static int
write_atomic(const char *path, const char *data, size_t len, bool sync)
{
	char *tmp = xasprintf("%s.tmp.%d", path, (int)getpid());
	int fd, rc = -1;

	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd == -1)
		goto out;
	if (write(fd, data, len) == (ssize_t)len && (!sync || fsync(fd) == 0))
		rc = 0;
	if (close(fd) != 0)
		rc = -1;
	if (rc == 0 && rename(tmp, path) != 0)
		rc = -1;
	if (rc != 0)
		unlink(tmp);
out:
	free(tmp);
	return rc;
}

void
identity_load(struct identity *id, const struct config *cfg)
{
	unsigned char d[crypto_hash_sha256_BYTES];
	char hex[65], *text;
	json_t *j;
	const char *name, *env, *tok;

	memset(id, 0, sizeof(*id));
	crypto_hash_sha256(d, (const unsigned char *)cfg->name, strlen(cfg->name));
	hex_encode(d, sizeof(d), hex);
	memcpy(id->id, hex, 16);
	id->id[16] = '\0';
	id->path = xasprintf("%s/runners/%s.json", cfg->data_dir, id->id);
	id->job_path = xasprintf("%s/runners/%s.job.json", cfg->data_dir, id->id);
	text = slurp(id->path, 64 * 1024);
	if (text == NULL)
		return;
	j = json_loads(text, 0, NULL);
	free(text);
	name = json_string_value(json_object_get(j, "name"));
	env = json_string_value(json_object_get(j, "environment"));
	tok = json_string_value(json_object_get(j, "token"));
	if (name != NULL && env != NULL && tok != NULL && tok[0] != '\0' &&
	    strcmp(name, cfg->name) == 0 && strcmp(env, cfg->environment) == 0) {
		id->token = xstrdup(tok);
		log_info("loaded saved token", NULL);
	} else if (j != NULL) {
		log_info("saved token belongs to another name or environment; registering again",
		    NULL);
	}
	json_decref(j);
}

static void
save_identity(const struct identity *id, const struct config *cfg)
{
	struct buf b;
	char *legacy;

	buf_init(&b, 64 * 1024);
	buf_adds(&b, "{\"name\":");
	json_encode_str(&b, cfg->name, strlen(cfg->name));
	buf_adds(&b, ",\"environment\":");
	json_encode_str(&b, cfg->environment, strlen(cfg->environment));
	buf_adds(&b, ",\"token\":");
	json_encode_str(&b, id->token, strlen(id->token));
	buf_adds(&b, "}\n");
	if (write_atomic(id->path, b.data, b.len, true) != 0) {
		log_warn("failed to save token", "error=%s", strerror(errno));
	} else {
		legacy = xasprintf("%s/runner_token", cfg->data_dir);
		unlink(legacy);
		free(legacy);
	}
	buf_free(&b);
}

static char *
register_body(const struct config *cfg, const char *report)
{
	struct buf b;

	buf_init(&b, 1024 * 1024);
	buf_adds(&b, "{\"name\":");
	json_encode_str(&b, cfg->name, strlen(cfg->name));
	buf_adds(&b, ",\"environment\":");
	json_encode_str(&b, cfg->environment, strlen(cfg->environment));
	if (report != NULL)
		buf_addf(&b, ",%s", report);
	buf_addc(&b, '}');
	return buf_take(&b);
}

static bool
stop_requested(void *arg)
{
	return atomic_load((atomic_int *)arg) >= 2;
}

/* One registration attempt: 1 done, 0 retry, -1 fatal. */
static int
register_once(struct identity *id, const struct config *cfg, struct client *h,
    const char *body, atomic_int *stop, struct err *err)
{
	struct client_req req = {
		.method = "POST", .path = "/api/v1/runners/register",
		.bearer = cfg->reg_token, .body = body, .body_len = strlen(body),
		.timeout_ms = 30000, .download_fd = -1, .abort = stop_requested,
		.abort_arg = stop,
	};
	struct client_resp resp;
	char msg[1100];
	json_t *j;
	int rc = 0;

	client_resp_init(&resp);
	if (call_http(h, &req, &resp, err) != CALL_OK) {
		log_error("register failed", "error=%s", err->msg);
	} else if (resp.status == 200 || resp.status == 201) {
		j = json_loadb(buf_str(&resp.body), resp.body.len, 0, NULL);
		if (json_string_value(json_object_get(j, "token")) != NULL) {
			id->token = xstrdup(json_string_value(json_object_get(j, "token")));
			save_identity(id, cfg);
			log_info("registered successfully", NULL);
			rc = 1;
		} else {
			rc = err_set(err, ERR_IO, "register: invalid response");
		}
		json_decref(j);
	} else if (resp.status >= 500 || resp.status == 429) {
		call_status_text(&resp, msg, sizeof(msg));
		log_error("register failed", "error=%s", msg);
	} else {
		call_status_text(&resp, msg, sizeof(msg));
		rc = err_set(err, ERR_IO, "register: register failed: %s", msg);
	}
	client_resp_free(&resp);
	return rc;
}

int
identity_register(struct identity *id, const struct config *cfg,
    atomic_int *stop, struct err *err)
{
	struct client *h;
	char *body;
	int rc;

	if (cfg->reg_token == NULL)
		return err_set(err, ERR_IO,
		    "no saved token and MINITOWER_RUNNER_REGISTRATION_TOKEN not set");
	h = client_new(cfg->server_url);
	body = register_body(cfg, id->report);
	for (;;) {
		rc = register_once(id, cfg, h, body, stop, err);
		if (rc != 0)
			break;
		if (atomic_load(stop) >= 1) {
			rc = err_set(err, ERR_IO, "shutting down");
			break;
		}
		call_sleep(lease_poll_pause_ms(cfg->poll_interval_ms, lease_rand()),
		    stop_requested, stop);
	}
	client_free(h);
	free(body);
	return rc == 1 ? 0 : -1;
}

void
identity_drop(struct identity *id)
{
	free(id->token);
	id->token = NULL;
	unlink(id->path);
}

void
identity_free(struct identity *id)
{
	free(id->token);
	free(id->path);
	free(id->job_path);
	memset(id, 0, sizeof(*id));
}

int64_t
identity_start_time(pid_t pid)
{
	char path[64], *text, *p;
	int64_t v = -1;
	int field;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	text = slurp(path, 64 * 1024);
	if (text == NULL)
		return -1;
	/* Field 2 (comm) may hold spaces: count from its closing ')'. */
	p = strrchr(text, ')');
	for (field = 2; p != NULL && field < 22; field++)
		p = strchr(p + 1, ' ');
	if (p != NULL)
		v = strtoll(p + 1, NULL, 10);
	free(text);
	return v;
}

/* The job file of slot k: the one of a single-slot runner for slot 0,
 * <id>.<k>.job.json for the others (caller frees). */
static char *
job_path(const struct identity *id, int slot)
{
	size_t n = strlen(id->job_path) - strlen(".job.json");

	if (slot == 0)
		return xstrdup(id->job_path);
	return xasprintf("%.*s.%d.job.json", (int)n, id->job_path, slot);
}

void
identity_job_save(const struct identity *id, int slot, pid_t pgid, int64_t run_id,
    const char *lease_token, const char *run_dir)
{
	char *path = job_path(id, slot);
	struct buf b;

	buf_init(&b, 4096);
	buf_addf(&b, "{\"pgid\":%d,\"start_time\":%lld,\"run_id\":%lld,\"lease_token\":",
	    (int)pgid, (long long)identity_start_time(pgid), (long long)run_id);
	json_encode_str(&b, lease_token, strlen(lease_token));
	if (run_dir != NULL) {
		buf_adds(&b, ",\"run_dir\":");
		json_encode_str(&b, run_dir, strlen(run_dir));
	}
	buf_adds(&b, "}\n");
	(void)write_atomic(path, b.data, b.len, false);
	buf_free(&b);
	free(path);
}

void
identity_job_clear(const struct identity *id, int slot)
{
	char *path = job_path(id, slot);

	unlink(path);
	free(path);
}

static void
release_left_run(const struct identity *id, const struct config *cfg,
    int64_t run_id, const char *lease_token)
{
	struct runstate rs;
	struct client *h = client_new(cfg->server_url);
	struct client_resp resp;
	struct err err;
	struct call c = {
		.method = "POST", .suffix = "/release", .stop_at = mono_ms() + 30000,
	};

	runstate_init(&rs, run_id, cfg->server_url, id->token, lease_token, -1, NULL);
	client_resp_init(&resp);
	(void)call_do(h, &rs, &c, &resp, &err);	/* a stale answer is ignored */
	client_resp_free(&resp);
	runstate_destroy(&rs);
	client_free(h);
}

/* Handles the job file at path, if there is one. */
static void
recover_one(const struct identity *id, const struct config *cfg, const char *path)
{
	char *text = slurp(path, 64 * 1024);
	json_t *j;
	json_int_t pgid, start, run_id;
	const char *lease;

	if (text == NULL)
		return;
	j = json_loads(text, 0, NULL);
	free(text);
	pgid = json_integer_value(json_object_get(j, "pgid"));
	start = json_integer_value(json_object_get(j, "start_time"));
	run_id = json_integer_value(json_object_get(j, "run_id"));
	lease = json_string_value(json_object_get(j, "lease_token"));
	if (pgid > 1) {
		int64_t now_start = identity_start_time((pid_t)pgid);

		/* Skip only when the leader's number was reused by another process. */
		if (now_start < 0 || now_start == start)
			kill(-(pid_t)pgid, SIGKILL);
	}
	if (run_id > 0 && lease != NULL) {
		release_left_run(id, cfg, run_id, lease);
		log_warn("released run left by a previous process", "run_id=%d", (int64_t)run_id);
	}
	json_decref(j);
	unlink(path);
}

void
identity_recover(const struct identity *id, const struct config *cfg)
{
	char *path;
	int k;

	/* Every slot's file, whatever MINITOWER_RUNNER_SLOTS the previous
	 * process had; each job is killed before its run is released. */
	for (k = 0; k < CONFIG_SLOTS_MAX; k++) {
		path = job_path(id, k);
		recover_one(id, cfg, path);
		free(path);
	}
}
