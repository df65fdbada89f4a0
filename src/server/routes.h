/*
 * routes: the route table (method, template, authentication, handler) and
 * the matching and ordering rules of api.md §0.11. http.c matches a request
 * once when it arrives (for the body limit and the metrics label) and
 * dispatches it on a worker thread once its body is read.
 */
#ifndef MT_ROUTES_H
#define MT_ROUTES_H

#include <stdbool.h>
#include <stdint.h>

#include "http.h"

struct config;

/* Sets the configuration the routes consult (bootstrap token, UI, ...). */
void routes_init(const struct config *cfg);
/* Matches rq->path: sets rq->route, rq->param and rq->sub. */
void routes_match(struct req *rq);
/* The metrics/access-log label of the matched request ("other" if none). */
const char *routes_label(const struct req *rq);
/* Body limit in bytes for this request. */
int64_t routes_body_limit(const struct req *rq);
/* True when the request is an artifact upload (POST .../versions). */
bool routes_is_upload(const struct req *rq);
/* For uploads, before the body is read: authentication and the app lookup.
 * Returns 0 to read the body, -1 when rs holds the final answer. */
int routes_upload_precheck(struct req *rq, struct resp *rs);
/* True when the matched handler does long work (password hashing, archive
 * inspection, the replay of a log stream, the metrics gauges: api.md §0.2);
 * it then runs on the long pool, every other handler on the short one. */
bool routes_long_work(const struct req *rq);
/* The worker pool a request runs on: long work (above); the runner
 * protocol, which must not wait behind the API's writes (heartbeats keep
 * their leases); reads (GET and HEAD), which never wait behind writes; and
 * the other writes (docs/reliability.md). */
enum route_class { RC_WRITE, RC_READ, RC_RUNNER, RC_LONG };
enum route_class routes_class(const struct req *rq);
/* Runs the request through authentication, method checks and the handler.
 * Its writes give up (503) once the write timeout has passed since
 * rq->queued_mono_us, unless it is long work. */
void routes_dispatch(struct req *rq, struct resp *rs);

#endif
