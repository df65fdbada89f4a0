/*
 * towerfile: reading (towerfile.md §1), validating (§2) and turning the
 * parameters of a Towerfile into a params_schema (§4.1). The same code runs
 * in minitowerd on upload and in minitower-cli before a deploy. Also home of
 * the lexical path rules (Go's path.Clean and the traversal test) that the
 * archive and glob code share.
 */
#ifndef MT_TOWERFILE_H
#define MT_TOWERFILE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* Strings are NUL-terminated but may hold NUL bytes (TOML's \u0000), so
 * each carries its length. Validation rejects NUL in name, script, source
 * and import_paths, so after towerfile_validate() those are plain C strings. */
struct towerfile_param {
	char		*name;		/* "" when absent */
	size_t		 name_len;
	char		*description;	/* "" when absent */
	size_t		 description_len;
	char		*type;		/* as written; NULL when absent or "" */
	size_t		 type_len;
	bool		 has_default;
	const char	*default_kind;	/* Go name of the default's TOML kind (§2) */
	bool		 default_finite;	/* false for a float default inf/-inf/nan */
	json_t		*default_value;	/* a string, integer, finite float or boolean
					 * default as JSON; NULL otherwise */
};

struct towerfile {
	char		*name;		/* app.name, "" when absent */
	size_t		 name_len;
	char		*script;	/* app.script, "" when absent */
	size_t		 script_len;
	char		**source;	/* app.source, NULL-terminated */
	size_t		*source_lens;
	size_t		 nsource;
	char		**import_paths;	/* app.import_paths, NULL-terminated */
	size_t		*import_path_lens;
	size_t		 nimport_paths;
	bool		 has_timeout;	/* [app.timeout] present */
	int64_t		 timeout_seconds;	/* 0 when seconds is missing */
	struct towerfile_param *params;
	size_t		 nparams;
};

/* Parses a Towerfile text[0..len): TOML, then the known keys (ASCII case
 * folded, exact case first, else the last folded match). Returns 0 with *out
 * (free with towerfile_free), or -1 with err ERR_TOWERFILE_INVALID and the
 * message "parsing towerfile: line N: <problem>" (TOML errors and values of
 * the wrong type for a known key). Does not validate. */
int towerfile_parse(const char *text, size_t len, struct towerfile **out,
    struct err *err);

/* Applies rules 1-9e of §2 in order. Returns 0, or -1 with err
 * ERR_TOWERFILE_INVALID and the exact message of the first failure (no
 * prefix; the caller adds "invalid Towerfile: " or "validating Towerfile: "). */
int towerfile_validate(const struct towerfile *tf, struct err *err);

/* Frees tf and everything it owns; NULL is a no-op. */
void towerfile_free(struct towerfile *tf);

/* The params_schema of §4.1 (caller decrefs), or NULL when the Towerfile has
 * no parameters. Expects a validated towerfile. Encode it with sorted keys
 * (json_dumps_sorted) to get the wire form. */
json_t *towerfile_params_schema(const struct towerfile *tf);

/* Cleans the path in lexically as Go's path.Clean does (repeated '/'
 * collapsed, "." removed, "x/.." resolved, "/.." at the root dropped, ""
 * becomes "."). Writes the result to out; returns 0, or -1 when it does not
 * fit in outsz bytes (outsz >= strlen(in) + 2 always suffices). */
int towerfile_clean_path(const char *in, char *out, size_t outsz);

/* True when the cleaned p starts with ".." (also "..data") or has a ".."
 * element: the path would leave its root (§2 rules 5-7). */
bool towerfile_path_traverses(const char *p);

#endif
