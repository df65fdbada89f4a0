/*
 * api_runs.h: helpers shared by the run files (api_runs.c, api_runner.c,
 * api_result.c, stream.c) and nothing else: query integers, the log-selection parameters
 * and the run lifecycle log lines of observability.md §2.2.
 */
#ifndef MT_API_RUNS_H
#define MT_API_RUNS_H

#include <stdint.h>

#include "http.h"
#include "store.h"

/* Reads the integer query parameter name (api.md §0.5): 0 absent or empty
 * (*v untouched), 1 read, -1 malformed (NUL, sign only, ...), -2 well-formed
 * but beyond 64 bits (*v clamped to INT64_MIN / INT64_MAX). */
int runs_query_int(const struct req *rq, const char *name, int64_t *v);

/* Which lines of which attempt a log read wants (§1.6.8 / §1.6.9). */
struct log_sel {
	int64_t	 attempt_no;	/* 0: the latest */
	int64_t	 after_seq;
	bool	 resume;	/* Last-Event-ID given */
};
/* Checks run (404 within the team), attempt, after_seq and, when
 * with_last_id, Last-Event-ID, in the spec's order; answers the error and
 * returns -1, or fills *run (caller clears), *sel, *attempt_id and
 * *attempt_no (0 when the run has no attempt). */
int runs_log_request(struct req *rq, struct resp *rs, bool with_last_id, struct run *run,
    struct log_sel *sel, int64_t *attempt_id, int64_t *attempt_no);

/* Validates input (NULL: none) against a version's params_schema_json
 * (towerfile.md §4; NULL: no schema) and sets *out (caller decrefs; NULL
 * when none) to the input to store, defaults added. -1 with ERR_INVALID
 * "input does not match schema: ..." when it does not match. */
int runs_input_check(const json_t *input, const char *schema_json, json_t **out,
    struct err *err);
/* Logs, metrics and wake-ups of a cancel that changed something (old: the
 * status before, attempt_no the run's latest attempt). */
void runs_cancelled(const struct run *r, const char *old, int64_t attempt_no);

/* The trimmed Idempotency-Key of api.md §1.6.2 (*out NULL when absent or
 * blank, else the caller frees it); -1 (answered 400) when invalid. */
int runs_idem_key(struct req *rq, struct resp *rs, char **out);
/* limit (default 50, clamped to [1, 100]) and offset of api.md §0.5; -1
 * (answered 400) when malformed. */
int runs_paging(struct req *rq, struct resp *rs, int64_t *limit, int64_t *offset);

/* Answers a store error: ERR_INTERNAL is logged as op and hidden. */
void runs_fail(struct resp *rs, const struct err *err, const char *op);
/* Sets a JSON response from v (taken). */
void runs_answer(struct resp *rs, int status, json_t *v);

/* The "run finished" log line; attempt_no 0 leaves it out. */
void runs_log_finished(int64_t run_id, int64_t attempt_no, const char *team, const char *app,
    const char *status, const char *reason);

/* The prelude of api.md §1.8.3 up to the lease check (api_runner.c): the
 * run id and the hash of X-Lease-Token; answers the error and returns -1. */
int runner_prelude(struct req *rq, struct resp *rs, int64_t *run_id, char hash[65]);
/* Answers 200 {"status":"ok"}. */
void runner_answer_ok(struct resp *rs);

#endif
