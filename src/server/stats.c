/*
 * stats: the run statistics report (stats.h). The roll-ups hold durations
 * rounded down to two significant digits, so a percentile here is the
 * rounded value of the run at that rank: at most 10 % below the true one.
 */
#include <stdlib.h>
#include <string.h>

#include "stats.h"
#include "util.h"

static const char *const final_status[] = { "completed", "failed", "cancelled", "dead" };
#define NSTATUS 4

/* The (value, runs) pairs of one histogram kind within a bucket. */
struct hist {
	const struct stats_row **v;
	size_t n;
};

struct tally {
	int64_t		status[NSTATUS];
	struct hist	duration, wait;
};

static int
by_value(const void *a, const void *b)
{
	const struct stats_row *x = *(const struct stats_row *const *)a;
	const struct stats_row *y = *(const struct stats_row *const *)b;

	return x->value_ms < y->value_ms ? -1 : x->value_ms > y->value_ms;
}

/* The value at rank ceil(p * total) of the histogram (sorted here). */
static int64_t
percentile(struct hist *h, int64_t total, double p)
{
	int64_t want = (int64_t)(p * (double)total + 0.999999), seen = 0;
	size_t i;

	if (want < 1)
		want = 1;
	for (i = 0; i < h->n; i++)
		if ((seen += h->v[i]->runs) >= want)
			return h->v[i]->value_ms;
	return h->v[h->n - 1]->value_ms;
}

static void
put_percentiles(json_t *o, const char *key, struct hist *h)
{
	int64_t total = 0;
	size_t i;

	if (h->n == 0)
		return;
	qsort(h->v, h->n, sizeof(h->v[0]), by_value);
	for (i = 0; i < h->n; i++)
		total += h->v[i]->runs;
	json_object_set_new(o, key, json_pack("{sIsI}", "p50", (json_int_t)percentile(h, total, 0.50),
	    "p95", (json_int_t)percentile(h, total, 0.95)));
}

static void
tally_add(struct tally *t, const struct stats_row *r)
{
	size_t i;

	if (r->hist) {
		struct hist *h = strcmp(r->key, "wait") == 0 ? &t->wait : &t->duration;

		h->v[h->n++] = r;
		return;
	}
	for (i = 0; i < NSTATUS; i++)
		if (strcmp(r->key, final_status[i]) == 0)
			t->status[i] += r->runs;
}

/* {"runs","completed",..,"dead","success_rate","duration_ms","wait_ms"}. */
static json_t *
tally_json(json_t *o, struct tally *t)
{
	int64_t runs = 0, judged;
	size_t i;

	for (i = 0; i < NSTATUS; i++)
		runs += t->status[i];
	json_object_set_new(o, "runs", json_integer(runs));
	for (i = 0; i < NSTATUS; i++)
		json_object_set_new(o, final_status[i], json_integer(t->status[i]));
	judged = t->status[0] + t->status[1] + t->status[3];	/* cancelled is no verdict */
	if (judged > 0)
		json_object_set_new(o, "success_rate",
		    json_real((double)(t->status[0] * 10000 / judged) / 10000.0));
	put_percentiles(o, "duration_ms", &t->duration);
	put_percentiles(o, "wait_ms", &t->wait);
	return o;
}

static json_t *
time_json(int64_t ms)
{
	char ts[40];

	fmt_rfc3339_ms(ms, ts, sizeof(ts));
	return json_string(ts);
}

/* Fills t with rows[*i..] of hours before end; advances *i. */
static void
tally_bucket(struct tally *t, const struct stats_row *rows, size_t n, size_t *i, int64_t end)
{
	for (; *i < n && rows[*i].hour < end; (*i)++)
		tally_add(t, &rows[*i]);
}

json_t *
stats_report(const struct stats_row *rows, size_t n, const struct stats_range *r)
{
	const struct stats_row **pool = xcalloc(n * 2 + 2, sizeof(*pool));
	json_t *out = json_object(), *buckets = json_array();
	struct tally all, b;
	int64_t start;
	size_t i = 0, k;

	memset(&all, 0, sizeof(all));
	all.duration.v = pool;
	all.wait.v = pool + n + 1;
	for (k = 0; k < n; k++)
		tally_add(&all, &rows[k]);
	json_object_set_new(out, "bucket", json_string(r->bucket_ms == STATS_DAY_MS ? "day" : "hour"));
	json_object_set_new(out, "since", time_json(r->since_ms));
	json_object_set_new(out, "until", time_json(r->until_ms));
	json_object_set_new(out, "totals", tally_json(json_object(), &all));
	for (start = r->since_ms; start <= r->until_ms; start += r->bucket_ms) {
		memset(&b, 0, sizeof(b));
		b.duration.v = pool;
		b.wait.v = pool + n + 1;
		tally_bucket(&b, rows, n, &i, start + r->bucket_ms);
		json_array_append_new(buckets, tally_json(json_pack("{so}", "start", time_json(start)), &b));
	}
	json_object_set_new(out, "buckets", buckets);
	free(pool);
	return out;
}
