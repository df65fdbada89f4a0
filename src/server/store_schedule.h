/*
 * store_schedule: the schedules of issue 14 and their fire history
 * (docs/schedules.md). A schedule row says when it fires next
 * (next_fire_at, wall-clock Unix ms); a fire is one transaction that
 * advances next_fire_at by compare-and-set, writes the fire row (unique on
 * schedule and fire time) and creates the run or records why not.
 */
#ifndef MT_STORE_SCHEDULE_H
#define MT_STORE_SCHEDULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "store.h"

#define SCHED_TZ_MAX 128
#define SCHED_POLICY_MAX 16

/* A schedule as the API shows it (ScheduleObject); Unix ms, 0 when NULL. */
struct schedule {
	int64_t	 id;
	int64_t	 team_id;
	int64_t	 app_id;
	char	 team_slug[STORE_SLUG_MAX];
	char	 app_slug[STORE_SLUG_MAX];
	char	 name[STORE_SLUG_MAX];
	char	*cron;
	char	 timezone[SCHED_TZ_MAX];
	char	*input_json;		/* NULL when none */
	int64_t	 version_no;		/* 0: the app's latest at fire time */
	int64_t	 priority;
	int64_t	 max_retries;
	char	 overlap_policy[SCHED_POLICY_MAX];
	int64_t	 catchup_window_s;
	bool	 enabled;
	char	*paused_reason;		/* NULL when none */
	int64_t	 pause_after_failures;
	int64_t	 next_fire_at;
	int64_t	 last_fire_at;
	int64_t	 consecutive_failures;
	bool	 towerfile;		/* managed by the Towerfile (name "towerfile") */
	int64_t	 created_at;
	int64_t	 updated_at;
};

/* One row of the fire history. */
struct fire {
	int64_t	 id;
	int64_t	 schedule_id;
	int64_t	 fire_time;
	char	 outcome[STORE_STATUS_MAX];
	int64_t	 run_id;		/* 0 when no run */
	char	*reason;		/* NULL when none */
	bool	 manual;		/* a trigger, not the cron */
	int64_t	 created_at;
};

/* What to do for one schedule's due fire times (scheduler.c plans it). */
enum fire_plan_kind {
	PLAN_CREATE,		/* a run of version_id with input_json, subject to overlap */
	PLAN_FAILED,		/* record reason as failed */
	PLAN_PAUSED,		/* record skipped_paused */
	PLAN_MISSED		/* fire_time is missed too */
};

struct fire_plan {
	int64_t		 schedule_id;
	int64_t		 old_next;	/* compare-and-set: next_fire_at read */
	int64_t		 old_updated_at;	/* and updated_at read */
	int64_t		 new_next;	/* next_fire_at afterwards */
	const int64_t	*missed;	/* older due times, recorded skipped_missed */
	size_t		 nmissed;
	int64_t		 fire_time;	/* the fire the plan is about */
	enum fire_plan_kind kind;
	const char	*reason;	/* PLAN_FAILED */
	int64_t		 version_id;	/* PLAN_CREATE */
	int64_t		 latest_no;	/* > 0: the latest version_no the plan saw */
	const char	*input_json;	/* final input, NULL → none */
	bool		 manual;	/* a trigger: no compare-and-set, no advance */
	const char	*idem_key;	/* trigger's Idempotency-Key, NULL when none */
	const char	*fingerprint;
};

#define FIRE_CANCEL_MAX 16

struct fire_result {
	bool		 applied;	/* false: the schedule changed first (nothing done) */
	bool		 stale;		/* not applied: a newer version appeared, plan again */
	bool		 replayed;	/* trigger's key was known: fire is that one */
	struct fire	 fire;		/* the fire row written for fire_time */
	struct run	 run;		/* outcome created: the run */
	struct run	 cancelled[FIRE_CANCEL_MAX];	/* cancel_previous */
	char		 cancelled_old[FIRE_CANCEL_MAX][STORE_STATUS_MAX];
	int64_t		 cancelled_attempt[FIRE_CANCEL_MAX];
	size_t		 ncancelled;
};

