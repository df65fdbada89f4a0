/*
 * jobenv: builds the job's environment from scratch. Nothing of the runner's
 * own environment is copied except PATH, LANG and TZ (already resolved in
 * the config); input keys are exported after the base variables and may
 * override LANG or TZ but never a reserved name.
 */
#include <stdlib.h>
#include <string.h>

#include "jobenv.h"
#include "json.h"
#include "towerfile.h"
#include "util.h"

#define ENV_STRING_MAX	131072	/* with its NUL, execve's per-string cap */

void
jobenv_set(struct jobenv *e, const char *name, const char *value)
{
	size_t nl = strlen(name), i;
	char *v = xasprintf("%s=%s", name, value);

	for (i = 0; i < e->n; i++) {
		if (strncmp(e->vars[i], name, nl) == 0 && e->vars[i][nl] == '=') {
			free(e->vars[i]);
			e->vars[i] = v;
			return;
		}
	}
	if (e->n + 2 > e->cap) {
		e->cap = e->cap ? e->cap * 2 : 32;
		e->vars = xrealloc(e->vars, e->cap * sizeof(char *));
	}
	e->vars[e->n++] = v;
	e->vars[e->n] = NULL;
}

const char *
jobenv_get(const struct jobenv *e, const char *name)
{
	size_t nl = strlen(name), i;

	for (i = 0; i < e->n; i++)
		if (strncmp(e->vars[i], name, nl) == 0 && e->vars[i][nl] == '=')
			return e->vars[i] + nl + 1;
	return NULL;
}

void
jobenv_free(struct jobenv *e)
{
	size_t i;

	for (i = 0; i < e->n; i++)
		free(e->vars[i]);
	free(e->vars);
	memset(e, 0, sizeof(*e));
}

static void
encode_str(struct buf *b, const char *s, size_t n)
{
	size_t i;

	buf_addc(b, '"');
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			buf_addf(b, "\\%c", c);
		else if (c == '\n')
			buf_adds(b, "\\n");
		else if (c == '\r')
			buf_adds(b, "\\r");
		else if (c == '\t')
			buf_adds(b, "\\t");
		else if (c < 0x20)
			buf_addf(b, "\\u%04x", c);
		else
			buf_addc(b, (char)c);
	}
	buf_addc(b, '"');
}

struct key {
	const char	*k;
	size_t		 len;
	json_t		*v;
};

static int
key_cmp(const void *a, const void *b)
{
	const struct key *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->k, y->k, n);

	if (c != 0)
		return c;
	return x->len < y->len ? -1 : x->len > y->len;
}

/* The keys of object o in ascending byte order (caller frees). */
static struct key *
sorted_keys(const json_t *o, size_t *n)
{
	struct key *ks = xcalloc(json_object_size(o) + 1, sizeof(*ks));
	void *it;

	*n = 0;
	for (it = json_object_iter((json_t *)(uintptr_t)o); it != NULL;
	    it = json_object_iter_next((json_t *)(uintptr_t)o, it)) {
		ks[*n].k = json_object_iter_key(it);
		ks[*n].len = json_object_iter_key_len(it);
		ks[*n].v = json_object_iter_value(it);
		(*n)++;
	}
	qsort(ks, *n, sizeof(*ks), key_cmp);
	return ks;
}

