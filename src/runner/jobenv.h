/*
 * jobenv: the clean environment of a job (towerfile.md §7): base variables,
 * run variables, the input keys that may be exported (others are reported
 * through a callback), and the Python variables. Also the input value
 * encoding (compact JSON, sorted keys, api.md §0.3 numbers, no <>& escapes)
 * and the lexical path cleaning used for entrypoints and import paths.
 */
#ifndef MT_JOBENV_H
#define MT_JOBENV_H

#include <jansson.h>
#include <stdint.h>

#include "buf.h"

struct jobenv {
	char	**vars;		/* "NAME=value", NULL-terminated */
	size_t	  n;
	size_t	  cap;
};

struct jobenv_run {
	int64_t		 run_id, run_no, attempt_no, version_no;
	const char	*app_slug;
	const json_t	*input;		/* object or NULL */
	const char	*path, *lang, *tz;	/* from the runner's config */
	const char	*ws;		/* <run dir>/work */
	const char	*tmp;		/* <run dir>/tmp */
	const char	*input_file;	/* <run dir>/input.json */
	const char	*venv;		/* Python: the venv directory, else NULL */
	const char *const *import_paths;	/* Python: NULL-terminated, or NULL */
};

/* Why an input key was skipped: reason is the text after the key, e.g.
 * "reserved name". key is NUL-free (NULs become U+FFFD). */
typedef void (*jobenv_skip_fn)(void *arg, const char *key, const char *reason);
/* An import path left out of PYTHONPATH. */
typedef void (*jobenv_ignore_fn)(void *arg, const char *path);

/* Builds the environment into e (free with jobenv_free). */
void jobenv_build(struct jobenv *e, const struct jobenv_run *r,
    jobenv_skip_fn skip, jobenv_ignore_fn ignore, void *arg);

/* Sets NAME=value, replacing an existing NAME. */
void jobenv_set(struct jobenv *e, const char *name, const char *value);
/* The value of NAME, or NULL. */
const char *jobenv_get(const struct jobenv *e, const char *name);
void jobenv_free(struct jobenv *e);

/* Encodes v as the job sees it: compact, sorted keys, §0.3 numbers, only
 * '"', '\\' and control characters escaped. Appends to b. */
void jobenv_encode(struct buf *b, const json_t *v);

/* Go's path.Clean: collapses '/', drops '.', resolves "x/..". Returns a new
 * string ("." for an empty result). */
char *jobenv_path_clean(const char *p);
/* True when the cleaned path starts with ".." or has a ".." element. */
int jobenv_path_traverses(const char *cleaned);

#endif
