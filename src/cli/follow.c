/*
 * follow: following a run over its event stream (cli.md §5), shared by
 * `runs watch`, `runs logs --follow` and `run`. The SSE follower of
 * src/lib/sse.c does the transport, resumption and back-off; this file
 * turns events into status lines, log lines and the exit code.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "sse.h"
#include "util.h"

struct watch {
	const struct follow_opts	*o;
	struct sse_follow		*f;
	char				 last_status[32];
	int				 exit;
};

int
exit_for_run_status(const char *status)
{
	if (strcmp(status, "completed") == 0)
		return EXIT_OK;
	if (strcmp(status, "cancelled") == 0)
		return EXIT_CANCELLED;
	return EXIT_FAIL;
}

static void
status_line(struct watch *w, const char *status)
{
	if (*status == '\0' || strcmp(status, w->last_status) == 0)
		return;
	snprintf(w->last_status, sizeof(w->last_status), "%s", status);
	if (w->o->status_lines) {
		printf("run %lld status: %s\n", (long long)w->o->run_id, status);
		fflush(stdout);
	}
}

static int
on_event(void *arg, const struct sse_event *ev)
{
	struct watch *w = arg;
	json_t *d;
	int stop = 0;

	if (strcmp(ev->type, "attempt") == 0) {
		/* seq restarts with the new attempt */
		sse_follow_set_last_id(w->f, "0");
		return 0;
	}
	d = json_loadb(ev->data, ev->data_len, JSON_DECODE_INT_AS_REAL | JSON_ALLOW_NUL, NULL);
	if (d == NULL)
		return 0;
	if (strcmp(ev->type, "status") == 0) {
		status_line(w, jstr(d, "status"));
	} else if (strcmp(ev->type, "log") == 0 && w->o->log_lines) {
		const json_t *line = json_object_get(d, "line");

		out_log_line(jint(d, "seq"), jstr(d, "stream"), json_is_string(line) ? json_string_value(line) : "",
		    json_is_string(line) ? json_string_length(line) : 0);
	} else if (strcmp(ev->type, "end") == 0) {
		status_line(w, jstr(d, "status"));
		if (w->o->json_end)
			out_json_text(ev->data, ev->data_len);
		w->exit = exit_for_run_status(jstr(d, "status"));
		stop = 1;
	}
	json_decref(d);
	return stop;
}

int
follow_run(struct cli *c, const struct follow_opts *o)
{
	struct sse_follow f = { 0 };
	struct watch w = { .o = o, .f = &f };
	char *path = xasprintf("/api/v1/runs/%lld/logs/stream?after_seq=%lld", (long long)o->run_id,
	    (long long)o->after_seq);
	char id[32];
	int rc;

	snprintf(id, sizeof(id), "%lld", (long long)o->after_seq);
	sse_follow_set_last_id(&f, id);
	f.client = c->client;
	f.path = path;
	f.bearer = c->token;
	f.retry_first_ms = o->interval_ms;
	f.on_event = on_event;
	f.arg = &w;
	fflush(stdout);
	switch (sse_follow_run(&f)) {
	case SSE_STOPPED:
		rc = w.exit;
		break;
	case SSE_REFUSED:
		rc = cli_fail(exit_for_status(f.status), "%s", f.message);
		break;
	case SSE_LOST:
		rc = cli_fail(EXIT_LOST, "lost connection to server: %s", f.message);
		break;
	default:
		rc = cli_fail(EXIT_FAIL, "%s", f.message);
		break;
	}
	fflush(stdout);
	free(path);
	return rc;
}
