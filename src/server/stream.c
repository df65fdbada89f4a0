/*
 * stream: the log event stream of a run (api.md §1.6.9). The handler checks
 * the request and builds the initial `status` event and the replay on the
 * worker; from then on http.c calls sse_fill() whenever the stream may
 * write, and parks it on the run's wake-ups otherwise. Each fill step reads
 * the run first and the new lines second, so a terminal status or a newer
 * attempt seen in a step guarantees the lines drained after it are complete.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "api_runs.h"
#include "encode.h"
#include "json.h"
#include "notify.h"
#include "sse.h"
#include "store.h"
#include "util.h"

#define REPLAY_PAGE 1000
#define FOLLOW_PAGE 100
#define CHUNK ((size_t)1 << 20)		/* initial bytes handed out per fill */
#define KEEPALIVE_MS 15000

struct sse {
	int64_t	 run_id;
	char	 token_hash[65];
	bool	 fixed;			/* attempt= given: never move on */
	int64_t	 attempt_id;		/* 0 until the run has an attempt */
	int64_t	 attempt_no;
	int64_t	 after_seq;		/* for the first attempt only */
	int64_t	 last_id;		/* highest run_logs.id sent */
	char	 last_status[STORE_STATUS_MAX];
	struct buf initial;		/* status event and replay */
	size_t	 initial_off;
	int64_t	 last_emit_ms;
};

static const char *const freeform[] = { "input", NULL };

/* The JSON holds no raw CR or LF, so it stays one data line (fuzz_sse). */
static void
event_json(struct buf *out, const char *event, int64_t id, const json_t *v)
{
	struct buf data;

	buf_init(&data, out->max);
	json_encode(&data, v, freeform, false);
	if (sse_encode_event(out, event, id, buf_str(&data), data.len) == -1 || !buf_ok(&data))
		out->overflow = true;
	buf_free(&data);
}

static void
event_log(struct buf *out, const struct log_entry *e)
{
	json_t *v = encode_log(e);

	event_json(out, "log", e->seq, v);
	json_decref(v);
}

static void
event_status(struct buf *out, const char *status)
{
	buf_addf(out, "event: status\ndata: {\"status\":\"%s\"}\n\n", status);
}

static bool
terminal(const char *status)
{
	return strcmp(status, "completed") == 0 || strcmp(status, "failed") == 0 ||
	    strcmp(status, "cancelled") == 0 || strcmp(status, "dead") == 0;
}

/* Replays the stored lines of the attempt (seq > after_seq), up to the
 * highest id at this moment; later lines come through the follow query. */
static int
replay(struct sse *s, struct err *err)
{
	struct log_entry *e;
	int64_t after = s->after_seq, snap;
	size_t n, i;

	if (s->attempt_id == 0)
		return 0;
	if (store_log_max_id(s->attempt_id, &snap, err) == -1)
		return -1;
	s->last_id = snap;
	if (snap == 0)
		return 0;
	do {
		if (store_log_page(s->attempt_id, after, snap, REPLAY_PAGE, &e, &n, err) == -1)
			return -1;
		for (i = 0; i < n; i++) {
			event_log(&s->initial, &e[i]);
			after = e[i].seq;
		}
		store_logs_free(e, n);
	} while (n == REPLAY_PAGE);
	return buf_ok(&s->initial) ? 0 : err_set(err, ERR_INTERNAL, "replay too large");
}

/* Drains new lines of the current attempt: 1 when the page was full. */
static int
drain(struct sse *s, struct buf *out, bool *emitted, struct err *err)
{
	struct log_entry *e;
	size_t n, i;

	if (s->attempt_id == 0)
		return 0;
	if (store_log_follow(s->attempt_id, s->last_id, s->after_seq, FOLLOW_PAGE, &e, &n,
	    err) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		event_log(out, &e[i]);
		s->last_id = e[i].id;
		*emitted = true;
	}
	store_logs_free(e, n);
	return n == FOLLOW_PAGE ? 1 : 0;
}

