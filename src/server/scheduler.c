/*
 * scheduler: the schedule thread (docs/schedules.md). It sleeps on a
 * CLOCK_MONOTONIC condition variable until the earliest next_fire_at (a
 * wall-clock time, re-read at least every MAX_SLEEP_MS so that a step
 * forward is noticed; the reaper also wakes it when it sees a step), plans
 * each due schedule's fire outside the writer (cron times, catch-up window,
 * version and input) and applies the plan in one store transaction. A busy
 * database is retried, never skipped; fire times only move forward, so a
 * step back waits and never fires a time twice.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api_runs.h"
#include "config.h"
#include "cron.h"
#include "json.h"
#include "log.h"
#include "metrics.h"
#include "notify.h"
#include "scheduler.h"
#include "store.h"
#include "store_schedule.h"
#include "util.h"

#define MAX_SLEEP_MS 30000	/* a sleep re-reads the wall clock at least this often */
#define RETRY_MS 250		/* after a busy database */
#define ERROR_MS 1000		/* after another error */
#define DUE_BATCH 32
#define MISSED_MAX 1000		/* skipped_missed rows recorded for one catch-up */
#define FAR_FUTURE_MS 253402300799000LL	/* 9999-12-31: a cron that never fires again */

static const struct config *cfg;
static pthread_t thread;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv;
static bool started, stopping, woken;
static int64_t start_ms;	/* wall clock at start: earlier fire times are catch-ups */

void
scheduler_wake(void)
{
	pthread_mutex_lock(&mu);
	woken = true;
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu);
}

int
scheduler_next(const char *expr, const char *tz, int64_t after_ms, int64_t *next_ms,
    struct err *err)
{
	struct cron c;
	int64_t s;

	if (cron_parse(expr, &c, err) == -1)
		return -1;
	if (cron_next(&c, tz, after_ms / 1000 - (after_ms % 1000 < 0), &s, err) == -1)
		return -1;
	*next_ms = s * 1000;
	return 0;
}

/* ---- planning ---- */

struct times {
	int64_t	 missed[MISSED_MAX];
	size_t	 nmissed;
	int64_t	 fire;		/* the most recent due time */
	int64_t	 next;		/* the first time after now */
	bool	 jumped;	/* more than MISSED_MAX were missed: some left out */
};

/* The latest fire time <= now that comes after cur, found from a few
 * starting points back from now (more than MISSED_MAX times were due). */
static int
jump_near(const struct cron *c, const char *tz, int64_t cur, int64_t now, int64_t *out,
    struct err *err)
{
	static const int64_t back_s[] = { 60, 3600, 86400, 2678400, 31622400 };
	int64_t t, n;
	size_t i;

	for (i = 0; i < sizeof(back_s) / sizeof(back_s[0]); i++) {
		if (cron_next(c, tz, now / 1000 - back_s[i], &t, err) == -1)
			return -1;
		if (t * 1000 > now || t * 1000 <= cur)
			continue;
		for (;;) {
			if (cron_next(c, tz, t, &n, err) == -1)
				return -1;
			if (n * 1000 > now)
				break;
			t = n;
		}
		*out = t * 1000;
		return 0;
	}
	*out = cur;
	return 0;
}

/* Every due time from first (<= now) on: all but the latest are missed. */
static int
due_times(const struct cron *c, const char *tz, int64_t first, int64_t now, struct times *t,
    struct err *err)
{
	int64_t cur = first, n;

	memset(t, 0, sizeof(*t));
	for (;;) {
		if (cron_next(c, tz, cur / 1000, &n, err) == -1)
			return -1;
		if (n * 1000 > now)
			break;
		if (t->nmissed == MISSED_MAX) {
			t->jumped = true;
			if (jump_near(c, tz, cur, now, &cur, err) == -1 ||
			    cron_next(c, tz, cur / 1000, &n, err) == -1)
				return -1;
			break;
		}
		t->missed[t->nmissed++] = cur;
		cur = n * 1000;
	}
	t->fire = cur;
	t->next = n * 1000;
	return 0;
}

/* Resolves the version and input of a run for s into p (PLAN_CREATE), or
 * PLAN_FAILED with the reason; -1 only for errors worth a retry. */
