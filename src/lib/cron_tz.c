/*
 * cron_tz: time zones for cron through ICU's C calendar API (docs/cron.md
 * says why ICU). A UCalendar is not thread-safe, so each thread keeps its
 * own few, one per zone, in a small cache of its own (thread-specific data,
 * closed when the thread ends): nothing here touches TZ, localtime() or
 * any state shared between threads, and a call on a cached zone allocates
 * nothing. The DST rules of cron.h are ICU attributes: a skipped wall time
 * resolves to the next valid one, a repeated one to its first occurrence.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unicode/ucal.h>
#include <unicode/ustring.h>

#include "cron.h"
#include "cron_tz.h"
#include "util.h"

#define TZ_NAME_MAX	64
#define CACHE_SLOTS	8	/* zones kept open per thread */

/* One thread's open calendars, least recently used evicted first. */
struct zone_cache {
	struct {
		char		 name[TZ_NAME_MAX + 1];
		UCalendar	*cal;
		uint64_t	 used;
	} slot[CACHE_SLOTS];
	uint64_t	tick;
};

static pthread_key_t cache_key;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;
static int cache_ok;

static int
is_utc_name(const char *tz)
{
	return tz == NULL || tz[0] == '\0' || strcmp(tz, "UTC") == 0;
}

/* Copies the ASCII zone name into u (TZ_NAME_MAX + 1 units); returns its
 * length, or -1 when it is too long or not printable ASCII. */
static int
to_uchars(const char *tz, UChar *u)
{
	int i;

	for (i = 0; tz[i] != '\0'; i++) {
		if (i >= TZ_NAME_MAX || (unsigned char)tz[i] < 0x21 || (unsigned char)tz[i] > 0x7e)
			return -1;
		u[i] = (UChar)tz[i];
	}
	u[i] = 0;
	return i;
}

/* ICU opens any unknown name as "Etc/Unknown" (GMT) without an error, so a
 * name counts only when ICU knows it as a system zone. */
static int
known_zone(const UChar *u, int len)
{
	static const char unknown[] = "Etc/Unknown";
	UChar canon[TZ_NAME_MAX * 2];
	UErrorCode st = U_ZERO_ERROR;
	UBool is_system = 0;
	int32_t n, i;

	n = ucal_getCanonicalTimeZoneID(u, len, canon, TZ_NAME_MAX * 2, &is_system, &st);
	if (U_FAILURE(st) || !is_system || n <= 0)
		return 0;
	if (n != (int32_t)strlen(unknown))
		return 1;
	for (i = 0; i < n; i++)
		if (canon[i] != (UChar)unknown[i])
			return 1;
	return 0;
}

bool
cron_tz_valid(const char *tz)
{
	UChar u[TZ_NAME_MAX + 1];
	int len;

	if (tz == NULL || tz[0] == '\0')
		return false;
	if (strcmp(tz, "UTC") == 0)
		return true;
	len = to_uchars(tz, u);
	return len > 0 && known_zone(u, len);
}

static void
cache_free(void *p)
{
	struct zone_cache *c = p;
	int i;

	for (i = 0; i < CACHE_SLOTS; i++)
		if (c->slot[i].cal != NULL)
			ucal_close(c->slot[i].cal);
	free(c);
}

static void
cache_init(void)
{
	cache_ok = pthread_key_create(&cache_key, cache_free) == 0;
}

/* This thread's cache, or NULL when thread-specific data is unavailable
 * (then every call opens and closes its own calendar). */
static struct zone_cache *
cache_get(void)
{
	struct zone_cache *c;

	pthread_once(&cache_once, cache_init);
	if (!cache_ok)
		return NULL;
	c = pthread_getspecific(cache_key);
	if (c == NULL) {
		c = xcalloc(1, sizeof(*c));
		if (pthread_setspecific(cache_key, c) != 0) {
			free(c);
			return NULL;
		}
	}
	return c;
}

/* Opens a calendar on the known zone u with the DST rules of cron.h. */
static UCalendar *
open_calendar(const UChar *u, int len, const char *tz, struct err *err)
{
	UErrorCode st = U_ZERO_ERROR;
	UCalendar *cal;

	cal = ucal_open(u, len, "en_US_POSIX", UCAL_GREGORIAN, &st);
	if (U_FAILURE(st)) {
		err_set(err, ERR_INTERNAL, "timezone: ICU cannot open '%s': %s", tz, u_errorName(st));
		return NULL;
	}
	ucal_setGregorianChange(cal, -1e300, &st);	/* proleptic: no Julian dates */
	ucal_setAttribute(cal, UCAL_REPEATED_WALL_TIME, UCAL_WALLTIME_FIRST);
	ucal_setAttribute(cal, UCAL_SKIPPED_WALL_TIME, UCAL_WALLTIME_NEXT_VALID);
	ucal_setAttribute(cal, UCAL_LENIENT, 1);
	return cal;
}

/* Puts cal into the cache in place of the least recently used zone. */
static void
cache_put(struct zone_cache *c, const char *tz, UCalendar *cal)
{
	int i, lru = 0;

	for (i = 1; i < CACHE_SLOTS; i++)
		if (c->slot[i].used < c->slot[lru].used)
			lru = i;
	if (c->slot[lru].cal != NULL)
		ucal_close(c->slot[lru].cal);
	snprintf(c->slot[lru].name, sizeof(c->slot[lru].name), "%s", tz);
	c->slot[lru].cal = cal;
	c->slot[lru].used = ++c->tick;
}

