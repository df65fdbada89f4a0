/*
 * Tests for cron (src/lib/cron.c, cron_next.c, cron_tz.c): every refusal
 * and its message, the grammar, and next-fire times including both DST
 * edges in America/New_York, Europe/London, Australia/Lord_Howe (30-minute
 * shift) and Asia/Kathmandu (+05:45, and its 15-minute gap of 1986). The
 * expected instants were computed independently with Python's zoneinfo.
 * The last test calls cron_next from several threads at once (TSan in CI).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>

#include "cron.h"
#include "util.h"

static void
refused(const char *expr, const char *want)
{
	struct cron c;
	struct err err;

	err_clear(&err);
	if (cron_parse(expr, &c, &err) != -1)
		fail_msg("'%s' was accepted", expr);
	assert_int_equal(err.code, ERR_INVALID);
	if (strcmp(err.msg, want) != 0)
		fail_msg("'%s': got \"%s\", want \"%s\"", expr, err.msg, want);
}

static struct cron
parsed(const char *expr)
{
	struct cron c;
	struct err err;

	err_clear(&err);
	if (cron_parse(expr, &c, &err) != 0)
		fail_msg("'%s' refused: %s", expr, err.msg);
	return c;
}

static int64_t
at(const char *rfc3339)
{
	int64_t ms;

	assert_int_equal(parse_rfc3339_ms(rfc3339, &ms), 0);
	return ms / 1000;
}

/* The next n fire times of expr in tz after start, all UTC, must be want. */
static void
fires(const char *expr, const char *tz, const char *start, int n, const char *const *want)
{
	struct cron c = parsed(expr);
	struct err err;
	char got[32], exp[32];
	int64_t t = at(start);
	int i;

	for (i = 0; i < n; i++) {
		err_clear(&err);
		if (cron_next(&c, tz, t, &t, &err) != 0)
			fail_msg("'%s' in %s, fire %d: %s", expr, tz, i, err.msg);
		fmt_rfc3339_ms(t * 1000, got, sizeof(got));
		fmt_rfc3339_ms(at(want[i]) * 1000, exp, sizeof(exp));
		if (strcmp(got, exp) != 0)
			fail_msg("'%s' in %s after %s, fire %d: got %s, want %s", expr, tz, start, i,
			    got, exp);
	}
}

#define FIRES(expr, tz, start, ...) do { \
	static const char *const w_[] = { __VA_ARGS__ }; \
	fires(expr, tz, start, (int)(sizeof(w_) / sizeof(w_[0])), w_); \
} while (0)

