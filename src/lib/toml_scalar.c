/*
 * toml_scalar: lexing of TOML scalars. Strings are unescaped into a buffer
 * that can never outgrow the input; numbers are checked against the TOML
 * grammar (underscores only between digits, no leading zeros, prefixes
 * without sign) before they are converted; date-times are checked for real
 * calendar dates and kept as text.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "toml_scalar.h"
#include "util.h"

#define FAIL(where, text) do { *pp = (where); *msg = (text); goto fail; } while (0)

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* The value of hex digit c, or -1. */
static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void
add_utf8(struct buf *b, uint32_t cp)
{
	char u[4];

	if (cp < 0x80) {
		u[0] = (char)cp;
		buf_add(b, u, 1);
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3f));
		buf_add(b, u, 2);
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		buf_add(b, u, 3);
	} else {
		u[0] = (char)(0xf0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		buf_add(b, u, 4);
	}
}

/* \uXXXX or \UXXXXXXXX with p after the 'u'/'U'; returns the end or NULL. */
static const char *
unicode_escape(const char *p, const char *end, int ndigits, struct buf *b)
{
	uint32_t cp = 0;
	int i, d;

	if (end - p < ndigits)
		return NULL;
	for (i = 0; i < ndigits; i++) {
		d = hex_value(p[i]);
		if (d < 0)
			return NULL;
		cp = cp << 4 | (uint32_t)d;
	}
	if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return NULL;
	add_utf8(b, cp);
	return p + ndigits;
}

/* After a line-ending backslash at p: skips whitespace and newlines. Returns
 * the end of the skipped run, or NULL when no newline follows the blanks. */
static const char *
line_continuation(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p == end || (*p != '\n' && *p != '\r'))
		return NULL;
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/* One escape sequence with p at the backslash; returns its end or NULL. */
static const char *
escape(const char *p, const char *end, bool multi, struct buf *b)
{
	static const char from[] = "btnfr\"\\", to[] = "\b\t\n\f\r\"\\";
	const char *c;

	if (++p == end)
		return NULL;
	if (*p != '\0' && (c = strchr(from, *p)) != NULL) {
		buf_addc(b, to[c - from]);
		return p + 1;
	}
	if (*p == 'u')
		return unicode_escape(p + 1, end, 4, b);
	if (*p == 'U')
		return unicode_escape(p + 1, end, 8, b);
	if (multi)
		return line_continuation(p, end);
	return NULL;
}

/* At a run of quote characters closing a multi-line string: returns the
 * number of them that belong to the content (0-2), or -1 when too many. */
static int
closing_run(const char *p, const char *end, char q, size_t *run)
{
	size_t n = 0;

	while (p + n < end && p[n] == q)
		n++;
	*run = n;
	if (n < 3)
		return 0;
	return n > 5 ? -1 : (int)(n - 3);
}

int
toml_scalar_string(const char **pp, const char *end, bool allow_multi,
    char **out, size_t *outlen, const char **msg)
{
	const char *p = *pp, *next;
	char q = *p;
	bool basic = q == '"', multi;
	struct buf b;
	size_t run;
	int extra;

	buf_init(&b, (size_t)(end - p) + 1);
	multi = end - p >= 3 && p[1] == q && p[2] == q;
	if (multi && !allow_multi)
		FAIL(p, "a multi-line string cannot be a key");
	p += multi ? 3 : 1;
	if (multi && p < end && *p == '\n')
		p++;
	else if (multi && end - p >= 2 && p[0] == '\r' && p[1] == '\n')
		p += 2;
	for (;;) {
		if (p == end)
			FAIL(*pp, "unterminated string");
		if (*p == q && !multi) {
			p++;
			break;
		}
		if (*p == q) {
			extra = closing_run(p, end, q, &run);
			if (extra < 0)
				FAIL(p, "too many quotes at the end of a multi-line string");
			buf_add(&b, p, run < 3 ? run : (size_t)extra);
			p += run;
			if (run >= 3)
				break;
			continue;
		}
		if ((*p == '\n' || *p == '\r') && !multi)
			FAIL(p, "newline in a single-line string");
		if (*p == '\\' && basic) {
			next = escape(p, end, multi, &b);
			if (next == NULL)
				FAIL(p, "invalid escape sequence");
			p = next;
		} else if (*p == '\r') {
			p++;	/* CRLF is stored as LF */
		} else {
			buf_addc(&b, *p++);
		}
	}
	*pp = p;
	*outlen = b.len;
	*out = buf_take(&b);
	return 0;
fail:
	buf_free(&b);
	return -1;
}

/* ---- numbers ---- */

