/*
 * cmd_secrets: `secrets list|set|delete` (docs/cli.md, docs/secrets.md). A
 * value is read from stdin (without echo on a terminal) or from
 * --from-file, never from an argument, so it stays out of shell history and
 * of the process list; the CLI never prints one.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"
#include "json.h"
#include "util.h"

#define VALUE_MAX 65536

static const struct column secret_cols[] = {
	{ "NAME", "name", COL_TEXT, 0 }, { "APP", "app", COL_TEXT, 0 },
	{ "ENVIRONMENT", "environment", COL_TEXT, 0 }, { "VERSION", "version", COL_VALUE, 0 },
	{ "UPDATED_AT", "updated_at", COL_TEXT, 0 }, { "UPDATED_BY", "updated_by", COL_TEXT, 0 },
	{ "LAST_USED_AT", "last_used_at", COL_TEXT, 0 }, COLUMNS_END,
};

static int
secrets_list(int argc, char **argv)
{
	struct flag fl[] = {
		FLAGS_COMMON,
		{ .name = "app", .kind = FLAG_STR, .help = "only what this app's runs get" },
		FLAGS_END,
	};
	struct flagset fs = { .cmd = "secrets list", .v = fl };
	struct cli c = { 0 };
	char *path = NULL, *esc;
	int rc = flags_parse(&fs, argc, argv);

	if (rc == 0)
		rc = flags_max_args(&fs, 0);
	if (rc == 0)
		rc = cli_connect(&c, &fs);
	if (rc == 0 && flags_get(&fs, "app")->set) {
		esc = api_escape(flags_str(&fs, "app"));
		path = xasprintf("/api/v1/secrets?app=%s", esc);
		free(esc);
	}
	if (rc == 0)
		rc = show_get(&c, path != NULL ? path : "/api/v1/secrets", secret_cols, "secrets");
	free(path);
	cli_free(&c);
	flags_free(&fs);
	return rc;
}

/* Reads at most VALUE_MAX + 1 bytes of f into b (guarded memory). */
static int
read_all(FILE *f, char *b, size_t *len)
{
	size_t n;

	*len = 0;
	while ((n = fread(b + *len, 1, VALUE_MAX + 1 - *len, f)) > 0)
		*len += n;
	return ferror(f) ? -1 : 0;
}

/* The value from --from-file, or stdin (a terminal: prompt, no echo, one
 * line); a single trailing newline is dropped. */
static int
read_value(const char *file, char *b, size_t *len)
{
	struct termios old, quiet;
	bool tty = file == NULL && isatty(STDIN_FILENO);
	FILE *f = file != NULL ? fopen(file, "rb") : stdin;
	int rc;

	if (f == NULL)
		return cli_fail(EXIT_FAIL, "cannot open %s", file);
	if (tty && tcgetattr(STDIN_FILENO, &old) == 0) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		fprintf(stderr, "Value (not echoed, end with Enter): ");
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
		rc = fgets(b, VALUE_MAX + 2, stdin) != NULL ? 0 : -1;
		*len = rc == 0 ? strlen(b) : 0;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fprintf(stderr, "\n");
	} else {
		rc = read_all(f, b, len);
	}
	if (file != NULL)
		fclose(f);
	if (rc != 0)
		return cli_fail(EXIT_FAIL, "cannot read the value");
	if (*len > 0 && b[*len - 1] == '\n')
		(*len)--;
	if (*len > 0 && b[*len - 1] == '\r')
		(*len)--;
	if (*len > VALUE_MAX)
		return cli_fail(EXIT_FAIL, "the value is larger than 65536 bytes");
	return 0;
}

/* The PUT body {"value":…,"app"?,"environment"?} into guarded memory. */
static char *
put_body(struct flagset *fs, const char *v, size_t len)
{
	struct buf b;
	char *out;

	buf_init(&b, 8 * VALUE_MAX + 1024);
	buf_adds(&b, "{\"value\":");
	json_encode_str(&b, v, len);
	if (flags_get(fs, "app")->set) {
		buf_adds(&b, ",\"app\":");
		json_encode_str(&b, flags_str(fs, "app"), strlen(flags_str(fs, "app")));
	}
	if (flags_get(fs, "environment")->set) {
		buf_adds(&b, ",\"environment\":");
		json_encode_str(&b, flags_str(fs, "environment"), strlen(flags_str(fs, "environment")));
	}
	buf_addc(&b, '}');
	out = sodium_malloc(b.len + 1);
	if (out == NULL)
		abort();
	memcpy(out, buf_str(&b), b.len + 1);
	sodium_memzero(b.data, b.cap);
	buf_free(&b);
	return out;
}

