/*
 * cmd: runs a helper command of workspace preparation (python -c, venv,
 * pip) in its own process group with its combined output captured (at most
 * 2048 bytes), stopping it like a job (SIGTERM, then SIGKILL after the grace
 * period) when the caller's abort test turns true.
 */
#ifndef MT_CMD_H
#define MT_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jail.h"
#include "spawn.h"

#define CMD_OUTPUT_MAX	2048

struct cmd {
	struct spawn_opts	 so;		/* argv, envp, cwd (and the rest without js) */
	const struct jail_spec	*js;		/* contained (argv[0] absolute), or NULL */
	bool			(*abort)(void *arg);
	void			*abort_arg;
	int64_t			(*kill_at)(void *arg, int64_t sigterm_at);	/* or NULL */
	int64_t			 grace_ms;
	/* Results: */
	int			 status;		/* raw wait status */
	char			 output[CMD_OUTPUT_MAX + 1];
	size_t			 output_len;
	bool			 truncated;
};

enum { CMD_OK = 0, CMD_FAILED = -1, CMD_ABORTED = -2 };

/* Runs c->so to completion. CMD_OK when it exited 0; CMD_FAILED when it
 * could not start or ended otherwise (desc: "<failure>: <output>" as
 * runner.md §5.5 says); CMD_ABORTED when abort stopped it (the group is
 * gone and the process reaped). */
int cmd_run(struct cmd *c, char *desc, size_t descsz);

/* Formats failure + captured output as runner.md §5.5 says. */
void cmd_describe(const char *failure, const char *out, size_t len, bool truncated,
    char *desc, size_t descsz);

/* Finds an executable by name on path (names with '/' are returned as is).
 * Returns a new string or NULL. */
char *cmd_which(const char *name, const char *path);

#endif
