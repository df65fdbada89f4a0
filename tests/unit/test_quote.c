/*
 * Tests for quote: strconv.Quote-compatible quoting of message values and
 * the UTF-8 / printable helpers. Expected strings are what Go 1.21 prints.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "quote.h"

static void
check_n(const char *in, size_t n, const char *want)
{
	struct buf b;

	buf_init(&b, 4096);
	assert_int_equal(quote_go(&b, in, n), 0);
	assert_string_equal(buf_str(&b), want);
	buf_free(&b);
}

static void
check(const char *in, const char *want)
{
	check_n(in, strlen(in), want);
}

static void
test_plain(void **state)
{
	(void)state;
	check("", "\"\"");
	check("main.py", "\"main.py\"");
	check(".rb", "\".rb\"");
	check("a b~", "\"a b~\"");
}

static void
test_quote_backslash(void **state)
{
	(void)state;
	check("say \"hi\"", "\"say \\\"hi\\\"\"");
	check("a\\b", "\"a\\\\b\"");
	check("'", "\"'\"");
}

static void
test_controls(void **state)
{
	(void)state;
	check("\a\b\f\n\r\t\v", "\"\\a\\b\\f\\n\\r\\t\\v\"");
	check("\x01\x1f\x7f\x1b", "\"\\x01\\x1f\\x7f\\x1b\"");
	check_n("a\0b", 3, "\"a\\x00b\"");
}

static void
test_invalid_utf8(void **state)
{
	(void)state;
	check("\xff", "\"\\xff\"");
	check("a\xc3", "\"a\\xc3\"");		/* truncated sequence */
	check("\xc0\xaf", "\"\\xc0\\xaf\"");	/* overlong */
	check("\xed\xa0\x80", "\"\\xed\\xa0\\x80\"");	/* surrogate */
	check("\xf4\x90\x80\x80", "\"\\xf4\\x90\\x80\\x80\"");	/* > U+10FFFF */
	check("\xe2\x82", "\"\\xe2\\x82\"");
}

static void
test_printable_unicode(void **state)
{
	(void)state;
	check("h\xc3\xa9llo", "\"h\xc3\xa9llo\"");		/* é */
	check("\xe6\x97\xa5\xe6\x9c\xac", "\"\xe6\x97\xa5\xe6\x9c\xac\"");
	check("\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\"");	/* emoji */
	check("\xef\xbf\xbd", "\"\xef\xbf\xbd\"");		/* U+FFFD itself */
	check("\xc5\xbf", "\"\xc5\xbf\"");			/* ſ */
}

static void
test_not_printable(void **state)
{
	(void)state;
	check("\xc2\x80", "\"\\u0080\"");		/* C1 control */
	check("\xc2\x9f", "\"\\u009f\"");
	check("\xc2\xa0", "\"\\u00a0\"");		/* no-break space */
	check("\xc2\xad", "\"\\u00ad\"");		/* soft hyphen */
	check("\xe2\x80\x8b", "\"\\u200b\"");		/* zero width space */
	check("\xe2\x80\xa8", "\"\\u2028\"");		/* line separator */
	check("\xe2\x80\xae", "\"\\u202e\"");		/* RLO */
	check("\xe2\x81\xa0", "\"\\u2060\"");
	check("\xef\xbb\xbf", "\"\\ufeff\"");		/* BOM */
	check("\xe3\x80\x80", "\"\\u3000\"");		/* ideographic space */
	check("\xee\x80\x80", "\"\\ue000\"");		/* private use */
	check("\xef\xb7\x90", "\"\\ufdd0\"");		/* non-character */
	check("\xcd\xb8", "\"\\u0378\"");		/* unassigned */
	check("\xf3\xa0\x80\x81", "\"\\U000e0001\"");	/* language tag */
	check("\xf4\x8f\xbf\xbf", "\"\\U0010ffff\"");
}

static void
test_quote_go_str(void **state)
{
	char *s;

	(void)state;
	s = quote_go_str("x\ty");
	assert_string_equal(s, "\"x\\ty\"");
	free(s);
}

static void
test_overflow(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 4);
	assert_int_equal(quote_go(&b, "abcdef", 6), -1);
	buf_free(&b);
}

static void
test_decode(void **state)
{
	uint32_t cp = 0;

	(void)state;
	assert_int_equal(quote_utf8_decode((const unsigned char *)"A", 1, &cp), 1);
	assert_int_equal(cp, 'A');
	assert_int_equal(quote_utf8_decode((const unsigned char *)"\xe2\x82\xac", 3, &cp), 3);
	assert_int_equal(cp, 0x20ac);
	assert_int_equal(quote_utf8_decode((const unsigned char *)"\xe2\x82\xac", 2, &cp), 0);
	assert_int_equal(quote_utf8_decode((const unsigned char *)"\x80", 1, &cp), 0);
	assert_true(quote_isprint(' '));
	assert_false(quote_isprint('\t'));
	assert_false(quote_isprint(0x85));
	assert_true(quote_isprint(0x10000));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_quote_backslash),
		cmocka_unit_test(test_controls),
		cmocka_unit_test(test_invalid_utf8),
		cmocka_unit_test(test_printable_unicode),
		cmocka_unit_test(test_not_printable),
		cmocka_unit_test(test_quote_go_str),
		cmocka_unit_test(test_overflow),
		cmocka_unit_test(test_decode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
