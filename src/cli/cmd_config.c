/*
 * cmd_config: `config set|get|list|use` (cli.md §4.2-§4.5), local profile
 * management. These commands never contact the server, and they print a
 * stored token only when --show-token asks for it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "util.h"

/* A profile as JSON, keys sorted; the token as "set" unless show_token. */
static json_t *
profile_json(const struct profile *p, bool with_token, bool show_token)
{
	json_t *o = json_object();

	if (p->app != NULL)
		json_object_set_new(o, "app", json_string(p->app));
	if (p->server != NULL)
		json_object_set_new(o, "server", json_string(p->server));
	if (p->team != NULL)
		json_object_set_new(o, "team", json_string(p->team));
	if (with_token && p->token != NULL)
		json_object_set_new(o, "token", json_string(show_token ? p->token : "set"));
	return o;
}

static void
set_output(struct config *cfg, const char *name, bool json)
{
	json_t *o;

	if (!json) {
		printf("Profile %s updated\n", q(name));
		return;
	}
	o = json_object();
	json_object_set_new(o, "config", profile_json(config_find(cfg, name), false, false));
	json_object_set_new(o, "profile", json_string(name));
	out_json_take(o);
}

static int
config_set(int argc, char **argv)
{
	struct flag fl[] = {
		FLAG_PROFILE, FLAG_SERVER, FLAG_TOKEN,
		{ .name = "team", .kind = FLAG_STR, .help = "team slug" },
		FLAG_APP, FLAG_JSON, FLAGS_END,
	};
	struct flagset fs = { .cmd = "config set", .v = fl };
	const char *keys[] = { "server", "token", "team", "app" };
	char *vals[4] = { NULL }, *name = NULL;
	struct config cfg = { 0 };
	struct profile *p;
	struct err err;
	int rc, any = 0;

	rc = flags_parse(&fs, argc, argv);
	if (rc == 0)
		rc = flags_max_args(&fs, 0);
	if (rc != 0)
		goto out;
	for (int i = 0; i < 4; i++) {
		vals[i] = str_trim(xstrdup(flags_str(&fs, keys[i])));
		any |= vals[i][0] != '\0';
	}
	if (!any) {
		rc = cli_fail(EXIT_FAIL, "no changes provided (set one of: --server --token --team --app)");
		goto out;
	}
	if (config_load(&cfg, &err) == -1) {
		rc = cli_fail(EXIT_FAIL, "%s", err.msg);
		goto out;
	}
	name = flags_get(&fs, "profile")->set ? profile_name(flags_str(&fs, "profile")) :
	    profile_name(cfg.current);
	p = config_get_or_add(&cfg, name);
	if (vals[0][0] != '\0')
		profile_set(&p->server, vals[0]);
	if (vals[1][0] != '\0')
		profile_set(&p->token, vals[1]);
	if (vals[2][0] != '\0')
		profile_set(&p->team, vals[2]);
	if (vals[3][0] != '\0')
		profile_set(&p->app, vals[3]);
	if (cfg.current[0] == '\0')
		profile_set(&cfg.current, name);
	if (config_save(&cfg, &err) == -1) {
		rc = cli_fail(EXIT_FAIL, "%s", err.msg);
		goto out;
	}
	set_output(&cfg, name, flags_on(&fs, "json"));
out:
	for (int i = 0; i < 4; i++)
		free(vals[i]);
	free(name);
	config_free(&cfg);
	flags_free(&fs);
	return rc;
}

static int
config_get(int argc, char **argv)
{
	struct flag fl[] = {
		FLAG_PROFILE, FLAG_JSON,
		{ .name = "show-token", .kind = FLAG_BOOL, .help = "print the stored token" },
		FLAGS_END,
	};
	struct flagset fs = { .cmd = "config get", .v = fl };
	struct cli c = { 0 };
	const struct profile *p;
	bool show, cur;
	int rc;

	rc = flags_parse(&fs, argc, argv);
	if (rc == 0)
		rc = flags_max_args(&fs, 0);
	if (rc == 0)
		rc = cli_load(&c, &fs);
	if (rc != 0)
		goto out;
	p = c.profile;
	if (p == NULL) {
		rc = cli_fail(EXIT_FAIL, "no profile configured");
		goto out;
	}
	show = flags_on(&fs, "show-token");
	cur = strcmp(p->name, c.cfg.current) == 0;
	if (c.json) {
		json_t *o = json_object();

		json_object_set_new(o, "config", profile_json(p, true, show));
		json_object_set_new(o, "current_profile",
		    json_string(c.cfg.current[0] != '\0' ? c.cfg.current : "default"));
		json_object_set_new(o, "is_current", json_boolean(cur));
		json_object_set_new(o, "profile", json_string(p->name));
		out_json_take(o);
		goto out;
	}
	printf("Profile: %s\n", p->name);
	if (cur)
		printf("Current: true\n");
	printf("Server: %s\nTeam: %s\nDefault App: %s\n", p->server != NULL ? p->server : "",
	    p->team != NULL ? p->team : "", p->app != NULL ? p->app : "");
	if (p->token == NULL)
		printf("Token: not set\n");
	else
		printf("Token: %s\n", show ? p->token : "set");
out:
	cli_free(&c);
	flags_free(&fs);
	return rc;
}

