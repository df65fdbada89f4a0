/*
 * api_runner: the runner protocol (api.md §1.8): registration, the lease
 * long poll, and the lease-bound calls. Each lease-bound call checks the
 * lease before it looks at its body or query, inside the transaction of its
 * effect (store_lease.c); wake-ups go out after the commit (§2.11). The
 * result report is api_result.c.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api.h"
#include "api_runs.h"
#include "config.h"
#include "crypto.h"
#include "encode.h"
#include "json.h"
#include "log.h"
#include "metrics.h"
#include "notify.h"
#include "store.h"
#include "util.h"

#define MAX_LEASE_WAIT_S 60
#define MAX_LOG_BATCH 100
#define MAX_LINE_BYTES 8192

void
runner_answer_ok(struct resp *rs)
{
	struct buf b;

	buf_init(&b, 64);
	buf_adds(&b, "{\"status\":\"ok\"}");
	resp_json(rs, 200, &b);
}

/* X-Lease-Remaining-Ms: left ms, or expires_at - now (steady clock) when
 * left < 0. */
static void
remaining_header(struct resp *rs, int64_t expires_at, int64_t left)
{
	char v[32];

	if (left < 0)
		left = expires_at - steady_ms();

	snprintf(v, sizeof(v), "%lld", (long long)(left > 0 ? left : 0));
	resp_header(rs, "X-Lease-Remaining-Ms", v);
}

int
runner_prelude(struct req *rq, struct resp *rs, int64_t *run_id, char hash[65])
{
	const char *t;

	if (api_run_id(rq, rs, run_id) == -1)
		return -1;
	t = http_header(rq, "X-Lease-Token");
	if (t == NULL || t[0] == '\0') {
		resp_error(rs, ERR_INVALID, "missing lease token");
		return -1;
	}
	crypto_sha256_hex(t, strlen(t), hash);
	return 0;
}

/* The trimmed bearer token of the request (caller frees); NULL when absent
 * or empty. */
static char *
bearer(const struct req *rq)
{
	const char *h = http_header(rq, "Authorization");
	char *v, *tok = NULL;

	if (h == NULL)
		return NULL;
	v = str_trim(xstrdup(h));
	if (ascii_ncasecmp(v, "Bearer ", 7) == 0 && *str_trim(v + 7) != '\0')
		tok = xstrdup(str_trim(v + 7));
	free(v);
	return tok;
}

/* The bearer token's hash, to re-check a runner token after a wait. */
static bool
bearer_hash(const struct req *rq, char hash[65])
{
	char *tok = bearer(rq);

	if (tok == NULL)
		return false;
	crypto_sha256_hex(tok, strlen(tok), hash);
	free(tok);
	return true;
}

/* The registration token check (constant time, api.md §0.8). */
static bool
registration_ok(const struct req *rq)
{
	char *tok = bearer(rq);
	const char *want = api_cfg->registration_token != NULL ? api_cfg->registration_token : "";
	bool ok = tok != NULL && want[0] != '\0' &&
	    crypto_secret_equal(tok, strlen(tok), want, strlen(want));

	free(tok);
	return ok;
}

/* The string field name of o when it equals one of values (NULL-terminated):
 * that static string; else NULL. */
static const char *
known_value(const json_t *o, const char *name, const char *const *values)
{
	const char *s;
	size_t len, i;

	if (json_get_str(o, name, &s, &len) != 1)
		return NULL;
	for (i = 0; values[i] != NULL; i++) {
		if (strlen(values[i]) == len && memcmp(values[i], s, len) == 0)
			return values[i];
	}
	return NULL;
}

/* ---- registration ---- */

/* The "slots" of a registration or lease body (docs/runner.md, "Slots"):
 * 0 when absent (or the body is not a JSON object), the number when it is an
 * integer from 1 to STORE_SLOTS_MAX, -1 otherwise (a 400 at registration;
 * the lease body stays lenient and ignores it). */
