/*
 * api_runs: the team side of runs (api.md §1.6, §1.7): creation with its
 * idempotency key and parameter defaults, the lists, the summary, one run,
 * cancel, the log list and the attempt list, and the admin runner list.
 * The event stream is in stream.c, the runner protocol in api_runner.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "api_runs.h"
#include "crypto.h"
#include "encode.h"
#include "json.h"
#include "log.h"
#include "metrics.h"
#include "notify.h"
#include "schema.h"
#include "store.h"
#include "util.h"

#define MAX_INPUT_BYTES 1048576

/* ---- shared helpers (api_runs.h) ---- */

int
runs_query_int(const struct req *rq, const char *name, int64_t *v)
{
	size_t len = 0;
	const char *s = http_query(rq, name, &len);

	if (s == NULL)
		return 0;
	switch (parse_i64n(s, len, v)) {
	case 0:
		return 1;
	case -2:
		return -2;
	default:
		return -1;
	}
}

void
runs_fail(struct resp *rs, const struct err *err, const char *op)
{
	if (err->code == ERR_INTERNAL || err->code == ERR_IO || err->code == ERR_NONE) {
		log_error(op, "error=%s", err->msg);
		resp_error(rs, ERR_INTERNAL, "internal error");
		return;
	}
	resp_err(rs, err);
}

void
runs_answer(struct resp *rs, int status, json_t *v)
{
	resp_jsonv(rs, status, v);
	json_decref(v);
}

void
runs_log_finished(int64_t run_id, int64_t attempt_no, const char *team, const char *app,
    const char *status, const char *reason)
{
	if (attempt_no > 0)
		log_info("run finished", "run_id=%d attempt_no=%d team=%s app=%s status=%s reason=%s",
		    run_id, attempt_no, team, app, status, reason);
	else
		log_info("run finished", "run_id=%d team=%s app=%s status=%s reason=%s", run_id, team,
		    app, status, reason);
}

/* Reads the attempt, after_seq and Last-Event-ID parameters. */
static int
log_params(struct req *rq, struct resp *rs, bool with_last_id, struct log_sel *sel)
{
	const char *last = with_last_id ? http_header(rq, "Last-Event-ID") : NULL;
	int64_t v = 0;
	int rc;

	memset(sel, 0, sizeof(*sel));
	rc = runs_query_int(rq, "attempt", &v);
	if (rc < 0 || (rc == 1 && v < 1)) {
		resp_error(rs, ERR_INVALID, "attempt must be a positive integer");
		return -1;
	}
	sel->attempt_no = rc == 1 ? v : 0;
	sel->resume = last != NULL && last[0] != '\0';
	if (!sel->resume) {
		rc = runs_query_int(rq, "after_seq", &v);
		if (rc < 0 || (rc == 1 && v < 0)) {
			resp_error(rs, ERR_INVALID, "after_seq must be a non-negative integer");
			return -1;
		}
		sel->after_seq = rc == 1 ? v : 0;
		return 0;
	}
	if (parse_i64(last, &v) != 0 || v < 0) {
		resp_error(rs, ERR_INVALID, "Last-Event-ID must be a non-negative integer");
		return -1;
	}
	sel->after_seq = v;
	return 0;
}

int
runs_log_request(struct req *rq, struct resp *rs, bool with_last_id, struct run *run,
    struct log_sel *sel, int64_t *attempt_id, int64_t *attempt_no)
{
	struct err err;
	int64_t run_id;

	if (api_run_id(rq, rs, &run_id) == -1)
		return -1;
	if (store_run_get(rq->team.team_id, run_id, run, &err) == -1) {
		runs_fail(rs, &err, "get run");
		return -1;
	}
	if (log_params(rq, rs, with_last_id, sel) == -1 ||
	    store_attempt_find(run_id, sel->attempt_no, attempt_id, attempt_no, &err) == -1) {
		if (rs->status == 0)
			runs_fail(rs, &err, "get logs");
		store_run_clear(run);
		return -1;
	}
	return 0;
}

