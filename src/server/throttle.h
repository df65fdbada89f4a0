/*
 * throttle: sliding one-minute windows of events per key, in memory
 * (failed logins per slug and per address, signups per address). Also the
 * password-hash gate: at most N hashes at once, waiting at most 5 s.
 */
#ifndef MT_THROTTLE_H
#define MT_THROTTLE_H

#include <stdbool.h>
#include <stdint.h>

/* Sets the hash concurrency (call once at start-up). */
void throttle_init(int64_t hash_concurrency);
/* True when key has at least limit events in the last minute (limit 0:
 * never); *retry_after_s gets the seconds until the oldest leaves. */
bool throttle_limited(const char *key, int64_t limit, int64_t *retry_after_s);
/* Records one event for key. */
void throttle_add(const char *key);
/* Forgets every event of key. */
void throttle_clear(const char *key);
/* Takes a hash slot, waiting up to 5 s; false when none came free. */
bool throttle_hash_begin(void);
void throttle_hash_end(void);

#endif
