/*
 * wlock: the lock of the database's writer connection (db.c). A plain mutex
 * queues every writer without bound and without a clock: a database locked
 * by another process then holds each request until SQLite's busy timeout,
 * one after the other. This lock waits at most until a deadline, refuses
 * at once when too many threads already wait, and lets urgent writers (the
 * runners' heartbeats) past the others (docs/reliability.md).
 */
#ifndef MT_WLOCK_H
#define MT_WLOCK_H

#include <stdbool.h>
#include <stdint.h>

enum wlock_rc {
	WLOCK_OK,
	WLOCK_TIMEOUT,		/* the deadline passed first */
	WLOCK_FULL		/* max_waiting threads wait already */
};

/* Sets how many threads may wait for the lock (urgent ones are not
 * counted). Call before threads start; <= 0 means no bound. */
void wlock_init(int max_waiting);
/* Takes the lock, waiting until deadline_us (mono_us(); a deadline in the
 * past still takes a free lock). An urgent taker goes before every normal
 * one that waits. */
enum wlock_rc wlock_take(bool urgent, int64_t deadline_us);
/* Releases the lock taken by wlock_take. */
void wlock_release(void);
/* How many threads wait for the lock now (a snapshot). */
int wlock_waiting(void);

#endif