/* One step: 1 data added, 0 nothing new, -1 the stream ended (end event
 * added), -2 a database error. */
static int
step(struct sse *s, struct buf *out)
{
	struct run r;
	struct err err;
	int64_t lid = 0, lno = 0;
	bool emitted = false;
	int rc;

	if (store_run_get(0, s->run_id, &r, &err) == -1)
		return -2;
	if ((!s->fixed && store_attempt_latest(s->run_id, &lid, &lno, &err) == -1) ||
	    (rc = drain(s, out, &emitted, &err)) == -1) {
		store_run_clear(&r);
		return -2;
	}
	if (rc == 0 && strcmp(r.status, s->last_status) != 0) {
		event_status(out, r.status);
		snprintf(s->last_status, sizeof(s->last_status), "%s", r.status);
		emitted = true;
	}
	if (rc == 0 && !s->fixed && lno > s->attempt_no) {
		buf_addf(out, "event: attempt\ndata: {\"attempt_no\":%lld}\n\n", (long long)lno);
		s->attempt_id = lid;
		s->attempt_no = lno;
		s->last_id = 0;
		s->after_seq = 0;
		emitted = true;
	} else if (rc == 0 && terminal(r.status)) {
		json_t *v = encode_run(&r);

		event_json(out, "end", -1, v);
		json_decref(v);
		store_run_clear(&r);
		return -1;
	}
	store_run_clear(&r);
	return emitted ? 1 : 0;
}

static int
sse_fill(void *ctx, struct buf *out, enum wake_reason wake, int64_t *wait_run, uint64_t *gen)
{
	struct sse *s = ctx;
	int64_t now = steady_ms();
	int rc;

	if (s->initial_off < s->initial.len) {
		size_t n = s->initial.len - s->initial_off;

		n = n < CHUNK ? n : CHUNK;
		buf_add(out, s->initial.data + s->initial_off, n);
		s->initial_off += n;
		s->last_emit_ms = now;
		return 1;
	}
	if (wake == WAKE_SHUTDOWN)
		return -1;
	if (wake == WAKE_TIMEOUT || now - s->last_emit_ms >= KEEPALIVE_MS) {
		if (!store_team_token_valid(s->token_hash))
			return -1;
		buf_adds(out, ": keep-alive\n\n");
		s->last_emit_ms = now;
		return 1;
	}
	*gen = notify_gen();	/* before the step's reads: no wake-up is lost */
	rc = step(s, out);
	if (rc == 0) {
		*wait_run = s->run_id;
		return 0;
	}
	s->last_emit_ms = now;
	return rc == 1 ? 1 : -1;
}

static void
sse_free(void *ctx)
{
	struct sse *s = ctx;

	if (s == NULL)
		return;
	buf_free(&s->initial);
	free(s);
}

void
api_run_stream(struct req *rq, struct resp *rs)
{
	struct log_sel sel;
	struct run run;
	struct err err;
	struct sse *s;
	int64_t attempt_id, attempt_no;

	if (runs_log_request(rq, rs, true, &run, &sel, &attempt_id, &attempt_no) == -1)
		return;
	s = xcalloc(1, sizeof(*s));
	buf_init(&s->initial, (size_t)1 << 31);
	s->run_id = run.id;
	snprintf(s->token_hash, sizeof(s->token_hash), "%s", rq->team.token_hash);
	s->fixed = sel.attempt_no > 0;
	s->attempt_id = attempt_id;
	s->attempt_no = attempt_no;
	s->after_seq = sel.after_seq;
	snprintf(s->last_status, sizeof(s->last_status), "%s", run.status);
	event_status(&s->initial, run.status);
	store_run_clear(&run);
	if (replay(s, &err) == -1) {
		sse_free(s);
		runs_fail(rs, &err, "stream logs");
		return;
	}
	rs->stream = xcalloc(1, sizeof(*rs->stream));
	rs->stream->fill = sse_fill;
	rs->stream->free = sse_free;
	rs->stream->ctx = s;
}
