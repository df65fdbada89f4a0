/*
 * http: everything libmicrohttpd. Requests are read on MHD's thread pool
 * (bodies into a bounded buffer, artifact uploads through the post processor
 * into a hashed temp file), then the connection is suspended and the request
 * runs on a worker: short requests on a small pool, long work (routes.c
 * says which) on a larger one. The worker resumes the connection once a
 * response is ready. Long polls park in notify.c and re-run on the short
 * pool when woken. Event streams suspend from MHD's content reader and are
 * resumed by notify; streamed log pages are filled on the long pool.
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "config.h"
#include "crypto.h"
#include "http.h"
#include "http_deadline.h"
#include "http_frame.h"
#include "json.h"
#include "log.h"
#include "metrics.h"
#include "notify.h"
#include "pool.h"
#include "routes.h"
#include "upload.h"
#include "util.h"

#define NSHORT 4		/* short writes: about two per core */
#define NREAD 4			/* reads: never wait behind writes */
#define NRUNNER 4		/* the runner protocol: never waits behind the API */
#define NLONG 16		/* long work: hashing, uploads, large reads */
#define SHUTDOWN_GRACE_MS 10000

enum phase { PH_READING, PH_RUNNING, PH_DONE };


struct hreq {
	struct req	 rq;
	struct resp	 rs;
	struct MHD_Connection *conn;
	enum phase	 phase;
	int64_t		 start_mono_us;
	int64_t		 content_length;	/* -1 when absent */
	int64_t		 limit;
	bool		 too_large;
	bool		 cors_allowed;
	bool		 is_upload;
	bool		 preflight;	/* answered by the CORS layer */
	bool		 conn_close;	/* bad framing: answer, then close */
	struct dl_conn	*dl;		/* slow-client slot (http_deadline.c) */
	struct upload	 up;		/* the artifact part (upload.c) */
	struct MHD_PostProcessor *pp;
	struct waiter	 waiter;
	int		 sent_status;
	int64_t		 sent_bytes;
	struct job	 job;
};

struct stream_ctx {
	struct hreq	*h;
	struct resp_stream st;
	struct buf	 pending;
	size_t		 off;
	bool		 ended, failed;
	enum wake_reason wake;
	struct waiter	 waiter;
	struct job	 job;		/* fill_on_worker streams */
};

static const struct config *cfg;
static struct MHD_Daemon *daemon_;
static atomic_bool shutting_down;
static atomic_int active_reqs;
static struct pool *short_pool, *long_pool, *read_pool, *runner_pool;

static void request_job(struct job *);

/* Queues h on the pool of its class (routes_class), noting when. */
static void
queue_request(struct hreq *h)
{
	static struct pool **const by_class[] = {
		[RC_WRITE] = &short_pool, [RC_READ] = &read_pool,
		[RC_RUNNER] = &runner_pool, [RC_LONG] = &long_pool,
	};

	h->rq.queued_mono_us = mono_us();
	pool_push(*by_class[routes_class(&h->rq)], &h->job);
}

bool
http_shutting_down(void)
{
	return atomic_load(&shutting_down);
}

