/*
 * api_secrets: the write-only secrets API (docs/api-endpoints.md, Secrets)
 * and the fenced delivery to a runner. Nothing here ever answers a value
 * except GET /runs/{run}/secrets, which only the current attempt's lease
 * can read; that answer is never cached and its access is logged by name.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "api_runs.h"
#include "encode.h"
#include "json.h"
#include "log.h"
#include "metrics.h"
#include "secrets.h"
#include "store.h"
#include "store_secret.h"
#include "util.h"

#define ENV_MAX 255

static json_t *
encode_secret(const struct secret_row *r)
{
	json_t *o = json_object();

	json_object_set_new(o, "name", json_string(r->name));
	if (r->app_slug != NULL)
		json_object_set_new(o, "app", json_string(r->app_slug));
	if (r->environment != NULL)
		json_object_set_new(o, "environment", json_string(r->environment));
	json_object_set_new(o, "version", json_integer(r->version));
	json_object_set_new(o, "created_at", encode_ts(r->created_at));
	json_object_set_new(o, "updated_at", encode_ts(r->updated_at));
	if (r->updated_by != NULL)
		json_object_set_new(o, "updated_by", json_string(r->updated_by));
	if (r->last_used_at != 0)
		json_object_set_new(o, "last_used_at", encode_ts(r->last_used_at));
	return o;
}

/* An optional scope string (app or environment): 0 absent (*out NULL), 1
 * set, -1 answered 400. */
static int
scope_str(struct resp *rs, const char *what, const char *s, size_t len, const char **out)
{
	*out = NULL;
	if (s == NULL)
		return 0;
	if (len == 0 || len > ENV_MAX || memchr(s, '\0', len) != NULL) {
		resp_error(rs, ERR_INVALID, strcmp(what, "app") == 0 ? "invalid app" :
		    "invalid environment");
		return -1;
	}
	*out = s;
	return 1;
}

/* The app of an app scope (404 within the team); app_id 0 when none. */
static int
scope_app(struct req *rq, struct resp *rs, const char *slug, struct app *a)
{
	struct err err;

	memset(a, 0, sizeof(*a));
	if (slug == NULL)
		return 0;
	if (store_app_get(rq->team.team_id, slug, a, &err) == -1) {
		runs_fail(rs, &err, "get app");
		return -1;
	}
	return 0;
}

/* 409 when name is a parameter of the app's latest version. */
static int
param_clash(struct resp *rs, const struct app *a, const char *name)
{
	struct version v;
	struct err err;
	json_t *schema = NULL;
	int rc = 0;

	if (a->id == 0 || store_version_get(a->id, 0, &v, &err) == -1)
		return 0;	/* no version yet: nothing to clash with */
	if (v.params_schema_json != NULL &&
	    json_decode(v.params_schema_json, strlen(v.params_schema_json), false, &schema) == 0 &&
	    json_object_get(json_object_get(schema, "properties"), name) != NULL) {
		err_set(&err, ERR_CONFLICT, "secret %s clashes with parameter %s of app %s "
		    "(version %lld)", name, name, a->slug, (long long)v.version_no);
		resp_err(rs, &err);
		rc = -1;
	}
	json_decref(schema);
	store_version_clear(&v);
	return rc;
}

/* Reads and checks the PUT body: value, app, environment. */
static int
put_body(struct req *rq, struct resp *rs, json_t *body, struct secrets_put *p,
    const char **app)
{
	const char *env = NULL;
	size_t alen = 0, elen = 0;
	int hv = json_get_str(body, "value", &p->value, &p->len);
	int ha = json_get_str(body, "app", app, &alen);
	int he = json_get_str(body, "environment", &env, &elen);

	if (!json_is_object(body) || hv == -1 || ha == -1 || he == -1) {
		resp_error(rs, ERR_INVALID, "invalid JSON body");
		return -1;
	}
	if (hv == 0) {
		resp_error(rs, ERR_INVALID, "value is required");
		return -1;
	}
	if (p->len > SECRETS_VALUE_MAX || memchr(p->value, '\0', p->len) != NULL) {
		resp_error(rs, ERR_INVALID, "value must be valid UTF-8 without NUL characters, at "
		    "most 65536 bytes");
		return -1;
	}
	if (scope_str(rs, "app", ha == 1 ? *app : NULL, alen, app) == -1 ||
	    scope_str(rs, "environment", he == 1 ? env : NULL, elen, &p->scope.environment) == -1)
		return -1;
	(void)rq;
	return 0;
}

