/*
 * reaper: the periodic sweep of api.md §2.6 (expired leases, stale runners,
 * pruning, idempotency keys), run by the clock thread.
 */
#ifndef MT_REAPER_H
#define MT_REAPER_H

struct config;

void reaper_init(const struct config *cfg);
/* One tick: every step runs; an error in one is logged and the others go on. */
void reaper_tick(void);

#endif
