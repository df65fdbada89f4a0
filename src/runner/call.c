/*
 * call: the retry loop shared by start, logs, result, release and the
 * artifact download. It never sleeps past the stop time and never blocks
 * an abort for more than 20 ms between tries.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "call.h"
#include "util.h"

bool
call_sleep(int64_t ms, bool (*abort)(void *), void *arg)
{
	int64_t end = mono_ms() + ms;

	for (;;) {
		int64_t left = end - mono_ms();
		struct timespec ts;

		if (abort != NULL && abort(arg))
			return false;
		if (left <= 0)
			return true;
		if (left > 20)
			left = 20;
		ts.tv_sec = 0;
		ts.tv_nsec = left * 1000000L;
		nanosleep(&ts, NULL);
	}
}

bool
call_is_stale(long status)
{
	return status == 409 || status == 410 || status == 401;
}

int
call_do(struct rhttp *h, struct runstate *rs, struct call *c,
    struct rhttp_resp *resp, struct err *err)
{
	char path[128];
	long cap = c->max_timeout_ms > 0 ? c->max_timeout_ms : 30000;
	int n = 0, rc;

	snprintf(path, sizeof(path), "%s%s", rs->base_path, c->suffix);
	for (;;) {
		struct rhttp_req req = {
			.method = c->method, .path = path, .bearer = rs->token,
			.lease_token = rs->lease_token, .body = c->body,
			.body_len = c->body != NULL ? strlen(c->body) : 0,
			.download_fd = c->download_fd, .low_speed = c->download_fd >= 0,
			.abort = c->abort, .abort_arg = c->abort_arg,
		};
		int64_t now = mono_ms(), left = c->stop_at - now, pause;

		req.timeout_ms = c->download_fd >= 0 ? 0 :
		    (left < 1000 ? 1000 : (left < cap ? left : cap));
		c->t_sent = now;
		rc = rhttp_do(h, &req, resp, err);
		if (rc == RHTTP_ABORTED)
			return rc;
		if (rc == RHTTP_OK && !rhttp_retryable(resp, c->artifact))
			return rc;
		pause = lease_backoff_ms(n++, lease_rand());
		if (mono_ms() + pause >= c->stop_at)
			return rc;
		if (c->download_fd >= 0 && (lseek(c->download_fd, 0, SEEK_SET) != 0 ||
		    ftruncate(c->download_fd, 0) != 0))
			return rc;
		if (!call_sleep(pause, c->abort, c->abort_arg))
			return err_set(err, ERR_IO, "aborted"), RHTTP_ABORTED;
	}
}
