/*
 * cron: the parser of schedule expressions (docs/cron.md). It turns the
 * text into bit sets, one per field, or into a fixed interval for Tower's
 * "every N units"; every refusal names the field and the reason. Computing
 * fire times lives in cron_next.c, time zones in cron_tz.c.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cron.h"

#define EXPR_MAX	256	/* bytes; a longer expression is refused */
#define ITEM_MAX	64	/* bytes of one list item quoted in a message */

enum { F_SEC, F_MIN, F_HOUR, F_MDAY, F_MON, F_WDAY, F_COUNT };

struct field {
	const char		*name;
	int			 lo, hi;	/* the values allowed */
	int			 star_hi;	/* the end of '*' and 'a/n' */
	const char *const	*names;		/* 3-letter names, or NULL */
	int			 name_base;	/* the value of names[0] */
};

static const char *const month_names[] = {
	"jan", "feb", "mar", "apr", "may", "jun",
	"jul", "aug", "sep", "oct", "nov", "dec", NULL,
};
static const char *const day_names[] = {
	"sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL,
};

/* Day-of-week runs 0-7 as in Vixie cron and croniter, 7 being Sunday again:
 * '*' and 'a/n' reach 7 ('1/3' is 1,4,7 = Mon, Thu, Sun). */
static const struct field fields[F_COUNT] = {
	{ "second",	  0, 59, 59, NULL, 0 },
	{ "minute",	  0, 59, 59, NULL, 0 },
	{ "hour",	  0, 23, 23, NULL, 0 },
	{ "day-of-month", 1, 31, 31, NULL, 0 },
	{ "month",	  1, 12, 12, month_names, 1 },
	{ "day-of-week",  0, 7, 7, day_names, 0 },
};

struct macro {
	const char	*name;
	const char	*expr;
};

static const struct macro macros[] = {
	{ "@yearly", "0 0 1 1 *" },
	{ "@annually", "0 0 1 1 *" },
	{ "@monthly", "0 0 1 * *" },
	{ "@weekly", "0 0 * * 0" },
	{ "@daily", "0 0 * * *" },
	{ "@midnight", "0 0 * * *" },
	{ "@hourly", "0 * * * *" },
};

/* The units of "every N units", singular and plural, in seconds. */
struct unit {
	const char	*one, *many;
	int64_t		 secs;
};

static const struct unit units[] = {
	{ "minute", "minutes", 60 },
	{ "hour", "hours", 3600 },
	{ "day", "days", 86400 },
};

#define EVERY_MAX_S	(366 * 86400)	/* the longest interval of "every" */

static int
is_space(char ch)
{
	return ch == ' ' || ch == '\t';
}

static int
is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