/* ---- run creation ---- */

struct create_req {
	json_t	*input;		/* borrowed from the body; NULL when absent */
	bool	 has_version;
	int64_t	 version_no;
	int64_t	 priority;
	int64_t	 max_retries;
	char	*idem_key;	/* NULL when none */
	char	 fingerprint[65];
};

int
runs_idem_key(struct req *rq, struct resp *rs, char **out)
{
	const char *h = http_header(rq, "Idempotency-Key");
	char *k;
	size_t i, n;

	*out = NULL;
	if (h == NULL)
		return 0;
	k = str_trim(xstrdup(h));
	n = strlen(k);
	if (n == 0) {
		free(k);
		return 0;
	}
	for (i = 0; i < n && n <= 255; i++)
		if ((unsigned char)k[i] < 0x20 || (unsigned char)k[i] > 0x7e)
			break;
	if (n > 255 || i < n) {
		free(k);
		resp_error(rs, ERR_INVALID, "Idempotency-Key must be 1 to 255 printable ASCII characters");
		return -1;
	}
	*out = k;
	return 0;
}

/* An integer field within [lo, hi]; answers msg otherwise. */
static int
ranged(json_t *body, const char *name, int64_t lo, int64_t hi, int64_t *v, struct resp *rs,
    const char *msg)
{
	int rc = json_get_int(body, name, v);

	if (rc == 0) {
		*v = 0;
		return 0;
	}
	if (rc == -1 || *v < lo || *v > hi) {
		resp_error(rs, ERR_INVALID, msg);
		return -1;
	}
	return 0;
}

static void
fingerprint(const struct create_req *cr, char out[65])
{
	json_t *o = json_object();
	char *s;

	json_object_set_new(o, "input", cr->input != NULL ? json_incref(cr->input) : json_object());
	json_object_set_new(o, "max_retries", json_integer(cr->max_retries));
	json_object_set_new(o, "priority", json_integer(cr->priority));
	json_object_set_new(o, "version_no", cr->has_version ? json_integer(cr->version_no) :
	    json_null());
	s = json_dumps_sorted(o);
	crypto_sha256_hex(s, strlen(s), out);
	free(s);
	json_decref(o);
}

/* Decodes and checks the body in the order of api.md §1.6.1. */
static int
decode_create(struct resp *rs, json_t *body, struct create_req *cr)
{
	json_t *in = json_field(body, "input");
	char *s;
	size_t n;

	if ((in != NULL && !json_is_object(in)) ||
	    json_get_int(body, "version_no", &cr->version_no) == -1) {
		resp_error(rs, ERR_INVALID, "malformed JSON body");
		return -1;
	}
	cr->input = in;
	cr->has_version = json_field(body, "version_no") != NULL;
	if (ranged(body, "priority", INT32_MIN, INT32_MAX, &cr->priority, rs,
	    "priority must be between -2147483648 and 2147483647") == -1 ||
	    ranged(body, "max_retries", 0, 1000, &cr->max_retries, rs,
	    "max_retries must be between 0 and 1000") == -1)
		return -1;
	if (in != NULL) {
		s = json_dumps_sorted(in);
		n = strlen(s);
		free(s);
		if (n > MAX_INPUT_BYTES) {
			resp_error(rs, ERR_INVALID, "input exceeds 1 MiB");
			return -1;
		}
	}
	fingerprint(cr, cr->fingerprint);
	return 0;
}

int
runs_input_check(const json_t *input, const char *schema_json, json_t **out, struct err *err)
{
	json_t *schema = NULL;

	*out = NULL;
	if (schema_json == NULL || json_decode(schema_json, strlen(schema_json), false, &schema) == -1) {
		*out = input != NULL ? json_incref((json_t *)(uintptr_t)input) : NULL;
		return 0;
	}
	if (schema_validate(schema, input, err) == -1) {
		err_prefix(err, "input does not match schema: ");
		json_decref(schema);
		return -1;
	}
	*out = schema_apply_defaults(schema, input);
	json_decref(schema);
	return 0;
}

