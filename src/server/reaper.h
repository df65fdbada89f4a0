/*
 * reaper: the periodic sweep of api.md §2.6 (expired leases, stale runners,
 * pruning, idempotency keys), run by the clock thread.
 */
#ifndef MT_REAPER_H
#define MT_REAPER_H

#include "err.h"

struct config;

/* Before the server starts serving (and before any other thread reads the
 * steady clock): anchors the steady clock and bounds the steady-clock times
 * an earlier process stored (store_clamp_steady_times, logged when it
 * changed any). cfg is borrowed for the life of the process. -1 on a
 * database error. */
int reaper_init(const struct config *cfg, struct err *err);
/* One tick: every step runs; an error in one is logged and the others go on. */
void reaper_tick(void);

#endif