static void
test_refusals(void **state)
{
	char longer[300];

	(void)state;
	refused("", "cron: the expression is empty");
	refused(" \t ", "cron: the expression is empty");
	refused(NULL, "cron: the expression is empty");
	memset(longer, '*', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	refused(longer, "cron: the expression is longer than 256 bytes");
	refused("* * * *", "cron: expected 5 or 6 fields, got 4");
	refused("* * * * * * *", "cron: expected 5 or 6 fields, got 7");
	refused("60 * * * *", "cron: minute: 60 is out of range 0-59");
	refused("* 24 * * *", "cron: hour: 24 is out of range 0-23");
	refused("* * 0 * *", "cron: day-of-month: 0 is out of range 1-31");
	refused("* * 32 * *", "cron: day-of-month: 32 is out of range 1-31");
	refused("* * * 13 *", "cron: month: 13 is out of range 1-12");
	refused("* * * 0 *", "cron: month: 0 is out of range 1-12");
	refused("* * * * 8", "cron: day-of-week: 8 is out of range 0-7");
	refused("60 * * * * *", "cron: second: 60 is out of range 0-59");
	refused("99999999999 * * * *", "cron: minute: 99999999999 is out of range 0-59");
	refused("1,,2 * * * *", "cron: minute: an item of the list is empty");
	refused(",1 * * * *", "cron: minute: an item of the list is empty");
	refused("1, * * * *", "cron: minute: an item of the list is empty");
	refused("5-1 * * * *", "cron: minute: range 5-1 goes backwards");
	refused("*/0 * * * *", "cron: minute: step 0 is out of range 1-60");
	refused("*/61 * * * *", "cron: minute: step 61 is out of range 1-60");
	refused("*/ * * * *", "cron: minute: a step must be a number");
	refused("1-/2 * * * *", "cron: minute: a value is missing");
	refused("-1 * * * *", "cron: minute: a value is missing");
	refused("* * L * *", "cron: day-of-month: 'L' is not supported");
	refused("* * 15W * *", "cron: day-of-month: 'W' is not supported");
	refused("* * LW * *", "cron: day-of-month: 'L' is not supported");
	refused("* * * * 5L", "cron: day-of-week: 'L' is not supported");
	refused("* * * * 5#3", "cron: day-of-week: '#' is not supported");
	refused("* * ? * 1", "cron: day-of-month: '?' is not supported");
	refused("* * * * mon?", "cron: day-of-week: '?' is not supported");
	refused("* * * foo *", "cron: month: 'foo' is not a number or a name");
	refused("mon * * * *", "cron: minute: 'mon' is not a number");
	refused("* * * * jan", "cron: day-of-week: 'jan' is not a number or a name");
	refused("* * * monday *", "cron: month: 'monday' is not a number or a name");
	refused("1x * * * *", "cron: minute: '1x' is not a number");
	refused("1.5 * * * *", "cron: minute: unexpected '.' in '1.5'");
	refused("1-2-3 * * * *", "cron: minute: unexpected '-' in '1-2-3'");
	refused("*/5/5 * * * *", "cron: minute: unexpected '/' in '*/5/5'");
	refused("** * * * *", "cron: minute: unexpected '*' in '**'");
	refused("\x01 * * * *", "cron: minute: unexpected byte 0x01");
	refused("\xc3\xa9 * * * *", "cron: minute: unexpected byte 0xc3");
	refused("0 0 30 2 *", "cron: the expression can never fire: no selected month has the "
	    "selected day-of-month");
	refused("0 0 31 4,6,9,11 *", "cron: the expression can never fire: no selected month has "
	    "the selected day-of-month");
	refused("0 0 30,31 feb */2", "cron: the expression can never fire: no selected month has "
	    "the selected day-of-month");
	refused("@reboot", "cron: @reboot is not supported");
	refused("@fortnightly", "cron: unknown macro '@fortnightly'");
	refused("@daily *", "cron: a macro stands alone");
	refused("every", "cron: every: expected 'every N minutes|hours|days'");
	refused("every 5", "cron: every: expected 'every N minutes|hours|days'");
	refused("every 5 minutes now", "cron: every: expected 'every N minutes|hours|days'");
	refused("every five minutes", "cron: every: 'five' is not a number");
	refused("every 0 minutes", "cron: every: 0 minutes is out of range 1-527040");
	refused("every 367 days", "cron: every: 367 days is out of range 1-366");
	refused("every 9999999999999999999 hours", "cron: every: 9999999999999999999 hours is out of range "
	    "1-8784");
	refused("every 5 weeks", "cron: every: unknown unit 'weeks' (minutes, hours or days)");
	refused("every -5 minutes", "cron: every: '-5' is not a number");
}

static void
test_fields(void **state)
{
	struct cron c;

	(void)state;
	c = parsed("*/15 0-6/2,23 1,15 jan-MAR/2,Dec Mon-fri");
	assert_true(c.min == ((1ULL << 0) | (1ULL << 15) | (1ULL << 30) | (1ULL << 45)));
	assert_int_equal(c.hour, (1u << 0) | (1u << 2) | (1u << 4) | (1u << 6) | (1u << 23));
	assert_int_equal(c.mday, (1u << 1) | (1u << 15));
	assert_int_equal(c.mon, (1u << 1) | (1u << 3) | (1u << 12));
	assert_int_equal(c.wday, 0x3e);
	assert_true(c.sec == 1 && !c.six && !c.mday_star && !c.wday_star);
	c = parsed("50/5 * * * *");	/* a/n: a to the end of the field */
	assert_true(c.min == ((1ULL << 50) | (1ULL << 55)));
	c = parsed("7-7/3 * * * *");	/* a range stays a range with a step */
	assert_true(c.min == (1ULL << 7));
	c = parsed("* * * * 7");	/* 7 = Sunday */
	assert_int_equal(c.wday, 1);
	assert_int_equal(parsed("* * * * 5-7").wday, (1 << 5) | (1 << 6) | 1);
	assert_int_equal(parsed("* * * * 1/3").wday, (1 << 1) | (1 << 4) | 1);
	assert_int_equal(parsed("* * * * SUN").wday, 1);
	assert_int_equal(parsed("* * * * */2").wday, 0x55);
	assert_true(parsed("* * * * */2").wday_star);
	c = parsed("  30\t*/10 * * * *  ");
	assert_true(c.six && c.sec == (1ULL << 30));
	assert_true(parsed("0 0 29 2 *").mday == (1u << 29));	/* leap years only */
	assert_true(parsed("0 0 31 2 mon").wday == 2);	/* OR: Mondays of February */
}

static void
test_macros(void **state)
{
	struct cron a, b;

	(void)state;
	a = parsed("@yearly");
	b = parsed("0 0 1 1 *");
	assert_memory_equal(&a, &b, sizeof(a));
	a = parsed("@ANNUALLY");
	assert_memory_equal(&a, &b, sizeof(a));
	a = parsed("@monthly");
	b = parsed("0 0 1 * *");
	assert_memory_equal(&a, &b, sizeof(a));
	a = parsed("@weekly");
	b = parsed("0 0 * * 0");
	assert_memory_equal(&a, &b, sizeof(a));
	a = parsed(" @daily ");
	b = parsed("0 0 * * *");
	assert_memory_equal(&a, &b, sizeof(a));
	a = parsed("@midnight");
	assert_memory_equal(&a, &b, sizeof(a));
	a = parsed("@hourly");
	b = parsed("0 * * * *");
	assert_memory_equal(&a, &b, sizeof(a));
}

static void
test_next_utc(void **state)
{
	(void)state;
	FIRES("*/15 * * * *", "UTC", "2026-01-01T00:07:30Z",
	    "2026-01-01T00:15:00Z", "2026-01-01T00:30:00Z", "2026-01-01T00:45:00Z");
	/* strictly after: a start on a fire time gives the next one */
	FIRES("0 * * * *", NULL, "2026-01-01T05:00:00Z", "2026-01-01T06:00:00Z");
	FIRES("59 23 31 12 *", "", "2026-01-01T00:00:00Z", "2026-12-31T23:59:00Z",
	    "2027-12-31T23:59:00Z");
	FIRES("0 0 29 2 *", "UTC", "2026-03-01T00:00:00Z", "2028-02-29T00:00:00Z",
	    "2032-02-29T00:00:00Z");
	FIRES("0 12 31 * *", "UTC", "2026-01-31T12:00:00Z", "2026-03-31T12:00:00Z",
	    "2026-05-31T12:00:00Z");
	/* six fields */
	FIRES("*/20 * * * * *", "UTC", "2026-01-01T00:00:50Z", "2026-01-01T00:01:00Z",
	    "2026-01-01T00:01:20Z", "2026-01-01T00:01:40Z");
	FIRES("30 59 23 31 12 *", "UTC", "2026-12-31T23:59:30Z", "2027-12-31T23:59:30Z");
	/* names, 7 = Sunday */
	FIRES("0 9 * * SUN", "UTC", "2026-01-01T00:00:00Z", "2026-01-04T09:00:00Z");
	FIRES("0 9 * * 7", "UTC", "2026-01-01T00:00:00Z", "2026-01-04T09:00:00Z");
	FIRES("0 0 1 jul *", "UTC", "2026-01-01T00:00:00Z", "2026-07-01T00:00:00Z");
	FIRES("@weekly", "UTC", "2026-01-01T00:00:00Z", "2026-01-04T00:00:00Z",
	    "2026-01-11T00:00:00Z");
	FIRES("@yearly", "UTC", "2026-06-01T00:00:00Z", "2027-01-01T00:00:00Z");
}

static void
test_or_rule(void **state)
{
	(void)state;
	/* both restricted: the 13th OR a Friday (2026-02-06 and 13 are Fridays) */
	FIRES("0 0 13 * 5", "UTC", "2026-02-01T00:00:00Z", "2026-02-06T00:00:00Z",
	    "2026-02-13T00:00:00Z", "2026-02-20T00:00:00Z", "2026-02-27T00:00:00Z",
	    "2026-03-06T00:00:00Z", "2026-03-13T00:00:00Z");
	/* a field starting with '*' is not restricted (Vixie): AND */
	FIRES("0 0 */2 * 5", "UTC", "2026-02-01T00:00:00Z", "2026-02-13T00:00:00Z",
	    "2026-02-27T00:00:00Z", "2026-03-13T00:00:00Z");
	FIRES("0 0 13 * *", "UTC", "2026-02-01T00:00:00Z", "2026-02-13T00:00:00Z",
	    "2026-03-13T00:00:00Z");
	/* February has no 31st, but Mondays */
	FIRES("0 0 31 2 mon", "UTC", "2026-01-01T00:00:00Z", "2026-02-02T00:00:00Z");
}

static void
test_every(void **state)
{
	(void)state;
	/* multiples of the interval since 1970-01-01T00:00:00Z */
	FIRES("every 15 minutes", "UTC", "2026-01-01T00:07:00Z", "2026-01-01T00:15:00Z",
	    "2026-01-01T00:30:00Z");
	FIRES("every 7 minutes", "UTC", "1970-01-01T00:00:00Z", "1970-01-01T00:07:00Z",
	    "1970-01-01T00:14:00Z");
	FIRES("Every 1 Hour", "UTC", "2026-01-01T00:59:59Z", "2026-01-01T01:00:00Z");
	FIRES("every 2 days", "UTC", "1970-01-01T00:00:00Z", "1970-01-03T00:00:00Z");
	/* elapsed time: the zone does not move it, DST does not bend it */
	FIRES("every 1 day", "America/New_York", "2026-03-07T12:00:00Z", "2026-03-08T00:00:00Z",
	    "2026-03-09T00:00:00Z");
	FIRES("every 15 minutes", "America/New_York", "2026-11-01T05:30:00Z",
	    "2026-11-01T05:45:00Z", "2026-11-01T06:00:00Z", "2026-11-01T06:15:00Z",
	    "2026-11-01T06:30:00Z", "2026-11-01T06:45:00Z", "2026-11-01T07:00:00Z");
}

static void
test_dst_new_york(void **state)
{
	(void)state;
	/* 2026-03-08 02:00 EST -> 03:00 EDT: 02:30 does not exist */
	FIRES("30 2 * * *", "America/New_York", "2026-03-07T12:00:00Z",
	    "2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z");
	/* 2026-11-01 02:00 EDT -> 01:00 EST: 01:30 happens twice, fires once */
	FIRES("30 1 * * *", "America/New_York", "2026-10-31T12:00:00Z",
	    "2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z");
	/* every 15 minutes across both edges: the gap's 02:00-02:45 become one
	 * fire at 03:00 EDT; the second pass of 01:00-01:59 does not fire */
	FIRES("*/15 * * * *", "America/New_York", "2026-03-08T06:30:00Z",
	    "2026-03-08T06:45:00Z", "2026-03-08T07:00:00Z", "2026-03-08T07:15:00Z");
	FIRES("*/15 * * * *", "America/New_York", "2026-11-01T05:30:00Z",
	    "2026-11-01T05:45:00Z", "2026-11-01T07:00:00Z", "2026-11-01T07:15:00Z");
	/* starting inside the second pass */
	FIRES("*/15 * * * *", "America/New_York", "2026-11-01T06:20:00Z",
	    "2026-11-01T07:00:00Z");
	FIRES("* * * * * *", "America/New_York", "2026-11-01T06:59:58Z",
	    "2026-11-01T07:00:00Z", "2026-11-01T07:00:01Z");
	FIRES("0 0 * * *", "US/Eastern", "2026-01-01T00:00:00Z", "2026-01-01T05:00:00Z");
}

static void
test_dst_london(void **state)
{
	(void)state;
	/* 2026-03-29 01:00 GMT -> 02:00 BST */
	FIRES("30 1 * * *", "Europe/London", "2026-03-28T12:00:00Z",
	    "2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z");
	/* 2026-10-25 02:00 BST -> 01:00 GMT */
	FIRES("30 1 * * *", "Europe/London", "2026-10-24T12:00:00Z",
	    "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z");
	FIRES("*/15 * * * *", "Europe/London", "2026-10-25T00:40:00Z",
	    "2026-10-25T00:45:00Z", "2026-10-25T02:00:00Z");
}

static void
test_dst_lord_howe(void **state)
{
	(void)state;
	/* 2026-10-04 02:00 +10:30 -> 02:30 +11: a 30-minute gap */
	FIRES("15 2 * * *", "Australia/Lord_Howe", "2026-10-03T00:00:00Z",
	    "2026-10-03T15:30:00Z", "2026-10-04T15:15:00Z");
	FIRES("*/15 * * * *", "Australia/Lord_Howe", "2026-10-03T15:00:00Z",
	    "2026-10-03T15:15:00Z", "2026-10-03T15:30:00Z", "2026-10-03T15:45:00Z");
	/* 2026-04-05 02:00 +11 -> 01:30 +10:30: 01:30-01:59 twice */
	FIRES("45 1 * * *", "Australia/Lord_Howe", "2026-04-04T00:00:00Z",
	    "2026-04-04T14:45:00Z", "2026-04-05T15:15:00Z");
	FIRES("*/15 * * * *", "Australia/Lord_Howe", "2026-04-04T14:20:00Z",
	    "2026-04-04T14:30:00Z", "2026-04-04T14:45:00Z", "2026-04-04T15:30:00Z",
	    "2026-04-04T15:45:00Z");
}

static void
test_kathmandu(void **state)
{
	(void)state;
	FIRES("0 9 * * *", "Asia/Kathmandu", "2026-01-01T00:00:00Z", "2026-01-01T03:15:00Z",
	    "2026-01-02T03:15:00Z");
	FIRES("*/30 * * * *", "Asia/Kathmandu", "2026-01-01T00:00:00Z", "2026-01-01T00:15:00Z",
	    "2026-01-01T00:45:00Z");
	/* 1986-01-01 00:00 +05:30 -> 00:15 +05:45: a 15-minute gap */
	FIRES("5 0 1 1 *", "Asia/Kathmandu", "1985-12-31T00:00:00Z", "1985-12-31T18:30:00Z",
	    "1986-12-31T18:20:00Z");
	FIRES("*/5 * * * *", "Asia/Kathmandu", "1985-12-31T18:10:00Z", "1985-12-31T18:15:00Z",
	    "1985-12-31T18:20:00Z", "1985-12-31T18:25:00Z", "1985-12-31T18:30:00Z",
	    "1985-12-31T18:35:00Z");
}

static void
next_err(const char *expr, const char *tz, int64_t after, const char *want)
{
	struct cron c = parsed(expr);
	struct err err;
	int64_t t;

	err_clear(&err);
	assert_int_equal(cron_next(&c, tz, after, &t, &err), -1);
	assert_int_equal(err.code, ERR_INVALID);
	assert_string_equal(err.msg, want);
}

static void
test_next_errors(void **state)
{
	(void)state;
	next_err("* * * * *", "Mars/Olympus_Mons", 0, "timezone: unknown time zone "
	    "'Mars/Olympus_Mons'");
	next_err("every 5 minutes", "Etc/Unknown", 0, "timezone: unknown time zone 'Etc/Unknown'");
	/* 2100 is no leap year: from 2096-03-01 the next 29 February is 2104 */
	next_err("0 0 29 2 *", "UTC", at("2096-03-01T00:00:00Z"),
	    "cron: the expression does not fire within 5 years");
	next_err("* * * * *", "UTC", INT64_MAX, "cron: time 9223372036854775807 is out of range");
	assert_true(strlen(cron_tz_version()) >= 5);	/* "2022e" */
}

static void
test_tz_valid(void **state)
{
	char longer[100];

	(void)state;
	assert_true(cron_tz_valid("UTC"));
	assert_true(cron_tz_valid("Etc/UTC"));
	assert_true(cron_tz_valid("America/New_York"));
	assert_true(cron_tz_valid("US/Eastern"));
	assert_true(cron_tz_valid("Australia/Lord_Howe"));
	assert_true(cron_tz_valid("Asia/Kathmandu"));
	assert_true(cron_tz_valid("Asia/Katmandu"));
	assert_false(cron_tz_valid(NULL));
	assert_false(cron_tz_valid(""));
	assert_false(cron_tz_valid("Mars/Olympus_Mons"));
	assert_false(cron_tz_valid("Etc/Unknown"));
	assert_false(cron_tz_valid("GMT+05:00"));
	assert_false(cron_tz_valid("America/New_York "));
	assert_false(cron_tz_valid("america/new_york"));
	assert_false(cron_tz_valid("Europe/Lond\xc3\xb6n"));
	memset(longer, 'A', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	assert_false(cron_tz_valid(longer));
}

/* expr formats as want, and want parses to the same struct. */
static void
formats(const char *expr, const char *want)
{
	struct cron a = parsed(expr), b;
	char out[CRON_FORMAT_MAX];

	cron_format(&a, out, sizeof(out));
	if (strcmp(out, want) != 0)
		fail_msg("'%s' formats as '%s', want '%s'", expr, out, want);
	b = parsed(out);
	assert_memory_equal(&a, &b, sizeof(a));
}

static void
test_format(void **state)
{
	(void)state;
	formats("*/15 * * * *", "*/15 * * * *");
	formats("0,15,30,45 0-23 * * *", "*/15 * * * *");
	formats("0-59/20 */1 * * *", "*/20 * * * *");
	formats("30 */10 * * * *", "30 */10 * * * *");
	formats("1,2,3,5 9-17/2 1-31 JAN-mar Mon-Fri", "1-3,5 9,11,13,15,17 1-31 1-3 1-5");
	formats("0 0 */2 * 5", "0 0 */2 * 5");
	formats("0 0 */2,6 * sun,7", "0 0 */2,6 * 0");
	formats("0 0 1-31/2 * 0-7", "0 0 1-31/2 * 0-6");
	formats("0 0 * * */3", "0 0 * * */3");
	formats("0 0 * * 0-6/3", "0 0 * * 0-6/3");
	formats("0 0 13 * 5", "0 0 13 * 5");
	formats("@weekly", "0 0 * * 0");
	formats("@hourly", "0 * * * *");
	formats("every 90 minutes", "every 90 minutes");
	formats("every 120 minutes", "every 2 hours");
	formats("every 48 hours", "every 2 days");
	formats("every 1 minute", "every 1 minutes");
}

/* More zones than a thread keeps open: evicted zones open again and give
 * the same answers. */
static void
test_zone_cache(void **state)
{
	static const char *const zones[] = { "America/New_York", "Europe/London",
		"Australia/Lord_Howe", "Asia/Kathmandu", "Europe/Berlin", "Asia/Tokyo",
		"America/Los_Angeles", "Pacific/Chatham", "Africa/Cairo", "America/Sao_Paulo",
		"Asia/Kolkata" };
	enum { NZ = sizeof(zones) / sizeof(zones[0]) };
	struct cron c = parsed("30 2 * * *");
	struct err err;
	int64_t first[NZ], t;
	int round, i;

	(void)state;
	for (round = 0; round < 3; round++)
		for (i = 0; i < NZ; i++) {
			assert_int_equal(cron_next(&c, zones[i], 1767225600, &t, &err), 0);
			if (round == 0)
				first[i] = t;
			assert_true(t == first[i]);
		}
	assert_true(first[3] == at("2026-01-01T20:45:00Z"));	/* Kathmandu */
	assert_true(first[5] == at("2026-01-01T17:30:00Z"));	/* Tokyo */
}

/* Many threads at once, each checking its answers against one computed
 * beforehand on the main thread. */
#define THREADS	4
#define ROUNDS	300

static const char *const mt_exprs[] = { "*/15 * * * *", "30 2 * * *", "0 0 13 * 5",
	"*/7 * * * * *", "45 1 * * *" };
static const char *const mt_zones[] = { "America/New_York", "Europe/London",
	"Australia/Lord_Howe", "Asia/Kathmandu", "UTC" };
static int64_t mt_want[5][5][ROUNDS];

static int64_t
mt_start(int r)
{
	return 1772000000 + (int64_t)r * 40000;	/* 2026-02 to 2026-07: both edges */
}

static int
mt_compute(int e, int z, int r, int64_t *t)
{
	struct cron c;
	struct err err;

	if (cron_parse(mt_exprs[e], &c, &err) != 0)
		return -1;
	return cron_next(&c, mt_zones[z], mt_start(r), t, &err);
}

static void *
mt_worker(void *arg)
{
	intptr_t id = (intptr_t)arg, bad = 0;
	int64_t t;
	int e, z, r;

	for (r = 0; r < ROUNDS; r++)
		for (e = 0; e < 5; e++) {
			z = (int)((e + r + id) % 5);
			if (mt_compute(e, z, r, &t) != 0 || t != mt_want[e][z][r])
				bad++;
		}
	return (void *)bad;
}

static void
test_threads(void **state)
{
	pthread_t th[THREADS];
	void *bad;
	int e, z, r, i;

	(void)state;
	for (e = 0; e < 5; e++)
		for (z = 0; z < 5; z++)
			for (r = 0; r < ROUNDS; r++)
				assert_int_equal(mt_compute(e, z, r, &mt_want[e][z][r]), 0);
	for (i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, mt_worker, (void *)(intptr_t)i), 0);
	for (i = 0; i < THREADS; i++) {
		assert_int_equal(pthread_join(th[i], &bad), 0);
		assert_int_equal((intptr_t)bad, 0);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_macros),
		cmocka_unit_test(test_next_utc),
		cmocka_unit_test(test_or_rule),
		cmocka_unit_test(test_every),
		cmocka_unit_test(test_dst_new_york),
		cmocka_unit_test(test_dst_london),
		cmocka_unit_test(test_dst_lord_howe),
		cmocka_unit_test(test_kathmandu),
		cmocka_unit_test(test_next_errors),
		cmocka_unit_test(test_tz_valid),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_zone_cache),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