static int
plan_run(const struct schedule *s, struct fire_plan *p, char **input_json, char *reason,
    size_t reasonsz, struct err *err)
{
	struct version v;
	json_t *in = NULL, *out = NULL;
	int rc = 0;

	*input_json = NULL;
	if (store_version_get(s->app_id, s->version_no, &v, err) == -1) {
		if (err->code != ERR_NOT_FOUND && err->code != ERR_NO_VERSION)
			return -1;
		snprintf(reason, reasonsz, "%s", err->msg);
		p->kind = PLAN_FAILED;
		p->reason = reason;
		return 0;
	}
	if (s->input_json != NULL)
		json_decode(s->input_json, strlen(s->input_json), false, &in);
	if (runs_input_check(in, v.params_schema_json, &out, err) == -1) {
		snprintf(reason, reasonsz, "%s", err->msg);
		p->kind = PLAN_FAILED;
		p->reason = reason;
	} else {
		*input_json = out != NULL ? json_dumps_sorted(out) : NULL;
		p->kind = PLAN_CREATE;
		p->version_id = v.id;
		p->latest_no = s->version_no == 0 ? v.version_no : 0;
		p->input_json = *input_json;
	}
	json_decref(in);
	json_decref(out);
	store_version_clear(&v);
	return rc;
}

/* ---- after a fire committed ---- */

static void
fired(const struct schedule *s, const struct fire_result *r)
{
	double lag_s = (double)(now_ms() - r->fire.fire_time) / 1000.0;
	size_t i;

	for (i = 0; i < r->ncancelled; i++)
		runs_cancelled(&r->cancelled[i], r->cancelled_old[i], r->cancelled_attempt[i]);
	metrics_schedule_fire(s->team_slug, s->app_slug, r->fire.outcome,
	    strcmp(r->fire.outcome, "created") == 0 ? lag_s : -1);
	if (strcmp(r->fire.outcome, "created") == 0) {
		metrics_run_created(s->team_slug, s->app_slug);
		log_info("schedule fired", "schedule_id=%d team=%s app=%s fire_time=%d run_id=%d "
		    "manual=%b lag_ms=%d", s->id, s->team_slug, s->app_slug, r->fire.fire_time,
		    r->run.id, r->fire.manual, now_ms() - r->fire.fire_time);
		notify_runnable(r->run.environment, 1);
	} else {
		log_info("schedule skipped", "schedule_id=%d team=%s app=%s fire_time=%d outcome=%s "
		    "reason=%s", s->id, s->team_slug, s->app_slug, r->fire.fire_time, r->fire.outcome,
		    r->fire.reason != NULL ? r->fire.reason : "");
	}
}

static void
log_missed(const struct schedule *s, const struct times *t)
{
	if (t->nmissed == 0)
		return;
	metrics_schedule_missed(s->team_slug, s->app_slug, (int64_t)t->nmissed);
	log_info("schedule skipped", "schedule_id=%d team=%s app=%s outcome=%s count=%d "
	    "first=%d last=%d more=%b", s->id, s->team_slug, s->app_slug, "skipped_missed",
	    (int64_t)t->nmissed, t->missed[0], t->missed[t->nmissed - 1], t->jumped);
}

/* ---- one schedule ---- */

enum fire_rc { FIRE_DONE, FIRE_RETRY, FIRE_ERROR };

/* Plans and applies one fire of s (due at now): *r filled when applied. */
static int
apply(const struct schedule *s, int64_t now, struct fire_result *r, struct err *err)
{
	struct fire_plan p;
	struct times *t = xcalloc(1, sizeof(*t));
	struct cron c;
	char reason[ERR_MSG_MAX], *input_json = NULL;
	int rc = -1;

	memset(&p, 0, sizeof(p));
	p.schedule_id = s->id;
	p.old_next = s->next_fire_at;
	p.old_updated_at = s->updated_at;
	if (cron_parse(s->cron, &c, err) == -1 ||
	    due_times(&c, s->timezone, s->next_fire_at, now, t, err) == -1) {
		/* cannot compute: record it once and park the schedule */
		snprintf(reason, sizeof(reason), "%s", err->msg);
		t->fire = s->next_fire_at;
		t->next = FAR_FUTURE_MS;
		p.kind = PLAN_FAILED;
		p.reason = reason;
	} else if (t->fire < start_ms && now - t->fire > s->catchup_window_s * 1000) {
		p.kind = PLAN_MISSED;
	} else if (!s->enabled) {
		p.kind = PLAN_PAUSED;
	} else if (plan_run(s, &p, &input_json, reason, sizeof(reason), err) == -1) {
		goto out;
	}
	p.missed = t->missed;
	p.nmissed = t->nmissed;
	p.fire_time = t->fire;
	p.new_next = t->next;
	store_set_deadline(mono_us() + cfg->db_write_timeout_ms * 1000);
	rc = store_schedule_fire(&p, r, err);
	store_set_deadline(0);
	if (rc == 0 && r->applied)
		log_missed(s, t);
out:
	free(input_json);
	free(t);
	return rc;
}

