/*
 * routes: one table of every endpoint (template, methods, authentication,
 * handler) and the matching rules of api.md §0.11: exact paths first, then
 * the /apps, /tokens and /runs subtrees; authentication before the method
 * check on team routes, method (and shape) first on the others.
 */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "config.h"
#include "crypto.h"
#include "routes.h"
#include "store.h"
#include "util.h"

enum auth { A_NONE, A_TEAM, A_ADMIN, A_BOOTSTRAP, A_RUNNER, A_LEASE, A_METRICS };
enum order { METHOD_FIRST, AUTH_FIRST, SHAPE_FIRST };

struct route_method {
	const char	*method;
	enum auth	 auth;
	api_handler	*fn;
	bool		 long_work;	/* api.md §0.2: runs on the long pool */
};

struct route {
	const char	*template;
	enum order	 order;
	enum auth	 first_auth;	/* AUTH_FIRST: the scheme checked first */
	const char	*allow;
	struct route_method m[3];
};

static const struct config *cfg;

#define M(meth, a, f) { meth, a, f, false }
#define L(meth, a, f) { meth, a, f, true }
static const struct route exact[] = {
	{ "/health", METHOD_FIRST, A_NONE, "GET", { M("GET", A_NONE, api_health) } },
	{ "/ready", METHOD_FIRST, A_NONE, "GET", { M("GET", A_NONE, api_ready) } },
	{ "/metrics", METHOD_FIRST, A_METRICS, "", { L("*", A_METRICS, api_metrics) } },
	{ "/api/v1/auth/options", METHOD_FIRST, A_NONE, "GET",
	    { M("GET", A_NONE, api_auth_options) } },
	{ "/api/v1/teams/signup", METHOD_FIRST, A_NONE, "POST", { L("POST", A_NONE, api_signup) } },
	{ "/api/v1/teams/login", METHOD_FIRST, A_NONE, "POST", { L("POST", A_NONE, api_login) } },
	{ "/api/v1/bootstrap/team", AUTH_FIRST, A_BOOTSTRAP, "POST",
	    { L("POST", A_BOOTSTRAP, api_bootstrap) } },
	{ "/api/v1/me", AUTH_FIRST, A_TEAM, "GET", { M("GET", A_TEAM, api_me) } },
	{ "/api/v1/auth/logout", AUTH_FIRST, A_TEAM, "POST", { M("POST", A_TEAM, api_logout) } },
	{ "/api/v1/tokens", AUTH_FIRST, A_TEAM, "GET, POST",
	    { M("GET", A_ADMIN, api_token_list), M("POST", A_TEAM, api_token_create) } },
	{ "/api/v1/apps", AUTH_FIRST, A_TEAM, "GET, POST",
	    { M("GET", A_TEAM, api_app_list), M("POST", A_TEAM, api_app_create) } },
	{ "/api/v1/runs", AUTH_FIRST, A_TEAM, "GET", { M("GET", A_TEAM, api_run_list) } },
	{ "/api/v1/runs/summary", AUTH_FIRST, A_TEAM, "GET", { M("GET", A_TEAM, api_run_summary) } },
	{ "/api/v1/runs/stats", AUTH_FIRST, A_TEAM, "GET", { M("GET", A_TEAM, api_run_stats) } },
	{ "/api/v1/runs/lease", AUTH_FIRST, A_RUNNER, "POST", { M("POST", A_RUNNER, api_lease) } },
	{ "/api/v1/admin/runners", AUTH_FIRST, A_TEAM, "GET",
	    { M("GET", A_ADMIN, api_admin_runners) } },
	{ "/api/v1/runners/register", METHOD_FIRST, A_NONE, "POST",
	    { M("POST", A_NONE, api_runner_register) } },
	{ "/api/v1/schedules/preview", AUTH_FIRST, A_TEAM, "GET",
	    { M("GET", A_TEAM, api_schedule_preview) } },
	{ "/api/v1/secrets", AUTH_FIRST, A_TEAM, "GET", { M("GET", A_TEAM, api_secret_list) } },
#ifdef MT_FAULTS
	/* test builds only (docs/reliability.md) */
	{ "/__faults", METHOD_FIRST, A_NONE, "POST", { M("POST", A_NONE, api_faults) } },
#endif
};