void
jobenv_encode(struct buf *b, const json_t *v)
{
	char num[64];
	size_t i, n;
	struct key *ks;

	switch (json_typeof(v)) {
	case JSON_OBJECT:
		ks = sorted_keys(v, &n);
		buf_addc(b, '{');
		for (i = 0; i < n; i++) {
			if (i > 0)
				buf_addc(b, ',');
			encode_str(b, ks[i].k, ks[i].len);
			buf_addc(b, ':');
			jobenv_encode(b, ks[i].v);
		}
		buf_addc(b, '}');
		free(ks);
		break;
	case JSON_ARRAY:
		buf_addc(b, '[');
		for (i = 0; i < json_array_size(v); i++) {
			if (i > 0)
				buf_addc(b, ',');
			jobenv_encode(b, json_array_get(v, i));
		}
		buf_addc(b, ']');
		break;
	case JSON_STRING:
		encode_str(b, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER:
		buf_addf(b, "%lld", (long long)json_integer_value(v));
		break;
	case JSON_REAL:
		json_fmt_double(json_real_value(v), num, sizeof(num));
		buf_adds(b, num);
		break;
	case JSON_TRUE:
		buf_adds(b, "true");
		break;
	case JSON_FALSE:
		buf_adds(b, "false");
		break;
	default:
		buf_adds(b, "null");
		break;
	}
}

static int
reserved(const char *k)
{
	return strcmp(k, "PATH") == 0 || strcmp(k, "HOME") == 0 ||
	    strcmp(k, "TMPDIR") == 0 || strcmp(k, "PYTHONPATH") == 0 ||
	    strcmp(k, "PYTHONHOME") == 0 || strncmp(k, "LD_", 3) == 0 ||
	    strncmp(k, "MINITOWER_", 10) == 0;
}

/* The key for messages, with NUL bytes shown as U+FFFD. */
static char *
printable_key(const char *k, size_t len)
{
	struct buf b;
	size_t i;

	buf_init(&b, 4 * len + 16);
	for (i = 0; i < len; i++) {
		if (k[i] == '\0')
			buf_adds(&b, "\xEF\xBF\xBD");
		else
			buf_addc(&b, k[i]);
	}
	return buf_take(&b);
}

/* Returns the skip reason for one input entry, or NULL when it is exported
 * (then *val holds the value, caller frees). */
static const char *
input_value(const struct key *k, char **val)
{
	struct buf b;

	*val = NULL;
	if (k->len == 0 || memchr(k->k, '=', k->len) != NULL ||
	    memchr(k->k, '\0', k->len) != NULL)
		return "not a valid environment variable name";
	if (reserved(k->k))
		return "reserved name";
	if (json_is_string(k->v) &&
	    memchr(json_string_value(k->v), '\0', json_string_length(k->v)) != NULL)
		return "value contains a NUL character";
	buf_init(&b, 64 * 1024 * 1024);
	if (json_is_string(k->v))
		buf_add(&b, json_string_value(k->v), json_string_length(k->v));
	else if (!json_is_null(k->v))
		jobenv_encode(&b, k->v);
	if (!buf_ok(&b) || k->len + 1 + b.len >= ENV_STRING_MAX) {
		buf_free(&b);
		return "value too large";
	}
	*val = buf_take(&b);
	if (*val == NULL)
		*val = xstrdup("");
	return NULL;
}

static void
add_input(struct jobenv *e, const json_t *input, jobenv_skip_fn skipped, void *arg)
{
	struct key *ks;
	size_t i, n;

	if (input == NULL || !json_is_object(input))
		return;
	ks = sorted_keys(input, &n);
	for (i = 0; i < n; i++) {
		char *val;
		const char *why = input_value(&ks[i], &val);

		if (why != NULL) {
			char *pk = printable_key(ks[i].k, ks[i].len);

			if (skipped != NULL)
				skipped(arg, pk, why);
			free(pk);
			continue;
		}
		jobenv_set(e, ks[i].k, val);
		free(val);
	}
	free(ks);
}

static void
add_python(struct jobenv *e, const struct jobenv_run *r, jobenv_ignore_fn ignore,
    void *arg)
{
	struct buf pp;
	char *path;
	size_t i;

	jobenv_set(e, "PYTHONDONTWRITEBYTECODE", "1");
	jobenv_set(e, "VIRTUAL_ENV", r->venv);
	path = xasprintf("%s/bin:%s", r->venv, r->path);
	jobenv_set(e, "PATH", path);
	free(path);
	if (r->import_paths == NULL)
		return;
	buf_init(&pp, 1024 * 1024);
	for (i = 0; r->import_paths[i] != NULL; i++) {
		char *c = jobenv_path_clean(r->import_paths[i]);
		const char *rel = c[0] == '/' ? c + 1 : c;

		if (jobenv_path_traverses(c) || strchr(c, ':') != NULL) {
			if (ignore != NULL)
				ignore(arg, r->import_paths[i]);
		} else {
			buf_addf(&pp, "%s%s/%s", pp.len > 0 ? ":" : "", r->ws, rel);
		}
		free(c);
	}
	if (pp.len > 0 && buf_ok(&pp))
		jobenv_set(e, "PYTHONPATH", buf_str(&pp));
	buf_free(&pp);
}

void
jobenv_build(struct jobenv *e, const struct jobenv_run *r,
    jobenv_skip_fn skipped, jobenv_ignore_fn ignore, void *arg)
{
	char num[32];

	memset(e, 0, sizeof(*e));
	jobenv_set(e, "PATH", r->path);
	jobenv_set(e, "HOME", r->ws);
	jobenv_set(e, "TMPDIR", r->tmp);
	jobenv_set(e, "LANG", r->lang);
	if (r->tz != NULL)
		jobenv_set(e, "TZ", r->tz);
#define NUMVAR(name, v) \
	snprintf(num, sizeof(num), "%lld", (long long)(v)); jobenv_set(e, name, num)
	NUMVAR("MINITOWER_RUN_ID", r->run_id);
	NUMVAR("MINITOWER_RUN_NO", r->run_no);
	NUMVAR("MINITOWER_ATTEMPT_NO", r->attempt_no);
	jobenv_set(e, "MINITOWER_APP", r->app_slug);
	NUMVAR("MINITOWER_VERSION_NO", r->version_no);
#undef NUMVAR
	jobenv_set(e, "MINITOWER_INPUT_FILE", r->input_file);
	add_input(e, r->input, skipped, arg);
	if (r->venv != NULL)
		add_python(e, r, ignore, arg);
}

char *
jobenv_path_clean(const char *p)
{
	size_t n = strlen(p) + 2;
	char *out = xmalloc(n);

	towerfile_clean_path(p, out, n);	/* strlen + 2 always fits */
	return out;
}

int
jobenv_path_traverses(const char *c)
{
	return towerfile_path_traverses(c);
}
