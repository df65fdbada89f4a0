/*
 * test_client: src/lib/client.c against a tiny HTTP/1.1 server running in a
 * thread of this test on 127.0.0.1. The server answers canned responses by
 * path and records what it received, so the tests check status, body,
 * captured headers, keep-alive, uploads, downloads and transport errors.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client.h"
#include "util.h"

#define MAX_CONNS 64

struct server {
	int		 lfd;
	int		 port;
	pthread_t	 acceptor;
	pthread_t	 conns[MAX_CONNS];
	int		 nconns;
	pthread_mutex_t	 mu;
	char		*last_head;	/* head of the last request */
	char		*last_body;	/* body of the last request */
	size_t		 last_body_len;
};

static struct server srv;
/* Copies of what the server last received, taken under its lock. */
static char *seen_head, *seen_body;
static size_t seen_body_len;

static int
send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int
sendf(int fd, const char *fmt, ...)
{
	char *s;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (rc < 0)
		return -1;
	rc = send_all(fd, s, strlen(s));
	free(s);
	return rc;
}

/* Reads one request (head + Content-Length body) into a growing buffer.
 * Returns 0, or -1 at EOF or error. */
static int
read_request(int fd, char **head, char **body, size_t *body_len)
{
	size_t cap = 1 << 16, len = 0, hlen, clen = 0;
	char *b = xmalloc(cap), *end, *cl;

	for (;;) {
		ssize_t r;

		b[len] = '\0';
		end = strstr(b, "\r\n\r\n");
		if (end != NULL)
			break;
		if (len + 1 >= cap)
			goto fail;
		r = recv(fd, b + len, cap - 1 - len, 0);
		if (r <= 0)
			goto fail;
		len += (size_t)r;
	}
	hlen = (size_t)(end - b) + 4;
	cl = strcasestr(b, "\r\nContent-Length:");
	if (cl != NULL && cl < end)
		clen = strtoul(cl + 17, NULL, 10);
	if (hlen + clen + 1 > cap) {
		cap = hlen + clen + 1;
		b = xrealloc(b, cap);
	}
	while (len < hlen + clen) {
		ssize_t r = recv(fd, b + len, hlen + clen - len, 0);

		if (r <= 0)
			goto fail;
		len += (size_t)r;
	}
	*head = xstrndup(b, hlen);
	*body = xmalloc(clen + 1);
	memcpy(*body, b + hlen, clen);
	(*body)[clen] = '\0';
	*body_len = clen;
	free(b);
	return 0;
fail:
	free(b);
	return -1;
}

/* Waits (bounded) until the peer closes the connection. */
static void
wait_close(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char c[512];

	for (int i = 0; i < 100; i++) {
		if (poll(&p, 1, 100) > 0 && recv(fd, c, sizeof(c), 0) <= 0)
			return;
	}
}