enum {	/* indexes into subtree[] */
	R_TOKEN, R_APP, R_VERSIONS, R_APP_RUNS, R_APP_STATS, R_RUN, R_CANCEL, R_LOGS, R_STREAM,
	R_ATTEMPTS, R_START, R_HEARTBEAT, R_RESULT, R_ARTIFACT, R_RELEASE, R_UI,
	R_APP_SCHEDULES, R_SCHEDULE, R_SCHED_PAUSE, R_SCHED_RESUME, R_SCHED_TRIGGER, R_SCHED_FIRES,
	R_SECRET, R_RUN_SECRETS, R_NSUB
};
static const struct route subtree[R_NSUB] = {
	[R_TOKEN] = { "/api/v1/tokens/{id}", AUTH_FIRST, A_TEAM, "DELETE",
	    { M("DELETE", A_ADMIN, api_token_revoke) } },
	[R_APP] = { "/api/v1/apps/{app}", AUTH_FIRST, A_TEAM, "GET", { M("GET", A_TEAM, api_app_get) } },
	[R_VERSIONS] = { "/api/v1/apps/{app}/versions", AUTH_FIRST, A_TEAM, "GET, POST",
	    { M("GET", A_TEAM, api_version_list), L("POST", A_TEAM, api_version_upload) } },
	[R_APP_RUNS] = { "/api/v1/apps/{app}/runs", AUTH_FIRST, A_TEAM, "GET, POST",
	    { M("GET", A_TEAM, api_app_runs), M("POST", A_TEAM, api_run_create) } },
	[R_APP_STATS] = { "/api/v1/apps/{app}/stats", AUTH_FIRST, A_TEAM, "GET",
	    { M("GET", A_TEAM, api_app_stats) } },
	[R_RUN] = { "/api/v1/runs/{run}", SHAPE_FIRST, A_TEAM, "GET", { M("GET", A_TEAM, api_run_get) } },
	[R_CANCEL] = { "/api/v1/runs/{run}/cancel", SHAPE_FIRST, A_TEAM, "POST",
	    { M("POST", A_TEAM, api_run_cancel) } },
	[R_LOGS] = { "/api/v1/runs/{run}/logs", SHAPE_FIRST, A_TEAM, "GET, POST",
	    { M("GET", A_TEAM, api_run_logs), M("POST", A_LEASE, api_logs_post) } },
	[R_STREAM] = { "/api/v1/runs/{run}/logs/stream", SHAPE_FIRST, A_TEAM, "GET",
	    { L("GET", A_TEAM, api_run_stream) } },
	[R_ATTEMPTS] = { "/api/v1/runs/{run}/attempts", SHAPE_FIRST, A_TEAM, "GET",
	    { M("GET", A_TEAM, api_run_attempts) } },
	[R_START] = { "/api/v1/runs/{run}/start", SHAPE_FIRST, A_LEASE, "POST",
	    { M("POST", A_LEASE, api_start) } },
	[R_HEARTBEAT] = { "/api/v1/runs/{run}/heartbeat", SHAPE_FIRST, A_LEASE, "POST",
	    { M("POST", A_LEASE, api_heartbeat) } },
	[R_RESULT] = { "/api/v1/runs/{run}/result", SHAPE_FIRST, A_LEASE, "POST",
	    { M("POST", A_LEASE, api_result) } },
	[R_ARTIFACT] = { "/api/v1/runs/{run}/artifact", SHAPE_FIRST, A_LEASE, "GET",
	    { M("GET", A_LEASE, api_artifact) } },
	[R_RELEASE] = { "/api/v1/runs/{run}/release", SHAPE_FIRST, A_LEASE, "POST",
	    { M("POST", A_LEASE, api_release) } },
	[R_UI] = { "/ui", METHOD_FIRST, A_NONE, "GET", { M("GET", A_NONE, api_ui) } },
	[R_APP_SCHEDULES] = { "/api/v1/apps/{app}/schedules", AUTH_FIRST, A_TEAM, "GET, POST",
	    { M("GET", A_TEAM, api_schedule_list), M("POST", A_TEAM, api_schedule_create) } },
	[R_SCHEDULE] = { "/api/v1/schedules/{id}", SHAPE_FIRST, A_TEAM, "GET, PATCH, DELETE",
	    { M("GET", A_TEAM, api_schedule_get), M("PATCH", A_TEAM, api_schedule_update),
	    M("DELETE", A_TEAM, api_schedule_delete) } },
	[R_SCHED_PAUSE] = { "/api/v1/schedules/{id}/pause", SHAPE_FIRST, A_TEAM, "POST",
	    { M("POST", A_TEAM, api_schedule_pause) } },
	[R_SCHED_RESUME] = { "/api/v1/schedules/{id}/resume", SHAPE_FIRST, A_TEAM, "POST",
	    { M("POST", A_TEAM, api_schedule_resume) } },
	[R_SCHED_TRIGGER] = { "/api/v1/schedules/{id}/trigger", SHAPE_FIRST, A_TEAM, "POST",
	    { M("POST", A_TEAM, api_schedule_trigger) } },
	[R_SCHED_FIRES] = { "/api/v1/schedules/{id}/fires", SHAPE_FIRST, A_TEAM, "GET",
	    { M("GET", A_TEAM, api_schedule_fires) } },
	[R_SECRET] = { "/api/v1/secrets/{name}", AUTH_FIRST, A_TEAM, "PUT, DELETE",
	    { M("PUT", A_ADMIN, api_secret_put), M("DELETE", A_ADMIN, api_secret_delete) } },
	[R_RUN_SECRETS] = { "/api/v1/runs/{run}/secrets", SHAPE_FIRST, A_LEASE, "GET",
	    { M("GET", A_LEASE, api_run_secrets) } },
};

