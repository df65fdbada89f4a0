/*
 * towerfile: from a TOML tree to struct towerfile. Known keys are looked up
 * with ASCII case folding; a known key holding the wrong TOML type is a
 * parse error naming the line of the value. Then the validation rules, the
 * params_schema, and the lexical path rules shared with archive and glob.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "quote.h"
#include "slug.h"
#include "toml.h"
#include "towerfile.h"
#include "util.h"

static bool traverses(const char *p, size_t n);

/* The value of the known key name in table t: the exact-case key, else the
 * last key equal to name in ASCII case folding; NULL when absent. */
const struct toml_value *
towerfile_field(const struct toml_value *t, const char *name)
{
	const struct toml_value *v, *last = NULL;
	size_t n = strlen(name), i, j;

	v = toml_get(t, name, n);
	if (v != NULL)
		return v;
	for (i = 0; i < t->u.tab.len; i++) {
		const struct toml_kv *kv = &t->u.tab.kv[i];

		if (kv->keylen != n)
			continue;
		for (j = 0; j < n; j++) {
			char a = kv->key[j], b = name[j];

			if (a >= 'A' && a <= 'Z')
				a = (char)(a - 'A' + 'a');
			if (a != b)
				break;
		}
		if (j == n)
			last = kv->val;
	}
	return last;
}

static const char *
found_type(const struct toml_value *v)
{
	if (v->type == TOML_ARRAY && v->u.arr.of_tables)
		return "array of tables";
	if (v->type == TOML_TABLE && v->u.tab.kind == TOML_TABLE_INLINE)
		return "inline table";
	return toml_type_name(v);
}

int
towerfile_type_error(const struct toml_value *v, const char *path, const char *want,
    struct err *err)
{
	return err_set(err, ERR_TOWERFILE_INVALID, "parsing towerfile: line %u: "
	    "%s must be %s, got %s", v->line, path, want, found_type(v));
}

static int
take_string(const struct toml_value *v, const char *path, char **s, size_t *len,
    struct err *err)
{
	if (v->type != TOML_STRING)
		return towerfile_type_error(v, path, "a string", err);
	free(*s);
	*s = xstrndup(v->u.str.ptr, v->u.str.len);
	*len = v->u.str.len;
	return 0;
}

/* Reads the optional string key name of t into *s / *len. */
static int
get_string(const struct toml_value *t, const char *name, const char *path,
    char **s, size_t *len, struct err *err)
{
	const struct toml_value *v = towerfile_field(t, name);

	if (v == NULL)
		return 0;
	return take_string(v, path, s, len, err);
}

int
towerfile_get_strings(const struct toml_value *t, const char *name, const char *path,
    char ***list, size_t **lens, size_t *n, struct err *err)
{
	const struct toml_value *v = towerfile_field(t, name), *item;
	char where[64];
	size_t i;

	if (v == NULL)
		return 0;
	if (v->type != TOML_ARRAY || v->u.arr.of_tables)
		return towerfile_type_error(v, path, "an array of strings", err);
	*list = xcalloc(v->u.arr.len + 1, sizeof(**list));
	*lens = xcalloc(v->u.arr.len + 1, sizeof(**lens));
	for (i = 0; i < v->u.arr.len; i++) {
		item = v->u.arr.items[i];
		snprintf(where, sizeof(where), "%s[%zu]", path, i);
		if (take_string(item, where, &(*list)[i], &(*lens)[i], err) < 0)
			return -1;
		*n = i + 1;
	}
	return 0;
}

static int
get_timeout(struct towerfile *tf, const struct toml_value *app, struct err *err)
{
	const struct toml_value *t = towerfile_field(app, "timeout"), *s;

	if (t == NULL)
		return 0;
	if (t->type != TOML_TABLE)
		return towerfile_type_error(t, "app.timeout", "a table", err);
	tf->has_timeout = true;
	s = towerfile_field(t, "seconds");
	if (s == NULL)
		return 0;
	if (s->type != TOML_INTEGER)
		return towerfile_type_error(s, "app.timeout.seconds", "an integer", err);
	tf->timeout_seconds = s->u.i;
	return 0;
}

