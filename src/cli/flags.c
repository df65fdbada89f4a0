/*
 * flags: the one option parser of minitower-cli (cli.md §1.1). Flags may
 * come before, between or after positional arguments; -name and --name are
 * the same, values come as --name=value or as the next argument, and "--"
 * ends flag parsing. Errors use the Go flag package's wording.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "util.h"

struct flag *
flags_find(struct flagset *fs, const char *name)
{
	for (struct flag *f = fs->v; f->name != NULL; f++)
		if (strcmp(f->name, name) == 0)
			return f;
	return NULL;
}

struct flag *
flags_get(struct flagset *fs, const char *name)
{
	struct flag *f = flags_find(fs, name);

	if (f == NULL)
		fatal("internal: no flag %s", name);
	return f;
}

const char *
flags_str(struct flagset *fs, const char *name)
{
	const char *s = flags_get(fs, name)->str;

	return s != NULL ? s : "";
}

bool
flags_on(struct flagset *fs, const char *name)
{
	return flags_get(fs, name)->on;
}

static const char *
kind_name(enum flag_kind k)
{
	switch (k) {
	case FLAG_STR:
	case FLAG_LIST:
		return " string";
	case FLAG_INT:
		return " int";
	case FLAG_DURATION:
		return " duration";
	case FLAG_BOOL:
		break;
	}
	return "";
}

void
flags_usage(const struct flagset *fs)
{
	fprintf(stderr, "usage: minitower-cli %s%s%s [flags]\n", fs->cmd,
	    fs->args != NULL ? " " : "", fs->args != NULL ? fs->args : "");
	if (fs->v[0].name != NULL)
		fprintf(stderr, "\nflags:\n");
	for (const struct flag *f = fs->v; f->name != NULL; f++) {
		fprintf(stderr, "  -%s%s\n    \t%s", f->name, kind_name(f->kind), f->help);
		if (f->def != NULL)
			fprintf(stderr, " (default %s)", f->def);
		if (f->kind == FLAG_LIST)
			fprintf(stderr, " (repeatable)");
		fputc('\n', stderr);
	}
}

__attribute__((format(printf, 2, 3))) static int
usage_fail(const struct flagset *fs, const char *fmt, ...)
{
	va_list ap;

	flags_usage(fs);
	fputs("error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_FAIL;
}

static int
set_value(struct flagset *fs, struct flag *f, const char *v)
{
	struct err e;

	f->set = true;
	switch (f->kind) {
	case FLAG_STR:
		f->str = v;
		return 0;
	case FLAG_LIST:
		f->list = xrealloc(f->list, (f->nlist + 1) * sizeof(*f->list));
		f->list[f->nlist++] = v;
		return 0;
	case FLAG_BOOL:
		if (parse_bool(v, &f->on, &e) == 0)
			return 0;
		return usage_fail(fs, "invalid value \"%s\" for flag -%s: parse error", v, f->name);
	case FLAG_INT:
		switch (parse_i64(v, &f->num)) {
		case 0:
			return 0;
		case -2:
			return usage_fail(fs, "invalid value \"%s\" for flag -%s: value out of range", v, f->name);
		default:
			return usage_fail(fs, "invalid value \"%s\" for flag -%s: parse error", v, f->name);
		}
	case FLAG_DURATION:
		if (parse_duration_ms(v, &f->num, &e) == 0)
			return 0;
		return usage_fail(fs, "invalid value \"%s\" for flag -%s: parse error", v, f->name);
	}
	return 0;
}

static void
set_defaults(struct flagset *fs)
{
	struct err e;

	for (struct flag *f = fs->v; f->name != NULL; f++) {
		if (f->def == NULL)
			continue;
		if (f->kind == FLAG_STR)
			f->str = f->def;
		else if (f->kind == FLAG_INT && parse_i64(f->def, &f->num) != 0)
			fatal("internal: bad default for %s", f->name);
		else if (f->kind == FLAG_DURATION && parse_duration_ms(f->def, &f->num, &e) != 0)
			fatal("internal: bad default for %s", f->name);
	}
}

/* Handles the flag argument argv[*i]; may consume the next argument. */
static int
one_flag(struct flagset *fs, int argc, char **argv, int *i)
{
	const char *a = argv[*i] + 1, *eq;
	char name[128];
	struct flag *f = NULL;

	if (*a == '-')
		a++;
	eq = strchr(a, '=');
	snprintf(name, sizeof(name), "%.*s", (int)(eq != NULL ? (size_t)(eq - a) : strlen(a)), a);
	for (struct flag *g = fs->v; g->name != NULL; g++)
		if (strcmp(g->name, name) == 0)
			f = g;
	if (f == NULL && (strcmp(name, "h") == 0 || strcmp(name, "help") == 0)) {
		flags_usage(fs);
		return EXIT_FAIL;
	}
	if (f == NULL || name[0] == '\0' || name[0] == '-')
		return usage_fail(fs, "flag provided but not defined: -%s", name);
	if (eq != NULL)
		return set_value(fs, f, eq + 1);
	if (f->kind == FLAG_BOOL) {
		f->set = f->on = true;
		return 0;
	}
	if (*i + 1 >= argc)
		return usage_fail(fs, "flag needs an argument: -%s", name);
	(*i)++;
	return set_value(fs, f, argv[*i]);
}

int
flags_parse(struct flagset *fs, int argc, char **argv)
{
	bool only_pos = false;
	int rc;

	fs->pos = xcalloc((size_t)argc + 1, sizeof(*fs->pos));
	fs->npos = 0;
	set_defaults(fs);
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];

		if (only_pos || a[0] != '-' || a[1] == '\0') {
			fs->pos[fs->npos++] = argv[i];
			continue;
		}
		if (strcmp(a, "--") == 0) {
			only_pos = true;
			continue;
		}
		rc = one_flag(fs, argc, argv, &i);
		if (rc != 0)
			return rc;
	}
	return 0;
}

void
flags_free(struct flagset *fs)
{
	free(fs->pos);
	fs->pos = NULL;
	for (struct flag *f = fs->v; f->name != NULL; f++) {
		free(f->list);
		f->list = NULL;
	}
}

int
flags_max_args(const struct flagset *fs, int max)
{
	struct buf b;

	if (fs->npos <= max)
		return 0;
	buf_init(&b, 1 << 20);
	for (int i = max; i < fs->npos; i++) {
		if (i > max)
			buf_addc(&b, ' ');
		buf_adds(&b, fs->pos[i]);
	}
	cli_fail(EXIT_FAIL, "unexpected arguments: %s", buf_str(&b));
	buf_free(&b);
	return EXIT_FAIL;
}
