/*
 * cmd_schedules: `schedules list|get|create|update|delete|pause|resume|
 * trigger|fires|preview` (docs/cli.md, docs/schedules.md): thin calls of the
 * schedule endpoints with the flag, output and exit-code conventions of the
 * other commands (--json prints the server's body re-indented).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "json.h"
#include "util.h"

static const struct column sched_cols[] = {
	{ "ID", "schedule_id", COL_VALUE, 0 }, { "NAME", "name", COL_TEXT, 0 },
	{ "CRON", "cron", COL_TEXT, 0 }, { "TIMEZONE", "timezone", COL_TEXT, 0 },
	{ "ENABLED", "enabled", COL_VALUE, 0 }, { "OVERLAP", "overlap_policy", COL_TEXT, 0 },
	{ "NEXT_FIRE_AT", "next_fire_at", COL_TEXT, 0 },
	COLUMNS_END,
};

static const struct column fire_cols[] = {
	{ "FIRE_TIME", "fire_time", COL_TEXT, 0 }, { "OUTCOME", "outcome", COL_TEXT, 0 },
	{ "RUN_ID", "run_id", COL_VALUE, 0 }, { "REASON", "reason", COL_TEXT, 0 },
	COLUMNS_END,
};

/* The flags of create and update (the body's fields). */
#define SCHED_FLAGS \
	{ .name = "name", .kind = FLAG_STR, .help = "schedule name (slug rules)" }, \
	{ .name = "cron", .kind = FLAG_STR, .help = "cron expression (docs/cron.md)" }, \
	{ .name = "timezone", .kind = FLAG_STR, .help = "IANA time zone (default UTC)" }, \
	{ .name = "input", .kind = FLAG_STR, .help = "run input (JSON object)" }, \
	{ .name = "version", .kind = FLAG_STR, .help = "pinned version (update: 0 = latest)" }, \
	{ .name = "priority", .kind = FLAG_STR, .help = "priority of its runs" }, \
	{ .name = "max-retries", .kind = FLAG_STR, .help = "retries of its runs" }, \
	{ .name = "overlap", .kind = FLAG_STR, .help = "skip, allow, queue_one or cancel_previous" }, \
	{ .name = "catchup-window", .kind = FLAG_STR, .help = "catch-up window in seconds" }, \
	{ .name = "pause-after-failures", .kind = FLAG_STR, .help = "pause after N failed runs" }

/* Adds the string flag as key (when given). */
static void
add_str(json_t *o, struct flagset *fs, const char *flag, const char *key)
{
	if (flags_get(fs, flag)->set)
		json_object_set_new(o, key, json_string(flags_str(fs, flag)));
}

/* Adds the integer flag as key (when given); returns 0 or an exit code. */
static int
add_int(json_t *o, struct flagset *fs, const char *flag, const char *key)
{
	int64_t n;

	if (!flags_get(fs, flag)->set)
		return 0;
	if (parse_i64(flags_str(fs, flag), &n) != 0)
		return cli_fail(EXIT_FAIL, "--%s must be an integer", flag);
	json_object_set_new(o, key, json_integer(n));
	return 0;
}

/* The create/update body from the flags (paused: "enabled":false);
 * returns 0 or an exit code. */
static int
sched_body(struct flagset *fs, bool paused, char **out)
{
	json_t *o = json_object(), *in = NULL;
	json_error_t je;
	int rc = 0;

	*out = NULL;
	add_str(o, fs, "name", "name");
	add_str(o, fs, "cron", "cron");
	add_str(o, fs, "timezone", "timezone");
	if (flags_get(fs, "input")->set) {
		in = json_loads(flags_str(fs, "input"), 0, &je);
		if (in == NULL || !json_is_object(in)) {
			json_decref(in);
			json_decref(o);
			return cli_fail(EXIT_FAIL, "invalid --input JSON: must be a JSON object");
		}
		json_object_set_new(o, "input", in);
	}
	if (add_int(o, fs, "version", "version_no") != 0 ||
	    add_int(o, fs, "priority", "priority") != 0 ||
	    add_int(o, fs, "max-retries", "max_retries") != 0 ||
	    add_int(o, fs, "catchup-window", "catchup_window_s") != 0 ||
	    add_int(o, fs, "pause-after-failures", "pause_after_failures") != 0)
		rc = EXIT_FAIL;
	add_str(o, fs, "overlap", "overlap_policy");
	if (paused)
		json_object_set_new(o, "enabled", json_false());
	if (rc != 0) {
		json_decref(o);
		return rc;
	}
	*out = json_body_take(o);
	return 0;
}

