/*
 * heartbeat: the heartbeat thread of one run (runner.md §7). It keeps one
 * long-poll heartbeat in flight with its own HTTP handle, moves the lease
 * deadline, and reports a cancel or a stale lease through the runstate; it
 * never signals the job itself.
 */
#ifndef MT_HEARTBEAT_H
#define MT_HEARTBEAT_H

#include "client.h"
#include "runstate.h"

struct heartbeat;

/* Starts the thread for rs's run; it uses http (borrowed, kept alive
 * between runs so the connection is reused). */
struct heartbeat *heartbeat_start(struct runstate *rs, struct client *http);

/* Stops the thread (a request in flight is closed within about a second)
 * and frees it. NULL is a no-op. */
void heartbeat_stop(struct heartbeat *hb);

#endif
