/*
 * throttle: a mutex-protected list of keys, each with the timestamps of its
 * recent events (pruned to the last minute on every access), and a counting
 * gate for password hashing built on a condition variable.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "throttle.h"
#include "util.h"

#define WINDOW_MS 60000

struct tkey {
	char		*key;
	int64_t		*ts;
	size_t		 n, cap;
	struct tkey	*next;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct tkey *keys;
static pthread_mutex_t hash_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hash_cv = PTHREAD_COND_INITIALIZER;
static int64_t hash_free = 4;

void
throttle_init(int64_t hash_concurrency)
{
	hash_free = hash_concurrency;
}

/* Drops the events of k older than cutoff; lock held. */
static void
prune(struct tkey *k, int64_t cutoff)
{
	size_t i, j;

	for (i = j = 0; i < k->n; i++)
		if (k->ts[i] > cutoff)
			k->ts[j++] = k->ts[i];
	k->n = j;
}

/* Finds key (creating it when create), pruning old events of every key it
 * walks past and dropping the idle ones; lock held. The key returned is
 * always pruned, so a stale event never counts. */
static struct tkey *
lookup(const char *key, bool create)
{
	struct tkey *k, **pp = &keys;
	int64_t cutoff = mono_ms() - WINDOW_MS;

	while (*pp != NULL) {
		k = *pp;
		prune(k, cutoff);
		if (strcmp(k->key, key) == 0)
			return k;
		if (k->n == 0) {
			*pp = k->next;
			free(k->key);
			free(k->ts);
			free(k);
		} else {
			pp = &k->next;
		}
	}
	if (!create)
		return NULL;
	k = xcalloc(1, sizeof(*k));
	k->key = xstrdup(key);
	k->next = keys;
	keys = k;
	return k;
}

bool
throttle_limited(const char *key, int64_t limit, int64_t *retry_after_s)
{
	struct tkey *k;
	bool limited = false;

	if (limit <= 0)
		return false;
	pthread_mutex_lock(&mu);
	k = lookup(key, false);
	if (k != NULL && (int64_t)k->n >= limit) {
		int64_t wait = k->ts[k->n - (size_t)limit] + WINDOW_MS - mono_ms();
		limited = true;
		*retry_after_s = wait <= 0 ? 1 : (wait + 999) / 1000;
	}
	pthread_mutex_unlock(&mu);
	return limited;
}

void
throttle_add(const char *key)
{
	struct tkey *k;

	pthread_mutex_lock(&mu);
	k = lookup(key, true);
	if (k->n == k->cap) {
		k->cap = k->cap ? k->cap * 2 : 8;
		k->ts = xrealloc(k->ts, k->cap * sizeof(*k->ts));
	}
	k->ts[k->n++] = mono_ms();
	pthread_mutex_unlock(&mu);
}

void
throttle_clear(const char *key)
{
	struct tkey *k;

	pthread_mutex_lock(&mu);
	k = lookup(key, false);
	if (k != NULL)
		k->n = 0;
	pthread_mutex_unlock(&mu);
}

bool
throttle_hash_begin(void)
{
	struct timespec ts;
	bool ok = true;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 5;
	pthread_mutex_lock(&hash_mu);
	while (hash_free <= 0 && ok)
		ok = pthread_cond_timedwait(&hash_cv, &hash_mu, &ts) == 0 || hash_free > 0;
	if (ok)
		hash_free--;
	pthread_mutex_unlock(&hash_mu);
	return ok;
}

void
throttle_hash_end(void)
{
	pthread_mutex_lock(&hash_mu);
	hash_free++;
	pthread_cond_signal(&hash_cv);
	pthread_mutex_unlock(&hash_mu);
}
