/*
 * notify: one mutex-protected doubly linked list of parked waiters and a
 * clock thread sleeping on a condition variable until the nearest deadline
 * or the next reaper tick. Lists stay small (hundreds), so linear scans are
 * cheaper than any index.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "notify.h"
#include "util.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv;
static struct waiter *head;
static atomic_uint_fast64_t gen;
static bool down, stop_clock;
static pthread_t clock_thread;
static bool clock_started;
static int64_t tick_ms;
static void (*tick_fn)(void);
/* Runners of lease requests woken but not yet settled (a multiset). */
static int64_t *holds;
static size_t nholds, capholds;

uint64_t
notify_gen(void)
{
	return atomic_load(&gen);
}

static void
unlink_w(struct waiter *w)
{
	if (w->prev != NULL)
		w->prev->next = w->next;
	else
		head = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
	w->prev = w->next = NULL;
	w->parked = false;
}

int
notify_park(struct waiter *w, uint64_t g, void (*before_sleep)(void *), void *arg)
{
	pthread_mutex_lock(&mu);
	if (down || atomic_load(&gen) != g) {
		pthread_mutex_unlock(&mu);
		return -1;
	}
	w->prev = NULL;
	w->next = head;
	if (head != NULL)
		head->prev = w;
	head = w;
	w->parked = true;
	if (before_sleep != NULL)
		before_sleep(arg);
	pthread_cond_signal(&cv);	/* the clock may need an earlier deadline */
	pthread_mutex_unlock(&mu);
	return 0;
}

bool
notify_unpark(struct waiter *w)
{
	bool was;

	pthread_mutex_lock(&mu);
	was = w->parked;
	if (was)
		unlink_w(w);
	pthread_mutex_unlock(&mu);
	return was;
}

/* Wakes w (lock held). A woken lease request keeps its runner "waiting"
 * until notify_release: its handler has yet to run again. */
static void
fire(struct waiter *w, enum wake_reason why)
{
	unlink_w(w);
	if (w->kind == WAIT_LEASE) {
		if (nholds == capholds) {
			capholds = capholds == 0 ? 16 : capholds * 2;
			holds = xrealloc(holds, capholds * sizeof(*holds));
		}
		holds[nholds++] = w->runner_id;
		w->held = true;
	}
	w->wake(w->arg, why);
}

void
notify_release(int64_t runner_id)
{
	size_t i;

	pthread_mutex_lock(&mu);
	for (i = 0; i < nholds; i++)
		if (holds[i] == runner_id) {
			holds[i] = holds[--nholds];
			break;
		}
	pthread_mutex_unlock(&mu);
}

void
notify_runnable(const char *env, int n)
{
	struct waiter *w, *next, *last = NULL;

	pthread_mutex_lock(&mu);
	atomic_fetch_add(&gen, 1);
	/* Oldest waiters first: the list is newest-first, so walk from the tail. */
	for (w = head; w != NULL; w = w->next)
		last = w;
	for (w = last; w != NULL && n != 0; w = next) {
		next = w->prev;
		if (w->kind == WAIT_LEASE && strcmp(w->env, env) == 0) {
			fire(w, WAKE_EVENT);
			n--;
		}
	}
	pthread_mutex_unlock(&mu);
}

void
notify_run(int64_t run_id)
{
	struct waiter *w, *next;

	pthread_mutex_lock(&mu);
	atomic_fetch_add(&gen, 1);
	for (w = head; w != NULL; w = next) {
		next = w->next;
		if (w->kind == WAIT_RUN && w->run_id == run_id)
			fire(w, WAKE_EVENT);
	}
	pthread_mutex_unlock(&mu);
}

bool
notify_runner_waiting(int64_t runner_id)
{
	struct waiter *w;
	bool found = false;

	size_t i;

	pthread_mutex_lock(&mu);
	for (w = head; w != NULL && !found; w = w->next)
		found = w->kind == WAIT_LEASE && w->runner_id == runner_id;
	for (i = 0; i < nholds && !found; i++)
		found = holds[i] == runner_id;
	pthread_mutex_unlock(&mu);
	return found;
}

static void
expire_due(int64_t now, int64_t *next_deadline)
{
	struct waiter *w, *next;

	for (w = head; w != NULL; w = next) {
		next = w->next;
		if (w->deadline_ms > 0 && w->deadline_ms <= now)
			fire(w, WAKE_TIMEOUT);
		else if (w->deadline_ms > 0 && w->deadline_ms < *next_deadline)
			*next_deadline = w->deadline_ms;
	}
}

static void *
clock_main(void *arg)
{
	int64_t next_tick = tick_ms > 0 ? mono_ms() + tick_ms : INT64_MAX;

	(void)arg;
	pthread_mutex_lock(&mu);
	while (!stop_clock) {
		int64_t now = steady_ms(), wake_at = now + 1000, mnow;
		struct timespec ts;

		expire_due(now, &wake_at);
		mnow = mono_ms();
		if (tick_fn != NULL && mnow >= next_tick) {
			pthread_mutex_unlock(&mu);
			tick_fn();
			pthread_mutex_lock(&mu);
			next_tick = mono_ms() + tick_ms;
			continue;
		}
		if (next_tick != INT64_MAX && now + (next_tick - mnow) < wake_at)
			wake_at = now + (next_tick - mnow);
		wake_at = mnow + (wake_at - now);	/* as CLOCK_MONOTONIC */
		ts.tv_sec = wake_at / 1000;
		ts.tv_nsec = (wake_at % 1000) * 1000000;
		pthread_cond_timedwait(&cv, &mu, &ts);
	}
	pthread_mutex_unlock(&mu);
	return NULL;
}

int
notify_start(int64_t interval_ms, void (*tick)(void))
{
	pthread_condattr_t ca;

	pthread_condattr_init(&ca);
	/* deadlines are steady_ms() times: sleep on the clock that never steps */
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&cv, &ca);
	pthread_condattr_destroy(&ca);
	tick_ms = interval_ms;
	tick_fn = interval_ms > 0 ? tick : NULL;
	if (pthread_create(&clock_thread, NULL, clock_main, NULL) != 0)
		return -1;
	clock_started = true;
	return 0;
}

void
notify_shutdown(void)
{
	pthread_mutex_lock(&mu);
	down = true;
	atomic_fetch_add(&gen, 1);
	while (head != NULL)
		fire(head, WAKE_SHUTDOWN);
	pthread_mutex_unlock(&mu);
}

void
notify_stop(void)
{
	if (!clock_started)
		return;
	pthread_mutex_lock(&mu);
	stop_clock = true;
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu);
	pthread_join(clock_thread, NULL);
	clock_started = false;
}