/* Answers one request; returns -1 to close the connection. */
static int
answer(int fd, const char *head, const char *body, size_t body_len)
{
	char path[256] = "";

	sscanf(head, "%*s %255s", path);
	if (strcmp(path, "/ok") == 0)
		return sendf(fd, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
		    "X-Request-Id: abc123\r\nx-lease-remaining-ms: 29876\r\n"
		    "X-Artifact-SHA256: 0123abcd\r\nX-Entrypoint:   ./main.py  \r\n"
		    "X-Timeout-Seconds: 60\r\nX-Import-Paths: [\"./lib\"]\r\n"
		    "Retry-After: 3\r\nIdempotent-Replayed: true\r\n"
		    "Content-Length: 16\r\n\r\n{\"status\":\"ok\"}\n");
	if (strcmp(path, "/echo") == 0 || strcmp(path, "/upload") == 0) {
		if (sendf(fd, "HTTP/1.1 201 Created\r\nContent-Length: %zu\r\n\r\n", body_len) == -1)
			return -1;
		return send_all(fd, body, body_len);
	}
	if (strcmp(path, "/envelope") == 0)
		return sendf(fd, "HTTP/1.1 404 Not Found\r\nContent-Length: 56\r\n\r\n"
		    "{\"error\":{\"code\":\"not_found\",\"message\":\"app not found\"}}");
	if (strcmp(path, "/plain") == 0)
		return sendf(fd, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 14\r\n\r\n  proxy down \n");
	if (strcmp(path, "/empty404") == 0)
		return sendf(fd, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
	if (strcmp(path, "/longheader") == 0) {
		char *v = xmalloc(5001);

		memset(v, 'a', 5000);
		v[5000] = '\0';
		sendf(fd, "HTTP/1.1 200 OK\r\nX-Entrypoint: %s\r\nContent-Length: 0\r\n\r\n", v);
		free(v);
		return 0;
	}
	if (strcmp(path, "/download") == 0)
		return sendf(fd, "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello bytes");
	if (strcmp(path, "/huge") == 0) {
		size_t n = (16u << 20) + 10;
		char *p = xmalloc(n);

		memset(p, 'x', n);
		sendf(fd, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n", n);
		send_all(fd, p, n);
		free(p);
		return -1;
	}
	if (strcmp(path, "/stream") == 0) {
		sendf(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
		for (int i = 0; i < 5; i++)
			if (sendf(fd, "6\r\nchunk%d\r\n", i) == -1)
				return -1;
		wait_close(fd);
		return -1;
	}
	if (strcmp(path, "/stall") == 0) {
		sendf(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc");
		wait_close(fd);
		return -1;
	}
	if (strcmp(path, "/cut") == 0) {
		sendf(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc");
		return -1;
	}
	if (strcmp(path, "/hang") == 0) {
		wait_close(fd);
		return -1;
	}
	return sendf(fd, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
}

static void *
conn_main(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char *head, *body;
	size_t body_len;

	while (read_request(fd, &head, &body, &body_len) == 0) {
		int rc;

		pthread_mutex_lock(&srv.mu);
		free(srv.last_head);
		free(srv.last_body);
		srv.last_head = xstrdup(head);
		srv.last_body = xmalloc(body_len + 1);
		memcpy(srv.last_body, body, body_len + 1);
		srv.last_body_len = body_len;
		pthread_mutex_unlock(&srv.mu);
		rc = answer(fd, head, body, body_len);
		free(head);
		free(body);
		if (rc == -1)
			break;
	}
	close(fd);
	return NULL;
}

static void *
accept_main(void *arg)
{
	(void)arg;
	for (;;) {
		int fd = accept(srv.lfd, NULL, NULL);

		if (fd < 0)
			return NULL;
		pthread_mutex_lock(&srv.mu);
		if (srv.nconns == MAX_CONNS) {
			pthread_mutex_unlock(&srv.mu);
			close(fd);
			continue;
		}
		pthread_create(&srv.conns[srv.nconns++], NULL, conn_main, (void *)(intptr_t)fd);
		pthread_mutex_unlock(&srv.mu);
	}
}

static int
server_start(void **state)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t alen = sizeof(a);
	int one = 1;

	(void)state;
	memset(&srv, 0, sizeof(srv));
	pthread_mutex_init(&srv.mu, NULL);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	srv.lfd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(srv.lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(srv.lfd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(srv.lfd, 16) != 0)
		return -1;
	getsockname(srv.lfd, (struct sockaddr *)&a, &alen);
	srv.port = ntohs(a.sin_port);
	client_global_init();
	return pthread_create(&srv.acceptor, NULL, accept_main, NULL);
}

static int
server_stop(void **state)
{
	(void)state;
	shutdown(srv.lfd, SHUT_RDWR);
	close(srv.lfd);
	pthread_join(srv.acceptor, NULL);
	for (int i = 0; i < srv.nconns; i++)
		pthread_join(srv.conns[i], NULL);
	free(srv.last_head);
	free(srv.last_body);
	free(seen_head);
	free(seen_body);
	return 0;
}

static void
snapshot(void)
{
	pthread_mutex_lock(&srv.mu);
	free(seen_head);
	free(seen_body);
	seen_head = xstrdup(srv.last_head != NULL ? srv.last_head : "");
	seen_body_len = srv.last_body_len;
	seen_body = xmalloc(seen_body_len + 1);
	if (srv.last_body != NULL)
		memcpy(seen_body, srv.last_body, seen_body_len + 1);
	else
		seen_body[0] = '\0';
	pthread_mutex_unlock(&srv.mu);
}

static struct client *
new_client(void)
{
	char url[64];

	snprintf(url, sizeof(url), "http://127.0.0.1:%d///", srv.port);
	return client_new(url);
}

static int
conn_count(void)
{
	int n;

	pthread_mutex_lock(&srv.mu);
	n = srv.nconns;
	pthread_mutex_unlock(&srv.mu);
	return n;
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
	before = conn_count();
	for (int i = 0; i < 5; i++) {
		assert_int_equal(client_do(c, &q, &r, &e), 0);
		assert_int_equal(r.status, 200);
	}
	assert_int_equal(conn_count(), before);
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
	};

	return cmocka_run_group_tests(tests, server_start, server_stop);
}
