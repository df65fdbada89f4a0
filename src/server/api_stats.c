/*
 * api_stats: GET /api/v1/runs/stats and GET /api/v1/apps/{app}/stats
 * (docs/api-endpoints.md "Run statistics"): decode the range, read the
 * hourly roll-ups, answer the report of stats.c.
 */
#include <string.h>

#include "api.h"
#include "api_runs.h"
#include "stats.h"
#include "store.h"
#include "util.h"

#define MAX_HOURS	744	/* 31 days of hourly buckets */
#define MAX_DAYS	366

/* Reads bucket (hour|day, default day), since (RFC 3339, default 24 hours
 * or 7 days before until, rounded down to a bucket) and until (default now)
 * into r. Answers 400 and returns -1 on a bad value. */
static int
stats_range(struct req *rq, struct resp *rs, struct stats_range *r)
{
	const char *bucket = http_query(rq, "bucket", NULL);
	const char *since = http_query(rq, "since", NULL), *until = http_query(rq, "until", NULL);
	int64_t max;

	if (bucket != NULL && strcmp(bucket, "hour") != 0 && strcmp(bucket, "day") != 0)
		return resp_error(rs, ERR_INVALID, "bucket must be hour or day"), -1;
	r->bucket_ms = bucket != NULL && strcmp(bucket, "hour") == 0 ? STATS_HOUR_MS : STATS_DAY_MS;
	max = r->bucket_ms == STATS_HOUR_MS ? MAX_HOURS : MAX_DAYS;
	r->until_ms = now_ms();
	if (until != NULL && parse_rfc3339_ms(until, &r->until_ms) != 0)
		return resp_error(rs, ERR_INVALID, "until must be an RFC 3339 time"), -1;
	r->since_ms = r->until_ms - (r->bucket_ms == STATS_HOUR_MS ? 23 : 6) * r->bucket_ms;
	if (since != NULL && parse_rfc3339_ms(since, &r->since_ms) != 0)
		return resp_error(rs, ERR_INVALID, "since must be an RFC 3339 time"), -1;
	if (r->since_ms < 0 || r->since_ms > r->until_ms)
		return resp_error(rs, ERR_INVALID, "since must not be after until"), -1;
	r->since_ms -= r->since_ms % r->bucket_ms;
	if ((r->until_ms - r->since_ms) / r->bucket_ms >= max) {
		resp_error(rs, ERR_INVALID, r->bucket_ms == STATS_HOUR_MS ?
		    "too many buckets: at most 744 hours" : "too many buckets: at most 366 days");
		return -1;
	}
	return 0;
}

static void
answer_stats(struct resp *rs, int64_t team_id, int64_t app_id, const struct stats_range *r)
{
	struct stats_row *rows;
	struct err err;
	size_t n;

	/* until is inclusive: the hour holding it is read */
	if (store_run_stats(team_id, app_id, r->since_ms, r->until_ms + 1, &rows, &n, &err) == -1) {
		runs_fail(rs, &err, "run stats");
		return;
	}
	runs_answer(rs, 200, stats_report(rows, n, r));
	store_stats_free(rows, n);
}

/* The id of app slug in the team, -1 (matches nothing) when there is none. */
static int
app_id_of(struct req *rq, struct resp *rs, const char *slug, int64_t *id)
{
	struct app a;
	struct err err;

	if (store_app_get(rq->team.team_id, slug, &a, &err) == -1) {
		if (err.code != ERR_NOT_FOUND) {
			runs_fail(rs, &err, "get app");
			return -1;
		}
		*id = -1;
		return 0;
	}
	*id = a.id;
	store_app_clear(&a);
	return 0;
}

void
api_run_stats(struct req *rq, struct resp *rs)
{
	const char *app = http_query(rq, "app", NULL);
	struct stats_range r;
	int64_t app_id = 0;

	if (stats_range(rq, rs, &r) == -1)
		return;
	if (app != NULL && app_id_of(rq, rs, app, &app_id) == -1)
		return;
	answer_stats(rs, rq->team.team_id, app_id, &r);
}

void
api_app_stats(struct req *rq, struct resp *rs)
{
	struct stats_range r;
	struct app a;
	struct err err;
	int64_t app_id;

	if (store_app_get(rq->team.team_id, rq->param, &a, &err) == -1) {
		runs_fail(rs, &err, "get app");
		return;
	}
	app_id = a.id;
	store_app_clear(&a);
	if (stats_range(rq, rs, &r) == -1)
		return;
	answer_stats(rs, rq->team.team_id, app_id, &r);
}
