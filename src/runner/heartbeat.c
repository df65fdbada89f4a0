/*
 * heartbeat: one loop, one request at a time. The wait and the request
 * timeout come from lease.c; the answer moves the deadline (on the time the
 * request was sent) and may carry cancel_requested. A stale answer ends the
 * thread, and so does an answer after the result was sent.
 */
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "call.h"
#include "heartbeat.h"
#include "client.h"
#include "log.h"
#include "util.h"

struct heartbeat {
	pthread_t	 thread;
	struct runstate	*rs;
	struct client	*http;
	atomic_bool	 stop;
};

static bool
hb_abort(void *arg)
{
	struct heartbeat *hb = arg;

	return atomic_load(&hb->stop);
}

static bool
cancel_requested(const struct client_resp *r)
{
	json_t *j = json_loadb(buf_str(&r->body), r->body.len,
	    JSON_DECODE_INT_AS_REAL | JSON_ALLOW_NUL, NULL);
	bool v = j != NULL && json_is_true(json_object_get(j, "cancel_requested"));

	json_decref(j);
	return v;
}

/* Pause before the next heartbeat: (D - m - now) / 3, at least 20 ms. */
static int64_t
third_left(struct runstate *rs)
{
	int64_t left = (runstate_fence_at(rs) - mono_ms()) / 3;

	return left < 20 ? 20 : left;
}

/* One heartbeat; returns false when the thread should end. */
static bool
beat(struct heartbeat *hb)
{
	struct runstate *rs = hb->rs;
	struct lease_clock lc = runstate_lease(rs);
	bool cancelled = runstate_is_cancelled(rs);
	int64_t w = cancelled ? 0 : lease_heartbeat_wait_s(&lc);
	int64_t left = lease_fence_at(&lc) - mono_ms(), t_sent, pause = 0;
	long timeout = (long)(w * 1000 + 10000);
	struct client_resp resp;
	struct err err;
	char path[128];
	int rc;

	if (left < timeout)
		timeout = left < 1000 ? 1000 : (long)left;
	if (w > 0)
		snprintf(path, sizeof(path), "%s/heartbeat?wait=%lld", rs->base_path, (long long)w);
	else
		snprintf(path, sizeof(path), "%s/heartbeat", rs->base_path);
	const struct client_header hdrs[] = {
		{ "X-Lease-Token", rs->lease_token }, { NULL, NULL },
	};
	struct client_req req = {
		.method = "POST", .path = path, .bearer = rs->token, .headers = hdrs,
		.timeout_ms = timeout, .download_fd = -1, .abort = hb_abort, .abort_arg = hb,
	};
	client_resp_init(&resp);
	t_sent = mono_ms();
	rc = call_http(hb->http, &req, &resp, &err);
	if (rc == CALL_ABORTED || atomic_load(&hb->stop)) {
		client_resp_free(&resp);
		return false;
	}
	if (rc == CALL_OK && resp.status == 200) {
		int64_t rem = lease_remaining_ms(resp.lease_remaining_ms, NULL, NULL);

		if (rem >= 0)
			runstate_update(rs, t_sent, rem);
		if (cancel_requested(&resp) && !cancelled)
			runstate_mark_cancelled(rs);
		if (runstate_is_cancelled(rs) || w == 0)
			pause = third_left(rs);
		else if (mono_ms() - t_sent < w * 1000 - (w * 1000 / 2 < 1000 ? w * 1000 / 2 : 1000))
			pause = third_left(rs);
	} else if (rc == CALL_OK && call_is_stale(resp.status)) {
		client_resp_free(&resp);
		if (runstate_result_sent(rs))
			return false;
		log_warn("stale lease on heartbeat", NULL);
		runstate_mark_stale(rs);
		return false;
	} else {
		char msg[600];

		if (rc == CALL_OK)
			call_status_text(&resp, msg, sizeof(msg));
		else
			snprintf(msg, sizeof(msg), "%.560s", err.msg);
		log_error("heartbeat failed", "error=%s", msg);
		pause = third_left(rs);
		if (pause > 1000)
			pause = 1000;
	}
	client_resp_free(&resp);
	return pause <= 0 || call_sleep(pause, hb_abort, hb);
}

static void *
hb_main(void *arg)
{
	struct heartbeat *hb = arg;

	while (!atomic_load(&hb->stop) && beat(hb))
		;
	return NULL;
}

struct heartbeat *
heartbeat_start(struct runstate *rs, struct client *http)
{
	struct heartbeat *hb = xcalloc(1, sizeof(*hb));

	hb->rs = rs;
	hb->http = http;
	atomic_init(&hb->stop, false);
	if (pthread_create(&hb->thread, NULL, hb_main, hb) != 0)
		abort();
	return hb;
}

void
heartbeat_stop(struct heartbeat *hb)
{
	if (hb == NULL)
		return;
	atomic_store(&hb->stop, true);
	client_interrupt(hb->http);
	pthread_join(hb->thread, NULL);
	free(hb);
}
