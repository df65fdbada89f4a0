/*
 * cron_tz: the time zone side of cron (internal to cron_next.c, cron_tz.c):
 * a zone opened through ICU's calendar API, the conversions between an
 * instant and its local wall-clock time, and the civil-date arithmetic both
 * share. "Local seconds" count wall-clock time as if it were UTC: the local
 * time 2026-03-08 02:30 is the Unix time of 2026-03-08T02:30:00Z.
 */
#ifndef MT_CRON_TZ_H
#define MT_CRON_TZ_H

#include <stdint.h>

#include "err.h"

/* One open zone, for use by the thread that opened it only (a UCalendar
 * is not thread-safe): it usually lives in that thread's cache. */
struct cron_zone {
	void	*cal;		/* UCalendar *, or NULL for UTC */
	int	 owned;		/* cal is not in the cache: close frees it */
};

/* A broken-down civil time (proleptic Gregorian). */
struct cron_civil {
	int	y, mo, d;	/* month 1-12, day 1-31 */
	int	h, mi, s;
};

/* Opens tz (NULL, "" or "UTC": no ICU at all). Returns 0, or -1 with
 * ERR_INVALID for a zone the tz database does not know. */
int cron_zone_open(struct cron_zone *z, const char *tz, struct err *err);
/* Releases the zone (a cached calendar stays in the thread's cache); a
 * closed or never opened zone ({NULL}) is a no-op. */
void cron_zone_close(struct cron_zone *z);
/* The local seconds of instant t. Returns 0, or -1 with ERR_INTERNAL. */
int cron_zone_local(const struct cron_zone *z, int64_t t, int64_t *local, struct err *err);
/* The instant of local time `local`: inside a gap the first instant after
 * the gap, for a repeated time its first occurrence. Returns 0 or -1. */
int cron_zone_resolve(const struct cron_zone *z, int64_t local, int64_t *t, struct err *err);
/* For an instant t inside the second pass of a repeated (fall-back) hour:
 * the local seconds at which the repetition ends, i.e. the first local time
 * whose first occurrence is after t. Returns 0 or -1. */
int cron_zone_repeat_end(const struct cron_zone *z, int64_t t, int64_t *local, struct err *err);

/* Days since 1970-01-01 of a civil date / the reverse (any int64 range that
 * fits a year in int). */
int64_t cron_days_from_civil(int y, int mo, int d);
void cron_civil_from_days(int64_t days, int *y, int *mo, int *d);
/* Local seconds <-> broken-down civil time. */
void cron_civil_split(int64_t secs, struct cron_civil *c);
int64_t cron_civil_join(const struct cron_civil *c);

#endif
