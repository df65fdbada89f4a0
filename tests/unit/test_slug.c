/*
 * Tests for slug: every rule of towerfile.md §3, its order and messages.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "slug.h"

#define MSG_REGEX "slug must start with a letter and contain only lowercase " \
	"letters, numbers, and hyphens"

static void
bad_n(const char *s, size_t n, const char *want)
{
	struct err err;

	err_clear(&err);
	assert_int_equal(slug_check(s, n, &err), -1);
	assert_int_equal(err.code, ERR_INVALID_SLUG);
	assert_string_equal(err.msg, want);
}

static void
bad(const char *s, const char *want)
{
	bad_n(s, strlen(s), want);
}

static void
good(const char *s)
{
	struct err err;

	err_clear(&err);
	assert_int_equal(slug_check(s, strlen(s), &err), 0);
}

static void
test_valid(void **state)
{
	(void)state;
	good("abc");
	good("hello");
	good("abc-");
	good("a--b");
	good("a1-2");
	good("abcdefghijklmnopqrstuvwxyz012345");	/* 32 bytes */
	good("apis");
	good("defaults");
}

static void
test_length(void **state)
{
	(void)state;
	bad("", "slug cannot be empty");
	bad("a", "slug must be at least 3 characters");
	bad("ab", "slug must be at least 3 characters");
	bad("A!", "slug must be at least 3 characters");	/* length first */
	bad("abcdefghijklmnopqrstuvwxyz0123456", "slug must be at most 32 characters");
	bad("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456", "slug must be at most 32 characters");
}

static void
test_regex(void **state)
{
	(void)state;
	bad("1abc", MSG_REGEX);
	bad("-abc", MSG_REGEX);
	bad("Abc", MSG_REGEX);
	bad("abC", MSG_REGEX);
	bad("a_b", MSG_REGEX);
	bad("a.b", MSG_REGEX);
	bad("a b", MSG_REGEX);
	bad("h\xc3\xa9llo", MSG_REGEX);
	bad("abc\n", MSG_REGEX);
	bad_n("ab\0c", 4, MSG_REGEX);
	bad_n("\0\0\0", 3, MSG_REGEX);
}

static void
test_reserved(void **state)
{
	(void)state;
	bad("api", "slug is reserved");
	bad("admin", "slug is reserved");
	bad("system", "slug is reserved");
	bad("internal", "slug is reserved");
	bad("default", "slug is reserved");
}

static void
test_null_err(void **state)
{
	(void)state;
	assert_int_equal(slug_check("x", 1, NULL), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_length),
		cmocka_unit_test(test_regex),
		cmocka_unit_test(test_reserved),
		cmocka_unit_test(test_null_err),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
