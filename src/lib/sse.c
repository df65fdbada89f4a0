/*
 * sse: the Server-Sent Events parser (WHATWG "interpreting an event stream")
 * and a follower that reads a stream over the shared HTTP client, resumes
 * with Last-Event-ID after a drop, and backs off between attempts; also the
 * encoder of one event that minitowerd's log stream writes. The parser never
 * sees the transport, so tests feed it arbitrary byte chunks.
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "sse.h"
#include "util.h"

#define SSE_MAX_DEFAULT (16u * 1024 * 1024)

void
sse_parser_init(struct sse_parser *p, size_t max, sse_event_fn *on_event, void *arg)
{
	memset(p, 0, sizeof(*p));
	p->on_event = on_event;
	p->arg = arg;
	buf_init(&p->line, max);
	buf_init(&p->data, max);
	buf_init(&p->type, 256);
	buf_init(&p->id, 256);
	p->first_line = true;
}

void
sse_parser_free(struct sse_parser *p)
{
	buf_free(&p->line);
	buf_free(&p->data);
	buf_free(&p->type);
	buf_free(&p->id);
}

void
sse_parser_reset(struct sse_parser *p)
{
	buf_reset(&p->line);
	buf_reset(&p->data);
	buf_reset(&p->type);
	p->has_id = false;
	p->after_cr = false;
	p->first_line = true;
}

static int
dispatch(struct sse_parser *p)
{
	struct sse_event ev;
	int rc;

	if (p->data.len == 0) {
		buf_reset(&p->type);
		p->has_id = false;
		return 0;
	}
	/* The last data line's "\n" is not part of the data. */
	p->data.len--;
	p->data.data[p->data.len] = '\0';
	ev.type = p->type.len > 0 ? buf_str(&p->type) : "message";
	ev.data = buf_str(&p->data);
	ev.data_len = p->data.len;
	ev.has_id = p->has_id;
	ev.id = buf_str(&p->id);
	rc = p->on_event(p->arg, &ev);
	buf_reset(&p->data);
	buf_reset(&p->type);
	p->has_id = false;
	return rc;
}

static bool
field_is(const char *f, size_t n, const char *name)
{
	return strlen(name) == n && memcmp(f, name, n) == 0;
}

/* Interprets one complete line (without its terminator). */
static int
process_line(struct sse_parser *p, const char *s, size_t n, struct err *err)
{
	const char *colon, *v = "";
	size_t flen = n, vlen = 0;

	if (p->first_line && n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
		s += 3;
		n -= 3;
		flen = n;
	}
	p->first_line = false;
	if (n == 0)
		return dispatch(p);
	if (s[0] == ':')
		return 0;
	colon = memchr(s, ':', n);
	if (colon != NULL) {
		flen = (size_t)(colon - s);
		v = colon + 1;
		vlen = n - flen - 1;
		if (vlen > 0 && *v == ' ') {
			v++;
			vlen--;
		}
	}
	if (field_is(s, flen, "event")) {
		buf_reset(&p->type);
		buf_add(&p->type, v, vlen);
	} else if (field_is(s, flen, "data")) {
		buf_add(&p->data, v, vlen);
		buf_addc(&p->data, '\n');
	} else if (field_is(s, flen, "id") && memchr(v, '\0', vlen) == NULL) {
		buf_reset(&p->id);
		buf_add(&p->id, v, vlen);
		p->has_id = true;
	}
	if (!buf_ok(&p->data) || !buf_ok(&p->type) || !buf_ok(&p->id))
		return err_set(err, ERR_INVALID, "event stream: event too large");
	return 0;
}

int
sse_parser_feed(struct sse_parser *p, const char *data, size_t len, struct err *err)
{
	size_t i = 0;
	int rc;

	while (i < len) {
		size_t j = i;

		if (p->after_cr && data[i] == '\n') {
			p->after_cr = false;
			i++;
			continue;
		}
		p->after_cr = false;
		while (j < len && data[j] != '\n' && data[j] != '\r')
			j++;
		if (buf_add(&p->line, data + i, j - i) == -1)
			return err_set(err, ERR_INVALID, "event stream: line too long");
		if (j == len)
			break;
		p->after_cr = data[j] == '\r';
		i = j + 1;
		rc = process_line(p, p->line.data != NULL ? p->line.data : "", p->line.len, err);
		buf_reset(&p->line);
		if (rc != 0)
			return rc;
	}
	return 0;
}

int
sse_encode_event(struct buf *out, const char *type, int64_t id, const char *data, size_t len)
{
	size_t i = 0, j;

	assert(type[0] != '\0' && strpbrk(type, "\r\n") == NULL);
	buf_addf(out, "event: %s\n", type);
	if (id >= 0)
		buf_addf(out, "id: %lld\n", (long long)id);
	for (;;) {
		for (j = i; j < len && data[j] != '\n' && data[j] != '\r'; j++)
			;
		buf_adds(out, "data: ");
		buf_add(out, data + i, j - i);
		buf_addc(out, '\n');
		if (j == len)
			break;
		i = j + (data[j] == '\r' && j + 1 < len && data[j + 1] == '\n' ? 2 : 1);
	}
	buf_addc(out, '\n');
	return buf_ok(out) ? 0 : -1;
}

