/*
 * prom: Prometheus counter, gauge and histogram families and their text
 * rendering (exposition format 0.0.4). Series live in an open-addressing
 * table of atomic pointers: readers probe it without a lock; a writer that
 * inserts a new label set takes the family mutex and, when the table gets
 * half full, publishes a doubled copy (old tables stay alive until the family
 * is freed, so a reader never touches freed memory).
 */
#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prom.h"
#include "util.h"

struct prom_series {
	uint64_t		 hash;
	char			*values[PROM_MAX_LABELS];	/* valid UTF-8 */
	_Atomic uint64_t	 value;		/* counter; gauge as int64 bits */
	_Atomic uint64_t	 sum_bits;	/* histogram sum, double bits */
	const double		*bounds;	/* the family's, nbuckets - 1 */
	size_t			 nbuckets;	/* histogram: bounds + 1 (+Inf) */
	_Atomic uint64_t	 buckets[];	/* non-cumulative counts */
};

struct table {
	size_t			 mask;		/* size - 1, size a power of 2 */
	struct table		*retired;	/* older tables, freed with the family */
	_Atomic(struct prom_series *) slots[];
};

struct prom_family {
	char			*name;
	char			*help;
	enum prom_type		 type;
	size_t			 nlabels;
	char			*labels[PROM_MAX_LABELS];
	size_t			 nbounds;
	double			 bounds[PROM_MAX_BUCKETS];
	char			 le[PROM_MAX_BUCKETS][32];	/* bounds as printed */
	pthread_mutex_t		 mu;		/* inserts and rendering */
	_Atomic(struct table *)	 table;
	size_t			 count;		/* series, under mu */
};

static bool
valid_name(const char *s, bool colon)
{
	size_t i;

	if (s == NULL || s[0] == '\0' || (s[0] >= '0' && s[0] <= '9'))
		return false;
	for (i = 0; s[i] != '\0'; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_' || (colon && c == ':')))
			return false;
	}
	return true;
}

static struct table *
table_new(size_t size)
{
	struct table *t;
	size_t i;

	t = xmalloc(sizeof(*t) + size * sizeof(t->slots[0]));
	t->mask = size - 1;
	t->retired = NULL;
	for (i = 0; i < size; i++)
		atomic_init(&t->slots[i], NULL);
	return t;
}

struct prom_family *
prom_family_new(const char *name, const char *help, enum prom_type type,
    const char *const *labels, size_t nlabels, const double *bounds,
    size_t nbounds)
{
	struct prom_family *f;
	size_t i;

	assert(valid_name(name, true) && help != NULL);
	assert(nlabels <= PROM_MAX_LABELS && nbounds <= PROM_MAX_BUCKETS);
	assert(type == PROM_HISTOGRAM || nbounds == 0);
	f = xcalloc(1, sizeof(*f));
	f->name = xstrdup(name);
	f->help = xstrdup(help);
	f->type = type;
	f->nlabels = nlabels;
	for (i = 0; i < nlabels; i++) {
		assert(valid_name(labels[i], false));
		assert(strncmp(labels[i], "__", 2) != 0);
		assert(type != PROM_HISTOGRAM || strcmp(labels[i], "le") != 0);
		assert(i == 0 || strcmp(labels[i - 1], labels[i]) < 0);
		f->labels[i] = xstrdup(labels[i]);
	}
	f->nbounds = nbounds;
	for (i = 0; i < nbounds; i++) {
		assert(isfinite(bounds[i]));
		assert(i == 0 || bounds[i - 1] < bounds[i]);
		f->bounds[i] = bounds[i];
		prom_fmt_double(bounds[i], f->le[i], sizeof(f->le[i]));
	}
	pthread_mutex_init(&f->mu, NULL);
	atomic_init(&f->table, table_new(16));
	if (nlabels == 0)	/* the one series of an unlabelled family */
		(void)prom_series_get(f, NULL);
	return f;
}