bool
http_client_gone(const struct req *rq)
{
	const struct hreq *h = rq->conn_priv;
	const union MHD_ConnectionInfo *ci;
	struct pollfd pfd;

	ci = MHD_get_connection_info(h->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (ci == NULL)
		return false;
	pfd.fd = ci->connect_fd;
	pfd.events = POLLRDHUP;
	pfd.revents = 0;
	if (poll(&pfd, 1, 0) != 1)
		return false;
	return (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) != 0;
}

/* ---- small helpers for handlers ---- */

static const struct {
	enum err_code code;
	int status;
	const char *name;
} err_table[] = {
	{ ERR_INVALID, 400, "invalid_request" },
	{ ERR_INVALID_SLUG, 400, "invalid_slug" },
	{ ERR_NO_VERSION, 400, "no_version" },
	{ ERR_INVALID_ARTIFACT, 400, "invalid_artifact" },
	{ ERR_TOWERFILE_MISSING, 400, "TOWERFILE_MISSING" },
	{ ERR_TOWERFILE_INVALID, 400, "TOWERFILE_INVALID" },
	{ ERR_UNAUTHORIZED, 401, "unauthorized" },
	{ ERR_FORBIDDEN, 403, "forbidden" },
	{ ERR_NOT_FOUND, 404, "not_found" },
	{ ERR_METHOD, 405, "method_not_allowed" },
	{ ERR_SLUG_TAKEN, 409, "slug_taken" },
	{ ERR_TEAM_EXISTS, 409, "team_exists" },
	{ ERR_CONFLICT, 409, "conflict" },
	{ ERR_IDEMPOTENCY, 409, "idempotency_conflict" },
	{ ERR_GONE, 410, "gone" },
	{ ERR_TOO_LARGE, 413, "payload_too_large" },
	{ ERR_TOO_MANY, 429, "too_many_requests" },
	{ ERR_UNAVAILABLE, 503, "unavailable" },
	{ ERR_INTERNAL, 500, "internal" },
};

static size_t
err_index(enum err_code code)
{
	size_t i;

	for (i = 0; i < sizeof(err_table) / sizeof(err_table[0]); i++)
		if (err_table[i].code == code)
			return i;
	return sizeof(err_table) / sizeof(err_table[0]) - 1;	/* internal */
}

int
err_http_status(enum err_code code)
{
	return err_table[err_index(code)].status;
}

void
resp_json(struct resp *rs, int status, struct buf *body)
{
	buf_free(&rs->body);
	rs->body = *body;
	buf_init(body, body->max);
	buf_addc(&rs->body, '\n');
	rs->status = status;
	rs->content_type = "application/json";
}

void
resp_jsonv(struct resp *rs, int status, const json_t *v)
{
	static const char *const freeform[] = { "input", "params_schema", NULL };
	struct buf b;

	buf_init(&b, (size_t)64 << 20);
	json_encode(&b, v, freeform, false);
	resp_json(rs, status, &b);
}

void
resp_err(struct resp *rs, const struct err *err)
{
	size_t i = err_index(err->code);
	struct buf b;

	buf_init(&b, 8 * ERR_MSG_MAX);	/* room for escaping */
	buf_addf(&b, "{\"error\":{\"code\":\"%s\",\"message\":", err_table[i].name);
	json_encode_str(&b, err->msg, strlen(err->msg));
	buf_adds(&b, "}}");
	resp_json(rs, err_table[i].status, &b);
	if (err->code == ERR_UNAVAILABLE)
		resp_header(rs, "Retry-After", "1");
}

void
resp_error(struct resp *rs, enum err_code code, const char *msg)
{
	struct err e;

	err_set(&e, code, "%s", msg);
	resp_err(rs, &e);
}

void
resp_header(struct resp *rs, const char *name, const char *value)
{
	if (rs->nheaders >= HTTP_MAX_RESP_HEADERS)
		return;
	rs->headers[rs->nheaders].name = xstrdup(name);
	rs->headers[rs->nheaders].value = xstrdup(value);
	rs->nheaders++;
}

void
resp_empty(struct resp *rs, int status)
{
	buf_reset(&rs->body);
	rs->status = status;
}

const char *
http_query(const struct req *rq, const char *name, size_t *len)
{
	int i;

	for (i = 0; i < rq->nquery; i++) {
		if (strcmp(rq->query[i].name, name) == 0) {
			if (rq->query[i].value_len == 0)
				return NULL;
			if (len != NULL)
				*len = rq->query[i].value_len;
			return rq->query[i].value;
		}
	}
	return NULL;
}

const char *
http_header(const struct req *rq, const char *name)
{
	int i;

	for (i = 0; i < rq->nheaders; i++)
		if (ascii_casecmp(rq->headers[i].name, name) == 0)
			return rq->headers[i].value;
	return NULL;
}

/* ---- request state ---- */

static void
hreq_free(struct hreq *h)
{
	int i;

	if (h == NULL)
		return;
	for (i = 0; i < h->rq.nquery; i++) {
		free(h->rq.query[i].name);
		free(h->rq.query[i].value);
	}
	for (i = 0; i < h->rq.nheaders; i++) {
		free(h->rq.headers[i].name);
		free(h->rq.headers[i].value);
	}
	free(h->rq.query);
	free(h->rq.headers);
	for (i = 0; i < h->rs.nheaders; i++) {
		free(h->rs.headers[i].name);
		free(h->rs.headers[i].value);
	}
	if (h->rq.state_free != NULL)
		h->rq.state_free(h->rq.state);
	if (h->pp != NULL)
		MHD_destroy_post_processor(h->pp);
	upload_free(&h->up);
	if (h->rq.upload_path != NULL) {
		unlink(h->rq.upload_path);
		free(h->rq.upload_path);
	}
	if (h->rs.fd >= 0)
		close(h->rs.fd);
	buf_free(&h->rq.body);
	buf_free(&h->rs.body);
	free(h->rq.path);
	free(h->rq.param);
	free(h->rq.sub);
	free(h);
	atomic_fetch_sub(&active_reqs, 1);
}

static enum MHD_Result
collect_pair(void *cls, enum MHD_ValueKind kind, const char *key, size_t key_size,
    const char *value, size_t value_size)
{
	struct hreq *h = cls;
	struct http_pair **pp, *p;
	int *n, *cap;

	if (kind == MHD_GET_ARGUMENT_KIND) {
		pp = &h->rq.query;
		n = &h->rq.nquery;
		cap = &h->rq.query_cap;
	} else {
		pp = &h->rq.headers;
		n = &h->rq.nheaders;
		cap = &h->rq.headers_cap;
	}
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		*pp = xrealloc(*pp, (size_t)*cap * sizeof(**pp));
	}
	p = *pp;
	p[*n].name = xstrndup(key, key_size);
	p[*n].value = value != NULL ? xstrndup(value, value_size) : xstrdup("");
	p[*n].value_len = value != NULL ? value_size : 0;
	(*n)++;
	return MHD_YES;
}

