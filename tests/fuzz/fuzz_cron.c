/*
 * fuzz_cron: libFuzzer target for the cron parser and next-fire search
 * (src/lib/cron.c, cron_next.c, cron_tz.c). Input: a zone byte, four bytes
 * of start time, then the expression. A refusal is ERR_INVALID with a
 * message starting "cron: "; an accepted expression's next fire in UTC and
 * in one of a few zones is strictly after the start, the next one after
 * that is later again, and in UTC the search from one second before a fire
 * finds that same fire (nothing between is skipped over). cron_format's
 * text parses back to the same struct.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cron.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const zones[] = { "UTC", "America/New_York", "Europe/London",
	"Australia/Lord_Howe", "Asia/Kathmandu", "Pacific/Chatham", "Mars/Nowhere", "" };

static void
check_next(const struct cron *c, const char *tz, int64_t start)
{
	struct err err;
	int64_t t, t2, back;

	err_clear(&err);
	if (cron_next(c, tz, start, &t, &err) != 0) {
		FUZZ_CHECK(err.code == ERR_INVALID);
		return;
	}
	FUZZ_CHECK(t > start);
	if (cron_next(c, tz, t, &t2, &err) == 0)
		FUZZ_CHECK(t2 > t);
	if (strcmp(tz, "UTC") == 0 && t - 1 > start) {
		FUZZ_CHECK(cron_next(c, tz, t - 1, &back, &err) == 0);
		FUZZ_CHECK(back == t);
	}
}

static void
check_format(const struct cron *c)
{
	char text[CRON_FORMAT_MAX];
	struct cron back;
	struct err err;

	cron_format(c, text, sizeof(text));
	if (strlen(text) > 256)
		return;	/* longer than the parser takes: possible, display only */
	if (cron_parse(text, &back, &err) != 0 || memcmp(c, &back, sizeof(back)) != 0) {
		fprintf(stderr, "format '%s' does not parse back: %s\n", text, err.msg);
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	char expr[512];
	struct cron c;
	struct err err;
	unsigned zone = fuzz_byte(&in) % (sizeof(zones) / sizeof(zones[0]));
	int64_t start = 0;
	int i;

	for (i = 0; i < 4; i++)
		start = start << 8 | fuzz_byte(&in);
	start += 946684800;	/* 2000 to 2136 */
	if (in.n >= sizeof(expr))
		return 0;
	memcpy(expr, in.p, in.n);
	expr[in.n] = '\0';
	err_clear(&err);
	if (cron_parse(expr, &c, &err) != 0) {
		FUZZ_CHECK(err.code == ERR_INVALID && strncmp(err.msg, "cron: ", 6) == 0);
		return 0;
	}
	check_format(&c);
	check_next(&c, "UTC", start);
	check_next(&c, zones[zone], start);
	return 0;
}
