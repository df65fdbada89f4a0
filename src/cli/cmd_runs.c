/*
 * cmd_runs: `runs create|list|get|cancel|retry|watch|logs` (cli.md §4.11).
 * watch and logs --follow hand over to follow.c; `run` (cmd_run.c) shares
 * the creation call and its output line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "json.h"
#include "util.h"

static const struct column run_cols[] = {
	{ "RUN_ID", "run_id", COL_VALUE, 0 }, { "RUN_NO", "run_no", COL_VALUE, 0 },
	{ "APP", "app_slug", COL_TEXT, 0 }, { "STATUS", "status", COL_TEXT, 0 },
	{ "VERSION", "version_no", COL_VALUE, 0 }, { "QUEUED_AT", "queued_at", COL_TEXT, 0 },
	COLUMNS_END,
};

/* Appends "\"key\":" to an object under construction in b (which starts
 * with "{"), with a comma unless it is the first member. */
static void
member(struct buf *b, const char *key)
{
	if (b->len > 1)
		buf_addc(b, ',');
	json_encode_str(b, key, strlen(key));
	buf_addc(b, ':');
}

/* Validates --input: a JSON object or null. Returns 0 or an exit code. */
static int
check_input(const char *text)
{
	json_error_t je;
	json_t *v = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
	int ok = v != NULL && (json_is_object(v) || json_is_null(v));

	json_decref(v);
	if (v == NULL)
		return cli_fail(EXIT_FAIL, "invalid --input JSON: %s", je.text);
	if (!ok)
		return cli_fail(EXIT_FAIL, "invalid --input JSON: must be a JSON object");
	return 0;
}

/* Builds the runs create body from the given flags; returns 0 or an exit code. */
static int
create_body(struct flagset *fs, struct buf *b)
{
	const struct flag *in = flags_get(fs, "input"), *ver = flags_get(fs, "version");
	const struct flag *pri = flags_get(fs, "priority"), *mr = flags_get(fs, "max-retries");
	int64_t n;
	int rc;

	buf_addc(b, '{');
	if (in->set) {
		rc = check_input(in->str);
		if (rc != 0)
			return rc;
		member(b, "input");
		buf_adds(b, in->str);
	}
	if (ver->set) {
		if (parse_i64(ver->str, &n) != 0 || n <= 0)
			return cli_fail(EXIT_FAIL, "--version must be a positive integer");
		member(b, "version_no");
		buf_addf(b, "%lld", (long long)n);
	}
	if (pri->set) {
		if (parse_i64(pri->str, &n) != 0)
			return cli_fail(EXIT_FAIL, "--priority must be an integer");
		member(b, "priority");
		buf_addf(b, "%lld", (long long)n);
	}
	if (mr->set) {
		if (parse_i64(mr->str, &n) != 0 || n < 0)
			return cli_fail(EXIT_FAIL, "--max-retries must be a non-negative integer");
		member(b, "max_retries");
		buf_addf(b, "%lld", (long long)n);
	}
	buf_addc(b, '}');
	return 0;
}

/* POSTs body to the app's runs; returns 0 or an exit code. */
int
runs_create_for(struct cli *c, const char *app, const char *body, struct api_resp *r)
{
	char *esc = api_escape(app), *path = xasprintf("/api/v1/apps/%s/runs", esc);
	int rc = api_call(c, "POST", path, body, r);

	free(esc);
	free(path);
	return rc;
}

void
runs_print_created(const struct api_resp *r)
{
	printf("Run #%lld created (id=%lld, status=%s)\n", (long long)jint(r->json, "run_no"),
	    (long long)jint(r->json, "run_id"), jstr(r->json, "status"));
}

static int
runs_create(int argc, char **argv)
{
	struct flag fl[] = {
		FLAGS_COMMON, FLAG_APP,
		{ .name = "input", .kind = FLAG_STR, .help = "run input (JSON object)" },
		{ .name = "version", .kind = FLAG_STR, .help = "version number (default: latest)" },
		{ .name = "priority", .kind = FLAG_STR, .help = "priority (higher runs first)" },
		{ .name = "max-retries", .kind = FLAG_STR, .help = "retries after a failure" },
		FLAGS_END,
	};
	struct flagset fs = { .cmd = "runs create", .v = fl };
	struct cli c = { 0 };
	struct api_resp r = { 0 };
	struct buf body;
	const char *app;
	int rc = flags_parse(&fs, argc, argv);

	buf_init(&body, 1 << 26);
	if (rc == 0)
		rc = flags_max_args(&fs, 0);
	if (rc == 0)
		rc = create_body(&fs, &body);
	if (rc == 0)
		rc = cli_connect(&c, &fs);
	if (rc != 0)
		goto out;
	app = cli_app(&c, &fs);
	if (*app == '\0') {
		rc = cli_fail(EXIT_FAIL, "app is required (--app or profile default app)");
		goto out;
	}
	rc = runs_create_for(&c, app, buf_str(&body), &r);
	if (rc == 0 && c.json)
		api_print_json(&r);
	else if (rc == 0)
		runs_print_created(&r);
out:
	buf_free(&body);
	api_resp_free(&r);
	cli_free(&c);
	flags_free(&fs);
	return rc;
}