static int
get_app(struct towerfile *tf, const struct toml_value *root, struct err *err)
{
	const struct toml_value *app = towerfile_field(root, "app");

	if (app == NULL)
		return 0;
	if (app->type != TOML_TABLE)
		return towerfile_type_error(app, "app", "a table", err);
	if (get_string(app, "name", "app.name", &tf->name, &tf->name_len, err) < 0 ||
	    get_string(app, "script", "app.script", &tf->script, &tf->script_len, err) < 0 ||
	    towerfile_get_strings(app, "source", "app.source", &tf->source, &tf->source_lens,
	    &tf->nsource, err) < 0 ||
	    towerfile_get_strings(app, "import_paths", "app.import_paths", &tf->import_paths,
	    &tf->import_path_lens, &tf->nimport_paths, err) < 0)
		return -1;
	if (get_timeout(tf, app, err) < 0 || towerfile_schedule_parse(tf, app, err) < 0)
		return -1;
	return towerfile_limits_parse(tf, app, err);
}

/* The Go type name earlier servers printed for a TOML value (§2, 9d). */
static const char *
go_kind(const struct toml_value *v)
{
	switch (v->type) {
	case TOML_STRING:
		return "string";
	case TOML_INTEGER:
		return "int64";
	case TOML_FLOAT:
		return "float64";
	case TOML_BOOL:
		return "bool";
	case TOML_ARRAY:
		return v->u.arr.of_tables ? "[]map[string]interface {}" : "[]interface {}";
	case TOML_TABLE:
		return "map[string]interface {}";
	default:
		return "time.Time";
	}
}

static void
set_default(struct towerfile_param *p, const struct toml_value *v)
{
	p->has_default = true;
	p->default_kind = go_kind(v);
	p->default_finite = !(v->type == TOML_FLOAT && !isfinite(v->u.f));
	if (v->type == TOML_STRING)
		p->default_value = json_stringn(v->u.str.ptr, v->u.str.len);
	else if (v->type == TOML_INTEGER)
		p->default_value = json_integer(v->u.i);
	else if (v->type == TOML_FLOAT && p->default_finite)
		p->default_value = json_real(v->u.f);
	else if (v->type == TOML_BOOL)
		p->default_value = json_boolean(v->u.b);
}

static int
get_param(struct towerfile_param *p, const struct toml_value *t, size_t i,
    struct err *err)
{
	const struct toml_value *def;
	char path[96];

	p->name = xstrdup("");
	p->description = xstrdup("");
	snprintf(path, sizeof(path), "parameters[%zu]", i);
	if (t->type != TOML_TABLE)
		return towerfile_type_error(t, path, "a table", err);
	snprintf(path, sizeof(path), "parameters[%zu].name", i);
	if (get_string(t, "name", path, &p->name, &p->name_len, err) < 0)
		return -1;
	snprintf(path, sizeof(path), "parameters[%zu].description", i);
	if (get_string(t, "description", path, &p->description, &p->description_len, err) < 0)
		return -1;
	snprintf(path, sizeof(path), "parameters[%zu].type", i);
	if (get_string(t, "type", path, &p->type, &p->type_len, err) < 0)
		return -1;
	if (p->type != NULL && p->type_len == 0) {
		free(p->type);
		p->type = NULL;
	}
	def = towerfile_field(t, "default");
	if (def != NULL)
		set_default(p, def);
	return 0;
}

static int
get_params(struct towerfile *tf, const struct toml_value *root, struct err *err)
{
	const struct toml_value *v = towerfile_field(root, "parameters");
	size_t i;

	if (v == NULL)
		return 0;
	if (v->type != TOML_ARRAY)
		return towerfile_type_error(v, "parameters", "an array of tables", err);
	tf->params = xcalloc(v->u.arr.len + 1, sizeof(*tf->params));
	for (i = 0; i < v->u.arr.len; i++) {
		tf->nparams = i + 1;
		if (get_param(&tf->params[i], v->u.arr.items[i], i, err) < 0)
			return -1;
	}
	return 0;
}

