/*
 * ready: what serving needs, checked for GET /ready (docs/reliability.md):
 * the database takes a write within a short timeout, the objects directory
 * takes a new file, and the file systems of both keep at least
 * MINITOWER_MIN_FREE_MB free. /health stays liveness only.
 */
#ifndef MT_READY_H
#define MT_READY_H

#include <stddef.h>

#include "err.h"

struct config;

/* Runs the checks in order and stops at the first that fails. Returns 0,
 * or -1 with err->msg naming the check ("db not ready: ...", "objects
 * directory not writable: ...", "low disk space: ..."). */
int ready_check(const struct config *cfg, struct err *err);

#endif
