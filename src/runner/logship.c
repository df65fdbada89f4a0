/*
 * logship: a ring of entries under one mutex, and a thread that takes up to
 * 100 of them at a time, encodes them and posts them with the retry rules of
 * call.c. The lock is never held during a request. Freed room is announced
 * through the run's eventfd so the main loop resumes reading the pipes.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "call.h"
#include "crashpoint.h"
#include "json.h"
#include "logship.h"
#include "client.h"
#include "log.h"
#include "util.h"

#define RING_CAP	(LOGSHIP_QUEUE_MAX + 200)	/* slack for runner lines */

struct entry {
	int64_t		 seq;
	int64_t		 ts_ms;
	int		 stream;
	char		*line;
};

struct logship {
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;		/* the shipper waits here */
	pthread_cond_t	 room_cv;	/* runner lines wait here when full */
	struct entry	 ring[RING_CAP];
	size_t		 head, count;
	int64_t		 next_seq;
	int64_t		 urgent_upto;	/* flush through this seq at once */
	bool		 finishing, stop;
	int64_t		 finish_deadline;
	bool		 busy;		/* a batch is being sent */
	bool		 dead;		/* stale: discard everything */
	pthread_t	 thread;
	struct runstate	*rs;
	struct client	*http;
};

static void
push_locked(struct logship *ls, int stream, char *line, int64_t ts_ms)
{
	struct entry *e = &ls->ring[(ls->head + ls->count) % RING_CAP];

	e->seq = ++ls->next_seq;
	e->ts_ms = ts_ms;
	e->stream = stream;
	e->line = line;
	ls->count++;
}

void
logship_push(struct logship *ls, enum logship_stream st, const char *line,
    size_t len, int64_t ts_ms)
{
	char *copy = xstrndup(line, len);

	pthread_mutex_lock(&ls->mu);
	while (ls->count >= RING_CAP && !ls->stop)	/* only past the soft cap */
		pthread_cond_wait(&ls->room_cv, &ls->mu);
	if (ls->count >= RING_CAP) {
		pthread_mutex_unlock(&ls->mu);
		free(copy);
		return;
	}
	push_locked(ls, (int)st, copy, ts_ms);
	if (ls->count >= LOGSHIP_BATCH_MAX)
		pthread_cond_signal(&ls->cv);
	pthread_mutex_unlock(&ls->mu);
}

void
logship_runner_line(struct logship *ls, const char *fmt, ...)
{
	va_list ap;
	char *text, *t;

	va_start(ap, fmt);
	if (vasprintf(&text, fmt, ap) == -1)
		abort();
	va_end(ap);
	t = str_trim(text);
	if (t[0] == '\0' || ls == NULL) {
		free(text);
		return;
	}
	if (strlen(t) > 8192)	/* runner texts are short; keep the cap */
		t[8192] = '\0';
	t = xstrdup(t);
	free(text);
	pthread_mutex_lock(&ls->mu);
	while (ls->count >= RING_CAP && !ls->stop)
		pthread_cond_wait(&ls->room_cv, &ls->mu);
	if (ls->count >= RING_CAP) {
		pthread_mutex_unlock(&ls->mu);
		free(t);
		return;
	}
	push_locked(ls, LOG_STDERR, t, now_ms());
	ls->urgent_upto = ls->next_seq;
	pthread_cond_signal(&ls->cv);
	pthread_mutex_unlock(&ls->mu);
}

size_t
logship_room(struct logship *ls)
{
	size_t room;

	pthread_mutex_lock(&ls->mu);
	room = ls->count >= LOGSHIP_QUEUE_MAX ? 0 : LOGSHIP_QUEUE_MAX - ls->count;
	pthread_mutex_unlock(&ls->mu);
	return room;
}

int64_t
logship_last_seq(struct logship *ls)
{
	int64_t v;

	pthread_mutex_lock(&ls->mu);
	v = ls->next_seq;
	pthread_mutex_unlock(&ls->mu);
	return v;
}

/* Encodes entries [0, n) of batch as the /logs body. */
static char *
encode_batch(struct entry *batch, size_t n)
{
	struct buf b;
	char ts[40];
	size_t i;

	buf_init(&b, 16 * 1024 * 1024);
	buf_adds(&b, "{\"logs\":[");
	for (i = 0; i < n; i++) {
		fmt_rfc3339_ms(batch[i].ts_ms, ts, sizeof(ts));
		buf_addf(&b, "%s{\"seq\":%lld,\"stream\":\"%s\",\"line\":", i ? "," : "",
		    (long long)batch[i].seq, batch[i].stream == LOG_STDOUT ? "stdout" : "stderr");
		json_encode_str(&b, batch[i].line, strlen(batch[i].line));
		buf_addf(&b, ",\"logged_at\":\"%s\"}", ts);
	}
	buf_adds(&b, "]}");
	return buf_take(&b);
}

static bool
ship_abort(void *arg)
{
	struct logship *ls = arg;
	bool stop;

	pthread_mutex_lock(&ls->mu);
	stop = ls->stop || (ls->finishing && mono_ms() >= ls->finish_deadline);
	pthread_mutex_unlock(&ls->mu);
	return stop;
}

