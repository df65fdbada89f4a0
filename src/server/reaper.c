/*
 * reaper: the sweep of api.md §2.6, run by the clock thread every
 * MINITOWER_EXPIRY_CHECK_INTERVAL: expired leases (each attempt in its own
 * transaction, in batches of 100 until a batch comes back short), stale
 * runners, pruning, and expired idempotency keys. A failing step is logged
 * and the next one still runs. Lease expiry and the offline sweep measure
 * the TTL on the steady clock, so a wall-clock step neither holds a dead
 * lease nor ends a live one (docs/clocks.md); each tick logs a step it sees.
 */
#include <string.h>

#include "api_runs.h"
#include "config.h"
#include "log.h"
#include "metrics.h"
#include "notify.h"
#include "reaper.h"
#include "scheduler.h"
#include "store.h"
#include "util.h"

#define BATCH 100

#define STEP_LOG_MS 1000	/* a wall-clock step worth a log line */

static const struct config *cfg;
static int64_t wall_offset_ms;	/* now_ms() - steady_ms() at the last tick */

int
reaper_init(const struct config *c, struct err *err)
{
	int64_t now = steady_ms(), leases, runners;

	cfg = c;
	wall_offset_ms = now_ms() - now;
	if (store_clamp_steady_times(now, c->lease_ttl_ms, &leases, &runners, err) == -1)
		return -1;
	if (leases > 0 || runners > 0)
		log_warn("lease expiries clamped", "count=%d runners=%d ttl_ms=%d", leases, runners,
		    c->lease_ttl_ms);
	return 0;
}

/* Logs a wall-clock step since the last tick (the lease clock ignores it). */
static void
watch_wall_clock(void)
{
	int64_t off = now_ms() - steady_ms();

	if (off - wall_offset_ms >= STEP_LOG_MS || wall_offset_ms - off >= STEP_LOG_MS) {
		log_warn("wall clock stepped", "step_ms=%d offset_ms=%d", off - wall_offset_ms, off);
		scheduler_wake();	/* its sleep was measured in wall time */
	}
	wall_offset_ms = off;
}

/* Metrics, log lines and wake-ups of one reaped attempt. */
static void
reaped(enum reap_kind kind, const struct attempt *a)
{
	if (kind == REAP_RETRIED) {
		metrics_run_retried(a->team_slug, a->app_slug);
		log_info("run requeued", "run_id=%d attempt_no=%d team=%s app=%s reason=%s",
		    a->run_id, a->attempt_no, a->team_slug, a->app_slug, "lease expired");
		notify_runnable(a->environment, 1);
	} else {
		const char *status = kind == REAP_DEAD ? "dead" : "cancelled";

		metrics_run_completed(a->team_slug, a->app_slug, status, -1, -1, -1);
		runs_log_finished(a->run_id, a->attempt_no, a->team_slug, a->app_slug, status,
		    "lease expired");
		if (kind == REAP_DEAD)
			scheduler_run_finished(a->run_id);
	}
	notify_run(a->run_id);
}

/* Step 1; returns the number of attempts handled, -1 on error. */
static int64_t
expire_leases(struct err *err)
{
	int64_t ids[BATCH], count = 0;
	size_t n, i;

	do {
		if (store_expired_attempts(steady_ms(), ids, BATCH, &n, err) == -1)
			return -1;
		for (i = 0; i < n; i++) {
			enum reap_kind kind;
			struct attempt a;

			if (store_reap_attempt(ids[i], &kind, &a, err) == -1)
				return -1;
			if (kind != REAP_NONE) {
				reaped(kind, &a);
				count++;
			}
		}
	} while (n == BATCH);
	return count;
}

static bool
runner_waiting(int64_t runner_id)
{
	return notify_runner_waiting(runner_id);
}

void
reaper_tick(void)
{
	struct err err;
	int64_t n, now;

	if (cfg == NULL)
		return;
	watch_wall_clock();
	if ((n = expire_leases(&err)) == -1)
		log_error("expiry reaper error", "error=%s", err.msg);
	else if (n > 0)
		log_info("expiry reaper processed attempts", "count=%d", n);
	now = steady_ms();
	if (store_mark_stale_runners(now - 2 * cfg->lease_ttl_ms, runner_waiting, &n, &err) == -1)
		log_error("runner offline sweep error", "error=%s", err.msg);
	else if (n > 0)
		log_info("marked stale runners offline", "count=%d", n);
	if (cfg->prune_after_ms > 0) {
		if (store_prune_runners(now_ms() - cfg->prune_after_ms, &n, &err) == -1)
			log_error("runner prune sweep error", "error=%s", err.msg);
		else if (n > 0)
			log_info("pruned offline runners", "count=%d", n);
	}
	if (store_idem_cleanup(now_ms(), &err) == -1)
		log_error("idempotency key cleanup error", "error=%s", err.msg);
}
