/*
 * metrics: the families of observability.md §1.2 and §1.3 with their exact
 * names, HELP texts, labels and buckets, and the event functions handlers
 * call. Everything generic (series maps, atomics, rendering) is in prom.c;
 * this file only maps MiniTower events to label values and keeps the `path`
 * label bounded to the spec's list.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "metrics.h"
#include "prom.h"

static struct prom_family *http_requests, *http_duration, *http_req_size,
    *http_resp_size, *runs_created, *runs_completed, *runs_retried,
    *runs_leased, *runners_registered, *queue_wait, *execution, *total,
    *peak_memory, *cpu_seconds, *db_unavailable, *slow_clients, *schedule_fires,
    *schedule_lag, *secrets_delivered;

/* Every value the `path` label may take (observability.md §1.2). */
static const char *const path_labels[] = {
	"/health", "/ready", "/metrics",
	"/api/v1/auth/options", "/api/v1/teams/signup", "/api/v1/teams/login",
	"/api/v1/bootstrap/team",
	"/api/v1/me", "/api/v1/tokens", "/api/v1/tokens/{id}",
	"/api/v1/apps", "/api/v1/apps/{app}", "/api/v1/apps/{app}/versions",
	"/api/v1/apps/{app}/runs",
	"/api/v1/runs", "/api/v1/runs/summary", "/api/v1/runs/lease",
	"/api/v1/runs/{run}", "/api/v1/runs/{run}/cancel",
	"/api/v1/runs/{run}/logs", "/api/v1/runs/{run}/logs/stream",
	"/api/v1/runs/{run}/attempts",
	"/api/v1/runs/{run}/start", "/api/v1/runs/{run}/heartbeat",
	"/api/v1/runs/{run}/result", "/api/v1/runs/{run}/artifact",
	"/api/v1/runs/{run}/release", "/api/v1/runs/{run}/secrets",
	"/api/v1/secrets", "/api/v1/secrets/{name}",
	"/api/v1/runners/register", "/api/v1/admin/runners",
	"/api/v1/apps/{app}/schedules", "/api/v1/schedules/preview",
	"/api/v1/schedules/{id}", "/api/v1/schedules/{id}/pause",
	"/api/v1/schedules/{id}/resume", "/api/v1/schedules/{id}/trigger",
	"/api/v1/schedules/{id}/fires",
	"/ui",
	"other",
};

static const char *const methods[] = {
	"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS",
};

