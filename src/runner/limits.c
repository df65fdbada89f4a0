/*
 * limits: reading, defaulting and checking a run's resources. cpus is
 * kept in thousandths so that every comparison is exact.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "limits.h"
#include "util.h"

struct field {
	const char	*key;		/* Towerfile key */
	const char	*env;		/* suffix of the runner variable */
	size_t		 off;
	bool		 milli;
};

static const struct field fields[] = {
	{ "memory_mb", "MEMORY_MB", offsetof(struct limits, memory_mb), false },
	{ "cpus", "CPUS", offsetof(struct limits, cpus_milli), true },
	{ "pids", "PIDS", offsetof(struct limits, pids), false },
	{ "disk_mb", "DISK_MB", offsetof(struct limits, disk_mb), false },
	{ "open_files", "OPEN_FILES", offsetof(struct limits, open_files), false },
};
#define NFIELDS	(sizeof(fields) / sizeof(fields[0]))

static int64_t *
slot(struct limits *l, const struct field *f)
{
	return (int64_t *)(void *)((char *)l + f->off);
}

static int64_t
value(const struct limits *l, const struct field *f)
{
	return *(const int64_t *)(const void *)((const char *)l + f->off);
}

/* "0.5" for 500 milli, "2" for 2000, "256" for a plain field. */
static void
show(const struct field *f, int64_t v, char *out, size_t outsz)
{
	if (f->milli && v % 1000 != 0)
		snprintf(out, outsz, "%lld.%03lld", (long long)(v / 1000), (long long)(v % 1000));
	else
		snprintf(out, outsz, "%lld", (long long)(f->milli ? v / 1000 : v));
	if (f->milli && strchr(out, '.') != NULL) {
		size_t n = strlen(out);

		while (n > 0 && out[n - 1] == '0')
			out[--n] = '\0';
	}
}

static int
to_units(const struct field *f, double d, int64_t *out)
{
	if (!isfinite(d) || d <= 0 || d > 1e12)
		return -1;
	if (f->milli) {
		*out = (int64_t)llround(d * 1000.0);
		return *out >= 1 ? 0 : -1;
	}
	if (d != floor(d))
		return -1;
	*out = (int64_t)d;
	return 0;
}

int
limits_from_json(struct limits *l, const json_t *resources, char *msg, size_t msgsz)
{
	size_t i;

	memset(l, 0, sizeof(*l));
	if (resources == NULL || !json_is_object(resources))
		return 0;
	for (i = 0; i < NFIELDS; i++) {
		const json_t *v = json_object_get(resources, fields[i].key);

		if (v == NULL)
			continue;
		if (!json_is_number(v) || to_units(&fields[i], json_number_value(v), slot(l, &fields[i])) != 0) {
			snprintf(msg, msgsz, "invalid resources.%s", fields[i].key);
			return -1;
		}
	}
	return 0;
}

void
limits_apply_defaults(struct limits *l, const struct limits *defaults)
{
	size_t i;

	for (i = 0; i < NFIELDS; i++)
		if (value(l, &fields[i]) == 0)
			*slot(l, &fields[i]) = value(defaults, &fields[i]);
}

/* Why a limit cannot be enforced here, or NULL. */
static const char *
unenforceable(const struct field *f, const struct limits_caps *caps)
{
	if (strcmp(f->key, "cpus") == 0 && !caps->cgroup)
		return "no usable cgroup on this runner";
	if (strcmp(f->key, "disk_mb") == 0 && !caps->mount)
		return "the runner does not run as root";
	if (strcmp(f->key, "pids") == 0 && !caps->cgroup && !caps->uid_per_run)
		return "no usable cgroup on this runner and jobs run as root";
	return NULL;
}

int
limits_check(const struct limits *l, const struct limits *ceilings,
    const struct limits_caps *caps, char *msg, size_t msgsz)
{
	char a[32], b[32];
	const char *why;
	size_t i;

	for (i = 0; i < NFIELDS; i++) {
		int64_t v = value(l, &fields[i]), max = value(ceilings, &fields[i]);

		if (v == 0)
			continue;
		if (max > 0 && v > max) {
			show(&fields[i], v, a, sizeof(a));
			show(&fields[i], max, b, sizeof(b));
			snprintf(msg, msgsz, "resources exceed this runner's limits: %s = %s > "
			    "MINITOWER_MAX_%s = %s", fields[i].key, a, fields[i].env, b);
			return -1;
		}
		why = unenforceable(&fields[i], caps);
		if (why != NULL) {
			snprintf(msg, msgsz, "resources.%s cannot be enforced: %s", fields[i].key, why);
			return -1;
		}
	}
	return 0;
}

int
limits_from_env(struct limits *l, const char *(*get)(const char *),
    const char *prefix, char *msg, size_t msgsz)
{
	char name[64];
	size_t i;

	memset(l, 0, sizeof(*l));
	for (i = 0; i < NFIELDS; i++) {
		const char *v;
		char *end;
		double d;

		snprintf(name, sizeof(name), "MINITOWER_%s_%s", prefix, fields[i].env);
		v = get(name);
		if (v == NULL || v[0] == '\0')
			continue;
		d = strtod(v, &end);
		if (*end != '\0' || to_units(&fields[i], d, slot(l, &fields[i])) != 0) {
			snprintf(msg, msgsz, "%s must be a positive %s", name,
			    fields[i].milli ? "number" : "integer");
			return -1;
		}
	}
	return 0;
}

void
limits_drop_unenforceable(struct limits *l, const struct limits_caps *caps)
{
	size_t i;

	for (i = 0; i < NFIELDS; i++)
		if (unenforceable(&fields[i], caps) != NULL)
			*slot(l, &fields[i]) = 0;
}

void
limits_describe(const struct limits *l, char *out, size_t outsz)
{
	size_t i, n = 0;
	char v[32];

	out[0] = '\0';
	for (i = 0; i < NFIELDS && n < outsz; i++) {
		if (value(l, &fields[i]) == 0)
			continue;
		show(&fields[i], value(l, &fields[i]), v, sizeof(v));
		n += (size_t)snprintf(out + n, outsz - n, "%s%s %s", n ? ", " : "", fields[i].key, v);
	}
	if (out[0] == '\0')
		snprintf(out, outsz, "none");
}
