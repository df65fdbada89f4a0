/*
 * cmd_deploy: `deploy [--dir DIR]` (cli.md §4.9, towerfile.md §6). Reads and
 * validates the Towerfile, packages the project reproducibly into a
 * temporary tar.gz (src/lib/archive.c), creates the app when it is missing
 * and uploads the artifact as a new version.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "archive.h"
#include "cli.h"
#include "json.h"
#include "util.h"

/* Reads, validates and packages dir into out_path; returns 0 or an exit code. */
static int
package(const char *dir, const char *out_path, struct towerfile **tf, struct archive_pack_result *res)
{
	char *text = NULL;
	size_t len = 0;
	struct err err;
	int rc = 0;

	if (project_towerfile(dir, &text, &len, tf, &err) != 0)
		return cli_fail(EXIT_FAIL, "%s", err.msg);
	if (towerfile_validate(*tf, &err) == -1)
		rc = cli_fail(EXIT_FAIL, "validating Towerfile: %s", err.msg);
	else if (archive_pack_project(dir, (*tf)->script, (const char *const *)(*tf)->source, (*tf)->nsource,
	    text, len, out_path, res, &err) == -1)
		rc = cli_fail(EXIT_FAIL, "packaging artifact: %s", err.msg);
	free(text);
	return rc;
}

/* Creates the app unless it exists; a concurrent creation is fine. */
static int
ensure_app(struct cli *c, const char *app)
{
	struct api_resp r = { 0 };
	char *esc = api_escape(app), *path = xasprintf("/api/v1/apps/%s", esc), *body;
	json_t *o;
	int rc = api_request(c, "GET", path, NULL, &r);

	if (rc == 0 && r.raw.status == 404) {
		api_resp_free(&r);
		o = json_object();
		json_object_set_new(o, "slug", json_string(app));
		body = json_body_take(o);
		rc = api_request(c, "POST", "/api/v1/apps", body, &r);
		free(body);
		if (rc == 0 && r.raw.status == 409 &&
		    strstr(buf_str(&r.raw.body), "\"code\":\"slug_taken\"") != NULL)
			r.raw.status = 200;
	}
	if (rc == 0 && (r.raw.status < 200 || r.raw.status > 299))
		rc = api_fail(&r);
	api_resp_free(&r);
	free(esc);
	free(path);
	return rc;
}

static void
deploy_output(struct cli *c, const char *app, const char *dir, const struct archive_pack_result *res,
    const struct api_resp *r)
{
	struct buf b;

	if (!c->json) {
		printf("Deploying app %s from %s\n", q(app), dir);
		printf("Artifact packaged (%lld bytes, sha256:%.12s)\n", (long long)res->bytes, res->sha256);
		printf("Version %lld created (sha256:%.12s)\n", (long long)jint(r->json, "version_no"),
		    jstr(r->json, "artifact_sha256"));
		return;
	}
	buf_init(&b, 1 << 26);
	buf_adds(&b, "{\"app_slug\":");
	json_encode_str(&b, app, strlen(app));
	buf_addf(&b, ",\"artifact_bytes\":%lld,\"packaged_sha256\":\"%s\",\"version\":", (long long)res->bytes,
	    res->sha256);
	buf_add(&b, r->raw.body.data, r->raw.body.len);
	buf_addc(&b, '}');
	out_json_text(buf_str(&b), b.len);
	buf_free(&b);
}

int
cmd_deploy(int argc, char **argv)
{
	struct flag fl[] = {
		FLAGS_COMMON,
		{ .name = "dir", .kind = FLAG_STR, .help = "project directory", .def = "." },
		FLAGS_END,
	};
	struct flagset fs = { .cmd = "deploy", .v = fl };
	struct cli c = { 0 };
	struct api_resp r = { 0 };
	struct towerfile *tf = NULL;
	struct archive_pack_result res = { 0 };
	const char *tmpdir = getenv("TMPDIR");
	char *tmp = xasprintf("%s/minitower-artifact-XXXXXX", tmpdir != NULL && *tmpdir != '\0' ? tmpdir : "/tmp");
	char *esc = NULL, *path = NULL;
	int fd = -1, rc = cli_start(&fs, argc, argv, &c);

	if (rc != 0)
		goto out;
	fd = mkstemp(tmp);
	if (fd < 0) {
		rc = cli_fail(EXIT_FAIL, "packaging artifact: create temporary file: %s", strerror(errno));
		goto out;
	}
	rc = package(flags_str(&fs, "dir"), tmp, &tf, &res);
	if (rc == 0)
		rc = ensure_app(&c, tf->name);
	if (rc != 0)
		goto out;
	esc = api_escape(tf->name);
	path = xasprintf("/api/v1/apps/%s/versions", esc);
	rc = api_upload(&c, path, tmp, "artifact.tar.gz", &r);
	if (rc == 0)
		deploy_output(&c, tf->name, flags_str(&fs, "dir"), &res, &r);
out:
	if (fd >= 0) {
		close(fd);
		unlink(tmp);
	}
	free(tmp);
	free(esc);
	free(path);
	towerfile_free(tf);
	api_resp_free(&r);
	cli_free(&c);
	flags_free(&fs);
	return rc;
}
