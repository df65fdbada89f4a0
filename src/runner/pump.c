/*
 * pump: the slot thread's poll loop while a job runs. It reads stdout and
 * stderr into the line splitters only while the log queue has room
 * (back-pressure), reaps the main process through its pidfd, and owns every
 * deadline of the job: the Towerfile timeout, the fence, the drain timeout,
 * the SIGTERM -> SIGKILL escalation and the clean-up after exit (§5.9).
 * Other threads only set flags and write the eventfd.
 */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crashpoint.h"
#include "jail.h"
#include "log.h"
#include "run.h"
#include "util.h"

void
run_log_terminating(bool *logged, const char *reason)
{
	if (!*logged)
		log_warn("terminating run", "reason=%s", reason);
	*logged = true;
}

static void
feed(struct stream *s)
{
	size_t room = logship_room(s->ls);

	while (s->off < s->len && room >= 2) {
		size_t n = s->len - s->off;

		if (n > room / 2)
			n = room / 2;
		mask_stream_feed(&s->mask, s->buf + s->off, n);
		s->off += n;
		room = logship_room(s->ls);
	}
}

static void
finish_stream(struct stream *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	if (!s->eof) {
		s->ts = now_ms();
		if (s->off < s->len)	/* given up with data pending: keep it */
			mask_stream_feed(&s->mask, s->buf + s->off, s->len - s->off);
		s->off = s->len = 0;
		mask_stream_finish(&s->mask);
		mask_stream_free(&s->mask);
		explicit_bzero(s->buf, sizeof(s->buf));	/* raw output: may hold a secret */
		linesplit_finish(&s->split);
		s->eof = true;
	}
}

static void
read_stream(struct stream *s)
{
	ssize_t n;

	feed(s);
	if (s->eof || s->off < s->len || logship_room(s->ls) < 2)
		return;
	n = read(s->fd, s->buf, sizeof(s->buf));
	if (n > 0) {
		CRASH_POINT("run");	/* the job is running: it wrote */
		s->off = 0;
		s->len = (size_t)n;
		s->ts = now_ms();
		feed(s);
	} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
		finish_stream(s);
	}
}

/* Which trigger, if any, stops the running job now. */
static const char *
trigger(struct job *j, int64_t now)
{
	struct agent *ag = j->ag;
	int lvl = atomic_load(&ag->drain);

	if (runstate_check_fence(j->rs))
		return "lease expired";
	if (runstate_is_stale(j->rs))
		return "stale lease";
	if (runstate_is_cancelled(j->rs))
		return "cancel requested";
	if (now >= j->timeout_at) {
		j->timed_out = true;
		return "timeout";
	}
	if (workspace_full(j->w)) {
		j->disk_full = true;
		return "disk limit";
	}
	if (lvl >= 2 || (lvl >= 1 && now >= atomic_load(&ag->drain_started) +
	    ag->cfg.drain_timeout_ms)) {
		j->drained = true;
		return "shutting down";
	}
	return NULL;
}

static void
terminate(struct job *j, const char *reason, int64_t now)
{
	struct lease_clock lc = runstate_lease(j->rs);
	int64_t grace = j->ag->cfg.kill_grace_ms;

	run_log_terminating(&j->logged_term, reason);
	if (j->drained)
		logship_runner_line(j->ls, "run released: runner is shutting down");
	j->termed = true;
	j->kill_at = lease_kill_at(&lc, now, grace, runstate_is_stale(j->rs));
	if (grace <= 0 || j->kill_at <= now) {
		jail_kill(&j->jp);
		j->killed = true;
	} else {
		jail_terminate(&j->jp);
	}
}

/* Escalation while the main process runs. */
static void
control_running(struct job *j, int64_t now)
{
	const char *why;

	if (!j->termed) {
		why = trigger(j, now);
		if (why != NULL)
			terminate(j, why, now);
		return;
	}
	if (runstate_is_stale(j->rs)) {	/* found stale meanwhile: cap */
		struct lease_clock lc = runstate_lease(j->rs);

		if (j->kill_at > lc.deadline_ms - 1000)
			j->kill_at = lc.deadline_ms - 1000;
	}
	if (atomic_load(&j->ag->drain) >= 3 || now >= j->kill_at) {
		jail_kill(&j->jp);
		j->killed = true;
	}
}

