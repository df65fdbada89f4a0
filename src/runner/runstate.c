/*
 * runstate: the shared state of one run. Setters wake the main loop through
 * its eventfd; the main loop re-reads everything it needs after each wake,
 * so no flag change is lost and no thread ever signals the job itself.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "runstate.h"
#include "util.h"

void
runstate_init(struct runstate *rs, int64_t run_id, const char *server_url,
    const char *token, const char *lease_token, int wake_fd, atomic_int *drain)
{
	memset(rs, 0, sizeof(*rs));
	pthread_mutex_init(&rs->mu, NULL);
	rs->run_id = run_id;
	rs->server_url = xstrdup(server_url);
	rs->token = xstrdup(token);
	rs->lease_token = xstrdup(lease_token);
	rs->wake_fd = wake_fd;
	rs->drain_level = drain;
	snprintf(rs->base_path, sizeof(rs->base_path), "/api/v1/runs/%lld",
	    (long long)run_id);
}

void
runstate_destroy(struct runstate *rs)
{
	pthread_mutex_destroy(&rs->mu);
	free(rs->server_url);
	free(rs->token);
	free(rs->lease_token);
}

void
runstate_wake(struct runstate *rs)
{
	uint64_t one = 1;
	ssize_t n = write(rs->wake_fd, &one, sizeof(one));

	(void)n;
}

bool
runstate_mark_stale(struct runstate *rs)
{
	bool changed = false;

	pthread_mutex_lock(&rs->mu);
	if (!rs->stale) {
		rs->stale = true;
		changed = true;
	}
	pthread_mutex_unlock(&rs->mu);
	runstate_wake(rs);
	return changed;
}

void
runstate_mark_cancelled(struct runstate *rs)
{
	pthread_mutex_lock(&rs->mu);
	rs->cancelled = true;
	pthread_mutex_unlock(&rs->mu);
	runstate_wake(rs);
}

void
runstate_update(struct runstate *rs, int64_t t_sent_ms, int64_t remaining_ms)
{
	pthread_mutex_lock(&rs->mu);
	lease_update(&rs->lease, t_sent_ms, remaining_ms);
	pthread_mutex_unlock(&rs->mu);
	runstate_wake(rs);
}

struct lease_clock
runstate_lease(struct runstate *rs)
{
	struct lease_clock lc;

	pthread_mutex_lock(&rs->mu);
	lc = rs->lease;
	pthread_mutex_unlock(&rs->mu);
	return lc;
}

int64_t
runstate_fence_at(struct runstate *rs)
{
	struct lease_clock lc = runstate_lease(rs);

	return lease_fence_at(&lc);
}

#define GETTER(name, field) \
bool name(struct runstate *rs) \
{ \
	bool v; \
	pthread_mutex_lock(&rs->mu); \
	v = rs->field; \
	pthread_mutex_unlock(&rs->mu); \
	return v; \
}
GETTER(runstate_is_stale, stale)
GETTER(runstate_is_cancelled, cancelled)
GETTER(runstate_result_sent, result_sent)
#undef GETTER

void
runstate_set_result_sent(struct runstate *rs)
{
	pthread_mutex_lock(&rs->mu);
	rs->result_sent = true;
	pthread_mutex_unlock(&rs->mu);
}

bool
runstate_should_abort(struct runstate *rs)
{
	bool v;

	pthread_mutex_lock(&rs->mu);
	v = rs->cancelled || rs->stale || rs->fenced;
	pthread_mutex_unlock(&rs->mu);
	return v || (rs->drain_level != NULL && atomic_load(rs->drain_level) >= 2);
}

bool
runstate_check_fence(struct runstate *rs)
{
	bool fire = false, fenced;

	pthread_mutex_lock(&rs->mu);
	if (!rs->fenced && !rs->reaped && !rs->result_sent &&
	    mono_ms() >= lease_fence_at(&rs->lease)) {
		rs->fenced = rs->stale = fire = true;
	}
	fenced = rs->fenced;
	pthread_mutex_unlock(&rs->mu);
	if (fire) {
		log_warn("lease expired, self-fencing", NULL);
		runstate_wake(rs);
	}
	return fenced;
}

bool
runstate_prep_abort(struct runstate *rs)
{
	bool timed_out = false;

	if (runstate_check_fence(rs) || runstate_should_abort(rs) ||
	    (rs->drain_level != NULL && atomic_load(rs->drain_level) >= 1))
		return true;
	pthread_mutex_lock(&rs->mu);
	if (rs->setup_deadline > 0 && mono_ms() >= rs->setup_deadline)
		rs->setup_timed_out = timed_out = true;
	pthread_mutex_unlock(&rs->mu);
	return timed_out;
}
