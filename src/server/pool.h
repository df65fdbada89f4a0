/*
 * pool: a fixed set of worker threads taking jobs from one FIFO queue.
 * minitowerd runs two: a small one for short requests and a larger one for
 * long work (password hashing, archive inspection, large reads), so that
 * long work never holds up short requests (api.md §0.2).
 */
#ifndef MT_POOL_H
#define MT_POOL_H

#include "err.h"

/* A unit of work, embedded in the caller's own structure. */
struct job {
	void		(*fn)(struct job *);
	struct job	*next;
};

struct pool;

/* Starts a pool of nthreads threads named name (for logs); NULL on failure. */
struct pool *pool_start(const char *name, int nthreads, struct err *err);

/* Queues jb; one of the pool's threads calls jb->fn(jb) soon. */
void pool_push(struct pool *p, struct job *jb);

/* Runs the jobs still queued, stops the threads and frees p. */
void pool_stop(struct pool *p);

#endif
