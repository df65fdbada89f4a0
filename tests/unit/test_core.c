/*
 * Unit tests of the core library modules: buf (bounded buffer), util
 * (strict integer, duration and boolean parsing, RFC 3339), json (decoding
 * rules and the wire encoder) and crypto (tokens, digests, passwords).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "buf.h"
#include "crypto.h"
#include "json.h"
#include "util.h"

static void
test_buf_bounded(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 8);
	assert_int_equal(buf_adds(&b, "12345"), 0);
	assert_int_equal(buf_addf(&b, "%d", 678), 0);
	assert_string_equal(buf_str(&b), "12345678");
	assert_int_equal(buf_addc(&b, '9'), -1);
	assert_false(buf_ok(&b));
	assert_int_equal(buf_adds(&b, ""), -1);	/* sticky */
	buf_reset(&b);
	assert_true(buf_ok(&b));
	assert_string_equal(buf_str(&b), "");
	buf_free(&b);
}

static void
test_parse_i64(void **state)
{
	int64_t v;

	(void)state;
	assert_int_equal(parse_i64("+0042", &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(parse_i64("-9223372036854775808", &v), 0);
	assert_true(v == INT64_MIN);
	assert_int_equal(parse_i64("9223372036854775808", &v), -2);
	assert_true(v == INT64_MAX);
	assert_int_equal(parse_i64(" 1", &v), -1);
	assert_int_equal(parse_i64("1 ", &v), -1);
	assert_int_equal(parse_i64("", &v), -1);
	assert_int_equal(parse_i64("-", &v), -1);
	assert_int_equal(parse_i64("1e3", &v), -1);
	assert_int_equal(parse_i64n("12\0" "3", 4, &v), -1);
}

static void
test_durations_and_bools(void **state)
{
	struct err err;
	int64_t ms;
	bool b;

	(void)state;
	assert_int_equal(parse_duration_ms("300ms", &ms, &err), 0);
	assert_int_equal(ms, 300);
	assert_int_equal(parse_duration_ms("1.5h", &ms, &err), 0);
	assert_int_equal(ms, 5400000);
	assert_int_equal(parse_duration_ms("2h45m", &ms, &err), 0);
	assert_int_equal(ms, 9900000);
	assert_int_equal(parse_duration_ms("-10s", &ms, &err), 0);
	assert_int_equal(ms, -10000);
	assert_int_equal(parse_duration_ms("0", &ms, &err), 0);
	assert_int_equal(ms, 0);
	assert_int_equal(parse_duration_ms("10", &ms, &err), -1);
	assert_int_equal(parse_duration_ms("5x", &ms, &err), -1);
	assert_int_equal(parse_duration_ms("", &ms, &err), -1);
	assert_int_equal(parse_bool("True", &b, &err), 0);
	assert_true(b);
	assert_int_equal(parse_bool("F", &b, &err), 0);
	assert_false(b);
	assert_int_equal(parse_bool("yes", &b, &err), -1);
}

static void
test_rfc3339(void **state)
{
	char out[40];
	int64_t ms;

	(void)state;
	fmt_rfc3339_ms(1795748645123LL, out, sizeof(out));
	assert_string_equal(out, "2026-11-27T03:04:05.123Z");
	fmt_rfc3339_ms(0, out, sizeof(out));
	assert_string_equal(out, "1970-01-01T00:00:00.000Z");
	assert_int_equal(parse_rfc3339_ms("2026-11-27T04:04:05.1239+01:00", &ms), 0);
	assert_true(ms == 1795748645123LL);
	assert_int_equal(parse_rfc3339_ms("2026-11-27T03:04:05Z", &ms), 0);
	assert_true(ms == 1795748645000LL);
	assert_int_equal(parse_rfc3339_ms("2026-11-27 03:04:05Z", &ms), -1);
	assert_int_equal(parse_rfc3339_ms("nope", &ms), -1);
}

static char *
enc(const char *in)
{
	static const char *const ff[] = { "input", NULL };
	json_t *v = NULL;
	struct buf b;

	assert_int_equal(json_decode(in, strlen(in), false, &v), 0);
	buf_init(&b, 1 << 20);
	assert_int_equal(json_encode(&b, v, ff, false), 0);
	json_decref(v);
	return buf_take(&b);
}

/* The steady clock starts at the wall clock and never goes back. */
static void
test_steady_clock(void **state)
{
	int64_t a, b, wall;

	(void)state;
	a = steady_ms();
	wall = now_ms();
	assert_true(a - wall < 1000 && wall - a < 1000);
	b = steady_ms();
	assert_true(b >= a);
	usleep(20000);
	assert_true(steady_ms() - b >= 19);
}

static void
test_json_encode(void **state)
{
	char *s;

	(void)state;
	s = enc("{\"z\":1,\"a\":{\"y\":2,\"b\":3},\"input\":{\"y\":1.0,\"b\":[1e-7,1e21,0.5,123456789012]}}");
	assert_string_equal(s, "{\"z\":1,\"a\":{\"y\":2,\"b\":3},\"input\":{\"b\":[1e-7,1e+21,0.5,123456789012],\"y\":1}}");
	free(s);
	s = enc("[\"<a>&\\u2028\\u0001\\\"\"]");
	assert_string_equal(s, "[\"\\u003ca\\u003e\\u0026\\u2028\\u0001\\\"\"]");
	free(s);
	s = enc("[0.1,100,1.5e300,-2.25]");
	assert_string_equal(s, "[0.1,100,1.5e+300,-2.25]");
	free(s);
}

#define LW "{\"slug\":\"a\",\"Slug\":\"b\",\"name\":\"n\\\"}{\",\"slug\":\"c\"," \
    "\"list\":[1,{\"x\":{\"k\":\"x\",\"K\":\"y\",\"k\":\"z\"}}]}"

static void
test_json_decode_rules(void **state)
{
	const char *s;
	json_t *v = NULL;
	size_t n;
	char deep[2000];
	int64_t i64;
	int i;

	(void)state;
	assert_int_equal(json_decode("", 0, false, &v), -1);
	assert_int_equal(json_decode("  ", 2, true, &v), 0);
	assert_true(json_is_object(v) && json_object_size(v) == 0);
	json_decref(v);
	assert_int_equal(json_decode("null", 4, false, &v), 0);
	assert_true(json_is_object(v));
	json_decref(v);
	assert_int_equal(json_decode("{\"slug\":\"a\",\"SLUG\":\"b\"} trailing", 33, false, &v), 0);
	assert_int_equal(json_get_str(v, "slug", &s, &n), 1);
	assert_string_equal(s, "b");
	json_decref(v);
	/* last wins across case variants even when a key repeats exactly */
	assert_int_equal(json_decode(LW, strlen(LW), false, &v), 0);
	assert_int_equal(json_get_str(v, "slug", &s, &n), 1);
	assert_string_equal(s, "c");
	assert_int_equal(json_get_str(json_field(json_array_get(json_field(v, "list"), 1), "x"),
	    "k", &s, &n), 1);
	assert_string_equal(s, "z");
	assert_int_equal(json_get_str(v, "name", &s, &n), 1);
	assert_string_equal(s, "n\"}{");
	json_decref(v);
	assert_int_equal(json_decode("\"\\ud800\"", 8, false, &v), -1);
	assert_int_equal(json_decode("[1e999]", 7, false, &v), -1);
	/* what json_encode writes for 1e20 reads back, as a real (fuzz_json) */
	assert_int_equal(json_decode("{\"a\":\"9\\\"1\",\"x\":-100000000000000000000}",
	    strlen("{\"a\":\"9\\\"1\",\"x\":-100000000000000000000}"), false, &v), 0);
	assert_true(json_is_real(json_object_get(v, "x")));
	assert_true(json_real_value(json_object_get(v, "x")) == -1e20);
	assert_int_equal(json_get_int(v, "x", &i64), -1);
	assert_string_equal(json_string_value(json_object_get(v, "a")), "9\"1");
	json_decref(v);
	assert_int_equal(json_decode("[9223372036854775807]", 21, false, &v), 0);
	assert_true(json_is_integer(json_array_get(v, 0)));
	json_decref(v);
	for (i = 0; i < 513; i++)
		deep[i] = '[';
	for (i = 0; i < 513; i++)
		deep[513 + i] = ']';
	assert_int_equal(json_decode(deep, 1026, false, &v), -1);
	assert_int_equal(json_decode(deep + 1, 1024, false, &v), 0);
	json_decref(v);
}

static void
test_crypto(void **state)
{
	char tok[CRYPTO_TOKEN_MAX], hex[65], hash[CRYPTO_HASH_MAX];
	bool rehash;

	(void)state;
	assert_int_equal(crypto_init(), 0);
	crypto_token_new("mtk_", tok);
	assert_int_equal(strlen(tok), 47);
	assert_int_equal(strncmp(tok, "mtk_", 4), 0);
	crypto_sha256_hex("abc", 3, hex);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	assert_true(crypto_secret_equal("a", 1, "a", 1));
	assert_false(crypto_secret_equal("a", 1, "b", 1));
	assert_int_equal(crypto_password_hash("pw", 2, hash), 0);
	assert_int_equal(strncmp(hash, "$argon2id$", 10), 0);
	assert_true(crypto_password_verify(hash, "pw", 2, &rehash));
	assert_false(rehash);
	assert_false(crypto_password_verify(hash, "px", 2, &rehash));
	assert_true(crypto_password_verify("$2b$12$SLGHW8Zfp4ZcKRteP91jWOVV62cPOSpEOZYZys0s92CWa23oEiCRi",
	    "legacy-pw", 9, &rehash));
	assert_true(rehash);
	assert_false(crypto_password_verify("plain", "plain", 5, &rehash));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf_bounded),
		cmocka_unit_test(test_parse_i64),
		cmocka_unit_test(test_durations_and_bools),
		cmocka_unit_test(test_rfc3339),
		cmocka_unit_test(test_steady_clock),
		cmocka_unit_test(test_json_encode),
		cmocka_unit_test(test_json_decode_rules),
		cmocka_unit_test(test_crypto),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
