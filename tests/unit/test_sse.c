/*
 * test_sse: the SSE parser fed with byte chunks split at every position, and
 * the follower against the stub server: resumption with Last-Event-ID, the
 * attempt reset, refused (re)connections, back-off until giving up, idle
 * streams and unreachable servers.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "sse.h"
#include "stub_httpd.h"

/* Events rendered as "type|id-or-dash|data\n" for easy comparison. */
struct rec {
	struct buf	 out;
	int		 stop_on_end;
	struct sse_follow *f;
};

static int
record(void *arg, const struct sse_event *ev)
{
	struct rec *r = arg;

	buf_addf(&r->out, "%s|%s|", ev->type, ev->has_id ? ev->id : "-");
	buf_add(&r->out, ev->data, ev->data_len);
	buf_addc(&r->out, '\n');
	if (r->f != NULL && strcmp(ev->type, "attempt") == 0)
		sse_follow_set_last_id(r->f, "0");
	if (r->stop_on_end && strcmp(ev->type, "end") == 0)
		return 7;
	return 0;
}

/* Parses s in one go, in single bytes, and split in two at every position;
 * each way must give expect. */
static void
parse_all_ways(const char *s, size_t n, const char *expect)
{
	struct sse_parser p;
	struct rec r;
	struct err e;

	for (size_t split = 0; split <= n + 1; split++) {
		buf_init(&r.out, 1 << 20);
		r.stop_on_end = 0;
		r.f = NULL;
		sse_parser_init(&p, 1 << 16, record, &r);
		if (split == n + 1) {
			for (size_t i = 0; i < n; i++)
				assert_int_equal(sse_parser_feed(&p, s + i, 1, &e), 0);
		} else {
			assert_int_equal(sse_parser_feed(&p, s, split, &e), 0);
			assert_int_equal(sse_parser_feed(&p, s + split, n - split, &e), 0);
		}
		assert_string_equal(buf_str(&r.out), expect);
		sse_parser_free(&p);
		buf_free(&r.out);
	}
}

static void
test_parser_basic_events(void **state)
{
	const char *s =
	    "event: status\ndata: {\"status\":\"running\"}\n\n"
	    ": keep-alive\n\n"
	    "event: log\nid: 17\ndata: {\"seq\":17}\n\n"
	    "event: end\ndata: {\"run_id\":1}\n\n";

	(void)state;
	parse_all_ways(s, strlen(s),
	    "status|-|{\"status\":\"running\"}\n"
	    "log|17|{\"seq\":17}\n"
	    "end|-|{\"run_id\":1}\n");
}

static void
test_parser_line_endings(void **state)
{
	const char *s = "event: a\r\ndata: 1\r\n\r\nevent: b\rdata: 2\r\rdata: 3\n\n";

	(void)state;
	parse_all_ways(s, strlen(s), "a|-|1\nb|-|2\nmessage|-|3\n");
}

static void
test_parser_fields(void **state)
{
	/* Multi-line data, no space after the colon, only one space removed, a
	 * bare "data" line, unknown fields, retry, id persistence, NUL in id. */
	static const char s[] =
	    "data: one\ndata:two\ndata:  three\ndata\nfoo: bar\nretry: 10\n\n"
	    "id: 5\ndata: x\n\n"
	    "data: y\n\n"
	    "id: 6\0z\ndata: w\n\n"
	    "event: nodata\nid: 9\n\n"
	    "data: after\n\n";
	size_t n = sizeof(s) - 1;

	(void)state;
	assert_int_equal(s[n - 1], '\n');
	parse_all_ways(s, n,
	    "message|-|one\ntwo\n three\n\n"
	    "message|5|x\n"
	    "message|-|y\n"
	    "message|-|w\n"
	    "message|-|after\n");
}

