/*
 * cron: schedule expressions and their next fire time in an IANA time zone
 * (docs/cron.md, docs/schedules.md). Five fields (minute hour day-of-month month
 * day-of-week), or six with a leading seconds field; lists, ranges, steps,
 * month and weekday names, 7 = Sunday; the macros @yearly @annually
 * @monthly @weekly @daily @midnight @hourly; and Tower's shorthand
 * "every N minutes|hours|days". Day-of-month and day-of-week are OR-ed when
 * both are restricted (Vixie cron). Time zones come from the system tz
 * database through ICU's thread-safe calendar API: no TZ, no localtime().
 *
 * DST: a local time inside a spring-forward gap fires once, at the first
 * instant after the gap; a local time that occurs twice (fall-back) fires
 * once, at its first occurrence.
 */
#ifndef MT_CRON_H
#define MT_CRON_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"

/* A parsed expression: plain data, safe to copy and to share read-only
 * between threads. */
struct cron {
	uint64_t	sec;		/* bit n set: second n fires (0-59) */
	uint64_t	min;		/* bit n: minute n (0-59) */
	uint32_t	hour;		/* bit n: hour n (0-23) */
	uint32_t	mday;		/* bit n: day of month n (1-31) */
	uint16_t	mon;		/* bit n: month n (1-12) */
	uint8_t		wday;		/* bit n: weekday n (0 = Sunday .. 6) */
	bool		mday_star;	/* day-of-month field starts with '*' (Vixie OR rule) */
	bool		wday_star;	/* day-of-week field starts with '*' */
	bool		six;		/* six fields: a seconds field was given */
	int64_t		every_s;	/* > 0: "every N units": fires at every multiple
					 * of every_s seconds since the epoch; the
					 * bit sets are then unused */
};

/* Parses expr into c. Returns 0, or -1 with ERR_INVALID and a message that
 * names the field and the reason (e.g. "cron: day-of-month: 32 is out of
 * range 1-31", "cron: 'L' is not supported", "cron: the expression can
 * never fire"). */
int cron_parse(const char *expr, struct cron *c, struct err *err);

/* Sets *next_s to the first fire time strictly after after_s (Unix seconds,
 * UTC) of c evaluated in time zone tz (an IANA name; NULL or "" = UTC).
 * Returns 0, or -1 with ERR_INVALID for an unknown zone, or when no fire
 * time exists within the next 5 years. Thread-safe. */
int cron_next(const struct cron *c, const char *tz, int64_t after_s, int64_t *next_s,
    struct err *err);

/* Returns true if tz names a zone of the system tz database (canonical or
 * alias such as "US/Eastern"; "UTC" always). Thread-safe. */
bool cron_tz_valid(const char *tz);

#endif
