/*
 * artcache: the runner's artifact cache (issue 13). One entry per artifact
 * SHA-256 in <DATA_DIR>/artifacts/ (mode 0700, the runner's own user, never
 * bound into a job's sandbox): <sha256>.tar.gz, read-only, and
 * <sha256>.paths, the version's X-Import-Paths value. An entry is verified
 * against its name's SHA-256 on every use, so a changed or truncated entry is
 * removed and the artifact downloaded again; a run's workspace is still
 * unpacked afresh from the entry. Entries are written to a temporary name
 * and renamed into place, so runs (slots) sharing the cache see whole
 * entries only. At most MINITOWER_ARTIFACT_CACHE_MAX entries are kept; the
 * least recently used go first.
 */
#ifndef MT_ARTCACHE_H
#define MT_ARTCACHE_H

#include <stdbool.h>

#include "config.h"

/* True when sha is 64 lowercase hex digits (the form the server sends). */
bool artcache_valid_sha(const char *sha);

/* Opens the verified entry sha: returns a read-only fd (close-on-exec) and
 * sets *paths to the stored X-Import-Paths value (malloc'd, "" when none).
 * Returns -1 on a miss or when the cache is off; an entry whose content
 * does not hash to sha, or whose .paths is missing, is removed with WARN
 * `artifact cache entry corrupt` (sha256, error). */
int artcache_open(const struct config *cfg, const char *sha, char **paths);

/* Copies the artifact at src, which the caller verified to hash to sha,
 * into the cache with the import paths value paths (NULL: none), then
 * evicts the least recently used entries beyond the maximum. Failures only
 * log WARN `artifact cache store failed` (error): the run goes on. */
void artcache_store(const struct config *cfg, const char *sha, const char *src,
    const char *paths);

#endif
