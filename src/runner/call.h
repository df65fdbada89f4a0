/*
 * call: one lease-bound request with the retry rules of runner.md §4:
 * retried on transport errors, 5xx and 429 with 0.5 s doubling back-off (at
 * most 5 s, +-20 % jitter), always tried at least once, and given up at the
 * caller's stop time (its budget, or the fence time as it was when the call
 * began).
 */
#ifndef MT_CALL_H
#define MT_CALL_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "rhttp.h"
#include "runstate.h"

struct call {
	const char	*method;
	const char	*suffix;	/* after /api/v1/runs/<id>, e.g. "/start" */
	const char	*body;		/* JSON or NULL */
	int64_t		 stop_at;	/* monotonic ms: no retry starts after it */
	long		 max_timeout_ms;	/* per request, default 30 s */
	int		 download_fd;	/* -1 unless downloading */
	bool		 artifact;	/* "500 artifact not found" is final */
	bool		(*abort)(void *arg);
	void		*abort_arg;
	int64_t		 t_sent;	/* out: when the last request was sent */
};

/* Performs c against rs's run. Returns RHTTP_OK with a definitive answer
 * (or the last retryable one when the budget ran out) in resp,
 * RHTTP_FAIL when the last try was a transport error (err), RHTTP_ABORTED
 * when c->abort stopped it. */
int call_do(struct rhttp *h, struct runstate *rs, struct call *c,
    struct rhttp_resp *resp, struct err *err);

/* Sleeps ms in 20 ms steps; returns false early when abort(arg) is true. */
bool call_sleep(int64_t ms, bool (*abort)(void *), void *arg);

/* A stale answer to a lease-bound call: 409, 410 or 401. */
bool call_is_stale(long status);

#endif
