/*
 * prom: generic Prometheus building blocks rendered in the text exposition
 * format 0.0.4. A family (counter, gauge or histogram) owns its series, one
 * per label set; updating an existing series is lock-free (atomics), and the
 * family's mutex is taken only when a new label set appears or to render.
 */
#ifndef MT_PROM_H
#define MT_PROM_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define PROM_MAX_LABELS 8
#define PROM_MAX_BUCKETS 32

enum prom_type {
	PROM_COUNTER,
	PROM_GAUGE,
	PROM_HISTOGRAM,
};

struct prom_family;
struct prom_series;

/* Creates a family. name and label names must be valid Prometheus names and
 * the label names must be given sorted (strictly ascending, bytewise), which
 * is also the order label values are passed in and printed in; "le" is not
 * allowed. bounds (histograms only) are the finite, strictly ascending upper
 * bucket bounds without +Inf (added implicitly); other types pass NULL, 0.
 * Violations are programmer errors and abort. All strings are copied.
 * Free with prom_family_free(). */
struct prom_family *prom_family_new(const char *name, const char *help,
    enum prom_type type, const char *const *labels, size_t nlabels,
    const double *bounds, size_t nbounds);
/* Releases a family and all its series; NULL is a no-op. No other thread
 * may use the family or a series of it any more. */
void prom_family_free(struct prom_family *f);

/* Returns the series of f for the label values (one per label name, in the
 * family's label order; NULL counts as ""), creating it on first use.
 * Invalid UTF-8 in a value is replaced by U+FFFD first, so values that only
 * differ in invalid bytes share a series. Lock-free when the series exists.
 * The pointer stays valid until the family is freed. */
struct prom_series *prom_series_get(struct prom_family *f,
    const char *const *values);

/* Adds n to a counter series (atomic). */
void prom_counter_add(struct prom_series *s, uint64_t n);
/* Adds delta to / sets a gauge series (atomic). */
void prom_gauge_add(struct prom_series *s, int64_t delta);
void prom_gauge_set(struct prom_series *s, int64_t v);
/* Records one observation in a histogram series: the first bucket whose
 * bound is >= v (else +Inf), the sum and the count. NaN goes to +Inf and
 * makes the sum NaN, as in other Prometheus clients. */
void prom_hist_observe(struct prom_series *s, double v);

/* Shorthands: look the series up (prom_series_get) and update it. */
void prom_inc(struct prom_family *f, const char *const *values);
void prom_observe(struct prom_family *f, const char *const *values, double v);

/* Current values, for tests and diagnostics: a counter's count, a gauge's
 * value, a histogram's observation count (the cumulative +Inf bucket). */
uint64_t prom_counter_value(const struct prom_series *s);
int64_t prom_gauge_value(const struct prom_series *s);
uint64_t prom_hist_count(const struct prom_series *s);
double prom_hist_sum(const struct prom_series *s);
/* Number of series the family holds. */
size_t prom_family_size(struct prom_family *f);

/* Appends the family to out: "# HELP", "# TYPE", then its series sorted by
 * label values (bytewise, in label order); a labelled family without series
 * appends nothing. Returns 0, or -1 when out overflowed. */
int prom_family_render(struct prom_family *f, struct buf *out);

/* Writes v in the shortest form that reads back as the same double, the way
 * Prometheus clients do (Go's 'g' with shortest precision: "0.005", "100",
 * "1e+06", "1638.4"); specials are "+Inf", "-Inf", "NaN". out needs at
 * least 32 bytes. Returns out. */
char *prom_fmt_double(double v, char *out, size_t outsz);

/* Appends s as an escaped label value: \ " and line feed escaped, invalid
 * UTF-8 replaced by U+FFFD. Returns 0 or -1 on overflow. */
int prom_escape_label(struct buf *out, const char *s);

#endif
