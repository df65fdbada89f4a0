/*
 * lease: the lease arithmetic of runner.md §4 and §7 on the monotonic clock:
 * the deadline D from X-Lease-Remaining-Ms (or lease_expires_at minus Date
 * for an older server), the margin m, the fence time D - m, the SIGKILL cap
 * D - 1 s, the heartbeat wait, and the retry back-off with jitter. Pure
 * functions, so every rule can be unit-tested without a server.
 */
#ifndef MT_LEASE_H
#define MT_LEASE_H

#include <stdbool.h>
#include <stdint.h>

struct lease_clock {
	int64_t	ttl_ms;		/* the lease response's X-Lease-Remaining-Ms */
	int64_t	deadline_ms;	/* D, monotonic milliseconds */
};

/* The remaining lease time a response tells: X-Lease-Remaining-Ms when
 * present and valid, else lease_expires_at minus the Date header (both
 * server times; -1 when neither is usable). Negative values become 0. */
int64_t lease_remaining_ms(const char *hdr_remaining, const char *expires_at,
    const char *date_hdr);

/* A lease response sent at monotonic t_sent: sets TTL and D. */
void lease_begin(struct lease_clock *lc, int64_t t_sent_ms, int64_t remaining_ms);

/* A start/heartbeat response sent at t_sent: D = t_sent + remaining. */
void lease_update(struct lease_clock *lc, int64_t t_sent_ms, int64_t remaining_ms);

/* m = min(5 s, TTL/4). */
int64_t lease_margin_ms(const struct lease_clock *lc);

/* D - m: when the fence fires. */
int64_t lease_fence_at(const struct lease_clock *lc);

/* When SIGKILL must come at the latest for a job stopped at sigterm_at:
 * sigterm_at + grace, capped at D - 1 s when capped is true (stale lease or
 * fence). A grace <= 0 means at once (sigterm_at). */
int64_t lease_kill_at(const struct lease_clock *lc, int64_t sigterm_at,
    int64_t grace_ms, bool capped);

/* The heartbeat wait in seconds: max(1, floor((TTL - m)/3 s)), never more
 * than floor(TTL/3 s); 0 when that cap is 0. */
int64_t lease_heartbeat_wait_s(const struct lease_clock *lc);

/* The pause before retry number n (0-based): 0.5 s doubling up to 5 s, then
 * scaled by jitter in [0.8, 1.2) (pass a uniform value u in [0,1)). */
int64_t lease_backoff_ms(int n, double u);

/* POLL_INTERVAL + uniform[0, POLL_INTERVAL/2) for u in [0,1). */
int64_t lease_poll_pause_ms(int64_t poll_interval_ms, double u);

/* A uniform double in [0,1) from a thread-safe source. */
double lease_rand(void);

#endif
