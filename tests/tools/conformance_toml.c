/*
 * conformance_toml: runs the TOML parser over the toml-test corpus (TOML
 * 1.0.0 cases listed in files-toml-1.0.0) and prints TAP, one line per case.
 * valid/X.toml must decode to the tagged JSON of valid/X.json (compared
 * semantically, as toml-test does); invalid/X.toml must be rejected.
 * The corpus is $MT_CONFORMANCE_DIR/toml-test, else ../shared/conformance/
 * toml-test (relative to the repository root, the working directory). The
 * project's own cases follow, listed in tests/data/toml/files (same layout).
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "toml.h"
#include "util.h"

/* Cases that cannot pass, with the reason (none at the moment). */
static const struct {
	const char *name;
	const char *reason;
} skips[] = {
	{ NULL, NULL },
};

static char *
read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct buf b;
	char chunk[8192];
	size_t n;

	if (f == NULL)
		return NULL;
	buf_init(&b, 64 << 20);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(&b, chunk, n);
	fclose(f);
	*len = b.len;
	return buf_take(&b);
}

/* ---- the tree as toml-test's tagged JSON ---- */

/* jansson cannot hold NUL in object keys, so NUL is replaced by U+10FFFD on
 * both sides of the comparison (NUL_ESC in the expected JSON's text). */
#define NUL_UTF8	"\xf4\x8f\xbf\xbd"
#define NUL_ESC		"\\udbff\\udffd"

/* s[0..n) with NUL bytes replaced, as a new string. */
static char *
denul(const char *s, size_t n)
{
	struct buf b;
	size_t i;

	buf_init(&b, 4 * n + 1);
	for (i = 0; i < n; i++) {
		if (s[i] == '\0')
			buf_adds(&b, NUL_UTF8);
		else
			buf_addc(&b, s[i]);
	}
	return buf_take(&b);
}

/* A copy of a JSON text with every \u0000 escape (not an escaped backslash
 * followed by "u0000") rewritten to NUL_ESC. */
static char *
denul_json(const char *r)
{
	struct buf b;

	buf_init(&b, 2 * strlen(r) + 1);
	while (*r != '\0') {
		if (r[0] == '\\' && strncmp(r + 1, "u0000", 5) == 0) {
			buf_adds(&b, NUL_ESC);
			r += 6;
		} else if (r[0] == '\\' && r[1] != '\0') {
			buf_add(&b, r, 2);
			r += 2;
		} else {
			buf_addc(&b, *r++);
		}
	}
	return buf_take(&b);
}

static json_t *
tagged(const char *type, const char *value, size_t len)
{
	char *v = denul(value, len);
	json_t *j = json_pack("{s:s, s:s}", "type", type, "value", v);

	free(v);
	return j;
}

static json_t *
to_json(const struct toml_value *v)
{
	json_t *j;
	char num[64];
	size_t i;

	switch (v->type) {
	case TOML_TABLE:
		j = json_object();
		for (i = 0; i < v->u.tab.len; i++) {
			char *k = denul(v->u.tab.kv[i].key, v->u.tab.kv[i].keylen);

			json_object_set_new(j, k, to_json(v->u.tab.kv[i].val));
			free(k);
		}
		return j;
	case TOML_ARRAY:
		j = json_array();
		for (i = 0; i < v->u.arr.len; i++)
			json_array_append_new(j, to_json(v->u.arr.items[i]));
		return j;
	case TOML_INTEGER:
		snprintf(num, sizeof(num), "%" PRId64, v->u.i);
		return tagged("integer", num, strlen(num));
	case TOML_FLOAT:
		if (isnan(v->u.f))
			snprintf(num, sizeof(num), "nan");
		else if (isinf(v->u.f))
			snprintf(num, sizeof(num), "%sinf", v->u.f < 0 ? "-" : "");
		else
			snprintf(num, sizeof(num), "%.17g", v->u.f);
		return tagged("float", num, strlen(num));
	case TOML_BOOL:
		return tagged("bool", v->u.b ? "true" : "false", v->u.b ? 4 : 5);
	default:
		return tagged(toml_type_name(v), v->u.str.ptr, v->u.str.len);
	}
}

