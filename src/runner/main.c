/*
 * minitower-runner: start-up (runner.md §1-§2), the long-poll lease loop
 * (§3) of each slot (MINITOWER_RUNNER_SLOTS; one slot runs on the main
 * thread, more on a thread each) and draining on SIGTERM/SIGINT (§9).
 * Signals are handled by one thread with sigwait; it counts them, records
 * when draining began, SIGKILLs every slot's job on the third, and wakes
 * every slot through its eventfd. A sweep thread removes the runner's own
 * stale run directories on a timer.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "artcache.h"
#include "call.h"
#include "crypto.h"
#include "log.h"
#include "run.h"
#include "util.h"

static const char *
env_get(const char *name)
{
	return getenv(name);
}

/* What a signal does to one slot: the third kills its job's namespace, the
 * second closes its waiting lease request; every signal wakes it. */
static void
signal_slot(struct agent *ag, struct slot *s, int lvl)
{
	uint64_t one = 1;
	int pgid = atomic_load(&s->job_pgid);

	/* A namespace dies with its outer process; without one the pump's
	 * order to jobinit does it (woken below). */
	if (lvl >= 3 && pgid > 1 && (ag->sb.mode == SANDBOX_BWRAP || ag->sb.pidns))
		kill(-pgid, SIGKILL);
	if (lvl == 2) {	/* close a waiting lease request */
		pthread_mutex_lock(&s->http_mu);
		if (s->http != NULL)
			client_interrupt(s->http);
		pthread_mutex_unlock(&s->http_mu);
	}
	if (write(s->wake_fd, &one, sizeof(one)) < 0)
		(void)one;
}

static void *
signal_main(void *arg)
{
	struct agent *ag = arg;
	sigset_t set;
	int sig, lvl, i;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		lvl = atomic_fetch_add(&ag->drain, 1) + 1;
		if (lvl == 1) {
			atomic_store(&ag->drain_started, mono_ms());
			log_info("draining", "timeout=%d", (int64_t)(ag->cfg.drain_timeout_ms * 1000000));
		}
		for (i = 0; i < ag->cfg.slots; i++)
			signal_slot(ag, &ag->slots[i], lvl);
	}
	return NULL;
}

static bool
hurry(void *arg)
{
	return atomic_load(&((struct agent *)arg)->drain) >= 2;
}

static bool
draining(void *arg)
{
	return atomic_load(&((struct agent *)arg)->drain) >= 1;
}

/* POLL_INTERVAL + jitter, cut short by a drain. */
static void
pause_poll(struct agent *ag)
{
	call_sleep(lease_poll_pause_ms(ag->cfg.poll_interval_ms, lease_rand()), draining, ag);
}

static void
fatal_runner(struct agent *ag, const char *msg)
{
	log_error("runner error", "error=%s", msg);
	(void)ag;
	exit(1);
}

/* Registers when there is no token; exits on a fatal error. Called at
 * start-up, or with id_mu held. */
static void
ensure_registered(struct agent *ag)
{
	struct err err;

	if (ag->id.token != NULL)
		return;
	err_clear(&err);
	if (identity_register(&ag->id, &ag->cfg, &ag->drain, &err) != 0) {
		if (atomic_load(&ag->drain) >= 1) {
			log_info("shutting down", NULL);
			exit(0);
		}
		fatal_runner(ag, err.msg);
	}
}

char *
agent_token(struct agent *ag)
{
	char *t;

	pthread_mutex_lock(&ag->id_mu);
	t = ag->id.token != NULL ? xstrdup(ag->id.token) : NULL;
	pthread_mutex_unlock(&ag->id_mu);
	return t;
}

/* A 401 to the token used: registers again, unless another slot already
 * did since. */
