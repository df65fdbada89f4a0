/*
 * client: the libcurl HTTP client shared by minitower-runner, minitower-cli
 * and the tests. A struct client owns one easy handle that is reset (not
 * recreated) between requests, so its connection cache gives keep-alive.
 * Bodies go to a bounded buffer, a file descriptor or a streaming sink; a
 * small table captures the response headers the protocol cares about. The
 * client opens its sockets itself (close-on-exec) and remembers the current
 * one, so client_interrupt can shut it down from another thread.
 */
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client.h"
#include "util.h"

#define CLIENT_BODY_MAX		(16u * 1024 * 1024)
#define CONNECT_TIMEOUT_MS	10000L
#define BAR_INTERVAL_MS		200

struct client {
	CURL		*curl;
	char		*base;
	pthread_mutex_t	 mu;	/* guards sock */
	curl_socket_t	 sock;	/* the connection's socket, CURL_SOCKET_BAD when none */
};

/* State of one transfer, shared by the callbacks. */
struct xfer {
	const struct client_req	*req;
	struct client_resp	*resp;
	CURL			*curl;
	char			 why[192];	/* why a callback stopped the transfer */
	int64_t			 win_start_ms;	/* stall window */
	curl_off_t		 win_bytes;
	int			 aborted;	/* req->abort said stop */
	int			 bar;		/* drawing a progress bar */
	int			 bar_drawn;
	int64_t			 bar_last_ms;
	curl_off_t		 bar_now, bar_total;
};

/* Response headers captured into fixed fields of struct client_resp. */
static const struct {
	const char	*name;
	size_t		 off;
	size_t		 size;
} captured[] = {
#define F(n, f) { n, offsetof(struct client_resp, f), sizeof(((struct client_resp *)0)->f) }
	F("X-Request-Id", request_id),
	F("X-Lease-Remaining-Ms", lease_remaining_ms),
	F("X-Artifact-SHA256", artifact_sha256),
	F("X-Entrypoint", entrypoint),
	F("X-Timeout-Seconds", timeout_seconds),
	F("X-Import-Paths", import_paths),
	F("Retry-After", retry_after),
	F("Idempotent-Replayed", replayed),
	F("Content-Type", content_type),
	F("Date", date),
#undef F
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;

static void
global_init(void)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		fatal("curl_global_init failed");
}

void
client_global_init(void)
{
	pthread_once(&global_once, global_init);
}

struct client *
client_new(const char *base_url)
{
	struct client *c = xcalloc(1, sizeof(*c));
	size_t n = strlen(base_url);

	client_global_init();
	while (n > 0 && base_url[n - 1] == '/')
		n--;
	c->base = xstrndup(base_url, n);
	c->curl = curl_easy_init();
	if (c->curl == NULL)
		fatal("curl_easy_init failed");
	pthread_mutex_init(&c->mu, NULL);
	c->sock = CURL_SOCKET_BAD;
	return c;
}

void
client_free(struct client *c)
{
	if (c == NULL)
		return;
	curl_easy_cleanup(c->curl);	/* closes the socket through on_close */
	pthread_mutex_destroy(&c->mu);
	free(c->base);
	free(c);
}

/* Socket callbacks: the socket is close-on-exec (the runner forks jobs) and
 * remembered for client_interrupt. */
static curl_socket_t
on_open(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct client *c = arg;
	int fd;

	(void)purpose;
	fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
	if (fd == -1)
		return CURL_SOCKET_BAD;
	pthread_mutex_lock(&c->mu);
	c->sock = fd;
	pthread_mutex_unlock(&c->mu);
	return fd;
}

static int
on_close(void *arg, curl_socket_t fd)
{
	struct client *c = arg;

	pthread_mutex_lock(&c->mu);
	if (c->sock == fd)
		c->sock = CURL_SOCKET_BAD;
	pthread_mutex_unlock(&c->mu);
	return close(fd);
}