int
towerfile_parse(const char *text, size_t len, struct towerfile **out, struct err *err)
{
	struct toml_value *root = NULL;
	struct towerfile *tf = NULL;
	int rc = -1;

	*out = NULL;
	if (toml_parse(text, len, &root, err) < 0) {
		if (err != NULL)
			err->code = ERR_TOWERFILE_INVALID;
		err_prefix(err, "parsing towerfile: ");
		goto out;
	}
	tf = xcalloc(1, sizeof(*tf));
	tf->name = xstrdup("");
	tf->script = xstrdup("");
	if (get_app(tf, root, err) < 0 || get_params(tf, root, err) < 0)
		goto out;
	*out = tf;
	tf = NULL;
	rc = 0;
out:
	towerfile_free(tf);
	toml_free(root);
	return rc;
}

static void
free_list(char **list, size_t n)
{
	size_t i;

	for (i = 0; list != NULL && i < n; i++)
		free(list[i]);
	free(list);
}

void
towerfile_free(struct towerfile *tf)
{
	size_t i;

	if (tf == NULL)
		return;
	free(tf->name);
	free(tf->script);
	free_list(tf->source, tf->nsource);
	free(tf->source_lens);
	free_list(tf->import_paths, tf->nimport_paths);
	free(tf->import_path_lens);
	for (i = 0; i < tf->nparams; i++) {
		free(tf->params[i].name);
		free(tf->params[i].description);
		free(tf->params[i].type);
		json_decref(tf->params[i].default_value);
	}
	free(tf->params);
	towerfile_limits_free(tf);
	towerfile_schedule_free(tf);
	free(tf);
}

/* ---- validation (§2) ---- */

static bool
has_control(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return true;
	}
	return false;
}

/* Sets err to pre + the Go-quoted s[0..n) + post; returns -1. */
static int
fail_quoted(struct err *err, const char *pre, const char *s, size_t n, const char *post)
{
	struct buf b;

	buf_init(&b, 4 * n + 64);
	quote_go(&b, s, n);
	err_set(err, ERR_TOWERFILE_INVALID, "%s%s%s", pre, buf_str(&b), post);
	buf_free(&b);
	return -1;
}

/* Rule 4: the extension of the last path element, lower-cased, as Go's
 * strings.ToLower(filepath.Ext(script)) for ASCII letters. */
static int
check_extension(const struct towerfile *tf, struct err *err)
{
	size_t i = tf->script_len, start, n, k;
	char *ext;
	int rc = 0;

	while (i > 0 && tf->script[i - 1] != '/' && tf->script[i - 1] != '.')
		i--;
	start = i > 0 && tf->script[i - 1] == '.' ? i - 1 : tf->script_len;
	n = tf->script_len - start;
	ext = xstrndup(tf->script + start, n);
	for (k = 0; k < n; k++) {
		if (ext[k] >= 'A' && ext[k] <= 'Z')
			ext[k] = (char)(ext[k] - 'A' + 'a');
	}
	if (!(n == 3 && (memcmp(ext, ".py", 3) == 0 || memcmp(ext, ".sh", 3) == 0)))
		rc = fail_quoted(err, "app.script must end in .py or .sh, got ", ext, n, "");
	free(ext);
	return rc;
}

/* Rules 1-5. */
static int
check_name_script(const struct towerfile *tf, struct err *err)
{
	struct err serr;

	if (tf->name_len == 0)
		return err_set(err, ERR_TOWERFILE_INVALID, "app.name is required");
	if (slug_check(tf->name, tf->name_len, &serr) < 0)
		return err_set(err, ERR_TOWERFILE_INVALID, "app.name: %s", serr.msg);
	if (tf->script_len == 0)
		return err_set(err, ERR_TOWERFILE_INVALID, "app.script is required");
	if (has_control(tf->script, tf->script_len))
		return err_set(err, ERR_TOWERFILE_INVALID,
		    "app.script must not contain control characters");
	if (check_extension(tf, err) < 0)
		return -1;
	if (traverses(tf->script, tf->script_len))
		return err_set(err, ERR_TOWERFILE_INVALID,
		    "app.script must not contain path traversal");
	return 0;
}