void
sse_follow_set_last_id(struct sse_follow *f, const char *id)
{
	snprintf(f->last_id, sizeof(f->last_id), "%s", id);
}

/* Per-connection state of the follower. */
struct conn {
	struct sse_follow	*f;
	struct sse_parser	 parser;
	struct err		 err;
	int			 failed;	/* the parser reported an error */
	int			 got_bytes;	/* the stream delivered something */
};

static int
conn_event(void *arg, const struct sse_event *ev)
{
	struct conn *c = arg;

	if (ev->has_id)
		sse_follow_set_last_id(c->f, ev->id);
	return c->f->on_event(c->f->arg, ev);
}

static int
conn_sink(void *arg, const char *data, size_t len)
{
	struct conn *c = arg;
	int rc;

	c->got_bytes = 1;
	rc = sse_parser_feed(&c->parser, data, len, &c->err);
	if (rc == -1) {
		c->failed = 1;
		return 1;
	}
	if (rc != 0)
		c->f->stop = rc;
	return rc;
}

enum attempt_result { ATT_STOPPED, ATT_DROPPED, ATT_RETRYABLE, ATT_REFUSED, ATT_BROKEN };

/* One connection: returns how it ended; f->message / f->status explain. */
static enum attempt_result
attempt(struct sse_follow *f, int resume, int *connected)
{
	struct client_header hdrs[] = {
		{ "Accept", "text/event-stream" }, { "Last-Event-ID", f->last_id }, { NULL, NULL },
	};
	struct conn c = { .f = f };
	struct client_req req = {
		.method = "GET", .path = f->path, .bearer = f->bearer, .download_fd = -1,
		.headers = hdrs, .sink = conn_sink, .sink_arg = &c,
		.stall_bytes = 1, .stall_ms = f->idle_ms,
	};
	struct client_resp resp;
	struct err err;
	enum attempt_result r;

	if (!resume)
		hdrs[1].name = NULL;
	*connected = 0;
	sse_parser_init(&c.parser, f->max_event, conn_event, &c);
	client_resp_init(&resp);
	if (client_do(f->client, &req, &resp, &err) == -1) {
		snprintf(f->message, sizeof(f->message), "%s", err.msg);
		r = ATT_DROPPED;
		*connected = c.got_bytes;
		goto out;
	}
	if (resp.status < 200 || resp.status > 299) {
		f->status = resp.status;
		client_error_message(&resp, f->message, sizeof(f->message));
		r = resp.status >= 500 || resp.status == 408 || resp.status == 429 ? ATT_RETRYABLE : ATT_REFUSED;
		goto out;
	}
	*connected = 1;
	if (c.failed) {
		snprintf(f->message, sizeof(f->message), "%s", c.err.msg);
		r = ATT_BROKEN;
	} else if (resp.sink_stopped) {
		r = ATT_STOPPED;
	} else {
		snprintf(f->message, sizeof(f->message), "event stream ended unexpectedly");
		r = ATT_DROPPED;
	}
out:
	sse_parser_free(&c.parser);
	client_resp_free(&resp);
	return r;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static void
defaults(struct sse_follow *f)
{
	if (f->retry_first_ms <= 0)
		f->retry_first_ms = 2000;
	if (f->retry_max_ms <= 0)
		f->retry_max_ms = 30000;
	if (f->give_up_ms <= 0)
		f->give_up_ms = 300000;
	if (f->idle_ms <= 0)
		f->idle_ms = 45000;
	if (f->max_event == 0)
		f->max_event = SSE_MAX_DEFAULT;
}

enum sse_outcome
sse_follow_run(struct sse_follow *f)
{
	enum attempt_result r;
	int64_t fail_start = 0;
	long wait = 0;
	int connected, ever = 0, failing = 0;

	defaults(f);
	for (;;) {
		if (failing)
			sleep_ms(wait);
		r = attempt(f, ever, &connected);
		if (connected && ever && failing)
			f->reconnects++;
		if (connected)
			ever = 1;
		switch (r) {
		case ATT_STOPPED:
			return SSE_STOPPED;
		case ATT_REFUSED:
			return SSE_REFUSED;
		case ATT_BROKEN:
			return SSE_BROKEN;
		case ATT_DROPPED:
		case ATT_RETRYABLE:
			break;
		}
		if (!ever)
			return r == ATT_RETRYABLE ? SSE_REFUSED : SSE_UNREACHABLE;
		if (connected || !failing) {
			/* A fresh failure run starts (the stream worked until now). */
			failing = 1;
			fail_start = mono_ms();
			wait = f->retry_first_ms;
			continue;
		}
		if (mono_ms() - fail_start >= f->give_up_ms)
			return SSE_LOST;
		wait = wait * 2 > f->retry_max_ms ? f->retry_max_ms : wait * 2;
	}
}