void
routes_init(const struct config *c)
{
	cfg = c;
}

/* Splits rest ("a/b/c", no leading slash) into at most 4 segments. */
static int
split(const char *rest, char seg[4][512], bool *trailing)
{
	int n = 0;
	const char *p = rest, *slash;

	*trailing = false;
	while (*p != '\0') {
		size_t len;

		if (n == 4)
			return 5;
		slash = strchr(p, '/');
		len = slash != NULL ? (size_t)(slash - p) : strlen(p);
		if (len >= 512)
			return 5;
		memcpy(seg[n], p, len);
		seg[n][len] = '\0';
		n++;
		if (slash == NULL)
			break;
		p = slash + 1;
		if (*p == '\0')
			*trailing = true;
	}
	return n;
}

static void
set_route(struct req *rq, int idx, const char *param, const char *sub)
{
	rq->route = &subtree[idx];
	rq->param = param != NULL ? xstrdup(param) : NULL;
	rq->sub = sub != NULL ? xstrdup(sub) : NULL;
}

static void
match_apps(struct req *rq, const char *rest)
{
	char seg[4][512];
	bool trailing;
	int n = split(rest, seg, &trailing);

	if (n == 0) {	/* "/api/v1/apps/": missing slug, still the app route */
		set_route(rq, R_APP, "", NULL);
		return;
	}
	if (n == 1 && seg[0][0] != '\0')
		set_route(rq, R_APP, seg[0], NULL);
	else if (n == 2 && strcmp(seg[1], "versions") == 0)
		set_route(rq, R_VERSIONS, seg[0], NULL);
	else if (n == 2 && strcmp(seg[1], "runs") == 0)
		set_route(rq, R_APP_RUNS, seg[0], NULL);
	else if (n == 2 && strcmp(seg[1], "stats") == 0)
		set_route(rq, R_APP_STATS, seg[0], NULL);
	else if (n == 2 && strcmp(seg[1], "schedules") == 0)
		set_route(rq, R_APP_SCHEDULES, seg[0], NULL);
	else
		set_route(rq, R_APP, seg[0], "?");	/* 404 after authentication */
}