static int64_t
runner_slots(const struct req *rq)
{
	json_t *body = NULL, *v;
	int64_t n = 0;

	if (rq->body.len == 0 || json_decode(buf_str(&rq->body), rq->body.len, false, &body) == -1)
		return 0;
	v = json_is_object(body) ? json_object_get(body, "slots") : NULL;
	if (v != NULL) {
		n = json_is_integer(v) ? (int64_t)json_integer_value(v) : -1;
		if (n < 1 || n > STORE_SLOTS_MAX)
			n = -1;
	}
	json_decref(body);
	return n;
}

#define SLOTS_MSG	"slots must be an integer from 1 to 64"

/* What a runner says it runs jobs in (api.md §1.8.1, §1.8.2): "sandbox" and
 * "limits" of the request body, each a static string when present and one
 * of the known values, else NULL. Never an error: a missing, empty or
 * non-JSON body, a non-object or other values are all ignored. */
static void
runner_modes(const struct req *rq, const char **sandbox, const char **limits)
{
	static const char *const sandboxes[] = { "bwrap", "none", NULL };
	static const char *const limit_kinds[] = { "cgroup-v2", "cgroup-v1", "rlimit", NULL };
	json_t *body = NULL;

	*sandbox = *limits = NULL;
	if (rq->body.len == 0 || json_decode(buf_str(&rq->body), rq->body.len, false, &body) == -1)
		return;
	if (json_is_object(body)) {
		*sandbox = known_value(body, "sandbox", sandboxes);
		*limits = known_value(body, "limits", limit_kinds);
	}
	json_decref(body);
}

void
api_runner_register(struct req *rq, struct resp *rs)
{
	const char *name = NULL, *env = NULL, *sandbox, *limits;
	size_t nlen = 0, elen = 0;
	int64_t slots = runner_slots(rq);
	char tok[CRYPTO_TOKEN_MAX], hash[65];
	struct err err;
	int64_t id;
	bool created;
	json_t *body;
	int hn, he;

	if (!bearer_hash(rq, hash) || !registration_ok(rq)) {
		resp_error(rs, ERR_UNAUTHORIZED, "invalid or missing token");
		return;
	}
	if ((body = api_body(rq, rs, false, "invalid JSON body")) == NULL)
		return;
	hn = json_get_str(body, "name", &name, &nlen);
	he = json_get_str(body, "environment", &env, &elen);
	if (hn == -1 || he == -1)
		resp_error(rs, ERR_INVALID, "invalid JSON body");
	else if (hn == 0 || nlen == 0)
		resp_error(rs, ERR_INVALID, "name is required");
	else if (memchr(name, '\0', nlen) != NULL)
		resp_error(rs, ERR_INVALID, "name must not contain NUL characters");
	else if (he == 1 && memchr(env, '\0', elen) != NULL)
		resp_error(rs, ERR_INVALID, "environment must not contain NUL characters");
	else if (slots == -1)
		resp_error(rs, ERR_INVALID, SLOTS_MSG);
	if (rs->status != 0)
		goto out;
	if (he == 0 || elen == 0) {
		env = "default";
		elen = 7;
	}
	crypto_token_new("mtr_", tok);
	crypto_sha256_hex(tok, strlen(tok), hash);
	runner_modes(rq, &sandbox, &limits);
	if (store_runner_register(name, nlen, env, elen, hash, sandbox, limits,
	    slots > 0 ? slots : 1, &id, &created, &err) == -1) {
		runs_fail(rs, &err, "register runner");
		goto out;
	}
	if (created)
		metrics_runner_registered(env);
	runs_answer(rs, created ? 201 : 200, json_pack("{sIss%ss}", "runner_id", (json_int_t)id,
	    "name", name, nlen, "token", tok));
out:
	json_decref(body);
}

/* ---- lease ---- */

struct lease_done {
	int64_t	 run_id;
	int64_t	 runner_id;
	char	 hash[65];
};