static void
unauthorized(struct agent *ag, const char *used)
{
	pthread_mutex_lock(&ag->id_mu);
	if (ag->id.token != NULL && used != NULL && strcmp(ag->id.token, used) == 0)
		identity_drop(&ag->id);
	if (ag->id.token == NULL && ag->cfg.reg_token == NULL)
		fatal_runner(ag, "unauthorized and no registration token");
	/* A draining runner with more slots has jobs to wait for: this slot
	 * just stops (registering would exit at once). */
	if (ag->cfg.slots == 1 || atomic_load(&ag->drain) == 0)
		ensure_registered(ag);
	pthread_mutex_unlock(&ag->id_mu);
}

/* A 200 to a lease request of slot s sent with token. */
static void
leased(struct slot *s, const char *token, struct client_resp *resp, int64_t t_sent)
{
	struct agent *ag = s->ag;
	struct lease_info li;
	struct err err;
	int64_t rem = lease_remaining_ms(resp->lease_remaining_ms, NULL, NULL);

	err_clear(&err);
	if (lease_info_parse(&li, buf_str(&resp->body), resp->body.len, &err) == 0 &&
	    artcache_valid_sha(resp->artifact_sha256))
		li.artifact_sha256 = xstrdup(resp->artifact_sha256);	/* artcache.h */
	if (err.code == ERR_NONE && rem < 0) {
		json_t *j = json_loadb(buf_str(&resp->body), resp->body.len, 0, NULL);

		rem = lease_remaining_ms(NULL, json_string_value(json_object_get(j,
		    "lease_expires_at")), resp->date);
		json_decref(j);
		if (rem < 0)
			err_set(&err, ERR_INVALID, "no lease deadline");
	}
	if (err.code != ERR_NONE || atomic_load(&ag->drain) >= 1) {
		struct runstate rs;

		if (err.code != ERR_NONE)
			log_error("invalid lease response", "error=%s", err.msg);
		if (li.run_id > 0 && li.lease_token != NULL) {
			runstate_init(&rs, li.run_id, ag->cfg.server_url, token,
			    li.lease_token, s->wake_fd, &ag->drain);
			lease_begin(&rs.lease, t_sent, rem > 0 ? rem : 0);
			run_release(s, &rs);
			runstate_destroy(&rs);
		}
		lease_info_free(&li);
		return;
	}
	if (ag->cfg.slots > 1)
		log_info("leased run", "run_id=%d app=%s attempt=%d slot=%d", (int64_t)li.run_id,
		    li.app_slug, (int64_t)li.attempt_no, (int64_t)s->idx);
	else
		log_info("leased run", "run_id=%d app=%s attempt=%d", (int64_t)li.run_id,
		    li.app_slug, (int64_t)li.attempt_no);
	run_execute(s, token, &li, t_sent, rem);
	lease_info_free(&li);
}

/* The answer of a lease request other than a 200. */
static void
not_leased(struct slot *s, const char *token, struct client_resp *resp, int64_t t_sent)
{
	struct agent *ag = s->ag;
	int64_t w = ag->cfg.lease_wait_s;
	char msg[1100];

	if (resp->status == 204) {
		if (w == 0 || mono_ms() - t_sent < w * 1000 - 1000)
			pause_poll(ag);
	} else if (resp->status == 401) {
		unauthorized(ag, token);
	} else if (resp->status == 409) {
		if (!s->warned_409)
			log_warn("runner already has an active lease", NULL);
		s->warned_409 = true;
		pause_poll(ag);
	} else {
		call_status_text(resp, msg + 14, sizeof(msg) - 14);
		memcpy(msg, "lease failed: ", 14);
		log_error("poll error", "error=%s", msg);
		pause_poll(ag);
	}
}

