/*
 * cmd_tokens: `tokens create|list|revoke` and `runners list` (cli.md §4.12,
 * §4.13). A token secret is printed only by `tokens create`, the one place
 * the spec makes it the output.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "json.h"
#include "util.h"

static int
tokens_create(int argc, char **argv)
{
	struct flag fl[] = {
		FLAGS_COMMON,
		{ .name = "name", .kind = FLAG_STR, .help = "token name" },
		{ .name = "role", .kind = FLAG_STR, .help = "admin or member" },
		FLAGS_END,
	};
	struct flagset fs = { .cmd = "tokens create", .v = fl };
	struct cli c = { 0 };
	struct api_resp r = { 0 };
	char *name = NULL, *role = NULL, *body = NULL;
	json_t *o;
	int rc = flags_parse(&fs, argc, argv);

	if (rc == 0)
		rc = flags_max_args(&fs, 0);
	if (rc != 0)
		goto out;
	name = str_trim(xstrdup(flags_str(&fs, "name")));
	role = str_trim(xstrdup(flags_str(&fs, "role")));
	if (*role != '\0' && strcmp(role, "admin") != 0 && strcmp(role, "member") != 0) {
		rc = cli_fail(EXIT_FAIL, "--role must be admin or member");
		goto out;
	}
	rc = cli_connect(&c, &fs);
	if (rc != 0)
		goto out;
	o = json_object();
	if (flags_get(&fs, "name")->set)
		json_object_set_new(o, "name", json_string(name));
	if (*role != '\0')
		json_object_set_new(o, "role", json_string(role));
	body = json_body_take(o);
	rc = api_call(&c, "POST", "/api/v1/tokens", body, &r);
	if (rc == 0 && c.json) {
		api_print_json(&r);
	} else if (rc == 0) {
		printf("Token created: id=%lld role=%s\n", (long long)jint(r.json, "token_id"), jstr(r.json, "role"));
		printf("Token: %s\n", jstr(r.json, "token"));
	}
out:
	free(name);
	free(role);
	free(body);
	api_resp_free(&r);
	cli_free(&c);
	flags_free(&fs);
	return rc;
}

static const struct column token_cols[] = {
	{ "TOKEN_ID", "token_id", COL_VALUE, 0 }, { "NAME", "name", COL_TEXT, 0 },
	{ "ROLE", "role", COL_TEXT, 0 }, { "CREATED_AT", "created_at", COL_TEXT, 0 },
	{ "LAST_USED_AT", "last_used_at", COL_TEXT, 0 }, COLUMNS_END,
};

static int
tokens_list(int argc, char **argv)
{
	return show_cmd("tokens list", "/api/v1/tokens", token_cols, "tokens", argc, argv);
}

static int
tokens_revoke(int argc, char **argv)
{
	struct flag fl[] = { FLAGS_COMMON, FLAGS_END };
	struct flagset fs = { .cmd = "tokens revoke", .args = "<token-id>", .v = fl };
	struct cli c = { 0 };
	struct api_resp r = { 0 };
	char path[64];
	int64_t id = 0;
	int rc = flags_parse(&fs, argc, argv);

	if (rc == 0 && fs.npos != 1)
		rc = cli_fail(EXIT_FAIL, "usage: minitower-cli tokens revoke <token-id>");
	if (rc == 0 && parse_id(fs.pos[0], &id) != 0)
		rc = cli_fail(EXIT_FAIL, "token ID must be a positive integer");
	if (rc == 0)
		rc = cli_connect(&c, &fs);
	snprintf(path, sizeof(path), "/api/v1/tokens/%lld", (long long)id);
	if (rc == 0)
		rc = api_call(&c, "DELETE", path, NULL, &r);
	if (rc == 0 && c.json) {
		json_t *o = json_object();

		json_object_set_new(o, "revoked", json_true());
		json_object_set_new(o, "token_id", json_integer(id));
		out_json_take(o);
	} else if (rc == 0) {
		printf("Token %lld revoked\n", (long long)id);
	}
	api_resp_free(&r);
	cli_free(&c);
	flags_free(&fs);
	return rc;
}

int
cmd_tokens(int argc, char **argv)
{
	static const struct subcmd table[] = {
		{ "create", tokens_create }, { "list", tokens_list }, { "revoke", tokens_revoke },
		{ NULL, NULL },
	};

	return subcmd_dispatch("tokens", table, "tokens <create|list|revoke> ...", argc, argv);
}

static const struct column runner_cols[] = {
	{ "RUNNER_ID", "runner_id", COL_VALUE, 0 }, { "NAME", "name", COL_TEXT, 0 },
	{ "ENVIRONMENT", "environment", COL_TEXT, 0 }, { "STATUS", "status", COL_TEXT, 0 },
	{ "LAST_SEEN_AT", "last_seen_at", COL_TEXT, 0 }, { "SANDBOX", "sandbox", COL_TEXT, 0 },
	{ "LIMITS", "limits", COL_TEXT, 0 }, COLUMNS_END,
};

static int
runners_list(int argc, char **argv)
{
	return show_cmd("runners list", "/api/v1/admin/runners", runner_cols, "runners", argc, argv);
}

int
cmd_runners(int argc, char **argv)
{
	static const struct subcmd table[] = { { "list", runners_list }, { NULL, NULL } };

	return subcmd_dispatch("runners", table, "runners list", argc, argv);
}
