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

#include "client.h"
#include "err.h"
#include "runstate.h"

/* Results of call_http and call_do. */
enum { CALL_OK = 0, CALL_FAIL = -1, CALL_ABORTED = -2 };

struct call {
	const char	*method;
	const char	*suffix;	/* after /api/v1/runs/<id>, e.g. "/start" */
	const char	*body;		/* JSON or NULL */
	int64_t		 stop_at;	/* monotonic ms: no retry starts after it */
	long		 max_timeout_ms;	/* per request, default 30 s */
	/* A download: the 2xx body goes to sink (no total timeout, but at
	 * least 1 KiB per 30 s); sink_reset is called before every try. */
	int		(*sink)(void *arg, const char *data, size_t len);
	void		(*sink_reset)(void *arg);
	void		*sink_arg;
	bool		 artifact;	/* "500 artifact not found" is final */
	bool		(*abort)(void *arg);
	void		*abort_arg;
	int64_t		 t_sent;	/* out: when the last request was sent */
};

/* client_do with the runner's three outcomes: CALL_OK when a response
 * arrived (any status), CALL_ABORTED when req->abort stopped the transfer,
 * CALL_FAIL on a transport error (err). */
int call_http(struct client *h, const struct client_req *req,
    struct client_resp *resp, struct err *err);

/* Performs c against rs's run (with the runner token and X-Lease-Token).
 * Returns CALL_OK with a definitive answer (or the last retryable one when
 * the budget ran out) in resp, CALL_FAIL when the last try was a transport
 * error (err), CALL_ABORTED when c->abort stopped it. */
int call_do(struct client *h, struct runstate *rs, struct call *c,
    struct client_resp *resp, struct err *err);

/* Sleeps ms in 20 ms steps; returns false early when abort(arg) is true. */
bool call_sleep(int64_t ms, bool (*abort)(void *), void *arg);

/* A stale answer to a lease-bound call: 409, 410 or 401. */
bool call_is_stale(long status);

/* True for answers worth retrying: 5xx and 429, except "500 artifact not
 * found" when artifact is true. (Transport errors are the caller's.) */
bool call_retryable(const struct client_resp *r, bool artifact);

/* "<status> <body>" for error messages, the body trimmed and cut. */
void call_status_text(const struct client_resp *r, char *out, size_t outsz);

#endif
