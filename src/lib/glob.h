/*
 * glob: the CLI's source-pattern resolution (towerfile.md §6.2-§6.4). It
 * expands `**`, `*`, `?`, classes, `{a,b}` and `\x` over a project directory
 * without ever walking through a symbolic link to a directory, applies the
 * hidden-file rule, resolves matched symbolic links and returns a sorted,
 * de-duplicated list of relative paths.
 */
#ifndef MT_GLOB_H
#define MT_GLOB_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

/* One matched path. */
struct glob_entry {
	char	*path;		/* relative to the project root, '/'-separated,
				 * no leading "./" */
	bool	 is_symlink;	/* a symbolic link (to be stored as one) */
	char	*link_target;	/* symlinks: path from the link's directory to
				 * its fully resolved target; NULL otherwise */
};

struct glob_result {
	char			*root;	/* realpath of the project directory */
	struct glob_entry	*v;
	size_t			 n;
};

/* Resolves patterns (none: the default pattern of §6.2) under project_dir as
 * towerfile.md §6.2-§6.3 say. On success fills *out (free with
 * glob_result_free) with every kept regular file and symbolic link, sorted
 * in byte order and unique, and returns 0. On failure returns -1 with err
 * (ERR_INVALID) and *out empty; messages: "syntax error in pattern "<p>"",
 * "pattern "<p>" has too many alternatives", "resolving symlink "<abs>":
 * <error>", "symlink "<abs>" points outside the project root", or
 * "<abs path>: <error>" when the project directory cannot be resolved or a
 * directory below it fails to read. A directory that cannot be opened
 * (EACCES) contributes nothing, like a pattern that matches nothing. */
int glob_resolve(const char *project_dir, const char *const *patterns,
    size_t npatterns, struct glob_result *out, struct err *err);

/* glob_resolve plus towerfile.md §6.4: the cleaned script must be among the
 * matches, and the root "Towerfile" is in the list exactly once (appended
 * after the sorted list when no pattern matched it; never resolved as a
 * link, it is always stored as a regular file). Messages are ready for the
 * CLI's "packaging artifact: " prefix: "resolving source: <glob_resolve
 * message>" or "script "<script>" is not matched by any source pattern". */
int glob_project_files(const char *project_dir, const char *const *patterns,
    size_t npatterns, const char *script, struct glob_result *out,
    struct err *err);

/* True when path is one of r's entries. */
bool glob_result_contains(const struct glob_result *r, const char *path);

/* Releases a result; *r is empty afterwards. NULL-safe. */
void glob_result_free(struct glob_result *r);

/* Matches the whole '/'-separated path against pattern with the rules of
 * §6.2 (no hidden-file rule, no file system). Returns 1 on a match, 0
 * otherwise, -1 with err on a syntax error. For tests and callers that
 * filter names. */
int glob_match(const char *pattern, const char *path, struct err *err);

#endif
