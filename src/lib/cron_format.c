/*
 * cron_format: the canonical text of a parsed expression (cron.h), for
 * display and to compare two expressions. It is derived from the bit sets
 * alone, so any spelling of the same schedule gives the same text.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "cron.h"

struct span {
	int	lo, hi;		/* the values of the field */
	int	star_hi;	/* the end of '*' and '*' steps (7 for weekdays) */
	int	day;		/* a day field: its leading '*' matters */
};

static const struct span spans[] = {
	{ 0, 59, 59, 0 },	/* second */
	{ 0, 59, 59, 0 },	/* minute */
	{ 0, 23, 23, 0 },	/* hour */
	{ 1, 31, 31, 1 },	/* day-of-month */
	{ 1, 12, 12, 0 },	/* month */
	{ 0, 6, 7, 1 },		/* day-of-week (7 folds onto 0) */
};

/* The bits of lo, lo+step, ... up to star_hi, with 7 folded onto 0 for
 * weekdays. */
static uint64_t
step_bits(const struct span *s, int step)
{
	uint64_t b = 0;
	int v;

	for (v = s->lo; v <= s->star_hi; v += step)
		b |= (uint64_t)1 << (v > s->hi ? 0 : v);
	return b;
}

/* Appends the values of bits as a list with runs of three or more as
 * ranges ("1-5,7,9"). */
static void
add_list(struct buf *b, const struct span *s, uint64_t bits, int first)
{
	int v = s->lo, end;

	for (; v <= s->hi; v++) {
		if (!(bits >> v & 1))
			continue;
		for (end = v; end + 1 <= s->hi && (bits >> (end + 1) & 1); end++)
			;
		if (end - v >= 2) {
			buf_addf(b, "%s%d-%d", first ? "" : ",", v, end);
			v = end;
		} else {
			buf_addf(b, "%s%d", first ? "" : ",", v);
		}
		first = 0;
	}
}

/* A field written with a leading '*': "*", or "*\/n" for the smallest step
 * whose values it all has, then what else it selects. */
static void
add_star(struct buf *b, const struct span *s, uint64_t bits)
{
	uint64_t all = step_bits(s, 1), sb = all;
	int step;

	if (bits == all) {
		buf_add(b, "*", 1);
		return;
	}
	for (step = 2; step <= s->star_hi - s->lo + 1; step++) {
		sb = step_bits(s, step);
		if ((sb & bits) == sb)
			break;
	}
	buf_addf(b, "*/%d", step);
	add_list(b, s, bits & ~sb, 0);
}

/* The step n >= 2 whose '*' values are exactly bits (two or more), or 0. */
static int
exact_step(const struct span *s, uint64_t bits)
{
	int step;

	if (__builtin_popcountll(bits) < 2)
		return 0;
	for (step = 2; step <= s->star_hi - s->lo + 1; step++)
		if (step_bits(s, step) == bits)
			return step;
	return 0;
}

/* One field: a day field keeps its leading '*' or its lack of one (the OR
 * rule depends on it); any other field is written the shortest way. */
static void
add_field(struct buf *b, int i, uint64_t bits, int star)
{
	const struct span *s = &spans[i];
	int step = exact_step(s, bits);

	if (b->len > 0)
		buf_add(b, " ", 1);
	if (s->day ? star : (bits == step_bits(s, 1) || step != 0))
		add_star(b, s, bits);
	else if (step != 0 && __builtin_popcountll(bits) > 2)
		buf_addf(b, "%d-%d/%d", s->lo, 63 - __builtin_clzll(bits), step);
	else
		add_list(b, s, bits, 1);
}

static void
add_every(struct buf *b, int64_t every_s)
{
	if (every_s % 86400 == 0)
		buf_addf(b, "every %" PRId64 " days", every_s / 86400);
	else if (every_s % 3600 == 0)
		buf_addf(b, "every %" PRId64 " hours", every_s / 3600);
	else
		buf_addf(b, "every %" PRId64 " minutes", every_s / 60);
}

void
cron_format(const struct cron *c, char *out, size_t outsz)
{
	struct buf b;

	buf_init(&b, CRON_FORMAT_MAX);
	if (c->every_s > 0) {
		add_every(&b, c->every_s);
	} else {
		if (c->six)
			add_field(&b, 0, c->sec, 0);
		add_field(&b, 1, c->min, 0);
		add_field(&b, 2, c->hour, 0);
		add_field(&b, 3, c->mday, c->mday_star);
		add_field(&b, 4, c->mon, 0);
		add_field(&b, 5, c->wday, c->wday_star);
	}
	snprintf(out, outsz, "%s", buf_str(&b));
	buf_free(&b);
}
