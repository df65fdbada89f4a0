/*
 * towerfile: reading (towerfile.md §1), validating (§2) and turning the
 * parameters of a Towerfile into a params_schema (§4.1). The same code runs
 * in minitowerd on upload and in minitower-cli before a deploy. Also home of
 * the lexical path rules (Go's path.Clean and the traversal test) that the
 * archive and glob code share. The [app.sandbox] and [app.resources]
 * tables are read and checked by towerfile_limits.c.
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

/* [app.sandbox] (towerfile_limits.c); NUL-free after validation. */
struct towerfile_sandbox {
	bool		 network;		/* default true */
	char		**writable_paths;	/* NULL-terminated */
	size_t		*writable_path_lens;
	size_t		 nwritable_paths;
};

/* [app.resources]: each value is meaningful only when its has_ flag is set.
 * cpus is as written; towerfile_resources_json() rounds it to 3 decimals. */
struct towerfile_resources {
	bool		 has_memory_mb, has_cpus, has_pids, has_disk_mb, has_open_files;
	int64_t		 memory_mb;
	double		 cpus;
	int64_t		 pids;
	int64_t		 disk_mb;
	int64_t		 open_files;
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
	bool		 has_sandbox;	/* [app.sandbox] present */
	struct towerfile_sandbox sandbox;
	struct towerfile_resources resources;	/* [app.resources], all unset when absent */
	char		*schedule;		/* app.schedule, NULL when absent */
	char		*schedule_timezone;	/* app.schedule_timezone, NULL when absent */
};

/* Parses a Towerfile text[0..len): TOML, then the known keys (ASCII case
 * folded, exact case first, else the last folded match). Returns 0 with *out
 * (free with towerfile_free), or -1 with err ERR_TOWERFILE_INVALID and the
 * message "parsing towerfile: line N: <problem>" (TOML errors and values of
 * the wrong type for a known key). Does not validate. */
int towerfile_parse(const char *text, size_t len, struct towerfile **out,
    struct err *err);

/* Applies rules 1-9e of §2 in order, then the sandbox (10) and resources
 * (11) rules of towerfile_limits_validate(). Returns 0, or -1 with err
 * ERR_TOWERFILE_INVALID and the exact message of the first failure (no
 * prefix; the caller adds "invalid Towerfile: " or "validating Towerfile: "). */
int towerfile_validate(const struct towerfile *tf, struct err *err);

/* Frees tf and everything it owns; NULL is a no-op. */
void towerfile_free(struct towerfile *tf);

/* The params_schema of §4.1 (caller decrefs), or NULL when the Towerfile has
 * no parameters. Expects a validated towerfile. Encode it with sorted keys
 * (json_dumps_sorted) to get the wire form. */
json_t *towerfile_params_schema(const struct towerfile *tf);

/* ---- towerfile_limits.c ---- */

/* Reads [app.sandbox] and [app.resources] of the TOML table app into tf
 * (called by towerfile_parse). A value of the wrong TOML type is a parse
 * error as in towerfile_parse. Returns 0 or -1 with err set. */
struct toml_value;
int towerfile_limits_parse(struct towerfile *tf, const struct toml_value *app,
    struct err *err);

/* Rules 10 (writable_paths) and 11 (resource ranges); 0, or -1 with err
 * ERR_TOWERFILE_INVALID and the message (no prefix). */
int towerfile_limits_validate(const struct towerfile *tf, struct err *err);

/* {"network":…,"writable_paths":[…]} (writable_paths only when non-empty), or
 * NULL when the Towerfile has no [app.sandbox]. Caller decrefs. */
json_t *towerfile_sandbox_json(const struct towerfile *tf);

/* {"memory_mb":…,"cpus":…,"pids":…,"disk_mb":…,"open_files":…} with only the
 * keys that are set, in that order (cpus rounded to 3 decimals, an integer
 * when integral), or NULL when none is set. Caller decrefs. */
json_t *towerfile_resources_json(const struct towerfile *tf);

/* Frees what towerfile_limits_parse() allocated in tf. */
void towerfile_limits_free(struct towerfile *tf);

/* ---- towerfile_schedule.c (issue 14) ---- */

/* Reads app.schedule and app.schedule_timezone (strings) into tf; a value
 * of another type is a parse error as in towerfile_parse. 0 or -1. */
int towerfile_schedule_parse(struct towerfile *tf, const struct toml_value *app,
    struct err *err);
/* Rule 12: app.schedule parses as a cron expression ("app.schedule: cron:
 * ..."), app.schedule_timezone names a known zone ("app.schedule_timezone:
 * unknown time zone") and is only given with app.schedule. 0, or -1 with
 * ERR_TOWERFILE_INVALID. */
int towerfile_schedule_validate(const struct towerfile *tf, struct err *err);
/* Frees what towerfile_schedule_parse() allocated in tf. */
void towerfile_schedule_free(struct towerfile *tf);

/* Shared with towerfile_limits.c: the known key name of table t (exact case
 * first, else the last ASCII case-folded match), or NULL. */
const struct toml_value *towerfile_field(const struct toml_value *t, const char *name);
/* The parse error "parsing towerfile: line N: <path> must be <want>, got
 * <type>"; returns -1. */
int towerfile_type_error(const struct toml_value *v, const char *path, const char *want,
    struct err *err);
/* Reads the optional array-of-strings key name of t into *list / *lens / *n. */
int towerfile_get_strings(const struct toml_value *t, const char *name, const char *path,
    char ***list, size_t **lens, size_t *n, struct err *err);

/* Cleans the path in lexically as Go's path.Clean does (repeated '/'
 * collapsed, "." removed, "x/.." resolved, "/.." at the root dropped, ""
 * becomes "."). Writes the result to out; returns 0, or -1 when it does not
 * fit in outsz bytes (outsz >= strlen(in) + 2 always suffices). */
int towerfile_clean_path(const char *in, char *out, size_t outsz);

/* True when the cleaned p starts with ".." (also "..data") or has a ".."
 * element: the path would leave its root (§2 rules 5-7). */
bool towerfile_path_traverses(const char *p);

#endif
