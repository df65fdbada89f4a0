/*
 * runstate: what the main thread, the heartbeat thread and the shipper share
 * about the run in hand: the lease clock, the flags that stop the job
 * (cancel observed, stale lease, self-fence) and the eventfd that wakes the
 * main thread's poll loop. Every field is read and written under mu.
 */
#ifndef MT_RUNSTATE_H
#define MT_RUNSTATE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "lease.h"

struct runstate {
	pthread_mutex_t	 mu;
	struct lease_clock lease;
	bool		 cancelled;	/* cancel_requested seen */
	bool		 stale;		/* the lease is no longer ours */
	bool		 fenced;	/* the fence timer fired */
	bool		 reaped;	/* the job's main process was reaped */
	bool		 result_sent;	/* result or release sent */
	bool		 setup_timed_out;	/* preparation ran out of time */
	int64_t		 setup_deadline;	/* monotonic ms, 0 outside setup */
	int		 wake_fd;	/* eventfd of the main loop */
	/* Immutable while the run lasts: */
	int64_t		 run_id;
	char		*server_url;
	char		*token;		/* runner token */
	char		*lease_token;
	char		 base_path[64];	/* "/api/v1/runs/<id>" */
	atomic_int	*drain_level;	/* 0 running, 1 draining, 2+ hurry */
};

/* Initialises rs for a run (copies the strings). */
void runstate_init(struct runstate *rs, int64_t run_id, const char *server_url,
    const char *token, const char *lease_token, int wake_fd, atomic_int *drain);
void runstate_destroy(struct runstate *rs);

/* Wakes the main loop (writes the eventfd). */
void runstate_wake(struct runstate *rs);

/* Marks the lease stale and wakes the main loop. Returns true when this call changed the state. */
bool runstate_mark_stale(struct runstate *rs);
/* Marks the run cancelled and wakes the main loop. */
void runstate_mark_cancelled(struct runstate *rs);
/* D = t_sent + remaining, and wakes the main loop to re-arm the fence. */
void runstate_update(struct runstate *rs, int64_t t_sent_ms, int64_t remaining_ms);

/* Snapshots under the lock. */
struct lease_clock runstate_lease(struct runstate *rs);
int64_t runstate_fence_at(struct runstate *rs);
bool runstate_is_stale(struct runstate *rs);
bool runstate_is_cancelled(struct runstate *rs);
bool runstate_result_sent(struct runstate *rs);
void runstate_set_result_sent(struct runstate *rs);

/* True when preparation or a lease-bound wait should stop: cancelled,
 * stale, fenced, or a hurried drain. */
bool runstate_should_abort(struct runstate *rs);

/* Fires the fence when its time has come (WARN `lease expired,
 * self-fencing`, the lease becomes stale). Returns true when fenced. */
bool runstate_check_fence(struct runstate *rs);

/* The abort test of workspace preparation: should_abort, the fence, any
 * drain, or the setup deadline (which sets setup_timed_out). */
bool runstate_prep_abort(struct runstate *rs);

#endif
