/*
 * toml: a complete TOML 1.0.0 parser producing a tree of values. Tables keep
 * their keys in document order; strings carry their length (they may hold
 * NUL); date-time values keep their text. The tree remembers how each table
 * and array was written (standard, inline, array of tables) because the
 * Towerfile's error messages name those kinds.
 */
#ifndef MT_TOML_H
#define MT_TOML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

enum toml_type {
	TOML_STRING,
	TOML_INTEGER,
	TOML_FLOAT,
	TOML_BOOL,
	TOML_DATETIME,		/* offset date-time: 1979-05-27T07:32:00Z */
	TOML_DATETIME_LOCAL,	/* 1979-05-27T07:32:00 */
	TOML_DATE_LOCAL,	/* 1979-05-27 */
	TOML_TIME_LOCAL,	/* 07:32:00 */
	TOML_ARRAY,
	TOML_TABLE,
};

/* How a table came to exist. Everything but TOML_TABLE_INLINE is a
 * "standard" table in the Towerfile's terms. */
enum toml_table_kind {
	TOML_TABLE_ROOT,
	TOML_TABLE_HEADER,	/* defined by a [x] header */
	TOML_TABLE_IMPLICIT,	/* a parent created by a header, not (yet) defined */
	TOML_TABLE_DOTTED,	/* created by a dotted key: a.b = 1 */
	TOML_TABLE_INLINE,	/* { ... }, and tables created by dotted keys in it */
	TOML_TABLE_AOT,		/* an element of an array of tables [[x]] */
};

struct toml_value;

struct toml_kv {
	char			*key;	/* NUL-terminated, but may hold NUL: use keylen */
	size_t			 keylen;
	struct toml_value	*val;
};

struct toml_table {
	struct toml_kv		*kv;	/* in document order */
	size_t			 len, cap;
	uint32_t		*index;	/* hash slots holding kv index + 1, or NULL */
	size_t			 nslots;
	enum toml_table_kind	 kind;
	unsigned		 dotted_section;	/* parser bookkeeping */
	bool			 frozen;	/* inline: no key may be added */
};

struct toml_array {
	struct toml_value	**items;
	size_t			  len, cap;
	bool			  of_tables;	/* created by [[x]] headers */
};

struct toml_value {
	enum toml_type	 type;
	unsigned	 line;		/* 1-based line where it was defined */
	union {
		struct {
			char	*ptr;	/* NUL-terminated; may hold NUL */
			size_t	 len;
		} str;			/* TOML_STRING and the date-time types (their text) */
		int64_t		 i;
		double		 f;
		bool		 b;
		struct toml_array arr;
		struct toml_table tab;
	} u;
};

/* Parses the TOML document text[0..len). Returns 0 with *out set to the root
 * table (free with toml_free), or -1 with err (ERR_INVALID) holding a message
 * "line N: <problem>". */
int toml_parse(const char *text, size_t len, struct toml_value **out, struct err *err);

/* Frees a value and everything below it; NULL is a no-op. */
void toml_free(struct toml_value *v);

/* The value of key[0..keylen) in table t (exact, byte-wise match), or NULL
 * when absent or t is not a table. Borrowed. */
const struct toml_value *toml_get(const struct toml_value *t, const char *key,
    size_t keylen);

/* The TOML name of a value's type, as toml-test spells it: "string",
 * "integer", "float", "bool", "datetime", "datetime-local", "date-local",
 * "time-local", "array", "table". */
const char *toml_type_name(const struct toml_value *v);

#endif
