/*
 * json: decoding and encoding with MiniTower's wire rules (api.md §0.3,
 * §0.4). jansson parses and holds values; the encoder is our own because the
 * contract (escaping of <>&, shortest doubles, sorted free-form maps inside
 * ordered fixed-shape objects) is stricter than jansson's dumper.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "util.h"

#define JSON_MAX_DEPTH 512

/* Decodes one UTF-8 sequence of len bytes at u (avail bytes available);
 * rejects overlong forms, surrogates and values above U+10FFFF. */
static int
utf8_decode(const unsigned char *u, size_t avail, size_t len, unsigned *cp)
{
	static const unsigned min[] = { 0, 0, 0x80, 0x800, 0x10000 };
	unsigned v;
	size_t i;

	if (len > avail)
		return -1;
	v = u[0] & (0xff >> (len + 1));
	for (i = 1; i < len; i++) {
		if ((u[i] & 0xc0) != 0x80)
			return -1;
		v = (v << 6) | (u[i] & 0x3f);
	}
	if (v < min[len] || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return -1;
	*cp = v;
	return 0;
}

static int
depth_ok(const json_t *v, int depth)
{
	const char *k;
	json_t *x;
	size_t i;

	if (depth > JSON_MAX_DEPTH)
		return 0;
	if (json_is_object(v)) {
		json_object_foreach((json_t *)(uintptr_t)v, k, x)
			if (!depth_ok(x, depth + 1))
				return 0;
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, x)
			if (!depth_ok(x, depth + 1))
				return 0;
	}
	return 1;
}

/* A copy of data[0..len) in which every integer literal outside int64 range
 * (outside strings) has ".0" appended, so that jansson reads it as the double
 * it stands for: our encoder writes integral doubles up to 1e21 without a
 * fraction (api.md §0.3), and what it writes must decode again. */
static void
widen_big_ints(const char *data, size_t len, struct buf *out)
{
	size_t i = 0, j;
	int64_t v;

	while (i < len) {
		if (data[i] == '"') {
			for (j = i + 1; j < len && data[j] != '"'; j++)
				if (data[j] == '\\')
					j++;
			j = j < len ? j + 1 : len;
		} else if (data[i] == '-' || isdigit((unsigned char)data[i])) {
			for (j = i + 1; j < len && isdigit((unsigned char)data[j]); j++)
				;
			if (j < len && strchr(".eE", data[j]) != NULL)
				while (j < len && strchr(".eE+-0123456789", data[j]) != NULL)
					j++;
			else if (parse_i64n(data + i, j - i, &v) == -2) {
				buf_add(out, data + i, j - i);
				buf_adds(out, ".0");
				i = j;
				continue;
			}
		} else {
			j = i + 1;
		}
		buf_add(out, data + i, j - i);
		i = j;
	}
}

static json_t *
load(const char *data, size_t len)
{
	size_t flags = JSON_DECODE_ANY | JSON_DISABLE_EOF_CHECK | JSON_ALLOW_NUL;
	json_error_t jerr;
	struct buf wide;
	json_t *v = json_loadb(data, len, flags, &jerr);

	if (v != NULL || json_error_code(&jerr) != json_error_numeric_overflow)
		return v;
	buf_init(&wide, 2 * len + 16);
	widen_big_ints(data, len, &wide);
	if (buf_ok(&wide))
		v = json_loadb(buf_str(&wide), wide.len, flags, &jerr);
	buf_free(&wide);
	return v;
}

int
json_decode(const char *data, size_t len, bool empty_ok, json_t **out)
{
	json_t *v;
	size_t i;

	*out = NULL;
	for (i = 0; i < len && isspace((unsigned char)data[i]); i++)
		;
	if (i == len) {
		if (!empty_ok)
			return -1;
		*out = json_object();
		return 0;
	}
	v = load(data, len);
	if (v == NULL)
		return -1;
	if (!depth_ok(v, 1)) {
		json_decref(v);
		return -1;
	}
	if (json_is_null(v)) {
		json_decref(v);
		v = json_object();
	}
	json_order_last_keys(data + i, len - i, v);
	*out = v;
	return 0;
}

json_t *
json_field(const json_t *o, const char *name)
{
	const char *k;
	json_t *x, *found = NULL;

	if (!json_is_object(o))
		return NULL;
	json_object_foreach((json_t *)(uintptr_t)o, k, x) {
		if (ascii_casecmp(k, name) == 0 && strlen(k) == strlen(name))
			found = x;
	}
	if (found != NULL && json_is_null(found))
		return NULL;
	return found;
}

int
json_get_str(const json_t *o, const char *name, const char **s, size_t *len)
{
	json_t *v = json_field(o, name);

	if (v == NULL)
		return 0;
	if (!json_is_string(v))
		return -1;
	*s = json_string_value(v);
	if (len != NULL)
		*len = json_string_length(v);
	return 1;
}

int
json_get_int(const json_t *o, const char *name, int64_t *v)
{
	json_t *x = json_field(o, name);

	if (x == NULL)
		return 0;
	if (!json_is_integer(x))
		return -1;
	*v = json_integer_value(x);
	return 1;
}

