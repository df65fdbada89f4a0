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

bool
call_retryable(const struct client_resp *r, bool artifact)
{
	if (r->status == 429)
		return true;
	if (r->status < 500)
		return false;
	if (artifact && r->status == 500 &&
	    strstr(buf_str(&r->body), "artifact not found") != NULL)
		return false;
	return true;
}

void
call_status_text(const struct client_resp *r, char *out, size_t outsz)
{
	char body[1024];
	size_t n = r->body.len < sizeof(body) - 1 ? r->body.len : sizeof(body) - 1;

	memcpy(body, buf_str(&r->body), n);
	body[n] = '\0';
	snprintf(out, outsz, "%ld %s", r->status, str_trim(body));
}

int
call_http(struct client *h, const struct client_req *req, struct client_resp *resp,
    struct err *err)
{
	if (client_do(h, req, resp, err) == 0)
		return CALL_OK;
	return resp->aborted ? CALL_ABORTED : CALL_FAIL;
}

int
call_do(struct client *h, struct runstate *rs, struct call *c,
    struct client_resp *resp, struct err *err)
{
	const struct client_header hdrs[] = {
		{ "X-Lease-Token", rs->lease_token }, { NULL, NULL },
	};
	char path[128];
	long cap = c->max_timeout_ms > 0 ? c->max_timeout_ms : 30000;
	int n = 0, rc;

	snprintf(path, sizeof(path), "%s%s", rs->base_path, c->suffix);
	for (;;) {
		struct client_req req = {
			.method = c->method, .path = path, .bearer = rs->token,
			.headers = hdrs, .body = c->body,
			.body_len = c->body != NULL ? strlen(c->body) : 0,
			.download_fd = -1, .sink = c->sink, .sink_arg = c->sink_arg,
			.abort = c->abort, .abort_arg = c->abort_arg,
		};
		int64_t now = mono_ms(), left = c->stop_at - now, pause;

		if (c->sink != NULL) {
			req.stall_bytes = 1024;
			req.stall_ms = 30000;
			c->sink_reset(c->sink_arg);
		} else {
			req.timeout_ms = left < 1000 ? 1000 : (left < cap ? left : cap);
		}
		c->t_sent = now;
		rc = call_http(h, &req, resp, err);
		if (rc == CALL_OK && resp->sink_stopped) {
			resp->status = 0;	/* the sink could not write: retried */
			err_set(err, ERR_IO, "write to disk failed");
			rc = CALL_FAIL;
		}
		if (rc == CALL_ABORTED)
			return rc;
		if (rc == CALL_OK && !call_retryable(resp, c->artifact))
			return rc;
		pause = lease_backoff_ms(n++, lease_rand());
		if (mono_ms() + pause >= c->stop_at)
			return rc;
		if (!call_sleep(pause, c->abort, c->abort_arg))
			return err_set(err, ERR_IO, "aborted"), CALL_ABORTED;
	}
}
