/*
 * authcache: token hashes that authenticated recently, kept in memory so
 * that most requests skip the database read of their token. An entry is
 * good while the generation it was read under is current, and for at most
 * AUTHCACHE_TTL_MS. The store bumps the generation after every commit that
 * revokes, rotates or disables a token, before it answers: a change is seen
 * by every request that starts after its response (docs/architecture.md).
 */
#ifndef MT_AUTHCACHE_H
#define MT_AUTHCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUTHCACHE_TTL_MS	5000
#define AUTHCACHE_VAL_MAX	640	/* the largest value kept */

enum authcache_kind { AUTHCACHE_TEAM, AUTHCACHE_RUNNER };

/* The current generation. Read it before the database lookup whose result
 * is then put, so that a change committed meanwhile voids the entry. */
uint64_t authcache_gen(void);

/* Voids every entry. Call after the commit of a change that can make a
 * token invalid, before the change is answered. */
void authcache_invalidate(void);

/* Copies the value kept for (kind, hash), of exactly len bytes, into out
 * and its generation into *gen: true on a hit. now is the clock in ms. */
bool authcache_get(enum authcache_kind kind, const char *hash, int64_t now, void *out,
    size_t len, uint64_t *gen);

/* Keeps len bytes of val for (kind, hash), read under generation gen, as
 * of now; replaces whatever shared its slot. Does nothing when gen is no
 * longer current or len exceeds AUTHCACHE_VAL_MAX. */
void authcache_put(enum authcache_kind kind, const char *hash, uint64_t gen, int64_t now,
    const void *val, size_t len);

#endif