/* runs_input_check answering rs; *bad is set (and rs answered) when the
 * input does not match. */
static json_t *
checked_input(struct resp *rs, const json_t *input, const char *schema_json, bool *bad)
{
	struct err err;
	json_t *out;

	*bad = runs_input_check(input, schema_json, &out, &err) == -1;
	if (*bad)
		resp_err(rs, &err);
	return out;
}

/* Answers with the run the key already created (api.md §1.6.2). */
static void
replay(struct resp *rs, struct run *r)
{
	runs_answer(rs, 200, encode_run(r));
	resp_header(rs, "Idempotent-Replayed", "true");
}

/* The pre-check of a known key; returns 1 when rs holds the answer. */
static int
idem_precheck(struct req *rq, struct resp *rs, int64_t app_id, const struct create_req *cr)
{
	struct run r;
	struct err err;
	char sha[65];
	int64_t run_id;
	int rc = store_idem_lookup(rq->team.team_id, app_id, cr->idem_key, &run_id, sha, &err);

	if (rc == 0)
		return 0;
	if (rc == -1) {
		runs_fail(rs, &err, "create run");
		return 1;
	}
	if (strcmp(sha, cr->fingerprint) != 0) {
		resp_error(rs, ERR_IDEMPOTENCY, "Idempotency-Key was already used with a different request");
		return 1;
	}
	if (store_run_get(0, run_id, &r, &err) == -1) {
		runs_fail(rs, &err, "create run");
		return 1;
	}
	replay(rs, &r);
	store_run_clear(&r);
	return 1;
}

/* Version lookup, schema check and insert; answers in every case. */
static void
create(struct req *rq, struct resp *rs, const struct app *a, const struct create_req *cr)
{
	struct run_new nr;
	struct version v;
	struct run r;
	struct err err;
	json_t *input = NULL;
	char *input_json = NULL;
	bool replayed, bad;

	if (cr->has_version && cr->version_no <= 0) {
		resp_error(rs, ERR_NOT_FOUND, "version not found");
		return;
	}
	if (store_version_get(a->id, cr->has_version ? cr->version_no : 0, &v, &err) == -1) {
		runs_fail(rs, &err, "create run");
		return;
	}
	input = checked_input(rs, cr->input, v.params_schema_json, &bad);
	if (bad)
		goto out;
	input_json = input != NULL ? json_dumps_sorted(input) : NULL;
	nr = (struct run_new){ rq->team.team_id, a->id, v.id, input_json, cr->priority,
	    cr->max_retries, cr->idem_key, cr->fingerprint, 0, 0 };
	if (store_run_create(&nr, &r, &replayed, &err) == -1) {
		runs_fail(rs, &err, "create run");
		goto out;
	}
	if (replayed) {
		replay(rs, &r);
	} else {
		metrics_run_created(rq->team.team_slug, a->slug);
		log_info("run created", "run_id=%d team=%s app=%s run_no=%d", r.id,
		    rq->team.team_slug, a->slug, r.run_no);
		notify_runnable(r.environment, 1);
		runs_answer(rs, 201, encode_run(&r));
	}
	store_run_clear(&r);
out:
	free(input_json);
	json_decref(input);
	store_version_clear(&v);
}

void
api_run_create(struct req *rq, struct resp *rs)
{
	struct create_req cr;
	struct app a;
	struct err err;
	json_t *body = NULL;

	memset(&cr, 0, sizeof(cr));
	if (store_app_get(rq->team.team_id, rq->param, &a, &err) == -1) {
		runs_fail(rs, &err, "get app");
		return;
	}
	if (runs_idem_key(rq, rs, &cr.idem_key) == -1 ||
	    (body = api_body(rq, rs, true, "malformed JSON body")) == NULL ||
	    decode_create(rs, body, &cr) == -1)
		goto out;
	if (cr.idem_key != NULL && idem_precheck(rq, rs, a.id, &cr))
		goto out;
	create(rq, rs, &a, &cr);
out:
	json_decref(body);
	free(cr.idem_key);
	store_app_clear(&a);
}

