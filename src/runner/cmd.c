/*
 * cmd: a small poll loop over one merged output pipe and a pidfd, waking
 * every 20 ms to ask the abort test, so a cancel, a stale lease, a drain or
 * the setup timeout stop a long pip install promptly.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "cmd.h"
#include "util.h"

void
cmd_describe(const char *failure, const char *out, size_t len, bool truncated,
    char *desc, size_t descsz)
{
	struct buf b;
	char *t, *raw = xstrndup(out, len);
	size_t i;

	t = str_trim(raw);
	buf_init(&b, 4 * CMD_OUTPUT_MAX + 64);
	for (i = 0; t[i] != '\0'; i++) {
		if (t[i] == '\r' && t[i + 1] == '\n')
			continue;
		if (t[i] == '\n')
			buf_adds(&b, " | ");
		else
			buf_addc(&b, t[i]);
	}
	if (truncated)
		buf_adds(&b, "...(truncated)");
	if (b.len > 0)
		snprintf(desc, descsz, "%s: %s", failure, buf_str(&b));
	else
		snprintf(desc, descsz, "%s", failure);
	buf_free(&b);
	free(raw);
}

char *
cmd_which(const char *name, const char *path)
{
	const char *p = path, *end;

	if (strchr(name, '/') != NULL)
		return xstrdup(name);
	while (p != NULL && *p != '\0') {
		char *cand;

		end = strchr(p, ':');
		cand = xasprintf("%.*s/%s", (int)(end ? end - p : (long)strlen(p)),
		    p, name);
		if (access(cand, X_OK) == 0)
			return cand;
		free(cand);
		p = end ? end + 1 : NULL;
	}
	return NULL;
}

static void
drain(struct cmd *c, int fd, bool *eof)
{
	char tmp[8192];
	ssize_t n;

	for (;;) {
		n = read(fd, tmp, sizeof(tmp));
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0 || errno != EAGAIN)
				*eof = true;
			return;
		}
		if (c->output_len < CMD_OUTPUT_MAX) {
			size_t take = (size_t)n;

			if (take > CMD_OUTPUT_MAX - c->output_len) {
				take = CMD_OUTPUT_MAX - c->output_len;
				c->truncated = true;
			}
			memcpy(c->output + c->output_len, tmp, take);
			c->output_len += take;
		} else {
			c->truncated = true;
		}
	}
}

/* Stops the group: SIGTERM now, SIGKILL at the kill time. */
static void
stop_group(struct cmd *c, pid_t pgid, int64_t *kill_at, bool *termed)
{
	int64_t now = mono_ms();

	if (!*termed) {
		*termed = true;
		*kill_at = c->kill_at != NULL ? c->kill_at(c->abort_arg, now) :
		    now + (c->grace_ms > 0 ? c->grace_ms : 0);
		if (*kill_at > now)
			spawn_signal_group(pgid, SIGTERM);
	}
	if (now >= *kill_at)
		spawn_signal_group(pgid, SIGKILL);
}

int
cmd_run(struct cmd *c, char *desc, size_t descsz)
{
	struct spawn_proc p;
	struct err err;
	bool eof = false, exited = false, termed = false, aborted = false;
	int64_t kill_at = 0, exit_at = 0;
	char failure[128];

	c->output_len = 0;
	c->truncated = false;
	c->output[0] = '\0';
	c->so.merge_output = true;
	if (spawn_start(&c->so, &p, &err) != 0) {
		snprintf(desc, descsz, "%s", err.msg);
		return CMD_FAILED;
	}
	for (;;) {
		struct pollfd pf[2] = { { p.out_fd, POLLIN, 0 }, { p.pidfd, POLLIN, 0 } };

		if (!aborted && c->abort != NULL && c->abort(c->abort_arg))
			aborted = true;
		if ((aborted || exited) && spawn_group_alive(p.pid))
			stop_group(c, p.pid, &kill_at, &termed);
		if (exited && eof)
			break;
		/* A process that left the group may hold the pipe forever. */
		if (exited && mono_ms() > exit_at + (c->grace_ms > 0 ? c->grace_ms : 0) + 1000)
			break;
		pf[0].fd = eof ? -1 : p.out_fd;
		pf[1].fd = exited ? -1 : p.pidfd;
		(void)poll(pf, 2, 20);
		if (!eof)
			drain(c, p.out_fd, &eof);
		if (!exited && waitpid(p.pid, &c->status, WNOHANG) == p.pid) {
			exited = true;
			exit_at = mono_ms();
		}
	}
	p.pid = -1;	/* reaped above */
	spawn_close(&p);
	c->output[c->output_len] = '\0';
	if (aborted)
		return CMD_ABORTED;
	if (WIFEXITED(c->status) && WEXITSTATUS(c->status) == 0)
		return CMD_OK;
	spawn_describe_status(c->status, failure, sizeof(failure));
	cmd_describe(failure, c->output, c->output_len, c->truncated, desc, descsz);
	return CMD_FAILED;
}