static void
set_request_id(struct hreq *h)
{
	const char *id = http_header(&h->rq, "X-Request-Id");
	size_t n, i;

	if (id != NULL && (n = strlen(id)) >= 1 && n <= 128) {
		for (i = 0; i < n; i++)
			if (id[i] < 0x20 || id[i] > 0x7e)
				break;
		if (i == n) {
			memcpy(h->rq.request_id, id, n + 1);
			return;
		}
	}
	crypto_random_hex16(h->rq.request_id);
}

static void
set_client_addr(struct hreq *h)
{
	const union MHD_ConnectionInfo *ci;
	const struct sockaddr *sa;

	ci = MHD_get_connection_info(h->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci == NULL || (sa = ci->client_addr) == NULL)
		return;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
		    h->rq.client_addr, sizeof(h->rq.client_addr));
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
		    h->rq.client_addr, sizeof(h->rq.client_addr));
}

/* A new request; nul_path: the decoded path held a NUL (no route). */
static struct hreq *
hreq_new(struct MHD_Connection *conn, const char *url, const char *method, bool nul_path)
{
	struct hreq *h = xcalloc(1, sizeof(*h));
	const char *cl;
	int64_t v;

	atomic_fetch_add(&active_reqs, 1);
	h->conn = conn;
	upload_init(&h->up, cfg->objects_dir);
	h->rs.fd = -1;
	h->rq.conn_priv = h;
	h->job.fn = request_job;
	h->rq.method = method;
	h->rq.path = xstrdup(url);
	h->dl = http_deadline_of(conn);
	h->start_mono_us = mono_ms() * 1000;
	{
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		h->start_mono_us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
	}
	MHD_get_connection_values_n(conn, MHD_GET_ARGUMENT_KIND, collect_pair, h);
	MHD_get_connection_values_n(conn, MHD_HEADER_KIND, collect_pair, h);
	set_request_id(h);
	set_client_addr(h);
	routes_match(&h->rq);
	if (nul_path)
		h->rq.route = NULL;	/* 404 "route not found", api.md §0.11 */
	h->limit = routes_body_limit(&h->rq);
	h->is_upload = routes_is_upload(&h->rq);
	h->content_length = -1;
	cl = http_header(&h->rq, "Content-Length");
	if (cl != NULL && parse_i64(cl, &v) == 0)
		h->content_length = v;
	buf_init(&h->rq.body, (size_t)h->limit);
	buf_init(&h->rs.body, 1);
	return h;
}