static const double http_seconds[] = {
	.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10,
};
static const double http_bytes[] = {
	100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9,
};
static const double run_seconds[] = {	/* 0.1 * 2^k, k = 0..14 */
	0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 51.2, 102.4, 204.8,
	409.6, 819.2, 1638.4,
};
static const double memory_bytes[] = {	/* 1 MiB * 4^k, k = 0..7 (1 MiB .. 16 GiB) */
	1048576, 4194304, 16777216, 67108864, 268435456, 1073741824,
	4294967296, 17179869184,
};
static const double cpu_s[] = {
	0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 1800, 3600,
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const char *const l_method_path[] = { "method", "path" };
static const char *const l_method_path_status[] = { "method", "path",
	"status" };
static const char *const l_app_team[] = { "app", "team" };
static const char *const l_app_status_team[] = { "app", "status", "team" };
static const char *const l_app_outcome_team[] = { "app", "outcome", "team" };
static const double lag_seconds[] = {
	.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60,
};
static const char *const l_app_env_team[] = { "app", "environment", "team" };
static const char *const l_env[] = { "environment" };
static const char *const l_reason[] = { "reason" };

static struct prom_family *
counter(const char *name, const char *help, const char *const *labels,
    size_t n)
{
	return prom_family_new(name, help, PROM_COUNTER, labels, n, NULL, 0);
}

static struct prom_family *
histogram(const char *name, const char *help, const char *const *labels,
    size_t n, const double *bounds, size_t nbounds)
{
	return prom_family_new(name, help, PROM_HISTOGRAM, labels, n, bounds,
	    nbounds);
}

void
metrics_init(void)
{
	http_requests = counter("minitower_http_requests_total",
	    "Total number of HTTP requests by method, path pattern, and "
	    "status code.", l_method_path_status, 3);
	http_duration = histogram("minitower_http_request_duration_seconds",
	    "HTTP request duration in seconds by method and path pattern.",
	    l_method_path, 2, http_seconds, NELEM(http_seconds));
	http_req_size = histogram("minitower_http_request_size_bytes",
	    "HTTP request body size in bytes.", l_method_path, 2, http_bytes,
	    NELEM(http_bytes));
	http_resp_size = histogram("minitower_http_response_size_bytes",
	    "HTTP response body size in bytes.", l_method_path, 2, http_bytes,
	    NELEM(http_bytes));
	runs_created = counter("minitower_runs_created_total",
	    "Total runs created, by team and app.", l_app_team, 2);
	runs_completed = counter("minitower_runs_completed_total",
	    "Total runs completed, by team, app, and terminal status.",
	    l_app_status_team, 3);
	runs_retried = counter("minitower_runs_retried_total",
	    "Total runs re-queued by the reaper, by team and app.",
	    l_app_team, 2);
	runs_leased = counter("minitower_runs_leased_total",
	    "Total runs leased by runners, by environment.", l_env, 1);
	db_unavailable = counter("minitower_db_unavailable_total",
	    "Database operations refused or failed by a fault of the database's "
	    "environment, by reason.", l_reason, 1);
	runners_registered = counter("minitower_runners_registered_total",
	    "Total runners registered, by environment.", l_env, 1);
	queue_wait = histogram("minitower_run_queue_wait_seconds",
	    "Time a run spent queued (started_at - queued_at).", l_app_team, 2,
	    run_seconds, NELEM(run_seconds));
	execution = histogram("minitower_run_execution_seconds",
	    "Run execution duration (finished_at - started_at).",
	    l_app_status_team, 3, run_seconds, NELEM(run_seconds));
	total = histogram("minitower_run_total_seconds",
	    "Total run duration (finished_at - queued_at).",
	    l_app_status_team, 3, run_seconds, NELEM(run_seconds));
	peak_memory = histogram("minitower_run_peak_memory_bytes",
	    "Peak memory of a run attempt, as its runner reported it.",
	    l_app_team, 2, memory_bytes, NELEM(memory_bytes));
	cpu_seconds = histogram("minitower_run_cpu_seconds",
	    "CPU time (user + system) of a run attempt, as its runner "
	    "reported it.", l_app_team, 2, cpu_s, NELEM(cpu_s));
	slow_clients = counter("minitower_http_slow_clients_closed_total",
	    "Connections closed because the client sent its request too "
	    "slowly, by reason.", l_reason, 1);
	schedule_fires = counter("minitower_schedule_fires_total",
	    "Schedule fire times handled, by team, app, and outcome.",
	    l_app_outcome_team, 3);
	schedule_lag = histogram("minitower_schedule_fire_lag_seconds",
	    "Time from a schedule's fire time to the commit of its run, by team and app.",
	    l_app_team, 2, lag_seconds, NELEM(lag_seconds));
	secrets_delivered = counter("minitower_secrets_delivered_total",
	    "Secret values delivered to runs (GET /runs/{run}/secrets), by "
	    "team and app.", l_app_team, 2);
}

void
metrics_free(void)
{
	struct prom_family **all[] = { &http_requests, &http_duration,
	    &http_req_size, &http_resp_size, &runs_created, &runs_completed,
	    &runs_retried, &runs_leased, &runners_registered, &db_unavailable, &queue_wait,
	    &execution, &total, &peak_memory, &cpu_seconds, &slow_clients, &schedule_fires,
	    &schedule_lag, &secrets_delivered };
	size_t i;

	for (i = 0; i < NELEM(all); i++) {
		prom_family_free(*all[i]);
		*all[i] = NULL;
	}
}

const char *
metrics_path_label(const char *route)
{
	size_t i;

	for (i = 0; route != NULL && i < NELEM(path_labels); i++)
		if (strcmp(route, path_labels[i]) == 0)
			return path_labels[i];
	return "other";
}

static const char *
method_label(const char *method)
{
	size_t i;

	for (i = 0; method != NULL && i < NELEM(methods); i++)
		if (strcmp(method, methods[i]) == 0)
			return methods[i];
	return "other";
}

void
metrics_http(const char *method, const char *route, int status,
    double seconds, int64_t req_bytes, int64_t resp_bytes)
{
	const char *v[3];
	char code[16];

	snprintf(code, sizeof(code), "%d", status);
	v[0] = method_label(method);
	v[1] = metrics_path_label(route);
	v[2] = code;
	prom_inc(http_requests, v);
	prom_observe(http_duration, v, seconds >= 0 ? seconds : 0);
	if (req_bytes > 0)
		prom_observe(http_req_size, v, (double)req_bytes);
	if (resp_bytes > 0)
		prom_observe(http_resp_size, v, (double)resp_bytes);
}

void
metrics_run_created(const char *team, const char *app)
{
	const char *v[] = { app, team };

	prom_inc(runs_created, v);
}

void
metrics_run_completed(const char *team, const char *app, const char *status,
    double queue_wait_s, double exec_s, double total_s)
{
	const char *v[] = { app, status, team };
	const char *at[] = { app, team };

	prom_inc(runs_completed, v);
	if (queue_wait_s >= 0)	/* false for NaN too */
		prom_observe(queue_wait, at, queue_wait_s);
	if (exec_s >= 0)
		prom_observe(execution, v, exec_s);
	if (total_s >= 0)
		prom_observe(total, v, total_s);
}

void
metrics_run_usage(const char *team, const char *app, int64_t peak_memory_bytes,
    int64_t cpu_user_ms, int64_t cpu_system_ms)
{
	const char *v[] = { app, team };
	double ms;

	if (peak_memory_bytes >= 0)
		prom_observe(peak_memory, v, (double)peak_memory_bytes);
	if (cpu_user_ms < 0 && cpu_system_ms < 0)
		return;
	ms = (cpu_user_ms > 0 ? (double)cpu_user_ms : 0) +
	    (cpu_system_ms > 0 ? (double)cpu_system_ms : 0);
	prom_observe(cpu_seconds, v, ms / 1000.0);
}

void
metrics_run_retried(const char *team, const char *app)
{
	const char *v[] = { app, team };

	prom_inc(runs_retried, v);
}

void
metrics_run_leased(const char *environment)
{
	const char *v[] = { environment };

	prom_inc(runs_leased, v);
}

void
metrics_db_unavailable(const char *reason)
{
	const char *v[] = { reason };

	if (db_unavailable != NULL)	/* before metrics_init: start-up migrations */
		prom_inc(db_unavailable, v);
}

void
metrics_runner_registered(const char *environment)
{
	const char *v[] = { environment };

	prom_inc(runners_registered, v);
}

void
metrics_secrets_delivered(const char *team, const char *app, int64_t n)
{
	const char *v[] = { app, team };

	if (n > 0)
		prom_counter_add(prom_series_get(secrets_delivered, v), (uint64_t)n);
}

void
metrics_slow_client_closed(const char *reason)
{
	const char *v[] = { reason };

	prom_inc(slow_clients, v);
}

double
metrics_span_s(int64_t from_ms, int64_t to_ms)
{
	if (from_ms < 0 || to_ms < 0 || to_ms < from_ms)
		return -1;
	return (double)(to_ms - from_ms) / 1000.0;
}

/* minitower_runner_slots{environment,state}: used and free slots of the
 * online runners (free never below 0, also when a runner lowered its slots
 * while more of its attempts were active). */
static void
render_slots(struct buf *out, const struct metrics_gauges *g)
{
	static const char *const l_env_state[] = { "environment", "state" };
	struct prom_family *f = prom_family_new("minitower_runner_slots",
	    "Slots of online runners by environment and state (used, free).", PROM_GAUGE,
	    l_env_state, 2, NULL, 0);
	size_t i;

	for (i = 0; g != NULL && i < g->nslots; i++) {
		const struct metrics_slots_row *r = &g->slots[i];
		const char *used[] = { r->environment, "used" }, *free_[] = { r->environment, "free" };
		int64_t nfree = r->total > r->used ? r->total - r->used : 0;

		prom_gauge_add(prom_series_get(f, used), (double)r->used);
		prom_gauge_add(prom_series_get(f, free_), (double)nfree);
	}
	prom_family_render(f, out);
	prom_family_free(f);
}

/* The scrape-time gauges, built as throwaway families for sorting/escaping. */
static void
render_gauges(struct buf *out, const struct metrics_gauges *g)
{
	struct prom_family *pending, *online, *enabled;
	size_t i;

	pending = prom_family_new("minitower_runs_pending",
	    "Number of queued runs by team, app, and environment.", PROM_GAUGE,
	    l_app_env_team, 3, NULL, 0);
	online = prom_family_new("minitower_runners_online",
	    "Number of online runners by environment.", PROM_GAUGE, l_env, 1,
	    NULL, 0);
	for (i = 0; g != NULL && i < g->npending; i++) {
		const struct metrics_pending_row *r = &g->pending[i];
		const char *v[] = { r->app, r->environment, r->team };
		if (r->count != 0)
			prom_gauge_add(prom_series_get(pending, v), r->count);
	}
	for (i = 0; g != NULL && i < g->nonline; i++) {
		const char *v[] = { g->online[i].environment };
		if (g->online[i].count != 0)
			prom_gauge_add(prom_series_get(online, v),
			    g->online[i].count);
	}
	prom_family_render(pending, out);
	prom_family_render(online, out);
	prom_family_free(pending);
	prom_family_free(online);
	render_slots(out, g);
	if (g == NULL || g->schedules_enabled <= 0)
		return;	/* like the rows above: left out at 0 */
	enabled = prom_family_new("minitower_schedules_enabled",
	    "Number of enabled schedules.", PROM_GAUGE, NULL, 0, NULL, 0);
	prom_gauge_set(prom_series_get(enabled, NULL), g->schedules_enabled);
	prom_family_render(enabled, out);
	prom_family_free(enabled);
}

int
metrics_render(struct buf *out, const struct metrics_gauges *g)
{
	struct prom_family *all[] = { http_requests, http_duration,
	    http_req_size, http_resp_size, runs_created, runs_completed,
	    runs_retried, runs_leased, runners_registered, queue_wait,
	    execution, total, peak_memory, cpu_seconds, db_unavailable, slow_clients,
	    schedule_fires, schedule_lag, secrets_delivered };
	size_t i;

	for (i = 0; i < NELEM(all); i++)
		prom_family_render(all[i], out);
	render_gauges(out, g);
	return buf_ok(out) ? 0 : -1;
}

void
metrics_schedule_fire(const char *team, const char *app, const char *outcome, double lag_s)
{
	const char *v[] = { app, outcome, team };
	const char *v_app_team[] = { app, team };

	prom_inc(schedule_fires, v);
	if (lag_s >= 0)
		prom_observe(schedule_lag, v_app_team, lag_s);
}

void
metrics_schedule_missed(const char *team, const char *app, int64_t n)
{
	const char *v[] = { app, "skipped_missed", team };

	if (n > 0)
		prom_counter_add(prom_series_get(schedule_fires, v), (uint64_t)n);
}