static void
list_table(const struct config *cfg, bool show)
{
	static const char *const head[] = { "CURRENT", "PROFILE", "SERVER", "TEAM", "APP", "TOKEN" };
	struct table t;

	table_init(&t, head, 6);
	for (size_t i = 0; i < cfg->n; i++) {
		const struct profile *p = &cfg->v[i];
		const char *row[6] = {
			strcmp(p->name, cfg->current) == 0 ? "*" : "", p->name, p->server, p->team,
			p->app, p->token == NULL ? "" : show ? p->token : "set",
		};

		table_row(&t, row);
	}
	table_print(&t);
}

static int
config_list(int argc, char **argv)
{
	struct flag fl[] = {
		FLAG_JSON,
		{ .name = "show-token", .kind = FLAG_BOOL, .help = "print the stored tokens" },
		FLAGS_END,
	};
	struct flagset fs = { .cmd = "config list", .v = fl };
	struct config cfg = { 0 };
	struct err err;
	bool show;
	int rc;

	rc = flags_parse(&fs, argc, argv);
	if (rc == 0)
		rc = flags_max_args(&fs, 0);
	if (rc != 0)
		goto out;
	if (config_load(&cfg, &err) == -1) {
		rc = cli_fail(EXIT_FAIL, "%s", err.msg);
		goto out;
	}
	show = flags_on(&fs, "show-token");
	if (flags_on(&fs, "json")) {
		json_t *o = json_object(), *arr = json_array();

		json_object_set_new(o, "current_profile",
		    json_string(cfg.current[0] != '\0' ? cfg.current : "default"));
		for (size_t i = 0; i < cfg.n; i++) {
			json_t *e = json_object();

			json_object_set_new(e, "config", profile_json(&cfg.v[i], true, show));
			json_object_set_new(e, "is_current", json_boolean(strcmp(cfg.v[i].name, cfg.current) == 0));
			json_object_set_new(e, "name", json_string(cfg.v[i].name));
			json_array_append_new(arr, e);
		}
		json_object_set_new(o, "profiles", arr);
		out_json_take(o);
	} else if (cfg.n == 0) {
		printf("No profiles configured.\n");
	} else {
		list_table(&cfg, show);
	}
out:
	config_free(&cfg);
	flags_free(&fs);
	return rc;
}

static int
config_use(int argc, char **argv)
{
	struct flag fl[] = { FLAGS_END };
	struct flagset fs = { .cmd = "config use", .args = "<profile>", .v = fl };
	struct config cfg = { 0 };
	struct err err;
	char *name = NULL;
	int rc;

	rc = flags_parse(&fs, argc, argv);
	if (rc != 0)
		goto out;
	if (fs.npos != 1) {
		rc = cli_fail(EXIT_FAIL, "usage: minitower-cli config use <profile>");
		goto out;
	}
	if (config_load(&cfg, &err) == -1) {
		rc = cli_fail(EXIT_FAIL, "%s", err.msg);
		goto out;
	}
	name = profile_name(fs.pos[0]);
	if (config_find(&cfg, name) == NULL) {
		rc = cli_fail(EXIT_FAIL, "profile %s not found", q(name));
		goto out;
	}
	profile_set(&cfg.current, name);
	if (config_save(&cfg, &err) == -1) {
		rc = cli_fail(EXIT_FAIL, "%s", err.msg);
		goto out;
	}
	printf("Current profile set to %s\n", q(name));
out:
	free(name);
	config_free(&cfg);
	flags_free(&fs);
	return rc;
}

int
cmd_config(int argc, char **argv)
{
	static const struct subcmd table[] = {
		{ "set", config_set }, { "get", config_get }, { "list", config_list },
		{ "use", config_use }, { NULL, NULL },
	};

	if (argc < 1) {
		fputs("usage: minitower-cli config <set|get|list|use> ...\n", stderr);
		return EXIT_FAIL;
	}
	return subcmd_dispatch("config", table, "config <set|get|list|use> ...", argc, argv);
}