/* ---- lists and single runs ---- */

int
runs_paging(struct req *rq, struct resp *rs, int64_t *limit, int64_t *offset)
{
	int rc;

	*limit = 50;
	*offset = 0;
	if ((rc = runs_query_int(rq, "limit", limit)) == -1) {
		resp_error(rs, ERR_INVALID, "limit must be an integer");
		return -1;
	}
	*limit = *limit < 1 ? 1 : *limit > 100 ? 100 : *limit;
	if ((rc = runs_query_int(rq, "offset", offset)) == -1) {
		resp_error(rs, ERR_INVALID, "offset must be an integer");
		return -1;
	}
	if (*offset < 0)
		*offset = 0;
	return 0;
}

/* The ?schedule_id= filter (0 when absent); -1 answered. */
static int
schedule_filter(struct req *rq, struct resp *rs, int64_t *id)
{
	int rc = runs_query_int(rq, "schedule_id", id);

	if (rc == 0) {
		*id = 0;
		return 0;
	}
	if (rc < 0 || *id < 1) {
		resp_error(rs, ERR_INVALID, "schedule_id must be a positive integer");
		return -1;
	}
	return 0;
}

/* The list options of issue 17: order=recent (newest first) and
 * total=true (the X-Total-Count header). Absent: today's order, no count. */
static int
list_options(struct req *rq, struct resp *rs, struct run_filter *f, bool *want_total)
{
	const char *order = http_query(rq, "order", NULL);
	const char *total = http_query(rq, "total", NULL);

	if (order != NULL && strcmp(order, "recent") != 0) {
		resp_error(rs, ERR_INVALID, "order must be \"recent\"");
		return -1;
	}
	if (total != NULL && strcmp(total, "true") != 0 && strcmp(total, "false") != 0) {
		resp_error(rs, ERR_INVALID, "total must be true or false");
		return -1;
	}
	f->recent = order != NULL;
	*want_total = total != NULL && strcmp(total, "true") == 0;
	return 0;
}

static void
answer_runs(struct resp *rs, const struct run_filter *f, bool want_total)
{
	struct run *runs;
	struct err err;
	int64_t total;
	char num[24];
	size_t n, i;
	json_t *arr;

	if (want_total) {
		if (store_run_count(f, &total, &err) == -1) {
			runs_fail(rs, &err, "count runs");
			return;
		}
		snprintf(num, sizeof(num), "%lld", (long long)total);
		resp_header(rs, "X-Total-Count", num);
	}
	if (store_run_list(f, &runs, &n, &err) == -1) {
		runs_fail(rs, &err, "list runs");
		return;
	}
	arr = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(arr, encode_run(&runs[i]));
	store_runs_free(runs, n);
	runs_answer(rs, 200, json_pack("{so}", "runs", arr));
}

void
api_app_runs(struct req *rq, struct resp *rs)
{
	struct run_filter f;
	struct app a;
	struct err err;
	bool want_total;

	memset(&f, 0, sizeof(f));
	if (list_options(rq, rs, &f, &want_total) == -1)
		return;
	if (store_app_get(rq->team.team_id, rq->param, &a, &err) == -1) {
		runs_fail(rs, &err, "get app");
		return;
	}
	f.team_id = rq->team.team_id;
	f.app_id = a.id;
	store_app_clear(&a);
	if (runs_paging(rq, rs, &f.limit, &f.offset) == -1 ||
	    schedule_filter(rq, rs, &f.schedule_id) == -1)
		return;
	answer_runs(rs, &f, want_total);
}