static void release_effects(const struct attempt *a);

/* Completion of a 200 lease response: a response that was not delivered
 * hands the run back at once (api.md §1.8.2). */
static void
lease_complete(void *arg, bool ok)
{
	struct lease_done *d = arg;
	struct attempt a;
	struct err err;

	if (!ok && store_release(d->run_id, d->runner_id, d->hash, &a, &err) == 0)
		release_effects(&a);
	free(d);
}

static void
granted(struct req *rq, struct resp *rs, struct lease *l, const char *tok, const char *hash)
{
	struct lease_done *d;

	if (!l->reissued) {
		metrics_run_leased(rq->runner.environment);
		log_info("run leased", "run_id=%d attempt_no=%d team=%s app=%s runner=%s", l->a.run_id,
		    l->a.attempt_no, l->a.team_slug, l->a.app_slug, rq->runner.name);
		notify_run(l->a.run_id);
	}
	d = xcalloc(1, sizeof(*d));
	d->run_id = l->a.run_id;
	d->runner_id = rq->runner.runner_id;
	snprintf(d->hash, sizeof(d->hash), "%s", hash);
	rs->on_complete = lease_complete;
	rs->on_complete_arg = d;
	runs_answer(rs, 200, encode_lease(l, tok));
	remaining_header(rs, l->a.lease_expires_at, api_cfg->lease_ttl_ms);
	/* The artifact's digest, as on its download: a runner with the artifact
	 * in its cache need not download it (docs/api-endpoints.md). */
	if (l->artifact_sha256 != NULL)
		resp_header(rs, "X-Artifact-SHA256", l->artifact_sha256);
}

/* Parses ?wait= (first run only); -1 when it answered 400. */
static int
lease_wait(struct req *rq, struct resp *rs)
{
	int64_t wait = 0;
	int rc = runs_query_int(rq, "wait", &wait);

	if (rc == -1 || wait < 0) {
		resp_error(rs, ERR_INVALID, "wait must be a non-negative integer");
		return -1;
	}
	if (wait > MAX_LEASE_WAIT_S)
		wait = MAX_LEASE_WAIT_S;
	rq->wait_deadline_ms = wait > 0 && !rq->shutting_down ? steady_ms() + wait * 1000 : 0;
	return 0;
}

static void
park_lease(struct req *rq, struct resp *rs, uint64_t gen)
{
	rs->wait = WAIT_LEASE;
	snprintf(rs->wait_env, sizeof(rs->wait_env), "%s", rq->runner.environment);
	rs->wait_gen = gen;
	rs->wait_until_ms = rq->wait_deadline_ms;
}

void
api_lease(struct req *rq, struct resp *rs)
{
	char tok[CRYPTO_TOKEN_MAX], hash[65], auth_hash[65];
	const char *sandbox, *limits;
	int64_t slots = runner_slots(rq);
	struct lease l;
	struct err err;
	uint64_t gen;
	bool final;
	int rc;

	if (rq->runs == 1 && lease_wait(rq, rs) == -1)
		return;
	if (rq->wake == WAKE_SHUTDOWN || (rq->runs > 1 && rq->shutting_down)) {
		resp_empty(rs, 204);
		return;
	}
	final = rq->wait_deadline_ms == 0 || rq->wake == WAKE_TIMEOUT ||
	    steady_ms() >= rq->wait_deadline_ms;
	gen = notify_gen();
	if (rq->runs > 1 && !final && !store_queued_exists(rq->runner.environment)) {
		park_lease(rq, rs, gen);
		return;
	}
	if (rq->runs > 1 && http_client_gone(rq)) {
		notify_runnable(rq->runner.environment, 1);	/* pass the wake-up on */
		resp_empty(rs, 204);	/* nobody to hand a run to */
		return;
	}
	if (rq->runs > 1 && !bearer_hash(rq, auth_hash)) {
		resp_error(rs, ERR_UNAUTHORIZED, "invalid or missing token");
		return;
	}
	crypto_token_new("", tok);
	crypto_sha256_hex(tok, strlen(tok), hash);
	runner_modes(rq, &sandbox, &limits);
	rc = store_lease(rq->runner.runner_id, rq->runner.environment,
	    rq->runs > 1 ? auth_hash : NULL, sandbox, limits, slots > 0 ? slots : 0, hash, api_cfg->lease_ttl_ms,
	    &l, &err);
	if (rc == -1) {
		if (rq->runs > 1)	/* woken for a run it will not take: pass it on */
			notify_runnable(rq->runner.environment, 1);
		runs_fail(rs, &err, "lease run");
		return;
	}
	if (rc == 1)
		granted(rq, rs, &l, tok, hash);
	else if (final)
		resp_empty(rs, 204);
	else
		park_lease(rq, rs, gen);
	store_lease_clear(&l);
}