/* ---- semantic comparison ---- */

static long long
days_from_civil(long long y, unsigned m, unsigned d)
{
	long long era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (long long)doe - 719468;
}

/* Normalizes a date-time text: T separator, fraction to 9 digits, and an
 * offset date-time converted to UTC seconds, so equal instants compare equal. */
static void
norm_datetime(const char *s, char *out, size_t outsz)
{
	int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0, oh = 0, om = 0, n = 0;
	char frac[10] = "000000000", sign = 0;
	const char *p = s;
	size_t i;

	if (strlen(s) >= 10 && s[4] == '-') {
		sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n);
		p = s + n;
		if (*p == 'T' || *p == 't' || *p == ' ')
			p++;
	}
	if (sscanf(p, "%2d:%2d:%2d%n", &h, &mi, &sec, &n) == 3) {
		p += n;
		if (*p == '.') {
			for (i = 0, p++; *p >= '0' && *p <= '9'; p++, i++) {
				if (i < 9)
					frac[i] = *p;
			}
		}
		if (*p == '+' || *p == '-') {
			sign = *p;
			sscanf(p + 1, "%2d:%2d", &oh, &om);
		} else if (*p == 'Z' || *p == 'z') {
			sign = '+';
		}
	}
	if (sign != 0) {
		long long t = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 +
		    h * 3600 + mi * 60 + sec - (sign == '-' ? -1 : 1) * (oh * 3600 + om * 60);
		snprintf(out, outsz, "@%lld.%s", t, frac);
	} else {
		snprintf(out, outsz, "%04d-%02d-%02dT%02d:%02d:%02d.%s", y, mo, d, h, mi, sec, frac);
	}
}

static bool
scalar_equal(const char *type, const char *want, const char *have)
{
	char a[96], b[96];

	if (strcmp(type, "integer") == 0)
		return strtoll(want, NULL, 10) == strtoll(have, NULL, 10);
	if (strcmp(type, "float") == 0) {
		double x = strtod(want, NULL), y = strtod(have, NULL);

		return (isnan(x) && isnan(y)) || x == y;
	}
	if (strncmp(type, "date", 4) == 0 || strcmp(type, "time-local") == 0) {
		norm_datetime(want, a, sizeof(a));
		norm_datetime(have, b, sizeof(b));
		return strcmp(a, b) == 0;
	}
	return strcmp(want, have) == 0;
}

static bool
is_tagged(json_t *j)
{
	return json_is_object(j) && json_object_size(j) == 2 &&
	    json_is_string(json_object_get(j, "type")) &&
	    json_is_string(json_object_get(j, "value"));
}

static bool
equal(json_t *want, json_t *have)
{
	const char *key;
	json_t *w;
	size_t i;

	if (is_tagged(want) && is_tagged(have)) {
		const char *type = json_string_value(json_object_get(want, "type"));

		return strcmp(type, json_string_value(json_object_get(have, "type"))) == 0 &&
		    scalar_equal(type, json_string_value(json_object_get(want, "value")),
		    json_string_value(json_object_get(have, "value")));
	}
	if (json_is_array(want) && json_is_array(have)) {
		if (json_array_size(want) != json_array_size(have))
			return false;
		for (i = 0; i < json_array_size(want); i++) {
			if (!equal(json_array_get(want, i), json_array_get(have, i)))
				return false;
		}
		return true;
	}
	if (!json_is_object(want) || !json_is_object(have) ||
	    json_object_size(want) != json_object_size(have))
		return false;
	json_object_foreach(want, key, w) {
		json_t *h = json_object_get(have, key);

		if (h == NULL || !equal(w, h))
			return false;
	}
	return true;
}