/* ---- worker pool ---- */

static void
wake_request(void *arg, enum wake_reason why)
{
	struct hreq *h = arg;

	h->rq.wake = why;
	queue_request(h);
}

static void
clear_wait(struct resp *rs)
{
	rs->wait = WAIT_NONE;
	rs->wait_env[0] = '\0';
	rs->wait_run = 0;
	rs->wait_until_ms = 0;
}

/* Runs the handler on a worker (the connection is suspended); returns true
 * when the request parked. A woken lease request holds its runner off the
 * offline sweep until it parked again or answered (then h may be gone). */
static bool
run_handler(struct hreq *h)
{
	int64_t held = h->waiter.held ? h->waiter.runner_id : 0;
	bool parked = false;

	for (;;) {
		h->rq.shutting_down = http_shutting_down();
		h->rq.runs++;
		clear_wait(&h->rs);
		routes_dispatch(&h->rq, &h->rs);
		if (h->rs.wait == WAIT_NONE)
			break;
		memset(&h->waiter, 0, sizeof(h->waiter));
		h->waiter.kind = h->rs.wait;
		snprintf(h->waiter.env, sizeof(h->waiter.env), "%s", h->rs.wait_env);
		h->waiter.runner_id = h->rq.runner.runner_id;
		h->waiter.run_id = h->rs.wait_run;
		h->waiter.deadline_ms = h->rs.wait_until_ms;
		h->waiter.wake = wake_request;
		h->waiter.arg = h;
		if (notify_park(&h->waiter, h->rs.wait_gen, NULL, NULL) == 0) {
			parked = true;
			break;
		}
		h->rq.wake = http_shutting_down() ? WAKE_SHUTDOWN : WAKE_EVENT;
	}
	if (held != 0)
		notify_release(held);
	return parked;
}

/* A request on the worker pool: its connection is suspended meanwhile. */
static void
request_job(struct job *jb)
{
	struct hreq *h = (struct hreq *)(void *)((char *)jb - offsetof(struct hreq, job));

	if (run_handler(h))
		return;
	if (h->rs.status == 0 && h->rs.stream == NULL) {	/* the failure guard, §0.2 */
		log_error("panic", "error=%s", "handler returned without a response");
		resp_error(&h->rs, ERR_INTERNAL, "internal error");
	}
	h->phase = PH_DONE;
	MHD_resume_connection(h->conn);
}

/* ---- responses ---- */

static void
add_common_headers(struct hreq *h, struct MHD_Response *r)
{
	const char *origin;
	int i;

	MHD_add_response_header(r, "X-Request-Id", h->rq.request_id);
	if (h->cors_allowed) {
		origin = http_header(&h->rq, "Origin");
		MHD_add_response_header(r, "Vary", "Origin");
		MHD_add_response_header(r, "Access-Control-Allow-Origin", origin);
		MHD_add_response_header(r, "Access-Control-Allow-Methods",
		    "GET, POST, PUT, DELETE, OPTIONS");
		MHD_add_response_header(r, "Access-Control-Allow-Headers",
		    "Authorization, Content-Type, X-Lease-Token, Idempotency-Key, Last-Event-ID");
		MHD_add_response_header(r, "Access-Control-Expose-Headers", "Idempotent-Replayed");
		MHD_add_response_header(r, "Access-Control-Max-Age", "86400");
	}
	for (i = 0; i < h->rs.nheaders; i++)
		MHD_add_response_header(r, h->rs.headers[i].name, h->rs.headers[i].value);
	if (http_shutting_down() || h->too_large || h->conn_close)
		MHD_add_response_header(r, "Connection", "close");
}

static void
stream_wake(void *arg, enum wake_reason why)
{
	struct stream_ctx *s = arg;

	s->wake = why;
	MHD_resume_connection(s->h->conn);
}

static void
suspend_conn(void *arg)
{
	MHD_suspend_connection(arg);
}

/* Parks the stream until an event of run (or the keep-alive deadline);
 * returns true when the connection is now suspended. */
