/*
 * cmd_apps: `apps list|get|create` and `versions list|get|upload` (cli.md
 * §4.7, §4.8). Each prints a table, or the server's JSON with --json.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "json.h"
#include "util.h"

static const struct column app_cols[] = {
	{ "APP_ID", "app_id", COL_VALUE, 0 }, { "SLUG", "slug", COL_TEXT, 0 },
	{ "DISABLED", "disabled", COL_VALUE, 7 }, { "DESCRIPTION", "description", COL_TEXT, 0 },
	{ "UPDATED_AT", "updated_at", COL_TEXT, 0 }, COLUMNS_END,
};

static int
apps_list(int argc, char **argv)
{
	return show_cmd("apps list", "/api/v1/apps", app_cols, "apps", argc, argv);
}

static int
apps_get(int argc, char **argv)
{
	struct flag fl[] = { FLAGS_COMMON, FLAGS_END };
	struct flagset fs = { .cmd = "apps get", .args = "<app>", .v = fl };
	struct cli c = { 0 };
	char *path = NULL, *esc;
	int rc = flags_parse(&fs, argc, argv);

	if (rc == 0 && fs.npos != 1)
		rc = cli_fail(EXIT_FAIL, "usage: minitower-cli apps get <app>");
	if (rc == 0)
		rc = cli_connect(&c, &fs);
	if (rc == 0) {
		esc = api_escape(fs.pos[0]);
		path = xasprintf("/api/v1/apps/%s", esc);
		free(esc);
		rc = show_get(&c, path, app_cols, NULL);
	}
	free(path);
	cli_free(&c);
	flags_free(&fs);
	return rc;
}

static int
apps_create(int argc, char **argv)
{
	struct flag fl[] = {
		FLAGS_COMMON,
		{ .name = "slug", .kind = FLAG_STR, .help = "app slug" },
		{ .name = "description", .kind = FLAG_STR, .help = "app description" },
		FLAGS_END,
	};
	struct flagset fs = { .cmd = "apps create", .args = "<slug>", .v = fl };
	struct cli c = { 0 };
	struct api_resp r = { 0 };
	char *desc = NULL, *body = NULL;
	const char *slug = NULL;
	json_t *o;
	int rc = flags_parse(&fs, argc, argv);

	if (rc != 0)
		goto out;
	if (flags_get(&fs, "slug")->set) {
		slug = flags_str(&fs, "slug");
		rc = flags_max_args(&fs, 0);
	} else if (fs.npos == 1) {
		slug = fs.pos[0];
	} else if (fs.npos == 0) {
		rc = cli_fail(EXIT_FAIL, "usage: minitower-cli apps create <slug> [--description TEXT]");
	} else {
		rc = flags_max_args(&fs, 1);
	}
	if (rc == 0)
		rc = cli_connect(&c, &fs);
	if (rc != 0)
		goto out;
	desc = str_trim(xstrdup(flags_str(&fs, "description")));
	o = json_object();
	json_object_set_new(o, "description", desc[0] != '\0' ? json_string(desc) : json_null());
	json_object_set_new(o, "slug", json_string(slug));
	body = json_body_take(o);
	rc = api_call(&c, "POST", "/api/v1/apps", body, &r);
	if (rc == 0 && c.json)
		api_print_json(&r);
	else if (rc == 0)
		printf("App %s created (id=%lld)\n", q(jstr(r.json, "slug")), (long long)jint(r.json, "app_id"));
out:
	free(desc);
	free(body);
	api_resp_free(&r);
	cli_free(&c);
	flags_free(&fs);
	return rc;
}

int
cmd_apps(int argc, char **argv)
{
	static const struct subcmd table[] = {
		{ "list", apps_list }, { "get", apps_get }, { "create", apps_create }, { NULL, NULL },
	};

	return subcmd_dispatch("apps", table, "apps <list|get|create> ...", argc, argv);
}

/* ---- versions ---- */

static const struct column version_cols[] = {
	{ "VERSION_NO", "version_no", COL_VALUE, 0 }, { "VERSION_ID", "version_id", COL_VALUE, 0 },
	{ "ENTRYPOINT", "entrypoint", COL_TEXT, 0 }, { "SHA256", "artifact_sha256", COL_TEXT, 12 },
	{ "CREATED_AT", "created_at", COL_TEXT, 0 }, COLUMNS_END,
};

/* The versions path of the --app (or profile) app, into *path (caller
 * frees); returns 0 or an exit code. */
static int
versions_path(struct cli *c, struct flagset *fs, char **path)
{
	const char *app = cli_app(c, fs);
	char *esc;

	if (*app == '\0')
		return cli_fail(EXIT_FAIL, "app is required (--app or profile default app)");
	esc = api_escape(app);
	*path = xasprintf("/api/v1/apps/%s/versions", esc);
	free(esc);
	return 0;
}

