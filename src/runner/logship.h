/*
 * logship: the log queue of one attempt and its single shipper thread
 * (runner.md §6). seq numbers are assigned under the queue lock, so the
 * queue is in seq order; at most one POST /logs is in flight; batches hold
 * at most 100 entries and go out at 100 queued, at once after a runner
 * line, every 2 s, and at the end. The queue holds at most 1000 job lines:
 * the reader checks logship_room() and stops reading when it is 0.
 */
#ifndef MT_LOGSHIP_H
#define MT_LOGSHIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client.h"
#include "runstate.h"

#define LOGSHIP_QUEUE_MAX	1000
#define LOGSHIP_BATCH_MAX	100

enum logship_stream { LOG_STDOUT, LOG_STDERR };

struct logship;

/* Creates the queue and starts the shipper thread for rs's run; it posts
 * with http (borrowed, kept alive between runs). */
struct logship *logship_start(struct runstate *rs, struct client *http);

/* Queues one job line (len <= 8192, valid UTF-8, no NUL) read at ts_ms
 * (wall clock). The caller made sure logship_room() > 0. */
void logship_push(struct logship *ls, enum logship_stream st, const char *line,
    size_t len, int64_t ts_ms);

/* Queues a runner line on stderr (trimmed; empty texts are dropped) and
 * asks for an immediate flush. Never blocks for long. */
void logship_runner_line(struct logship *ls, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* How many more job lines fit into the queue now. */
size_t logship_room(struct logship *ls);

/* Flushes what is queued, waiting at most until the monotonic time
 * deadline_ms, then stops and frees the shipper. NULL is a no-op. */
void logship_finish(struct logship *ls, int64_t deadline_ms);

/* The number of entries queued so far (the last seq). */
int64_t logship_last_seq(struct logship *ls);

#endif
