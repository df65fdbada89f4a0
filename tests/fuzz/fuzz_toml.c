/*
 * fuzz_toml: libFuzzer target for the TOML parser (src/lib/toml.c). A
 * document that parses must give a well-formed tree: every table's keys are
 * distinct and toml_get finds each one, every string is NUL-terminated at its
 * length, every line number is within the document, every type has a name.
 * The Towerfile layer on top is fuzz_towerfile. Build: make fuzz-build.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "toml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned max_line;

static void check_value(const struct toml_value *v, int depth);

static void
check_table(const struct toml_value *t, int depth)
{
	const struct toml_table *tab = &t->u.tab;
	size_t i;

	for (i = 0; i < tab->len; i++) {
		const struct toml_kv *kv = &tab->kv[i];

		if (kv->key[kv->keylen] != '\0')
			abort();
		/* a duplicate key would make toml_get answer an earlier entry */
		if (toml_get(t, kv->key, kv->keylen) != kv->val)
			abort();
		check_value(kv->val, depth + 1);
	}
}

static void
check_value(const struct toml_value *v, int depth)
{
	size_t i;

	if (v == NULL || depth > 100000 || v->line > max_line || toml_type_name(v) == NULL)
		abort();
	switch (v->type) {
	case TOML_TABLE:
		check_table(v, depth);
		break;
	case TOML_ARRAY:
		for (i = 0; i < v->u.arr.len; i++)
			check_value(v->u.arr.items[i], depth + 1);
		break;
	case TOML_STRING:
	case TOML_DATETIME:
	case TOML_DATETIME_LOCAL:
	case TOML_DATE_LOCAL:
	case TOML_TIME_LOCAL:
		if (v->u.str.ptr[v->u.str.len] != '\0')
			abort();
		break;
	default:
		break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct toml_value *root = NULL;
	struct err err;
	size_t i;

	max_line = 1;
	for (i = 0; i < size; i++)
		if (data[i] == '\n' || data[i] == '\r')
			max_line++;
	if (toml_parse((const char *)data, size, &root, &err) == -1) {
		if (err.msg[0] == '\0')
			abort();	/* a failure always explains itself */
		return 0;
	}
	if (root->type != TOML_TABLE)
		abort();
	check_value(root, 0);
	toml_free(root);
	return 0;
}