static UCalendar *
cache_find(struct zone_cache *c, const char *tz)
{
	int i;

	for (i = 0; c != NULL && i < CACHE_SLOTS; i++)
		if (c->slot[i].cal != NULL && strcmp(c->slot[i].name, tz) == 0) {
			c->slot[i].used = ++c->tick;
			return c->slot[i].cal;
		}
	return NULL;
}

int
cron_zone_open(struct cron_zone *z, const char *tz, struct err *err)
{
	struct zone_cache *c;
	UChar u[TZ_NAME_MAX + 1];
	int len;

	z->cal = NULL;
	z->owned = 0;
	if (is_utc_name(tz))
		return 0;
	c = cache_get();
	if ((z->cal = cache_find(c, tz)) != NULL)
		return 0;
	len = to_uchars(tz, u);
	if (len <= 0 || !known_zone(u, len))
		return err_set(err, ERR_INVALID, "timezone: unknown time zone '%.*s'", TZ_NAME_MAX, tz);
	if ((z->cal = open_calendar(u, len, tz, err)) == NULL)
		return -1;
	if (c != NULL)
		cache_put(c, tz, z->cal);
	else
		z->owned = 1;
	return 0;
}

void
cron_zone_close(struct cron_zone *z)
{
	if (z->cal != NULL && z->owned)
		ucal_close(z->cal);
	z->cal = NULL;
	z->owned = 0;
}

/* The total UTC offset (ms) in force at instant ms. */
static int
offset_at(UCalendar *cal, double ms, int64_t *off_ms, struct err *err)
{
	UErrorCode st = U_ZERO_ERROR;
	int32_t zone, dst;

	ucal_setMillis(cal, ms, &st);
	zone = ucal_get(cal, UCAL_ZONE_OFFSET, &st);
	dst = ucal_get(cal, UCAL_DST_OFFSET, &st);
	if (U_FAILURE(st))
		return err_set(err, ERR_INTERNAL, "timezone: ICU offset: %s", u_errorName(st));
	*off_ms = (int64_t)zone + dst;
	return 0;
}

/* Floor division of a millisecond offset into seconds. */
static int64_t
ms_to_s(int64_t ms)
{
	return ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
}

int
cron_zone_local(const struct cron_zone *z, int64_t t, int64_t *local, struct err *err)
{
	int64_t off;

	if (z->cal == NULL) {
		*local = t;
		return 0;
	}
	if (offset_at(z->cal, (double)t * 1000.0, &off, err) != 0)
		return -1;
	*local = t + ms_to_s(off);
	return 0;
}

int
cron_zone_resolve(const struct cron_zone *z, int64_t local, int64_t *t, struct err *err)
{
	UErrorCode st = U_ZERO_ERROR;
	struct cron_civil c;
	UDate ms;

	if (z->cal == NULL) {
		*t = local;
		return 0;
	}
	cron_civil_split(local, &c);
	ucal_clear(z->cal);
	ucal_set(z->cal, UCAL_EXTENDED_YEAR, c.y);
	ucal_set(z->cal, UCAL_MONTH, c.mo - 1);
	ucal_set(z->cal, UCAL_DATE, c.d);
	ucal_set(z->cal, UCAL_HOUR_OF_DAY, c.h);
	ucal_set(z->cal, UCAL_MINUTE, c.mi);
	ucal_set(z->cal, UCAL_SECOND, c.s);
	ms = ucal_getMillis(z->cal, &st);
	if (U_FAILURE(st))
		return err_set(err, ERR_INTERNAL, "timezone: ICU resolve: %s", u_errorName(st));
	*t = (int64_t)(ms / 1000.0);
	if ((double)*t * 1000.0 > ms)
		(*t)--;	/* floor, for a zone whose offset has a fraction of a second */
	return 0;
}

int
cron_zone_repeat_end(const struct cron_zone *z, int64_t t, int64_t *local, struct err *err)
{
	UErrorCode st = U_ZERO_ERROR;
	int64_t before;
	UDate tr;

	if (z->cal == NULL)
		return cron_zone_local(z, t, local, err);
	ucal_setMillis(z->cal, (double)t * 1000.0, &st);
	if (U_FAILURE(st) || !ucal_getTimeZoneTransitionDate(z->cal, UCAL_TZ_TRANSITION_PREVIOUS_INCLUSIVE,
	    &tr, &st) || U_FAILURE(st))
		return err_set(err, ERR_INTERNAL, "timezone: ICU has no transition before %" PRId64, t);
	/* the repetition ends where the offset before the transition would
	 * have reached the transition's instant */
	if (offset_at(z->cal, tr - 1.0, &before, err) != 0)
		return -1;
	*local = ms_to_s((int64_t)tr) + ms_to_s(before);
	return 0;
}

const char *
cron_tz_version(void)
{
	UErrorCode st = U_ZERO_ERROR;
	const char *v = ucal_getTZDataVersion(&st);

	return U_FAILURE(st) || v == NULL ? "unknown" : v;
}