static void
set_done(const struct cli *c, const struct api_resp *r, const char *name)
{
	const char *warn = jstr(r->json, "warning");

	if (c->json) {
		api_print_json(r);
		return;
	}
	printf("Secret %s %s (version %lld)\n", name, r->raw.status == 201 ? "created" : "updated",
	    (long long)jint(r->json, "version"));
	if (warn[0] != '\0')
		fprintf(stderr, "warning: %s\n", warn);
}

static int
secrets_set(int argc, char **argv)
{
	struct flag fl[] = {
		FLAGS_COMMON,
		{ .name = "app", .kind = FLAG_STR, .help = "only this app's runs get it" },
		{ .name = "environment", .kind = FLAG_STR, .help = "only runs in this environment" },
		{ .name = "from-file", .kind = FLAG_STR, .help = "read the value from this file" },
		FLAGS_END,
	};
	struct flagset fs = { .cmd = "secrets set", .args = "<NAME>", .v = fl };
	struct cli c = { 0 };
	struct api_resp r = { 0 };
	char *v, *body = NULL, *path = NULL, *esc;
	size_t len = 0;
	int rc = flags_parse(&fs, argc, argv);

	if (sodium_init() < 0 || (v = sodium_malloc(VALUE_MAX + 2)) == NULL)
		abort();
	if (rc == 0 && fs.npos != 1)
		rc = cli_fail(EXIT_FAIL, "usage: minitower-cli secrets set <NAME> [--app APP] "
		    "[--environment ENV] [--from-file FILE] (the value comes from stdin)");
	if (rc == 0)
		rc = cli_connect(&c, &fs);
	if (rc == 0)
		rc = read_value(flags_get(&fs, "from-file")->set ? flags_str(&fs, "from-file") : NULL,
		    v, &len);
	if (rc == 0) {
		body = put_body(&fs, v, len);
		esc = api_escape(fs.pos[0]);
		path = xasprintf("/api/v1/secrets/%s", esc);
		free(esc);
		rc = api_call(&c, "PUT", path, body, &r);
	}
	if (rc == 0)
		set_done(&c, &r, fs.pos[0]);
	sodium_free(v);
	if (body != NULL)
		sodium_free(body);
	free(path);
	api_resp_free(&r);
	cli_free(&c);
	flags_free(&fs);
	return rc;
}

/* DELETE one name with the scope flags; 0 or the exit code. */
static int
delete_one(struct cli *c, struct flagset *fs, const char *name)
{
	struct api_resp r = { 0 };
	struct buf p;
	char *esc = api_escape(name);
	int rc;

	buf_init(&p, 4096);
	buf_addf(&p, "/api/v1/secrets/%s?", esc);
	free(esc);
	if (flags_get(fs, "app")->set) {
		esc = api_escape(flags_str(fs, "app"));
		buf_addf(&p, "app=%s&", esc);
		free(esc);
	}
	if (flags_get(fs, "environment")->set) {
		esc = api_escape(flags_str(fs, "environment"));
		buf_addf(&p, "environment=%s", esc);
		free(esc);
	}
	rc = api_call(c, "DELETE", buf_str(&p), NULL, &r);
	if (rc == 0 && !c->json)
		printf("Secret %s deleted\n", name);
	api_resp_free(&r);
	buf_free(&p);
	return rc;
}

static int
secrets_delete(int argc, char **argv)
{
	struct flag fl[] = {
		FLAGS_COMMON,
		{ .name = "app", .kind = FLAG_STR, .help = "the app scope" },
		{ .name = "environment", .kind = FLAG_STR, .help = "the environment scope" },
		FLAGS_END,
	};
	struct flagset fs = { .cmd = "secrets delete", .args = "<NAME>...", .v = fl };
	struct cli c = { 0 };
	json_t *done = json_array();
	int i, rc = flags_parse(&fs, argc, argv);

	if (rc == 0 && fs.npos < 1)
		rc = cli_fail(EXIT_FAIL, "usage: minitower-cli secrets delete <NAME>... [--app APP] "
		    "[--environment ENV]");
	if (rc == 0)
		rc = cli_connect(&c, &fs);
	for (i = 0; rc == 0 && i < fs.npos; i++)
		if ((rc = delete_one(&c, &fs, fs.pos[i])) == 0)
			json_array_append_new(done, json_string(fs.pos[i]));
	if (rc == 0 && c.json)
		out_json_take(json_pack("{sO}", "deleted", done));
	json_decref(done);
	cli_free(&c);
	flags_free(&fs);
	return rc;
}

int
cmd_secrets(int argc, char **argv)
{
	static const struct subcmd table[] = {
		{ "list", secrets_list }, { "set", secrets_set }, { "delete", secrets_delete },
		{ NULL, NULL },
	};

	return subcmd_dispatch("secrets", table, "secrets <list|set|delete> ...", argc, argv);
}
