/*
 * test_authcache: the token cache of src/server/authcache.c. A value comes
 * back as it was put; an invalidation, the TTL, another kind, another hash
 * sharing the slot, or a put under a stale generation all miss; and
 * concurrent puts and gets never hand back a torn value.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../../src/server/authcache.c"

#include <setjmp.h>
#include <cmocka.h>

#define H1 "ab12000000000000000000000000000000000000000000000000000000000001"
#define H2 "ab12ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"

struct val {
	int64_t	 id;
	char	 name[100];
};

static void
test_hit_and_miss(void **state)
{
	struct val v = { 42, "runner-a" }, out;
	uint64_t gen = authcache_gen(), got = 0;

	(void)state;
	assert_false(authcache_get(AUTHCACHE_RUNNER, H1, 1000, &out, sizeof(out), &got));
	authcache_put(AUTHCACHE_RUNNER, H1, gen, 1000, &v, sizeof(v));
	memset(&out, 0, sizeof(out));
	assert_true(authcache_get(AUTHCACHE_RUNNER, H1, 1001, &out, sizeof(out), &got));
	assert_int_equal(out.id, 42);
	assert_string_equal(out.name, "runner-a");
	assert_int_equal(got, gen);
	/* another kind, another hash in the same slot, another size */
	assert_false(authcache_get(AUTHCACHE_TEAM, H1, 1001, &out, sizeof(out), &got));
	assert_false(authcache_get(AUTHCACHE_RUNNER, H2, 1001, &out, sizeof(out), &got));
	assert_false(authcache_get(AUTHCACHE_RUNNER, H1, 1001, &out, sizeof(out) - 1, &got));
	/* the TTL, and a clock that went back */
	assert_true(authcache_get(AUTHCACHE_RUNNER, H1, 1000 + AUTHCACHE_TTL_MS - 1, &out,
	    sizeof(out), &got));
	assert_false(authcache_get(AUTHCACHE_RUNNER, H1, 1000 + AUTHCACHE_TTL_MS, &out,
	    sizeof(out), &got));
	assert_false(authcache_get(AUTHCACHE_RUNNER, H1, 999, &out, sizeof(out), &got));
}

static void
test_invalidate(void **state)
{
	struct val v = { 7, "team" }, out;
	uint64_t gen = authcache_gen(), got;

	(void)state;
	authcache_put(AUTHCACHE_TEAM, H1, gen, 5000, &v, sizeof(v));
	assert_true(authcache_get(AUTHCACHE_TEAM, H1, 5000, &out, sizeof(out), &got));
	authcache_invalidate();
	assert_false(authcache_get(AUTHCACHE_TEAM, H1, 5000, &out, sizeof(out), &got));
	/* a lookup that began before the invalidation cannot put its result */
	authcache_put(AUTHCACHE_TEAM, H1, gen, 5000, &v, sizeof(v));
	assert_false(authcache_get(AUTHCACHE_TEAM, H1, 5000, &out, sizeof(out), &got));
	authcache_put(AUTHCACHE_TEAM, H1, authcache_gen(), 5000, &v, sizeof(v));
	assert_true(authcache_get(AUTHCACHE_TEAM, H1, 5000, &out, sizeof(out), &got));
}

static void
test_too_large(void **state)
{
	static unsigned char big[AUTHCACHE_VAL_MAX + 1], out[AUTHCACHE_VAL_MAX + 1];
	uint64_t got;

	(void)state;
	authcache_put(AUTHCACHE_RUNNER, H2, authcache_gen(), 1, big, sizeof(big));
	assert_false(authcache_get(AUTHCACHE_RUNNER, H2, 1, out, sizeof(out), &got));
}

/* Writers put values whose two halves agree; readers check every hit. */
static void *
hammer(void *arg)
{
	struct val v, out;
	uint64_t got;
	long i, bad = 0;

	for (i = 0; i < 200000; i++) {
		v.id = i;
		snprintf(v.name, sizeof(v.name), "%ld", i);
		if ((i & 1) == ((intptr_t)arg & 1))
			authcache_put(AUTHCACHE_RUNNER, H1, authcache_gen(), 1, &v, sizeof(v));
		else if (authcache_get(AUTHCACHE_RUNNER, H1, 1, &out, sizeof(out), &got)) {
			char want[32];

			snprintf(want, sizeof(want), "%lld", (long long)out.id);
			bad += strcmp(want, out.name) != 0;
		}
	}
	return (void *)bad;
}

static void
test_concurrent(void **state)
{
	pthread_t th[4];
	void *bad;
	int i;

	(void)state;
	for (i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&th[i], NULL, hammer, (void *)(intptr_t)i), 0);
	for (i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(th[i], &bad), 0);
		assert_null(bad);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hit_and_miss),
		cmocka_unit_test(test_invalidate),
		cmocka_unit_test(test_too_large),
		cmocka_unit_test(test_concurrent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
