/*
 * conformance_jsonschema: runs schema_validate() over the JSON-Schema-Test-
 * Suite draft 7 cases (Debian's json-schema-test-suite package) and prints
 * TAP. Only groups whose schema uses the supported keywords run; the others
 * are reported as one skipped line each. MiniTower's one deliberate
 * deviation is skipped case by case: a null input where the schema
 * describes an object is read as {} (towerfile.md §4.2).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "schema.h"
#include "util.h"

#define SUITE "/usr/share/json-schema-test-suite/tests/draft7"

static const char *const supported[] = {
	"type", "properties", "required", "additionalProperties", "items", "enum",
	"minimum", "maximum", "minLength", "maxLength", "minItems", "maxItems",
	"description", "title", "default", NULL,
};

static bool
is_supported_keyword(const char *k)
{
	size_t i;

	for (i = 0; supported[i] != NULL; i++) {
		if (strcmp(supported[i], k) == 0)
			return true;
	}
	return false;
}

/* True when schema (recursively) uses only supported keywords in their
 * supported forms; sets *why to the first offending keyword. */
static bool
usable(json_t *schema, const char **why)
{
	const char *k;
	json_t *v, *sub;
	const char *pk;

	if (!json_is_object(schema)) {
		*why = "boolean schema";
		return false;
	}
	json_object_foreach(schema, k, v) {
		if (!is_supported_keyword(k)) {
			*why = k;
			return false;
		}
		if (strcmp(k, "items") == 0 && !usable(v, why)) {
			*why = json_is_array(v) ? "items (array form)" : *why;
			return false;
		}
		if (strcmp(k, "additionalProperties") == 0 && !json_is_boolean(v) &&
		    !usable(v, why))
			return false;
		if (strcmp(k, "properties") == 0) {
			json_object_foreach(v, pk, sub) {
				if (!usable(sub, why))
					return false;
			}
		}
	}
	return true;
}

/* A case where MiniTower deliberately differs from JSON Schema. */
static const char *
deviation(json_t *schema, json_t *data)
{
	json_t *type = json_object_get(schema, "type");

	if (!json_is_null(data))
		return NULL;
	if (json_object_get(schema, "properties") != NULL ||
	    json_object_get(schema, "required") != NULL ||
	    json_object_get(schema, "additionalProperties") != NULL ||
	    (json_is_string(type) && strcmp(json_string_value(type), "object") == 0))
		return "MiniTower reads a null input as {} (towerfile.md 4.2)";
	return NULL;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
run_group(const char *file, json_t *group, int *n, int *failed)
{
	json_t *schema = json_object_get(group, "schema"), *test;
	const char *desc = json_string_value(json_object_get(group, "description"));
	const char *why = NULL, *dev, *tdesc;
	struct err err;
	size_t i;
	bool want, got;

	if (!usable(schema, &why)) {
		printf("ok %d - %s: %s # SKIP uses %s\n", ++*n, file, desc, why);
		return;
	}
	json_array_foreach(json_object_get(group, "tests"), i, test) {
		tdesc = json_string_value(json_object_get(test, "description"));
		dev = deviation(schema, json_object_get(test, "data"));
		if (dev != NULL) {
			printf("ok %d - %s: %s: %s # SKIP %s\n", ++*n, file, desc, tdesc, dev);
			continue;
		}
		want = json_is_true(json_object_get(test, "valid"));
		got = schema_validate(schema, json_object_get(test, "data"), &err) == 0;
		if (want == got) {
			printf("ok %d - %s: %s: %s\n", ++*n, file, desc, tdesc);
		} else {
			printf("not ok %d - %s: %s: %s\n# expected %s, got %s\n", ++*n, file,
			    desc, tdesc, want ? "valid" : "invalid", got ? "valid" : err.msg);
			++*failed;
		}
	}
}

int
main(void)
{
	char *names[256], *path;
	int n = 0, failed = 0;
	size_t count = 0, i, g;
	struct dirent *de;
	json_error_t jerr;
	json_t *doc;
	DIR *d;

	d = opendir(SUITE);
	if (d == NULL) {
		printf("1..1\nnot ok 1 - %s not found (install json-schema-test-suite)\n", SUITE);
		return 1;
	}
	while ((de = readdir(d)) != NULL && count < 256) {
		size_t len = strlen(de->d_name);

		if (len > 5 && strcmp(de->d_name + len - 5, ".json") == 0)
			names[count++] = xstrdup(de->d_name);
	}
	closedir(d);
	qsort(names, count, sizeof(*names), name_cmp);
	for (i = 0; i < count; i++) {
		path = xasprintf("%s/%s", SUITE, names[i]);
		doc = json_load_file(path, 0, &jerr);
		if (doc == NULL) {
			printf("not ok %d - %s: %s\n", ++n, names[i], jerr.text);
			failed++;
		}
		for (g = 0; g < json_array_size(doc); g++)
			run_group(names[i], json_array_get(doc, g), &n, &failed);
		json_decref(doc);
		free(path);
		free(names[i]);
	}
	printf("1..%d\n", n);
	return failed > 0;
}