static enum fire_rc
fire_schedule(int64_t id)
{
	struct fire_result r;
	struct schedule s;
	struct err err;
	int tries;

	for (tries = 0; tries < 3; tries++) {
		int64_t now = now_ms();

		if (store_schedule_get(0, id, &s, &err) == -1)
			return err.code == ERR_NOT_FOUND ? FIRE_DONE :
			    err.code == ERR_UNAVAILABLE ? FIRE_RETRY : FIRE_ERROR;
		if (s.next_fire_at > now) {
			store_schedule_clear(&s);
			return FIRE_DONE;
		}
		if (apply(&s, now, &r, &err) == -1) {
			log_warn("schedule fire failed", "schedule_id=%d error=%s", id, err.msg);
			store_schedule_clear(&s);
			return err.code == ERR_UNAVAILABLE ? FIRE_RETRY : FIRE_ERROR;
		}
		if (r.applied)
			fired(&s, &r);
		store_schedule_clear(&s);
		if (!r.stale) {
			store_fire_result_clear(&r);
			return FIRE_DONE;
		}
	}
	return FIRE_ERROR;
}

/* Fires every due schedule; returns how long to sleep at most (ms). */
static int64_t
fire_due(void)
{
	int64_t ids[DUE_BATCH], next;
	struct err err;
	size_t n, i;
	int rc;

	do {
		if (store_schedule_due(now_ms(), ids, DUE_BATCH, &n, &err) == -1)
			return RETRY_MS;
		for (i = 0; i < n; i++) {
			enum fire_rc f = fire_schedule(ids[i]);

			if (f != FIRE_DONE)
				return f == FIRE_RETRY ? RETRY_MS : ERROR_MS;
		}
	} while (n == DUE_BATCH);
	if ((rc = store_schedule_earliest(&next, &err)) == -1)
		return RETRY_MS;
	if (rc == 0)
		return MAX_SLEEP_MS;
	next -= now_ms();
	return next < 0 ? 0 : next > MAX_SLEEP_MS ? MAX_SLEEP_MS : next;
}

static void *
scheduler_main(void *arg)
{
	(void)arg;
	for (;;) {
		int64_t wait_ms = fire_due(), until;
		struct timespec ts;

		pthread_mutex_lock(&mu);
		until = mono_ms() + wait_ms;
		ts.tv_sec = until / 1000;
		ts.tv_nsec = (until % 1000) * 1000000;
		while (!woken && !stopping && mono_ms() < until)
			pthread_cond_timedwait(&cv, &mu, &ts);
		woken = false;
		if (stopping) {
			pthread_mutex_unlock(&mu);
			break;
		}
		pthread_mutex_unlock(&mu);
	}
	store_thread_end();
	return NULL;
}

int
scheduler_start(const struct config *c, struct err *err)
{
	pthread_condattr_t ca;

	cfg = c;
	start_ms = now_ms();
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&cv, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&thread, NULL, scheduler_main, NULL) != 0)
		return err_set(err, ERR_INTERNAL, "cannot start the scheduler thread");
	started = true;
	return 0;
}

void
scheduler_stop(void)
{
	if (!started)
		return;
	pthread_mutex_lock(&mu);
	stopping = true;
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu);
	pthread_join(thread, NULL);
	started = false;
}

/* ---- trigger and the failure hook ---- */

int
scheduler_trigger(const struct schedule *s, const char *idem_key, const char *fingerprint,
    struct fire_result *r, struct err *err)
{
	struct fire_plan p;
	char reason[ERR_MSG_MAX], *input_json = NULL;
	int rc = -1, tries;

	for (tries = 0; tries < 3; tries++) {
		memset(&p, 0, sizeof(p));
		p.schedule_id = s->id;
		p.manual = true;
		p.idem_key = idem_key;
		p.fingerprint = fingerprint;
		p.fire_time = now_ms();
		if (p.fire_time % 1000 == 0)
			p.fire_time++;	/* cron fire times are whole seconds */
		if (plan_run(s, &p, &input_json, reason, sizeof(reason), err) == -1)
			return -1;
		rc = store_schedule_fire(&p, r, err);
		free(input_json);
		input_json = NULL;
		if (rc == -1 || !r->stale)
			break;
	}
	if (rc == 0 && r->applied && !r->replayed)
		fired(s, r);
	return rc;
}

void
scheduler_run_finished(int64_t run_id)
{
	struct schedule s;
	struct err err;
	bool paused;

	if (store_schedule_run_finished(run_id, &paused, &s, &err) == -1) {
		log_warn("schedule failure count failed", "run_id=%d error=%s", run_id, err.msg);
		return;
	}
	if (paused) {
		log_info("schedule paused", "schedule_id=%d team=%s app=%s reason=%s "
		    "consecutive_failures=%d", s.id, s.team_slug, s.app_slug,
		    s.paused_reason != NULL ? s.paused_reason : "", s.consecutive_failures);
		scheduler_wake();
	}
	store_schedule_clear(&s);
}
