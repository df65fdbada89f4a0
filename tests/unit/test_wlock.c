/*
 * test_wlock: the writer's lock (src/server/wlock.c): a waiter gives up at
 * its deadline, a full queue refuses at once, an urgent taker goes before
 * the normal ones that waited longer, and a free lock is taken even with a
 * deadline already past. Threads are real; waits are bounded.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "../../src/server/wlock.c"

#include <setjmp.h>
#include <cmocka.h>

static void
pause_ms(int ms)
{
	nanosleep(&(struct timespec){ 0, ms * 1000000L }, NULL);
}

static void
wait_waiting(int n)
{
	int i;

	for (i = 0; i < 20000 && wlock_waiting() < n; i++)
		pause_ms(1);
	assert_int_equal(wlock_waiting(), n);
}

static void
test_free_lock_with_past_deadline(void **state)
{
	(void)state;
	wlock_init(0);
	assert_int_equal(wlock_take(false, mono_us() - 1000), WLOCK_OK);
	wlock_release();
}

static void
test_waiter_gives_up_at_deadline(void **state)
{
	int64_t t0;

	(void)state;
	wlock_init(0);
	assert_int_equal(wlock_take(false, mono_us()), WLOCK_OK);
	t0 = mono_us();
	assert_int_equal(wlock_take(false, t0 + 50000), WLOCK_TIMEOUT);
	assert_true(mono_us() - t0 >= 50000);
	assert_int_equal(wlock_take(true, mono_us() + 20000), WLOCK_TIMEOUT);
	wlock_release();
	assert_int_equal(wlock_waiting(), 0);
}

struct taker {
	bool		 urgent;
	enum wlock_rc	 rc;
	int		*order, *next, id;
	pthread_t	 th;
};

static pthread_mutex_t order_mu = PTHREAD_MUTEX_INITIALIZER;

static void *
take(void *arg)
{
	struct taker *t = arg;

	t->rc = wlock_take(t->urgent, mono_us() + 60 * 1000000LL);
	if (t->rc == WLOCK_OK) {
		pthread_mutex_lock(&order_mu);
		t->order[(*t->next)++] = t->id;
		pthread_mutex_unlock(&order_mu);
		pause_ms(5);
		wlock_release();
	}
	return NULL;
}

static void
start(struct taker *t, bool urgent, int id, int *order, int *next)
{
	t->urgent = urgent;
	t->id = id;
	t->order = order;
	t->next = next;
	assert_int_equal(pthread_create(&t->th, NULL, take, t), 0);
}

static void
test_urgent_goes_first(void **state)
{
	struct taker t[3];
	int order[3] = { 0 }, next = 0, i;

	(void)state;
	wlock_init(0);
	assert_int_equal(wlock_take(false, mono_us()), WLOCK_OK);
	start(&t[0], false, 1, order, &next);
	wait_waiting(1);
	start(&t[1], false, 2, order, &next);
	wait_waiting(2);
	start(&t[2], true, 3, order, &next);
	wait_waiting(3);
	wlock_release();
	for (i = 0; i < 3; i++)
		pthread_join(t[i].th, NULL);
	assert_int_equal(next, 3);
	assert_int_equal(order[0], 3);	/* the urgent one, though it came last */
}

static void
test_full_queue_refuses_at_once(void **state)
{
	struct taker t[2];
	int order[2] = { 0 }, next = 0;
	int64_t t0;

	(void)state;
	wlock_init(1);
	assert_int_equal(wlock_take(false, mono_us()), WLOCK_OK);
	start(&t[0], false, 1, order, &next);
	wait_waiting(1);
	t0 = mono_us();
	assert_int_equal(wlock_take(false, t0 + 60 * 1000000LL), WLOCK_FULL);
	assert_true(mono_us() - t0 < 30 * 1000000LL);
	start(&t[1], true, 2, order, &next);	/* urgent ones are not refused */
	wait_waiting(2);
	wlock_release();
	pthread_join(t[0].th, NULL);
	pthread_join(t[1].th, NULL);
	assert_int_equal(t[0].rc, WLOCK_OK);
	assert_int_equal(t[1].rc, WLOCK_OK);
	assert_int_equal(order[0], 2);
	wlock_init(0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_free_lock_with_past_deadline),
		cmocka_unit_test(test_waiter_gives_up_at_deadline),
		cmocka_unit_test(test_urgent_goes_first),
		cmocka_unit_test(test_full_queue_refuses_at_once),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
