/*
 * secrets (runner): the run's secrets, fetched with the lease after the
 * workspace is prepared and before the job is spawned (GET
 * /api/v1/runs/{run}/secrets). They go into the job's environment only,
 * and into the masker of its output; every copy the runner holds is wiped
 * once the job is spawned (docs/secrets.md).
 */
#ifndef MT_RUNNER_SECRETS_H
#define MT_RUNNER_SECRETS_H

#include "client.h"
#include "err.h"
#include "jobenv.h"
#include "mask.h"
#include "runstate.h"

struct run_secrets;

/* Fetches the run's secrets. Returns 0 with *out (NULL when there are none,
 * or the server predates secrets: 404), or -1 with err: ERR_GONE for a
 * stale lease, ERR_UNAVAILABLE / ERR_IO otherwise. */
int secrets_fetch(struct client *http, struct runstate *rs, struct run_secrets **out,
    struct err *err);
/* Sets every secret as NAME=value in e (replacing an input variable of the
 * same name) and adds every value to m. NULL s is a no-op. */
void secrets_export(const struct run_secrets *s, struct jobenv *e, struct mask *m);
/* The job is spawned: wipes the secrets' entries of e (left empty, still
 * freed by jobenv_free) and every copy in s, then frees s. NULL s: no-op. */
void secrets_spawned(struct run_secrets *s, struct jobenv *e);

#endif