static void
print_schedule(const struct api_resp *r, const char *verb)
{
	printf("Schedule %lld %s (%s, next fire %s)\n", (long long)jint(r->json, "schedule_id"), verb,
	    jstr(r->json, "name"), jstr(r->json, "next_fire_at"));
}

/* The app of list/create: --app or the profile's; returns its escaped
 * copy (caller frees) or NULL after printing the error. */
static char *
app_of(struct cli *c, struct flagset *fs)
{
	const char *app = cli_app(c, fs);

	if (*app == '\0') {
		cli_fail(EXIT_FAIL, "app is required (--app or profile default app)");
		return NULL;
	}
	return api_escape(app);
}

static int
sched_list(int argc, char **argv)
{
	struct flag fl[] = { FLAGS_COMMON, FLAG_APP, FLAGS_END };
	struct flagset fs = { .cmd = "schedules list", .v = fl };
	struct cli c = { 0 };
	char *app = NULL, *path = NULL;
	int rc = cli_start(&fs, argc, argv, &c);

	if (rc == 0 && (app = app_of(&c, &fs)) == NULL)
		rc = EXIT_FAIL;
	if (rc == 0) {
		path = xasprintf("/api/v1/apps/%s/schedules", app);
		rc = show_get(&c, path, sched_cols, "schedules");
	}
	free(app);
	free(path);
	cli_free(&c);
	flags_free(&fs);
	return rc;
}

static int
sched_create(int argc, char **argv)
{
	struct flag fl[] = {
		FLAGS_COMMON, FLAG_APP, SCHED_FLAGS,
		{ .name = "paused", .kind = FLAG_BOOL, .help = "create it paused" },
		FLAGS_END,
	};
	struct flagset fs = { .cmd = "schedules create", .v = fl };
	struct cli c = { 0 };
	struct api_resp r = { 0 };
	char *app = NULL, *path = NULL, *body = NULL;
	int rc = cli_start(&fs, argc, argv, &c);

	if (rc == 0 && (!flags_get(&fs, "name")->set || !flags_get(&fs, "cron")->set))
		rc = cli_fail(EXIT_FAIL, "--name and --cron are required");
	if (rc == 0)
		rc = sched_body(&fs, flags_on(&fs, "paused"), &body);
	if (rc == 0 && (app = app_of(&c, &fs)) == NULL)
		rc = EXIT_FAIL;
	if (rc == 0) {
		path = xasprintf("/api/v1/apps/%s/schedules", app);
		rc = api_call(&c, "POST", path, body, &r);
	}
	if (rc == 0 && c.json)
		api_print_json(&r);
	else if (rc == 0)
		print_schedule(&r, "created");
	api_resp_free(&r);
	free(app);
	free(path);
	free(body);
	cli_free(&c);
	flags_free(&fs);
	return rc;
}

/* The start of a command on one schedule id: flags, the id, the connection. */
static int
one_sched(struct flagset *fs, int argc, char **argv, const char *verb, struct cli *c,
    char path[96])
{
	int64_t id;
	int rc = flags_parse(fs, argc, argv);

	if (rc != 0)
		return rc;
	if (fs->npos != 1)
		return cli_fail(EXIT_FAIL, "usage: minitower-cli schedules %s <schedule-id>", verb);
	if (parse_id(fs->pos[0], &id) != 0)
		return cli_fail(EXIT_FAIL, "schedule ID must be a positive integer");
	snprintf(path, 96, "/api/v1/schedules/%lld", (long long)id);
	return cli_connect(c, fs);
}

