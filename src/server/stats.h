/*
 * stats: the run statistics report of GET /api/v1/runs/stats and
 * /api/v1/apps/{app}/stats (docs/api-endpoints.md "Run statistics"), built
 * from the hourly roll-ups: per bucket the runs by final status, the success
 * rate, and p50/p95 of duration and queue wait from the histograms.
 */
#ifndef MT_STATS_H
#define MT_STATS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define STATS_HOUR_MS	3600000LL
#define STATS_DAY_MS	86400000LL

/* The buckets asked for: from since_ms (a multiple of bucket_ms) to the one
 * holding until_ms, inclusive. */
struct stats_range {
	int64_t	since_ms, until_ms, bucket_ms;
};

/* Builds the report object {"bucket","since","until","totals","buckets"}
 * from rows (ordered by hour, as store_run_stats returns them). Every bucket
 * of the range is listed, empty ones too. Returns a new reference. */
json_t *stats_report(const struct stats_row *rows, size_t n, const struct stats_range *r);

#endif