static void
add_query(struct buf *b, const char *key, const char *value)
{
	char *esc = api_escape(value);

	buf_addf(b, "%c%s=%s", strchr(buf_str(b), '?') != NULL ? '&' : '?', key, esc);
	free(esc);
}

static int
runs_list(int argc, char **argv)
{
	struct flag fl[] = {
		FLAGS_COMMON, FLAG_APP,
		{ .name = "status", .kind = FLAG_STR, .help = "status filter" },
		{ .name = "limit", .kind = FLAG_INT, .help = "page size (1-100)", .def = "50" },
		{ .name = "offset", .kind = FLAG_INT, .help = "rows to skip", .def = "0" },
		FLAGS_END,
	};
	struct flagset fs = { .cmd = "runs list", .v = fl };
	struct cli c = { 0 };
	struct buf path;
	int64_t limit, offset;
	int rc = flags_parse(&fs, argc, argv);

	buf_init(&path, 1 << 16);
	if (rc == 0)
		rc = flags_max_args(&fs, 0);
	if (rc != 0)
		goto out;
	limit = flags_get(&fs, "limit")->num;
	offset = flags_get(&fs, "offset")->num;
	if (limit < 1 || limit > 100) {
		rc = cli_fail(EXIT_FAIL, "--limit must be between 1 and 100");
		goto out;
	}
	if (offset < 0) {
		rc = cli_fail(EXIT_FAIL, "--offset must be >= 0");
		goto out;
	}
	rc = cli_connect(&c, &fs);
	if (rc != 0)
		goto out;
	buf_adds(&path, "/api/v1/runs");
	if (*cli_app(&c, &fs) != '\0')
		add_query(&path, "app", cli_app(&c, &fs));
	if (*flags_str(&fs, "status") != '\0')
		add_query(&path, "status", flags_str(&fs, "status"));
	buf_addf(&path, "%climit=%lld&offset=%lld", strchr(buf_str(&path), '?') != NULL ? '&' : '?',
	    (long long)limit, (long long)offset);
	rc = show_get(&c, buf_str(&path), run_cols, "runs");
out:
	buf_free(&path);
	cli_free(&c);
	flags_free(&fs);
	return rc;
}

/* The shape shared by runs get/cancel/retry: one run id argument. */
static int
one_run(struct flagset *fs, int argc, char **argv, const char *verb, struct cli *c, int64_t *id)
{
	int rc = flags_parse(fs, argc, argv);

	if (rc != 0)
		return rc;
	if (fs->npos != 1)
		return cli_fail(EXIT_FAIL, "usage: minitower-cli runs %s <run-id>", verb);
	if (parse_id(fs->pos[0], id) != 0)
		return cli_fail(EXIT_FAIL, "run ID must be a positive integer");
	return cli_connect(c, fs);
}

static int
runs_get(int argc, char **argv)
{
	struct flag fl[] = { FLAGS_COMMON, FLAGS_END };
	struct flagset fs = { .cmd = "runs get", .args = "<run-id>", .v = fl };
	struct cli c = { 0 };
	char path[64];
	int64_t id = 0;
	int rc = one_run(&fs, argc, argv, "get", &c, &id);

	snprintf(path, sizeof(path), "/api/v1/runs/%lld", (long long)id);
	if (rc == 0)
		rc = show_get(&c, path, run_cols, NULL);
	cli_free(&c);
	flags_free(&fs);
	return rc;
}

