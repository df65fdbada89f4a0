/*
 * cron: schedule expressions and their next fire time in an IANA time zone
 * (docs/cron.md; schedules: docs/schedules.md). Five fields (minute hour
 * day-of-month month day-of-week), or six with a leading seconds field;
 * lists, ranges, steps, month and weekday names, 7 = Sunday; the macros
 * @yearly @annually @monthly @weekly @daily @midnight @hourly; and Tower's
 * shorthand "every N minutes|hours|days" (a fixed interval of elapsed time,
 * aligned to the Unix epoch). Day-of-month and day-of-week are OR-ed when
 * neither field starts with '*' (Vixie cron). Time zones come from the tz database through
 * ICU's calendar API, one calendar per thread: no TZ, no localtime().
 *
 * DST: a local time inside a spring-forward gap fires once, at the first
 * instant after the gap; a local time that occurs twice (fall-back) fires
 * once, at its first occurrence.
 */
#ifndef MT_CRON_H
#define MT_CRON_H

#include <stdbool.h>
#include <stddef.h>
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
	uint8_t		wday;		/* bit n: weekday n (0 = Sunday .. 6; 7 folded to 0) */
	bool		mday_star;	/* day-of-month field starts with '*' (Vixie OR rule) */
	bool		wday_star;	/* day-of-week field starts with '*' */
	bool		six;		/* six fields: a seconds field was given */
	int64_t		every_s;	/* > 0: "every N units": fires at every multiple
					 * of every_s seconds since the epoch; the
					 * bit sets are then unused */
};

/* Parses expr into c. Returns 0, or -1 with ERR_INVALID and a message that
 * names the field and the reason (e.g. "cron: day-of-month: 32 is out of
 * range 1-31", "cron: day-of-month: 'L' is not supported", "cron: the
 * expression can never fire: ..."); docs/cron.md lists every message. The
 * expression is at most 256 bytes. */
int cron_parse(const char *expr, struct cron *c, struct err *err);

/* Sets *next_s to the first fire time strictly after after_s (Unix seconds,
 * UTC) of c evaluated in time zone tz (an IANA name; NULL or "" = UTC).
 * Returns 0, or -1 with ERR_INVALID for an unknown zone ("timezone: unknown
 * time zone '...'"), when no fire time exists within the next 5 years, or
 * for after_s outside the years 1900-2999. Thread-safe; a zone's first use
 * on a thread opens an ICU calendar that the thread keeps. */
int cron_next(const struct cron *c, const char *tz, int64_t after_s, int64_t *next_s,
    struct err *err);

/* Returns true if tz names a zone of ICU's tz database (canonical or alias
 * such as "US/Eastern"; "UTC" always; NULL, "", "Etc/Unknown" and custom
 * "GMT+05:00" ids never). Thread-safe. */
bool cron_tz_valid(const char *tz);

/* The canonical text of c, for display and comparison: "*" for a field
 * that selects every value, "*\/n" for a whole-field step, runs of three or
 * more as ranges, names never; a day field keeps its leading '*' (or lack
 * of one) so the OR rule is the same; "every N minutes|hours|days" in the
 * largest whole unit; six fields only when a seconds field was given.
 * cron_parse of the result gives c again. Writes at most outsz bytes
 * (CRON_FORMAT_MAX always suffices), always NUL-terminated. */
#define CRON_FORMAT_MAX 512
void cron_format(const struct cron *c, char *out, size_t outsz);

/* The version of the tz database ICU answers from (e.g. "2022e"), for the
 * logs and docs/cron.md. Thread-safe. */
const char *cron_tz_version(void);

#endif
