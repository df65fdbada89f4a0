/*
 * jobuid: a uid of its own for every concurrent run (MINITOWER_JOB_UID_RANGE,
 * like systemd's dynamic users), so that runs on one host cannot read each
 * other's files or signal each other's processes even without a sandbox.
 * A uid is held by an flock on /run/minitower/uids/<uid>.lock, shared by
 * every runner of the host and released by the kernel if a runner dies.
 */
#ifndef MT_JOBUID_H
#define MT_JOBUID_H

#include <sys/types.h>

#include "err.h"

/* Takes a free uid of [first, last]. Returns the lock's descriptor (keep it
 * until the run's processes are gone) and sets *uid, or -1 with err when
 * every uid of the range is taken. */
int jobuid_acquire(uid_t first, uid_t last, uid_t *uid, struct err *err);

/* Gives the uid back (closes the lock). */
void jobuid_release(int lock_fd);

#endif
