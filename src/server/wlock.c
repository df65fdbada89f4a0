/*
 * wlock: a lock handed from one holder to the next waiter in line, with a
 * deadline per waiter, a bounded queue and an urgent lane. Each waiter
 * sleeps on its own condition, so a release wakes exactly the thread that
 * gets the lock (no herd on every commit); the conditions use
 * CLOCK_MONOTONIC, so a step of the wall clock neither shortens nor
 * stretches a wait. A waiter whose deadline passes leaves the line unless
 * the lock was handed to it meanwhile, in which case it has it.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <time.h>

#include "util.h"
#include "wlock.h"

struct waiter {
	pthread_cond_t	 cv;
	bool		 granted;
	struct waiter	*next;
};

struct line {
	struct waiter	*head, *tail;
	int		 n;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static bool held;
static struct line urgent_line, normal_line;
static atomic_int waiting;
static int max_waiting;

void
wlock_init(int max)
{
	max_waiting = max;
}

static void
line_push(struct line *l, struct waiter *w)
{
	w->next = NULL;
	if (l->tail != NULL)
		l->tail->next = w;
	else
		l->head = w;
	l->tail = w;
	l->n++;
	atomic_fetch_add(&waiting, 1);
}

static struct waiter *
line_pop(struct line *l)
{
	struct waiter *w = l->head;

	if (w == NULL)
		return NULL;
	l->head = w->next;
	if (l->head == NULL)
		l->tail = NULL;
	l->n--;
	atomic_fetch_sub(&waiting, 1);
	return w;
}

static void
line_remove(struct line *l, struct waiter *w)
{
	struct waiter **pp, *prev = NULL;

	for (pp = &l->head; *pp != NULL; prev = *pp, pp = &(*pp)->next) {
		if (*pp != w)
			continue;
		*pp = w->next;
		if (l->tail == w)
			l->tail = prev;
		l->n--;
		atomic_fetch_sub(&waiting, 1);
		return;
	}
}

/* Sleeps on w until it is granted or until_us passes (mu held). */
static void
wait_for_grant(struct waiter *w, int64_t until_us)
{
	struct timespec ts;

	/* mono_us() is CLOCK_MONOTONIC in microseconds (util.c) */
	ts.tv_sec = until_us / 1000000;
	ts.tv_nsec = (until_us % 1000000) * 1000;
	while (!w->granted && mono_us() < until_us)
		pthread_cond_timedwait(&w->cv, &mu, &ts);
}

enum wlock_rc
wlock_take(bool urgent, int64_t until_us)
{
	struct line *l = urgent ? &urgent_line : &normal_line;
	struct waiter w;
	pthread_condattr_t a;
	enum wlock_rc rc = WLOCK_OK;

	pthread_mutex_lock(&mu);
	if (!held) {
		held = true;
		pthread_mutex_unlock(&mu);
		return WLOCK_OK;
	}
	if (!urgent && max_waiting > 0 && normal_line.n >= max_waiting) {
		pthread_mutex_unlock(&mu);
		return WLOCK_FULL;
	}
	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(&w.cv, &a);
	pthread_condattr_destroy(&a);
	w.granted = false;
	line_push(l, &w);
	wait_for_grant(&w, until_us);
	if (!w.granted) {
		line_remove(l, &w);
		rc = WLOCK_TIMEOUT;
	}
	pthread_mutex_unlock(&mu);
	pthread_cond_destroy(&w.cv);
	return rc;
}

void
wlock_release(void)
{
	struct waiter *w;

	pthread_mutex_lock(&mu);
	if ((w = line_pop(&urgent_line)) == NULL)
		w = line_pop(&normal_line);
	if (w != NULL) {
		w->granted = true;	/* held stays true: the lock is w's now */
		pthread_cond_signal(&w->cv);
	} else {
		held = false;
	}
	pthread_mutex_unlock(&mu);
}

int
wlock_waiting(void)
{
	return atomic_load(&waiting);
}