static bool
valid_status(const char *s)
{
	static const char *const all[] = { "queued", "leased", "running", "cancelling",
	    "completed", "failed", "cancelled", "dead" };
	size_t i;

	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (strcmp(s, all[i]) == 0)
			return true;
	return false;
}

/* A trimmed text filter: NULL when absent or blank; -1 when it holds NUL. */
static int
text_filter(struct req *rq, const char *name, char **out)
{
	size_t len = 0;
	const char *s = http_query(rq, name, &len);

	*out = NULL;
	if (s == NULL)
		return 0;
	if (memchr(s, '\0', len) != NULL)
		return -1;
	*out = str_trim(xstrdup(s));
	if (**out == '\0') {
		free(*out);
		*out = NULL;
	}
	return 0;
}

void
api_run_list(struct req *rq, struct resp *rs)
{
	struct run_filter f;
	char *status = NULL, *app = NULL;
	bool want_total;

	memset(&f, 0, sizeof(f));
	f.team_id = rq->team.team_id;
	if (runs_paging(rq, rs, &f.limit, &f.offset) == -1 ||
	    list_options(rq, rs, &f, &want_total) == -1 ||
	    schedule_filter(rq, rs, &f.schedule_id) == -1)
		return;
	if (text_filter(rq, "status", &status) == -1 || (status != NULL && !valid_status(status))) {
		resp_error(rs, ERR_INVALID, "invalid status filter");
		goto out;
	}
	if (text_filter(rq, "app", &app) == -1) {
		resp_error(rs, ERR_INVALID, "invalid app filter");
		goto out;
	}
	f.status = status;
	f.app_slug = app;
	answer_runs(rs, &f, want_total);
out:
	free(status);
	free(app);
}

void
api_run_summary(struct req *rq, struct resp *rs)
{
	struct run_summary s;
	struct err err;

	if (store_run_summary(rq->team.team_id, &s, &err) == -1) {
		runs_fail(rs, &err, "run summary");
		return;
	}
	runs_answer(rs, 200, json_pack("{sIsIsIsI}", "total_runs", (json_int_t)s.total,
	    "active_runs", (json_int_t)s.active, "queued_runs", (json_int_t)s.queued,
	    "terminal_runs", (json_int_t)s.terminal));
}

void
api_run_get(struct req *rq, struct resp *rs)
{
	struct run r;
	struct err err;
	json_t *o;
	int64_t id;

	if (api_run_id(rq, rs, &id) == -1)
		return;
	if (store_run_get(rq->team.team_id, id, &r, &err) == -1) {
		runs_fail(rs, &err, "get run");
		return;
	}
	o = encode_run(&r);
	api_secrets_run_note(&r, o);
	runs_answer(rs, 200, o);
	store_run_clear(&r);
}

void
runs_cancelled(const struct run *r, const char *old, int64_t attempt_no)
{
	if (strcmp(old, "queued") == 0 && strcmp(r->status, "cancelled") == 0) {
		metrics_run_completed(r->team_slug, r->app_slug, "cancelled", -1, -1,
		    metrics_span_s(r->queued_at, r->finished_at));
		runs_log_finished(r->id, attempt_no, r->team_slug, r->app_slug, "cancelled", "cancel");
	} else if (strcmp(old, r->status) != 0 && strcmp(r->status, "cancelling") == 0) {
		log_info("run cancel requested", "run_id=%d attempt_no=%d team=%s app=%s", r->id,
		    attempt_no, r->team_slug, r->app_slug);
	} else {
		return;
	}
	notify_run(r->id);
}

void
api_run_cancel(struct req *rq, struct resp *rs)
{
	char old[STORE_STATUS_MAX];
	struct run r;
	struct err err;
	int64_t id, attempt_no;

	if (api_run_id(rq, rs, &id) == -1)
		return;
	if (store_run_cancel(rq->team.team_id, id, &r, old, &attempt_no, &err) == -1) {
		runs_fail(rs, &err, "cancel run");
		return;
	}
	runs_cancelled(&r, old, attempt_no);
	runs_answer(rs, 200, encode_run(&r));
	store_run_clear(&r);
}