/* ---- start and heartbeat ---- */

/* The AttemptObject answer; extended tells a heartbeat (remaining = TTL). */
static void
answer_attempt(struct resp *rs, const struct attempt *a, bool extended)
{
	runs_answer(rs, 200, encode_attempt(a));
	remaining_header(rs, a->lease_expires_at, extended ? api_cfg->lease_ttl_ms : -1);
}

void
api_start(struct req *rq, struct resp *rs)
{
	struct attempt a;
	struct err err;
	char hash[65];
	int64_t run_id;
	bool started;

	if (runner_prelude(rq, rs, &run_id, hash) == -1)
		return;
	if (store_attempt_start(run_id, rq->runner.runner_id, hash, &a, &started, &err) == -1) {
		runs_fail(rs, &err, "start run");
		return;
	}
	if (started) {
		log_info("run started", "run_id=%d attempt_no=%d team=%s app=%s", run_id, a.attempt_no,
		    a.team_slug, a.app_slug);
		notify_run(run_id);
	}
	answer_attempt(rs, &a, false);
}

/* ?wait= of a heartbeat, clamped to floor(TTL / 3) seconds. */
static int
heartbeat_wait(struct req *rq, int64_t *wait)
{
	int64_t max = api_cfg->lease_ttl_ms / 3000;
	int rc;

	*wait = 0;
	rc = runs_query_int(rq, "wait", wait);
	if (rc == -1 || *wait < 0)
		return -1;
	if (*wait > max)
		*wait = max;
	return 0;
}

/* Extends the lease and answers (the reply of a heartbeat). */
static void
heartbeat_reply(struct req *rq, struct resp *rs, int64_t run_id, const char *hash)
{
	struct attempt a;
	struct err err;

	if (store_heartbeat(run_id, rq->runner.runner_id, hash, api_cfg->lease_ttl_ms, &a,
	    &err) == -1) {
		runs_fail(rs, &err, "heartbeat");
		return;
	}
	answer_attempt(rs, &a, true);
}

static void
park_heartbeat(struct req *rq, struct resp *rs, int64_t run_id, uint64_t gen)
{
	rs->wait = WAIT_RUN;
	rs->wait_run = run_id;
	rs->wait_gen = gen;
	rs->wait_until_ms = rq->wait_deadline_ms;
}

/* A waiting heartbeat woke up: reply, or wait on. */
static void
heartbeat_woken(struct req *rq, struct resp *rs, int64_t run_id, const char *hash)
{
	struct attempt a;
	struct err err;
	uint64_t gen = notify_gen();

	if (rq->wake == WAKE_EVENT && !rq->shutting_down && steady_ms() < rq->wait_deadline_ms) {
		if (store_attempt_peek(run_id, rq->runner.runner_id, hash, &a, &err) == -1) {
			runs_fail(rs, &err, "heartbeat");
			return;
		}
		if (!a.cancel_requested) {
			park_heartbeat(rq, rs, run_id, gen);
			return;
		}
	}
	heartbeat_reply(rq, rs, run_id, hash);
}

