/*
 * wlock: a mutex-and-condition lock with a deadline, a bounded queue and an
 * urgent lane. The condition uses CLOCK_MONOTONIC, so a step of the wall
 * clock neither shortens nor stretches a wait.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "util.h"
#include "wlock.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static bool held;
static int urgent_waiting;
static atomic_int waiting;
static int max_waiting;

static void
cv_init(void)
{
	pthread_condattr_t a;

	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(&cv, &a);
	pthread_condattr_destroy(&a);
}

void
wlock_init(int max)
{
	pthread_once(&once, cv_init);
	max_waiting = max;
}

/* Waits on cv until until_us; false once it has passed (mu held). */
static bool
wait_until(int64_t until_us)
{
	struct timespec ts;
	int64_t now = mono_us();

	if (now >= until_us)
		return false;
	/* mono_us() is CLOCK_MONOTONIC in microseconds (util.c) */
	ts.tv_sec = until_us / 1000000;
	ts.tv_nsec = (until_us % 1000000) * 1000;
	pthread_cond_timedwait(&cv, &mu, &ts);
	return true;
}

enum wlock_rc
wlock_take(bool urgent, int64_t until_us)
{
	enum wlock_rc rc = WLOCK_OK;

	pthread_once(&once, cv_init);
	pthread_mutex_lock(&mu);
	if (!urgent && max_waiting > 0 && (held || urgent_waiting > 0) &&
	    atomic_load(&waiting) - urgent_waiting >= max_waiting) {
		pthread_mutex_unlock(&mu);
		return WLOCK_FULL;
	}
	atomic_fetch_add(&waiting, 1);
	urgent_waiting += urgent;
	while (held || (!urgent && urgent_waiting > 0)) {
		if (!wait_until(until_us)) {
			rc = WLOCK_TIMEOUT;
			break;
		}
	}
	if (rc == WLOCK_OK)
		held = true;
	else if (urgent)
		pthread_cond_broadcast(&cv);	/* normal waiters may go first now */
	urgent_waiting -= urgent;
	atomic_fetch_sub(&waiting, 1);
	pthread_mutex_unlock(&mu);
	return rc;
}

void
wlock_release(void)
{
	pthread_mutex_lock(&mu);
	held = false;
	if (atomic_load(&waiting) > 0)
		pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

int
wlock_waiting(void)
{
	return atomic_load(&waiting);
}
