/*
 * fuzz_util: helpers shared by the fuzz targets (header-only, static): JSON
 * equality by value, the encode-then-decode round trip every stored or sent
 * JSON document must survive, and a byte reader that splits fuzz input.
 */
#ifndef FUZZ_UTIL_H
#define FUZZ_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "json.h"

#define FUZZ_FN static __attribute__((unused))

/* Reports a broken property and aborts, so libFuzzer saves the input. */
#define FUZZ_CHECK(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, #cond); \
		abort(); \
	} \
} while (0)

/* Deep equality where numbers compare by value (the wire form writes an
 * integral double without a fraction, so 1.0 reads back as the integer 1). */
FUZZ_FN int
fuzz_json_equiv(const json_t *a, const json_t *b)
{
	const char *k;
	json_t *x;
	size_t i;

	if (json_is_integer(a) && json_is_integer(b))
		return json_integer_value(a) == json_integer_value(b);
	if (json_is_number(a) && json_is_number(b))
		return json_number_value(a) == json_number_value(b);
	if (json_typeof(a) != json_typeof(b))
		return 0;
	switch (json_typeof(a)) {
	case JSON_STRING:
		return json_string_length(a) == json_string_length(b) &&
		    memcmp(json_string_value(a), json_string_value(b), json_string_length(a)) == 0;
	case JSON_ARRAY:
		if (json_array_size(a) != json_array_size(b))
			return 0;
		for (i = 0; i < json_array_size(a); i++)
			if (!fuzz_json_equiv(json_array_get(a, i), json_array_get(b, i)))
				return 0;
		return 1;
	case JSON_OBJECT:
		if (json_object_size(a) != json_object_size(b))
			return 0;
		json_object_foreach((json_t *)(uintptr_t)a, k, x)
			if (json_object_get(b, k) == NULL || !fuzz_json_equiv(x, json_object_get(b, k)))
				return 0;
		return 1;
	default:
		return 1;
	}
}

/* Encodes v as the server does and decodes it again with the request
 * decoder: the result must equal v. Returns the encoding (caller frees). */
FUZZ_FN char *
fuzz_json_roundtrip(const json_t *v, const char *const *freeform, bool sort_all)
{
	struct buf b;
	json_t *back = NULL;

	buf_init(&b, (size_t)64 << 20);
	FUZZ_CHECK(json_encode(&b, v, freeform, sort_all) == 0);
	if (json_decode(buf_str(&b), b.len, false, &back) != 0) {
		fprintf(stderr, "encoded JSON does not decode: %.200s\n", buf_str(&b));
		abort();
	}
	/* "null" decodes as {} by the request rules */
	FUZZ_CHECK(json_is_null(v) ? json_equal(back, json_object()) : fuzz_json_equiv(v, back));
	json_decref(back);
	return buf_take(&b);
}

/* Splits fuzz input: takes bytes from the front. */
struct fuzz_in {
	const uint8_t	*p;
	size_t		 n;
};

/* One byte (0 once the input is used up). */
FUZZ_FN unsigned
fuzz_byte(struct fuzz_in *in)
{
	if (in->n == 0)
		return 0;
	in->n--;
	return *in->p++;
}

/* The bytes up to the next sep (which is consumed), or the rest. */
FUZZ_FN size_t
fuzz_until(struct fuzz_in *in, uint8_t sep, const uint8_t **out)
{
	const uint8_t *end = in->n > 0 ? memchr(in->p, sep, in->n) : NULL;
	size_t len = end != NULL ? (size_t)(end - in->p) : in->n;

	*out = in->p;
	in->p += len;
	in->n -= len;
	if (end != NULL) {
		in->p++;
		in->n--;
	}
	return len;
}

#endif