/* The PUT answer: the secret's scope and version, plus the masking warning
 * for short values. */
static json_t *
put_answer(const struct secrets_put *p, int64_t version)
{
	json_t *o = json_object();

	json_object_set_new(o, "name", json_string(p->scope.name));
	if (p->app_slug != NULL)
		json_object_set_new(o, "app", json_string(p->app_slug));
	if (p->scope.environment != NULL)
		json_object_set_new(o, "environment", json_string(p->scope.environment));
	json_object_set_new(o, "version", json_integer(version));
	if (p->len < SECRETS_MASK_MIN)
		json_object_set_new(o, "warning", json_string("values shorter than 4 bytes are not "
		    "masked in logs"));
	return o;
}

void
api_secret_put(struct req *rq, struct resp *rs)
{
	struct secrets_put p;
	const char *slug = NULL;
	struct app a;
	struct err err;
	json_t *body;
	int64_t version;
	bool created;

	memset(&a, 0, sizeof(a));
	memset(&p, 0, sizeof(p));
	if (secrets_name_check(rq->param, strlen(rq->param), &err) == -1) {
		resp_err(rs, &err);
		return;
	}
	if (!secrets_configured()) {
		resp_error(rs, ERR_UNAVAILABLE, "secrets are not configured");
		return;
	}
	if ((body = api_body(rq, rs, false, "invalid JSON body")) == NULL)
		return;
	if (put_body(rq, rs, body, &p, &slug) == -1 || scope_app(rq, rs, slug, &a) == -1 ||
	    param_clash(rs, &a, rq->param) == -1)
		goto out;
	p.scope = (struct secrets_scope){ rq->team.team_id, rq->param, a.id, p.scope.environment };
	p.app_slug = a.slug;
	p.token_id = rq->team.token_id;
	if (secrets_put(&p, &created, &version, &err) == -1) {
		runs_fail(rs, &err, "put secret");
		goto out;
	}
	log_info("secret written", "team=%s name=%s app=%s environment=%s version=%d",
	    rq->team.team_slug, rq->param, a.slug != NULL ? a.slug : "",
	    p.scope.environment != NULL ? p.scope.environment : "", version);
	runs_answer(rs, created ? 201 : 200, put_answer(&p, version));
out:
	store_app_clear(&a);
	json_decref(body);
}

void
api_secret_list(struct req *rq, struct resp *rs)
{
	struct secret_row *rows;
	const char *slug;
	struct app a;
	struct err err;
	size_t n, i, len;
	json_t *arr;

	slug = http_query(rq, "app", &len);
	if (scope_app(rq, rs, slug, &a) == -1)
		return;
	if (store_secret_list(rq->team.team_id, a.id, &rows, &n, &err) == -1) {
		store_app_clear(&a);
		runs_fail(rs, &err, "list secrets");
		return;
	}
	arr = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(arr, encode_secret(&rows[i]));
	store_secret_rows_free(rows, n);
	store_app_clear(&a);
	runs_answer(rs, 200, json_pack("{so}", "secrets", arr));
}