static int
is_alpha(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

static char
lower(char ch)
{
	return ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
}

/* Case-insensitive comparison of s[0..n) with the NUL-terminated word. */
static int
word_eq(const char *s, size_t n, const char *word)
{
	size_t i;

	if (strlen(word) != n)
		return 0;
	for (i = 0; i < n; i++)
		if (lower(s[i]) != word[i])
			return 0;
	return 1;
}

/* Splits s into at most max whitespace-separated words; returns the number
 * of words found (which may exceed max: the rest are only counted). */
static int
split_words(const char *s, const char **w, size_t *wlen, int max)
{
	int n = 0;

	for (;;) {
		while (is_space(*s))
			s++;
		if (*s == '\0')
			return n;
		if (n < max) {
			w[n] = s;
			wlen[n] = 0;
		}
		while (*s != '\0' && !is_space(*s)) {
			if (n < max)
				wlen[n]++;
			s++;
		}
		n++;
	}
}

/* A refusal about one field: "cron: <field>: <reason>". */
static int field_err(struct err *err, const struct field *f, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
field_err(struct err *err, const struct field *f, const char *fmt, ...)
{
	char reason[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	return err_set(err, ERR_INVALID, "cron: %s: %s", f->name, reason);
}

/* The token s[0..n) is one of Quartz's extensions (L, W, LW, 5L, 15W)? */
static char
quartz_letter(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && is_digit(s[i]))
		i++;
	if (i < n && lower(s[i]) == 'l')
		return (i + 1 == n || (i + 2 == n && lower(s[i + 1]) == 'w')) ? 'L' : 0;
	if (i < n && lower(s[i]) == 'w')
		return i + 1 == n ? 'W' : 0;
	return 0;
}

/* Reads one value (a number or a name) at *p, advancing *p past it. */
static int
parse_value(const struct field *f, const char **p, int *out, struct err *err)
{
	const char *s = *p;
	size_t n = 0;
	int i, v = 0;

	while (is_digit(s[n]) || is_alpha(s[n]))
		n++;
	*p = s + n;
	if (n == 0)
		return field_err(err, f, "a value is missing");
	for (i = 0; f->names != NULL && f->names[i] != NULL; i++)
		if (word_eq(s, n, f->names[i])) {
			*out = f->name_base + i;
			return 0;
		}
	if (quartz_letter(s, n) != 0)
		return err_set(err, ERR_INVALID, "cron: %s: '%c' is not supported", f->name,
		    quartz_letter(s, n));
	for (i = 0; i < (int)n; i++) {
		if (!is_digit(s[i]))
			return field_err(err, f, "'%.*s' is not a number%s", (int)(n < ITEM_MAX ? n : ITEM_MAX),
			    s, f->names != NULL ? " or a name" : "");
		if (v < 100000)
			v = v * 10 + (s[i] - '0');
	}
	if (v < f->lo || v > f->hi)
		return field_err(err, f, "%.*s is out of range %d-%d", (int)(n < ITEM_MAX ? n : ITEM_MAX), s,
		    f->lo, f->hi);
	*out = v;
	return 0;
}

/* Reads the step after '/': a number from 1 to the field's span. */
static int
parse_step(const struct field *f, const char **p, int *out, struct err *err)
{
	const char *s = *p;
	int v = 0, span = f->star_hi - f->lo + 1;
	size_t n = 0;

	while (is_digit(s[n])) {
		if (v < 100000)
			v = v * 10 + (s[n] - '0');
		n++;
	}
	*p = s + n;
	if (n == 0)
		return field_err(err, f, "a step must be a number");
	if (v < 1 || v > span)
		return field_err(err, f, "step %d is out of range 1-%d", v, span);
	*out = v;
	return 0;
}

/* Parses the start of an item: '*', a value, or a range a-b. *single is
 * set for a lone value (which a step turns into a/n: a to the end). */
static int
parse_base(const struct field *f, const char **p, int *lo, int *hi, int *single, struct err *err)
{
	*single = 0;
	if (**p == '*') {
		(*p)++;
		*lo = f->lo;
		*hi = f->star_hi;
		return 0;
	}
	if (parse_value(f, p, lo, err) != 0)
		return -1;
	*hi = *lo;
	if (**p != '-') {
		*single = 1;
		return 0;
	}
	(*p)++;
	if (parse_value(f, p, hi, err) != 0)
		return -1;
	if (*hi < *lo)
		return field_err(err, f, "range %d-%d goes backwards", *lo, *hi);
	return 0;
}

/* The first character of the item that cannot belong to it, if any. */
static int
bad_char(const struct field *f, const char *item, size_t n, struct err *err)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (item[i] == '?' || item[i] == '#')
			return err_set(err, ERR_INVALID, "cron: %s: '%c' is not supported", f->name,
			    item[i]);
		if ((unsigned char)item[i] < 0x21 || (unsigned char)item[i] > 0x7e)
			return field_err(err, f, "unexpected byte 0x%02x", (unsigned char)item[i]);
	}
	return 0;
}

/* Parses one list item item[0..n) into the bit set *bits. */
static int
parse_item(const struct field *f, const char *item, size_t n, uint64_t *bits, struct err *err)
{
	char buf[ITEM_MAX + 1];
	const char *p = buf;
	int lo, hi, step = 1, single, v;

	if (n == 0)
		return field_err(err, f, "an item of the list is empty");
	if (bad_char(f, item, n, err) != 0)
		return -1;
	if (n > ITEM_MAX)
		return field_err(err, f, "the item '%.*s...' is too long", 16, item);
	memcpy(buf, item, n);
	buf[n] = '\0';
	if (parse_base(f, &p, &lo, &hi, &single, err) != 0)
		return -1;
	if (*p == '/') {
		p++;
		if (parse_step(f, &p, &step, err) != 0)
			return -1;
		if (single)
			hi = f->star_hi;	/* a/n: a to the end of the field */
	}
	if (*p != '\0')
		return field_err(err, f, "unexpected '%c' in '%s'", *p, buf);
	for (v = lo; v <= hi; v += step)
		*bits |= (uint64_t)1 << v;
	return 0;
}

/* Parses a whole field (a comma-separated list) into *bits. */
static int
parse_field(const struct field *f, const char *s, size_t n, uint64_t *bits, struct err *err)
{
	const char *comma;
	size_t len;

	*bits = 0;
	for (;;) {
		comma = memchr(s, ',', n);
		len = comma != NULL ? (size_t)(comma - s) : n;
		if (parse_item(f, s, len, bits, err) != 0)
			return -1;
		if (comma == NULL)
			return 0;
		s += len + 1;
		n -= len + 1;
	}
}

