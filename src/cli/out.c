/*
 * out: everything minitower-cli writes (cli.md §3.2, §3.4): "error: ..."
 * lines, aligned tables, --json output re-indented token by token from the
 * server's own text, log lines made safe for terminals, and a small raw
 * JSON scanner that finds members and elements without re-encoding them.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "json.h"
#include "quote.h"
#include "util.h"

#define OUT_MAX	(64u * 1024 * 1024)

int
cli_fail(int code, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

int
exit_for_status(long status)
{
	switch (status) {
	case 401:
	case 403:
		return EXIT_AUTH;
	case 404:
		return EXIT_NOT_FOUND;
	case 409:
		return EXIT_CONFLICT;
	case 410:
		return EXIT_GONE;
	default:
		return EXIT_FAIL;
	}
}

const char *
q(const char *s)
{
	static char *ring[4];
	static int next;

	next = (next + 1) % 4;
	free(ring[next]);
	ring[next] = quote_go_str(s);
	return ring[next];
}

static void
indent(struct buf *out, int level)
{
	buf_addc(out, '\n');
	for (int i = 0; i < level; i++)
		buf_adds(out, "  ");
}

static bool
is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* The end of the string literal starting at p ('"'), or end. */
static const char *
string_end(const char *p, const char *end)
{
	for (p++; p < end; p++) {
		if (*p == '\\')
			p++;
		else if (*p == '"')
			return p + 1;
	}
	return end;
}

void
rawjson_indent(struct buf *out, const char *s, size_t n)
{
	const char *p = s, *end = s + n, *la;
	int level = 0;

	while (p < end) {
		char c = *p;

		if (is_ws(c)) {
			p++;
		} else if (c == '"') {
			la = string_end(p, end);
			buf_add(out, p, (size_t)(la - p));
			p = la;
		} else if (c == '{' || c == '[') {
			for (la = p + 1; la < end && is_ws(*la); la++)
				;
			buf_addc(out, c);
			if (la < end && *la == (c == '{' ? '}' : ']')) {
				buf_addc(out, *la);
				p = la + 1;
				continue;
			}
			indent(out, ++level);
			p++;
		} else if (c == '}' || c == ']') {
			indent(out, --level);
			buf_addc(out, c);
			p++;
		} else if (c == ',') {
			buf_addc(out, ',');
			indent(out, level);
			p++;
		} else if (c == ':') {
			buf_adds(out, ": ");
			p++;
		} else {
			buf_addc(out, c);
			p++;
		}
	}
	buf_addc(out, '\n');
}

void
out_json_text(const char *s, size_t n)
{
	struct buf b;

	buf_init(&b, OUT_MAX);
	rawjson_indent(&b, s, n);
	fwrite(b.data, 1, b.len, stdout);
	buf_free(&b);
}

void
out_json_take(json_t *v)
{
	struct buf b;

	buf_init(&b, OUT_MAX);
	json_encode(&b, v, NULL, false);
	out_json_text(buf_str(&b), b.len);
	buf_free(&b);
	json_decref(v);
}

char *
json_body_take(json_t *v)
{
	struct buf b;

	buf_init(&b, OUT_MAX);
	json_encode(&b, v, NULL, false);
	json_decref(v);
	if (b.data == NULL)
		return xstrdup("");
	return buf_take(&b);
}

void
table_init(struct table *t, const char *const *header, size_t ncols)
{
	memset(t, 0, sizeof(*t));
	t->ncols = ncols;
	table_row(t, header);
}

void
table_row(struct table *t, const char *const *cells)
{
	t->cells = xrealloc(t->cells, (t->nrows + 1) * t->ncols * sizeof(*t->cells));
	for (size_t i = 0; i < t->ncols; i++)
		t->cells[t->nrows * t->ncols + i] = xstrdup(cells[i] != NULL ? cells[i] : "");
	t->nrows++;
}

/* Display width: the number of UTF-8 code points. */
static size_t
width(const char *s)
{
	size_t w = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			w++;
	return w;
}

