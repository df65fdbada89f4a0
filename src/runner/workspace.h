/*
 * workspace: the run directory of runner.md §5.2-§5.4: creation (work/,
 * tmp/, input.json), the artifact download with SHA-256 verification, and
 * unpacking with libarchive in a forked child (extraction needs chdir,
 * which is process-wide). Removal walks the tree without following links.
 * The directory's name carries the runner's id, so that a runner can find
 * and remove what a killed process of its own left behind (the sweep),
 * without touching another runner's on the same host.
 */
#ifndef MT_WORKSPACE_H
#define MT_WORKSPACE_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "client.h"
#include "runstate.h"

struct workspace {
	char	*dir;		/* $TMPDIR/minitower-run-<run>-<runner>-<random> */
	char	*ws;		/* dir/work */
	char	*tmp;		/* dir/tmp */
	char	*input_file;	/* dir/input.json */
	char	*artifact;	/* dir/artifact.tar.gz */
	char	**import_paths;	/* from X-Import-Paths, NULL-terminated or NULL */
	char	*import_raw;	/* the X-Import-Paths value, for the cache */
	char	 sha256[65];
	bool	 cached;	/* unpacked from art_fd, the artifact cache's entry */
	int	 art_fd;
	/* Who owns it, and its size limit (set before workspace_create): */
	bool	 owned;		/* everything belongs to uid:gid */
	uid_t	 uid;
	gid_t	 gid;
	int64_t	 disk_mb;	/* > 0: the run directory is a tmpfs of that size */
	bool	 mounted;
};

/* Creates the run directory of run_id for the runner whose id is runner_id
 * (16 hex) and writes input.json (input may be NULL: "{}"). When w->owned, everything belongs to w->uid:w->gid; with
 * w->disk_mb the directory is a tmpfs of that size (work/ and tmp/
 * together). The caller sets those fields first. Returns 0 or -1 with err. */
int workspace_create(struct workspace *w, const struct config *cfg, const char *runner_id,
    int64_t run_id, const json_t *input, struct err *err);

/* True when the size-limited run directory is (nearly) full. */
bool workspace_full(const struct workspace *w);

enum { WS_OK = 0, WS_FAILED = -1, WS_ABORTED = -2, WS_STALE = -3 };

/* Downloads the artifact (retried, stopping at the fence time as it was at
 * the start) and verifies X-Artifact-SHA256. WS_FAILED fills err with the
 * "<error>" of the spec ("download failed: <status> <body>", "sha256
 * mismatch: expected <X>, got <Y>", or the transport error). */
int workspace_download(struct workspace *w, struct client *h, struct runstate *rs,
    bool (*abort)(void *), void *abort_arg, struct err *err);

/* The artifact cache (artcache.h): true when the entry of sha (the lease's
 * artifact_sha256; NULL: false) is there and verified; then w->cached,
 * w->sha256 and the import paths are set and nothing needs downloading. */
bool workspace_from_cache(struct workspace *w, const struct config *cfg, const char *sha);

/* After a successful download whose digest is lease_sha (the lease's
 * artifact_sha256; NULL or another digest: nothing), stores the artifact in
 * the cache. */
void workspace_cache_store(const struct workspace *w, const struct config *cfg,
    const char *lease_sha);

/* Unpacks the artifact (the downloaded file, or the cache entry when
 * w->cached) into w->ws in a child process; WS_ABORTED when abort
 * turned true (the child is killed). */
int workspace_unpack(struct workspace *w, const struct config *cfg,
    bool (*abort)(void *), void *abort_arg, struct err *err);

#ifdef __SANITIZE_THREAD__
/* TSan builds only: the extraction of workspace_unpack in a fresh exec of
 * the runner, `minitower-runner WORKSPACE_UNPACK_ARG <artifact> <dir>
 * <max entries> <max expanded> <error fd>`. Returns the exit status. */
#define WORKSPACE_UNPACK_ARG	"--unpack-for-tsan"
int workspace_unpack_main(int argc, char **argv);
#endif

/* Removes the run directory and frees w. */
void workspace_destroy(struct workspace *w);

/* The runs a runner holds (one per slot): their directories are never
 * swept. A run is held from before its directory exists until after it is
 * removed. */
#define WS_HOLDS_MAX	64
struct workspace_holds {
	pthread_mutex_t	 mu;
	int64_t		 run_ids[WS_HOLDS_MAX];
	int		 n;
};

void workspace_holds_init(struct workspace_holds *h);
/* Holds run_id (aborts past WS_HOLDS_MAX: a programmer error). */
void workspace_hold(struct workspace_holds *h, int64_t run_id);
void workspace_unhold(struct workspace_holds *h, int64_t run_id);

/* Removes every run directory of runner_id under cfg->tmpdir whose run h
 * does not hold (unmounting a disk_mb tmpfs first), with INFO `stale
 * workspace removed` (path, run_id) per directory, or WARN `stale workspace
 * not removed` with the error. Returns the number removed. */
int workspace_sweep(const struct config *cfg, const char *runner_id,
    struct workspace_holds *h);

#endif
