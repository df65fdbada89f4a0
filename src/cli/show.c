/*
 * show: the shape most read commands share (cli.md §4.7-§4.13): GET one
 * path, then print the server's JSON with --json, or else a table whose
 * columns name members of the response. A command describes its columns
 * once; fetching, cells and layout live here.
 */
#include <assert.h>
#include <stdio.h>

#include "cli.h"

#define COLS_MAX	8
#define CELL_MAX	32	/* a COL_VALUE cell holds at most 31 bytes */

/* Appends the row of object o (NULL gives empty cells). */
static void
row(struct table *t, const struct column *cols, const json_t *o)
{
	char text[COLS_MAX][CELL_MAX];
	const char *cells[COLS_MAX];
	size_t i, size;

	for (i = 0; cols[i].head != NULL; i++) {
		assert(cols[i].max < CELL_MAX);
		size = cols[i].max > 0 ? cols[i].max + 1 : CELL_MAX;
		cells[i] = text[i];
		if (cols[i].kind == COL_VALUE)
			jtext(o, cols[i].key, text[i], size);
		else if (cols[i].max > 0)
			snprintf(text[i], size, "%s", jstr(o, cols[i].key));
		else
			cells[i] = jstr(o, cols[i].key);
	}
	table_row(t, cells);
}

void
show_table(const struct column *cols, const json_t *o, const char *key)
{
	const char *head[COLS_MAX];
	const json_t *e;
	struct table t;
	size_t n, i;

	for (n = 0; cols[n].head != NULL; n++) {
		assert(n < COLS_MAX);
		head[n] = cols[n].head;
	}
	table_init(&t, head, n);
	if (key == NULL) {
		row(&t, cols, o);
	} else {
		json_array_foreach(json_object_get(o, key), i, e)
			row(&t, cols, e);
	}
	table_print(&t);
}

int
show_get(struct cli *c, const char *path, const struct column *cols, const char *key)
{
	struct api_resp r = { 0 };
	int rc = api_call(c, "GET", path, NULL, &r);

	if (rc == 0 && c->json)
		api_print_json(&r);
	else if (rc == 0)
		show_table(cols, r.json, key);
	api_resp_free(&r);
	return rc;
}

int
show_cmd(const char *cmd, const char *path, const struct column *cols, const char *key,
    int argc, char **argv)
{
	struct flag fl[] = { FLAGS_COMMON, FLAGS_END };
	struct flagset fs = { .cmd = cmd, .v = fl };
	struct cli c = { 0 };
	int rc = cli_start(&fs, argc, argv, &c);

	if (rc == 0)
		rc = show_get(&c, path, cols, key);
	cli_free(&c);
	flags_free(&fs);
	return rc;
}
