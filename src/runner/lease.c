/*
 * lease: monotonic lease arithmetic (runner.md §4, §7). The deadline is
 * always derived from the moment a request was sent, so time on the wire
 * only makes it earlier; the wall clock is used only to subtract two server
 * times from an older server's response.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "lease.h"
#include "util.h"

/* Parses an HTTP Date header (IMF-fixdate) into Unix ms, -1 on failure. */
static int64_t
parse_http_date(const char *s)
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	if (end == NULL || *end != '\0')
		return -1;
	return (int64_t)timegm(&tm) * 1000;
}

int64_t
lease_remaining_ms(const char *hdr_remaining, const char *expires_at,
    const char *date_hdr)
{
	int64_t v, exp, date;

	if (hdr_remaining != NULL && hdr_remaining[0] != '\0' &&
	    parse_i64(hdr_remaining, &v) == 0)
		return v < 0 ? 0 : v;
	if (expires_at == NULL || date_hdr == NULL ||
	    parse_rfc3339_ms(expires_at, &exp) != 0)
		return -1;
	date = parse_http_date(date_hdr);
	if (date < 0)
		return -1;
	return exp > date ? exp - date : 0;
}

void
lease_begin(struct lease_clock *lc, int64_t t_sent_ms, int64_t remaining_ms)
{
	lc->ttl_ms = remaining_ms;
	lc->deadline_ms = t_sent_ms + remaining_ms;
}

void
lease_update(struct lease_clock *lc, int64_t t_sent_ms, int64_t remaining_ms)
{
	lc->deadline_ms = t_sent_ms + remaining_ms;
}

int64_t
lease_margin_ms(const struct lease_clock *lc)
{
	int64_t q = lc->ttl_ms / 4;

	return q < 5000 ? q : 5000;
}

int64_t
lease_fence_at(const struct lease_clock *lc)
{
	return lc->deadline_ms - lease_margin_ms(lc);
}

int64_t
lease_kill_at(const struct lease_clock *lc, int64_t sigterm_at,
    int64_t grace_ms, bool capped)
{
	int64_t at = sigterm_at + (grace_ms > 0 ? grace_ms : 0);

	if (capped && at > lc->deadline_ms - 1000)
		at = lc->deadline_ms - 1000;
	return at;
}

int64_t
lease_heartbeat_wait_s(const struct lease_clock *lc)
{
	int64_t cap = lc->ttl_ms / 3000;
	int64_t w = (lc->ttl_ms - lease_margin_ms(lc)) / 3000;

	if (cap <= 0)
		return 0;
	if (w < 1)
		w = 1;
	return w < cap ? w : cap;
}

int64_t
lease_backoff_ms(int n, double u)
{
	int64_t base = 500;

	while (n-- > 0 && base < 5000)
		base *= 2;
	if (base > 5000)
		base = 5000;
	return (int64_t)((double)base * (0.8 + 0.4 * u));
}

int64_t
lease_poll_pause_ms(int64_t poll_interval_ms, double u)
{
	return poll_interval_ms + (int64_t)((double)(poll_interval_ms / 2) * u);
}

double
lease_rand(void)
{
	uint32_t r;

	if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
		r = (uint32_t)mono_ms();
	return (double)r / 4294967296.0;
}