void
client_interrupt(struct client *c)
{
	pthread_mutex_lock(&c->mu);
	if (c->sock != CURL_SOCKET_BAD)
		shutdown(c->sock, SHUT_RDWR);
	pthread_mutex_unlock(&c->mu);
}

void
client_resp_init(struct client_resp *r)
{
	memset(r, 0, sizeof(*r));
	buf_init(&r->body, CLIENT_BODY_MAX);
}

void
client_resp_free(struct client_resp *r)
{
	buf_free(&r->body);
}

/* Empties every field but keeps the body's storage. */
static void
resp_reset(struct client_resp *r)
{
	struct buf body = r->body;

	memset(r, 0, sizeof(*r));
	r->body = body;
	buf_reset(&r->body);
}

static void
clear_captured(struct client_resp *r)
{
	for (size_t i = 0; i < sizeof(captured) / sizeof(captured[0]); i++)
		memset((char *)r + captured[i].off, 0, captured[i].size);
	r->header_truncated = 0;
}

static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	size_t len = size * n, nlen, vlen;
	const char *colon, *v, *end = p + len;

	if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) {
		/* A new response (after a 1xx): forget the previous headers. */
		clear_captured(x->resp);
		return len;
	}
	colon = memchr(p, ':', len);
	if (colon == NULL)
		return len;
	nlen = (size_t)(colon - p);
	for (v = colon + 1; v < end && (*v == ' ' || *v == '\t'); v++)
		;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
		end--;
	vlen = (size_t)(end - v);
	for (size_t i = 0; i < sizeof(captured) / sizeof(captured[0]); i++) {
		char *field = (char *)x->resp + captured[i].off;

		if (strlen(captured[i].name) != nlen || ascii_ncasecmp(captured[i].name, p, nlen) != 0)
			continue;
		if (vlen >= captured[i].size) {
			x->resp->header_truncated = 1;
			vlen = captured[i].size - 1;
		}
		memcpy(field, v, vlen);
		field[vlen] = '\0';
	}
	return len;
}

static int
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	size_t len = size * n;
	long status = 0;

	curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &status);
	if (status >= 200 && status < 300 && x->req->sink != NULL) {
		if (x->req->sink(x->req->sink_arg, p, len) != 0) {
			x->resp->sink_stopped = 1;
			return 0;
		}
		return len;
	}
	if (status >= 200 && status < 300 && x->req->download_fd >= 0) {
		if (write_all(x->req->download_fd, p, len) == -1) {
			snprintf(x->why, sizeof(x->why), "write download: %s", strerror(errno));
			return 0;
		}
		return len;
	}
	if (buf_add(&x->resp->body, p, len) == -1) {
		snprintf(x->why, sizeof(x->why), "response body exceeds %u bytes", CLIENT_BODY_MAX);
		return 0;
	}
	return len;
}

static void
draw_bar(struct xfer *x, curl_off_t now, curl_off_t total, int64_t t, int final)
{
	char bar[31];
	int pct, fill;

	x->bar_now = now;
	x->bar_total = total;
	if (!final && t - x->bar_last_ms < BAR_INTERVAL_MS)
		return;
	if (total <= 0)
		return;
	x->bar_last_ms = t;
	pct = (int)(now * 100 / total);
	fill = pct * 30 / 100;
	memset(bar, ' ', 30);
	memset(bar, '=', (size_t)fill);
	bar[30] = '\0';
	fprintf(stderr, "\rUploading [%s] %3d%% %.1f/%.1f MiB", bar, pct,
	    (double)now / 1048576.0, (double)total / 1048576.0);
	x->bar_drawn = 1;
}

static int
on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	struct xfer *x = arg;
	int64_t t = mono_ms();

	(void)dltotal;
	if (x->req->abort != NULL && x->req->abort(x->req->abort_arg)) {
		x->aborted = 1;
		return 1;
	}
	if (x->req->stall_ms > 0) {
		curl_off_t moved = dlnow + ulnow;

		if (moved - x->win_bytes >= x->req->stall_bytes) {
			x->win_bytes = moved;
			x->win_start_ms = t;
		} else if (t - x->win_start_ms >= x->req->stall_ms) {
			snprintf(x->why, sizeof(x->why), "transfer stalled: fewer than %ld bytes in %ld ms",
			    x->req->stall_bytes, x->req->stall_ms);
			return 1;
		}
	}
	if (x->bar)
		draw_bar(x, ulnow, ultotal, t, 0);
	return 0;
}