static int
runs_cancel(int argc, char **argv)
{
	struct flag fl[] = { FLAGS_COMMON, FLAGS_END };
	struct flagset fs = { .cmd = "runs cancel", .args = "<run-id>", .v = fl };
	struct cli c = { 0 };
	struct api_resp r = { 0 };
	char path[80];
	int64_t id = 0;
	int rc = one_run(&fs, argc, argv, "cancel", &c, &id);

	snprintf(path, sizeof(path), "/api/v1/runs/%lld/cancel", (long long)id);
	if (rc == 0)
		rc = api_call(&c, "POST", path, NULL, &r);
	if (rc == 0 && c.json)
		api_print_json(&r);
	else if (rc == 0)
		printf("Run %lld status: %s\n", (long long)jint(r.json, "run_id"), jstr(r.json, "status"));
	api_resp_free(&r);
	cli_free(&c);
	flags_free(&fs);
	return rc;
}

/* The retry body: the run's input, version_no, priority and max_retries. */
static void
retry_body(const struct api_resp *run, struct buf *b)
{
	const char *text = buf_str(&run->raw.body), *vs, *ve;
	static const char *const keys[] = { "version_no", "priority", "max_retries" };

	buf_addc(b, '{');
	if (rawjson_member(text, text + run->raw.body.len, "input", &vs, &ve) == 0) {
		member(b, "input");
		buf_add(b, vs, (size_t)(ve - vs));
	}
	for (size_t i = 0; i < 3; i++) {
		if (rawjson_member(text, text + run->raw.body.len, keys[i], &vs, &ve) == 0) {
			member(b, keys[i]);
			buf_add(b, vs, (size_t)(ve - vs));
		}
	}
	buf_addc(b, '}');
}

static int
runs_retry(int argc, char **argv)
{
	struct flag fl[] = { FLAGS_COMMON, FLAGS_END };
	struct flagset fs = { .cmd = "runs retry", .args = "<run-id>", .v = fl };
	struct cli c = { 0 };
	struct api_resp run = { 0 }, r = { 0 };
	struct buf body;
	char path[64];
	int64_t id = 0;
	int rc = one_run(&fs, argc, argv, "retry", &c, &id);

	buf_init(&body, 1 << 26);
	snprintf(path, sizeof(path), "/api/v1/runs/%lld", (long long)id);
	if (rc == 0)
		rc = api_call(&c, "GET", path, NULL, &run);
	if (rc != 0)
		goto out;
	if (*jstr(run.json, "app_slug") == '\0') {
		rc = cli_fail(EXIT_FAIL, "run response missing app_slug; cannot retry");
		goto out;
	}
	retry_body(&run, &body);
	rc = runs_create_for(&c, jstr(run.json, "app_slug"), buf_str(&body), &r);
	if (rc == 0 && c.json)
		api_print_json(&r);
	else if (rc == 0)
		printf("Retry created: run #%lld (id=%lld)\n", (long long)jint(r.json, "run_no"),
		    (long long)jint(r.json, "run_id"));
out:
	buf_free(&body);
	api_resp_free(&run);
	api_resp_free(&r);
	cli_free(&c);
	flags_free(&fs);
	return rc;
}

/* The id of the app's newest run; returns 0 or an exit code. */
static int
newest_run(struct cli *c, const char *app, int64_t *id)
{
	struct api_resp r = { 0 };
	char *esc = api_escape(app), *path = xasprintf("/api/v1/apps/%s/runs?limit=1", esc);
	const json_t *runs;
	int rc = api_call(c, "GET", path, NULL, &r);

	if (rc == 0) {
		runs = json_object_get(r.json, "runs");
		if (json_array_size(runs) == 0)
			rc = cli_fail(EXIT_NOT_FOUND, "no runs found for app %s", q(app));
		else
			*id = jint(json_array_get(runs, 0), "run_id");
	}
	api_resp_free(&r);
	free(esc);
	free(path);
	return rc;
}

static int
watch_check(struct flagset *fs, int64_t *id)
{
	if (flags_get(fs, "interval")->num <= 0)
		return cli_fail(EXIT_FAIL, "--interval must be > 0");
	if (flags_on(fs, "json") && !flags_on(fs, "status-only"))
		return cli_fail(EXIT_FAIL, "--json is only supported with --status-only for runs watch");
	if (fs->npos > 1)
		return cli_fail(EXIT_FAIL, "usage: minitower-cli runs watch [run-id] [--app APP]");
	if (fs->npos == 1 && parse_id(fs->pos[0], id) != 0)
		return cli_fail(EXIT_FAIL, "run ID must be a positive integer");
	return 0;
}