static bool
stream_park(struct stream_ctx *s, int64_t run, uint64_t gen)
{
	memset(&s->waiter, 0, sizeof(s->waiter));
	s->waiter.kind = WAIT_RUN;
	s->waiter.run_id = run;
	s->waiter.deadline_ms = steady_ms() + 15000;
	s->waiter.wake = stream_wake;
	s->waiter.arg = s;
	if (notify_park(&s->waiter, gen, suspend_conn, s->h->conn) == 0)
		return true;
	s->wake = http_shutting_down() ? WAKE_SHUTDOWN : WAKE_EVENT;
	return false;
}

/* One fill step into s->pending; returns the fill's answer. */
static int
stream_fill(struct stream_ctx *s, int64_t *run, uint64_t *gen)
{
	enum wake_reason why = http_shutting_down() ? WAKE_SHUTDOWN : s->wake;
	int rc;

	s->wake = WAKE_NONE;
	rc = s->st.fill(s->st.ctx, &s->pending, why, run, gen);
	if (rc == RESP_STREAM_FAILED)
		s->failed = true;
	else if (rc < 0)
		s->ended = true;
	return rc;
}

/* A fill step of an on_worker stream; its connection is suspended. Such a
 * stream cannot park: a fill that has nothing to add fails it. */
static void
fill_job(struct job *jb)
{
	struct stream_ctx *s = (struct stream_ctx *)(void *)((char *)jb -
	    offsetof(struct stream_ctx, job));
	int64_t run = 0;
	uint64_t gen = 0;

	if (stream_fill(s, &run, &gen) == 0)
		s->failed = true;
	MHD_resume_connection(s->h->conn);
}

static ssize_t
stream_read(void *cls, uint64_t pos, char *out, size_t max)
{
	struct stream_ctx *s = cls;
	int tries;

	(void)pos;
	for (tries = 0; tries < 8; tries++) {
		size_t avail = s->pending.len - s->off, n;
		int64_t run = 0;
		uint64_t gen = 0;

		if (s->failed)
			return MHD_CONTENT_READER_END_WITH_ERROR;
		if (avail > 0) {
			n = avail < max ? avail : max;
			memcpy(out, s->pending.data + s->off, n);
			s->off += n;
			s->h->sent_bytes += (int64_t)n;
			if (s->off == s->pending.len) {
				buf_reset(&s->pending);
				s->off = 0;
			}
			return (ssize_t)n;
		}
		if (s->ended)
			return MHD_CONTENT_READER_END_OF_STREAM;
		if (s->st.on_worker) {
			MHD_suspend_connection(s->h->conn);
			pool_push(long_pool, &s->job);
			return 0;
		}
		if (stream_fill(s, &run, &gen) != 0)
			continue;
		if (stream_park(s, run, gen))
			return 0;
	}
	return 0;
}

static void
stream_free(void *cls)
{
	struct stream_ctx *s = cls;

	notify_unpark(&s->waiter);
	if (s->st.free != NULL)
		s->st.free(s->st.ctx);
	buf_free(&s->pending);
	free(s);
}

static struct MHD_Response *
build_response(struct hreq *h)
{
	struct MHD_Response *r;
	struct resp *rs = &h->rs;

	if (rs->stream != NULL) {
		struct stream_ctx *s = xcalloc(1, sizeof(*s));

		s->h = h;
		s->st = *rs->stream;
		free(rs->stream);
		rs->stream = NULL;
		buf_init(&s->pending, (size_t)16 << 20);
		s->job.fn = fill_job;
		r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 32 * 1024,
		    stream_read, s, stream_free);
		if (rs->content_type != NULL) {
			MHD_add_response_header(r, "Content-Type", rs->content_type);
		} else {
			MHD_add_response_header(r, "Content-Type", "text/event-stream");
			MHD_add_response_header(r, "Cache-Control", "no-cache");
			MHD_add_response_header(r, "X-Accel-Buffering", "no");
		}
		h->sent_status = 200;
	} else if (rs->fd >= 0) {
		r = MHD_create_response_from_fd64((uint64_t)rs->fd_size, rs->fd);
		rs->fd = -1;	/* owned by the response now */
		h->sent_bytes = rs->fd_size;
		if (rs->content_type != NULL)
			MHD_add_response_header(r, "Content-Type", rs->content_type);
		h->sent_status = rs->status;
	} else {
		static char empty[1];

		r = MHD_create_response_from_buffer(rs->body.len, rs->body.data ? rs->body.data : empty,
		    MHD_RESPMEM_MUST_COPY);
		h->sent_bytes = (int64_t)rs->body.len;
		if (rs->body.len > 0 || rs->status == 204)
			MHD_add_response_header(r, "Content-Type",
			    rs->content_type != NULL ? rs->content_type : "application/json");
		h->sent_status = rs->status;
	}
	add_common_headers(h, r);
	return r;
}