/* Builds the request headers; the caller frees the list. */
static struct curl_slist *
build_headers(const struct client_req *req)
{
	struct curl_slist *h = NULL;
	char *line;

	h = curl_slist_append(h, "Expect:");
	if (req->bearer != NULL) {
		line = xasprintf("Authorization: Bearer %s", req->bearer);
		h = curl_slist_append(h, line);
		free(line);
	}
	if (req->body != NULL && req->upload_file == NULL)
		h = curl_slist_append(h, "Content-Type: application/json");
	else if (req->upload_file == NULL)
		h = curl_slist_append(h, "Content-Type:");
	for (const struct client_header *e = req->headers; e != NULL && e->name != NULL; e++) {
		line = xasprintf("%s: %s", e->name, e->value);
		h = curl_slist_append(h, line);
		free(line);
	}
	return h;
}

/* Sets the method and the body: JSON, multipart upload, or none. */
static int
set_method(CURL *curl, const struct client_req *req, curl_mime **mime, struct err *err)
{
	const char *m = req->method != NULL ? req->method : "GET";
	curl_mimepart *part;

	if (req->upload_file != NULL) {
		if (access(req->upload_file, R_OK) != 0)
			return err_set(err, ERR_IO, "open %s: %s", req->upload_file, strerror(errno));
		*mime = curl_mime_init(curl);
		part = curl_mime_addpart(*mime);
		curl_mime_name(part, "artifact");
		if (curl_mime_filedata(part, req->upload_file) != CURLE_OK)
			return err_set(err, ERR_IO, "open %s: cannot read file", req->upload_file);
		curl_mime_filename(part, req->upload_name != NULL ? req->upload_name : "artifact.tar.gz");
		curl_mime_type(part, "application/gzip");
		curl_easy_setopt(curl, CURLOPT_MIMEPOST, *mime);
	} else if (req->body != NULL || strcmp(m, "POST") == 0 || strcmp(m, "PUT") == 0) {
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req->body != NULL ? req->body : "");
	} else if (strcmp(m, "HEAD") == 0) {
		curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
	} else {
		curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
	}
	if (strcmp(m, "GET") != 0 && strcmp(m, "POST") != 0 && strcmp(m, "HEAD") != 0)
		curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, m);
	return 0;
}

static void
set_transfer(struct client *c, const struct client_req *req, struct xfer *x, char *errbuf)
{
	CURL *curl = c->curl;

	curl_easy_setopt(curl, CURLOPT_OPENSOCKETFUNCTION, on_open);
	curl_easy_setopt(curl, CURLOPT_OPENSOCKETDATA, c);
	curl_easy_setopt(curl, CURLOPT_CLOSESOCKETFUNCTION, on_close);
	curl_easy_setopt(curl, CURLOPT_CLOSESOCKETDATA, c);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
	    req->connect_timeout_ms > 0 ? req->connect_timeout_ms : CONNECT_TIMEOUT_MS);
	if (req->timeout_ms > 0)
		curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, req->timeout_ms);
	if (req->stall_ms > 0 || req->abort != NULL || x->bar) {
		curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
		curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
		curl_easy_setopt(curl, CURLOPT_XFERINFODATA, x);
	}
}

