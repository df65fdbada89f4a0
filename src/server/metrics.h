/*
 * metrics: MiniTower's Prometheus families (observability.md §1) on top of
 * src/lib/prom. Handlers call the metrics_* event functions after the change
 * they report has committed, once per real transition; every update is
 * lock-free once its label set has been seen. The gauges are computed by the
 * caller from the database at scrape time and passed to metrics_render().
 */
#ifndef MT_METRICS_H
#define MT_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* Content-Type of a /metrics response. */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Creates the families. Call once at start-up, before any other metrics_*
 * function and before threads start. */
void metrics_init(void);
/* Releases the families (for a clean exit under ASan); metrics_init() may be
 * called again afterwards. No other thread may call metrics_* any more. */
void metrics_free(void);

/* The `path` label for a route template: the template itself when it is one
 * of the values observability.md §1.2 lists (including "/ui"), else "other".
 * Returns a static string. Use it for the access log's `path` too. */
const char *metrics_path_label(const char *route);

/* One HTTP request finished (its response was sent). method is the request
 * method (anything but GET HEAD POST PUT PATCH DELETE OPTIONS is recorded as
 * "other"); route the matched route template, "/ui" for web UI responses or
 * "other" (passed through metrics_path_label); status the status sent;
 * seconds from the start of handling to the end of the response; req_bytes
 * the request's Content-Length (observed only when > 0) and resp_bytes the
 * response body bytes written (observed only when > 0). Counts
 * minitower_http_requests_total and the three HTTP histograms. */
void metrics_http(const char *method, const char *route, int status,
    double seconds, int64_t req_bytes, int64_t resp_bytes);

/* A run was created (201, not an idempotent replay):
 * minitower_runs_created_total{team,app} +1. team and app are slugs. */
void metrics_run_created(const char *team, const char *app);

/* A run reached a terminal status (completed, failed, cancelled, dead):
 * minitower_runs_completed_total{team,app,status} +1, and each duration that
 * is >= 0 is observed once (pass -1 to skip one; NaN is skipped too):
 *   queue_wait_s -> minitower_run_queue_wait_seconds{team,app}
 *   exec_s       -> minitower_run_execution_seconds{team,app,status}
 *   total_s      -> minitower_run_total_seconds{team,app,status}
 * Per observability.md §1.4: a result for a started attempt passes all three
 * (metrics_span_s helps); a cancel of a queued run passes only total_s; the
 * reaper's dead/cancelled and a release's cancelled pass none. */
void metrics_run_completed(const char *team, const char *app,
    const char *status, double queue_wait_s, double exec_s, double total_s);

/* A result carrying usage figures was recorded (not a repeat): each value
 * >= 0 is observed once; -1 means absent.
 *   peak_memory_bytes           -> minitower_run_peak_memory_bytes{team,app}
 *   cpu_user_ms + cpu_system_ms -> minitower_run_cpu_seconds{team,app}
 *                                  (when either is present; the other counts 0) */
void metrics_run_usage(const char *team, const char *app, int64_t peak_memory_bytes,
    int64_t cpu_user_ms, int64_t cpu_system_ms);

/* The reaper re-queued a run whose lease expired:
 * minitower_runs_retried_total{team,app} +1. (A release re-queue counts
 * nothing.) */
void metrics_run_retried(const char *team, const char *app);

/* A lease was granted (a new attempt, not a re-issue), to a runner of this
 * environment: minitower_runs_leased_total{environment} +1. */
void metrics_run_leased(const char *environment);

/* A database operation failed for a reason of its environment (db.c):
 * minitower_db_unavailable_total{reason} +1, reason one of lock_timeout,
 * queue_full, busy, full, ioerr. Safe before metrics_init (not counted). */
void metrics_db_unavailable(const char *reason);

/* A new runner registered (201, not a re-registration):
 * minitower_runners_registered_total{environment} +1. */
void metrics_runner_registered(const char *environment);

/* The slow-client watchdog closed a connection (http_deadline.c):
 * minitower_http_slow_clients_closed_total{reason} +1, reason being
 * "header_deadline" or "body_rate". */
void metrics_slow_client_closed(const char *reason);

/* n secret values were delivered to a run of team/app (slugs):
 * minitower_secrets_delivered_total{team,app} +n. */
void metrics_secrets_delivered(const char *team, const char *app, int64_t n);
/* Seconds from from_ms to to_ms (Unix milliseconds), or -1 when either is
 * negative (pass -1 for a NULL timestamp) or the span would be negative, so
 * that the result can go straight into metrics_run_completed(). */
double metrics_span_s(int64_t from_ms, int64_t to_ms);

/* A schedule fire time was handled (docs/schedules.md):
 * minitower_schedule_fires_total{team,app,outcome} +1, and lag_s (due time
 * to the run's commit; < 0 to skip) is observed in
 * minitower_schedule_fire_lag_seconds. */
void metrics_schedule_fire(const char *team, const char *app, const char *outcome,
    double lag_s);
/* n older fire times were recorded skipped_missed at once. */
void metrics_schedule_missed(const char *team, const char *app, int64_t n);

/* Gauge rows, counted from the database at scrape time. Strings are
 * borrowed for the duration of metrics_render(). Rows with count 0 are
 * skipped; rows with equal labels are added up. */
struct metrics_pending_row {	/* queued runs */
	const char	*team;		/* team slug */
	const char	*app;		/* app slug */
	const char	*environment;	/* the run's environment name */
	int64_t		 count;
};
struct metrics_online_row {	/* runners with status 'online' */
	const char	*environment;
	int64_t		 count;
};
struct metrics_slots_row {	/* slots of online runners */
	const char	*environment;
	int64_t		 used;		/* their active attempts */
	int64_t		 total;		/* the slots they declared */
};

struct metrics_gauges {
	const struct metrics_pending_row *pending;
	size_t		 npending;
	const struct metrics_online_row *online;
	size_t		 nonline;
	const struct metrics_slots_row *slots;
	size_t		 nslots;
	int64_t		 schedules_enabled;	/* minitower_schedules_enabled */
};

/* Appends the whole exposition to out: every family with at least one
 * series, the gauges from g (NULL means none). Returns 0, or -1 when out
 * overflowed its maximum (then answer 500; a few MiB is plenty: each series
 * takes well under 2 KiB). Safe to call concurrently with updates. */
int metrics_render(struct buf *out, const struct metrics_gauges *g);

#endif
