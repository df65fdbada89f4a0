/*
 * test_notify: the waiter registry of src/server/notify.c as the offline
 * sweep sees it (api.md §2.6). A parked lease request counts as waiting;
 * once woken (by an event, its deadline or shutdown) its runner still counts
 * until notify_release, so the sweep cannot mark it offline in the moment
 * between the wake-up and the handler's next run. A waiter taken back with
 * notify_unpark, or one of another kind, holds nothing.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../src/server/notify.c"

#include <setjmp.h>
#include <cmocka.h>

static pthread_mutex_t wmu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wcv = PTHREAD_COND_INITIALIZER;
static int woken;
static enum wake_reason last_why;

static void
on_wake(void *arg, enum wake_reason why)
{
	(void)arg;
	pthread_mutex_lock(&wmu);
	woken++;
	last_why = why;
	pthread_cond_broadcast(&wcv);
	pthread_mutex_unlock(&wmu);
}

static void
lease_waiter(struct waiter *w, int64_t runner_id, const char *env, int64_t deadline_ms)
{
	memset(w, 0, sizeof(*w));
	w->kind = WAIT_LEASE;
	w->runner_id = runner_id;
	snprintf(w->env, sizeof(w->env), "%s", env);
	w->deadline_ms = deadline_ms;
	w->wake = on_wake;
}

static int
setup(void **state)
{
	(void)state;
	woken = 0;
	return 0;
}

static void
test_event_wake_holds_until_release(void **state)
{
	struct waiter w;

	(void)state;
	lease_waiter(&w, 7, "default", 0);
	assert_false(notify_runner_waiting(7));
	assert_int_equal(notify_park(&w, notify_gen(), NULL, NULL), 0);
	assert_true(notify_runner_waiting(7));
	assert_false(notify_runner_waiting(8));
	notify_runnable("other", 1);		/* another environment: still parked */
	assert_int_equal(woken, 0);
	notify_runnable("default", 1);
	assert_int_equal(woken, 1);
	assert_int_equal(last_why, WAKE_EVENT);
	assert_false(w.parked);
	assert_true(w.held);
	assert_true(notify_runner_waiting(7));	/* woken, handler not yet run */
	notify_release(7);
	assert_false(notify_runner_waiting(7));
}

static void
test_deadline_wake_holds(void **state)
{
	struct waiter w;

	(void)state;
	lease_waiter(&w, 9, "default", steady_ms() + 50);
	assert_int_equal(notify_start(0, NULL), 0);
	assert_int_equal(notify_park(&w, notify_gen(), NULL, NULL), 0);
	pthread_mutex_lock(&wmu);
	while (woken == 0)	/* the clock thread fires it; no time is asserted */
		pthread_cond_wait(&wcv, &wmu);
	pthread_mutex_unlock(&wmu);
	notify_stop();
	assert_int_equal(last_why, WAKE_TIMEOUT);
	assert_true(w.held);
	assert_true(notify_runner_waiting(9));
	notify_release(9);
	assert_false(notify_runner_waiting(9));
}

static void
test_holds_count_per_wake(void **state)
{
	struct waiter a, b;

	(void)state;
	lease_waiter(&a, 11, "e", 0);
	lease_waiter(&b, 11, "e", 0);
	assert_int_equal(notify_park(&a, notify_gen(), NULL, NULL), 0);
	assert_int_equal(notify_park(&b, notify_gen(), NULL, NULL), 0);
	notify_runnable("e", -1);
	assert_int_equal(woken, 2);
	notify_release(11);
	assert_true(notify_runner_waiting(11));	/* the second request still holds */
	notify_release(11);
	assert_false(notify_runner_waiting(11));
	notify_release(11);			/* a stray release is harmless */
	assert_false(notify_runner_waiting(11));
}

static void
test_unpark_and_run_waiters_hold_nothing(void **state)
{
	struct waiter l, r;

	(void)state;
	lease_waiter(&l, 13, "e", 0);
	assert_int_equal(notify_park(&l, notify_gen(), NULL, NULL), 0);
	assert_true(notify_unpark(&l));
	assert_false(l.held);
	assert_false(notify_runner_waiting(13));
	memset(&r, 0, sizeof(r));
	r.kind = WAIT_RUN;
	r.run_id = 5;
	r.runner_id = 13;
	r.wake = on_wake;
	assert_int_equal(notify_park(&r, notify_gen(), NULL, NULL), 0);
	assert_false(notify_runner_waiting(13));
	notify_run(5);
	assert_int_equal(woken, 1);
	assert_false(r.held);
	assert_false(notify_runner_waiting(13));
}

static void
test_stale_generation_does_not_park(void **state)
{
	struct waiter w;
	uint64_t g = notify_gen();

	(void)state;
	lease_waiter(&w, 15, "e", 0);
	notify_run(99);				/* any event moves the generation */
	assert_int_equal(notify_park(&w, g, NULL, NULL), -1);
	assert_false(notify_runner_waiting(15));
}

/* Last: after shutdown nothing parks again. */
static void
test_shutdown_wake_holds(void **state)
{
	struct waiter w;

	(void)state;
	lease_waiter(&w, 17, "e", 0);
	assert_int_equal(notify_park(&w, notify_gen(), NULL, NULL), 0);
	notify_shutdown();
	assert_int_equal(last_why, WAKE_SHUTDOWN);
	assert_true(notify_runner_waiting(17));
	notify_release(17);
	assert_false(notify_runner_waiting(17));
	lease_waiter(&w, 17, "e", 0);
	assert_int_equal(notify_park(&w, notify_gen(), NULL, NULL), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_event_wake_holds_until_release, setup),
		cmocka_unit_test_setup(test_deadline_wake_holds, setup),
		cmocka_unit_test_setup(test_holds_count_per_wake, setup),
		cmocka_unit_test_setup(test_unpark_and_run_waiters_hold_nothing, setup),
		cmocka_unit_test_setup(test_stale_generation_does_not_park, setup),
		cmocka_unit_test_setup(test_shutdown_wake_holds, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