void
api_heartbeat(struct req *rq, struct resp *rs)
{
	struct attempt a;
	struct err err;
	char hash[65];
	int64_t run_id, wait;
	uint64_t gen;

	if (runner_prelude(rq, rs, &run_id, hash) == -1)
		return;
	if (rq->runs > 1) {
		heartbeat_woken(rq, rs, run_id, hash);
		return;
	}
	if (heartbeat_wait(rq, &wait) == -1) {	/* the lease check comes first */
		if (store_attempt_peek(run_id, rq->runner.runner_id, hash, &a, &err) == -1)
			runs_fail(rs, &err, "heartbeat");
		else
			resp_error(rs, ERR_INVALID, "wait must be a non-negative integer");
		return;
	}
	gen = notify_gen();
	if (store_heartbeat(run_id, rq->runner.runner_id, hash, api_cfg->lease_ttl_ms, &a,
	    &err) == -1) {
		runs_fail(rs, &err, "heartbeat");
		return;
	}
	if (a.cancel_requested || wait == 0 || rq->shutting_down) {
		answer_attempt(rs, &a, true);
		return;
	}
	rq->wait_deadline_ms = steady_ms() + wait * 1000;
	park_heartbeat(rq, rs, run_id, gen);
}

/* ---- logs ---- */

/* Decodes the log batch; a problem is stored in *bad (reported after the
 * lease check). Returns the entries (caller frees) or NULL. */
static struct log_entry *
decode_logs(const struct req *rq, size_t *n, struct err *bad, bool *is_bad)
{
	json_t *body = NULL, *arr, *it;
	struct log_entry *e = NULL;
	size_t i;

	*n = 0;
	*is_bad = true;
	if (json_decode(buf_str(&rq->body), rq->body.len, false, &body) == -1 ||
	    !json_is_object(body)) {
		err_set(bad, ERR_INVALID, "invalid JSON body");
		goto out;
	}
	arr = json_field(body, "logs");
	if (arr != NULL && !json_is_array(arr)) {
		err_set(bad, ERR_INVALID, "invalid JSON body");
		goto out;
	}
	json_array_foreach(arr, i, it) {	/* types first: they are decoding errors */
		const char *s;
		size_t l;
		int64_t v;

		if (!json_is_object(it) || json_get_int(it, "seq", &v) == -1 ||
		    json_get_str(it, "stream", &s, &l) == -1 || json_get_str(it, "line", &s, &l) == -1 ||
		    json_get_str(it, "logged_at", &s, &l) == -1) {
			err_set(bad, ERR_INVALID, "invalid JSON body");
			goto out;
		}
	}
	if (json_array_size(arr) > MAX_LOG_BATCH) {
		err_set(bad, ERR_INVALID, "max 100 logs per batch");
		goto out;
	}
	e = xcalloc(json_array_size(arr) + 1, sizeof(*e));
	json_array_foreach(arr, i, it) {
		const char *stream = "", *line = "", *at = NULL;
		size_t sl = 0, ll = 0, al = 0;

		e[i].seq = 0;
		json_get_int(it, "seq", &e[i].seq);
		json_get_str(it, "stream", &stream, &sl);
		json_get_str(it, "line", &line, &ll);
		json_get_str(it, "logged_at", &at, &al);
		(*n)++;
		if (e[i].seq < 1) {
			err_set(bad, ERR_INVALID, "seq must be a positive integer");
			goto out;
		}
		if (strcmp(stream, "stdout") != 0 && strcmp(stream, "stderr") != 0) {
			err_set(bad, ERR_INVALID, "stream must be stdout or stderr");
			goto out;
		}
		if (ll > MAX_LINE_BYTES) {
			err_set(bad, ERR_INVALID, "log line exceeds 8KB");
			goto out;
		}
		if (memchr(line, '\0', ll) != NULL) {
			err_set(bad, ERR_INVALID, "log line must not contain NUL characters");
			goto out;
		}
		snprintf(e[i].stream, sizeof(e[i].stream), "%s", stream);
		e[i].line = xstrndup(line, ll);
		e[i].line_len = ll;
		if (at == NULL || memchr(at, '\0', al) != NULL || parse_rfc3339_ms(at, &e[i].logged_at) == -1)
			e[i].logged_at = now_ms();
	}
	*is_bad = false;
out:
	json_decref(body);
	return e;
}