/* One lease request of slot s and its answer. */
static void
lease_once(struct slot *s)
{
	struct agent *ag = s->ag;
	char path[64], *token = agent_token(ag);
	int64_t w = ag->cfg.lease_wait_s, t_sent;
	struct client_resp resp;
	struct err err;
	int rc;

	if (w > 0)
		snprintf(path, sizeof(path), "/api/v1/runs/lease?wait=%lld", (long long)w);
	else
		snprintf(path, sizeof(path), "/api/v1/runs/lease");
	struct client_req req = {
		.method = "POST", .path = path, .bearer = token,
		.body = ag->report, .body_len = strlen(ag->report),
		.timeout_ms = (long)(w * 1000 + 10000), .download_fd = -1,
		.abort = hurry, .abort_arg = ag,
	};
	client_resp_init(&resp);
	err_clear(&err);
	t_sent = mono_ms();
	rc = call_http(s->http, &req, &resp, &err);
	if (rc == CALL_ABORTED) {
		/* a second signal closed the waiting request */
	} else if (rc != CALL_OK) {
		log_error("poll error", "error=%s", err.msg);
		pause_poll(ag);
	} else if (resp.status == 200) {
		s->warned_409 = false;
		leased(s, token, &resp, t_sent);
	} else {
		not_leased(s, token, &resp, t_sent);
	}
	client_resp_free(&resp);
	free(token);
}

/* A slot's life: lease and run until a drain. */
static void *
slot_main(void *arg)
{
	struct slot *s = arg;

	while (atomic_load(&s->ag->drain) == 0)
		lease_once(s);
	return NULL;
}

static void
slot_init(struct agent *ag, struct slot *s, int idx)
{
	s->ag = ag;
	s->idx = idx;
	pthread_mutex_init(&s->http_mu, NULL);
	s->http = client_new(ag->cfg.server_url);
	s->hb_http = client_new(ag->cfg.server_url);
	s->ship_http = client_new(ag->cfg.server_url);
	s->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (s->wake_fd == -1)
		fatal_runner(ag, "eventfd failed");
}

static void
slot_free(struct slot *s)
{
	pthread_mutex_lock(&s->http_mu);	/* a late signal must not interrupt a freed client */
	client_free(s->http);
	s->http = NULL;
	pthread_mutex_unlock(&s->http_mu);
	client_free(s->hb_http);
	client_free(s->ship_http);
}

/* Runs every slot until a drain: a single slot on this thread, more on a
 * thread each. */
static void
run_slots(struct agent *ag)
{
	int i, started = 0;

	if (ag->cfg.slots == 1) {
		slot_main(&ag->slots[0]);
		return;
	}
	for (i = 0; i < ag->cfg.slots; i++) {
		if (pthread_create(&ag->slots[i].thread, NULL, slot_main, &ag->slots[i]) != 0)
			fatal_runner(ag, "cannot start a slot thread");
		started++;
	}
	for (i = 0; i < started; i++)
		pthread_join(ag->slots[i].thread, NULL);
}

/* Overwrites the registration token's bytes in our environment block. */
static void
scrub_env(void)
{
	char *v = getenv("MINITOWER_RUNNER_REGISTRATION_TOKEN");

	if (v != NULL)
		explicit_bzero(v, strlen(v));
}

/* Removes the run directories killed processes of this runner left under
 * TMPDIR; the start-up sweep always reports its count. */
static void
sweep(struct agent *ag, bool at_start)
{
	int n = workspace_sweep(&ag->cfg, ag->id.id, &ag->holds);

	if (at_start || n > 0)
		log_info("stale workspaces swept", "count=%d", (int64_t)n);
}

/* Every MINITOWER_WORKSPACE_SWEEP_INTERVAL until a drain; the runs in hand
 * are held, so their directories are skipped. */
static void *
sweep_main(void *arg)
{
	struct agent *ag = arg;

	while (call_sleep(ag->cfg.sweep_interval_ms, draining, ag))
		sweep(ag, false);
	return NULL;
}