static void
test_parser_bom_and_id_persistence(void **state)
{
	struct sse_parser p;
	struct rec r = { .stop_on_end = 0 };
	struct err e;
	const char *s = "\xEF\xBB\xBFid: 3\ndata: a\n\ndata: b\n\n";
	int ids = 0;

	(void)state;
	parse_all_ways(s, strlen(s), "message|3|a\nmessage|-|b\n");
	/* The last event ID persists after an event without an id line. */
	buf_init(&r.out, 1024);
	sse_parser_init(&p, 1024, record, &r);
	assert_int_equal(sse_parser_feed(&p, s, strlen(s), &e), 0);
	assert_string_equal(buf_str(&p.id), "3");
	/* reset forgets a partial event, keeps the last ID */
	assert_int_equal(sse_parser_feed(&p, "data: partial\nda", 16, &e), 0);
	sse_parser_reset(&p);
	assert_int_equal(sse_parser_feed(&p, "data: fresh\n\n", 13, &e), 0);
	assert_string_equal(buf_str(&p.id), "3");
	ids = strstr(buf_str(&r.out), "partial") == NULL;
	assert_true(ids);
	assert_non_null(strstr(buf_str(&r.out), "message|-|fresh\n"));
	sse_parser_free(&p);
	buf_free(&r.out);
}

static void
test_parser_stop_and_limits(void **state)
{
	struct sse_parser p;
	struct rec r = { .stop_on_end = 1 };
	struct err e;
	const char *s = "event: end\ndata: {}\n\nevent: log\ndata: later\n\n";
	char big[200];

	(void)state;
	buf_init(&r.out, 1024);
	sse_parser_init(&p, 100, record, &r);
	assert_int_equal(sse_parser_feed(&p, s, strlen(s), &e), 7);
	assert_string_equal(buf_str(&r.out), "end|-|{}\n");
	sse_parser_free(&p);
	/* A line over the maximum is an error, wherever the chunks split it. */
	sse_parser_init(&p, 100, record, &r);
	memset(big, 'x', sizeof(big));
	assert_int_equal(sse_parser_feed(&p, "data: ", 6, &e), 0);
	assert_int_equal(sse_parser_feed(&p, big, 90, &e), 0);
	assert_int_equal(sse_parser_feed(&p, big, 90, &e), -1);
	assert_non_null(strstr(e.msg, "too long"));
	sse_parser_free(&p);
	/* So is event data that grows over it across lines. */
	sse_parser_init(&p, 100, record, &r);
	for (int i = 0; i < 20; i++) {
		int rc = sse_parser_feed(&p, "data: 0123456789\n", 17, &e);

		if (rc != 0) {
			assert_int_equal(rc, -1);
			assert_non_null(strstr(e.msg, "too large"));
			break;
		}
		assert_true(i < 10);
	}
	sse_parser_free(&p);
	buf_free(&r.out);
}

/* ---- follower against the stub server ---- */

static const char *scenario;
static int scenario_base;	/* index of the scenario's first request */

