/*
 * json_order: the "last key wins" rule of api.md §0.4 across case variants.
 * jansson keeps a repeated key at the position of its first occurrence (with
 * the last value), so in {"slug":"a","Slug":"b","slug":"c"} a lookup that
 * folds case and takes the last match would find "Slug". When a decoded
 * document has an object whose keys fold together, this pass reads the text
 * again and moves each repeated key of each object to the position of its
 * last occurrence. Documents without such keys are never re-read.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "util.h"

/* Does some object in v have two keys equal under ASCII case folding? */
static bool
folds_together(const json_t *v)
{
	const char *k;
	json_t *x, *seen;
	size_t i;
	bool found = false;

	if (json_is_array(v)) {
		json_array_foreach(v, i, x)
			if (folds_together(x))
				return true;
		return false;
	}
	if (!json_is_object(v) || json_object_size(v) < 2)
		return false;
	seen = json_object();
	json_object_foreach((json_t *)(uintptr_t)v, k, x) {
		char *low = xstrdup(k);

		for (i = 0; low[i] != '\0'; i++)
			if (low[i] >= 'A' && low[i] <= 'Z')
				low[i] = (char)(low[i] - 'A' + 'a');
		found = json_object_get(seen, low) != NULL || folds_together(x);
		json_object_set_new_nocheck(seen, low, json_null());
		free(low);
		if (found)
			break;
	}
	json_decref(seen);
	return found;
}

static const char *
ws(const char *p, const char *e)
{
	while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/* p at '"': the byte after the closing quote, or NULL. */
static const char *
skip_string(const char *p, const char *e)
{
	for (p++; p < e; p++) {
		if (*p == '\\')
			p++;
		else if (*p == '"')
			return p + 1;
	}
	return NULL;
}

/* The byte after the value at p (already decoded once, so well formed). */
static const char *
skip_value(const char *p, const char *e)
{
	int depth = 0;

	if (p < e && *p == '"')
		return skip_string(p, e);
	if (p < e && *p != '{' && *p != '[') {
		while (p < e && strchr(",}] \t\r\n", *p) == NULL)
			p++;
		return p;
	}
	while (p < e) {
		if (*p == '"') {
			if ((p = skip_string(p, e)) == NULL)
				return NULL;
			continue;
		}
		if (*p == '{' || *p == '[')
			depth++;
		else if ((*p == '}' || *p == ']') && --depth == 0)
			return p + 1;
		p++;
	}
	return NULL;
}

static const char *order_value(const char *p, const char *e, json_t *v);

struct member {
	char		*key;
	const char	*val;
};

/* Reads the members of the object at p ('{') into *m, *n. */
static const char *
read_members(const char *p, const char *e, struct member **m, size_t *n)
{
	size_t cap = 0;

	p = ws(p + 1, e);
	if (p < e && *p == '}')
		return p + 1;
	for (;;) {
		const char *ke;
		json_t *k;

		if (p >= e || *p != '"' || (ke = skip_string(p, e)) == NULL)
			return NULL;
		k = json_loadb(p, (size_t)(ke - p), JSON_DECODE_ANY, NULL);
		if (!json_is_string(k)) {
			json_decref(k);
			return NULL;
		}
		if (*n == cap) {
			cap = cap ? cap * 2 : 8;
			*m = xrealloc(*m, cap * sizeof(**m));
		}
		(*m)[*n].key = xstrdup(json_string_value(k));
		json_decref(k);
		p = ws(ke, e);
		if (p >= e || *p != ':')
			return NULL;
		(*m)[(*n)++].val = p = ws(p + 1, e);
		if ((p = skip_value(p, e)) == NULL)
			return NULL;
		p = ws(p, e);
		if (p < e && *p == '}')
			return p + 1;
		if (p >= e || *p != ',')
			return NULL;
		p = ws(p + 1, e);
	}
}

/* Orders the object v read from p, and the values of its last members. */
static const char *
order_object(const char *p, const char *e, json_t *v)
{
	struct member *m = NULL;
	json_t *last = json_object();
	size_t n = 0, i;
	bool dup = false;

	if ((p = read_members(p, e, &m, &n)) == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		if (json_object_get(last, m[i].key) != NULL)
			dup = true;
		json_object_set_new_nocheck(last, m[i].key, json_integer((json_int_t)i));
	}
	for (i = 0; i < n && p != NULL; i++) {
		json_t *child = json_object_get(v, m[i].key);

		if ((size_t)json_integer_value(json_object_get(last, m[i].key)) != i)
			continue;	/* a value that a later one replaced */
		if (child == NULL || order_value(m[i].val, e, child) == NULL) {
			p = NULL;
			break;
		}
		if (dup) {	/* re-insert: jansson iterates in insertion order */
			json_incref(child);
			json_object_del(v, m[i].key);
			json_object_set_new_nocheck(v, m[i].key, child);
		}
	}
out:
	for (i = 0; i < n; i++)
		free(m[i].key);
	free(m);
	json_decref(last);
	return p;
}

static const char *
order_value(const char *p, const char *e, json_t *v)
{
	size_t i = 0;

	p = ws(p, e);
	if (p < e && *p == '{' && json_is_object(v))
		return order_object(p, e, v);
	if (p >= e || *p != '[' || !json_is_array(v))
		return skip_value(p, e);
	p = ws(p + 1, e);
	if (p < e && *p == ']')
		return p + 1;
	for (;;) {
		if ((p = order_value(p, e, json_array_get(v, i++))) == NULL)
			return NULL;
		p = ws(p, e);
		if (p < e && *p == ']')
			return p + 1;
		if (p >= e || *p != ',')
			return NULL;
		p++;
	}
}

void
json_order_last_keys(const char *data, size_t len, json_t *v)
{
	if (folds_together(v))
		(void)order_value(data, data + len, v);
}