/* GET /runs/{run}/logs is streamed with chunked encoding (api.md §1.6.8):
 * each fill reads one page after the last seq sent, with no read
 * transaction held between pages. A page is 200 rows (the spec allows up
 * to 1000) so that its worst-case JSON, 8 KiB lines escaped as \u00XX,
 * stays inside the stream's 16 MiB buffer. */
#define LOG_STREAM_PAGE 200

struct logs_out {
	int64_t	 attempt_id;		/* 0: no attempt, no lines */
	int64_t	 after;
	bool	 started, sent_line;
};

static int
logs_fill(void *ctx, struct buf *out, enum wake_reason wake, int64_t *wait_run, uint64_t *gen)
{
	struct logs_out *lo = ctx;
	struct log_entry *e;
	struct err err;
	size_t n, i;

	(void)wake; (void)wait_run; (void)gen;
	if (!lo->started) {
		lo->started = true;
		buf_adds(out, "{\"logs\":[");
		if (lo->attempt_id == 0)
			goto end;
		return 1;
	}
	if (store_log_page(lo->attempt_id, lo->after, 0, LOG_STREAM_PAGE, &e, &n, &err) == -1) {
		log_error("get logs failed", "error=%s", err.msg);
		return RESP_STREAM_FAILED;
	}
	for (i = 0; i < n; i++) {
		json_t *v = encode_log(&e[i]);

		if (lo->sent_line)
			buf_addc(out, ',');
		lo->sent_line = true;
		json_encode(out, v, NULL, false);
		json_decref(v);
		lo->after = e[i].seq;
	}
	store_logs_free(e, n);
	if (!buf_ok(out))
		return RESP_STREAM_FAILED;
	if (n == LOG_STREAM_PAGE)
		return 1;
end:
	buf_adds(out, "]}\n");
	return -1;
}

void
api_run_logs(struct req *rq, struct resp *rs)
{
	struct logs_out *lo;
	struct log_sel sel;
	struct run run;
	int64_t attempt_id, attempt_no;

	if (runs_log_request(rq, rs, false, &run, &sel, &attempt_id, &attempt_no) == -1)
		return;
	store_run_clear(&run);
	lo = xcalloc(1, sizeof(*lo));
	lo->attempt_id = attempt_id;
	lo->after = sel.after_seq;
	rs->stream = xcalloc(1, sizeof(*rs->stream));
	rs->stream->fill = logs_fill;
	rs->stream->free = free;
	rs->stream->ctx = lo;
	rs->stream->on_worker = true;
	rs->status = 200;
	rs->content_type = "application/json";
}

void
api_run_attempts(struct req *rq, struct resp *rs)
{
	struct attempt_rec *a;
	struct run r;
	struct err err;
	int64_t id;
	size_t n, i;
	json_t *arr;

	if (api_run_id(rq, rs, &id) == -1)
		return;
	if (store_run_get(rq->team.team_id, id, &r, &err) == -1) {
		runs_fail(rs, &err, "get run");
		return;
	}
	store_run_clear(&r);
	if (store_attempt_list(id, &a, &n, &err) == -1) {
		runs_fail(rs, &err, "list attempts");
		return;
	}
	arr = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(arr, encode_attempt_rec(&a[i]));
	store_attempt_recs_free(a, n);
	runs_answer(rs, 200, json_pack("{so}", "attempts", arr));
}

void
api_admin_runners(struct req *rq, struct resp *rs)
{
	struct runner_row *r;
	struct err err;
	size_t n, i;
	json_t *arr;

	(void)rq;
	if (store_runner_list(&r, &n, &err) == -1) {
		runs_fail(rs, &err, "list runners");
		return;
	}
	arr = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(arr, encode_runner(&r[i]));
	store_runners_free(r, n);
	runs_answer(rs, 200, json_pack("{so}", "runners", arr));
}