/* ---- running the cases ---- */

/* Runs one case; returns NULL when it passes, else why it failed. */
static const char *
run_case(const char *dir, const char *name, char *why, size_t whysz)
{
	struct toml_value *root = NULL;
	struct err err;
	json_t *want = NULL, *have = NULL;
	json_error_t jerr;
	size_t len, plen;
	char *text, *path = xasprintf("%s/%s", dir, name);
	int rc;

	text = read_file(path, &len);
	if (text == NULL) {
		free(path);
		return "cannot read the case";
	}
	rc = toml_parse(text, len, &root, &err);
	free(text);
	if (strncmp(name, "invalid/", 8) == 0) {
		free(path);
		toml_free(root);
		return rc < 0 ? NULL : "accepted an invalid document";
	}
	if (rc < 0) {
		free(path);
		snprintf(why, whysz, "rejected: %.1000s", err.msg);
		return why;
	}
	plen = strlen(path);
	memcpy(path + plen - 5, ".json", 6);
	text = read_file(path, &len);
	if (text != NULL) {
		char *fixed = denul_json(text);

		want = json_loads(fixed, JSON_DECODE_ANY, &jerr);
		free(fixed);
		free(text);
	} else {
		snprintf(jerr.text, sizeof(jerr.text), "cannot read it");
	}
	have = to_json(root);
	toml_free(root);
	free(path);
	if (want == NULL) {
		snprintf(why, whysz, "bad expected JSON: %s", jerr.text);
	} else if (!equal(want, have)) {
		char *got = json_dumps(have, JSON_COMPACT | JSON_SORT_KEYS);

		snprintf(why, whysz, "decoded differently: %.300s", got);
		free(got);
	} else {
		why = NULL;
	}
	json_decref(want);
	json_decref(have);
	return why;
}

static const char *
skip_reason(const char *name)
{
	size_t i;

	for (i = 0; skips[i].name != NULL; i++) {
		if (strcmp(skips[i].name, name) == 0)
			return skips[i].reason;
	}
	return NULL;
}

/* Runs every .toml case of dir/listname, numbering from *n; returns the
 * number of failures, or -1 when the list cannot be read. */
static int
run_list(const char *dir, const char *listname, const char *label, int *n)
{
	char path[4200], line[1024], why[1024];
	const char *reason, *fail;
	int failed = 0;
	FILE *list;

	snprintf(path, sizeof(path), "%s/%s", dir, listname);
	list = fopen(path, "r");
	if (list == NULL)
		return -1;
	while (fgets(line, sizeof(line), list) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		if (strlen(line) < 6 || strcmp(line + strlen(line) - 5, ".toml") != 0)
			continue;
		++*n;
		reason = skip_reason(line);
		if (reason != NULL) {
			printf("ok %d - %s%s # SKIP %s\n", *n, label, line, reason);
			continue;
		}
		fail = run_case(dir, line, why, sizeof(why));
		if (fail == NULL) {
			printf("ok %d - %s%s\n", *n, label, line);
		} else {
			printf("not ok %d - %s%s\n# %s\n", *n, label, line, fail);
			failed++;
		}
	}
	fclose(list);
	return failed;
}

int
main(void)
{
	const char *base = getenv("MT_CONFORMANCE_DIR");
	char dir[4096];
	int n = 0, failed, own;

	snprintf(dir, sizeof(dir), "%s/toml-test",
	    base != NULL && *base != '\0' ? base : "../shared/conformance");
	failed = run_list(dir, "files-toml-1.0.0", "", &n);
	if (failed < 0) {
		printf("not ok %d - toml-test corpus not found at %s\n", ++n, dir);
		failed = 1;
	}
	own = run_list("tests/data/toml", "files", "own/", &n);
	if (own < 0) {
		printf("not ok %d - tests/data/toml/files not found (run from the repository root)\n", ++n);
		own = 1;
	}
	printf("1..%d\n", n);
	return failed + own > 0;
}