static void
series_free(struct prom_series *s, size_t nlabels)
{
	size_t i;

	for (i = 0; i < nlabels; i++)
		free(s->values[i]);
	free(s);
}

void
prom_family_free(struct prom_family *f)
{
	struct table *t, *next;
	size_t i;

	if (f == NULL)
		return;
	t = atomic_load(&f->table);
	for (i = 0; i <= t->mask; i++) {
		struct prom_series *s = atomic_load(&t->slots[i]);
		if (s != NULL)
			series_free(s, f->nlabels);
	}
	for (; t != NULL; t = next) {
		next = t->retired;
		free(t);
	}
	for (i = 0; i < f->nlabels; i++)
		free(f->labels[i]);
	pthread_mutex_destroy(&f->mu);
	free(f->name);
	free(f->help);
	free(f);
}

/*
 * UTF-8 validation with WHATWG "maximal subpart" error handling: at s[0..n)
 * returns the length of a valid sequence (> 0, *bad false), or the number of
 * bytes one U+FFFD replaces (*bad true).
 */
static size_t
utf8_step(const unsigned char *s, size_t n, bool *bad)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t len, i;

	*bad = false;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else {
		*bad = true;
		return 1;
	}
	for (i = 1; i < len; i++) {
		if (i >= n || s[i] < lo || s[i] > hi) {
			*bad = true;
			return i;
		}
		lo = 0x80;
		hi = 0xbf;
	}
	return len;
}

static bool
utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), k;
	bool bad;

	while (n > 0) {
		k = utf8_step(p, n, &bad);
		if (bad)
			return false;
		p += k;
		n -= k;
	}
	return true;
}

/* A copy of s with every invalid subsequence replaced by U+FFFD. */
static char *
utf8_sanitize(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), k;
	struct buf b;
	bool bad;

	buf_init(&b, 3 * n + 1);
	while (n > 0) {
		k = utf8_step(p, n, &bad);
		if (bad)
			buf_adds(&b, "\xef\xbf\xbd");
		else
			buf_add(&b, p, k);
		p += k;
		n -= k;
	}
	buf_addc(&b, '\0');	/* make sure storage exists for "" */
	return buf_take(&b);
}

static uint64_t
hash_values(const char *const *v, size_t n)
{
	uint64_t h = 1469598103934665603ULL;
	const unsigned char *p;
	size_t i;

	for (i = 0; i < n; i++) {
		for (p = (const unsigned char *)v[i]; *p != '\0'; p++)
			h = (h ^ *p) * 1099511628211ULL;
		h = (h ^ 0xff) * 1099511628211ULL;
	}
	return h;
}

static struct prom_series *
table_find(struct table *t, uint64_t h, const char *const *v, size_t n)
{
	struct prom_series *s;
	size_t i, j;

	for (i = h & t->mask;; i = (i + 1) & t->mask) {
		s = atomic_load_explicit(&t->slots[i], memory_order_acquire);
		if (s == NULL)
			return NULL;
		if (s->hash != h)
			continue;
		for (j = 0; j < n && strcmp(s->values[j], v[j]) == 0; j++)
			;
		if (j == n)
			return s;
	}
}

static void
table_put(struct table *t, struct prom_series *s)
{
	size_t i;

	for (i = s->hash & t->mask;
	    atomic_load_explicit(&t->slots[i], memory_order_relaxed) != NULL;
	    i = (i + 1) & t->mask)
		;
	atomic_store_explicit(&t->slots[i], s, memory_order_release);
}

static struct prom_series *
series_new(const struct prom_family *f, uint64_t h, const char *const *v)
{
	size_t nb = f->type == PROM_HISTOGRAM ? f->nbounds + 1 : 0, i;
	struct prom_series *s;

	s = xmalloc(sizeof(*s) + nb * sizeof(s->buckets[0]));
	s->hash = h;
	for (i = 0; i < PROM_MAX_LABELS; i++)
		s->values[i] = i < f->nlabels ? xstrdup(v[i]) : NULL;
	atomic_init(&s->value, 0);
	atomic_init(&s->sum_bits, 0);	/* +0.0 */
	s->bounds = f->bounds;
	s->nbuckets = nb;
	for (i = 0; i < nb; i++)
		atomic_init(&s->buckets[i], 0);
	return s;
}