/* Reaps exited children other than the job's main process: any child with
 * one slot; with more, only those of the job's own process group (orphans
 * of its tree), so that a child another slot waits for is never taken. */
static void
reap_others(pid_t main_pid, bool main_reaped, bool any)
{
	siginfo_t si;

	for (;;) {
		memset(&si, 0, sizeof(si));
		if (waitid(any ? P_ALL : P_PGID, any ? 0 : (id_t)main_pid, &si,
		    WEXITED | WNOHANG | WNOWAIT) != 0 || si.si_pid == 0)
			return;
		if (si.si_pid == main_pid && !main_reaped)
			return;
		(void)waitpid(si.si_pid, NULL, WNOHANG);
	}
}

/* Clean-up after the main process exited (§5.9 step 1). */
static void
control_exited(struct job *j, int64_t now)
{
	int64_t grace = j->ag->cfg.kill_grace_ms;

	if (j->jp.reaped)
		return;
	if (!j->post_termed) {
		struct lease_clock lc = runstate_lease(j->rs);

		j->post_termed = true;
		j->post_kill_at = lease_kill_at(&lc, j->t0, grace, runstate_is_stale(j->rs));
		if (j->termed && j->kill_at < j->post_kill_at)
			j->post_kill_at = j->kill_at;
		if (now < j->post_kill_at)
			jail_terminate(&j->jp);
	}
	if (now >= j->post_kill_at || atomic_load(&j->ag->drain) >= 3)
		jail_kill(&j->jp);
}

static void
check_reaped(struct job *j)
{
	jail_poll(&j->jp);
	if (j->reaped || !j->jp.main_done)
		return;
	j->status = j->jp.main_status;
	j->reaped = true;
	j->t0 = mono_ms();
	pthread_mutex_lock(&j->rs->mu);
	j->rs->reaped = true;
	pthread_mutex_unlock(&j->rs->mu);
}

static int64_t
next_timeout(struct job *j, int64_t now)
{
	int64_t t = now + 1000, d;
	int lvl = atomic_load(&j->ag->drain);

	if (j->reaped)
		return 50;
	if (j->w != NULL && j->w->mounted && t > now + 250)
		t = now + 250;	/* watch the disk limit */
	if (j->timeout_at < t)
		t = j->timeout_at;
	d = runstate_fence_at(j->rs);
	if (d < t)
		t = d;
	if (j->termed && j->kill_at < t)
		t = j->kill_at;
	if (lvl == 1) {
		d = atomic_load(&j->ag->drain_started) + j->ag->cfg.drain_timeout_ms;
		if (d < t)
			t = d;
	}
	return t > now ? t - now : 0;
}

static void
set_pollfd(struct pollfd *pf, struct stream *s)
{
	pf->fd = (s->eof || s->off < s->len || logship_room(s->ls) < 2) ? -1 : s->fd;
	pf->events = POLLIN;
	pf->revents = 0;
}

void
pump_run(struct job *j)
{
	int64_t grace = j->ag->cfg.kill_grace_ms > 0 ? j->ag->cfg.kill_grace_ms : 0;

	for (;;) {
		struct pollfd pf[5];
		int64_t now = mono_ms();
		uint64_t v;

		check_reaped(j);
		reap_others(j->jp.p.pid, j->jp.reaped, j->ag->cfg.slots == 1);
		if (!j->reaped)
			control_running(j, now);
		else
			control_exited(j, now);
		read_stream(&j->out);
		read_stream(&j->err);
		if (j->reaped && j->out.eof && j->err.eof && j->jp.reaped)
			break;
		if (j->reaped && now > j->t0 + grace + 1000)
			break;	/* a process that left the group holds a pipe */
		pf[0] = (struct pollfd){ j->slot->wake_fd, POLLIN, 0 };
		pf[1] = (struct pollfd){ j->jp.reaped ? -1 : j->jp.p.pidfd, POLLIN, 0 };
		set_pollfd(&pf[2], &j->out);
		set_pollfd(&pf[3], &j->err);
		pf[4] = (struct pollfd){ j->jp.status_fd, POLLIN, 0 };
		(void)poll(pf, 5, (int)next_timeout(j, mono_ms()));
		if (pf[0].revents != 0 && read(j->slot->wake_fd, &v, sizeof(v)) < 0)
			(void)v;
	}
	finish_stream(&j->out);
	finish_stream(&j->err);
}
