/*
 * towerfile_limits: the [app.sandbox] and [app.resources] tables of a
 * Towerfile (docs/towerfile-sandbox.md): reading them (a wrong TOML type is
 * a parse error naming the key), validation rules 10 and 11 (writable paths,
 * resource ranges), and their compact JSON form, which minitowerd stores
 * with the version and hands to runners in the lease.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "quote.h"
#include "toml.h"
#include "towerfile.h"
#include "util.h"

#define MAX_WRITABLE_PATHS 16
#define MAX_WRITABLE_PATH_BYTES 1024

/* One integer key of [app.resources]: its name, range and where it goes. */
struct int_limit {
	const char	*name;
	int64_t		 min, max;
	size_t		 has_off, val_off;
};

#define INT_LIMIT(n, lo, hi) { #n, lo, hi, offsetof(struct towerfile_resources, has_##n), \
	offsetof(struct towerfile_resources, n) }

static const struct int_limit int_limits[] = {
	INT_LIMIT(memory_mb, 4, 1048576),
	INT_LIMIT(pids, 1, 4194304),
	INT_LIMIT(disk_mb, 1, 16777216),
	INT_LIMIT(open_files, 16, 1048576),
};

#define NLIMITS (sizeof(int_limits) / sizeof(int_limits[0]))
#define CPUS_WANT "a number greater than 0 and at most 1024"

static bool *
has_of(struct towerfile_resources *r, const struct int_limit *l)
{
	return (bool *)(void *)((char *)r + l->has_off);
}

static int64_t *
val_of(struct towerfile_resources *r, const struct int_limit *l)
{
	return (int64_t *)(void *)((char *)r + l->val_off);
}

static void
int_want(const struct int_limit *l, char *out, size_t outsz)
{
	snprintf(out, outsz, "an integer between %" PRId64 " and %" PRId64, l->min, l->max);
}

static int
parse_sandbox(struct towerfile *tf, const struct toml_value *app, struct err *err)
{
	const struct toml_value *t = towerfile_field(app, "sandbox"), *net;

	if (t == NULL)
		return 0;
	if (t->type != TOML_TABLE)
		return towerfile_type_error(t, "app.sandbox", "a table", err);
	tf->has_sandbox = true;
	net = towerfile_field(t, "network");
	if (net != NULL && net->type != TOML_BOOL)
		return towerfile_type_error(net, "app.sandbox.network", "a boolean", err);
	if (net != NULL)
		tf->sandbox.network = net->u.b;
	return towerfile_get_strings(t, "writable_paths", "app.sandbox.writable_paths",
	    &tf->sandbox.writable_paths, &tf->sandbox.writable_path_lens,
	    &tf->sandbox.nwritable_paths, err);
}

static int
parse_resources(struct towerfile_resources *r, const struct toml_value *app, struct err *err)
{
	const struct toml_value *t = towerfile_field(app, "resources"), *v;
	char path[64], want[96];
	size_t i;

	if (t == NULL)
		return 0;
	if (t->type != TOML_TABLE)
		return towerfile_type_error(t, "app.resources", "a table", err);
	for (i = 0; i < NLIMITS; i++) {
		if ((v = towerfile_field(t, int_limits[i].name)) == NULL)
			continue;
		snprintf(path, sizeof(path), "app.resources.%s", int_limits[i].name);
		int_want(&int_limits[i], want, sizeof(want));
		if (v->type != TOML_INTEGER)
			return towerfile_type_error(v, path, want, err);
		*has_of(r, &int_limits[i]) = true;
		*val_of(r, &int_limits[i]) = v->u.i;
	}
	if ((v = towerfile_field(t, "cpus")) == NULL)
		return 0;
	if (v->type != TOML_INTEGER && v->type != TOML_FLOAT)
		return towerfile_type_error(v, "app.resources.cpus", CPUS_WANT, err);
	r->has_cpus = true;
	r->cpus = v->type == TOML_INTEGER ? (double)v->u.i : v->u.f;
	return 0;
}

int
towerfile_limits_parse(struct towerfile *tf, const struct toml_value *app, struct err *err)
{
	tf->sandbox.network = true;
	if (parse_sandbox(tf, app, err) < 0)
		return -1;
	return parse_resources(&tf->resources, app, err);
}

void
towerfile_limits_free(struct towerfile *tf)
{
	size_t i;

	for (i = 0; tf->sandbox.writable_paths != NULL && i < tf->sandbox.nwritable_paths; i++)
		free(tf->sandbox.writable_paths[i]);
	free(tf->sandbox.writable_paths);
	free(tf->sandbox.writable_path_lens);
}

/* ---- validation ---- */

/* Sets err to `app.sandbox.writable_paths entry "<p>" <problem>`; -1. */
static int
path_fail(struct err *err, const char *p, size_t n, const char *problem)
{
	struct buf b;

	buf_init(&b, 4 * n + 64);
	quote_go(&b, p, n);
	err_set(err, ERR_TOWERFILE_INVALID, "app.sandbox.writable_paths entry %s %s",
	    buf_str(&b), problem);
	buf_free(&b);
	return -1;
}

/* True when p[0..n) is root or lies below it (root has no trailing '/'). */
static bool
is_under(const char *p, size_t n, const char *root)
{
	size_t rl = strlen(root);

	return n >= rl && memcmp(p, root, rl) == 0 && (n == rl || p[rl] == '/');
}

