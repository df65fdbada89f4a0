/*
 * http_deadline: the slow-client watchdog (docs/http.md). libmicrohttpd's
 * own timeout only limits time without progress, so a client that sends a
 * byte now and then holds its connection forever. This module tracks every
 * connection through MHD's connection notifications and closes those whose
 * request head takes longer than MINITOWER_HEADER_TIMEOUT or whose body
 * arrives slower than MINITOWER_BODY_MIN_RATE after MINITOWER_BODY_GRACE.
 * Responses (long polls, event streams, downloads) are never timed.
 */
#ifndef MT_HTTP_DEADLINE_H
#define MT_HTTP_DEADLINE_H

#include <stddef.h>

#include <microhttpd.h>

#include "err.h"

struct config;
struct dl_conn;

/* Starts the watchdog thread with c's limits (c must outlive
 * http_deadline_stop). With both limits 0 nothing is tracked and no thread
 * starts. Returns 0, or -1 with err when the thread cannot start. */
int http_deadline_start(const struct config *c, struct err *err);
/* Stops the watchdog and frees what is left; call after MHD_stop_daemon. */
void http_deadline_stop(void);

/* MHD_OPTION_NOTIFY_CONNECTION callback: STARTED begins tracking the
 * connection (its socket context becomes the slot), CLOSED ends it. MHD
 * 0.9.75 calls CLOSED before it closes the socket, which is what makes the
 * watchdog's shutdown() safe. */
void http_deadline_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
    enum MHD_ConnectionNotificationCode code);

/* The slot of conn, or NULL when it is not tracked. Call on MHD's thread of
 * that connection only (any callback for it), never from a worker. */
struct dl_conn *http_deadline_of(struct MHD_Connection *conn);

/* Request progress, from MHD's callbacks; each is a no-op on NULL.
 * request_line: the request line has arrived (the head clock runs);
 * head_done: the access handler got the headers (the body clock starts);
 * body: n more body bytes arrived; busy: the body is complete or will not be
 * read (a response is queued or the request runs): nothing is timed until
 * idle: the request is over and the connection waits for the next one. */
void http_deadline_request_line(struct dl_conn *d);
void http_deadline_head_done(struct dl_conn *d);
void http_deadline_body(struct dl_conn *d, size_t n);
void http_deadline_busy(struct dl_conn *d);
void http_deadline_idle(struct dl_conn *d);

#endif