/* Slow path: under the mutex, find or insert; grow the table at half load. */
static struct prom_series *
insert(struct prom_family *f, uint64_t h, const char *const *v)
{
	struct table *t, *nt;
	struct prom_series *s;
	size_t i;

	pthread_mutex_lock(&f->mu);
	t = atomic_load_explicit(&f->table, memory_order_relaxed);
	s = table_find(t, h, v, f->nlabels);
	if (s != NULL)
		goto out;
	s = series_new(f, h, v);
	if ((f->count + 1) * 2 > t->mask + 1) {
		nt = table_new(2 * (t->mask + 1));
		for (i = 0; i <= t->mask; i++) {
			struct prom_series *o = atomic_load_explicit(
			    &t->slots[i], memory_order_relaxed);
			if (o != NULL)
				table_put(nt, o);
		}
		nt->retired = t;
		table_put(nt, s);
		atomic_store_explicit(&f->table, nt, memory_order_release);
	} else
		table_put(t, s);
	f->count++;
out:
	pthread_mutex_unlock(&f->mu);
	return s;
}

struct prom_series *
prom_series_get(struct prom_family *f, const char *const *values)
{
	const char *v[PROM_MAX_LABELS];
	char *fixed[PROM_MAX_LABELS] = { NULL };
	struct prom_series *s;
	struct table *t;
	uint64_t h;
	size_t i;

	for (i = 0; i < f->nlabels; i++) {
		v[i] = values[i] != NULL ? values[i] : "";
		if (!utf8_valid(v[i]))
			v[i] = fixed[i] = utf8_sanitize(v[i]);
	}
	h = hash_values(v, f->nlabels);
	t = atomic_load_explicit(&f->table, memory_order_acquire);
	s = table_find(t, h, v, f->nlabels);
	if (s == NULL)
		s = insert(f, h, v);
	for (i = 0; i < f->nlabels; i++)
		free(fixed[i]);
	return s;
}

void
prom_counter_add(struct prom_series *s, uint64_t n)
{
	atomic_fetch_add_explicit(&s->value, n, memory_order_relaxed);
}

void
prom_gauge_add(struct prom_series *s, int64_t delta)
{
	atomic_fetch_add_explicit(&s->value, (uint64_t)delta,
	    memory_order_relaxed);
}

void
prom_gauge_set(struct prom_series *s, int64_t v)
{
	atomic_store_explicit(&s->value, (uint64_t)v, memory_order_relaxed);
}

static uint64_t
dbl_bits(double d)
{
	uint64_t u;

	memcpy(&u, &d, sizeof(u));
	return u;
}

static double
bits_dbl(uint64_t u)
{
	double d;

	memcpy(&d, &u, sizeof(d));
	return d;
}

void
prom_hist_observe(struct prom_series *s, double v)
{
	size_t lo = 0, hi, mid;
	uint64_t old, new;

	assert(s->nbuckets > 0);
	/* First bound >= v; NaN compares false everywhere and lands in +Inf. */
	hi = s->nbuckets - 1;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (v <= s->bounds[mid])
			hi = mid;
		else
			lo = mid + 1;
	}
	if (isnan(v))
		lo = s->nbuckets - 1;
	atomic_fetch_add_explicit(&s->buckets[lo], 1, memory_order_relaxed);
	old = atomic_load_explicit(&s->sum_bits, memory_order_relaxed);
	do
		new = dbl_bits(bits_dbl(old) + v);
	while (!atomic_compare_exchange_weak_explicit(&s->sum_bits, &old, new,
	    memory_order_relaxed, memory_order_relaxed));
}

