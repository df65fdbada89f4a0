/*
 * http_frame: is a request's body framed in exactly one way? libmicrohttpd
 * frames by the first Content-Length or Transfer-Encoding field it finds and
 * keeps every other copy, so a request it reads one way could be read another
 * way by a proxy in front of us (request smuggling). This file rejects every
 * request where the two readings could differ; the measurements behind each
 * rule are in docs/http.md.
 */
#include <string.h>

#include "http_frame.h"
#include "util.h"

/* RFC 9110 §5.6.2: tchar */
static bool
is_tchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool
is_token(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (!is_tchar((unsigned char)*s))
			return false;
	return true;
}

/* name begins with prefix (ignoring case) but is longer: libmicrohttpd glues
 * the text of an obs-fold continuation line onto the field name, so
 * "Content-Length: 5\r\n 5" arrives as "Content-Length5" and is not framed. */
static bool
is_glued(const char *name, const char *prefix)
{
	size_t n = strlen(prefix);

	return strlen(name) > n && ascii_ncasecmp(name, prefix, n) == 0;
}

static bool
all_digits(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* The field names: tokens, and no framing field in disguise. */
static int
check_names(const struct http_pair *hdrs, int n, struct err *err)
{
	int i;

	for (i = 0; i < n; i++) {
		if (!is_token(hdrs[i].name))
			return err_set(err, ERR_INVALID, "malformed header field name "
			    "(whitespace before the colon, a control character or a folded line)");
		if (is_glued(hdrs[i].name, "Content-Length") ||
		    is_glued(hdrs[i].name, "Transfer-Encoding"))
			return err_set(err, ERR_INVALID, "malformed framing header field name "
			    "(a folded Content-Length or Transfer-Encoding line)");
	}
	return 0;
}

int
http_frame_check(const struct http_pair *hdrs, int n, bool http10, struct err *err)
{
	const char *cl = NULL;
	int i, nte = 0;

	if (check_names(hdrs, n, err) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		const char *v = hdrs[i].value;

		if (ascii_casecmp(hdrs[i].name, "Content-Length") == 0) {
			if (!all_digits(v))
				return err_set(err, ERR_INVALID, "invalid Content-Length");
			if (cl != NULL && strcmp(cl, v) != 0)
				return err_set(err, ERR_INVALID, "conflicting Content-Length values");
			cl = v;
		} else if (ascii_casecmp(hdrs[i].name, "Transfer-Encoding") == 0) {
			/* exactly what libmicrohttpd frames as chunked, nothing else */
			if (++nte > 1 || ascii_casecmp(v, "chunked") != 0)
				return err_set(err, ERR_INVALID, "unsupported Transfer-Encoding "
				    "(only a single \"chunked\" is accepted)");
		}
	}
	if (nte > 0 && http10)
		return err_set(err, ERR_INVALID, "Transfer-Encoding in an HTTP/1.0 request");
	if (nte > 0 && cl != NULL)
		return err_set(err, ERR_INVALID, "both Content-Length and Transfer-Encoding");
	return 0;
}