/* Rules 6-7b; each rule looks at every entry before the next rule runs. */
static int
check_lists(const struct towerfile *tf, struct err *err)
{
	size_t i;

	for (i = 0; i < tf->nsource; i++) {
		if (traverses(tf->source[i], tf->source_lens[i]))
			return fail_quoted(err, "source pattern ", tf->source[i],
			    tf->source_lens[i], " must not escape the project root");
	}
	for (i = 0; i < tf->nsource; i++) {
		if (has_control(tf->source[i], tf->source_lens[i]))
			return fail_quoted(err, "source pattern ", tf->source[i],
			    tf->source_lens[i], " must not contain control characters");
	}
	for (i = 0; i < tf->nimport_paths; i++) {
		if (traverses(tf->import_paths[i], tf->import_path_lens[i]))
			return fail_quoted(err, "import_paths entry ", tf->import_paths[i],
			    tf->import_path_lens[i], " must not escape the project root");
	}
	for (i = 0; i < tf->nimport_paths; i++) {
		if (has_control(tf->import_paths[i], tf->import_path_lens[i]))
			return fail_quoted(err, "import_paths entry ", tf->import_paths[i],
			    tf->import_path_lens[i], " must not contain control characters");
	}
	if (tf->nimport_paths > 64)
		return err_set(err, ERR_TOWERFILE_INVALID, "app.import_paths must have "
		    "at most 64 entries, got %zu", tf->nimport_paths);
	for (i = 0; i < tf->nimport_paths; i++) {
		if (tf->import_path_lens[i] > 1024)
			return fail_quoted(err, "import_paths entry ", tf->import_paths[i],
			    tf->import_path_lens[i], " must be at most 1024 bytes");
	}
	return 0;
}

/* Rule 9b: is parameter i's name used by an earlier parameter? The set of
 * names seen so far is an open-addressing table of parameter indexes + 1. */
static bool
seen_before(const struct towerfile *tf, size_t i, size_t *slots, size_t nslots)
{
	const struct towerfile_param *p = &tf->params[i], *q;
	uint32_t h = 2166136261u;
	size_t k, slot;

	for (k = 0; k < p->name_len; k++)
		h = (h ^ (unsigned char)p->name[k]) * 16777619u;
	for (slot = h & (nslots - 1); slots[slot] != 0; slot = (slot + 1) & (nslots - 1)) {
		q = &tf->params[slots[slot] - 1];
		if (q->name_len == p->name_len && memcmp(q->name, p->name, p->name_len) == 0)
			return true;
	}
	slots[slot] = i + 1;
	return false;
}

/* Rules 9c-9e for parameter i. */
static int
check_param_type(const struct towerfile_param *p, size_t i, struct err *err)
{
	static const struct {
		const char *type, *want, *kind, *alt_kind;
	} types[] = {
		{ "string", "a string", "string", NULL },
		{ "number", "a number", "int64", "float64" },
		{ "integer", "an integer", "int64", NULL },
		{ "boolean", "a boolean", "bool", NULL },
	};
	const char *type = p->type != NULL ? p->type : "string";
	size_t len = p->type != NULL ? p->type_len : 6, t;
	char pre[128];

	for (t = 0; t < 4; t++) {
		if (strlen(types[t].type) == len && memcmp(types[t].type, type, len) == 0)
			break;
	}
	if (t == 4) {
		snprintf(pre, sizeof(pre), "parameters[%zu].type must be one of "
		    "string, number, integer, boolean; got ", i);
		return fail_quoted(err, pre, type, len, "");
	}
	if (!p->has_default)
		return 0;
	if (strcmp(p->default_kind, types[t].kind) != 0 &&
	    (types[t].alt_kind == NULL || strcmp(p->default_kind, types[t].alt_kind) != 0))
		return err_set(err, ERR_TOWERFILE_INVALID, "parameters[%zu].default must "
		    "be %s, got %s", i, types[t].want, p->default_kind);
	if (!p->default_finite)
		return err_set(err, ERR_TOWERFILE_INVALID,
		    "parameters[%zu].default must be a finite number", i);
	return 0;
}

/* Rule 9, parameter by parameter. */
static int
check_params(const struct towerfile *tf, struct err *err)
{
	size_t nslots = 16, i, *slots;
	int rc = -1;

	while (nslots < tf->nparams * 2)
		nslots *= 2;
	slots = xcalloc(nslots, sizeof(*slots));
	for (i = 0; i < tf->nparams; i++) {
		if (tf->params[i].name_len == 0) {
			err_set(err, ERR_TOWERFILE_INVALID, "parameters[%zu].name is required", i);
			goto out;
		}
		if (seen_before(tf, i, slots, nslots)) {
			fail_quoted(err, "duplicate parameter name ", tf->params[i].name,
			    tf->params[i].name_len, "");
			goto out;
		}
		if (check_param_type(&tf->params[i], i, err) < 0)
			goto out;
	}
	rc = 0;
out:
	free(slots);
	return rc;
}

