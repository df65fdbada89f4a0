/*
 * authcache: a fixed table of slots indexed by the token hash (hex SHA-256,
 * so its first digits are as good as any hash of it), one mutex for all.
 * The lookup it saves is a reader transaction: shm locks and pages re-read
 * after every commit of the writer (docs/performance.md).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "authcache.h"

#define SLOTS 256		/* a power of two */

struct slot {
	enum authcache_kind	 kind;
	char			 hash[65];
	uint64_t		 gen;	/* 0: empty */
	int64_t			 at;
	size_t			 len;
	unsigned char		 val[AUTHCACHE_VAL_MAX];
};

static struct slot slots[SLOTS];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static _Atomic uint64_t generation = 1;

static unsigned
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return (unsigned)(c - '0');
	if (c >= 'a' && c <= 'f')
		return (unsigned)(c - 'a' + 10);
	return 0;
}

static struct slot *
slot_of(enum authcache_kind kind, const char *hash)
{
	unsigned i = 0, k;

	for (k = 0; k < 4 && hash[k] != '\0'; k++)
		i = i << 4 | hexval(hash[k]);
	return &slots[(i * 2 + (unsigned)kind) & (SLOTS - 1)];
}

uint64_t
authcache_gen(void)
{
	return atomic_load(&generation);
}

void
authcache_invalidate(void)
{
	atomic_fetch_add(&generation, 1);
}

bool
authcache_get(enum authcache_kind kind, const char *hash, int64_t now, void *out,
    size_t len, uint64_t *gen)
{
	struct slot *s = slot_of(kind, hash);
	bool hit;

	pthread_mutex_lock(&mu);
	hit = s->gen != 0 && s->gen == atomic_load(&generation) && s->kind == kind &&
	    s->len == len && now - s->at >= 0 && now - s->at < AUTHCACHE_TTL_MS &&
	    strcmp(s->hash, hash) == 0;
	if (hit) {
		memcpy(out, s->val, len);
		*gen = s->gen;
	}
	pthread_mutex_unlock(&mu);
	return hit;
}

void
authcache_put(enum authcache_kind kind, const char *hash, uint64_t gen, int64_t now,
    const void *val, size_t len)
{
	struct slot *s = slot_of(kind, hash);

	if (len > sizeof(s->val) || strlen(hash) >= sizeof(s->hash))
		return;
	pthread_mutex_lock(&mu);
	if (gen == atomic_load(&generation)) {
		s->kind = kind;
		memcpy(s->hash, hash, strlen(hash) + 1);
		s->gen = gen;
		s->at = now;
		s->len = len;
		memcpy(s->val, val, len);
	}
	pthread_mutex_unlock(&mu);
}