/* The value of c as a digit of base, or -1. */
static int
digit_value(char c, int base)
{
	int d = hex_value(c);

	return d >= 0 && d < base ? d : -1;
}

/* Consumes digits of base with single underscores between digits. Returns
 * the number of digits, or -1 on a misplaced underscore. */
static int
scan_digits(const char **pp, const char *end, int base)
{
	const char *p = *pp;
	int n = 0;

	while (p < end) {
		if (*p == '_') {
			if (n == 0 || p + 1 >= end || digit_value(p[1], base) < 0)
				return -1;
			p++;
			continue;
		}
		if (digit_value(*p, base) < 0)
			break;
		n++;
		p++;
	}
	*pp = p;
	return n;
}

/* Converts validated digits of base (underscores skipped) to an int64. */
static int
to_int64(const char *p, const char *end, int base, bool neg, int64_t *out)
{
	uint64_t acc = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	int d;

	for (; p < end; p++) {
		if (*p == '_')
			continue;
		d = digit_value(*p, base);
		if (acc > (limit - (uint64_t)d) / (uint64_t)base)
			return -1;
		acc = acc * (uint64_t)base + (uint64_t)d;
	}
	if (neg)
		*out = acc == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)acc;
	else
		*out = (int64_t)acc;
	return 0;
}

static int
special_float(const char *s, size_t n, double *out)
{
	static const char *const names[] = { "inf", "+inf", "-inf", "nan", "+nan", "-nan" };
	size_t i;

	for (i = 0; i < 6; i++) {
		if (strlen(names[i]) == n && memcmp(names[i], s, n) == 0) {
			*out = i < 3 ? (i == 2 ? -INFINITY : INFINITY) : (i == 5 ? -NAN : NAN);
			return 0;
		}
	}
	return -1;
}

static int
to_double(const char *s, const char *end, double *out)
{
	char *clean = xmalloc((size_t)(end - s) + 1), *q = clean, *stop;
	const char *p;
	int rc = 0;

	for (p = s; p < end; p++) {
		if (*p != '_')
			*q++ = *p;
	}
	*q = '\0';
	errno = 0;
	*out = strtod(clean, &stop);
	if (*stop != '\0' || isinf(*out))
		rc = -1;
	free(clean);
	return rc;
}

/* A prefixed integer (0x, 0o, 0b) in [s, end). */
static int
prefixed_int(const char **pp, const char *s, const char *end,
    struct toml_value *v, const char **msg)
{
	int base = s[1] == 'x' ? 16 : s[1] == 'o' ? 8 : 2;
	const char *p = s + 2;

	if (scan_digits(&p, end, base) <= 0 || p != end)
		FAIL(s, "invalid integer");
	if (to_int64(s + 2, end, base, false, &v->u.i) < 0)
		FAIL(s, "integer out of range");
	v->type = TOML_INTEGER;
	*pp = end;
	return 0;
fail:
	return -1;
}

/* A decimal integer or float in [s, end). */
static int
decimal(const char **pp, const char *s, const char *end,
    struct toml_value *v, const char **msg)
{
	const char *p = s, *digits;
	bool is_float = false, neg = *s == '-';
	int n;

	if (*p == '+' || *p == '-')
		p++;
	digits = p;
	n = scan_digits(&p, end, 10);
	if (n <= 0)
		FAIL(s, "invalid value");
	if (n > 1 && *digits == '0')
		FAIL(s, "leading zeros are not allowed");
	if (p < end && *p == '.') {
		p++;
		is_float = true;
		if (scan_digits(&p, end, 10) <= 0)
			FAIL(s, "invalid float");
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		is_float = true;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		if (scan_digits(&p, end, 10) <= 0)
			FAIL(s, "invalid float exponent");
	}
	if (p != end)
		FAIL(s, "invalid number");
	if (is_float) {
		v->type = TOML_FLOAT;
		if (to_double(s, end, &v->u.f) < 0)
			FAIL(s, "float out of range");
	} else {
		v->type = TOML_INTEGER;
		if (to_int64(digits, end, 10, neg, &v->u.i) < 0)
			FAIL(s, "integer out of range");
	}
	*pp = end;
	return 0;
fail:
	return -1;
}

static int
number(const char **pp, const char *end, struct toml_value *v, const char **msg)
{
	const char *s = *pp, *e = s;

	while (e < end && ((*e >= 'a' && *e <= 'z') || (*e >= 'A' && *e <= 'Z') ||
	    is_digit(*e) || *e == '_' || *e == '.' || *e == '+' || *e == '-'))
		e++;
	if (e == s)
		FAIL(s, "expected a value");
	if (special_float(s, (size_t)(e - s), &v->u.f) == 0) {
		v->type = TOML_FLOAT;
		*pp = e;
		return 0;
	}
	if (e - s > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'o' || s[1] == 'b'))
		return prefixed_int(pp, s, e, v, msg);
	return decimal(pp, s, e, v, msg);
