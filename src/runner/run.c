/*
 * run: one lease from start to outcome. The slot's thread does everything in
 * order (start, workspace, venv, launch, pump, result); the heartbeat and
 * shipper threads run alongside from a successful start until the outcome
 * has been sent. Every early exit goes through finish(), which flushes the
 * logs, sends the result or the release (or nothing for a stale lease),
 * stops the threads and removes the run directory.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "artcache.h"
#include "call.h"
#include "crashpoint.h"
#include "heartbeat.h"
#include "jobenv.h"
#include "json.h"
#include "log.h"
#include "run.h"
#include "secrets.h"
#include "util.h"

#define NO_EXIT_CODE	INT_MIN

enum outcome { OUT_NONE, OUT_RESULT, OUT_RELEASE };

struct run {
	struct agent		*ag;
	struct slot		*slot;
	struct lease_info	*li;
	struct runstate		 rs;
	struct logship		*ls;
	struct heartbeat	*hb;
	struct workspace	 w;
	struct venv_run		 vr;
	struct contain		 ct;
	bool			 python;
	bool			 logged_term;
	/* The outcome: */
	enum outcome		 out;
	const char		*status;
	int			 exit_code;
	const char		*reason;	/* the result's reason, or NULL */
	char			 message[1200];
};

static void
set_result(struct run *r, const char *status, int exit_code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
set_result(struct run *r, const char *status, int exit_code, const char *fmt, ...)
{
	va_list ap;

	r->out = OUT_RESULT;
	r->status = status;
	r->exit_code = exit_code;
	r->reason = NULL;
	r->message[0] = '\0';
	if (fmt != NULL) {
		va_start(ap, fmt);
		vsnprintf(r->message, sizeof(r->message), fmt, ap);
		va_end(ap);
	}
}

/* The result body; r adds the reason and the job's usage (NULL: none). */
static char *
result_body(const char *status, int exit_code, const char *msg, const struct run *r)
{
	struct buf b;

	buf_init(&b, 64 * 1024);
	buf_addf(&b, "{\"status\":\"%s\"", status);
	if (exit_code != NO_EXIT_CODE)
		buf_addf(&b, ",\"exit_code\":%d", exit_code);
	if (msg != NULL && msg[0] != '\0') {
		buf_adds(&b, ",\"error_message\":");
		json_encode_str(&b, msg, strlen(msg));
	}
	if (r != NULL && r->reason != NULL)
		buf_addf(&b, ",\"reason\":\"%s\"", r->reason);
	if (r != NULL && r->ct.measured) {
		if (r->ct.peak_bytes >= 0)
			buf_addf(&b, ",\"peak_memory_bytes\":%lld", (long long)r->ct.peak_bytes);
		buf_addf(&b, ",\"cpu_user_ms\":%lld,\"cpu_system_ms\":%lld",
		    (long long)r->ct.user_ms, (long long)r->ct.sys_ms);
	}
	buf_addc(&b, '}');
	return buf_take(&b);
}

/* POSTs one result; returns the final status (0: given up, logged). */
static long
post_result(struct run *r, const char *body, int64_t stop_at)
{
	struct client_resp resp;
	struct err err;
	struct call c = {
		.method = "POST", .suffix = "/result", .body = body,
		.stop_at = stop_at,
	};
	char msg[1100];
	long status = 0;
	int rc;

	client_resp_init(&resp);
	err_clear(&err);
	rc = call_do(r->slot->http, &r->rs, &c, &resp, &err);
	if (rc == CALL_OK && (resp.status < 500 && resp.status != 429)) {
		status = resp.status;
		if (status >= 400 && !call_is_stale(status)) {
			call_status_text(&resp, msg, sizeof(msg));
			log_error("result submit failed", "error=%s", msg);
		}
	} else {
		if (rc == CALL_OK)
			call_status_text(&resp, msg, sizeof(msg));
		else
			snprintf(msg, sizeof(msg), "%.1000s", err.msg);
		log_error("result submit failed", "error=%s", msg);
	}
	client_resp_free(&resp);
	return status;
}

/* §5.9: the result, retried until D0 + TTL; a 409 to completed/failed is
 * followed by one cancelled result. */
static void
submit_result(struct run *r)
{
	struct lease_clock lc = runstate_lease(&r->rs);
	int64_t stop_at = lc.deadline_ms + lc.ttl_ms;
	char *body = result_body(r->status, r->exit_code, r->message, r);
	long st;

	runstate_set_result_sent(&r->rs);
	st = post_result(r, body, stop_at);
	free(body);
	if (st == 409 && strcmp(r->status, "cancelled") != 0) {
		log_info("run cancelled", NULL);
		body = result_body("cancelled", NO_EXIT_CODE, NULL, NULL);
		st = post_result(r, body, stop_at);
		free(body);
		if (st == 409)
			log_warn("stale lease on result submit", NULL);
	}
	if (st == 410 || st == 401)
		log_warn("stale lease on result submit", NULL);
}

int
run_release(struct slot *s, struct runstate *rs)
{
	struct client_resp resp;
	struct err err;
	struct call c = {
		.method = "POST", .suffix = "/release", .stop_at = runstate_fence_at(rs),
	};
	char msg[1100];
	int rc, ret = -1;

	runstate_set_result_sent(rs);
	client_resp_init(&resp);
	err_clear(&err);
	rc = call_do(s->http, rs, &c, &resp, &err);
	if (rc == CALL_OK && resp.status >= 200 && resp.status < 300) {
		log_info("run released", NULL);
		ret = 0;
	} else if (rc == CALL_OK && call_is_stale(resp.status)) {
		ret = 0;	/* a stale answer is ignored */
	} else {
		if (rc == CALL_OK)
			call_status_text(&resp, msg, sizeof(msg));
		else
			snprintf(msg, sizeof(msg), "%.1000s", err.msg);
		log_error("release failed", "error=%s", msg);
	}
	client_resp_free(&resp);
	return ret;
}

/* Flushes the logs, reports the outcome, stops the threads. */
static void
finish(struct run *r)
{
	struct lease_clock lc = runstate_lease(&r->rs);
	int64_t now = mono_ms(), budget = (lc.deadline_ms - now) / 2;

	if (budget > 10000)
		budget = 10000;
	if (budget < 0 || runstate_is_stale(&r->rs))
		budget = budget < 0 ? 0 : (budget < 1000 ? budget : 1000);
	logship_finish(r->ls, now + budget);
	r->ls = NULL;
	if (runstate_is_stale(&r->rs) && r->out != OUT_NONE) {
		log_warn("stale lease, skipping result", NULL);
		r->out = OUT_NONE;
	}
	if (r->out == OUT_RESULT) {
		CRASH_POINT("result");	/* the outcome is known, not yet sent */
		submit_result(r);
	} else if (r->out == OUT_RELEASE)
		run_release(r->slot, &r->rs);
	runstate_set_result_sent(&r->rs);
	heartbeat_stop(r->hb);
	r->hb = NULL;
}

static bool
prep_abort(void *arg)
{
	struct run *r = arg;

	return runstate_prep_abort(&r->rs);
}

static int64_t
prep_kill_at(void *arg, int64_t sigterm_at)
{
	struct run *r = arg;
	struct lease_clock lc = runstate_lease(&r->rs);

	return lease_kill_at(&lc, sigterm_at, r->ag->cfg.kill_grace_ms,
	    runstate_is_stale(&r->rs));
}

static void
prep_line(void *arg, const char *text)
{
	struct run *r = arg;

	logship_runner_line(r->ls, "%s", text);
}

/* A preparation step was aborted: decide the outcome (§8). */
static void
prep_aborted(struct run *r)
{
	bool fenced;

	pthread_mutex_lock(&r->rs.mu);
	fenced = r->rs.fenced;
	pthread_mutex_unlock(&r->rs.mu);
	if (runstate_is_stale(&r->rs)) {
		run_log_terminating(&r->logged_term, fenced ? "lease expired" : "stale lease");
		log_warn("stale lease during workspace preparation", NULL);
		r->out = OUT_NONE;
	} else if (runstate_is_cancelled(&r->rs)) {
		run_log_terminating(&r->logged_term, "cancel requested");
		set_result(r, "cancelled", NO_EXIT_CODE, NULL);
		log_info("run cancelled", NULL);
	} else if (atomic_load(&r->ag->drain) >= 1) {
		run_log_terminating(&r->logged_term, "shutting down");
		r->out = OUT_RELEASE;
	} else {
		run_log_terminating(&r->logged_term, "setup timeout");
		logship_runner_line(r->ls, "setup timeout");
		log_error("setup timeout", NULL);
		set_result(r, "failed", NO_EXIT_CODE, "setup timeout");
	}
}

/* Download and unpack; returns 0 to go on. */
static int
prepare_artifact(struct run *r)
{
	struct err err;
	int rc;

	err_clear(&err);
	if (workspace_from_cache(&r->w, &r->ag->cfg, r->li->artifact_sha256)) {
		logship_runner_line(r->ls, "using cached run artifact");
		log_info("artifact cache hit", "sha256=%s", r->w.sha256);
		goto unpack;
	}
	logship_runner_line(r->ls, "downloading run artifact");
	rc = workspace_download(&r->w, r->slot->http, &r->rs, prep_abort, r, &err);
	if (rc == WS_STALE)
		runstate_mark_stale(&r->rs);
	if (rc == WS_STALE || rc == WS_ABORTED || (rc != WS_OK && prep_abort(r))) {
		prep_aborted(r);
		return -1;
	}
	if (rc != WS_OK) {
		log_error("artifact download failed", "error=%s", err.msg);
		logship_runner_line(r->ls, "artifact download failed: %s", err.msg);
		set_result(r, "failed", NO_EXIT_CODE, "failed to download artifact: %s", err.msg);
		return -1;
	}
	workspace_cache_store(&r->w, &r->ag->cfg, r->li->artifact_sha256);
unpack:
	rc = workspace_unpack(&r->w, &r->ag->cfg, prep_abort, r, &err);
	if (rc == WS_ABORTED) {
		prep_aborted(r);
		return -1;
	}
	if (rc != WS_OK) {
		log_error("unpack failed", "error=%s", err.msg);
		logship_runner_line(r->ls, "artifact unpack failed: %s", err.msg);
		set_result(r, "failed", NO_EXIT_CODE, "failed to unpack artifact: %s", err.msg);
		return -1;
	}
	logship_runner_line(r->ls, "artifact unpacked (sha256: %s)", r->w.sha256);
	log_info("artifact unpacked", "sha256=%s", r->w.sha256);
	return 0;
}

static void
base_env(struct run *r, struct jobenv *e, const char *venv, bool with_input);

static int
prepare_python(struct run *r)
{
	enum venv_stage stage;
	struct jobenv e;
	char errbuf[4096];
	int rc;

	logship_runner_line(r->ls, "using Python interpreter at: %s", r->ag->cfg.python_bin);
	base_env(r, &e, NULL, false);
	r->vr.cfg = &r->ag->cfg;
	r->vr.py = &r->ag->py;
	r->vr.app_id = r->li->app_id;
	r->vr.ws = r->w.ws;
	r->vr.run_dir = r->w.dir;
	r->vr.build_env = (const char *const *)e.vars;
	r->vr.contain = &r->ct;
	r->vr.tmp = r->w.tmp;
	r->vr.abort = prep_abort;
	r->vr.abort_arg = r;
	r->vr.kill_at = prep_kill_at;
	r->vr.line = prep_line;
	rc = venv_prepare(&r->vr, &stage, errbuf, sizeof(errbuf));
	jobenv_free(&e);
	if (rc == CMD_ABORTED || (rc != 0 && prep_abort(r))) {
		prep_aborted(r);
		return -1;
	}
	if (rc != 0 && stage == VENV_STAGE_INSTALL) {
		log_error("requirements install failed", "error=%s", errbuf);
		logship_runner_line(r->ls, "dependency installation failed: %s", errbuf);
		set_result(r, "failed", NO_EXIT_CODE, "failed to install requirements: %s", errbuf);
		return -1;
	}
	if (rc != 0) {
		log_error("venv creation failed", "error=%s", errbuf);
		logship_runner_line(r->ls, "virtual environment creation failed: %s", errbuf);
		set_result(r, "failed", NO_EXIT_CODE, "failed to create venv: %s", errbuf);
		return -1;
	}
	return 0;
}

/* The run's containment: limits, uid, cgroup; a refusal fails the run. */
static int
contain_setup(struct run *r)
{
	const struct sandbox *sb = &r->ag->sb;
	char msg[600], lim[200];

	if (contain_begin(&r->ct, sb, &r->ag->cfg, r->li->run_id, r->li->attempt_no,
	    r->li->sandbox, r->li->resources, msg, sizeof(msg)) != 0) {
		log_error("run refused", "error=%s", msg);
		logship_runner_line(r->ls, "run refused: %s", msg);
		set_result(r, "failed", NO_EXIT_CODE, "%s", msg);
		r->reason = "setup_failed";
		return -1;
	}
	r->w.owned = r->ct.set_user;
	r->w.uid = r->ct.uid;
	r->w.gid = r->ct.gid;
	r->w.disk_mb = r->ct.lim.disk_mb;
	limits_describe(&r->ct.lim, lim, sizeof(lim));
	logship_runner_line(r->ls, "sandbox: %s, network %s; limits (%s): %s", sandbox_mode_name(sb->mode),
	    r->ct.network ? "on" : "off", cgroup_kind_name(sb->cg.kind), lim);
	return 0;
}

/* Workspace preparation under the setup timeout (§5.1 step 5). */
static int
prepare(struct run *r)
{
	struct err err;

	pthread_mutex_lock(&r->rs.mu);
	r->rs.setup_deadline = mono_ms() + r->ag->cfg.setup_timeout_ms;
	pthread_mutex_unlock(&r->rs.mu);
	if (prep_abort(r)) {
		prep_aborted(r);
		return -1;
	}
	err_clear(&err);
	if (workspace_create(&r->w, &r->ag->cfg, r->ag->id.id, r->li->run_id, r->li->input,
	    &err) != 0) {
		log_error("workspace creation failed", "error=%s", err.msg);
		logship_runner_line(r->ls, "failed to create workspace");
		set_result(r, "failed", NO_EXIT_CODE, "failed to create workspace");
		return -1;
	}
	if (prepare_artifact(r) != 0 || (r->python && prepare_python(r) != 0))
		return -1;
	pthread_mutex_lock(&r->rs.mu);
	r->rs.setup_deadline = 0;
	pthread_mutex_unlock(&r->rs.mu);
	return 0;
}

static void
env_skip(void *arg, const char *key, const char *reason)
{
	struct run *r = arg;

	logship_runner_line(r->ls, "skipping input key \"%s\": %s", key, reason);
	log_warn("skipping input key for env var export", "key=%s", key);
}

static void
env_ignore(void *arg, const char *path)
{
	(void)arg;
	log_warn("ignoring import path", "path=%s", path);
}

static void
base_env(struct run *r, struct jobenv *e, const char *venv, bool with_input)
{
	const struct config *cfg = &r->ag->cfg;
	struct jobenv_run jr = {
		.run_id = r->li->run_id, .run_no = r->li->run_no,
		.attempt_no = r->li->attempt_no, .version_no = r->li->version_no,
		.app_slug = r->li->app_slug, .input = with_input ? r->li->input : NULL,
		.path = cfg->path, .lang = cfg->lang, .tz = cfg->tz,
		.ws = r->w.ws, .tmp = r->w.tmp, .input_file = r->w.input_file,
		.venv = venv, .import_paths = (const char *const *)r->w.import_paths,
	};

	jobenv_build(e, &jr, env_skip, env_ignore, r);
}

static bool
ends_with_ci(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && ascii_casecmp(s + n - k, suffix) == 0;
}

static void
emit_out(void *arg, const char *line, size_t len)
{
	struct stream *s = arg;

	logship_push(s->ls, s->which, line, len, s->ts);
}

static void
split_feed(void *arg, const char *p, size_t n)
{
	struct stream *s = arg;

	linesplit_feed(&s->split, p, n);
}

static void
stream_init(struct stream *s, int fd, enum logship_stream which, struct logship *ls,
    const struct mask *m)
{
	memset(s, 0, sizeof(*s));
	s->fd = fd;
	s->which = which;
	s->ls = ls;
	linesplit_init(&s->split, emit_out, s);
	mask_stream_init(&s->mask, m, split_feed, s);
}

/* The run's secrets (docs/secrets.md); 0, or -1 with the outcome set. */
static int
fetch_secrets(struct run *r, struct run_secrets **sec)
{
	struct err err;

	err_clear(&err);
	if (secrets_fetch(r->slot->http, &r->rs, sec, &err) == 0)
		return 0;
	if (err.code == ERR_GONE) {
		log_warn("stale lease on secrets", NULL);
		runstate_mark_stale(&r->rs);
		r->out = OUT_NONE;
		return -1;
	}
	log_error("secrets fetch failed", "error=%s", err.msg);
	logship_runner_line(r->ls, "run failed: the run's secrets could not be fetched");
	set_result(r, "failed", NO_EXIT_CODE, "secrets could not be fetched");
	return -1;
}

/* The failure line, log and result of a finished job (§5.9). */
static void
job_outcome(struct run *r, struct job *j)
{
	char desc[128];

	if (runstate_is_stale(&r->rs)) {
		log_warn("stale lease, skipping result", NULL);
		r->out = OUT_NONE;
	} else if (j->drained && j->termed) {
		r->out = OUT_RELEASE;
	} else if (runstate_is_cancelled(&r->rs)) {
		set_result(r, "cancelled", NO_EXIT_CODE, NULL);
		log_info("run cancelled", NULL);
	} else if (j->timed_out) {
		logship_runner_line(r->ls, "run failed: timeout exceeded");
		set_result(r, "failed", NO_EXIT_CODE, "timeout");
		log_info("run timed out", NULL);
	} else if (WIFEXITED(j->status) && WEXITSTATUS(j->status) == 0) {
		set_result(r, "completed", 0, NULL);
		log_info("run completed", "exit_code=%d", (int64_t)0);
	} else {
		int code = WIFEXITED(j->status) ? WEXITSTATUS(j->status) : -1;

		spawn_describe_status(j->status, desc, sizeof(desc));
		logship_runner_line(r->ls, "run failed: process exited with code %d", code);
		set_result(r, "failed", code, "%s", desc);
		log_info("run failed", "exit_code=%d", (int64_t)code);
	}
}

/* Starts the job in its jail; 0, or -1 with the result set. */
static int
start_job(struct run *r, struct job *j, const char *const *argv, const char *const *envp)
{
	struct jail_spec js;
	struct err err;

	err_clear(&err);
	if (contain_job_spec(&r->ct, r->w.ws, r->w.tmp, r->w.input_file,
	    r->python ? r->vr.venv : NULL, &js, &err) != 0 ||
	    jail_start(&js, argv, envp, r->w.ws, false, &j->jp, &err) != 0) {
		log_error("process start failed", "error=%s", err.msg);
		set_result(r, "failed", NO_EXIT_CODE, "failed to start process");
		return -1;
	}
	return 0;
}

/* The outcome when a limit ended the job: the memory limit's OOM kill or
 * a full disk_mb. */
static bool
limit_outcome(struct run *r, struct job *j)
{
	int code = WIFEXITED(j->status) ? WEXITSTATUS(j->status) : -1;

	if (WIFEXITED(j->status) && code == 0)
		return false;
	if (r->ct.oom_killed) {
		logship_runner_line(r->ls, "run failed: out of memory (memory_mb = %lld)",
		    (long long)r->ct.lim.memory_mb);
		set_result(r, "failed", code, "out of memory: killed by the memory limit (%lld MB)",
		    (long long)r->ct.lim.memory_mb);
		r->reason = "oom_killed";
	} else if (j->disk_full || workspace_full(&r->w)) {
		logship_runner_line(r->ls, "run failed: disk limit reached (disk_mb = %lld)",
		    (long long)r->ct.lim.disk_mb);
		set_result(r, "failed", code, "disk limit reached: the workspace and /tmp hold "
		    "at most %lld MB", (long long)r->ct.lim.disk_mb);
		r->reason = "disk_limit";
	} else {
		return false;
	}
	log_info("run failed", "exit_code=%d", (int64_t)code);
	return true;
}

/* Launches the job and pumps it to the end (§5.6-§5.9). */
static void
launch(struct run *r)
{
	struct agent *ag = r->ag;
	struct job j;
	struct jobenv e;
	struct run_secrets *sec = NULL;
	struct mask *mask = mask_new();
	int rc;
	char *clean = jobenv_path_clean(r->li->entrypoint);
	char *script = xasprintf("%s/%s", r->w.ws, clean[0] == '/' ? clean + 1 : clean);
	char *py = xasprintf("%s/bin/python", r->vr.venv);
	const char *sh_argv[] = { "/bin/sh", script, NULL };
	const char *py_argv[] = { py, "-u", script, NULL };

	base_env(r, &e, r->python ? r->vr.venv : NULL, true);
	memset(&j, 0, sizeof(j));
	if (fetch_secrets(r, &sec) != 0)
		goto out;
	secrets_export(sec, &e, mask);
	rc = start_job(r, &j, r->python ? py_argv : sh_argv, (const char *const *)e.vars);
	secrets_spawned(sec, &e);
	if (rc != 0)
		goto out;
	atomic_store(&r->slot->job_pgid, (int)j.jp.p.pid);
	identity_job_save(&ag->id, r->slot->idx, j.jp.p.pid, r->li->run_id, r->li->lease_token,
	    r->w.dir);
	j.ag = ag;
	j.slot = r->slot;
	j.rs = &r->rs;
	j.ls = r->ls;
	j.w = &r->w;
	j.logged_term = r->logged_term;
	j.timeout_at = mono_ms() + r->li->timeout_s * 1000;
	stream_init(&j.out, j.jp.p.out_fd, LOG_STDOUT, r->ls, mask);
	stream_init(&j.err, j.jp.p.err_fd, LOG_STDERR, r->ls, mask);
	j.jp.p.out_fd = j.jp.p.err_fd = -1;	/* owned by the streams now */
	pump_run(&j);
	jail_finish(&j.jp);
	contain_kill(&r->ct);
	atomic_store(&r->slot->job_pgid, 0);
	venv_release(&r->vr);
	contain_job_done(&r->ct);
	if (runstate_is_stale(&r->rs) || (j.drained && j.termed) || runstate_is_cancelled(&r->rs) ||
	    j.timed_out || !limit_outcome(r, &j))
		job_outcome(r, &j);
out:
	mask_free(mask);
	jobenv_free(&e);
	free(clean);
	free(script);
	free(py);
}

/* POST /start (§5.1 step 2-3). Returns 0 to go on. */
static int
start(struct run *r)
{
	struct client_resp resp;
	struct err err;
	struct call c = {
		.method = "POST", .suffix = "/start", .stop_at = runstate_fence_at(&r->rs),
	};
	char msg[1100];
	json_t *body;
	int rc, ret = -1;

	client_resp_init(&resp);
	err_clear(&err);
	rc = call_do(r->slot->http, &r->rs, &c, &resp, &err);
	if (rc == CALL_OK && call_is_stale(resp.status)) {
		log_warn("stale lease on start", NULL);
	} else if (rc != CALL_OK || resp.status < 200 || resp.status > 299) {
		if (rc == CALL_OK)
			call_status_text(&resp, msg, sizeof(msg));
		else
			snprintf(msg, sizeof(msg), "%.1000s", err.msg);
		log_error("start failed", "error=%s", msg);
		run_release(r->slot, &r->rs);
	} else {
		int64_t rem = lease_remaining_ms(resp.lease_remaining_ms, NULL, NULL);

		if (rem >= 0)
			runstate_update(&r->rs, c.t_sent, rem);
		body = json_loadb(buf_str(&resp.body), resp.body.len,
		    JSON_DECODE_INT_AS_REAL | JSON_ALLOW_NUL, NULL);
		if (json_is_true(json_object_get(body, "cancel_requested"))) {
			log_info("run cancelled before start", NULL);
			set_result(r, "cancelled", NO_EXIT_CODE, NULL);
			submit_result(r);
		} else {
			ret = 0;
		}
		json_decref(body);
	}
	client_resp_free(&resp);
	return ret;
}

void
run_execute(struct slot *s, const char *token, struct lease_info *li, int64_t t_sent,
    int64_t remaining)
{
	struct agent *ag = s->ag;
	struct run r;
	uint64_t v;

	memset(&r, 0, sizeof(r));
	r.ag = ag;
	r.slot = s;
	r.li = li;
	r.vr.lock_fd = -1;
	r.ct.uid_lock = -1;
	if (read(s->wake_fd, &v, sizeof(v)) < 0)	/* drop stale wake-ups */
		(void)v;
	runstate_init(&r.rs, li->run_id, ag->cfg.server_url, token, li->lease_token,
	    s->wake_fd, &ag->drain);
	lease_begin(&r.rs.lease, t_sent, remaining);
	r.python = !ends_with_ci(li->entrypoint, ".sh");
	workspace_hold(&ag->holds, li->run_id);
	/* A restart releases the run at once from here on, not only once the
	 * job exists (runner.md §2, extended: docs/runner.md). */
	identity_job_save(&ag->id, s->idx, 0, li->run_id, li->lease_token, NULL);
	CRASH_POINT("lease");
	if (start(&r) != 0)
		goto out;
	r.ls = logship_start(&r.rs, s->ship_http);
	r.hb = heartbeat_start(&r.rs, s->hb_http);
	if (contain_setup(&r) == 0 && prepare(&r) == 0) {
		if (runstate_is_stale(&r.rs)) {
			log_warn("stale lease before process start", NULL);
		} else if (runstate_is_cancelled(&r.rs)) {
			log_info("run cancelled before process start", NULL);
			set_result(&r, "cancelled", NO_EXIT_CODE, NULL);
		} else if (atomic_load(&ag->drain) >= 1) {
			r.out = OUT_RELEASE;
		} else {
			launch(&r);
		}
	}
	venv_release(&r.vr);
	finish(&r);
	workspace_destroy(&r.w);
	contain_end(&r.ct);
	if (r.vr.added)
		venv_evict(&ag->cfg);
out:
	identity_job_clear(&ag->id, s->idx);
	workspace_unhold(&ag->holds, li->run_id);
	logship_finish(r.ls, mono_ms());
	heartbeat_stop(r.hb);
	runstate_destroy(&r.rs);
}

static int
num_field(const json_t *o, const char *key, int64_t *out, bool required, struct err *err)
{
	json_t *v = json_object_get(o, key);

	if (v == NULL || json_is_null(v)) {
		if (required)
			return err_set(err, ERR_INVALID, "missing %s", key);
		return 0;
	}
	if (!json_is_number(v))
		return err_set(err, ERR_INVALID, "%s is not a number", key);
	*out = (int64_t)json_number_value(v);
	return 0;
}

static int
str_field(const json_t *o, const char *key, char **out, struct err *err)
{
	const char *s = json_string_value(json_object_get(o, key));

	if (s == NULL)
		return err_set(err, ERR_INVALID, "missing %s", key);
	*out = xstrdup(s);
	return 0;
}

int
lease_info_parse(struct lease_info *li, const char *body, size_t len, struct err *err)
{
	json_error_t je;
	json_t *j = json_loadb(body, len, JSON_DECODE_INT_AS_REAL | JSON_ALLOW_NUL, &je);
	double t;
	int rc = -1;

	memset(li, 0, sizeof(*li));
	li->timeout_s = 300;
	if (j == NULL || !json_is_object(j)) {
		err_set(err, ERR_INVALID, "%s", j == NULL ? je.text : "not an object");
		goto out;
	}
	if (num_field(j, "run_id", &li->run_id, true, err) != 0 ||
	    str_field(j, "lease_token", &li->lease_token, err) != 0 ||
	    num_field(j, "run_no", &li->run_no, true, err) != 0 ||
	    num_field(j, "app_id", &li->app_id, true, err) != 0 ||
	    num_field(j, "version_no", &li->version_no, true, err) != 0 ||
	    num_field(j, "attempt_no", &li->attempt_no, true, err) != 0 ||
	    str_field(j, "app_slug", &li->app_slug, err) != 0 ||
	    str_field(j, "entrypoint", &li->entrypoint, err) != 0)
		goto out;
	if (json_is_number(json_object_get(j, "timeout_seconds"))) {
		t = json_number_value(json_object_get(j, "timeout_seconds"));
		li->timeout_s = t > 2147483647.0 ? 2147483647 : (int64_t)t;
	}
	if (json_is_object(json_object_get(j, "input")))
		li->input = json_incref(json_object_get(j, "input"));
	if (json_is_object(json_object_get(j, "sandbox")))
		li->sandbox = json_incref(json_object_get(j, "sandbox"));
	if (json_is_object(json_object_get(j, "resources")))
		li->resources = json_incref(json_object_get(j, "resources"));
	rc = 0;
out:
	json_decref(j);
	return rc;
}

void
lease_info_free(struct lease_info *li)
{
	free(li->app_slug);
	free(li->entrypoint);
	free(li->lease_token);
	free(li->artifact_sha256);
	json_decref(li->input);
	json_decref(li->sandbox);
	json_decref(li->resources);
	memset(li, 0, sizeof(*li));
}
