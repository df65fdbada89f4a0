/*
 * fuzz_json: libFuzzer target for the request JSON decoder and the wire
 * encoder (src/lib/json.c, json_order.c). A body that decodes must encode
 * (in document order and sorted) to text that decodes to an equal value and
 * encodes to the same bytes again, with no raw control character, '<', '>'
 * or '&' outside the escapes; the field readers must agree with the value
 * found by case-folded lookup, which must be the last folded match.
 */
#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_util.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const freeform[] = { "input", NULL };

/* The escaping rules of api.md §0.3 leave none of these bytes raw. */
static void
check_escaped(const char *s)
{
	for (; *s != '\0'; s++)
		FUZZ_CHECK((unsigned char)*s >= 0x20 && *s != '<' && *s != '>' && *s != '&');
}

/* encode(decode(encode(v))) == encode(v): the wire form is a fixed point. */
static void
check_fixed_point(const json_t *v, bool sorted)
{
	char *first = fuzz_json_roundtrip(v, freeform, sorted), *second;
	json_t *back = NULL;

	check_escaped(first);
	FUZZ_CHECK(json_decode(first, strlen(first), false, &back) == 0);
	second = fuzz_json_roundtrip(back, freeform, sorted);
	if (strcmp(first, second) != 0) {
		fprintf(stderr, "not a fixed point:\n%.300s\n%.300s\n", first, second);
		abort();
	}
	free(second);
	free(first);
	json_decref(back);
}

/* json_field(o, k) is the last key of o that folds to k, null counting as
 * absent; json_get_str / json_get_int report its type. */
static void
check_fields(const json_t *o)
{
	const char *k, *k2, *s;
	json_t *x, *x2, *last;
	int64_t i;
	size_t n;

	json_object_foreach((json_t *)(uintptr_t)o, k, x) {
		last = NULL;
		json_object_foreach((json_t *)(uintptr_t)o, k2, x2)
			if (strlen(k2) == strlen(k) && ascii_casecmp(k, k2) == 0)
				last = x2;
		FUZZ_CHECK(json_field(o, k) == (json_is_null(last) ? NULL : last));
		FUZZ_CHECK(json_get_str(o, k, &s, &n) ==
		    (json_is_null(last) ? 0 : json_is_string(last) ? 1 : -1));
		FUZZ_CHECK(json_get_int(o, k, &i) ==
		    (json_is_null(last) ? 0 : json_is_integer(last) ? 1 : -1));
		if (json_is_object(x))
			check_fields(x);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *v = NULL;

	if (json_decode((const char *)data, size, size > 0 && data[0] == ' ', &v) != 0)
		return 0;
	FUZZ_CHECK(v != NULL && !json_is_null(v));
	check_fixed_point(v, false);
	check_fixed_point(v, true);
	if (json_is_object(v))
		check_fields(v);
	json_decref(v);
	return 0;
}
