/*
 * util: allocation, strict number parsing, durations, clocks and RFC 3339
 * timestamps. Everything here is thread-safe and, but for the steady
 * clock's anchor, pure.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "util.h"

static void
oom(void)
{
	fputs("fatal: out of memory\n", stderr);
	abort();
}

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		oom();
	return p;
}

void *
xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

	if (p == NULL)
		oom();
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (q == NULL)
		oom();
	return q;
}

char *
xstrdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL)
		oom();
	return p;
}

char *
xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *p;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&p, fmt, ap);
	va_end(ap);
	if (n < 0)
		oom();
	return p;
}

void
fatal(const char *fmt, ...)
{
	va_list ap;

	fputs("fatal: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

int
parse_i64n(const char *s, size_t n, int64_t *out)
{
	size_t i = 0;
	bool neg = false, range = false;
	uint64_t v = 0, lim;

	if (n > 0 && (s[0] == '+' || s[0] == '-')) {
		neg = s[0] == '-';
		i = 1;
	}
	if (i == n)
		return -1;
	lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (!range) {
			unsigned d = (unsigned)(s[i] - '0');
			if (v > (lim - d) / 10)
				range = true;
			else
				v = v * 10 + d;
		}
	}
	if (range) {
		*out = neg ? INT64_MIN : INT64_MAX;
		return -2;
	}
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return 0;
}

int
parse_i64(const char *s, int64_t *out)
{
	return parse_i64n(s, strlen(s), out);
}

static int
unit_ms(const char *u, size_t n, double *mult)
{
	static const struct { const char *name; double ms; } units[] = {
		{ "ns", 1e-6 }, { "us", 1e-3 }, { "\xc2\xb5s", 1e-3 },
		{ "\xce\xbcs", 1e-3 }, { "ms", 1 }, { "s", 1e3 },
		{ "m", 60e3 }, { "h", 3600e3 },
	};
	size_t i;

	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strlen(units[i].name) == n && memcmp(units[i].name, u, n) == 0) {
			*mult = units[i].ms;
			return 0;
		}
	}
	return -1;
}

int
parse_duration_ms(const char *s, int64_t *out_ms, struct err *err)
{
	const char *p = s;
	double total = 0, mult;
	bool neg = false;

	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	if (strcmp(p, "0") == 0) {
		*out_ms = 0;
		return 0;
	}
	if (*p == '\0')
		return err_set(err, ERR_INVALID, "time: invalid duration \"%s\"", s);
	while (*p != '\0') {
		const char *num = p, *u;
		char *end;
		double v;

		while (isdigit((unsigned char)*p) || *p == '.')
			p++;
		if (p == num || (p - num == 1 && *num == '.'))
			return err_set(err, ERR_INVALID, "time: invalid duration \"%s\"", s);
		errno = 0;
		v = strtod(num, &end);
		if (end != p || errno != 0)
			return err_set(err, ERR_INVALID, "time: invalid duration \"%s\"", s);
		u = p;
		while (*p != '\0' && *p != '.' && !isdigit((unsigned char)*p))
			p++;
		if (u == p)
			return err_set(err, ERR_INVALID, "time: missing unit in duration \"%s\"", s);
		if (unit_ms(u, (size_t)(p - u), &mult) == -1)
			return err_set(err, ERR_INVALID, "time: unknown unit \"%.*s\" in duration \"%s\"",
			    (int)(p - u), u, s);
		total += v * mult;
		if (total > 9.2e15)
			return err_set(err, ERR_INVALID, "time: invalid duration \"%s\"", s);
	}
	*out_ms = (int64_t)(neg ? -total : total);
	return 0;
}

int
parse_bool(const char *s, bool *out, struct err *err)
{
	static const char *yes[] = { "1", "t", "T", "TRUE", "true", "True" };
	static const char *no[] = { "0", "f", "F", "FALSE", "false", "False" };
	size_t i;

	for (i = 0; i < 6; i++) {
		if (strcmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return err_set(err, ERR_INVALID, "strconv.ParseBool: parsing \"%s\": invalid syntax", s);
}

int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static pthread_once_t steady_once = PTHREAD_ONCE_INIT;
static int64_t steady_offset_ms;	/* wall - monotonic at the first call */

static void
steady_anchor(void)
{
	steady_offset_ms = now_ms() - mono_ms();
}

int64_t
steady_ms(void)
{
	pthread_once(&steady_once, steady_anchor);
	return steady_offset_ms + mono_ms();
}

void
fmt_rfc3339_ms(int64_t ms, char *out, size_t outsz)
{
	int64_t secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
	int millis = (int)(ms - secs * 1000);
	time_t t = (time_t)secs;
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(out, outsz, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, millis);
}

static int
digits(const char **p, int n, int *out)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

int
parse_rfc3339_ms(const char *s, int64_t *out_ms)
{
	const char *p = s;
	int Y, M, D, h, m, sec, oh = 0, om = 0, sign = 0;
	int64_t frac = 0, scale = 1000;
	struct tm tm;

	if (digits(&p, 4, &Y) || *p++ != '-' || digits(&p, 2, &M) ||
	    *p++ != '-' || digits(&p, 2, &D) || (*p != 'T' && *p != 't'))
		return -1;
	p++;
	if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &m) ||
	    *p++ != ':' || digits(&p, 2, &sec))
		return -1;
	if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60)
		return -1;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return -1;
		for (; isdigit((unsigned char)*p); p++) {
			if (scale > 1) {
				scale /= 10;
				frac += (*p - '0') * scale;
			}
		}
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p++ == '-' ? -1 : 1;
		if (digits(&p, 2, &oh) || *p++ != ':' || digits(&p, 2, &om) ||
		    oh > 23 || om > 59)
			return -1;
	} else {
		return -1;
	}
	if (*p != '\0')
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = Y - 1900;
	tm.tm_mon = M - 1;
	tm.tm_mday = D;
	tm.tm_hour = h;
	tm.tm_min = m;
	tm.tm_sec = sec;
	*out_ms = ((int64_t)timegm(&tm) - sign * (oh * 3600 + om * 60)) * 1000 + frac;
	return 0;
}

void
hex_encode(const unsigned char *in, size_t n, char *out)
{
	static const char hx[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hx[in[i] >> 4];
		out[2 * i + 1] = hx[in[i] & 15];
	}
	out[2 * n] = '\0';
}

char *
str_trim(char *s)
{
	size_t n = strlen(s), i = 0;

	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	while (isspace((unsigned char)s[i]))
		i++;
	if (i > 0)
		memmove(s, s + i, n - i + 1);
	return s;
}

static int
lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

int
ascii_ncasecmp(const char *a, const char *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		int d = lower((unsigned char)a[i]) - lower((unsigned char)b[i]);
		if (d != 0 || a[i] == '\0')
			return d;
	}
	return 0;
}

int
ascii_casecmp(const char *a, const char *b)
{
	return ascii_ncasecmp(a, b, (size_t)-1);
}

/* Reads a small file into a new string; NULL on failure. */
char *
slurp(const char *path, size_t max)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct buf b;
	char tmp[4096];
	ssize_t n;

	if (fd == -1)
		return NULL;
	buf_init(&b, max);
	while ((n = read(fd, tmp, sizeof(tmp))) > 0)
		buf_add(&b, tmp, (size_t)n);
	close(fd);
	if (n < 0 || !buf_ok(&b)) {
		buf_free(&b);
		return NULL;
	}
	return b.data != NULL ? buf_take(&b) : xstrdup("");
}