static int
sse_head(int fd)
{
	return stub_sendf(fd, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n");
}

static int
sse_chunk(int fd, const char *s)
{
	return stub_sendf(fd, "%zx\r\n%s\r\n", strlen(s), s);
}

static int
sse_finish(int fd)
{
	return stub_sendf(fd, "0\r\n\r\n");
}

static int
refuse(int fd, int status, const char *text, const char *msg)
{
	char body[256];

	snprintf(body, sizeof(body), "{\"error\":{\"code\":\"x\",\"message\":\"%s\"}}\n", msg);
	stub_sendf(fd, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
	    status, text, strlen(body), body);
	return 0;
}

static int
handler(int fd, const struct stub_req *r)
{
	int n = r->n - scenario_base;

	if (strcmp(scenario, "resume") == 0 || strcmp(scenario, "attempt") == 0) {
		if (n == 0) {
			sse_head(fd);
			sse_chunk(fd, "event: status\ndata: {\"status\":\"running\"}\n\n");
			sse_chunk(fd, "event: log\nid: 1\ndata: {\"seq\":1}\n\nevent: log\nid: 2\ndata: {\"seq\":2}\n\n");
			if (strcmp(scenario, "attempt") == 0)
				sse_chunk(fd, "event: attempt\ndata: {\"attempt_no\":2}\n\n");
			sse_chunk(fd, "event: log\nid: 3\ndata: {\"se");	/* cut mid-event */
			return -1;
		}
		if (n == 1)
			return refuse(fd, 503, "Service Unavailable", "busy");
		sse_head(fd);
		sse_chunk(fd, "event: status\ndata: {\"status\":\"completed\"}\n\n");
		sse_chunk(fd, "event: end\ndata: {\"status\":\"completed\"}\n\n");
		sse_finish(fd);
		return 0;
	}
	if (strcmp(scenario, "refused") == 0)
		return refuse(fd, 404, "Not Found", "run not found");
	if (strcmp(scenario, "first5xx") == 0)
		return refuse(fd, 500, "Internal Server Error", "internal error");
	if (strcmp(scenario, "reauth") == 0) {
		if (n == 0) {
			sse_head(fd);
			sse_chunk(fd, "event: status\ndata: {\"status\":\"queued\"}\n\n");
			sse_finish(fd);	/* ends without an end event */
			return 0;
		}
		return refuse(fd, 401, "Unauthorized", "invalid or missing token");
	}
	if (strcmp(scenario, "giveup") == 0) {
		if (n == 0) {
			sse_head(fd);
			sse_chunk(fd, ": keep-alive\n\n");
			return -1;
		}
		return refuse(fd, 502, "Bad Gateway", "upstream gone");
	}
	if (strcmp(scenario, "idle") == 0) {
		sse_head(fd);
		if (n == 0) {
			sse_chunk(fd, "event: status\ndata: {\"status\":\"running\"}\n\n");
			stub_wait_close(fd);
			return -1;
		}
		sse_chunk(fd, "event: end\ndata: {}\n\n");
		sse_finish(fd);
		return 0;
	}
	return refuse(fd, 400, "Bad Request", "unknown scenario");
}

static int
follower_setup(void **state)
{
	(void)state;
	client_global_init();
	return stub_start(handler);
}

static int
follower_teardown(void **state)
{
	(void)state;
	stub_stop();
	return 0;
}

/* Runs a follower for the scenario; the caller frees rec->out. */
static enum sse_outcome
follow(const char *name, struct sse_follow *f, struct rec *rec, int *first_req)
{
	char url[64];
	enum sse_outcome o;

	scenario = name;
	*first_req = stub_nreqs();
	scenario_base = *first_req;
	stub_url(url, sizeof(url));
	buf_init(&rec->out, 1 << 20);
	rec->stop_on_end = 1;
	rec->f = f;
	f->client = client_new(url);
	f->path = "/api/v1/runs/1/logs/stream?after_seq=0";
	f->bearer = "mtk_x";
	f->retry_first_ms = 10;
	f->retry_max_ms = 40;
	f->on_event = record;
	f->arg = rec;
	o = sse_follow_run(f);
	client_free(f->client);
	return o;
}

static void
test_follow_resumes_with_last_event_id(void **state)
{
	struct sse_follow f = { .give_up_ms = 60000 };
	struct rec rec;
	int first;
	char *h0, *h1, *h2;

	(void)state;
	sse_follow_set_last_id(&f, "0");
	assert_int_equal(follow("resume", &f, &rec, &first), SSE_STOPPED);
	assert_int_equal(f.stop, 7);
	assert_int_equal(f.reconnects, 1);
	assert_string_equal(buf_str(&rec.out),
	    "status|-|{\"status\":\"running\"}\n"
	    "log|1|{\"seq\":1}\nlog|2|{\"seq\":2}\n"
	    "status|-|{\"status\":\"completed\"}\nend|-|{\"status\":\"completed\"}\n");
	h0 = stub_head(first);
	h1 = stub_head(first + 1);
	h2 = stub_head(first + 2);
	assert_non_null(strstr(h0, "GET /api/v1/runs/1/logs/stream?after_seq=0 HTTP/1.1\r\n"));
	assert_non_null(strstr(h0, "\r\nAccept: text/event-stream\r\n"));
	assert_non_null(strstr(h0, "\r\nAuthorization: Bearer mtk_x\r\n"));
	assert_null(strstr(h0, "Last-Event-ID"));
	assert_non_null(strstr(h1, "\r\nLast-Event-ID: 2\r\n"));
	assert_non_null(strstr(h2, "\r\nLast-Event-ID: 2\r\n"));
	free(h0);
	free(h1);
	free(h2);
	buf_free(&rec.out);
}

static void
test_follow_attempt_resets_resume_id(void **state)
{
	struct sse_follow f = { .give_up_ms = 60000 };
	struct rec rec;
	int first;
	char *h;

	(void)state;
	sse_follow_set_last_id(&f, "0");
	assert_int_equal(follow("attempt", &f, &rec, &first), SSE_STOPPED);
	h = stub_head(first + 2);
	assert_non_null(strstr(h, "\r\nLast-Event-ID: 0\r\n"));
	free(h);
	buf_free(&rec.out);
}

static void
test_follow_refused(void **state)
{
	struct sse_follow f = { 0 };
	struct rec rec;
	int first;

	(void)state;
	assert_int_equal(follow("refused", &f, &rec, &first), SSE_REFUSED);
	assert_int_equal(f.status, 404);
	assert_string_equal(f.message, "run not found");
	buf_free(&rec.out);
	/* Before the stream started even a 5xx ends it. */
	memset(&f, 0, sizeof(f));
	assert_int_equal(follow("first5xx", &f, &rec, &first), SSE_REFUSED);
	assert_int_equal(f.status, 500);
	assert_int_equal(stub_nreqs() - first, 1);
	buf_free(&rec.out);
	/* A 4xx on a reconnection ends it too. */
	memset(&f, 0, sizeof(f));
	sse_follow_set_last_id(&f, "12");
	assert_int_equal(follow("reauth", &f, &rec, &first), SSE_REFUSED);
	assert_int_equal(f.status, 401);
	assert_string_equal(f.message, "invalid or missing token");
	{
		char *h = stub_head(first + 1);

		/* No line seen: the starting after_seq is the resume point. */
		assert_non_null(strstr(h, "\r\nLast-Event-ID: 12\r\n"));
		free(h);
	}
	buf_free(&rec.out);
}

static void
test_follow_gives_up(void **state)
{
	struct sse_follow f = { .give_up_ms = 200 };
	struct rec rec;
	int first;

	(void)state;
	assert_int_equal(follow("giveup", &f, &rec, &first), SSE_LOST);
	assert_string_equal(f.message, "upstream gone");
	/* it retried more than once, with a bounded number of tries */
	assert_true(stub_nreqs() - first >= 3);
	buf_free(&rec.out);
}

static void
test_follow_idle_and_unreachable(void **state)
{
	struct sse_follow f = { .idle_ms = 300 };
	struct rec rec;
	int first;

	(void)state;
	assert_int_equal(follow("idle", &f, &rec, &first), SSE_STOPPED);
	assert_int_equal(stub_nreqs() - first, 2);
	buf_free(&rec.out);
	memset(&f, 0, sizeof(f));
	f.client = client_new("http://127.0.0.1:1");
	f.path = "/x";
	f.on_event = record;
	f.arg = &rec;
	buf_init(&rec.out, 1024);
	assert_int_equal(sse_follow_run(&f), SSE_UNREACHABLE);
	assert_true(f.message[0] != '\0');
	client_free(f.client);
	buf_free(&rec.out);
}

int
main(void)
{
	const struct CMUnitTest parser[] = {
		cmocka_unit_test(test_parser_basic_events),
		cmocka_unit_test(test_parser_line_endings),
		cmocka_unit_test(test_parser_fields),
		cmocka_unit_test(test_parser_bom_and_id_persistence),
		cmocka_unit_test(test_parser_stop_and_limits),
	};
	const struct CMUnitTest follower[] = {
		cmocka_unit_test(test_follow_resumes_with_last_event_id),
		cmocka_unit_test(test_follow_attempt_resets_resume_id),
		cmocka_unit_test(test_follow_refused),
		cmocka_unit_test(test_follow_gives_up),
		cmocka_unit_test(test_follow_idle_and_unreachable),
	};
	int fails = cmocka_run_group_tests_name("parser", parser, NULL, NULL);

	return fails + cmocka_run_group_tests_name("follower", follower, follower_setup, follower_teardown);
}
