/*
 * rlog: JSON-lines logging for minitower-runner. A line is built in a local
 * bounded buffer and written with one fwrite under a mutex, so lines from
 * the main, heartbeat and shipper threads never interleave.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "rlog.h"

static pthread_mutex_t rlog_mu = PTHREAD_MUTEX_INITIALIZER;
static const char *const level_names[] = { "INFO", "WARN", "ERROR" };

void
rlog_time(char *out, size_t outsz)
{
	struct timespec ts;
	struct tm tm;
	char base[32], frac[16], off[40];
	long off_min;
	int i;

	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	frac[0] = '\0';
	if (ts.tv_nsec != 0) {
		snprintf(frac, sizeof(frac), ".%09ld", ts.tv_nsec);
		for (i = (int)strlen(frac) - 1; i > 0 && frac[i] == '0'; i--)
			frac[i] = '\0';
	}
	off_min = tm.tm_gmtoff / 60;
	if (off_min == 0)
		snprintf(off, sizeof(off), "Z");
	else
		snprintf(off, sizeof(off), "%c%02ld:%02ld", off_min < 0 ? '-' : '+',
		    (off_min < 0 ? -off_min : off_min) / 60,
		    (off_min < 0 ? -off_min : off_min) % 60);
	snprintf(out, outsz, "%s%s%s", base, frac, off);
}

static void
add_str(struct buf *b, const char *s)
{
	const unsigned char *p;

	buf_addc(b, '"');
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			buf_addf(b, "\\%c", *p);
		else if (*p == '\n')
			buf_adds(b, "\\n");
		else if (*p == '\t')
			buf_adds(b, "\\t");
		else if (*p == '\r')
			buf_adds(b, "\\r");
		else if (*p < 0x20 || *p == 0x7f)
			buf_addf(b, "\\u%04x", *p);
		else
			buf_addc(b, (char)*p);
	}
	buf_addc(b, '"');
}

void
rlog_emit(enum rlog_level lvl, const char *msg, ...)
{
	struct rlog_attr a;
	struct buf b;
	char ts[64];
	va_list ap;

	buf_init(&b, 64 * 1024);
	rlog_time(ts, sizeof(ts));
	buf_addf(&b, "{\"time\":\"%s\",\"level\":\"%s\",\"msg\":", ts, level_names[lvl]);
	add_str(&b, msg);
	va_start(ap, msg);
	for (;;) {
		a = va_arg(ap, struct rlog_attr);
		if (a.key == NULL)
			break;
		buf_addc(&b, ',');
		add_str(&b, a.key);
		buf_addc(&b, ':');
		if (a.type == 1)
			buf_addf(&b, "%lld", (long long)a.i);
		else
			add_str(&b, a.s != NULL ? a.s : "");
	}
	va_end(ap);
	if (!buf_ok(&b)) {
		buf_reset(&b);
		buf_addf(&b, "{\"time\":\"%s\",\"level\":\"%s\",\"msg\":", ts, level_names[lvl]);
		add_str(&b, msg);
	}
	buf_adds(&b, "}\n");
	pthread_mutex_lock(&rlog_mu);
	fwrite(b.data, 1, b.len, stdout);
	fflush(stdout);
	pthread_mutex_unlock(&rlog_mu);
	buf_free(&b);
}
