/*
 * api_apps: apps and versions. An upload arrives as a temp file already
 * hashed by http.c; here it is inspected (archive.c), its Towerfile parsed
 * and validated (towerfile.c), then stored (fsync, rename, fsync of the
 * directory) before the version row commits. A rejected upload leaves no file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api.h"
#include "archive.h"
#include "config.h"
#include "crypto.h"
#include "encode.h"
#include "json.h"
#include "log.h"
#include "quote.h"
#include "slug.h"
#include "store.h"
#include "towerfile.h"
#include "util.h"

static void
answer(struct resp *rs, int status, json_t *v)
{
	resp_jsonv(rs, status, v);
	json_decref(v);
}

static void
fail(struct resp *rs, const struct err *err, const char *op)
{
	if (err->code == ERR_INTERNAL || err->code == ERR_IO) {
		log_error(op, "error=%s", err->msg);
		resp_error(rs, ERR_INTERNAL, "internal error");
		return;
	}
	resp_err(rs, err);
}

void
api_app_create(struct req *rq, struct resp *rs)
{
	const char *slug = "", *desc = NULL;
	size_t slen = 0, dlen = 0;
	struct app a;
	struct err err;
	json_t *body;
	int hs, hd;

	if ((body = api_body(rq, rs, false, "invalid JSON body")) == NULL)
		return;
	hs = json_get_str(body, "slug", &slug, &slen);
	hd = json_get_str(body, "description", &desc, &dlen);
	if (hs == -1 || hd == -1) {
		resp_error(rs, ERR_INVALID, "invalid JSON body");
		goto out;
	}
	if (slug_check(slug, slen, &err) == -1) {
		resp_err(rs, &err);
		goto out;
	}
	if (hd == 1 && memchr(desc, '\0', dlen) != NULL) {
		resp_error(rs, ERR_INVALID, "description must not contain NUL characters");
		goto out;
	}
	if (store_app_create(rq->team.team_id, slug, hd == 1 ? desc : NULL, dlen, &a, &err) == -1) {
		fail(rs, &err, "create app");
		goto out;
	}
	answer(rs, 201, encode_app(&a));
	store_app_clear(&a);
out:
	json_decref(body);
}

void
api_app_list(struct req *rq, struct resp *rs)
{
	struct app *apps;
	size_t n, i;
	struct err err;
	json_t *arr;

	if (store_app_list(rq->team.team_id, &apps, &n, &err) == -1) {
		fail(rs, &err, "list apps");
		return;
	}
	arr = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(arr, encode_app(&apps[i]));
	store_apps_free(apps, n);
	answer(rs, 200, json_pack("{so}", "apps", arr));
}

void
api_app_get(struct req *rq, struct resp *rs)
{
	struct app a;
	struct err err;

	if (store_app_get(rq->team.team_id, rq->param, &a, &err) == -1) {
		fail(rs, &err, "get app");
		return;
	}
	answer(rs, 200, encode_app(&a));
	store_app_clear(&a);
}

int
api_version_precheck(struct req *rq, struct resp *rs)
{
	struct app a;
	struct err err;

	if (rq->param == NULL || rq->param[0] == '\0') {
		resp_error(rs, ERR_INVALID, "missing app slug");
		return -1;
	}
	if (store_app_get(rq->team.team_id, rq->param, &a, &err) == -1) {
		fail(rs, &err, "get app");
		return -1;
	}
	rq->upload_app_id = a.id;
	store_app_clear(&a);
	return 0;
}

/* fsyncs path (a file or a directory). */
static int
fsync_path(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc;

	if (fd == -1)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/* The artifact could not be written: a full disk (or quota) is 503 with
 * Retry-After, since space may come back; anything else 500. */
static void
store_failed(struct resp *rs, int errnum)
{
	if (errnum == ENOSPC || errnum == EDQUOT) {
		resp_error(rs, ERR_UNAVAILABLE, "failed to store artifact: no space left on device");
		return;
	}
	resp_error(rs, ERR_INTERNAL, "failed to store artifact");
}

/* Moves the accepted upload to <objects>/<app_id>/<uuid>.tar.gz; *key gets
 * the object key (caller frees). */
static int
store_blob(struct req *rq, char **key)
{
	char dir[4096], dst[4200], uuid[37];

	snprintf(dir, sizeof(dir), "%s/%lld", api_cfg->objects_dir, (long long)rq->upload_app_id);
	if (mkdir(dir, 0700) == -1 && errno != EEXIST)
		return -1;
	crypto_uuid4(uuid);
	snprintf(dst, sizeof(dst), "%s/%s.tar.gz", dir, uuid);
	if (fsync_path(rq->upload_path) == -1 || rename(rq->upload_path, dst) == -1)
		return -1;
	free(rq->upload_path);
	rq->upload_path = xstrdup(dst);	/* deleted by http.c unless kept */
	if (fsync_path(dir) == -1)
		return -1;
	*key = xasprintf("%lld/%s.tar.gz", (long long)rq->upload_app_id, uuid);
	return 0;
}

/* Parses and validates the Towerfile and checks the script is packaged. */
static int
check_towerfile(const struct archive_info *info, struct towerfile **tf, struct err *err)
{
	char *q;

	if (towerfile_parse(info->towerfile, info->towerfile_len, tf, err) == -1 ||
	    towerfile_validate(*tf, err) == -1) {
		err->code = ERR_TOWERFILE_INVALID;
		return err_prefix(err, "invalid Towerfile: ");
	}
	if (!archive_info_has_script(info, (*tf)->script)) {
		q = quote_go_str((*tf)->script);
		err_set(err, ERR_TOWERFILE_INVALID, "invalid Towerfile: app.script %s is not in "
		    "the artifact", q);
		free(q);
		return -1;
	}
	return 0;
}

static char *
import_paths_json(const struct towerfile *tf)
{
	json_t *arr;
	char *s;
	size_t i;

	if (tf->nimport_paths == 0)
		return NULL;
	arr = json_array();
	for (i = 0; i < tf->nimport_paths; i++)
		json_array_append_new(arr, json_string(tf->import_paths[i]));
	s = json_dumps_sorted(arr);
	json_decref(arr);
	return s;
}

/* The compact JSON text of v (taken), fields in insertion order; NULL for
 * a NULL v. */
static char *
compact_take(json_t *v)
{
	struct buf b;
	char *s;

	if (v == NULL)
		return NULL;
	buf_init(&b, 1 << 20);
	json_encode(&b, v, NULL, false);
	s = xstrdup(buf_str(&b));
	buf_free(&b);
	json_decref(v);
	return s;
}

static void
fill_version(struct version *v, struct req *rq, const struct towerfile *tf,
    const struct archive_info *info, char *key)
{
	json_t *schema = towerfile_params_schema(tf);

	memset(v, 0, sizeof(*v));
	v->app_id = rq->upload_app_id;
	v->object_key = key;
	v->sha256 = xstrdup(rq->upload_sha256);
	v->entrypoint = xstrdup(tf->script);
	v->timeout_seconds = tf->has_timeout ? tf->timeout_seconds : 0;
	v->params_schema_json = schema != NULL ? json_dumps_sorted(schema) : NULL;
	json_decref(schema);
	v->towerfile_toml = xstrndup(info->towerfile, info->towerfile_len);
	v->import_paths_json = import_paths_json(tf);
	v->sandbox_json = compact_take(towerfile_sandbox_json(tf));
	v->resources_json = compact_take(towerfile_resources_json(tf));
}

/* A parameter named like a secret of the app (docs/secrets.md). */
static int
secrets_clash(struct req *rq, const struct towerfile *tf, struct err *err)
{
	json_t *schema = towerfile_params_schema(tf);
	int rc = api_secrets_upload_clash(rq->team.team_id, rq->upload_app_id, schema, err);

	json_decref(schema);
	return rc;
}

void
api_version_upload(struct req *rq, struct resp *rs)
{
	struct archive_limits lim = { api_cfg->max_entries, api_cfg->max_expanded };
	struct archive_info info;
	struct towerfile *tf = NULL;
	struct version v;
	struct err err;
	char *key = NULL;

	memset(&info, 0, sizeof(info));
	memset(&v, 0, sizeof(v));
	if (rq->upload_bad_form) {
		resp_error(rs, ERR_INVALID, "invalid multipart form");
		return;
	}
	if (rq->upload_path == NULL && !rq->upload_io_error) {
		resp_error(rs, ERR_INVALID, "artifact file is required");
		return;
	}
	if (rq->upload_io_error) {
		store_failed(rs, rq->upload_errno);
		return;
	}
	if (archive_inspect(rq->upload_path, &lim, &info, &err) == -1) {
		if (err.code == ERR_IO)
			err_set(&err, ERR_INTERNAL, "failed to read artifact");
		resp_err(rs, &err);
		goto out;
	}
	if (check_towerfile(&info, &tf, &err) == -1 || secrets_clash(rq, tf, &err) == -1) {
		if (err.code == ERR_INTERNAL)
			fail(rs, &err, "check secrets");
		else
			resp_err(rs, &err);
		goto out;
	}
	if (store_blob(rq, &key) == -1) {
		store_failed(rs, errno);
		goto out;
	}
	fill_version(&v, rq, tf, &info, key);
	if (store_version_create(&v, &err) == -1) {
		fail(rs, &err, "create version");
		goto out;
	}
	free(rq->upload_path);	/* keep the stored blob */
	rq->upload_path = NULL;
	api_schedule_towerfile_sync(rq->team.team_id, v.app_id, tf->schedule, tf->schedule_timezone);
	answer(rs, 201, encode_version(&v));
out:
	store_version_clear(&v);
	towerfile_free(tf);
	archive_info_free(&info);
}

void
api_version_list(struct req *rq, struct resp *rs)
{
	struct version *vs;
	struct app a;
	size_t n, i;
	struct err err;
	json_t *arr;

	if (store_app_get(rq->team.team_id, rq->param, &a, &err) == -1) {
		fail(rs, &err, "get app");
		return;
	}
	if (store_version_list(a.id, &vs, &n, &err) == -1) {
		store_app_clear(&a);
		fail(rs, &err, "list versions");
		return;
	}
	arr = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(arr, encode_version(&vs[i]));
	store_versions_free(vs, n);
	store_app_clear(&a);
	answer(rs, 200, json_pack("{so}", "versions", arr));
}
