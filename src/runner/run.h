/*
 * run: executing one lease (runner.md §5-§9): start, workspace preparation
 * under the setup timeout, launch in its own process group, the pump that
 * reads the pipes and enforces every deadline, and the outcome (result,
 * release, or nothing when the lease is stale).
 */
#ifndef MT_RUN_H
#define MT_RUN_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "contain.h"
#include "identity.h"
#include "jail.h"
#include "linesplit.h"
#include "logship.h"
#include "mask.h"
#include "client.h"
#include "runstate.h"
#include "sandbox.h"
#include "spawn.h"
#include "venv.h"
#include "workspace.h"

struct agent;

/* One slot (docs/runner.md, "Slots"): a lease loop that runs one job at a
 * time with its own lease, heartbeat, fence timer, workspace, process group
 * and HTTP handles. A runner has MINITOWER_RUNNER_SLOTS of them; a
 * single-slot runner runs its slot on the main thread. */
struct slot {
	struct agent	*ag;
	int		 idx;		/* 0..slots-1: names its job file */
	struct client	*http;		/* the slot thread's handle */
	pthread_mutex_t	 http_mu;	/* the signal thread's use of http vs its free */
	struct client	*hb_http;	/* the heartbeat thread's */
	struct client	*ship_http;	/* the log shipper's */
	int		 wake_fd;	/* eventfd: wakes the slot's loop */
	atomic_int	 job_pgid;	/* the running job's outer process, 0 when none */
	bool		 warned_409;
	pthread_t	 thread;
};

/* What lives as long as the runner process. */
struct agent {
	struct config	 cfg;
	struct pyinfo	 py;
	pthread_mutex_t	 id_mu;		/* id.token: replaced after a 401 */
	struct identity	 id;
	struct sandbox	 sb;		/* how jobs are contained here */
	char		*report;	/* {"sandbox":..,"limits":..,"slots":N} for the server */
	struct slot	*slots;		/* cfg.slots of them */
	atomic_int	 drain;		/* signals received: 0, 1, 2, 3+ */
	_Atomic int64_t	 drain_started;	/* monotonic ms of the first signal */
	struct workspace_holds holds;	/* runs in hand: the sweep skips them */
};

/* A copy of the runner token (under id_mu; caller frees), or NULL. */
char *agent_token(struct agent *ag);

/* The fields of a lease response the runner uses. */
struct lease_info {
	int64_t	 run_id, run_no, app_id, version_no, attempt_no;
	int64_t	 timeout_s;
	char	*app_slug;
	char	*entrypoint;
	char	*lease_token;
	char	*artifact_sha256;	/* X-Artifact-SHA256 of the lease, or NULL */
	json_t	*input;		/* object or NULL */
	json_t	*sandbox;	/* the version's [app.sandbox], or NULL */
	json_t	*resources;	/* its [app.resources], or NULL */
};

/* Parses a lease body (decoded with JSON_DECODE_INT_AS_REAL). Returns 0, or
 * -1 with err; run_id and lease_token are filled whenever they could be read
 * (so the run can be released). */
int lease_info_parse(struct lease_info *li, const char *body, size_t len, struct err *err);
void lease_info_free(struct lease_info *li);

/* Executes on slot s the lease li, obtained with the runner token token,
 * whose request was sent at t_sent and answered with remaining ms of lease.
 * Returns when the run is over and its process group is gone. */
void run_execute(struct slot *s, const char *token, struct lease_info *li, int64_t t_sent,
    int64_t remaining);

/* Releases the run of rs at once through s's handle (POST /release,
 * retried; stale ignored). Returns 0 when released or stale, -1 when given
 * up (logged). */
int run_release(struct slot *s, struct runstate *rs);

/* One output stream of the job. */
struct stream {
	int			 fd;
	bool			 eof;
	enum logship_stream	 which;
	struct linesplit	 split;
	struct mask_stream	 mask;		/* secrets out, in front of split */
	struct logship		*ls;
	int64_t			 ts;		/* wall ms of the current read */
	char			 buf[65536];
	size_t			 off, len;
};

/* The job while it runs (pump.c). */
struct job {
	struct agent		*ag;
	struct slot		*slot;
	struct runstate		*rs;
	struct logship		*ls;
	struct jail_proc	 jp;		/* the job's contained tree */
	const struct workspace	*w;
	int64_t			 timeout_at;
	bool			 reaped;
	int			 status;
	int64_t			 t0;		/* when the main process was reaped */
	bool			 termed;
	int64_t			 kill_at;
	bool			 killed;
	bool			 post_termed;
	int64_t			 post_kill_at;
	bool			 timed_out;	/* the Towerfile timeout fired */
	bool			 drained;	/* a drain terminated the job */
	bool			 disk_full;	/* disk_mb was reached: terminated */
	bool			 logged_term;
	struct stream		 out, err;
};

/* Runs the pump until the main process is reaped, the group is gone and
 * both pipes reached end of file (or were given up). */
void pump_run(struct job *j);

/* Logs WARN `terminating run` with reason, once per run. */
void run_log_terminating(bool *logged, const char *reason);

#endif