static void
startup(struct agent *ag)
{
	struct err err;
	char errbuf[1024];

	err_clear(&err);
	if (identity_prepare_dir(&ag->cfg, &err) != 0)
		fatal_runner(ag, err.msg);
	if (venv_resolve(&ag->py, &ag->cfg, errbuf, sizeof(errbuf)) != 0)
		log_warn("python interpreter unavailable", "error=%s", errbuf);
	identity_load(&ag->id, &ag->cfg);
	if (sandbox_init(&ag->sb, &ag->cfg, &ag->py, ag->id.id, &err) != 0) {
		log_error("config error", "error=%s", err.msg);
		exit(1);
	}
	ag->report = xasprintf("{\"sandbox\":\"%s\",\"limits\":\"%s\",\"slots\":%d}",
	    sandbox_mode_name(ag->sb.mode), cgroup_kind_name(ag->sb.cg.kind), (int)ag->cfg.slots);
	/* The same two fields, inside the registration body. */
	ag->id.report = xstrndup(ag->report + 1, strlen(ag->report) - 2);
	ensure_registered(ag);
	/* What a killed process of this runner left is killed before its
	 * run is released (§2, extended: docs/sandbox.md). */
	if (cgroup_recover(&ag->sb.cg) > 0)
		log_warn("killed processes left by a previous process", NULL);
	identity_recover(&ag->id, &ag->cfg);
	/* After the recovery, which removes the directory of the job it
	 * released itself. */
	sweep(ag, true);
	if (ag->cfg.slots > 1)
		log_info("runner started", "name=%s slots=%d", ag->cfg.name, ag->cfg.slots);
	else
		log_info("runner started", "name=%s", ag->cfg.name);
}

int
main(int argc, char **argv)
{
	static struct agent ag;
	struct err err;
	pthread_t sig_thread, sweep_thread;
	bool sweeping = false;
	sigset_t set;
	int i;

#ifdef __SANITIZE_THREAD__
	if (argc > 1 && strcmp(argv[1], WORKSPACE_UNPACK_ARG) == 0)
		return workspace_unpack_main(argc, argv);
#endif
	(void)argc;
	(void)argv;
	prctl(PR_SET_DUMPABLE, 0);
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	signal(SIGPIPE, SIG_IGN);
	err_clear(&err);
	if (config_load(&ag.cfg, env_get, geteuid(), &err) != 0) {
		log_error("config error", "error=%s", err.msg);
		config_free(&ag.cfg);
		return 1;
	}
	scrub_env();
	if (strcmp(ag.cfg.environment, "default") != 0)
		log_warn("runs are only created in the default environment",
		    "environment=%s", ag.cfg.environment);
	client_global_init();
	/* Not crypto_init(): its dummy password hash (for minitowerd's logins)
	 * takes 64 MiB, the runner's whole peak RSS (issue 13). */
	if (sodium_init() < 0)
		fatal_runner(&ag, "libsodium initialisation failed");
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	pthread_mutex_init(&ag.id_mu, NULL);
	workspace_holds_init(&ag.holds);
	ag.slots = xcalloc((size_t)ag.cfg.slots, sizeof(*ag.slots));
	for (i = 0; i < ag.cfg.slots; i++)
		slot_init(&ag, &ag.slots[i], i);
	if (pthread_create(&sig_thread, NULL, signal_main, &ag) != 0)
		fatal_runner(&ag, "cannot start the signal thread");
	pthread_detach(sig_thread);
	startup(&ag);
	if (ag.cfg.sweep_interval_ms > 0)
		sweeping = pthread_create(&sweep_thread, NULL, sweep_main, &ag) == 0;
	run_slots(&ag);
	if (sweeping)	/* its last lines come before ours */
		pthread_join(sweep_thread, NULL);
	log_info("shutting down", NULL);
	for (i = 0; i < ag.cfg.slots; i++)
		slot_free(&ag.slots[i]);
	free(ag.id.report);
	identity_free(&ag.id);
	sandbox_free(&ag.sb);
	free(ag.report);
	venv_pyinfo_free(&ag.py);
	config_free(&ag.cfg);
	return 0;
}
