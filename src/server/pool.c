/*
 * pool: worker threads on a mutex-and-condition FIFO. Jobs are intrusive
 * (struct job lives inside the request or stream it belongs to), so queuing
 * allocates nothing and cannot fail.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "pool.h"
#include "util.h"

struct pool {
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	struct job	*head, *tail;
	bool		 stop;
	int		 nthreads;
	pthread_t	*threads;
};

static void *
pool_main(void *arg)
{
	struct pool *p = arg;
	struct job *jb;

	for (;;) {
		pthread_mutex_lock(&p->mu);
		while (p->head == NULL && !p->stop)
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->head == NULL) {
			pthread_mutex_unlock(&p->mu);
			break;
		}
		jb = p->head;
		p->head = jb->next;
		if (p->head == NULL)
			p->tail = NULL;
		pthread_mutex_unlock(&p->mu);
		jb->fn(jb);
	}
	return NULL;
}

struct pool *
pool_start(const char *name, int nthreads, struct err *err)
{
	struct pool *p = xcalloc(1, sizeof(*p));

	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	p->threads = xcalloc((size_t)nthreads, sizeof(*p->threads));
	for (p->nthreads = 0; p->nthreads < nthreads; p->nthreads++) {
		if (pthread_create(&p->threads[p->nthreads], NULL, pool_main, p) != 0) {
			err_set(err, ERR_IO, "cannot start the %s worker threads", name);
			pool_stop(p);
			return NULL;
		}
	}
	return p;
}

void
pool_push(struct pool *p, struct job *jb)
{
	pthread_mutex_lock(&p->mu);
	jb->next = NULL;
	if (p->tail != NULL)
		p->tail->next = jb;
	else
		p->head = jb;
	p->tail = jb;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

void
pool_stop(struct pool *p)
{
	int i;

	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = true;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	for (i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	free(p->threads);
	free(p);
}