int
towerfile_validate(const struct towerfile *tf, struct err *err)
{
	if (check_name_script(tf, err) < 0 || check_lists(tf, err) < 0)
		return -1;
	if (tf->has_timeout && tf->timeout_seconds < 1)
		return err_set(err, ERR_TOWERFILE_INVALID, "app.timeout.seconds must be "
		    ">= 1, got %" PRId64, tf->timeout_seconds);
	if (check_params(tf, err) < 0 || towerfile_limits_validate(tf, err) < 0)
		return -1;
	return towerfile_schedule_validate(tf, err);
}

/* ---- params_schema (§4.1) ---- */

json_t *
towerfile_params_schema(const struct towerfile *tf)
{
	const struct towerfile_param *p;
	json_t *props, *prop;
	size_t i;

	if (tf->nparams == 0)
		return NULL;
	props = json_object();
	for (i = 0; i < tf->nparams; i++) {
		p = &tf->params[i];
		prop = json_object();
		if (p->default_value != NULL)
			json_object_set(prop, "default", p->default_value);
		if (p->description_len > 0)
			json_object_set_new(prop, "description",
			    json_stringn(p->description, p->description_len));
		json_object_set_new(prop, "type", p->type != NULL ?
		    json_stringn(p->type, p->type_len) : json_string("string"));
		json_object_setn_new(props, p->name, p->name_len, prop);
	}
	return json_pack("{s:o, s:s}", "properties", props, "type", "object");
}

/* ---- lexical paths ---- */

/* path.Clean of in[0..n) into out (at least n + 2 bytes); returns the length. */
static size_t
clean(const char *in, size_t n, char *out)
{
	size_t r = 0, w = 0, dotdot = 0;
	bool rooted = n > 0 && in[0] == '/';

	if (rooted) {
		out[w++] = '/';
		r = dotdot = 1;
	}
	while (r < n) {
		if (in[r] == '/') {
			r++;
		} else if (in[r] == '.' && (r + 1 == n || in[r + 1] == '/')) {
			r++;
		} else if (in[r] == '.' && in[r + 1] == '.' && (r + 2 == n || in[r + 2] == '/')) {
			r += 2;
			if (w > dotdot) {
				for (w--; w > dotdot && out[w] != '/'; w--)
					;
			} else if (!rooted) {
				if (w > 0)
					out[w++] = '/';
				out[w++] = '.';
				out[w++] = '.';
				dotdot = w;
			}
		} else {
			if ((rooted && w != 1) || (!rooted && w != 0))
				out[w++] = '/';
			for (; r < n && in[r] != '/'; r++)
				out[w++] = in[r];
		}
	}
	if (w == 0)
		out[w++] = '.';
	out[w] = '\0';
	return w;
}

int
towerfile_clean_path(const char *in, char *out, size_t outsz)
{
	size_t n = strlen(in);
	char *tmp = xmalloc(n + 2);
	size_t len = clean(in, n, tmp);
	int rc = -1;

	if (len < outsz) {
		memcpy(out, tmp, len + 1);
		rc = 0;
	}
	free(tmp);
	return rc;
}

/* The traversal test of §2 on p[0..n), which may hold NUL bytes. */
static bool
traverses(const char *p, size_t n)
{
	char *c = xmalloc(n + 2);
	size_t len = clean(p, n, c), i;
	bool bad = len >= 2 && c[0] == '.' && c[1] == '.';

	for (i = 0; !bad && i + 1 < len; i++) {
		bad = (i == 0 || c[i - 1] == '/') && c[i] == '.' && c[i + 1] == '.' &&
		    (i + 2 == len || c[i + 2] == '/');
	}
	free(c);
	return bad;
}

bool
towerfile_path_traverses(const char *p)
{
	return traverses(p, strlen(p));
}
