/*
 * http_frame: the request-framing rules of RFC 9112 §6 that libmicrohttpd
 * 0.9.75 does not enforce (docs/http.md). Pure: it reads the header pairs
 * http.c collected, so it is unit-tested and fuzzed without a socket.
 */
#ifndef MT_HTTP_FRAME_H
#define MT_HTTP_FRAME_H

#include <stdbool.h>

#include "err.h"
#include "http.h"

/* Checks the framing of a request whose headers are hdrs[0..n) (names and
 * values as libmicrohttpd handed them over) and whose request line named
 * HTTP/1.0 when http10. Returns 0 when the body is framed unambiguously, or
 * -1 with ERR_INVALID and a client-facing message in err: a field name that
 * is not a token (whitespace before the colon, a control byte, a folded
 * line glued onto the name), differing or non-digit Content-Length values,
 * a Transfer-Encoding other than one final "chunked", both Content-Length
 * and Transfer-Encoding, or Transfer-Encoding in an HTTP/1.0 request. The
 * caller must answer such a request without reading its body and close the
 * connection. */
int http_frame_check(const struct http_pair *hdrs, int n, bool http10, struct err *err);

#endif
