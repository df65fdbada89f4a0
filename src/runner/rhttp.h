/*
 * rhttp: the runner's HTTP calls on libcurl. One struct rhttp per thread
 * (one easy handle, kept alive between calls). Beyond the shared client it
 * offers what the runner protocol needs: an abort callback polled during a
 * transfer (a cancel closes a download, a second signal closes a waiting
 * lease request), a low-speed limit instead of a total timeout for the
 * artifact, SHA-256 computed while the artifact is written, and the lease
 * headers (X-Lease-Remaining-Ms, Date) of every response.
 */
#ifndef MT_RHTTP_H
#define MT_RHTTP_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

struct rhttp;

struct rhttp_req {
	const char	*method;
	const char	*path;		/* appended to the base URL */
	const char	*bearer;	/* runner or registration token */
	const char	*lease_token;	/* X-Lease-Token, or NULL */
	const char	*body;		/* JSON body, or NULL */
	size_t		 body_len;
	long		 timeout_ms;	/* total; 0 = none */
	bool		 low_speed;	/* fail below 1 KiB in 30 s */
	int		 download_fd;	/* >= 0: a 2xx body goes here (hashed) */
	bool		(*abort)(void *arg);	/* true stops the transfer */
	void		*abort_arg;
};

struct rhttp_resp {
	long	 status;		/* 0 when no response arrived */
	struct buf body;		/* bounded to 1 MiB */
	char	 lease_remaining[32];
	char	 date[64];
	char	 artifact_sha256[72];
	char	 import_paths[8192];
	bool	 import_paths_seen;
	char	 sha256_hex[65];	/* digest of what went to download_fd */
	int64_t	 downloaded;
};

enum { RHTTP_OK = 0, RHTTP_FAIL = -1, RHTTP_ABORTED = -2 };

/* curl_global_init; call once before any thread starts. */
void rhttp_global_init(void);

/* A handle for base_url (no trailing '/'). Never fails. */
struct rhttp *rhttp_new(const char *base_url);
void rhttp_free(struct rhttp *h);

/* Shuts down the socket of a transfer in progress on h (from another
 * thread), so that a waiting long-poll returns at once; rhttp_do then
 * reports RHTTP_ABORTED when the request's abort test agrees. */
void rhttp_interrupt(struct rhttp *h);

void rhttp_resp_init(struct rhttp_resp *r);
void rhttp_resp_free(struct rhttp_resp *r);

/* Performs one request. Returns RHTTP_OK when a response arrived (any
 * status), RHTTP_FAIL on a transport error (err: curl's text), RHTTP_ABORTED
 * when req->abort asked to stop. resp is reset first. */
int rhttp_do(struct rhttp *h, const struct rhttp_req *req, struct rhttp_resp *resp,
    struct err *err);

/* "<status> <body>" for error messages, with the body trimmed and cut. */
void rhttp_status_text(const struct rhttp_resp *r, char *out, size_t outsz);

/* True for answers worth retrying: transport errors are handled by the
 * caller; here 5xx and 429 (except "500 artifact not found" when
 * artifact is true). */
bool rhttp_retryable(const struct rhttp_resp *r, bool artifact);

#endif