void
table_print(struct table *t)
{
	size_t *w = xcalloc(t->ncols, sizeof(*w));

	for (size_t r = 0; r < t->nrows; r++)
		for (size_t c = 0; c < t->ncols; c++)
			if (width(t->cells[r * t->ncols + c]) > w[c])
				w[c] = width(t->cells[r * t->ncols + c]);
	for (size_t r = 0; r < t->nrows; r++) {
		for (size_t c = 0; c < t->ncols; c++) {
			const char *cell = t->cells[r * t->ncols + c];

			fputs(cell, stdout);
			if (c + 1 < t->ncols)
				printf("%*s", (int)(w[c] - width(cell) + 2), "");
		}
		putchar('\n');
	}
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(w);
	memset(t, 0, sizeof(*t));
}

void
out_log_line(int64_t seq, const char *stream, const char *line, size_t len)
{
	static int tty = -1;

	if (tty == -1)
		tty = isatty(STDOUT_FILENO);
	printf("[%lld] ", (long long)seq);
	for (const char *s = stream; *s != '\0'; s++)
		putchar(*s >= 'a' && *s <= 'z' ? *s - 'a' + 'A' : *s);
	putchar(' ');
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];

		if (tty && ((c < 0x20 && c != '\t') || c == 0x7F))
			fputs("\xEF\xBF\xBD", stdout);
		else
			putchar(c);
	}
	putchar('\n');
	fflush(stdout);
}

static const char *
skip_ws(const char *p, const char *end)
{
	while (p < end && is_ws(*p))
		p++;
	return p;
}

const char *
rawjson_skip(const char *p, const char *end)
{
	int depth = 0;

	p = skip_ws(p, end);
	if (p >= end)
		return NULL;
	if (*p == '"')
		return string_end(p, end);
	if (*p != '{' && *p != '[') {
		while (p < end && !is_ws(*p) && *p != ',' && *p != ']' && *p != '}')
			p++;
		return p;
	}
	for (; p < end; p++) {
		if (*p == '"')
			p = string_end(p, end) - 1;
		else if (*p == '{' || *p == '[')
			depth++;
		else if ((*p == '}' || *p == ']') && --depth == 0)
			return p + 1;
	}
	return NULL;
}

int
rawjson_member(const char *p, const char *end, const char *key, const char **vs, const char **ve)
{
	size_t klen = strlen(key);

	p = skip_ws(p, end);
	if (p >= end || *p != '{')
		return -1;
	for (p++;;) {
		const char *ks, *ke;

		p = skip_ws(p, end);
		if (p >= end || *p != '"')
			return -1;
		ks = p + 1;
		ke = string_end(p, end) - 1;
		p = skip_ws(ke + 1, end);
		if (p >= end || *p != ':')
			return -1;
		*vs = skip_ws(p + 1, end);
		*ve = rawjson_skip(*vs, end);
		if (*ve == NULL)
			return -1;
		if ((size_t)(ke - ks) == klen && memcmp(ks, key, klen) == 0)
			return 0;
		p = skip_ws(*ve, end);
		if (p >= end || *p != ',')
			return -1;
		p++;
	}
}

int
rawjson_each(const char *p, const char *end,
    int (*fn)(void *arg, const char *s, const char *e), void *arg)
{
	p = skip_ws(p, end);
	if (p >= end || *p != '[')
		return 0;
	p = skip_ws(p + 1, end);
	if (p < end && *p == ']')
		return 0;
	while (p < end) {
		const char *s = skip_ws(p, end), *e = rawjson_skip(s, end);
		int rc;

		if (e == NULL)
			return 0;
		rc = fn(arg, s, e);
		if (rc != 0)
			return rc;
		p = skip_ws(e, end);
		if (p >= end || *p != ',')
			return 0;
		p++;
	}
	return 0;
}

const char *
jstr(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : "";
}

int64_t
jint(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	return json_is_number(v) ? (int64_t)json_number_value(v) : 0;
}

void
jtext(const json_t *o, const char *key, char *out, size_t outsz)
{
	const json_t *v = json_object_get(o, key);

	if (json_is_string(v))
		snprintf(out, outsz, "%s", json_string_value(v));
	else if (json_is_integer(v))
		snprintf(out, outsz, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		json_fmt_double(json_real_value(v), out, outsz);
	else if (json_is_boolean(v))
		snprintf(out, outsz, "%s", json_is_true(v) ? "true" : "false");
	else
		snprintf(out, outsz, "%s", "");
}