static enum MHD_Result
send_response(struct hreq *h)
{
	struct MHD_Response *r = build_response(h);
	enum MHD_Result ret;

	http_deadline_busy(h->dl);
	MHD_set_connection_option(h->conn, MHD_CONNECTION_OPTION_TIMEOUT, (unsigned)60);
	ret = MHD_queue_response(h->conn, (unsigned)h->sent_status, r);
	MHD_destroy_response(r);
	return ret;
}

/* ---- uploads ---- */

static enum MHD_Result
post_iter(void *cls, enum MHD_ValueKind kind, const char *key, const char *filename,
    const char *content_type, const char *transfer_encoding, const char *data,
    uint64_t off, size_t size)
{
	struct hreq *h = cls;

	(void)kind; (void)content_type; (void)transfer_encoding;
	upload_part(&h->up, key, filename, data, off, size);
	return MHD_YES;
}

static void
upload_done(struct hreq *h)
{
	if (h->pp != NULL) {
		MHD_destroy_post_processor(h->pp);
		h->pp = NULL;
	}
	h->rq.upload_path = upload_finish(&h->up);
	memcpy(h->rq.upload_sha256, h->up.sha256, sizeof(h->rq.upload_sha256));
	if (h->up.io_error) {	/* drop the partial file now, before the 503 goes out */
		h->rq.upload_io_error = true;
		h->rq.upload_errno = h->up.io_errno;
		if (h->rq.upload_path != NULL)
			unlink(h->rq.upload_path);
		free(h->rq.upload_path);
		h->rq.upload_path = NULL;
	}
}

static void
upload_chunk(struct hreq *h, const char *data, size_t size)
{
	if (h->rq.upload_bad_form)
		return;
	if (h->pp == NULL) {
		h->pp = MHD_create_post_processor(h->conn, 64 * 1024, post_iter, h);
		if (h->pp == NULL) {
			h->rq.upload_bad_form = true;
			return;
		}
	}
	if (MHD_post_process(h->pp, data, size) != MHD_YES)
		h->rq.upload_bad_form = true;
}

/* ---- the access handler ---- */

static bool
cors_origin_allowed(const char *origin)
{
	int i;

	for (i = 0; i < cfg->ncors; i++)
		if (strcmp(cfg->cors_origins[i], origin) == 0)
			return true;
	return false;
}

/* First call: framing (http_frame.c), CORS preflight, the early 413, and
 * the upload pre-check. Returns true when a final response is ready (phase
 * PH_DONE). */
static bool
first_call(struct hreq *h, const char *version)
{
	const char *origin = http_header(&h->rq, "Origin");
	const char *ctype;
	struct err e;

	if (http_frame_check(h->rq.headers, h->rq.nheaders,
	    strcmp(version, MHD_HTTP_VERSION_1_0) == 0, &e) == -1) {
		h->conn_close = true;
		resp_err(&h->rs, &e);
		return true;
	}
	if (cfg->ncors > 0 && origin != NULL && origin[0] != '\0') {
		h->cors_allowed = cors_origin_allowed(origin);
		if (strcmp(h->rq.method, "OPTIONS") == 0) {
			resp_empty(&h->rs, 204);
			h->preflight = true;	/* not counted in metrics */
			return true;
		}
	}
	if (h->content_length > h->limit) {
		h->too_large = true;
		resp_error(&h->rs, ERR_TOO_LARGE, "request body too large");
		return true;
	}
	if (h->is_upload) {
		if (routes_upload_precheck(&h->rq, &h->rs) == -1)
			return true;
		ctype = http_header(&h->rq, "Content-Type");
		if (ctype == NULL || ascii_ncasecmp(ctype, "multipart/form-data", 19) != 0)
			h->rq.upload_bad_form = true;
	}
	return false;
}