static int
runs_watch(int argc, char **argv)
{
	struct flag fl[] = {
		FLAGS_COMMON, FLAG_APP,
		{ .name = "status-only", .kind = FLAG_BOOL, .help = "print status changes only" },
		{ .name = "interval", .kind = FLAG_DURATION, .help = "first reconnection wait", .def = "2s" },
		FLAGS_END,
	};
	struct flagset fs = { .cmd = "runs watch", .args = "[run-id]", .v = fl };
	struct cli c = { 0 };
	struct follow_opts o = { 0 };
	int rc = flags_parse(&fs, argc, argv);

	if (rc == 0)
		rc = watch_check(&fs, &o.run_id);
	if (rc == 0)
		rc = cli_connect(&c, &fs);
	if (rc == 0 && o.run_id == 0) {
		const char *app = cli_app(&c, &fs);

		if (*app == '\0')
			rc = cli_fail(EXIT_FAIL, "app is required (--app or profile default app)");
		else
			rc = newest_run(&c, app, &o.run_id);
	}
	if (rc == 0) {
		o.interval_ms = flags_get(&fs, "interval")->num;
		o.status_lines = !c.json;
		o.log_lines = !flags_on(&fs, "status-only");
		o.json_end = c.json;
		rc = follow_run(&c, &o);
	}
	cli_free(&c);
	flags_free(&fs);
	return rc;
}

static int
logs_check(struct flagset *fs, int64_t *id)
{
	if (fs->npos != 1)
		return cli_fail(EXIT_FAIL, "usage: minitower-cli runs logs <run-id> [--follow]");
	if (flags_get(fs, "interval")->num <= 0)
		return cli_fail(EXIT_FAIL, "--interval must be > 0");
	if (flags_on(fs, "json") && flags_on(fs, "follow"))
		return cli_fail(EXIT_FAIL, "--json is not supported with --follow");
	if (flags_get(fs, "after-seq")->num < 0)
		return cli_fail(EXIT_FAIL, "--after-seq must be non-negative");
	if (parse_id(fs->pos[0], id) != 0)
		return cli_fail(EXIT_FAIL, "run ID must be a positive integer");
	return 0;
}

static void
print_logs(const json_t *resp)
{
	size_t i;
	const json_t *e;

	json_array_foreach(json_object_get(resp, "logs"), i, e) {
		const json_t *line = json_object_get(e, "line");

		out_log_line(jint(e, "seq"), jstr(e, "stream"), json_is_string(line) ? json_string_value(line) : "",
		    json_is_string(line) ? json_string_length(line) : 0);
	}
}

static int
runs_logs(int argc, char **argv)
{
	struct flag fl[] = {
		FLAGS_COMMON,
		{ .name = "follow", .kind = FLAG_BOOL, .help = "stream new lines until the run ends" },
		{ .name = "interval", .kind = FLAG_DURATION, .help = "first reconnection wait", .def = "2s" },
		{ .name = "after-seq", .kind = FLAG_INT, .help = "print lines after this seq", .def = "0" },
		FLAGS_END,
	};
	struct flagset fs = { .cmd = "runs logs", .args = "<run-id>", .v = fl };
	struct cli c = { 0 };
	struct api_resp r = { 0 };
	struct follow_opts o = { 0 };
	char path[96];
	int rc = flags_parse(&fs, argc, argv);

	if (rc == 0)
		rc = logs_check(&fs, &o.run_id);
	if (rc == 0)
		rc = cli_connect(&c, &fs);
	if (rc != 0)
		goto out;
	o.after_seq = flags_get(&fs, "after-seq")->num;
	if (flags_on(&fs, "follow")) {
		o.interval_ms = flags_get(&fs, "interval")->num;
		o.log_lines = true;
		rc = follow_run(&c, &o);
		goto out;
	}
	snprintf(path, sizeof(path), "/api/v1/runs/%lld/logs?after_seq=%lld", (long long)o.run_id,
	    (long long)o.after_seq);
	rc = api_call(&c, "GET", path, NULL, &r);
	if (rc == 0 && c.json)
		api_print_json(&r);
	else if (rc == 0)
		print_logs(r.json);
out:
	api_resp_free(&r);
	cli_free(&c);
	flags_free(&fs);
	return rc;
}

int
cmd_runs(int argc, char **argv)
{
	static const struct subcmd table[] = {
		{ "create", runs_create }, { "list", runs_list }, { "get", runs_get },
		{ "cancel", runs_cancel }, { "retry", runs_retry }, { "watch", runs_watch },
		{ "logs", runs_logs }, { "attempts", runs_attempts }, { NULL, NULL },
	};

	return subcmd_dispatch("runs", table, "runs <create|list|get|cancel|retry|watch|logs> ...", argc, argv);
}