static int
versions_list(int argc, char **argv)
{
	struct flag fl[] = { FLAGS_COMMON, FLAG_APP, FLAGS_END };
	struct flagset fs = { .cmd = "versions list", .v = fl };
	struct cli c = { 0 };
	char *path = NULL;
	int rc = cli_start(&fs, argc, argv, &c);

	if (rc == 0)
		rc = versions_path(&c, &fs, &path);
	if (rc == 0)
		rc = show_get(&c, path, version_cols, "versions");
	free(path);
	cli_free(&c);
	flags_free(&fs);
	return rc;
}

/* Finds the raw text of the version whose version_no is want. */
struct pick {
	int64_t		 want;
	const char	*s, *e;
};

static int
pick_version(void *arg, const char *s, const char *e)
{
	struct pick *p = arg;
	json_t *v = json_loadb(s, (size_t)(e - s), JSON_DECODE_INT_AS_REAL | JSON_ALLOW_NUL, NULL);
	int found = v != NULL && jint(v, "version_no") == p->want;

	json_decref(v);
	if (found) {
		p->s = s;
		p->e = e;
	}
	return found;
}

static int
versions_get(int argc, char **argv)
{
	struct flag fl[] = { FLAGS_COMMON, FLAG_APP, FLAGS_END };
	struct flagset fs = { .cmd = "versions get", .args = "<version-no>", .v = fl };
	struct cli c = { 0 };
	struct api_resp r = { 0 };
	struct pick p = { 0 };
	const char *vs, *ve, *body;
	char *path = NULL;
	int rc = flags_parse(&fs, argc, argv);

	if (rc == 0 && fs.npos != 1)
		rc = cli_fail(EXIT_FAIL, "usage: minitower-cli versions get <version-no> --app <app>");
	if (rc == 0 && parse_id(fs.pos[0], &p.want) != 0)
		rc = cli_fail(EXIT_FAIL, "version number must be a positive integer");
	if (rc == 0)
		rc = cli_connect(&c, &fs);
	if (rc == 0)
		rc = versions_path(&c, &fs, &path);
	if (rc == 0)
		rc = api_call(&c, "GET", path, NULL, &r);
	if (rc != 0)
		goto out;
	body = buf_str(&r.raw.body);
	if (rawjson_member(body, body + r.raw.body.len, "versions", &vs, &ve) == 0)
		rawjson_each(vs, ve, pick_version, &p);
	if (p.s == NULL) {
		rc = cli_fail(EXIT_NOT_FOUND, "version %lld not found", (long long)p.want);
		goto out;
	}
	if (c.json) {
		out_json_text(p.s, (size_t)(p.e - p.s));
	} else {
		json_t *v = json_loadb(p.s, (size_t)(p.e - p.s), JSON_DECODE_INT_AS_REAL | JSON_ALLOW_NUL, NULL);

		show_table(version_cols, v, NULL);
		json_decref(v);
	}
out:
	free(path);
	api_resp_free(&r);
	cli_free(&c);
	flags_free(&fs);
	return rc;
}

/* 0 when one byte of file can be read (errno set otherwise). */
static int
readable(const char *file)
{
	char c;
	int fd = open(file, O_RDONLY | O_CLOEXEC), e;
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, &c, 1);
	e = errno;
	close(fd);
	errno = e;
	return n < 0 ? -1 : 0;
}

static int
versions_upload(int argc, char **argv)
{
	struct flag fl[] = {
		FLAGS_COMMON, FLAG_APP,
		{ .name = "file", .kind = FLAG_STR, .help = "artifact file (.tar.gz)" },
		FLAGS_END,
	};
	struct flagset fs = { .cmd = "versions upload", .v = fl };
	struct cli c = { 0 };
	struct api_resp r = { 0 };
	char *path = NULL, *copy = NULL;
	const char *file;
	int rc = cli_start(&fs, argc, argv, &c);

	if (rc == 0)
		rc = versions_path(&c, &fs, &path);
	if (rc != 0)
		goto out;
	file = flags_str(&fs, "file");
	if (*file == '\0') {
		rc = cli_fail(EXIT_FAIL, "--file is required");
		goto out;
	}
	if (readable(file) != 0) {
		rc = cli_fail(EXIT_FAIL, "read artifact: %s: %s", file, strerror(errno));
		goto out;
	}
	copy = xstrdup(file);
	rc = api_upload(&c, path, file, basename(copy), &r);
	if (rc == 0 && c.json)
		api_print_json(&r);
	else if (rc == 0)
		printf("Uploaded version %lld for app %s (sha256:%.12s)\n", (long long)jint(r.json, "version_no"),
		    q(cli_app(&c, &fs)), jstr(r.json, "artifact_sha256"));
out:
	free(copy);
	free(path);
	api_resp_free(&r);
	cli_free(&c);
	flags_free(&fs);
	return rc;
}

int
cmd_versions(int argc, char **argv)
{
	static const struct subcmd table[] = {
		{ "list", versions_list }, { "get", versions_get }, { "upload", versions_upload },
		{ NULL, NULL },
	};

	return subcmd_dispatch("versions", table, "versions <list|get|upload> ...", argc, argv);
}
