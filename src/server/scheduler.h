/*
 * scheduler: the thread of minitowerd that fires schedules (issue 14,
 * docs/schedules.md). It sleeps until the earliest next_fire_at on a
 * CLOCK_MONOTONIC condition variable, is woken by every schedule change,
 * and fires each due schedule in one store transaction
 * (store_schedule_fire).
 */
#ifndef MT_SCHEDULER_H
#define MT_SCHEDULER_H

#include <stdint.h>

#include "err.h"
#include "store_schedule.h"

struct config;

/* Starts the thread (cfg borrowed for the life of the process). Fire times
 * that passed before this call are catch-up times (catchup_window_s). 0, or
 * -1 with err. */
int scheduler_start(const struct config *cfg, struct err *err);
/* Stops and joins the thread (no-op when not started). */
void scheduler_stop(void);
/* Wakes the thread to re-read the schedules (after any change, or when the
 * wall clock stepped). Safe from any thread. */
void scheduler_wake(void);

/* Sets *next_ms to the first fire time of cron in tz strictly after
 * after_ms (Unix ms, whole seconds). ERR_INVALID with cron_parse's or
 * cron_next's message. */
int scheduler_next(const char *cron, const char *tz, int64_t after_ms, int64_t *next_ms,
    struct err *err);

/* One fire of s now, outside the cron (POST /schedules/{id}/trigger): the
 * version and input are resolved as for a cron fire, the overlap policy
 * applies, idem_key (NULL: none) with fingerprint is honoured as for run
 * creation. Fills *r (clear with store_fire_result_clear). 0, or -1 with
 * err (ERR_IDEMPOTENCY, ERR_UNAVAILABLE, ...). */
int scheduler_trigger(const struct schedule *s, const char *idem_key, const char *fingerprint,
    struct fire_result *r, struct err *err);

/* The hook where a run reached failed, dead or completed: counts its
 * schedule's consecutive failures and pauses the schedule at its
 * pause_after_failures (logged "schedule paused"). Errors are logged. */
void scheduler_run_finished(int64_t run_id);

#endif
