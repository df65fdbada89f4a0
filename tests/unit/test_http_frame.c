/*
 * test_http_frame: the framing rules of src/server/http_frame.c, on header
 * lists shaped as libmicrohttpd 0.9.75 hands them over (docs/http.md).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "../../src/server/http_frame.c"
#include <setjmp.h>
#include <cmocka.h>

#define H(n, v) { (char[]){ n }, (char[]){ v }, sizeof(v) - 1 }
#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

static int
check(const struct http_pair *h, int n, bool http10)
{
	struct err e;

	return http_frame_check(h, n, http10, &e);
}

static void
accepted(void **state)
{
	struct http_pair none[] = { H("Host", "x") };
	struct http_pair cl[] = { H("Host", "x"), H("content-length", "12") };
	struct http_pair same[] = { H("Content-Length", "5"), H("Content-Length", "5") };
	struct http_pair te[] = { H("Transfer-Encoding", "Chunked") };
	struct http_pair odd[] = { H("X-A_b.c~!#$%&'*+^`|", "v") };

	(void)state;
	assert_int_equal(check(none, N(none), false), 0);
	assert_int_equal(check(cl, N(cl), true), 0);
	assert_int_equal(check(same, N(same), false), 0);
	assert_int_equal(check(te, N(te), false), 0);
	assert_int_equal(check(odd, N(odd), false), 0);
	assert_int_equal(check(NULL, 0, false), 0);
}

static void
content_length(void **state)
{
	struct http_pair differ[] = { H("Content-Length", "20"), H("Content-Length", "0") };
	struct http_pair spelled[] = { H("Content-Length", "5"), H("content-length", "05") };
	struct http_pair sign[] = { H("Content-Length", "+5") };
	struct http_pair empty[] = { H("Content-Length", "") };
	struct http_pair ws[] = { H("Content-Length", "5 ") };
	struct err e;

	(void)state;
	assert_int_equal(http_frame_check(differ, N(differ), false, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
	assert_non_null(strstr(e.msg, "conflicting"));
	assert_int_equal(check(spelled, N(spelled), false), -1);
	assert_int_equal(check(sign, N(sign), false), -1);
	assert_int_equal(check(empty, N(empty), false), -1);
	assert_int_equal(check(ws, N(ws), false), -1);
}

static void
transfer_encoding(void **state)
{
	struct http_pair two[] = { H("Transfer-Encoding", "chunked"),
		H("Transfer-Encoding", "identity") };
	struct http_pair twice[] = { H("Transfer-Encoding", "chunked"),
		H("Transfer-Encoding", "chunked") };
	struct http_pair list[] = { H("Transfer-Encoding", "gzip, chunked") };
	struct http_pair trail[] = { H("Transfer-Encoding", "chunked ") };
	struct http_pair empty[] = { H("Transfer-Encoding", "") };
	struct http_pair both[] = { H("Content-Length", "4"), H("Transfer-Encoding", "chunked") };
	struct http_pair te[] = { H("Transfer-Encoding", "chunked") };

	(void)state;
	assert_int_equal(check(two, N(two), false), -1);
	assert_int_equal(check(twice, N(twice), false), -1);
	assert_int_equal(check(list, N(list), false), -1);
	assert_int_equal(check(trail, N(trail), false), -1);
	assert_int_equal(check(empty, N(empty), false), -1);
	assert_int_equal(check(both, N(both), false), -1);
	assert_int_equal(check(te, N(te), true), -1);	/* HTTP/1.0 */
}

static void
field_names(void **state)
{
	/* what MHD makes of "Transfer-Encoding : chunked", "Content-Length\t: 5",
	 * "Content-Length: 5\r\n 5", "Host: x\r\n Content-Length: 5" and
	 * "X-A: one\r\n two three" */
	struct http_pair space[] = { H("Transfer-Encoding ", "chunked"), H("Content-Length", "5") };
	struct http_pair tab[] = { H("Content-Length\t", "5") };
	struct http_pair glued[] = { H("Content-Length5", "5") };
	struct http_pair glued_te[] = { H("transfer-encodingchunked", "x") };
	struct http_pair into[] = { H("HostContent-Length: 5", "x") };
	struct http_pair words[] = { H("X-Atwo three", "one") };
	struct http_pair ctl[] = { H("X\001Y", "1") };
	struct http_pair empty[] = { H("", "1") };

	(void)state;
	assert_int_equal(check(space, N(space), false), -1);
	assert_int_equal(check(tab, N(tab), false), -1);
	assert_int_equal(check(glued, N(glued), false), -1);
	assert_int_equal(check(glued_te, N(glued_te), false), -1);
	assert_int_equal(check(into, N(into), false), -1);
	assert_int_equal(check(words, N(words), false), -1);
	assert_int_equal(check(ctl, N(ctl), false), -1);
	assert_int_equal(check(empty, N(empty), false), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(accepted),
		cmocka_unit_test(content_length),
		cmocka_unit_test(transfer_encoding),
		cmocka_unit_test(field_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
