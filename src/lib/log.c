/*
 * log: one JSON object per line on stdout. The time is local with its offset
 * (Z for UTC) and up to nine fractional digits, trailing zeros dropped. Each
 * line is built in a bounded buffer and written with a single write(2) under
 * a mutex, so lines from different threads never interleave (even lines
 * longer than a pipe's atomic write). A line whose attributes overflow the
 * buffer is written without them rather than lost.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "json.h"
#include "log.h"

static atomic_bool disabled;
static pthread_mutex_t write_mu = PTHREAD_MUTEX_INITIALIZER;

void
log_set_enabled(bool on)
{
	atomic_store(&disabled, !on);
}

static void
add_time(struct buf *b)
{
	struct timespec ts;
	struct tm tm;
	char frac[16];
	long off;
	int n;

	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	buf_addf(b, "\"%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	snprintf(frac, sizeof(frac), "%09ld", ts.tv_nsec);
	for (n = 9; n > 0 && frac[n - 1] == '0'; n--)
		frac[n - 1] = '\0';
	if (n > 0)
		buf_addf(b, ".%s", frac);
	off = tm.tm_gmtoff;
	if (off == 0)
		buf_adds(b, "Z\"");
	else
		buf_addf(b, "%c%02ld:%02ld\"", off < 0 ? '-' : '+',
		    (off < 0 ? -off : off) / 3600, ((off < 0 ? -off : off) % 3600) / 60);
}

static void
add_fields(struct buf *b, const char *fields, va_list ap)
{
	const char *p = fields, *eq;
	char num[64];

	while (p != NULL && *p != '\0') {
		while (*p == ' ')
			p++;
		eq = strchr(p, '=');
		if (eq == NULL || eq[1] != '%')
			return;
		buf_addc(b, ',');
		json_encode_str(b, p, (size_t)(eq - p));
		buf_addc(b, ':');
		switch (eq[2]) {
		case 'd':
			buf_addf(b, "%lld", (long long)va_arg(ap, int64_t));
			break;
		case 'f':
			snprintf(num, sizeof(num), "%.3f", va_arg(ap, double));
			buf_adds(b, num);
			break;
		case 'b':
			buf_adds(b, va_arg(ap, int) ? "true" : "false");
			break;
		default: {
			const char *s = va_arg(ap, const char *);
			if (s == NULL)
				s = "";
			json_encode_str(b, s, strlen(s));
		}
		}
		p = eq + 3;
	}
}

/* time, level and msg: the start of every line. */
static void
add_head(struct buf *b, enum log_level lvl, const char *msg)
{
	static const char *names[] = { "INFO", "WARN", "ERROR" };

	buf_adds(b, "{\"time\":");
	add_time(b);
	buf_addf(b, ",\"level\":\"%s\",\"msg\":", names[lvl]);
	json_encode_str(b, msg, strlen(msg));
}

void
log_write(enum log_level lvl, const char *msg, const char *fields, ...)
{
	struct buf b;
	va_list ap;
	ssize_t w;

	if (atomic_load(&disabled))
		return;
	buf_init(&b, 64 * 1024);
	add_head(&b, lvl, msg);
	va_start(ap, fields);
	add_fields(&b, fields, ap);
	va_end(ap);
	buf_adds(&b, "}\n");
	if (!buf_ok(&b)) {
		buf_reset(&b);
		add_head(&b, lvl, msg);
		buf_adds(&b, "}\n");
	}
	if (buf_ok(&b)) {
		pthread_mutex_lock(&write_mu);
		w = write(STDOUT_FILENO, b.data, b.len);
		pthread_mutex_unlock(&write_mu);
		(void)w;
	}
	buf_free(&b);
}