void
json_fmt_double(double d, char *out, size_t outsz)
{
	char tmp[64], digits[32];
	int prec, exp, nd = 0, i;
	const char *p;
	struct buf b;

	if (d == 0 || !isfinite(d)) {
		snprintf(out, outsz, "0");
		return;
	}
	for (prec = 1; prec <= 17; prec++) {	/* shortest round trip */
		snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, d);
		if (strtod(tmp, NULL) == d)
			break;
	}
	for (p = tmp; *p != 'e'; p++)
		if (isdigit((unsigned char)*p))
			digits[nd++] = *p;
	digits[nd] = '\0';
	while (nd > 1 && digits[nd - 1] == '0')
		digits[--nd] = '\0';
	exp = (int)strtol(p + 1, NULL, 10);
	buf_init(&b, 64);
	if (d < 0)
		buf_addc(&b, '-');
	if (fabs(d) < 1e-6 || fabs(d) >= 1e21) {
		buf_addc(&b, digits[0]);
		if (nd > 1)
			buf_addf(&b, ".%s", digits + 1);
		buf_addf(&b, "e%c%d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
	} else if (exp < 0) {
		buf_adds(&b, "0.");
		for (i = -1; i > exp; i--)
			buf_addc(&b, '0');
		buf_adds(&b, digits);
	} else {
		for (i = 0; i <= exp || i < nd; i++) {
			if (i == exp + 1)
				buf_addc(&b, '.');
			buf_addc(&b, i < nd ? digits[i] : '0');
		}
	}
	snprintf(out, outsz, "%s", buf_str(&b));
	buf_free(&b);
}

int
json_encode_str(struct buf *b, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

	buf_addc(b, '"');
	while (i < n) {
		unsigned c = u[i];
		size_t len;
		unsigned cp;

		if (c < 0x80) {
			switch (c) {
			case '"': buf_adds(b, "\\\""); break;
			case '\\': buf_adds(b, "\\\\"); break;
			case '\n': buf_adds(b, "\\n"); break;
			case '\r': buf_adds(b, "\\r"); break;
			case '\t': buf_adds(b, "\\t"); break;
			case '<': case '>': case '&':
				buf_addf(b, "\\u%04x", c);
				break;
			default:
				if (c < 0x20)
					buf_addf(b, "\\u%04x", c);
				else
					buf_addc(b, (char)c);
			}
			i++;
			continue;
		}
		len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 0;
		if (len == 0 || utf8_decode(u + i, n - i, len, &cp) == -1) {
			buf_adds(b, "\xef\xbf\xbd");	/* U+FFFD */
			i++;
			continue;
		}
		if (cp == 0x2028 || cp == 0x2029)
			buf_addf(b, "\\u%04x", cp);
		else
			buf_add(b, s + i, len);
		i += len;
	}
	return buf_addc(b, '"');
}

struct kv {
	const char *key;
	json_t *val;
};

static int
kv_cmp(const void *a, const void *b)
{
	return strcmp(((const struct kv *)a)->key, ((const struct kv *)b)->key);
}

static bool
is_freeform(const char *key, const char *const *freeform)
{
	for (; freeform != NULL && *freeform != NULL; freeform++)
		if (strcmp(key, *freeform) == 0)
			return true;
	return false;
}

static int encode(struct buf *b, const json_t *v, const char *const *ff, bool sorted);

static int
encode_object(struct buf *b, const json_t *v, const char *const *ff, bool sorted)
{
	size_t n = json_object_size(v), i = 0;
	struct kv *kvs = xcalloc(n ? n : 1, sizeof(*kvs));
	const char *k;
	json_t *x;

	json_object_foreach((json_t *)(uintptr_t)v, k, x) {
		kvs[i].key = k;
		kvs[i++].val = x;
	}
	if (sorted)
		qsort(kvs, n, sizeof(*kvs), kv_cmp);
	buf_addc(b, '{');
	for (i = 0; i < n; i++) {
		if (i > 0)
			buf_addc(b, ',');
		json_encode_str(b, kvs[i].key, strlen(kvs[i].key));
		buf_addc(b, ':');
		encode(b, kvs[i].val, ff, sorted || is_freeform(kvs[i].key, ff));
	}
	free(kvs);
	return buf_addc(b, '}');
}

static int
encode(struct buf *b, const json_t *v, const char *const *ff, bool sorted)
{
	char num[64];
	size_t i;
	json_t *x;

	if (v == NULL)
		return buf_adds(b, "null");
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return encode_object(b, v, ff, sorted);
	case JSON_ARRAY:
		buf_addc(b, '[');
		json_array_foreach(v, i, x) {
			if (i > 0)
				buf_addc(b, ',');
			encode(b, x, ff, sorted);
		}
		return buf_addc(b, ']');
	case JSON_STRING:
		return json_encode_str(b, json_string_value(v), json_string_length(v));
	case JSON_INTEGER:
		return buf_addf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	case JSON_REAL:
		json_fmt_double(json_real_value(v), num, sizeof(num));
		return buf_adds(b, num);
	case JSON_TRUE:
		return buf_adds(b, "true");
	case JSON_FALSE:
		return buf_adds(b, "false");
	default:
		return buf_adds(b, "null");
	}
}

int
json_encode(struct buf *b, const json_t *v, const char *const *freeform, bool sort_all)
{
	encode(b, v, freeform, sort_all);
	return buf_ok(b) ? 0 : -1;
}

char *
json_dumps_sorted(const json_t *v)
{
	struct buf b;

	buf_init(&b, (size_t)1 << 30);
	json_encode(&b, v, NULL, true);
	return buf_take(&b);
}