static int
sched_get(int argc, char **argv)
{
	struct flag fl[] = { FLAGS_COMMON, FLAGS_END };
	struct flagset fs = { .cmd = "schedules get", .args = "<schedule-id>", .v = fl };
	struct cli c = { 0 };
	char path[96];
	int rc = one_sched(&fs, argc, argv, "get", &c, path);

	if (rc == 0)
		rc = show_get(&c, path, sched_cols, NULL);
	cli_free(&c);
	flags_free(&fs);
	return rc;
}

static int
sched_update(int argc, char **argv)
{
	struct flag fl[] = { FLAGS_COMMON, SCHED_FLAGS, FLAGS_END };
	struct flagset fs = { .cmd = "schedules update", .args = "<schedule-id>", .v = fl };
	struct cli c = { 0 };
	struct api_resp r = { 0 };
	char path[96], *body = NULL;
	int rc = one_sched(&fs, argc, argv, "update", &c, path);

	if (rc == 0)
		rc = sched_body(&fs, false, &body);
	if (rc == 0)
		rc = api_call(&c, "PATCH", path, body, &r);
	if (rc == 0 && c.json)
		api_print_json(&r);
	else if (rc == 0)
		print_schedule(&r, "updated");
	api_resp_free(&r);
	free(body);
	cli_free(&c);
	flags_free(&fs);
	return rc;
}

/* delete, pause and resume: one call, one line (or the JSON). */
static int
sched_action(int argc, char **argv, const char *verb, const char *method, const char *sub,
    const char *done)
{
	struct flag fl[] = { FLAGS_COMMON, FLAGS_END };
	char cmd[64], path[96], full[128];
	struct flagset fs = { .cmd = cmd, .args = "<schedule-id>", .v = fl };
	struct cli c = { 0 };
	struct api_resp r = { 0 };
	int rc;

	snprintf(cmd, sizeof(cmd), "schedules %s", verb);
	rc = one_sched(&fs, argc, argv, verb, &c, path);
	snprintf(full, sizeof(full), "%s%s", path, sub);
	if (rc == 0)
		rc = api_call(&c, method, full, NULL, &r);
	if (rc == 0 && c.json && r.json != NULL)
		api_print_json(&r);
	else if (rc == 0)
		printf("Schedule %s %s\n", fs.pos[0], done);
	api_resp_free(&r);
	cli_free(&c);
	flags_free(&fs);
	return rc;
}

static int
sched_delete(int argc, char **argv)
{
	return sched_action(argc, argv, "delete", "DELETE", "", "deleted");
}

static int
sched_pause(int argc, char **argv)
{
	return sched_action(argc, argv, "pause", "POST", "/pause", "paused");
}

static int
sched_resume(int argc, char **argv)
{
	return sched_action(argc, argv, "resume", "POST", "/resume", "resumed");
}

static int
sched_trigger(int argc, char **argv)
{
	struct flag fl[] = {
		FLAGS_COMMON,
		{ .name = "idempotency-key", .kind = FLAG_STR, .help = "Idempotency-Key header" },
		FLAGS_END,
	};
	struct flagset fs = { .cmd = "schedules trigger", .args = "<schedule-id>", .v = fl };
	struct cli c = { 0 };
	struct api_resp r = { 0 };
	char path[96], full[128];
	int rc = one_sched(&fs, argc, argv, "trigger", &c, path);

	snprintf(full, sizeof(full), "%s/trigger", path);
	if (rc == 0)
		rc = api_call_key(&c, "POST", full, flags_str(&fs, "idempotency-key"), &r);
	if (rc == 0 && c.json) {
		api_print_json(&r);
	} else if (rc == 0) {
		printf("Fire %lld: %s", (long long)jint(r.json, "fire_id"), jstr(r.json, "outcome"));
		if (jint(r.json, "run_id") != 0)
			printf(" (run id=%lld)", (long long)jint(r.json, "run_id"));
		if (*jstr(r.json, "reason") != '\0')
			printf(": %s", jstr(r.json, "reason"));
		printf("\n");
	}
	api_resp_free(&r);
	cli_free(&c);
	flags_free(&fs);
	return rc;
}