void
api_logs_post(struct req *rq, struct resp *rs)
{
	struct log_entry *e;
	struct err bad, err;
	char hash[65];
	int64_t run_id;
	size_t n;
	bool is_bad;

	if (runner_prelude(rq, rs, &run_id, hash) == -1)
		return;
	e = decode_logs(rq, &n, &bad, &is_bad);
	if (store_logs_add(run_id, rq->runner.runner_id, hash, e, is_bad ? 0 : n,
	    is_bad ? &bad : NULL, &err) == -1) {
		runs_fail(rs, &err, "store logs");
	} else {
		runner_answer_ok(rs);
		if (n > 0)
			notify_run(run_id);
	}
	store_logs_free(e, n);
}

/* ---- release ---- */

/* Logs, metrics and wake-ups after a release committed. */
static void
release_effects(const struct attempt *a)
{
	if (strcmp(a->run_status, "cancelled") == 0) {
		metrics_run_completed(a->team_slug, a->app_slug, "cancelled", -1, -1, -1);
		runs_log_finished(a->run_id, a->attempt_no, a->team_slug, a->app_slug, "cancelled",
		    "released");
	} else {
		log_info("run requeued", "run_id=%d attempt_no=%d team=%s app=%s reason=%s",
		    a->run_id, a->attempt_no, a->team_slug, a->app_slug, "released");
		notify_runnable(a->environment, 1);
	}
	notify_run(a->run_id);
}

void
api_release(struct req *rq, struct resp *rs)
{
	struct attempt a;
	struct err err;
	char hash[65];
	int64_t run_id;

	if (runner_prelude(rq, rs, &run_id, hash) == -1)
		return;
	if (store_release(run_id, rq->runner.runner_id, hash, &a, &err) == -1) {
		runs_fail(rs, &err, "release run");
		return;
	}
	release_effects(&a);
	runner_answer_ok(rs);
}

/* ---- artifact ---- */

void
api_artifact(struct req *rq, struct resp *rs)
{
	struct version v;
	struct err err;
	struct stat st;
	char hash[65], path[4096], num[32];
	int64_t run_id;
	int fd;

	if (runner_prelude(rq, rs, &run_id, hash) == -1)
		return;
	if (store_artifact(run_id, rq->runner.runner_id, hash, &v, &err) == -1) {
		runs_fail(rs, &err, "get artifact");
		return;
	}
	snprintf(path, sizeof(path), "%s/%s", api_cfg->objects_dir, v.object_key);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1 || fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		if (fd != -1)
			close(fd);
		resp_error(rs, ERR_INTERNAL, "artifact not found");
		goto out;
	}
	rs->fd = fd;
	rs->fd_size = (int64_t)st.st_size;
	rs->status = 200;
	rs->content_type = "application/gzip";
	resp_header(rs, "X-Artifact-SHA256", v.sha256);
	resp_header(rs, "X-Entrypoint", v.entrypoint);
	if (v.timeout_seconds != 0) {
		snprintf(num, sizeof(num), "%lld", (long long)v.timeout_seconds);
		resp_header(rs, "X-Timeout-Seconds", num);
	}
	if (v.import_paths_json != NULL && strcmp(v.import_paths_json, "[]") != 0)
		resp_header(rs, "X-Import-Paths", v.import_paths_json);
out:
	store_version_clear(&v);
}
