/*
 * encode: AppObject and VersionObject (run objects are in encode_run.c).
 * jansson keeps insertion order, so the order of the set calls below is the
 * wire order.
 */
#include <string.h>

#include "encode.h"
#include "json.h"
#include "util.h"

json_t *
encode_ts(int64_t ms)
{
	char t[40];

	fmt_rfc3339_ms(ms, t, sizeof(t));
	return json_string(t);
}

json_t *
encode_app(const struct app *a)
{
	json_t *o = json_object();

	json_object_set_new(o, "app_id", json_integer(a->id));
	json_object_set_new(o, "slug", json_string(a->slug));
	if (a->description != NULL)
		json_object_set_new(o, "description", json_stringn(a->description, a->description_len));
	json_object_set_new(o, "disabled", json_false());
	json_object_set_new(o, "created_at", encode_ts(a->created_at));
	json_object_set_new(o, "updated_at", encode_ts(a->updated_at));
	return o;
}

/* Decodes stored JSON text; NULL when absent or invalid. */
static json_t *
stored_json(const char *text)
{
	json_t *v = NULL;

	if (text == NULL || json_decode(text, strlen(text), false, &v) == -1)
		return NULL;
	return v;
}

json_t *
encode_version(const struct version *v)
{
	json_t *o = json_object(), *schema, *paths;

	json_object_set_new(o, "version_id", json_integer(v->id));
	json_object_set_new(o, "version_no", json_integer(v->version_no));
	json_object_set_new(o, "entrypoint", json_string(v->entrypoint));
	if (v->timeout_seconds != 0)
		json_object_set_new(o, "timeout_seconds", json_integer(v->timeout_seconds));
	schema = stored_json(v->params_schema_json);
	if (schema != NULL && json_object_size(schema) > 0)
		json_object_set_new(o, "params_schema", schema);
	else
		json_decref(schema);
	json_object_set_new(o, "artifact_sha256", json_string(v->sha256));
	if (v->towerfile_toml != NULL)
		json_object_set_new(o, "towerfile_toml", json_string(v->towerfile_toml));
	paths = stored_json(v->import_paths_json);
	if (json_is_array(paths) && json_array_size(paths) > 0)
		json_object_set_new(o, "import_paths", paths);
	else
		json_decref(paths);
	json_object_set_new(o, "created_at", encode_ts(v->created_at));
	encode_limits(o, v->sandbox_json, v->resources_json);
	return o;
}

/* {"network":…,"writable_paths":[…]}: network always (true when the stored
 * form lacks it), writable_paths only when a non-empty array. */
static json_t *
sandbox_object(const json_t *in)
{
	json_t *o = json_object(), *net = json_object_get(in, "network"),
	    *paths = json_object_get(in, "writable_paths");

	json_object_set_new(o, "network", json_boolean(!json_is_false(net)));
	if (json_is_array(paths) && json_array_size(paths) > 0)
		json_object_set(o, "writable_paths", paths);
	return o;
}

/* The numeric keys of the stored resources in their fixed order; NULL when
 * none is there. */
static json_t *
resources_object(const json_t *in)
{
	static const char *const keys[] = { "memory_mb", "cpus", "pids", "disk_mb",
	    "open_files" };
	json_t *o = json_object(), *v;
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		v = json_object_get(in, keys[i]);
		if (json_is_number(v))
			json_object_set(o, keys[i], v);
	}
	if (json_object_size(o) == 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

void
encode_limits(json_t *o, const char *sandbox_json, const char *resources_json)
{
	json_t *s = stored_json(sandbox_json), *r = stored_json(resources_json), *ro;

	if (json_is_object(s))
		json_object_set_new(o, "sandbox", sandbox_object(s));
	if (json_is_object(r) && (ro = resources_object(r)) != NULL)
		json_object_set_new(o, "resources", ro);
	json_decref(s);
	json_decref(r);
}