static int
sched_fires(int argc, char **argv)
{
	struct flag fl[] = {
		FLAGS_COMMON,
		{ .name = "limit", .kind = FLAG_INT, .help = "page size (1-100)", .def = "50" },
		{ .name = "offset", .kind = FLAG_INT, .help = "rows to skip", .def = "0" },
		FLAGS_END,
	};
	struct flagset fs = { .cmd = "schedules fires", .args = "<schedule-id>", .v = fl };
	struct cli c = { 0 };
	char path[96], full[160];
	int rc = one_sched(&fs, argc, argv, "fires", &c, path);
	int64_t limit = flags_get(&fs, "limit")->num, offset = flags_get(&fs, "offset")->num;

	if (rc == 0 && (limit < 1 || limit > 100))
		rc = cli_fail(EXIT_FAIL, "--limit must be between 1 and 100");
	if (rc == 0 && offset < 0)
		rc = cli_fail(EXIT_FAIL, "--offset must be >= 0");
	snprintf(full, sizeof(full), "%s/fires?limit=%lld&offset=%lld", path, (long long)limit,
	    (long long)offset);
	if (rc == 0)
		rc = show_get(&c, full, fire_cols, "fires");
	cli_free(&c);
	flags_free(&fs);
	return rc;
}

static int
sched_preview(int argc, char **argv)
{
	struct flag fl[] = {
		FLAGS_COMMON,
		{ .name = "cron", .kind = FLAG_STR, .help = "cron expression" },
		{ .name = "timezone", .kind = FLAG_STR, .help = "IANA time zone", .def = "UTC" },
		{ .name = "count", .kind = FLAG_INT, .help = "how many fire times (1-100)", .def = "5" },
		FLAGS_END,
	};
	struct flagset fs = { .cmd = "schedules preview", .v = fl };
	struct cli c = { 0 };
	struct api_resp r = { 0 };
	char *cron = NULL, *tz = NULL, *path = NULL;
	size_t i;
	int rc = cli_start(&fs, argc, argv, &c);

	if (rc == 0 && !flags_get(&fs, "cron")->set)
		rc = cli_fail(EXIT_FAIL, "--cron is required");
	if (rc == 0) {
		cron = api_escape(flags_str(&fs, "cron"));
		tz = api_escape(flags_str(&fs, "timezone"));
		path = xasprintf("/api/v1/schedules/preview?cron=%s&timezone=%s&count=%lld", cron, tz,
		    (long long)flags_get(&fs, "count")->num);
		rc = api_call(&c, "GET", path, NULL, &r);
	}
	if (rc == 0 && c.json)
		api_print_json(&r);
	else if (rc == 0)
		for (i = 0; i < json_array_size(json_object_get(r.json, "fire_times")); i++)
			printf("%s\n", json_string_value(json_array_get(json_object_get(r.json,
			    "fire_times"), i)));
	api_resp_free(&r);
	free(cron);
	free(tz);
	free(path);
	cli_free(&c);
	flags_free(&fs);
	return rc;
}

int
cmd_schedules(int argc, char **argv)
{
	static const struct subcmd table[] = {
		{ "list", sched_list }, { "get", sched_get }, { "create", sched_create },
		{ "update", sched_update }, { "delete", sched_delete }, { "pause", sched_pause },
		{ "resume", sched_resume }, { "trigger", sched_trigger }, { "fires", sched_fires },
		{ "preview", sched_preview }, { NULL, NULL },
	};

	return subcmd_dispatch("schedules", table,
	    "schedules <list|get|create|update|delete|pause|resume|trigger|fires|preview> ...",
	    argc, argv);
}
