/*
 * crashpoint: the runner's crash points for the crash matrix
 * (docs/crash-matrix.md). CRASH_POINT("download") is nothing in a shipped
 * binary. In the -DMT_FAULTS test build it SIGKILLs the whole runner when
 * MT_CRASH_AT names that point ("download", or "download:2" for its second
 * hit), after one WARN `crash point` with `at`, so a test can tell where
 * it died.
 */
#ifndef MT_CRASHPOINT_H
#define MT_CRASHPOINT_H

#ifdef MT_FAULTS
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

/* Counts the hits of the armed point (one per process, so one counter per
 * file is enough) and dies at the one asked for. */
static inline void
crashpoint_hit(const char *name)
{
	static atomic_long hits;
	const char *at = getenv("MT_CRASH_AT");
	size_t n = strlen(name);
	int64_t want = 1;

	if (at == NULL || strncmp(at, name, n) != 0 || (at[n] != '\0' && at[n] != ':'))
		return;
	if (at[n] == ':' && parse_i64(at + n + 1, &want) != 0)
		return;
	if (atomic_fetch_add(&hits, 1) + 1 != want)
		return;
	log_warn("crash point", "at=%s", name);
	raise(SIGKILL);
}
#define CRASH_POINT(name)	crashpoint_hit(name)
#else
#define CRASH_POINT(name)	((void)0)
#endif

#endif