/* The most days month m (1-12) ever has. */
static int
month_max_days(int m)
{
	static const int days[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return days[m - 1];
}

/* With day-of-month and day-of-week AND-ed, some selected day-of-month must
 * exist in some selected month (weekdays rotate through every date). */
static int
check_fires(const struct cron *c, struct err *err)
{
	int m, d;

	if (!c->mday_star && !c->wday_star)
		return 0;	/* OR: every selected weekday comes round */
	for (m = 1; m <= 12; m++) {
		if (!(c->mon & (1u << m)))
			continue;
		for (d = 1; d <= month_max_days(m); d++)
			if (c->mday & (1u << d))
				return 0;
	}
	return err_set(err, ERR_INVALID, "cron: the expression can never fire: no selected month "
	    "has the selected day-of-month");
}

/* Parses five or six fields. */
static int
parse_fields(const char *expr, struct cron *c, struct err *err)
{
	const char *w[6];
	size_t wlen[6];
	uint64_t bits[F_COUNT];
	int n = split_words(expr, w, wlen, 6), i, first;

	if (n != 5 && n != 6)
		return err_set(err, ERR_INVALID, "cron: expected 5 or 6 fields, got %d", n);
	first = n == 5 ? F_MIN : F_SEC;
	bits[F_SEC] = 1;	/* five fields: second 0 */
	for (i = first; i < F_COUNT; i++)
		if (parse_field(&fields[i], w[i - first], wlen[i - first], &bits[i], err) != 0)
			return -1;
	c->sec = bits[F_SEC];
	c->min = bits[F_MIN];
	c->hour = (uint32_t)bits[F_HOUR];
	c->mday = (uint32_t)bits[F_MDAY];
	c->mon = (uint16_t)bits[F_MON];
	c->wday = (uint8_t)((bits[F_WDAY] | bits[F_WDAY] >> 7) & 0x7f);	/* 7 = Sunday */
	c->mday_star = w[F_MDAY - first][0] == '*';
	c->wday_star = w[F_WDAY - first][0] == '*';
	c->six = n == 6;
	return check_fires(c, err);
}

/* Parses the macro (the whole trimmed expression starts with '@'). */
static int
parse_macro(const char *s, size_t n, struct cron *c, struct err *err)
{
	size_t i;

	for (i = 0; i < sizeof(macros) / sizeof(macros[0]); i++)
		if (word_eq(s, n, macros[i].name))
			return parse_fields(macros[i].expr, c, err);
	if (word_eq(s, n, "@reboot"))
		return err_set(err, ERR_INVALID, "cron: @reboot is not supported");
	return err_set(err, ERR_INVALID, "cron: unknown macro '%.*s'", (int)(n < ITEM_MAX ? n : ITEM_MAX),
	    s);
}

/* Parses "every N minutes|hours|days" (also the singular units). */
static int
parse_every(const char *expr, struct cron *c, struct err *err)
{
	const char *w[3];
	size_t wlen[3], i;
	int64_t count = 0;

	if (split_words(expr, w, wlen, 3) != 3)
		return err_set(err, ERR_INVALID, "cron: every: expected 'every N minutes|hours|days'");
	for (i = 0; i < wlen[1]; i++) {
		if (!is_digit(w[1][i]))
			return err_set(err, ERR_INVALID, "cron: every: '%.*s' is not a number",
			    (int)(wlen[1] < ITEM_MAX ? wlen[1] : ITEM_MAX), w[1]);
		if (count <= EVERY_MAX_S)
			count = count * 10 + (w[1][i] - '0');
	}
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (!word_eq(w[2], wlen[2], units[i].one) && !word_eq(w[2], wlen[2], units[i].many))
			continue;
		if (count < 1 || count > EVERY_MAX_S / units[i].secs)
			return err_set(err, ERR_INVALID, "cron: every: %.*s %s is out of range 1-%"
			    PRId64, (int)(wlen[1] < ITEM_MAX ? wlen[1] : ITEM_MAX), w[1], units[i].many,
			    EVERY_MAX_S / units[i].secs);
		c->every_s = count * units[i].secs;
		return 0;
	}
	return err_set(err, ERR_INVALID, "cron: every: unknown unit '%.*s' (minutes, hours or days)",
	    (int)(wlen[2] < ITEM_MAX ? wlen[2] : ITEM_MAX), w[2]);
}

int
cron_parse(const char *expr, struct cron *c, struct err *err)
{
	const char *w[1];
	size_t wlen[1], len;
	int words;

	memset(c, 0, sizeof(*c));
	if (expr == NULL)
		return err_set(err, ERR_INVALID, "cron: the expression is empty");
	len = strnlen(expr, EXPR_MAX + 1);
	if (len > EXPR_MAX)
		return err_set(err, ERR_INVALID, "cron: the expression is longer than %d bytes", EXPR_MAX);
	words = split_words(expr, w, wlen, 1);
	if (words == 0)
		return err_set(err, ERR_INVALID, "cron: the expression is empty");
	if (w[0][0] == '@') {
		if (words != 1)
			return err_set(err, ERR_INVALID, "cron: a macro stands alone");
		return parse_macro(w[0], wlen[0], c, err);
	}
	if (word_eq(w[0], wlen[0], "every"))
		return parse_every(expr, c, err);
	return parse_fields(expr, c, err);
}
