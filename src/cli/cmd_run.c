/*
 * cmd_run: `run [--app A] [-p key=value]... [--detach]` (cli.md §4.10).
 * Parameters are typed with the latest version's params_schema, the run is
 * created, and unless --detach it is followed like `runs watch`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "json.h"
#include "util.h"

/* One -p parameter, split at its first '='. */
struct param {
	char	*key;
	char	*value;
};

static int
param_cmp(const void *a, const void *b)
{
	return strcmp(((const struct param *)a)->key, ((const struct param *)b)->key);
}

/* Splits the -p values; a later key replaces an earlier one. The result is
 * sorted by key. Returns 0 or an exit code. */
static int
split_params(const struct flag *p, struct param **out, size_t *n)
{
	*out = xcalloc(p->nlist + 1, sizeof(**out));
	*n = 0;
	for (size_t i = 0; i < p->nlist; i++) {
		const char *eq = strchr(p->list[i], '=');
		char *key;
		size_t j;

		if (eq == NULL || eq == p->list[i])
			return cli_fail(EXIT_FAIL, "invalid parameter %s: expected key=value", q(p->list[i]));
		key = xstrndup(p->list[i], (size_t)(eq - p->list[i]));
		for (j = 0; j < *n && strcmp((*out)[j].key, key) != 0; j++)
			;
		if (j == *n)
			(*out)[(*n)++].key = key;
		else
			free(key);
		free((*out)[j].value);
		(*out)[j].value = xstrdup(eq + 1);
	}
	qsort(*out, *n, sizeof(**out), param_cmp);
	return 0;
}

static void
free_params(struct param *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].key);
		free(v[i].value);
	}
	free(v);
}

/* True when s is a JSON number: -?(0|[1-9]d*)(.d+)?([eE][+-]?d+)? */
static bool
is_json_number(const char *s)
{
	if (*s == '-')
		s++;
	if (*s == '0')
		s++;
	else if (*s >= '1' && *s <= '9')
		while (*s >= '0' && *s <= '9')
			s++;
	else
		return false;
	if (*s == '.') {
		if (*++s < '0' || *s > '9')
			return false;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	if (*s == 'e' || *s == 'E') {
		if (*++s == '+' || *s == '-')
			s++;
		if (*s < '0' || *s > '9')
			return false;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	return *s == '\0';
}

/* Appends one typed value; returns 0 or an exit code. */
static int
typed_value(struct buf *b, const struct param *p, const char *type)
{
	int64_t n;

	if (strcmp(type, "integer") == 0) {
		if (parse_i64(p->value, &n) != 0)
			return cli_fail(EXIT_FAIL, "parameter %s must be an integer", q(p->key));
		buf_addf(b, "%lld", (long long)n);
	} else if (strcmp(type, "number") == 0) {
		if (!is_json_number(p->value))
			return cli_fail(EXIT_FAIL, "parameter %s must be a number", q(p->key));
		buf_adds(b, p->value);
	} else if (strcmp(type, "boolean") == 0) {
		if (strcmp(p->value, "true") != 0 && strcmp(p->value, "false") != 0)
			return cli_fail(EXIT_FAIL, "parameter %s must be true or false", q(p->key));
		buf_adds(b, p->value);
	} else {
		json_encode_str(b, p->value, strlen(p->value));
	}
	return 0;
}

/* The properties of the latest version's params_schema (borrowed from r). */
static int
latest_properties(struct cli *c, const char *app, struct api_resp *r, const json_t **props)
{
	char *esc = api_escape(app), *path = xasprintf("/api/v1/apps/%s/versions", esc);
	int rc = api_call(c, "GET", path, NULL, r);

	free(esc);
	free(path);
	*props = NULL;
	if (rc == 0)
		*props = json_object_get(json_object_get(json_array_get(json_object_get(r->json, "versions"), 0),
		    "params_schema"), "properties");
	return rc;
}

/* Builds {"input":{…}} (or {} without parameters); returns 0 or an exit code. */
static int
run_body(struct cli *c, const char *app, const struct param *v, size_t n, struct buf *b)
{
	struct api_resp r = { 0 };
	const json_t *props = NULL;
	int rc = 0;

	if (n == 0) {
		buf_adds(b, "{}");
		return 0;
	}
	rc = latest_properties(c, app, &r, &props);
	buf_adds(b, "{\"input\":{");
	for (size_t i = 0; rc == 0 && i < n; i++) {
		const char *type = jstr(json_object_get(props, v[i].key), "type");

		if (i > 0)
			buf_addc(b, ',');
		json_encode_str(b, v[i].key, strlen(v[i].key));
		buf_addc(b, ':');
		rc = typed_value(b, &v[i], type);
	}
	buf_adds(b, "}}");
	api_resp_free(&r);
	return rc;
}

/* The app: --app, the profile's app, or app.name of ./Towerfile. */
static int
run_app(struct cli *c, struct flagset *fs, char **app)
{
	struct towerfile *tf = NULL;
	char *text = NULL;
	size_t len;
	struct err err;
	int rc;

	if (*cli_app(c, fs) != '\0') {
		*app = xstrdup(cli_app(c, fs));
		return 0;
	}
	rc = project_towerfile(".", &text, &len, &tf, &err);
	if (rc == -1)
		return cli_fail(EXIT_FAIL, "%s", err.msg);
	if (rc == 0 && tf->name[0] != '\0')
		*app = xstrdup(tf->name);
	towerfile_free(tf);
	free(text);
	if (*app == NULL)
		return cli_fail(EXIT_FAIL, "app is required (--app, profile default app, or ./Towerfile)");
	return 0;
}

int
cmd_run(int argc, char **argv)
{
	struct flag fl[] = {
		FLAGS_COMMON, FLAG_APP,
		{ .name = "p", .kind = FLAG_LIST, .help = "parameter key=value" },
		{ .name = "detach", .kind = FLAG_BOOL, .help = "do not follow the run" },
		FLAGS_END,
	};
	struct flagset fs = { .cmd = "run", .v = fl };
	struct cli c = { 0 };
	struct api_resp r = { 0 };
	struct follow_opts o = { .interval_ms = 2000 };
	struct param *params = NULL;
	size_t nparams = 0;
	struct buf body;
	char *app = NULL;
	int rc = flags_parse(&fs, argc, argv);

	buf_init(&body, 1 << 26);
	if (rc == 0)
		rc = flags_max_args(&fs, 0);
	if (rc == 0)
		rc = split_params(flags_get(&fs, "p"), &params, &nparams);
	if (rc == 0)
		rc = cli_connect(&c, &fs);
	if (rc == 0)
		rc = run_app(&c, &fs, &app);
	if (rc == 0)
		rc = run_body(&c, app, params, nparams, &body);
	if (rc == 0)
		rc = runs_create_for(&c, app, buf_str(&body), &r);
	if (rc != 0)
		goto out;
	if (flags_on(&fs, "detach")) {
		if (c.json)
			api_print_json(&r);
		else
			runs_print_created(&r);
		goto out;
	}
	if (!c.json)
		runs_print_created(&r);
	o.run_id = jint(r.json, "run_id");
	o.status_lines = o.log_lines = !c.json;
	o.json_end = c.json;
	rc = follow_run(&c, &o);
out:
	free_params(params, nparams);
	free(app);
	buf_free(&body);
	api_resp_free(&r);
	cli_free(&c);
	flags_free(&fs);
	return rc;
}
