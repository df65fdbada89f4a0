/*
 * slug: the naming rules shared by team slugs, app slugs and a Towerfile's
 * app.name (towerfile.md §3).
 */
#ifndef MT_SLUG_H
#define MT_SLUG_H

#include <stddef.h>

#include "err.h"

/* Checks s[0..n) (which may hold NUL bytes) against the slug rules in their
 * order: empty, shorter than 3 bytes, longer than 32 bytes, not matching
 * ^[a-z][a-z0-9-]{2,31}$, reserved. Returns 0, or -1 with ERR_INVALID_SLUG
 * and the exact message of the first rule that fails. */
int slug_check(const char *s, size_t n, struct err *err);

#endif
