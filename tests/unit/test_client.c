/*
 * test_client: src/lib/client.c against a tiny HTTP/1.1 server running in a
 * thread of this test on 127.0.0.1. The server answers canned responses by
 * path and records what it received, so the tests check status, body,
 * captured headers, keep-alive, uploads, downloads, transport errors, and
 * the abort test and client_interrupt that end a waiting request.
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "client.h"
#include "stub_httpd.h"

/* Copies of the last request the server received. */
static char *seen_head, *seen_body;
static size_t seen_body_len;

/* Answers one request; returns -1 to close the connection. */
static int
answer(int fd, const struct stub_req *r)
{
	const char *path = r->path;
	if (strcmp(path, "/ok") == 0)
		return stub_sendf(fd, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
		    "X-Request-Id: abc123\r\nx-lease-remaining-ms: 29876\r\n"
		    "X-Artifact-SHA256: 0123abcd\r\nX-Entrypoint:   ./main.py  \r\n"
		    "X-Timeout-Seconds: 60\r\nX-Import-Paths: [\"./lib\"]\r\n"
		    "Retry-After: 3\r\nIdempotent-Replayed: true\r\n"
		    "Date: Sun, 29 Nov 2026 20:00:00 GMT\r\n"
		    "Content-Length: 16\r\n\r\n{\"status\":\"ok\"}\n");
	if (strcmp(path, "/echo") == 0 || strcmp(path, "/upload") == 0) {
		if (stub_sendf(fd, "HTTP/1.1 201 Created\r\nContent-Length: %zu\r\n\r\n", r->body_len) == -1)
			return -1;
		return stub_send(fd, r->body, r->body_len);
	}
	if (strcmp(path, "/envelope") == 0)
		return stub_sendf(fd, "HTTP/1.1 404 Not Found\r\nContent-Length: 56\r\n\r\n"
		    "{\"error\":{\"code\":\"not_found\",\"message\":\"app not found\"}}");
	if (strcmp(path, "/plain") == 0)
		return stub_sendf(fd, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 14\r\n\r\n  proxy down \n");
	if (strcmp(path, "/empty404") == 0)
		return stub_sendf(fd, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
	if (strcmp(path, "/longheader") == 0) {
		char *v = xmalloc(5001);

		memset(v, 'a', 5000);
		v[5000] = '\0';
		stub_sendf(fd, "HTTP/1.1 200 OK\r\nX-Entrypoint: %s\r\nContent-Length: 0\r\n\r\n", v);
		free(v);
		return 0;
	}
	if (strcmp(path, "/download") == 0)
		return stub_sendf(fd, "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello bytes");
	if (strcmp(path, "/huge") == 0) {
		size_t n = (16u << 20) + 10;
		char *p = xmalloc(n);

		memset(p, 'x', n);
		stub_sendf(fd, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n", n);
		stub_send(fd, p, n);
		free(p);
		return -1;
	}
	if (strcmp(path, "/stream") == 0) {
		stub_sendf(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
		for (int i = 0; i < 5; i++)
			if (stub_sendf(fd, "6\r\nchunk%d\r\n", i) == -1)
				return -1;
		stub_wait_close(fd);
		return -1;
	}
	if (strcmp(path, "/stall") == 0) {
		stub_sendf(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc");
		stub_wait_close(fd);
		return -1;
	}
	if (strcmp(path, "/cut") == 0) {
		stub_sendf(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc");
		return -1;
	}
	if (strcmp(path, "/hang") == 0) {
		stub_wait_close(fd);
		return -1;
	}
	return stub_sendf(fd, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
}

static int
server_start(void **state)
{
	(void)state;
	client_global_init();
	return stub_start(answer);
}

static int
server_stop(void **state)
{
	(void)state;
	stub_stop();
	free(seen_head);
	free(seen_body);
	return 0;
}

static struct client *
new_client(void)
{
	char url[64];

	snprintf(url, sizeof(url), "http://127.0.0.1:%d///", stub.port);
	return client_new(url);
}


static void
snapshot(void)
{
	free(seen_head);
	free(seen_body);
	seen_head = stub_head(-1);
	seen_body = stub_body(-1, &seen_body_len);
}

static void
test_get_status_body_headers(void **state)
{
	struct client *c = new_client();
	struct client_resp r;
	struct client_req q = { .method = "GET", .path = "/ok", .download_fd = -1 };
	struct err e;

	(void)state;
	client_resp_init(&r);
	assert_int_equal(client_do(c, &q, &r, &e), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(buf_str(&r.body), "{\"status\":\"ok\"}\n");
	assert_string_equal(r.request_id, "abc123");
	assert_string_equal(r.lease_remaining_ms, "29876");
	assert_string_equal(r.artifact_sha256, "0123abcd");
	assert_string_equal(r.entrypoint, "./main.py");
	assert_string_equal(r.timeout_seconds, "60");
	assert_string_equal(r.import_paths, "[\"./lib\"]");
	assert_string_equal(r.retry_after, "3");
	assert_string_equal(r.replayed, "true");
	assert_string_equal(r.content_type, "application/json");
	assert_string_equal(r.date, "Sun, 29 Nov 2026 20:00:00 GMT");
	assert_int_equal(r.header_truncated, 0);
	q.path = "/longheader";
	assert_int_equal(client_do(c, &q, &r, &e), 0);
	assert_int_equal(r.header_truncated, 1);
	assert_int_equal(strlen(r.entrypoint), sizeof(r.entrypoint) - 1);
	assert_string_equal(r.request_id, "");
	client_resp_free(&r);
	client_free(c);
}

static void
test_keepalive_reuses_connection(void **state)
{
	struct client *c = new_client();
	struct client_resp r;
	struct client_req q = { .method = "GET", .path = "/ok", .download_fd = -1 };
	struct err e;
	int before;

	(void)state;
	client_resp_init(&r);
	assert_int_equal(client_do(c, &q, &r, &e), 0);
	before = stub_nconns();
	for (int i = 0; i < 5; i++) {
		assert_int_equal(client_do(c, &q, &r, &e), 0);
		assert_int_equal(r.status, 200);
	}
	assert_int_equal(stub_nconns(), before);
	client_resp_free(&r);
	client_free(c);
}

static void
test_post_json_with_bearer(void **state)
{
	struct client *c = new_client();
	struct client_resp r;
	struct client_header extra[] = { { "Idempotency-Key", "k1" }, { NULL, NULL } };
	const char *body = "{\"slug\":\"x\"}";
	struct client_req q = { .method = "POST", .path = "/echo", .bearer = "mtk_secret",
	    .headers = extra, .body = body, .body_len = strlen(body), .download_fd = -1,
	    .timeout_ms = 30000 };
	struct err e;

	(void)state;
	client_resp_init(&r);
	assert_int_equal(client_do(c, &q, &r, &e), 0);
	snapshot();
	assert_int_equal(r.status, 201);
	assert_string_equal(buf_str(&r.body), body);
	assert_non_null(strstr(seen_head, "POST /echo HTTP/1.1\r\n"));
	assert_non_null(strstr(seen_head, "\r\nAuthorization: Bearer mtk_secret\r\n"));
	assert_non_null(strstr(seen_head, "\r\nContent-Type: application/json\r\n"));
	assert_non_null(strstr(seen_head, "\r\nIdempotency-Key: k1\r\n"));
	assert_null(strcasestr(seen_head, "Expect:"));
	client_resp_free(&r);
	client_free(c);
}

static void
test_post_without_body_and_delete(void **state)
{
	struct client *c = new_client();
	struct client_resp r;
	struct client_req q = { .method = "POST", .path = "/echo", .download_fd = -1 };
	struct err e;

	(void)state;
	client_resp_init(&r);
	assert_int_equal(client_do(c, &q, &r, &e), 0);
	snapshot();
	assert_int_equal(r.status, 201);
	assert_non_null(strstr(seen_head, "\r\nContent-Length: 0\r\n"));
	assert_null(strcasestr(seen_head, "Content-Type"));
	assert_null(strcasestr(seen_head, "Authorization"));
	q.method = "DELETE";
	assert_int_equal(client_do(c, &q, &r, &e), 0);
	snapshot();
	assert_non_null(strstr(seen_head, "DELETE /echo HTTP/1.1\r\n"));
	client_resp_free(&r);
	client_free(c);
}

static void
test_error_messages(void **state)
{
	struct client *c = new_client();
	struct client_resp r;
	struct client_req q = { .method = "GET", .path = "/envelope", .download_fd = -1 };
	struct err e;
	char msg[128];

	(void)state;
	client_resp_init(&r);
	assert_int_equal(client_do(c, &q, &r, &e), 0);
	assert_int_equal(r.status, 404);
	client_error_message(&r, msg, sizeof(msg));
	assert_string_equal(msg, "app not found");
	q.path = "/plain";
	assert_int_equal(client_do(c, &q, &r, &e), 0);
	assert_int_equal(r.status, 502);
	client_error_message(&r, msg, sizeof(msg));
	assert_string_equal(msg, "proxy down");
	q.path = "/empty404";
	assert_int_equal(client_do(c, &q, &r, &e), 0);
	client_error_message(&r, msg, sizeof(msg));
	assert_string_equal(msg, "Not Found");
	client_resp_free(&r);
	client_free(c);
}

static void
test_download_fd(void **state)
{
	struct client *c = new_client();
	struct client_resp r;
	char tmpl[] = "/tmp/test_client_XXXXXX", got[64];
	int fd = mkstemp(tmpl);
	struct client_req q = { .method = "GET", .path = "/download", .download_fd = fd };
	struct err e;
	ssize_t n;

	(void)state;
	assert_true(fd >= 0);
	unlink(tmpl);
	client_resp_init(&r);
	assert_int_equal(client_do(c, &q, &r, &e), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body.len, 0);
	n = pread(fd, got, sizeof(got) - 1, 0);
	assert_int_equal(n, 11);
	got[n] = '\0';
	assert_string_equal(got, "hello bytes");
	/* An error body goes to resp->body, not to the file. */
	q.path = "/envelope";
	assert_int_equal(client_do(c, &q, &r, &e), 0);
	assert_int_equal(r.status, 404);
	assert_non_null(strstr(buf_str(&r.body), "app not found"));
	assert_int_equal(lseek(fd, 0, SEEK_END), 11);
	close(fd);
	client_resp_free(&r);
	client_free(c);
}

static void
test_upload_multipart(void **state)
{
	struct client *c = new_client();
	struct client_resp r;
	char tmpl[] = "/tmp/test_client_XXXXXX";
	int fd = mkstemp(tmpl);
	struct client_req q = { .method = "POST", .path = "/upload", .bearer = "t",
	    .upload_file = tmpl, .upload_name = "artifact.tar.gz", .download_fd = -1,
	    .stall_bytes = 1024, .stall_ms = 30000, .progress = 1 };
	struct err e;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "ARCHIVE\0BYTES", 13), 13);
	close(fd);
	client_resp_init(&r);
	assert_int_equal(client_do(c, &q, &r, &e), 0);
	snapshot();
	assert_int_equal(r.status, 201);
	assert_non_null(strcasestr(seen_head, "\r\nContent-Type: multipart/form-data; boundary="));
	assert_null(strcasestr(seen_head, "Expect:"));
	assert_non_null(strstr(seen_body,
	    "Content-Disposition: form-data; name=\"artifact\"; filename=\"artifact.tar.gz\""));
	assert_non_null(memmem(seen_body, seen_body_len, "\r\n\r\nARCHIVE\0BYTES\r\n", 19));
	unlink(tmpl);
	/* A file that cannot be read is a local error, nothing is sent. */
	assert_int_equal(client_do(c, &q, &r, &e), -1);
	assert_int_equal(e.code, ERR_IO);
	assert_non_null(strstr(e.msg, "No such file"));
	client_resp_free(&r);
	client_free(c);
}

static int
collect(void *arg, const char *data, size_t len)
{
	struct buf *b = arg;

	buf_add(b, data, len);
	return strstr(buf_str(b), "chunk4") != NULL;
}

static void
test_sink_streams_and_stops(void **state)
{
	struct client *c = new_client();
	struct client_resp r;
	struct buf got;
	struct client_req q = { .method = "GET", .path = "/stream", .download_fd = -1,
	    .sink = collect, .sink_arg = &got };
	struct err e;

	(void)state;
	buf_init(&got, 1024);
	client_resp_init(&r);
	assert_int_equal(client_do(c, &q, &r, &e), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.sink_stopped, 1);
	assert_string_equal(buf_str(&got), "chunk0chunk1chunk2chunk3chunk4");
	buf_free(&got);
	client_resp_free(&r);
	client_free(c);
}

static void
test_transport_errors(void **state)
{
	struct client *c = new_client(), *dead = client_new("http://127.0.0.1:1");
	struct client_resp r;
	struct client_req q = { .method = "GET", .path = "/cut", .download_fd = -1 };
	struct err e;

	(void)state;
	client_resp_init(&r);
	assert_int_equal(client_do(dead, &q, &r, &e), -1);
	assert_int_equal(e.code, ERR_IO);
	assert_int_equal(r.status, 0);
	assert_int_equal(client_do(c, &q, &r, &e), -1);
	assert_int_equal(e.code, ERR_IO);
	q.path = "/huge";
	assert_int_equal(client_do(c, &q, &r, &e), -1);
	assert_non_null(strstr(e.msg, "response body exceeds"));
	q.path = "/hang";
	q.timeout_ms = 300;
	assert_int_equal(client_do(c, &q, &r, &e), -1);
	assert_int_equal(e.code, ERR_IO);
	q.path = "/stall";
	q.timeout_ms = 0;
	q.stall_bytes = 1;
	q.stall_ms = 300;
	assert_int_equal(client_do(c, &q, &r, &e), -1);
	assert_non_null(strstr(e.msg, "stalled"));
	/* The handle still works after failures. */
	q.path = "/ok";
	q.stall_ms = 0;
	assert_int_equal(client_do(c, &q, &r, &e), 0);
	assert_int_equal(r.status, 200);
	client_resp_free(&r);
	client_free(dead);
	client_free(c);
}

static atomic_bool stop_flag;

static bool
stop_requested(void *arg)
{
	(void)arg;
	return atomic_load(&stop_flag);
}

/* A request to /hang in a thread: it can only end by an interrupt. */
struct hang {
	struct client		*c;
	struct client_resp	 r;
	struct err		 e;
	int			 rc;
	bool			 with_abort;
};

static void *
hang_main(void *arg)
{
	struct hang *h = arg;
	struct client_req q = { .method = "POST", .path = "/hang", .download_fd = -1 };

	if (h->with_abort) {
		q.abort = stop_requested;
		q.abort_arg = NULL;
	}
	h->rc = client_do(h->c, &q, &h->r, &h->e);
	return NULL;
}

/* Starts a hanging request, waits until the server has it, interrupts. */
static void
interrupt_hanging(struct hang *h)
{
	pthread_t t;
	int before = stub_nreqs(), i;

	client_resp_init(&h->r);
	assert_int_equal(pthread_create(&t, NULL, hang_main, h), 0);
	for (i = 0; i < 1000 && stub_nreqs() == before; i++)
		usleep(10000);
	assert_true(stub_nreqs() > before);
	if (h->with_abort)
		atomic_store(&stop_flag, true);
	client_interrupt(h->c);
	pthread_join(t, NULL);
	client_resp_free(&h->r);
	atomic_store(&stop_flag, false);
}

static void
test_abort_and_interrupt(void **state)
{
	struct client *c = new_client();
	struct client_resp r;
	struct client_req q = { .method = "GET", .path = "/hang", .download_fd = -1,
	    .abort = stop_requested };
	struct hang h = { .c = c };
	struct err e;

	(void)state;
	client_interrupt(c);	/* idle: harmless */
	client_resp_init(&r);
	atomic_store(&stop_flag, true);	/* the abort test stops it at once */
	assert_int_equal(client_do(c, &q, &r, &e), -1);
	assert_int_equal(r.aborted, 1);
	assert_string_equal(e.msg, "aborted");
	atomic_store(&stop_flag, false);
	/* Without an abort test an interrupt is a transport failure... */
	interrupt_hanging(&h);
	assert_int_equal(h.rc, -1);
	assert_int_equal(h.e.code, ERR_IO);
	assert_int_equal(h.r.aborted, 0);
	/* ...and with one that agrees, "aborted". */
	h.with_abort = true;
	interrupt_hanging(&h);
	assert_int_equal(h.rc, -1);
	assert_int_equal(h.r.aborted, 1);
	assert_string_equal(h.e.msg, "aborted");
	/* The handle works afterwards, on a new connection. */
	q.path = "/ok";
	q.abort = NULL;
	assert_int_equal(client_do(c, &q, &r, &e), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.aborted, 0);
	client_resp_free(&r);
	client_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_status_body_headers),
		cmocka_unit_test(test_keepalive_reuses_connection),
		cmocka_unit_test(test_post_json_with_bearer),
		cmocka_unit_test(test_post_without_body_and_delete),
		cmocka_unit_test(test_error_messages),
		cmocka_unit_test(test_download_fd),
		cmocka_unit_test(test_upload_multipart),
		cmocka_unit_test(test_sink_streams_and_stops),
		cmocka_unit_test(test_transport_errors),
		cmocka_unit_test(test_abort_and_interrupt),
	};

	return cmocka_run_group_tests(tests, server_start, server_stop);
}