void
api_secret_delete(struct req *rq, struct resp *rs)
{
	const char *slug, *env;
	size_t alen = 0, elen = 0;
	struct app a;
	struct err err;

	if (secrets_name_check(rq->param, strlen(rq->param), &err) == -1) {
		resp_err(rs, &err);
		return;
	}
	slug = http_query(rq, "app", &alen);
	env = http_query(rq, "environment", &elen);
	if (scope_str(rs, "app", slug, alen, &slug) == -1 ||
	    scope_str(rs, "environment", env, elen, &env) == -1 ||
	    scope_app(rq, rs, slug, &a) == -1)
		return;
	if (store_secret_delete(rq->team.team_id, rq->param, a.id, env, &err) == -1)
		runs_fail(rs, &err, "delete secret");
	else
		resp_empty(rs, 204);
	if (rs->status == 204)
		log_info("secret deleted", "team=%s name=%s app=%s environment=%s",
		    rq->team.team_slug, rq->param, a.slug != NULL ? a.slug : "",
		    env != NULL ? env : "");
	store_app_clear(&a);
}

/* {"secrets":[{"name":..,"value":..},...]} built by hand so that the value
 * goes straight into the response buffer; names joined by ',' into names. */
static void
delivery_body(struct buf *b, const struct secrets_plain *p, size_t n, struct buf *names)
{
	size_t i;

	buf_adds(b, "{\"secrets\":[");
	for (i = 0; i < n; i++) {
		buf_adds(b, i > 0 ? ",{\"name\":" : "{\"name\":");
		json_encode_str(b, p[i].name, strlen(p[i].name));
		buf_adds(b, ",\"value\":");
		json_encode_str(b, (const char *)p[i].value, p[i].len);
		buf_adds(b, "}");
		buf_addf(names, i > 0 ? ",%s" : "%s", p[i].name);
	}
	buf_adds(b, "]}");
}

void
api_run_secrets(struct req *rq, struct resp *rs)
{
	struct secrets_plain *p = NULL;
	struct buf b, names;
	struct err err;
	char hash[65], team[64], app[64];
	int64_t run_id, attempt_no = 0;
	size_t n = 0;

	if (runner_prelude(rq, rs, &run_id, hash) == -1)
		return;
	if (secrets_for_run(run_id, rq->runner.runner_id, hash, &p, &n, &attempt_no, team, app,
	    &err) == -1) {
		runs_fail(rs, &err, "deliver secrets");
		return;
	}
	buf_init(&b, 64u << 20);	/* a bound, not an allocation */
	buf_init(&names, 1 << 16);
	delivery_body(&b, p, n, &names);
	secrets_plain_list_free(p, n);
	if (n > 0) {	/* an empty answer gives nothing away: no line */
		log_info("secrets delivered", "run_id=%d attempt_no=%d team=%s app=%s runner=%s "
		    "names=%s", run_id, attempt_no, team, app, rq->runner.name, buf_str(&names));
		metrics_secrets_delivered(team, app, (int64_t)n);
	}
	buf_free(&names);
	resp_json(rs, 200, &b);
	resp_header(rs, "Cache-Control", "no-store");
}

void
api_secrets_run_note(const struct run *r, json_t *o)
{
	if (strcmp(r->status, "queued") == 0 && !secrets_configured() && store_run_has_secrets(r->id))
		json_object_set_new(o, "waiting_reason", json_string("secrets are not configured"));
}

int
api_secrets_upload_clash(int64_t team_id, int64_t app_id, const json_t *schema,
    struct err *err)
{
	const json_t *props = json_object_get(schema, "properties");
	struct secret_row *rows;
	size_t n, i;
	int rc = 0;

	if (props == NULL || json_object_size(props) == 0)
		return 0;
	if (store_secret_list(team_id, app_id, &rows, &n, err) == -1)
		return -1;
	for (i = 0; i < n && rc == 0; i++)
		if (json_object_get(props, rows[i].name) != NULL)
			rc = err_set(err, ERR_CONFLICT, "parameter %s clashes with secret %s%s%s",
			    rows[i].name, rows[i].name, rows[i].app_slug != NULL ? " of app " : "",
			    rows[i].app_slug != NULL ? rows[i].app_slug : " (team-wide)");
	store_secret_rows_free(rows, n);
	return rc;
}