/* libmicrohttpd 0.9.75 with epoll can miss a FIN that arrives together with
 * body bytes (a short read clears its read-ready flag), so a client that hung
 * up mid-body would keep its connection, and an upload its temporary file,
 * until the 30 s timeout. A Content-Length body whose client has closed and
 * left nothing unread can never complete: the request ends at once. */
static bool
body_abandoned(struct hreq *h)
{
	const union MHD_ConnectionInfo *ci;
	int unread = 0;

	if (h->content_length < 0 || (int64_t)h->rq.body.len >= h->content_length ||
	    !http_client_gone(&h->rq))
		return false;
	ci = MHD_get_connection_info(h->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	return ci != NULL && ioctl(ci->connect_fd, FIONREAD, &unread) == 0 && unread == 0;
}

/* MHD hands the access handler the decoded path, cut at a decoded NUL. The
 * URI log callback sees the raw request target first: a %00 in its path
 * marks the request (through con_cls) so that it gets the 404 of api.md
 * §0.11 rather than the route of the shortened path. */
static char nul_path_mark;

static void *
uri_seen(void *cls, const char *uri, struct MHD_Connection *conn)
{
	size_t i;

	(void)cls;
	http_deadline_request_line(http_deadline_of(conn));
	for (i = 0; uri[i] != '\0' && uri[i] != '?'; i++)
		if (uri[i] == '%' && uri[i + 1] == '0' && uri[i + 2] == '0')
			return &nul_path_mark;
	return NULL;
}

static enum MHD_Result
access_handler(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	struct hreq *h = *con_cls;

	(void)cls;
	if (h == NULL || (void *)h == &nul_path_mark) {
		bool nul = h != NULL;

		h = hreq_new(conn, url, method, nul);
		*con_cls = h;
		http_deadline_head_done(h->dl);
		if (!first_call(h, version))
			return MHD_YES;
		h->phase = PH_DONE;
		/* a body still to come is not waited for (api.md §0.10, §1.5.1):
		 * MHD then skips 100-continue, reads nothing more and closes the
		 * connection; a framing error is answered so in every case */
		if (h->content_length > 0 || http_header(&h->rq, "Transfer-Encoding") != NULL ||
		    h->conn_close)
			return send_response(h);
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		size_t n = *upload_data_size;

		*upload_data_size = 0;
		http_deadline_body(h->dl, n);
		if (h->phase == PH_DONE || h->too_large)
			return MHD_YES;	/* discarded */
		if (h->is_upload) {
			h->rq.body.len += n;	/* counts bytes only */
			if ((int64_t)h->rq.body.len > h->limit)
				h->too_large = true;
			else
				upload_chunk(h, upload_data, n);
		} else if (buf_add(&h->rq.body, upload_data, n) == -1) {
			h->too_large = true;
		}
		return body_abandoned(h) ? MHD_NO : MHD_YES;
	}
	if (h->phase == PH_DONE)
		return send_response(h);
	if (h->phase == PH_RUNNING)
		return MHD_YES;
	if (h->too_large) {
		resp_error(&h->rs, ERR_TOO_LARGE, "request body too large");
		h->phase = PH_DONE;
		return send_response(h);
	}
	if (h->is_upload)
		upload_done(h);
	h->phase = PH_RUNNING;
	http_deadline_busy(h->dl);
	MHD_suspend_connection(conn);
	queue_request(h);
	return MHD_YES;
}

static const char *
method_label(const char *m)
{
	static const char *known[] = { "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS" };
	size_t i;

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(m, known[i]) == 0)
			return known[i];
	return "other";
}

