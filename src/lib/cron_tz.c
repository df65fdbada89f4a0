/*
 * cron_tz: time zones for cron through ICU's C calendar API (docs/cron.md
 * says why ICU). Every function works on a UCalendar that one call owns, so
 * nothing here touches TZ, localtime() or any process-wide state; ICU's own
 * zone cache is thread-safe. The DST rules of cron.h are ICU attributes:
 * a skipped wall time resolves to the next valid one, a repeated one to its
 * first occurrence.
 */
#include <inttypes.h>
#include <string.h>

#include <unicode/ucal.h>
#include <unicode/ustring.h>

#include "cron.h"
#include "cron_tz.h"

#define TZ_NAME_MAX	64

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

int
cron_zone_open(struct cron_zone *z, const char *tz, struct err *err)
{
	UChar u[TZ_NAME_MAX + 1];
	UErrorCode st = U_ZERO_ERROR;
	UCalendar *cal;
	int len;

	z->cal = NULL;
	if (is_utc_name(tz))
		return 0;
	len = to_uchars(tz, u);
	if (len <= 0 || !known_zone(u, len))
		return err_set(err, ERR_INVALID, "timezone: unknown time zone '%.*s'", TZ_NAME_MAX, tz);
	cal = ucal_open(u, len, "en_US_POSIX", UCAL_GREGORIAN, &st);
	if (U_FAILURE(st))
		return err_set(err, ERR_INTERNAL, "timezone: ICU cannot open '%s': %s", tz,
		    u_errorName(st));
	ucal_setGregorianChange(cal, -1e300, &st);	/* proleptic: no Julian dates */
	ucal_setAttribute(cal, UCAL_REPEATED_WALL_TIME, UCAL_WALLTIME_FIRST);
	ucal_setAttribute(cal, UCAL_SKIPPED_WALL_TIME, UCAL_WALLTIME_NEXT_VALID);
	ucal_setAttribute(cal, UCAL_LENIENT, 1);
	z->cal = cal;
	return 0;
}

void
cron_zone_close(struct cron_zone *z)
{
	if (z->cal != NULL)
		ucal_close(z->cal);
	z->cal = NULL;
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