static void
match_runs(struct req *rq, const char *rest)
{
	static const struct { const char *name; int idx; } actions[] = {
		{ "cancel", R_CANCEL }, { "logs", R_LOGS }, { "attempts", R_ATTEMPTS },
		{ "start", R_START }, { "heartbeat", R_HEARTBEAT }, { "result", R_RESULT },
		{ "artifact", R_ARTIFACT }, { "release", R_RELEASE },
		{ "secrets", R_RUN_SECRETS },
	};
	char seg[4][512];
	bool trailing;
	int n = split(rest, seg, &trailing);
	size_t i;

	if (n == 0 || seg[0][0] == '\0')
		return;
	if (n == 1) {
		set_route(rq, R_RUN, seg[0], NULL);
		return;
	}
	if (n == 3 && strcmp(seg[1], "logs") == 0 && strcmp(seg[2], "stream") == 0) {
		set_route(rq, R_STREAM, seg[0], NULL);
		return;
	}
	if (n != 2)
		return;
	for (i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
		if (strcmp(seg[1], actions[i].name) == 0)
			set_route(rq, actions[i].idx, seg[0], NULL);
}

static void
match_schedules(struct req *rq, const char *rest)
{
	static const struct { const char *name; int idx; } actions[] = {
		{ "pause", R_SCHED_PAUSE }, { "resume", R_SCHED_RESUME },
		{ "trigger", R_SCHED_TRIGGER }, { "fires", R_SCHED_FIRES },
	};
	char seg[4][512];
	bool trailing;
	int n = split(rest, seg, &trailing);
	size_t i;

	if (n == 0 || seg[0][0] == '\0')
		return;
	if (n == 1) {
		set_route(rq, R_SCHEDULE, seg[0], NULL);
		return;
	}
	if (n != 2)
		return;
	for (i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
		if (strcmp(seg[1], actions[i].name) == 0)
			set_route(rq, actions[i].idx, seg[0], NULL);
}

static void
match_tokens(struct req *rq, const char *rest)
{
	char seg[4][512];
	bool trailing;
	int n = split(rest, seg, &trailing);

	if (n == 1 && seg[0][0] != '\0')
		set_route(rq, R_TOKEN, seg[0], NULL);
	else
		set_route(rq, R_TOKEN, "", "?");	/* 404 after authentication */
}

static void
match_secrets(struct req *rq, const char *rest)
{
	char seg[4][512];
	bool trailing;
	int n = split(rest, seg, &trailing);

	if (n == 1 && seg[0][0] != '\0')
		set_route(rq, R_SECRET, seg[0], NULL);
	else
		set_route(rq, R_SECRET, "", "?");	/* 404 after authentication */
}

void
routes_match(struct req *rq)
{
	const char *p = rq->path;
	size_t i;

	rq->route = NULL;
	for (i = 0; i < sizeof(exact) / sizeof(exact[0]); i++) {
		if (strcmp(p, exact[i].template) != 0)
			continue;
		if (i == 6 && cfg->bootstrap_token[0] == '\0')
			break;	/* the bootstrap route exists only when configured */
		rq->route = &exact[i];
		return;
	}
	if (strncmp(p, "/api/v1/apps/", 13) == 0)
		match_apps(rq, p + 13);
	else if (strncmp(p, "/api/v1/runs/", 13) == 0)
		match_runs(rq, p + 13);
	else if (strncmp(p, "/api/v1/tokens/", 15) == 0)
		match_tokens(rq, p + 15);
	else if (strncmp(p, "/api/v1/schedules/", 18) == 0)
		match_schedules(rq, p + 18);
	else if (strncmp(p, "/api/v1/secrets/", 16) == 0)
		match_secrets(rq, p + 16);
	else if (strncmp(p, "/api/", 5) != 0 && strcmp(p, "/api") != 0 &&
	    (cfg->ui_dir != NULL || strcmp(p, "/") == 0))
		rq->route = &subtree[R_UI];
}

const char *
routes_label(const struct req *rq)
{
	return rq->route != NULL ? rq->route->template : "other";
}

int64_t
routes_body_limit(const struct req *rq)
{
	if (rq->route == &subtree[R_VERSIONS] && strcmp(rq->method, "POST") == 0)
		return cfg->max_artifact;
	return cfg->max_body;
}

bool
routes_is_upload(const struct req *rq)
{
	return rq->route == &subtree[R_VERSIONS] && strcmp(rq->method, "POST") == 0 &&
	    rq->sub == NULL;
}

/* The bearer token of the request, trimmed; NULL when absent or empty. */
static char *
bearer(const struct req *rq)
{
	const char *h = http_header(rq, "Authorization");
	char *v, *tok;

	if (h == NULL)
		return NULL;
	v = str_trim(xstrdup(h));
	if (ascii_ncasecmp(v, "Bearer ", 7) != 0) {
		free(v);
		return NULL;
	}
	tok = str_trim(xstrdup(v + 7));
	free(v);
	if (*tok == '\0') {
		free(tok);
		return NULL;
	}
	return tok;
}

static int
check_secret(const struct req *rq, const char *secret, struct resp *rs)
{
	char *tok = bearer(rq);
	bool ok = tok != NULL && crypto_secret_equal(tok, strlen(tok), secret, strlen(secret));

	free(tok);
	if (!ok) {
		resp_error(rs, ERR_UNAUTHORIZED, "invalid or missing token");
		return -1;
	}
	return 0;
}

/* Authenticates rq with scheme a; answers 401 on failure. */
static int
authenticate(struct req *rq, enum auth a, struct resp *rs)
{
	char hash[65], *tok;
	struct err err;
	int rc;

	switch (a) {
	case A_NONE:
		return 0;
	case A_BOOTSTRAP:
		if (check_secret(rq, cfg->bootstrap_token, rs) == -1) {
			api_bootstrap_refused(rq);
			return -1;
		}
		return 0;
	case A_METRICS:
		return cfg->metrics_token[0] == '\0' ? 0 : check_secret(rq, cfg->metrics_token, rs);
	default:
		break;
	}
	if ((tok = bearer(rq)) == NULL) {
		resp_error(rs, ERR_UNAUTHORIZED, "invalid or missing token");
		return -1;
	}
	crypto_sha256_hex(tok, strlen(tok), hash);
	free(tok);
	if (a == A_TEAM || a == A_ADMIN)
		rc = store_team_auth(hash, &rq->team, &err);
	else
		rc = store_runner_auth(hash, &rq->runner, &err);
	if (rc == -1) {
		if (err.code != ERR_UNAUTHORIZED && err.code != ERR_UNAVAILABLE)
			err_set(&err, ERR_INTERNAL, "internal error");
		resp_err(rs, &err);
	}
	return rc;
}

static const struct route_method *
find_method(const struct route *r, const char *method)
{
	int i;

	for (i = 0; i < 3 && r->m[i].method != NULL; i++)
		if (strcmp(r->m[i].method, "*") == 0 || strcmp(r->m[i].method, method) == 0)
			return &r->m[i];
	return NULL;
}

static void
method_not_allowed(const struct route *r, struct resp *rs)
{
	resp_error(rs, ERR_METHOD, "method not allowed");
	resp_header(rs, "Allow", r->allow);
}

bool
routes_long_work(const struct req *rq)
{
	const struct route_method *m;

	if (rq->route == NULL || rq->route == &subtree[R_UI])
		return false;
	m = find_method(rq->route, rq->method);
	return m != NULL && m->long_work;
}

enum route_class
routes_class(const struct req *rq)
{
	const struct route_method *m;

	if (rq->route == NULL || rq->route == &subtree[R_UI])
		return RC_READ;
	if ((m = find_method(rq->route, rq->method)) == NULL)
		return RC_READ;		/* answered 405 (or 401) without a write */
	if (m->long_work)
		return RC_LONG;
	if (m->auth == A_RUNNER || m->auth == A_LEASE || m->fn == api_runner_register)
		return RC_RUNNER;
	if (strcmp(rq->method, "GET") == 0 || strcmp(rq->method, "HEAD") == 0)
		return RC_READ;
	return RC_WRITE;
}

int
routes_upload_precheck(struct req *rq, struct resp *rs)
{
	if (authenticate(rq, A_TEAM, rs) == -1)
		return -1;
	return api_version_precheck(rq, rs);
}

static void dispatch(struct req *rq, struct resp *rs);

void
routes_dispatch(struct req *rq, struct resp *rs)
{
	bool bounded = rq->queued_mono_us != 0 && !routes_long_work(rq);

	store_set_deadline(bounded ? rq->queued_mono_us + cfg->db_write_timeout_ms * 1000 : 0);
	dispatch(rq, rs);
	store_set_deadline(0);
}

static void
dispatch(struct req *rq, struct resp *rs)
{
	const struct route *r = rq->route;
	const struct route_method *m;

	if (r == NULL) {
		resp_error(rs, ERR_NOT_FOUND, "route not found");
		return;
	}
	if (r == &subtree[R_UI]) {
		api_ui(rq, rs);
		return;
	}
	m = find_method(r, rq->method);
	if (r->order == AUTH_FIRST) {
		/* the upload pre-check already authenticated, on the first call */
		if (!(routes_is_upload(rq) && rq->team.team_id != 0) &&
		    rq->runs == 1 && authenticate(rq, r->first_auth, rs) == -1)
			return;
		if (rq->sub != NULL) {
			resp_error(rs, ERR_NOT_FOUND, "route not found");
			return;
		}
		if (r == &subtree[R_APP] && rq->param[0] == '\0') {
			resp_error(rs, ERR_INVALID, "missing app slug");
			return;
		}
		if (m == NULL) {
			method_not_allowed(r, rs);
			return;
		}
		if (m->auth == A_ADMIN && !rq->team.admin) {
			resp_error(rs, ERR_FORBIDDEN, "admin role required");
			return;
		}
	} else {
		if (m == NULL) {
			method_not_allowed(r, rs);
			return;
		}
		if (rq->runs == 1 && authenticate(rq, m->auth == A_LEASE ? A_RUNNER : m->auth, rs) == -1)
			return;
	}
	m->fn(rq, rs);
}
