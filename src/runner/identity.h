/*
 * identity: the runner's data directory and the files in it (runner.md §2):
 * the directory checks, the saved identity <DATA_DIR>/runners/<id>.json,
 * registration with the registration token, and the job file that lets a
 * restarted runner kill and release a job its previous process left behind.
 */
#ifndef MT_IDENTITY_H
#define MT_IDENTITY_H

#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "err.h"

struct identity {
	char	*token;		/* runner token, NULL when none */
	char	 id[17];	/* first 16 hex of sha256(name) */
	char	*path;		/* the identity file */
	char	*job_path;	/* the job file */
	char	*report;	/* extra registration fields ("\"sandbox\":..."), or NULL */
};

/* Creates and checks the data directory and its venvs/ and runners/
 * subdirectories. Returns 0, or -1 with "create data dir: <error>" or
 * "unsafe data dir: <path>". */
int identity_prepare_dir(const struct config *cfg, struct err *err);

/* Fills the paths of id and loads a saved token when name and environment
 * match (INFO logs as the spec says). */
void identity_load(struct identity *id, const struct config *cfg);

/* Registers (retrying network errors, 5xx and 429 until stop is set) and
 * saves the identity. Returns 0, or -1 with a fatal error (no registration
 * token, another status) in err. */
int identity_register(struct identity *id, const struct config *cfg,
    atomic_int *stop, struct err *err);

/* Forgets the token and deletes the identity file (after a 401). */
void identity_drop(struct identity *id);

/* Writes the job file of slot (0..CONFIG_SLOTS_MAX-1) for run_id: at the
 * lease with pgid 0 and run_dir NULL, then for the job whose outer process
 * (group leader) is pgid, running in the run directory run_dir. Slot 0's
 * file is the one a single-slot runner has always written. */
void identity_job_save(const struct identity *id, int slot, pid_t pgid, int64_t run_id,
    const char *lease_token, const char *run_dir);
/* Removes the job file of slot. */
void identity_job_clear(const struct identity *id, int slot);

/* Handles every job file (of any slot) left by a previous process: kills
 * the group (unless its id was reused), releases the run, removes the file.
 * Their run directories are left to workspace_sweep, which runs next. */
void identity_recover(const struct identity *id, const struct config *cfg);

void identity_free(struct identity *id);

/* Field 22 of /proc/<pid>/stat (start time in clock ticks), -1 if gone. */
int64_t identity_start_time(pid_t pid);

#endif
