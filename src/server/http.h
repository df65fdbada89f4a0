/*
 * http: the HTTP layer's view for handlers. http.c is the only file that
 * includes microhttpd.h: it reads requests into a struct req, runs the
 * router on a worker thread, and renders the struct resp the handler filled.
 * Handlers never see sockets, so they can be driven directly in tests.
 */
#ifndef MT_HTTP_H
#define MT_HTTP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "buf.h"
#include "err.h"

#define HTTP_MAX_RESP_HEADERS 8

struct config;

struct http_pair {
	char	*name;
	char	*value;
	size_t	 value_len;
};

enum wake_reason { WAKE_NONE, WAKE_EVENT, WAKE_TIMEOUT, WAKE_SHUTDOWN };

/* What a parked request waits for (notify.c). */
enum wait_kind { WAIT_NONE, WAIT_LEASE, WAIT_RUN };

struct team_auth {
	int64_t	 team_id;
	char	 team_slug[40];
	int64_t	 token_id;
	bool	 admin;
	char	 token_hash[65];
};

struct runner_auth {
	int64_t	 runner_id;
	char	 name[256];
	char	 environment[256];
};

struct req {
	const char	*method;
	char		*path;			/* decoded path */
	const struct route *route;		/* matched route, NULL when none */
	char		*param;			/* {app}, {run} or {id} segment */
	char		*sub;			/* action of /runs/{run}/<sub> */
	/* every pair (MHD's 64 KiB connection memory bounds how many) */
	struct http_pair *query;
	int		 nquery, query_cap;
	struct http_pair *headers;
	int		 nheaders, headers_cap;
	struct buf	 body;
	char		 client_addr[64];
	char		 request_id[130];
	struct team_auth team;
	struct runner_auth runner;
	/* artifact upload (multipart), filled by http.c */
	char		*upload_path;		/* temp file, NULL when no artifact part */
	char		 upload_sha256[65];
	bool		 upload_bad_form;
	bool		 upload_io_error;
	int		 upload_errno;		/* errno of the failed write, 0 if none */
	int64_t		 upload_app_id;		/* from the pre-check */
	/* long-poll state kept across re-runs of the handler */
	enum wake_reason wake;
	int64_t		 wait_deadline_ms;	/* 0 until the handler sets it */
	int		 runs;			/* how many times the handler ran */
	int64_t		 queued_mono_us;	/* when it was queued for a worker */
	bool		 shutting_down;
	void		*state;			/* handler-owned, freed by state_free */
	void		(*state_free)(void *);
	void		*conn_priv;		/* http.c's connection, opaque */
};

struct resp_stream;

struct resp {
	int		 status;		/* 0: the handler queued nothing */
	struct buf	 body;
	const char	*content_type;		/* default application/json */
	struct http_pair headers[HTTP_MAX_RESP_HEADERS];
	int		 nheaders;
	int		 fd;			/* >= 0: send this file */
	int64_t		 fd_size;
	struct resp_stream *stream;		/* event stream (below) */
	/* park and re-run the handler on an event or at the deadline */
	enum wait_kind	 wait;
	char		 wait_env[256];
	int64_t		 wait_run;
	uint64_t	 wait_gen;		/* notify generation read before the check */
	int64_t		 wait_until_ms;
	/* called after the response completed: ok tells whether it was sent */
	void		(*on_complete)(void *arg, bool ok);
	void		*on_complete_arg;
};

/* A streamed body (chunked): fill appends bytes to out. It returns 1 when
 * it added data, 0 when it has nothing now (it fills *wait_run and *gen to
 * park on), -1 at the end of the stream (after the bytes it added), and
 * RESP_STREAM_FAILED to close the connection without ending the body. wake
 * says why it runs again. The stream is an event stream (text/event-stream,
 * no caching) unless the handler set resp.content_type. */
#define RESP_STREAM_FAILED (-2)

struct resp_stream {
	int	(*fill)(void *ctx, struct buf *out, enum wake_reason wake,
		    int64_t *wait_run, uint64_t *gen);
	void	(*free)(void *ctx);
	void	*ctx;
	bool	 on_worker;	/* fill reads much: run it on the worker pool */
};

/* Looks up a query parameter (first occurrence); returns the value (NUL
 * terminated, *len its length, which may contain a NUL) or NULL when absent
 * or empty. */
const char *http_query(const struct req *rq, const char *name, size_t *len);
/* Looks up a request header (case-insensitive); NULL when absent. */
const char *http_header(const struct req *rq, const char *name);

/* Sets a JSON response: status and the compact body already in a buf. */
void resp_json(struct resp *rs, int status, struct buf *body_take);
/* Sets a JSON response from a jansson value (free-form keys sorted). */
void resp_jsonv(struct resp *rs, int status, const json_t *v);
/* Sets the error envelope for err (code → status in one table). */
void resp_err(struct resp *rs, const struct err *err);
/* Shorthand: resp_err with a code and message. */
void resp_error(struct resp *rs, enum err_code code, const char *msg);
/* Adds a response header (copied). */
void resp_header(struct resp *rs, const char *name, const char *value);
/* An empty response with the given status (204 and the like). */
void resp_empty(struct resp *rs, int status);
/* The HTTP status of an error code. */
int err_http_status(enum err_code code);

/* Starts the daemon (thread pool, workers, clock); returns 0 or -1. */
int http_start(const struct config *cfg, struct err *err);
/* Graceful shutdown as api.md §0.1 says; returns when the daemon stopped. */
void http_stop(void);
/* True once shutdown has begun. */
bool http_shutting_down(void);

/* True when the client of rq has closed its end of the connection (hang-up
 * or an orderly shutdown seen by poll(2)); MHD only notices that when it next
 * writes. Used before committing work for a request that waited. */
bool http_client_gone(const struct req *rq);

#endif
