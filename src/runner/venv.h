/*
 * venv: the Python environment of a run (runner.md §5.5): the interpreter
 * resolved once at start-up, the requirements.txt check, the cache key, the
 * flock-coordinated cache (built in place, published by a marker written
 * last, read-only, LRU-evicted without touching an environment in use), and
 * the per-run .venv when the cache is off or bypassed.
 */
#ifndef MT_VENV_H
#define MT_VENV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cmd.h"
#include "config.h"

struct contain;

struct pyinfo {
	char	*exe;		/* sys.executable, NULL until resolved */
	char	*version;	/* "Python 3.11.2" */
};

/* Resolves cfg->python_bin into py. Returns 0, or -1 with a message. */
int venv_resolve(struct pyinfo *py, const struct config *cfg, char *errbuf, size_t errsz);
void venv_pyinfo_free(struct pyinfo *py);

/* Where venv reports its runner lines and how it builds commands. */
struct venv_run {
	const struct config	*cfg;
	struct pyinfo		*py;
	int64_t			 app_id;
	const char		*ws;		/* <run dir>/work */
	const char		*run_dir;
	const char *const	*build_env;	/* base env for venv/pip */
	struct contain		*contain;	/* the run's jails; NULL: plain children */
	const char		*tmp;		/* the run's tmp/ (the build's /tmp) */
	bool			(*abort)(void *arg);
	void			*abort_arg;
	int64_t			(*kill_at)(void *arg, int64_t sigterm_at);
	void			(*line)(void *arg, const char *text);	/* runner line */
	/* Results: */
	char			 venv[4096];	/* the environment to run in */
	int			 lock_fd;	/* shared lock held while in use, or -1 */
	bool			 added;		/* a new cached environment was built */
};

enum venv_stage { VENV_STAGE_CREATE, VENV_STAGE_INSTALL };

/* Prepares the environment. Returns 0 (vr->venv set), CMD_ABORTED, or -1
 * with *stage and the "<error>" text of the failure in errbuf. */
int venv_prepare(struct venv_run *vr, enum venv_stage *stage, char *errbuf, size_t errsz);

/* Releases the shared lock of vr (after the job exited). */
void venv_release(struct venv_run *vr);

/* Evicts least recently used complete environments beyond cfg's maximum,
 * skipping those in use. */
void venv_evict(const struct config *cfg);

/* The cache key (64 hex + NUL) of runner.md §5.5. */
void venv_key(int64_t app_id, const char *exe, const char *version,
    const char *machine, const char *req, size_t req_len, char out[65]);

/* True when a requirements line makes the environment depend on files of
 * the artifact (the cache is bypassed). */
bool venv_req_is_local(const char *req, size_t len);

/* Reads <ws>/requirements.txt safely (RESOLVE_BENEATH). Returns 1 with the
 * bytes in *out (caller frees), 0 when missing, -1 when not a regular file
 * inside the workspace. */
int venv_read_requirements(const char *ws, char **out, size_t *len);

#endif
