/*
 * minitower-cli: the command-line client of minitowerd (cli.md). main()
 * looks the first argument up in the command table; group commands
 * (config, apps, versions, runs, tokens, runners, schedules) dispatch their
 * subcommand through subcmd_dispatch. Each handler parses its own flags.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "util.h"

static const char root_usage[] =
    "usage: minitower-cli <command> [args]\n"
    "\n"
    "commands:\n"
    "  login                             login with team credentials\n"
    "  config <set|get|list|use>         manage local profiles\n"
    "  me                                show current identity\n"
    "  apps <list|get|create>            manage apps\n"
    "  versions <list|get|upload>        manage versions\n"
    "  run                               create a run and follow it\n"
    "  runs <create|list|get|cancel|retry|watch|logs>\n"
    "  runs attempts <run-id>            the attempts of a run\n"
    "  tokens <create|list|revoke>       manage tokens\n"
    "  runners list                      list runners (admin)\n"
    "  schedules <list|get|create|update|delete|pause|resume|trigger|fires|preview>\n"
    "  deploy                            deploy from Towerfile\n";

static const struct {
	const char	*name;
	int		(*run)(int argc, char **argv);
} commands[] = {
	{ "login", cmd_login },
	{ "config", cmd_config },
	{ "me", cmd_me },
	{ "apps", cmd_apps },
	{ "versions", cmd_versions },
	{ "run", cmd_run },
	{ "runs", cmd_runs },
	{ "tokens", cmd_tokens },
	{ "runners", cmd_runners },
	{ "secrets", cmd_secrets },
	{ "deploy", cmd_deploy },
	{ "schedules", cmd_schedules },
};

int
subcmd_dispatch(const char *group, const struct subcmd *table, const char *usage,
    int argc, char **argv)
{
	if (argc < 1)
		return cli_fail(EXIT_FAIL, "usage: minitower-cli %s", usage);
	if (strcmp(argv[0], "-h") == 0 || strcmp(argv[0], "-help") == 0 || strcmp(argv[0], "--help") == 0) {
		fprintf(stderr, "usage: minitower-cli %s\n", usage);
		return EXIT_FAIL;
	}
	for (const struct subcmd *s = table; s->name != NULL; s++)
		if (strcmp(s->name, argv[0]) == 0)
			return s->run(argc - 1, argv + 1);
	return cli_fail(EXIT_FAIL, "unknown %s subcommand: %s", group, argv[0]);
}

int
parse_id(const char *s, int64_t *out)
{
	return parse_i64(s, out) == 0 && *out > 0 ? 0 : -1;
}

int
main(int argc, char **argv)
{
	const char *cmd;

	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	if (argc < 2) {
		fputs(root_usage, stderr);
		return EXIT_FAIL;
	}
	cmd = argv[1];
	if (strcmp(cmd, "help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0) {
		fputs(root_usage, stdout);
		return EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(commands[i].name, cmd) == 0) {
			int rc = commands[i].run(argc - 2, argv + 2);

			fflush(stdout);
			return rc;
		}
	}
	fputs(root_usage, stderr);
	return cli_fail(EXIT_FAIL, "unknown command: %s", cmd);
}