fail:
	return -1;
}

/* ---- date-times ---- */

/* n decimal digits at p as an int, or -1. */
static int
fixed_digits(const char *p, const char *end, int n)
{
	int v = 0, i;

	if (end - p < n)
		return -1;
	for (i = 0; i < n; i++) {
		if (!is_digit(p[i]))
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v;
}

static bool
looks_like_date(const char *p, const char *end)
{
	return fixed_digits(p, end, 4) >= 0 && end - p > 4 && p[4] == '-';
}

static bool
looks_like_time(const char *p, const char *end)
{
	return fixed_digits(p, end, 2) >= 0 && end - p > 2 && p[2] == ':';
}

static int
days_in_month(int y, int m)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	if (m == 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))
		return 29;
	return days[m - 1];
}

/* YYYY-MM-DD at p; returns its end or NULL. */
static const char *
scan_date(const char *p, const char *end)
{
	int y = fixed_digits(p, end, 4), m, d;

	if (y < 0 || end - p < 10 || p[4] != '-' || p[7] != '-')
		return NULL;
	m = fixed_digits(p + 5, end, 2);
	d = fixed_digits(p + 8, end, 2);
	if (m < 1 || m > 12 || d < 1 || d > days_in_month(y, m))
		return NULL;
	return p + 10;
}

/* HH:MM:SS[.fraction] at p; returns its end or NULL. */
static const char *
scan_time(const char *p, const char *end)
{
	int h = fixed_digits(p, end, 2), m, s;

	if (h < 0 || end - p < 8 || p[2] != ':' || p[5] != ':')
		return NULL;
	m = fixed_digits(p + 3, end, 2);
	s = fixed_digits(p + 6, end, 2);
	if (h > 23 || m < 0 || m > 59 || s < 0 || s > 60)
		return NULL;
	p += 8;
	if (p < end && *p == '.') {
		if (++p == end || !is_digit(*p))
			return NULL;
		while (p < end && is_digit(*p))
			p++;
	}
	return p;
}

/* Z, z or +HH:MM / -HH:MM at p; returns its end, or p when there is none,
 * or NULL when it is malformed. */
static const char *
scan_offset(const char *p, const char *end)
{
	int h, m;

	if (p < end && (*p == 'Z' || *p == 'z'))
		return p + 1;
	if (p == end || (*p != '+' && *p != '-'))
		return p;
	h = fixed_digits(p + 1, end, 2);
	if (h < 0 || end - p < 6 || p[3] != ':')
		return NULL;
	m = fixed_digits(p + 4, end, 2);
	if (h > 23 || m < 0 || m > 59)
		return NULL;
	return p + 6;
}

static int
datetime(const char **pp, const char *end, struct toml_value *v, const char **msg)
{
	const char *s = *pp, *p, *t;

	if (looks_like_time(s, end)) {
		p = scan_time(s, end);
		if (p == NULL)
			FAIL(s, "invalid time");
		v->type = TOML_TIME_LOCAL;
		goto done;
	}
	p = scan_date(s, end);
	if (p == NULL)
		FAIL(s, "invalid date");
	v->type = TOML_DATE_LOCAL;
	if (p < end && (*p == 'T' || *p == 't' || (*p == ' ' && looks_like_time(p + 1, end)))) {
		t = scan_time(p + 1, end);
		if (t == NULL)
			FAIL(s, "invalid date-time");
		v->type = TOML_DATETIME_LOCAL;
		p = scan_offset(t, end);
		if (p == NULL)
			FAIL(s, "invalid time zone offset");
		if (p != t)
			v->type = TOML_DATETIME;
	}
done:
	v->u.str.ptr = xstrndup(s, (size_t)(p - s));
	v->u.str.len = (size_t)(p - s);
	*pp = p;
	return 0;
fail:
	return -1;
}

int
toml_scalar_other(const char **pp, const char *end, struct toml_value *v,
    const char **msg)
{
	const char *s = *pp;

	if (end - s >= 4 && memcmp(s, "true", 4) == 0) {
		v->type = TOML_BOOL;
		v->u.b = true;
		*pp = s + 4;
		return 0;
	}
	if (end - s >= 5 && memcmp(s, "false", 5) == 0) {
		v->type = TOML_BOOL;
		v->u.b = false;
		*pp = s + 5;
		return 0;
	}
	if (looks_like_date(s, end) || looks_like_time(s, end))
		return datetime(pp, end, v, msg);
	return number(pp, end, v, msg);
}
