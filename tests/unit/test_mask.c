/*
 * test_mask: the output masker of src/runner/mask.c. Every occurrence of a
 * value becomes "***", also repeated, adjacent and overlapping ones, a value
 * fed one byte at a time or split at every possible point, values that are
 * prefixes of each other (the longest wins), JSON-escaped forms, short
 * values left alone, held bytes released at the end, and no masker at all.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/runner/mask.c"

#include <setjmp.h>
#include <cmocka.h>

static struct buf out;

static void
collect(void *arg, const char *p, size_t n)
{
	(void)arg;
	buf_add(&out, p, n);
}

/* Masks input fed in pieces of step bytes (0: all at once); returns the
 * output (static buffer until the next call). */
static const char *
run(const struct mask *m, const char *input, size_t step)
{
	struct mask_stream s;
	size_t len = strlen(input), off = 0, n;

	buf_free(&out);
	buf_init(&out, 1 << 22);
	buf_adds(&out, "");
	mask_stream_init(&s, m, collect, NULL);
	while (off < len) {
		n = step == 0 || len - off < step ? len - off : step;
		mask_stream_feed(&s, input + off, n);
		off += n;
	}
	mask_stream_finish(&s);
	mask_stream_free(&s);
	return buf_str(&out);
}

static struct mask *
mask_of(const char *const *values)
{
	struct mask *m = mask_new();
	size_t i;

	for (i = 0; values[i] != NULL; i++)
		mask_add(m, values[i], strlen(values[i]));
	return m;
}

static void
test_basic_and_repeated(void **state)
{
	static const char *const v[] = { "hunter2!", NULL };
	struct mask *m = mask_of(v);
	size_t step;

	(void)state;
	for (step = 0; step <= 9; step++) {
		assert_string_equal(run(m, "pw=hunter2!\n", step), "pw=***\n");
		assert_string_equal(run(m, "hunter2!hunter2! and hunter2!", step), "****** and ***");
		assert_string_equal(run(m, "hunter2 hunter2?", step), "hunter2 hunter2?");
		assert_string_equal(run(m, "hunter2", step), "hunter2");	/* held, then released */
	}
	mask_free(m);
}

static void
test_overlaps(void **state)
{
	static const char *const v[] = { "abab", NULL };
	static const char *const v2[] = { "abcd", "cdef", NULL };
	struct mask *m = mask_of(v), *m2 = mask_of(v2);

	(void)state;
	assert_string_equal(run(m, "ababab", 0), "***ab");
	assert_string_equal(run(m, "abababab", 1), "******");
	assert_string_equal(run(m, "aababx", 1), "a***x");
	assert_string_equal(run(m2, "abcdef", 0), "***ef");	/* leftmost first */
	assert_string_equal(run(m2, "xcdefabcd", 2), "x******");
	mask_free(m);
	mask_free(m2);
}

static void
test_prefixes(void **state)
{
	static const char *const v[] = { "token", "token-long-value", "tok3n", NULL };
	struct mask *m = mask_of(v);
	size_t step;

	(void)state;
	for (step = 0; step <= 17; step++) {
		assert_string_equal(run(m, "token-long-value.", step), "***.");
		assert_string_equal(run(m, "token-long-valu.", step), "***-long-valu.");
		assert_string_equal(run(m, "token.tok3n", step), "***.***");
		assert_string_equal(run(m, "token-long-valu", step), "***-long-valu");
	}
	mask_free(m);
}

static void
test_every_split_point(void **state)
{
	static const char *const v[] = { "s3cr3t-VALUE", NULL };
	struct mask *m = mask_of(v);
	const char *input = "before s3cr3t-VALUE after";
	struct mask_stream s;
	size_t cut, len = strlen(input);

	(void)state;
	for (cut = 0; cut <= len; cut++) {
		buf_free(&out);
		buf_init(&out, 4096);
		buf_adds(&out, "");
		mask_stream_init(&s, m, collect, NULL);
		mask_stream_feed(&s, input, cut);
		mask_stream_feed(&s, input + cut, len - cut);
		mask_stream_finish(&s);
		mask_stream_free(&s);
		assert_string_equal(buf_str(&out), "before *** after");
	}
	mask_free(m);
}

static void
test_big_value_in_pieces(void **state)
{
	char *secret = xmalloc(10001), *input = xmalloc(10100);
	struct mask *m = mask_new();
	size_t i;

	(void)state;
	for (i = 0; i < 10000; i++)
		secret[i] = (char)('a' + (i * 7) % 26);
	secret[10000] = '\0';
	mask_add(m, secret, 10000);
	snprintf(input, 10100, "x%sy\n", secret);
	assert_string_equal(run(m, input, 4096), "x***y\n");
	assert_string_equal(run(m, input, 3333), "x***y\n");
	assert_string_equal(run(m, input, 0), "x***y\n");
	free(secret);
	free(input);
	mask_free(m);
}

static void
test_json_escaped_and_short(void **state)
{
	static const char *const v[] = { "a\"b\\c\nd", "p\xc3\xa9p\xc3\xa9", "abc", NULL };
	struct mask *m = mask_of(v);

	(void)state;
	assert_string_equal(run(m, "{\"v\":\"a\\\"b\\\\c\\nd\"}", 1), "{\"v\":\"***\"}");
	assert_string_equal(run(m, "raw a\"b\\c\nd end", 0), "raw *** end");
	assert_string_equal(run(m, "p\xc3\xa9p\xc3\xa9 p\\u00e9p\\u00e9", 1), "*** ***");
	assert_string_equal(run(m, "abc abc", 0), "abc abc");	/* < 4 bytes */
	assert_int_equal(mask_patterns(m), 4);	/* raw + escaped, raw + \u form */
	mask_free(m);
}

static void
test_no_mask(void **state)
{
	struct mask *m = mask_new();

	(void)state;
	assert_string_equal(run(NULL, "anything", 3), "anything");
	assert_string_equal(run(m, "anything", 3), "anything");
	mask_free(m);
	mask_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic_and_repeated),
		cmocka_unit_test(test_overlaps),
		cmocka_unit_test(test_prefixes),
		cmocka_unit_test(test_every_split_point),
		cmocka_unit_test(test_big_value_in_pieces),
		cmocka_unit_test(test_json_escaped_and_short),
		cmocka_unit_test(test_no_mask),
	};
	int rc;

	if (sodium_init() < 0)
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	buf_free(&out);
	return rc;
}
