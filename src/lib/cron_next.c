/*
 * cron_next: the next fire time of a parsed expression (docs/cron.md). The
 * search runs on local wall-clock time and skips by fields (the next month,
 * day, hour, minute, second in the bit sets), so a far fire costs a few
 * hundred steps, not a loop over seconds; only the candidate it finds is
 * turned into an instant through the zone (cron_tz.c). No allocation but
 * ICU's calendar, no shared state: safe to call from any thread.
 */
#include <inttypes.h>
#include <stddef.h>

#include "cron.h"
#include "cron_tz.h"

#define YEARS_MAX	5
#define SEARCH_MAX_S	((int64_t)YEARS_MAX * 366 * 86400)
#define T_MIN		INT64_C(-2208988800)	/* 1900-01-01T00:00:00Z */
#define T_MAX		INT64_C(32503680000)	/* 3000-01-01T00:00:00Z */
#define RETRIES_MAX	4096	/* candidates inside a repeated hour */

int64_t
cron_days_from_civil(int y, int mo, int d)
{
	int64_t yy = (int64_t)y - (mo <= 2);
	int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
	int64_t yoe = yy - era * 400;
	int64_t doy = (153 * (mo > 2 ? mo - 3 : mo + 9) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468;
}

void
cron_civil_from_days(int64_t days, int *y, int *mo, int *d)
{
	int64_t z = days + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;

	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*mo = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*mo <= 2));
}

void
cron_civil_split(int64_t secs, struct cron_civil *c)
{
	int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
	int64_t rem = secs - days * 86400;

	cron_civil_from_days(days, &c->y, &c->mo, &c->d);
	c->h = (int)(rem / 3600);
	c->mi = (int)(rem / 60 % 60);
	c->s = (int)(rem % 60);
}

int64_t
cron_civil_join(const struct cron_civil *c)
{
	return cron_days_from_civil(c->y, c->mo, c->d) * 86400 + c->h * 3600 + c->mi * 60 + c->s;
}

static int
days_in_month(int y, int mo)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return mo == 2 && leap ? 29 : days[mo - 1];
}

/* The smallest bit >= from set in mask, or -1. */
static int
next_bit(uint64_t mask, int from)
{
	if (from >= 64)
		return -1;
	mask &= ~(uint64_t)0 << from;
	return mask != 0 ? __builtin_ctzll(mask) : -1;
}

/* Vixie cron: when both day fields are restricted, either may match. */
static int
day_ok(const struct cron *c, int y, int mo, int d)
{
	int64_t days = cron_days_from_civil(y, mo, d);
	int wd = (int)(((days % 7) + 11) % 7);	/* 1970-01-01 was a Thursday */
	int dom = (c->mday >> d) & 1, dow = (c->wday >> wd) & 1;

	if (!c->mday_star && !c->wday_star)
		return dom || dow;
	return dom && dow;
}

static void
next_day(struct cron_civil *t)
{
	t->d++;
	t->h = t->mi = t->s = 0;
}

static void
next_month(struct cron_civil *t)
{
	if (++t->mo > 12) {
		t->mo = 1;
		t->y++;
	}
	t->d = 1;
	t->h = t->mi = t->s = 0;
}

/* Moves *t to the time of day that matches, on its day. Returns 0, or -1
 * when no time of day at or after *t matches (then *t is unspecified). */
static int
search_time(const struct cron *c, struct cron_civil *t)
{
	int v;

	for (;;) {
		if ((v = next_bit(c->hour, t->h)) < 0)
			return -1;
		if (v != t->h) {
			t->h = v;
			t->mi = t->s = 0;
		}
		if ((v = next_bit(c->min, t->mi)) < 0) {
			t->h++;
			t->mi = t->s = 0;
			continue;
		}
		if (v != t->mi) {
			t->mi = v;
			t->s = 0;
		}
		if ((v = next_bit(c->sec, t->s)) < 0) {
			t->mi++;
			t->s = 0;
			continue;
		}
		t->s = v;
		return 0;
	}
}

/* Moves *t to the first matching local time at or after it, in a year
 * before y_end. Returns 0, or -1 when there is none. */
static int
search(const struct cron *c, struct cron_civil *t, int y_end)
{
	int m;

	while (t->y < y_end) {
		if ((m = next_bit(c->mon, t->mo)) < 0) {
			t->mo = 12;
			next_month(t);	/* January of the next year */
			continue;
		}
		if (m != t->mo) {
			t->mo = m - 1;
			next_month(t);
		}
		if (t->d > days_in_month(t->y, t->mo)) {
			next_month(t);
			continue;
		}
		if (!day_ok(c, t->y, t->mo, t->d) || search_time(c, t) != 0) {
			next_day(t);
			continue;
		}
		return 0;
	}
	return -1;
}

/* "every N units": the next multiple of the interval since the epoch. */
static int64_t
next_every(int64_t every_s, int64_t after_s)
{
	int64_t q = after_s / every_s;

	if (after_s % every_s < 0)
		q--;
	return (q + 1) * every_s;
}

static int
none_within(struct err *err)
{
	return err_set(err, ERR_INVALID, "cron: the expression does not fire within %d years",
	    YEARS_MAX);
}

/* The first local time to look at: one second after the local time of
 * after_s, or, inside the second pass of a repeated hour (whose local times
 * already fired on the first pass), the end of the repetition. */
static int
search_start(const struct cron_zone *z, int64_t after_s, int64_t *local, int64_t *start,
    struct err *err)
{
	int64_t first, end;

	if (cron_zone_local(z, after_s, local, err) != 0 ||
	    cron_zone_resolve(z, *local, &first, err) != 0)
		return -1;
	*start = *local + 1;
	if (first >= after_s)
		return 0;
	if (cron_zone_repeat_end(z, after_s, &end, err) != 0)
		return -1;
	if (end > *start)
		*start = end;
	return 0;
}

static int
next_fields(const struct cron *c, const struct cron_zone *z, int64_t after_s, int64_t *next_s,
    struct err *err)
{
	struct cron_civil t;
	int64_t local, start, x, inst;
	int i, y_end;

	if (search_start(z, after_s, &local, &start, err) != 0)
		return -1;
	cron_civil_split(local, &t);
	y_end = t.y + YEARS_MAX + 1;
	for (i = 0; i < RETRIES_MAX; i++) {
		cron_civil_split(start, &t);
		if (search(c, &t, y_end) != 0)
			return none_within(err);
		x = cron_civil_join(&t);
		if (x - local > SEARCH_MAX_S)
			return none_within(err);
		if (cron_zone_resolve(z, x, &inst, err) != 0)
			return -1;
		if (inst > after_s) {
			*next_s = inst;
			return 0;
		}
		start = x + 1;	/* a repeated local time, already fired */
	}
	return none_within(err);
}

int
cron_next(const struct cron *c, const char *tz, int64_t after_s, int64_t *next_s, struct err *err)
{
	struct cron_zone z = { NULL, 0 };
	int rc;

	if (after_s < T_MIN || after_s >= T_MAX)
		return err_set(err, ERR_INVALID, "cron: time %" PRId64 " is out of range", after_s);
	if (cron_zone_open(&z, tz, err) != 0)
		return -1;
	if (c->every_s > 0) {
		*next_s = next_every(c->every_s, after_s);
		rc = 0;
	} else {
		rc = next_fields(c, &z, after_s, next_s, err);
	}
	cron_zone_close(&z);
	return rc;
}
