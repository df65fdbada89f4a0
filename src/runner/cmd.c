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
#include "jail.h"
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

/* The helper as a plain process group or as a jail. */
struct helper {
	struct cmd		*c;
	struct spawn_proc	 p;
	struct jail_proc	 jp;
	bool			 exited;
};

static int
helper_start(struct helper *h, struct cmd *c, struct err *err)
{
	h->c = c;
	h->exited = false;
	if (c->js == NULL)
		return spawn_start(&c->so, &h->p, err);
	if (jail_start(c->js, c->so.argv, c->so.envp, c->so.cwd, true, &h->jp, err) != 0)
		return -1;
	h->p = h->jp.p;
	return 0;
}

/* Polls for the main process's end; true once it is known. */
static bool
helper_exited(struct helper *h)
{
	if (h->exited)
		return true;
	if (h->c->js == NULL) {
		h->exited = waitpid(h->p.pid, &h->c->status, WNOHANG) == h->p.pid;
	} else {
		jail_poll(&h->jp);
		if (h->jp.main_done)
			h->c->status = h->jp.main_status;
		h->exited = h->jp.main_done;
	}
	return h->exited;
}

static bool
helper_alive(struct helper *h)
{
	if (h->c->js == NULL)
		return spawn_group_alive(h->p.pid);
	jail_poll(&h->jp);
	return !h->jp.reaped;
}

static void
helper_signal(struct helper *h, int sig)
{
	if (h->c->js == NULL)
		spawn_signal_group(h->p.pid, sig);
	else if (sig == SIGKILL)
		jail_kill(&h->jp);
	else
		jail_terminate(&h->jp);
}

static void
helper_close(struct helper *h)
{
	if (h->c->js == NULL) {
		h->p.pid = -1;	/* reaped */
		spawn_close(&h->p);
	} else {
		jail_finish(&h->jp);
	}
}

/* Stops the helper: SIGTERM now, SIGKILL at the kill time. */
static void
stop_group(struct cmd *c, struct helper *h, int64_t *kill_at, bool *termed)
{
	int64_t now = mono_ms();

	if (!*termed) {
		*termed = true;
		*kill_at = c->kill_at != NULL ? c->kill_at(c->abort_arg, now) :
		    now + (c->grace_ms > 0 ? c->grace_ms : 0);
		if (*kill_at > now)
			helper_signal(h, SIGTERM);
	}
	if (now >= *kill_at)
		helper_signal(h, SIGKILL);
}

int
cmd_run(struct cmd *c, char *desc, size_t descsz)
{
	struct helper h;
	struct err err;
	bool eof = false, exited = false, termed = false, aborted = false;
	int64_t kill_at = 0, exit_at = 0;
	char failure[128];

	c->output_len = 0;
	c->truncated = false;
	c->output[0] = '\0';
	c->so.merge_output = true;
	memset(&h, 0, sizeof(h));
	if (helper_start(&h, c, &err) != 0) {
		snprintf(desc, descsz, "%s", err.msg);
		return CMD_FAILED;
	}
	for (;;) {
		struct pollfd pf[3] = { { h.p.out_fd, POLLIN, 0 }, { h.p.pidfd, POLLIN, 0 },
		    { h.jp.status_fd, POLLIN, 0 } };

		if (!aborted && c->abort != NULL && c->abort(c->abort_arg))
			aborted = true;
		if ((aborted || exited) && helper_alive(&h))
			stop_group(c, &h, &kill_at, &termed);
		if (exited && eof && (c->js == NULL || !helper_alive(&h)))
			break;
		/* A process that left the group may hold the pipe forever. */
		if (exited && mono_ms() > exit_at + (c->grace_ms > 0 ? c->grace_ms : 0) + 1000)
			break;
		pf[0].fd = eof ? -1 : h.p.out_fd;
		pf[1].fd = (c->js == NULL && exited) || h.jp.reaped ? -1 : h.p.pidfd;
		pf[2].fd = c->js == NULL ? -1 : h.jp.status_fd;
		(void)poll(pf, 3, 20);
		if (!eof)
			drain(c, h.p.out_fd, &eof);
		if (!exited && helper_exited(&h)) {
			exited = true;
			exit_at = mono_ms();
		}
	}
	helper_close(&h);
	c->output[c->output_len] = '\0';
	if (aborted)
		return CMD_ABORTED;
	if (WIFEXITED(c->status) && WEXITSTATUS(c->status) == 0)
		return CMD_OK;
	spawn_describe_status(c->status, failure, sizeof(failure));
	cmd_describe(failure, c->output, c->output_len, c->truncated, desc, descsz);
	return CMD_FAILED;
}
