/*
 * reaper: PLACEHOLDER until the runs work lands.
 */
#include "config.h"
#include "reaper.h"

void
reaper_init(const struct config *cfg)
{
	(void)cfg;
}

void
reaper_tick(void)
{
}