void store_schedule_clear(struct schedule *s);
void store_schedules_free(struct schedule *s, size_t n);
void store_fire_clear(struct fire *f);
void store_fires_free(struct fire *f, size_t n);
void store_fire_result_clear(struct fire_result *r);

/* Inserts in (id, created_at and updated_at are set) and reads it back
 * into *out (caller clears). ERR_CONFLICT "schedule name already exists"
 * when the app has a schedule of that name. */
int store_schedule_create(const struct schedule *in, struct schedule *out, struct err *err);
/* A live schedule of the team (team_id 0: any); ERR_NOT_FOUND "schedule not
 * found". */
int store_schedule_get(int64_t team_id, int64_t id, struct schedule *out, struct err *err);
/* The live schedule name of app_id: 1 found (*out), 0 none, -1 error. */
int store_schedule_by_name(int64_t app_id, const char *name, struct schedule *out,
    struct err *err);
/* Live schedules of an app by name (free with store_schedules_free). */
int store_schedule_list(int64_t app_id, struct schedule **out, size_t *n, struct err *err);
/* Replaces the settings of schedule s->id with those of s if its
 * updated_at is still old_updated_at (compare-and-set; ERR_CONFLICT
 * "schedule was changed concurrently" otherwise), reads it back into *out. */
int store_schedule_update(const struct schedule *s, int64_t old_updated_at,
    struct schedule *out, struct err *err);
/* Soft-deletes a live schedule of the team (runs and fires stay). */
int store_schedule_delete(int64_t team_id, int64_t id, struct err *err);
/* Pause (enabled false, reason) or resume (enabled true, next_fire_at
 * next, consecutive_failures reset) by compare-and-set on updated_at;
 * *out afterwards. *changed is false when it already was so. */
int store_schedule_set_enabled(int64_t team_id, int64_t id, bool enabled, const char *reason,
    int64_t next, struct schedule *out, bool *changed, struct err *err);
/* Earliest next_fire_at of a live schedule: 1 (*next), 0 none, -1 error. */
int store_schedule_earliest(int64_t *next, struct err *err);
/* Up to max live schedules due at now (next_fire_at <= now), soonest first. */
int store_schedule_due(int64_t now, int64_t *ids, size_t max, size_t *n, struct err *err);
/* Applies a plan in one transaction (see struct fire_plan): r->applied is
 * false when the compare-and-set found the schedule changed; otherwise the
 * missed rows, the fire row and (created) the run are committed together.
 * ERR_UNAVAILABLE when the database is busy (nothing done: retry). */
int store_schedule_fire(const struct fire_plan *p, struct fire_result *r, struct err *err);
/* Fire history of a schedule, newest first. */
int store_schedule_fires(int64_t schedule_id, int64_t limit, int64_t offset, struct fire **out,
    size_t *n, struct err *err);
/* After run_id reached a terminal status: recounts its schedule's
 * consecutive failed/dead runs (a completed one resets) and disables the
 * schedule with a reason once pause_after_failures is reached. *paused
 * tells that it did (out then holds the schedule); a run without schedule
 * does nothing. */
int store_schedule_run_finished(int64_t run_id, bool *paused, struct schedule *out,
    struct err *err);
/* minitower_schedules_enabled: live enabled schedules. */
int store_schedule_count_enabled(int64_t *count, struct err *err);

/* The lease pick's extra condition (store_lease.c): a run of a queue_one or
 * cancel_previous schedule waits while another run of its schedule is still
 * active (docs/schedules.md). At most one such run waits per schedule, so
 * the pick never walks many of them. */
#define STORE_SCHEDULE_LEASABLE " AND (r.schedule_id IS NULL OR NOT EXISTS (" \
	"SELECT 1 FROM schedules sc WHERE sc.id=r.schedule_id AND sc.overlap_policy " \
	"IN ('queue_one','cancel_previous') AND EXISTS (SELECT 1 FROM runs o " \
	"INDEXED BY runs_schedule_idx WHERE o.schedule_id=r.schedule_id AND " \
	"o.status IN ('leased','running','cancelling') AND o.id<>r.id)))"

#endif