static void
completed(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct hreq *h = *con_cls;
	struct timespec ts;
	double secs;
	const char *label;

	(void)cls;
	http_deadline_idle(http_deadline_of(conn));
	if (h == NULL || (void *)h == &nul_path_mark)
		return;
	*con_cls = NULL;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	secs = (double)((int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000 - h->start_mono_us) / 1e6;
	label = routes_label(&h->rq);
	if (h->rs.on_complete != NULL)
		h->rs.on_complete(h->rs.on_complete_arg, toe == MHD_REQUEST_TERMINATED_COMPLETED_OK);
	if (h->sent_status > 0 && !h->preflight)
		metrics_http(method_label(h->rq.method), label, h->sent_status, secs,
		    h->content_length > 0 ? h->content_length : 0, h->sent_bytes);
	if (h->sent_status != 0 && cfg->access_log)
		log_info("access", "method=%s path=%s status=%d duration_ms=%f bytes=%d request_id=%s",
		    h->rq.method, label, (int64_t)(h->sent_status < 0 ? 204 : h->sent_status),
		    secs * 1000.0, h->sent_bytes, h->rq.request_id);
	hreq_free(h);
}

/* ---- start and stop ---- */

static void
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int
listen_addr(struct sockaddr_storage *ss, unsigned *flags, struct err *err)
{
	struct addrinfo hints, *res = NULL;
	char port[16];

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%d", cfg->listen_port);
	if (getaddrinfo(cfg->listen_host, port, &hints, &res) != 0 || res == NULL)
		return err_set(err, ERR_IO, "cannot resolve listen address %s", cfg->listen_host);
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	if (res->ai_family == AF_INET6)
		*flags |= MHD_USE_IPv6;
	freeaddrinfo(res);
	return 0;
}

int
http_start(const struct config *c, struct err *err)
{
	struct sockaddr_storage ss;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
	    MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
	const union MHD_DaemonInfo *di;
	char addr[300];

	cfg = c;
	raise_nofile();
	if ((short_pool = pool_start("short", NSHORT, err)) == NULL ||
	    (read_pool = pool_start("read", NREAD, err)) == NULL ||
	    (runner_pool = pool_start("runner", NRUNNER, err)) == NULL ||
	    (long_pool = pool_start("long", NLONG, err)) == NULL)
		return -1;
	if (cfg->listen_host == NULL)
		flags |= MHD_USE_DUAL_STACK;
	else if (listen_addr(&ss, &flags, err) == -1)
		return -1;
	if (http_deadline_start(cfg, err) == -1)
		return -1;
	daemon_ = MHD_start_daemon(flags, (uint16_t)cfg->listen_port, NULL, NULL,
	    access_handler, NULL,
	    MHD_OPTION_THREAD_POOL_SIZE, (unsigned)2,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)4096,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)cfg->max_conns_per_ip,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)64 * 1024,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
	    MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
	    MHD_OPTION_URI_LOG_CALLBACK, uri_seen, NULL,
	    MHD_OPTION_NOTIFY_CONNECTION, http_deadline_notify, NULL,
	    cfg->listen_host != NULL ? MHD_OPTION_SOCK_ADDR : MHD_OPTION_END,
	    (struct sockaddr *)&ss, MHD_OPTION_END);
	if (daemon_ == NULL)
		return err_set(err, ERR_IO, "cannot listen on %s:%d", cfg->listen_host ? cfg->listen_host : "",
		    cfg->listen_port);
	di = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_BIND_PORT);
	snprintf(addr, sizeof(addr), "%s:%d", cfg->listen_host != NULL ? cfg->listen_host : "",
	    di != NULL ? di->port : cfg->listen_port);
	log_info("minitower listening", "addr=%s", addr);
	return 0;
}

void
http_stop(void)
{
	int64_t until = mono_ms() + SHUTDOWN_GRACE_MS;

	atomic_store(&shutting_down, true);
	notify_shutdown();
	MHD_quiesce_daemon(daemon_);
	while (atomic_load(&active_reqs) > 0 && mono_ms() < until)
		usleep(10 * 1000);
	/* Anything still suspended now must be resumed before MHD stops. */
	notify_shutdown();
	MHD_stop_daemon(daemon_);
	http_deadline_stop();
	pool_stop(short_pool);
	pool_stop(read_pool);
	pool_stop(runner_pool);
	pool_stop(long_pool);
}