int
client_do(struct client *c, const struct client_req *req, struct client_resp *resp, struct err *err)
{
	struct xfer x = { .req = req, .resp = resp, .curl = c->curl };
	struct curl_slist *hdrs = NULL;
	curl_mime *mime = NULL;
	char errbuf[CURL_ERROR_SIZE] = "";
	char *url = NULL;
	CURLcode rc;
	int ret = -1;

	resp_reset(resp);
	curl_easy_reset(c->curl);
	x.win_start_ms = mono_ms();
	x.bar = req->progress && req->upload_file != NULL && isatty(STDERR_FILENO);
	url = xasprintf("%s%s", c->base, req->path != NULL ? req->path : "");
	curl_easy_setopt(c->curl, CURLOPT_URL, url);
	if (set_method(c->curl, req, &mime, err) == -1)
		goto out;
	hdrs = build_headers(req);
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, hdrs);
	set_transfer(c, req, &x, errbuf);
	rc = curl_easy_perform(c->curl);
	/* After client_interrupt the transfer fails before the callback runs. */
	if (rc != CURLE_OK && !x.aborted && req->abort != NULL && req->abort(req->abort_arg))
		x.aborted = 1;
	if (x.bar_drawn) {
		draw_bar(&x, x.bar_now, x.bar_total, mono_ms(), 1);
		fputc('\n', stderr);
	}
	if (x.aborted) {
		resp->status = 0;
		resp->aborted = 1;
		err_set(err, ERR_IO, "aborted");
		goto out;
	}
	if (rc != CURLE_OK && !(resp->sink_stopped && rc == CURLE_WRITE_ERROR)) {
		resp->status = 0;
		err_set(err, ERR_IO, "%s", x.why[0] != '\0' ? x.why :
		    errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc));
		goto out;
	}
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &resp->status);
	ret = 0;
out:
	/* The handle must not keep pointers into this frame. */
	curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, NULL);
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(c->curl, CURLOPT_MIMEPOST, NULL);
	curl_slist_free_all(hdrs);
	curl_mime_free(mime);
	free(url);
	return ret;
}

static const char *
status_text(long status)
{
	static const struct { long code; const char *text; } t[] = {
		{ 200, "OK" }, { 201, "Created" }, { 202, "Accepted" }, { 204, "No Content" },
		{ 301, "Moved Permanently" }, { 302, "Found" }, { 304, "Not Modified" },
		{ 400, "Bad Request" }, { 401, "Unauthorized" }, { 403, "Forbidden" },
		{ 404, "Not Found" }, { 405, "Method Not Allowed" }, { 408, "Request Timeout" },
		{ 409, "Conflict" }, { 410, "Gone" }, { 411, "Length Required" },
		{ 413, "Request Entity Too Large" }, { 414, "Request URI Too Long" },
		{ 415, "Unsupported Media Type" }, { 429, "Too Many Requests" },
		{ 431, "Request Header Fields Too Large" }, { 500, "Internal Server Error" },
		{ 501, "Not Implemented" }, { 502, "Bad Gateway" }, { 503, "Service Unavailable" },
		{ 504, "Gateway Timeout" }, { 505, "HTTP Version Not Supported" },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (t[i].code == status)
			return t[i].text;
	return NULL;
}

void
client_error_message(const struct client_resp *r, char *out, size_t outsz)
{
	json_t *root = NULL, *msg;
	const char *b = buf_str(&r->body), *e;
	const char *text;

	if (outsz == 0)
		return;
	if (r->body.len > 0)
		root = json_loadb(b, r->body.len, JSON_DECODE_ANY | JSON_DISABLE_EOF_CHECK | JSON_ALLOW_NUL, NULL);
	msg = json_object_get(json_object_get(root, "error"), "message");
	if (json_is_string(msg) && json_string_length(msg) > 0) {
		snprintf(out, outsz, "%s", json_string_value(msg));
		goto out;
	}
	e = b + r->body.len;
	while (b < e && (*b == ' ' || *b == '\t' || *b == '\r' || *b == '\n'))
		b++;
	while (e > b && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
		e--;
	if (e > b) {
		snprintf(out, outsz, "%.*s", (int)(e - b), b);
		goto out;
	}
	text = status_text(r->status);
	if (text != NULL)
		snprintf(out, outsz, "%s", text);
	else
		snprintf(out, outsz, "HTTP status %ld", r->status);
out:
	json_decref(root);
}
