/*
 * toml_scalar: the lexer half of the TOML parser (private to toml.c): the
 * four kinds of strings, integers, floats, booleans and the four date-time
 * forms. Text reaching it has passed toml.c's UTF-8 and control-character
 * check.
 */
#ifndef MT_TOML_SCALAR_H
#define MT_TOML_SCALAR_H

#include <stdbool.h>
#include <stddef.h>

#include "toml.h"

/* Scans a basic or literal string, single- or multi-line (multi-line only
 * when allow_multi), starting at the opening quote *pp. Returns 0 with *pp
 * past the closing quote and *out (malloc'd, NUL-terminated) / *outlen set;
 * or -1 with *pp at the problem and *msg describing it. */
int toml_scalar_string(const char **pp, const char *end, bool allow_multi,
    char **out, size_t *outlen, const char **msg);

/* Scans a boolean, number or date-time at *pp into v (its type and value;
 * date-times get their text in v->u.str). Returns 0 with *pp past the
 * value, or -1 with *pp at the problem and *msg describing it. */
int toml_scalar_other(const char **pp, const char *end, struct toml_value *v,
    const char **msg);

#endif