void
prom_inc(struct prom_family *f, const char *const *values)
{
	prom_counter_add(prom_series_get(f, values), 1);
}

void
prom_observe(struct prom_family *f, const char *const *values, double v)
{
	prom_hist_observe(prom_series_get(f, values), v);
}

uint64_t
prom_counter_value(const struct prom_series *s)
{
	return atomic_load_explicit(&s->value, memory_order_relaxed);
}

int64_t
prom_gauge_value(const struct prom_series *s)
{
	return (int64_t)atomic_load_explicit(&s->value, memory_order_relaxed);
}

uint64_t
prom_hist_count(const struct prom_series *s)
{
	uint64_t n = 0;
	size_t i;

	for (i = 0; i < s->nbuckets; i++)
		n += atomic_load_explicit(&s->buckets[i], memory_order_relaxed);
	return n;
}

double
prom_hist_sum(const struct prom_series *s)
{
	return bits_dbl(atomic_load_explicit(&s->sum_bits,
	    memory_order_relaxed));
}

size_t
prom_family_size(struct prom_family *f)
{
	size_t n;

	pthread_mutex_lock(&f->mu);
	n = f->count;
	pthread_mutex_unlock(&f->mu);
	return n;
}

/* The decimal exponent of a "%e"-formatted number. */
static int
exp_of(const char *e)
{
	const char *p = strchr(e, 'e');
	int64_t x = 0;

	if (p != NULL)
		(void)parse_i64(p + 1, &x);
	return (int)x;
}

char *
prom_fmt_double(double v, char *out, size_t outsz)
{
	char e[40];
	int prec, exp;

	if (isnan(v))
		snprintf(out, outsz, "NaN");
	else if (isinf(v))
		snprintf(out, outsz, "%s", v > 0 ? "+Inf" : "-Inf");
	else if (v == 0)
		snprintf(out, outsz, "%s", signbit(v) ? "-0" : "0");
	else {
		/* Fewest significant digits that read back exactly. */
		for (prec = 1; prec < 17; prec++) {
			snprintf(e, sizeof(e), "%.*e", prec - 1, v);
			if (strtod(e, NULL) == v)
				break;
		}
		snprintf(e, sizeof(e), "%.*e", prec - 1, v);
		exp = exp_of(e);
		if (exp < -4 || exp >= 6)
			snprintf(out, outsz, "%s", e);
		else
			snprintf(out, outsz, "%.*f",
			    prec - 1 - exp > 0 ? prec - 1 - exp : 0, v);
	}
	return out;
}

int
prom_escape_label(struct buf *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), k;
	bool bad;

	while (n > 0) {
		k = utf8_step(p, n, &bad);
		if (bad)
			buf_adds(out, "\xef\xbf\xbd");
		else if (*p == '\\')
			buf_adds(out, "\\\\");
		else if (*p == '"')
			buf_adds(out, "\\\"");
		else if (*p == '\n')
			buf_adds(out, "\\n");
		else
			buf_add(out, p, k);
		p += k;
		n -= k;
	}
	return buf_ok(out) ? 0 : -1;
}

/* HELP text escaping: backslash and line feed. */
static void
escape_help(struct buf *out, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\')
			buf_adds(out, "\\\\");
		else if (*s == '\n')
			buf_adds(out, "\\n");
		else
			buf_addc(out, *s);
	}
}

/* One sample line: name[suffix]{labels[,le="bound"]} value, where labels
 * is the series' pre-rendered label list ("" for none). */
static void
sample(struct buf *out, const struct prom_family *f, const char *labels,
    const char *suffix, const char *le, const char *value)
{
	buf_adds(out, f->name);
	buf_adds(out, suffix);
	if (labels[0] != '\0' || le != NULL) {
		buf_addc(out, '{');
		buf_adds(out, labels);
		if (le != NULL)
			buf_addf(out, "%sle=\"%s\"", labels[0] != '\0' ? "," : "",
			    le);
		buf_addc(out, '}');
	}
	buf_addc(out, ' ');
	buf_adds(out, value);
	buf_addc(out, '\n');
}

