/*
 * client: the shared HTTP client (libcurl) of minitower-runner, minitower-cli
 * and the tests. One struct client per thread (it owns one curl easy handle,
 * reused for keep-alive). Requests are synchronous; bodies and responses are
 * bounded buffers; downloads stream to a file descriptor. Another thread may
 * interrupt a request in progress (client_interrupt), which is how the
 * runner ends a waiting long-poll.
 */
#ifndef MT_CLIENT_H
#define MT_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

struct client;

/* Initialises libcurl (curl_global_init). Call once, before any thread starts
 * and before client_new; later calls are no-ops. */
void client_global_init(void);

struct client_header {
	const char *name;
	const char *value;
};

struct client_req {
	const char	*method;	/* "GET", "POST", "DELETE", ... */
	const char	*path;		/* appended to the base URL, e.g. "/api/v1/me" */
	const char	*bearer;	/* Authorization: Bearer <bearer>, or NULL */
	const struct client_header *headers;	/* extra headers, NULL-name terminated, or NULL */
	const char	*body;		/* request body (JSON), or NULL */
	size_t		 body_len;
	const char	*upload_file;	/* multipart upload of this file as field "artifact", or NULL */
	const char	*upload_name;	/* filename sent for upload_file */
	int		 download_fd;	/* >= 0: a 2xx body is written here instead of resp->body */
	long		 timeout_ms;	/* total timeout, 0 = none */
	long		 connect_timeout_ms;	/* 0 = 10 s */
	int		 progress;	/* draw an upload progress bar on stderr */
	/* Extensions (all optional; zero means off). */
	/* A 2xx body is passed to sink as it arrives (instead of resp->body or
	 * download_fd). A non-zero return stops the transfer; client_do then
	 * still returns 0 and sets resp->sink_stopped. */
	int		(*sink)(void *arg, const char *data, size_t len);
	void		*sink_arg;
	/* Fail with a transport error when fewer than stall_bytes bytes are
	 * sent or received in any stall_ms window (e.g. 1 byte in 45 s for an
	 * event stream, 1024 bytes in 30 s for an artifact upload). */
	long		 stall_bytes;
	long		 stall_ms;
	/* Polled during the transfer (at least about once a second, and at
	 * once after client_interrupt): true stops it; client_do then returns
	 * -1 ("aborted") with resp->aborted set. */
	bool		(*abort)(void *arg);
	void		*abort_arg;
};

struct client_resp {
	long		 status;	/* HTTP status, 0 when no response arrived */
	struct buf	 body;		/* response body (bounded, 16 MiB) */
	char		 request_id[136];
	char		 lease_remaining_ms[32];	/* X-Lease-Remaining-Ms, "" when absent */
	char		 artifact_sha256[72];	/* X-Artifact-SHA256 */
	char		 entrypoint[4096];	/* X-Entrypoint */
	char		 timeout_seconds[32];	/* X-Timeout-Seconds */
	char		 import_paths[8192];	/* X-Import-Paths */
	char		 retry_after[32];
	char		 replayed[16];		/* Idempotent-Replayed */
	/* Extensions. */
	char		 content_type[128];
	char		 date[64];		/* Date */
	int		 header_truncated;	/* a captured header did not fit its field */
	int		 sink_stopped;		/* the sink ended the transfer */
	int		 aborted;		/* req->abort ended the transfer */
};

/* Creates a client for base_url (a trailing '/' is ignored). Never fails. */
struct client *client_new(const char *base_url);
/* Frees the client; NULL is a no-op. */
void client_free(struct client *c);
/* Initialises / releases a response (call client_resp_free after each use). */
void client_resp_init(struct client_resp *r);
void client_resp_free(struct client_resp *r);
/* Shuts down the socket of c's connection, so that a request in progress
 * on c (in another thread) ends at once: with "aborted" when its abort test
 * now says so, otherwise as a transport failure. Harmless when c is idle
 * (its cached connection is dropped). Thread-safe. */
void client_interrupt(struct client *c);
/* Performs one request. Returns 0 when an HTTP response arrived (any status,
 * see resp->status), -1 on a transport failure (err: ERR_IO, curl's text).
 * resp must have been initialised; it is reset first. A response body over
 * 16 MiB (when it goes to resp->body) is a transport failure. */
int client_do(struct client *c, const struct client_req *req,
    struct client_resp *resp, struct err *err);
/* The server's error message of a JSON error envelope in body, or the raw
 * body, or the HTTP status text; written into out. */
void client_error_message(const struct client_resp *r, char *out, size_t outsz);

#endif
