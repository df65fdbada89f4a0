/*
 * Tests for prom (families, series maps, rendering, number and label
 * formatting) and for the server's metrics module, which is compiled into
 * this test directly. Rendered output is also checked with promtool when it
 * is installed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "prom.h"
#include "../../src/server/metrics.c"

static const char *
fmt(double v)
{
	static char out[64];

	return prom_fmt_double(v, out, sizeof(out));
}

static void
test_fmt_double(void **state)
{
	(void)state;
	assert_string_equal(fmt(0.005), "0.005");
	assert_string_equal(fmt(0.01), "0.01");
	assert_string_equal(fmt(.025), "0.025");
	assert_string_equal(fmt(2.5), "2.5");
	assert_string_equal(fmt(1), "1");
	assert_string_equal(fmt(10), "10");
	assert_string_equal(fmt(100), "100");
	assert_string_equal(fmt(1e3), "1000");
	assert_string_equal(fmt(1e5), "100000");
	assert_string_equal(fmt(1e6), "1e+06");
	assert_string_equal(fmt(1e7), "1e+07");
	assert_string_equal(fmt(1e9), "1e+09");
	assert_string_equal(fmt(1638.4), "1638.4");
	assert_string_equal(fmt(0.1 * 16384), "1638.4");
	assert_string_equal(fmt(12.8), "12.8");
	assert_string_equal(fmt(0.0001), "0.0001");
	assert_string_equal(fmt(0.00001), "1e-05");
	assert_string_equal(fmt(123456789), "1.23456789e+08");
	assert_string_equal(fmt(999999), "999999");
	assert_string_equal(fmt(1.0 / 3), "0.3333333333333333");
	assert_string_equal(fmt(0.1 + 0.2), "0.30000000000000004");
	assert_string_equal(fmt(-1.5), "-1.5");
	assert_string_equal(fmt(0), "0");
	assert_string_equal(fmt(DBL_MAX), "1.7976931348623157e+308");
	assert_string_equal(fmt(5e-324), "5e-324");
	assert_string_equal(fmt(INFINITY), "+Inf");
	assert_string_equal(fmt(-INFINITY), "-Inf");
	assert_string_equal(fmt(NAN), "NaN");
}

/* Every finite double reads back exactly from its shortest form. */
static void
test_fmt_double_roundtrip(void **state)
{
	uint64_t x = 0x9e3779b97f4a7c15ULL, bits;
	double d;
	int i;

	(void)state;
	for (i = 0; i < 20000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		bits = x;
		memcpy(&d, &bits, sizeof(d));
		if (!isfinite(d))
			continue;
		assert_true(strtod(fmt(d), NULL) == d);
		assert_true(strlen(fmt(d)) <= 24);
	}
}

static void
check_escape(const char *in, const char *want)
{
	struct buf b;

	buf_init(&b, 1024);
	assert_int_equal(prom_escape_label(&b, in), 0);
	assert_string_equal(buf_str(&b), want);
	buf_free(&b);
}

#define FFFD "\xef\xbf\xbd"