/* Writes the series' labels, escaped, as name="value",... into lb. */
static void
render_labels(struct buf *lb, const struct prom_family *f,
    const struct prom_series *s)
{
	size_t i;

	buf_reset(lb);
	for (i = 0; i < f->nlabels; i++) {
		buf_addf(lb, "%s%s=\"", i > 0 ? "," : "", f->labels[i]);
		prom_escape_label(lb, s->values[i]);
		buf_addc(lb, '"');
	}
}

static void
render_hist(struct buf *out, const struct prom_family *f,
    const struct prom_series *s, const char *labels)
{
	char val[40];
	uint64_t cum = 0;
	size_t i;

	for (i = 0; i < s->nbuckets; i++) {
		cum += atomic_load_explicit(&s->buckets[i],
		    memory_order_relaxed);
		snprintf(val, sizeof(val), "%" PRIu64, cum);
		sample(out, f, labels, "_bucket",
		    i < f->nbounds ? f->le[i] : "+Inf", val);
	}
	sample(out, f, labels, "_sum", NULL,
	    prom_fmt_double(prom_hist_sum(s), val, sizeof(val)));
	snprintf(val, sizeof(val), "%" PRIu64, cum);
	sample(out, f, labels, "_count", NULL, val);
}

static int
series_cmp(const void *a, const void *b, void *arg)
{
	size_t nlabels = *(const size_t *)arg;
	const struct prom_series *x = *(struct prom_series *const *)a;
	const struct prom_series *y = *(struct prom_series *const *)b;
	size_t i;
	int c;

	for (i = 0; i < nlabels; i++) {
		c = strcmp(x->values[i], y->values[i]);
		if (c != 0)
			return c;
	}
	return 0;
}

/* The family's series, sorted for printing; *n gets their number. */
static struct prom_series **
snapshot(struct prom_family *f, size_t *n)
{
	struct prom_series **v, *s;
	struct table *t;
	size_t i, k = 0;

	pthread_mutex_lock(&f->mu);
	t = atomic_load_explicit(&f->table, memory_order_relaxed);
	v = xmalloc((f->count + 1) * sizeof(*v));
	for (i = 0; i <= t->mask; i++) {
		s = atomic_load_explicit(&t->slots[i], memory_order_relaxed);
		if (s != NULL)
			v[k++] = s;
	}
	pthread_mutex_unlock(&f->mu);
	qsort_r(v, k, sizeof(*v), series_cmp, &f->nlabels);
	*n = k;
	return v;
}

int
prom_family_render(struct prom_family *f, struct buf *out)
{
	static const char *const types[] = { "counter", "gauge", "histogram" };
	struct prom_series **v;
	struct buf lb;
	char val[40];
	size_t n, i;

	v = snapshot(f, &n);
	buf_init(&lb, out->max);
	if (n == 0)
		goto out;
	buf_addf(out, "# HELP %s ", f->name);
	escape_help(out, f->help);
	buf_addf(out, "\n# TYPE %s %s\n", f->name, types[f->type]);
	for (i = 0; i < n && buf_ok(out); i++) {
		render_labels(&lb, f, v[i]);
		if (!buf_ok(&lb)) {
			out->overflow = true;
			break;
		}
		if (f->type == PROM_HISTOGRAM) {
			render_hist(out, f, v[i], buf_str(&lb));
			continue;
		}
		if (f->type == PROM_GAUGE)
			snprintf(val, sizeof(val), "%" PRId64,
			    prom_gauge_value(v[i]));
		else
			snprintf(val, sizeof(val), "%" PRIu64,
			    prom_counter_value(v[i]));
		sample(out, f, buf_str(&lb), "", NULL, val);
	}
out:
	buf_free(&lb);
	free(v);
	return buf_ok(out) ? 0 : -1;
}