/* True when p[0..n) has an empty, "." or ".." element after its leading '/'
 * (that is "//", a trailing '/', or a dot element). */
static bool
unclean(const char *p, size_t n)
{
	size_t i = 1, start, len;

	while (i <= n) {
		start = i;
		while (i < n && p[i] != '/')
			i++;
		len = i - start;
		if (len == 0 || (len == 1 && p[start] == '.') ||
		    (len == 2 && p[start] == '.' && p[start + 1] == '.'))
			return true;
		i++;
	}
	return false;
}

static int
check_path(const char *p, size_t n, struct err *err)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
			return path_fail(err, p, n, "must not contain control characters");
	}
	if (n > MAX_WRITABLE_PATH_BYTES)
		return path_fail(err, p, n, "must be at most 1024 bytes");
	if (n == 0 || p[0] != '/')
		return path_fail(err, p, n, "must be an absolute path");
	if (n == 1)
		return path_fail(err, p, n, "must not be /");
	if (unclean(p, n))
		return path_fail(err, p, n, "must be a clean path (no //, . or .. elements, "
		    "or trailing /)");
	if (is_under(p, n, "/proc") || is_under(p, n, "/sys") || is_under(p, n, "/dev"))
		return path_fail(err, p, n, "must not be under /proc, /sys or /dev");
	return 0;
}

/* Rule 10. */
static int
check_sandbox(const struct towerfile_sandbox *s, struct err *err)
{
	size_t i;

	if (s->nwritable_paths > MAX_WRITABLE_PATHS)
		return err_set(err, ERR_TOWERFILE_INVALID, "app.sandbox.writable_paths must have "
		    "at most %d entries, got %zu", MAX_WRITABLE_PATHS, s->nwritable_paths);
	for (i = 0; i < s->nwritable_paths; i++) {
		if (check_path(s->writable_paths[i], s->writable_path_lens[i], err) < 0)
			return -1;
	}
	return 0;
}

static double
cpus_rounded(double cpus)
{
	return round(cpus * 1000.0) / 1000.0;
}

static int
check_int(const struct towerfile_resources *r, const struct int_limit *l, struct err *err)
{
	const char *base = (const char *)r;
	int64_t v;
	char want[96];

	if (!*(const bool *)(const void *)(base + l->has_off))
		return 0;
	v = *(const int64_t *)(const void *)(base + l->val_off);
	if (v >= l->min && v <= l->max)
		return 0;
	int_want(l, want, sizeof(want));
	return err_set(err, ERR_TOWERFILE_INVALID, "app.resources.%s must be %s, got %" PRId64,
	    l->name, want, v);
}

/* Rule 11, keys in the order memory_mb, cpus, pids, disk_mb, open_files. */
static int
check_resources(const struct towerfile_resources *r, struct err *err)
{
	size_t i;

	if (check_int(r, &int_limits[0], err) < 0)
		return -1;
	if (r->has_cpus && !(isfinite(r->cpus) && r->cpus <= 1024 && cpus_rounded(r->cpus) > 0))
		return err_set(err, ERR_TOWERFILE_INVALID, "app.resources.cpus must be "
		    CPUS_WANT " (at least 0.001), got %g", r->cpus);
	for (i = 1; i < NLIMITS; i++) {
		if (check_int(r, &int_limits[i], err) < 0)
			return -1;
	}
	return 0;
}

int
towerfile_limits_validate(const struct towerfile *tf, struct err *err)
{
	if (tf->has_sandbox && check_sandbox(&tf->sandbox, err) < 0)
		return -1;
	return check_resources(&tf->resources, err);
}

/* ---- JSON ---- */

json_t *
towerfile_sandbox_json(const struct towerfile *tf)
{
	json_t *o, *arr;
	size_t i;

	if (!tf->has_sandbox)
		return NULL;
	o = json_object();
	json_object_set_new(o, "network", json_boolean(tf->sandbox.network));
	if (tf->sandbox.nwritable_paths == 0)
		return o;
	arr = json_array();
	for (i = 0; i < tf->sandbox.nwritable_paths; i++)
		json_array_append_new(arr, json_stringn(tf->sandbox.writable_paths[i],
		    tf->sandbox.writable_path_lens[i]));
	json_object_set_new(o, "writable_paths", arr);
	return o;
}

json_t *
towerfile_resources_json(const struct towerfile *tf)
{
	const struct towerfile_resources *r = &tf->resources;
	json_t *o = json_object();
	double c;

	if (r->has_memory_mb)
		json_object_set_new(o, "memory_mb", json_integer(r->memory_mb));
	if (r->has_cpus) {
		c = cpus_rounded(r->cpus);
		json_object_set_new(o, "cpus", c == floor(c) ? json_integer((json_int_t)c) :
		    json_real(c));
	}
	if (r->has_pids)
		json_object_set_new(o, "pids", json_integer(r->pids));
	if (r->has_disk_mb)
		json_object_set_new(o, "disk_mb", json_integer(r->disk_mb));
	if (r->has_open_files)
		json_object_set_new(o, "open_files", json_integer(r->open_files));
	if (json_object_size(o) == 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}