static void
test_escape_label(void **state)
{
	(void)state;
	check_escape("", "");
	check_escape("plain-text_1", "plain-text_1");
	check_escape("a\\b", "a\\\\b");
	check_escape("say \"hi\"", "say \\\"hi\\\"");
	check_escape("two\nlines", "two\\nlines");
	check_escape("tab\tcr\r", "tab\tcr\r");
	check_escape("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
	    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	check_escape("a\xff" "b", "a" FFFD "b");
	check_escape("\xc0\xaf", FFFD FFFD);		/* overlong */
	check_escape("\xe2\x82", FFFD);			/* truncated */
	check_escape("\xe2\x82x", FFFD "x");
	check_escape("\xed\xa0\x80", FFFD FFFD FFFD);	/* surrogate */
	check_escape("\xf4\x90\x80\x80", FFFD FFFD FFFD FFFD);	/* > U+10FFFF */
	check_escape("\xf0\x9f\x98", FFFD);
}

static void
test_overflow(void **state)
{
	static const char *const l[] = { "a" };
	const char *v[] = { "value" };
	struct prom_family *f;
	struct buf b;

	(void)state;
	f = prom_family_new("x_total", "X.", PROM_COUNTER, l, 1, NULL, 0);
	prom_inc(f, v);
	buf_init(&b, 20);
	assert_int_equal(prom_family_render(f, &b), -1);
	buf_free(&b);
	prom_family_free(f);
}

static char *
render(struct prom_family *f)
{
	struct buf b;

	buf_init(&b, 1 << 24);
	assert_int_equal(prom_family_render(f, &b), 0);
	return buf_take(&b);
}

static void
test_counter_render(void **state)
{
	static const char *const l[] = { "method", "path", "status" };
	const char *v1[] = { "POST", "/api/v1/runs/lease", "204" };
	const char *v2[] = { "GET", "/health", "200" };
	const char *v3[] = { "GET", "/a\"b\\c\nd", "200" };
	struct prom_family *f;
	char *out;

	(void)state;
	f = prom_family_new("t_requests_total", "Requests.\nBy \\ path.",
	    PROM_COUNTER, l, 3, NULL, 0);
	out = render(f);
	assert_string_equal(out, "");		/* no series: nothing at all */
	free(out);
	prom_inc(f, v1);
	prom_inc(f, v1);
	prom_inc(f, v2);
	prom_counter_add(prom_series_get(f, v3), 5);
	assert_int_equal(prom_family_size(f), 3);
	assert_int_equal(prom_counter_value(prom_series_get(f, v1)), 2);
	out = render(f);
	assert_string_equal(out,
	    "# HELP t_requests_total Requests.\\nBy \\\\ path.\n"
	    "# TYPE t_requests_total counter\n"
	    "t_requests_total{method=\"GET\",path=\"/a\\\"b\\\\c\\nd\","
	    "status=\"200\"} 5\n"
	    "t_requests_total{method=\"GET\",path=\"/health\",status=\"200\"} 1\n"
	    "t_requests_total{method=\"POST\",path=\"/api/v1/runs/lease\","
	    "status=\"204\"} 2\n");
	free(out);
	prom_family_free(f);
}

static void
test_unlabelled(void **state)
{
	static const double b[] = { 1, 2 };
	struct prom_family *c, *h, *g;
	char *out;

	(void)state;
	c = prom_family_new("t_events_total", "Events.", PROM_COUNTER, NULL, 0,
	    NULL, 0);
	out = render(c);
	assert_string_equal(out, "# HELP t_events_total Events.\n"
	    "# TYPE t_events_total counter\nt_events_total 0\n");
	free(out);
	prom_inc(c, NULL);
	out = render(c);
	assert_non_null(strstr(out, "\nt_events_total 1\n"));
	free(out);
	h = prom_family_new("t_h", "H.", PROM_HISTOGRAM, NULL, 0, b, 2);
	prom_observe(h, NULL, 1.5);
	out = render(h);
	assert_string_equal(out, "# HELP t_h H.\n# TYPE t_h histogram\n"
	    "t_h_bucket{le=\"1\"} 0\nt_h_bucket{le=\"2\"} 1\n"
	    "t_h_bucket{le=\"+Inf\"} 1\nt_h_sum 1.5\nt_h_count 1\n");
	free(out);
	g = prom_family_new("t_g", "G.", PROM_GAUGE, NULL, 0, NULL, 0);
	prom_gauge_set(prom_series_get(g, NULL), 7);
	prom_gauge_add(prom_series_get(g, NULL), -10);
	assert_int_equal(prom_gauge_value(prom_series_get(g, NULL)), -3);
	out = render(g);
	assert_string_equal(out, "# HELP t_g G.\n# TYPE t_g gauge\nt_g -3\n");
	free(out);
	prom_family_free(c);
	prom_family_free(h);
	prom_family_free(g);
}

static void
test_histogram_render(void **state)
{
	static const char *const l[] = { "method", "path" };
	static const double b[] = { .005, .5, 2.5, 1e6 };
	const char *v1[] = { "GET", "/health" };
	const char *v2[] = { "GET", "/b" };
	struct prom_family *f;
	struct prom_series *s;
	char *out;

	(void)state;
	f = prom_family_new("t_seconds", "Durations.", PROM_HISTOGRAM, l, 2,
	    b, 4);
	s = prom_series_get(f, v1);
	prom_hist_observe(s, 0);
	prom_hist_observe(s, .005);	/* equal to a bound: in that bucket */
	prom_hist_observe(s, .0051);
	prom_hist_observe(s, 3);
	prom_hist_observe(s, 2e6);
	prom_observe(f, v2, 0.25);
	assert_int_equal(prom_hist_count(s), 5);
	out = render(f);
	assert_string_equal(out,
	    "# HELP t_seconds Durations.\n"
	    "# TYPE t_seconds histogram\n"
	    "t_seconds_bucket{method=\"GET\",path=\"/b\",le=\"0.005\"} 0\n"
	    "t_seconds_bucket{method=\"GET\",path=\"/b\",le=\"0.5\"} 1\n"
	    "t_seconds_bucket{method=\"GET\",path=\"/b\",le=\"2.5\"} 1\n"
	    "t_seconds_bucket{method=\"GET\",path=\"/b\",le=\"1e+06\"} 1\n"
	    "t_seconds_bucket{method=\"GET\",path=\"/b\",le=\"+Inf\"} 1\n"
	    "t_seconds_sum{method=\"GET\",path=\"/b\"} 0.25\n"
	    "t_seconds_count{method=\"GET\",path=\"/b\"} 1\n"
	    "t_seconds_bucket{method=\"GET\",path=\"/health\",le=\"0.005\"} 2\n"
	    "t_seconds_bucket{method=\"GET\",path=\"/health\",le=\"0.5\"} 3\n"
	    "t_seconds_bucket{method=\"GET\",path=\"/health\",le=\"2.5\"} 3\n"
	    "t_seconds_bucket{method=\"GET\",path=\"/health\",le=\"1e+06\"} 4\n"
	    "t_seconds_bucket{method=\"GET\",path=\"/health\",le=\"+Inf\"} 5\n"
	    "t_seconds_sum{method=\"GET\",path=\"/health\"} 2.0000030101e+06\n"
	    "t_seconds_count{method=\"GET\",path=\"/health\"} 5\n");
	free(out);
	prom_hist_observe(s, NAN);
	assert_int_equal(prom_hist_count(s), 6);
	assert_true(isnan(prom_hist_sum(s)));
	out = render(f);
	assert_non_null(strstr(out, "path=\"/health\",le=\"+Inf\"} 6\n"));
	assert_non_null(strstr(out, "t_seconds_sum{method=\"GET\","
	    "path=\"/health\"} NaN\n"));
	free(out);
	prom_family_free(f);
}

/* Values that differ only in invalid bytes map to one sanitized series. */
static void
test_invalid_utf8_series(void **state)
{
	static const char *const l[] = { "environment" };
	const char *a[] = { "env\xff" }, *b[] = { "env\xfe" },
	    *c[] = { "env" FFFD }, *n[] = { NULL }, *e[] = { "" };
	struct prom_family *f;
	char *out;

	(void)state;
	f = prom_family_new("t_total", "T.", PROM_COUNTER, l, 1, NULL, 0);
	prom_inc(f, a);
	prom_inc(f, b);
	prom_inc(f, c);
	prom_inc(f, n);
	prom_inc(f, e);
	assert_int_equal(prom_family_size(f), 2);
	out = render(f);
	assert_string_equal(out, "# HELP t_total T.\n# TYPE t_total counter\n"
	    "t_total{environment=\"\"} 2\n"
	    "t_total{environment=\"env" FFFD "\"} 3\n");
	free(out);
	prom_family_free(f);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Many series: the table grows, every series keeps its count, output is
 * sorted bytewise by the first label, then the second. */
static void
test_many_series_sorted(void **state)
{
	static const char *const l[] = { "app", "team" };
	char app[32], team[32], *lines[2000], *out, *p, *nl;
	struct prom_family *f;
	size_t n = 0, i;
	int k;

	(void)state;
	f = prom_family_new("t_runs_total", "Runs.", PROM_COUNTER, l, 2,
	    NULL, 0);
	for (k = 0; k < 2000; k++) {
		snprintf(app, sizeof(app), "app%d", k % 1000);
		snprintf(team, sizeof(team), "t%d", k / 1000);
		const char *v[] = { app, team };
		prom_inc(f, v);
		if (k % 3 == 0)
			prom_inc(f, v);
	}
	assert_int_equal(prom_family_size(f), 2000);
	for (k = 0; k < 2000; k++) {
		snprintf(app, sizeof(app), "app%d", k % 1000);
		snprintf(team, sizeof(team), "t%d", k / 1000);
		const char *v[] = { app, team };
		assert_int_equal(prom_counter_value(prom_series_get(f, v)),
		    k % 3 == 0 ? 2 : 1);
	}
	assert_int_equal(prom_family_size(f), 2000);
	out = render(f);
	p = strstr(out, "counter\n") + strlen("counter\n");
	for (; *p != '\0'; p = nl + 1) {
		nl = strchr(p, '\n');
		assert_non_null(nl);
		*nl = '\0';
		assert_true(n < 2000);
		lines[n++] = p;
	}
	assert_int_equal(n, 2000);
	for (i = 1; i < n; i++)
		assert_true(cmp_str(&lines[i - 1], &lines[i]) < 0);
	assert_string_equal(lines[0], "t_runs_total{app=\"app0\",team=\"t0\"} 2");
	assert_string_equal(lines[1], "t_runs_total{app=\"app0\",team=\"t1\"} 1");
	free(out);
	prom_family_free(f);
}

struct worker {
	struct prom_family *c, *h;
	int id;
};

static void *
work(void *arg)
{
	struct worker *w = arg;
	char name[16];
	int i;

	for (i = 0; i < 20000; i++) {
		snprintf(name, sizeof(name), "s%d", (i * 7 + w->id) % 64);
		const char *v[] = { name };
		prom_inc(w->c, v);
		prom_observe(w->h, v, (double)(i % 4));
	}
	return NULL;
}

/* Concurrent updates (inserting new label sets included) and a concurrent
 * render lose nothing. */
static void
test_concurrent(void **state)
{
	static const char *const l[] = { "s" };
	static const double b[] = { 1, 2 };
	struct worker w[4];
	pthread_t t[4];
	struct prom_series *s;
	uint64_t sum = 0, hsum = 0;
	double hsum_v = 0;
	char name[16], *out;
	int i, r;

	(void)state;
	w[0].c = prom_family_new("t_c_total", "C.", PROM_COUNTER, l, 1, NULL,
	    0);
	w[0].h = prom_family_new("t_h", "H.", PROM_HISTOGRAM, l, 1, b, 2);
	for (i = 0; i < 4; i++) {
		w[i].c = w[0].c;
		w[i].h = w[0].h;
		w[i].id = i;
		assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
	}
	for (r = 0; r < 5; r++) {
		out = render(w[0].c);
		free(out);
		out = render(w[0].h);
		free(out);
	}
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(prom_family_size(w[0].c), 64);
	for (i = 0; i < 64; i++) {
		snprintf(name, sizeof(name), "s%d", i);
		const char *v[] = { name };
		sum += prom_counter_value(prom_series_get(w[0].c, v));
		s = prom_series_get(w[0].h, v);
		hsum += prom_hist_count(s);
		hsum_v += prom_hist_sum(s);
	}
	assert_int_equal(sum, 80000);
	assert_int_equal(hsum, 80000);
	assert_true(hsum_v == 4 * 5000 * (0 + 1 + 2 + 3));
	prom_family_free(w[0].c);
	prom_family_free(w[0].h);
}

/* Runs promtool check metrics on text; returns its exit status, or -1 when
 * promtool is not installed. */
static int
promtool(const char *text)
{
	char path[] = "/tmp/test_prom_XXXXXX", cmd[128];
	FILE *fp;
	int fd, rc;

	if (access("/usr/bin/promtool", X_OK) != 0)
		return -1;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	fp = fdopen(fd, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
	snprintf(cmd, sizeof(cmd), "/usr/bin/promtool check metrics < %s 2>&1",
	    path);
	rc = system(cmd);
	unlink(path);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : 99;
}

static char *
metrics_text(const struct metrics_gauges *g)
{
	struct buf b;

	buf_init(&b, 1 << 24);
	assert_int_equal(metrics_render(&b, g), 0);
	return buf_take(&b);
}

static void
test_metrics_empty(void **state)
{
	char *out;

	(void)state;
	metrics_init();
	out = metrics_text(NULL);
	assert_string_equal(out, "");	/* every family is labelled */
	free(out);
	metrics_free();
}

static void
test_metrics_path_and_method(void **state)
{
	(void)state;
	assert_string_equal(metrics_path_label("/api/v1/runs/{run}/logs/stream"),
	    "/api/v1/runs/{run}/logs/stream");
	assert_string_equal(metrics_path_label("/api/v1/runs/lease"),
	    "/api/v1/runs/lease");
	assert_string_equal(metrics_path_label("/ui"), "/ui");
	assert_string_equal(metrics_path_label("/api/v1/runs/42"), "other");
	assert_string_equal(metrics_path_label("/nope"), "other");
	assert_string_equal(metrics_path_label(NULL), "other");
	assert_string_equal(method_label("PATCH"), "PATCH");
	assert_string_equal(method_label("get"), "other");
	assert_string_equal(method_label("BREW"), "other");
}

static void
test_metrics_http(void **state)
{
	char *out;

	(void)state;
	metrics_init();
	metrics_http("POST", "/api/v1/runs/lease", 204, 0.003, 120, 0);
	metrics_http("POST", "/api/v1/runs/lease", 204, 0.02, 0, 0);
	metrics_http("GET", "/health", 200, 0.001, 0, 15);
	metrics_http("BREW", "/api/v1/runs/77", 404, 0.001, -1, 80);
	out = metrics_text(NULL);
	assert_non_null(strstr(out,
	    "# HELP minitower_http_requests_total Total number of HTTP "
	    "requests by method, path pattern, and status code.\n"
	    "# TYPE minitower_http_requests_total counter\n"
	    "minitower_http_requests_total{method=\"GET\",path=\"/health\","
	    "status=\"200\"} 1\n"
	    "minitower_http_requests_total{method=\"POST\","
	    "path=\"/api/v1/runs/lease\",status=\"204\"} 2\n"
	    "minitower_http_requests_total{method=\"other\",path=\"other\","
	    "status=\"404\"} 1\n"
	    "# HELP minitower_http_request_duration_seconds HTTP request "
	    "duration in seconds by method and path pattern.\n"
	    "# TYPE minitower_http_request_duration_seconds histogram\n"
	    "minitower_http_request_duration_seconds_bucket{method=\"GET\","
	    "path=\"/health\",le=\"0.005\"} 1\n"));
	assert_non_null(strstr(out,
	    "minitower_http_request_duration_seconds_bucket{method=\"POST\","
	    "path=\"/api/v1/runs/lease\",le=\"0.025\"} 2\n"));
	assert_non_null(strstr(out,
	    "minitower_http_request_duration_seconds_bucket{method=\"POST\","
	    "path=\"/api/v1/runs/lease\",le=\"0.01\"} 1\n"));
	assert_non_null(strstr(out,
	    "minitower_http_request_duration_seconds_count{method=\"POST\","
	    "path=\"/api/v1/runs/lease\"} 2\n"));
	/* request size: only the one POST with a body */
	assert_non_null(strstr(out,
	    "# HELP minitower_http_request_size_bytes HTTP request body size "
	    "in bytes.\n# TYPE minitower_http_request_size_bytes histogram\n"
	    "minitower_http_request_size_bytes_bucket{method=\"POST\","
	    "path=\"/api/v1/runs/lease\",le=\"100\"} 0\n"
	    "minitower_http_request_size_bytes_bucket{method=\"POST\","
	    "path=\"/api/v1/runs/lease\",le=\"1000\"} 1\n"));
	assert_non_null(strstr(out, "minitower_http_request_size_bytes_count{"
	    "method=\"POST\",path=\"/api/v1/runs/lease\"} 1\n"));
	assert_null(strstr(out, "minitower_http_request_size_bytes_count{"
	    "method=\"GET\""));
	assert_non_null(strstr(out, "minitower_http_response_size_bytes_bucket{"
	    "method=\"other\",path=\"other\",le=\"1e+09\"} 1\n"));
	assert_non_null(strstr(out, "minitower_http_response_size_bytes_sum{"
	    "method=\"GET\",path=\"/health\"} 15\n"));
	assert_null(strstr(out, "minitower_http_response_size_bytes_count{"
	    "method=\"POST\""));
	assert_null(strstr(out, "minitower_runs_"));
	assert_int_equal(promtool(out) == -1 || promtool(out) == 0, 1);
	free(out);
	metrics_free();
}

static void
test_metrics_runs(void **state)
{
	char *out;

	(void)state;
	metrics_init();
	metrics_run_created("acme", "hello");
	metrics_run_created("acme", "hello");
	metrics_run_created("acme", "bye");
	metrics_run_completed("acme", "hello", "completed", 0.3, 1.5, 1.8);
	metrics_run_completed("acme", "hello", "cancelled", -1, -1, 0.05);
	metrics_run_completed("acme", "bye", "dead", -1, -1, -1);
	metrics_run_completed("acme", "bye", "failed", NAN, 2000, NAN);
	metrics_run_retried("acme", "bye");
	metrics_run_leased("default");
	metrics_run_leased("default");
	metrics_run_leased("gpu");
	metrics_runner_registered("default");
	out = metrics_text(NULL);
	assert_non_null(strstr(out,
	    "# HELP minitower_runs_created_total Total runs created, by team "
	    "and app.\n# TYPE minitower_runs_created_total counter\n"
	    "minitower_runs_created_total{app=\"bye\",team=\"acme\"} 1\n"
	    "minitower_runs_created_total{app=\"hello\",team=\"acme\"} 2\n"
	    "# HELP minitower_runs_completed_total Total runs completed, by "
	    "team, app, and terminal status.\n"
	    "# TYPE minitower_runs_completed_total counter\n"
	    "minitower_runs_completed_total{app=\"bye\",status=\"dead\","
	    "team=\"acme\"} 1\n"
	    "minitower_runs_completed_total{app=\"bye\",status=\"failed\","
	    "team=\"acme\"} 1\n"
	    "minitower_runs_completed_total{app=\"hello\",status=\"cancelled\","
	    "team=\"acme\"} 1\n"
	    "minitower_runs_completed_total{app=\"hello\",status=\"completed\","
	    "team=\"acme\"} 1\n"
	    "# HELP minitower_runs_retried_total Total runs re-queued by the "
	    "reaper, by team and app.\n"
	    "# TYPE minitower_runs_retried_total counter\n"
	    "minitower_runs_retried_total{app=\"bye\",team=\"acme\"} 1\n"
	    "# HELP minitower_runs_leased_total Total runs leased by runners, "
	    "by environment.\n# TYPE minitower_runs_leased_total counter\n"
	    "minitower_runs_leased_total{environment=\"default\"} 2\n"
	    "minitower_runs_leased_total{environment=\"gpu\"} 1\n"
	    "# HELP minitower_runners_registered_total Total runners "
	    "registered, by environment.\n"
	    "# TYPE minitower_runners_registered_total counter\n"
	    "minitower_runners_registered_total{environment=\"default\"} 1\n"
	    "# HELP minitower_run_queue_wait_seconds Time a run spent queued "
	    "(started_at - queued_at).\n"
	    "# TYPE minitower_run_queue_wait_seconds histogram\n"
	    "minitower_run_queue_wait_seconds_bucket{app=\"hello\","
	    "team=\"acme\",le=\"0.1\"} 0\n"
	    "minitower_run_queue_wait_seconds_bucket{app=\"hello\","
	    "team=\"acme\",le=\"0.2\"} 0\n"
	    "minitower_run_queue_wait_seconds_bucket{app=\"hello\","
	    "team=\"acme\",le=\"0.4\"} 1\n"));
	assert_non_null(strstr(out, "minitower_run_queue_wait_seconds_bucket{"
	    "app=\"hello\",team=\"acme\",le=\"1638.4\"} 1\n"
	    "minitower_run_queue_wait_seconds_bucket{app=\"hello\","
	    "team=\"acme\",le=\"+Inf\"} 1\n"
	    "minitower_run_queue_wait_seconds_sum{app=\"hello\",team=\"acme\"} "
	    "0.3\nminitower_run_queue_wait_seconds_count{app=\"hello\","
	    "team=\"acme\"} 1\n# HELP minitower_run_execution_seconds Run "
	    "execution duration (finished_at - started_at).\n"
	    "# TYPE minitower_run_execution_seconds histogram\n"
	    "minitower_run_execution_seconds_bucket{app=\"bye\","
	    "status=\"failed\",team=\"acme\",le=\"0.1\"} 0\n"));
	assert_non_null(strstr(out, "minitower_run_execution_seconds_bucket{"
	    "app=\"bye\",status=\"failed\",team=\"acme\",le=\"1638.4\"} 0\n"
	    "minitower_run_execution_seconds_bucket{app=\"bye\","
	    "status=\"failed\",team=\"acme\",le=\"+Inf\"} 1\n"));
	assert_non_null(strstr(out, "# HELP minitower_run_total_seconds Total "
	    "run duration (finished_at - queued_at).\n"
	    "# TYPE minitower_run_total_seconds histogram\n"
	    "minitower_run_total_seconds_bucket{app=\"hello\","
	    "status=\"cancelled\",team=\"acme\",le=\"0.1\"} 1\n"));
	assert_non_null(strstr(out, "minitower_run_total_seconds_count{"
	    "app=\"hello\",status=\"completed\",team=\"acme\"} 1\n"));
	/* skipped observations create no series */
	assert_null(strstr(out, "minitower_run_total_seconds_count{app=\"bye\""));
	assert_null(strstr(out, "minitower_run_execution_seconds_count{"
	    "app=\"hello\",status=\"cancelled\""));
	assert_null(strstr(out, "queue_wait_seconds_count{app=\"bye\""));
	assert_null(strstr(out, "minitower_http_"));
	assert_null(strstr(out, "minitower_runs_pending"));
	assert_int_equal(promtool(out) == -1 || promtool(out) == 0, 1);
	free(out);
	metrics_free();
}

static void
test_metrics_gauges(void **state)
{
	const struct metrics_pending_row p[] = {
		{ "acme", "hello", "default", 3 },
		{ "acme", "bye", "default", 0 },
		{ "beta", "app", "gpu\"1", 2 },
		{ "acme", "hello", "default", 1 },
		{ "acme", "bye", "env\xff", 4 },
	};
	const struct metrics_online_row o[] = {
		{ "gpu", 1 }, { "default", 2 }, { "idle", 0 },
	};
	const struct metrics_slots_row sl[] = {	/* environment, used, total */
		{ "gpu", 2, 1 }, { "default", 3, 4 },
	};
	const struct metrics_gauges g = { p, 5, o, 3, sl, 2, 0 };
	char *out;

	(void)state;
	metrics_init();
	out = metrics_text(&g);
	assert_string_equal(out,
	    "# HELP minitower_runs_pending Number of queued runs by team, app, "
	    "and environment.\n# TYPE minitower_runs_pending gauge\n"
	    "minitower_runs_pending{app=\"app\",environment=\"gpu\\\"1\","
	    "team=\"beta\"} 2\n"
	    "minitower_runs_pending{app=\"bye\",environment=\"env" FFFD "\","
	    "team=\"acme\"} 4\n"
	    "minitower_runs_pending{app=\"hello\",environment=\"default\","
	    "team=\"acme\"} 4\n"
	    "# HELP minitower_runners_online Number of online runners by "
	    "environment.\n# TYPE minitower_runners_online gauge\n"
	    "minitower_runners_online{environment=\"default\"} 2\n"
	    "minitower_runners_online{environment=\"gpu\"} 1\n"
	    "# HELP minitower_runner_slots Slots of online runners by environment and state "
	    "(used, free).\n# TYPE minitower_runner_slots gauge\n"
	    "minitower_runner_slots{environment=\"default\",state=\"free\"} 1\n"
	    "minitower_runner_slots{environment=\"default\",state=\"used\"} 3\n"
	    "minitower_runner_slots{environment=\"gpu\",state=\"free\"} 0\n"
	    "minitower_runner_slots{environment=\"gpu\",state=\"used\"} 2\n");
	assert_int_equal(promtool(out) == -1 || promtool(out) == 0, 1);
	free(out);
	metrics_free();
}

static void
test_metrics_span(void **state)
{
	(void)state;
	assert_true(metrics_span_s(1000, 2500) == 1.5);
	assert_true(metrics_span_s(1000, 1000) == 0);
	assert_true(metrics_span_s(2000, 1000) == -1);
	assert_true(metrics_span_s(-1, 1000) == -1);
	assert_true(metrics_span_s(1000, -1) == -1);
}

/* The full exposition (all families, odd label values) passes promtool. */
static void
test_metrics_promtool(void **state)
{
	const struct metrics_pending_row p[] = { { "t", "a", "e\n\\", 1 } };
	const struct metrics_online_row o[] = { { "x\xc3", 1 } };
	const struct metrics_slots_row sl[] = { { "x\xc3", 1, 4 } };
	const struct metrics_gauges g = { p, 1, o, 1, sl, 1, 0 };
	struct buf b;
	char *out;
	int rc;

	(void)state;
	metrics_init();
	metrics_http("GET", "/ui", 200, 12, 5, 5);
	metrics_http("DELETE", "/api/v1/tokens/{id}", 204, 0, 0, 0);
	metrics_run_created("t\"q", "a\\b");
	metrics_run_completed("t", "a", "completed", 1, 2, 3);
	metrics_run_completed("t", "a", "failed", 5000, 1e-9, 1e300);
	metrics_run_retried("t", "a");
	metrics_run_leased("e\n");
	metrics_runner_registered("");
	out = metrics_text(&g);
	rc = promtool(out);
	if (rc == -1)
		skip();
	assert_int_equal(rc, 0);
	assert_int_equal(promtool("# TYPE x counter\nx{a=\"1\" 2\n") != 0, 1);
	buf_init(&b, 100);
	assert_int_equal(metrics_render(&b, &g), -1);
	buf_free(&b);
	free(out);
	metrics_free();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fmt_double),
		cmocka_unit_test(test_fmt_double_roundtrip),
		cmocka_unit_test(test_escape_label),
		cmocka_unit_test(test_overflow),
		cmocka_unit_test(test_counter_render),
		cmocka_unit_test(test_unlabelled),
		cmocka_unit_test(test_histogram_render),
		cmocka_unit_test(test_invalid_utf8_series),
		cmocka_unit_test(test_many_series_sorted),
		cmocka_unit_test(test_concurrent),
		cmocka_unit_test(test_metrics_empty),
		cmocka_unit_test(test_metrics_path_and_method),
		cmocka_unit_test(test_metrics_http),
		cmocka_unit_test(test_metrics_runs),
		cmocka_unit_test(test_metrics_gauges),
		cmocka_unit_test(test_metrics_span),
		cmocka_unit_test(test_metrics_promtool),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