/* Sends one batch with retries; marks the shipper dead on a stale answer. */
static void
send_batch(struct logship *ls, struct entry *batch, size_t n, int64_t stop_at)
{
	struct client_resp resp;
	struct err err;
	struct call c = {
		.method = "POST", .suffix = "/logs", .stop_at = stop_at,
		.abort = ship_abort, .abort_arg = ls,
	};
	char msg[600];
	int rc;

	c.body = encode_batch(batch, n);
	client_resp_init(&resp);
	err_clear(&err);
	rc = call_do(ls->http, ls->rs, &c, &resp, &err);
	if (rc == CALL_OK && resp.status >= 200 && resp.status < 300) {
		/* delivered */
	} else if (rc == CALL_OK && call_is_stale(resp.status)) {
		log_warn("stale lease on log flush", NULL);
		pthread_mutex_lock(&ls->mu);
		ls->dead = true;
		pthread_mutex_unlock(&ls->mu);
		runstate_mark_stale(ls->rs);
	} else {
		if (rc == CALL_OK)
			call_status_text(&resp, msg, sizeof(msg));
		else
			snprintf(msg, sizeof(msg), "%.560s", err.msg);
		log_warn("log flush failed", "error=%s", msg);
	}
	free((char *)(uintptr_t)c.body);
	client_resp_free(&resp);
}

/* Should a batch go out now? Called with the lock held. */
static bool
due(struct logship *ls, int64_t last_flush)
{
	if (ls->count == 0)
		return false;
	return ls->count >= LOGSHIP_BATCH_MAX || ls->finishing || ls->dead ||
	    ls->urgent_upto >= ls->ring[ls->head].seq ||
	    mono_ms() - last_flush >= 2000;
}

static void
wait_due(struct logship *ls, int64_t last_flush)
{
	struct timespec ts;
	int64_t wake = now_ms() + 2000 - (mono_ms() - last_flush);

	if (wake < now_ms() + 5)
		wake = now_ms() + 5;
	ts.tv_sec = wake / 1000;
	ts.tv_nsec = (wake % 1000) * 1000000L;
	pthread_cond_timedwait(&ls->cv, &ls->mu, &ts);
}

static void *
ship_main(void *arg)
{
	struct logship *ls = arg;
	struct entry batch[LOGSHIP_BATCH_MAX];
	int64_t last_flush = mono_ms();
	size_t n, i;
	bool dead;

	pthread_mutex_lock(&ls->mu);
	for (;;) {
		while (!ls->stop && !due(ls, last_flush) &&
		    !(ls->finishing && ls->count == 0))
			wait_due(ls, last_flush);
		if (ls->stop || (ls->finishing && ls->count == 0))
			break;
		for (n = 0; n < LOGSHIP_BATCH_MAX && ls->count > 0; n++) {
			batch[n] = ls->ring[ls->head];
			ls->head = (ls->head + 1) % RING_CAP;
			ls->count--;
		}
		ls->busy = true;
		dead = ls->dead;
		pthread_cond_broadcast(&ls->room_cv);
		pthread_mutex_unlock(&ls->mu);
		runstate_wake(ls->rs);	/* room for the readers */
		if (!dead) {
			int64_t stop_at = runstate_fence_at(ls->rs), budget = mono_ms() + 30000;

			pthread_mutex_lock(&ls->mu);
			if (ls->finishing && ls->finish_deadline < budget)
				budget = ls->finish_deadline;
			pthread_mutex_unlock(&ls->mu);
			if (stop_at > budget)
				stop_at = budget;
			send_batch(ls, batch, n, stop_at);
			if (n == LOGSHIP_BATCH_MAX)
				CRASH_POINT("logs");	/* between two batches */
		}
		for (i = 0; i < n; i++)
			free(batch[i].line);
		last_flush = mono_ms();
		pthread_mutex_lock(&ls->mu);
		ls->busy = false;
		pthread_cond_broadcast(&ls->cv);
	}
	pthread_mutex_unlock(&ls->mu);
	return NULL;
}

struct logship *
logship_start(struct runstate *rs, struct client *http)
{
	struct logship *ls = xcalloc(1, sizeof(*ls));

	pthread_mutex_init(&ls->mu, NULL);
	pthread_cond_init(&ls->cv, NULL);
	pthread_cond_init(&ls->room_cv, NULL);
	ls->rs = rs;
	ls->http = http;
	if (pthread_create(&ls->thread, NULL, ship_main, ls) != 0)
		abort();
	return ls;
}

void
logship_finish(struct logship *ls, int64_t deadline_ms)
{
	size_t i;

	if (ls == NULL)
		return;
	pthread_mutex_lock(&ls->mu);
	ls->finishing = true;
	ls->finish_deadline = deadline_ms;
	pthread_cond_broadcast(&ls->cv);
	while ((ls->count > 0 || ls->busy) && !ls->dead) {
		struct timespec ts;
		int64_t wake = now_ms() + 50;

		if (mono_ms() >= deadline_ms) {
			client_interrupt(ls->http);	/* the budget is spent */
			break;
		}
		ts.tv_sec = wake / 1000;
		ts.tv_nsec = (wake % 1000) * 1000000L;
		pthread_cond_timedwait(&ls->cv, &ls->mu, &ts);
	}
	ls->stop = true;
	pthread_cond_broadcast(&ls->cv);
	pthread_cond_broadcast(&ls->room_cv);
	pthread_mutex_unlock(&ls->mu);
	pthread_join(ls->thread, NULL);
	for (i = 0; i < ls->count; i++)
		free(ls->ring[(ls->head + i) % RING_CAP].line);
	pthread_cond_destroy(&ls->cv);
	pthread_cond_destroy(&ls->room_cv);
	pthread_mutex_destroy(&ls->mu);
	free(ls);
}
