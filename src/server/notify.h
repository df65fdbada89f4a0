/*
 * notify: the in-process registry of parked requests (waiting lease
 * requests, waiting heartbeats, idle event streams) and the clock thread
 * that ends their waits and drives the reaper. After a commit, handlers call
 * notify_runnable() or notify_run(); the right waiters are woken through
 * their wake callback, which runs under the registry lock (so a connection
 * is never resumed before it was suspended).
 */
#ifndef MT_NOTIFY_H
#define MT_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>

#include "http.h"

struct waiter {
	enum wait_kind	 kind;
	char		 env[256];	/* WAIT_LEASE: the runner's environment */
	int64_t		 runner_id;	/* WAIT_LEASE: for the offline sweep */
	int64_t		 run_id;	/* WAIT_RUN */
	int64_t		 deadline_ms;	/* steady_ms() clock; 0 = none */
	void		(*wake)(void *arg, enum wake_reason why);
	void		*arg;
	bool		 parked;
	bool		 held;		/* WAIT_LEASE woken: see notify_release */
	struct waiter	*prev, *next;
};

/* The generation counter: read it before the last database check and pass
 * it to notify_park, so an event in between is never lost. */
uint64_t notify_gen(void);
/* Parks w unless an event happened since gen (then returns -1 and the
 * caller retries at once). before_sleep (may be NULL) runs under the lock
 * after w is registered, e.g. to suspend a connection. Returns 0 parked. */
int notify_park(struct waiter *w, uint64_t gen, void (*before_sleep)(void *), void *arg);
/* Removes w if it is parked; returns true when it was. */
bool notify_unpark(struct waiter *w);
/* Wakes up to n lease waiters of environment env (n < 0: all of them). */
void notify_runnable(const char *env, int n);
/* Wakes every waiter of run run_id. */
void notify_run(int64_t run_id);
/* True when runner_id has a lease request parked, or woken (w->held set)
 * and not yet released: api.md §2.6 skips such runners until the request's
 * handler has run again and refreshed last_seen_at. */
bool notify_runner_waiting(int64_t runner_id);
/* Ends the hold a wake-up put on runner_id (call once per woken waiter
 * whose held was set, after its handler ran again and parked or answered). */
void notify_release(int64_t runner_id);
/* Starts the clock thread: deadlines, and tick() every interval_ms (<= 0:
 * never). Returns 0 or -1. */
int notify_start(int64_t interval_ms, void (*tick)(void));
/* Wakes everything with WAKE_SHUTDOWN, and from then on parks nothing. */
void notify_shutdown(void);
/* Stops the clock thread. */
void notify_stop(void);

#endif
